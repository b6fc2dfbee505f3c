//! Command-line flags and environment variables.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use clap::Parser;

/// Request headers a browser may always send cross-origin to the API.
pub const BASE_ALLOWED_HEADERS: [&str; 3] = ["content-type", "idempotency-key", "authorization"];

/// A secret given on the command line or in the environment: never
/// printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// The venue's webhook receiver: signed POSTs of `consent.recorded`,
/// `consent.withdrawn` and `customer.erased` (see `crate::webhooks`).
#[derive(Clone, Debug, Default, PartialEq, Eq, clap::Args)]
pub struct WebhookArgs {
    /// The venue's receiver: https (or http on a loopback address).
    #[arg(long = "webhook-url", env = "CONSENT_WEBHOOK_URL")]
    pub url: Option<String>,
    /// The HMAC-SHA256 key of `Consent-Signature` (at least 32 bytes).
    #[arg(
        long = "webhook-secret",
        env = "CONSENT_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub secret: Option<Secret>,
    /// How long one delivery may take before it counts as failed.
    #[arg(long = "webhook-timeout-secs", env = "CONSENT_WEBHOOK_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub timeout_secs: u64,
}

/// The shortest webhook secret accepted, in bytes.
pub const MIN_WEBHOOK_SECRET_BYTES: usize = 32;

impl WebhookArgs {
    /// The receiver and its key, or none; every problem at once, each
    /// naming its flag.
    pub fn receiver(&self) -> Result<Option<(reqwest::Url, Vec<u8>)>, Vec<String>> {
        let url = self.url.as_deref().map(str::trim).filter(|u| !u.is_empty());
        let secret = self.secret.as_ref().map(|s| s.0.as_bytes().to_vec());
        let mut problems = Vec::new();
        let parsed = match url {
            None => None,
            Some(raw) => match reqwest::Url::parse(raw) {
                Err(e) => {
                    problems.push(format!(
                        "--webhook-url (CONSENT_WEBHOOK_URL): not a URL: {e}"
                    ));
                    None
                }
                Ok(u) if u.scheme() == "https" => Some(u),
                Ok(u) if u.scheme() == "http" && is_loopback_host(&u) => Some(u),
                Ok(_) => {
                    problems.push(
                        "--webhook-url (CONSENT_WEBHOOK_URL): must be https (http only on a loopback address): events name patrons".to_owned(),
                    );
                    None
                }
            },
        };
        match (&url, &secret) {
            (Some(_), None) => problems.push(
                "--webhook-secret (CONSENT_WEBHOOK_SECRET): required with --webhook-url, so the receiver can check each event came from this host".to_owned(),
            ),
            (None, Some(_)) => problems.push(
                "--webhook-url (CONSENT_WEBHOOK_URL): required with --webhook-secret".to_owned(),
            ),
            _ => {}
        }
        if let Some(s) = &secret {
            if s.len() < MIN_WEBHOOK_SECRET_BYTES {
                problems.push(format!(
                    "--webhook-secret (CONSENT_WEBHOOK_SECRET): {} bytes; at least {MIN_WEBHOOK_SECRET_BYTES}",
                    s.len()
                ));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(parsed.zip(secret))
    }
}

fn is_loopback_host(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The SQLite file the host and its commands use unless told otherwise.
pub const DEFAULT_DB: &str = "./data/consent.db";

/// Which database: the serving host and every command take these two
/// flags, declared once here and global, so they may stand before or
/// after a command (`consent-host keys add --db FILE …`).
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct StorageArgs {
    /// SQLite database file. The host creates it (and its parent
    /// directory) when missing; the commands refuse a missing file
    /// (`keys add --create` makes one).
    #[arg(long = "db", env = "DATABASE_PATH", default_value = DEFAULT_DB, global = true)]
    pub db: PathBuf,

    /// PostgreSQL instead of the SQLite file, e.g.
    /// `postgres://consent@db.internal/consent`: several host instances may
    /// share one database. Never logged (it may hold a password).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<Secret>,
}

impl Default for StorageArgs {
    fn default() -> Self {
        StorageArgs {
            db: PathBuf::from(DEFAULT_DB),
            database_url: None,
        }
    }
}

impl StorageArgs {
    /// The database to open: `--database-url` if given, else the `--db` file.
    pub fn backend(&self) -> crate::backend::Backend {
        crate::backend::Backend::choose(
            self.db.clone(),
            self.database_url.as_ref().map(|s| s.0.clone()),
        )
    }
}

impl Config {
    /// The database to open: `--database-url` if given, else the `--db` file.
    pub fn backend(&self) -> crate::backend::Backend {
        self.storage.backend()
    }
}

/// The reference host's settings. Every flag also reads an environment variable.
#[derive(Clone, Debug, PartialEq, Eq, Parser)]
#[command(
    name = "consent-host",
    version,
    about = "Reference host backend for Consent Prompt: stores consent records in SQLite or PostgreSQL and serves the API (and, with --demo, the demo)."
)]
pub struct Config {
    /// TCP port to listen on (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// Address to bind.
    #[arg(long, env = "BIND", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,

