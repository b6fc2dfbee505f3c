//! Delivery of the widget's files: precompressed by Accept-Encoding,
//! versioned URLs immutable, unversioned ones revalidated, SRI hashes that
//! match what is served. The build directory is made by the real build
//! step, `scripts/compress.mjs`.

use std::path::Path;

use crate::common::*;
use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha384};

const JS: &str = "// The entry module.\nexport const version = \"test\";\n";

/// A build directory with a few assets, compressed by the build's script.
fn build_dist(dist: &Path) {
    std::fs::create_dir_all(dist).unwrap();
    std::fs::write(dist.join("consent-prompt.js"), JS.repeat(200)).unwrap();
    std::fs::write(
        dist.join("frame.html"),
        "<!doctype html><title>frame</title>".repeat(20),
    )
    .unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>demo</title>",
    )
    .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/compress.mjs");
    let out = std::process::Command::new("node")
        .arg(script)
        .arg(dist)
        .output()
        .expect("node runs the build's compress step");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn app() -> TestApp {
    TestApp::with_config(|c, dir| {
        build_dist(&dir.join("dist"));
        c.dist = dir.join("dist");
    })
    .await
}

fn manifest(t: &TestApp) -> Value {
    serde_json::from_slice(&std::fs::read(t.dir.path().join("dist/asset-manifest.json")).unwrap())
        .unwrap()
}

async fn get(t: &TestApp, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    t.send(req.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn assets_are_served_precompressed_by_accept_encoding() {
    let t = app().await;
    let dist = t.dir.path().join("dist");
    for (accept, encoding, file) in [
        ("br, gzip", Some("br"), "consent-prompt.js.br"),
        ("gzip, deflate", Some("gzip"), "consent-prompt.js.gz"),
        ("identity", None, "consent-prompt.js"),
    ] {
        let (status, headers, body) = get(
            &t,
            "/consent-prompt/consent-prompt.js",
            &[("accept-encoding", accept)],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{accept}");
        assert_eq!(
            headers
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{accept}"
        );
        assert!(
            headers.get_all(header::VARY).iter().any(|v| v
                .to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("accept-encoding")),
            "{accept}: {headers:?}"
        );
        assert_eq!(body, std::fs::read(dist.join(file)).unwrap(), "{accept}");
    }
}

#[tokio::test]
async fn versioned_paths_are_immutable_and_unversioned_ones_revalidate() {
    let t = app().await;
    let version = manifest(&t)["version"].as_str().unwrap().to_owned();
    let (status, headers, body) = get(
        &t,
        &format!("/consent-prompt/{version}/consent-prompt.js"),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(body, JS.repeat(200).as_bytes());

    let (status, headers, _) = get(&t, "/consent-prompt/consent-prompt.js", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    let etag = headers[header::ETAG].to_str().unwrap().to_owned();
    let (status, headers, body) = get(
        &t,
        "/consent-prompt/consent-prompt.js",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(headers[header::ETAG], etag.as_str());
    assert!(body.is_empty());
    let (status, _, _) = get(
        &t,
        "/consent-prompt/consent-prompt.js",
        &[("if-none-match", "W/\"something-else\"")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn sri_hashes_in_the_manifest_match_the_bytes_served() {
    let t = app().await;
    let m = manifest(&t);
    let version = m["version"].as_str().unwrap();
    for (file, entry) in m["files"].as_object().unwrap() {
        if file == "index.html" {
            // The demo's page: served only with --demo (tests/it/cli.rs).
            continue;
        }
        let (status, headers, body) = get(
            &t,
            &format!("/consent-prompt/{version}/{file}"),
            &[("accept-encoding", "identity")],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{file}");
        let integrity = format!(
            "sha384-{}",
            base64::engine::general_purpose::STANDARD.encode(Sha384::digest(&body))
        );
        assert_eq!(entry["integrity"], integrity, "{file}");
        assert_eq!(entry["bytes"], body.len(), "{file}");
        // SRI from another origin needs CORS.
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*", "{file}");
    }
}

#[tokio::test]
async fn the_versioned_frame_keeps_its_frame_ancestors() {
    let t = app().await;
    let version = manifest(&t)["version"].as_str().unwrap().to_owned();
    let (status, headers, _) = get(&t, &format!("/consent-prompt/{version}/frame.html"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("frame-ancestors http://localhost"), "{csp}");
    let (status, headers, body) =
        get(&t, &format!("/consent-prompt/{version}/frame.json"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert!(body["allowedParentOrigins"].is_array());
}

#[test]
fn frame_html_is_recognised_under_a_version_only() {
    use consent_host::is_frame_html;
    assert!(is_frame_html("/consent-prompt/frame.html"));
    assert!(is_frame_html("/frame.html"));
    assert!(is_frame_html("/consent-prompt/0.1.0/frame.html"));
    assert!(!is_frame_html("/consent-prompt/a/b/frame.html"));
    assert!(!is_frame_html("/examples/frame.html"));
}
