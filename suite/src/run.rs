//! Runs scenarios against one endpoint and turns each into a [`ScenarioResult`].
//!
//! One scenario runs its steps in order: resolve templates, call the action (or the helper),
//! check the answer against the step's expectation and then against the model, save captures.
//! The first failing step ends the scenario. Whatever happens — a failure, a panic inside a
//! step, a transport error — every user pool the scenario created is deleted afterwards.
//! Scenarios run concurrently, bounded by `jobs`, except `exclusive` ones, which wait until
//! nothing else is in flight; results come out as [`Event`]s that reporters consume.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::checks;
use crate::client::Client;
use crate::expectations::{Expectations, Verdict};
use crate::model::Model;
use crate::scenario::helper_step::{HelperContext, HelperState};
use crate::scenario::helpers::totp::TotpGenerator;
use crate::scenario::matcher::Mismatch;
use crate::scenario::template::Scope;
use crate::scenario::{Expect, Scenario, Step, StepKind};

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
    /// The target's output log, where targets print codes.
    pub log_path: Option<std::path::PathBuf>,
    /// How many scenarios run at once.
    pub jobs: usize,
}

impl RunConfig {
    /// A fresh run prefix: `cogcheck-` and six random hex digits.
    pub fn new_prefix() -> String {
        format!("cogcheck-{:06x}", rand::random::<u32>() & 0xff_ffff)
    }
}

/// The outcome of one scenario on one target, before expectations are applied.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    /// `<area>::<id>`.
    pub name: String,
    /// The area.
    pub area: String,
    /// The scenario file, relative to the repository when possible.
    pub file: String,
    /// The scenario's source (documentation URL, `model`, recording).
    pub source: String,
    /// The actions it covers.
    pub covers: Vec<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Every step, including those not run.
    pub steps: Vec<StepResult>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Problems deleting what the scenario created (leftovers for `cogcheck sweep`).
    pub cleanup_errors: Vec<String>,
}

/// How a scenario ended.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Every step met its expectation and the model.
    Passed,
    /// A step failed.
    Failed(Failure),
    /// The target does not implement an action a step calls.
    Unsupported {
        /// The action.
        action: String,
        /// The step.
        step: usize,
    },
    /// Not run: the target lacks a capability the scenario requires.
    Skipped {
        /// Why.
        reason: String,
    },
}

/// Why a step failed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Failure {
    /// The failing step's index.
    pub step: usize,
    /// Which check failed: `expectation` (success vs error), `error-type`, `message`,
    /// `status`, `body`, `model`, `protocol`, `capture`, `template`, `transport`, `helper`,
    /// `panic`.
    pub check: String,
    /// One line for summaries.
    pub summary: String,
    /// What was expected (secrets never appear: templates are shown unresolved).
    pub expected: String,
    /// What came (sensitive members redacted).
    pub actual: String,
    /// A unified diff of expected and actual, when both are JSON.
    pub diff: String,
}

/// One step's result.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    /// Index in the scenario.
    pub index: usize,
    /// `CreateUserPool` or `helper:totp`.
    pub label: String,
    /// The action, for action steps.
    pub action: Option<String>,
    /// `passed`, `failed`, `unsupported`, `not_run`.
    pub status: StepStatus,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// The answer's HTTP status.
    pub http_status: Option<u16>,
    /// The answer's error type.
    pub error_type: Option<String>,
    /// Model and protocol violations of the answer (the step fails; the scenario goes on).
    pub violations: Vec<String>,
}

/// A step's status.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Met its expectation and the model.
    Passed,
    /// Did not.
    Failed,
    /// The target does not implement its action.
    Unsupported,
    /// An earlier step ended the scenario.
    NotRun,
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
    /// A scenario ended and has its verdict.
    ScenarioFinished {
        /// The result.
        result: Box<ScenarioResult>,
        /// The verdict after expectations.
        verdict: Verdict,
    },
    /// Every scenario has ended.
    RunFinished,
}

