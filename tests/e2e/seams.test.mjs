// The seams of a checkout: each partner is asked once and no answer is
// lost, before the wasm arrives, between commit and delivery, after a
// save, and without JavaScript at all.
import { test } from "node:test";
import assert from "node:assert/strict";
import { hostAndBrowser, newCustomer, openDemo, recordsFor, waitFor } from "./harness.mjs";

const env = hostAndBrowser();

async function answerAll(page) {
  await page.locator("#consent #cp-q0-yes").check();
  await page.locator("#consent #cp-q0-email").check();
  await page.locator("#consent #cp-q1-no").check();
  await page.locator("#consent #cp-q2-no").check();
}

function state(page) {
  return page.evaluate(() => window.consentPrompt.state());
}

/** Waits for a newly loaded demo page's prompt to be live, and its state. */
async function liveState(page) {
  await page.waitForFunction(() => window.consentPrompt && window.consentPrompt.state() !== null);
  return state(page);
}

test("answered offline: a reload offline and a reload online ask nothing again, and every record is stored once", async () => {
  const customer = newCustomer();
  const page = await env.browser.newPage();
  const offline = (route) => route.abort("internetdisconnected");
  await page.route("**/api/v1/consent-records", offline);
  await openDemo(page, env.host.url, customer);
  await answerAll(page);
  await page.locator("#consent [part=submit]").click();
  await page.locator("#consent [part=status]", { hasText: "kept on this device" }).waitFor();

  // Reload, still offline: the venue's server knows nothing, the device does.
  await page.reload();
  let s = await liveState(page);
  assert.deepEqual(s.questions, [], "nothing answered on this device is asked again");
  assert.ok(s.skipped.length >= 3 && s.skipped.every((k) => k.reason === "already-answered"), JSON.stringify(s.skipped));
  assert.equal(recordsFor(env.host.db, customer).length, 0);

  // Back online: the next load delivers the outbox; the reload after asks nothing.
  await page.unroute("**/api/v1/consent-records", offline);
  await page.reload();
  await liveState(page);
  const stored = await waitFor(() => {
    const r = recordsFor(env.host.db, customer);
    return r.length === 3 && r;
  });
  await page.reload();
  s = await liveState(page);
  assert.deepEqual(s.questions, []);
  await new Promise((r) => setTimeout(r, 500));
  const again = recordsFor(env.host.db, customer);
  assert.equal(again.length, 3, "each record stored once");
  assert.equal(new Set(again.map((r) => r.partner.id)).size, 3);
  assert.deepEqual(again.map((r) => r.recordId), stored.map((r) => r.recordId));
  await page.close();
});

test("another patron on the same device is asked everything", async () => {
  const page = await env.browser.newPage();
  const first = newCustomer();
  await openDemo(page, env.host.url, first);
  await answerAll(page);
  await page.locator("#consent [part=submit]").click();
  await page.locator("#consent [part=status]", { hasText: "saved" }).waitFor();
  await openDemo(page, env.host.url, newCustomer());
  const s = await liveState(page);
  assert.equal(s.questions.length, 3, "nothing from another customer's answers leaks in");
  await page.close();
});

test("Save pressed before the wasm arrives: no navigation, shown as saving, stored once after hydration with the early times", async () => {
  const customer = newCustomer();
  const page = await env.browser.newPage();
  let release;
  const gate = new Promise((r) => (release = r));
  await page.route("**/*.wasm", async (route) => {
    await gate;
    await route.continue();
  });
  await page.goto(`${env.host.url}?customer=${encodeURIComponent(customer)}`);
  await page.locator("#consent [part=root]").waitFor();
  const url = page.url();
  // (A yes asks for channels, which appear once the wasm runs; a no does not.)
  for (const i of [0, 1, 2]) await page.locator(`#consent #cp-q${i}-no`).check();
  const answeredBy = Date.now();
  await page.locator("#consent [part=submit]").click();
  await page.locator("#consent [data-cp-early]").waitFor();
  assert.match(await page.locator("#consent [data-cp-early]").textContent(), /Saving/);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(page.url(), url, "the page did not navigate");
  const heldAt = Date.now();
  release();
  const records = await waitFor(() => {
    const r = recordsFor(env.host.db, customer);
    return r.length === 3 && r;
  });
  for (const r of records) {
    assert.ok(Date.parse(r.decidedAt) <= answeredBy, `${r.partner.id} decided when answered, not at hydration`);
    assert.ok(Date.parse(r.decidedAt) < heldAt);
  }
  assert.deepEqual(records.map((r) => r.state), ["refused", "refused", "refused"]);
  await page.locator("#consent [part=status]", { hasText: "saved" }).waitFor();
  assert.equal(await page.locator("#consent [data-cp-early]").count(), 0, "the early note is gone");
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(recordsFor(env.host.db, customer).length, 3, "committed once");
  await page.close();
});

