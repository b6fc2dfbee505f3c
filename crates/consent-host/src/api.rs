//! HTTP handlers for `/api/v1` and `/healthz`, and the JSON error type.

use std::fmt;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use consent_core::record::{check_record, check_timing};
use consent_core::wire::{ConsentRecordV1, PreferencesV1, RecordBatchV1};
use serde::Serialize;

use crate::auth::Caller;
use crate::db::{BatchOutcome, DbError, NewRecord};
pub use crate::error::ApiError;
use crate::extract::{CustomerId, PartnerId};
use crate::{sha256_hex, AppState};

/// Largest accepted request body: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most records in one batch.
pub const MAX_BATCH_RECORDS: usize = 500;
/// Longest accepted customer id, in a path or in a record.
use consent_core::record::MAX_CUSTOMER_ID_BYTES as MAX_CUSTOMER_ID_LEN;

/// A JSON answer that no cache keeps (it holds personal data).
pub(crate) fn no_store<T: Serialize>(status: StatusCode, body: T) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// A storage failure as a bare 500, its cause logged.
fn storage(what: &'static str) -> impl FnOnce(DbError) -> ApiError {
    move |e| ApiError::internal(what, &e)
}

pub(crate) fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// Parses a batch of records.
fn parse_batch(bytes: &[u8]) -> Result<RecordBatchV1, ApiError> {
    parse_strictly(bytes, "invalid_record")
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

/// Checks every record, and that the caller may write it, and turns it
/// into a row. `received_at` is the host's clock now.
fn prepare(
    batch: RecordBatchV1,
    caller: &Caller,
    received_at: consent_core::Timestamp,
) -> Result<Vec<NewRecord>, ApiError> {
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
                .and_then(|()| check_timing(&record, received_at))
                .map_err(|e| ApiError::invalid(format!("records[{i}].{}", e.field), e.message))?;
            caller.may_write(i, &record)?;
            Ok(NewRecord { record })
        })
        .collect()
}

/// The body of a JSON `POST`, read only now: the caller was checked by
/// the [`Caller`] extractor (address limit, credential, its limit) before
/// a byte of it was read. Then the content type, then at most
/// [`MAX_BODY_BYTES`] (`advice` ends the 413's message).
pub(crate) async fn limited_json_body(
    caller: Result<Caller, ApiError>,
    headers: &HeaderMap,
    body: axum::body::Body,
    advice: &str,
) -> Result<(Caller, Bytes), ApiError> {
    let caller = caller?;
    if !is_json_content_type(headers) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "the body must be JSON sent as Content-Type: application/json",
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the body is larger than {MAX_BODY_BYTES} bytes; {advice}"),
                )
            } else {
                tracing::debug!(error = %e, "could not read a request body");
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed_json",
                    "the request body could not be read",
                )
            }
        })?;
    Ok((caller, bytes))
}

/// `POST /api/v1/consent-records`.
pub async fn post_records(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let (caller, bytes) =
        limited_json_body(caller, &headers, body, "send fewer records per batch").await?;
    if let Some(key) = headers.get("idempotency-key") {
        // Accepted for clients that always send one; record ids are what
        // make a retry safe, so the key is neither stored nor required.
        tracing::debug!(idempotency_key = ?key, "batch with an idempotency key");
    }
    let received_at = (state.clock)();
    let records = prepare(parse_batch(&bytes)?, &caller, received_at)?;
    let count = records.len();
    let ids: Vec<String> = records.iter().map(|r| r.record.record_id.clone()).collect();
    let outcome = match state
        .db
        .insert_batch(records, received_at)
        .await
        .map_err(storage("storing a batch"))?
    {
        BatchOutcome::Conflict { index } => Err((index, ids[index].clone())),
        BatchOutcome::Stored(stored) => Ok(stored),
    };
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

/// `GET /api/v1/customers/{customerId}/preferences`.
pub async fn get_preferences(
    State(state): State<AppState>,
    caller: Caller,
    CustomerId(customer_id): CustomerId,
) -> Result<Response, ApiError> {
    caller.may_read_customer(&customer_id)?;
    let preferences = state
        .db
        .preferences(&customer_id)
        .await
        .map_err(storage("reading preferences"))?;
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
    caller: Caller,
    CustomerId(customer_id): CustomerId,
) -> Result<Response, ApiError> {
    caller.may_read_customer(&customer_id)?;
    let records = state
        .db
        .records_for(&customer_id)
        .await
        .map_err(storage("reading records"))?;
    Ok(no_store(
        StatusCode::OK,
        CustomerRecordsV1 {
            customer_id,
            records,
        },
    ))
}

/// `GET /api/v1/customers/{customerId}/receipt`: the patron's copy of
/// every current answer (`consent-receipt/1`).
pub async fn get_receipt(
    State(state): State<AppState>,
    caller: Caller,
    CustomerId(customer_id): CustomerId,
) -> Result<Response, ApiError> {
    caller.may_read_customer(&customer_id)?;
    let records = state
        .db
        .current_records(&customer_id)
        .await
        .map_err(storage("reading a receipt"))?;
    Ok(no_store(
        StatusCode::OK,
        consent_core::wire::ReceiptV1 {
            schema: consent_core::wire::RECEIPT_SCHEMA_V1.to_owned(),
            customer_id,
            generated_at: (state.clock)(),
            records,
        },
    ))
}

/// `DELETE /api/v1/customers/{customerId}`: erases the patron (admin).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErasedV1 {
    pub customer_id: String,
    /// How many records the patron had; they stay, unlinkable to anyone.
    pub records: u64,
    pub at: consent_core::Timestamp,
}