    #[command(flatten)]
    pub storage: StorageArgs,

    /// Comma-separated origins allowed to call the API cross-origin, e.g.
    /// `https://tickets.example,https://boxoffice.example`. Exact matches only; no wildcard.
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub allowed_origins: Vec<String>,

    /// Comma-separated extra request headers the embedding page may send
    /// cross-origin (each must start with `x-`). `content-type` and
    /// `idempotency-key` are always allowed.
    #[arg(
        long,
        env = "ALLOWED_HEADERS",
        value_delimiter = ',',
        value_parser = parse_x_header,
        default_value = "x-csrf-token,x-xsrf-token,x-requested-with"
    )]
    pub allowed_headers: Vec<String>,

    /// Answer cross-origin requests from the allowed origins with
    /// `Access-Control-Allow-Credentials: true` (for `credentials: "include"`).
    #[arg(long, env = "CORS_ALLOW_CREDENTIALS")]
    pub allow_credentials: bool,

    /// The built widget, served under `/consent-prompt/` (and, with
    /// --demo, the demo checkout at `/`).
    #[arg(long, env = "DIST_DIR", default_value = "./dist")]
    pub dist: PathBuf,

    /// Embedding examples, served under `/examples/` when the directory exists.
    #[arg(long, env = "EXAMPLES_DIR", default_value = "./examples")]
    pub examples: PathBuf,

    /// Comma-separated origins of the pages allowed to embed
    /// `/consent-prompt/frame.html` and to talk to it by postMessage, e.g.
    /// `https://tickets.example`. Exact matches only; no wildcard. When
    /// empty, the host's own loopback origins (`http://localhost:PORT` and
    /// `http://127.0.0.1:PORT`, with the bound port) are allowed instead.
    #[arg(long = "frame-parents", env = "FRAME_PARENT_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub frame_parents: Vec<String>,

    /// The origin patrons' browsers reach this host at, e.g.
    /// `https://consent.riverside.example`. A render asked for by a page on
    /// another origin (`POST /api/v1/prompt/render` without `assetBase`)
    /// links its stylesheet under it, so the first paint is styled on the
    /// venue's origin. When unset, the request's own `Host` is used
    /// (`https://`, or `http://` for a loopback host).
    #[arg(long = "public-origin", env = "CONSENT_PUBLIC_ORIGIN", value_parser = parse_origin)]
    pub public_origin: Option<String>,

    /// The explicit demo mode: checkout tokens are verified with
    /// CONSENT_TOKEN_SECRET if set, otherwise with a random secret made at
    /// start-up, and `POST /demo/token` mints tokens for the demo's own
    /// pages. Never in production: anyone who can reach the host can mint.
    #[arg(long, env = "CONSENT_DEMO")]
    pub demo: bool,

    /// The one venue this host serves: its `venue.id`, and the `iss` of
    /// every checkout token it accepts (a token for any other venue is
    /// refused). Required, except with --demo, where it defaults to the
    /// demo's venue (`riverside`). Venues never share a host: each runs
    /// its own, with its own database and token key.
    #[arg(long, env = "CONSENT_VENUE")]
    pub venue: Option<String>,

    /// Where the venue's systems hear of records, withdrawals and erasures.
    #[command(flatten)]
    pub webhook: WebhookArgs,

    /// HS256 secret that verifies checkout tokens (at least 32 bytes).
    #[arg(long, env = "CONSENT_TOKEN_SECRET", hide_env_values = true)]
    pub token_secret: Option<Secret>,

    /// Ed25519 public key that verifies EdDSA checkout tokens: PEM text, or
    /// the path of a PEM file.
    #[arg(long, env = "CONSENT_TOKEN_PUBLIC_KEY")]
    pub token_public_key: Option<String>,

    /// Seconds of clock difference allowed when checking a token's expiry.
    #[arg(long, env = "CONSENT_TOKEN_LEEWAY_SECS", default_value_t = 60)]
    pub token_leeway_secs: u64,

    /// The longest lifetime a checkout token may have, from `iat` to `exp`,
    /// in seconds (a checkout token is short-lived; at most a day).
    #[arg(long, env = "CONSENT_TOKEN_MAX_LIFETIME_SECS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(60..=86_400))]
    pub token_max_lifetime_secs: u64,

    /// Record batches a checkout token may post per minute.
    #[arg(long, env = "WRITE_RATE_PER_TOKEN", default_value_t = 60)]
    pub write_rate_per_token: u32,

    /// Record batches one client address may post per minute (a box office
    /// or a shared network sends many patrons' records from one address).
    #[arg(long, env = "WRITE_RATE_PER_ADDRESS", default_value_t = 600)]
    pub write_rate_per_address: u32,

    /// Open connections at most; more are closed at once.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,

    /// Open connections one client address may hold at once (behind a
    /// reverse proxy every client shares its address: raise it there).
    #[arg(long, env = "MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 64)]
    pub max_connections_per_address: usize,

    /// Authenticated reads (GET) one API key or checkout token may make
    /// per minute.
    #[arg(long, env = "READ_RATE_PER_CREDENTIAL", default_value_t = 600)]
    pub read_rate_per_credential: u32,

    /// Authenticated reads (GET) one client address may make per minute.
    #[arg(long, env = "READ_RATE_PER_ADDRESS", default_value_t = 1200)]
    pub read_rate_per_address: u32,

    /// Seconds a client has to send its request headers.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,

    /// Seconds a request may take, body included, before it is answered 408.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// Seconds a partner export (JSON or CSV) may stream before it is cut
    /// short; its database reader and snapshot are released then, or as
    /// soon as the client goes away.
    #[arg(long, env = "EXPORT_TIMEOUT_SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub export_timeout_secs: u64,

    /// Seconds in-flight requests get to finish at shutdown.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,

    /// Seconds between ledger checkpoint lines in the log (0: only at
    /// start-up and shutdown).
    #[arg(long, env = "CHECKPOINT_INTERVAL_SECS", default_value_t = 3600)]
    pub checkpoint_interval_secs: u64,

    /// The port actually bound, set by `main` once the listener is bound
    /// (it differs from `port` when that is `0`). Not a flag. When `None`,
    /// [`Config::listen_port`] falls back to `port`.
    #[arg(skip)]
    pub bound_port: Option<u16>,
}

