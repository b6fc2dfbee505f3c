//! The patron's receipt: their own copy of the answers just saved, as
//! `consent-receipt/1` JSON and as a printable page.
//!
//! Both hold each question's wording exactly as recorded (the record's
//! `notice.text`, never re-derived from the config), the answer, when it was
//! given, the venue and partner, and the record ids. The host serves the
//! same JSON shape at `GET /api/v1/customers/{id}/receipt`.

use crate::domain::DecisionState;
use crate::html::escape_into;
use crate::i18n::{self, Key, Overrides};
use crate::time::Timestamp;
use crate::wire::{Action, ConsentRecordV1, ReceiptV1, RECEIPT_SCHEMA_V1};

/// The receipt for records just committed, in the order they were made.
pub fn receipt(
    customer_id: &str,
    generated_at: Timestamp,
    records: &[ConsentRecordV1],
) -> ReceiptV1 {
    ReceiptV1 {
        schema: RECEIPT_SCHEMA_V1.to_owned(),
        customer_id: customer_id.to_owned(),
        generated_at,
        records: records.to_vec(),
    }
}

/// A file name for the JSON copy: `consent-receipt-<customer>-<date>.json`,
/// with anything but letters, digits, `-` and `_` left out.
pub fn file_name(receipt: &ReceiptV1) -> String {
    let customer: String = receipt
        .customer_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect();
    let date: String = receipt.generated_at.to_string().chars().take(10).collect();
    format!("consent-receipt-{customer}-{date}.json")
}

