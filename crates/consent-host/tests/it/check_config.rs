//! `consent-host check-config`: a venue's widget config checked on the
//! command line, every problem at once with its path, in the widget's
//! words; through the real binary for the exit status and the output, and
//! through `check::check_text` for the rules.

use std::path::{Path, PathBuf};
use std::process::Command;

use consent_host::check::check_text;
use serde_json::{json, Value};

/// The binary, with none of the environment that would choose a database.
fn check_config(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_consent-host"))
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_PATH")
        .env("RUST_LOG", "warn")
        .arg("check-config")
        .args(args)
        .output()
        .expect("run consent-host");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn demo_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../static/demo-config.json")
}

fn demo() -> Value {
    serde_json::from_str(&std::fs::read_to_string(demo_config()).unwrap()).unwrap()
}

/// `config` written to a file in `dir`.
fn file(dir: &Path, config: &str) -> String {
    let path = dir.join("config.json");
    std::fs::write(&path, config).unwrap();
    path.display().to_string()
}

/// The demo's config with three distinct problems: a key the config does
/// not have, a value of the wrong type, and a value validation refuses.
fn three_problems() -> Value {
    let mut c = demo();
    c["customer_id"] = json!("C-1");
    c["partners"][1]["notice"]["version"] = json!("2");
    c["headingLevel"] = json!(9);
    c
}

#[test]
fn the_demo_config_is_valid() {
    let path = demo_config();
    let (code, out, err) = check_config(&[path.to_str().unwrap()]);
    assert_eq!(code, Some(0), "stdout: {out}\nstderr: {err}");
    assert!(
        out.lines().all(|l| l.starts_with("warning: ")),
        "only warnings may be listed: {out}"
    );
    assert!(err.contains("valid (0 errors"), "{err}");
    let checked = check_text(&std::fs::read_to_string(&path).unwrap());
    assert!(checked.ok(), "{:?}", checked.errors);
    assert!(checked.config.is_some());
}

#[test]
fn every_problem_is_named_at_once_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), &three_problems().to_string());
    let (code, out, err) = check_config(&[&path]);
    assert_eq!(code, Some(1), "stdout: {out}\nstderr: {err}");
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with("warning: "))
        .collect();
    assert_eq!(
        lines,
        [
            "customer_id: is not a known field; did you mean \"customerId\"?",
            "partners[1].notice.version: must be a whole number from 0 to 4294967295, not a string",
            "headingLevel: 9 must be between 1 and 6",
        ],
        "{out}"
    );
    assert!(err.contains("not valid (3 errors"), "{err}");
}

#[test]
fn json_output_has_ok_errors_and_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), &three_problems().to_string());
    let (code, out, _) = check_config(&[&path, "--format", "json"]);
    assert_eq!(code, Some(1));
    let v: Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(v["ok"], json!(false));
    assert_eq!(
        v["errors"][0],
        json!({"path": "customer_id", "message": "is not a known field; did you mean \"customerId\"?"})
    );
    assert_eq!(v["errors"].as_array().unwrap().len(), 3);
    assert!(v["warnings"].is_array());
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["errors", "ok", "warnings"]);

    // Valid with a warning: ok, exit 0, the warning listed.
    let mut c = demo();
    c["mode"] = json!("account");
    let path = file(dir.path(), &c.to_string());
    let (code, out, _) = check_config(&[&path, "--format", "json"]);
    assert_eq!(code, Some(0), "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], json!(true));
    assert_eq!(v["errors"], json!([]));
    assert_eq!(
        v["warnings"],
        json!([{"path": "generalNotice", "message": "is ignored in account mode"}])
    );
}

