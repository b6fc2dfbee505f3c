//! The prompt rendered on the server, so a patron's first question arrives
//! as HTML instead of waiting for the wasm:
//!
//! - `POST /api/v1/prompt/render` answers a venue's server with the
//!   fragment for a config, to inline into its checkout page;
//! - the demo checkout (`/`, with `--demo`) is served with its first
//!   question already in the page;
//! - `frame.html?config=<path>` is served with the first question for a
//!   config file the host itself serves.
//!
//! The rendering is the widget's own (`consent_prompt::ssr`): the same
//! components, so the browser hydrates what it receives.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use consent_core::config::{validate, Config as WidgetConfig, ConfigErrors};
use consent_core::locale::accept_language;
use consent_core::wire::{ConfigV1, PromptRenderRequestV1, PromptRenderV1};
use consent_core::Timestamp;
use consent_prompt::ssr::{self, RenderInput, Rendered};
use serde::Deserialize;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_http::services::ServeDir;

use crate::api::no_store;
use crate::api::parse_strictly;
use crate::error::ApiError;
use crate::extract::{checkout_caller, read_body, Authorized, PageRender};
use crate::AppState;

/// Renders at once at most; more wait their turn (each is a few
/// milliseconds of CPU on Yew's own threads).
pub const MAX_CONCURRENT_RENDERS: usize = 8;

/// Where the widget's files are, and a bound on renders in flight.
pub struct PromptRenderer {
    /// `/consent-prompt/<version>/` when the build wrote a manifest,
    /// else `/consent-prompt/`.
    pub asset_base: String,
    /// The stylesheet's `sha384-…` from the build's manifest: the fragment
    /// links it with this integrity, so a changed stylesheet is refused.
    stylesheet_integrity: Option<String>,
    /// The stylesheets the host writes inline, if the build has them.
    inline_styles: Option<InlineStyles>,
    permits: Semaphore,
}

/// The script the host writes at the end of a frame page it rendered: it
/// tells the parent the page's height (to each allowed origin in
/// `#consent-frame`, as `frame.js` says `ready`; only the real parent's
/// origin receives it) as soon as the page is laid out, so the question
/// is shown at its height before `frame.js` arrives. `frame.js` stops it
/// and reports from then on.
pub const FRAME_SIZER: &str = r#"(function(){var o=[];try{o=JSON.parse(document.getElementById("consent-frame").textContent).allowedParentOrigins||[]}catch(e){}var h=0;var r=new ResizeObserver(function(){var n=Math.ceil(document.documentElement.getBoundingClientRect().height);if(n===h)return;h=n;for(var i=0;i<o.length;i++)parent.postMessage({type:"consent-prompt:resize",v:1,height:n},o[i])});r.observe(document.documentElement);window.ConsentPromptSizer=r})();"#;

/// The stylesheets the host writes inline, each with the CSP source
/// allowing exactly its text (computed once, when the build is read): the
/// prompt's `consent-prompt.css`, for a render asked for with
/// `inlineStyle` and for the frame page it renders, and the frame's own
/// `frame.css`, so that page needs no stylesheet request after it. The
/// frame's policy allows these by their hashes, and [`FRAME_SIZER`].
#[derive(Clone, Debug)]
pub struct InlineStyles {
    prompt: Inline,
    frame: Inline,
}

/// A text written inline and the CSP source allowing exactly it.
#[derive(Clone, Debug)]
struct Inline {
    text: String,
    source: String,
}

impl Inline {
    fn new(text: String) -> Self {
        let source = csp_hash(&text);
        Inline { text, source }
    }
}

