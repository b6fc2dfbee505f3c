//! Who is calling: checkout tokens (JWT, RFC 7519) minted by the venue's
//! server, and API keys managed with `consent-host keys`.
//!
//! Handlers never read the `Authorization` header themselves: they take a
//! [`Caller`] (an axum extractor), which exists only once a token has been
//! verified or a key looked up. What a caller may then do is decided by the
//! pure checks in this module ([`Caller::may_write`], [`Caller::may_read_customer`]).

use std::fmt;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use consent_core::wire::ConsentRecordV1;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::keys::{ApiKey, Role};
use crate::limits::Access;
use crate::AppState;

/// The `aud` every checkout token must carry.
pub const AUDIENCE: &str = "consent-prompt";
/// Write consent records for the token's own customer (`sub`).
pub const SCOPE_WRITE: &str = "consent:write";
/// Read the token's own customer's records and preferences.
pub const SCOPE_READ: &str = "consent:read";
/// Write records for any customer of the venue (box office, phone).
pub const SCOPE_WRITE_VENUE: &str = "consent:write:venue";
/// Report any customer's activity at the venue (a purchase, a booking, …),
/// which retention counts from: a token for the venue's own server.
pub const SCOPE_ACTIVITY_WRITE: &str = "activity:write";
/// The shortest HS256 secret the host accepts, in bytes (RFC 7518 §3.2).
pub const MIN_SECRET_BYTES: usize = 32;

/// The claims of a checkout token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The venue id; records must carry it as `venue.id`.
    pub iss: String,
    /// The customer id; records must carry it as `customerId` (unless the
    /// scope is venue-wide).
    pub sub: String,
    /// Always `consent-prompt`.
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// Not before: a token is refused until then (less the leeway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Space-separated scopes.
    pub scope: String,
    /// The basket this checkout is for; records must carry it as
    /// `collection.basketRef` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basket: Option<String>,
    /// The box-office or phone operator; box-office and phone records must
    /// carry it as `collection.operatorId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// The patron's contact points, as the venue's server knows them: kept
    /// (erasable) as the customer `sub`'s contact, and digested into each
    /// record stored for `sub` (which address it concerns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<consent_core::wire::ContactV1>,
    /// What the patron is doing as the venue's server mints the token
    /// (`purchase`, `booking`, `waitlist`, `login` or `click`): kept as
    /// the customer `sub`'s activity when the token writes their records.
    /// Text here, so a kind the host does not know is a 422 naming
    /// `token.activity` rather than a token that does not verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
}

impl Claims {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split_ascii_whitespace().any(|s| s == scope)
    }
}

/// A verified caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// A checkout token; `token_tag` identifies the token (for rate limits)
    /// without being the token.
    Checkout { claims: Claims, token_tag: String },
    /// An API key.
    Key(ApiKey),
}

/// Why a verified caller may not do something: a 403 naming the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forbidden {
    pub field: Option<String>,
    pub message: String,
}

impl Forbidden {
    fn new(field: Option<String>, message: impl Into<String>) -> Self {
        Forbidden {
            field,
            message: message.into(),
        }
    }
}

