//! `consent-host check-config`: a venue's widget config (the JSON a page
//! gives the prompt, [`ConfigV1`]) checked on the command line the way the
//! widget reads it, so a venue sees every problem before a patron does.
//!
//! Every problem at once, each at its path, in the words the widget gives
//! (`src/js.rs`, `config_from_js`): each key the config does not have
//! (anywhere, with the likely intended name), each value of the wrong type
//! and each missing field (serde_json under `serde_path_to_error`; each
//! time serde stops, a copy is repaired at that path with the core's
//! [`placeholder`] and read again, so one problem never hides the next),
//! then the core's [`validate`], less what was repaired, then every pair
//! of colours the theme draws below WCAG 2.2 AA contrast
//! ([`theme::audit`]).

use consent_core::config::{self, placeholder, read_issue, validate, Config, Issue, Placeholder};
use consent_core::theme;
use consent_core::wire::ConfigV1;
use serde::Serialize;
use serde_json::Value;

/// What a check found: the errors and warnings, the config as the widget
/// would take it, and the theme's contrast audit.
#[derive(Debug)]
pub struct Checked {
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    /// The config when reading and validation found nothing: what the
    /// widget would mount (it does not audit contrast, so a failing pair,
    /// an error here, leaves this set).
    pub config: Option<Config>,
    /// Every pair of the theme's colours, audited whatever else is wrong;
    /// empty when the config could not be read at all. Its failures are
    /// among `errors`, its unreadable colours among `warnings`.
    pub contrast: Vec<theme::PairCheck>,
}

impl Checked {
    /// Valid: no errors (warnings allowed).
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// `{"ok": bool, "errors": [{path, message}], "warnings": [...]}`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(Out {
            ok: self.ok(),
            errors: issues(&self.errors),
            warnings: issues(&self.warnings),
        })
        .unwrap_or(Value::Null)
    }

    /// One line per problem, `path: message`; warnings after the errors,
    /// each marked `warning:`.
    pub fn lines(&self) -> Vec<String> {
        let errors = self.errors.iter().map(ToString::to_string);
        let warnings = self.warnings.iter().map(|w| format!("warning: {w}"));
        errors.chain(warnings).collect()
    }
}

#[derive(Serialize)]
struct Out<'a> {
    ok: bool,
    errors: Vec<IssueOut<'a>>,
    warnings: Vec<IssueOut<'a>>,
}

/// An issue as the widget hands it to the page: `{path, message}`.
#[derive(Serialize)]
struct IssueOut<'a> {
    path: &'a str,
    message: &'a str,
}

fn issues(list: &[Issue]) -> Vec<IssueOut<'_>> {
    list.iter()
        .map(|i| IssueOut {
            path: &i.path,
            message: &i.message,
        })
        .collect()
}

/// Checks a config given as JSON text. Text that is not JSON is one
/// error, naming the line and column.
pub fn check_text(text: &str) -> Checked {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => {
            let written = Tree::of_text(text).unwrap_or(Tree::Other);
            check(&value, &written)
        }
        Err(e) => {
            let full = e.to_string();
            let what = full
                .rfind(" at line ")
                .map_or(full.as_str(), |i| &full[..i]);
            Checked {
                errors: vec![Issue {
                    path: String::new(),
                    message: format!(
                        "not valid JSON at line {}, column {}: {what}",
                        e.line(),
                        e.column()
                    ),
                }],
                warnings: Vec::new(),
                config: None,
                contrast: Vec::new(),
            }
        }
    }
}

/// Checks a config given as a JSON value (its keys in `serde_json`'s
/// order), reporting every problem at once:
/// unknown keys, then what reading found, then the core's validation of
/// the rest (less the paths repaired), as the widget does.
pub fn check_value(value: &Value) -> Checked {
    let written = serde_json::to_string(value)
        .ok()
        .and_then(|t| Tree::of_text(&t))
        .unwrap_or(Tree::Other);
    check(value, &written)
}