/// `'sha256-…'`: a CSP source allowing exactly `text` inline.
fn csp_hash(text: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

impl InlineStyles {
    /// The two stylesheets of a build directory; `None` if either is
    /// missing or could close its `<style>` element.
    pub fn load(dist: &Path) -> Option<Self> {
        let read = |file: &str| {
            std::fs::read_to_string(dist.join(file))
                .ok()
                .filter(|css| !css.to_ascii_lowercase().contains("</style"))
                .map(Inline::new)
        };
        Some(InlineStyles {
            prompt: read("consent-prompt.css")?,
            frame: read("frame.css")?,
        })
    }

    /// The CSP sources of the two styles.
    pub fn style_sources(&self) -> [&str; 2] {
        [&self.frame.source, &self.prompt.source]
    }

    /// The CSP source of [`FRAME_SIZER`].
    pub fn script_source(&self) -> String {
        csp_hash(FRAME_SIZER)
    }

    /// The CSP source of the prompt's stylesheet.
    pub fn prompt_source(&self) -> &str {
        &self.prompt.source
    }

    /// The rendered frame page: `frame.css` and the fragment's stylesheet
    /// inline (a page without either link is left as it is).
    fn apply(&self, page: &str) -> String {
        let page = page.replacen(
            "<link rel=\"stylesheet\" href=\"frame.css\">",
            &format!("<style>{}</style>", self.frame.text),
            1,
        );
        self.inline_prompt_style(&page).unwrap_or(page)
    }

    /// `html` with the stylesheet link at the start of its shadow root
    /// replaced by the stylesheet itself; `None` if it has no such link.
    pub fn inline_prompt_style(&self, html: &str) -> Option<String> {
        const ROOT: &str = "<template shadowrootmode=\"open\">";
        let start = html.find(&format!("{ROOT}<link rel=\"stylesheet\""))?;
        let link = start + ROOT.len();
        let end = link + html[link..].find('>')? + 1;
        Some(format!(
            "{}<style>{}</style>{}",
            &html[..link],
            self.prompt.text,
            &html[end..]
        ))
    }
}

impl PromptRenderer {
    pub fn new(asset_base: String) -> Self {
        PromptRenderer {
            asset_base,
            stylesheet_integrity: None,
            inline_styles: None,
            permits: Semaphore::new(MAX_CONCURRENT_RENDERS),
        }
    }

    /// With the stylesheet's integrity (from the build's manifest).
    pub fn with_stylesheet_integrity(mut self, integrity: Option<String>) -> Self {
        self.stylesheet_integrity = integrity;
        self
    }

    /// With the stylesheets the host writes inline.
    pub fn with_inline_styles(mut self, inline: Option<InlineStyles>) -> Self {
        self.inline_styles = inline;
        self
    }

    /// The stylesheets the host writes inline, if the build has them.
    pub fn inline_styles(&self) -> Option<&InlineStyles> {
        self.inline_styles.as_ref()
    }

    /// Renders the prompt for a checked config.
    pub async fn render(
        &self,
        config: WidgetConfig,
        languages: Vec<String>,
        gpc: Option<bool>,
        now: Timestamp,
        asset_base: Option<&str>,
    ) -> Result<Rendered, ApiError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| ApiError::internal("waiting to render", &e))?;
        let stylesheet = format!(
            "{}consent-prompt.css",
            asset_base.unwrap_or(&self.asset_base)
        );
        Ok(ssr::render(RenderInput {
            config,
            languages,
            gpc,
            now,
            stylesheet,
            stylesheet_integrity: self.stylesheet_integrity.clone(),
        })
        .await)
    }
}

/// `Sec-GPC: 1`, as the browser sends it.
fn gpc_header(headers: &HeaderMap) -> Option<bool> {
    headers
        .get("sec-gpc")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim() == "1")
}

/// A config's first error as a 422 naming its field under `config.`.
fn config_error(errors: ConfigErrors) -> ApiError {
    let count = errors.errors.len();
    let Some(first) = errors.errors.into_iter().next() else {
        return ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_config",
            "the config is not valid",
        );
    };
    let more = match count {
        1 => String::new(),
        n => format!(
            " (and {} more problem{})",
            n - 1,
            if n == 2 { "" } else { "s" }
        ),
    };
    let err = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_config",
        format!("{}{more}", first.message),
    );
    if first.path.is_empty() {
        err.at("config")
    } else {
        err.at(format!("config.{}", first.path))
    }
}

