//! Reference host backend for Consent Prompt.
//!
//! Stores `consent-record/1` records in an append-only SQLite table, derives
//! each customer's current preferences from them, and serves the demo
//! checkout. The HTTP contract is `docs/openapi.yaml`.
//!
//! - [`router`] builds the whole app from an [`AppState`].
//! - [`Storage`] is the storage: SQLite ([`Db`], the default) or
//!   PostgreSQL ([`pg::PgStore`], `--database-url`); [`Config`] the
//!   command-line settings.

pub mod api;
// The storage, from its own crate; re-exported under the paths the host
// and its tests have always used.
pub use consent_store::{activity, backend, db, keys, ledger, pg, store};
pub mod assets;
pub mod auth;
pub mod check;
pub mod config;
pub mod error;
pub mod extract;
pub mod import;
pub mod limits;
pub mod prompt;
pub mod retention;
pub mod routes;
pub mod serve;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, State};
use axum::http::{header, HeaderName, HeaderValue, Method, Request, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use consent_core::Timestamp;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use auth::{Caller, Claims, TokenSigner, TokenVerifier};
pub use backend::{Backend, Missing};
pub use config::Config;
pub use db::Db;
pub use limits::WriteLimits;
pub use store::Storage;

/// The directives every static response's `Content-Security-Policy`
/// starts with; [`StaticCsp`] appends `frame-src` and `frame-ancestors`.
pub const STATIC_CSP: &str =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'";

/// The request paths of the iframe prompt, which only the configured frame
/// parents may embed.
pub const FRAME_HTML_PATHS: [&str; 2] = ["/consent-prompt/frame.html", "/frame.html"];

/// Whether `path` is the iframe prompt: one of [`FRAME_HTML_PATHS`], or
/// `frame.html` under a versioned `/consent-prompt/<version>/`.
pub fn is_frame_html(path: &str) -> bool {
    FRAME_HTML_PATHS.contains(&path)
        || path
            .strip_prefix("/consent-prompt/")
            .and_then(|rest| rest.strip_suffix("/frame.html"))
            .is_some_and(|version| !version.is_empty() && !version.contains('/'))
}

/// The request paths of the frame's settings (`{"allowedParentOrigins": [...]}`).
pub const FRAME_JSON_PATHS: [&str; 2] = ["/consent-prompt/frame.json", "/frame.json"];

/// The `Content-Security-Policy` values of static responses, computed once
/// from the [`Config`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticCsp {
    /// `frame.html`: may be framed by the frame parents only.
    pub frame: HeaderValue,
    /// Every other HTML page: may be framed by this origin only.
    pub page: HeaderValue,
    /// Everything else (scripts, wasm, styles, redirects, 404s).
    pub other: HeaderValue,
}

impl StaticCsp {
    /// [`STATIC_CSP`], then `frame-src 'self'` plus the host's loopback
    /// origins (so the demo's examples can frame the prompt across the
    /// `localhost`/`127.0.0.1` boundary), then `frame-ancestors` for pages:
    /// the frame parents for `frame.html` (`'none'` if there are none),
    /// `'self'` for every other page.
    ///
    /// `frame.html`'s policy also allows, by their hashes, the styles and
    /// the script the host writes into the frame page it renders
    /// ([`prompt::InlineStyles`], [`prompt::FRAME_SIZER`]), and nothing else
    /// inline.
    pub fn new(config: &Config, inline: Option<&prompt::InlineStyles>) -> Self {
        let mut frame_src = vec!["'self'".to_owned()];
        frame_src.extend(config.loopback_origins());
        let other = format!("{STATIC_CSP}; frame-src {}", frame_src.join(" "));
        let parents = config.frame_parent_origins();
        let ancestors = if parents.is_empty() {
            "'none'".to_owned()
        } else {
            parents.join(" ")
        };
        let framed = match inline {
            Some(inline) => {
                let styles = inline.style_sources().join(" ");
                let script = inline.script_source();
                STATIC_CSP
                    .replace("style-src 'self'", &format!("style-src 'self' {styles}"))
                    .replace(
                        "script-src 'self' 'wasm-unsafe-eval'",
                        &format!("script-src 'self' 'wasm-unsafe-eval' {script}"),
                    )
            }
            None => STATIC_CSP.to_owned(),
        };
        let framed = format!("{framed}; frame-src {}", frame_src.join(" "));
        StaticCsp {
            frame: csp_value(format!("{framed}; frame-ancestors {ancestors}")),
            page: csp_value(format!("{other}; frame-ancestors 'self'")),
            other: csp_value(other),
        }
    }

