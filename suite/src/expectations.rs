//! Known deviations of each target, as data beside the scenarios, and the verdicts they give.
//!
//! `fixtures/expectations/<target>.json` (schema `cogcheck-expectations/2`):
//!
//! ```json
//! {
//!   "schema": "cogcheck-expectations/2",
//!   "target": "moto",
//!   "unsupported": { "GetUserAuthFactors": "moto 5.2.5 answers HTTP 500 (not implemented)" },
//!   "everywhere": [
//!     { "axis": "protocol", "check": "content-type", "reason": "errors come as application/json" }
//!   ],
//!   "failures": {
//!     "auth::admin-secret-hash-required": [
//!       { "step": 4, "axis": "behaviour", "check": "outcome", "path": "$",
//!         "reason": "moto signs in without SECRET_HASH (AWS: NotAuthorizedException)" }
//!     ]
//!   }
//! }
//! ```
//!
//! - A **known failure** names its scenario, step (`null` for the runner's cleanup calls), axis,
//!   check and JSON path: exactly one finding. A finding that no entry names is *new*: in a
//!   scenario without entries the verdict is `fail`, in one with entries `changed`, so a new
//!   bug never hides behind an old one, at the same step or anywhere else.
//! - An entry that no longer occurs makes the scenario an `unexpected_pass` until the file is
//!   updated (by hand, or `cogcheck run --update-expectations`, which keeps written reasons).
//!   `"flaky": true` marks one entry that comes and goes (say why in the reason).
//! - **`everywhere`** entries are shape or protocol deviations a target shows on every answer of
//!   a kind (no request id, errors as `application/json`): recorded once per target, matched by
//!   axis, check and, when given, path, in every scenario and cleanup call.
//! - **`unsupported`** lists the operations the target does not implement. A scenario that
//!   reaches one of them is `unsupported`; one that reaches an operation *not* listed fails the
//!   run (a target that regresses to 404 does not stay green), and a listed operation that
//!   answers as implemented in a run where none said "unsupported" is reported as now
//!   implemented.
//!
//! Verdicts are per axis; by default the behaviour axis decides whether a scenario fails
//! ([`Strictness::Behaviour`]), with `--strict` every axis does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::finding::{Axis, CheckKind, Finding, Outcome, ScenarioResult};

/// The schema name and version of expectations files.
pub const SCHEMA: &str = "cogcheck-expectations/2";

/// How many scenarios must show the same shape or protocol deviation before
/// `--update-expectations` records it once in `everywhere` instead of per scenario.
const EVERYWHERE_THRESHOLD: usize = 10;

/// Starts the reason `--update-expectations` writes for a finding it has no reason for: the
/// finding's summary says what happened, not why, so a person must replace it before the file
/// is committed (a test refuses committed files that still hold one).
pub const UNEXPLAINED: &str = "UNEXPLAINED: ";

/// One known deviation of one scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Known {
    /// The step; `null` for the runner's cleanup calls.
    pub step: Option<usize>,
    /// The axis.
    pub axis: Axis,
    /// The check (see [`Finding::check`]).
    pub check: CheckKind,
    /// The JSON path of the finding.
    pub path: String,
    /// What the target does instead of what AWS does.
    pub reason: String,
    /// The deviation comes and goes: expected when it occurs, not missed when it does not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flaky: bool,
}

impl Known {
    fn matches(&self, f: &Finding) -> bool {
        self.step == f.step && self.axis == f.axis && self.check == f.check && self.path == f.path
    }

    fn describe(&self) -> String {
        let at = self
            .step
            .map_or("cleanup".to_string(), |s| format!("step {s}"));
        format!(
            "{at} [{}/{}] {}: {}",
            self.axis.name(),
            self.check,
            self.path,
            self.reason
        )
    }
}

/// A shape or protocol deviation a target shows wherever the answer allows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Everywhere {
    /// `shape` or `protocol` (behaviour is always per scenario).
    pub axis: Axis,
    /// The check.
    pub check: CheckKind,
    /// Only findings at this JSON path; any path when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What the target does instead of what AWS does.
    pub reason: String,
}

impl Everywhere {
    fn matches(&self, f: &Finding) -> bool {
        self.axis == f.axis
            && self.check == f.check
            && self.path.as_ref().is_none_or(|p| p == &f.path)
    }
}

