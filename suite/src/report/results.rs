//! The results JSON: one file per run and target, under `reports/results/<target>.json`.
//!
//! This is a stable, versioned format; the compatibility report is built from these files.
//!
//! ```text
//! {
//!   "schema": "cogcheck-results/2",
//!   "run": {
//!     "prefix": "cogcheck-1a2b3c",          resource name prefix of this run
//!     "started": "2026-11-26T17:00:00Z",    RFC 3339
//!     "finished": "2026-11-26T17:01:10Z",
//!     "cogcheck": "0.1.0",                  version of the suite
//!     "model": "botocore 1.44.8",           the service model the answers were judged against
//!     "strictness": "behaviour",            which axes decided `verdict`: behaviour | strict
//!     "shard": "2/3"                        only for `cogcheck run --shard K/N`
//!   },
//!   "target": {
//!     "name": "moto", "version": "5.2.5", "endpoint": "http://127.0.0.1:40123",
//!     "configuration": "moto_server (in memory) ..."
//!   },
//!   "summary": { "pass": 0, "fail": 0, "expected_failure": 0, "changed": 0,
//!                "unexpected_pass": 0, "unsupported": 0, "skipped": 0 },
//!   "axes": { "behaviour": { "pass": 0, ... }, "shape": { ... }, "protocol": { ... } },
//!   "now_implemented": [],                  listed unsupported, answered in this run
//!   "scenarios": [
//!     {
//!       "name": "user-pools::create-describe-delete", "area": "user-pools",
//!       "file": "fixtures/scenarios/user-pools/create-describe-delete.json",
//!       "source": "https://docs.aws.amazon.com/...", "covers": ["CreateUserPool"],
//!       "verdict": { "verdict": "expected_failure", "reason": "..." },
//!       "axes": { "behaviour": { "verdict": "expected_failure", "reason": "..." },
//!                 "shape": { "verdict": "pass" }, "protocol": { "verdict": "pass" } },
//!       "outcome": { "outcome": "completed" },       | stopped {step, reason}
//!                                                    | unsupported {action, step, answer}
//!                                                    | skipped {reason}
//!       "findings": [
//!         { "step": 1, "action": "DescribeUserPool", "axis": "behaviour",
//!           "severity": "functional", "check": "body", "path": "$.UserPool.Arn",
//!           "summary": "...", "expected": "...", "actual": "...", "diff": "...",
//!           "source": "https://docs.aws.amazon.com/...", "known": "the recorded reason" }
//!       ],
//!       "stale": [],                          known deviations that did not occur
//!       "steps": [ { "index": 0, "label": "CreateUserPool", "action": "CreateUserPool",
//!                    "status": "passed", "duration_ms": 12, "http_status": 200,
//!                    "error_type": null, "attempts": 1 } ],
//!       "duration_ms": 40, "cleanup_errors": [], "cleanup_ms": 12
//!     }
//!   ]
//! }
//! ```
//!
//! `verdict.verdict` is one of `pass`, `fail`, `expected_failure`, `changed`,
//! `unexpected_pass`, `unsupported`, `skipped`. A finding's `axis` is `behaviour`, `shape` or
//! `protocol`; its `severity` `security`, `functional`, `validation`, `message` (behaviour),
//! `shape` or `protocol`; `step` is `null` for the runner's cleanup calls; `known` is absent
//! for a deviation the target's expectations file does not list. A step's `status` is one of
//! `passed`, `deviated`, `unsupported`, `not_run`. Secrets never appear: expected values show
//! templates unresolved and actual bodies have every member the model marks sensitive
//! replaced by `<redacted>`, and every secret the scenario saw scrubbed.
//!
//! Version 2 (this one) replaced version 1's single `outcome.failed` (the first failure) with
//! every finding, per axis.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::expectations::{Judgement, Strictness, Verdict};
use crate::finding::Axis;
use crate::finding::ScenarioResult;
use crate::scenario::select::Shard;

