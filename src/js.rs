//! What crosses the JavaScript boundary: the venue's config coming in
//! (read by serde-wasm-bindgen), and the shapes the page receives (commit
//! summaries, errors, state), serialised from their serde derives.

use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

use consent_core::config::{read_issue, validate, Config, ConfigErrors, Issue};
use consent_core::outbox::Kept;
use consent_core::plan::{AskReason, SkipReason};
use consent_core::session::{is_complete, Choice};
use consent_core::wire::{ConfigV1, ConsentRecordV1};

use crate::platform;
use crate::state::{Phase, Session};
use consent_core::outcome::Status;

/// Why the prompt could not mount.
#[derive(Debug)]
pub enum MountError {
    Config(ConfigErrors),
    Platform(String),
}

impl MountError {
    /// `{code, message, errors: [{path, message}], warnings: [...]}` for the host page.
    pub fn to_js(&self) -> JsValue {
        let (code, message, errors, warnings) = match self {
            MountError::Config(e) => (
                "invalid-config",
                e.to_string(),
                &e.errors[..],
                &e.warnings[..],
            ),
            MountError::Platform(m) => ("browser", m.clone(), &[][..], &[][..]),
        };
        let detail = MountErrorOut {
            code,
            message,
            errors: issues(errors),
            warnings: issues(warnings),
        };
        platform::to_js(&detail)
            .unwrap_or_else(|_| JsValue::from_str("the consent prompt could not mount"))
    }
}

#[derive(Serialize)]
pub(crate) struct MountErrorOut<'a> {
    code: &'a str,
    message: String,
    errors: Vec<IssueOut<'a>>,
    warnings: Vec<IssueOut<'a>>,
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
/// parsed JSON file), by serde-wasm-bindgen. A value of the wrong type or
/// a field the config does not have is named by its exact path
/// (`partners[1].notice.version`), through `serde_path_to_error`, in the
/// words [`read_issue`] gives every reader of configs.
pub fn config_from_js(value: JsValue) -> Result<(Config, Vec<Issue>), MountError> {
    let raw: ConfigV1 = read_strictly(&value).map_err(|issue| {
        MountError::Config(ConfigErrors {
            errors: vec![issue],
            warnings: vec![],
        })
    })?;
    let v = validate(&raw).map_err(MountError::Config)?;
    Ok((v.config, v.warnings))
}

/// Reads a JS value into a wire type by serde-wasm-bindgen, as strictly as
/// serde_json reads it on a server: a wrong type names its path, and a key
/// the type does not have is refused. serde-wasm-bindgen reads only the
/// fields a struct declares, so `deny_unknown_fields` never fires: the
/// value read is written back and compared key by key.
pub(crate) fn read_strictly<T: serde::de::DeserializeOwned + Serialize>(
    value: &JsValue,
) -> Result<T, Issue> {
    let de = serde_wasm_bindgen::Deserializer::from(value.clone());
    let read: T = serde_path_to_error::deserialize(de).map_err(|e| {
        // serde-wasm-bindgen's errors are JS `Error`s: "Error: invalid type: …".
        let message = e.inner().to_string();
        let message = message.strip_prefix("Error: ").unwrap_or(&message);
        read_issue(&e.path().to_string(), message)
    })?;
    let back = platform::to_js(&read).map_err(|e| Issue {
        path: String::new(),
        message: e.0,
    })?;
    match unknown_key(value, &back, "") {
        Some(issue) => Err(issue),
        None => Ok(read),
    }
}

/// The first key in `given` that `read` lacks, as an "is not a known
/// field" issue with the likely intended name.
fn unknown_key(given: &JsValue, read: &JsValue, path: &str) -> Option<Issue> {
    if let Some(items) = given.dyn_ref::<js_sys::Array>() {
        let read = read.dyn_ref::<js_sys::Array>()?;
        return items
            .iter()
            .enumerate()
            .find_map(|(i, v)| unknown_key(&v, &read.get(i as u32), &format!("{path}[{i}]")));
    }
    if !given.is_object() || !read.is_object() {
        return None;
    }
    let keys = |v: &JsValue| -> Vec<String> {
        js_sys::Object::keys(v.unchecked_ref::<js_sys::Object>())
            .iter()
            .filter_map(|k| k.as_string())
            .collect()
    };
    let known = keys(read);
    keys(given).into_iter().find_map(|k| {
        let here = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        let v = js_sys::Reflect::get(given, &JsValue::from_str(&k)).unwrap_or(JsValue::UNDEFINED);
        if known.contains(&k) {
            let r =
                js_sys::Reflect::get(read, &JsValue::from_str(&k)).unwrap_or(JsValue::UNDEFINED);
            unknown_key(&v, &r, &here)
        } else if v.is_null() || v.is_undefined() {
            None
        } else {
            let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            Some(read_issue(
                &here,
                &format!("unknown field `{k}`, expected one of {}", list.join(", ")),
            ))
        }
    })
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
