//! HTTP handlers for `/api/v1` and `/healthz`, and the JSON error type.

use std::fmt;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use consent_core::record::check_record;
use consent_core::wire::{ConsentRecordV1, ErrorBodyV1, ErrorV1, PreferencesV1, RecordBatchV1};
use serde::Serialize;

use crate::db::{BatchOutcome, DbError, NewRecord};
use crate::{sha256_hex, AppState};

/// Largest accepted request body: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most records in one batch.
pub const MAX_BATCH_RECORDS: usize = 500;
/// Longest accepted customer id, in a path or in a record.
use consent_core::record::MAX_CUSTOMER_ID_BYTES as MAX_CUSTOMER_ID_LEN;

/// An error answer: `{"error": {"code", "message", "field"}}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    fn at(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_record", message).at(field)
    }

    /// Logs the cause and answers a bare 500: no internals reach the client.
    pub fn internal(context: &str, cause: &dyn fmt::Display) -> Self {
        tracing::error!(error = %cause, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the request was not completed",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBodyV1 {
            error: ErrorV1 {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field,
            },
        };
        (
            self.status,
            [(header::CACHE_CONTROL, "no-store")],
            Json(body),
        )
            .into_response()
    }
}

/// A JSON answer that no cache keeps (it holds personal data).
fn no_store<T: Serialize>(status: StatusCode, body: T) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// Runs blocking database work off the async runtime.
async fn blocking<T: Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> Result<T, DbError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ApiError::internal(what, &e)),
        Err(join) => Err(ApiError::internal(what, &join)),
    }
}

fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// Parses the body; syntax errors are 400, shape errors 422 with a JSON path.
fn parse_batch(bytes: &[u8]) -> Result<RecordBatchV1, ApiError> {
    use serde_json::error::Category;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let batch: RecordBatchV1 = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            Category::Data => {
                let err = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_record",
                    inner.to_string(),
                );
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
    Ok(batch)
}

/// Checks every record and turns it into a row.
fn prepare(batch: RecordBatchV1) -> Result<Vec<NewRecord>, ApiError> {
    if batch.records.is_empty() {
        return Err(ApiError::invalid(
            "records",
            "must hold at least one record",
        ));
    }
    if batch.records.len() > MAX_BATCH_RECORDS {
        return Err(ApiError::invalid(
            "records",
            format!(
                "holds {} records; at most {MAX_BATCH_RECORDS} per batch",
                batch.records.len()
            ),
        ));
    }
    batch
        .records
        .into_iter()
        .enumerate()
        .map(|(i, record)| {
            if record.received_at.is_some() {
                return Err(ApiError::invalid(
                    format!("records[{i}].receivedAt"),
                    "must not be sent: the backend sets receivedAt when it stores the record",
                ));
            }
            check_record(&record, sha256_hex)
                .map_err(|e| ApiError::invalid(format!("records[{i}].{}", e.field), e.message))?;
            new_record(record).map_err(|e| ApiError::internal("serialising a record", &e))
        })
        .collect()
}

fn new_record(record: ConsentRecordV1) -> Result<NewRecord, serde_json::Error> {
    // `receivedAt` is None here, so it is left out: the canonical form is
    // the record exactly as the client sent it (normalised by the types).
    let body = serde_json::to_string(&record)?;
    Ok(NewRecord {
        content_sha256: sha256_hex(&body),
        body,
        record_id: record.record_id,
        customer_id: record.customer_id,
        partner_id: record.partner.id,
        decided_at: record.decided_at,
    })
}

/// `POST /api/v1/consent-records`.
pub async fn post_records(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    if !is_json_content_type(&headers) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "the body must be JSON sent as Content-Type: application/json",
        ));
    }
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "the body is larger than {MAX_BODY_BYTES} bytes; send fewer records per batch"
                ),
            )
        } else {
            tracing::debug!(error = %rejection, "could not read a request body");
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "the request body could not be read",
            )
        }
    })?;
    if let Some(key) = headers.get("idempotency-key") {
        // Accepted for clients that always send one; record ids are what
        // make a retry safe, so the key is neither stored nor required.
        tracing::debug!(idempotency_key = ?key, "batch with an idempotency key");
    }
    let records = prepare(parse_batch(&bytes)?)?;
    let count = records.len();
    let received_at = (state.clock)();
    let db = state.db.clone();
    let outcome = blocking("storing a batch", move || {
        let outcome = db.insert_batch(&records, received_at)?;
        Ok(match outcome {
            BatchOutcome::Conflict { index } => Err((index, records[index].record_id.clone())),
            BatchOutcome::Stored(stored) => Ok(stored),
        })
    })
    .await?;
    match outcome {
        Ok(stored) => {
            tracing::info!(
                records = count,
                stored = stored.stored.len(),
                duplicates = stored.duplicates.len(),
                "batch stored"
            );
            Ok(no_store(StatusCode::CREATED, stored))
        }
        Err((index, record_id)) => {
            tracing::info!(
                records = count,
                index,
                "batch refused: record id reused with different content"
            );
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "record_id_conflict",
                format!("record {record_id} already exists with different content; nothing in this batch was stored"),
            )
            .at(format!("records[{index}].recordId")))
        }
    }
}

fn customer_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(id) = path.map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_customer_id",
            "the customer id is not valid UTF-8",
        )
    })?;
    if id.trim().is_empty() || id.len() > MAX_CUSTOMER_ID_LEN {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_customer_id",
            format!("the customer id must be 1 to {MAX_CUSTOMER_ID_LEN} bytes"),
        ));
    }
    Ok(id)
}

/// `GET /api/v1/customers/{customerId}/preferences`.
pub async fn get_preferences(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let customer_id = customer_id(path)?;
    let db = state.db.clone();
    let id = customer_id.clone();
    let preferences = blocking("reading preferences", move || db.preferences(&id)).await?;
    Ok(no_store(
        StatusCode::OK,
        PreferencesV1 {
            customer_id,
            preferences,
        },
    ))
}

/// `GET /api/v1/customers/{customerId}/consent-records`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerRecordsV1 {
    pub customer_id: String,
    pub records: Vec<ConsentRecordV1>,
}

pub async fn get_records(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let customer_id = customer_id(path)?;
    let db = state.db.clone();
    let id = customer_id.clone();
    let records = blocking("reading records", move || db.records_for(&id)).await?;
    Ok(no_store(
        StatusCode::OK,
        CustomerRecordsV1 {
            customer_id,
            records,
        },
    ))
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
    let db = state.db.clone();
    match tokio::task::spawn_blocking(move || db.ping()).await {
        Ok(Ok(())) => no_store(StatusCode::OK, serde_json::json!({ "status": "ok" })),
        Ok(Err(e)) => unavailable(&e),
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
