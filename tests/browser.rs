//! Component tests in a real browser (wasm-bindgen-test, headless Chromium):
//! `cargo test --target wasm32-unknown-unknown` with CHROMEDRIVER set.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{DocumentFragment, Element, HtmlElement, HtmlInputElement};

use consent_prompt::{mount_prompt, platform, Handle};

wasm_bindgen_test_configure!(run_in_browser);

fn config(extra: &str) -> JsValue {
    let base = r#"{
        "endpoint": "/api/v1/consent-records",
        "customerId": "C-42",
        "venue": {"id": "riverside", "name": "Riverside Playhouse"},
        "partners": [
            {"id": "fiery", "name": "Fiery Angel", "privacyUrl": "https://fiery.example/privacy",
             "notice": {"id": "fiery-mkt", "version": 1, "channels": ["email"],
                        "text": {"en-GB": "Fiery Angel would like to email you.", "cy": "Hoffai Fiery Angel anfon e-bost atoch."}}},
            {"id": "ntl", "name": "NT Live", "privacyUrl": "https://ntl.example/privacy",
             "notice": {"id": "ntl-mkt", "version": 3, "channels": ["email", "post"],
                        "text": {"en-GB": "NT Live would like to write to you."}}},
            {"id": "done", "name": "Already Answered Ltd", "privacyUrl": "https://done.example/privacy",
             "notice": {"id": "done-mkt", "version": 1, "channels": ["email"], "text": {"en-GB": "Done would like to email you."}}}
        ],
        "basket": {"lines": [
            {"eventId": "hamlet", "title": "Hamlet", "partnerIds": ["fiery", "done"]},
            {"eventId": "tempest", "title": "The Tempest", "partnerIds": ["fiery", "ntl"]},
            {"eventId": "panto", "title": "Cinderella"}
        ]},
        "preferences": [{"partnerId": "done", "state": "refused", "noticeVersion": 1, "decidedAt": "2026-01-01T10:00:00.000Z"}]
    }"#;
    let mut v: serde_json::Value = serde_json::from_str(base).unwrap();
    let extra: serde_json::Value =
        serde_json::from_str(if extra.is_empty() { "{}" } else { extra }).unwrap();
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    js_sys::JSON::parse(&v.to_string()).expect("test config is JSON")
}

/// A fresh host element at the end of the page's body.
fn fresh_host() -> Element {
    let host = platform::create_element("div").unwrap();
    web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .body()
        .unwrap()
        .append_child(&host)
        .unwrap();
    host
}

/// Mounts into a fresh host element and waits for the first render.
async fn mount(extra: &str) -> (Handle, DocumentFragment) {
    let host = fresh_host();
    let handle = mount_prompt(host.clone().into(), config(extra), None).expect("mounts");
    let shadow: DocumentFragment = host.shadow_root().expect("shadow root").unchecked_into();
    // A parked app brings the last mount's view along until it re-renders;
    // this mount's prompt is a new `[part=root]` element.
    let stale = shadow.query_selector("[part=root]").ok().flatten();
    until("the first render", || {
        shadow
            .query_selector("[part=root]")
            .ok()
            .flatten()
            .is_some_and(|root| stale.as_ref() != Some(&root))
    })
    .await;
    (handle, shadow)
}

/// Waits until `ready()` holds, checking every 10 ms; panics naming `what`
/// if it still does not hold after 5 s.
async fn until(what: &str, ready: impl Fn() -> bool) {
    const STEP_MS: u32 = 10;
    const LIMIT_MS: u32 = 5_000;
    let mut waited = 0;
    while !ready() {
        assert!(
            waited < LIMIT_MS,
            "timed out after {LIMIT_MS} ms waiting for {what}"
        );
        platform::sleep(STEP_MS).await;
        waited += STEP_MS;
    }
}

/// Whether anything in `root` matches `selector`.
fn present(root: &DocumentFragment, selector: &str) -> bool {
    root.query_selector(selector).ok().flatten().is_some()
}

/// The id of the element that has focus inside `root`, if any.
fn focused_id(root: &DocumentFragment) -> Option<String> {
    root.unchecked_ref::<web_sys::ShadowRoot>()
        .active_element()
        .map(|e| e.id())
}

fn all(root: &DocumentFragment, selector: &str) -> Vec<Element> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into().ok())
        .collect()
}

/// Whether the input matching `selector` is checked.
fn checked(root: &DocumentFragment, selector: &str) -> bool {
    one(root, selector)
        .unchecked_into::<HtmlInputElement>()
        .checked()
}

