// Consent Prompt as a custom element: <consent-prompt>. Importing this module
// registers it (once); no framework and no wrapper needed.
//
//   <script type="module" async src="/consent-prompt/element.js"></script>
//   <form method="post" action="/checkout">
//     <consent-prompt required name="consent" config="/consent-config.json"
//                     token="…issued by your backend…"></consent-prompt>
//     <button>Continue to payment</button>
//   </form>
//
// Attributes: config (a URL to the JSON config), token, locale, theme
// ("light" | "dark" | "auto"), required, name. The `config` property
// takes a config object (or a URL). The element mounts the same prompt as
// mount() into its own shadow root, so the consent:* events are dispatched on
// it and bubble.
//
// Forms: the element is form-associated. With `required` the form is invalid
// until every question is answered; submitting then shows the prompt's error
// summary and focuses it, as its own button does. A valid submit commits first
// and then submits, and the form data holds one `name` entry per committed
// record id (FormData.getAll(name) lists them). A form reset remounts the
// prompt with no answers.
//
// Failures: the element settles within `timeout` ms (default 20 000: the
// config's request, the wasm and the mount together). If the prompt could
// not be shown, `consent:error` fires on the element with the typed error,
// commit() and the other methods reject with it, and the patron sees a short
// message with a "Try again" button. `on-failure` decides what the form does
// then: "block" (the default with `required`) holds the submit and points the
// patron at the message; "allow" (the default without `required`) lets it
// through with no record ids and dispatches `consent:skipped`. Either way no
// consent is recorded without an answer.
// The module entry, imported when first needed, with the integrity the
// build wrote here (scripts/stamp.mjs; early.js, built into the front of
// this file, asks for it ahead with that integrity).
const INTEGRITY = "__CP_INTEGRITY__";
const ENTRY = new URL("./consent-prompt.js", import.meta.url).href;
let entry = null;
/** This file as the host serves it (not inlined into a venue's bundle, which bundles the entry too). */
const SERVED_AS_BUILT = /\/element\.js([?#]|$)/.test(import.meta.url);
function entryModule() {
  if (!entry) {
    const integrity = (typeof INTEGRITY === "object" && INTEGRITY["consent-prompt.js"]) || "";
    if (SERVED_AS_BUILT) window.ConsentPrompt.preload("modulepreload", ENTRY, integrity);
    // Named literally, so a bundler that takes the package in bundles it.
    entry = import("./consent-prompt.js");
  }
  return entry;
}
const loadConfig = (source) => entryModule().then((m) => m.loadConfig(source));
const mount = (target, config, options) => entryModule().then((m) => m.mount(target, config, options));


const TAG = "consent-prompt";
const OBSERVED = ["config", "token", "locale", "theme", "required", "on-failure"];
/** How long a mount may take (config, wasm and mount together), by default. */
const TIMEOUT_MS = 20000;
/**
 * What the patron reads when the prompt could not be shown, in the
 * prompt's four built-in languages: `[headline, block, allow, try again,
 * unanswered]` (the last is the form's message for a required element).
 */
const FAILURE_TEXT = {
  en: [
    "We couldn't load the marketing preferences.",
    "You can't continue until they load. Please try again.",
    "You can continue without them: no answer will be recorded, so no company gets your permission to contact you.",
    "Try again",
    "Please answer every question about contact preferences.",
  ],
  cy: [
    "Nid oeddem yn gallu llwytho'r dewisiadau marchnata.",
    "Ni allwch barhau nes iddynt lwytho. Rhowch gynnig arall arni.",
    "Gallwch barhau hebddynt: ni chofnodir ateb, felly ni chaiff unrhyw gwmni eich caniatâd i gysylltu â chi.",
    "Rhowch gynnig arall arni",
    "Atebwch bob cwestiwn am ddewisiadau cysylltu.",
  ],
  fr: [
    "Nous n'avons pas pu charger les préférences marketing.",
    "Vous ne pouvez pas continuer tant qu'elles ne sont pas chargées. Veuillez réessayer.",
    "Vous pouvez continuer sans elles : aucune réponse ne sera enregistrée, aucune entreprise n'aura donc votre permission de vous contacter.",
    "Réessayer",
    "Veuillez répondre à chaque question sur vos préférences de contact.",
  ],
  de: [
    "Wir konnten die Marketing-Einstellungen nicht laden.",
    "Sie können erst fortfahren, wenn sie geladen sind. Bitte versuchen Sie es erneut.",
    "Sie können ohne sie fortfahren: Es wird keine Antwort gespeichert, also erhält kein Unternehmen Ihre Erlaubnis, Sie zu kontaktieren.",
    "Erneut versuchen",
    "Bitte beantworten Sie jede Frage zu Ihren Kontakteinstellungen.",
  ],
};

/** The element's own texts in its `locale`, else the page's `lang`, else English, and its language. */
function failureText(element) {
  const asked = (element.getAttribute("locale") || document.documentElement.lang || "en").toLowerCase();
  const lang = Object.keys(FAILURE_TEXT).find((l) => asked === l || asked.startsWith(`${l}-`)) ?? "en";
  return { lang, text: FAILURE_TEXT[lang] };
}

function fault(code, message, extra = {}) {
  return { code, message, field: null, errors: [], ...extra };
}

/** Any rejection as the typed error shape: `{code, message, field, errors}`. */
function typed(error) {
  if (error && typeof error === "object" && typeof error.code === "string") return error;
  const message = error && error.message ? error.message : String(error);
  return fault("load", `the consent prompt's code could not be loaded: ${message}`);
}

/** Settles as `promise` does, or rejects with `timeout` after `ms`. */
function deadline(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(fault("timeout", `${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

let sheet = null;
function failureSheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(`
:host { display: block; }
.failure { box-sizing: border-box; border: 2px solid var(--cp-error, #b3261e); border-radius: var(--cp-radius, 6px);
  padding: var(--cp-spacing, 1rem); color: var(--cp-text, #1b1b1b); background: var(--cp-background, #ffffff);
  font-family: var(--cp-font-family, system-ui, sans-serif); font-size: var(--cp-font-size, 1rem); line-height: 1.5; }
.failure p { margin: 0 0 0.75em; }
.failure strong { display: block; }
button { min-height: 44px; min-width: 44px; padding: 0 1.25em; font: inherit; color: var(--cp-accent-text, #ffffff);
  background: var(--cp-accent, #1a4f8b); border: 2px solid transparent; border-radius: var(--cp-radius, 6px); cursor: pointer; }
button:focus-visible { outline: 3px solid var(--cp-focus-ring, #1a4f8b); outline-offset: 2px; }
@media (forced-colors: active) { .failure { border-color: CanvasText; } button { border-color: ButtonText; } }
`);
  }
  return sheet;
}

export class ConsentPromptElement extends HTMLElement {
  static formAssociated = true;
  static get observedAttributes() {
    return OBSERVED;
  }

  #internals = this.attachInternals();
  /** @type {object | string | null} the config object or URL set as a property */
  #source = null;
  /** @type {{url: string, config: Promise<object>} | null} */
  #fetched = null;
  #handle = null;
  /** Settles when the current mount or update has. */
  #work = Promise.resolve();
  #scheduled = false;
  #generation = 0;
  #state = null;
  /** The record ids of the last commit: the element's form value. */
  #recordIds = [];
  #committed = false;
  #form = null;
  /** Resolves with the handle once mounted; rejects if mounting failed. */
  #mountedOnce = null;
  #mountedOnceSettle = null;
  /** The typed error of the last mount that failed, while no prompt is showing. */
  #failure = null;

  constructor() {
    super();
    this.#rearm();
    this.addEventListener("consent:ready", (e) => this.#track(e.detail.state));
    this.addEventListener("consent:change", (e) => this.#track(e.detail));
    this.addEventListener("consent:commit", (e) => this.#settle(e.detail));
    this.addEventListener("invalid", (e) => this.#onInvalid(e));
    this.#validate();
  }

  // ---- properties -----------------------------------------------------------

  /** The config object (or URL) in use; setting it mounts or updates the prompt. */
  get config() {
    return this.#source ?? this.getAttribute("config");
  }
  set config(value) {
    this.#source = value ?? null;
    this.#schedule();
  }
  get token() {
    return this.getAttribute("token");
  }
  set token(value) {
    this.#reflect("token", value);
  }
  get locale() {
    return this.getAttribute("locale");
  }
  set locale(value) {
    this.#reflect("locale", value);
  }
  get theme() {
    return this.getAttribute("theme");
  }
  set theme(value) {
    this.#reflect("theme", value);
  }
  get required() {
    return this.hasAttribute("required");
  }
  set required(value) {
    this.toggleAttribute("required", Boolean(value));
  }
  /** What the form does when the prompt could not be shown: "block" or "allow". */
  get onFailure() {
    const set = this.getAttribute("on-failure");
    if (set === "block" || set === "allow") return set;
    return this.required ? "block" : "allow";
  }
  set onFailure(value) {
    this.#reflect("on-failure", value);
  }
  /** The mount's error while the prompt could not be shown; null otherwise. */
  get error() {
    return this.#failure;
  }
  get name() {
    return this.getAttribute("name") ?? "";
  }
  set name(value) {
    this.setAttribute("name", value);
  }
  /** The ids of the committed records (the form value); empty until a commit. */
  get value() {
    return [...this.#recordIds];
  }
  get form() {
    return this.#internals.form;
  }
  get type() {
    return TAG;
  }
  get validity() {
    return this.#internals.validity;
  }
  get validationMessage() {
    return this.#internals.validationMessage;
  }
  get willValidate() {
    return this.#internals.willValidate;
  }
  checkValidity() {
    return this.#internals.checkValidity();
  }
  reportValidity() {
    return this.#internals.reportValidity();
  }

  // ---- the handle's methods -------------------------------------------------

  /** Commits the answers (see the handle's commit()); sets the form value. */
  async commit() {
    const handle = await this.#ready();
    const summary = await handle.commit();
    this.#settle(summary);
    return summary;
  }
  /** The records commit() would send now; nothing is kept or sent. */
  async preview() {
    return (await this.#ready()).preview();
  }
  /** The patron's receipt for the last commit, or null before one. */
  async receipt() {
    return (await this.#ready()).receipt();
  }
  /** The prompt's state, or null before it has mounted. */
  state() {
    return this.#handle ? this.#handle.state() : null;
  }
  /** Replaces the config (as setting the `config` property does). */
  update(config) {
    this.config = config;
  }
  async outbox() {
    return (await this.#ready()).outbox();
  }
  async retry() {
    return (await this.#ready()).retry();
  }

  // ---- lifecycle ------------------------------------------------------------

  connectedCallback() {
    this.#schedule();
  }

  disconnectedCallback() {
    // A move within the page reconnects in the same task: keep the prompt.
    queueMicrotask(() => {
      if (!this.isConnected) this.#unmount();
    });
  }

  attributeChangedCallback(name, before, after) {
    if (before === after) return;
    if (name === "required" || name === "on-failure") {
      this.#validate();
      if (this.#failure) this.#showFailure();
    }
    if (name === "on-failure") return;
    this.#schedule();
  }

  formAssociatedCallback(form) {
    this.#form?.removeEventListener("submit", this.#onSubmit, true);
    this.#form = form;
    // Capture: this runs before the page's own submit listeners.
    form?.addEventListener("submit", this.#onSubmit, true);
  }

  formResetCallback() {
    this.#unmount();
    this.#schedule();
  }

  formDisabledCallback() {}

  // ---- internals ------------------------------------------------------------

  #reflect(name, value) {
    if (value === null || value === undefined) this.removeAttribute(name);
    else this.setAttribute(name, String(value));
  }

  #ready() {
    if (this.#handle) return Promise.resolve(this.#handle);
    if (this.#failure) return Promise.reject(this.#failure);
    if (!this.config) return Promise.reject(fault("browser", "the consent prompt has no config"));
    return this.#mountedOnce;
  }

  /** Milliseconds a mount may take: the `timeout` attribute, else 20 000. */
  #timeout() {
    const ms = Number(this.getAttribute("timeout"));
    return Number.isFinite(ms) && ms > 0 ? ms : TIMEOUT_MS;
  }

  #schedule() {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (!this.isConnected) return;
      this.#work = this.#work.then(() => this.#render()).catch(() => {});
    });
  }

  async #resolveConfig() {
    const source = this.config;
    if (!source) return null;
    if (typeof source !== "string") return source;
    // "#id": the config written into the page, read here at once (no need
    // to wait for the entry); a problem with it is the entry's to report.
    // Loaded `async`, this module can run before the parser has reached a
    // block written after the element, or while it is inside one (a block
    // with no next sibling yet): then it waits for the document.
    if (source.startsWith("#")) {
      let block = null;
      try {
        block = document.querySelector(source);
      } catch {
        /* not a selector: loadConfig below names it, typed */
      }
      if (document.readyState === "loading" && !block?.nextSibling) {
        await new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve, { once: true }));
      }
      try {
        return JSON.parse(document.querySelector(source).textContent);
      } catch {
        /* loadConfig below names it, typed */
      }
    }
    // Anything else a URL.
    const url = source.startsWith("#") ? source : new URL(source, document.baseURI).href;
    if (!this.#fetched || this.#fetched.url !== url) {
      this.#fetched = { url, config: loadConfig(url) };
    }
    return this.#fetched.config;
  }

  async #render() {
    const generation = ++this.#generation;
    // The config's request, the wasm and the mount settle within the
    // timeout together: a patron never waits on a prompt that will not come.
    const until = Date.now() + this.#timeout();
    const left = () => Math.max(0, until - Date.now());
    let base;
    try {
      base = await deadline(this.#resolveConfig(), left(), "loading the consent prompt's config");
    } catch (error) {
      this.#fetched = null;
      if (generation === this.#generation) this.#mountFailed(typed(error), false);
      return;
    }
    if (!base || generation !== this.#generation || !this.isConnected) return;
    const config = { ...base };
    const token = this.getAttribute("token");
    if (token) config.token = token;
    const locale = this.getAttribute("locale");
    if (locale) config.locale = locale;
    const theme = this.getAttribute("theme");
    if (theme) config.theme = { ...(base.theme ?? {}), preset: theme };
    if (this.required) config.requireAnswer = true;
    if (this.#handle) {
      try {
        this.#handle.update(config);
        this.#validate();
      } catch (error) {
        // The prompt stays as it was; the page hears why the change was refused.
        this.#updateFailed(typed(error));
      }
      return;
    }
    // The element reports failures itself (with its message and form
    // policy), so the entry's own deadline is its remaining budget.
    // The first question as HTML first (served as built: early.js is built
    // into this file only then). The entry, the glue and the wasm are asked
    // for once it has arrived (or failed, or after 2 s at most), so it has
    // the line to itself.
    if (SERVED_AS_BUILT && !this.#handle) {
      const shown = window.ConsentPrompt.early(this, config, {
        assetBase: new URL(".", import.meta.url).href,
      });
      await window.ConsentPrompt.after(shown);
      if (generation !== this.#generation || !this.isConnected) return;
    }
    let handle;
    try {
      handle = await mount(this, config, { timeout: Math.max(1, left()) });
    } catch (error) {
      // The entry has said so with consent:error on this element already
      // (and destroys a prompt that arrives after its deadline).
      if (generation === this.#generation) this.#mountFailed(typed(error), true);
      return;
    }
    if (!this.isConnected || generation !== this.#generation) {
      // Replaced while mounting: keep the newest only.
      if (!this.isConnected) handle.destroy();
      else this.#adopt(handle);
      return;
    }
    this.#adopt(handle);
  }

  #adopt(handle) {
    if (this.#handle && this.#handle !== handle) this.#handle.destroy();
    this.#handle = handle;
    this.#failure = null;
    this.#track(handle.state());
    this.#mountedOnceSettle.resolve(handle);
  }

  #rearm() {
    this.#mountedOnce = new Promise((resolve, reject) => (this.#mountedOnceSettle = { resolve, reject }));
    this.#mountedOnce.catch(() => {});
  }

  /**
   * The prompt could not be shown: the typed error rejects the waiting
   * methods, fires as `consent:error` (unless the wasm has fired it), is
   * logged, and the patron is told in the element.
   */
  #mountFailed(error, dispatched) {
    if (this.#handle) return this.#updateFailed(error);
    this.#failure = error;
    this.#mountedOnceSettle.reject(error);
    this.#rearm();
    console.error(`[${TAG}] could not mount:`, error.message, error);
    if (!dispatched) this.#emit("consent:error", error);
    this.#showFailure();
    this.#validate();
  }

  #updateFailed(error) {
    console.error(`[${TAG}] the new config was refused:`, error.message, error);
    this.#emit("consent:error", error);
  }

  #emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  /** The patron's message: what happened, what it means for the order, and a way to try again. */
  #showFailure() {
    const root = this.shadowRoot ?? this.attachShadow({ mode: "open" });
    root.adoptedStyleSheets = [failureSheet()];
    const box = document.createElement("div");
    box.className = "failure";
    box.setAttribute("part", "failure");
    const { lang, text: [headline, block, allow, retry] } = failureText(this);
    box.lang = lang;
    const text = document.createElement("p");
    text.id = "cp-failure";
    text.setAttribute("part", "failure-message");
    text.setAttribute("role", "alert");
    const lead = document.createElement("strong");
    lead.textContent = headline;
    const then = document.createElement("span");
    then.textContent = this.onFailure === "block" ? block : allow;
    text.append(lead, " ", then);
    const again = document.createElement("button");
    again.type = "button";
    again.setAttribute("part", "failure-retry");
    again.setAttribute("aria-describedby", "cp-failure");
    again.textContent = retry;
    again.addEventListener("click", () => this.#tryAgain());
    box.append(text, again);
    root.replaceChildren(box);
  }

  /** The patron asked to try again: a fresh request for the config, a fresh mount. */
  #tryAgain() {
    this.#failure = null;
    this.#fetched = null;
    this.#validate();
    this.#schedule();
  }

  /** A held submit: say so again and take the patron to the message. */
  #pointAtFailure() {
    const root = this.shadowRoot;
    const text = root?.getElementById("cp-failure");
    const retry = () => root?.querySelector("[part=failure-retry]")?.focus();
    if (!text) return retry();
    // Re-announced: the alert's words are put back in the next frame, and
    // the patron is taken to "try again" only once they are there to read.
    const words = [...text.childNodes];
    text.replaceChildren();
    requestAnimationFrame(() => {
      text.replaceChildren(...words);
      retry();
    });
  }

  /** The form goes on without consent: said to the page, once per submit. */
  #skipped() {
    this.#emit("consent:skipped", { error: this.#failure, recordIds: [] });
  }

  #unmount() {
    this.#generation++;
    this.#failure = null;
    if (this.#handle) {
      this.#handle.destroy();
      this.#handle = null;
      this.#rearm();
    }
    this.#state = null;
    this.#recordIds = [];
    this.#committed = false;
    this.#internals.setFormValue(null);
    this.#validate();
  }

  #track(state) {
    this.#state = state ?? null;
    if (state && state.phase === "asking" && this.#committed) {
      // Answers changed after a commit: the next submit commits again.
      this.#committed = false;
      this.#recordIds = [];
      this.#internals.setFormValue(null);
    }
    this.#validate();
  }

  #settle(summary) {
    if (!summary || !Array.isArray(summary.records)) return;
    this.#committed = true;
    this.#recordIds = summary.records.map((r) => r.recordId);
    const data = new FormData();
    const name = this.getAttribute("name");
    if (name) for (const id of this.#recordIds) data.append(name, id);
    this.#internals.setFormValue(name ? data : null);
    this.#validate();
  }

  #validate() {
    const complete = Boolean(this.#state && this.#state.complete);
    if (this.#failure) {
      const { text } = failureText(this);
      if (this.onFailure === "block") this.#internals.setValidity({ customError: true }, `${text[0]} ${text[1]}`);
      else this.#internals.setValidity({});
    } else if (this.required && !complete && !this.#committed) {
      this.#internals.setValidity({ valueMissing: true }, failureText(this).text[4]);
    } else {
      this.#internals.setValidity({});
    }
  }

  /** Interactive validation found the prompt unanswered: show its own errors. */
  #onInvalid(event) {
    const form = this.#internals.form;
    const first = form ? Array.from(form.elements).find((el) => el.willValidate && el.validity && !el.validity.valid) : this;
    if (first !== this) return; // the browser reports the first invalid control
    event.preventDefault();
    if (this.#failure) return this.#pointAtFailure();
    this.commit().catch(() => {
      /* the prompt shows its error summary and focuses it */
    });
  }

  /** Commits before the form is submitted, then submits it again. */
  #onSubmit = (event) => {
    if (this.#committed || event.defaultPrevented) return;
    if (this.#failure) {
      if (this.onFailure === "allow") return this.#skipped();
      event.preventDefault();
      event.stopImmediatePropagation();
      return this.#pointAtFailure();
    }
    const form = this.#internals.form;
    event.preventDefault();
    event.stopImmediatePropagation();
    const submitter = event.submitter;
    const again = () => {
      if (!form || !form.isConnected) return;
      if (submitter && submitter.form === form) form.requestSubmit(submitter);
      else form.requestSubmit();
    };
    this.commit().then(again, () => {
      // Could not mount (while the patron was submitting): as above.
      if (this.#failure && this.onFailure === "allow") again();
      else if (this.#failure) this.#pointAtFailure();
      /* otherwise incomplete or refused: the prompt says why, and focuses it */
    });
  };
}

if (!customElements.get(TAG)) customElements.define(TAG, ConsentPromptElement);
