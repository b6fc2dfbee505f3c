//! The outbox's rules, as a pure state machine.
//!
//! A record is written to the outbox before any network call and leaves it
//! only when the backend has named it in a success answer (`stored[]` or
//! `duplicates[]`). Everything else keeps it, with a status that says why:
//!
//! - `pending`: to be sent (new, or after a retryable fault);
//! - `held`: the backend wanted a new checkout token (401, or 403): sent
//!   again as soon as the page has one; never failed for ever;
//! - `failed`: the backend refused this very record (a 4xx naming it, or a
//!   4xx for a batch of this one record alone); kept as evidence;
//! - `set-aside`: the widget itself cannot vouch for what storage holds
//!   (unreadable, or not a `consent-record/1`); never sent, left in storage
//!   untouched, and reported.
//!
//! [`plan_batches`] splits pending records into batches within the host's
//! limits, and [`Run::apply`] is the transition for every answer. The
//! widget's outbox shell does the fetching, the waiting and the storage
//! calls (through [`Store`]); tests supply an in-memory store.
//!
//! The rules never parse or print JSON themselves: the [`Store`] reads and
//! writes its entries (the widget with the browser's `JSON.parse` and
//! serde-wasm-bindgen, tests with serde_json), and the shell reads the
//! backend's answer into a [`Reply`] of `wire.rs` types.

use crate::compact::sort_small_by;
use crate::delivery::{backoff_ms, record_index, MAX_ATTEMPTS};
use serde::{Deserialize, Serialize};

use crate::domain::Preference;
use crate::time::Timestamp;
use crate::wire::{ConsentRecordV1, ErrorBodyV1, StoredV1};

/// Where outbox entries live: one storage key per record.
pub const PREFIX: &str = "consent-prompt:outbox:v1:";

/// Where records the backend has stored are remembered for a while, so a
/// reload's plan knows what this device's patron answered even before the
/// venue's own preferences do. One key per record; the value is the
/// record's JSON. Only records the patron gave on the web are kept (a box
/// office's shared terminal keeps no one's answers).
pub const ANSWERED_PREFIX: &str = "consent-prompt:answered:v1:";

/// How long a delivered answer is remembered, counted from its decision.
pub const REMEMBER_DAYS: u32 = 30;

/// The storage key of a delivered record's memory.
pub fn answered_key(record_id: &str) -> String {
    format!("{ANSWERED_PREFIX}{record_id}")
}

/// The storage key of a record's entry.
pub fn key(record_id: &str) -> String {
    format!("{PREFIX}{record_id}")
}

/// Durable key-value storage (`localStorage` in the browser). Every call may
/// fail (blocked, full); the error is a plain message.
pub trait Store {
    /// Every key that starts with `prefix`.
    fn keys(&self, prefix: &str) -> Result<Vec<String>, String>;
    fn get(&self, key: &str) -> Result<Option<String>, String>;
    fn set(&mut self, key: &str, value: &str) -> Result<(), String>;
    fn remove(&mut self, key: &str) -> Result<(), String>;
    /// Reads a stored entry's text, strictly (a field it does not know, a
    /// number the backend would refuse, a record that is not a
    /// `consent-record/1`: each is an `Err` saying why). Gives the entry
    /// and its record's JSON text.
    fn decode(&self, text: &str) -> Result<(StoredEntry, String), String>;
    /// Writes an entry as `{"record", "endpoint", "status", "attempts",
    /// "lastError"}`, the record being `entry.json`.
    fn encode(&self, entry: &Entry) -> Result<String, String>;
}

/// A stored entry, as read from storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoredEntry {
    pub record: ConsentRecordV1,
    pub endpoint: String,
    #[serde(default)]
    pub status: Option<StoredStatus>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub last_error: Option<String>,
}

/// The statuses storage holds (`set-aside` is never written).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoredStatus {
    Pending,
    Held,
    Failed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Held,
    Failed,
    SetAside,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Held => "held",
            Status::Failed => "failed",
            Status::SetAside => "set-aside",
        }
    }
}

