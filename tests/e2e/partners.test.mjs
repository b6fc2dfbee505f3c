// The partner page (/partners/): a partner company signs in with its key,
// sees its name and how many patrons agree to hear from it, by channel,
// downloads its contacts once per format (filtered by channel and date)
// with rows that match the API, reads the suppression feed, and signs
// out. Keyboard only, axe-clean, under the strict CSP.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { hostAndBrowser, openDemo, newCustomer, waitFor, recordsFor, setControl, ROOT } from "./harness.mjs";

const env = hostAndBrowser();
const HOST_BIN = process.env.CONSENT_HOST_BIN ?? path.join(ROOT, "target/host/consent-host");
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];
/** Columns every contacts CSV has (the host may add more; each is checked against the JSON). */
const CONTACTS_COLUMNS = ["customerId", "reference", "email", "phone", "postal", "contactAsRecorded", "recordId", "decidedAt", "receivedAt", "channels", "noticeId", "noticeVersion", "noticeLanguage", "noticeSha256"];

function addKey(db, ...args) {
  return execFileSync(HOST_BIN, ["keys", "add", "--db", db, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
}

/**
 * A patron says yes to Northern Lights (by `northernLights`: email or
 * post) and to Oakwell (by text) in the demo, and no to Paper Lantern.
 * Returns the page, still open, for what the patron does next.
 */
async function checkout(customer, northernLights = "email") {
  const page = await env.browser.newPage();
  await openDemo(page, env.host.url, customer);
  await page.locator("#consent #cp-q0-yes").check();
  await page.locator(`#consent #cp-q0-${northernLights}`).check();
  await page.locator("#consent #cp-q1-no").check();
  await page.locator("#consent #cp-q2-yes").check();
  await page.locator("#consent #cp-q2-sms").check();
  await page.locator("#consent [part=submit]").click();
  await page.locator("#consent [part=status]", { hasText: "Your choices are saved" }).waitFor();
  await waitFor(() => recordsFor(env.host.db, customer).length === 3);
  return page;
}

/** The partner page, watched for CSP violations and downloads. */
async function openPortal() {
  const context = await env.browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const seen = { violations: [], downloads: [] };
  await page.exposeFunction("cspViolation", (v) => seen.violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => window.cspViolation(`${e.violatedDirective} ${e.blockedURI}`));
  });
  page.on("download", (d) => seen.downloads.push(d));
  await page.goto(new URL("/partners/", env.host.url).href);
  return { context, page, seen };
}

async function signIn(page, partner, key) {
  await page.locator("#partner-id").fill(partner);
  await page.locator("#partner-key").fill(key);
  await page.locator("#sign-in button[type=submit]").click();
  await page.locator("#result:not([hidden])").waitFor();
}

async function axeViolations(page) {
  const axe = await new AxeBuilder({ page }).withTags(AXE_TAGS).analyze();
  return axe.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
}

/** Presses a button with the keyboard and returns the one download it starts. */
async function downloadWith(page, selector) {
  const downloading = page.waitForEvent("download");
  await page.locator(selector).focus();
  await page.keyboard.press("Enter");
  const download = await downloading;
  const text = await (await download.createReadStream()).toArray().then((chunks) => Buffer.concat(chunks).toString("utf8"));
  return { download, text };
}

/** RFC 4180: rows of cells; a quoted cell may hold commas, quotes and line breaks. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") row.push(cell), (cell = "");
    else if (c === "\r" && text[i + 1] === "\n") {
      row.push(cell), rows.push(row), (row = []), (cell = ""), i++;
    } else cell += c;
  }
  if (cell || row.length) row.push(cell), rows.push(row);
  return rows;
}

/** A text cell as the host writes it: a leading formula character is guarded with `'`. */
const guarded = (v) => (/^\s*[=+\-@＝＋－＠]/.test(v) ? `'${v}` : v);

/**
 * A JSON contact as the CSV row the host writes for it, column by column
 * of `header`: the contact points from `contact`, the channels joined by
 * spaces, every other column the field of that name.
 */
function csvRowOf(header, c) {
  return header.map((column) => {
    if (["email", "phone", "postal"].includes(column)) return guarded(c.contact[column] ?? "");
    if (column === "channels") return c.channels.join(" ");
    assert.ok(column in c || column === "receivedAt", `the JSON has the CSV's column ${column}`);
    return c[column] === null || c[column] === undefined ? "" : String(c[column]);
  });
}

