//! API keys: long-lived credentials for the venue's staff (`admin`) and for
//! partner companies (`partner`, scoped to one partner id).
//!
//! A key reads `cpk_<id>_<secret>`: `id` is 12 hex digits, public, and
//! names the key in `keys list` and `keys revoke`; `secret` is 64 hex digits
//! of randomness. The host stores only the SHA-256 of the secret, so a copy
//! of the database does not hold a usable key. A key is shown once, when
//! it is made.

use std::fmt;

use serde::Serialize;

/// Every key starts with this.
pub const KEY_PREFIX: &str = "cpk_";

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The venue's staff: read any customer, the ledger head.
    Admin,
    /// A partner company: its own contacts only.
    Partner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Partner => "partner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "partner" => Some(Role::Partner),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key as the host knows it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    pub role: Role,
    /// The partner a `partner` key speaks for.
    pub partner_id: Option<String>,
    pub label: Option<String>,
    pub created_at: consent_core::Timestamp,
    pub revoked_at: Option<consent_core::Timestamp>,
}

/// Whether a bearer credential is shaped like an API key (rather than a JWT).
pub fn looks_like_key(credential: &str) -> bool {
    credential.starts_with(KEY_PREFIX)
}

/// Splits `cpk_<id>_<secret>` into id and secret, if well formed.
pub fn split_key(credential: &str) -> Option<(&str, &str)> {
    let rest = credential.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id, 12) && hex(secret, 64)).then_some((id, secret))
}

/// A fresh key as a store records it: the id, the key text (shown once)
/// and the SHA-256 of its secret (all that is stored).
#[derive(Clone, PartialEq, Eq)]
pub struct FreshKey {
    pub id: String,
    pub text: String,
    pub secret_sha256: String,
}

/// What a store records for a new key, and the key as its holder gets it.
#[derive(Clone, Debug)]
pub struct NewKey {
    pub key: ApiKey,
    /// The key text, shown once.
    pub text: String,
    /// What is stored instead of the secret.
    pub secret_sha256: String,
}

impl NewKey {
    /// A fresh key with this role, partner and label, made at `now`.
    pub fn make(
        spec: &KeySpec,
        now: consent_core::Timestamp,
    ) -> Result<NewKey, crate::error::DbError> {
        let FreshKey {
            id,
            text,
            secret_sha256,
        } = fresh()
            .map_err(|e| crate::error::DbError::Corrupt(format!("no randomness for a key: {e}")))?;
        Ok(NewKey {
            key: ApiKey {
                id,
                role: spec.role,
                partner_id: spec.partner_id.clone(),
                label: spec.label.clone(),
                created_at: now,
                revoked_at: None,
            },
            text,
            secret_sha256,
        })
    }
}

/// What a new key is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySpec {
    pub role: Role,
    /// The partner a `partner` key speaks for.
    pub partner_id: Option<String>,
    /// A note to tell keys apart.
    pub label: Option<String>,
}

impl ApiKey {
    /// A key from its stored columns (an unknown role reads as the lesser,
    /// `partner`).
    pub fn from_columns(
        id: String,
        role: &str,
        partner_id: Option<String>,
        label: Option<String>,
        created_at_ms: i64,
        revoked_at_ms: Option<i64>,
    ) -> ApiKey {
        ApiKey {
            id,
            role: Role::parse(role).unwrap_or(Role::Partner),
            partner_id,
            label,
            created_at: consent_core::Timestamp::from_unix_millis(created_at_ms),
            revoked_at: revoked_at_ms.map(consent_core::Timestamp::from_unix_millis),
        }
    }
}

/// Whether a presented secret is the one whose digest is stored, compared
/// in constant time.
pub fn secret_matches(stored_sha256: &str, secret: &str) -> bool {
    constant_time_eq(stored_sha256, &crate::sha256_hex(secret))
}

/// Makes a key for a store to record.
pub fn fresh() -> Result<FreshKey, getrandom::Error> {
    let (id, text) = generate()?;
    let secret = split_key(&text).map(|(_, s)| s).unwrap_or_default();
    Ok(FreshKey {
        secret_sha256: crate::sha256_hex(secret),
        id,
        text,
    })
}

/// A fresh key: `(id, full key text)`.
pub fn generate() -> Result<(String, String), getrandom::Error> {
    let mut bytes = [0u8; 38];
    getrandom::fill(&mut bytes)?;
    let id = hex::encode(&bytes[..6]);
    let secret = hex::encode(&bytes[6..]);
    let key = format!("{KEY_PREFIX}{id}_{secret}");
    Ok((id, key))
}

/// Compares two strings without an early exit on their contents (only
/// their lengths, which are public, may differ in time).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_split_back_into_their_id() {
        let (id, key) = generate().unwrap();
        assert!(looks_like_key(&key));
        let (got_id, secret) = split_key(&key).unwrap();
        assert_eq!(got_id, id);
        assert_eq!(secret.len(), 64);
        assert_ne!(generate().unwrap().1, key);
    }

    #[test]
    fn malformed_keys_do_not_split() {
        for bad in [
            "cpk_",
            "cpk_abc_def",
            "cpk_0123456789ab",
            "cpk_0123456789ab_zz",
            "eyJhbGciOi.x.y",
        ] {
            assert_eq!(split_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
