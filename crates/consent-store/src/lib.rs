//! The ledger of consent records: what a backend decides and how it is
//! stored, with no HTTP.
//!
//! - [`store::Storage`] is what the host calls: one async trait, two
//!   drivers: SQLite ([`db`], the default) and PostgreSQL ([`pg`], for
//!   several host instances on one database); [`backend::Backend`] picks
//!   one from the command line.
//! - [`ledger`] is the chain and its verification, subjects and sealed
//!   values; [`keys`] the API keys.

pub mod activity;
pub mod backend;
pub mod contacts;
pub mod db;
pub mod error;
pub mod events;
pub mod keys;
pub mod ledger;
pub mod pg;
pub mod rules;
pub mod store;
pub mod suppress;
#[cfg(feature = "testing")]
pub mod testing;

pub use backend::{Backend, Missing};
pub use db::{Db, DbError};
pub use store::Storage;

/// Lowercase hex SHA-256 of a string's UTF-8 bytes.
pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// The wall clock, for what the storage and the host stamp themselves (a
/// scrub's time, the webhook queue's): never a test's fixed clock.
pub fn wall_now() -> consent_core::Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    consent_core::Timestamp::from_unix_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}
