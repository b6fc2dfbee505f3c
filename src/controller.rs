//! The controller behind the public handle: it owns the commit path
//! (answers → records → outbox → backend) and tells the page what
//! happened through the `consent:*` events.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::JsValue;
use web_sys::Element;
use yew::functional::UseReducerHandle;

use consent_core::config::Config;
use consent_core::current;
use consent_core::domain::Mode;
use consent_core::locale::requested_locale;
use consent_core::outbox::Kept;
use consent_core::plan::{account_plan, plan, Plan};
use consent_core::receipt;
use consent_core::session::{current_answers, Answers, Problem};
use consent_core::wire::{ConsentRecordV1, Embed, ReceiptV1};

use crate::commit::{build_records, keep_and_send, CommitError};
use crate::js::{state_of, ErrorDetail, ProblemOut, Summary};
use crate::outbox::{self, Delivery, Report};
use crate::platform;
use crate::state::{Msg, ReceiptLinks, Session};

/// Links the mounted component to the outside world.
pub struct Controller {
    pub(crate) host: Element,
    pub(crate) embed: Embed,
    pub(crate) handle: RefCell<Option<UseReducerHandle<Session>>>,
    pub(crate) last: RefCell<Option<Summary>>,
    /// The receipt of the last successful commit (`receipt()`).
    pub(crate) receipt: RefCell<Option<ReceiptV1>>,
    /// The commit in progress, from the page or the prompt's own button:
    /// every `commit()` meanwhile gets this same promise, so there is one
    /// set of records and every caller settles with the same outcome.
    pub(crate) in_flight: RefCell<Option<js_sys::Promise>>,
    /// Whether the current answers are the ones `last` saved. The
    /// controller owns this; it never reads it back from a render.
    pub(crate) saved: std::cell::Cell<bool>,
    /// Answers given to a server-rendered prompt before the wasm took it
    /// over, for the prompt to apply once (see `mount`).
    pub(crate) early: RefCell<Vec<Msg>>,
}

impl Controller {
    pub fn attach(&self, handle: UseReducerHandle<Session>) {
        self.handle.replace(Some(handle));
    }

    /// The answers given before hydration, once.
    pub fn take_early(&self) -> Vec<Msg> {
        self.early.take()
    }

    fn session(&self) -> Option<Session> {
        self.handle.borrow().as_ref().map(|h| (**h).clone())
    }

    fn dispatch(&self, msg: Msg) {
        if let Some(h) = self.handle.borrow().as_ref() {
            h.dispatch(msg);
        }
    }

    pub(crate) fn emit<T: Serialize + ?Sized>(&self, name: &str, detail: &T) {
        let sent = platform::to_js(detail).and_then(|d| platform::dispatch(&self.host, name, &d));
        if let Err(e) = sent {
            platform::warn(&format!("{name} event: {e}"));
        }
    }

    /// The answers changed: tell the page; a commit now saves them anew.
    pub fn emit_change(&self) {
        self.saved.set(false);
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

    /// The one way in to a commit, for the handle's `commit()` and the
    /// prompt's own button alike: the commit in progress if there is one,
    /// else a new one. Resolves with the summary as a JS value.
    pub fn commit_shared(self: &Rc<Self>) -> js_sys::Promise {
        if let Some(p) = self.in_flight.borrow().as_ref() {
            return p.clone();
        }
        let this = self.clone();
        let promise = wasm_bindgen_futures::future_to_promise(async move {
            let result = match this.clone().commit().await {
                Ok(summary) => platform::to_js(&summary).map_err(|e| JsValue::from_str(&e.0)),
                Err(e) => Err(e),
            };
            this.in_flight.replace(None);
            result
        });
        // The future has not run yet, so the slot is filled before it can
        // be cleared.
        self.in_flight.replace(Some(promise.clone()));
        promise
    }

    pub fn commit_from_ui(self: &Rc<Self>) {
        let promise = self.commit_shared();
        wasm_bindgen_futures::spawn_local(async move {
            // The UI shows the outcome; events tell the host page.
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        });
    }

    /// Commits the current answers. Resolves once the records are kept.
    /// Callers go through [`Controller::commit_shared`], so only one runs
    /// at a time.
    async fn commit(self: Rc<Self>) -> Result<Summary, JsValue> {
        let Some(s) = self.session() else {
            return Err(JsValue::from_str("the consent prompt is not mounted"));
        };
        if self.saved.get() {
            if let Some(last) = self.last.borrow().clone() {
                return Ok(last);
            }
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
        self.saved.set(true);
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
            kept: if outbox::kept_on_device(&report.pending) {
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
        outbox::release_held(&url);
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
        let (waiting, failed) = outbox::where_are(&last.pending);
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

    pub(crate) fn fail(
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
        let ep = outbox::Endpoint::of(&config);
        let url = ep.url.clone();
        let new_token = outbox::set_endpoint(ep);
        let same_prompt = self.session().is_some_and(|s| {
            let strip = |c: &Config| Config {
                token: None,
                headers: Vec::new(),
                ..c.clone()
            };
            strip(&s.config) == strip(&config)
        });
        if new_token {
            let released = outbox::release_held(&url);
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
        config
            .preferences
            .extend(records.iter().map(current::preference_of));
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
pub(crate) fn held_message(why: &str) -> String {
    format!("the backend wants a new checkout token ({why}); the records are held until update() gives one")
}

/// The plan for a config, and the answers to start from: none at checkout,
/// the current ones in the preference centre.
pub(crate) fn make_plan(config: &Config, now: consent_core::Timestamp) -> (Plan, Answers) {
    match config.policy.mode {
        Mode::Account => {
            let p = account_plan(&config.partners, &config.preferences, &config.policy, now);
            let answers = current_answers(&p);
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

pub(crate) fn pick_locale(config: &Config) -> String {
    let html = platform::html_lang();
    let nav = platform::navigator_languages();
    requested_locale(
        [config.locale.as_deref(), html.as_deref()]
            .into_iter()
            .chain(nav.iter().map(|l| Some(l.as_str()))),
    )
}
