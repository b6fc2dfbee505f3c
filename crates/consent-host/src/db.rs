//! SQLite storage: an append-only table of consent records.
//!
//! One writer connection and one reader connection, each behind a
//! `std::sync::Mutex`. Every method blocks: call them from
//! `tokio::task::spawn_blocking`. In WAL mode the reader never waits for the
//! writer, and a batch is one `BEGIN IMMEDIATE` transaction.

use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use consent_core::wire::{ConsentRecordV1, PreferenceV1, StoredRecordV1, StoredV1};
use consent_core::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// Schema migrations, applied in order at start-up. `PRAGMA user_version`
/// holds how many have run. Append only: never edit a published entry.
const MIGRATIONS: &[&str] = &[
    // 1: the append-only record table.
    r#"
    CREATE TABLE consent_records (
        record_id      TEXT    NOT NULL PRIMARY KEY,
        -- insertion order; explicit because VACUUM may renumber rowids
        seq            INTEGER NOT NULL UNIQUE,
        customer_id    TEXT    NOT NULL,
        partner_id     TEXT    NOT NULL,
        decided_at_ms  INTEGER NOT NULL,
        received_at_ms INTEGER NOT NULL,
        -- SHA-256 of body
        content_sha256 TEXT    NOT NULL CHECK (length(content_sha256) = 64),
        -- the record's canonical JSON, without receivedAt
        body           TEXT    NOT NULL CHECK (json_valid(body))
    ) STRICT;
    CREATE INDEX consent_records_customer_partner
        ON consent_records (customer_id, partner_id, decided_at_ms, seq);
    CREATE INDEX consent_records_customer_seq
        ON consent_records (customer_id, seq);
    CREATE TRIGGER consent_records_no_update BEFORE UPDATE ON consent_records
    BEGIN
        SELECT RAISE(ABORT, 'consent_records is append-only: UPDATE is not allowed');
    END;
    CREATE TRIGGER consent_records_no_delete BEFORE DELETE ON consent_records
    BEGIN
        SELECT RAISE(ABORT, 'consent_records is append-only: DELETE is not allowed');
    END;
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// A storage failure. Its text is for logs, never for HTTP responses.
#[derive(Debug)]
pub enum DbError {
    Sqlite(rusqlite::Error),
    Io(std::io::Error),
    /// A stored body that no longer parses: corruption or a bad migration.
    Corrupt(String),
    /// The file was written by a newer build.
    TooNew {
        found: i64,
        known: usize,
    },
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Sqlite(e) => write!(f, "sqlite: {e}"),
            DbError::Io(e) => write!(f, "io: {e}"),
            DbError::Corrupt(what) => write!(f, "corrupt row: {what}"),
            DbError::TooNew { found, known } => {
                write!(
                    f,
                    "database schema version {found} is newer than this build's {known}"
                )
            }
        }
    }
}

impl std::error::Error for DbError {}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError::Sqlite(e)
    }
}

impl From<std::io::Error> for DbError {
    fn from(e: std::io::Error) -> Self {
        DbError::Io(e)
    }
}

/// A checked record, ready to store.
#[derive(Clone, Debug)]
pub struct NewRecord {
    pub record_id: String,
    pub customer_id: String,
    pub partner_id: String,
    pub decided_at: Timestamp,
    /// Canonical JSON of the record without `receivedAt`.
    pub body: String,
    /// Lowercase hex SHA-256 of `body`.
    pub content_sha256: String,
}

/// What became of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Committed: new records stored, identical repeats listed as duplicates.
    Stored(StoredV1),
    /// Rolled back: record `index` reuses a stored (or earlier in the batch)
    /// record id with different content.
    Conflict { index: usize },
}

