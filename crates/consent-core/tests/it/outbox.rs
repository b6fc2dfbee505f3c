//! The outbox's rules: batches within the host's limits, one transition per
//! kind of answer, and the promise that no record is ever lost or silently
//! dropped, whatever the backend, the network and storage do.

use std::collections::{BTreeMap, BTreeSet};

use consent_core::outbox::{
    answered_key, body_len, key, plan_batches, Answer, Entry, Kept, Limits, Next, Outbox, Reply,
    Run, Status, Store, StoredEntry, HOST_LIMITS, PREFIX,
};
use consent_core::wire::ConsentRecordV1;
use consent_core::Timestamp;
use proptest::prelude::*;

const EP: &str = "/api/v1/consent-records";

fn record_json(id: &str, n: usize) -> String {
    format!(
        r#"{{"schema":"consent-record/1","recordId":"{id}","supersedes":null,"customerId":"C-1001",
"venue":{{"id":"riverside","name":"Riverside Playhouse"}},
"partner":{{"id":"northern-lights","name":"Northern Lights","privacyUrl":"https://northern-lights.example/privacy"}},
"purpose":"marketing","channels":["email"],"state":"given","dpvState":"ConsentGiven",
"notice":{{"id":"nl","version":2,"language":"en-GB","text":"Northern Lights would like to email you.","sha256":"{sha}"}},
"presentation":{{"mode":"individual","control":"radio","preselected":false}},"action":"selected-yes",
"presentedAt":"2026-11-25T14:02:51.208Z","decidedAt":"2026-11-25T14:{mm:02}:{ss:02}.120Z",
"collection":{{"channel":"web","embed":"module","pageOrigin":"https://tickets.example","pagePath":"/checkout",
"widgetVersion":"0.1.0","basketRef":null,"eventIds":["hamlet"],"operatorId":null,"expressedBy":"customer","gpc":null}},
"jurisdiction":"GB","validUntil":null}}"#,
        sha = "0".repeat(64),
        mm = (n / 60) % 60,
        ss = n % 60,
    )
}

fn entry(id: &str, n: usize) -> Entry {
    let r: ConsentRecordV1 = serde_json::from_str(&record_json(id, n)).expect("a valid record");
    let json = serde_json::to_string(&r).expect("serialises");
    Entry::new(&r, EP, json)
}

/// An answer as the shell reads it: the body as the backend's success or
/// error shape, or neither.
fn http(status: u16, body: &str, retry_after_ms: Option<u64>) -> Answer {
    let reply = Reply {
        stored: serde_json::from_str(body).ok(),
        error: serde_json::from_str(body).ok(),
    };
    Answer::from_http(status, &reply, retry_after_ms)
}

/// localStorage stand-in: can be told to fail every call.
#[derive(Default, Clone)]
struct MemStore {
    map: BTreeMap<String, String>,
    failing: bool,
}

impl Store for MemStore {
    fn keys(&self, prefix: &str) -> Result<Vec<String>, String> {
        if self.failing {
            return Err("storage blocked".into());
        }
        Ok(self
            .map
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }
    fn get(&self, key: &str) -> Result<Option<String>, String> {
        if self.failing {
            return Err("storage blocked".into());
        }
        Ok(self.map.get(key).cloned())
    }
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        if self.failing {
            return Err("storage full".into());
        }
        self.map.insert(key.into(), value.into());
        Ok(())
    }
    fn decode(&self, text: &str) -> Result<(StoredEntry, String), String> {
        let e: StoredEntry = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let json = serde_json::to_string(&e.record).map_err(|e| e.to_string())?;
        Ok((e, json))
    }
    fn encode(&self, e: &Entry) -> Result<String, String> {
        let record: serde_json::Value = serde_json::from_str(&e.json).map_err(|e| e.to_string())?;
        Ok(serde_json::json!({
            "record": record,
            "endpoint": e.endpoint,
            "status": e.status.as_str(),
            "attempts": e.attempts,
            "lastError": e.last_error,
        })
        .to_string())
    }
    fn remove(&mut self, key: &str) -> Result<(), String> {
        if self.failing {
            return Err("storage blocked".into());
        }
        self.map.remove(key);
        Ok(())
    }
}

