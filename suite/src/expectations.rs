//! Known failures of each target, as data beside the scenarios, and the verdicts they give.
//!
//! `fixtures/expectations/<target>.json`:
//!
//! ```json
//! {
//!   "target": "moto",
//!   "failures": {
//!     "user-pools::create-defaults": {
//!       "step": 0,
//!       "check": "body",
//!       "reason": "moto omits UserPool.Arn"
//!     }
//!   }
//! }
//! ```
//!
//! An entry may add `"flaky": true` when the target deviates at random (then any failure is
//! expected and a lucky pass is not flagged; the reason must say why).
//!
//! A failure is *expected* only when it fails at the same step with the same kind of check as
//! recorded; a known failure that now fails differently is *changed* (and fails the run), so
//! a new bug never hides behind an old entry. An entry whose scenario passes is an *unexpected
//! pass* (and fails the run) until the file is updated, by hand or with
//! `cogcheck run --update-expectations`, which keeps the reasons already written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::run::{Outcome, ScenarioResult};

/// One known failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownFailure {
    /// The step that fails.
    pub step: usize,
    /// The kind of check that fails there (see [`crate::run::Failure::check`]).
    pub check: String,
    /// Why the target fails it: what it does instead of what AWS does.
    pub reason: String,
    /// The target deviates at random (a generated secret that only sometimes breaks the
    /// documented format): any failure is expected, and a pass is not reported as unexpected.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flaky: bool,
}

/// A target's expectations file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// The target's name.
    pub target: String,
    /// Known failures by scenario name.
    #[serde(default)]
    pub failures: BTreeMap<String, KnownFailure>,
}

/// A scenario's verdict on a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Passed.
    Pass,
    /// Failed, and not a known failure.
    Fail,
    /// Failed as the expectations file says.
    ExpectedFailure {
        /// The recorded reason.
        reason: String,
    },
    /// A known failure that now fails differently.
    Changed {
        /// What the file recorded and what happened now.
        note: String,
    },
    /// Listed as a known failure but passed: update the file.
    UnexpectedPass {
        /// The recorded reason.
        reason: String,
    },
    /// The target does not implement an action the scenario needs.
    Unsupported {
        /// The action.
        action: String,
    },
    /// Not run: the target lacks a required capability.
    Skipped {
        /// Why.
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
    ];

    /// True for the verdicts that fail `cargo test` and `cogcheck run`.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Verdict::Fail | Verdict::Changed { .. } | Verdict::UnexpectedPass { .. }
        )
    }

    /// A short name: `pass`, `fail`, `expected_failure`, `changed`, `unexpected_pass`,
    /// `unsupported`, `skipped`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::ExpectedFailure { .. } => "expected_failure",
            Verdict::Changed { .. } => "changed",
            Verdict::UnexpectedPass { .. } => "unexpected_pass",
            Verdict::Unsupported { .. } => "unsupported",
            Verdict::Skipped { .. } => "skipped",
        }
    }
}

impl Expectations {
    /// `fixtures/expectations/<target>.json` of this checkout.
    pub fn default_path(target: &str) -> PathBuf {
        crate::repo_path("fixtures/expectations").join(format!("{target}.json"))
    }

