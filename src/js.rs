//! What crosses the JavaScript boundary: the venue's config coming in
//! (read by serde-wasm-bindgen), and the shapes the page receives (commit
//! summaries, errors, state), serialised from their serde derives.

use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

use consent_core::config::{self, read_issue, validate, Config, ConfigErrors, Issue, Placeholder};
use consent_core::outbox::Kept;
use consent_core::plan::{AskReason, SkipReason};
use consent_core::session::{is_complete, Choice};
use consent_core::wire::{ConfigV1, ConsentRecordV1};

use crate::platform;
use crate::state::{Phase, Session};
use crate::trail::{self, text, Known, Refusal, Seg};
use consent_core::outcome::Status;

/// Why the prompt could not mount.
#[derive(Debug)]
pub enum MountError {
    /// The config was refused: every problem at once (unknown keys, wrong
    /// types, missing fields, then the core's validation).
    Config(ConfigErrors),
    /// The browser could not do what mounting needs.
    Platform(String),
    /// The target already holds a live prompt (destroy that one first).
    AlreadyMounted,
}

impl MountError {
    /// The code the page sees.
    pub fn code(&self) -> &'static str {
        match self {
            MountError::Config(_) => "invalid-config",
            MountError::Platform(_) => "browser",
            MountError::AlreadyMounted => "already-mounted",
        }
    }

    /// `{code, message, field, errors: [{path, message}], warnings: [...]}`
    /// for the host page; `field` is the path of the first error, if any.
    pub fn to_js(&self) -> JsValue {
        let (message, errors, warnings) = match self {
            MountError::Config(e) => (e.to_string(), &e.errors[..], &e.warnings[..]),
            MountError::Platform(m) => (m.clone(), &[][..], &[][..]),
            MountError::AlreadyMounted => (
                "this element already holds a live consent prompt: call destroy() on its handle \
                 before mounting another"
                    .to_owned(),
                &[][..],
                &[][..],
            ),
        };
        let detail = MountErrorOut {
            code: self.code(),
            message,
            field: errors.first().map(|i| i.path.as_str()),
            errors: issues(errors),
            warnings: issues(warnings),
        };
        platform::to_js(&detail).unwrap_or_else(|e| error_detail("browser", &e.0))
    }
}

#[derive(Serialize)]
pub(crate) struct MountErrorOut<'a> {
    code: &'a str,
    message: String,
    field: Option<&'a str>,
    errors: Vec<IssueOut<'a>>,
    warnings: Vec<IssueOut<'a>>,
}

/// A plain `{code, message, field: null, errors: [], recordIds: []}` error
/// (the `ErrorDetail` shape), built without serde so it can never fail:
/// what a destroyed handle's methods reject with, and the last resort when
/// a value cannot be handed to the page.
pub fn error_detail(code: &str, message: &str) -> JsValue {
    let o = js_sys::Object::new();
    let set = |k: &str, v: &JsValue| {
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), v);
    };
    set("code", &JsValue::from_str(code));
    set("message", &JsValue::from_str(message));
    set("field", &JsValue::NULL);
    set("errors", &js_sys::Array::new());
    set("recordIds", &js_sys::Array::new());
    o.into()
}

/// What every method of a destroyed handle rejects (or throws) with.
pub fn destroyed() -> JsValue {
    error_detail(
        "destroyed",
        "the consent prompt has been destroyed: mount it again for a new handle",
    )
}

/// A config issue as the host page sees it: `{path, message}`.
#[derive(Serialize)]
pub struct IssueOut<'a> {
    path: &'a str,
    message: &'a str,
}

/// Config issues as `[{path, message}]`.
pub(crate) fn issues(list: &[Issue]) -> Vec<IssueOut<'_>> {
    list.iter()
        .map(|i| IssueOut {
            path: &i.path,
            message: &i.message,
        })
        .collect()
}

/// Reads and validates a config given as a JS value (an object, or a
/// parsed JSON file), by serde-wasm-bindgen, and reports every problem at
/// once: each key the config does not have (anywhere, with the likely
/// intended name), each value of the wrong type and each missing field
/// (named by its exact path, `partners[1].notice.version`, in the words
/// [`read_issue`] gives every reader of configs), then the core's
/// validation of the rest.
pub fn config_from_js(value: JsValue) -> Result<(Config, Vec<Issue>), MountError> {
    let (raw, mut errors) = read_repaired::<ConfigV1>(&value);
    let Some((raw, repaired)) = raw else {
        return Err(MountError::Config(ConfigErrors {
            errors,
            warnings: vec![],
        }));
    };
    match validate(&raw) {
        Ok(v) if errors.is_empty() => Ok((v.config, v.warnings)),
        Ok(v) => Err(MountError::Config(ConfigErrors {
            errors,
            warnings: v.warnings,
        })),
        Err(e) => {
            // A value put in place of a wrong one may itself be refused:
            // that problem is already reported, at its own path.
            let own = |i: &Issue| !repaired.iter().any(|r| under(&i.path, r));
            errors.extend(e.errors.into_iter().filter(own));
            Err(MountError::Config(ConfigErrors {
                errors,
                warnings: e.warnings.into_iter().filter(own).collect(),
            }))
        }
    }
}

