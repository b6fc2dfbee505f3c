//! Config validation: from the venue's JSON ([`ConfigV1`]) to checked domain
//! values ([`Config`]).
//!
//! Every problem names its field path, e.g.
//! `partners[2].notice.text: no text for the default locale "en-GB"`.
//! Errors stop the widget from mounting; warnings are kept apart and only
//! reported, because the prompt can still ask every question correctly.

use crate::compact::{sort_dedup_small, sort_small_by_key, StrMap, VecMap};
use std::fmt;

use crate::domain::{
    Basis, BasketLine, Channel, CollectionChannel, EventId, LocalizedText, Mode, Notice, Partner,
    PartnerId, Policy, Preference, Venue,
};
use crate::locale::{canonical_tag, is_valid_tag, DEFAULT_LOCALE};
use crate::wire::{ConfigV1, NoticeConfigV1, PresentationMode};

/// One problem in a config, at a JSON path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Issue {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() || self.path == "." {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A config that cannot be used, with everything wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConfigErrors {
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        writeln!(
            f,
            "the consent prompt config has {n} error{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.errors {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// `fetch` credentials mode for delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Credentials {
    Omit,
    #[default]
    SameOrigin,
    Include,
}

impl Credentials {
    pub fn as_str(self) -> &'static str {
        match self {
            Credentials::Omit => "omit",
            Credentials::SameOrigin => "same-origin",
            Credentials::Include => "include",
        }
    }
}

/// Colour scheme presets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ThemePreset {
    Light,
    Dark,
    /// Follows `prefers-color-scheme`.
    #[default]
    Auto,
}

impl ThemePreset {
    pub fn as_str(self) -> &'static str {
        match self {
            ThemePreset::Light => "light",
            ThemePreset::Dark => "dark",
            ThemePreset::Auto => "auto",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "light" => Some(ThemePreset::Light),
            "dark" => Some(ThemePreset::Dark),
            "auto" => Some(ThemePreset::Auto),
            _ => None,
        }
    }
}

/// The theme tokens a venue may set, each a CSS custom property `--cp-NAME`
/// (what each one colours or sizes: the theming guide, `docs/src/venues/theming.md`).
/// Names only: every patron downloads this list with the widget.
pub const THEME_TOKENS: &[&str] = &[
    "accent",
    "accent-text",
    "text",
    "muted",
    "background",
    "surface",
    "border",
    "error",
    "radius",
    "font-family",
    "font-size",
    "spacing",
    "padding",
    "focus-ring",
];

/// The venue's look.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Theme {
    pub preset: ThemePreset,
    /// Validated `(token, value)` pairs, token without the `--cp-` prefix:
    /// the light scheme's, and the sizes and fonts of both.
    pub tokens: Vec<(String, String)>,
    /// The dark scheme's own, set as `--cp-dark-NAME`.
    pub dark_tokens: Vec<(String, String)>,
}

/// A checked config, ready to plan and render.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    pub endpoint: String,
    pub customer_id: String,
    pub venue: Venue,
    pub jurisdiction: String,
    /// The locale asked for in config, if any (the widget falls back to the page's).
    pub locale: Option<String>,
    pub default_locale: String,
    pub require_answer: bool,
    pub policy: Policy,
    pub operator_id: Option<String>,
    pub partners: Vec<Partner>,
    pub basket: Vec<BasketLine>,
    pub basket_ref: Option<String>,
    pub preferences: Vec<Preference>,
    pub heading_level: u8,
    pub theme: Theme,
    pub headers: Vec<(String, String)>,
    pub credentials: Credentials,
    /// The checkout token, sent as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    pub show_gpc_note: bool,
    pub submit_button: bool,
    /// Venue overrides of the built-in strings, by canonical locale.
    pub strings: crate::i18n::Overrides,
}

/// A valid config and the warnings found on the way.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Validated {
    pub config: Config,
    pub warnings: Vec<Issue>,
}

/// One step of a path into a config: a key, or an index in a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(u32),
}

