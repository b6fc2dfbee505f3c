//! Ingest load generator for `bench/run.sh`: records per second and latency
//! of `POST /api/v1/consent-records` against the real host binary, and the
//! same machine's raw SQLite insert rate as a baseline.
//!
//! With `--database-url postgres://…/postgres` (a server the bench may
//! create databases on) it measures the host on PostgreSQL instead: one
//! and two host instances sharing a fresh database (clients spread over
//! them), against raw PostgreSQL inserts of the same rows, in
//! transactions of the same size, from the same number of connections:
//!
//! ```sh
//! target/host/examples/ingest_bench --host-bin target/host/consent-host --dist dist \
//!     --database-url "$PG_THROWAWAY_URL" --clients 16 --batches 10 --instances 1,2
//! ```
//!
//! ```sh
//! cargo build -p consent-host --profile host
//! cargo build -p consent-host --profile host --example ingest_bench
//! target/host/examples/ingest_bench --host-bin target/host/consent-host --dist dist
//! ```
//!
//! Every cell starts its own host on 127.0.0.1 (`--port 0`) with a fresh
//! database in a temporary directory, and stops it (SIGTERM) afterwards.
//! Each cell is bounded by count and by time: at most `--max-records`
//! records (warm-up included) or `--max-secs` seconds of measurement,
//! whichever comes first; a single request gives up after 10 s. Prints one
//! JSON document on stdout; progress goes to stderr.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

// The host tests' builders: valid records made by consent-core's own
// record builder, as the widget makes them.
#[path = "../tests/it/common/mod.rs"]
mod common;
use consent_core::domain::DecisionState::{Given, Refused};
use consent_core::wire::ConsentRecordV1;
use consent_host::{sha256_hex, Db};
use rusqlite::{params, Connection, TransactionBehavior};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufStream};
use tokio::net::TcpStream;

/// One request may take at most this long before the cell is failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the host may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Parser, Debug)]
#[command(about = "Consent host ingest benchmark (loopback only)")]
struct Args {
    /// The host binary (`cargo build -p consent-host --profile host`).
    #[arg(long, default_value = "target/host/consent-host")]
    host_bin: PathBuf,
    /// The widget build the host serves (only needs to exist).
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
    /// Concurrent clients, one keep-alive connection each.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    clients: Vec<usize>,
    /// Records per request (and per baseline transaction).
    #[arg(long, value_delimiter = ',', default_value = "1,10")]
    batches: Vec<usize>,
    /// Most records per cell, warm-up included.
    #[arg(long, default_value_t = 4_000)]
    max_records: usize,
    /// Most seconds of measurement per cell.
    #[arg(long, default_value_t = 10.0)]
    max_secs: f64,
    /// Where the temporary databases go (a real disk, so fsync is real).
    #[arg(long)]
    tmp: Option<PathBuf>,
    /// How many times to run every cell.
    #[arg(long, default_value_t = 1)]
    rounds: u32,
    /// Microseconds to sleep between baseline transactions (for diagnosis).
    #[arg(long, default_value_t = 0)]
    baseline_gap_us: u64,
    /// Run only the raw SQLite baseline (for diagnosis).
    #[arg(long)]
    baseline_only: bool,
    /// PostgreSQL server to benchmark on instead of SQLite (a fresh
    /// database per cell is created on it).
    #[arg(long)]
    database_url: Option<String>,
    /// Host instances sharing the database (PostgreSQL only).
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    instances: Vec<usize>,
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut next_id: u32 = 1;
    if let Some(url) = args.database_url.clone() {
        let out = runtime
            .block_on(postgres_bench(&args, &url, &mut next_id))
            .unwrap_or_else(|e| fail(&e));
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
        return;
    }
    let mut rounds = Vec::new();
    for round in 1..=args.rounds {
        let mut host_cells = Vec::new();
        let mut baseline = Vec::new();
        // The baseline runs just before and just after the host cells of
        // the same batch size, so both see the same disk.
        for &batch in &args.batches {
            baseline.push(run_baseline(&args, batch, &mut next_id, round, "before"));
            if args.baseline_only {
                continue;
            }
            for &clients in &args.clients {
                let records = make_records(&mut next_id, args.max_records);
                eprintln!("ingest round {round}: host, {clients} client(s), batches of {batch}");
                let cell = runtime
                    .block_on(host_cell(&args, clients, batch, records))
                    .unwrap_or_else(|e| fail(&format!("host cell {clients}x{batch}: {e}")));
                report(&cell);
                host_cells.push(cell);
            }
            baseline.push(run_baseline(&args, batch, &mut next_id, round, "after"));
        }
        rounds.push(json!({ "round": round, "host": host_cells, "sqlite": baseline }));
    }
    let out = json!({
        "maxRecords": args.max_records,
        "maxSeconds": args.max_secs,
        "sqliteVersion": rusqlite::version(),
        "rounds": rounds,
    });
    println!("{}", serde_json::to_string_pretty(&out).expect("json"));
}

