// Delivery through the outbox against the real host: large outboxes, a
// corrupt entry, a success answer that names nothing, storage that throws,
// an expired checkout token, and commit() called again and at once, in the
// module and iframe modes. Every record is counted in the database.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startHost, launch, openDemo, recordsFor, newCustomer, waitFor, sql } from "./harness.mjs";

let host, browser;
before(async () => {
  host = await startHost();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await host?.stop();
});

const PREFIX = "consent-prompt:outbox:v1:";

async function answerAll(page) {
  for (const i of [0, 1, 2]) await page.locator(`#consent #cp-q${i}-no`).check();
}

function assertStoredOnce(db, customer, n) {
  const rows = sql(db, "SELECT record_id, COUNT(*) FROM customer_records WHERE customer_id = ? GROUP BY record_id", customer);
  assert.equal(rows.length, n, `${n} distinct records`);
  assert.ok(rows.every(([, c]) => c === 1), "each stored once");
}

/** The raw outbox entries in the page's localStorage. */
function storedOutbox(page) {
  return page.evaluate((prefix) => {
    const out = {};
    for (const k of Object.keys(localStorage)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = localStorage.getItem(k);
    return out;
  }, PREFIX);
}

/**
 * Seeds the outbox with `n` valid records for `customer` (copies of what a
 * commit would send now, each with its own id), as an offline terminal
 * would have left them.
 */
async function seedOutbox(page, n) {
  return page.evaluate(
    async ({ n, prefix }) => {
      const made = await window.consentPrompt.preview();
      const ids = [];
      for (let i = 0; i < n; i++) {
        const record = { ...structuredClone(made[i % made.length]), recordId: crypto.randomUUID() };
        ids.push(record.recordId);
        const entry = { record, endpoint: "/api/v1/consent-records", status: "pending", attempts: 0, lastError: null };
        localStorage.setItem(prefix + record.recordId, JSON.stringify(entry));
      }
      return ids;
    },
    { n, prefix: PREFIX }
  );
}

test("an outbox larger than one batch is all delivered on the next load, in batches within the limits", async () => {
  const customer = newCustomer();
  const page = await browser.newPage();
  const batches = [];
  page.on("request", (r) => {
    if (r.method() === "POST" && r.url().endsWith("/api/v1/consent-records")) {
      const body = r.postData() ?? "";
      batches.push({ records: JSON.parse(body).records.length, bytes: Buffer.byteLength(body) });
    }
  });
  await openDemo(page, host.url, customer);
  await answerAll(page);
  const ids = await seedOutbox(page, 501);
  await page.reload();
  await page.locator("#consent [part=root]").waitFor();
  await waitFor(() => recordsFor(host.db, customer).length === 501, { timeout: 60000 });
  assertStoredOnce(host.db, customer, 501);
  const stored = new Set(recordsFor(host.db, customer).map((r) => r.recordId));
  assert.ok(ids.every((id) => stored.has(id)), "every seeded record is stored");
  await waitFor(async () => Object.keys(await storedOutbox(page)).length === 0);
  assert.ok(batches.length >= 2, `at least two batches: ${JSON.stringify(batches)}`);
  for (const b of batches) {
    assert.ok(b.records <= 500, `${b.records} records in one batch`);
    assert.ok(b.bytes <= 1024 * 1024, `${b.bytes} bytes in one batch`);
  }
  const failed = (await page.evaluate(() => window.consentPrompt.outbox())).filter((e) => e.status === "failed");
  assert.deepEqual(failed, []);
  await page.close();
});

test("one corrupt outbox entry is set aside and never holds back the good ones", async () => {
  const customer = newCustomer();
  const page = await browser.newPage();
  await openDemo(page, host.url, customer);
  await answerAll(page);
  const good = await seedOutbox(page, 3);
  // A fourth entry whose record holds a number the backend cannot read.
  const badId = await page.evaluate(async (prefix) => {
    const [made] = await window.consentPrompt.preview();
    const text = JSON.stringify({ record: made, endpoint: "/api/v1/consent-records", status: "pending", attempts: 0, lastError: null });
    localStorage.setItem(prefix + made.recordId, text.replace('"version":', '"weight":1e400,"version":'));
    return made.recordId;
  }, PREFIX);
  const corrupt = (await storedOutbox(page))[badId];
  await page.reload();
  await page.locator("#consent [part=root]").waitFor();
  await waitFor(() => recordsFor(host.db, customer).length === 3);
  assertStoredOnce(host.db, customer, 3);
  assert.deepEqual(
    recordsFor(host.db, customer).map((r) => r.recordId).sort(),
    [...good].sort()
  );
  const listed = await waitFor(async () => {
    const all = await page.evaluate(() => window.consentPrompt.outbox());
    return all.length === 1 && all;
  });
  assert.equal(listed[0].recordId, badId);
  assert.equal(listed[0].status, "set-aside");
  assert.match(listed[0].lastError, /set aside/);
  assert.equal((await storedOutbox(page))[badId], corrupt, "kept in storage exactly as found");
  await page.close();
});

test("a success answer that names no record leaves the records pending", async () => {
  const customer = newCustomer();
  const page = await browser.newPage();
  let portal = true;
  await page.route("**/api/v1/consent-records", (route) =>
    portal && route.request().method() === "POST"
      ? route.fulfill({ status: 200, contentType: "text/html", body: "<html>Welcome to the venue wifi</html>" })
      : route.continue()
  );
  await openDemo(page, host.url, customer);
  await answerAll(page);
  const summary = await page.evaluate(() => window.consentPrompt.commit());
  assert.equal(summary.delivered.length, 0);
  assert.equal(summary.pending.length, 3);
  assert.equal(summary.kept, "device");
  const listed = await page.evaluate(() => window.consentPrompt.outbox());
  assert.deepEqual(listed.map((e) => e.status), ["pending", "pending", "pending"]);
  assert.equal(recordsFor(host.db, customer).length, 0);
  portal = false;
  const report = await page.evaluate(() => window.consentPrompt.retry());
  assert.equal(report.delivered.length, 3);
  assertStoredOnce(host.db, customer, 3);
  await page.close();
});

test("storage that throws: commit says the records are kept in memory only, and consent:error says so", async () => {
  const customer = newCustomer();
  const context = await browser.newContext();
  await context.addInitScript(() => {
    Storage.prototype.setItem = function () {
      throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
    };
  });
  const page = await context.newPage();
  let down = true;
  await page.route("**/api/v1/consent-records", (route) =>
    down && route.request().method() === "POST" ? route.fulfill({ status: 503, headers: { "Retry-After": "1" }, body: "" }) : route.continue()
  );
  await openDemo(page, host.url, customer);
  await answerAll(page);
  const { summary, error } = await page.evaluate(async () => {
    const errors = [];
    document.getElementById("consent").addEventListener("consent:error", (e) => errors.push(e.detail));
    const summary = await window.consentPrompt.commit();
    return { summary, error: errors.find((e) => e.code === "storage") };
  });
  assert.equal(summary.pending.length, 3);
  assert.equal(summary.kept, "memory");
  assert.ok(error, "consent:error with code storage");
  assert.deepEqual([...error.recordIds].sort(), [...summary.pending].sort());
  const listed = await page.evaluate(() => window.consentPrompt.outbox());
  assert.deepEqual(listed.map((e) => e.kept), ["memory", "memory", "memory"]);
  // While the page stays open, they still get through.
  down = false;
  await waitFor(() => recordsFor(host.db, customer).length === 3, { timeout: 30000 });
  assertStoredOnce(host.db, customer, 3);
  await context.close();
});

test("module: two concurrent commits store one set of records and both settle; a later commit settles too", async () => {
  const customer = newCustomer();
  const page = await browser.newPage();
  await openDemo(page, host.url, customer);
  await answerAll(page);
  const [a, b] = await page.evaluate(() => Promise.allSettled([window.consentPrompt.commit(), window.consentPrompt.commit()]));
  assert.equal(a.status, "fulfilled", JSON.stringify(a));
  assert.equal(b.status, "fulfilled", JSON.stringify(b));
  assert.deepEqual(a.value.records.map((r) => r.recordId), b.value.records.map((r) => r.recordId));
  const again = await page.evaluate(() => window.consentPrompt.commit());
  assert.deepEqual(again.records.map((r) => r.recordId), a.value.records.map((r) => r.recordId));
  await waitFor(() => recordsFor(host.db, customer).length === 3);
  assertStoredOnce(host.db, customer, 3);
  await page.close();
});

test("iframe: repeated and concurrent commits each settle, and store one set of records", async () => {
  const customer = newCustomer();
  const page = await browser.newPage();
  await page.goto(`http://localhost:${host.port}/examples/iframe.html?customer=${customer}`);
  const frame = page.frameLocator("#consent iframe");
  await frame.locator("fieldset.q").first().waitFor();
  await frame.locator("#cp-q0-no").check();
  await frame.locator("#cp-q1-no").check();
  await waitFor(() => page.evaluate(() => window.consentPrompt.state()?.complete));
  const settled = (p) =>
    page.evaluate(
      (n) => Promise.allSettled(Array.from({ length: n }, () => window.consentPrompt.commit())).then((all) => all.map((r) => r.status)),
      p
    );
  assert.deepEqual(await settled(2), ["fulfilled", "fulfilled"], "two at once");
  assert.deepEqual(await settled(1), ["fulfilled"], "once more after the save");
  assert.deepEqual(await settled(1), ["fulfilled"], "and again");
  await waitFor(() => recordsFor(host.db, customer).length === 2);
  assertStoredOnce(host.db, customer, 2);
  await page.close();
});

test("a checkout token that expires mid-checkout holds the records; update() with a fresh one delivers them once", async () => {
  const strict = await startHost({ args: ["--token-leeway-secs", "0"] });
  const customer = newCustomer();
  const page = await browser.newPage();
  // The checkout page got a token that lives one second; after that the
  // venue's token service is out of reach, so the page cannot renew it.
  let expiresAt = null;
  await page.route("**/demo/token", async (route) => {
    if (expiresAt !== null) return route.abort("connectionrefused");
    const body = { ...route.request().postDataJSON(), ttlSeconds: 1 };
    const response = await route.fetch({ postData: JSON.stringify(body) });
    const minted = await response.json();
    expiresAt = Date.parse(minted.expiresAt);
    await route.fulfill({ response, json: minted });
  });
  await openDemo(page, strict.url, customer);
  await answerAll(page);
  await waitFor(() => expiresAt !== null && Date.now() > expiresAt + 1000, { timeout: 10000 });
  const { summary, error } = await page.evaluate(async () => {
    const errors = [];
    document.getElementById("consent").addEventListener("consent:error", (e) => errors.push(e.detail));
    const summary = await window.consentPrompt.commit();
    return { summary, error: errors.find((e) => e.code === "unauthorized") };
  });
  assert.ok(error, "consent:error with code unauthorized");
  assert.equal(summary.pending.length, 3);
  assert.deepEqual([...summary.held].sort(), [...summary.pending].sort());
  const held = await page.evaluate(() => window.consentPrompt.outbox());
  assert.deepEqual(held.map((e) => e.status), ["held", "held", "held"]);
  assert.equal(recordsFor(strict.db, customer).length, 0, "nothing stored with the expired token");
  const stored = await page.evaluate(() => localStorage.getItem(Object.keys(localStorage).find((k) => k.startsWith("consent-prompt:outbox"))));
  const token = await page.evaluate(() => window.consentConfig.token);
  assert.ok(token && !stored.includes(token), "the token is never stored");

  await page.unroute("**/demo/token");
  await page.evaluate(async () => {
    const config = window.consentConfig;
    const r = await fetch("/demo/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ venueId: config.venue.id, customerId: config.customerId }),
    });
    window.consentPrompt.update({ ...config, token: (await r.json()).token });
  });
  await waitFor(() => recordsFor(strict.db, customer).length === 3);
  assertStoredOnce(strict.db, customer, 3);
  await waitFor(async () => (await page.evaluate(() => window.consentPrompt.outbox())).length === 0);
  await page.close();
  await strict.stop();
});