async function apiJson(url, key) {
  const response = await fetch(new URL(url, env.host.url), { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(response.status, 200, `${url}: ${response.status}`);
  return response.json();
}

test("a partner signs in by keyboard, sees its name and counts, and downloads one CSV and one JSON that match the API", async () => {
  const byEmail = newCustomer();
  const byPost = newCustomer();
  await (await checkout(byEmail, "email")).close();
  await (await checkout(byPost, "post")).close();
  const key = addKey(env.host.db, "--role", "partner", "--partner", "northern-lights");
  assert.match(key, /^cpk_[0-9a-f]{12}_[0-9a-f]{64}$/);

  const { context, page, seen } = await openPortal();

  // Keyboard only: fill the form and submit with Enter.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "partner-id", "the partner id is the first stop");
  await page.keyboard.type("northern-lights");
  await page.keyboard.press("Tab");
  await page.keyboard.type(key);
  await page.keyboard.press("Enter");
  await page.locator("#result:not([hidden])").waitFor();
  assert.equal(await page.locator("#result-title").textContent(), "Northern Lights Theatre Company", "the heading names the partner");
  assert.equal(await page.evaluate(() => document.activeElement.id), "result-title");
  assert.equal(await page.locator("#sign-in-panel").isHidden(), true);
  assert.equal(await page.locator("#sign-out").isVisible(), true);
  assert.match(await page.locator("#status").textContent(), /^Signed in as Northern Lights Theatre Company\./);

  const api = await apiJson("/api/v1/partners/northern-lights/contacts", key);
  const total = Number(await page.locator("#total").textContent());
  assert.equal(total, api.contacts.length);
  assert.ok(total >= 2, `at least the two new patrons (${total})`);
  const byChannel = async (channel) => Number(await page.locator(`#by-channel tr[data-channel=${channel}] td`).textContent());
  assert.equal(await byChannel("email"), api.contacts.filter((c) => c.channels.includes("email")).length);
  assert.equal(await byChannel("post"), api.contacts.filter((c) => c.channels.includes("post")).length);
  assert.equal(await page.locator("#by-channel").locator("xpath=ancestor::table").locator("caption").count(), 1, "the summary is a table with a caption");

  assert.deepEqual(await axeViolations(page), [], "axe, signed in");

  // One control per format, and nothing else to click to save.
  assert.deepEqual(await page.locator("#result button").allTextContents(), [
    "Sign out",
    "Download CSV",
    "Download JSON",
    "Show",
    "Download suppressions CSV",
  ]);
  assert.equal(await page.locator("#result a").count(), 0, "no separate Save link");

  // The CSV: one download, its rows the API's, contact points for the agreed channels only.
  const csv = await downloadWith(page, "#download");
  assert.equal(csv.download.suggestedFilename(), "northern-lights-contacts.csv");
  assert.equal(seen.downloads.length, 1, "one download for one press");
  assert.equal(await page.locator("a[download]").count(), 0, "the temporary link is gone");
  await page.locator("#status", { hasText: "Downloaded northern-lights-contacts.csv" }).waitFor();
  const [header, ...rows] = parseCsv(csv.text);
  assert.deepEqual(header.slice(0, 5), ["customerId", "reference", "email", "phone", "postal"]);
  for (const column of CONTACTS_COLUMNS) assert.ok(header.includes(column), `the CSV has ${column}`);
  assert.deepEqual(rows, api.contacts.map((c) => csvRowOf(header, c)));
  const columns = Object.fromEntries(header.map((name, i) => [name, i]));
  const rowOf = (customer) => rows.find((r) => r[columns.customerId] === customer);
  assert.equal(rowOf(byEmail)[columns.email], `${byEmail}@example.org`, "the demo patron's email, for a yes by email");
  assert.equal(rowOf(byEmail)[columns.postal], "", "no address for a yes by email only");
  assert.equal(rowOf(byPost)[columns.email], "", "no email for a yes by post only");
  assert.match(rowOf(byPost)[columns.postal], /^\d+ Riverside Walk\nExampleton\nZZ99 9ZZ$/, "the demo patron's address, for a yes by post");
  assert.equal(rowOf(byEmail)[columns.phone], "", "Northern Lights asks for no phone number");

  // The JSON: one more download, the API's contacts.
  const json = await downloadWith(page, "#download-json");
  assert.equal(json.download.suggestedFilename(), "northern-lights-contacts.json");
  assert.equal(seen.downloads.length, 2);
  const exported = JSON.parse(json.text);
  assert.equal(exported.partnerId, "northern-lights");
  assert.deepEqual(exported.contacts, api.contacts);

  // The filters apply to the downloads: post only, answered since today.
  const today = new Date().toISOString().slice(0, 10);
  await page.locator("#channel").selectOption("post");
  await page.locator("#since").fill(today);
  const filtered = JSON.parse((await downloadWith(page, "#download-json")).text);
  assert.equal(seen.downloads.length, 3);
  const expected = await apiJson(`/api/v1/partners/northern-lights/contacts?channel=post&since=${today}T00:00:00.000Z`, key);
  assert.deepEqual(filtered.contacts, expected.contacts);
  assert.ok(filtered.contacts.some((c) => c.customerId === byPost), "the yes by post is in");
  assert.ok(!filtered.contacts.some((c) => c.customerId === byEmail), "the yes by email only is not");
  assert.ok(filtered.contacts.every((c) => c.channels.includes("post") && c.receivedAt >= `${today}T00:00:00.000Z`));
  await page.locator("#status", { hasText: "post only" }).waitFor();

  assert.deepEqual(seen.violations, []);
  await context.close();
});

test("a withdrawal and an erasure reach the suppression table; sign-out forgets the key and gives focus back", async () => {
  // One patron says yes, then withdraws through the demo's preference centre…
  const withdrawer = newCustomer();
  const page0 = await checkout(withdrawer, "email");
  await setControl(page0, "mode", "account");
  await page0.locator("#consent #cp-q0-no").check();
  await page0.locator("#consent [part=submit]").click();
  await waitFor(() => recordsFor(env.host.db, withdrawer).length === 4);
  await page0.close();
  // …and another is erased by the venue.
  const erased = newCustomer();
  await (await checkout(erased, "email")).close();
  const admin = addKey(env.host.db, "--role", "admin");
  const erasure = await fetch(new URL(`/api/v1/customers/${encodeURIComponent(erased)}`, env.host.url), {
    method: "DELETE",
    headers: { Authorization: `Bearer ${admin}` },
  });
  assert.equal(erasure.status, 200);

  const key = addKey(env.host.db, "--role", "partner", "--partner", "northern-lights");
  const { context, page, seen } = await openPortal();
  await signIn(page, "northern-lights", key);

  const monthAgo = new Date(Date.now() - 30 * 24 * 3600 * 1000).toISOString().slice(0, 10);
  assert.equal(await page.locator("#suppressions-since").inputValue(), monthAgo, "the feed starts 30 days ago");
  const feed = await apiJson(`/api/v1/partners/northern-lights/suppressions?since=${monthAgo}T00:00:00.000Z`, key);
  const lines = page.locator("#suppressions-rows tr");
  assert.equal(await lines.count(), feed.suppressions.length);
  const formatted = (at) =>
    page.evaluate((at) => new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }).format(new Date(at)), at);

  const withdrawal = feed.suppressions.find((s) => s.customerId === withdrawer);
  assert.equal(withdrawal?.reason, "withdrawn");
  const row = page.locator("#suppressions-rows tr", { hasText: withdrawer });
  assert.deepEqual(await row.locator("td").allTextContents(), ["Withdrew consent", await formatted(withdrawal.endedAt), withdrawal.reference, withdrawer]);

  const erasedLine = feed.suppressions.find((s) => s.reason === "erased" && !s.customerId);
  assert.ok(erasedLine, "the erasure is listed, by reference only");
  assert.ok(!JSON.stringify(feed).includes(erased), "the erased patron's id is nowhere in the feed");
  const erasedRow = page.locator("#suppressions-rows tr", { hasText: erasedLine.reference });
  assert.deepEqual(await erasedRow.locator("td").allTextContents(), ["Asked to be erased", await formatted(erasedLine.endedAt), erasedLine.reference, "erased"]);
  assert.match((await page.locator("#suppressions").textContent()).replace(/\s+/g, " "), /erased appears by reference only: delete everything you hold for that reference/);

  // The suppression CSV: one download, the same lines.
  const { download, text } = await downloadWith(page, "#download-suppressions");
  assert.equal(download.suggestedFilename(), "northern-lights-suppressions.csv");
  assert.equal(seen.downloads.length, 1);
  const [header, ...rows] = parseCsv(text);
  assert.equal(header.join(","), "reference,customerId,reason,endedAt,listedAt,recordId");
  assert.deepEqual(
    rows.map((r) => r.slice(0, 4)),
    feed.suppressions.map((s) => [s.reference, s.customerId ?? "", s.reason, s.endedAt])
  );

  // A date with nothing after it: the empty state says so.
  await page.locator("#suppressions-since").fill(new Date(Date.now() + 24 * 3600 * 1000).toISOString().slice(0, 10));
  await page.locator("#suppressions-show").click();
  await page.locator("#suppressions-empty:not([hidden])").waitFor();
  assert.match(await page.locator("#suppressions-empty").textContent(), /^Nobody’s yes to you has ended since /);
  assert.equal(await page.locator("#suppressions-wrap").isHidden(), true);

  // Sign out by keyboard: from the heading, the next stop is Sign out.
  await page.locator("#result-title").focus();
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "sign-out");
  await page.keyboard.press("Enter");
  await page.locator("#result").waitFor({ state: "hidden" });
  assert.equal(await page.evaluate(() => document.activeElement.id), "partner-id");
  assert.equal(await page.locator("#partner-key").inputValue(), "", "the key field is cleared");
  assert.equal(await page.locator("#status").textContent(), "Signed out");
  assert.equal(await page.locator("#by-channel tr").count(), 0, "nothing of the partner's stays in the page");
  assert.equal(await page.locator("#suppressions-rows tr").count(), 0);
  assert.deepEqual(await page.evaluate(() => [localStorage.length, sessionStorage.length]), [0, 0], "the key was never stored");
  assert.equal(await page.locator("#sign-in-panel").isVisible(), true);
  assert.deepEqual(await axeViolations(page), [], "axe, signed out");
  assert.deepEqual(seen.violations, []);
  await context.close();
});

