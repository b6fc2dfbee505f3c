//! Who may write and who may read: checkout tokens, API keys, rate limits.

use crate::common::*;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use consent_core::domain::CollectionChannel;
use consent_core::domain::DecisionState::{Given, Refused};
use consent_host::config::Secret;
use consent_host::keys::Role;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

/// A test-only Ed25519 key pair (never used outside these tests).
const ED25519_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIDMVjDHGPsaqXy+KSFXdEBeiLzMoqADGbJNBSrZoavdD
-----END PRIVATE KEY-----
";
const ED25519_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAfIiC3dWdWYgtZ6Pm7RKeHXPUiqQj0DGKR5HURO6P+oo=
-----END PUBLIC KEY-----
";

fn body_of(records: &[consent_core::wire::ConsentRecordV1]) -> Value {
    json!({ "records": records })
}

fn assert_error(status: StatusCode, body: &Value, want: StatusCode, code: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
}

#[tokio::test]
async fn a_forged_record_for_another_customer_is_403_and_nothing_is_stored() {
    let t = TestApp::new().await;
    let token = sign(&claims("cust-1", "consent:write"));
    let batch = [
        record(1, "cust-1", "alpha", Given, 1),
        record(2, "cust-2", "alpha", Given, 1),
    ];
    let (status, body) = t.post_with(&body_of(&batch), Some(&token)).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(body["error"]["field"], "records[1].customerId");
    assert_eq!(t.row_count().await, 0);

    // Another venue's records are refused the same way.
    let mut other_venue = record(3, "cust-1", "alpha", Given, 1);
    other_venue.venue.id = "elsewhere".into();
    let (status, body) = t.post_with(&body_of(&[other_venue]), Some(&token)).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(body["error"]["field"], "records[0].venue.id");
    assert_eq!(t.row_count().await, 0);
}

#[tokio::test]
async fn bad_tokens_are_401_with_www_authenticate() {
    let t = TestApp::new().await;
    let batch = body_of(&[record(1, "cust-1", "alpha", Given, 1)]);
    let good = claims("cust-1", "consent:write");

    let mut expired = good.clone();
    expired.exp = expired.iat - 3600;
    let mut wrong_audience = good.clone();
    wrong_audience.aud = "someone-else".into();
    let wrong_secret =
        consent_host::TokenSigner::hs256(b"another-secret-of-thirty-two-bytes!!").sign(&good);
    let mut tampered = sign(&good);
    tampered.pop();
    tampered.push('x');
    let none_alg = {
        // An unsigned token: header {"alg":"none"}.
        let payload = sign(&good);
        let claims_part = payload.split('.').nth(1).unwrap().to_owned();
        format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{claims_part}.")
    };
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("expired", Some(sign(&expired))),
        ("wrong audience", Some(sign(&wrong_audience))),
        ("wrong signature", Some(wrong_secret)),
        ("tampered", Some(tampered)),
        ("alg none", Some(none_alg)),
        ("not a JWT", Some("hello".into())),
        (
            "unknown API key",
            Some(format!("cpk_{}_{}", "0".repeat(12), "0".repeat(64))),
        ),
    ];
    for (what, token) in cases {
        let (status, headers, body) = t
            .post_bytes(
                serde_json::to_vec(&batch).unwrap(),
                "application/json",
                token.as_deref(),
            )
            .await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\"",
            "{what}"
        );
    }
    assert_eq!(t.row_count().await, 0);
}

