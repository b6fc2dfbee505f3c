//! Small builders so each test case reads like the rule it checks.
#![allow(dead_code)]

use consent_core::domain::*;
use consent_core::Timestamp;
use sha2::{Digest, Sha256};

pub const DAY: i64 = 86_400_000;

pub fn at(day: i64) -> Timestamp {
    // Day 0 is 2026-01-01T00:00:00Z.
    Timestamp::from_unix_millis(1_767_225_600_000 + day * DAY)
}

pub fn partner(id: &str, version: u32) -> Partner {
    Partner {
        id: PartnerId::from(id),
        name: format!("{id} Productions"),
        privacy_url: format!("https://{id}.example/privacy"),
        privacy_summary: LocalizedText::new(),
        notice: Notice {
            id: format!("{id}-marketing"),
            version,
            text: LocalizedText::from([
                (
                    "en-GB".to_owned(),
                    format!("{id} Productions would like to email you about their shows."),
                ),
                (
                    "cy".to_owned(),
                    format!("Hoffai {id} Productions anfon e-bost atoch."),
                ),
            ]),
            purpose: "marketing".to_owned(),
            channels: vec![Channel::Email, Channel::Post],
            what_changed: LocalizedText::new(),
            basis: Default::default(),
        },
        ask_individually: false,
        own: false,
    }
}

pub fn line(event: &str, partners: &[&str]) -> BasketLine {
    BasketLine {
        event_id: EventId::from(event),
        title: format!("Show {event}"),
        partner_ids: partners.iter().map(|p| PartnerId::from(*p)).collect(),
    }
}

pub fn pref(partner: &str, state: DecisionState, version: u32, day: i64) -> Preference {
    Preference {
        partner_id: PartnerId::from(partner),
        state,
        notice_id: None,
        notice_version: version,
        decided_at: at(day),
        valid_until: None,
        record_id: Some(format!(
            "00000000-0000-4000-8000-{:012}",
            day.unsigned_abs()
        )),
        channels: vec![Channel::Email],
        notice_text: None,
        supersedes: None,
        received_at: None,
        imported: false,
    }
}

pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
