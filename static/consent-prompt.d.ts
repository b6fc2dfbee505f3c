// Type declarations for Consent Prompt (see README, "Embedding guide").
// ES module:   import { mount } from "<base>/consent-prompt.js";
// Script tag:  window.ConsentPrompt.mount(...)
// iframe:      window.ConsentPromptFrame.mount(...)   (from <base>/host.js)

export type Channel = "email" | "post" | "sms" | "phone";
export type DecisionState = "given" | "refused" | "withdrawn" | "deferred";
export type DpvState = "ConsentGiven" | "RenewedConsentGiven" | "ConsentRefused" | "ConsentWithdrawn" | "ConsentRequestDeferred";
export type Embed = "module" | "script" | "iframe" | "demo" | "none";
/** The lawful basis: partners always "consent"; the venue's own marketing may use the soft opt-in. */
export type Basis = "consent" | "legitimate-interests";
/** A BCP 47 language tag, e.g. "en-GB", "cy". */
export type Locale = string;
/** Text per locale: { "en-GB": "…", "cy": "…" }. */
export type LocalizedText = Record<Locale, string>;
/** RFC 3339 UTC with milliseconds, e.g. "2026-11-25T14:03:07.120Z". */
export type Instant = string;

export interface NoticeConfig {
  id: string;
  /** Goes up whenever the wording changes in any language. */
  version: number;
  text: LocalizedText;
  /** Default "marketing". */
  purpose?: string;
  channels: Channel[];
  whatChanged?: LocalizedText;
  /** Default "consent"; "legitimate-interests" only in ownMarketing. */
  basis?: Basis;
}

export interface PartnerConfig {
  id: string;
  name: string;
  /** An https URL. */
  privacyUrl: string;
  privacySummary?: LocalizedText;
  notice: NoticeConfig;
  /** In general mode, ask this partner its own question (ACE: NPO partners). */
  askIndividually?: boolean;
}

/** The venue's own marketing question, asked first and once. */
export interface OwnMarketingConfig {
  /** An https URL. */
  privacyUrl: string;
  privacySummary?: LocalizedText;
  /** With basis "legitimate-interests": an opt-out box (the soft opt-in). */
  notice: NoticeConfig;
}

export interface BasketLine {
  eventId: string;
  title: string;
  partnerIds?: string[];
}

export interface Preference {
  partnerId: string;
  state: DecisionState;
  noticeVersion: number;
  decidedAt: Instant;
  noticeId?: string;
  validUntil?: Instant;
  recordId?: string;
  /** The channels the answer covers (the preferences endpoint returns them). */
  channels?: Channel[];
  /** The wording agreed to, and its locale (shown in the preference centre). */
  noticeText?: string;
  noticeLanguage?: Locale;
  /** Brought in by `consent-host import`, without its wording. */
  imported?: boolean;
}

export type ThemeToken =
  | "accent" | "accent-text" | "text" | "muted" | "background" | "surface" | "border"
  | "error" | "radius" | "font-family" | "font-size" | "spacing" | "padding" | "focus-ring";

export interface ConsentConfig {
  endpoint: string;
  customerId: string;
  venue: { id: string; name: string };
  jurisdiction?: string;
  locale?: Locale;
  defaultLocale?: Locale;
  mode?: "individual" | "general" | "account";
  /** Required in general mode; its text must contain "{partners}". */
  generalNotice?: NoticeConfig;
  requireAnswer?: boolean;
  reaskOnNoticeChange?: boolean;
  /** Ask again answers imported from the venue's earlier records (default false). */
  reaskImported?: boolean;
  validityDays?: number;
  channel?: "web" | "box-office" | "phone";
  operatorId?: string;
  ownMarketing?: OwnMarketingConfig;
  partners: PartnerConfig[];
  basket: { ref?: string; lines: BasketLine[] };
  preferences?: Preference[];
  headingLevel?: 1 | 2 | 3 | 4 | 5 | 6;
  /**
   * The look: a preset, the light scheme's tokens (and the sizes and fonts
   * of both), and the dark scheme's own colours (`darkTokens`, used by the
   * `dark` preset and by `auto` on a dark device).
   */
  theme?: {
    preset?: "light" | "dark" | "auto";
    tokens?: Partial<Record<ThemeToken, string>>;
    darkTokens?: Partial<Record<ThemeToken, string>>;
  };
  strings?: Record<Locale, Record<string, string>>;
  headers?: Record<string, string>;
  credentials?: "omit" | "same-origin" | "include";
  /**
   * The checkout token, sent with every delivery as `Authorization: Bearer`.
   * Never written to storage. Replace it with `update()` when it expires.
   */
  token?: string;
  submitButton?: boolean;
  showGpcNote?: boolean;
}

