//! The prompt's state and its one transition, [`Session::apply`]:
//! messages in, the next state out. The controller holds the current
//! state and is the only caller; the components render what it sends them
//! and send it messages (see ARCHITECTURE.md, "Who owns what"). Every rule
//! it applies comes from `consent-core`.

use std::hash::{Hash, Hasher};
use std::rc::Rc;

use gloo_file::ObjectUrl;

use consent_core::config::Config;
use consent_core::domain::Channel;
use consent_core::outbox::Kept;
use consent_core::outcome::{Progress, Status};
use consent_core::plan::Plan;
use consent_core::session::{retain_answers, AnswerError, Answers, Choice, Problem};
use consent_core::wire::{ConsentRecordV1, ReceiptV1};
use consent_core::Timestamp;

/// Where the commit stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    Asking,
    Saving,
    /// Records are stored, or safe in the outbox on their way ([`Status`]
    /// says which). Final: the answers are shown as saved until the
    /// patron chooses "Change my answers".
    Done(Status),
    /// The backend refused the records, or they could not be made; the
    /// patron may answer and save again.
    Failed(String),
}

impl Phase {
    /// Whether the answers are shown as saved, not to be edited.
    pub fn is_final(&self) -> bool {
        matches!(self, Phase::Done(_) | Phase::Saving)
    }
}

/// A commit that kept its records: what it saved and where they stand.
#[derive(Debug, PartialEq)]
pub struct Saved {
    pub records: Vec<ConsentRecordV1>,
    pub progress: Progress,
    pub kept: Kept,
    /// The patron's copy, as `consent-receipt/1`.
    pub receipt: ReceiptV1,
    /// The same copy as links to offer on screen, when they could be made.
    pub links: Option<Rc<ReceiptLinks>>,
}

impl Saved {
    pub fn ids(&self) -> Vec<String> {
        self.records.iter().map(|r| r.record_id.clone()).collect()
    }

    /// Whether the patron chose anything (not every record `deferred`).
    pub fn chosen(records: &[ConsentRecordV1]) -> bool {
        records
            .iter()
            .any(|r| r.state != consent_core::domain::DecisionState::Deferred)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub config: Rc<Config>,
    pub plan: Rc<Plan>,
    /// The locale asked for (config, `<html lang>`, then `navigator.languages`).
    pub locale: String,
    /// When the questions were first shown.
    pub presented_at: Timestamp,
    pub answers: Answers,
    /// Problems found at the last commit, shown until fixed.
    pub errors: Vec<AnswerError>,
    /// Bumped on each failed commit so focus moves to the error summary again.
    pub error_epoch: u32,
    pub phase: Phase,
    /// `navigator.globalPrivacyControl`, read once at mount.
    pub gpc: Option<bool>,
    /// The last commit that kept its records, once there is one.
    pub saved: Option<Rc<Saved>>,
}

/// The receipt of a commit as two `blob:` links: the `consent-receipt/1`
/// JSON to save, and a printable page. The links live as long as the
/// prompt shows them (gloo-file revokes them when dropped).
pub struct ReceiptLinks {
    pub json: ObjectUrl,
    pub page: ObjectUrl,
    pub file_name: String,
}

impl PartialEq for ReceiptLinks {
    fn eq(&self, other: &Self) -> bool {
        *self.json == *other.json && *self.page == *other.page
    }
}

impl std::fmt::Debug for ReceiptLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiptLinks")
            .field("json", &&*self.json)
            .field("page", &&*self.page)
            .field("file_name", &self.file_name)
            .finish()
    }
}