/// The schema name and version of the results JSON.
pub const SCHEMA: &str = "cogcheck-results/2";

/// Run metadata.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    /// The resource name prefix.
    pub prefix: String,
    /// When the run started, RFC 3339.
    pub started: String,
    /// When it finished, RFC 3339.
    pub finished: String,
    /// The suite's version.
    pub cogcheck: String,
    /// The model the answers were judged against.
    pub model: String,
    /// Which axes decided the verdicts.
    #[serde(default)]
    pub strictness: Strictness,
    /// The slice of the scenarios this run took (`cogcheck run --shard K/N`); absent for a run
    /// of every scenario and for files written before sharding existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
}

/// The target a run went against: opened by a session, written into results files.
pub use crate::session::TargetInfo;

/// One scenario in the results file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioEntry {
    /// The result, flattened.
    #[serde(flatten)]
    pub result: serde_json::Value,
    /// The verdict.
    pub verdict: serde_json::Value,
}

/// A results file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Run metadata.
    pub run: RunInfo,
    /// The target.
    pub target: TargetInfo,
    /// Verdict counts.
    pub summary: BTreeMap<String, usize>,
    /// Verdict counts per axis.
    pub axes: BTreeMap<String, BTreeMap<String, usize>>,
    /// Operations listed as unsupported that answered in this run.
    #[serde(default)]
    pub now_implemented: Vec<String>,
    /// Every scenario.
    pub scenarios: Vec<serde_json::Value>,
}

/// Where the published results of `target` go in `dir` (`reports/results`): `<target>.json`
/// for a pinned target, one column of the report; `versions/<name>@<version>.json` for an
/// earlier version, one point of the report's trend, never a column.
pub fn published_path(dir: &std::path::Path, target: &str) -> std::path::PathBuf {
    if target.contains('@') {
        dir.join("versions").join(format!("{target}.json"))
    } else {
        dir.join(format!("{target}.json"))
    }
}

/// The `.json` files directly in `dir`, sorted by name; none when it does not exist.
pub fn json_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Counts verdicts by name, with every verdict name present.
pub fn count<'a>(verdicts: impl Iterator<Item = &'a Verdict>) -> BTreeMap<String, usize> {
    let mut m: BTreeMap<String, usize> =
        Verdict::NAMES.iter().map(|k| (k.to_string(), 0)).collect();
    for v in verdicts {
        *m.entry(v.name().to_string()).or_default() += 1;
    }
    m
}

impl Results {
    /// Builds the results of a run.
    pub fn new(
        run: RunInfo,
        target: TargetInfo,
        verdicts: &[(ScenarioResult, Judgement)],
        now_implemented: Vec<String>,
    ) -> Results {
        let scenarios = verdicts
            .iter()
            .map(|(r, j)| {
                let mut o = serde_json::to_value(r).unwrap_or_default();
                if let Some(obj) = o.as_object_mut() {
                    let verdict = |v: &Verdict| serde_json::to_value(v).unwrap_or_default();
                    obj.insert("verdict".into(), verdict(&j.verdict));
                    obj.insert(
                        "axes".into(),
                        serde_json::json!({
                            "behaviour": verdict(&j.behaviour),
                            "shape": verdict(&j.shape),
                            "protocol": verdict(&j.protocol),
                        }),
                    );
                    if let Some(serde_json::Value::Array(findings)) = obj.get_mut("findings") {
                        for (f, known) in findings.iter_mut().zip(&j.known) {
                            if let (Some(f), Some(reason)) = (f.as_object_mut(), known) {
                                f.insert("known".into(), reason.clone().into());
                            }
                        }
                    }
                    obj.insert(
                        "stale".into(),
                        serde_json::to_value(&j.stale).unwrap_or_default(),
                    );
                }
                o
            })
            .collect();
        let axes = Axis::ALL
            .iter()
            .map(|a| {
                (
                    a.name().to_string(),
                    count(verdicts.iter().map(|(_, j)| j.on(*a))),
                )
            })
            .collect();
        Results {
            schema: SCHEMA.into(),
            run,
            target,
            summary: count(verdicts.iter().map(|(_, j)| &j.verdict)),
            axes,
            now_implemented,
            scenarios,
        }
    }

