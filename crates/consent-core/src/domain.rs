//! Domain types: what the engine reasons about.
//!
//! These are not the JSON shapes the widget reads or writes; those live in
//! [`crate::wire`] and are converted (and validated) at the edge, so a change
//! to the wire format never silently changes a rule.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::compact::VecMap;

use crate::time::Timestamp;

/// The longest customer id, in UTF-8 bytes, anywhere: the widget's config,
/// a stored record, and a path that reads records back. One limit, so a
/// record that can be stored can always be read.
pub const MAX_CUSTOMER_ID_BYTES: usize = 256;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

id_type!(
    /// A partner company's id, as the venue's ticketing system knows it.
    PartnerId
);
id_type!(
    /// An event (show, performance run) in the basket.
    EventId
);

/// A marketing channel a partner may use to contact the patron.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    Email,
    Post,
    Sms,
    Phone,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Email, Channel::Post, Channel::Sms, Channel::Phone];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Post => "post",
            Channel::Sms => "sms",
            Channel::Phone => "phone",
        }
    }
}

/// How the answer was collected.
/// A set of channels (a patron's ticks), as four bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ChannelSet(u8);

impl ChannelSet {
    fn bit(c: Channel) -> u8 {
        1 << c as u8
    }

    /// Adds `c`; true if it was not there.
    pub fn insert(&mut self, c: Channel) -> bool {
        let new = !self.contains(&c);
        self.0 |= Self::bit(c);
        new
    }

    /// Removes `c`; true if it was there.
    pub fn remove(&mut self, c: &Channel) -> bool {
        let had = self.contains(c);
        self.0 &= !Self::bit(*c);
        had
    }

    pub fn contains(&self, c: &Channel) -> bool {
        self.0 & Self::bit(*c) != 0
    }

    pub fn len(&self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The channels in their documented order.
    pub fn iter(&self) -> impl Iterator<Item = Channel> + '_ {
        Channel::ALL.into_iter().filter(|c| self.contains(c))
    }
}

impl FromIterator<Channel> for ChannelSet {
    fn from_iter<I: IntoIterator<Item = Channel>>(iter: I) -> Self {
        let mut set = ChannelSet::default();
        for c in iter {
            set.insert(c);
        }
        set
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CollectionChannel {
    /// The patron, in an online checkout.
    #[default]
    Web,
    /// A box-office operator, at the counter.
    BoxOffice,
    /// A box-office operator, on the phone.
    Phone,
    /// Brought in by `consent-host import` from the venue's earlier
    /// records: how and in which words it was asked is not known.
    Import,
}

impl CollectionChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            CollectionChannel::Web => "web",
            CollectionChannel::BoxOffice => "box-office",
            CollectionChannel::Phone => "phone",
            CollectionChannel::Import => "import",
        }
    }

    /// True when an operator records the answer on the patron's behalf.
    pub fn is_assisted(self) -> bool {
        matches!(
            self,
            CollectionChannel::BoxOffice | CollectionChannel::Phone
        )
    }
}

/// The lawful basis a question relies on (UK GDPR article 6, PECR
/// regulation 22). A partner's marketing always needs consent; a venue's
/// own marketing of similar events to its own customers may rely on the
/// soft opt-in (legitimate interests), offered as an opt-out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    #[default]
    Consent,
    LegitimateInterests,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Consent => "consent",
            Basis::LegitimateInterests => "legitimate-interests",
        }
    }

    /// Whether this is consent (the default, left out of a record).
    pub fn is_consent(&self) -> bool {
        *self == Basis::Consent
    }
}

/// A decision a patron has made about one partner.
///
/// There is deliberately no "unknown" variant: no preference at all is
/// represented by the absence of a [`Preference`], and it means no consent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionState {
    Given,
    Refused,
    Withdrawn,
    /// The question was shown but not answered. Not consent; asked again next time.
    Deferred,
}

impl DecisionState {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionState::Given => "given",
            DecisionState::Refused => "refused",
            DecisionState::Withdrawn => "withdrawn",
            DecisionState::Deferred => "deferred",
        }
    }

    /// Whether this state lets the partner send marketing. Only `given` does.
    pub fn is_consent(self) -> bool {
        matches!(self, DecisionState::Given)
    }
}

/// Text in several languages, keyed by BCP 47 tag (`en-GB`, `cy`, `fr`).
pub type LocalizedText = VecMap<String, String>;

