//! The reference host's integration tests, in one binary: the host, its
//! storage and Yew's server rendering are linked once, not once per file.
//!
//! Each module tests one area against the real router (on the run's
//! backend, SQLite or PostgreSQL; see `common`) or a real host process.

mod common;

mod activity;
mod after_checkout;
mod attacks;
mod auth;
mod check_config;
mod cli;
mod defects;
mod delivery;
mod frame;
mod hosts;
mod http;
mod import;
mod ledger;
mod partners;
mod postgres;
mod prompt;
mod records;
mod studio;
mod verify_cli;
