//! The outbox: records are written to localStorage before any network call,
//! then POSTed in one batch, retried with backoff, and removed only when the
//! backend has stored them. A record the backend refuses stays, marked
//! `failed`, for the venue to inspect. Nothing is dropped silently.

use consent_core::compact::sort_small_by;
use consent_core::delivery::{
    backoff_ms, batch_key, classify, parse_retry_after, record_index, Outcome, MAX_ATTEMPTS,
};
use consent_core::json::{self, object, FromJson, Json, Obj, Path, RawJson, ReadError, ToJson};
use consent_core::wire::{ConsentRecordV1, ErrorBodyV1, StoredV1};

use crate::platform;

/// Where outbox entries live: one localStorage key per record.
pub const OUTBOX_PREFIX: &str = "consent-prompt:outbox:v1:";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryStatus {
    Pending,
    Failed,
}

const STATUS_NAMES: &[(&str, EntryStatus)] = &[
    ("pending", EntryStatus::Pending),
    ("failed", EntryStatus::Failed),
];

/// A record on its way to the backend. Delivery never looks inside a
/// record, so it carries the record's JSON text as written at commit, and
/// only the two fields it needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub id: String,
    /// RFC 3339 in UTC with milliseconds, as records write it: text order is time order.
    pub decided_at: String,
    pub json: String,
}

impl Outgoing {
    pub fn of(r: &ConsentRecordV1) -> Self {
        Outgoing {
            id: r.record_id.clone(),
            decided_at: r.decided_at.to_string(),
            json: r.to_json(),
        }
    }
}

/// One record waiting in the outbox, stored as
/// `{"record", "endpoint", "status", "attempts", "lastError"}`.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEntry {
    pub record: Outgoing,
    pub endpoint: String,
    pub status: EntryStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
}

impl FromJson for OutboxEntry {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let o = Obj::new(
            v,
            at,
            &["record", "endpoint", "status", "attempts", "lastError"],
        )?;
        let record: Json = o.req("record")?;
        let (Some(id), Some(decided_at)) =
            (record.str_field("recordId"), record.str_field("decidedAt"))
        else {
            return Err(ReadError::at(
                &Path::Key(at, "record"),
                "must be a consent record with recordId and decidedAt",
            ));
        };
        Ok(OutboxEntry {
            record: Outgoing {
                id: id.to_owned(),
                decided_at: decided_at.to_owned(),
                json: record.to_json(),
            },
            endpoint: o.req("endpoint")?,
            status: o
                .opt_with("status", |v, at| json::one_of(v, at, STATUS_NAMES))?
                .unwrap_or(EntryStatus::Pending),
            attempts: o.or_default("attempts")?,
            last_error: o.opt("lastError")?,
        })
    }
}

impl ToJson for OutboxEntry {
    fn write_json(&self, out: &mut String) {
        let status = match self.status {
            EntryStatus::Pending => "pending",
            EntryStatus::Failed => "failed",
        };
        object(out, |o| {
            o.field("record", &RawJson(&self.record.json))
                .field("endpoint", &self.endpoint)
                .field("status", status)
                .field("attempts", &self.attempts)
                .field("lastError", &self.last_error);
        });
    }
}

/// How to reach the backend. Headers and credentials come from the current
/// config, never from storage, so a stale CSRF token is not replayed.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub credentials: &'static str,
}

/// What happened to a batch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Stored by the backend (now or earlier).
    pub delivered: Vec<String>,
    /// Safe in the outbox, still to be sent.
    pub pending: Vec<String>,
    /// Refused by the backend; kept in the outbox, marked failed.
    pub failed: Vec<String>,
    /// The backend's (or the browser's) words, when something went wrong.
    pub message: Option<String>,
    /// The JSON path the backend named, if any.
    pub field: Option<String>,
}

impl ToJson for Report {
    fn write_json(&self, out: &mut String) {
        object(out, |o| {
            o.field("delivered", &self.delivered)
                .field("pending", &self.pending)
                .field("failed", &self.failed)
                .field("message", &self.message)
                .field("field", &self.field);
        });
    }
}

impl Endpoint {
    pub fn of(config: &consent_core::config::Config) -> Self {
        Endpoint {
            url: config.endpoint.clone(),
            headers: config.headers.clone(),
            credentials: config.credentials.as_str(),
        }
    }
}

fn key(record_id: &str) -> String {
    format!("{OUTBOX_PREFIX}{record_id}")
}

/// Writes records to the outbox. Fails if any could not be written.
pub fn put(records: &[Outgoing], endpoint: &str) -> platform::Result<()> {
    for r in records {
        let entry = OutboxEntry {
            record: r.clone(),
            endpoint: endpoint.to_owned(),
            status: EntryStatus::Pending,
            attempts: 0,
            last_error: None,
        };
        platform::storage_set(&key(&r.id), &entry.to_json())?;
    }
    Ok(())
}

/// Every entry in the outbox (any endpoint, any status).
pub fn entries() -> platform::Result<Vec<OutboxEntry>> {
    let mut out = Vec::new();
    for k in platform::storage_keys(OUTBOX_PREFIX)? {
        let Some(text) = platform::storage_get(&k)? else {
            continue;
        };
        match json::from_str::<OutboxEntry>(&text) {
            Ok(entry) => out.push(entry),
            // Keep what cannot be read: it may be proof. Say so once per load.
            Err(e) => platform::warn(&format!(
                "outbox entry {k} is unreadable and was left in place ({e})"
            )),
        }
    }
    Ok(out)
}

/// Pending records for this endpoint, oldest decision first.
pub fn pending_for(endpoint: &str) -> Vec<Outgoing> {
    let mut records: Vec<Outgoing> = entries()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.status == EntryStatus::Pending && e.endpoint == endpoint)
        .map(|e| e.record)
        .collect();
    sort_small_by(&mut records, |a, b| a.decided_at.cmp(&b.decided_at));
    records
}

