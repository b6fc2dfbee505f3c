//! Every side effect the widget has: clock, randomness, hashing, storage,
//! network, DOM events, console. Each is a small function returning
//! `Result`, so the rest of the widget never calls a browser API directly
//! and never panics on one.

use std::fmt;

use js_sys::{Array, Function, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    CssStyleSheet, Element, ShadowRoot, ShadowRootInit, ShadowRootMode, Storage, Window,
};

use consent_core::Timestamp;
use serde::Serialize;

/// A browser call that failed, said plainly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformError(pub String);

impl fmt::Display for PlatformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlatformError {}

pub type Result<T> = std::result::Result<T, PlatformError>;

fn err(what: &str, e: JsValue) -> PlatformError {
    let detail = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_default();
    PlatformError(if detail.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {detail}")
    })
}

pub fn window() -> Result<Window> {
    web_sys::window()
        .ok_or_else(|| PlatformError("no window (not running in a browser page)".into()))
}

// ---- Clock and randomness -------------------------------------------------

/// The current time. `Date.now()` cannot fail.
pub fn now() -> Timestamp {
    Timestamp::from_unix_millis(js_sys::Date::now() as i64)
}

/// A UUID v4 from `crypto.randomUUID()` (secure contexts: https or localhost).
pub fn random_uuid() -> Result<String> {
    let crypto = window()?
        .crypto()
        .map_err(|e| err("window.crypto is unavailable", e))?;
    let has = Reflect::has(&crypto, &"randomUUID".into()).unwrap_or(false);
    if !has {
        return Err(PlatformError(
            "crypto.randomUUID is unavailable (the page must be served over https)".into(),
        ));
    }
    Ok(crypto.random_uuid())
}

/// A number in [0, 1), for retry jitter only.
pub fn random() -> f64 {
    js_sys::Math::random()
}

/// Lowercase hex SHA-256 of `text`'s UTF-8 bytes, from WebCrypto.
pub async fn sha256_hex(text: &str) -> Result<String> {
    let crypto = window()?
        .crypto()
        .map_err(|e| err("window.crypto is unavailable", e))?;
    let subtle = crypto.subtle();
    let promise = subtle
        .digest_with_str_and_u8_array("SHA-256", text.as_bytes())
        .map_err(|e| err("crypto.subtle.digest failed", e))?;
    let buf = JsFuture::from(promise)
        .await
        .map_err(|e| err("crypto.subtle.digest failed", e))?;
    let bytes = Uint8Array::new(&buf).to_vec();
    Ok(bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
        s
    }))
}

