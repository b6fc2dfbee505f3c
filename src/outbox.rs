//! The outbox's imperative shell: localStorage, fetch and timers around the
//! rules in `consent_core::outbox`. Records are written to the outbox before
//! any network call and leave it only when the backend names them. A record
//! the backend refuses stays, marked `failed`; one waiting for a new checkout
//! token stays, `held`. Nothing is dropped silently.
//!
//! JSON goes through the browser's own `JSON.parse`/`JSON.stringify` and
//! serde-wasm-bindgen: a record's JSON text is made once when it is kept,
//! and sent as kept; stored entries and the backend's answers are read into
//! `wire.rs` types.

use std::cell::RefCell;

use consent_core::delivery::{batch_key, parse_retry_after};
use consent_core::domain::Preference;
use consent_core::outbox::{
    Answer, Entry, Kept, Next, Outbox, Reply, Run, RunReport, Status, Store, StoredEntry,
    HOST_LIMITS,
};
use consent_core::outcome::Seen;
use consent_core::wire::{ConsentRecordV1, ErrorBodyV1, StoredV1};
use consent_core::Timestamp;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

use crate::platform;

/// `localStorage`, as the outbox's store.
struct LocalStore;

impl Store for LocalStore {
    fn keys(&self, prefix: &str) -> Result<Vec<String>, String> {
        platform::storage_keys(prefix).map_err(|e| e.0)
    }
    fn get(&self, key: &str) -> Result<Option<String>, String> {
        platform::storage_get(key).map_err(|e| e.0)
    }
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        platform::storage_set(key, value).map_err(|e| e.0)
    }
    fn remove(&mut self, key: &str) -> Result<(), String> {
        platform::storage_remove(key).map_err(|e| e.0)
    }
    fn decode(&self, text: &str) -> Result<(StoredEntry, String), String> {
        let value = js_sys::JSON::parse(text).map_err(|_| "not JSON".to_owned())?;
        // serde-wasm-bindgen refuses what is not a whole number where one is
        // due (`1e400` parses to Infinity), and the key-by-key check refuses
        // fields an entry does not have.
        let entry: StoredEntry = serde_wasm_bindgen::from_value(value.clone()).map_err(|e| {
            let e = JsValue::from(e);
            e.dyn_ref::<js_sys::Error>()
                .map_or_else(|| "not an outbox entry".to_owned(), |e| e.message().into())
        })?;
        let back = platform::to_js(&entry.record).map_err(|e| e.0)?;
        if let Some(issue) = crate::js::unknown_key(&value, &back) {
            return Err(issue.to_string());
        }
        let json = platform::json_stringify(&back).map_err(|e| e.0)?;
        Ok((entry, json))
    }
    fn encode(&self, entry: &Entry) -> Result<String, String> {
        let record = js_sys::JSON::parse(&entry.json).map_err(|_| "the record is not JSON")?;
        let o = js_sys::Object::new();
        let set = |k: &str, v: &JsValue| js_sys::Reflect::set(&o, &JsValue::from_str(k), v);
        let last_error = entry
            .last_error
            .as_deref()
            .map_or(JsValue::NULL, JsValue::from_str);
        set("record", &record)
            .and(set("endpoint", &JsValue::from_str(&entry.endpoint)))
            .and(set("status", &JsValue::from_str(entry.status.as_str())))
            .and(set("attempts", &JsValue::from(entry.attempts)))
            .and(set("lastError", &last_error))
            .map_err(|_| "could not build the entry".to_owned())?;
        platform::json_stringify(&o).map_err(|e| e.0)
    }
}

/// A record's JSON text, as kept in the outbox and sent to the backend:
/// serde-wasm-bindgen, then the browser's `JSON.stringify`.
fn record_json(record: &ConsentRecordV1) -> Result<String, String> {
    platform::to_js(record)
        .and_then(|v| platform::json_stringify(&v))
        .map_err(|e| e.0)
}

/// How to reach the backend. Headers, credentials and the token come from
/// the current config, never from storage, so a stale CSRF token or an
/// expired checkout token is not replayed.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub credentials: &'static str,
    pub token: Option<String>,
}

impl Endpoint {
    pub fn of(config: &consent_core::config::Config) -> Self {
        Endpoint {
            url: config.endpoint.clone(),
            headers: config.headers.clone(),
            credentials: config.credentials.as_str(),
            token: config.token.clone(),
        }
    }
}

thread_local! {
    /// The outbox as this page knows it, read from storage on first use.
    static OUTBOX: RefCell<Option<Outbox>> = const { RefCell::new(None) };
    /// The current way to reach each endpoint (the latest config wins).
    static ENDPOINTS: RefCell<Vec<Endpoint>> = const { RefCell::new(Vec::new()) };
}