fn update(ids: &[String], f: impl Fn(&mut OutboxEntry)) {
    for id in ids {
        let Ok(Some(text)) = platform::storage_get(&key(id)) else {
            continue;
        };
        let Ok(mut entry) = json::from_str::<OutboxEntry>(&text) else {
            continue;
        };
        f(&mut entry);
        if let Err(e) = platform::storage_set(&key(id), &entry.to_json()) {
            platform::warn(&format!("could not update outbox entry {id}: {e}"));
        }
    }
}

fn remove(ids: &[String]) {
    for id in ids {
        if let Err(e) = platform::storage_remove(&key(id)) {
            platform::warn(&format!(
                "could not clear delivered record {id} from the outbox: {e}"
            ));
        }
    }
}

/// One POST of the whole batch. `Ok` carries the outcome; the outbox is
/// updated to match (removed, attempt counted, or marked failed).
pub async fn send_once(
    records: &[Outgoing],
    endpoint: &Endpoint,
) -> (Outcome, Option<u64>, Report) {
    // The backend stores a batch in one transaction, so one bad record would
    // hold back the others. When it names the record at fault, that one stays
    // in the outbox marked failed and the rest are sent again without it.
    let mut batch = records.to_vec();
    let mut blamed: Vec<String> = Vec::new();
    let mut first_error: Option<(Option<String>, Option<String>)> = None;
    loop {
        let (outcome, retry_after, mut report) = send_batch(&batch, endpoint).await;
        let at_fault = report
            .field
            .as_deref()
            .and_then(record_index)
            .filter(|i| outcome == Outcome::Rejected && batch.len() > 1 && *i < batch.len());
        match at_fault {
            Some(i) => {
                let bad = batch.remove(i);
                first_error.get_or_insert((report.message.clone(), report.field.clone()));
                let others: Vec<String> = batch.iter().map(|r| r.id.clone()).collect();
                update(&others, |e| e.status = EntryStatus::Pending);
                blamed.push(bad.id);
            }
            None => {
                if let Some((message, field)) = first_error {
                    report.failed.extend(blamed);
                    report.message = message;
                    report.field = field;
                }
                return (outcome, retry_after, report);
            }
        }
    }
}

/// One POST of these records, as one batch.
async fn send_batch(records: &[Outgoing], endpoint: &Endpoint) -> (Outcome, Option<u64>, Report) {
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    let mut report = Report::default();
    // The body of `RecordBatchV1`, from the records' JSON as committed.
    let raw: Vec<RawJson<'_>> = records.iter().map(|r| RawJson(&r.json)).collect();
    let mut body = String::new();
    object(&mut body, |o| {
        o.field("records", &raw);
    });
    let idem = batch_key(ids.iter().map(String::as_str));
    let answer = platform::post_json(
        &endpoint.url,
        &body,
        &endpoint.headers,
        endpoint.credentials,
        &idem,
    )
    .await;
    let (status, retry_after, body) = match answer {
        Ok(r) => (
            Some(r.status),
            r.retry_after
                .as_deref()
                .and_then(|v| parse_retry_after(v, platform::now())),
            r.body,
        ),
        Err(e) => (None, None, e.0),
    };
    let outcome = classify(status);
    match outcome {
        Outcome::Delivered => {
            // The backend stores a batch in one transaction: all of it is in.
            if let Ok(stored) = json::from_str::<StoredV1>(&body) {
                report.delivered = stored
                    .stored
                    .into_iter()
                    .map(|s| s.record_id)
                    .chain(stored.duplicates)
                    .collect();
            }
            for id in &ids {
                if !report.delivered.contains(id) {
                    report.delivered.push(id.clone());
                }
            }
            remove(&ids);
        }
        Outcome::Retry => {
            let message = match status {
                None if !body.is_empty() => body,
                None => "network error".into(),
                Some(s) => format!("the server answered {s}; will try again"),
            };
            update(&ids, |e| {
                e.attempts += 1;
                e.last_error = Some(message.clone());
            });
            report.pending = ids;
            report.message = Some(message);
        }
        Outcome::Rejected => {
            let (message, field) = match json::from_str::<ErrorBodyV1>(&body) {
                Ok(b) => (b.error.message, b.error.field),
                Err(_) => (
                    format!("the server refused the records ({})", status.unwrap_or(0)),
                    None,
                ),
            };
            let stored_message = match &field {
                Some(f) => format!("{f}: {message}"),
                None => message.clone(),
            };
            update(&ids, |e| {
                e.attempts += 1;
                e.status = EntryStatus::Failed;
                e.last_error = Some(stored_message.clone());
            });
            report.failed = ids;
            report.message = Some(message);
            report.field = field;
        }
    }
    (outcome, retry_after, report)
}

/// Keeps trying after a first attempt that asked for a retry, until the
/// batch is delivered, refused, or out of tries for this visit (the records
/// then wait in the outbox for the next load).
pub async fn retry(
    records: Vec<Outgoing>,
    endpoint: Endpoint,
    mut retry_after: Option<u64>,
) -> Report {
    let mut attempt = 1;
    loop {
        let wait = backoff_ms(attempt, retry_after, platform::random());
        if let Err(e) = platform::sleep(wait.min(u64::from(u32::MAX)) as u32).await {
            return Report {
                pending: records.iter().map(|r| r.id.clone()).collect(),
                message: Some(e.0),
                ..Report::default()
            };
        }
        let (outcome, ra, report) = send_once(&records, &endpoint).await;
        attempt += 1;
        if outcome != Outcome::Retry || attempt >= MAX_ATTEMPTS {
            return report;
        }
        retry_after = ra;
    }
}
