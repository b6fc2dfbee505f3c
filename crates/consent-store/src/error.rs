//! The storage's one error type.

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