/// `a.b[0].c`: a path as every reader of configs names it to the venue
/// (the widget's and `check-config`'s).
pub fn path_text(at: &[Step]) -> String {
    let mut out = String::new();
    for s in at {
        match s {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A config serde could not read, in the words the rest of validation uses.
///
/// Whatever reads the config (serde-wasm-bindgen in the widget, serde_json
/// on a server) runs under `serde_path_to_error` and passes here the path
/// it reports (`partners[1].notice.version`) and serde's message; this
/// gives the venue the same sentence either way:
/// `partners[1].notice.version: must be a whole number from 0 to
/// 4294967295, not a string`, `customer_id: is not a known field; did you
/// mean "customerId"?`.
pub fn read_issue(path: &str, message: &str) -> Issue {
    let path = if path == "." { "" } else { path };
    // serde_json adds where in the text it was; the path says it better.
    let message = match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => &message[..i],
        _ => message,
    };
    // serde_path_to_error names an unknown key itself; a missing one it
    // cannot, so the key is added unless the path already ends with it.
    let join = |key: &str| {
        if path == key || path.ends_with(&format!(".{key}")) {
            path.to_owned()
        } else if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (key, known) = rest.split_once('`').unwrap_or((rest, ""));
        return Issue {
            path: join(key),
            message: unknown_field(key, &ticked(known)),
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or(rest);
        return Issue {
            path: join(key),
            message: "is required".into(),
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (got, known) = rest.split_once('`').unwrap_or((rest, ""));
        let quoted: Vec<String> = ticked(known).iter().map(|n| format!("\"{n}\"")).collect();
        return Issue {
            path: path.to_owned(),
            message: format!("must be one of {}, not \"{got}\"", quoted.join(", ")),
        };
    }
    let wrong = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "));
    if let Some((got, expected)) = wrong.and_then(|w| w.rsplit_once(", expected ")) {
        let range = match expected {
            "u8" => Some(u64::from(u8::MAX)),
            "u16" => Some(u64::from(u16::MAX)),
            "u32" => Some(u64::from(u32::MAX)),
            "u64" => Some(u64::MAX),
            _ => None,
        };
        let number = got
            .strip_prefix("integer `")
            .or_else(|| got.strip_prefix("floating point `"))
            .map(|n| n.trim_end_matches('`'));
        let message = if matches!(got, "null" | "unit value") {
            "is required".to_owned()
        } else {
            let expected = match range {
                Some(max) => format!("a whole number from 0 to {max}"),
                None => plain_expected(expected),
            };
            let got = match number {
                Some(n) if range.is_some() => n.to_owned(),
                _ => plain_kind(got).to_owned(),
            };
            format!("must be {expected}, not {got}")
        };
        return Issue {
            path: path.to_owned(),
            message,
        };
    }
    Issue {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

/// What to put in place of a value serde refused, so that a copy of the
/// config can be read again and the next problem found (every wrong type
/// and missing field reported at once). Each reader makes its own value
/// of it: the widget a `JsValue`, a server a `serde_json::Value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placeholder<'a> {
    /// `""`
    Text,
    /// `1`
    Number,
    /// `false`
    False,
    /// `[]`
    List,
    /// `{}`
    Object,
    /// The first name serde allows (`"email"` for an unknown channel).
    Variant(&'a str),
    /// [`PLACEHOLDER_TIME`]: for a string the field's own reading refused.
    Time,
}

/// The time [`Placeholder::Time`] stands for: one every reading accepts.
pub const PLACEHOLDER_TIME: &str = "1970-01-01T00:00:00.000Z";

/// The value of the type serde's `message` says it expected; for a string
/// a field's own reading refused (`current`, the value there now, when it
/// is a string), a time that reads. `None` when nothing would read (the
/// reader then stops repairing).
pub fn placeholder<'a>(message: &'a str, current: Option<&str>) -> Option<Placeholder<'a>> {
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        // "unknown variant `x`, expected one of `a`, `b`" / "expected `a` or `b`"
        let expected = rest.split_once("expected")?.1;
        return expected.split('`').nth(1).map(Placeholder::Variant);
    }
    let expected = message.rsplit_once("expected ").map_or("", |(_, e)| e);
    let has = |words: &[&str]| words.iter().any(|w| expected.contains(w));
    if has(&["string", "char"]) {
        Some(Placeholder::Text)
    } else if has(&[
        "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "f32", "f64", "integer", "number",
    ]) {
        Some(Placeholder::Number)
    } else if has(&["bool"]) {
        Some(Placeholder::False)
    } else if has(&["sequence", "array", "tuple"]) {
        Some(Placeholder::List)
    } else if has(&["map", "struct", "object"]) {
        Some(Placeholder::Object)
    } else {
        match current {
            Some(s) if s != PLACEHOLDER_TIME => Some(Placeholder::Time),
            _ => None,
        }
    }
}

/// The names in serde's "expected one of `a`, `b`" list.
fn ticked(list: &str) -> Vec<&str> {
    list.split('`').skip(1).step_by(2).collect()
}

/// serde's name for what it found, as the venue would say it.
fn plain_kind(got: &str) -> &str {
    match got.split(' ').next().unwrap_or(got) {
        "string" => "a string",
        "boolean" => "true or false",
        "integer" | "floating" => "a number",
        "sequence" => "a list",
        "map" => "an object",
        _ => got,
    }
}

/// serde's name for what it wanted, as the venue would say it.
fn plain_expected(expected: &str) -> String {
    match expected {
        "a string" | "a borrowed string" => "a string".into(),
        "a boolean" => "true or false".into(),
        "a sequence" => "a list".into(),
        "a map" => "an object".into(),
        e if e.starts_with("struct ") => "an object".into(),
        e => e.to_owned(),
    }
}

/// "is not a known field", with the likely intended name when the
/// difference is only case or separators (`customer_id` → `customerId`).
fn unknown_field(key: &str, known: &[&str]) -> String {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let wanted = squash(key);
    match known.iter().find(|k| squash(k) == wanted) {
        Some(k) => format!("is not a known field; did you mean \"{k}\"?"),
        None => format!("is not a known field (known here: {})", known.join(", ")),
    }
}

struct Check {
    errors: Vec<Issue>,
    warnings: Vec<Issue>,
}

impl Check {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Issue {
            path: path.into(),
            message: message.into(),
        });
    }
    fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Issue {
            path: path.into(),
            message: message.into(),
        });
    }
    fn non_empty(&mut self, path: &str, value: &str) {
        if value.trim().is_empty() {
            self.error(path, "must not be empty");
        }
    }
}

