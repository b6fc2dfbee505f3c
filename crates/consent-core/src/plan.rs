//! The planner: which partner questions to ask, and why the others are not asked.
//!
//! [`plan`] is a pure function of the basket, the patron's earlier answers,
//! the venue's partners and policy, and the current time. The same input
//! always gives the same plan.
//!
//! Rules, in the words of the product:
//! 1. At most one question per partner, however many lines name it.
//! 2. No question for a partner with a current answer (`given`, `refused` or
//!    `withdrawn`) to the current notice version that has not expired.
//! 3. Ask again when the notice version differs (and the policy says so),
//!    when the answer has expired, or when the answer was `deferred`.
//! 4. General mode: one statement naming every partner still to ask,
//!    except those marked `ask_individually`, which get their own question
//!    (ACE's mixed mode); the statement stands where its first partner
//!    would have.
//! 5. Unknown partner ids, duplicate lines and empty baskets never panic;
//!    unknown ids are reported with a reason.
//!
//! The earlier answer per partner is the current one by
//! [`crate::current`]'s rule, over every answer given: the venue's
//! preferences and, in the widget, what this device holds for the patron.

use crate::compact::StrMap;
use crate::current;
use crate::domain::{
    BasketLine, DecisionState, Mode, Notice, Partner, PartnerId, Policy, Preference,
};
use crate::time::Timestamp;

/// Which notice, at which version.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NoticeRef {
    pub id: String,
    pub version: u32,
}

impl From<&Notice> for NoticeRef {
    fn from(n: &Notice) -> Self {
        NoticeRef {
            id: n.id.clone(),
            version: n.version,
        }
    }
}

/// The answer a patron gave before, when a question is asked again.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PreviousAnswer {
    pub state: DecisionState,
    pub notice_version: u32,
    pub decided_at: Timestamp,
    pub record_id: Option<String>,
    /// The channels it covered, when known.
    pub channels: Vec<crate::domain::Channel>,
    /// The exact wording answered, as `(locale, text)`, when known.
    pub notice_text: Option<(String, String)>,
}

/// Why a partner is asked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AskReason {
    /// The patron has never answered for this partner.
    NoAnswer,
    /// The question was shown before but not answered.
    Deferred,
    /// The venue changed the wording since the patron answered.
    NoticeChanged {
        answered_version: u32,
        current_version: u32,
    },
    /// The answer lapsed at this instant.
    Expired { at: Timestamp },
    /// Preference centre: a current answer, shown so the patron can change it.
    Review,
    /// The answer was imported from the venue's earlier records (its
    /// wording never recorded), and the policy asks those again.
    Imported,
}

/// Why a partner in the basket is not asked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// A basket line names a partner the venue did not configure.
    UnknownPartner,
    /// A current, unexpired answer to the current notice exists.
    AlreadyAnswered {
        state: DecisionState,
        decided_at: Timestamp,
    },
    /// The answer was to an earlier notice version, and the policy keeps such answers.
    AnsweredEarlierNotice {
        state: DecisionState,
        answered_version: u32,
        current_version: u32,
    },
}

/// A basket line's index. A `u32`, not a `usize`: the plan is hashed into
/// the render fingerprint, which must come out the same in the browser
/// (wasm32) and on the server (64-bit), and `Hash` writes a `usize` slice
/// as its raw memory.
pub type LineNo = u32;

/// One partner inside a question.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ask {
    pub partner_id: PartnerId,
    /// Index into the `partners` slice given to [`plan`].
    pub partner_index: usize,
    /// The partner's own notice (in general mode the question's notice is the
    /// venue's statement instead).
    pub partner_notice: NoticeRef,
    pub reason: AskReason,
    pub previous: Option<PreviousAnswer>,
    /// Indices of the basket lines that name this partner, in basket order.
    pub lines: Vec<LineNo>,
}

