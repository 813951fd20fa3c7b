//! One step of a scenario: resolve its templates, call the action (or run the helper), judge
//! the answer ([`crate::checks`]) and save captures.
//!
//! A step never ends the scenario because of a finding. It stops the scenario only when the
//! scenario cannot go on: no answer at all, a value later steps need was not captured, or
//! the target does not implement the action.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::Value;

use super::{not_run, RunConfig, EVENTUALLY_INTERVAL, INTERRUPTED};
use crate::checks::{self, StepAnswer, StepContext};
use crate::client::Client;
use crate::clock::RunClock;
use crate::finding::{Axis, CheckKind, Finding, Severity, StepResult, StepStatus};
use crate::model::Model;
use crate::protocol::totp::TotpGenerator;
use crate::scenario::helper_step::{HelperContext, HelperState};
use crate::scenario::template::Scope;
use crate::scenario::{Expect, Step, StepKind};
use crate::secrets::{collect_differences, redact, scrub};
use crate::wire;

/// Why a scenario cannot go on after a step.
pub(super) enum Stop {
    /// The target does not implement the step's action.
    Unsupported {
        /// The action.
        action: String,
        /// How the target said so.
        answer: String,
    },
    /// No answer, or no value for later steps.
    CannotGoOn {
        /// What is missing.
        reason: String,
    },
}

/// What one step did.
pub(super) struct StepRun {
    pub record: StepResult,
    pub findings: Vec<Finding>,
    pub stop: Option<Stop>,
}

/// The state of one scenario while it runs.
pub(super) struct Execution<'a> {
    pub client: &'a Client,
    pub config: &'a RunConfig,
    pub totp: &'a TotpGenerator<RunClock>,
    pub scenario_number: usize,
    /// The scenario's source: the evidence behind its behaviour findings.
    pub source: &'a str,
    pub captures: BTreeMap<String, Value>,
    pub passwords: Mutex<BTreeMap<String, String>>,
    pub helper_state: Mutex<HelperState>,
    pub created: &'a Mutex<Vec<String>>,
    /// Every sensitive value sent or received so far, to scrub from what findings quote.
    pub secrets: BTreeSet<String>,
    /// Sees (and may change) every answer of an action step.
    pub hook: Option<std::sync::Arc<dyn super::AnswerHook>>,
}

/// Behaviour checks an `eventually_ms` read repeats on: a wrong answer that may still turn
/// right. Shape and protocol findings are not repeated away.
const REPEATABLE: &[CheckKind] = &[CheckKind::Body, CheckKind::Outcome, CheckKind::ErrorType];