/// Checks a config and converts it to domain values.
pub fn validate(raw: &ConfigV1) -> Result<Validated, ConfigErrors> {
    let mut c = Check {
        errors: Vec::new(),
        warnings: Vec::new(),
    };

    let endpoint = raw.endpoint.trim();
    if endpoint.is_empty() {
        c.error(
            "endpoint",
            "must not be empty: give the URL records are POSTed to",
        );
    } else if !(endpoint.starts_with('/')
        || endpoint.starts_with("https://")
        || endpoint.starts_with("http://"))
    {
        c.error(
            "endpoint",
            format!("\"{endpoint}\" must be a path starting with / or an http(s) URL"),
        );
    }
    c.non_empty("customerId", &raw.customer_id);
    if raw.customer_id.trim().len() > crate::domain::MAX_CUSTOMER_ID_BYTES {
        c.error(
            "customerId",
            format!(
                "is {} bytes long; at most {} (the backend stores and reads back no longer id)",
                raw.customer_id.trim().len(),
                crate::domain::MAX_CUSTOMER_ID_BYTES
            ),
        );
    }
    let venue = match &raw.venue {
        Some(v) => {
            c.non_empty("venue.id", &v.id);
            c.non_empty("venue.name", &v.name);
            v.clone()
        }
        None => {
            c.error("venue", "is required: {\"id\": …, \"name\": …}");
            Venue {
                id: String::new(),
                name: String::new(),
            }
        }
    };
    let jurisdiction = raw.jurisdiction.clone().unwrap_or_else(|| "GB".to_owned());
    if !is_jurisdiction(&jurisdiction) {
        c.error(
            "jurisdiction",
            format!("\"{jurisdiction}\" is not an ISO 3166 code such as \"GB\" or \"GB-WLS\""),
        );
    }
    let locale = raw.locale.as_deref().map(|l| {
        if !is_valid_tag(&canonical_tag(l)) {
            c.error(
                "locale",
                format!("\"{l}\" is not a BCP 47 language tag such as \"cy\" or \"en-GB\""),
            );
        }
        canonical_tag(l)
    });
    let default_locale = match raw.default_locale.as_deref() {
        Some(l) if !is_valid_tag(&canonical_tag(l)) => {
            c.error(
                "defaultLocale",
                format!("\"{l}\" is not a BCP 47 language tag"),
            );
            DEFAULT_LOCALE.to_owned()
        }
        Some(l) => canonical_tag(l),
        None => DEFAULT_LOCALE.to_owned(),
    };

    let mode = match (
        raw.mode.unwrap_or(PresentationMode::Individual),
        &raw.general_notice,
    ) {
        (PresentationMode::General, Some(n)) => {
            for (tag, text) in &n.text {
                if !text.contains("{partners}") {
                    c.error(
                        format!("generalNotice.text.{tag}"),
                        "must contain {partners}, where the prompt writes the partner names: the statement must name each one",
                    );
                }
            }
            Mode::General {
                notice: notice(&mut c, "generalNotice", n, &default_locale),
            }
        }
        (PresentationMode::General, None) => {
            c.error(
                "generalNotice",
                "is required in general mode: the statement that names the partners",
            );
            Mode::Individual
        }
        (PresentationMode::Individual, Some(_)) => {
            c.warn("generalNotice", "is ignored in individual mode");
            Mode::Individual
        }
        (PresentationMode::Individual, None) => Mode::Individual,
        (PresentationMode::Account, general) => {
            if general.is_some() {
                c.warn("generalNotice", "is ignored in account mode");
            }
            Mode::Account
        }
    };
    if raw.validity_days == Some(0) {
        c.error(
            "validityDays",
            "must be at least 1 day (leave it out for answers that do not lapse)",
        );
    }
    let channel = raw.channel.unwrap_or_default();
    if channel == CollectionChannel::Import {
        c.error(
            "channel",
            "\"import\" is for answers brought in by consent-host import; the prompt asks on \"web\", \"box-office\" or \"phone\"",
        );
    }
    let operator_id = raw.operator_id.clone().filter(|o| !o.trim().is_empty());
    if channel.is_assisted() && operator_id.is_none() {
        c.error(
            "operatorId",
            format!(
                "is required when channel is \"{}\": records must name the operator",
                channel.as_str()
            ),
        );
    }
    if !channel.is_assisted() && operator_id.is_some() {
        c.warn("operatorId", "is ignored on the web channel");
    }

    // The venue's own question, then the partners.
    let mut first_index = StrMap::with_capacity(raw.partners.len() + 1);
    let mut partners = Vec::with_capacity(raw.partners.len() + 1);
    if let Some(own) = &raw.own_marketing {
        check_url(&mut c, "ownMarketing.privacyUrl", &own.privacy_url);
        let summary = locale_map(&mut c, "ownMarketing.privacySummary", &own.privacy_summary);
        let notice = notice(&mut c, "ownMarketing.notice", &own.notice, &default_locale);
        if notice.channels.is_empty() {
            c.error(
                "ownMarketing.notice.channels",
                "name at least one channel: email, post, sms or phone",
            );
        }
        first_index.try_insert(venue.id.as_str(), usize::MAX);
        partners.push(Partner {
            id: PartnerId(venue.id.clone()),
            name: venue.name.trim().to_owned(),
            privacy_url: own.privacy_url.trim().to_owned(),
            privacy_summary: summary,
            notice,
            ask_individually: true,
            own: true,
        });
    }
    for (i, p) in raw.partners.iter().enumerate() {
        let at = format!("partners[{i}]");
        c.non_empty(&format!("{at}.id"), &p.id);
        c.non_empty(&format!("{at}.name"), &p.name);
        match first_index.try_insert(p.id.as_str(), i) {
            Some(&usize::MAX) => c.error(
                format!("{at}.id"),
                format!(
                    "\"{}\" is the venue's own id, which ownMarketing's question uses",
                    p.id
                ),
            ),
            Some(prev) => c.error(
                format!("{at}.id"),
                format!("\"{}\" is already used by partners[{prev}]", p.id),
            ),
            None => {}
        }
        check_url(&mut c, &format!("{at}.privacyUrl"), &p.privacy_url);
        let summary = locale_map(&mut c, &format!("{at}.privacySummary"), &p.privacy_summary);
        if !summary.is_empty() && !summary.contains_key(&default_locale) {
            c.warn(
                format!("{at}.privacySummary"),
                format!("no text for the default locale \"{default_locale}\""),
            );
        }
        let notice = notice(&mut c, &format!("{at}.notice"), &p.notice, &default_locale);
        if notice.channels.is_empty() {
            c.error(
                format!("{at}.notice.channels"),
                "name at least one channel: email, post, sms or phone",
            );
        }
        if notice.basis != Basis::Consent {
            c.error(
                format!("{at}.notice.basis"),
                "a partner's marketing needs consent: legitimate-interests (the soft opt-in) is for the venue's own marketing only (ownMarketing)",
            );
        }
        partners.push(Partner {
            id: PartnerId(p.id.clone()),
            name: p.name.trim().to_owned(),
            privacy_url: p.privacy_url.trim().to_owned(),
            privacy_summary: summary,
            notice,
            ask_individually: p.ask_individually,
            own: false,
        });
    }

    // Basket.
    let mut seen_events = StrMap::with_capacity(raw.basket.lines.len());
    let mut basket = Vec::with_capacity(raw.basket.lines.len());
    for (i, l) in raw.basket.lines.iter().enumerate() {
        let at = format!("basket.lines[{i}]");
        c.non_empty(&format!("{at}.eventId"), &l.event_id);
        c.non_empty(&format!("{at}.title"), &l.title);
        if let Some(prev) = seen_events.try_insert(l.event_id.as_str(), i) {
            c.warn(
                format!("{at}.eventId"),
                format!(
                    "\"{}\" repeats basket.lines[{prev}]; the repeat is ignored",
                    l.event_id
                ),
            );
        }
        for (j, pid) in l.partner_ids.iter().enumerate() {
            if !first_index.contains_key(pid.as_str()) {
                c.warn(
                    format!("{at}.partnerIds[{j}]"),
                    format!(
                        "\"{pid}\" is not among the configured partners, so it cannot be asked about"
                    ),
                );
            }
        }
        basket.push(BasketLine {
            event_id: EventId(l.event_id.clone()),
            title: l.title.trim().to_owned(),
            partner_ids: l.partner_ids.iter().map(|p| PartnerId(p.clone())).collect(),
        });
    }

    // Earlier answers.
    let preferences = raw
        .preferences
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if !first_index.contains_key(p.partner_id.as_str()) {
                c.warn(
                    format!("preferences[{i}].partnerId"),
                    format!("\"{}\" is not among the configured partners", p.partner_id),
                );
            }
            preference_of(p, &default_locale)
        })
        .collect();

    let heading_level = raw.heading_level.unwrap_or(2);
    if !(1..=6).contains(&heading_level) {
        c.error(
            "headingLevel",
            format!("{heading_level} must be between 1 and 6"),
        );
    }
    let theme = theme(&mut c, raw.theme.as_ref());
    let credentials = match raw.credentials.as_deref() {
        None | Some("same-origin") => Credentials::SameOrigin,
        Some("omit") => Credentials::Omit,
        Some("include") => Credentials::Include,
        Some(other) => {
            c.error(
                "credentials",
                format!("\"{other}\" must be \"omit\", \"same-origin\" or \"include\""),
            );
            Credentials::SameOrigin
        }
    };
    let mut headers = Vec::new();
    for (name, value) in &raw.headers {
        let at = format!("headers.{name}");
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        {
            c.error(at, "is not a valid HTTP header name");
        } else if ["content-type", "idempotency-key", "content-length"]
            .contains(&name.to_ascii_lowercase().as_str())
        {
            c.error(at, "is set by the prompt itself and cannot be overridden");
        } else if value.contains(['\r', '\n']) {
            c.error(at, "must not contain a line break");
        } else {
            headers.push((name.clone(), value.clone()));
        }
    }

    let token = match raw.token.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) if t.bytes().all(|b| b.is_ascii_graphic()) => Some(t.to_owned()),
        Some(_) => {
            c.error("token", "must be a bearer token: visible ASCII, no spaces");
            None
        }
    };

    let mut strings = crate::i18n::Overrides::new();
    for (tag, table) in &raw.strings {
        let canon = canonical_tag(tag);
        if !is_valid_tag(&canon) {
            c.error(
                format!("strings.{tag}"),
                format!("\"{tag}\" is not a BCP 47 language tag"),
            );
            continue;
        }
        for key in table.keys() {
            if !crate::i18n::KEYS.contains(&key.as_str()) {
                c.warn(
                    format!("strings.{tag}.{key}"),
                    "is not a string the prompt uses; it is ignored",
                );
            }
        }
        strings.insert(canon, table.clone());
    }

    if !c.errors.is_empty() {
        return Err(ConfigErrors {
            errors: c.errors,
            warnings: c.warnings,
        });
    }
    Ok(Validated {
        config: Config {
            endpoint: endpoint.to_owned(),
            customer_id: raw.customer_id.trim().to_owned(),
            venue,
            jurisdiction,
            locale,
            default_locale,
            require_answer: raw.require_answer,
            policy: Policy {
                mode,
                reask_on_notice_change: raw.reask_on_notice_change.unwrap_or(true),
                validity_days: raw.validity_days,
                channel,
                reask_imported: raw.reask_imported.unwrap_or(false),
            },
            operator_id: if channel.is_assisted() {
                operator_id
            } else {
                None
            },
            partners,
            basket,
            basket_ref: raw.basket.r#ref.clone().filter(|r| !r.trim().is_empty()),
            preferences,
            heading_level,
            theme,
            headers,
            credentials,
            token,
            show_gpc_note: raw.show_gpc_note,
            submit_button: raw.submit_button.unwrap_or(true),
            strings,
        },
        warnings: c.warnings,
    })
}