fn with_outbox<R>(f: impl FnOnce(&mut Outbox, &mut LocalStore) -> R) -> R {
    OUTBOX.with(|cell| {
        let mut slot = cell.borrow_mut();
        let outbox = slot.get_or_insert_with(|| Outbox::load(&LocalStore));
        f(outbox, &mut LocalStore)
    })
}

/// Remembers how to reach `ep.url` now. Returns true if the token changed.
pub fn set_endpoint(ep: Endpoint) -> bool {
    ENDPOINTS.with(|cell| {
        let mut list = cell.borrow_mut();
        match list.iter_mut().find(|e| e.url == ep.url) {
            Some(old) => {
                let changed = old.token != ep.token;
                *old = ep;
                changed
            }
            None => {
                list.push(ep);
                true
            }
        }
    })
}

fn endpoint(url: &str) -> Endpoint {
    ENDPOINTS.with(|cell| {
        cell.borrow()
            .iter()
            .find(|e| e.url == url)
            .cloned()
            .unwrap_or_else(|| Endpoint {
                url: url.to_owned(),
                headers: Vec::new(),
                credentials: "same-origin",
                token: None,
            })
    })
}

/// Reads what earlier visits left in storage. On the page's first read,
/// returns the entries set aside (never sent) as `(recordId, why)`, so each
/// is reported once per page; `outbox()` lists them at any time.
pub fn refresh() -> Vec<(String, String)> {
    let first = OUTBOX.with(|cell| cell.borrow().is_none());
    with_outbox(|o, s| {
        o.refresh(s);
        o.entries()
            .iter()
            .filter(|e| first && e.status == Status::SetAside)
            .map(|e| (e.id.clone(), e.last_error.clone().unwrap_or_default()))
            .collect()
    })
}

/// Keeps new records in the outbox. `Err` carries why storage refused them
/// (they are then kept in this page's memory only).
pub fn keep(records: &[ConsentRecordV1], url: &str) -> (Kept, Option<String>) {
    with_outbox(|o, s| {
        let entries = records
            .iter()
            .filter_map(|r| match record_json(r) {
                Ok(json) => Some(Entry::new(r, url, json)),
                Err(e) => {
                    platform::error(&format!("record {} could not be kept: {e}", r.record_id));
                    None
                }
            })
            .collect();
        let kept = o.add(s, entries);
        let why = (kept == Kept::Memory).then(|| o.storage_error.clone().unwrap_or_default());
        (kept, why)
    })
}

/// Held records for `url` become pending (a new token came). Returns how many.
pub fn release_held(url: &str) -> usize {
    with_outbox(|o, s| o.release_held(s, url).len())
}

/// Where these records stand now in the outbox, with what the last run
/// heard from the backend: the input of `consent_core::outcome`.
pub fn seen(ids: &[String], run: &RunReport) -> Seen {
    with_outbox(|o, _| {
        let mut seen = Seen {
            message: run.message.clone(),
            field: run.field.clone(),
            unauthorized: run.unauthorized.clone(),
            ..Seen::default()
        };
        for id in ids {
            match o.get(id).map(|e| e.status) {
                Some(Status::Failed) => seen.failed.push(id.clone()),
                Some(Status::Held) => {
                    seen.held.push(id.clone());
                    seen.waiting.push(id.clone());
                }
                Some(_) => seen.waiting.push(id.clone()),
                None => {}
            }
        }
        seen
    })
}

/// Whether every one of these records is in storage (not only in memory).
pub fn kept_on_device(ids: &[String]) -> bool {
    with_outbox(|o, _| ids.iter().all(|id| o.get(id).is_none_or(|e| e.durable)))
}

/// One line of the handle's `outbox()`: an entry, its status and why.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    pub record_id: String,
    pub status: &'static str,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub endpoint: String,
    pub decided_at: String,
    pub kept: &'static str,
}

/// The handle's `outbox()`: every entry, with its status and why.
pub fn listing() -> Vec<Listed> {
    with_outbox(|o, _| {
        o.entries()
            .iter()
            .map(|e| Listed {
                record_id: e.id.clone(),
                status: e.status.as_str(),
                attempts: e.attempts,
                last_error: e.last_error.clone(),
                endpoint: e.endpoint.clone(),
                decided_at: e.decided_at.clone(),
                kept: if e.durable { "device" } else { "memory" },
            })
            .collect()
    })
}

/// One delivery run for an endpoint, and the wait it asked for last.
pub struct Delivery {
    url: String,
    run: Run,
    wait: Option<u64>,
    /// The records this run is about (all of the endpoint's, if empty).
    ids: Vec<String>,
}

/// What a delivery did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub run: RunReport,
    /// This run's records still waiting (pending or held).
    pub pending: Vec<String>,
}

