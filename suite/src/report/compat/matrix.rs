//! Results → the operation × target matrix: every number the three reports show, computed once
//! here (see the [module docs](super) for what a check is).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::{parse_seed_list, scrub, TargetInput, QUOTAS, SEED_ACTIONS};
use crate::error::{Error, Result};
use crate::model::Model;

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
    /// One column per target, in the order given.
    pub targets: Vec<TargetColumn>,
    /// One row per operation of the model, sorted by name.
    pub operations: Vec<OperationRow>,
    /// Every scenario any target ran, sorted by name.
    pub scenarios: Vec<ScenarioRow>,
    /// Operations whose cell is ✅ on every target that ran (empty when none ran).
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
    /// Scenarios that did not pass (failed or unsupported), sorted by name.
    pub failures: Vec<ScenarioResultView>,
    /// Scenarios skipped on this target, with why.
    pub skipped: Vec<(String, String)>,
    /// Scenarios listed as known failures that passed (the expectations file needs an update).
    pub unexpected_passes: Vec<(String, String)>,
}

/// A target's numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetSummary {
    /// Passing checks, over all operations.
    pub checks_passed: usize,
    /// Checks, over all operations.
    pub checks_total: usize,
    /// Checks whose scenario failed only on awsJson1_1 framing (content type, request id),
    /// with every expectation and model check met: the behaviour is right, the wire is not.
    pub checks_framing_only: usize,
    /// Operations whose cell is ✅.
    pub operations_passing: usize,
    /// Operations with at least one check.
    pub operations_covered: usize,
    /// Seed actions whose cell is ✅.
    pub seed_passing: usize,
    /// Seed actions (95).
    pub seed_total: usize,
    /// Scenario verdicts by name (`pass`, `fail`, `expected_failure`, ...).
    pub verdicts: BTreeMap<String, usize>,
    /// Verdicts that fail a run: `fail`, `changed`, `unexpected_pass`.
    pub failing_verdicts: usize,
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

/// What a cell says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CellStatus {
    /// Every check passes.
    Pass,
    /// Some checks pass.
    Partial,
    /// No check passes.
    Fail,
    /// The target does not implement the operation.
    Unsupported,
    /// Every covering scenario was skipped on this target.
    Skipped,
    /// No scenario covers the operation.
    NotCovered,
    /// The target did not run.
    Unavailable,
}

impl CellStatus {
    /// Every status, in legend order.
    pub const ALL: [CellStatus; 7] = [
        CellStatus::Pass,
        CellStatus::Partial,
        CellStatus::Fail,
        CellStatus::Unsupported,
        CellStatus::Skipped,
        CellStatus::NotCovered,
        CellStatus::Unavailable,
    ];

    /// The stable name used in JSON and HTML: `pass`, `partial`, `fail`, `unsupported`,
    /// `skipped`, `not_covered`, `unavailable`.
    pub fn name(self) -> &'static str {
        match self {
            CellStatus::Pass => "pass",
            CellStatus::Partial => "partial",
            CellStatus::Fail => "fail",
            CellStatus::Unsupported => "unsupported",
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
            CellStatus::Skipped => "⏭",
            CellStatus::NotCovered => "·",
            CellStatus::Unavailable => "n/a",
        }
    }

    /// What the symbol means, for legends.
    pub fn meaning(self) -> &'static str {
        match self {
            CellStatus::Pass => "all checks pass",
            CellStatus::Partial => "n of m checks pass",
            CellStatus::Fail => "no check passes",
            CellStatus::Unsupported => "the target does not implement the operation",
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

/// One operation on one target.
#[derive(Debug, Clone)]
pub struct Cell {
    /// The status.
    pub status: CellStatus,
    /// Passing checks.
    pub passed: usize,
    /// Checks.
    pub total: usize,
    /// Failed checks whose scenario failed only on awsJson1_1 framing.
    pub framing_only: usize,
    /// Every covering scenario with its outcome on this target (skipped ones included, marked).
    pub checks: Vec<Check>,
}

impl Cell {
    /// `✅ 2/2`, `🟡 1/3`, `⛔`, `·`.
    pub fn label(&self) -> String {
        if self.status.shows_counts() {
            format!("{} {}/{}", self.status.symbol(), self.passed, self.total)
        } else {
            self.status.symbol().to_string()
        }
    }
}

/// One covering scenario's outcome in a cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The scenario.
    pub scenario: String,
    /// `passed`, `failed`, `unsupported`, `skipped`.
    pub outcome: String,
    /// Its verdict on this target.
    pub verdict: String,
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

/// A scenario's result on one target, as reports show it (every text scrubbed of tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioResultView {
    /// `area::id`.
    pub scenario: String,
    /// The verdict name.
    pub verdict: String,
    /// The recorded reason (expected failure, unexpected pass), the note (changed), or why
    /// it was skipped.
    pub reason: Option<String>,
    /// `passed`, `failed`, `unsupported`, `skipped`.
    pub outcome: String,
    /// The failing or unsupported step.
    pub step: Option<usize>,
    /// That step's label (`AdminGetUser`, `helper:totp`).
    pub step_label: Option<String>,
    /// The action the target does not implement (unsupported).
    pub unsupported_action: Option<String>,
    /// The kind of check that failed.
    pub check: Option<String>,
    /// One line.
    pub summary: Option<String>,
    /// What was expected.
    pub expected: Option<String>,
    /// What came.
    pub actual: Option<String>,
    /// Unified diff of the two.
    pub diff: Option<String>,
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
    outcome: Value,
    #[serde(default)]
    steps: Vec<StepIn>,
    verdict: Value,
}