fn notice(c: &mut Check, at: &str, n: &NoticeConfigV1, default_locale: &str) -> Notice {
    c.non_empty(&format!("{at}.id"), &n.id);
    if n.version == 0 {
        c.error(
            format!("{at}.version"),
            "must be 1 or more, and go up whenever the wording changes",
        );
    }
    let text = locale_map(c, &format!("{at}.text"), &n.text);
    if !text.contains_key(default_locale) {
        c.error(
            format!("{at}.text"),
            format!("no text for the default locale \"{default_locale}\""),
        );
    }
    for (tag, t) in &text {
        if t.trim().is_empty() {
            c.error(format!("{at}.text.{tag}"), "must not be empty");
        }
    }
    let mut channels = n.channels.clone();
    let before = channels.len();
    sort_dedup_small(&mut channels);
    if channels.len() != before {
        c.warn(format!("{at}.channels"), "lists a channel twice");
    }
    let purpose = n.purpose.clone().unwrap_or_else(|| "marketing".to_owned());
    if purpose.trim().is_empty() {
        c.error(
            format!("{at}.purpose"),
            "must not be empty (leave it out for \"marketing\")",
        );
    }
    Notice {
        id: n.id.clone(),
        version: n.version,
        text,
        purpose,
        channels: order_channels(channels),
        what_changed: locale_map(c, &format!("{at}.whatChanged"), &n.what_changed),
        basis: n.basis.unwrap_or_default(),
    }
}

