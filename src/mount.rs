//! Mounting the prompt into a page element, and the controller behind the
//! public handle (`commit`, `update`, `state`, `destroy`) and DOM events.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Element;
use yew::functional::UseReducerHandle;
use yew::AppHandle;

use consent_core::config::{read_issue, validate, Config, ConfigErrors, Issue};
use consent_core::domain::{Mode, PartnerId, Preference};
use consent_core::locale::requested_locale;
use consent_core::outbox::Kept;
use consent_core::plan::{account_plan, plan, AskReason, Plan, SkipReason};
use consent_core::receipt;
use consent_core::session::{current_answers, is_complete, Answers, Choice, Problem};
use consent_core::wire::{ConfigV1, ConsentRecordV1, Embed, ReceiptV1};

use crate::commit::{build_records, keep_and_send, CommitError};
use crate::components::{PromptProps, Root, RootProps};
use crate::delivery::{self, Delivery, Report};
use crate::platform;
use crate::state::{Msg, Phase, ReceiptLinks, Session};
use crate::styles;

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
struct MountErrorOut<'a> {
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
fn issues(list: &[Issue]) -> Vec<IssueOut<'_>> {
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
    let one = |issue: Issue| {
        MountError::Config(ConfigErrors {
            errors: vec![issue],
            warnings: vec![],
        })
    };
    let de = serde_wasm_bindgen::Deserializer::from(value.clone());
    let raw: ConfigV1 = serde_path_to_error::deserialize(de).map_err(|e| {
        // serde-wasm-bindgen's errors are JS `Error`s: "Error: invalid type: …".
        let message = e.inner().to_string();
        let message = message.strip_prefix("Error: ").unwrap_or(&message);
        one(read_issue(&e.path().to_string(), message))
    })?;
    // serde-wasm-bindgen reads only the fields a struct declares, so
    // `deny_unknown_fields` never fires: a key the venue wrote that the
    // config, written back, does not have is one it does not know.
    let read = platform::to_js(&raw).map_err(|e| MountError::Platform(e.0))?;
    if let Some(issue) = unknown_key(&value, &read, "") {
        return Err(one(issue));
    }
    let v = validate(&raw).map_err(MountError::Config)?;
    Ok((v.config, v.warnings))
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

/// Links the mounted component to the outside world.
pub struct Controller {
    host: Element,
    embed: Embed,
    handle: RefCell<Option<UseReducerHandle<Session>>>,
    last: RefCell<Option<Summary>>,
    /// The receipt of the last successful commit (`receipt()`).
    receipt: RefCell<Option<ReceiptV1>>,
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
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
    field: Option<String>,
    errors: Vec<ProblemOut>,
    record_ids: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProblemOut {
    question: String,
    partner_ids: Vec<String>,
    problem: &'static str,
    field: String,
}

impl Controller {
    pub fn attach(&self, handle: UseReducerHandle<Session>) {
        self.handle.replace(Some(handle));
    }

    fn session(&self) -> Option<Session> {
        self.handle.borrow().as_ref().map(|h| (**h).clone())
    }

    fn dispatch(&self, msg: Msg) {
        if let Some(h) = self.handle.borrow().as_ref() {
            h.dispatch(msg);
        }
    }

    fn emit<T: Serialize + ?Sized>(&self, name: &str, detail: &T) {
        let sent = platform::to_js(detail).and_then(|d| platform::dispatch(&self.host, name, &d));
        if let Err(e) = sent {
            platform::warn(&format!("{name} event: {e}"));
        }
    }

    pub fn emit_change(&self) {
        if let Some(s) = self.session() {
            self.emit("consent:change", &state_of(&s));
        }
    }

    /// The records a commit would send now, built exactly as `commit()`
    /// builds them (their ids are fresh each time), without keeping or
    /// sending anything. Rejects like `commit()` when answers are missing.
    pub async fn preview(self: Rc<Self>) -> Result<Vec<ConsentRecordV1>, JsValue> {
        let Some(s) = self.session() else {
            return Err(JsValue::from_str("the consent prompt is not mounted"));
        };
        build_records(&s, self.embed).await.map_err(|e| match e {
            CommitError::Invalid(errors) => {
                let detail = ErrorDetail {
                    code: "incomplete",
                    message: "some questions need an answer".into(),
                    field: errors.first().map(|e| format!("answers.{}", e.question)),
                    errors: vec![],
                    record_ids: vec![],
                };
                platform::to_js(&detail).unwrap_or(JsValue::NULL)
            }
            CommitError::Platform(m) => JsValue::from_str(&m),
        })
    }

