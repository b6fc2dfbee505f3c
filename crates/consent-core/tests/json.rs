//! The widget's own JSON reader and writer (`json`, `wire_json`) against
//! serde_json and the serde attributes on the wire types: the same text in,
//! the same values out, and errors that name the field.

use consent_core::domain::{Channel, CollectionChannel, DecisionState, Venue};
use consent_core::json::{self, FromJson, ToJson};
use consent_core::wire::*;
use consent_core::Timestamp;
use proptest::prelude::*;
use serde_json::{json, Value};

const DEMO_CONFIG: &str = include_str!("../../../static/demo-config.json");

/// Every enum's JSON names agree with serde's, both ways.
fn names_agree<T>(names: &[(&str, T)])
where
    T: serde::Serialize
        + serde::de::DeserializeOwned
        + ToJson
        + FromJson
        + PartialEq
        + std::fmt::Debug,
{
    for (name, variant) in names {
        let quoted = format!("\"{name}\"");
        assert_eq!(serde_json::to_string(variant).expect("serialises"), quoted);
        assert_eq!(variant.to_json(), quoted);
        assert_eq!(
            &serde_json::from_str::<T>(&quoted).expect("serde reads it"),
            variant
        );
        assert_eq!(&json::from_str::<T>(&quoted).expect("we read it"), variant);
    }
}

#[test]
fn enum_names_match_serde() {
    names_agree(Channel::NAMES);
    names_agree(CollectionChannel::NAMES);
    names_agree(DecisionState::NAMES);
    names_agree(PresentationMode::NAMES);
    names_agree(Control::NAMES);
    names_agree(Action::NAMES);
    names_agree(DpvState::NAMES);
    names_agree(ExpressedBy::NAMES);
    names_agree(Embed::NAMES);
    // And every variant is named: as many names as serde knows variants.
    assert_eq!(Channel::NAMES.len(), Channel::ALL.len());
    assert_eq!(DpvState::NAMES.len(), 5);
    assert_eq!(Action::NAMES.len(), 4);
}

#[test]
fn the_demo_config_reads_the_same_as_with_serde() {
    let ours: ConfigV1 = json::from_str(DEMO_CONFIG).expect("we read the demo config");
    let theirs: ConfigV1 = serde_json::from_str(DEMO_CONFIG).expect("serde reads it");
    assert_eq!(ours, theirs);
    assert!(ours.partners.len() >= 4, "the demo has partners to compare");
}

#[test]
fn a_config_with_every_field_reads_the_same_as_with_serde() {
    let text = json!({
        "endpoint": "/api/v1/consent-records",
        "customerId": "C-1",
        "venue": {"id": "v", "name": "Venue"},
        "jurisdiction": "GB-WLS",
        "locale": "cy",
        "defaultLocale": "en-GB",
        "mode": "general",
        "generalNotice": {"id": "g", "version": 3, "text": {"en-GB": "To {partners}."},
            "purpose": "marketing", "channels": ["email", "post"], "whatChanged": {"en-GB": "Post too."}},
        "requireAnswer": true,
        "reaskOnNoticeChange": false,
        "validityDays": 730,
        "channel": "box-office",
        "operatorId": "op-1",
        "partners": [{"id": "p", "name": "P", "privacyUrl": "https://p.example/privacy",
            "privacySummary": {"en-GB": "Short."},
            "notice": {"id": "n", "version": 1, "text": {"en-GB": "Hi", "cy": "Helo"}}}],
        "basket": {"ref": "B-1", "lines": [{"eventId": "e", "title": "Hamlet", "partnerIds": ["p"]}]},
        "preferences": [{"partnerId": "p", "state": "given", "noticeId": "n", "noticeVersion": 1,
            "decidedAt": "2026-01-02T03:04:05.678Z", "validUntil": "2028-01-02T03:04:05.678Z",
            "recordId": "r", "channels": ["sms"], "noticeText": "Hi", "noticeLanguage": "en-GB"}],
        "headingLevel": 3,
        "theme": {"preset": "dark", "tokens": {"accent": "#7a1f5c"}},
        "headers": {"X-CSRF-Token": "t"},
        "credentials": "include",
        "showGpcNote": true,
        "submitButton": false,
        "strings": {"en-GB": {"save": "Continue to payment"}}
    })
    .to_string();
    let ours: ConfigV1 = json::from_str(&text).expect("we read it");
    let theirs: ConfigV1 = serde_json::from_str(&text).expect("serde reads it");
    assert_eq!(ours, theirs);
    assert_eq!(ours.heading_level, Some(3));
    assert_eq!(ours.strings["en-GB"]["save"], "Continue to payment");
}

