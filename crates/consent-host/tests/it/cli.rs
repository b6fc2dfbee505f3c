//! The commands a venue's data-protection officer runs, through the real
//! binary: none of them creates a database by accident (`keys add
//! --create` makes one on purpose), `erasures list` shows the erasure log
//! without a customer id, and a host started without `--demo` says it is
//! a host and serves no demo checkout.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::common::*;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use consent_core::domain::DecisionState::Given;
use consent_host::db::ErasureKind;
use consent_host::Db;
use serde_json::{json, Value};

/// The binary, with none of the environment that would choose a database
/// or a mode for it.
fn host() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_consent-host"));
    for var in [
        "DATABASE_URL",
        "DATABASE_PATH",
        "CONSENT_DEMO",
        "CONSENT_VENUE",
        "CONSENT_TOKEN_SECRET",
        "CONSENT_TOKEN_PUBLIC_KEY",
        "PORT",
        "BIND",
        "DIST_DIR",
        "EXAMPLES_DIR",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("RUST_LOG", "warn");
    cmd
}

/// Runs a command to its end: success, stdout, stderr.
fn run(cmd: &mut Command) -> (bool, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run consent-host");
    (
        status.success(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Every command that reads or changes a database, on `db`.
fn read_commands(db: &Path) -> Vec<Vec<String>> {
    let db = db.display().to_string();
    [
        &["keys", "list"][..],
        &["keys", "revoke", "0123456789ab"],
        &["verify"],
        &["retention", "--dry-run"],
        &["retention"],
        &["retention", "--apply"],
        &["erasures", "list"],
        &["erasures", "list", "--json"],
    ]
    .iter()
    .map(|args| {
        let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        args.extend(["--db".to_owned(), db.clone()]);
        args
    })
    .collect()
}

#[test]
fn keys_add_refuses_a_missing_database_and_makes_one_only_with_create() {
    let dir = tempfile::tempdir().unwrap();
    // The default path, as a new venue's staff would run it by mistake in
    // the wrong directory: no key is printed, nothing is made.
    let (ok, out, err) = run(host()
        .current_dir(dir.path())
        .args(["keys", "add", "--role", "admin"]));
    assert!(!ok, "{out}");
    assert!(out.is_empty(), "no key printed: {out}");
    assert!(
        err.contains(
            "no database at ./data/consent.db (--db): start the host on it first, or pass --create to make an empty one"
        ),
        "{err}"
    );
    assert!(!dir.path().join("data").exists(), "nothing is created");

    let db = dir.path().join("new/consent.db");
    let (ok, out, err) = run(host()
        .args(["keys", "add", "--role", "admin", "--db"])
        .arg(&db));
    assert!(!ok, "{out}");
    assert!(
        err.contains(&format!("no database at {}", db.display())),
        "{err}"
    );
    assert!(err.contains("(--db)") && err.contains("--create"), "{err}");
    assert!(!db.exists() && !dir.path().join("new").exists());

    // With --create: an empty database, and the key in it.
    let (ok, key, err) = run(host()
        .args(["keys", "add", "--role", "partner", "--partner", "alpha"])
        .args(["--label", "first key", "--create", "--db"])
        .arg(&db));
    assert!(ok, "{err}");
    assert!(key.trim().starts_with("cpk_"), "{key}");
    assert!(db.is_file());
    let (ok, listed, err) = run(host().args(["keys", "list", "--db"]).arg(&db));
    assert!(ok, "{err}");
    assert!(
        listed.contains("alpha") && listed.contains("first key"),
        "{listed}"
    );
    // A database that exists needs no --create.
    let (ok, _, err) = run(host()
        .args(["keys", "add", "--role", "admin", "--db"])
        .arg(&db));
    assert!(ok, "{err}");
}

#[test]
fn other_commands_refuse_a_missing_database_without_creating_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/consent.db");
    for args in read_commands(&db) {
        let (ok, out, err) = run(host().args(&args));
        assert!(!ok, "{args:?}: {out}");
        assert!(
            err.contains(&format!(
                "no database at {} (--db): start the host on it first",
                db.display()
            )),
            "{args:?}: {err}"
        );
        // Only where creating makes sense is --create offered.
        assert!(!err.contains("--create"), "{args:?}: {err}");
        assert!(!dir.path().join("data").exists(), "{args:?} made the file");
    }
    for args in [
        &["verify", "--create"][..],
        &["erasures", "list", "--create"],
        &["retention", "--create"],
        &["keys", "list", "--create"],
    ] {
        let (ok, _, err) = run(host().args(args).arg("--db").arg(&db));
        assert!(!ok && err.contains("--create"), "{args:?}: {err}");
    }
    assert!(!dir.path().join("data").exists());

    // A file with no schema (an empty file; another program's) is refused
    // too, and left as it was.
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    std::fs::write(&db, b"").unwrap();
    let mut commands = read_commands(&db);
    commands.push(
        ["keys", "add", "--role", "admin", "--db"]
            .map(String::from)
            .into_iter()
            .chain([db.display().to_string()])
            .collect(),
    );
    for args in commands {
        let (ok, _, err) = run(host().args(&args));
        assert!(!ok, "{args:?}");
        assert!(
            err.contains(&format!("no Consent Prompt schema in {}", db.display())),
            "{args:?}: {err}"
        );
        assert_eq!(std::fs::metadata(&db).unwrap().len(), 0, "{args:?}");
    }
}

/// The admin key's id, as the erasure log names it (`key:<id>`).
fn key_id(key: &str) -> &str {
    key.split('_').nth(1).expect("cpk_<id>_<secret>")
}

/// Erases `customer` through the API with the admin key.
async fn erase_by_api(t: &TestApp, customer: &str) -> Value {
    let (status, _, body) = t
        .send(
            Request::delete(format!("/api/v1/customers/{customer}"))
                .header(header::AUTHORIZATION, format!("Bearer {}", t.admin_key))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_slice(&body).unwrap()
}

/// Posts two records for `customer` and one for `other`.
async fn two_customers(t: &TestApp, customer: &str, other: &str) {
    for (n, who, partner) in [
        (1, customer, "alpha"),
        (2, customer, "beta"),
        (3, other, "alpha"),
    ] {
        let (status, body) = t.post_records(&[record(n, who, partner, Given, 10)]).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}

#[tokio::test]
async fn erasures_list_shows_each_erasure_and_its_scrub_without_customer_ids() {
    let t = TestApp::sqlite().await;
    let (erased, kept) = ("ERASE-ME-91c2", "KEEP-ME-4b7e");
    two_customers(&t, erased, kept).await;

    let (ok, out, err) = run(host().args(["erasures", "list", "--db"]).arg(&t.db_path));
    assert!(ok, "{err}");
    assert!(out.is_empty(), "no erasures yet: {out}");

    assert_eq!(erase_by_api(&t, erased).await["records"], 2);
    wait_until_scrubbed(&t).await;
    // A second erasure, made by a process that does not scrub: pending.
    let other = Db::open(&t.db_path).unwrap();
    let at = at(200);
    other
        .erase(
            &[kept.to_owned()],
            &consent_host::db::Erasure {
                kind: ErasureKind::Retention,
                by: "cli:retention".into(),
                detail: json!({}),
                at,
            },
        )
        .unwrap();
    drop(other);

    let (ok, out, err) = run(host().args(["erasures", "list", "--db"]).arg(&t.db_path));
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let by = format!("by key:{}", key_id(&t.admin_key));
    assert!(lines[0].contains(" request "), "{out}");
    assert!(lines[0].contains(&by), "{out}");
    assert!(lines[0].contains("1 customers  2 records"), "{out}");
    assert!(lines[0].contains("  scrubbed 20"), "{out}");
    assert!(lines[1].starts_with(&at.to_string()), "oldest first: {out}");
    assert!(lines[1].contains(" retention "), "{out}");
    assert!(lines[1].contains("by cli:retention"), "{out}");
    assert!(lines[1].contains("1 customers  1 records"), "{out}");
    assert!(lines[1].ends_with("  pending"), "{out}");
    assert!(!out.contains(erased) && !out.contains(kept), "{out}");

    let (ok, out, err) = run(host()
        .args(["erasures", "list", "--json", "--db"])
        .arg(&t.db_path));
    assert!(ok, "{err}");
    let entries: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(entries.len(), 2, "{out}");
    assert_eq!(entries[0]["kind"], "request");
    assert_eq!(entries[0]["by"], format!("key:{}", key_id(&t.admin_key)));
    assert_eq!(entries[0]["customers"], 1);
    assert_eq!(entries[0]["records"], 2);
    assert_eq!(entries[0]["scrub"], "scrubbed");
    assert!(entries[0]["scrubbedAt"].is_string());
    assert_eq!(entries[1]["kind"], "retention");
    assert_eq!(entries[1]["at"], at.to_string());
    assert_eq!(entries[1]["scrub"], "pending");
    assert!(entries[1]["scrubbedAt"].is_null());
    assert!(!out.contains(erased) && !out.contains(kept), "{out}");
}

/// Kills the host when the test ends, also by a failed assertion.
struct Host(std::process::Child);

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `GET` over a fresh connection: the status and the body.
fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{answer}"));
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, body.to_owned())
}

#[test]
fn a_host_without_demo_says_host_and_serves_no_demo_checkout() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>Checkout demo</title>",
    )
    .unwrap();
    std::fs::write(dist.join("frame.html"), "<!doctype html><title>f</title>").unwrap();
    std::fs::write(dist.join("entry.js"), "export {};").unwrap();
    let mut cmd = host();
    cmd.args(["--port", "0", "--bind", "127.0.0.1", "--venue", VENUE])
        .args(["--token-secret", SECRET, "--db"])
        .arg(dir.path().join("data/consent.db"))
        .arg("--dist")
        .arg(&dist)
        .arg("--examples")
        .arg(dir.path().join("examples"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut server = Host(cmd.spawn().expect("start consent-host"));
    let mut stdout = std::io::BufReader::new(server.0.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).expect("the start-up line");
    let port: u16 = line
        .trim()
        .strip_prefix("Consent Prompt host: http://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix('/'))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected start-up line {line:?}"));

    for path in [
        "/",
        "/index.html",
        "/consent-prompt/",
        "/consent-prompt/index.html",
        "/?customer=C-1001",
    ] {
        let (status, body) = http_get(port, path);
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("<title>"), "{path}: {body}");
    }
    let (_, body) = http_get(port, "/");
    let error: Value = serde_json::from_str(&body).expect("the API's JSON error");
    assert_eq!(error["error"]["code"], "not_found", "{body}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Consent Prompt API"),
        "{body}"
    );
    // The widget itself is still served.
    assert_eq!(http_get(port, "/consent-prompt/entry.js").0, 200);
    assert_eq!(http_get(port, "/consent-prompt/frame.html").0, 200);

    // Neither the start-up line nor the log says "demo".
    let _ = server.0.kill();
    let _ = server.0.wait();
    let mut err = String::new();
    server
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let text = format!("{line}{err}").to_lowercase();
    assert!(!text.contains("demo"), "{text}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn commands_refuse_a_postgres_database_without_a_schema() {
    let server = required_database_url();
    let url = fresh_database(&server).await;
    let has_schema = || async {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        client
            .query_one("SELECT to_regclass('consent_schema') IS NOT NULL", &[])
            .await
            .unwrap()
            .get::<_, bool>(0)
    };
    let with_url = |args: &[&str]| {
        let mut cmd = host();
        cmd.args(args).args(["--database-url", &url]);
        run(&mut cmd)
    };
    for args in [
        &["keys", "list"][..],
        &["keys", "revoke", "0123456789ab"],
        &["verify"],
        &["retention", "--dry-run"],
        &["retention"],
        &["retention", "--apply"],
        &["erasures", "list"],
    ] {
        let (ok, out, err) = with_url(args);
        assert!(!ok, "{args:?}: {out}");
        assert!(
            err.contains("no Consent Prompt schema in postgres://"),
            "{args:?}: {err}"
        );
        assert!(err.contains("(--database-url)"), "{args:?}: {err}");
        assert!(!err.contains("--create"), "{args:?}: {err}");
        assert!(!has_schema().await, "{args:?} migrated the database");
    }
    let (ok, out, err) = with_url(&["keys", "add", "--role", "admin"]);
    assert!(!ok && out.is_empty(), "{out}");
    assert!(
        err.contains("(--database-url)") && err.contains("pass --create"),
        "{err}"
    );
    assert!(!has_schema().await);

    let (ok, key, err) = with_url(&["keys", "add", "--role", "admin", "--create"]);
    assert!(ok, "{err}");
    assert!(key.starts_with("cpk_"), "{key}");
    assert!(has_schema().await);
    let (ok, listed, err) = with_url(&["keys", "list"]);
    assert!(ok && listed.contains(key_id(&key)), "{err}");
    let (ok, out, err) = with_url(&["erasures", "list"]);
    assert!(ok && out.is_empty(), "{out}{err}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn erasures_list_reads_the_postgres_log() {
    required_database_url();
    let t = TestApp::new().await;
    let url = t.database_url.clone().expect("on PostgreSQL");
    let (erased, kept) = ("ERASE-ME-pg-5d1", "KEEP-ME-pg-a07");
    two_customers(&t, erased, kept).await;
    assert_eq!(erase_by_api(&t, erased).await["records"], 2);
    wait_until_scrubbed(&t).await;

    let (ok, out, err) = run(host().args(["erasures", "list", "--database-url", &url]));
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].contains(" request "), "{out}");
    assert!(
        lines[0].contains(&format!("by key:{}", key_id(&t.admin_key))),
        "{out}"
    );
    assert!(
        lines[0].contains("1 customers  2 records  scrubbed 20"),
        "{out}"
    );

    let (ok, out, err) = run(host().args(["erasures", "list", "--json", "--database-url", &url]));
    assert!(ok, "{err}");
    let entry: Value = serde_json::from_str(out.trim()).expect("one JSON line");
    assert_eq!(entry["kind"], "request");
    assert_eq!(entry["records"], 2);
    assert_eq!(entry["scrub"], "scrubbed");
    assert!(!out.contains(erased) && !out.contains(kept), "{out}");
}
