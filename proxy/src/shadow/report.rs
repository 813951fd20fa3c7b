//! The diff report: mismatch records as JSON lines (written as they come), and at the end a
//! Markdown summary grouped by action and a JUnit file (one test case per action, failed when
//! any of its exchanges mismatched). The three are consumers of the same comparisons.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use super::diff::{DiffHeader, MismatchRecord, DIFF_FORMAT};
use crate::error::{Error, Result};

/// How many records per action the summary and the JUnit file show in full.
const SHOWN_PER_ACTION: usize = 10;

/// Where the report goes.
#[derive(Debug, Clone, Default)]
pub struct ReportPaths {
    /// JSON lines, one per mismatch.
    pub jsonl: Option<PathBuf>,
    /// Markdown summary.
    pub markdown: Option<PathBuf>,
    /// JUnit XML.
    pub junit: Option<PathBuf>,
}

/// Per-action counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ActionTally {
    /// Exchanges compared.
    pub compared: u64,
    /// Of which mismatched.
    pub mismatched: u64,
}

/// What a comparison run found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Exchanges compared.
    pub compared: u64,
    /// Mismatches.
    pub mismatched: u64,
    /// Exchanges not compared (not API calls, no recorded answer).
    pub skipped: u64,
    /// Per action.
    pub actions: BTreeMap<String, ActionTally>,
    /// Write errors (the report is incomplete when non-zero).
    pub write_errors: u64,
    /// Identifier pairs the mapping held at the end.
    pub mapping_held: u64,
    /// Identifier pairs it forgot (with a deleted pool, or over its budget); a request that
    /// sent a forgotten value reached the shadow unrewritten.
    pub mapping_forgotten: u64,
    /// Requests never sent to the shadow because its queue was full (live compare only);
    /// comparisons after the first may differ because of them.
    pub dropped: u64,
}

/// Collects comparisons and writes the report.
pub struct DiffReport {
    paths: ReportPaths,
    header: DiffHeader,
    jsonl: Option<std::io::BufWriter<std::fs::File>>,
    summary: Summary,
    shown: BTreeMap<String, Vec<MismatchRecord>>,
}

impl DiffReport {
    /// Creates the JSON lines file (truncating it) and writes its header.
    pub fn open(paths: ReportPaths, primary: &str, shadow: &str) -> Result<DiffReport> {
        let header = DiffHeader {
            diff: DIFF_FORMAT.into(),
            created: crate::record::rfc3339(std::time::SystemTime::now()),
            primary: primary.into(),
            shadow: shadow.into(),
        };
        let jsonl = match &paths.jsonl {
            Some(p) => {
                let file = std::fs::File::create(p).map_err(|e| Error::io(p, e))?;
                let mut w = std::io::BufWriter::new(file);
                let line = serde_json::to_string(&header)
                    .map_err(|e| Error::Config(format!("cannot encode the diff header: {e}")))?;
                writeln!(w, "{line}")
                    .and_then(|_| w.flush())
                    .map_err(|e| Error::io(p, e))?;
                Some(w)
            }
            None => None,
        };
        Ok(DiffReport {
            paths,
            header,
            jsonl,
            summary: Summary::default(),
            shown: BTreeMap::new(),
        })
    }

    /// Notes the mapping's size, for the summary.
    pub fn mapping(&mut self, held: u64, forgotten: u64) {
        self.summary.mapping_held = held;
        self.summary.mapping_forgotten = forgotten;
    }

    /// Notes the requests dropped for the shadow, for the summary.
    pub fn dropped(&mut self, n: u64) {
        self.summary.dropped = n;
    }

    /// Counts an exchange that was not compared.
    pub fn skipped(&mut self) {
        self.summary.skipped += 1;
    }

    /// Counts a compared exchange; `None` when it matched. Returns the exchange's number.
    pub fn compared(&mut self, action: &str) -> u64 {
        self.summary.compared += 1;
        self.summary
            .actions
            .entry(action.to_string())
            .or_default()
            .compared += 1;
        self.summary.compared
    }

    /// Adds a mismatch (call [`DiffReport::compared`] first).
    pub fn mismatch(&mut self, record: MismatchRecord) {
        self.summary.mismatched += 1;
        self.summary
            .actions
            .entry(record.action.clone())
            .or_default()
            .mismatched += 1;
        if let (Some(w), Some(p)) = (&mut self.jsonl, &self.paths.jsonl) {
            let written = serde_json::to_string(&record)
                .map_err(std::io::Error::other)
                .and_then(|line| writeln!(w, "{line}"))
                .and_then(|_| w.flush());
            if let Err(e) = written {
                self.summary.write_errors += 1;
                tracing::error!(error = %e, file = %p.display(), "cannot write a diff record");
            }
        }
        let shown = self.shown.entry(record.action.clone()).or_default();
        if shown.len() < SHOWN_PER_ACTION {
            shown.push(record);
        }
    }

