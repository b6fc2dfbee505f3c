//! The controller behind the public handle. It owns the prompt's state
//! (the components render what it sends them and send it messages), and
//! the commit path (answers → records → outbox → backend); it tells the
//! page what happened through the `consent:*` events, each decided by
//! `consent_core::outcome`.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::JsValue;
use web_sys::Element;
use yew::UseStateSetter;

use consent_core::config::Config;
use consent_core::current;
use consent_core::domain::{Mode, Preference};
use consent_core::locale::requested_locale;
use consent_core::outbox::{Kept, RunReport};
use consent_core::outcome::{outcome, Event, Outcome, Progress, Status, Step};
use consent_core::plan::{account_plan, plan, reopen, Plan};
use consent_core::receipt;
use consent_core::session::{current_answers, Answers, Problem};
use consent_core::wire::{ConsentRecordV1, Embed};

use crate::commit::{build_records, keep_and_send, CommitError};
use crate::js::{state_of, ErrorDetail, ProblemOut, Summary};
use crate::outbox::{self, Delivery, Report};
use crate::platform;
use crate::state::{Msg, ReceiptLinks, Saved, Session};

/// Links the mounted component to the outside world.
pub struct Controller {
    pub(crate) host: Element,
    pub(crate) embed: Embed,
    /// The prompt's state: the one copy. Changed only by [`Controller::send`].
    pub(crate) state: RefCell<Rc<Session>>,
    /// The mounted view, told of every new state.
    pub(crate) view: RefCell<Option<UseStateSetter<Rc<Session>>>>,
    /// The commit in progress, from the page or the prompt's own button:
    /// every `commit()` meanwhile gets this same promise, so there is one
    /// set of records and every caller settles with the same outcome.
    pub(crate) in_flight: RefCell<Option<js_sys::Promise>>,
    /// The server-rendered prompt this one took over, if it did: the
    /// entry script marks it when Save was pressed before (`data-cp-save`).
    pub(crate) rendered: Option<Element>,
}

impl Controller {
    pub fn new(
        host: Element,
        embed: Embed,
        session: Rc<Session>,
        rendered: Option<Element>,
    ) -> Self {
        Controller {
            host,
            embed,
            state: RefCell::new(session),
            view: RefCell::new(None),
            in_flight: RefCell::new(None),
            rendered,
        }
    }

    /// The view to tell of each new state (the mounted `Prompt`).
    pub fn subscribe(&self, view: UseStateSetter<Rc<Session>>) {
        self.view.replace(Some(view));
    }

    pub fn detach(&self) {
        self.view.replace(None);
    }

    /// The state now.
    pub fn session(&self) -> Rc<Session> {
        self.state.borrow().clone()
    }

    /// The one way the state changes: the transition, then the view and
    /// (when the answers changed) the page are told.
    pub fn send(&self, msg: Msg) {
        let before = self.session();
        let next = Rc::new(before.apply(msg));
        self.state.replace(next.clone());
        if let Some(view) = self.view.borrow().as_ref() {
            view.set(next.clone());
        }
        if next.answers != before.answers {
            self.emit("consent:change", &state_of(&next));
        }
    }

    /// The view has taken the prompt over: it shows the answers given
    /// before the wasm arrived, and a Save pressed then commits, once.
    pub fn hydrated(self: &Rc<Self>) {
        // From now on the prompt handles its own Save (see entry.js).
        if let Err(e) = self.host.set_attribute(platform::LIVE_ATTR, "") {
            platform::warn(&format!("could not mark the prompt live: {e:?}"));
        }
        let Some(rendered) = &self.rendered else {
            return;
        };
        // The view hydrated the DOM as the server rendered it; the state
        // already holds the answers given before (see `mount`): show them.
        if let Some(view) = self.view.borrow().as_ref() {
            view.set(self.session());
        }
        let pressed = rendered.has_attribute(platform::EARLY_SAVE_ATTR);
        platform::remove_early_notes(rendered);
        if pressed {
            // Once: the mark goes with the note.
            let _ = rendered.remove_attribute(platform::EARLY_SAVE_ATTR);
            self.commit_from_ui();
        }
    }

    pub(crate) fn emit<T: Serialize + ?Sized>(&self, name: &str, detail: &T) {
        let sent = platform::to_js(detail).and_then(|d| platform::dispatch(&self.host, name, &d));
        if let Err(e) = sent {
            platform::warn(&format!("{name} event: {e}"));
        }
    }

    /// The records a commit would send now, built exactly as `commit()`
    /// builds them (their ids are fresh each time), without keeping or
    /// sending anything. Rejects like `commit()` when answers are missing.
    pub async fn preview(self: Rc<Self>) -> Result<Vec<ConsentRecordV1>, JsValue> {
        let s = self.session();
        build_records(&s, self.embed).await.map_err(|e| match e {
            CommitError::Invalid(errors) => {
                let detail = incomplete(&s, &errors);
                platform::to_js(&detail).unwrap_or(JsValue::NULL)
            }
            CommitError::Platform(m) => error_value("browser", m),
        })
    }

