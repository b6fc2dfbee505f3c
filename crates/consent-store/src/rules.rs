//! What a backend decides, as pure functions: the stored body and what in
//! it is sealed, the current answer per partner, the plan of a batch
//! (duplicates, conflicts, the chain), the grouping of a partner export,
//! the retention plan. The SQLite and PostgreSQL drivers only fetch rows,
//! call these, and write what they return, each in its own dialect; so a
//! rule is changed once, and tested here without a database.

use std::collections::HashMap;

use consent_core::wire::{
    ActivityKind, ConsentRecordV1, ContactDigestsV1, ContactV1, PreferenceV1, StoredRecordV1,
    StoredV1,
};
use consent_core::{current, Timestamp};

use crate::error::DbError;
use crate::ledger::{self, SUBJECT_PREFIX};
use crate::sha256_hex;

/// A checked record, ready to store.
#[derive(Clone, Debug)]
pub struct NewRecord {
    pub record: ConsentRecordV1,
    /// The patron's contact points as the venue's server just vouched for
    /// them (a checkout token's `contact` claim), if it did: stored as
    /// the patron's contact, and digested into the record. Without one,
    /// the contact stored earlier (if any) is digested.
    pub contact: Option<ContactV1>,
    /// What the patron was doing when the venue's server minted the token
    /// (its `activity` claim), if it said: kept as the patron's activity,
    /// dated when the batch was received.
    pub activity: Option<ActivityKind>,
}

impl NewRecord {
    /// A record with no claim beside it.
    pub fn new(record: ConsentRecordV1) -> Self {
        NewRecord {
            record,
            contact: None,
            activity: None,
        }
    }
}

/// What became of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Committed: new records stored, identical repeats listed as duplicates.
    Stored(StoredV1),
    /// Rolled back: record `index` reuses a stored (or earlier in the batch)
    /// record id with different content.
    Conflict { index: usize },
}

/// A stored body read back for the customer it belongs to, its sealed
/// values opened with the customer's salt. (A body stored before values
/// were sealed holds them as sent, and is read as it is.)
pub fn read_record(
    body: &str,
    received_at_ms: i64,
    customer_id: &str,
    salt: &[u8],
) -> Result<ConsentRecordV1, DbError> {
    let mut record: ConsentRecordV1 = serde_json::from_str(body)
        .map_err(|e| DbError::Corrupt(format!("stored body does not parse: {e}")))?;
    record.customer_id = customer_id.to_owned();
    record.received_at = Some(Timestamp::from_unix_millis(received_at_ms));
    if let Some(sealed) = record
        .collection
        .basket_ref
        .as_mut()
        .filter(|b| b.starts_with(ledger::SEALED_PREFIX))
    {
        *sealed = ledger::unseal(salt, sealed).ok_or_else(|| {
            DbError::Corrupt(format!(
                "record {}: its basketRef does not open under its customer's salt",
                record.record_id
            ))
        })?;
    }
    Ok(record)
}

/// The body as stored: the record's canonical JSON without `receivedAt`,
/// its `customerId` replaced by the subject and its `basketRef` (the
/// venue's order reference, which points at the patron) sealed under the
/// patron's salt, so an erasure leaves neither readable.
pub fn stored_body(
    record: &ConsentRecordV1,
    subject: &str,
    salt: &[u8],
) -> Result<String, DbError> {
    let mut stored = record.clone();
    stored.customer_id = format!("{SUBJECT_PREFIX}{subject}");
    stored.collection.basket_ref = record
        .collection
        .basket_ref
        .as_deref()
        .map(|b| ledger::seal(salt, b));
    stored.received_at = None;
    serde_json::to_string(&stored)
        .map_err(|e| DbError::Corrupt(format!("a record does not serialise: {e}")))
}

/// A current record as a preference (both backends answer with this).
pub fn preference_of(r: ConsentRecordV1) -> PreferenceV1 {
    PreferenceV1 {
        partner_id: r.partner.id,
        state: r.state,
        notice_id: Some(r.notice.id),
        notice_version: r.notice.version,
        decided_at: r.decided_at,
        valid_until: r.valid_until,
        record_id: Some(r.record_id),
        channels: r.channels,
        notice_text: Some(r.notice.text),
        notice_language: Some(r.notice.language),
        imported: r.import.is_some(),
    }
}

