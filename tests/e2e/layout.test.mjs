// The prompt on a 360 px phone, in every mode and with the error summary
// showing, light and dark: the page never scrolls sideways, no text runs
// outside the prompt, and a question's name (its legend, however many
// lines it wraps to) sits inside the question's border, never across it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { hostAndBrowser, openDemo, newCustomer, setControl } from "./harness.mjs";

const env = hostAndBrowser();

/** What breaks the layout, measured in the page: a list of sentences (empty when none). */
function problems(page) {
  return page.evaluate(() => {
    const found = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth) found.push(`the page scrolls sideways: ${doc.scrollWidth} > ${doc.clientWidth}`);
    const root = document.getElementById("consent").shadowRoot.querySelector("[part=root]");
    const box = root.getBoundingClientRect();
    for (const el of root.querySelectorAll("p, label, legend, li, a, h1, h2, h3, h4, h5, h6, button, blockquote")) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5) {
        found.push(`${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 40)}" runs outside the prompt (${Math.round(r.left)}–${Math.round(r.right)} of ${Math.round(box.left)}–${Math.round(box.right)})`);
      }
    }
    for (const fieldset of root.querySelectorAll("fieldset.q")) {
      const legend = fieldset.querySelector(":scope > legend");
      if (!legend) continue;
      const f = fieldset.getBoundingClientRect();
      const border = parseFloat(getComputedStyle(fieldset).borderTopWidth);
      const l = legend.getBoundingClientRect();
      if (l.top < f.top + border - 0.5) {
        found.push(`the legend "${legend.textContent.trim().slice(0, 40)}" crosses its question's border (${Math.round(l.top)} < ${Math.round(f.top + border)})`);
      }
      if (l.left < f.left || l.right > f.right) found.push(`the legend "${legend.textContent.trim().slice(0, 40)}" runs outside its question`);
    }
    return found;
  });
}

const CASES = [
  ["one question per partner", {}],
  ["one general statement", { mode: "general" }],
  ["the preference centre", { mode: "account" }],
  ["the box office", { channel: "box-office" }],
  ["the error summary", { require: "yes", submit: true }],
];

for (const scheme of ["light", "dark"]) {
  for (const [name, set] of CASES) {
    test(`360 px, ${scheme}: ${name}: no sideways scroll, no text across a border`, async () => {
      const context = await env.browser.newContext({ viewport: { width: 360, height: 780 }, colorScheme: scheme });
      const page = await context.newPage();
      await openDemo(page, env.host.url, newCustomer());
      await setControl(page, "theme", scheme);
      if (set.mode) await setControl(page, "mode", set.mode);
      if (set.channel) await setControl(page, "channel", set.channel);
      if (set.require) await setControl(page, "require", set.require);
      if (set.submit) {
        await page.locator("#consent [part=submit]").click();
        await page.locator("#consent [part=error-summary]").waitFor();
      }
      // A wrapped legend is what this is about: the demo's partner names wrap at 360 px.
      const wrapped = await page.evaluate(() =>
        [...document.getElementById("consent").shadowRoot.querySelectorAll("fieldset.q > legend")].some(
          (l) => l.getBoundingClientRect().height > parseFloat(getComputedStyle(l).lineHeight) * 1.5
        )
      );
      if (!set.mode) assert.ok(wrapped, "some legend wraps to two lines at 360 px");
      assert.deepEqual(await problems(page), []);
      await context.close();
    });
  }
}
