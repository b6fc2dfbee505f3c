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
}
