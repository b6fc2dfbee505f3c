// The first question as HTML in every embedding mode, on a venue's own
// origin: with a checkout token in the config, the script tag, the
// <consent-prompt> element and the iframe ask the host to render the
// prompt while the wasm downloads, show it styled by the host's stylesheet
// before the wasm arrives, and the wasm takes that very DOM over, keeping
// an early answer and an early Save. Without a reachable render, the
// prompt renders itself as before. And every file after the page's one
// integrity is checked: a changed entry, glue, wasm or stylesheet is
// refused.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { PUBLIC_VENUE_ARGS, ROOT, launch, mintToken, newCustomer, recordsFor, startHost, storedRecords, waitFor } from "./harness.mjs";

/**
 * The venue's checkout, on an origin of its own: a second host's (a
 * loopback origin, as the browser lets a loopback page reach a loopback
 * host), its pages served by the test. The consent host allows it.
 */
let VENUE = "";
const env = { host: null, other: null, browser: null };

before(async () => {
  env.other = await startHost();
  VENUE = env.other.url.replace(/\/$/, "");
  env.host = await startHost({ env: { ALLOWED_ORIGINS: VENUE, FRAME_PARENT_ORIGINS: VENUE } });
  env.browser = await launch({ args: PUBLIC_VENUE_ARGS });
});
after(async () => {
  await env.browser?.close();
  await env.host?.stop();
  await env.other?.stop();
});

const hostOrigin = () => env.host.url.replace(/\/$/, "");
const asset = (file) => `${env.host.url}consent-prompt/${file}`;
const manifest = () => JSON.parse(readFileSync(path.join(ROOT, "dist/asset-manifest.json"), "utf8"));

/** The venue's strict policy: scripts, styles and requests from the consent host only. */
function venueCsp(styles = "") {
  const h = hostOrigin();
  return `default-src 'self'; script-src 'self' ${h} 'wasm-unsafe-eval'; style-src 'self' ${h}${styles}; connect-src 'self' ${h}; frame-src ${h}`;
}

/** A patron's config with a checkout token, as the venue's server writes it into the page. */
async function patronConfig(customer, extra = {}) {
  const config = JSON.parse(readFileSync(path.join(ROOT, "examples/consent-config.json"), "utf8"));
  config.customerId = customer;
  config.endpoint = `${env.host.url}api/v1/consent-records`;
  config.token = (await mintToken(env.host.url, { customerId: customer })).token;
  return { ...config, ...extra };
}

const block = (config) =>
  `<script type="application/json" id="consent-config">${JSON.stringify(config).replace(/</g, "\\u003c")}</script>`;

/** A context that serves `body` as the venue's checkout and records CSP violations. */
async function venuePage(body, extraCsp = "", { styles = "" } = {}) {
  const context = await env.browser.newContext();
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    window.__shifts = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shifts += e.value;
    }).observe({ type: "layout-shift", buffered: true });
  });
  await context.route(`${VENUE}/**`, (route) =>
    route.fulfill({
      status: 200,
      headers: { "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": venueCsp(styles) + extraCsp },
      body: `<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>Checkout</title></head><body><main><h1>Checkout</h1>${body}<p><button id="pay" type="button">Continue to payment</button></p></main></body></html>`,
    })
  );
  const page = await context.newPage();
  return { context, page };
}

/** Holds every wasm download until `release()`. */
async function holdWasm(context) {
  let release;
  const gate = new Promise((r) => (release = r));
  let asked = 0;
  await context.route("**/*.wasm", async (route) => {
    asked++;
    await gate;
    await route.continue().catch(() => {});
  });
  return { release: () => release(), asked: () => asked };
}

/**
 * The first question in `root`'s shadow root, styled: by the stylesheet
 * the render held inline (adopted, or a `<style>` in a page the host
 * rendered), or by one it links, loaded.
 */
const styledQuestion = (frame, selector) =>
  frame.waitForFunction((sel) => {
    const root = document.querySelector(sel)?.shadowRoot;
    const sheet = root?.querySelector("link[rel=stylesheet], style");
    const styled = root && (root.adoptedStyleSheets.length > 0 || !!(sheet && sheet.sheet));
    return !!(styled && root.querySelector("fieldset.q #cp-q0-yes"));
  }, selector);

