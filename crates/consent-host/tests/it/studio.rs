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

/// A config for the test venue whose one partner, `p1`, asks with the
/// words the test records hold (version 2).
fn lyric_config(version: u32, text: &str) -> Value {
    json!({
        "endpoint": "/api/v1/consent-records",
        "customerId": "C-9",
        "venue": { "id": "lyric", "name": "The Lyric" },
        "partners": [{
            "id": "p1",
            "name": "p1 Productions",
            "privacyUrl": "https://p1.example/privacy",
            "notice": { "id": "p1-marketing", "version": version, "text": { "en-GB": text }, "channels": ["email", "post"] }
        }],
        "basket": { "lines": [{ "eventId": "e1", "title": "Hamlet", "partnerIds": ["p1"] }] }
    })
}

const P1_TEXT: &str = "p1 Productions would like to email you about their shows.";

#[tokio::test]
async fn a_wording_change_is_counted_against_the_stored_answers() {
    use consent_core::domain::DecisionState::{Given, Refused};
    let t = TestApp::new().await;
    let mut older = record(3, "C-3", "p1", Given, 60);
    older.notice.version = 1;
    for r in [
        record(1, "C-1", "p1", Given, 90),
        record(2, "C-2", "p1", Refused, 91),
        older,
        record(4, "C-4", "p2", Given, 90),
    ] {
        let (status, body) = t.post_records(&[r]).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    // As configured (version 2, the words the patrons saw).
    let (status, answer) = ask(
        &t,
        &lyric_config(2, P1_TEXT).to_string(),
        Some(&t.admin_key),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let w = &answer["wording"][0];
    assert_eq!(w["partnerId"], "p1", "{answer}");
    assert_eq!(
        w["answers"], 3,
        "another partner's answers are not counted: {w}"
    );
    assert_eq!(
        w["asConfigured"],
        json!({ "askedAgain": 1, "askedAnyway": 0, "kept": 2 }),
        "{w}"
    );
    assert_eq!(w["nextVersion"], 3);
    assert_eq!(
        w["ifChanged"],
        json!({ "askedAgain": 3, "askedAnyway": 0, "kept": 0 }),
        "{w}"
    );
    assert_eq!(w["changedWithoutNewVersion"], json!([]));
    assert_eq!(
        w["byVersion"],
        json!([
            { "noticeId": "p1-marketing", "version": 2, "answers": 2 },
            { "noticeId": "p1-marketing", "version": 1, "answers": 1 }
        ])
    );

    // The words edited, the version left alone: flagged.
    let edited = format!("{P1_TEXT} And by post.");
    let (_, answer) = ask(
        &t,
        &lyric_config(2, &edited).to_string(),
        Some(&t.admin_key),
    )
    .await;
    assert_eq!(
        answer["wording"][0]["changedWithoutNewVersion"],
        json!(["en-GB"])
    );

    // The version raised: the version 2 answers are asked again too.
    let (_, answer) = ask(
        &t,
        &lyric_config(3, &edited).to_string(),
        Some(&t.admin_key),
    )
    .await;
    let w = &answer["wording"][0];
    assert_eq!(w["asConfigured"]["askedAgain"], 3, "{w}");
    assert_eq!(w["nextVersion"], 4);
    assert_eq!(w["changedWithoutNewVersion"], json!([]));

    // A config that does not validate has no wording answer.
    let (_, answer) = ask(
        &t,
        &json!({ "endpoint": "" }).to_string(),
        Some(&t.admin_key),
    )
    .await;
    assert_eq!(answer["wording"], Value::Null);
}
