//! Extractors for what handlers take from a request besides the caller
//! (`auth::Caller`): ids from the path, and a JSON body together with its
//! caller, each checked once, with the API's own error as their
//! rejection, so handlers receive valid values only.

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use consent_core::record::MAX_CUSTOMER_ID_BYTES;
use consent_core::wire::{PromptRenderRequestV1, RecordBatchV1};

use crate::api::{is_json_content_type, parse_strictly, MAX_BODY_BYTES};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::limits::Access;
use crate::AppState;

/// `{customer_id}` from the path: valid UTF-8, not blank, at most
/// [`MAX_CUSTOMER_ID_BYTES`] (the limit records are held to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerId(pub String);

/// `{partner_id}` from the path, under the same rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnerId(pub String);

/// The single id in the path, or the 400 naming what it is.
async fn path_id<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
    what: &str,
    code: &'static str,
) -> Result<String, ApiError> {
    let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, code, message);
    let Path(id) = Path::<String>::from_request_parts(parts, state)
        .await
        .map_err(|_| bad(format!("the {what} id is not valid UTF-8")))?;
    if id.trim().is_empty() || id.len() > MAX_CUSTOMER_ID_BYTES {
        return Err(bad(format!(
            "the {what} id must be 1 to {MAX_CUSTOMER_ID_BYTES} bytes"
        )));
    }
    Ok(id)
}

impl<S: Send + Sync> FromRequestParts<S> for CustomerId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        path_id(parts, state, "customer", "invalid_customer_id")
            .await
            .map(CustomerId)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PartnerId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        path_id(parts, state, "partner", "invalid_partner_id")
            .await
            .map(PartnerId)
    }
}

/// A customer whose data the caller may read: the id from the path, once
/// the caller is known and allowed (the patron's own token with
/// `consent:read`, or an admin key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadableCustomer(pub String);

impl FromRequestParts<AppState> for ReadableCustomer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let CustomerId(id) = CustomerId::from_request_parts(parts, state).await?;
        caller.may_read_customer(&id)?;
        Ok(ReadableCustomer(id))
    }
}

/// A JSON body a caller may send: how a failure to read it is named.
pub trait JsonRequest: serde::de::DeserializeOwned + serde::Serialize {
    /// The error code of a body whose shape is wrong (422).
    const INVALID: &'static str;
    /// How to fit under [`MAX_BODY_BYTES`], for the 413's message.
    const SMALLER: &'static str;
}

impl JsonRequest for RecordBatchV1 {
    const INVALID: &'static str = "invalid_record";
    const SMALLER: &'static str = "send fewer records per batch";
}

impl JsonRequest for consent_core::wire::ContactV1 {
    const INVALID: &'static str = "invalid_contact";
    const SMALLER: &'static str = "send a shorter contact";
}

impl JsonRequest for consent_core::wire::ActivityV1 {
    const INVALID: &'static str = "invalid_activity";
    const SMALLER: &'static str = "send one activity";
}

impl JsonRequest for PromptRenderRequestV1 {
    const INVALID: &'static str = "invalid_request";
    const SMALLER: &'static str = "send a smaller config";
}

/// A JSON body and the caller who sent it. In this order: the caller (the
/// [`Caller`] extractor: the address's limit, the credential, its limit),
/// before a byte of the body is read; the content type; the body, at most
/// [`MAX_BODY_BYTES`]; then a strict parse (unknown fields, arrays for
/// objects and duplicate keys refused, every problem with its JSON path).
pub struct Authorized<T> {
    pub caller: Caller,
    pub body: T,
}

impl<T: JsonRequest> FromRequest<AppState> for Authorized<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = req.into_parts();
        let caller = Caller::from_request_parts(&mut parts, state).await?;
        if !is_json_content_type(&parts.headers) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "the body must be JSON sent as Content-Type: application/json",
            ));
        }
        let body = read_json(body).await?;
        Ok(Authorized { caller, body })
    }
}

/// A JSON body of at most [`MAX_BODY_BYTES`], read strictly.
async fn read_json<T: JsonRequest>(body: axum::body::Body) -> Result<T, ApiError> {
    let bytes = read_body(body, T::SMALLER).await?;
    parse_strictly(&bytes, T::INVALID)
}

/// A body of at most [`MAX_BODY_BYTES`]: a larger one is a 413 saying how
/// to fit (`smaller`), one that breaks off a 400.
pub async fn read_body(
    body: axum::body::Body,
    smaller: &str,
) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the body is larger than {MAX_BODY_BYTES} bytes; {smaller}"),
                )
            } else {
                tracing::debug!(error = %e, "could not read a request body");
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed_json",
                    "the request body could not be read",
                )
            }
        })
}

/// `POST /api/v1/prompt/fragment`: the patron's own browser asks for its
/// first question as HTML while the wasm downloads. It asks with a CORS
/// "simple" request (a `text/plain` body and no `Authorization` header),
/// so no preflight costs the patron a round trip before it: the
/// credential is the checkout token the config already carries
/// (`config.token`), and only a checkout token (never an API key, which
/// has no place in a page) is taken.
pub struct PageRender {
    pub caller: Caller,
    pub body: PromptRenderRequestV1,
}

impl FromRequest<AppState> for PageRender {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let access = state.limits.check_request(&parts)?;
        let media = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase());
        if !matches!(media.as_deref(), Some("text/plain" | "application/json")) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "the body must be JSON sent as Content-Type: text/plain (or application/json)",
            ));
        }
        let body: PromptRenderRequestV1 = read_json(body).await?;
        let caller = checkout_caller(state, access, &body.config).await?;
        Ok(PageRender { caller, body })
    }
}

/// The caller a page's config speaks for: its checkout token
/// (`config.token`), and only a checkout token, never an API key, which has
/// no place in a page.
pub async fn checkout_caller(
    state: &AppState,
    access: Access,
    config: &consent_core::wire::ConfigV1,
) -> Result<Caller, ApiError> {
    let token = config
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("the config carries no checkout token (config.token)")
                .at("config.token")
        })?;
    if crate::keys::looks_like_key(token) {
        return Err(ApiError::unauthorized(
            "an API key must never be sent from a page: give the config a checkout token",
        )
        .at("config.token"));
    }
    Caller::from_credential(state, access, token).await
}
