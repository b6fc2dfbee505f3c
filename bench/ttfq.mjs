// Time to first question: our prompt (script-tag mode) against
// vanilla-cookieconsent's consent modal and klaro's notice, each on the same
// page shell, served by one static server on 127.0.0.1, precompressed
// (brotli q11 or gzip -9 by Accept-Encoding, as a CDN serves them), a fresh
// browser context per run, runs interleaved.
//   node bench/ttfq.mjs --out bench/out/ttfq.json [--runs 20]
//     [--profile desktop|mobile] [--cache cold|warm]
// mobile: Lighthouse's phone conditions through CDP — 150 ms round trip,
// 1.6 Mbps down, 675 kbps up (Network.emulateNetworkConditions) and a 4x
// slower CPU (Emulation.setCPUThrottlingRate), a 390x844 viewport.
// cold: the HTTP cache is disabled. warm: a first visit fills the cache
// (assets are served as versioned files: immutable for a year), and the
// second visit is measured.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { ROOT, launch, serveStatic, summary, withTimeout } from "./lib/common.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const RUNS = Number(opt("--runs", "20"));
const WARMUP = Number(opt("--warmup", "1"));
const OUT = opt("--out", path.join(ROOT, "bench/out/ttfq.json"));
const DIST = opt("--dist", path.join(ROOT, "dist"));
const PEERS = path.join(ROOT, "bench/peers/node_modules");
const ONLY = opt("--widgets", "ours,cookieconsent,klaro").split(",").filter(Boolean);
const SHOTS = opt("--screenshots", null); // a directory: one PNG per widget, taken once
// The fragment the reference host rendered for OURS_CONFIG
// (bench/render-fragment.mjs); with it, the "ssr" page can be measured.
const SSR_FRAGMENT = opt("--ssr-fragment", null);
const CONFIG_OUT = opt("--write-config", null); // writes OURS_CONFIG and exits
const PROFILE = opt("--profile", "desktop");
const CACHE = opt("--cache", "cold");
if (!["desktop", "mobile"].includes(PROFILE)) throw new Error(`--profile is desktop or mobile, not ${PROFILE}`);
if (!["cold", "warm"].includes(CACHE)) throw new Error(`--cache is cold or warm, not ${CACHE}`);
const RUN_TIMEOUT_MS = PROFILE === "mobile" ? 30000 : 15000;
/** Lighthouse's mobile throttling, as the issue states it. */
const MOBILE = { latency: 150, downloadThroughput: (1.6e6 / 8) | 0, uploadThroughput: (675e3 / 8) | 0, cpuRate: 4 };

// ------------------------------------------------------------------ pages

const SHELL_CSS = `body { margin: 0 auto; max-width: 46rem; padding: 1rem 1.25rem 3rem; font: 16px/1.5 system-ui, sans-serif; color: #1a1a1a; background: #fff; }
h1 { font-size: 1.5rem; }
button { font: inherit; padding: 0.6em 1.4em; }
`;

/** The one page shell every widget is measured in. */
function shell({ head = "", body = "" }) {
  return `<!doctype html>
<html lang="en-GB">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Checkout</title>
  <link rel="stylesheet" href="/shell.css">
${head}
</head>
<body>
  <main>
    <h1>Checkout</h1>
    <p>2 tickets: Hamlet, 3 December; The Tempest, 10 December.</p>
    <div id="consent"></div>
    <p><button id="pay" type="button">Continue to payment</button></p>
  </main>
${body}
</body>
</html>
`;
}

const PARTNERS = [
  { id: "northern-lights", name: "Northern Lights Theatre Company", text: "Northern Lights Theatre Company would like to email you about their new productions." },
  { id: "paper-lantern", name: "Paper Lantern Productions", text: "Paper Lantern Productions would like to email you about their family shows." },
];

// Our widget: the README's script tag, and the config it fetches.
const OURS_CONFIG = {
  endpoint: "/api/v1/consent-records",
  customerId: "BENCH-1",
  venue: { id: "riverside", name: "Riverside Playhouse" },
  submitButton: false,
  partners: PARTNERS.map((p, i) => ({
    id: p.id,
    name: p.name,
    privacyUrl: `https://${p.id}.example/privacy`,
    notice: { id: `${p.id}-marketing`, version: i + 1, text: { "en-GB": p.text }, channels: ["email"] },
  })),
  basket: {
    ref: "BENCH-BASKET",
    lines: [
      { eventId: "hamlet-2026-12-03", title: "Hamlet", partnerIds: ["northern-lights"] },
      { eventId: "tempest-2026-12-10", title: "The Tempest", partnerIds: ["northern-lights", "paper-lantern"] },
    ],
  },
};