/// One row of a customer's history, enough to pick the current answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decided {
    pub seq: i64,
    pub record_id: String,
    pub partner_id: String,
    pub effective_at_ms: i64,
    pub supersedes: Option<String>,
}

/// The current answer per partner, by the one rule every reader uses
/// ([`consent_core::current`]): the `seq` of each winning record, sorted
/// by partner id. The stored `effective_at_ms` is already the decision
/// capped by its receipt; equal times go to the later stored row.
pub fn current_per_partner(rows: &[Decided]) -> Vec<i64> {
    let mut in_order: Vec<&Decided> = rows.iter().collect();
    in_order.sort_unstable_by_key(|r| r.seq);
    let mut winners: Vec<(&str, i64)> = current::current(&in_order, Timestamp::MAX)
        .into_iter()
        .map(|i| (in_order[i].partner_id.as_str(), in_order[i].seq))
        .collect();
    winners.sort_unstable();
    winners.into_iter().map(|(_, seq)| seq).collect()
}

impl current::Answered for Decided {
    fn partner(&self) -> &str {
        &self.partner_id
    }
    fn record_id(&self) -> Option<&str> {
        Some(&self.record_id)
    }
    fn supersedes(&self) -> Option<&str> {
        self.supersedes.as_deref()
    }
    fn decided_at(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.effective_at_ms)
    }
    fn received_at(&self) -> Option<Timestamp> {
        Some(Timestamp::from_unix_millis(self.effective_at_ms))
    }
}

/// Why customers were erased.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErasureKind {
    /// A patron's request, through `DELETE /api/v1/customers/{id}`.
    Request,
    /// `consent-host retention`.
    Retention,
}

impl ErasureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErasureKind::Request => "request",
            ErasureKind::Retention => "retention",
        }
    }
}

/// What a retention run would anonymise: customers whose last activity
/// ([`crate::activity::last_activity`]) is before the cutoff.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionPlan {
    pub cutoff: Option<Timestamp>,
    /// Who, oldest last activity first (to erase, and for the report file
    /// the DPO asks for; never printed or logged).
    pub customers: Vec<Inactive>,
    pub records: u64,
    /// Records per partner.
    pub per_partner: std::collections::BTreeMap<String, u64>,
    pub oldest_activity: Option<Timestamp>,
    pub newest_activity: Option<Timestamp>,
}

impl RetentionPlan {
    /// What the run log keeps: counts and times, never an id.
    pub fn detail(&self) -> serde_json::Value {
        serde_json::json!({
            "cutoff": self.cutoff.map(|t| t.to_string()),
            "perPartner": self.per_partner,
            "oldestActivity": self.oldest_activity.map(|t| t.to_string()),
            "newestActivity": self.newest_activity.map(|t| t.to_string()),
        })
    }
}

/// A customer a retention run anonymises, and their last activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inactive {
    pub customer_id: String,
    pub last_activity: Timestamp,
}

impl RetentionPlan {
    /// Adds a customer whose last activity was `last`, with one partner id
    /// per record they hold.
    pub fn push_customer<'a>(
        &mut self,
        customer_id: String,
        last: Timestamp,
        partners: impl IntoIterator<Item = &'a str>,
    ) {
        self.customers.push(Inactive {
            customer_id,
            last_activity: last,
        });
        for partner in partners {
            self.records += 1;
            *self.per_partner.entry(partner.to_owned()).or_default() += 1;
        }
        self.oldest_activity = Some(self.oldest_activity.map_or(last, |t| t.min(last)));
        self.newest_activity = Some(self.newest_activity.map_or(last, |t| t.max(last)));
    }

    /// The customers' ids, to erase.
    pub fn customer_ids(&self) -> Vec<String> {
        self.customers
            .iter()
            .map(|c| c.customer_id.clone())
            .collect()
    }
}

/// What the ledger holds that a batch is decided against: its last
/// `seq` and head, the subjects (and salts) of the batch's customers, and
/// the digests of the record ids it names that are already stored.
#[derive(Clone, Debug, Default)]
pub struct LedgerState {
    pub seq: i64,
    pub head: String,
    /// customer id → (subject, salt)
    pub subjects: HashMap<String, (String, Vec<u8>)>,
    /// record id → content digest
    pub known: HashMap<String, String>,
    /// record id → the contact digests it was stored with: a record sent
    /// again is judged against the address it was first stored for, so a
    /// contact changed meanwhile does not make a retry a conflict.
    pub known_digests: HashMap<String, ContactDigestsV1>,
    /// customer id → contact stored for them
    pub contacts: HashMap<String, ContactV1>,
}

