//! PostgreSQL storage, for several host instances on one database.
//!
//! Driver: `tokio-postgres` with a `deadpool-postgres` pool. Both are
//! async, small and well kept, and need no database at compile time
//! (unlike sqlx's checked macros), so the host still builds offline.
//!
//! The same ledger as SQLite ([`crate::db`]): the same tables, bodies,
//! digests and chain, built by the same pure functions. What PostgreSQL
//! adds is that several processes write at once, so:
//!
//! - **One writer of the head.** Every transaction that appends (a group
//!   of batches) or removes a mapping (erasure, retention) first takes the
//!   transaction-level advisory lock [`HEAD_LOCK`], then reads the head
//!   and appends. The lock is released at commit or rollback, also when
//!   the process dies (the server ends the session), so `seq` stays
//!   contiguous and the chain linear across instances.
//! - **Group commit.** Each instance has one writer task
//!   ([`write_groups`]) that stores the batches waiting in one
//!   transaction: one commit for many batches, each still all or nothing
//!   and acknowledged only after the commit.
//! - **Migrations** run at start-up under [`MIGRATION_LOCK`], so instances
//!   that start together apply each one once.
//! - **Append-only in the database**: triggers refuse UPDATE, DELETE and
//!   TRUNCATE on `consent_records`; the app role needs only INSERT and
//!   SELECT on it (see `docs/security.md`).
//! - **Idempotent re-posts**: `record_id` is unique; under the head lock a
//!   batch sees every committed record, and a unique violation (which
//!   the lock should make impossible) plans the group again, once.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use consent_core::wire::ConsentRecordV1;
use consent_core::Timestamp;
use deadpool_postgres::GenericClient;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use futures_util::TryStreamExt;
use tokio::sync::mpsc;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::NoTls;

use crate::db::{DbError, CONTACT_ROWS_SQL};
use crate::keys::{self, ApiKey, KeySpec, NewKey};
use crate::ledger::{self, Head, StoredRow, Verifier, VerifyError, GENESIS};
use crate::rules::{
    self, current_per_partner, read_record, BatchOutcome, ContactGroups, ContactRow, Decided,
    ErasureKind, LedgerState, NewRecord, NewRow, NewSubject, RetentionPlan,
};
use crate::store::Storage;

/// The advisory lock every appending transaction holds: the single writer
/// of the head. (`"consent1"` in ASCII.)
pub const HEAD_LOCK: i64 = 0x636f_6e73_656e_7431;
/// The advisory lock of start-up migrations. (`"consentM"`.)
pub const MIGRATION_LOCK: i64 = 0x636f_6e73_656e_744d;

/// Connections per instance.
const POOL_SIZE: usize = 16;
/// Longest wait for a pooled connection (then the request fails with 500).
const POOL_WAIT: Duration = Duration::from_secs(10);
/// Session settings: no statement, lock wait or idle transaction runs away.
const SESSION_OPTIONS: &str =
    "-c statement_timeout=30000 -c lock_timeout=20000 -c idle_in_transaction_session_timeout=60000";
/// An export streams for as long as its reader reads: at most this long.
const EXPORT_TIMEOUT: &str = "SET LOCAL statement_timeout = '30min'";

