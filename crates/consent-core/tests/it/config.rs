//! Config validation: every error names its field, warnings stay apart.

use consent_core::config::{read_issue, validate, ConfigErrors, ThemePreset};
use consent_core::domain::Mode;
use consent_core::wire::ConfigV1;
use serde_json::{json, Value};

/// Reads a config as a server would: serde_json under serde_path_to_error,
/// its errors put in the venue's words by `read_issue` (the widget does the
/// same over serde-wasm-bindgen).
fn parse_json(text: &str) -> Result<ConfigV1, ConfigErrors> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| ConfigErrors {
        errors: vec![read_issue(&e.path().to_string(), &e.inner().to_string())],
        warnings: Vec::new(),
    })
}

fn good() -> Value {
    json!({
        "endpoint": "/api/v1/consent-records",
        "customerId": "C-1001",
        "venue": {"id": "crucible", "name": "The Crucible"},
        "partners": [
            {"id": "fiery", "name": "Fiery Angel", "privacyUrl": "https://fiery.example/privacy",
             "notice": {"id": "fiery-mkt", "version": 2, "text": {"en-GB": "Fiery Angel would like to email you.", "cy": "Hoffai Fiery Angel anfon e-bost atoch."}, "channels": ["email"]}},
            {"id": "ntl", "name": "National Theatre Live", "privacyUrl": "https://ntl.example/privacy",
             "notice": {"id": "ntl-mkt", "version": 1, "text": {"en-GB": "NT Live would like to write to you."}, "channels": ["post", "email"]}}
        ],
        "basket": {"ref": "B-1", "lines": [
            {"eventId": "hamlet", "title": "Hamlet", "partnerIds": ["fiery"]},
            {"eventId": "panto", "title": "Cinderella"}
        ]}
    })
}

