// The three embedding modes, each under the strict CSP the host sends:
// mount, answer, commit, and the records stored. Plus the iframe's defences
// against forged messages, its height, and update() with a changed basket.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { readFileSync } from "node:fs";
import { recordsFor, newCustomer, waitFor, ROOT, twoHostsAndBrowser, STRICT_CSP } from "./harness.mjs";

const env = twoHostsAndBrowser();
const STRICT = STRICT_CSP;

/** A fresh context that records every CSP violation, in every frame. */
async function strictContext() {
  const context = await env.browser.newContext();
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`)
    );
  });
  return context;
}

async function violations(page) {
  const all = [];
  for (const frame of page.frames()) all.push(...(await frame.evaluate(() => window.__cspViolations ?? []).catch(() => [])));
  return all;
}

async function expectStrictCsp(response) {
  const csp = response.headers()["content-security-policy"] ?? "";
  assert.ok(csp.startsWith(STRICT), `strict CSP expected, got ${csp}`);
  assert.ok(!/'unsafe-(inline|eval|hashes)'/.test(csp), csp);
}

test("ES module: mount, answer, commit; stored; no CSP violation", async () => {
  const customer = newCustomer();
  const context = await strictContext();
  const page = await context.newPage();
  const response = await page.goto(`${env.host.url}examples/module.html?customer=${customer}`);
  await expectStrictCsp(response);
  await page.locator("#consent fieldset.q").first().waitFor();
  await page.locator("#consent #cp-q0-yes").check();
  await page.locator("#consent #cp-q1-no").check();
  await page.locator("#pay").click();
  await page.locator("#result", { hasText: "Saved 2 record(s): 2 delivered" }).waitFor();
  const records = recordsFor(env.host.db, customer);
  assert.deepEqual(records.map((r) => [r.partner.id, r.state, r.collection.embed]), [
    ["northern-lights", "given", "module"],
    ["paper-lantern", "refused", "module"],
  ]);
  assert.deepEqual(await violations(page), []);
  await context.close();
});

test("script tag: mounts itself, commits through window.ConsentPrompt.handle; no CSP violation", async () => {
  const customer = newCustomer();
  const context = await strictContext();
  const page = await context.newPage();
  // The config is a URL here, so the customer is set by intercepting it.
  await page.route("**/examples/consent-config.json", async (route) => {
    const body = await (await route.fetch()).json();
    body.customerId = customer;
    await route.fulfill({ json: body });
  });
  const response = await page.goto(`${env.host.url}examples/script-tag.html`);
  await expectStrictCsp(response);
  await page.locator("#result", { hasText: "2 question(s) to answer." }).waitFor();
  assert.equal(await page.evaluate(() => typeof window.ConsentPrompt.mount), "function");
  await page.locator("#consent #cp-q0-no").check();
  await page.locator("#consent #cp-q1-no").check();
  await page.locator("#pay").click();
  await page.locator("#result", { hasText: "Saved 2 record(s)" }).waitFor();
  const records = recordsFor(env.host.db, customer);
  assert.deepEqual(records.map((r) => [r.state, r.collection.embed]), [["refused", "script"], ["refused", "script"]]);
  assert.deepEqual(await violations(page), []);
  await context.close();
});

async function openIframeExample(context, customer) {
  const page = await context.newPage();
  // The parent is on localhost, the frame on 127.0.0.1: two origins.
  const url = `http://localhost:${env.host.port}/examples/iframe.html?customer=${customer}`;
  const response = await page.goto(url);
  await expectStrictCsp(response);
  const frame = page.frameLocator("#consent iframe");
  await frame.locator("fieldset.q").first().waitFor();
  return { page, frame };
}

