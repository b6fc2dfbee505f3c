//! Which database to open: the choice the command line makes between the
//! two [`Storage`] backends. Kept apart from `store`, so the trait knows
//! no backend and each backend knows only the trait.

use std::path::PathBuf;
use std::sync::Arc;

use consent_core::Timestamp;

use crate::db::{self, Db, RetentionPlan};
use crate::ledger::{self, Head, VerifyError};
use crate::pg::PgStore;
use crate::store::{SqliteStore, Storage};

/// What a command does with a database that does not exist yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// Refuse it (`verify`, `retention`, `erasures list`, `keys list`).
    Refuse,
    /// Refuse it, pointing at `--create` (`keys add`).
    RefuseOfferCreate,
    /// Create it (`keys add --create`).
    Create,
}

/// Which database to open, from the command line.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A SQLite file (`--db`).
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`--database-url`); never printed (it may hold a password).
    Postgres(String),
}

impl Backend {
    /// `--database-url` wins over `--db` when given.
    pub fn choose(db: PathBuf, database_url: Option<String>) -> Self {
        match database_url.filter(|u| !u.trim().is_empty()) {
            Some(url) => Backend::Postgres(url),
            None => Backend::Sqlite(db),
        }
    }

    /// Opens and migrates the database. Errors name the flag and the cause.
    pub async fn open(&self) -> Result<Arc<dyn Storage>, String> {
        match self {
            Backend::Sqlite(path) => SqliteStore::open(path.clone())
                .await
                .map(|s| Arc::new(s) as Arc<dyn Storage>)
                .map_err(|e| format!("opening the database {} (--db): {e}", path.display())),
            Backend::Postgres(url) => PgStore::connect(url, true)
                .await
                .map(|s| Arc::new(s) as Arc<dyn Storage>),
        }
    }

    /// What to show in logs: the file, or the server and database without
    /// credentials.
    pub fn describe(&self) -> String {
        match self {
            Backend::Sqlite(path) => format!("sqlite:{}", path.display()),
            Backend::Postgres(url) => crate::pg::describe_url(url),
        }
    }

    /// Recomputes the ledger without writing anything (a SQLite file is
    /// opened read-only and not migrated; PostgreSQL is read in one
    /// snapshot); with `expect`, also checks an earlier checkpoint.
    pub async fn verify(&self, expect: Option<(u64, String)>) -> Result<Head, VerifyError> {
        self.require_sqlite_schema(Missing::Refuse)
            .map_err(VerifyError::Storage)?;
        match self {
            Backend::Sqlite(path) => {
                let conn = Db::open_read_only(path)
                    .map_err(|e| VerifyError::Storage(format!("{}: {e}", path.display())))?;
                match expect {
                    Some((count, head)) => ledger::verify_extends(&conn, count, &head),
                    None => ledger::verify(&conn),
                }
            }
            Backend::Postgres(url) => {
                PgStore::connect(url, false)
                    .await
                    .map_err(VerifyError::Storage)?
                    .verify(expect)
                    .await
            }
        }
    }

    /// What a retention run with this cutoff would anonymise, without
    /// writing anything.
    pub async fn retention_plan(&self, cutoff: Timestamp) -> Result<RetentionPlan, String> {
        self.require_sqlite_schema(Missing::Refuse)?;
        match self {
            Backend::Sqlite(path) => {
                let conn =
                    Db::open_read_only(path).map_err(|e| format!("{}: {e}", path.display()))?;
                db::retention_plan(&conn, cutoff).map_err(|e| e.to_string())
            }
            Backend::Postgres(url) => PgStore::connect(url, false)
                .await?
                .retention_plan(cutoff)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// Opens the database for a command (`keys`, `retention`), which never
    /// creates one by accident: a SQLite file that is not there (or holds
    /// no schema) and a PostgreSQL database with no schema are refused,
    /// naming the flag, unless `missing` is [`Missing::Create`]
    /// (`--create`). An existing, older schema is brought up to date, as
    /// the host would at start-up.
    pub async fn open_existing(&self, missing: Missing) -> Result<Arc<dyn Storage>, String> {
        match (self, missing) {
            (_, Missing::Create) => self.open().await,
            (Backend::Sqlite(_), _) => {
                self.require_sqlite_schema(missing)?;
                self.open().await
            }
            (Backend::Postgres(url), _) => {
                PgStore::connect_existing(url, missing == Missing::RefuseOfferCreate)
                    .await
                    .map(|s| Arc::new(s) as Arc<dyn Storage>)
            }
        }
    }

    /// For a SQLite `--db`: an error unless the file is there and holds a
    /// schema (any version: opening it says if it is not the one this
    /// build reads). Creates nothing. Nothing to check for PostgreSQL
    /// here: the schema is checked on connecting.
    pub fn require_sqlite_schema(&self, missing: Missing) -> Result<(), String> {
        let Backend::Sqlite(path) = self else {
            return Ok(());
        };
        if missing == Missing::Create {
            return Ok(());
        }
        let hint = match missing {
            Missing::RefuseOfferCreate => ", or pass --create to make an empty one",
            _ => "",
        };
        if !path.is_file() {
            return Err(format!(
                "no database at {} (--db): start the host on it first{hint}",
                path.display()
            ));
        }
        let version = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .and_then(|conn| conn.query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0)))
        .map_err(|e| format!("opening the database {} (--db): {e}", path.display()))?;
        if version == 0 {
            return Err(format!(
                "no Consent Prompt schema in {} (--db): start the host on it first{hint}",
                path.display()
            ));
        }
        Ok(())
    }

    /// Which of these record ids are stored, read only (an import's dry
    /// run changes nothing).
    pub async fn stored_ids(&self, ids: Vec<String>) -> Result<Vec<String>, String> {
        self.require_sqlite_schema(Missing::Refuse)?;
        match self {
            Backend::Sqlite(path) => {
                let conn =
                    Db::open_read_only(path).map_err(|e| format!("{}: {e}", path.display()))?;
                db::stored_ids(&conn, &ids).map_err(|e| e.to_string())
            }
            Backend::Postgres(url) => PgStore::connect(url, false)
                .await?
                .stored_ids(ids)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// The erasure log, read only, from a database that exists.
    pub async fn erasures(&self) -> Result<Vec<serde_json::Value>, String> {
        self.require_sqlite_schema(Missing::Refuse)?;
        match self {
            Backend::Sqlite(path) => {
                let conn =
                    Db::open_read_only(path).map_err(|e| format!("{}: {e}", path.display()))?;
                db::erasures(&conn).map_err(|e| format!("reading the erasures: {e}"))
            }
            Backend::Postgres(url) => PgStore::connect(url, false)
                .await?
                .erasures()
                .await
                .map_err(|e| format!("reading the erasures: {e}")),
        }
    }
}
