//! The prompt rendered on the server: `POST /api/v1/prompt/render` (who
//! may ask, what a bad config gets, what the fragment holds), the demo
//! checkout and `frame.html?config=` with their first question in the HTML.

use crate::common::*;
use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use serde_json::{json, Value};

/// A venue config for `lyric` and `customer`: two partners behind two shows.
fn config(customer: &str) -> Value {
    let partner = |id: &str, name: &str, text: &str| {
        json!({
            "id": id,
            "name": name,
            "privacyUrl": format!("https://{id}.example/privacy"),
            "notice": {
                "id": format!("{id}-news"),
                "version": 1,
                "text": { "en-GB": text, "cy": format!("{text} (cy)") },
                "channels": ["email", "post"]
            }
        })
    };
    json!({
        "endpoint": "/api/v1/consent-records",
        "customerId": customer,
        "venue": { "id": "lyric", "name": "Lyric Hall" },
        "partners": [
            partner("north", "North & Co", "North & Co would like to send you news <by email>."),
            partner("south", "South Players", "South Players would like to write to you."),
        ],
        "basket": { "lines": [
            { "eventId": "e1", "title": "Hamlet", "partnerIds": ["north"] },
            { "eventId": "e2", "title": "Swan Lake", "partnerIds": ["south"] }
        ] }
    })
}

async fn render(
    t: &TestApp,
    body: &Value,
    credential: Option<&str>,
) -> (StatusCode, HeaderMap, Value) {
    let mut req =
        Request::post("/api/v1/prompt/render").header(header::CONTENT_TYPE, "application/json");
    if let Some(c) = credential {
        req = req.header(header::AUTHORIZATION, format!("Bearer {c}"));
    }
    let (status, headers, bytes) = t
        .send(req.body(Body::from(body.to_string())).unwrap())
        .await;
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("non-JSON answer ({e}): {bytes:?}"));
    (status, headers, value)
}

fn token(customer: &str) -> String {
    sign(&claims(customer, "consent:write"))
}