/** The config as a JSON data block in the page (`data-config="#consent-config"`). */
const INLINE_CONFIG = `  <script type="application/json" id="consent-config">${JSON.stringify(OURS_CONFIG).replace(/</g, "\\u003c")}</script>`;

// vanilla-cookieconsent 3: its stylesheet, and a module that imports the
// library and calls run() (the library's documented set-up).
// hideFromBots: false, or it hides itself from a browser driven by WebDriver.
const CC_CONFIG_JS = `import "/peers/vanilla-cookieconsent/cookieconsent.umd.js";
window.CookieConsent.run({
  hideFromBots: false,
  categories: { necessary: { enabled: true, readOnly: true }, marketing: {} },
  language: {
    default: "en",
    translations: {
      en: {
        consentModal: {
          title: "Hear from the companies behind your shows?",
          description: ${JSON.stringify(PARTNERS.map((p) => p.text).join(" "))},
          acceptAllBtn: "Yes to all",
          acceptNecessaryBtn: "No thanks",
          showPreferencesBtn: "Choose per company",
        },
        preferencesModal: {
          title: "Choose per company",
          acceptAllBtn: "Yes to all",
          acceptNecessaryBtn: "No thanks",
          savePreferencesBtn: "Save my choices",
          sections: [
            { title: "Necessary", description: "Needed for the checkout.", linkedCategory: "necessary" },
            { title: "Marketing", description: ${JSON.stringify(PARTNERS.map((p) => p.name).join(", "))}, linkedCategory: "marketing" },
          ],
        },
      },
    },
  },
});
`;

// klaro 0.7: a config script, then klaro.js (CSS included), both deferred,
// config first, as klaro's README shows. The default is the notice.
const KLARO_CONFIG_JS = `var klaroConfig = {
  version: 1,
  elementID: "klaro",
  storageMethod: "cookie",
  cookieName: "klaro",
  lang: "en",
  mustConsent: false,
  acceptAll: true,
  translations: {
    en: {
      consentNotice: { description: ${JSON.stringify("Hear from the companies behind your shows? " + PARTNERS.map((p) => p.text).join(" "))} },
      purposes: { marketing: "Marketing" },
${PARTNERS.map((p) => `      ${JSON.stringify(p.id)}: { description: ${JSON.stringify(p.text)} },`).join("\n")}
    },
  },
  services: [
${PARTNERS.map((p) => `    { name: ${JSON.stringify(p.id)}, title: ${JSON.stringify(p.name)}, purposes: ["marketing"], default: false, cookies: [] },`).join("\n")}
  ],
};
`;

const WIDGETS = {
  ssr: {
    label: "Consent Prompt (server-rendered, then hydrated)",
    // The checkout page as a venue's server sends it: the fragment from
    // POST /api/v1/prompt/render inside the mount point, and the same
    // script tag, which hydrates it.
    page: shell({
      body: `${INLINE_CONFIG}\n  <script src="/consent-prompt/embed.js" data-target="#consent" data-config="#consent-config" async></script>`,
    }).replace('<div id="consent"></div>', () => `<div id="consent">${SSR_FRAGMENT ? readFileSync(SSR_FRAGMENT, "utf8") : ""}</div>`),
    // Visible and styled: the first question, once its linked stylesheet
    // has loaded (before that it would show unstyled, which does not count).
    find: `() => { const h = document.getElementById("consent"); const r = h && h.shadowRoot; const l = r && r.querySelector("link[rel=stylesheet]"); return l && l.sheet ? r.querySelector("fieldset.q") : null; }`,
    what: "first `fieldset.q` in the server-rendered shadow root, its stylesheet loaded",
  },
  ours: {
    label: "Consent Prompt (script tag)",
    // The README's script tag, with the patron's config written into the
    // page (as a checkout page made per patron has it).
    page: shell({
      body: `${INLINE_CONFIG}\n  <script src="/consent-prompt/embed.js" data-target="#consent" data-config="#consent-config" async></script>`,
    }),
    // The first question: a fieldset.q in the prompt's open shadow root.
    find: `() => { const h = document.getElementById("consent"); return h && h.shadowRoot ? h.shadowRoot.querySelector("fieldset.q") : null; }`,
    what: "first `fieldset.q` in the prompt's shadow root",
  },
  cookieconsent: {
    label: "vanilla-cookieconsent 3.1.0 (consent modal)",
    page: shell({
      head: `  <link rel="stylesheet" href="/peers/vanilla-cookieconsent/cookieconsent.css">`,
      body: `  <script type="module" src="/cookieconsent-config.js"></script>`,
    }),
    find: `() => document.querySelector("#cc-main .cm")`,
    what: "`#cc-main .cm` (the consent modal)",
  },
  klaro: {
    label: "klaro 0.7.22 (notice)",
    page: shell({
      head: `  <script defer src="/klaro-config.js"></script>\n  <script defer data-config="klaroConfig" src="/peers/klaro/klaro.js"></script>`,
    }),
    find: `() => document.getElementById("klaro-cookie-notice")`,
    what: "`#klaro-cookie-notice` (the notice)",
  },
};

