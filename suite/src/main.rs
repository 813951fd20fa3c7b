//! `cogcheck`: run the Cognito conformance suite, list targets, sweep leftovers.
//!
//! Exit codes (mapped in one place, [`main`]): 0 all verdicts acceptable; 1 a scenario failed,
//! changed, or passed unexpectedly; 2 bad input (a malformed scenario, expectations file or
//! flag) or a target that cannot be reached, installed or started.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use cogcheck::expectations::{Expectations, Strictness};
use cogcheck::report::{compat, junit, progress::Progress, results, summary};
use cogcheck::run::Runner;
use cogcheck::scenario;
use cogcheck::scenario::select::Shard;
use cogcheck::session::{Session, SessionOptions};
use cogcheck::target::{Cache, Targets};

/// Conformance suite for the Amazon Cognito User Pools API (cognito-idp).
///
/// cogcheck runs data-driven scenarios against Cognito or an emulator of it, judges every
/// answer against the AWS service model and the scenario's documented expectations, and
/// reports how far the target strays from real Cognito.
#[derive(Parser)]
#[command(name = "cogcheck", version, about, long_about)]
struct Cli {
    /// The fixtures folder to read (scenarios, expectations, targets, SDK tolerance): a
    /// checkout's fixtures/, or `builtin` for the copy compiled into this binary. Default:
    /// COGCHECK_FIXTURES, else the checkout this binary was built from, else `builtin`.
    #[arg(long, global = true, value_name = "DIR|builtin")]
    fixtures: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the scenarios against one target and write results JSON.
    ///
    /// The target is installed and started on a free 127.0.0.1 port unless an endpoint is
    /// given (--endpoint, COGCHECK_ENDPOINT or AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER).
    Run {
        /// Target name from fixtures/targets.toml (default: moto, or COGCHECK_TARGET).
        #[arg(long)]
        target: Option<String>,
        /// Use this endpoint instead of starting the target.
        #[arg(long)]
        endpoint: Option<String>,
        /// Run only scenarios whose name (`area::id`) contains this text.
        #[arg(long)]
        filter: Option<String>,
        /// Run only slice K of N (for example 2/3) of the (filtered) scenarios, to split one
        /// target's run across CI machines; `cogcheck report --from` merges the slices' results
        /// files into one column. Each scenario falls in exactly one slice.
        #[arg(long, value_name = "K/N")]
        shard: Option<Shard>,
        /// Scenarios making calls at once (one that waits long, for TOTP windows or a slow
        /// eventually consistent read, gives its slot to the next while it waits).
        #[arg(long, default_value_t = 4)]
        jobs: usize,
        /// Also write JUnit XML here.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Where to write the results JSON (default: reports/results/<target>.json, or
        /// reports/results/versions/<target>@<version>.json for an earlier version; with
        /// --filter or --shard, target/cogcheck/<target>[.filtered][.shard-K-of-N].json, so a
        /// partial run never replaces the published results).
        #[arg(long)]
        results: Option<PathBuf>,
        /// Rewrite fixtures/expectations/<target>.json from this run, keeping written reasons.
        #[arg(long)]
        update_expectations: bool,
        /// No progress bar.
        #[arg(long)]
        no_progress: bool,
        /// Allow installs that take long (fakecloud compiles ~660 crates, minutes on two cores).
        #[arg(long)]
        allow_slow_install: bool,

        /// Record the run as a snapshot: the cassette FILE (secrets redacted) and
        /// FILE.notes.json, written through cogcheck-proxy. Replay it offline with
        /// --target replay:FILE.
        #[arg(long, value_name = "FILE")]
        record: Option<std::path::PathBuf>,
        /// Fail on new shape and protocol deviations too, not only on behaviour (for emulator
        /// authors who want byte-level conformance). Also COGCHECK_STRICT=1.
        #[arg(long)]
        strict: bool,
    },
    /// Build the compatibility report: run every scenario against each local target
    /// (installing and starting each), then write reports/compatibility.{md,html,json} and
    /// print the path of the HTML page to open.
    ///
    /// By default the targets that install in a minute or two (moto, ministack,
    /// cognito-local), plus fakecloud when it is already installed; `--targets all` includes
    /// fakecloud and builds it if needed (hours the first time, on two cores). Targets not run
    /// keep their column from their results file in <out-dir>/results/, with its run date.
    Report {
        /// Comma-separated target names, or `all`.
        #[arg(long, value_delimiter = ',')]
        targets: Vec<String>,
        /// Read these results files (reports/results/*.json) instead of running; the files of
        /// one target (the shards of `run --shard K/N`) make one column. Columns come in the
        /// default targets' order (moto, ministack, cognito-local), then by name.
        #[arg(long, num_args = 1..)]
        from: Vec<PathBuf>,
        /// Where to write the report (default: reports/ of this checkout); a run merges with
        /// the results files already in <out-dir>/results/.
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// Also run each target's earlier versions (`earlier_versions` in targets.toml, e.g.
        /// moto@5.1.22); the report shows each target's behaviour pass rate per version. Their
        /// results go to <out-dir>/results/versions/ and are kept like the columns' results.
        #[arg(long)]
        versions: bool,
        /// Allow installs that take long.
        #[arg(long)]
        allow_slow_install: bool,
        /// Scenarios making calls at once per target (as `run --jobs`).
        #[arg(long, default_value_t = 4)]
        jobs: usize,
        /// No progress bar.
        #[arg(long)]
        no_progress: bool,
    },
    /// Replay a recorded cassette against a target and report how its answers differ.
    ///
    /// The comparison lives in the proxy (the suite never depends on it), so this runs
    /// `cogcheck-proxy compare` from beside this binary with the same arguments: see
    /// `cogcheck-proxy compare --help`.
    #[command(disable_help_flag = true)]
    Compare {
        /// Arguments for `cogcheck-proxy compare` (CASSETTE --against URL|TARGET [--out DIR] ...).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Measure the suite's sensitivity: re-run passing scenarios with one answer altered.
    Mutation(cogcheck::mutation::cli::MutationArgs),
    /// List the targets with their pinned versions and install state.
    Targets,
    /// List the scenarios, checking every file.
    Scenarios {
        /// Only names containing this text.
        #[arg(long)]
        filter: Option<String>,
        /// Only slice K of N, as `run --shard K/N` takes it.
        #[arg(long, value_name = "K/N")]
        shard: Option<Shard>,
    },
    /// Delete user pools left behind by interrupted runs (names starting with a prefix).
    Sweep {
        /// Target name.
        #[arg(long)]
        target: Option<String>,
        /// Use this endpoint instead of starting the target.
        #[arg(long)]
        endpoint: Option<String>,
        /// Name prefix of the pools to delete.
        #[arg(long, default_value = "cogcheck-")]
        prefix: String,
    },
}

/// `println!` that survives a closed pipe: `cogcheck scenarios | head` closes stdout early, and
/// `println!` would panic. Rust ignores SIGPIPE so that sockets report errors instead of killing
/// the process (cogcheck talks to emulators), so a closed stdout is handled here: stop quietly
/// with 141, the status a shell gives a command that SIGPIPE ended.
macro_rules! say {
    ($($arg:tt)*) => { emit(format_args!("{}\n", format_args!($($arg)*))) };
}

/// [`say!`] without the newline.
macro_rules! say_part {
    ($($arg:tt)*) => { emit(format_args!($($arg)*)) };
}

fn emit(args: std::fmt::Arguments) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("cogcheck: error: cannot write to standard output: {e}");
        std::process::exit(2);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_logging() {
        eprintln!("cogcheck: error: {e}");
        return ExitCode::from(2);
    }
    if let Some(choice) = &cli.fixtures {
        if let Err(e) = cogcheck::fixtures::set_dir(choice) {
            eprintln!("cogcheck: error: {e}");
            return ExitCode::from(2);
        }
    }
    match dispatch(cli.command) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("cogcheck: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Log events (what the run is doing, warnings) go to standard error, at `info` unless
/// RUST_LOG says otherwise; the product (results paths, summaries, progress bars, the error
/// that ends the run) is printed as before. No time or module: a person reads these lines.
fn init_logging() -> Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => {
            EnvFilter::try_new(&spec).with_context(|| format!("RUST_LOG `{spec}`"))?
        }
        _ => EnvFilter::new("info"),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .with_target(false)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))
}

