//! Retention by real activity: what the venue reports a patron did
//! (`POST /api/v1/customers/{id}/activity`, a token's `activity` claim),
//! who may report it, and a retention run that counts activity and
//! current yeses, never a refusal or a withdrawal; and the `retention`
//! command, which simulates unless told `--apply`.

use std::process::Command;

use crate::common::*;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use consent_core::domain::DecisionState::{Given, Refused, Withdrawn};
use consent_core::Timestamp;
use consent_host::Db;
use consent_store::rules::{Retention, RetentionPlan};
use serde_json::{json, Value};

/// POSTs an activity body (any JSON) for `customer` with a credential.
async fn post_activity(
    t: &TestApp,
    customer: &str,
    body: &Value,
    credential: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/customers/{customer}/activity"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(c) = credential {
        req = req.header(header::AUTHORIZATION, format!("Bearer {c}"));
    }
    let (status, _, body) = t
        .send(req.body(Body::from(body.to_string())).unwrap())
        .await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// `{"kind", "at"}` at `day` (plus `ms`).
fn activity(kind: &str, day: i64) -> Value {
    json!({ "kind": kind, "at": at(day).to_string() })
}

/// The token of the venue's own server, allowed to report activity.
fn venue_server(t: &TestApp) -> String {
    sign(&claims_at("venue-server", "activity:write", t.now_ms()))
}

/// Who a retention run with its cutoff on `day` would anonymise.
async fn inactive_before(t: &TestApp, day: i64) -> Vec<String> {
    plan_before(t, day).await.customer_ids()
}

async fn plan_before(t: &TestApp, day: i64) -> RetentionPlan {
    t.state.db.retention_plan(at(day)).await.unwrap()
}

/// Runs retention with its cutoff on `day`, on day 300.
async fn run_retention_before(t: &TestApp, day: i64) -> RetentionPlan {
    let run = Retention {
        cutoff: at(day),
        by: "test".into(),
        at: at(300),
    };
    t.state.db.run_retention(run).await.unwrap()
}