fn one(root: &DocumentFragment, selector: &str) -> Element {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("nothing matches {selector}"))
}

#[wasm_bindgen_test]
async fn one_fieldset_per_planned_partner_and_none_for_answered_ones() {
    let (handle, shadow) = mount("").await;
    let legends: Vec<String> = all(&shadow, "fieldset.q > legend")
        .iter()
        .map(|l| l.text_content().unwrap_or_default())
        .collect();
    assert_eq!(
        legends,
        ["Fiery Angel", "NT Live"],
        "Already Answered Ltd must not be asked"
    );
    let because = one(&shadow, "#cp-q0 [part=because]")
        .text_content()
        .unwrap();
    assert_eq!(because, "Because you are booking Hamlet and The Tempest.");
    handle.destroy();
}

#[wasm_bindgen_test]
async fn nothing_is_checked_at_first() {
    let (handle, shadow) = mount("").await;
    let inputs = all(&shadow, "input");
    assert!(inputs.len() >= 4);
    for input in inputs {
        let input: HtmlInputElement = input.unchecked_into();
        assert!(!input.checked(), "{} is pre-checked", input.id());
    }
    handle.destroy();
}

#[wasm_bindgen_test]
async fn a_required_answer_shows_a_summary_that_takes_focus() {
    let (handle, shadow) = mount(r#"{"requireAnswer": true}"#).await;
    one(&shadow, "#cp-q0-no")
        .unchecked_into::<HtmlElement>()
        .click();
    until("#cp-q0-no to be checked", || checked(&shadow, "#cp-q0-no")).await;
    one(&shadow, "button[type=submit]")
        .unchecked_into::<HtmlElement>()
        .click();
    until("the error summary", || {
        present(&shadow, "[part=error-summary]")
    })
    .await;

    let summary = one(&shadow, "[part=error-summary]");
    assert_eq!(
        summary.get_attribute("role").as_deref(),
        Some("alert"),
        "announced to screen readers"
    );
    let links: Vec<String> = all(&shadow, "[part=error-summary] a")
        .iter()
        .map(|a| a.text_content().unwrap_or_default())
        .collect();
    assert_eq!(links, ["Choose yes or no for NT Live"]);
    assert_eq!(
        one(&shadow, "[part=error-summary] a")
            .get_attribute("href")
            .as_deref(),
        Some("#cp-q1")
    );
    let active = shadow
        .unchecked_ref::<web_sys::ShadowRoot>()
        .active_element()
        .expect("something has focus");
    assert_eq!(
        active.get_attribute("part").as_deref(),
        Some("error-summary"),
        "focus moves to the summary"
    );
    assert!(one(&shadow, "#cp-q1")
        .class_name()
        .split(' ')
        .any(|c| c == "invalid"));
    assert!(one(&shadow, "#cp-q1-error")
        .text_content()
        .unwrap()
        .contains("Choose yes or no for NT Live"));
    assert!(
        shadow.query_selector("#cp-q0-error").unwrap().is_none(),
        "the answered question has no error"
    );

    // Following the link puts focus on the question.
    one(&shadow, "[part=error-summary] a")
        .unchecked_into::<HtmlElement>()
        .click();
    until("focus to reach NT Live's question", || {
        focused_id(&shadow).is_some_and(|id| id.starts_with("cp-q1"))
    })
    .await;
    let active = shadow
        .unchecked_ref::<web_sys::ShadowRoot>()
        .active_element()
        .unwrap();
    assert_eq!(active.id(), "cp-q1-yes");

    // Answering clears the error.
    one(&shadow, "#cp-q1-no")
        .unchecked_into::<HtmlElement>()
        .click();
    until("NT Live's error to clear", || {
        !present(&shadow, "#cp-q1-error")
    })
    .await;
    assert!(shadow.query_selector("#cp-q1-error").unwrap().is_none());
    handle.destroy();
}

#[wasm_bindgen_test]
async fn yes_reveals_a_channel_choice_when_several_are_offered() {
    let (handle, shadow) = mount("").await;
    assert!(shadow
        .query_selector("#cp-q1 [part=channels]")
        .unwrap()
        .is_none());
    one(&shadow, "#cp-q1-yes")
        .unchecked_into::<HtmlElement>()
        .click();
    until("NT Live's channel choice", || {
        present(&shadow, "#cp-q1 [part=channels]")
    })
    .await;
    let boxes = all(&shadow, "#cp-q1 [part=channels] input[type=checkbox]");
    assert_eq!(boxes.len(), 2);
    assert!(
        boxes
            .iter()
            .all(|b| !b.unchecked_ref::<HtmlInputElement>().checked()),
        "no channel pre-ticked"
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn a_missing_translation_falls_back_and_warns_once() {
    // Capture console.warn.
    let capture = js_sys::Function::new_no_args(
        "window.__warnings = []; const w = console.warn; console.warn = (...a) => { window.__warnings.push(a.join(' ')); w(...a); };",
    );
    capture.call0(&JsValue::NULL).unwrap();
    let (handle, shadow) =
        mount(r#"{"locale": "ga", "strings": {"ga": {"title": "Cloisteáil ó na comhlachtaí"}}}"#)
            .await;
    assert_eq!(
        one(&shadow, "[part=title]").text_content().unwrap(),
        "Cloisteáil ó na comhlachtaí"
    );
    assert_eq!(
        one(&shadow, "#cp-q0-no + label").text_content().unwrap(),
        "No, thank you",
        "falls back to en-GB, never blank"
    );
    assert_eq!(
        one(&shadow, "#cp-q0 [part=notice]")
            .get_attribute("lang")
            .as_deref(),
        Some("en-GB")
    );
    let warnings: Vec<String> = js_sys::Array::from(
        &js_sys::Reflect::get(&web_sys::window().unwrap(), &"__warnings".into()).unwrap(),
    )
    .iter()
    .filter_map(|w| w.as_string())
    .collect();
    let about_no: Vec<&String> = warnings
        .iter()
        .filter(|w| w.contains("\"no\"") && w.contains("\"ga\""))
        .collect();
    assert_eq!(
        about_no.len(),
        1,
        "one warning naming the key: {warnings:#?}"
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn welsh_is_shown_when_asked_for() {
    let (handle, shadow) = mount(r#"{"locale": "cy-GB"}"#).await;
    assert_eq!(
        one(&shadow, "#cp-q0 [part=notice]").text_content().unwrap(),
        "Hoffai Fiery Angel anfon e-bost atoch."
    );
    assert_eq!(
        one(&shadow, "[part=root]").get_attribute("lang").as_deref(),
        Some("cy")
    );
    assert_eq!(
        one(&shadow, "#cp-q0-no + label").text_content().unwrap(),
        "Na, dim diolch"
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn partner_names_are_text_never_markup() {
    let evil = "<img src=x onerror=alert(1)>";
    let extra = format!(
        r#"{{"partners": [{{"id": "fiery", "name": "{evil}", "privacyUrl": "https://fiery.example/privacy",
        "notice": {{"id": "fiery-mkt", "version": 1, "channels": ["email"], "text": {{"en-GB": "{evil} would like to email you."}}}}}}]}}"#
    );
    let (handle, shadow) = mount(&extra).await;
    assert_eq!(
        one(&shadow, "#cp-q0 > legend").text_content().unwrap(),
        evil
    );
    assert!(
        all(&shadow, "img").is_empty(),
        "no element was created from the name"
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn a_bad_config_is_refused_with_field_paths() {
    let host = platform::create_element("div").unwrap();
    let err = match mount_prompt(
        host.into(),
        config(
            r#"{"partners": [{"id": "x", "name": "", "privacyUrl": "ftp://x",
        "notice": {"id": "n", "version": 0, "channels": ["email"], "text": {"cy": "Helo"}}}]}"#,
        ),
        None,
    ) {
        Ok(_) => panic!("a bad config mounted"),
        Err(e) => e,
    };
    let errors = js_sys::Array::from(&js_sys::Reflect::get(&err, &"errors".into()).unwrap());
    let paths: Vec<String> = errors
        .iter()
        .map(|e| {
            js_sys::Reflect::get(&e, &"path".into())
                .unwrap()
                .as_string()
                .unwrap()
        })
        .collect();
    assert_eq!(
        paths,
        [
            "partners[0].name",
            "partners[0].privacyUrl",
            "partners[0].notice.version",
            "partners[0].notice.text"
        ]
    );
}

#[wasm_bindgen_test]
async fn a_type_error_names_its_exact_field() {
    let host = platform::create_element("div").unwrap();
    let bad = r#"{"partners": [{"id": "x", "name": "X", "privacyUrl": "https://x.example/",
        "notice": {"id": "n", "version": "2", "channels": ["email"], "text": {"en-GB": "Hello"}}}]}"#;
    let err = match mount_prompt(host.into(), config(bad), None) {
        Ok(_) => panic!("a config with a string version mounted"),
        Err(e) => e,
    };
    let first = js_sys::Array::from(&js_sys::Reflect::get(&err, &"errors".into()).unwrap()).get(0);
    let path = js_sys::Reflect::get(&first, &"path".into())
        .unwrap()
        .as_string()
        .unwrap();
    let message = js_sys::Reflect::get(&first, &"message".into())
        .unwrap()
        .as_string()
        .unwrap();
    assert_eq!(path, "partners[0].notice.version");
    assert_eq!(
        message,
        "must be a whole number from 0 to 4294967295, not a string"
    );
}

