//! What every handler shares: the body limits, strict JSON parsing, the
//! `no-store` answer; and the small handlers of the host itself (health,
//! the frame's settings, the fallbacks). The API's resources have their
//! handlers in [`crate::routes`].

use std::fmt;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::db::DbError;
pub use crate::error::ApiError;
use crate::AppState;

/// Largest accepted request body: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most records in one batch.
pub const MAX_BATCH_RECORDS: usize = 500;
/// A JSON answer that no cache keeps (it holds personal data).
pub(crate) fn no_store<T: Serialize>(status: StatusCode, body: T) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// A storage failure as a bare 500, its cause logged.
pub(crate) fn storage(what: &'static str) -> impl FnOnce(DbError) -> ApiError {
    move |e| ApiError::internal(what, &e)
}

pub(crate) fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// Parses a JSON body into a wire type; syntax errors are 400, shape errors
/// 422 (`code`) with a JSON path.
pub(crate) fn parse_strictly<T: serde::de::DeserializeOwned + Serialize>(
    bytes: &[u8],
    code: &'static str,
) -> Result<T, ApiError> {
    use serde_json::error::Category;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let batch: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            Category::Data => {
                let err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, inner.to_string());
                if path == "." {
                    err
                } else {
                    err.at(path)
                }
            }
            Category::Syntax | Category::Eof | Category::Io => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("malformed JSON: {inner}"),
            ),
        }
    })?;
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("malformed JSON: {e}"),
        )
    })?;
    // serde accepts a struct written as a positional array, and drops
    // unknown fields of types that do not deny them. The host stores
    // exactly what it was sent, so it refuses what it would not write back.
    let sent: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string()))?;
    let read =
        serde_json::to_value(&batch).map_err(|e| ApiError::internal("re-reading a batch", &e))?;
    if let Some((path, message)) = first_unread(&sent, &read, String::new()) {
        let err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message);
        return Err(if path.is_empty() { err } else { err.at(path) });
    }
    Ok(batch)
}

/// The first place where `sent` holds something that reading it into the
/// wire types did not keep: an object sent as an array, or a field the
/// types do not have. A field sent as `null` that the types leave out is
/// the same as absent.
fn first_unread(
    sent: &serde_json::Value,
    read: &serde_json::Value,
    path: String,
) -> Option<(String, String)> {
    use serde_json::Value;
    match (sent, read) {
        (Value::Array(_), Value::Object(_)) => {
            Some((path, "must be a JSON object, not an array".to_owned()))
        }
        (Value::Object(s), Value::Object(r)) => s.iter().find_map(|(key, value)| {
            let at = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            match r.get(key) {
                Some(inner) => first_unread(value, inner, at),
                None if value.is_null() => None,
                None => Some((at, "is not a known field".to_owned())),
            }
        }),
        (Value::Array(s), Value::Array(r)) => s
            .iter()
            .zip(r)
            .enumerate()
            .find_map(|(i, (a, b))| first_unread(a, b, format!("{path}[{i}]"))),
        _ => None,
    }
}

/// `GET /consent-prompt/frame.json`: the settings of the iframe prompt.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameSettingsV1 {
    /// The exact origins whose postMessages `frame.html` accepts, and which
    /// may embed it (its `frame-ancestors`).
    pub allowed_parent_origins: Vec<String>,
}

pub async fn frame_settings(State(state): State<AppState>) -> Response {
    no_store(
        StatusCode::OK,
        FrameSettingsV1 {
            allowed_parent_origins: state.config.frame_parent_origins(),
        },
    )
}

/// `GET /healthz`.
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => no_store(StatusCode::OK, serde_json::json!({ "status": "ok" })),
        Err(e) => unavailable(&e),
    }
}

fn unavailable(cause: &dyn fmt::Display) -> Response {
    tracing::error!(error = %cause, "health check failed");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the database is not answering",
    )
    .into_response()
}

/// Unknown paths under `/api`.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API endpoint")
}

/// Known paths, wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that method",
    )
}

/// A panic inside a handler: logged, answered as a bare 500.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    ApiError::internal("a request handler panicked", &what).into_response()
}