impl Default for Config {
    /// The documented defaults, without reading the environment.
    fn default() -> Self {
        Config {
            port: 8080,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            storage: StorageArgs::default(),
            allowed_origins: Vec::new(),
            allowed_headers: ["x-csrf-token", "x-xsrf-token", "x-requested-with"]
                .map(String::from)
                .to_vec(),
            allow_credentials: false,
            dist: PathBuf::from("./dist"),
            examples: PathBuf::from("./examples"),
            frame_parents: Vec::new(),
            public_origin: None,
            demo: false,
            token_secret: None,
            token_public_key: None,
            token_leeway_secs: 60,
            token_max_lifetime_secs: 86_400,
            venue: None,
            write_rate_per_token: 60,
            write_rate_per_address: 600,
            max_connections: 512,
            max_connections_per_address: 64,
            read_rate_per_credential: 600,
            read_rate_per_address: 1200,
            header_read_timeout_secs: 10,
            request_timeout_secs: 30,
            export_timeout_secs: 600,
            shutdown_grace_secs: 10,
            checkpoint_interval_secs: 3600,
            webhook: WebhookArgs::default(),
            bound_port: None,
        }
    }
}

/// The venue the demo's pages are for (`static/demo-config.json`).
pub const DEMO_VENUE: &str = "riverside";

