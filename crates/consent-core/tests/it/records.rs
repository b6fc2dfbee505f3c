//! Records: the builder, serde round-trips, the JSON Schema, and the checks a backend runs.

use crate::common::*;
use consent_core::domain::*;
use consent_core::record::*;
use consent_core::wire::*;
use proptest::prelude::*;
use serde_json::{json, Value};

const ID: &str = "0b7e8a4c-3f1d-4c2a-9e5b-7d6f1a2b3c4d";

fn ctx(channel: CollectionChannel) -> RecordContext {
    RecordContext {
        venue: Venue {
            id: "crucible".into(),
            name: "The Crucible".into(),
        },
        customer_id: "C-1001".into(),
        jurisdiction: "GB".into(),
        channel,
        embed: Embed::Script,
        page_origin: "https://tickets.crucible.example".into(),
        page_path: "/checkout".into(),
        widget_version: "0.1.0".into(),
        basket_ref: Some("B-77".into()),
        operator_id: channel.is_assisted().then(|| "op-12".into()),
        gpc: Some(true),
        validity_days: Some(730),
    }
}

fn decision(partner: &Partner, state: DecisionState, action: Action) -> Decision<'_> {
    Decision {
        partner,
        state,
        action,
        channels: if state == DecisionState::Given {
            vec![Channel::Post, Channel::Email, Channel::Email]
        } else {
            partner.notice.channels.clone()
        },
        mode: PresentationMode::Individual,
        control: Control::RadioWithChannels,
        notice: ShownNotice {
            id: partner.notice.id.clone(),
            version: partner.notice.version,
            language: "cy".into(),
            text: partner.notice.text["cy"].clone(),
        },
        presented_at: at(1),
        decided_at: consent_core::Timestamp::from_unix_millis(at(1).unix_millis() + 4_250),
        event_ids: vec!["hamlet".into(), "tempest".into()],
        supersedes: None,
        renewal: false,
    }
}

fn hasher(text: &str) -> Option<String> {
    Some(sha256_hex(text))
}

fn schema() -> jsonschema::Validator {
    let raw: Value = serde_json::from_str(include_str!(
        "../../../../docs/schema/consent-record.v1.json"
    ))
    .unwrap();
    jsonschema::validator_for(&raw).expect("the schema compiles")
}

#[test]
fn builds_a_given_record_with_proof_of_wording() {
    let p = partner("fiery", 3);
    let r = build_record(
        &ctx(CollectionChannel::Web),
        &decision(&p, DecisionState::Given, Action::SelectedYes),
        ID,
        &hasher,
    )
    .unwrap();
    assert_eq!(r.schema, "consent-record/1");
    assert_eq!(r.record_id, ID);
    assert_eq!(r.dpv_state, DpvState::ConsentGiven);
    assert_eq!(
        r.notice.text,
        "Hoffai fiery Productions anfon e-bost atoch."
    );
    assert_eq!(r.notice.sha256, sha256_hex(&r.notice.text));
    assert_eq!(r.notice.language, "cy");
    assert_eq!(r.notice.version, 3);
    assert_eq!(
        r.channels,
        [Channel::Email, Channel::Post],
        "sorted, no repeats"
    );
    assert!(!r.presentation.preselected);
    assert_eq!(r.collection.expressed_by, ExpressedBy::Customer);
    assert_eq!(r.collection.operator_id, None);
    assert_eq!(r.valid_until, Some(r.decided_at.plus_days(730)));
    assert_eq!(r.received_at, None);

    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["decidedAt"], "2026-01-02T00:00:04.250Z");
    assert_eq!(v["dpvState"], "ConsentGiven");
    assert_eq!(v["collection"]["gpc"], true);
    assert!(
        v.get("receivedAt").is_none(),
        "the widget never sends receivedAt"
    );
}

