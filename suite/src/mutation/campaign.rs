//! A mutation campaign: run each passing scenario once more per sampled mutant, with exactly
//! one answer of one step altered, and record whether the scenario noticed.
//!
//! 1. **Baseline.** Every scenario runs once with a recording hook that keeps each action
//!    step's answer. Only scenarios whose behaviour verdict is `pass` go on: a scenario that
//!    already fails says nothing about what it would notice.
//! 2. **Enumeration.** Each recorded answer admits the mutants [`super::mutants`] lists.
//!    Equivalent ones (`fixtures/mutation-equivalent.json`) are set aside with their reason.
//! 3. **Sampling.** Per step at most `max_per_step` mutants, drawn across operators in turn,
//!    then at most `max_mutants` in all. Every draw is a hash of the seed and the mutant's
//!    identity (scenario, step, operator, site), so a sample does not depend on run order or
//!    timing and the same seed picks the same mutants.
//! 4. **Runs.** The scenario runs again with a hook that alters that step's answer (every
//!    attempt of an `eventually_ms` step). The mutant is *killed* when the run has a finding
//!    at or after the step (cleanup included) that the baseline did not have (compared by step,
//!    axis, check and path), or stops where the baseline completed; otherwise it *survived*.
//!    A mutant whose site is not in the new answer (a structure that changed between runs) is
//!    *not applied* and left out of the score.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::equivalent::Equivalents;
use super::{Mutant, Operator};
use crate::client::RawResponse;
use crate::expectations::{Expectations, Strictness, Verdict};
use crate::finding::{Outcome, ScenarioResult};
use crate::run::{AnswerHook, Runner};
use crate::scenario::Scenario;

/// How to sample and run.
#[derive(Debug, Clone)]
pub struct CampaignOptions {
    /// At most this many mutants per step (0: no limit).
    pub max_per_step: usize,
    /// At most this many mutants in all (0: no limit).
    pub max_mutants: usize,
    /// The sampling seed.
    pub seed: u64,
    /// Only these operators (empty: all).
    pub operators: Vec<Operator>,
    /// Mutate `exclusive` scenarios too. Off by default: each run of one waits for every other
    /// scenario to finish and takes about a minute against moto.
    pub include_exclusive: bool,
    /// Mutate every action step. By default only the steps whose action the scenario
    /// `covers`: the others are its setup, whose answers the scenarios covering them check.
    pub all_steps: bool,
    /// Scenario runs at once.
    pub jobs: usize,
}

/// What became of one mutant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MutantStatus {
    /// The scenario noticed.
    Killed,
    /// The scenario passed with the altered answer: a missing assertion.
    Survived,
    /// The site was not in the re-run's answer.
    NotApplied,
    /// No SDK could notice (an entry of the equivalents file); not run.
    Equivalent,
}

/// One mutant of one step of one scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MutantRecord {
    /// `area::id`.
    pub scenario: String,
    /// The step whose answer was altered.
    pub step: usize,
    /// Its action.
    pub action: String,
    /// The mutant.
    #[serde(flatten)]
    pub mutant: Mutant,
    /// What became of it.
    pub status: MutantStatus,
    /// The first new finding (or the stop) that killed it, the equivalence reason, or why it
    /// was not applied.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A scenario left out of the campaign, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Excluded {
    /// `area::id`.
    pub scenario: String,
    /// Why.
    pub reason: String,
}

/// The outcome of a campaign.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Campaign {
    /// The seed.
    pub seed: u64,
    /// `--max-mutants-per-step`.
    pub max_per_step: usize,
    /// `--max-mutants`.
    pub max_mutants: usize,
    /// The operators allowed.
    pub operators: Vec<Operator>,
    /// Whether setup steps (actions the scenario does not cover) were mutated too.
    pub all_steps: bool,
    /// Scenarios loaded.
    pub scenarios: usize,
    /// Scenarios mutated (behaviour verdict `pass`).
    pub mutated_scenarios: Vec<String>,
    /// Scenarios left out, with the reason.
    pub excluded: Vec<Excluded>,
    /// Every mutant the mutated scenarios' answers admit (equivalent ones included).
    pub possible: usize,
    /// Of those, how many were sampled and run.
    pub sampled: usize,
    /// The mutants run, then the equivalent ones, in scenario and step order.
    pub records: Vec<MutantRecord>,
    /// Wall time in seconds.
    pub seconds: u64,
}

/// Keeps every action step's answer (the last attempt's).
#[derive(Default)]
struct Recorder(Mutex<BTreeMap<usize, (String, RawResponse)>>);

