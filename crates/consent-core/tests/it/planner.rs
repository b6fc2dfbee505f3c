//! The planner's rules, one readable case each, then properties over random inputs.

use crate::common::*;
use consent_core::domain::{DecisionState::*, *};
use consent_core::plan::{AskReason, SkipReason};
use consent_core::{plan, Plan};
use proptest::prelude::*;

/// What a plan asks and skips, as plain strings, for compact expectations.
fn summary(p: &Plan) -> (Vec<String>, Vec<String>) {
    let asked = p
        .questions
        .iter()
        .map(|q| {
            q.asks
                .iter()
                .map(|a| a.partner_id.0.as_str())
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    let skipped = p.skipped.iter().map(|s| s.partner_id.0.clone()).collect();
    (asked, skipped)
}

struct Case {
    name: &'static str,
    basket: Vec<BasketLine>,
    prefs: Vec<Preference>,
    policy: Policy,
    asked: &'static [&'static str],
    skipped: &'static [&'static str],
}

fn individual() -> Policy {
    Policy::default()
}

fn expiring(days: u32) -> Policy {
    Policy {
        validity_days: Some(days),
        ..Policy::default()
    }
}

#[test]
fn planner_rules_table() {
    // Partners a, b, c at notice version 1; d at version 2. "Now" is day 100.
    let partners = vec![
        partner("a", 1),
        partner("b", 1),
        partner("c", 1),
        partner("d", 2),
    ];
    let cases = vec![
        Case {
            name: "empty basket asks nothing",
            basket: vec![],
            prefs: vec![],
            policy: individual(),
            asked: &[],
            skipped: &[],
        },
        Case {
            name: "no preference means ask, in first-appearance order",
            basket: vec![line("e1", &["b"]), line("e2", &["a"])],
            prefs: vec![],
            policy: individual(),
            asked: &["b", "a"],
            skipped: &[],
        },
        Case {
            name: "rule 1: a partner on several lines is asked once",
            basket: vec![
                line("hamlet", &["a"]),
                line("tempest", &["a", "b"]),
                line("lear", &["a"]),
            ],
            prefs: vec![],
            policy: individual(),
            asked: &["a", "b"],
            skipped: &[],
        },
        Case {
            name: "rule 1: a line naming a partner twice still asks once",
            basket: vec![line("e1", &["a", "a"])],
            prefs: vec![],
            policy: individual(),
            asked: &["a"],
            skipped: &[],
        },
        Case {
            name: "rule 2: a current given answer is not asked",
            basket: vec![line("e1", &["a"]), line("e2", &["b"])],
            prefs: vec![pref("a", Given, 1, 10)],
            policy: individual(),
            asked: &["b"],
            skipped: &["a"],
        },
        Case {
            name: "rule 2: refused and withdrawn are answers too",
            basket: vec![line("e1", &["a", "b", "c"])],
            prefs: vec![pref("a", Refused, 1, 10), pref("b", Withdrawn, 1, 10)],
            policy: individual(),
            asked: &["c"],
            skipped: &["a", "b"],
        },
        Case {
            name: "rule 3: a deferred answer is asked again",
            basket: vec![line("e1", &["a"])],
            prefs: vec![pref("a", Deferred, 1, 10)],
            policy: individual(),
            asked: &["a"],
            skipped: &[],
        },
        Case {
            name: "rule 3: a changed notice version is asked again",
            basket: vec![line("e1", &["d"])],
            prefs: vec![pref("d", Given, 1, 10)],
            policy: individual(),
            asked: &["d"],
            skipped: &[],
        },
        Case {
            name: "rule 3: unless the policy keeps answers to earlier wording",
            basket: vec![line("e1", &["d"])],
            prefs: vec![pref("d", Given, 1, 10)],
            policy: Policy {
                reask_on_notice_change: false,
                ..Policy::default()
            },
            asked: &[],
            skipped: &["d"],
        },
        Case {
            name: "rule 3: an expired answer is asked again",
            basket: vec![line("e1", &["a"])],
            prefs: vec![pref("a", Given, 1, 10)],
            policy: expiring(30),
            asked: &["a"],
            skipped: &[],
        },
        Case {
            name: "rule 3: an answer inside its validity period stands",
            basket: vec![line("e1", &["a"])],
            prefs: vec![pref("a", Refused, 1, 80)],
            policy: expiring(30),
            asked: &[],
            skipped: &["a"],
        },
        Case {
            name: "the newest of several preferences wins",
            basket: vec![line("e1", &["a"])],
            prefs: vec![
                pref("a", Given, 1, 20),
                pref("a", Deferred, 1, 50),
                pref("a", Withdrawn, 1, 40),
            ],
            policy: individual(),
            asked: &["a"],
            skipped: &[],
        },
        Case {
            name: "rule 4: general mode asks one statement naming everyone still to ask",
            basket: vec![line("e1", &["a", "b"]), line("e2", &["c"])],
            prefs: vec![pref("b", Given, 3, 10)],
            policy: Policy {
                mode: Mode::General {
                    notice: general_notice(),
                },
                ..Policy::default()
            },
            asked: &["a+c"],
            skipped: &["b"],
        },
        Case {
            name: "rule 5: unknown partner ids are skipped with a reason",
            basket: vec![line("e1", &["ghost", "a"])],
            prefs: vec![],
            policy: individual(),
            asked: &["a"],
            skipped: &["ghost"],
        },
        Case {
            name: "rule 5: duplicate lines are ignored, events with no partner ask nothing",
            basket: vec![line("e1", &["a"]), line("e1", &["b"]), line("e2", &[])],
            prefs: vec![],
            policy: individual(),
            asked: &["a"],
            skipped: &[],
        },
    ];
    for case in cases {
        let p = plan(&case.basket, &case.prefs, &partners, &case.policy, at(100));
        let (asked, skipped) = summary(&p);
        assert_eq!(asked, case.asked, "{}: asked", case.name);
        assert_eq!(skipped, case.skipped, "{}: skipped", case.name);
    }
}

