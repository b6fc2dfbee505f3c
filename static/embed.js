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
  var TIMEOUT_MS = 20000;
  // Codes the wasm's mountPrompt reports itself, having fired consent:error.
  var FROM_WASM = { "invalid-config": true, "already-mounted": true, browser: true };
  function fault(code, message, extra) {
    return Object.assign({ code: code, message: message, field: null, errors: [] }, extra || {});
  }
  function typed(error) {
    if (error && typeof error === "object" && typeof error.code === "string") return error;
    return fault("load", "the consent prompt's code could not be loaded: " + (error && error.message ? error.message : String(error)));
  }
  // The config: an object as given; "#id" of a JSON data block; or a URL,
  // fetched as the preload hint below asked for it. Typed errors name it.
  function resolveConfig(config) {
    if (typeof config !== "string") return Promise.resolve(config);
    if (config.charAt(0) === "#") {
      return new Promise(function (resolve) {
        var element = document.querySelector(config);
        if (!element) throw fault("config-inline", "no element matches " + config + " (the config's <script type=\"application/json\">)");
        try {
          resolve(JSON.parse(element.textContent));
        } catch (error) {
          throw fault("config-inline", "the config in " + config + " is not JSON: " + error.message);
        }
      });
    }
    var url = new URL(config, document.baseURI).href;
    return fetch(url, { credentials: "same-origin" }).then(
      function (response) {
        if (!response.ok) {
          throw fault("config-fetch", "could not load the config from " + config + " (HTTP " + response.status + ")", { url: url, status: response.status });
        }
        return response.text().then(function (text) {
          try {
            return JSON.parse(text);
          } catch (error) {
            var type = response.headers.get("content-type") || "no content type";
            throw fault("config-parse", "the config from " + config + " is not JSON (" + type + "): " + error.message, { url: url, status: response.status });
          }
        });
      },
      function (error) {
        throw fault("config-fetch", "could not load the config from " + config + " (" + error.message + ")", { url: url, status: null });
      }
    );
  }
  function element(target) {
    try {
      return typeof target === "string" ? document.querySelector(target) : target;
    } catch (e) {
      return null;
    }
  }
  var ConsentPrompt = (window.ConsentPrompt = window.ConsentPrompt || {});
  // Settles within options.timeout ms (default 20 000); rejects with the
  // typed error, also fired as consent:error on the target.
  ConsentPrompt.mount = function (target, config, options) {
    options = Object.assign({ embed: "script" }, options || {});
    var ms = options.timeout > 0 ? options.timeout : TIMEOUT_MS;
    var timer;
    var mounting = Promise.all([module(), resolveConfig(config)]).then(function (both) {
      return both[0].mount(target, both[1], { embed: options.embed });
    });
    var late = new Promise(function (_, reject) {
      timer = setTimeout(function () {
        reject(fault("timeout", "the consent prompt did not start within " + ms / 1000 + " s"));
      }, ms);
    });
    return Promise.race([mounting, late]).then(
      function (handle) {
        clearTimeout(timer);
        return handle;
      },
      function (error) {
        clearTimeout(timer);
        var e = typed(error);
        // A prompt arriving after its failure was reported is not shown.
        if (e.code === "timeout") mounting.then(function (h) { h.destroy(); }, function () {});
        var at = element(target);
        if (at && !(FROM_WASM[e.code] && e === error)) {
          at.dispatchEvent(new CustomEvent("consent:error", { detail: e, bubbles: true, composed: true }));
        }
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