#[test]
fn syntax_errors_say_where() {
    let e = json::from_str::<ConfigV1>("{\"endpoint\": }").expect_err("not JSON");
    assert_eq!(e.path, "");
    assert_eq!(e.message, "not valid JSON at byte 13: expected a value");
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{1,12}",
        any::<String>(),
        Just("quote \" back \\ nl \n tab \t nul \u{0} é 🎭".to_owned()),
    ]
}

fn pick<T: Copy + std::fmt::Debug + 'static>(
    names: &'static [(&'static str, T)],
) -> impl Strategy<Value = T> {
    (0..names.len()).prop_map(move |i| names[i].1)
}

fn time() -> impl Strategy<Value = Timestamp> {
    (0i64..4_102_444_800_000).prop_map(Timestamp::from_unix_millis)
}

prop_compose! {
    fn record()(
        ids in (text(), proptest::option::of(text()), text()),
        names in (text(), text(), text(), text(), text()),
        channels in proptest::collection::vec(pick(Channel::NAMES), 0..4),
        states in (pick(DecisionState::NAMES), pick(DpvState::NAMES), pick(Action::NAMES)),
        notice in (text(), any::<u32>(), text(), text(), text()),
        shown in (pick(PresentationMode::NAMES), pick(Control::NAMES), any::<bool>()),
        times in (time(), time(), proptest::option::of(time()), proptest::option::of(time())),
        collection in (pick(CollectionChannel::NAMES), pick(Embed::NAMES), text(), text(),
            proptest::option::of(text()), proptest::collection::vec(text(), 0..3),
            proptest::option::of(text()), pick(ExpressedBy::NAMES), proptest::option::of(any::<bool>())),
    ) -> ConsentRecordV1 {
        ConsentRecordV1 {
            schema: RECORD_SCHEMA_V1.to_owned(),
            record_id: ids.0,
            supersedes: ids.1,
            customer_id: ids.2,
            venue: Venue { id: names.0.clone(), name: names.1 },
            partner: PartnerRefV1 { id: names.2, name: names.3, privacy_url: names.4 },
            purpose: "marketing".to_owned(),
            channels,
            state: states.0,
            dpv_state: states.1,
            notice: NoticeV1 { id: notice.0, version: notice.1, language: notice.2, text: notice.3, sha256: notice.4 },
            presentation: PresentationV1 { mode: shown.0, control: shown.1, preselected: shown.2 },
            action: states.2,
            presented_at: times.0,
            decided_at: times.1,
            collection: CollectionV1 {
                channel: collection.0,
                embed: collection.1,
                page_origin: collection.2,
                page_path: collection.3,
                widget_version: "0.1.0".to_owned(),
                basket_ref: collection.4,
                event_ids: collection.5,
                operator_id: collection.6,
                expressed_by: collection.7,
                gpc: collection.8,
            },
            jurisdiction: names.0,
            valid_until: times.2,
            received_at: times.3,
        }
    }
}

proptest! {
    /// We write exactly the JSON serde writes, and read back what serde wrote.
    #[test]
    fn records_agree_with_serde(r in record()) {
        let ours: Value = serde_json::from_str(&r.to_json()).expect("we write valid JSON");
        prop_assert_eq!(ours, serde_json::to_value(&r).expect("serde writes it"));
        let back: ConsentRecordV1 =
            json::from_str(&serde_json::to_string(&r).expect("serde writes it")).expect("we read it");
        prop_assert_eq!(back, r);
    }

    /// Any JSON serde_json writes, we parse to the same tree.
    #[test]
    fn parsing_agrees_with_serde(v in json_value()) {
        let text = v.to_string();
        let ours = json::parse(&text).expect("valid JSON");
        let again: Value = serde_json::from_str(&ours.to_json()).expect("we write valid JSON");
        prop_assert_eq!(again, v);
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(any::<String>(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn numbers_the_backend_refuses_are_refused_when_read() {
    // What the widget's reader accepts, serde_json (the backend's) accepts too.
    for text in [
        "0",
        "-0",
        "1",
        "1.5",
        "1e308",
        "-1e308",
        "1.7976931348623157e308",
        "1e-400",
        "0e999",
        "0.000001e300",
        "1e400",
        "-1e400",
        "2e308",
        "1.8e308",
        "10e307",
        "100000e304",
        "0.1e310",
        "179769313486231590e291",
        "179769313486231570e291",
        "123456789012345678901234567890",
    ] {
        let ours = consent_core::json::parse(text).is_ok();
        let theirs = serde_json::from_str::<serde_json::Value>(text).is_ok();
        assert_eq!(ours, theirs, "{text}");
    }
}
