// Accessibility: axe-core finds no WCAG 2.2 A/AA violation on the demo
// checkout, in each mode and preset, and with the error summary showing.
import { test } from "node:test";
import assert from "node:assert/strict";
import AxeBuilder from "@axe-core/playwright";
import { hostAndBrowser, openDemo, newCustomer, setControl } from "./harness.mjs";

const env = hostAndBrowser();

async function violations(page) {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]).analyze();
  return result.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`);
}

for (const mode of ["individual", "general"]) {
  for (const theme of ["light", "dark"]) {
    test(`no violations: ${mode} mode, ${theme} preset`, async () => {
      const context = await env.browser.newContext();
      const page = await context.newPage();
      await openDemo(page, env.host.url, newCustomer());
      await setControl(page, "mode", mode);
      await setControl(page, "theme", theme);
      assert.equal(await page.locator(`#consent [part=root].${theme}`).count(), 1);
      if (mode === "general") assert.equal(await page.locator("#consent fieldset.q").count(), 1);
      // With the channel choice revealed too.
      await page.locator("#consent #cp-q0-yes").check();
      assert.deepEqual(await violations(page), []);
      await context.close();
    });
  }
}

test("no violations with the error summary showing", async () => {
  const context = await env.browser.newContext();
      const page = await context.newPage();
  await openDemo(page, env.host.url, newCustomer());
  await setControl(page, "require", "yes");
  await page.locator("#consent [part=submit]").click();
  await page.locator("#consent [part=error-summary]").waitFor();
  assert.equal(await page.locator("#consent [part=error-summary] li").count(), 3);
  assert.deepEqual(await violations(page), []);
  await context.close();
});

test("axe looks inside the prompt's shadow root (so the checks above mean something)", async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await openDemo(page, env.host.url, newCustomer());
  await page.evaluate(() => {
    const input = document.createElement("input");
    input.type = "text";
    document.getElementById("consent").shadowRoot.querySelector("form").append(input);
  });
  const found = await violations(page);
  assert.ok(found.some((v) => v.startsWith("label:")), `expected a label violation, got ${JSON.stringify(found)}`);
  await context.close();
});

for (const [name, control, value] of [
  ["the preference centre", "mode", "account"],
  ["box-office mode", "channel", "box-office"],
]) {
  test(`no violations in ${name}`, async () => {
    const context = await env.browser.newContext();
    const page = await context.newPage();
    await openDemo(page, env.host.url, newCustomer());
    // Confirmed before axe runs: the remounted prompt in that mode (the
    // preference centre's current answers, the operator's keys).
    await setControl(page, control, value);
    await page.locator("#consent fieldset.q").first().waitFor();
    assert.deepEqual(await violations(page), []);
    await context.close();
  });
}
