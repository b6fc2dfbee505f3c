//! The tamper-evident ledger: every stored record is chained to the one
//! before it, so a single hash (the head) commits to every record and
//! their order, as in Certificate Transparency (RFC 6962).
//!
//! For record `n` (in `seq` order, from 1):
//!
//! ```text
//! chain[0] = 64 × "0"
//! chain[n] = SHA-256("consent-ledger/1\n" chain[n-1] "\n" content_sha256[n] "\n" received_at_ms[n])
//! content_sha256[n] = SHA-256(body[n])   -- the record exactly as stored
//! ```
//!
//! The stored body never holds the customer id: its `customerId` is the
//! customer's *subject*, `sub:` + HMAC-SHA256(salt, customer id), with a
//! random salt per customer kept in the `subjects` table. The chain commits
//! to the subject, not the id, so erasing a patron (dropping their salt and
//! id) leaves every hash intact and the ledger still verifies, while
//! nothing left in the file can be tied back to them.
//!
//! [`verify`] recomputes everything from the database (SQLite here, and
//! PostgreSQL in [`crate::pg`], both through [`Verifier`]) and names the
//! first record where it breaks. Someone who can rewrite the file can
//! recompute the whole chain after their change; that is why the host logs
//! checkpoints (count and head) that a venue copies somewhere else, and why
//! `verify` takes an expected head.

use std::fmt;

use hmac::{Hmac, Mac};
use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::sha256_hex;

/// The hash before the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The prefix of a subject in a stored body's `customerId`.
pub const SUBJECT_PREFIX: &str = "sub:";

/// The chain hash of a record, given the chain hash before it.
pub fn link(prev: &str, content_sha256: &str, received_at_ms: i64) -> String {
    sha256_hex(&format!(
        "consent-ledger/1\n{prev}\n{content_sha256}\n{received_at_ms}"
    ))
}

/// A customer's subject: lowercase hex HMAC-SHA256 of the id under the salt.
pub fn subject(salt: &[u8], customer_id: &str) -> String {
    hex::encode(hmac_sha256(salt, &[customer_id.as_bytes()]))
}

/// The digest of the contact point a record's channel concerns: lowercase
/// hex HMAC-SHA256, under the patron's salt, of the channel and the point
/// as [`consent_core::contact::normalise`] writes it. Whoever holds the
/// salt and the address can show that a record concerns it; once the
/// patron is erased (the salt dropped), nobody can.
pub fn contact_digest(salt: &[u8], channel: consent_core::domain::Channel, point: &str) -> String {
    let normalised = consent_core::contact::normalise(channel, point);
    hex::encode(hmac_sha256(
        salt,
        &[
            b"consent-contact/1\n",
            channel.as_str().as_bytes(),
            b"\n",
            normalised.as_bytes(),
        ],
    ))
}

/// The digests of every channel of a record whose contact point is known,
/// or none at all.
pub fn contact_digests(
    salt: &[u8],
    channels: &[consent_core::domain::Channel],
    contact: &consent_core::wire::ContactV1,
) -> Option<consent_core::wire::ContactDigestsV1> {
    let mut digests = consent_core::wire::ContactDigestsV1::default();
    let mut any = false;
    for &channel in channels {
        if let Some(point) = consent_core::contact::point(contact, channel) {
            digests.set(channel, contact_digest(salt, channel, point));
            any = true;
        }
    }
    any.then_some(digests)
}

/// A patron's reference for one partner: what every export row and
/// suppression of that partner carries, derived from the subject (which
/// an erasure keeps, unlinkable), so a partner can match an erased
/// patron's suppression to its earlier exports while the host keeps no
/// id. Different for each partner, so two partners cannot join their
/// lists on it.
pub fn partner_reference(partner_id: &str, subject: &str) -> String {
    let digest = sha256_hex(&format!("consent-partner-ref/1\n{partner_id}\n{subject}"));
    format!("ref_{}", &digest[..32])
}

/// HMAC-SHA256 of the concatenated `parts` under `key`.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The prefix of a sealed value in a stored body.
pub const SEALED_PREFIX: &str = "sealed:v1:";

