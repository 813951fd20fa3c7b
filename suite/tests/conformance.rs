//! The conformance suite as ordinary tests: one libtest-mimic trial per scenario, named
//! `<area>::<id>`, so `cargo test -- users::` filters, `--list` works, and nextest runs it.
//!
//! The target (default moto; `COGCHECK_TARGET`, `COGCHECK_ENDPOINT`) is started on first use,
//! not at listing time, and stopped when the trials end. Only `fail`, `changed` and
//! `unexpected_pass` verdicts fail a trial: of the behaviour axis by default, of every axis with
//! `COGCHECK_STRICT=1`. Expected failures, unsupported actions and skipped scenarios are shown
//! as `ignored` with their reason (`ignored (expected failure: …)`), never as `ok`, and counted
//! in a verdict line after libtest's own summary. A run that cannot judge anything (the
//! endpoint does not implement CreateUserPool, or most scenarios reach unimplemented
//! operations) fails as a harness error naming the likely cause.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use cogcheck::expectations::{Strictness, Verdict};
use cogcheck::finding::{Axis, ScenarioResult};
use cogcheck::run::Runner;
use cogcheck::scenario::{self, Scenario};
use cogcheck::session::{Session, SessionOptions};
use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// What every trial shares: one runtime, one target, one runner.
struct Shared {
    runtime: tokio::runtime::Runtime,
    session: Mutex<Session>,
    runner: Arc<Runner>,
}

static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();
static NUMBER: AtomicUsize = AtomicUsize::new(0);
static RESULTS: Mutex<Vec<(ScenarioResult, Verdict)>> = Mutex::new(Vec::new());

fn shared() -> Result<&'static Shared, Failed> {
    let s = SHARED.get_or_init(|| {
        let session = Session::open(SessionOptions {
            jobs: 1,
            ..Default::default()
        })
        .map_err(|e| format!("cannot reach the target: {e}"))?;
        eprintln!(
            "conformance: target {} {} at {}",
            session.info.name, session.info.version, session.info.endpoint
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        let runner = Arc::new(Runner::new(session.client.clone(), session.config.clone()));
        // Against real Cognito an interrupted run must still delete what it created; a local
        // emulator is stopped by the handler Session::open installed.
        if session.is_remote() {
            runtime.spawn(Session::delete_run_on_interrupt(
                session.client.clone(),
                session.config.run_prefix.clone(),
            ));
        }
        Ok(Shared {
            runtime,
            session: Mutex::new(session),
            runner,
        })
    });
    s.as_ref().map_err(|e| Failed::from(e.as_str()))
}

fn run_trial(scenario: &Scenario) -> Result<Completion, Failed> {
    let shared = shared()?;
    let number = NUMBER.fetch_add(1, Ordering::SeqCst);
    let result = shared
        .runtime
        .block_on(shared.runner.run_scenario(scenario, number));
    let strictness = Strictness::from_env();
    let judgement = {
        let session = shared
            .session
            .lock()
            .map_err(|_| Failed::from("session lock poisoned"))?;
        session.expectations.judge(&result, strictness)
    };
    if let Ok(mut v) = RESULTS.lock() {
        v.push((result.clone(), judgement.verdict.clone()));
    }
    if let Some(problem) = cogcheck::run::harness_problem(std::slice::from_ref(&result)) {
        return Err(format!("harness error: {problem}").into());
    }
    let detail = || {
        let mut lines = Vec::new();
        for axis in Axis::ALL {
            for f in judgement.new_findings(&result, axis) {
                lines.push(format!("new: {}", f.headline()));
                if !f.diff.is_empty() {
                    lines.push(f.diff.clone());
                } else if !f.actual.is_empty() {
                    lines.push(format!("expected: {}\nactual: {}", f.expected, f.actual));
                }
            }
        }
        for s in &judgement.stale {
            lines.push(format!("no longer happens: {s}"));
        }
        lines.join("\n")
    };
    match &judgement.verdict {
        Verdict::Pass => Ok(Completion::Completed),
        Verdict::Fail { note } => Err(format!("{note}\n{}", detail()).into()),
        Verdict::Changed { note } => {
            Err(format!("a known failure changed: {note}\n{}", detail()).into())
        }
        Verdict::UnexpectedPass { reason } => Err(format!(
            "{reason}\nfixtures/expectations lists a deviation that did not happen: remove the entry or run `cogcheck run --update-expectations`\n{}",
            detail()
        )
        .into()),
        Verdict::ExpectedFailure { reason } => Ok(Completion::ignored_with(format!(
            "expected failure: {}",
            one_line(reason)
        ))),
        Verdict::Unsupported { action, reason } => Ok(Completion::ignored_with(format!(
            "unsupported: {action}: {reason}"
        ))),
        Verdict::Skipped { reason } => Ok(Completion::ignored_with(format!("skipped: {reason}"))),
        Verdict::NotInSnapshot { reason } => Err(format!(
            "not in the snapshot: {reason}\nthe scenario changed after the recording; record the snapshot again"
        )
        .into()),
    }
}