/// Runs scenarios against one endpoint.
pub struct Runner {
    client: Client,
    config: RunConfig,
    totp: Arc<TotpGenerator>,
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
            totp: Arc::new(TotpGenerator::new()),
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
        mut on_event: impl FnMut(Event),
    ) -> Vec<(ScenarioResult, Verdict)> {
        on_event(Event::RunStarted {
            total: scenarios.len(),
        });
        let semaphore = Arc::new(tokio::sync::Semaphore::new(self.config.jobs.max(1)));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for (number, scenario) in scenarios.into_iter().enumerate() {
            let runner = Arc::clone(self);
            let sem = Arc::clone(&semaphore);
            let tx = tx.clone();
            tokio::spawn(async move {
                // The semaphore is never closed, so acquire only fails if it were; then run anyway.
                let _permit = sem.acquire_owned().await.ok();
                let _ = tx.send(Err(scenario.name()));
                let result = runner.run_scenario(&scenario, number).await;
                let _ = tx.send(Ok(result));
            });
        }
        drop(tx);
        let mut out = Vec::new();
        while let Some(msg) = rx.recv().await {
            match msg {
                Err(name) => on_event(Event::ScenarioStarted { name }),
                Ok(result) => {
                    let verdict = expectations.verdict(&result);
                    on_event(Event::ScenarioFinished {
                        result: Box::new(result.clone()),
                        verdict: verdict.clone(),
                    });
                    out.push((result, verdict));
                }
            }
        }
        on_event(Event::RunFinished);
        out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        out
    }

    /// Runs one scenario (its `number` keeps its resource names apart from other scenarios')
    /// and deletes what it created.
    pub async fn run_scenario(&self, scenario: &Scenario, number: usize) -> ScenarioResult {
        let started = Instant::now();
        let missing: Vec<&String> = scenario
            .requires
            .iter()
            .filter(|r| !self.config.capabilities.contains(r))
            .collect();
        let mut steps: Vec<StepResult> = scenario.steps.iter().map(not_run).collect();
        if !missing.is_empty() {
            return self.result(
                scenario,
                Outcome::Skipped {
                    reason: format!(
                        "the target does not offer {}",
                        missing
                            .iter()
                            .map(|s| format!("`{s}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
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
        // here as a failure and the cleanup below still runs.
        let task = {
            let client = self.client.clone();
            let config = self.config.clone();
            let totp = Arc::clone(&self.totp);
            let scenario = scenario.clone();
            let created = Arc::clone(&created);
            tokio::spawn(async move {
                let mut exec = Execution {
                    client: &client,
                    config: &config,
                    totp: &totp,
                    scenario_number: number,
                    captures: BTreeMap::new(),
                    passwords: Mutex::new(BTreeMap::new()),
                    helper_state: Mutex::new(HelperState::default()),
                    created: &created,
                    deferred: None,
                    secrets: Default::default(),
                };
                let mut results = Vec::new();
                let mut outcome = Outcome::Passed;
                for step in &scenario.steps {
                    let (result, step_outcome) = exec.step(step).await;
                    results.push(result);
                    if let Some(o) = step_outcome {
                        outcome = o;
                        break;
                    }
                }
                if let (Outcome::Passed, Some(f)) = (&outcome, exec.deferred.take()) {
                    outcome = Outcome::Failed(f);
                }
                (results, outcome)
            })
        };
        let outcome = match task.await {
            Ok((results, outcome)) => {
                for r in results {
                    let i = r.index;
                    if let Some(slot) = steps.get_mut(i) {
                        *slot = r;
                    }
                }
                outcome
            }
            Err(e) => Outcome::Failed(Failure {
                step: steps
                    .iter()
                    .filter(|s| s.status != StepStatus::NotRun)
                    .count(),
                check: "panic".into(),
                summary: format!("cogcheck panicked while running this scenario: {e}"),
                expected: String::new(),
                actual: String::new(),
                diff: String::new(),
            }),
        };
        let pools: Vec<String> = created.lock().map(|v| v.clone()).unwrap_or_default();
        let cleanup_errors = cleanup(&self.client, &pools).await;
        self.result(scenario, outcome, steps, started, cleanup_errors)
    }

    fn result(
        &self,
        scenario: &Scenario,
        outcome: Outcome,
        steps: Vec<StepResult>,
        started: Instant,
        cleanup_errors: Vec<String>,
    ) -> ScenarioResult {
        let root = crate::repo_path("");
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
            steps,
            duration_ms: started.elapsed().as_millis() as u64,
            cleanup_errors,
        }
    }
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
        violations: Vec::new(),
    }
}

/// The state of one scenario while it runs.
struct Execution<'a> {
    client: &'a Client,
    config: &'a RunConfig,
    totp: &'a TotpGenerator,
    scenario_number: usize,
    captures: BTreeMap<String, Value>,
    passwords: Mutex<BTreeMap<String, String>>,
    helper_state: Mutex<HelperState>,
    created: &'a Mutex<Vec<String>>,
    deferred: Option<Failure>,
    /// Every sensitive value sent or received so far, to scrub from failure texts.
    secrets: std::collections::BTreeSet<String>,
}

/// What a step produced, action or helper alike.
enum Answer {
    Success(Value),
    Error {
        error_type: String,
        message: Option<String>,
        status: Option<u16>,
    },
}

impl Execution<'_> {
    fn scope(&self) -> Scope<'_> {
        Scope {
            captures: &self.captures,
            run_prefix: &self.config.run_prefix,
            scenario_number: self.scenario_number,
            passwords: &self.passwords,
            region: &self.config.region,
        }
    }

    /// Runs one step; the second value is set when the step ends the scenario. Whatever a
    /// failure quotes (error messages, mismatching values, diffs) is scrubbed of every secret
    /// the scenario has seen, so none reaches a results file or a report.
    async fn step(&mut self, step: &Step) -> (StepResult, Option<Outcome>) {
        if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
            let mut result = not_run(step);
            result.status = StepStatus::Failed;
            let outcome = Outcome::Failed(Failure {
                step: step.index,
                check: "interrupted".into(),
                summary: "the run was interrupted".into(),
                expected: String::new(),
                actual: String::new(),
                diff: String::new(),
            });
            return (result, Some(outcome));
        }
        let (mut result, mut outcome) = self.step_unscrubbed(step).await;
        if let Some(within) = step.eventually {
            // An eventually consistent read: what it must show may not be there yet. Only a
            // wrong answer is repeated (not a transport error, nor a model violation, which the
            // first attempt already recorded), every half second, and the last attempt counts.
            let deadline = Instant::now() + within;
            let mut attempts = 1;
            while let Some(Outcome::Failed(f)) = &outcome {
                let repeatable = ["body", "expectation", "error-type"].contains(&f.check.as_str());
                if !repeatable
                    || Instant::now() >= deadline
                    || INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
                {
                    break;
                }
                tokio::time::sleep(EVENTUALLY_INTERVAL.min(deadline - Instant::now())).await;
                (result, outcome) = self.step_unscrubbed(step).await;
                attempts += 1;
            }
            if let Some(Outcome::Failed(f)) = &mut outcome {
                f.summary = format!(
                    "{} (still so after {attempts} attempts over {} ms)",
                    f.summary,
                    within.as_millis()
                );
            }
        }
        if let Some(Outcome::Failed(f)) = &mut outcome {
            self.scrub_failure(f);
        }
        if let Some(mut f) = self.deferred.take() {
            self.scrub_failure(&mut f);
            self.deferred = Some(f);
        }
        (result, outcome)
    }

    /// Remembers the values the model marks sensitive in `raw` (an instance of `shape`).
    fn learn_secrets(&mut self, shape: Option<&str>, raw: &Value) {
        if let Some(shape) = shape {
            let redacted = redact(Some(shape), raw);
            collect_differences(raw, &redacted, &mut self.secrets);
        }
    }

    fn scrub_failure(&self, f: &mut Failure) {
        let passwords: Vec<String> = self
            .passwords
            .lock()
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default();
        let scrub = |text: &str| scrub(text, self.secrets.iter().chain(passwords.iter()));
        f.summary = scrub(&f.summary);
        f.expected = scrub(&f.expected);
        f.actual = scrub(&f.actual);
        f.diff = scrub(&f.diff);
    }

    async fn step_unscrubbed(&mut self, step: &Step) -> (StepResult, Option<Outcome>) {
        let started = Instant::now();
        let mut result = not_run(step);
        let fail =
            |check: &str, summary: String, expected: String, actual: String, diff: String| {
                Some(Outcome::Failed(Failure {
                    step: step.index,
                    check: check.into(),
                    summary,
                    expected,
                    actual,
                    diff,
                }))
            };

        let templated = match &step.kind {
            StepKind::Call { input, .. } => input,
            StepKind::Helper { args, .. } => args,
        };
        let resolved = match self.scope().value(templated) {
            Ok(v) => v,
            Err(e) => {
                result.status = StepStatus::Failed;
                let summary = format!("step {}: {e}", step.index);
                return (
                    result,
                    fail(
                        "template",
                        summary,
                        String::new(),
                        String::new(),
                        String::new(),
                    ),
                );
            }
        };
        let (answer, violations, output_shape) = match &step.kind {
            StepKind::Call { action, .. } => {
                let shape = Model::get()
                    .operation(action)
                    .ok()
                    .and_then(|o| o.input.clone());
                self.learn_secrets(shape.as_deref(), &resolved);
                let input = resolved;
                let response = match self.client.call(action, &input).await {
                    Ok(r) => r,
                    Err(e) => {
                        result.status = StepStatus::Failed;
                        result.duration_ms = started.elapsed().as_millis() as u64;
                        return (
                            result,
                            fail(
                                "transport",
                                format!("{action}: {e}"),
                                "an answer".into(),
                                e.to_string(),
                                String::new(),
                            ),
                        );
                    }
                };
                result.http_status = Some(response.status);
                result.error_type = response.error.as_ref().map(|e| e.error_type.clone());
                result.duration_ms = started.elapsed().as_millis() as u64;
                let expects_this_error = matches!(&step.expect, Expect::Error { types, .. }
                    if response.error.as_ref().is_some_and(|e| types.contains(&e.error_type)));
                let unsupported = checks::is_unsupported(&response)
                    || (response.status >= 500
                        && response.body.is_null()
                        && said_not_implemented(self.config.log_path.as_deref(), action).await);
                if unsupported && !expects_this_error {
                    result.status = StepStatus::Unsupported;
                    return (
                        result,
                        Some(Outcome::Unsupported {
                            action: action.clone(),
                            step: step.index,
                        }),
                    );
                }
                let violations = checks::check_response(Model::get(), action, &response);
                if action == "CreateUserPool" {
                    if let Some(id) = response
                        .body
                        .pointer("/UserPool/Id")
                        .and_then(Value::as_str)
                    {
                        if let Ok(mut c) = self.created.lock() {
                            c.push(id.to_string());
                        }
                    }
                }
                let output = Model::get()
                    .operation(action)
                    .ok()
                    .and_then(|o| o.output.clone());
                self.learn_secrets(output.as_deref(), &response.body);
                let answer = match response.error {
                    Some(e) => Answer::Error {
                        error_type: e.error_type,
                        message: e.message,
                        status: Some(response.status),
                    },
                    None => Answer::Success(response.body),
                };
                (answer, violations, output)
            }
            StepKind::Helper { helper, .. } => {
                let args = resolved;
                let ctx = HelperContext {
                    client: self.client,
                    state: &self.helper_state,
                    totp: self.totp,
                    codes: self.config.codes.as_ref(),
                    log_path: self.config.log_path.as_deref(),
                };
                let answer = match helper.run(&args, &ctx).await {
                    Ok(v) => Answer::Success(v),
                    Err(f) => Answer::Error {
                        error_type: f.error_type,
                        message: Some(f.message),
                        status: None,
                    },
                };
                result.duration_ms = started.elapsed().as_millis() as u64;
                result.error_type = match &answer {
                    Answer::Error { error_type, .. } => Some(error_type.clone()),
                    Answer::Success(_) => None,
                };
                (answer, Vec::new(), None)
            }
        };

        result.status = StepStatus::Failed;
        let label = step.label();
        // The scenario's own expectation first: it says most about what went wrong.
        match (&step.expect, &answer) {
            (Expect::Success { body, body_spec }, Answer::Success(actual)) => {
                if let Some(m) = body {
                    let mut mismatches = Vec::new();
                    m.check(Some(actual), "$", &self.scope(), &mut mismatches);
                    if !mismatches.is_empty() {
                        let redacted = redact(output_shape.as_deref(), actual);
                        let spec = body_spec.clone().unwrap_or(Value::Null);
                        let projected = project(&redacted, &spec);
                        return (
                            result,
                            fail(
                                "body",
                                format!("{label}: {}", summarize(&mismatches)),
                                pretty(&spec),
                                pretty(&projected),
                                diff(&pretty(&spec), &pretty(&projected)),
                            ),
                        );
                    }
                }
            }
            (
                Expect::Success { .. },
                Answer::Error {
                    error_type,
                    message,
                    status,
                },
            ) => {
                let actual = describe_error(error_type, message.as_deref(), *status);
                return (
                    result,
                    fail(
                        "expectation",
                        format!("{label}: expected success, got {actual}"),
                        "success".into(),
                        actual,
                        String::new(),
                    ),
                );
            }
            (Expect::Error { types, .. }, Answer::Success(actual)) => {
                let redacted = redact(output_shape.as_deref(), actual);
                return (
                    result,
                    fail(
                        "expectation",
                        format!("{label}: expected {}, got success", types.join(" or ")),
                        types.join(" or "),
                        pretty(&redacted),
                        String::new(),
                    ),
                );
            }
            (
                Expect::Error {
                    types,
                    message: want_msg,
                    status: want_status,
                },
                Answer::Error {
                    error_type,
                    message,
                    status,
                },
            ) => {
                let actual = describe_error(error_type, message.as_deref(), *status);
                if !types.contains(error_type) {
                    return (
                        result,
                        fail(
                            "error-type",
                            format!("{label}: expected {}, got {actual}", types.join(" or ")),
                            types.join(" or "),
                            actual,
                            String::new(),
                        ),
                    );
                }
                if let Some((pattern, re)) = want_msg {
                    let text = message.as_deref().unwrap_or("");
                    if !re.is_match(text).unwrap_or(false) {
                        return (
                            result,
                            fail(
                                "message",
                                format!("{label}: message {text:?} does not match /{pattern}/"),
                                format!("/{pattern}/"),
                                actual,
                                String::new(),
                            ),
                        );
                    }
                }
                if let (Some(want), Some(got)) = (want_status, status) {
                    let ok = match want.as_str() {
                        "4xx" => (400..500).contains(got),
                        "5xx" => (500..600).contains(got),
                        exact => exact == got.to_string(),
                    };
                    if !ok {
                        return (
                            result,
                            fail(
                                "status",
                                format!("{label}: expected status {want}, got {got}"),
                                want.clone(),
                                got.to_string(),
                                String::new(),
                            ),
                        );
                    }
                }
            }
        }
        // Then the model and the protocol, which every answer must satisfy. A violation fails
        // the step, but the scenario goes on: a wrong content type on every error must not hide
        // what the target does at later steps. The scenario's outcome is its first behaviour
        // failure, else its first violation.
        if let Some(v) = violations.first() {
            let all: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
            if self.deferred.is_none() {
                self.deferred = Some(Failure {
                    step: step.index,
                    check: v.check.to_string(),
                    summary: format!("{label}: {v}"),
                    expected: "an answer that conforms to the service model and awsJson1_1".into(),
                    actual: all.join("\n"),
                    diff: String::new(),
                });
            }
            result.violations = all;
        }
        if let Answer::Success(body) = &answer {
            for (name, raw, path) in &step.save {
                match path.query(body).first() {
                    Some(v) => {
                        self.captures.insert(name.clone(), v.clone());
                    }
                    None => {
                        let redacted = redact(output_shape.as_deref(), body);
                        return (
                            result,
                            fail(
                                "capture",
                                format!("{label}: save `{name}`: {raw} matched nothing"),
                                raw.clone(),
                                pretty(&redacted),
                                String::new(),
                            ),
                        );
                    }
                }
            }
        }
        result.status = if result.violations.is_empty() {
            StepStatus::Passed
        } else {
            StepStatus::Failed
        };
        (result, None)
    }
}

