//! The compatibility matrix as reporters read it: the report, its target columns, operation
//! rows, cells, checks and scenario views. Plain data: `matrix.rs` computes it from the
//! results `read.rs` parses, and the html, json and markdown reporters render it.

use std::collections::BTreeMap;

use super::tolerance::SdkNotice;
use crate::finding::{Axis, Severity};

/// The whole report.
#[derive(Debug, Clone)]
pub struct Matrix {
    /// When the report was built, RFC 3339.
    pub generated: String,
    /// The suite's version.
    pub cogcheck: String,
    /// The service model the operations come from (`botocore 1.44.8`).
    pub model: String,
    /// The quotas page the categories come from.
    pub quotas_source: String,
    /// Default request rate of each quota category (`None` for [`UNCATEGORIZED`](super::matrix::UNCATEGORIZED)).
    pub category_rates: BTreeMap<String, Option<f64>>,
    /// Whether an SDK tolerance file was read (otherwise every shape and protocol deviation is
    /// "not measured").
    pub sdk_tolerance: bool,
    /// One column per target, in the order given.
    pub targets: Vec<TargetColumn>,
    /// One row per operation of the model, sorted by name.
    pub operations: Vec<OperationRow>,
    /// Every scenario any target ran, sorted by name.
    pub scenarios: Vec<ScenarioRow>,
    /// Operations whose cell is ✅ (behaviour) on every target that ran (empty when none ran).
    pub interop: Vec<String>,
    /// Behaviour pass rate per version of each target that has earlier versions' results
    /// (filled by the caller from `results/versions/`, see [`super::trend`]).
    pub trend: Vec<TargetTrend>,
}

/// One target.
#[derive(Debug, Clone)]
pub struct TargetColumn {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its configuration line.
    pub configuration: String,
    /// The endpoint it ran at (empty when it did not run).
    pub endpoint: String,
    /// Run metadata, when it ran.
    pub run: Option<crate::report::results::RunInfo>,
    /// Why it has no results, when it did not run.
    pub unavailable: Option<String>,
    /// Its numbers.
    pub summary: TargetSummary,
    /// Behaviour findings of every scenario, worst severity first (security, functional,
    /// validation, message), then by scenario and step. Inferred expectations are not here.
    pub deviations: Vec<FindingView>,
    /// Behaviour findings against expectations no AWS source states (`inferred`): shown on
    /// their own and never counted against the target.
    pub inferred: Vec<FindingView>,
    /// Shape and protocol deviations, one entry per kind (`protocol/request-id`), shape first.
    pub wire: Vec<WireDeviation>,
    /// Operations the target does not implement, by name.
    pub unsupported: Vec<UnsupportedOperation>,
    /// Scenarios skipped on this target, with why.
    pub skipped: Vec<(String, String)>,
    /// Scenarios with known deviations that did not occur (the expectations file needs an
    /// update), with what no longer happens.
    pub unexpected_passes: Vec<(String, String)>,
}

impl TargetColumn {
    /// Its behaviour findings of one severity.
    pub fn deviations_of(&self, severity: Severity) -> impl Iterator<Item = &FindingView> {
        self.deviations
            .iter()
            .filter(move |f| f.severity == severity)
    }
}

/// A target's numbers. Every count of checks is over the checks defined in the
/// [module docs](super).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetSummary {
    /// Behaviour checks that pass, over the operations the target implements.
    pub behaviour_passed: usize,
    /// Behaviour checks: checks of operations the target implements whose scenario reached no
    /// unsupported operation.
    pub behaviour_total: usize,
    /// Of the failing behaviour checks, those whose every behaviour deviation is known
    /// (listed in the target's expectations file): still failures against AWS.
    pub behaviour_known: usize,
    /// Behaviour checks whose scenario has at least one shape finding.
    pub checks_with_shape: usize,
    /// Behaviour checks whose scenario has at least one protocol finding.
    pub checks_with_protocol: usize,
    /// Operations whose cell is ⛔.
    pub unsupported_operations: usize,
    /// Checks not judged on behaviour because their scenario reached an operation the target
    /// does not implement (the covered one, or another it needs).
    pub unsupported_checks: usize,
    /// Steps (or cleanups) with a behaviour finding of severity `security`: a step counts once,
    /// however many of its members deviate.
    pub security_deviations: usize,
    /// Steps whose gravest behaviour finding is `functional`.
    pub functional_deviations: usize,
    /// Operations whose cell is ✅.
    pub operations_passing: usize,
    /// Operations with at least one behaviour check.
    pub operations_covered: usize,
    /// Seed actions whose cell is ✅.
    pub seed_passing: usize,
    /// Seed actions (95).
    pub seed_total: usize,
    /// Scenario verdicts by name (`pass`, `fail`, `expected_failure`, ...), as the run decided.
    pub verdicts: BTreeMap<String, usize>,
    /// Verdicts that fail a run: `fail`, `changed`, `unexpected_pass`.
    pub failing_verdicts: usize,
}