fn run_baseline(args: &Args, batch: usize, next_id: &mut u32, round: u32, position: &str) -> Value {
    let records = make_records(next_id, args.max_records);
    eprintln!("ingest round {round}: raw SQLite baseline, transactions of {batch} ({position})");
    let mut cell = sqlite_baseline(args, batch, &records)
        .unwrap_or_else(|e| fail(&format!("baseline {batch}: {e}")));
    cell["position"] = json!(position);
    report(&cell);
    cell
}

fn report(cell: &Value) {
    eprintln!(
        "  {:.0} records/s, p50 {:.2} ms, p99 {:.2} ms",
        cell["recordsPerSecond"].as_f64().unwrap_or(0.0),
        cell["p50Ms"].as_f64().unwrap_or(0.0),
        cell["p99Ms"].as_f64().unwrap_or(0.0)
    );
}

fn fail(message: &str) -> ! {
    eprintln!("ingest_bench: {message}");
    std::process::exit(1);
}

// ---------------------------------------------------------------- records

/// `count` records with ids never used before in this run.
fn make_records(next_id: &mut u32, count: usize) -> Vec<ConsentRecordV1> {
    let start = *next_id;
    *next_id += count as u32;
    (start..start + count as u32)
        .map(|n| {
            // Customer n / 4, one of eight partners, alternating yes and no.
            let state = if n % 2 == 0 { Given } else { Refused };
            // Several patrons per batch: a box office's batches, the
            // one kind a single token may write for many patrons.
            common::desk_record(
                n,
                &format!("BENCH-{}", n / 4),
                &format!("partner-{}", n % 8),
                state,
                // Decided on one of the first 200 days of 2026: never
                // after the host's clock, which refuses future dates.
                i64::from(n % 200),
            )
        })
        .collect()
}

// ------------------------------------------------------------------ host

/// The host process of one cell: started with a fresh database, stopped
/// with SIGTERM (and killed if it does not exit within 5 s).
struct Host {
    child: Child,
    addr: SocketAddr,
    db: PathBuf,
    dir: tempfile::TempDir,
}

impl Host {
    fn start(args: &Args) -> Result<Host, String> {
        Self::start_on(args, None)
    }

