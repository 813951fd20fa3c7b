//! `cogcheck mutation`: the command around a [`super::run`] campaign. It lives here rather than
//! in `main.rs` so the binary only names it.

use std::path::PathBuf;
use std::sync::Arc;

use super::equivalent::Equivalents;
use super::report::MutationReport;
use super::{CampaignOptions, Operator};
use crate::error::{Error, Result};
use crate::run::Runner;
use crate::session::{Session, SessionOptions};

/// Measure the suite's sensitivity: re-run each passing scenario with one answer altered.
///
/// For each scenario that passes against the target (behaviour verdict), one step's answer is
/// altered at a time (a member dropped, a type changed, another error, a token claim changed,
/// ...) and the scenario is run again; a mutant it does not notice is a missing assertion.
/// Writes a score per operator and per action and every surviving mutant to
/// <out-dir>/<target>.{json,md}. Sampling is seeded, so the same seed runs the same mutants.
#[derive(Debug, clap::Args)]
pub struct MutationArgs {
    /// Target name from fixtures/targets.toml (default: moto, or COGCHECK_TARGET).
    #[arg(long)]
    pub target: Option<String>,
    /// Use this endpoint instead of starting the target.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Only scenarios whose name (`area::id`) contains this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// At most this many mutants per step, spread across operators (0: every mutant).
    #[arg(long, default_value_t = 3)]
    pub max_mutants_per_step: usize,
    /// At most this many mutants in all (0: no limit). The default keeps a moto run near ten
    /// minutes on two cores.
    #[arg(long, default_value_t = 800)]
    pub max_mutants: usize,
    /// The sampling seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only these operators (comma-separated), e.g. `drop_member,jwt_claim`.
    #[arg(long, value_delimiter = ',')]
    pub operators: Vec<String>,
    /// Mutate `exclusive` scenarios too (each run of one waits for all others).
    #[arg(long)]
    pub include_exclusive: bool,
    /// Mutate setup steps too (actions the scenario does not list in `covers`).
    #[arg(long)]
    pub all_steps: bool,
    /// Scenario runs at once.
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// Where to write <target>.json and <target>.md (default: reports/mutation; with
    /// --filter, target/cogcheck/mutation, so a partial run never replaces the published one).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// The equivalent mutants (default: fixtures/mutation-equivalent.json).
    #[arg(long)]
    pub equivalent: Option<PathBuf>,
    /// Allow installs that take long.
    #[arg(long)]
    pub allow_slow_install: bool,
}

/// Runs the command; Ok(true) when it ran (a low score is a finding, not an error).
pub fn command(args: MutationArgs) -> Result<bool> {
    let operators = args
        .operators
        .iter()
        .map(|o| {
            Operator::parse(o).ok_or_else(|| {
                Error::Usage(format!(
                    "--operators: unknown operator {o:?}; one of {}",
                    Operator::ALL.map(Operator::name).join(", ")
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let equivalent_path = args
        .equivalent
        .clone()
        .unwrap_or_else(Equivalents::default_path);
    let equivalents = Equivalents::load(&equivalent_path).map_err(|message| Error::Config {
        path: equivalent_path.clone(),
        message,
    })?;
    let scenarios = crate::scenario::select::select(
        crate::scenario::load_default()?,
        args.filter.as_deref(),
        None,
    );
    if scenarios.is_empty() {
        return Err(Error::Usage(
            "--filter: no scenario matches; `cogcheck scenarios` lists them".into(),
        ));
    }
    let mut session = Session::open(SessionOptions {
        target: args.target,
        endpoint: args.endpoint,
        jobs: args.jobs,
        allow_slow_install: args.allow_slow_install,
        record: None,
    })?;
    tracing::info!(
        scenarios = scenarios.len(),
        target_name = %session.info.name,
        endpoint = %session.info.endpoint,
        "mutation: {} scenarios against {} {} at {}",
        scenarios.len(),
        session.info.name,
        session.info.version,
        session.info.endpoint
    );
    let runtime = tokio::runtime::Runtime::new().map_err(|source| Error::Io {
        path: "(the async runtime)".into(),
        source,
    })?;
    let runner = Arc::new(Runner::new(session.client.clone(), session.config.clone()));
    let options = CampaignOptions {
        max_per_step: args.max_mutants_per_step,
        max_mutants: args.max_mutants,
        seed: args.seed,
        operators,
        include_exclusive: args.include_exclusive,
        all_steps: args.all_steps,
        jobs: args.jobs,
    };
    let campaign = runtime.block_on(super::run(
        runner,
        scenarios,
        &session.expectations,
        &equivalents,
        &options,
        |line| eprintln!("cogcheck mutation: {line}"),
    ));
    // A mutant that hid a created pool's id (or turned its creation into an error) kept the
    // runner from deleting it: sweep the run's prefix.
    let swept = runtime.block_on(crate::run::sweep(
        &session.client,
        &session.config.run_prefix,
    ));
    session.stop()?;
    if let Err(e) = swept {
        tracing::warn!(
            prefix = %session.config.run_prefix,
            "mutation: could not sweep {} ({e}); run `cogcheck sweep --prefix {}`",
            session.config.run_prefix,
            session.config.run_prefix
        );
    }
    let report = MutationReport::new(session.info.clone(), campaign);
    let out_dir = args.out_dir.unwrap_or_else(|| match &args.filter {
        None => crate::fixtures::output_path("reports/mutation"),
        Some(_) => crate::fixtures::output_path("target/cogcheck/mutation"),
    });
    let (json, md) = report.write(&out_dir).map_err(|source| Error::Io {
        path: out_dir.clone(),
        source,
    })?;
    let t = &report.total;
    println!(
        "mutation score {}: {} killed, {} survived, {} equivalent (excluded), {} not applied; {} of {} possible mutants sampled",
        t.score.map_or("n/a".into(), |s| format!("{s:.1}%")),
        t.killed,
        t.survived,
        t.equivalent,
        t.not_applied,
        report.campaign.sampled,
        report.campaign.possible
    );
    println!("report: {} and {}", json.display(), md.display());
    Ok(true)
}
