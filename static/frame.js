// Consent Prompt inside an iframe: the frame side of the postMessage protocol.
//
// Every message is {type: "consent-prompt:<name>", v: 1, ...}.
//   frame → parent: ready, mounted, resize, change, commit, error, reply, refused
//   parent → frame: init {config}, update {config}, commit {requestId},
//                   outbox {requestId}, retry {requestId}, receipt {requestId}
// Messages are accepted only from window.parent, only from an origin on the
// allowlist the venue configures on its server (frame.json), and, after init,
// only from the origin that sent init. The frame posts only to that exact
// origin, never "*". Anything else is ignored and logged once. The one
// message a parent off the allowlist gets is `refused` (no data, only the
// refusal), posted to that parent's own origin, so its mount() settles at
// once rather than waiting for its timeout.
// The module entry, imported when first needed, with the integrity the
// build wrote here (scripts/stamp.mjs; early.js, built into the front of
// this file, asks for it ahead with that integrity).
const INTEGRITY = "__CP_INTEGRITY__";
const ENTRY = new URL("./consent-prompt.js", import.meta.url).href;
let entry = null;
function entryModule() {
  if (!entry) {
    const integrity = (typeof INTEGRITY === "object" && INTEGRITY["consent-prompt.js"]) || "";
    window.ConsentPrompt.preload("modulepreload", ENTRY, integrity);
    entry = import("./consent-prompt.js");
  }
  return entry;
}
const mount = (target, config, options) => entryModule().then((m) => m.mount(target, config, options));


const PREFIX = "consent-prompt:";
const VERSION = 1;
const target = document.getElementById("consent");

// The host served this page with the first question already rendered:
// for the parent's own config (host.js opened the frame with a form POST,
// and the host wrote that config in as the data block #consent-config), or
// for a config file it serves (frame.html?config=<path>). The prompt takes
// the question over at once, while the handshake with the parent goes on;
// the parent's init then updates it.
const configParam = new URLSearchParams(location.search).get("config");
const configBlock = document.getElementById("consent-config");
let handle = null;
/** An answer changed before init fixed the parent: told after `mounted`. */
let heldChange = false;
function written() {
  try {
    return JSON.parse(configBlock.textContent);
  } catch (error) {
    console.error("[consent-prompt frame] the config written into the page is not JSON", error);
    return null;
  }
}
const served = configBlock ? written() : configParam ? new URL(configParam, location.href).href : null;
// While the served config mounts, its consent:ready is not the parent's:
// init announces that prompt itself, once, with the parent's config.
let mountingServed = !!served;
const early = served
  ? mount(target, served, { embed: "iframe" }).then(
      (h) => {
        mountingServed = false;
        return (handle = h);
      },
      (error) => {
        mountingServed = false;
        console.error("[consent-prompt frame] could not start from the config the host served", error);
        return null;
      }
    )
  : null;

// The allowed parent origins: written into the page by the host that
// rendered it (#consent-frame), else from frame.json on the same server.
let allowed = [];
const settingsBlock = document.getElementById("consent-frame");
try {
  if (settingsBlock) {
    allowed = JSON.parse(settingsBlock.textContent).allowedParentOrigins ?? [];
  } else {
    const response = await fetch(new URL("./frame.json", import.meta.url), { cache: "no-store" });
    allowed = response.ok ? (await response.json()).allowedParentOrigins ?? [] : [];
  }
} catch {
  allowed = [];
}
if (!Array.isArray(allowed)) allowed = [];
if (!allowed.length) console.error("[consent-prompt frame] no allowed parent origins (frame.json): the prompt will not start");

let parentOrigin = null; // fixed by the first valid init
const logged = new Set();

function ignore(key, message) {
  if (logged.has(key)) return;
  logged.add(key);
  console.warn(`[consent-prompt frame] ignored a message: ${message}`);
}

function post(name, body = {}) {
  if (parentOrigin) window.parent.postMessage({ type: PREFIX + name, v: VERSION, ...body }, parentOrigin);
}

// Before init fixes the parent: to each allowed origin; postMessage drops a
// message whose target origin is not the parent's, so only it receives one.
function toEveryAllowed(name, body = {}) {
  for (const origin of allowed) window.parent.postMessage({ type: PREFIX + name, v: VERSION, ...body }, origin);
}

function plain(value) {
  // Errors from wasm are plain objects already; anything else (an Error
  // from the wasm's loading, say) becomes the typed shape.
  if (value && typeof value === "object" && !(value instanceof Error)) return JSON.parse(JSON.stringify(value));
  const message = value && value.message ? value.message : String(value);
  return { code: "load", message: `the consent prompt's code could not be loaded: ${message}`, field: null, errors: [] };
}

function fault(code, message) {
  return { code, message, field: null, errors: [], recordIds: [] };
}

