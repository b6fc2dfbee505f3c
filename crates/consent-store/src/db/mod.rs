//! SQLite storage: an append-only, hash-chained table of consent records.
//!
//! One writer connection and a small pool of reader connections, each
//! behind a `std::sync::Mutex`. Every method blocks: call them from
//! `tokio::task::spawn_blocking`. In WAL mode readers never wait for the
//! writer, and readers run side by side. A batch is one `BEGIN IMMEDIATE`
//! transaction, so there is one writer of the ledger's head at a time.
//!
//! Layout (migration 2): `consent_records` holds each record's body as
//! stored (its `customerId` replaced by the customer's subject, see
//! [`crate::ledger`]), its chain hash, and the columns reads need;
//! `subjects` maps a customer id to its subject and salt; `api_keys` holds
//! key hashes. The view `customer_records` shows records with their
//! customer id, for people inspecting the file.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use consent_core::wire::{ConsentRecordV1, PreferenceV1};
use consent_core::Timestamp;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::ledger::{self, Head};
use crate::rules::{self, Answers, ContactGroups, ContactRow, ExportRow};
pub use crate::rules::{
    current_per_partner, preference_of, read_record, stored_body, BatchOutcome, Decided, Erasure,
    ErasureKind, NewRecord, RetentionPlan,
};

pub use crate::error::DbError;

mod erasure;
mod feeds;
mod keys;
mod schema;
mod write;

pub use erasure::{erasures, retention_plan};
pub(crate) use schema::{
    api_keys_table, AFTER_CHECKOUT_PG, CUSTOMER_ACTIVITY_PG, ERASURE_LEDGER_PG,
};
use schema::{migrate, MIGRATIONS};
use write::{ledger_state, queue_events, write_planned};