/// One record in the outbox. Delivery never looks inside a record after it
/// was vouched for: it carries the record's JSON text and the two fields it
/// needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub id: String,
    /// RFC 3339 UTC with milliseconds: text order is time order.
    pub decided_at: String,
    /// The record's JSON (for a set-aside entry: the stored text as found).
    pub json: String,
    pub endpoint: String,
    pub status: Status,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Whether storage holds this entry's latest state.
    pub durable: bool,
    /// Remember the answer once delivered (a patron's own, on the web).
    pub remember: bool,
    /// The answer the record holds, and whose it is (none when set aside).
    pub held: Option<Held>,
}

/// An answer this device holds: whose, at which venue, and what.
#[derive(Clone, Debug, PartialEq)]
pub struct Held {
    pub customer_id: String,
    pub venue_id: String,
    pub answer: Preference,
}

impl Held {
    pub fn of(record: &ConsentRecordV1) -> Held {
        Held {
            customer_id: record.customer_id.clone(),
            venue_id: record.venue.id.clone(),
            answer: crate::current::preference_of(record),
        }
    }
}

impl Entry {
    /// A record just committed, not yet kept anywhere; `json` is its JSON
    /// text, as the shell wrote it.
    pub fn new(record: &ConsentRecordV1, endpoint: &str, json: String) -> Self {
        Entry {
            id: record.record_id.clone(),
            decided_at: record.decided_at.to_string(),
            json,
            endpoint: endpoint.to_owned(),
            status: Status::Pending,
            attempts: 0,
            last_error: None,
            durable: false,
            remember: !record.collection.channel.is_assisted(),
            held: Some(Held::of(record)),
        }
    }

    /// Reads a stored entry. Never fails: what cannot be vouched for is set
    /// aside, with the reason.
    pub fn read(key: &str, text: &str, store: &dyn Store) -> Entry {
        let id = key.strip_prefix(PREFIX).unwrap_or(key).to_owned();
        match store.decode(text) {
            Ok((s, json)) => Entry {
                id: s.record.record_id.clone(),
                decided_at: s.record.decided_at.to_string(),
                json,
                endpoint: s.endpoint,
                status: match s.status {
                    None | Some(StoredStatus::Pending) => Status::Pending,
                    Some(StoredStatus::Held) => Status::Held,
                    Some(StoredStatus::Failed) => Status::Failed,
                },
                attempts: s.attempts,
                last_error: s.last_error,
                durable: true,
                remember: !s.record.collection.channel.is_assisted(),
                held: Some(Held::of(&s.record)),
            },
            Err(e) => Entry {
                id,
                decided_at: String::new(),
                json: text.to_owned(),
                endpoint: String::new(),
                status: Status::SetAside,
                attempts: 0,
                last_error: Some(format!("set aside: the stored entry is unreadable ({e})")),
                durable: true,
                remember: false,
                held: None,
            },
        }
    }
}

/// Where records are kept after [`Outbox::add`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kept {
    /// In storage: they survive a reload or a closed tab.
    Device,
    /// Only in this page's memory: storage refused them.
    Memory,
}

impl Kept {
    pub fn as_str(self) -> &'static str {
        match self {
            Kept::Device => "device",
            Kept::Memory => "memory",
        }
    }
}

/// The outbox as this page knows it: the truth for this visit, mirrored
/// to storage on every change (when storage allows).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outbox {
    entries: Vec<Entry>,
    /// The last storage failure, if storage failed since it was read.
    pub storage_error: Option<String>,
}

impl Outbox {
    /// Reads every entry from storage.
    pub fn load(store: &dyn Store) -> Outbox {
        let mut outbox = Outbox::default();
        outbox.refresh(store);
        outbox
    }