#[test]
fn dpv_states_follow_the_decision() {
    let p = partner("a", 1);
    let cases = [
        (
            DecisionState::Given,
            Action::SelectedYes,
            false,
            DpvState::ConsentGiven,
        ),
        (
            DecisionState::Given,
            Action::SelectedYes,
            true,
            DpvState::RenewedConsentGiven,
        ),
        (
            DecisionState::Refused,
            Action::SelectedNo,
            false,
            DpvState::ConsentRefused,
        ),
        (
            DecisionState::Withdrawn,
            Action::Withdrew,
            false,
            DpvState::ConsentWithdrawn,
        ),
        (
            DecisionState::Deferred,
            Action::NoAnswer,
            false,
            DpvState::ConsentRequestDeferred,
        ),
    ];
    for (state, action, renewal, want) in cases {
        let mut d = decision(&p, state, action);
        d.renewal = renewal;
        let r = build_record(&ctx(CollectionChannel::Web), &d, ID, &hasher).unwrap();
        assert_eq!(r.dpv_state, want, "{state:?} renewal={renewal}");
        assert_eq!(
            r.valid_until.is_none(),
            state == DecisionState::Deferred,
            "{state:?}: validUntil"
        );
        assert_eq!(check_record(&r, sha256_hex), Ok(()));
    }
}

#[test]
fn assisted_records_name_the_operator() {
    let p = partner("a", 1);
    let r = build_record(
        &ctx(CollectionChannel::BoxOffice),
        &decision(&p, DecisionState::Refused, Action::SelectedNo),
        ID,
        &hasher,
    )
    .unwrap();
    assert_eq!(r.collection.operator_id.as_deref(), Some("op-12"));
    assert_eq!(
        r.collection.expressed_by,
        ExpressedBy::OperatorOnBehalfOfCustomer
    );
    let mut no_op = ctx(CollectionChannel::Phone);
    no_op.operator_id = Some("  ".into());
    assert_eq!(
        build_record(
            &no_op,
            &decision(&p, DecisionState::Refused, Action::SelectedNo),
            ID,
            &hasher
        ),
        Err(RecordError::NoOperator)
    );
}

#[test]
fn the_builder_refuses_what_it_cannot_prove() {
    let p = partner("a", 1);
    let web = ctx(CollectionChannel::Web);
    let given = decision(&p, DecisionState::Given, Action::SelectedYes);
    assert!(matches!(
        build_record(&web, &given, "not-a-uuid", &hasher),
        Err(RecordError::BadRecordId(_))
    ));
    assert!(matches!(
        build_record(
            &web,
            &given,
            "0B7E8A4C-3F1D-4C2A-9E5B-7D6F1A2B3C4D",
            &hasher
        ),
        Err(RecordError::BadRecordId(_))
    ));
    let none = |_: &str| None;
    assert!(matches!(
        build_record(&web, &given, ID, &none),
        Err(RecordError::NoDigest { .. })
    ));
    let short = |_: &str| Some("abc".to_owned());
    assert!(matches!(
        build_record(&web, &given, ID, &short),
        Err(RecordError::NoDigest { .. })
    ));
    let mut no_channels = given.clone();
    no_channels.channels.clear();
    assert!(matches!(
        build_record(&web, &no_channels, ID, &hasher),
        Err(RecordError::NoChannels { .. })
    ));
    let mut backwards = given.clone();
    backwards.decided_at = at(0);
    assert!(matches!(
        build_record(&web, &backwards, ID, &hasher),
        Err(RecordError::DecidedBeforePresented { .. })
    ));
}

#[test]
fn records_round_trip_through_serde() {
    let p = partner("a", 2);
    let mut d = decision(&p, DecisionState::Withdrawn, Action::Withdrew);
    d.supersedes = Some("1b7e8a4c-3f1d-4c2a-9e5b-7d6f1a2b3c4d".into());
    let mut r = build_record(&ctx(CollectionChannel::Web), &d, ID, &hasher).unwrap();
    r.received_at = Some(at(3));
    let json = serde_json::to_string(&r).unwrap();
    let back: ConsentRecordV1 = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
}

