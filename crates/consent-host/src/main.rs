//! `consent-host`: the reference backend (and, with `--demo`, the demo
//! server), and its admin commands (`keys`, `verify`, `retention`,
//! `erasures list`), and `check-config`, a venue's widget config checked
//! as the widget reads it. Only serving creates a database; the commands
//! refuse one that does not exist (`keys add --create` makes an empty one).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use consent_host::keys::{KeySpec, Role};
use consent_host::ledger::VerifyError;
use consent_host::retention::ReportFile;
use consent_host::serve::{serve, ServeLimits};
use consent_host::{router, system_clock, AppState, Backend, Config, Missing};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "consent-host",
    version,
    about = "Reference host backend for Consent Prompt: stores consent records in SQLite or PostgreSQL and serves the API (and, with --demo, the demo).",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Config,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage API keys (admin and partner).
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Recompute the ledger from a database file; exits 0 with the count and
    /// head, or 1 naming the first record where it breaks.
    Verify {
        /// A head copied from an earlier checkpoint: the ledger must still
        /// contain it at the checkpoint's count (only appended to since).
        #[arg(long, requires = "expect_count")]
        expect_head: Option<String>,
        /// The count that went with `--expect-head`.
        #[arg(long)]
        expect_count: Option<u64>,
    },
    /// Anonymise customers with no activity for N months, as erasure does.
    /// A customer's last activity is the latest of what the venue reported
    /// (purchases, bookings, …), their current yeses and their first record;
    /// a refusal or withdrawal never moves it. Simulates unless --apply.
    Retention {
        /// Months without activity before a customer is anonymised.
        #[arg(long, default_value_t = 36, value_parser = clap::value_parser!(u32).range(1..=1200))]
        inactive_months: u32,
        /// Simulate (the default): report what would be anonymised and
        /// change nothing (a SQLite file is opened read-only).
        #[arg(long, conflicts_with = "apply")]
        dry_run: bool,
        /// Anonymise them, in one transaction, and log the run.
        #[arg(long)]
        apply: bool,
        /// Also write the customers' ids and last activity to this new file
        /// (CSV `customerId,lastActivity`, owner-only) for the
        /// data-protection officer's review. Never overwrites a file. Ids
        /// go nowhere else: not to stdout, not to the logs.
        #[arg(long, value_name = "FILE")]
        report: Option<std::path::PathBuf>,
    },
    /// Bring in a venue's earlier consents (CSV or JSON lines) as records
    /// marked imported: every row checked first, every bad row named by
    /// line and field, nothing written unless all are good; importing the
    /// same file again stores nothing new.
    Import(ImportArgs),
    /// Check a widget config (the JSON a page gives the prompt) as the
    /// widget reads it: every problem at once, one line each, `path:
    /// message`. Exits 0 when it is valid (warnings allowed), 1 when it has
    /// errors, 2 when the file cannot be read.
    CheckConfig(CheckConfigArgs),
    /// The log of erasures and retention runs (never a customer id).
    Erasures {
        #[command(subcommand)]
        action: ErasuresAction,
    },
}