    /// Adds what storage holds and this page does not know yet (another
    /// visit's records). Entries known here are kept as they are.
    pub fn refresh(&mut self, store: &dyn Store) {
        let keys = match store.keys(PREFIX) {
            Ok(k) => k,
            Err(e) => {
                self.storage_error = Some(e);
                return;
            }
        };
        for k in keys {
            let id = k.strip_prefix(PREFIX).unwrap_or(&k);
            if self.entries.iter().any(|e| e.id == id) {
                continue;
            }
            match store.get(&k) {
                Ok(Some(text)) => self.entries.push(Entry::read(&k, &text, store)),
                Ok(None) => {}
                Err(e) => self.storage_error = Some(e),
            }
        }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// Keeps new records: in memory always, in storage if it allows.
    pub fn add(&mut self, store: &mut dyn Store, new: Vec<Entry>) -> Kept {
        let mut kept = Kept::Device;
        for entry in new {
            if self.get(&entry.id).is_some() {
                continue;
            }
            self.entries.push(entry);
            let i = self.entries.len() - 1;
            if !self.save(store, i) {
                kept = Kept::Memory;
            }
        }
        kept
    }

    /// Writes entry `i` to storage; false if storage refused.
    fn save(&mut self, store: &mut dyn Store, i: usize) -> bool {
        let e = &mut self.entries[i];
        if e.status == Status::SetAside {
            return true; // left in storage exactly as found
        }
        match store
            .encode(e)
            .and_then(|text| store.set(&key(&e.id), &text))
        {
            Ok(()) => {
                e.durable = true;
                true
            }
            Err(err) => {
                e.durable = false;
                self.storage_error = Some(err);
                false
            }
        }
    }

    fn update(&mut self, store: &mut dyn Store, id: &str, f: impl FnOnce(&mut Entry)) {
        if let Some(i) = self.entries.iter().position(|e| e.id == id) {
            f(&mut self.entries[i]);
            self.save(store, i);
        }
    }

    /// Forgets a record the backend has named. If storage will not let it
    /// go, the next visit sends it again and the backend lists it as a
    /// duplicate: harmless.
    fn remove(&mut self, store: &mut dyn Store, id: &str) {
        if let Some(i) = self.entries.iter().position(|e| e.id == id) {
            let e = self.entries.remove(i);
            // Remembered before the entry goes: a full storage loses only
            // the memory, never the record (the backend has it).
            if e.remember {
                let kept = store
                    .encode(&e)
                    .and_then(|text| store.set(&answered_key(id), &text));
                if let Err(err) = kept {
                    self.storage_error = Some(err);
                }
            }
            if let Err(err) = store.remove(&key(id)) {
                self.storage_error = Some(err);
            }
        }
    }

    /// What this device holds of `customer`'s answers at `venue`: records
    /// on their way (pending or held) and records delivered in the last
    /// [`REMEMBER_DAYS`] days, for the plan. Another customer's or venue's
    /// never appear; remembered answers past their time are forgotten
    /// here, and unreadable ones are forgotten too (the backend has them).
    pub fn answers(
        &mut self,
        store: &mut dyn Store,
        customer: &str,
        venue: &str,
        now: Timestamp,
    ) -> Vec<Preference> {
        let mine = |h: &Held| h.customer_id == customer && h.venue_id == venue;
        let mut out: Vec<Preference> = self
            .entries
            .iter()
            .filter(|e| matches!(e.status, Status::Pending | Status::Held))
            .filter_map(|e| e.held.as_ref())
            .filter(|h| mine(h))
            .map(|h| h.answer.clone())
            .collect();
        let keys = match store.keys(ANSWERED_PREFIX) {
            Ok(keys) => keys,
            Err(e) => {
                self.storage_error = Some(e);
                return out;
            }
        };
        for key in keys {
            let held = match store.get(&key) {
                Ok(Some(text)) => store.decode(&text).ok().map(|(s, _)| Held::of(&s.record)),
                Ok(None) => continue,
                Err(e) => {
                    self.storage_error = Some(e);
                    continue;
                }
            };
            match held {
                Some(h) if h.answer.decided_at.plus_days(REMEMBER_DAYS) > now => {
                    if mine(&h) && !out.iter().any(|a| a.record_id == h.answer.record_id) {
                        out.push(h.answer);
                    }
                }
                _ => {
                    if let Err(e) = store.remove(&key) {
                        self.storage_error = Some(e);
                    }
                }
            }
        }
        out
    }

    /// Held records become pending again (a new token came). Returns their ids.
    pub fn release_held(&mut self, store: &mut dyn Store, endpoint: &str) -> Vec<String> {
        let ids: Vec<String> = self
            .entries
            .iter()
            .filter(|e| e.status == Status::Held && e.endpoint == endpoint)
            .map(|e| e.id.clone())
            .collect();
        for id in &ids {
            self.update(store, id, |e| e.status = Status::Pending);
        }
        ids
    }

    /// Ids of this endpoint's entries with `status`.
    pub fn ids(&self, endpoint: &str, status: Status) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| e.status == status && e.endpoint == endpoint)
            .map(|e| e.id.clone())
            .collect()
    }
}

