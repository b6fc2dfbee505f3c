// The npm package as an adopter meets it: scripts/package.mjs builds it from
// the release build, `npm pack` makes the tarball, an empty project installs
// it, esbuild bundles a page importing it, and the real host serves that page
// with the package's wasm beside the bundle. The prompt asks its first
// question and a committed record is stored.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, copyFileSync, existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT, startHost, launch, sql, waitFor } from "./harness.mjs";

const { build } = createRequire(path.join(ROOT, "tools/build/package.json"))("esbuild");

test("the packed npm package installs into an empty project, bundles with esbuild and stores a record", async () => {
  const work = mkdtempSync(path.join(tmpdir(), "consent-package-"));

  // 1. Build and pack.
  const tarball = execFileSync("node", [path.join(ROOT, "scripts/package.mjs"), "--pack", path.join(work, "pack")], {
    encoding: "utf8",
  }).trim();
  assert.match(path.basename(tarball), /^consent-prompt-widget-\d+\.\d+\.\d+.*\.tgz$/);
  const listing = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n").filter(Boolean);
  for (const file of ["package.json", "LICENSE", "README.md", "CHANGELOG.md", "dist/consent-prompt.js", "dist/consent-prompt.d.ts", "dist/element.js", "dist/element.d.ts", "dist/embed.js", "dist/consent_prompt_bg.wasm", "dist/frame.html", "dist/host.js"]) {
    assert.ok(listing.includes(`package/${file}`), `the tarball holds ${file}`);
  }
  assert.deepEqual(listing.filter((f) => /\.(br|gz)$|demo|index\.html/.test(f)), [], "no compressed copies and nothing of the demo");

  // 2. An empty project installs the tarball.
  const shop = path.join(work, "shop");
  mkdirSync(shop);
  writeFileSync(path.join(shop, "package.json"), JSON.stringify({ name: "shop", private: true, type: "module" }, null, 2));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", tarball], { cwd: shop, stdio: "pipe" });
  const installed = path.join(shop, "node_modules/@consent-prompt/widget");
  const pkg = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8"));
  const cargoVersion = readFileSync(path.join(ROOT, "Cargo.toml"), "utf8").match(/^\[package\][^[]*?^version\s*=\s*"([^"]+)"/ms)[1];
  assert.equal(pkg.version, cargoVersion, "the package version is the crate's");
  assert.equal(pkg.type, "module");
  assert.equal(pkg.license, "MIT OR Apache-2.0");

  // The package's declarations resolve through its exports, for the module
  // and the element entry alike.
  mkdirSync(path.join(shop, "types"));
  writeFileSync(
    path.join(shop, "types/check.ts"),
    `import { mount, version, type CommitSummary, type ConsentConfig, type ConsentPromptElement } from "@consent-prompt/widget";
import { ConsentPromptElement as Registered } from "@consent-prompt/widget/element";
export async function checkout(config: ConsentConfig): Promise<string[]> {
  const handle = await mount("#consent", config);
  const element: ConsentPromptElement | null = document.querySelector("consent-prompt");
  const same: typeof Registered.prototype | null = element;
  element?.addEventListener("consent:change", (event) => void event.detail.complete);
  const summary: CommitSummary = await (same ?? handle).commit();
  return [version, ...summary.records.map((r) => r.recordId)];
}
`
  );
  writeFileSync(
    path.join(shop, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { target: "ES2022", module: "ESNext", moduleResolution: "Bundler", lib: ["ES2022", "DOM"], strict: true, noEmit: true }, files: ["types/check.ts"] })
  );
  try {
    execFileSync(path.join(ROOT, "tests/e2e/node_modules/.bin/tsc"), ["-p", shop], { encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    assert.fail(`the package's types do not resolve for an adopter:\n${e.stdout}${e.stderr}`);
  }

  // 3. A page importing the package, bundled with esbuild.
  mkdirSync(path.join(shop, "src"));
  writeFileSync(
    path.join(shop, "src/app.js"),
    `import { mount, version } from "@consent-prompt/widget";
import "@consent-prompt/widget/element";
const config = await (await fetch("consent-config.json")).json();
config.customerId = new URLSearchParams(location.search).get("customer");
const response = await fetch("/demo/token", {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ venueId: config.venue.id, customerId: config.customerId }),
});
config.token = (await response.json()).token;
window.shop = { version, element: customElements.get("consent-prompt") !== undefined, handle: await mount("#consent", config) };
`
  );
  const site = path.join(work, "site");
  mkdirSync(site);
  await build({ entryPoints: [path.join(shop, "src/app.js")], outfile: path.join(site, "app.js"), bundle: true, format: "esm", target: "es2022", minify: true, absWorkingDir: shop, logLevel: "warning" });
  copyFileSync(path.join(installed, "dist/consent_prompt_bg.wasm"), path.join(site, "consent_prompt_bg.wasm"));
  copyFileSync(path.join(ROOT, "examples/consent-config.json"), path.join(site, "consent-config.json"));
  writeFileSync(
    path.join(site, "index.html"),
    `<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>Shop</title>
<script type="module" src="app.js"></script></head><body><main><h1>Shop checkout</h1><div id="consent"></div></main></body></html>\n`
  );
  assert.deepEqual(readdirSync(site).sort(), ["app.js", "consent-config.json", "consent_prompt_bg.wasm", "index.html"]);

  // 4. Served by the real host (strict CSP), in headless Chromium.
  const host = await startHost({ examples: site });
  const browser = await launch();
  try {
    const context = await browser.newContext();
    await context.addInitScript(() => {
      window.__csp = [];
      document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const customer = `PKG-${Date.now().toString(36)}`;
    await page.goto(`${host.url}examples/index.html?customer=${customer}`);
    await page.locator("#consent [part=root]").waitFor();
    await assert.doesNotReject(page.locator("#consent #cp-q0-yes").waitFor());
    assert.match(await page.locator("#consent legend").first().innerText(), /Northern Lights/);
    assert.deepEqual(await page.evaluate(() => ({ version: window.shop.version, element: window.shop.element })), { version: cargoVersion, element: true });
    const wasm = await page.evaluate(() => performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname).filter((p) => p.endsWith(".wasm")));
    assert.deepEqual(wasm, ["/examples/consent_prompt_bg.wasm"], "the wasm is loaded from beside the bundle");

    await page.locator("#consent #cp-q0-yes").check();
    await page.locator("#consent #cp-q1-no").check();
    const summary = await page.evaluate(() => window.shop.handle.commit());
    assert.equal(summary.records.length, 2);
    const stored = await waitFor(() => {
      const [[n]] = sql(host.db, "SELECT count(*) FROM customer_records WHERE customer_id = ?", customer);
      return n === 2 ? n : 0;
    });
    assert.equal(stored, 2);
    assert.deepEqual(await page.evaluate(() => window.__csp), []);
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    // The host's process does not hold the event loop open: a timer does
    // while it shuts down.
    const alive = setInterval(() => {}, 1000);
    await browser.close();
    await host.stop();
    clearInterval(alive);
  }
  assert.ok(existsSync(tarball));
});
