//! A partner's suppression feed, as a pure rule: from one patron's
//! answers about the partner (read in the order stored), every moment
//! their yes ended, and why. The drivers read the rows; the host writes
//! the feed.
//!
//! A yes is *active* at a moment when the current answer then (by
//! [`consent_core::current`], over the answers in effect by that moment)
//! is `given` and has not lapsed. It ends when that stops being so:
//! - `withdrawn`: a withdrawal (or an unanswered question recorded after
//!   it) became the current answer;
//! - `refused`: a refusal did (a patron who said yes, then no);
//! - `lapsed`: the yes reached its `validUntil`;
//! - `erased`: the patron was erased, having said yes to the partner at
//!   some time (the partner must delete what it holds).
//!
//! Each ending is *listed* at the moment the host could first know it:
//! never before the ending itself, nor before every answer it rests on
//! had arrived (an answer decided offline arrives later than it counts
//! from). A feed read `since` a time lists what was listed since then, so
//! a partner polling with the last read's cursor misses nothing.

use consent_core::current;
use consent_core::domain::DecisionState;
use consent_core::Timestamp;
use serde::Serialize;

use crate::rules::{BySubject, Decided, OfSubject};

/// Why a yes ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    Withdrawn,
    Refused,
    Lapsed,
    Erased,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Withdrawn => "withdrawn",
            Reason::Refused => "refused",
            Reason::Lapsed => "lapsed",
            Reason::Erased => "erased",
        }
    }
}

/// One stored answer about the partner, enough to replay the patron's
/// history: when it counts from and arrived, what it says, until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub decided: Decided,
    pub received_at_ms: i64,
    pub state: DecisionState,
    pub valid_until_ms: Option<i64>,
}

impl current::Answered for Answer {
    fn partner(&self) -> &str {
        self.decided.partner()
    }
    fn record_id(&self) -> Option<&str> {
        self.decided.record_id()
    }
    fn supersedes(&self) -> Option<&str> {
        self.decided.supersedes()
    }
    fn decided_at(&self) -> Timestamp {
        self.decided.decided_at()
    }
    fn received_at(&self) -> Option<Timestamp> {
        self.decided.received_at()
    }
}

/// A moment a patron's yes ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ended {
    pub reason: Reason,
    /// When it ended.
    pub ended_at: Timestamp,
    /// When the host could first list it (the feed's cursor).
    pub listed_at: Timestamp,
    /// The record that ended it (none for a lapse or an erasure).
    pub record_id: Option<String>,
}

/// Every ending of one patron's yes for one partner, oldest first.
/// `answers` are theirs about that partner, in the order stored;
/// `erased_at` is `Some` when the patron was erased (with the time, when
/// the erasure log kept one). Nothing listed after `now`.
pub fn endings(answers: &[Answer], erased_at: Option<Option<i64>>, now: Timestamp) -> Vec<Ended> {
    let mut in_order: Vec<&Answer> = answers.iter().collect();
    in_order.sort_unstable_by_key(|a| a.decided.seq);
    let now_ms = now.unix_millis();
    // Every moment the answer in force may change: an answer taking
    // effect, a yes reaching its end.
    let mut moments: Vec<i64> = in_order
        .iter()
        .map(|a| a.decided.effective_at_ms)
        .chain(
            in_order
                .iter()
                .filter(|a| a.state == DecisionState::Given)
                .filter_map(|a| a.valid_until_ms),
        )
        .filter(|&t| t <= now_ms)
        .collect();
    moments.sort_unstable();
    moments.dedup();
    let mut out = Vec::new();
    let mut active = false;
    for t in moments {
        let in_effect: Vec<&Answer> = in_order
            .iter()
            .copied()
            .filter(|a| a.decided.effective_at_ms <= t)
            .collect();
        let Some(&i) = current::current(&in_effect, Timestamp::MAX).first() else {
            continue;
        };
        let answer = in_effect[i];
        let lapsed = answer.valid_until_ms.is_some_and(|v| v <= t);
        let now_active = answer.state == DecisionState::Given && !lapsed;
        if active && !now_active {
            let known = in_effect
                .iter()
                .map(|a| a.received_at_ms)
                .max()
                .unwrap_or(t)
                .max(t);
            let (reason, record_id) = match answer.state {
                DecisionState::Given => (Reason::Lapsed, None),
                DecisionState::Refused => (Reason::Refused, Some(answer.decided.record_id.clone())),
                DecisionState::Withdrawn | DecisionState::Deferred => {
                    (Reason::Withdrawn, Some(answer.decided.record_id.clone()))
                }
            };
            out.push(Ended {
                reason,
                ended_at: Timestamp::from_unix_millis(t),
                listed_at: Timestamp::from_unix_millis(known),
                record_id,
            });
        }
        active = now_active;
    }
    let ever_yes = in_order.iter().any(|a| a.state == DecisionState::Given);
    if let (Some(at), true) = (erased_at, ever_yes) {
        // An erasure from before the log kept its time counts from the
        // last answer's arrival: the earliest it can have happened.
        let last = in_order.iter().map(|a| a.received_at_ms).max().unwrap_or(0);
        let at = at.unwrap_or(last);
        out.push(Ended {
            reason: Reason::Erased,
            ended_at: Timestamp::from_unix_millis(at),
            listed_at: Timestamp::from_unix_millis(at),
            record_id: None,
        });
    }
    out
}

