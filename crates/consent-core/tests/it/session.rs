//! From answers to decisions: what a commit records, and what it refuses.

use crate::common::*;
use consent_core::domain::{
    Channel, CollectionChannel, DecisionState, LocalizedText, Mode, Notice, Policy,
};
use consent_core::plan;
use consent_core::session::*;
use consent_core::wire::Action;

fn yes(channels: &[Channel]) -> Answer {
    Answer {
        choice: Some(Choice::Yes),
        channels: channels.iter().copied().collect(),
        decided_at: Some(at(1)),
        heard: false,
    }
}

fn no() -> Answer {
    Answer {
        choice: Some(Choice::No),
        decided_at: Some(at(1)),
        ..Answer::default()
    }
}

#[test]
fn unanswered_questions_are_deferred_unless_an_answer_is_required() {
    let partners = vec![partner("a", 1), partner("b", 1)];
    let p = plan(
        &[line("e1", &["a", "b"])],
        &[],
        &partners,
        &Policy::default(),
        at(0),
    );
    let answers = Answers::from([("a".into(), no())]);

    let drafts = finalize(&p, &partners, &Policy::default(), &answers, false, at(2)).unwrap();
    assert_eq!(drafts.len(), 2);
    assert_eq!(
        (drafts[0].state, drafts[0].action),
        (DecisionState::Refused, Action::SelectedNo)
    );
    assert_eq!(
        (drafts[1].state, drafts[1].action),
        (DecisionState::Deferred, Action::NoAnswer)
    );
    assert_eq!(drafts[1].decided_at, at(2), "a deferral is dated at commit");

    let errors = finalize(&p, &partners, &Policy::default(), &answers, true, at(2)).unwrap_err();
    assert_eq!(
        errors,
        [AnswerError {
            question: "b".into(),
            problem: Problem::Unanswered
        }]
    );
}

#[test]
fn yes_needs_a_channel_when_several_are_offered() {
    let partners = vec![partner("a", 1)]; // offers email and post
    let p = plan(
        &[line("e1", &["a"])],
        &[],
        &partners,
        &Policy::default(),
        at(0),
    );
    let none_ticked = Answers::from([("a".into(), yes(&[]))]);
    let errors = finalize(
        &p,
        &partners,
        &Policy::default(),
        &none_ticked,
        false,
        at(2),
    )
    .unwrap_err();
    assert_eq!(errors[0].problem, Problem::NoChannel);

    let post_only = Answers::from([("a".into(), yes(&[Channel::Post, Channel::Sms]))]);
    let drafts = finalize(&p, &partners, &Policy::default(), &post_only, false, at(2)).unwrap();
    assert_eq!(
        drafts[0].channels,
        [Channel::Post],
        "only offered channels are recorded"
    );
    assert_eq!(drafts[0].state, DecisionState::Given);
}

#[test]
fn a_single_channel_needs_no_tick() {
    let mut a = partner("a", 1);
    a.notice.channels = vec![Channel::Email];
    let partners = vec![a];
    let p = plan(
        &[line("e1", &["a"])],
        &[],
        &partners,
        &Policy::default(),
        at(0),
    );
    let drafts = finalize(
        &p,
        &partners,
        &Policy::default(),
        &Answers::from([("a".into(), yes(&[]))]),
        true,
        at(2),
    )
    .unwrap();
    assert_eq!(drafts[0].channels, [Channel::Email]);
}

