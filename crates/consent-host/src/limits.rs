//! Rate limits on every authenticated request: writes and reads apart,
//! each per client address (checked before the credential is looked at)
//! and per credential (a checkout token, or an API key), each a GCRA
//! (generic cell rate) limiter from `governor`, answered with 429 and
//! `Retry-After` when exceeded.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// The client's address, when the server loop recorded it (tests driving
/// the router directly have none, and are not limited by address).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// The address the server loop recorded for this request, if any.
    pub fn of(parts: &Parts) -> Self {
        ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        )
    }
}

/// Whether a request reads or writes, for the limit it counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    /// `GET` and `HEAD` read; every other method writes.
    pub fn of(method: &axum::http::Method) -> Self {
        if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
            Access::Read
        } else {
            Access::Write
        }
    }
}

/// One pair of limiters: per credential and per address.
struct Pair {
    per_credential: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl Pair {
    fn new(per_credential: u32, per_address: u32) -> Self {
        Pair {
            per_credential: RateLimiter::keyed(per_minute(per_credential)),
            per_address: RateLimiter::keyed(per_minute(per_address)),
        }
    }

    fn forget_idle(&self) {
        self.per_credential.retain_recent();
        self.per_credential.shrink_to_fit();
        self.per_address.retain_recent();
        self.per_address.shrink_to_fit();
    }
}

/// Requests per minute, by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateSettings {
    pub writes_per_token: u32,
    pub writes_per_address: u32,
    pub reads_per_credential: u32,
    pub reads_per_address: u32,
}

/// The request limiters.
pub struct WriteLimits {
    writes: Pair,
    reads: Pair,
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
    /// Write batches per minute per checkout token and per client
    /// address, with reads at generous defaults; each allows a burst of
    /// its whole minute's worth.
    pub fn new(per_token_per_minute: u32, per_address_per_minute: u32) -> Self {
        Self::with(RateSettings {
            writes_per_token: per_token_per_minute,
            writes_per_address: per_address_per_minute,
            reads_per_credential: 600,
            reads_per_address: 1200,
        })
    }

    pub fn with(settings: RateSettings) -> Self {
        WriteLimits {
            writes: Pair::new(settings.writes_per_token, settings.writes_per_address),
            reads: Pair::new(settings.reads_per_credential, settings.reads_per_address),
            clock: DefaultClock::default(),
        }
    }

    fn pair(&self, access: Access) -> &Pair {
        match access {
            Access::Read => &self.reads,
            Access::Write => &self.writes,
        }
    }

    /// The address's limit for this kind of request.
    pub fn check_address_for(&self, access: Access, addr: Option<IpAddr>) -> Result<(), ApiError> {
        let Some(addr) = addr else { return Ok(()) };
        self.pair(access)
            .per_address
            .check_key(&addr)
            .map_err(|until| {
                ApiError::rate_limited(
                    "address",
                    retry_secs(until.wait_time_from(self.clock.now())),
                )
            })
    }

    /// The request's client address against its limit for the request's
    /// kind (read or write), before anything else of it is read; the kind.
    pub fn check_request(&self, parts: &Parts) -> Result<Access, ApiError> {
        let access = Access::of(&parts.method);
        self.check_address_for(access, ClientAddr::of(parts).0)?;
        Ok(access)
    }

    /// The credential's limit (`tag`: a token's tag or a key's id).
    pub fn check_credential_for(&self, access: Access, tag: &str) -> Result<(), ApiError> {
        let what = match access {
            Access::Read => "credential",
            Access::Write => "token",
        };
        self.pair(access)
            .per_credential
            .check_key(&tag.to_owned())
            .map_err(|until| {
                ApiError::rate_limited(what, retry_secs(until.wait_time_from(self.clock.now())))
            })
    }

    pub fn check_address(&self, addr: Option<IpAddr>) -> Result<(), ApiError> {
        self.check_address_for(Access::Write, addr)
    }

    pub fn check_token(&self, token_tag: &str) -> Result<(), ApiError> {
        self.check_credential_for(Access::Write, token_tag)
    }

    /// Forgets keys whose limits have fully recovered (call now and then,
    /// so the maps do not grow with every token ever seen).
    pub fn forget_idle(&self) {
        self.writes.forget_idle();
        self.reads.forget_idle();
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

    #[test]
    fn reads_and_writes_are_limited_apart() {
        let limits = WriteLimits::with(RateSettings {
            writes_per_token: 1,
            writes_per_address: 1,
            reads_per_credential: 2,
            reads_per_address: 1000,
        });
        let a = Some(IpAddr::from([127, 0, 0, 1]));
        assert!(limits.check_credential_for(Access::Read, "k").is_ok());
        assert!(limits.check_credential_for(Access::Read, "k").is_ok());
        assert!(limits.check_credential_for(Access::Read, "k").is_err());
        assert!(limits.check_credential_for(Access::Write, "k").is_ok());
        assert!(limits.check_address_for(Access::Write, a).is_ok());
        assert!(limits.check_address_for(Access::Write, a).is_err());
        assert!(limits.check_address_for(Access::Read, a).is_ok());
        assert_eq!(Access::of(&axum::http::Method::GET), Access::Read);
        assert_eq!(Access::of(&axum::http::Method::DELETE), Access::Write);
    }
}
