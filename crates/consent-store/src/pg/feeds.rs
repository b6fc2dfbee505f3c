//! What PostgreSQL serves after checkout: contacts, patrons' activity, a
//! partner's suppression feed, and the webhook queue (claimed with
//! `SKIP LOCKED`, so instances take different events).

use std::time::Duration;

use consent_core::wire::{ActivityV1, ContactV1};
use consent_core::Timestamp;
use futures_util::TryStreamExt;

use super::*;
use crate::events::{self, pg_placeholders, QueuedEvent, Settle};
use crate::rules::Export;
use crate::suppress::{SuppressionGroups, SuppressionRow, SuppressionSink, SUPPRESSION_ROWS_SQL};
use crate::{activity, contacts};

impl PgStore {
    pub(super) fn notifies(&self) -> bool {
        self.notify.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(super) async fn read_contact(
        &self,
        customer_id: &str,
    ) -> Result<Option<ContactV1>, DbError> {
        let client = self.client().await?;
        let Some(row) = client
            .query_opt(&pg_placeholders(contacts::SELECT_SQL), &[&customer_id])
            .await?
        else {
            return Ok(None);
        };
        Ok(contacts::of_columns(
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
        ))
    }

    pub(super) async fn write_contact(
        &self,
        customer_id: &str,
        contact: &ContactV1,
        now: Timestamp,
    ) -> Result<(), DbError> {
        let client = self.client().await?;
        if contacts::is_empty(contact) {
            client
                .execute(&pg_placeholders(contacts::DELETE_SQL), &[&customer_id])
                .await?;
        } else {
            client
                .execute(
                    &pg_placeholders(contacts::UPSERT_SQL),
                    &[
                        &customer_id,
                        &contact.email,
                        &contact.phone,
                        &contact.postal,
                        &now.unix_millis(),
                    ],
                )
                .await?;
        }
        Ok(())
    }

    pub(super) async fn keep_activity(
        &self,
        customer_id: &str,
        kept: &ActivityV1,
    ) -> Result<ActivityV1, DbError> {
        let client = self.client().await?;
        client
            .execute(
                &pg_placeholders(activity::UPSERT_SQL),
                &[&customer_id, &kept.at.unix_millis(), &kept.kind.as_str()],
            )
            .await?;
        // Kept only ever moves later: what is read now is at least as late.
        let row = client
            .query_one(&pg_placeholders(activity::SELECT_SQL), &[&customer_id])
            .await?;
        activity::of_columns(row.try_get(0)?, row.try_get(1)?)
    }

    pub(super) async fn stream_suppressions(
        &self,
        export: Export,
        out: SuppressionSink,
    ) -> Result<(), DbError> {
        let Export {
            partner_id, now, ..
        } = export;
        let mut client = self.client().await?;
        let tx = client.build_transaction().read_only(true).start().await?;
        tx.batch_execute(EXPORT_TIMEOUT).await?;
        let rows = tx
            .query_raw(&pg_placeholders(SUPPRESSION_ROWS_SQL), [&partner_id])
            .await?;
        let mut rows = std::pin::pin!(rows);
        let mut groups = SuppressionGroups::new(partner_id.clone(), now);
        while let Some(row) = rows.try_next().await? {
            let row: SuppressionRow = crate::suppression_row_of!(row, try_get);
            for s in groups.push(row)? {
                if out.send(s).await.is_err() {
                    return Ok(());
                }
            }
        }
        for s in groups.finish()? {
            if out.send(s).await.is_err() {
                break;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn claim(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<QueuedEvent>, DbError> {
        let client = self.client().await?;
        let sql = pg_placeholders(&events::CLAIM_SQL.replace("{lock}", "FOR UPDATE SKIP LOCKED"));
        let rows = client
            .query(
                &sql,
                &[
                    &now.unix_millis(),
                    &(lease.as_millis() as i64),
                    &(limit as i64),
                ],
            )
            .await?;
        let claimed = rows
            .iter()
            .map(|r| Ok(crate::queued_event_of!(r, try_get)))
            .collect::<Result<Vec<_>, DbError>>()?;
        Ok(events::in_queue_order(claimed))
    }

    pub(super) async fn settle(&self, id: &str, settle: &Settle) -> Result<(), DbError> {
        let client = self.client().await?;
        match settle {
            Settle::Delivered | Settle::GiveUp { .. } => {
                client
                    .execute(&pg_placeholders(events::DELETE_SQL), &[&id])
                    .await?;
            }
            Settle::Retry { at, error } => {
                client
                    .execute(
                        &pg_placeholders(events::RETRY_SQL),
                        &[&id, &at.unix_millis(), error],
                    )
                    .await?;
            }
        }
        Ok(())
    }

    pub(super) async fn backlog(&self) -> Result<(u64, Option<Timestamp>), DbError> {
        let client = self.client().await?;
        let row = client.query_one(events::BACKLOG_SQL, &[]).await?;
        let n: i64 = row.try_get(0)?;
        let oldest: Option<i64> = row.try_get(1)?;
        Ok((n as u64, oldest.map(Timestamp::from_unix_millis)))
    }
}
