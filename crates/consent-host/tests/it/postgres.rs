//! PostgreSQL only: the guarantees that depend on the database itself
//! (append-only triggers, erasure, the admin commands with
//! `--database-url`) and on several host processes sharing it (one chain
//! across instances, no acknowledged record lost when one is killed).
//!
//! Needs `CONSENT_TEST_DATABASE_URL` (`scripts/test.sh` starts a throwaway
//! server and sets it). Every test that needs the server is `#[ignore]`d,
//! so a plain `cargo test` reports it as ignored, never as passed; the
//! PostgreSQL tier runs them with `--include-ignored`, and a test that runs
//! without a server fails.

use std::collections::{BTreeSet, HashMap};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::hosts::{start_host_process, HostProcess};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use consent_core::domain::DecisionState::{Given, Refused};
use consent_core::wire::ConsentRecordV1;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn sql(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
}

fn host_bin() -> &'static str {
    env!("CARGO_BIN_EXE_consent-host")
}

#[tokio::test]
#[ignore = "needs PostgreSQL: CONSENT_TEST_DATABASE_URL (scripts/test.sh runs these on a throwaway server)"]
async fn records_cannot_be_updated_deleted_or_truncated_in_postgres() {
    required_database_url();
    let t = TestApp::new().await;
    let (status, body) = t
        .post_records(&[record(1, "cust-1", "alpha", Given, 1)])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let db = sql(t.database_url.as_deref().unwrap()).await;
    for statement in [
        "UPDATE consent_records SET partner_id = 'beta'",
        "DELETE FROM consent_records",
        "TRUNCATE consent_records",
        "INSERT INTO consent_records SELECT * FROM consent_records
         ON CONFLICT (seq) DO UPDATE SET body = EXCLUDED.body",
    ] {
        let err = db.batch_execute(statement).await.expect_err("append-only");
        let message = err.as_db_error().map(|e| e.message().to_owned());
        assert!(
            message
                .as_deref()
                .is_some_and(|m| m.contains("append-only")),
            "{statement}: {err:?}"
        );
    }
    assert_eq!(t.row_count().await, 1);
    let head = t.state.db.verify(None).await.unwrap();
    assert_eq!(head.count, 1);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: CONSENT_TEST_DATABASE_URL (scripts/test.sh runs these on a throwaway server)"]
async fn verify_on_postgres_names_a_changed_record_and_a_rewritten_checkpoint() {
    required_database_url();
    let t = TestApp::new().await;
    for n in 1..=4 {
        let (status, body) = t
            .post_records(&[record(n, &format!("cust-{n}"), "alpha", Given, 1)])
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let url = t.database_url.clone().unwrap();
    let head = t.state.db.ledger_head().await.unwrap();
    let out = Command::new(host_bin())
        .args(["verify", "--database-url", &url])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("ok: 4 records, head {}", head.head)),
        "{stdout}"
    );

    // Someone with the owner's rights switches the triggers off and edits.
    let db = sql(&url).await;
    db.batch_execute(
        "ALTER TABLE consent_records DISABLE TRIGGER USER;
         UPDATE consent_records SET body = replace(body, '\"given\"', '\"refused\"') WHERE seq = 3;",
    )
    .await
    .unwrap();
    let out = Command::new(host_bin())
        .args(["verify", "--database-url", &url])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("BROKEN") && stdout.contains("#3"),
        "{stdout}"
    );

    // A chain rewritten from record 3 on no longer holds the checkpoint.
    let err = t
        .state
        .db
        .verify(Some((4, head.head.clone())))
        .await
        .expect_err("broken");
    assert!(err.to_string().contains("#3"), "{err}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: CONSENT_TEST_DATABASE_URL (scripts/test.sh runs these on a throwaway server)"]