/// Channels in their documented order (email, post, sms, phone).
fn order_channels(mut channels: Vec<Channel>) -> Vec<Channel> {
    sort_small_by_key(&mut channels, |ch| {
        Channel::ALL.iter().position(|a| a == ch)
    });
    channels
}

fn locale_map(c: &mut Check, at: &str, m: &VecMap<String, String>) -> LocalizedText {
    let mut out = LocalizedText::new();
    for (tag, text) in m {
        let canon = canonical_tag(tag);
        if !is_valid_tag(&canon) {
            c.error(
                format!("{at}.{tag}"),
                format!("\"{tag}\" is not a BCP 47 language tag"),
            );
        } else if out.insert(canon.clone(), text.clone()).is_some() {
            c.error(
                format!("{at}.{tag}"),
                format!("repeats the locale \"{canon}\""),
            );
        }
    }
    out
}

fn check_url(c: &mut Check, at: &str, url: &str) {
    let url = url.trim();
    let local = ["http://localhost", "http://127.0.0.1"]
        .iter()
        .any(|p| url.starts_with(p));
    if url.is_empty() {
        c.error(
            at,
            "must not be empty: patrons must be able to read the partner's privacy policy",
        );
    } else if local {
        c.warn(at, "is a local http URL; use https in production");
    } else if !url.starts_with("https://")
        || url.len() <= "https://".len()
        || url.contains(char::is_whitespace)
    {
        c.error(at, format!("\"{url}\" must be an https:// URL"));
    }
}