/// Seals a personal value of a stored body (a basket reference) under the
/// patron's salt: AES-256-GCM-SIV with a key derived from the salt. Erasing
/// the salt erases the value, while the body's bytes, and so every hash,
/// stay as they are. Deterministic (the nonce is a keyed digest of the
/// value), so a record sent again is stored as the same bytes; GCM-SIV is
/// made for exactly that use of nonces.
pub fn seal(salt: &[u8], value: &str) -> String {
    use aes_gcm_siv::aead::{Aead, KeyInit};
    let key = hmac_sha256(salt, &[b"consent-ledger/seal-key"]);
    let nonce_bytes = hmac_sha256(salt, &[b"consent-ledger/seal-nonce\n", value.as_bytes()]);
    let nonce = aes_gcm_siv::Nonce::try_from(&nonce_bytes[..12]).expect("12 bytes");
    let cipher = aes_gcm_siv::Aes256GcmSiv::new_from_slice(&key).expect("a 32-byte key");
    // Encryption into a growable buffer cannot fail.
    let sealed = cipher.encrypt(&nonce, value.as_bytes()).unwrap_or_default();
    format!(
        "{SEALED_PREFIX}{}{}",
        hex::encode(&nonce_bytes[..12]),
        hex::encode(sealed)
    )
}

/// The value [`seal`] sealed under this salt; `None` if `sealed` is not a
/// sealed value, or does not open under this salt (altered, or another
/// patron's).
pub fn unseal(salt: &[u8], sealed: &str) -> Option<String> {
    use aes_gcm_siv::aead::{Aead, KeyInit};
    let rest = sealed.strip_prefix(SEALED_PREFIX)?;
    let bytes = hex::decode(rest).ok()?;
    if bytes.len() < 12 {
        return None;
    }
    let (nonce, sealed) = bytes.split_at(12);
    let nonce = aes_gcm_siv::Nonce::try_from(nonce).ok()?;
    let key = hmac_sha256(salt, &[b"consent-ledger/seal-key"]);
    let cipher = aes_gcm_siv::Aes256GcmSiv::new_from_slice(&key).ok()?;
    let plain = cipher.decrypt(&nonce, sealed).ok()?;
    String::from_utf8(plain).ok()
}

/// Count and head of the ledger.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Head {
    pub count: u64,
    pub head: String,
}

/// Where and why the ledger does not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Break {
    /// The first record (by `seq`) at fault, if the fault is at a record.
    pub seq: Option<i64>,
    pub record_id: Option<String>,
    pub reason: String,
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.seq, &self.record_id) {
            (Some(seq), Some(id)) => write!(f, "record #{seq} ({id}): {}", self.reason),
            (Some(seq), None) => write!(f, "record #{seq}: {}", self.reason),
            _ => f.write_str(&self.reason),
        }
    }
}

/// What `verify` found.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the ledger does not verify at {0}")]
    Broken(Break),
    #[error("reading the database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Reading a PostgreSQL ledger failed (connecting or a query).
    #[error("reading the database: {0}")]
    Storage(String),
}

/// The head as stored (the last record's chain hash), without verifying.
pub fn stored_head(conn: &Connection) -> rusqlite::Result<Head> {
    let last: Option<(i64, String)> = conn
        .query_row(
            "SELECT seq, chain FROM consent_records ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM consent_records", [], |r| r.get(0))?;
    Ok(Head {
        count: count as u64,
        head: last.map_or_else(|| GENESIS.to_owned(), |(_, chain)| chain),
    })
}

/// The checks of [`verify`], fed one stored row at a time in `seq` order,
/// so every backend verifies with the same rules (the functional core;
/// the backends only read rows).
#[derive(Debug)]
pub struct Verifier {
    prev: String,
    expected_seq: i64,
    count: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            prev: GENESIS.to_owned(),
            expected_seq: 1,
            count: 0,
        }
    }
}

/// One stored row as `verify` reads it: the hashed body and every column
/// beside it that reads use, so each can be checked against the body.
#[derive(Clone, Copy, Debug)]
pub struct StoredRow<'a> {
    pub seq: i64,
    pub record_id: &'a str,
    pub subject: &'a str,
    pub partner_id: &'a str,
    pub decided_at_ms: i64,
    pub received_at_ms: i64,
    pub effective_at_ms: i64,
    pub supersedes: Option<&'a str>,
    pub content_sha256: &'a str,
    pub body: &'a str,
    pub chain: &'a str,
    /// Whether the subject has a mapping, or was erased with the erasure
    /// logged; neither means a mapping was removed behind the log's back.
    pub accounted: bool,
}

