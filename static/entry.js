// Consent Prompt, ES module entry.
//
//   import { mount } from "/consent-prompt/consent-prompt.js";
//   const prompt = await mount("#consent", config);
//   await prompt.commit();
//
// This file keeps a stable name; it loads the wasm beside it once.
import init, { mountPrompt } from "./consent_prompt.js";

let loading = null;

/** Loads the WebAssembly once; later calls share the same promise. */
export function load() {
  if (!loading) {
    loading = init({ module_or_path: new URL("./consent_prompt_bg.wasm", import.meta.url) });
  }
  return loading;
}

/**
 * Mounts the prompt into `target` (an Element or a CSS selector).
 * `config` is the config object, or a URL to fetch it from as JSON.
 * Resolves with a handle: { commit(), update(config), state(), destroy() }.
 * Rejects with { code, message, errors: [{ path, message }] } on a bad config.
 */
export async function mount(target, config, options = {}) {
  await load();
  if (typeof config === "string") {
    const response = await fetch(config, { credentials: "same-origin" });
    if (!response.ok) {
      throw { code: "config-fetch", message: `could not load the config from ${config} (HTTP ${response.status})`, errors: [] };
    }
    config = await response.json();
  }
  return mountPrompt(target, config, options.embed ?? "module");
}

export const version = "0.1.0";