#[derive(Debug, Subcommand)]
enum ErasuresAction {
    /// One line per erasure and retention run, oldest first: when, kind,
    /// by whom, how many customers and records, and whether what it left
    /// behind is scrubbed yet. Reads only.
    List {
        /// One JSON object per line instead.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeysAction {
    /// Make a key and print it once.
    Add {
        /// Make an empty database if there is none (a new host's first
        /// key); without it, a missing database is an error, so a key is
        /// never made in a database the running host does not use.
        #[arg(long)]
        create: bool,
        /// `admin` (the venue's staff) or `partner` (one partner company).
        #[arg(long, value_enum)]
        role: Role,
        /// The partner a `partner` key speaks for.
        #[arg(long, required_if_eq("role", "partner"))]
        partner: Option<String>,
        /// A note to tell keys apart in `keys list`.
        #[arg(long)]
        label: Option<String>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by its id.
    Revoke { id: String },
}

#[tokio::main]
async fn main() -> ExitCode {
    // Logs go to stderr; stdout carries only the start-up line and command output.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let cli = Cli::parse();
    let result = match cli.command {
        None => run(cli.serve).await,
        // The storage flags are global: a command reads them from here.
        Some(Command::Keys { action }) => keys(action, cli.serve.backend()).await,
        Some(Command::Erasures {
            action: ErasuresAction::List { json },
        }) => erasures_list(cli.serve.backend(), json).await,
        Some(Command::Retention {
            inactive_months,
            dry_run: _,
            apply,
            report,
        }) => retention(cli.serve.backend(), inactive_months, apply, report).await,
        Some(Command::Import(args)) => import(cli.serve.backend(), args).await,
        Some(Command::Verify {
            expect_head,
            expect_count,
        }) => return verify(cli.serve.backend(), expect_head, expect_count).await,
        Some(Command::CheckConfig(args)) => return check_config(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("consent-host: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn keys(action: KeysAction, backend: Backend) -> Result<(), String> {
    let missing = match &action {
        KeysAction::Add { create: true, .. } => Missing::Create,
        KeysAction::Add { .. } => Missing::RefuseOfferCreate,
        KeysAction::List | KeysAction::Revoke { .. } => Missing::Refuse,
    };
    let db = backend.open_existing(missing).await?;
    let now = (system_clock())();
    match action {
        KeysAction::Add {
            role,
            partner,
            label,
            ..
        } => {
            if role == Role::Admin && partner.is_some() {
                return Err("--partner goes with --role partner only".into());
            }
            let (key, text) = db
                .add_key(
                    &KeySpec {
                        role,
                        partner_id: partner,
                        label,
                    },
                    now,
                )
                .await
                .map_err(|e| format!("adding a key: {e}"))?;
            eprintln!(
                "Added {} key {}. It is shown once; store it now.",
                key.role, key.id
            );
            println!("{text}");
        }
        KeysAction::List => {
            let keys = db
                .list_keys()
                .await
                .map_err(|e| format!("listing keys: {e}"))?;
            println!(
                "{:<12}  {:<7}  {:<20}  {:<24}  {:<24}  label",
                "id", "role", "partner", "created", "revoked"
            );
            for k in keys {
                println!(
                    "{:<12}  {:<7}  {:<20}  {:<24}  {:<24}  {}",
                    k.id,
                    k.role,
                    k.partner_id.as_deref().unwrap_or("-"),
                    k.created_at,
                    k.revoked_at
                        .map_or_else(|| "-".to_owned(), |t| t.to_string()),
                    k.label.as_deref().unwrap_or("")
                );
            }
        }
        KeysAction::Revoke { id } => {
            if !db
                .revoke_key(&id, now)
                .await
                .map_err(|e| format!("revoking a key: {e}"))?
            {
                return Err(format!("no live key with id {id}"));
            }
            println!("Revoked key {id}.");
        }
    }
    Ok(())
}

/// `retention`: what a run with this period would anonymise, or (with
/// `--apply`) the run itself; with `--report`, the customers in a file.
async fn retention(
    backend: Backend,
    months: u32,
    apply: bool,
    report: Option<std::path::PathBuf>,
) -> Result<(), String> {
    let now = (system_clock())();
    let cutoff = now.minus_months(months);
    // Made first: a name already taken stops the run before it changes anything.
    let report = report.as_deref().map(ReportFile::create).transpose()?;
    let planned = async {
        if !apply {
            return Ok((backend.retention_plan(cutoff).await?, None));
        }
        let store = backend.open_existing(Missing::Refuse).await?;
        let plan = store
            .run_retention(consent_store::rules::Retention {
                cutoff,
                by: "cli:retention".to_owned(),
                at: now,
            })
            .await
            .map_err(|e| format!("running retention: {e}"))?;
        Ok::<_, String>((plan, Some(store)))
    };
    let (plan, applied) = match planned.await {
        Ok(done) => done,
        Err(e) => {
            if let Some(report) = report {
                report.discard();
            }
            return Err(e);
        }
    };
    let (verb, note) = match applied {
        Some(_) => ("anonymised", ""),
        None => (
            "would anonymise",
            " (simulation: run with --apply to anonymise)",
        ),
    };
    println!(
        "retention ({months} months, no activity since {cutoff}): {verb} {} customers, {} records{note}",
        plan.customers.len(),
        plan.records
    );
    if let (Some(oldest), Some(newest)) = (plan.oldest_activity, plan.newest_activity) {
        println!("  last activity between {oldest} and {newest}");
    }
    for (partner, n) in &plan.per_partner {
        println!("  {partner}: {n} records");
    }
    let reported = match report {
        Some(report) => {
            let path = report.path().display().to_string();
            report.write(&plan).map(|()| {
                println!("  report: {} customers in {path}", plan.customers.len());
            })
        }
        None => Ok(()),
    };
    // Scrubbed whether or not the report could be written: the run is done.
    if let Some(store) = applied {
        let scrubbed = store
            .scrub(Duration::from_secs(60))
            .await
            .map_err(|e| format!("scrubbing after retention: {e}"))?;
        if !scrubbed {
            eprintln!("consent-host: the anonymised ids may still be in the WAL (a reader held it for 60 s); the host scrubs them at its next start");
        }
    }
    reported
}

/// The arguments of `import`.
#[derive(Debug, clap::Args)]
struct ImportArgs {
    /// The file: `.csv` (a header row) or `.jsonl`, with `customerId`,
    /// `partnerId`, `state` (given, refused, withdrawn), `channels`
    /// (`email post`), and optionally `decidedAt`, `source`,
    /// `partnerName`, `privacyUrl`.
    file: std::path::PathBuf,
    /// The venue the answers were given to (the host's `--venue`).
    #[arg(long)]
    venue: String,
    /// The venue's name as records show it (default: its id).
    #[arg(long)]
    venue_name: Option<String>,
    /// Whose law applies.
    #[arg(long, default_value = "GB")]
    jurisdiction: String,
    /// Where the answers came from, for rows that do not say (default:
    /// the file's name).
    #[arg(long)]
    source: Option<String>,
    /// The partners' names and privacy pages: a config (`{"partners": […]}`)
    /// or a list of `{id, name, privacyUrl}`.
    #[arg(long)]
    partners: Option<std::path::PathBuf>,
    /// Check the file and count what would be imported; write nothing.
    #[arg(long)]
    dry_run: bool,
}

/// `import`: check the whole file, then store its new records in one
/// transaction (or, with `--dry-run`, only count them).
async fn import(backend: Backend, args: ImportArgs) -> Result<(), String> {
    use consent_host::import::{self, Format, ImportSpec};
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).map_err(|e| format!("reading {}: {e}", p.display()))
    };
    let format = Format::of(&args.file)?;
    let text = read(&args.file)?;
    let partners = match &args.partners {
        Some(p) => import::partners_from(&read(p)?)?,
        None => Default::default(),
    };
    let now = (system_clock())();
    let spec = ImportSpec {
        venue: consent_core::domain::Venue {
            name: args.venue_name.unwrap_or_else(|| args.venue.clone()),
            id: args.venue,
        },
        jurisdiction: args.jurisdiction,
        source: args.source.unwrap_or_else(|| {
            args.file
                .file_name()
                .map_or_else(|| "import".to_owned(), |n| n.to_string_lossy().into_owned())
        }),
        partners,
        now,
    };
    // A bar on a long file, on a terminal only (never in a log).
    let lines = text.lines().count() as u64;
    let bar = if lines > 5_000 && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new(lines)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let records = import::read(&text, format, &spec, &|n| bar.set_position(n)).map_err(|e| {
        format!(
            "{} problem(s) in {}; nothing was imported:
{}",
            e.len(),
            args.file.display(),
            import::describe(&e)
        )
    })?;
    bar.finish_and_clear();
    let ids: Vec<String> = records.iter().map(|r| r.record_id.clone()).collect();
    let (db, stored) = if args.dry_run {
        (None, backend.stored_ids(ids).await?)
    } else {
        let db = backend.open_existing(Missing::Refuse).await?;
        let stored = db
            .stored_ids(ids)
            .await
            .map_err(|e| format!("reading what is stored: {e}"))?;
        (Some(db), stored)
    };
    let (new, summary) = import::plan(records, &stored);
    if let (Some(db), false) = (&db, new.is_empty()) {
        match db
            .insert_batch(new, now)
            .await
            .map_err(|e| format!("storing the import (nothing was stored): {e}"))?
        {
            consent_host::db::BatchOutcome::Stored(_) => {}
            consent_host::db::BatchOutcome::Conflict { index } => {
                return Err(format!(
                    "record {index} of the import collides with a different stored record; nothing was stored"
                ))
            }
        }
    }
    let verb = if args.dry_run {
        "would import"
    } else {
        "imported"
    };
    println!(
        "{verb} {} answer(s) from {} rows ({} imported before)",
        summary.new, summary.rows, summary.already
    );
    for (partner, states) in &summary.per_partner {
        let counts: Vec<String> = states.iter().map(|(s, n)| format!("{n} {s}")).collect();
        println!("  {partner}: {}", counts.join(", "));
    }
    if args.dry_run {
        println!("dry run: nothing was changed");
    }
    Ok(())
}

/// The arguments of `check-config`.
#[derive(Debug, clap::Args)]
struct CheckConfigArgs {
    /// The config: a JSON file (`-` reads standard input).
    file: std::path::PathBuf,
    /// `human` (one line per problem) or `json` (`{"ok", "errors",
    /// "warnings"}`, each problem `{path, message}`).
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    format: CheckFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum CheckFormat {
    Human,
    Json,
}

/// `check-config`: the venue's config read as the widget reads it, every
/// problem named by its path.
fn check_config(args: CheckConfigArgs) -> ExitCode {
    let text = if args.file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map(|_| text)
    } else {
        std::fs::read_to_string(&args.file)
    };
    let text = match text {
        Ok(text) => text,
        Err(e) => {
            eprintln!(
                "consent-host check-config: reading {}: {e}",
                args.file.display()
            );
            return ExitCode::from(2);
        }
    };
    let checked = consent_host::check::check_text(&text);
    match args.format {
        CheckFormat::Json => println!("{}", checked.to_json()),
        CheckFormat::Human => {
            for line in checked.lines() {
                println!("{line}");
            }
            let (e, w) = (checked.errors.len(), checked.warnings.len());
            let plural = |n: usize| if n == 1 { "" } else { "s" };
            let verdict = if checked.ok() { "valid" } else { "not valid" };
            eprintln!(
                "{}: {verdict} ({e} error{}, {w} warning{})",
                args.file.display(),
                plural(e),
                plural(w)
            );
        }
    }
    if checked.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `erasures list`: the erasure log, read only, from a database that
/// exists. Each entry holds counts and who made it, never a customer id.
async fn erasures_list(backend: Backend, json: bool) -> Result<(), String> {
    let log = backend.erasures().await?;
    if log.is_empty() {
        eprintln!("consent-host: no erasures or retention runs yet");
    }
    for entry in &log {
        if json {
            println!("{entry}");
        } else {
            println!("{}", erasure_line(entry));
        }
    }
    Ok(())
}

/// One entry of the erasure log as a line:
/// `2026-03-01T10:00:00.000Z  request    by key:ab12cd34  1 customers  3 records  scrubbed 2026-03-01T10:00:00.250Z`.
fn erasure_line(entry: &serde_json::Value) -> String {
    let text = |field: &str| entry[field].as_str().unwrap_or("?").to_owned();
    let count = |field: &str| {
        entry[field]
            .as_i64()
            .map_or("?".to_owned(), |n| n.to_string())
    };
    let scrub = match entry["scrubbedAt"].as_str() {
        Some(at) => format!("scrubbed {at}"),
        None => "pending".to_owned(),
    };
    format!(
        "{}  {:<9}  by {}  {} customers  {} records  {scrub}",
        text("at"),
        text("kind"),
        text("by"),
        count("customers"),
        count("records"),
    )
}

async fn verify(
    backend: Backend,
    expect_head: Option<String>,
    expect_count: Option<u64>,
) -> ExitCode {
    let expect = expect_count.map(|count| (count, expect_head.unwrap_or_default()));
    let checked = backend.verify(expect).await;
    match checked {
        Ok(head) => {
            println!("ok: {} records, head {}", head.count, head.head);
            ExitCode::SUCCESS
        }
        Err(e @ VerifyError::Broken(_)) => {
            println!("BROKEN: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("consent-host verify: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(mut config: Config) -> Result<(), String> {
    let backend = config.backend();
    let db = backend.open().await?;
    if config.demo && !config.dist.join("index.html").is_file() {
        tracing::warn!(dist = %config.dist.display(), "no index.html in the dist directory: build the demo first");
    } else if !config.dist.join("frame.html").is_file() {
        tracing::warn!(dist = %config.dist.display(), "no frame.html in the dist directory: build the widget first");
    }
    if config.origins().next().is_none() {
        tracing::info!("no ALLOWED_ORIGINS: the API answers same-origin requests only");
    }

    let listener = TcpListener::bind(SocketAddr::new(config.bind, config.port))
        .await
        .map_err(|e| format!("binding {}:{}: {e}", config.bind, config.port))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("reading the bound address: {e}"))?;
    // With `--port 0` only now is the port known; the loopback origins of
    // the frame's allowlist and the CSP's `frame-src` are built from it.
    config.bound_port = Some(local.port());
    let limits = ServeLimits {
        max_connections: config.max_connections,
        max_connections_per_address: config.max_connections_per_address,
        header_read_timeout: Duration::from_secs(config.header_read_timeout_secs.max(1)),
        shutdown_grace: Duration::from_secs(config.shutdown_grace_secs),
    };
    let checkpoint_every = config.checkpoint_interval_secs;
    let demo = config.demo;
    let state = AppState::new(db, config).map_err(|e| e.to_string())?;
    if demo {
        tracing::warn!("DEMO MODE: POST /demo/token mints checkout tokens for anyone who can reach this host; never use --demo in production");
    }
    let frame_parents_default = state.config.frame_parents.iter().all(String::is_empty);
    if frame_parents_default {
        tracing::info!(
            parents = ?state.config.frame_parent_origins(),
            "no FRAME_PARENT_ORIGINS: frame.html may be embedded by the host's loopback origins only"
        );
    }
    checkpoint(&state, "start-up").await;
    let delivering = state.start_webhooks();
    if let Some(w) = &state.webhooks {
        tracing::info!(receiver = ?w, "webhook events are queued and delivered");
    }
    let periodic = tokio::spawn({
        let state = state.clone();
        async move {
            if checkpoint_every == 0 {
                return;
            }
            let mut every = tokio::time::interval(Duration::from_secs(checkpoint_every));
            every.tick().await;
            loop {
                every.tick().await;
                checkpoint(&state, "periodic").await;
                state.limits.forget_idle();
            }
        }
    });

    let shown = if local.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        local.ip()
    };
    // Built before the start-up line, which says the host is ready.
    let app = router(state.clone());
    // Scripts and tests read the port after the last ':' of this line.
    println!(
        "Consent Prompt {}: http://{}/",
        if demo { "demo" } else { "host" },
        SocketAddr::new(shown, local.port())
    );
    tracing::info!(addr = %local, db = %backend.describe(), "listening");

    serve(listener, app, limits, shutdown_signal()).await;
    periodic.abort();
    if let Some(task) = delivering {
        task.abort();
    }
    checkpoint(&state, "shutdown").await;
    tracing::info!("shut down");
    Ok(())
}

/// Logs the ledger's count and head, for the venue to copy somewhere the
/// database's owner cannot rewrite.
async fn checkpoint(state: &AppState, when: &'static str) {
    match state.db.ledger_head().await {
        Ok(head) => tracing::info!(
            when,
            count = head.count,
            head = %head.head,
            "ledger checkpoint"
        ),
        Err(e) => tracing::error!(error = %e, "ledger checkpoint failed"),
    }
    if state.webhooks.is_some() {
        webhook_backlog(state).await;
    }
}

/// Logs how many webhook events wait, and warns when the oldest has waited
/// an hour (the receiver is failing: it is retried for three days).
async fn webhook_backlog(state: &AppState) {
    match state.db.event_backlog().await {
        Ok((0, _)) => tracing::info!("webhook queue: nothing waiting"),
        Ok((waiting, oldest)) => {
            let now = (state.clock)();
            let hours = oldest.map_or(0, |t| (now.unix_millis() - t.unix_millis()) / 3_600_000);
            if hours >= 1 {
                tracing::warn!(
                    waiting,
                    oldest = %oldest.map(|t| t.to_string()).unwrap_or_default(),
                    "webhook queue: events have waited {hours} h; is the receiver failing? they are retried for three days"
                );
            } else {
                tracing::info!(waiting, "webhook queue");
            }
        }
        Err(e) => tracing::error!(error = %e, "webhook queue: reading its backlog failed"),
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT: shutting down"),
        () = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}