#[tokio::test]
async fn the_fragment_is_a_declarative_shadow_root_with_the_first_questions() {
    let t = TestApp::new().await;
    let (status, headers, body) =
        render(&t, &json!({ "config": config("C-1") }), Some(&token("C-1"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let fragment = body["fragment"].as_str().unwrap();
    assert!(fragment.starts_with("<template shadowrootmode=\"open\"><link rel=\"stylesheet\" href=\"/consent-prompt/consent-prompt.css\">"), "{fragment}");
    assert!(fragment.ends_with("</div></template>"), "{fragment}");
    assert_eq!(body["questions"], 2);
    assert_eq!(body["locale"], "en-GB");
    assert_eq!(body["stylesheet"], "/consent-prompt/consent-prompt.css");
    let key = body["renderKey"].as_str().unwrap();
    assert_eq!(key.len(), 16);
    assert!(fragment.contains(&format!("data-cp-render=\"{key}\"")));
    // Both questions, each with a yes and a no, nothing pre-selected.
    for q in ["cp-q0", "cp-q1"] {
        assert!(fragment.contains(&format!("id=\"{q}-yes\"")), "{q}");
        assert!(fragment.contains(&format!("id=\"{q}-no\"")), "{q}");
    }
    assert!(!fragment.contains("checked"), "nothing is pre-ticked");
    // The venue's words, escaped: they can never become markup.
    assert!(fragment.contains("North &amp; Co would like to send you news &lt;by email&gt;."));
    assert!(!fragment.contains("<by email>"));
    // No inline style or script: the strict CSP holds.
    assert!(
        !fragment.contains("<style")
            && !fragment.contains("style=")
            && !fragment.contains("<script")
    );
}

#[tokio::test]
async fn the_patrons_language_and_the_same_config_give_the_same_render() {
    let t = TestApp::new().await;
    let ask = |lang: &str| json!({ "config": config("C-1"), "acceptLanguage": lang });
    let (_, _, welsh) = render(&t, &ask("cy-GB,cy;q=0.9,en;q=0.5"), Some(&token("C-1"))).await;
    assert_eq!(welsh["locale"], "cy-GB");
    assert!(welsh["fragment"]
        .as_str()
        .unwrap()
        .contains("South Players would like to write to you. (cy)"));
    let (_, _, again) = render(&t, &ask("cy-GB,cy;q=0.9,en;q=0.5"), Some(&token("C-1"))).await;
    assert_eq!(welsh["renderKey"], again["renderKey"]);
    // The page's own lang wins over the patron's languages, as in the browser.
    let (_, _, page) = render(
        &t,
        &json!({ "config": config("C-1"), "pageLang": "en-GB", "acceptLanguage": "cy" }),
        Some(&token("C-1")),
    )
    .await;
    assert_eq!(page["locale"], "en-GB");
    // A config locale wins over both.
    let mut c = config("C-1");
    c["locale"] = json!("en-GB");
    let (_, _, english) = render(
        &t,
        &json!({ "config": c, "acceptLanguage": "cy" }),
        Some(&token("C-1")),
    )
    .await;
    assert_eq!(english["locale"], "en-GB");
    assert_ne!(english["renderKey"], welsh["renderKey"]);
}

#[tokio::test]
async fn the_token_is_not_part_of_what_is_rendered() {
    let t = TestApp::new().await;
    let mut with_token = config("C-1");
    with_token["token"] = json!("something-else");
    let (_, _, a) = render(&t, &json!({ "config": config("C-1") }), Some(&token("C-1"))).await;
    let (_, _, b) = render(&t, &json!({ "config": with_token }), Some(&token("C-1"))).await;
    assert_eq!(a["renderKey"], b["renderKey"]);
    assert_eq!(a["fragment"], b["fragment"]);
}

#[tokio::test]
async fn a_partner_already_answered_is_not_asked_again() {
    let t = TestApp::new().await;
    let mut c = config("C-1");
    c["preferences"] = json!([{
        "partnerId": "north",
        "state": "given",
        "channels": ["email"],
        "noticeId": "north-news",
        "noticeVersion": 1,
        "decidedAt": "2026-03-01T10:00:00.000Z"
    }]);
    let (status, _, body) = render(&t, &json!({ "config": c }), Some(&token("C-1"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["questions"], 1);
    let fragment = body["fragment"].as_str().unwrap();
    assert!(fragment.contains("South Players would like"));
    assert!(!fragment.contains("North &amp; Co would like"));
}

#[tokio::test]
async fn rendering_needs_the_checkout_token_for_that_venue_and_patron() {
    let t = TestApp::new().await;
    let body = json!({ "config": config("C-1") });
    let (status, headers, err) = render(&t, &body, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{err}");
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
    let (status, _, err) = render(&t, &body, Some("not-a-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{err}");
    let (status, _, err) = render(&t, &body, Some(&token("C-2"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["error"]["field"], "config.customerId");
    let mut other_venue = claims("C-1", "consent:write");
    other_venue.iss = "elsewhere".into();
    // This host serves one venue: another venue's token is not a token here.
    let (status, _, err) = render(&t, &body, Some(&sign(&other_venue))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{err}");
    assert_eq!(err["error"]["field"], "token.iss");
    // Nor does an admin key render another venue's prompt.
    let mut elsewhere = config("C-1");
    elsewhere["venue"]["id"] = json!("elsewhere");
    let (status, _, err) = render(
        &t,
        &json!({ "config": elsewhere }),
        Some(&t.admin_key.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    assert_eq!(err["error"]["field"], "config.venue.id");
    let (status, _, err) = render(&t, &body, Some(&sign(&claims("C-1", "consent:read")))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    // The venue's own server may render with an admin key.
    let (status, _, _) = render(&t, &body, Some(&t.admin_key)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_bad_config_is_refused_naming_its_field() {
    let t = TestApp::new().await;
    let tok = token("C-1");
    let mut c = config("C-1");
    c["partners"][1]["notice"]["version"] = json!("two");
    let (status, _, err) = render(&t, &json!({ "config": c }), Some(&tok)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["field"], "config.partners[1].notice.version");

    let mut c = config("C-1");
    c["partners"][0]["privacyUrl"] = json!("javascript:alert(1)");
    let (status, _, err) = render(&t, &json!({ "config": c }), Some(&tok)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["code"], "invalid_config");
    assert!(
        err["error"]["field"]
            .as_str()
            .unwrap()
            .starts_with("config.partners[0]"),
        "{err}"
    );

    let (status, _, err) = render(
        &t,
        &json!({ "config": config("C-1"), "extra": 1 }),
        Some(&tok),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["field"], "extra");

    let (status, _, err) = render(
        &t,
        &json!({ "config": config("C-1"), "assetBase": "//evil.example/" }),
        Some(&tok),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["field"], "assetBase");
}

#[tokio::test]
async fn an_asset_base_moves_the_stylesheet() {
    let t = TestApp::new().await;
    let body = json!({ "config": config("C-1"), "assetBase": "https://cdn.example/cp/0.1.0/" });
    let (status, _, r) = render(&t, &body, Some(&token("C-1"))).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(
        r["stylesheet"],
        "https://cdn.example/cp/0.1.0/consent-prompt.css"
    );
    assert!(r["fragment"].as_str().unwrap().contains(
        "<link rel=\"stylesheet\" href=\"https://cdn.example/cp/0.1.0/consent-prompt.css\">"
    ));
}

/// A render for a page on another origin links the stylesheet absolutely,
/// so the venue's page paints it styled before the wasm arrives.
async fn stylesheet_for_host(t: &TestApp, host: Option<&str>) -> String {
    let mut req = Request::post("/api/v1/prompt/render")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", token("C-1")));
    if let Some(h) = host {
        req = req.header(header::HOST, h);
    }
    let body = json!({ "config": config("C-1") }).to_string();
    let (status, _, bytes) = t.send(req.body(Body::from(body)).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let r: Value = serde_json::from_slice(&bytes).unwrap();
    let sheet = r["stylesheet"].as_str().unwrap().to_owned();
    assert!(r["fragment"]
        .as_str()
        .unwrap()
        .contains(&format!("<link rel=\"stylesheet\" href=\"{sheet}\">")));
    sheet
}

#[tokio::test]
async fn a_render_links_its_stylesheet_under_the_hosts_own_origin() {
    let t = TestApp::new().await;
    let table = [
        (
            Some("consent.riverside.example"),
            "https://consent.riverside.example/consent-prompt/consent-prompt.css",
        ),
        (
            Some("127.0.0.1:8080"),
            "http://127.0.0.1:8080/consent-prompt/consent-prompt.css",
        ),
        (
            Some("localhost:5173"),
            "http://localhost:5173/consent-prompt/consent-prompt.css",
        ),
        // A Host that is no plain host[:port] never reaches the attribute.
        (
            Some("evil.example\"><script>"),
            "/consent-prompt/consent-prompt.css",
        ),
        (Some("a.example/path"), "/consent-prompt/consent-prompt.css"),
        (None, "/consent-prompt/consent-prompt.css"),
    ];
    for (host, want) in table {
        assert_eq!(stylesheet_for_host(&t, host).await, want, "Host: {host:?}");
    }
    // A configured public origin wins over the request's Host.
    let t = TestApp::with_config(|c, _| {
        c.public_origin = Some("https://consent.venue.example".into());
    })
    .await;
    assert_eq!(
        stylesheet_for_host(&t, Some("internal:9000")).await,
        "https://consent.venue.example/consent-prompt/consent-prompt.css"
    );
}

/// A build directory with the demo's pages and config.
fn demo_dist(dir: &std::path::Path) {
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>demo</title><div id=\"consent\"></div>",
    )
    .unwrap();
    std::fs::write(
        dist.join("frame.html"),
        "<!doctype html><title>frame</title><div id=\"consent\"></div>",
    )
    .unwrap();
    let mut c = config("C-1001");
    c["venue"] = json!({ "id": "riverside", "name": "Riverside Playhouse" });
    std::fs::write(dist.join("demo-config.json"), c.to_string()).unwrap();
    std::fs::write(dist.join("secret.txt"), "not a config").unwrap();
}

async fn get_page(t: &TestApp, uri: &str) -> (StatusCode, HeaderMap, String) {
    let (status, headers, body) = t.send(Request::get(uri).body(Body::empty()).unwrap()).await;
    (status, headers, String::from_utf8(body).unwrap())
}

#[tokio::test]
async fn the_demo_checkout_arrives_with_its_first_question() {
    let t = TestApp::with_config(|c, dir| {
        demo_dist(dir);
        c.demo = true;
    })
    .await;
    let (status, headers, html) = get_page(&t, "/?customer=P-9").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert!(headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("style-src 'self'"));
    assert!(
        html.contains("<div id=\"consent\"><template shadowrootmode=\"open\">"),
        "{html}"
    );
    assert!(html.contains("North &amp; Co would like"));
}

#[tokio::test]
async fn the_frame_renders_a_config_it_serves_and_nothing_else() {
    let t = TestApp::with_config(|_, dir| {
        demo_dist(dir);
        // A link inside the build to a config outside it.
        let outside = dir.join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::copy(dir.join("dist/demo-config.json"), outside.join("c.json")).unwrap();
        std::os::unix::fs::symlink(outside.join("c.json"), dir.join("dist/leak.json")).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("dist/linked")).unwrap();
    })
    .await;
    let (status, headers, html) =
        get_page(&t, "/consent-prompt/frame.html?config=/demo-config.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert!(!headers.contains_key(header::ETAG));
    assert!(
        html.contains("<template shadowrootmode=\"open\">"),
        "{html}"
    );
    for uri in [
        "/consent-prompt/frame.html",
        "/consent-prompt/frame.html?config=/../secret.json",
        "/consent-prompt/frame.html?config=/secret.txt",
        "/consent-prompt/frame.html?config=https://evil.example/c.json",
        "/consent-prompt/frame.html?config=/missing.json",
        "/consent-prompt/frame.html?config=/leak.json",
        "/consent-prompt/frame.html?config=/linked/c.json",
    ] {
        let (status, _, html) = get_page(&t, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(!html.contains("<template"), "{uri}: {html}");
        assert!(html.contains("<div id=\"consent\"></div>"), "{uri}");
    }
}

/// `POST /api/v1/prompt/fragment` as the patron's browser sends it: a
/// `text/plain` body (a CORS simple request) with the token in the config.
async fn fragment(
    t: &TestApp,
    body: &Value,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let mut req = Request::post("/api/v1/prompt/fragment")
        .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let (status, headers, bytes) = t
        .send(req.body(Body::from(body.to_string())).unwrap())
        .await;
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("non-JSON answer ({e}): {bytes:?}"));
    (status, headers, value)
}

fn with_token(customer: &str, token: Option<String>) -> Value {
    let mut c = config(customer);
    if let Some(t) = token {
        c["token"] = json!(t);
    }
    json!({ "config": c })
}

#[tokio::test]
async fn the_browser_asks_with_the_token_in_its_config_and_its_own_languages() {
    let t = TestApp::new().await;
    let (status, headers, body) = fragment(
        &t,
        &with_token("C-1", Some(token("C-1"))),
        &[("accept-language", "cy-GB,cy;q=0.9"), ("sec-gpc", "1")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(body["locale"], "cy-GB", "the patron's own Accept-Language");
    assert_eq!(body["questions"], 2);
    // The same render as a server's: the same fingerprint for the same session.
    let (_, _, server) = render(
        &t,
        &json!({ "config": config("C-1"), "acceptLanguage": "cy-GB,cy;q=0.9", "gpc": true }),
        Some(&token("C-1")),
    )
    .await;
    assert_eq!(body["renderKey"], server["renderKey"]);
}

#[tokio::test]
async fn the_browsers_render_needs_the_patrons_own_checkout_token_and_never_a_key() {
    let t = TestApp::new().await;
    let (status, _, body) = fragment(&t, &with_token("C-1", None), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["field"], "config.token");
    let (status, _, body) = fragment(&t, &with_token("C-1", Some("not-a-token".into())), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // Another patron's token does not render this patron's prompt.
    let (status, _, body) = fragment(&t, &with_token("C-1", Some(token("C-2"))), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // An API key has no place in a page: refused before it is even looked up.
    let (status, _, body) = fragment(&t, &with_token("C-1", Some(t.admin_key.clone())), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("API key"),
        "{body}"
    );
    // A body that is neither text nor JSON is not read.
    let req = Request::post("/api/v1/prompt/fragment")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            with_token("C-1", Some(token("C-1"))).to_string(),
        ))
        .unwrap();
    let (status, _, _) = t.send(req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// A build directory whose frame page links `frame.css`, with both of the
/// stylesheets the rendered frame carries inline.
fn frame_dist(dir: &std::path::Path) {
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("frame.html"),
        "<!doctype html><head><link rel=\"stylesheet\" href=\"frame.css\"></head><body>\n<div id=\"consent\"></div>\n</body>",
    )
    .unwrap();
    std::fs::write(dist.join("frame.css"), "html { margin: 0; }").unwrap();
    std::fs::write(dist.join("consent-prompt.css"), ".q { border: 1px solid; }").unwrap();
}

/// `POST frame.html` as `host.js` sends it: a form with one field,
/// `request`, holding the render request as JSON.
async fn frame_post(t: &TestApp, request: &Value) -> (StatusCode, HeaderMap, String) {
    let form = format!("request={}", url_encode(&request.to_string()));
    let req = Request::post("/consent-prompt/frame.html")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let (status, headers, body) = t.send(req).await;
    (status, headers, String::from_utf8(body).unwrap())
}

/// Percent-encodes everything but unreserved characters, as a form does.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The JSON in the data block `#id` of a page.
fn data_block(html: &str, id: &str) -> Value {
    let open = format!("<script type=\"application/json\" id=\"{id}\">");
    let start = html
        .find(&open)
        .unwrap_or_else(|| panic!("no #{id}: {html}"))
        + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

#[tokio::test]
async fn the_frame_opened_with_the_parents_config_arrives_with_its_first_question() {
    let t = TestApp::with_config(|c, dir| {
        frame_dist(dir);
        c.frame_parents = vec!["https://shop.example".into()];
    })
    .await;
    let mut request = with_token("C-1", Some(token("C-1")));
    request["config"]["partners"][1]["notice"]["text"]["en-GB"] =
        json!("South </script><script>alert(1)</script> Players");
    let (status, headers, html) = frame_post(&t, &request).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    // The question is in the page, with its styles inline and nothing linked.
    assert!(
        html.contains("<div id=\"consent\"><template shadowrootmode=\"open\"><style>.q { border: 1px solid; }</style>"),
        "{html}"
    );
    assert!(
        html.contains("<style>html { margin: 0; }</style>"),
        "{html}"
    );
    assert!(!html.contains("<link rel=\"stylesheet\""), "{html}");
    // The config as sent, token included, and the frame's settings: no
    // text in the config closes its element.
    assert_eq!(data_block(&html, "consent-config"), request["config"]);
    assert_eq!(
        data_block(&html, "consent-frame"),
        json!({ "allowedParentOrigins": ["https://shop.example"] })
    );
    assert_eq!(
        html.matches("</script>").count(),
        3,
        "two data blocks and the sizer: {html}"
    );
    // The frame's policy allows exactly those inline texts, by hash, and
    // its parents to frame it.
    let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    let hash = |text: &str| {
        use base64::Engine as _;
        use sha2::Digest as _;
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(text))
        )
    };
    assert!(
        policy.contains(&hash(".q { border: 1px solid; }")),
        "{policy}"
    );
    assert!(policy.contains(&hash("html { margin: 0; }")), "{policy}");
    assert!(
        policy.contains(&hash(consent_host::prompt::FRAME_SIZER)),
        "{policy}"
    );
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(
        policy.contains("frame-ancestors https://shop.example"),
        "{policy}"
    );
}

#[tokio::test]
async fn a_frame_post_that_is_refused_gets_the_frame_as_built() {
    let t = TestApp::with_config(|_, dir| frame_dist(dir)).await;
    let built = std::fs::read_to_string(t.dir.path().join("dist/frame.html")).unwrap();
    let bad = |mut r: Value, f: &dyn Fn(&mut Value)| {
        f(&mut r);
        r
    };
    for (what, request) in [
        ("no token", with_token("C-1", None)),
        ("a bad token", with_token("C-1", Some("not-a-token".into()))),
        (
            "another patron's token",
            with_token("C-1", Some(token("C-2"))),
        ),
        ("an API key", with_token("C-1", Some(t.admin_key.clone()))),
        (
            "a bad config",
            bad(with_token("C-1", Some(token("C-1"))), &|r| {
                r["config"]["partners"] = json!("none")
            }),
        ),
    ] {
        let (status, headers, html) = frame_post(&t, &request).await;
        assert_eq!(status, StatusCode::OK, "{what}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store", "{what}");
        assert_eq!(html, built, "{what}: nothing rendered, nothing written in");
    }
    // Not a form: the frame as built too.
    let req = Request::post("/consent-prompt/frame.html")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("config=%7B"))
        .unwrap();
    let (status, _, body) = t.send(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(String::from_utf8(body).unwrap(), built);
}

#[tokio::test]
async fn a_render_can_hold_its_stylesheet_inline_with_the_hash_a_csp_needs() {
    let t = TestApp::with_config(|_, dir| frame_dist(dir)).await;
    let mut body = json!({ "config": config("C-1"), "inlineStyle": true });
    let (status, _, rendered) = render(&t, &body, Some(&token("C-1"))).await;
    assert_eq!(status, StatusCode::OK, "{rendered}");
    let html = rendered["fragment"].as_str().unwrap();
    assert!(
        html.starts_with("<template shadowrootmode=\"open\"><style>.q { border: 1px solid; }</style><div data-cp-render="),
        "{html}"
    );
    assert!(!html.contains("<link"), "{html}");
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD
            .encode(sha2::Sha256::digest(".q { border: 1px solid; }"))
    );
    assert_eq!(rendered["styleHash"], json!(hash));
    // The patron's browser asks the same way, with the same answer.
    body["config"]["token"] = json!(token("C-1"));
    let (status, _, from_page) = fragment(&t, &body, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(from_page["fragment"], rendered["fragment"]);
    assert_eq!(from_page["styleHash"], rendered["styleHash"]);
    // Without it: linked, and no hash.
    let (_, _, linked) = render(&t, &json!({ "config": config("C-1") }), Some(&token("C-1"))).await;
    assert!(linked["fragment"]
        .as_str()
        .unwrap()
        .contains("<link rel=\"stylesheet\""));
    assert!(linked.get("styleHash").is_none(), "{linked}");
}

#[tokio::test]
async fn a_host_without_the_stylesheet_says_so_when_asked_to_inline_it() {
    let t = TestApp::new().await;
    let (status, _, body) = render(
        &t,
        &json!({ "config": config("C-1"), "inlineStyle": true }),
        Some(&token("C-1")),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["field"], "inlineStyle");
}