pub async fn delete_customer(
    State(state): State<AppState>,
    caller: Caller,
    CustomerId(customer_id): CustomerId,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let at = (state.clock)();
    let by = caller.audit_name();
    let records = state
        .db
        .erase(
            vec![customer_id.clone()],
            crate::db::ErasureKind::Request,
            &by,
            serde_json::json!({}),
            at,
        )
        .await
        .map_err(storage("erasing a customer"))?;
    tracing::info!(records, "customer erased on request");
    Ok(no_store(
        StatusCode::OK,
        ErasedV1 {
            customer_id,
            records,
            at,
        },
    ))
}

/// One contact in a partner export: who agreed, and the proof.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerContactV1 {
    pub customer_id: String,
    pub record_id: String,
    pub decided_at: consent_core::Timestamp,
    pub received_at: Option<consent_core::Timestamp>,
    pub channels: Vec<consent_core::domain::Channel>,
    pub notice_id: String,
    pub notice_version: u32,
    pub notice_language: String,
    pub notice_sha256: String,
}

impl PartnerContactV1 {
    fn of(r: ConsentRecordV1) -> Self {
        PartnerContactV1 {
            customer_id: r.customer_id,
            record_id: r.record_id,
            decided_at: r.decided_at,
            received_at: r.received_at,
            channels: r.channels,
            notice_id: r.notice.id,
            notice_version: r.notice.version,
            notice_language: r.notice.language,
            notice_sha256: r.notice.sha256,
        }
    }

    /// The CSV columns, in order.
    const CSV_HEADER: &'static str = "customerId,recordId,decidedAt,receivedAt,channels,noticeId,noticeVersion,noticeLanguage,noticeSha256\r\n";

