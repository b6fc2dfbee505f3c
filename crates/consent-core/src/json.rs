//! A small JSON reader and writer for the widget.
//!
//! The host uses serde. The widget used serde too, through
//! serde-wasm-bindgen, and paid for it in download size: the derived
//! visitors, the deserialiser, and the float formatting that serde's error
//! messages pull in came to about a third of the wasm. This module is what
//! the widget needs instead:
//!
//! - [`parse`]: text → [`Json`]. Numbers keep their text; the wire formats
//!   only carry whole numbers, so no float parsing or printing is linked.
//! - [`FromJson`] and [`Obj`]: typed reading that names the exact field at
//!   fault (`partners[1].notice.version: must be a whole number …`), which
//!   is also a better message for a venue than serde's.
//! - [`ToJson`] and [`object`]: writing.
//!
//! `tests/json.rs` checks both directions against serde_json for every wire
//! type, so the two stay in step.

use crate::compact::VecMap;
use std::fmt::Write as _;

/// A parsed JSON value. Objects keep their order; numbers keep their text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// Text that is not JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset of the problem.
    pub offset: usize,
    pub message: &'static str,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not valid JSON at byte {}: {}",
            self.offset, self.message
        )
    }
}

/// Nesting deeper than this is refused (no wire type is deeper than 6).
const MAX_DEPTH: u32 = 64;

/// Parses a complete JSON text.
pub fn parse(text: &str) -> Result<Json, SyntaxError> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
    };
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.fail("unexpected text after the value"));
    }
    Ok(v)
}

/// Whether a JSON number (its syntax already checked) is within the range of
/// a double: `1e400` is not. Without parsing floats, which would cost the
/// widget tens of KB of wasm.
fn within_f64(text: &str) -> bool {
    // The decimal exponent of the first significant digit, from the digits
    // before the exponent; then the exponent itself.
    let (mut magnitude, mut seen, mut point) = (-1i64, false, false);
    let mut digits: Vec<u8> = Vec::new();
    let mut bytes = text.bytes();
    for b in bytes.by_ref() {
        match b {
            b'.' => point = true,
            b'0'..=b'9' => {
                if b != b'0' || seen {
                    seen = true;
                    digits.push(b);
                }
                match (seen, point) {
                    (true, false) => magnitude += 1,
                    (false, true) => magnitude -= 1,
                    _ => {}
                }
            }
            b'e' | b'E' => break,
            _ => {}
        }
    }
    if !seen {
        return true; // zero
    }
    let (mut e, mut neg) = (0i64, false);
    for b in bytes {
        match b {
            b'-' => neg = true,
            b'0'..=b'9' => e = (e * 10 + i64::from(b - b'0')).min(1_000_000),
            _ => {}
        }
    }
    let at = magnitude + if neg { -e } else { e };
    // 1.7976931348623158e308 and above round to infinity.
    at < 308 || (at == 308 && digits.as_slice() < b"17976931348623158".as_slice())
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn fail(&self, message: &'static str) -> SyntaxError {
        SyntaxError {
            offset: self.i,
            message,
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: u32) -> Result<Json, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.fail("nested too deeply"));
        }
        self.ws();
        match self.s.get(self.i) {
            None => Err(self.fail("unexpected end of text")),
            Some(b'{') => {
                self.i += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.eat("}") {
                    return Ok(Json::Object(fields));
                }
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return Err(self.fail("expected a quoted key"));
                    }
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(":") {
                        return Err(self.fail("expected ':'"));
                    }
                    let v = self.value(depth + 1)?;
                    fields.push((key, v));
                    self.ws();
                    if self.eat(",") {
                        continue;
                    }
                    if self.eat("}") {
                        return Ok(Json::Object(fields));
                    }
                    return Err(self.fail("expected ',' or '}'"));
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat("]") {
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(",") {
                        continue;
                    }
                    if self.eat("]") {
                        return Ok(Json::Array(items));
                    }
                    return Err(self.fail("expected ',' or ']'"));
                }
            }
            Some(b'"') => self.string().map(Json::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) if self.eat("true") => Ok(Json::Bool(true)),
            Some(_) if self.eat("false") => Ok(Json::Bool(false)),
            Some(_) if self.eat("null") => Ok(Json::Null),
            Some(_) => Err(self.fail("expected a value")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.s.get(self.i) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Json, SyntaxError> {
        let start = self.i;
        self.eat("-");
        let int_start = self.i;
        match self.digits() {
            0 => return Err(self.fail("expected a digit")),
            n if n > 1 && self.s[int_start] == b'0' => {
                return Err(self.fail("a number must not start with 0"))
            }
            _ => {}
        }
        if self.eat(".") && self.digits() == 0 {
            return Err(self.fail("expected a digit after '.'"));
        }
        if let Some(b'e' | b'E') = self.s.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.s.get(self.i) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.fail("expected a digit in the exponent"));
            }
        }
        // A number no double can hold (`1e400`): refused, as serde_json
        // (the backend's reader) refuses it.
        if !within_f64(&self.text[start..self.i]) {
            return Err(self.fail("number out of range"));
        }
        Ok(Json::Number(self.text[start..self.i].to_owned()))
    }

    /// At an opening quote.
    fn string(&mut self) -> Result<String, SyntaxError> {
        self.i += 1;
        let mut out = String::new();
        let mut run = self.i;
        loop {
            match self.s.get(self.i) {
                None => return Err(self.fail("unterminated string")),
                Some(b'"') => {
                    out.push_str(&self.text[run..self.i]);
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(&self.text[run..self.i]);
                    self.i += 1;
                    let c = match self.s.get(self.i) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.i += 1;
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if !self.eat("\\u") {
                                    return Err(self.fail("unpaired surrogate"));
                                }
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.fail("unpaired surrogate"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            let c = char::from_u32(code)
                                .ok_or_else(|| self.fail("unpaired surrogate"))?;
                            out.push(c);
                            run = self.i;
                            continue;
                        }
                        _ => return Err(self.fail("unknown escape")),
                    };
                    out.push(c);
                    self.i += 1;
                    run = self.i;
                }
                Some(0..=0x1f) => return Err(self.fail("control character in a string")),
                Some(_) => self.i += 1,
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut n = 0;
        for _ in 0..4 {
            let d = match self.s.get(self.i) {
                Some(b @ b'0'..=b'9') => b - b'0',
                Some(b @ b'a'..=b'f') => b - b'a' + 10,
                Some(b @ b'A'..=b'F') => b - b'A' + 10,
                _ => return Err(self.fail("expected four hex digits")),
            };
            n = n * 16 + u32::from(d);
            self.i += 1;
        }
        Ok(n)
    }
}