/// moto answers an action it lacks with a bare HTML 500 and names the reason only in its log:
/// `NotImplementedError: The get_user_auth_factors action has not been implemented`. Its web
/// server writes that line just after sending the answer, so look again for a while.
async fn said_not_implemented(log: Option<&std::path::Path>, action: &str) -> bool {
    let Some(log) = log else { return false };
    let mut snake = String::new();
    for (i, c) in action.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    let needle = format!("The {snake} action has not been implemented");
    // Up to 3 s: on a loaded machine the line can lag, and a miss would turn "unsupported"
    // into a spurious failure. Only 5xx answers without a JSON body ever wait here.
    for _ in 0..60 {
        let found = std::fs::read(log)
            .map(|bytes| String::from_utf8_lossy(&bytes).contains(&needle))
            .unwrap_or(false);
        if found {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn describe_error(error_type: &str, message: Option<&str>, status: Option<u16>) -> String {
    let mut s = error_type.to_string();
    if let Some(st) = status {
        s = format!("{s} (HTTP {st})");
    }
    if let Some(m) = message {
        s = format!("{s}: {m}");
    }
    s
}

fn summarize(mismatches: &[Mismatch]) -> String {
    let first = mismatches
        .first()
        .map(|m| m.to_string())
        .unwrap_or_default();
    match mismatches.len() {
        0 | 1 => first,
        n => format!("{first} (and {} more)", n - 1),
    }
}

/// Replaces every value the model marks sensitive, so secrets never reach a report.
pub fn redact(shape: Option<&str>, body: &Value) -> Value {
    let mut out = body.clone();
    if let Some(shape) = shape {
        Model::get().redact_sensitive(shape, &mut out, &mut |_| Value::String("<redacted>".into()));
    }
    out
}

/// Collects the strings of `raw` that redaction replaced.
fn collect_differences(
    raw: &Value,
    redacted: &Value,
    out: &mut std::collections::BTreeSet<String>,
) {
    match (raw, redacted) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                if let Some(w) = b.get(k) {
                    collect_differences(v, w, out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (v, w) in a.iter().zip(b) {
                collect_differences(v, w, out);
            }
        }
        (Value::String(s), other) if other != raw && !s.is_empty() => {
            out.insert(s.clone());
        }
        _ => {}
    }
}

/// Replaces every known secret, and anything shaped like a JWT, in a text.
pub fn scrub<'a>(text: &str, secrets: impl Iterator<Item = &'a String>) -> String {
    let mut out = text.to_string();
    // Longest first, so a secret that contains another is replaced whole.
    let mut secrets: Vec<&String> = secrets.filter(|s| s.len() >= 4).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "<redacted>");
        }
        // Inside JSON text a secret may appear escaped.
        let escaped = serde_json::to_string(s).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        if escaped != s.as_str() && out.contains(escaped) {
            out = out.replace(escaped, "<redacted>");
        }
    }
    scrub_tokens(&out)
}

