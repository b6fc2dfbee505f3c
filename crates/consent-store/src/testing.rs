//! Fixtures for tests and benchmarks (feature `testing`): valid records
//! built by consent-core's own builder, on the web or at the box office,
//! and the days they are dated by. The storage's tests and the host's
//! share them.

use consent_core::domain::{
    Channel, CollectionChannel, DecisionState, LocalizedText, Notice, Partner, PartnerId, Venue,
};
use consent_core::record::{build_record, Decision, RecordContext, ShownNotice};
use consent_core::wire::{Action, ConsentRecordV1, Control, Embed, PresentationMode};
use consent_core::Timestamp;

use crate::sha256_hex;

pub const DAY: i64 = 86_400_000;
/// 2026-01-01T00:00:00Z.
pub const EPOCH_2026: i64 = 1_767_225_600_000;

pub fn at(day: i64) -> Timestamp {
    Timestamp::from_unix_millis(EPOCH_2026 + day * DAY)
}

/// A lowercase UUID v4 made from a number, for readable fixtures.
pub fn uuid(n: u32) -> String {
    format!("{n:08x}-0000-4000-8000-{n:012x}")
}

pub fn partner(id: &str) -> Partner {
    Partner {
        id: PartnerId::from(id),
        name: format!("{id} Productions"),
        privacy_url: format!("https://{id}.example/privacy"),
        privacy_summary: LocalizedText::new(),
        notice: Notice {
            id: format!("{id}-marketing"),
            version: 2,
            text: LocalizedText::from([(
                "en-GB".to_owned(),
                format!("{id} Productions would like to email you about their shows."),
            )]),
            purpose: "marketing".to_owned(),
            channels: vec![Channel::Email, Channel::Post],
            what_changed: LocalizedText::new(),
            basis: Default::default(),
        },
        ask_individually: false,
        own: false,
    }
}

/// A valid web record built by consent-core's own builder.
pub fn record(
    n: u32,
    customer: &str,
    partner_id: &str,
    state: DecisionState,
    decided_day: i64,
) -> ConsentRecordV1 {
    record_on(
        CollectionChannel::Web,
        n,
        customer,
        partner_id,
        state,
        decided_day,
    )
}

/// The operator of [`desk_record`]s.
pub const DESK: &str = "desk-1";

/// A valid box-office record, entered by the operator [`DESK`]: what a
/// venue-wide token may write, for any patron.
pub fn desk_record(
    n: u32,
    customer: &str,
    partner_id: &str,
    state: DecisionState,
    decided_day: i64,
) -> ConsentRecordV1 {
    record_on(
        CollectionChannel::BoxOffice,
        n,
        customer,
        partner_id,
        state,
        decided_day,
    )
}

pub fn record_on(
    channel: CollectionChannel,
    n: u32,
    customer: &str,
    partner_id: &str,
    state: DecisionState,
    decided_day: i64,
) -> ConsentRecordV1 {
    let assisted = channel.is_assisted();
    let p = partner(partner_id);
    let ctx = RecordContext {
        venue: Venue {
            id: "lyric".to_owned(),
            name: "The Lyric".to_owned(),
        },
        customer_id: customer.to_owned(),
        jurisdiction: "GB".to_owned(),
        channel,
        embed: Embed::Module,
        page_origin: "https://tickets.lyric.example".to_owned(),
        page_path: "/checkout".to_owned(),
        widget_version: "0.1.0".to_owned(),
        basket_ref: Some("B-1".to_owned()),
        operator_id: assisted.then(|| DESK.to_owned()),
        gpc: None,
        validity_days: Some(365),
    };
    let action = match state {
        DecisionState::Given => Action::SelectedYes,
        DecisionState::Refused => Action::SelectedNo,
        DecisionState::Withdrawn => Action::Withdrew,
        DecisionState::Deferred => Action::NoAnswer,
    };
    let decision = Decision {
        partner: &p,
        state,
        action,
        channels: if state == DecisionState::Given {
            vec![Channel::Email]
        } else {
            vec![]
        },
        mode: PresentationMode::Individual,
        control: if assisted {
            Control::OperatorEntry
        } else {
            Control::Radio
        },
        notice: ShownNotice {
            id: p.notice.id.clone(),
            version: p.notice.version,
            language: "en-GB".to_owned(),
            text: p.notice.text["en-GB"].clone(),
        },
        presented_at: at(decided_day),
        decided_at: Timestamp::from_unix_millis(at(decided_day).unix_millis() + 5_000),
        event_ids: vec!["ev-1".to_owned()],
        supersedes: None,
        renewal: false,
    };
    build_record(&ctx, &decision, &uuid(n), &|t: &str| Some(sha256_hex(t))).expect("valid fixture")
}