    fn csv_row(&self, out: &mut String) {
        let channels: Vec<&str> = self.channels.iter().map(|c| c.as_str()).collect();
        let cells = [
            csv_cell(&self.customer_id),
            csv_cell(&self.record_id),
            self.decided_at.to_string(),
            self.received_at.map(|t| t.to_string()).unwrap_or_default(),
            csv_cell(&channels.join(" ")),
            csv_cell(&self.notice_id),
            self.notice_version.to_string(),
            csv_cell(&self.notice_language),
            self.notice_sha256.clone(),
        ];
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
}

/// One CSV cell (RFC 4180), safe in a spreadsheet whatever its locale.
///
/// - A cell that a spreadsheet could read as a formula once it trims
///   leading white space (any Unicode white space: space, tab, line feed,
///   no-break space, …) is prefixed with `'`: one that starts, after that
///   white space, with `=`, `+`, `-`, `@` or their full-width forms
///   (`＝ ＋ － ＠`), or with a tab or carriage return.
/// - Quoted when it holds a quote, a line break, a tab, or a list
///   separator of any locale (`,` and `;`), so a `;`-locale spreadsheet
///   cannot split it into a new cell that starts with `=`.
pub fn csv_cell(value: &str) -> String {
    const FORMULA: [char; 8] = [
        '=', '+', '-', '@', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
    ];
    let trimmed = value.trim_start();
    let formula = trimmed.starts_with(FORMULA) || value.starts_with(['\t', '\r', '\n']);
    let guarded = if formula {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains([',', ';', '"', '\n', '\r', '\t']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// Query of `GET /api/v1/partners/{partnerId}/contacts`.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ContactsQuery {
    /// Only contacts whose answer covers this channel.
    pub channel: Option<consent_core::domain::Channel>,
    /// Only answers the host received at or after this time.
    pub since: Option<String>,
    /// `csv` or `json` (else by `Accept`).
    pub format: Option<String>,
}

/// What a contacts export keeps.
struct ContactFilter {
    channel: Option<consent_core::domain::Channel>,
    since: Option<consent_core::Timestamp>,
}

impl ContactFilter {
    fn from_query(q: &ContactsQuery) -> Result<Self, ApiError> {
        let since = match &q.since {
            Some(s) => Some(consent_core::Timestamp::parse_rfc3339(s).map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    "since must be an RFC 3339 time, e.g. 2026-11-01T00:00:00.000Z",
                )
                .at("since")
            })?),
            None => None,
        };
        Ok(ContactFilter {
            channel: q.channel,
            since,
        })
    }

    fn keeps(&self, r: &ConsentRecordV1) -> bool {
        self.channel.is_none_or(|c| r.channels.contains(&c))
            && self
                .since
                .is_none_or(|since| r.received_at.is_some_and(|t| t >= since))
    }
}

fn wants_csv(q: &ContactsQuery, headers: &HeaderMap) -> Result<bool, ApiError> {
    match q.format.as_deref() {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "format must be csv or json",
        )
        .at("format")),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv"))),
    }
}

/// Turns the records the storage sends into the export's body chunks.
/// Owns `records`, so dropping this future (it returned, or its time ran
/// out) drops the receiver and stops the storage's reader. `None`: the
/// client went away. Otherwise the last, unsent part of the body and the
/// number of contacts.
async fn write_contacts(
    mut records: tokio::sync::mpsc::Receiver<ConsentRecordV1>,
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    filter: ContactFilter,
    csv: bool,
    partner: String,
    now: consent_core::Timestamp,
) -> Option<(String, u64)> {
    const CHUNK: usize = 64 * 1024;
    let mut buf = String::with_capacity(CHUNK + 1024);
    let mut first = true;
    if csv {
        buf.push_str(PartnerContactV1::CSV_HEADER);
    } else {
        buf.push_str(&format!(
            "{{\"partnerId\":{},\"generatedAt\":\"{now}\",\"contacts\":[",
            serde_json::Value::String(partner)
        ));
    }
    let mut count = 0u64;
    loop {
        // A client gone while every record is filtered out is noticed too.
        let record = tokio::select! {
            next = records.recv() => match next {
                Some(record) => record,
                None => break,
            },
            () = tx.closed() => return None,
        };
        if !filter.keeps(&record) {
            continue;
        }
        let contact = PartnerContactV1::of(record);
        if csv {
            contact.csv_row(&mut buf);
        } else {
            if !first {
                buf.push(',');
            }
            first = false;
            buf.push_str(&serde_json::to_string(&contact).ok()?);
        }
        count += 1;
        if buf.len() >= CHUNK {
            let chunk = Bytes::from(std::mem::take(&mut buf));
            if tx.send(Ok(chunk)).await.is_err() {
                return None;
            }
        }
    }
    Some((buf, count))
}

