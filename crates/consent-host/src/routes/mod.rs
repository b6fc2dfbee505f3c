//! The API's handlers, one module per resource. Each handler takes what
//! the extractors have already checked (the caller, ids from the path, a
//! limited and strictly parsed body) and reads as its intent: check what
//! the caller may do, ask the storage, answer.

pub mod customers;
pub mod demo;
pub mod ledger;
pub mod partners;
pub mod records;
pub mod studio;
pub mod suppressions;
