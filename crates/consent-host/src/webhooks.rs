//! Delivering the venue's webhook events from the durable queue.
//!
//! The storage queues each event in the transaction of what it reports
//! (`consent_store::events`); this worker claims due events with a lease,
//! POSTs each, signed, to `--webhook-url`, and settles it: delivered (2xx)
//! and deleted, or tried again with backoff, or given up after three days
//! and logged. A record write never waits for a receiver: it only wakes
//! the worker.
//!
//! Each POST carries:
//! - `Consent-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
//! - `Consent-Event-Id` (also the body's `id`: a receiver drops repeats),
//!   `Consent-Event-Type`, and `Content-Type: application/json`.

use std::sync::Arc;
use std::time::Duration;

use consent_store::events::{Backoff, QueuedEvent, Settle};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::Notify;

use crate::Storage;

/// The signature header's name.
pub const SIGNATURE_HEADER: &str = "consent-signature";

/// The `Consent-Signature` value of `body` sent at `t` (unix seconds).
pub fn signature(secret: &[u8], t: i64, body: &str) -> String {
    format!("t={t},v1={}", hex::encode(signed(secret, t, body)))
}

/// HMAC-SHA256(secret, "<t>.<body>").
fn signed(secret: &[u8], t: i64, body: &str) -> [u8; 32] {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts any key");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Checks a `Consent-Signature` the way a receiver should: the HMAC in
/// constant time, and `t` within `tolerance` of `now` (unix seconds), so
/// a captured event cannot be replayed later.
pub fn verify(secret: &[u8], header: &str, body: &str, now: i64, tolerance: i64) -> bool {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let Some(t) = t.filter(|t| (now - t).abs() <= tolerance) else {
        return false;
    };
    let expected = signed(secret, t, body);
    v1.iter().any(|sig| {
        use subtle::ConstantTimeEq;
        sig.len() == expected.len() && bool::from(sig.as_slice().ct_eq(expected.as_slice()))
    })
}

/// How the worker runs: where, with which key, how patiently.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    pub url: reqwest::Url,
    pub secret: Vec<u8>,
    /// One delivery's time limit.
    pub timeout: Duration,
    pub backoff: Backoff,
    /// How long a claim holds: far longer than a delivery can take, so
    /// no other instance sends an event while this one is sending it.
    pub lease: Duration,
    /// How often an idle worker looks for due events (another instance's
    /// writes, retries coming due).
    pub poll: Duration,
    /// Most events claimed at once.
    pub batch: usize,
}

impl WebhookSettings {
    /// The production settings for a receiver.
    pub fn new(url: reqwest::Url, secret: Vec<u8>, timeout: Duration) -> Self {
        WebhookSettings {
            url,
            secret,
            timeout,
            backoff: Backoff::DEFAULT,
            lease: Duration::from_secs(300),
            poll: Duration::from_secs(2),
            batch: 16,
        }
    }
}

/// The delivery worker of one instance.
pub struct Webhooks {
    settings: WebhookSettings,
    client: reqwest::Client,
    wake: Notify,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("url", &self.settings.url.as_str())
            .finish_non_exhaustive()
    }
}

impl Webhooks {
    /// A worker for `settings`. Redirects are not followed (an event goes
    /// to the configured receiver or nowhere).
    pub fn new(settings: WebhookSettings) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("consent-host/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("--webhook-url: cannot make an HTTP client: {e}"))?;
        Ok(Webhooks {
            settings,
            client,
            wake: Notify::new(),
        })
    }

    /// Tells the worker that events may be waiting (a write just queued
    /// some). Never waits.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs until the task is dropped: claims due events, delivers each,
    /// settles it; when none is due, waits for a wake-up or the poll.
    pub async fn run(self: Arc<Self>, db: Arc<dyn Storage>) {
        let mut failures_logged = 0u32;
        loop {
            let now = consent_store::wall_now();
            let claimed = db
                .claim_events(now, self.settings.lease, self.settings.batch)
                .await;
            let events = match claimed {
                Ok(events) => events,
                Err(e) => {
                    if failures_logged < 5 {
                        tracing::error!(error = %e, "webhook queue: claiming events failed");
                        failures_logged += 1;
                    }
                    tokio::time::sleep(self.settings.poll).await;
                    continue;
                }
            };
            failures_logged = 0;
            if events.is_empty() {
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(self.settings.poll) => {}
                }
                continue;
            }
            for event in events {
                let settle = self.deliver(&event).await;
                match &settle {
                    Settle::Delivered => {
                        tracing::info!(event = %event.id, kind = %event.kind, attempts = event.attempts, "webhook delivered")
                    }
                    Settle::Retry { at, error } => {
                        tracing::warn!(event = %event.id, kind = %event.kind, attempts = event.attempts, next = %at, error = %error, "webhook delivery failed; will retry")
                    }
                    Settle::GiveUp { error } => {
                        tracing::error!(event = %event.id, kind = %event.kind, attempts = event.attempts, error = %error, "webhook given up after three days of failures")
                    }
                }
                if let Err(e) = db.settle_event(&event.id, settle).await {
                    // The lease runs out and the event is tried again:
                    // delivered at least once, never lost.
                    tracing::error!(event = %event.id, error = %e, "webhook queue: settling an event failed");
                }
            }
        }
    }

    /// One POST of one event, and what became of it.
    async fn deliver(&self, event: &QueuedEvent) -> Settle {
        let t = consent_store::wall_now().unix_millis() / 1000;
        let sent = self
            .client
            .post(self.settings.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                SIGNATURE_HEADER,
                signature(&self.settings.secret, t, &event.body),
            )
            .header("consent-event-id", &event.id)
            .header("consent-event-type", &event.kind)
            .body(event.body.clone())
            .send()
            .await;
        let error = match sent {
            Ok(res) if res.status().is_success() => return Settle::Delivered,
            Ok(res) => format!("the receiver answered HTTP {}", res.status().as_u16()),
            Err(e) if e.is_timeout() => {
                format!("no answer within {} s", self.settings.timeout.as_secs_f32())
            }
            Err(e) => format!("could not reach the receiver: {e}"),
        };
        self.settings.backoff.after_failure(
            event.attempts,
            event.created_at,
            consent_store::wall_now(),
            error,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_nothing_else_does() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let body = r#"{"id":"evt_1"}"#;
        let header = signature(secret, 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="));
        assert!(verify(secret, &header, body, 1_700_000_100, 300));
        let cases = [
            (
                "another body",
                verify(secret, &header, r#"{"id":"evt_2"}"#, 1_700_000_100, 300),
            ),
            (
                "another key",
                verify(
                    b"another key of thirty-two bytes!",
                    &header,
                    body,
                    1_700_000_100,
                    300,
                ),
            ),
            ("too old", verify(secret, &header, body, 1_700_000_400, 300)),
            (
                "no v1",
                verify(secret, "t=1700000000", body, 1_700_000_000, 300),
            ),
            (
                "garbage",
                verify(secret, "nonsense", body, 1_700_000_000, 300),
            ),
        ];
        for (name, ok) in cases {
            assert!(!ok, "{name}");
        }
    }
}