// ---- Typed reading ---------------------------------------------------------

/// Where a value sits in the document, built without allocating; rendered
/// (`partners[1].notice.version`) only when something is wrong.
#[derive(Clone, Copy, Debug)]
pub enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Key(parent, key) => {
                parent.render_into(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Path::Index(parent, i) => {
                parent.render_into(out);
                let _ = write!(out, "[{i}]");
            }
        }
    }
}

/// A value of the wrong shape, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// e.g. `partners[1].notice.version`; empty for the whole document.
    pub path: String,
    pub message: String,
}

impl ReadError {
    pub fn at(path: &Path<'_>, message: impl Into<String>) -> Self {
        ReadError {
            path: path.render(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Reads a Rust value out of a [`Json`] value.
pub trait FromJson: Sized {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError>;
}

/// Parses text and reads a `T` from it.
pub fn from_str<T: FromJson>(text: &str) -> Result<T, ReadError> {
    let v = parse(text).map_err(|e| ReadError {
        path: String::new(),
        message: e.to_string(),
    })?;
    T::from_json(&v, &Path::Root)
}

/// Reads a `T` from a Rust value, for callers that already hold one.
pub fn read<T: FromJson>(v: &Json) -> Result<T, ReadError> {
    T::from_json(v, &Path::Root)
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "true or false",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

/// The standard "must be X, not Y" message.
pub fn wrong_type(v: &Json, at: &Path<'_>, expected: &str) -> ReadError {
    ReadError::at(at, format!("must be {expected}, not {}", kind(v)))
}

impl FromJson for String {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        match v {
            Json::String(s) => Ok(s.clone()),
            _ => Err(wrong_type(v, at, "a string")),
        }
    }
}

impl FromJson for bool {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        match v {
            Json::Bool(b) => Ok(*b),
            _ => Err(wrong_type(v, at, "true or false")),
        }
    }
}

fn whole<T: TryFrom<u64>>(v: &Json, at: &Path<'_>, max: u64) -> Result<T, ReadError> {
    let range = || format!("a whole number from 0 to {max}");
    match v {
        Json::Number(n) => n
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= max)
            .and_then(|n| T::try_from(n).ok())
            .ok_or_else(|| ReadError::at(at, format!("must be {}, not {n}", range()))),
        _ => Err(wrong_type(v, at, &range())),
    }
}

impl FromJson for u8 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        whole(v, at, u8::MAX.into())
    }
}

impl FromJson for u32 {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        whole(v, at, u32::MAX.into())
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        match v {
            Json::Null => Ok(None),
            _ => T::from_json(v, at).map(Some),
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        match v {
            Json::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| T::from_json(item, &Path::Index(at, i)))
                .collect(),
            _ => Err(wrong_type(v, at, "a list")),
        }
    }
}