/** Radios are 24 px under the prompt's stylesheet (a browser's own are 13). */
const radioWidth = (frame, selector) =>
  frame.evaluate((sel) => Math.round(document.querySelector(sel).shadowRoot.querySelector("#cp-q0-yes").getBoundingClientRect().width), selector);

const SCRIPT_TAG = (config, attrs = "") =>
  `<div id="consent"></div>${block(config)}<script src="${asset("embed.js")}" integrity="${manifest().files["embed.js"].integrity}" crossorigin="anonymous" data-target="#consent" data-config="#consent-config" ${attrs} async></script>`;

test("script tag on the venue's origin: the question before the wasm, styled by the render's own stylesheet; an early answer and an early Save survive hydration", async () => {
  const customer = newCustomer();
  const config = await patronConfig(customer, { submitButton: true });
  const { context, page } = await venuePage(SCRIPT_TAG(config));
  const asked = [];
  page.on("request", (r) => asked.push(new URL(r.url()).pathname));
  const wasm = await holdWasm(context);
  await page.goto(`${VENUE}/checkout`);
  await styledQuestion(page, "#consent");
  assert.equal(await radioWidth(page, "#consent"), 24, "styled by the prompt's stylesheet");
  assert.equal(await page.evaluate(() => !!window.ConsentPrompt.handle), false, "the wasm has not taken over");
  // The stylesheet came inline with the render and was adopted: no request
  // for it, no <style> or link in the page, nothing the venue's CSP refuses.
  assert.deepEqual(asked.filter((p) => p.endsWith(".css")), []);
  assert.equal(await page.evaluate(() => document.getElementById("consent").shadowRoot.querySelector("link, style")), null);
  // The patron answers and presses Save before the wasm has arrived.
  await page.locator("#consent #cp-q0-yes").check();
  const answeredAt = Date.now();
  await page.locator("#consent #cp-q1-no").check();
  await page.locator("#consent button[type=submit]").click();
  await page.locator("[data-cp-early]").waitFor();
  assert.equal(page.url(), `${VENUE}/checkout`, "the page did not navigate");
  const question = await page.evaluateHandle(() => document.getElementById("consent").shadowRoot.querySelector("fieldset.q"));
  wasm.release();
  await page.waitForFunction(() => !!window.ConsentPrompt.handle);
  assert.equal(await question.evaluate((q) => q.isConnected), true, "the same DOM, taken over");
  const records = await storedRecords(env.host.db, customer, 2);
  const byPartner = Object.fromEntries(records.map((r) => [r.partner.id, r]));
  assert.equal(byPartner["northern-lights"].state, "given");
  assert.equal(byPartner["paper-lantern"].state, "refused");
  assert.equal(byPartner["northern-lights"].collection.embed, "script");
  const decided = Date.parse(byPartner["northern-lights"].decidedAt);
  assert.ok(Math.abs(decided - answeredAt) < 2000, `dated when answered (${decided - answeredAt} ms)`);
  assert.deepEqual(await page.evaluate(() => window.__csp), []);
  await context.close();
});

test("<consent-prompt> on the venue's origin: the question before the wasm, taken over with the patron's answer", async () => {
  const customer = newCustomer();
  const config = await patronConfig(customer);
  const { context, page } = await venuePage(
    `${block(config)}<consent-prompt name="consent" config="#consent-config"></consent-prompt><script type="module" src="${asset("element.js")}"></script>`
  );
  const wasm = await holdWasm(context);
  await page.goto(`${VENUE}/checkout`);
  await styledQuestion(page, "consent-prompt");
  assert.equal(await radioWidth(page, "consent-prompt"), 24);
  await page.locator("consent-prompt #cp-q0-yes").check();
  await page.locator("consent-prompt #cp-q1-no").check();
  wasm.release();
  await page.waitForFunction(() => document.querySelector("consent-prompt").state?.()?.questions?.[0]?.answer === "yes");
  const summary = await page.evaluate(() => document.querySelector("consent-prompt").commit());
  assert.equal(summary.records.length, 2);
  const records = await storedRecords(env.host.db, customer, 2);
  assert.deepEqual(records.map((r) => [r.partner.id, r.state, r.collection.embed]).sort(), [
    // The element is the ES module's: its records say so.
    ["northern-lights", "given", "module"],
    ["paper-lantern", "refused", "module"],
  ]);
  assert.deepEqual(await page.evaluate(() => window.__csp), []);
  await context.close();
});