    /// A host on a fresh SQLite file, or on the PostgreSQL database `url`.
    fn start_on(args: &Args, url: Option<&str>) -> Result<Host, String> {
        let dir = temp_dir(args)?;
        let db = dir.path().join("consent.db");
        let mut command = Command::new(&args.host_bin);
        if let Some(url) = url {
            command.args(["--database-url", url]);
        }
        let mut child = command
            .args(["--port", "0", "--bind", "127.0.0.1"])
            .args(["--token-secret", common::SECRET, "--venue", common::VENUE])
            // The bench measures ingest, not the abuse limits.
            .args(["--write-rate-per-token", "100000000"])
            .args(["--write-rate-per-address", "100000000"])
            .arg("--db")
            .arg(&db)
            .arg("--dist")
            .arg(&args.dist)
            .arg("--examples")
            .arg(dir.path().join("no-examples"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", args.host_bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut sent = false;
            // Keep draining after the address so the pipe never fills.
            for line in lines.by_ref().map_while(Result::ok) {
                if !sent {
                    if let Some(rest) = line.split("http://").nth(1) {
                        let _ = tx.send(rest.trim_end_matches('/').to_owned());
                        sent = true;
                    }
                }
            }
        });
        let addr = match rx.recv_timeout(START_TIMEOUT) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("the host did not print its address".into());
            }
        };
        let addr: SocketAddr = addr.parse().map_err(|e| format!("address {addr}: {e}"))?;
        if !addr.ip().is_loopback() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("refusing a non-loopback address {addr}"));
        }
        Ok(Host {
            child,
            addr,
            db,
            dir,
        })
    }

    /// Stops the host; the database (and its directory) stay until the
    /// returned `TempDir` drops.
    fn stop(mut self) -> (PathBuf, tempfile::TempDir) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return (self.db, self.dir);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        (self.db, self.dir)
    }
}

fn temp_dir(args: &Args) -> Result<tempfile::TempDir, String> {
    match &args.tmp {
        Some(base) => {
            std::fs::create_dir_all(base).map_err(|e| e.to_string())?;
            tempfile::tempdir_in(base)
        }
        None => tempfile::tempdir(),
    }
    .map_err(|e| format!("temporary directory: {e}"))
}

/// A venue-wide token for `lyric`'s box-office operator, valid for an
/// hour from now.
fn bench_token() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut claims = common::claims_at("BENCH", "consent:write:venue", now);
    claims.exp = claims.iat + 3600;
    claims.operator = Some(common::DESK.to_owned());
    common::sign(&claims)
}

/// A minimal HTTP/1.1 keep-alive client: enough for one JSON POST at a
/// time on one connection, and nothing more.
struct Client {
    stream: BufStream<TcpStream>,
    head: String,
}

impl Client {
    async fn connect(addr: SocketAddr) -> std::io::Result<Client> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream: BufStream::new(stream),
            head: format!(
                "POST /api/v1/consent-records HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json\r\nAuthorization: Bearer {}\r\n",
                bench_token()
            ),
        })
    }

    /// POSTs `body`; returns the status and the answer's body.
    async fn post(&mut self, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
        let mut request = Vec::with_capacity(self.head.len() + 32 + body.len());
        request.extend_from_slice(self.head.as_bytes());
        request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        request.extend_from_slice(body);
        let io = |e: std::io::Error| e.to_string();
        self.stream.write_all(&request).await.map_err(io)?;
        self.stream.flush().await.map_err(io)?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await.map_err(io)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        let mut length = None;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await.map_err(io)? == 0 {
                return Err("connection closed in the headers".into());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                }
            }
        }
        let length = length.ok_or("an answer without Content-Length")?;
        let mut answer = vec![0; length];
        self.stream.read_exact(&mut answer).await.map_err(io)?;
        Ok((status, answer))
    }
}

/// One request; checks that every record of the batch was stored.
async fn send(client: &mut Client, body: &[u8], expect: usize) -> Result<Duration, String> {
    let started = Instant::now();
    let (status, answer) = tokio::time::timeout(REQUEST_TIMEOUT, client.post(body))
        .await
        .map_err(|_| "a request took over 10 s".to_owned())??;
    let elapsed = started.elapsed();
    if status != 201 {
        return Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&answer)
        ));
    }
    let stored = serde_json::from_slice::<Value>(&answer)
        .ok()
        .and_then(|v| v["stored"].as_array().map(Vec::len));
    if stored != Some(expect) {
        return Err(format!(
            "expected {expect} stored, got {}",
            String::from_utf8_lossy(&answer)
        ));
    }
    Ok(elapsed)
}

