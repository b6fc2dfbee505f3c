//! Round two of the attacks on the reference host, each tried as an
//! attacker (or a careless partner) would: against a real host process
//! where the fault lives in the server loop or in SQLite's files, against
//! the router on the run's backend (SQLite or PostgreSQL) otherwise.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::hosts::{start_host_process, HostProcess};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use consent_core::domain::DecisionState::{Given, Withdrawn};
use consent_host::db::NewRecord;
use consent_host::keys::Role;
use consent_host::{ledger, Db};
use serde_json::{json, Value};

// ---- a real host on a SQLite file ---------------------------------------

struct Host {
    port: u16,
    db: std::path::PathBuf,
    admin: String,
    _process: HostProcess,
}

/// A host serving `lyric` on a file holding `contacts` customers who said
/// yes to partner `alpha` (written straight into the file first).
fn host_with_contacts(contacts: u32, extra: &[&str]) -> Host {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let db = Db::open(&path).unwrap();
    for chunk in (0..contacts).collect::<Vec<_>>().chunks(500) {
        let batch: Vec<NewRecord> = chunk
            .iter()
            .map(|&n| NewRecord::new(record(n + 1, &format!("C-{n:05}"), "alpha", Given, 10)))
            .collect();
        db.insert_batch(&batch, at(11)).unwrap();
    }
    let (_, admin) = db
        .add_key(
            &consent_host::keys::KeySpec {
                role: Role::Admin,
                partner_id: None,
                label: Some("tests".to_owned()),
            },
            at(0),
        )
        .unwrap();
    drop(db);
    let args = ["--venue", VENUE, "--token-secret", SECRET, "--db"]
        .into_iter()
        .map(std::ffi::OsStr::new)
        .chain([path.as_os_str()])
        .chain(extra.iter().map(std::ffi::OsStr::new));
    let process = start_host_process(dir, args, "warn", Stdio::null());
    Host {
        port: process.port,
        db: path,
        admin,
        _process: process,
    }
}

/// One HTTP/1.1 exchange on a fresh connection: the status and body.
fn http(port: u16, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    (status, body)
}

fn get(port: u16, path: &str, credential: &str) -> (u16, String) {
    http(
        port,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {credential}\r\nConnection: close\r\n\r\n"
        ),
    )
}

/// Starts a partner export and reads its first bytes, leaving the
/// connection open (a download the partner stopped reading).
fn start_export(host: &Host) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", host.port)).unwrap();
    s.write_all(
        format!(
            "GET /api/v1/partners/alpha/contacts?format=csv HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
            host.admin
        )
        .as_bytes(),
    )
    .unwrap();
    let mut first = [0u8; 1024];
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let n = s.read(&mut first).unwrap();
    assert!(
        String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"),
        "the export started"
    );
    s
}

/// Asserts that `f` answers 200 at once: within 3 s, on a debug build
/// sharing two cores with the other tests (a reader held by an abandoned
/// export made every read wait for the 30 s request timeout, then 408).
fn answers_quickly(what: &str, f: impl FnOnce() -> (u16, String)) {
    let started = Instant::now();
    let (status, body) = f();
    assert_eq!(status, 200, "{what}: {body}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{what} took {:?}",
        started.elapsed()
    );
}

fn erasure_scrubbed(db: &Path) -> Option<bool> {
    let conn = Db::open_read_only(db).ok()?;
    conn.query_row(
        "SELECT scrubbed_at_ms IS NOT NULL FROM erasures ORDER BY id DESC LIMIT 1",
        [],
        |r| r.get(0),
    )
    .ok()
}

