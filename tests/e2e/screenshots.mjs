// Regenerates the README's screenshots from the demo checkout:
//   node tests/e2e/screenshots.mjs   (after a release build; starts its own host)
import path from "node:path";
import { startHost, launch, openDemo, newCustomer, ROOT } from "./harness.mjs";

const out = (name) => path.join(ROOT, "docs/screenshots", name);
const host = await startHost();
const browser = await launch();
try {
  for (const [name, controls, width] of [
    ["preset-light.png", { theme: "light" }, 720],
    ["preset-dark.png", { theme: "dark" }, 720],
    ["preset-auto-dark.png", { theme: "auto", scheme: "dark" }, 720],
    ["mode-general.png", { theme: "light", mode: "general" }, 720],
    ["error-summary.png", { theme: "light", require: true }, 720],
    ["phone-320.png", { theme: "light" }, 320],
    ["mode-account.png", { theme: "light", mode: "account", open: true }, 720],
    ["mode-box-office.png", { theme: "light", channel: "box-office" }, 720],
  ]) {
    const context = await browser.newContext({ viewport: { width, height: 900 }, colorScheme: controls.scheme ?? "light" });
    const page = await context.newPage();
    await openDemo(page, host.url, newCustomer());
    if (controls.mode) await page.locator(`#controls input[name=mode][value=${controls.mode}]`).check();
    await page.locator(`#controls input[name=theme][value=${controls.theme}]`).check();
    if (controls.require) await page.locator("#controls input[name=require]").check();
    if (controls.channel) await page.locator(`#controls input[name=channel][value=${controls.channel}]`).check();
    await page.waitForTimeout(400);
    if (controls.mode !== "account") await page.locator("#consent #cp-q0-yes").check();
    if (controls.open) await page.locator("#consent #cp-q2 [part=agreed] summary").click();
    if (controls.require) await page.locator("#consent [part=submit]").click();
    await page.waitForTimeout(200);
    await page.locator("#consent").screenshot({ path: out(name) });
    await context.close();
    console.log("wrote", out(name));
  }
} finally {
  await browser.close();
  await host.stop();
}
