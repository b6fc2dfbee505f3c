//! What partners and the venue's systems get after checkout: contact
//! points signed by the venue, the suppression feed, signed webhooks.
//! On the run's backend (SQLite, or PostgreSQL in its tier).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use consent_core::domain::Channel;
use consent_core::domain::DecisionState::{Given, Withdrawn};
use consent_core::wire::{ConsentRecordV1, ContactV1};
use consent_host::keys::Role;
use consent_host::webhooks::{self, WebhookSettings};
use consent_host::{ledger, AppState, Storage};
use consent_store::events::Backoff;
use serde_json::{json, Value};

fn contact() -> ContactV1 {
    ContactV1 {
        email: Some("Pat.Doe@Example.org".into()),
        phone: Some("+44 20 7946 0000".into()),
        postal: Some("1 High Street\nLeeds LS1 1AA".into()),
    }
}

/// Posts records for `customer` with a checkout token whose `contact`
/// claim holds `contact`.
async fn post_with_contact(
    t: &TestApp,
    records: &[ConsentRecordV1],
    contact: Option<ContactV1>,
) -> (StatusCode, Value) {
    let mut c = claims_at(&records[0].customer_id, "consent:write", t.now_ms());
    c.contact = contact;
    t.post_with(&json!({ "records": records }), Some(&sign(&c)))
        .await
}

async fn get_text(t: &TestApp, uri: &str, credential: &str) -> (StatusCode, String) {
    let req = Request::get(uri)
        .header(header::AUTHORIZATION, format!("Bearer {credential}"))
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = t.send(req).await;
    (status, String::from_utf8(body).unwrap())
}

/// The salt the storage keeps for a customer (to recompute a digest as
/// whoever defends a record would).
async fn salt_of(t: &TestApp, customer: &str) -> Vec<u8> {
    match &t.database_url {
        Some(url) => {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            client
                .query_one(
                    "SELECT salt FROM subjects WHERE customer_id = $1",
                    &[&customer],
                )
                .await
                .unwrap()
                .get(0)
        }
        None => rusqlite::Connection::open(&t.db_path)
            .unwrap()
            .query_row(
                "SELECT salt FROM subjects WHERE customer_id = ?1",
                [customer],
                |r| r.get(0),
            )
            .unwrap(),
    }
}

fn row_for<'a>(export: &'a Value, customer: &str) -> &'a Value {
    export["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["customerId"] == customer)
        .unwrap_or_else(|| panic!("{customer} not in {export}"))
}