/// A customer seen for the first time: the mapping to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSubject {
    pub customer_id: String,
    pub subject: String,
    pub salt: Vec<u8>,
}

/// A row to append, every column derived from the record here (and only
/// here: `ledger::check_derived` recomputes the same columns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRow {
    pub seq: i64,
    pub record_id: String,
    pub subject: String,
    pub partner_id: String,
    pub decided_at_ms: i64,
    pub received_at_ms: i64,
    /// The earlier of the decision and its arrival: no client clock can
    /// place a decision after it reached the host.
    pub effective_at_ms: i64,
    pub supersedes: Option<String>,
    pub content_sha256: String,
    pub body: String,
    pub chain: String,
}

/// What a batch does: its outcome, and (unless it conflicts) what to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub outcome: BatchOutcome,
    pub subjects: Vec<NewSubject>,
    pub rows: Vec<NewRow>,
    /// Contacts to store (insert or replace), from the batch's claims.
    pub contacts: Vec<NewContact>,
    /// Activities to keep (each if later than the one kept), from the
    /// batch's claims: one per customer.
    pub activities: Vec<NewActivity>,
}

/// An activity a token's claim reported, to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewActivity {
    pub customer_id: String,
    pub at_ms: i64,
    pub kind: ActivityKind,
}

/// One activity per customer, the latest (the first of equals): one
/// statement cannot update a row twice.
pub fn latest_per_customer(activities: Vec<NewActivity>) -> Vec<NewActivity> {
    let mut latest: Vec<NewActivity> = Vec::with_capacity(activities.len());
    for a in activities {
        match latest.iter_mut().find(|l| l.customer_id == a.customer_id) {
            Some(l) if a.at_ms > l.at_ms => *l = a,
            Some(_) => {}
            None => latest.push(a),
        }
    }
    latest
}

/// A contact the venue just vouched for, to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewContact {
    pub customer_id: String,
    pub contact: ContactV1,
    pub updated_at_ms: i64,
}