#[test]
fn renewing_a_yes_to_changed_wording_is_marked_and_supersedes() {
    let partners = vec![partner("a", 2)];
    let earlier = pref("a", DecisionState::Given, 1, 5);
    let p = plan(
        &[line("e1", &["a"])],
        std::slice::from_ref(&earlier),
        &partners,
        &Policy::default(),
        at(10),
    );
    let drafts = finalize(
        &p,
        &partners,
        &Policy::default(),
        &Answers::from([("a".into(), yes(&[Channel::Email]))]),
        true,
        at(11),
    )
    .unwrap();
    assert!(drafts[0].renewal);
    assert_eq!(drafts[0].supersedes, earlier.record_id);

    // A yes after a deferral is a first yes, not a renewal.
    let deferred = pref("a", DecisionState::Deferred, 2, 5);
    let p = plan(
        &[line("e1", &["a"])],
        &[deferred],
        &partners,
        &Policy::default(),
        at(10),
    );
    let drafts = finalize(
        &p,
        &partners,
        &Policy::default(),
        &Answers::from([("a".into(), yes(&[Channel::Email]))]),
        true,
        at(11),
    )
    .unwrap();
    assert!(!drafts[0].renewal);
}

#[test]
fn general_mode_records_one_decision_per_partner() {
    let partners = vec![partner("a", 1), partner("b", 1), partner("c", 1)];
    let statement = Notice {
        id: "venue-partners".into(),
        version: 1,
        text: LocalizedText::from([(
            "en-GB".into(),
            "We would like to pass your details to the companies named.".into(),
        )]),
        purpose: "marketing".into(),
        channels: vec![Channel::Email],
        what_changed: LocalizedText::new(),
        basis: Default::default(),
    };
    let policy = Policy {
        mode: Mode::General { notice: statement },
        ..Policy::default()
    };
    let p = plan(
        &[line("e1", &["a", "b"]), line("e2", &["c"])],
        &[],
        &partners,
        &policy,
        at(0),
    );
    let drafts = finalize(
        &p,
        &partners,
        &policy,
        &Answers::from([("general".into(), yes(&[]))]),
        true,
        at(2),
    )
    .unwrap();
    let ids: Vec<usize> = drafts.iter().map(|d| d.partner_index).collect();
    assert_eq!(ids, [0, 1, 2]);
    assert!(drafts
        .iter()
        .all(|d| d.state == DecisionState::Given && d.channels == [Channel::Email]));
    assert_eq!(drafts[2].lines, [1]);
}

#[test]
fn box_office_answers_need_the_operator_to_confirm_the_wording_was_heard() {
    let partners = vec![partner("a", 1)];
    let policy = Policy {
        channel: CollectionChannel::BoxOffice,
        ..Policy::default()
    };
    let p = plan(&[line("e1", &["a"])], &[], &partners, &policy, at(0));
    let errors = finalize(
        &p,
        &partners,
        &policy,
        &Answers::from([("a".into(), no())]),
        false,
        at(2),
    )
    .unwrap_err();
    assert_eq!(errors[0].problem, Problem::NotHeard);
    let heard = Answer {
        heard: true,
        ..no()
    };
    assert!(finalize(
        &p,
        &partners,
        &policy,
        &Answers::from([("a".into(), heard)]),
        false,
        at(2)
    )
    .is_ok());
    let errors = finalize(&p, &partners, &policy, &Answers::new(), false, at(2)).unwrap_err();
    assert_eq!(
        errors[0].problem,
        Problem::Unanswered,
        "an operator never defers"
    );
}

#[test]
fn answers_survive_a_basket_change_for_partners_still_asked() {
    let partners = vec![partner("a", 1), partner("b", 1)];
    let before = plan(
        &[line("e1", &["a"]), line("e2", &["b"])],
        &[],
        &partners,
        &Policy::default(),
        at(0),
    );
    let answers = Answers::from([("a".into(), no()), ("b".into(), yes(&[Channel::Email]))]);
    assert!(is_complete(
        &before,
        &partners,
        &Policy::default(),
        &answers
    ));
    let after = plan(
        &[line("e2", &["b"])],
        &[],
        &partners,
        &Policy::default(),
        at(0),
    );
    let kept = retain_answers(&answers, &after);
    assert_eq!(kept.keys().collect::<Vec<_>>(), ["b"]);
    assert_eq!(kept["b"], answers["b"]);
}

// ---- The preference centre ----------------------------------------------

mod account {
    use super::*;
    use consent_core::plan::{account_plan, AskReason};

