//! A patron's answers during one checkout, and what a commit turns them into.
//!
//! The widget's reducer keeps an [`Answers`] map; at commit, [`finalize`]
//! either lists every problem (so the error summary can link to each) or
//! yields one [`DecisionDraft`] per partner, ready for the record builder.

use crate::compact::VecMap;
use crate::domain::{Channel, ChannelSet, DecisionState, Mode, Partner, Policy};
use crate::plan::{AskReason, Plan, Question};
use crate::time::Timestamp;
use crate::wire::Action;

/// Yes or No. There is no default: `None` in an [`Answer`] means not answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Choice {
    Yes,
    No,
}

/// The patron's answer to one question, as it stands.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Answer {
    pub choice: Option<Choice>,
    /// Channels ticked; only read when the choice is Yes and the notice offers several.
    pub channels: ChannelSet,
    /// When the patron last changed this answer.
    pub decided_at: Option<Timestamp>,
    /// Box-office mode: the operator confirmed the patron heard the wording.
    pub heard: bool,
}

/// Answers by question key.
pub type Answers = VecMap<String, Answer>;

/// What is wrong with an answer at commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Problem {
    /// No choice, and the venue requires an answer.
    Unanswered,
    /// Yes, but no channel ticked where the notice offers several.
    NoChannel,
    /// Box-office mode: the operator has not confirmed the patron heard the wording.
    NotHeard,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AnswerError {
    pub question: String,
    pub problem: Problem,
}

/// One partner's decision, before it has an id, a digest and a context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionDraft {
    pub question: String,
    pub partner_index: usize,
    pub state: DecisionState,
    pub action: Action,
    pub channels: Vec<Channel>,
    pub decided_at: Timestamp,
    pub supersedes: Option<String>,
    pub renewal: bool,
    /// Basket line indices behind this partner.
    pub lines: Vec<crate::plan::LineNo>,
}

/// The channels a question offers: the partner's, or the general statement's.
pub fn offered_channels<'a>(
    question: &Question,
    partners: &'a [Partner],
    policy: &'a Policy,
) -> &'a [Channel] {
    match &policy.mode {
        Mode::General { notice } if question.general => &notice.channels,
        _ => question
            .asks
            .first()
            .and_then(|a| partners.get(a.partner_index))
            .map_or(&[], |p| p.notice.channels.as_slice()),
    }
}

/// Whether a question is the venue's own soft opt-in: one opt-out box,
/// not a yes/no. Left unticked it means no objection (`given`,
/// `not-opted-out`); ticked, `refused` (or `withdrawn` after a yes),
/// `opted-out`. It never blocks a checkout for want of an answer.
pub fn is_opt_out(question: &Question, partners: &[Partner]) -> bool {
    !question.general
        && question
            .asks
            .first()
            .and_then(|a| partners.get(a.partner_index))
            .is_some_and(|p| p.notice.basis == crate::domain::Basis::LegitimateInterests)
}

/// The soft opt-in's actions for a decision made with yes/no's rules.
fn opt_out_action(state: DecisionState) -> Action {
    match state {
        DecisionState::Given => Action::NotOptedOut,
        DecisionState::Refused | DecisionState::Withdrawn => Action::OptedOut,
        DecisionState::Deferred => Action::NoAnswer,
    }
}

/// Checks the answers against the plan and drafts one decision per partner.
///
/// `assisted` is box-office or phone mode, where each answer also needs the
/// operator's confirmation that the wording was heard.
pub fn finalize(
    plan: &Plan,
    partners: &[Partner],
    policy: &Policy,
    answers: &Answers,
    require_answer: bool,
    now: Timestamp,
) -> Result<Vec<DecisionDraft>, Vec<AnswerError>> {
    let assisted = policy.channel.is_assisted();
    let mut errors = Vec::new();
    let mut drafts = Vec::new();
    let empty = Answer::default();
    for q in &plan.questions {
        let answer = answers.get(&q.key).unwrap_or(&empty);
        let offered = offered_channels(q, partners, policy);
        let opt_out = is_opt_out(q, partners);
        // The opt-out box left alone is no objection, on every channel offered.
        let no_objection;
        let answer = if opt_out {
            no_objection = Answer {
                choice: Some(answer.choice.unwrap_or(Choice::Yes)),
                channels: offered.iter().copied().collect(),
                ..answer.clone()
            };
            &no_objection
        } else {
            answer
        };
        let problem = match answer.choice {
            None if require_answer || assisted => Some(Problem::Unanswered),
            Some(Choice::Yes)
                if offered.len() > 1 && !offered.iter().any(|c| answer.channels.contains(c)) =>
            {
                Some(Problem::NoChannel)
            }
            Some(_) if assisted && !answer.heard => Some(Problem::NotHeard),
            _ => None,
        };
        if let Some(problem) = problem {
            errors.push(AnswerError {
                question: q.key.clone(),
                problem,
            });
            continue;
        }
        let (state, action, channels) = match answer.choice {
            Some(Choice::Yes) if offered.len() > 1 => (
                DecisionState::Given,
                Action::SelectedYes,
                offered
                    .iter()
                    .copied()
                    .filter(|c| answer.channels.contains(c))
                    .collect(),
            ),
            Some(Choice::Yes) => (DecisionState::Given, Action::SelectedYes, offered.to_vec()),
            // A no to a yes shown for review ("Change my answers") takes it back.
            Some(Choice::No) if reviewed_yes(q) => {
                (DecisionState::Withdrawn, Action::Withdrew, offered.to_vec())
            }
            Some(Choice::No) => (DecisionState::Refused, Action::SelectedNo, offered.to_vec()),
            None => (DecisionState::Deferred, Action::NoAnswer, offered.to_vec()),
        };
        let action = if opt_out {
            opt_out_action(state)
        } else {
            action
        };
        for ask in &q.asks {
            let renewal = state == DecisionState::Given
                && renews(&ask.reason)
                && ask
                    .previous
                    .as_ref()
                    .is_some_and(|p| p.state == DecisionState::Given);
            drafts.push(DecisionDraft {
                question: q.key.clone(),
                partner_index: ask.partner_index,
                state,
                action,
                channels: channels.clone(),
                decided_at: answer.decided_at.unwrap_or(now),
                supersedes: ask.previous.as_ref().and_then(|p| p.record_id.clone()),
                renewal,
                lines: ask.lines.clone(),
            });
        }
    }
    if errors.is_empty() {
        Ok(drafts)
    } else {
        Err(errors)
    }
}