export interface ConsentRecord {
  schema: "consent-record/1";
  recordId: string;
  supersedes: string | null;
  customerId: string;
  venue: { id: string; name: string };
  partner: { id: string; name: string; privacyUrl: string };
  purpose: string;
  channels: Channel[];
  state: DecisionState;
  dpvState: DpvState;
  notice: { id: string; version: number; language: Locale; text: string; sha256: string };
  presentation: { mode: "individual" | "general" | "account"; control: "radio" | "radio-with-channels" | "operator-entry" | "opt-out" | "unknown"; preselected: false };
  action: "selected-yes" | "selected-no" | "no-answer" | "withdrew" | "not-opted-out" | "opted-out" | "imported";
  presentedAt: Instant;
  decidedAt: Instant;
  collection: {
    channel: "web" | "box-office" | "phone" | "import";
    embed: Embed;
    pageOrigin: string;
    pagePath: string;
    widgetVersion: string;
    basketRef: string | null;
    eventIds: string[];
    operatorId: string | null;
    expressedBy: "customer" | "operator-on-behalf-of-customer";
    gpc: boolean | null;
  };
  jurisdiction: string;
  validUntil: Instant | null;
  receivedAt?: Instant;
  /** Set by the backend when stored, never by the widget: per channel, a
   *  keyed digest of the contact point the decision concerns. */
  contactDigests?: { email?: string; post?: string; sms?: string; phone?: string };
  /** Left out for "consent". */
  basis?: Basis;
  /** Left out for "prompt"; "imported" exactly when `import` is present. */
  provenance?: "prompt" | "imported";
  /** Only on answers brought in by `consent-host import`. */
  import?: { source: string; dated: boolean };
}

export interface ConsentState {
  locale: Locale;
  complete: boolean;
  phase: "asking" | "saving" | "saved" | "kept" | "failed";
  questions: {
    key: string;
    partnerIds: string[];
    reason: "no-answer" | "deferred" | "notice-changed" | "expired" | "imported";
    answer: "yes" | "no" | null;
    channels: Channel[];
  }[];
  skipped: { partnerId: string; reason: "unknown-partner" | "already-answered" | "answered-earlier-notice" }[];
}

export interface Issue { path: string; message: string }

/** `consent:ready` detail. */
export interface ReadyDetail { state: ConsentState; warnings: Issue[] }
/** `consent:commit` detail and what `commit()` resolves to. */
export interface CommitSummary {
  records: ConsentRecord[];
  delivered: string[];
  /** Still on their way to the backend (held ones included). */
  pending: string[];
  /** Waiting for a new checkout token: `update()` with one sends them. */
  held: string[];
  /**
   * Where pending records are kept: "device" (storage: they survive a reload)
   * or "memory" (storage refused them: they are sent only while this page
   * stays open; `consent:error` with code "storage" says so too).
   */
  kept: "device" | "memory";
  /** True once nothing is pending (at commit, or when a later retry settles). */
  final: boolean;
}

/**
 * The patron's copy of their choices (`consent-receipt/1`): the records of
 * the last successful commit, each with the exact wording shown. The host
 * serves the same shape at `GET /api/v1/customers/{id}/receipt`.
 */
export interface ConsentReceipt {
  schema: "consent-receipt/1";
  customerId: string;
  generatedAt: Instant;
  records: ConsentRecord[];
}

