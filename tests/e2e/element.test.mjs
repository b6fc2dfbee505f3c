// <consent-prompt> in a checkout form, in plain HTML (examples/form.html)
// and in React 19 (examples/react/, bundled with esbuild from the npm
// package): a required prompt blocks the submit and focuses its error
// summary; a keyboard-only patron answers and submits; the form carries the
// stored records' ids; no axe violation; nothing the strict CSP blocks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { hostAndBrowser, ROOT, sql, waitFor } from "./harness.mjs";

const env = hostAndBrowser();

async function violations(page) {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]).analyze();
  return result.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`);
}

/** The focused element: inside the prompt, its id or part; else the page's id. */
function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (el && el.tagName === "CONSENT-PROMPT") {
      const inner = el.shadowRoot.activeElement;
      return inner ? inner.id || inner.getAttribute("part") || inner.tagName : "consent-prompt";
    }
    return el ? el.id || el.tagName : null;
  });
}

async function checkoutForm(url) {
  const context = await env.browser.newContext();
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`)
    );
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && !/Failed to load resource/.test(m.text()) && errors.push(m.text()));
  page.on("response", (r) => r.status() >= 400 && !r.url().endsWith("/favicon.ico") && errors.push(`${r.status()} ${r.url()}`));

  await page.goto(url);
  await page.locator("consent-prompt [part=root]").waitFor();
  await page.locator("consent-prompt #cp-q0-yes").waitFor();
  // The token arrives after the prompt has mounted; wait for it.
  await waitFor(() => page.evaluate(() => document.querySelector("consent-prompt").token !== null));
  assert.equal(await page.evaluate(() => document.querySelector("consent-prompt").validity.valueMissing), true, "required and unanswered: the form is invalid");
  assert.equal(await page.evaluate(() => document.querySelector("#checkout").matches(":invalid")), true);
  assert.equal(await page.locator("consent-prompt [part=error-summary]").count(), 0, "no errors before a submit");

  // Submitting unanswered (keyboard: Enter on the button) is blocked, and the
  // prompt's error summary shows and takes focus, as its own button does.
  await page.locator("#pay").focus();
  await page.keyboard.press("Enter");
  await page.locator("consent-prompt [part=error-summary]").waitFor();
  await waitFor(async () => (await focused(page)) === "error-summary");
  assert.equal(await page.locator("consent-prompt [part=error-summary] li").count(), 2);
  assert.equal(await page.locator("#sent").innerText(), "Nothing yet.", "the form was not submitted");
  assert.deepEqual(await violations(page), [], "axe, with the error summary showing");

  // Keyboard only: Tab through, answer as each control takes focus, submit.
  const seen = [];
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    const id = await focused(page);
    seen.push(id);
    if (id === "cp-q0-yes" && !seen.slice(0, -1).includes(id)) await page.keyboard.press("Space"); // Northern Lights: yes
    else if (id === "cp-q1-yes" && !seen.slice(0, -1).includes(id)) await page.keyboard.press("ArrowDown"); // Paper Lantern: no
    else if (/^cp-q\d-(email|post|sms|phone)$/.test(id ?? "") && !(await page.evaluate((i) => document.querySelector("consent-prompt").shadowRoot.getElementById(i).checked, id))) {
      await page.keyboard.press("Space");
    } else if (id === "pay") {
      await page.keyboard.press("Enter");
      break;
    }
  }
  assert.ok(seen.includes("pay"), `reached the submit button: ${seen.join(" ")}`);
  await waitFor(async () => (await page.locator("#sent").innerText()) !== "Nothing yet.");
  const sent = JSON.parse(await page.locator("#sent").innerText());
  assert.equal(sent.email, "patron@example.org");
  assert.equal(sent.consent.length, 2, "one form entry per record");
  const value = await page.evaluate(() => document.querySelector("consent-prompt").value);
  assert.deepEqual(sent.consent, value, "the form data is the element's value: the committed record ids");
  const stored = await waitFor(() => {
    const rows = sql(env.host.db, `SELECT record_id FROM customer_records WHERE record_id IN (${sent.consent.map(() => "?").join(",")})`, ...sent.consent);
    return rows.length === sent.consent.length ? rows : null;
  });
  assert.equal(stored.length, 2, "both records are stored");
  const states = await page.evaluate(() => document.querySelector("consent-prompt").state());
  assert.equal(states.complete, true);
  assert.deepEqual(await violations(page), [], "axe, after the save");
  assert.deepEqual(await page.evaluate(() => window.__csp), [], "no CSP violation");
  assert.deepEqual(errors, []);
  return { context, page };
}

