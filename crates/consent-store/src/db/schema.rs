//! The SQLite schema: its migrations, applied in order at start-up, and
//! the step that moved the first records into the ledger.

use consent_core::wire::ConsentRecordV1;
use consent_core::Timestamp;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::write::write_planned;
use crate::error::DbError;
use crate::ledger;
use crate::rules::NewRecord;
use crate::rules::{self, LedgerState};

/// A schema migration: SQL, or a step that needs Rust (hashing).
pub(super) enum Migration {
    Sql(&'static str),
    Rust(fn(&Transaction<'_>) -> Result<(), DbError>),
}

/// Schema migrations, applied in order at start-up. `PRAGMA user_version`
/// holds how many have run. Append only: never edit a published entry.
pub(super) const MIGRATIONS: &[Migration] = &[
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
    // 4: contact points (erasable, beside the ledger) and the webhook queue.
    Migration::Sql(AFTER_CHECKOUT),
    // 5: each patron's latest activity at the venue, which retention counts from.
    Migration::Sql(CUSTOMER_ACTIVITY),
];

/// The API keys table, the same in SQLite and PostgreSQL but for the name
/// of a 64-bit integer and SQLite's `STRICT`.
macro_rules! api_keys_table {
    ($int:literal, $strict:literal) => {
        concat!(
            "    CREATE TABLE api_keys (
        id            TEXT   NOT NULL PRIMARY KEY CHECK (length(id) = 12),
        role          TEXT   NOT NULL CHECK (role IN ('admin', 'partner')),
        partner_id    TEXT,
        label         TEXT,
        secret_sha256 TEXT   NOT NULL CHECK (length(secret_sha256) = 64),
        created_at_ms ",
            $int,
            " NOT NULL,
        revoked_at_ms ",
            $int,
            ",
        CHECK ((role = 'partner') = (partner_id IS NOT NULL))
    )",
            $strict,
            ";\n"
        )
    };
}
pub(crate) use api_keys_table;

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

/// Migration 4, the same in SQLite and PostgreSQL (`crate::pg`) but for
/// the names of a 64-bit integer and a generated key, and `STRICT`.
/// `contacts` holds each patron's contact points as the venue last gave
/// them (never in a hashed body: an erasure deletes the row);
/// `webhook_events` is the durable queue of `crate::events`.
macro_rules! after_checkout {
    ($int:literal, $serial:literal, $strict:literal) => {
        concat!(
            "CREATE TABLE contacts (
                customer_id   TEXT NOT NULL PRIMARY KEY,
                email         TEXT,
                phone         TEXT,
                postal        TEXT,
                updated_at_ms ",
            $int,
            " NOT NULL
            )",
            $strict,
            ";
            CREATE TABLE webhook_events (
                seq              ",
            $serial,
            ",
                id               TEXT NOT NULL UNIQUE,
                kind             TEXT NOT NULL,
                -- whose event it is: an erasure deletes it before delivery
                customer_id      TEXT,
                body             TEXT NOT NULL,
                created_at_ms    ",
            $int,
            " NOT NULL,
                next_at_ms       ",
            $int,
            " NOT NULL,
                attempts         ",
            $int,
            " NOT NULL DEFAULT 0,
                -- an instance's lease on it while delivering
                claimed_until_ms ",
            $int,
            ",
                last_error       TEXT
            )",
            $strict,
            ";
            CREATE INDEX webhook_events_due ON webhook_events (next_at_ms, seq);
            CREATE INDEX webhook_events_customer ON webhook_events (customer_id);"
        )
    };
}
pub(crate) const AFTER_CHECKOUT: &str =
    after_checkout!("INTEGER", "INTEGER NOT NULL PRIMARY KEY", " STRICT");
pub(crate) const AFTER_CHECKOUT_PG: &str = after_checkout!("BIGINT", "BIGSERIAL PRIMARY KEY", "");

/// Migration 5, the same in SQLite and PostgreSQL (`crate::pg`) but for
/// the name of a 64-bit integer and `STRICT`. One row per patron: the
/// latest activity the venue reported (`crate::activity`), beside the
/// ledger and never in a hashed body, so an erasure deletes it.
macro_rules! customer_activity {
    ($int:literal, $strict:literal) => {
        concat!(
            "CREATE TABLE customer_activity (
                customer_id TEXT NOT NULL PRIMARY KEY,
                last_at_ms  ",
            $int,
            " NOT NULL,
                kind        TEXT NOT NULL
                    CHECK (kind IN ('purchase', 'booking', 'waitlist', 'login', 'click'))
            )",
            $strict,
            ";"
        )
    };
}
pub(crate) const CUSTOMER_ACTIVITY: &str = customer_activity!("INTEGER", " STRICT");
pub(crate) const CUSTOMER_ACTIVITY_PG: &str = customer_activity!("BIGINT", "");

/// The tables of migration 2. `seq` is the rowid (VACUUM keeps an INTEGER
/// PRIMARY KEY), the ledger's order.
const LEDGER_SCHEMA: &str = concat!(
    r#"
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
"#,
    api_keys_table!("INTEGER", " STRICT")
);

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
            &[NewRecord::new(record)],
            Timestamp::from_unix_millis(received_at_ms),
            &mut rules::random_salt,
        )?;
        write_planned(tx, &planned)?;
    }
    tx.execute_batch("DROP TABLE consent_records_v1;")?;
    Ok(())
}

pub(super) fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let pending = rules::pending_migrations(current, MIGRATIONS.len())?;
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(pending.start) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, SCHEMA_VERSION};

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
