//! A patron's activity at the venue, and retention by it.
//!
//! The venue's server reports what a patron does (a purchase, a booking,
//! a place on a waiting list, a login, a click in a mailing:
//! [`ActivityKind`]), through `POST /api/v1/customers/{id}/activity` or
//! a checkout token's `activity` claim. The host keeps each patron's
//! latest only, in `customer_activity`, beside the ledger and never in a
//! hashed body: an erasure deletes the row.
//!
//! A retention run anonymises the patrons whose **last activity** is
//! before its cutoff ([`last_activity`]): the latest of their stored
//! activity, the receipt of each of their records that is still a current
//! yes, and, as a floor, the receipt of their first record (when they
//! became known). A refusal or a withdrawal never moves it: saying no
//! must not keep a patron's data longer. Both drivers feed
//! [`RetentionGroups`] the rows of one query ([`RETENTION_ROWS_SQL`]), in
//! subject order, one patron at a time.
//!
//! The SQL here is shared (`?n` placeholders; PostgreSQL's through
//! [`crate::events::pg_placeholders`]).

use consent_core::wire::{ActivityKind, ActivityV1};
use consent_core::Timestamp;

use crate::error::DbError;
use crate::rules::{current_per_partner, BySubject, Decided, OfSubject, RetentionPlan};

/// Keeps activities, each if it is later than the one kept for its
/// patron (or the first), from the rows `$rows` gives.
macro_rules! keep_activity {
    ($rows:literal) => {
        concat!(
            "INSERT INTO customer_activity (customer_id, last_at_ms, kind) ",
            $rows,
            " ON CONFLICT (customer_id) DO UPDATE
                  SET last_at_ms = excluded.last_at_ms, kind = excluded.kind
                  WHERE excluded.last_at_ms > customer_activity.last_at_ms"
        )
    };
}

/// Keeps one activity: `?1` customer id, `?2` time in ms, `?3` kind.
pub const UPSERT_SQL: &str = keep_activity!("VALUES (?1, ?2, ?3)");

/// Keeps many in one PostgreSQL statement, from arrays of the same three
/// columns (one row per customer: a statement cannot update a row twice).
pub const UPSERT_MANY_PG: &str =
    keep_activity!("SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])");

/// A patron's latest activity.
pub const SELECT_SQL: &str =
    "SELECT last_at_ms, kind FROM customer_activity WHERE customer_id = ?1";

/// Forgets a patron's activity (an erasure).
pub const DELETE_SQL: &str = "DELETE FROM customer_activity WHERE customer_id = ?1";

/// Forgets the activity a retention run leaves without a patron: older
/// than the cutoff `?1`, of customers with no record (erased, or who never
/// answered), as `contacts::STALE_SQL` does their contacts.
pub const STALE_SQL: &str = "DELETE FROM customer_activity WHERE last_at_ms < ?1
     AND customer_id NOT IN (SELECT customer_id FROM subjects)";

/// The retention query, but for how a dialect reads a body's `state`.
macro_rules! retention_rows {
    ($given:literal) => {
        concat!(
            "SELECT r.seq, r.record_id, r.partner_id, r.effective_at_ms, r.supersedes,
                    s.subject, s.customer_id, r.received_at_ms, ",
            $given,
            ", a.last_at_ms
             FROM subjects s JOIN consent_records r ON r.subject = s.subject
             LEFT JOIN customer_activity a ON a.customer_id = s.customer_id
             ORDER BY s.subject, r.seq"
        )
    };
}

/// Every record of every patron still mapped, in subject order, with
/// whether it says `given` and the patron's stored activity: the columns
/// of [`retention_row_of!`](crate::retention_row_of). SQLite's dialect.
pub const RETENTION_ROWS_SQL: &str = retention_rows!("json_extract(r.body, '$.state') = 'given'");
/// [`RETENTION_ROWS_SQL`] in PostgreSQL's dialect.
pub const RETENTION_ROWS_PG: &str = retention_rows!("(r.body::json ->> 'state') = 'given'");

/// A stored row as an activity.
pub fn of_columns(last_at_ms: i64, kind: &str) -> Result<ActivityV1, DbError> {
    let kind = ActivityKind::parse(kind)
        .ok_or_else(|| DbError::Corrupt(format!("an unknown activity kind is stored: {kind}")))?;
    Ok(ActivityV1 {
        kind,
        at: Timestamp::from_unix_millis(last_at_ms),
    })
}