impl AnswerHook for Recorder {
    fn answer(&self, step: usize, action: &str, raw: RawResponse) -> RawResponse {
        if let Ok(mut m) = self.0.lock() {
            m.insert(step, (action.to_string(), raw.clone()));
        }
        raw
    }
}

/// Alters one step's answer.
struct Mutator {
    step: usize,
    operator: Operator,
    index: usize,
    applied: Mutex<Option<Mutant>>,
}

impl AnswerHook for Mutator {
    fn answer(&self, step: usize, action: &str, raw: RawResponse) -> RawResponse {
        if step != self.step {
            return raw;
        }
        match super::apply(action, &raw, self.operator, self.index) {
            Some((changed, mutant)) => {
                if let Ok(mut a) = self.applied.lock() {
                    *a = Some(mutant);
                }
                changed
            }
            None => raw,
        }
    }
}

/// A stable 64-bit draw for a mutant's identity under `seed`.
fn draw(seed: u64, scenario: &str, step: usize, m: &Mutant) -> u64 {
    let digest = sha2::Sha256::digest(
        format!(
            "{seed}\u{0}{scenario}\u{0}{step}\u{0}{}\u{0}{}",
            m.operator, m.index
        )
        .as_bytes(),
    );
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(b)
}

/// Up to `max` of one step's mutants, across operators in turn (each operator's mutants in
/// draw order; operators in the order of their first draw), so a step with a hundred members
/// to drop still gets its status and error mutants.
fn sample_step(mut candidates: Vec<(u64, Mutant)>, max: usize) -> Vec<(u64, Mutant)> {
    if max == 0 || candidates.len() <= max {
        return candidates;
    }
    candidates.sort_by_key(|(d, _)| *d);
    let mut by_op: Vec<(Operator, std::collections::VecDeque<(u64, Mutant)>)> = Vec::new();
    for c in candidates {
        match by_op.iter_mut().find(|(op, _)| *op == c.1.operator) {
            Some((_, q)) => q.push_back(c),
            None => by_op.push((c.1.operator, std::collections::VecDeque::from([c]))),
        }
    }
    let mut out = Vec::new();
    while out.len() < max {
        let mut any = false;
        for (_, q) in &mut by_op {
            if out.len() == max {
                break;
            }
            if let Some(c) = q.pop_front() {
                out.push(c);
                any = true;
            }
        }
        if !any {
            break;
        }
    }
    out
}

/// What the mutated run did that the baseline did not, at or after `step`.
fn noticed(baseline: &ScenarioResult, mutated: &ScenarioResult, step: usize) -> Option<String> {
    match (&baseline.outcome, &mutated.outcome) {
        (Outcome::Completed, Outcome::Stopped { step, reason }) => {
            return Some(format!("stopped at step {step}: {reason}"))
        }
        (Outcome::Completed, Outcome::Unsupported { step, answer, .. }) => {
            return Some(format!("step {step} now looks unsupported ({answer})"))
        }
        _ => {}
    }
    let key = |f: &crate::finding::Finding| (f.step, f.axis, f.check, f.path.clone());
    let mut seen: BTreeMap<_, usize> = BTreeMap::new();
    for f in &baseline.findings {
        *seen.entry(key(f)).or_default() += 1;
    }
    for f in &mutated.findings {
        if f.step.is_some_and(|s| s < step) {
            continue;
        }
        match seen.get_mut(&key(f)) {
            Some(n) if *n > 0 => *n -= 1,
            _ => return Some(f.headline()),
        }
    }
    None
}