async fn host_cell(
    args: &Args,
    clients: usize,
    batch: usize,
    records: Vec<ConsentRecordV1>,
) -> Result<Value, String> {
    // Request bodies are serialised before the clock starts.
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        records
            .chunks(batch)
            .filter(|c| c.len() == batch)
            .map(|c| serde_json::to_vec(&json!({ "records": c })).expect("json"))
            .collect(),
    );
    if bodies.len() < clients * 2 {
        return Err(format!(
            "--max-records {} is too small for {clients} clients in batches of {batch}",
            args.max_records
        ));
    }
    let host = Host::start(args)?;
    let result = drive(&[host.addr], clients, batch, bodies, args.max_secs).await;
    let (db, _dir) = host.stop();
    let mut cell = result?;
    // What the database holds must be exactly what was acknowledged.
    let rows: i64 = Connection::open(&db)
        .and_then(|c| c.query_row("SELECT COUNT(*) FROM consent_records", [], |r| r.get(0)))
        .map_err(|e| format!("counting rows: {e}"))?;
    let acknowledged =
        cell["warmupRecords"].as_u64().unwrap_or(0) + cell["records"].as_u64().unwrap_or(0);
    if rows as u64 != acknowledged {
        return Err(format!(
            "the database holds {rows} rows, {acknowledged} were acknowledged"
        ));
    }
    cell["clients"] = json!(clients);
    cell["batch"] = json!(batch);
    cell["rowsInDb"] = json!(rows);
    Ok(cell)
}

/// Warm-up: one batch per client (connection set up, first request), then
/// every client takes the next batch until none is left or time is up.
async fn drive(
    addrs: &[SocketAddr],
    clients: usize,
    batch: usize,
    bodies: Arc<Vec<Vec<u8>>>,
    max_secs: f64,
) -> Result<Value, String> {
    let mut conns = Vec::with_capacity(clients);
    for i in 0..clients {
        conns.push(
            Client::connect(addrs[i % addrs.len()])
                .await
                .map_err(|e| format!("connecting: {e}"))?,
        );
    }
    let mut warm = Vec::new();
    for (i, mut c) in conns.into_iter().enumerate() {
        let bodies = bodies.clone();
        warm.push(tokio::spawn(async move {
            send(&mut c, &bodies[i], batch).await.map(|_| c)
        }));
    }
    let mut conns = Vec::with_capacity(clients);
    for w in warm {
        conns.push(w.await.map_err(|e| e.to_string())??);
    }

    let next = Arc::new(AtomicUsize::new(clients));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(max_secs);
    let mut tasks = Vec::new();
    for mut c in conns {
        let bodies = bodies.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                if Instant::now() >= deadline {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bodies.len() {
                    break;
                }
                latencies.push(send(&mut c, &bodies[i], batch).await?);
            }
            Ok::<_, String>((latencies, Instant::now()))
        }));
    }
    let mut latencies = Vec::new();
    let mut finished = started;
    for t in tasks {
        let (l, end) = t.await.map_err(|e| e.to_string())??;
        latencies.extend(l);
        finished = finished.max(end);
    }
    let seconds = (finished - started).as_secs_f64();
    let requests = latencies.len();
    Ok(json!({
        "warmupRecords": clients * batch,
        "requests": requests,
        "records": requests * batch,
        "seconds": seconds,
        "hitTimeLimit": clients + requests < bodies.len(),
        "recordsPerSecond": (requests * batch) as f64 / seconds,
        "p50Ms": percentile_ms(&mut latencies, 50.0),
        "p99Ms": percentile_ms(&mut latencies, 99.0),
        "maxMs": latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
    }))
}

/// Nearest-rank percentile, in milliseconds (sorts `v`).
fn percentile_ms(v: &mut [Duration], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1].as_secs_f64() * 1e3
}

// ------------------------------------------------------------- baseline

