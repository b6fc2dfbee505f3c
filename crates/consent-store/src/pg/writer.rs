//! The group-commit writer of one instance: the batches waiting, planned
//! by the shared rules and written in one transaction under the head lock.

use std::collections::HashMap;

use consent_core::Timestamp;
use deadpool_postgres::GenericClient;
use deadpool_postgres::Pool;
use tokio::sync::mpsc;
use tokio_postgres::types::ToSql;

use super::*;
use crate::db::DbError;
use crate::events::{self, NewEvent};
use crate::ledger::GENESIS;
use crate::rules::{
    self, BatchOutcome, LedgerState, NewActivity, NewContact, NewRecord, NewRow, NewSubject,
};
use crate::{activity, contacts};

/// Whether writes queue webhook events, shared with the store.
pub(super) type Notify = std::sync::Arc<std::sync::atomic::AtomicBool>;

/// Stores the contacts a group's claims brought, the last one per
/// customer (one statement cannot update a row twice).
async fn upsert_contacts(
    tx: &deadpool_postgres::Transaction<'_>,
    mut new: Vec<NewContact>,
) -> Result<(), DbError> {
    if new.is_empty() {
        return Ok(());
    }
    new.reverse();
    let mut seen = std::collections::HashSet::new();
    new.retain(|c| seen.insert(c.customer_id.clone()));
    let text =
        |f: fn(&NewContact) -> Option<&str>| -> Vec<Option<&str>> { new.iter().map(f).collect() };
    let at: Vec<i64> = new.iter().map(|c| c.updated_at_ms).collect();
    tx.execute(
        "INSERT INTO contacts (customer_id, email, phone, postal, updated_at_ms)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
         ON CONFLICT (customer_id) DO UPDATE SET email = excluded.email, phone = excluded.phone,
             postal = excluded.postal, updated_at_ms = excluded.updated_at_ms",
        &[
            &text(|c| Some(c.customer_id.as_str())),
            &text(|c| c.contact.email.as_deref()),
            &text(|c| c.contact.phone.as_deref()),
            &text(|c| c.contact.postal.as_deref()),
            &at,
        ],
    )
    .await?;
    Ok(())
}

/// Keeps the activities a group's claims brought, each customer's latest,
/// where later than the one kept.
async fn keep_activities(
    tx: &deadpool_postgres::Transaction<'_>,
    new: Vec<NewActivity>,
) -> Result<(), DbError> {
    if new.is_empty() {
        return Ok(());
    }
    let new = rules::latest_per_customer(new);
    let customers: Vec<&str> = new.iter().map(|a| a.customer_id.as_str()).collect();
    let at: Vec<i64> = new.iter().map(|a| a.at_ms).collect();
    let kinds: Vec<&str> = new.iter().map(|a| a.kind.as_str()).collect();
    tx.execute(activity::UPSERT_MANY_PG, &[&customers, &at, &kinds])
        .await?;
    Ok(())
}

/// Queues webhook events inside `tx`, in one statement.
pub(super) async fn queue_events(
    tx: &deadpool_postgres::Transaction<'_>,
    new: &[NewEvent],
) -> Result<(), DbError> {
    if new.is_empty() {
        return Ok(());
    }
    let text =
        |f: fn(&NewEvent) -> Option<&str>| -> Vec<Option<&str>> { new.iter().map(f).collect() };
    let at: Vec<i64> = new.iter().map(|e| e.created_at_ms).collect();
    tx.execute(
        "INSERT INTO webhook_events (id, kind, customer_id, body, created_at_ms, next_at_ms)
         SELECT i, k, c, b, t, t FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
             AS q(i, k, c, b, t)",
        &[
            &text(|e| Some(e.id.as_str())),
            &text(|e| Some(e.kind)),
            &text(|e| e.customer_id.as_deref()),
            &text(|e| Some(e.body.as_str())),
            &at,
        ],
    )
    .await?;
    Ok(())
}

/// A batch for the writer, and where its outcome goes.
pub(super) struct Job {
    pub(super) records: Vec<NewRecord>,
    pub(super) received_at: Timestamp,
    pub(super) done: tokio::sync::oneshot::Sender<Result<BatchOutcome, DbError>>,
}

/// Most batches the writer commits in one transaction.
pub(super) const GROUP_BATCHES: usize = 64;

