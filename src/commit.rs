//! Commit: answers → records → outbox → backend. The rules come from
//! `consent-core`; this module only gathers what they need from the browser
//! (time, ids, digests) and hands records to delivery.

use consent_core::compact::{sort_small, StrMap};
use consent_core::domain::Mode;
use consent_core::record::{build_record, control_for, presentation_mode, Decision, RecordContext};
use consent_core::session::{finalize, finalize_account, AnswerError};
use consent_core::wire::{ConsentRecordV1, Embed};

use consent_core::outbox::Kept;

use crate::outbox::{self, Delivery, Report};
use crate::platform;
use crate::state::Session;
use crate::text::shown_notice;

/// The widget's version, stamped into every record.
pub const WIDGET_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why a commit did not produce records.
#[derive(Debug, Clone, PartialEq)]
pub enum CommitError {
    /// Answers missing or incomplete: the patron must fix these.
    Invalid(Vec<AnswerError>),
    /// The browser could not give an id or a digest; nothing was recorded.
    Platform(String),
}

/// Builds the records for the current answers.
pub async fn build_records(s: &Session, embed: Embed) -> Result<Vec<ConsentRecordV1>, CommitError> {
    let c = &s.config;
    let now = platform::now();
    let drafts = match c.policy.mode {
        Mode::Account => finalize_account(&s.plan, &c.partners, &c.policy, &s.answers),
        _ => finalize(
            &s.plan,
            &c.partners,
            &c.policy,
            &s.answers,
            c.require_answer,
            now,
        ),
    }
    .map_err(CommitError::Invalid)?;

    // Digest each distinct wording once, with WebCrypto.
    // (Few distinct wordings per checkout, so a list beats a hash map.)
    let mut shown = StrMap::with_capacity(s.plan.questions.len());
    let mut digests: Vec<(String, String)> = Vec::new();
    for q in &s.plan.questions {
        let notice = shown_notice(c, &s.locale, q);
        if !digests.iter().any(|(text, _)| *text == notice.text) {
            let hex = platform::sha256_hex(&notice.text)
                .await
                .map_err(|e| CommitError::Platform(e.0))?;
            digests.push((notice.text.clone(), hex));
        }
        shown.try_insert(q.key.as_str(), notice);
    }
    let hasher = |text: &str| {
        digests
            .iter()
            .find(|(t, _)| t == text)
            .map(|(_, hex)| hex.clone())
    };

    let (page_origin, page_path) = platform::page_location();
    let ctx = RecordContext {
        venue: c.venue.clone(),
        customer_id: c.customer_id.clone(),
        jurisdiction: c.jurisdiction.clone(),
        channel: c.policy.channel,
        embed,
        page_origin,
        page_path,
        widget_version: WIDGET_VERSION.to_owned(),
        basket_ref: c.basket_ref.clone(),
        operator_id: c.operator_id.clone(),
        gpc: s.gpc,
        validity_days: c.policy.validity_days,
    };
    let mut records = Vec::with_capacity(drafts.len());
    for d in drafts {
        let Some(partner) = c.partners.get(d.partner_index) else {
            continue;
        };
        let Some(question) = s.plan.questions.iter().find(|q| q.key == d.question) else {
            continue;
        };
        let Some(notice) = shown.get(&d.question) else {
            continue;
        };
        let control = control_for(question, &c.partners, &c.policy);
        let decision = Decision {
            partner,
            state: d.state,
            action: d.action,
            channels: d.channels,
            mode: presentation_mode(&c.policy.mode, question),
            control,
            notice: notice.clone(),
            presented_at: s.presented_at,
            decided_at: d.decided_at.max(s.presented_at),
            event_ids: d
                .lines
                .iter()
                .filter_map(|i| c.basket.get(*i as usize))
                .map(|l| l.event_id.0.clone())
                .collect(),
            supersedes: d.supersedes,
            renewal: d.renewal,
        };
        let id = platform::random_uuid().map_err(|e| CommitError::Platform(e.0))?;
        let record = build_record(&ctx, &decision, &id, &hasher)
            .map_err(|e| CommitError::Platform(e.to_string()))?;
        records.push(record);
    }
    Ok(records)
}

/// What the first delivery attempt of a commit did.
pub struct FirstAttempt {
    pub report: Report,
    /// Where the records still waiting are kept.
    pub kept: Kept,
    /// Why storage refused the records, when it did.
    pub storage_error: Option<String>,
    /// The run, to be continued in the background when it asked to wait.
    pub delivery: Delivery,
}

/// Keeps the records, then makes the first delivery attempt.
///
/// Returns once the records are in the outbox (or, if storage is blocked,
/// held in memory for the retries of this visit, which `kept` says), with
/// what was delivered and what is pending, held or failed.
pub async fn keep_and_send(records: &[ConsentRecordV1], url: &str) -> FirstAttempt {
    let ids: Vec<String> = records.iter().map(|r| r.record_id.clone()).collect();
    let (_, storage_error) = outbox::keep(records, url);
    let mut run = Delivery::start(url, Some(ids));
    run.go(false).await;
    let mut report = run.report();
    sort_small(&mut report.pending);
    let kept = if outbox::kept_on_device(&report.pending) {
        Kept::Device
    } else {
        Kept::Memory
    };
    if let Some(e) = &storage_error {
        platform::error(&format!(
            "the records could not be kept on this device ({e}); they are retried only while this page stays open"
        ));
    }
    FirstAttempt {
        report,
        kept,
        storage_error,
        delivery: run,
    }
}
