//! Write limits: per client address and per checkout token, each a GCRA
//! (generic cell rate) limiter from `governor`, answered with 429 and
//! `Retry-After` when exceeded.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::api::ApiError;

/// The client's address, when the server loop recorded it (tests driving
/// the router directly have none, and are not limited by address).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

/// The write limiters.
pub struct WriteLimits {
    per_token: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl std::fmt::Debug for WriteLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteLimits")
    }
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl WriteLimits {
    /// Batches per minute per checkout token and per client address; each
    /// allows a burst of its whole minute's worth.
    pub fn new(per_token_per_minute: u32, per_address_per_minute: u32) -> Self {
        WriteLimits {
            per_token: RateLimiter::keyed(per_minute(per_token_per_minute)),
            per_address: RateLimiter::keyed(per_minute(per_address_per_minute)),
            clock: DefaultClock::default(),
        }
    }

    pub fn check_address(&self, addr: Option<IpAddr>) -> Result<(), ApiError> {
        let Some(addr) = addr else { return Ok(()) };
        self.per_address.check_key(&addr).map_err(|until| {
            ApiError::rate_limited(
                "address",
                retry_secs(until.wait_time_from(self.clock.now())),
            )
        })
    }

    pub fn check_token(&self, token_tag: &str) -> Result<(), ApiError> {
        self.per_token
            .check_key(&token_tag.to_owned())
            .map_err(|until| {
                ApiError::rate_limited("token", retry_secs(until.wait_time_from(self.clock.now())))
            })
    }

    /// Forgets keys whose limits have fully recovered (call now and then,
    /// so the maps do not grow with every token ever seen).
    pub fn forget_idle(&self) {
        self.per_token.retain_recent();
        self.per_token.shrink_to_fit();
        self.per_address.retain_recent();
        self.per_address.shrink_to_fit();
    }
}

/// Whole seconds, rounded up, at least 1.
fn retry_secs(wait: std::time::Duration) -> u64 {
    (wait.as_millis().div_ceil(1000) as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_over_its_limit_is_told_when_to_retry() {
        let limits = WriteLimits::new(2, 1000);
        assert!(limits.check_token("t").is_ok());
        assert!(limits.check_token("t").is_ok());
        let e = limits.check_token("t").unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert!(e.retry_after.is_some_and(|s| (1..=60).contains(&s)));
        // Another token is not affected.
        assert!(limits.check_token("u").is_ok());
    }

    #[test]
    fn addresses_are_limited_apart() {
        let limits = WriteLimits::new(1000, 1);
        let a = Some(IpAddr::from([127, 0, 0, 1]));
        let b = Some(IpAddr::from([127, 0, 0, 2]));
        assert!(limits.check_address(a).is_ok());
        assert!(limits.check_address(a).is_err());
        assert!(limits.check_address(b).is_ok());
        assert!(limits.check_address(None).is_ok());
    }
}