/// The group-commit writer of one instance: takes every batch waiting
/// (up to [`GROUP_BATCHES`]) and stores them in one transaction under
/// [`HEAD_LOCK`]. Each batch is decided on its own before anything is
/// written, so a conflicting batch writes nothing and answers 409 while
/// the others commit. One commit (one WAL flush) then serves the whole
/// group, instead of one per batch with the lock held across each flush.
/// Every batch is still all or nothing, and is acknowledged only after
/// the commit.
pub(super) async fn write_groups(pool: Pool, mut jobs: mpsc::Receiver<Job>, notify: Notify) {
    while let Some(first) = jobs.recv().await {
        let mut group = vec![first];
        let mut stored = store_group(&pool, &mut group, &mut jobs, &notify).await;
        // The head lock makes every group see the batches committed before
        // it, so a unique violation means something wrote outside the
        // lock: plan the group again, once, against what is stored now.
        if matches!(&stored, Err(e) if is_unique_violation(e)) {
            tracing::warn!("a group of batches collided with another writer; retrying");
            stored = store_group(&pool, &mut group, &mut jobs, &notify).await;
        }
        let mut outcomes = match stored {
            Ok(outcomes) => outcomes,
            Err(e) => {
                tracing::error!(error = %e, batches = group.len(), "a group of batches failed; none was stored");
                group
                    .iter()
                    .map(|_| Err(DbError::Task(format!("storing the batch failed: {e}"))))
                    .collect()
            }
        };
        for (job, outcome) in group.into_iter().zip(outcomes.drain(..)) {
            let _ = job.done.send(outcome);
        }
    }
}

/// One transaction for a group of batches: take [`HEAD_LOCK`], add to
/// `group` the batches that arrived meanwhile (while another instance
/// held the lock, say), read the head, and the subjects and stored ids
/// the whole group needs (one query each), decide every batch in memory
/// ([`plan_batch`]), then write the group's new subjects and records with
/// one INSERT each. About seven round trips and one commit, whatever the
/// group's size.
async fn store_group(
    pool: &Pool,
    group: &mut Vec<Job>,
    jobs: &mut mpsc::Receiver<Job>,
    notify: &Notify,
) -> Result<Vec<Result<BatchOutcome, DbError>>, DbError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&HEAD_LOCK])
        .await?;
    while group.len() < GROUP_BATCHES {
        match jobs.try_recv() {
            Ok(job) => group.push(job),
            Err(_) => break,
        }
    }
    let group: &[Job] = group;
    let (seq, head): (i64, String) = match tx
        .query_opt(
            "SELECT seq, chain FROM consent_records ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await?
    {
        Some(row) => (row.try_get(0)?, row.try_get(1)?),
        None => (0, GENESIS.to_owned()),
    };
    let records = || group.iter().flat_map(|job| job.records.iter());
    let mut customers: Vec<&str> = records().map(|r| r.record.customer_id.as_str()).collect();
    customers.sort_unstable();
    customers.dedup();
    let ids: Vec<&str> = records().map(|r| r.record.record_id.as_str()).collect();
    let subjects = tx
        .query(
            "SELECT customer_id, subject, salt FROM subjects WHERE customer_id = ANY($1)",
            &[&customers],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?))))
        .collect::<Result<HashMap<String, (String, Vec<u8>)>, DbError>>()?;
    let mut known = HashMap::new();
    let mut known_digests = HashMap::new();
    for row in tx
        .query(
            "SELECT record_id, content_sha256, body FROM consent_records WHERE record_id = ANY($1)",
            &[&ids],
        )
        .await?
    {
        let id: String = row.try_get(0)?;
        if let Some(digests) = contacts::digests_in(row.try_get(2)?) {
            known_digests.insert(id.clone(), digests);
        }
        known.insert(id, row.try_get(1)?);
    }
    let mut stored_contacts = HashMap::new();
    for row in tx
        .query(
            "SELECT customer_id, email, phone, postal FROM contacts WHERE customer_id = ANY($1)",
            &[&customers],
        )
        .await?
    {
        if let Some(c) = contacts::of_columns(row.try_get(1)?, row.try_get(2)?, row.try_get(3)?) {
            stored_contacts.insert(row.try_get(0)?, c);
        }
    }
    let mut state = LedgerState {
        seq,
        head,
        subjects,
        known,
        known_digests,
        contacts: stored_contacts,
    };
    let mut subjects: Vec<NewSubject> = Vec::new();
    let mut rows: Vec<NewRow> = Vec::new();
    let mut new_contacts: Vec<NewContact> = Vec::new();
    let mut new_activities: Vec<NewActivity> = Vec::new();
    let mut new_events: Vec<NewEvent> = Vec::new();
    let notifies = notify.load(std::sync::atomic::Ordering::Relaxed);
    let mut outcomes = Vec::with_capacity(group.len());
    for job in group {
        // Each batch on its own: a conflict plans nothing and answers 409
        // while the others commit.
        match rules::plan_batch(
            &mut state,
            &job.records,
            job.received_at,
            &mut rules::random_salt,
        ) {
            Ok(planned) => {
                if let (true, BatchOutcome::Stored(stored)) = (notifies, &planned.outcome) {
                    match events::batch_events(&job.records, stored, job.received_at) {
                        Ok(made) => new_events.extend(made),
                        Err(e) => {
                            outcomes.push(Err(e));
                            continue;
                        }
                    }
                }
                subjects.extend(planned.subjects);
                rows.extend(planned.rows);
                new_contacts.extend(planned.contacts);
                new_activities.extend(planned.activities);
                outcomes.push(Ok(planned.outcome));
            }
            Err(e) => outcomes.push(Err(e)),
        }
    }
    if !subjects.is_empty() {
        let column = |f: fn(&NewSubject) -> &str| -> Vec<&str> { subjects.iter().map(f).collect() };
        let salts: Vec<&[u8]> = subjects.iter().map(|s| s.salt.as_slice()).collect();
        tx.execute(
            "INSERT INTO subjects (customer_id, subject, salt)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])",
            &[&column(|s| &s.customer_id), &column(|s| &s.subject), &salts],
        )
        .await?;
    }
    if !rows.is_empty() {
        NewRows::of(&rows).insert(&tx).await?;
    }
    upsert_contacts(&tx, new_contacts).await?;
    keep_activities(&tx, new_activities).await?;
    queue_events(&tx, &new_events).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// The columns of the records a batch appends, for one `INSERT … SELECT
