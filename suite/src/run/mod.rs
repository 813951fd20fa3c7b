//! Runs scenarios against one endpoint and turns each into a [`ScenarioResult`].
//!
//! By stage, one file each:
//! - here, scheduling: scenarios run concurrently, bounded by `jobs`, except `exclusive` ones,
//!   which wait until nothing else is in flight; each ends as an [`Event`] with its judgement;
//! - `step`: one step: resolve templates, call the action (or the helper), judge the answer
//!   on all three axes ([`crate::checks`]), save captures; a scenario goes on after any finding
//!   and stops only when it cannot (no answer, or a value later steps need was not captured);
//! - `cleanup`: whatever happens (a finding, a stop, a panic inside a step) every user pool the
//!   scenario created is deleted afterwards, and those calls are judged too.

mod cleanup;
mod step;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use cleanup::{cleanup, delete_pool, sweep};

use crate::client::{Client, RawResponse};
use crate::expectations::{Expectations, Judgement, Strictness};
use crate::finding::{
    Axis, CheckKind, Finding, Outcome, ScenarioResult, Severity, StepResult, StepStatus,
};
use crate::protocol::totp::TotpGenerator;
use crate::scenario::helper_step::HelperState;
use crate::scenario::{Scenario, Step, StepKind};
use step::{Execution, Stop};

/// How often an `eventually_ms` step is repeated.
const EVENTUALLY_INTERVAL: Duration = Duration::from_millis(500);

/// Set when the run is interrupted: no scenario starts another step, so nothing new is
/// created while the run's resources are being deleted.
pub static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// How to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Prefix of every resource name this run creates (`cogcheck-<6 hex>`), so `sweep` can
    /// find leftovers.
    pub run_prefix: String,
    /// The signing region, for `${region}`.
    pub region: String,
    /// Capabilities the target offers (see [`crate::scenario::CAPABILITIES`]).
    pub capabilities: Vec<String>,
    /// How the target exposes the confirmation codes it would deliver, if it does.
    pub codes: Option<crate::target::CodeSource>,
    /// The target's IAM role for SMS, for `${sms_role_arn}` (capability `sms-role`).
    pub sms_role: Option<crate::target::SmsRole>,
    /// The target's output log, where targets print codes.
    pub log_path: Option<std::path::PathBuf>,
    /// What the target writes to that log when it lacks an action (see
    /// [`crate::target::TargetSpec::unsupported_log`]).
    pub unsupported_log: Option<String>,
    /// Per action, whether the target's log says it is not implemented (`unsupported_log`).
    /// A replayed snapshot's notes fill it in advance, its log not being there to read; a live
    /// run learns each action from the log the first time it answers a bare 5xx. Whether an
    /// action is implemented does not change within a run, so each action waits for the log at
    /// most once; without this, every bare 5xx of an action the target implements but fails on
    /// (moto's GetUICustomization) held its job for the whole wait.
    pub log_verdicts: Arc<Mutex<std::collections::HashMap<String, bool>>>,
    /// How many scenarios run at once.
    pub jobs: usize,
    /// The time waits are measured in: real, or a replay's, which skips them.
    pub clock: crate::clock::RunClock,
}

impl RunConfig {
    /// A fresh run prefix: `cogcheck-` and six random hex digits.
    pub fn new_prefix() -> String {
        format!("cogcheck-{:06x}", rand::random::<u32>() & 0xff_ffff)
    }
}

/// Sees every answer a scenario's action steps get, before it is decoded and judged, and may
/// change it: `cogcheck mutation` records answers through it and alters exactly one. Helper
/// steps' own calls (pagination, JWKS) do not pass through it. A runner without a hook pays one
/// `None` check per step.
pub trait AnswerHook: Send + Sync {
    /// The answer of action `action` at step `step` (every attempt of an `eventually_ms`
    /// step), as the step will see it.
    fn answer(&self, step: usize, action: &str, raw: RawResponse) -> RawResponse;
}