impl Execution<'_> {
    fn scope(&self) -> Scope<'_> {
        Scope {
            captures: &self.captures,
            run_prefix: &self.config.run_prefix,
            scenario_number: self.scenario_number,
            passwords: &self.passwords,
            region: &self.config.region,
            sms_role: self.config.sms_role.as_ref(),
        }
    }

    /// Runs one step. Whatever a finding quotes (error messages, mismatching values, diffs) is
    /// scrubbed of every secret the scenario has seen, so none reaches a results file or a
    /// report.
    pub async fn step(&mut self, step: &Step) -> StepRun {
        if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
            let reason = "the run was interrupted".to_string();
            return StepRun {
                record: not_run(step),
                findings: vec![self.stop_finding(step, CheckKind::Interrupted, &reason)],
                stop: Some(Stop::CannotGoOn { reason }),
            };
        }
        let started = Instant::now();
        let mut run = self.attempt(step).await;
        if let Some(within) = step.eventually {
            // An eventually consistent read: what it must show may not be there yet. Only a
            // wrong answer is repeated, every half second, and the last attempt is judged.
            let clock = &self.config.clock;
            let deadline = clock.now() + within;
            let mut attempts = 1;
            let repeatable = |r: &StepRun| {
                r.stop.is_none()
                    && r.findings
                        .iter()
                        .any(|f| f.axis == Axis::Behaviour && REPEATABLE.contains(&f.check))
            };
            while repeatable(&run)
                && clock.now() < deadline
                && !INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
            {
                clock
                    .sleep(EVENTUALLY_INTERVAL.min(deadline - clock.now()))
                    .await;
                run = self.attempt(step).await;
                attempts += 1;
            }
            run.record.attempts = attempts;
            // The step lasted as long as the target took to show what it must (or until the
            // bound): every attempt and the pauses between them, not the last attempt alone.
            run.record.duration_ms = started.elapsed().as_millis() as u64;
            for f in run
                .findings
                .iter_mut()
                .filter(|f| f.axis == Axis::Behaviour)
            {
                f.summary = format!(
                    "{} (still so after {attempts} attempts over {} ms)",
                    f.summary,
                    within.as_millis()
                );
            }
        }
        let passwords: Vec<String> = self
            .passwords
            .lock()
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default();
        for f in &mut run.findings {
            let clean = |text: &str| scrub(text, self.secrets.iter().chain(passwords.iter()));
            f.summary = clean(&f.summary);
            f.expected = clean(&f.expected);
            f.actual = clean(&f.actual);
            f.diff = clean(&f.diff);
        }
        run
    }

    /// Remembers the values the model marks sensitive in `raw` (an instance of `shape`).
    fn learn_secrets(&mut self, shape: Option<&str>, raw: &Value) {
        if let Some(shape) = shape {
            let redacted = redact(Some(shape), raw);
            collect_differences(raw, &redacted, &mut self.secrets);
        }
    }

    /// The behaviour finding that says why the scenario cannot go on.
    fn stop_finding(&self, step: &Step, check: CheckKind, reason: &str) -> Finding {
        Finding {
            step: Some(step.index),
            action: match &step.kind {
                StepKind::Call { action, .. } => Some(action.clone()),
                StepKind::Helper { .. } => None,
            },
            axis: Axis::Behaviour,
            severity: step.severity.unwrap_or(Severity::Functional),
            check,
            path: "-".into(),
            summary: format!("{}: {reason}", step.label()),
            expected: String::new(),
            actual: String::new(),
            diff: String::new(),
            source: self.source.into(),
            evidence: step.evidence.step.clone(),
        }
    }

    async fn attempt(&mut self, step: &Step) -> StepRun {
        let started = Instant::now();
        let mut record = not_run(step);
        record.attempts = 1;
        let templated = match &step.kind {
            StepKind::Call { input, .. } => input,
            StepKind::Helper { args, .. } => args,
        };
        let resolved = match self.scope().value(templated) {
            Ok(v) => v,
            Err(e) => {
                record.status = StepStatus::Deviated;
                let reason = format!("cannot build the request: {e}");
                return StepRun {
                    record,
                    findings: vec![self.stop_finding(step, CheckKind::Template, &reason)],
                    stop: Some(Stop::CannotGoOn { reason }),
                };
            }
        };
        let mut findings = Vec::new();
        let (answer, output_shape) = match &step.kind {
            StepKind::Call { action, .. } => {
                let model = Model::get();
                let input_shape = model.operation(action).ok().and_then(|o| o.input.clone());
                self.learn_secrets(input_shape.as_deref(), &resolved);
                let called = match &self.hook {
                    None => self.client.call(action, &resolved).await,
                    Some(hook) => {
                        self.client
                            .call_mapped(action, &resolved, |raw| {
                                hook.answer(step.index, action, raw)
                            })
                            .await
                    }
                };
                let response = match called {
                    Ok(r) => r,
                    Err(e) => {
                        record.status = StepStatus::Deviated;
                        record.duration_ms = started.elapsed().as_millis() as u64;
                        let reason = format!("no answer: {e}");
                        return StepRun {
                            record,
                            findings: vec![self.stop_finding(step, CheckKind::Transport, &reason)],
                            stop: Some(Stop::CannotGoOn { reason }),
                        };
                    }
                };
                record.http_status = Some(response.status);
                record.error_type = response.error.as_ref().map(|e| e.error_type.clone());
                record.duration_ms = started.elapsed().as_millis() as u64;
                if record.error_type.as_deref() == Some(wire::REPLAY_MISS_ERROR) {
                    let reason = format!(
                        "not in the snapshot: {}",
                        response
                            .error
                            .as_ref()
                            .and_then(|e| e.message.as_deref())
                            .unwrap_or("replay found no recorded request like this one")
                    );
                    return StepRun {
                        record,
                        findings: vec![self.stop_finding(step, CheckKind::NotInSnapshot, &reason)],
                        stop: Some(Stop::CannotGoOn { reason }),
                    };
                }
                let expects_this_error = matches!(&step.expect, Expect::Error { types, .. }
                    if response.error.as_ref().is_some_and(|e| types.contains(&e.error_type)));
                let said = checks::is_unsupported(&response);
                let logged = !said
                    && response.status >= 500
                    && response.body.is_null()
                    && said_not_implemented(self.config, action).await;
                if (said || logged) && !expects_this_error {
                    record.status = StepStatus::Unsupported;
                    let answer = match &response.error {
                        _ if logged => format!(
                            "HTTP {} and logs that the action has not been implemented",
                            response.status
                        ),
                        Some(e) if !wire::is_untyped_error(&e.error_type) => {
                            format!("HTTP {} {}", response.status, e.error_type)
                        }
                        Some(_) | None => format!("HTTP {}", response.status),
                    };
                    return StepRun {
                        record,
                        findings,
                        stop: Some(Stop::Unsupported {
                            action: action.clone(),
                            answer,
                        }),
                    };
                }
                findings.extend(checks::shape_and_protocol(
                    model,
                    action,
                    &response,
                    Some(step.index),
                ));
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
                let output = model.operation(action).ok().and_then(|o| o.output.clone());
                self.learn_secrets(output.as_deref(), &response.body);
                let answer = match response.error {
                    Some(e) => StepAnswer::Error {
                        error_type: e.error_type,
                        message: e.message,
                        status: Some(response.status),
                    },
                    None => StepAnswer::Success(response.body),
                };
                (answer, output)
            }
            StepKind::Helper { helper, .. } => {
                let ctx = HelperContext {
                    client: self.client,
                    state: &self.helper_state,
                    totp: self.totp,
                    clock: &self.config.clock,
                    codes: self.config.codes.as_ref(),
                    log_path: self.config.log_path.as_deref(),
                };
                let answer = match helper.run(&resolved, &ctx).await {
                    Ok(v) => StepAnswer::Success(v),
                    Err(f) => StepAnswer::Error {
                        error_type: f.error_type,
                        message: Some(f.message),
                        status: None,
                    },
                };
                record.duration_ms = started.elapsed().as_millis() as u64;
                record.error_type = match &answer {
                    StepAnswer::Error { error_type, .. } => Some(error_type.clone()),
                    StepAnswer::Success(_) => None,
                };
                (answer, None)
            }
        };

        let label = step.label();
        let ctx = StepContext {
            step: step.index,
            label: &label,
            action: match &step.kind {
                StepKind::Call { action, .. } => Some(action),
                StepKind::Helper { .. } => None,
            },
            severity: step.severity,
            source: self.source,
            output_shape: output_shape.as_deref(),
            evidence: Some(&step.evidence),
        };
        // The scenario's expectation first: it says most about what went wrong.
        let mut behaviour = checks::behaviour(&ctx, &step.expect, &answer, &self.scope());
        behaviour.append(&mut findings);
        let mut findings = behaviour;

        // Captures: what later steps need. Without them the scenario cannot go on.
        let mut stop = None;
        match &answer {
            StepAnswer::Success(body) => {
                for (name, raw, path) in &step.save {
                    match path.query(body).first() {
                        Some(v) => {
                            self.captures.insert(name.clone(), v.clone());
                        }
                        None => {
                            let reason = format!("save `{name}`: {raw} matched nothing");
                            let mut f = self.stop_finding(step, CheckKind::Capture, &reason);
                            f.path = raw.clone();
                            f.actual = checks::pretty(&redact(output_shape.as_deref(), body));
                            findings.push(f);
                            stop = Some(Stop::CannotGoOn { reason });
                            break;
                        }
                    }
                }
            }
            StepAnswer::Error { error_type, .. } if !step.save.is_empty() => {
                // The outcome finding above already says what went wrong; this says why the
                // scenario ends here.
                let names: Vec<&str> = step.save.iter().map(|(n, _, _)| n.as_str()).collect();
                stop = Some(Stop::CannotGoOn {
                    reason: format!(
                        "{label} answered {error_type}, so {} could not be saved for later steps",
                        names.join(", ")
                    ),
                });
            }
            StepAnswer::Error { .. } => {}
        }
        record.status = if findings.is_empty() {
            StepStatus::Passed
        } else {
            StepStatus::Deviated
        };
        StepRun {
            record,
            findings,
            stop,
        }
    }
}