/** One record in the outbox, as `outbox()` lists it. */
export interface OutboxEntry {
  recordId: string;
  /**
   * pending: to be sent; held: waiting for a new checkout token (401/403);
   * failed: refused by the backend (lastError says why); set-aside: unreadable
   * in storage, never sent, left in place.
   */
  status: "pending" | "held" | "failed" | "set-aside";
  attempts: number;
  lastError: string | null;
  endpoint: string;
  decidedAt: Instant;
  kept: "device" | "memory";
}

/** What `retry()` resolves to. */
export interface RetryReport {
  delivered: string[];
  pending: string[];
  held: string[];
  failed: string[];
  message: string | null;
  field: string | null;
  /** The backend's words when it wanted a new token. */
  unauthorized: string | null;
}
/**
 * `consent:error` detail and what `commit()` rejects with. Every method of a
 * destroyed handle rejects (or throws) this shape with code "destroyed".
 */
export interface ErrorDetail {
  code: "incomplete" | "rejected" | "unauthorized" | "storage" | "busy" | "browser" | "destroyed" | "timeout" | "not-ready" | string;
  message: string;
  field: string | null;
  errors: { question: string; partnerIds: string[]; problem: "unanswered" | "no-channel" | "not-heard"; field: string }[];
  recordIds: string[];
}

/**
 * Why a prompt could not be shown. Every mount (`mount()`,
 * `ConsentPrompt.ready`, `<consent-prompt>`, `ConsentPromptFrame.mount()`)
 * settles within its timeout (20 s by default) and rejects with this; it also
 * fires as `consent:error` on the target element.
 *
 * - `invalid-config`: the config was refused; `errors` lists every problem
 *   at once (unknown keys with the likely intended name, wrong types,
 *   missing fields, validation), `field` is the first one's path.
 * - `config-fetch`: the config's URL could not be fetched (network error, or
 *   an HTTP error status: `url`, `status`).
 * - `config-parse`: the config's URL answered something that is not JSON.
 * - `config-inline`: `#id` names no element, or its text is not JSON.
 * - `load`: the prompt's code (the wasm) could not be loaded.
 * - `timeout`: the config, the wasm, the frame or the prompt did not answer in time.
 * - `origin`: the frame does not accept this page's origin as its parent.
 * - `already-mounted`: the target already holds a live prompt (destroy it first).
 * - `no-target`, `bad-options`: `ConsentPromptFrame.mount()` was called wrongly.
 * - `browser`: the browser could not do what mounting needs (or the target is not an element).
 */
export interface MountError {
  code:
    | "invalid-config" | "config-fetch" | "config-parse" | "config-inline" | "load" | "timeout" | "origin"
    | "already-mounted" | "no-target" | "bad-options" | "browser";
  message: string;
  /** The first problem's path (`invalid-config`), else null. */
  field?: string | null;
  errors: Issue[];
  warnings?: Issue[];
  /** `config-fetch`, `config-parse`: the config's URL, and the HTTP status (null for a network error). */
  url?: string;
  status?: number | null;
  /** On errors made outside the wasm (the frame's, say): always empty. */
  recordIds?: string[];
}

/** `consent:skipped` detail: a `<consent-prompt on-failure="allow">` let its form through with no consent recorded. */
export interface SkippedDetail {
  /** Why the prompt could not be shown. */
  error: MountError;
  /** Always empty: nothing was asked, so nothing was recorded. */
  recordIds: string[];
}

export interface ConsentEventMap {
  "consent:ready": CustomEvent<ReadyDetail>;
  "consent:change": CustomEvent<ConsentState>;
  "consent:commit": CustomEvent<CommitSummary>;
  /** Mount failures carry a `MountError`; failures of a mounted prompt an `ErrorDetail`. */
  "consent:error": CustomEvent<ErrorDetail | MountError>;
  /** `<consent-prompt on-failure="allow">`: its form was submitted without the prompt. */
  "consent:skipped": CustomEvent<SkippedDetail>;
}