/// [`check_value`], with the keys in the order they were written.
fn check(value: &Value, written: &Tree) -> Checked {
    if value.is_array() {
        // serde would read a struct from a list, item by field; the widget
        // reads an object's fields by name.
        return Checked {
            errors: vec![read_issue(
                "",
                "invalid type: sequence, expected struct ConfigV1",
            )],
            warnings: Vec::new(),
            config: None,
            contrast: Vec::new(),
        };
    }
    let (read, mut errors) = read_repaired(value, written);
    let Some((raw, repaired)) = read else {
        return Checked {
            errors,
            warnings: Vec::new(),
            config: None,
            contrast: Vec::new(),
        };
    };
    // The theme's contrast, audited whatever else is wrong: a pale colour
    // is a problem for patrons, not a matter of taste.
    let contrast = theme::audit(&config::theme_of(raw.theme.as_ref()));
    let (failing, unreadable) = theme::issues(&contrast);
    let mut checked = match validate(&raw) {
        Ok(v) => Checked {
            config: errors.is_empty().then_some(v.config),
            errors,
            warnings: v.warnings,
            contrast: Vec::new(),
        },
        Err(e) => {
            // A value put in place of a wrong one may itself be refused:
            // that problem is already reported, at its own path.
            let own = |i: &Issue| !repaired.iter().any(|r| under(&i.path, r));
            errors.extend(e.errors.into_iter().filter(own));
            Checked {
                errors,
                warnings: e.warnings.into_iter().filter(own).collect(),
                config: None,
                contrast: Vec::new(),
            }
        }
    };
    checked.errors.extend(failing);
    checked.warnings.extend(unreadable);
    checked.contrast = contrast;
    checked
}

/// Whether `path` is `root` or lies inside it (`a.b`, `a.b.c`, `a.b[0]`).
fn under(path: &str, root: &str) -> bool {
    path.strip_prefix(root)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// One step of a path into a JSON value.
use consent_core::config::{path_text as text, Step as Seg};

/// The steps of `serde_path_to_error`'s path; `None` where one is not a
/// key or an index.
fn segments(path: &serde_path_to_error::Path) -> Option<Vec<Seg>> {
    use serde_path_to_error::Segment;
    path.iter()
        .map(|s| match s {
            Segment::Seq { index } => u32::try_from(*index).ok().map(Seg::Index),
            Segment::Map { key } => Some(Seg::Key(key.clone())),
            Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

/// At most this many values are put in place (or keys set aside) before
/// reading gives up, as in the widget.
const MAX_REPAIRS: usize = 200;

/// What [`read_repaired`] gives: the config read and the paths repaired
/// in it (if it could be read at all), and every problem found.
type Repaired = (Option<(ConfigV1, Vec<String>)>, Vec<Issue>);

/// Reads `value` as a [`ConfigV1`], collecting every problem rather than
/// stopping at the first: each time serde stops at a wrong value, the
/// problem is noted and a copy is repaired at that path (a value of the
/// expected type, by the core's [`placeholder`]) and read again. Values
/// put in place (and fields missing inside them) are never reported
/// themselves. A key the config does not have is set aside in the copy
/// (serde_json refuses it, serde-wasm-bindgen skips it) and reported, as
/// the widget does, by comparing the keys given with those read.
///
/// The problems come in the widget's order: unknown keys, then the
/// reading's own.
fn read_repaired(given: &Value, written: &Tree) -> Repaired {
    let mut copy = given.clone();
    let mut problems = Vec::new();
    // Paths whose value was put in place, as segments and as text.
    let mut placed: Vec<Vec<Seg>> = Vec::new();
    let mut repaired: Vec<String> = Vec::new();
    let mut read = None;
    for _ in 0..MAX_REPAIRS {
        let refusal = match serde_path_to_error::deserialize::<_, ConfigV1>(&copy) {
            Ok(v) => {
                read = Some(v);
                break;
            }
            Err(e) => e,
        };
        let message = refusal.inner().to_string();
        let Some(mut at) = segments(refusal.path()) else {
            problems.push(read_issue(&refusal.path().to_string(), &message));
            break;
        };
        if message.starts_with("unknown field `") {
            // Reported below, with every other unknown key.
            if !remove_at(&mut copy, &at) {
                problems.push(read_issue(&text(&at), &message));
                break;
            }
            continue;
        }
        let path = text(&at);
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned);
        if !placed.iter().any(|p| at.starts_with(p)) {
            problems.push(read_issue(&path, &message));
        }
        let put = match &missing {
            // Probed with null: the next reading names the type it wants.
            Some(key) => {
                at.push(Seg::Key(key.clone()));
                Value::Null
            }
            None => {
                let current = get_at(&copy, &at).and_then(Value::as_str);
                match placeholder(&message, current) {
                    Some(p) => json_of(p),
                    None => break,
                }
            }
        };
        if placed.iter().filter(|p| **p == at).count() > 4 || !set_at(&mut copy, &at, put) {
            break;
        }
        repaired.push(text(&at));
        placed.push(at);
    }
    let Some(read) = read else {
        return (None, problems);
    };
    let mut unknown = Vec::new();
    // Read back in the order the config's type declares its fields, as
    // the widget reads it back.
    match serde_json::to_string(&read).map(|t| Tree::of_text(&t)) {
        Ok(Some(back)) => unknown_keys(written, &back, "", &mut unknown),
        Ok(None) => {}
        Err(e) => unknown.push(Issue {
            path: String::new(),
            message: e.to_string(),
        }),
    }
    unknown.extend(problems);
    (Some((read, repaired)), unknown)
}

/// The JSON value a [`Placeholder`] stands for.
fn json_of(p: Placeholder<'_>) -> Value {
    match p {
        Placeholder::Text => Value::from(""),
        Placeholder::Number => Value::from(1),
        Placeholder::False => Value::Bool(false),
        Placeholder::List => Value::Array(Vec::new()),
        Placeholder::Object => Value::Object(serde_json::Map::new()),
        Placeholder::Variant(name) => Value::from(name),
        Placeholder::Time => Value::from(config::PLACEHOLDER_TIME),
    }
}

fn get_at<'v>(root: &'v Value, at: &[Seg]) -> Option<&'v Value> {
    at.iter().try_fold(root, |v, s| match s {
        Seg::Key(k) => v.get(k),
        Seg::Index(i) => v.get(*i as usize),
    })
}

fn get_at_mut<'v>(root: &'v mut Value, at: &[Seg]) -> Option<&'v mut Value> {
    at.iter().try_fold(root, |v, s| match s {
        Seg::Key(k) => v.get_mut(k),
        Seg::Index(i) => v.get_mut(*i as usize),
    })
}

