//! The iframe mode: `frame.json`, the frame parents, and the
//! `frame-src`/`frame-ancestors` of static responses.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::*;
use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use clap::Parser;
use consent_host::{Config, STATIC_CSP};
use serde_json::{json, Value};

const TICKETS: &str = "https://tickets.lyric.example";
const BOX_OFFICE: &str = "https://boxoffice.example:8443";

/// A dist with `index.html`, `frame.html`, a wasm file and a stale
/// `frame.json` (which the route must shadow), and an examples directory.
fn with_static_files(dir: &Path) {
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>demo</title>",
    )
    .unwrap();
    std::fs::write(
        dist.join("frame.html"),
        "<!doctype html><title>frame</title>",
    )
    .unwrap();
    std::fs::write(dist.join("consent_prompt_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(
        dist.join("frame.json"),
        r#"{"allowedParentOrigins":["https://stale.example"]}"#,
    )
    .unwrap();
    let examples = dir.join("examples/iframe");
    std::fs::create_dir_all(&examples).unwrap();
    std::fs::write(
        examples.join("index.html"),
        "<!doctype html><title>iframe example</title>",
    )
    .unwrap();
    // Named like the prompt but elsewhere: an ordinary page.
    std::fs::write(
        examples.join("frame.html"),
        "<!doctype html><title>not the prompt</title>",
    )
    .unwrap();
}

/// An app serving the fixtures, as if bound to port 4321 (configured as 8080).
async fn app(frame_parents: &[&str]) -> TestApp {
    app_with(frame_parents, false).await
}

/// As [`app`]; with `demo`, the host also serves the demo checkout at `/`.
async fn app_with(frame_parents: &[&str], demo: bool) -> TestApp {
    let parents: Vec<String> = frame_parents.iter().map(|s| (*s).to_owned()).collect();
    TestApp::with_config(move |c, dir| {
        with_static_files(dir);
        c.dist = dir.join("dist");
        c.examples = dir.join("examples");
        c.port = 8080;
        c.bound_port = Some(4321);
        c.frame_parents = parents;
        c.demo = demo;
    })
    .await
}

async fn get(t: &TestApp, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    t.send(Request::get(uri).body(Body::empty()).unwrap()).await
}

fn csp(headers: &HeaderMap, uri: &str) -> String {
    headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap_or_else(|| panic!("{uri}: no Content-Security-Policy"))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The sources of one directive, or `None` when the policy lacks it.
fn directive(policy: &str, name: &str) -> Option<Vec<String>> {
    policy.split(';').find_map(|d| {
        let mut words = d.split_whitespace();
        (words.next() == Some(name)).then(|| words.map(str::to_owned).collect())
    })
}

const FRAME_SRC_4321: &str = "frame-src 'self' http://localhost:4321 http://127.0.0.1:4321";

fn frame_json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("non-JSON frame.json ({e}): {body:?}"))
}