/// A preference as the planner reads it (`notice_text` in
/// `default_locale` when the wire form names no language): a config's
/// `preferences`, and a host's current answers.
pub fn preference_of(p: &crate::wire::PreferenceV1, default_locale: &str) -> Preference {
    Preference {
        partner_id: PartnerId(p.partner_id.clone()),
        state: p.state,
        notice_id: p.notice_id.clone(),
        notice_version: p.notice_version,
        decided_at: p.decided_at,
        valid_until: p.valid_until,
        record_id: p.record_id.clone(),
        channels: p.channels.clone(),
        notice_text: match (&p.notice_language, &p.notice_text) {
            (Some(lang), Some(text)) => Some((canonical_tag(lang), text.clone())),
            (None, Some(text)) => Some((default_locale.to_owned(), text.clone())),
            _ => None,
        },
        supersedes: None,
        received_at: None,
        imported: p.imported,
    }
}

/// The theme a config gives, read on its own: what the rest of the config
/// holds does not matter, and a token [`validate`] would refuse is left out
/// (so a theme can be audited, `crate::theme::audit`, beside a config's
/// other problems).
pub fn theme_of(given: Option<&crate::wire::ThemeV1>) -> Theme {
    theme(
        &mut Check {
            errors: Vec::new(),
            warnings: Vec::new(),
        },
        given,
    )
}

