//! Extractors for what handlers take from a request besides the caller
//! (`auth::Caller`): ids from the path, checked once, with the API's own
//! error as their rejection, so handlers receive valid values only.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::StatusCode;
use consent_core::record::MAX_CUSTOMER_ID_BYTES;

use crate::error::ApiError;

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