/// Schema migrations, applied in order at start-up; `consent_schema`
/// lists those applied. Append only: never edit a published entry.
const MIGRATIONS: &[&str] = &[
    // 1: the ledger, subjects, erasure log and API keys, as SQLite's
    // migration 2 has them.
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
    CREATE TABLE api_keys (
        id            TEXT   NOT NULL PRIMARY KEY CHECK (length(id) = 12),
        role          TEXT   NOT NULL CHECK (role IN ('admin', 'partner')),
        partner_id    TEXT,
        label         TEXT,
        secret_sha256 TEXT   NOT NULL CHECK (length(secret_sha256) = 64),
        created_at_ms BIGINT NOT NULL,
        revoked_at_ms BIGINT,
        CHECK ((role = 'partner') = (partner_id IS NOT NULL))
    );
    "#,
    // 2: erased subjects and the scrub's progress, as SQLite's migration 3.
    crate::db::ERASURE_LEDGER_PG,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// The PostgreSQL backend: a pool of connections to one database.
pub struct PgStore {
    pool: Pool,
    /// Whether a background scrub loop is running (one at a time).
    scrubbing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Batches waiting for the group-commit writer (see [`write_groups`]).
    writer: mpsc::Sender<Job>,
}

/// A batch for the writer, and where its outcome goes.
struct Job {
    records: Vec<NewRecord>,
    received_at: Timestamp,
    done: tokio::sync::oneshot::Sender<Result<BatchOutcome, DbError>>,
}

/// Most batches the writer commits in one transaction.
const GROUP_BATCHES: usize = 64;

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

/// The server and database of a URL, for logs: never the password.
pub fn describe_url(url: &str) -> String {
    match url.parse::<tokio_postgres::Config>() {
        Ok(cfg) => {
            let hosts: Vec<String> = cfg
                .get_hosts()
                .iter()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(name) => name.clone(),
                    #[cfg(unix)]
                    tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .collect();
            let ports: Vec<String> = cfg.get_ports().iter().map(u16::to_string).collect();
            format!(
                "postgres://{}@{}:{}/{}",
                cfg.get_user().unwrap_or("(default user)"),
                hosts.join(","),
                if ports.is_empty() {
                    "5432".to_owned()
                } else {
                    ports.join(",")
                },
                cfg.get_dbname().unwrap_or("(default database)")
            )
        }
        Err(_) => "postgres://(unparsable URL)".to_owned(),
    }
}

fn pool_error(e: deadpool_postgres::PoolError) -> DbError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => DbError::Postgres(e),
        other => DbError::Pool(other.to_string()),
    }
}

