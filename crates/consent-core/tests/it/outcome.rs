//! The commit-outcome function as a table: every step of a commit's
//! delivery, what the patron is shown and what the page is told.

use consent_core::outbox::Kept;
use consent_core::outcome::{outcome, ErrorCode, Event, Progress, Seen, Status, Step};

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn seen(waiting: &[&str], held: &[&str], failed: &[&str]) -> Seen {
    Seen {
        waiting: ids(waiting),
        held: ids(held),
        failed: ids(failed),
        message: (!failed.is_empty()).then(|| "partner.id is not configured".to_owned()),
        field: (!failed.is_empty()).then(|| "records[0].partner.id".to_owned()),
        unauthorized: (!held.is_empty()).then(|| "the token has expired".to_owned()),
    }
}

fn progress(delivered: &[&str], pending: &[&str], held: &[&str], failed: &[&str]) -> Progress {
    Progress {
        delivered: ids(delivered),
        pending: ids(pending),
        held: ids(held),
        failed: ids(failed),
    }
}

/// The codes of the error events, then `commit` if a commit event is sent.
fn told(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e {
            Event::Commit => "commit",
            Event::Error { code, .. } => code.as_str(),
        })
        .collect()
}

struct Case {
    name: &'static str,
    chosen: bool,
    kept: Kept,
    before: Option<Progress>,
    seen: Seen,
    progress: Progress,
    status: Status,
    told: Vec<&'static str>,
}

#[test]
fn every_step_of_a_delivery_is_told_one_way() {
    let saved = Status::Saved { chosen: true };
    let failed = Status::Failed {
        message: "partner.id is not configured".to_owned(),
    };
    #[rustfmt::skip]
    let table = vec![
        Case { name: "first attempt, all stored",
            chosen: true, kept: Kept::Device, before: None, seen: seen(&[], &[], &[]),
            progress: progress(&["a", "b"], &[], &[], &[]), status: saved.clone(), told: vec!["commit"] },
        Case { name: "first attempt, all stored, nothing chosen: not 'your choices are saved'",
            chosen: false, kept: Kept::Device, before: None, seen: seen(&[], &[], &[]),
            progress: progress(&["a", "b"], &[], &[], &[]), status: Status::Saved { chosen: false }, told: vec!["commit"] },
        Case { name: "first attempt, backend unreachable: kept on the device",
            chosen: true, kept: Kept::Device, before: None, seen: seen(&["a", "b"], &[], &[]),
            progress: progress(&[], &["a", "b"], &[], &[]), status: Status::Kept, told: vec!["commit"] },
        Case { name: "first attempt, storage refused: told, then committed",
            chosen: true, kept: Kept::Memory, before: None, seen: seen(&["a", "b"], &[], &[]),
            progress: progress(&[], &["a", "b"], &[], &[]), status: Status::Kept, told: vec!["storage", "commit"] },
        Case { name: "storage refused but all delivered at once: nothing to tell of storage",
            chosen: true, kept: Kept::Memory, before: None, seen: seen(&[], &[], &[]),
            progress: progress(&["a", "b"], &[], &[], &[]), status: saved.clone(), told: vec!["commit"] },
        Case { name: "first attempt, one refused: the commit fails",
            chosen: true, kept: Kept::Device, before: None, seen: seen(&[], &[], &["b"]),
            progress: progress(&["a"], &[], &[], &["b"]), status: failed.clone(), told: vec!["rejected"] },
        Case { name: "first attempt, token expired: held, told, committed",
            chosen: true, kept: Kept::Device, before: None, seen: seen(&["a", "b"], &["a", "b"], &[]),
            progress: progress(&[], &["a", "b"], &["a", "b"], &[]), status: Status::Kept, told: vec!["unauthorized", "commit"] },
        Case { name: "later step delivers the rest",
            chosen: true, kept: Kept::Device, before: Some(progress(&[], &["a", "b"], &[], &[])), seen: seen(&[], &[], &[]),
            progress: progress(&["a", "b"], &[], &[], &[]), status: saved.clone(), told: vec!["commit"] },
        Case { name: "later step that changes nothing tells nothing",
            chosen: true, kept: Kept::Device, before: Some(progress(&[], &["a", "b"], &[], &[])), seen: seen(&["a", "b"], &[], &[]),
            progress: progress(&[], &["a", "b"], &[], &[]), status: Status::Kept, told: vec![] },
        Case { name: "later step refuses one: told once",
            chosen: true, kept: Kept::Device, before: Some(progress(&[], &["a", "b"], &[], &[])), seen: seen(&[], &[], &["a"]),
            progress: progress(&["b"], &[], &[], &["a"]), status: failed.clone(), told: vec!["rejected"] },
        Case { name: "a refusal already told is not told again",
            chosen: true, kept: Kept::Device, before: Some(progress(&[], &["b"], &[], &["a"])), seen: seen(&[], &[], &["a"]),
            progress: progress(&["b"], &[], &[], &["a"]), status: failed.clone(), told: vec![] },
        Case { name: "other commits' records are none of this commit's business",
            chosen: true, kept: Kept::Device, before: None, seen: seen(&["x"], &["x"], &["y"]),
            progress: progress(&["a", "b"], &[], &[], &[]), status: saved, told: vec!["commit"] },
    ];
    let commit = ids(&["a", "b"]);
    for c in table {
        let out = outcome(&Step {
            ids: &commit,
            chosen: c.chosen,
            kept: c.kept,
            storage_error: Some("QuotaExceededError"),
            before: c.before.as_ref(),
            seen: &c.seen,
        });
        assert_eq!(out.progress, c.progress, "{}: progress", c.name);
        assert_eq!(out.status, c.status, "{}: status", c.name);
        assert_eq!(told(&out.events), c.told, "{}: events", c.name);
    }
}

#[test]
fn errors_name_the_records_and_the_field() {
    let commit = ids(&["a", "b"]);
    let out = outcome(&Step {
        ids: &commit,
        chosen: true,
        kept: Kept::Device,
        storage_error: None,
        before: None,
        seen: &seen(&[], &[], &["b"]),
    });
    assert_eq!(
        out.events,
        vec![Event::Error {
            code: ErrorCode::Rejected,
            message: "partner.id is not configured".to_owned(),
            field: Some("records[0].partner.id".to_owned()),
            record_ids: ids(&["b"]),
        }]
    );
}
