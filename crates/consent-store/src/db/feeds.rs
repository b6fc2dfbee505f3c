//! What SQLite serves after checkout: contacts, patrons' activity, a
//! partner's suppression feed, and the webhook queue.

use consent_core::wire::{ActivityV1, ContactV1};
use consent_core::Timestamp;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::{lock, Db, DbError};
use crate::events::{self, QueuedEvent, Settle};
use crate::suppress::{Suppression, SuppressionGroups, SuppressionRow, SUPPRESSION_ROWS_SQL};
use crate::{activity, contacts};

impl Db {
    /// A customer's stored contact, if any.
    pub fn contact(&self, customer_id: &str) -> Result<Option<ContactV1>, DbError> {
        Ok(self
            .reader()
            .prepare_cached(contacts::SELECT_SQL)?
            .query_row([customer_id], |r| {
                Ok(contacts::of_columns(r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?
            .flatten())
    }

    /// Stores a customer's contact (an empty one forgets it).
    pub fn set_contact(
        &self,
        customer_id: &str,
        contact: &ContactV1,
        now: Timestamp,
    ) -> Result<(), DbError> {
        let conn = lock(&self.writer);
        if contacts::is_empty(contact) {
            conn.execute(contacts::DELETE_SQL, [customer_id])?;
        } else {
            conn.execute(
                contacts::UPSERT_SQL,
                params![
                    customer_id,
                    contact.email,
                    contact.phone,
                    contact.postal,
                    now.unix_millis()
                ],
            )?;
        }
        Ok(())
    }

    /// Keeps a customer's activity if it is later than the one kept, and
    /// returns the one kept now.
    pub fn record_activity(
        &self,
        customer_id: &str,
        kept: &ActivityV1,
    ) -> Result<ActivityV1, DbError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            activity::UPSERT_SQL,
            params![customer_id, kept.at.unix_millis(), kept.kind.as_str()],
        )?;
        let (at, kind): (i64, String) = tx.query_row(activity::SELECT_SQL, [customer_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        tx.commit()?;
        activity::of_columns(at, &kind)
    }

    /// Streams a partner's suppressions (see [`crate::suppress`]), one
    /// patron's rows read at a time; `emit` returns false to stop.
    pub fn suppressions(
        &self,
        partner_id: &str,
        now: Timestamp,
        mut emit: impl FnMut(Suppression) -> bool,
    ) -> Result<(), DbError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(SUPPRESSION_ROWS_SQL)?;
        let mut rows = stmt.query([partner_id])?;
        let mut groups = SuppressionGroups::new(partner_id.to_owned(), now);
        while let Some(row) = rows.next()? {
            let row: SuppressionRow = crate::suppression_row_of!(row, get);
            for s in groups.push(row)? {
                if !emit(s) {
                    return Ok(());
                }
            }
        }
        for s in groups.finish()? {
            if !emit(s) {
                break;
            }
        }
        Ok(())
    }

    /// Claims up to `limit` due webhook events for `lease`.
    pub fn claim_events(
        &self,
        now: Timestamp,
        lease: std::time::Duration,
        limit: usize,
    ) -> Result<Vec<QueuedEvent>, DbError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let claimed = {
            let mut stmt = tx.prepare_cached(&events::CLAIM_SQL.replace("{lock}", ""))?;
            let rows = stmt.query_map(
                params![now.unix_millis(), lease.as_millis() as i64, limit as i64],
                |r| Ok(crate::queued_event_of!(r, get)),
            )?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        tx.commit()?;
        Ok(events::in_queue_order(claimed))
    }

    /// Records what became of one delivery.
    pub fn settle_event(&self, id: &str, settle: &Settle) -> Result<(), DbError> {
        let conn = lock(&self.writer);
        match settle {
            Settle::Delivered | Settle::GiveUp { .. } => {
                conn.execute(events::DELETE_SQL, [id])?;
            }
            Settle::Retry { at, error } => {
                conn.execute(events::RETRY_SQL, params![id, at.unix_millis(), error])?;
            }
        }
        Ok(())
    }

    /// How many webhook events wait, and when the oldest was made.
    pub fn event_backlog(&self) -> Result<(u64, Option<Timestamp>), DbError> {
        let (n, oldest): (i64, Option<i64>) =
            self.reader()
                .query_row(events::BACKLOG_SQL, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok((n as u64, oldest.map(Timestamp::from_unix_millis)))
    }
}
