use consent_core::domain::DecisionState::{Given, Refused, Withdrawn};
use consent_core::Timestamp;
use consent_store::ledger::{self, GENESIS};
use consent_store::rules::{
    current_per_partner, latest_per_customer, plan_batch, read_record, BatchOutcome, ContactGroups,
    ContactRow, Decided, LedgerState, NewActivity, NewRecord, RetentionPlan,
};
use consent_store::testing::*;

fn fixed_salt() -> impl FnMut() -> Result<[u8; 32], consent_store::DbError> {
    let mut n = 0u8;
    move || {
        n += 1;
        Ok([n; 32])
    }
}

fn new(records: Vec<consent_core::wire::ConsentRecordV1>) -> Vec<NewRecord> {
    records.into_iter().map(NewRecord::new).collect()
}

fn empty() -> LedgerState {
    LedgerState {
        head: GENESIS.to_owned(),
        ..LedgerState::default()
    }
}

#[test]
fn a_batch_is_chained_after_the_head_with_one_subject_per_customer() {
    let mut state = empty();
    let batch = new(vec![
        record(1, "C-1", "alpha", Given, 10),
        record(2, "C-1", "beta", Given, 10),
        record(3, "C-2", "alpha", Refused, 10),
    ]);
    let planned = plan_batch(&mut state, &batch, at(11), &mut fixed_salt()).unwrap();
    let BatchOutcome::Stored(stored) = &planned.outcome else {
        panic!("{:?}", planned.outcome)
    };
    assert_eq!(stored.stored.len(), 3);
    assert!(stored.duplicates.is_empty());
    assert_eq!(planned.subjects.len(), 2, "one mapping per new customer");
    let seqs: Vec<i64> = planned.rows.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    // Each row links to the one before, the first to the head.
    let mut prev = GENESIS.to_owned();
    for row in &planned.rows {
        assert_eq!(
            row.chain,
            ledger::link(&prev, &row.content_sha256, row.received_at_ms)
        );
        prev = row.chain.clone();
    }
    assert_eq!((state.seq, state.head.as_str()), (3, prev.as_str()));
}

#[test]
fn derived_columns_come_from_the_record_and_its_arrival() {
    let mut state = empty();
    // Decided on day 10, received on day 11, and one whose clock runs a
    // day ahead of the host: it counts when it arrived.
    let early = record(1, "C-1", "alpha", Given, 10);
    let mut ahead = record(2, "C-1", "beta", Given, 12);
    ahead.supersedes = Some(uuid(9));
    let planned = plan_batch(
        &mut state,
        &new(vec![early, ahead]),
        at(11),
        &mut fixed_salt(),
    )
    .unwrap();
    let [a, b] = &planned.rows[..] else { panic!() };
    assert_eq!(a.partner_id, "alpha");
    assert_eq!(a.effective_at_ms, a.decided_at_ms);
    assert_eq!(
        b.effective_at_ms,
        at(11).unix_millis(),
        "never after its arrival"
    );
    assert_eq!(b.supersedes.as_deref(), Some(uuid(9).as_str()));
}

