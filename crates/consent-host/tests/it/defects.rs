//! Regressions from the attack review: each test is named after the
//! behaviour it protects.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::hosts::{start_host_process, HostProcess};
use axum::http::StatusCode;
use consent_core::domain::DecisionState::{Given, Withdrawn};
use consent_core::Timestamp;
use serde_json::{json, Value};

fn state_of(body: &Value, partner: &str) -> String {
    body["preferences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["partnerId"] == partner)
        .map(|p| p["state"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_withdrawal_beats_an_earlier_decision_dated_in_the_future() {
    let t = TestApp::new().await;
    // A fast clock: "given", dated 20 hours ahead of the host (within the
    // allowance, so it is stored).
    let mut given = record(1, "cust-1", "alpha", Given, 100);
    given.decided_at = Timestamp::from_unix_millis(t.now_ms() + 20 * 3_600_000);
    given.presented_at = given.decided_at;
    assert_eq!(t.post_records(&[given]).await.0, StatusCode::CREATED);
    // A minute later the patron withdraws, from a device with a right clock.
    t.set_now(t.now_ms() + 60_000);
    let mut withdrawn = record(2, "cust-1", "alpha", Withdrawn, 100);
    withdrawn.decided_at = Timestamp::from_unix_millis(t.now_ms());
    withdrawn.presented_at = withdrawn.decided_at;
    let (status, body) = t.post_records(&[withdrawn]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, prefs) = t.get_json("/api/v1/customers/cust-1/preferences").await;
    assert_eq!(state_of(&prefs, "alpha"), "withdrawn", "{prefs}");
}

#[tokio::test]
async fn a_record_that_supersedes_another_always_wins_over_it() {
    let t = TestApp::new().await;
    let given = record(1, "cust-1", "alpha", Given, 99);
    assert_eq!(
        t.post_records(std::slice::from_ref(&given)).await.0,
        StatusCode::CREATED
    );
    // Dated before the record it replaces (a slow clock), but naming it.
    let mut withdrawn = record(2, "cust-1", "alpha", Withdrawn, 90);
    withdrawn.supersedes = Some(given.record_id.clone());
    assert_eq!(t.post_records(&[withdrawn]).await.0, StatusCode::CREATED);
    let (_, prefs) = t.get_json("/api/v1/customers/cust-1/preferences").await;
    assert_eq!(state_of(&prefs, "alpha"), "withdrawn", "{prefs}");
}

#[tokio::test]
async fn a_decision_dated_implausibly_far_ahead_is_refused() {
    let t = TestApp::new().await;
    let mut r = record(1, "cust-1", "alpha", Given, 100);
    r.presented_at = Timestamp::from_unix_millis(t.now_ms());
    r.decided_at = Timestamp::from_unix_millis(t.now_ms() + 25 * 3_600_000);
    let (status, body) = t.post_records(&[r]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "records[0].decidedAt");
    assert_eq!(t.row_count().await, 0);
}

#[tokio::test]
async fn the_host_refuses_what_the_schema_refuses() {
    let t = TestApp::new().await;
    let good = serde_json::to_value(record(1, "cust-1", "alpha", Given, 1)).unwrap();

    let mut extra = good.clone();
    extra["venue"]["region"] = json!("north");
    let (status, body) = t.post_json(&json!({ "records": [extra] })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "records[0].venue.region");

    // The same record written positionally, as serde would accept it.
    let positional: Vec<Value> = [
        "schema",
        "recordId",
        "supersedes",
        "customerId",
        "venue",
        "partner",
        "purpose",
        "channels",
        "state",
        "dpvState",
        "notice",
        "presentation",
        "action",
        "presentedAt",
        "decidedAt",
        "collection",
        "jurisdiction",
        "validUntil",
    ]
    .iter()
    .map(|k| good[*k].clone())
    .collect();
    let (status, body) = t.post_json(&json!({ "records": [positional] })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "records[0]");

    // A duplicated key is refused, not silently resolved.
    let text = serde_json::to_string(&json!({ "records": [good] })).unwrap();
    let duplicated = text.replacen("\"purpose\":", "\"purpose\":\"marketing\",\"purpose\":", 1);
    let (status, body) = t
        .post_raw(duplicated.into_bytes(), "application/json")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(t.row_count().await, 0);

    // A field sent as null that the types leave out is the same as absent.
    let mut nulls = serde_json::to_value(record(2, "cust-1", "alpha", Given, 1)).unwrap();
    nulls["supersedes"] = Value::Null;
    let (status, body) = t.post_json(&json!({ "records": [nulls] })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_customer_id_too_long_to_read_back_is_refused_on_the_way_in() {
    let t = TestApp::new().await;
    let long = "c".repeat(257);
    let (status, body) = t.post_records(&[record(1, &long, "alpha", Given, 1)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "records[0].customerId");
    // The longest allowed id is stored and read back.
    let max = "c".repeat(256);
    assert_eq!(
        t.post_records(&[record(2, &max, "alpha", Given, 1)])
            .await
            .0,
        StatusCode::CREATED
    );
    let (status, body) = t
        .get_json(&format!("/api/v1/customers/{max}/consent-records"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["records"].as_array().unwrap().len(), 1);
}

/// A host in demo mode on a file of its own, with `extra` flags.
fn start_host(extra: &[&str]) -> HostProcess {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let args = ["--demo".as_ref(), "--db".as_ref(), db.as_os_str()]
        .into_iter()
        .chain(extra.iter().map(std::ffi::OsStr::new));
    start_host_process(dir, args, "warn", Stdio::null())
}

fn healthz(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// [`healthz`], with every IO error read as "no answer" (a refused
/// connection may be reset before the request is even written).
fn healthz_if_served(port: u16) -> String {
    let mut out = String::new();
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return out;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_ok()
    {
        let _ = s.read_to_string(&mut out);
    }
    out
}

/// Whether the server has closed this connection (read sees EOF or a reset).
fn closed_by_server(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => true, // an error answer, then close
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[test]
fn half_open_connections_are_timed_out_and_health_still_answers() {
    let host = start_host(&[
        "--header-read-timeout-secs",
        "2",
        "--max-connections",
        "400",
        // All from one address here: its share is the whole limit.
        "--max-connections-per-address",
        "400",
    ]);
    let mut held = Vec::new();
    for i in 0..300 {
        let mut s = TcpStream::connect(("127.0.0.1", host.port)).unwrap();
        if i % 2 == 0 {
            // Headers begun and never finished.
            s.write_all(b"POST /api/v1/consent-records HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
        } // else: connected, nothing sent
        held.push(s);
    }
    let started = Instant::now();
    let answer = healthz(host.port);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    std::thread::sleep(Duration::from_secs(3));
    let closed = held.iter_mut().map(closed_by_server).filter(|c| *c).count();
    assert_eq!(
        closed,
        held.len(),
        "half-open connections still held after the timeout"
    );
    assert!(healthz(host.port).starts_with("HTTP/1.1 200"));
}

#[test]
fn connections_over_the_limit_are_refused_without_harming_the_host() {
    let host = start_host(&[
        "--header-read-timeout-secs",
        "30",
        "--max-connections",
        "20",
    ]);
    // One at a time, so the host has accepted each before the next: the
    // first 20 hold its permits, the next 20 are over the limit.
    let mut held: Vec<TcpStream> = Vec::new();
    for _ in 0..40 {
        held.push(TcpStream::connect(("127.0.0.1", host.port)).unwrap());
        std::thread::sleep(Duration::from_millis(10));
    }
    // Within the limit: still open (nothing sent, the header timeout is
    // 30 s). Over it: closed by the host at once, without an answer.
    let (within, over) = held.split_at_mut(20);
    let refused = over.iter_mut().map(closed_by_server).filter(|c| *c).count();
    assert_eq!(refused, 20, "every connection over the limit is refused");
    let open = within
        .iter_mut()
        .map(closed_by_server)
        .filter(|c| !*c)
        .count();
    assert_eq!(open, 20, "the connections within the limit stay open");
    // While the limit is reached, a request gets no answer at all.
    let answer = healthz_if_served(host.port);
    assert_eq!(answer, "", "a connection over the limit was served");
    // Once the held ones are gone, the host answers again.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        let answer = healthz(host.port);
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "health never answered: {answer:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn shutdown_does_not_wait_for_a_stuck_client_beyond_its_deadline() {
    let mut host = start_host(&[
        "--header-read-timeout-secs",
        "60",
        "--shutdown-grace-secs",
        "1",
    ]);
    let mut stuck = TcpStream::connect(("127.0.0.1", host.port)).unwrap();
    stuck
        .write_all(
            b"POST /api/v1/consent-records HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let pid = host.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while host.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the host did not shut down");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
