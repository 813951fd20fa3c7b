//! `cogcheck-proxy`: see `cogcheck-proxy --help`. Errors map to exit codes here and only here.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use cogcheck_proxy::{Args, Error, LogFormat, Proxy};

fn main() -> ExitCode {
    // `cogcheck-proxy compare ...` has its own command line (src/shadow/offline.rs).
    if std::env::args_os().nth(1).is_some_and(|a| a == "compare") {
        return compare_main();
    }
    let args = Args::parse();
    if let Err(e) = init_logging(args.verbose, args.log_format) {
        eprintln!("cogcheck-proxy: {e}");
        return ExitCode::from(exit_code(&e.into()));
    }
    // One worker is a current-thread runtime: the same single thread, without the
    // work-stealing scheduler's cross-thread wakeups and atomics on every task switch.
    let mut builder = match args.workers {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(usize::from(n));
            b
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cogcheck-proxy: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(ABANDONED),
        Err(e) => {
            eprintln!("cogcheck-proxy: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// Log events go to standard error (`--help`, LOGGING). RUST_LOG, when set, decides the
/// levels; otherwise `info`, and `debug` for this crate and the suite's with --verbose.
fn init_logging(verbose: bool, format: LogFormat) -> Result<(), Error> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec)
            .map_err(|e| Error::Config(format!("RUST_LOG `{spec}`: {e}")))?,
        _ if verbose => EnvFilter::new("info,cogcheck_proxy=debug,cogcheck=debug"),
        _ => EnvFilter::new("info"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        // The event's fields beside timestamp, level, target and message: one flat object a
        // log shipper indexes without unwrapping.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
    installed.map_err(|e| Error::Config(format!("cannot set up logging: {e}")))
}

/// The exit code of a shutdown whose grace period ran out with exchanges unanswered
/// (`--help`, EXIT STATUS): a supervisor must not take that for a clean stop.
const ABANDONED: u8 = 6;

/// The documented exit codes (`--help`, EXIT STATUS).
fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<Error>() {
        Some(Error::Config(_) | Error::Tls(_)) => 2,
        Some(Error::Cassette { .. } | Error::Recorder(_) | Error::Io { .. }) => 3,
        Some(Error::Bind { .. }) => 4,
        Some(_) | None => 1,
    }
}

/// Runs until a signal; the number of exchanges abandoned at shutdown.
async fn run(args: Args) -> anyhow::Result<u64> {
    let config = args.into_config(|k| std::env::var(k).ok())?;
    let upstream = config.upstream.as_ref().map(|u| u.display());
    let plan = config.cassette.clone();
    let proxy = Proxy::start(config).await?;

    // Machine-readable start lines on stdout (tests and scripts read them); log events on stderr.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {}", proxy.endpoint());
    if let Some(a) = proxy.admin_addr() {
        let _ = writeln!(out, "admin on http://{a}");
    }
    if let Some(ca) = proxy.ca_cert() {
        let _ = writeln!(out, "ca certificate: {}", ca.display());
    }
    let _ = out.flush();
    drop(out);
    tracing::info!(
        listen = %proxy.addr(),
        upstream = upstream.as_deref().unwrap_or("none"),
        cassette = %plan.path().map_or_else(|| "none".into(), |p| p.display().to_string()),
        mode = plan.mode_name(),
        "proxy started"
    );

    wait_for_signal().await?;
    tracing::info!("shutting down: finishing exchanges in flight");
    let stopped = proxy.shutdown().await?;
    match stopped.abandoned {
        0 => tracing::info!("stopped cleanly"),
        u64::MAX => tracing::error!(
            "stopped uncleanly: the listener failed; exchanges in flight may have been abandoned"
        ),
        n => tracing::warn!(
            abandoned = n,
            "stopped uncleanly: the shutdown grace period ran out with {n} exchange{} in \
             flight; {} abandoned without an answer",
            if n == 1 { "" } else { "s" },
            if n == 1 { "it was" } else { "they were" },
        ),
    }
    Ok(stopped.abandoned)
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

/// `cogcheck-proxy compare CASSETTE --against URL|TARGET`: exit 0 when everything matched, 5
/// when mismatches were found, else the usual codes.
fn compare_main() -> ExitCode {
    let args =
        cogcheck_proxy::shadow::offline::CompareArgs::parse_from(std::env::args_os().skip(1));
    if let Err(e) = init_logging(false, LogFormat::Text) {
        eprintln!("cogcheck-proxy compare: {e}");
        return ExitCode::from(exit_code(&e.into()));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cogcheck-proxy compare: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cogcheck_proxy::shadow::offline::run(&args)) {
        Ok(outcome) => {
            let s = &outcome.summary;
            println!(
                "compared {} exchanges against {}: {} differ ({} not compared)",
                s.compared, outcome.endpoint, s.mismatched, s.skipped
            );
            for p in [
                &outcome.paths.markdown,
                &outcome.paths.jsonl,
                &outcome.paths.junit,
            ]
            .into_iter()
            .flatten()
            {
                println!("report: {}", p.display());
            }
            if s.mismatched > 0 {
                ExitCode::from(5)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("cogcheck-proxy compare: {e}");
            ExitCode::from(exit_code(&anyhow::Error::from(e)))
        }
    }
}