/// A partner's suppression rows, in subject order: every record about the
/// partner, mapped or erased, with the erasure's time when there is one.
pub const SUPPRESSION_ROWS_SQL: &str =
    "SELECT r.seq, r.record_id, r.partner_id, r.effective_at_ms, r.supersedes,
            r.subject, r.body, r.received_at_ms, s.customer_id, e.subject, x.at_ms
     FROM consent_records r
     LEFT JOIN subjects s ON s.subject = r.subject
     LEFT JOIN erased_subjects e ON e.subject = r.subject
     LEFT JOIN erasures x ON x.id = e.erasure_id
     WHERE r.partner_id = ?1
     ORDER BY r.subject, r.seq";

/// One row of [`SUPPRESSION_ROWS_SQL`].
#[derive(Clone, Debug)]
pub struct SuppressionRow {
    pub decided: Decided,
    pub subject: String,
    pub body: String,
    pub received_at_ms: i64,
    /// None once erased.
    pub customer_id: Option<String>,
    /// The subject, when it is among the erased.
    pub erased: Option<String>,
    pub erased_at_ms: Option<i64>,
}

/// A [`SuppressionRow`] from a row of [`SUPPRESSION_ROWS_SQL`], with `$get`
/// the driver's column getter.
#[macro_export]
#[doc(hidden)]
macro_rules! suppression_row_of {
    ($row:expr, $get:ident) => {
        $crate::suppress::SuppressionRow {
            decided: $crate::decided_of!($row, $get),
            subject: $row.$get(5)?,
            body: $row.$get(6)?,
            received_at_ms: $row.$get(7)?,
            customer_id: $row.$get(8)?,
            erased: $row.$get(9)?,
            erased_at_ms: $row.$get(10)?,
        }
    };
}

/// One line of the feed: who (the partner's reference; the customer id
/// too while the patron is not erased), and how their yes ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    pub reference: String,
    pub customer_id: Option<String>,
    pub ended: Ended,
}

/// What of a stored body the feed reads.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StateOf {
    state: DecisionState,
    valid_until: Option<Timestamp>,
}

/// Groups the feed's rows by patron and yields each one's endings. Holds
/// one patron's rows at a time.
#[derive(Debug)]
pub struct SuppressionGroups {
    partner_id: String,
    now: Timestamp,
    rows: BySubject<SuppressionRow>,
}

impl OfSubject for SuppressionRow {
    fn subject(&self) -> &str {
        &self.subject
    }
}

impl SuppressionGroups {
    pub fn new(partner_id: String, now: Timestamp) -> Self {
        SuppressionGroups {
            partner_id,
            now,
            rows: BySubject::default(),
        }
    }

    /// Takes the next row; when it starts another patron, the previous
    /// one's endings.
    pub fn push(&mut self, row: SuppressionRow) -> Result<Vec<Suppression>, crate::DbError> {
        match self.rows.push(row) {
            Some(done) => self.endings_of(done),
            None => Ok(Vec::new()),
        }
    }

    /// The last patron's endings.
    pub fn finish(mut self) -> Result<Vec<Suppression>, crate::DbError> {
        let rows = std::mem::take(&mut self.rows).finish();
        self.endings_of(rows)
    }

    /// One patron's endings.
    fn endings_of(&self, rows: Vec<SuppressionRow>) -> Result<Vec<Suppression>, crate::DbError> {
        let Some(first) = rows.first() else {
            return Ok(Vec::new());
        };
        let subject = first.subject.clone();
        let customer_id = first.customer_id.clone();
        let erased = first.erased.is_some().then_some(first.erased_at_ms);
        let answers = rows
            .into_iter()
            .map(|row| {
                let body: StateOf = serde_json::from_str(&row.body).map_err(|e| {
                    crate::DbError::Corrupt(format!(
                        "record {}: stored body does not parse: {e}",
                        row.decided.record_id
                    ))
                })?;
                Ok(Answer {
                    decided: row.decided,
                    received_at_ms: row.received_at_ms,
                    state: body.state,
                    valid_until_ms: body.valid_until.map(Timestamp::unix_millis),
                })
            })
            .collect::<Result<Vec<_>, crate::DbError>>()?;
        let reference = crate::ledger::partner_reference(&self.partner_id, &subject);
        Ok(endings(&answers, erased, self.now)
            .into_iter()
            .map(|ended| Suppression {
                reference: reference.clone(),
                customer_id: customer_id.clone(),
                ended,
            })
            .collect())
    }
}