/**
 * The handle a mount resolves to. After `destroy()` (which may be called
 * again) every other method rejects or throws an `ErrorDetail` with code
 * "destroyed".
 */
export interface ConsentHandle {
  commit(): Promise<CommitSummary>;
  /** The records commit() would send now (fresh ids each call); nothing is kept or sent. */
  preview(): Promise<ConsentRecord[]>;
  update(config: ConsentConfig): void;
  state(): ConsentState | null;
  destroy(): void;
  /** What the outbox holds, and why. */
  outbox(): Promise<OutboxEntry[]>;
  /** Sends what is pending or held now. */
  retry(): Promise<RetryReport>;
  /**
   * The last successful commit's receipt, or null before one. The prompt
   * also offers it to the patron: "Download a copy of your choices", as a
   * JSON file and as a printable page.
   */
  receipt(): ConsentReceipt | null;
}

export interface MountOptions {
  embed?: Embed;
  /** Milliseconds before the mount rejects with "timeout" (default 20000): the config's request, the wasm and the mount together. */
  timeout?: number;
}

export function load(): Promise<unknown>;
/**
 * Mounts the prompt into `target` (an Element or a CSS selector). `config` may be a URL to JSON,
 * or `#id` of a `<script type="application/json">` in the page that holds it.
 * When `target` holds a server-rendered prompt (the `fragment` of `POST /api/v1/prompt/render`)
 * for the same session, the prompt takes that DOM over, keeping answers given before (and a Save
 * pressed before); otherwise it renders afresh. Settles within `options.timeout`; a failure
 * rejects with a `MountError` and fires `consent:error` on the target.
 */
export function mount(target: Element | string, config: ConsentConfig | string, options?: MountOptions): Promise<ConsentHandle>;
/**
 * A config as `mount` reads it: an object as it is, `#id` from the page, anything else fetched as
 * JSON. Rejects with a `MountError` coded `config-inline`, `config-fetch` or `config-parse`.
 */
export function loadConfig(source: ConsentConfig | string): Promise<ConsentConfig>;
export const version: string;

// ---- iframe protocol: {type: "consent-prompt:<name>", v: 1, ...} ----------

export interface Envelope<Name extends string> { type: `consent-prompt:${Name}`; v: 1 }
export type FrameToParent =
  | Envelope<"ready">
  | (Envelope<"mounted"> & { detail: ReadyDetail })
  | (Envelope<"resize"> & { height: number })
  | (Envelope<"change"> & { detail: ConsentState })
  | (Envelope<"commit"> & { detail: CommitSummary; requestId?: string })
  | (Envelope<"error"> & { detail: ErrorDetail | MountError; requestId?: string })
  /** The answer to an `outbox`, `retry` or `receipt` request. */
  | (Envelope<"reply"> & { detail: OutboxEntry[] | RetryReport | ConsentReceipt | null; requestId: string })
  /** Posted only to a parent whose origin the frame does not accept. */
  | (Envelope<"refused"> & { detail: MountError });
export type ParentToFrame =
  | (Envelope<"init"> & { config: ConsentConfig })
  | (Envelope<"update"> & { config: ConsentConfig })
  | (Envelope<"commit"> & { requestId?: string })
  | (Envelope<"outbox" | "retry" | "receipt"> & { requestId: string });

export interface FrameOptions {
  src: string;
  config: ConsentConfig;
  title?: string;
  /** Milliseconds before mount() rejects with "timeout" or "origin" (default 20000). */
  timeout?: number;
  /** Milliseconds before commit(), outbox(), retry() or receipt() rejects with "timeout" (default 30000). */
  requestTimeout?: number;
  /**
   * `false`: open `src` as built and send the config by the handshake only.
   * By default a config with a checkout token opens the frame with a form
   * POST to `src` carrying it, and the host answers with the first
   * question already rendered (the page's CSP `form-action` must allow the
   * host; if it does not, the frame opens as built).
   */
  render?: false;
}
/**
 * The iframe handle: the module handle's methods over postMessage (no
 * `preview()`). `receipt()` is asynchronous here: the receipt lives in the frame.
 */
