//! HTTP edges: malformed bodies, size limits, CORS, static files, health.

use crate::common::*;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use consent_core::domain::DecisionState::Given;
use serde_json::{json, Value};

fn error_of(body: &[u8]) -> Value {
    let v: Value =
        serde_json::from_slice(body).unwrap_or_else(|e| panic!("non-JSON error ({e}): {body:?}"));
    v["error"].clone()
}

#[tokio::test]
async fn malformed_json_is_400() {
    let t = TestApp::new().await;
    for bad in [
        &b"{\"records\": ["[..],
        b"not json",
        b"{\"records\": []} trailing",
        b"",
    ] {
        let (status, body) = t.post_raw(bad.to_vec(), "application/json").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}: {body}");
        assert_eq!(body["error"]["code"], "malformed_json");
        assert_eq!(body["error"]["field"], Value::Null);
    }
    assert_eq!(t.row_count().await, 0);
}

#[tokio::test]
async fn a_non_json_content_type_is_400() {
    let t = TestApp::new().await;
    let body =
        serde_json::to_vec(&json!({ "records": [record(1, "c", "alpha", Given, 1)] })).unwrap();
    let (status, answer) = t.post_raw(body.clone(), "text/plain").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["code"], "malformed_json");
    assert_eq!(t.row_count().await, 0);
    // A charset parameter is fine.
    let (status, answer) = t.post_raw(body, "application/json; charset=utf-8").await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413() {
    let t = TestApp::new().await;
    let mut r = serde_json::to_value(record(1, "c", "alpha", Given, 1)).unwrap();
    r["purpose"] = json!("x".repeat(1024 * 1024));
    let (status, body) = t.post_json(&json!({ "records": [r] })).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");

    // The same without a Content-Length (a streamed body) is refused as well.
    let (mut tx, streamed) = http_body_util::Channel::<axum::body::Bytes>::new(2);
    tokio::spawn(async move {
        for _ in 0..11 {
            if tx.send_data(vec![b' '; 100 * 1024].into()).await.is_err() {
                break;
            }
        }
    });
    let token = sign(&claims("C-1", "consent:write"));
    let req = Request::post("/api/v1/consent-records")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::new(streamed))
        .unwrap();
    let (status, _, body) = t.send(req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_of(&body)["code"], "payload_too_large");
    assert_eq!(t.row_count().await, 0);
}

fn preflight(origin: &str, headers: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/v1/consent-records")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, headers)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let t = TestApp::with_config(|c, _| {
        c.allowed_origins = vec!["https://tickets.lyric.example".to_owned()];
    })
    .await;

    let (status, headers, _) = t
        .send(preflight(
            "https://tickets.lyric.example",
            "content-type,x-csrf-token",
        ))
        .await;
    assert!(status.is_success(), "{status}");
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://tickets.lyric.example"
    );
    let allowed = headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_owned();
    for h in ["content-type", "idempotency-key", "x-csrf-token"] {
        assert!(
            allowed.split(',').any(|a| a.trim() == h),
            "{h} missing from {allowed}"
        );
    }
    let methods = headers[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS));

    // Another origin gets no CORS grant, on preflight or on a simple request.
    let (_, headers, _) = t
        .send(preflight("https://evil.example", "content-type"))
        .await;
    assert!(
        !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        "{headers:?}"
    );
    let get = |origin: &str| {
        Request::get("/api/v1/customers/c/preferences")
            .header(header::ORIGIN, origin)
            .header(header::AUTHORIZATION, format!("Bearer {}", t.admin_key))
            .body(Body::empty())
            .unwrap()
    };
    let (status, headers, _) = t
        .send(get("https://tickets.lyric.example.evil.example"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        "{headers:?}"
    );
    let (_, headers, _) = t.send(get("https://tickets.lyric.example")).await;
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://tickets.lyric.example"
    );
}

#[tokio::test]
async fn without_configured_origins_no_origin_is_granted() {
    let t = TestApp::new().await;
    let (_, headers, _) = t
        .send(preflight("http://localhost:8080", "content-type"))
        .await;
    assert!(
        !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        "{headers:?}"
    );
}

#[tokio::test]
async fn cors_credentials_only_when_asked() {
    let t = TestApp::with_config(|c, _| {
        c.allowed_origins = vec!["https://tickets.lyric.example".to_owned()];
        c.allow_credentials = true;
    })
    .await;
    let (_, headers, _) = t
        .send(preflight("https://tickets.lyric.example", "content-type"))
        .await;
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://tickets.lyric.example"
    );
}

