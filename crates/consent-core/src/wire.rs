//! Wire types: the JSON that crosses a boundary (widget ⇄ host page,
//! widget ⇄ backend). Versioned and kept apart from the domain types, so a
//! rule change never alters a published format by accident.
//!
//! Every type here is camelCase JSON. Records follow `consent-record/1`,
//! described by `docs/schema/consent-record.v1.json`.

use serde::{Deserialize, Serialize};

use crate::compact::VecMap;
use crate::domain::{Basis, Channel, CollectionChannel, DecisionState, Venue};
use crate::time::Timestamp;

/// The `schema` value of every v1 record.
pub const RECORD_SCHEMA_V1: &str = "consent-record/1";

/// A consent record, version 1. Modelled on the Kantara Consent Receipt
/// v1.1 and ISO/IEC TS 27560; `dpvState` uses the W3C DPV consent states.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsentRecordV1 {
    /// Always `consent-record/1`.
    pub schema: String,
    /// A UUID v4, from `crypto.randomUUID()` in the widget.
    pub record_id: String,
    /// The record this one replaces (a changed answer), if any.
    pub supersedes: Option<String>,
    pub customer_id: String,
    pub venue: Venue,
    pub partner: PartnerRefV1,
    pub purpose: String,
    /// The channels this decision covers.
    pub channels: Vec<Channel>,
    pub state: DecisionState,
    pub dpv_state: DpvState,
    pub notice: NoticeV1,
    pub presentation: PresentationV1,
    /// What the patron did, e.g. `selected-yes`.
    pub action: Action,
    pub presented_at: Timestamp,
    pub decided_at: Timestamp,
    pub collection: CollectionV1,
    /// ISO 3166-1 alpha-2 country (or `GB-WLS`-style subdivision) whose law applies.
    pub jurisdiction: String,
    pub valid_until: Option<Timestamp>,
    /// Set by the backend when it stores the record; never by the widget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<Timestamp>,
    /// Set by the backend when it stores the record; never by the widget:
    /// which address each channel of the decision concerns, as a keyed
    /// digest of the patron's contact point at that moment (see
    /// [`ContactDigestsV1`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_digests: Option<ContactDigestsV1>,
    /// The lawful basis: `consent` (left out) or, for the venue's own
    /// marketing only, `legitimate-interests` (the soft opt-in).
    #[serde(default, skip_serializing_if = "Basis::is_consent")]
    pub basis: Basis,
    /// Where the record comes from: `prompt` (left out) or `imported`
    /// (`consent-host import`, with [`ConsentRecordV1::import`]).
    #[serde(default, skip_serializing_if = "Provenance::is_prompt")]
    pub provenance: Provenance,
    /// Present on a record `consent-host import` brought in from the
    /// venue's earlier records (collection channel `import`): its words
    /// and the way it was asked are not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<ImportV1>,
}

/// Where a record comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provenance {
    /// Asked by the prompt (or an operator using it): the default.
    #[default]
    Prompt,
    /// Brought in from the venue's earlier records; no wording proof.
    Imported,
}

impl Provenance {
    /// Whether this is the default, left out of a record.
    pub fn is_prompt(&self) -> bool {
        *self == Provenance::Prompt
    }
}

/// Where an imported answer came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportV1 {
    /// The venue's own words for the source (a file, a system, a form).
    pub source: String,
    /// Whether the venue knew when the patron decided; if not,
    /// `decidedAt` is when the answer was imported.
    pub dated: bool,
}

/// A patron's contact points, as the venue knows them: in a checkout
/// token's `contact` claim (signed by the venue's server, so the browser
/// cannot forge them) or set by the venue's back office. Each optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactV1 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// For `sms` and `phone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// A postal address, lines separated by `\n`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal: Option<String>,
}