/// An `assetBase`: an `https://` (or loopback `http://`) URL or a path
/// from `/`, ending in `/`, with nothing that could leave the attribute.
fn check_asset_base(base: &str) -> Result<(), ApiError> {
    if asset_base_ok(base) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "must be an https:// URL (http:// only on 127.0.0.1, localhost or [::1]) or a path from /, ending in /, with no user name, query or fragment, of at most 512 plain characters",
        )
        .at("assetBase"))
    }
}

/// [`check_asset_base`]'s rule. A URL is parsed, never matched by prefix
/// (`http://localhost.evil.example/` is not loopback).
fn asset_base_ok(base: &str) -> bool {
    let plain = base.len() <= 512
        && base.ends_with('/')
        && base
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'<' | b'>' | b'\\' | b'`'));
    if !plain || base.contains(['?', '#']) {
        return false;
    }
    if base.starts_with('/') {
        return !base.starts_with("//");
    }
    let Ok(uri) = base.parse::<axum::http::Uri>() else {
        return false;
    };
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return false;
    };
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return false;
    }
    match scheme {
        "https" => true,
        "http" => matches!(authority.host(), "127.0.0.1" | "localhost" | "[::1]"),
        _ => false,
    }
}

/// `POST /api/v1/prompt/render`: a venue's server asks, server to server,
/// passing on what it knows of the patron's browser.
pub async fn post_render(
    State(state): State<AppState>,
    headers: HeaderMap,
    Authorized { caller, body: req }: Authorized<PromptRenderRequestV1>,
) -> Result<Response, ApiError> {
    render_for(&state, &headers, caller, req).await
}

/// `POST /api/v1/prompt/fragment`: the patron's own browser asks, while the
/// wasm downloads (`embed.js`, the element, the iframe and `mount()` do it
/// by themselves when the config carries a checkout token). Its own
/// `Accept-Language` and `Sec-GPC` stand for the patron's, unless the body
/// says otherwise.
pub async fn post_fragment(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageRender {
        caller,
        body: mut req,
    }: PageRender,
) -> Result<Response, ApiError> {
    from_browser(&headers, &mut req);
    render_for(&state, &headers, caller, req).await
}

/// A request the patron's own browser sent: its `Accept-Language` and
/// `Sec-GPC` stand for the patron's, unless the body says otherwise.
fn from_browser(headers: &HeaderMap, req: &mut PromptRenderRequestV1) {
    if req.accept_language.is_none() {
        req.accept_language = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
    }
    if req.gpc.is_none() {
        req.gpc = gpc_header(headers);
    }
}

/// Renders the prompt for a request either endpoint took, as JSON.
async fn render_for(
    state: &AppState,
    headers: &HeaderMap,
    caller: crate::auth::Caller,
    req: PromptRenderRequestV1,
) -> Result<Response, ApiError> {
    let inline_style = req.inline_style;
    let rendered = render_request(state, headers, caller, req).await?;
    let (fragment, style_hash) = match inline_style {
        true => inline_style_of(state, rendered.fragment)?,
        false => (rendered.fragment, None),
    };
    Ok(no_store(
        StatusCode::OK,
        PromptRenderV1 {
            fragment,
            locale: rendered.locale,
            render_key: rendered.key,
            questions: rendered.questions,
            stylesheet: rendered.stylesheet,
            style_hash,
        },
    ))
}

/// A fragment with its stylesheet inline, and the CSP source allowing it.
fn inline_style_of(
    state: &AppState,
    fragment: String,
) -> Result<(String, Option<String>), ApiError> {
    let unavailable = || {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "this host has no stylesheet to inline (its build directory lacks consent-prompt.css or frame.css): ask without inlineStyle",
        )
        .at("inlineStyle")
    };
    let styles = state.prompt.inline_styles().ok_or_else(unavailable)?;
    let inlined = styles
        .inline_prompt_style(&fragment)
        .ok_or_else(unavailable)?;
    Ok((inlined, Some(styles.prompt_source().to_owned())))
}

