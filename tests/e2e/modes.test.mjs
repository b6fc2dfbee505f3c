// Beyond checkout: the preference centre, box-office mode driven by keys,
// re-consent after a wording change, Global Privacy Control, and a
// single-page app that mounts and destroys the prompt many times.
import { test } from "node:test";
import assert from "node:assert/strict";
import { hostAndBrowser, openDemo, recordsFor, newCustomer, waitFor, focusedInPrompt, mintToken, setControl } from "./harness.mjs";

const env = hostAndBrowser();

test("preference centre: withdrawing supersedes the yes, and the backend then says withdrawn", async () => {
  const customer = newCustomer();
  const page = await env.browser.newPage();
  await openDemo(page, env.host.url, customer);
  await page.locator("#consent #cp-q0-yes").check();
  await page.locator("#consent #cp-q0-email").check();
  for (const i of [1, 2]) await page.locator(`#consent #cp-q${i}-no`).check();
  await page.locator("#consent [part=submit]").click();
  const first = await waitFor(() => {
    const r = recordsFor(env.host.db, customer);
    return r.length === 3 && r;
  });
  const given = first.find((r) => r.partner.id === "northern-lights");

  await setControl(page, "mode", "account");
  const legends = await page.locator("#consent fieldset.q > legend").allTextContents();
  assert.deepEqual(legends, ["Northern Lights Theatre Company", "Paper Lantern Productions", "Blue Door Touring", "Oakwell Music Promotions"]);
  const nl = page.locator("#consent #cp-q0");
  assert.match(await nl.locator("[part=current]").textContent(), /^You said yes on \d{1,2} \w+ \d{4}\.$/);
  assert.equal(await page.locator("#consent #cp-q0-yes").isChecked(), true, "the current answer is shown");
  await nl.locator("[part=agreed] summary").click();
  assert.equal(await nl.locator("[part=agreed] blockquote").textContent(), given.notice.text, "the exact wording agreed to");

  await page.locator("#consent #cp-q0-no").check();
  await page.locator("#consent [part=submit]").click();
  const all = await waitFor(() => {
    const r = recordsFor(env.host.db, customer);
    return r.length === 4 && r;
  });
  const withdrawal = all[3];
  assert.equal(withdrawal.state, "withdrawn");
  assert.equal(withdrawal.dpvState, "ConsentWithdrawn");
  assert.equal(withdrawal.action, "withdrew");
  assert.equal(withdrawal.supersedes, given.recordId);
  assert.equal(withdrawal.presentation.mode, "account");
  const { token } = await mintToken(env.host.url, { customerId: customer });
  const prefs = await (await fetch(`${env.host.url}api/v1/customers/${customer}/preferences`, { headers: { Authorization: `Bearer ${token}` } })).json();
  const nlPref = prefs.preferences.find((p) => p.partnerId === "northern-lights");
  assert.equal(nlPref.state, "withdrawn");
  assert.equal(nlPref.recordId, withdrawal.recordId);
  // A second save records nothing more: the withdrawal is now the current answer.
  await page.locator("#consent [part=status]", { hasText: "Your choices are saved" }).waitFor();
  assert.match(await nl.locator("[part=current]").textContent(), /^You withdrew your consent on /);
  await page.close();
});

test("box office: an operator answers with keyboard shortcuts alone; records name the operator and channel", async () => {
  const customer = newCustomer();
  const page = await env.browser.newPage();
  await openDemo(page, env.host.url, customer);
  await setControl(page, "channel", "box-office");
  assert.match(await page.locator("#consent [part=keys]").textContent(), /Y yes, N no, H heard/);
  // Tab into the prompt, then only shortcut keys.
  for (let i = 0; i < 40 && (await focusedInPrompt(page)) !== "cp-q0-yes"; i++) await page.keyboard.press("Tab");
  assert.equal(await focusedInPrompt(page), "cp-q0-yes");
  for (const key of ["n", "h", "j", "n", "h", "j", "n", "h", "Enter"]) await page.keyboard.press(key);
  await page.locator("#consent [part=status]", { hasText: "Your choices are saved" }).waitFor();
  const records = recordsFor(env.host.db, customer);
  assert.equal(records.length, 3);
  for (const r of records) {
    assert.equal(r.state, "refused");
    assert.equal(r.collection.channel, "box-office");
    assert.equal(r.collection.operatorId, "op-demo");
    assert.equal(r.collection.expressedBy, "operator-on-behalf-of-customer");
    assert.equal(r.presentation.control, "operator-entry");
  }
  await page.close();
});

test("box office: saving before the operator confirms the wording was heard is refused", async () => {
  const page = await env.browser.newPage();
  await openDemo(page, env.host.url, newCustomer());
  await setControl(page, "channel", "phone");
  await page.locator("#consent #cp-q0-no").focus();
  for (const key of ["n", "Enter"]) await page.keyboard.press(key);
  await page.locator("#consent [part=error-summary]").waitFor();
  const errors = await page.locator("#consent [part=error-summary] li").allTextContents();
  assert.ok(errors.includes("Confirm that the customer has heard the wording"), errors.join(" | "));
  await page.close();
});

