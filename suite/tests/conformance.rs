//! The conformance suite as ordinary tests: one libtest-mimic trial per scenario, named
//! `<area>::<id>`, so `cargo test -- users::` filters, `--list` works, and nextest runs it.
//!
//! The target (default moto; `COGCHECK_TARGET`, `COGCHECK_ENDPOINT`) is started on first use,
//! not at listing time, and stopped when the trials end. Only `fail`, `changed` and
//! `unexpected_pass` verdicts fail a trial; expected failures, unsupported actions and skipped
//! scenarios pass it and are counted in a verdict line after libtest's own summary.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use cogcheck::expectations::Verdict;
use cogcheck::run::{Outcome, Runner};
use cogcheck::scenario::{self, Scenario};
use cogcheck::session::{Session, SessionOptions};
use libtest_mimic::{Arguments, Failed, Trial};

/// What every trial shares: one runtime, one target, one runner.
struct Shared {
    runtime: tokio::runtime::Runtime,
    session: Mutex<Session>,
    runner: Arc<Runner>,
}

static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();
static NUMBER: AtomicUsize = AtomicUsize::new(0);
static VERDICTS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

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

fn run_trial(scenario: &Scenario) -> Result<(), Failed> {
    let shared = shared()?;
    let number = NUMBER.fetch_add(1, Ordering::SeqCst);
    let result = shared
        .runtime
        .block_on(shared.runner.run_scenario(scenario, number));
    let verdict = {
        let session = shared
            .session
            .lock()
            .map_err(|_| Failed::from("session lock poisoned"))?;
        session.expectations.verdict(&result)
    };
    if let Ok(mut v) = VERDICTS.lock() {
        v.push((result.name.clone(), verdict.name().to_string()));
    }
    let detail = match &result.outcome {
        Outcome::Failed(f) => {
            let mut s = format!("step {} [{}]: {}", f.step, f.check, f.summary);
            if !f.diff.is_empty() {
                s = format!("{s}\n{}", f.diff);
            } else if !f.actual.is_empty() {
                s = format!("{s}\nexpected: {}\nactual: {}", f.expected, f.actual);
            }
            s
        }
        _ => String::new(),
    };
    match verdict {
        Verdict::Fail => Err(detail.into()),
        Verdict::Changed { note } => Err(format!("a known failure changed: {note}\n{detail}").into()),
        Verdict::UnexpectedPass { reason } => Err(format!(
            "passed, but fixtures/expectations lists it as a known failure ({reason}); remove the entry or run `cogcheck run --update-expectations`"
        )
        .into()),
        Verdict::Pass
        | Verdict::ExpectedFailure { .. }
        | Verdict::Unsupported { .. }
        | Verdict::Skipped { .. } => Ok(()),
    }
}

fn main() {
    let args = Arguments::from_args();
    let trials: Vec<Trial> = match scenario::load_dir(&scenario::default_dir()) {
        Ok(scenarios) => scenarios
            .into_iter()
            .map(|s| {
                let name = s.name();
                Trial::test(name, move || run_trial(&s))
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
    if let Ok(v) = VERDICTS.lock() {
        if !v.is_empty() {
            let mut counts = std::collections::BTreeMap::<&str, usize>::new();
            for (_, verdict) in v.iter() {
                *counts.entry(verdict.as_str()).or_default() += 1;
            }
            let line = counts
                .iter()
                .map(|(k, n)| format!("{k}={n}"))
                .collect::<Vec<_>>()
                .join(" ");
            eprintln!("conformance verdicts: {line}");
        }
    }
    conclusion.exit();
}