/// Per channel of a record, the lowercase hex HMAC-SHA256 of the contact
/// point it concerns, keyed by the patron's salt: the venue can show which
/// address a decision was about, and once the patron is erased nobody can
/// link the digest to an address. A channel whose contact point was not
/// known when the record was stored has none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactDigestsV1 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl ContactDigestsV1 {
    /// The digest of one channel's contact point, if any.
    pub fn get(&self, channel: Channel) -> Option<&str> {
        match channel {
            Channel::Email => self.email.as_deref(),
            Channel::Post => self.post.as_deref(),
            Channel::Sms => self.sms.as_deref(),
            Channel::Phone => self.phone.as_deref(),
        }
    }

    /// Sets one channel's digest.
    pub fn set(&mut self, channel: Channel, digest: String) {
        let slot = match channel {
            Channel::Email => &mut self.email,
            Channel::Post => &mut self.post,
            Channel::Sms => &mut self.sms,
            Channel::Phone => &mut self.phone,
        };
        *slot = Some(digest);
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartnerRefV1 {
    pub id: String,
    pub name: String,
    pub privacy_url: String,
}

/// The exact wording shown, and its proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoticeV1 {
    pub id: String,
    pub version: u32,
    /// The locale actually shown (after fallback).
    pub language: String,
    /// Verbatim, as shown.
    pub text: String,
    /// Lowercase hex SHA-256 of `text`'s UTF-8 bytes.
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PresentationV1 {
    pub mode: PresentationMode,
    pub control: Control,
    /// Always false: nothing is pre-selected.
    pub preselected: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PresentationMode {
    Individual,
    General,
    /// The patron's preference centre: every partner, current answers shown.
    Account,
}

/// The control the patron used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Control {
    /// A Yes/No radio pair.
    Radio,
    /// A Yes/No radio pair plus one checkbox per channel.
    RadioWithChannels,
    /// An operator's keyboard entry in box-office mode.
    OperatorEntry,
    /// One opt-out checkbox (the venue's own marketing, soft opt-in).
    OptOut,
    /// Not known (an imported answer).
    Unknown,
}

/// What the patron (or operator) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    SelectedYes,
    SelectedNo,
    /// Shown, not answered, and the venue does not require an answer.
    NoAnswer,
    /// Withdrew an earlier yes (preference centre).
    Withdrew,
    /// Soft opt-in: left the opt-out unticked.
    NotOptedOut,
    /// Soft opt-in: ticked the opt-out.
    OptedOut,
    /// Brought in by `consent-host import`: what the patron did is not known.
    Imported,
}

/// W3C Data Privacy Vocabulary consent states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DpvState {
    ConsentGiven,
    RenewedConsentGiven,
    ConsentRefused,
    ConsentWithdrawn,
    ConsentRequestDeferred,
}

impl DpvState {
    /// The DPV state for a decision; `renewed` marks a yes that renews an earlier answer.
    pub fn of(state: DecisionState, renewed: bool) -> Self {
        match state {
            DecisionState::Given if renewed => DpvState::RenewedConsentGiven,
            DecisionState::Given => DpvState::ConsentGiven,
            DecisionState::Refused => DpvState::ConsentRefused,
            DecisionState::Withdrawn => DpvState::ConsentWithdrawn,
            DecisionState::Deferred => DpvState::ConsentRequestDeferred,
        }
    }

    /// Whether this DPV state can describe that decision state.
    pub fn matches(self, state: DecisionState) -> bool {
        Self::of(state, false) == self || Self::of(state, true) == self
    }
}

/// Who expressed the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpressedBy {
    Customer,
    OperatorOnBehalfOfCustomer,
}

/// How the widget was embedded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Embed {
    #[default]
    Module,
    Script,
    Iframe,
    Demo,
    /// Not collected by the prompt (an imported answer).
    None,
}