/// Whether `path` is `root` or lies inside it (`a.b`, `a.b.c`, `a.b[0]`).
fn under(path: &str, root: &str) -> bool {
    path.strip_prefix(root)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// The first key an outbox entry holds that the widget never writes: in
/// the entry itself, or in its record (`read`, the record as read and
/// written back). The outbox's entries are the widget's own, so its
/// reading needs no paths beyond these; [`config_from_js`] reports every
/// problem of a venue's config with its path.
pub(crate) fn unknown_key(entry: &JsValue, read: &JsValue) -> Option<Issue> {
    const ENTRY: [&str; 5] = ["record", "endpoint", "status", "attempts", "lastError"];
    if entry.is_object() {
        for k in js_sys::Object::keys(entry.unchecked_ref::<js_sys::Object>()).iter() {
            let k = k.as_string().unwrap_or_default();
            if !ENTRY.contains(&k.as_str()) {
                return Some(read_issue(&k, &format!("unknown field `{k}`")));
            }
        }
    }
    let given = js_sys::Reflect::get(entry, &JsValue::from_str("record")).ok()?;
    let mut out = Vec::new();
    unknown_keys(&given, read, "record", &mut out);
    out.into_iter().next()
}

/// At most this many values are put in place before reading gives up.
const MAX_REPAIRS: usize = 200;

/// Reads `value` as a `T`, collecting every problem rather than stopping
/// at the first: serde stops at the first wrong value, so each time it
/// does, the problem is noted and a copy of the value is repaired at that
/// path (a value of the expected type put in place: `""`, `1`, `false`,
/// `[]`, `{}`, the first allowed name) and read again. Values put in
/// place (and fields missing inside them) are never reported themselves.
/// Then each key the given value has and the read one lacks is reported
/// (serde-wasm-bindgen reads only the fields a struct declares, so
/// `deny_unknown_fields` never fires).
///
/// Returns the value read (with the paths repaired), or `None` when the
/// value could not be repaired, and the problems in the order: unknown
/// keys, then the reading's own.
fn read_repaired<T: serde::de::DeserializeOwned>(value: &JsValue) -> Repaired<T> {
    let copy = plain_copy(value);
    let mut problems = Vec::new();
    // Paths whose value was put in place, as segments and as text.
    let mut placed: Vec<Vec<Seg>> = Vec::new();
    let mut repaired: Vec<String> = Vec::new();
    let mut read = None;
    for _ in 0..MAX_REPAIRS {
        let (outcome, known) = trail::read::<T>(&copy);
        let Refusal { message, at } = match outcome {
            Ok(v) => {
                read = Some((v, known));
                break;
            }
            Err(e) => e,
        };
        let Some(mut at) = at else {
            problems.push(read_issue("", &message));
            break;
        };
        let path = text(&at);
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned);
        let inside_placed = |at: &[Seg]| placed.iter().any(|p| at.starts_with(p));
        if !inside_placed(&at) {
            problems.push(read_issue(&path, &message));
        }
        let put = match &missing {
            // Probed with null: the next reading names the type it wants.
            Some(key) => {
                at.push(Seg::Key(key.clone()));
                JsValue::NULL
            }
            None => match placeholder(&message, &get_at(&copy, &at)) {
                Some(v) => v,
                None => break,
            },
        };
        if placed.iter().filter(|p| **p == at).count() > 4 || !set_at(&copy, &at, &put) {
            break;
        }
        repaired.push(text(&at));
        placed.push(at);
    }
    let Some((read, known)) = read else {
        return (None, problems);
    };
    let mut unknown = Vec::new();
    keys_not_read(value, &known, &mut Vec::new(), &mut unknown);
    unknown.extend(problems);
    (Some((read, repaired)), unknown)
}