/// Where a suppression feed's rows go.
pub type SuppressionSink = tokio::sync::mpsc::Sender<Suppression>;

#[cfg(test)]
mod tests {
    use super::*;
    use DecisionState::*;

    const DAY: i64 = 86_400_000;

    /// A name, the answers, the erasure, the endings expected.
    type Case = (
        &'static str,
        Vec<Answer>,
        Option<Option<i64>>,
        Vec<(Reason, i64, i64)>,
    );

    /// An answer stored `seq`th, decided on `day`, arriving `late` days after.
    fn answer(seq: i64, state: DecisionState, day: i64, late: i64, until: Option<i64>) -> Answer {
        Answer {
            decided: Decided {
                seq,
                record_id: format!("r{seq}"),
                partner_id: "p".into(),
                effective_at_ms: day * DAY,
                supersedes: None,
            },
            received_at_ms: (day + late) * DAY,
            state,
            valid_until_ms: until.map(|d| d * DAY),
        }
    }

    fn reasons(ended: &[Ended]) -> Vec<(Reason, i64, i64)> {
        ended
            .iter()
            .map(|e| {
                (
                    e.reason,
                    e.ended_at.unix_millis() / DAY,
                    e.listed_at.unix_millis() / DAY,
                )
            })
            .collect()
    }

    #[test]
    fn each_way_a_yes_ends() {
        let now = Timestamp::from_unix_millis(100 * DAY);
        let cases: Vec<Case> = vec![
            (
                "a yes that stands",
                vec![answer(1, Given, 1, 0, None)],
                None,
                vec![],
            ),
            (
                "withdrawn",
                vec![
                    answer(1, Given, 1, 0, None),
                    answer(2, Withdrawn, 5, 0, None),
                ],
                None,
                vec![(Reason::Withdrawn, 5, 5)],
            ),
            (
                "yes then no",
                vec![answer(1, Given, 1, 0, None), answer(2, Refused, 5, 0, None)],
                None,
                vec![(Reason::Refused, 5, 5)],
            ),
            (
                "a no that was never a yes",
                vec![
                    answer(1, Refused, 1, 0, None),
                    answer(2, Withdrawn, 5, 0, None),
                ],
                None,
                vec![],
            ),
            (
                "lapsed",
                vec![answer(1, Given, 1, 0, Some(30))],
                None,
                vec![(Reason::Lapsed, 30, 30)],
            ),
            (
                "not lapsed yet",
                vec![answer(1, Given, 1, 0, Some(300))],
                None,
                vec![],
            ),
            (
                "renewed before it lapsed",
                vec![
                    answer(1, Given, 1, 0, Some(30)),
                    answer(2, Given, 20, 0, None),
                ],
                None,
                vec![],
            ),
            (
                "a withdrawal decided offline is listed when it arrives",
                vec![
                    answer(1, Given, 1, 0, None),
                    answer(2, Withdrawn, 5, 3, None),
                ],
                None,
                vec![(Reason::Withdrawn, 5, 8)],
            ),
            (
                "yes, no, yes, lapse",
                vec![
                    answer(1, Given, 1, 0, None),
                    answer(2, Withdrawn, 5, 0, None),
                    answer(3, Given, 7, 0, Some(9)),
                ],
                None,
                vec![(Reason::Withdrawn, 5, 5), (Reason::Lapsed, 9, 9)],
            ),
            (
                "erased after a yes",
                vec![answer(1, Given, 1, 0, None)],
                Some(Some(40 * DAY)),
                vec![(Reason::Erased, 40, 40)],
            ),
            (
                "erased after a withdrawal: still told to delete",
                vec![
                    answer(1, Given, 1, 0, None),
                    answer(2, Withdrawn, 5, 0, None),
                ],
                Some(Some(40 * DAY)),
                vec![(Reason::Withdrawn, 5, 5), (Reason::Erased, 40, 40)],
            ),
            (
                "erased, never a yes: nothing for this partner",
                vec![answer(1, Refused, 1, 0, None)],
                Some(Some(40 * DAY)),
                vec![],
            ),
        ];
        for (name, answers, erased, want) in cases {
            assert_eq!(reasons(&endings(&answers, erased, now)), want, "{name}");
        }
    }

    #[test]
    fn a_superseded_yes_never_counted() {
        let now = Timestamp::from_unix_millis(100 * DAY);
        let mut correction = answer(2, Refused, 3, 0, None);
        correction.decided.supersedes = Some("r1".into());
        let answers = vec![answer(1, Given, 1, 0, None), correction];
        // Until the correction arrived the yes was in force; then it ends.
        assert_eq!(
            reasons(&endings(&answers, None, now)),
            vec![(Reason::Refused, 3, 3)]
        );
        let ended = endings(&answers, None, now);
        assert_eq!(ended[0].record_id.as_deref(), Some("r2"));
    }
}
