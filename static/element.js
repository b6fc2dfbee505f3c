// Consent Prompt as a custom element: <consent-prompt>. Importing this module
// registers it (once); no framework and no wrapper needed.
//
//   <script type="module" src="/consent-prompt/element.js"></script>
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
import { mount } from "./consent-prompt.js";

const TAG = "consent-prompt";
const OBSERVED = ["config", "token", "locale", "theme", "required"];
const UNANSWERED = "Please answer every question about contact preferences.";

function fault(code, message) {
  return { code, message, field: null, errors: [], recordIds: [] };
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
    if (name === "required") this.#validate();
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
    if (!this.config) return Promise.reject(fault("browser", "the consent prompt has no config"));
    return this.#mountedOnce;
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
    const url = new URL(source, document.baseURI).href;
    if (!this.#fetched || this.#fetched.url !== url) {
      const config = fetch(url, { credentials: "same-origin" }).then(async (response) => {
        if (!response.ok) {
          throw { code: "config-fetch", message: `could not load the config from ${source} (HTTP ${response.status})`, errors: [] };
        }
        return response.json();
      });
      this.#fetched = { url, config };
    }
    return this.#fetched.config;
  }

  async #render() {
    const generation = ++this.#generation;
    let base;
    try {
      base = await this.#resolveConfig();
    } catch (error) {
      this.#fetched = null;
      this.#mountFailed(error);
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
        this.#mountFailed(error);
      }
      return;
    }
    try {
      const handle = await mount(this, config);
      if (!this.isConnected || generation !== this.#generation) {
        // Replaced while mounting: keep the newest only.
        if (!this.isConnected) handle.destroy();
        else this.#adopt(handle);
        return;
      }
      this.#adopt(handle);
    } catch (error) {
      this.#mountFailed(error);
    }
  }

  #adopt(handle) {
    if (this.#handle && this.#handle !== handle) this.#handle.destroy();
    this.#handle = handle;
    this.#track(handle.state());
    this.#mountedOnceSettle.resolve(handle);
  }

  #rearm() {
    this.#mountedOnce = new Promise((resolve, reject) => (this.#mountedOnceSettle = { resolve, reject }));
    this.#mountedOnce.catch(() => {});
  }

  #mountFailed(error) {
    if (!this.#handle) {
      this.#mountedOnceSettle.reject(error);
      this.#rearm();
    }
    console.error(`[${TAG}] could not mount:`, error && error.message ? error.message : error, error);
    this.#internals.setValidity({ customError: true }, error && error.message ? error.message : "The consent prompt could not be shown.");
  }

  #unmount() {
    this.#generation++;
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
    if (this.required && !complete && !this.#committed) {
      this.#internals.setValidity({ valueMissing: true }, UNANSWERED);
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
    this.commit().catch(() => {
      /* the prompt shows its error summary and focuses it */
    });
  }

  /** Commits before the form is submitted, then submits it again. */
  #onSubmit = (event) => {
    if (this.#committed || event.defaultPrevented) return;
    const form = this.#internals.form;
    event.preventDefault();
    event.stopImmediatePropagation();
    const submitter = event.submitter;
    this.commit().then(
      () => {
        if (!form || !form.isConnected) return;
        if (submitter && submitter.form === form) form.requestSubmit(submitter);
        else form.requestSubmit();
      },
      () => {
        /* incomplete or refused: the prompt says why, and focuses it */
      }
    );
  };
}

if (!customElements.get(TAG)) customElements.define(TAG, ConsentPromptElement);