    /// The policy for a response to `path`.
    pub fn for_response(&self, path: &str, is_html: bool) -> &HeaderValue {
        if is_frame_html(path) {
            &self.frame
        } else if is_html {
            &self.page
        } else {
            &self.other
        }
    }
}

/// A policy as a header value. Every origin in it passed
/// [`config::parse_origin`], so it is always a valid value; should it not
/// be, the answer is a policy that allows nothing rather than none.
fn csp_value(policy: String) -> HeaderValue {
    HeaderValue::try_from(policy).unwrap_or_else(|e| {
        tracing::error!(error = %e, "unusable Content-Security-Policy; serving one that allows nothing");
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'")
    })
}

/// A source of "now", injected so tests control `receivedAt`.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(consent_store::wall_now)
}

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    /// The storage: SQLite or PostgreSQL.
    pub db: Arc<dyn Storage>,
    pub clock: Clock,
    pub config: Arc<Config>,
    /// Verifies checkout tokens.
    pub tokens: Arc<TokenVerifier>,
    /// Signs the demo's own tokens; `Some` only with `--demo`.
    pub demo_signer: Option<Arc<TokenSigner>>,
    pub limits: Arc<WriteLimits>,
    /// Renders the prompt on the server.
    pub prompt: Arc<prompt::PromptRenderer>,
    /// Delivers the venue's webhook events; `Some` with `--webhook-url`.
    pub webhooks: Option<Arc<webhooks::Webhooks>>,
}

