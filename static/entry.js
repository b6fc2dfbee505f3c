// Consent Prompt, ES module entry.
//
//   import { mount } from "/consent-prompt/consent-prompt.js";
//   const prompt = await mount("#consent", config);
//   await prompt.commit();
//
// This file keeps a stable name; it loads the wasm beside it once.
//
// The first question as HTML while the wasm downloads is static/early.js:
// built into the front of embed.js, element.js and frame.js, and imported
// here only by a page that loaded none of them.

/**
 * The Subresource Integrity of the files this entry loads, written in by
 * the build (scripts/stamp.mjs): the glue and the wasm are refused if
 * they differ from the build that wrote this file.
 */
const INTEGRITY = "__CP_INTEGRITY__";
const sri = (name) => (typeof INTEGRITY === "object" && INTEGRITY[name]) || undefined;
const here = (name) => new URL(`./${name}`, import.meta.url).href;
/** This file as the host serves it (not inlined into a venue's bundle, which has no glue file of its own). */
const SERVED_AS_BUILT = /\/consent-prompt\.js([?#]|$)/.test(import.meta.url);

let loading = null;
/** The wasm is in: a prompt mounted now renders at once, with no HTML to ask for first. */
let loaded = false;

/**
 * `<link rel="modulepreload">` for a module beside this entry, with its
 * integrity: the browser keeps the checked module and the `import()` that
 * follows meets it (an import alone cannot carry an integrity). Only for
 * this file as built: a bundle that took the package in has inlined them.
 * (early.js's `ConsentPrompt.preload` does the same for the other entries;
 * this one runs before early.js may be there.)
 */
function preloadModule(name) {
  const href = here(name);
  const integrity = sri(name);
  if (!SERVED_AS_BUILT || !integrity) return;
  for (const link of document.querySelectorAll('link[rel="modulepreload"]')) if (link.href === href) return;
  const link = document.createElement("link");
  link.rel = "modulepreload";
  link.href = href;
  link.integrity = integrity;
  link.crossOrigin = "anonymous";
  document.head.appendChild(link);
}

/** early.js, unless an entry that holds it (embed.js, element.js, frame.js) ran first. */
const early =
  window.ConsentPrompt && window.ConsentPrompt.early
    ? Promise.resolve()
    : (preloadModule("early.js"), import("./early.js").catch(() => {}));

/** Loads the glue and the WebAssembly once; later calls share the same promise. */
export function load() {
  if (!loading) {
    // The import names the glue literally, so a bundler that takes the
    // package in bundles the glue too; served as it is built, the glue is
    // asked for first with its integrity, and the import meets that.
    preloadModule("consent_prompt.js");
    loading = import("./consent_prompt.js").then(async (glue) => {
      const wasm = here("consent_prompt_bg.wasm");
      const integrity = sri("consent_prompt_bg.wasm");
      // Checked by the browser as it streams: a changed file never compiles.
      await glue.default({ module_or_path: integrity ? fetch(wasm, { integrity, mode: "cors" }) : wasm });
      loaded = true;
      // Every entry's early render is skipped from now on: the prompt
      // renders at once, and a render asked for would be thrown away.
      if (window.ConsentPrompt) window.ConsentPrompt.loaded = true;
      return glue;
    });
  }
  return loading;
}

/** Milliseconds a mount may take by default: the config, the wasm and the mount together. */
const TIMEOUT_MS = 20000;
/** Codes the wasm's mountPrompt reports itself, having dispatched consent:error on its element. */
const FROM_WASM = new Set(["invalid-config", "already-mounted", "browser"]);

/** A typed error: `{code, message, field, errors}` and any detail. */
function fault(code, message, extra = {}) {
  return { code, message, field: null, errors: [], ...extra };
}

/** Any rejection as the typed error shape (a raw error becomes `load`). */
function typed(error) {
  if (error && typeof error === "object" && typeof error.code === "string") return error;
  const message = error && error.message ? error.message : String(error);
  return fault("load", `the consent prompt's code could not be loaded: ${message}`);
}

/**
 * Mounts the prompt into `target` (an Element or a CSS selector).
 * `config` is the config object; or `#id` of a
 * `<script type="application/json">` in the page that holds it (no request
 * at all); or a URL to fetch it from as JSON.
 * Resolves with a handle: { commit(), update(config), state(), destroy(), … }.
 * Settles within `options.timeout` ms (default 20 000): rejects with a
 * typed `MountError` (`{code, message, field, errors}`: `invalid-config`,
 * `config-inline`, `config-fetch`, `config-parse`, `load`, `timeout`,
 * `already-mounted`, …), never a bare string or a raw `SyntaxError`, and
 * `consent:error` fires on the target with the same detail.
 */
export async function mount(target, config, options = {}) {
  const ms = options.timeout > 0 ? options.timeout : TIMEOUT_MS;
  let timer;
  /** Set when this mount has failed (its deadline passed): the wasm, if it lands later, mounts nothing. */
  let abandoned = false;
  // The wasm (streamed and compiled as it arrives) and the config load at
  // the same time, never one after the other.
  const mounting = Promise.all([
    load(),
    Promise.all([loadConfig(config), early]).then(([resolved]) => {
      // The first question as HTML while the wasm downloads (nothing when
      // the config has no token, or the host cannot render it).
      // (Served as built only: early.js, which asks, is the host's file.)
      const ask = SERVED_AS_BUILT && !loaded && window.ConsentPrompt && window.ConsentPrompt.early;
      if (ask) {
        ask(element(target), resolved, {
          render: options.render,
          assetBase: here(""),
        });
      }
      return resolved;
    }),
  ]).then(([glue, resolved]) => {
    if (abandoned) throw fault("timeout", "the consent prompt arrived after its mount had failed");
    return glue.mountPrompt(target, resolved, options.embed ?? "module");
  });
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(fault("timeout", `the consent prompt did not start within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([mounting, late]);
  } catch (error) {
    const e = typed(error);
    // Too late is too late: a prompt that arrives after the failure was
    // reported is never mounted (and one mid-way is destroyed).
    abandoned = true;
    if (e.code === "timeout") mounting.then((h) => h.destroy(), () => {});
    const at = element(target);
    // A question shown as HTML before the code cannot record anything
    // now: it goes, and no render still on its way is put in its place.
    if (at && window.ConsentPrompt && window.ConsentPrompt.abandon) window.ConsentPrompt.abandon(at);
    if (at && !(FROM_WASM.has(e.code) && e === error)) {
      at.dispatchEvent(new CustomEvent("consent:error", { detail: e, bubbles: true, composed: true }));
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

function element(target) {
  try {
    return typeof target === "string" ? document.querySelector(target) : target;
  } catch {
    return null;
  }
}

/**
 * A config as given to `mount`: an object as it is; `#id` read from the
 * page; anything else fetched as JSON. Rejects with `config-inline`,
 * `config-fetch` (naming the URL and status) or `config-parse` (the body
 * is not JSON, with its content type).
 */
export async function loadConfig(source) {
  if (typeof source !== "string") return source;
  return source.startsWith("#") ? inlineConfig(source) : fetchConfig(source);
}

/** The config written into the page, as `<script type="application/json" id="…">`. */
function inlineConfig(selector) {
  const element = document.querySelector(selector);
  if (!element) throw fault("config-inline", `no element matches ${selector} (the config's <script type="application/json">)`);
  try {
    return JSON.parse(element.textContent);
  } catch (error) {
    throw fault("config-inline", `the config in ${selector} is not JSON: ${error.message}`);
  }
}

async function fetchConfig(source) {
  const url = new URL(source, document.baseURI).href;
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin" });
  } catch (error) {
    throw fault("config-fetch", `could not load the config from ${source} (${error && error.message ? error.message : "network error"})`, { url, status: null });
  }
  if (!response.ok) {
    throw fault("config-fetch", `could not load the config from ${source} (HTTP ${response.status})`, { url, status: response.status });
  }
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch (error) {
    const type = response.headers.get("content-type") || "no content type";
    throw fault("config-parse", `the config from ${source} is not JSON (${type}): ${error.message}`, { url, status: response.status });
  }
}

export const version = "0.1.0";
