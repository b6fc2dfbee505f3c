// Consent Prompt in an iframe: the parent-page helper.
//
//   <div id="consent"></div>
//   <script src="https://tickets.example/consent-prompt/host.js"></script>
//   const prompt = await ConsentPromptFrame.mount("#consent", {
//     src: "https://tickets.example/consent-prompt/frame.html",
//     config: { ... },
//   });
//   await prompt.commit();
//
// It accepts messages only from the frame it created (event.source) and only
// from the frame's origin (event.origin), and posts only to that origin.
(function () {
  "use strict";
  var PREFIX = "consent-prompt:";
  var VERSION = 1;

  function mount(target, options) {
    var container = typeof target === "string" ? document.querySelector(target) : target;
    if (!container) return Promise.reject({ code: "no-target", message: "no element matches " + target });
    if (!options || !options.src || !options.config) {
      return Promise.reject({ code: "bad-options", message: "mount(target, {src, config}) needs src and config" });
    }
    var src = new URL(options.src, location.href);
    var origin = src.origin;
    var frame = document.createElement("iframe");
    frame.src = src.href;
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
          return send("init", { config: options.config });
        case "mounted":
          state = m.detail && m.detail.state;
          emit("ready", m.detail);
          return mounted.resolve(handle);
        case "resize":
          if (typeof m.height === "number" && m.height >= 0) frame.style.height = Math.ceil(m.height) + "px";
          return;
        case "change":
          state = m.detail;
          return emit("change", m.detail);
        case "commit":
        case "error":
          if (m.requestId) {
            // The answer to one commit() call; the events come apart.
            var p = pending[m.requestId];
            if (!p) return;
            delete pending[m.requestId];
            if (name === "commit") p.resolve(m.detail);
            else p.reject(m.detail);
            return;
          }
          if (name === "error" && !state) mounted.reject(m.detail);
          return emit(name, m.detail);
        default:
          return ignore("type:" + m.type, "unknown type " + m.type);
      }
    }
    window.addEventListener("message", onMessage);

    var handle = {
      frame: frame,
      commit: function () {
        var id = "c" + ++seq + "-" + Date.now();
        return new Promise(function (resolve, reject) {
          pending[id] = { resolve: resolve, reject: reject };
          send("commit", { requestId: id });
        });
      },
      update: function (config) {
        options.config = config;
        send("update", { config: config });
      },
      state: function () {
        return state;
      },
      destroy: function () {
        window.removeEventListener("message", onMessage);
        Object.keys(pending).forEach(function (id) {
          pending[id].reject({ code: "destroyed", message: "the prompt was removed" });
        });
        pending = {};
        frame.remove();
      },
    };
    container.appendChild(frame);
    return mountedPromise;
  }

  window.ConsentPromptFrame = { mount: mount, version: "0.1.0" };
})();