    /// Writes the file (creating its folder).
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        std::fs::write(path, text + "\n").map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads a file, refusing other schemas.
    pub fn load(path: &Path) -> Result<Results> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |message: String| Error::Config {
            path: path.to_path_buf(),
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a results file: {e}")))?;
        // The schema first: an older file fails on its first missing member otherwise, which
        // says nothing about what to do. Its run date says how old it is.
        if value["schema"] != SCHEMA {
            return Err(bad(format!(
                "schema {}, this cogcheck reads {SCHEMA:?} (the file's run finished {})",
                value["schema"],
                value["run"]["finished"]
                    .as_str()
                    .unwrap_or("at an unknown time")
            )));
        }
        serde_json::from_value(value).map_err(|e| bad(format!("not a results file: {e}")))
    }
}

impl Results {
    /// One target's results from several files: the shards of `cogcheck run --shard K/N` run on
    /// different machines (or runs with disjoint `--filter`s), as if one run had taken them all.
    ///
    /// Refused, naming the files: parts of different targets, versions, models or
    /// strictnesses; parts that ran the same scenario (shards of different splits, or a full
    /// run beside a shard); shards of different N, or a split with shards missing (the column
    /// would pass for the whole target). Counts are summed, times span the parts, and an
    /// operation is "now implemented" when one part says so and no part's scenario found it
    /// unsupported.
    pub fn merge(parts: Vec<(PathBuf, Results)>) -> Result<Results> {
        let Some((first_path, first)) = parts.first().cloned() else {
            return Err(Error::Config {
                path: PathBuf::from("--from"),
                message: "no results files to merge".into(),
            });
        };
        if parts.len() == 1 && first.run.shard.is_none() {
            return Ok(first);
        }
        let files = || {
            parts
                .iter()
                .map(|(p, _)| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let refuse = |message: String| Error::Config {
            path: PathBuf::from(files()),
            message,
        };
        for (path, r) in &parts[1..] {
            let differs = |what: &str, a: &str, b: &str| {
                refuse(format!(
                    "{} has {what} {a:?} in {} but {b:?} in {}: results of one column must come \
                     from the same {what}",
                    first.target.name,
                    first_path.display(),
                    path.display()
                ))
            };
            if r.target.name != first.target.name {
                return Err(differs("target", &first.target.name, &r.target.name));
            }
            if r.target.version != first.target.version {
                return Err(differs("version", &first.target.version, &r.target.version));
            }
            if r.run.model != first.run.model {
                return Err(differs("model", &first.run.model, &r.run.model));
            }
            if r.run.strictness != first.run.strictness {
                return Err(differs(
                    "strictness",
                    &format!("{:?}", first.run.strictness),
                    &format!("{:?}", r.run.strictness),
                ));
            }
        }

        let mut ran_in: BTreeMap<String, &Path> = BTreeMap::new();
        let mut overlap: Vec<String> = Vec::new();
        for (path, r) in &parts {
            for s in &r.scenarios {
                let name = s["name"].as_str().unwrap_or_default().to_string();
                if let Some(other) = ran_in.insert(name.clone(), path) {
                    overlap.push(format!(
                        "{name} ({} and {})",
                        other.display(),
                        path.display()
                    ));
                }
            }
        }
        if !overlap.is_empty() {
            let n = overlap.len();
            overlap.truncate(5);
            return Err(refuse(format!(
                "{} scenario(s) of {} are in more than one file: {}{}; shards of one target \
                 must not overlap (were they split with the same --shard N and --filter, and is \
                 none of them a full run?)",
                n,
                first.target.name,
                overlap.join(", "),
                if n > 5 { ", …" } else { "" }
            )));
        }

        let shards: Vec<Option<Shard>> = parts.iter().map(|(_, r)| r.run.shard).collect();
        if shards.iter().any(Option::is_some) {
            let counts: BTreeSet<Option<usize>> =
                shards.iter().map(|s| s.map(|s| s.count)).collect();
            if counts.len() > 1 {
                let said: Vec<String> = shards
                    .iter()
                    .map(|s| s.map_or("no shard".to_string(), |s| s.to_string()))
                    .collect();
                return Err(refuse(format!(
                    "{}: shards of different splits ({}): merge the K/N shards of one split",
                    first.target.name,
                    said.join(", ")
                )));
            }
            let count = shards[0].map_or(0, |s| s.count);
            let have: BTreeSet<usize> = shards.iter().flatten().map(|s| s.index).collect();
            let missing: Vec<String> = (1..=count)
                .filter(|k| !have.contains(k))
                .map(|k| format!("{k}/{count}"))
                .collect();
            if !missing.is_empty() {
                return Err(refuse(format!(
                    "{}: shard(s) {} missing: a column holds the whole target, so give every \
                     shard's results file",
                    first.target.name,
                    missing.join(", ")
                )));
            }
        }

        let mut scenarios: Vec<serde_json::Value> = parts
            .iter()
            .flat_map(|(_, r)| r.scenarios.iter().cloned())
            .collect();
        // The order one run of every scenario writes (by name), whatever order the files came in.
        scenarios.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        let mut summary: BTreeMap<String, usize> = BTreeMap::new();
        let mut axes: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for (_, r) in &parts {
            for (k, n) in &r.summary {
                *summary.entry(k.clone()).or_default() += n;
            }
            for (axis, counts) in &r.axes {
                let into = axes.entry(axis.clone()).or_default();
                for (k, n) in counts {
                    *into.entry(k.clone()).or_default() += n;
                }
            }
        }
        // A part only saw its own scenarios: an operation one part found answered may have
        // been refused in another part's scenario.
        let refused: BTreeSet<&str> = scenarios
            .iter()
            .filter(|s| s["outcome"]["outcome"] == "unsupported")
            .filter_map(|s| s["outcome"]["action"].as_str())
            .collect();
        let now_implemented: BTreeSet<String> = parts
            .iter()
            .flat_map(|(_, r)| r.now_implemented.iter())
            .filter(|a| !refused.contains(a.as_str()))
            .cloned()
            .collect();
        let distinct = |values: Vec<&str>| {
            let mut seen: Vec<&str> = Vec::new();
            for v in values {
                if !seen.contains(&v) {
                    seen.push(v);
                }
            }
            seen.join(", ")
        };
        let runs: Vec<&RunInfo> = parts.iter().map(|(_, r)| &r.run).collect();
        let run = RunInfo {
            prefix: distinct(runs.iter().map(|r| r.prefix.as_str()).collect()),
            started: runs
                .iter()
                .map(|r| r.started.clone())
                .min_by_key(|t| instant(t))
                .unwrap_or_default(),
            finished: runs
                .iter()
                .map(|r| r.finished.clone())
                .max_by_key(|t| instant(t))
                .unwrap_or_default(),
            cogcheck: distinct(runs.iter().map(|r| r.cogcheck.as_str()).collect()),
            model: first.run.model.clone(),
            strictness: first.run.strictness,
            shard: None,
        };
        let target = TargetInfo {
            endpoint: distinct(
                parts
                    .iter()
                    .map(|(_, r)| r.target.endpoint.as_str())
                    .collect(),
            ),
            ..first.target.clone()
        };
        Ok(Results {
            schema: SCHEMA.into(),
            run,
            target,
            summary,
            axes,
            now_implemented: now_implemented.into_iter().collect(),
            scenarios,
        })
    }
}

/// An RFC 3339 time as a comparable instant (a file with an unreadable time sorts first).
fn instant(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// Now, as RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
