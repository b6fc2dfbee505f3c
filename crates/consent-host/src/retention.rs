//! The report of `consent-host retention --report FILE`: the customers a
//! run anonymises (or would), with their last activity, for the venue's
//! data-protection officer to review. The one place their ids leave the
//! database: never stdout, never the logs.
//!
//! The file is made before the run (so a name already taken stops the run
//! before it changes anything), readable by its owner only (mode 0600),
//! and never overwrites a file: it holds ids of patrons being anonymised,
//! and an older report may be another run's evidence.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use consent_store::rules::RetentionPlan;

use crate::routes::partners::csv_cell;

/// The report's first line.
pub const HEADER: &str = "customerId,lastActivity";

/// The report as CSV: [`HEADER`], then one line per customer, oldest last
/// activity first. Cells are written as the partner export's are
/// ([`csv_cell`]): an id a spreadsheet would read as a formula is prefixed
/// with `'`.
pub fn report_csv(plan: &RetentionPlan) -> String {
    let mut out = format!("{HEADER}\n");
    for c in &plan.customers {
        out.push_str(&csv_cell(&c.customer_id));
        out.push(',');
        out.push_str(&c.last_activity.to_string());
        out.push('\n');
    }
    out
}

/// A report file made for one run, empty until [`ReportFile::write`].
#[derive(Debug)]
pub struct ReportFile {
    path: PathBuf,
    file: File,
}

impl ReportFile {
    /// Makes the file, owner-only; refuses one that exists. Errors name
    /// the flag and the path.
    pub fn create(path: &Path) -> Result<Self, String> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                format!(
                    "--report {}: the file exists; a report never overwrites one, so name a new file",
                    path.display()
                )
            } else {
                format!("--report {}: cannot create it: {e}", path.display())
            }
        })?;
        Ok(ReportFile {
            path: path.to_owned(),
            file,
        })
    }

    /// Writes the plan's customers and syncs the file to disk.
    pub fn write(mut self, plan: &RetentionPlan) -> Result<(), String> {
        let fail = |e: std::io::Error| format!("--report {}: writing it: {e}", self.path.display());
        self.file
            .write_all(report_csv(plan).as_bytes())
            .and_then(|()| self.file.sync_all())
            .map_err(fail)
    }

    /// Removes the file again (the run failed, so there is nothing to
    /// report), leaving no empty report behind.
    pub fn discard(self) {
        drop(self.file);
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!(error = %e, path = %self.path.display(), "could not remove the empty report file");
        }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use consent_core::Timestamp;

    #[test]
    fn the_report_lists_each_customer_with_their_last_activity_as_csv() {
        let mut plan = RetentionPlan::default();
        let day = |d: i64| Timestamp::from_unix_millis(1_767_225_600_000 + d * 86_400_000);
        plan.push_customer("C-1".into(), day(1), ["alpha"]);
        plan.push_customer("=HYPERLINK(\"x\")".into(), day(2), ["alpha"]);
        plan.push_customer("Smith, J".into(), day(3), ["beta"]);
        assert_eq!(
            report_csv(&plan),
            "customerId,lastActivity\n\
             C-1,2026-01-02T00:00:00.000Z\n\
             \"'=HYPERLINK(\"\"x\"\")\",2026-01-03T00:00:00.000Z\n\
             \"Smith, J\",2026-01-04T00:00:00.000Z\n"
        );
        assert_eq!(
            report_csv(&RetentionPlan::default()),
            "customerId,lastActivity\n"
        );
    }

    #[test]
    fn the_file_is_owner_only_and_never_overwrites_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.csv");
        let report = ReportFile::create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let err = ReportFile::create(&path).unwrap_err();
        assert!(
            err.starts_with("--report ") && err.contains("exists"),
            "{err}"
        );
        report.write(&RetentionPlan::default()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "customerId,lastActivity\n"
        );

        let again = dir.path().join("failed.csv");
        ReportFile::create(&again).unwrap().discard();
        assert!(!again.exists());
    }
}