test("<consent-prompt> loaded async, before the parser reaches its config block: it waits for the block, then shows the question", async () => {
  const customer = newCustomer();
  const config = await patronConfig(customer);
  // The element is in the page, then a slow parser-blocking script holds
  // the parser, so the config block after it is not parsed yet when the
  // element's module has run and the element is connected.
  const { context, page } = await venuePage(
    // The module async, as in the head: it runs as soon as it arrives.
    `<script type="module" async src="${asset("element.js")}"></script><consent-prompt name="consent" config="#consent-config"></consent-prompt><script src="/slow.js"></script>${block(config)}`
  );
  await context.route(`${VENUE}/slow.js`, async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.fulfill({ status: 200, headers: { "Content-Type": "text/javascript" }, body: "window.slowRan = true;" });
  });
  await context.addInitScript(() => {
    window.__connectedEarly = false;
    const check = () => {
      const el = document.querySelector("consent-prompt");
      if (el && customElements.get("consent-prompt") && !document.getElementById("consent-config")) window.__connectedEarly = true;
    };
    new MutationObserver(check).observe(document, { childList: true, subtree: true });
    document.addEventListener("readystatechange", check);
    const timer = setInterval(check, 10);
    addEventListener("DOMContentLoaded", () => clearInterval(timer));
  });
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(`${VENUE}/checkout`);
  await styledQuestion(page, "consent-prompt");
  assert.equal(await page.evaluate(() => window.__connectedEarly), true, "the element was defined before its config block was parsed");
  await page.waitForFunction(() => document.querySelector("consent-prompt").hasAttribute("data-cp-live"));
  await page.locator("consent-prompt #cp-q0-no").check();
  await page.locator("consent-prompt #cp-q1-no").check();
  const summary = await page.evaluate(() => document.querySelector("consent-prompt").commit());
  assert.equal(summary.records.length, 2);
  assert.deepEqual(errors, []);
  assert.deepEqual(await page.evaluate(() => window.__csp), []);
  await context.close();
});

/** A venue page mounting the iframe prompt with `config`; its CSP plus `extraCsp`. */
async function framePage(config, extraCsp = "") {
  const { context, page } = await venuePage(
    `<div id="consent"></div><script src="${asset("host.js")}"></script><script type="application/json" id="cfg">${JSON.stringify(config)}</script><script src="/venue.js"></script>`,
    extraCsp
  );
  await context.route(`${VENUE}/venue.js`, (route) =>
    route.fulfill({
      status: 200,
      headers: { "Content-Type": "text/javascript" },
      body: `window.framed = window.ConsentPromptFrame.mount("#consent", { src: ${JSON.stringify(asset("frame.html"))}, config: JSON.parse(document.getElementById("cfg").textContent), title: "Contact preferences" });`,
    })
  );
  return { context, page };
}

/** With the wasm held back: the question in the frame, answered, then committed once the wasm lands. */
async function answerInFrameBeforeTheWasm(context, page, customer) {
  const wasm = await holdWasm(context);
  await context.addInitScript(() => {
    window.__frameEvents = [];
    document.addEventListener("DOMContentLoaded", () => {
      const at = document.getElementById("consent");
      for (const name of ["consent:ready", "consent:change"])
        at?.addEventListener(name, (e) => window.__frameEvents.push(`${name} ${(e.detail.state ?? e.detail).questions.map((q) => q.answer).join(",")}`));
    });
  });
  await page.goto(`${VENUE}/checkout`);
  const frame = await waitFor(() => page.frames().find((f) => f.url().includes("frame.html")));
  await styledQuestion(frame, "#consent");
  // Shown at its height, before the wasm: the parent sizes the frame when
  // the frame's height message arrives, a moment after the question is in.
  const tall = () => page.evaluate(() => document.querySelector("#consent iframe").getBoundingClientRect().height > 100);
  await waitFor(tall, { timeout: 5000 }).catch(() => {});
  const height = await page.evaluate(() => document.querySelector("#consent iframe").getBoundingClientRect().height);
  assert.ok(height > 100, `the frame is ${height} px tall before the wasm`);
  assert.equal(wasm.asked() <= 1, true);
  await frame.locator("#consent #cp-q0-yes").check();
  await frame.locator("#consent #cp-q1-no").check();
  wasm.release();
  await page.evaluate(async () => await window.framed);
  // The parent hears the prompt start once, holding the early answers, and then the change.
  assert.deepEqual(await page.evaluate(() => window.__frameEvents.slice(0, 2)), ["consent:ready yes,no", "consent:change yes,no"]);
  assert.equal(await page.evaluate(() => window.__frameEvents.filter((e) => e.startsWith("consent:ready")).length), 1);
  const summary = await page.evaluate(async () => (await window.framed).commit());
  assert.deepEqual(summary.records.map((r) => [r.partner.id, r.state]).sort(), [
    ["northern-lights", "given"],
    ["paper-lantern", "refused"],
  ]);
  const records = await storedRecords(env.host.db, customer, 2);
  assert.ok(records.every((r) => r.collection.embed === "iframe"));
  return frame;
}

