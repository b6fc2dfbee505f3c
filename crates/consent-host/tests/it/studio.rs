//! `POST /api/v1/studio/check`: who may ask (an admin key, or anyone on a
//! demo host; a credential sent must be an admin key), and what it
//! answers (the config's problems and every colour pair's contrast).

use crate::common::*;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};

fn demo_config() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../static/demo-config.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn ask(t: &TestApp, body: &str, credential: Option<&str>) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/studio/check")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(c) = credential {
        req = req.header(header::AUTHORIZATION, format!("Bearer {c}"));
    }
    let (status, _, bytes) = t.send(req.body(Body::from(body.to_owned())).unwrap()).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn only_an_admin_key_may_ask_a_venues_host() {
    let t = TestApp::new().await;
    let body = demo_config().to_string();
    let (status, answer) = ask(&t, &body, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["error"]["code"], "unauthorized");
    let partner = t.partner_key("northern-lights").await;
    let (status, answer) = ask(&t, &body, Some(&partner)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let token = sign(&claims("C-1", "consent:write"));
    let (status, _) = ask(&t, &body, Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, answer) = ask(&t, &body, Some(&t.admin_key)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["ok"], true, "{answer}");
}

#[tokio::test]
async fn a_demo_host_is_open_but_a_credential_sent_must_still_be_an_admin_key() {
    let t = TestApp::with_config(|c, _| c.demo = true).await;
    let body = demo_config().to_string();
    let (status, answer) = ask(&t, &body, None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let partner = t.partner_key("northern-lights").await;
    let (status, _) = ask(&t, &body, Some(&partner)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_pair_is_audited_and_a_failing_one_is_named() {
    let t = TestApp::new().await;
    // The presets: every pair of both schemes passes.
    let mut c = demo_config();
    c["theme"] = json!({ "preset": "auto" });
    let (_, answer) = ask(&t, &c.to_string(), Some(&t.admin_key)).await;
    let pairs = answer["contrast"].as_array().unwrap();
    assert!(pairs.len() >= 20, "{answer}");
    assert!(pairs.iter().any(|p| p["scheme"] == "dark"));
    assert!(pairs.iter().all(|p| p["verdict"] == "pass"), "{answer}");

    // A pale secondary text and a white focus ring, and a config problem.
    c["theme"] =
        json!({ "preset": "light", "tokens": { "muted": "#aaa", "focus-ring": "#ffffff" } });
    c["headingLevel"] = json!(9);
    let (status, answer) = ask(&t, &c.to_string(), Some(&t.admin_key)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["ok"], false);
    let pairs = answer["contrast"].as_array().unwrap();
    assert!(
        pairs.iter().all(|p| p["scheme"] == "light"),
        "a light preset shows no dark scheme"
    );
    let failing: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|p| p["verdict"] == "fail")
        .map(|p| {
            (
                p["foreground"]["token"].as_str().unwrap(),
                p["background"]["token"].as_str().unwrap(),
            )
        })
        .collect();
    for want in [
        ("muted", "background"),
        ("muted", "surface"),
        ("focus-ring", "background"),
        ("focus-ring", "surface"),
    ] {
        assert!(failing.contains(&want), "{want:?} in {failing:?}");
    }
    assert_eq!(failing.len(), 4, "{failing:?}");
    let muted = pairs
        .iter()
        .find(|p| p["verdict"] == "fail" && p["foreground"]["token"] == "muted")
        .unwrap();
    assert_eq!(muted["ratio"], 2.32);
    assert_eq!(muted["minimum"], 4.5);
    assert_eq!(muted["foreground"]["venueSet"], true);
    assert_eq!(muted["background"]["value"], "#ffffff");
    let paths: Vec<&str> = answer["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"headingLevel"), "{paths:?}");
    assert!(paths.contains(&"theme.tokens.muted"), "{paths:?}");
    assert!(paths.contains(&"theme.tokens.focus-ring"), "{paths:?}");
}

#[tokio::test]
async fn text_that_is_not_json_is_answered_with_where() {
    let t = TestApp::new().await;
    let (status, answer) = ask(&t, "{\"endpoint\": ", Some(&t.admin_key)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["ok"], false);
    let message = answer["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("not valid JSON at line 1"), "{message}");
    assert_eq!(answer["contrast"], json!([]));
}