#[tokio::test]
async fn frame_json_lists_the_configured_parents() {
    // A duplicate and an empty entry (a stray comma) are dropped.
    let t = app(&[TICKETS, "", BOX_OFFICE, TICKETS]).await;
    for uri in ["/consent-prompt/frame.json", "/frame.json"] {
        let (status, headers, body) = get(&t, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{uri}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store", "{uri}");
        // The route, not the stale file in the dist; no loopback origins.
        assert_eq!(
            frame_json(&body),
            json!({ "allowedParentOrigins": [TICKETS, BOX_OFFICE] }),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn frame_json_defaults_to_the_loopback_origins_of_the_bound_port() {
    // Configured as 8080, bound to 4321: the bound port wins.
    let t = app(&[]).await;
    let (status, headers, body) = get(&t, "/consent-prompt/frame.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(
        frame_json(&body),
        json!({ "allowedParentOrigins": ["http://localhost:4321", "http://127.0.0.1:4321"] })
    );
    // `FRAME_PARENT_ORIGINS=` (an empty value) is no configuration either.
    let t = app(&[""]).await;
    let (_, _, body) = get(&t, "/consent-prompt/frame.json").await;
    assert_eq!(
        frame_json(&body)["allowedParentOrigins"],
        json!(["http://localhost:4321", "http://127.0.0.1:4321"])
    );
}

#[tokio::test]
async fn frame_html_may_be_framed_by_exactly_the_allowlist() {
    let t = app(&[TICKETS, BOX_OFFICE]).await;
    for uri in ["/consent-prompt/frame.html", "/frame.html"] {
        let (status, headers, body) = get(&t, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(body.starts_with(b"<!doctype html><title>frame"), "{uri}");
        let policy = csp(&headers, uri);
        assert_eq!(
            policy,
            format!("{STATIC_CSP}; {FRAME_SRC_4321}; frame-ancestors {TICKETS} {BOX_OFFICE}"),
            "{uri}"
        );
        assert_eq!(
            directive(&policy, "frame-ancestors").unwrap(),
            [TICKETS, BOX_OFFICE],
            "{uri}"
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{uri}");
    }

    // Without frame parents: the loopback spellings of the bound port.
    let t = app(&[]).await;
    let (_, headers, _) = get(&t, "/consent-prompt/frame.html").await;
    let policy = csp(&headers, "frame.html");
    assert_eq!(
        directive(&policy, "frame-ancestors").unwrap(),
        ["http://localhost:4321", "http://127.0.0.1:4321"]
    );
    assert!(!policy.contains("8080"), "{policy}");
}

#[tokio::test]
async fn without_a_known_port_nothing_may_frame_the_prompt() {
    // `--port 0` and never told the bound port: no loopback origins exist.
    let t = TestApp::with_config(|c, dir| {
        with_static_files(dir);
        c.dist = dir.join("dist");
        c.port = 0;
        c.bound_port = None;
    })
    .await;
    let (_, _, body) = get(&t, "/consent-prompt/frame.json").await;
    assert_eq!(frame_json(&body), json!({ "allowedParentOrigins": [] }));
    let (_, headers, _) = get(&t, "/consent-prompt/frame.html").await;
    assert_eq!(
        csp(&headers, "frame.html"),
        format!("{STATIC_CSP}; frame-src 'self'; frame-ancestors 'none'")
    );
}

#[tokio::test]
async fn other_pages_may_be_framed_by_their_own_origin_only() {
    // The demo checkout at `/` is one of those pages.
    let t = app_with(&[TICKETS], true).await;
    for uri in [
        "/",
        "/index.html",
        "/consent-prompt/",
        "/consent-prompt/index.html",
        "/examples/iframe/",
        "/examples/iframe/frame.html",
    ] {
        let (status, headers, _) = get(&t, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        let policy = csp(&headers, uri);
        assert_eq!(
            policy,
            format!("{STATIC_CSP}; {FRAME_SRC_4321}; frame-ancestors 'self'"),
            "{uri}"
        );
        assert!(!policy.contains(TICKETS), "{uri}: {policy}");
    }
    // Not pages: the frame-src, no frame-ancestors.
    for uri in [
        "/consent_prompt_bg.wasm",
        "/consent-prompt/consent_prompt_bg.wasm",
        "/no-such-file.js",
        "/examples/iframe",
    ] {
        let (_, headers, _) = get(&t, uri).await;
        assert_eq!(
            csp(&headers, uri),
            format!("{STATIC_CSP}; {FRAME_SRC_4321}"),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn no_static_policy_allows_unsafe_sources() {
    for parents in [&[][..], &[TICKETS, BOX_OFFICE][..]] {
        let t = app(parents).await;
        for uri in [
            "/",
            "/consent-prompt/frame.html",
            "/frame.html",
            "/consent-prompt/",
            "/examples/iframe/",
            "/consent_prompt_bg.wasm",
            "/no-such-file.js",
        ] {
            let (_, headers, _) = get(&t, uri).await;
            let policy = csp(&headers, uri);
            let words: Vec<&str> = policy
                .split(|c: char| c == ';' || c.is_whitespace())
                .filter(|w| !w.is_empty())
                .collect();
            // `'wasm-unsafe-eval'` (wasm compilation only, in script-src)
            // is the one source with "unsafe-" in its name.
            for w in &words {
                if w.contains("unsafe-") {
                    assert_eq!(*w, "'wasm-unsafe-eval'", "{uri}: {policy}");
                }
                assert!(!w.contains('*'), "{uri}: {policy}");
            }
            assert_eq!(
                directive(&policy, "script-src").unwrap(),
                ["'self'", "'wasm-unsafe-eval'"],
                "{uri}"
            );
            assert_eq!(
                policy.matches("unsafe-").count(),
                1,
                "{uri}: only 'wasm-unsafe-eval' in {policy}"
            );
        }
    }
}

#[test]
fn bad_frame_parents_are_refused_at_parse_time() {
    for bad in [
        "*",
        "https://x.example/",
        "https://x.example/checkout",
        "x.example",
        "https://*.example",
        "https://X.example",
        "https://ok.example,*",
        "https://ok.example; script-src *",
    ] {
        let err = Config::try_parse_from(["consent-host", "--frame-parents", bad])
            .expect_err(&format!("accepted {bad:?}"));
        assert_eq!(
            err.kind(),
            clap::error::ErrorKind::ValueValidation,
            "{bad:?}: {err}"
        );
    }
    let c = Config::try_parse_from([
        "consent-host",
        "--frame-parents",
        "https://tickets.example, http://localhost:3000",
    ])
    .unwrap();
    assert_eq!(
        c.frame_parents,
        ["https://tickets.example", "http://localhost:3000"]
    );
    let c = Config::try_parse_from(["consent-host"]).unwrap();
    assert!(c.frame_parents.iter().all(String::is_empty), "{c:?}");
}

/// Kills the server when the test ends, also by a failed assertion.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `GET` over a fresh connection; the raw answer.
fn http_get(port: u16, path: &str) -> String {
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
    answer
}

#[test]
fn the_server_uses_the_port_it_bound() {
    let dir = tempfile::tempdir().unwrap();
    with_static_files(dir.path());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_consent-host"));
    for var in [
        "PORT",
        "BIND",
        "DATABASE_PATH",
        "DIST_DIR",
        "EXAMPLES_DIR",
        "ALLOWED_ORIGINS",
        "FRAME_PARENT_ORIGINS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("RUST_LOG", "warn")
        .args(["--demo", "--port", "0", "--bind", "127.0.0.1", "--db"])
        .arg(dir.path().join("data/consent.db"))
        .arg("--dist")
        .arg(dir.path().join("dist"))
        .arg("--examples")
        .arg(dir.path().join("examples"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut server = Server(cmd.spawn().expect("start consent-host"));

    let stdout = server.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the start-up line in time");
    let port: u16 = line
        .trim()
        .strip_prefix("Consent Prompt demo: http://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix('/'))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected start-up line {line:?}"));
    assert_ne!(port, 0);

    let answer = http_get(port, "/consent-prompt/frame.json");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    assert_eq!(
        serde_json::from_str::<Value>(body).unwrap(),
        json!({ "allowedParentOrigins": [
            format!("http://localhost:{port}"),
            format!("http://127.0.0.1:{port}"),
        ] }),
        "{answer}"
    );

    let answer = http_get(port, "/consent-prompt/frame.html");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let expected = format!(
        "content-security-policy: {STATIC_CSP}; frame-src 'self' http://localhost:{port} http://127.0.0.1:{port}; frame-ancestors http://localhost:{port} http://127.0.0.1:{port}\r\n"
    );
    assert!(answer.contains(&expected), "{expected:?} not in {answer}");
}