test("iframe: mount, answer, commit across origins; stored; sized to its content; no CSP violation", async () => {
  const customer = newCustomer();
  const context = await strictContext();
  const { page, frame } = await openIframeExample(context, customer);
  const child = page.frames().find((f) => f.url().includes("/consent-prompt/frame.html"));
  assert.ok(child.url().startsWith(`http://127.0.0.1:${env.host.port}/`), child.url());

  await frame.locator("#cp-q0-yes").check();
  await frame.locator("#cp-q1-yes").check();
  const state = await page.evaluate(() => window.consentPrompt.state());
  assert.equal(state.complete, true, "change messages reach the parent");
  // Headless Chromium can drop a click that lands while the page is still
  // scrolling past an out-of-process iframe; let the scroll settle first.
  await page.locator("#pay").scrollIntoViewIfNeeded();
  await page.waitForTimeout(200);
  await page.locator("#pay").click();
  await page.locator("#result", { hasText: "Saved 2 record(s): 2 delivered" }).waitFor();
  const records = recordsFor(env.host.db, customer);
  assert.deepEqual(records.map((r) => [r.state, r.collection.embed, r.collection.pageOrigin]), [
    ["given", "iframe", `http://127.0.0.1:${env.host.port}`],
    ["given", "iframe", `http://127.0.0.1:${env.host.port}`],
  ]);

  // The frame is exactly as tall as its content: no scrollbar inside.
  await page.waitForTimeout(300);
  const frameHeight = await page.locator("#consent iframe").evaluate((f) => f.getBoundingClientRect().height);
  const content = await child.evaluate(() => ({
    height: Math.ceil(document.documentElement.getBoundingClientRect().height),
    scroll: document.documentElement.scrollHeight,
    client: document.documentElement.clientHeight,
  }));
  assert.ok(Math.abs(frameHeight - content.height) <= 1, `frame ${frameHeight}px, content ${content.height}px`);
  assert.ok(content.scroll <= content.client, `content scrolls: ${content.scroll} > ${content.client}`);
  assert.deepEqual(await violations(page), []);
  await context.close();
});

test("iframe: messages from a third origin or a non-parent window change nothing and store nothing", async () => {
  const customer = newCustomer();
  const context = await strictContext();
  const attacker = await context.newPage();
  await attacker.goto(`${env.other.url}examples/attacker.html`);
  const popupPromise = context.waitForEvent("page");
  await attacker.evaluate((u) => window.attack(u), `http://localhost:${env.host.port}/examples/iframe.html?customer=${customer}`);
  const checkout = await popupPromise;
  const ignored = [];
  checkout.on("console", (m) => m.text().includes("ignored a message") && ignored.push(m.text()));
  const frame = checkout.frameLocator("#consent iframe");
  await frame.locator("fieldset.q").first().waitFor();
  const before = await frame.locator("fieldset.q > legend").allTextContents();

  // 1. A page on a third origin posts init and commit to the frame (and to its parent).
  for (let i = 0; i < 3; i++) {
    assert.equal(await attacker.evaluate(() => window.forge()), true);
    await attacker.waitForTimeout(150);
  }
  // 2. A window on the parent's own (allowed) origin that is not the parent posts them too.
  await checkout.evaluate(() => {
    const sibling = document.createElement("iframe");
    sibling.src = "/examples/examples.css";
    sibling.title = "sibling";
    document.body.append(sibling);
    return new Promise((r) => sibling.addEventListener("load", r, { once: true }));
  });
  const sibling = checkout.frames().find((f) => f.url().endsWith("/examples/examples.css"));
  await sibling.evaluate(() => {
    const target = window.parent.frames[0];
    target.postMessage({ type: "consent-prompt:init", v: 1, config: { customerId: "SIBLING" } }, "*");
    target.postMessage({ type: "consent-prompt:commit", v: 1, requestId: "sibling" }, "*");
  });
  await checkout.waitForTimeout(1000);

  assert.deepEqual(await frame.locator("fieldset.q > legend").allTextContents(), before, "nothing changed");
  assert.equal(await frame.locator("#cp-q0-yes").isChecked(), false);
  assert.equal(recordsFor(env.host.db, customer).length, 0, "nothing stored for the patron");
  assert.equal(recordsFor(env.host.db, "FORGED").length, 0, "nothing stored for the forger");
  assert.equal(recordsFor(env.host.db, "SIBLING").length, 0);
  assert.equal(await checkout.evaluate(() => window.consentPrompt.state().phase), "asking");
  // The forged messages did arrive, and were turned away (each kind logged once).
  assert.ok(ignored.some((t) => t.includes(env.other.url.replace(/\/$/, ""))), `third origin refused: ${ignored.join(" | ")}`);
  assert.ok(ignored.some((t) => t.includes("not the parent")), `non-parent window refused: ${ignored.join(" | ")}`);
  assert.equal(new Set(ignored).size, ignored.length, "each kind of refusal is logged once");
  await context.close();
});

