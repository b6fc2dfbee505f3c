//! API keys on SQLite.

use consent_core::Timestamp;
use rusqlite::{params, OptionalExtension};

use super::{lock, Db, DbError};
use crate::keys::{self, ApiKey, KeySpec, NewKey};

impl Db {
    /// Adds an API key; returns it and its text, shown once.
    pub fn add_key(&self, spec: &KeySpec, now: Timestamp) -> Result<(ApiKey, String), DbError> {
        let new = NewKey::make(spec, now)?;
        let k = &new.key;
        lock(&self.writer).execute(
            "INSERT INTO api_keys (id, role, partner_id, label, secret_sha256, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                k.id,
                k.role.as_str(),
                k.partner_id,
                k.label,
                new.secret_sha256,
                now.unix_millis()
            ],
        )?;
        Ok((new.key, new.text))
    }

    /// Every key, revoked ones included, oldest first.
    pub fn list_keys(&self) -> Result<Vec<ApiKey>, DbError> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT id, role, partner_id, label, created_at_ms, revoked_at_ms
             FROM api_keys ORDER BY created_at_ms, id",
        )?;
        let rows = stmt.query_map([], key_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revokes a key by id; false if there is no such live key.
    pub fn revoke_key(&self, id: &str, now: Timestamp) -> Result<bool, DbError> {
        let n = lock(&self.writer).execute(
            "UPDATE api_keys SET revoked_at_ms = ?2 WHERE id = ?1 AND revoked_at_ms IS NULL",
            params![id, now.unix_millis()],
        )?;
        Ok(n == 1)
    }

    /// The live key a credential stands for, if any.
    pub fn find_key(&self, credential: &str) -> Result<Option<ApiKey>, DbError> {
        let Some((id, secret)) = keys::split_key(credential) else {
            return Ok(None);
        };
        let conn = self.reader();
        let found = conn
            .prepare_cached(
                "SELECT id, role, partner_id, label, created_at_ms, revoked_at_ms, secret_sha256
                 FROM api_keys WHERE id = ?1 AND revoked_at_ms IS NULL",
            )?
            .query_row([id], |r| Ok((key_row(r)?, r.get::<_, String>(6)?)))
            .optional()?;
        Ok(found
            .filter(|(_, hash)| keys::secret_matches(hash, secret))
            .map(|(key, _)| key))
    }
}

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey::from_columns(
        r.get(0)?,
        &r.get::<_, String>(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}