/// Reader connections in the pool.
const READERS: usize = 4;

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// The database: one writer and a pool of readers.
pub struct Db {
    path: std::path::PathBuf,
    writer: Mutex<Connection>,
    /// Scrubs after erasures (checkpoints that never wait).
    scrubber: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Whether writes queue webhook events (the host has a receiver).
    notify: AtomicBool,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").finish_non_exhaustive()
    }
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock rolled its transaction back when the
    // `Transaction` dropped, so the connection is still usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn configure(conn: &Connection) -> Result<(), DbError> {
    conn.busy_timeout(Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(journal_mode = %mode, "SQLite did not switch to WAL");
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Deletes fire delete triggers even when a conflict resolution does
    // them, and deleted bytes are overwritten rather than left in free pages.
    conn.pragma_update(None, "recursive_triggers", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    // The WAL is cut back to this size after a checkpoint, so it does not
    // keep the pages of old transactions (erased values among them).
    conn.pragma_update(None, "journal_size_limit", 16 * 1024 * 1024)?;
    Ok(())
}

fn decided_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Decided> {
    Ok(crate::decided_of!(r, get))
}

/// Which of `ids` are stored, in one query (works on a read-only
/// connection: an import's dry run).
pub fn stored_ids(conn: &Connection, ids: &[String]) -> Result<Vec<String>, DbError> {
    let list = serde_json::to_string(ids)
        .map_err(|e| DbError::Corrupt(format!("a record id list: {e}")))?;
    let mut stmt = conn.prepare_cached(rules::STORED_IDS_SQL)?;
    let rows = stmt.query_map([list], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A partner export's rows, in subject order, for [`ContactGroups`].
pub(crate) const CONTACT_ROWS_SQL: &str =
    "SELECT r.seq, r.record_id, r.partner_id, r.effective_at_ms, r.supersedes,
            r.subject, s.customer_id, r.body, r.received_at_ms, s.salt,
            c.email, c.phone, c.postal
     FROM consent_records r JOIN subjects s ON s.subject = r.subject
     LEFT JOIN contacts c ON c.customer_id = s.customer_id
     WHERE r.partner_id = ?1
     ORDER BY r.subject, r.seq";

impl Db {
    /// Opens (creating if needed) the database file and its parent directory,
    /// and brings the schema up to date.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        migrate(&mut writer)?;
        let scrubber = Connection::open(path)?;
        configure(&scrubber)?;
        // Never waits: a checkpoint waiting on a reader holds writers back.
        scrubber.busy_timeout(Duration::ZERO)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open(path)?;
            configure(&reader)?;
            reader.pragma_update(None, "query_only", "ON")?;
            readers.push(Mutex::new(reader));
        }
        Ok(Db {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            scrubber: Mutex::new(scrubber),
            readers,
            next_reader: AtomicUsize::new(0),
            notify: AtomicBool::new(false),
        })
    }

    /// Whether writes queue webhook events.
    pub fn notifies(&self) -> bool {
        self.notify.load(Ordering::Relaxed)
    }

    /// Turns the queueing of webhook events on or off.
    pub fn set_notify(&self, on: bool) {
        self.notify.store(on, Ordering::Relaxed);
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens a file read-only, without migrating it (for `verify`).
    pub fn open_read_only(path: &Path) -> Result<Connection, DbError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version as usize != SCHEMA_VERSION {
            return Err(DbError::Corrupt(format!(
                "schema version {version}, this build reads {SCHEMA_VERSION}: start the host on it once to migrate"
            )));
        }
        Ok(conn)
    }

    /// A free reader if there is one, else the next in turn.
    pub(crate) fn reader(&self) -> MutexGuard<'_, Connection> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.readers.len() {
            if let Ok(guard) = self.readers[(start + i) % self.readers.len()].try_lock() {
                return guard;
            }
        }
        lock(&self.readers[start % self.readers.len()])
    }

    /// A trivial query, for health checks.
    pub fn ping(&self) -> Result<(), DbError> {
        let conn = self.reader();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version as usize != SCHEMA_VERSION {
            return Err(DbError::Corrupt(format!("schema version is {version}")));
        }
        Ok(())
    }

    /// Stores a batch in one transaction: every new record, or none. Each
    /// new record is chained to the one before it.
    pub fn insert_batch(
        &self,
        records: &[NewRecord],
        received_at: Timestamp,
    ) -> Result<BatchOutcome, DbError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut state = ledger_state(&tx, records)?;
        let planned = rules::plan_batch(&mut state, records, received_at, &mut rules::random_salt)?;
        if let BatchOutcome::Stored(stored) = &planned.outcome {
            write_planned(&tx, &planned)?;
            if self.notifies() {
                queue_events(
                    &tx,
                    &crate::events::batch_events(records, stored, received_at)?,
                )?;
            }
            tx.commit()?;
        } // else: dropping `tx` without commit rolls the batch back.
        Ok(planned.outcome)
    }

    /// The subject and salt of a customer, if any record of theirs was
    /// ever stored (and they were not erased).
    fn subject_of(
        conn: &Connection,
        customer_id: &str,
    ) -> Result<Option<(String, Vec<u8>)>, DbError> {
        Ok(conn
            .prepare_cached("SELECT subject, salt FROM subjects WHERE customer_id = ?1")?
            .query_row([customer_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// Every record of a customer, oldest first (by insertion), with `receivedAt`.
    pub fn records_for(&self, customer_id: &str) -> Result<Vec<ConsentRecordV1>, DbError> {
        let conn = self.reader();
        let Some((subject, salt)) = Self::subject_of(&conn, customer_id)? else {
            return Ok(Vec::new());
        };
        let mut stmt = conn.prepare_cached(
            "SELECT body, received_at_ms FROM consent_records WHERE subject = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([&subject], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (body, received_at_ms) = row?;
            out.push(read_record(&body, received_at_ms, customer_id, &salt)?);
        }
        Ok(out)
    }

    /// A customer's current record per partner, sorted by partner id.
    ///
    /// A decision counts at the earlier of its `decidedAt` and the moment
    /// the host received it, so no client clock can place it later; a
    /// record that another record `supersedes` is never current; among the
    /// rest the latest wins, the later insertion breaking a tie. Reads one
    /// narrow row per record and one body per partner.
    pub fn current_records(&self, customer_id: &str) -> Result<Vec<ConsentRecordV1>, DbError> {
        let conn = self.reader();
        let Some((subject, salt)) = Self::subject_of(&conn, customer_id)? else {
            return Ok(Vec::new());
        };
        let rows: Vec<Decided> = {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, record_id, partner_id, effective_at_ms, supersedes
                 FROM consent_records WHERE subject = ?1",
            )?;
            let rows = stmt.query_map([&subject], decided_row)?;
            rows.collect::<Result<_, _>>()?
        };
        let mut body_of =
            conn.prepare_cached("SELECT body, received_at_ms FROM consent_records WHERE seq = ?1")?;
        current_per_partner(&rows)
            .into_iter()
            .map(|seq| {
                let (body, received_at_ms): (String, i64) =
                    body_of.query_row([seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
                read_record(&body, received_at_ms, customer_id, &salt)
            })
            .collect()
    }

    /// A customer's current answer per partner (see [`Db::current_records`]).
    pub fn preferences(&self, customer_id: &str) -> Result<Vec<PreferenceV1>, DbError> {
        Ok(self
            .current_records(customer_id)?
            .into_iter()
            .map(preference_of)
            .collect())
    }

    /// Streams the customers whose current answer for `partner_id` is a
    /// `given` that has not lapsed by `now`, in subject order, calling
    /// `emit` for each; `emit` returns false to stop (the reader went
    /// away). Holds one customer's rows for the partner at a time, so an
    /// export of any size runs in constant memory. Erased customers (no
    /// subject mapping) are never listed.
    pub fn partner_contacts(
        &self,
        partner_id: &str,
        now: Timestamp,
        answers: Answers,
        mut emit: impl FnMut(ExportRow) -> bool,
    ) -> Result<(), DbError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(CONTACT_ROWS_SQL)?;
        let mut rows = stmt.query([partner_id])?;
        let mut groups = ContactGroups::listing(now, answers);
        while let Some(row) = rows.next()? {
            let row: ContactRow = crate::contact_row_of!(row, get);
            if let Some(contact) = groups.push(row)? {
                if !emit(contact) {
                    return Ok(());
                }
            }
        }
        if let Some(contact) = groups.finish()? {
            emit(contact);
        }
        Ok(())
    }

    /// How many records are stored (all customers).
    pub fn count(&self) -> Result<u64, DbError> {
        let conn = self.reader();
        let n: i64 =
            conn.query_row("SELECT COUNT(*) FROM consent_records", [], |row| row.get(0))?;
        Ok(n as u64)
    }

    /// The ledger's count and head as stored.
    pub fn ledger_head(&self) -> Result<Head, DbError> {
        Ok(ledger::stored_head(&self.reader())?)
    }
}
