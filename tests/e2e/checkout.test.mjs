// The demo checkout end to end: keyboard only, records in SQLite, and a
// second visit that asks nothing already answered.
import { test } from "node:test";
import assert from "node:assert/strict";
import { hostAndBrowser, openDemo, focusedInPrompt, recordsFor, newCustomer, waitFor } from "./harness.mjs";

const env = hostAndBrowser();

test("a keyboard-only patron answers every question and commits; a reload asks nothing answered", async () => {
  const customer = newCustomer();
  const page = await env.browser.newPage();
  await openDemo(page, env.host.url, customer);
  const legends = await page.locator("#consent fieldset.q > legend").allTextContents();
  assert.deepEqual(legends, ["Northern Lights Theatre Company", "Paper Lantern Productions", "Oakwell Music Promotions"]);

  // Tab through the page; answer by keyboard as each control takes focus.
  const done = new Set();
  for (let i = 0; i < 80 && !done.has("submit"); i++) {
    await page.keyboard.press("Tab");
    const id = await focusedInPrompt(page);
    if (id === "cp-q0-yes" && !done.has(id)) await page.keyboard.press("Space"); // Northern Lights: yes…
    else if (id === "cp-q0-email" && !done.has(id)) await page.keyboard.press("Space"); // …by email
    else if (id === "cp-q1-yes" && !done.has(id)) await page.keyboard.press("ArrowDown"); // Paper Lantern: no
    else if (id === "cp-q2-yes" && !done.has(id)) await page.keyboard.press("Space"); // Oakwell: yes…
    else if (id === "cp-q2-sms" && !done.has(id)) await page.keyboard.press("Space"); // …by text message
    else if (id === "submit") await page.keyboard.press("Enter");
    if (id) done.add(id);
  }
  assert.ok(done.has("submit"), `reached the submit button (${[...done].join(", ")})`);
  await page.locator("#consent [part=status]", { hasText: "Your choices are saved" }).waitFor();

  const records = await waitFor(() => {
    const r = recordsFor(env.host.db, customer);
    return r.length === 3 && r;
  });
  const byPartner = Object.fromEntries(records.map((r) => [r.partner.id, r]));
  assert.equal(byPartner["northern-lights"].state, "given");
  assert.deepEqual(byPartner["northern-lights"].channels, ["email"]);
  assert.equal(byPartner["paper-lantern"].state, "refused");
  assert.equal(byPartner["paper-lantern"].dpvState, "ConsentRefused");
  assert.deepEqual(byPartner["oakwell"].channels, ["sms"]);
  for (const r of records) {
    assert.equal(r.presentation.preselected, false);
    assert.equal(r.collection.embed, "demo");
    assert.equal(r.notice.language, "en-GB");
    assert.match(r.notice.sha256, /^[0-9a-f]{64}$/);
  }
  assert.deepEqual(byPartner["northern-lights"].collection.eventIds, ["hamlet-2026-12-03", "tempest-2026-12-10"]);

  // Second visit: every partner in the basket is answered, so nothing is asked.
  await page.reload();
  await page.locator("#consent [part=nothing-to-ask]").waitFor();
  assert.equal(await page.locator("#consent fieldset.q").count(), 0);
  await page.close();
});

test("the locale shown is the one recorded", async () => {
  const customer = newCustomer();
  const page = await env.browser.newPage();
  await openDemo(page, env.host.url, customer);
  await page.locator('#controls input[name=locale][value=cy]').check();
  await page.locator("#consent [part=root][lang=cy]").waitFor();
  for (const i of [0, 1, 2]) await page.locator(`#consent #cp-q${i}-no`).check();
  await page.locator("#consent [part=submit]").click();
  const records = await waitFor(() => {
    const r = recordsFor(env.host.db, customer);
    return r.length === 3 && r;
  });
  assert.deepEqual(records.map((r) => r.notice.language), ["cy", "cy", "cy"]);
  assert.match(records[0].notice.text, /^Hoffai Northern Lights/);
  await page.close();
});

test("at 320 px wide (or 200% zoom) the layout holds with no horizontal scroll", async () => {
  const page = await env.browser.newPage({ viewport: { width: 320, height: 800 } });
  await openDemo(page, env.host.url, newCustomer());
  await page.locator("#consent #cp-q0-yes").check();
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(scroll <= client, `page scrolls sideways: ${scroll} > ${client}`);
  const box = await page.locator("#consent [part=root]").boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= 320, `prompt overflows: ${JSON.stringify(box)}`);
  await page.close();
});

test("the demo's records panel shows what a commit would send, and previewing stores nothing", async () => {
  const customer = newCustomer();
  const page = await env.browser.newPage();
  await openDemo(page, env.host.url, customer);
  await page.locator("#consent #cp-q0-no").check();
  await page.locator("#consent #cp-q1-no").check();
  await page.locator("#consent #cp-q2-yes").check();
  await page.locator("#consent #cp-q2-sms").check();
  await page.locator("#records-note", { hasText: "A commit now would send 3 record(s)" }).waitFor();
  const preview = JSON.parse(await page.locator("#records").textContent());
  assert.deepEqual(preview.map((r) => [r.partner.id, r.state]), [
    ["northern-lights", "refused"],
    ["paper-lantern", "refused"],
    ["oakwell", "given"],
  ]);
  assert.equal(recordsFor(env.host.db, customer).length, 0, "a preview keeps and sends nothing");
  await page.locator("#consent [part=submit]").click();
  await page.locator("#records-note", { hasText: "3 record(s) stored by the backend" }).waitFor();
  await page.close();
});