/// A target's expectations file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// [`SCHEMA`].
    pub schema: String,
    /// The target's name.
    pub target: String,
    /// Operations the target does not implement, with how it says so.
    #[serde(default)]
    pub unsupported: BTreeMap<String, String>,
    /// Deviations recorded once for the whole target.
    #[serde(default)]
    pub everywhere: Vec<Everywhere>,
    /// Known deviations by scenario name.
    #[serde(default)]
    pub failures: BTreeMap<String, Vec<Known>>,
}

/// Which axes decide whether a scenario fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strictness {
    /// Only behaviour (the default): a shape or protocol deviation is reported, not failed.
    #[default]
    Behaviour,
    /// Every axis (`--strict`, `COGCHECK_STRICT=1`): for emulator authors who want byte-level
    /// conformance.
    Strict,
}

impl Strictness {
    /// `Strict` when `COGCHECK_STRICT` is set to anything but empty or `0`.
    pub fn from_env() -> Strictness {
        match std::env::var("COGCHECK_STRICT") {
            Ok(v) if !v.is_empty() && v != "0" => Strictness::Strict,
            _ => Strictness::Behaviour,
        }
    }

    fn decides(self, axis: Axis) -> bool {
        match self {
            Strictness::Strict => true,
            Strictness::Behaviour => axis == Axis::Behaviour,
        }
    }
}

/// A verdict, on one axis or for a whole scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Every assertion held.
    Pass,
    /// Deviations, none of them known.
    Fail {
        /// The first deviation, and how many more.
        note: String,
    },
    /// Every deviation is a known one.
    ExpectedFailure {
        /// The recorded reasons.
        reason: String,
    },
    /// A scenario with known deviations shows a new one.
    Changed {
        /// The new deviation, and how many more.
        note: String,
    },
    /// A known deviation no longer occurs: update the expectations file.
    UnexpectedPass {
        /// What no longer happens.
        reason: String,
    },
    /// The target does not implement an action the scenario needs, as its file says.
    Unsupported {
        /// The action.
        action: String,
        /// The recorded reason.
        reason: String,
    },
    /// Not run: the target lacks a required capability.
    Skipped {
        /// Why.
        reason: String,
    },
    /// A replayed snapshot holds no answer to one of the scenario's requests: the scenario
    /// was added or changed after the recording, so the snapshot cannot judge it.
    NotInSnapshot {
        /// The request replay did not find.
        reason: String,
    },
}

impl Verdict {
    /// Every verdict name, in the order reports list them.
    pub const NAMES: &'static [&'static str] = &[
        "pass",
        "fail",
        "expected_failure",
        "changed",
        "unexpected_pass",
        "unsupported",
        "skipped",
        "not_in_snapshot",
    ];

    /// True for the verdicts that fail `cargo test` and `cogcheck run`.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Verdict::Fail { .. }
                | Verdict::Changed { .. }
                | Verdict::UnexpectedPass { .. }
                | Verdict::NotInSnapshot { .. }
        )
    }

    /// A short name: `pass`, `fail`, `expected_failure`, `changed`, `unexpected_pass`,
    /// `unsupported`, `skipped`, `not_in_snapshot`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail { .. } => "fail",
            Verdict::ExpectedFailure { .. } => "expected_failure",
            Verdict::Changed { .. } => "changed",
            Verdict::UnexpectedPass { .. } => "unexpected_pass",
            Verdict::Unsupported { .. } => "unsupported",
            Verdict::Skipped { .. } => "skipped",
            Verdict::NotInSnapshot { .. } => "not_in_snapshot",
        }
    }

    /// The verdict's text (reason or note), if any.
    pub fn text(&self) -> Option<&str> {
        match self {
            Verdict::Pass => None,
            Verdict::Fail { note } | Verdict::Changed { note } => Some(note),
            Verdict::ExpectedFailure { reason }
            | Verdict::UnexpectedPass { reason }
            | Verdict::Unsupported { reason, .. }
            | Verdict::Skipped { reason }
            | Verdict::NotInSnapshot { reason } => Some(reason),
        }
    }

    /// How bad, for picking the verdict of a scenario from its axes: failures first.
    fn rank(&self) -> u8 {
        match self {
            Verdict::NotInSnapshot { .. } => 7,
            Verdict::Fail { .. } => 6,
            Verdict::Changed { .. } => 5,
            Verdict::UnexpectedPass { .. } => 4,
            Verdict::Unsupported { .. } => 3,
            Verdict::ExpectedFailure { .. } => 2,
            Verdict::Pass => 1,
            Verdict::Skipped { .. } => 0,
        }
    }
}