fn errors_of(v: Value) -> Vec<String> {
    let raw = parse_json(&v.to_string()).expect("parses");
    match validate(&raw) {
        Ok(_) => vec![],
        Err(e) => e.errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_good_config_validates_with_defaults() {
    let raw = parse_json(&good().to_string()).unwrap();
    let v = validate(&raw).unwrap();
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);
    let c = v.config;
    assert_eq!(c.default_locale, "en-GB");
    assert_eq!(c.jurisdiction, "GB");
    assert_eq!(c.heading_level, 2);
    assert_eq!(c.policy.mode, Mode::Individual);
    assert!(c.policy.reask_on_notice_change);
    assert_eq!(c.theme.preset, ThemePreset::Auto);
    assert_eq!(c.partners[1].notice.purpose, "marketing");
    assert_eq!(
        c.partners[1]
            .notice
            .channels
            .iter()
            .map(|ch| ch.as_str())
            .collect::<Vec<_>>(),
        ["email", "post"],
        "channels in documented order"
    );
    assert_eq!(c.basket_ref.as_deref(), Some("B-1"));
}

#[test]
fn errors_name_the_field_path() {
    type Case = (&'static str, fn(&mut Value), &'static str);
    let cases: Vec<Case> = vec![
        ("missing default-locale text", |v| { v["partners"][1]["notice"]["text"] = json!({"cy": "Testun"}); },
            "partners[1].notice.text: no text for the default locale \"en-GB\""),
        ("duplicate partner id", |v| v["partners"][1]["id"] = json!("fiery"),
            "partners[1].id: \"fiery\" is already used by partners[0]"),
        ("insecure privacy URL", |v| v["partners"][0]["privacyUrl"] = json!("http://fiery.example/privacy"),
            "partners[0].privacyUrl: \"http://fiery.example/privacy\" must be an https:// URL"),
        ("version zero", |v| v["partners"][0]["notice"]["version"] = json!(0),
            "partners[0].notice.version: must be 1 or more, and go up whenever the wording changes"),
        ("no channels", |v| v["partners"][0]["notice"]["channels"] = json!([]),
            "partners[0].notice.channels: name at least one channel: email, post, sms or phone"),
        ("empty event id", |v| v["basket"]["lines"][0]["eventId"] = json!(""),
            "basket.lines[0].eventId: must not be empty"),
        ("general mode without statement", |v| v["mode"] = json!("general"),
            "generalNotice: is required in general mode: the statement that names the partners"),
        ("general statement that does not name the partners", |v| {
            v["mode"] = json!("general");
            v["generalNotice"] = json!({"id": "g", "version": 1, "text": {"en-GB": "We share your details with partners."}, "channels": ["email"]});
        }, "generalNotice.text.en-GB: must contain {partners}, where the prompt writes the partner names: the statement must name each one"),
        ("bad locale", |v| v["locale"] = json!("Welsh"),
            "locale: \"Welsh\" is not a BCP 47 language tag such as \"cy\" or \"en-GB\""),
        ("box office without operator", |v| v["channel"] = json!("box-office"),
            "operatorId: is required when channel is \"box-office\": records must name the operator"),
        ("heading level", |v| v["headingLevel"] = json!(7), "headingLevel: 7 must be between 1 and 6"),
        ("css injection in a token", |v| v["theme"] = json!({"tokens": {"accent": "red; } body { display:none"}}),
            "theme.tokens.accent: \"red; } body { display:none\" is not a plain CSS value (no ; { } < > \\ or url())"),
        ("unknown token", |v| v["theme"] = json!({"tokens": {"acent": "red"}}),
            "theme.tokens.acent: is not a theme token; known tokens: accent, accent-text, text, muted, background, surface, border, error, radius, font-family, font-size, spacing, padding, focus-ring"),
        ("css injection in a dark token", |v| v["theme"] = json!({"darkTokens": {"text": "#fff} x {"}}),
            "theme.darkTokens.text: \"#fff} x {\" is not a plain CSS value (no ; { } < > \\ or url())"),
        ("unknown dark token", |v| v["theme"] = json!({"darkTokens": {"colour": "red"}}),
            "theme.darkTokens.colour: is not a theme token; known tokens: accent, accent-text, text, muted, background, surface, border, error, radius, font-family, font-size, spacing, padding, focus-ring"),
        ("zero validity", |v| v["validityDays"] = json!(0),
            "validityDays: must be at least 1 day (leave it out for answers that do not lapse)"),
        ("overriding a header the prompt sets", |v| v["headers"] = json!({"Idempotency-Key": "x"}),
            "headers.Idempotency-Key: is set by the prompt itself and cannot be overridden"),
        ("credentials", |v| v["credentials"] = json!("always"),
            "credentials: \"always\" must be \"omit\", \"same-origin\" or \"include\""),
        ("no venue", |v| { v.as_object_mut().unwrap().remove("venue"); },
            "venue: is required: {\"id\": …, \"name\": …}"),
    ];
    for (name, breakage, want) in cases {
        let mut v = good();
        breakage(&mut v);
        let errors = errors_of(v);
        assert_eq!(errors, [want], "{name}");
    }
}

#[test]
fn a_customer_id_longer_than_records_allow_is_refused() {
    let mut v = good();
    v["customerId"] = json!("c".repeat(256));
    assert!(errors_of(v.clone()).is_empty());
    v["customerId"] = json!("c".repeat(257));
    let errors = errors_of(v);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("customerId: is 257 bytes long"),
        "{errors:?}"
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let mut v = good();
    v["customerId"] = json!("");
    v["partners"][0]["name"] = json!(" ");
    v["partners"][1]["notice"]["id"] = json!("");
    assert_eq!(
        errors_of(v),
        [
            "customerId: must not be empty",
            "partners[0].name: must not be empty",
            "partners[1].notice.id: must not be empty"
        ]
    );
}

#[test]
fn warnings_are_kept_apart_from_errors() {
    let mut v = good();
    v["basket"]["lines"][1]["partnerIds"] = json!(["ghost"]);
    v["basket"]["lines"]
        .as_array_mut()
        .unwrap()
        .push(json!({"eventId": "hamlet", "title": "Hamlet"}));
    v["partners"][0]["privacyUrl"] = json!("http://localhost:8080/privacy");
    let raw = parse_json(&v.to_string()).unwrap();
    let ok = validate(&raw).expect("warnings do not stop the prompt");
    let warnings: Vec<String> = ok.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "partners[0].privacyUrl: is a local http URL; use https in production",
            "basket.lines[1].partnerIds[0]: \"ghost\" is not among the configured partners, so it cannot be asked about",
            "basket.lines[2].eventId: \"hamlet\" repeats basket.lines[0]; the repeat is ignored",
        ]
    );
}