impl AppState {
    /// State with the wall clock. Fails when the config gives no way to
    /// verify checkout tokens (and is not the demo), or a bad key.
    pub fn new(db: impl Into<Arc<dyn Storage>>, config: Config) -> Result<Self, auth::KeyError> {
        let mut secret = config
            .token_secret
            .as_ref()
            .map(|s| s.0.as_bytes().to_vec());
        if config.demo && secret.is_none() && config.token_public_key.is_none() {
            let mut random = vec![0u8; 32];
            getrandom::fill(&mut random)
                .map_err(|e| auth::KeyError(format!("no randomness for the demo secret: {e}")))?;
            secret = Some(random);
        }
        let public_key =
            match &config.token_public_key {
                Some(k) if k.trim_start().starts_with("-----BEGIN") => Some(k.clone()),
                Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                    auth::KeyError(format!("reading --token-public-key {path}: {e}"))
                })?),
                None => None,
            };
        let venue = config.venue_id().map_err(auth::KeyError)?.to_owned();
        let tokens = TokenVerifier::new(
            secret.as_deref(),
            public_key.as_deref(),
            auth::TokenRules {
                venue,
                leeway: Duration::from_secs(config.token_leeway_secs),
                max_lifetime: Duration::from_secs(config.token_max_lifetime_secs),
            },
        )?;
        let demo_signer = match (&secret, config.demo) {
            (Some(s), true) => Some(Arc::new(TokenSigner::hs256(s))),
            _ => None,
        };
        let webhooks = match config.webhook.receiver() {
            Err(problems) => return Err(auth::KeyError(problems.join("\n"))),
            Ok(None) => None,
            Ok(Some((url, secret))) => Some(Arc::new(
                webhooks::Webhooks::new(webhooks::WebhookSettings::new(
                    url,
                    secret,
                    Duration::from_secs(config.webhook.timeout_secs),
                ))
                .map_err(auth::KeyError)?,
            )),
        };
        let db: Arc<dyn Storage> = db.into();
        db.set_webhooks(webhooks.is_some());
        Ok(AppState {
            webhooks,
            db,
            clock: system_clock(),
            limits: Arc::new(WriteLimits::with(limits::RateSettings {
                writes_per_token: config.write_rate_per_token,
                writes_per_address: config.write_rate_per_address,
                reads_per_credential: config.read_rate_per_credential,
                reads_per_address: config.read_rate_per_address,
            })),
            prompt: prompt::renderer_for(&config.dist),
            config: Arc::new(config),
            tokens: Arc::new(tokens),
            demo_signer,
        })
    }

    /// Replaces the webhook settings (tests: a faster retry).
    pub fn with_webhooks(mut self, settings: webhooks::WebhookSettings) -> Result<Self, String> {
        self.webhooks = Some(Arc::new(webhooks::Webhooks::new(settings)?));
        self.db.set_webhooks(true);
        Ok(self)
    }

    /// Starts delivering webhook events, when there is a receiver: the
    /// worker runs until the returned task is aborted.
    pub fn start_webhooks(&self) -> Option<tokio::task::JoinHandle<()>> {
        let webhooks = self.webhooks.clone()?;
        Some(tokio::spawn(webhooks.run(self.db.clone())))
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

/// Lowercase hex SHA-256 of a string's UTF-8 bytes.
pub fn sha256_hex(text: &str) -> String {
    consent_store::sha256_hex(text)
}

/// The whole app: the API, `/healthz` and the static demo.
pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let api = Router::new()
        .route("/v1/consent-records", post(routes::records::post_records))
        .route(
            "/v1/customers/{customer_id}/preferences",
            get(routes::customers::get_preferences),
        )
        .route(
            "/v1/customers/{customer_id}/consent-records",
            get(routes::customers::get_records),
        )
        .route(
            "/v1/customers/{customer_id}",
            delete(routes::customers::delete_customer),
        )
        .route(
            "/v1/customers/{customer_id}/receipt",
            get(routes::customers::get_receipt),
        )
        .route(
            "/v1/partners/{partner_id}/contacts",
            get(routes::partners::get_partner_contacts),
        )
        .route(
            "/v1/partners/{partner_id}/summary",
            get(routes::partners::get_partner_summary),
        )
        .route(
            "/v1/partners/{partner_id}/suppressions",
            get(routes::suppressions::get_suppressions),
        )
        .route(
            "/v1/customers/{customer_id}/activity",
            post(routes::customers::post_activity),
        )
        .route(
            "/v1/customers/{customer_id}/contact",
            get(routes::customers::get_contact).put(routes::customers::put_contact),
        )
        .route("/v1/ledger/head", get(routes::ledger::get_ledger_head))
        .route("/v1/prompt/render", post(prompt::post_render))
        .route("/v1/prompt/fragment", post(prompt::post_fragment))
        .route("/v1/studio/check", post(routes::studio::post_check))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(DefaultBodyLimit::max(api::MAX_BODY_BYTES))
        .layer(cors_layer(&config));

    let mut app = Router::new()
        .route("/healthz", get(api::healthz))
        .route("/demo/token", post(routes::demo::post_demo_token));
    let manifest = assets::AssetManifest::load(&config.dist);
    let versioned_frame_json = manifest
        .as_ref()
        .map(|m| format!("{}/frame.json", m.prefix()));
    for path in FRAME_JSON_PATHS
        .iter()
        .copied()
        .chain(versioned_frame_json.as_deref())
    {
        // An explicit route: it wins over a `frame.json` file in the dist.
        app = app.route(path, get(api::frame_settings));
    }
    app.nest("/api", api)
        .merge(static_routes(&config, manifest, &state.prompt))
        .layer(CatchPanicLayer::custom(api::panic_response))
        // Bounds on what a client controls: a request (body included) gets
        // a fixed time, and a body that trickles in is cut off.
        .layer(RequestBodyTimeoutLayer::new(Duration::from_secs(
            config.request_timeout_secs,
        )))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(config.request_timeout_secs),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let route = route_for_logs(req);
                    tracing::info_span!("request", method = %req.method(), route = %route)
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// The route template (`/api/v1/customers/{customer_id}/preferences`),
/// never the raw path, so customer ids stay out of logs.
fn route_for_logs<B>(req: &Request<B>) -> String {
    if let Some(matched) = req.extensions().get::<MatchedPath>() {
        return matched.as_str().to_owned();
    }
    // An unmatched path is whatever a client sent (a customer id, an
    // email in a probe): logged by its kind only.
    let path = req.uri().path();
    if path.starts_with("/api/") {
        "/api/(unmatched)".to_owned()
    } else if path.starts_with("/consent-prompt/") {
        "/consent-prompt/(asset)".to_owned()
    } else {
        "(static)".to_owned()
    }
}

/// CORS for the configured origins only, matched exactly. With none
/// configured no origin matches, so browsers allow same-origin calls only.
fn cors_layer(config: &Config) -> CorsLayer {
    let origins: Vec<HeaderValue> = config
        .origins()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let headers: Vec<HeaderName> = config
        .cors_headers()
        .filter_map(|h| HeaderName::try_from(h).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers(headers)
        .expose_headers([header::RETRY_AFTER, header::WWW_AUTHENTICATE])
        .allow_credentials(config.allow_credentials)
        .max_age(std::time::Duration::from_secs(600))
}

/// A directory served with its brotli and gzip copies by `Accept-Encoding`.
fn precompressed(dir: &std::path::Path) -> ServeDir {
    ServeDir::new(dir).precompressed_br().precompressed_gzip()
}

/// The demo at `/`, the widget at `/consent-prompt/` and
/// `/consent-prompt/<version>/`, the examples at `/examples/`.
fn static_routes(
    config: &Config,
    manifest: Option<assets::AssetManifest>,
    prompt: &prompt::PromptRenderer,
) -> Router<AppState> {
    let mut routes = Router::new()
        .route(
            "/partners",
            get(|| async { axum::response::Redirect::permanent("/partners/") }),
        )
        .route("/partners/", get(pages::partners))
        .route("/partners/partners.js", get(pages::partners_js))
        .route("/pages.css", get(pages::style))
        .route(
            "/studio",
            get(|| async { axum::response::Redirect::permanent("/studio/") }),
        )
        .route("/studio/", get(pages::studio))
        .route("/studio/studio.js", get(pages::studio_js))
        .route("/studio/studio.css", get(pages::studio_css));
    // The iframe page, server-rendered when given `?config=` or opened by
    // `host.js`'s form POST with the parent's config.
    let versioned_frame_html = manifest
        .as_ref()
        .map(|m| format!("{}/frame.html", m.prefix()));
    for path in FRAME_HTML_PATHS
        .iter()
        .copied()
        .chain(versioned_frame_html.as_deref())
    {
        routes = routes.route(path, get(prompt::frame_page).post(prompt::frame_post));
    }
    // The demo checkout, its first question rendered on the server. A
    // host without --demo serves none: the dist's `index.html` is the
    // demo's page, so neither `/` nor the widget's directories serve it
    // (they answer 404 with the API's JSON error).
    if config.demo {
        routes = routes
            .route("/", get(prompt::demo_checkout))
            .route("/index.html", get(prompt::demo_checkout));
    } else {
        routes = routes.route("/", get(no_page));
        let versioned = manifest.as_ref().map(assets::AssetManifest::prefix);
        for dir in ["", "/consent-prompt"]
            .into_iter()
            .chain(versioned.as_deref())
        {
            routes = routes.route(&format!("{dir}/index.html"), get(no_page));
        }
    }
    // Without --demo a directory is not answered with its `index.html`.
    let dist = || precompressed(&config.dist).append_index_html_on_directories(config.demo);
    routes = routes
        .nest_service(
            "/consent-prompt",
            dist().redirect_path_prefix("/consent-prompt"),
        )
        .fallback_service(dist());
    if let Some(m) = &manifest {
        let prefix = m.prefix();
        routes = routes.nest_service(&prefix, dist().redirect_path_prefix(&prefix));
    }
    if config.examples.is_dir() {
        routes = routes.nest_service(
            "/examples",
            ServeDir::new(&config.examples).redirect_path_prefix("/examples"),
        );
    }
    routes
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(manifest),
            assets::asset_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(StaticCsp::new(config, prompt.inline_styles())),
            set_static_csp,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

/// `/` of a host without `--demo`: 404 with the API's JSON error, saying
/// where the API is.
async fn no_page() -> error::ApiError {
    error::ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "this host serves the Consent Prompt API under /api/v1/; there is no page here",
    )
}

/// The pages built into the host, each an HTML page with its script and
/// stylesheet (no inline code, so the static CSP holds):
/// - the partner portal, `/partners/`: a partner company signs in with its
///   key, sees its name and its contacts by channel, downloads them (CSV
///   or JSON, filtered by channel and date), reads its suppression feed,
///   and signs out;
/// - the prompt studio, `/studio/`: a venue themes and words its prompt
///   on the real widget in every state, with every colour pair's contrast
///   checked (`POST /api/v1/studio/check`: an admin key, or a demo host).
mod pages {
    use axum::http::header;
    use axum::response::IntoResponse;

    fn asset(kind: &'static str, body: &'static str) -> impl IntoResponse {
        ([(header::CONTENT_TYPE, kind)], body)
    }

    const HTML: &str = "text/html; charset=utf-8";
    const JS: &str = "text/javascript; charset=utf-8";
    const CSS: &str = "text/css; charset=utf-8";

    pub async fn partners() -> impl IntoResponse {
        asset(HTML, include_str!("../assets/partners/index.html"))
    }

    pub async fn partners_js() -> impl IntoResponse {
        asset(JS, include_str!("../assets/partners/partners.js"))
    }

    /// The look both pages share.
    pub async fn style() -> impl IntoResponse {
        asset(CSS, include_str!("../assets/pages.css"))
    }

    pub async fn studio() -> impl IntoResponse {
        asset(HTML, include_str!("../assets/studio/index.html"))
    }

    pub async fn studio_js() -> impl IntoResponse {
        asset(JS, include_str!("../assets/studio/studio.js"))
    }

    pub async fn studio_css() -> impl IntoResponse {
        asset(CSS, include_str!("../assets/studio/studio.css"))
    }
}

/// Sets the `Content-Security-Policy` of a static response, chosen by the
/// request path and whether the answer is HTML.
async fn set_static_csp(
    State(csp): State<Arc<StaticCsp>>,
    req: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let mut res = next.run(req).await;
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("text/html"));
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        csp.for_response(&path, is_html).clone(),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_text() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