#[tokio::test]
async fn a_partner_gets_exactly_the_contact_points_agreed_to_and_the_record_proves_them() {
    let t = TestApp::new().await;
    let mut post_only = record(1, "cust-post", "alpha", Given, 10);
    post_only.channels = vec![Channel::Post];
    let mut email_sms = record(2, "cust-mail", "alpha", Given, 10);
    email_sms.channels = vec![Channel::Email, Channel::Sms];
    for r in [&post_only, &email_sms] {
        let (status, body) = post_with_contact(&t, std::slice::from_ref(r), Some(contact())).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, export) = t.get_json("/api/v1/partners/alpha/contacts").await;
    assert_eq!(status, StatusCode::OK, "{export}");
    let post_row = row_for(&export, "cust-post");
    assert_eq!(
        post_row["contact"],
        json!({ "postal": "1 High Street\nLeeds LS1 1AA" }),
        "a post-only yes gives the postal address only"
    );
    let mail_row = row_for(&export, "cust-mail");
    assert_eq!(
        mail_row["contact"],
        json!({ "email": "Pat.Doe@Example.org", "phone": "+44 20 7946 0000" })
    );
    for row in [post_row, mail_row] {
        assert_eq!(row["contactAsRecorded"], true, "{row}");
        assert!(row["reference"].as_str().unwrap().starts_with("ref_"));
    }
    assert_ne!(post_row["reference"], mail_row["reference"]);

    // The stored record proves which address it concerns.
    let (_, records) = t
        .get_json("/api/v1/customers/cust-mail/consent-records")
        .await;
    let digests = &records["records"][0]["contactDigests"];
    let salt = salt_of(&t, "cust-mail").await;
    assert_eq!(
        digests["email"],
        ledger::contact_digest(&salt, Channel::Email, "pat.doe@example.org ")
    );
    assert_eq!(
        digests["sms"],
        ledger::contact_digest(&salt, Channel::Sms, "+442079460000")
    );
    assert!(digests.get("post").is_none(), "{digests}");
    assert_ne!(
        digests["email"],
        ledger::contact_digest(&salt, Channel::Email, "someone.else@example.org")
    );

    // The CSV has the same points in its own columns.
    let (status, csv) = get_text(
        &t,
        "/api/v1/partners/alpha/contacts?format=csv",
        &t.admin_key,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let rows: Vec<String> = lines.map(str::to_owned).collect();
    let mail = rows.iter().find(|l| l.starts_with("cust-mail,")).unwrap();
    let cells: Vec<&str> = mail.split(',').collect();
    assert_eq!(cells[col("email")], "Pat.Doe@Example.org");
    // Guarded as text, as every cell a spreadsheet could read as a formula.
    assert_eq!(cells[col("phone")], "'+44 20 7946 0000");
    assert_eq!(cells[col("postal")], "");
    assert_eq!(cells[col("reference")], mail_row["reference"]);
    let post = rows.iter().find(|l| l.starts_with("cust-post,")).unwrap();
    assert!(
        post.contains("\"1 High Street\nLeeds LS1 1AA\"")
            || csv.contains("\"1 High Street\nLeeds LS1 1AA\"")
    );
    assert!(!post.contains("Example.org"), "{post}");
}

#[tokio::test]
async fn the_back_office_updates_a_contact_and_the_export_says_it_changed() {
    let t = TestApp::new().await;
    let r = record(1, "cust-a", "alpha", Given, 10);
    let (status, _) = post_with_contact(&t, &[r], Some(contact())).await;
    assert_eq!(status, StatusCode::CREATED);
    let put = |body: Value, credential: String| {
        let t = &t;
        async move {
            let req = Request::put("/api/v1/customers/cust-a/contact")
                .header(header::AUTHORIZATION, format!("Bearer {credential}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap();
            let (status, _, body) = t.send(req).await;
            (status, serde_json::from_slice::<Value>(&body).unwrap())
        }
    };
    let patron = sign(&claims("cust-a", "consent:write consent:read"));
    let (status, _) = put(json!({ "email": "new@example.org" }), patron.clone()).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only an admin key writes contacts"
    );
    let (status, body) = put(json!({ "email": "not an email" }), t.admin_key.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "contact.email");
    let (status, body) = put(json!({ "fax": "123" }), t.admin_key.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = put(json!({ "email": "new@example.org" }), t.admin_key.clone()).await;
    assert_eq!(status, StatusCode::OK);

    let (status, own) = t
        .get_with("/api/v1/customers/cust-a/contact", Some(&patron))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(own["contact"], json!({ "email": "new@example.org" }));
    let (_, export) = t.get_json("/api/v1/partners/alpha/contacts").await;
    let row = row_for(&export, "cust-a");
    assert_eq!(row["contact"]["email"], "new@example.org");
    assert_eq!(
        row["contactAsRecorded"], false,
        "the yes was recorded for another address"
    );
}

#[tokio::test]
async fn a_forged_or_stray_contact_never_counts() {
    let t = TestApp::new().await;
    // A record that arrives with digests of its own is refused.
    let mut forged = record(1, "cust-a", "alpha", Given, 10);
    forged.contact_digests = Some(Default::default());
    let (status, body) = t.post_records(&[forged]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "records[0].contactDigests");
    // A malformed claim is named.
    let bad = ContactV1 {
        phone: Some("call me".into()),
        ..ContactV1::default()
    };
    let r = record(2, "cust-a", "alpha", Given, 10);
    let (status, body) = post_with_contact(&t, &[r], Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "token.contact.phone");
    // A venue-wide token's claim is not another patron's contact.
    let mut desk_claims = claims_at("box-office", "consent:write:venue", t.now_ms());
    desk_claims.operator = Some(DESK.to_owned());
    desk_claims.contact = Some(contact());
    let desk = desk_record(3, "cust-b", "alpha", Given, 10);
    let (status, body) = t
        .post_with(&json!({ "records": [desk] }), Some(&sign(&desk_claims)))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, export) = t.get_json("/api/v1/partners/alpha/contacts").await;
    assert_eq!(row_for(&export, "cust-b")["contact"], json!({}));
}

#[tokio::test]
async fn a_retry_after_the_address_changed_is_still_a_duplicate() {
    let t = TestApp::new().await;
    let r = record(1, "cust-a", "alpha", Given, 10);
    let (status, _) = post_with_contact(&t, std::slice::from_ref(&r), Some(contact())).await;
    assert_eq!(status, StatusCode::CREATED);
    let changed = ContactV1 {
        email: Some("other@example.org".into()),
        ..ContactV1::default()
    };
    let (status, body) = post_with_contact(&t, std::slice::from_ref(&r), Some(changed)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["duplicates"], json!([r.record_id]));
}

/// Suppressions as (reference, reason) pairs.
fn reasons(feed: &Value) -> Vec<(String, String)> {
    feed["suppressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["reference"].as_str().unwrap().to_owned(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn withdrawals_lapses_and_erasures_reach_the_suppression_feed_matchable_to_exports() {
    let t = TestApp::new().await;
    let withdrawn1 = record(1, "cust-w", "alpha", Given, 10);
    let mut lapsing = record(2, "cust-l", "alpha", Given, 10);
    lapsing.valid_until = Some(at(120)); // after the test clock's day 100
    let erased = record(3, "cust-e", "alpha", Given, 10);
    let stays = record(4, "cust-s", "alpha", Given, 10);
    for r in [&withdrawn1, &lapsing, &erased, &stays] {
        let (status, body) = post_with_contact(&t, std::slice::from_ref(r), Some(contact())).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, export) = t.get_json("/api/v1/partners/alpha/contacts").await;
    let reference = |customer: &str| {
        row_for(&export, customer)["reference"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (ref_w, ref_l, ref_e) = (
        reference("cust-w"),
        reference("cust-l"),
        reference("cust-e"),
    );

    let (status, feed) = t.get_json("/api/v1/partners/alpha/suppressions").await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    assert_eq!(reasons(&feed), vec![], "nobody's yes has ended yet");
    let cursor = feed["nextSince"].as_str().unwrap().to_owned();

    // Day 101: cust-w withdraws; day 102: cust-e is erased; day 121:
    // cust-l's yes has lapsed.
    t.set_now(EPOCH_2026 + 101 * DAY);
    let mut w = record(5, "cust-w", "alpha", Withdrawn, 101);
    w.supersedes = Some(withdrawn1.record_id.clone());
    let (status, body) = t.post_records(&[w.clone()]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    t.set_now(EPOCH_2026 + 102 * DAY);
    let req = Request::delete("/api/v1/customers/cust-e")
        .header(header::AUTHORIZATION, format!("Bearer {}", t.admin_key))
        .body(Body::empty())
        .unwrap();
    assert_eq!(t.send(req).await.0, StatusCode::OK);
    t.set_now(EPOCH_2026 + 121 * DAY);

    let (_, feed) = t
        .get_json(&format!(
            "/api/v1/partners/alpha/suppressions?since={cursor}"
        ))
        .await;
    assert_eq!(
        reasons(&feed),
        vec![
            (ref_w.clone(), "withdrawn".to_owned()),
            (ref_e.clone(), "erased".to_owned()),
            (ref_l.clone(), "lapsed".to_owned()),
        ],
        "{feed}"
    );
    let lines = feed["suppressions"].as_array().unwrap();
    assert_eq!(lines[0]["customerId"], "cust-w");
    assert_eq!(lines[0]["recordId"], w.record_id);
    assert!(
        lines[1].get("customerId").is_none(),
        "an erased patron is named by the reference only: {}",
        lines[1]
    );
    assert!(!feed.to_string().contains("cust-e"));
    // Later reads with the cursor repeat nothing that ended before it.
    let (_, later) = t
        .get_json(&format!(
            "/api/v1/partners/alpha/suppressions?since={}",
            at(200)
        ))
        .await;
    assert_eq!(reasons(&later), vec![]);
    // Another partner's feed holds none of these.
    let (_, beta) = t.get_json("/api/v1/partners/beta/suppressions").await;
    assert_eq!(reasons(&beta), vec![]);
    // The CSV carries the same lines.
    let (status, csv) = get_text(
        &t,
        &format!("/api/v1/partners/alpha/suppressions?since={cursor}&format=csv"),
        &t.admin_key,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.starts_with("reference,customerId,reason,endedAt,listedAt,recordId\r\n"));
    assert!(csv.contains(&format!("{ref_e},,erased,")), "{csv}");
}

#[tokio::test]
async fn only_the_partners_own_key_reads_its_suppressions() {
    let t = TestApp::new().await;
    let (_, alpha_key) = t
        .state
        .db
        .add_key(
            &consent_host::keys::KeySpec {
                role: Role::Partner,
                partner_id: Some("alpha".into()),
                label: None,
            },
            at(0),
        )
        .await
        .unwrap();
    let (status, _) = t
        .get_with("/api/v1/partners/alpha/suppressions", Some(&alpha_key))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = t
        .get_with("/api/v1/partners/beta/suppressions", Some(&alpha_key))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let patron = sign(&claims("cust-a", "consent:write consent:read"));
    let (status, _) = t
        .get_with("/api/v1/partners/alpha/suppressions", Some(&patron))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t
        .get_with("/api/v1/partners/alpha/suppressions", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = t
        .get_json("/api/v1/partners/alpha/suppressions?since=yesterday")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "since");
}

// ---------------------------------------------------------------------
// Webhooks

const HOOK_SECRET: &[u8] = b"a-webhook-secret-of-32-bytes-at-least";

/// A receiver on loopback: keeps every request; answers 500 to the first
/// `fail_first`; holds each request while `hold` is set.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    fail_first: Arc<AtomicUsize>,
    hold: Arc<tokio::sync::Mutex<()>>,
    arrived: Arc<tokio::sync::Notify>,
}

impl Receiver {
    async fn start(self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let r = self.clone();
                async move {
                    r.arrived.notify_one();
                    let _held = r.hold.lock().await;
                    r.got.lock().unwrap().push((headers, body));
                    let failing = r
                        .fail_first
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    if failing {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::NO_CONTENT
                    }
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/hook")
    }

    /// The bodies of requests answered 2xx or not, as JSON.
    fn events(&self) -> Vec<Value> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| serde_json::from_str(b).unwrap())
            .collect()
    }

    /// Waits (at most 30 s) until `n` requests have arrived.
    async fn wait_for(&self, n: usize) {
        for _ in 0..600 {
            if self.got.lock().unwrap().len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the receiver got {} requests, not {n}",
            self.got.lock().unwrap().len()
        );
    }
}

fn settings(url: &str) -> WebhookSettings {
    WebhookSettings {
        backoff: Backoff {
            first: Duration::from_millis(50),
            longest: Duration::from_millis(200),
            give_up_after: Duration::from_secs(3600),
        },
        poll: Duration::from_millis(50),
        ..WebhookSettings::new(
            url.parse().unwrap(),
            HOOK_SECRET.to_vec(),
            Duration::from_secs(5),
        )
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn webhooks_are_signed_and_tell_of_records_withdrawals_and_erasures() {
    let receiver = Receiver::default();
    let url = receiver.clone().start().await;
    let mut t = TestApp::new().await;
    t.state = t.state.clone().with_webhooks(settings(&url)).unwrap();
    t.app = consent_host::router(t.state.clone());
    let worker = t.state.start_webhooks().unwrap();

    let yes = record(1, "cust-a", "alpha", Given, 10);
    let (status, _) = post_with_contact(&t, std::slice::from_ref(&yes), Some(contact())).await;
    assert_eq!(status, StatusCode::CREATED);
    let mut no = record(2, "cust-a", "alpha", Withdrawn, 11);
    no.supersedes = Some(yes.record_id.clone());
    let (status, _) = t.post_records(&[no.clone()]).await;
    assert_eq!(status, StatusCode::CREATED);
    let desk = desk_record(3, "cust-b", "beta", Given, 12);
    let (status, _) = t.post_records(std::slice::from_ref(&desk)).await;
    assert_eq!(status, StatusCode::CREATED);
    // A duplicate tells nothing new.
    let (status, _) = t.post_records(std::slice::from_ref(&desk)).await;
    assert_eq!(status, StatusCode::CREATED);
    // (An erasure deletes the patron's undelivered events: let these go first.)
    receiver.wait_for(4).await;
    let req = Request::delete("/api/v1/customers/cust-b")
        .header(header::AUTHORIZATION, format!("Bearer {}", t.admin_key))
        .body(Body::empty())
        .unwrap();
    assert_eq!(t.send(req).await.0, StatusCode::OK);

    receiver.wait_for(5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 5, "nothing sent twice, nothing more");
    for (headers, body) in &got {
        let sig = headers[webhooks::SIGNATURE_HEADER].to_str().unwrap();
        assert!(
            webhooks::verify(HOOK_SECRET, sig, body, now_secs(), 300),
            "{sig}"
        );
        assert!(!webhooks::verify(
            b"another secret of thirty-two bytes..",
            sig,
            body,
            now_secs(),
            300
        ));
        let event: Value = serde_json::from_str(body).unwrap();
        assert_eq!(headers["consent-event-id"], event["id"].as_str().unwrap());
    }
    let events = receiver.events();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "consent.recorded",
            "consent.recorded",
            "consent.withdrawn",
            "consent.recorded",
            "customer.erased"
        ]
    );
    assert_eq!(events[0]["data"]["records"][0]["recordId"], yes.record_id);
    assert_eq!(events[0]["data"]["customerId"], "cust-a");
    assert_eq!(events[2]["data"]["record"]["recordId"], no.record_id);
    let desk_event = &events[3]["data"]["records"][0];
    assert_eq!(desk_event["collectionChannel"], "box-office");
    assert_eq!(desk_event["operatorId"], DESK);
    assert_eq!(desk_event["state"], "given");
    assert_eq!(desk_event["channels"], json!(desk.channels));
    assert_eq!(events[4]["data"]["customerId"], "cust-b");
    assert_eq!(events[4]["data"]["reason"], "request");
    let (n, _) = t.state.db.event_backlog().await.unwrap();
    assert_eq!(n, 0, "delivered events leave the queue");
    worker.abort();
}

#[tokio::test]
async fn a_receiver_down_for_a_while_still_gets_every_event_and_never_slows_a_write() {
    let receiver = Receiver::default();
    receiver.fail_first.store(4, Ordering::SeqCst);
    let url = receiver.clone().start().await;
    let mut t = TestApp::new().await;
    t.state = t.state.clone().with_webhooks(settings(&url)).unwrap();
    t.app = consent_host::router(t.state.clone());
    let worker = t.state.start_webhooks().unwrap();

    // The receiver holds every request: a write still completes while a
    // delivery is in flight.
    let held = receiver.hold.clone().lock_owned().await;
    let first = record(1, "cust-a", "alpha", Given, 10);
    let (status, _) = t.post_records(&[first]).await;
    assert_eq!(status, StatusCode::CREATED);
    receiver.arrived.notified().await;
    for n in 2..=4 {
        let r = record(n, &format!("cust-{n}"), "alpha", Given, 10);
        let (status, _) = t.post_records(&[r]).await;
        assert_eq!(status, StatusCode::CREATED, "a write waits for no receiver");
    }
    assert!(receiver.got.lock().unwrap().is_empty(), "still held");
    drop(held);

    // Four failures, then every event arrives.
    receiver.wait_for(8).await;
    let mut ids: Vec<String> = receiver
        .events()
        .iter()
        .skip(4)
        .map(|e| e["data"]["customerId"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids, ["cust-2", "cust-3", "cust-4", "cust-a"]);
    worker.abort();
}

#[tokio::test]
async fn two_instances_never_both_send_one_event() {
    let receiver = Receiver::default();
    let url = receiver.clone().start().await;
    let mut t = TestApp::new().await;
    t.state = t.state.clone().with_webhooks(settings(&url)).unwrap();
    t.app = consent_host::router(t.state.clone());
    // A second instance on the same database.
    let other_db: Arc<dyn Storage> = match &t.database_url {
        Some(url) => Arc::new(consent_host::pg::PgStore::connect(url, true).await.unwrap()),
        None => consent_host::Db::open(&t.db_path).unwrap().into(),
    };
    let clock = t.now.clone();
    let other = AppState::new(other_db, (*t.state.config).clone())
        .unwrap()
        .with_clock(move || consent_core::Timestamp::from_unix_millis(clock.load(Ordering::SeqCst)))
        .with_webhooks(settings(&url))
        .unwrap();
    let other_app = consent_host::router(other.clone());
    let workers = [
        t.state.start_webhooks().unwrap(),
        other.start_webhooks().unwrap(),
    ];

    let batches = 24;
    for n in 0..batches {
        let r = record(n + 1, &format!("cust-{n}"), "alpha", Given, 10);
        let body = json!({ "records": [r] });
        let token = t.token_for(&body);
        let app = if n % 2 == 0 { &t.app } else { &other_app };
        let req = Request::post("/api/v1/consent-records")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        assert_eq!(send(app, req).await.0, StatusCode::CREATED);
    }
    receiver.wait_for(batches as usize).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = receiver.events();
    let mut ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    let all = ids.len();
    ids.dedup();
    assert_eq!(all, batches as usize, "one delivery per event");
    assert_eq!(ids.len(), batches as usize);
    for w in workers {
        w.abort();
    }
}

#[test]
fn a_webhook_config_names_every_problem_at_once() {
    let args = consent_host::config::WebhookArgs {
        url: Some("http://hooks.example.org/consent".into()),
        secret: Some(consent_host::config::Secret("short".into())),
        timeout_secs: 10,
    };
    let problems = args.receiver().unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("--webhook-url") && problems[0].contains("https"));
    assert!(problems[1].contains("--webhook-secret") && problems[1].contains("32"));
    let lonely = consent_host::config::WebhookArgs {
        url: Some("https://hooks.example.org/consent".into()),
        secret: None,
        timeout_secs: 10,
    };
    assert!(lonely.receiver().unwrap_err()[0].contains("--webhook-secret"));
    let good = consent_host::config::WebhookArgs {
        url: Some("https://hooks.example.org/consent".into()),
        secret: Some(consent_host::config::Secret(
            String::from_utf8(HOOK_SECRET.to_vec()).unwrap(),
        )),
        timeout_secs: 10,
    };
    assert!(good.receiver().unwrap().is_some());
}