    /// The handle's `state()`.
    pub fn state(&self) -> JsValue {
        match self.session() {
            Some(s) => platform::to_js(&state_of(&s)).unwrap_or(JsValue::NULL),
            None => JsValue::NULL,
        }
    }

    pub fn commit_from_ui(self: &Rc<Self>) {
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            // The UI shows the outcome; events tell the host page.
            let _ = this.commit().await;
        });
    }

    /// Commits the current answers. Resolves once the records are kept.
    pub async fn commit(self: Rc<Self>) -> Result<Summary, JsValue> {
        let Some(s) = self.session() else {
            return Err(JsValue::from_str("the consent prompt is not mounted"));
        };
        match &s.phase {
            Phase::Saving => {
                return Err(self.fail(
                    "busy",
                    "a commit is already in progress".into(),
                    None,
                    vec![],
                ))
            }
            Phase::Saved { .. } => {
                if let Some(last) = self.last.borrow().clone() {
                    return Ok(last);
                }
            }
            _ => {}
        }
        self.dispatch(Msg::Saving);
        let records = match build_records(&s, self.embed).await {
            Ok(r) => r,
            Err(CommitError::Invalid(errors)) => {
                let problems: Vec<ProblemOut> = errors
                    .iter()
                    .map(|e| ProblemOut {
                        question: e.question.clone(),
                        partner_ids: s
                            .plan
                            .questions
                            .iter()
                            .find(|q| q.key == e.question)
                            .map(|q| q.asks.iter().map(|a| a.partner_id.0.clone()).collect())
                            .unwrap_or_default(),
                        problem: match e.problem {
                            Problem::Unanswered => "unanswered",
                            Problem::NoChannel => "no-channel",
                            Problem::NotHeard => "not-heard",
                        },
                        field: format!("answers.{}", e.question),
                    })
                    .collect();
                self.dispatch(Msg::Invalid(errors));
                let detail = ErrorDetail {
                    code: "incomplete",
                    message: "some questions need an answer".into(),
                    field: problems.first().map(|p| p.field.clone()),
                    errors: problems,
                    record_ids: vec![],
                };
                self.emit("consent:error", &detail);
                return Err(platform::to_js(&detail).unwrap_or(JsValue::NULL));
            }
            Err(CommitError::Platform(m)) => {
                self.dispatch(Msg::Failed(m.clone()));
                return Err(self.fail("browser", m, None, vec![]));
            }
        };
        let first = keep_and_send(&records, &s.config.endpoint).await;
        let report = first.report;
        if first.kept == Kept::Memory {
            self.fail(
                "storage",
                format!(
                    "the records could not be kept on this device ({}); they are sent only while this page stays open",
                    first.storage_error.clone().unwrap_or_default()
                ),
                None,
                report.pending.clone(),
            );
        }
        if first.delivery.waiting() {
            let this = self.clone();
            let pending: Vec<ConsentRecordV1> = records
                .iter()
                .filter(|r| report.pending.contains(&r.record_id))
                .cloned()
                .collect();
            let mut run = first.delivery;
            wasm_bindgen_futures::spawn_local(async move {
                run.go(true).await;
                this.settled(pending, run.report());
            });
        }
        if !report.run.failed.is_empty() {
            let msg = report
                .run
                .message
                .clone()
                .unwrap_or_else(|| "the server refused the records".into());
            self.dispatch(Msg::Failed(msg.clone()));
            return Err(self.fail(
                "rejected",
                msg,
                report.run.field.clone(),
                report.run.failed.clone(),
            ));
        }
        if let Some(why) = &report.run.unauthorized {
            self.fail(
                "unauthorized",
                held_message(why),
                None,
                report.run.held.clone(),
            );
        }
        let summary = Summary {
            records: records.clone(),
            delivered: report.run.delivered.clone(),
            pending: report.pending.clone(),
            held: report.run.held.clone(),
            kept: first.kept,
            settled: report.pending.is_empty(),
        };
        self.dispatch(Msg::Saved {
            delivered: summary.delivered.len(),
            pending: summary.pending.len(),
        });
        self.last.replace(Some(summary.clone()));
        self.offer_receipt(&s, &records);
        self.emit("consent:commit", &summary);
        if matches!(s.config.policy.mode, Mode::Account) {
            self.last.replace(None);
            self.rebase(&records);
        }
        Ok(summary)
    }

    /// The patron's copy of what was just saved: kept for `receipt()`, and
    /// offered on screen as a JSON file and a printable page.
    fn offer_receipt(&self, s: &Session, records: &[ConsentRecordV1]) {
        let r = receipt::receipt(&s.config.customer_id, platform::now(), records);
        let json = platform::to_js(&r).and_then(|v| platform::json_pretty(&v));
        match json {
            Ok(json) => {
                let page = receipt::printable(&r, &s.config.strings, &s.locale);
                self.dispatch(Msg::Receipt(Rc::new(ReceiptLinks {
                    json: platform::object_url(&json, "application/json"),
                    page: platform::object_url(&page, "text/html;charset=utf-8"),
                    file_name: receipt::file_name(&r),
                })));
            }
            Err(e) => platform::warn(&format!("the receipt could not be made: {e}")),
        }
        self.receipt.replace(Some(r));
    }

    /// The handle's `receipt()`: the last commit's `consent-receipt/1`.
    pub fn receipt(&self) -> JsValue {
        match self.receipt.borrow().as_ref() {
            Some(r) => platform::to_js(r).unwrap_or(JsValue::NULL),
            None => JsValue::NULL,
        }
    }

    /// A background delivery finished: tell the page and the patron.
    fn settled(&self, records: Vec<ConsentRecordV1>, report: Report) {
        if !report.run.failed.is_empty() {
            let msg = report.run.message.clone().unwrap_or_default();
            self.dispatch(Msg::Failed(msg.clone()));
            self.fail("rejected", msg, report.run.field.clone(), report.run.failed);
            return;
        }
        if let Some(why) = &report.run.unauthorized {
            self.fail(
                "unauthorized",
                held_message(why),
                None,
                report.run.held.clone(),
            );
        }
        let ids: Vec<String> = records.iter().map(|r| r.record_id.clone()).collect();
        let summary = Summary {
            records,
            delivered: report.run.delivered,
            kept: if delivery::kept_on_device(&report.pending) {
                Kept::Device
            } else {
                Kept::Memory
            },
            settled: report.pending.is_empty(),
            held: report.run.held,
            pending: report.pending,
        };
        if summary.pending.is_empty() {
            self.dispatch(Msg::Saved {
                delivered: summary.delivered.len(),
                pending: 0,
            });
        }
        if let Some(last) = self.last.borrow_mut().as_mut() {
            if last.records.iter().any(|r| ids.contains(&r.record_id)) {
                last.pending = summary.pending.clone();
                last.held.retain(|id| summary.pending.contains(id));
                last.settled = summary.settled;
            }
        }
        self.emit("consent:commit", &summary);
    }

    /// Sends what is pending or held for this prompt's endpoint now (held
    /// records first become pending: the caller has a new token). Resolves
    /// with what happened; a fault stops it (the records stay pending).
    pub async fn retry(self: Rc<Self>) -> Result<Report, JsValue> {
        let Some(s) = self.session() else {
            return Err(JsValue::from_str("the consent prompt is not mounted"));
        };
        let url = s.config.endpoint.clone();
        delivery::release_held(&url);
        let mut run = Delivery::start(&url, None);
        run.go(false).await;
        let report = run.report();
        self.catch_up(&report);
        Ok(report)
    }

    /// After a delivery not started by a commit: if the last commit's
    /// records are now all delivered (or refused, or held), say so.
    fn catch_up(&self, report: &Report) {
        let Some(last) = self.last.borrow().clone() else {
            return;
        };
        if last.pending.is_empty() {
            return;
        }
        let (waiting, failed) = delivery::where_are(&last.pending);
        if !failed.is_empty() {
            let msg = report.run.message.clone().unwrap_or_default();
            self.dispatch(Msg::Failed(msg.clone()));
            self.fail("rejected", msg, report.run.field.clone(), failed.clone());
        } else if let Some(why) = &report.run.unauthorized {
            self.fail("unauthorized", held_message(why), None, waiting.clone());
        }
        let delivered: Vec<String> = last
            .pending
            .iter()
            .filter(|id| !waiting.contains(id) && !failed.contains(id))
            .cloned()
            .collect();
        let records = last.records.clone();
        let summary = Summary {
            records,
            delivered,
            held: last
                .held
                .iter()
                .filter(|id| waiting.contains(id))
                .cloned()
                .collect(),
            kept: last.kept,
            settled: waiting.is_empty(),
            pending: waiting,
        };
        if summary.pending.is_empty() && failed.is_empty() {
            self.dispatch(Msg::Saved {
                delivered: summary.delivered.len(),
                pending: 0,
            });
        }
        if let Some(l) = self.last.borrow_mut().as_mut() {
            l.pending = summary.pending.clone();
            l.held = summary.held.clone();
            l.settled = summary.settled;
        }
        self.emit("consent:commit", &summary);
    }

    fn fail(
        &self,
        code: &str,
        message: String,
        field: Option<String>,
        record_ids: Vec<String>,
    ) -> JsValue {
        let detail = ErrorDetail {
            code,
            message,
            field,
            errors: vec![],
            record_ids,
        };
        self.emit("consent:error", &detail);
        platform::to_js(&detail).unwrap_or(JsValue::NULL)
    }

    /// Re-plans with a new config (e.g. the basket changed), keeping answers
    /// for partners still asked. A config that changes only how to reach
    /// the backend (a fresh checkout token, headers) keeps the prompt as it
    /// is, and sends what was held for want of a token.
    pub fn update(self: &Rc<Self>, config: Config) {
        let ep = delivery::Endpoint::of(&config);
        let url = ep.url.clone();
        let new_token = delivery::set_endpoint(ep);
        let same_prompt = self.session().is_some_and(|s| {
            let strip = |c: &Config| Config {
                token: None,
                headers: Vec::new(),
                ..c.clone()
            };
            strip(&s.config) == strip(&config)
        });
        if new_token {
            let released = delivery::release_held(&url);
            let waiting = self
                .last
                .borrow()
                .as_ref()
                .is_some_and(|l| !l.pending.is_empty());
            if released > 0 || waiting {
                let this = self.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let mut run = Delivery::start(&url, None);
                    run.go(true).await;
                    this.catch_up(&run.report());
                });
            }
        }
        if same_prompt {
            return;
        }
        let config = Rc::new(config);
        let locale = pick_locale(&config);
        let (new_plan, _) = make_plan(&config, platform::now());
        self.dispatch(Msg::Replace {
            config,
            plan: Rc::new(new_plan),
            locale,
            answers: None,
        });
    }

    /// Preference centre: after a save, the saved answers are the current
    /// ones, so a second save records only what changes next.
    fn rebase(&self, records: &[ConsentRecordV1]) {
        let Some(s) = self.session() else { return };
        let mut config = (*s.config).clone();
        config.preferences.extend(records.iter().map(preference_of));
        let (new_plan, answers) = make_plan(&config, platform::now());
        self.dispatch(Msg::Replace {
            config: Rc::new(config),
            plan: Rc::new(new_plan),
            locale: s.locale.clone(),
            answers: Some(answers),
        });
    }
}