impl Caller {
    /// Whether this caller may store `record`; `index` is its place in the
    /// batch, for the field path of a refusal.
    pub fn may_write(&self, index: usize, record: &ConsentRecordV1) -> Result<(), Forbidden> {
        let at = |field: &str| Some(format!("records[{index}].{field}"));
        let claims = match self {
            Caller::Checkout { claims, .. } => claims,
            Caller::Key(_) => {
                return Err(Forbidden::new(
                    None,
                    "API keys cannot write consent records; the venue's server mints a checkout token for that",
                ))
            }
        };
        let venue_wide = claims.has_scope(SCOPE_WRITE_VENUE);
        if !venue_wide && !claims.has_scope(SCOPE_WRITE) {
            return Err(Forbidden::new(
                None,
                format!("the token's scope does not include {SCOPE_WRITE}"),
            ));
        }
        if record.venue.id != claims.iss {
            return Err(Forbidden::new(
                at("venue.id"),
                "the record is for another venue than the token's issuer",
            ));
        }
        if !venue_wide && record.customer_id != claims.sub {
            return Err(Forbidden::new(
                at("customerId"),
                "the record is for another customer than the token's subject",
            ));
        }
        let assisted = record.collection.channel.is_assisted();
        if venue_wide {
            // A venue-wide token speaks for an operator at the box office
            // or on the phone, never for a patron at the web checkout.
            if !assisted {
                return Err(Forbidden::new(
                    at("collection.channel"),
                    "a venue-wide token writes box-office and phone records only; a patron's own answers need a token for that patron",
                ));
            }
            if claims.operator.is_none() || record.collection.operator_id != claims.operator {
                return Err(Forbidden::new(
                    at("collection.operatorId"),
                    "box-office and phone records need a token whose operator is the record's operatorId",
                ));
            }
        } else if assisted || record.collection.operator_id.is_some() {
            // A patron's token writes what the patron expressed, with no
            // operator named.
            return Err(Forbidden::new(
                at("collection.operatorId"),
                "a patron's token writes the patron's own web answers only, with no operator",
            ));
        }
        if let Some(basket) = &claims.basket {
            if record.collection.basket_ref.as_deref() != Some(basket.as_str()) {
                return Err(Forbidden::new(
                    at("collection.basketRef"),
                    "the record is for another basket than the token's",
                ));
            }
        }
        Ok(())
    }

    /// Whether this caller may have the prompt rendered for a config: the
    /// checkout token that page will carry (the config's venue and
    /// customer, any write scope), or an admin key.
    pub fn may_render(&self, venue_id: &str, customer_id: &str) -> Result<(), Forbidden> {
        let claims = match self {
            Caller::Key(key) if key.role == Role::Admin => return Ok(()),
            Caller::Key(_) => {
                return Err(Forbidden::new(
                    None,
                    "a partner key cannot render the checkout prompt",
                ))
            }
            Caller::Checkout { claims, .. } => claims,
        };
        let venue_wide = claims.has_scope(SCOPE_WRITE_VENUE);
        if !venue_wide && !claims.has_scope(SCOPE_WRITE) {
            return Err(Forbidden::new(
                None,
                format!("the token's scope does not include {SCOPE_WRITE}"),
            ));
        }
        if venue_id != claims.iss {
            return Err(Forbidden::new(
                Some("config.venue.id".into()),
                "the config is for another venue than the token's issuer",
            ));
        }
        if !venue_wide && customer_id != claims.sub {
            return Err(Forbidden::new(
                Some("config.customerId".into()),
                "the config is for another customer than the token's subject",
            ));
        }
        Ok(())
    }

    /// Whether this caller may read one customer's records and preferences.
    pub fn may_read_customer(&self, customer_id: &str) -> Result<(), Forbidden> {
        match self {
            Caller::Key(key) if key.role == Role::Admin => Ok(()),
            Caller::Key(_) => Err(Forbidden::new(
                None,
                "a partner key cannot read customer records",
            )),
            Caller::Checkout { claims, .. } if !claims.has_scope(SCOPE_READ) => {
                Err(Forbidden::new(
                    None,
                    format!("the token's scope does not include {SCOPE_READ}"),
                ))
            }
            Caller::Checkout { claims, .. } if claims.sub != customer_id => {
                Err(Forbidden::new(None, "the token is for another customer"))
            }
            Caller::Checkout { .. } => Ok(()),
        }
    }

    /// Whether this caller may read a partner's contacts: an admin key, or
    /// a partner key for that partner.
    pub fn may_read_partner(&self, partner_id: &str) -> Result<(), Forbidden> {
        match self {
            Caller::Key(key) if key.role == Role::Admin => Ok(()),
            Caller::Key(key) if key.partner_id.as_deref() == Some(partner_id) => Ok(()),
            Caller::Key(_) => Err(Forbidden::new(None, "this key speaks for another partner")),
            Caller::Checkout { .. } => Err(Forbidden::new(
                None,
                "a checkout token cannot read a partner's contacts",
            )),
        }
    }

