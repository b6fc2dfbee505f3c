//! Building consent records: one per partner per decision, general mode included.
//!
//! The builder computes nothing it cannot know. The record id and the
//! notice's SHA-256 come from the caller (the widget uses
//! `crypto.randomUUID()` and WebCrypto); the builder checks their form and
//! assembles the record.

use std::fmt;

use crate::domain::{Basis, Channel, CollectionChannel, DecisionState, Mode, Partner, Venue};
use crate::time::Timestamp;
use crate::wire::{
    Action, CollectionV1, ConsentRecordV1, Control, DpvState, Embed, ExpressedBy, NoticeV1,
    PartnerRefV1, PresentationMode, PresentationV1, RECORD_SCHEMA_V1,
};

/// Hashes notice text. The widget computes digests with WebCrypto (which is
/// asynchronous) ahead of time and answers from that table; tests and the
/// host use a native SHA-256.
pub trait NoticeHasher {
    /// Lowercase hex SHA-256 of `text`'s UTF-8 bytes, or `None` if unknown.
    fn sha256_hex(&self, text: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> NoticeHasher for F {
    fn sha256_hex(&self, text: &str) -> Option<String> {
        self(text)
    }
}

/// The context shared by every record of one commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordContext {
    pub venue: Venue,
    pub customer_id: String,
    pub jurisdiction: String,
    pub channel: CollectionChannel,
    pub embed: Embed,
    pub page_origin: String,
    pub page_path: String,
    pub widget_version: String,
    pub basket_ref: Option<String>,
    pub operator_id: Option<String>,
    pub gpc: Option<bool>,
    pub validity_days: Option<u32>,
}

/// The notice as it was shown: which one, and the exact text in the locale used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShownNotice {
    pub id: String,
    pub version: u32,
    pub language: String,
    pub text: String,
}

/// One decision about one partner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision<'a> {
    pub partner: &'a Partner,
    pub state: DecisionState,
    pub action: Action,
    /// Channels covered; for `given`, those the patron chose.
    pub channels: Vec<Channel>,
    pub mode: PresentationMode,
    pub control: Control,
    pub notice: ShownNotice,
    pub presented_at: Timestamp,
    pub decided_at: Timestamp,
    pub event_ids: Vec<String>,
    /// The record this decision replaces, if any.
    pub supersedes: Option<String>,
    /// A yes that renews an earlier answer (changed wording, or lapsed).
    pub renewal: bool,
}

/// Why a record could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The record id is not a lowercase UUID v4.
    BadRecordId(String),
    /// The hasher had no digest for the notice text, or gave a malformed one.
    NoDigest { partner_id: String },
    /// `given` with no channel chosen: there is nothing to consent to.
    NoChannels { partner_id: String },
    /// The decision was taken before the question was shown.
    DecidedBeforePresented { partner_id: String },
    /// An assisted channel (box office, phone) with no operator named.
    NoOperator,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::BadRecordId(id) => {
                write!(f, "record id \"{id}\" is not a lowercase UUID v4")
            }
            RecordError::NoDigest { partner_id } => {
                write!(
                    f,
                    "no SHA-256 digest for the notice shown for partner \"{partner_id}\""
                )
            }
            RecordError::NoChannels { partner_id } => {
                write!(
                    f,
                    "consent given to partner \"{partner_id}\" covers no channel"
                )
            }
            RecordError::DecidedBeforePresented { partner_id } => {
                write!(
                    f,
                    "decision for partner \"{partner_id}\" is dated before the question was shown"
                )
            }
            RecordError::NoOperator => {
                write!(f, "box-office and phone records must name the operator")
            }
        }
    }
}

impl std::error::Error for RecordError {}

