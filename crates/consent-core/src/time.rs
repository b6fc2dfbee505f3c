//! A UTC instant with millisecond precision, and its RFC 3339 form.
//!
//! The engine never reads a clock: callers pass `now` in. Records carry
//! times as RFC 3339 UTC with milliseconds (`2026-11-25T14:03:07.120Z`),
//! which is what [`Timestamp::to_rfc3339`] writes. Parsing accepts any
//! RFC 3339 date-time (offsets included) and normalises it to UTC.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const MS_PER_DAY: i64 = 86_400_000;

/// Milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Why a date-time string was rejected.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TimeError(&'static str);

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an RFC 3339 date-time: {}", self.0)
    }
}

impl std::error::Error for TimeError {}

impl Timestamp {
    /// The earliest instant we write: 0000-01-01T00:00:00.000Z.
    pub const MIN: Timestamp = Timestamp(-62_167_219_200_000);
    /// The latest instant we write: 9999-12-31T23:59:59.999Z.
    pub const MAX: Timestamp = Timestamp(253_402_300_799_999);

    /// An instant from milliseconds since the Unix epoch, clamped to years 0–9999.
    pub const fn from_unix_millis(ms: i64) -> Self {
        if ms < Self::MIN.0 {
            Self::MIN
        } else if ms > Self::MAX.0 {
            Self::MAX
        } else {
            Timestamp(ms)
        }
    }

    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    /// This instant plus whole days, saturating at [`Timestamp::MAX`].
    pub const fn plus_days(self, days: u32) -> Self {
        Self::from_unix_millis(self.0.saturating_add(days as i64 * MS_PER_DAY))
    }

    /// Parses only the form records use, UTC with milliseconds
    /// (`2026-11-25T14:03:07.120Z`), as `docs/schema/consent-record.v1.json`
    /// requires: a record's times are proof, so they are taken as written
    /// or refused, never silently converted.
    /// The same instant `months` calendar months earlier, the day of the
    /// month clamped to the target month's length (31 March − 1 month =
    /// 28 or 29 February). Used for retention periods ("36 months").
    pub fn minus_months(self, months: u32) -> Self {
        const DAY_MS: i64 = 86_400_000;
        let days = self.0.div_euclid(DAY_MS);
        let in_day = self.0.rem_euclid(DAY_MS);
        let (y, m, d) = civil_from_days(days);
        let total = y * 12 + i64::from(m - 1) - i64::from(months);
        let (ty, tm) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
        let td = d.min(days_in_month(ty, tm));
        Timestamp::from_unix_millis(days_from_civil(ty, tm, td) * DAY_MS + in_day)
    }

    pub fn parse_canonical(s: &str) -> Result<Self, TimeError> {
        let t = Self::parse_rfc3339(s)?;
        if t.to_string() != s {
            return Err(TimeError(
                "use UTC with milliseconds, as in 2026-11-25T14:03:07.120Z",
            ));
        }
        Ok(t)
    }

