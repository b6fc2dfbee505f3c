//! `POST /api/v1/consent-records`: a batch, checked record by record
//! against the core's rules and the caller's token, stored whole or not
//! at all, with what the token's `contact` and `activity` claims say of
//! its own customer.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use consent_core::record::{check_record, check_timing};
use consent_core::wire::{ActivityKind, RecordBatchV1};

use crate::api::{no_store, storage, MAX_BATCH_RECORDS};
use crate::auth::Caller;
use crate::db::{BatchOutcome, NewRecord};
use crate::error::ApiError;
use crate::extract::Authorized;
use crate::{sha256_hex, AppState};

/// `POST /api/v1/consent-records`.
pub async fn post_records(
    State(state): State<AppState>,
    headers: HeaderMap,
    Authorized {
        caller,
        body: batch,
    }: Authorized<RecordBatchV1>,
) -> Result<Response, ApiError> {
    if let Some(key) = headers.get("idempotency-key") {
        // Accepted for clients that always send one; record ids are what
        // make a retry safe, so the key is neither stored nor required.
        tracing::debug!(idempotency_key = ?key, "batch with an idempotency key");
    }
    let received_at = (state.clock)();
    let records = prepare(batch, &caller, received_at)?;
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
            if let Some(webhooks) = &state.webhooks {
                webhooks.wake();
            }
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
    let claimed = match caller {
        Caller::Checkout { claims, .. } => claims
            .contact
            .as_ref()
            .map(
                |contact| match consent_core::contact::check(contact, "token.contact").first() {
                    Some(e) => Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_contact",
                        format!("the checkout token's contact claim: {}", e.message),
                    )
                    .at(e.field.clone())),
                    None => Ok((claims.sub.as_str(), contact)),
                },
            )
            .transpose()?,
        Caller::Key(_) => None,
    };
    let activity = match caller {
        Caller::Checkout { claims, .. } => claims
            .activity
            .as_deref()
            .map(|kind| {
                ActivityKind::parse(kind).ok_or_else(|| {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_activity",
                        format!(
                            "the checkout token's activity claim is {kind:?}; it must be one of {}",
                            ActivityKind::ALL.map(ActivityKind::as_str).join(", ")
                        ),
                    )
                    .at("token.activity")
                })
            })
            .transpose()?
            .map(|kind| (claims.sub.as_str(), kind)),
        Caller::Key(_) => None,
    };
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
            if record.import.is_some() {
                return Err(ApiError::invalid(
                    format!("records[{i}].import"),
                    "must not be sent: imported answers are written by consent-host import on the host",
                ));
            }
            if record.contact_digests.is_some() {
                return Err(ApiError::invalid(
                    format!("records[{i}].contactDigests"),
                    "must not be sent: the backend digests the contact points the venue vouched for",
                ));
            }
            check_record(&record, sha256_hex)
                .and_then(|()| check_timing(&record, received_at))
                .map_err(|e| ApiError::invalid(format!("records[{i}].{}", e.field), e.message))?;
            caller.may_write(i, &record)?;
            // The claims speak for the token's own customer only.
            let contact = claimed
                .filter(|(sub, _)| *sub == record.customer_id)
                .map(|(_, c)| c.clone());
            let activity = activity
                .filter(|(sub, _)| *sub == record.customer_id)
                .map(|(_, kind)| kind);
            Ok(NewRecord {
                record,
                contact,
                activity,
            })
        })
        .collect()
}