fn general_notice() -> Notice {
    Notice {
        id: "venue-partners".into(),
        version: 3,
        text: LocalizedText::from([(
            "en-GB".into(),
            "We would like to share your details with the companies below.".into(),
        )]),
        purpose: "marketing".into(),
        channels: vec![Channel::Email],
        what_changed: LocalizedText::new(),
        basis: Default::default(),
    }
}

#[test]
fn questions_carry_reasons_lines_and_notices() {
    let partners = vec![partner("a", 1), partner("b", 4), partner("c", 1)];
    let basket = vec![
        line("hamlet", &["a"]),
        line("tempest", &["b", "a"]),
        line("lear", &["c"]),
    ];
    let prefs = vec![pref("b", Given, 3, 10), pref("c", Given, 1, 10)];
    let p = plan(&basket, &prefs, &partners, &expiring(60), at(100));

    assert_eq!(p.questions.len(), 3);
    let a = &p.questions[0];
    assert_eq!(a.key, "a");
    assert_eq!(a.notice.id, "a-marketing");
    assert_eq!(a.asks[0].reason, AskReason::NoAnswer);
    assert_eq!(
        a.asks[0].lines,
        [0, 1],
        "a is behind hamlet and the tempest"
    );
    assert_eq!(a.lines(), [0, 1]);

    let b = &p.questions[1];
    assert_eq!(
        b.asks[0].reason,
        AskReason::NoticeChanged {
            answered_version: 3,
            current_version: 4
        }
    );
    assert_eq!(b.asks[0].previous.as_ref().map(|x| x.state), Some(Given));
    assert_eq!(b.notice.version, 4);

    let c = &p.questions[2];
    assert_eq!(c.asks[0].reason, AskReason::Expired { at: at(70) });
    assert!(p.skipped.is_empty());
}

#[test]
fn skipped_partners_say_why() {
    let partners = vec![partner("a", 2), partner("b", 1)];
    let basket = vec![line("e1", &["a", "b", "ghost"])];
    let prefs = vec![pref("a", Refused, 1, 5), pref("b", Given, 1, 6)];
    let policy = Policy {
        reask_on_notice_change: false,
        ..Policy::default()
    };
    let p = plan(&basket, &prefs, &partners, &policy, at(100));
    let reasons: Vec<_> = p.skipped.iter().map(|s| s.reason.clone()).collect();
    assert_eq!(
        reasons,
        [
            SkipReason::AnsweredEarlierNotice {
                state: Refused,
                answered_version: 1,
                current_version: 2
            },
            SkipReason::AlreadyAnswered {
                state: Given,
                decided_at: at(6)
            },
            SkipReason::UnknownPartner,
        ]
    );
}

#[test]
fn a_records_own_valid_until_also_expires_it() {
    let partners = vec![partner("a", 1)];
    let mut p1 = pref("a", Given, 1, 10);
    p1.valid_until = Some(at(50));
    let p = plan(
        &[line("e1", &["a"])],
        &[p1],
        &partners,
        &Policy::default(),
        at(100),
    );
    assert_eq!(
        p.questions[0].asks[0].reason,
        AskReason::Expired { at: at(50) }
    );
}