impl<T: FromJson> FromJson for VecMap<String, T> {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, ReadError> {
        let Json::Object(fields) = v else {
            return Err(wrong_type(v, at, "an object"));
        };
        // One insert at a time: collecting into a map would link a sort.
        let mut map = VecMap::new();
        for (k, item) in fields {
            map.insert(k.clone(), T::from_json(item, &Path::Key(at, k))?);
        }
        Ok(map)
    }
}

/// Reads a string that must be one of a fixed set of names.
pub fn one_of<T: Copy>(v: &Json, at: &Path<'_>, names: &[(&str, T)]) -> Result<T, ReadError> {
    let list = || {
        let quoted: Vec<String> = names.iter().map(|(n, _)| format!("\"{n}\"")).collect();
        quoted.join(", ")
    };
    match v {
        Json::String(s) => names
            .iter()
            .find(|(n, _)| n == s)
            .map(|(_, t)| *t)
            .ok_or_else(|| ReadError::at(at, format!("must be one of {}, not \"{s}\"", list()))),
        _ => Err(wrong_type(v, at, &format!("one of {}", list()))),
    }
}

/// An object being read: fields by name, with unknown names refused.
pub struct Obj<'a> {
    at: &'a Path<'a>,
    fields: &'a [(String, Json)],
}

impl<'a> Obj<'a> {
    /// `v` must be an object whose keys are all in `known`.
    pub fn new(v: &'a Json, at: &'a Path<'a>, known: &[&str]) -> Result<Self, ReadError> {
        let Json::Object(fields) = v else {
            return Err(wrong_type(v, at, "an object"));
        };
        for (key, _) in fields {
            if !known.contains(&key.as_str()) {
                return Err(ReadError::at(
                    &Path::Key(at, key),
                    unknown_field(key, known),
                ));
            }
        }
        Ok(Obj { at, fields })
    }

    /// `v` must be an object; keys this reader does not know are ignored
    /// (for answers from a backend that may add fields).
    pub fn lenient(v: &'a Json, at: &'a Path<'a>) -> Result<Self, ReadError> {
        match v {
            Json::Object(fields) => Ok(Obj { at, fields }),
            _ => Err(wrong_type(v, at, "an object")),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Json> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .filter(|v| **v != Json::Null)
    }

    /// A field that must be present and not null.
    pub fn req<T: FromJson>(&self, key: &str) -> Result<T, ReadError> {
        match self.get(key) {
            Some(v) => T::from_json(v, &Path::Key(self.at, key)),
            None => Err(ReadError::at(&Path::Key(self.at, key), "is required")),
        }
    }

    /// A field that may be absent or null.
    pub fn opt<T: FromJson>(&self, key: &str) -> Result<Option<T>, ReadError> {
        self.get(key)
            .map(|v| T::from_json(v, &Path::Key(self.at, key)))
            .transpose()
    }

    /// A field whose absence (or null) means the type's default.
    pub fn or_default<T: FromJson + Default>(&self, key: &str) -> Result<T, ReadError> {
        Ok(self.opt(key)?.unwrap_or_default())
    }

    /// Reads a field with a custom reader (for enums).
    pub fn opt_with<T>(
        &self,
        key: &str,
        read: impl FnOnce(&Json, &Path<'_>) -> Result<T, ReadError>,
    ) -> Result<Option<T>, ReadError> {
        self.get(key)
            .map(|v| read(v, &Path::Key(self.at, key)))
            .transpose()
    }
}

/// "is not a known field", with the likely intended name when the
/// difference is only case or separators (`customer_id` → `customerId`).
fn unknown_field(key: &str, known: &[&str]) -> String {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let wanted = squash(key);
    match known.iter().find(|k| squash(k) == wanted) {
        Some(k) => format!("is not a known field; did you mean \"{k}\"?"),
        None => format!("is not a known field (known here: {})", known.join(", ")),
    }
}

// ---- Writing ---------------------------------------------------------------

/// Writes a Rust value as JSON text.
pub trait ToJson {
    fn write_json(&self, out: &mut String);

    fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }
}

/// Writes a JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(esc);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

impl ToJson for str {
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn write_json(&self, out: &mut String) {
        (**self).write_json(out);
    }
}

impl ToJson for bool {
    fn write_json(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl ToJson for u32 {
    fn write_json(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl ToJson for usize {
    fn write_json(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, out: &mut String) {
        match self {
            Some(v) => v.write_json(out),
            None => out.push_str("null"),
        }
    }
}

impl<T: ToJson> ToJson for [T] {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            v.write_json(out);
        }
        out.push(']');
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, out: &mut String) {
        self.as_slice().write_json(out);
    }
}

impl<T: ToJson> ToJson for VecMap<String, T> {
    fn write_json(&self, out: &mut String) {
        object(out, |o| {
            for (k, v) in self {
                o.field(k, v);
            }
        });
    }
}

/// JSON text already written, passed through as it is.
pub struct RawJson<'a>(pub &'a str);

impl ToJson for RawJson<'_> {
    fn write_json(&self, out: &mut String) {
        out.push_str(self.0);
    }
}

impl FromJson for Json {
    fn from_json(v: &Json, _: &Path<'_>) -> Result<Self, ReadError> {
        Ok(v.clone())
    }
}

impl Json {
    /// The string at `key`, when this is an object that has one.
    pub fn str_field(&self, key: &str) -> Option<&str> {
        match self {
            Json::Object(fields) => {
                fields
                    .iter()
                    .rev()
                    .find(|(k, _)| k == key)
                    .and_then(|(_, v)| match v {
                        Json::String(s) => Some(s.as_str()),
                        _ => None,
                    })
            }
            _ => None,
        }
    }
}

impl ToJson for Json {
    fn write_json(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => b.write_json(out),
            Json::Number(n) => out.push_str(n),
            Json::String(s) => write_str(out, s),
            Json::Array(items) => items.write_json(out),
            Json::Object(fields) => object(out, |o| {
                for (k, v) in fields {
                    o.field(k, v);
                }
            }),
        }
    }
}