#[wasm_bindgen_test]
async fn the_preference_centre_shows_every_partner_and_the_current_answers() {
    let (handle, shadow) = mount(
        r#"{"mode": "account", "preferences": [
            {"partnerId": "done", "state": "refused", "noticeVersion": 1, "decidedAt": "2026-01-01T10:00:00.000Z"},
            {"partnerId": "fiery", "state": "given", "noticeVersion": 1, "decidedAt": "2026-02-03T10:00:00.000Z",
             "channels": ["email"], "noticeText": "Fiery Angel would like to email you.", "noticeLanguage": "en-GB"}]}"#,
    )
    .await;
    let legends: Vec<String> = all(&shadow, "fieldset.q > legend")
        .iter()
        .map(|l| l.text_content().unwrap_or_default())
        .collect();
    assert_eq!(
        legends,
        ["Fiery Angel", "NT Live", "Already Answered Ltd"],
        "every partner, answered or not"
    );
    assert!(checked(&shadow, "#cp-q0-yes"), "the current yes is shown");
    assert!(checked(&shadow, "#cp-q2-no"), "the current no is shown");
    assert!(!checked(&shadow, "#cp-q1-yes"));
    assert!(
        !checked(&shadow, "#cp-q1-no"),
        "never asked: nothing selected"
    );
    assert_eq!(
        one(&shadow, "#cp-q0 [part=current]")
            .text_content()
            .unwrap(),
        "You said yes on 3 February 2026."
    );
    assert_eq!(
        one(&shadow, "#cp-q0 [part=agreed] blockquote")
            .text_content()
            .unwrap(),
        "Fiery Angel would like to email you."
    );
    handle.destroy();
}