test("update(config) with a changed basket adds and removes questions and keeps answers", async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.host.url}?customer=${newCustomer()}`);
  await page.locator("#consent fieldset.q").first().waitFor();
  // This test is about update(): it answers once the prompt is live
  // (answers given before that are early.test.mjs's).
  await page.waitForFunction(() => document.getElementById("consent").hasAttribute("data-cp-live"));
  await page.locator("#consent #cp-q0-no").check(); // Northern Lights: no
  await page.locator("#consent #cp-q2-yes").check(); // Oakwell: yes
  const keys = await page.evaluate(async () => {
    const config = await (await fetch("/demo-config.json")).json();
    delete config.generalNotice;
    // Drop The Tempest (Paper Lantern goes), add an Oakwell-only gala twice over.
    config.basket.lines = config.basket.lines.filter((l) => l.eventId !== "tempest-2026-12-10");
    config.basket.lines.push({ eventId: "gala", title: "New Year Gala", partnerIds: ["oakwell", "paper-lantern-2"] });
    config.partners.push({ id: "paper-lantern-2", name: "Lantern Two", privacyUrl: "https://two.example/privacy",
      notice: { id: "two", version: 1, text: { "en-GB": "Lantern Two would like to email you." }, channels: ["email"] } });
    config.customerId = "UPDATED";
    window.consentPrompt.update(config);
    await new Promise((r) => setTimeout(r, 100));
    const s = window.consentPrompt.state();
    return s.questions.map((q) => `${q.key}=${q.answer}`);
  });
  assert.deepEqual(keys, ["northern-lights=no", "oakwell=yes", "paper-lantern-2=null"]);
  const legends = await page.locator("#consent fieldset.q > legend").allTextContents();
  assert.deepEqual(legends, ["Northern Lights Theatre Company", "Oakwell Music Promotions", "Lantern Two"]);
  assert.equal(await page.locator("#consent #cp-q0-no").isChecked(), true, "the answer is still shown");
  await context.close();
});

test("script tag with the config written into the page: no config request, records stored; a broken one is named", async () => {
  const { mintToken } = await import("./harness.mjs");
  const customer = newCustomer();
  const config = JSON.parse(readFileSync(path.join(ROOT, "examples/consent-config.json"), "utf8"));
  config.customerId = customer;
  config.token = (await mintToken(env.host.url, { venueId: config.venue.id, customerId: customer })).token;
  config.venue.name = "</script><p id=injected>Riverside</p>"; // must stay text
  const page = (json) => `<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>Inline config</title></head><body>
<script type="application/json" id="consent-config">${json.replace(/</g, "\\u003c")}</script>
<div id="consent"></div>
<script src="/consent-prompt/embed.js" data-target="#consent" data-config="#consent-config" async></script>
</body></html>`;
  const context = await strictContext();
  const tab = await context.newPage();
  const requests = [];
  tab.on("request", (r) => requests.push(new URL(r.url()).pathname));
  const errors = [];
  tab.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  let body = page(JSON.stringify(config));
  await tab.route("**/examples/inline.html*", (route) =>
    route.fulfill({ body, contentType: "text/html; charset=utf-8", headers: { "Content-Security-Policy": STRICT } })
  );
  await tab.goto(`${env.host.url}examples/inline.html`);
  await tab.waitForFunction(() => window.ConsentPrompt?.handle);
  assert.equal(await tab.locator("#injected").count(), 0);
  await tab.locator("#consent #cp-q0-no").check();
  await tab.locator("#consent #cp-q1-no").check();
  await tab.evaluate(() => window.ConsentPrompt.handle.commit());
  const records = await waitFor(() => {
    const r = recordsFor(env.host.db, customer);
    return r.length === 2 && r;
  });
  assert.deepEqual(records.map((r) => [r.state, r.collection.embed]), [["refused", "script"], ["refused", "script"]]);
  assert.deepEqual(requests.filter((p) => p.endsWith(".json")), [], "no config request");
  assert.deepEqual(await violations(tab), []);

  body = page("{ not json");
  await tab.goto(`${env.host.url}examples/inline.html?broken`);
  await waitFor(() => errors.some((e) => e.includes("could not mount")));
  assert.ok(errors.some((e) => e.includes("#consent-config is not JSON")), errors.join("\n"));
  await context.close();
});
