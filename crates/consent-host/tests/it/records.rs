//! The record API: storing, idempotency, conflicts, validation, derived
//! preferences, the audit trail and the append-only table.

use crate::common::*;
use axum::http::StatusCode;
use consent_core::domain::DecisionState::{Given, Refused, Withdrawn};
use consent_core::Timestamp;
use serde_json::{json, Value};

fn ids(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

fn stored_ids(v: &Value) -> Vec<&str> {
    v["stored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["recordId"].as_str().unwrap())
        .collect()
}

fn assert_error(body: &Value, code: &str, field: Option<&str>) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(
        body["error"]["field"],
        field.map_or(Value::Null, |f| json!(f)),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn stores_a_batch_then_reports_a_repost_as_duplicates() {
    let t = TestApp::new().await;
    t.set_now(EPOCH_2026 + 200 * DAY + 123);
    let batch = [
        record(1, "cust-1", "alpha", Given, 1),
        record(2, "cust-1", "beta", Refused, 1),
    ];

    let (status, body) = t.post_records(&batch).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(stored_ids(&body), [uuid(1), uuid(2)]);
    assert_eq!(body["stored"][0]["receivedAt"], "2026-07-20T00:00:00.123Z");
    assert_eq!(ids(&body["duplicates"]), Vec::<&str>::new());

    t.set_now(EPOCH_2026 + 201 * DAY);
    let (status, body) = t.post_records(&batch).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(stored_ids(&body), Vec::<&str>::new());
    assert_eq!(ids(&body["duplicates"]), [uuid(1), uuid(2)]);
    assert_eq!(t.row_count().await, 2);

    // The first receivedAt stands: the duplicate did not restamp it.
    let (_, trail) = t.get_json("/api/v1/customers/cust-1/consent-records").await;
    assert_eq!(
        trail["records"][0]["receivedAt"],
        "2026-07-20T00:00:00.123Z"
    );
}

#[tokio::test]
async fn a_record_repeated_inside_a_batch_is_stored_once() {
    let t = TestApp::new().await;
    let r = record(1, "cust-1", "alpha", Given, 1);
    let (status, body) = t
        .post_records(&[r.clone(), record(2, "cust-1", "beta", Given, 1), r])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(stored_ids(&body), [uuid(1), uuid(2)]);
    assert_eq!(ids(&body["duplicates"]), [uuid(1)]);
    assert_eq!(t.row_count().await, 2);
}

#[tokio::test]
async fn a_changed_body_under_a_known_record_id_is_a_conflict() {
    let t = TestApp::new().await;
    let original = record(1, "cust-1", "alpha", Given, 1);
    assert_eq!(
        t.post_records(std::slice::from_ref(&original)).await.0,
        StatusCode::CREATED
    );

    let mut changed = original.clone();
    changed.collection.page_path = "/elsewhere".to_owned();
    let (status, body) = t.post_records(&[changed.clone()]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_error(&body, "record_id_conflict", Some("records[0].recordId"));

    // The whole batch is refused: the new record before the conflict is not kept.
    let (status, body) = t
        .post_records(&[record(2, "cust-1", "beta", Given, 1), changed])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_error(&body, "record_id_conflict", Some("records[1].recordId"));
    assert_eq!(t.row_count().await, 1);

    // A conflict inside one batch is caught too.
    let mut twin = record(3, "cust-1", "gamma", Given, 1);
    let first = twin.clone();
    twin.purpose = "research".to_owned();
    let (status, body) = t.post_records(&[first, twin]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_error(&body, "record_id_conflict", Some("records[1].recordId"));
    assert_eq!(t.row_count().await, 1);
}

#[tokio::test]
async fn a_notice_digest_that_does_not_match_the_text_is_422() {
    let t = TestApp::new().await;
    let mut r = record(1, "cust-1", "alpha", Given, 1);
    r.notice.text.push_str(" (edited after hashing)");
    let (status, body) = t.post_records(&[r]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "invalid_record", Some("records[0].notice.sha256"));
    assert_eq!(t.row_count().await, 0);
}

#[tokio::test]
async fn check_record_fields_are_prefixed_with_the_record_index() {
    let t = TestApp::new().await;
    let mut bad = serde_json::to_value(record(2, "cust-1", "beta", Given, 1)).unwrap();
    bad["dpvState"] = json!("ConsentRefused");
    let good = serde_json::to_value(record(1, "cust-1", "alpha", Given, 1)).unwrap();
    let (status, body) = t.post_json(&json!({ "records": [good, bad] })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "invalid_record", Some("records[1].dpvState"));
    assert_eq!(
        t.row_count().await,
        0,
        "nothing of a refused batch is stored"
    );
}

#[tokio::test]
async fn a_type_error_names_its_json_path() {
    let t = TestApp::new().await;
    let mut r = serde_json::to_value(record(1, "cust-1", "alpha", Given, 1)).unwrap();
    r["notice"]["version"] = json!("two");
    let (status, body) = t.post_json(&json!({ "records": [r] })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "invalid_record", Some("records[0].notice.version"));

    let (status, body) = t.post_json(&json!({ "records": [{}] })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "invalid_record", Some("records[0]"));

    let (status, body) = t.post_json(&json!({ "record": [] })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_record");
}

#[tokio::test]
async fn times_are_taken_only_as_records_write_them() {
    let t = TestApp::new().await;
    for (field, value) in [
        ("decidedAt", "2026-11-25T15:03:07.120+01:00"),
        ("presentedAt", "2026-11-25T14:03:07Z"),
    ] {
        let mut r = serde_json::to_value(record(1, "cust-1", "alpha", Given, 1)).unwrap();
        r[field] = json!(value);
        let (status, body) = t.post_json(&json!({ "records": [r] })).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field} = {value}: {body}"
        );
        let path = format!("records[0].{field}");
        assert_error(&body, "invalid_record", Some(&path));
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("UTC with milliseconds")),
            "{body}"
        );
    }
    assert_eq!(t.row_count().await, 0);
}

#[tokio::test]
async fn an_unknown_enum_value_names_its_json_path() {
    let t = TestApp::new().await;
    let mut r = serde_json::to_value(record(1, "cust-1", "alpha", Given, 1)).unwrap();
    r["collection"]["channel"] = json!("carrier-pigeon");
    let (status, body) = t.post_json(&json!({ "records": [r] })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(
        &body,
        "invalid_record",
        Some("records[0].collection.channel"),
    );
}

#[tokio::test]
async fn a_client_sent_received_at_is_refused() {
    let t = TestApp::new().await;
    let mut r = record(1, "cust-1", "alpha", Given, 1);
    r.received_at = Some(at(3));
    let (status, body) = t
        .post_records(&[record(2, "cust-1", "beta", Given, 1), r])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "invalid_record", Some("records[1].receivedAt"));
    assert_eq!(t.row_count().await, 0);
}

#[tokio::test]
async fn empty_and_oversized_batches_are_refused() {
    let t = TestApp::new().await;
    let (status, body) = t.post_json(&json!({ "records": [] })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "invalid_record", Some("records"));

    let records: Vec<_> = (1..=501)
        .map(|n| record(n, "cust-1", "alpha", Given, 1))
        .collect();
    let (status, body) = t.post_records(&records).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "invalid_record", Some("records"));

    let (status, body) = t.post_records(&records[..500]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(t.row_count().await, 500);
}

#[tokio::test]
async fn preferences_follow_the_newest_decision_per_partner() {
    let t = TestApp::new().await;
    // alpha: given, then withdrawn later (a separate batch, superseding it).
    let given = record(1, "cust-1", "alpha", Given, 1);
    let mut withdrawn = record(2, "cust-1", "alpha", Withdrawn, 2);
    withdrawn.supersedes = Some(given.record_id.clone());
    // beta: refused on day 5 arrives first, a given dated day 3 arrives later:
    // the newest decision wins, not the latest insertion.
    let refused_late = record(3, "cust-1", "beta", Refused, 5);
    let given_early = record(4, "cust-1", "beta", Given, 3);
    // gamma: two decisions at the same instant: the later insertion wins.
    let tie_a = record(5, "cust-1", "gamma", Refused, 4);
    let tie_b = record(6, "cust-1", "gamma", Given, 4);
    assert_eq!(tie_a.decided_at, tie_b.decided_at);
    // Another customer's answer must not leak in.
    let other = record(7, "cust-2", "alpha", Given, 9);

    for batch in [
        vec![given, refused_late],
        vec![withdrawn, given_early, tie_a],
        vec![tie_b],
        vec![other],
    ] {
        let (status, body) = t.post_records(&batch).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    let (status, body) = t.get_json("/api/v1/customers/cust-1/preferences").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["customerId"], "cust-1");
    let prefs = body["preferences"].as_array().unwrap();
    let summary: Vec<(&str, &str, &str)> = prefs
        .iter()
        .map(|p| {
            (
                p["partnerId"].as_str().unwrap(),
                p["state"].as_str().unwrap(),
                p["recordId"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("alpha", "withdrawn", uuid(2).as_str()),
            ("beta", "refused", uuid(3).as_str()),
            ("gamma", "given", uuid(6).as_str())
        ]
    );
    let alpha = &prefs[0];
    assert_eq!(alpha["noticeId"], "alpha-marketing");
    assert_eq!(alpha["noticeVersion"], 2);
    assert_eq!(alpha["decidedAt"], "2026-01-03T00:00:05.000Z");
    assert_eq!(alpha["validUntil"], "2027-01-03T00:00:05.000Z");
    // The preference centre shows what was agreed to: the exact wording and its locale.
    assert!(
        alpha["noticeText"].as_str().is_some_and(|t| !t.is_empty()),
        "{alpha}"
    );
    assert_eq!(alpha["noticeLanguage"], "en-GB");
    let gamma = &prefs[2];
    assert!(
        gamma["channels"].as_array().is_some_and(|c| !c.is_empty()),
        "{gamma}"
    );

    // It parses as the wire type the widget reads.
    let typed: consent_core::wire::PreferencesV1 = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(typed.preferences.len(), 3);

    let (status, body) = t.get_json("/api/v1/customers/nobody/preferences").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "customerId": "nobody", "preferences": [] }));
}

#[tokio::test]
async fn the_audit_trail_lists_records_oldest_first_with_received_at() {
    let t = TestApp::new().await;
    // Inserted in an order unlike their decidedAt.
    let posts = [
        (
            record(1, "cust-1", "alpha", Given, 7),
            EPOCH_2026 + 300 * DAY,
        ),
        (
            record(2, "cust-1", "beta", Refused, 2),
            EPOCH_2026 + 301 * DAY,
        ),
        (
            record(3, "cust-2", "beta", Refused, 2),
            EPOCH_2026 + 302 * DAY,
        ),
        (
            record(4, "cust-1", "alpha", Withdrawn, 9),
            EPOCH_2026 + 303 * DAY,
        ),
    ];
    for (r, now) in &posts {
        t.set_now(*now);
        assert_eq!(
            t.post_records(std::slice::from_ref(r)).await.0,
            StatusCode::CREATED
        );
    }
    let (status, body) = t.get_json("/api/v1/customers/cust-1/consent-records").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["customerId"], "cust-1");
    let records = body["records"].as_array().unwrap();
    let got: Vec<&str> = records
        .iter()
        .map(|r| r["recordId"].as_str().unwrap())
        .collect();
    assert_eq!(got, [uuid(1), uuid(2), uuid(4)]);

    // Full records, exactly as posted plus the server's receivedAt.
    let mut expected = posts[1].0.clone();
    expected.received_at = Some(Timestamp::from_unix_millis(posts[1].1));
    let typed: consent_core::wire::ConsentRecordV1 =
        serde_json::from_value(records[1].clone()).unwrap();
    assert_eq!(typed, expected);
    assert_eq!(records[1]["receivedAt"], "2026-10-29T00:00:00.000Z");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_of_one_batch_store_it_exactly_once() {
    let t = TestApp::new().await;
    let batch: Vec<_> = (1..=5)
        .map(|n| record(n, "cust-1", &format!("p{n}"), Given, 1))
        .collect();
    let body = serde_json::to_vec(&json!({ "records": batch })).unwrap();
    let token = sign(&claims("cust-1", "consent:write"));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let app = t.app.clone();
        let body = body.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let req = axum::http::Request::post("/api/v1/consent-records")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .header("idempotency-key", "checkout-42")
                .body(axum::body::Body::from(body))
                .unwrap();
            let (status, _, body) = send(&app, req).await;
            (status, serde_json::from_slice::<Value>(&body).unwrap())
        }));
    }
    let mut stored_total = 0;
    let mut winners = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let stored = body["stored"].as_array().unwrap().len();
        let duplicates = body["duplicates"].as_array().unwrap().len();
        assert!(
            stored == 5 && duplicates == 0 || stored == 0 && duplicates == 5,
            "{body}"
        );
        stored_total += stored;
        winners += usize::from(stored == 5);
    }
    assert_eq!((winners, stored_total), (1, 5));
    assert_eq!(t.row_count().await, 5);
}