    /// Parses an HTTP date in the preferred format of RFC 9110,
    /// `Sun, 06 Nov 1994 08:49:37 GMT` (as in `Retry-After`). The obsolete
    /// RFC 850 and asctime forms are not accepted.
    pub fn parse_http_date(s: &str) -> Option<Self> {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let mut parts = s.split_ascii_whitespace();
        let (_weekday, day, month, year, clock, zone) = (
            parts.next()?.strip_suffix(',')?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if zone != "GMT" || parts.next().is_some() || day.len() != 2 || year.len() != 4 {
            return None;
        }
        let num = |t: &str| -> Option<u32> {
            t.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| t.parse().ok())
                .flatten()
        };
        let (d, y) = (num(day)?, num(year)?);
        let m = MONTHS.iter().position(|&name| name == month)? as u32 + 1;
        let mut hms = clock.split(':');
        let (h, mi, sec) = (num(hms.next()?)?, num(hms.next()?)?, num(hms.next()?)?);
        if hms.next().is_some()
            || d == 0
            || d > days_in_month(i64::from(y), m)
            || h > 23
            || mi > 59
            || sec > 60
        {
            return None;
        }
        let secs = days_from_civil(i64::from(y), m, d) * 86_400
            + i64::from(h) * 3600
            + i64::from(mi) * 60
            + i64::from(sec.min(59));
        Some(Self::from_unix_millis(secs * 1000))
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub fn to_rfc3339(self) -> String {
        self.to_string()
    }

    /// Parses an RFC 3339 date-time such as `2026-11-25T14:03:07Z` or
    /// `2026-11-25T15:03:07.5+01:00`. Sub-millisecond digits are truncated.
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimeError> {
        let b = s.as_bytes();
        if b.len() < 20 {
            return Err(TimeError("too short"));
        }
        let num = |from: usize, len: usize| -> Result<i64, TimeError> {
            let digits = &b[from..from + len];
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err(TimeError("expected digits"));
            }
            Ok(digits
                .iter()
                .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
        };
        let sep = |at: usize, allowed: &[u8]| -> Result<(), TimeError> {
            if allowed.contains(&b[at]) {
                Ok(())
            } else {
                Err(TimeError("unexpected separator"))
            }
        };
        sep(4, b"-")?;
        sep(7, b"-")?;
        sep(10, b"Tt ")?;
        sep(13, b":")?;
        sep(16, b":")?;
        let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
        let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
        if !(1..=12).contains(&month) {
            return Err(TimeError("month out of range"));
        }
        if day < 1 || day > days_in_month(year, month as u32) as i64 {
            return Err(TimeError("day out of range"));
        }
        // RFC 3339 allows second 60 for leap seconds; we fold it into 59.
        if hour > 23 || minute > 59 || second > 60 {
            return Err(TimeError("time out of range"));
        }
        let mut i = 19;
        let mut millis = 0i64;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 3 {
                    millis = millis * 10 + i64::from(b[i] - b'0');
                }
                i += 1;
            }
            let n = i - start;
            if n == 0 {
                return Err(TimeError("empty fraction"));
            }
            for _ in n..3 {
                millis *= 10;
            }
        }
        let offset_minutes = match &b[i..] {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let digits = [*h1, *h2, *m1, *m2];
                if !digits.iter().all(u8::is_ascii_digit) {
                    return Err(TimeError("bad offset"));
                }
                let h = i64::from(h1 - b'0') * 10 + i64::from(h2 - b'0');
                let m = i64::from(m1 - b'0') * 10 + i64::from(m2 - b'0');
                if h > 23 || m > 59 {
                    return Err(TimeError("offset out of range"));
                }
                if *sign == b'+' {
                    h * 60 + m
                } else {
                    -(h * 60 + m)
                }
            }
            _ => return Err(TimeError("expected Z or an offset like +01:00")),
        };
        let days = days_from_civil(year, month as u32, day as u32);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_minutes * 60;
        Ok(Self::from_unix_millis(secs * 1000 + millis))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(MS_PER_DAY);
        let ms_of_day = self.0.rem_euclid(MS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let secs = ms_of_day / 1000;
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            ms_of_day % 1000
        )
    }
}

impl FromStr for Timestamp {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_rfc3339(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Strict: only the form records are written in (see
/// [`Timestamp::parse_canonical`]). Times a venue writes (earlier answers
/// in a config) take any RFC 3339, through [`any_rfc3339`].
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse_canonical(&s).map_err(serde::de::Error::custom)
    }
}

/// `#[serde(deserialize_with)]` for times a venue writes by hand: any
/// RFC 3339 date-time, not only the canonical form records use.
pub mod any_rfc3339 {
    use super::Timestamp;
    use serde::{Deserialize, Deserializer};

