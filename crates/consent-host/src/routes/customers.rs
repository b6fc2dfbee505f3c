//! A patron's own data: preferences, the record trail, the receipt, and
//! erasure.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use consent_core::wire::{ConsentRecordV1, PreferencesV1};
use serde::Serialize;

use crate::api::{no_store, storage};
use crate::auth::Caller;
use crate::db::{Erasure, ErasureKind};
use crate::error::ApiError;
use crate::extract::{CustomerId, ReadableCustomer};
use crate::AppState;

/// `GET /api/v1/customers/{customerId}/preferences`.
pub async fn get_preferences(
    State(state): State<AppState>,
    ReadableCustomer(customer_id): ReadableCustomer,
) -> Result<Response, ApiError> {
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
    ReadableCustomer(customer_id): ReadableCustomer,
) -> Result<Response, ApiError> {
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
    ReadableCustomer(customer_id): ReadableCustomer,
) -> Result<Response, ApiError> {
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
            Erasure {
                kind: ErasureKind::Request,
                by: by.clone(),
                detail: serde_json::json!({}),
                at,
            },
        )
        .await
        .map_err(storage("erasing a customer"))?;
    tracing::info!(records, by = %by, "customer erased on request");
    Ok(no_store(
        StatusCode::OK,
        ErasedV1 {
            customer_id,
            records,
            at,
        },
    ))
}