impl Config {
    /// The venue this host serves: `--venue`, or in demo mode the demo's.
    pub fn venue_id(&self) -> Result<&str, String> {
        match (self.venue.as_deref().map(str::trim), self.demo) {
            (Some(v), _) if !v.is_empty() && v.len() <= 256 => Ok(v),
            (Some(_), _) => Err("--venue (CONSENT_VENUE) must be 1 to 256 bytes".into()),
            (None, true) => Ok(DEMO_VENUE),
            (None, false) => Err(
                "no venue: set --venue (CONSENT_VENUE) to the venue id this host serves; each venue runs its own host"
                    .into(),
            ),
        }
    }

    /// The allowed origins, without the empty entries an empty
    /// `ALLOWED_ORIGINS=` or a stray comma leaves.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.allowed_origins
            .iter()
            .map(String::as_str)
            .filter(|o| !o.is_empty())
    }

    /// The port the host listens on: the bound one when known, else the
    /// configured one. `None` when neither is known (`--port 0` before binding).
    pub fn listen_port(&self) -> Option<u16> {
        self.bound_port.or(Some(self.port)).filter(|&p| p != 0)
    }

    /// The origin to link the widget's files under in a render for another
    /// origin: `--public-origin`, else the request's `Host` (a plain
    /// `host[:port]`, checked as an origin is), `http://` only for a
    /// loopback host. `None` when neither gives one: the link stays a path.
    pub fn public_origin_for(&self, host: Option<&str>) -> Option<String> {
        if let Some(o) = self.public_origin.as_deref().filter(|o| !o.is_empty()) {
            return parse_origin(o).ok();
        }
        let host = host?.trim().to_ascii_lowercase();
        let name = host.rsplit_once(':').map_or(host.as_str(), |(n, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) && !n.ends_with('[') {
                n
            } else {
                host.as_str()
            }
        });
        let scheme = if matches!(name, "localhost" | "127.0.0.1" | "[::1]") {
            "http"
        } else {
            "https"
        };
        parse_origin(&format!("{scheme}://{host}"))
            .ok()
            .filter(|o| !o.is_empty())
    }

    /// The two loopback spellings of the host's own origin,
    /// `http://localhost:PORT` and `http://127.0.0.1:PORT`; none when the
    /// port is not known.
    pub fn loopback_origins(&self) -> Vec<String> {
        self.listen_port()
            .map(|p| {
                vec![
                    format!("http://localhost:{p}"),
                    format!("http://127.0.0.1:{p}"),
                ]
            })
            .unwrap_or_default()
    }

    /// The origins allowed to embed `frame.html`: the configured frame
    /// parents (duplicates dropped, order kept), or, when none is
    /// configured, the host's loopback origins. Empty only when the port is
    /// not known or no configured entry is a valid origin.
    pub fn frame_parent_origins(&self) -> Vec<String> {
        let mut entries = self
            .frame_parents
            .iter()
            .filter(|o| !o.is_empty())
            .peekable();
        if entries.peek().is_none() {
            return self.loopback_origins();
        }
        let mut origins: Vec<String> = Vec::new();
        for entry in entries {
            // Checked again: the field is public, and these go into a
            // header, so an entry set without the flag's parser (and with,
            // say, a `;`) must not reach it. Dropped, never replaced.
            match parse_origin(entry) {
                Ok(origin) if !origins.contains(&origin) => origins.push(origin),
                Ok(_) => {}
                Err(e) => tracing::error!("ignoring a frame parent: {e}"),
            }
        }
        origins
    }

    /// Every request header allowed cross-origin: the base ones and the extras.
    pub fn cors_headers(&self) -> impl Iterator<Item = &str> {
        BASE_ALLOWED_HEADERS.into_iter().chain(
            self.allowed_headers
                .iter()
                .map(String::as_str)
                .filter(|h| !h.is_empty()),
        )
    }
}

/// An origin as browsers send it: `scheme://host[:port]`, lowercase scheme
/// and host, no path, no trailing slash. An empty entry is kept as `""` and
/// ignored by [`Config::origins`].
pub fn parse_origin(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(String::new());
    }
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| format!("{s:?} is not an origin: it must start with https:// or http://"))?;
    let valid_host_port = !rest.is_empty()
        && rest.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
        });
    if !valid_host_port {
        return Err(format!(
            "{s:?} is not an origin: expected scheme://host[:port] in lowercase, with no path, no trailing slash and no wildcard"
        ));
    }
    Ok(s.to_owned())
}

