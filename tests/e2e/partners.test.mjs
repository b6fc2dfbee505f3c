// The partner page (/partners/): a partner company enters its key, sees how
// many patrons agree to hear from it, by channel, and downloads the CSV,
// whose rows match the API. Keyboard only, axe-clean, under the strict CSP.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { hostAndBrowser, openDemo, newCustomer, waitFor, recordsFor, ROOT } from "./harness.mjs";

const env = hostAndBrowser();
const HOST_BIN = process.env.CONSENT_HOST_BIN ?? path.join(ROOT, "target/host/consent-host");

function addKey(db, ...args) {
  return execFileSync(HOST_BIN, ["keys", "add", "--db", db, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
}

/** A patron says yes to Northern Lights (by email) and to Oakwell (by text) in the demo. */
async function checkout(customer) {
  const page = await env.browser.newPage();
  await openDemo(page, env.host.url, customer);
  await page.locator("#consent #cp-q0-yes").check();
  await page.locator("#consent #cp-q0-email").check();
  await page.locator("#consent #cp-q1-no").check();
  await page.locator("#consent #cp-q2-yes").check();
  await page.locator("#consent #cp-q2-sms").check();
  await page.locator("#consent [part=submit]").click();
  await page.locator("#consent [part=status]", { hasText: "Your choices are saved" }).waitFor();
  await waitFor(() => recordsFor(env.host.db, customer).length === 3);
  await page.close();
}

test("a partner signs in with its key, sees its counts and downloads a CSV matching the API", async () => {
  const customers = [newCustomer(), newCustomer()];
  for (const c of customers) await checkout(c);
  const key = addKey(env.host.db, "--role", "partner", "--partner", "northern-lights");
  assert.match(key, /^cpk_[0-9a-f]{12}_[0-9a-f]{64}$/);

  const context = await env.browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const violationsSeen = [];
  await page.exposeFunction("cspViolation", (v) => violationsSeen.push(v));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => window.cspViolation(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(new URL("/partners/", env.host.url).href);

  // Keyboard only: fill the form and submit with Enter.
  await page.keyboard.press("Tab");
  await page.keyboard.type("northern-lights");
  await page.keyboard.press("Tab");
  await page.keyboard.type(key);
  await page.keyboard.press("Enter");
  await page.locator("#result:not([hidden])").waitFor();
  const total = Number(await page.locator("#total").textContent());
  assert.ok(total >= 2, `at least the two new patrons (${total})`);
  const emailRow = page.locator("#by-channel tr", { hasText: "email" });
  assert.equal(Number(await emailRow.locator("td").textContent()), total, "every Northern Lights yes here is by email");

  const axe = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]).analyze();
  assert.deepEqual(axe.violations.map((v) => `${v.id}: ${v.help}`), []);

  const downloading = page.waitForEvent("download");
  await page.locator("#download").focus();
  await page.keyboard.press("Enter");
  const download = await downloading;
  const csv = await (await download.createReadStream()).toArray().then((chunks) => Buffer.concat(chunks).toString("utf8"));
  const lines = csv.trim().split("\r\n");
  assert.equal(lines[0], "customerId,recordId,decidedAt,receivedAt,channels,noticeId,noticeVersion,noticeLanguage,noticeSha256");

  const api = await (
    await fetch(new URL("/api/v1/partners/northern-lights/contacts", env.host.url), { headers: { Authorization: `Bearer ${key}` } })
  ).json();
  assert.equal(lines.length - 1, api.contacts.length);
  const rows = lines.slice(1).map((l) => l.split(","));
  api.contacts.forEach((c, i) => {
    assert.deepEqual(rows[i], [c.customerId, c.recordId, c.decidedAt, c.receivedAt, c.channels.join(" "), c.noticeId, String(c.noticeVersion), c.noticeLanguage, c.noticeSha256]);
  });
  for (const c of customers) assert.ok(api.contacts.some((x) => x.customerId === c), `${c} is exported`);
  assert.deepEqual(violationsSeen, []);
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
  await page.locator("#partner-key").fill(`cpk_${"0".repeat(12)}_${"0".repeat(64)}`);
  await page.locator("#sign-in button[type=submit]").click();
  await page.locator("#error", { hasText: "not known" }).waitFor();
  await page.close();
});
