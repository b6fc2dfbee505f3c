//! `consent-host import`: a venue's earlier consents brought into the
//! ledger, marked as such.
//!
//! Venues hold years of preferences with no time, channel or wording
//! stamps. The guidance is to document them as such or ask again: each
//! imported answer becomes a record of collection channel `import`, action
//! `imported`, with the venue's `source` and whether it was dated
//! (`consent_core::record::imported_record`), chained like any other. A
//! partner export marks it; `reaskImported` asks it again.
//!
//! The file is read whole and checked first: every bad row is named by
//! line and field, and nothing is written unless every row is good. Then
//! the new records go in one transaction. Record ids are derived from the
//! row (venue, customer, partner, state, channels, date, source), so
//! importing the same file again stores nothing new.

use std::collections::BTreeMap;
use std::path::Path;

use consent_core::domain::{Channel, DecisionState, Venue};
use consent_core::record::{imported_record, ImportedAnswer};
use consent_core::wire::{ConsentRecordV1, PartnerRefV1};
use consent_core::Timestamp;
use serde::Deserialize;

use crate::db::NewRecord;

/// The most problems listed before the rest are counted.
const MAX_LISTED: usize = 100;

/// What `import` was told.
#[derive(Clone, Debug)]
pub struct ImportSpec {
    pub venue: Venue,
    pub jurisdiction: String,
    /// The source of rows that name none (default: the file's name).
    pub source: String,
    /// Partners' names and privacy pages, by id (`--partners`).
    pub partners: BTreeMap<String, PartnerRefV1>,
    /// When this import runs: the decision time of undated rows.
    pub now: Timestamp,
}

/// One bad row, or a bad file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line in the file (the CSV header is line 1).
    pub line: usize,
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.field, self.message)
    }
}

/// A row as read, before it is checked: CSV columns or a JSON line's
/// fields, by their camelCase names.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawRow {
    customer_id: Option<String>,
    partner_id: Option<String>,
    state: Option<String>,
    /// `email post` (CSV: space, `;` or `|` separated) or a JSON array.
    #[serde(default)]
    channels: Option<Channels>,
    decided_at: Option<String>,
    source: Option<String>,
    partner_name: Option<String>,
    privacy_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Channels {
    List(Vec<String>),
    Text(String),
}

/// The file's format, from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    pub fn of(path: &Path) -> Result<Self, String> {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => Ok(Format::Csv),
            Some(e)
                if ["jsonl", "ndjson"]
                    .iter()
                    .any(|x| e.eq_ignore_ascii_case(x)) =>
            {
                Ok(Format::JsonLines)
            }
            _ => Err(format!(
                "{}: name the file .csv or .jsonl (JSON lines), so its format is not guessed",
                path.display()
            )),
        }
    }
}

/// Reads every row of `text`, as `(line, row)`.
fn rows(text: &str, format: Format) -> (Vec<(usize, RawRow)>, Vec<RowError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    match format {
        Format::JsonLines => {
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<RawRow>(line) {
                    Ok(row) => out.push((i + 1, row)),
                    Err(e) => errors.push(RowError {
                        line: i + 1,
                        field: "row".into(),
                        message: format!("not a JSON object of the import's fields: {e}"),
                    }),
                }
            }
        }
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(text.as_bytes());
            for (i, record) in reader.deserialize::<RawRow>().enumerate() {
                // The header is line 1; a record spanning lines reports its start.
                match record {
                    Ok(row) => out.push((i + 2, row)),
                    Err(e) => errors.push(RowError {
                        line: e.position().map_or(i + 2, |p| p.line() as usize),
                        field: "row".into(),
                        message: e.to_string(),
                    }),
                }
            }
        }
    }
    (out, errors)
}