/// The host's documented limits for one POST.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_records: usize,
    pub max_body_bytes: usize,
}

/// The reference host takes up to 500 records and 1 MiB per batch; the body
/// stays under 900 KiB to leave a margin.
pub const HOST_LIMITS: Limits = Limits {
    max_records: 500,
    max_body_bytes: 900 * 1024,
};

/// The length of `{"records":[…]}` for records of these JSON lengths.
pub fn body_len(record_lens: impl IntoIterator<Item = usize>) -> usize {
    let (n, sum) = record_lens
        .into_iter()
        .fold((0usize, 0usize), |(n, s), l| (n + 1, s + l));
    r#"{"records":[]}"#.len() + sum + n.saturating_sub(1)
}

/// Splits this endpoint's pending entries (only those in `only`, when
/// given) into batches, oldest decision first, each within `limits`. A
/// record too large for any batch goes alone (the backend then refuses it
/// on its own, never with others).
pub fn plan_batches(
    entries: &[Entry],
    endpoint: &str,
    only: Option<&[String]>,
    limits: Limits,
) -> Vec<Vec<String>> {
    let mut todo: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.status == Status::Pending && e.endpoint == endpoint)
        .filter(|e| only.is_none_or(|ids| ids.contains(&e.id)))
        .collect();
    sort_small_by(&mut todo, |a, b| a.decided_at.cmp(&b.decided_at));
    let mut batches: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut size = body_len([]);
    for e in todo {
        let extra = e.json.len() + usize::from(!current.is_empty());
        if !current.is_empty()
            && (current.len() >= limits.max_records.max(1) || size + extra > limits.max_body_bytes)
        {
            batches.push(std::mem::take(&mut current));
            size = body_len([]);
        }
        size += e.json.len() + usize::from(!current.is_empty());
        current.push(e.id.clone());
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// The backend's answer to one batch, as far as the outbox cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 2xx: the records it names in `stored[].recordId` or `duplicates[]`
    /// (none, when the body is not the backend's: a captive portal, a proxy).
    Stored(Vec<String>),
    /// 401 or 403: the checkout token is missing, expired or does not cover
    /// a record (`field` may name it).
    Unauthorized {
        message: String,
        field: Option<String>,
    },
    /// Any other 4xx: the backend will not take this batch as it is.
    Refused {
        status: u16,
        message: String,
        field: Option<String>,
    },
    /// No answer, 408, 429, 5xx (or anything else): worth another try.
    Fault {
        message: String,
        retry_after_ms: Option<u64>,
    },
}

impl Answer {
    /// Reads an HTTP answer. `retry_after_ms` comes from `Retry-After`.
    pub fn from_http(status: u16, body: &Reply, retry_after_ms: Option<u64>) -> Answer {
        match status {
            200..=299 => Answer::Stored(body.named()),
            401 | 403 => {
                let (message, field) = body.error_of(status);
                Answer::Unauthorized { message, field }
            }
            408 | 429 => Answer::Fault {
                message: format!("the server answered {status}; will try again"),
                retry_after_ms,
            },
            400..=499 => {
                let (message, field) = body.error_of(status);
                Answer::Refused {
                    status,
                    message,
                    field,
                }
            }
            _ => Answer::Fault {
                message: format!("the server answered {status}; will try again"),
                retry_after_ms,
            },
        }
    }

