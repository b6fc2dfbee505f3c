// Consent Prompt, classic script entry. No build step needed:
//
//   <script src="/consent-prompt/embed.js" data-target="#consent"
//           data-config="/consent-config.json" async></script>
//
// data-config is a URL to the JSON config, or "#id" of a
// <script type="application/json" id="id"> holding it in the page.
//
// mounts the prompt automatically, and window.ConsentPrompt.mount(target, config)
// is there for pages that mount it themselves.
//
// Every mount settles within data-timeout ms (default 20 000: the config's
// request, the wasm and the mount together). ConsentPrompt.ready resolves
// with the handle or rejects with the typed error {code, message, field,
// errors}, which also fires as consent:error on the target element.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var entry = new URL("consent-prompt.js", script.src).href;
  // <consent-prompt>, for pages that use it
  function el() { if (document.querySelector("consent-prompt")) import(new URL("element.js", script.src).href); }
  el(); addEventListener("DOMContentLoaded", el);
  var api = null;
  function module() {
    if (!api) api = import(entry);
    return api;
  }
  // No request waterfall: ask for the entry, the glue and the wasm at once,
  // rather than each after the one that names it.
  function hint(rel, file, extra) {
    var link = document.createElement("link");
    link.rel = rel;
    link.href = new URL(file, script.src).href;
    for (var k in extra) link.setAttribute(k, extra[k]);
    document.head.appendChild(link);
  }
  hint("modulepreload", "consent-prompt.js", {});
  hint("modulepreload", "consent_prompt.js", {});
  hint("preload", "consent_prompt_bg.wasm", { as: "fetch", type: "application/wasm", crossorigin: "anonymous" });
  var ConsentPrompt = (window.ConsentPrompt = window.ConsentPrompt || {});
  // The entry module settles every mount within its timeout with a typed
  // error and tells the page (consent:error); only its own download can
  // fail before it runs.
  ConsentPrompt.mount = function (target, config, options) {
    return module().then(
      function (m) {
        return m.mount(target, config, Object.assign({ embed: "script" }, options || {}));
      },
      function (error) {
        var e = { code: "load", message: "the consent prompt's code could not be loaded: " + (error && error.message ? error.message : String(error)), field: null, errors: [] };
        var at = typeof target === "string" ? document.querySelector(target) : target;
        if (at) at.dispatchEvent(new CustomEvent("consent:error", { detail: e, bubbles: true, composed: true }));
        throw e;
      }
    );
  };
  var target = script.getAttribute("data-target");
  var config = script.getAttribute("data-config");
  if (!target || !config) return;
  var settle;
  // Resolves with the handle once the prompt has mounted itself; rejects
  // with the typed error if it could not (within data-timeout ms).
  ConsentPrompt.ready = new Promise(function (resolve, reject) {
    settle = { resolve: resolve, reject: reject };
  });
  // Handled here too, so a page that never asks is not told of an
  // unhandled rejection; the console line below says what happened.
  ConsentPrompt.ready.catch(function () {});
  function start() {
    ConsentPrompt.mount(target, config, { timeout: Number(script.getAttribute("data-timeout")) }).then(
      function (handle) {
        ConsentPrompt.handle = handle;
        settle.resolve(handle);
      },
      function (error) {
        ConsentPrompt.error = error;
        console.error("[consent-prompt] could not mount:", error.message, error);
        settle.reject(error);
      }
    );
  }
  // data-config="#id": the config is in the page already; nothing to fetch.
  if (config.charAt(0) !== "#") hint("preload", new URL(config, document.baseURI).href, { as: "fetch", crossorigin: "anonymous" });
  module();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
  else start();
})();
