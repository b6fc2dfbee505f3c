//! `consent-host`: the reference backend and demo server.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use clap::Parser;
use consent_host::{router, AppState, Config, Db};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    // Logs go to stderr; stdout carries only the start-up line.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let config = Config::parse();
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("consent-host: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(mut config: Config) -> Result<(), String> {
    let db_path = config.db.clone();
    let db = tokio::task::spawn_blocking(move || Db::open(&db_path))
        .await
        .map_err(|e| format!("opening the database: {e}"))?
        .map_err(|e| format!("opening the database {}: {e}", config.db.display()))?;
    if !config.dist.join("index.html").is_file() {
        tracing::warn!(dist = %config.dist.display(), "no index.html in the dist directory: build the demo first");
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
    let shown = if local.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        local.ip()
    };
    println!(
        "Consent Prompt demo: http://{}/",
        SocketAddr::new(shown, local.port())
    );
    tracing::info!(addr = %local, db = %config.db.display(), "listening");
    // With `--port 0` only now is the port known; the loopback origins of
    // the frame's allowlist and the CSP's `frame-src` are built from it.
    config.bound_port = Some(local.port());
    if config.frame_parents.iter().all(String::is_empty) {
        tracing::info!(
            parents = ?config.frame_parent_origins(),
            "no FRAME_PARENT_ORIGINS: frame.html may be embedded by the host's loopback origins only"
        );
    }

    let app = router(AppState::new(db, config));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("serving: {e}"))?;
    tracing::info!("shut down");
    Ok(())
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