/// What reporters consume.
#[derive(Debug, Clone)]
pub enum Event {
    /// The run begins.
    RunStarted {
        /// How many scenarios will run.
        total: usize,
    },
    /// A scenario begins.
    ScenarioStarted {
        /// Its name.
        name: String,
    },
    /// A scenario ended and has its judgement.
    ScenarioFinished {
        /// The result.
        result: Box<ScenarioResult>,
        /// Its verdicts after expectations.
        judgement: Box<Judgement>,
    },
    /// Every scenario has ended.
    RunFinished,
}

/// Runs scenarios against one endpoint.
pub struct Runner {
    client: Client,
    config: RunConfig,
    /// Every scenario holds this for its whole life, cleanup included: shared by ordinary
    /// scenarios, owned by an `exclusive` one. Tokio's lock is fair, so a waiting exclusive
    /// scenario holds back later ones instead of starving, whether scenarios come from
    /// `run_all` or from libtest-mimic's threads.
    account: tokio::sync::RwLock<()>,
}

impl Runner {
    /// A runner for `client`'s endpoint.
    pub fn new(client: Client, config: RunConfig) -> Runner {
        Runner {
            client,
            config,
            account: tokio::sync::RwLock::new(()),
        }
    }

    /// The run's configuration.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// Runs every scenario, `jobs` at a time, and reports each through `on_event` as it ends.
    pub async fn run_all(
        self: &Arc<Self>,
        scenarios: Vec<Scenario>,
        expectations: &Expectations,
        strictness: Strictness,
        mut on_event: impl FnMut(Event),
    ) -> Vec<(ScenarioResult, Judgement)> {
        on_event(Event::RunStarted {
            total: scenarios.len(),
        });
        let semaphore = Arc::new(tokio::sync::Semaphore::new(self.config.jobs.max(1)));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        // A scenario's number names its resources, so it stays its place in the list (a
        // replay must see the recorded names); the order they start in is the longest possible
        // wait first (the semaphore hands out permits first come, first served), so a
        // scenario that waits a minute for an eventually consistent read does not start last
        // and hold the run up alone. Stable: equals keep the list's order.
        let mut numbered: Vec<(usize, Scenario)> = scenarios.into_iter().enumerate().collect();
        numbered.sort_by_key(|(_, s)| std::cmp::Reverse(s.longest_wait()));
        // Scenarios that must run alone (`exclusive`: they read account-wide state) go first,
        // one after another, before any other starts. Queued among the others, one waited for
        // the account lock behind whatever was running, and every job waited behind it: the
        // run stood idle until the longest running scenario (a minute of TOTP windows) ended.
        let (alone, shared): (Vec<_>, Vec<_>) =
            numbered.into_iter().partition(|(_, s)| s.exclusive);
        let mut out = Vec::new();
        let mut finished = |result: ScenarioResult, on_event: &mut dyn FnMut(Event)| {
            let judgement = expectations.judge(&result, strictness);
            on_event(Event::ScenarioFinished {
                result: Box::new(result.clone()),
                judgement: Box::new(judgement.clone()),
            });
            out.push((result, judgement));
        };
        for (number, scenario) in alone {
            on_event(Event::ScenarioStarted {
                name: scenario.name(),
            });
            let result = self.run_scenario(&scenario, number).await;
            finished(result, &mut on_event);
        }
        for (number, scenario) in shared {
            let runner = Arc::clone(self);
            let sem = Arc::clone(&semaphore);
            let tx = tx.clone();
            tokio::spawn(async move {
                // The semaphore is never closed, so acquire only fails if it were; then run anyway.
                let permit = sem.acquire_owned().await.ok();
                let _ = tx.send(Err(scenario.name()));
                let result = crate::clock::in_job_slot(
                    permit,
                    scenario.longest_wait(),
                    runner.run_scenario(&scenario, number),
                )
                .await;
                let _ = tx.send(Ok(result));
            });
        }
        drop(tx);
        while let Some(msg) = rx.recv().await {
            match msg {
                Err(name) => on_event(Event::ScenarioStarted { name }),
                Ok(result) => finished(result, &mut on_event),
            }
        }
        on_event(Event::RunFinished);
        out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        out
    }

