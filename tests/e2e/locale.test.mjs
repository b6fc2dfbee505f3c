// The prompt in French and German end to end, and the `auto` theme
// following the system's colour scheme, on the demo checkout against the
// real host.
//
// Languages: the built-in strings are read from
// crates/consent-core/src/i18n.rs itself, so the check follows the source:
// wherever fr (or de) has its own translation, no part of the English text
// may be left on screen, in every state the demo can show (questions, the
// error summary, the preference centre, box-office mode). Venue content
// (partner names, event titles, notices, the venue's name) is taken out
// first: a notice with no translation falls back to English by design.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { hostAndBrowser, openDemo, newCustomer, setControl, ROOT } from "./harness.mjs";

const env = hostAndBrowser();

/** The string table `const NAME: &[&str] = &[ ... ];` of i18n.rs. */
function table(source, name) {
  const start = source.indexOf(`const ${name}: &[&str] = &[`);
  assert.ok(start >= 0, `${name} in i18n.rs`);
  const body = source.slice(start, source.indexOf("];", start));
  return [...body.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`));
}

const I18N = readFileSync(path.join(ROOT, "crates/consent-core/src/i18n.rs"), "utf8");
const EN = table(I18N, "EN");
const TRANSLATED = { fr: table(I18N, "FR"), de: table(I18N, "DE") };
for (const [locale, strings] of Object.entries(TRANSLATED)) {
  assert.equal(strings.length, EN.length, `${locale} has every key`);
}

/**
 * The English words that must not be left in `locale`: each English
 * string that locale translates differently, cut at its placeholders
 * (`{partner}`), as fragments of at least two words or six letters (so
 * "and" or "No" alone does not match a partner's name).
 */
function englishFragments(locale) {
  const out = new Set();
  EN.forEach((en, i) => {
    if (TRANSLATED[locale][i] === en) return; // the same word in both
    for (const part of en.split(/\{[a-z]+\}/)) {
      const f = part.trim().replace(/^[,.:]\s*|[,.:]$/g, "").trim();
      if (f.includes(" ") || f.length >= 6) out.add(f);
    }
  });
  return [...out];
}

/** The prompt's text (and labels) with the venue's own content removed. */
async function promptText(page) {
  return page.evaluate(() => {
    const root = document.getElementById("consent").shadowRoot.querySelector("[part=root]");
    const c = window.consentConfig;
    const venue = [
      c.venue?.name,
      ...c.partners.flatMap((p) => [p.name, ...Object.values(p.notice?.text ?? {}), ...Object.values(p.notice?.whatChanged ?? {})]),
      ...Object.values(c.generalNotice?.text ?? {}),
      ...(c.basket?.lines ?? []).map((l) => l.title),
    ].filter(Boolean);
    const attrs = [...root.querySelectorAll("[aria-label],[title],[placeholder]")].flatMap((e) => [e.getAttribute("aria-label"), e.getAttribute("title"), e.getAttribute("placeholder")]);
    let text = [root.textContent, ...attrs].filter(Boolean).join("\n");
    for (const v of venue.sort((a, b) => b.length - a.length)) text = text.split(v).join("\n");
    return { text, lang: root.lang };
  });
}

function assertNoEnglish(locale, state, { text, lang }, expected) {
  assert.equal(lang, locale, `${state}: the prompt's lang`);
  assert.ok(text.includes(expected), `${state}: ${JSON.stringify(expected)} on screen in ${locale}; got ${text}`);
  const left = englishFragments(locale).filter((f) => new RegExp(`(?<![\\p{L}])${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\p{L}])`, "u").test(text));
  assert.deepEqual(left, [], `${state} in ${locale}: English left on screen`);
}

const key = (name) => {
  // The index of a key in KEYS, which lists them in the tables' order.
  const keys = [...I18N.slice(I18N.indexOf("pub const KEYS"), I18N.indexOf("];", I18N.indexOf("pub const KEYS"))).matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
  const i = keys.indexOf(name);
  assert.ok(i >= 0, name);
  return i;
};

for (const locale of ["fr", "de"]) {
  test(`the prompt in ${locale}: every state the demo shows, no English left where ${locale} has a translation`, async () => {
    const t = TRANSLATED[locale];
    const context = await env.browser.newContext();
    const page = await context.newPage();
    await openDemo(page, env.host.url, newCustomer());
    await setControl(page, "locale", locale);
    assertNoEnglish(locale, "questions", await promptText(page), t[key("title")]);

    // The error summary: an answer required, none given.
    await setControl(page, "require", "yes");
    await page.locator("#consent [part=submit]").click();
    await page.locator("#consent [part=error-summary]").waitFor();
    assertNoEnglish(locale, "error summary", await promptText(page), t[key("error_title")]);

    // A yes reveals the channel choice.
    await setControl(page, "require", "no");
    await page.locator("#consent #cp-q0-yes").check();
    await page.locator("#consent #cp-q0-email").waitFor();
    assertNoEnglish(locale, "channel choice", await promptText(page), t[key("email")]);

    await setControl(page, "mode", "account");
    assertNoEnglish(locale, "preference centre", await promptText(page), t[key("account_title")]);

    await setControl(page, "mode", "individual");
    await setControl(page, "channel", "box-office");
    assertNoEnglish(locale, "box office", await promptText(page), t[key("operator_keys")]);
    await context.close();
  });
}

/** Waits until the prompt root's computed background is `want`. */
async function expectBackground(page, want, why) {
  const read = () => getComputedStyle(document.getElementById("consent").shadowRoot.querySelector("[part=root]")).backgroundColor;
  try {
    await page.waitForFunction((want) => getComputedStyle(document.getElementById("consent").shadowRoot.querySelector("[part=root]")).backgroundColor === want, want, { polling: 50, timeout: 5000 });
  } catch {
    assert.equal(await page.evaluate(read), want, why);
  }
}
const LIGHT = "rgb(255, 255, 255)";
const DARK = "rgb(18, 18, 18)";

test("the auto theme follows the system colour scheme, and changes with it; the presets do not", async () => {
  const context = await env.browser.newContext({ colorScheme: "dark" });
  const page = await context.newPage();
  await openDemo(page, env.host.url, newCustomer());
  await expectBackground(page, LIGHT, "the light preset ignores a dark system");
  await setControl(page, "theme", "auto");
  await expectBackground(page, DARK, "auto on a dark system");
  await page.emulateMedia({ colorScheme: "light" });
  await expectBackground(page, LIGHT, "auto after the system turned light");
  await page.emulateMedia({ colorScheme: "dark" });
  await expectBackground(page, DARK, "auto after the system turned dark again");
  await page.emulateMedia({ colorScheme: "light" });
  await setControl(page, "theme", "dark");
  await expectBackground(page, DARK, "the dark preset ignores a light system");
  await context.close();
});
