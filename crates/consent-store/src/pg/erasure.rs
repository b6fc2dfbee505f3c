//! Erasure, retention and the scrub on PostgreSQL.

use consent_core::Timestamp;
use deadpool_postgres::GenericClient;
use deadpool_postgres::Pool;
use futures_util::TryStreamExt;

use super::*;
use crate::activity::{RetentionGroups, RETENTION_ROWS_PG};
use crate::db::DbError;
use crate::events::{self, pg_placeholders};
use crate::rules::{Erasure, RetentionPlan};
use crate::{activity, contacts};

impl PgStore {
    /// Drops the subject mappings of `customer_ids` inside `tx` and logs
    /// the erasure (counts only). Returns the erased customers' records.
    pub(super) async fn erase_in(
        tx: &deadpool_postgres::Transaction<'_>,
        customer_ids: &[String],
        run: &Erasure,
        notify: bool,
    ) -> Result<u64, DbError> {
        let mut records = 0i64;
        let mut subjects: Vec<String> = Vec::new();
        let mut told = Vec::new();
        let forget_contact = pg_placeholders(contacts::DELETE_SQL);
        let forget_events = pg_placeholders(events::FORGET_SQL);
        let forget_activity = pg_placeholders(activity::DELETE_SQL);
        for id in customer_ids {
            let subject: Option<String> = tx
                .query_opt(
                    "DELETE FROM subjects WHERE customer_id = $1 RETURNING subject",
                    &[id],
                )
                .await?
                .map(|row| row.try_get(0))
                .transpose()?;
            let had_contact = tx.execute(&forget_contact, &[id]).await? > 0;
            tx.execute(&forget_activity, &[id]).await?;
            tx.execute(&forget_events, &[id]).await?;
            let n: i64 = match &subject {
                Some(subject) => tx
                    .query_one(
                        "SELECT COUNT(*) FROM consent_records WHERE subject = $1",
                        &[subject],
                    )
                    .await?
                    .try_get(0)?,
                None => 0,
            };
            if notify && (subject.is_some() || had_contact) {
                told.push(events::erased_event(id, run.kind, n as u64, run.at)?);
            }
            let Some(subject) = subject else { continue };
            records += n;
            subjects.push(subject);
        }
        super::writer::queue_events(tx, &told).await?;
        let erasure: i64 = tx
            .query_one(
                "INSERT INTO erasures (at_ms, kind, by_whom, customers, records, detail)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &run.at.unix_millis(),
                    &run.kind.as_str(),
                    &run.by,
                    &(subjects.len() as i64),
                    &records,
                    &run.detail.to_string(),
                ],
            )
            .await?
            .try_get(0)?;
        tx.execute(
            "INSERT INTO erased_subjects (subject, erasure_id)
             SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING",
            &[&subjects, &erasure],
        )
        .await?;
        Ok(records as u64)
    }

    /// One try at scrubbing what erasures left behind: MVCC keeps the dead
    /// versions of erased `subjects` rows until a VACUUM, and a VACUUM
    /// cannot remove a version an older snapshot may still see. So: if any
    /// erasure is pending and no other session holds a snapshot from
    /// before now, VACUUM `subjects` and `erased_subjects` and mark the
    /// erasures pending before it scrubbed. Never inside a transaction,
    /// never under a lock a writer needs. True when nothing is pending.
    pub(super) async fn scrub_step(pool: Pool) -> Result<bool, DbError> {
        let now = crate::wall_now();
        let client = pool.get().await.map_err(pool_error)?;
        let Some(upto) = client
            .query_one(
                "SELECT MAX(id) FROM erasures WHERE scrubbed_at_ms IS NULL",
                &[],
            )
            .await?
            .try_get::<_, Option<i64>>(0)?
        else {
            return Ok(true);
        };
        // A transaction that started after the erasure cannot see the
        // erased versions; one that started before it may.
        let older: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM pg_stat_activity
                 WHERE pid <> pg_backend_pid() AND datname = current_database()
                   AND backend_xmin IS NOT NULL
                   AND xact_start <= (SELECT to_timestamp(at_ms / 1000.0) + interval '1 second'
                                      FROM erasures WHERE id = $1)",
                &[&upto],
            )
            .await?
            .try_get(0)?;
        if older > 0 {
            return Ok(false);
        }
        client
            .batch_execute("VACUUM subjects, contacts, webhook_events")
            .await?;
        client
            .execute(
                "UPDATE erasures SET scrubbed_at_ms = $1 WHERE id <= $2 AND scrubbed_at_ms IS NULL",
                &[&now.unix_millis(), &upto],
            )
            .await?;
        Ok(true)
    }

    /// Starts the background scrub after an erasure, unless one is running.
    pub(super) fn schedule_scrub(&self) {
        use std::sync::atomic::Ordering;
        if self.scrubbing.swap(true, Ordering::AcqRel) {
            return;
        }
        let pool = self.pool.clone();
        let scrubbing = self.scrubbing.clone();
        tokio::spawn(async move {
            crate::store::scrub_until(|| Self::scrub_step(pool.clone()), crate::store::SCRUB_WAIT)
                .await;
            scrubbing.store(false, Ordering::Release);
        });
    }

    /// Customers whose last activity is before `cutoff`
    /// ([`crate::activity`]), read as one row stream. Reads only.
    pub(super) async fn plan(
        client: &impl GenericClient,
        cutoff: Timestamp,
    ) -> Result<RetentionPlan, DbError> {
        let rows = client
            .query_raw(RETENTION_ROWS_PG, std::iter::empty::<&str>())
            .await?;
        let mut rows = std::pin::pin!(rows);
        let mut groups = RetentionGroups::new(cutoff);
        while let Some(row) = rows.try_next().await? {
            groups.push(crate::retention_row_of!(row, try_get));
        }
        Ok(groups.finish())
    }
}
