//! [`Storage`] on PostgreSQL: each method fetches, calls the shared
//! rules, and writes, in PostgreSQL's dialect.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use consent_core::wire::ConsentRecordV1;
use consent_core::Timestamp;
use deadpool_postgres::GenericClient;
use futures_util::TryStreamExt;

use super::*;
use crate::db::{DbError, CONTACT_ROWS_SQL};
use crate::events::{QueuedEvent, Settle};
use crate::keys::{self, ApiKey, KeySpec, NewKey};
use crate::ledger::{self, Head, StoredRow, Verifier, VerifyError, GENESIS};
use crate::rules::{
    current_per_partner, read_record, BatchOutcome, ContactGroups, ContactRow, ContactSink,
    Decided, Erasure, Export, NewRecord, Retention, RetentionPlan,
};
use crate::store::Storage;
use crate::suppress::SuppressionSink;
use consent_core::wire::{ActivityV1, ContactV1};

#[async_trait]
impl Storage for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<(), DbError> {
        let client = self.client().await?;
        check_version(&client).await
    }

    async fn insert_batch(
        &self,
        records: Vec<NewRecord>,
        received_at: Timestamp,
    ) -> Result<BatchOutcome, DbError> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let stopped = || DbError::Task("the PostgreSQL writer has stopped".to_owned());
        self.writer
            .send(Job {
                records,
                received_at,
                done,
            })
            .await
            .map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }

    async fn records_for(&self, customer_id: &str) -> Result<Vec<ConsentRecordV1>, DbError> {
        let client = self.client().await?;
        client
            .query(
                "SELECT r.body, r.received_at_ms, s.salt
                 FROM consent_records r JOIN subjects s ON s.subject = r.subject
                 WHERE s.customer_id = $1 ORDER BY r.seq",
                &[&customer_id],
            )
            .await?
            .iter()
            .map(|row| {
                read_record(
                    row.try_get(0)?,
                    row.try_get(1)?,
                    customer_id,
                    row.try_get(2)?,
                )
            })
            .collect()
    }

    async fn stored_ids(&self, ids: Vec<String>) -> Result<Vec<String>, DbError> {
        let client = self.client().await?;
        client
            .query(
                "SELECT record_id FROM consent_records WHERE record_id = ANY($1)",
                &[&ids],
            )
            .await?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
    }

    async fn current_records(&self, customer_id: &str) -> Result<Vec<ConsentRecordV1>, DbError> {
        let client = self.client().await?;
        let Some(salt) = client
            .query_opt(
                "SELECT salt FROM subjects WHERE customer_id = $1",
                &[&customer_id],
            )
            .await?
            .map(|r| r.try_get::<_, Vec<u8>>(0))
            .transpose()?
        else {
            return Ok(Vec::new());
        };
        let rows: Vec<Decided> = client
            .query(
                "SELECT r.seq, r.record_id, r.partner_id, r.effective_at_ms, r.supersedes
                 FROM consent_records r JOIN subjects s ON s.subject = r.subject
                 WHERE s.customer_id = $1",
                &[&customer_id],
            )
            .await?
            .iter()
            .map(decided)
            .collect::<Result<_, _>>()?;
        let winners = current_per_partner(&rows);
        if winners.is_empty() {
            return Ok(Vec::new());
        }
        let bodies: HashMap<i64, (String, i64)> = client
            .query(
                "SELECT seq, body, received_at_ms FROM consent_records WHERE seq = ANY($1)",
                &[&winners],
            )
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?))))
            .collect::<Result<_, DbError>>()?;
        winners
            .iter()
            .map(|seq| {
                let (body, received_at_ms) = bodies
                    .get(seq)
                    .ok_or_else(|| DbError::Corrupt(format!("record #{seq} vanished")))?;
                read_record(body, *received_at_ms, customer_id, &salt)
            })
            .collect()
    }

    async fn partner_contacts(&self, export: Export, out: ContactSink) -> Result<(), DbError> {
        let Export {
            partner_id,
            now,
            answers,
        } = export;
        let mut client = self.client().await?;
        let tx = client.build_transaction().read_only(true).start().await?;
        tx.batch_execute(EXPORT_TIMEOUT).await?;
        // A row stream: rows arrive as they are read, and the connection
        // stops reading from the server while the receiver is full, so
        // an export of any size holds one customer's rows at a time.
        let rows = tx
            .query_raw(&CONTACT_ROWS_SQL.replace("?1", "$1"), [&partner_id])
            .await?;
        let mut rows = std::pin::pin!(rows);
        let mut groups = ContactGroups::listing(now, answers);
        while let Some(row) = rows.try_next().await? {
            let row: ContactRow = crate::contact_row_of!(row, try_get);
            if let Some(contact) = groups.push(row)? {
                if out.send(contact).await.is_err() {
                    return Ok(());
                }
            }
        }
        if let Some(contact) = groups.finish()? {
            let _ = out.send(contact).await;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn suppressions(&self, export: Export, out: SuppressionSink) -> Result<(), DbError> {
        self.stream_suppressions(export, out).await
    }

    async fn contact(&self, customer_id: &str) -> Result<Option<ContactV1>, DbError> {
        self.read_contact(customer_id).await
    }

    async fn set_contact(
        &self,
        customer_id: &str,
        contact: ContactV1,
        now: Timestamp,
    ) -> Result<(), DbError> {
        self.write_contact(customer_id, &contact, now).await
    }

    async fn record_activity(
        &self,
        customer_id: &str,
        activity: ActivityV1,
    ) -> Result<ActivityV1, DbError> {
        self.keep_activity(customer_id, &activity).await
    }

    fn set_webhooks(&self, on: bool) {
        self.notify.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    async fn claim_events(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<QueuedEvent>, DbError> {
        self.claim(now, lease, limit).await
    }

    async fn settle_event(&self, id: &str, settle: Settle) -> Result<(), DbError> {
        self.settle(id, &settle).await
    }

    async fn event_backlog(&self) -> Result<(u64, Option<Timestamp>), DbError> {
        self.backlog().await
    }

    async fn erase(&self, customer_ids: Vec<String>, run: Erasure) -> Result<u64, DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // As a writer: no batch appends for a customer while their mapping goes.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&HEAD_LOCK])
            .await?;
        let records = Self::erase_in(&tx, &customer_ids, &run, self.notifies()).await?;
        tx.commit().await?;
        drop(client);
        self.schedule_scrub();
        Ok(records)
    }

    async fn retention_plan(&self, cutoff: Timestamp) -> Result<RetentionPlan, DbError> {
        let client = self.client().await?;
        Self::plan(&client, cutoff).await
    }

    async fn run_retention(&self, run: Retention) -> Result<RetentionPlan, DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Under the head lock no record arrives between the plan and the
        // erasure, so exactly the planned (inactive) customers go.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&HEAD_LOCK])
            .await?;
        let plan = Self::plan(&tx, run.cutoff).await?;
        let ids = plan.customer_ids();
        Self::erase_in(&tx, &ids, &run.erasure(&plan), self.notifies()).await?;
        for stale in [crate::contacts::STALE_SQL, crate::activity::STALE_SQL] {
            tx.execute(
                &crate::events::pg_placeholders(stale),
                &[&run.cutoff.unix_millis()],
            )
            .await?;
        }
        tx.commit().await?;
        drop(client);
        self.schedule_scrub();
        Ok(plan)
    }

    async fn scrub(&self, wait: Duration) -> Result<bool, DbError> {
        Ok(crate::store::scrub_until(|| Self::scrub_step(self.pool.clone()), wait).await)
    }

    async fn erasures(&self) -> Result<Vec<serde_json::Value>, DbError> {
        let client = self.client().await?;
        client
            .query(
                "SELECT at_ms, kind, by_whom, customers, records, detail, scrubbed_at_ms
                 FROM erasures ORDER BY id",
                &[],
            )
            .await?
            .iter()
            .map(|r| Ok(crate::erasure_entry_of!(r, try_get)))
            .collect()
    }

    async fn count(&self) -> Result<u64, DbError> {
        let client = self.client().await?;
        let n: i64 = client
            .query_one("SELECT COUNT(*) FROM consent_records", &[])
            .await?
            .try_get(0)?;
        Ok(n as u64)
    }

    async fn ledger_head(&self) -> Result<Head, DbError> {
        let client = self.client().await?;
        // One statement, one snapshot: the count and head agree.
        let row = client
            .query_one(
                "SELECT (SELECT COUNT(*) FROM consent_records),
                        (SELECT chain FROM consent_records ORDER BY seq DESC LIMIT 1)",
                &[],
            )
            .await?;
        Ok(Head {
            count: row.try_get::<_, i64>(0)? as u64,
            head: row
                .try_get::<_, Option<String>>(1)?
                .unwrap_or_else(|| GENESIS.to_owned()),
        })
    }

    async fn verify(&self, expect: Option<(u64, String)>) -> Result<Head, VerifyError> {
        let storage =
            |e: tokio_postgres::Error| VerifyError::Storage(DbError::Postgres(e).to_string());
        let mut client = self
            .client()
            .await
            .map_err(|e| VerifyError::Storage(e.to_string()))?;
        // One snapshot for the records, the mappings and the checkpoint.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(storage)?;
        tx.batch_execute("SET LOCAL statement_timeout = 0")
            .await
            .map_err(storage)?;
        let rows = tx
            .query_raw(ledger::VERIFY_ROWS_SQL, std::iter::empty::<&str>())
            .await
            .map_err(storage)?;
        let mut rows = std::pin::pin!(rows);
        let mut verifier = Verifier::default();
        while let Some(row) = rows.try_next().await.map_err(storage)? {
            let row = &row;
            let get_str = |i: usize| row.try_get::<_, &str>(i).map_err(storage);
            verifier
                .record(StoredRow {
                    seq: row.try_get(0).map_err(storage)?,
                    record_id: get_str(1)?,
                    subject: get_str(2)?,
                    partner_id: get_str(3)?,
                    decided_at_ms: row.try_get(4).map_err(storage)?,
                    received_at_ms: row.try_get(5).map_err(storage)?,
                    effective_at_ms: row.try_get(6).map_err(storage)?,
                    supersedes: row.try_get(7).map_err(storage)?,
                    content_sha256: get_str(8)?,
                    body: get_str(9)?,
                    chain: get_str(10)?,
                    accounted: row.try_get(11).map_err(storage)?,
                })
                .map_err(VerifyError::Broken)?;
        }
        let subjects = tx
            .query_raw(
                "SELECT customer_id, subject, salt FROM subjects",
                std::iter::empty::<&str>(),
            )
            .await
            .map_err(storage)?;
        let mut subjects = std::pin::pin!(subjects);
        while let Some(row) = subjects.try_next().await.map_err(storage)? {
            Verifier::mapping(
                row.try_get(0).map_err(storage)?,
                row.try_get(1).map_err(storage)?,
                row.try_get(2).map_err(storage)?,
            )
            .map_err(VerifyError::Broken)?;
        }
        let now = verifier.finish();
        let result = match expect {
            None => Ok(now),
            Some((count, head)) => {
                let at_count = if count == 0 {
                    Some(GENESIS.to_owned())
                } else {
                    tx.query_opt(
                        "SELECT chain FROM consent_records WHERE seq = $1",
                        &[&(count as i64)],
                    )
                    .await
                    .map_err(storage)?
                    .map(|r| r.try_get(0))
                    .transpose()
                    .map_err(storage)?
                };
                ledger::check_checkpoint(now, count, &head, at_count).map_err(VerifyError::Broken)
            }
        };
        tx.commit().await.map_err(storage)?;
        result
    }

    async fn add_key(&self, spec: &KeySpec, now: Timestamp) -> Result<(ApiKey, String), DbError> {
        let new = NewKey::make(spec, now)?;
        let k = &new.key;
        self.client()
            .await?
            .execute(
                "INSERT INTO api_keys (id, role, partner_id, label, secret_sha256, created_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &k.id,
                    &k.role.as_str(),
                    &k.partner_id,
                    &k.label,
                    &new.secret_sha256,
                    &now.unix_millis(),
                ],
            )
            .await?;
        Ok((new.key, new.text))
    }

    async fn list_keys(&self) -> Result<Vec<ApiKey>, DbError> {
        let client = self.client().await?;
        client
            .query(
                "SELECT id, role, partner_id, label, created_at_ms, revoked_at_ms
                 FROM api_keys ORDER BY created_at_ms, id",
                &[],
            )
            .await?
            .iter()
            .map(key_row)
            .collect()
    }

    async fn revoke_key(&self, id: &str, now: Timestamp) -> Result<bool, DbError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE api_keys SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms IS NULL",
                &[&id, &now.unix_millis()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn find_key(&self, credential: &str) -> Result<Option<ApiKey>, DbError> {
        let Some((id, secret)) = keys::split_key(credential) else {
            return Ok(None);
        };
        let client = self.client().await?;
        let found = client
            .query_opt(
                "SELECT id, role, partner_id, label, created_at_ms, revoked_at_ms, secret_sha256
                 FROM api_keys WHERE id = $1 AND revoked_at_ms IS NULL",
                &[&id],
            )
            .await?;
        let Some(row) = found else {
            return Ok(None);
        };
        let hash: &str = row.try_get(6)?;
        if !keys::secret_matches(hash, secret) {
            return Ok(None);
        }
        key_row(&row).map(Some)
    }
}