/// An activity the host keeps for a patron: its time is the earlier of
/// the one sent and its arrival, so a server clock running fast cannot
/// keep a patron's data longer.
pub fn kept(activity: ActivityV1, received_at: Timestamp) -> ActivityV1 {
    ActivityV1 {
        at: activity.at.min(received_at),
        ..activity
    }
}

/// One of a patron's records, as retention weighs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Weighed {
    pub decided: Decided,
    pub received_at_ms: i64,
    /// Whether the record says `given`.
    pub given: bool,
}

/// A patron's last activity: the latest of `stored` (what the venue
/// reported), the receipt of each record that is still a current yes (the
/// current answer for its partner, by the one rule of
/// [`current_per_partner`], and a `given`), and the receipt of the first
/// record. A refusal, a withdrawal or a superseded yes adds nothing. None
/// for a patron with neither records nor activity.
pub fn last_activity(records: &[Weighed], stored: Option<Timestamp>) -> Option<Timestamp> {
    let decided: Vec<Decided> = records.iter().map(|r| r.decided.clone()).collect();
    let current = current_per_partner(&decided);
    let first = records.iter().map(|r| r.received_at_ms).min();
    let latest_yes = records
        .iter()
        .filter(|r| r.given && current.contains(&r.decided.seq))
        .map(|r| r.received_at_ms)
        .max();
    [first, latest_yes, stored.map(Timestamp::unix_millis)]
        .into_iter()
        .flatten()
        .max()
        .map(Timestamp::from_unix_millis)
}

/// One row of the retention query ([`RETENTION_ROWS_SQL`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionRow {
    pub record: Weighed,
    pub subject: String,
    pub customer_id: String,
    /// The patron's stored activity, in ms (the same on each of their rows).
    pub activity_at_ms: Option<i64>,
}

/// Groups the retention query's rows by patron and adds to a plan each
/// patron whose last activity is before the cutoff, with their records
/// per partner. Holds one patron's rows at a time.
#[derive(Debug)]
pub struct RetentionGroups {
    cutoff: Timestamp,
    plan: RetentionPlan,
    rows: BySubject<RetentionRow>,
}

impl OfSubject for RetentionRow {
    fn subject(&self) -> &str {
        &self.subject
    }
}

impl RetentionGroups {
    pub fn new(cutoff: Timestamp) -> Self {
        RetentionGroups {
            cutoff,
            plan: RetentionPlan {
                cutoff: Some(cutoff),
                ..RetentionPlan::default()
            },
            rows: BySubject::default(),
        }
    }

    /// Takes the next row (rows come in subject order).
    pub fn push(&mut self, row: RetentionRow) {
        if let Some(done) = self.rows.push(row) {
            self.add(done);
        }
    }

    /// The plan: every inactive patron, oldest last activity first.
    pub fn finish(mut self) -> RetentionPlan {
        let rows = std::mem::take(&mut self.rows).finish();
        self.add(rows);
        self.plan.customers.sort_unstable_by(|a, b| {
            (a.last_activity, &a.customer_id).cmp(&(b.last_activity, &b.customer_id))
        });
        self.plan
    }

    /// Adds one patron to the plan if their last activity is before the cutoff.
    fn add(&mut self, rows: Vec<RetentionRow>) {
        let Some(first) = rows.first() else { return };
        let (customer_id, stored) = (
            first.customer_id.clone(),
            first.activity_at_ms.map(Timestamp::from_unix_millis),
        );
        let records: Vec<Weighed> = rows.into_iter().map(|r| r.record).collect();
        let Some(last) = last_activity(&records, stored) else {
            return;
        };
        if last < self.cutoff {
            let partners = records.iter().map(|r| r.decided.partner_id.as_str());
            self.plan.push_customer(customer_id, last, partners);
        }
    }
}

/// A [`RetentionRow`] from a row of the retention query, with `$get` the
/// driver's column getter.
#[macro_export]
#[doc(hidden)]
macro_rules! retention_row_of {
    ($row:expr, $get:ident) => {
        $crate::activity::RetentionRow {
            record: $crate::activity::Weighed {
                decided: $crate::decided_of!($row, $get),
                received_at_ms: $row.$get(7)?,
                given: $row.$get(8)?,
            },
            subject: $row.$get(5)?,
            customer_id: $row.$get(6)?,
            activity_at_ms: $row.$get(9)?,
        }
    };
}