impl PgStore {
    /// Connects to `url` (`--database-url`), checks the server answers and,
    /// with `migrate`, brings the schema up to date; without, refuses a
    /// schema this build does not read. Errors name the flag and the
    /// cause, never the password.
    pub async fn connect(url: &str, migrate: bool) -> Result<Self, String> {
        let shown = describe_url(url);
        let mut cfg: tokio_postgres::Config = url
            .parse()
            .map_err(|e| format!("--database-url is not a PostgreSQL URL: {e}"))?;
        let options = match cfg.get_options() {
            Some(o) if !o.is_empty() => format!("{o} {SESSION_OPTIONS}"),
            _ => SESSION_OPTIONS.to_owned(),
        };
        cfg.options(&options);
        if cfg.get_application_name().is_none() {
            cfg.application_name("consent-host");
        }
        if cfg.get_connect_timeout().is_none() {
            cfg.connect_timeout(Duration::from_secs(5));
        }
        let manager = Manager::from_config(
            cfg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(Duration::from_secs(10)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| format!("--database-url: cannot make a connection pool: {e}"))?;
        let (writer, jobs) = mpsc::channel(1024);
        tokio::spawn(write_groups(pool.clone(), jobs));
        let store = PgStore {
            pool,
            writer,
            scrubbing: Default::default(),
        };
        let connect_error = |e: DbError| format!("--database-url: cannot use {shown}: {e}");
        let mut client = store.client().await.map_err(connect_error)?;
        if migrate {
            run_migrations(&mut client).await.map_err(connect_error)?;
        } else {
            check_version(&client).await.map_err(connect_error)?;
        }
        Ok(store)
    }

    async fn client(&self) -> Result<Object, DbError> {
        self.pool.get().await.map_err(pool_error)
    }
}

async fn schema_version(client: &impl GenericClient) -> Result<i64, DbError> {
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

async fn check_version(client: &impl GenericClient) -> Result<(), DbError> {
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
async fn run_migrations(client: &mut Object) -> Result<(), DbError> {
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
    let known = MIGRATIONS.len();
    if current < 0 || current as usize > known {
        return Err(DbError::TooNew {
            found: current,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
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

fn is_unique_violation(e: &DbError) -> bool {
    matches!(e, DbError::Postgres(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION))
}

// Rows are read with `try_get`: a column that does not convert is a
// `DbError` (a 500 with the cause logged), never a panic.

fn decided(row: &tokio_postgres::Row) -> Result<Decided, DbError> {
    Ok(Decided {
        seq: row.try_get(0)?,
        record_id: row.try_get(1)?,
        partner_id: row.try_get(2)?,
        effective_at_ms: row.try_get(3)?,
        supersedes: row.try_get(4)?,
    })
}

fn key_row(r: &tokio_postgres::Row) -> Result<ApiKey, DbError> {
    Ok(ApiKey::from_columns(
        r.try_get(0)?,
        r.try_get(1)?,
        r.try_get(2)?,
        r.try_get(3)?,
        r.try_get(4)?,
        r.try_get(5)?,
    ))
}

/// The first two columns of every row, as a map.
fn pairs(rows: &[tokio_postgres::Row]) -> Result<HashMap<String, String>, DbError> {
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

impl PgStore {
    /// Drops the subject mappings of `customer_ids` inside `tx` and logs
    /// the erasure (counts only). Returns the erased customers' records.
    async fn erase_in(
        tx: &deadpool_postgres::Transaction<'_>,
        customer_ids: &[String],
        kind: ErasureKind,
        by_whom: &str,
        detail: &serde_json::Value,
        now: Timestamp,
    ) -> Result<u64, DbError> {
        let mut records = 0i64;
        let mut subjects: Vec<String> = Vec::new();
        for id in customer_ids {
            let Some(row) = tx
                .query_opt(
                    "DELETE FROM subjects WHERE customer_id = $1 RETURNING subject",
                    &[id],
                )
                .await?
            else {
                continue;
            };
            let subject: String = row.try_get(0)?;
            let n: i64 = tx
                .query_one(
                    "SELECT COUNT(*) FROM consent_records WHERE subject = $1",
                    &[&subject],
                )
                .await?
                .try_get(0)?;
            records += n;
            subjects.push(subject);
        }
        let erasure: i64 = tx
            .query_one(
                "INSERT INTO erasures (at_ms, kind, by_whom, customers, records, detail)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &now.unix_millis(),
                    &kind.as_str(),
                    &by_whom,
                    &(subjects.len() as i64),
                    &records,
                    &detail.to_string(),
                ],
            )
            .await?
            .try_get(0)?;
        tx.execute(
            "INSERT INTO erased_subjects (subject, erasure_id)
             SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING",
            &[&subjects, &erasure],
        )
        .await?;
        Ok(records as u64)
    }

    /// One try at scrubbing what erasures left behind: MVCC keeps the dead
    /// versions of erased `subjects` rows until a VACUUM, and a VACUUM
    /// cannot remove a version an older snapshot may still see. So: if any
    /// erasure is pending and no other session holds a snapshot from
    /// before now, VACUUM `subjects` and `erased_subjects` and mark the
    /// erasures pending before it scrubbed. Never inside a transaction,
    /// never under a lock a writer needs. True when nothing is pending.
    async fn scrub_step(pool: Pool) -> Result<bool, DbError> {
        let now = crate::wall_now();
        let client = pool.get().await.map_err(pool_error)?;
        let Some(upto) = client
            .query_one(
                "SELECT MAX(id) FROM erasures WHERE scrubbed_at_ms IS NULL",
                &[],
            )
            .await?
            .try_get::<_, Option<i64>>(0)?
        else {
            return Ok(true);
        };
        // A transaction that started after the erasure cannot see the
        // erased versions; one that started before it may.
        let older: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM pg_stat_activity
                 WHERE pid <> pg_backend_pid() AND datname = current_database()
                   AND backend_xmin IS NOT NULL
                   AND xact_start <= (SELECT to_timestamp(at_ms / 1000.0) + interval '1 second'
                                      FROM erasures WHERE id = $1)",
                &[&upto],
            )
            .await?
            .try_get(0)?;
        if older > 0 {
            return Ok(false);
        }
        client.batch_execute("VACUUM subjects").await?;
        client
            .execute(
                "UPDATE erasures SET scrubbed_at_ms = $1 WHERE id <= $2 AND scrubbed_at_ms IS NULL",
                &[&now.unix_millis(), &upto],
            )
            .await?;
        Ok(true)
    }

    /// Starts the background scrub after an erasure, unless one is running.
    fn schedule_scrub(&self) {
        use std::sync::atomic::Ordering;
        if self.scrubbing.swap(true, Ordering::AcqRel) {
            return;
        }
        let pool = self.pool.clone();
        let scrubbing = self.scrubbing.clone();
        tokio::spawn(async move {
            crate::store::scrub_until(|| Self::scrub_step(pool.clone()), crate::store::SCRUB_WAIT)
                .await;
            scrubbing.store(false, Ordering::Release);
        });
    }

    async fn plan(
        client: &impl GenericClient,
        cutoff: Timestamp,
    ) -> Result<RetentionPlan, DbError> {
        let mut plan = RetentionPlan {
            cutoff: Some(cutoff),
            ..RetentionPlan::default()
        };
        let rows = client
            .query(
                "SELECT s.customer_id, s.subject, MAX(r.received_at_ms) AS last, COUNT(*)
                 FROM subjects s JOIN consent_records r ON r.subject = s.subject
                 GROUP BY s.customer_id, s.subject
                 HAVING MAX(r.received_at_ms) < $1 ORDER BY last",
                &[&cutoff.unix_millis()],
            )
            .await?;
        let mut subjects: Vec<String> = Vec::with_capacity(rows.len());
        for row in &rows {
            plan.push_customer(
                row.try_get(0)?,
                Timestamp::from_unix_millis(row.try_get(2)?),
                row.try_get::<_, i64>(3)? as u64,
            );
            subjects.push(row.try_get(1)?);
        }
        if !subjects.is_empty() {
            for row in client
                .query(
                    "SELECT partner_id, COUNT(*) FROM consent_records
                     WHERE subject = ANY($1) GROUP BY partner_id",
                    &[&subjects],
                )
                .await?
            {
                *plan.per_partner.entry(row.try_get(0)?).or_default() +=
                    row.try_get::<_, i64>(1)? as u64;
            }
        }
        Ok(plan)
    }
}

/// The group-commit writer of one instance: takes every batch waiting
/// (up to [`GROUP_BATCHES`]) and stores them in one transaction under
/// [`HEAD_LOCK`]. Each batch is decided on its own before anything is
/// written, so a conflicting batch writes nothing and answers 409 while
/// the others commit. One commit (one WAL flush) then serves the whole
/// group, instead of one per batch with the lock held across each flush.
/// Every batch is still all or nothing, and is acknowledged only after
/// the commit.
async fn write_groups(pool: Pool, mut jobs: mpsc::Receiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut group = vec![first];
        let mut stored = store_group(&pool, &mut group, &mut jobs).await;
        // The head lock makes every group see the batches committed before
        // it, so a unique violation means something wrote outside the
        // lock: plan the group again, once, against what is stored now.
        if matches!(&stored, Err(e) if is_unique_violation(e)) {
            tracing::warn!("a group of batches collided with another writer; retrying");
            stored = store_group(&pool, &mut group, &mut jobs).await;
        }
        let mut outcomes = match stored {
            Ok(outcomes) => outcomes,
            Err(e) => {
                tracing::error!(error = %e, batches = group.len(), "a group of batches failed; none was stored");
                group
                    .iter()
                    .map(|_| Err(DbError::Task(format!("storing the batch failed: {e}"))))
                    .collect()
            }
        };
        for (job, outcome) in group.into_iter().zip(outcomes.drain(..)) {
            let _ = job.done.send(outcome);
        }
    }
}

/// One transaction for a group of batches: take [`HEAD_LOCK`], add to
/// `group` the batches that arrived meanwhile (while another instance
/// held the lock, say), read the head, and the subjects and stored ids
/// the whole group needs (one query each), decide every batch in memory
/// ([`plan_batch`]), then write the group's new subjects and records with
/// one INSERT each. About seven round trips and one commit, whatever the
/// group's size.
async fn store_group(
    pool: &Pool,
    group: &mut Vec<Job>,
    jobs: &mut mpsc::Receiver<Job>,
) -> Result<Vec<Result<BatchOutcome, DbError>>, DbError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&HEAD_LOCK])
        .await?;
    while group.len() < GROUP_BATCHES {
        match jobs.try_recv() {
            Ok(job) => group.push(job),
            Err(_) => break,
        }
    }
    let group: &[Job] = group;
    let (seq, head): (i64, String) = match tx
        .query_opt(
            "SELECT seq, chain FROM consent_records ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await?
    {
        Some(row) => (row.try_get(0)?, row.try_get(1)?),
        None => (0, GENESIS.to_owned()),
    };
    let records = || group.iter().flat_map(|job| job.records.iter());
    let mut customers: Vec<&str> = records().map(|r| r.record.customer_id.as_str()).collect();
    customers.sort_unstable();
    customers.dedup();
    let ids: Vec<&str> = records().map(|r| r.record.record_id.as_str()).collect();
    let subjects = tx
        .query(
            "SELECT customer_id, subject, salt FROM subjects WHERE customer_id = ANY($1)",
            &[&customers],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?))))
        .collect::<Result<HashMap<String, (String, Vec<u8>)>, DbError>>()?;
    let known = pairs(
        &tx.query(
            "SELECT record_id, content_sha256 FROM consent_records WHERE record_id = ANY($1)",
            &[&ids],
        )
        .await?,
    )?;
    let mut state = LedgerState {
        seq,
        head,
        subjects,
        known,
    };
    let mut subjects: Vec<NewSubject> = Vec::new();
    let mut rows: Vec<NewRow> = Vec::new();
    let mut outcomes = Vec::with_capacity(group.len());
    for job in group {
        // Each batch on its own: a conflict plans nothing and answers 409
        // while the others commit.
        match rules::plan_batch(
            &mut state,
            &job.records,
            job.received_at,
            &mut rules::random_salt,
        ) {
            Ok(planned) => {
                subjects.extend(planned.subjects);
                rows.extend(planned.rows);
                outcomes.push(Ok(planned.outcome));
            }
            Err(e) => outcomes.push(Err(e)),
        }
    }
    if !subjects.is_empty() {
        let column = |f: fn(&NewSubject) -> &str| -> Vec<&str> { subjects.iter().map(f).collect() };
        let salts: Vec<&[u8]> = subjects.iter().map(|s| s.salt.as_slice()).collect();
        tx.execute(
            "INSERT INTO subjects (customer_id, subject, salt)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])",
            &[&column(|s| &s.customer_id), &column(|s| &s.subject), &salts],
        )
        .await?;
    }
    if !rows.is_empty() {
        NewRows::of(&rows).insert(&tx).await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// The columns of the records a batch appends, for one `INSERT … SELECT
/// FROM unnest(…)`.
struct NewRows<'a> {
    seq: Vec<i64>,
    record_id: Vec<&'a str>,
    subject: Vec<&'a str>,
    partner_id: Vec<&'a str>,
    decided_at_ms: Vec<i64>,
    received_at_ms: Vec<i64>,
    effective_at_ms: Vec<i64>,
    supersedes: Vec<Option<&'a str>>,
    content_sha256: Vec<&'a str>,
    body: Vec<&'a str>,
    chain: Vec<&'a str>,
}

impl<'a> NewRows<'a> {
    /// The rows [`rules::plan_batch`] decided, as columns.
    fn of(rows: &'a [NewRow]) -> Self {
        NewRows {
            seq: rows.iter().map(|r| r.seq).collect(),
            record_id: rows.iter().map(|r| r.record_id.as_str()).collect(),
            subject: rows.iter().map(|r| r.subject.as_str()).collect(),
            partner_id: rows.iter().map(|r| r.partner_id.as_str()).collect(),
            decided_at_ms: rows.iter().map(|r| r.decided_at_ms).collect(),
            received_at_ms: rows.iter().map(|r| r.received_at_ms).collect(),
            effective_at_ms: rows.iter().map(|r| r.effective_at_ms).collect(),
            supersedes: rows.iter().map(|r| r.supersedes.as_deref()).collect(),
            content_sha256: rows.iter().map(|r| r.content_sha256.as_str()).collect(),
            body: rows.iter().map(|r| r.body.as_str()).collect(),
            chain: rows.iter().map(|r| r.chain.as_str()).collect(),
        }
    }

