//! After the checkout: the partner export, the receipt, erasure and retention.

use std::process::Command;

use crate::common::*;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use consent_core::domain::Channel;
use consent_core::domain::DecisionState::{Given, Refused, Withdrawn};
use consent_host::keys::Role;
use consent_host::{ledger, Db};
use serde_json::Value;

/// GETs with a credential and returns status, headers and the raw body.
async fn get_raw(t: &TestApp, uri: &str, credential: &str) -> (StatusCode, String, String) {
    let req = Request::get(uri)
        .header(header::AUTHORIZATION, format!("Bearer {credential}"))
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = t.send(req).await;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, String::from_utf8(body).unwrap())
}

fn contact_ids(export: &Value) -> Vec<String> {
    let mut ids: Vec<String> = export["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customerId"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// A store where, for partner `alpha`: cust-a said yes (email), cust-b said
/// yes then withdrew, cust-c's yes has lapsed, cust-d said no, cust-f said
/// yes by post only; cust-e said yes to `beta` only.
async fn store_with_answers() -> TestApp {
    let t = TestApp::new().await;
    let mut n = 0;
    let mut post = |customer: &str, partner: &str, state, day: i64| {
        n += 1;
        record(n, customer, partner, state, day)
    };
    let a = post("cust-a", "alpha", Given, 10);
    let b1 = post("cust-b", "alpha", Given, 10);
    let mut b2 = post("cust-b", "alpha", Withdrawn, 20);
    b2.supersedes = Some(b1.record_id.clone());
    let mut c = post("cust-c", "alpha", Given, 10);
    c.valid_until = Some(at(50)); // before the test clock (day 100)
    let d = post("cust-d", "alpha", Refused, 10);
    let e = post("cust-e", "beta", Given, 10);
    let mut f = post("cust-f", "alpha", Given, 10);
    f.channels = vec![Channel::Post];
    for r in [a, b1, b2, c, d, e, f] {
        let (status, body) = t.post_records(std::slice::from_ref(&r)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    t
}

#[tokio::test]
async fn the_export_lists_current_unlapsed_yeses_with_their_proof() {
    let t = store_with_answers().await;
    let (_, key) = t
        .state
        .db
        .add_key(
            &consent_host::keys::KeySpec {
                role: Role::Partner,
                partner_id: Some("alpha".to_owned()),
                label: None,
            },
            at(1),
        )
        .await
        .unwrap();
    let (status, body) = t
        .get_with("/api/v1/partners/alpha/contacts", Some(&key))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(contact_ids(&body), ["cust-a", "cust-f"]);
    let a = body["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["customerId"] == "cust-a")
        .unwrap();
    for field in [
        "recordId",
        "decidedAt",
        "receivedAt",
        "noticeId",
        "noticeVersion",
        "noticeLanguage",
        "noticeSha256",
    ] {
        assert!(!a[field].is_null(), "{field} missing in {a}");
    }
    assert_eq!(a["channels"], serde_json::json!(["email"]));

    let (_, email) = t
        .get_with("/api/v1/partners/alpha/contacts?channel=email", Some(&key))
        .await;
    assert_eq!(contact_ids(&email), ["cust-a"]);
    let (_, beta) = t
        .get_with("/api/v1/partners/beta/contacts", Some(&t.admin_key))
        .await;
    assert_eq!(contact_ids(&beta), ["cust-e"]);

    let (_, summary) = t
        .get_with("/api/v1/partners/alpha/summary", Some(&key))
        .await;
    assert_eq!(summary["contacts"], 2);
    assert_eq!(summary["byChannel"]["email"], 1);
    assert_eq!(summary["byChannel"]["post"], 1);
    assert_eq!(summary["byChannel"]["sms"], 0);
}

#[tokio::test]
async fn csv_and_json_exports_agree() {
    let t = store_with_answers().await;
    let (_, json) = t
        .get_with("/api/v1/partners/alpha/contacts", Some(&t.admin_key))
        .await;
    let (status, content_type, csv) = get_raw(
        &t,
        "/api/v1/partners/alpha/contacts?format=csv",
        &t.admin_key,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "customerId,reference,email,phone,postal,contactAsRecorded,imported,basis,recordId,decidedAt,receivedAt,channels,noticeId,noticeVersion,noticeLanguage,noticeSha256"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let contacts = json["contacts"].as_array().unwrap();
    assert_eq!(rows.len(), contacts.len());
    for (row, c) in rows.iter().zip(contacts) {
        assert_eq!(row[0], c["customerId"]);
        assert_eq!(row[1], c["reference"]);
        assert_eq!(row[6], c["imported"].to_string());
        assert_eq!(row[7], c["basis"]);
        assert_eq!(row[8], c["recordId"]);
        assert_eq!(row[9], c["decidedAt"]);
        assert_eq!(row[10], c["receivedAt"]);
        assert_eq!(row[15], c["noticeSha256"]);
    }
    // Accept: text/csv asks for the same.
    let req = Request::get("/api/v1/partners/alpha/contacts")
        .header(header::AUTHORIZATION, format!("Bearer {}", t.admin_key))
        .header(header::ACCEPT, "text/csv")
        .body(Body::empty())
        .unwrap();
    let (_, _, body) = t.send(req).await;
    assert_eq!(String::from_utf8(body).unwrap(), csv);
}

#[test]
fn csv_cells_are_quoted_and_never_formulas() {
    use consent_host::routes::partners::csv_cell;
    assert_eq!(csv_cell("C-1"), "C-1");
    assert_eq!(csv_cell("-1+1"), "'-1+1"); // a leading minus would be a formula
    assert_eq!(csv_cell("plain"), "plain");
    assert_eq!(csv_cell("a,b"), "\"a,b\"");
    assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    // Read as a formula after the spreadsheet trims leading white space,
    // or through a full-width sign; and split by a `;`-locale spreadsheet.
    for (cell, safe) in [
        (" =1+1", "' =1+1"),
        ("\n=1+1", "\"'\n=1+1\""),
        ("\u{a0}=1+1", "'\u{a0}=1+1"),
        ("\u{3000}@SUM(A1)", "'\u{3000}@SUM(A1)"),
        ("\u{ff1d}1+1", "'\u{ff1d}1+1"),
        ("\u{ff0b}1", "'\u{ff0b}1"),
        ("\u{ff0d}1", "'\u{ff0d}1"),
        ("\u{ff20}A1", "'\u{ff20}A1"),
        ("\t=1", "\"'\t=1\""),
        ("a;=1+1", "\"a;=1+1\""),
        ("notice;id", "\"notice;id\""),
        ("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"),
    ] {
        assert_eq!(csv_cell(cell), safe, "{cell:?}");
    }
}

#[tokio::test]
async fn a_withdrawal_removes_the_contact_from_the_next_export() {
    let t = TestApp::new().await;
    let yes = record(1, "cust-1", "alpha", Given, 10);
    assert_eq!(
        t.post_records(std::slice::from_ref(&yes)).await.0,
        StatusCode::CREATED
    );
    let (_, before) = t
        .get_with("/api/v1/partners/alpha/contacts", Some(&t.admin_key))
        .await;
    assert_eq!(contact_ids(&before), ["cust-1"]);
    let mut no = record(2, "cust-1", "alpha", Withdrawn, 11);
    no.supersedes = Some(yes.record_id);
    assert_eq!(t.post_records(&[no]).await.0, StatusCode::CREATED);
    let (_, after) = t
        .get_with("/api/v1/partners/alpha/contacts", Some(&t.admin_key))
        .await;
    assert!(contact_ids(&after).is_empty(), "{after}");
}

#[tokio::test]
async fn an_expiry_removes_the_contact_as_time_passes() {
    let t = TestApp::new().await;
    let mut yes = record(1, "cust-1", "alpha", Given, 99);
    yes.valid_until = Some(at(101));
    assert_eq!(t.post_records(&[yes]).await.0, StatusCode::CREATED);
    let (_, now) = t
        .get_with("/api/v1/partners/alpha/contacts", Some(&t.admin_key))
        .await;
    assert_eq!(contact_ids(&now), ["cust-1"]);
    t.set_now(EPOCH_2026 + 102 * DAY);
    let (_, later) = t
        .get_with("/api/v1/partners/alpha/contacts", Some(&t.admin_key))
        .await;
    assert!(contact_ids(&later).is_empty(), "{later}");
}

#[tokio::test]
async fn since_keeps_answers_received_from_then_on() {
    let t = TestApp::new().await;
    assert_eq!(
        t.post_records(&[record(1, "cust-1", "alpha", Given, 10)])
            .await
            .0,
        StatusCode::CREATED
    );
    t.set_now(EPOCH_2026 + 120 * DAY);
    assert_eq!(
        t.post_records(&[record(2, "cust-2", "alpha", Given, 110)])
            .await
            .0,
        StatusCode::CREATED
    );
    let (_, body) = t
        .get_with(
            "/api/v1/partners/alpha/contacts?since=2026-04-20T00:00:00.000Z",
            Some(&t.admin_key),
        )
        .await;
    assert_eq!(contact_ids(&body), ["cust-2"]);
    let (status, body) = t
        .get_with(
            "/api/v1/partners/alpha/contacts?since=yesterday",
            Some(&t.admin_key),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["field"], "since");
}

#[tokio::test]
async fn a_partner_key_reads_its_own_export_only() {
    let t = store_with_answers().await;
    let (_, beta) = t
        .state
        .db
        .add_key(
            &consent_host::keys::KeySpec {
                role: Role::Partner,
                partner_id: Some("beta".to_owned()),
                label: None,
            },
            at(1),
        )
        .await
        .unwrap();
    let token = sign(&claims("cust-a", "consent:write consent:read"));
    for (uri, credential, want) in [
        (
            "/api/v1/partners/alpha/contacts",
            beta.as_str(),
            StatusCode::FORBIDDEN,
        ),
        (
            "/api/v1/partners/alpha/summary",
            beta.as_str(),
            StatusCode::FORBIDDEN,
        ),
        (
            "/api/v1/customers/cust-e/consent-records",
            beta.as_str(),
            StatusCode::FORBIDDEN,
        ),
        (
            "/api/v1/customers/cust-e/preferences",
            beta.as_str(),
            StatusCode::FORBIDDEN,
        ),
        (
            "/api/v1/customers/cust-e/receipt",
            beta.as_str(),
            StatusCode::FORBIDDEN,
        ),
        (
            "/api/v1/partners/alpha/contacts",
            token.as_str(),
            StatusCode::FORBIDDEN,
        ),
        (
            "/api/v1/partners/beta/contacts",
            beta.as_str(),
            StatusCode::OK,
        ),
    ] {
        let (status, body) = t.get_with(uri, Some(credential)).await;
        assert_eq!(status, want, "{uri}: {body}");
    }
    let (status, _) = t.get_with("/api/v1/partners/alpha/contacts", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_receipt_holds_every_current_answer_with_its_exact_wording() {
    let t = store_with_answers().await;
    let token = sign(&claims("cust-b", "consent:read"));
    let (status, receipt) = t
        .get_with("/api/v1/customers/cust-b/receipt", Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    assert_eq!(receipt["schema"], "consent-receipt/1");
    assert_eq!(receipt["customerId"], "cust-b");
    let records = receipt["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "one current answer per partner");
    assert_eq!(records[0]["state"], "withdrawn");
    // Byte for byte the stored record, as the audit trail gives it.
    let (_, trail) = t.get_json("/api/v1/customers/cust-b/consent-records").await;
    let stored = trail["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["recordId"] == records[0]["recordId"])
        .unwrap();
    assert_eq!(&records[0], stored);
    assert!(records[0]["notice"]["text"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
}

fn file_contains(path: &std::path::Path, needle: &str) -> bool {
    std::fs::read(path)
        .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .unwrap_or(false)
}

#[tokio::test]
async fn erasure_leaves_no_trace_of_the_id_and_the_ledger_still_verifies() {
    // The SQLite file and its WAL, byte by byte (PostgreSQL: tests/postgres.rs).
    let t = TestApp::sqlite().await;
    let id = "ERASE-ME-7f3a91";
    // The patron's order reference points at them as surely as their id.
    let basket = "ORDER-5c1e7d";
    for (n, customer, partner) in [(1, id, "alpha"), (2, id, "beta"), (3, "cust-keep", "alpha")] {
        let mut r = record(n, customer, partner, Given, 10);
        if customer == id {
            r.collection.basket_ref = Some(basket.to_owned());
        }
        let (status, body) = t.post_records(&[r]).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let wal = t.db_path.with_extension("db-wal");
    assert!(
        file_contains(&t.db_path, id) || file_contains(&wal, id),
        "the id is stored before erasure"
    );
    // The basket reference is sealed under the patron's salt: never in
    // the files as sent, yet read back as sent while the patron exists.
    assert!(!file_contains(&t.db_path, basket) && !file_contains(&wal, basket));
    let (_, trail) = t
        .get_json(&format!("/api/v1/customers/{id}/consent-records"))
        .await;
    assert_eq!(
        trail["records"][0]["collection"]["basketRef"], basket,
        "{trail}"
    );

    // Only an admin may erase.
    let token = sign(&claims(id, "consent:write consent:read"));
    let req = |credential: &str| {
        Request::delete(format!("/api/v1/customers/{id}"))
            .header(header::AUTHORIZATION, format!("Bearer {credential}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, _) = t.send(req(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = t.send(req(&t.admin_key)).await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["records"], 2);

    // The erasure answered as soon as it committed; the scrub of the WAL
    // follows in the background, and the log says when it is done.
    wait_until_scrubbed(&t).await;
    for path in [&t.db_path, &wal] {
        for value in [id, basket] {
            assert!(
                !file_contains(path, value),
                "{} still holds {value}",
                path.display()
            );
        }
    }
    for endpoint in ["consent-records", "preferences", "receipt"] {
        let (status, body) = t
            .get_json(&format!("/api/v1/customers/{id}/{endpoint}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(!body.to_string().contains("recordId"), "{endpoint}: {body}");
    }
    let (_, export) = t
        .get_with("/api/v1/partners/alpha/contacts", Some(&t.admin_key))
        .await;
    assert_eq!(contact_ids(&export), ["cust-keep"]);
    let head = ledger::verify(&Db::open_read_only(&t.db_path).unwrap()).unwrap();
    assert_eq!(head.count, 3, "the records stay, unlinkable");

    let log = t.state.db.erasures().await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["records"], 2);
    assert_eq!(log[0]["scrub"], "scrubbed");
    assert_eq!(log[0]["kind"], "request");
    assert!(log[0]["by"].as_str().unwrap().starts_with("key:"));
    assert!(!log[0].to_string().contains(id));
}

#[tokio::test]
async fn retention_dry_run_changes_nothing_and_the_run_anonymises_that_set() {
    // The SQLite file's hash (PostgreSQL: tests/postgres.rs).
    let t = TestApp::sqlite().await;
    // Activity on day 100 (2026-04-11) for two customers, day 300 for one.
    for (n, customer) in [(1, "old-1"), (2, "old-2"), (3, "old-1")] {
        assert_eq!(
            t.post_records(&[record(n, customer, "alpha", Refused, 90)])
                .await
                .0,
            StatusCode::CREATED
        );
    }
    t.set_now(EPOCH_2026 + 300 * DAY);
    assert_eq!(
        t.post_records(&[record(4, "recent", "alpha", Given, 290)])
            .await
            .0,
        StatusCode::CREATED
    );
    settle_wal(&t).await;
    let bin = env!("CARGO_BIN_EXE_consent-host");
    let db = t.db_path.to_str().unwrap();
    let before = sha256_file(&t.db_path);
    let out = Command::new(bin)
        .args([
            "retention",
            "--db",
            db,
            "--inactive-months",
            "6",
            "--dry-run",
        ])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains("would anonymise 2 customers, 3 records"),
        "{report}"
    );
    assert!(report.contains("alpha: 3 records"), "{report}");
    assert!(!report.contains("old-1"), "ids never printed: {report}");
    assert_eq!(
        sha256_file(&t.db_path),
        before,
        "the dry run changed the file"
    );

    let out = Command::new(bin)
        .args(["retention", "--db", db, "--inactive-months", "6", "--apply"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("anonymised 2 customers, 3 records"),
        "{report}"
    );
    let db = Db::open(&t.db_path).unwrap();
    assert!(db.records_for("old-1").unwrap().is_empty());
    assert!(db.records_for("old-2").unwrap().is_empty());
    assert_eq!(db.records_for("recent").unwrap().len(), 1);
    assert_eq!(
        ledger::verify(&Db::open_read_only(&t.db_path).unwrap())
            .unwrap()
            .count,
        4
    );
    for path in [t.db_path.clone(), t.db_path.with_extension("db-wal")] {
        assert!(!file_contains(&path, "old-1"), "{}", path.display());
    }
    let log = db.erasures().unwrap();
    let run = log.last().unwrap();
    assert_eq!(
        (run["kind"].as_str(), run["customers"].as_i64()),
        (Some("retention"), Some(2))
    );
    assert_eq!(run["detail"]["perPartner"]["alpha"], 3);
}