#[test]
fn the_schema_accepts_every_record_the_builder_makes() {
    let schema = schema();
    let p = partner("a", 1);
    for (state, action, channel) in [
        (
            DecisionState::Given,
            Action::SelectedYes,
            CollectionChannel::Web,
        ),
        (
            DecisionState::Refused,
            Action::SelectedNo,
            CollectionChannel::BoxOffice,
        ),
        (
            DecisionState::Withdrawn,
            Action::Withdrew,
            CollectionChannel::Phone,
        ),
        (
            DecisionState::Deferred,
            Action::NoAnswer,
            CollectionChannel::Web,
        ),
    ] {
        let r = build_record(&ctx(channel), &decision(&p, state, action), ID, &hasher).unwrap();
        let v = serde_json::to_value(&r).unwrap();
        let errors: Vec<String> = schema
            .iter_errors(&v)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{state:?}: {errors:#?}");
    }
}

/// A name (or the field expected to be blamed) and a way to break a valid record.
type Breakage = (&'static str, fn(&mut Value));

fn valid_record_json() -> Value {
    let p = partner("a", 1);
    let r = build_record(
        &ctx(CollectionChannel::Web),
        &decision(&p, DecisionState::Given, Action::SelectedYes),
        ID,
        &hasher,
    )
    .unwrap();
    serde_json::to_value(r).unwrap()
}

#[test]
fn the_schema_rejects_broken_records() {
    let schema = schema();
    let breakages: Vec<Breakage> = vec![
        ("pre-selected", |v| {
            v["presentation"]["preselected"] = json!(true)
        }),
        ("uppercase hash", |v| {
            let upper = v["notice"]["sha256"].as_str().unwrap().to_uppercase();
            v["notice"]["sha256"] = json!(upper);
        }),
        ("unknown state", |v| v["state"] = json!("maybe")),
        ("state and dpvState disagree", |v| {
            v["dpvState"] = json!("ConsentRefused")
        }),
        ("given with no channel", |v| v["channels"] = json!([])),
        ("missing notice text", |v| {
            v["notice"].as_object_mut().unwrap().remove("text");
        }),
        ("time without milliseconds", |v| {
            v["decidedAt"] = json!("2026-01-02T00:00:04Z")
        }),
        ("record id not a v4 uuid", |v| {
            v["recordId"] = json!("0b7e8a4c-3f1d-1c2a-9e5b-7d6f1a2b3c4d")
        }),
        ("unknown field", |v| v["thirdParties"] = json!(true)),
        ("box office without operator", |v| {
            v["collection"]["channel"] = json!("box-office")
        }),
        ("wrong schema", |v| v["schema"] = json!("consent-record/2")),
    ];
    let good = valid_record_json();
    assert!(schema.is_valid(&good));
    for (name, breakage) in breakages {
        let mut v = good.clone();
        breakage(&mut v);
        assert!(!schema.is_valid(&v), "schema accepted a record with {name}");
    }
}

#[test]
fn check_record_finds_a_tampered_notice() {
    let mut v = valid_record_json();
    v["notice"]["text"] = json!("Different words from the ones shown.");
    let r: ConsentRecordV1 = serde_json::from_value(v).unwrap();
    let e = check_record(&r, sha256_hex).unwrap_err();
    assert_eq!(e.field, "notice.sha256");
    assert!(e.message.contains("does not match"), "{e}");
}

#[test]
fn check_record_table() {
    let cases: Vec<Breakage> = vec![
        ("presentation.preselected", |v| {
            v["presentation"]["preselected"] = json!(true)
        }),
        ("dpvState", |v| v["dpvState"] = json!("ConsentWithdrawn")),
        ("channels", |v| v["channels"] = json!([])),
        ("customerId", |v| v["customerId"] = json!(" ")),
        ("customerId", |v| v["customerId"] = json!("c".repeat(257))),
        ("decidedAt", |v| {
            v["decidedAt"] = json!("2025-01-01T00:00:00.000Z")
        }),
        ("action", |v| v["action"] = json!("selected-no")),
        ("supersedes", |v| v["supersedes"] = json!(ID)),
        ("collection.operatorId", |v| {
            v["collection"]["channel"] = json!("phone")
        }),
        ("notice.language", |v| {
            v["notice"]["language"] = json!("Welsh please")
        }),
    ];
    for (field, breakage) in cases {
        let mut v = valid_record_json();
        breakage(&mut v);
        let r: ConsentRecordV1 = serde_json::from_value(v).unwrap();
        assert_eq!(
            check_record(&r, sha256_hex).map_err(|e| e.field),
            Err(field.to_owned())
        );
    }
}

proptest! {
    #[test]
    fn any_notice_text_hashes_and_round_trips(text in "\\PC{1,200}", given in any::<bool>()) {
        let mut p = partner("a", 1);
        p.notice.text.insert("cy".into(), text.clone());
        let (state, action) = if given { (DecisionState::Given, Action::SelectedYes) } else { (DecisionState::Refused, Action::SelectedNo) };
        let r = build_record(&ctx(CollectionChannel::Web), &decision(&p, state, action), ID, &hasher).unwrap();
        prop_assert_eq!(&r.notice.text, &text);
        let back: ConsentRecordV1 = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        prop_assert_eq!(&back, &r);
        if text.trim().is_empty() {
            prop_assert!(check_record(&back, sha256_hex).is_err());
        } else {
            prop_assert_eq!(check_record(&back, sha256_hex), Ok(()));
        }
    }
}

#[test]
fn the_soft_opt_in_is_for_the_venues_own_marketing_only() {
    let p = partner("fiery", 3);
    let mut r = build_record(
        &ctx(CollectionChannel::Web),
        &decision(&p, DecisionState::Given, Action::SelectedYes),
        ID,
        &hasher,
    )
    .unwrap();
    assert!(
        serde_json::to_value(&r).unwrap().get("basis").is_none(),
        "consent, the default, is left out (so earlier bodies hash the same)"
    );
    r.basis = Basis::LegitimateInterests;
    r.action = Action::NotOptedOut;
    let e = check_record(&r, sha256_hex).unwrap_err();
    assert_eq!(e.field, "basis");
    // The venue's own question: the venue is the "partner".
    r.partner.id = r.venue.id.clone();
    r.partner.name = r.venue.name.clone();
    check_record(&r, sha256_hex).unwrap();
    assert!(schema().is_valid(&serde_json::to_value(&r).unwrap()));
    // Under the soft opt-in the actions are the opt-out's.
    r.action = Action::SelectedYes;
    assert_eq!(check_record(&r, sha256_hex).unwrap_err().field, "action");
    assert!(!schema().is_valid(&serde_json::to_value(&r).unwrap()));
    r.state = DecisionState::Refused;
    r.dpv_state = DpvState::ConsentRefused;
    r.action = Action::OptedOut;
    check_record(&r, sha256_hex).unwrap();
    assert!(schema().is_valid(&serde_json::to_value(&r).unwrap()));
}

#[test]
fn an_imported_answer_says_what_is_not_known() {
    let answer = ImportedAnswer {
        customer_id: "C-77".into(),
        partner: PartnerRefV1 {
            id: "fiery".into(),
            name: "Fiery Angel".into(),
            privacy_url: "https://fiery.example/privacy".into(),
        },
        state: DecisionState::Given,
        channels: vec![Channel::Post, Channel::Email, Channel::Post],
        decided_at: None,
        source: "Box office CRM export, 2019".into(),
        jurisdiction: "GB".into(),
    };
    let venue = Venue {
        id: "crucible".into(),
        name: "The Crucible".into(),
    };
    let now = at(40);
    let r = imported_record(&answer, &venue, now, ID, "consent-host 0.1.0", sha256_hex);
    check_record(&r, sha256_hex).unwrap();
    let v = serde_json::to_value(&r).unwrap();
    assert!(schema().is_valid(&v), "{v}");
    assert_eq!(v["collection"]["channel"], "import");
    assert_eq!(v["action"], "imported");
    assert_eq!(v["provenance"], "imported");
    assert_eq!(
        v["import"],
        json!({"source": "Box office CRM export, 2019", "dated": false})
    );
    assert_eq!(r.decided_at, now, "undated: decided when imported");
    assert_eq!(r.notice.text, IMPORTED_NOTICE_TEXT);
    assert_eq!(r.channels, [Channel::Email, Channel::Post]);
    // An import is one thing or the other, never half.
    let mut half = r.clone();
    half.import = None;
    assert_eq!(check_record(&half, sha256_hex).unwrap_err().field, "import");
    assert!(!schema().is_valid(&serde_json::to_value(&half).unwrap()));
    let mut unmarked = r.clone();
    unmarked.provenance = Provenance::Prompt;
    assert_eq!(
        check_record(&unmarked, sha256_hex).unwrap_err().field,
        "provenance"
    );
    assert!(!schema().is_valid(&serde_json::to_value(&unmarked).unwrap()));
    let dated = ImportedAnswer {
        decided_at: Some(at(3)),
        ..answer
    };
    let r = imported_record(&dated, &venue, now, ID, "consent-host 0.1.0", sha256_hex);
    assert_eq!(r.decided_at, at(3));
    assert!(r.import.unwrap().dated);
    // Read back as an answer, it is marked imported.
    let back = consent_core::current::preference_of(&imported_record(
        &dated,
        &venue,
        now,
        ID,
        "consent-host",
        sha256_hex,
    ));
    assert!(back.imported);
}