export interface FrameHandle extends Omit<ConsentHandle, "preview" | "receipt"> {
  readonly frame: HTMLIFrameElement;
  receipt(): Promise<ConsentReceipt | null>;
}

declare global {
  interface Window {
    ConsentPrompt?: {
      mount(target: Element | string, config: ConsentConfig | string, options?: MountOptions): Promise<ConsentHandle>;
      handle?: ConsentHandle;
      /**
       * Resolves with the handle once embed.js has mounted the prompt itself;
       * rejects with the `MountError` (within `data-timeout` ms, default 20000).
       */
      ready?: Promise<ConsentHandle>;
      /** The `MountError` when embed.js could not mount the prompt. */
      error?: MountError;
    };
    ConsentPromptFrame?: {
      mount(target: Element | string, options: FrameOptions): Promise<FrameHandle>;
      /** Set when host.js was loaded with `data-target` and `data-config`: the frame it mounts, or the typed error. */
      ready?: Promise<FrameHandle>;
      version: string;
    };
  }
  interface HTMLElementEventMap extends ConsentEventMap {}
}

// ---- <consent-prompt>: the form-associated custom element (element.js) ----
// import "<base>/element.js" (or "@consent-prompt/widget/element") registers it.

export type ThemePreset = "light" | "dark" | "auto";

/** The element's HTML attributes (strings, as in markup). */
export interface ConsentPromptAttributes {
  /** A URL to the JSON config. */
  config?: string;
  /** The checkout token; overrides the config's `token`. */
  token?: string;
  locale?: Locale;
  theme?: ThemePreset;
  /** Present: the form is invalid until every question is answered (`requireAnswer: true`). */
  required?: boolean;
  /** The form field name; the form data holds one entry per committed record id. */
  name?: string;
  /**
   * When the prompt could not be shown: "block" holds the form's submit (the
   * patron is told, and can try again); "allow" lets it through with no
   * record ids and dispatches `consent:skipped`. Default: "block" with
   * `required`, else "allow".
   */
  "on-failure"?: "block" | "allow";
  /** Milliseconds the config, the wasm and the mount may take together (default 20000). */
  timeout?: string;
}

export declare class ConsentPromptElement extends HTMLElement {
  static readonly formAssociated: true;
  static readonly observedAttributes: readonly string[];
  /** The config object, or the URL to fetch it from (the `config` attribute). */
  get config(): ConsentConfig | string | null;
  set config(value: ConsentConfig | string | null | undefined);
  get token(): string | null;
  set token(value: string | null | undefined);
  get locale(): Locale | null;
  set locale(value: Locale | null | undefined);
  get theme(): ThemePreset | null;
  set theme(value: ThemePreset | null | undefined);
  required: boolean;
  name: string;
  /** The `on-failure` attribute, with its default ("block" with `required`, else "allow"). */
  get onFailure(): "block" | "allow";
  set onFailure(value: "block" | "allow" | null | undefined);
  /** Why the prompt could not be shown, while it is not; else null. */
  readonly error: MountError | null;
  /** The ids of the committed records (the form value); empty until a commit. */
  readonly value: string[];
  readonly form: HTMLFormElement | null;
  readonly type: "consent-prompt";
  readonly validity: ValidityState;
  readonly validationMessage: string;
  readonly willValidate: boolean;
  checkValidity(): boolean;
  reportValidity(): boolean;
  /** As the handle's; also sets the form value. Waits for the prompt to mount. */
  commit(): Promise<CommitSummary>;
  preview(): Promise<ConsentRecord[]>;
  /** null until the prompt has mounted. */
  state(): ConsentState | null;
  /** Replaces the config (as setting `config` does). */
  update(config: ConsentConfig | string): void;
  outbox(): Promise<OutboxEntry[]>;
  retry(): Promise<RetryReport>;
  receipt(): Promise<ConsentReceipt | null>;
}

declare global {
  interface HTMLElementTagNameMap {
    "consent-prompt": ConsentPromptElement;
  }
}