    /// The request got no HTTP answer (network down, CORS, DNS).
    pub fn network(message: &str) -> Answer {
        Answer::Fault {
            message: if message.is_empty() {
                "network error".into()
            } else {
                message.to_owned()
            },
            retry_after_ms: None,
        }
    }
}

/// An answer's body as the shell read it: a success body
/// (`{"stored": [{recordId, receivedAt}], "duplicates": [ids]}`) or an error
/// body (`{"error": {code, message, field}}`), or neither when the body is
/// not the backend's (a captive portal, a proxy, nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    pub stored: Option<StoredV1>,
    pub error: Option<ErrorBodyV1>,
}

impl Reply {
    /// The record ids a success body names, in `stored[].recordId` and `duplicates[]`.
    fn named(&self) -> Vec<String> {
        let Some(s) = &self.stored else {
            return Vec::new();
        };
        s.stored
            .iter()
            .map(|r| r.record_id.clone())
            .chain(s.duplicates.iter().cloned())
            .collect()
    }

    fn error_of(&self, status: u16) -> (String, Option<String>) {
        match &self.error {
            Some(b) => (b.error.message.clone(), b.error.field.clone()),
            None => (format!("the server refused the records ({status})"), None),
        }
    }
}

/// What a run did, for the commit summary, events and `retry()`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Named by the backend: stored now or earlier.
    pub delivered: Vec<String>,
    /// Refused by the backend; kept, marked failed.
    pub failed: Vec<String>,
    /// Waiting for a new token.
    pub held: Vec<String>,
    /// The first refusal's words and field.
    pub message: Option<String>,
    pub field: Option<String>,
    /// The last retryable fault, if any.
    pub fault: Option<String>,
    /// The backend wanted a (new) token.
    pub unauthorized: Option<String>,
}

/// What the shell does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Send the next batch now (if there is one).
    Continue,
    /// Wait this long, then send the next batch (the same one again).
    Wait(u64),
    /// Stop: out of tries for this visit, or the token was refused.
    Stop,
}

/// One delivery run: the batches still to send, front first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Run {
    queue: Vec<Vec<String>>,
    faults: u32,
    pub report: RunReport,
}

impl Run {
    /// Plans a run over this endpoint's pending entries (only those in
    /// `only`, when given).
    pub fn start(outbox: &Outbox, endpoint: &str, only: Option<&[String]>, limits: Limits) -> Run {
        let mut queue = plan_batches(&outbox.entries, endpoint, only, limits);
        queue.reverse(); // popped from the end
        Run {
            queue,
            faults: 0,
            report: RunReport::default(),
        }
    }

    /// Retryable faults so far in this run.
    pub fn faults(&self) -> u32 {
        self.faults
    }

    /// The next batch to send: the records of the front batch that are
    /// still pending (another run may have delivered some meanwhile).
    pub fn next(&mut self, outbox: &Outbox) -> Option<Vec<String>> {
        while let Some(batch) = self.queue.pop() {
            let live: Vec<String> = batch
                .into_iter()
                .filter(|id| outbox.get(id).is_some_and(|e| e.status == Status::Pending))
                .collect();
            if !live.is_empty() {
                return Some(live);
            }
        }
        None
    }

    /// Ids still queued in this run (not counting a batch taken by `next`).
    pub fn queued(&self) -> Vec<String> {
        self.queue.iter().rev().flatten().cloned().collect()
    }

    fn push_front(&mut self, batch: Vec<String>) {
        if !batch.is_empty() {
            self.queue.push(batch);
        }
    }