#[test]
fn duplicates_and_conflicts_are_decided_by_the_stored_digest() {
    let cases: &[(&str, bool, bool)] = &[
        // (what, same body as stored?, expect conflict?)
        ("the same record sent again", true, false),
        ("a stored id with other content", false, true),
    ];
    for &(what, same, conflict) in cases {
        let mut state = empty();
        let first = new(vec![record(1, "C-1", "alpha", Given, 10)]);
        plan_batch(&mut state, &first, at(11), &mut fixed_salt()).unwrap();
        let mut again = record(1, "C-1", "alpha", Given, 10);
        if !same {
            again.channels.push(consent_core::domain::Channel::Post);
        }
        let before = (state.seq, state.head.clone());
        let planned = plan_batch(&mut state, &new(vec![again]), at(12), &mut fixed_salt()).unwrap();
        match (&planned.outcome, conflict) {
            (BatchOutcome::Conflict { index: 0 }, true) => {
                assert!(
                    planned.rows.is_empty() && planned.subjects.is_empty(),
                    "{what}"
                );
                assert_eq!(
                    (state.seq, state.head.clone()),
                    before,
                    "{what}: nothing moved"
                );
            }
            (BatchOutcome::Stored(s), false) => {
                assert_eq!(s.duplicates, [uuid(1)], "{what}");
                assert!(planned.rows.is_empty(), "{what}");
            }
            (other, _) => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn a_repeat_inside_one_batch_is_a_duplicate_or_a_conflict_too() {
    let mut state = empty();
    let r = record(1, "C-1", "alpha", Given, 10);
    let planned = plan_batch(
        &mut state,
        &new(vec![r.clone(), r.clone()]),
        at(11),
        &mut fixed_salt(),
    )
    .unwrap();
    let BatchOutcome::Stored(s) = planned.outcome else {
        panic!()
    };
    assert_eq!((s.stored.len(), s.duplicates.len()), (1, 1));
    let mut other = r.clone();
    other.channels.clear();
    let mut state = empty();
    let planned = plan_batch(&mut state, &new(vec![r, other]), at(11), &mut fixed_salt()).unwrap();
    assert_eq!(planned.outcome, BatchOutcome::Conflict { index: 1 });
}

#[test]
fn a_stored_body_seals_the_basket_and_reads_back_as_sent() {
    let mut state = empty();
    let mut r = record(1, "C-1", "alpha", Given, 10);
    r.collection.basket_ref = Some("ORDER-77".into());
    let planned = plan_batch(&mut state, &new(vec![r.clone()]), at(11), &mut fixed_salt()).unwrap();
    let row = &planned.rows[0];
    assert!(!row.body.contains("ORDER-77") && !row.body.contains("C-1"));
    let salt = &planned.subjects[0].salt;
    let back = read_record(&row.body, row.received_at_ms, "C-1", salt).unwrap();
    assert_eq!(back.collection.basket_ref.as_deref(), Some("ORDER-77"));
    assert_eq!(back.customer_id, "C-1");
    assert!(read_record(&row.body, row.received_at_ms, "C-1", &[0u8; 32]).is_err());
}

fn decided(
    seq: i64,
    id: u32,
    partner: &str,
    effective_day: i64,
    supersedes: Option<u32>,
) -> Decided {
    Decided {
        seq,
        record_id: uuid(id),
        partner_id: partner.to_owned(),
        effective_at_ms: at(effective_day).unix_millis(),
        supersedes: supersedes.map(uuid),
    }
}

#[test]
fn the_current_answer_per_partner() {
    // (rows, the winning seqs sorted by partner id)
    let table: Vec<(&str, Vec<Decided>, Vec<i64>)> = vec![
        ("one answer", vec![decided(1, 1, "a", 1, None)], vec![1]),
        (
            "the later decision wins, whatever the order stored",
            vec![decided(1, 1, "a", 5, None), decided(2, 2, "a", 3, None)],
            vec![1],
        ),
        (
            "equal times: the later insertion",
            vec![decided(1, 1, "a", 3, None), decided(2, 2, "a", 3, None)],
            vec![2],
        ),
        (
            "a superseded record is never current, even if later",
            vec![decided(1, 1, "a", 9, None), decided(2, 2, "a", 3, Some(1))],
            vec![2],
        ),
        (
            "partners apart, sorted by partner",
            vec![decided(1, 1, "b", 1, None), decided(2, 2, "a", 1, None)],
            vec![2, 1],
        ),
        ("nothing stored", vec![], vec![]),
    ];
    for (what, rows, winners) in table {
        assert_eq!(current_per_partner(&rows), winners, "{what}");
    }
}

#[test]
fn an_export_lists_each_customers_current_unlapsed_yes_once() {
    let mut state = empty();
    let records = vec![
        record(1, "C-1", "alpha", Given, 10),
        record(2, "C-2", "alpha", Given, 10),
        record(3, "C-2", "alpha", Withdrawn, 20),
        record(4, "C-3", "alpha", Refused, 10),
        record(5, "C-4", "alpha", Given, 10),
    ];
    let planned = plan_batch(&mut state, &new(records.clone()), at(21), &mut fixed_salt()).unwrap();
    let salt_of = |customer: &str| {
        planned
            .subjects
            .iter()
            .find(|s| s.customer_id == customer)
            .map(|s| (s.subject.clone(), s.salt.clone()))
            .unwrap()
    };
    let mut rows: Vec<ContactRow> = planned
        .rows
        .iter()
        .zip(&records)
        .map(|(row, r)| {
            let (subject, salt) = salt_of(&r.customer_id);
            ContactRow {
                decided: Decided {
                    seq: row.seq,
                    record_id: row.record_id.clone(),
                    partner_id: row.partner_id.clone(),
                    effective_at_ms: row.effective_at_ms,
                    supersedes: row.supersedes.clone(),
                },
                subject,
                customer_id: r.customer_id.clone(),
                salt,
                body: row.body.clone(),
                received_at_ms: row.received_at_ms,
                contact: Default::default(),
            }
        })
        .collect();
    rows.sort_by(|a, b| (&a.subject, a.decided.seq).cmp(&(&b.subject, b.decided.seq)));
    // C-4's yes has lapsed by `now` (the fixtures are valid for 365 days).
    let now = Timestamp::from_unix_millis(at(10).unix_millis() + 366 * DAY);
    for (when, expected) in [(at(21), vec!["C-1", "C-4"]), (now, vec![])] {
        let mut groups = ContactGroups::new(when);
        let mut listed = Vec::new();
        for row in rows.clone() {
            listed.extend(groups.push(row).unwrap());
        }
        listed.extend(groups.finish().unwrap());
        let mut ids: Vec<String> = listed.into_iter().map(|r| r.record.customer_id).collect();
        ids.sort();
        assert_eq!(ids, expected, "at {when}");
    }
}

#[test]
fn a_retention_plan_counts_customers_records_and_the_span_of_activity() {
    let mut plan = RetentionPlan::default();
    plan.push_customer("C-1".into(), at(3), ["alpha", "alpha", "beta", "alpha"]);
    plan.push_customer("C-2".into(), at(1), ["beta", "beta"]);
    plan.push_customer("C-3".into(), at(2), ["gamma"]);
    assert_eq!(plan.customer_ids(), ["C-1", "C-2", "C-3"]);
    assert_eq!(plan.customers[1].last_activity, at(1));
    assert_eq!(plan.records, 7);
    assert_eq!(
        plan.per_partner.clone().into_iter().collect::<Vec<_>>(),
        [("alpha".into(), 3), ("beta".into(), 3), ("gamma".into(), 1)]
    );
    assert_eq!(plan.oldest_activity, Some(at(1)));
    assert_eq!(plan.newest_activity, Some(at(3)));
    let detail = plan.detail().to_string();
    assert!(
        !detail.contains("C-1"),
        "the run log never holds an id: {detail}"
    );
}

#[test]
fn a_token_activity_is_kept_once_per_customer_at_the_batch_receipt() {
    use consent_core::wire::ActivityKind::{Login, Purchase};
    let mut state = empty();
    let mut batch = new(vec![
        record(1, "C-1", "alpha", Given, 10),
        record(2, "C-1", "beta", Refused, 10),
        record(3, "C-2", "alpha", Given, 10),
    ]);
    batch[0].activity = Some(Purchase);
    batch[1].activity = Some(Purchase);
    let planned = plan_batch(&mut state, &batch, at(11), &mut fixed_salt()).unwrap();
    assert_eq!(
        planned.activities,
        [NewActivity {
            customer_id: "C-1".into(),
            at_ms: at(11).unix_millis(),
            kind: Purchase,
        }]
    );
    // A conflicting batch keeps nothing, its activity included.
    let mut changed = record(1, "C-1", "alpha", Given, 10);
    changed.channels.push(consent_core::domain::Channel::Post);
    let mut again = new(vec![changed]);
    again[0].activity = Some(Login);
    let planned = plan_batch(&mut state, &again, at(12), &mut fixed_salt()).unwrap();
    assert!(matches!(planned.outcome, BatchOutcome::Conflict { .. }));
    assert!(planned.activities.is_empty());
}

#[test]
fn one_statement_keeps_each_customers_latest_activity() {
    use consent_core::wire::ActivityKind::{Booking, Click, Login};
    let a = |customer: &str, day: i64, kind| NewActivity {
        customer_id: customer.into(),
        at_ms: at(day).unix_millis(),
        kind,
    };
    let cases = [
        (vec![], vec![]),
        (vec![a("C-1", 1, Login)], vec![a("C-1", 1, Login)]),
        (
            vec![a("C-1", 1, Login), a("C-2", 1, Click), a("C-1", 3, Booking)],
            vec![a("C-1", 3, Booking), a("C-2", 1, Click)],
        ),
        // A later batch received earlier (another instance's clock) loses.
        (
            vec![a("C-1", 3, Booking), a("C-1", 2, Login)],
            vec![a("C-1", 3, Booking)],
        ),
        // Equal times: the first stays.
        (
            vec![a("C-1", 3, Booking), a("C-1", 3, Login)],
            vec![a("C-1", 3, Booking)],
        ),
    ];
    for (given, expected) in cases {
        assert_eq!(latest_per_customer(given.clone()), expected, "{given:?}");
    }
}