test("without JavaScript, Save lands on a page that says plainly nothing was recorded", async () => {
  const customer = newCustomer();
  const context = await env.browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${env.host.url}?customer=${encodeURIComponent(customer)}`);
  await page.locator("#consent label[for=cp-q0-yes]").click();
  await page.locator("#consent [part=submit]").click();
  await page.waitForURL(/no-script\.html/);
  assert.equal(await page.locator("h1").textContent(), "Your choices were not recorded");
  assert.match(await page.locator("main").textContent(), /nothing was recorded and nothing was agreed/);
  assert.equal(recordsFor(env.host.db, customer).length, 0);
  await context.close();
});

test("after a save the answers are final; commit() gives the same save; 'Change my answers' supersedes it", async () => {
  const customer = newCustomer();
  const page = await env.browser.newPage();
  await openDemo(page, env.host.url, customer);
  await answerAll(page);
  await page.locator("#consent [part=submit]").click();
  await page.locator("#consent [part=status]", { hasText: "Your choices are saved" }).waitFor();
  const first = await waitFor(() => {
    const r = recordsFor(env.host.db, customer);
    return r.length === 3 && r;
  });
  assert.equal(await page.locator("#consent #cp-q1-yes").isDisabled(), true, "saved answers are not editable");
  const again = await page.evaluate(() => window.consentPrompt.commit());
  assert.deepEqual(again.records.map((r) => r.recordId).sort(), first.map((r) => r.recordId).sort(), "commit() after a save gives that save");
  assert.equal(recordsFor(env.host.db, customer).length, 3, "and records nothing new");

  await page.locator("#consent [part=change]").click();
  await waitFor(async () => !(await page.locator("#consent #cp-q1-yes").isDisabled()));
  await page.locator("#consent #cp-q1-yes").check();
  const channel = page.locator("#consent #cp-q1 fieldset.channels input").first();
  if (await channel.count()) await channel.check();
  await page.locator("#consent #cp-q0-no").check();
  await page.locator("#consent [part=submit]").click();
  const all = await waitFor(() => {
    const r = recordsFor(env.host.db, customer);
    return r.length === 6 && r;
  });
  const byPartner = (list, id) => list.find((r) => r.partner.id === id);
  const later = all.slice(3);
  for (const r of later) {
    assert.equal(r.supersedes, byPartner(first, r.partner.id).recordId, `${r.partner.id} supersedes the saved answer`);
  }
  const nl = byPartner(later, first[0].partner.id);
  assert.equal(nl.state, "withdrawn", "a no to a saved yes is a withdrawal");
  const yes = later.find((r) => r.state === "given");
  assert.equal(yes.dpvState, "ConsentGiven", "a changed answer is not a renewal");
  await page.close();
});

test("a save with nothing chosen says so, and never 'your choices are saved'", async () => {
  const customer = newCustomer();
  const page = await env.browser.newPage();
  await openDemo(page, env.host.url, customer);
  await page.locator("#consent [part=submit]").click();
  const status = page.locator("#consent [part=status]");
  await status.filter({ hasText: "You did not choose" }).waitFor();
  const records = await waitFor(() => {
    const r = recordsFor(env.host.db, customer);
    return r.length === 3 && r;
  });
  assert.deepEqual(records.map((r) => r.state), ["deferred", "deferred", "deferred"]);
  await page.close();
});