/// Builds the wire record for one decision.
pub fn build_record(
    ctx: &RecordContext,
    decision: &Decision<'_>,
    record_id: &str,
    hasher: &impl NoticeHasher,
) -> Result<ConsentRecordV1, RecordError> {
    let partner_id = decision.partner.id.0.clone();
    if !is_uuid_v4(record_id) {
        return Err(RecordError::BadRecordId(record_id.to_owned()));
    }
    let sha256 = hasher
        .sha256_hex(&decision.notice.text)
        .filter(|h| is_sha256_hex(h))
        .ok_or_else(|| RecordError::NoDigest {
            partner_id: partner_id.clone(),
        })?;
    if decision.decided_at < decision.presented_at {
        return Err(RecordError::DecidedBeforePresented { partner_id });
    }
    let assisted = ctx.channel.is_assisted();
    let operator_id = ctx.operator_id.clone().filter(|o| !o.trim().is_empty());
    if assisted && operator_id.is_none() {
        return Err(RecordError::NoOperator);
    }
    let mut channels = decision.channels.clone();
    crate::compact::sort_dedup_small(&mut channels);
    if decision.state == DecisionState::Given && channels.is_empty() {
        return Err(RecordError::NoChannels { partner_id });
    }
    let valid_until = match decision.state {
        DecisionState::Deferred => None,
        _ => ctx.validity_days.map(|d| decision.decided_at.plus_days(d)),
    };
    Ok(ConsentRecordV1 {
        schema: RECORD_SCHEMA_V1.to_owned(),
        record_id: record_id.to_owned(),
        supersedes: decision.supersedes.clone(),
        customer_id: ctx.customer_id.clone(),
        venue: ctx.venue.clone(),
        partner: PartnerRefV1 {
            id: partner_id,
            name: decision.partner.name.clone(),
            privacy_url: decision.partner.privacy_url.clone(),
        },
        purpose: decision.partner.notice.purpose.clone(),
        channels,
        state: decision.state,
        dpv_state: DpvState::of(decision.state, decision.renewal),
        notice: NoticeV1 {
            id: decision.notice.id.clone(),
            version: decision.notice.version,
            language: decision.notice.language.clone(),
            text: decision.notice.text.clone(),
            sha256,
        },
        presentation: PresentationV1 {
            mode: decision.mode,
            control: decision.control,
            preselected: false,
        },
        action: decision.action,
        presented_at: decision.presented_at,
        decided_at: decision.decided_at,
        collection: CollectionV1 {
            channel: ctx.channel,
            embed: ctx.embed,
            page_origin: ctx.page_origin.clone(),
            page_path: ctx.page_path.clone(),
            widget_version: ctx.widget_version.clone(),
            basket_ref: ctx.basket_ref.clone(),
            event_ids: decision.event_ids.clone(),
            operator_id: if assisted { operator_id } else { None },
            expressed_by: if assisted {
                ExpressedBy::OperatorOnBehalfOfCustomer
            } else {
                ExpressedBy::Customer
            },
            gpc: ctx.gpc,
        },
        jurisdiction: ctx.jurisdiction.clone(),
        valid_until,
        received_at: None,
        contact_digests: None,
        basis: decision.partner.notice.basis,
        provenance: Default::default(),
        import: None,
    })
}

/// One answer from the venue's earlier records, as `consent-host import`
/// reads it: whose, about which partner, what, and (when known) when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedAnswer {
    pub customer_id: String,
    pub partner: PartnerRefV1,
    pub state: DecisionState,
    pub channels: Vec<Channel>,
    /// When the patron decided, if the venue's records say.
    pub decided_at: Option<Timestamp>,
    /// The venue's words for where it came from.
    pub source: String,
    /// Whose law applies (`GB`, `GB-WLS`).
    pub jurisdiction: String,
}

/// The notice text of every imported record: it says what is not known,
/// rather than claiming words nobody kept.
pub const IMPORTED_NOTICE_TEXT: &str =
    "Not recorded: this answer was imported from the venue's earlier records, which did not keep the wording shown.";