    /// Whether this caller may report a customer's activity: an admin
    /// key, or a token with [`SCOPE_ACTIVITY_WRITE`] (the venue's server,
    /// for any customer of its venue; the venue was checked with the
    /// token). A patron's own token may not: a patron cannot keep their
    /// data longer, nor anyone else's.
    pub fn may_write_activity(&self) -> Result<(), Forbidden> {
        match self {
            Caller::Key(key) if key.role == Role::Admin => Ok(()),
            Caller::Key(_) => Err(Forbidden::new(
                None,
                "a partner key cannot report a customer's activity",
            )),
            Caller::Checkout { claims, .. } if claims.has_scope(SCOPE_ACTIVITY_WRITE) => Ok(()),
            Caller::Checkout { .. } => Err(Forbidden::new(
                None,
                format!("the token's scope does not include {SCOPE_ACTIVITY_WRITE}"),
            )),
        }
    }

    /// Who did it, for the erasure log: a key's id (never a token or a customer).
    pub fn audit_name(&self) -> String {
        match self {
            Caller::Key(key) => format!("key:{}", key.id),
            Caller::Checkout { token_tag, .. } => format!("token:{token_tag}"),
        }
    }

    /// Whether this caller holds the `admin` role.
    pub fn require_admin(&self) -> Result<(), Forbidden> {
        match self {
            Caller::Key(key) if key.role == Role::Admin => Ok(()),
            _ => Err(Forbidden::new(None, "this endpoint needs an admin API key")),
        }
    }
}

/// Verifies checkout tokens with the configured keys.
#[derive(Clone)]
pub struct TokenVerifier {
    hs256: Option<DecodingKey>,
    eddsa: Option<DecodingKey>,
    leeway: Duration,
    /// The one venue this host serves: every token's `iss`.
    venue: String,
    /// The longest `exp - iat` accepted.
    max_lifetime: Duration,
}

/// Why a checkout token was refused: a 401 naming the claim at fault
/// (`token.exp`, `token.iss`, …) where there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRejection {
    pub message: String,
    pub field: Option<&'static str>,
}

impl TokenRejection {
    fn new(message: impl Into<String>) -> Self {
        TokenRejection {
            message: message.into(),
            field: None,
        }
    }

    fn at(field: &'static str, message: impl Into<String>) -> Self {
        TokenRejection {
            message: message.into(),
            field: Some(field),
        }
    }
}

impl From<TokenRejection> for ApiError {
    fn from(r: TokenRejection) -> Self {
        let err = ApiError::unauthorized(r.message);
        match r.field {
            Some(field) => err.at(field),
            None => err,
        }
    }
}

/// The settings a [`TokenVerifier`] checks claims against.
#[derive(Clone, Debug)]
pub struct TokenRules {
    /// The venue this host serves; a token issued for another is refused.
    pub venue: String,
    /// Clock difference allowed on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// The longest lifetime (`exp - iat`) a token may have.
    pub max_lifetime: Duration,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("hs256", &self.hs256.is_some())
            .field("eddsa", &self.eddsa.is_some())
            .field("leeway", &self.leeway)
            .field("venue", &self.venue)
            .field("max_lifetime", &self.max_lifetime)
            .finish()
    }
}

/// A configuration problem found at start-up.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

impl TokenVerifier {
    /// The venue this host serves (every token's `iss`).
    pub fn venue(&self) -> &str {
        &self.venue
    }

    /// `secret` for HS256, `public_key_pem` (an Ed25519 `PUBLIC KEY` PEM)
    /// for EdDSA. At least one is needed.
    pub fn new(
        secret: Option<&[u8]>,
        public_key_pem: Option<&str>,
        rules: TokenRules,
    ) -> Result<Self, KeyError> {
        let hs256 = match secret {
            Some(s) if s.len() < MIN_SECRET_BYTES => {
                return Err(KeyError(format!(
                    "--token-secret is {} bytes; an HS256 secret must be at least {MIN_SECRET_BYTES} random bytes",
                    s.len()
                )))
            }
            Some(s) => Some(DecodingKey::from_secret(s)),
            None => None,
        };
        let eddsa = match public_key_pem {
            Some(pem) => Some(DecodingKey::from_ed_pem(pem.as_bytes()).map_err(|e| {
                KeyError(format!(
                    "--token-public-key is not an Ed25519 public key in PEM form: {e}"
                ))
            })?),
            None => None,
        };
        if hs256.is_none() && eddsa.is_none() {
            return Err(KeyError(
                "no way to verify checkout tokens: set --token-secret (CONSENT_TOKEN_SECRET) or --token-public-key (CONSENT_TOKEN_PUBLIC_KEY), or run with --demo".into(),
            ));
        }
        Ok(TokenVerifier {
            hs256,
            eddsa,
            leeway: rules.leeway,
            venue: rules.venue,
            max_lifetime: rules.max_lifetime,
        })
    }

