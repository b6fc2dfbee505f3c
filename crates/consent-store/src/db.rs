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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use consent_core::wire::{ConsentRecordV1, PreferenceV1};
use consent_core::Timestamp;
use rusqlite::{
    params, Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior,
};

use crate::keys::{self, ApiKey, KeySpec, NewKey};
use crate::ledger::{self, Head};
use crate::rules::{self, ContactGroups, ContactRow, LedgerState, Planned};
pub use crate::rules::{
    current_per_partner, preference_of, read_record, stored_body, BatchOutcome, Decided,
    ErasureKind, NewRecord, RetentionPlan,
};

/// Reader connections in the pool.
const READERS: usize = 4;

/// A schema migration: SQL, or a step that needs Rust (hashing).
enum Migration {
    Sql(&'static str),
    Rust(fn(&Transaction<'_>) -> Result<(), DbError>),
}

/// Schema migrations, applied in order at start-up. `PRAGMA user_version`
/// holds how many have run. Append only: never edit a published entry.
const MIGRATIONS: &[Migration] = &[
    // 1: the append-only record table.
    Migration::Sql(
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
    ),
    // 2: the hash-chained ledger, subjects in place of customer ids, API keys.
    Migration::Rust(migrate_to_ledger),
    // 3: erased subjects kept (a pseudonym whose salt is gone), so `verify`
    // tells an erasure from a mapping deleted by hand; the scrub's progress.
    Migration::Sql(ERASURE_LEDGER),
];

/// Migration 3, the same in SQLite and PostgreSQL (`crate::pg`) but for
/// the name of a 64-bit integer (SQLite's STRICT tables know `INTEGER`
/// only). Subjects already unmapped were erased by earlier builds, which
/// kept no list.
macro_rules! erasure_ledger {
    ($int:literal) => {
        concat!(
            "CREATE TABLE erased_subjects (
                subject    TEXT NOT NULL PRIMARY KEY CHECK (length(subject) = 64),
                -- the erasures row that removed the mapping (none before this migration)
                erasure_id ",
            $int,
            "
            );
            INSERT INTO erased_subjects (subject)
                SELECT DISTINCT r.subject FROM consent_records r
                WHERE NOT EXISTS (SELECT 1 FROM subjects s WHERE s.subject = r.subject);
            -- when the erased values were also gone from the WAL (SQLite) or
            -- from dead row versions (PostgreSQL's VACUUM); NULL while pending
            ALTER TABLE erasures ADD COLUMN scrubbed_at_ms ",
            $int,
            ";"
        )
    };
}
pub(crate) const ERASURE_LEDGER: &str = erasure_ledger!("INTEGER");
pub(crate) const ERASURE_LEDGER_PG: &str = erasure_ledger!("BIGINT");

/// The tables of migration 2. `seq` is the rowid (VACUUM keeps an INTEGER
/// PRIMARY KEY), the ledger's order.
const LEDGER_SCHEMA: &str = r#"
    CREATE TABLE subjects (
        customer_id TEXT NOT NULL PRIMARY KEY,
        subject     TEXT NOT NULL UNIQUE CHECK (length(subject) = 64),
        salt        BLOB NOT NULL CHECK (length(salt) = 32)
    ) STRICT;
    CREATE TABLE consent_records (
        seq             INTEGER NOT NULL PRIMARY KEY,
        record_id       TEXT    NOT NULL UNIQUE,
        subject         TEXT    NOT NULL CHECK (length(subject) = 64),
        partner_id      TEXT    NOT NULL,
        decided_at_ms   INTEGER NOT NULL,
        received_at_ms  INTEGER NOT NULL,
        -- when the decision counts: the earlier of decidedAt and receivedAt,
        -- so no client clock can place a decision after its arrival
        effective_at_ms INTEGER NOT NULL CHECK (effective_at_ms <= received_at_ms),
        supersedes      TEXT,
        -- SHA-256 of body, exactly as stored
        content_sha256  TEXT    NOT NULL CHECK (length(content_sha256) = 64),
        -- the record's canonical JSON, without receivedAt, customerId = "sub:<subject>"
        body            TEXT    NOT NULL CHECK (json_valid(body)),
        -- the ledger: SHA-256 over the previous chain, content_sha256 and received_at_ms
        chain           TEXT    NOT NULL CHECK (length(chain) = 64)
    ) STRICT;
    CREATE INDEX consent_records_subject_partner
        ON consent_records (subject, partner_id, effective_at_ms, seq);
    CREATE INDEX consent_records_partner_subject
        ON consent_records (partner_id, subject, seq);
    CREATE TRIGGER consent_records_no_update BEFORE UPDATE ON consent_records
    BEGIN
        SELECT RAISE(ABORT, 'consent_records is append-only: UPDATE is not allowed');
    END;
    CREATE TRIGGER consent_records_no_delete BEFORE DELETE ON consent_records
    BEGIN
        SELECT RAISE(ABORT, 'consent_records is append-only: DELETE is not allowed');
    END;
    -- INSERT OR REPLACE (and REPLACE) would delete the row it collides
    -- with, and SQLite fires no delete trigger for that unless
    -- recursive_triggers is on: refuse the insert before it gets there.
    CREATE TRIGGER consent_records_no_replace BEFORE INSERT ON consent_records
    WHEN EXISTS (SELECT 1 FROM consent_records WHERE seq = NEW.seq OR record_id = NEW.record_id)
    BEGIN
        SELECT RAISE(ABORT, 'consent_records is append-only: a stored record cannot be replaced');
    END;
    CREATE VIEW customer_records AS
        SELECT s.customer_id AS customer_id, r.seq, r.record_id, r.partner_id,
               r.decided_at_ms, r.received_at_ms, r.effective_at_ms,
               json_set(r.body, '$.customerId', s.customer_id) AS body
        FROM consent_records r JOIN subjects s ON s.subject = r.subject;
    -- Every erasure and retention run: when, by whom, how many; never whose.
    CREATE TABLE erasures (
        id            INTEGER NOT NULL PRIMARY KEY,
        at_ms         INTEGER NOT NULL,
        kind          TEXT    NOT NULL CHECK (kind IN ('request', 'retention')),
        by_whom       TEXT    NOT NULL,
        customers     INTEGER NOT NULL,
        records       INTEGER NOT NULL,
        detail        TEXT    NOT NULL CHECK (json_valid(detail))
    ) STRICT;
    CREATE TABLE api_keys (
        id            TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 12),
        role          TEXT    NOT NULL CHECK (role IN ('admin', 'partner')),
        partner_id    TEXT,
        label         TEXT,
        secret_sha256 TEXT    NOT NULL CHECK (length(secret_sha256) = 64),
        created_at_ms INTEGER NOT NULL,
        revoked_at_ms INTEGER,
        CHECK ((role = 'partner') = (partner_id IS NOT NULL))
    ) STRICT;
"#;

/// Migration 2: moves the records of migration 1 into the chained table,
/// oldest first, giving each customer a subject.
fn migrate_to_ledger(tx: &Transaction<'_>) -> Result<(), DbError> {
    tx.execute_batch(
        "ALTER TABLE consent_records RENAME TO consent_records_v1;
         DROP TRIGGER consent_records_no_update;
         DROP TRIGGER consent_records_no_delete;
         DROP INDEX consent_records_customer_partner;
         DROP INDEX consent_records_customer_seq;",
    )?;
    tx.execute_batch(LEDGER_SCHEMA)?;
    let old: Vec<(String, String, i64)> = {
        let mut stmt = tx.prepare(
            "SELECT customer_id, body, received_at_ms FROM consent_records_v1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut state = LedgerState {
        head: ledger::GENESIS.to_owned(),
        ..LedgerState::default()
    };
    for (customer_id, body, received_at_ms) in old {
        let record: ConsentRecordV1 = serde_json::from_str(&body)
            .map_err(|e| DbError::Corrupt(format!("a version 1 body does not parse: {e}")))?;
        debug_assert_eq!(record.customer_id, customer_id);
        let planned = rules::plan_batch(
            &mut state,
            &[NewRecord { record }],
            Timestamp::from_unix_millis(received_at_ms),
            &mut rules::random_salt,
        )?;
        write_planned(tx, &planned)?;
    }
    tx.execute_batch("DROP TABLE consent_records_v1;")?;
    Ok(())
}

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// A storage failure. Its text is for logs, never for HTTP responses.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A stored body that no longer parses: corruption or a bad migration.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The file was written by a newer build.
    #[error("database schema version {found} is newer than this build's {known}")]
    TooNew { found: i64, known: usize },
    /// A PostgreSQL query or connection failed.
    #[error("postgres: {}", postgres_text(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection within the pool's timeouts.
    #[error("postgres pool: {0}")]
    Pool(String),
    /// A blocking task panicked or was cancelled.
    #[error("a storage task failed: {0}")]
    Task(String),
}

/// PostgreSQL's own code and message when the server answered, else the
/// driver's text.
fn postgres_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// The database: one writer and a pool of readers.
pub struct Db {
    path: std::path::PathBuf,
    writer: Mutex<Connection>,
    /// Scrubs after erasures (checkpoints that never wait).
    scrubber: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
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
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        match migration {
            Migration::Sql(sql) => tx.execute_batch(sql)?,
            Migration::Rust(step) => step(&tx)?,
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tracing::info!(version = i + 1, "applied schema migration");
    }
    tx.commit()?;
    Ok(())
}

/// The ledger as a batch is decided against it, read inside `tx`: the
/// last `seq` and head, the subjects of `records`' customers, and the
/// digests of their ids already stored.
fn ledger_state(tx: &Transaction<'_>, records: &[NewRecord]) -> Result<LedgerState, DbError> {
    let (seq, head): (i64, String) = tx
        .query_row(
            "SELECT seq, chain FROM consent_records ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or_else(|| (0, ledger::GENESIS.to_owned()));
    let mut state = LedgerState {
        seq,
        head,
        ..LedgerState::default()
    };
    let mut subject_of =
        tx.prepare_cached("SELECT subject, salt FROM subjects WHERE customer_id = ?1")?;
    let mut digest_of =
        tx.prepare_cached("SELECT content_sha256 FROM consent_records WHERE record_id = ?1")?;
    for NewRecord { record } in records {
        if !state.subjects.contains_key(&record.customer_id) {
            if let Some(found) = subject_of
                .query_row([&record.customer_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
            {
                state.subjects.insert(record.customer_id.clone(), found);
            }
        }
        if let Some(digest) = digest_of
            .query_row([&record.record_id], |r| r.get(0))
            .optional()?
        {
            state.known.insert(record.record_id.clone(), digest);
        }
    }
    Ok(state)
}

/// Writes what [`rules::plan_batch`] decided, inside `tx`.
fn write_planned(tx: &Transaction<'_>, planned: &Planned) -> Result<(), DbError> {
    let mut subject =
        tx.prepare_cached("INSERT INTO subjects (customer_id, subject, salt) VALUES (?1, ?2, ?3)")?;
    for s in &planned.subjects {
        subject.execute(params![s.customer_id, s.subject, s.salt])?;
    }
    let mut row = tx.prepare_cached(
        "INSERT INTO consent_records
            (seq, record_id, subject, partner_id, decided_at_ms, received_at_ms,
             effective_at_ms, supersedes, content_sha256, body, chain)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for r in &planned.rows {
        row.execute(params![
            r.seq,
            r.record_id,
            r.subject,
            r.partner_id,
            r.decided_at_ms,
            r.received_at_ms,
            r.effective_at_ms,
            r.supersedes,
            r.content_sha256,
            r.body,
            r.chain,
        ])?;
    }
    Ok(())
}

fn decided_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Decided> {
    Ok(Decided {
        seq: r.get(0)?,
        record_id: r.get(1)?,
        partner_id: r.get(2)?,
        effective_at_ms: r.get(3)?,
        supersedes: r.get(4)?,
    })
}

/// Drops the subject mappings of `customer_ids` inside `tx`, logs the
/// erasure (counts only, and the key that asked) and keeps each erased
/// subject, a pseudonym nobody can link to the patron any more. Returns
/// the erased customers' record count.
fn erase_in(
    tx: &Transaction<'_>,
    customer_ids: &[String],
    kind: ErasureKind,
    by_whom: &str,
    detail: &serde_json::Value,
    now: Timestamp,
) -> Result<u64, DbError> {
    let mut records = 0u64;
    let mut subjects = Vec::new();
    for id in customer_ids {
        let subject: Option<String> = tx
            .prepare_cached("DELETE FROM subjects WHERE customer_id = ?1 RETURNING subject")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        let Some(subject) = subject else { continue };
        let n: i64 = tx
            .prepare_cached("SELECT COUNT(*) FROM consent_records WHERE subject = ?1")?
            .query_row([&subject], |r| r.get(0))?;
        records += n as u64;
        subjects.push(subject);
    }
    tx.execute(
        "INSERT INTO erasures (at_ms, kind, by_whom, customers, records, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            now.unix_millis(),
            kind.as_str(),
            by_whom,
            subjects.len() as i64,
            records as i64,
            detail.to_string()
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

/// Customers whose latest record was received before `cutoff`, and what
/// they hold. Reads only; works on a read-only connection.
pub fn retention_plan(conn: &Connection, cutoff: Timestamp) -> Result<RetentionPlan, DbError> {
    let mut plan = RetentionPlan {
        cutoff: Some(cutoff),
        ..RetentionPlan::default()
    };
    let mut subjects = Vec::new();
    {
        let mut stmt = conn.prepare(
            "SELECT s.customer_id, s.subject, MAX(r.received_at_ms) AS last, COUNT(*)
             FROM subjects s JOIN consent_records r ON r.subject = s.subject
             GROUP BY s.subject HAVING last < ?1 ORDER BY last",
        )?;
        let mut rows = stmt.query([cutoff.unix_millis()])?;
        while let Some(row) = rows.next()? {
            plan.push_customer(
                row.get(0)?,
                Timestamp::from_unix_millis(row.get(2)?),
                row.get::<_, i64>(3)? as u64,
            );
            subjects.push(row.get::<_, String>(1)?);
        }
    }
    if !subjects.is_empty() {
        // One query for them all, as PostgreSQL's `= ANY($1)`.
        let list = serde_json::to_string(&subjects)
            .map_err(|e| DbError::Corrupt(format!("a subject list: {e}")))?;
        let mut stmt = conn.prepare(
            "SELECT partner_id, COUNT(*) FROM consent_records
             WHERE subject IN (SELECT value FROM json_each(?1)) GROUP BY partner_id",
        )?;
        let rows = stmt.query_map([list], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (partner, n) = row?;
            *plan.per_partner.entry(partner).or_default() += n as u64;
        }
    }
    Ok(plan)
}

/// A partner export's rows, in subject order, for [`ContactGroups`].
pub(crate) const CONTACT_ROWS_SQL: &str =
    "SELECT r.seq, r.record_id, r.partner_id, r.effective_at_ms, r.supersedes,
            r.subject, s.customer_id, r.body, r.received_at_ms, s.salt
     FROM consent_records r JOIN subjects s ON s.subject = r.subject
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
        })
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
    fn reader(&self) -> MutexGuard<'_, Connection> {
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
        if matches!(planned.outcome, BatchOutcome::Stored(_)) {
            write_planned(&tx, &planned)?;
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

    /// [`retention_plan`] on a reader connection.
    pub fn retention_plan(&self, cutoff: Timestamp) -> Result<RetentionPlan, DbError> {
        retention_plan(&self.reader(), cutoff)
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
        mut emit: impl FnMut(ConsentRecordV1) -> bool,
    ) -> Result<(), DbError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(CONTACT_ROWS_SQL)?;
        let mut rows = stmt.query([partner_id])?;
        let mut groups = ContactGroups::new(now);
        while let Some(row) = rows.next()? {
            let row = ContactRow {
                decided: decided_row(row)?,
                subject: row.get(5)?,
                customer_id: row.get(6)?,
                body: row.get(7)?,
                received_at_ms: row.get(8)?,
                salt: row.get(9)?,
            };
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

    /// Erases customers: drops each one's subject mapping (their id and
    /// salt) in one transaction and logs the erasure without any id. Their
    /// records stay, unlinkable, and the ledger still verifies. The erased
    /// values can still sit in the WAL until [`Db::scrub_step`] succeeds:
    /// the erasure is logged as pending until then. Returns how many
    /// records the erased customers had.
    pub fn erase(
        &self,
        customer_ids: &[String],
        kind: ErasureKind,
        by_whom: &str,
        detail: &serde_json::Value,
        now: Timestamp,
    ) -> Result<u64, DbError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let records = erase_in(&tx, customer_ids, kind, by_whom, detail, now)?;
        tx.commit()?;
        Ok(records)
    }

    /// Anonymises, in one transaction, exactly the customers with no record
    /// received since `cutoff` (as [`retention_plan`] reports them), and
    /// logs the run. Returns the plan that was carried out.
    pub fn run_retention(
        &self,
        cutoff: Timestamp,
        by_whom: &str,
        now: Timestamp,
    ) -> Result<RetentionPlan, DbError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let plan = retention_plan(&tx, cutoff)?;
        erase_in(
            &tx,
            &plan.customers,
            ErasureKind::Retention,
            by_whom,
            &plan.detail(),
            now,
        )?;
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

    /// Every erasure and retention run, oldest first.
    pub fn erasures(&self) -> Result<Vec<serde_json::Value>, DbError> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT at_ms, kind, by_whom, customers, records, detail, scrubbed_at_ms
             FROM erasures ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(rules::erasure_entry(
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                &r.get::<_, String>(5)?,
                r.get(6)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
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

    /// Adds an API key; returns it and its text, shown once.
    pub fn add_key(&self, spec: &KeySpec, now: Timestamp) -> Result<(ApiKey, String), DbError> {
        let new = NewKey::make(spec, now)?;
        let k = &new.key;
        lock(&self.writer).execute(
            "INSERT INTO api_keys (id, role, partner_id, label, secret_sha256, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                k.id,
                k.role.as_str(),
                k.partner_id,
                k.label,
                new.secret_sha256,
                now.unix_millis()
            ],
        )?;
        Ok((new.key, new.text))
    }

    /// Every key, revoked ones included, oldest first.
    pub fn list_keys(&self) -> Result<Vec<ApiKey>, DbError> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT id, role, partner_id, label, created_at_ms, revoked_at_ms
             FROM api_keys ORDER BY created_at_ms, id",
        )?;
        let rows = stmt.query_map([], key_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revokes a key by id; false if there is no such live key.
    pub fn revoke_key(&self, id: &str, now: Timestamp) -> Result<bool, DbError> {
        let n = lock(&self.writer).execute(
            "UPDATE api_keys SET revoked_at_ms = ?2 WHERE id = ?1 AND revoked_at_ms IS NULL",
            params![id, now.unix_millis()],
        )?;
        Ok(n == 1)
    }

    /// The live key a credential stands for, if any.
    pub fn find_key(&self, credential: &str) -> Result<Option<ApiKey>, DbError> {
        let Some((id, secret)) = keys::split_key(credential) else {
            return Ok(None);
        };
        let conn = self.reader();
        let found = conn
            .prepare_cached(
                "SELECT id, role, partner_id, label, created_at_ms, revoked_at_ms, secret_sha256
                 FROM api_keys WHERE id = ?1 AND revoked_at_ms IS NULL",
            )?
            .query_row([id], |r| Ok((key_row(r)?, r.get::<_, String>(6)?)))
            .optional()?;
        Ok(found
            .filter(|(_, hash)| keys::secret_matches(hash, secret))
            .map(|(key, _)| key))
    }
}

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey::from_columns(
        r.get(0)?,
        &r.get::<_, String>(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
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