fn theme(c: &mut Check, given: Option<&crate::wire::ThemeV1>) -> Theme {
    let Some(t) = given else {
        return Theme::default();
    };
    let preset = match t.preset.as_deref() {
        None => ThemePreset::Auto,
        Some(p) => ThemePreset::parse(p).unwrap_or_else(|| {
            c.error(
                "theme.preset",
                format!("\"{p}\" must be \"light\", \"dark\" or \"auto\""),
            );
            ThemePreset::Auto
        }),
    };
    let tokens = theme_tokens(c, &t.tokens, "theme.tokens");
    let dark_tokens = theme_tokens(c, &t.dark_tokens, "theme.darkTokens");
    Theme {
        preset,
        tokens,
        dark_tokens,
    }
}

/// A scheme's tokens, each a known name with a plain CSS value.
fn theme_tokens(
    c: &mut Check,
    given: &crate::compact::VecMap<String, String>,
    path: &str,
) -> Vec<(String, String)> {
    let mut tokens = Vec::new();
    for (name, value) in given {
        let at = format!("{path}.{name}");
        if !THEME_TOKENS.contains(&name.as_str()) {
            c.error(
                at,
                format!(
                    "is not a theme token; known tokens: {}",
                    THEME_TOKENS.join(", ")
                ),
            );
        } else if !is_safe_css_value(value) {
            c.error(
                at,
                format!("\"{value}\" is not a plain CSS value (no ; {{ }} < > \\ or url())"),
            );
        } else {
            tokens.push((name.clone(), value.trim().to_owned()));
        }
    }
    tokens
}

/// A token value must stay a single CSS value: it is written into a
/// stylesheet, so anything that could end the declaration is refused.
pub fn is_safe_css_value(v: &str) -> bool {
    let v = v.trim();
    !v.is_empty()
        && v.len() <= 200
        && !v.contains([';', '{', '}', '<', '>', '\\', '\n', '\r', '@'])
        && !v.to_ascii_lowercase().contains("url(")
        && !v.contains("/*")
}

fn is_jurisdiction(s: &str) -> bool {
    let mut parts = s.splitn(2, '-');
    let country = parts.next().unwrap_or("");
    country.len() == 2
        && country.bytes().all(|b| b.is_ascii_uppercase())
        && parts.next().is_none_or(|sub| {
            (1..=3).contains(&sub.len()) && sub.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}