async fn erasure_on_postgres_drops_the_mapping_and_vacuums_it() {
    required_database_url();
    let t = TestApp::new().await;
    let id = "ERASE-ME-7f3a91";
    for (n, customer) in [(1, id), (2, id), (3, "cust-keep")] {
        let (status, body) = t
            .post_records(&[record(n, customer, "alpha", Given, 10)])
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let req = Request::delete(format!("/api/v1/customers/{id}"))
        .header(header::AUTHORIZATION, format!("Bearer {}", t.admin_key))
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = t.send(req).await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["records"], 2);

    let db = sql(t.database_url.as_deref().unwrap()).await;
    let found: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM subjects WHERE customer_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(found, 0);
    let holds_id: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM consent_records WHERE body LIKE '%' || $1 || '%'",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(holds_id, 0, "no stored body names the customer");
    let vacuumed: bool = db
        .query_one(
            "SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'subjects'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(vacuumed, "the erase path vacuums subjects");
    let (_, prefs) = t
        .get_json(&format!("/api/v1/customers/{id}/preferences"))
        .await;
    assert_eq!(prefs["preferences"], json!([]));
    assert_eq!(t.state.db.verify(None).await.unwrap().count, 3);
    let log = t.state.db.erasures().await.unwrap();
    assert_eq!((log.len(), log[0]["records"].as_i64()), (1, Some(2)));
    assert!(!log[0].to_string().contains(id));
}

#[tokio::test]
#[ignore = "needs PostgreSQL: CONSENT_TEST_DATABASE_URL (scripts/test.sh runs these on a throwaway server)"]
async fn keys_and_retention_commands_work_with_a_database_url() {
    required_database_url();
    let t = TestApp::new().await;
    let url = t.database_url.clone().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(host_bin())
            .args(args)
            .args(["--database-url", &url])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, key, err) = run(&["keys", "add", "--role", "partner", "--partner", "alpha"]);
    assert!(ok, "{err}");
    let key = key.trim().to_owned();
    assert!(key.starts_with("cpk_"), "{key}");
    let (_, listed, _) = run(&["keys", "list"]);
    assert!(listed.contains("alpha"), "{listed}");
    let (status, _) = t
        .get_with("/api/v1/partners/alpha/summary", Some(&key))
        .await;
    assert_eq!(status, StatusCode::OK, "a key made by the command works");
    let secret = key.rsplit('_').next().unwrap();
    let db = sql(&url).await;
    let leaked: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM api_keys WHERE secret_sha256 = $1 OR label = $1",
            &[&secret],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(leaked, 0, "only a hash of the key is stored");
    let id = key.split('_').nth(1).unwrap();
    let (ok, _, err) = run(&["keys", "revoke", id]);
    assert!(ok, "{err}");
    let (status, _) = t
        .get_with("/api/v1/partners/alpha/summary", Some(&key))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    for (n, customer) in [(1, "old-1"), (2, "old-2"), (3, "old-1")] {
        let (status, _) = t
            .post_records(&[record(n, customer, "alpha", Refused, 90)])
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    // Recent activity: the retention command uses the wall clock.
    t.set_now(crate::common::EPOCH_2026 + 300 * DAY);
    let (status, _) = t
        .post_records(&[record(4, "recent", "alpha", Given, 290)])
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let before = t.state.db.ledger_head().await.unwrap();
    let (ok, report, err) = run(&["retention", "--inactive-months", "6", "--dry-run"]);
    assert!(ok, "{err}");
    assert!(
        report.contains("would anonymise 2 customers, 3 records"),
        "{report}"
    );
    assert!(!report.contains("old-1"), "{report}");
    assert_eq!(t.state.db.records_for("old-1").await.unwrap().len(), 2);
    let (ok, report, err) = run(&["retention", "--inactive-months", "6"]);
    assert!(ok, "{err}");
    assert!(report.contains("(simulation: run with --apply"), "{report}");
    assert_eq!(t.state.db.records_for("old-1").await.unwrap().len(), 2);
    let file = t.dir.path().join("retention.csv");
    let (ok, report, err) = run(&[
        "retention",
        "--inactive-months",
        "6",
        "--apply",
        "--report",
        file.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        report.contains("anonymised 2 customers, 3 records"),
        "{report}"
    );
    assert!(!report.contains("old-1"), "{report}");
    let listed = std::fs::read_to_string(&file).unwrap();
    let ids: Vec<&str> = listed
        .lines()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids, ["customerId", "old-1", "old-2"], "{listed}");
    assert!(t.state.db.records_for("old-1").await.unwrap().is_empty());
    assert_eq!(t.state.db.records_for("recent").await.unwrap().len(), 1);
    assert_eq!(t.state.db.ledger_head().await.unwrap(), before);
    assert_eq!(t.state.db.verify(None).await.unwrap().count, 4);
}

#[tokio::test]
async fn a_bad_database_url_names_the_flag_and_never_the_password() {
    // Needs no server: nothing listens on port 1.
    for url in [
        "postgres://consent:hunter2-secret@127.0.0.1:1/consent",
        "postgres://consent:hunter2-secret@127.0.0.1:notaport/consent",
    ] {
        let out = Command::new(host_bin())
            .args(["--port", "0", "--database-url", url])
            .env("CONSENT_TOKEN_SECRET", SECRET)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains("--database-url"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}

// ---- several host processes on one database ------------------------------

/// A host process on the test database.
fn start_host(url: &str) -> HostProcess {
    let args = [
        "--database-url",
        url,
        "--token-secret",
        SECRET,
        "--venue",
        VENUE,
        "--write-rate-per-token",
        "100000",
        "--write-rate-per-address",
        "100000",
    ];
    start_host_process(
        tempfile::tempdir().unwrap(),
        args,
        "error",
        Stdio::inherit(),
    )
}

/// Starts two hosts at once (their migrations race).
fn start_two(url: &str) -> (HostProcess, HostProcess) {
    let a = {
        let url = url.to_owned();
        std::thread::spawn(move || start_host(&url))
    };
    let b = start_host(url);
    (a.join().unwrap(), b)
}

/// POSTs one batch over a fresh connection; `None` when the host did not
/// answer (refused, reset or timed out): the batch is not acknowledged.
async fn post(port: u16, token: &str, records: &[ConsentRecordV1]) -> Option<(u16, Value)> {
    let body = serde_json::to_vec(&json!({ "records": records })).unwrap();
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        let head = format!(
            "POST /api/v1/consent-records HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await?;
        s.write_all(&body).await?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&answer);
    let status: u16 = text.split(' ').nth(1)?.parse().ok()?;
    let (_, json) = text.split_once("\r\n\r\n")?;
    Some((status, serde_json::from_str(json).ok()?))
}

fn venue_token() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut c = claims_at("box-office", "consent:write:venue", now);
    c.exp = c.iat + 3600;
    c.operator = Some(DESK.to_owned());
    sign(&c)
}

/// A batch of 10 records for client `client`, batch `n`: three customers,
/// several partners.
fn batch(client: u32, n: u32) -> Vec<ConsentRecordV1> {
    (0..10)
        .map(|i| {
            let id = client * 100_000 + n * 10 + i;
            desk_record(
                id,
                &format!("cust-{client}-{}", i % 3),
                &format!("p{}", i % 4),
                if i % 2 == 0 { Given } else { Refused },
                200,
            )
        })
        .collect()
}

/// What the clients saw: every acknowledged record id, and how many
/// records the host reported as newly stored.
#[derive(Default)]
struct Acks {
    acknowledged: BTreeSet<String>,
    stored: usize,
    posted: BTreeSet<String>,
    /// The ids one instance (the kill -9 test's victim) acknowledged itself.
    by_victim: BTreeSet<String>,
}

/// Notes what an answer acknowledged; returns those record ids.
fn record_ack(acks: &Mutex<Acks>, answer: &Option<(u16, Value)>) -> Vec<String> {
    let Some((201, body)) = answer else {
        return Vec::new();
    };
    let mut acks = acks.lock().unwrap();
    let mut ids = Vec::new();
    for key in ["stored", "duplicates"] {
        for r in body[key].as_array().into_iter().flatten() {
            let id = r.get("recordId").unwrap_or(r).as_str().unwrap().to_owned();
            acks.acknowledged.insert(id.clone());
            ids.push(id);
        }
    }
    acks.stored += body["stored"].as_array().map_or(0, Vec::len);
    ids
}

async fn stored_ids(url: &str) -> HashMap<String, i64> {
    let db = sql(url).await;
    db.query("SELECT record_id, seq FROM consent_records", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn verify_cli(url: &str) -> String {
    let out = Command::new(host_bin())
        .args(["verify", "--database-url", url])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "verify: {stdout}");
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: CONSENT_TEST_DATABASE_URL (scripts/test.sh runs these on a throwaway server)"]
async fn two_instances_store_every_acknowledged_record_once_in_one_chain() {
    let server = required_database_url();
    let url = fresh_database(&server).await;
    let (a, b) = start_two(&url);
    let ports = [a.port, b.port];
    let token = venue_token();
    let acks = Arc::new(Mutex::new(Acks::default()));
    let mut clients = Vec::new();
    // 16 clients. Pairs (2k, 2k+1) post the same batches, one to each
    // instance, so identical batches race across instances.
    for client in 0..16u32 {
        let (token, acks) = (token.clone(), acks.clone());
        clients.push(tokio::spawn(async move {
            let source = client / 2;
            for n in 0..12u32 {
                let records = batch(source, n);
                acks.lock()
                    .unwrap()
                    .posted
                    .extend(records.iter().map(|r| r.record_id.clone()));
                let port = ports[((client + n) % 2) as usize];
                let answer = post(port, &token, &records).await;
                assert!(
                    matches!(answer, Some((201, _))),
                    "client {client} batch {n}: {answer:?}"
                );
                record_ack(&acks, &answer);
            }
        }));
    }
    for c in clients {
        c.await.unwrap();
    }
    let acks = std::mem::take(&mut *acks.lock().unwrap());
    let stored = stored_ids(&url).await;
    assert_eq!(stored.len(), 8 * 12 * 10, "every distinct record stored");
    assert_eq!(
        acks.stored,
        stored.len(),
        "each record reported stored exactly once across both instances"
    );
    assert!(acks.acknowledged.iter().all(|id| stored.contains_key(id)));
    let mut seqs: Vec<i64> = stored.values().copied().collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=stored.len() as i64).collect::<Vec<_>>());
    let report = verify_cli(&url);
    assert!(
        report.contains(&format!("ok: {} records", stored.len())),
        "{report}"
    );
    drop((a, b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: CONSENT_TEST_DATABASE_URL (scripts/test.sh runs these on a throwaway server)"]
async fn a_killed_instance_loses_no_acknowledged_record() {
    let server = required_database_url();
    let url = fresh_database(&server).await;
    let (mut victim, survivor) = start_two(&url);
    let ports = [victim.port, survivor.port];
    let token = venue_token();
    let acks = Arc::new(Mutex::new(Acks::default()));
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut clients = Vec::new();
    for client in 0..16u32 {
        let (token, acks) = (token.clone(), acks.clone());
        clients.push(tokio::spawn(async move {
            // At most 200 batches or 4 s per client.
            for n in 0..200u32 {
                if Instant::now() > deadline {
                    break;
                }
                let records = batch(client, n);
                acks.lock()
                    .unwrap()
                    .posted
                    .extend(records.iter().map(|r| r.record_id.clone()));
                // Even clients write to the victim, odd ones to the survivor.
                let to_victim = client % 2 == 0;
                let answer = post(ports[usize::from(!to_victim)], &token, &records).await;
                let ids = record_ack(&acks, &answer);
                if to_victim {
                    acks.lock().unwrap().by_victim.extend(ids);
                }
                if answer.is_none() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    // Mid-ingest: SIGKILL, no shutdown, transactions cut off.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let before_kill = acks.lock().unwrap().by_victim.len();
    victim.child.kill().unwrap();
    victim.child.wait().unwrap();
    for c in clients {
        c.await.unwrap();
    }
    let acks = std::mem::take(&mut *acks.lock().unwrap());
    assert!(
        before_kill > 0,
        "the victim was ingesting when killed: it acknowledged no record of its own"
    );
    let stored = stored_ids(&url).await;
    eprintln!(
        "kill -9 test: the victim acknowledged {before_kill} records before the kill \
         ({} in all), both instances {}, {} stored, {} posted",
        acks.by_victim.len(),
        acks.acknowledged.len(),
        stored.len(),
        acks.posted.len()
    );
    let lost: Vec<&String> = acks
        .acknowledged
        .iter()
        .filter(|id| !stored.contains_key(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged records lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    let lost_by_victim = acks
        .by_victim
        .iter()
        .filter(|id| !stored.contains_key(*id))
        .count();
    assert_eq!(
        lost_by_victim, 0,
        "records the victim acknowledged were lost"
    );
    assert!(
        stored.keys().all(|id| acks.posted.contains(id)),
        "nothing stored that was not posted"
    );
    // The survivor still writes after the kill, on the same chain.
    let answer = post(survivor.port, &token, &batch(99, 0)).await;
    assert!(matches!(answer, Some((201, _))), "{answer:?}");
    let report = verify_cli(&url);
    assert!(
        report.contains(&format!("ok: {} records", stored.len() + 10)),
        "{report}"
    );
    drop(survivor);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: CONSENT_TEST_DATABASE_URL (scripts/test.sh runs these on a throwaway server)"]
async fn preferences_are_the_same_on_both_backends() {
    required_database_url();
    let pg = TestApp::new().await;
    let lite = TestApp::sqlite().await;
    let mut history = Vec::new();
    for (n, partner, state, day) in [
        (1, "alpha", Given, 1),
        (2, "beta", Refused, 2),
        (3, "alpha", Refused, 3),
        (4, "gamma", Given, 4),
        (5, "beta", Given, 1),
    ] {
        history.push(record(n, "cust-1", partner, state, day));
    }
    for t in [&pg, &lite] {
        for r in &history {
            let (status, body) = t.post_records(std::slice::from_ref(r)).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    }
    for uri in [
        "/api/v1/customers/cust-1/preferences",
        "/api/v1/customers/cust-1/consent-records",
        "/api/v1/partners/gamma/contacts",
    ] {
        let (_, mut a) = pg.get_json(uri).await;
        let (_, mut b) = lite.get_json(uri).await;
        // A partner's reference derives from the patron's random salt,
        // which each database makes for itself.
        for export in [&mut a, &mut b] {
            for row in export["contacts"].as_array_mut().into_iter().flatten() {
                row.as_object_mut().unwrap().remove("reference");
            }
        }
        assert_eq!(a, b, "{uri}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: CONSENT_TEST_DATABASE_URL (scripts/test.sh runs these on a throwaway server)"]
async fn a_changed_body_raced_to_two_instances_is_stored_once_and_the_other_is_409() {
    let server = required_database_url();
    let url = fresh_database(&server).await;
    let (a, b) = start_two(&url);
    let token = venue_token();
    for round in 0..10u32 {
        let original = batch(500 + round, 0);
        let mut changed = original.clone();
        // Record 2 is a yes: the same id, now for post instead of email.
        changed[2].channels = vec![consent_core::domain::Channel::Post];
        let (left, right) = tokio::join!(
            post(a.port, &token, &original),
            post(b.port, &token, &changed)
        );
        let mut statuses = [left.as_ref().map(|r| r.0), right.as_ref().map(|r| r.0)];
        statuses.sort();
        assert_eq!(
            statuses,
            [Some(201), Some(409)],
            "round {round}: {left:?} {right:?}"
        );
    }
    let stored = stored_ids(&url).await;
    assert_eq!(stored.len(), 10 * 10, "each race stored one whole batch");
    verify_cli(&url);
    drop((a, b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: CONSENT_TEST_DATABASE_URL (scripts/test.sh runs these on a throwaway server)"]
async fn a_conflicting_batch_committed_with_others_fails_alone() {
    required_database_url();
    let t = TestApp::new().await;
    t.set_now(crate::common::EPOCH_2026 + 300 * DAY); // after the fixtures' day 200
    let stored = batch(700, 0);
    let (status, body) = t.post_records(&stored).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut conflicting = stored.clone();
    conflicting[2].channels = vec![consent_core::domain::Channel::Post];
    // 16 batches at once reach the group-commit writer together.
    let mut tasks = Vec::new();
    for n in 0..16u32 {
        let records = if n == 7 {
            conflicting.clone()
        } else {
            batch(701 + n, 0)
        };
        let app = t.app.clone();
        let token = desk_token(t.now_ms());
        tasks.push(tokio::spawn(async move {
            let req = Request::post("/api/v1/consent-records")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from(
                    serde_json::to_vec(&json!({ "records": records })).unwrap(),
                ))
                .unwrap();
            send(&app, req).await.0
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        15,
        "{statuses:?}"
    );
    assert_eq!(t.row_count().await, 16 * 10);
    assert_eq!(t.state.db.verify(None).await.unwrap().count, 160);
}