/// Posts `records` as their patron (web) at `day` (plus an hour).
async fn post_on(t: &TestApp, day: i64, records: &[consent_core::wire::ConsentRecordV1]) {
    t.set_now(at(day).unix_millis() + 3_600_000);
    let (status, body) = t.post_records(records).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn activity_is_reported_by_an_admin_key_or_the_venue_servers_token_only() {
    let t = TestApp::new().await;
    let (status, body) =
        post_activity(&t, "C-1", &activity("purchase", 99), Some(&t.admin_key)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({
            "customerId": "C-1",
            "lastActivity": { "kind": "purchase", "at": at(99).to_string() }
        })
    );

    // The venue's server, for any customer of its venue.
    let server = venue_server(&t);
    let (status, body) = post_activity(&t, "C-2", &activity("booking", 99), Some(&server)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["lastActivity"]["kind"], "booking");

    // A patron's own token, even for themself, is not enough.
    let patron = sign(&claims("C-1", "consent:write consent:read"));
    let partner_key = t.partner_key("alpha").await;
    for (what, credential) in [("patron", &patron), ("partner key", &partner_key)] {
        let (status, body) =
            post_activity(&t, "C-1", &activity("login", 99), Some(credential)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
        assert_eq!(body["error"]["code"], "forbidden", "{what}");
    }
    let (status, body) = post_activity(&t, "C-1", &activity("login", 99), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // Another venue's server is not a token here.
    let mut elsewhere = claims_at("venue-server", "activity:write", t.now_ms());
    elsewhere.iss = "elsewhere".into();
    let (status, body) =
        post_activity(&t, "C-1", &activity("login", 99), Some(&sign(&elsewhere))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["field"], "token.iss");

    // Nothing refused was kept: C-1's latest is still the purchase.
    let (_, body) = post_activity(&t, "C-1", &activity("click", 1), Some(&server)).await;
    assert_eq!(body["lastActivity"], activity("purchase", 99));
}

#[tokio::test]
async fn an_activity_body_is_read_strictly_and_only_the_latest_is_kept() {
    let t = TestApp::new().await;
    let key = t.admin_key.clone();
    let now = Timestamp::from_unix_millis(t.now_ms());
    let in_hours = |h: i64| Timestamp::from_unix_millis(t.now_ms() + h * 3_600_000).to_string();
    let cases = [
        (json!({ "kind": "dance", "at": at(99).to_string() }), "kind"),
        (
            json!({ "kind": "purchase", "at": "2026-04-10T10:00:00Z" }),
            "at",
        ),
        (json!({ "kind": "purchase", "at": in_hours(25) }), "at"),
        (
            json!({ "kind": "purchase", "at": at(99).to_string(), "venue": "x" }),
            "venue",
        ),
        (json!({ "kind": "purchase", "at": null }), "at"),
    ];
    for (body, field) in cases {
        let (status, answer) = post_activity(&t, "C-1", &body, Some(&key)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_activity", "{body}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    let (status, answer) =
        post_activity(&t, "C-1", &json!({ "kind": "purchase" }), Some(&key)).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_activity"))
    );
    let (status, _, answer) = t
        .send(
            Request::post("/api/v1/customers/C-1/activity")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .body(Body::from("{\"kind\": "))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer:?}");

    // Within a day ahead it is believed, and kept as of its arrival.
    let (status, answer) = post_activity(
        &t,
        "C-1",
        &json!({ "kind": "waitlist", "at": in_hours(23) }),
        Some(&key),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["lastActivity"]["at"], now.to_string());

    // Only the latest is kept; an earlier report changes nothing.
    let (_, answer) = post_activity(&t, "C-2", &activity("booking", 90), Some(&key)).await;
    assert_eq!(answer["lastActivity"], activity("booking", 90));
    let (_, answer) = post_activity(&t, "C-2", &activity("click", 80), Some(&key)).await;
    assert_eq!(answer["lastActivity"], activity("booking", 90));
    let (_, answer) = post_activity(&t, "C-2", &activity("login", 95), Some(&key)).await;
    assert_eq!(answer["lastActivity"], activity("login", 95));
}

#[tokio::test]
async fn retention_by_activity_keeps_a_patron_who_still_books() {
    let t = TestApp::new().await;
    // Both answered every partner long ago, with a no.
    post_on(&t, 10, &[record(1, "booker", "alpha", Refused, 10)]).await;
    post_on(&t, 10, &[record(2, "quiet", "alpha", Refused, 10)]).await;
    t.set_now(at(300).unix_millis());
    let server = venue_server(&t);
    for day in [150, 299] {
        let (status, body) =
            post_activity(&t, "booker", &activity("booking", day), Some(&server)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(inactive_before(&t, 200).await, ["quiet"]);
    // Before its last booking, the booker was inactive too.
    assert_eq!(inactive_before(&t, 301).await, ["quiet", "booker"]);

    let plan = run_retention_before(&t, 200).await;
    assert_eq!(plan.customer_ids(), ["quiet"]);
    assert!(t.state.db.records_for("quiet").await.unwrap().is_empty());
    assert_eq!(t.state.db.records_for("booker").await.unwrap().len(), 1);
}

#[tokio::test]
async fn retention_by_activity_a_withdrawal_does_not_reset_the_clock_but_a_current_yes_does_keep() {
    let t = TestApp::new().await;
    post_on(&t, 10, &[record(1, "withdrew", "alpha", Given, 10)]).await;
    post_on(&t, 10, &[record(2, "agreed", "alpha", Refused, 10)]).await;
    post_on(&t, 10, &[record(3, "refused-again", "alpha", Given, 10)]).await;
    // On day 250: a withdrawal, a yes, and a no to another partner.
    post_on(&t, 250, &[record(4, "withdrew", "alpha", Withdrawn, 250)]).await;
    post_on(&t, 250, &[record(5, "agreed", "alpha", Given, 250)]).await;
    post_on(&t, 250, &[record(6, "refused-again", "beta", Refused, 250)]).await;

    let plan = plan_before(&t, 200).await;
    // refused-again's yes to alpha, received on day 10, still stands.
    assert_eq!(plan.customer_ids(), ["refused-again", "withdrew"]);
    let day10 = Timestamp::from_unix_millis(at(10).unix_millis() + 3_600_000);
    assert!(plan.customers.iter().all(|c| c.last_activity == day10));
    assert_eq!(plan.records, 4);
    assert_eq!(plan.per_partner.get("alpha"), Some(&3));
    assert_eq!(plan.per_partner.get("beta"), Some(&1));
    assert!(
        inactive_before(&t, 5).await.is_empty(),
        "known since day 10: nobody is inactive before it"
    );
}

#[tokio::test]
async fn retention_by_activity_a_tokens_activity_claim_counts_for_its_own_patron() {
    let t = TestApp::new().await;
    post_on(&t, 10, &[record(1, "returning", "alpha", Refused, 10)]).await;
    post_on(&t, 10, &[record(2, "silent", "alpha", Refused, 10)]).await;
    t.set_now(at(10).unix_millis());
    let (status, _) = t
        .post_with(
            &json!({ "records": [desk_record(3, "walk-in", "alpha", Refused, 10)] }),
            Some(&desk_token(t.now_ms())),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Day 250: the patron comes back to buy, and answers a new partner no.
    t.set_now(at(250).unix_millis());
    let mut purchase = claims_at("returning", "consent:write", t.now_ms());
    purchase.activity = Some("purchase".into());
    let batch = json!({ "records": [record(4, "returning", "beta", Refused, 250)] });
    let (status, body) = t.post_with(&batch, Some(&sign(&purchase))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The same without the claim: a no moves nothing.
    let batch = json!({ "records": [record(5, "silent", "beta", Refused, 250)] });
    let silent = sign(&claims_at("silent", "consent:write", t.now_ms()));
    let (status, _) = t.post_with(&batch, Some(&silent)).await;
    assert_eq!(status, StatusCode::CREATED);
    // A venue-wide token's claim speaks for its own sub, not for the
    // patrons an operator answers for.
    let mut desk = claims_at("box-office", "consent:write:venue", t.now_ms());
    desk.operator = Some(DESK.into());
    desk.activity = Some("purchase".into());
    let batch = json!({ "records": [desk_record(6, "walk-in", "beta", Refused, 250)] });
    let (status, _) = t.post_with(&batch, Some(&sign(&desk))).await;
    assert_eq!(status, StatusCode::CREATED);

    // (walk-in's first record came on the hour before silent's.)
    assert_eq!(inactive_before(&t, 200).await, ["walk-in", "silent"]);
    let (_, answer) =
        post_activity(&t, "returning", &activity("click", 1), Some(&t.admin_key)).await;
    assert_eq!(
        answer["lastActivity"],
        json!({ "kind": "purchase", "at": at(250).to_string() }),
        "dated when the batch was received"
    );

    // A kind the host does not know refuses the batch, naming the claim.
    let mut odd = claims_at("returning", "consent:write", t.now_ms());
    odd.activity = Some("dance".into());
    let batch = json!({ "records": [record(7, "returning", "gamma", Given, 250)] });
    let (status, body) = t.post_with(&batch, Some(&sign(&odd))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_activity");
    assert_eq!(body["error"]["field"], "token.activity");
    assert_eq!(t.row_count().await, 6, "nothing of it was stored");
}

#[tokio::test]
async fn retention_by_activity_erasure_and_the_run_forget_the_activity() {
    let t = TestApp::new().await;
    let key = t.admin_key.clone();
    post_on(&t, 10, &[record(1, "gone", "alpha", Given, 10)]).await;
    t.set_now(at(300).unix_millis());
    post_activity(&t, "gone", &activity("purchase", 90), Some(&key)).await;
    let (status, _, _) = t
        .send(
            Request::delete("/api/v1/customers/gone")
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The purchase went with the patron: an earlier report is now the latest.
    let (_, answer) = post_activity(&t, "gone", &activity("click", 80), Some(&key)).await;
    assert_eq!(answer["lastActivity"], activity("click", 80));

    // A run forgets the activity of patrons with no record it leaves
    // behind, if older than its cutoff; it keeps the recent ones.
    post_activity(&t, "never-answered", &activity("login", 50), Some(&key)).await;
    post_activity(&t, "new-patron", &activity("login", 250), Some(&key)).await;
    run_retention_before(&t, 200).await;
    for (who, earlier, kept) in [
        ("gone", 1, 1),
        ("never-answered", 40, 40),
        ("new-patron", 240, 250),
    ] {
        let (_, answer) = post_activity(&t, who, &activity("click", earlier), Some(&key)).await;
        assert_eq!(answer["lastActivity"]["at"], at(kept).to_string(), "{who}");
    }
}

// ---- the command ------------------------------------------------------------

/// Today, in days since 2026-01-01 (the command uses the wall clock).
fn today() -> i64 {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    (ms - EPOCH_2026) / DAY
}

/// `consent-host retention --db DB --inactive-months 6` and `more`.
fn retention(db: &str, more: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_consent-host"))
        .args(["retention", "--db", db, "--inactive-months", "6"])
        .args(more)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn retention_command_simulates_unless_applied_and_reports_exactly_the_affected_ids() {
    // The SQLite file, byte for byte.
    let t = TestApp::sqlite().await;
    let (old, recent) = (today() - 400, today() - 10);
    post_on(&t, old, &[record(1, "old-no", "alpha", Refused, old)]).await;
    post_on(&t, old, &[record(2, "old-withdrew", "alpha", Given, old)]).await;
    post_on(&t, old, &[record(3, "booker", "alpha", Refused, old)]).await;
    post_on(&t, old, &[record(4, "recent-yes", "alpha", Refused, old)]).await;
    post_on(
        &t,
        recent,
        &[record(5, "old-withdrew", "alpha", Withdrawn, recent)],
    )
    .await;
    post_on(
        &t,
        recent,
        &[record(6, "recent-yes", "alpha", Given, recent)],
    )
    .await;
    let (status, _) = post_activity(
        &t,
        "booker",
        &activity("booking", recent),
        Some(&t.admin_key),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    settle_wal(&t).await;
    let db = t.db_path.to_str().unwrap().to_owned();
    let before = sha256_file(&t.db_path);
    let known = Timestamp::from_unix_millis(at(old).unix_millis() + 3_600_000);
    let expected_report =
        format!("customerId,lastActivity\nold-no,{known}\nold-withdrew,{known}\n");

    // No flag, then --dry-run with a report: a simulation, the file untouched.
    let report = t.dir.path().join("retention.csv");
    let report_arg = report.to_str().unwrap();
    for args in [vec![], vec!["--dry-run", "--report", report_arg]] {
        let (ok, out, err) = retention(&db, &args);
        assert!(ok, "{args:?}: {out}{err}");
        assert!(
            out.contains(
                "would anonymise 2 customers, 3 records (simulation: run with --apply to anonymise)"
            ),
            "{out}"
        );
        assert!(out.contains("alpha: 3 records"), "{out}");
        for id in ["old-no", "old-withdrew", "booker", "recent-yes"] {
            assert!(
                !out.contains(id) && !err.contains(id),
                "{id} printed: {out}{err}"
            );
        }
        assert_eq!(sha256_file(&t.db_path), before, "{args:?} changed the file");
    }
    assert_eq!(std::fs::read_to_string(&report).unwrap(), expected_report);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&report).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "owner-only");
    }

    // A report is never overwritten, and a refused run changes nothing.
    let (ok, out, err) = retention(&db, &["--apply", "--report", report_arg]);
    assert!(!ok, "{out}");
    assert!(err.contains("--report") && err.contains("exists"), "{err}");
    assert_eq!(sha256_file(&t.db_path), before);
    let (ok, _, err) = retention(&db, &["--dry-run", "--apply"]);
    assert!(
        !ok && err.contains("--dry-run") && err.contains("--apply"),
        "{err}"
    );
    assert_eq!(sha256_file(&t.db_path), before);

    // --apply anonymises exactly that set.
    let applied = t.dir.path().join("applied.csv");
    let (ok, out, err) = retention(&db, &["--apply", "--report", applied.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("anonymised 2 customers, 3 records"), "{out}");
    assert!(
        !out.contains("simulation") && !out.contains("old-no"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&applied).unwrap(), expected_report);
    let db = Db::open(&t.db_path).unwrap();
    for gone in ["old-no", "old-withdrew"] {
        assert!(db.records_for(gone).unwrap().is_empty(), "{gone}");
    }
    assert_eq!(db.records_for("booker").unwrap().len(), 1);
    assert_eq!(db.records_for("recent-yes").unwrap().len(), 2);
    let logged = db.erasures().unwrap().pop().unwrap();
    assert_eq!(
        (logged["kind"].as_str(), logged["customers"].as_i64()),
        (Some("retention"), Some(2))
    );
    assert!(!logged.to_string().contains("old-no"));
}
