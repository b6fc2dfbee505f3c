//! [`FromJson`] and [`ToJson`] for the wire types, for the widget (see
//! [`crate::json`] for why it does not use serde). Field names and optional
//! fields match the serde attributes in [`crate::wire`] exactly;
//! `tests/json.rs` holds the two to the same output.

use crate::domain::{Channel, CollectionChannel, DecisionState, Venue};
use crate::json::{object, one_of, write_str, FromJson, Json, Obj, Path, ReadError, ToJson};
use crate::time::Timestamp;
use crate::wire::*;

/// Names each variant of a string enum, once, for reading and writing.
macro_rules! names {
    ($ty:ident { $($name:literal => $var:ident),* $(,)? }) => {
        impl $ty {
            /// Every variant with its JSON name.
            pub const NAMES: &'static [(&'static str, $ty)] = &[$(($name, $ty::$var)),*];
        }

        impl FromJson for $ty {
            fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
                one_of(v, at, Self::NAMES)
            }
        }

        impl ToJson for $ty {
            fn write_json(&self, out: &mut String) {
                let name = Self::NAMES.iter().find(|(_, t)| t == self).map_or("", |(n, _)| n);
                write_str(out, name);
            }
        }
    };
}

names!(Channel { "email" => Email, "post" => Post, "sms" => Sms, "phone" => Phone });
names!(CollectionChannel { "web" => Web, "box-office" => BoxOffice, "phone" => Phone });
names!(DecisionState {
    "given" => Given, "refused" => Refused, "withdrawn" => Withdrawn, "deferred" => Deferred,
});
names!(PresentationMode { "individual" => Individual, "general" => General, "account" => Account });
names!(Control {
    "radio" => Radio, "radio-with-channels" => RadioWithChannels, "operator-entry" => OperatorEntry,
});
names!(Action {
    "selected-yes" => SelectedYes, "selected-no" => SelectedNo, "no-answer" => NoAnswer,
    "withdrew" => Withdrew,
});
names!(DpvState {
    "ConsentGiven" => ConsentGiven, "RenewedConsentGiven" => RenewedConsentGiven,
    "ConsentRefused" => ConsentRefused, "ConsentWithdrawn" => ConsentWithdrawn,
    "ConsentRequestDeferred" => ConsentRequestDeferred,
});
names!(ExpressedBy {
    "customer" => Customer, "operator-on-behalf-of-customer" => OperatorOnBehalfOfCustomer,
});
names!(Embed { "module" => Module, "script" => Script, "iframe" => Iframe, "demo" => Demo });

impl FromJson for Timestamp {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let s = String::from_json(v, at)?;
        Timestamp::parse_rfc3339(&s).map_err(|e| {
            ReadError::at(
                at,
                format!("must be an RFC 3339 date-time such as 2026-11-25T14:03:07Z ({e})"),
            )
        })
    }
}

impl ToJson for Timestamp {
    fn write_json(&self, out: &mut String) {
        write_str(out, &self.to_string());
    }
}

// ---- Config ----------------------------------------------------------------

impl FromJson for ConfigV1 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let o = Obj::new(
            v,
            at,
            &[
                "endpoint",
                "customerId",
                "venue",
                "jurisdiction",
                "locale",
                "defaultLocale",
                "mode",
                "generalNotice",
                "requireAnswer",
                "reaskOnNoticeChange",
                "validityDays",
                "channel",
                "operatorId",
                "partners",
                "basket",
                "preferences",
                "headingLevel",
                "theme",
                "headers",
                "credentials",
                "token",
                "showGpcNote",
                "submitButton",
                "strings",
            ],
        )?;
        Ok(ConfigV1 {
            endpoint: o.req("endpoint")?,
            customer_id: o.req("customerId")?,
            venue: o.opt("venue")?,
            jurisdiction: o.opt("jurisdiction")?,
            locale: o.opt("locale")?,
            default_locale: o.opt("defaultLocale")?,
            mode: o.opt("mode")?,
            general_notice: o.opt("generalNotice")?,
            require_answer: o.or_default("requireAnswer")?,
            reask_on_notice_change: o.opt("reaskOnNoticeChange")?,
            validity_days: o.opt("validityDays")?,
            channel: o.opt("channel")?,
            operator_id: o.opt("operatorId")?,
            partners: o.req("partners")?,
            basket: o.req("basket")?,
            preferences: o.or_default("preferences")?,
            heading_level: o.opt("headingLevel")?,
            theme: o.opt("theme")?,
            headers: o.or_default("headers")?,
            credentials: o.opt("credentials")?,
            token: o.opt("token")?,
            show_gpc_note: o.or_default("showGpcNote")?,
            submit_button: o.opt("submitButton")?,
            strings: o.or_default("strings")?,
        })
    }
}

