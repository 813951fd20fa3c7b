//! `reports/compatibility.json`: the compatibility report for machines.
//!
//! # Schema `cogcheck-compatibility/3`
//!
//! Stable: members are only ever added within a version; a removal or a change of meaning gets
//! a new schema name. Every text that comes from a target's answers has been redacted (members
//! the model marks sensitive by the runner, anything JWT-shaped by the report).
//!
//! ```text
//! {
//!   "schema": "cogcheck-compatibility/3",
//!   "generated": "2026-11-26T17:10:00Z",        RFC 3339, when the report was built
//!   "cogcheck": "0.1.0",                        version of the suite
//!   "model": "botocore 1.44.8",                 service model the answers were judged against
//!   "checks": "...",                            the definition of a check, in words
//!   "statuses": { "pass": "every check behaves like AWS", ... },  cell statuses, meanings
//!   "badges": { "shape": "ˢ", "protocol": "ᵖ" },
//!   "sdk_tolerance": true,                      whether fixtures/sdk-tolerance.json was read
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
//!       "run": null | { "prefix", "started", "finished", "cogcheck", "model", "strictness" },
//!       "summary": {
//!         "behaviour_passed": 412, "behaviour_total": 530,   behaviour checks, implemented ops
//!         "behaviour_known": 20,         failing behaviour checks with only known deviations
//!         "checks_with_shape": 7, "checks_with_protocol": 96,   behaviour checks with findings
//!         "unsupported_operations": 12,  cells that are "unsupported"
//!         "unsupported_checks": 30,      checks that reached an unimplemented operation
//!         "security_deviations": 1, "functional_deviations": 80,  steps that deviated, each
//!                                        once, under its gravest behaviour finding
//!         "operations_passing": 80,      cells that are "pass"
//!         "operations_covered": 120,     cells with at least one behaviour check
//!         "seed_passing": 60, "seed_total": 95,              seed actions whose cell is "pass"
//!         "verdicts": { "pass": 200, "fail": 3, ... },       scenario verdicts of the run
//!         "failing_verdicts": 3                              fail + changed + unexpected_pass
//!       },
//!       "deviations": {                         behaviour findings by severity
//!         "security": [ FINDING ], "functional": [ ... ], "validation": [ ... ], "message": []
//!       },
//!       "inferred": [ FINDING ],                expectations no AWS source states; not counted
//!       "wire": [                               shape and protocol deviations, one per kind
//!         { "axis": "protocol", "check": "request-id", "findings": 14, "new": 0,
//!           "scenarios": ["..."], "paths": ["-"], "reasons": ["recorded reason"],
//!           "example": "one finding's summary",
//!           "sdk": { "notice": "no_sdk_notices" | "noticed" | "not_measured",
//!                    "label": "no SDK notices" | "boto3: same, JS SDK: raised" | "not measured",
//!                    "boto3": null | "same" | "different" | "raised", "js_sdk": ...,
//!                    "detail": "" } }
//!       ],
//!       "unsupported": [ { "operation": "GetUserAuthFactors", "answer": "HTTP 501",
//!                          "scenarios": ["..."] } ],
//!       "skipped": [ { "scenario": "...", "reason": "..." } ],
//!       "unexpected_passes": [ { "scenario": "...", "stale": "what no longer happens" } ]
//!     }
//!   ],
//!   "interop": { "operations": ["AdminGetUser", ...], "seed_operations": 40 },
//!   "trend": [                                  targets with earlier versions' results
//!     { "target": "moto", "versions": [         oldest first; `pinned` is the column's
//!       { "version": "5.0.28", "behaviour_passed": 150, "behaviour_total": 270,
//!         "finished": "2026-…", "pinned": false }, ... ] }
//!   ],
//!   "operations": [                             every operation of the model, by name
//!     {
//!       "name": "AdminGetUser", "seed": true, "category": "UserRead",
//!       "areas": ["users", "attributes"],       areas of covering scenarios, most first
//!       "scenarios": ["users::admin-get-user", ...],   covering scenarios
//!       "cells": {
//!         "moto": {
//!           "status": "pass" | "partial" | "fail" | "unsupported" | "blocked" | "skipped"
//!                     | "not_covered" | "unavailable",
//!           "passed": 2, "total": 2,            behaviour checks passing / behaviour checks
//!           "known": 0,                         failing ones with only known deviations
//!           "unsupported": 0,                   checks that reached an unimplemented operation
//!           "shape": 0, "protocol": 2,          behaviour checks with shape / protocol findings
//!           "badge": "ᵖ",                       "", "ˢ", "ᵖ" or "ˢᵖ"
//!           "checks": [ { "scenario": "users::admin-get-user",
//!                         "status": "pass" | "fail" | "known_failure" | "unsupported"
//!                                   | "skipped",
//!                         "verdict": "fail", "shape": 0, "protocol": 3 } ]
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
//!           "status": "pass" | "fail" | "known_failure" | "unsupported" | "skipped",
//!           "verdict": "pass" | "fail" | "expected_failure" | "changed" | "unexpected_pass"
//!                      | "unsupported" | "skipped",            the run's deciding verdict
//!           "axes": { "behaviour": "pass", "shape": "pass", "protocol": "fail" },
//!           "reason": null | "the deciding verdict's reason or note",
//!           "outcome": "completed" | "stopped" | "unsupported" | "skipped",
//!           "step": null | 5, "step_label": null | "DeleteUser",   where it stopped
//!           "outcome_reason": null | "why it stopped, the unsupported answer, why skipped",
//!           "unsupported_action": null | "DeleteUser",
//!           "findings": [ FINDING ],
//!           "stale": []                         known deviations that did not occur
//!         }
//!       }
//!     }
//!   ]
//! }
//!
//! FINDING = { "scenario": "auth::admin-secret-hash-required", "step": 4 | null (cleanup),
//!             "step_label": "AdminInitiateAuth", "action": "AdminInitiateAuth",
//!             "axis": "behaviour" | "shape" | "protocol",
//!             "severity": "security" | "functional" | "validation" | "message" | "shape"
//!                         | "protocol",
//!             "check": "outcome", "path": "$", "summary": "...",
//!             "expected": "...", "actual": "...", "diff": "...",   "" when absent
//!             "source": "evidence: documentation URL, `model` or `awsJson1_1`",
//!             "known": null | "the recorded reason" }      null: a new deviation
//! ```
//!
//! A target missing from a scenario's `results` did not run it (it was unavailable, or its
//! results file predates the scenario).
//!
//! Version 3 (this one) counts deviations per step: `security_deviations` and
//! `functional_deviations` replaced version 2's `security_findings` and `functional_findings`,
//! which counted every deviating member, so one challenge that never came (its name, its
//! session and its tokens) counted as several. The `deviations` lists still hold every finding.
//!
//! Version 2 reads results files of schema `cogcheck-results/2` (a finding per
//! assertion, on three axes). It replaced version 1's `checks_passed` / `checks_total` /
//! `checks_framing_only` (a check failed on any failure, an unsupported operation included)
//! with the behaviour tallies above, in which unsupported operations are counted apart and
//! shape and protocol findings never fail a check; a cell's and a result's single failure
//! (`check`, `summary`, `expected`, `actual`, `diff`) with every `finding`; and added the
//! `blocked` status, the badges, `deviations`, `wire` with its SDK tolerance, and the
//! per-target `unsupported`, `skipped` and `unexpected_passes` lists.

