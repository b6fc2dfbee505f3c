// Shared helpers for the end-to-end tests: the real reference host on
// 127.0.0.1, the system Chromium, and a look into the SQLite database.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { before, after } from "node:test";
import { chromium } from "playwright-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const HOST_BIN = process.env.CONSENT_HOST_BIN ?? path.join(ROOT, "target/host/consent-host");

export function tempDb() {
  return path.join(mkdtempSync(path.join(tmpdir(), "consent-e2e-")), "consent.db");
}

// Hosts still running when a test file ends (say, after a failed assertion)
// must neither keep the file's process alive nor outlive it.
const running = new Set();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * The host's flags for tests: demo mode (checkout tokens minted at
 * POST /demo/token) and write rates high enough never to throttle a test.
 */
export const TEST_HOST_ARGS = ["--demo", "--write-rate-per-token", "100000", "--write-rate-per-address", "100000"];

/** Starts the reference host; resolves once it prints its URL. */
export function startHost({ port = 0, db = tempDb(), env = {}, examples = path.join(ROOT, "examples"), args = [] } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      HOST_BIN,
      ["--port", String(port), "--db", db, "--dist", path.join(ROOT, "dist"), "--examples", examples, ...TEST_HOST_ARGS, ...args],
      { env: { ...process.env, RUST_LOG: "warn", ...env }, stdio: ["ignore", "pipe", "pipe"] }
    );
    running.add(child);
    child.once("exit", () => running.delete(child));
    child.unref();
    child.stdout.unref?.();
    child.stderr.unref?.();
    let out = "";
    const timer = setTimeout(() => reject(new Error(`host did not start: ${out}`)), 15000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
      if (m) {
        clearTimeout(timer);
        const url = `http://127.0.0.1:${m[1]}/`;
        resolve({
          url,
          port: Number(m[1]),
          db,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done();
              child.once("exit", done);
              child.kill("SIGTERM");
            }),
        });
      }
    });
    child.stderr.on("data", (chunk) => (out += chunk));
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code) reject(new Error(`host exited with ${code}: ${out}`));
    });
  });
}

export async function launch({ args = [] } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", ...args],
  });
}

/**
 * A venue's page on the public web reaching the consent host is what
 * these tests stand for; on one machine both are loopback, and a page the
 * test serves itself has no address, which Chromium's Local Network Access
 * would treat as public reaching loopback. Off for such tests only.
 */
export const PUBLIC_VENUE_ARGS = ["--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessRespectPreflightResults,BlockInsecurePrivateNetworkRequests"];

/** Runs SQL against the host's database with Python's sqlite3 (read-only). */
export function sql(db, query, ...params) {
  const script =
    "import json,sqlite3,sys\n" +
    "c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro',uri=True)\n" +
    "print(json.dumps(c.execute(sys.argv[2],json.loads(sys.argv[3])).fetchall()))";
  return JSON.parse(execFileSync("python3", ["-c", script, db, query, JSON.stringify(params)], { encoding: "utf8" }));
}

export function recordsFor(db, customer) {
  return sql(db, "SELECT body FROM customer_records WHERE customer_id = ? ORDER BY seq", customer).map(([b]) => JSON.parse(b));
}

/** The patron's stored records, once there are `count` of them (waitFor's bound). */
export function storedRecords(db, customer, count) {
  return waitFor(() => {
    const r = recordsFor(db, customer);
    return r.length === count && r;
  });
}

/** A checkout token from the demo host: `{token, expiresAt}`. */
export async function mintToken(url, { venueId = "riverside", customerId, ttlSeconds, scope, operator } = {}) {
  const response = await fetch(new URL("/demo/token", url), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ venueId, customerId, ttlSeconds, scope, operator }),
  });
  if (!response.ok) throw new Error(`POST /demo/token: ${response.status} ${await response.text()}`);
  return response.json();
}

export function newCustomer() {
  return `E2E-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`;
}

