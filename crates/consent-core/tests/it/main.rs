//! consent-core's integration tests, in one binary: the planner, the
//! session, records, config and the outbox, each as tables and properties.

mod common;

mod config;
mod current;
mod outbox;
mod outcome;
mod planner;
mod records;
mod session;