// ------------------------------------------------------------ measurement

/**
 * Injected before any page script. Polls once per animation frame (so a
 * time is the start of the first frame that paints the element) and records
 * performance.now(), i.e. milliseconds since navigation start. Visible means
 * connected, a non-empty box at least partly in the viewport, and
 * checkVisibility() with opacity and visibility (so a modal still at
 * opacity 0 or visibility: hidden does not count).
 */
function probe(findSource) {
  return `(() => {
  const find = ${findSource};
  const visible = (el) => {
    if (!el || !el.isConnected) return false;
    const r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return false;
    if (r.bottom <= 0 || r.right <= 0 || r.top >= innerHeight || r.left >= innerWidth) return false;
    return el.checkVisibility({ opacityProperty: true, visibilityProperty: true });
  };
  window.__ttfq = null;
  // Cumulative layout shift from navigation on (shifts after input excluded).
  window.__cls = 0;
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value;
    }).observe({ type: "layout-shift", buffered: true });
  } catch (e) {}
  const frame = () => {
    let el = null;
    try { el = find(); } catch (e) {}
    if (el && visible(el)) {
      window.__ttfq = { ms: performance.now() };
      return;
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})();`;
}

function files() {
  const dist = (f) => ({ file: path.join(DIST, f) });
  const cc = (f) => ({ file: path.join(PEERS, "vanilla-cookieconsent/dist", f) });
  const klaro = (f) => ({ file: path.join(PEERS, "klaro/dist", f) });
  return {
    "/shell.css": { body: SHELL_CSS, type: "text/css; charset=utf-8" },
    "/ours.html": { body: WIDGETS.ours.page, type: "text/html; charset=utf-8" },
    "/ssr.html": { body: WIDGETS.ssr.page, type: "text/html; charset=utf-8" },
    "/consent-prompt/consent-prompt.css": dist("consent-prompt.css"),
    "/cookieconsent.html": { body: WIDGETS.cookieconsent.page, type: "text/html; charset=utf-8" },
    "/klaro.html": { body: WIDGETS.klaro.page, type: "text/html; charset=utf-8" },
    "/consent-config.json": { body: JSON.stringify(OURS_CONFIG), type: "application/json" },
    "/consent-prompt/embed.js": dist("embed.js"),
    "/consent-prompt/consent-prompt.js": dist("consent-prompt.js"),
    "/consent-prompt/consent_prompt.js": dist("consent_prompt.js"),
    "/consent-prompt/consent_prompt_bg.wasm": dist("consent_prompt_bg.wasm"),
    "/cookieconsent-config.js": { body: CC_CONFIG_JS, type: "text/javascript; charset=utf-8" },
    "/peers/vanilla-cookieconsent/cookieconsent.css": cc("cookieconsent.css"),
    "/peers/vanilla-cookieconsent/cookieconsent.umd.js": cc("cookieconsent.umd.js"),
    "/klaro-config.js": { body: KLARO_CONFIG_JS, type: "text/javascript; charset=utf-8" },
    "/peers/klaro/klaro.js": klaro("klaro.js"),
  };
}

const shot = new Set();

async function once(browser, server, name) {
  const widget = WIDGETS[name];
  const viewport = PROFILE === "mobile" ? { width: 390, height: 844 } : { width: 1280, height: 800 };
  const context = await browser.newContext({ viewport, ...(PROFILE === "mobile" ? { isMobile: true, hasTouch: true, deviceScaleFactor: 3 } : {}) });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("request", (r) => {
      if (!r.url().startsWith(server.url) && !r.url().startsWith("data:")) errors.push(`request off loopback refused: ${r.url()}`);
    });
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: CACHE === "cold" });
    if (PROFILE === "mobile") {
      await cdp.send("Network.emulateNetworkConditions", {
        offline: false,
        latency: MOBILE.latency,
        downloadThroughput: MOBILE.downloadThroughput,
        uploadThroughput: MOBILE.uploadThroughput,
      });
      await cdp.send("Emulation.setCPUThrottlingRate", { rate: MOBILE.cpuRate });
    }
    await page.addInitScript({ content: probe(widget.find) });
    if (CACHE === "warm") {
      // The first visit fills the cache; it is not measured.
      await page.goto(`${server.url}/${name}.html`, { waitUntil: "commit" });
      await page.waitForFunction(() => window.__ttfq, null, { polling: 50, timeout: RUN_TIMEOUT_MS });
      // Everything the page asked for is in the cache before it is left
      // (a server-rendered question shows long before the wasm arrives).
      await page.waitForLoadState("networkidle", { timeout: RUN_TIMEOUT_MS });
      await page.waitForTimeout(300);
      await page.goto("about:blank");
    }
    server.log.length = 0;
    await page.goto(`${server.url}/${name}.html`, { waitUntil: "commit" });
    const handle = await withTimeout(
      page.waitForFunction(() => window.__ttfq, null, { polling: 50, timeout: RUN_TIMEOUT_MS }),
      RUN_TIMEOUT_MS + 2000,
      `${name}: first question`
    ).catch((e) => {
      throw new Error(`${e.message}; page errors: ${errors.join(" | ") || "none"}`);
    });
    const { ms } = await handle.jsonValue();
    // Let late requests (none expected) land before the log is read, and
    // let the prompt settle so a late shift would be counted.
    await page.waitForTimeout(PROFILE === "mobile" ? 800 : 200);
    const cls = await page.evaluate(() => window.__cls);
    if (SHOTS && !shot.has(name)) {
      shot.add(name);
      await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
    }
    const requests = server.log.map((r) => ({ ...r }));
    return { ms, cls, requests, errors };
  } finally {
    await context.close();
  }
}

