//! Reading one target's results file into what the matrix counts: each scenario as the report
//! shows it, and the operations the target does not implement.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::scrub;
use super::view::{
    CheckStatus, FindingView, OutcomeKind, ScenarioResultView, UnsupportedOperation,
};
use crate::error::{Error, Result};
use crate::expectations::Verdict;
use crate::finding::{Finding, Outcome, StepStatus};
use crate::report::results::SCHEMA as RESULTS_SCHEMA;

/// The parts of a results-file scenario the report reads.
#[derive(Debug, Deserialize)]
pub(super) struct ScenarioIn {
    pub(super) name: String,
    #[serde(default)]
    pub(super) area: String,
    #[serde(default)]
    pub(super) file: String,
    #[serde(default)]
    pub(super) source: String,
    #[serde(default)]
    pub(super) covers: Vec<String>,
    pub(super) outcome: Outcome,
    #[serde(default)]
    pub(super) findings: Vec<FindingIn>,
    #[serde(default)]
    pub(super) stale: Vec<String>,
    #[serde(default)]
    pub(super) steps: Vec<StepIn>,
    pub(super) verdict: Verdict,
    pub(super) axes: AxesIn,
}

#[derive(Debug, Deserialize)]
pub(super) struct FindingIn {
    #[serde(flatten)]
    pub(super) finding: Finding,
    #[serde(default)]
    pub(super) known: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct AxesIn {
    pub(super) behaviour: Verdict,
    pub(super) shape: Verdict,
    pub(super) protocol: Verdict,
}

#[derive(Debug, Deserialize)]
pub(super) struct StepIn {
    pub(super) index: usize,
    #[serde(default)]
    pub(super) label: String,
    #[serde(default)]
    pub(super) action: Option<String>,
    pub(super) status: StepStatus,
}

/// A scenario of one target's results, parsed, with how reports show it.
pub(super) struct Parsed {
    pub(super) input: ScenarioIn,
    pub(super) view: ScenarioResultView,
}

/// One target's parsed results: its scenarios and the operations it does not implement.
pub(super) struct TargetData {
    pub(super) scenarios: Vec<Parsed>,
    pub(super) unsupported: BTreeMap<String, UnsupportedOperation>,
}

/// Parses one target's results, refusing anything but the results schema this report reads.
pub(super) fn parse_target(r: &crate::report::results::Results) -> Result<TargetData> {
    let path = || -> std::path::PathBuf { format!("results of {}", r.target.name).into() };
    if r.schema != RESULTS_SCHEMA {
        return Err(Error::Config {
            path: path(),
            message: format!(
                "schema {:?}, the compatibility report reads {RESULTS_SCHEMA:?} (run the target \
                 again to regenerate its results file)",
                r.schema
            ),
        });
    }
    let mut scenarios = Vec::new();
    let mut unsupported: BTreeMap<String, UnsupportedOperation> = BTreeMap::new();
    for (i, s) in r.scenarios.iter().enumerate() {
        let input: ScenarioIn = serde_json::from_value(s.clone()).map_err(|e| Error::Config {
            path: path(),
            message: format!("at $.scenarios[{i}]: {e}"),
        })?;
        let answer = match &input.outcome {
            Outcome::Unsupported { action, answer, .. } => Some((action.as_str(), answer)),
            Outcome::Completed | Outcome::Stopped { .. } | Outcome::Skipped { .. } => None,
        };
        for st in &input.steps {
            let (StepStatus::Unsupported, Some(action)) = (st.status, &st.action) else {
                continue;
            };
            let entry = unsupported
                .entry(action.clone())
                .or_insert_with(|| UnsupportedOperation {
                    operation: action.clone(),
                    answer: String::new(),
                    scenarios: Vec::new(),
                });
            if entry.answer.is_empty() {
                if let Some((_, a)) = answer.filter(|(a, _)| a == action) {
                    entry.answer = scrub(a);
                }
            }
            if !entry.scenarios.contains(&input.name) {
                entry.scenarios.push(input.name.clone());
            }
        }
        if let Some((action, a)) = answer {
            // An outcome names the step's action even when the step list is partial.
            let entry =
                unsupported
                    .entry(action.to_string())
                    .or_insert_with(|| UnsupportedOperation {
                        operation: action.to_string(),
                        answer: scrub(a),
                        scenarios: Vec::new(),
                    });
            if !entry.scenarios.contains(&input.name) {
                entry.scenarios.push(input.name.clone());
            }
        }
        let view = view(&input);
        scenarios.push(Parsed { input, view });
    }
    for u in unsupported.values_mut() {
        u.scenarios.sort();
    }
    Ok(TargetData {
        scenarios,
        unsupported,
    })
}

/// How a scenario counts as a check: the outcome first (an unsupported operation is not a
/// behaviour failure), then the behaviour verdict alone.
pub(super) fn check_status(outcome: &Outcome, behaviour: &Verdict) -> CheckStatus {
    match outcome {
        Outcome::Skipped { .. } => return CheckStatus::Skipped,
        Outcome::Unsupported { .. } => return CheckStatus::Unsupported,
        Outcome::Completed | Outcome::Stopped { .. } => {}
    }
    match behaviour {
        Verdict::Pass | Verdict::UnexpectedPass { .. } => CheckStatus::Pass,
        // A scenario the snapshot cannot judge is red with that reason, never a pass.
        Verdict::Fail { .. } | Verdict::Changed { .. } | Verdict::NotInSnapshot { .. } => {
            CheckStatus::Fail
        }
        Verdict::ExpectedFailure { .. } => CheckStatus::KnownFailure,
        Verdict::Unsupported { .. } => CheckStatus::Unsupported,
        Verdict::Skipped { .. } => CheckStatus::Skipped,
    }
}

/// A scenario's result as reports show it.
pub(super) fn view(s: &ScenarioIn) -> ScenarioResultView {
    let label = |i: usize| {
        s.steps
            .iter()
            .find(|st| st.index == i)
            .map(|st| scrub(&st.label))
    };
    let (outcome, step, outcome_reason, unsupported_action) = match &s.outcome {
        Outcome::Completed => (OutcomeKind::Completed, None, None, None),
        Outcome::Stopped { step, reason } => {
            (OutcomeKind::Stopped, Some(*step), Some(scrub(reason)), None)
        }
        Outcome::Unsupported {
            action,
            step,
            answer,
        } => (
            OutcomeKind::Unsupported,
            Some(*step),
            Some(scrub(answer)),
            Some(action.clone()),
        ),
        Outcome::Skipped { reason } => (OutcomeKind::Skipped, None, Some(scrub(reason)), None),
    };
    let findings = s
        .findings
        .iter()
        .map(|f| {
            let g = &f.finding;
            FindingView {
                scenario: s.name.clone(),
                step: g.step,
                step_label: g.step.and_then(label),
                action: g.action.clone(),
                axis: g.axis,
                severity: g.severity,
                check: g.check.to_string(),
                path: scrub(&g.path),
                summary: scrub(&g.summary),
                expected: scrub(&g.expected),
                actual: scrub(&g.actual),
                diff: scrub(&g.diff),
                source: scrub(&g.evidence_line()),
                known: f.known.as_deref().map(scrub),
                inferred: g.is_inferred(),
            }
        })
        .collect();
    ScenarioResultView {
        scenario: s.name.clone(),
        status: check_status(&s.outcome, &s.axes.behaviour),
        verdict: s.verdict.name().to_string(),
        axes: [
            s.axes.behaviour.name().to_string(),
            s.axes.shape.name().to_string(),
            s.axes.protocol.name().to_string(),
        ],
        reason: s.verdict.text().map(scrub),
        outcome,
        step,
        step_label: step.and_then(label),
        outcome_reason,
        unsupported_action,
        findings,
        stale: s.stale.iter().map(|t| scrub(t)).collect(),
    }
}