    /// The transition: the backend answered `answer` to `batch`.
    /// `jitter` in [0, 1) spreads retries.
    pub fn apply(
        &mut self,
        outbox: &mut Outbox,
        store: &mut dyn Store,
        batch: Vec<String>,
        answer: Answer,
        jitter: f64,
    ) -> Next {
        for id in &batch {
            outbox.update(store, id, |e| e.attempts = e.attempts.saturating_add(1));
        }
        match answer {
            Answer::Stored(named) => {
                let (hit, rest): (Vec<String>, Vec<String>) =
                    batch.into_iter().partition(|id| named.contains(id));
                for id in &hit {
                    outbox.remove(store, id);
                }
                let none = hit.is_empty();
                self.report.delivered.extend(hit);
                if none {
                    return self.fault(
                        outbox,
                        store,
                        rest,
                        "the server answered without naming the records; will try again".into(),
                        None,
                        jitter,
                    );
                }
                self.push_front(rest);
                Next::Continue
            }
            Answer::Refused {
                status,
                message,
                field,
            } => {
                let blamed = field
                    .as_deref()
                    .and_then(record_index)
                    .filter(|i| *i < batch.len());
                match blamed {
                    Some(i) => {
                        let mut rest = batch;
                        let bad = rest.remove(i);
                        self.fail(outbox, store, &bad, &message, field);
                        self.push_front(rest);
                    }
                    None if batch.len() > 1 => {
                        // The backend did not say which record: send each
                        // half on its own, down to single records.
                        let mut first = batch;
                        let second = first.split_off(first.len() / 2);
                        self.push_front(second);
                        self.push_front(first);
                    }
                    None => {
                        let field = field.or_else(|| Some(format!("({status})")));
                        self.fail(outbox, store, &batch[0], &message, field);
                    }
                }
                Next::Continue
            }
            Answer::Unauthorized { message, field } => {
                let blamed = field
                    .as_deref()
                    .and_then(record_index)
                    .filter(|i| *i < batch.len() && batch.len() > 1);
                let reason = format!("unauthorized: {message}");
                self.report.unauthorized = Some(message);
                match blamed {
                    Some(i) => {
                        let mut rest = batch;
                        let held = rest.remove(i);
                        self.hold(outbox, store, &held, &reason);
                        self.push_front(rest);
                        Next::Continue
                    }
                    None => {
                        for id in &batch {
                            self.hold(outbox, store, id, &reason);
                        }
                        Next::Stop
                    }
                }
            }
            Answer::Fault {
                message,
                retry_after_ms,
            } => self.fault(outbox, store, batch, message, retry_after_ms, jitter),
        }
    }

    fn fail(
        &mut self,
        outbox: &mut Outbox,
        store: &mut dyn Store,
        id: &str,
        message: &str,
        field: Option<String>,
    ) {
        let stored = match &field {
            Some(f) => format!("{f}: {message}"),
            None => message.to_owned(),
        };
        outbox.update(store, id, |e| {
            e.status = Status::Failed;
            e.last_error = Some(stored);
        });
        if self.report.message.is_none() {
            self.report.message = Some(message.to_owned());
            self.report.field = field.filter(|f| !f.starts_with('('));
        }
        self.report.failed.push(id.to_owned());
    }

    fn hold(&mut self, outbox: &mut Outbox, store: &mut dyn Store, id: &str, reason: &str) {
        outbox.update(store, id, |e| {
            e.status = Status::Held;
            e.last_error = Some(reason.to_owned());
        });
        self.report.held.push(id.to_owned());
    }

    fn fault(
        &mut self,
        outbox: &mut Outbox,
        store: &mut dyn Store,
        batch: Vec<String>,
        message: String,
        retry_after_ms: Option<u64>,
        jitter: f64,
    ) -> Next {
        for id in &batch {
            outbox.update(store, id, |e| e.last_error = Some(message.clone()));
        }
        self.report.fault = Some(message);
        self.push_front(batch);
        self.faults += 1;
        if self.faults >= MAX_ATTEMPTS {
            Next::Stop
        } else {
            Next::Wait(backoff_ms(self.faults, retry_after_ms, jitter))
        }
    }
}
