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
  ConsentPrompt.mount = function (target, config, options) {
    return module().then(function (m) {
      return m.mount(target, config, Object.assign({ embed: "script" }, options || {}));
    });
  };
  var target = script.getAttribute("data-target");
  var config = script.getAttribute("data-config");
  if (!target || !config) return;
  var settle;
  // Resolves with the handle once the prompt has mounted itself.
  ConsentPrompt.ready = new Promise(function (resolve) {
    settle = resolve;
  });
  function start() {
    ConsentPrompt.mount(target, config).then(
      function (handle) {
        ConsentPrompt.handle = handle;
        settle(handle);
      },
      function (error) {
        console.error("[consent-prompt] could not mount:", error && error.message ? error.message : error, error);
      }
    );
  }
  // data-config="#id": the config is in the page already; nothing to fetch.
  if (config.charAt(0) !== "#") hint("preload", new URL(config, document.baseURI).href, { as: "fetch", crossorigin: "anonymous" });
  module();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
  else start();
})();