    fn read(s: &str) -> Result<Timestamp, String> {
        Timestamp::parse_rfc3339(s).map_err(|e| {
            format!("must be an RFC 3339 date-time such as 2026-11-25T14:03:07Z ({e})")
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        read(&s).map_err(serde::de::Error::custom)
    }

    /// The same, for an optional time.
    pub fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => read(&s).map(Some).map_err(serde::de::Error::custom),
        }
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_795_615_387_120, "2026-11-25T14:03:07.120Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
        ];
        for (ms, text) in cases {
            assert_eq!(Timestamp::from_unix_millis(ms).to_rfc3339(), text, "{ms}");
            assert_eq!(
                Timestamp::parse_rfc3339(text),
                Ok(Timestamp::from_unix_millis(ms)),
                "{text}"
            );
        }
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let utc = Timestamp::parse_rfc3339("2026-11-25T14:03:07.120Z").unwrap();
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-25T15:03:07.12+01:00"),
            Ok(utc)
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-25T09:03:07.1209-05:00"),
            Ok(utc)
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-25t14:03:07.120z"),
            Ok(utc)
        );
    }

    #[test]
    fn rejects_malformed_dates() {
        for bad in [
            "",
            "2026-11-25",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25T10:00:00",
            "2026-11-25T10:00:00.Z",
            "2026-11-25T10:00:00+1:00",
            "2026/11/25T10:00:00Z",
            "２０２６-11-25T10:00:00Z",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn plus_days_saturates() {
        assert_eq!(
            Timestamp::from_unix_millis(0).plus_days(1).unix_millis(),
            MS_PER_DAY
        );
        assert_eq!(Timestamp::MAX.plus_days(u32::MAX), Timestamp::MAX);
    }

    proptest::proptest! {
        #[test]
        fn rfc3339_round_trips(ms in Timestamp::MIN.0..=Timestamp::MAX.0) {
            let t = Timestamp::from_unix_millis(ms);
            proptest::prop_assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Ok(t));
        }
    }

    #[test]
    fn parses_http_dates() {
        let cases = [
            (
                "Sun, 06 Nov 1994 08:49:37 GMT",
                Some("1994-11-06T08:49:37.000Z"),
            ),
            (
                "Wed, 21 Oct 2026 07:28:00 GMT",
                Some("2026-10-21T07:28:00.000Z"),
            ),
            (
                "Thu, 29 Feb 2024 23:59:59 GMT",
                Some("2024-02-29T23:59:59.000Z"),
            ),
            (
                "  Wed, 21 Oct 2026 07:28:00 GMT  ",
                Some("2026-10-21T07:28:00.000Z"),
            ),
            ("Fri, 29 Feb 2025 00:00:00 GMT", None),
            ("Wed, 21 Oct 2026 07:28:00 UTC", None),
            ("Wed, 21 Okt 2026 07:28:00 GMT", None),
            ("Wed 21 Oct 2026 07:28:00 GMT", None),
            ("Wed, 21 Oct 2026 24:00:00 GMT", None),
            ("Wed, 1 Oct 2026 07:28:00 GMT", None),
            ("Sunday, 06-Nov-94 08:49:37 GMT", None),
            ("Sun Nov  6 08:49:37 1994", None),
            ("120", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                Timestamp::parse_http_date(text).map(|t| t.to_string()),
                want.map(str::to_owned),
                "{text:?}"
            );
        }
    }

    #[test]
    fn canonical_form_only_where_records_need_it() {
        for ok in ["2026-11-25T14:03:07.120Z", "0000-01-01T00:00:00.000Z"] {
            assert_eq!(
                Timestamp::parse_canonical(ok).map(|t| t.to_string()),
                Ok(ok.to_owned())
            );
        }
        for lenient in [
            "2026-11-25T15:03:07.120+01:00",
            "2026-11-25T14:03:07Z",
            "2026-11-25T14:03:07.12Z",
            "2026-11-25t14:03:07.120z",
        ] {
            assert!(
                Timestamp::parse_rfc3339(lenient).is_ok(),
                "{lenient} is RFC 3339"
            );
            assert!(
                Timestamp::parse_canonical(lenient).is_err(),
                "{lenient} is not canonical"
            );
        }
    }
}

#[cfg(test)]
mod month_tests {
    use super::Timestamp;

    #[test]
    fn months_back_clamp_to_the_shorter_month() {
        let cases = [
            ("2026-11-25T10:00:00.000Z", 36, "2023-11-25T10:00:00.000Z"),
            ("2026-03-31T23:59:59.999Z", 1, "2026-02-28T23:59:59.999Z"),
            ("2024-03-31T00:00:00.000Z", 1, "2024-02-29T00:00:00.000Z"),
            ("2026-01-15T00:00:00.000Z", 1, "2025-12-15T00:00:00.000Z"),
            ("2026-01-15T00:00:00.000Z", 0, "2026-01-15T00:00:00.000Z"),
        ];
        for (from, months, want) in cases {
            let t = Timestamp::parse_rfc3339(from).unwrap();
            assert_eq!(
                t.minus_months(months).to_string(),
                want,
                "{from} - {months}"
            );
        }
    }
}