/// `retry()`'s answer: `{delivered, pending, held, failed, message, field, unauthorized}`.
impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut o = s.serialize_struct("Report", 7)?;
        o.serialize_field("delivered", &self.run.delivered)?;
        o.serialize_field("pending", &self.pending)?;
        o.serialize_field("held", &self.run.held)?;
        o.serialize_field("failed", &self.run.failed)?;
        o.serialize_field("message", &self.run.message)?;
        o.serialize_field("field", &self.run.field)?;
        o.serialize_field("unauthorized", &self.run.unauthorized)?;
        o.end()
    }
}

impl Delivery {
    /// Plans the batches for `url`'s pending records (only `only`, if given).
    pub fn start(url: &str, only: Option<Vec<String>>) -> Delivery {
        let run = with_outbox(|o, _| Run::start(o, url, only.as_deref(), HOST_LIMITS));
        let ids = only.unwrap_or_default();
        Delivery {
            url: url.to_owned(),
            run,
            wait: None,
            ids,
        }
    }

    /// Sends batch after batch. With `patient`, waits out retryable faults
    /// (backoff, `Retry-After`) until this visit's tries are used up;
    /// without, stops at the first fault (the records stay pending).
    pub async fn go(&mut self, patient: bool) {
        if let Some(ms) = self.wait.take() {
            if !patient {
                self.wait = Some(ms);
                return;
            }
            platform::sleep(wait_ms(ms)).await;
        }
        loop {
            let Some(batch) = with_outbox(|o, _| self.run.next(o)) else {
                return;
            };
            let answer = post(&self.url, &batch).await;
            let next = with_outbox(|o, s| self.run.apply(o, s, batch, answer, platform::random()));
            match next {
                Next::Continue => {}
                Next::Stop => return,
                Next::Wait(ms) if !patient => {
                    self.wait = Some(ms);
                    return;
                }
                Next::Wait(ms) => {
                    platform::sleep(wait_ms(ms)).await;
                }
            }
        }
    }

    /// Whether the last attempt asked for a retry later.
    pub fn waiting(&self) -> bool {
        self.wait.is_some()
    }

    pub fn report(&self) -> Report {
        let pending = with_outbox(|o, _| {
            if self.ids.is_empty() {
                let mut ids = o.ids(&self.url, Status::Pending);
                ids.extend(o.ids(&self.url, Status::Held));
                ids
            } else {
                self.ids
                    .iter()
                    .filter(|id| {
                        o.get(id)
                            .is_some_and(|e| matches!(e.status, Status::Pending | Status::Held))
                    })
                    .cloned()
                    .collect()
            }
        });
        Report {
            run: self.run.report.clone(),
            pending,
        }
    }
}

/// A wait the core asked for, as a `setTimeout` delay (at most ~24 days).
fn wait_ms(ms: u64) -> u32 {
    ms.min(i32::MAX as u64) as u32
}

/// One POST of these records as one batch, read as an [`Answer`].
async fn post(url: &str, ids: &[String]) -> Answer {
    let ep = endpoint(url);
    // `{"records":[…]}` around the records' JSON text as kept: the rules
    // sized the batch on exactly these bytes (`outbox::body_len`).
    let body = with_outbox(|o, _| {
        let texts: Vec<&str> = ids
            .iter()
            .filter_map(|id| o.get(id))
            .map(|e| e.json.as_str())
            .collect();
        format!("{{\"records\":[{}]}}", texts.join(","))
    });
    let mut headers = ep.headers.clone();
    if let Some(t) = &ep.token {
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
        headers.push(("Authorization".into(), format!("Bearer {t}")));
    }
    let idem = batch_key(ids.iter().map(String::as_str));
    match platform::post_json(&ep.url, &body, &headers, ep.credentials, &idem).await {
        Ok(r) => {
            let retry_after = r
                .retry_after
                .as_deref()
                .and_then(|v| parse_retry_after(v, platform::now()));
            Answer::from_http(r.status, &reply(&r.body), retry_after)
        }
        Err(e) => Answer::network(&e.0),
    }
}

/// Reads an answer's body into what the outbox's rules look at: a success
/// or an error body of the backend's, or neither.
fn reply(body: &str) -> Reply {
    let Ok(value) = js_sys::JSON::parse(body) else {
        return Reply::default();
    };
    Reply {
        stored: serde_wasm_bindgen::from_value::<StoredV1>(value.clone()).ok(),
        error: serde_wasm_bindgen::from_value::<ErrorBodyV1>(value).ok(),
    }
}

/// What this device holds of `customer`'s answers at `venue` (see
/// `Outbox::answers`): records on their way, and those delivered lately.
pub fn device_answers(customer: &str, venue: &str, now: Timestamp) -> Vec<Preference> {
    with_outbox(|o, s| o.answers(s, customer, venue, now))
}