#[test]
fn a_preference_to_another_notice_id_is_not_current() {
    // The venue answered the partner's own notice; general mode shows its statement instead.
    let partners = vec![partner("a", 3)];
    let mut answered = pref("a", Given, 3, 10);
    answered.notice_id = Some("a-marketing".into());
    let general = Policy {
        mode: Mode::General {
            notice: Notice {
                version: 3,
                ..general_notice()
            },
        },
        ..Policy::default()
    };
    let p = plan(
        &[line("e1", &["a"])],
        &[answered.clone()],
        &partners,
        &general,
        at(100),
    );
    assert_eq!(
        p.questions.len(),
        1,
        "same version number, different notice: ask"
    );
    let p = plan(
        &[line("e1", &["a"])],
        &[answered],
        &partners,
        &Policy::default(),
        at(100),
    );
    assert!(
        p.questions.is_empty(),
        "individual mode: the answer is current"
    );
}

#[test]
fn general_mode_with_nothing_to_ask_has_no_statement() {
    let partners = vec![partner("a", 1)];
    let policy = Policy {
        mode: Mode::General {
            notice: general_notice(),
        },
        ..Policy::default()
    };
    let p = plan(
        &[line("e1", &["a"])],
        &[pref("a", Given, 3, 10)],
        &partners,
        &policy,
        at(100),
    );
    assert!(p.questions.is_empty());
    assert_eq!(p.skipped.len(), 1);
}

#[test]
fn mixed_mode_asks_flagged_partners_on_their_own_and_names_the_rest() {
    let mut partners = vec![
        partner("a", 1),
        partner("npo", 1),
        partner("b", 1),
        partner("npo2", 1),
    ];
    partners[1].ask_individually = true;
    partners[3].ask_individually = true;
    let general = Policy {
        mode: Mode::General {
            notice: general_notice(),
        },
        ..Policy::default()
    };
    // (basket, earlier answers, expected questions)
    let cases: Vec<(Vec<BasketLine>, Vec<Preference>, &[&str])> = vec![
        (
            vec![line("e1", &["a", "npo"]), line("e2", &["b", "npo2"])],
            vec![],
            &["a+b", "npo", "npo2"],
        ),
        (
            vec![line("e1", &["npo"]), line("e2", &["a", "b"])],
            vec![],
            &["npo", "a+b"],
        ),
        (vec![line("e1", &["npo", "npo2"])], vec![], &["npo", "npo2"]),
        (vec![line("e1", &["a"])], vec![], &["a"]),
        // An individually asked partner is judged against its own notice.
        (
            vec![line("e1", &["a", "npo"])],
            vec![pref("npo", Given, 1, 5)],
            &["a"],
        ),
        // The rest against the statement's (version 3).
        (
            vec![line("e1", &["a", "npo"])],
            vec![pref("a", Given, 3, 5)],
            &["npo"],
        ),
    ];
    for (basket, prefs, expected) in cases {
        let p = plan(&basket, &prefs, &partners, &general, at(10));
        assert_eq!(summary(&p).0, expected, "{basket:?}");
        for q in &p.questions {
            let flagged = q
                .asks
                .iter()
                .any(|a| partners[a.partner_index].ask_individually);
            assert_eq!(q.general, q.key == "general");
            assert!(
                !(q.general && flagged),
                "a flagged partner folded into the statement"
            );
            assert!(q.general || q.asks.len() == 1);
        }
    }
    // In individual mode the flag changes nothing.
    let p = plan(
        &[line("e1", &["a", "npo"])],
        &[],
        &partners,
        &individual(),
        at(10),
    );
    assert_eq!(summary(&p).0, ["a", "npo"]);
}

#[test]
fn imported_answers_stand_unless_the_venue_asks_them_again() {
    let partners = vec![partner("a", 2)];
    let basket = vec![line("e1", &["a"])];
    let mut imported = pref("a", Given, 1, 5);
    imported.imported = true;
    imported.notice_id = Some("imported".into());
    // Kept: no notice to compare, so no "wording changed".
    let p = plan(
        &basket,
        std::slice::from_ref(&imported),
        &partners,
        &individual(),
        at(10),
    );
    assert!(p.questions.is_empty(), "{p:?}");
    assert!(matches!(
        p.skipped[0].reason,
        SkipReason::AlreadyAnswered { .. }
    ));
    // Asked again, with its own reason, when the venue says so.
    let reask = Policy {
        reask_imported: true,
        ..Policy::default()
    };
    let p = plan(
        &basket,
        std::slice::from_ref(&imported),
        &partners,
        &reask,
        at(10),
    );
    assert_eq!(p.questions[0].asks[0].reason, AskReason::Imported);
    // A lapse still counts.
    let p = plan(
        &basket,
        std::slice::from_ref(&imported),
        &partners,
        &expiring(3),
        at(10),
    );
    assert!(matches!(
        p.questions[0].asks[0].reason,
        AskReason::Expired { .. }
    ));
    // An answer given in the prompt since then is current instead.
    let fresh = pref("a", Refused, 2, 8);
    let p = plan(&basket, &[imported, fresh], &partners, &reask, at(10));
    assert!(p.questions.is_empty());
}