/// Renders the prompt for a request the caller may make: the config
/// checked, for this host's venue and a patron the caller speaks for.
async fn render_request(
    state: &AppState,
    headers: &HeaderMap,
    caller: crate::auth::Caller,
    req: PromptRenderRequestV1,
) -> Result<Rendered, ApiError> {
    if let Some(base) = &req.asset_base {
        check_asset_base(base)?;
    }
    // The fragment goes into a page on the venue's origin: its stylesheet
    // is linked absolutely, under this host's public origin, unless the
    // caller names where the widget's files are.
    let absolute = match &req.asset_base {
        Some(_) => None,
        None => state
            .config
            .public_origin_for(headers.get(header::HOST).and_then(|h| h.to_str().ok()))
            .map(|origin| format!("{origin}{}", state.prompt.asset_base)),
    };
    let config = validate(&req.config).map_err(config_error)?.config;
    if config.venue.id != state.tokens.venue() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the config is for another venue than the one this host serves",
        )
        .at("config.venue.id"));
    }
    caller.may_render(&config.venue.id, &config.customer_id)?;
    // The browser's order: the config's locale (in the session), then the
    // page's `lang`, then the patron's languages.
    let languages: Vec<String> = req
        .page_lang
        .iter()
        .cloned()
        .chain(
            req.accept_language
                .as_deref()
                .map(accept_language)
                .unwrap_or_default(),
        )
        .collect();
    let rendered = state
        .prompt
        .render(
            config,
            languages,
            req.gpc,
            (state.clock)(),
            req.asset_base.as_deref().or(absolute.as_deref()),
        )
        .await?;
    tracing::debug!(
        questions = rendered.questions,
        locale = %rendered.locale,
        "prompt rendered"
    );
    Ok(rendered)
}

/// The element a page's prompt mounts on, empty, as the demo and the
/// frame write it.
const MOUNT_POINT: &str = "<div id=\"consent\"></div>";

/// `page` with `fragment` inside its mount point (unchanged if it has none).
fn inline(page: &str, fragment: &str) -> String {
    page.replacen(
        MOUNT_POINT,
        &format!("<div id=\"consent\">{fragment}</div>"),
        1,
    )
}

/// A server-rendered HTML page: never cached, for it holds one patron's
/// questions.
fn page(html: String) -> Response {
    let mut res = Html(html).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `html` with the prompt rendered for `config` in its mount point; the
/// page as it is should the render fail.
async fn rendered_page(
    state: &AppState,
    html: String,
    config: WidgetConfig,
    languages: Vec<String>,
    gpc: Option<bool>,
) -> Response {
    match state
        .prompt
        .render(config, languages, gpc, (state.clock)(), None)
        .await
    {
        Ok(r) => page(inline(&html, &r.fragment)),
        Err(_) => page(html),
    }
}

#[derive(Deserialize)]
pub struct DemoQuery {
    customer: Option<String>,
}

/// The demo checkout's config for a patron, built from `demo-config.json`
/// exactly as `static/demo.js` builds it with its controls untouched
/// (individual questions, English, light theme, online, answers optional),
/// with the patron's stored preferences added as the page adds them.
fn demo_config(
    dist: &Path,
    customer_id: &str,
    saved: Vec<consent_core::wire::PreferenceV1>,
) -> Option<WidgetConfig> {
    let text = std::fs::read_to_string(dist.join("demo-config.json")).ok()?;
    let mut v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let o = v.as_object_mut()?;
    o.insert("customerId".into(), customer_id.into());
    o.insert("mode".into(), "individual".into());
    o.insert("locale".into(), "en-GB".into());
    o.insert("requireAnswer".into(), false.into());
    o.insert("theme".into(), serde_json::json!({ "preset": "light" }));
    o.remove("generalNotice");
    o.insert("channel".into(), "web".into());
    let saved = serde_json::to_value(saved).ok()?;
    if let (Some(list), Some(more)) = (
        o.get_mut("preferences").and_then(|p| p.as_array_mut()),
        saved.as_array(),
    ) {
        list.extend(more.iter().cloned());
    }
    let raw: ConfigV1 = serde_json::from_value(v).ok()?;
    validate(&raw).ok().map(|v| v.config)
}

/// `GET /` in demo mode: the demo checkout with its first question in the
/// HTML. Anything missing (no build, an unreadable config) falls back to
/// the page as built, which renders the prompt in the browser.
pub async fn demo_checkout(
    State(state): State<AppState>,
    Query(q): Query<DemoQuery>,
    headers: HeaderMap,
) -> Response {
    let dist = state.config.dist.clone();
    let Ok(html) = tokio::fs::read_to_string(dist.join("index.html")).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let customer = q
        .customer
        .filter(|c| !c.trim().is_empty() && c.len() <= consent_core::record::MAX_CUSTOMER_ID_BYTES)
        .unwrap_or_else(|| "C-1001".to_owned());
    let saved = match state.db.preferences(&customer).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "demo checkout: could not read preferences; rendering in the browser");
            return page(html);
        }
    };
    let Some(config) = demo_config(&dist, &customer, saved) else {
        return page(html);
    };
    rendered_page(&state, html, config, Vec::new(), gpc_header(&headers)).await
}

