//! The mutation report: scores per operator and per action, every surviving mutant, and what
//! was left out (equivalent mutants, mutants not sampled, scenarios not mutated), as JSON
//! (`cogcheck-mutation/1`) and Markdown.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::campaign::{Campaign, MutantStatus};
use super::Operator;
use crate::report::results::TargetInfo;

/// The schema name of the JSON report.
pub const SCHEMA: &str = "cogcheck-mutation/1";

/// Counts for one operator, one action, or everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// The operator or action; empty for the total.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Mutants the scenarios noticed.
    pub killed: usize,
    /// Mutants nobody noticed.
    pub survived: usize,
    /// Mutants whose site was missing from the re-run's answer (not scored).
    pub not_applied: usize,
    /// Equivalent mutants (not run, not scored).
    pub equivalent: usize,
    /// killed / (killed + survived), in percent; `None` when nothing was scored.
    pub score: Option<f64>,
}

impl Score {
    fn add(&mut self, status: MutantStatus) {
        match status {
            MutantStatus::Killed => self.killed += 1,
            MutantStatus::Survived => self.survived += 1,
            MutantStatus::NotApplied => self.not_applied += 1,
            MutantStatus::Equivalent => self.equivalent += 1,
        }
    }

    fn finish(mut self) -> Score {
        let scored = self.killed + self.survived;
        self.score = (scored > 0).then(|| {
            // One decimal, so the JSON is stable to read.
            (1000.0 * self.killed as f64 / scored as f64).round() / 10.0
        });
        self
    }
}

/// The report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MutationReport {
    /// [`SCHEMA`].
    pub schema: String,
    /// The target.
    pub target: TargetInfo,
    /// When the campaign ended (RFC 3339).
    pub finished: String,
    /// The service model's version.
    pub model: String,
    /// Everything together.
    pub total: Score,
    /// Per operator, in [`Operator::ALL`] order.
    pub by_operator: Vec<Score>,
    /// Per action, by name.
    pub by_action: Vec<Score>,
    /// The campaign: options, scenarios, every mutant.
    pub campaign: Campaign,
}

impl MutationReport {
    /// Scores a campaign.
    pub fn new(target: TargetInfo, campaign: Campaign) -> MutationReport {
        let mut total = Score::default();
        let mut ops: BTreeMap<Operator, Score> = BTreeMap::new();
        let mut actions: BTreeMap<String, Score> = BTreeMap::new();
        for r in &campaign.records {
            total.add(r.status);
            ops.entry(r.mutant.operator).or_default().add(r.status);
            actions.entry(r.action.clone()).or_default().add(r.status);
        }
        MutationReport {
            schema: SCHEMA.into(),
            target,
            finished: crate::report::results::now_rfc3339(),
            model: format!("botocore {}", crate::model::Model::get().source.version),
            total: total.finish(),
            by_operator: Operator::ALL
                .into_iter()
                .filter(|o| campaign.operators.contains(o))
                .map(|o| {
                    Score {
                        name: o.name().into(),
                        ..ops.remove(&o).unwrap_or_default()
                    }
                    .finish()
                })
                .collect(),
            by_action: actions
                .into_iter()
                .map(|(name, s)| Score { name, ..s }.finish())
                .collect(),
            campaign,
        }
    }

    /// Writes `<dir>/<target>.json` and `<dir>/<target>.md`; returns both paths.
    pub fn write(&self, dir: &Path) -> std::io::Result<(std::path::PathBuf, std::path::PathBuf)> {
        std::fs::create_dir_all(dir)?;
        let json = dir.join(format!("{}.json", self.target.name));
        let md = dir.join(format!("{}.md", self.target.name));
        let mut text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        text.push('\n');
        std::fs::write(&json, text)?;
        std::fs::write(&md, self.markdown())?;
        Ok((json, md))
    }