/// One operation the target does not implement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedOperation {
    /// The operation.
    pub operation: String,
    /// How the target said so (`HTTP 501`, `UnknownOperationException`).
    pub answer: String,
    /// The scenarios that reached it.
    pub scenarios: Vec<String>,
}

/// One kind of shape or protocol deviation a target shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireDeviation {
    /// Shape or protocol.
    pub axis: Axis,
    /// The check (`request-id`, `enum-value`).
    pub check: String,
    /// How many findings.
    pub findings: usize,
    /// Of which not known (not in the target's expectations file).
    pub new: usize,
    /// The scenarios that show it, sorted.
    pub scenarios: Vec<String>,
    /// The JSON paths it occurs at, sorted.
    pub paths: Vec<String>,
    /// The recorded reasons of its known findings, deduplicated.
    pub reasons: Vec<String>,
    /// One finding's summary, as an example.
    pub example: String,
    /// What the SDKs do with it.
    pub sdk: SdkNotice,
}

impl WireDeviation {
    /// `protocol/request-id`.
    pub fn kind(&self) -> String {
        format!("{}/{}", self.axis.name(), self.check)
    }

    /// How many are new and the reasons of the known ones, in one line: both reports say it
    /// the same way.
    pub fn known_text(&self) -> String {
        if self.new == 0 {
            format!("known: {}", self.reasons.join("; "))
        } else if self.reasons.is_empty() {
            format!("{} new", self.new)
        } else {
            format!("{} new; known: {}", self.new, self.reasons.join("; "))
        }
    }
}

/// One operation.
#[derive(Debug, Clone)]
pub struct OperationRow {
    /// The operation's name.
    pub name: String,
    /// On the seed list.
    pub seed: bool,
    /// Its quota category.
    pub category: String,
    /// Areas of the scenarios covering it, most covering first (empty when uncovered).
    pub areas: Vec<String>,
    /// Names of the scenarios covering it (on any target).
    pub scenarios: Vec<String>,
    /// One cell per target, in column order.
    pub cells: Vec<Cell>,
}

impl OperationRow {
    /// The area it is shown under: the one with most covering scenarios, or `not covered`.
    pub fn primary_area(&self) -> &str {
        self.areas.first().map_or("not covered", String::as_str)
    }
}

/// What a cell says, on the behaviour axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CellStatus {
    /// Every behaviour check passes.
    Pass,
    /// Some behaviour checks pass.
    Partial,
    /// No behaviour check passes.
    Fail,
    /// The target does not implement the operation.
    Unsupported,
    /// Every check reached another operation the target does not implement.
    Blocked,
    /// Every covering scenario was skipped on this target.
    Skipped,
    /// No scenario covers the operation.
    NotCovered,
    /// The target did not run.
    Unavailable,
}

impl CellStatus {
    /// Every status, in legend order.
    pub const ALL: [CellStatus; 8] = [
        CellStatus::Pass,
        CellStatus::Partial,
        CellStatus::Fail,
        CellStatus::Unsupported,
        CellStatus::Blocked,
        CellStatus::Skipped,
        CellStatus::NotCovered,
        CellStatus::Unavailable,
    ];

    /// The stable name used in JSON and HTML: `pass`, `partial`, `fail`, `unsupported`,
    /// `blocked`, `skipped`, `not_covered`, `unavailable`.
    pub fn name(self) -> &'static str {
        match self {
            CellStatus::Pass => "pass",
            CellStatus::Partial => "partial",
            CellStatus::Fail => "fail",
            CellStatus::Unsupported => "unsupported",
            CellStatus::Blocked => "blocked",
            CellStatus::Skipped => "skipped",
            CellStatus::NotCovered => "not_covered",
            CellStatus::Unavailable => "unavailable",
        }
    }

    /// The symbol shown in a cell.
    pub fn symbol(self) -> &'static str {
        match self {
            CellStatus::Pass => "✅",
            CellStatus::Partial => "🟡",
            CellStatus::Fail => "❌",
            CellStatus::Unsupported => "⛔",
            CellStatus::Blocked => "🚧",
            CellStatus::Skipped => "⏭",
            CellStatus::NotCovered => "·",
            CellStatus::Unavailable => "n/a",
        }
    }

    /// What the symbol means, for legends.
    pub fn meaning(self) -> &'static str {
        match self {
            CellStatus::Pass => "every check behaves like AWS",
            CellStatus::Partial => "n of m checks behave like AWS",
            CellStatus::Fail => "no check behaves like AWS",
            CellStatus::Unsupported => "the target does not implement the operation",
            CellStatus::Blocked => {
                "every check needs another operation the target does not implement"
            }
            CellStatus::Skipped => "every covering scenario was skipped (missing capability)",
            CellStatus::NotCovered => "no scenario covers the operation yet",
            CellStatus::Unavailable => "the target could not be installed or started",
        }
    }

    /// Whether the cell shows `n/m`.
    pub fn shows_counts(self) -> bool {
        matches!(
            self,
            CellStatus::Pass | CellStatus::Partial | CellStatus::Fail
        )
    }
}

