//! Results → the operation × target matrix: every number the three reports show, computed once
//! here (see the [module docs](super) for what a check is). The results are read by `read.rs`;
//! the matrix's types are in `view.rs`.

use std::collections::{BTreeMap, BTreeSet};

use super::read::{parse_target, TargetData};
use super::tolerance::{SdkNotice, SdkTolerance};
use super::{parse_seed_list, scrub, TargetInput, SEED_ACTIONS};
use crate::error::{Error, Result};
use crate::finding::{Axis, Severity};
use crate::model::Model;

// The types reporters read live in view.rs; their old paths (`matrix::Cell`) still work.
pub use super::view::{
    Cell, CellStatus, Check, CheckStatus, FindingView, GroupCounts, Matrix, OperationRow,
    OutcomeKind, ScenarioResultView, ScenarioRow, Standing, TargetColumn, TargetSummary,
    UnsupportedOperation, WireDeviation, PROTOCOL_BADGE, SHAPE_BADGE,
};

/// The category of operations the quotas page does not list.
pub const UNCATEGORIZED: &str = "Uncategorized";

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
            trend: Vec::new(),
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
            // A deviation is a step that went wrong, however many members it got wrong (a
            // challenge that never comes misses its name, its session and what it gates): each
            // step counts once, under its gravest finding.
            let mut security_steps = BTreeSet::new();
            let mut functional_steps = BTreeSet::new();
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
                                Severity::Security => {
                                    security_steps.insert((f.scenario.clone(), f.step));
                                }
                                Severity::Functional => {
                                    functional_steps.insert((f.scenario.clone(), f.step));
                                }
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
            summary.security_deviations = security_steps.len();
            summary.functional_deviations = functional_steps.difference(&security_steps).count();
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
