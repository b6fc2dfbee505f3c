// Time to first question: our prompt (script-tag mode, and server-rendered)
// against vanilla-cookieconsent's consent modal and klaro's notice, each on
// the same page shell, served by one server on 127.0.0.1, precompressed
// (brotli q11 or gzip -9 by Accept-Encoding, as a CDN serves them), a fresh
// browser context per run, runs interleaved.
//
// Every page has the same shape: the widget's config written into the page
// (each peer's documented inline set-up; ours as a JSON data block), its
// files requested by the page itself, so no side pays a round trip the
// others do not (SHAPES below states each page's serial requests, and the
// run measures the chain from CDP's request initiators). The server-rendered
// page is made per request: the bench's page server asks the reference host
// (started here, on 127.0.0.1) for the render, server to server, before it
// answers, so the render is inside the measured navigation.
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
import { startRenderHost } from "./lib/host.mjs";

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
// The reference host that renders the "ssr" page per request.
const HOST_BIN = opt("--host-bin", path.join(ROOT, "target/host/consent-host"));
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

/**
 * The patron's config as a JSON data block in the page
 * (`data-config="#consent-config"`), with the checkout token the venue's
 * server writes in with it (minted by the reference host the bench starts):
 * with it, every mode asks the host for the first question as HTML.
 */
const inlineConfig = () =>
  `  <script type="application/json" id="consent-config">${JSON.stringify({ ...OURS_CONFIG, token: renderHost.token }).replace(/</g, "\\u003c")}</script>`;

// vanilla-cookieconsent 3: its stylesheet, its UMD build (defer), and the
// config inline as a module calling CookieConsent.run() (the documented
// UMD set-up; a module runs after the deferred script before it, in order).
// The library, stylesheet and config load in parallel: no module that
// imports the library, which would add a serial round trip.
// hideFromBots: false, or it hides itself from a browser driven by WebDriver.
const CC_CONFIG_JS = `window.CookieConsent.run({
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

// klaro 0.7: the config as an inline script (a global klaroConfig, which
// klaro reads by the name in data-config), then klaro.js (CSS included),
// deferred. The default is the notice.
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

/** Inline script text, safe inside a <script> element. */
const inline = (js) => js.replace(/<\/script/gi, "<\\/script");

/**
 * The first question, visible only once it is styled: by the stylesheet
 * the rendered HTML links, or (once the wasm has taken it over, which
 * drops the link) by the styles it adopted.
 */
/** Save works: the wasm has taken the prompt on element `#id` over. */
const LIVE = (id) => `() => !!document.getElementById(${JSON.stringify(id)})?.hasAttribute("data-cp-live")`;

const STYLED_QUESTION = `() => { const h = document.getElementById("consent"); const r = h && h.shadowRoot; if (!r) return null; const l = r.querySelector("link[rel=stylesheet], style"); return (l && l.sheet) || r.adoptedStyleSheets.length ? r.querySelector("fieldset.q") : null; }`;