/// Puts `put` at `at` inside `root` (the copy).
fn set_at(root: &mut Value, at: &[Seg], put: Value) -> bool {
    let Some((last, parent)) = at.split_last() else {
        return false;
    };
    match (get_at_mut(root, parent), last) {
        (Some(Value::Object(map)), Seg::Key(k)) => {
            map.insert(k.clone(), put);
            true
        }
        (Some(Value::Array(items)), Seg::Index(i)) if (*i as usize) < items.len() => {
            items[*i as usize] = put;
            true
        }
        _ => false,
    }
}

/// Takes the key at `at` out of its object in `root` (the copy).
fn remove_at(root: &mut Value, at: &[Seg]) -> bool {
    match (
        at.split_last(),
        at.split_last().and_then(|(_, p)| get_at_mut(root, p)),
    ) {
        (Some((Seg::Key(k), _)), Some(Value::Object(map))) => map.remove(k).is_some(),
        _ => false,
    }
}

/// Every key in `given` that `read` lacks, anywhere inside it, as an "is
/// not a known field" issue with the likely intended name (the widget's
/// own comparison, over JSON in the order it was written).
fn unknown_keys(given: &Tree, read: &Tree, path: &str, out: &mut Vec<Issue>) {
    match (given, read) {
        (Tree::Array(items), Tree::Array(read)) => {
            for (i, (v, r)) in items.iter().zip(read).enumerate() {
                unknown_keys(v, r, &format!("{path}[{i}]"), out);
            }
        }
        (Tree::Object(given), Tree::Object(read)) => {
            for (k, v) in given {
                let here = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if let Some((_, r)) = read.iter().find(|(name, _)| name == k) {
                    unknown_keys(v, r, &here, out);
                } else if !matches!(v, Tree::Null) {
                    let list: Vec<String> = read.iter().map(|(k, _)| format!("`{k}`")).collect();
                    out.push(read_issue(
                        &here,
                        &format!("unknown field `{k}`, expected one of {}", list.join(", ")),
                    ));
                }
            }
        }
        _ => {}
    }
}

/// A JSON value's shape with its keys in the order they were written
/// (`serde_json::Value` sorts them): the order a browser's object keeps,
/// so unknown keys are named, and known ones listed, as the widget does.
#[derive(Debug)]
enum Tree {
    Object(Vec<(String, Tree)>),
    Array(Vec<Tree>),
    Null,
    Other,
}

impl Tree {
    fn of_text(text: &str) -> Option<Tree> {
        serde_json::from_str(text).ok()
    }
}

impl<'de> serde::Deserialize<'de> for Tree {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{MapAccess, SeqAccess, Visitor};
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Tree;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Tree, A::Error> {
                let mut entries: Vec<(String, Tree)> = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, Tree>()? {
                    // A repeated key keeps its first place and its last value.
                    match entries.iter_mut().find(|(name, _)| *name == k) {
                        Some(entry) => entry.1 = v,
                        None => entries.push((k, v)),
                    }
                }
                Ok(Tree::Object(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Tree, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = a.next_element()? {
                    items.push(v);
                }
                Ok(Tree::Array(items))
            }
            fn visit_unit<E>(self) -> Result<Tree, E> {
                Ok(Tree::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Tree, E> {
                Ok(Tree::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Tree, E> {
                Ok(Tree::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Tree, E> {
                Ok(Tree::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Tree, E> {
                Ok(Tree::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Tree, E> {
                Ok(Tree::Other)
            }
        }
        d.deserialize_any(Visit)
    }
}
