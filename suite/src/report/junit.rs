//! JUnit XML (`--junit FILE`), one test suite per area and one test case per scenario, so CI
//! systems show scenarios like any other tests.

use std::path::Path;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::error::{Error, Result};
use crate::expectations::{Judgement, Verdict};
use crate::finding::{Axis, ScenarioResult};

/// Writes the JUnit file.
/// Expected failures pass, unsupported and skipped scenarios are skipped with their reason, and
/// failures list every new finding.
pub fn write(path: &Path, target: &str, verdicts: &[(ScenarioResult, Judgement)]) -> Result<()> {
    let mut report = Report::new(format!("cogcheck-{target}"));
    let mut suites: std::collections::BTreeMap<String, TestSuite> = Default::default();
    for (r, j) in verdicts {
        let v = &j.verdict;
        let status = match v {
            Verdict::Pass | Verdict::ExpectedFailure { .. } => TestCaseStatus::success(),
            Verdict::Unsupported { .. } | Verdict::Skipped { .. } => {
                let mut s = TestCaseStatus::skipped();
                if let (TestCaseStatus::Skipped { message, .. }, Some(m)) =
                    (&mut s, skip_message(v))
                {
                    *message = Some(m.into());
                }
                s
            }
            Verdict::Fail { .. }
            | Verdict::Changed { .. }
            | Verdict::UnexpectedPass { .. }
            | Verdict::NotInSnapshot { .. } => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                if let TestCaseStatus::NonSuccess {
                    message,
                    description,
                    ..
                } = &mut s
                {
                    let m = format!("{}: {}", v.name(), v.text().unwrap_or(""));
                    let d = Axis::ALL
                        .iter()
                        .flat_map(|a| j.new_findings(r, *a))
                        .map(|f| format!("{}\n{}", f.headline(), f.diff))
                        .chain(j.stale.iter().map(|s| format!("no longer happens: {s}")))
                        .collect::<Vec<_>>()
                        .join("\n");
                    *message = Some(m.into());
                    *description = Some(d.into());
                }
                s
            }
        };
        let mut case = TestCase::new(r.name.clone(), status);
        case.set_time(std::time::Duration::from_millis(r.duration_ms));
        suites
            .entry(r.area.clone())
            .or_insert_with(|| TestSuite::new(r.area.clone()))
            .add_test_case(case);
    }
    report.add_test_suites(suites.into_values());
    let xml = report.to_string().map_err(|e| Error::Config {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    std::fs::write(path, xml).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn skip_message(v: &Verdict) -> Option<String> {
    match v {
        Verdict::Unsupported { action, reason } => {
            Some(format!("the target does not implement {action}: {reason}"))
        }
        Verdict::Skipped { reason } => Some(reason.clone()),
        _ => None,
    }
}
