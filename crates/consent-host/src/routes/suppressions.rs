//! `GET /api/v1/partners/{partnerId}/suppressions`: every patron whose yes
//! for the partner ended (withdrawn, refused after a yes, lapsed, erased),
//! as JSON or CSV, for the partner to stop contacting them.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use consent_core::Timestamp;
use consent_store::rules::Export;
use consent_store::suppress::Suppression;
use serde::Serialize;

use super::partners::{csv_cell, export_response, parse_since, wants_csv};
use crate::api::storage;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::PartnerId;
use crate::AppState;

/// Query of the suppression feed.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SuppressionsQuery {
    /// Only what was listed at or after this time: pass the previous
    /// answer's `nextSince`.
    pub since: Option<String>,
    /// `csv` or `json` (else by `Accept`).
    pub format: Option<String>,
}

/// One patron whose yes ended.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SuppressionV1 {
    /// The reference every export row for this patron carried.
    pub reference: String,
    /// The venue's customer id; absent once the patron is erased.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// `withdrawn`, `refused`, `lapsed` or `erased`.
    pub reason: &'static str,
    pub ended_at: Timestamp,
    /// When the host could first list it (the feed's order).
    pub listed_at: Timestamp,
    /// The record that ended it (none for a lapse or an erasure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
}

impl SuppressionV1 {
    fn of(s: Suppression) -> Self {
        SuppressionV1 {
            reference: s.reference,
            customer_id: s.customer_id,
            reason: s.ended.reason.as_str(),
            ended_at: s.ended.ended_at,
            listed_at: s.ended.listed_at,
            record_id: s.ended.record_id,
        }
    }

    const CSV_HEADER: &'static str = "reference,customerId,reason,endedAt,listedAt,recordId\r\n";

    fn csv_row(&self, out: &mut String) {
        let cells = [
            csv_cell(&self.reference),
            csv_cell(self.customer_id.as_deref().unwrap_or("")),
            self.reason.to_owned(),
            self.ended_at.to_string(),
            self.listed_at.to_string(),
            csv_cell(self.record_id.as_deref().unwrap_or("")),
        ];
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
}

/// The JSON answer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SuppressionsV1 {
    pub partner_id: String,
    pub since: Option<Timestamp>,
    pub generated_at: Timestamp,
    /// What to pass as `since` next time. Earlier than `generatedAt` by
    /// the longest a write may take between its receipt and its commit,
    /// so a record stored while this feed was read is not missed; a
    /// partner may see a line twice, never miss one.
    pub next_since: Timestamp,
    pub suppressions: Vec<SuppressionV1>,
}

/// `GET /api/v1/partners/{partnerId}/suppressions`.
pub async fn get_suppressions(
    State(state): State<AppState>,
    caller: Caller,
    PartnerId(partner): PartnerId,
    query: Result<
        axum::extract::Query<SuppressionsQuery>,
        axum::extract::rejection::QueryRejection,
    >,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.may_read_partner(&partner)?;
    let axum::extract::Query(query) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let csv = wants_csv(query.format.as_deref(), &headers)?;
    let since = parse_since(query.since.as_deref())?;
    let now = (state.clock)();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Suppression>(256);
    let collecting = async {
        let mut kept = Vec::new();
        while let Some(s) = rx.recv().await {
            if since.is_none_or(|since| s.ended.listed_at >= since) {
                kept.push(s);
            }
        }
        kept
    };
    let export = Export {
        partner_id: partner.clone(),
        now,
        answers: Default::default(),
    };
    let limit = std::time::Duration::from_secs(state.config.export_timeout_secs.max(1));
    let read = tokio::time::timeout(limit, async {
        tokio::join!(state.db.suppressions(export, tx), collecting)
    })
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the suppression feed took longer than --export-timeout-secs; ask with a later since",
        )
    })?;
    let (read, mut kept) = read;
    read.map_err(storage("reading a suppression feed"))?;
    kept.sort_by(|a, b| {
        (a.ended.listed_at, &a.reference, a.ended.ended_at).cmp(&(
            b.ended.listed_at,
            &b.reference,
            b.ended.ended_at,
        ))
    });
    tracing::info!(suppressions = kept.len(), "partner suppression feed");
    let rows: Vec<SuppressionV1> = kept.into_iter().map(SuppressionV1::of).collect();
    let overlap = (state.config.request_timeout_secs as i64 + 30) * 1000;
    let next_since = Timestamp::from_unix_millis(now.unix_millis() - overlap);
    let body = if csv {
        let mut out = String::from(SuppressionV1::CSV_HEADER);
        for row in &rows {
            row.csv_row(&mut out);
        }
        out
    } else {
        serde_json::to_string(&SuppressionsV1 {
            partner_id: partner.clone(),
            since,
            generated_at: now,
            next_since,
            suppressions: rows,
        })
        .map_err(|e| ApiError::internal("writing a suppression feed", &e))?
    };
    let mut res = export_response(body.into(), &partner, csv, "suppressions");
    if let Ok(v) = axum::http::HeaderValue::from_str(&next_since.to_string()) {
        res.headers_mut().insert("consent-next-since", v);
    }
    Ok(res)
}
