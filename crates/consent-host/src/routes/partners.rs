//! What a partner company reads: its contacts (JSON or CSV, streamed) and
//! a summary by channel.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;

use crate::api::{no_store, storage};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::PartnerId;
use crate::AppState;
use consent_store::rules::{Answers, Export, ExportRow};
use tokio_stream::wrappers::ReceiverStream;

/// One contact in a partner export: who agreed, how to reach them on the
/// channels they agreed to (and those only), and the proof.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerContactV1 {
    pub customer_id: String,
    /// The partner's own reference for this patron: every suppression
    /// names the patron by it, even once they are erased.
    pub reference: String,
    /// Contact points for the channels agreed to only.
    pub contact: consent_core::wire::ContactV1,
    /// Whether each contact point is the one the patron's answer was
    /// recorded for (false: the venue has changed it since).
    pub contact_as_recorded: bool,
    /// Brought in by `consent-host import` from the venue's earlier
    /// records: its wording was never recorded.
    pub imported: bool,
    /// `consent`, or `legitimate-interests` (the venue's own soft opt-in,
    /// in the venue's own export).
    pub basis: consent_core::domain::Basis,
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
    fn of(row: ExportRow) -> Self {
        let r = row.record;
        PartnerContactV1 {
            customer_id: r.customer_id,
            reference: row.reference,
            contact: row.contact,
            contact_as_recorded: row.contact_as_recorded,
            imported: r.import.is_some(),
            basis: r.basis,
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
    const CSV_HEADER: &'static str = "customerId,reference,email,phone,postal,contactAsRecorded,imported,basis,recordId,decidedAt,receivedAt,channels,noticeId,noticeVersion,noticeLanguage,noticeSha256\r\n";

    fn csv_row(&self, out: &mut String) {
        let channels: Vec<&str> = self.channels.iter().map(|c| c.as_str()).collect();
        let text = |v: &Option<String>| csv_cell(v.as_deref().unwrap_or(""));
        let cells = [
            csv_cell(&self.customer_id),
            csv_cell(&self.reference),
            text(&self.contact.email),
            text(&self.contact.phone),
            text(&self.contact.postal),
            self.contact_as_recorded.to_string(),
            self.imported.to_string(),
            self.basis.as_str().to_owned(),
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

/// A `since` query parameter: an RFC 3339 time, or none.
pub(crate) fn parse_since(
    since: Option<&str>,
) -> Result<Option<consent_core::Timestamp>, ApiError> {
    since
        .map(|s| {
            consent_core::Timestamp::parse_rfc3339(s).map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    "since must be an RFC 3339 time, e.g. 2026-11-01T00:00:00.000Z",
                )
                .at("since")
            })
        })
        .transpose()
}

/// What a contacts export keeps.
struct ContactFilter {
    channel: Option<consent_core::domain::Channel>,
    since: Option<consent_core::Timestamp>,
}

impl ContactFilter {
    fn from_query(q: &ContactsQuery) -> Result<Self, ApiError> {
        let since = parse_since(q.since.as_deref())?;
        Ok(ContactFilter {
            channel: q.channel,
            since,
        })
    }

    fn keeps(&self, row: &ExportRow) -> bool {
        let r = &row.record;
        self.channel.is_none_or(|c| r.channels.contains(&c))
            && self
                .since
                .is_none_or(|since| r.received_at.is_some_and(|t| t >= since))
    }
}

pub(crate) fn wants_csv(format: Option<&str>, headers: &HeaderMap) -> Result<bool, ApiError> {
    match format {
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
    mut records: tokio::sync::mpsc::Receiver<ExportRow>,
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
    let format = Format {
        csv: wants_csv(query.format.as_deref(), &headers)?,
        filter: ContactFilter::from_query(&query)?,
    };
    let export = Export {
        partner_id: partner.clone(),
        now: (state.clock)(),
        answers: Answers::Agreed,
    };
    let limit = Duration::from_secs(state.config.export_timeout_secs.max(1));
    let csv = format.csv;
    let body = export_body(state.db.clone(), export, format, limit);
    Ok(export_response(
        axum::body::Body::from_stream(body),
        &partner,
        csv,
        "contacts",
    ))
}

/// How an export is written: which contacts, as CSV or JSON.
struct Format {
    csv: bool,
    filter: ContactFilter,
}

/// The export's body as a stream of chunks. A task reads from the storage
/// into a channel and a writer turns records into chunks; the writer owns
/// the records' receiving end, so the moment it stops (the client went
/// away, or the export's time is up) the receiver is dropped and the
/// storage stops reading and releases its connection and snapshot. A
/// failure or the time limit ends the stream with an error, so the client
/// sees a broken transfer rather than a short list.
fn export_body(
    db: std::sync::Arc<dyn crate::Storage>,
    export: Export,
    format: Format,
    limit: Duration,
) -> ReceiverStream<Result<Bytes, std::io::Error>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let (records_tx, records) = tokio::sync::mpsc::channel::<ExportRow>(256);
    tokio::spawn(async move {
        let Format { csv, filter } = format;
        let head = (export.partner_id.clone(), export.now);
        let writing = tokio::time::timeout(
            limit,
            write_contacts(records, tx.clone(), filter, csv, head.0, head.1),
        );
        let (read, written) = tokio::join!(db.partner_contacts(export, records_tx), writing);
        let end = match (read, written) {
            (Ok(()), Ok(Some((mut buf, count)))) => {
                if !csv {
                    buf.push_str("]}");
                }
                tracing::info!(contacts = count, "partner export");
                Ok(Bytes::from(buf))
            }
            (Ok(()), Ok(None)) => {
                tracing::info!("partner export: the client went away");
                return;
            }
            (_, Err(_elapsed)) => {
                tracing::warn!(
                    limit_secs = limit.as_secs(),
                    "partner export stopped: it took longer than --export-timeout-secs"
                );
                Err(std::io::Error::other("the export took too long"))
            }
            (Err(e), _) => {
                tracing::error!(error = %e, "partner export failed");
                Err(std::io::Error::other("the export failed"))
            }
        };
        let _ = tx.send(end).await;
    });
    ReceiverStream::new(rx)
}

/// The export's answer: the streamed body, never cached, as CSV (an
/// attachment named after the partner) or JSON.
pub(crate) fn export_response(
    body: axum::body::Body,
    partner: &str,
    csv: bool,
    what: &str,
) -> Response {
    let mut res = Response::new(body);
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if !csv {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return res;
    }
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
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}-{what}.csv\""))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// `GET /api/v1/partners/{partnerId}/summary`: how many contacts, by channel.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerSummaryV1 {
    pub partner_id: String,
    /// The partner's name as the latest record shown to a patron gave it
    /// (none before any patron agreed).
    pub partner_name: Option<String>,
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
    let (records_tx, mut records) = tokio::sync::mpsc::channel::<ExportRow>(256);
    let counting = async {
        let mut contacts = 0u64;
        let mut name: Option<(consent_core::Timestamp, String)> = None;
        let mut by_channel = std::collections::BTreeMap::new();
        for c in consent_core::domain::Channel::ALL {
            by_channel.insert(c.as_str().to_owned(), 0u64);
        }
        while let Some(row) = records.recv().await {
            let r = row.record;
            contacts += 1;
            if name.as_ref().is_none_or(|(at, _)| r.decided_at >= *at) {
                name = Some((r.decided_at, r.partner.name.clone()));
            }
            for c in &r.channels {
                *by_channel.entry(c.as_str().to_owned()).or_default() += 1;
            }
        }
        (contacts, by_channel, name.map(|(_, n)| n))
    };
    let (read, (contacts, by_channel, partner_name)) = tokio::join!(
        state.db.partner_contacts(
            Export {
                partner_id: partner.clone(),
                now,
                answers: Answers::Agreed,
            },
            records_tx,
        ),
        counting
    );
    read.map_err(storage("summarising a partner's contacts"))?;
    Ok(no_store(
        StatusCode::OK,
        PartnerSummaryV1 {
            partner_id: partner,
            partner_name,
            contacts,
            by_channel,
            generated_at: now,
        },
    ))
}
