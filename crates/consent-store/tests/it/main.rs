//! The storage's rules as tables, without a database: what a batch
//! stores, which answer is current, what a partner export lists, what a
//! retention run counts. The drivers only fetch, call these and write.

mod agree;
mod retention;
mod rules;