impl Verifier {
    /// Checks the next record: numbering, digest, body, subject, the
    /// columns derived from the body (partner, decision time, effective
    /// time, supersession), the subject's mapping or erasure, and link.
    pub fn record(&mut self, row: StoredRow<'_>) -> Result<(), Break> {
        let at = |reason: String| Break {
            seq: Some(row.seq),
            record_id: Some(row.record_id.to_owned()),
            reason,
        };
        if row.seq != self.expected_seq {
            return Err(at(format!(
                "expected record #{} here: a record before it was deleted, or the order was changed",
                self.expected_seq
            )));
        }
        if sha256_hex(row.body) != row.content_sha256 {
            return Err(at(
                "the stored body does not match its digest: the record was changed".to_owned(),
            ));
        }
        let parsed: serde_json::Value = serde_json::from_str(row.body)
            .map_err(|_| at("the stored body is not JSON".to_owned()))?;
        if parsed.get("recordId").and_then(|v| v.as_str()) != Some(row.record_id) {
            return Err(at(
                "the body's recordId is not the row's record id".to_owned()
            ));
        }
        let body_subject = parsed.get("customerId").and_then(|v| v.as_str());
        if body_subject != Some(format!("{SUBJECT_PREFIX}{}", row.subject).as_str()) {
            return Err(at(
                "the body's subject is not the row's subject: the record was moved to another customer".to_owned(),
            ));
        }
        check_derived(&parsed, &row).map_err(|column| {
            at(format!(
                "the {column} column does not match the record's body: a column that reads use was edited"
            ))
        })?;
        if !row.accounted {
            return Err(at(
                "the record's customer mapping is gone but no erasure was logged for it: a subjects row was deleted by hand".to_owned(),
            ));
        }
        if link(&self.prev, row.content_sha256, row.received_at_ms) != row.chain {
            return Err(at(
                "the chain does not follow from the record before it: a record was inserted, deleted, reordered or changed".to_owned(),
            ));
        }
        row.chain.clone_into(&mut self.prev);
        self.expected_seq += 1;
        self.count += 1;
        Ok(())
    }

    /// Checks a held subject mapping: a swapped mapping would hand one
    /// patron's records to another.
    pub fn mapping(customer: &str, stored: &str, salt: &[u8]) -> Result<(), Break> {
        if subject(salt, customer) != stored {
            return Err(Break {
                seq: None,
                record_id: None,
                reason: format!(
                    "a customer's subject mapping was altered (subject {}…)",
                    &stored[..stored.len().min(12)]
                ),
            });
        }
        Ok(())
    }

    /// The count and head of every record seen.
    pub fn finish(self) -> Head {
        Head {
            count: self.count,
            head: self.prev,
        }
    }
}

