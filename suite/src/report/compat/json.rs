//! `reports/compatibility.json`: the compatibility report for machines.
//!
//! # Schema `cogcheck-compatibility/1`
//!
//! Stable: members are only ever added within a version; a removal or a change of meaning gets
//! a new schema name. Every text that comes from a target's answers has been redacted (members
//! the model marks sensitive by the runner, anything JWT-shaped by the report).
//!
//! ```text
//! {
//!   "schema": "cogcheck-compatibility/1",
//!   "generated": "2026-11-26T17:10:00Z",        RFC 3339, when the report was built
//!   "cogcheck": "0.1.0",                        version of the suite
//!   "model": "botocore 1.44.8",                 service model the answers were judged against
//!   "checks": "...",                            the definition of a check, in words
//!   "statuses": { "pass": "all checks pass", ... },   every cell status with its meaning
//!   "quotas": {
//!     "source": "https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html...",
//!     "rates": { "UserAuthentication": 120, ..., "Uncategorized": null }   requests/second
//!   },
//!   "targets": [                                one per column, in column order
//!     {
//!       "name": "moto", "version": "5.2.5", "configuration": "...",
//!       "endpoint": "http://127.0.0.1:40123",   "" when it did not run
//!       "status": "ran" | "unavailable",
//!       "reason": null | "why it could not be installed or started",
//!       "run": null | { "prefix", "started", "finished", "cogcheck", "model" },
//!       "summary": {
//!         "checks_passed": 412, "checks_total": 530,        over all operations
//!         "checks_framing_only": 40,    failed checks whose only fault is awsJson1_1 framing
//!         "operations_passing": 80,                          cells that are "pass"
//!         "operations_covered": 120,                         cells with at least one check
//!         "seed_passing": 60, "seed_total": 95,              seed actions whose cell is "pass"
//!         "verdicts": { "pass": 200, "fail": 3, ... },       scenario verdicts
//!         "failing_verdicts": 3                              fail + changed + unexpected_pass
//!       }
//!     }
//!   ],
//!   "interop": { "operations": ["AdminGetUser", ...], "seed_operations": 40 },
//!   "operations": [                             every operation of the model, by name
//!     {
//!       "name": "AdminGetUser", "seed": true, "category": "UserRead",
//!       "areas": ["users", "attributes"],       areas of covering scenarios, most first
//!       "scenarios": ["users::admin-get-user", ...],   covering scenarios
//!       "cells": {
//!         "moto": {
//!           "status": "pass" | "partial" | "fail" | "unsupported" | "skipped"
//!                     | "not_covered" | "unavailable",
//!           "passed": 2, "total": 2,            checks passing / checks
//!           "checks": [ { "scenario": "users::admin-get-user", "outcome": "passed",
//!                         "verdict": "pass" } ]
//!         }
//!       }
//!     }
//!   ],
//!   "scenarios": [                              every scenario any target ran, by name
//!     {
//!       "name": "users::admin-get-user", "area": "users", "covers": ["AdminGetUser"],
//!       "source": "https://docs.aws.amazon.com/...", "file": "fixtures/scenarios/...",
//!       "results": {
//!         "moto": {
//!           "verdict": "pass" | "fail" | "expected_failure" | "changed" | "unexpected_pass"
//!                      | "unsupported" | "skipped",
//!           "outcome": "passed" | "failed" | "unsupported" | "skipped",
//!           "reason": null | "recorded reason, change note, or why skipped",
//!           "step": null | 1, "step_label": null | "AdminGetUser",
//!           "unsupported_action": null | "AdminGetDevice",
//!           "check": null | "body", "summary": null | "...",
//!           "expected": null | "...", "actual": null | "...", "diff": null | "..."
//!         }
//!       }
//!     }
//!   ]
//! }
//! ```
//!
//! A target missing from a scenario's `results` did not run it (it was unavailable, or its
//! results file predates the scenario).

use serde_json::{json, Map, Value};

use super::matrix::{CellStatus, Matrix, ScenarioResultView};
use crate::error::{Error, Result};

/// The schema name and version.
pub const SCHEMA: &str = "cogcheck-compatibility/1";