test("plain HTML form: required blocks an unanswered submit, then commits and submits the record ids", async () => {
  const { context, page } = await checkoutForm(`${env.host.url}examples/form.html`);
  // A form reset remounts the prompt with no answers, and it asks nothing
  // this patron already answered on this device: each partner once only.
  await page.evaluate(() => document.querySelector("#checkout").reset());
  await waitFor(() => page.evaluate(() => {
    const s = document.querySelector("consent-prompt").state();
    return s !== null && s.phase === "asking" && s.questions.length === 0;
  }));
  const skipped = await page.evaluate(() => document.querySelector("consent-prompt").state().skipped.map((s) => s.reason));
  assert.ok(skipped.length >= 2 && skipped.every((r) => r === "already-answered"), `skipped: ${skipped}`);
  assert.equal(await page.evaluate(() => document.querySelector("consent-prompt").validity.valueMissing), false, "nothing left to answer");
  assert.deepEqual(await page.evaluate(() => document.querySelector("consent-prompt").value), []);
  await context.close();
});

test("React 19 form (esbuild bundle of the npm package): the same flow", async () => {
  assert.ok(
    existsSync(path.join(ROOT, "examples/react/dist/app.js")),
    "build the React example first: node scripts/package.mjs && (cd examples/react && npm ci && npm run build)"
  );
  const { context } = await checkoutForm(`${env.host.url}examples/react/index.html`);
  await context.close();
});

test("embed.js registers <consent-prompt> on a page that uses it", async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const url = `${env.host.url}examples/embed-element.html`;
  // A page with no build step: the classic script and the element.
  await page.route(url, (route) =>
    route.fulfill({
      status: 200,
      headers: { "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'" },
      body: `<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>Embed</title>
<script src="/consent-prompt/embed.js" async></script></head>
<body><main><h1>Checkout</h1><form><consent-prompt name="consent" config="/examples/consent-config.json"></consent-prompt></form></main></body></html>`,
    })
  );
  await page.goto(url);
  await page.locator("consent-prompt #cp-q0-yes").waitFor();
  assert.equal(await page.evaluate(() => customElements.get("consent-prompt") !== undefined), true);
  await context.close();
});

test("a form with novalidate: the submit itself is held back, shows the errors, and commits once answered", async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const url = `${env.host.url}examples/novalidate.html`;
  await page.route(url, (route) =>
    route.fulfill({
      status: 200,
      headers: { "Content-Type": "text/html; charset=utf-8" },
      body: `<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>No validation</title>
<script type="module" src="/consent-prompt/element.js"></script></head>
<body><main><h1>Checkout</h1><form novalidate><consent-prompt required name="consent" config="/examples/consent-config.json"></consent-prompt>
<button id="pay">Pay</button></form></main></body></html>`,
    })
  );
  await page.goto(url);
  await page.locator("consent-prompt #cp-q0-yes").waitFor();
  const token = await page.evaluate(async () => {
    const r = await fetch("/demo/token", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ venueId: "riverside", customerId: "EX-1" }) });
    return (await r.json()).token;
  });
  await page.evaluate((t) => {
    window.__submits = [];
    const form = document.querySelector("form");
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      window.__submits.push(new FormData(form).getAll("consent"));
    });
    document.querySelector("consent-prompt").token = t;
  }, token);
  await page.locator("#pay").click();
  await page.locator("consent-prompt [part=error-summary]").waitFor();
  await waitFor(async () => (await focused(page)) === "error-summary");
  assert.deepEqual(await page.evaluate(() => window.__submits), [], "the page's submit listener never saw the unanswered submit");
  await page.locator("consent-prompt #cp-q0-no").check();
  await page.locator("consent-prompt #cp-q1-no").check();
  await page.locator("#pay").click();
  const submits = await waitFor(() => page.evaluate(() => (window.__submits.length ? window.__submits : null)));
  assert.equal(submits.length, 1, "one submit reaches the page, after the commit");
  assert.equal(submits[0].length, 2);
  await context.close();
});

test("the theme and locale attributes restyle and translate the mounted prompt", async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.host.url}examples/form.html`);
  await page.locator("consent-prompt [part=root].light").waitFor();
  await page.evaluate(() => document.querySelector("consent-prompt").setAttribute("theme", "dark"));
  await page.locator("consent-prompt [part=root].dark").waitFor();
  // The demo's config has Welsh wording; the example's has English only.
  await page.evaluate(() => {
    const element = document.querySelector("consent-prompt");
    element.config = "/demo-config.json";
    element.locale = "cy";
  });
  await page.locator("consent-prompt [part=root][lang=cy]").waitFor();
  assert.equal(await page.evaluate(() => document.querySelector("consent-prompt").state().locale), "cy");
  await context.close();
});
