//! The ledger on a real database file: it verifies when untouched, and
//! `verify` names the first record where someone with the file (and the
//! triggers dropped) changed, deleted, reordered or inserted a record.

use crate::common::*;
use axum::http::StatusCode;
use consent_core::domain::DecisionState::{Given, Refused};
use consent_host::ledger::{self, Break, Head, VerifyError};
use consent_host::{sha256_hex, Db};
use rusqlite::{params, Connection};

/// A test app holding `n` records of three customers, stored in batches.
/// On SQLite: these tests rewrite the file behind the host's back
/// (PostgreSQL's tampering tests are in tests/postgres.rs).
async fn app_with_records(n: u32) -> TestApp {
    let t = TestApp::sqlite().await;
    let records: Vec<_> = (1..=n)
        .map(|i| {
            let state = if i % 2 == 0 { Given } else { Refused };
            // Several patrons per batch: a box office's batches.
            desk_record(
                i,
                &format!("cust-{}", i % 3),
                &format!("p{}", i % 5),
                state,
                1,
            )
        })
        .collect();
    for chunk in records.chunks(7) {
        let (status, body) = t.post_records(chunk).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    t
}

fn verify(t: &TestApp) -> Result<Head, VerifyError> {
    ledger::verify(&Db::open_read_only(&t.db_path).unwrap())
}

/// A read-write connection with the append-only triggers dropped: what
/// someone with the file can do.
fn tamper(t: &TestApp) -> Connection {
    let conn = Connection::open(&t.db_path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER consent_records_no_update;
         DROP TRIGGER consent_records_no_delete;
         DROP TRIGGER consent_records_no_replace;",
    )
    .unwrap();
    conn
}

fn broken_at(result: Result<Head, VerifyError>) -> Break {
    match result {
        Err(VerifyError::Broken(b)) => b,
        other => panic!("expected a break, got {other:?}"),
    }
}

#[tokio::test]
async fn an_untouched_ledger_verifies_and_matches_the_stored_head() {
    let t = app_with_records(40).await;
    let head = verify(&t).expect("verifies");
    assert_eq!(head.count, 40);
    assert_eq!(head, t.state.db.ledger_head().await.unwrap());
    // The head commits to every record: a later record changes it.
    let (status, _) = t
        .post_records(&[record(99, "cust-1", "p1", Given, 2)])
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let later = verify(&t).unwrap();
    assert_eq!(later.count, 41);
    assert_ne!(later.head, head.head);
    // ...and still contains the old head at its count.
    let conn = Db::open_read_only(&t.db_path).unwrap();
    assert!(ledger::verify_extends(&conn, head.count, &head.head).is_ok());
}

#[tokio::test]
async fn a_changed_record_is_named() {
    let t = app_with_records(10).await;
    tamper(&t)
        .execute(
            "UPDATE consent_records SET body = json_set(body, '$.state', 'withdrawn') WHERE seq = 4",
            [],
        )
        .unwrap();
    let b = broken_at(verify(&t));
    assert_eq!(b.seq, Some(4), "{b}");
    assert!(b.reason.contains("changed"), "{b}");
}

#[tokio::test]
async fn a_changed_record_with_a_recomputed_digest_breaks_the_chain() {
    let t = app_with_records(10).await;
    let conn = tamper(&t);
    let body: String = conn
        .query_row("SELECT body FROM consent_records WHERE seq = 5", [], |r| {
            r.get(0)
        })
        .unwrap();
    let forged = body.replace("\"refused\"", "\"given\"");
    assert_ne!(forged, body);
    conn.execute(
        "UPDATE consent_records SET body = ?1, content_sha256 = ?2 WHERE seq = 5",
        params![forged, sha256_hex(&forged)],
    )
    .unwrap();
    let b = broken_at(verify(&t));
    assert_eq!(b.seq, Some(5), "{b}");
    assert!(b.reason.contains("chain"), "{b}");
}

#[tokio::test]
async fn a_deleted_row_is_named() {
    let t = app_with_records(10).await;
    tamper(&t)
        .execute("DELETE FROM consent_records WHERE seq = 3", [])
        .unwrap();
    let b = broken_at(verify(&t));
    assert_eq!(b.seq, Some(4), "{b}");
    assert!(b.reason.contains("deleted"), "{b}");
}

#[tokio::test]
async fn two_swapped_rows_are_named() {
    let t = app_with_records(10).await;
    tamper(&t)
        .execute_batch(
            "UPDATE consent_records SET seq = 1000 WHERE seq = 6;
             UPDATE consent_records SET seq = 6 WHERE seq = 7;
             UPDATE consent_records SET seq = 7 WHERE seq = 1000;",
        )
        .unwrap();
    let b = broken_at(verify(&t));
    assert_eq!(b.seq, Some(6), "{b}");
}

#[tokio::test]
async fn an_inserted_row_is_named_even_when_its_own_hashes_are_right() {
    let t = app_with_records(10).await;
    let conn = tamper(&t);
    // Make room after record 4, then insert a forged record there whose
    // digest and chain link are computed correctly from record 4.
    conn.execute_batch(
        "UPDATE consent_records SET seq = seq + 1000 WHERE seq >= 5;
         UPDATE consent_records SET seq = seq - 999 WHERE seq >= 1005;",
    )
    .unwrap();
    let (prev_chain, subject, body, partner, decided): (String, String, String, String, i64) =
        conn.query_row(
            "SELECT chain, subject, body, partner_id, decided_at_ms FROM consent_records WHERE seq = 4",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    let forged_id = uuid(777);
    let old_id: String = conn
        .query_row(
            "SELECT record_id FROM consent_records WHERE seq = 4",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let forged = body.replace(&old_id, &forged_id);
    let digest = sha256_hex(&forged);
    // Its columns agree with its body, as a careful forger's would.
    let received = decided + 1;
    let chain = ledger::link(&prev_chain, &digest, received);
    conn.execute(
        "INSERT INTO consent_records (seq, record_id, subject, partner_id, decided_at_ms,
            received_at_ms, effective_at_ms, supersedes, content_sha256, body, chain)
         VALUES (5, ?1, ?2, ?3, ?4, ?5, ?4, NULL, ?6, ?7, ?8)",
        params![forged_id, subject, partner, decided, received, digest, forged, chain],
    )
    .unwrap();
    let b = broken_at(verify(&t));
    assert_eq!(
        b.seq,
        Some(6),
        "the record after the forgery no longer follows: {b}"
    );
}

#[tokio::test]
async fn a_record_moved_to_another_customer_is_named() {
    let t = app_with_records(10).await;
    let conn = tamper(&t);
    // Hand cust-1's subject to cust-2 in the mapping.
    conn.execute_batch(
        "UPDATE subjects SET customer_id = 'swap' WHERE customer_id = 'cust-1';
         UPDATE subjects SET customer_id = 'cust-1' WHERE customer_id = 'cust-2';
         UPDATE subjects SET customer_id = 'cust-2' WHERE customer_id = 'swap';",
    )
    .unwrap();
    let b = broken_at(verify(&t));
    assert!(b.reason.contains("subject mapping"), "{b}");
}

#[tokio::test]
async fn records_cut_from_the_end_are_caught_against_a_checkpoint() {
    let t = app_with_records(10).await;
    let checkpoint = verify(&t).unwrap();
    tamper(&t)
        .execute("DELETE FROM consent_records WHERE seq = 10", [])
        .unwrap();
    // The remaining chain is consistent by itself...
    assert_eq!(verify(&t).unwrap().count, 9);
    // ...but does not reach the head a venue copied earlier.
    let conn = Db::open_read_only(&t.db_path).unwrap();
    let b = broken_at(ledger::verify_extends(
        &conn,
        checkpoint.count,
        &checkpoint.head,
    ));
    assert!(b.reason.contains("removed"), "{b}");
}

#[tokio::test]
async fn the_stored_file_never_holds_a_customer_id_inside_a_record() {
    let t = app_with_records(6).await;
    let conn = Connection::open(&t.db_path).unwrap();
    let bodies: Vec<String> = conn
        .prepare("SELECT body FROM consent_records")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for body in bodies {
        assert!(!body.contains("cust-"), "{body}");
        assert!(body.contains("\"customerId\":\"sub:"), "{body}");
    }
    // Reads put the id back.
    let records = t.state.db.records_for("cust-1").await.unwrap();
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| r.customer_id == "cust-1"));
}