/// Where and how the answer was collected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CollectionV1 {
    pub channel: CollectionChannel,
    pub embed: Embed,
    pub page_origin: String,
    pub page_path: String,
    pub widget_version: String,
    pub basket_ref: Option<String>,
    /// The events in the basket behind this partner's question.
    pub event_ids: Vec<String>,
    /// The box-office operator, when assisted.
    pub operator_id: Option<String>,
    pub expressed_by: ExpressedBy,
    /// `navigator.globalPrivacyControl`: true, false, or null when the browser says nothing.
    pub gpc: Option<bool>,
}

/// The body of `POST /api/v1/consent-records`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordBatchV1 {
    pub records: Vec<ConsentRecordV1>,
}

/// `201` answer to a batch. Either list may be left out (read as empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredV1 {
    #[serde(default)]
    pub stored: Vec<StoredRecordV1>,
    #[serde(default)]
    pub duplicates: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRecordV1 {
    pub record_id: String,
    pub received_at: Timestamp,
}

/// Every error answer: `{"error": {"code", "message", "field"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBodyV1 {
    pub error: ErrorV1,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorV1 {
    pub code: String,
    pub message: String,
    /// A JSON path into the request body, e.g. `records[0].notice.sha256`.
    pub field: Option<String>,
}

/// `GET /api/v1/customers/{customerId}/preferences`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreferencesV1 {
    pub customer_id: String,
    pub preferences: Vec<PreferenceV1>,
}

/// A patron's current answer for one partner, as the backend derives it
/// from the newest record, and as the widget's config accepts it. Read as
/// strictly as the rest of a config (an unknown field is a mistake), but
/// its times may be any RFC 3339: a venue may write them by hand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreferenceV1 {
    pub partner_id: String,
    pub state: DecisionState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_id: Option<String>,
    pub notice_version: u32,
    #[serde(deserialize_with = "crate::time::any_rfc3339::deserialize")]
    pub decided_at: Timestamp,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::time::any_rfc3339::option"
    )]
    pub valid_until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    /// The channels the answer covers (for the preference centre).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<Channel>,
    /// The exact wording the patron answered, and its locale, so the
    /// preference centre can show what they agreed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_language: Option<String>,
    /// The answer was brought in by `consent-host import`: its wording was
    /// never recorded (`reaskImported` asks it again).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub imported: bool,
}