/// Resolves after `ms` milliseconds (a `setTimeout`, by gloo-timers).
pub async fn sleep(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

// ---- The page ---------------------------------------------------------------

/// `<html lang>`, if set.
pub fn html_lang() -> Option<String> {
    let lang = window()
        .ok()?
        .document()?
        .document_element()?
        .get_attribute("lang")?;
    (!lang.trim().is_empty()).then_some(lang)
}

/// `navigator.languages`, most preferred first.
pub fn navigator_languages() -> Vec<String> {
    let Ok(w) = window() else { return Vec::new() };
    w.navigator()
        .languages()
        .iter()
        .filter_map(|v| v.as_string())
        .collect()
}

/// `navigator.globalPrivacyControl`: `Some(true/false)`, or `None` when the browser says nothing.
pub fn global_privacy_control() -> Option<bool> {
    let nav = window().ok()?.navigator();
    Reflect::get(&nav, &"globalPrivacyControl".into())
        .ok()?
        .as_bool()
}

/// The page's origin and path, for the record's `collection`.
pub fn page_location() -> (String, String) {
    let Ok(w) = window() else {
        return (String::new(), String::new());
    };
    let loc = w.location();
    (
        loc.origin().unwrap_or_default(),
        loc.pathname().unwrap_or_default(),
    )
}

// ---- Console ----------------------------------------------------------------

/// A console warning. Rendering on a server (no console there) says
/// nothing: the browser that takes the prompt over warns about the same.
pub fn warn(message: &str) {
    if on_browser() {
        gloo_console::warn!(format!("[consent-prompt] {message}"));
    }
}

pub fn error(message: &str) {
    if on_browser() {
        gloo_console::error!(format!("[consent-prompt] {message}"));
    }
}

/// Whether browser APIs exist here: false when the prompt is rendered on
/// a server, where calling one would panic.
const fn on_browser() -> bool {
    cfg!(target_family = "wasm")
}

// ---- Storage (the outbox) ---------------------------------------------------

fn local_storage() -> Result<Storage> {
    window()?
        .local_storage()
        .map_err(|e| err("localStorage is blocked", e))?
        .ok_or_else(|| PlatformError("localStorage is unavailable".into()))
}

pub fn storage_get(key: &str) -> Result<Option<String>> {
    local_storage()?
        .get_item(key)
        .map_err(|e| err("localStorage read failed", e))
}

pub fn storage_set(key: &str, value: &str) -> Result<()> {
    local_storage()?
        .set_item(key, value)
        .map_err(|e| err("localStorage write failed (storage full or blocked)", e))
}

pub fn storage_remove(key: &str) -> Result<()> {
    local_storage()?
        .remove_item(key)
        .map_err(|e| err("localStorage remove failed", e))
}

/// Every key that starts with `prefix`.
pub fn storage_keys(prefix: &str) -> Result<Vec<String>> {
    let s = local_storage()?;
    let n = s.length().map_err(|e| err("localStorage read failed", e))?;
    let mut keys = Vec::new();
    for i in 0..n {
        if let Ok(Some(k)) = s.key(i) {
            if k.starts_with(prefix) {
                keys.push(k);
            }
        }
    }
    consent_core::compact::sort_small(&mut keys);
    Ok(keys)
}

// ---- Crossing to JavaScript ------------------------------------------------

/// Rust → JS value, by serde-wasm-bindgen, the way `JSON.parse` would give
/// it: `None` is `null`, maps are plain objects, numbers are numbers.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| PlatformError(format!("could not hand a value to the page: {e}")))
}

/// A JS value as indented JSON text (for a file the patron keeps).
pub fn json_pretty(value: &JsValue) -> Result<String> {
    js_sys::JSON::stringify_with_replacer_and_space(value, &JsValue::NULL, &JsValue::from(2))
        .map(String::from)
        .map_err(|e| err("JSON.stringify failed", e))
}

/// A `blob:` URL for `content` of type `mime`, revoked when dropped.
pub fn object_url(content: &str, mime: &str) -> gloo_file::ObjectUrl {
    gloo_file::ObjectUrl::from(gloo_file::Blob::new_with_options(content, Some(mime)))
}

/// JSON text → JS value.
pub fn json_to_js(text: &str) -> Result<JsValue> {
    js_sys::JSON::parse(text).map_err(|e| err("JSON.parse failed", e))
}

pub fn json_stringify(value: &JsValue) -> Result<String> {
    js_sys::JSON::stringify(value)
        .map(String::from)
        .map_err(|e| err("JSON.stringify failed", e))
}

// ---- Network ----------------------------------------------------------------

/// An HTTP answer (any status).
pub struct HttpResponse {
    pub status: u16,
    pub retry_after: Option<String>,
    /// The body as text; empty when it could not be read.
    pub body: String,
}

/// POSTs a JSON body. `Err` means no HTTP answer at all (network down, CORS, DNS).
pub async fn post_json(
    url: &str,
    body: &str,
    headers: &[(String, String)],
    credentials: &str,
    idempotency_key: &str,
) -> Result<HttpResponse> {
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    init.set_credentials(match credentials {
        "omit" => web_sys::RequestCredentials::Omit,
        "include" => web_sys::RequestCredentials::Include,
        _ => web_sys::RequestCredentials::SameOrigin,
    });
    let h = web_sys::Headers::new().map_err(|e| err("could not build headers", e))?;
    for (name, value) in headers {
        h.set(name, value)
            .map_err(|e| err(&format!("header \"{name}\" was refused"), e))?;
    }
    h.set("Content-Type", "application/json")
        .map_err(|e| err("header", e))?;
    h.set("Idempotency-Key", idempotency_key)
        .map_err(|e| err("header", e))?;
    init.set_headers(&h);
    // Let the request finish even if the patron leaves the page.
    let _ = Reflect::set(
        &init,
        &"keepalive".into(),
        &JsValue::from_bool(body.len() < 60_000),
    );
    fetch(url, &init).await
}