/// Whether the target wrote its `unsupported_log` line for `action`: moto answers an action it
/// lacks with a bare HTML 500 and names the reason only in its log (`NotImplementedError: The
/// get_user_auth_factors action has not been implemented`). Its web server writes that line
/// just after sending the answer, so look again for a while, once per action and run (a
/// replay's notes answer at once, see [`RunConfig::log_verdicts`]).
async fn said_not_implemented(config: &RunConfig, action: &str) -> bool {
    if let Some(verdict) = config
        .log_verdicts
        .lock()
        .ok()
        .and_then(|v| v.get(action).copied())
    {
        return verdict;
    }
    let (Some(log), Some(template)) = (config.log_path.as_deref(), &config.unsupported_log) else {
        return false;
    };
    let needle = crate::target::TargetSpec::unsupported_line(template, action);
    // Up to 3 s: on a loaded machine the line can lag, and a miss would turn "unsupported"
    // into a spurious failure. Only 5xx answers without a JSON body ever wait here.
    let mut found = false;
    for _ in 0..60 {
        found = std::fs::read(log)
            .map(|bytes| String::from_utf8_lossy(&bytes).contains(&needle))
            .unwrap_or(false);
        if found {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    if let Ok(mut verdicts) = config.log_verdicts.lock() {
        verdicts.insert(action.to_string(), found);
    }
    found
}