/// The widget's configuration, as a venue writes it (JSON).
/// [`crate::config::validate`] turns it into checked domain values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigV1 {
    /// Where records are POSTed, e.g. `/api/v1/consent-records`.
    pub endpoint: String,
    pub customer_id: String,
    pub venue: Option<Venue>,
    #[serde(default)]
    pub jurisdiction: Option<String>,
    /// The locale to show; else `<html lang>`, else `navigator.languages`.
    #[serde(default)]
    pub locale: Option<String>,
    /// The locale every notice must have text for. Default `en-GB`.
    #[serde(default)]
    pub default_locale: Option<String>,
    #[serde(default)]
    pub mode: Option<PresentationMode>,
    /// The venue's statement, required in general mode.
    #[serde(default)]
    pub general_notice: Option<NoticeConfigV1>,
    /// Whether the patron must answer every question before commit.
    #[serde(default)]
    pub require_answer: bool,
    /// Ask again when a notice version changed. Default true.
    #[serde(default)]
    pub reask_on_notice_change: Option<bool>,
    #[serde(default)]
    pub validity_days: Option<u32>,
    #[serde(default)]
    pub channel: Option<CollectionChannel>,
    #[serde(default)]
    pub operator_id: Option<String>,
    pub partners: Vec<PartnerConfigV1>,
    pub basket: BasketV1,
    #[serde(default)]
    pub preferences: Vec<PreferenceV1>,
    /// The heading level of the prompt's title (1–6). Default 2.
    #[serde(default)]
    pub heading_level: Option<u8>,
    #[serde(default)]
    pub theme: Option<ThemeV1>,
    /// Extra request headers for delivery, e.g. a CSRF token.
    #[serde(default)]
    pub headers: VecMap<String, String>,
    /// `fetch` credentials mode: `omit`, `same-origin` (default) or `include`.
    #[serde(default)]
    pub credentials: Option<String>,
    /// The checkout token for delivery, sent as `Authorization: Bearer`.
    /// Never stored: the outbox keeps records, not credentials.
    #[serde(default)]
    pub token: Option<String>,
    /// The venue's own marketing question, asked once like a partner's:
    /// `{privacyUrl, privacySummary?, notice}`. With `notice.basis`
    /// `legitimate-interests` (the soft opt-in, for the venue's existing
    /// customers and similar events) it is an opt-out the patron can take
    /// there and then; otherwise a yes/no consent question.
    #[serde(default)]
    pub own_marketing: Option<OwnMarketingV1>,
    /// Ask again, at the next checkout, an answer brought in by
    /// `consent-host import` (its wording was never recorded). Default false.
    #[serde(default)]
    pub reask_imported: Option<bool>,
    /// Show a note when the browser sends Global Privacy Control.
    #[serde(default)]
    pub show_gpc_note: bool,
    /// Show the prompt's own "Save my choices" button. Default true; set
    /// false when the checkout's own button calls `commit()`.
    #[serde(default)]
    pub submit_button: Option<bool>,
    /// The venue's own wording for the prompt's built-in strings, per locale:
    /// `{"en-GB": {"save": "Continue to payment"}}`.
    #[serde(default)]
    pub strings: VecMap<String, VecMap<String, String>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartnerConfigV1 {
    pub id: String,
    pub name: String,
    pub privacy_url: String,
    #[serde(default)]
    pub privacy_summary: VecMap<String, String>,
    pub notice: NoticeConfigV1,
    /// In general mode, ask this partner its own question rather than
    /// naming it in the general statement (ACE: National Portfolio
    /// Organisations are asked individually).
    #[serde(default)]
    pub ask_individually: bool,
}