use serde_json::{json, Map, Value};

use super::matrix::{
    CellStatus, FindingView, Matrix, ScenarioResultView, WireDeviation, PROTOCOL_BADGE, SHAPE_BADGE,
};
use super::tolerance::SdkNotice;
use crate::error::{Error, Result};
use crate::finding::Severity;

/// The schema name and version.
pub const SCHEMA: &str = "cogcheck-compatibility/3";

/// The definition of a check, as the JSON states it.
pub const CHECKS: &str = "A check is one scenario that covers an operation and ran on a \
target (a skipped scenario is not a check). A check that reached an operation the target does \
not implement is counted as unsupported, never as a failure. Every other check is a behaviour \
check: it passes when the scenario's behaviour verdict is pass or unexpected_pass, and fails \
otherwise (expected failures included: they are real deviations from AWS), whatever step \
failed. Shape and protocol findings never fail a behaviour check; they are counted per check \
beside it. An operation is unsupported on a target when the target answered 'unsupported' to \
it in any step of any scenario.";

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
            let deviations: Map<String, Value> = Severity::BEHAVIOUR
                .iter()
                .map(|sev| {
                    (
                        sev.name().to_string(),
                        t.deviations_of(*sev).map(finding).collect::<Value>(),
                    )
                })
                .collect();
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
                    "strictness": r.strictness,
                })),
                "summary": {
                    "behaviour_passed": s.behaviour_passed,
                    "behaviour_total": s.behaviour_total,
                    "behaviour_known": s.behaviour_known,
                    "checks_with_shape": s.checks_with_shape,
                    "checks_with_protocol": s.checks_with_protocol,
                    "unsupported_operations": s.unsupported_operations,
                    "unsupported_checks": s.unsupported_checks,
                    "security_deviations": s.security_deviations,
                    "functional_deviations": s.functional_deviations,
                    "operations_passing": s.operations_passing,
                    "operations_covered": s.operations_covered,
                    "seed_passing": s.seed_passing,
                    "seed_total": s.seed_total,
                    "verdicts": s.verdicts,
                    "failing_verdicts": s.failing_verdicts,
                },
                "deviations": deviations,
                "inferred": t.inferred.iter().map(finding).collect::<Vec<_>>(),
                "wire": t.wire.iter().map(wire).collect::<Vec<_>>(),
                "unsupported": t.unsupported.iter().map(|u| json!({
                    "operation": u.operation,
                    "answer": u.answer,
                    "scenarios": u.scenarios,
                })).collect::<Vec<_>>(),
                "skipped": t.skipped.iter().map(|(s, r)| json!({"scenario": s, "reason": r}))
                    .collect::<Vec<_>>(),
                "unexpected_passes": t.unexpected_passes.iter()
                    .map(|(s, r)| json!({"scenario": s, "stale": r}))
                    .collect::<Vec<_>>(),
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
                            "known": c.known,
                            "unsupported": c.unsupported,
                            "shape": c.shape,
                            "protocol": c.protocol,
                            "badge": c.badge(),
                            "checks": c.checks.iter().map(|k| json!({
                                "scenario": k.scenario,
                                "status": k.status.name(),
                                "verdict": k.verdict,
                                "shape": k.shape,
                                "protocol": k.protocol,
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
        "badges": { "shape": SHAPE_BADGE, "protocol": PROTOCOL_BADGE },
        "sdk_tolerance": m.sdk_tolerance,
        "quotas": { "source": m.quotas_source, "rates": m.category_rates },
        "targets": targets,
        "interop": { "operations": m.interop, "seed_operations": m.interop_seed() },
        "trend": m.trend.iter().map(|t| json!({
            "target": t.name,
            "versions": t.points.iter().map(|p| json!({
                "version": p.version,
                "behaviour_passed": p.behaviour_passed,
                "behaviour_total": p.behaviour_total,
                "finished": p.finished,
                "pinned": p.pinned,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "operations": operations,
        "scenarios": scenarios,
    })
}

/// One finding.
pub fn finding(f: &FindingView) -> Value {
    json!({
        "scenario": f.scenario,
        "step": f.step,
        "step_label": f.step_label,
        "action": f.action,
        "axis": f.axis.name(),
        "severity": f.severity.name(),
        "check": f.check,
        "path": f.path,
        "summary": f.summary,
        "expected": f.expected,
        "actual": f.actual,
        "diff": f.diff,
        "source": f.source,
        "known": f.known,
    })
}

/// One kind of shape or protocol deviation.
pub fn wire(w: &WireDeviation) -> Value {
    let (boto3, js_sdk) = match &w.sdk {
        SdkNotice::Noticed { boto3, js_sdk, .. } => (Some(boto3.name()), Some(js_sdk.name())),
        SdkNotice::NoSdkNotices { .. } => (Some("same"), Some("same")),
        SdkNotice::NotMeasured => (None, None),
    };
    json!({
        "axis": w.axis.name(),
        "check": w.check,
        "findings": w.findings,
        "new": w.new,
        "scenarios": w.scenarios,
        "paths": w.paths,
        "reasons": w.reasons,
        "example": w.example,
        "sdk": {
            "notice": w.sdk.name(),
            "label": w.sdk.label(),
            "boto3": boto3,
            "js_sdk": js_sdk,
            "detail": w.sdk.detail(),
        },
    })
}

/// One scenario's result on one target.
pub fn result(r: &ScenarioResultView) -> Value {
    json!({
        "status": r.status.name(),
        "verdict": r.verdict,
        "axes": { "behaviour": r.axes[0], "shape": r.axes[1], "protocol": r.axes[2] },
        "reason": r.reason,
        "outcome": r.outcome.name(),
        "step": r.step,
        "step_label": r.step_label,
        "outcome_reason": r.outcome_reason,
        "unsupported_action": r.unsupported_action,
        "findings": r.findings.iter().map(finding).collect::<Vec<_>>(),
        "stale": r.stale,
    })
}