/// One question put to the patron.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Question {
    /// Stable key: the partner id in individual mode, `general` in general mode.
    pub key: String,
    /// The notice whose wording is shown and recorded.
    pub notice: NoticeRef,
    /// One partner in individual mode; every partner still to ask in general mode.
    pub asks: Vec<Ask>,
    /// The venue's general statement (key `general`), not one partner's question.
    pub general: bool,
}

impl Question {
    /// Indices of every basket line behind this question, in basket order, without repeats.
    pub fn lines(&self) -> Vec<LineNo> {
        let lines: Vec<LineNo> = self
            .asks
            .iter()
            .flat_map(|a| a.lines.iter().copied())
            .collect();
        // Each ask's lines are already in basket order; merge them without
        // a general-purpose sort (a general question can cover every line).
        let Some(&last) = lines.iter().max() else {
            return lines;
        };
        let mut present = vec![false; last as usize + 1];
        for &l in &lines {
            present[l as usize] = true;
        }
        (0..=last).filter(|&l| present[l as usize]).collect()
    }
}

/// A partner in the basket that is not asked, and why.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Skipped {
    pub partner_id: PartnerId,
    pub reason: SkipReason,
    pub lines: Vec<LineNo>,
}

/// The outcome of planning.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Plan {
    /// In order of each partner's first appearance in the basket.
    pub questions: Vec<Question>,
    /// Every partner named in the basket and not asked, in first-appearance order.
    pub skipped: Vec<Skipped>,
    /// Lines whose event id already appeared earlier in the basket (ignored).
    pub duplicate_lines: Vec<LineNo>,
    /// Lines for events with no partner company (nothing to ask).
    pub lines_without_partners: Vec<LineNo>,
}

impl Plan {
    /// Every partner asked, in question order.
    pub fn asked_partners(&self) -> impl Iterator<Item = &Ask> {
        self.questions.iter().flat_map(|q| q.asks.iter())
    }

    pub fn is_empty(&self) -> bool {
        self.questions.is_empty()
    }
}

/// Plans the questions for one checkout. See the module docs for the rules.
///
/// `now` is passed in because the engine does no IO, the clock included.
pub fn plan(
    basket: &[BasketLine],
    preferences: &[Preference],
    partners: &[Partner],
    policy: &Policy,
    now: Timestamp,
) -> Plan {
    let mut partner_index = StrMap::with_capacity(partners.len());
    for (i, p) in partners.iter().enumerate() {
        partner_index.try_insert(p.id.as_str(), i);
    }
    let latest = current::by_partner(preferences, now);

    // Group lines by partner, in order of first appearance.
    let mut out = Plan::default();
    let mut seen_events = StrMap::with_capacity(basket.len());
    let mut slot_of = StrMap::default();
    let mut groups: Vec<(&PartnerId, Vec<LineNo>)> = Vec::new();
    for (line_no, line) in (0..).zip(basket) {
        if seen_events.try_insert(line.event_id.as_str(), ()).is_some() {
            out.duplicate_lines.push(line_no);
            continue;
        }
        if line.partner_ids.is_empty() {
            out.lines_without_partners.push(line_no);
            continue;
        }
        for pid in &line.partner_ids {
            let slot = *slot_of.get_or_insert_with(pid.as_str(), || {
                groups.push((pid, Vec::new()));
                groups.len() - 1
            });
            let lines = &mut groups[slot].1;
            // A line naming the same partner twice still counts once.
            if lines.last() != Some(&line_no) {
                lines.push(line_no);
            }
        }
    }

    // The venue's own question comes first, asked whatever the basket holds.
    for p in partners.iter().filter(|p| p.own).rev() {
        if slot_of.get(p.id.as_str()).is_none() {
            groups.insert(0, (&p.id, Vec::new()));
        }
    }

    let mut asks = Vec::new();
    for (pid, lines) in groups {
        let Some(&partner_index) = partner_index.get(pid.as_str()) else {
            out.skipped.push(Skipped {
                partner_id: pid.clone(),
                reason: SkipReason::UnknownPartner,
                lines,
            });
            continue;
        };
        let partner = &partners[partner_index];
        let effective = notice_for(partner, policy);
        match decide(latest.get(pid.as_str()).copied(), effective, policy, now) {
            Verdict::Ask(reason, previous) => asks.push(Ask {
                partner_id: pid.clone(),
                partner_index,
                partner_notice: NoticeRef::from(&partner.notice),
                reason,
                previous,
                lines,
            }),
            Verdict::Skip(reason) => out.skipped.push(Skipped {
                partner_id: pid.clone(),
                reason,
                lines,
            }),
        }
    }

    out.questions = match &policy.mode {
        Mode::Individual | Mode::Account => asks.into_iter().map(individual).collect(),
        Mode::General { notice } => {
            let mut questions = Vec::new();
            let mut general: Vec<Ask> = Vec::new();
            let mut general_at = None;
            for ask in asks {
                let p = &partners[ask.partner_index];
                if p.ask_individually || p.own {
                    questions.push(individual(ask));
                } else {
                    general_at.get_or_insert(questions.len());
                    general.push(ask);
                }
            }
            if let Some(at) = general_at {
                questions.insert(
                    at,
                    Question {
                        key: "general".to_owned(),
                        notice: NoticeRef::from(notice),
                        asks: general,
                        general: true,
                    },
                );
            }
            questions
        }
    };
    out
}