/// FNV-1a over what `Hash` feeds it: a mismatch detector between two
/// builds of this same code, not a security boundary. Lengths and enum
/// discriminants are written as 64-bit values, so a 64-bit server and the
/// browser's wasm32 agree (both are little-endian).
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn write_isize(&mut self, i: isize) {
        self.write_i64(i as i64);
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Msg {
    Choose {
        key: String,
        choice: Choice,
        at: Timestamp,
    },
    ToggleChannel {
        key: String,
        channel: Channel,
        on: bool,
        at: Timestamp,
    },
    Heard {
        key: String,
        heard: bool,
    },
    /// A commit found problems: show them all, and move focus to the summary.
    Invalid(Vec<AnswerError>),
    Saving,
    /// A commit kept its records.
    Committed(Rc<Saved>, Status),
    /// The last commit's records moved on (delivered, refused, held).
    Progressed(Progress, Status),
    Failed(String),
    /// The basket (or any config) changed: re-plan, keeping answers for
    /// questions that are still asked.
    Replace {
        config: Rc<Config>,
        plan: Rc<Plan>,
        locale: String,
    },
    /// The preference centre after a save: the saved answers are now the
    /// current ones (what each question says the patron answered).
    Rebased {
        plan: Rc<Plan>,
        answers: Answers,
    },
    /// "Change my answers": the questions again, each showing the answer
    /// just saved, which a new commit supersedes.
    Reopen {
        plan: Rc<Plan>,
        answers: Answers,
    },
}

impl Session {
    pub fn new(
        config: Rc<Config>,
        plan: Rc<Plan>,
        answers: Answers,
        locale: String,
        presented_at: Timestamp,
        gpc: Option<bool>,
    ) -> Self {
        Session {
            config,
            plan,
            locale,
            presented_at,
            answers,
            errors: Vec::new(),
            error_epoch: 0,
            phase: Phase::Asking,
            gpc,
            saved: None,
        }
    }

    pub fn error_for(&self, key: &str) -> Option<Problem> {
        self.errors
            .iter()
            .find(|e| e.question == key)
            .map(|e| e.problem)
    }

    pub fn is_busy(&self) -> bool {
        self.phase == Phase::Saving
    }

    /// The saved commit, while the answers are shown as saved.
    pub fn final_save(&self) -> Option<&Rc<Saved>> {
        match self.phase {
            Phase::Done(_) => self.saved.as_ref(),
            _ => None,
        }
    }

    /// A fingerprint (a hash) of everything the prompt's first render depends on:
    /// the config as shown (not its token, endpoint, headers or ids, which
    /// never appear on screen), the plan, the locale, the answers and,
    /// when its note is shown, Global Privacy Control. A server writes it
    /// beside the HTML it rendered; the browser takes that HTML over only
    /// when its own session has the same fingerprint, and otherwise renders
    /// afresh, so hydration never meets a DOM it did not expect.
    pub fn render_key(&self) -> String {
        let mut shown = (*self.config).clone();
        shown.endpoint.clear();
        shown.token = None;
        shown.headers.clear();
        shown.credentials = Default::default();
        shown.customer_id.clear();
        shown.basket_ref = None;
        shown.operator_id = None;
        // Previous decisions matter through the plan, except in the
        // preference centre, which also quotes the words agreed to.
        if !matches!(shown.policy.mode, consent_core::domain::Mode::Account) {
            shown.preferences.clear();
        }
        let gpc = if shown.show_gpc_note { self.gpc } else { None };
        let mut hasher = Fnv1a::default();
        // Every `usize` hashed goes through `write_usize`, as a u64: the
        // plan's line numbers are `u32`s (`plan::LineNo`), since `Hash`
        // writes a slice of `usize` as raw memory, 8 bytes a number on the
        // host and 4 in wasm32.
        (
            env!("CARGO_PKG_VERSION"),
            &shown,
            &self.plan,
            &self.locale,
            &self.answers,
            gpc,
        )
            .hash(&mut hasher);
        let hash = hasher.finish();
        format!("{hash:016x}")
    }
}

impl Session {
    /// The one transition: the state after `msg`.
    pub fn apply(&self, msg: Msg) -> Session {
        let mut next = self.clone();
        // Saved answers are final until the patron reopens them: a stray
        // input event (or a page script) cannot change what was saved.
        let editing = matches!(
            msg,
            Msg::Choose { .. } | Msg::ToggleChannel { .. } | Msg::Heard { .. }
        );
        if editing && self.phase.is_final() {
            return next;
        }
        match msg {
            Msg::Choose { key, choice, at } => {
                let a = next.answers.get_or_default(key.clone());
                a.choice = Some(choice);
                a.decided_at = Some(at);
                // Answering clears "unanswered"; a missing channel is re-checked at commit.
                next.errors.retain(|e| {
                    !(e.question == key
                        && (e.problem == Problem::Unanswered || choice == Choice::No))
                });
                next.phase = Phase::Asking;
            }
            Msg::ToggleChannel {
                key,
                channel,
                on,
                at,
            } => {
                let a = next.answers.get_or_default(key.clone());
                if on {
                    a.channels.insert(channel);
                } else {
                    a.channels.remove(&channel);
                }
                a.decided_at = Some(at);
                if on {
                    next.errors
                        .retain(|e| !(e.question == key && e.problem == Problem::NoChannel));
                }
                next.phase = Phase::Asking;
            }
            Msg::Heard { key, heard } => {
                next.answers.get_or_default(key.clone()).heard = heard;
                if heard {
                    next.errors
                        .retain(|e| !(e.question == key && e.problem == Problem::NotHeard));
                }
            }
            Msg::Invalid(errors) => {
                next.errors = errors;
                next.error_epoch += 1;
                next.phase = Phase::Asking;
            }
            Msg::Saving => next.phase = Phase::Saving,
            Msg::Committed(saved, status) => {
                next.saved = Some(saved);
                next.errors.clear();
                next.phase = Phase::Done(status);
            }
            Msg::Progressed(progress, status) => {
                if let Some(old) = &next.saved {
                    next.saved = Some(Rc::new(Saved {
                        records: old.records.clone(),
                        progress,
                        kept: old.kept,
                        receipt: old.receipt.clone(),
                        links: old.links.clone(),
                    }));
                }
                // A refusal after the save was shown reopens the answers,
                // so the patron can try again; anything else only updates
                // the status line of a save still shown.
                match status {
                    Status::Failed { message } => next.phase = Phase::Failed(message),
                    status if matches!(next.phase, Phase::Done(_)) => {
                        next.phase = Phase::Done(status)
                    }
                    _ => {}
                }
            }
            Msg::Failed(message) => next.phase = Phase::Failed(message),
            Msg::Replace {
                config,
                plan,
                locale,
            } => {
                next.answers = retain_answers(&next.answers, &plan);
                next.errors
                    .retain(|e| plan.questions.iter().any(|q| q.key == e.question));
                next.config = config;
                next.plan = plan;
                next.locale = locale;
                // A save stays shown unless the new basket brings a
                // question its answers do not cover (the plan already
                // leaves out every partner answered on this device).
                if !matches!(next.phase, Phase::Done(_)) || !next.plan.questions.is_empty() {
                    next.phase = Phase::Asking;
                }
            }
            Msg::Rebased { plan, answers } => {
                next.plan = plan;
                next.answers = answers;
            }
            Msg::Reopen { plan, answers } => {
                next.plan = plan;
                next.answers = answers;
                next.errors.clear();
                next.phase = Phase::Asking;
            }
        }
        next
    }
}