/// The record of an imported answer: collection channel `import`, action
/// `imported`, the notice [`IMPORTED_NOTICE_TEXT`] (its digest proves only
/// that sentence), decided when the venue's records say or else at `now`
/// (`import.dated` false), chained like any other record.
pub fn imported_record(
    answer: &ImportedAnswer,
    venue: &Venue,
    now: Timestamp,
    record_id: &str,
    tool_version: &str,
    sha256_hex: impl Fn(&str) -> String,
) -> ConsentRecordV1 {
    let decided_at = answer.decided_at.unwrap_or(now);
    let mut channels = answer.channels.clone();
    crate::compact::sort_dedup_small(&mut channels);
    ConsentRecordV1 {
        schema: RECORD_SCHEMA_V1.to_owned(),
        record_id: record_id.to_owned(),
        supersedes: None,
        customer_id: answer.customer_id.clone(),
        venue: venue.clone(),
        partner: answer.partner.clone(),
        purpose: "marketing".to_owned(),
        channels,
        state: answer.state,
        dpv_state: DpvState::of(answer.state, false),
        notice: NoticeV1 {
            id: "imported".to_owned(),
            version: 1,
            language: crate::locale::DEFAULT_LOCALE.to_owned(),
            text: IMPORTED_NOTICE_TEXT.to_owned(),
            sha256: sha256_hex(IMPORTED_NOTICE_TEXT),
        },
        presentation: PresentationV1 {
            mode: PresentationMode::Individual,
            control: Control::Unknown,
            preselected: false,
        },
        action: Action::Imported,
        presented_at: decided_at,
        decided_at,
        collection: CollectionV1 {
            channel: CollectionChannel::Import,
            embed: Embed::None,
            page_origin: String::new(),
            page_path: String::new(),
            widget_version: tool_version.to_owned(),
            basket_ref: None,
            event_ids: Vec::new(),
            operator_id: None,
            expressed_by: ExpressedBy::Customer,
            gpc: None,
        },
        jurisdiction: answer.jurisdiction.clone(),
        valid_until: None,
        received_at: None,
        contact_digests: None,
        basis: Basis::Consent,
        provenance: crate::wire::Provenance::Imported,
        import: Some(crate::wire::ImportV1 {
            source: answer.source.clone(),
            dated: answer.decided_at.is_some(),
        }),
    }
}

/// How a question was presented: the general statement, one partner's own
/// question (in general mode too, for a partner asked individually), or
/// the preference centre.
pub fn presentation_mode(mode: &Mode, question: &crate::plan::Question) -> PresentationMode {
    match mode {
        Mode::General { .. } if question.general => PresentationMode::General,
        Mode::Individual | Mode::General { .. } => PresentationMode::Individual,
        Mode::Account => PresentationMode::Account,
    }
}

/// Lowercase, hyphenated UUID with version 4 and the RFC 4122 variant.
pub fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
}

/// 64 lowercase hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

pub use crate::domain::MAX_CUSTOMER_ID_BYTES;

/// A problem with a received record, named by its JSON path within the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// How far ahead of the receiving host's clock a record's times may be.
/// A phone whose clock is a few hours out (a wrong time zone set by hand)
/// is still believed; anything further is a broken clock or a forgery.
pub const MAX_CLOCK_AHEAD_MS: i64 = 24 * 60 * 60 * 1000;

/// Checks a record's times against the moment a backend received it. A
/// decision cannot be dated implausibly far in the future; within the
/// allowance, a backend still counts it at the earlier of `decidedAt` and
/// its arrival, so no client clock can put a decision after a later one.
pub fn check_timing(r: &ConsentRecordV1, received_at: Timestamp) -> Result<(), FieldError> {
    let limit = received_at.unix_millis().saturating_add(MAX_CLOCK_AHEAD_MS);
    for (field, at) in [("presentedAt", r.presented_at), ("decidedAt", r.decided_at)] {
        if at.unix_millis() > limit {
            return Err(FieldError {
                field: field.to_owned(),
                message: format!(
                    "is {at}, more than 24 hours after the backend received the record ({received_at}); check the device's clock"
                ),
            });
        }
    }
    Ok(())
}

/// Checks an activity's time against the moment a backend received it,
/// as [`check_timing`] does a record's: more than a day ahead is a broken
/// clock, not a patron. (The backend keeps it at the earlier of `at` and
/// its arrival, so a clock a few hours fast cannot hold a patron's data
/// longer.)
pub fn check_activity(
    activity: &crate::wire::ActivityV1,
    received_at: Timestamp,
) -> Result<(), FieldError> {
    if activity.at.unix_millis() > received_at.unix_millis().saturating_add(MAX_CLOCK_AHEAD_MS) {
        return Err(FieldError {
            field: "at".to_owned(),
            message: format!(
                "is {}, more than 24 hours after the backend received it ({received_at}); check the sending server's clock",
                activity.at
            ),
        });
    }
    Ok(())
}