/// The `unauthorized` error's message: what the backend said, and what to do.
fn held_message(why: &str) -> String {
    format!("the backend wants a new checkout token ({why}); the records are held until update() gives one")
}

/// What a just-made record says about the patron's current answer.
fn preference_of(r: &ConsentRecordV1) -> Preference {
    Preference {
        partner_id: PartnerId(r.partner.id.clone()),
        state: r.state,
        notice_id: Some(r.notice.id.clone()),
        notice_version: r.notice.version,
        decided_at: r.decided_at,
        valid_until: r.valid_until,
        record_id: Some(r.record_id.clone()),
        channels: r.channels.clone(),
        notice_text: Some((r.notice.language.clone(), r.notice.text.clone())),
    }
}

/// The plan for a config, and the answers to start from: none at checkout,
/// the current ones in the preference centre.
fn make_plan(config: &Config, now: consent_core::Timestamp) -> (Plan, Answers) {
    match config.policy.mode {
        Mode::Account => {
            let p = account_plan(&config.partners, &config.preferences, &config.policy, now);
            let answers = current_answers(&p, &config.preferences);
            (p, answers)
        }
        _ => (
            plan(
                &config.basket,
                &config.preferences,
                &config.partners,
                &config.policy,
                now,
            ),
            Answers::new(),
        ),
    }
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
            Phase::Saved { pending: 0, .. } => "saved",
            Phase::Saved { .. } => "kept",
            Phase::Failed(_) => "failed",
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

fn pick_locale(config: &Config) -> String {
    let html = platform::html_lang();
    let nav = platform::navigator_languages();
    requested_locale(
        [config.locale.as_deref(), html.as_deref()]
            .into_iter()
            .chain(nav.iter().map(|l| Some(l.as_str()))),
    )
}

/// A prompt mounted in the page.
pub struct Mounted {
    app: Option<AppHandle<Root>>,
    container: Element,
    pub controller: Rc<Controller>,
}

impl Mounted {
    /// Unmounts the prompt. The Yew app behind it is parked for the next
    /// mount rather than destroyed: Yew keeps its delegated event listeners
    /// for an app's lifetime, so a single-page app that mounted a fresh app
    /// on every visit to its checkout would gain listeners each time.
    pub fn destroy(&mut self) {
        if let Some(mut app) = self.app.take() {
            app.update(RootProps {
                active: None,
                generation: next_generation(),
            });
            self.container.remove();
            IDLE.with(|idle| idle.borrow_mut().push((app, self.container.clone())));
        }
        self.controller.handle.replace(None);
    }
}

thread_local! {
    /// Parked apps and their containers, ready for the next mount.
    static IDLE: RefCell<Vec<(AppHandle<Root>, Element)>> = const { RefCell::new(Vec::new()) };
    static GENERATION: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

fn next_generation() -> u32 {
    GENERATION.with(|g| {
        g.set(g.get().wrapping_add(1));
        g.get()
    })
}

/// Mounts the prompt into `host`'s shadow root.
pub fn mount(
    host: Element,
    config: Config,
    warnings: Vec<Issue>,
    embed: Embed,
) -> Result<Mounted, MountError> {
    for w in &warnings {
        platform::warn(&format!("config warning: {w}"));
    }
    let shadow = platform::shadow_root(&host).map_err(|e| MountError::Platform(e.0))?;
    platform::adopt_styles(
        &shadow,
        &[styles::BASE_CSS, &styles::token_css(&config.theme)],
    )
    .map_err(|e| MountError::Platform(e.0))?;
    while let Some(child) = shadow.first_child() {
        let _ = shadow.remove_child(&child);
    }
    let parked = IDLE.with(|idle| idle.borrow_mut().pop());
    let container = match &parked {
        Some((_, c)) => c.clone(),
        None => platform::create_element("div").map_err(|e| MountError::Platform(e.0))?,
    };
    shadow
        .append_child(&container)
        .map_err(|_| MountError::Platform("could not add to the shadow root".into()))?;

    let locale = pick_locale(&config);
    let now = platform::now();
    let config = Rc::new(config);
    let (the_plan, answers) = make_plan(&config, now);
    let session = Rc::new(Session::new(
        config.clone(),
        Rc::new(the_plan),
        answers,
        locale,
        now,
        platform::global_privacy_control(),
    ));
    let controller = Rc::new(Controller {
        host,
        embed,
        handle: RefCell::new(None),
        last: RefCell::new(None),
        receipt: RefCell::new(None),
    });
    let props = RootProps {
        active: Some(PromptProps {
            initial: session.clone(),
            controller: controller.clone(),
        }),
        generation: next_generation(),
    };
    let app = match parked {
        Some((mut app, _)) => {
            app.update(props);
            app
        }
        None => yew::Renderer::<Root>::with_root_and_props(container.clone(), props).render(),
    };

    #[derive(Serialize)]
    struct Ready<'a> {
        state: StateOut,
        warnings: Vec<IssueOut<'a>>,
    }
    controller.emit(
        "consent:ready",
        &Ready {
            state: state_of(&session),
            warnings: issues(&warnings),
        },
    );
    flush_outbox(&config, &controller);
    Ok(Mounted {
        app: Some(app),
        container,
        controller,
    })
}

/// Sends whatever an earlier visit left in the outbox for this endpoint,
/// held records included: this mount brings its own token.
fn flush_outbox(config: &Config, controller: &Rc<Controller>) {
    delivery::set_endpoint(delivery::Endpoint::of(config));
    for (id, why) in delivery::refresh() {
        platform::error(&format!(
            "outbox entry {id} was set aside and is not sent: {why}"
        ));
    }
    delivery::release_held(&config.endpoint);
    let url = config.endpoint.clone();
    let this = controller.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let mut run = Delivery::start(&url, None);
        run.go(true).await;
        let report = run.report();
        if !report.run.failed.is_empty() {
            platform::error(&format!(
                "the backend refused {} earlier record(s): {}",
                report.run.failed.len(),
                report.run.message.clone().unwrap_or_default()
            ));
        }
        if let Some(why) = &report.run.unauthorized {
            this.fail(
                "unauthorized",
                held_message(why),
                None,
                report.run.held.clone(),
            );
        }
    });
}