/// Replaces anything that looks like a JWT (`eyJ…`, the base64url of `{"`) with a marker, so a
/// token that slipped past the results' redaction never reaches a published report.
pub fn scrub_tokens(text: &str) -> String {
    if !text.contains("eyJ") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("eyJ") {
        out.push_str(&rest[..at]);
        let token = &rest[at..];
        let len = token
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .unwrap_or(token.len());
        out.push_str("<redacted: token>");
        rest = &token[len..];
    }
    out.push_str(rest);
    out
}

/// The parts of `actual` that `spec` talks about, so a diff shows only what matters.
fn project(actual: &Value, spec: &Value) -> Value {
    match (actual, spec) {
        (Value::Object(a), Value::Object(s)) if !s.keys().any(|k| k.starts_with('$')) => {
            let mut out = serde_json::Map::new();
            for k in s.keys() {
                if let Some(v) = a.get(k) {
                    out.insert(k.clone(), project(v, &s[k]));
                }
            }
            Value::Object(out)
        }
        (Value::Array(a), Value::Array(s)) if a.len() == s.len() => {
            Value::Array(a.iter().zip(s).map(|(a, s)| project(a, s)).collect())
        }
        _ => actual.clone(),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// A unified diff of two texts, rendered with `similar`.
pub fn diff(expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}

/// Deletes user pools a scenario created: first the domain a pool still has (Cognito refuses
/// to delete a pool with a domain), then deletion protection, then the pool. Returns what
/// could not be deleted.
pub async fn cleanup(client: &Client, pools: &[String]) -> Vec<String> {
    let mut errors = Vec::new();
    for id in pools {
        if let Err(e) = delete_pool(client, id).await {
            errors.push(format!("{id}: {e}"));
        }
    }
    errors
}

/// Deletes one user pool with whatever blocks its deletion.
pub async fn delete_pool(client: &Client, id: &str) -> Result<(), String> {
    let describe = client
        .call("DescribeUserPool", &serde_json::json!({ "UserPoolId": id }))
        .await
        .map_err(|e| e.to_string())?;
    if describe
        .error
        .as_ref()
        .is_some_and(|e| e.error_type == "ResourceNotFoundException")
    {
        return Ok(()); // the scenario deleted it itself
    }
    let pool = describe
        .body
        .get("UserPool")
        .cloned()
        .unwrap_or(Value::Null);
    for key in ["Domain", "CustomDomain"] {
        if let Some(domain) = pool.get(key).and_then(Value::as_str) {
            let _ = client
                .call(
                    "DeleteUserPoolDomain",
                    &serde_json::json!({ "UserPoolId": id, "Domain": domain }),
                )
                .await;
        }
    }
    if pool.get("DeletionProtection").and_then(Value::as_str) == Some("ACTIVE") {
        let _ = client
            .call(
                "UpdateUserPool",
                &serde_json::json!({ "UserPoolId": id, "DeletionProtection": "INACTIVE" }),
            )
            .await;
    }
    // A pool can be busy for a moment after a change on real Cognito; retry briefly.
    for attempt in 0..3 {
        let r = client
            .call("DeleteUserPool", &serde_json::json!({ "UserPoolId": id }))
            .await
            .map_err(|e| e.to_string())?;
        match &r.error {
            None => return Ok(()),
            Some(e) if e.error_type == "ResourceNotFoundException" => return Ok(()),
            Some(e) if attempt == 2 => return Err(e.to_string()),
            Some(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
    Ok(())
}

/// Deletes every user pool whose name starts with `prefix` (leftovers of interrupted runs),
/// page by page. Returns how many were deleted and what could not be.
pub async fn sweep(client: &Client, prefix: &str) -> crate::error::Result<(usize, Vec<String>)> {
    let mut doomed = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = serde_json::json!({ "MaxResults": 60 });
        if let Some(t) = &token {
            input["NextToken"] = Value::String(t.clone());
        }
        let r = client.call("ListUserPools", &input).await?;
        if let Some(e) = r.error {
            return Err(crate::Error::Transport {
                endpoint: client.endpoint().to_string(),
                message: format!("ListUserPools failed: {e}"),
            });
        }
        for p in r.body["UserPools"].as_array().into_iter().flatten() {
            if p["Name"].as_str().is_some_and(|n| n.starts_with(prefix)) {
                if let Some(id) = p["Id"].as_str() {
                    doomed.push(id.to_string());
                }
            }
        }
        token = r.body["NextToken"].as_str().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let errors = cleanup(client, &doomed).await;
    Ok((doomed.len() - errors.len(), errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_secrets_escaped_or_not_and_jwts() {
        let secrets = [
            "Cg1!s3cr\"et".to_string(),
            "client-secret-value".to_string(),
        ];
        let text = r#"got {"Password":"Cg1!s3cr\"et","S":"client-secret-value","T":"eyJhbGciOi.eyJzdWIi.sig"} and Cg1!s3cr"et"#;
        let out = scrub(text, secrets.iter());
        assert!(!out.contains("s3cr"), "{out}");
        assert!(!out.contains("client-secret-value"), "{out}");
        assert!(!out.contains("eyJ"), "{out}");
        assert!(
            out.contains("<redacted: token>") && out.contains("<redacted>"),
            "{out}"
        );
    }

    #[test]
    fn differences_are_the_redacted_strings() {
        let raw =
            serde_json::json!({"AuthenticationResult": {"AccessToken": "tok", "ExpiresIn": 3600}});
        let red = redact(Some("InitiateAuthResponse"), &raw);
        let mut out = Default::default();
        collect_differences(&raw, &red, &mut out);
        assert!(out.contains("tok"));
        assert_eq!(out.len(), 1);
    }
}