    /// The Markdown report.
    pub fn markdown(&self) -> String {
        let c = &self.campaign;
        let pct = |s: &Score| s.score.map_or("–".to_string(), |v| format!("{v:.1}%"));
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Mutation score: {} {}\n",
            self.target.name, self.target.version
        );
        let _ = writeln!(
            out,
            "Each scenario that passes against {} (behaviour verdict) was run again once per \
             sampled mutant, with exactly one answer of one step altered. A mutant is killed \
             when the run shows a finding at or after that step that the unaltered run did not \
             (or stops); a surviving mutant is an assertion the suite is missing. Generated by \
             `cogcheck mutation` ({}; {}).\n",
            self.target.name, self.model, self.finished
        );
        let _ = writeln!(
            out,
            "**Score: {}** ({} killed, {} survived), equivalent mutants excluded ({} set aside, \
             see `fixtures/mutation-equivalent.json`); {} not applied.\n",
            pct(&self.total),
            self.total.killed,
            self.total.survived,
            self.total.equivalent,
            self.total.not_applied
        );
        let _ = writeln!(
            out,
            "Sampled **{} of {} possible mutants** (seed {}, at most {} per step, at most {} \
             in all; 0 means no limit), from {} of {} scenarios, {}, in {} s.\n",
            c.sampled,
            c.possible,
            c.seed,
            c.max_per_step,
            c.max_mutants,
            c.mutated_scenarios.len(),
            c.scenarios,
            if c.all_steps {
                "every action step"
            } else {
                "in the steps whose action the scenario covers (setup steps are left to the \
                 scenarios that cover their action)"
            },
            c.seconds
        );
        let table = |out: &mut String, title: &str, rows: &[Score]| {
            let _ = writeln!(out, "## By {title}\n");
            let _ = writeln!(
                out,
                "| {title} | score | killed | survived | not applied | equivalent |\n|---|---:|---:|---:|---:|---:|"
            );
            for s in rows {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    s.name,
                    pct(s),
                    s.killed,
                    s.survived,
                    s.not_applied,
                    s.equivalent
                );
            }
            out.push('\n');
        };
        table(&mut out, "operator", &self.by_operator);
        table(&mut out, "action", &self.by_action);

        let survivors: Vec<_> = c
            .records
            .iter()
            .filter(|r| r.status == MutantStatus::Survived)
            .collect();
        let _ = writeln!(out, "## Surviving mutants ({})\n", survivors.len());
        if survivors.is_empty() {
            out.push_str("None.\n\n");
        } else {
            out.push_str(
                "Each is an altered answer the scenario accepted: an assertion to add.\n\n\
                 | scenario | step | action | operator | path | change |\n|---|---:|---|---|---|---|\n",
            );
            for r in survivors {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | `{}` | {} |",
                    r.scenario,
                    r.step,
                    r.action,
                    r.mutant.operator,
                    r.mutant.path,
                    r.mutant.detail.replace('|', "\\|")
                );
            }
            out.push('\n');
        }

        let mut equivalent: BTreeMap<&str, (usize, Vec<String>)> = BTreeMap::new();
        for r in c
            .records
            .iter()
            .filter(|r| r.status == MutantStatus::Equivalent)
        {
            let e = equivalent.entry(r.note.as_str()).or_default();
            e.0 += 1;
            if e.1.len() < 3 {
                e.1.push(format!(
                    "{} `{}` {} ({})",
                    r.action, r.mutant.path, r.mutant.operator, r.mutant.detail
                ));
            }
        }
        let _ = writeln!(out, "## Equivalent mutants ({})\n", self.total.equivalent);
        out.push_str(
            "Not run and not scored: no SDK could notice them. Each reason is an entry of \
             `fixtures/mutation-equivalent.json`.\n\n",
        );
        for (reason, (n, examples)) in &equivalent {
            let _ = writeln!(
                out,
                "- **{n}**: {reason} For example: {}.",
                examples.join("; ")
            );
        }
        out.push('\n');

        let not_applied = c
            .records
            .iter()
            .filter(|r| r.status == MutantStatus::NotApplied)
            .count();
        if not_applied > 0 {
            let _ = writeln!(
                out,
                "## Not applied ({not_applied})\n\nThe re-run's answer had no such site (its \
                 structure differed from the first run's); listed in the JSON report.\n"
            );
        }
        let _ = writeln!(out, "## Scenarios not mutated ({})\n", c.excluded.len());
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &c.excluded {
            *reasons.entry(e.reason.as_str()).or_default() += 1;
        }
        for (reason, n) in reasons {
            let _ = writeln!(out, "- {n}: {reason}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutation::{Mutant, MutantRecord};

    fn record(op: Operator, action: &str, status: MutantStatus) -> MutantRecord {
        MutantRecord {
            scenario: "a::b".into(),
            step: 1,
            action: action.into(),
            mutant: Mutant {
                operator: op,
                index: 0,
                path: "$.X".into(),
                detail: "d|e".into(),
                in_model: true,
            },
            status,
            note: if status == MutantStatus::Equivalent {
                "why.".into()
            } else {
                String::new()
            },
        }
    }

    #[test]
    fn scores_exclude_equivalent_and_unapplied_mutants() {
        let campaign = Campaign {
            seed: 1,
            max_per_step: 2,
            max_mutants: 0,
            operators: Operator::ALL.to_vec(),
            all_steps: false,
            scenarios: 3,
            mutated_scenarios: vec!["a::b".into()],
            excluded: Vec::new(),
            possible: 10,
            sampled: 5,
            records: vec![
                record(Operator::DropMember, "GetUser", MutantStatus::Killed),
                record(Operator::DropMember, "GetUser", MutantStatus::Killed),
                record(Operator::DropMember, "SignUp", MutantStatus::Survived),
                record(Operator::ChangeType, "SignUp", MutantStatus::NotApplied),
                record(Operator::ChangeStatus, "SignUp", MutantStatus::Equivalent),
            ],
            seconds: 1,
        };
        let target = TargetInfo {
            name: "moto".into(),
            version: "1".into(),
            endpoint: "http://x".into(),
            configuration: String::new(),
        };
        let r = MutationReport::new(target, campaign);
        assert_eq!(r.total.score, Some(66.7));
        assert_eq!((r.total.equivalent, r.total.not_applied), (1, 1));
        let drop = r
            .by_operator
            .iter()
            .find(|s| s.name == "drop_member")
            .unwrap();
        assert_eq!((drop.killed, drop.survived), (2, 1));
        let ct = r
            .by_operator
            .iter()
            .find(|s| s.name == "change_type")
            .unwrap();
        assert_eq!(ct.score, None);
        assert_eq!(r.by_operator.len(), Operator::ALL.len());
        let signup = r.by_action.iter().find(|s| s.name == "SignUp").unwrap();
        assert_eq!(signup.score, Some(0.0));
        let md = r.markdown();
        assert!(md.contains("**Score: 66.7%**"), "{md}");
        assert!(
            md.contains("| a::b | 1 | SignUp | drop_member | `$.X` | d\\|e |"),
            "{md}"
        );
        assert!(md.contains("Sampled **5 of 10 possible mutants**"), "{md}");
        assert!(md.contains("- **1**: why."), "{md}");
        let back: MutationReport =
            serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.total, r.total);
    }
}