/// Checks one row and makes its answer; every problem of the row.
fn answer_of(line: usize, row: RawRow, spec: &ImportSpec) -> Result<ImportedAnswer, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut fail = |field: &str, message: String| {
        errors.push(RowError {
            line,
            field: field.into(),
            message,
        })
    };
    let text = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let customer_id = text(row.customer_id).unwrap_or_default();
    if customer_id.is_empty() {
        fail("customerId", "is required".into());
    } else if customer_id.len() > consent_core::domain::MAX_CUSTOMER_ID_BYTES {
        fail(
            "customerId",
            format!(
                "is longer than {} bytes",
                consent_core::domain::MAX_CUSTOMER_ID_BYTES
            ),
        );
    }
    let partner_id = text(row.partner_id).unwrap_or_default();
    if partner_id.is_empty() {
        fail("partnerId", "is required".into());
    }
    let state = match text(row.state).as_deref() {
        Some("given" | "yes") => Some(DecisionState::Given),
        Some("refused" | "no") => Some(DecisionState::Refused),
        Some("withdrawn") => Some(DecisionState::Withdrawn),
        Some(other) => {
            fail(
                "state",
                format!("\"{other}\" is not given, refused or withdrawn"),
            );
            None
        }
        None => {
            fail("state", "is required: given, refused or withdrawn".into());
            None
        }
    };
    let names: Vec<String> = match row.channels {
        Some(Channels::List(list)) => list,
        Some(Channels::Text(t)) => t
            .split([' ', ';', '|', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        None => Vec::new(),
    };
    let mut channels = Vec::new();
    for name in &names {
        match Channel::ALL.iter().find(|c| c.as_str() == name.trim()) {
            Some(c) => channels.push(*c),
            None => fail(
                "channels",
                format!("\"{name}\" is not email, post, sms or phone"),
            ),
        }
    }
    if state == Some(DecisionState::Given) && names.is_empty() {
        fail("channels", "a yes needs at least one channel".into());
    }
    let decided_at = match text(row.decided_at) {
        None => None,
        Some(t) => match Timestamp::parse_rfc3339(&t) {
            Ok(at) if at.unix_millis() > spec.now.unix_millis() + 86_400_000 => {
                fail("decidedAt", format!("{t} is in the future"));
                None
            }
            Ok(at) => Some(at),
            Err(_) => {
                fail(
                    "decidedAt",
                    format!("\"{t}\" is not an RFC 3339 date-time such as 2019-04-01T12:00:00Z"),
                );
                None
            }
        },
    };
    let source = text(row.source).unwrap_or_else(|| spec.source.clone());
    let known = spec.partners.get(&partner_id);
    let name = text(row.partner_name).or_else(|| known.map(|p| p.name.clone()));
    let privacy_url = text(row.privacy_url).or_else(|| known.map(|p| p.privacy_url.clone()));
    if name.is_none() && !partner_id.is_empty() {
        fail(
            "partnerName",
            format!("\"{partner_id}\" has no name: add partnerName and privacyUrl columns, or list it in --partners"),
        );
    }
    match &privacy_url {
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => {
            fail("privacyUrl", format!("\"{u}\" is not an http(s) URL"))
        }
        None if !partner_id.is_empty() => fail(
            "privacyUrl",
            format!("\"{partner_id}\" has no privacy page: add a privacyUrl column, or list it in --partners"),
        ),
        _ => {}
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ImportedAnswer {
        customer_id,
        partner: PartnerRefV1 {
            id: partner_id,
            name: name.unwrap_or_default(),
            privacy_url: privacy_url.unwrap_or_default(),
        },
        state: state.unwrap_or(DecisionState::Refused),
        channels,
        decided_at,
        source,
        jurisdiction: spec.jurisdiction.clone(),
    })
}

/// A record id the same row always gets: a UUID v4 in form, made from a
/// digest of what the row says (never of when it was imported).
fn record_id_of(venue: &str, a: &ImportedAnswer) -> String {
    let mut channels: Vec<&str> = a.channels.iter().map(|c| c.as_str()).collect();
    channels.sort_unstable();
    channels.dedup();
    let digest = crate::sha256_hex(&format!(
        "consent-import/1\n{venue}\n{}\n{}\n{}\n{}\n{}\n{}",
        a.customer_id,
        a.partner.id,
        a.state.as_str(),
        channels.join(" "),
        a.decided_at.map(|t| t.to_string()).unwrap_or_default(),
        a.source
    ));
    let h = &digest[..32];
    let variant = ["8", "9", "a", "b"][usize::from_str_radix(&h[16..17], 16).unwrap_or(0) % 4];
    format!(
        "{}-{}-4{}-{variant}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// The file read and checked: the records it makes, or every problem.
pub fn read(
    text: &str,
    format: Format,
    spec: &ImportSpec,
    progress: &dyn Fn(u64),
) -> Result<Vec<ConsentRecordV1>, Vec<RowError>> {
    let (rows, mut errors) = rows(text, format);
    let mut records = Vec::with_capacity(rows.len());
    for (n, (line, row)) in rows.into_iter().enumerate() {
        match answer_of(line, row, spec) {
            Ok(answer) => {
                let id = record_id_of(&spec.venue.id, &answer);
                let record = imported_record(
                    &answer,
                    &spec.venue,
                    spec.now,
                    &id,
                    concat!("consent-host ", env!("CARGO_PKG_VERSION")),
                    crate::sha256_hex,
                );
                match consent_core::record::check_record(&record, crate::sha256_hex) {
                    Ok(()) => records.push(record),
                    Err(e) => errors.push(RowError {
                        line,
                        field: e.field,
                        message: e.message,
                    }),
                }
            }
            Err(mut bad) => errors.append(&mut bad),
        }
        if n % 1000 == 999 {
            progress(n as u64 + 1);
        }
    }
    if errors.is_empty() && records.is_empty() {
        errors.push(RowError {
            line: 1,
            field: "file".into(),
            message: "holds no rows".into(),
        });
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

/// Every problem, as lines for the venue to fix (at most [`MAX_LISTED`],
/// then how many more).
pub fn describe(errors: &[RowError]) -> String {
    let mut out: Vec<String> = errors
        .iter()
        .take(MAX_LISTED)
        .map(|e| e.to_string())
        .collect();
    if errors.len() > MAX_LISTED {
        out.push(format!("… and {} more", errors.len() - MAX_LISTED));
    }
    out.join("\n")
}

/// The partners' names and privacy pages from `--partners`: a config
/// (`{"partners": [...]}`) or the array itself.
pub fn partners_from(text: &str) -> Result<BTreeMap<String, PartnerRefV1>, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Partner {
        id: String,
        name: String,
        privacy_url: String,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum File {
        Config { partners: Vec<Partner> },
        List(Vec<Partner>),
    }
    let file: File = serde_json::from_str(text).map_err(|e| {
        format!(
            "--partners: not a config with partners, nor a list of {{id, name, privacyUrl}}: {e}"
        )
    })?;
    let list = match file {
        File::Config { partners } | File::List(partners) => partners,
    };
    Ok(list
        .into_iter()
        .map(|p| {
            (
                p.id.clone(),
                PartnerRefV1 {
                    id: p.id,
                    name: p.name,
                    privacy_url: p.privacy_url,
                },
            )
        })
        .collect())
}

/// What an import did (or, on a dry run, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub rows: usize,
    /// New records (written, or to write).
    pub new: usize,
    /// Rows imported before (the same ids are stored).
    pub already: usize,
    /// New records by partner and state.
    pub per_partner: BTreeMap<String, BTreeMap<&'static str, usize>>,
}

/// Leaves out the records stored already and counts the rest.
pub fn plan(records: Vec<ConsentRecordV1>, stored: &[String]) -> (Vec<NewRecord>, Summary) {
    let stored: std::collections::HashSet<&str> = stored.iter().map(String::as_str).collect();
    let mut summary = Summary {
        rows: records.len(),
        ..Summary::default()
    };
    let mut seen = std::collections::HashSet::new();
    let mut new = Vec::new();
    for r in records {
        if stored.contains(r.record_id.as_str()) {
            summary.already += 1;
            continue;
        }
        if !seen.insert(r.record_id.clone()) {
            continue; // the same row twice in the file: stored once
        }
        *summary
            .per_partner
            .entry(r.partner.id.clone())
            .or_default()
            .entry(r.state.as_str())
            .or_default() += 1;
        summary.new += 1;
        new.push(NewRecord::new(r));
    }
    (new, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ImportSpec {
        ImportSpec {
            venue: Venue {
                id: "lyric".into(),
                name: "The Lyric".into(),
            },
            jurisdiction: "GB".into(),
            source: "crm.csv".into(),
            partners: partners_from(
                r#"[{"id": "alpha", "name": "Alpha Theatre", "privacyUrl": "https://alpha.example/privacy"}]"#,
            )
            .unwrap(),
            now: Timestamp::from_unix_millis(1_780_000_000_000),
        }
    }

    #[test]
    fn every_bad_row_is_named_by_line_and_field() {
        let csv = "customerId,partnerId,state,channels,decidedAt\n\
                   C-1,alpha,given,email post,2019-04-01T12:00:00Z\n\
                   ,alpha,maybe,fax,yesterday\n\
                   C-3,beta,given,,\n";
        let errors = read(csv, Format::Csv, &spec(), &|_| {}).unwrap_err();
        let named: Vec<String> = errors
            .iter()
            .map(|e| format!("{}:{}", e.line, e.field))
            .collect();
        assert_eq!(
            named,
            [
                "3:customerId",
                "3:state",
                "3:channels",
                "3:decidedAt",
                "4:channels",
                "4:partnerName",
                "4:privacyUrl"
            ]
        );
    }

    #[test]
    fn good_rows_make_marked_records_with_ids_that_do_not_change() {
        let lines = "{\"customerId\":\"C-1\",\"partnerId\":\"alpha\",\"state\":\"given\",\"channels\":[\"post\",\"email\"],\"decidedAt\":\"2019-04-01T12:00:00Z\",\"source\":\"Box office, 2019\"}\n\
                     {\"customerId\":\"C-2\",\"partnerId\":\"alpha\",\"state\":\"refused\"}\n";
        let a = read(lines, Format::JsonLines, &spec(), &|_| {}).unwrap();
        let mut later = spec();
        later.now = Timestamp::from_unix_millis(later.now.unix_millis() + 86_400_000);
        let b = read(lines, Format::JsonLines, &later, &|_| {}).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].record_id, b[0].record_id, "the same row, the same id");
        assert_eq!(a[1].record_id, b[1].record_id, "undated too");
        assert!(consent_core::record::is_uuid_v4(&a[0].record_id));
        assert_eq!(a[0].import.as_ref().unwrap().source, "Box office, 2019");
        assert!(a[0].import.as_ref().unwrap().dated);
        assert_eq!(a[1].import.as_ref().unwrap().source, "crm.csv");
        assert!(!a[1].import.as_ref().unwrap().dated);
        assert_eq!(a[1].decided_at, spec().now);
        let (new, summary) = plan(a.clone(), &[a[0].record_id.clone()]);
        assert_eq!((new.len(), summary.new, summary.already), (1, 1, 1));
    }
}