    /// The handle's `state()`.
    pub fn state(&self) -> JsValue {
        platform::to_js(&state_of(&self.session())).unwrap_or(JsValue::NULL)
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
                Ok(summary) => platform::to_js(&summary).map_err(|e| error_value("browser", e.0)),
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
    /// at a time. While a save is shown, it resolves with that save.
    async fn commit(self: Rc<Self>) -> Result<Summary, JsValue> {
        let s = self.session();
        if let Some(saved) = s.final_save() {
            return Ok(summary_of(saved));
        }
        self.send(Msg::Saving);
        let records = match build_records(&s, self.embed).await {
            Ok(r) => r,
            Err(CommitError::Invalid(errors)) => {
                let detail = incomplete(&s, &errors);
                self.send(Msg::Invalid(errors));
                self.emit("consent:error", &detail);
                return Err(platform::to_js(&detail).unwrap_or(JsValue::NULL));
            }
            Err(CommitError::Platform(m)) => {
                self.send(Msg::Failed(m.clone()));
                return Err(self.fail("browser", m, None, vec![]));
            }
        };
        let first = keep_and_send(&records, &s.config.endpoint).await;
        let ids: Vec<String> = records.iter().map(|r| r.record_id.clone()).collect();
        let seen = outbox::seen(&ids, &first.report.run);
        let out = outcome(&Step {
            ids: &ids,
            chosen: Saved::chosen(&records),
            kept: first.kept,
            storage_error: first.storage_error.as_deref(),
            before: None,
            seen: &seen,
        });
        if let Status::Failed { message } = &out.status {
            self.send(Msg::Failed(message.clone()));
            let rejection = self.tell(&out, None);
            return Err(rejection.unwrap_or(JsValue::NULL));
        }
        let saved = Rc::new(self.saved(&s, records, out.progress.clone(), first.kept));
        self.send(Msg::Committed(saved.clone(), out.status.clone()));
        if matches!(s.config.policy.mode, Mode::Account) {
            // Each partner now says what was just saved.
            let (plan, answers) = self.with_saved(&s, &saved);
            self.send(Msg::Rebased {
                plan: Rc::new(plan),
                answers,
            });
        }
        self.tell(&out, Some(&saved));
        if first.delivery.waiting() {
            let this = self.clone();
            let mut run = first.delivery;
            wasm_bindgen_futures::spawn_local(async move {
                run.go(true).await;
                this.progress(&run.report().run);
            });
        }
        Ok(summary_of(&saved))
    }

    /// A save: its records, where they stand, and the patron's copy
    /// (kept for `receipt()`, and offered on screen as a JSON file and a
    /// printable page).
    fn saved(
        &self,
        s: &Session,
        records: Vec<ConsentRecordV1>,
        progress: Progress,
        kept: Kept,
    ) -> Saved {
        let r = receipt::receipt(&s.config.customer_id, platform::now(), &records);
        let links = match platform::to_js(&r).and_then(|v| platform::json_pretty(&v)) {
            Ok(json) => {
                let page = receipt::printable(&r, &s.config.strings, &s.locale);
                Some(Rc::new(ReceiptLinks {
                    json: platform::object_url(&json, "application/json"),
                    page: platform::object_url(&page, "text/html;charset=utf-8"),
                    file_name: receipt::file_name(&r),
                }))
            }
            Err(e) => {
                platform::warn(&format!("the receipt could not be offered: {e}"));
                None
            }
        };
        Saved {
            records,
            progress,
            kept,
            receipt: r,
            links,
        }
    }

    /// Tells the page an outcome's events, in order. Returns the
    /// rejection to settle `commit()` with, when the outcome has one.
    fn tell(&self, out: &Outcome, saved: Option<&Saved>) -> Option<JsValue> {
        let mut rejection = None;
        for event in &out.events {
            match event {
                Event::Commit => {
                    if let Some(saved) = saved {
                        self.emit("consent:commit", &summary_of(saved));
                    }
                }
                Event::Error {
                    code,
                    message,
                    field,
                    record_ids,
                } => {
                    rejection = Some(self.fail(
                        code.as_str(),
                        message.clone(),
                        field.clone(),
                        record_ids.clone(),
                    ))
                }
            }
        }
        rejection
    }

    /// After any delivery run (the commit's own in the background, a
    /// retry, a new token, the next mount): where the last save's records
    /// stand now, told by the same rule as at commit.
    fn progress(&self, run: &RunReport) {
        let s = self.session();
        let Some(saved) = s.saved.clone() else {
            return;
        };
        let ids = saved.ids();
        let seen = outbox::seen(&ids, run);
        let out = outcome(&Step {
            ids: &ids,
            chosen: Saved::chosen(&saved.records),
            kept: saved.kept,
            storage_error: None,
            before: Some(&saved.progress),
            seen: &seen,
        });
        if out.events.is_empty() {
            return;
        }
        self.send(Msg::Progressed(out.progress.clone(), out.status.clone()));
        let now = self.session().saved.clone();
        self.tell(&out, now.as_deref());
    }

    /// The handle's `receipt()`: the last save's `consent-receipt/1`.
    pub fn receipt(&self) -> JsValue {
        match self.session().saved.as_ref() {
            Some(saved) => platform::to_js(&saved.receipt).unwrap_or(JsValue::NULL),
            None => JsValue::NULL,
        }
    }

    /// Sends what is pending or held for this prompt's endpoint now (held
    /// records first become pending: the caller has a new token). Resolves
    /// with what happened; a fault stops it (the records stay pending).
    pub async fn retry(self: Rc<Self>) -> Result<Report, JsValue> {
        let url = self.session().config.endpoint.clone();
        outbox::release_held(&url);
        let mut run = Delivery::start(&url, None);
        run.go(false).await;
        let report = run.report();
        self.progress(&report.run);
        Ok(report)
    }

    /// Tells the page of a failure (`consent:error`) and gives it as the
    /// value to reject with.
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
        let s = self.session();
        let same_prompt = {
            let strip = |c: &Config| Config {
                token: None,
                headers: Vec::new(),
                ..c.clone()
            };
            strip(&s.config) == strip(&config)
        };
        if new_token {
            let released = outbox::release_held(&url);
            let waiting = s
                .saved
                .as_ref()
                .is_some_and(|saved| !saved.progress.pending.is_empty());
            if released > 0 || waiting {
                let this = self.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let mut run = Delivery::start(&url, None);
                    run.go(true).await;
                    this.progress(&run.report().run);
                });
            }
        }
        if same_prompt {
            return;
        }
        let config = Rc::new(config);
        let locale = pick_locale(&config);
        let (new_plan, _) = plan_here(&config, platform::now());
        self.send(Msg::Replace {
            config,
            plan: Rc::new(new_plan),
            locale,
        });
    }

    /// The preference centre's plan with a save's answers as the current ones.
    fn with_saved(&self, s: &Session, saved: &Saved) -> (Plan, Answers) {
        let mut config = (*s.config).clone();
        config
            .preferences
            .extend(saved.records.iter().map(current::preference_of));
        plan_here(&config, platform::now())
    }

    /// "Change my answers": the same questions, each showing the answer
    /// just saved, so the next commit supersedes it. In the preference
    /// centre, every partner with the saved answers as the current ones.
    pub fn reopen(&self) {
        let s = self.session();
        let Some(saved) = s.final_save() else { return };
        let (plan, answers) = match s.config.policy.mode {
            Mode::Account => self.with_saved(&s, saved),
            _ => {
                let saved_answers: Vec<Preference> =
                    saved.records.iter().map(current::preference_of).collect();
                let plan = reopen(&s.plan, &saved_answers, platform::now());
                // The answers stay as given, dated anew when saved again.
                let mut answers = s.answers.clone();
                answers.retain(|_, a| {
                    a.decided_at = None;
                    true
                });
                (plan, answers)
            }
        };
        self.send(Msg::Reopen {
            plan: Rc::new(plan),
            answers,
        });
    }
}

