// The prompt studio (/studio/): the real prompt in every state, a pale
// colour flagged with its pair named and its export refused, a compliant
// theme exported as CSS that keeps the demo checkout free of axe
// violations in light and dark, driven by keyboard alone, and no axe
// violation on the studio itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import AxeBuilder from "@axe-core/playwright";
import { hostAndBrowser, openDemo, newCustomer, setControl, waitFor, recordsFor } from "./harness.mjs";

const env = hostAndBrowser();

const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];
async function violations(page) {
  const result = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  return result.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`);
}

/** Opens the studio and waits until every preview has mounted (or said why not). */
async function openStudio(page) {
  await page.goto(new URL("/studio/", env.host.url).href);
  await page.locator("#workspace").waitFor();
  await previewsReady(page);
}

async function previewsReady(page, after = 0) {
  await waitFor(() =>
    page.evaluate((after) => {
      const box = document.getElementById("previews");
      return Number(box.dataset.ready || 0) > after && [...box.querySelectorAll("figure")].every((f) => f.dataset.mounted);
    }, after)
  );
  return page.evaluate(() => Number(document.getElementById("previews").dataset.ready));
}

/** What each preview's prompt shows: its root's classes and lang, and which parts are on screen. */
function previews(page) {
  return page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll("#previews figure")].map((f) => {
        const root = f.querySelector(".prompt-host")?.shadowRoot?.querySelector("[part=root]");
        return [
          f.dataset.state,
          {
            mounted: f.dataset.mounted,
            classes: root ? [...root.classList] : [],
            lang: root?.getAttribute("lang") || root?.closest("[lang]")?.getAttribute("lang") || null,
            questions: root ? root.querySelectorAll("fieldset.q").length : 0,
            summary: !!root?.querySelector("[part=error-summary]"),
            status: root?.querySelector(".status")?.textContent?.trim() || "",
            text: root?.textContent || "",
          },
        ];
      })
    )
  );
}

test("the studio shows the real prompt in every state, language and scheme", async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await openStudio(page);
  const shown = await previews(page);
  assert.deepEqual(Object.keys(shown), ["questions", "errors", "saving", "saved", "saved-none", "box-office", "account", "general"]);
  for (const [state, p] of Object.entries(shown)) assert.equal(p.mounted, "true", `${state}: ${JSON.stringify(p)}`);
  assert.ok(shown.questions.questions >= 2, JSON.stringify(shown.questions));
  assert.equal(shown.errors.summary, true, "the errors state shows the error summary once it counts as mounted");
  assert.match(shown.saving.status, /saving/i, "so does the saving state its status");
  await waitFor(async () => (await previews(page)).saved.status.length > 0);
  const after = await previews(page);
  assert.match(after.saved.status, /saved/i);
  assert.match(after.saving.status, /saving/i);
  assert.equal(after.general.questions, 1, "one general statement");
  assert.match(after["box-office"].text, /customer/i, "the box office's script speaks of the customer");
  assert.ok(after.account.classes.length > 0);

  // Welsh, dark, 1280 px: every preview follows.
  let ready = await page.evaluate(() => Number(document.getElementById("previews").dataset.ready));
  await page.selectOption("#language", "cy");
  ready = await previewsReady(page, ready);
  await page.locator("label[for=scheme-dark]").click();
  ready = await previewsReady(page, ready);
  await page.locator("label[for=width-1280]").click();
  await previewsReady(page, ready);
  const welsh = await previews(page);
  for (const [state, p] of Object.entries(welsh)) {
    assert.ok(p.classes.includes("dark"), `${state} is dark: ${p.classes}`);
  }
  assert.match(welsh.questions.text, /Dewis|dewis|cwmni|Cadw/, "the questions are in Welsh");
  const width = await page.locator("#previews figure .frame").first().evaluate((el) => el.getBoundingClientRect().width);
  assert.equal(Math.round(width), 1280);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a pale colour is flagged with the failing pair named, and its export refused", async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await openStudio(page);
  await page.locator("#contrast-summary.good").waitFor();
  await page.fill("#tok-light-muted", "#aaaaaa");
  await page.locator("#tok-light-muted").press("Tab");
  await page.locator("#contrast-summary.bad").waitFor();
  const summary = await page.locator("#contrast-summary").textContent();
  assert.match(summary, /muted on background \(light\)/);
  assert.match(summary, /muted on surface \(light\)/);
  const problem = await page.locator("#tok-light-muted-problem").textContent();
  assert.match(problem, /secondary text on the background \(light scheme\): muted on background is 2\.32:1; WCAG 2\.2 AA asks for 4\.5:1/);
  assert.equal(await page.locator("#tok-light-muted").getAttribute("aria-invalid"), "true");
  const failingRows = await page.locator("#contrast-rows tr.fail th").allTextContents();
  assert.ok(failingRows.some((r) => r.startsWith("secondary text on the background")), JSON.stringify(failingRows));

  await page.locator("#export-css").click();
  const refused = page.locator("#export-refused");
  await refused.waitFor();
  assert.match(await refused.textContent(), /Not exported: 2 pairs of colours fail/);
  assert.equal(await page.locator("#export-out").isVisible(), false);
  await context.close();
});

/** The exported CSS served as a file of the host's origin (the demo's CSP allows no inline style). */
async function withTheme(page, css) {
  await page.route("**/studio-theme.css", (route) => route.fulfill({ status: 200, contentType: "text/css", body: css }));
  await page.evaluate(() => {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = "/studio-theme.css";
    document.head.append(link);
    return new Promise((done) => { link.onload = done; link.onerror = done; });
  });
}

test("a compliant theme, set by keyboard alone, exports CSS that keeps the demo checkout free of axe violations, light and dark", async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await openStudio(page);
  await page.locator("#contrast-summary.good").waitFor();

  // Keyboard only: Tab to the accent's text field, type, Tab on.
  async function tabTo(id, { back = false, limit = 200 } = {}) {
    for (let i = 0; i < limit; i++) {
      if ((await page.evaluate(() => document.activeElement?.id)) === id) return;
      await page.keyboard.press(back ? "Shift+Tab" : "Tab");
    }
    assert.fail(`${back ? "Shift+" : ""}Tab never reached #${id}`);
  }
  await page.locator("body").focus();
  await tabTo("tok-light-accent");
  await page.keyboard.type("#7a1f5c");
  await page.keyboard.press("Tab");
  await waitFor(() => page.evaluate(() => document.querySelector("#config-text").value.includes("#7a1f5c")));
  // The dark scheme's editor: the segmented control takes arrow keys.
  await tabTo("edit-light", { back: true });
  await page.keyboard.press("ArrowRight");
  await waitFor(() => page.evaluate(() => !!document.getElementById("tok-dark-accent")));
  await tabTo("tok-dark-accent");
  await page.keyboard.type("#f0a6d3");
  await page.keyboard.press("Tab");
  await waitFor(() => page.evaluate(() => document.querySelector("#config-text").value.includes("#f0a6d3")));
  await page.locator("#contrast-summary.good").waitFor();
  await tabTo("export-css");
  await page.keyboard.press("Enter");
  await page.locator("#export-out").waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), "export-text");
  const css = await page.locator("#export-text").inputValue();
  assert.match(css, /--cp-accent: #7a1f5c;/);
  assert.match(css, /--cp-dark-accent: #f0a6d3;/);

  const demo = await context.newPage();
  await openDemo(demo, env.host.url, newCustomer());
  await withTheme(demo, css);
  for (const theme of ["light", "dark"]) {
    await setControl(demo, "theme", theme);
    const accent = await demo.locator("#consent [part=submit]").evaluate((b) => getComputedStyle(b).backgroundColor);
    assert.equal(accent, theme === "light" ? "rgb(122, 31, 92)" : "rgb(240, 166, 211)", `${theme}: the exported accent is drawn`);
    assert.deepEqual(await violations(demo), [], theme);
  }
  await context.close();
});

