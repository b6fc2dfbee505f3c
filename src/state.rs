//! The reducer: the one place the prompt's state changes. Actions in, state
//! out; every rule it applies comes from `consent-core`.

use std::hash::{Hash, Hasher};
use std::rc::Rc;

use gloo_file::ObjectUrl;
use yew::Reducible;

use consent_core::config::Config;
use consent_core::domain::Channel;
use consent_core::plan::Plan;
use consent_core::session::{retain_answers, AnswerError, Answers, Choice, Problem};
use consent_core::Timestamp;

/// Where the commit stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    Asking,
    Saving,
    /// Records are safe in the outbox; some may still be on their way.
    Saved {
        delivered: usize,
        pending: usize,
    },
    /// The backend refused the records, or they could not be kept.
    Failed(String),
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
    /// The patron's copy of the last saved choices, once there is one.
    pub receipt: Option<Rc<ReceiptLinks>>,
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
    Saved {
        delivered: usize,
        pending: usize,
    },
    Failed(String),
    /// A commit's receipt is ready to offer.
    Receipt(Rc<ReceiptLinks>),
    /// The basket (or any config) changed: re-plan, keeping answers for
    /// questions that are still asked.
    /// `answers`, when given, replace the current ones (the preference
    /// centre after a save, where the saved answers become the current state).
    Replace {
        config: Rc<Config>,
        plan: Rc<Plan>,
        locale: String,
        answers: Option<Answers>,
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
            receipt: None,
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
        // The plan goes in as its `Debug` text: it holds `Vec<usize>`s, and
        // `Hash` writes a slice of `usize` as raw memory, 8 bytes a number
        // on the host and 4 in wasm32. Nothing else hashed holds one.
        (
            env!("CARGO_PKG_VERSION"),
            &shown,
            format!("{:?}", self.plan),
            &self.locale,
            &self.answers,
            gpc,
        )
            .hash(&mut hasher);
        let hash = hasher.finish();
        format!("{hash:016x}")
    }
}

impl Reducible for Session {
    type Action = Msg;

    fn reduce(self: Rc<Self>, msg: Msg) -> Rc<Self> {
        let mut next = (*self).clone();
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
            Msg::Saved { delivered, pending } => next.phase = Phase::Saved { delivered, pending },
            Msg::Failed(message) => next.phase = Phase::Failed(message),
            Msg::Receipt(links) => next.receipt = Some(links),
            Msg::Replace {
                config,
                plan,
                locale,
                answers,
            } => {
                let saved = answers.is_some();
                next.answers = match answers {
                    Some(fresh) => fresh,
                    None => retain_answers(&next.answers, &plan),
                };
                next.errors
                    .retain(|e| plan.questions.iter().any(|q| q.key == e.question));
                next.config = config;
                next.plan = plan;
                next.locale = locale;
                if !saved {
                    next.phase = Phase::Asking;
                }
            }
        }
        Rc::new(next)
    }
}