/// FROM unnest(…)`.
struct NewRows<'a> {
    seq: Vec<i64>,
    record_id: Vec<&'a str>,
    subject: Vec<&'a str>,
    partner_id: Vec<&'a str>,
    decided_at_ms: Vec<i64>,
    received_at_ms: Vec<i64>,
    effective_at_ms: Vec<i64>,
    supersedes: Vec<Option<&'a str>>,
    content_sha256: Vec<&'a str>,
    body: Vec<&'a str>,
    chain: Vec<&'a str>,
}

impl<'a> NewRows<'a> {
    /// The rows [`rules::plan_batch`] decided, as columns.
    fn of(rows: &'a [NewRow]) -> Self {
        NewRows {
            seq: rows.iter().map(|r| r.seq).collect(),
            record_id: rows.iter().map(|r| r.record_id.as_str()).collect(),
            subject: rows.iter().map(|r| r.subject.as_str()).collect(),
            partner_id: rows.iter().map(|r| r.partner_id.as_str()).collect(),
            decided_at_ms: rows.iter().map(|r| r.decided_at_ms).collect(),
            received_at_ms: rows.iter().map(|r| r.received_at_ms).collect(),
            effective_at_ms: rows.iter().map(|r| r.effective_at_ms).collect(),
            supersedes: rows.iter().map(|r| r.supersedes.as_deref()).collect(),
            content_sha256: rows.iter().map(|r| r.content_sha256.as_str()).collect(),
            body: rows.iter().map(|r| r.body.as_str()).collect(),
            chain: rows.iter().map(|r| r.chain.as_str()).collect(),
        }
    }

    async fn insert(&self, tx: &deadpool_postgres::Transaction<'_>) -> Result<(), DbError> {
        let params: [&(dyn ToSql + Sync); 11] = [
            &self.seq,
            &self.record_id,
            &self.subject,
            &self.partner_id,
            &self.decided_at_ms,
            &self.received_at_ms,
            &self.effective_at_ms,
            &self.supersedes,
            &self.content_sha256,
            &self.body,
            &self.chain,
        ];
        tx.execute(
            "INSERT INTO consent_records
                (seq, record_id, subject, partner_id, decided_at_ms, received_at_ms,
                 effective_at_ms, supersedes, content_sha256, body, chain)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],
                                  $5::bigint[], $6::bigint[], $7::bigint[], $8::text[],
                                  $9::text[], $10::text[], $11::text[])",
            &params,
        )
        .await?;
        Ok(())
    }
}