#[test]
fn type_errors_name_the_path() {
    let mut v = good();
    v["partners"][1]["notice"]["version"] = json!("2");
    let e = parse_json(&v.to_string()).unwrap_err();
    assert_eq!(e.errors[0].path, "partners[1].notice.version");
    assert_eq!(
        e.errors[0].message,
        "must be a whole number from 0 to 4294967295, not a string"
    );

    let mut v = good();
    v["partners"][0]["notice"]["channels"] = json!(["fax"]);
    let e = parse_json(&v.to_string()).unwrap_err();
    assert_eq!(e.errors[0].path, "partners[0].notice.channels[0]");

    let mut v = good();
    v["thirdParties"] = json!(true);
    let e = parse_json(&v.to_string()).unwrap_err();
    assert_eq!(e.errors[0].path, "thirdParties");
    assert!(
        e.errors[0].message.starts_with("is not a known field"),
        "{}",
        e.errors[0]
    );
}

#[test]
fn locales_are_canonicalised() {
    let mut v = good();
    v["locale"] = json!("CY-gb");
    v["partners"][0]["notice"]["text"] = json!({"EN-gb": "Hello", "cy": "Helo"});
    let raw = parse_json(&v.to_string()).unwrap();
    let c = validate(&raw).unwrap().config;
    assert_eq!(c.locale.as_deref(), Some("cy-GB"));
    assert!(c.partners[0].notice.text.contains_key("en-GB"));
}

#[test]
fn a_checkout_token_is_taken_for_delivery_and_checked() {
    let mut v = good();
    v["token"] = json!("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJDLTEwMDEifQ.c2ln");
    let raw = parse_json(&v.to_string()).expect("parses");
    let c = validate(&raw).expect("valid").config;
    assert_eq!(
        c.token.as_deref(),
        Some("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJDLTEwMDEifQ.c2ln")
    );
    assert_eq!(
        validate(&parse_json(&good().to_string()).unwrap())
            .unwrap()
            .config
            .token,
        None
    );
    for bad in ["two words", "line\nbreak", "é"] {
        let mut v = good();
        v["token"] = json!(bad);
        let errors = errors_of(v);
        assert_eq!(errors.len(), 1, "{bad:?}: {errors:?}");
        assert!(errors[0].starts_with("token: "), "{errors:?}");
    }
}

const DEMO_CONFIG: &str = include_str!("../../../../static/demo-config.json");