#[derive(Deserialize)]
struct FrameQuery {
    config: Option<String>,
}

/// A `?config=` path of the frame: a `.json` file the host serves from its
/// build directory, as `/…` or relative to the frame. Nothing else is read:
/// no other directory and no network.
fn frame_config_path(dist: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next()?;
    let rel = path
        .strip_prefix("/consent-prompt/")
        .or_else(|| path.strip_prefix('/'))
        .unwrap_or(path);
    let rel = Path::new(rel);
    let plain = !path.contains(':')
        && rel.extension().is_some_and(|e| e == "json")
        && rel.components().all(|c| matches!(c, Component::Normal(_)));
    plain.then(|| dist.join(rel))
}

/// `path` resolved (symlinks followed), if it is a file inside `dir`'s own
/// resolved path.
async fn inside_canonical(dir: &Path, path: &Path) -> Option<PathBuf> {
    let root = tokio::fs::canonicalize(dir).await.ok()?;
    let real = tokio::fs::canonicalize(path).await.ok()?;
    let is_file = tokio::fs::metadata(&real).await.ok()?.is_file();
    (is_file && real.starts_with(&root)).then_some(real)
}

/// `frame.html?config=<path>`: the iframe page with its first question,
/// for a config file the host serves (see [`frame_config_path`]). Without
/// `config` it is the file as built (cached like every asset), and the
/// parent's `init` brings the config.
pub async fn frame_page(State(state): State<AppState>, req: Request<Body>) -> Response {
    let dist = state.config.dist.clone();
    let wanted = Query::<FrameQuery>::try_from_uri(req.uri())
        .ok()
        .and_then(|q| q.0.config);
    let Some(path) = wanted.as_deref().and_then(|c| frame_config_path(&dist, c)) else {
        return serve_file(&dist, "/frame.html", req).await;
    };
    // Plain path components can still name a symlink that leads out of
    // the build: the file read is the canonical one, and only inside it.
    let Some(path) = inside_canonical(&dist, &path).await else {
        tracing::debug!("frame config outside the build directory; rendering in the browser");
        return serve_file(&dist, "/frame.html", req).await;
    };
    let Ok(html) = tokio::fs::read_to_string(dist.join("frame.html")).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let config = tokio::fs::read(&path)
        .await
        .ok()
        .and_then(|bytes| serde_json::from_slice::<ConfigV1>(&bytes).ok())
        .and_then(|raw| validate(&raw).ok());
    let Some(config) = config else {
        tracing::debug!(path = %path.display(), "frame config unreadable; rendering in the browser");
        return page(html);
    };
    let headers = req.headers();
    // As the browser picks: the config's locale, the frame page's own
    // `<html lang>`, then the patron's languages.
    let languages: Vec<String> = html_lang(&html)
        .into_iter()
        .chain(
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map(accept_language)
                .unwrap_or_default(),
        )
        .collect();
    let gpc = gpc_header(headers);
    rendered_page(&state, html, config.config, languages, gpc).await
}