    /// Runs one scenario (its `number` keeps its resource names apart from other scenarios')
    /// and deletes what it created.
    pub async fn run_scenario(&self, scenario: &Scenario, number: usize) -> ScenarioResult {
        self.run_scenario_hooked(scenario, number, None).await
    }

    /// [`Runner::run_scenario`], with every action step's answer passed through `hook`.
    pub async fn run_scenario_hooked(
        &self,
        scenario: &Scenario,
        number: usize,
        hook: Option<Arc<dyn AnswerHook>>,
    ) -> ScenarioResult {
        let started = Instant::now();
        let missing: Vec<&String> = scenario
            .requires
            .iter()
            .filter(|r| !self.config.capabilities.contains(r))
            .collect();
        let mut steps: Vec<StepResult> = scenario.steps.iter().map(not_run).collect();
        if !missing.is_empty() {
            let reason = format!(
                "the target does not offer {}",
                missing
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return self.result(
                scenario,
                Outcome::Skipped { reason },
                Vec::new(),
                steps,
                started,
                Vec::new(),
            );
        }

        // Held to the end of this function, cleanup included.
        let (_shared, _alone) = if scenario.exclusive {
            (None, Some(self.account.write().await))
        } else {
            (Some(self.account.read().await), None)
        };
        let created = Arc::new(Mutex::new(Vec::<String>::new()));
        // Steps run in their own task so that a panic in a step (a bug in cogcheck) is caught
        // here as a finding and the cleanup below still runs.
        let task = {
            let client = self.client.labelled(&scenario.name());
            let config = self.config.clone();
            // Cognito refuses a TOTP code a user has already used, so each scenario (its own
            // users) takes codes from time steps it has not used. Its own generator: one for the
            // whole run, keyed by secret, made scenarios wait for one another's windows where a
            // target hands every user the same secret (moto's `asdfasdfasdf`), up to 90 s each.
            let totp = TotpGenerator::with_clock(self.config.clock.clone());
            let scenario = scenario.clone();
            let created = Arc::clone(&created);
            tokio::spawn(async move {
                let mut exec = Execution {
                    client: &client,
                    config: &config,
                    totp: &totp,
                    scenario_number: number,
                    source: &scenario.source,
                    captures: BTreeMap::new(),
                    passwords: Mutex::new(BTreeMap::new()),
                    helper_state: Mutex::new(HelperState::default()),
                    created: &created,
                    secrets: Default::default(),
                    hook,
                };
                let mut records = Vec::new();
                let mut findings = Vec::new();
                let mut outcome = Outcome::Completed;
                for step in &scenario.steps {
                    let run = exec.step(step).await;
                    records.push(run.record);
                    findings.extend(run.findings);
                    match run.stop {
                        None => {}
                        Some(Stop::Unsupported { action, answer }) => {
                            outcome = Outcome::Unsupported {
                                action,
                                step: step.index,
                                answer,
                            };
                            break;
                        }
                        Some(Stop::CannotGoOn { reason }) => {
                            outcome = Outcome::Stopped {
                                step: step.index,
                                reason,
                            };
                            break;
                        }
                    }
                }
                (records, findings, outcome)
            })
        };
        let (outcome, mut findings) = match task.await {
            Ok((records, findings, outcome)) => {
                for r in records {
                    let i = r.index;
                    if let Some(slot) = steps.get_mut(i) {
                        *slot = r;
                    }
                }
                (outcome, findings)
            }
            Err(e) => {
                let step = steps
                    .iter()
                    .filter(|s| s.status != StepStatus::NotRun)
                    .count();
                let reason = format!("cogcheck panicked while running this scenario: {e}");
                let finding = Finding {
                    step: Some(step),
                    action: None,
                    axis: Axis::Behaviour,
                    severity: Severity::Functional,
                    check: CheckKind::Panic,
                    path: "-".into(),
                    summary: reason.clone(),
                    expected: String::new(),
                    actual: String::new(),
                    diff: String::new(),
                    source: "cogcheck".into(),
                    evidence: None,
                };
                (Outcome::Stopped { step, reason }, vec![finding])
            }
        };
        let pools: Vec<String> = created.lock().map(|v| v.clone()).unwrap_or_default();
        let cleaning = Instant::now();
        let (cleanup_errors, cleanup_findings) =
            cleanup(&self.client.labelled(&scenario.name()), &pools).await;
        let cleanup_ms = cleaning.elapsed().as_millis() as u64;
        findings.extend(cleanup_findings);
        let mut result = self.result(scenario, outcome, findings, steps, started, cleanup_errors);
        result.cleanup_ms = cleanup_ms;
        result
    }

    fn result(
        &self,
        scenario: &Scenario,
        outcome: Outcome,
        findings: Vec<Finding>,
        steps: Vec<StepResult>,
        started: Instant,
        cleanup_errors: Vec<String>,
    ) -> ScenarioResult {
        // Named from the folder that holds fixtures/, as in a checkout: `fixtures/scenarios/...`.
        let fixtures = crate::fixtures::dir();
        let root = fixtures.parent().unwrap_or(&fixtures).to_path_buf();
        let file = std::fs::canonicalize(&root)
            .ok()
            .and_then(|r| {
                scenario
                    .file
                    .canonicalize()
                    .ok()?
                    .strip_prefix(r)
                    .ok()
                    .map(|p| p.display().to_string())
            })
            .unwrap_or_else(|| scenario.file.display().to_string());
        ScenarioResult {
            name: scenario.name(),
            area: scenario.area.clone(),
            file,
            source: scenario.source.clone(),
            covers: scenario.covers.clone(),
            outcome,
            findings,
            steps,
            duration_ms: started.elapsed().as_millis() as u64,
            cleanup_errors,
            cleanup_ms: 0,
        }
    }
}

/// What makes a run unable to judge a target at all, with the likely cause: the endpoint is
/// not a Cognito User Pools API (wrong endpoint or port, a path prefix, another service) when
/// it does not even implement CreateUserPool, or when most scenarios reach an operation it
/// does not implement. `None` when the run could judge.
pub fn harness_problem(results: &[ScenarioResult]) -> Option<String> {
    let ran: Vec<&ScenarioResult> = results
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Skipped { .. }))
        .collect();
    let unsupported: Vec<(&str, &str)> = ran
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Unsupported { action, answer, .. } => Some((action.as_str(), answer.as_str())),
            _ => None,
        })
        .collect();
    let cause = "the endpoint is probably not a Cognito User Pools API: check the endpoint URL \
                 and port (COGCHECK_ENDPOINT, --endpoint), that it serves cognito-idp at `/`, \
                 and that the emulator has its Cognito service enabled";
    if let Some((_, answer)) = unsupported.iter().find(|(a, _)| *a == "CreateUserPool") {
        return Some(format!(
            "CreateUserPool is not implemented (answered {answer}), so nothing can be judged; {cause}"
        ));
    }
    // A small run (a filter) can legitimately be all about unsupported operations, and the
    // sparsest emulator measured (cognito-local 5.3.0) lacks operations in 43% of scenarios.
    if ran.len() >= 20 && unsupported.len() * 4 > ran.len() * 3 {
        return Some(format!(
            "{} of {} scenarios reached an operation the target does not implement; {cause}",
            unsupported.len(),
            ran.len()
        ));
    }
    None
}

fn not_run(step: &Step) -> StepResult {
    StepResult {
        index: step.index,
        label: step.label(),
        action: match &step.kind {
            StepKind::Call { action, .. } => Some(action.clone()),
            StepKind::Helper { .. } => None,
        },
        status: StepStatus::NotRun,
        duration_ms: 0,
        http_status: None,
        error_type: None,
        attempts: 0,
    }
}
