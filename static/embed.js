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
//
// With a checkout token in the config, the first question is asked of the
// host as HTML (static/early.js, built into the front of this file) before
// the code is asked for, and shown as soon as it arrives; the wasm takes it
// over when it lands.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  /**
   * The Subresource Integrity of every file after this one, written in by
   * the build (scripts/stamp.mjs): the page's integrity on this file
   * covers the module entry, the glue, the wasm and the element, each
   * refused by the browser if it was changed (the stylesheet comes inline
   * with the first question, or within the wasm).
   */
  var INTEGRITY = "__CP_INTEGRITY__";
  function sri(file) {
    return (typeof INTEGRITY === "object" && INTEGRITY[file]) || "";
  }
  function at(file) {
    return new URL(file, script.src).href;
  }
  var ConsentPrompt = window.ConsentPrompt;
  var entry = at("consent-prompt.js");
  var target = script.getAttribute("data-target");
  var config = script.getAttribute("data-config");
  var render = script.getAttribute("data-render");
  // <consent-prompt>, for pages that use it
  function el() {
    if (document.querySelector("consent-prompt")) {
      hint("modulepreload", "element.js", {});
      import(at("element.js"));
    }
  }
  var api = null;
  function module() {
    if (!api) {
      api = gate
        ? gate.then(function () {
            return import(entry);
          })
        : import(entry);
    }
    return api;
  }
  // No request waterfall: ask for the entry, the glue, the wasm and the
  // stylesheet at once, rather than each after the one that names it;
  // each with its integrity, which the later import or fetch then meets.
  function hint(rel, file, extra) {
    // A fetch preload cannot carry an integrity (the browser ignores it);
    // the entry's fetch of the wasm checks it instead.
    ConsentPrompt.preload(rel, at(file), extra.as === "fetch" ? "" : sri(file), extra);
  }
  // The first question as HTML comes first: asked for before anything else,
  // and, on a slow connection, not sharing the line with the code. The
  // entry, the glue and the wasm are asked for once it has arrived (or
  // failed, or after 2 s at most: ConsentPrompt.after), all at once. A
  // question the server rendered is on screen already: its first paint
  // goes first, and the code's requests start in the task after it (after
  // 200 ms at most: a hidden tab paints nothing).
  var into = target && document.querySelector(target);
  var serverRendered = !!(into && into.shadowRoot);
  var asked = serverRendered ? null : early();
  var gate = serverRendered ? ConsentPrompt.after(painted(), 200) : asked ? ConsentPrompt.after(asked) : null;
  function painted() {
    return new Promise(function (resolve) {
      requestAnimationFrame(function () {
        setTimeout(resolve, 0);
      });
    });
  }
  function code() {
    hint("modulepreload", "consent-prompt.js", {});
    hint("modulepreload", "consent_prompt.js", {});
    hint("preload", "consent_prompt_bg.wasm", { as: "fetch", type: "application/wasm", crossorigin: "anonymous" });
  }
  if (gate) gate.then(code);
  else code();
  el();
  addEventListener("DOMContentLoaded", el);
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
  if (!target || !config) return;
  /**
   * The first question as HTML, from the config written into the page
   * (`data-config="#id"`): the promise of it when it was asked for, else null.
   */
  function early() {
    if (!target || !config || config.charAt(0) !== "#" || render === "off") return null;
    var block = document.querySelector(config);
    if (!block || !into) return null;
    var inline;
    try {
      inline = JSON.parse(block.textContent);
    } catch (error) {
      return null; // the entry reports it, typed
    }
    if (!inline || !inline.token || !inline.endpoint) return null;
    return ConsentPrompt.early(into, inline, {
      render: render,
      assetBase: at("."),
    });
  }
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
    ConsentPrompt.mount(target, config, { timeout: Number(script.getAttribute("data-timeout")), render: render === "off" ? false : render }).then(
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
  // A config by URL: asked for now, beside the code (the entry asks the
  // host for the first question once it has it).
  if (config.charAt(0) !== "#") {
    var link = document.createElement("link");
    link.rel = "preload";
    link.as = "fetch";
    link.crossOrigin = "anonymous";
    link.href = new URL(config, document.baseURI).href;
    document.head.appendChild(link);
  }
  module();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
  else start();
})();