/// A scenario's verdicts: per axis, and the one that decides under the run's strictness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judgement {
    /// The deciding verdict.
    pub verdict: Verdict,
    /// The behaviour verdict.
    pub behaviour: Verdict,
    /// The shape verdict.
    pub shape: Verdict,
    /// The protocol verdict.
    pub protocol: Verdict,
    /// For each of the result's findings, in order: the recorded reason when it is known.
    pub known: Vec<Option<String>>,
    /// Known deviations that did not occur.
    pub stale: Vec<String>,
}

impl Judgement {
    /// The verdict on one axis.
    pub fn on(&self, axis: Axis) -> &Verdict {
        match axis {
            Axis::Behaviour => &self.behaviour,
            Axis::Shape => &self.shape,
            Axis::Protocol => &self.protocol,
        }
    }

    /// The new findings (not known) on `axis`.
    pub fn new_findings<'r>(
        &'r self,
        result: &'r ScenarioResult,
        axis: Axis,
    ) -> impl Iterator<Item = &'r Finding> {
        result
            .findings
            .iter()
            .zip(&self.known)
            .filter(move |(f, k)| f.axis == axis && is_new(f, k))
            .map(|(f, _)| f)
    }

    fn uniform(v: Verdict, findings: usize) -> Judgement {
        Judgement {
            verdict: v.clone(),
            behaviour: v.clone(),
            shape: v.clone(),
            protocol: v,
            known: vec![None; findings],
            stale: Vec::new(),
        }
    }
}

impl Default for Expectations {
    fn default() -> Expectations {
        Expectations::empty("")
    }
}

impl Expectations {
    /// No known deviations.
    pub fn empty(target: &str) -> Expectations {
        Expectations {
            schema: SCHEMA.into(),
            target: target.into(),
            unsupported: BTreeMap::new(),
            everywhere: Vec::new(),
            failures: BTreeMap::new(),
        }
    }

    /// `expectations/<target>.json` of the fixtures ([`crate::fixtures::dir`]).
    pub fn default_path(target: &str) -> PathBuf {
        crate::fixtures::path("expectations").join(format!("{target}.json"))
    }