test("re-consent: changed wording is asked again, and a yes is recorded as RenewedConsentGiven", async () => {
  const customer = newCustomer();
  const earlier = "3b7e8a4c-3f1d-4c2a-9e5b-7d6f1a2b3c4d";
  const page = await env.browser.newPage();
  await page.route(`**/api/v1/customers/${customer}/preferences`, (route) =>
    route.fulfill({
      json: {
        customerId: customer,
        preferences: [{ partnerId: "northern-lights", state: "given", noticeId: "northern-lights-marketing", noticeVersion: 1, decidedAt: "2025-03-01T10:00:00.000Z", recordId: earlier, channels: ["email"] }],
      },
    })
  );
  await openDemo(page, env.host.url, customer);
  const note = await page.locator("#consent #cp-q0 [part=reask-note]").textContent();
  assert.match(note, /The wording has changed since you last answered/);
  assert.match(note, /What changed: They now also write by post\./);
  await page.locator("#consent #cp-q0-yes").check();
  await page.locator("#consent #cp-q0-email").check();
  await page.locator("#consent #cp-q1-no").check();
  await page.locator("#consent #cp-q2-no").check();
  await page.locator("#consent [part=submit]").click();
  const records = await waitFor(() => {
    const r = recordsFor(env.host.db, customer);
    return r.length === 3 && r;
  });
  const renewed = records.find((r) => r.partner.id === "northern-lights");
  assert.equal(renewed.dpvState, "RenewedConsentGiven");
  assert.equal(renewed.notice.version, 2);
  assert.equal(renewed.supersedes, earlier);
  await page.close();
});

for (const [label, value, expected] of [
  ["true", true, true],
  ["false", false, false],
  ["absent", undefined, null],
]) {
  test(`Global Privacy Control ${label} is recorded as ${expected} and never answers for the patron`, async () => {
    const customer = newCustomer();
    const context = await env.browser.newContext();
    if (value !== undefined) {
      await context.addInitScript((v) => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => v, configurable: true }), value);
    }
    const page = await context.newPage();
    await openDemo(page, env.host.url, customer);
    assert.equal(await page.locator("#consent [part=gpc-note]").count(), value === true ? 1 : 0, "the note shows only for GPC true");
    assert.equal(await page.locator("#consent input:checked").count(), 0, "no answer is assumed");
    for (const i of [0, 1, 2]) await page.locator(`#consent #cp-q${i}-no`).check();
    await page.locator("#consent [part=submit]").click();
    const records = await waitFor(() => {
      const r = recordsFor(env.host.db, customer);
      return r.length === 3 && r;
    });
    assert.deepEqual(records.map((r) => r.collection.gpc), [expected, expected, expected]);
    await context.close();
  });
}

for (const via of ["module", "iframe"]) {
  test(`single-page app (${via}): mount, destroy and mount again 50 times leaks no listeners or timers`, async () => {
    const context = await env.browser.newContext();
    await context.addInitScript(() => {
      const active = new Set();
      const st = window.setTimeout, ct = window.clearTimeout, si = window.setInterval, ci = window.clearInterval;
      window.setTimeout = (f, ms, ...a) => {
        const id = st(() => { active.delete(id); typeof f === "function" && f(...a); }, ms);
        active.add(id);
        return id;
      };
      window.clearTimeout = (id) => { active.delete(id); ct(id); };
      window.setInterval = (f, ms, ...a) => { const id = si(f, ms, ...a); active.add(id); return id; };
      window.clearInterval = (id) => { active.delete(id); ci(id); };
      window.__activeTimers = () => active.size;
    });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    const url = `http://localhost:${env.host.port}/examples/spa.html?customer=${newCustomer()}${via === "iframe" ? "&via=iframe" : ""}`;
    await page.goto(url);
    const prompt = via === "iframe" ? page.frameLocator("#consent iframe").locator("fieldset.q") : page.locator("#consent fieldset.q");
    await prompt.first().waitFor();

    async function counters() {
      await cdp.send("HeapProfiler.collectGarbage");
      const { jsEventListeners } = await cdp.send("Memory.getDOMCounters");
      const timers = await page.evaluate(() => window.__activeTimers());
      const frames = page.frames().length;
      return { jsEventListeners, timers, frames };
    }
    // Warm up once, so one-time set-up (loading the module) is not counted as a leak.
    for (const view of ["account", "checkout"]) await page.evaluate((v) => window.spaNavigate(v), view);
    await prompt.first().waitFor();
    const start = await counters();
    for (let i = 0; i < 50; i++) {
      await page.evaluate((v) => window.spaNavigate(v), i % 2 ? "checkout" : "account");
    }
    await page.evaluate((v) => window.spaNavigate(v), "checkout");
    await prompt.first().waitFor();
    await page.waitForTimeout(300);
    const end = await counters();
    assert.equal(end.timers, start.timers, `timers: ${JSON.stringify({ start, end })}`);
    assert.equal(end.frames, start.frames, "one frame at a time");
    assert.ok(end.jsEventListeners <= start.jsEventListeners + 2, `listeners grew: ${JSON.stringify({ start, end })}`);
    await context.close();
  });
}