test("a wrong key or another partner's key is refused with a message that takes focus", async () => {
  const other = addKey(env.host.db, "--role", "partner", "--partner", "oakwell");
  const page = await env.browser.newPage();
  await page.goto(new URL("/partners/", env.host.url).href);
  await page.locator("#partner-id").fill("northern-lights");
  await page.locator("#partner-key").fill(other);
  await page.locator("#sign-in button[type=submit]").click();
  await page.locator("#error:not([hidden])").waitFor();
  assert.match(await page.locator("#error").textContent(), /does not speak for this partner/);
  assert.equal(await page.evaluate(() => document.activeElement.id), "error");
  assert.equal(await page.locator("[role=alert]").count(), 1, "one alert box");
  await page.locator("#partner-key").fill(`cpk_${"0".repeat(12)}_${"0".repeat(64)}`);
  await page.locator("#sign-in button[type=submit]").click();
  await page.locator("#error", { hasText: "not known" }).waitFor();
  assert.equal(await page.locator("#result").isHidden(), true);
  await page.close();
});

test("while a request is under way the buttons are disabled, and a failed one is told in the alert", async () => {
  const key = addKey(env.host.db, "--role", "partner", "--partner", "northern-lights");
  const page = await env.browser.newPage();
  await page.goto(new URL("/partners/", env.host.url).href);

  // The host cannot be reached: the sign-in says so.
  await page.route(/\/api\/v1\/partners\/[^/]+\/summary$/, (route) => route.abort("connectionrefused"));
  await page.locator("#partner-id").fill("northern-lights");
  await page.locator("#partner-key").fill(key);
  await page.locator("#sign-in button[type=submit]").click();
  await page.locator("#error", { hasText: "Could not reach the host" }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), "error");
  await page.unrouteAll();

  // The suppression feed fails: the partner is signed in all the same, and told.
  await page.route(/\/api\/v1\/partners\/[^/]+\/suppressions\?/, (route) =>
    route.fulfill({ status: 500, contentType: "application/json", body: JSON.stringify({ error: { code: "internal", message: "storage failed", field: null } }) })
  );
  await signIn(page, "northern-lights", key);
  await page.locator("#error", { hasText: "could not answer just now" }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), "error");
  assert.match(await page.locator("#suppressions-empty").textContent(), /could not be read/);
  assert.equal(await page.locator("#suppressions-wrap").isHidden(), true);
  await page.unrouteAll();
  await page.locator("#suppressions-show").click();
  await page.locator("#status", { hasText: "to stop contacting" }).waitFor();
  assert.equal(await page.locator("#error").isHidden(), true, "a success clears the alert");

  // A download held up, then failed by the host.
  let release;
  const held = new Promise((resolve) => (release = resolve));
  await page.route(/\/api\/v1\/partners\/[^/]+\/contacts\?/, async (route) => {
    await held;
    await route.fulfill({
      status: 503,
      contentType: "application/json",
      body: JSON.stringify({ error: { code: "timeout", message: "the export took too long", field: null } }),
    });
  });
  await page.locator("#download").click();
  await waitFor(async () => (await page.locator("#download").isDisabled()) && (await page.locator("#download-json").isDisabled()));
  assert.equal(await page.locator("#download-suppressions").isDisabled(), true);
  assert.equal(await page.locator("#sign-out").isDisabled(), false, "signing out is always possible");
  release();
  await page.locator("#error", { hasText: "could not answer just now" }).waitFor();
  assert.match(await page.locator("#error").textContent(), /the export took too long/);
  assert.equal(await page.evaluate(() => document.activeElement.id), "error");
  assert.equal(await page.locator("#download").isEnabled(), true);
  await page.close();
});