/// Bad configs, and the field and words each error gives.
#[test]
fn config_errors_name_the_field() {
    let cases: &[(&str, Value, &str, &str)] = &[
        (
            "/partners/1/notice/version",
            json!("2"),
            "partners[1].notice.version",
            "must be a whole number from 0 to 4294967295, not a string",
        ),
        (
            "/partners/0/notice/version",
            json!(-1),
            "partners[0].notice.version",
            "must be a whole number from 0 to 4294967295, not -1",
        ),
        (
            "/basket/lines/2/partnerIds",
            json!("x"),
            "basket.lines[2].partnerIds",
            "must be a list, not a string",
        ),
        (
            "/mode",
            json!("popup"),
            "mode",
            "must be one of \"individual\", \"general\", \"account\", not \"popup\"",
        ),
        (
            "/preferences/0/decidedAt",
            json!("yesterday"),
            "preferences[0].decidedAt",
            "must be an RFC 3339 date-time",
        ),
        (
            "/theme",
            json!({"tokens": {"accent": 7}}),
            "theme.tokens.accent",
            "must be a string, not a number",
        ),
        (
            "/headingLevel",
            json!(1000),
            "headingLevel",
            "from 0 to 255, not 1000",
        ),
        (
            "/showGpcNote",
            json!("yes"),
            "showGpcNote",
            "must be true or false, not a string",
        ),
        (
            "/customer_id",
            json!("C"),
            "customer_id",
            "did you mean \"customerId\"?",
        ),
        (
            "/partners/0/colour",
            json!("red"),
            "partners[0].colour",
            "is not a known field (known here: id, name",
        ),
        ("/basket", json!(null), "basket", "is required"),
    ];
    for (pointer, value, path, words) in cases {
        let mut config: Value = serde_json::from_str(DEMO_CONFIG).expect("demo config");
        set(&mut config, pointer, value.clone());
        let e = parse_json(&config.to_string())
            .expect_err(&format!("{pointer} = {value} must be refused"))
            .errors
            .remove(0);
        assert_eq!(e.path, *path, "{pointer}");
        assert!(
            e.message.contains(words),
            "{pointer}: {:?} lacks {words:?}",
            e.message
        );
    }
}

/// Sets `pointer` in `v`, adding the last key if absent.
fn set(v: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
    let parent = v
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("{pointer}: no parent"));
    match parent {
        Value::Object(m) => {
            m.insert(key.to_owned(), value);
        }
        Value::Array(a) => a[key.parse::<usize>().expect("an index")] = value,
        _ => panic!("{pointer}: parent is neither object nor list"),
    }
}

/// The words shown for a notice, and the control a record names, are the
/// engine's rules: the screen and the record take them from one place.
#[test]
fn the_shown_notice_and_the_control_come_from_the_config() {
    use consent_core::record::{control_for, shown_notice};
    use consent_core::wire::Control;
    use consent_core::Timestamp;

    let c = validate(&parse_json(&good().to_string()).unwrap())
        .unwrap()
        .config;
    let now = Timestamp::from_unix_millis(1_764_079_387_000);
    let p = consent_core::plan(&c.basket, &c.preferences, &c.partners, &c.policy, now);
    let fiery = &p.questions[0];

    let welsh = shown_notice(&c, "cy", fiery);
    assert_eq!(welsh.notice.text, "Hoffai Fiery Angel anfon e-bost atoch.");
    assert_eq!(welsh.notice.language, "cy");
    assert_eq!(welsh.missing_translation, None);

    let french = shown_notice(&c, "fr", fiery);
    assert_eq!(french.notice.language, "en-GB");
    assert_eq!(
        french.missing_translation.as_deref(),
        Some("missing translation: partner \"fiery\" notice for locale \"fr\"; showing \"en-GB\" instead")
    );
    assert_eq!(control_for(fiery, &c.partners, &c.policy), Control::Radio);

    let mut v = good();
    v["mode"] = json!("general");
    v["generalNotice"] = json!({"id": "g", "version": 1, "channels": ["email"],
        "text": {"en-GB": "We share your details with {partners}."}});
    v["basket"]["lines"][1]["partnerIds"] = json!(["ntl"]);
    let c = validate(&parse_json(&v.to_string()).unwrap())
        .unwrap()
        .config;
    let p = consent_core::plan(&c.basket, &c.preferences, &c.partners, &c.policy, now);
    let shown = shown_notice(&c, "en-GB", &p.questions[0]);
    assert_eq!(
        shown.notice.text,
        "We share your details with Fiery Angel and National Theatre Live."
    );
}