fn with_static_files(dir: &std::path::Path) {
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>demo</title>",
    )
    .unwrap();
    std::fs::write(dist.join("consent_prompt_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let examples = dir.join("examples/iframe");
    std::fs::create_dir_all(&examples).unwrap();
    std::fs::write(
        examples.join("index.html"),
        "<!doctype html><title>iframe example</title>",
    )
    .unwrap();
}

async fn get(t: &TestApp, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    t.send(Request::get(uri).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn the_demo_is_served_with_a_strict_csp() {
    let t = TestApp::with_config(|c, dir| {
        with_static_files(dir);
        c.dist = dir.join("dist");
        c.examples = dir.join("examples");
        c.demo = true;
    })
    .await;
    for uri in ["/", "/consent-prompt/", "/index.html", "/examples/iframe/"] {
        let (status, headers, body) = get(&t, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(
            String::from_utf8_lossy(&body).starts_with("<!doctype html>"),
            "{uri}"
        );
        // The configured port stands in for the bound one (not set here).
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            format!(
                "{}; frame-src 'self' http://localhost:8080 http://127.0.0.1:8080; frame-ancestors 'self'",
                consent_host::STATIC_CSP
            ),
            "{uri}"
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{uri}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{uri}"
        );
    }
    for uri in [
        "/consent_prompt_bg.wasm",
        "/consent-prompt/consent_prompt_bg.wasm",
    ] {
        let (status, headers, body) = get(&t, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/wasm", "{uri}");
        assert_eq!(body, b"\0asm\x01\0\0\0");
    }
    // A directory without its slash redirects inside its own prefix.
    let (status, headers, _) = get(&t, "/examples/iframe").await;
    assert!(status.is_redirection(), "{status}");
    assert_eq!(headers[header::LOCATION], "/examples/iframe/");

    let (status, headers, _) = get(&t, "/no-such-file.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    // Nothing outside dist is reachable.
    let (status, _, _) = get(&t, "/../data/consent.db").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn examples_are_not_served_when_the_directory_is_missing() {
    let t = TestApp::with_config(|c, dir| {
        with_static_files(dir);
        c.dist = dir.join("dist");
        c.examples = dir.join("no-examples-here");
    })
    .await;
    let (status, _, _) = get(&t, "/examples/iframe/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn health_and_unknown_api_paths_answer_json() {
    let t = TestApp::new().await;
    let (status, body) = t.get_json("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "status": "ok" }));

    let (status, headers, body) = get(&t, "/api/v1/no-such-thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_of(&body)["code"], "not_found");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");

    let req = Request::delete("/api/v1/consent-records")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = t.send(req).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_of(&body)["code"], "method_not_allowed");
}

#[tokio::test]
async fn serves_over_a_real_socket_on_loopback() {
    let t = TestApp::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = t.app.clone();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_string(&mut answer),
    )
    .await
    .expect("answer in time")
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with(r#"{"status":"ok"}"#), "{answer}");
    server.abort();
}

/// Every error code the host can answer with is documented in the
/// OpenAPI's `ErrorCode` (and nothing documented is dead): the codes are
/// read from the source, wherever an `ApiError` is made.
#[test]
fn every_error_code_is_in_the_openapi() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut used = std::collections::BTreeSet::new();
    let mut files = vec![root.join("src")];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // `ApiError::new(StatusCode::X, "code"` and `Self::new(…`, over line breaks.
        for (i, _) in text.match_indices("StatusCode::") {
            let rest = &text[i..];
            let Some(comma) = rest.find(',') else {
                continue;
            };
            let after = rest[comma + 1..].trim_start();
            let before = text[..i].trim_end();
            if !(before.ends_with("ApiError::new(") || before.ends_with("Self::new(")) {
                continue;
            }
            if let Some(quoted) = after.strip_prefix('"') {
                used.insert(quoted[..quoted.find('"').unwrap()].to_owned());
            }
        }
        // `path_id(parts, state, "customer", "invalid_customer_id")`: its last argument.
        for line in text
            .lines()
            .filter(|l| l.trim_start().starts_with("path_id("))
        {
            let quoted: Vec<&str> = line.split('"').collect();
            if quoted.len() >= 5 {
                used.insert(quoted[quoted.len() - 2].to_owned());
            }
        }
        for (i, _) in text.match_indices("const INVALID: &'static str = \"") {
            let rest = &text[i + "const INVALID: &'static str = \"".len()..];
            used.insert(rest[..rest.find('"').unwrap()].to_owned());
        }
    }
    let openapi = std::fs::read_to_string(root.join("../../docs/openapi.yaml")).unwrap();
    let section = &openapi[openapi.find("    ErrorCode:").unwrap()..];
    let enum_start = section.find("      enum:\n").unwrap() + "      enum:\n".len();
    let documented: std::collections::BTreeSet<String> = section[enum_start..]
        .lines()
        .take_while(|l| l.starts_with("        - "))
        .map(|l| l.trim_start_matches("        - ").trim().to_owned())
        .collect();
    let undocumented: Vec<&String> = used.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "codes missing from docs/openapi.yaml: {undocumented:?}"
    );
    // `unavailable` also answers /healthz; every documented code is made somewhere.
    let dead: Vec<&String> = documented.difference(&used).collect();
    assert!(
        dead.is_empty(),
        "documented codes the host never answers: {dead:?}"
    );
}