for (const scheme of ["light", "dark"]) {
  test(`the studio itself has no axe violation (${scheme})`, async () => {
    const context = await env.browser.newContext({ colorScheme: scheme });
    const page = await context.newPage();
    await openStudio(page);
    await page.locator("#contrast-summary.good").waitFor();
    assert.deepEqual(await violations(page), []);
    await context.close();
  });
}

test("a wording change shows how many stored answers it asks again, and a text changed without a new version is flagged", async () => {
  const context = await env.browser.newContext();
  // Two patrons answer Northern Lights (yes, then no) at the checkout.
  for (const answer of ["yes", "no"]) {
    const customer = newCustomer();
    const page = await context.newPage();
    await openDemo(page, env.host.url, customer);
    await page.locator(`#consent #cp-q0-${answer}`).check();
    if (answer === "yes") await page.locator("#consent #cp-q0-email").check();
    await page.locator("#consent #cp-q1-no").check();
    await page.locator("#consent #cp-q2-no").check();
    await page.locator("#consent [part=submit]").click();
    await waitFor(() => recordsFor(env.host.db, customer).length === 3);
    await page.close();
  }
  const page = await context.newPage();
  await openStudio(page);
  const row = page.locator('#wording li[data-partner="northern-lights"]');
  await row.waitFor();
  const before = await row.textContent();
  const answered = Number((await row.locator(".as-configured").textContent()).match(/^(\d+) patrons? ha(?:s|ve) answered/)[1]);
  assert.ok(answered >= 2, before);
  assert.match(before, new RegExp(`As configured: 0 asked again for the wording`));
  assert.match(before, new RegExp(`Changing the wording means version 3: ${answered} answers asked again`));
  assert.equal(await row.locator(".changed-text").count(), 0);

  // The English text edited in place, its version left at 2.
  await page.evaluate(() => {
    const text = document.getElementById("config-text");
    const config = JSON.parse(text.value);
    config.partners[0].notice.text["en-GB"] += " Now by text message too.";
    text.value = JSON.stringify(config, null, 2);
    text.dispatchEvent(new Event("input"));
  });
  await row.locator(".changed-text").waitFor();
  assert.match(await row.locator(".changed-text").textContent(), /The en-GB text differs from what patrons saw as version 2: give the notice version 3/);

  // Bumped to version 3: the answers given to version 2 are asked again.
  await page.evaluate(() => {
    const text = document.getElementById("config-text");
    const config = JSON.parse(text.value);
    config.partners[0].notice.version = 3;
    text.value = JSON.stringify(config, null, 2);
    text.dispatchEvent(new Event("input"));
  });
  await page.locator('#wording li[data-partner="northern-lights"] code', { hasText: "v3" }).waitFor();
  const after = await page.locator('#wording li[data-partner="northern-lights"]').textContent();
  assert.match(after, new RegExp(`As configured: ${answered} asked again for the wording`));
  assert.equal(await page.locator('#wording li[data-partner="northern-lights"] .changed-text').count(), 0);
  await context.close();
});