// The parent's origin as the browser states it (ancestorOrigins where the
// browser has it, else the referrer): off the allowlist, it hears `refused`.
const claimed = (() => {
  try {
    if (location.ancestorOrigins && location.ancestorOrigins.length) return location.ancestorOrigins[0];
    return document.referrer ? new URL(document.referrer).origin : null;
  } catch {
    return null;
  }
})();
if (window.parent !== window && claimed && claimed !== "null" && !allowed.includes(claimed)) {
  console.error(`[consent-prompt frame] ${claimed} is not an allowed parent origin (frame.json): the prompt will not start`);
  window.parent.postMessage(
    {
      type: PREFIX + "refused",
      v: VERSION,
      detail: fault("origin", `the consent prompt frame does not accept ${claimed} as its parent: add it to the host's allowed parent origins (--frame-parents)`),
    },
    claimed
  );
}

async function init(config) {
  if (early && (await early) && handle) {
    try {
      handle.update(config);
      post("mounted", { detail: { state: handle.state(), warnings: [] } });
      // Answers given before the parent was known (to the question the
      // host rendered): told now, as the page is after any answer.
      if (heldChange) post("change", { detail: handle.state() });
      heldChange = false;
      reportHeight();
    } catch (error) {
      post("error", { detail: plain(error) });
    }
    return;
  }
  if (handle) handle.destroy();
  handle = null;
  try {
    handle = await mount(target, config, { embed: "iframe" });
    const state = handle.state();
    if (state?.locale) document.documentElement.lang = state.locale;
  } catch (error) {
    post("error", { detail: plain(error) });
  }
}

// Every commit request gets its own answer, carrying its id: repeated and
// concurrent requests each settle (the prompt's events are posted apart,
// without an id).
async function commit(id) {
  if (!handle) return post("error", { requestId: id, detail: fault("not-ready", "the prompt has no config yet") });
  try {
    const summary = await handle.commit();
    post("commit", { detail: plain(summary), ...(id ? { requestId: id } : {}) });
  } catch (error) {
    post("error", { detail: plain(error), ...(id ? { requestId: id } : {}) });
  }
}

// outbox(), retry() and receipt(), as the module handle answers them: each
// request is answered once, with `reply` (or `error`) and its id.
async function ask(name, id) {
  if (!handle) return post("error", { requestId: id, detail: fault("not-ready", "the prompt has no config yet") });
  try {
    const detail = await handle[name]();
    post("reply", { requestId: id, detail: detail === null || detail === undefined ? null : plain(detail) });
  } catch (error) {
    post("error", { requestId: id, detail: plain(error) });
  }
}

window.addEventListener("message", (event) => {
  if (event.source !== window.parent) return ignore(`source:${event.origin}`, `from ${event.origin}, a window that is not the parent`);
  if (!allowed.includes(event.origin)) return ignore(`origin:${event.origin}`, `from ${event.origin}, not an allowed parent origin`);
  if (parentOrigin && event.origin !== parentOrigin) return ignore(`switch:${event.origin}`, `from ${event.origin} after init from ${parentOrigin}`);
  const m = event.data;
  if (!m || typeof m !== "object" || m.v !== VERSION || typeof m.type !== "string" || !m.type.startsWith(PREFIX)) {
    return ignore(`malformed:${event.origin}`, `malformed or unversioned message from ${event.origin}`);
  }
  switch (m.type.slice(PREFIX.length)) {
    case "init":
      if (!m.config || typeof m.config !== "object") return ignore("init-config", "init without a config object");
      parentOrigin = event.origin;
      return void init(m.config);
    case "update":
      if (!handle) return ignore("update-early", "update before init");
      try {
        handle.update(m.config);
      } catch (error) {
        post("error", { detail: plain(error) });
      }
      return;
    case "commit":
      return void commit(typeof m.requestId === "string" ? m.requestId : null);
    case "outbox":
    case "retry":
    case "receipt":
      if (typeof m.requestId !== "string") return ignore(`no-id:${m.type}`, `${m.type} without a requestId`);
      return void ask(m.type.slice(PREFIX.length), m.requestId);
    default:
      return ignore(`type:${m.type}`, `unknown type ${m.type}`);
  }
});

for (const [event, name] of [
  ["consent:ready", "mounted"],
  ["consent:change", "change"],
  ["consent:commit", "commit"],
  ["consent:error", "error"],
]) {
  target.addEventListener(event, (e) => {
    // The served prompt's start is told by init, `mounted` then `change`.
    if (name === "mounted" && mountingServed) return;
    if (name === "change" && (mountingServed || !parentOrigin)) {
      heldChange = true;
      return;
    }
    post(name, { detail: plain(e.detail) });
  });
}

// Keep the parent's frame exactly as tall as the content: no scrollbar.
// Before init fixes the parent, the height goes, like ready, to each
// allowed origin (only the real parent's origin receives it), so a frame
// the host rendered is shown at its height before the handshake ends.
let lastHeight = 0;
// The host's own sizer, in a page it rendered, hands over to this one.
window.ConsentPromptSizer?.disconnect();
function reportHeight() {
  const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
  if (height === lastHeight) return;
  lastHeight = height;
  if (parentOrigin) post("resize", { height });
  else toEveryAllowed("resize", { height });
}
new ResizeObserver(reportHeight).observe(document.documentElement);

// The handshake: say ready to each allowed origin; only the real parent's
// origin receives it (postMessage drops a message whose target origin differs).
toEveryAllowed("ready");