    /// The counts so far.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Writes the Markdown summary and the JUnit file, and returns the counts.
    pub fn finish(mut self) -> Result<Summary> {
        if let (Some(w), Some(p)) = (&mut self.jsonl, &self.paths.jsonl) {
            w.flush()
                .and_then(|_| w.get_ref().sync_all())
                .map_err(|e| Error::io(p, e))?;
        }
        if let Some(p) = &self.paths.markdown {
            write_file(p, &self.markdown())?;
        }
        if let Some(p) = &self.paths.junit {
            let xml = self
                .junit()
                .to_string()
                .map_err(|e| Error::Config(format!("cannot encode the JUnit report: {e}")))?;
            write_file(p, &xml)?;
        }
        Ok(self.summary)
    }

    /// The Markdown summary.
    pub fn markdown(&self) -> String {
        let s = &self.summary;
        let mut out = String::new();
        out.push_str("# cogcheck compare\n\n");
        out.push_str(&format!(
            "Primary `{}`, shadow `{}`, {}.\n\n",
            self.header.primary, self.header.shadow, self.header.created
        ));
        out.push_str(&format!(
            "**{} of {} exchanges differ** after normalization, in {} of {} actions",
            s.mismatched,
            s.compared,
            s.actions.values().filter(|t| t.mismatched > 0).count(),
            s.actions.len()
        ));
        if s.skipped > 0 {
            out.push_str(&format!("; {} exchanges were not compared", s.skipped));
        }
        out.push_str(".\n\n");
        if s.dropped > 0 {
            out.push_str(&format!(
                "**{} requests were not sent to the shadow**: it fell a whole queue behind \
                 (`--shadow-queue`), and the primary's clients are never made to wait for it. \
                 The shadow missed those requests, so later differences may come from that.\n\n",
                s.dropped
            ));
        }
        if s.mapping_forgotten > 0 {
            out.push_str(&format!(
                "The identifier mapping forgot {} pairs (with deleted pools, or over its budget) \
                 and held {} at the end.\n\n",
                s.mapping_forgotten, s.mapping_held
            ));
        }
        out.push_str("| action | compared | differ |\n|---|---:|---:|\n");
        let mut rows: Vec<(&String, &ActionTally)> = s.actions.iter().collect();
        rows.sort_by(|a, b| b.1.mismatched.cmp(&a.1.mismatched).then(a.0.cmp(b.0)));
        for (action, t) in &rows {
            out.push_str(&format!(
                "| {action} | {} | {} |\n",
                t.compared,
                if t.mismatched > 0 {
                    format!("**{}**", t.mismatched)
                } else {
                    "0".into()
                }
            ));
        }
        for (action, t) in rows.iter().filter(|(_, t)| t.mismatched > 0) {
            out.push_str(&format!("\n## {action}\n\n"));
            let records = self.shown.get(*action).map(Vec::as_slice).unwrap_or(&[]);
            if t.mismatched as usize > records.len() {
                out.push_str(&format!(
                    "The first {} of {} mismatches; all are in the JSON lines file.\n\n",
                    records.len(),
                    t.mismatched
                ));
            }
            for r in records {
                out.push_str(&format!(
                    "### #{}{}: primary {}, shadow {}\n\n",
                    r.seq,
                    r.pool_name
                        .as_deref()
                        .map(|n| format!(" (pool `{n}`)"))
                        .unwrap_or_default(),
                    side(&r.primary),
                    side(&r.shadow)
                ));
                if let Some(note) = &r.note {
                    out.push_str(&format!("{note}\n\n"));
                }
                if !r.diff.is_empty() {
                    out.push_str(&format!("```diff\n{}```\n\n", r.diff));
                }
            }
        }
        out
    }

    fn junit(&self) -> Report {
        let mut report = Report::new("cogcheck-compare");
        let mut suite =
            TestSuite::new(format!("{} vs {}", self.header.primary, self.header.shadow));
        for (action, t) in &self.summary.actions {
            let status = if t.mismatched == 0 {
                TestCaseStatus::success()
            } else {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                if let TestCaseStatus::NonSuccess {
                    message,
                    description,
                    ..
                } = &mut s
                {
                    *message =
                        Some(format!("{} of {} exchanges differ", t.mismatched, t.compared).into());
                    let text: Vec<String> = self
                        .shown
                        .get(action)
                        .map(Vec::as_slice)
                        .unwrap_or(&[])
                        .iter()
                        .map(|r| {
                            format!(
                                "#{}: primary {}, shadow {}\n{}",
                                r.seq,
                                side(&r.primary),
                                side(&r.shadow),
                                r.diff
                            )
                        })
                        .collect();
                    *description = Some(text.join("\n").into());
                }
                s
            };
            suite.add_test_case(TestCase::new(action.clone(), status));
        }
        report.add_test_suite(suite);
        report
    }
}

fn side(a: &super::diff::AnswerSummary) -> String {
    match &a.error_type {
        Some(t) => format!("{} {t}", a.status),
        None => a.status.to_string(),
    }
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}
