//! Appending a batch on SQLite: the ledger state it is planned against,
//! and writing what the plan decided.

use rusqlite::{params, OptionalExtension, Transaction};

use crate::error::DbError;
use crate::events::{self, NewEvent};
use crate::ledger;
use crate::rules::{LedgerState, NewRecord, Planned};
use crate::{activity, contacts};

/// The ledger as a batch is decided against it, read inside `tx`: the
/// last `seq` and head, the subjects of `records`' customers, and the
/// digests of their ids already stored.
pub(super) fn ledger_state(
    tx: &Transaction<'_>,
    records: &[NewRecord],
) -> Result<LedgerState, DbError> {
    let (seq, head): (i64, String) = tx
        .query_row(
            "SELECT seq, chain FROM consent_records ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or_else(|| (0, ledger::GENESIS.to_owned()));
    let mut state = LedgerState {
        seq,
        head,
        ..LedgerState::default()
    };
    let mut subject_of =
        tx.prepare_cached("SELECT subject, salt FROM subjects WHERE customer_id = ?1")?;
    let mut digest_of =
        tx.prepare_cached("SELECT content_sha256, body FROM consent_records WHERE record_id = ?1")?;
    let mut contact_of = tx.prepare_cached(contacts::SELECT_SQL)?;
    for NewRecord { record, .. } in records {
        let customer = &record.customer_id;
        if !state.subjects.contains_key(customer) {
            if let Some(found) = subject_of
                .query_row([customer], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
            {
                state.subjects.insert(customer.clone(), found);
            }
        }
        if !state.contacts.contains_key(customer) {
            let stored = contact_of
                .query_row([customer], |r| {
                    Ok(contacts::of_columns(r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?
                .flatten();
            if let Some(contact) = stored {
                state.contacts.insert(customer.clone(), contact);
            }
        }
        if let Some((digest, body)) = digest_of
            .query_row([&record.record_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .optional()?
        {
            state.known.insert(record.record_id.clone(), digest);
            if let Some(digests) = contacts::digests_in(&body) {
                state
                    .known_digests
                    .insert(record.record_id.clone(), digests);
            }
        }
    }
    Ok(state)
}

/// Writes what [`rules::plan_batch`] decided, inside `tx`.
pub(super) fn write_planned(tx: &Transaction<'_>, planned: &Planned) -> Result<(), DbError> {
    let mut subject =
        tx.prepare_cached("INSERT INTO subjects (customer_id, subject, salt) VALUES (?1, ?2, ?3)")?;
    for s in &planned.subjects {
        subject.execute(params![s.customer_id, s.subject, s.salt])?;
    }
    let mut row = tx.prepare_cached(
        "INSERT INTO consent_records
            (seq, record_id, subject, partner_id, decided_at_ms, received_at_ms,
             effective_at_ms, supersedes, content_sha256, body, chain)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for r in &planned.rows {
        row.execute(params![
            r.seq,
            r.record_id,
            r.subject,
            r.partner_id,
            r.decided_at_ms,
            r.received_at_ms,
            r.effective_at_ms,
            r.supersedes,
            r.content_sha256,
            r.body,
            r.chain,
        ])?;
    }
    // (The migration that built the ledger ran before there were contacts
    // and activity tables; it plans neither.)
    if !planned.activities.is_empty() {
        let mut keep = tx.prepare_cached(activity::UPSERT_SQL)?;
        for a in &planned.activities {
            keep.execute(params![a.customer_id, a.at_ms, a.kind.as_str()])?;
        }
    }
    if planned.contacts.is_empty() {
        return Ok(());
    }
    let mut contact = tx.prepare_cached(contacts::UPSERT_SQL)?;
    for c in &planned.contacts {
        let k = &c.contact;
        contact.execute(params![
            c.customer_id,
            k.email,
            k.phone,
            k.postal,
            c.updated_at_ms
        ])?;
    }
    Ok(())
}

/// Queues webhook events inside `tx`.
pub(super) fn queue_events(tx: &Transaction<'_>, new: &[NewEvent]) -> Result<(), DbError> {
    let mut insert = tx.prepare_cached(events::INSERT_SQL)?;
    for e in new {
        insert.execute(params![
            e.id,
            e.kind,
            e.customer_id,
            e.body,
            e.created_at_ms
        ])?;
    }
    Ok(())
}
