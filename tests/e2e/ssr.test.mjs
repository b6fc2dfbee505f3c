// The server-rendered checkout: the first question is in the HTML before
// any script runs, the wasm takes that very DOM over (hydration), an answer
// given before then is kept with its own time, and the page stays
// accessible and within its strict Content-Security-Policy throughout.
import { test } from "node:test";
import assert from "node:assert/strict";
import AxeBuilder from "@axe-core/playwright";
import { hostAndBrowser, newCustomer, recordsFor, storedRecords, waitFor } from "./harness.mjs";

const env = hostAndBrowser();

async function violations(page) {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]).analyze();
  return result.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`);
}

/** The patron's records once the three questions' records are stored. */
function threeRecords(db, customer) {
  return storedRecords(db, customer, 3);
}

/** Holds the wasm back until `release()`, so a test can act before hydration. */
async function holdWasm(page) {
  let release;
  const gate = new Promise((r) => (release = r));
  await page.route("**/*.wasm", async (route) => {
    await gate;
    await route.continue();
  });
  return () => release();
}

/** Collects CSP violations and page errors from the start of the page. */
async function watch(page) {
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => console.error(`Refused to … CSP ${e.violatedDirective} ${e.blockedURI}`));
  });
  return problems;
}

test("without JavaScript the first question is in the HTML, styled and answerable", async () => {
  const context = await env.browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${env.host.url}?customer=${newCustomer()}`);
  const legends = await page.locator("#consent fieldset.q > legend").allTextContents();
  assert.deepEqual(legends, ["Northern Lights Theatre Company", "Paper Lantern Productions", "Oakwell Music Promotions"]);
  // Nothing pre-ticked; the linked stylesheet applies inside the shadow root.
  assert.equal(await page.locator("#consent input:checked").count(), 0);
  // The stylesheet sizes the radios at 24px (a browser's own are 13px).
  const radio = await page.locator("#consent #cp-q0-yes").boundingBox();
  assert.equal(Math.round(radio.width), 24);
  await page.locator("#consent label[for=cp-q1-no]").click();
  assert.equal(await page.locator("#consent input:checked").count(), 1);
  await context.close();
});

test("the wasm hydrates the server's DOM; an answer given before then is kept with its time", async () => {
  const customer = newCustomer();
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const problems = await watch(page);
  const release = await holdWasm(page);
  await page.goto(`${env.host.url}?customer=${customer}`);
  await page.locator("#consent #cp-q0-yes").waitFor();
  // Keep hold of the server's nodes, to see they are the ones still shown.
  await page.evaluate(() => {
    const root = document.getElementById("consent").shadowRoot;
    window.serverNodes = { section: root.querySelector("section"), yes: root.querySelector("#cp-q0-yes") };
  });
  const before = await page.locator("#consent [part=root]").boundingBox();
  await page.locator("#consent #cp-q0-yes").check();
  const answeredAt = Date.now();
  await page.waitForTimeout(600);
  release();
  await page.waitForFunction(() => window.consentPrompt);
  const hydratedAt = Date.now();
  // The channel choice appears once the prompt is live: the early yes counted.
  await page.locator("#consent [part=channels]").waitFor();
  const same = await page.evaluate(() => {
    const root = document.getElementById("consent").shadowRoot;
    return root.querySelector("section") === window.serverNodes.section && root.querySelector("#cp-q0-yes") === window.serverNodes.yes;
  });
  assert.equal(same, true, "the server's nodes were taken over, not replaced");
  assert.equal(await page.locator("#consent #cp-q0-yes").isChecked(), true);
  const after = await page.locator("#consent [part=root]").boundingBox();
  assert.equal(after.y, before.y, "the prompt did not move");
  const state = await page.evaluate(() => window.consentPrompt.state());
  assert.equal(state.questions[0].answer, "yes");

  await page.locator("#consent #cp-q0-email").check();
  await page.locator("#consent #cp-q1-no").check();
  await page.locator("#consent #cp-q2-no").check();
  await page.evaluate(() => window.consentPrompt.commit());
  const records = await threeRecords(env.host.db, customer);
  const north = records.find((r) => r.partner.id === "northern-lights");
  assert.equal(north.state, "given");
  assert.deepEqual(north.channels, ["email"]);
  const presented = Date.parse(north.presentedAt);
  const decided = Date.parse(north.decidedAt);
  assert.ok(presented <= answeredAt, `presented ${north.presentedAt} before the answer`);
  // Its last change (the channel) came after hydration, and so its time.
  assert.ok(decided >= hydratedAt - 1000 && decided >= presented, north.decidedAt);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a yes given before hydration and never touched again is dated when it was given", async () => {
  const customer = newCustomer();
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const release = await holdWasm(page);
  await page.goto(`${env.host.url}?customer=${customer}`);
  // Let the page's small scripts run (they note the time of each answer);
  // only the wasm is held back.
  await page.waitForFunction(() => document.readyState === "complete");
  await page.waitForTimeout(300);
  const clicked = Date.now();
  await page.locator("#consent #cp-q1-no").check();
  await page.waitForTimeout(1500);
  release();
  await page.waitForFunction(() => window.consentPrompt);
  await page.locator("#consent #cp-q0-no").check();
  await page.locator("#consent #cp-q2-no").check();
  await page.evaluate(() => window.consentPrompt.commit());
  const records = await threeRecords(env.host.db, customer);
  const lantern = records.find((r) => r.partner.id === "paper-lantern");
  assert.equal(lantern.state, "refused");
  const decided = Date.parse(lantern.decidedAt);
  assert.ok(Math.abs(decided - clicked) < 1000, `decided ${lantern.decidedAt}, clicked ${new Date(clicked).toISOString()}`);
  await context.close();
});

