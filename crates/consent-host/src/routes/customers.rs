//! A patron's own data: preferences, the record trail, the receipt,
//! contact points, activity, and erasure.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use consent_core::wire::{
    ActivityV1, ConsentRecordV1, ContactV1, CustomerActivityV1, PreferencesV1,
};
use serde::Serialize;

use crate::api::{no_store, storage};
use crate::auth::Caller;
use crate::db::{Erasure, ErasureKind};
use crate::error::ApiError;
use crate::extract::{Authorized, CustomerId, ReadableCustomer};
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

/// `GET` and `PUT /api/v1/customers/{customerId}/contact`: the patron's
/// contact points, as the venue last gave them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerContactV1 {
    pub customer_id: String,
    pub contact: ContactV1,
}

/// `GET /api/v1/customers/{customerId}/contact` (the patron's own token
/// with `consent:read`, or an admin key).
pub async fn get_contact(
    State(state): State<AppState>,
    ReadableCustomer(customer_id): ReadableCustomer,
) -> Result<Response, ApiError> {
    let contact = state
        .db
        .contact(&customer_id)
        .await
        .map_err(storage("reading a contact"))?
        .unwrap_or_default();
    Ok(no_store(
        StatusCode::OK,
        CustomerContactV1 {
            customer_id,
            contact,
        },
    ))
}

/// `PUT /api/v1/customers/{customerId}/contact` (admin): the venue's back
/// office updates the patron's contact points; an empty object forgets
/// them. Records stored from now on are digested against the new points;
/// earlier records keep proving the address they were recorded for.
pub async fn put_contact(
    State(state): State<AppState>,
    CustomerId(customer_id): CustomerId,
    Authorized {
        caller,
        body: contact,
    }: Authorized<ContactV1>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    if let Some(e) = consent_core::contact::check(&contact, "contact")
        .into_iter()
        .next()
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_contact",
            e.message,
        )
        .at(e.field));
    }
    state
        .db
        .set_contact(&customer_id, contact.clone(), (state.clock)())
        .await
        .map_err(storage("storing a contact"))?;
    tracing::info!(by = %caller.audit_name(), "customer contact updated");
    Ok(no_store(
        StatusCode::OK,
        CustomerContactV1 {
            customer_id,
            contact,
        },
    ))
}

/// `POST /api/v1/customers/{customerId}/activity`: the venue's server (a
/// token with `activity:write`) or its back office (an admin key) reports
/// what a patron did, which retention counts from. Kept at the earlier of
/// `at` and its arrival; only each patron's latest is kept. Answers the
/// latest kept. An `at` more than 24 hours ahead of the host's clock is a
/// 422 naming `at`.
pub async fn post_activity(
    State(state): State<AppState>,
    CustomerId(customer_id): CustomerId,
    Authorized {
        caller,
        body: activity,
    }: Authorized<ActivityV1>,
) -> Result<Response, ApiError> {
    caller.may_write_activity()?;
    let received_at = (state.clock)();
    consent_core::record::check_activity(&activity, received_at).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_activity",
            e.message,
        )
        .at(e.field)
    })?;
    let last_activity = state
        .db
        .record_activity(
            &customer_id,
            consent_store::activity::kept(activity, received_at),
        )
        .await
        .map_err(storage("keeping an activity"))?;
    tracing::debug!(by = %caller.audit_name(), kind = activity.kind.as_str(), "activity reported");
    Ok(no_store(
        StatusCode::OK,
        CustomerActivityV1 {
            customer_id,
            last_activity,
        },
    ))
}