test("iframe: the frame arrives with its first question (a form POST of the config), shown at its height before the wasm", async () => {
  const customer = newCustomer();
  const config = await patronConfig(customer);
  const { context, page } = await framePage(config);
  const posted = [];
  page.on("request", (r) => r.url().includes("frame.html") && posted.push(r.method()));
  const frame = await answerInFrameBeforeTheWasm(context, page, customer);
  assert.deepEqual(posted, ["POST"], "the frame is opened once, by the form");
  // The host wrote the question and the config into the page: no render
  // request from the frame, and its styles are inline (no stylesheet request).
  assert.equal(await frame.evaluate(() => !!document.getElementById("consent-config")), true);
  assert.deepEqual(await page.evaluate(() => window.__csp), []);
  await context.close();
});

test("iframe with no code of the page's own: host.js async with data-target and data-config mounts the frame once the parser reaches them; ready settles with the handle", async () => {
  const customer = newCustomer();
  const config = await patronConfig(customer);
  // host.js may run before the parser reaches the container and the config
  // block: a slow parser-blocking script sits between.
  const { context, page } = await venuePage(
    `<script src="${asset("host.js")}" async data-target="#consent" data-config="#consent-config" data-title="Marketing choices"></script><script src="/slow.js"></script><div id="consent"></div>${block(config)}`
  );
  await context.route(`${VENUE}/slow.js`, async (route) => {
    await new Promise((r) => setTimeout(r, 1000));
    await route.fulfill({ status: 200, headers: { "Content-Type": "text/javascript" }, body: "window.slowRan = true;" });
  });
  await context.addInitScript(() => {
    window.__ranEarly = false;
    const timer = setInterval(() => {
      if (window.ConsentPromptFrame && !document.getElementById("consent")) window.__ranEarly = true;
    }, 5);
    addEventListener("DOMContentLoaded", () => clearInterval(timer));
  });
  await page.goto(`${VENUE}/checkout`);
  const frame = await waitFor(() => page.frames().find((f) => f.url().includes("frame.html")));
  await styledQuestion(frame, "#consent");
  assert.equal(await page.evaluate(() => window.__ranEarly), true, "host.js ran before the parser reached the container");
  assert.equal(await page.locator("#consent iframe").getAttribute("title"), "Marketing choices");
  await page.waitForFunction(() => document.getElementById("consent").querySelector("iframe") && window.ConsentPromptFrame.ready);
  await frame.locator("#consent #cp-q0-no").check();
  await frame.locator("#consent #cp-q1-yes").check();
  const summary = await page.evaluate(async () => (await window.ConsentPromptFrame.ready).commit());
  assert.deepEqual(summary.records.map((r) => [r.partner.id, r.state]).sort(), [
    ["northern-lights", "refused"],
    ["paper-lantern", "given"],
  ]);
  const records = await storedRecords(env.host.db, customer, 2);
  assert.ok(records.every((r) => r.collection.embed === "iframe"));
  assert.deepEqual(await page.evaluate(() => window.__csp), []);
  await context.close();
});