#[test]
fn duplicate_and_partnerless_lines_are_reported() {
    let partners = vec![partner("a", 1)];
    let basket = vec![line("e1", &["a"]), line("e2", &[]), line("e1", &["a"])];
    let p = plan(&basket, &[], &partners, &Policy::default(), at(0));
    assert_eq!(p.duplicate_lines, [2]);
    assert_eq!(p.lines_without_partners, [1]);
}

// ---- Properties -----------------------------------------------------------

fn arb_state() -> impl Strategy<Value = DecisionState> {
    prop_oneof![Just(Given), Just(Refused), Just(Withdrawn), Just(Deferred)]
}

prop_compose! {
    fn arb_input()(
        versions in proptest::collection::vec(1u32..4, 1..12),
        lines in proptest::collection::vec((0usize..20, proptest::collection::vec(0usize..15, 0..4)), 0..40),
        prefs in proptest::collection::vec((0usize..15, arb_state(), 1u32..4, 0i64..200, any::<bool>()), 0..30),
        individually in proptest::collection::vec(any::<bool>(), 12),
        reask_imported in any::<bool>(),
        validity in proptest::option::of(1u32..150),
        reask in any::<bool>(),
        general in any::<bool>(),
    ) -> (Vec<Partner>, Vec<BasketLine>, Vec<Preference>, Policy) {
        // Partner indices past the configured ones stand for unknown ids.
        let partners: Vec<Partner> = versions
            .iter()
            .enumerate()
            .map(|(i, v)| Partner { ask_individually: individually[i], ..partner(&format!("p{i}"), *v) })
            .collect();
        let basket = lines
            .iter()
            .map(|(e, ps)| {
                let ids: Vec<String> = ps.iter().map(|p| format!("p{p}")).collect();
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                line(&format!("e{e}"), &refs)
            })
            .collect();
        let prefs = prefs
            .iter()
            .map(|(p, s, v, d, imported)| Preference { imported: *imported, ..pref(&format!("p{p}"), *s, *v, *d) })
            .collect();
        let mode = if general { Mode::General { notice: general_notice() } } else { Mode::Individual };
        (partners, basket, prefs, Policy { mode, reask_on_notice_change: reask, validity_days: validity, reask_imported, ..Policy::default() })
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_partner_is_asked_twice((partners, basket, prefs, policy) in arb_input()) {
        let p = plan(&basket, &prefs, &partners, &policy, at(150));
        let mut ids: Vec<&str> = p.asked_partners().map(|a| a.partner_id.as_str()).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        prop_assert_eq!(ids.len(), n);
    }

    #[test]
    fn current_unexpired_answers_to_the_current_notice_are_never_asked(
        (partners, basket, prefs, policy) in arb_input()
    ) {
        let now = at(150);
        let p = plan(&basket, &prefs, &partners, &policy, now);
        for ask in p.asked_partners() {
            // The current answer: the latest in effect, a future date
            // counting as now, equal times won by the later entry.
            let latest = prefs
                .iter()
                .enumerate()
                .filter(|(_, x)| x.partner_id == ask.partner_id)
                .max_by_key(|(i, x)| (x.decided_at.min(now), *i))
                .map(|(_, x)| x);
            let partner = &partners[ask.partner_index];
            let notice = match &policy.mode {
                Mode::General { notice } if !partner.ask_individually => notice,
                _ => &partner.notice,
            };
            if let Some(pr) = latest {
                let unexpired = policy.validity_days.is_none_or(|d| pr.decided_at.plus_days(d) > now);
                let current = pr.state != Deferred
                    && unexpired
                    && if pr.imported {
                        !policy.reask_imported
                    } else {
                        pr.notice_version == notice.version
                    };
                prop_assert!(!current, "asked {} despite a current answer {:?}", ask.partner_id, pr);
            }
        }
    }

    #[test]
    fn every_partner_in_the_basket_is_asked_or_skipped_with_a_reason(
        (partners, basket, prefs, policy) in arb_input()
    ) {
        let p = plan(&basket, &prefs, &partners, &policy, at(150));
        let mut seen_events = std::collections::HashSet::new();
        for l in &basket {
            if !seen_events.insert(l.event_id.clone()) {
                continue; // a duplicate line, reported separately
            }
            for pid in &l.partner_ids {
                let asked = p.asked_partners().filter(|a| &a.partner_id == pid).count();
                let skipped = p.skipped.iter().filter(|s| &s.partner_id == pid).count();
                prop_assert_eq!(asked + skipped, 1, "partner {} accounted for once", pid);
            }
        }
        let all: usize = p.asked_partners().count() + p.skipped.len();
        let distinct: std::collections::HashSet<_> =
            basket.iter().flat_map(|l| l.partner_ids.iter()).collect();
        prop_assert!(all <= distinct.len());
    }

    #[test]
    fn the_same_input_gives_the_same_plan((partners, basket, prefs, policy) in arb_input()) {
        let a = plan(&basket, &prefs, &partners, &policy, at(150));
        let b = plan(&basket, &prefs, &partners, &policy, at(150));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn questions_follow_first_appearance_in_the_basket((partners, basket, prefs, policy) in arb_input()) {
        let p = plan(&basket, &prefs, &partners, &policy, at(150));
        // Each question stands where its first partner first appears (the
        // statement where the first partner it names does), and a
        // statement names its partners in that order too.
        let firsts: Vec<u32> = p.questions.iter().map(|q| q.asks[0].lines[0]).collect();
        prop_assert!(firsts.windows(2).all(|w| w[0] <= w[1]), "{:?}", firsts);
        for q in &p.questions {
            let inner: Vec<u32> = q.asks.iter().map(|a| a.lines[0]).collect();
            prop_assert!(inner.windows(2).all(|w| w[0] <= w[1]), "{:?}", inner);
        }
        if matches!(policy.mode, Mode::General { .. }) {
            prop_assert!(p.questions.iter().filter(|q| q.general).count() <= 1);
        }
    }

    #[test]
    fn flagged_partners_are_never_folded_into_the_statement((partners, basket, prefs, policy) in arb_input()) {
        let p = plan(&basket, &prefs, &partners, &policy, at(150));
        let general = matches!(policy.mode, Mode::General { .. });
        for q in &p.questions {
            let flagged = q.asks.iter().filter(|a| partners[a.partner_index].ask_individually).count();
            if q.general {
                prop_assert!(general);
                prop_assert_eq!(flagged, 0, "the statement names a partner asked on its own");
                prop_assert_eq!(q.key.as_str(), "general");
            } else {
                prop_assert_eq!(q.asks.len(), 1);
                prop_assert!(!general || flagged == 1, "an unflagged partner asked on its own in general mode");
            }
        }
    }
}

/// The studio's question, by the planner's own rule: how many current
/// answers a notice meets as asked again for its wording, asked anyway,
/// or kept, and what a new version would do.
#[test]
fn reasks_count_what_a_wording_change_asks_again() {
    use consent_core::plan::{reasks, Reasks};
    let p = partner("a", 2);
    let deferred = pref("a", Deferred, 2, 90);
    let mut lapsed = pref("a", Given, 2, 10);
    lapsed.valid_until = Some(at(50));
    let answers = vec![
        pref("a", Given, 2, 90),
        pref("a", Refused, 2, 91),
        pref("a", Given, 1, 20),
        deferred,
        lapsed,
    ];
    let now = at(100);
    let cases: &[(&str, u32, Policy, Reasks)] = &[
        (
            "as configured",
            2,
            individual(),
            Reasks {
                wording: 1,
                anyway: 2,
                kept: 2,
            },
        ),
        (
            "the next version",
            3,
            individual(),
            Reasks {
                wording: 4,
                anyway: 1,
                kept: 0,
            },
        ),
        (
            "a venue that never re-asks for wording",
            3,
            Policy {
                reask_on_notice_change: false,
                ..individual()
            },
            Reasks {
                wording: 0,
                anyway: 2,
                kept: 3,
            },
        ),
    ];
    for (name, version, policy, want) in cases {
        let mut notice = p.notice.clone();
        notice.version = *version;
        assert_eq!(reasks(&answers, &notice, policy, now), *want, "{name}");
    }
    assert_eq!(
        reasks(&[], &p.notice, &individual(), now),
        Reasks::default()
    );
}