#[tokio::test]
async fn a_token_within_the_leeway_is_still_accepted() {
    let t = TestApp::new().await;
    let mut c = claims("cust-1", "consent:write");
    c.exp = c.iat - 30; // expired 30 s ago; the default leeway is 60 s
    let (status, body) = t
        .post_with(
            &body_of(&[record(1, "cust-1", "alpha", Given, 1)]),
            Some(&sign(&c)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn eddsa_tokens_verify_with_the_configured_public_key() {
    let t = TestApp::with_config(|c, _| {
        c.token_secret = None;
        c.token_public_key = Some(ED25519_PUBLIC.to_owned());
    })
    .await;
    let key = EncodingKey::from_ed_pem(ED25519_PRIVATE.as_bytes()).unwrap();
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &claims("cust-1", "consent:write"),
        &key,
    )
    .unwrap();
    let (status, body) = t
        .post_with(
            &body_of(&[record(1, "cust-1", "alpha", Given, 1)]),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // With no secret configured, an HS256 token is not accepted at all.
    let hs = sign(&claims("cust-1", "consent:write"));
    let (status, body) = t
        .post_with(
            &body_of(&[record(2, "cust-1", "alpha", Given, 1)]),
            Some(&hs),
        )
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn operator_tokens_cover_box_office_records_with_their_operator_only() {
    let t = TestApp::new().await;
    let mut r = record(1, "cust-9", "alpha", Refused, 1);
    r.collection.channel = CollectionChannel::BoxOffice;
    r.collection.operator_id = Some("op-7".into());
    r.collection.expressed_by = consent_core::wire::ExpressedBy::OperatorOnBehalfOfCustomer;
    r.presentation.control = consent_core::wire::Control::OperatorEntry;

    let mut other_operator = claims("op-desk", "consent:write:venue");
    other_operator.operator = Some("op-8".into());
    let (status, body) = t
        .post_with(&body_of(&[r.clone()]), Some(&sign(&other_operator)))
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(body["error"]["field"], "records[0].collection.operatorId");

    // A patron's own checkout token (no operator) cannot write box-office records.
    let (status, body) = t
        .post_with(
            &body_of(&[r.clone()]),
            Some(&sign(&claims("cust-9", "consent:write"))),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");

    let mut operator = claims("op-desk", "consent:write:venue");
    operator.operator = Some("op-7".into());
    let (status, body) = t.post_with(&body_of(&[r]), Some(&sign(&operator))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_token_naming_a_basket_covers_that_basket_only() {
    let t = TestApp::new().await;
    let mut c = claims("cust-1", "consent:write");
    c.basket = Some("B-2".into());
    // The fixture's records are for basket B-1.
    let (status, body) = t
        .post_with(
            &body_of(&[record(1, "cust-1", "alpha", Given, 1)]),
            Some(&sign(&c)),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(body["error"]["field"], "records[0].collection.basketRef");
    c.basket = Some("B-1".into());
    let (status, _) = t
        .post_with(
            &body_of(&[record(1, "cust-1", "alpha", Given, 1)]),
            Some(&sign(&c)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn read_endpoints_answer_the_customer_or_an_admin_only() {
    let t = TestApp::new().await;
    assert_eq!(
        t.post_records(&[record(1, "cust-1", "alpha", Given, 1)])
            .await
            .0,
        StatusCode::CREATED
    );
    let (_, partner_key) = t
        .state
        .db
        .add_key(
            &consent_host::keys::KeySpec {
                role: Role::Partner,
                partner_id: Some("alpha".to_owned()),
                label: None,
            },
            at(1),
        )
        .await
        .unwrap();
    let own = sign(&claims("cust-1", "consent:write consent:read"));
    let other = sign(&claims("cust-2", "consent:write consent:read"));
    let write_only = sign(&claims("cust-1", "consent:write"));
    for path in ["preferences", "consent-records"] {
        let uri = format!("/api/v1/customers/cust-1/{path}");
        let (status, body) = t.get_with(&uri, Some(&own)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let (status, body) = t.get_with(&uri, Some(&t.admin_key)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        for (what, credential, want) in [
            (
                "another customer's token",
                Some(other.as_str()),
                StatusCode::FORBIDDEN,
            ),
            (
                "a token without consent:read",
                Some(write_only.as_str()),
                StatusCode::FORBIDDEN,
            ),
            (
                "a partner key",
                Some(partner_key.as_str()),
                StatusCode::FORBIDDEN,
            ),
            ("nothing", None, StatusCode::UNAUTHORIZED),
        ] {
            let (status, body) = t.get_with(&uri, credential).await;
            assert_eq!(status, want, "{path} with {what}: {body}");
            assert!(body.get("preferences").is_none() && body.get("records").is_none());
        }
    }
}

#[tokio::test]
async fn api_keys_can_be_added_used_listed_and_revoked() {
    let t = TestApp::new().await;
    let db = &t.state.db;
    let (key, text) = db
        .add_key(
            &consent_host::keys::KeySpec {
                role: Role::Partner,
                partner_id: Some("alpha".to_owned()),
                label: Some("Alpha's CRM".to_owned()),
            },
            at(1),
        )
        .await
        .unwrap();
    assert!(text.starts_with("cpk_") && text.contains(&key.id));
    assert_eq!(db.find_key(&text).await.unwrap().as_ref(), Some(&key));
    // Only a hash is stored: the secret part is nowhere in the file
    // (on PostgreSQL, tests/postgres.rs checks the table).
    let secret = text.rsplit('_').next().unwrap();
    if !t.on_postgres() {
        let file = std::fs::read(&t.db_path).unwrap();
        let wal = std::fs::read(t.db_path.with_extension("db-wal")).unwrap_or_default();
        for bytes in [&file, &wal] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
        }
    }
    let listed = db.list_keys().await.unwrap();
    assert!(listed
        .iter()
        .any(|k| k.id == key.id && k.revoked_at.is_none()));

    let uri = "/api/v1/ledger/head";
    let (status, _) = t.get_with(uri, Some(&text)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a partner key is not admin");
    let (status, body) = t.get_with(uri, Some(&t.admin_key)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    assert!(db.revoke_key(&key.id, at(2)).await.unwrap());
    assert!(
        !db.revoke_key(&key.id, at(3)).await.unwrap(),
        "revoked once"
    );
    assert_eq!(db.find_key(&text).await.unwrap(), None);
    let (status, _) = t.get_with(uri, Some(&text)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A key with the right id and a wrong secret is refused too.
    let forged = format!("cpk_{}_{}", key.id, "f".repeat(64));
    assert_eq!(db.find_key(&forged).await.unwrap(), None);
}

#[tokio::test]
async fn api_keys_cannot_write_records() {
    let t = TestApp::new().await;
    let (status, body) = t
        .post_with(
            &body_of(&[record(1, "cust-1", "alpha", Given, 1)]),
            Some(&t.admin_key),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(t.row_count().await, 0);
}

#[tokio::test]
async fn writes_over_the_token_rate_are_429_with_retry_after() {
    let t = TestApp::with_config(|c, _| c.write_rate_per_token = 2).await;
    let token = sign(&claims("cust-1", "consent:write"));
    for n in 1..=2 {
        let (status, body) = t
            .post_with(
                &body_of(&[record(n, "cust-1", "alpha", Given, 1)]),
                Some(&token),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, headers, body) = t
        .post_bytes(
            serde_json::to_vec(&body_of(&[record(3, "cust-1", "alpha", Given, 1)])).unwrap(),
            "application/json",
            Some(&token),
        )
        .await;
    assert_error(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(t.row_count().await, 2);
    // Another patron's token is not held back by this one.
    let (status, _) = t
        .post_with(
            &body_of(&[record(4, "cust-2", "alpha", Given, 1)]),
            Some(&sign(&claims("cust-2", "consent:write"))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_demo_token_endpoint_exists_only_in_demo_mode() {
    let request = || {
        Request::post("/demo/token")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"venueId": "lyric", "customerId": "cust-1", "ttlSeconds": 60}).to_string(),
            ))
            .unwrap()
    };
    let t = TestApp::new().await;
    let (status, _, _) = t.send(request()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let t = TestApp::with_config(|c, _| {
        c.demo = true;
        c.token_secret = Some(Secret(SECRET.to_owned()));
    })
    .await;
    let (status, _, body) = t.send(request()).await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_slice(&body).unwrap();
    let token = body["token"].as_str().unwrap();
    let (status, body) = t
        .post_with(
            &body_of(&[record(1, "cust-1", "alpha", Given, 1)]),
            Some(token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = t
        .get_with("/api/v1/customers/cust-1/preferences", Some(token))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn the_host_needs_a_way_to_verify_tokens_unless_in_demo_mode() {
    use consent_host::{AppState, Config, Db};
    let dir = tempfile::tempdir().unwrap();
    let db = || Db::open(&dir.path().join("c.db")).unwrap();
    let venue = || Some("lyric".to_owned());
    let err = AppState::new(
        db(),
        Config {
            venue: venue(),
            ..Config::default()
        },
    )
    .err()
    .expect("refused");
    assert!(err.0.contains("--token-secret"), "{err}");
    // Every host serves one venue, named on its command line.
    let no_venue = Config {
        token_secret: Some(Secret(crate::common::SECRET.into())),
        ..Config::default()
    };
    let err = AppState::new(db(), no_venue).err().expect("refused");
    assert!(err.0.contains("--venue"), "{err}");
    let short = Config {
        token_secret: Some(Secret("short".into())),
        venue: venue(),
        ..Config::default()
    };
    let err = AppState::new(db(), short).err().expect("refused");
    assert!(err.0.contains("at least 32"), "{err}");
    let demo = Config {
        demo: true,
        ..Config::default()
    };
    let state = AppState::new(db(), demo).expect("demo starts");
    assert!(state.demo_signer.is_some());
}