/// Decides one batch against `state`: an id stored with the same body is a
/// duplicate, with another body a conflict (repeats inside the batch
/// included); a conflict writes nothing and leaves `state` as it was;
/// otherwise the new subjects and rows are returned, chained after the
/// head, and `state` moves past them. `salt` makes a new customer's salt.
pub fn plan_batch(
    state: &mut LedgerState,
    records: &[NewRecord],
    received_at: Timestamp,
    salt: &mut dyn FnMut() -> Result<[u8; 32], DbError>,
) -> Result<Planned, DbError> {
    let received_ms = received_at.unix_millis();
    let (mut seq, mut head) = (state.seq, state.head.clone());
    let mut new_subjects: Vec<NewSubject> = Vec::new();
    let mut new_known: HashMap<String, String> = HashMap::new();
    let mut rows = Vec::new();
    let mut stored = Vec::new();
    let mut duplicates = Vec::new();
    let mut contacts: Vec<NewContact> = Vec::new();
    let mut activities: Vec<NewActivity> = Vec::new();
    let mut new_digests: HashMap<String, ContactDigestsV1> = HashMap::new();
    for (
        index,
        NewRecord {
            record,
            contact,
            activity,
        },
    ) in records.iter().enumerate()
    {
        let customer = &record.customer_id;
        let known_subject = state.subjects.get(customer).cloned().or_else(|| {
            new_subjects
                .iter()
                .find(|s| &s.customer_id == customer)
                .map(|s| (s.subject.clone(), s.salt.clone()))
        });
        let (subject, customer_salt) = match known_subject {
            Some(found) => found,
            None => {
                let fresh = salt()?.to_vec();
                let subject = ledger::subject(&fresh, customer);
                new_subjects.push(NewSubject {
                    customer_id: customer.clone(),
                    subject: subject.clone(),
                    salt: fresh.clone(),
                });
                (subject, fresh)
            }
        };
        if let Some(claimed) = contact {
            let stored = contacts
                .iter()
                .rev()
                .find(|c| &c.customer_id == customer)
                .map(|c| &c.contact)
                .or_else(|| state.contacts.get(customer));
            if stored != Some(claimed) {
                contacts.push(NewContact {
                    customer_id: customer.clone(),
                    contact: claimed.clone(),
                    updated_at_ms: received_ms,
                });
            }
        }
        if let Some(kind) = *activity {
            if !activities.iter().any(|a| &a.customer_id == customer) {
                activities.push(NewActivity {
                    customer_id: customer.clone(),
                    at_ms: received_ms,
                    kind,
                });
            }
        }
        let known_contact = contact.as_ref().or_else(|| state.contacts.get(customer));
        let mut record = record.clone();
        record.contact_digests = match state
            .known_digests
            .get(&record.record_id)
            .or_else(|| new_digests.get(&record.record_id))
        {
            Some(first) => Some(first.clone()),
            None => known_contact
                .and_then(|c| ledger::contact_digests(&customer_salt, &record.channels, c)),
        };
        let record = &record;
        let body = stored_body(record, &subject, &customer_salt)?;
        let digest = sha256_hex(&body);
        match state
            .known
            .get(&record.record_id)
            .or_else(|| new_known.get(&record.record_id))
        {
            Some(sha) if *sha == digest => duplicates.push(record.record_id.clone()),
            Some(_) => {
                return Ok(Planned {
                    outcome: BatchOutcome::Conflict { index },
                    subjects: Vec::new(),
                    rows: Vec::new(),
                    contacts: Vec::new(),
                    activities: Vec::new(),
                })
            }
            None => {
                seq += 1;
                let chain = ledger::link(&head, &digest, received_ms);
                new_known.insert(record.record_id.clone(), digest.clone());
                if let Some(digests) = &record.contact_digests {
                    new_digests.insert(record.record_id.clone(), digests.clone());
                }
                let decided = record.decided_at.unix_millis();
                rows.push(NewRow {
                    seq,
                    record_id: record.record_id.clone(),
                    subject: subject.clone(),
                    partner_id: record.partner.id.to_string(),
                    decided_at_ms: decided,
                    received_at_ms: received_ms,
                    effective_at_ms: decided.min(received_ms),
                    supersedes: record.supersedes.clone(),
                    content_sha256: digest,
                    body,
                    chain: chain.clone(),
                });
                head = chain;
                stored.push(StoredRecordV1 {
                    record_id: record.record_id.clone(),
                    received_at,
                });
            }
        }
    }
    for s in &new_subjects {
        state
            .subjects
            .insert(s.customer_id.clone(), (s.subject.clone(), s.salt.clone()));
    }
    state.known.extend(new_known);
    state.known_digests.extend(new_digests);
    for c in &contacts {
        state
            .contacts
            .insert(c.customer_id.clone(), c.contact.clone());
    }
    (state.seq, state.head) = (seq, head);
    Ok(Planned {
        outcome: BatchOutcome::Stored(StoredV1 { stored, duplicates }),
        subjects: new_subjects,
        rows,
        contacts,
        activities,
    })
}

/// Which of a JSON array of record ids (`?1`) are stored: SQLite's
/// `json_each` (PostgreSQL asks with `= ANY`).
pub const STORED_IDS_SQL: &str =
    "SELECT record_id FROM consent_records WHERE record_id IN (SELECT value FROM json_each(?1))";

/// A fresh random salt for a new customer.
pub fn random_salt() -> Result<[u8; 32], DbError> {
    let mut salt = [0u8; 32];
    getrandom::fill(&mut salt)
        .map_err(|e| DbError::Corrupt(format!("no randomness for a salt: {e}")))?;
    Ok(salt)
}

/// What a partner export asks for: the partner, the moment that decides
/// which yeses have lapsed, and which patrons it lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    pub partner_id: String,
    pub now: Timestamp,
    pub answers: Answers,
}

/// Which of a partner's patrons an export lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Answers {
    /// Those whose current answer is a `given` that has not lapsed: the
    /// contacts a partner may use.
    #[default]
    Agreed,
    /// Every patron with a current answer for the partner, whatever it is
    /// (what the prompt studio counts when a wording changes). Never
    /// handed to a partner.
    Current,
}

/// Where a partner export's contacts go, one patron at a time.
pub type ContactSink = tokio::sync::mpsc::Sender<ExportRow>;

