// Consent Prompt in an iframe: the parent-page helper.
//
//   <div id="consent"></div>
//   <script src="https://tickets.example/consent-prompt/host.js" async
//           data-target="#consent" data-config="#consent-config"></script>
//
// mounts it with the config in that JSON block (or at that URL), and
// ConsentPromptFrame.ready resolves with the handle. Or, from the page's code:
//
//   <div id="consent"></div>
//   <script src="https://tickets.example/consent-prompt/host.js"></script>
//   const prompt = await ConsentPromptFrame.mount("#consent", {
//     src: "https://tickets.example/consent-prompt/frame.html",
//     config: { ... },
//   });
//   await prompt.commit();
//
// With a checkout token in the config it opens the frame with a form POST
// of the config, which the host answers with the first question already
// in the frame's page (options.render: false opens src as built instead).
//
// It accepts messages only from the frame it created (event.source) and only
// from the frame's origin (event.origin), and posts only to that origin.
(function () {
  "use strict";
  var PREFIX = "consent-prompt:";
  var VERSION = 1;
  /** mount() settles within this (options.timeout): the frame loads, says ready, mounts. */
  var TIMEOUT_MS = 20000;
  /** Each commit(), outbox(), retry() and receipt() settles within this (options.requestTimeout). */
  var REQUEST_TIMEOUT_MS = 30000;
  /** Containers holding a live frame prompt: a second mount into one is refused. */
  var live = typeof WeakMap === "function" ? new WeakMap() : null;

  function fault(code, message) {
    return { code: code, message: message, field: null, errors: [], recordIds: [] };
  }

  function mount(target, options) {
    var container = typeof target === "string" ? document.querySelector(target) : target;
    if (!container) return Promise.reject(fault("no-target", "no element matches " + target));
    function refuse(error) {
      container.dispatchEvent(new CustomEvent("consent:error", { detail: error, bubbles: true }));
      return Promise.reject(error);
    }
    if (!options || !options.src || !options.config) {
      return refuse(fault("bad-options", "mount(target, {src, config}) needs src and config"));
    }
    if (live && live.get(container)) {
      return refuse(fault("already-mounted", "this element already holds a live consent prompt frame: call destroy() on its handle before mounting another"));
    }
    var src = new URL(options.src, location.href);
    var origin = src.origin;
    var timeout = options.timeout > 0 ? options.timeout : TIMEOUT_MS;
    var requestTimeout = options.requestTimeout > 0 ? options.requestTimeout : REQUEST_TIMEOUT_MS;
    var frame = document.createElement("iframe");
    // With a checkout token, the frame is opened by a form POST carrying
    // the config: the host answers with the first question already in the
    // page (no wait for the handshake, the module or the wasm). Without
    // one, or with options.render false, it opens frame.html as built.
    var post = options.render !== false && !!options.config.token;
    if (post) frame.name = "consent-prompt-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
    else frame.src = src.href;
    frame.title = options.title || "Contact preferences";
    frame.setAttribute("scrolling", "no");
    frame.className = "consent-prompt-frame";
    frame.style.border = "0";
    frame.style.width = "100%";
    frame.style.display = "block";
    frame.style.height = "0px";
    var state = null;
    var pending = {};
    var seq = 0;
    var logged = {};
    var mounted = null;
    var settled = false;
    var destroyed = false;
    var loaded = false;
    var greeted = false;
    var unwatch = function () {};
    var mountedPromise = new Promise(function (resolve, reject) {
      mounted = { resolve: resolve, reject: reject };
    });

    function ignore(key, message) {
      if (logged[key]) return;
      logged[key] = true;
      console.warn("[consent-prompt host] ignored a message: " + message);
    }
    function send(name, body) {
      if (!frame.contentWindow) return;
      var message = Object.assign({ type: PREFIX + name, v: VERSION }, body || {});
      frame.contentWindow.postMessage(message, origin);
    }
    function emit(name, detail) {
      container.dispatchEvent(new CustomEvent("consent:" + name, { detail: detail, bubbles: true }));
    }
    // The mount failed: said once (consent:error, then the rejection), and
    // the frame and its listener are gone, so no prompt turns up later.
    function fail(error) {
      if (settled) return;
      settled = true;
      unwatch();
      clearTimeout(timer);
      teardown();
      emit("error", error);
      mounted.reject(error);
    }
    var timer = setTimeout(function () {
      if (!loaded) {
        fail(fault("timeout", "the consent prompt frame at " + src.href + " did not load within " + timeout / 1000 + " s"));
      } else if (!greeted) {
        // A frame that loaded and never said ready: its host's
        // frame-ancestors or allowed parent origins leave this page out.
        fail(fault("origin", "the consent prompt frame at " + src.href + " loaded but did not accept this page (" + location.origin + ") as its parent within " + timeout / 1000 + " s: add this origin to the host's allowed parent origins (--frame-parents)"));
      } else {
        fail(fault("timeout", "the consent prompt in the frame at " + src.href + " did not start within " + timeout / 1000 + " s"));
      }
    }, timeout);

    function onMessage(event) {
      if (event.source !== frame.contentWindow) return; // not our frame: not for us
      if (event.origin !== origin) return ignore("origin:" + event.origin, "from " + event.origin + ", not " + origin);
      var m = event.data;
      if (!m || typeof m !== "object" || m.v !== VERSION || typeof m.type !== "string" || m.type.indexOf(PREFIX) !== 0) {
        return ignore("malformed", "malformed or unversioned message");
      }
      var name = m.type.slice(PREFIX.length);
      switch (name) {
        case "ready":
          greeted = true;
          return send("init", { config: options.config });
        case "refused":
          return fail(Object.assign(fault("origin", "the consent prompt frame refused this page (" + location.origin + ") as its parent"), m.detail || {}, { code: "origin" }));
        case "mounted":
          state = m.detail && m.detail.state;
          emit("ready", m.detail);
          if (!settled) {
            settled = true;
            unwatch();
            clearTimeout(timer);
            if (live) live.set(container, handle);
            mounted.resolve(handle);
          }
          return;
        case "resize":
          if (typeof m.height === "number" && m.height >= 0) frame.style.height = Math.ceil(m.height) + "px";
          return;
        case "change":
          state = m.detail;
          return emit("change", m.detail);
        case "commit":
        case "reply":
        case "error":
          if (m.requestId) {
            // The answer to one request; the events come apart.
            var p = pending[m.requestId];
            if (!p) return;
            delete pending[m.requestId];
            clearTimeout(p.timer);
            if (name === "error") p.reject(m.detail);
            else p.resolve(m.detail === undefined ? null : m.detail);
            return;
          }
          if (name === "reply") return;
          if (name === "error" && !settled) return fail(m.detail);
          return emit(name, m.detail);
        default:
          return ignore("type:" + m.type, "unknown type " + m.type);
      }
    }
    window.addEventListener("message", onMessage);

    function teardown() {
      unwatch();
      window.removeEventListener("message", onMessage);
      Object.keys(pending).forEach(function (id) {
        clearTimeout(pending[id].timer);
        pending[id].reject(fault("destroyed", "the consent prompt has been destroyed"));
      });
      pending = {};
      frame.remove();
      if (live && live.get(container) === handle) live.delete(container);
    }

    // One request to the frame, answered once with its id; settles within
    // requestTimeout ms whatever the frame does.
    function request(name) {
      if (destroyed) return Promise.reject(fault("destroyed", "the consent prompt has been destroyed: mount it again for a new handle"));
      var id = name.charAt(0) + ++seq + "-" + Date.now();
      return new Promise(function (resolve, reject) {
        var timer = setTimeout(function () {
          delete pending[id];
          reject(fault("timeout", "the consent prompt frame did not answer " + name + "() within " + requestTimeout / 1000 + " s"));
        }, requestTimeout);
        pending[id] = { resolve: resolve, reject: reject, timer: timer };
        send(name, { requestId: id });
      });
    }
    function alive() {
      if (destroyed) throw fault("destroyed", "the consent prompt has been destroyed: mount it again for a new handle");
    }

    var handle = {
      frame: frame,
      commit: function () {
        return request("commit");
      },
      /** What the frame's outbox holds (as the module handle's outbox()). */
      outbox: function () {
        return request("outbox");
      },
      /** Sends what is pending or held now (as the module handle's retry()). */
      retry: function () {
        return request("retry");
      },
      /** The last successful commit's receipt, or null (a promise: it comes from the frame). */
      receipt: function () {
        return request("receipt");
      },
      update: function (config) {
        alive();
        options.config = config;
        send("update", { config: config });
      },
      state: function () {
        alive();
        return state;
      },
      destroy: function () {
        if (destroyed) return;
        destroyed = true;
        teardown();
      },
    };
    container.appendChild(frame);
    if (post) open();
    // Listened to from here on: a frame without a src loads about:blank
    // as it is added, which is not the prompt's page.
    frame.addEventListener("load", function () {
      loaded = true;
    });
    return mountedPromise;

    /**
     * The form POST into the frame: one field, `request`, the render
     * request (the config, the page's language). A page whose CSP
     * `form-action` leaves the host out cannot send it: the frame then
     * opens frame.html as built, and the config goes by the handshake.
     */
    function open() {
      var form = document.createElement("form");
      form.method = "POST";
      form.action = src.href;
      form.target = frame.name;
      form.hidden = true;
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = "request";
      var request = { config: options.config };
      if (document.documentElement.lang) request.pageLang = document.documentElement.lang;
      field.value = JSON.stringify(request);
      form.appendChild(field);
      function refused(event) {
        if (event.violatedDirective !== "form-action" && event.effectiveDirective !== "form-action") return;
        document.removeEventListener("securitypolicyviolation", refused);
        frame.src = src.href;
      }
      document.addEventListener("securitypolicyviolation", refused);
      // Listened to until the mount settles or the frame is gone.
      unwatch = function () {
        document.removeEventListener("securitypolicyviolation", refused);
      };
      (document.body || document.documentElement).appendChild(form);
      form.submit();
      form.remove();
    }
  }

  window.ConsentPromptFrame = { mount: mount, version: "0.1.0" };

  // With no code of the page's own, as a classic script:
  //   <script src="…/host.js" async data-target="#consent" data-config="#consent-config"></script>
  // mounts the frame (frame.html beside this file, or data-src) with that
  // config once the parser has reached the target and the config block;
  // ConsentPromptFrame.ready settles with the handle or the typed error,
  // which also fires as consent:error on the target (and, with no target
  // to fire it on, goes to the console).
  var script = document.currentScript;
  var target = script && script.getAttribute("data-target");
  var source = script && script.getAttribute("data-config");
  if (!target || !source) return;
  var title = script.getAttribute("data-title") || undefined;
  var ready = parsed()
    .then(config)
    .then(
      function (config) {
        var frameSrc = new URL(script.getAttribute("data-src") || "frame.html", script.src || location.href).href;
        return mount(target, { src: frameSrc, config: config, title: title });
      },
      function (error) {
        var at = find(target);
        if (at) at.dispatchEvent(new CustomEvent("consent:error", { detail: error, bubbles: true }));
        throw error;
      }
    );
  ready.catch(function (error) {
    if (!find(target)) console.error("[consent-prompt host] the frame was not mounted: " + (error && error.message ? error.message : error));
  });
  window.ConsentPromptFrame.ready = ready;

  function find(selector) {
    try {
      return document.querySelector(selector);
    } catch (error) {
      return null;
    }
  }

  /**
   * Resolves once the target and the whole of a config block are in the
   * page (a block the parser is still inside has no next sibling yet), or
   * once the page is parsed.
   */
  function parsed() {
    var block = source.charAt(0) === "#" ? find(source) : null;
    var whole = source.charAt(0) !== "#" || (block && block.nextSibling);
    if (document.readyState !== "loading" || (find(target) && whole)) return Promise.resolve();
    return new Promise(function (resolve) {
      document.addEventListener("DOMContentLoaded", resolve, { once: true });
    });
  }

  /** The config: a JSON block in the page ("#id"), or fetched from a URL. */
  function config() {
    if (source.charAt(0) === "#") {
      var block = find(source);
      if (!block) return Promise.reject(fault("config-inline", "no element matches " + source + " (the config's <script type=\"application/json\">)"));
      try {
        return Promise.resolve(JSON.parse(block.textContent));
      } catch (error) {
        return Promise.reject(fault("config-inline", "the config in " + source + " is not JSON: " + error.message));
      }
    }
    return fetch(new URL(source, document.baseURI).href, { credentials: "same-origin" }).then(
      function (response) {
        if (!response.ok) throw fault("config-fetch", "could not load the config from " + source + " (HTTP " + response.status + ")");
        return response.json().catch(function (error) {
          throw fault("config-parse", "the config from " + source + " is not JSON: " + error.message);
        });
      },
      function (error) {
        throw fault("config-fetch", "could not load the config from " + source + " (" + (error && error.message ? error.message : "network error") + ")");
      }
    );
  }
})();
