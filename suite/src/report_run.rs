//! `cogcheck report`: the whole suite against several local targets in turn, one results file
//! each, then the compatibility report built from the results files.
//!
//! The running happens here, above the runner and the reporter; [`crate::report::compat`] only reads results
//! files and renders them. Each target is installed, started, run with every scenario and
//! stopped before the next one starts (two emulators at once would skew each other's timing
//! on a small machine); a target that cannot start gets a column saying why and never stops
//! the others.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::expectations::Strictness;
use crate::report::compat::{self, TargetInput, DEFAULT_TARGETS, SLOW_DEFAULT_TARGET};
use crate::report::progress::Progress;
use crate::report::results::{self, Results};
use crate::run::Runner;
use crate::session::{Session, SessionOptions};
use crate::target::{Cache, InstallState, Targets};

/// What `cogcheck report` does.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Targets to run. Empty means the default set ([`DEFAULT_TARGETS`], plus
    /// [`SLOW_DEFAULT_TARGET`] when installed); `all` means every local target of
    /// `fixtures/targets.toml`, allowing slow installs.
    pub targets: Vec<String>,
    /// Results files to read instead of running anything: one column per target, the files of
    /// one target (its shards) merged.
    pub from: Vec<PathBuf>,
    /// Where the reports go (`reports/`); fresh results go to `<out_dir>/results/<target>.json`,
    /// and the other results files there keep their columns.
    pub out_dir: PathBuf,
    /// Also run each target's earlier versions (`earlier_versions` in `targets.toml`), for the
    /// report's behaviour trend per version; their results go to
    /// `<out_dir>/results/versions/`.
    pub earlier_versions: bool,
    /// Allow installs that take long (fakecloud compiles ~660 crates, minutes on two cores).
    pub allow_slow_install: bool,
    /// Scenarios run at once on each target.
    pub jobs: usize,
    /// Show a progress bar (only drawn when stderr is a terminal).
    pub progress: bool,
}

impl Default for ReportOptions {
    fn default() -> ReportOptions {
        ReportOptions {
            targets: Vec::new(),
            from: Vec::new(),
            out_dir: compat::default_out_dir(),
            earlier_versions: false,
            allow_slow_install: false,
            jobs: 4,
            progress: true,
        }
    }
}

/// What `cogcheck report` does: with `from`, the report of those results files; otherwise runs
/// the targets ([`run_targets`]) and publishes their results with the published ones
/// ([`compat::publish`]). Blocking: it builds its own async runtime. Returns `Ok(true)` when
/// every target ran and no verdict fails; an error for bad input (an unknown target name, a
/// malformed scenario or results file, a report that cannot be written).
pub fn run_report(options: ReportOptions) -> Result<bool> {
    if !options.from.is_empty() {
        return compat::publish_from(&options.out_dir, &options.from);
    }
    let (fresh, unavailable) = run_targets(&options)?;
    // Earlier versions are points of the trend (read from results/versions/), never columns.
    let columns: Vec<(String, PathBuf)> = fresh
        .into_iter()
        .filter(|(n, _)| !n.contains('@'))
        .collect();
    let unavailable: Vec<TargetInput> = unavailable
        .into_iter()
        .filter(|u| !u.name().contains('@'))
        .collect();
    compat::publish(&options.out_dir, &columns, unavailable)
}

/// The target names to run: the named ones, `all`, or the default set. Unknown names are an
/// error before anything starts.
pub fn resolve_targets(
    requested: &[String],
    targets: &Targets,
    cache: &Cache,
    earlier_versions: bool,
) -> Result<Vec<String>> {
    let names = pinned_targets(requested, targets, cache)?;
    if !earlier_versions {
        return Ok(names);
    }
    // Each target's earlier versions right after it, so a report run reads in release order.
    Ok(names
        .into_iter()
        .flat_map(|name| {
            let earlier = targets.earlier_names(&name);
            std::iter::once(name).chain(earlier)
        })
        .collect())
}