/// One patron in a partner export: their current record for the partner
/// (a `given` that has not lapsed), the partner's reference for them, and
/// their contact points for the channels they agreed to only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportRow {
    pub record: ConsentRecordV1,
    /// [`ledger::partner_reference`]: what the suppression feed names
    /// them by, erased or not.
    pub reference: String,
    pub contact: ContactV1,
    /// Whether every contact point given is the one the record concerns
    /// (its digest matches); false when the venue changed an address
    /// since the patron answered.
    pub contact_as_recorded: bool,
}

/// One row of a partner export's query: a record of a customer who is
/// still mapped, in subject order, with their stored contact.
#[derive(Clone, Debug)]
pub struct ContactRow {
    pub decided: Decided,
    pub subject: String,
    pub customer_id: String,
    pub salt: Vec<u8>,
    pub body: String,
    pub received_at_ms: i64,
    pub contact: ContactV1,
}

/// A row of a per-patron read, which comes in subject order.
pub trait OfSubject {
    fn subject(&self) -> &str;
}

/// Rows in subject order, gathered one subject at a time: the grouping
/// every per-patron read shares (a partner export, the suppression feed,
/// a retention plan), so none holds more than one patron's rows.
#[derive(Debug)]
pub struct BySubject<R> {
    rows: Vec<R>,
}

impl<R> Default for BySubject<R> {
    fn default() -> Self {
        BySubject { rows: Vec::new() }
    }
}

impl<R: OfSubject> BySubject<R> {
    /// Takes the next row; when it starts another subject, the previous
    /// subject's rows.
    pub fn push(&mut self, row: R) -> Option<Vec<R>> {
        let done = match self.rows.first() {
            Some(first) if first.subject() != row.subject() => Some(std::mem::take(&mut self.rows)),
            _ => None,
        };
        self.rows.push(row);
        done
    }

    /// The last subject's rows (none when no row came).
    pub fn finish(self) -> Vec<R> {
        self.rows
    }
}

impl OfSubject for ContactRow {
    fn subject(&self) -> &str {
        &self.subject
    }
}

/// Groups an export's rows by customer and yields, for each, the current
/// record for the partner if it is a `given` that has not lapsed by `now`
/// (or, for [`Answers::Current`], whatever it is). Holds one customer's
/// rows at a time.
#[derive(Debug)]
pub struct ContactGroups {
    now: Timestamp,
    answers: Answers,
    rows: BySubject<ContactRow>,
}

impl ContactGroups {
    /// The contacts a partner may use ([`Answers::Agreed`]).
    pub fn new(now: Timestamp) -> Self {
        Self::listing(now, Answers::Agreed)
    }

    pub fn listing(now: Timestamp, answers: Answers) -> Self {
        ContactGroups {
            now,
            answers,
            rows: BySubject::default(),
        }
    }

    /// Takes the next row; when it starts another customer, the previous
    /// customer's contact, if any.
    pub fn push(&mut self, row: ContactRow) -> Result<Option<ExportRow>, DbError> {
        match self.rows.push(row) {
            Some(done) => self.contact_of(done),
            None => Ok(None),
        }
    }

    /// The last customer's contact, if any.
    pub fn finish(mut self) -> Result<Option<ExportRow>, DbError> {
        let rows = std::mem::take(&mut self.rows).finish();
        self.contact_of(rows)
    }

    /// One customer's contact, if their current answer is a live yes.
    fn contact_of(&self, rows: Vec<ContactRow>) -> Result<Option<ExportRow>, DbError> {
        let decided: Vec<Decided> = rows.iter().map(|r| r.decided.clone()).collect();
        let Some(&winner) = current_per_partner(&decided).first() else {
            return Ok(None);
        };
        let Some(row) = rows.into_iter().find(|r| r.decided.seq == winner) else {
            return Ok(None);
        };
        let record = read_record(&row.body, row.received_at_ms, &row.customer_id, &row.salt)?;
        let lapsed = record.valid_until.is_some_and(|v| v <= self.now);
        let agreed = record.state == consent_core::domain::DecisionState::Given && !lapsed;
        if self.answers == Answers::Agreed && !agreed {
            return Ok(None);
        }
        let contact = consent_core::contact::for_channels(&row.contact, &record.channels);
        let contact_as_recorded = record.channels.iter().all(|&channel| {
            match consent_core::contact::point(&contact, channel) {
                None => true,
                Some(point) => record
                    .contact_digests
                    .as_ref()
                    .and_then(|d| d.get(channel))
                    .is_some_and(|d| d == ledger::contact_digest(&row.salt, channel, point)),
            }
        });
        Ok(Some(ExportRow {
            reference: ledger::partner_reference(&record.partner.id, &row.subject),
            record,
            contact,
            contact_as_recorded,
        }))
    }
}

