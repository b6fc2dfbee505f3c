//! `consent-host verify --db FILE` through the real binary, with and
//! without a checkpoint (`--expect-count`, `--expect-head`): the exit
//! status and the line a venue's monitoring reads.

use std::path::Path;
use std::process::Command;

use crate::common::*;
use axum::http::StatusCode;
use consent_core::domain::DecisionState::{Given, Refused};

/// Runs `consent-host verify --db <file>` with `extra`; returns the exit
/// code and what it printed (stdout, then stderr).
fn verify(db: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_consent-host"))
        .arg("verify")
        .arg("--db")
        .arg(db)
        .args(extra)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run consent-host verify");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[tokio::test]
async fn verify_on_a_sqlite_file_checks_the_chain_and_an_earlier_checkpoint() {
    let t = TestApp::sqlite().await;
    let post = |n: u32| {
        let customer = format!("cust-{n}");
        let state = if n % 2 == 0 { Refused } else { Given };
        record(n, &customer, "alpha", state, 1)
    };
    for n in 1..=2 {
        let (status, body) = t.post_records(&[post(n)]).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let checkpoint = t.state.db.ledger_head().await.unwrap();
    assert_eq!(checkpoint.count, 2);
    for n in 3..=5 {
        let (status, body) = t.post_records(&[post(n)]).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let now = t.state.db.ledger_head().await.unwrap();
    assert_eq!(now.count, 5);
    let ok_line = format!("ok: 5 records, head {}", now.head);

    // No checkpoint: the chain alone.
    let (code, out) = verify(&t.db_path, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&ok_line), "{out}");

    // The checkpoint copied after two records still holds: only appended to.
    let (code, out) = verify(
        &t.db_path,
        &["--expect-count", "2", "--expect-head", &checkpoint.head],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&ok_line), "{out}");

    // Today's head as the checkpoint holds too.
    let (code, out) = verify(
        &t.db_path,
        &["--expect-count", "5", "--expect-head", &now.head],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&ok_line), "{out}");

    // A head that is not the one at that count: rewritten since.
    let (code, out) = verify(
        &t.db_path,
        &["--expect-count", "3", "--expect-head", &checkpoint.head],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("BROKEN") && out.contains("not the checkpoint's"),
        "{out}"
    );
    assert!(!out.contains("ok: "), "{out}");

    // A checkpoint counting more records than are stored: cut off the end.
    let (code, out) = verify(
        &t.db_path,
        &["--expect-count", "9", "--expect-head", &now.head],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("BROKEN") && out.contains("only 5 are stored"),
        "{out}"
    );

    // --expect-head is refused without the count that goes with it.
    let (code, out) = verify(&t.db_path, &["--expect-head", &now.head]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("--expect-count"), "{out}");
}

#[test]
fn verify_names_a_file_it_cannot_open() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.db");
    let (code, out) = verify(&missing, &["--expect-count", "1", "--expect-head", "x"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("nowhere.db"), "{out}");
    assert!(!out.contains("ok: "), "{out}");
}