/// Every key in `given` (at `at`, anywhere inside it) that the reading
/// never asked for, as an "is not a known field" issue with the likely
/// intended name. A key whose value is `null` or `undefined` is let be.
fn keys_not_read(given: &JsValue, known: &Known, at: &mut Vec<Seg>, out: &mut Vec<Issue>) {
    if let Some(items) = given.dyn_ref::<js_sys::Array>() {
        for (i, v) in items.iter().enumerate() {
            at.push(Seg::Index(i as u32));
            keys_not_read(&v, known, at, out);
            at.pop();
        }
        return;
    }
    if !given.is_object() || given.is_function() {
        return;
    }
    let asked = known.keys_under(at);
    if asked.is_empty() {
        return;
    }
    for k in js_sys::Object::keys(given.unchecked_ref::<js_sys::Object>()).iter() {
        let Some(k) = k.as_string() else { continue };
        let v = js_sys::Reflect::get(given, &JsValue::from_str(&k)).unwrap_or(JsValue::UNDEFINED);
        at.push(Seg::Key(k.clone()));
        if asked.contains(&k.as_str()) {
            keys_not_read(&v, known, at, out);
        } else if !(v.is_null() || v.is_undefined()) {
            let list: Vec<String> = asked.iter().map(|k| format!("`{k}`")).collect();
            out.push(read_issue(
                &text(at),
                &format!("unknown field `{k}`, expected one of {}", list.join(", ")),
            ));
        }
        at.pop();
    }
}

/// What [`read_repaired`] gives: the value read and the paths repaired in
/// it (if it could be read at all), and every problem found.
type Repaired<T> = (Option<(T, Vec<String>)>, Vec<Issue>);

fn get_at(root: &JsValue, at: &[Seg]) -> JsValue {
    at.iter().fold(root.clone(), |v, s| match s {
        Seg::Key(k) => {
            js_sys::Reflect::get(&v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
        }
        Seg::Index(i) => js_sys::Reflect::get_u32(&v, *i).unwrap_or(JsValue::UNDEFINED),
    })
}

/// Puts `put` at `at` inside `root` (a copy of the page's value).
fn set_at(root: &JsValue, at: &[Seg], put: &JsValue) -> bool {
    let Some((last, parent)) = at.split_last() else {
        return false;
    };
    let parent = get_at(root, parent);
    if !parent.is_object() {
        return false;
    }
    match last {
        Seg::Key(k) => js_sys::Reflect::set(&parent, &JsValue::from_str(k), put).unwrap_or(false),
        Seg::Index(i) => js_sys::Reflect::set_u32(&parent, *i, put).unwrap_or(false),
    }
}

/// A value of the type serde's message says it expected; for a string a
/// field's own reading refused (a time, say), a time that reads. The rule
/// is the core's [`config::placeholder`], which the host's `check-config`
/// follows too.
fn placeholder(message: &str, current: &JsValue) -> Option<JsValue> {
    let current = current.as_string();
    Some(match config::placeholder(message, current.as_deref())? {
        Placeholder::Text => JsValue::from_str(""),
        Placeholder::Number => JsValue::from_f64(1.0),
        Placeholder::False => JsValue::FALSE,
        Placeholder::List => js_sys::Array::new().into(),
        Placeholder::Object => js_sys::Object::new().into(),
        Placeholder::Variant(name) => JsValue::from_str(name),
        Placeholder::Time => JsValue::from_str(config::PLACEHOLDER_TIME),
    })
}

/// A copy of a JSON-like value (plain objects and arrays copied, anything
/// else shared), so the page's own object is never changed.
fn plain_copy(value: &JsValue) -> JsValue {
    if let Some(items) = value.dyn_ref::<js_sys::Array>() {
        return items
            .iter()
            .map(|v| plain_copy(&v))
            .collect::<js_sys::Array>()
            .into();
    }
    if !value.is_object() || value.is_function() {
        return value.clone();
    }
    let out = js_sys::Object::new();
    for k in js_sys::Object::keys(value.unchecked_ref::<js_sys::Object>()).iter() {
        let v = js_sys::Reflect::get(value, &k).unwrap_or(JsValue::UNDEFINED);
        let _ = js_sys::Reflect::set(&out, &k, &plain_copy(&v));
    }
    out.into()
}

/// Every key in `given` that `read` lacks, anywhere inside it, as an "is
/// not a known field" issue with the likely intended name.
fn unknown_keys(given: &JsValue, read: &JsValue, path: &str, out: &mut Vec<Issue>) {
    if let Some(items) = given.dyn_ref::<js_sys::Array>() {
        let Some(read) = read.dyn_ref::<js_sys::Array>() else {
            return;
        };
        for (i, v) in items.iter().enumerate() {
            unknown_keys(&v, &read.get(i as u32), &format!("{path}[{i}]"), out);
        }
        return;
    }
    if !given.is_object() || !read.is_object() || read.is_array() {
        return;
    }
    let keys = |v: &JsValue| -> Vec<String> {
        js_sys::Object::keys(v.unchecked_ref::<js_sys::Object>())
            .iter()
            .filter_map(|k| k.as_string())
            .collect()
    };
    let known = keys(read);
    for k in keys(given) {
        let here = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        let v = js_sys::Reflect::get(given, &JsValue::from_str(&k)).unwrap_or(JsValue::UNDEFINED);
        if known.contains(&k) {
            let r =
                js_sys::Reflect::get(read, &JsValue::from_str(&k)).unwrap_or(JsValue::UNDEFINED);
            unknown_keys(&v, &r, &here, out);
        } else if !(v.is_null() || v.is_undefined()) {
            let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            out.push(read_issue(
                &here,
                &format!("unknown field `{k}`, expected one of {}", list.join(", ")),
            ));
        }
    }
}

/// What `commit()` resolves to, and the `consent:commit` event's detail.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub records: Vec<ConsentRecordV1>,
    pub delivered: Vec<String>,
    /// Still on their way (held ones included).
    pub pending: Vec<String>,
    /// Waiting for a new checkout token (`update()` with one sends them).
    pub held: Vec<String>,
    /// Where pending records are kept: on the device, or only in this
    /// page's memory (storage refused them).
    #[serde(serialize_with = "kept_name")]
    pub kept: Kept,
    /// False at commit; true when a later retry settled the pending records.
    /// JSON name `final`.
    #[serde(rename = "final")]
    pub settled: bool,
}