/// The columns stored beside a body, recomputed from it: the name of the
/// first that differs. `effective_at_ms` is the earlier of the decision
/// and the arrival, as the writers store it.
pub fn check_derived(body: &serde_json::Value, row: &StoredRow<'_>) -> Result<(), &'static str> {
    let partner = body.pointer("/partner/id").and_then(|v| v.as_str());
    if partner != Some(row.partner_id) {
        return Err("partner_id");
    }
    let decided = body
        .get("decidedAt")
        .and_then(|v| v.as_str())
        .and_then(|t| consent_core::Timestamp::parse_rfc3339(t).ok())
        .map(|t| t.unix_millis());
    if decided != Some(row.decided_at_ms) {
        return Err("decided_at_ms");
    }
    if row.effective_at_ms != row.decided_at_ms.min(row.received_at_ms) {
        return Err("effective_at_ms");
    }
    let supersedes = body.get("supersedes").and_then(|v| v.as_str());
    if supersedes != row.supersedes {
        return Err("supersedes");
    }
    Ok(())
}

/// Whether a ledger of `now` still holds the checkpoint `count`/`head`,
/// given the chain stored at `count` (`None`: no such record).
pub fn check_checkpoint(
    now: Head,
    count: u64,
    head: &str,
    at_count: Option<String>,
) -> Result<Head, Break> {
    match at_count {
        None => Err(Break {
            seq: None,
            record_id: None,
            reason: format!(
                "the checkpoint counted {count} records but only {} are stored: records were removed from the end",
                now.count
            ),
        }),
        Some(chain) if chain != head => Err(Break {
            seq: Some(count as i64),
            record_id: None,
            reason: "the head here is not the checkpoint's: the ledger was rewritten since".to_owned(),
        }),
        Some(_) => Ok(now),
    }
}

/// Recomputes the whole ledger from the file: every body's digest, every
/// link, the numbering, the record ids, and every subject that still has
/// its salt. Returns the count and head, or the first break.
pub fn verify(conn: &Connection) -> Result<Head, VerifyError> {
    let mut stmt = conn.prepare(VERIFY_ROWS_SQL)?;
    let mut rows = stmt.query([])?;
    let mut verifier = Verifier::default();
    while let Some(row) = rows.next()? {
        let (record_id, subject, partner_id): (String, String, String) =
            (row.get(1)?, row.get(2)?, row.get(3)?);
        let supersedes: Option<String> = row.get(7)?;
        let (content_sha256, body, chain): (String, String, String) =
            (row.get(8)?, row.get(9)?, row.get(10)?);
        verifier
            .record(StoredRow {
                seq: row.get(0)?,
                record_id: &record_id,
                subject: &subject,
                partner_id: &partner_id,
                decided_at_ms: row.get(4)?,
                received_at_ms: row.get(5)?,
                effective_at_ms: row.get(6)?,
                supersedes: supersedes.as_deref(),
                content_sha256: &content_sha256,
                body: &body,
                chain: &chain,
                accounted: row.get(11)?,
            })
            .map_err(VerifyError::Broken)?;
    }
    drop(rows);
    drop(stmt);
    let mut subjects = conn.prepare("SELECT customer_id, subject, salt FROM subjects")?;
    let mut rows = subjects.query([])?;
    while let Some(row) = rows.next()? {
        let salt: Vec<u8> = row.get(2)?;
        Verifier::mapping(&row.get::<_, String>(0)?, &row.get::<_, String>(1)?, &salt)
            .map_err(VerifyError::Broken)?;
    }
    Ok(verifier.finish())
}

/// Every stored row in ledger order, with whether its subject is mapped
/// or logged as erased (the same SQL on SQLite and PostgreSQL).
pub const VERIFY_ROWS_SQL: &str =
    "SELECT r.seq, r.record_id, r.subject, r.partner_id, r.decided_at_ms, r.received_at_ms,
            r.effective_at_ms, r.supersedes, r.content_sha256, r.body, r.chain,
            (EXISTS (SELECT 1 FROM subjects s WHERE s.subject = r.subject)
             OR EXISTS (SELECT 1 FROM erased_subjects e WHERE e.subject = r.subject)) AS accounted
     FROM consent_records r ORDER BY r.seq";

/// [`verify`], and that the ledger still holds an earlier checkpoint: the
/// record at `count` carries `head`. This is what catches a rewrite of the
/// whole chain, or records cut off the end, since the checkpoint was copied.
pub fn verify_extends(conn: &Connection, count: u64, head: &str) -> Result<Head, VerifyError> {
    let now = verify(conn)?;
    let at_count: Option<String> = if count == 0 {
        Some(GENESIS.to_owned())
    } else {
        conn.query_row(
            "SELECT chain FROM consent_records WHERE seq = ?1",
            [count as i64],
            |r| r.get(0),
        )
        .optional()?
    };
    check_checkpoint(now, count, head, at_count).map_err(VerifyError::Broken)
}

/// SHA-256 of arbitrary bytes, lowercase hex (for file digests in tests and tools).
pub fn sha256_bytes_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_depend_on_every_input() {
        let a = link(GENESIS, &"a".repeat(64), 1);
        assert_eq!(a.len(), 64);
        assert_ne!(a, link(GENESIS, &"a".repeat(64), 2));
        assert_ne!(a, link(&"1".repeat(64), &"a".repeat(64), 1));
        assert_ne!(a, link(GENESIS, &"b".repeat(64), 1));
        assert_eq!(a, link(GENESIS, &"a".repeat(64), 1));
    }

    #[test]
    fn sealed_values_open_under_their_salt_only() {
        let sealed = seal(b"salt-one", "B-1001");
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert!(!sealed.contains("B-1001"));
        assert_eq!(sealed, seal(b"salt-one", "B-1001"), "deterministic");
        assert_ne!(sealed, seal(b"salt-one", "B-1002"));
        assert_ne!(sealed, seal(b"salt-two", "B-1001"));
        assert_eq!(unseal(b"salt-one", &sealed).as_deref(), Some("B-1001"));
        assert_eq!(unseal(b"salt-two", &sealed), None);
        assert_eq!(unseal(b"salt-one", "B-1001"), None);
        let mut altered = sealed.clone();
        altered.replace_range(sealed.len() - 2.., "00");
        assert_eq!(unseal(b"salt-one", &altered), None);
    }

    #[test]
    fn subjects_are_salted() {
        let s = subject(b"salt-one", "C-1001");
        assert_eq!(s.len(), 64);
        assert_eq!(s, subject(b"salt-one", "C-1001"));
        assert_ne!(s, subject(b"salt-two", "C-1001"));
        assert_ne!(s, subject(b"salt-one", "C-1002"));
    }
}