    async fn insert(&self, tx: &deadpool_postgres::Transaction<'_>) -> Result<(), DbError> {
        let params: [&(dyn ToSql + Sync); 11] = [
            &self.seq,
            &self.record_id,
            &self.subject,
            &self.partner_id,
            &self.decided_at_ms,
            &self.received_at_ms,
            &self.effective_at_ms,
            &self.supersedes,
            &self.content_sha256,
            &self.body,
            &self.chain,
        ];
        tx.execute(
            "INSERT INTO consent_records
                (seq, record_id, subject, partner_id, decided_at_ms, received_at_ms,
                 effective_at_ms, supersedes, content_sha256, body, chain)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],
                                  $5::bigint[], $6::bigint[], $7::bigint[], $8::text[],
                                  $9::text[], $10::text[], $11::text[])",
            &params,
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl Storage for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<(), DbError> {
        let client = self.client().await?;
        check_version(&client).await
    }

    async fn insert_batch(
        &self,
        records: Vec<NewRecord>,
        received_at: Timestamp,
    ) -> Result<BatchOutcome, DbError> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let stopped = || DbError::Task("the PostgreSQL writer has stopped".to_owned());
        self.writer
            .send(Job {
                records,
                received_at,
                done,
            })
            .await
            .map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }

    async fn records_for(&self, customer_id: &str) -> Result<Vec<ConsentRecordV1>, DbError> {
        let client = self.client().await?;
        client
            .query(
                "SELECT r.body, r.received_at_ms, s.salt
                 FROM consent_records r JOIN subjects s ON s.subject = r.subject
                 WHERE s.customer_id = $1 ORDER BY r.seq",
                &[&customer_id],
            )
            .await?
            .iter()
            .map(|row| {
                read_record(
                    row.try_get(0)?,
                    row.try_get(1)?,
                    customer_id,
                    row.try_get(2)?,
                )
            })
            .collect()
    }