/// The rows as the host stores them: one fixed subject in place of the
/// customer id, digest and chain computed beforehand (the baselines do no
/// hashing). Returns the subject with the rows.
fn baseline_rows(records: &[ConsentRecordV1]) -> (String, Vec<BaselineRow>) {
    let subject = "5".repeat(64);
    let rows = records
        .iter()
        .map(|r| {
            let mut stored = r.clone();
            stored.customer_id = format!("sub:{subject}");
            let body = serde_json::to_string(&stored).expect("json");
            let content_sha256 = sha256_hex(&body);
            BaselineRow {
                chain: sha256_hex(&content_sha256),
                content_sha256,
                body,
                record_id: r.record_id.clone(),
                partner_id: r.partner.id.clone(),
                decided_at_ms: r.decided_at.unix_millis(),
                supersedes: r.supersedes.clone(),
            }
        })
        .collect();
    (subject, rows)
}

/// One row of the baseline, ready to insert.
struct BaselineRow {
    record_id: String,
    partner_id: String,
    decided_at_ms: i64,
    supersedes: Option<String>,
    content_sha256: String,
    body: String,
    chain: String,
}

/// The same rows as the host stores, with its schema (created by
/// `Db::open`, i.e. the host's own migrations) and its pragmas (WAL,
/// `synchronous = FULL`), inserted by one writer, one `BEGIN IMMEDIATE`
/// transaction per batch, with the host's own INSERT statement, but no
/// HTTP, no JSON parsing, no checks and no duplicate lookup.
fn sqlite_baseline(
    args: &Args,
    batch: usize,
    records: &[ConsentRecordV1],
) -> Result<Value, String> {
    let dir = temp_dir(args)?;
    let path = dir.path().join("baseline.db");
    drop(Db::open(&path).map_err(|e| e.to_string())?);
    let (subject, rows) = baseline_rows(records);
    let sql = |e: rusqlite::Error| e.to_string();
    let mut conn = Connection::open(&path).map_err(sql)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(sql)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("journal_mode is {mode}, not WAL"));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql)?;
    let synchronous: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .map_err(sql)?;
    let received_at = 1_800_000_000_000_i64;
    let chunks: Vec<&[BaselineRow]> = rows.chunks(batch).filter(|c| c.len() == batch).collect();
    let mut latencies = Vec::new();
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.max_secs);
    for chunk in &chunks {
        if Instant::now() >= deadline {
            break;
        }
        if args.baseline_gap_us > 0 {
            std::thread::sleep(Duration::from_micros(args.baseline_gap_us));
        }
        let t = Instant::now();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO consent_records
                        (record_id, subject, partner_id, decided_at_ms, received_at_ms,
                         effective_at_ms, supersedes, content_sha256, body, chain)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(sql)?;
            for r in chunk.iter() {
                insert
                    .execute(params![
                        r.record_id,
                        subject,
                        r.partner_id,
                        r.decided_at_ms,
                        received_at,
                        r.decided_at_ms.min(received_at),
                        r.supersedes,
                        r.content_sha256,
                        r.body,
                        r.chain,
                    ])
                    .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)?;
        latencies.push(t.elapsed());
    }
    let seconds = started.elapsed().as_secs_f64();
    let transactions = latencies.len();
    let stored: i64 = conn
        .query_row("SELECT COUNT(*) FROM consent_records", [], |r| r.get(0))
        .map_err(sql)?;
    if stored as usize != transactions * batch {
        return Err(format!(
            "{stored} rows for {} inserts",
            transactions * batch
        ));
    }
    Ok(json!({
        "batch": batch,
        "transactions": transactions,
        "records": transactions * batch,
        "seconds": seconds,
        "hitTimeLimit": transactions < chunks.len(),
        "recordsPerSecond": (transactions * batch) as f64 / seconds,
        "p50Ms": percentile_ms(&mut latencies, 50.0),
        "p99Ms": percentile_ms(&mut latencies, 99.0),
        "journalMode": mode,
        "synchronous": synchronous,
    }))
}

// ------------------------------------------------------------- PostgreSQL

