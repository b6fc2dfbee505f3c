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
//!
//! With `--host-bin`, it also builds a store of `--export-contacts`
//! patrons who each said yes to one partner, starts the real host on it
//! (127.0.0.1, port 0), downloads that partner's CSV export over HTTP, and
//! samples the host's resident memory every 20 ms before and during the
//! download: the export streams, so the peak should stay near the idle
//! figure whatever the number of contacts.
//!
//! With `--database-url postgres://…/postgres` the same on PostgreSQL: a
//! fresh database on that server, filled through `PgStore::insert_batch`,
//! `verify` and the preferences read through the storage trait.

use std::time::{Duration, Instant};

use clap::Parser;

#[path = "../tests/it/common/mod.rs"]
mod common;
use consent_core::domain::DecisionState::{Given, Refused, Withdrawn};
use consent_core::Timestamp;
use consent_host::db::NewRecord;
use consent_host::pg::PgStore;
use consent_host::{ledger, Db, Storage};

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
    /// The host binary, for the export measurement (skipped without it).
    #[arg(long)]
    host_bin: Option<std::path::PathBuf>,
    /// Patrons in the export measurement.
    #[arg(long, default_value_t = 100_000)]
    export_contacts: u32,
    /// A PostgreSQL server to run on instead of SQLite (creates a database).
    #[arg(long)]
    database_url: Option<String>,
}

/// The resident memory of a process, in KiB (Linux).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Starts the host on `db`, downloads the partner's CSV export, and
/// reports time, bytes, rows and memory.
fn export_measurement(host_bin: &std::path::Path, contacts: u32) -> serde_json::Value {
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("export.db");
    let db = Db::open(&path).expect("open");
    let (_, key) = db
        .add_key(
            &consent_host::keys::KeySpec {
                role: consent_host::keys::Role::Admin,
                partner_id: None,
                label: Some("bench".to_owned()),
            },
            Timestamp::from_unix_millis(0),
        )
        .expect("key");
    let records: Vec<NewRecord> = (0..contacts)
        .map(|n| {
            NewRecord::new(common::record(
                1_000_000 + n,
                &format!("P-{n}"),
                "export-partner",
                Given,
                10,
            ))
        })
        .collect();
    for chunk in records.chunks(500) {
        db.insert_batch(chunk, Timestamp::from_unix_millis(1_800_000_000_000))
            .expect("insert");
    }
    drop(records);
    drop(db);
    let mut child = std::process::Command::new(host_bin)
        .args([
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--token-secret",
            common::SECRET,
            "--venue",
            common::VENUE,
            "--db",
        ])
        .arg(&path)
        .arg("--dist")
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start the host");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("start-up line");
    let port: u16 = line
        .trim()
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let pid = child.id();
    std::thread::sleep(Duration::from_millis(300));
    let idle_kib = rss_kib(pid);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kib(pid));
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        })
    };
    let started = Instant::now();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "GET /api/v1/partners/export-partner/contacts?format=csv HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut bytes = 0usize;
    let mut newlines = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        bytes += n;
        newlines += buf[..n].iter().filter(|b| **b == b'\n').count();
    }
    let seconds = started.elapsed().as_secs_f64();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak_kib = sampler.join().unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    serde_json::json!({
        "contacts": contacts,
        "seconds": seconds,
        "bytes": bytes,
        // Header lines, the CSV header and one line per contact.
        "lines": newlines,
        "idleRssKiB": idle_kib,
        "peakRssKiB": peak_kib,
    })
}

fn median(mut d: Vec<Duration>) -> f64 {
    d.sort();
    d[d.len() / 2].as_secs_f64() * 1000.0
}

/// The records of the bench, in insertion order: the 20,000-record patron
/// first, then everyone else.
fn bench_records(args: &Args) -> Vec<NewRecord> {
    let states = [Given, Refused, Withdrawn];
    (1..=args.records.max(args.customer_records))
        .map(|n| {
            let customer = if n <= args.customer_records {
                "PATRON-20K".to_owned()
            } else {
                format!("C-{}", n % 5_000)
            };
            NewRecord::new(common::record(
                n,
                &customer,
                &format!("partner-{}", n % 40),
                states[n as usize % 3],
                i64::from(n % 200),
            ))
        })
        .collect()
}

fn postgres(args: &Args, server: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let url = common::fresh_database(server).await;
        let store = PgStore::connect(&url, true).await.expect("connect");
        let started = Instant::now();
        for chunk in bench_records(args).chunks(500) {
            store
                .insert_batch(
                    chunk.to_vec(),
                    Timestamp::from_unix_millis(1_800_000_000_000),
                )
                .await
                .expect("insert");
        }
        eprintln!(
            "built {} records in {:.1} s",
            args.records.max(args.customer_records),
            started.elapsed().as_secs_f64()
        );
        let mut verify_runs = Vec::new();
        let mut head = None;
        for _ in 0..args.runs {
            let t = Instant::now();
            head = Some(store.verify(None).await.expect("verifies"));
            verify_runs.push(t.elapsed());
        }
        let mut preference_runs = Vec::new();
        let mut partners = 0;
        for _ in 0..args.runs {
            let t = Instant::now();
            partners = store
                .preferences("PATRON-20K")
                .await
                .expect("preferences")
                .len();
            preference_runs.push(t.elapsed());
        }
        let head = head.expect("at least one run");
        println!(
            "{}",
            serde_json::json!({
                "backend": "postgres",
                "records": head.count,
                "verifyMedianMs": median(verify_runs),
                "customerRecords": args.customer_records,
                "preferencesMedianMs": median(preference_runs),
                "partners": partners,
                "runs": args.runs,
            })
        );
    });
}

fn main() {
    let args = Args::parse();
    if let Some(server) = args.database_url.clone() {
        postgres(&args, &server);
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("ledger.db");
    let db = Db::open(&path).expect("open");
    let states = [Given, Refused, Withdrawn];
    let mut n = 0u32;
    let mut insert = |customer: &dyn Fn(u32) -> String, count: u32| {
        let records: Vec<NewRecord> = (0..count)
            .map(|_| {
                n += 1;
                NewRecord::new(common::record(
                    n,
                    &customer(n),
                    &format!("partner-{}", n % 40),
                    states[n as usize % 3],
                    i64::from(n % 200),
                ))
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
    let export = args
        .host_bin
        .as_deref()
        .map(|bin| export_measurement(bin, args.export_contacts));
    println!(
        "{}",
        serde_json::json!({
            "records": head.count,
            "verifyMedianMs": median(verify_runs),
            "customerRecords": args.customer_records,
            "preferencesMedianMs": median(preference_runs),
            "partners": partners,
            "runs": args.runs,
            "export": export,
        })
    );
}
