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

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio::sync::mpsc;
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

use crate::db::DbError;
use crate::keys::ApiKey;
use crate::rules::Decided;

mod erasure;
mod feeds;
mod schema;
mod storage;
mod writer;

pub use schema::SCHEMA_VERSION;
use schema::{check_version, run_migrations, schema_version};
use writer::{write_groups, Job};

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

/// The PostgreSQL backend: a pool of connections to one database.
pub struct PgStore {
    pool: Pool,
    /// Whether a background scrub loop is running (one at a time).
    scrubbing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Batches waiting for the group-commit writer (see [`write_groups`]).
    writer: mpsc::Sender<Job>,
    /// Whether writes and erasures queue webhook events.
    notify: writer::Notify,
}

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
        let schema = if migrate {
            Schema::Migrate
        } else {
            Schema::Check
        };
        Self::connect_with(url, schema).await
    }

    /// Connects as [`PgStore::connect`] with `migrate`, but refuses a
    /// database with no Consent Prompt schema at all (the wrong database,
    /// or a typo in the URL) instead of creating one: for the commands,
    /// which never create a database unless told to (`--create`). An
    /// existing, older schema is brought up to date as the host would.
    /// With `offer_create`, the refusal points at `--create`.
    pub async fn connect_existing(url: &str, offer_create: bool) -> Result<Self, String> {
        Self::connect_with(url, Schema::MigrateExisting { offer_create }).await
    }

    async fn connect_with(url: &str, schema: Schema) -> Result<Self, String> {
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
        let notify = writer::Notify::default();
        tokio::spawn(write_groups(pool.clone(), jobs, notify.clone()));
        let store = PgStore {
            pool,
            writer,
            notify,
            scrubbing: Default::default(),
        };
        let connect_error = |e: DbError| format!("--database-url: cannot use {shown}: {e}");
        let mut client = store.client().await.map_err(connect_error)?;
        match schema {
            Schema::Check => {
                if schema_version(&client).await.map_err(connect_error)? == 0 {
                    return Err(no_schema(&shown, false));
                }
                check_version(&client).await.map_err(connect_error)?;
            }
            Schema::Migrate => run_migrations(&mut client).await.map_err(connect_error)?,
            Schema::MigrateExisting { offer_create } => {
                if schema_version(&client).await.map_err(connect_error)? == 0 {
                    return Err(no_schema(&shown, offer_create));
                }
                run_migrations(&mut client).await.map_err(connect_error)?;
            }
        }
        Ok(store)
    }

    async fn client(&self) -> Result<Object, DbError> {
        self.pool.get().await.map_err(pool_error)
    }
}

fn is_unique_violation(e: &DbError) -> bool {
    matches!(e, DbError::Postgres(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION))
}

// Rows are read with `try_get`: a column that does not convert is a
// `DbError` (a 500 with the cause logged), never a panic.

fn decided(row: &tokio_postgres::Row) -> Result<Decided, DbError> {
    Ok(crate::decided_of!(row, try_get))
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

/// What [`PgStore::connect_with`] does with the schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Schema {
    /// Only checks that it is the version this build reads.
    Check,
    /// Creates it or brings it up to date (the serving host; `--create`).
    Migrate,
    /// Brings an existing one up to date; refuses a database without one
    /// (pointing at `--create` when the command takes it).
    MigrateExisting { offer_create: bool },
}

/// The refusal of a database with no Consent Prompt schema.
fn no_schema(shown: &str, offer_create: bool) -> String {
    let create = if offer_create {
        ", or pass --create to make an empty one"
    } else {
        ""
    };
    format!(
        "no Consent Prompt schema in {shown} (--database-url): check the URL, or start the host on it first{create}"
    )
}