#[test]
fn abandoned_exports_release_their_readers() {
    // Larger than the socket buffers, so every export is still reading
    // when its client goes.
    let host = host_with_contacts(40_000, &[]);
    for _ in 0..8 {
        drop(start_export(&host));
    }
    // The host has 4 readers: had any export kept one, these would wait.
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..3 {
        answers_quickly("healthz", || {
            http(
                host.port,
                "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
        });
        answers_quickly("a read", || {
            get(
                host.port,
                "/api/v1/customers/C-00001/preferences",
                &host.admin,
            )
        });
    }
}

#[test]
fn an_erasure_during_a_stalled_export_answers_at_once_and_is_scrubbed_once_the_export_is_cut() {
    let host = host_with_contacts(40_000, &["--export-timeout-secs", "3"]);
    let victim = "C-00007";
    // A partner's download that stopped reading: its reader holds a
    // snapshot of the file.
    let stalled = start_export(&host);
    std::thread::sleep(Duration::from_millis(300));

    let started = Instant::now();
    let (status, body) = http(
        host.port,
        &format!(
            "DELETE /api/v1/customers/{victim} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            host.admin
        ),
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the erasure took {:?}",
        started.elapsed()
    );
    // Writes go on meanwhile.
    let batch = json!({ "records": [record(900_001, "C-new", "alpha", Given, 20)] });
    let body = batch.to_string();
    let token = sign(&claims_at("C-new", "consent:write", now_ms()));
    let started = Instant::now();
    let (status, answer) = http(
        host.port,
        &format!(
            "POST /api/v1/consent-records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(status, 201, "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // The export is cut at its time limit (the client still holds the
    // connection), its snapshot goes, and the scrub completes.
    let deadline = Instant::now() + Duration::from_secs(15);
    while erasure_scrubbed(&host.db) != Some(true) {
        assert!(Instant::now() < deadline, "the erasure stayed pending");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(stalled);
    let wal = host.db.with_extension("db-wal");
    for file in [&host.db, &wal] {
        let bytes = std::fs::read(file).unwrap_or_default();
        assert!(
            !bytes.windows(victim.len()).any(|w| w == victim.as_bytes()),
            "{} still holds the erased id",
            file.display()
        );
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn a_body_is_not_read_before_the_caller_is_known() {
    let host = host_with_contacts(1, &[]);
    // A body announced as 900 KB of which 10 bytes come, from a caller
    // with no credential: refused at once, not after the body timeout.
    let mut s = TcpStream::connect(("127.0.0.1", host.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = Instant::now();
    s.write_all(
        b"POST /api/v1/consent-records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 900000\r\n\r\n{\"records\"",
    )
    .unwrap();
    let mut answer = [0u8; 512];
    let n = s.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn one_address_cannot_take_every_connection() {
    let host = host_with_contacts(
        1,
        &[
            "--max-connections",
            "100",
            "--max-connections-per-address",
            "5",
            "--header-read-timeout-secs",
            "30",
        ],
    );
    let mut held: Vec<TcpStream> = (0..12)
        .map(|_| TcpStream::connect(("127.0.0.1", host.port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let refused = held
        .iter_mut()
        .map(|s| {
            // Closed by the host: end of stream or a reset. Still open: the
            // read waits and times out.
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let mut buf = [0u8; 16];
            match s.read(&mut buf) {
                // End of stream (0) or an error answer: closed either way.
                Ok(_n) => true,
                Err(e) => !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
            }
        })
        .filter(|closed| *closed)
        .count();
    assert_eq!(
        refused, 7,
        "the connections over the address's share were closed"
    );
    // Another address still gets in.
    let other = std::net::SocketAddr::from(([127, 0, 0, 2], 0));
    let socket = socket2_free_connect(other, host.port);
    let mut s = socket;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
}

/// A connection to the host from the loopback address `from`.
fn socket2_free_connect(from: std::net::SocketAddr, port: u16) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(from).unwrap();
        let stream = socket
            .connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .unwrap();
        let std = stream.into_std().unwrap();
        std.set_nonblocking(false).unwrap();
        std.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        std
    })
}

// ---- the router, on the run's backend ------------------------------------

fn batch(records: &[consent_core::wire::ConsentRecordV1]) -> Value {
    json!({ "records": records })
}

#[tokio::test]
async fn another_venues_token_is_not_a_token_here() {
    let t = TestApp::new().await;
    let shared = "C-5005";
    assert_eq!(
        t.post_records(&[record(1, shared, "alpha", Given, 10)])
            .await
            .0,
        StatusCode::CREATED
    );
    // Venue B holds the same token key by mistake and the same customer id.
    let mut theirs = record(2, shared, "alpha", Withdrawn, 11);
    theirs.venue.id = "other-venue".into();
    let mut b = claims_at(shared, "consent:write consent:read", t.now_ms());
    b.iss = "other-venue".into();
    let token = sign(&b);
    let (status, err) = t.post_with(&batch(&[theirs]), Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{err}");
    assert_eq!(err["error"]["field"], "token.iss");
    for read in ["preferences", "consent-records", "receipt"] {
        let (status, err) = t
            .get_with(&format!("/api/v1/customers/{shared}/{read}"), Some(&token))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{read}: {err}");
    }
    // A record for venue B under venue A's own token is refused too.
    let mut mislabelled = record(3, shared, "alpha", Withdrawn, 11);
    mislabelled.venue.id = "other-venue".into();
    let own = sign(&claims_at(shared, "consent:write", t.now_ms()));
    let (status, err) = t.post_with(&batch(&[mislabelled]), Some(&own)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    assert_eq!(err["error"]["field"], "records[0].venue.id");
    // Venue A's patron is untouched.
    let (_, prefs) = t
        .get_json(&format!("/api/v1/customers/{shared}/preferences"))
        .await;
    assert_eq!(prefs["preferences"][0]["state"], "given", "{prefs}");
}

#[tokio::test]
async fn token_times_lifetime_and_extensions_are_checked() {
    let t = TestApp::new().await;
    let now = t.now_ms() / 1000;
    let body = batch(&[record(1, "C-1", "alpha", Given, 10)]);
    let mut cases: Vec<(&str, String)> = Vec::new();
    let mut c = claims_at("C-1", "consent:write", t.now_ms());
    c.nbf = Some(now + 600);
    cases.push(("token.nbf", sign(&c)));
    let mut c = claims_at("C-1", "consent:write", t.now_ms());
    c.iat = now + 600;
    c.exp = now + 900;
    cases.push(("token.iat", sign(&c)));
    let mut c = claims_at("C-1", "consent:write", t.now_ms());
    c.exp = now + 10 * 365 * 86_400;
    cases.push(("token.exp", sign(&c)));
    cases.push((
        "token.crit",
        sign_with_header(
            &json!({"alg": "HS256", "typ": "JWT", "crit": ["exp"]}),
            &claims_at("C-1", "consent:write", t.now_ms()),
        ),
    ));
    for (field, token) in &cases {
        let (status, err) = t.post_with(&body, Some(token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{field}: {err}");
        assert_eq!(err["error"]["field"], *field, "{err}");
    }
    // An nbf that has passed, and a lifetime of a day, are fine.
    let mut c = claims_at("C-1", "consent:write", t.now_ms());
    c.nbf = Some(now - 10);
    c.exp = c.iat + 86_400;
    let (status, err) = t.post_with(&body, Some(&sign(&c))).await;
    assert_eq!(status, StatusCode::CREATED, "{err}");
}

/// An HS256 JWT with a header of the test's choosing.
fn sign_with_header(header: &Value, claims: &consent_host::Claims) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(&serde_json::to_vec(claims).unwrap())
    );
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

#[tokio::test]
async fn operators_and_patrons_write_only_their_own_kind_of_record() {
    let t = TestApp::new().await;
    let now = t.now_ms();
    // A venue-wide token never writes a patron's own web answer.
    let (status, err) = t
        .post_with(
            &batch(&[record(1, "C-1", "alpha", Given, 10)]),
            Some(&desk_token(now)),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    assert_eq!(err["error"]["field"], "records[0].collection.channel");
    // Nor a desk record under another operator's name.
    let mut other = desk_record(2, "C-1", "alpha", Given, 10);
    other.collection.operator_id = Some("desk-2".into());
    let (status, err) = t.post_with(&batch(&[other]), Some(&desk_token(now))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    assert_eq!(err["error"]["field"], "records[0].collection.operatorId");
    // A patron's token writes no desk record ...
    let patron = sign(&claims_at("C-1", "consent:write", now));
    let (status, err) = t
        .post_with(
            &batch(&[desk_record(3, "C-1", "alpha", Given, 10)]),
            Some(&patron),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    assert_eq!(err["error"]["field"], "records[0].collection.operatorId");
    // ... and no web record naming an operator.
    let mut named = record(4, "C-1", "alpha", Given, 10);
    named.collection.operator_id = Some("desk-1".into());
    let (status, err) = t.post_with(&batch(&[named]), Some(&patron)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["field"], "records[0].collection.operatorId");
    assert_eq!(t.row_count().await, 0);
    // What each may write is stored.
    let (status, err) = t
        .post_with(
            &batch(&[desk_record(5, "C-1", "alpha", Given, 10)]),
            Some(&desk_token(now)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{err}");
}

#[tokio::test]
async fn a_page_path_never_carries_a_query_string_into_the_ledger() {
    let t = TestApp::new().await;
    for path in ["/checkout?email=jo@example.com", "/checkout#jo@example.com"] {
        let mut r = record(1, "C-1", "alpha", Given, 10);
        r.collection.page_path = path.into();
        let (status, err) = t.post_json(&batch(&[r])).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_eq!(err["error"]["field"], "records[0].collection.pagePath");
    }
}

#[tokio::test]
async fn reads_are_rate_limited_per_credential() {
    let t = TestApp::with_config(|c, _| c.read_rate_per_credential = 3).await;
    for _ in 0..3 {
        assert_eq!(
            t.get_json("/api/v1/customers/C-1/preferences").await.0,
            StatusCode::OK
        );
    }
    let (status, err) = t.get_json("/api/v1/customers/C-1/preferences").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{err}");
}

// ---- verify proves what reads use -----------------------------------------

/// Runs SQL on the test's database with the append-only triggers off, as
/// someone with the database's owner rights could.
async fn tamper(t: &TestApp, sqlite: &str, postgres: &str) {
    match &t.database_url {
        Some(url) => {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            let conn = tokio::spawn(conn);
            client
                .batch_execute(&format!(
                    "ALTER TABLE consent_records DISABLE TRIGGER USER; {postgres}; ALTER TABLE consent_records ENABLE TRIGGER USER;"
                ))
                .await
                .unwrap();
            drop(client);
            let _ = conn.await;
        }
        None => {
            let conn = rusqlite::Connection::open(&t.db_path).unwrap();
            conn.execute_batch(&format!(
                "DROP TRIGGER consent_records_no_update; DROP TRIGGER consent_records_no_delete; {sqlite};"
            ))
            .unwrap();
        }
    }
}

async fn verify_break(t: &TestApp) -> String {
    match t.state.db.verify(None).await {
        Ok(head) => panic!("the ledger verified ({} records)", head.count),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn verify_names_every_edited_column_that_reads_use() {
    let edits = [
        ("supersedes", "supersedes = 'forged'"),
        (
            "effective_at_ms",
            "effective_at_ms = effective_at_ms - 86400000",
        ),
        ("partner_id", "partner_id = 'gamma'"),
        ("decided_at_ms", "decided_at_ms = decided_at_ms + 1"),
    ];
    for (column, set) in edits {
        let t = TestApp::new().await;
        let (status, _) = t
            .post_records(&[
                record(1, "C-1", "alpha", Given, 10),
                record(2, "C-1", "beta", Given, 10),
            ])
            .await;
        assert_eq!(status, StatusCode::CREATED);
        t.state.db.verify(None).await.expect("verifies untouched");
        let sql = format!("UPDATE consent_records SET {set} WHERE seq = 2");
        tamper(&t, &sql, &sql).await;
        let broken = verify_break(&t).await;
        assert!(
            broken.contains(column) && broken.contains(&uuid(2)),
            "{column}: {broken}"
        );
    }
}

#[tokio::test]
async fn verify_names_a_mapping_deleted_without_an_erasure() {
    let t = TestApp::new().await;
    t.post_records(&[record(1, "C-1", "alpha", Given, 10)])
        .await;
    t.post_records(&[record(2, "C-2", "alpha", Given, 10)])
        .await;
    // An erasure through the API is accounted for ...
    let req = Request::delete("/api/v1/customers/C-1")
        .header(header::AUTHORIZATION, format!("Bearer {}", t.admin_key))
        .body(Body::empty())
        .unwrap();
    assert_eq!(t.send(req).await.0, StatusCode::OK);
    t.state.db.verify(None).await.expect("an erasure verifies");
    // ... a row removed by hand is not.
    let sql = "DELETE FROM subjects WHERE customer_id = 'C-2'";
    tamper(&t, sql, sql).await;
    let broken = verify_break(&t).await;
    assert!(
        broken.contains("no erasure was logged") && broken.contains(&uuid(2)),
        "{broken}"
    );
}

#[test]
fn the_erasure_log_says_whether_the_scrub_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("c.db")).unwrap();
    db.insert_batch(
        &[NewRecord::new(record(1, "C-1", "alpha", Given, 10))],
        at(11),
    )
    .unwrap();
    db.erase(
        &["C-1".to_owned()],
        &consent_host::db::Erasure {
            kind: consent_host::db::ErasureKind::Request,
            by: "key:test".into(),
            detail: json!({}),
            at: at(12),
        },
    )
    .unwrap();
    assert_eq!(db.erasures().unwrap()[0]["scrub"], "pending");
    assert!(db.scrub_step(at(12)).unwrap());
    let log = db.erasures().unwrap();
    assert_eq!(log[0]["scrub"], "scrubbed");
    assert_eq!(log[0]["by"], "key:test");
    let conn = Db::open_read_only(&dir.path().join("c.db")).unwrap();
    ledger::verify(&conn).expect("the ledger verifies after the erasure");
}
