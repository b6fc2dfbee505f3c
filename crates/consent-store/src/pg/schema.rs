//! The PostgreSQL schema: migrations, applied once under an advisory
//! lock when instances start together, and the version check.

use deadpool_postgres::GenericClient;
use deadpool_postgres::Object;

use super::*;
use crate::db::DbError;

/// Schema migrations, applied in order at start-up; `consent_schema`
/// lists those applied. Append only: never edit a published entry.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the ledger, subjects, erasure log and API keys, as SQLite's
    // migration 2 has them.
    concat!(
        r#"
    CREATE TABLE subjects (
        customer_id TEXT  NOT NULL PRIMARY KEY,
        subject     TEXT  NOT NULL UNIQUE CHECK (length(subject) = 64),
        salt        BYTEA NOT NULL CHECK (length(salt) = 32)
    );
    CREATE TABLE consent_records (
        -- the ledger's order, from 1 without gaps (set under HEAD_LOCK)
        seq             BIGINT NOT NULL PRIMARY KEY CHECK (seq >= 1),
        record_id       TEXT   NOT NULL UNIQUE,
        subject         TEXT   NOT NULL CHECK (length(subject) = 64),
        partner_id      TEXT   NOT NULL,
        decided_at_ms   BIGINT NOT NULL,
        received_at_ms  BIGINT NOT NULL,
        effective_at_ms BIGINT NOT NULL CHECK (effective_at_ms <= received_at_ms),
        supersedes      TEXT,
        content_sha256  TEXT   NOT NULL CHECK (length(content_sha256) = 64),
        -- the exact bytes that were hashed: TEXT, never jsonb (which reorders keys)
        body            TEXT   NOT NULL CHECK (body::json IS NOT NULL),
        chain           TEXT   NOT NULL CHECK (length(chain) = 64)
    );
    CREATE INDEX consent_records_subject_partner
        ON consent_records (subject, partner_id, effective_at_ms, seq);
    CREATE INDEX consent_records_partner_subject
        ON consent_records (partner_id, subject, seq);
    CREATE FUNCTION consent_records_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'consent_records is append-only: % is not allowed', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$;
    CREATE TRIGGER consent_records_no_update_or_delete
        BEFORE UPDATE OR DELETE ON consent_records
        FOR EACH ROW EXECUTE FUNCTION consent_records_refuse_change();
    CREATE TRIGGER consent_records_no_truncate
        BEFORE TRUNCATE ON consent_records
        FOR EACH STATEMENT EXECUTE FUNCTION consent_records_refuse_change();
    CREATE VIEW customer_records AS
        SELECT s.customer_id, r.seq, r.record_id, r.partner_id,
               r.decided_at_ms, r.received_at_ms, r.effective_at_ms,
               jsonb_set(r.body::jsonb, '{customerId}', to_jsonb(s.customer_id)) AS body
        FROM consent_records r JOIN subjects s ON s.subject = r.subject;
    CREATE TABLE erasures (
        id        BIGSERIAL PRIMARY KEY,
        at_ms     BIGINT NOT NULL,
        kind      TEXT   NOT NULL CHECK (kind IN ('request', 'retention')),
        by_whom   TEXT   NOT NULL,
        customers BIGINT NOT NULL,
        records   BIGINT NOT NULL,
        detail    TEXT   NOT NULL CHECK (detail::json IS NOT NULL)
    );
    "#,
        crate::db::api_keys_table!("BIGINT", "")
    ),
    // 2: erased subjects and the scrub's progress, as SQLite's migration 3.
    crate::db::ERASURE_LEDGER_PG,
    // 3: contacts and the webhook queue, as SQLite's migration 4.
    crate::db::AFTER_CHECKOUT_PG,
    // 4: each patron's latest activity, as SQLite's migration 5.
    crate::db::CUSTOMER_ACTIVITY_PG,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

pub(super) async fn schema_version(client: &impl GenericClient) -> Result<i64, DbError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('consent_schema') IS NOT NULL", &[])
        .await?
        .try_get(0)?;
    if !exists {
        return Ok(0);
    }
    Ok(client
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM consent_schema",
            &[],
        )
        .await?
        .try_get(0)?)
}

pub(super) async fn check_version(client: &impl GenericClient) -> Result<(), DbError> {
    let found = schema_version(client).await?;
    if found as usize != SCHEMA_VERSION {
        return Err(DbError::Corrupt(format!(
            "schema version {found}, this build reads {SCHEMA_VERSION}: start the host on it once to migrate"
        )));
    }
    Ok(())
}

/// Applies the missing migrations in one transaction, under
/// [`MIGRATION_LOCK`], so instances starting together apply each once.
pub(super) async fn run_migrations(client: &mut Object) -> Result<(), DbError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS consent_schema (
             version    INTEGER     NOT NULL PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let current = schema_version(&tx).await?;
    let pending = crate::rules::pending_migrations(current, MIGRATIONS.len())?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(pending.start) {
        tx.batch_execute(sql).await?;
        let version = (i + 1) as i32;
        tx.execute(
            "INSERT INTO consent_schema (version) VALUES ($1)",
            &[&version],
        )
        .await?;
        tracing::info!(version, "applied PostgreSQL schema migration");
    }
    tx.commit().await?;
    Ok(())
}