/// The badge of a cell whose behaviour checks also show shape findings (`ˢ`).
pub const SHAPE_BADGE: &str = "ˢ";
/// The badge of a cell whose behaviour checks also show protocol findings (`ᵖ`).
pub const PROTOCOL_BADGE: &str = "ᵖ";

/// One operation on one target.
#[derive(Debug, Clone)]
pub struct Cell {
    /// The status.
    pub status: CellStatus,
    /// Behaviour checks that pass.
    pub passed: usize,
    /// Behaviour checks.
    pub total: usize,
    /// Failing behaviour checks whose every behaviour deviation is known.
    pub known: usize,
    /// Checks that reached an operation the target does not implement.
    pub unsupported: usize,
    /// Behaviour checks with shape findings.
    pub shape: usize,
    /// Behaviour checks with protocol findings.
    pub protocol: usize,
    /// Every covering scenario with its outcome on this target (skipped ones included, marked).
    pub checks: Vec<Check>,
}

impl Cell {
    /// `ˢ`, `ᵖ`, `ˢᵖ` or nothing.
    pub fn badge(&self) -> String {
        let mut b = String::new();
        if self.shape > 0 {
            b.push_str(SHAPE_BADGE);
        }
        if self.protocol > 0 {
            b.push_str(PROTOCOL_BADGE);
        }
        b
    }

    /// `✅ 2/2`, `✅ᵖ 2/2`, `🟡ˢ 1/3`, `⛔`, `·`.
    pub fn label(&self) -> String {
        if self.status.shows_counts() {
            format!(
                "{}{} {}/{}",
                self.status.symbol(),
                self.badge(),
                self.passed,
                self.total
            )
        } else {
            self.status.symbol().to_string()
        }
    }

    pub(super) fn empty(status: CellStatus) -> Cell {
        Cell {
            status,
            passed: 0,
            total: 0,
            known: 0,
            unsupported: 0,
            shape: 0,
            protocol: 0,
            checks: Vec::new(),
        }
    }
}

/// How one check counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    /// Its behaviour is AWS's (shape and protocol findings do not change that).
    Pass,
    /// A behaviour deviation the expectations file does not list (or a listed one that is
    /// gone: `unexpected_pass` is a pass, this is `fail` or `changed`).
    Fail,
    /// Only known behaviour deviations: still not AWS's behaviour.
    KnownFailure,
    /// The scenario reached an operation the target does not implement.
    Unsupported,
    /// Not run on this target: not a check.
    Skipped,
}

impl CheckStatus {
    /// `pass`, `fail`, `known_failure`, `unsupported`, `skipped`.
    pub fn name(self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Fail => "fail",
            CheckStatus::KnownFailure => "known_failure",
            CheckStatus::Unsupported => "unsupported",
            CheckStatus::Skipped => "skipped",
        }
    }
}

/// One covering scenario's outcome in a cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The scenario.
    pub scenario: String,
    /// How it counts.
    pub status: CheckStatus,
    /// Its deciding verdict on this target.
    pub verdict: String,
    /// Its shape findings.
    pub shape: usize,
    /// Its protocol findings.
    pub protocol: usize,
}

/// A scenario across targets.
#[derive(Debug, Clone)]
pub struct ScenarioRow {
    /// `area::id`.
    pub name: String,
    /// Its area.
    pub area: String,
    /// The operations it covers.
    pub covers: Vec<String>,
    /// Where its expectations come from.
    pub source: String,
    /// Its file.
    pub file: String,
    /// Its result on each target, in column order (`None` where it did not run).
    pub results: Vec<Option<ScenarioResultView>>,
}

