//! The current-answer rule, as a table: supersession, future dates, equal
//! times, withdrawals and expiry; then the planner's and the preference
//! centre's reading of it.

use consent_core::current::{self, Answered};
use consent_core::domain::{DecisionState, Policy, Preference};
use consent_core::plan::{account_plan, expiry, AskReason};
use consent_core::Timestamp;
use DecisionState::*;

use crate::common::{at, partner, pref};

/// An answer: partner, state, day decided, day received (if it was),
/// the record it supersedes (by its label).
struct Row(
    &'static str,
    DecisionState,
    i64,
    Option<i64>,
    Option<&'static str>,
);

fn answers(rows: &[Row]) -> Vec<Preference> {
    rows.iter()
        .enumerate()
        .map(|(i, Row(p, state, day, received, supersedes))| Preference {
            record_id: Some(format!("r{i}")),
            supersedes: supersedes.map(str::to_owned),
            received_at: received.map(at),
            ..pref(p, *state, 1, *day)
        })
        .collect()
}

/// The current answer per partner, as `(partner, record label)`.
fn winners(rows: &[Row], now: i64) -> Vec<(String, String)> {
    let list = answers(rows);
    current::current(&list, at(now))
        .into_iter()
        .map(|i| {
            let a = &list[i];
            (
                a.partner().to_owned(),
                a.record_id().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn w(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(p, r)| (p.to_string(), r.to_string()))
        .collect()
}

/// A case: its name, the answers, now (a day), the winners.
type Case = (
    &'static str,
    Vec<Row>,
    i64,
    Vec<(&'static str, &'static str)>,
);

#[test]
fn the_current_answer_follows_the_rule() {
    #[rustfmt::skip]
    let table: Vec<Case> = vec![
        ("no answers, no current answer",
         vec![], 10, vec![]),
        ("the later decision wins",
         vec![Row("p1", Given, 1, None, None), Row("p1", Refused, 2, None, None)], 10,
         vec![("p1", "r1")]),
        ("order does not matter when times differ",
         vec![Row("p1", Refused, 2, None, None), Row("p1", Given, 1, None, None)], 10,
         vec![("p1", "r0")]),
        ("a withdrawal after a yes is current",
         vec![Row("p1", Given, 1, Some(1), None), Row("p1", Withdrawn, 5, None, Some("r0"))], 10,
         vec![("p1", "r1")]),
        ("a superseded answer never counts, even when dated later",
         vec![Row("p1", Given, 9, Some(9), None), Row("p1", Withdrawn, 3, Some(3), Some("r0"))], 10,
         vec![("p1", "r1")]),
        ("superseding the only other answer leaves the new one",
         vec![Row("p1", Given, 1, None, None), Row("p1", Given, 2, None, Some("r0"))], 10,
         vec![("p1", "r1")]),
        ("equal times: the later entry wins",
         vec![Row("p1", Given, 4, None, None), Row("p1", Refused, 4, None, None)], 10,
         vec![("p1", "r1")]),
        ("a future date counts as now, so a later entry at now wins",
         vec![Row("p1", Given, 40, None, None), Row("p1", Refused, 10, None, None)], 10,
         vec![("p1", "r1")]),
        ("a future date counts as its receipt once received",
         vec![Row("p1", Given, 40, Some(6), None), Row("p1", Refused, 8, Some(8), None)], 10,
         vec![("p1", "r1")]),
        ("received earlier than decided: the receipt bounds it",
         vec![Row("p1", Refused, 7, Some(7), None), Row("p1", Given, 9, Some(5), None)], 10,
         vec![("p1", "r0")]),
        ("partners are independent, in first-appearance order",
         vec![Row("p2", Given, 1, None, None), Row("p1", Refused, 2, None, None),
              Row("p2", Withdrawn, 3, None, None)], 10,
         vec![("p2", "r2"), ("p1", "r1")]),
        ("a deferral is an answer like any other (the planner asks again)",
         vec![Row("p1", Given, 1, None, None), Row("p1", Deferred, 2, None, None)], 10,
         vec![("p1", "r1")]),
        ("supersession across partners is by record id only",
         vec![Row("p1", Given, 1, None, None), Row("p2", Given, 2, None, Some("r0"))], 10,
         vec![("p2", "r1")]),
    ];
    for (name, rows, now, want) in table {
        assert_eq!(winners(&rows, now), w(&want), "{name}");
    }
}

#[test]
fn a_lapsed_current_answer_stays_current_and_is_asked_again() {
    // Expiry does not change which answer is current; it makes the planner
    // ask again, quoting that answer.
    let list = answers(&[
        Row("p1", Given, 1, None, None),
        Row("p1", Refused, 0, None, None),
    ]);
    let policy = Policy {
        validity_days: Some(30),
        ..Policy::default()
    };
    let now = at(40);
    let winner = &list[current::current(&list, now)[0]];
    assert_eq!(winner.record_id.as_deref(), Some("r0"));
    assert_eq!(expiry(winner, &policy), Some(at(31)));
    let p = account_plan(&[partner("p1", 1)], &list, &policy, now);
    let ask = &p.questions[0].asks[0];
    assert_eq!(ask.reason, AskReason::Expired { at: at(31) });
    assert_eq!(ask.previous.as_ref().map(|x| x.state), Some(Given));
    // Within the period it is simply the current answer.
    let p = account_plan(&[partner("p1", 1)], &list, &policy, at(20));
    assert_eq!(p.questions[0].asks[0].reason, AskReason::Review);
}

#[test]
fn effective_time_is_capped_by_receipt_or_now() {
    assert_eq!(current::effective_at(at(5), Some(at(3)), at(9)), at(3));
    assert_eq!(current::effective_at(at(5), None, at(4)), at(4));
    assert_eq!(current::effective_at(at(5), None, at(9)), at(5));
    assert_eq!(
        current::effective_at(at(2), Some(at(3)), Timestamp::MIN),
        at(2)
    );
}

#[test]
fn a_withdrawal_held_on_the_device_is_honoured_by_the_next_plan() {
    use consent_core::plan::{plan, SkipReason};
    // The venue's server still says yes; this device withdrew it since.
    let venue = Preference {
        record_id: Some("r-yes".into()),
        ..pref("p1", Given, 1, 1)
    };
    let device = Preference {
        record_id: Some("r-withdrawn".into()),
        supersedes: Some("r-yes".into()),
        ..pref("p1", Withdrawn, 1, 5)
    };
    let p = plan(
        &[crate::common::line("e1", &["p1"])],
        &[venue, device],
        &[partner("p1", 1)],
        &Policy::default(),
        at(6),
    );
    assert!(
        p.questions.is_empty(),
        "a withdrawal is an answer: not asked again"
    );
    assert_eq!(
        p.skipped[0].reason,
        SkipReason::AlreadyAnswered {
            state: Withdrawn,
            decided_at: at(5)
        }
    );
}