impl FromJson for Venue {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let o = Obj::new(v, at, &["id", "name"])?;
        Ok(Venue {
            id: o.req("id")?,
            name: o.req("name")?,
        })
    }
}

impl ToJson for Venue {
    fn write_json(&self, out: &mut String) {
        object(out, |o| {
            o.field("id", &self.id).field("name", &self.name);
        });
    }
}

impl FromJson for PartnerConfigV1 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let o = Obj::new(
            v,
            at,
            &["id", "name", "privacyUrl", "privacySummary", "notice"],
        )?;
        Ok(PartnerConfigV1 {
            id: o.req("id")?,
            name: o.req("name")?,
            privacy_url: o.req("privacyUrl")?,
            privacy_summary: o.or_default("privacySummary")?,
            notice: o.req("notice")?,
        })
    }
}

impl FromJson for NoticeConfigV1 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let o = Obj::new(
            v,
            at,
            &[
                "id",
                "version",
                "text",
                "purpose",
                "channels",
                "whatChanged",
            ],
        )?;
        Ok(NoticeConfigV1 {
            id: o.req("id")?,
            version: o.req("version")?,
            text: o.req("text")?,
            purpose: o.opt("purpose")?,
            channels: o.or_default("channels")?,
            what_changed: o.or_default("whatChanged")?,
        })
    }
}

impl FromJson for BasketV1 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let o = Obj::new(v, at, &["ref", "lines"])?;
        Ok(BasketV1 {
            r#ref: o.opt("ref")?,
            lines: o.req("lines")?,
        })
    }
}

impl FromJson for BasketLineV1 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let o = Obj::new(v, at, &["eventId", "title", "partnerIds"])?;
        Ok(BasketLineV1 {
            event_id: o.req("eventId")?,
            title: o.req("title")?,
            partner_ids: o.or_default("partnerIds")?,
        })
    }
}

impl FromJson for ThemeV1 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let o = Obj::new(v, at, &["preset", "tokens"])?;
        Ok(ThemeV1 {
            preset: o.opt("preset")?,
            tokens: o.or_default("tokens")?,
        })
    }
}

const PREFERENCE_FIELDS: &[&str] = &[
    "partnerId",
    "state",
    "noticeId",
    "noticeVersion",
    "decidedAt",
    "validUntil",
    "recordId",
    "channels",
    "noticeText",
    "noticeLanguage",
];

impl FromJson for PreferenceV1 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let o = Obj::new(v, at, PREFERENCE_FIELDS)?;
        Ok(PreferenceV1 {
            partner_id: o.req("partnerId")?,
            state: o.req("state")?,
            notice_id: o.opt("noticeId")?,
            notice_version: o.req("noticeVersion")?,
            decided_at: o.req("decidedAt")?,
            valid_until: o.opt("validUntil")?,
            record_id: o.opt("recordId")?,
            channels: o.or_default("channels")?,
            notice_text: o.opt("noticeText")?,
            notice_language: o.opt("noticeLanguage")?,
        })
    }
}

// ---- Records ---------------------------------------------------------------

impl FromJson for ConsentRecordV1 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let o = Obj::new(
            v,
            at,
            &[
                "schema",
                "recordId",
                "supersedes",
                "customerId",
                "venue",
                "partner",
                "purpose",
                "channels",
                "state",
                "dpvState",
                "notice",
                "presentation",
                "action",
                "presentedAt",
                "decidedAt",
                "collection",
                "jurisdiction",
                "validUntil",
                "receivedAt",
            ],
        )?;
        Ok(ConsentRecordV1 {
            schema: o.req("schema")?,
            record_id: o.req("recordId")?,
            supersedes: o.opt("supersedes")?,
            customer_id: o.req("customerId")?,
            venue: o.req("venue")?,
            partner: o.req("partner")?,
            purpose: o.req("purpose")?,
            channels: o.req("channels")?,
            state: o.req("state")?,
            dpv_state: o.req("dpvState")?,
            notice: o.req("notice")?,
            presentation: o.req("presentation")?,
            action: o.req("action")?,
            presented_at: o.req("presentedAt")?,
            decided_at: o.req("decidedAt")?,
            collection: o.req("collection")?,
            jurisdiction: o.req("jurisdiction")?,
            valid_until: o.opt("validUntil")?,
            received_at: o.opt("receivedAt")?,
        })
    }
}