#[test]
fn an_unreadable_file_or_a_bad_flag_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.json");
    let (code, out, err) = check_config(&[missing.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(out.is_empty());
    assert!(err.contains("nowhere.json"), "{err}");
    let (code, _, _) = check_config(&[missing.to_str().unwrap(), "--format", "yaml"]);
    assert_eq!(code, Some(2));
    let (code, _, _) = check_config(&[]);
    assert_eq!(code, Some(2));
}

#[test]
fn bad_json_names_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        dir.path(),
        "{\n  \"endpoint\": \"/api\",\n  \"customerId\" \"C-1\"\n}\n",
    );
    let (code, out, _) = check_config(&[&path]);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(
        out.trim(),
        "not valid JSON at line 3, column 16: expected `:`"
    );
}

/// Wrong types are repaired in a copy and read again, so one never hides
/// the next; a field missing is required once, and what was put in its
/// place is never reported again by validation.
#[test]
fn one_problem_never_hides_the_next() {
    let mut c = demo();
    c["partners"][0]["notice"]
        .as_object_mut()
        .unwrap()
        .remove("text");
    c["partners"][2]["notice"]["channels"] = json!(["email", "fax"]);
    c["requireAnswer"] = json!("yes");
    c["venue"]["nmae"] = json!("x");
    c["partners"][3]["Privacy_URL"] = json!("x");
    c["basket"]["lines"] = json!({});
    let errors: Vec<String> = check_text(&c.to_string())
        .errors
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut sorted = errors.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "basket.lines: must be a list, not an object",
            "partners[0].notice.text: is required",
            "partners[2].notice.channels[1]: must be one of \"email\", \"post\", \"sms\", \"phone\", not \"fax\"",
            "partners[3].Privacy_URL: is not a known field; did you mean \"privacyUrl\"?",
            "requireAnswer: must be true or false, not a string",
            "venue.nmae: is not a known field (known here: id, name)",
        ],
        "{errors:#?}"
    );
    // Unknown keys first, in the order written, as the widget lists them.
    assert!(
        errors[0].starts_with("partners[3].Privacy_URL"),
        "{errors:#?}"
    );
    assert!(errors[1].starts_with("venue.nmae"), "{errors:#?}");
}

#[test]
fn a_config_that_is_not_an_object_is_one_problem() {
    let errors = check_text("[1, 2]").errors;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, "");
    assert!(
        errors[0].message.starts_with("must be an object"),
        "{errors:?}"
    );
}

/// A pale colour is a problem like any other: named at the token's path,
/// with the pair it fails and the ratio, beside the config's other
/// problems, and the command exits 1.
#[test]
fn a_pale_theme_colour_is_named_with_its_pair() {
    let mut c = demo();
    c["theme"] = json!({ "preset": "auto", "tokens": { "muted": "#aaaaaa" }, "darkTokens": { "focus-ring": "#222222" } });
    c["headingLevel"] = json!(9);
    let checked = check_text(&c.to_string());
    let paths: Vec<&str> = checked.errors.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"headingLevel"), "{paths:?}");
    assert!(paths.contains(&"theme.tokens.muted"), "{paths:?}");
    assert!(paths.contains(&"theme.darkTokens.focus-ring"), "{paths:?}");
    let muted = checked
        .errors
        .iter()
        .find(|e| e.path == "theme.tokens.muted")
        .unwrap();
    assert!(
        muted
            .message
            .contains("muted on background is 2.32:1; WCAG 2.2 AA asks for 4.5:1"),
        "{}",
        muted.message
    );

    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = check_config(&[&file(dir.path(), &c.to_string())]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("theme.tokens.muted: secondary text on the background (light scheme)"),
        "{out}"
    );
}

/// A colour the audit cannot read (a variable of the page's) is a warning,
/// not a refusal: the venue is told to check it by hand.
#[test]
fn a_colour_that_cannot_be_read_is_a_warning() {
    let mut c = demo();
    c["theme"] = json!({ "tokens": { "accent": "var(--brand)" } });
    let checked = check_text(&c.to_string());
    assert!(checked.ok(), "{:?}", checked.errors);
    assert!(
        checked
            .warnings
            .iter()
            .any(|w| w.path == "theme.tokens.accent" && w.message.contains("cannot be checked")),
        "{:?}",
        checked.warnings
    );
}
