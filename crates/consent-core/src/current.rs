//! The current answer: which of a patron's answers about a partner counts
//! now. One rule, used everywhere an answer is read back: the planner
//! (what not to ask again), the preference centre (what the radios show
//! and which words were agreed to), the host's preferences and receipt
//! (both backends), and the device's own answers merged into a plan.
//!
//! The rule, for each partner:
//! 1. An answer that another answer in the set names in `supersedes` is
//!    never current: the patron (or an operator) replaced it on purpose.
//! 2. Of the rest, the one in effect latest wins. An answer takes effect
//!    when it was decided, but never later than the host received it, nor
//!    later than now when it has not been received yet: a device whose
//!    clock runs ahead cannot date an answer into the future and so
//!    outrank one given after it.
//! 3. Equal times: the later in the given order wins (the host gives its
//!    rows in the order it stored them; a plan gives the venue's
//!    preferences first and this device's answers after them).
//!
//! Whether the current answer still counts as consent (it may have lapsed)
//! is a separate question: [`crate::plan::expiry`].

use crate::compact::StrMap;
use crate::time::Timestamp;

/// What the rule needs to know of an answer, whatever holds it.
pub trait Answered {
    /// The partner the answer is about.
    fn partner(&self) -> &str;
    /// The record that proves it, when known.
    fn record_id(&self) -> Option<&str>;
    /// The record this answer replaces, when it says so.
    fn supersedes(&self) -> Option<&str>;
    /// When the patron decided.
    fn decided_at(&self) -> Timestamp;
    /// When the host received the record, when it has.
    fn received_at(&self) -> Option<Timestamp>;
}

impl<T: Answered + ?Sized> Answered for &T {
    fn partner(&self) -> &str {
        (**self).partner()
    }
    fn record_id(&self) -> Option<&str> {
        (**self).record_id()
    }
    fn supersedes(&self) -> Option<&str> {
        (**self).supersedes()
    }
    fn decided_at(&self) -> Timestamp {
        (**self).decided_at()
    }
    fn received_at(&self) -> Option<Timestamp> {
        (**self).received_at()
    }
}

/// When an answer counts from (rule 2): its decision, capped by its
/// receipt, or by `now` when it has not been received.
pub fn effective_at(decided: Timestamp, received: Option<Timestamp>, now: Timestamp) -> Timestamp {
    decided.min(received.unwrap_or(now))
}

/// The index in `answers` of each partner's current answer, in order of
/// each partner's first appearance. Linear in the number of answers.
pub fn current<'a, T: Answered>(answers: &'a [T], now: Timestamp) -> Vec<usize> {
    let mut superseded = StrMap::with_capacity(answers.len());
    for a in answers {
        if let Some(id) = a.supersedes() {
            superseded.try_insert(id, ());
        }
    }
    let mut best: StrMap<'a, (usize, Timestamp)> = StrMap::with_capacity(answers.len());
    for (i, a) in answers.iter().enumerate() {
        if a.record_id().is_some_and(|id| superseded.contains_key(id)) {
            continue;
        }
        let at = effective_at(a.decided_at(), a.received_at(), now);
        let slot = best.get_or_insert_with(a.partner(), || (i, at));
        if at >= slot.1 {
            *slot = (i, at);
        }
    }
    best.iter().map(|(_, (i, _))| *i).collect()
}

/// Each partner's current answer, by partner id.
pub fn by_partner<'a, T: Answered>(answers: &'a [T], now: Timestamp) -> StrMap<'a, &'a T> {
    let winners = current(answers, now);
    let mut out = StrMap::with_capacity(winners.len());
    for i in winners {
        let a = &answers[i];
        out.try_insert(a.partner(), a);
    }
    out
}

/// A record read back as an answer: what the device holds, or what a
/// commit just made.
pub fn preference_of(r: &crate::wire::ConsentRecordV1) -> crate::domain::Preference {
    crate::domain::Preference {
        partner_id: crate::domain::PartnerId(r.partner.id.clone()),
        state: r.state,
        notice_id: Some(r.notice.id.clone()),
        notice_version: r.notice.version,
        decided_at: r.decided_at,
        valid_until: r.valid_until,
        record_id: Some(r.record_id.clone()),
        channels: r.channels.clone(),
        notice_text: Some((r.notice.language.clone(), r.notice.text.clone())),
        supersedes: r.supersedes.clone(),
        received_at: r.received_at,
        imported: r.import.is_some(),
    }
}