/// Checks a record's meaning beyond its JSON shape: the digest matches the
/// verbatim text, the DPV state matches the state, nothing was pre-selected,
/// and so on. `sha256_hex` must hash for real (the host uses a native SHA-256).
pub fn check_record(
    r: &ConsentRecordV1,
    sha256_hex: impl Fn(&str) -> String,
) -> Result<(), FieldError> {
    let err = |field: &str, message: String| {
        Err(FieldError {
            field: field.to_owned(),
            message,
        })
    };
    if r.schema != RECORD_SCHEMA_V1 {
        return err("schema", format!("must be \"{RECORD_SCHEMA_V1}\""));
    }
    if !is_uuid_v4(&r.record_id) {
        return err("recordId", "must be a lowercase UUID v4".into());
    }
    if let Some(s) = &r.supersedes {
        if !is_uuid_v4(s) {
            return err("supersedes", "must be a lowercase UUID v4 or null".into());
        }
        if *s == r.record_id {
            return err("supersedes", "a record cannot supersede itself".into());
        }
    }
    for (field, value) in [
        ("customerId", &r.customer_id),
        ("venue.id", &r.venue.id),
        ("venue.name", &r.venue.name),
        ("partner.id", &r.partner.id),
        ("partner.name", &r.partner.name),
        ("purpose", &r.purpose),
        ("notice.id", &r.notice.id),
        ("notice.language", &r.notice.language),
        ("notice.text", &r.notice.text),
        ("jurisdiction", &r.jurisdiction),
    ] {
        if value.trim().is_empty() {
            return err(field, "must not be empty".into());
        }
    }
    if r.customer_id.len() > MAX_CUSTOMER_ID_BYTES {
        return err(
            "customerId",
            format!("must be at most {MAX_CUSTOMER_ID_BYTES} bytes"),
        );
    }
    if !crate::locale::is_valid_tag(&r.notice.language) {
        return err("notice.language", "must be a BCP 47 language tag".into());
    }
    if !is_sha256_hex(&r.notice.sha256) {
        return err("notice.sha256", "must be 64 lowercase hex digits".into());
    }
    if sha256_hex(&r.notice.text) != r.notice.sha256 {
        return err(
            "notice.sha256",
            "does not match the SHA-256 of notice.text".into(),
        );
    }
    if !r.dpv_state.matches(r.state) {
        return err(
            "dpvState",
            format!("does not describe state \"{}\"", r.state.as_str()),
        );
    }
    if r.state == DecisionState::Given && r.channels.is_empty() {
        return err(
            "channels",
            "consent given must cover at least one channel".into(),
        );
    }
    if r.presentation.preselected {
        return err(
            "presentation.preselected",
            "must be false: consent is never pre-selected".into(),
        );
    }
    if r.decided_at < r.presented_at {
        return err("decidedAt", "is before presentedAt".into());
    }
    if let Some(v) = r.valid_until {
        if v < r.decided_at {
            return err("validUntil", "is before decidedAt".into());
        }
    }
    if r.basis == Basis::LegitimateInterests && r.partner.id != r.venue.id {
        return err(
            "basis",
            "legitimate-interests is for the venue's own marketing only (partner.id = venue.id): a partner's marketing needs consent".into(),
        );
    }
    let imported = r.collection.channel == CollectionChannel::Import;
    if r.import.is_some() != imported {
        return err(
            "import",
            "is present exactly on records of collection channel \"import\"".into(),
        );
    }
    if (r.provenance == crate::wire::Provenance::Imported) != imported {
        return err(
            "provenance",
            "is \"imported\" exactly on records of collection channel \"import\"".into(),
        );
    }
    let action_fits = match (imported, r.basis, r.state) {
        (true, _, _) => r.action == Action::Imported,
        (false, Basis::LegitimateInterests, DecisionState::Given) => {
            r.action == Action::NotOptedOut
        }
        (false, Basis::LegitimateInterests, DecisionState::Refused) => r.action == Action::OptedOut,
        (false, Basis::LegitimateInterests, DecisionState::Withdrawn) => {
            matches!(r.action, Action::Withdrew | Action::OptedOut)
        }
        (false, _, DecisionState::Deferred) => r.action == Action::NoAnswer,
        (false, Basis::Consent, DecisionState::Given) => r.action == Action::SelectedYes,
        (false, Basis::Consent, DecisionState::Refused) => r.action == Action::SelectedNo,
        (false, Basis::Consent, DecisionState::Withdrawn) => {
            matches!(r.action, Action::Withdrew | Action::SelectedNo)
        }
    };
    if !action_fits {
        return err(
            "action",
            format!("does not fit state \"{}\"", r.state.as_str()),
        );
    }
    let c = &r.collection;
    if c.channel.is_assisted() {
        if c.operator_id.as_deref().is_none_or(|o| o.trim().is_empty()) {
            return err(
                "collection.operatorId",
                "is required for box-office and phone records".into(),
            );
        }
        if c.expressed_by != ExpressedBy::OperatorOnBehalfOfCustomer {
            return err(
                "collection.expressedBy",
                "must be operator-on-behalf-of-customer when assisted".into(),
            );
        }
    } else if c.expressed_by != ExpressedBy::Customer {
        return err(
            "collection.expressedBy",
            "must be customer on the web channel".into(),
        );
    } else if c.operator_id.is_some() {
        return err(
            "collection.operatorId",
            "must be absent on the web channel: the patron answered, not an operator".into(),
        );
    }
    if c.page_path.contains(['?', '#']) {
        // A query string or fragment can carry personal data (an email in
        // a tracking link) into a record that outlives the patron's erasure.
        return err(
            "collection.pagePath",
            "must be the page's path only, without a query string or fragment".into(),
        );
    }
    Ok(())
}