/// Writes an object; `f` adds the fields.
pub fn object(out: &mut String, f: impl FnOnce(&mut ObjOut<'_>)) {
    out.push('{');
    f(&mut ObjOut { out, first: true });
    out.push('}');
}

/// The fields of an object being written.
pub struct ObjOut<'a> {
    out: &'a mut String,
    first: bool,
}

impl ObjOut<'_> {
    pub fn field<T: ToJson + ?Sized>(&mut self, key: &str, v: &T) -> &mut Self {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_str(self.out, key);
        self.out.push(':');
        v.write_json(self.out);
        self
    }

    /// A field written only when `v` is `Some` (serde's `skip_serializing_if`).
    pub fn some<T: ToJson>(&mut self, key: &str, v: &Option<T>) -> &mut Self {
        if let Some(v) = v {
            self.field(key, v);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_of_value() {
        let v = parse(
            r#" {"a": [1, -2.5e3, true, false, null], "b": "x\"\u00e9\ud83c\udfad\n", "c": {}} "#,
        )
        .expect("valid JSON");
        assert_eq!(
            v,
            Json::Object(vec![
                (
                    "a".into(),
                    Json::Array(vec![
                        Json::Number("1".into()),
                        Json::Number("-2.5e3".into()),
                        Json::Bool(true),
                        Json::Bool(false),
                        Json::Null,
                    ])
                ),
                ("b".into(), Json::String("x\"é🎭\n".into())),
                ("c".into(), Json::Object(vec![])),
            ])
        );
    }

    #[test]
    fn refuses_what_is_not_json() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "\"abc",
            "tru",
            "[1] 2",
            "\"\\x\"",
            "\"\\ud83c\"",
            "{a:1}",
            "\"\u{1}\"",
            "1e",
            "1e400",
            "-1e309",
            "2e308",
            "1.8e308",
            "179769313486231590e291",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert_eq!(
            parse(&deep).map_err(|e| e.message),
            Err("nested too deeply")
        );
    }

    #[test]
    fn paths_name_the_field() {
        let root = Path::Root;
        let p = Path::Key(&root, "partners");
        let i = Path::Index(&p, 1);
        let n = Path::Key(&i, "notice");
        assert_eq!(
            Path::Key(&n, "version").render(),
            "partners[1].notice.version"
        );
        assert_eq!(Path::Index(&root, 0).render(), "[0]");
    }

    #[test]
    fn type_errors_say_what_was_expected() {
        let e = from_str::<Vec<u32>>("[1, \"2\"]").unwrap_err();
        assert_eq!(
            e.to_string(),
            "[1]: must be a whole number from 0 to 4294967295, not a string"
        );
        let e = from_str::<u8>("300").unwrap_err();
        assert_eq!(e.message, "must be a whole number from 0 to 255, not 300");
        assert!(from_str::<u32>("1.5").is_err());
        assert!(from_str::<u32>("-1").is_err());
    }

    #[test]
    fn unknown_fields_suggest_the_intended_name() {
        let v = parse(r#"{"customer_id": "c"}"#).expect("valid JSON");
        let e = Obj::new(&v, &Path::Root, &["customerId", "endpoint"])
            .err()
            .expect("unknown field refused");
        assert_eq!(e.path, "customer_id");
        assert_eq!(
            e.message,
            "is not a known field; did you mean \"customerId\"?"
        );
    }

    #[test]
    fn strings_round_trip_through_the_writer() {
        for s in [
            "",
            "plain",
            "quote \" and \\ back",
            "tab\t nl\n cr\r",
            "\u{1}\u{1f}",
            "é🎭",
        ] {
            let text = s.to_json();
            assert_eq!(parse(&text), Ok(Json::String(s.into())), "{text}");
        }
    }
}