async function main() {
  if (CONFIG_OUT) {
    writeFileSync(CONFIG_OUT, JSON.stringify(OURS_CONFIG, null, 2));
    return;
  }
  if (ONLY.includes("ssr") && !SSR_FRAGMENT) throw new Error("the ssr page needs --ssr-fragment (bench/render-fragment.mjs writes it)");
  const needs = { cookieconsent: "vanilla-cookieconsent", klaro: "klaro" };
  const peerVersions = {};
  for (const key of ONLY) {
    if (!WIDGETS[key]) throw new Error(`unknown widget ${key}`);
    if (!needs[key]) continue;
    const pkg = path.join(PEERS, needs[key], "package.json");
    if (!existsSync(pkg)) throw new Error(`missing ${needs[key]}: run bash bench/run.sh (it installs the peers)`);
    peerVersions[needs[key]] = JSON.parse(readFileSync(pkg, "utf8")).version;
  }
  // A peer that is not installed is not served (and not measured).
  const table = Object.fromEntries(Object.entries(files()).filter(([, v]) => !v.file || existsSync(v.file)));
  const server = await serveStatic(table, { cache: CACHE === "warm" ? "immutable" : "no-store" });
  const browser = await launch();
  const chromiumVersion = browser.version();
  const names = ONLY;
  const results = Object.fromEntries(names.map((n) => [n, { times: [], cls: [], requests: null, errors: [] }]));
  try {
    for (let round = -WARMUP; round < RUNS; round++) {
      for (const name of names) {
        const r = await once(browser, server, name);
        if (round < 0) continue; // warm-up rounds are not recorded
        results[name].times.push(r.ms);
        results[name].cls.push(r.cls);
        results[name].requests ??= r.requests;
        results[name].errors.push(...r.errors);
      }
      if (round >= 0) process.stderr.write(`\r  ttfq: round ${round + 1}/${RUNS}`);
    }
    process.stderr.write("\n");
  } finally {
    await browser.close();
    await server.close();
  }
  const out = {
    profile: PROFILE,
    cache: CACHE,
    throttling: PROFILE === "mobile" ? MOBILE : null,
    runs: RUNS,
    warmupRounds: WARMUP,
    chromium: chromiumVersion,
    peers: peerVersions,
    widgets: Object.fromEntries(
      names.map((n) => {
        const r = results[n];
        const reqs = r.requests.filter((q) => q.status === 200);
        return [
          n,
          {
            label: WIDGETS[n].label,
            what: WIDGETS[n].what,
            ...summary(r.times),
            times: r.times,
            clsMax: Math.max(...r.cls),
            files: reqs.map((q) => ({ path: q.path, raw: q.raw, gzip: q.bytes, encoding: q.encoding })),
            // Bytes on the wire for the measured visit (compressed as served).
            gzipBytes: reqs.reduce((a, q) => a + q.bytes, 0),
            rawBytes: reqs.reduce((a, q) => a + q.raw, 0),
            errors: [...new Set(r.errors)],
          },
        ];
      })
    ),
  };
  writeFileSync(OUT, JSON.stringify(out, null, 2));
  for (const n of names) {
    const w = out.widgets[n];
    console.error(`  ${n.padEnd(14)} median ${w.median.toFixed(1)} ms (min ${w.min.toFixed(1)}, max ${w.max.toFixed(1)}), ${(w.gzipBytes / 1000).toFixed(1)} KB on the wire, CLS max ${w.clsMax.toFixed(3)}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