/// The definition of a check, as the JSON states it.
pub const CHECKS: &str = "A check of an operation on a target is one scenario that covers the \
operation and ran on that target; it passes when the scenario's outcome is passed. A scenario \
that fails at any step (setup steps included) or calls an action the target does not implement \
is a failed check; a skipped scenario is not a check. An operation is unsupported on a target \
when the target answered 'unknown operation' to it in any step of any scenario.";

/// Renders the JSON report.
pub fn render(m: &Matrix) -> Result<String> {
    let value = to_value(m);
    serde_json::to_string_pretty(&value)
        .map(|s| s + "\n")
        .map_err(|e| Error::Config {
            path: "compatibility.json".into(),
            message: e.to_string(),
        })
}

/// The report as a JSON value.
pub fn to_value(m: &Matrix) -> Value {
    let statuses: Map<String, Value> = CellStatus::ALL
        .iter()
        .map(|s| (s.name().to_string(), Value::from(s.meaning())))
        .collect();
    let targets: Vec<Value> = m
        .targets
        .iter()
        .map(|t| {
            let s = &t.summary;
            json!({
                "name": t.name,
                "version": t.version,
                "configuration": t.configuration,
                "endpoint": t.endpoint,
                "status": if t.unavailable.is_some() { "unavailable" } else { "ran" },
                "reason": t.unavailable,
                "run": t.run.as_ref().map(|r| json!({
                    "prefix": r.prefix,
                    "started": r.started,
                    "finished": r.finished,
                    "cogcheck": r.cogcheck,
                    "model": r.model,
                })),
                "summary": {
                    "checks_passed": s.checks_passed,
                    "checks_total": s.checks_total,
                    "checks_framing_only": s.checks_framing_only,
                    "operations_passing": s.operations_passing,
                    "operations_covered": s.operations_covered,
                    "seed_passing": s.seed_passing,
                    "seed_total": s.seed_total,
                    "verdicts": s.verdicts,
                    "failing_verdicts": s.failing_verdicts,
                },
            })
        })
        .collect();
    let operations: Vec<Value> = m
        .operations
        .iter()
        .map(|o| {
            let cells: Map<String, Value> = m
                .targets
                .iter()
                .zip(&o.cells)
                .map(|(t, c)| {
                    (
                        t.name.clone(),
                        json!({
                            "status": c.status.name(),
                            "passed": c.passed,
                            "total": c.total,
                            "checks": c.checks.iter().map(|k| json!({
                                "scenario": k.scenario,
                                "outcome": k.outcome,
                                "verdict": k.verdict,
                            })).collect::<Vec<_>>(),
                        }),
                    )
                })
                .collect();
            json!({
                "name": o.name,
                "seed": o.seed,
                "category": o.category,
                "areas": o.areas,
                "scenarios": o.scenarios,
                "cells": cells,
            })
        })
        .collect();
    let scenarios: Vec<Value> = m
        .scenarios
        .iter()
        .map(|s| {
            let results: Map<String, Value> = m
                .targets
                .iter()
                .zip(&s.results)
                .filter_map(|(t, r)| r.as_ref().map(|r| (t.name.clone(), result(r))))
                .collect();
            json!({
                "name": s.name,
                "area": s.area,
                "covers": s.covers,
                "source": s.source,
                "file": s.file,
                "results": results,
            })
        })
        .collect();
    json!({
        "schema": SCHEMA,
        "generated": m.generated,
        "cogcheck": m.cogcheck,
        "model": m.model,
        "checks": CHECKS,
        "statuses": statuses,
        "quotas": { "source": m.quotas_source, "rates": m.category_rates },
        "targets": targets,
        "interop": { "operations": m.interop, "seed_operations": m.interop_seed() },
        "operations": operations,
        "scenarios": scenarios,
    })
}

/// One scenario's result on one target.
pub fn result(r: &ScenarioResultView) -> Value {
    json!({
        "verdict": r.verdict,
        "outcome": r.outcome,
        "reason": r.reason,
        "step": r.step,
        "step_label": r.step_label,
        "unsupported_action": r.unsupported_action,
        "check": r.check,
        "summary": r.summary,
        "expected": r.expected,
        "actual": r.actual,
        "diff": r.diff,
    })
}
