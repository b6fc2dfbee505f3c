//! `POST /demo/token`: demo mode's own checkout tokens.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use consent_core::record::MAX_CUSTOMER_ID_BYTES as MAX_CUSTOMER_ID_LEN;
use serde::Serialize;

use crate::api::{no_store, not_found};
use crate::error::ApiError;
use crate::AppState;

/// `POST /demo/token` (only with `--demo`): a checkout token for the demo's
/// own pages, signed with the demo secret.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DemoTokenRequestV1 {
    pub venue_id: String,
    pub customer_id: String,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default)]
    pub basket: Option<String>,
    #[serde(default)]
    pub ttl_seconds: Option<i64>,
    /// The patron's contact points, as a venue's server would sign them.
    #[serde(default)]
    pub contact: Option<consent_core::wire::ContactV1>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DemoTokenV1 {
    pub token: String,
    pub expires_at: consent_core::Timestamp,
}

pub async fn post_demo_token(
    State(state): State<AppState>,
    body: Result<Json<DemoTokenRequestV1>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Some(signer) = state.demo_signer.as_ref() else {
        return Err(not_found().await);
    };
    let Json(req) = body.map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            e.body_text(),
        )
    })?;
    for (field, value) in [("venueId", &req.venue_id), ("customerId", &req.customer_id)] {
        if value.trim().is_empty() || value.len() > MAX_CUSTOMER_ID_LEN {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                format!("must be 1 to {MAX_CUSTOMER_ID_LEN} bytes"),
            )
            .at(field));
        }
    }
    if req.venue_id != state.tokens.venue() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!("this demo host serves the venue {}", state.tokens.venue()),
        )
        .at("venueId"));
    }
    let ttl = req.ttl_seconds.unwrap_or(900);
    if !(1..=86_400).contains(&ttl) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "must be from 1 to 86400 seconds",
        )
        .at("ttlSeconds"));
    }
    let now = (state.clock)();
    let iat = now.unix_millis().div_euclid(1000);
    let claims = crate::auth::Claims {
        iss: req.venue_id,
        sub: req.customer_id,
        aud: crate::auth::AUDIENCE.to_owned(),
        iat,
        exp: iat + ttl,
        scope: req
            .scope
            .unwrap_or_else(|| "consent:write consent:read".to_owned()),
        nbf: None,
        basket: req.basket,
        operator: req.operator,
        contact: req.contact,
        activity: None,
    };
    Ok(no_store(
        StatusCode::OK,
        DemoTokenV1 {
            token: signer.sign(&claims),
            expires_at: consent_core::Timestamp::from_unix_millis((iat + ttl) * 1000),
        },
    ))
}