    async fn current_records(&self, customer_id: &str) -> Result<Vec<ConsentRecordV1>, DbError> {
        let client = self.client().await?;
        let Some(salt) = client
            .query_opt(
                "SELECT salt FROM subjects WHERE customer_id = $1",
                &[&customer_id],
            )
            .await?
            .map(|r| r.try_get::<_, Vec<u8>>(0))
            .transpose()?
        else {
            return Ok(Vec::new());
        };
        let rows: Vec<Decided> = client
            .query(
                "SELECT r.seq, r.record_id, r.partner_id, r.effective_at_ms, r.supersedes
                 FROM consent_records r JOIN subjects s ON s.subject = r.subject
                 WHERE s.customer_id = $1",
                &[&customer_id],
            )
            .await?
            .iter()
            .map(decided)
            .collect::<Result<_, _>>()?;
        let winners = current_per_partner(&rows);
        if winners.is_empty() {
            return Ok(Vec::new());
        }
        let bodies: HashMap<i64, (String, i64)> = client
            .query(
                "SELECT seq, body, received_at_ms FROM consent_records WHERE seq = ANY($1)",
                &[&winners],
            )
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?))))
            .collect::<Result<_, DbError>>()?;
        winners
            .iter()
            .map(|seq| {
                let (body, received_at_ms) = bodies
                    .get(seq)
                    .ok_or_else(|| DbError::Corrupt(format!("record #{seq} vanished")))?;
                read_record(body, *received_at_ms, customer_id, &salt)
            })
            .collect()
    }

    async fn partner_contacts(
        &self,
        partner_id: &str,
        now: Timestamp,
        out: mpsc::Sender<ConsentRecordV1>,
    ) -> Result<(), DbError> {
        let mut client = self.client().await?;
        let tx = client.build_transaction().read_only(true).start().await?;
        tx.batch_execute(EXPORT_TIMEOUT).await?;
        // A row stream: rows arrive as they are read, and the connection
        // stops reading from the server while the receiver is full, so
        // an export of any size holds one customer's rows at a time.
        let rows = tx
            .query_raw(&CONTACT_ROWS_SQL.replace("?1", "$1"), [partner_id])
            .await?;
        let mut rows = std::pin::pin!(rows);
        let mut groups = ContactGroups::new(now);
        while let Some(row) = rows.try_next().await? {
            let row = ContactRow {
                decided: decided(&row)?,
                subject: row.try_get(5)?,
                customer_id: row.try_get(6)?,
                body: row.try_get(7)?,
                received_at_ms: row.try_get(8)?,
                salt: row.try_get(9)?,
            };
            if let Some(contact) = groups.push(row)? {
                if out.send(contact).await.is_err() {
                    return Ok(());
                }
            }
        }
        if let Some(contact) = groups.finish()? {
            let _ = out.send(contact).await;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn erase(
        &self,
        customer_ids: Vec<String>,
        kind: ErasureKind,
        by_whom: &str,
        detail: serde_json::Value,
        now: Timestamp,
    ) -> Result<u64, DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // As a writer: no batch appends for a customer while their mapping goes.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&HEAD_LOCK])
            .await?;
        let records = Self::erase_in(&tx, &customer_ids, kind, by_whom, &detail, now).await?;
        tx.commit().await?;
        drop(client);
        self.schedule_scrub();
        Ok(records)
    }

    async fn retention_plan(&self, cutoff: Timestamp) -> Result<RetentionPlan, DbError> {
        let client = self.client().await?;
        Self::plan(&client, cutoff).await
    }

    async fn run_retention(
        &self,
        cutoff: Timestamp,
        by_whom: &str,
        now: Timestamp,
    ) -> Result<RetentionPlan, DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Under the head lock no record arrives between the plan and the
        // erasure, so exactly the planned (inactive) customers go.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&HEAD_LOCK])
            .await?;
        let plan = Self::plan(&tx, cutoff).await?;
        Self::erase_in(
            &tx,
            &plan.customers,
            ErasureKind::Retention,
            by_whom,
            &plan.detail(),
            now,
        )
        .await?;
        tx.commit().await?;
        drop(client);
        self.schedule_scrub();
        Ok(plan)
    }

    async fn scrub(&self, wait: Duration) -> Result<bool, DbError> {
        Ok(crate::store::scrub_until(|| Self::scrub_step(self.pool.clone()), wait).await)
    }

    async fn erasures(&self) -> Result<Vec<serde_json::Value>, DbError> {
        let client = self.client().await?;
        client
            .query(
                "SELECT at_ms, kind, by_whom, customers, records, detail, scrubbed_at_ms
                 FROM erasures ORDER BY id",
                &[],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(rules::erasure_entry(
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                    r.try_get(6)?,
                ))
            })
            .collect()
    }

    async fn count(&self) -> Result<u64, DbError> {
        let client = self.client().await?;
        let n: i64 = client
            .query_one("SELECT COUNT(*) FROM consent_records", &[])
            .await?
            .try_get(0)?;
        Ok(n as u64)
    }

    async fn ledger_head(&self) -> Result<Head, DbError> {
        let client = self.client().await?;
        // One statement, one snapshot: the count and head agree.
        let row = client
            .query_one(
                "SELECT (SELECT COUNT(*) FROM consent_records),
                        (SELECT chain FROM consent_records ORDER BY seq DESC LIMIT 1)",
                &[],
            )
            .await?;
        Ok(Head {
            count: row.try_get::<_, i64>(0)? as u64,
            head: row
                .try_get::<_, Option<String>>(1)?
                .unwrap_or_else(|| GENESIS.to_owned()),
        })
    }

    async fn verify(&self, expect: Option<(u64, String)>) -> Result<Head, VerifyError> {
        let storage =
            |e: tokio_postgres::Error| VerifyError::Storage(DbError::Postgres(e).to_string());
        let mut client = self
            .client()
            .await
            .map_err(|e| VerifyError::Storage(e.to_string()))?;
        // One snapshot for the records, the mappings and the checkpoint.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(storage)?;
        tx.batch_execute("SET LOCAL statement_timeout = 0")
            .await
            .map_err(storage)?;
        let rows = tx
            .query_raw(ledger::VERIFY_ROWS_SQL, std::iter::empty::<&str>())
            .await
            .map_err(storage)?;
        let mut rows = std::pin::pin!(rows);
        let mut verifier = Verifier::default();
        while let Some(row) = rows.try_next().await.map_err(storage)? {
            let row = &row;
            let get_str = |i: usize| row.try_get::<_, &str>(i).map_err(storage);
            verifier
                .record(StoredRow {
                    seq: row.try_get(0).map_err(storage)?,
                    record_id: get_str(1)?,
                    subject: get_str(2)?,
                    partner_id: get_str(3)?,
                    decided_at_ms: row.try_get(4).map_err(storage)?,
                    received_at_ms: row.try_get(5).map_err(storage)?,
                    effective_at_ms: row.try_get(6).map_err(storage)?,
                    supersedes: row.try_get(7).map_err(storage)?,
                    content_sha256: get_str(8)?,
                    body: get_str(9)?,
                    chain: get_str(10)?,
                    accounted: row.try_get(11).map_err(storage)?,
                })
                .map_err(VerifyError::Broken)?;
        }
        let subjects = tx
            .query_raw(
                "SELECT customer_id, subject, salt FROM subjects",
                std::iter::empty::<&str>(),
            )
            .await
            .map_err(storage)?;
        let mut subjects = std::pin::pin!(subjects);
        while let Some(row) = subjects.try_next().await.map_err(storage)? {
            Verifier::mapping(
                row.try_get(0).map_err(storage)?,
                row.try_get(1).map_err(storage)?,
                row.try_get(2).map_err(storage)?,
            )
            .map_err(VerifyError::Broken)?;
        }
        let now = verifier.finish();
        let result = match expect {
            None => Ok(now),
            Some((count, head)) => {
                let at_count = if count == 0 {
                    Some(GENESIS.to_owned())
                } else {
                    tx.query_opt(
                        "SELECT chain FROM consent_records WHERE seq = $1",
                        &[&(count as i64)],
                    )
                    .await
                    .map_err(storage)?
                    .map(|r| r.try_get(0))
                    .transpose()
                    .map_err(storage)?
                };
                ledger::check_checkpoint(now, count, &head, at_count).map_err(VerifyError::Broken)
            }
        };
        tx.commit().await.map_err(storage)?;
        result
    }

    async fn add_key(&self, spec: &KeySpec, now: Timestamp) -> Result<(ApiKey, String), DbError> {
        let new = NewKey::make(spec, now)?;
        let k = &new.key;
        self.client()
            .await?
            .execute(
                "INSERT INTO api_keys (id, role, partner_id, label, secret_sha256, created_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &k.id,
                    &k.role.as_str(),
                    &k.partner_id,
                    &k.label,
                    &new.secret_sha256,
                    &now.unix_millis(),
                ],
            )
            .await?;
        Ok((new.key, new.text))
    }

    async fn list_keys(&self) -> Result<Vec<ApiKey>, DbError> {
        let client = self.client().await?;
        client
            .query(
                "SELECT id, role, partner_id, label, created_at_ms, revoked_at_ms
                 FROM api_keys ORDER BY created_at_ms, id",
                &[],
            )
            .await?
            .iter()
            .map(key_row)
            .collect()
    }

    async fn revoke_key(&self, id: &str, now: Timestamp) -> Result<bool, DbError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE api_keys SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms IS NULL",
                &[&id, &now.unix_millis()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn find_key(&self, credential: &str) -> Result<Option<ApiKey>, DbError> {
        let Some((id, secret)) = keys::split_key(credential) else {
            return Ok(None);
        };
        let client = self.client().await?;
        let found = client
            .query_opt(
                "SELECT id, role, partner_id, label, created_at_ms, revoked_at_ms, secret_sha256
                 FROM api_keys WHERE id = $1 AND revoked_at_ms IS NULL",
                &[&id],
            )
            .await?;
        let Some(row) = found else {
            return Ok(None);
        };
        let hash: &str = row.try_get(6)?;
        if !keys::secret_matches(hash, secret) {
            return Ok(None);
        }
        key_row(&row).map(Some)
    }
}
