//! Delivery policy: which answers from the backend end a delivery, which are
//! worth another try, and how long to wait. The widget's platform module
//! does the fetching and the waiting; the decisions are made here.

use crate::time::Timestamp;

/// What to do after one POST attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored (or already stored): remove from the outbox.
    Delivered,
    /// Network error, 5xx, 408 or 429: try again later.
    Retry,
    /// Any other 4xx: the backend will never take this batch as it is.
    Rejected,
}

/// `status` is `None` when the request never got an HTTP answer.
pub fn classify(status: Option<u16>) -> Outcome {
    match status {
        None => Outcome::Retry,
        Some(200..=299) => Outcome::Delivered,
        Some(408 | 429) => Outcome::Retry,
        Some(500..=599) => Outcome::Retry,
        Some(_) => Outcome::Rejected,
    }
}

/// Wait before the first retry, in milliseconds.
pub const BASE_DELAY_MS: u64 = 1_000;
/// The longest wait between tries.
pub const MAX_DELAY_MS: u64 = 60_000;
/// Tries in one page visit before the records wait for the next load.
pub const MAX_ATTEMPTS: u32 = 8;

/// Exponential backoff with full jitter, honouring `Retry-After` when the
/// server sends one (never waiting less than it asked, capped at 10 minutes).
/// `attempt` counts from 1 (the wait after the first failure); `jitter` is in [0, 1).
pub fn backoff_ms(attempt: u32, retry_after_ms: Option<u64>, jitter: f64) -> u64 {
    let exp = BASE_DELAY_MS
        .saturating_mul(1u64 << attempt.saturating_sub(1).min(16))
        .min(MAX_DELAY_MS);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.5
    };
    // Full jitter over [exp/2, exp): spread retries, never hammer straight away.
    let waited = exp / 2 + ((exp / 2) as f64 * jitter) as u64;
    match retry_after_ms {
        Some(ra) => ra.min(600_000),
        None => waited,
    }
}

/// `Retry-After` in milliseconds from `now`: delay-seconds (`"120"`) or an
/// HTTP date (`"Wed, 21 Oct 2026 07:28:00 GMT"`; a date already past means
/// now). Anything else is ignored and the backoff applies.
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<u64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(secs.saturating_mul(1000));
    }
    let at = Timestamp::parse_http_date(value)?;
    Some(u64::try_from(at.unix_millis() - now.unix_millis()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_statuses() {
        let cases = [
            (None, Outcome::Retry),
            (Some(200), Outcome::Delivered),
            (Some(201), Outcome::Delivered),
            (Some(400), Outcome::Rejected),
            (Some(401), Outcome::Rejected),
            (Some(408), Outcome::Retry),
            (Some(409), Outcome::Rejected),
            (Some(413), Outcome::Rejected),
            (Some(422), Outcome::Rejected),
            (Some(429), Outcome::Retry),
            (Some(500), Outcome::Retry),
            (Some(503), Outcome::Retry),
        ];
        for (status, want) in cases {
            assert_eq!(classify(status), want, "{status:?}");
        }
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff_ms(1, None, 0.0), 500);
        assert_eq!(backoff_ms(1, None, 0.999), 999);
        assert_eq!(backoff_ms(2, None, 0.0), 1_000);
        assert_eq!(backoff_ms(4, None, 0.0), 4_000);
        assert_eq!(backoff_ms(30, None, 0.0), MAX_DELAY_MS / 2);
        assert!(backoff_ms(30, None, 0.99) < MAX_DELAY_MS);
        assert_eq!(backoff_ms(1, None, f64::NAN), 750);
    }

    #[test]
    fn retry_after_is_honoured() {
        assert_eq!(backoff_ms(1, Some(5_000), 0.0), 5_000);
        assert_eq!(backoff_ms(1, Some(0), 0.0), 0);
        assert_eq!(backoff_ms(1, Some(u64::MAX), 0.0), 600_000);
        let now = Timestamp::parse_rfc3339("2026-10-21T07:27:00.500Z").expect("valid");
        let cases = [
            (" 120 ", Some(120_000)),
            ("0", Some(0)),
            ("Wed, 21 Oct 2026 07:28:00 GMT", Some(59_500)),
            ("Wed, 21 Oct 2026 07:00:00 GMT", Some(0)),
            ("-5", None),
            ("soon", None),
        ];
        for (value, want) in cases {
            assert_eq!(parse_retry_after(value, now), want, "{value:?}");
        }
    }
}

/// The record a backend error blames, from its JSON path: `records[2].notice.sha256` → 2.
pub fn record_index(field: &str) -> Option<usize> {
    let rest = field.strip_prefix("records[")?;
    let end = rest.find(']')?;
    rest[..end].parse().ok()
}

/// The `Idempotency-Key` for a batch: the same records always give the same
/// key, so a retried POST is recognisable as the same request.
pub fn batch_key<'a>(record_ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut ids: Vec<&str> = record_ids.into_iter().collect();
    crate::compact::sort_small(&mut ids);
    let (mut a, mut b) = (0xcbf2_9ce4_8422_2325u64, 0x8422_2325_cbf2_9ce4u64);
    for id in &ids {
        for byte in id.bytes().chain(std::iter::once(b'\n')) {
            a = (a ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
            b = (b ^ u64::from(byte))
                .wrapping_mul(0x0000_0001_0000_01b3)
                .rotate_left(7);
        }
    }
    format!("cp1-{}-{a:016x}{b:016x}", ids.len())
}

#[cfg(test)]
mod index_tests {
    use super::record_index;

    #[test]
    fn finds_the_blamed_record() {
        assert_eq!(record_index("records[2].notice.sha256"), Some(2));
        assert_eq!(record_index("records[10]"), Some(10));
        assert_eq!(record_index("records"), None);
        assert_eq!(record_index("records[x].id"), None);
        assert_eq!(record_index("partner.id"), None);
    }
}

#[cfg(test)]
mod key_tests {
    use super::batch_key;

    #[test]
    fn batch_keys_ignore_order_and_tell_batches_apart() {
        assert_eq!(batch_key(["a", "b"]), batch_key(["b", "a"]));
        assert_ne!(batch_key(["a", "b"]), batch_key(["a"]));
        assert_ne!(batch_key(["ab"]), batch_key(["a", "b"]));
        assert!(batch_key(["a"]).starts_with("cp1-1-"));
    }
}
