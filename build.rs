//! The prompt's stylesheet as the wasm carries it: `static/consent-prompt.css`
//! without its comments and the whitespace CSS does not need (every patron downloads these bytes
//! inside the wasm; the comments are for the people who edit the file).

use std::{env, fs, path::Path};

fn main() {
    let source = "static/consent-prompt.css";
    println!("cargo:rerun-if-changed={source}");
    let css = fs::read_to_string(source).expect("static/consent-prompt.css is readable");
    let out =
        Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("consent-prompt.css");
    fs::write(out, strip(&css)).expect("OUT_DIR is writable");
}

/// Comments out, then [`squeeze`]d. (The stylesheet holds no string
/// containing `/*`.)
fn strip(css: &str) -> String {
    let mut text = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        text.push_str(&rest[..start]);
        rest = match rest[start + 2..].find("*/") {
            Some(end) => &rest[start + 2 + end + 2..],
            None => "",
        };
    }
    text.push_str(rest);
    squeeze(&text)
}

/// Whitespace runs made one space, and dropped where CSS needs none:
/// beside `{ } ; , >` and after `:` (never before it: `.cp :focus` is a
/// descendant selector). Quoted strings are kept as they are.
fn squeeze(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut quote: Option<char> = None;
    let mut space = false;
    for c in css.chars() {
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_whitespace() {
            space = true;
            continue;
        }
        let joins = |c: char| matches!(c, '{' | '}' | ';' | ',' | '>');
        let after = out.chars().last();
        if space && !joins(c) && !after.is_some_and(|a| joins(a) || a == ':') && after.is_some() {
            out.push(' ');
        }
        space = false;
        if c == '"' || c == '\'' {
            quote = Some(c);
        }
        out.push(c);
    }
    out
}