/// A fresh database on the server; returns its URL (the server's with the
/// database replaced).
async fn fresh_pg_database(server: &str, tag: &str) -> Result<String, String> {
    let (client, conn) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("--database-url: {e}"))?;
    let conn = tokio::spawn(conn);
    let name = format!("consent_bench_{}_{tag}", std::process::id());
    // Two statements: CREATE DATABASE cannot run in a transaction block.
    for statement in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        client.batch_execute(&statement).await.map_err(|e| {
            format!(
                "{statement}: {}",
                e.as_db_error()
                    .map_or(e.to_string(), |d| d.message().to_owned())
            )
        })?;
    }
    drop(client);
    let _ = conn.await;
    let (head, query) = match server.split_once('?') {
        Some((h, q)) => (h, format!("?{q}")),
        None => (server, String::new()),
    };
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let base = match head[scheme_end..].find('/') {
        Some(i) => &head[..scheme_end + i],
        None => head,
    };
    Ok(format!("{base}/{name}{query}"))
}

async fn pg_client(url: &str) -> Result<tokio_postgres::Client, String> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    Ok(client)
}

async fn pg_rows(url: &str) -> Result<i64, String> {
    pg_client(url)
        .await?
        .query_one("SELECT COUNT(*) FROM consent_records", &[])
        .await
        .map(|r| r.get(0))
        .map_err(|e| e.to_string())
}

/// Every cell on PostgreSQL: raw inserts before, the host with each
/// instance count, raw inserts after.
async fn postgres_bench(args: &Args, server: &str, next_id: &mut u32) -> Result<Value, String> {
    let version: String = pg_client(server)
        .await?
        .query_one("SHOW server_version", &[])
        .await
        .map_err(|e| e.to_string())?
        .get(0);
    let mut rounds = Vec::new();
    let mut cell_no = 0;
    for round in 1..=args.rounds {
        let mut cells = Vec::new();
        for &batch in &args.batches {
            for &clients in &args.clients {
                for position in ["before", "host", "after"] {
                    if position == "host" {
                        for &instances in &args.instances {
                            cell_no += 1;
                            let url = fresh_pg_database(server, &cell_no.to_string()).await?;
                            let records = make_records(next_id, args.max_records);
                            eprintln!("ingest round {round}: host on PostgreSQL, {instances} instance(s), {clients} client(s), batches of {batch}");
                            let cell = pg_host_cell(args, &url, instances, clients, batch, records)
                                .await?;
                            report(&cell);
                            cells.push(cell);
                        }
                        continue;
                    }
                    cell_no += 1;
                    let url = fresh_pg_database(server, &cell_no.to_string()).await?;
                    let records = make_records(next_id, args.max_records);
                    eprintln!("ingest round {round}: raw PostgreSQL inserts, {clients} connection(s), transactions of {batch} ({position})");
                    let mut cell = pg_baseline(args, &url, clients, batch, &records).await?;
                    cell["position"] = json!(position);
                    report(&cell);
                    cells.push(cell);
                }
            }
        }
        rounds.push(json!({ "round": round, "cells": cells }));
    }
    Ok(json!({
        "backend": "postgres",
        "serverVersion": version,
        "maxRecords": args.max_records,
        "maxSeconds": args.max_secs,
        "rounds": rounds,
    }))
}

async fn pg_host_cell(
    args: &Args,
    url: &str,
    instances: usize,
    clients: usize,
    batch: usize,
    records: Vec<ConsentRecordV1>,
) -> Result<Value, String> {
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        records
            .chunks(batch)
            .filter(|c| c.len() == batch)
            .map(|c| serde_json::to_vec(&json!({ "records": c })).expect("json"))
            .collect(),
    );
    if bodies.len() < clients * 2 {
        return Err(format!("--max-records {} is too small", args.max_records));
    }
    // The first host migrates; the others find the schema in place.
    let mut hosts = vec![Host::start_on(args, Some(url))?];
    for _ in 1..instances {
        hosts.push(Host::start_on(args, Some(url))?);
    }
    let addrs: Vec<SocketAddr> = hosts.iter().map(|h| h.addr).collect();
    let result = drive(&addrs, clients, batch, bodies, args.max_secs).await;
    for h in hosts {
        drop(h.stop());
    }
    let mut cell = result?;
    let rows = pg_rows(url).await?;
    let acknowledged =
        cell["warmupRecords"].as_u64().unwrap_or(0) + cell["records"].as_u64().unwrap_or(0);
    if rows as u64 != acknowledged {
        return Err(format!(
            "the database holds {rows} rows, {acknowledged} were acknowledged"
        ));
    }
    cell["kind"] = json!("host");
    cell["instances"] = json!(instances);
    cell["clients"] = json!(clients);
    cell["batch"] = json!(batch);
    cell["rowsInDb"] = json!(rows);
    Ok(cell)
}