#[test]
fn a_partner_notice_may_rely_on_consent_only_and_mixed_mode_flags_are_read() {
    let mut v = good();
    v["partners"][1]["notice"]["basis"] = json!("legitimate-interests");
    v["partners"][0]["askIndividually"] = json!(true);
    v["channel"] = json!("import");
    let errors = errors_of(v);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("partners[1].notice.basis") && e.contains("consent")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.starts_with("channel")),
        "{errors:?}"
    );
    let mut ok = good();
    ok["partners"][0]["askIndividually"] = json!(true);
    ok["partners"][0]["notice"]["basis"] = json!("consent");
    ok["reaskImported"] = json!(true);
    let raw = parse_json(&ok.to_string()).unwrap();
    let c = validate(&raw).unwrap().config;
    assert!(c.partners[0].ask_individually);
    assert!(!c.partners[1].ask_individually);
    assert!(c.policy.reask_imported);
}

/// What a reader puts in place of a refused value, so that the next
/// problem is found too: one rule for the widget and the host's
/// `check-config`, by serde's message (and the value there now).
#[test]
fn placeholders_follow_what_serde_expected() {
    use consent_core::config::{placeholder, Placeholder as P, PLACEHOLDER_TIME};
    let cases: &[(&str, Option<&str>, Option<P>)] = &[
        (
            "invalid type: integer `5`, expected a string",
            None,
            Some(P::Text),
        ),
        (
            "invalid type: null, expected a borrowed string",
            None,
            Some(P::Text),
        ),
        (
            "invalid type: string \"x\", expected char",
            None,
            Some(P::Text),
        ),
        (
            "invalid type: string \"2\", expected u32",
            Some("2"),
            Some(P::Number),
        ),
        (
            "invalid value: integer `-1`, expected u8",
            None,
            Some(P::Number),
        ),
        (
            "invalid type: string \"yes\", expected a boolean",
            Some("yes"),
            Some(P::False),
        ),
        (
            "invalid type: map, expected a sequence",
            None,
            Some(P::List),
        ),
        (
            "invalid type: string \"a\", expected a tuple of size 2",
            Some("a"),
            Some(P::List),
        ),
        (
            "invalid type: sequence, expected a map",
            None,
            Some(P::Object),
        ),
        (
            "invalid type: string \"v\", expected struct Venue",
            Some("v"),
            Some(P::Object),
        ),
        (
            "invalid type: null, expected struct NoticeConfigV1",
            None,
            Some(P::Object),
        ),
        (
            "unknown variant `fax`, expected one of `email`, `post`, `sms`, `phone`",
            Some("fax"),
            Some(P::Variant("email")),
        ),
        (
            "unknown variant `x`, expected `web` or `box-office`",
            Some("x"),
            Some(P::Variant("web")),
        ),
        ("unknown variant `x`, expected nothing", Some("x"), None),
        // A string the field's own reading refused: a time that reads,
        // unless that is what is there already (then nothing would read).
        (
            "must be an RFC 3339 date-time such as 2026-11-25T14:03:07Z (no T)",
            Some("yesterday"),
            Some(P::Time),
        ),
        (
            "must be an RFC 3339 date-time",
            Some(PLACEHOLDER_TIME),
            None,
        ),
        ("must be an RFC 3339 date-time", None, None),
    ];
    for (message, current, want) in cases {
        assert_eq!(placeholder(message, *current), *want, "{message}");
    }
}

#[test]
fn each_colour_scheme_keeps_its_own_tokens() {
    let mut v = good();
    v["theme"] = json!({
        "preset": "auto",
        "tokens": { "accent": "#7a1f5c", "radius": "4px" },
        "darkTokens": { "accent": " #f0a8d8 " }
    });
    let c = validate(&parse_json(&v.to_string()).unwrap())
        .unwrap()
        .config;
    assert_eq!(
        c.theme.tokens,
        [
            ("accent".into(), "#7a1f5c".into()),
            ("radius".into(), "4px".into())
        ]
    );
    assert_eq!(c.theme.dark_tokens, [("accent".into(), "#f0a8d8".into())]);
}