/// The one field of the form `host.js` opens the frame with.
#[derive(Deserialize)]
struct FrameForm {
    /// `POST /api/v1/prompt/fragment`'s body, as JSON.
    request: String,
}

/// `POST frame.html`: the iframe page with its first question for the
/// parent's own config. `host.js` opens the frame with a form POST (a
/// navigation: no CORS, no preflight, no handshake before the render) whose
/// one field, `request`, holds the same JSON as the fragment endpoint's
/// body, with the same authorisation: the config's checkout token. The page
/// carries that config as a JSON data block, so the frame takes the
/// question over as soon as its module runs, before the parent's `init`.
/// Anything refused (the address's limit, no or a bad token, a bad config)
/// answers the frame as built, which then renders in the browser and
/// reports the problem, typed, through the handshake.
pub async fn frame_post(State(state): State<AppState>, req: Request<Body>) -> Response {
    let Ok(html) = tokio::fs::read_to_string(state.config.dist.join("frame.html")).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match frame_render(&state, req).await {
        Ok((fragment, config)) => {
            let settings = serde_json::json!({
                "allowedParentOrigins": state.config.frame_parent_origins()
            });
            let html = with_data(&inline(&html, &fragment), "consent-config", &config);
            let html = with_data(&html, "consent-frame", &settings.to_string());
            match state.prompt.inline_styles() {
                Some(styles) => {
                    let sized = at_body_end(&html, &format!("<script>{FRAME_SIZER}</script>\n"));
                    page(styles.apply(&sized))
                }
                None => page(html),
            }
        }
        Err(e) => {
            tracing::debug!(
                code = e.code,
                "frame render refused; the frame renders in the browser"
            );
            page(html)
        }
    }
}

/// The fragment and the config (as JSON) of a frame's form POST.
async fn frame_render(state: &AppState, req: Request<Body>) -> Result<(String, String), ApiError> {
    let (parts, body) = req.into_parts();
    let access = state.limits.check_request(&parts)?;
    let bytes = read_body(body, "send a smaller config").await?;
    let form: FrameForm = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "the frame's form must carry one field, request, holding the render request as JSON",
        )
    })?;
    let mut request: PromptRenderRequestV1 =
        parse_strictly(form.request.as_bytes(), "invalid_request")?;
    from_browser(&parts.headers, &mut request);
    let caller = checkout_caller(state, access, &request.config).await?;
    // The config exactly as the parent sent it (the strict parse above
    // has checked it), for the frame to mount with.
    let config = serde_json::from_str::<serde_json::Value>(&form.request)
        .ok()
        .and_then(|mut v| v.get_mut("config").map(serde_json::Value::take))
        .map(|c| c.to_string())
        .ok_or_else(|| ApiError::internal("reading the frame's config", &"no config"))?;
    let rendered = render_request(state, &parts.headers, caller, request).await?;
    Ok((rendered.fragment, config))
}

/// `page` with `json` as the data block `#id` at the end of its body, where
/// the frame's module reads it: the config (`consent-config`), and the
/// frame's settings (`consent-frame`, as `frame.json` has them, saving the
/// frame that request). A `<` is written `\u003c`, so no text in it can
/// close the element.
fn with_data(page: &str, id: &str, json: &str) -> String {
    let block = format!(
        "<script type=\"application/json\" id=\"{id}\">{}</script>\n",
        json.replace('<', "\\u003c")
    );
    at_body_end(page, &block)
}

/// `page` with `html` just before its `</body>` (at its end if it has none).
fn at_body_end(page: &str, html: &str) -> String {
    match page.rfind("</body>") {
        Some(at) => format!("{}{html}{}", &page[..at], &page[at..]),
        None => format!("{page}{html}"),
    }
}

/// The `lang` of a page's `<html>` element, if it has one.
fn html_lang(page: &str) -> Option<String> {
    let start = page.find("<html")?;
    let tag = &page[start..start + page[start..].find('>')?];
    let value = tag.split("lang=\"").nth(1)?.split('"').next()?;
    (!value.is_empty()).then(|| value.to_owned())
}