const WIDGETS = {
  ssr: {
    label: "Consent Prompt (server-rendered, then hydrated)",
    // The checkout page as a venue's server makes it, per request: it asks
    // the reference host for the render (POST /api/v1/prompt/render, server
    // to server on 127.0.0.1) and puts the fragment inside the mount point,
    // with the config written in and the same script tag, which hydrates it.
    page: null, // made per request by ssrPage()
    // Visible and styled: the first question, once its linked stylesheet
    // has loaded (before that it would show unstyled, which does not count).
    find: STYLED_QUESTION,
    live: LIVE("consent"),
    what: "first `fieldset.q` in the server-rendered shadow root, styled",
    shape: "made per request by the venue's server, which first calls `POST /api/v1/prompt/render` on the reference host (server to server, timed inside the page's response) with `inlineStyle`; the question and its stylesheet are in the HTML; the config is in the page; `embed.js` (async) hydrates later",
    serial: 1,
    serialWhat: "page (with the render call)",
  },
  ours: {
    label: "Consent Prompt (script tag)",
    // The README's script tag, with the patron's config (and checkout
    // token) written into the page, as a checkout page made per patron has it.
    page: null, // made per request by oursPage(): the token is minted at start
    find: STYLED_QUESTION,
    live: LIVE("consent"),
    what: "first `fieldset.q` in the prompt's shadow root, styled (the stylesheet that came with the render adopted, or the wasm's own styles)",
    shape: "config and checkout token in the page (a JSON data block); `embed.js` (async) asks the host for the first question as HTML with its stylesheet inline (`POST /api/v1/prompt/fragment`, `inlineStyle`), adopts the stylesheet and shows the question, and only then asks for the entry, the glue and the wasm, at once; the wasm hydrates the question later",
    serial: 3,
    serialWhat: "page → `embed.js` → the render",
  },
  element: {
    label: "Consent Prompt (<consent-prompt> element)",
    page: null, // made per request by elementPage()
    find: STYLED_QUESTION.replace('document.getElementById("consent")', 'document.querySelector("consent-prompt")'),
    live: `() => document.querySelector("consent-prompt")?.hasAttribute("data-cp-live")`,
    what: "first `fieldset.q` in the element's shadow root, styled",
    shape: "config and checkout token in the page (a JSON data block); `<consent-prompt config=\"#consent-config\">` and `element.js` (an async module, in the head: it does not wait for the page's stylesheet), which asks for the first question as HTML with its stylesheet inline as soon as it reads the config, and imports the entry, the glue and the wasm once it is shown",
    serial: 3,
    serialWhat: "page → `element.js` → the render",
  },
  iframe: {
    label: "Consent Prompt (iframe)",
    page: null, // made per request by iframePage()
    // Inside the frame, and shown by it: the frame is tall enough to show
    // the question (a frame still 0 px tall shows nothing) and in the page's viewport.
    find: `() => { const f = document.querySelector("#consent iframe"); const d = f && f.contentDocument; if (!d) return null; const h = d.getElementById("consent"); const r = h && h.shadowRoot; if (!r) return null; const l = r.querySelector("link[rel=stylesheet], style"); const q = (l && l.sheet) || r.adoptedStyleSheets.length ? r.querySelector("fieldset.q") : null; if (!q) return null; const fr = f.getBoundingClientRect(); const qr = q.getBoundingClientRect(); return fr.height > 0 && qr.top < f.clientHeight && qr.bottom > 0 && fr.top + qr.top < innerHeight ? q : null; }`,
    live: `() => !!document.querySelector("#consent iframe")?.contentDocument?.getElementById("consent")?.hasAttribute("data-cp-live")`,
    what: "first `fieldset.q` in the frame's prompt, styled",
    shape: "config and checkout token in the page; `host.js` (async, with `data-target` and `data-config`: no code of the page's own) opens the frame with a form POST of the config to `frame.html`, which the host answers with the first question rendered, its styles inline and a small inline script that tells the parent its height; `frame.js` (a module) then takes it over and the wasm hydrates it. The frame counts as showing its question once the parent has sized it to show it",
    serial: 3,
    serialWhat: "page → `host.js` → the frame (POST, rendered by the host)",
  },
  cookieconsent: {
    label: "vanilla-cookieconsent 3.1.0 (consent modal)",
    page: shell({
      head: `  <link rel="stylesheet" href="/peers/vanilla-cookieconsent/cookieconsent.css">\n  <script defer src="/peers/vanilla-cookieconsent/cookieconsent.umd.js"></script>`,
      body: `  <script type="module">\n${inline(CC_CONFIG_JS)}</script>`,
    }),
    find: `() => document.querySelector("#cc-main .cm")`,
    what: "`#cc-main .cm` (the consent modal)",
    shape: "stylesheet link and `cookieconsent.umd.js` (defer) in the head; the config inline, a module calling `CookieConsent.run()`",
    serial: 2,
    serialWhat: "page → stylesheet and library (in parallel)",
  },
  klaro: {
    label: "klaro 0.7.22 (notice)",
    page: shell({
      head: `  <script>\n${inline(KLARO_CONFIG_JS)}</script>\n  <script defer data-config="klaroConfig" src="/peers/klaro/klaro.js"></script>`,
    }),
    find: `() => document.getElementById("klaro-cookie-notice")`,
    what: "`#klaro-cookie-notice` (the notice)",
    shape: "the config inline (a global `klaroConfig`); `klaro.js` (defer, its CSS included)",
    serial: 2,
    serialWhat: "page → library",
  },
};

/** The rendering host, when a page of ours is measured (set in main). */
let renderHost = null;
/** The page server's origin (the frame's allowed parent). */
let pageOrigin = "";
/** Our modes: each measured with the reference host behind it. */
const OURS = ["ours", "ssr", "element", "iframe"];