#[derive(Debug, Deserialize)]
struct StepIn {
    index: usize,
    #[serde(default)]
    label: String,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    status: String,
}

/// `fixtures/quotas.json`.
#[derive(Debug, Deserialize)]
struct QuotasFile {
    source: String,
    categories: BTreeMap<String, QuotaCategory>,
}

#[derive(Debug, Deserialize)]
struct QuotaCategory {
    rate_per_second: Option<f64>,
    operations: Vec<String>,
}

/// Quota categories: the source URL, each operation's category, each category's rate.
pub struct Quotas {
    /// The quotas page.
    pub source: String,
    /// Operation → category.
    pub category_of: BTreeMap<String, String>,
    /// Category → default requests per second.
    pub rates: BTreeMap<String, Option<f64>>,
}

/// Parses `fixtures/quotas.json` (embedded).
pub fn quotas() -> Result<Quotas> {
    let file: QuotasFile = serde_json::from_str(QUOTAS).map_err(|e| Error::Config {
        path: "fixtures/quotas.json".into(),
        message: e.to_string(),
    })?;
    let mut category_of = BTreeMap::new();
    let mut rates = BTreeMap::new();
    for (name, c) in file.categories {
        for op in c.operations {
            category_of.insert(op, name.clone());
        }
        rates.insert(name, c.rate_per_second);
    }
    Ok(Quotas {
        source: file.source,
        category_of,
        rates,
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

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(scrub)
}

impl Matrix {
    /// Computes the matrix of `inputs` over every operation of the model.
    pub fn build(inputs: &[TargetInput]) -> Result<Matrix> {
        let model = Model::get();
        let quotas = quotas()?;
        let seed = seed_actions();

        // Parse every target's scenarios once.
        let mut parsed: Vec<Option<Vec<ScenarioIn>>> = Vec::new();
        for input in inputs {
            parsed.push(match input {
                TargetInput::Ran(r) => {
                    let mut list = Vec::new();
                    for (i, s) in r.scenarios.iter().enumerate() {
                        let s: ScenarioIn =
                            serde_json::from_value(s.clone()).map_err(|e| Error::Config {
                                path: format!("results of {}", r.target.name).into(),
                                message: format!("at $.scenarios[{i}]: {e}"),
                            })?;
                        list.push(s);
                    }
                    Some(list)
                }
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
            .map(|((input, name), list)| column(input, name, list.as_deref()))
            .collect();

        // Scenario rows.
        let mut scenario_map: BTreeMap<String, ScenarioRow> = BTreeMap::new();
        for (t, list) in parsed.iter().enumerate() {
            for s in list.iter().flatten() {
                let row = scenario_map
                    .entry(s.name.clone())
                    .or_insert_with(|| ScenarioRow {
                        name: s.name.clone(),
                        area: s.area.clone(),
                        covers: s.covers.clone(),
                        source: s.source.clone(),
                        file: s.file.clone(),
                        results: vec![None; inputs.len()],
                    });
                if let Some(slot) = row.results.get_mut(t) {
                    *slot = Some(view(s));
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
                .map(|list| match list {
                    None => Cell {
                        status: CellStatus::Unavailable,
                        passed: 0,
                        total: 0,
                        framing_only: 0,
                        checks: Vec::new(),
                    },
                    Some(list) => cell(op, list),
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
                s.checks_passed += c.passed;
                s.checks_total += c.total;
                s.checks_framing_only += c.framing_only;
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
            quotas_source: quotas.source,
            category_rates: quotas.rates,
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
    /// passing checks, checks). `by_area` groups by primary area, else by quota category.
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
    /// Passing checks.
    pub checks_passed: usize,
    /// Checks.
    pub checks_total: usize,
}

fn column(input: &TargetInput, name: &str, list: Option<&[ScenarioIn]>) -> TargetColumn {
    match input {
        TargetInput::Unavailable {
            version,
            configuration,
            reason,
            ..
        } => TargetColumn {
            name: name.to_string(),
            version: version.clone(),
            configuration: scrub(configuration),
            endpoint: String::new(),
            run: None,
            unavailable: Some(scrub(reason)),
            summary: TargetSummary::default(),
            failures: Vec::new(),
            skipped: Vec::new(),
            unexpected_passes: Vec::new(),
        },
        TargetInput::Ran(r) => {
            let mut summary = TargetSummary::default();
            let mut failures = Vec::new();
            let mut skipped = Vec::new();
            let mut unexpected_passes = Vec::new();
            for s in list.unwrap_or_default() {
                let v = view(s);
                *summary.verdicts.entry(v.verdict.clone()).or_default() += 1;
                if matches!(v.verdict.as_str(), "fail" | "changed" | "unexpected_pass") {
                    summary.failing_verdicts += 1;
                }
                match v.outcome.as_str() {
                    "failed" | "unsupported" => failures.push(v),
                    "skipped" => skipped.push((v.scenario.clone(), v.reason.unwrap_or_default())),
                    _ if v.verdict == "unexpected_pass" => {
                        unexpected_passes.push((v.scenario.clone(), v.reason.unwrap_or_default()))
                    }
                    _ => {}
                }
            }
            failures.sort_by(|a, b| a.scenario.cmp(&b.scenario));
            TargetColumn {
                name: name.to_string(),
                version: scrub(&r.target.version),
                configuration: scrub(&r.target.configuration),
                endpoint: scrub(&r.target.endpoint),
                run: Some(r.run.clone()),
                unavailable: None,
                summary,
                failures,
                skipped,
                unexpected_passes,
            }
        }
    }
}

/// The tag of a results-file object (`outcome`, `verdict`), or `unknown`.
fn name_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string()
}

/// A scenario's result as reports show it.
fn view(s: &ScenarioIn) -> ScenarioResultView {
    let outcome = name_of(&s.outcome, "outcome");
    let verdict = name_of(&s.verdict, "verdict");
    let reason = text(&s.verdict, "reason")
        .or_else(|| text(&s.verdict, "note"))
        .or_else(|| text(&s.outcome, "reason"));
    let step = s
        .outcome
        .get("step")
        .and_then(Value::as_u64)
        .map(|n| n as usize);
    let step_label = step.and_then(|i| {
        s.steps
            .iter()
            .find(|st| st.index == i)
            .map(|st| scrub(&st.label))
    });
    let nonempty = |o: Option<String>| o.filter(|t| !t.is_empty());
    ScenarioResultView {
        scenario: s.name.clone(),
        verdict,
        reason,
        unsupported_action: if outcome == "unsupported" {
            text(&s.outcome, "action")
        } else {
            None
        },
        outcome,
        step,
        step_label,
        check: text(&s.outcome, "check"),
        summary: nonempty(text(&s.outcome, "summary")),
        expected: nonempty(text(&s.outcome, "expected")),
        actual: nonempty(text(&s.outcome, "actual")),
        diff: nonempty(text(&s.outcome, "diff")),
    }
}

/// One operation on one target's scenarios.
fn cell(op: &str, list: &[ScenarioIn]) -> Cell {
    let unsupported = list.iter().any(|s| {
        s.steps
            .iter()
            .any(|st| st.status == "unsupported" && st.action.as_deref() == Some(op))
            || (s.outcome.get("outcome").and_then(Value::as_str) == Some("unsupported")
                && s.outcome.get("action").and_then(Value::as_str) == Some(op))
    });
    let mut checks = Vec::new();
    let (mut passed, mut total, mut framing_only) = (0, 0, 0);
    for s in list.iter().filter(|s| s.covers.iter().any(|c| c == op)) {
        let outcome = s
            .outcome
            .get("outcome")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string();
        let verdict = s
            .verdict
            .get("verdict")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string();
        if outcome != "skipped" {
            total += 1;
            if outcome == "passed" {
                passed += 1;
            }
            // The runner reports a protocol violation only when nothing else failed.
            if outcome == "failed"
                && s.outcome.get("check").and_then(Value::as_str) == Some("protocol")
            {
                framing_only += 1;
            }
        }
        checks.push(Check {
            scenario: s.name.clone(),
            outcome,
            verdict,
        });
    }
    let status = if unsupported {
        CellStatus::Unsupported
    } else if checks.is_empty() {
        CellStatus::NotCovered
    } else if total == 0 {
        CellStatus::Skipped
    } else if passed == total {
        CellStatus::Pass
    } else if passed == 0 {
        CellStatus::Fail
    } else {
        CellStatus::Partial
    };
    Cell {
        status,
        passed,
        total,
        framing_only,
        checks,
    }
}
