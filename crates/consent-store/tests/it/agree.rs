//! One rule for the current answer: the host's preferences and receipt
//! (`current_per_partner`), the planner (`account_plan`'s earlier answer)
//! and the widget's preference centre (`current_answers`) pick the same
//! record for every partner, over any history.

use consent_core::current::preference_of;
use consent_core::domain::{DecisionState, Policy};
use consent_core::plan::account_plan;
use consent_core::session::{current_answers, Choice};
use consent_store::rules::{current_per_partner, Decided};
use consent_store::testing::*;
use proptest::prelude::*;

const PARTNERS: [&str; 3] = ["alpha", "beta", "gamma"];

/// A history: per record, its partner, state, decision day, how many days
/// after it the host received it (negative: the device's clock ran
/// ahead), and which earlier record (if any) it supersedes.
fn history() -> impl Strategy<Value = Vec<(usize, DecisionState, i64, i64, Option<usize>)>> {
    let state = prop_oneof![
        Just(DecisionState::Given),
        Just(DecisionState::Refused),
        Just(DecisionState::Withdrawn),
    ];
    prop::collection::vec(
        (
            0..PARTNERS.len(),
            state,
            0i64..20,
            -3i64..4,
            prop::option::of(0usize..12),
        ),
        0..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn host_planner_and_widget_agree_on_the_current_answer(rows in history()) {
        let now = at(40);
        let mut records = Vec::new();
        let mut decided = Vec::new();
        for (i, (p, state, day, late, sup)) in rows.iter().enumerate() {
            let mut r = record(i as u32 + 1, "C-1", PARTNERS[*p], *state, *day);
            // Only an earlier record of the same partner is superseded, as
            // the widget and the host both require.
            r.supersedes = sup
                .filter(|s| *s < i && rows[*s].0 == *p)
                .map(|s| uuid(s as u32 + 1));
            let received = at(day + late);
            r.received_at = Some(received);
            decided.push(Decided {
                seq: i as i64 + 1,
                record_id: r.record_id.clone(),
                partner_id: r.partner.id.clone(),
                effective_at_ms: r.decided_at.min(received).unix_millis(),
                supersedes: r.supersedes.clone(),
            });
            records.push(r);
        }
        // The host: the winning rows (its preferences and receipt read these).
        let mut host: Vec<(String, String)> = current_per_partner(&decided)
            .into_iter()
            .map(|seq| {
                let r = &records[seq as usize - 1];
                (r.partner.id.clone(), r.record_id.clone())
            })
            .collect();
        host.sort();

        // The planner, over the same records read back as answers.
        let partners: Vec<_> = PARTNERS.iter().map(|p| partner(p)).collect();
        let prefs: Vec<_> = records.iter().map(preference_of).collect();
        let policy = Policy::default();
        let plan = account_plan(&partners, &prefs, &policy, now);
        let mut planner: Vec<(String, String)> = plan
            .questions
            .iter()
            .filter_map(|q| {
                let a = &q.asks[0];
                let prev = a.previous.as_ref()?;
                Some((a.partner_id.0.clone(), prev.record_id.clone()?))
            })
            .collect();
        planner.sort();
        prop_assert_eq!(&host, &planner);

        // The widget's preference centre starts from those same answers.
        let answers = current_answers(&plan);
        for (partner_id, record_id) in &host {
            let r = records.iter().find(|r| &r.record_id == record_id).unwrap();
            let want = match r.state {
                DecisionState::Given => Some(Choice::Yes),
                _ => Some(Choice::No),
            };
            prop_assert_eq!(answers.get(partner_id.as_str()).and_then(|a| a.choice), want);
        }
    }
}