    /// Reads a file; a missing file means no known deviations.
    pub fn load(path: &Path, target: &str) -> Result<Expectations> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Expectations::empty(target))
            }
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let bad = |message: String| Error::Config {
            path: path.to_path_buf(),
            message,
        };
        let mut de = serde_json::Deserializer::from_str(&text);
        let e: Expectations = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| bad(format!("at $.{}: {}", e.path(), e.inner())))?;
        if e.schema != SCHEMA {
            return Err(bad(format!(
                "at $.schema: {:?} is not {SCHEMA}; regenerate it with `cogcheck run --target {target} --update-expectations`",
                e.schema
            )));
        }
        for (name, entries) in &e.failures {
            for (i, k) in entries.iter().enumerate() {
                if k.reason.trim().is_empty() {
                    return Err(bad(format!(
                        "at $.failures.{name}[{i}].reason: every known failure needs a reason"
                    )));
                }
            }
        }
        for (i, w) in e.everywhere.iter().enumerate() {
            if w.axis == Axis::Behaviour {
                return Err(bad(format!(
                    "at $.everywhere[{i}]: behaviour deviations are recorded per scenario, never everywhere"
                )));
            }
            if w.reason.trim().is_empty() {
                return Err(bad(format!("at $.everywhere[{i}].reason: needs a reason")));
            }
        }
        for (action, reason) in &e.unsupported {
            if reason.trim().is_empty() {
                return Err(bad(format!(
                    "at $.unsupported.{action}: say how the target answers it"
                )));
            }
        }
        Ok(e)
    }

    /// The known failures whose reason is still the placeholder an update wrote.
    pub fn unexplained(&self) -> usize {
        self.failures
            .values()
            .flatten()
            .filter(|k| k.reason.starts_with(UNEXPLAINED))
            .count()
    }

    /// Applies the expectations to a result.
    pub fn judge(&self, result: &ScenarioResult, strictness: Strictness) -> Judgement {
        let findings = result.findings.len();
        if let Outcome::Skipped { reason } = &result.outcome {
            return Judgement::uniform(
                Verdict::Skipped {
                    reason: reason.clone(),
                },
                findings,
            );
        }
        // What the snapshot does not hold it cannot judge: neither a pass nor a deviation.
        if let Some(miss) = result
            .findings
            .iter()
            .find(|f| f.check == CheckKind::NotInSnapshot)
        {
            return Judgement::uniform(
                Verdict::NotInSnapshot {
                    reason: miss.summary.clone(),
                },
                findings,
            );
        }
        let entries: &[Known] = self
            .failures
            .get(&result.name)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut matched = vec![false; entries.len()];
        let known: Vec<Option<String>> = result
            .findings
            .iter()
            .map(|f| {
                if let Some(i) = entries.iter().position(|k| k.matches(f)) {
                    matched[i] = true;
                    return Some(entries[i].reason.clone());
                }
                self.everywhere
                    .iter()
                    .find(|w| w.matches(f))
                    .map(|w| w.reason.clone())
            })
            .collect();
        // Steps after a stop never ran, nor did the unsupported step itself: their entries
        // cannot have occurred.
        let ran = |k: &Known| match (&result.outcome, k.step) {
            (Outcome::Stopped { step, .. }, Some(s)) => s <= *step,
            (Outcome::Unsupported { step, .. }, Some(s)) => s < *step,
            _ => true,
        };
        let stale: Vec<&Known> = entries
            .iter()
            .zip(&matched)
            .filter(|(k, m)| !**m && !k.flaky && ran(k))
            .map(|(k, _)| k)
            .collect();
        let has_entries = !entries.is_empty();
        let axis_verdict = |axis: Axis| -> Verdict {
            let new: Vec<&Finding> = result
                .findings
                .iter()
                .zip(&known)
                .filter(|(f, k)| f.axis == axis && is_new(f, k))
                .map(|(f, _)| f)
                .collect();
            if let Some(first) = new.first() {
                let mut note = first.headline();
                if new.len() > 1 {
                    note = format!("{note} (and {} more)", new.len() - 1);
                }
                return if has_entries {
                    Verdict::Changed { note }
                } else {
                    Verdict::Fail { note }
                };
            }
            let gone: Vec<&&Known> = stale.iter().filter(|k| k.axis == axis).collect();
            if let Some(first) = gone.first() {
                let mut reason = format!("no longer happens: {}", first.describe());
                if gone.len() > 1 {
                    reason = format!("{reason} (and {} more)", gone.len() - 1);
                }
                return Verdict::UnexpectedPass { reason };
            }
            let reasons: BTreeSet<&str> = result
                .findings
                .iter()
                .zip(&known)
                .filter(|(f, _)| f.axis == axis)
                .filter_map(|(_, k)| k.as_deref())
                .collect();
            match reasons.len() {
                0 => Verdict::Pass,
                _ => Verdict::ExpectedFailure {
                    reason: reasons.into_iter().collect::<Vec<_>>().join("; "),
                },
            }
        };
        let behaviour = axis_verdict(Axis::Behaviour);
        let shape = axis_verdict(Axis::Shape);
        let protocol = axis_verdict(Axis::Protocol);
        let mut verdict = Verdict::Pass;
        for (axis, v) in [
            (Axis::Behaviour, &behaviour),
            (Axis::Shape, &shape),
            (Axis::Protocol, &protocol),
        ] {
            if strictness.decides(axis) && v.rank() > verdict.rank() {
                verdict = v.clone();
            }
        }
        if let Outcome::Unsupported { action, answer, .. } = &result.outcome {
            let v = match self.unsupported.get(action) {
                Some(reason) => Verdict::Unsupported {
                    action: action.clone(),
                    reason: reason.clone(),
                },
                None => Verdict::Fail {
                    note: format!(
                        "{action} is newly unsupported: the target answered {answer}, and \
                         fixtures/expectations/{}.json does not list it under `unsupported`",
                        self.target
                    ),
                },
            };
            if v.rank() > verdict.rank() {
                verdict = v;
            }
        }
        Judgement {
            verdict,
            behaviour,
            shape,
            protocol,
            known,
            stale: stale.iter().map(|k| k.describe()).collect(),
        }
    }

    /// Operations listed as unsupported that answered as implemented in `results`, where none
    /// said "unsupported": the target implements them now, and the file should say so.
    pub fn now_implemented(&self, results: &[ScenarioResult]) -> Vec<String> {
        let mut answered = BTreeSet::new();
        let mut refused = BTreeSet::new();
        for r in results {
            answered.extend(r.actions_answered().map(str::to_string));
            if let Outcome::Unsupported { action, .. } = &r.outcome {
                refused.insert(action.clone());
            }
        }
        self.unsupported
            .keys()
            .filter(|a| answered.contains(*a) && !refused.contains(*a))
            .cloned()
            .collect()
    }

    /// The expectations a run implies: every finding becomes a known deviation (shape and
    /// protocol deviations seen in many scenarios once, under `everywhere`), keeping the
    /// reasons already written for the same entries. `complete` is false for a filtered run,
    /// which leaves the entries of scenarios it did not run alone.
    pub fn updated_from(&self, results: &[ScenarioResult], complete: bool) -> Expectations {
        let mut out = if complete {
            Expectations {
                everywhere: Vec::new(),
                failures: BTreeMap::new(),
                unsupported: BTreeMap::new(),
                ..self.clone()
            }
        } else {
            self.clone()
        };
        out.schema = SCHEMA.into();
        // Everywhere: what was recorded so and still occurs, plus what many scenarios share.
        let mut spread: BTreeMap<(Axis, CheckKind, String), (BTreeSet<&str>, &Finding)> =
            BTreeMap::new();
        for r in results {
            for f in r.findings.iter().filter(|f| f.axis != Axis::Behaviour) {
                spread
                    .entry((f.axis, f.check, f.path.clone()))
                    .or_insert_with(|| (BTreeSet::new(), f))
                    .0
                    .insert(&r.name);
            }
        }
        for w in &self.everywhere {
            let occurs = results
                .iter()
                .any(|r| r.findings.iter().any(|f| w.matches(f)));
            if (occurs || !complete) && !out.everywhere.contains(w) {
                out.everywhere.push(w.clone());
            }
        }
        for ((axis, check, path), (names, example)) in &spread {
            let covered = out.everywhere.iter().any(|w| w.matches(example));
            // An undeclared error is a different deviation for each error and operation,
            // though every one sits at `$.__type`: it stays with its scenario.
            let lumps_distinct = *check == CheckKind::UndeclaredError;
            if !covered && !lumps_distinct && names.len() >= EVERYWHERE_THRESHOLD {
                let reason = match axis {
                    // Framing findings have no path; their summary names the action, which
                    // says nothing about the target as a whole.
                    Axis::Protocol => framing_reason(example),
                    Axis::Shape | Axis::Behaviour => strip_action(&example.summary),
                };
                out.everywhere.push(Everywhere {
                    axis: *axis,
                    check: *check,
                    path: (*axis == Axis::Shape).then(|| path.clone()),
                    reason: crate::secrets::scrub(&reason, std::iter::empty()),
                });
            }
        }
        for r in results {
            match &r.outcome {
                Outcome::Skipped { .. } => {
                    if let Some(old) = self.failures.get(&r.name) {
                        out.failures.insert(r.name.clone(), old.clone());
                    }
                    continue;
                }
                Outcome::Unsupported { action, answer, .. } => {
                    let reason = self
                        .unsupported
                        .get(action)
                        .cloned()
                        .unwrap_or_else(|| format!("answers {answer}"));
                    out.unsupported.insert(action.clone(), reason);
                }
                Outcome::Completed | Outcome::Stopped { .. } => {}
            }
            let old: &[Known] = self.failures.get(&r.name).map(Vec::as_slice).unwrap_or(&[]);
            let mut entries: Vec<Known> = Vec::new();
            for f in &r.findings {
                if f.is_inferred() || out.everywhere.iter().any(|w| w.matches(f)) {
                    continue;
                }
                if entries.iter().any(|k| k.matches(f)) {
                    continue;
                }
                let previous = old.iter().find(|k| k.matches(f));
                let reason = previous.map_or_else(
                    || format!("{UNEXPLAINED}{}", f.summary),
                    |k| k.reason.clone(),
                );
                entries.push(Known {
                    step: f.step,
                    axis: f.axis,
                    check: f.check,
                    path: f.path.clone(),
                    // A reason is committed to the repository: never let a token into it.
                    reason: crate::secrets::scrub(&reason, std::iter::empty()),
                    flaky: previous.is_some_and(|k| k.flaky),
                });
            }
            // A flaky entry stays when it did not occur: one lucky run proves nothing.
            for k in old.iter().filter(|k| k.flaky) {
                if !entries.iter().any(|e| same_key(e, k)) {
                    entries.push(k.clone());
                }
            }
            if entries.is_empty() {
                out.failures.remove(&r.name);
            } else {
                out.failures.insert(r.name.clone(), entries);
            }
        }
        out
    }

    /// Writes the file, pretty-printed with a trailing newline so diffs stay small.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })? + "\n";
        std::fs::write(path, text).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// A finding that counts against the target as a new deviation: no entry knows it, and its
