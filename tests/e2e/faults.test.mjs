// Records are never lost: a failing backend, a backend that is down at
// commit, and a reload between commit and delivery. Each time, every record
// ends up stored exactly once, counted in the database.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startHost, launch, openDemo, recordsFor, newCustomer, waitFor, sql } from "./harness.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function answerAll(page) {
  for (const i of [0, 1, 2]) await page.locator(`#consent #cp-q${i}-no`).check();
}

/** Commits, and resolves with the detail of the `consent:error` that follows. */
function commitUntilError(page) {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        document.getElementById("consent").addEventListener("consent:error", (e) => resolve(e.detail), { once: true });
        window.consentPrompt.commit().catch(() => {});
      })
  );
}

/** The outbox entries left in the page's localStorage. */
function outbox(page) {
  return page.evaluate(() =>
    Object.keys(localStorage)
      .filter((k) => k.startsWith("consent-prompt:outbox"))
      .map((k) => JSON.parse(localStorage.getItem(k)))
  );
}

function assertStoredOnce(db, customer, n) {
  const rows = sql(db, "SELECT record_id, COUNT(*) FROM customer_records WHERE customer_id = ? GROUP BY record_id", customer);
  assert.equal(rows.length, n, `${n} distinct records`);
  assert.ok(rows.every(([, c]) => c === 1), "each stored once");
}

test("the backend answers 503 to the first posts: records arrive once it recovers", async () => {
  const host = await startHost();
  const customer = newCustomer();
  const page = await browser.newPage();
  let refused = 0;
  await page.route("**/api/v1/consent-records", (route) => {
    if (route.request().method() === "POST" && refused < 2) {
      refused++;
      return route.fulfill({ status: 503, headers: { "Retry-After": "1" }, body: "" });
    }
    return route.continue();
  });
  await openDemo(page, host.url, customer);
  await answerAll(page);
  const committed = page.evaluate(() => window.consentPrompt.commit());
  const summary = await committed;
  assert.equal(summary.pending.length, 3, "commit resolves with the records kept and pending");
  await waitFor(() => recordsFor(host.db, customer).length === 3);
  assert.equal(refused, 2);
  assertStoredOnce(host.db, customer, 3);
  await page.locator("#consent [part=status]", { hasText: "Your choices are saved" }).waitFor();
  assert.equal((await outbox(page)).length, 0, "the outbox is empty once delivered");
  await page.close();
  await host.stop();
});

test("the backend is down at commit and started later", async () => {
  // The restarted backend verifies the checkout tokens it issued before.
  const env = { CONSENT_TOKEN_SECRET: "e2e: a token secret that outlives a restart of the host" };
  const first = await startHost({ env });
  const customer = newCustomer();
  const page = await browser.newPage();
  await openDemo(page, first.url, customer);
  await answerAll(page);
  await first.stop();
  const summary = await page.evaluate(() => window.consentPrompt.commit());
  assert.equal(summary.pending.length, 3);
  assert.equal(summary.delivered.length, 0);
  const again = await startHost({ port: first.port, db: first.db, env });
  await waitFor(() => recordsFor(again.db, customer).length === 3, { timeout: 30000 });
  assertStoredOnce(again.db, customer, 3);
  await page.close();
  await again.stop();
});

test("the page is reloaded between commit and delivery", async () => {
  const host = await startHost();
  const customer = newCustomer();
  const page = await browser.newPage();
  let block = true;
  await page.route("**/api/v1/consent-records", (route) =>
    block && route.request().method() === "POST" ? route.abort("connectionreset") : route.continue()
  );
  await openDemo(page, host.url, customer);
  await answerAll(page);
  const summary = await page.evaluate(() => window.consentPrompt.commit());
  assert.equal(summary.pending.length, 3);
  assert.equal(recordsFor(host.db, customer).length, 0, "nothing delivered yet");
  block = false;
  await page.reload(); // the outbox is flushed first on the next load
  await waitFor(() => recordsFor(host.db, customer).length === 3);
  assertStoredOnce(host.db, customer, 3);
  await page.close();
  await host.stop();
});

test("a refused record is kept, marked failed, and reported", async () => {
  const host = await startHost();
  const customer = newCustomer();
  const page = await browser.newPage();
  await page.route("**/api/v1/consent-records", (route) =>
    route.fulfill({ status: 422, contentType: "application/json", body: JSON.stringify({ error: { code: "invalid_record", message: "partner unknown to the ticketing system", field: "records[0].partner.id" } }) })
  );
  await openDemo(page, host.url, customer);
  await answerAll(page);
  const error = await commitUntilError(page);
  assert.equal(error.code, "rejected");
  assert.equal(error.message, "partner unknown to the ticketing system");
  assert.equal(error.field, "records[0].partner.id");
  assert.equal(error.recordIds.length, 3);
  const kept = (await outbox(page)).map((e) => e.status);
  assert.deepEqual(kept, ["failed", "failed", "failed"]);
  await page.locator("#consent [part=status]", { hasText: "We could not save" }).waitFor();
  await page.close();
  await host.stop();
});

test("one refused record does not hold back the others", async () => {
  const host = await startHost();
  const customer = newCustomer();
  const page = await browser.newPage();
  let refusedBatches = 0;
  await page.route("**/api/v1/consent-records", async (route) => {
    // The ticketing system does not know Paper Lantern: it refuses any batch
    // holding that record, and names it.
    const body = route.request().postDataJSON();
    const bad = body.records.findIndex((r) => r.partner.id === "paper-lantern");
    if (route.request().method() === "POST" && bad >= 0) {
      refusedBatches++;
      return route.fulfill({
        status: 422,
        contentType: "application/json",
        body: JSON.stringify({ error: { code: "invalid_record", message: "partner unknown to the ticketing system", field: `records[${bad}].partner.id` } }),
      });
    }
    return route.continue();
  });
  await openDemo(page, host.url, customer);
  await answerAll(page);
  const error = await commitUntilError(page);
  assert.equal(error.code, "rejected");
  assert.equal(error.recordIds.length, 1, "only the blamed record failed");
  // The other two went through, one at a time once the batch was down to one.
  await waitFor(() => recordsFor(host.db, customer).length === 2);
  assertStoredOnce(host.db, customer, 2);
  const kept = (await outbox(page)).map((e) => [e.record.partner.id, e.status]);
  assert.equal(kept.length, 1, JSON.stringify(kept));
  assert.equal(kept[0][1], "failed");
  assert.ok(!recordsFor(host.db, customer).some((r) => r.partner.id === kept[0][0]), "the failed one is not stored");
  assert.equal(kept[0][0], "paper-lantern");
  assert.equal(refusedBatches, 1, "the others were sent again without it, once");
  await page.close();
  await host.stop();
});