test("before and after hydration the prompt has no accessibility violations, and the CSP none", async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const problems = await watch(page);
  const release = await holdWasm(page);
  await page.goto(`${env.host.url}?customer=${newCustomer()}`);
  await page.locator("#consent fieldset.q").first().waitFor();
  const seen = [];
  // axe adds styles of its own, which the policy rightly refuses: read the
  // page's own problems before each run.
  seen.push(...problems.splice(0));
  assert.deepEqual(await violations(page), [], "server-rendered, before the wasm");
  problems.splice(0);
  release();
  await page.waitForFunction(() => window.consentPrompt);
  await page.locator("#consent #cp-q0-yes").check();
  await page.locator("#consent [part=channels]").waitFor();
  seen.push(...problems.splice(0));
  assert.deepEqual(seen, []);
  assert.deepEqual(await violations(page), [], "hydrated");
  await context.close();
});

test("a config that differs from the server's renders afresh, without errors", async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const problems = await watch(page);
  // The demo page's controls say Welsh before the prompt mounts: the
  // server rendered English, so the browser must not take that DOM over.
  await page.addInitScript(() => {
    document.addEventListener("DOMContentLoaded", () => {
      const cy = document.querySelector("#controls input[name=locale][value=cy]");
      if (cy) cy.checked = true;
    });
  });
  await page.goto(`${env.host.url}?customer=${newCustomer()}`);
  await page.waitForFunction(() => window.consentPrompt);
  const lang = await page.locator("#consent [part=root]").getAttribute("lang");
  assert.equal(lang, "cy");
  assert.equal(await page.locator("#consent [data-cp-render]").count(), 0, "the server's render was replaced");
  assert.equal(await page.locator("#consent fieldset.q").count(), 3);
  assert.deepEqual(problems, []);
  await context.close();
});

test("the iframe page given its config by URL arrives with its first question", async () => {
  const context = await env.browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(new URL("/consent-prompt/frame.html?config=/consent-prompt/demo-config.json", env.host.url).href);
  assert.equal(await page.locator("#consent fieldset.q").count(), 3);
  await context.close();
});

test("a frame served with its first question hydrates it, then takes the parent's patron and token", async () => {
  const { startHost, launch } = await import("./harness.mjs");
  const path = await import("node:path");
  const { ROOT } = await import("./harness.mjs");
  const host = await startHost({ examples: path.join(ROOT, "tests/e2e/fixtures/ssr-frame") });
  const browser = await launch();
  try {
    const customer = newCustomer();
    const page = await browser.newPage();
    await page.goto(`http://localhost:${host.port}/examples/index.html?customer=${customer}`);
    const frame = page.frameLocator("#consent iframe");
    await frame.locator("fieldset.q").first().waitFor();
    await page.waitForFunction(() => window.consentPrompt);
    const child = page.frames().find((f) => f.url().includes("/consent-prompt/frame.html"));
    assert.ok(child.url().includes("?config="), child.url());
    // The frame's prompt is the server's DOM, taken over.
    assert.equal(await child.evaluate(() => !!document.getElementById("consent").shadowRoot.querySelector("[data-cp-render]")), true);
    for (const q of ["cp-q0", "cp-q1", "cp-q2"]) await frame.locator(`#${q}-no`).check();
    await waitFor(() => page.evaluate(() => window.consentPrompt.state()?.complete));
    await page.evaluate(() => window.consentPrompt.commit());
    const records = await threeRecords(host.db, customer);
    assert.deepEqual([...new Set(records.map((r) => [r.state, r.collection.embed, r.customerId].join(" ")))], [`refused iframe ${customer}`]);
  } finally {
    await browser.close();
    await host.stop();
  }
});
