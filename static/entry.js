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

/** Loads the WebAssembly once; later calls share the same promise. */
export function load() {
  if (!loading) {
    loading = init({ module_or_path: new URL("./consent_prompt_bg.wasm", import.meta.url) });
  }
  return loading;
}

/**
 * Mounts the prompt into `target` (an Element or a CSS selector).
 * `config` is the config object; or `#id` of a
 * `<script type="application/json">` in the page that holds it (no request
 * at all); or a URL to fetch it from as JSON.
 * Resolves with a handle: { commit(), update(config), state(), destroy() }.
 * Rejects with { code, message, errors: [{ path, message }] } on a bad config.
 */
export async function mount(target, config, options = {}) {
  // The wasm (streamed and compiled as it arrives) and the config load at
  // the same time, never one after the other.
  const [, resolved] = await Promise.all([load(), typeof config === "string" ? configFrom(config) : config]);
  return mountPrompt(target, resolved, options.embed ?? "module");
}

function configFrom(source) {
  return source.startsWith("#") ? inlineConfig(source) : fetchConfig(source);
}

/** The config written into the page, as `<script type="application/json" id="…">`. */
function inlineConfig(selector) {
  const element = document.querySelector(selector);
  if (!element) {
    throw { code: "config-inline", message: `no element matches ${selector} (the config's <script type="application/json">)`, errors: [] };
  }
  try {
    return JSON.parse(element.textContent);
  } catch (error) {
    throw { code: "config-inline", message: `the config in ${selector} is not JSON: ${error.message}`, errors: [] };
  }
}

async function fetchConfig(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) {
    throw { code: "config-fetch", message: `could not load the config from ${url} (HTTP ${response.status})`, errors: [] };
  }
  return response.json();
}

export const version = "0.1.0";
