//! A patron's contact points: what a venue may send (`ContactV1`), how
//! each is checked and normalised, and which point a channel uses. Pure;
//! the host keys digests of the normalised points (`consent-store`).

use crate::domain::Channel;
use crate::record::FieldError;
use crate::wire::ContactV1;

/// Longest email address (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;
/// Longest phone number, as typed (spaces and punctuation included).
pub const MAX_PHONE: usize = 32;
/// Longest postal address.
pub const MAX_POSTAL: usize = 500;

/// The contact point a channel uses: email for `email`, the phone number
/// for `sms` and `phone`, the postal address for `post`.
pub fn point(contact: &ContactV1, channel: Channel) -> Option<&str> {
    match channel {
        Channel::Email => contact.email.as_deref(),
        Channel::Sms | Channel::Phone => contact.phone.as_deref(),
        Channel::Post => contact.postal.as_deref(),
    }
}

/// The contact points of `channels` only, as a partner may receive them
/// (no email for a post-only yes).
pub fn for_channels(contact: &ContactV1, channels: &[Channel]) -> ContactV1 {
    let has = |c: &[Channel]| channels.iter().any(|ch| c.contains(ch));
    ContactV1 {
        email: contact.email.clone().filter(|_| has(&[Channel::Email])),
        phone: contact
            .phone
            .clone()
            .filter(|_| has(&[Channel::Sms, Channel::Phone])),
        postal: contact.postal.clone().filter(|_| has(&[Channel::Post])),
    }
}

/// The form a point is digested in, so the same address typed twice
/// gives the same digest: an email trimmed and lowercased; a phone number
/// reduced to its digits (a leading `+` kept); a postal address with its
/// white space collapsed, one line per line.
pub fn normalise(channel: Channel, value: &str) -> String {
    match channel {
        Channel::Email => value.trim().to_lowercase(),
        Channel::Sms | Channel::Phone => {
            let trimmed = value.trim();
            let plus = if trimmed.starts_with('+') { "+" } else { "" };
            let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
            format!("{plus}{digits}")
        }
        Channel::Post => value
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// Checks every point of a contact; `at` prefixes the field paths
/// (`token.contact`, `contact`). Every problem, not just the first.
pub fn check(contact: &ContactV1, at: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut fail = |field: &str, message: &str| {
        errors.push(FieldError {
            field: format!("{at}.{field}"),
            message: message.to_owned(),
        })
    };
    if let Some(email) = &contact.email {
        let trimmed = email.trim();
        let (local, domain) = trimmed.split_once('@').unwrap_or(("", ""));
        if trimmed.len() > MAX_EMAIL {
            fail("email", "is longer than 254 characters");
        } else if local.is_empty()
            || domain.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || trimmed.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            fail(
                "email",
                "must be an email address such as patron@example.org",
            );
        }
    }
    if let Some(phone) = &contact.phone {
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        let allowed = |c: char| c.is_ascii_digit() || " +-().".contains(c);
        if phone.len() > MAX_PHONE {
            fail("phone", "is longer than 32 characters");
        } else if !phone.trim().chars().all(allowed)
            || phone.trim().get(1..).is_some_and(|rest| rest.contains('+'))
            || !(6..=15).contains(&digits)
        {
            fail(
                "phone",
                "must be a phone number of 6 to 15 digits, such as +44 20 7946 0000",
            );
        }
    }
    if let Some(postal) = &contact.postal {
        if postal.len() > MAX_POSTAL {
            fail("postal", "is longer than 500 characters");
        } else if postal.trim().is_empty() {
            fail("postal", "must not be empty; leave it out instead");
        } else if postal.chars().any(|c| c.is_control() && c != '\n') {
            fail(
                "postal",
                "must not hold control characters other than line breaks",
            );
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(email: Option<&str>, phone: Option<&str>, postal: Option<&str>) -> ContactV1 {
        ContactV1 {
            email: email.map(str::to_owned),
            phone: phone.map(str::to_owned),
            postal: postal.map(str::to_owned),
        }
    }

    #[test]
    fn each_channel_uses_its_point() {
        let c = contact(Some("a@b.org"), Some("+44 1"), Some("1 High St"));
        let table = [
            (Channel::Email, Some("a@b.org")),
            (Channel::Sms, Some("+44 1")),
            (Channel::Phone, Some("+44 1")),
            (Channel::Post, Some("1 High St")),
        ];
        for (channel, want) in table {
            assert_eq!(point(&c, channel), want, "{channel:?}");
        }
        assert_eq!(point(&ContactV1::default(), Channel::Email), None);
    }

    #[test]
    fn a_partner_gets_only_the_channels_agreed() {
        let c = contact(Some("a@b.org"), Some("+441234567"), Some("1 High St"));
        let cases: [(&[Channel], ContactV1); 4] = [
            (&[Channel::Post], contact(None, None, Some("1 High St"))),
            (&[Channel::Email], contact(Some("a@b.org"), None, None)),
            (&[Channel::Sms], contact(None, Some("+441234567"), None)),
            (&[], ContactV1::default()),
        ];
        for (channels, want) in cases {
            assert_eq!(for_channels(&c, channels), want, "{channels:?}");
        }
    }

    #[test]
    fn the_same_address_typed_twice_normalises_the_same() {
        let table = [
            (Channel::Email, " Pat@Example.ORG ", "pat@example.org"),
            (Channel::Sms, "+44 (20) 7946-0000", "+442079460000"),
            (Channel::Phone, "020 7946 0000", "02079460000"),
            (
                Channel::Post,
                " 1  High St \n\n Leeds  LS1 1AA ",
                "1 High St\nLeeds LS1 1AA",
            ),
        ];
        for (channel, typed, want) in table {
            assert_eq!(normalise(channel, typed), want, "{channel:?}");
        }
    }

    #[test]
    fn checks_name_every_bad_point() {
        let ok = contact(
            Some("pat@example.org"),
            Some("+44 20 7946 0000"),
            Some("1 High St\nLeeds"),
        );
        assert!(check(&ok, "contact").is_empty());
        let bad = contact(Some("not an email"), Some("call me"), Some("  "));
        let fields: Vec<String> = check(&bad, "token.contact")
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "token.contact.email",
                "token.contact.phone",
                "token.contact.postal"
            ]
        );
        for email in ["a@b", "@b.org", "a@@b.org", "a b@c.org"] {
            assert_eq!(
                check(&contact(Some(email), None, None), "c").len(),
                1,
                "{email}"
            );
        }
        for phone in ["12345", "+44 1234 +5678", "1234567890123456"] {
            assert_eq!(
                check(&contact(None, Some(phone), None), "c").len(),
                1,
                "{phone}"
            );
        }
    }
}
