//! Retention by real activity: a patron's last activity is the latest of
//! what the venue reported, their current yeses and their first record;
//! a refusal or a withdrawal never moves it.

use consent_core::Timestamp;
use consent_store::activity::{last_activity, RetentionGroups, RetentionRow, Weighed};
use consent_store::rules::Decided;
use consent_store::testing::*;

/// How a fixture record answered.
#[derive(Clone, Copy, Debug)]
enum Said {
    Yes,
    No,
}
use Said::{No, Yes};

/// Record `seq` about `partner`, decided on `decided` and received on
/// `received` (days), replacing record `supersedes` if any.
fn rec(seq: i64, partner: &str, said: Said, decided: i64, received: i64) -> Weighed {
    Weighed {
        decided: Decided {
            seq,
            record_id: format!("r{seq}"),
            partner_id: partner.to_owned(),
            effective_at_ms: at(decided.min(received)).unix_millis(),
            supersedes: None,
        },
        received_at_ms: at(received).unix_millis(),
        given: matches!(said, Yes),
    }
}

fn replacing(mut w: Weighed, seq: i64) -> Weighed {
    w.decided.supersedes = Some(format!("r{seq}"));
    w
}

/// (what, records, reported activity (day), expected last activity (day))
type Case = (&'static str, Vec<Weighed>, Option<i64>, Option<i64>);

#[test]
fn last_activity_counts_current_yeses_the_first_record_and_reported_activity() {
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("nothing known", vec![], None, None),
        ("only reported activity", vec![], Some(5), Some(5)),
        ("a lone refusal counts as the day they became known",
            vec![rec(1, "alpha", No, 10, 10)], None, Some(10)),
        ("a later refusal does not move it",
            vec![rec(1, "alpha", No, 10, 10), rec(2, "beta", No, 40, 40)], None, Some(10)),
        ("a withdrawal does not move it, and the yes it ended no longer counts",
            vec![rec(1, "alpha", Yes, 10, 10), rec(2, "alpha", No, 40, 40)], None, Some(10)),
        ("a current yes counts by its receipt",
            vec![rec(1, "alpha", No, 10, 10), rec(2, "alpha", Yes, 30, 31)], None, Some(31)),
        ("each partner apart: one current yes, one withdrawn",
            vec![rec(1, "alpha", Yes, 10, 10), rec(2, "beta", Yes, 30, 30), rec(3, "beta", No, 50, 50)],
            None, Some(10)),
        ("a renewed yes counts; the yes it replaced does not",
            vec![rec(1, "alpha", Yes, 10, 10), replacing(rec(2, "alpha", Yes, 30, 30), 1)], None, Some(30)),
        ("a yes replaced by a refusal no longer counts",
            vec![rec(1, "beta", No, 10, 10), rec(2, "alpha", Yes, 30, 30),
                 replacing(rec(3, "alpha", No, 40, 40), 2)], None, Some(10)),
        ("current by when decided: a yes received after a later refusal is not current",
            vec![rec(1, "alpha", Yes, 20, 25), rec(2, "alpha", No, 22, 23)], None, Some(23)),
        ("reported activity after every record wins",
            vec![rec(1, "alpha", Yes, 10, 10)], Some(60), Some(60)),
        ("reported activity before the first record: the first record is the floor",
            vec![rec(1, "alpha", No, 10, 10)], Some(5), Some(10)),
        ("reported activity between: the current yes is later",
            vec![rec(1, "alpha", Yes, 30, 30)], Some(20), Some(30)),
    ];
    for (what, records, reported, expected) in cases {
        assert_eq!(
            last_activity(&records, reported.map(at)),
            expected.map(at),
            "{what}"
        );
    }
}

fn row(customer: &str, record: Weighed, reported: Option<i64>) -> RetentionRow {
    RetentionRow {
        record,
        // Rows come in subject order; the fixture's subject is its customer.
        subject: format!("sub-{customer}"),
        customer_id: customer.to_owned(),
        activity_at_ms: reported.map(|d| at(d).unix_millis()),
    }
}

#[test]
fn retention_groups_plan_each_patron_whose_last_activity_is_before_the_cutoff() {
    let rows = vec![
        // Booked on day 200, answered long ago: kept.
        row("booker", rec(1, "alpha", No, 10, 10), Some(200)),
        row("booker", rec(2, "beta", No, 11, 11), Some(200)),
        // Withdrew on day 190: the withdrawal does not keep them.
        row("withdrew", rec(3, "alpha", Yes, 20, 20), None),
        row("withdrew", rec(4, "alpha", No, 190, 190), None),
        // A yes on day 150 that still stands: kept.
        row("yes", rec(5, "beta", Yes, 150, 150), None),
        // Refused on day 5 and did nothing since.
        row("quiet", rec(6, "alpha", No, 5, 5), Some(3)),
    ];
    let mut groups = RetentionGroups::new(at(100));
    for r in rows {
        groups.push(r);
    }
    let plan = groups.finish();
    assert_eq!(plan.cutoff, Some(at(100)));
    let who: Vec<(&str, Timestamp)> = plan
        .customers
        .iter()
        .map(|c| (c.customer_id.as_str(), c.last_activity))
        .collect();
    assert_eq!(
        who,
        [("quiet", at(5)), ("withdrew", at(20))],
        "oldest first"
    );
    assert_eq!(plan.records, 3);
    assert_eq!(plan.per_partner.get("alpha"), Some(&3));
    assert_eq!(plan.per_partner.get("beta"), None);
    assert_eq!(
        (plan.oldest_activity, plan.newest_activity),
        (Some(at(5)), Some(at(20)))
    );

    // Exactly at the cutoff is not before it.
    let mut groups = RetentionGroups::new(at(20));
    groups.push(row("withdrew", rec(3, "alpha", Yes, 20, 20), None));
    groups.push(row("withdrew", rec(4, "alpha", No, 190, 190), None));
    assert!(groups.finish().customers.is_empty());
}
