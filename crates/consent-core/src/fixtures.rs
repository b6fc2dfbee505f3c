//! Synthetic inputs for benchmarks and property tests: baskets of any size
//! over any number of partners. Deterministic, so figures are comparable.

use crate::domain::{
    BasketLine, Channel, DecisionState, EventId, LocalizedText, Notice, Partner, PartnerId,
    Preference,
};
use crate::time::Timestamp;

/// `n` partners, `p0` … `p{n-1}`, each with a one-locale notice at version 1.
pub fn partners(n: usize) -> Vec<Partner> {
    (0..n)
        .map(|i| Partner {
            id: PartnerId(format!("p{i}")),
            name: format!("Partner {i} Productions"),
            privacy_url: format!("https://partner{i}.example/privacy"),
            privacy_summary: LocalizedText::new(),
            notice: Notice {
                id: format!("n{i}"),
                version: 1,
                text: LocalizedText::from([(
                    "en-GB".to_owned(),
                    format!("Partner {i} would like to email you."),
                )]),
                purpose: "marketing".to_owned(),
                channels: vec![Channel::Email],
                what_changed: LocalizedText::new(),
                basis: Default::default(),
            },
            ask_individually: false,
            own: false,
        })
        .collect()
}

/// A basket of `lines` events; line `i` names partner `i % partners` and,
/// on every third line, a co-producer `(i * 7 + 3) % partners` too.
pub fn basket(lines: usize, partners: usize) -> Vec<BasketLine> {
    let partners = partners.max(1);
    (0..lines)
        .map(|i| {
            let mut ids = vec![PartnerId(format!("p{}", i % partners))];
            if i % 3 == 0 {
                ids.push(PartnerId(format!("p{}", (i * 7 + 3) % partners)));
            }
            BasketLine {
                event_id: EventId(format!("e{i}")),
                title: format!("Event {i}"),
                partner_ids: ids,
            }
        })
        .collect()
}

/// Answers for every `every`-th partner: given to notice version 1.
pub fn preferences(partners: usize, every: usize) -> Vec<Preference> {
    (0..partners)
        .step_by(every.max(1))
        .map(|i| Preference {
            partner_id: PartnerId(format!("p{i}")),
            state: DecisionState::Given,
            notice_id: None,
            notice_version: 1,
            decided_at: Timestamp::from_unix_millis(1_700_000_000_000),
            valid_until: None,
            record_id: None,
            channels: vec![Channel::Email],
            notice_text: None,
            supersedes: None,
            received_at: None,
            imported: false,
        })
        .collect()
}