#[wasm_bindgen_test]
async fn box_office_keys_answer_and_move_between_companies() {
    let (handle, shadow) = mount(r#"{"channel": "box-office", "operatorId": "op-7"}"#).await;
    assert_eq!(
        one(&shadow, "[part=title]")
            .text_content()
            .unwrap_or_default(),
        "Partner companies: the customer's contact preferences",
        "the heading speaks to the operator"
    );
    let press = |target: &Element, key: &str| {
        let init = web_sys::KeyboardEventInit::new();
        init.set_key(key);
        init.set_bubbles(true);
        init.set_composed(true);
        let event =
            web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
        target.dispatch_event(&event).unwrap();
    };
    let yes0 = one(&shadow, "#cp-q0-yes");
    yes0.unchecked_ref::<HtmlElement>().focus().unwrap();
    press(&yes0, "n");
    until("N to answer no", || checked(&shadow, "#cp-q0-no")).await;
    assert!(checked(&shadow, "#cp-q0-no"), "N answered no");
    press(&one(&shadow, "#cp-q0-no"), "h");
    until("H to tick heard", || checked(&shadow, "#cp-q0-heard")).await;
    assert!(
        checked(&shadow, "#cp-q0-heard"),
        "H confirmed the wording was heard"
    );
    press(&one(&shadow, "#cp-q0-no"), "j");
    until("J to move to the next company", || {
        focused_id(&shadow).is_some_and(|id| id.starts_with("cp-q1-"))
    })
    .await;
    let active = shadow
        .unchecked_ref::<web_sys::ShadowRoot>()
        .active_element()
        .unwrap();
    assert!(
        active.id().starts_with("cp-q1-"),
        "J moved to the next company, now on {}",
        active.id()
    );
    press(&active, "y");
    until("Y to answer yes", || checked(&shadow, "#cp-q1-yes")).await;
    assert!(checked(&shadow, "#cp-q1-yes"), "Y answered yes");
    handle.destroy();
}

fn get(v: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(v, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

#[wasm_bindgen_test]
async fn a_second_commit_in_progress_shares_the_first_and_every_commit_settles() {
    // The test server has no backend: it refuses the records (404), naming
    // none, so each ends up failed on its own and stays in the outbox.
    let (handle, _) = mount(r#"{"endpoint": "/no-backend-here"}"#).await;
    let first = handle.commit();
    let second = handle.commit();
    assert!(
        js_sys::Object::is(&first, &second),
        "one commit, one promise"
    );
    let a = wasm_bindgen_futures::JsFuture::from(first).await;
    let b = wasm_bindgen_futures::JsFuture::from(second).await;
    let (Err(a), Err(b)) = (a, b) else {
        panic!("a refused commit rejects");
    };
    assert_eq!(get(&a, "code").as_string().as_deref(), Some("rejected"));
    assert!(
        js_sys::Object::is(&a, &b),
        "both settle with the same outcome"
    );
    let ids: Vec<String> = js_sys::Array::from(&get(&a, "recordIds"))
        .iter()
        .filter_map(|v| v.as_string())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");

    // The outbox keeps them, says why, and says they are on the device.
    let listed = wasm_bindgen_futures::JsFuture::from(handle.outbox())
        .await
        .expect("outbox() resolves");
    let listed = js_sys::Array::from(&listed);
    for id in &ids {
        let entry = listed
            .iter()
            .find(|e| get(e, "recordId").as_string().as_deref() == Some(id.as_str()))
            .expect("listed");
        assert_eq!(get(&entry, "status").as_string().as_deref(), Some("failed"));
        assert_eq!(get(&entry, "kept").as_string().as_deref(), Some("device"));
        assert!(get(&entry, "lastError").as_string().is_some());
    }

    // A later commit settles too.
    let again = wasm_bindgen_futures::JsFuture::from(handle.commit()).await;
    assert!(again.is_err());
    handle.destroy();
}

/// The first config error of a refused mount, as `(path, message)`.
fn first_error(extra: &str) -> (String, String) {
    let host = platform::create_element("div").unwrap();
    let err = match mount_prompt(host.into(), config(extra), None) {
        Ok(_) => panic!("{extra} mounted"),
        Err(e) => e,
    };
    let first = js_sys::Array::from(&get(&err, "errors")).get(0);
    (
        get(&first, "path").as_string().unwrap_or_default(),
        get(&first, "message").as_string().unwrap_or_default(),
    )
}

#[wasm_bindgen_test]
async fn a_mistyped_field_is_named_with_the_likely_one() {
    assert_eq!(
        first_error(r#"{"customer_id": "C-42"}"#),
        (
            "customer_id".to_owned(),
            "is not a known field; did you mean \"customerId\"?".to_owned()
        )
    );
    let (path, message) =
        first_error(r#"{"basket": {"lines": [{"eventId": "e", "title": "E", "partnerIDs": []}]}}"#);
    assert_eq!(path, "basket.lines[0].partnerIDs");
    assert_eq!(
        message,
        "is not a known field; did you mean \"partnerIds\"?"
    );
    let (path, message) = first_error(r#"{"mode": "popup"}"#);
    assert_eq!(path, "mode");
    assert!(
        message.starts_with("must be one of \"individual\""),
        "{message}"
    );
}

#[wasm_bindgen_test]
async fn after_a_commit_the_patron_can_download_a_receipt() {
    // Nothing answers at this address: the records are kept and the commit
    // resolves; the receipt is offered as soon as they are kept.
    let (handle, shadow) =
        mount(r#"{"endpoint": "http://127.0.0.1:9/api/v1/consent-records"}"#).await;
    assert!(
        handle.receipt().expect("live").is_null(),
        "no receipt before a commit"
    );
    let summary = wasm_bindgen_futures::JsFuture::from(handle.commit())
        .await
        .expect("the records are kept");
    let receipt = handle.receipt().expect("live");
    assert_eq!(
        get(&receipt, "schema").as_string().as_deref(),
        Some("consent-receipt/1")
    );
    assert_eq!(
        get(&receipt, "customerId").as_string().as_deref(),
        Some("C-42")
    );
    let text = |v: &JsValue| String::from(js_sys::JSON::stringify(v).unwrap());
    assert_eq!(
        text(&get(&receipt, "records")),
        text(&get(&summary, "records")),
        "the receipt holds the committed records"
    );

    until("the receipt links", || {
        shadow
            .query_selector("a[part=receipt-json]")
            .ok()
            .flatten()
            .is_some()
    })
    .await;
    let link = one(&shadow, "a[part=receipt-json]");
    let href = link.get_attribute("href").unwrap_or_default();
    assert!(href.starts_with("blob:"), "{href}");
    let name = link.get_attribute("download").unwrap_or_default();
    assert!(
        name.starts_with("consent-receipt-C-42-") && name.ends_with(".json"),
        "{name}"
    );
    let print = one(&shadow, "a[part=receipt-print]");
    assert_eq!(print.get_attribute("target").as_deref(), Some("_blank"));

    // The file is the same receipt.
    let window = web_sys::window().unwrap();
    let resp: web_sys::Response =
        wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(&href))
            .await
            .unwrap()
            .unchecked_into();
    let body = wasm_bindgen_futures::JsFuture::from(resp.text().unwrap())
        .await
        .unwrap()
        .as_string()
        .unwrap();
    let file = js_sys::JSON::parse(&body).unwrap();
    assert_eq!(text(&file), text(&receipt));
    let page = print.get_attribute("href").unwrap_or_default();
    assert!(page.starts_with("blob:"), "{page}");
}

#[wasm_bindgen_test]
async fn a_stored_entry_with_a_number_the_backend_refuses_is_set_aside() {
    // JSON.parse reads 1e400 as Infinity; the outbox must not send it.
    let (handle, _) = mount(r#"{"endpoint": "/no-backend-here"}"#).await;
    let records = wasm_bindgen_futures::JsFuture::from(handle.preview())
        .await
        .expect("preview resolves");
    let record = js_sys::Array::from(&records).get(0);
    let id = get(&record, "recordId").as_string().unwrap();
    let entry = js_sys::Object::new();
    js_sys::Reflect::set(&entry, &"record".into(), &record).unwrap();
    js_sys::Reflect::set(&entry, &"endpoint".into(), &"/no-backend-here".into()).unwrap();
    js_sys::Reflect::set(&entry, &"status".into(), &"pending".into()).unwrap();
    js_sys::Reflect::set(&entry, &"attempts".into(), &JsValue::from(0)).unwrap();
    let text = String::from(js_sys::JSON::stringify(&entry).unwrap())
        .replace("\"attempts\":0", "\"attempts\":1e400");
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    let key = format!("consent-prompt:outbox:v1:{id}");
    storage.set_item(&key, &text).unwrap();
    handle.destroy();

    let (handle, _) = mount(r#"{"endpoint": "/no-backend-here"}"#).await;
    let listed = wasm_bindgen_futures::JsFuture::from(handle.outbox())
        .await
        .expect("outbox() resolves");
    let entry = js_sys::Array::from(&listed)
        .iter()
        .find(|e| get(e, "recordId").as_string().as_deref() == Some(id.as_str()))
        .expect("listed");
    assert_eq!(
        get(&entry, "status").as_string().as_deref(),
        Some("set-aside")
    );
    assert_eq!(
        storage.get_item(&key).unwrap().as_deref(),
        Some(text.as_str()),
        "left in storage exactly as found"
    );
    storage.remove_item(&key).unwrap();
    handle.destroy();
}

/// The record ids `outbox()` lists now.
async fn listed_ids(handle: &Handle) -> Vec<String> {
    let listed = wasm_bindgen_futures::JsFuture::from(handle.outbox())
        .await
        .expect("outbox() resolves");
    js_sys::Array::from(&listed)
        .iter()
        .filter_map(|e| get(&e, "recordId").as_string())
        .collect()
}

#[wasm_bindgen_test]
async fn the_prompts_own_button_and_the_page_share_one_commit() {
    let (handle, shadow) = mount(r#"{"endpoint": "/no-backend-here"}"#).await;
    let before = listed_ids(&handle).await;
    one(&shadow, "[part=submit]")
        .unchecked_into::<HtmlElement>()
        .click();
    let from_page = handle.commit();
    assert!(
        js_sys::Object::is(&from_page, &handle.commit()),
        "one commit, one promise"
    );
    let Err(outcome) = wasm_bindgen_futures::JsFuture::from(from_page).await else {
        panic!("a refused commit rejects");
    };
    let ids: Vec<String> = js_sys::Array::from(&get(&outcome, "recordIds"))
        .iter()
        .filter_map(|v| v.as_string())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    let new: Vec<String> = listed_ids(&handle)
        .await
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect();
    assert_eq!(new.len(), 2, "one set of records: {new:?}");
    handle.destroy();
}

#[wasm_bindgen_test]
async fn a_server_render_for_another_session_is_replaced_not_taken_over() {
    let host = fresh_host();
    // What a declarative shadow root from a server leaves behind, rendered
    // for some other basket: its fingerprint is not this session's.
    let shadow = platform::shadow_root(&host).unwrap();
    shadow.set_inner_html(
        r#"<div data-cp-render="0000000000000000"><section part="root"><p id="stale">Stale question</p></section></div>"#,
    );
    let _handle = mount_prompt(host.clone().into(), config(""), None).expect("mounts");
    let root: DocumentFragment = shadow.unchecked_into();
    until("a fresh render", || present(&root, "fieldset.q")).await;
    assert!(!present(&root, "#stale"), "the stale render is gone");
    assert!(!present(&root, "[data-cp-render]"));
    assert_eq!(all(&root, "fieldset.q").len(), 2);
}

/// The `{path, message}` list of a refused mount, and its code.
fn refusal(extra: &str) -> (String, Vec<(String, String)>) {
    let host = platform::create_element("div").unwrap();
    let err = match mount_prompt(host.into(), config(extra), None) {
        Ok(_) => panic!("{extra} mounted"),
        Err(e) => e,
    };
    let list = js_sys::Array::from(&get(&err, "errors"))
        .iter()
        .map(|e| {
            (
                get(&e, "path").as_string().unwrap_or_default(),
                get(&e, "message").as_string().unwrap_or_default(),
            )
        })
        .collect();
    (get(&err, "code").as_string().unwrap_or_default(), list)
}

#[wasm_bindgen_test]
async fn every_problem_in_a_config_is_reported_at_once() {
    let (code, errors) = refusal(
        r#"{"customer_id": "C-42", "headingLevel": "two", "mode": "popup", "venue": "Riverside",
        "partners": [
          {"id": "a", "name": "A", "privacyUrl": "https://a.example/",
           "notice": {"id": "n", "version": "2", "channels": ["email"], "text": {"en-GB": "Hi"}}},
          {"id": "b", "name": "B", "privacyUrl": "https://b.example/",
           "notice": {"id": "m", "version": 1, "channels": ["email"], "text": {"en-GB": "Hi"}, "colour": "red"}},
          {"id": "c", "name": "C", "privacyUrl": "ftp://c",
           "notice": {"id": "o", "version": 1, "channels": ["email"], "text": {"en-GB": "Hi"}}}
        ],
        "basket": {"lines": [{"eventId": "e", "title": "E", "partnerIDs": ["a"]}]}}"#,
    );
    assert_eq!(code, "invalid-config");
    let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            // Unknown keys, wherever they are (in the given object's
            // order: `config()` sorts the keys).
            "basket.lines[0].partnerIDs",
            "customer_id",
            "partners[1].notice.colour",
            // Wrong types: one does not hide the next.
            "venue",
            "mode",
            "partners[0].notice.version",
            "headingLevel",
            // And the validation of the rest.
            "partners[2].privacyUrl",
        ],
        "{errors:?}"
    );
    assert_eq!(
        errors[1].1,
        "is not a known field; did you mean \"customerId\"?"
    );
    assert_eq!(
        errors[5].1,
        "must be a whole number from 0 to 4294967295, not a string"
    );
}

/// Paths inside maps (a theme's tokens, a notice's texts) and a missing
/// field deep inside a list are named exactly: the reading is watched
/// entry by entry, not guessed from the last object read.
#[wasm_bindgen_test]
async fn paths_inside_maps_and_lists_are_exact() {
    let (_, errors) = refusal(
        r##"{"theme": {"tokens": {"accent": "#7a1f5c", "radius": 4, "text": "#111"}},
        "partners": [
          {"id": "a", "name": "A", "privacyUrl": "https://a.example/",
           "notice": {"id": "n", "version": 1, "channels": ["email"], "text": {"en-GB": "Hi", "cy": false}}},
          {"id": "b", "name": "B", "privacyUrl": "https://b.example/",
           "notice": {"version": 1, "channels": ["email"], "text": {"en-GB": "Hi"}}}
        ]}"##,
    );
    let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        // In the order the config's fields are read.
        [
            "partners[0].notice.text.cy",
            "partners[1].notice.id",
            "theme.tokens.radius"
        ],
        "{errors:?}"
    );
    assert_eq!(errors[1].1, "is required");
    assert_eq!(errors[2].1, "must be a string, not a number");
}

/// A field the config's types declare is never called unknown, even when
/// its value is the one left out when written (an empty list, `false`):
/// the known keys are the ones the reader asks for, not a copy written back.
#[wasm_bindgen_test]
async fn a_declared_field_with_its_empty_value_is_not_unknown() {
    let host = platform::create_element("div").unwrap();
    let mounted = mount_prompt(
        host.into(),
        config(
            r#"{"preferences": [{"partnerId": "done", "state": "given", "noticeVersion": 1,
                "decidedAt": "2026-01-02T10:00:00Z", "channels": [], "imported": false}]}"#,
        ),
        None,
    );
    assert!(
        mounted.is_ok(),
        "{:?}",
        mounted.err().map(|e| js_sys::JSON::stringify(&e).ok())
    );
    let (_, errors) = refusal(
        r#"{"preferences": [{"partnerId": "done", "state": "given", "noticeVersion": 1,
        "decidedAt": "2026-01-02T10:00:00Z", "channels": [], "chanels": ["email"]}]}"#,
    );
    let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["preferences[0].chanels"], "{errors:?}");
    assert!(errors[0].1.contains("channels"), "{errors:?}");
}