fn pinned_targets(requested: &[String], targets: &Targets, cache: &Cache) -> Result<Vec<String>> {
    let requested: Vec<&str> = requested
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if requested.is_empty() {
        let mut names: Vec<String> = DEFAULT_TARGETS.iter().map(|s| s.to_string()).collect();
        if let Ok(slow) = targets.get(SLOW_DEFAULT_TARGET) {
            if slow.install_state(cache) == InstallState::Installed {
                names.push(SLOW_DEFAULT_TARGET.to_string());
            }
        }
        return Ok(names);
    }
    if requested.contains(&"all") {
        return Ok(targets
            .names()
            .into_iter()
            .filter(|n| targets.get(n).is_ok_and(|s| s.local().is_some()))
            .map(str::to_string)
            .collect());
    }
    let mut names = Vec::new();
    for name in requested {
        targets.get(name)?;
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    Ok(names)
}

/// Runs every scenario against each target in turn, saving each target's results file. Returns
/// the targets that ran with their results file, and a column for each that could not.
#[allow(clippy::type_complexity)]
fn run_targets(options: &ReportOptions) -> Result<(Vec<(String, PathBuf)>, Vec<TargetInput>)> {
    if let Some(endpoint) = crate::target::endpoint_override() {
        return Err(Error::Config {
            path: PathBuf::from("COGCHECK_ENDPOINT"),
            message: format!(
                "is set ({endpoint}), but a report starts each target itself: unset it, or run \
                 `cogcheck run` against the endpoint and build the report with --from"
            ),
        });
    }
    let targets = Targets::load_default()?;
    let cache = Cache::default_location()?;
    let names = resolve_targets(&options.targets, &targets, &cache, options.earlier_versions)?;
    let allow_slow = options.allow_slow_install || options.targets.iter().any(|t| t == "all");
    let scenarios = crate::scenario::load_default()?;
    let runtime = tokio::runtime::Runtime::new().map_err(|source| Error::Io {
        path: PathBuf::from("<tokio runtime>"),
        source,
    })?;
    let draw = options.progress && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut fresh = Vec::new();
    let mut unavailable = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let spec = targets.get(name)?;
        tracing::info!(
            target_name = %name,
            version = %spec.version,
            "[{}/{}] {name} {}: installing and starting",
            i + 1,
            names.len(),
            spec.version
        );
        let mut session = match Session::open(SessionOptions {
            target: Some(name.clone()),
            endpoint: None,
            jobs: options.jobs.max(1),
            allow_slow_install: allow_slow,
            record: None,
        }) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(target_name = %name, "{name}: not available: {e}");
                unavailable.push(TargetInput::Unavailable {
                    name: name.clone(),
                    version: spec.version.clone(),
                    configuration: spec.configuration.clone(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        tracing::info!(
            target_name = %name,
            scenarios = scenarios.len(),
            endpoint = %session.info.endpoint,
            "[{}/{}] {name}: {} scenarios at {}",
            i + 1,
            names.len(),
            scenarios.len(),
            session.info.endpoint
        );
        let started = results::now_rfc3339();
        let runner = Arc::new(Runner::new(session.client.clone(), session.config.clone()));
        let mut progress = Progress::new(draw);
        let verdicts = runtime.block_on(runner.run_all(
            scenarios.clone(),
            &session.expectations,
            Strictness::Behaviour,
            |e| progress.event(&e),
        ));
        if let Err(e) = session.stop() {
            tracing::warn!(target_name = %name, "{name}: could not stop cleanly: {e}");
        }
        let run = results::RunInfo {
            prefix: session.config.run_prefix.clone(),
            started,
            finished: results::now_rfc3339(),
            cogcheck: env!("CARGO_PKG_VERSION").into(),
            model: format!("botocore {}", crate::model::Model::get().source.version),
            strictness: Strictness::Behaviour,
            shard: None,
        };
        let results_only: Vec<_> = verdicts.iter().map(|(r, _)| r.clone()).collect();
        let now_implemented = session.expectations.now_implemented(&results_only);
        let out = Results::new(run, session.info.clone(), &verdicts, now_implemented);
        let path = results::published_path(&options.out_dir.join("results"), name);
        out.save(&path)?;
        tracing::info!(
            target_name = %name,
            results = %path.display(),
            "{name}: results in {}",
            path.display()
        );
        fresh.push((name.clone(), path));
    }
    Ok((fresh, unavailable))
}