async fn fetch(url: &str, init: &web_sys::RequestInit) -> Result<HttpResponse> {
    let w = window()?;
    let resp = JsFuture::from(w.fetch_with_str_and_init(url, init))
        .await
        .map_err(|e| err("network error", e))?;
    let resp: web_sys::Response = resp
        .dyn_into()
        .map_err(|e| err("fetch returned something else", e))?;
    let retry_after = resp.headers().get("Retry-After").ok().flatten();
    let body = match resp.text() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    Ok(HttpResponse {
        status: resp.status(),
        retry_after,
        body,
    })
}

// ---- DOM --------------------------------------------------------------------

/// Attaches (or reuses) an open shadow root on `host`.
pub fn shadow_root(host: &Element) -> Result<ShadowRoot> {
    if let Some(existing) = host.shadow_root() {
        return Ok(existing);
    }
    host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))
        .map_err(|e| {
            err(
                "could not attach a shadow root (is the target a <div> or similar?)",
                e,
            )
        })
}

/// Removes the `<link rel="stylesheet">`s and `<style>`s directly in a
/// shadow root (a server render's styles; the live prompt adopts its own).
pub fn remove_linked_styles(root: &ShadowRoot) {
    let children = root.children();
    let links: Vec<Element> = (0..children.length())
        .filter_map(|i| children.item(i))
        .filter(|e| {
            let tag = e.tag_name();
            tag == "STYLE"
                || (tag == "LINK" && e.get_attribute("rel").as_deref() == Some("stylesheet"))
        })
        .collect();
    for link in links {
        link.remove();
    }
}

/// Applies stylesheets to a shadow root without any inline `<style>`, so a
/// strict `style-src 'self'` policy is respected.
pub fn adopt_styles(root: &ShadowRoot, sheets: &[&str]) -> Result<()> {
    let list = Array::new();
    for css in sheets {
        let sheet = CssStyleSheet::new()
            .map_err(|e| err("constructable stylesheets are unsupported", e))?;
        sheet
            .replace_sync(css)
            .map_err(|e| err("stylesheet rejected", e))?;
        list.push(&sheet);
    }
    root.set_adopted_style_sheets(&list);
    Ok(())
}

pub fn create_element(tag: &str) -> Result<Element> {
    window()?
        .document()
        .ok_or_else(|| PlatformError("no document".into()))?
        .create_element(tag)
        .map_err(|e| err("could not create an element", e))
}

/// Finds an element by CSS selector in the page.
pub fn query(selector: &str) -> Result<Option<Element>> {
    window()?
        .document()
        .ok_or_else(|| PlatformError("no document".into()))?
        .query_selector(selector)
        .map_err(|e| err(&format!("\"{selector}\" is not a valid CSS selector"), e))
}

/// The attribute a server-rendered prompt's container carries: the
/// fingerprint of the session it was rendered from
/// (`Session::render_key`).
pub const RENDER_KEY_ATTR: &str = "data-cp-render";
/// On a server-rendered prompt: Save was pressed before the wasm arrived.
pub const EARLY_SAVE_ATTR: &str = "data-cp-save";
/// On the prompt's element once the wasm has taken it over.
pub const LIVE_ATTR: &str = "data-cp-live";

/// Removes the entry script's "saving" notes beside a rendered prompt.
pub fn remove_early_notes(rendered: &Element) {
    let Some(parent) = rendered.parent_node() else {
        return;
    };
    let notes = match parent.dyn_ref::<ShadowRoot>() {
        Some(root) => root.query_selector_all("[data-cp-early]"),
        None => match parent.dyn_ref::<Element>() {
            Some(el) => el.query_selector_all("[data-cp-early]"),
            None => return,
        },
    };
    if let Ok(list) = notes {
        for i in 0..list.length() {
            if let Some(node) = list.item(i) {
                if let Some(p) = node.parent_node() {
                    let _ = p.remove_child(&node);
                }
            }
        }
    }
}

/// The container of a prompt a server rendered into this shadow root (a
/// declarative shadow root), and its fingerprint.
pub fn server_rendered(root: &ShadowRoot) -> Option<(Element, String)> {
    let container = root
        .query_selector(&format!("div[{RENDER_KEY_ATTR}]"))
        .ok()??;
    let key = container.get_attribute(RENDER_KEY_ATTR)?;
    Some((container, key))
}

