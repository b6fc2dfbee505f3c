//! The prompt's stylesheet as the wasm carries it: `static/consent-prompt.css`
//! without its comments and indentation (every patron downloads these bytes
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

/// Comments out, each line trimmed, blank lines dropped. (The stylesheet
/// holds no string containing `/*`.)
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
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}
