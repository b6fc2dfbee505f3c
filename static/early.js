// Consent Prompt: the first question as HTML, before the wasm.
//
// Built into the front of embed.js, consent-prompt.js, element.js and
// frame.js (scripts/trunk-post-build.sh), so each entry has it without a
// request of its own; whichever runs first defines it, once, as
// ConsentPrompt.early (and ConsentPrompt.preload, the entries' one way to
// ask for a file ahead with its integrity).
//
// early(target, config, options) asks the host to render the prompt for
// this config (POST <endpoint's /api/v1/>prompt/fragment, a CORS "simple"
// request: a text/plain body and no Authorization header, so no preflight
// round trip; the checkout token is the config's own), before the code
// downloads, and puts the HTML in the target's shadow root. It asks for
// the stylesheet inline (`inlineStyle`) and adopts it as a constructable
// stylesheet (which a page's CSP does not govern), so the question shows
// with no second request; a render that links it instead (a venue's own
// render URL) is shown once the link has loaded. The wasm, when it
// arrives, takes that HTML over as it stands (hydration), with whatever
// the patron already chose. Without a token, with a render that fails or
// is refused, or once the wasm got there first, nothing is inserted and
// the prompt renders itself as before. It resolves with true (inserted)
// or false, never rejects. options: `render` (a URL, or false),
// `assetBase` (where the widget's files are, for a render that links
// them).
//
// CP.after(promise, ms) lets an entry wait for its early render (at most
// ms) before it asks for the wasm.
//
// It also watches the HTML the wasm has not yet taken over (rendered on
// demand, or by the venue's server):
// - the moment each answer changed (`data-cp-at`), so a record states when
//   the patron decided, not when the prompt woke;
// - Save pressed early: held (the page must not navigate, the answers
//   would be lost), shown as in progress, and committed once, as soon as
//   the prompt is taken over (`data-cp-save`, read by the wasm's mount).
(function () {
  "use strict";
  var CP = (window.ConsentPrompt = window.ConsentPrompt || {});
  if (CP.early) return;
  var asked = new WeakMap();
  /** Targets whose mount failed: no render is put into them any more. */
  var abandoned = new WeakSet();

  // `input` and `click` cross the shadow root; `submit` does not. A
  // prompt that is live (`data-cp-live` on its element) handles its own.
  document.addEventListener(
    "input",
    function (event) {
      var input = event.composedPath()[0];
      if (input instanceof HTMLInputElement && input.closest("[data-cp-render]")) {
        input.setAttribute("data-cp-at", String(Date.now()));
      }
    },
    true
  );
  document.addEventListener(
    "click",
    function (event) {
      var button = event.composedPath()[0];
      if (!(button instanceof HTMLButtonElement) || button.type !== "submit") return;
      var render = button.closest("[data-cp-render]");
      var host = render && render.getRootNode().host;
      if (!render || !host || host.hasAttribute("data-cp-live")) return;
      event.preventDefault();
      if (render.hasAttribute("data-cp-save")) return;
      render.setAttribute("data-cp-save", String(Date.now()));
      // Beside the prompt, never inside it: the DOM the wasm takes over
      // stays exactly as it was rendered.
      var status = render.querySelector("[part=status]");
      var note = document.createElement("p");
      note.setAttribute("role", "status");
      note.setAttribute("data-cp-early", "");
      note.className = "cp-early";
      note.textContent = (status && status.getAttribute("data-saving")) || "Saving…";
      render.after(note);
    },
    true
  );

  /**
   * `<link rel=REL href=HREF>` in the head, once per URL, with the file's
   * integrity when known (and then `crossorigin="anonymous"`): the import
   * or fetch that follows meets the checked response (an `import()` alone
   * cannot carry an integrity). `extra`: more attributes.
   */
  CP.preload = function (rel, href, integrity, extra) {
    var links = document.head.querySelectorAll('link[rel="' + rel + '"]');
    for (var i = 0; i < links.length; i++) if (links[i].href === href) return href;
    var link = document.createElement("link");
    link.rel = rel;
    link.href = href;
    if (integrity) {
      link.integrity = integrity;
      link.crossOrigin = "anonymous";
    }
    for (var k in extra || {}) link.setAttribute(k, extra[k]);
    document.head.appendChild(link);
    return href;
  };

  /**
   * Settles when `promise` does, or after `ms` (default 2 000), whichever
   * comes first; never rejects. An entry waits on its early render this way
   * before it asks for the wasm: on a slow connection the question's few
   * kilobytes then have the line to themselves, and the wasm still starts
   * at once if the render is slow.
   */
  CP.after = function (promise, ms) {
    var timer;
    return Promise.race([
      Promise.resolve(promise).then(
        function () {},
        function () {}
      ),
      new Promise(function (resolve) {
        timer = setTimeout(resolve, ms || 2000);
      }),
    ]).then(function () {
      clearTimeout(timer);
    });
  };

  /** Where to ask: options.render, else beside the config's endpoint. */
  function renderUrl(config, options) {
    if (options.render) return new URL(options.render, document.baseURI).href;
    return new URL("prompt/fragment", new URL(config.endpoint, document.baseURI)).href;
  }

  /** The fragment into `at`'s new shadow root, once its stylesheet is in. */
  function insert(at, fragment) {
    if (at.shadowRoot || abandoned.has(at)) return false; // the prompt, or a server render, is there
    var outer = document.createElement("template");
    outer.innerHTML = fragment;
    var inner = outer.content.firstElementChild;
    if (!inner || !inner.content) return false;
    var content = inner.content;
    var root = at.attachShadow({ mode: "open" });
    // The stylesheet inline (asked for with inlineStyle): adopted as a
    // constructable stylesheet, which a page's CSP style-src does not
    // govern, so the question shows at once, styled.
    var style = content.querySelector("style");
    if (style) {
      try {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(style.textContent);
        root.adoptedStyleSheets = [sheet];
      } catch (error) {
        return false; // the wasm renders with its own styles when it lands
      }
      style.remove();
    }
    var link = content.querySelector("link[rel=stylesheet]");
    return new Promise(function (resolve) {
      // Shown styled or not at all, and never over a prompt the wasm has
      // rendered meanwhile (it empties the shadow root first).
      function show() {
        if (link && (!link.isConnected || root.lastChild !== link)) return resolve(false);
        var prompt = content.querySelector("[data-cp-render]");
        if (prompt) prompt.setAttribute("data-cp-shown", String(Date.now()));
        root.append(content);
        resolve(true);
      }
      if (!link) return show();
      // A link removed before it loads (the wasm emptied the root) fires
      // neither load nor error: settle anyway.
      var timer = setTimeout(function () {
        link.remove();
        resolve(false);
      }, 5000);
      link.addEventListener("load", function () {
        clearTimeout(timer);
        show();
      }, { once: true });
      // Unreachable, or refused by its integrity: the wasm renders with
      // its own styles when it lands; nothing is shown unstyled.
      link.addEventListener("error", function () {
        clearTimeout(timer);
        resolve(false);
      }, { once: true });
      root.append(link);
    });
  }

  CP.early = function (at, config, options) {
    options = options || {};
    if (!(at instanceof Element) || at.shadowRoot) return Promise.resolve(false);
    if (asked.has(at)) return asked.get(at);
    // Once the code is in (CP.loaded, set by the module entry), a prompt
    // renders at once: a render asked for then would be thrown away.
    if (CP.loaded || options.render === false || !config || typeof config !== "object" || !config.token || !config.endpoint) {
      return Promise.resolve(false);
    }
    var url;
    try {
      url = renderUrl(config, options);
    } catch (error) {
      return Promise.resolve(false);
    }
    var body = { config: config, assetBase: options.assetBase, inlineStyle: true };
    var lang = document.documentElement.lang;
    if (lang) body.pageLang = lang;
    var done = fetch(url, {
      method: "POST",
      body: JSON.stringify(body),
      credentials: "omit",
      priority: "high",
    })
      .then(function (response) {
        if (response.ok) return response.json();
        return response
          .json()
          .catch(function () {})
          .then(function (body) {
            throw new Error("HTTP " + response.status + (body && body.error ? ": " + body.error.message : ""));
          });
      })
      .then(function (rendered) {
        return rendered && typeof rendered.fragment === "string" ? insert(at, rendered.fragment) : false;
      })
      .catch(function (error) {
        // Said once; the prompt renders itself when its code arrives.
        console.warn("[consent-prompt] no first question from the host: " + (error && error.message));
        return false;
      });
    asked.set(at, done);
    return done;
  };

  /**
   * The mount into `at` failed: a question shown as HTML there (rendered
   * on demand or by the venue's server) could record nothing, so it goes,
   * with any "Saving…" note, and no render still on its way is put in its
   * place. A live prompt is never touched.
   */
  CP.abandon = function (at) {
    if (!(at instanceof Element) || at.hasAttribute("data-cp-live")) return;
    abandoned.add(at);
    var root = at.shadowRoot;
    if (!root || !root.querySelector("[data-cp-render]")) return;
    root.replaceChildren();
    root.adoptedStyleSheets = [];
  };
})();
