//! A test app on a real database, driven with `tower::ServiceExt::oneshot`,
//! and builders for valid records.
//!
//! The backend: a SQLite file in a temporary directory, or, when
//! `CONSENT_TEST_DATABASE_URL` names a PostgreSQL server
//! (`postgres://user@127.0.0.1:port/postgres`), a fresh database of its
//! own on that server for every test, so tests stay independent and run
//! in parallel. Tests about the SQLite file itself use [`TestApp::sqlite`].
//!
//! `CONSENT_TEST_EXPECT_POSTGRES=1` (the PostgreSQL tier of
//! `scripts/test.sh` sets it) says the run is on PostgreSQL: then a missing
//! `CONSENT_TEST_DATABASE_URL` fails the test instead of quietly running it
//! on SQLite, and an unreachable server fails it too.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use consent_core::wire::ConsentRecordV1;
use consent_core::Timestamp;
use consent_host::config::Secret;
use consent_host::keys::Role;
use consent_host::pg::PgStore;
use consent_host::{router, AppState, Claims, Config, Db, Storage, TokenSigner};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt;

// The record fixtures, shared with the storage's own tests.
pub use consent_store::testing::*;

/// The venue every test app serves.
pub const VENUE: &str = "lyric";

/// The HS256 secret of every test app.
pub const SECRET: &str = "test-secret-of-at-least-thirty-two-bytes!";

/// Claims for a checkout token of the test venue `lyric`, valid around
/// the test clock's start, with the given scope.
pub fn claims(customer: &str, scope: &str) -> Claims {
    claims_at(customer, scope, EPOCH_2026 + 100 * DAY)
}

/// [`claims`] issued at `now_ms`, valid for 15 minutes.
pub fn claims_at(customer: &str, scope: &str, now_ms: i64) -> Claims {
    let now = now_ms / 1000;
    Claims {
        iss: "lyric".to_owned(),
        sub: customer.to_owned(),
        aud: "consent-prompt".to_owned(),
        iat: now,
        exp: now + 900,
        nbf: None,
        scope: scope.to_owned(),
        basket: None,
        operator: None,
        contact: None,
        activity: None,
    }
}

/// A token signed with [`SECRET`].
pub fn sign(claims: &Claims) -> String {
    TokenSigner::hs256(SECRET.as_bytes()).sign(claims)
}

/// Whether the run says PostgreSQL is expected (`CONSENT_TEST_EXPECT_POSTGRES=1`).
pub fn postgres_expected() -> bool {
    std::env::var("CONSENT_TEST_EXPECT_POSTGRES").is_ok_and(|v| v.trim() == "1")
}

/// The PostgreSQL server the tests may use, if any. Panics when
/// PostgreSQL is expected and none is named.
pub fn test_database_url() -> Option<String> {
    let url = std::env::var("CONSENT_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    assert!(
        url.is_some() || !postgres_expected(),
        "CONSENT_TEST_EXPECT_POSTGRES=1 but CONSENT_TEST_DATABASE_URL is not set: \
         this run must be on PostgreSQL"
    );
    url
}

/// The PostgreSQL server for a test that only means something on
/// PostgreSQL (those are `#[ignore]`d by default, so a plain `cargo test`
/// lists them as ignored rather than passed). Panics without one: a test
/// that runs must test.
pub fn required_database_url() -> String {
    test_database_url().expect(
        "this test needs PostgreSQL: set CONSENT_TEST_DATABASE_URL \
         (scripts/test.sh starts a throwaway server and sets it)",
    )
}