    fn touched(choice: Choice, channels: &[Channel]) -> Answer {
        Answer {
            choice: Some(choice),
            channels: channels.iter().copied().collect(),
            decided_at: Some(at(200)),
            heard: false,
        }
    }

    #[test]
    fn every_partner_is_listed_with_the_current_answer_shown() {
        let partners = vec![partner("a", 1), partner("b", 2), partner("c", 1)];
        let prefs = vec![
            pref("a", DecisionState::Given, 1, 10),
            pref("b", DecisionState::Refused, 1, 10),
        ];
        let p = account_plan(&partners, &prefs, &Policy::default(), at(100));
        let keys: Vec<&str> = p.questions.iter().map(|q| q.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert_eq!(p.questions[0].asks[0].reason, AskReason::Review);
        assert_eq!(
            p.questions[1].asks[0].reason,
            AskReason::NoticeChanged {
                answered_version: 1,
                current_version: 2
            }
        );
        assert_eq!(p.questions[2].asks[0].reason, AskReason::NoAnswer);
        let answers = current_answers(&p);
        assert_eq!(answers["a"].choice, Some(Choice::Yes));
        assert_eq!(
            answers["a"].channels.iter().collect::<Vec<_>>(),
            [Channel::Email]
        );
        assert_eq!(answers["b"].choice, Some(Choice::No));
        assert!(!answers.contains_key("c"), "never asked: nothing selected");
        // Untouched answers record nothing.
        assert_eq!(
            finalize_account(&p, &partners, &Policy::default(), &answers),
            Ok(vec![])
        );
    }

    #[test]
    fn withdrawing_a_yes_supersedes_it() {
        let partners = vec![partner("a", 1)];
        let given = pref("a", DecisionState::Given, 1, 10);
        let p = account_plan(
            &partners,
            std::slice::from_ref(&given),
            &Policy::default(),
            at(100),
        );
        let answers = Answers::from([("a".into(), touched(Choice::No, &[]))]);
        let drafts = finalize_account(&p, &partners, &Policy::default(), &answers).unwrap();
        assert_eq!(drafts.len(), 1);
        assert_eq!(
            (drafts[0].state, drafts[0].action),
            (DecisionState::Withdrawn, Action::Withdrew)
        );
        assert_eq!(drafts[0].supersedes, given.record_id);
        assert_eq!(drafts[0].decided_at, at(200));
    }

    #[test]
    fn changes_are_recorded_and_a_current_no_is_not_repeated() {
        let partners = vec![partner("a", 1), partner("b", 1), partner("c", 1)];
        let prefs = vec![
            pref("a", DecisionState::Refused, 1, 10),
            pref("b", DecisionState::Withdrawn, 1, 11),
        ];
        let p = account_plan(&partners, &prefs, &Policy::default(), at(100));
        let answers = Answers::from([
            ("a".into(), touched(Choice::Yes, &[Channel::Post])),
            ("b".into(), touched(Choice::No, &[])),
            ("c".into(), touched(Choice::No, &[])),
        ]);
        let drafts = finalize_account(&p, &partners, &Policy::default(), &answers).unwrap();
        let got: Vec<(&str, DecisionState, bool)> = drafts
            .iter()
            .map(|d| (d.question.as_str(), d.state, d.renewal))
            .collect();
        assert_eq!(
            got,
            [
                ("a", DecisionState::Given, false),
                ("c", DecisionState::Refused, false)
            ]
        );
        assert_eq!(drafts[0].channels, [Channel::Post]);
        assert_eq!(drafts[0].supersedes, prefs[0].record_id);
    }

    #[test]
    fn a_yes_needs_a_channel_and_renews_an_earlier_yes() {
        let partners = vec![partner("a", 2)];
        let prefs = vec![pref("a", DecisionState::Given, 1, 10)];
        let p = account_plan(&partners, &prefs, &Policy::default(), at(100));
        let none = Answers::from([("a".into(), touched(Choice::Yes, &[]))]);
        let errors = finalize_account(&p, &partners, &Policy::default(), &none).unwrap_err();
        assert_eq!(errors[0].problem, Problem::NoChannel);
        let both = Answers::from([(
            "a".into(),
            touched(Choice::Yes, &[Channel::Email, Channel::Post]),
        )]);
        let drafts = finalize_account(&p, &partners, &Policy::default(), &both).unwrap();
        assert!(
            drafts[0].renewal,
            "a yes to new wording after a yes is a renewal"
        );
    }

    #[test]
    fn a_channel_only_change_to_a_current_yes_is_a_new_yes_not_a_renewal() {
        let partners = vec![partner("a", 1)];
        let prefs = vec![pref("a", DecisionState::Given, 1, 10)];
        let p = account_plan(&partners, &prefs, &Policy::default(), at(100));
        assert_eq!(p.questions[0].asks[0].reason, AskReason::Review);
        let post = Answers::from([("a".into(), touched(Choice::Yes, &[Channel::Post]))]);
        let drafts = finalize_account(&p, &partners, &Policy::default(), &post).unwrap();
        assert_eq!(drafts[0].state, DecisionState::Given);
        assert!(!drafts[0].renewal, "same wording, in force: not renewed");
        assert_eq!(drafts[0].supersedes, prefs[0].record_id);
    }

    #[test]
    fn at_the_box_office_the_preference_centre_needs_heard_too() {
        let partners = vec![partner("a", 1)];
        let policy = Policy {
            mode: Mode::Account,
            channel: CollectionChannel::BoxOffice,
            ..Policy::default()
        };
        let p = account_plan(&partners, &[], &policy, at(100));
        let mut answers = Answers::from([("a".into(), touched(Choice::No, &[]))]);
        let errors = finalize_account(&p, &partners, &policy, &answers).unwrap_err();
        assert_eq!(errors[0].problem, Problem::NotHeard);
        answers.get_mut("a").unwrap().heard = true;
        assert_eq!(
            finalize_account(&p, &partners, &policy, &answers)
                .unwrap()
                .len(),
            1
        );
    }
}

/// "Change my answers" after a save: the same questions, each showing the
/// answer just saved, so a new answer supersedes it; a no to a saved yes
/// is a withdrawal.
#[test]
fn changing_saved_answers_supersedes_them() {
    let partners = vec![partner("a", 1), partner("b", 1)];
    let first = plan(
        &[line("e1", &["a", "b"])],
        &[],
        &partners,
        &Policy::default(),
        at(0),
    );
    let mut saved_a = pref("a", DecisionState::Given, 1, 1);
    saved_a.record_id = Some("rec-a".into());
    let mut saved_b = pref("b", DecisionState::Refused, 1, 1);
    saved_b.record_id = Some("rec-b".into());
    let again = plan::reopen(&first, &[saved_a, saved_b], at(2));
    assert_eq!(again.questions.len(), 2, "the same questions");
    let answers = Answers::from([("a".into(), no()), ("b".into(), yes(&[Channel::Email]))]);
    let drafts = finalize(&again, &partners, &Policy::default(), &answers, true, at(3)).unwrap();
    let got: Vec<(&str, DecisionState, Option<&str>, bool)> = drafts
        .iter()
        .map(|d| {
            (
                d.question.as_str(),
                d.state,
                d.supersedes.as_deref(),
                d.renewal,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a", DecisionState::Withdrawn, Some("rec-a"), false),
            ("b", DecisionState::Given, Some("rec-b"), false),
        ]
    );
}

/// A validated config with the venue's own question under the soft opt-in.
fn soft_opt_in_config(basis: &str) -> consent_core::config::Config {
    let raw: consent_core::wire::ConfigV1 = serde_json::from_value(serde_json::json!({
        "endpoint": "/api/v1/consent-records",
        "customerId": "C-1",
        "venue": {"id": "crucible", "name": "The Crucible"},
        "ownMarketing": {
            "privacyUrl": "https://crucible.example/privacy",
            "notice": {"id": "crucible-news", "version": 1, "basis": basis,
                       "text": {"en-GB": "We would like to tell you about similar events at the Crucible."},
                       "channels": ["email", "post"]}
        },
        "partners": [
            {"id": "fiery", "name": "Fiery Angel", "privacyUrl": "https://fiery.example/privacy",
             "notice": {"id": "fiery-mkt", "version": 1, "text": {"en-GB": "Fiery Angel would like to email you."}, "channels": ["email"]}}
        ],
        "basket": {"lines": [{"eventId": "hamlet", "title": "Hamlet", "partnerIds": ["fiery"]}]}
    }))
    .unwrap();
    consent_core::config::validate(&raw).unwrap().config
}

#[test]
fn the_venues_own_soft_opt_in_is_asked_first_once_and_never_blocks() {
    let c = soft_opt_in_config("legitimate-interests");
    assert!(c.partners[0].own && c.partners[0].id.as_str() == "crucible");
    let p = plan(&c.basket, &[], &c.partners, &c.policy, at(5));
    let keys: Vec<&str> = p.questions.iter().map(|q| q.key.as_str()).collect();
    assert_eq!(
        keys,
        ["crucible", "fiery"],
        "first, whatever the basket holds"
    );
    assert!(is_opt_out(&p.questions[0], &c.partners));
    assert!(!is_opt_out(&p.questions[1], &c.partners));
    // Untouched, even with answers required: no objection, on every channel.
    let mut answers = Answers::new();
    answers.insert("fiery".into(), no());
    let drafts = finalize(&p, &c.partners, &c.policy, &answers, true, at(6)).unwrap();
    assert_eq!(drafts[0].state, DecisionState::Given);
    assert_eq!(drafts[0].action, Action::NotOptedOut);
    assert_eq!(drafts[0].channels, [Channel::Email, Channel::Post]);
    assert_eq!(drafts[1].action, Action::SelectedNo);
    // Ticked: opted out there and then.
    answers.insert("crucible".into(), no());
    let drafts = finalize(&p, &c.partners, &c.policy, &answers, true, at(6)).unwrap();
    assert_eq!(
        (drafts[0].state, drafts[0].action),
        (DecisionState::Refused, Action::OptedOut)
    );
    // Answered, it is not asked again.
    let mut answered = pref("crucible", DecisionState::Given, 1, 6);
    answered.notice_id = Some("crucible-news".into());
    let p = plan(&c.basket, &[answered], &c.partners, &c.policy, at(7));
    assert_eq!(p.questions.len(), 1);
    assert_eq!(p.questions[0].key, "fiery");
    // Under consent it is an ordinary yes/no: unanswered is no consent.
    let c = soft_opt_in_config("consent");
    let p = plan(&c.basket, &[], &c.partners, &c.policy, at(5));
    assert!(!is_opt_out(&p.questions[0], &c.partners));
    let drafts = finalize(&p, &c.partners, &c.policy, &Answers::new(), false, at(6)).unwrap();
    assert_eq!(drafts[0].state, DecisionState::Deferred);
}

#[test]
fn a_partner_cannot_take_the_venues_id() {
    let raw: consent_core::wire::ConfigV1 = serde_json::from_value(serde_json::json!({
        "endpoint": "/x", "customerId": "C-1",
        "venue": {"id": "crucible", "name": "The Crucible"},
        "ownMarketing": {"privacyUrl": "https://crucible.example/privacy",
            "notice": {"id": "n", "version": 1, "text": {"en-GB": "News"}, "channels": ["email"]}},
        "partners": [{"id": "crucible", "name": "Impostor", "privacyUrl": "https://x.example/p",
            "notice": {"id": "m", "version": 1, "text": {"en-GB": "Hi"}, "channels": ["email"]}}],
        "basket": {"lines": []}
    }))
    .unwrap();
    let e = consent_core::config::validate(&raw).unwrap_err();
    assert!(
        e.errors.iter().any(|e| e.path == "partners[0].id"),
        "{:?}",
        e.errors
    );
}