/// The `incomplete` error: every question that needs an answer.
fn incomplete(s: &Session, errors: &[consent_core::session::AnswerError]) -> ErrorDetail<'static> {
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
    ErrorDetail {
        code: "incomplete",
        message: "some questions need an answer".into(),
        field: problems.first().map(|p| p.field.clone()),
        errors: problems,
        record_ids: vec![],
    }
}

/// A typed error as a JS value (`{code, message, field, errors, recordIds}`),
/// for failures the page hears of only through the rejection.
pub(crate) fn error_value(code: &str, message: String) -> JsValue {
    let detail = ErrorDetail {
        code,
        message,
        field: None,
        errors: vec![],
        record_ids: vec![],
    };
    platform::to_js(&detail).unwrap_or(JsValue::NULL)
}

/// What `commit()` resolves to for a save, as it stands.
fn summary_of(saved: &Saved) -> Summary {
    Summary {
        records: saved.records.clone(),
        delivered: saved.progress.delivered.clone(),
        pending: saved.progress.pending.clone(),
        held: saved.progress.held.clone(),
        kept: saved.kept,
        settled: saved.progress.settled(),
    }
}

/// The plan in the browser: the earlier answers are the venue's
/// preferences and what this device holds for this patron at this venue
/// (records on their way, or delivered lately).
pub(crate) fn plan_here(config: &Config, now: consent_core::Timestamp) -> (Plan, Answers) {
    let device = outbox::device_answers(&config.customer_id, &config.venue.id, now);
    make_plan(config, &device, now)
}

/// The plan for a config, and the answers to start from: none at checkout,
/// the current ones in the preference centre. The earlier answers are the
/// venue's preferences, then `device`'s, the current one of each by
/// `consent_core::current`'s rule. (A server renders with no device
/// answers; the browser hydrates only when its plan is the same.)
pub(crate) fn make_plan(
    config: &Config,
    device: &[Preference],
    now: consent_core::Timestamp,
) -> (Plan, Answers) {
    let mut answers = config.preferences.clone();
    answers.extend(device.iter().cloned());
    match config.policy.mode {
        Mode::Account => {
            let p = account_plan(&config.partners, &answers, &config.policy, now);
            let start = current_answers(&p);
            (p, start)
        }
        _ => (
            plan(
                &config.basket,
                &answers,
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