    /// Verifies signature, algorithm, audience and the claims this host
    /// relies on, against `now` with the leeway: `exp`, `nbf`, an `iat` not
    /// in the future, a lifetime of at most the maximum, the issuer being
    /// this host's venue, and no `crit` header (no extension is understood
    /// here, so none may be required).
    pub fn verify(
        &self,
        token: &str,
        now: consent_core::Timestamp,
    ) -> Result<Claims, TokenRejection> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| TokenRejection::new("the token is not a well-formed JWT"))?;
        if has_crit_header(token) {
            return Err(TokenRejection::at(
                "token.crit",
                "the token's header lists critical extensions (crit); this host understands none",
            ));
        }
        let key = match header.alg {
            Algorithm::HS256 => self.hs256.as_ref(),
            Algorithm::EdDSA => self.eddsa.as_ref(),
            _ => None,
        }
        .ok_or_else(|| {
            TokenRejection::at(
                "token.alg",
                format!("tokens signed with {:?} are not accepted here", header.alg),
            )
        })?;
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
        // Times are checked below against the host's clock (injected in
        // tests), not the library's own reading of the system clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidAudience => TokenRejection::at(
                    "token.aud",
                    format!("the token's audience is not {AUDIENCE}"),
                ),
                ErrorKind::InvalidSignature => {
                    TokenRejection::new("the token's signature does not verify")
                }
                ErrorKind::MissingRequiredClaim(c) => {
                    TokenRejection::new(format!("the token has no {c} claim"))
                }
                _ => TokenRejection::new("the token could not be verified"),
            }
        })?;
        let claims = data.claims;
        check_claims(&claims, now, self.leeway, self.max_lifetime, &self.venue)?;
        Ok(claims)
    }
}

/// The time, lifetime and issuer rules of [`TokenVerifier::verify`], on
/// claims whose signature has been checked.
pub fn check_claims(
    claims: &Claims,
    now: consent_core::Timestamp,
    leeway: Duration,
    max_lifetime: Duration,
    venue: &str,
) -> Result<(), TokenRejection> {
    let now = now.unix_millis().div_euclid(1000);
    let leeway = i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX);
    if claims.exp.saturating_add(leeway) < now {
        return Err(TokenRejection::at("token.exp", "the token has expired"));
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(leeway))
    {
        return Err(TokenRejection::at(
            "token.nbf",
            "the token is not valid yet (nbf is in the future)",
        ));
    }
    if claims.iat > now.saturating_add(leeway) {
        return Err(TokenRejection::at(
            "token.iat",
            "the token says it was issued in the future (iat): check the venue server's clock",
        ));
    }
    let max = i64::try_from(max_lifetime.as_secs()).unwrap_or(i64::MAX);
    if claims.exp.saturating_sub(claims.iat) > max {
        return Err(TokenRejection::at(
            "token.exp",
            format!(
                "the token lives longer than this host allows ({} s from iat to exp at most); mint short-lived checkout tokens",
                max
            ),
        ));
    }
    if claims.iss.trim().is_empty() || claims.sub.trim().is_empty() {
        return Err(TokenRejection::new(
            "the token's iss and sub must not be empty",
        ));
    }
    if claims.iss != venue {
        return Err(TokenRejection::at(
            "token.iss",
            "the token was issued for another venue than the one this host serves",
        ));
    }
    Ok(())
}

/// Whether a JWT's protected header carries `crit` (RFC 7515 §4.1.11).
fn has_crit_header(token: &str) -> bool {
    use base64::Engine;
    let Some(encoded) = token.split('.').next() else {
        return false;
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|h| h.get("crit").is_some())
}

/// Signs checkout tokens with an HS256 secret: the demo's own pages, and
/// tests. A venue's server does the same with its JWT library.
#[derive(Clone)]
pub struct TokenSigner {
    key: EncodingKey,
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSigner(HS256)")
    }
}