/// `GET /api/v1/partners/{partnerId}/contacts`: the customers whose current
/// answer for the partner is a `given` that has not lapsed, with the proof
/// of each, as JSON or CSV, streamed as it is read.
pub async fn get_partner_contacts(
    State(state): State<AppState>,
    caller: Caller,
    PartnerId(partner): PartnerId,
    query: Result<axum::extract::Query<ContactsQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.may_read_partner(&partner)?;
    let axum::extract::Query(query) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let filter = ContactFilter::from_query(&query)?;
    let csv = wants_csv(&query, &headers)?;
    let now = (state.clock)();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    // The storage sends current records into `records`; the writer turns
    // them into body chunks. The writer owns the receiving end, so the
    // moment it stops (the client went away, or the export's time is up)
    // the receiver is dropped and the storage stops reading and releases
    // its connection and snapshot.
    let (records_tx, records) = tokio::sync::mpsc::channel::<ConsentRecordV1>(256);
    let db = state.db.clone();
    let partner_for_body = partner.clone();
    let limit = Duration::from_secs(state.config.export_timeout_secs.max(1));
    tokio::spawn(async move {
        let reading = db.partner_contacts(&partner_for_body, now, records_tx);
        let body_tx = tx.clone();
        let writing = tokio::time::timeout(
            limit,
            write_contacts(records, body_tx, filter, csv, partner_for_body.clone(), now),
        );
        let (read, written) = tokio::join!(reading, writing);
        match (read, written) {
            (Ok(()), Ok(Some((mut buf, count)))) => {
                if !csv {
                    buf.push_str("]}");
                }
                let _ = tx.send(Ok(Bytes::from(buf))).await;
                tracing::info!(contacts = count, "partner export");
            }
            (Ok(()), Ok(None)) => tracing::info!("partner export: the client went away"),
            (_, Err(_elapsed)) => {
                tracing::warn!(
                    limit_secs = limit.as_secs(),
                    "partner export stopped: it took longer than --export-timeout-secs"
                );
                let _ = tx
                    .send(Err(std::io::Error::other("the export took too long")))
                    .await;
            }
            (Err(e), _) => {
                // The status is already sent: cut the body short, so the
                // client sees a broken transfer rather than a short list.
                tracing::error!(error = %e, "partner export failed");
                let _ = tx
                    .send(Err(std::io::Error::other("the export failed")))
                    .await;
            }
        }
    });
    let mut res = Response::new(axum::body::Body::from_stream(
        tokio_stream::wrappers::ReceiverStream::new(rx),
    ));
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if csv {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        let filename: String = partner
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if let Ok(v) =
            HeaderValue::from_str(&format!("attachment; filename=\"{filename}-contacts.csv\""))
        {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    } else {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    Ok(res)
}

/// `GET /api/v1/partners/{partnerId}/summary`: how many contacts, by channel.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerSummaryV1 {
    pub partner_id: String,
    pub contacts: u64,
    pub by_channel: std::collections::BTreeMap<String, u64>,
    pub generated_at: consent_core::Timestamp,
}

pub async fn get_partner_summary(
    State(state): State<AppState>,
    caller: Caller,
    PartnerId(partner): PartnerId,
) -> Result<Response, ApiError> {
    caller.may_read_partner(&partner)?;
    let now = (state.clock)();
    let (records_tx, mut records) = tokio::sync::mpsc::channel::<ConsentRecordV1>(256);
    let counting = async {
        let mut contacts = 0u64;
        let mut by_channel = std::collections::BTreeMap::new();
        for c in consent_core::domain::Channel::ALL {
            by_channel.insert(c.as_str().to_owned(), 0u64);
        }
        while let Some(r) = records.recv().await {
            contacts += 1;
            for c in &r.channels {
                *by_channel.entry(c.as_str().to_owned()).or_default() += 1;
            }
        }
        (contacts, by_channel)
    };
    let (read, (contacts, by_channel)) = tokio::join!(
        state.db.partner_contacts(&partner, now, records_tx),
        counting
    );
    read.map_err(storage("summarising a partner's contacts"))?;
    Ok(no_store(
        StatusCode::OK,
        PartnerSummaryV1 {
            partner_id: partner,
            contacts,
            by_channel,
            generated_at: now,
        },
    ))
}

/// `GET /api/v1/ledger/head`: `{count, head, at}`, for an admin key.
#[derive(Serialize)]
pub struct LedgerHeadV1 {
    pub count: u64,
    pub head: String,
    pub at: consent_core::Timestamp,
}

pub async fn get_ledger_head(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let head = state
        .db
        .ledger_head()
        .await
        .map_err(storage("reading the ledger head"))?;
    Ok(no_store(
        StatusCode::OK,
        LedgerHeadV1 {
            count: head.count,
            head: head.head,
            at: (state.clock)(),
        },
    ))
}

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
    };
    Ok(no_store(
        StatusCode::OK,
        DemoTokenV1 {
            token: signer.sign(&claims),
            expires_at: consent_core::Timestamp::from_unix_millis((iat + ttl) * 1000),
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