/// The database: one writer and one reader connection.
pub struct Db {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
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
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let known = MIGRATIONS.len();
    if current < 0 || current as usize > known {
        return Err(DbError::TooNew {
            found: current,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tracing::info!(version = i + 1, "applied schema migration");
    }
    tx.commit()?;
    Ok(())
}

fn read_record(body: &str, received_at_ms: i64) -> Result<ConsentRecordV1, DbError> {
    let mut record: ConsentRecordV1 = serde_json::from_str(body)
        .map_err(|e| DbError::Corrupt(format!("stored body does not parse: {e}")))?;
    record.received_at = Some(Timestamp::from_unix_millis(received_at_ms));
    Ok(record)
}

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
        let reader = Connection::open(path)?;
        configure(&reader)?;
        reader.pragma_update(None, "query_only", "ON")?;
        Ok(Db {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    /// A trivial query, for health checks.
    pub fn ping(&self) -> Result<(), DbError> {
        let conn = lock(&self.reader);
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version as usize != SCHEMA_VERSION {
            return Err(DbError::Corrupt(format!("schema version is {version}")));
        }
        Ok(())
    }

    /// Stores a batch in one transaction: every new record, or none.
    pub fn insert_batch(
        &self,
        records: &[NewRecord],
        received_at: Timestamp,
    ) -> Result<BatchOutcome, DbError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut stored = Vec::new();
        let mut duplicates = Vec::new();
        {
            let mut find = tx.prepare_cached(
                "SELECT content_sha256 FROM consent_records WHERE record_id = ?1",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO consent_records
                    (record_id, seq, customer_id, partner_id, decided_at_ms, received_at_ms, content_sha256, body)
                 VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM consent_records), ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (index, r) in records.iter().enumerate() {
                // Also sees rows inserted earlier in this transaction, so a
                // record repeated within the batch is a duplicate too.
                let existing = find
                    .query_row([&r.record_id], |row| row.get::<_, String>(0))
                    .optional()?;
                match existing {
                    Some(sha) if sha == r.content_sha256 => duplicates.push(r.record_id.clone()),
                    // Dropping `tx` without commit rolls the batch back.
                    Some(_) => return Ok(BatchOutcome::Conflict { index }),
                    None => {
                        insert.execute(params![
                            r.record_id,
                            r.customer_id,
                            r.partner_id,
                            r.decided_at.unix_millis(),
                            received_at.unix_millis(),
                            r.content_sha256,
                            r.body,
                        ])?;
                        stored.push(StoredRecordV1 {
                            record_id: r.record_id.clone(),
                            received_at,
                        });
                    }
                }
            }
        }
        tx.commit()?;
        Ok(BatchOutcome::Stored(StoredV1 { stored, duplicates }))
    }

    /// Every record of a customer, oldest first (by insertion), with `receivedAt`.
    pub fn records_for(&self, customer_id: &str) -> Result<Vec<ConsentRecordV1>, DbError> {
        self.customer_records(
            "SELECT body, received_at_ms FROM consent_records WHERE customer_id = ?1 ORDER BY seq",
            customer_id,
        )
    }

    /// Runs a query of `(body, received_at_ms)` rows for one customer and
    /// reads each row back into a record.
    fn customer_records(
        &self,
        sql: &str,
        customer_id: &str,
    ) -> Result<Vec<ConsentRecordV1>, DbError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map([customer_id], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (body, received_at_ms) = row?;
            out.push(read_record(&body, received_at_ms)?);
        }
        Ok(out)
    }

    /// A customer's current answer per partner: the record with the latest
    /// `decidedAt`, the later insertion winning a tie; sorted by partner id.
    pub fn preferences(&self, customer_id: &str) -> Result<Vec<PreferenceV1>, DbError> {
        let records = self.customer_records(
            "SELECT c.body, c.received_at_ms FROM consent_records c
             WHERE c.customer_id = ?1
               AND NOT EXISTS (
                   SELECT 1 FROM consent_records n
                   WHERE n.customer_id = c.customer_id
                     AND n.partner_id = c.partner_id
                     AND (n.decided_at_ms > c.decided_at_ms
                          OR (n.decided_at_ms = c.decided_at_ms AND n.seq > c.seq)))
             ORDER BY c.partner_id",
            customer_id,
        )?;
        Ok(records
            .into_iter()
            .map(|r| PreferenceV1 {
                partner_id: r.partner.id,
                state: r.state,
                notice_id: Some(r.notice.id),
                notice_version: r.notice.version,
                decided_at: r.decided_at,
                valid_until: r.valid_until,
                record_id: Some(r.record_id),
                channels: r.channels,
                notice_text: Some(r.notice.text),
                notice_language: Some(r.notice.language),
            })
            .collect())
    }

    /// How many records are stored (all customers).
    pub fn count(&self) -> Result<u64, DbError> {
        let conn = lock(&self.reader);
        let n: i64 =
            conn.query_row("SELECT COUNT(*) FROM consent_records", [], |row| row.get(0))?;
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_idempotent_and_versioned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/consent.db");
        drop(Db::open(&path).unwrap());
        let db = Db::open(&path).unwrap();
        db.ping().unwrap();
        let conn = Connection::open(&path).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, SCHEMA_VERSION);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("consent.db");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(
            Db::open(&path),
            Err(DbError::TooNew { found: 99, .. })
        ));
    }
}