/// A custom request header name, `x-` followed by token characters. An
/// empty entry is kept as `""` and ignored by [`Config::cors_headers`].
pub fn parse_x_header(raw: &str) -> Result<String, String> {
    let s = raw.trim().to_ascii_lowercase();
    if s.is_empty() {
        return Ok(s);
    }
    let token = s.len() > 2
        && s.starts_with("x-")
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if token {
        Ok(s)
    } else {
        Err(format!(
            "{raw:?} is not allowed: extra headers must be named x-something"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse() {
        let c = Config::try_parse_from([
            "consent-host",
            "--port",
            "0",
            "--bind",
            "0.0.0.0",
            "--db",
            "/tmp/x.db",
            "--allowed-origins",
            "https://tickets.example, http://localhost:3000",
            "--allowed-headers",
            "X-CSRF-Token",
            "--allow-credentials",
        ])
        .unwrap();
        assert_eq!(c.port, 0);
        assert_eq!(c.bind, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(c.storage.db, PathBuf::from("/tmp/x.db"));
        assert_eq!(
            c.allowed_origins,
            ["https://tickets.example", "http://localhost:3000"]
        );
        assert_eq!(c.allowed_headers, ["x-csrf-token"]);
        assert!(c.allow_credentials);
        assert_eq!(
            c.cors_headers().collect::<Vec<_>>(),
            [
                "content-type",
                "idempotency-key",
                "authorization",
                "x-csrf-token"
            ]
        );
    }

    #[test]
    fn empty_lists_mean_none() {
        let c = Config::try_parse_from([
            "consent-host",
            "--allowed-origins",
            "",
            "--allowed-headers",
            "",
        ])
        .unwrap();
        assert_eq!(c.origins().count(), 0);
        assert_eq!(c.cors_headers().collect::<Vec<_>>(), BASE_ALLOWED_HEADERS);
        let c = Config::try_parse_from(["consent-host", "--allowed-origins", "https://a.example,"])
            .unwrap();
        assert_eq!(c.origins().collect::<Vec<_>>(), ["https://a.example"]);
    }

    #[test]
    fn bad_origins_are_refused() {
        for bad in [
            "*",
            "tickets.example",
            "https://tickets.example/",
            "https://Tickets.example",
            "https://*.example",
        ] {
            assert!(parse_origin(bad).is_err(), "accepted {bad:?}");
        }
        assert_eq!(
            parse_origin("https://[::1]:8443").as_deref(),
            Ok("https://[::1]:8443")
        );
    }

    #[test]
    fn frame_parents_fall_back_to_the_loopback_origins_of_the_bound_port() {
        let mut c = Config::default();
        assert_eq!(c.listen_port(), Some(8080));
        c.bound_port = Some(5173);
        assert_eq!(
            c.frame_parent_origins(),
            ["http://localhost:5173", "http://127.0.0.1:5173"]
        );
        c.frame_parents = vec![
            "https://b.example".to_owned(),
            "https://a.example".to_owned(),
        ];
        assert_eq!(
            c.frame_parent_origins(),
            ["https://b.example", "https://a.example"]
        );
        c.port = 0;
        c.bound_port = None;
        assert_eq!(c.listen_port(), None);
        assert!(c.loopback_origins().is_empty());
    }

    #[test]
    fn frame_parents_set_without_the_parser_are_checked_again() {
        // Set in code, bypassing `parse_origin`: an entry that would inject a
        // directive is dropped, and dropping it does not bring the loopback
        // origins back.
        let c = Config {
            frame_parents: vec!["https://a.example; script-src *".to_owned()],
            ..Config::default()
        };
        assert!(c.frame_parent_origins().is_empty());
        let c = Config {
            frame_parents: vec!["*".to_owned(), "https://a.example".to_owned()],
            ..Config::default()
        };
        assert_eq!(c.frame_parent_origins(), ["https://a.example"]);
    }

    #[test]
    fn only_x_headers_are_extra() {
        assert!(parse_x_header("authorization").is_err());
        assert!(parse_x_header("x-").is_err());
        assert!(parse_x_header("x-a b").is_err());
        assert_eq!(
            parse_x_header(" X-Requested-With ").as_deref(),
            Ok("x-requested-with")
        );
    }
}
