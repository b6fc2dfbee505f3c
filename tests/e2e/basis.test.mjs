// The rules venues live by, in the browser: the venue's own soft opt-in
// question (the opt-out taken, and not taken) and ACE's mixed mode (one
// general statement, National Portfolio Organisation partners asked on
// their own). Mounted with the ES module under the strict CSP; axe-clean.
import { test } from "node:test";
import assert from "node:assert/strict";
import AxeBuilder from "@axe-core/playwright";
import { hostAndBrowser, recordsFor, newCustomer, waitFor, mintToken, STRICT_CSP } from "./harness.mjs";

const env = hostAndBrowser();
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

async function baseConfig(customer) {
  const config = await (await fetch(new URL("examples/consent-config.json", env.host.url))).json();
  const { token } = await mintToken(env.host.url, { customerId: customer });
  return { ...config, customerId: customer, token, submitButton: true };
}

const OWN = {
  privacyUrl: "https://riverside.example/privacy",
  notice: {
    id: "riverside-news",
    version: 1,
    basis: "legitimate-interests",
    text: { "en-GB": "We would like to send you news about similar events at the Riverside Playhouse." },
    channels: ["email", "post"],
  },
};

/** A page on the host's origin, under the strict CSP, with the config mounted by the ES module. */
async function mounted(config) {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const csp = [];
  await page.exposeFunction("cspViolation", (v) => csp.push(v));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => window.cspViolation(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const url = `${env.host.url}examples/basis-${Math.random().toString(36).slice(2)}.html`;
  await context.route(url, (route) =>
    route.fulfill({
      status: 200,
      headers: { "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": STRICT_CSP },
      body: `<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>Checkout</title></head><body><main><h1>Checkout</h1><div id="consent"></div></main></body></html>`,
    })
  );
  await page.goto(url);
  await page.evaluate(async (config) => {
    const { mount } = await import("/consent-prompt/consent-prompt.js");
    window.handle = await mount("#consent", config);
  }, config);
  await page.locator("#consent [part=root]").waitFor();
  return { context, page, csp };
}

async function axeClean(page, when) {
  const axe = await new AxeBuilder({ page }).withTags(AXE_TAGS).analyze();
  assert.deepEqual(axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(" ")}`), [], when);
}

async function save(page) {
  await page.locator("#consent [part=submit]").click();
  await page.locator("#consent [part=status]", { hasText: "saved" }).waitFor();
}

test("the venue's own soft opt-in: asked first as one unticked opt-out; left alone it is recorded as no objection with its basis and words", async () => {
  const customer = newCustomer();
  const { context, page, csp } = await mounted({ ...(await baseConfig(customer)), ownMarketing: OWN, requireAnswer: true });
  const legends = await page.locator("#consent fieldset.q > legend").allTextContents();
  assert.equal(legends[0], "Riverside Playhouse", "the venue's own question comes first");
  const box = page.locator("#consent [part=opt-out]");
  assert.equal(await box.getAttribute("type"), "checkbox");
  assert.equal(await box.isChecked(), false, "never pre-ticked");
  assert.match(await page.locator("#consent label[for=cp-q0-opt-out]").textContent(), /^No thanks, do not send me news about Riverside Playhouse$/);
  assert.match(await page.locator("#consent #cp-q0 [part=soft-opt-in]").textContent(), /Unless you tick the box/);
  assert.equal(await page.locator("#consent #cp-q0-yes").count(), 0, "no yes/no for the soft opt-in");
  await axeClean(page, "the soft opt-in question");

  // The partners still need an answer (requireAnswer); the opt-out never does.
  await page.locator("#consent #cp-q1-no").check();
  await page.locator("#consent #cp-q2-yes").check();
  await save(page);
  const records = await waitFor(() => {
    const r = recordsFor(env.host.db, customer);
    return r.length === 3 && r;
  });
  const own = records.find((r) => r.partner.id === "riverside");
  assert.equal(own.basis, "legitimate-interests");
  assert.equal(own.state, "given");
  assert.equal(own.action, "not-opted-out");
  assert.equal(own.presentation.control, "opt-out");
  assert.deepEqual(own.channels, ["email", "post"]);
  assert.equal(own.notice.text, OWN.notice.text["en-GB"]);
  for (const r of records.filter((r) => r.partner.id !== "riverside")) {
    assert.equal(r.basis, undefined, "partners' records rely on consent (the default, left out)");
  }
  assert.deepEqual(csp, []);
  await context.close();
});

test("the venue's own soft opt-in, taken: ticking the box records an opt-out, and it is not asked again", async () => {
  const customer = newCustomer();
  const { context, page } = await mounted({ ...(await baseConfig(customer)), ownMarketing: OWN });
  await page.keyboard.press("Tab"); // into the prompt, keyboard only
  const box = page.locator("#consent [part=opt-out]");
  await box.focus();
  await page.keyboard.press("Space");
  assert.equal(await box.isChecked(), true);
  await page.locator("#consent #cp-q1-no").check();
  await page.locator("#consent #cp-q2-no").check();
  await save(page);
  const own = await waitFor(() => recordsFor(env.host.db, customer).find((r) => r.partner.id === "riverside"));
  assert.equal(own.state, "refused");
  assert.equal(own.action, "opted-out");
  assert.equal(own.dpvState, "ConsentRefused");
  await context.close();

  // The next checkout, with the host's preferences: nothing more to ask of the venue.
  const { token } = await mintToken(env.host.url, { customerId: customer });
  const prefs = await (await fetch(`${env.host.url}api/v1/customers/${customer}/preferences`, { headers: { Authorization: `Bearer ${token}` } })).json();
  const again = await mounted({ ...(await baseConfig(customer)), ownMarketing: OWN, preferences: prefs.preferences });
  assert.equal(await again.page.locator("#consent [part=opt-out]").count(), 0);
  await again.context.close();
});

test("ACE's mixed mode: one statement names the partners, the one marked askIndividually gets its own question; records say how each was asked", async () => {
  const customer = newCustomer();
  const base = await baseConfig(customer);
  const partners = base.partners.map((p) => (p.id === "paper-lantern" ? { ...p, askIndividually: true } : p));
  const config = {
    ...base,
    partners,
    mode: "general",
    generalNotice: {
      id: "riverside-partners",
      version: 1,
      text: { "en-GB": "We would like to pass your details to {partners} so they can tell you about their shows." },
      channels: ["email"],
    },
  };
  const { context, page, csp } = await mounted(config);
  const legends = await page.locator("#consent fieldset.q > legend").allTextContents();
  assert.deepEqual(legends, ["Northern Lights Theatre Company", "Paper Lantern Productions"]);
  const statement = await page.locator("#consent #cp-q0 [part=notice]").textContent();
  assert.match(statement, /Northern Lights Theatre Company/);
  assert.doesNotMatch(statement, /Paper Lantern/, "the individually asked partner is not in the statement");
  assert.equal(
    await page.locator("#consent #cp-q1 [part=notice]").textContent(),
    partners.find((p) => p.id === "paper-lantern").notice.text["en-GB"]
  );
  const state = await page.evaluate(() => window.handle.state());
  assert.deepEqual(
    state.questions.map((q) => [q.key, q.partnerIds]),
    [
      ["general", ["northern-lights"]],
      ["paper-lantern", ["paper-lantern"]],
    ]
  );
  await axeClean(page, "mixed mode");
  await page.locator("#consent #cp-q0-yes").check();
  await page.locator("#consent #cp-q1-no").check();
  await save(page);
  const records = await waitFor(() => {
    const r = recordsFor(env.host.db, customer);
    return r.length === 2 && r;
  });
  const byPartner = Object.fromEntries(records.map((r) => [r.partner.id, r]));
  assert.equal(byPartner["northern-lights"].presentation.mode, "general");
  assert.equal(byPartner["northern-lights"].notice.id, "riverside-partners");
  assert.equal(byPartner["paper-lantern"].presentation.mode, "individual");
  assert.equal(byPartner["paper-lantern"].state, "refused");
  assert.deepEqual(csp, []);
  await context.close();
});