/// The preference centre's starting answers: each partner's current answer,
/// so the radios show what the patron chose before. Deferred or never-asked
/// partners start unanswered.
pub fn current_answers(plan: &Plan) -> Answers {
    let mut out = Answers::new();
    for q in &plan.questions {
        let Some(ask) = q.asks.first() else { continue };
        let Some(prev) = &ask.previous else { continue };
        let choice = match prev.state {
            DecisionState::Given => Choice::Yes,
            DecisionState::Refused | DecisionState::Withdrawn => Choice::No,
            DecisionState::Deferred => continue,
        };
        let channels = prev.channels.iter().copied().collect();
        out.insert(
            q.key.clone(),
            Answer {
                choice: Some(choice),
                channels,
                decided_at: None,
                heard: false,
            },
        );
    }
    out
}

/// The preference centre's commit: one decision per partner whose answer
/// the patron touched. A yes becomes `given` (renewed when it replaces an
/// earlier yes), a no after a yes becomes `withdrawn`, a first no `refused`.
/// Each decision supersedes the record it replaces. Re-selecting a current
/// no changes nothing and records nothing.
pub fn finalize_account(
    plan: &Plan,
    partners: &[Partner],
    policy: &Policy,
    answers: &Answers,
) -> Result<Vec<DecisionDraft>, Vec<AnswerError>> {
    let mut errors = Vec::new();
    let mut drafts = Vec::new();
    for q in &plan.questions {
        let Some(ask) = q.asks.first() else { continue };
        let Some(answer) = answers.get(&q.key) else {
            continue;
        };
        let (Some(choice), Some(decided_at)) = (answer.choice, answer.decided_at) else {
            continue; // shown as it was; the patron did not touch it
        };
        let offered = offered_channels(q, partners, policy);
        if policy.channel.is_assisted() && !answer.heard {
            errors.push(AnswerError {
                question: q.key.clone(),
                problem: Problem::NotHeard,
            });
            continue;
        }
        let prev = ask.previous.as_ref();
        let was_yes = prev.is_some_and(|p| p.state == DecisionState::Given);
        let (state, action, channels) = match choice {
            Choice::Yes => {
                let channels: Vec<Channel> = if offered.len() > 1 {
                    offered
                        .iter()
                        .copied()
                        .filter(|c| answer.channels.contains(c))
                        .collect()
                } else {
                    offered.to_vec()
                };
                if channels.is_empty() {
                    errors.push(AnswerError {
                        question: q.key.clone(),
                        problem: Problem::NoChannel,
                    });
                    continue;
                }
                (DecisionState::Given, Action::SelectedYes, channels)
            }
            Choice::No if was_yes => (DecisionState::Withdrawn, Action::Withdrew, offered.to_vec()),
            Choice::No => {
                let current_no = matches!(ask.reason, AskReason::Review)
                    && prev.is_some_and(|p| {
                        matches!(p.state, DecisionState::Refused | DecisionState::Withdrawn)
                    });
                if current_no {
                    continue;
                }
                (DecisionState::Refused, Action::SelectedNo, offered.to_vec())
            }
        };
        let action = if is_opt_out(q, partners) {
            opt_out_action(state)
        } else {
            action
        };
        drafts.push(DecisionDraft {
            question: q.key.clone(),
            partner_index: ask.partner_index,
            state,
            action,
            channels,
            decided_at,
            supersedes: prev.and_then(|p| p.record_id.clone()),
            renewal: state == DecisionState::Given && was_yes && renews(&ask.reason),
            lines: Vec::new(),
        });
    }
    if errors.is_empty() {
        Ok(drafts)
    } else {
        Err(errors)
    }
}

/// A yes is renewed (`RenewedConsentGiven`) only when it answers renewed
/// wording or replaces a lapsed answer; a yes that changes only channels,
/// or repeats a current yes, is a new yes.
fn renews(reason: &AskReason) -> bool {
    matches!(
        reason,
        AskReason::NoticeChanged { .. } | AskReason::Expired { .. } | AskReason::Imported
    )
}

/// Whether a question shows, for review, a current yes.
fn reviewed_yes(q: &Question) -> bool {
    q.asks.iter().any(|a| {
        a.reason == AskReason::Review
            && a.previous
                .as_ref()
                .is_some_and(|p| p.state == DecisionState::Given)
    })
}

/// Keeps the answers to questions that are still asked (after the basket changed).
pub fn retain_answers(answers: &Answers, plan: &Plan) -> Answers {
    answers
        .iter()
        .filter(|(k, _)| plan.questions.iter().any(|q| &q.key == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Whether every question has a usable answer (for the host's `state()`).
pub fn is_complete(plan: &Plan, partners: &[Partner], policy: &Policy, answers: &Answers) -> bool {
    finalize(
        plan,
        partners,
        policy,
        answers,
        true,
        Timestamp::from_unix_millis(0),
    )
    .is_ok()
}
