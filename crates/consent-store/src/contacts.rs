//! The patrons' contact points beside the ledger: the SQL both drivers
//! share (`?n` placeholders; PostgreSQL's through
//! [`crate::events::pg_placeholders`]) and reading a row back.
//!
//! A contact is the venue's latest word (a checkout token's `contact`
//! claim, or `PUT /api/v1/customers/{id}/contact`), kept in `contacts`,
//! never in a hashed body, so an erasure deletes it. What a record proves
//! about it is the digest stored in the record
//! ([`crate::ledger::contact_digests`]).

use consent_core::wire::{ContactDigestsV1, ContactV1};

/// Stores a customer's contact, replacing the one before.
pub const UPSERT_SQL: &str =
    "INSERT INTO contacts (customer_id, email, phone, postal, updated_at_ms)
     VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (customer_id) DO UPDATE SET email = excluded.email, phone = excluded.phone,
         postal = excluded.postal, updated_at_ms = excluded.updated_at_ms";

/// A customer's contact.
pub const SELECT_SQL: &str = "SELECT email, phone, postal FROM contacts WHERE customer_id = ?1";

/// Forgets a customer's contact (an erasure, or an empty update).
pub const DELETE_SQL: &str = "DELETE FROM contacts WHERE customer_id = ?1";

/// Forgets the contacts a retention run leaves without a patron: not
/// updated since the cutoff `?1`, of customers with no record (their
/// records were erased, or never came).
pub const STALE_SQL: &str = "DELETE FROM contacts WHERE updated_at_ms < ?1
     AND customer_id NOT IN (SELECT customer_id FROM subjects)";

/// A stored row as a contact; none when every point is empty.
pub fn of_columns(
    email: Option<String>,
    phone: Option<String>,
    postal: Option<String>,
) -> Option<ContactV1> {
    let contact = ContactV1 {
        email,
        phone,
        postal,
    };
    if is_empty(&contact) {
        None
    } else {
        Some(contact)
    }
}

/// Whether a contact holds no point at all.
pub fn is_empty(contact: &ContactV1) -> bool {
    contact.email.is_none() && contact.phone.is_none() && contact.postal.is_none()
}

/// The contact digests a stored body holds, if any (a record sent again
/// is judged against them).
pub fn digests_in(body: &str) -> Option<ContactDigestsV1> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Digests {
        contact_digests: Option<ContactDigestsV1>,
    }
    serde_json::from_str::<Digests>(body).ok()?.contact_digests
}