/** The script tag of every page of ours. */
const EMBED = `  <script src="/consent-prompt/embed.js" data-target="#consent" data-config="#consent-config" async></script>`;

/** The ssr page for one request: the render asked for now, server to server. */
async function ssrPage() {
  // Its stylesheet inline (`inlineStyle`; a page under a CSP adds the
  // render's `styleHash` to its style-src), so the question needs no
  // request after the page.
  const rendered = await renderHost.render({ ...OURS_CONFIG, token: renderHost.token }, "/consent-prompt/", { inlineStyle: true });
  return shell({ body: `${inlineConfig()}\n${EMBED}` }).replace('<div id="consent"></div>', () => `<div id="consent">${rendered.fragment}</div>`);
}

/** The script-tag page: the config and token in the page, the README's script tag. */
const oursPage = async () => shell({ body: `${inlineConfig()}\n${EMBED}` });

/** The element's page: the module in the head, the element where the prompt goes. */
const elementPage = async () =>
  shell({
    head: `  <script type="module" async src="/consent-prompt/element.js"></script>\n${inlineConfig()}`,
  }).replace('<div id="consent"></div>', '<consent-prompt name="consent" config="#consent-config"></consent-prompt>');

/** The iframe's page: host.js opens the frame and sends it the config from the page. */
const iframePage = async () =>
  shell({
    head: `  <script src="/consent-prompt/host.js" async data-target="#consent" data-config="#consent-config" data-title="Contact preferences"></script>\n${inlineConfig()}`,
  });


// ------------------------------------------------------------ measurement

/**
 * Injected before any page script. Polls once per animation frame (so a
 * time is the start of the first frame that paints the element) and records
 * performance.now(), i.e. milliseconds since navigation start. Visible means
 * connected, a non-empty box at least partly in the viewport, and
 * checkVisibility() with opacity and visibility (so a modal still at
 * opacity 0 or visibility: hidden does not count).
 */