    /// Reads a file; a missing file means no known failures.
    pub fn load(path: &Path, target: &str) -> Result<Expectations> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Expectations {
                    target: target.to_string(),
                    failures: BTreeMap::new(),
                })
            }
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let mut de = serde_json::Deserializer::from_str(&text);
        let e: Expectations =
            serde_path_to_error::deserialize(&mut de).map_err(|e| Error::Config {
                path: path.to_path_buf(),
                message: format!("at $.{}: {}", e.path(), e.inner()),
            })?;
        for (name, f) in &e.failures {
            if f.reason.trim().is_empty() {
                return Err(Error::Config {
                    path: path.to_path_buf(),
                    message: format!(
                        "at $.failures.{name}.reason: every known failure needs a reason"
                    ),
                });
            }
        }
        Ok(e)
    }

    /// Applies the expectations to a result.
    pub fn verdict(&self, result: &ScenarioResult) -> Verdict {
        let known = self.failures.get(&result.name);
        match (&result.outcome, known) {
            (Outcome::Passed, None) => Verdict::Pass,
            // A target that deviates at random sometimes happens to pass.
            (Outcome::Passed, Some(k)) if k.flaky => Verdict::Pass,
            (Outcome::Passed, Some(k)) => Verdict::UnexpectedPass {
                reason: k.reason.clone(),
            },
            (Outcome::Failed(_), None) => Verdict::Fail,
            (Outcome::Failed(f), Some(k))
                if k.flaky || (f.step == k.step && f.check == k.check) =>
            {
                Verdict::ExpectedFailure {
                    reason: k.reason.clone(),
                }
            }
            (Outcome::Failed(f), Some(k)) => Verdict::Changed {
                note: format!(
                    "known failure was step {} ({}): {}; now step {} ({}): {}",
                    k.step, k.check, k.reason, f.step, f.check, f.summary
                ),
            },
            (Outcome::Unsupported { action, .. }, _) => Verdict::Unsupported {
                action: action.clone(),
            },
            (Outcome::Skipped { reason }, _) => Verdict::Skipped {
                reason: reason.clone(),
            },
        }
    }

    /// The expectations a run implies: every failure becomes a known failure, keeping the
    /// reason already written for the same scenario at the same step and check.
    pub fn updated_from(&self, results: &[ScenarioResult], complete: bool) -> Expectations {
        let mut failures = if complete {
            BTreeMap::new()
        } else {
            self.failures.clone()
        };
        for r in results {
            match &r.outcome {
                Outcome::Failed(f) => {
                    // A flaky entry was written by hand for a target that fails at random
                    // places; a run cannot improve on it.
                    if let Some(k) = self.failures.get(&r.name).filter(|k| k.flaky) {
                        failures.insert(r.name.clone(), k.clone());
                        continue;
                    }
                    let reason = match self.failures.get(&r.name) {
                        Some(k) if k.step == f.step && k.check == f.check => k.reason.clone(),
                        _ => f.summary.clone(),
                    };
                    // A reason is committed to the repository: never let a token into it.
                    let reason = crate::run::scrub(&reason, std::iter::empty());
                    failures.insert(
                        r.name.clone(),
                        KnownFailure {
                            step: f.step,
                            check: f.check.clone(),
                            reason,
                            flaky: false,
                        },
                    );
                }
                // A flaky entry stays: one lucky pass does not mean the target was fixed.
                Outcome::Passed if self.failures.get(&r.name).is_some_and(|k| k.flaky) => {
                    if let Some(k) = self.failures.get(&r.name) {
                        failures.insert(r.name.clone(), k.clone());
                    }
                }
                Outcome::Passed => {
                    failures.remove(&r.name);
                }
                Outcome::Unsupported { .. } | Outcome::Skipped { .. } => {}
            }
        }
        Expectations {
            target: self.target.clone(),
            failures,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::Failure;

    fn result(outcome: Outcome) -> ScenarioResult {
        ScenarioResult {
            name: "a::b".into(),
            area: "a".into(),
            file: "f".into(),
            source: "model".into(),
            covers: vec![],
            outcome,
            steps: vec![],
            duration_ms: 0,
            cleanup_errors: vec![],
        }
    }

    fn failed(step: usize, check: &str) -> Outcome {
        Outcome::Failed(Failure {
            step,
            check: check.into(),
            summary: "s".into(),
            expected: String::new(),
            actual: String::new(),
            diff: String::new(),
        })
    }

    fn known(step: usize, check: &str) -> Expectations {
        Expectations {
            target: "t".into(),
            failures: BTreeMap::from([(
                "a::b".to_string(),
                KnownFailure {
                    step,
                    check: check.into(),
                    reason: "why".into(),
                    flaky: false,
                },
            )]),
        }
    }

    #[test]
    fn verdicts() {
        let none = Expectations::default();
        assert_eq!(none.verdict(&result(Outcome::Passed)), Verdict::Pass);
        assert_eq!(none.verdict(&result(failed(1, "body"))), Verdict::Fail);
        let k = known(1, "body");
        assert_eq!(
            k.verdict(&result(failed(1, "body"))),
            Verdict::ExpectedFailure {
                reason: "why".into()
            }
        );
        assert!(matches!(
            k.verdict(&result(failed(2, "body"))),
            Verdict::Changed { .. }
        ));
        assert!(matches!(
            k.verdict(&result(failed(1, "model"))),
            Verdict::Changed { .. }
        ));
        let up = k.verdict(&result(Outcome::Passed));
        assert_eq!(
            up,
            Verdict::UnexpectedPass {
                reason: "why".into()
            }
        );
        assert!(up.is_failure());
        assert!(!Verdict::ExpectedFailure {
            reason: String::new()
        }
        .is_failure());
    }

    #[test]
    fn flaky_entries_expect_any_failure_and_allow_a_pass() {
        let mut k = known(1, "body");
        k.failures.get_mut("a::b").unwrap().flaky = true;
        assert!(matches!(
            k.verdict(&result(failed(4, "model"))),
            Verdict::ExpectedFailure { .. }
        ));
        assert_eq!(k.verdict(&result(Outcome::Passed)), Verdict::Pass);
        let kept = k.updated_from(&[result(failed(4, "model"))], true);
        assert!(kept.failures["a::b"].flaky);
        assert_eq!(kept.failures["a::b"].step, 1);
        assert!(k.updated_from(&[result(Outcome::Passed)], true).failures["a::b"].flaky);
    }

    #[test]
    fn update_keeps_reasons_and_drops_passes() {
        let k = known(1, "body");
        let kept = k.updated_from(&[result(failed(1, "body"))], true);
        assert_eq!(kept.failures["a::b"].reason, "why");
        let changed = k.updated_from(&[result(failed(3, "model"))], true);
        assert_eq!(changed.failures["a::b"].step, 3);
        assert_eq!(changed.failures["a::b"].reason, "s");
        assert!(k
            .updated_from(&[result(Outcome::Passed)], true)
            .failures
            .is_empty());
    }

    #[test]
    fn entries_need_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.json");
        std::fs::write(
            &p,
            r#"{"target":"t","failures":{"a::b":{"step":0,"check":"body","reason":" "}}}"#,
        )
        .unwrap();
        assert!(Expectations::load(&p, "t")
            .unwrap_err()
            .to_string()
            .contains("reason"));
        std::fs::write(&p, r#"{"target":"t","failures":{"a::b":{"step":0}}}"#).unwrap();
        let err = Expectations::load(&p, "t").unwrap_err().to_string();
        assert!(err.contains("t.json"), "{err}");
        assert!(Expectations::load(&dir.path().join("none.json"), "t")
            .unwrap()
            .failures
            .is_empty());
    }
}
