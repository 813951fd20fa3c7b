//! `cogcheck-proxy`: see `cogcheck-proxy --help`. Errors map to exit codes here and only here.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use cogcheck_proxy::{Args, Error, Proxy};

fn main() -> ExitCode {
    // `cogcheck-proxy compare ...` has its own command line (src/shadow/offline.rs).
    if std::env::args_os().nth(1).is_some_and(|a| a == "compare") {
        return compare_main();
    }
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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

    // Machine-readable start lines on stdout (tests and scripts read them); the rest on stderr.
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
    eprintln!(
        "cogcheck-proxy: upstream {}, cassette {} ({})",
        upstream.as_deref().unwrap_or("none"),
        plan.path()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "none".into()),
        plan.mode_name()
    );

    wait_for_signal().await?;
    eprintln!("cogcheck-proxy: shutting down: finishing exchanges in flight");
    let stopped = proxy.shutdown().await?;
    match stopped.abandoned {
        0 => eprintln!("cogcheck-proxy: stopped cleanly"),
        u64::MAX => eprintln!(
            "cogcheck-proxy: stopped uncleanly: the listener failed; exchanges in flight may \
             have been abandoned"
        ),
        n => eprintln!(
            "cogcheck-proxy: stopped uncleanly: the shutdown grace period ran out with {n} \
             exchange{} in flight; {} abandoned without an answer",
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
