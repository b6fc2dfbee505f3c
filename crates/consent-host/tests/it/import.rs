//! `consent-host import`, on the run's backend (SQLite, or PostgreSQL in
//! its tier): a good file, bad rows named, a dry run, a second run, and
//! what exports and receipts then say.

use std::process::Command;

use crate::common::*;
use axum::http::StatusCode;

/// The binary on the test app's database.
fn import(t: &TestApp, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_consent-host"));
    for var in ["DATABASE_URL", "DATABASE_PATH", "CONSENT_VENUE"] {
        cmd.env_remove(var);
    }
    cmd.env("RUST_LOG", "warn").arg("import");
    match &t.database_url {
        Some(url) => cmd.args(["--database-url", url]),
        None => cmd.args(["--db", t.db_path.to_str().unwrap()]),
    };
    let out = cmd.args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const GOOD: &str = "customerId,partnerId,state,channels,decidedAt,source\n\
    old-1,alpha,given,email post,2019-04-01T12:00:00Z,Box office CRM 2019\n\
    old-2,alpha,refused,,,\n\
    old-3,beta,given,post,,\n";

fn partners_file(t: &TestApp) -> String {
    let path = t.dir.path().join("partners.json");
    std::fs::write(
        &path,
        r#"{"partners": [
            {"id": "alpha", "name": "Alpha Theatre", "privacyUrl": "https://alpha.example/privacy"},
            {"id": "beta", "name": "Beta Dance", "privacyUrl": "https://beta.example/privacy"}
        ]}"#,
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

fn file(t: &TestApp, name: &str, text: &str) -> String {
    let path = t.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_import_is_checked_whole_written_once_and_marked_everywhere() {
    let t = TestApp::new().await;
    // The host made the database; a record before the import.
    let (status, _) = t
        .post_records(&[record(
            1,
            "web-1",
            "alpha",
            consent_core::domain::DecisionState::Given,
            10,
        )])
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let partners = partners_file(&t);
    let good = file(&t, "crm.csv", GOOD);

    // Bad rows: every one named, nothing written.
    let bad = file(
        &t,
        "bad.jsonl",
        "{\"customerId\":\"old-9\",\"partnerId\":\"alpha\",\"state\":\"given\",\"channels\":[\"email\"]}\n\
         {\"customerId\":\"\",\"partnerId\":\"alpha\",\"state\":\"perhaps\"}\n\
         not json\n\
         {\"customerId\":\"old-8\",\"partnerId\":\"gamma\",\"state\":\"given\",\"channels\":[\"fax\"]}\n",
    );
    let (ok, _, err) = import(&t, &[&bad, "--venue", VENUE, "--partners", &partners]);
    assert!(!ok);
    for needle in [
        "line 2: customerId",
        "line 2: state",
        "line 3: row",
        "line 4: channels",
        "line 4: partnerName",
        "nothing was imported",
    ] {
        assert!(err.contains(needle), "{needle} in {err}");
    }
    assert_eq!(t.row_count().await, 1);

    // A dry run counts and changes nothing.
    let (ok, out, err) = import(
        &t,
        &[
            &good,
            "--venue",
            VENUE,
            "--partners",
            &partners,
            "--dry-run",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("would import 3 answer(s) from 3 rows (0 imported before)"),
        "{out}"
    );
    assert!(out.contains("alpha: 1 given, 1 refused"), "{out}");
    assert_eq!(t.row_count().await, 1);

    // The import itself, then again: nothing new.
    let (ok, out, err) = import(&t, &[&good, "--venue", VENUE, "--partners", &partners]);
    assert!(ok, "{err}");
    assert!(out.contains("imported 3 answer(s)"), "{out}");
    assert_eq!(t.row_count().await, 4);
    let (ok, out, _) = import(&t, &[&good, "--venue", VENUE, "--partners", &partners]);
    assert!(ok);
    assert!(
        out.contains("imported 0 answer(s) from 3 rows (3 imported before)"),
        "{out}"
    );
    assert_eq!(t.row_count().await, 4);

    // Exports mark them; the receipt carries where they came from.
    let (_, export) = t.get_json("/api/v1/partners/alpha/contacts").await;
    let rows = export["contacts"].as_array().unwrap();
    let imported: Vec<(&str, bool)> = rows
        .iter()
        .map(|r| {
            (
                r["customerId"].as_str().unwrap(),
                r["imported"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(imported.contains(&("old-1", true)), "{imported:?}");
    assert!(imported.contains(&("web-1", false)), "{imported:?}");
    let (_, receipt) = t.get_json("/api/v1/customers/old-1/receipt").await;
    let r = &receipt["records"][0];
    assert_eq!(r["collection"]["channel"], "import");
    assert_eq!(r["provenance"], "imported");
    assert_eq!(r["import"]["source"], "Box office CRM 2019");
    assert_eq!(r["import"]["dated"], true);
    assert_eq!(r["decidedAt"], "2019-04-01T12:00:00.000Z");
    let (_, prefs) = t.get_json("/api/v1/customers/old-3/preferences").await;
    assert_eq!(prefs["preferences"][0]["imported"], true);
    assert_eq!(prefs["preferences"][0]["partnerId"], "beta");
    // The ledger holds them like any other record.
    let head = t.state.db.verify(None).await.unwrap();
    assert_eq!(head.count, 4);
}

#[tokio::test]
async fn an_imported_answer_cannot_be_posted_from_a_browser() {
    let t = TestApp::new().await;
    let mut r = record(
        1,
        "C-1",
        "alpha",
        consent_core::domain::DecisionState::Given,
        10,
    );
    r.import = Some(consent_core::wire::ImportV1 {
        source: "forged".into(),
        dated: true,
    });
    r.collection.channel = consent_core::domain::CollectionChannel::Import;
    r.provenance = consent_core::wire::Provenance::Imported;
    let (status, body) = t.post_records(&[r]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "records[0].import");
}