/// The notice exactly as shown for a question, and, when the patron's
/// language had no text, a sentence saying which was shown instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shown {
    pub notice: ShownNotice,
    pub missing_translation: Option<String>,
}

/// The words shown for a question's notice: the one function that gives
/// them both to the screen and to the record. In general mode, the venue's
/// statement with the partners named in it; otherwise the partner's own
/// notice, in the best locale the venue gave (exact, base language, then
/// the default).
pub fn shown_notice(
    config: &crate::config::Config,
    locale: &str,
    question: &crate::plan::Question,
) -> Shown {
    let venue = |text: &crate::domain::LocalizedText, what: &str| {
        let Some((lang, t)) = crate::domain::localized(text, locale, &config.default_locale) else {
            return (String::new(), String::new(), None);
        };
        let wanted = crate::locale::fallback_chain(locale, "");
        let missing = (!wanted.iter().take(2).any(|w| w == lang) && !text.is_empty()).then(|| {
            format!(
                "missing translation: {what} for locale \"{locale}\"; showing \"{lang}\" instead"
            )
        });
        (lang.to_owned(), t.to_owned(), missing)
    };
    match &config.policy.mode {
        Mode::General { notice } if question.general => {
            let names: Vec<&str> = question
                .asks
                .iter()
                .filter_map(|a| config.partners.get(a.partner_index))
                .map(|p| p.name.as_str())
                .collect();
            let (language, text, missing_translation) = venue(&notice.text, "generalNotice.text");
            let and = crate::i18n::text(&config.strings, locale, crate::i18n::Key::And).text;
            let names = crate::i18n::join_list(&names, &and);
            Shown {
                notice: ShownNotice {
                    id: notice.id.clone(),
                    version: notice.version,
                    language,
                    text: crate::i18n::fill(&text, &[("partners", &names)]),
                },
                missing_translation,
            }
        }
        _ => {
            let partner = question
                .asks
                .first()
                .and_then(|a| config.partners.get(a.partner_index));
            match partner {
                Some(p) => {
                    let (language, text, missing_translation) =
                        venue(&p.notice.text, &format!("partner \"{}\" notice", p.id.0));
                    Shown {
                        notice: ShownNotice {
                            id: p.notice.id.clone(),
                            version: p.notice.version,
                            language,
                            text,
                        },
                        missing_translation,
                    }
                }
                None => Shown {
                    notice: ShownNotice {
                        id: String::new(),
                        version: 0,
                        language: String::new(),
                        text: String::new(),
                    },
                    missing_translation: None,
                },
            }
        }
    }
}

/// The control a question is answered with, as the record states it: an
/// operator's entry when assisted, a yes/no pair with channel boxes when
/// more than one channel is offered, else a yes/no pair.
pub fn control_for(
    question: &crate::plan::Question,
    partners: &[Partner],
    policy: &crate::domain::Policy,
) -> Control {
    if policy.channel.is_assisted() {
        Control::OperatorEntry
    } else if crate::session::is_opt_out(question, partners) {
        Control::OptOut
    } else if crate::session::offered_channels(question, partners, policy).len() > 1 {
        Control::RadioWithChannels
    } else {
        Control::Radio
    }
}
