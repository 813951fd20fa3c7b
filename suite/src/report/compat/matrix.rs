//! Results → the operation × target matrix: every number the three reports show, computed once
//! here (see the [module docs](super) for what a check is).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::tolerance::{SdkNotice, SdkTolerance};
use super::{parse_seed_list, scrub, TargetInput, SEED_ACTIONS};
use crate::error::{Error, Result};
use crate::expectations::Verdict;
use crate::finding::{Axis, Finding, Outcome, Severity, StepStatus};
use crate::model::Model;
use crate::report::results::SCHEMA as RESULTS_SCHEMA;

/// The category of operations the quotas page does not list.
pub const UNCATEGORIZED: &str = "Uncategorized";

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
    /// Default request rate of each quota category (`None` for [`UNCATEGORIZED`]).
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
    /// Behaviour findings with severity `security`.
    pub security_findings: usize,
    /// Behaviour findings with severity `functional`.
    pub functional_findings: usize,
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

    fn empty(status: CellStatus) -> Cell {
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

/// The parts of a results-file scenario the report reads.
#[derive(Debug, Deserialize)]
struct ScenarioIn {
    name: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    file: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    covers: Vec<String>,
    outcome: Outcome,
    #[serde(default)]
    findings: Vec<FindingIn>,
    #[serde(default)]
    stale: Vec<String>,
    #[serde(default)]
    steps: Vec<StepIn>,
    verdict: Verdict,
    axes: AxesIn,
}

#[derive(Debug, Deserialize)]
struct FindingIn {
    #[serde(flatten)]
    finding: Finding,
    #[serde(default)]
    known: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AxesIn {
    behaviour: Verdict,
    shape: Verdict,
    protocol: Verdict,
}

#[derive(Debug, Deserialize)]
struct StepIn {
    index: usize,
    #[serde(default)]
    label: String,
    #[serde(default)]
    action: Option<String>,
    status: StepStatus,
}

/// The quota categories (`fixtures/quotas.json`, embedded), through the one parser of it.
fn quotas() -> Result<&'static crate::protocol::quotas::Catalog> {
    crate::protocol::quotas::catalog().map_err(|message| Error::Config {
        path: "fixtures/quotas.json".into(),
        message,
    })
}

/// The seed actions (embedded `fixtures/seed-actions.txt`).
pub fn seed_actions() -> BTreeSet<String> {
    parse_seed_list(SEED_ACTIONS).into_iter().collect()
}

/// A percentage with one decimal, `–` of nothing.
pub fn percent(n: usize, of: usize) -> String {
    if of == 0 {
        "–".to_string()
    } else {
        format!("{:.1}%", n as f64 * 100.0 / of as f64)
    }
}

/// A scenario of one target's results, parsed, with how reports show it.
struct Parsed {
    input: ScenarioIn,
    view: ScenarioResultView,
}

/// One target's parsed results: its scenarios and the operations it does not implement.
struct TargetData {
    scenarios: Vec<Parsed>,
    unsupported: BTreeMap<String, UnsupportedOperation>,
}

impl Matrix {
    /// Computes the matrix of `inputs` over every operation of the model, tagging shape and
    /// protocol deviations with `fixtures/sdk-tolerance.json` when it exists.
    pub fn build(inputs: &[TargetInput]) -> Result<Matrix> {
        let tolerance = SdkTolerance::load_default()?;
        Matrix::build_with(inputs, tolerance.as_ref())
    }

    /// Computes the matrix with the given SDK tolerance measurements (`None`: not measured).
    pub fn build_with(inputs: &[TargetInput], tolerance: Option<&SdkTolerance>) -> Result<Matrix> {
        let model = Model::get();
        let quotas = quotas()?;
        let seed = seed_actions();

        // Parse every target's scenarios once.
        let mut parsed: Vec<Option<TargetData>> = Vec::new();
        for input in inputs {
            parsed.push(match input {
                TargetInput::Ran(r) => Some(parse_target(r)?),
                TargetInput::Unavailable { .. } => None,
            });
        }

        // Names must be unique to key cells; a second file of the same target gets a suffix.
        let mut names: Vec<String> = Vec::new();
        for input in inputs {
            let base = input.name().to_string();
            let mut name = base.clone();
            let mut n = 2;
            while names.contains(&name) {
                name = format!("{base}#{n}");
                n += 1;
            }
            names.push(name);
        }

        let mut targets: Vec<TargetColumn> = inputs
            .iter()
            .zip(&names)
            .zip(&parsed)
            .map(|((input, name), data)| column(input, name, data.as_ref(), tolerance))
            .collect();

        // Scenario rows.
        let mut scenario_map: BTreeMap<String, ScenarioRow> = BTreeMap::new();
        for (t, data) in parsed.iter().enumerate() {
            for s in data.iter().flat_map(|d| &d.scenarios) {
                let row = scenario_map
                    .entry(s.input.name.clone())
                    .or_insert_with(|| ScenarioRow {
                        name: s.input.name.clone(),
                        area: s.input.area.clone(),
                        covers: s.input.covers.clone(),
                        source: s.input.source.clone(),
                        file: s.input.file.clone(),
                        results: vec![None; inputs.len()],
                    });
                if let Some(slot) = row.results.get_mut(t) {
                    *slot = Some(s.view.clone());
                }
            }
        }

        // Operation rows.
        let mut operations = Vec::new();
        for op in model.operations.keys() {
            let mut area_count: BTreeMap<&str, usize> = BTreeMap::new();
            let mut covering: BTreeSet<&str> = BTreeSet::new();
            for row in scenario_map.values() {
                if row.covers.iter().any(|c| c == op) {
                    *area_count.entry(row.area.as_str()).or_default() += 1;
                    covering.insert(&row.name);
                }
            }
            let mut areas: Vec<(&str, usize)> = area_count.into_iter().collect();
            areas.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let cells = parsed
                .iter()
                .map(|data| match data {
                    None => Cell::empty(CellStatus::Unavailable),
                    Some(data) => cell(op, data),
                })
                .collect();
            operations.push(OperationRow {
                name: op.clone(),
                seed: seed.contains(op),
                category: quotas
                    .category_of
                    .get(op)
                    .cloned()
                    .unwrap_or_else(|| UNCATEGORIZED.to_string()),
                areas: areas.into_iter().map(|(a, _)| a.to_string()).collect(),
                scenarios: covering.into_iter().map(str::to_string).collect(),
                cells,
            });
        }

        // Per-target numbers.
        for (t, col) in targets.iter_mut().enumerate() {
            if col.unavailable.is_some() {
                continue;
            }
            let s = &mut col.summary;
            s.seed_total = operations.iter().filter(|o| o.seed).count();
            for row in &operations {
                let Some(c) = row.cells.get(t) else { continue };
                s.behaviour_passed += c.passed;
                s.behaviour_total += c.total;
                s.behaviour_known += c.known;
                s.checks_with_shape += c.shape;
                s.checks_with_protocol += c.protocol;
                s.unsupported_checks += c.unsupported;
                if c.status == CellStatus::Unsupported {
                    s.unsupported_operations += 1;
                }
                if c.total > 0 {
                    s.operations_covered += 1;
                }
                if c.status == CellStatus::Pass {
                    s.operations_passing += 1;
                    if row.seed {
                        s.seed_passing += 1;
                    }
                }
            }
        }

        let ran: Vec<usize> = (0..targets.len())
            .filter(|&t| targets[t].unavailable.is_none())
            .collect();
        let interop = if ran.is_empty() {
            Vec::new()
        } else {
            operations
                .iter()
                .filter(|o| {
                    ran.iter()
                        .all(|&t| o.cells.get(t).is_some_and(|c| c.status == CellStatus::Pass))
                })
                .map(|o| o.name.clone())
                .collect()
        };

        let first_run = inputs.iter().find_map(|i| match i {
            TargetInput::Ran(r) => Some(r.run.clone()),
            TargetInput::Unavailable { .. } => None,
        });
        Ok(Matrix {
            generated: crate::report::results::now_rfc3339(),
            cogcheck: env!("CARGO_PKG_VERSION").to_string(),
            model: first_run
                .map(|r| r.model)
                .unwrap_or_else(|| format!("botocore {}", model.source.version)),
            quotas_source: quotas.source.clone(),
            category_rates: quotas.rates.clone(),
            sdk_tolerance: tolerance.is_some(),
            targets,
            operations,
            scenarios: scenario_map.into_values().collect(),
            interop,
        })
    }

    /// Indices of the targets that ran.
    pub fn ran(&self) -> impl Iterator<Item = (usize, &TargetColumn)> {
        self.targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.unavailable.is_none())
    }

    /// Seed actions on the interop list.
    pub fn interop_seed(&self) -> usize {
        self.operations
            .iter()
            .filter(|o| o.seed && self.interop.contains(&o.name))
            .count()
    }

    /// Per group (area or category) and target: (operations ✅, operations in the group,
    /// passing behaviour checks, behaviour checks). `by_area` groups by primary area, else by
    /// quota category.
    pub fn groups(&self, by_area: bool) -> Vec<(String, Vec<GroupCounts>)> {
        let mut groups: BTreeMap<String, Vec<GroupCounts>> = BTreeMap::new();
        for row in &self.operations {
            let key = if by_area {
                row.primary_area().to_string()
            } else {
                row.category.clone()
            };
            let entry = groups
                .entry(key)
                .or_insert_with(|| vec![GroupCounts::default(); self.targets.len()]);
            for (c, counts) in row.cells.iter().zip(entry.iter_mut()) {
                counts.operations += 1;
                counts.checks_passed += c.passed;
                counts.checks_total += c.total;
                if c.status == CellStatus::Pass {
                    counts.operations_passing += 1;
                }
            }
        }
        groups.into_iter().collect()
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

/// Parses one target's results, refusing anything but the results schema this report reads.
fn parse_target(r: &crate::report::results::Results) -> Result<TargetData> {
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

fn column(
    input: &TargetInput,
    name: &str,
    data: Option<&TargetData>,
    tolerance: Option<&SdkTolerance>,
) -> TargetColumn {
    match (input, data) {
        (TargetInput::Ran(r), Some(data)) => {
            let mut summary = TargetSummary::default();
            let mut deviations = Vec::new();
            let mut inferred = Vec::new();
            let mut wire: BTreeMap<(Axis, String), WireDeviation> = BTreeMap::new();
            let mut skipped = Vec::new();
            let mut unexpected_passes = Vec::new();
            for s in &data.scenarios {
                let v = &s.view;
                *summary.verdicts.entry(v.verdict.clone()).or_default() += 1;
                if matches!(v.verdict.as_str(), "fail" | "changed" | "unexpected_pass") {
                    summary.failing_verdicts += 1;
                }
                if v.outcome == OutcomeKind::Skipped {
                    skipped.push((
                        v.scenario.clone(),
                        v.outcome_reason.clone().unwrap_or_default(),
                    ));
                }
                if !v.stale.is_empty() {
                    unexpected_passes.push((v.scenario.clone(), v.stale.join("; ")));
                }
                for f in &v.findings {
                    match f.axis {
                        Axis::Behaviour if f.inferred => inferred.push(f.clone()),
                        Axis::Behaviour => {
                            match f.severity {
                                Severity::Security => summary.security_findings += 1,
                                Severity::Functional => summary.functional_findings += 1,
                                Severity::Validation
                                | Severity::Message
                                | Severity::Shape
                                | Severity::Protocol => {}
                            }
                            deviations.push(f.clone());
                        }
                        Axis::Shape | Axis::Protocol => {
                            let w = wire.entry((f.axis, f.check.clone())).or_insert_with(|| {
                                WireDeviation {
                                    axis: f.axis,
                                    check: f.check.clone(),
                                    findings: 0,
                                    new: 0,
                                    scenarios: Vec::new(),
                                    paths: Vec::new(),
                                    reasons: Vec::new(),
                                    example: f.summary.clone(),
                                    sdk: tolerance.map_or(SdkNotice::NotMeasured, |t| {
                                        t.notice(f.axis, &f.check)
                                    }),
                                }
                            });
                            w.findings += 1;
                            match &f.known {
                                Some(reason) if !w.reasons.contains(reason) => {
                                    w.reasons.push(reason.clone())
                                }
                                Some(_) => {}
                                None => w.new += 1,
                            }
                            if !w.scenarios.contains(&f.scenario) {
                                w.scenarios.push(f.scenario.clone());
                            }
                            if !w.paths.contains(&f.path) {
                                w.paths.push(f.path.clone());
                            }
                        }
                    }
                }
            }
            deviations.sort_by(|a, b| {
                (a.severity, &a.scenario, a.step.unwrap_or(usize::MAX)).cmp(&(
                    b.severity,
                    &b.scenario,
                    b.step.unwrap_or(usize::MAX),
                ))
            });
            let wire = wire
                .into_values()
                .map(|mut w| {
                    w.scenarios.sort();
                    w.paths.sort();
                    w
                })
                .collect();
            TargetColumn {
                name: name.to_string(),
                version: scrub(&r.target.version),
                configuration: scrub(&r.target.configuration),
                endpoint: scrub(&r.target.endpoint),
                run: Some(r.run.clone()),
                unavailable: None,
                summary,
                deviations,
                inferred,
                wire,
                unsupported: data.unsupported.values().cloned().collect(),
                skipped,
                unexpected_passes,
            }
        }
        (TargetInput::Ran(r), None) => TargetColumn {
            // Not reached: every target that ran is parsed.
            name: name.to_string(),
            version: scrub(&r.target.version),
            configuration: scrub(&r.target.configuration),
            endpoint: scrub(&r.target.endpoint),
            run: Some(r.run.clone()),
            unavailable: Some("its results could not be read".into()),
            summary: TargetSummary::default(),
            deviations: Vec::new(),
            inferred: Vec::new(),
            wire: Vec::new(),
            unsupported: Vec::new(),
            skipped: Vec::new(),
            unexpected_passes: Vec::new(),
        },
        (
            TargetInput::Unavailable {
                version,
                configuration,
                reason,
                ..
            },
            _,
        ) => TargetColumn {
            name: name.to_string(),
            version: version.clone(),
            configuration: scrub(configuration),
            endpoint: String::new(),
            run: None,
            unavailable: Some(scrub(reason)),
            summary: TargetSummary::default(),
            deviations: Vec::new(),
            inferred: Vec::new(),
            wire: Vec::new(),
            unsupported: Vec::new(),
            skipped: Vec::new(),
            unexpected_passes: Vec::new(),
        },
    }
}

/// How a scenario counts as a check: the outcome first (an unsupported operation is not a
/// behaviour failure), then the behaviour verdict alone.
fn check_status(outcome: &Outcome, behaviour: &Verdict) -> CheckStatus {
    match outcome {
        Outcome::Skipped { .. } => return CheckStatus::Skipped,
        Outcome::Unsupported { .. } => return CheckStatus::Unsupported,
        Outcome::Completed | Outcome::Stopped { .. } => {}
    }
    match behaviour {
        Verdict::Pass | Verdict::UnexpectedPass { .. } => CheckStatus::Pass,
        Verdict::Fail { .. } | Verdict::Changed { .. } => CheckStatus::Fail,
        Verdict::ExpectedFailure { .. } => CheckStatus::KnownFailure,
        Verdict::Unsupported { .. } => CheckStatus::Unsupported,
        Verdict::Skipped { .. } => CheckStatus::Skipped,
    }
}

/// A scenario's result as reports show it.
fn view(s: &ScenarioIn) -> ScenarioResultView {
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
                check: g.check.clone(),
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

/// One operation on one target's scenarios.
fn cell(op: &str, data: &TargetData) -> Cell {
    let unsupported_op = data.unsupported.contains_key(op);
    let mut c = Cell::empty(CellStatus::NotCovered);
    for s in data
        .scenarios
        .iter()
        .filter(|s| s.input.covers.iter().any(|x| x == op))
    {
        let v = &s.view;
        let check = Check {
            scenario: v.scenario.clone(),
            status: v.status,
            verdict: v.verdict.clone(),
            shape: v.on(Axis::Shape).count(),
            protocol: v.on(Axis::Protocol).count(),
        };
        let judged = match (unsupported_op, v.status) {
            (_, CheckStatus::Skipped) => false,
            (true, _) | (false, CheckStatus::Unsupported) => {
                c.unsupported += 1;
                false
            }
            (false, CheckStatus::Pass) => {
                c.passed += 1;
                true
            }
            (false, CheckStatus::KnownFailure) => {
                c.known += 1;
                true
            }
            (false, CheckStatus::Fail) => true,
        };
        if judged {
            c.total += 1;
            c.shape += usize::from(check.shape > 0);
            c.protocol += usize::from(check.protocol > 0);
        }
        c.checks.push(check);
    }
    c.status = if unsupported_op {
        CellStatus::Unsupported
    } else if c.checks.is_empty() {
        CellStatus::NotCovered
    } else if c.total == 0 && c.unsupported > 0 {
        CellStatus::Blocked
    } else if c.total == 0 {
        CellStatus::Skipped
    } else if c.passed == c.total {
        CellStatus::Pass
    } else if c.passed == 0 {
        CellStatus::Fail
    } else {
        CellStatus::Partial
    };
    c
}
