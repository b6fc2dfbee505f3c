//! The reference host as its operators meet it, through the real binary:
//! a host started without `--demo` says it is a host and serves no demo
//! checkout.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;
use serde_json::Value;

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