/// One partner's own question.
fn individual(ask: Ask) -> Question {
    Question {
        key: ask.partner_id.0.clone(),
        notice: ask.partner_notice.clone(),
        asks: vec![ask],
        general: false,
    }
}

/// The preference centre's plan: one question per configured partner, in
/// config order, whatever the patron answered before. Each carries the
/// current answer (`previous`) and why it would be asked at checkout
/// (`Review` when the answer is current).
pub fn account_plan(
    partners: &[Partner],
    preferences: &[Preference],
    policy: &Policy,
    now: Timestamp,
) -> Plan {
    let latest = current::by_partner(preferences, now);
    let mut seen = StrMap::default();
    let questions = partners
        .iter()
        .enumerate()
        .filter(|(_, p)| seen.try_insert(p.id.as_str(), ()).is_none())
        .map(|(i, partner)| {
            let pref = latest.get(partner.id.as_str()).copied();
            let (reason, previous) = match decide(pref, &partner.notice, policy, now) {
                Verdict::Ask(reason, previous) => (reason, previous),
                Verdict::Skip(_) => (AskReason::Review, pref.map(previous_answer)),
            };
            Question {
                key: partner.id.0.clone(),
                notice: NoticeRef::from(&partner.notice),
                asks: vec![Ask {
                    partner_id: partner.id.clone(),
                    partner_index: i,
                    partner_notice: NoticeRef::from(&partner.notice),
                    reason,
                    previous,
                    lines: Vec::new(),
                }],
                general: false,
            }
        })
        .collect();
    Plan {
        questions,
        ..Plan::default()
    }
}

fn previous_answer(pref: &Preference) -> PreviousAnswer {
    PreviousAnswer {
        state: pref.state,
        notice_version: pref.notice_version,
        decided_at: pref.decided_at,
        record_id: pref.record_id.clone(),
        channels: pref.channels.clone(),
        notice_text: pref.notice_text.clone(),
    }
}

/// The notice a partner's answer is held to: the venue's general
/// statement in general mode (unless the partner is asked on its own),
/// else the partner's own.
pub fn notice_for<'a>(partner: &'a Partner, policy: &'a Policy) -> &'a Notice {
    match &policy.mode {
        Mode::General { notice } if !partner.ask_individually && !partner.own => notice,
        _ => &partner.notice,
    }
}

/// What patrons' current answers to one partner meet under a notice, by
/// the planner's own rule ([`decide`]): asked again because they answered
/// other wording (a version or notice changed, and the policy re-asks),
/// asked anyway (deferred, lapsed, imported and re-asked), or kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reasks {
    pub wording: u64,
    pub anyway: u64,
    pub kept: u64,
}