/// Runs a campaign. `progress` gets a line now and then.
pub async fn run(
    runner: Arc<Runner>,
    scenarios: Vec<Scenario>,
    expectations: &Expectations,
    equivalents: &Equivalents,
    options: &CampaignOptions,
    mut progress: impl FnMut(String),
) -> Campaign {
    let started = Instant::now();
    let total = scenarios.len();
    let jobs = options.jobs.max(1);
    let semaphore = Arc::new(tokio::sync::Semaphore::new(jobs));

    // 1. Baseline, recording answers.
    progress(format!("baseline: {total} scenarios"));
    let mut tasks = Vec::new();
    for (number, scenario) in scenarios.iter().cloned().enumerate() {
        let runner = Arc::clone(&runner);
        let sem = Arc::clone(&semaphore);
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await.ok();
            let recorder = Arc::new(Recorder::default());
            let result = runner
                .run_scenario_hooked(&scenario, number, Some(recorder.clone()))
                .await;
            let answers = recorder.0.lock().map(|m| m.clone()).unwrap_or_default();
            (result, answers)
        }));
    }
    let mut baselines = Vec::new();
    for t in tasks {
        if let Ok(r) = t.await {
            baselines.push(r);
        }
    }

    // 2 and 3. Enumerate, set equivalent ones aside, sample.
    let mut excluded = Vec::new();
    let mut mutated_scenarios = Vec::new();
    let mut records = Vec::new();
    let mut plan: Vec<(u64, usize, usize, String, Mutant)> = Vec::new();
    let mut possible = 0;
    for (i, (result, answers)) in baselines.iter().enumerate() {
        let scenario = &scenarios[i];
        let judgement = expectations.judge(result, Strictness::Behaviour);
        if judgement.behaviour != Verdict::Pass {
            excluded.push(Excluded {
                scenario: result.name.clone(),
                reason: format!("behaviour verdict {}", judgement.behaviour.name()),
            });
            continue;
        }
        // A scenario that reached an action the target does not implement has no behaviour
        // finding, yet its verdict is `unsupported`: it never checked the answers a mutant
        // would alter (and an altered "not implemented" answer is still one).
        if judgement.verdict != Verdict::Pass {
            excluded.push(Excluded {
                scenario: result.name.clone(),
                reason: format!("verdict {}", judgement.verdict.name()),
            });
            continue;
        }
        if scenario.exclusive && !options.include_exclusive {
            excluded.push(Excluded {
                scenario: result.name.clone(),
                reason: "exclusive (reads account-wide state; every run waits for all others): \
                         give --include-exclusive"
                    .into(),
            });
            continue;
        }
        mutated_scenarios.push(result.name.clone());
        for (step, (action, answer)) in answers {
            if !options.all_steps && !scenario.covers.contains(action) {
                continue;
            }
            let mut candidates = Vec::new();
            for m in super::mutants(action, answer) {
                if !options.operators.is_empty() && !options.operators.contains(&m.operator) {
                    continue;
                }
                possible += 1;
                if let Some(reason) = equivalents.reason(action, &m) {
                    records.push(MutantRecord {
                        scenario: result.name.clone(),
                        step: *step,
                        action: action.clone(),
                        mutant: m,
                        status: MutantStatus::Equivalent,
                        note: reason.to_string(),
                    });
                    continue;
                }
                candidates.push((draw(options.seed, &result.name, *step, &m), m));
            }
            for (d, m) in sample_step(candidates, options.max_per_step) {
                plan.push((d, i, *step, action.clone(), m));
            }
        }
    }
    if options.max_mutants > 0 && plan.len() > options.max_mutants {
        plan.sort_by_key(|p| p.0);
        plan.truncate(options.max_mutants);
    }
    // Scenario and step order, so the runs of one scenario are near each other in the log.
    plan.sort_by(|a, b| {
        (a.1, a.2, a.4.operator, a.4.index).cmp(&(b.1, b.2, b.4.operator, b.4.index))
    });
    let sampled = plan.len();
    progress(format!(
        "{} scenarios pass and are mutated; {sampled} of {possible} possible mutants sampled",
        mutated_scenarios.len()
    ));

    // 4. One run per mutant.
    let baselines = Arc::new(baselines);
    let scenarios = Arc::new(scenarios);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for (k, (_, i, step, action, mutant)) in plan.into_iter().enumerate() {
        let runner = Arc::clone(&runner);
        let sem = Arc::clone(&semaphore);
        let baselines = Arc::clone(&baselines);
        let scenarios = Arc::clone(&scenarios);
        let tx = tx.clone();
        tokio::spawn(async move {
            let _permit = sem.acquire_owned().await.ok();
            let hook = Arc::new(Mutator {
                step,
                operator: mutant.operator,
                index: mutant.index,
                applied: Mutex::new(None),
            });
            // Numbers after the baseline's keep every run's resource names apart.
            let number = scenarios.len() + k;
            let result = runner
                .run_scenario_hooked(&scenarios[i], number, Some(hook.clone()))
                .await;
            let applied = hook.applied.lock().ok().and_then(|a| a.clone());
            let (status, note, mutant) = match applied {
                None => (
                    MutantStatus::NotApplied,
                    "the re-run's answer has no such site".to_string(),
                    mutant,
                ),
                Some(applied) => match noticed(&baselines[i].0, &result, step) {
                    Some(why) => (MutantStatus::Killed, why, applied),
                    None => (MutantStatus::Survived, String::new(), applied),
                },
            };
            let _ = tx.send(MutantRecord {
                scenario: result.name,
                step,
                action,
                mutant,
                status,
                note,
            });
        });
    }
    drop(tx);
    let mut done = 0;
    let mut survived = 0;
    while let Some(r) = rx.recv().await {
        done += 1;
        if r.status == MutantStatus::Survived {
            survived += 1;
        }
        if done % 50 == 0 || done == sampled {
            progress(format!(
                "{done}/{sampled} mutants run, {survived} survived ({} s)",
                started.elapsed().as_secs()
            ));
        }
        records.push(r);
    }
    records.sort_by(|a, b| {
        (
            &a.scenario,
            a.step,
            a.mutant.operator,
            a.mutant.index,
            a.status,
        )
            .cmp(&(
                &b.scenario,
                b.step,
                b.mutant.operator,
                b.mutant.index,
                b.status,
            ))
    });
    excluded.sort_by(|a, b| a.scenario.cmp(&b.scenario));
    mutated_scenarios.sort();
    Campaign {
        seed: options.seed,
        max_per_step: options.max_per_step,
        max_mutants: options.max_mutants,
        operators: if options.operators.is_empty() {
            Operator::ALL.to_vec()
        } else {
            options.operators.clone()
        },
        all_steps: options.all_steps,
        scenarios: total,
        mutated_scenarios,
        excluded,
        possible,
        sampled,
        records,
        seconds: started.elapsed().as_secs(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Axis, Finding, Severity};

    fn m(op: Operator, index: usize) -> Mutant {
        Mutant {
            operator: op,
            index,
            path: "$".into(),
            detail: String::new(),
            in_model: true,
        }
    }

    #[test]
    fn sampling_is_seeded_and_spreads_over_operators() {
        let all: Vec<Mutant> = (0..20)
            .map(|i| m(Operator::DropMember, i))
            .chain((0..3).map(|i| m(Operator::ChangeStatus, i)))
            .collect();
        let pick = |seed| {
            let c = all
                .iter()
                .map(|x| (draw(seed, "a::b", 2, x), x.clone()))
                .collect();
            sample_step(c, 4)
                .into_iter()
                .map(|(_, x)| (x.operator, x.index))
                .collect::<Vec<_>>()
        };
        let a = pick(1);
        assert_eq!(a, pick(1), "the same seed picks the same mutants");
        assert_ne!(a, pick(2));
        assert_eq!(a.len(), 4);
        assert_eq!(
            a.iter()
                .filter(|(o, _)| *o == Operator::ChangeStatus)
                .count(),
            2,
            "{a:?}"
        );
        let few: Vec<(u64, Mutant)> = vec![(1, m(Operator::EmptyBody, 0))];
        assert_eq!(sample_step(few.clone(), 4).len(), 1);
        assert_eq!(sample_step(few, 0).len(), 1);
    }

    fn result(outcome: Outcome, findings: Vec<Finding>) -> ScenarioResult {
        ScenarioResult {
            name: "a::b".into(),
            area: "a".into(),
            file: String::new(),
            source: String::new(),
            covers: Vec::new(),
            outcome,
            findings,
            steps: Vec::new(),
            duration_ms: 0,
            cleanup_errors: Vec::new(),
            cleanup_ms: 0,
        }
    }

    fn finding(step: Option<usize>, axis: Axis, check: &str) -> Finding {
        Finding {
            step,
            action: None,
            axis,
            severity: Severity::Shape,
            check: check.parse().expect("a check kind"),
            path: "$".into(),
            summary: "s".into(),
            expected: String::new(),
            actual: String::new(),
            diff: String::new(),
            source: String::new(),
            evidence: None,
        }
    }

    #[test]
    fn only_new_findings_at_or_after_the_step_kill() {
        let known = finding(Some(3), Axis::Protocol, "request-id");
        let base = result(Outcome::Completed, vec![known.clone()]);
        assert_eq!(
            noticed(&base, &result(Outcome::Completed, vec![known.clone()]), 2),
            None
        );
        assert_eq!(
            noticed(
                &base,
                &result(
                    Outcome::Completed,
                    vec![finding(Some(1), Axis::Shape, "wrong-type")]
                ),
                2
            ),
            None,
            "a finding before the step is not the mutant's"
        );
        assert!(noticed(
            &base,
            &result(
                Outcome::Completed,
                vec![known.clone(), finding(Some(2), Axis::Shape, "wrong-type")]
            ),
            2
        )
        .is_some());
        assert!(
            noticed(
                &base,
                &result(Outcome::Completed, vec![known.clone(), known.clone()]),
                2
            )
            .is_some(),
            "a second occurrence is new"
        );
        assert!(noticed(
            &base,
            &result(
                Outcome::Stopped {
                    step: 2,
                    reason: "r".into()
                },
                vec![known]
            ),
            2
        )
        .unwrap()
        .contains("stopped"));
    }
}
