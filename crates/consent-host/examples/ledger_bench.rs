//! Read-side benchmark for `bench/run.sh` and docs/benchmarks.md: how long
//! `consent-host verify` takes on a ledger of `--records` records, and how
//! long the preferences of one customer with `--customer-records` records
//! take (the attack review's 20,000-record patron).
//!
//! ```sh
//! cargo run -p consent-host --profile host --example ledger_bench -- --records 100000
//! ```
//!
//! Builds the database in a temporary directory with the host's own
//! storage (`Db::insert_batch`, batches of 500), then times each read
//! `--runs` times and prints the medians as JSON.

use std::time::{Duration, Instant};

use clap::Parser;

#[path = "../tests/common/mod.rs"]
mod common;
use consent_core::domain::DecisionState::{Given, Refused, Withdrawn};
use consent_core::Timestamp;
use consent_host::db::NewRecord;
use consent_host::{ledger, Db};

#[derive(Parser, Debug)]
struct Args {
    /// Records in the ledger for `verify`.
    #[arg(long, default_value_t = 100_000)]
    records: u32,
    /// Records of the one customer whose preferences are read.
    #[arg(long, default_value_t = 20_000)]
    customer_records: u32,
    /// Timed repetitions of each read.
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

fn median(mut d: Vec<Duration>) -> f64 {
    d.sort();
    d[d.len() / 2].as_secs_f64() * 1000.0
}

fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("ledger.db");
    let db = Db::open(&path).expect("open");
    let states = [Given, Refused, Withdrawn];
    let mut n = 0u32;
    let mut insert = |customer: &dyn Fn(u32) -> String, count: u32| {
        let records: Vec<NewRecord> = (0..count)
            .map(|_| {
                n += 1;
                NewRecord {
                    record: common::record(
                        n,
                        &customer(n),
                        &format!("partner-{}", n % 40),
                        states[n as usize % 3],
                        i64::from(n % 200),
                    ),
                }
            })
            .collect();
        for chunk in records.chunks(500) {
            db.insert_batch(chunk, Timestamp::from_unix_millis(1_800_000_000_000))
                .expect("insert");
        }
    };
    let started = Instant::now();
    insert(&|_| "PATRON-20K".to_owned(), args.customer_records);
    insert(
        &|n| format!("C-{}", n % 5_000),
        args.records.saturating_sub(args.customer_records),
    );
    eprintln!(
        "built {n} records in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut verify_runs = Vec::new();
    let mut head = None;
    for _ in 0..args.runs {
        let conn = Db::open_read_only(&path).expect("read-only");
        let t = Instant::now();
        head = Some(ledger::verify(&conn).expect("verifies"));
        verify_runs.push(t.elapsed());
    }
    let mut preference_runs = Vec::new();
    let mut partners = 0;
    for _ in 0..args.runs {
        let t = Instant::now();
        partners = db.preferences("PATRON-20K").expect("preferences").len();
        preference_runs.push(t.elapsed());
    }
    let head = head.expect("at least one run");
    println!(
        "{}",
        serde_json::json!({
            "records": head.count,
            "verifyMedianMs": median(verify_runs),
            "customerRecords": args.customer_records,
            "preferencesMedianMs": median(preference_runs),
            "partners": partners,
            "runs": args.runs,
        })
    );
}