/// The same rows as the host stores, in the host's schema (its own
/// migrations, triggers included), inserted by `clients` connections at
/// once, one transaction of `batch` single-row INSERTs each, with no
/// HTTP, JSON, checks, duplicate lookup, subject lookup or head lock
/// (`seq` comes from a shared counter, the chain is precomputed).
async fn pg_baseline(
    args: &Args,
    url: &str,
    clients: usize,
    batch: usize,
    records: &[ConsentRecordV1],
) -> Result<Value, String> {
    drop(consent_host::pg::PgStore::connect(url, true).await?);
    let (subject, rows) = baseline_rows(records);
    let chunks: Arc<Vec<Vec<BaselineRow>>> = Arc::new({
        let mut rows = rows;
        let mut out = Vec::new();
        while rows.len() >= batch {
            let rest = rows.split_off(batch);
            out.push(rows);
            rows = rest;
        }
        out
    });
    let next = Arc::new(AtomicUsize::new(0));
    let seq = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.max_secs);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (chunks, next, seq, url, subject) = (
            chunks.clone(),
            next.clone(),
            seq.clone(),
            url.to_owned(),
            subject.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut client = pg_client(&url).await?;
            let insert = client
                .prepare(
                    "INSERT INTO consent_records
                        (seq, record_id, subject, partner_id, decided_at_ms, received_at_ms,
                         effective_at_ms, supersedes, content_sha256, body, chain)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .await
                .map_err(|e| e.to_string())?;
            let received_at = 1_800_000_000_000_i64;
            let mut latencies = Vec::new();
            loop {
                if Instant::now() >= deadline {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(chunk) = chunks.get(i) else { break };
                let t = Instant::now();
                let tx = client.transaction().await.map_err(|e| e.to_string())?;
                for r in chunk {
                    let s = seq.fetch_add(1, Ordering::Relaxed) + 1;
                    tx.execute(
                        &insert,
                        &[
                            &s,
                            &r.record_id,
                            &subject,
                            &r.partner_id,
                            &r.decided_at_ms,
                            &received_at,
                            &r.decided_at_ms.min(received_at),
                            &r.supersedes,
                            &r.content_sha256,
                            &r.body,
                            &r.chain,
                        ],
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                }
                tx.commit().await.map_err(|e| e.to_string())?;
                latencies.push(t.elapsed());
            }
            Ok::<_, String>((latencies, Instant::now()))
        }));
    }
    let mut latencies = Vec::new();
    let mut finished = started;
    for t in tasks {
        let (l, end) = t.await.map_err(|e| e.to_string())??;
        latencies.extend(l);
        finished = finished.max(end);
    }
    let seconds = (finished - started).as_secs_f64();
    let transactions = latencies.len();
    let stored = pg_rows(url).await?;
    if stored as usize != transactions * batch {
        return Err(format!(
            "{stored} rows for {} inserts",
            transactions * batch
        ));
    }
    Ok(json!({
        "kind": "raw",
        "clients": clients,
        "batch": batch,
        "transactions": transactions,
        "records": transactions * batch,
        "seconds": seconds,
        "hitTimeLimit": transactions < chunks.len(),
        "recordsPerSecond": (transactions * batch) as f64 / seconds,
        "p50Ms": percentile_ms(&mut latencies, 50.0),
        "p99Ms": percentile_ms(&mut latencies, 99.0),
    }))
}