/// One file of the build, served as the static routes serve it
/// (precompressed, by `Accept-Encoding`).
async fn serve_file(dist: &Path, file: &str, req: Request<Body>) -> Response {
    let (mut parts, body) = req.into_parts();
    parts.uri = match file.parse() {
        Ok(uri) => uri,
        Err(_) => return StatusCode::NOT_FOUND.into_response(),
    };
    let req = Request::from_parts(parts, body);
    match ServeDir::new(dist)
        .precompressed_br()
        .precompressed_gzip()
        .oneshot(req)
        .await
    {
        Ok(res) => res.map(Body::new),
        Err(never) => match never {},
    }
}

/// The renderer for a build directory: versioned asset paths when the
/// build wrote a manifest.
pub fn renderer_for(dist: &Path) -> Arc<PromptRenderer> {
    let manifest = crate::assets::AssetManifest::load(dist);
    let base = manifest
        .as_ref()
        .map(|m| format!("{}/", m.prefix()))
        .unwrap_or_else(|| "/consent-prompt/".to_owned());
    let integrity = manifest
        .as_ref()
        .and_then(|m| m.files.get("consent-prompt.css"))
        .map(|f| f.integrity.clone());
    Arc::new(
        PromptRenderer::new(base)
            .with_stylesheet_integrity(integrity)
            .with_inline_styles(InlineStyles::load(dist)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_bases_are_urls_or_paths_that_stay_in_their_attribute() {
        for good in [
            "/consent-prompt/0.1.0/",
            "https://cdn.example/cp/0.1.0/",
            "http://127.0.0.1:8080/consent-prompt/",
            "http://localhost:9000/",
            "http://[::1]:8080/cp/",
        ] {
            assert!(check_asset_base(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/consent-prompt",
            "//evil.example/",
            "javascript:alert(1)/",
            "http://cdn.example/",
            "/a\"><script>/",
            "/a b/",
            "http://localhost.evil.example/",
            "http://127.0.0.1.evil.example/",
            "http://localhost@evil.example/",
            "https://user:pw@cdn.example/",
            "http://evil.example/localhost/",
            "https://cdn.example/cp/?x=/",
            "ftp://cdn.example/",
        ] {
            assert!(check_asset_base(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_frame_config_is_a_json_file_inside_the_build() {
        let dist = Path::new("/srv/dist");
        assert_eq!(
            frame_config_path(dist, "/demo-config.json"),
            Some(dist.join("demo-config.json"))
        );
        assert_eq!(
            frame_config_path(dist, "/consent-prompt/configs/a.json?v=2"),
            Some(dist.join("configs/a.json"))
        );
        assert_eq!(
            frame_config_path(dist, "demo-config.json"),
            Some(dist.join("demo-config.json"))
        );
        for bad in [
            "/../secret.json",
            "/a/../../b.json",
            "/etc/passwd",
            "https://evil.example/c.json",
            "//evil.example/c.json",
            "/index.html",
        ] {
            assert_eq!(frame_config_path(dist, bad), None, "{bad}");
        }
    }

    #[test]
    fn a_pages_lang_is_read_from_its_html_element() {
        assert_eq!(
            html_lang("<!doctype html>\n<html lang=\"cy\">\n<head>").as_deref(),
            Some("cy")
        );
        assert_eq!(html_lang("<html><body lang=\"fr\">"), None);
        assert_eq!(html_lang("<p>no html element</p>"), None);
    }

    #[test]
    fn the_fragment_goes_inside_the_mount_point_once() {
        let page = "<main><div id=\"consent\"></div><div id=\"consent\"></div></main>";
        assert_eq!(
            inline(page, "<template>x</template>"),
            "<main><div id=\"consent\"><template>x</template></div><div id=\"consent\"></div></main>"
        );
        assert_eq!(inline("<main></main>", "x"), "<main></main>");
    }
}