/// expectation is not merely inferred (an inferred one is reported, never held against it).
fn is_new(f: &Finding, known: &Option<String>) -> bool {
    known.is_none() && !f.is_inferred()
}

fn same_key(a: &Known, b: &Known) -> bool {
    a.step == b.step && a.axis == b.axis && a.check == b.check && a.path == b.path
}

/// `DescribeUserPool: $.UserPool.Status: …` → `$.UserPool.Status: …`.
fn strip_action(summary: &str) -> String {
    match summary.split_once(": ") {
        Some((head, rest)) if head.chars().all(|c| c.is_ascii_alphanumeric()) => rest.into(),
        _ => summary.into(),
    }
}

fn framing_reason(f: &Finding) -> String {
    match f.check {
        // The status finding names one error type; the deviation is the class of statuses.
        CheckKind::ErrorStatus => "errors come with a status other than the model's".into(),
        _ => strip_action(&f.summary),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;

    #[test]
    fn a_misspelt_check_kind_is_a_load_error_naming_where() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        let text = format!(
            r#"{{"schema": "{SCHEMA}", "failures": {{"a::b": [
                {{"step": 1, "axis": "behaviour", "check": "error_type", "path": "$", "reason": "r"}}
            ]}}}}"#
        );
        std::fs::write(&path, text).unwrap();
        let err = Expectations::load(&path, "t").unwrap_err().to_string();
        assert!(
            err.contains("failures.a::b[0].check") && err.contains("error_type"),
            "{err}"
        );
        assert_eq!("error-type".parse::<CheckKind>(), Ok(CheckKind::ErrorType));
        for kind in [
            CheckKind::Outcome,
            CheckKind::StatusContradictsBody,
            CheckKind::TooDeep,
        ] {
            assert_eq!(
                kind.name().parse::<CheckKind>(),
                Ok(kind),
                "name and serde agree"
            );
        }
    }

    fn finding(step: usize, axis: Axis, check: &str, path: &str) -> Finding {
        Finding {
            step: Some(step),
            action: Some("DescribeUserPool".into()),
            axis,
            severity: match axis {
                Axis::Behaviour => Severity::Functional,
                Axis::Shape => Severity::Shape,
                Axis::Protocol => Severity::Protocol,
            },
            check: check.parse().expect("a check kind"),
            path: path.into(),
            summary: format!("DescribeUserPool: {check} at {path}"),
            expected: String::new(),
            actual: String::new(),
            diff: String::new(),
            source: "model".into(),
            evidence: None,
        }
    }

    fn result(name: &str, outcome: Outcome, findings: Vec<Finding>) -> ScenarioResult {
        ScenarioResult {
            name: name.into(),
            area: "a".into(),
            file: "f".into(),
            source: "model".into(),
            covers: vec![],
            outcome,
            findings,
            steps: vec![],
            duration_ms: 0,
            cleanup_errors: vec![],
            cleanup_ms: 0,
        }
    }

    fn known(step: usize, axis: Axis, check: &str, path: &str) -> Known {
        Known {
            step: Some(step),
            axis,
            check: check.parse().expect("a check kind"),
            path: path.into(),
            reason: "why".into(),
            flaky: false,
        }
    }

    fn with(entries: Vec<Known>) -> Expectations {
        let mut e = Expectations::empty("t");
        e.failures.insert("a::b".into(), entries);
        e
    }

    const B: Strictness = Strictness::Behaviour;

    #[test]
    fn a_clean_result_passes_and_a_new_finding_fails() {
        let none = Expectations::empty("t");
        let j = none.judge(&result("a::b", Outcome::Completed, vec![]), B);
        assert_eq!(j.verdict, Verdict::Pass);
        let r = result(
            "a::b",
            Outcome::Completed,
            vec![finding(1, Axis::Behaviour, "body", "$.X")],
        );
        assert!(matches!(none.judge(&r, B).verdict, Verdict::Fail { .. }));
    }

    #[test]
    fn a_known_finding_is_expected_and_a_new_one_beside_it_is_changed() {
        let e = with(vec![known(1, Axis::Behaviour, "outcome", "$")]);
        let r = result(
            "a::b",
            Outcome::Completed,
            vec![finding(1, Axis::Behaviour, "outcome", "$")],
        );
        let j = e.judge(&r, B);
        assert_eq!(
            j.verdict,
            Verdict::ExpectedFailure {
                reason: "why".into()
            }
        );
        assert_eq!(j.known, vec![Some("why".to_string())]);
        // The same step, another check: changed.
        let mut r2 = r.clone();
        r2.findings
            .push(finding(1, Axis::Behaviour, "body", "$.User"));
        assert!(matches!(e.judge(&r2, B).verdict, Verdict::Changed { .. }));
        // Another step's shape: the shape axis is changed, behaviour still expected; strict
        // fails on it.
        let mut r3 = r.clone();
        r3.findings
            .push(finding(3, Axis::Shape, "missing-required", "$.UserPool.Id"));
        let j = e.judge(&r3, B);
        assert!(matches!(j.behaviour, Verdict::ExpectedFailure { .. }));
        assert!(matches!(j.shape, Verdict::Changed { .. }));
        assert!(!j.verdict.is_failure());
        assert!(matches!(
            e.judge(&r3, Strictness::Strict).verdict,
            Verdict::Changed { .. }
        ));
    }

    #[test]
    fn a_known_finding_that_is_gone_is_an_unexpected_pass_unless_flaky() {
        let e = with(vec![known(1, Axis::Behaviour, "outcome", "$")]);
        let r = result("a::b", Outcome::Completed, vec![]);
        let v = e.judge(&r, B).verdict;
        assert!(matches!(v, Verdict::UnexpectedPass { .. }) && v.is_failure());
        let mut k = known(1, Axis::Behaviour, "outcome", "$");
        k.flaky = true;
        assert_eq!(with(vec![k]).judge(&r, B).verdict, Verdict::Pass);
        // An entry after the step where the scenario stopped did not get its chance.
        let e = with(vec![known(5, Axis::Behaviour, "body", "$.X")]);
        let stopped = result(
            "a::b",
            Outcome::Stopped {
                step: 2,
                reason: "r".into(),
            },
            vec![],
        );
        assert_eq!(e.judge(&stopped, B).verdict, Verdict::Pass);
    }

    #[test]
    fn an_inferred_expectation_never_counts_against_the_target() {
        let mut f = finding(1, Axis::Behaviour, "body", "$.X");
        f.evidence = Some(crate::finding::Evidence::Inferred {
            note: "no page says so".into(),
        });
        let r = result("a::b", Outcome::Completed, vec![f]);
        let e = Expectations::empty("t");
        assert_eq!(e.judge(&r, Strictness::Strict).verdict, Verdict::Pass);
        assert!(e.updated_from(&[r], true).failures.is_empty());
    }

    #[test]
    fn everywhere_entries_match_any_scenario() {
        let mut e = Expectations::empty("t");
        e.everywhere.push(Everywhere {
            axis: Axis::Protocol,
            check: CheckKind::RequestId,
            path: None,
            reason: "no request ids".into(),
        });
        let r = result(
            "x::y",
            Outcome::Completed,
            vec![finding(0, Axis::Protocol, "request-id", "-")],
        );
        let j = e.judge(&r, Strictness::Strict);
        assert!(matches!(j.verdict, Verdict::ExpectedFailure { .. }));
    }

    #[test]
    fn unsupported_is_tracked() {
        let mut e = Expectations::empty("t");
        let r = result(
            "a::b",
            Outcome::Unsupported {
                action: "GetUserAuthFactors".into(),
                step: 2,
                answer: "HTTP 501".into(),
            },
            vec![],
        );
        let v = e.judge(&r, B).verdict;
        assert!(v.is_failure(), "newly unsupported must fail: {v:?}");
        e.unsupported
            .insert("GetUserAuthFactors".into(), "not implemented".into());
        assert!(matches!(
            e.judge(&r, B).verdict,
            Verdict::Unsupported { .. }
        ));
        // Answered somewhere, refused nowhere: now implemented.
        let mut ok = result("c::d", Outcome::Completed, vec![]);
        ok.steps.push(crate::finding::StepResult {
            index: 0,
            label: "GetUserAuthFactors".into(),
            action: Some("GetUserAuthFactors".into()),
            status: crate::finding::StepStatus::Passed,
            duration_ms: 0,
            http_status: Some(200),
            error_type: None,
            attempts: 1,
        });
        assert_eq!(
            e.now_implemented(std::slice::from_ref(&ok)),
            vec!["GetUserAuthFactors"]
        );
        assert!(e.now_implemented(&[ok, r]).is_empty());
    }

    #[test]
    fn update_keeps_reasons_groups_widespread_deviations_and_drops_passes() {
        let e = with(vec![known(1, Axis::Behaviour, "outcome", "$")]);
        let mut results = vec![result(
            "a::b",
            Outcome::Completed,
            vec![
                finding(1, Axis::Behaviour, "outcome", "$"),
                finding(1, Axis::Protocol, "request-id", "-"),
            ],
        )];
        for i in 0..EVERYWHERE_THRESHOLD {
            results.push(result(
                &format!("z::{i}"),
                Outcome::Completed,
                vec![finding(0, Axis::Protocol, "request-id", "-")],
            ));
        }
        let u = e.updated_from(&results, true);
        assert_eq!(u.failures["a::b"].len(), 1);
        assert_eq!(u.failures["a::b"][0].reason, "why");
        assert_eq!(u.everywhere.len(), 1);
        assert!(!u.failures.contains_key("z::0"));
        let passed = e.updated_from(&[result("a::b", Outcome::Completed, vec![])], true);
        assert!(passed.failures.is_empty());
    }

    #[test]
    fn committed_known_failures_say_why() {
        // A reason is what a reader of the report learns about the target; the finding's own
        // summary ("X: $.a: expected b, got c") repeats the verdict and explains nothing.
        let copied = regex::Regex::new(r"^[A-Za-z_:]+: .*(expected .*, got |save `)").unwrap();
        let dir = crate::fixtures::path("expectations");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let Some(target) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let e = Expectations::load(&path, target).unwrap();
            for (name, known) in &e.failures {
                for k in known {
                    checked += 1;
                    assert!(
                        !k.reason.starts_with(UNEXPLAINED) && !copied.is_match(&k.reason),
                        "{}: {name} step {:?} {}: write why the target deviates, not the finding's summary: {}",
                        path.display(),
                        k.step,
                        k.path,
                        k.reason
                    );
                }
            }
        }
        assert!(checked > 0, "no known failures under {}", dir.display());
    }

    #[test]
    fn updates_mark_new_reasons_unexplained() {
        let e = Expectations::default();
        let u = e.updated_from(
            &[result(
                "a::b",
                Outcome::Completed,
                vec![finding(2, Axis::Behaviour, "body", "$.x")],
            )],
            true,
        );
        assert!(u.failures["a::b"][0].reason.starts_with(UNEXPLAINED));
        assert_eq!(u.unexplained(), 1);
    }

    #[test]
    fn files_need_the_schema_and_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.json");
        std::fs::write(
            &p,
            r#"{"schema":"cogcheck-expectations/2","target":"t","failures":{"a::b":[{"step":0,"axis":"behaviour","check":"body","path":"$","reason":" "}]}}"#,
        )
        .unwrap();
        assert!(Expectations::load(&p, "t")
            .unwrap_err()
            .to_string()
            .contains("reason"));
        std::fs::write(&p, r#"{"target":"t","failures":{}}"#).unwrap();
        let err = Expectations::load(&p, "t").unwrap_err().to_string();
        assert!(err.contains("t.json") && err.contains("schema"), "{err}");
        std::fs::write(
            &p,
            r#"{"schema":"cogcheck-expectations/2","target":"t","everywhere":[{"axis":"behaviour","check":"body","reason":"r"}]}"#,
        )
        .unwrap();
        assert!(Expectations::load(&p, "t")
            .unwrap_err()
            .to_string()
            .contains("per scenario"));
        assert!(Expectations::load(&dir.path().join("none.json"), "t")
            .unwrap()
            .failures
            .is_empty());
    }
}
