// Every failure is visible and typed, at every seam: a config that 404s, that
// has unknown fields, that answers HTML; a wasm that never arrives; a second
// mount; a destroyed handle; a frame whose parent origin is not allowed. Each
// settles within its bound, rejects with the documented shape and fires
// consent:error. A required <consent-prompt> that could not mount tells the
// patron, and holds or lets through the form as `on-failure` says.
import { test } from "node:test";
import assert from "node:assert/strict";
import AxeBuilder from "@axe-core/playwright";
import { waitFor, twoHostsAndBrowser, STRICT_CSP } from "./harness.mjs";

const env = twoHostsAndBrowser();
const STRICT = STRICT_CSP;

/** A context whose pages note every consent:error / consent:skipped (with when) and CSP violation. */
async function watchedContext() {
  const context = await env.browser.newContext();
  await context.addInitScript(() => {
    window.__events = [];
    window.__csp = [];
    for (const type of ["consent:error", "consent:skipped"]) {
      document.addEventListener(type, (e) =>
        window.__events.push({ type, at: performance.now(), target: e.target.id || e.target.tagName, detail: JSON.parse(JSON.stringify(e.detail)) })
      );
    }
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return context;
}

/** Serves `body` as an HTML page at `url` under the strict CSP. */
async function servePage(context, url, body) {
  await context.route(url, (route) =>
    route.fulfill({
      status: 200,
      headers: { "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": STRICT },
      body: `<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>Checkout</title>${body.head ?? ""}</head><body><main><h1>Checkout</h1>${body.main}</main></body></html>`,
    })
  );
}

const ELEMENT = `<script type="module" src="/consent-prompt/element.js"></script>`;

function checkoutForm(attributes) {
  return {
    head: ELEMENT,
    main: `<form id="checkout"><label for="email">Email</label> <input id="email" name="email" value="patron@example.org">
<consent-prompt ${attributes}></consent-prompt>
<button id="pay">Continue to payment</button></form><p id="sent">Nothing yet.</p>`,
  };
}

/** Resolves with the first consent:error noted on the page. */
function firstError(page) {
  return waitFor(() => page.evaluate(() => window.__events.find((e) => e.type === "consent:error") ?? null));
}

function errorsOf(page) {
  return page.evaluate(() => window.__events.filter((e) => e.type === "consent:error"));
}

async function violations(page) {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]).analyze();
  return result.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`);
}

/** The config the examples use, as the host serves it. */
async function exampleConfig() {
  return (await fetch(new URL("examples/consent-config.json", env.host.url))).json();
}

function assertTyped(e, code) {
  assert.equal(typeof e, "object", `a typed error, not ${JSON.stringify(e)}`);
  assert.equal(e.code, code, JSON.stringify(e));
  assert.equal(typeof e.message, "string");
  assert.ok(e.message.length > 10, e.message);
  assert.ok(Array.isArray(e.errors), JSON.stringify(e));
  assert.ok("field" in e, JSON.stringify(e));
}

// ---- <consent-prompt> ------------------------------------------------------

test("element, config 404: consent:error config-fetch naming the URL and status; commit() rejects with it; the patron is told; axe clean", async () => {
  const context = await watchedContext();
  const page = await context.newPage();
  const url = `${env.host.url}examples/failure-404.html`;
  await servePage(context, url, checkoutForm(`name="consent" config="/examples/no-such-config.json"`));
  await page.goto(url);
  const event = await firstError(page);
  assertTyped(event.detail, "config-fetch");
  assert.match(event.detail.message, /no-such-config\.json/);
  assert.match(event.detail.message, /404/);
  assert.equal(event.detail.status, 404);
  assert.equal(event.target, "CONSENT-PROMPT");
  assert.ok(event.at < 20000, `settled in ${event.at} ms`);
  const rejected = await page.evaluate(() => document.querySelector("consent-prompt").commit().then(() => null, (e) => e));
  assert.equal(rejected.code, "config-fetch", "commit() settles, with the mount's error");
  const outbox = await page.evaluate(() => document.querySelector("consent-prompt").outbox().then(() => null, (e) => e));
  assert.equal(outbox.code, "config-fetch");
  await page.locator("consent-prompt [part=failure-message]").waitFor();
  assert.match(await page.locator("consent-prompt [part=failure-message]").innerText(), /couldn.t load the marketing preferences/);
  assert.equal(await page.evaluate(() => document.querySelector("consent-prompt").error.code), "config-fetch");
  assert.equal((await errorsOf(page)).length, 1, "consent:error fired once");
  assert.deepEqual(await violations(page), [], "axe, with the failure message showing");
  assert.deepEqual(await page.evaluate(() => window.__csp), [], "no CSP violation");
  await context.close();
});

test("element, unknown fields and a wrong type: one consent:error invalid-config listing every problem", async () => {
  const context = await watchedContext();
  const page = await context.newPage();
  const config = await exampleConfig();
  config.customer_id = config.customerId;
  config.partners[0].colour = "red";
  config.partners[1].notice.version = "2";
  config.basket.lines[0].partnerIDs = [];
  await context.route("**/examples/bad-config.json", (route) => route.fulfill({ json: config }));
  const url = `${env.host.url}examples/failure-unknown.html`;
  await servePage(context, url, checkoutForm(`name="consent" config="/examples/bad-config.json"`));
  await page.goto(url);
  const event = await firstError(page);
  assertTyped(event.detail, "invalid-config");
  const paths = event.detail.errors.map((e) => e.path).sort();
  assert.deepEqual(paths, ["basket.lines[0].partnerIDs", "customer_id", "partners[0].colour", "partners[1].notice.version"].sort(), JSON.stringify(event.detail.errors));
  assert.match(event.detail.errors.find((e) => e.path === "customer_id").message, /did you mean "customerId"/);
  assert.equal(event.detail.field, event.detail.errors[0].path);
  await page.waitForTimeout(200);
  assert.equal((await errorsOf(page)).length, 1, "consent:error fired once, by the wasm, not again by the element");
  await page.locator("consent-prompt [part=failure-message]").waitFor();
  await context.close();
});

test("element, config URL answering HTML: config-parse, never a raw SyntaxError", async () => {
  const context = await watchedContext();
  const page = await context.newPage();
  await context.route("**/examples/html-config.json", (route) =>
    route.fulfill({ status: 200, headers: { "Content-Type": "text/html" }, body: "<!doctype html><title>Sign in</title>" })
  );
  const url = `${env.host.url}examples/failure-html.html`;
  await servePage(context, url, checkoutForm(`name="consent" config="/examples/html-config.json"`));
  await page.goto(url);
  const event = await firstError(page);
  assertTyped(event.detail, "config-parse");
  assert.match(event.detail.message, /html-config\.json/);
  assert.match(event.detail.message, /text\/html/);
  await context.close();
});

test("element, the wasm never arrives: timeout within the element's bound", async () => {
  const context = await watchedContext();
  const page = await context.newPage();
  await context.route("**/consent_prompt_bg.wasm", () => {
    /* never answered */
  });
  const url = `${env.host.url}examples/failure-wasm.html`;
  await servePage(context, url, checkoutForm(`name="consent" timeout="2000" config="/examples/consent-config.json"`));
  const started = Date.now();
  await page.goto(url);
  const event = await firstError(page);
  const took = Date.now() - started;
  assertTyped(event.detail, "timeout");
  assert.ok(took >= 1500 && took < 8000, `settled after ${took} ms (bound 2000 ms)`);
  await page.locator("consent-prompt [part=failure-message]").waitFor();
  await context.close();
});

test("required element that could not mount, on-failure=block (its default): the submit is held, the patron told and taken to the message; trying again shows the prompt", async () => {
  const context = await watchedContext();
  const page = await context.newPage();
  let broken = true;
  await context.route("**/examples/flaky-config.json", async (route) => {
    if (broken) return route.fulfill({ status: 503, body: "" });
    return route.fulfill({ response: await route.fetch({ url: `${env.host.url}examples/consent-config.json` }) });
  });
  const url = `${env.host.url}examples/failure-block.html`;
  await servePage(context, url, checkoutForm(`required name="consent" config="/examples/flaky-config.json"`));
  await page.goto(url);
  await firstError(page);
  await page.evaluate(() => {
    window.__submits = [];
    document.querySelector("#checkout").addEventListener("submit", (e) => {
      e.preventDefault();
      window.__submits.push(new FormData(e.target).getAll("consent"));
    });
  });
  assert.equal(await page.evaluate(() => document.querySelector("consent-prompt").onFailure), "block");
  assert.equal(await page.evaluate(() => document.querySelector("consent-prompt").validity.customError), true);
  await page.locator("#pay").click();
  await waitFor(() =>
    page.evaluate(() => document.querySelector("consent-prompt").shadowRoot.activeElement?.getAttribute("part") === "failure-retry")
  );
  const message = await page.locator("consent-prompt [part=failure-message]").innerText();
  assert.match(message, /couldn.t load the marketing preferences/);
  assert.match(message, /can.t continue until they load/);
  assert.deepEqual(await page.evaluate(() => window.__submits), [], "the form was held");
  assert.deepEqual(await violations(page), [], "axe, with the held submit");
  // The venue's config is back: the patron tries again and is asked.
  broken = false;
  await page.keyboard.press("Enter");
  await page.locator("consent-prompt #cp-q0-yes").waitFor();
  assert.equal(await page.evaluate(() => document.querySelector("consent-prompt").error), null);
  assert.equal(await page.evaluate(() => document.querySelector("consent-prompt").validity.valueMissing), true, "now required and unanswered");
  await context.close();
});

test("required element that could not mount, on-failure=allow: the form goes through with no consent, and consent:skipped says so", async () => {
  const context = await watchedContext();
  const page = await context.newPage();
  const url = `${env.host.url}examples/failure-allow.html`;
  await servePage(context, url, checkoutForm(`required on-failure="allow" name="consent" config="/examples/no-such-config.json"`));
  await page.goto(url);
  await firstError(page);
  await page.evaluate(() => {
    window.__submits = [];
    document.querySelector("#checkout").addEventListener("submit", (e) => {
      e.preventDefault();
      window.__submits.push({ consent: new FormData(e.target).getAll("consent"), email: new FormData(e.target).get("email") });
    });
  });
  const message = await page.locator("consent-prompt [part=failure-message]").innerText();
  assert.match(message, /You can continue without them: no answer will be recorded/);
  assert.equal(await page.evaluate(() => document.querySelector("consent-prompt").validity.valid), true);
  await page.locator("#pay").click();
  const submits = await waitFor(() => page.evaluate(() => (window.__submits.length ? window.__submits : null)));
  assert.deepEqual(submits, [{ consent: [], email: "patron@example.org" }], "submitted once, with no record ids");
  const skipped = await page.evaluate(() => window.__events.filter((e) => e.type === "consent:skipped"));
  assert.equal(skipped.length, 1);
  assert.equal(skipped[0].detail.error.code, "config-fetch");
  assert.deepEqual(skipped[0].detail.recordIds, []);
  assert.deepEqual(await violations(page), []);
  await context.close();
});

// ---- script tag -------------------------------------------------------------

function scriptTagPage(config, extra = "") {
  return {
    main: `<div id="consent"></div>`,
    head: `<script src="/consent-prompt/embed.js" data-target="#consent" data-config="${config}" ${extra} async></script>`,
  };
}

/** What ConsentPrompt.ready settles with: "resolved", or the rejection. */
function readyOutcome(page) {
  return page.evaluate(async () => {
    await new Promise((r) => (window.ConsentPrompt?.ready ? r() : setTimeout(r, 50)));
    return window.ConsentPrompt.ready.then(() => "resolved", (e) => e);
  });
}

for (const [name, config, route, code] of [
  ["a config that 404s", "/examples/no-such-config.json", null, "config-fetch"],
  ["a config URL answering HTML", "/examples/html-config.json", { status: 200, headers: { "Content-Type": "text/html" }, body: "<p>Sign in</p>" }, "config-parse"],
  ["a config with unknown fields", "/examples/bad-config.json", "unknown", "invalid-config"],
]) {
  test(`script tag, ${name}: ConsentPrompt.ready rejects with ${code}, and consent:error fires on the target`, async () => {
    const context = await watchedContext();
    const page = await context.newPage();
    if (route === "unknown") {
      const body = await exampleConfig();
      body.colour = "red";
      body.venue.nmae = "x";
      await context.route(`**${config}`, (r) => r.fulfill({ json: body }));
    } else if (route) {
      await context.route(`**${config}`, (r) => r.fulfill(route));
    }
    const url = `${env.host.url}examples/script-${code}.html`;
    await servePage(context, url, scriptTagPage(config));
    await page.goto(url);
    const outcome = await readyOutcome(page);
    assertTyped(outcome, code);
    if (code === "invalid-config") assert.deepEqual(outcome.errors.map((e) => e.path).sort(), ["colour", "venue.nmae"]);
    const events = await errorsOf(page);
    assert.equal(events.length, 1, JSON.stringify(events));
    assert.equal(events[0].target, "consent");
    assert.equal(events[0].detail.code, code);
    assert.equal(await page.evaluate(() => window.ConsentPrompt.error.code), code);
    await context.close();
  });
}

test("script tag, the wasm never arrives: ready rejects with timeout after data-timeout", async () => {
  const context = await watchedContext();
  const page = await context.newPage();
  await context.route("**/consent_prompt_bg.wasm", () => {});
  const url = `${env.host.url}examples/script-timeout.html`;
  await servePage(context, url, scriptTagPage("/examples/consent-config.json", `data-timeout="1500"`));
  const started = Date.now();
  await page.goto(url);
  const outcome = await readyOutcome(page);
  const took = Date.now() - started;
  assertTyped(outcome, "timeout");
  assert.ok(took < 8000, `settled after ${took} ms`);
  assert.equal((await errorsOf(page))[0].detail.code, "timeout");
  await context.close();
});

// ---- ES module: second mount, destroyed handle -------------------------------

test("module: a second mount on a live prompt rejects with already-mounted (and consent:error); the first prompt is untouched; after destroy() every method says destroyed", async () => {
  const context = await watchedContext();
  const page = await context.newPage();
  const url = `${env.host.url}examples/module-twice.html`;
  await servePage(context, url, { main: `<div id="consent"></div>` });
  await page.goto(url);
  const config = await exampleConfig();
  const result = await page.evaluate(async (config) => {
    const { mount } = await import("/consent-prompt/consent-prompt.js");
    const first = await mount("#consent", config);
    const second = await mount("#consent", config).then(() => "resolved", (e) => e);
    const stillThere = first.state().questions.length;
    first.destroy();
    first.destroy();
    const after = {};
    for (const name of ["commit", "outbox", "retry", "preview"]) after[name] = await first[name]().then(() => "resolved", (e) => e);
    for (const name of ["state", "receipt"]) {
      try {
        first[name]();
        after[name] = "returned";
      } catch (e) {
        after[name] = e;
      }
    }
    try {
      first.update(config);
      after.update = "returned";
    } catch (e) {
      after.update = e;
    }
    // The element is free again.
    const third = await mount("#consent", config);
    // A parked app shows its state from its first render on.
    while (third.state() === null) await new Promise((r) => setTimeout(r, 20));
    const again = third.state().questions.length;
    third.destroy();
    return { second, stillThere, after, again };
  }, config);
  assertTyped(result.second, "already-mounted");
  assert.equal(result.stillThere, 2);
  assert.equal(result.again, 2);
  for (const [name, e] of Object.entries(result.after)) {
    assert.equal(e.code, "destroyed", `${name}: ${JSON.stringify(e)}`);
    assert.equal(typeof e.message, "string");
    assert.deepEqual(e.recordIds, []);
  }
  const events = await errorsOf(page);
  assert.deepEqual(events.map((e) => [e.target, e.detail.code]), [["consent", "already-mounted"]]);
  await context.close();
});

// ---- iframe: a parent the frame does not accept --------------------------------

/**
 * A page on the other host's origin (tests/e2e/fixtures/blank.html: a real
 * loopback page, so Chromium lets it frame the host) that loads host.js.
 */
async function foreignParent(context) {
  const page = await context.newPage();
  await page.goto(`${env.other.url}examples/blank.html`);
  return page;
}

function mountForeign(page, src, config, timeout) {
  return page.evaluate(
    async ({ src, config, timeout }) => {
      const started = performance.now();
      const outcome = await window.ConsentPromptFrame.mount("#consent", { src, config, timeout }).then(() => "resolved", (e) => e);
      return { outcome, took: performance.now() - started, frames: document.querySelectorAll("#consent iframe").length };
    },
    { src, config, timeout }
  );
}

test("frame, parent origin not allowed (the browser blocks the frame: frame-ancestors): mount rejects with origin within its timeout", async () => {
  const context = await watchedContext();
  const page = await foreignParent(context);
  const { outcome, took, frames } = await mountForeign(page, `${env.host.url}consent-prompt/frame.html`, await exampleConfig(), 3000);
  assertTyped(outcome, "origin");
  assert.match(outcome.message, new RegExp(env.other.url.replace(/\/$/, "").replace(/[.:/]/g, "\\$&")));
  assert.ok(took >= 2500 && took < 8000, `settled after ${took} ms (timeout 3000 ms)`);
  assert.equal(frames, 0, "the frame is removed");
  assert.deepEqual((await errorsOf(page)).map((e) => [e.target, e.detail.code]), [["consent", "origin"]]);
  await context.close();
});

test("module: a config URL answering HTML or 404 rejects mount() with config-parse / config-fetch and fires consent:error; never a raw SyntaxError", async () => {
  const context = await watchedContext();
  await context.route("**/examples/module-html-config.json", (route) =>
    route.fulfill({ status: 200, headers: { "Content-Type": "text/html" }, body: "<!doctype html><title>Sign in</title>" })
  );
  const page = await context.newPage();
  const url = `${env.host.url}examples/module-config-faults.html`;
  await servePage(context, url, { main: `<div id="consent"></div>` });
  await page.goto(url);
  const result = await page.evaluate(async () => {
    const { mount } = await import("/consent-prompt/consent-prompt.js");
    const target = document.getElementById("consent");
    const events = [];
    target.addEventListener("consent:error", (e) => events.push(e.detail.code));
    const html = await mount(target, "/examples/module-html-config.json").then(() => "resolved", (e) => e);
    const missing = await mount(target, "/examples/no-such-config.json").then(() => "resolved", (e) => e);
    return { html, missing, events, htmlIsError: html instanceof Error };
  });
  assert.equal(result.htmlIsError, false, "a typed object, not a SyntaxError");
  assert.equal(result.html.code, "config-parse");
  assert.match(result.html.message, /module-html-config\.json/);
  assert.match(result.html.message, /text\/html/);
  assert.equal(result.missing.code, "config-fetch");
  assert.equal(result.missing.status, 404);
  assert.deepEqual(result.events, ["config-parse", "config-fetch"]);
  await context.close();
});

test("element that could not load speaks the prompt's language: locale=\"cy\" tells the patron in Welsh", async () => {
  const context = await watchedContext();
  const page = await context.newPage();
  const url = `${env.host.url}examples/failure-cy.html`;
  await servePage(context, url, checkoutForm(`name="consent" locale="cy" required config="/examples/no-such-config.json"`));
  await page.goto(url);
  await firstError(page);
  const box = page.locator("consent-prompt [part=failure]");
  await box.waitFor();
  assert.equal(await box.getAttribute("lang"), "cy");
  assert.match(await page.locator("consent-prompt [part=failure-message]").textContent(), /Nid oeddem yn gallu llwytho/);
  assert.equal(await page.locator("consent-prompt [part=failure-retry]").textContent(), "Rhowch gynnig arall arni");
  assert.deepEqual(await violations(page), []);
  await context.close();
});
