//! The venue's webhook events, as pure rules: what a stored batch or an
//! erasure tells the venue's systems, the event's JSON (one declaration
//! per wire type), when a failed delivery is tried again, and the SQL of
//! the durable queue both drivers share.
//!
//! The queue (`webhook_events`) is written in the same transaction as
//! what it reports, so an event is never lost and never sent for a write
//! that rolled back. Instances claim due events with a lease
//! ([`CLAIM_SQL`]), so two never send one event while the lease holds;
//! a delivered event, or one given up, is deleted (the queue keeps no
//! personal data longer than it must). An erasure deletes the patron's
//! undelivered events before queueing `customer.erased`.

use consent_core::domain::{Channel, CollectionChannel, DecisionState};
use consent_core::wire::StoredV1;
use consent_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::DbError;
use crate::rules::{ErasureKind, NewRecord};

/// Records were stored (one event per customer in each stored batch).
pub const RECORDED: &str = "consent.recorded";
/// A stored record withdrew consent.
pub const WITHDRAWN: &str = "consent.withdrawn";
/// A customer was erased (a request, or a retention run).
pub const ERASED: &str = "customer.erased";

/// Every event: its unique id (a receiver drops repeats by it), its type,
/// when it was made, and what happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventV1<T> {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: Timestamp,
    pub data: T,
}

/// `consent.recorded`: what one customer's records in a stored batch say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordedV1 {
    pub customer_id: String,
    pub received_at: Timestamp,
    pub records: Vec<RecordedRecordV1>,
}

/// One record of a [`RecordedV1`] (or the record of a [`WithdrawnV1`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordedRecordV1 {
    pub record_id: String,
    pub partner_id: String,
    pub partner_name: String,
    pub state: DecisionState,
    pub channels: Vec<Channel>,
    pub decided_at: Timestamp,
    /// `web`, `box-office` or `phone`.
    pub collection_channel: CollectionChannel,
    /// The box-office or phone operator who entered it, if any: a venue
    /// sends the patron a confirmation of an operator-entered answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<String>,
}

/// `consent.withdrawn`: a patron withdrew consent from a partner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WithdrawnV1 {
    pub customer_id: String,
    pub received_at: Timestamp,
    pub record: RecordedRecordV1,
}

/// `customer.erased`: a patron's link to their records is gone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErasedV1 {
    pub customer_id: String,
    /// `request` or `retention`.
    pub reason: String,
    /// How many records the patron had (they stay, unlinkable).
    pub records: u64,
    pub erased_at: Timestamp,
}

/// An event to queue, in the transaction of what it reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    pub id: String,
    pub kind: &'static str,
    /// Whose event it is, so an erasure can delete it before delivery.
    pub customer_id: Option<String>,
    pub body: String,
    pub created_at_ms: i64,
}

/// An event claimed for delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedEvent {
    pub id: String,
    pub kind: String,
    pub body: String,
    /// Tries so far, this one included.
    pub attempts: i64,
    pub created_at: Timestamp,
}

/// What became of one delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settle {
    /// The receiver answered 2xx: the event is deleted.
    Delivered,
    /// It failed; try again at `at`.
    Retry { at: Timestamp, error: String },
    /// It failed for longer than the host keeps trying: deleted, and logged.
    GiveUp { error: String },
}

/// A fresh event id: `evt_` and 128 random bits in hex.
pub fn new_event_id() -> Result<String, DbError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| DbError::Corrupt(format!("no randomness for an event id: {e}")))?;
    Ok(format!("evt_{}", hex::encode(bytes)))
}

/// An event made now (the wall clock: the queue's retries and give-up
/// count from it, whatever clock stamped the records).
fn event<T: Serialize>(
    kind: &'static str,
    customer_id: &str,
    data: T,
) -> Result<NewEvent, DbError> {
    let at = crate::wall_now();
    let id = new_event_id()?;
    let body = serde_json::to_string(&EventV1 {
        id: id.clone(),
        kind: kind.to_owned(),
        created_at: at,
        data,
    })
    .map_err(|e| DbError::Corrupt(format!("an event does not serialise: {e}")))?;
    Ok(NewEvent {
        id,
        kind,
        customer_id: Some(customer_id.to_owned()),
        body,
        created_at_ms: at.unix_millis(),
    })
}