#[tokio::test]
async fn no_statement_can_replace_or_remove_a_stored_record() {
    // SQLite's triggers (PostgreSQL's: tests/postgres.rs).
    let t = TestApp::sqlite().await;
    let batch = [
        desk_record(1, "cust-1", "alpha", Given, 1),
        desk_record(2, "cust-2", "alpha", Refused, 1),
    ];
    assert_eq!(t.post_records(&batch).await.0, StatusCode::CREATED);
    let snapshot = |conn: &rusqlite::Connection| -> Vec<(i64, String, String)> {
        let mut stmt = conn
            .prepare("SELECT seq, record_id, body FROM consent_records ORDER BY seq")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    // A connection configured as the host's own, and a bare one: neither
    // can rewrite history.
    let host_conn = rusqlite::Connection::open(&t.db_path).unwrap();
    host_conn
        .pragma_update(None, "recursive_triggers", "ON")
        .unwrap();
    let bare_conn = rusqlite::Connection::open(&t.db_path).unwrap();
    let before = snapshot(&bare_conn);
    let columns = "(seq, record_id, subject, partner_id, decided_at_ms, received_at_ms, \
                   effective_at_ms, supersedes, content_sha256, body, chain)";
    let copy_of = |seq: i64, new_id: &str| {
        format!(
            "SELECT {seq}, {new_id}, subject, partner_id, decided_at_ms, received_at_ms, \
             effective_at_ms, supersedes, content_sha256, '{{\"forged\":true}}', chain \
             FROM consent_records WHERE seq = 1"
        )
    };
    let attempts = [
        "UPDATE consent_records SET body = json_set(body, '$.state', 'refused')".to_owned(),
        "UPDATE OR REPLACE consent_records SET seq = 2 WHERE seq = 1".to_owned(),
        "DELETE FROM consent_records WHERE seq = 2".to_owned(),
        // The same record id, another body.
        format!("INSERT OR REPLACE INTO consent_records {columns} {}", copy_of(99, "record_id")),
        format!("REPLACE INTO consent_records {columns} {}", copy_of(99, "record_id")),
        // Another record's seq, a fresh id: REPLACE would delete that record.
        format!("INSERT OR REPLACE INTO consent_records {columns} {}", copy_of(2, "'fresh-id'")),
        format!(
            "INSERT INTO consent_records {columns} {} ON CONFLICT(record_id) DO UPDATE SET body = excluded.body",
            copy_of(99, "record_id")
        ),
        format!("INSERT OR IGNORE INTO consent_records {columns} {}", copy_of(2, "'fresh-id'")),
    ];
    for conn in [&host_conn, &bare_conn] {
        for sql in &attempts {
            let result = conn.execute(sql, []);
            assert_eq!(
                snapshot(conn),
                before,
                "{sql} changed the table ({result:?})"
            );
            if !sql.starts_with("INSERT OR IGNORE") {
                let err = result.expect_err(sql).to_string();
                assert!(err.contains("append-only"), "{sql}: {err}");
            }
        }
    }
}

#[tokio::test]
async fn records_survive_a_restart() {
    let t = TestApp::sqlite().await;
    assert_eq!(
        t.post_records(&[record(1, "cust-1", "alpha", Given, 1)])
            .await
            .0,
        StatusCode::CREATED
    );
    let reopened = consent_host::Db::open(&t.db_path).unwrap();
    assert_eq!(reopened.records_for("cust-1").unwrap().len(), 1);
}