/// An input a patron set in server-rendered HTML before the wasm arrived.
pub struct EarlyInput {
    /// The input's `id` (`cp-q0-yes`, `cp-q0-heard`).
    pub id: String,
    /// When it was set, if the entry script saw it (`data-cp-at`, in
    /// milliseconds since the epoch).
    pub at: Option<Timestamp>,
}

/// The inputs checked in a server-rendered container.
pub fn early_inputs(container: &Element) -> Vec<EarlyInput> {
    let Ok(list) = container.query_selector_all("input:checked") else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<Element>().ok())
        .map(|el| EarlyInput {
            id: el.id(),
            at: el
                .get_attribute("data-cp-at")
                .and_then(|v| v.parse::<i64>().ok())
                .map(Timestamp::from_unix_millis),
        })
        .collect()
}

/// Since when a rendered prompt has been on screen: when the entry
/// script put it in the page (`data-cp-shown`, rendered on demand), else
/// when the page began to load (`performance.timeOrigin`: the venue's
/// server wrote it into the page).
pub fn shown_since(container: &Element) -> Option<Timestamp> {
    container
        .get_attribute("data-cp-shown")
        .and_then(|v| v.parse::<i64>().ok())
        .map(Timestamp::from_unix_millis)
        .or_else(page_start)
}

/// When the page began to load (`performance.timeOrigin`).
fn page_start() -> Option<Timestamp> {
    let performance = Reflect::get(&js_sys::global(), &"performance".into()).ok()?;
    let origin = Reflect::get(&performance, &"timeOrigin".into())
        .ok()?
        .as_f64()?;
    (origin.is_finite() && origin > 0.0).then(|| Timestamp::from_unix_millis(origin as i64))
}

/// Dispatches a `CustomEvent` that bubbles out of the shadow root.
pub fn dispatch(target: &Element, name: &str, detail: &JsValue) -> Result<()> {
    let init = web_sys::CustomEventInit::new();
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_detail(detail);
    let event = web_sys::CustomEvent::new_with_event_init_dict(name, &init)
        .map_err(|e| err("could not create event", e))?;
    target
        .dispatch_event(&event)
        .map(|_| ())
        .map_err(|e| err("event listener threw", e))
}

/// Moves keyboard focus to the first element matching `selector` inside `container`.
pub fn focus_first(container: &Element, selector: &str) -> Result<()> {
    let el = container
        .query_selector(selector)
        .map_err(|e| err("bad selector", e))?
        .ok_or_else(|| PlatformError(format!("nothing matches {selector} to focus")))?;
    let el: web_sys::HtmlElement = el
        .dyn_into()
        .map_err(|_| PlatformError(format!("{selector} is not focusable")))?;
    el.focus().map_err(|e| err("focus failed", e))
}

/// Calls a JS function, reporting (not throwing) its failure.
pub fn call1(f: &Function, arg: &JsValue) -> Result<JsValue> {
    f.call1(&JsValue::NULL, arg)
        .map_err(|e| err("callback threw", e))
}

/// A date in the patron's language, from the browser's own `Intl`
/// ("2 June 2026", "2 Mehefin 2026"). Falls back to `YYYY-MM-DD`.
pub fn format_date(t: Timestamp, locale: &str) -> String {
    let fallback = || t.to_rfc3339().chars().take(10).collect::<String>();
    if !on_browser() {
        return fallback();
    }
    let formatted = (|| -> Option<String> {
        let intl = Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
        let ctor: Function = Reflect::get(&intl, &"DateTimeFormat".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let options = js_sys::Object::new();
        Reflect::set(&options, &"dateStyle".into(), &"long".into()).ok()?;
        Reflect::set(&options, &"timeZone".into(), &"UTC".into()).ok()?;
        let args = Array::of2(&JsValue::from_str(locale), &options);
        let format = Reflect::construct(&ctor, &args).ok()?;
        let f: Function = Reflect::get(&format, &"format".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let date = js_sys::Date::new(&JsValue::from_f64(t.unix_millis() as f64));
        f.call1(&format, &date).ok()?.as_string()
    })();
    formatted.unwrap_or_else(fallback)
}