/// A fresh, empty database on the test server; returns its URL.
pub async fn fresh_database(server_url: &str) -> String {
    static NEXT: AtomicI64 = AtomicI64::new(0);
    let (client, conn) = tokio_postgres::connect(server_url, tokio_postgres::NoTls)
        .await
        .expect("connect to CONSENT_TEST_DATABASE_URL");
    let conn = tokio::spawn(conn);
    let mut salt = [0u8; 4];
    getrandom::fill(&mut salt).expect("randomness");
    let name = format!(
        "consent_test_{}_{}_{:08x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst),
        u32::from_le_bytes(salt)
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a test database");
    drop(client);
    let _ = conn.await;
    // The server URL with its database replaced.
    let (head, query) = match server_url.split_once('?') {
        Some((h, q)) => (h, format!("?{q}")),
        None => (server_url, String::new()),
    };
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let base = match head[scheme_end..].find('/') {
        Some(i) => &head[..scheme_end + i],
        None => head,
    };
    format!("{base}/{name}{query}")
}

pub struct TestApp {
    pub dir: TempDir,
    /// The SQLite file (unused on PostgreSQL).
    pub db_path: PathBuf,
    /// The test's own PostgreSQL database, when on PostgreSQL.
    pub database_url: Option<String>,
    pub state: AppState,
    pub app: Router,
    /// The injected clock, in Unix milliseconds.
    pub now: Arc<AtomicI64>,
    /// An admin API key, sent by `get_json`.
    pub admin_key: String,
}

impl TestApp {
    /// On the backend the run chose (see the module docs).
    pub async fn new() -> Self {
        Self::with_config(|_, _| {}).await
    }

    /// On SQLite, whatever the run chose: for tests of the file itself.
    pub async fn sqlite() -> Self {
        Self::build(|_, _| {}, None).await
    }

    pub async fn with_config(tweak: impl FnOnce(&mut Config, &std::path::Path)) -> Self {
        let server = test_database_url();
        let url = match server {
            Some(server) => Some(fresh_database(&server).await),
            None => None,
        };
        Self::build(tweak, url).await
    }

    async fn build(
        tweak: impl FnOnce(&mut Config, &std::path::Path),
        database_url: Option<String>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db_path = dir.path().join("data/consent.db");
        let mut config = Config {
            storage: consent_host::config::StorageArgs {
                db: db_path.clone(),
                database_url: None,
            },
            dist: dir.path().join("dist"),
            examples: dir.path().join("examples"),
            token_secret: Some(Secret(SECRET.to_owned())),
            venue: Some(VENUE.to_owned()),
            ..Config::default()
        };
        tweak(&mut config, dir.path());
        let db: Arc<dyn Storage> = match &database_url {
            Some(url) => Arc::new(PgStore::connect(url, true).await.expect("connect")),
            None => Db::open(&db_path).expect("open db").into(),
        };
        let now = Arc::new(AtomicI64::new(EPOCH_2026 + 100 * DAY));
        let (_, admin_key) = db
            .add_key(
                &consent_host::keys::KeySpec {
                    role: Role::Admin,
                    partner_id: None,
                    label: Some("tests".to_owned()),
                },
                at(0),
            )
            .await
            .expect("admin key");
        let clock_now = now.clone();
        let state = AppState::new(db, config)
            .expect("valid auth config")
            .with_clock(move || Timestamp::from_unix_millis(clock_now.load(Ordering::SeqCst)));
        let app = router(state.clone());
        TestApp {
            dir,
            db_path,
            database_url,
            state,
            app,
            now,
            admin_key,
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    pub fn set_now(&self, ms: i64) {
        self.now.store(ms, Ordering::SeqCst);
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
        send(&self.app, req).await
    }

    /// POSTs `{"records": [...]}` as JSON, with a checkout token that
    /// covers them (see [`TestApp::token_for`]).
    pub async fn post_records(&self, records: &[ConsentRecordV1]) -> (StatusCode, Value) {
        let body = json!({ "records": records });
        let token = self.token_for(&body);
        self.post_with(&body, Some(&token)).await
    }

    /// A checkout token for a batch as its sender would hold one: the
    /// first record's venue and customer, with the patron's own scope for
    /// web records, or the venue-wide scope and the record's operator for
    /// box-office and phone records. A body that is not a batch gets the
    /// patron `C-1`'s token.
    pub fn token_for(&self, body: &Value) -> String {
        let first = body.pointer("/records/0");
        let text = |p: &str| first.and_then(|r| r.pointer(p)).and_then(Value::as_str);
        let channel = text("/collection/channel").unwrap_or("web");
        let mut c = if channel == "web" {
            claims_at(
                text("/customerId").unwrap_or("C-1"),
                "consent:write",
                self.now_ms(),
            )
        } else {
            let mut c = claims_at("box-office", "consent:write:venue", self.now_ms());
            c.operator = text("/collection/operatorId").map(str::to_owned);
            c
        };
        if let Some(venue) = text("/venue/id") {
            c.iss = venue.to_owned();
        }
        sign(&c)
    }

    /// POSTs a JSON body with the token [`TestApp::token_for`] picks.
    pub async fn post_json(&self, body: &Value) -> (StatusCode, Value) {
        self.post_raw(serde_json::to_vec(body).unwrap(), "application/json")
            .await
    }

    /// POSTs a JSON body with the given bearer token (or none).
    pub async fn post_with(&self, body: &Value, token: Option<&str>) -> (StatusCode, Value) {
        let (status, _, body) = self
            .post_bytes(serde_json::to_vec(body).unwrap(), "application/json", token)
            .await;
        (status, body)
    }

    pub async fn post_raw(&self, body: Vec<u8>, content_type: &str) -> (StatusCode, Value) {
        let token = self.token_for(&serde_json::from_slice(&body).unwrap_or(Value::Null));
        let (status, _, body) = self.post_bytes(body, content_type, Some(&token)).await;
        (status, body)
    }

    pub async fn post_bytes(
        &self,
        body: Vec<u8>,
        content_type: &str,
        token: Option<&str>,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/consent-records")
            .header(header::CONTENT_TYPE, content_type);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = req.body(Body::from(body)).unwrap();
        let (status, headers, body) = self.send(req).await;
        (
            status,
            headers,
            serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("non-JSON answer ({e}): {body:?}")),
        )
    }

    /// GETs with the admin key.
    pub async fn get_json(&self, uri: &str) -> (StatusCode, Value) {
        self.get_with(uri, Some(&self.admin_key)).await
    }

    /// GETs with the given bearer credential (or none).
    pub async fn get_with(&self, uri: &str, credential: Option<&str>) -> (StatusCode, Value) {
        let mut req = Request::builder().uri(uri);
        if let Some(c) = credential {
            req = req.header(header::AUTHORIZATION, format!("Bearer {c}"));
        }
        let req = req.body(Body::empty()).unwrap();
        let (status, _, body) = self.send(req).await;
        (
            status,
            serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("non-JSON answer ({e}): {body:?}")),
        )
    }

    /// A new key for the partner `partner`.
    pub async fn partner_key(&self, partner: &str) -> String {
        let spec = consent_host::keys::KeySpec {
            role: Role::Partner,
            partner_id: Some(partner.to_owned()),
            label: None,
        };
        self.state.db.add_key(&spec, at(1)).await.unwrap().1
    }

    pub async fn row_count(&self) -> u64 {
        self.state.db.count().await.unwrap()
    }

    pub fn on_postgres(&self) -> bool {
        self.database_url.is_some()
    }
}

pub async fn send(app: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let res = app.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let body = res
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

/// A venue-wide token for the operator [`DESK`], issued at `now_ms`.
pub fn desk_token(now_ms: i64) -> String {
    let mut c = claims_at("box-office", "consent:write:venue", now_ms);
    c.operator = Some(DESK.to_owned());
    sign(&c)
}

/// The port a host process just started with `--port 0` is bound to, read
/// from its start-up line (`Consent Prompt demo: http://127.0.0.1:PORT/`,
/// or `Consent Prompt host: …` without `--demo`).
pub fn startup_port(child: &mut std::process::Child) -> u16 {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("the host's stdout is piped"))
        .read_line(&mut line)
        .expect("the start-up line");
    line.trim()
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("start-up line {line:?}"))
}

/// SHA-256 of a file's bytes, to show a command left it as it was.
pub fn sha256_file(path: &std::path::Path) -> String {
    consent_host::ledger::sha256_bytes_hex(&std::fs::read(path).unwrap())
}

/// Moves a SQLite file's WAL into the main file (an empty erasure, then
/// its scrub's checkpoint), so the file's hash tells all.
pub async fn settle_wal(t: &TestApp) {
    let nobody = consent_host::db::Erasure {
        kind: consent_host::db::ErasureKind::Retention,
        by: "test".into(),
        detail: json!({}),
        at: Timestamp::from_unix_millis(t.now_ms()),
    };
    t.state.db.erase(vec![], nobody).await.unwrap();
    wait_until_scrubbed(t).await;
}

/// Waits (at most 20 s) until every erasure in the log is scrubbed.
pub async fn wait_until_scrubbed(t: &TestApp) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let log = t.state.db.erasures().await.expect("the erasure log");
        if log.iter().all(|e| e["scrub"] == "scrubbed") {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "an erasure stayed pending: {log:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
