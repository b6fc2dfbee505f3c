//! Consent Prompt's engine: the rules for asking partner-consent questions at
//! checkout, the records that prove the answers, config validation and the
//! versioned wire types.
//!
//! This crate does no IO and depends on no web crate. The clock, randomness
//! and hashing come in as values or functions from the caller, so every rule
//! is tested on the host with plain `cargo test`.
//!
//! - [`plan::plan`] decides which questions to ask.
//! - [`current`] is the one rule for which answer counts now.
//! - [`record::build_record`] turns an answer into a `consent-record/1`.
//! - [`config::validate`] checks a venue's config and names every bad field.
//! - [`wire`] holds the JSON shapes, separate from the [`domain`] types.

pub mod compact;
pub mod config;
pub mod contact;
pub mod current;
pub mod delivery;
pub mod domain;
#[doc(hidden)]
pub mod fixtures;
pub mod html;
pub mod i18n;
pub mod locale;
pub mod outbox;
pub mod outcome;
pub mod plan;
pub mod receipt;
pub mod record;
pub mod session;
pub mod theme;
pub mod time;
pub mod wire;

pub use plan::{plan, Plan};
pub use time::Timestamp;