test("iframe with no code of the page's own: a config block that is not there is a typed error on the container, and no frame", async () => {
  const { context, page } = await venuePage(
    `<div id="consent"></div><script src="${asset("host.js")}" async data-target="#consent" data-config="#no-such-block"></script><script src="/listen.js"></script>`
  );
  await context.route(`${VENUE}/listen.js`, (route) =>
    route.fulfill({
      status: 200,
      headers: { "Content-Type": "text/javascript" },
      body: `document.getElementById("consent").addEventListener("consent:error", (e) => (window.heard = e.detail.code));`,
    })
  );
  await page.goto(`${VENUE}/checkout`);
  const rejected = await page.evaluate(async () => {
    await new Promise((r) => (window.ConsentPromptFrame ? r() : addEventListener("load", r)));
    return window.ConsentPromptFrame.ready.then(
      () => null,
      (e) => e.code
    );
  });
  assert.equal(rejected, "config-inline");
  assert.equal(await page.evaluate(() => window.heard), "config-inline");
  assert.equal(await page.locator("#consent iframe").count(), 0);
  await context.close();
});

test("iframe with no code of the page's own: data-config as a URL; a data-target that matches nothing is said on the console", async () => {
  const config = await patronConfig(newCustomer());
  const { context, page } = await venuePage(
    `<div id="consent"></div><script src="${asset("host.js")}" async data-target="#consent" data-config="/consent.json"></script>`
  );
  await context.route(`${VENUE}/consent.json`, (route) =>
    route.fulfill({ status: 200, headers: { "Content-Type": "application/json" }, body: JSON.stringify(config) })
  );
  await page.goto(`${VENUE}/checkout`);
  const frame = await waitFor(() => page.frames().find((f) => f.url().includes("frame.html")));
  await styledQuestion(frame, "#consent");
  assert.ok(await page.evaluate(async () => typeof (await window.ConsentPromptFrame.ready).commit === "function"));
  await context.close();

  const other = await venuePage(`<div id="consent"></div><script src="${asset("host.js")}" async data-target="#nowhere" data-config="/consent.json"></script>`);
  await other.context.route(`${VENUE}/consent.json`, (route) =>
    route.fulfill({ status: 200, headers: { "Content-Type": "application/json" }, body: JSON.stringify(config) })
  );
  const errors = [];
  other.page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await other.page.goto(`${VENUE}/checkout`);
  const code = await other.page.evaluate(async () => {
    await new Promise((r) => (document.readyState === "complete" ? r() : addEventListener("load", r)));
    return window.ConsentPromptFrame.ready.then(
      () => null,
      (e) => e.code
    );
  });
  assert.equal(code, "no-target");
  await waitFor(() => errors.some((e) => /\[consent-prompt host\] the frame was not mounted: no element matches #nowhere/.test(e)));
  assert.equal(await other.page.locator("iframe").count(), 0);
  await other.context.close();
});

test("iframe: a page whose CSP form-action leaves the host out still gets the question before the wasm, by the handshake", async () => {
  const customer = newCustomer();
  const config = await patronConfig(customer);
  const { context, page } = await framePage(config, "; form-action 'self'");
  let rendered = 0;
  page.on("request", (r) => r.url().includes("/prompt/fragment") && rendered++);
  const frame = await answerInFrameBeforeTheWasm(context, page, customer);
  assert.equal(await frame.evaluate(() => !!document.getElementById("consent-config")), false, "the frame as built");
  assert.equal(rendered, 1, "the frame asked for its question as HTML once it had the config");
  assert.ok((await page.evaluate(() => window.__csp)).some((v) => v.startsWith("form-action")));
  await context.close();
});

test("without a reachable render the prompt renders itself, as before", async () => {
  const customer = newCustomer();
  const config = await patronConfig(customer);
  const { context, page } = await venuePage(SCRIPT_TAG(config));
  let asked = 0;
  await context.route("**/api/v1/prompt/fragment", (route) => {
    asked++;
    return route.abort("connectionrefused");
  });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${VENUE}/checkout`);
  await page.waitForFunction(() => !!window.ConsentPrompt.handle);
  await page.locator("#consent #cp-q0-yes").waitFor();
  assert.ok(asked >= 1, "the render was asked for");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a mount that fails takes its early question away, with the held Save: nothing that cannot be recorded stays on screen", async () => {
  const customer = newCustomer();
  const config = await patronConfig(customer, { submitButton: true });
  const { context, page } = await venuePage(SCRIPT_TAG(config));
  let fail;
  const failing = new Promise((r) => (fail = r));
  await context.route("**/*.wasm", async (route) => {
    await failing;
    await route.abort("connectionrefused");
  });
  const warnings = [];
  page.on("console", (m) => warnings.push(m.text()));
  await page.goto(`${VENUE}/checkout`);
  await styledQuestion(page, "#consent");
  await page.evaluate(() => {
    window.__errors = [];
    document.getElementById("consent").addEventListener("consent:error", (e) => window.__errors.push(e.detail.code));
  });
  await page.locator("#consent #cp-q0-yes").check();
  await page.locator("#consent #cp-q1-no").check();
  await page.locator("#consent button[type=submit]").click();
  await page.locator("#consent [data-cp-early]").waitFor();
  fail();
  await page.waitForFunction(() => window.__errors.length > 0);
  assert.deepEqual(await page.evaluate(() => window.__errors), ["load"]);
  const left = await page.evaluate(() => {
    const root = document.getElementById("consent").shadowRoot;
    return { questions: root.querySelectorAll("fieldset.q").length, notes: root.querySelectorAll("[data-cp-early]").length, sheets: root.adoptedStyleSheets.length };
  });
  assert.deepEqual(left, { questions: 0, notes: 0, sheets: 0 });
  await page.waitForTimeout(500);
  assert.deepEqual(recordsFor(env.host.db, customer), [], "nothing was recorded");
  await context.close();
});

test("a render the host refuses is said on the console; the prompt renders itself", async () => {
  const config = await patronConfig(newCustomer());
  const { context, page } = await venuePage(SCRIPT_TAG(config));
  await context.route("**/api/v1/prompt/fragment", (route) =>
    route.fulfill({ status: 503, headers: { "Content-Type": "application/json", "Access-Control-Allow-Origin": "*" }, body: JSON.stringify({ error: { code: "unavailable", message: "no stylesheet to inline", field: "inlineStyle" } }) })
  );
  const warnings = [];
  page.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
  await page.goto(`${VENUE}/checkout`);
  await page.waitForFunction(() => !!window.ConsentPrompt.handle);
  await page.locator("#consent #cp-q0-yes").waitFor();
  assert.ok(warnings.some((w) => /no first question from the host: HTTP 503: no stylesheet to inline/.test(w)), warnings.join("\n"));
  await context.close();
});

test("data-render=off: no render is asked for", async () => {
  const config = await patronConfig(newCustomer());
  const { context, page } = await venuePage(SCRIPT_TAG(config, 'data-render="off"'));
  let asked = 0;
  await context.route("**/api/v1/prompt/fragment", (route) => {
    asked++;
    return route.continue();
  });
  await page.goto(`${VENUE}/checkout`);
  await page.waitForFunction(() => !!window.ConsentPrompt.handle);
  assert.equal(asked, 0);
  await context.close();
});

for (const file of ["consent-prompt.js", "consent_prompt.js", "consent_prompt_bg.wasm"]) {
  test(`a changed ${file} on the host is refused: the page's one integrity covers it`, async () => {
    const config = await patronConfig(newCustomer());
    const { context, page } = await venuePage(SCRIPT_TAG(config, 'data-render="off" data-timeout="8000"'));
    await context.route(`**/consent-prompt/**/${file}`, async (route) => {
      const response = await route.fetch();
      const body = await response.body();
      const changed = file.endsWith(".wasm") ? Buffer.concat([body, Buffer.from([0])]) : Buffer.concat([body, Buffer.from("\n;globalThis.__tampered = true;\n")]);
      return route.fulfill({ response, body: changed, headers: { ...response.headers(), "content-encoding": "identity", "content-length": String(changed.length) } });
    });
    await page.goto(`${VENUE}/checkout`);
    const error = await page.evaluate(() => window.ConsentPrompt.ready.then(() => null, (e) => e));
    assert.ok(error, "the prompt did not mount");
    assert.equal(error.code, "load", JSON.stringify(error));
    assert.equal(await page.evaluate(() => !!globalThis.__tampered), false, "the changed code never ran");
    assert.equal(await page.evaluate(() => !!document.getElementById("consent").shadowRoot?.querySelector("fieldset.q")), false);
    await context.close();
  });
}

test("a changed stylesheet a server render links is refused by its integrity: its rules never apply", async () => {
  const config = await patronConfig(newCustomer());
  // The venue's server renders without inlineStyle: the fragment links the sheet.
  const response = await fetch(`${env.host.url}api/v1/prompt/render`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${config.token}` },
    body: JSON.stringify({ config }),
  });
  const { fragment } = await response.json();
  assert.match(fragment, /<link rel="stylesheet" href="[^"]+" integrity="sha384-/);
  const { context, page } = await venuePage(SCRIPT_TAG(config).replace('<div id="consent"></div>', () => `<div id="consent">${fragment}</div>`));
  let changedServed = 0;
  await context.route("**/consent-prompt/**/consent-prompt.css", async (route) => {
    const original = await route.fetch();
    const changed = Buffer.concat([await original.body(), Buffer.from("\n* { color: red !important; }\n")]);
    changedServed++;
    return route.fulfill({ response: original, body: changed, headers: { ...original.headers(), "content-encoding": "identity", "content-length": String(changed.length) } });
  });
  const wasm = await holdWasm(context);
  await page.goto(`${VENUE}/checkout`);
  await waitFor(() => changedServed === 1);
  // The browser has the changed sheet; let it check it and paint.
  await page.waitForTimeout(300);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const { sheet, color } = await page.evaluate(() => {
    const root = document.getElementById("consent").shadowRoot;
    return { sheet: !!root.querySelector("link[rel=stylesheet]").sheet, color: getComputedStyle(root.querySelector("legend")).color };
  });
  assert.equal(sheet, false, "the browser refused the changed sheet");
  assert.notEqual(color, "rgb(255, 0, 0)");
  wasm.release();
  await page.waitForFunction(() => !!window.ConsentPrompt.handle);
  await context.close();
});

test("a server-rendered page: ConsentPrompt.mount and .ready exist as soon as embed.js has run, and ready settles once the wasm takes the question over", async () => {
  const config = await patronConfig(newCustomer());
  const response = await fetch(`${env.host.url}api/v1/prompt/render`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${config.token}` },
    body: JSON.stringify({ config, inlineStyle: true }),
  });
  const { fragment, styleHash } = await response.json();
  const { context, page } = await venuePage(
    SCRIPT_TAG(config).replace('<div id="consent"></div>', () => `<div id="consent">${fragment}</div>`),
    "",
    { styles: ` ${styleHash}` }
  );
  // What the page sees the moment embed.js has run (its load event).
  await context.addInitScript(() => {
    document.addEventListener(
      "load",
      (e) => {
        if (!/embed\.js/.test(e.target.src || "")) return;
        const cp = window.ConsentPrompt || {};
        window.__atLoad = { mount: typeof cp.mount, ready: cp.ready instanceof Promise };
      },
      true
    );
    window.__events = [];
    for (const name of ["consent:ready", "consent:change"])
      document.addEventListener(name, (e) => window.__events.push(`${name} ${e.detail.state?.questions[1].answer ?? e.detail.questions[1].answer}`));
  });
  const wasm = await holdWasm(context);
  await page.goto(`${VENUE}/checkout`);
  await page.waitForFunction(() => window.__atLoad);
  assert.deepEqual(await page.evaluate(() => window.__atLoad), { mount: "function", ready: true });
  await page.locator("#consent #cp-q1-no").check();
  let settled = false;
  const ready = page.evaluate(() => window.ConsentPrompt.ready.then((h) => h.state().questions.map((q) => q.answer)));
  ready.then(() => (settled = true));
  await page.waitForTimeout(300);
  assert.equal(settled, false, "ready waits for the wasm");
  wasm.release();
  const answers = await ready;
  assert.deepEqual(answers.slice(0, 2), [null, "no"], "the early answer was taken over");
  assert.ok(answers.slice(2).every((a) => a === null), answers.join());
  // consent:ready tells the page of it, and consent:change, as after any answer.
  assert.deepEqual(await page.evaluate(() => window.__events), ["consent:ready no", "consent:change no"]);
  assert.equal(await page.locator("#consent #cp-q1-no").isChecked(), true, "the view shows it");
  assert.deepEqual(await page.evaluate(() => window.__csp), []);
  await context.close();
});