function probe(findSource, liveSource) {
  return `(() => {
  const find = ${findSource};
  const live = ${liveSource ?? "null"};
  const visible = (el) => {
    if (!el || !el.isConnected) return false;
    const r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return false;
    if (r.bottom <= 0 || r.right <= 0 || r.top >= innerHeight || r.left >= innerWidth) return false;
    return el.checkVisibility({ opacityProperty: true, visibilityProperty: true });
  };
  window.__ttfq = null;
  window.__live = null;
  // Cumulative layout shift from navigation on. Every shift counts: nobody
  // touches the page in a run, and Chromium marks shifts in a mobile
  // emulation's first second as "after input", which would hide exactly
  // the shift a late prompt causes.
  window.__cls = 0;
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        window.__cls += e.value;
        (window.__shiftLog ||= []).push(Math.round(e.startTime) + "ms " + e.value.toFixed(4) + " " + e.sources.map((s) => s.node && s.node.nodeName).join(","));
      }
    }).observe({ type: "layout-shift", buffered: true });
  } catch (e) {}
  // Save works: the wasm has taken the prompt over (ours only).
  const liveFrame = () => {
    let ok = false;
    try { ok = live(); } catch (e) {}
    if (ok) window.__live = { ms: performance.now() };
    else requestAnimationFrame(liveFrame);
  };
  if (live) requestAnimationFrame(liveFrame);
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
    "/ours.html": { dynamic: oursPage, type: "text/html; charset=utf-8" },
    "/ssr.html": { dynamic: ssrPage, type: "text/html; charset=utf-8" },
    "/element.html": { dynamic: elementPage, type: "text/html; charset=utf-8" },
    "/iframe.html": { dynamic: iframePage, type: "text/html; charset=utf-8" },
    // The page's own render request, passed on to the reference host as a
    // venue's host would answer it (the bench serves one origin).
    "/api/v1/prompt/fragment": { post: (body, headers) => renderHost.forPage(body, headers) },
    "/consent-prompt/element.js": dist("element.js"),
    "/consent-prompt/early.js": dist("early.js"),
    "/consent-prompt/host.js": dist("host.js"),
    // The frame as built (GET), and opened by host.js's form POST with the
    // parent's config, rendered by the reference host as it serves it.
    // The bench's server serves the widget's files under /consent-prompt/
    // (the host would link its own versioned directory), so the render
    // links them there.
    "/consent-prompt/frame.html": { ...dist("frame.html"), post: (body, headers) => renderHost.forPage(withAssetBase(body, `${pageOrigin}/consent-prompt/`), headers, "/consent-prompt/frame.html") },
    "/consent-prompt/frame.js": dist("frame.js"),
    "/consent-prompt/frame.css": dist("frame.css"),
    "/consent-prompt/frame.json": { dynamic: async () => JSON.stringify({ allowedParentOrigins: [pageOrigin] }), type: "application/json" },
    "/consent-prompt/consent-prompt.css": dist("consent-prompt.css"),
    "/cookieconsent.html": { body: WIDGETS.cookieconsent.page, type: "text/html; charset=utf-8" },
    "/klaro.html": { body: WIDGETS.klaro.page, type: "text/html; charset=utf-8" },
    "/consent-prompt/embed.js": dist("embed.js"),
    "/consent-prompt/consent-prompt.js": dist("consent-prompt.js"),
    "/consent-prompt/consent_prompt.js": dist("consent_prompt.js"),
    "/consent-prompt/consent_prompt_bg.wasm": dist("consent_prompt_bg.wasm"),
    "/peers/vanilla-cookieconsent/cookieconsent.css": cc("cookieconsent.css"),
    "/peers/vanilla-cookieconsent/cookieconsent.umd.js": cc("cookieconsent.umd.js"),
    "/peers/klaro/klaro.js": klaro("klaro.js"),
  };
}

/** A frame's form body (`request=<JSON>`) with `assetBase` set. */
function withAssetBase(form, assetBase) {
  const params = new URLSearchParams(form);
  const request = JSON.parse(params.get("request") ?? "{}");
  params.set("request", JSON.stringify({ ...request, assetBase }));
  return params.toString();
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
    // Each request's initiator, for the chain of serial requests.
    let sent = [];
    cdp.on("Network.requestWillBeSent", (e) => sent.push({ url: e.request.url, type: e.type, initiator: e.initiator, documentURL: e.documentURL }));
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
    await page.addInitScript({ content: probe(widget.find, widget.live) });
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
    sent = [];
    await page.goto(`${server.url}/${name}.html`, { waitUntil: "commit" });
    const handle = await withTimeout(
      page.waitForFunction(() => window.__ttfq, null, { polling: 50, timeout: RUN_TIMEOUT_MS }),
      RUN_TIMEOUT_MS + 2000,
      `${name}: first question`
    ).catch((e) => {
      throw new Error(`${e.message}; page errors: ${errors.join(" | ") || "none"}`);
    });
    const { ms } = await handle.jsonValue();
    // Until Save works (the wasm has taken the prompt over), for ours.
    let liveMs = null;
    if (widget.live) {
      const live = await withTimeout(
        page.waitForFunction(() => window.__live, null, { polling: 50, timeout: RUN_TIMEOUT_MS }),
        RUN_TIMEOUT_MS + 2000,
        `${name}: Save works`
      );
      liveMs = (await live.jsonValue()).ms;
    }
    // Let late requests (none expected) land before the log is read, and
    // let the prompt settle so a late shift would be counted.
    await page.waitForTimeout(PROFILE === "mobile" ? 800 : 200);
    const cls = await page.evaluate(() => window.__cls);
    if (process.env.TTFQ_TRACE) {
      const entries = await page.evaluate(() => performance.getEntriesByType("resource").map((e) => `${e.name.split("/").pop().padEnd(28)} start ${e.startTime.toFixed(0)} end ${e.responseEnd.toFixed(0)}`));
      const shifts = await page.evaluate(() => window.__shiftLog || []);
      const marks = await page.evaluate(() => performance.getEntriesByType("mark").map((m) => `${m.name} ${m.startTime.toFixed(0)}`));
      entries.push(`marks: ${marks.join(", ")}`);
      // A same-origin frame's own requests, on the page's clock.
      const inFrame = await page.evaluate(() => {
        const f = document.querySelector("iframe");
        const w = f && f.contentWindow;
        if (!w || !w.performance) return [];
        const off = w.performance.timeOrigin - performance.timeOrigin;
        const nav = w.performance.getEntriesByType("navigation")[0];
        const rows = nav ? [`frame page start ${(nav.startTime + off).toFixed(0)} response ${(nav.responseStart + off).toFixed(0)} end ${(nav.responseEnd + off).toFixed(0)}`] : [];
        return rows.concat(w.performance.getEntriesByType("resource").map((e) => `frame: ${e.name.split("/").pop().padEnd(28)} start ${(e.startTime + off).toFixed(0)} end ${(e.responseEnd + off).toFixed(0)}`));
      });
      entries.push(...inFrame);
      console.error(`  [${name}] first question at ${ms.toFixed(0)}, shifts: ${shifts.join("; ")}\n    ${entries.join("\n    ")}`);
    }
    if (SHOTS && !shot.has(name)) {
      shot.add(name);
      await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
    }
    const requests = server.log.map((r) => ({ ...r }));
    return { ms, liveMs, cls, requests, errors, chain: chainDepth(sent) };
  } finally {
    await context.close();
  }
}

/**
 * The longest chain of requests one after another: the page is 1, a file
 * the page's HTML asks for is 2, a file a script of that file asks for is
 * 3, and so on (CDP's initiator: the parser's document, or the script on
 * top of the initiating stack).
 */
function chainDepth(sent) {
  const depth = new Map();
  const base = (u) => (u ?? "").split("#")[0];
  const parentOf = (r) => {
    const i = r.initiator ?? {};
    if (i.url) return base(i.url);
    let stack = i.stack;
    while (stack) {
      const frame = stack.callFrames?.find((f) => f.url);
      if (frame) return base(frame.url);
      stack = stack.parent;
    }
    return base(r.documentURL);
  };
  let max = 0;
  for (const r of sent) {
    if (r.url.startsWith("data:")) continue;
    const url = base(r.url);
    const d = r.type === "Document" ? 1 : (depth.get(parentOf(r)) ?? 1) + 1;
    if (!depth.has(url)) depth.set(url, d);
    max = Math.max(max, d);
  }
  return max;
}

async function main() {
  if (CONFIG_OUT) {
    writeFileSync(CONFIG_OUT, JSON.stringify(OURS_CONFIG, null, 2));
    return;
  }
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
  pageOrigin = server.url;
  if (ONLY.some((n) => OURS.includes(n))) {
    if (!existsSync(HOST_BIN)) {
      await server.close();
      throw new Error(`our pages need the host (the token, and the render): ${HOST_BIN} (cargo build -p consent-host --profile host)`);
    }
    // The page server's origin may embed the frame the host renders.
    renderHost = await startRenderHost({ hostBin: HOST_BIN, dist: DIST, venueId: OURS_CONFIG.venue.id, customerId: OURS_CONFIG.customerId, frameParents: [pageOrigin] });
  }
  const browser = await launch();
  const chromiumVersion = browser.version();
  const names = ONLY;
  const results = Object.fromEntries(names.map((n) => [n, { times: [], live: [], cls: [], requests: null, errors: [], chains: [] }]));
  try {
    for (let round = -WARMUP; round < RUNS; round++) {
      for (const name of names) {
        const r = await once(browser, server, name);
        if (round < 0) continue; // warm-up rounds are not recorded
        results[name].times.push(r.ms);
        if (r.liveMs !== null) results[name].live.push(r.liveMs);
        results[name].cls.push(r.cls);
        results[name].requests ??= r.requests;
        results[name].chains.push(r.chain);
        results[name].errors.push(...r.errors);
      }
      if (round >= 0) process.stderr.write(`\r  ttfq: round ${round + 1}/${RUNS}`);
    }
    process.stderr.write("\n");
  } finally {
    await browser.close();
    await server.close();
    await renderHost?.stop();
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
            shape: WIDGETS[n].shape,
            serialToQuestion: WIDGETS[n].serial,
            serialWhat: WIDGETS[n].serialWhat,
            // Measured: the longest chain of requests over the whole visit.
            chainMax: Math.max(...r.chains),
            renderCall: n === "ssr" ? renderHost?.timings() : undefined,
            pageRenderCall: n !== "ssr" && OURS.includes(n) ? renderHost?.pageTimings() : undefined,
            // Until Save works (hydrated), for ours.
            live: r.live.length ? summary(r.live) : null,
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
    console.error(`  ${n.padEnd(14)} median ${w.median.toFixed(1)} ms (min ${w.min.toFixed(1)}, max ${w.max.toFixed(1)})${w.live ? `, Save works at ${w.live.median.toFixed(1)} ms` : ""}, ${(w.gzipBytes / 1000).toFixed(1)} KB on the wire, CLS max ${w.clsMax.toFixed(3)}`);
  }
}

main().catch(async (e) => {
  console.error(e);
  await renderHost?.stop(); // never leave the host running
  process.exit(1);
});