#[test]
fn a_version_1_database_is_migrated_into_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE consent_records (
                record_id TEXT NOT NULL PRIMARY KEY, seq INTEGER NOT NULL UNIQUE,
                customer_id TEXT NOT NULL, partner_id TEXT NOT NULL,
                decided_at_ms INTEGER NOT NULL, received_at_ms INTEGER NOT NULL,
                content_sha256 TEXT NOT NULL, body TEXT NOT NULL) STRICT;
             CREATE INDEX consent_records_customer_partner ON consent_records (customer_id, partner_id, decided_at_ms, seq);
             CREATE INDEX consent_records_customer_seq ON consent_records (customer_id, seq);
             CREATE TRIGGER consent_records_no_update BEFORE UPDATE ON consent_records BEGIN SELECT RAISE(ABORT, 'no'); END;
             CREATE TRIGGER consent_records_no_delete BEFORE DELETE ON consent_records BEGIN SELECT RAISE(ABORT, 'no'); END;
             PRAGMA user_version = 1;",
        )
        .unwrap();
        for (seq, r) in [
            record(1, "cust-1", "alpha", Given, 1),
            record(2, "cust-2", "alpha", Refused, 2),
        ]
        .into_iter()
        .enumerate()
        {
            let body = serde_json::to_string(&r).unwrap();
            conn.execute(
                "INSERT INTO consent_records VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    r.record_id,
                    seq as i64 + 1,
                    r.customer_id,
                    r.partner.id,
                    r.decided_at.unix_millis(),
                    r.decided_at.unix_millis() + 1000,
                    sha256_hex(&body),
                    body
                ],
            )
            .unwrap();
        }
    }
    let db = Db::open(&path).unwrap();
    let records = db.records_for("cust-2").unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].record_id, uuid(2));
    assert_eq!(
        ledger::verify(&Db::open_read_only(&path).unwrap())
            .unwrap()
            .count,
        2
    );
}