#[wasm_bindgen_test]
async fn a_missing_field_and_a_wrong_type_are_both_named() {
    let (_, errors) = refusal(r#"{"endpoint": null, "basket": {"lines": "none"}}"#);
    let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["endpoint", "basket.lines"], "{errors:?}");
}

#[wasm_bindgen_test]
async fn the_pages_config_object_is_never_changed_by_reading_it() {
    let given = config(r#"{"venue": "Riverside", "mode": "popup"}"#);
    let before = String::from(js_sys::JSON::stringify(&given).unwrap());
    let host = platform::create_element("div").unwrap();
    assert!(mount_prompt(host.into(), given.clone(), None).is_err());
    assert_eq!(
        String::from(js_sys::JSON::stringify(&given).unwrap()),
        before
    );
}

/// Listens for `consent:error` on `host`; the details land in the array.
fn errors_on(host: &Element) -> js_sys::Array {
    let seen = js_sys::Array::new();
    let push = seen.clone();
    let listener = wasm_bindgen::closure::Closure::<dyn Fn(web_sys::CustomEvent)>::new(
        move |e: web_sys::CustomEvent| {
            push.push(&e.detail());
        },
    );
    host.add_event_listener_with_callback("consent:error", listener.as_ref().unchecked_ref())
        .unwrap();
    listener.forget();
    seen
}

#[wasm_bindgen_test]
async fn a_second_mount_on_a_live_prompt_is_refused_and_said_on_the_element() {
    let host = fresh_host();
    let seen = errors_on(&host);
    let first = mount_prompt(host.clone().into(), config(""), None).expect("mounts");
    let err = match mount_prompt(host.clone().into(), config(""), None) {
        Ok(_) => panic!("a second prompt mounted over a live one"),
        Err(e) => e,
    };
    assert_eq!(
        get(&err, "code").as_string().as_deref(),
        Some("already-mounted")
    );
    assert_eq!(seen.length(), 1, "consent:error fired once");
    assert_eq!(
        get(&seen.get(0), "code").as_string().as_deref(),
        Some("already-mounted")
    );
    // The first prompt is untouched, and after destroy() the element is free.
    assert!(first.state().is_ok());
    first.destroy();
    let again = mount_prompt(host.clone().into(), config(""), None).expect("mounts again");
    again.destroy();
}

#[wasm_bindgen_test]
async fn a_bad_config_fires_consent_error_on_the_element() {
    let host = fresh_host();
    let seen = errors_on(&host);
    assert!(mount_prompt(host.into(), config(r#"{"mode": "popup"}"#), None).is_err());
    assert_eq!(seen.length(), 1);
    assert_eq!(
        get(&seen.get(0), "code").as_string().as_deref(),
        Some("invalid-config")
    );
    assert_eq!(
        get(&seen.get(0), "field").as_string().as_deref(),
        Some("mode")
    );
}

#[wasm_bindgen_test]
async fn every_method_of_a_destroyed_handle_says_destroyed() {
    let (handle, _) = mount("").await;
    handle.destroy();
    handle.destroy(); // again: nothing happens
    let code = |v: &JsValue| get(v, "code").as_string();
    let destroyed = Some("destroyed".to_owned());
    for promise in [
        handle.commit(),
        handle.outbox(),
        handle.retry(),
        handle.preview(),
    ] {
        let err = wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .expect_err("rejects");
        assert_eq!(code(&err), destroyed, "{err:?}");
        assert!(get(&err, "message").as_string().is_some());
    }
    assert_eq!(code(&handle.state().unwrap_err()), destroyed);
    assert_eq!(code(&handle.receipt().unwrap_err()), destroyed);
    assert_eq!(code(&handle.update(config("")).unwrap_err()), destroyed);
}
