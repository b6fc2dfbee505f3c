//! What a commit's delivery means, as one pure function.
//!
//! A commit's records are delivered in steps: the first attempt during
//! `commit()`, then a background run when the backend was unreachable,
//! then any later run (a retry, a new token, the next mount). After each
//! step the widget asks [`outcome`] where the commit's records stand; it
//! answers with the commit's progress, the status to show the patron, and
//! the events to tell the page. The widget's controller interprets that
//! answer in one place, so the first attempt and every later one are told
//! the same way.

use crate::outbox::Kept;

/// Where one commit's records stand, by record id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Named by the backend: stored now or earlier.
    pub delivered: Vec<String>,
    /// Still on their way, `held` ones included.
    pub pending: Vec<String>,
    /// Waiting for a new checkout token.
    pub held: Vec<String>,
    /// Refused by the backend; kept on the device as evidence.
    pub failed: Vec<String>,
}

impl Progress {
    /// Every record is delivered or refused: nothing more will happen.
    pub fn settled(&self) -> bool {
        self.pending.is_empty()
    }
}

/// What the outbox says after a delivery step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// Ids still in the outbox to be sent (pending or held).
    pub waiting: Vec<String>,
    /// Of those, the ones held for a new token.
    pub held: Vec<String>,
    /// Ids in the outbox the backend refused.
    pub failed: Vec<String>,
    /// The backend's words and field for a refusal.
    pub message: Option<String>,
    pub field: Option<String>,
    /// The backend wanted a new token, and why.
    pub unauthorized: Option<String>,
}

/// What the patron is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Every record is stored. `chosen` is false when the patron answered
    /// nothing (every record says `deferred`): nothing was agreed, and
    /// saying "your choices are saved" would not be true.
    Saved { chosen: bool },
    /// Kept, on the device or in this page, to be sent when the backend
    /// can be reached (or when a new token comes).
    Kept,
    /// The backend refused records; the patron is asked to try again or
    /// tell the box office.
    Failed { message: String },
}

/// Why the page is told of a failure: the `code` of the `consent:error`
/// event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The backend refused records (a 4xx naming them).
    Rejected,
    /// The backend wants a new checkout token; records are held.
    Unauthorized,
    /// The device would not keep the records; they live in this page only.
    Storage,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Rejected => "rejected",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Storage => "storage",
        }
    }
}

/// An event for the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `consent:commit`, with the commit's summary as it now stands.
    Commit,
    /// `consent:error`.
    Error {
        code: ErrorCode,
        message: String,
        field: Option<String>,
        record_ids: Vec<String>,
    },
}

/// The answer of [`outcome`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub progress: Progress,
    pub status: Status,
    /// In the order to send them; empty when nothing changed.
    pub events: Vec<Event>,
}

/// A step of delivery for one commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step<'a> {
    /// The commit's record ids.
    pub ids: &'a [String],
    /// Whether any record says the patron chose (not all `deferred`).
    pub chosen: bool,
    /// Where the records waiting are kept.
    pub kept: Kept,
    /// Why storage refused them, when it did.
    pub storage_error: Option<&'a str>,
    /// The progress already told, `None` at the commit's first attempt.
    pub before: Option<&'a Progress>,
    pub seen: &'a Seen,
}

/// Where the commit stands after a step, what to show, and what to tell.
///
/// - A record refused by the backend fails the commit (`rejected`).
/// - Records held for a token are kept, and the page is told
///   (`unauthorized`) so it can call `update()` with a new token.
/// - At the first attempt, records the device would not keep are told
///   (`storage`): they are sent only while this page stays open.
/// - `consent:commit` follows, unless the commit failed; a later step that
///   changes nothing tells nothing.
pub fn outcome(step: &Step<'_>) -> Outcome {
    let of = |list: &[String]| -> Vec<String> {
        step.ids
            .iter()
            .filter(|id| list.contains(id))
            .cloned()
            .collect()
    };
    let failed = of(&step.seen.failed);
    let pending = of(&step.seen.waiting);
    let held = of(&step.seen.held);
    let delivered = step
        .ids
        .iter()
        .filter(|id| !pending.contains(id) && !failed.contains(id))
        .cloned()
        .collect();
    let progress = Progress {
        delivered,
        pending,
        held,
        failed,
    };
    let status = if !progress.failed.is_empty() {
        Status::Failed {
            message: step
                .seen
                .message
                .clone()
                .unwrap_or_else(|| "the server refused the records".to_owned()),
        }
    } else if !progress.pending.is_empty() {
        Status::Kept
    } else {
        Status::Saved {
            chosen: step.chosen,
        }
    };
    let mut events = Vec::new();
    if step.before == Some(&progress) {
        return Outcome {
            progress,
            status,
            events,
        };
    }
    let first = step.before.is_none();
    if first && step.kept == Kept::Memory && !progress.pending.is_empty() {
        events.push(Event::Error {
            code: ErrorCode::Storage,
            message: format!(
                "the records could not be kept on this device ({}); they are sent only while this page stays open",
                step.storage_error.unwrap_or("storage refused them")
            ),
            field: None,
            record_ids: progress.pending.clone(),
        });
    }
    let newly_failed = step
        .before
        .is_none_or(|b| progress.failed.iter().any(|id| !b.failed.contains(id)));
    if let Status::Failed { message } = &status {
        if newly_failed {
            events.push(Event::Error {
                code: ErrorCode::Rejected,
                message: message.clone(),
                field: step.seen.field.clone(),
                record_ids: progress.failed.clone(),
            });
        }
        return Outcome {
            progress,
            status,
            events,
        };
    }
    if let (Some(why), false) = (&step.seen.unauthorized, progress.held.is_empty()) {
        events.push(Event::Error {
            code: ErrorCode::Unauthorized,
            message: held_message(why),
            field: None,
            record_ids: progress.held.clone(),
        });
    }
    events.push(Event::Commit);
    Outcome {
        progress,
        status,
        events,
    }
}

/// The `unauthorized` error's message: what the backend said, and what to do.
pub fn held_message(why: &str) -> String {
    format!("the backend wants a new checkout token ({why}); the records are held until update() gives one")
}