/// The venue's own marketing question (`ownMarketing`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OwnMarketingV1 {
    pub privacy_url: String,
    #[serde(default)]
    pub privacy_summary: VecMap<String, String>,
    pub notice: NoticeConfigV1,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoticeConfigV1 {
    pub id: String,
    pub version: u32,
    /// Verbatim text per locale.
    pub text: VecMap<String, String>,
    #[serde(default)]
    pub purpose: Option<String>,
    #[serde(default)]
    pub channels: Vec<Channel>,
    #[serde(default)]
    pub what_changed: VecMap<String, String>,
    /// The lawful basis: `consent` (the default, and the only one a
    /// partner's notice may have) or `legitimate-interests`.
    #[serde(default)]
    pub basis: Option<Basis>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BasketV1 {
    #[serde(default)]
    pub r#ref: Option<String>,
    pub lines: Vec<BasketLineV1>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BasketLineV1 {
    pub event_id: String,
    pub title: String,
    #[serde(default)]
    pub partner_ids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThemeV1 {
    /// `light`, `dark` or `auto` (follows `prefers-color-scheme`).
    #[serde(default)]
    pub preset: Option<String>,
    /// CSS custom properties without the `--cp-` prefix, e.g. `{"accent": "#7a1f5c"}`:
    /// the light scheme's (and the sizes and fonts of both).
    #[serde(default)]
    pub tokens: VecMap<String, String>,
    /// The dark scheme's own colours (the `dark` preset, and `auto` on a
    /// dark device), named as in `tokens`, so a brand colour chosen for a
    /// light page never lands on a dark one unchecked. Colours not given
    /// here keep the dark preset's.
    #[serde(default)]
    pub dark_tokens: VecMap<String, String>,
}

/// The `schema` value of every v1 receipt.
pub const RECEIPT_SCHEMA_V1: &str = "consent-receipt/1";

/// A consent receipt: the patron's own copy of their current answers, one
/// record per partner, each with the exact wording, the answer, when, the
/// venue and partner, and the record id (as stored, with `receivedAt`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceiptV1 {
    /// Always `consent-receipt/1`.
    pub schema: String,
    pub customer_id: String,
    pub generated_at: Timestamp,
    pub records: Vec<ConsentRecordV1>,
}

/// `POST /api/v1/prompt/render`: the config a venue's server would give
/// the widget on its checkout page, and what it knows of the patron's
/// browser. The host answers with the prompt's first render
/// ([`PromptRenderV1`]) to inline into that page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromptRenderRequestV1 {
    pub config: ConfigV1,
    /// The `lang` of the page the prompt will be in (`<html lang>`). As in
    /// the browser, a `locale` in the config wins over it, and it wins over
    /// the patron's languages.
    #[serde(default)]
    pub page_lang: Option<String>,
    /// The patron's `Accept-Language` header, passed on as it came.
    #[serde(default)]
    pub accept_language: Option<String>,
    /// The patron's Global Privacy Control signal (`Sec-GPC: 1`), if sent.
    #[serde(default)]
    pub gpc: Option<bool>,
    /// Where the widget's files are served for the patron's browser: an
    /// absolute `https://` URL or a path from `/`, ending in `/`. The
    /// fragment links `consent-prompt.css` from there. Defaults to this
    /// host's versioned `/consent-prompt/<version>/`.
    #[serde(default)]
    pub asset_base: Option<String>,
    /// `true`: the fragment holds the stylesheet inline (`<style>`) instead
    /// of linking it, so its first paint waits for no second request. A
    /// page under a CSP then allows it by [`PromptRenderV1::style_hash`];
    /// the browser's own entries take it as a constructable stylesheet,
    /// which needs no CSP change.
    #[serde(default)]
    pub inline_style: bool,
}

/// A server-rendered prompt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromptRenderV1 {
    /// `<template shadowrootmode="open">…</template>`: place it as the
    /// first child of the element the widget will mount on.
    pub fragment: String,
    /// The locale the prompt was rendered in.
    pub locale: String,
    /// The fingerprint of the session rendered; the widget takes the
    /// fragment over only when its own session has the same one.
    pub render_key: String,
    /// How many questions the prompt asks (0: it says there is nothing to ask).
    pub questions: usize,
    /// The stylesheet the fragment links (or, inline, holds).
    pub stylesheet: String,
    /// With `inlineStyle`: the CSP source allowing exactly the `<style>`
    /// the fragment holds (`'sha256-…'`), for the page's `style-src`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style_hash: Option<String>,
}

/// What a patron did at the venue that shows they are still its patron:
/// the venue's server reports it, and retention counts from the latest.
/// (An answer to a partner's question is not one of these: a refusal or a
/// withdrawal must never keep a patron's data longer.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActivityKind {
    Purchase,
    Booking,
    Waitlist,
    Login,
    Click,
}

impl ActivityKind {
    /// Every kind, in the order the API documents them.
    pub const ALL: [ActivityKind; 5] = [
        ActivityKind::Purchase,
        ActivityKind::Booking,
        ActivityKind::Waitlist,
        ActivityKind::Login,
        ActivityKind::Click,
    ];

    /// The kind as written on the wire and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Purchase => "purchase",
            ActivityKind::Booking => "booking",
            ActivityKind::Waitlist => "waitlist",
            ActivityKind::Login => "login",
            ActivityKind::Click => "click",
        }
    }

    /// The kind written `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// The body of `POST /api/v1/customers/{customerId}/activity`, and the
/// latest activity the host keeps for a patron.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActivityV1 {
    pub kind: ActivityKind,
    /// When the patron did it (`YYYY-MM-DDTHH:MM:SS.mmmZ`).
    pub at: Timestamp,
}

/// The answer to an activity: the latest activity kept for the patron
/// (the one just sent, unless a later one was kept already).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerActivityV1 {
    pub customer_id: String,
    pub last_activity: ActivityV1,
}
