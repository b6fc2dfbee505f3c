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
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin" });
  } catch (error) {
    throw { code: "config-fetch", message: `could not load the config from ${url} (${error && error.message ? error.message : "network error"})`, errors: [] };
  }
  if (!response.ok) {
    throw { code: "config-fetch", message: `could not load the config from ${url} (HTTP ${response.status})`, errors: [] };
  }
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch (error) {
    const type = response.headers.get("content-type") || "no content type";
    throw { code: "config-parse", message: `the config at ${url} is not JSON (${type}): ${error.message}`, errors: [] };
  }
}

export const version = "0.1.0";