/// One finding as reports show it (every text scrubbed of tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingView {
    /// The scenario it belongs to.
    pub scenario: String,
    /// The step, `None` for the runner's cleanup calls.
    pub step: Option<usize>,
    /// That step's label (`AdminGetUser`, `helper:totp`).
    pub step_label: Option<String>,
    /// The action that answered.
    pub action: Option<String>,
    /// Behaviour, shape or protocol.
    pub axis: Axis,
    /// How much it matters.
    pub severity: Severity,
    /// Which assertion.
    pub check: String,
    /// The JSON path.
    pub path: String,
    /// One line.
    pub summary: String,
    /// What AWS would answer.
    pub expected: String,
    /// What came.
    pub actual: String,
    /// Unified diff of the two.
    pub diff: String,
    /// The evidence for the expectation: the step's own (a quoted page, an AWS-verified
    /// test, the model, a recording, or `inferred`), else the scenario's source.
    pub source: String,
    /// The recorded reason when the target's expectations file lists it; `None` when new.
    pub known: Option<String>,
    /// The expectation is `inferred`: no AWS source states it, so it never counts.
    pub inferred: bool,
}

/// Where a finding stands against the target's expectations file, as every report says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Its expectation is inferred: shown, never counted.
    Inferred,
    /// Listed, with the recorded reason.
    Known(String),
    /// Not listed.
    New,
}

impl FindingView {
    /// Inferred, known (with its reason) or new.
    pub fn standing(&self) -> Standing {
        match (&self.known, self.inferred) {
            (_, true) => Standing::Inferred,
            (Some(reason), false) => Standing::Known(reason.clone()),
            (None, false) => Standing::New,
        }
    }

    /// `step 3 \`AdminGetUser\``, `step 3`, `cleanup`.
    pub fn at(&self) -> String {
        match (self.step, &self.step_label) {
            (Some(i), Some(l)) => format!("step {i} `{l}`"),
            (Some(i), None) => format!("step {i}"),
            (None, _) => "cleanup".into(),
        }
    }
}

/// How a scenario's steps ended, as reports show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeKind {
    /// Every step ran.
    Completed,
    /// A step could not go on.
    Stopped,
    /// A step's action is not implemented.
    Unsupported,
    /// Not run.
    Skipped,
}

impl OutcomeKind {
    /// `completed`, `stopped`, `unsupported`, `skipped`.
    pub fn name(self) -> &'static str {
        match self {
            OutcomeKind::Completed => "completed",
            OutcomeKind::Stopped => "stopped",
            OutcomeKind::Unsupported => "unsupported",
            OutcomeKind::Skipped => "skipped",
        }
    }
}

/// A scenario's result on one target, as reports show it (every text scrubbed of tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioResultView {
    /// `area::id`.
    pub scenario: String,
    /// How it counts as a check.
    pub status: CheckStatus,
    /// The deciding verdict's name.
    pub verdict: String,
    /// The verdict on behaviour, shape and protocol, in that order.
    pub axes: [String; 3],
    /// The deciding verdict's reason or note.
    pub reason: Option<String>,
    /// How its steps ended.
    pub outcome: OutcomeKind,
    /// The step it stopped at or found unsupported.
    pub step: Option<usize>,
    /// That step's label.
    pub step_label: Option<String>,
    /// Why it stopped, the unsupported answer, or why it was skipped.
    pub outcome_reason: Option<String>,
    /// The action the target does not implement (unsupported).
    pub unsupported_action: Option<String>,
    /// Every finding, in the order they were made.
    pub findings: Vec<FindingView>,
    /// Known deviations that did not occur.
    pub stale: Vec<String>,
}

impl ScenarioResultView {
    /// Its findings on one axis.
    pub fn on(&self, axis: Axis) -> impl Iterator<Item = &FindingView> {
        self.findings.iter().filter(move |f| f.axis == axis)
    }
}

/// Counts of one group on one target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupCounts {
    /// Operations in the group.
    pub operations: usize,
    /// Of which ✅.
    pub operations_passing: usize,
    /// Passing behaviour checks.
    pub checks_passed: usize,
    /// Behaviour checks.
    pub checks_total: usize,
}

/// One target's points, oldest version first.
#[derive(Debug, Clone)]
pub struct TargetTrend {
    /// The target's name (`moto`).
    pub name: String,
    /// Its versions, oldest first; the last one is the pinned version when its column ran.
    pub points: Vec<TrendPoint>,
}

/// One version of a target.
#[derive(Debug, Clone)]
pub struct TrendPoint {
    /// The version (`5.1.22`).
    pub version: String,
    /// Behaviour checks that pass on it.
    pub behaviour_passed: usize,
    /// Behaviour checks of the operations it implements.
    pub behaviour_total: usize,
    /// When it ran (RFC 3339).
    pub finished: String,
    /// Whether this is the pinned version (the report's column).
    pub pinned: bool,
}

impl TrendPoint {
    /// The pass rate in percent (0 when nothing counted).
    pub fn rate(&self) -> f64 {
        if self.behaviour_total == 0 {
            0.0
        } else {
            self.behaviour_passed as f64 * 100.0 / self.behaviour_total as f64
        }
    }
}
