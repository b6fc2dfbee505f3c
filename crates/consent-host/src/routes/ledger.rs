//! The ledger's head, for a venue to copy somewhere the database's owner
//! cannot rewrite.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use crate::api::{no_store, storage};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;

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