impl std::ops::AddAssign for Reasks {
    fn add_assign(&mut self, other: Reasks) {
        self.wording += other.wording;
        self.anyway += other.anyway;
        self.kept += other.kept;
    }
}

/// Counts [`Reasks`] over `answers` (each a patron's current answer to the
/// partner) under `notice`. The prompt studio asks it twice: for the
/// notice as configured, and as it would be with its wording changed
/// (the next version), so a venue sees how many answers an edit re-asks.
pub fn reasks<'a>(
    answers: impl IntoIterator<Item = &'a Preference>,
    notice: &Notice,
    policy: &Policy,
    now: Timestamp,
) -> Reasks {
    let mut r = Reasks::default();
    for pref in answers {
        match decide(Some(pref), notice, policy, now) {
            Verdict::Ask(AskReason::NoticeChanged { .. }, _) => r.wording += 1,
            Verdict::Ask(..) => r.anyway += 1,
            Verdict::Skip(_) => r.kept += 1,
        }
    }
    r
}

/// Whether one partner is asked, and why (or why not). Not a decision of
/// the patron's: that is `record::Decision`.
enum Verdict {
    Ask(AskReason, Option<PreviousAnswer>),
    Skip(SkipReason),
}

fn decide(pref: Option<&Preference>, notice: &Notice, policy: &Policy, now: Timestamp) -> Verdict {
    let Some(pref) = pref else {
        return Verdict::Ask(AskReason::NoAnswer, None);
    };
    let previous = Some(previous_answer(pref));
    if pref.state == DecisionState::Deferred {
        return Verdict::Ask(AskReason::Deferred, previous);
    }
    if pref.imported {
        // No wording was recorded, so no notice to compare: the venue
        // decides whether such answers stand (`reaskImported`).
        if policy.reask_imported {
            return Verdict::Ask(AskReason::Imported, previous);
        }
        if let Some(at) = expiry(pref, policy).filter(|at| *at <= now) {
            return Verdict::Ask(AskReason::Expired { at }, previous);
        }
        return Verdict::Skip(SkipReason::AlreadyAnswered {
            state: pref.state,
            decided_at: pref.decided_at,
        });
    }
    let same_notice = pref.notice_id.as_deref().is_none_or(|id| id == notice.id)
        && pref.notice_version == notice.version;
    if !same_notice && policy.reask_on_notice_change {
        return Verdict::Ask(
            AskReason::NoticeChanged {
                answered_version: pref.notice_version,
                current_version: notice.version,
            },
            previous,
        );
    }
    if let Some(at) = expiry(pref, policy) {
        if at <= now {
            return Verdict::Ask(AskReason::Expired { at }, previous);
        }
    }
    if !same_notice {
        return Verdict::Skip(SkipReason::AnsweredEarlierNotice {
            state: pref.state,
            answered_version: pref.notice_version,
            current_version: notice.version,
        });
    }
    Verdict::Skip(SkipReason::AlreadyAnswered {
        state: pref.state,
        decided_at: pref.decided_at,
    })
}

/// The same questions again after a save, for the patron who chose
/// "Change my answers": each partner shows, for review, the answer just
/// saved (`saved`, this commit's records read back as answers), so a new
/// answer supersedes it.
pub fn reopen(plan: &Plan, saved: &[Preference], now: Timestamp) -> Plan {
    let latest = current::by_partner(saved, now);
    let mut out = plan.clone();
    for ask in out.questions.iter_mut().flat_map(|q| q.asks.iter_mut()) {
        if let Some(pref) = latest.get(ask.partner_id.as_str()) {
            ask.previous = Some(previous_answer(pref));
            ask.reason = AskReason::Review;
        }
    }
    out
}

/// When an answer lapses: the earlier of the record's own `validUntil` and
/// the policy's validity period counted from the decision.
pub fn expiry(pref: &Preference, policy: &Policy) -> Option<Timestamp> {
    let by_policy = policy.validity_days.map(|d| pref.decided_at.plus_days(d));
    match (pref.valid_until, by_policy) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