/// Ok(true) when every verdict is acceptable.
fn dispatch(command: Command) -> Result<bool> {
    match command {
        Command::Run {
            target,
            endpoint,
            filter,
            shard,
            jobs,
            junit: junit_path,
            results: results_path,
            update_expectations,
            no_progress,
            allow_slow_install,
            strict,
            record,
        } => {
            let strictness = if strict {
                Strictness::Strict
            } else {
                Strictness::from_env()
            };
            // An earlier version (`moto@5.1.22`) keeps its own results file; it shares the
            // pinned version's expectations, which describe the pinned version only.
            let label = target.clone().filter(|t| t.contains('@'));
            if let (Some(label), true) = (&label, update_expectations) {
                bail!("--update-expectations: {label} is an earlier version; the expectations file describes the pinned version only");
            }
            let scenarios = load_scenarios(filter.as_deref(), shard)?;
            let mut session = Session::open(SessionOptions {
                target,
                endpoint,
                jobs,
                allow_slow_install,
                record,
            })?;
            tracing::info!(
                scenarios = scenarios.len(),
                target_name = %session.info.name,
                endpoint = %session.info.endpoint,
                "{} scenarios{} against {} {} at {}",
                scenarios.len(),
                shard.map(|s| format!(" (shard {s})")).unwrap_or_default(),
                session.info.name,
                session.info.version,
                session.info.endpoint
            );
            let started = results::now_rfc3339();
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            let runner = Arc::new(Runner::new(session.client.clone(), session.config.clone()));
            let mut progress =
                Progress::new(!no_progress && std::io::IsTerminal::is_terminal(&std::io::stderr()));
            let on_interrupt = session.is_remote().then(|| {
                runtime.spawn(Session::delete_run_on_interrupt(
                    session.client.clone(),
                    session.config.run_prefix.clone(),
                ))
            });
            let verdicts = runtime.block_on(runner.run_all(
                scenarios,
                &session.expectations,
                strictness,
                |e| progress.event(&e),
            ));
            if let Some(cleanup) = on_interrupt {
                if cogcheck::run::INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
                    // The scenarios stopped because of the interrupt; the cleanup task deletes
                    // the run's pools and exits with 130.
                    let _ = runtime.block_on(cleanup);
                }
            }
            session.stop()?;

            let run = results::RunInfo {
                prefix: session.config.run_prefix.clone(),
                started,
                finished: results::now_rfc3339(),
                cogcheck: env!("CARGO_PKG_VERSION").into(),
                model: format!("botocore {}", cogcheck::model::Model::get().source.version),
                strictness,
                shard,
            };
            let only: Vec<_> = verdicts.iter().map(|(r, _)| r.clone()).collect();
            let now_implemented = session.expectations.now_implemented(&only);
            let out = results::Results::new(
                run,
                session.info.clone(),
                &verdicts,
                now_implemented.clone(),
            );
            // A filtered or sharded run is not the target's result: keep it out of the
            // published reports/results, which `report` reads as the whole picture.
            let partial = filter.is_some() || shard.is_some();
            let label = label.unwrap_or_else(|| session.info.name.clone());
            let path = results_path.unwrap_or_else(|| {
                if !partial {
                    return results::published_path(
                        &cogcheck::fixtures::output_path("reports/results"),
                        &label,
                    );
                }
                let mut name = label.clone();
                if filter.is_some() {
                    name.push_str(".filtered");
                }
                if let Some(s) = shard {
                    name.push_str(&format!(".shard-{}-of-{}", s.index, s.count));
                }
                cogcheck::fixtures::output_path("target/cogcheck").join(format!("{name}.json"))
            });
            out.save(&path)?;
            if let Some(j) = junit_path {
                junit::write(&j, &session.info.name, &verdicts)?;
            }
            say_part!(
                "{}",
                summary::render(&session.info.name, &verdicts, strictness)
            );
            say!("\nresults: {}", path.display());
            // A run that could not have judged anything is the harness's problem, not a
            // verdict: say so even when updating expectations.
            if let Some(problem) = cogcheck::run::harness_problem(&only) {
                bail!("{problem}");
            }
            if update_expectations {
                let file = Expectations::default_path(&session.info.name);
                let updated = session.expectations.updated_from(&only, !partial);
                updated.save(&file)?;
                say!(
                    "updated {} ({} known failures)",
                    file.display(),
                    updated.failures.len()
                );
                let unexplained = updated.unexplained();
                if unexplained > 0 {
                    say!(
                        "{unexplained} known failures need a reason: replace each `{}` placeholder in {} with what the target does and what AWS does instead",
                        cogcheck::expectations::UNEXPLAINED.trim_end(),
                        file.display()
                    );
                }
                return Ok(true);
            }
            // A filtered or sharded run saw only some of the scenarios that call an action: one
            // it left out may be the one the target refuses, so only a whole run can say the
            // action is now implemented (the merge of shards decides for them).
            let file = format!("fixtures/expectations/{}.json", session.info.name);
            for action in &now_implemented {
                if partial {
                    say!("note: {action}, listed unsupported in {file}, answered every call of this partial run; a full run tells whether it is now implemented");
                } else {
                    say!("NOW IMPLEMENTED {action}: {file} lists it as unsupported, but it answered in this run and never said unsupported; remove it from `unsupported`");
                }
            }
            let stale_unsupported = !partial && !now_implemented.is_empty();
            Ok(!stale_unsupported && !verdicts.iter().any(|(_, j)| j.verdict.is_failure()))
        }
        Command::Report {
            targets,
            from,
            out_dir,
            versions,
            allow_slow_install,
            jobs,
            no_progress,
        } => {
            let options = cogcheck::report_run::ReportOptions {
                targets,
                from,
                out_dir: out_dir.unwrap_or_else(compat::default_out_dir),
                earlier_versions: versions,
                allow_slow_install,
                jobs,
                progress: !no_progress,
            };
            Ok(cogcheck::report_run::run_report(options)?)
        }
        Command::Compare { args } => {
            let exe = std::env::current_exe().context("cannot find this program's path")?;
            let proxy = exe.with_file_name("cogcheck-proxy");
            if !proxy.exists() {
                bail!(
                    "{} not found: `cogcheck compare` runs the proxy's compare; build it with `cargo build -p cogcheck-proxy` (same profile as cogcheck)",
                    proxy.display()
                );
            }
            let status = std::process::Command::new(&proxy)
                .arg("compare")
                .args(&args)
                .status()
                .with_context(|| format!("cannot run {}", proxy.display()))?;
            match status.code() {
                Some(0) => Ok(true),
                // cogcheck-proxy compare: 5 means the answers differ, a verdict rather than an
                // error; anything else is its own error, already printed.
                Some(5) => Ok(false),
                _ => std::process::exit(status.code().unwrap_or(2)),
            }
        }
        Command::Mutation(args) => Ok(cogcheck::mutation::cli::command(args)?),
        Command::Targets => {
            let targets = Targets::load_default()?;
            let cache = Cache::default_location()?;
            say!(
                "{:<14} {:<10} {:<14} configuration",
                "target",
                "version",
                "install"
            );
            for name in targets.names() {
                let spec = targets.get(name)?;
                say!(
                    "{:<14} {:<10} {:<14} {}",
                    name,
                    spec.version,
                    spec.install_state(&cache).to_string(),
                    spec.configuration
                );
            }
            say!("\ncache: {}", cache.root.display());
            Ok(true)
        }
        Command::Scenarios { filter, shard } => {
            let scenarios = load_scenarios(filter.as_deref(), shard)?;
            for s in &scenarios {
                say!("{:<60} {}", s.name(), s.covers.join(", "));
            }
            say!(
                "\n{} scenarios, {} steps",
                scenarios.len(),
                scenarios.iter().map(|s| s.steps.len()).sum::<usize>()
            );
            Ok(true)
        }
        Command::Sweep {
            target,
            endpoint,
            prefix,
        } => {
            if !prefix.starts_with("cogcheck-") {
                bail!("--prefix {prefix:?} must start with `cogcheck-`: sweep deletes only what cogcheck created");
            }
            let mut session = Session::open(SessionOptions {
                target,
                endpoint,
                jobs: 1,
                allow_slow_install: false,
                record: None,
            })?;
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            let (deleted, errors) =
                runtime.block_on(cogcheck::run::sweep(&session.client, &prefix))?;
            session.stop()?;
            say!("deleted {deleted} user pools named {prefix}*");
            for e in &errors {
                eprintln!("could not delete {e}");
            }
            Ok(errors.is_empty())
        }
    }
}

fn load_scenarios(filter: Option<&str>, shard: Option<Shard>) -> Result<Vec<scenario::Scenario>> {
    Ok(scenario::select::select(
        scenario::load_default()?,
        filter,
        shard,
    ))
}