fn kept_name<S: serde::Serializer>(kept: &Kept, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kept.as_str())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorDetail<'a> {
    pub(crate) code: &'a str,
    pub(crate) message: String,
    pub(crate) field: Option<String>,
    pub(crate) errors: Vec<ProblemOut>,
    pub(crate) record_ids: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProblemOut {
    pub(crate) question: String,
    pub(crate) partner_ids: Vec<String>,
    pub(crate) problem: &'static str,
    pub(crate) field: String,
}

/// `state()` and the `consent:change` detail.
#[derive(Serialize)]
pub struct StateOut {
    pub locale: String,
    pub complete: bool,
    pub phase: &'static str,
    pub questions: Vec<QuestionOut>,
    pub skipped: Vec<SkippedOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionOut {
    pub key: String,
    pub partner_ids: Vec<String>,
    pub reason: &'static str,
    pub answer: Option<&'static str>,
    pub channels: Vec<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedOut {
    pub partner_id: String,
    pub reason: &'static str,
}

pub fn state_of(s: &Session) -> StateOut {
    let c = &s.config;
    StateOut {
        locale: s.locale.clone(),
        complete: is_complete(&s.plan, &c.partners, &c.policy, &s.answers),
        phase: match s.phase {
            Phase::Asking => "asking",
            Phase::Saving => "saving",
            Phase::Done(Status::Saved { .. }) => "saved",
            Phase::Done(Status::Kept) => "kept",
            Phase::Done(Status::Failed { .. }) | Phase::Failed(_) => "failed",
        },
        questions: s
            .plan
            .questions
            .iter()
            .map(|q| {
                let a = s.answers.get(&q.key);
                QuestionOut {
                    key: q.key.clone(),
                    partner_ids: q.asks.iter().map(|a| a.partner_id.0.clone()).collect(),
                    reason: match q.asks.first().map(|a| &a.reason) {
                        Some(AskReason::NoticeChanged { .. }) => "notice-changed",
                        Some(AskReason::Expired { .. }) => "expired",
                        Some(AskReason::Deferred) => "deferred",
                        Some(AskReason::Imported) => "imported",
                        _ => "no-answer",
                    },
                    answer: a.and_then(|a| a.choice).map(|c| match c {
                        Choice::Yes => "yes",
                        Choice::No => "no",
                    }),
                    channels: a
                        .map(|a| a.channels.iter().map(|c| c.as_str()).collect())
                        .unwrap_or_default(),
                }
            })
            .collect(),
        skipped: s
            .plan
            .skipped
            .iter()
            .map(|k| SkippedOut {
                partner_id: k.partner_id.0.clone(),
                reason: match k.reason {
                    SkipReason::UnknownPartner => "unknown-partner",
                    SkipReason::AlreadyAnswered { .. } => "already-answered",
                    SkipReason::AnsweredEarlierNotice { .. } => "answered-earlier-notice",
                },
            })
            .collect(),
    }
}