/**
 * Opens the demo checkout for a patron and waits for the prompt to be
 * live: its first question arrives in the HTML, and the page's handle
 * exists once the wasm has taken it over.
 */
export async function openDemo(page, url, customer) {
  await page.goto(`${url}?customer=${encodeURIComponent(customer)}`);
  await page.locator("#consent [part=root]").waitFor();
  await page.waitForFunction(() => window.consentPrompt);
  return page;
}

/** The id of the focused element inside the prompt's shadow root, if any. */
export function focusedInPrompt(page) {
  return page.evaluate(() => {
    const host = document.getElementById("consent");
    if (document.activeElement !== host) return null;
    const el = host.shadowRoot.activeElement;
    return el ? el.id || el.getAttribute("part") || el.tagName : null;
  });
}

export async function waitFor(fn, { timeout = 20000, interval = 100 } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * For a test file that needs one reference host and one browser: starts
 * both before its tests and stops both after. Read `env.host` and
 * `env.browser` inside tests (they are set once `before` has run).
 */
export function hostAndBrowser(options) {
  const env = { host: null, browser: null };
  before(async () => {
    env.host = await startHost(options);
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    await env.host?.stop();
  });
  return env;
}

/** The Content-Security-Policy the embedding tests serve their pages under. */
export const STRICT_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'";

/**
 * For a test file that embeds the prompt across origins: two reference
 * hosts (`env.other` serves `tests/e2e/fixtures` as its examples, a page
 * on a second origin) and one browser, started before its tests and
 * stopped after.
 */
export function twoHostsAndBrowser() {
  const env = { host: null, other: null, browser: null };
  before(async () => {
    env.host = await startHost();
    env.other = await startHost({ examples: path.join(ROOT, "tests/e2e/fixtures") });
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    await env.host?.stop();
    await env.other?.stop();
  });
  return env;
}

/**
 * Sets one of the demo's controls and waits until the prompt shows it:
 * the page has remounted with that value in its config, the root in the
 * shadow root is a new one (the old one is marked before the change), and
 * the state the control implies is on screen: the preference centre's
 * current answers, the operator's keys, one general question, the theme's
 * class, the locale's `lang`. Never a fixed sleep: an axe scan after this
 * sees the new DOM, not the old one. (The page's CSP allows no eval, so
 * the conditions are named, not passed as code.)
 */
export async function setControl(page, name, value) {
  const checkbox = name === "require";
  const input = page.locator(checkbox ? `#controls input[name=${name}]` : `#controls input[name=${name}][value="${value}"]`);
  const want = checkbox ? value !== "no" : true;
  if ((await input.isChecked()) === want) return;
  await page.evaluate(() => {
    const root = document.getElementById("consent").shadowRoot?.querySelector("[part=root]");
    root?.setAttribute("data-e2e-replaced", "");
  });
  await input.setChecked(want);
  await page.waitForFunction(
    ({ name, value, want }) => {
      const c = window.consentConfig;
      if (!c || !window.consentPrompt) return false;
      const set = { mode: c.mode, theme: c.theme?.preset, locale: c.locale, channel: c.channel, require: c.requireAnswer === true }[name];
      if (set !== (name === "require" ? want : value)) return false;
      const root = document.getElementById("consent").shadowRoot?.querySelector("[part=root]");
      if (!root || root.hasAttribute("data-e2e-replaced")) return false;
      const questions = root.querySelectorAll("fieldset.q").length;
      const keys = root.querySelector("[part=keys]") !== null;
      switch (`${name}:${value}`) {
        case "mode:account":
          return root.querySelector("[part=current]") !== null;
        case "mode:general":
          return questions === 1;
        case "mode:individual":
          return questions > 1;
        case "channel:box-office":
        case "channel:phone":
          return keys;
        case "channel:web":
          return !keys;
      }
      if (name === "theme") return root.classList.contains(value);
      if (name === "locale") return root.lang === value;
      return true;
    },
    { name, value, want },
    { polling: 50, timeout: 10000 }
  );
}
