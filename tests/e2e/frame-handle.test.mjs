// The iframe handle answers outbox(), retry() and receipt() as the module
// handle does: the same answers given in each, with the backend refusing the
// first deliveries, give the same shapes and the same statuses. Every
// request settles: a frame that never answers gives a typed timeout, and a
// destroyed frame handle says destroyed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { hostAndBrowser, mintToken, newCustomer, ROOT } from "./harness.mjs";

// Pages are real files (tests/e2e/fixtures/blank.html), served by the host:
// Chromium lets a loopback page, not a page the test made up, frame another
// loopback origin.
const env = hostAndBrowser({ examples: path.join(ROOT, "tests/e2e/fixtures") });

/** The shape of a value: types in place of values, arrays by their first item. */
function shape(v) {
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, shape(v[k])]));
  return v === null ? "null" : typeof v;
}

async function configFor(customer) {
  const config = JSON.parse(readFileSync(path.join(ROOT, "examples/consent-config.json"), "utf8"));
  config.customerId = customer;
  config.token = (await mintToken(env.host.url, { customerId: customer })).token;
  return config;
}

/** A context whose record posts are refused (503) until `open()`. */
async function refusingContext() {
  const context = await env.browser.newContext();
  const gate = { refusing: true };
  await context.route("**/api/v1/consent-records", (route) => {
    if (route.request().method() === "POST" && gate.refusing) return route.fulfill({ status: 503, headers: { "Retry-After": "60" }, body: "" });
    return route.continue();
  });
  return { context, open: () => (gate.refusing = false) };
}

/** Answers, commits, then asks outbox(), retry() (refused), retry() (accepted), receipt(). */
async function run(page, answer, api) {
  await answer("#cp-q0-yes");
  await answer("#cp-q1-no");
  const out = {};
  out.commit = await page.evaluate(() => window.prompt_.commit());
  out.outbox = await page.evaluate(() => window.prompt_.outbox());
  out.retryRefused = await page.evaluate(() => window.prompt_.retry());
  api.open();
  out.retry = await page.evaluate(() => window.prompt_.retry());
  out.outboxAfter = await page.evaluate(() => window.prompt_.outbox());
  out.receipt = await page.evaluate(() => window.prompt_.receipt());
  return out;
}

test("the iframe handle's outbox(), retry() and receipt() give the module handle's shapes for the same answers", async () => {
  // The module handle, on the host's own origin.
  const moduleSide = await refusingContext();
  const modulePage = await moduleSide.context.newPage();
  await modulePage.goto(`${env.host.url}examples/blank.html`);
  await modulePage.evaluate(async (config) => {
    const { mount } = await import("/consent-prompt/consent-prompt.js");
    window.prompt_ = await mount("#consent", config);
  }, await configFor(newCustomer()));
  await modulePage.locator("#consent #cp-q0-yes").waitFor();
  const viaModule = await run(modulePage, (s) => modulePage.locator(`#consent ${s}`).check(), moduleSide);

  // The iframe handle: parent on localhost, frame on 127.0.0.1.
  const frameSide = await refusingContext();
  const framePage = await frameSide.context.newPage();
  await framePage.goto(`http://localhost:${env.host.port}/examples/blank.html`);
  const receiptBefore = await framePage.evaluate(
    async ({ src, config }) => {
      window.prompt_ = await window.ConsentPromptFrame.mount("#consent", { src, config });
      return window.prompt_.receipt();
    },
    { src: `http://127.0.0.1:${env.host.port}/consent-prompt/frame.html`, config: await configFor(newCustomer()) }
  );
  assert.equal(receiptBefore, null, "no receipt before a commit, as with the module handle");
  const frame = framePage.frameLocator("#consent iframe");
  const viaFrame = await run(framePage, (s) => frame.locator(s).check(), frameSide);

  for (const key of Object.keys(viaModule)) {
    assert.deepEqual(shape(viaFrame[key]), shape(viaModule[key]), `${key}: the same shape through the frame`);
  }
  // And the same meaning.
  assert.deepEqual(viaModule.outbox.map((e) => e.status), ["pending", "pending"]);
  assert.deepEqual(viaFrame.outbox.map((e) => e.status), ["pending", "pending"]);
  assert.deepEqual(viaFrame.outbox.map((e) => e.recordId).sort(), viaFrame.commit.records.map((r) => r.recordId).sort());
  assert.equal(viaFrame.retryRefused.pending.length, viaModule.retryRefused.pending.length);
  assert.equal(viaFrame.retry.delivered.length, 2);
  assert.equal(viaModule.retry.delivered.length, 2);
  assert.deepEqual(viaFrame.outboxAfter, []);
  assert.equal(viaFrame.receipt.schema, "consent-receipt/1");
  assert.deepEqual(viaFrame.receipt.records.map((r) => r.state), viaModule.receipt.records.map((r) => r.state));
  assert.deepEqual(viaFrame.receipt.records.map((r) => r.collection.embed), ["iframe", "iframe"]);

  // Destroyed: each method says so, typed.
  const after = await framePage.evaluate(async () => {
    const p = window.prompt_;
    p.destroy();
    p.destroy();
    const out = {};
    for (const name of ["commit", "outbox", "retry", "receipt"]) out[name] = await p[name]().then(() => "resolved", (e) => e);
    for (const name of ["state", "update"]) {
      try {
        p[name]({});
        out[name] = "returned";
      } catch (e) {
        out[name] = e;
      }
    }
    return out;
  });
  for (const [name, e] of Object.entries(after)) assert.equal(e.code, "destroyed", `${name}: ${JSON.stringify(e)}`);
  await moduleSide.context.close();
  await frameSide.context.close();
});

test("a frame that stops answering: each request settles with a typed timeout", async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`http://localhost:${env.host.port}/examples/blank.html`);
  const config = await configFor(newCustomer());
  const outcome = await page.evaluate(
    async ({ src, config }) => {
      const p = await window.ConsentPromptFrame.mount("#consent", { src, config, requestTimeout: 1000 });
      // The frame goes quiet: its messages no longer reach this page.
      p.frame.src = "about:blank";
      await new Promise((r) => setTimeout(r, 200));
      const started = performance.now();
      const results = await Promise.all(["commit", "outbox", "retry", "receipt"].map((n) => p[n]().then(() => "resolved", (e) => e)));
      return { results, took: performance.now() - started };
    },
    { src: `http://127.0.0.1:${env.host.port}/consent-prompt/frame.html`, config }
  );
  for (const e of outcome.results) assert.equal(e.code, "timeout", JSON.stringify(e));
  assert.ok(outcome.took >= 900 && outcome.took < 5000, `settled after ${outcome.took} ms`);
  await context.close();
});