/// The events of a stored batch: per customer (in order of first
/// appearance) one `consent.recorded` for the records newly stored (not
/// the duplicates), and one `consent.withdrawn` per new withdrawal.
pub fn batch_events(
    records: &[NewRecord],
    stored: &StoredV1,
    received_at: Timestamp,
) -> Result<Vec<NewEvent>, DbError> {
    let new: Vec<&NewRecord> = records
        .iter()
        .filter(|r| {
            stored
                .stored
                .iter()
                .any(|s| s.record_id == r.record.record_id)
        })
        .collect();
    let mut customers: Vec<&str> = Vec::new();
    for r in &new {
        if !customers.contains(&r.record.customer_id.as_str()) {
            customers.push(&r.record.customer_id);
        }
    }
    let summary = |r: &NewRecord| RecordedRecordV1 {
        record_id: r.record.record_id.clone(),
        partner_id: r.record.partner.id.clone(),
        partner_name: r.record.partner.name.clone(),
        state: r.record.state,
        channels: r.record.channels.clone(),
        decided_at: r.record.decided_at,
        collection_channel: r.record.collection.channel,
        operator_id: r.record.collection.operator_id.clone(),
    };
    let mut events = Vec::new();
    for customer in customers {
        let theirs = || new.iter().filter(|r| r.record.customer_id == customer);
        let recorded = RecordedV1 {
            customer_id: customer.to_owned(),
            received_at,
            records: theirs().map(|r| summary(r)).collect(),
        };
        events.push(event(RECORDED, customer, recorded)?);
        for r in theirs().filter(|r| r.record.state == DecisionState::Withdrawn) {
            let withdrawn = WithdrawnV1 {
                customer_id: customer.to_owned(),
                received_at,
                record: summary(r),
            };
            events.push(event(WITHDRAWN, customer, withdrawn)?);
        }
    }
    Ok(events)
}

/// The `customer.erased` event of one erased patron.
pub fn erased_event(
    customer_id: &str,
    kind: ErasureKind,
    records: u64,
    at: Timestamp,
) -> Result<NewEvent, DbError> {
    let data = ErasedV1 {
        customer_id: customer_id.to_owned(),
        reason: kind.as_str().to_owned(),
        records,
        erased_at: at,
    };
    event(ERASED, customer_id, data)
}

/// How the queue retries: after the `n`th failed try, wait `first × 2ⁿ⁻¹`,
/// at most `longest`; stop once an event is older than `give_up_after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub first: std::time::Duration,
    pub longest: std::time::Duration,
    pub give_up_after: std::time::Duration,
}

impl Backoff {
    /// Ten seconds, doubling to an hour; given up after three days (so a
    /// receiver down over a weekend night still gets every event).
    pub const DEFAULT: Backoff = Backoff {
        first: std::time::Duration::from_secs(10),
        longest: std::time::Duration::from_secs(3600),
        give_up_after: std::time::Duration::from_secs(72 * 3600),
    };

    /// What to do after try `attempts` of an event made at `created` failed
    /// at `now`.
    pub fn after_failure(
        &self,
        attempts: i64,
        created: Timestamp,
        now: Timestamp,
        error: String,
    ) -> Settle {
        let age = now.unix_millis().saturating_sub(created.unix_millis());
        if age >= self.give_up_after.as_millis() as i64 {
            return Settle::GiveUp { error };
        }
        let exp = attempts.clamp(1, 31) as u32 - 1;
        let wait = self
            .first
            .saturating_mul(2u32.saturating_pow(exp))
            .min(self.longest);
        Settle::Retry {
            at: Timestamp::from_unix_millis(now.unix_millis() + wait.as_millis() as i64),
            error,
        }
    }
}

/// Queues an event (both drivers; `?` placeholders, PostgreSQL's `$n`
/// by [`pg_placeholders`]).
pub const INSERT_SQL: &str =
    "INSERT INTO webhook_events (id, kind, customer_id, body, created_at_ms, next_at_ms)
     VALUES (?1, ?2, ?3, ?4, ?5, ?5)";

/// Claims up to `?3` due events for `?2` milliseconds from `?1`, oldest
/// first, counting the try. `{lock}` is PostgreSQL's `FOR UPDATE SKIP
/// LOCKED` (so two instances claiming at once take different events);
/// SQLite runs it in a write transaction, which is as exclusive.
pub const CLAIM_SQL: &str = "UPDATE webhook_events
     SET claimed_until_ms = ?1 + ?2, attempts = attempts + 1
     WHERE seq IN (SELECT seq FROM webhook_events
                   WHERE next_at_ms <= ?1 AND (claimed_until_ms IS NULL OR claimed_until_ms <= ?1)
                   ORDER BY seq LIMIT ?3 {lock})
     RETURNING id, kind, body, attempts, created_at_ms, seq";

/// Deletes a delivered (or given up) event.
pub const DELETE_SQL: &str = "DELETE FROM webhook_events WHERE id = ?1";

/// Schedules the next try of a failed event and releases its claim.
pub const RETRY_SQL: &str = "UPDATE webhook_events
     SET next_at_ms = ?2, claimed_until_ms = NULL, last_error = ?3 WHERE id = ?1";

/// Deletes the undelivered events of an erased patron.
pub const FORGET_SQL: &str = "DELETE FROM webhook_events WHERE customer_id = ?1";