/// The printable page: a whole HTML document in the patron's language. It
/// has no script and no style (as a `blob:` document it keeps the page's
/// Content Security Policy), so it prints with the browser's own print.
pub fn printable(receipt: &ReceiptV1, overrides: &Overrides, locale: &str) -> String {
    let t = |key: Key| i18n::text(overrides, locale, key).text;
    let venue = receipt
        .records
        .first()
        .map(|r| r.venue.name.as_str())
        .unwrap_or_default();
    let title = i18n::fill(&t(Key::ReceiptTitle), &[("venue", venue)]);
    let mut out = String::with_capacity(2048 + 1024 * receipt.records.len());
    out.push_str("<!doctype html>\n<html lang=\"");
    escape_into(&mut out, locale);
    out.push_str("\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    escape_into(&mut out, &title);
    out.push_str("</title>\n</head>\n<body>\n<h1>");
    escape_into(&mut out, &title);
    out.push_str("</h1>\n<p>");
    escape_into(&mut out, &t(Key::ReceiptIntro));
    out.push_str("</p>\n<dl>\n");
    term(&mut out, &t(Key::ReceiptCustomer), &receipt.customer_id);
    term(
        &mut out,
        &t(Key::ReceiptGenerated),
        &readable_time(receipt.generated_at),
    );
    out.push_str("</dl>\n");
    for r in &receipt.records {
        out.push_str("<section>\n<h2>");
        escape_into(&mut out, &r.partner.name);
        out.push_str("</h2>\n<dl>\n");
        term(&mut out, &t(Key::ReceiptPartner), &r.partner.name);
        out.push_str("<dt>");
        escape_into(&mut out, &t(Key::ReceiptWording));
        out.push_str("</dt>\n<dd><blockquote lang=\"");
        escape_into(&mut out, &r.notice.language);
        out.push_str("\">");
        escape_into(&mut out, &r.notice.text);
        out.push_str("</blockquote></dd>\n");
        let mut answer = t(match r.action {
            Action::SelectedYes => Key::ReceiptYes,
            Action::SelectedNo => Key::ReceiptNo,
            Action::NoAnswer => Key::ReceiptNone,
            Action::Withdrew => Key::ReceiptWithdrew,
            Action::NotOptedOut => Key::ReceiptNotOptedOut,
            Action::OptedOut => Key::ReceiptOptedOut,
            Action::Imported => match r.state {
                DecisionState::Given => Key::ReceiptYes,
                DecisionState::Refused => Key::ReceiptNo,
                DecisionState::Withdrawn => Key::ReceiptWithdrew,
                DecisionState::Deferred => Key::ReceiptNone,
            },
        });
        if r.import.is_some() {
            answer = format!("{answer} ({})", t(Key::ReceiptImported));
        }
        if r.state == DecisionState::Given && !r.channels.is_empty() {
            let names: Vec<String> = r.channels.iter().map(|c| t(Key::channel(*c))).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            answer = format!("{answer} ({})", i18n::join_list(&names, &t(Key::And)));
        }
        term(&mut out, &t(Key::ReceiptAnswer), &answer);
        let basis = match r.basis {
            crate::domain::Basis::Consent => Key::BasisConsent,
            crate::domain::Basis::LegitimateInterests => Key::BasisLegitimateInterests,
        };
        term(&mut out, &t(Key::ReceiptBasis), &t(basis));
        term(&mut out, &t(Key::ReceiptTime), &readable_time(r.decided_at));
        term(&mut out, &t(Key::ReceiptRecord), &r.record_id);
        out.push_str("</dl>\n</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// `2026-11-25 14:03:07 UTC`: the recorded instant, without a clock's
/// guess at the reader's time zone.
fn readable_time(t: Timestamp) -> String {
    let s = t.to_string();
    let (date, rest) = s.split_once('T').unwrap_or((&s, ""));
    let time: String = rest.chars().take(8).collect();
    format!("{date} {time} UTC")
}

fn term(out: &mut String, name: &str, value: &str) {
    out.push_str("<dt>");
    escape_into(out, name);
    out.push_str("</dt>\n<dd>");
    escape_into(out, value);
    out.push_str("</dd>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compact::VecMap;
    use crate::domain::{Channel, CollectionChannel, DecisionState, Venue};
    use crate::wire::{
        CollectionV1, Control, DpvState, Embed, ExpressedBy, NoticeV1, PartnerRefV1,
        PresentationMode, PresentationV1, RECORD_SCHEMA_V1,
    };

    fn record(text: &str) -> ConsentRecordV1 {
        let at = Timestamp::from_unix_millis(1_764_079_387_000);
        ConsentRecordV1 {
            schema: RECORD_SCHEMA_V1.into(),
            record_id: "7d0f3c5e-1f7a-4c1e-9a57-0d7c2b7f4e11".into(),
            supersedes: None,
            customer_id: "C-1001".into(),
            venue: Venue {
                id: "riverside".into(),
                name: "Riverside Playhouse".into(),
            },
            partner: PartnerRefV1 {
                id: "fiery".into(),
                name: "Fiery Angel".into(),
                privacy_url: "https://fiery.example/privacy".into(),
            },
            purpose: "marketing".into(),
            channels: vec![Channel::Email],
            state: DecisionState::Given,
            dpv_state: DpvState::ConsentGiven,
            notice: NoticeV1 {
                id: "fiery-mkt".into(),
                version: 1,
                language: "en-GB".into(),
                text: text.into(),
                sha256: "0".repeat(64),
            },
            presentation: PresentationV1 {
                mode: PresentationMode::Individual,
                control: Control::Radio,
                preselected: false,
            },
            action: Action::SelectedYes,
            presented_at: at,
            decided_at: at,
            collection: CollectionV1 {
                channel: CollectionChannel::Web,
                embed: Embed::Module,
                page_origin: "https://riverside.example".into(),
                page_path: "/checkout".into(),
                widget_version: "0.1.0".into(),
                basket_ref: None,
                event_ids: vec!["hamlet".into()],
                operator_id: None,
                expressed_by: ExpressedBy::Customer,
                gpc: None,
            },
            jurisdiction: "GB".into(),
            valid_until: None,
            received_at: None,
            contact_digests: None,
            basis: Default::default(),
            provenance: Default::default(),
            import: None,
        }
    }

    #[test]
    fn the_receipt_holds_the_records_as_committed() {
        let r = record("Fiery Angel would like to email you.");
        let at = Timestamp::from_unix_millis(1_764_079_387_000);
        let receipt = receipt("C-1001", at, std::slice::from_ref(&r));
        assert_eq!(receipt.schema, "consent-receipt/1");
        assert_eq!(receipt.records, [r]);
        assert_eq!(
            file_name(&receipt),
            "consent-receipt-C-1001-2025-11-25.json"
        );
    }

    #[test]
    fn the_printable_copy_shows_the_exact_wording_escaped() {
        let r = record("Say <b>yes</b> & \"mean\" it");
        let receipt = receipt(
            "C-1",
            Timestamp::from_unix_millis(0),
            std::slice::from_ref(&r),
        );
        let page = printable(&receipt, &VecMap::new(), "en-GB");
        assert!(page.contains("Say &lt;b&gt;yes&lt;/b&gt; &amp; &quot;mean&quot; it"));
        assert!(page.contains(&r.record_id));
        assert!(page.contains(&r.partner.name));
        assert!(!page.contains("<script") && !page.contains("style"));
        let welsh = printable(&receipt, &VecMap::new(), "cy");
        assert!(welsh.contains("Eich ateb"), "{welsh}");
    }
}
