//! Erasure and retention on SQLite: dropping mappings in one transaction,
//! the log, and the scrub of what the WAL still holds.

use consent_core::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::{lock, Db, DbError};
use crate::activity::RetentionGroups;
use crate::rules::{Erasure, Retention, RetentionPlan};
use crate::{activity, contacts, events};

/// Drops the subject mappings of `customer_ids` inside `tx`, logs the
/// erasure (counts only, and the key that asked) and keeps each erased
/// subject, a pseudonym nobody can link to the patron any more. Returns
/// the erased customers' record count.
fn erase_in(
    tx: &Transaction<'_>,
    customer_ids: &[String],
    run: &Erasure,
    notify: bool,
) -> Result<u64, DbError> {
    let mut records = 0u64;
    let mut subjects = Vec::new();
    let mut told = Vec::new();
    for id in customer_ids {
        let subject: Option<String> = tx
            .prepare_cached("DELETE FROM subjects WHERE customer_id = ?1 RETURNING subject")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        let had_contact = tx.prepare_cached(contacts::DELETE_SQL)?.execute([id])? > 0;
        tx.prepare_cached(activity::DELETE_SQL)?.execute([id])?;
        tx.prepare_cached(events::FORGET_SQL)?.execute([id])?;
        let n: i64 = match &subject {
            Some(subject) => tx
                .prepare_cached("SELECT COUNT(*) FROM consent_records WHERE subject = ?1")?
                .query_row([subject], |r| r.get(0))?,
            None => 0,
        };
        if notify && (subject.is_some() || had_contact) {
            told.push(events::erased_event(id, run.kind, n as u64, run.at)?);
        }
        let Some(subject) = subject else { continue };
        records += n as u64;
        subjects.push(subject);
    }
    super::write::queue_events(tx, &told)?;
    tx.execute(
        "INSERT INTO erasures (at_ms, kind, by_whom, customers, records, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            run.at.unix_millis(),
            run.kind.as_str(),
            run.by,
            subjects.len() as i64,
            records as i64,
            run.detail.to_string()
        ],
    )?;
    let erasure = tx.last_insert_rowid();
    for subject in &subjects {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO erased_subjects (subject, erasure_id) VALUES (?1, ?2)",
        )?
        .execute(params![subject, erasure])?;
    }
    Ok(records)
}

/// One try at moving the WAL's content into the main file and truncating
/// the WAL, so erased bytes do not linger there. `scrubber` has no busy
/// wait: a TRUNCATE checkpoint that waits holds new writers back, so it
/// gives up at once while a reader's snapshot pins the WAL, and is tried
/// again later. True when the WAL is empty.
fn try_checkpoint_truncate(scrubber: &Connection) -> Result<bool, DbError> {
    let result = scrubber.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    });
    match result {
        Ok(busy) => Ok(busy == 0),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Customers whose last activity ([`crate::activity::last_activity`]) is
/// before `cutoff`, and what they hold. Reads only; works on a read-only
/// connection.
pub fn retention_plan(conn: &Connection, cutoff: Timestamp) -> Result<RetentionPlan, DbError> {
    let mut stmt = conn.prepare(activity::RETENTION_ROWS_SQL)?;
    let mut rows = stmt.query([])?;
    let mut groups = RetentionGroups::new(cutoff);
    while let Some(row) = rows.next()? {
        groups.push(crate::retention_row_of!(row, get));
    }
    Ok(groups.finish())
}

/// Every erasure and retention run, oldest first: when, kind, by whom,
/// how many customers and records, and the scrub's state. The log holds
/// no customer id. Reads only; works on a read-only connection
/// (`consent-host erasures list`).
pub fn erasures(conn: &Connection) -> Result<Vec<serde_json::Value>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT at_ms, kind, by_whom, customers, records, detail, scrubbed_at_ms
         FROM erasures ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| Ok(crate::erasure_entry_of!(r, get)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Db {
    /// [`retention_plan`] on a reader connection.
    pub fn retention_plan(&self, cutoff: Timestamp) -> Result<RetentionPlan, DbError> {
        retention_plan(&self.reader(), cutoff)
    }

    /// Erases customers: drops each one's subject mapping (their id and
    /// salt) in one transaction and logs the erasure without any id. Their
    /// records stay, unlinkable, and the ledger still verifies. The erased
    /// values can still sit in the WAL until [`Db::scrub_step`] succeeds:
    /// the erasure is logged as pending until then. Returns how many
    /// records the erased customers had.
    pub fn erase(&self, customer_ids: &[String], run: &Erasure) -> Result<u64, DbError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let records = erase_in(&tx, customer_ids, run, self.notifies())?;
        tx.commit()?;
        Ok(records)
    }

    /// Anonymises, in one transaction, exactly the customers with no
    /// activity since `cutoff` (as [`retention_plan`] reports them), forgets
    /// the contacts and activity left without a patron, and logs the run.
    /// Returns the plan that was carried out.
    pub fn run_retention(&self, run: &Retention) -> Result<RetentionPlan, DbError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let plan = retention_plan(&tx, run.cutoff)?;
        erase_in(
            &tx,
            &plan.customer_ids(),
            &run.erasure(&plan),
            self.notifies(),
        )?;
        tx.execute(contacts::STALE_SQL, [run.cutoff.unix_millis()])?;
        tx.execute(activity::STALE_SQL, [run.cutoff.unix_millis()])?;
        tx.commit()?;
        Ok(plan)
    }

    /// One try at scrubbing what erasures left in the WAL: if any erasure
    /// is pending, a TRUNCATE checkpoint that does not wait for readers
    /// (so writers are never held back); if the WAL is then empty, the
    /// erasures pending before it are marked scrubbed at `now`. True when
    /// nothing is left pending.
    pub fn scrub_step(&self, now: Timestamp) -> Result<bool, DbError> {
        let pending: Option<i64> = self.reader().query_row(
            "SELECT MAX(id) FROM erasures WHERE scrubbed_at_ms IS NULL",
            [],
            |r| r.get(0),
        )?;
        let Some(upto) = pending else { return Ok(true) };
        if !try_checkpoint_truncate(&lock(&self.scrubber))? {
            return Ok(false);
        }
        lock(&self.writer).execute(
            "UPDATE erasures SET scrubbed_at_ms = ?1 WHERE id <= ?2 AND scrubbed_at_ms IS NULL",
            params![now.unix_millis(), upto],
        )?;
        Ok(true)
    }

    /// Every erasure and retention run, oldest first (see [`erasures`]).
    pub fn erasures(&self) -> Result<Vec<serde_json::Value>, DbError> {
        erasures(&self.reader())
    }
}