fn outbox_of(n: usize) -> (Outbox, MemStore, Vec<String>) {
    let mut store = MemStore::default();
    let mut outbox = Outbox::default();
    let ids: Vec<String> = (0..n).map(|i| format!("r{i:03}")).collect();
    let kept = outbox.add(
        &mut store,
        ids.iter().enumerate().map(|(i, id)| entry(id, i)).collect(),
    );
    assert_eq!(kept, Kept::Device);
    (outbox, store, ids)
}

fn status(outbox: &Outbox, id: &str) -> Option<Status> {
    outbox.get(id).map(|e| e.status)
}

fn stored_body(ids: &[&str]) -> String {
    let stored: Vec<String> = ids
        .iter()
        .map(|id| format!(r#"{{"recordId":"{id}","receivedAt":"2026-11-25T14:03:07.402Z"}}"#))
        .collect();
    format!(r#"{{"stored":[{}],"duplicates":[]}}"#, stored.join(","))
}

fn error_body(code: &str, field: Option<&str>) -> String {
    let field = field.map_or("null".to_owned(), |f| format!("\"{f}\""));
    format!(r#"{{"error":{{"code":"{code}","message":"no","field":{field}}}}}"#)
}

// ---- Batches ---------------------------------------------------------------

#[test]
fn an_outbox_larger_than_one_batch_is_sent_in_batches_within_the_limits() {
    let (outbox, _, ids) = outbox_of(501);
    let batches = plan_batches(outbox.entries(), EP, None, HOST_LIMITS);
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[0].len(), 500);
    assert_eq!(batches[1].len(), 1);
    let all: Vec<String> = batches.concat();
    assert_eq!(all, ids, "every record once, oldest decision first");
}

#[test]
fn batches_stay_under_the_body_limit() {
    let (outbox, _, _) = outbox_of(40);
    let size = outbox.entries()[0].json.len();
    let limits = Limits {
        max_records: 500,
        max_body_bytes: body_len([size; 7]),
    };
    let batches = plan_batches(outbox.entries(), EP, None, limits);
    assert!(batches.iter().all(|b| b.len() == 7 || b.len() == 40 % 7));
    for b in &batches {
        let len = body_len(
            b.iter()
                .map(|id| outbox.get(id).map_or(0, |e| e.json.len())),
        );
        assert!(len <= limits.max_body_bytes);
    }
}

#[test]
fn a_record_too_large_for_any_batch_goes_alone() {
    let (outbox, _, _) = outbox_of(3);
    let limits = Limits {
        max_records: 500,
        max_body_bytes: 10,
    };
    let batches = plan_batches(outbox.entries(), EP, None, limits);
    assert_eq!(batches.len(), 3);
}

#[test]
fn only_pending_records_of_this_endpoint_are_planned() {
    let (mut outbox, mut store, ids) = outbox_of(3);
    let mut other = entry("elsewhere", 9);
    other.endpoint = "https://other.example/records".into();
    outbox.add(&mut store, vec![other]);
    let mut run = Run::start(&outbox, EP, None, HOST_LIMITS);
    let batch = run.next(&outbox).expect("a batch");
    run.apply(
        &mut outbox,
        &mut store,
        batch,
        http(
            422,
            &error_body("invalid_record", Some("records[1].partner.id")),
            None,
        ),
        0.5,
    );
    let batches = plan_batches(outbox.entries(), EP, None, HOST_LIMITS);
    assert_eq!(batches, vec![vec![ids[0].clone(), ids[2].clone()]]);
}

// ---- Transitions -------------------------------------------------------------

/// Sends the first batch of a 3-record outbox and applies `answer`.
fn one_answer(status: u16, body: &str) -> (Outbox, MemStore, Run, Vec<String>, Next) {
    let (mut outbox, mut store, ids) = outbox_of(3);
    let mut run = Run::start(&outbox, EP, None, HOST_LIMITS);
    let batch = run.next(&outbox).expect("a batch");
    let next = run.apply(
        &mut outbox,
        &mut store,
        batch,
        http(status, body, None),
        0.0,
    );
    (outbox, store, run, ids, next)
}

#[test]
fn only_records_the_backend_names_leave_the_outbox() {
    let (outbox, store, run, ids, next) = one_answer(201, &stored_body(&["r000", "r002"]));
    assert_eq!(next, Next::Continue);
    assert_eq!(status(&outbox, &ids[0]), None);
    assert_eq!(status(&outbox, &ids[1]), Some(Status::Pending));
    assert_eq!(status(&outbox, &ids[2]), None);
    assert!(!store.map.contains_key(&key(&ids[0])));
    assert!(store.map.contains_key(&key(&ids[1])));
    assert_eq!(run.report.delivered, vec!["r000", "r002"]);
    assert_eq!(run.queued(), vec!["r001"], "the unnamed one is sent again");
}

#[test]
fn a_delivered_web_answer_is_remembered_and_a_refused_one_is_not() {
    let (_, store, _, ids, _) = one_answer(201, &stored_body(&["r000", "r002"]));
    // Remembered as the record itself, so a reload's plan knows the answer.
    let remembered = store.map.get(&answered_key(&ids[0])).expect("remembered");
    let (entry, _) = store.decode(remembered).expect("an entry");
    assert_eq!(entry.record.record_id, ids[0]);
    assert!(
        !store.map.contains_key(&answered_key(&ids[1])),
        "not delivered yet"
    );
    let (_, store, _, ids, _) = one_answer(422, &error_body("invalid", Some("records[0]")));
    assert!(ids
        .iter()
        .all(|id| !store.map.contains_key(&answered_key(id))));
}

#[test]
fn the_device_answers_are_this_patrons_at_this_venue_pending_or_lately_delivered() {
    // r000 and r002 delivered (remembered), r001 still pending.
    let (mut outbox, mut store, _, ids, _) = one_answer(201, &stored_body(&["r000", "r002"]));
    // Another patron's pending record, and another venue's.
    let other = record_json("zz-other", 9).replace("C-1001", "C-2002");
    let elsewhere =
        record_json("zz-elsewhere", 9).replace(r#""id":"riverside""#, r#""id":"harbour""#);
    for json in [other, elsewhere] {
        let r: ConsentRecordV1 = serde_json::from_str(&json).unwrap();
        outbox.add(
            &mut store,
            vec![Entry::new(&r, EP, serde_json::to_string(&r).unwrap())],
        );
    }
    // The fixture decides on 2026-11-25.
    let soon = Timestamp::parse_rfc3339("2026-12-01T00:00:00Z").unwrap();
    let mut got: Vec<String> = outbox
        .answers(&mut store, "C-1001", "riverside", soon)
        .into_iter()
        .filter_map(|a| a.record_id)
        .collect();
    got.sort();
    assert_eq!(got, ids, "pending and remembered, nobody else's");
    // Past the remembering time, delivered answers are forgotten; pending
    // ones still count (they are not stored anywhere else yet).
    let later = Timestamp::parse_rfc3339("2027-01-30T00:00:00Z").unwrap();
    let got: Vec<String> = outbox
        .answers(&mut store, "C-1001", "riverside", later)
        .into_iter()
        .filter_map(|a| a.record_id)
        .collect();
    assert_eq!(got, vec![ids[1].clone()]);
    assert!(!store.map.contains_key(&answered_key(&ids[0])), "forgotten");
}

#[test]
fn a_box_office_answer_is_never_remembered_on_the_terminal() {
    let mut store = MemStore::default();
    let mut outbox = Outbox::default();
    let json = record_json("desk", 1).replace(r#""channel":"web""#, r#""channel":"box-office""#);
    let r: ConsentRecordV1 = serde_json::from_str(&json).expect("a valid record");
    outbox.add(
        &mut store,
        vec![Entry::new(&r, EP, serde_json::to_string(&r).unwrap())],
    );
    let mut run = Run::start(&outbox, EP, None, HOST_LIMITS);
    let batch = run.next(&outbox).expect("a batch");
    run.apply(
        &mut outbox,
        &mut store,
        batch,
        http(201, &stored_body(&["desk"]), None),
        0.0,
    );
    assert!(outbox.get("desk").is_none(), "delivered");
    assert!(!store.map.contains_key(&answered_key("desk")));
}

#[test]
fn duplicates_count_as_delivered() {
    let body = r#"{"stored":[],"duplicates":["r000","r001","r002"]}"#;
    let (outbox, _, run, _, _) = one_answer(201, body);
    assert!(outbox.entries().is_empty());
    assert_eq!(run.report.delivered.len(), 3);
}

#[test]
fn a_success_naming_no_record_keeps_them_pending_and_retries() {
    for body in [
        "{}",
        "<html>Welcome to the hotel wifi</html>",
        "",
        r#"{"stored":[]}"#,
    ] {
        let (outbox, _, run, ids, next) = one_answer(200, body);
        assert!(matches!(next, Next::Wait(_)), "{body:?}: {next:?}");
        for id in &ids {
            assert_eq!(status(&outbox, id), Some(Status::Pending), "{body:?}");
        }
        assert_eq!(run.queued().len(), 3);
        assert!(run.report.delivered.is_empty());
    }
}

#[test]
fn a_refusal_naming_one_record_fails_only_that_record() {
    let body = error_body("invalid_record", Some("records[1].notice.sha256"));
    let (outbox, store, run, ids, next) = one_answer(422, &body);
    assert_eq!(next, Next::Continue);
    assert_eq!(status(&outbox, &ids[0]), Some(Status::Pending));
    assert_eq!(status(&outbox, &ids[1]), Some(Status::Failed));
    assert_eq!(status(&outbox, &ids[2]), Some(Status::Pending));
    assert_eq!(run.queued(), vec!["r000", "r002"]);
    assert_eq!(run.report.failed, vec!["r001"]);
    assert_eq!(
        run.report.field.as_deref(),
        Some("records[1].notice.sha256")
    );
    let saved = store.map.get(&key(&ids[1])).expect("kept in storage");
    assert!(saved.contains(r#""status":"failed""#), "{saved}");
    assert!(saved.contains("records[1].notice.sha256: no"), "{saved}");
}

#[test]
fn a_refusal_naming_no_record_splits_the_batch_in_halves() {
    for (status_code, body) in [
        (413, error_body("payload_too_large", None)),
        (422, error_body("invalid_record", Some("records"))),
        (400, error_body("malformed_json", None)),
        (400, "not json".to_owned()),
    ] {
        let (outbox, _, run, ids, next) = one_answer(status_code, &body);
        assert_eq!(next, Next::Continue);
        for id in &ids {
            assert_eq!(status(&outbox, id), Some(Status::Pending), "{status_code}");
        }
        assert_eq!(run.queued(), vec!["r000", "r001", "r002"]);
        assert!(
            run.report.failed.is_empty(),
            "{status_code}: nothing condemned"
        );
    }
}

#[test]
fn a_single_record_refused_without_a_name_fails_on_its_own() {
    let (mut outbox, mut store, ids) = outbox_of(1);
    let mut run = Run::start(&outbox, EP, None, HOST_LIMITS);
    let batch = run.next(&outbox).expect("a batch");
    run.apply(
        &mut outbox,
        &mut store,
        batch,
        http(400, &error_body("malformed_json", None), None),
        0.0,
    );
    assert_eq!(status(&outbox, &ids[0]), Some(Status::Failed));
    assert_eq!(run.report.failed, ids);
}

#[test]
fn one_corrupt_record_never_holds_back_the_good_ones() {
    // The backend refuses any batch holding r005, naming nothing.
    let (mut outbox, mut store, ids) = outbox_of(12);
    let mut run = Run::start(&outbox, EP, None, HOST_LIMITS);
    let mut sent = 0;
    while let Some(batch) = run.next(&outbox) {
        sent += 1;
        let answer = if batch.iter().any(|id| id == "r005") {
            http(400, &error_body("malformed_json", None), None)
        } else {
            let named: Vec<&str> = batch.iter().map(String::as_str).collect();
            http(201, &stored_body(&named), None)
        };
        assert_eq!(
            run.apply(&mut outbox, &mut store, batch, answer, 0.0),
            Next::Continue
        );
    }
    assert_eq!(run.report.delivered.len(), 11);
    assert_eq!(run.report.failed, vec!["r005"]);
    assert_eq!(outbox.entries().len(), 1);
    assert_eq!(status(&outbox, &ids[5]), Some(Status::Failed));
    assert!(sent <= 2 * 4 + 2, "halving, not one by one: {sent}");
}

#[test]
fn unauthorized_holds_records_and_never_fails_them() {
    for status_code in [401, 403] {
        let (mut outbox, mut store, run, ids, next) =
            one_answer(status_code, &error_body("unauthorized", None));
        assert_eq!(next, Next::Stop, "{status_code}");
        for id in &ids {
            assert_eq!(status(&outbox, id), Some(Status::Held));
            let e = outbox.get(id).expect("kept");
            assert!(e
                .last_error
                .as_deref()
                .is_some_and(|m| m.starts_with("unauthorized")));
        }
        assert!(run.report.failed.is_empty());
        assert_eq!(run.report.held.len(), 3);
        assert!(run.report.unauthorized.is_some());
        // A new token: held records are sent again.
        assert_eq!(outbox.release_held(&mut store, EP).len(), 3);
        assert_eq!(
            plan_batches(outbox.entries(), EP, None, HOST_LIMITS),
            vec![ids.clone()]
        );
    }
}

#[test]
fn a_token_not_covering_one_record_holds_only_that_record() {
    let body = error_body("forbidden", Some("records[2].customerId"));
    let (outbox, _, run, ids, next) = one_answer(403, &body);
    assert_eq!(next, Next::Continue);
    assert_eq!(status(&outbox, &ids[2]), Some(Status::Held));
    assert_eq!(run.queued(), vec!["r000", "r001"]);
}

#[test]
fn faults_are_retried_with_backoff_honouring_retry_after() {
    let (mut outbox, mut store, ids) = outbox_of(2);
    let mut run = Run::start(&outbox, EP, None, HOST_LIMITS);
    let batch = run.next(&outbox).expect("a batch");
    let next = run.apply(
        &mut outbox,
        &mut store,
        batch,
        http(429, &error_body("rate_limited", None), Some(7_000)),
        0.0,
    );
    assert_eq!(next, Next::Wait(7_000));
    for status_code in [408, 500, 502, 503] {
        let batch = run.next(&outbox).expect("the same batch again");
        assert_eq!(batch, ids);
        let next = run.apply(
            &mut outbox,
            &mut store,
            batch,
            http(status_code, "", None),
            0.0,
        );
        assert!(matches!(next, Next::Wait(_)));
    }
    let batch = run.next(&outbox).expect("again");
    let next = run.apply(
        &mut outbox,
        &mut store,
        batch,
        Answer::network("connection reset"),
        0.0,
    );
    assert!(matches!(next, Next::Wait(_)));
    assert_eq!(outbox.get(&ids[0]).map(|e| e.attempts), Some(6));
    assert_eq!(
        outbox
            .get(&ids[0])
            .and_then(|e| e.last_error.clone())
            .as_deref(),
        Some("connection reset")
    );
}

#[test]
fn a_visit_gives_up_after_eight_faults_and_keeps_the_records() {
    let (mut outbox, mut store, ids) = outbox_of(2);
    let mut run = Run::start(&outbox, EP, None, HOST_LIMITS);
    let mut nexts = Vec::new();
    while let Some(batch) = run.next(&outbox) {
        let n = run.apply(&mut outbox, &mut store, batch, http(503, "", None), 0.0);
        nexts.push(n);
        if n == Next::Stop {
            break;
        }
    }
    assert_eq!(nexts.len(), 8);
    assert_eq!(nexts.last(), Some(&Next::Stop));
    for id in &ids {
        assert_eq!(status(&outbox, id), Some(Status::Pending));
    }
}

#[test]
fn records_kept_only_in_memory_say_so() {
    let mut store = MemStore {
        failing: true,
        ..MemStore::default()
    };
    let mut outbox = Outbox::default();
    let kept = outbox.add(&mut store, vec![entry("a", 1), entry("b", 2)]);
    assert_eq!(kept, Kept::Memory);
    assert!(outbox.entries().iter().all(|e| !e.durable));
    assert!(outbox.storage_error.is_some());
    assert_eq!(
        plan_batches(outbox.entries(), EP, None, HOST_LIMITS).len(),
        1,
        "still sent"
    );
}

#[test]
fn an_unreadable_stored_entry_is_set_aside_and_left_in_place() {
    let mut store = MemStore::default();
    let good = entry("good", 1);
    store.map.insert(key("good"), store.encode(&good).unwrap());
    let corrupt = store
        .encode(&entry("bad", 2))
        .unwrap()
        .replace(r#""version":2"#, r#""version":2,"weight":1e400"#);
    store.map.insert(key("bad"), corrupt.clone());
    store.map.insert(key("junk"), "{not json".into());
    let not_a_record = r#"{"record":{"recordId":"x","decidedAt":"2026-11-25T14:03:07.120Z"},"endpoint":"/api/v1/consent-records"}"#;
    store.map.insert(key("x"), not_a_record.into());
    let outbox = Outbox::load(&store);
    assert_eq!(status(&outbox, "good"), Some(Status::Pending));
    for id in ["bad", "junk", "x"] {
        let e = outbox.get(id).expect("reported");
        assert_eq!(e.status, Status::SetAside, "{id}");
        assert!(e
            .last_error
            .as_deref()
            .is_some_and(|m| m.starts_with("set aside")));
    }
    assert_eq!(
        plan_batches(outbox.entries(), EP, None, HOST_LIMITS),
        vec![vec!["good".to_owned()]],
        "only the good one is sent"
    );
    assert_eq!(store.map.get(&key("bad")), Some(&corrupt), "left untouched");
}

#[test]
fn entries_round_trip_through_storage() {
    let (outbox, store, _) = outbox_of(3);
    let again = Outbox::load(&store);
    assert_eq!(again.entries(), outbox.entries());
    assert!(store.map.keys().all(|k| k.starts_with(PREFIX)));
}

// ---- The promise: never lost, never silently dropped ---------------------------

#[derive(Clone, Debug)]
enum Op {
    Commit(usize),
    /// 2xx naming the records at these positions of the batch (mod its length).
    StoredSome(Vec<usize>),
    StoredAll,
    /// 2xx naming none (a captive portal).
    StoredNone,
    /// The backend stored the batch but the answer was lost.
    LostAnswer,
    RefusedNaming(usize),
    RefusedNone(u16),
    Unauthorized,
    ForbiddenNaming(usize),
    Fault(u16),
    Network,
    Reload,
    Storage(bool),
    NewToken,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1usize..6).prop_map(Op::Commit),
        proptest::collection::vec(0usize..8, 0..4).prop_map(Op::StoredSome),
        Just(Op::StoredAll),
        Just(Op::StoredNone),
        Just(Op::LostAnswer),
        (0usize..8).prop_map(Op::RefusedNaming),
        prop_oneof![Just(413u16), Just(422), Just(400), Just(404)].prop_map(Op::RefusedNone),
        Just(Op::Unauthorized),
        (0usize..8).prop_map(Op::ForbiddenNaming),
        prop_oneof![Just(500u16), Just(503), Just(429), Just(408)].prop_map(Op::Fault),
        Just(Op::Network),
        Just(Op::Reload),
        any::<bool>().prop_map(Op::Storage),
        Just(Op::NewToken),
    ]
}

/// A backend that stores each record id at most once, and counts inserts.
#[derive(Default)]
struct Backend {
    stored: BTreeMap<String, usize>,
}

impl Backend {
    fn store(&mut self, id: &str) {
        let n = self.stored.entry(id.to_owned()).or_default();
        if *n == 0 {
            *n = 1;
        }
    }
    fn answer_storing(&mut self, batch: &[String]) -> String {
        for id in batch {
            self.store(id);
        }
        let named: Vec<&str> = batch.iter().map(String::as_str).collect();
        stored_body(&named)
    }
}

struct World {
    store: MemStore,
    outbox: Outbox,
    run: Option<Run>,
    backend: Backend,
    created: Vec<String>,
    /// Records that were only in memory when the page reloaded: their loss
    /// was reported at commit (`kept: "memory"`).
    lost_in_memory: BTreeSet<String>,
    removed_unnamed: Vec<String>,
    /// Records marked failed by an answer that was not a refusal.
    failed_wrongly: Vec<String>,
}

impl World {
    fn new() -> Self {
        World {
            store: MemStore::default(),
            outbox: Outbox::default(),
            run: None,
            backend: Backend::default(),
            created: Vec::new(),
            lost_in_memory: BTreeSet::new(),
            removed_unnamed: Vec::new(),
            failed_wrongly: Vec::new(),
        }
    }

    fn send(&mut self, answer_for: impl FnOnce(&mut Backend, &[String]) -> Answer) {
        if self.run.is_none() {
            self.run = Some(Run::start(&self.outbox, EP, None, HOST_LIMITS));
        }
        let Some(run) = self.run.as_mut() else { return };
        let Some(batch) = run.next(&self.outbox) else {
            self.run = None;
            return;
        };
        let answer = answer_for(&mut self.backend, &batch);
        let named: Vec<String> = match &answer {
            Answer::Stored(n) => n.clone(),
            _ => Vec::new(),
        };
        let before: Vec<String> = batch.clone();
        let refusal = matches!(answer, Answer::Refused { .. });
        let next = run.apply(&mut self.outbox, &mut self.store, batch, answer, 0.3);
        for id in before {
            let now = self.outbox.get(&id).map(|e| e.status);
            if now.is_none() && !named.contains(&id) {
                self.removed_unnamed.push(id);
            } else if now == Some(Status::Failed) && !refusal {
                // 401/403, faults and success answers never fail a record.
                self.failed_wrongly.push(id);
            }
        }
        if next == Next::Stop {
            self.run = None;
        }
    }

    fn step(&mut self, op: Op) {
        match op {
            Op::Commit(n) => {
                let start = self.created.len();
                let new: Vec<Entry> = (start..start + n)
                    .map(|i| entry(&format!("p{i:04}"), i))
                    .collect();
                self.created.extend(new.iter().map(|e| e.id.clone()));
                self.outbox.add(&mut self.store, new);
            }
            Op::StoredSome(picks) => self.send(|b, batch| {
                let mut named = Vec::new();
                for p in picks {
                    let id = batch[p % batch.len()].clone();
                    b.store(&id);
                    named.push(id);
                }
                let named: Vec<&str> = named.iter().map(String::as_str).collect();
                http(200, &stored_body(&named), None)
            }),
            Op::StoredAll => self.send(|b, batch| http(201, &b.answer_storing(batch), None)),
            Op::StoredNone => self.send(|_, _| http(200, "<html>portal</html>", None)),
            Op::LostAnswer => self.send(|b, batch| {
                b.answer_storing(batch);
                Answer::network("connection reset")
            }),
            Op::RefusedNaming(i) => self.send(|_, batch| {
                let field = format!("records[{}].partner.id", i % batch.len());
                http(422, &error_body("invalid_record", Some(&field)), None)
            }),
            Op::RefusedNone(s) => self.send(|_, _| http(s, &error_body("x", None), None)),
            Op::Unauthorized => {
                self.send(|_, _| http(401, &error_body("unauthorized", None), None))
            }
            Op::ForbiddenNaming(i) => self.send(|_, batch| {
                let field = format!("records[{}].customerId", i % batch.len());
                http(403, &error_body("forbidden", Some(&field)), None)
            }),
            Op::Fault(s) => self.send(|_, _| http(s, "", Some(1_000))),
            Op::Network => self.send(|_, _| Answer::network("offline")),
            Op::Reload => {
                for e in self.outbox.entries() {
                    let in_storage = self.store.map.contains_key(&key(&e.id));
                    if !in_storage {
                        self.lost_in_memory.insert(e.id.clone());
                    }
                }
                let failing = self.store.failing;
                self.store.failing = false; // a new page: storage may work again
                self.outbox = Outbox::load(&self.store);
                self.store.failing = failing;
                self.outbox.release_held(&mut self.store, EP);
                self.run = None;
            }
            Op::Storage(failing) => self.store.failing = failing,
            Op::NewToken => {
                self.outbox.release_held(&mut self.store, EP);
            }
        }
    }

    /// The network and storage recover and a new token comes: deliver all.
    fn drain(&mut self) {
        self.store.failing = false;
        self.outbox.release_held(&mut self.store, EP);
        self.run = None;
        for _ in 0..10_000 {
            if plan_batches(self.outbox.entries(), EP, None, HOST_LIMITS).is_empty() {
                return;
            }
            self.send(|b, batch| http(201, &b.answer_storing(batch), None));
        }
        panic!("the outbox did not drain");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_record_is_ever_lost_or_silently_dropped(ops in proptest::collection::vec(op(), 0..60)) {
        let mut w = World::new();
        for op in ops {
            w.step(op);
        }
        prop_assert!(w.removed_unnamed.is_empty(), "left without being named: {:?}", w.removed_unnamed);
        prop_assert!(w.failed_wrongly.is_empty(), "failed without a refusal: {:?}", w.failed_wrongly);
        w.drain();
        prop_assert!(w.removed_unnamed.is_empty());
        for id in &w.created {
            let in_backend = w.backend.stored.get(id) == Some(&1);
            let kept = w.outbox.get(id).map(|e| e.status);
            prop_assert!(
                in_backend || matches!(kept, Some(Status::Failed)) || w.lost_in_memory.contains(id),
                "{id}: in backend {in_backend}, outbox {kept:?}"
            );
            prop_assert!(
                !matches!(kept, Some(Status::Pending | Status::Held | Status::SetAside)),
                "{id} still {kept:?} after draining"
            );
            if let Some(Status::Failed) = kept {
                let e = w.outbox.get(id).expect("kept");
                prop_assert!(e.last_error.is_some(), "a failed record says why");
            }
        }
        prop_assert!(w.backend.stored.values().all(|n| *n == 1));
    }
}