/// The wording a patron is shown, versioned so that a change of wording can
/// be detected and consent renewed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Notice {
    pub id: String,
    /// Increases whenever the wording changes in any language.
    pub version: u32,
    /// The verbatim notice, per locale.
    pub text: LocalizedText,
    /// What the data is for, e.g. `marketing`.
    pub purpose: String,
    /// The channels the partner would use. Never empty once validated.
    pub channels: Vec<Channel>,
    /// A short note from the venue on what changed since the last version.
    pub what_changed: LocalizedText,
    /// The lawful basis the question relies on.
    pub basis: Basis,
}

/// A producer or promoter behind one or more events.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Partner {
    pub id: PartnerId,
    pub name: String,
    pub privacy_url: String,
    /// A one-line summary of the partner's privacy practice, per locale.
    pub privacy_summary: LocalizedText,
    pub notice: Notice,
    /// In general mode, asked on its own rather than in the statement.
    pub ask_individually: bool,
    /// The venue's own marketing question (`ownMarketing`): its id is the
    /// venue's, it is asked at every checkout until answered, first and
    /// on its own, and it may rely on the soft opt-in.
    pub own: bool,
}

/// One event in the basket, and the partners behind it (possibly none).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BasketLine {
    pub event_id: EventId,
    pub title: String,
    pub partner_ids: Vec<PartnerId>,
}

/// What the patron decided earlier about one partner.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Preference {
    pub partner_id: PartnerId,
    pub state: DecisionState,
    /// The notice the answer was given to. When `None`, only the version is compared.
    pub notice_id: Option<String>,
    pub notice_version: u32,
    pub decided_at: Timestamp,
    /// When the answer lapses, if the record said so.
    pub valid_until: Option<Timestamp>,
    /// The record that holds the proof, if known.
    pub record_id: Option<String>,
    /// The channels the answer covers, if known.
    pub channels: Vec<Channel>,
    /// The exact wording answered, as `(locale, text)`, if known.
    pub notice_text: Option<(String, String)>,
    /// The record this answer replaced, when it says so (this device's
    /// own answers; the venue's preferences are current already).
    pub supersedes: Option<String>,
    /// When the host received the record, when known.
    pub received_at: Option<Timestamp>,
    /// Brought in by `consent-host import`, without its wording.
    pub imported: bool,
}

impl crate::current::Answered for Preference {
    fn partner(&self) -> &str {
        self.partner_id.as_str()
    }
    fn record_id(&self) -> Option<&str> {
        self.record_id.as_deref()
    }
    fn supersedes(&self) -> Option<&str> {
        self.supersedes.as_deref()
    }
    fn decided_at(&self) -> Timestamp {
        self.decided_at
    }
    fn received_at(&self) -> Option<Timestamp> {
        self.received_at
    }
}

/// How the questions are put to the patron.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// One question per partner company.
    #[default]
    Individual,
    /// One statement naming every partner still to ask. The notice is the
    /// venue's general statement; each partner still gets its own record.
    General { notice: Notice },
    /// The preference centre: every configured partner, with the patron's
    /// current answer, which they may change at any time.
    Account,
}

impl Mode {
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Individual => "individual",
            Mode::General { .. } => "general",
            Mode::Account => "account",
        }
    }
}

/// The venue's rules for asking.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Policy {
    pub mode: Mode,
    /// Ask again when the notice version differs from the one answered.
    pub reask_on_notice_change: bool,
    /// Answers lapse this many days after they were given.
    pub validity_days: Option<u32>,
    pub channel: CollectionChannel,
    /// Ask again an answer imported from the venue's earlier records.
    pub reask_imported: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::Individual,
            reask_on_notice_change: true,
            validity_days: None,
            channel: CollectionChannel::Web,
            reask_imported: false,
        }
    }
}

/// The venue collecting consent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Venue {
    pub id: String,
    pub name: String,
}

/// Looks a text up by locale: exact tag, then its base language, then the
/// default locale, then any text at all (never blank when one exists).
/// Returns the locale actually used with the text.
pub fn localized<'a>(
    text: &'a LocalizedText,
    locale: &str,
    default_locale: &str,
) -> Option<(&'a str, &'a str)> {
    crate::locale::fallback_chain(locale, default_locale)
        .into_iter()
        .find_map(|tag| text.get_key_value(tag.as_str()))
        .or_else(|| {
            // Tags are compared case-insensitively (BCP 47), as a slower second pass.
            crate::locale::fallback_chain(locale, default_locale)
                .into_iter()
                .find_map(|tag| text.iter().find(|(k, _)| k.eq_ignore_ascii_case(&tag)))
        })
        .or_else(|| text.iter().next())
        .map(|(k, v)| (k.as_str(), v.as_str()))
}