impl TokenSigner {
    pub fn hs256(secret: &[u8]) -> Self {
        TokenSigner {
            key: EncodingKey::from_secret(secret),
        }
    }

    pub fn sign(&self, claims: &Claims) -> String {
        // Serialising these plain claims and signing with HMAC cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.key).unwrap_or_default()
    }
}

/// The `Authorization: Bearer …` credential, if any.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized("this endpoint needs Authorization: Bearer <token>")
    })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not valid text"))?;
    let (scheme, credential) = value
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("the Authorization header must be Bearer <token>"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || credential.trim().is_empty() {
        return Err(ApiError::unauthorized(
            "the Authorization header must be Bearer <token>",
        ));
    }
    Ok(credential.trim())
}

/// A short, non-reversible tag for a credential (rate limits, logs).
pub fn credential_tag(credential: &str) -> String {
    crate::sha256_hex(credential)[..16].to_owned()
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    /// In this order: the client address's limit for this kind of request
    /// (so a flood of bad credentials is limited too), the credential,
    /// then the credential's own limit. Nothing of the body has been read.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let access = state.limits.check_request(parts)?;
        let credential = bearer(parts)?.to_owned();
        Caller::from_credential(state, access, &credential).await
    }
}

impl Caller {
    /// The caller a credential names (an API key, else a checkout token),
    /// counted against that credential's own limit.
    pub async fn from_credential(
        state: &AppState,
        access: Access,
        credential: &str,
    ) -> Result<Caller, ApiError> {
        let caller = if crate::keys::looks_like_key(credential) {
            let found = state
                .db
                .find_key(credential)
                .await
                .map_err(|e| ApiError::internal("checking an API key", &e))?;
            found
                .map(Caller::Key)
                .ok_or_else(|| ApiError::unauthorized("the API key is unknown or revoked"))?
        } else {
            let claims = state.tokens.verify(credential, (state.clock)())?;
            Caller::Checkout {
                claims,
                token_tag: credential_tag(credential),
            }
        };
        let tag = match &caller {
            Caller::Key(key) => format!("key:{}", key.id),
            Caller::Checkout { token_tag, .. } => token_tag.clone(),
        };
        state.limits.check_credential_for(access, &tag)?;
        Ok(caller)
    }
}

/// Turns a [`Forbidden`] into the API's 403.
impl From<Forbidden> for ApiError {
    fn from(f: Forbidden) -> Self {
        let err = ApiError::new(StatusCode::FORBIDDEN, "forbidden", f.message);
        match f.field {
            Some(field) => err.at(field),
            None => err,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(scope: &str) -> Caller {
        Caller::Checkout {
            claims: Claims {
                iss: "lyric".into(),
                sub: "C-1".into(),
                aud: AUDIENCE.into(),
                iat: 0,
                exp: 900,
                nbf: None,
                scope: scope.into(),
                basket: None,
                operator: None,
                contact: None,
                activity: None,
            },
            token_tag: "tag".into(),
        }
    }

    fn key(role: Role) -> Caller {
        Caller::Key(ApiKey {
            id: "0123456789ab".into(),
            role,
            partner_id: (role == Role::Partner).then(|| "alpha".to_owned()),
            label: None,
            created_at: consent_core::Timestamp::from_unix_millis(0),
            revoked_at: None,
        })
    }

    #[test]
    fn activity_is_reported_by_an_admin_key_or_a_token_with_activity_write() {
        let cases = [
            ("admin key", key(Role::Admin), true),
            ("partner key", key(Role::Partner), false),
            ("the venue server's token", token("activity:write"), true),
            (
                "with other scopes",
                token("consent:read activity:write"),
                true,
            ),
            (
                "a patron's token",
                token("consent:write consent:read"),
                false,
            ),
            (
                "a venue-wide record token",
                token("consent:write:venue"),
                false,
            ),
            ("a near miss", token("activity:write:all activity"), false),
            ("no scope", token(""), false),
        ];
        for (what, caller, allowed) in cases {
            let result = caller.may_write_activity();
            assert_eq!(result.is_ok(), allowed, "{what}: {result:?}");
            if let Err(f) = result {
                assert_eq!(f.field, None, "{what}");
            }
        }
    }
}