/// How many events wait, and the oldest one's age (for `/healthz` and logs).
pub const BACKLOG_SQL: &str = "SELECT COUNT(*), MIN(created_at_ms) FROM webhook_events";

/// A statement with SQLite's `?n` placeholders in PostgreSQL's `$n`.
pub fn pg_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// A `(seq, QueuedEvent)` from a row of [`CLAIM_SQL`]'s `RETURNING`, with
/// `$get` the driver's column getter.
#[macro_export]
#[doc(hidden)]
macro_rules! queued_event_of {
    ($row:expr, $get:ident) => {
        (
            $row.$get(5)?,
            $crate::events::QueuedEvent {
                id: $row.$get(0)?,
                kind: $row.$get(1)?,
                body: $row.$get(2)?,
                attempts: $row.$get(3)?,
                created_at: consent_core::Timestamp::from_unix_millis($row.$get(4)?),
            },
        )
    };
}

/// Orders claimed rows (`RETURNING` gives no order) and drops the `seq`.
pub fn in_queue_order(mut claimed: Vec<(i64, QueuedEvent)>) -> Vec<QueuedEvent> {
    claimed.sort_unstable_by_key(|(seq, _)| *seq);
    claimed.into_iter().map(|(_, e)| e).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{desk_record, record as web_record};

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    #[test]
    fn backoff_doubles_caps_and_gives_up() {
        let b = Backoff::DEFAULT;
        let cases = [
            (1, 0, Some(10_000)),
            (2, 0, Some(20_000)),
            (3, 0, Some(40_000)),
            (12, 0, Some(3_600_000)),
            (40, 0, Some(3_600_000)),
        ];
        for (attempts, age, wait) in cases {
            let now = at(1_000_000_000);
            let got = b.after_failure(attempts, at(now.unix_millis() - age), now, "x".into());
            match (got, wait) {
                (Settle::Retry { at: next, .. }, Some(w)) => {
                    assert_eq!(next.unix_millis() - now.unix_millis(), w, "try {attempts}")
                }
                (other, _) => panic!("try {attempts}: {other:?}"),
            }
        }
        let now = at(1_000_000_000_000);
        let old = at(now.unix_millis() - 72 * 3600 * 1000);
        assert!(matches!(
            b.after_failure(3, old, now, "down".into()),
            Settle::GiveUp { .. }
        ));
        let young = at(now.unix_millis() - 24 * 3600 * 1000);
        assert!(matches!(
            b.after_failure(30, young, now, "down".into()),
            Settle::Retry { .. }
        ));
    }

    #[test]
    fn a_batch_tells_each_customer_once_and_each_withdrawal() {
        let yes = web_record(1, "c-1", "p-1", DecisionState::Given, 1);
        let no = web_record(2, "c-1", "p-2", DecisionState::Withdrawn, 1);
        let again = web_record(3, "c-1", "p-3", DecisionState::Given, 1);
        let desk = desk_record(4, "c-2", "p-1", DecisionState::Refused, 1);
        let records: Vec<NewRecord> = [&yes, &no, &again, &desk]
            .into_iter()
            .cloned()
            .map(NewRecord::new)
            .collect();
        let stored = StoredV1 {
            stored: [&yes, &no, &desk]
                .iter()
                .map(|r| consent_core::wire::StoredRecordV1 {
                    record_id: r.record_id.clone(),
                    received_at: at(5),
                })
                .collect(),
            duplicates: vec![again.record_id.clone()],
        };
        let events = batch_events(&records, &stored, at(5)).unwrap();
        let kinds: Vec<(&str, Option<&str>)> = events
            .iter()
            .map(|e| (e.kind, e.customer_id.as_deref()))
            .collect();
        assert_eq!(
            kinds,
            [
                (RECORDED, Some("c-1")),
                (WITHDRAWN, Some("c-1")),
                (RECORDED, Some("c-2"))
            ]
        );
        let first: EventV1<RecordedV1> = serde_json::from_str(&events[0].body).unwrap();
        assert_eq!(first.id, events[0].id);
        let ids: Vec<&str> = first
            .data
            .records
            .iter()
            .map(|r| r.record_id.as_str())
            .collect();
        assert_eq!(ids, [yes.record_id.as_str(), no.record_id.as_str()]);
        let desk_event: EventV1<RecordedV1> = serde_json::from_str(&events[2].body).unwrap();
        assert_eq!(
            desk_event.data.records[0].operator_id.as_deref(),
            Some(crate::testing::DESK)
        );
        assert_eq!(
            desk_event.data.records[0].collection_channel,
            CollectionChannel::BoxOffice
        );
        let mut unique: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        unique.dedup();
        assert_eq!(unique.len(), 3);
    }

    #[test]
    fn placeholders_become_postgres_ones() {
        assert_eq!(
            pg_placeholders("a = ?1 AND b <= ?12 AND c = '?'"),
            "a = $1 AND b <= $12 AND c = '?'"
        );
    }
}
