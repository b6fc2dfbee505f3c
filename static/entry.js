// Consent Prompt, ES module entry.
//
//   import { mount } from "/consent-prompt/consent-prompt.js";
//   const prompt = await mount("#consent", config);
//   await prompt.commit();
//
// This file keeps a stable name; it loads the wasm beside it once.
import init, { mountPrompt } from "./consent_prompt.js";

let loading = null;

// A server-rendered prompt can be answered before the wasm arrives. Note
// when each of its inputs changed (`input` events cross the shadow root),
// so the record states when the patron decided, not when the prompt woke.
document.addEventListener(
  "input",
  (event) => {
    const input = event.composedPath()[0];
    if (input instanceof HTMLInputElement && input.closest("[data-cp-render]")) {
      input.setAttribute("data-cp-at", String(Date.now()));
    }
  },
  true
);

// Save pressed on a server-rendered prompt before the wasm took it over:
// the page must not navigate (the answers would be lost). The press is
// held here, shown as in progress, and committed once, as soon as the
// prompt is taken over (`data-cp-save` on the rendered prompt, read by
// mount). `click` crosses the shadow root; `submit` does not. A prompt
// that is live (`data-cp-live` on its element) handles its own Save.
document.addEventListener(
  "click",
  (event) => {
    const path = event.composedPath();
    const button = path[0];
    if (!(button instanceof HTMLButtonElement) || button.type !== "submit") return;
    const render = button.closest("[data-cp-render]");
    const host = render && render.getRootNode().host;
    if (!render || !host || host.hasAttribute("data-cp-live")) return;
    event.preventDefault();
    if (render.hasAttribute("data-cp-save")) return;
    render.setAttribute("data-cp-save", String(Date.now()));
    // Beside the prompt, never inside it: the DOM the wasm takes over stays
    // exactly as the server rendered it.
    const status = render.querySelector("[part=status]");
    const note = document.createElement("p");
    note.setAttribute("role", "status");
    note.setAttribute("data-cp-early", "");
    note.className = "cp-early";
    note.textContent = (status && status.getAttribute("data-saving")) || "Saving…";
    render.after(note);
  },
  true
);

/** Loads the WebAssembly once; later calls share the same promise. */
export function load() {
  if (!loading) {
    loading = init({ module_or_path: new URL("./consent_prompt_bg.wasm", import.meta.url) });
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
  // The wasm (streamed and compiled as it arrives) and the config load at
  // the same time, never one after the other.
  const mounting = Promise.all([load(), loadConfig(config)]).then(([, resolved]) =>
    mountPrompt(target, resolved, options.embed ?? "module")
  );
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(fault("timeout", `the consent prompt did not start within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([mounting, late]);
  } catch (error) {
    const e = typed(error);
    // Too late is too late: a prompt that arrives after the failure was
    // reported is not shown.
    if (e.code === "timeout") mounting.then((h) => h.destroy(), () => {});
    const at = element(target);
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