/// One row of the erasure log as it is listed: counts, times and who,
/// never whose.
#[allow(clippy::too_many_arguments)]
pub fn erasure_entry(
    at_ms: i64,
    kind: String,
    by: String,
    customers: i64,
    records: i64,
    detail: &str,
    scrubbed_at_ms: Option<i64>,
) -> serde_json::Value {
    let scrubbed = scrubbed_at_ms.map(|ms| Timestamp::from_unix_millis(ms).to_string());
    serde_json::json!({
        "scrub": if scrubbed.is_some() { "scrubbed" } else { "pending" },
        "scrubbedAt": scrubbed,
        "at": Timestamp::from_unix_millis(at_ms).to_string(),
        "kind": kind,
        "by": by,
        "customers": customers,
        "records": records,
        "detail": serde_json::from_str::<serde_json::Value>(detail).unwrap_or_default(),
    })
}

/// One erasure or retention run, as it is logged: why, who asked (a key's
/// id or a command, never a customer), the run's detail (counts, never
/// ids), and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erasure {
    pub kind: ErasureKind,
    pub by: String,
    pub detail: serde_json::Value,
    pub at: Timestamp,
}

/// A retention run: customers with no activity since `cutoff` are
/// anonymised, by a command (`by`), at `at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retention {
    pub cutoff: Timestamp,
    pub by: String,
    pub at: Timestamp,
}

impl Retention {
    /// The log entry of this run, once its plan is known: counts and
    /// times, never an id.
    pub fn erasure(&self, plan: &RetentionPlan) -> Erasure {
        Erasure {
            kind: ErasureKind::Retention,
            by: self.by.clone(),
            detail: plan.detail(),
            at: self.at,
        }
    }
}

/// Builds the erasure log's listing entry from a row of
/// `SELECT at_ms, kind, by_whom, customers, records, detail, scrubbed_at_ms`,
/// with `$get` the driver's column getter (`get` or `try_get`).
#[macro_export]
#[doc(hidden)]
macro_rules! erasure_entry_of {
    ($row:expr, $get:ident) => {
        $crate::rules::erasure_entry(
            $row.$get(0)?,
            $row.$get(1)?,
            $row.$get(2)?,
            $row.$get(3)?,
            $row.$get(4)?,
            &$row.$get::<_, String>(5)?,
            $row.$get(6)?,
        )
    };
}

/// A [`Decided`] from the first five columns of a row
/// (`seq, record_id, partner_id, effective_at_ms, supersedes`), with
/// `$get` the driver's column getter.
#[macro_export]
#[doc(hidden)]
macro_rules! decided_of {
    ($row:expr, $get:ident) => {
        $crate::rules::Decided {
            seq: $row.$get(0)?,
            record_id: $row.$get(1)?,
            partner_id: $row.$get(2)?,
            effective_at_ms: $row.$get(3)?,
            supersedes: $row.$get(4)?,
        }
    };
}

/// A [`ContactRow`] from a row of the export's query (the columns of
/// `db::CONTACT_ROWS_SQL`).
#[macro_export]
#[doc(hidden)]
macro_rules! contact_row_of {
    ($row:expr, $get:ident) => {
        $crate::rules::ContactRow {
            decided: $crate::decided_of!($row, $get),
            subject: $row.$get(5)?,
            customer_id: $row.$get(6)?,
            body: $row.$get(7)?,
            received_at_ms: $row.$get(8)?,
            salt: $row.$get(9)?,
            contact: consent_core::wire::ContactV1 {
                email: $row.$get(10)?,
                phone: $row.$get(11)?,
                postal: $row.$get(12)?,
            },
        }
    };
}

/// The migrations still to apply to a schema at version `current`, of the
/// `known` this build has; a schema newer than this build is refused.
pub fn pending_migrations(current: i64, known: usize) -> Result<std::ops::Range<usize>, DbError> {
    if current < 0 || current as usize > known {
        return Err(DbError::TooNew {
            found: current,
            known,
        });
    }
    Ok(current as usize..known)
}