impl ToJson for ConsentRecordV1 {
    fn write_json(&self, out: &mut String) {
        object(out, |o| {
            o.field("schema", &self.schema)
                .field("recordId", &self.record_id)
                .field("supersedes", &self.supersedes)
                .field("customerId", &self.customer_id)
                .field("venue", &self.venue)
                .field("partner", &self.partner)
                .field("purpose", &self.purpose)
                .field("channels", &self.channels)
                .field("state", &self.state)
                .field("dpvState", &self.dpv_state)
                .field("notice", &self.notice)
                .field("presentation", &self.presentation)
                .field("action", &self.action)
                .field("presentedAt", &self.presented_at)
                .field("decidedAt", &self.decided_at)
                .field("collection", &self.collection)
                .field("jurisdiction", &self.jurisdiction)
                .field("validUntil", &self.valid_until)
                .some("receivedAt", &self.received_at);
        });
    }
}

impl FromJson for PartnerRefV1 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let o = Obj::new(v, at, &["id", "name", "privacyUrl"])?;
        Ok(PartnerRefV1 {
            id: o.req("id")?,
            name: o.req("name")?,
            privacy_url: o.req("privacyUrl")?,
        })
    }
}

impl ToJson for PartnerRefV1 {
    fn write_json(&self, out: &mut String) {
        object(out, |o| {
            o.field("id", &self.id)
                .field("name", &self.name)
                .field("privacyUrl", &self.privacy_url);
        });
    }
}

impl FromJson for NoticeV1 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let o = Obj::new(v, at, &["id", "version", "language", "text", "sha256"])?;
        Ok(NoticeV1 {
            id: o.req("id")?,
            version: o.req("version")?,
            language: o.req("language")?,
            text: o.req("text")?,
            sha256: o.req("sha256")?,
        })
    }
}

impl ToJson for NoticeV1 {
    fn write_json(&self, out: &mut String) {
        object(out, |o| {
            o.field("id", &self.id)
                .field("version", &self.version)
                .field("language", &self.language)
                .field("text", &self.text)
                .field("sha256", &self.sha256);
        });
    }
}

impl FromJson for PresentationV1 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let o = Obj::new(v, at, &["mode", "control", "preselected"])?;
        Ok(PresentationV1 {
            mode: o.req("mode")?,
            control: o.req("control")?,
            preselected: o.req("preselected")?,
        })
    }
}

impl ToJson for PresentationV1 {
    fn write_json(&self, out: &mut String) {
        object(out, |o| {
            o.field("mode", &self.mode)
                .field("control", &self.control)
                .field("preselected", &self.preselected);
        });
    }
}

impl FromJson for CollectionV1 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let o = Obj::new(
            v,
            at,
            &[
                "channel",
                "embed",
                "pageOrigin",
                "pagePath",
                "widgetVersion",
                "basketRef",
                "eventIds",
                "operatorId",
                "expressedBy",
                "gpc",
            ],
        )?;
        Ok(CollectionV1 {
            channel: o.req("channel")?,
            embed: o.req("embed")?,
            page_origin: o.req("pageOrigin")?,
            page_path: o.req("pagePath")?,
            widget_version: o.req("widgetVersion")?,
            basket_ref: o.opt("basketRef")?,
            event_ids: o.req("eventIds")?,
            operator_id: o.opt("operatorId")?,
            expressed_by: o.req("expressedBy")?,
            gpc: o.opt("gpc")?,
        })
    }
}

impl ToJson for CollectionV1 {
    fn write_json(&self, out: &mut String) {
        object(out, |o| {
            o.field("channel", &self.channel)
                .field("embed", &self.embed)
                .field("pageOrigin", &self.page_origin)
                .field("pagePath", &self.page_path)
                .field("widgetVersion", &self.widget_version)
                .field("basketRef", &self.basket_ref)
                .field("eventIds", &self.event_ids)
                .field("operatorId", &self.operator_id)
                .field("expressedBy", &self.expressed_by)
                .field("gpc", &self.gpc);
        });
    }
}

impl ToJson for RecordBatchV1 {
    fn write_json(&self, out: &mut String) {
        object(out, |o| {
            o.field("records", &self.records);
        });
    }
}

// ---- Backend answers -------------------------------------------------------

impl FromJson for StoredV1 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        // Answers from the backend may grow fields; only ours are read.
        let o = Obj::lenient(v, at)?;
        Ok(StoredV1 {
            stored: o.req("stored")?,
            duplicates: o.or_default("duplicates")?,
        })
    }
}

impl FromJson for StoredRecordV1 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let o = Obj::lenient(v, at)?;
        Ok(StoredRecordV1 {
            record_id: o.req("recordId")?,
            received_at: o.req("receivedAt")?,
        })
    }
}

impl FromJson for ErrorBodyV1 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let o = Obj::lenient(v, at)?;
        Ok(ErrorBodyV1 {
            error: o.req("error")?,
        })
    }
}

impl FromJson for ErrorV1 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let o = Obj::lenient(v, at)?;
        Ok(ErrorV1 {
            code: o.req("code")?,
            message: o.req("message")?,
            field: o.opt("field")?,
        })
    }
}