/// A reason short enough for one line of test output; the expectations file keeps it whole.
fn one_line(reason: &str) -> String {
    const MAX: usize = 240;
    match reason.char_indices().nth(MAX) {
        None => reason.to_string(),
        Some((at, _)) => format!("{}… (all reasons: fixtures/expectations)", &reason[..at]),
    }
}

fn main() {
    let args = Arguments::from_args();
    // The library's log events (the cleanup after Ctrl-C against a remote target, a signal
    // handler that could not be installed) reach stderr here as they do from `cogcheck`.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .try_init();
    let trials: Vec<Trial> = match scenario::load_dir(&scenario::default_dir()) {
        Ok(scenarios) => scenarios
            .into_iter()
            .map(|s| {
                let name = s.name();
                Trial::ignorable_test(name, move || run_trial(&s))
            })
            .collect(),
        // Every problem in every file, as one failing trial, before anything runs.
        Err(errors) => {
            let text = errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n");
            vec![Trial::test("scenarios::load", move || {
                Err(text.clone().into())
            })]
        }
    };
    // Reach the target before any trial runs, so a wrong endpoint or a target that cannot
    // start gives one clear error instead of one per scenario. Listing, or a filter that
    // selects no scenario (`cargo test some_unit_test`), starts nothing.
    let selects_any = trials.iter().any(|t| match &args.filter {
        None => true,
        Some(f) if args.exact => t.name() == f,
        Some(f) => t.name().contains(f.as_str()),
    });
    if !args.list && selects_any {
        if let Err(e) = shared() {
            eprintln!(
                "conformance: {}",
                e.message().unwrap_or("cannot reach the target")
            );
            std::process::exit(101);
        }
    }
    let scenario_count = trials.len();
    let conclusion = libtest_mimic::run(&args, trials);
    if cogcheck::run::INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
        // The cleanup task deletes the run's pools and exits with 130; wait for it.
        std::thread::sleep(std::time::Duration::from_secs(60));
    }

    if let Some(Ok(shared)) = SHARED.get() {
        if let Ok(mut session) = shared.session.lock() {
            if let Err(e) = session.stop() {
                eprintln!("conformance: stopping the target failed: {e}");
            }
        }
    }
    let mut harness_failed = false;
    if let Ok(v) = RESULTS.lock() {
        if !v.is_empty() {
            let mut counts = std::collections::BTreeMap::<&str, usize>::new();
            for (_, verdict) in v.iter() {
                *counts.entry(verdict.name()).or_default() += 1;
            }
            let n = |k: &str| counts.get(k).copied().unwrap_or(0);
            let target = SHARED
                .get()
                .and_then(|s| s.as_ref().ok())
                .and_then(|s| s.session.lock().ok().map(|s| s.info.clone()));
            let (name, version) = target
                .as_ref()
                .map_or(("?", "?"), |t| (t.name.as_str(), t.version.as_str()));
            let decided = match Strictness::from_env() {
                Strictness::Behaviour => "behaviour verdicts; COGCHECK_STRICT=1 judges every axis",
                Strictness::Strict => "strict: every axis",
            };
            eprintln!(
                "conformance against {name} {version} ({decided}): {} passed, {} failed, {} changed, {} unexpected passes, {} expected failures, {} unsupported, {} skipped",
                n("pass"),
                n("fail"),
                n("changed"),
                n("unexpected_pass"),
                n("expected_failure"),
                n("unsupported"),
                n("skipped"),
            );
            let results: Vec<ScenarioResult> = v.iter().map(|(r, _)| r.clone()).collect();
            if let Some(problem) = cogcheck::run::harness_problem(&results) {
                eprintln!("conformance: harness error: {problem}");
                harness_failed = true;
            }
            // Only a run of every scenario can tell that an action listed unsupported is now
            // implemented: a filter (or nextest's one process per test) may leave out the very
            // scenario the target refuses.
            let whole_run = results.len() == scenario_count;
            if let (true, Some(Ok(shared))) = (whole_run, SHARED.get()) {
                if let Ok(session) = shared.session.lock() {
                    for action in session.expectations.now_implemented(&results) {
                        eprintln!(
                            "conformance: NOW IMPLEMENTED {action}: listed as unsupported in fixtures/expectations/{name}.json but answered; remove it from `unsupported`"
                        );
                        harness_failed = true;
                    }
                }
            }
        }
    }
    if harness_failed && !conclusion.has_failed() {
        std::process::exit(101);
    }
    conclusion.exit();
}
