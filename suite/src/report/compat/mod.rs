//! The compatibility report: every operation of the service model against every target, as
//! Markdown (`reports/compatibility.md`), one self-contained HTML page
//! (`reports/compatibility.html`) and JSON (`reports/compatibility.json`, schema in [`json`]).
//!
//! The data flows one way: results files (written by `cogcheck run`, or by
//! [`crate::report_run`] for `cogcheck report`; this module never runs anything) →
//! [`TargetInput`] per target → [`matrix::Matrix`] (all the numbers, computed once, with the
//! [`trend`] of earlier versions) → three renderers that only format it. That is why the three
//! files cannot disagree.
//!
//! # Checks
//!
//! A *check* is one scenario that *covers* an operation (lists it in `covers`) and ran on a
//! target: a scenario covering two operations is two checks, one in each operation's cell. A
//! scenario *skipped* on a target (the target lacks a capability it requires, e.g. `codes`) is
//! not a check there. Steps that call an operation in scenarios which do not cover it (setup
//! steps) are not checks of it: they count in the scenario that covers the action they set up.
//!
//! Every check counts on exactly one of two tallies:
//!
//! - **unsupported**: the scenario reached an operation the target does not implement (it
//!   answered 404, 501 or "unknown operation"): the covered one, or another it needs. Such a
//!   check says nothing about behaviour and is counted apart, never as a failure. An operation
//!   is ⛔ on a target whenever the target answered "unsupported" to it in any step of any
//!   scenario; every check of a ⛔ operation is unsupported.
//! - **behaviour**: every other check. It *passes* when the scenario's behaviour verdict
//!   (`axes.behaviour` of the results file) is `pass`, or `unexpected_pass` (the target now
//!   behaves like AWS). It fails on `fail` and `changed`, and on `expected_failure` too: a known
//!   deviation is still a deviation from AWS. A failure at any step counts, setup steps
//!   included (the operation's behaviour is then unverified on that target). Shape and
//!   protocol findings never fail a behaviour check: a check whose only findings are shape or
//!   protocol ones passes, and its cell carries a badge (ˢ shape, ᵖ protocol).
//!
//! A cell is ✅ when all its behaviour checks pass, 🟡 `n/m` when some do, ❌ when none do, ⛔
//! when the target does not implement the operation, 🚧 when every check reached another
//! operation the target does not implement, ⏭ when every covering scenario was skipped on that
//! target, and · when no scenario covers the operation.
//!
//! A target's headline is behaviour first: its *behaviour pass rate* is passing behaviour
//! checks over behaviour checks, summed over every operation it implements; its *seed actions
//! fully passing* counts the operations of the 95-action seed list whose cell is ✅. Beside it:
//! the operations it does not implement (and the checks that reached them), and how many
//! behaviour checks have shape findings and protocol findings. Behaviour deviations are listed
//! per target by severity, security first; shape and protocol deviations per kind
//! (`protocol/request-id`), each tagged with what the SDKs do about it
//! ([`tolerance`]: "no SDK notices", what boto3 and the JavaScript SDK do, or "not measured").

pub mod html;
pub mod json;
pub mod markdown;
pub mod matrix;
mod read;
pub mod tolerance;
pub mod trend;
pub mod view;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::report::results::{self, Results};

pub use matrix::Matrix;

/// The 95 actions of the seed list, one a line (`#` starts a comment), embedded so a report
/// never needs the `shared/` folder at run time.
pub const SEED_ACTIONS: &str = include_str!("../../../../fixtures/seed-actions.txt");

/// Operation categories and default request rates of the Cognito quotas page
/// (`fixtures/quotas.json`), embedded for the same reason.
pub use crate::protocol::quotas::QUOTAS;

/// The targets `cogcheck report` runs when none are named: the ones that install in a minute
/// or two. fakecloud joins them when it is installed in the cache already.
pub const DEFAULT_TARGETS: &[&str] = &["moto", "ministack", "cognito-local"];

/// The target whose first install is a long compile, included by default only once installed.
pub const SLOW_DEFAULT_TARGET: &str = "fakecloud";

/// `reports/` of this checkout.
pub fn default_out_dir() -> PathBuf {
    crate::fixtures::output_path("reports")
}

/// One column of the report.
#[derive(Debug, Clone)]
pub enum TargetInput {
    /// The target ran (now, or earlier and its results file was read).
    Ran(Box<Results>),
    /// The target could not be installed, started or read: it still gets a column, with why.
    Unavailable {
        /// Its name.
        name: String,
        /// Its pinned version, when known.
        version: String,
        /// Its configuration line, when known.
        configuration: String,
        /// What went wrong, as the error said it.
        reason: String,
    },
}

impl TargetInput {
    /// The target's name.
    pub fn name(&self) -> &str {
        match self {
            TargetInput::Ran(r) => &r.target.name,
            TargetInput::Unavailable { name, .. } => name,
        }
    }
}

/// The three files written.
#[derive(Debug, Clone)]
pub struct Written {
    /// `compatibility.md`.
    pub markdown: PathBuf,
    /// `compatibility.html`.
    pub html: PathBuf,
    /// `compatibility.json`.
    pub json: PathBuf,
}

/// Writes the report of a run into `out_dir` and says how each target fared: the columns are
/// the results files `fresh` (this run's), plus the published results file of every other
/// target in `<out_dir>/results/`, which keeps its column with its own run date, plus a column
/// saying why for each target in `unavailable` that has no published results. The trend comes
/// from `<out_dir>/results/versions/`. A results file this cogcheck cannot read (an older
/// schema) is left alone and named on stderr.
///
/// A run never loses published data that way. Returns `Ok(true)` when every column ran and no
/// verdict fails (`fail`, `changed`, `unexpected_pass`). It ends by printing the one file to
/// open, the HTML report, on stdout.
pub fn publish(
    out_dir: &Path,
    fresh: &[(String, PathBuf)],
    unavailable: Vec<TargetInput>,
) -> Result<bool> {
    let ran: Vec<&str> = fresh.iter().map(|(name, _)| name.as_str()).collect();
    let kept = kept_results(&out_dir.join("results"), &ran);
    let mut paths: Vec<PathBuf> = fresh.iter().map(|(_, p)| p.clone()).collect();
    paths.extend(kept.iter().map(|(_, p)| p.clone()));
    let mut inputs = load_columns(&paths)?;
    for input in unavailable {
        if !kept.iter().any(|(name, _)| name == input.name()) {
            inputs.push(input);
        }
    }
    sort_columns(&mut inputs);
    write_and_tell(&inputs, out_dir)
}

/// Writes the report of the results files `from` (`cogcheck report --from`) into `out_dir`,
/// with the trend of `<out_dir>/results/versions/`; returns and prints as [`publish`] does.
pub fn publish_from(out_dir: &Path, from: &[PathBuf]) -> Result<bool> {
    let inputs = load_columns(from)?;
    write_and_tell(&inputs, out_dir)
}

fn write_and_tell(inputs: &[TargetInput], out_dir: &Path) -> Result<bool> {
    let mut matrix = Matrix::build(inputs)?;
    matrix.trend = trend::build(
        &matrix,
        &trend::load_earlier(&out_dir.join("results").join("versions")),
    )?;
    let written = write_reports(&matrix, out_dir)?;
    for t in &matrix.targets {
        match &t.unavailable {
            Some(reason) => eprintln!("cogcheck: {:<14} not available: {reason}", t.name),
            None => eprintln!(
                "cogcheck: {:<14} behaviour {}/{} checks pass ({}), {}/{} seed actions fully \
                 pass, {} operations unsupported, {} security deviations (run {})",
                t.name,
                t.summary.behaviour_passed,
                t.summary.behaviour_total,
                matrix::percent(t.summary.behaviour_passed, t.summary.behaviour_total),
                t.summary.seed_passing,
                t.summary.seed_total,
                t.summary.unsupported_operations,
                t.summary.security_deviations,
                t.run
                    .as_ref()
                    .map_or("", |r| r.finished.get(..10).unwrap_or(&r.finished)),
            ),
        }
    }
    eprintln!(
        "cogcheck: wrote {} and {} beside the report; open:",
        written.markdown.display(),
        written.json.display()
    );
    println!("{}", written.html.display());
    let all_ran = inputs.iter().all(|i| matches!(i, TargetInput::Ran(_)));
    let no_failure = matrix
        .targets
        .iter()
        .all(|t| t.summary.failing_verdicts == 0);
    Ok(all_ran && no_failure)
}

/// Reads results files into the report's columns: one per target, the files of one target
/// (the shards of `cogcheck run --shard K/N`) merged into one by [`Results::merge`], which
/// refuses shards that overlap or miss a slice. Columns come in [`sort_columns`] order.
pub fn load_columns(paths: &[PathBuf]) -> Result<Vec<TargetInput>> {
    let mut by_target: std::collections::BTreeMap<String, Vec<(PathBuf, Results)>> =
        std::collections::BTreeMap::new();
    for path in paths {
        let r = Results::load(path)?;
        by_target
            .entry(r.target.name.clone())
            .or_default()
            .push((path.clone(), r));
    }
    let mut columns = Vec::new();
    for (name, parts) in by_target {
        if parts.len() > 1 {
            tracing::info!(
                target_name = %name,
                files = parts.len(),
                "{name}: one column from {} results files",
                parts.len()
            );
        }
        columns.push(TargetInput::Ran(Box::new(Results::merge(parts)?)));
    }
    sort_columns(&mut columns);
    Ok(columns)
}

/// Columns in the order a run of the default set gives them (the default targets first, then
/// by name), not in the order a shell glob lists files or `--targets` names them, so
/// regenerating a report does not reshuffle it.
pub fn sort_columns(columns: &mut [TargetInput]) {
    columns.sort_by_key(|input| {
        let name = input.name().to_string();
        let rank = DEFAULT_TARGETS
            .iter()
            .position(|d| *d == name)
            .unwrap_or(DEFAULT_TARGETS.len());
        (rank, name)
    });
}

/// The published results files in `dir` of targets not in `ran`, with their target's name:
/// the columns a report run keeps. A file that cannot be read as results (an older schema) is
/// named on stderr and left out, never touched.
fn kept_results(dir: &Path, ran: &[&str]) -> Vec<(String, PathBuf)> {
    let files = results::json_files(dir);
    let mut kept = Vec::new();
    for path in files {
        match Results::load(&path) {
            Ok(r) if ran.contains(&r.target.name.as_str()) => {}
            Ok(r) => {
                tracing::info!(
                    target_name = %r.target.name,
                    results = %path.display(),
                    "{}: not run now; its column keeps the results of {} ({})",
                    r.target.name,
                    r.run.finished.get(..10).unwrap_or(&r.run.finished),
                    path.display()
                );
                kept.push((r.target.name, path));
            }
            Err(e) => tracing::warn!(
                "not in this report, left as it is: {e} (run its target to refresh it)"
            ),
        }
    }
    kept
}

/// Writes the three files of `matrix` into `out_dir` (created if missing).
pub fn write_reports(matrix: &Matrix, out_dir: &Path) -> Result<Written> {
    std::fs::create_dir_all(out_dir).map_err(|source| Error::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let written = Written {
        markdown: out_dir.join("compatibility.md"),
        html: out_dir.join("compatibility.html"),
        json: out_dir.join("compatibility.json"),
    };
    write_file(&written.markdown, &markdown::render(matrix))?;
    write_file(&written.html, &html::render(matrix))?;
    write_file(&written.json, &json::render(matrix)?)?;
    Ok(written)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses a seed list: one action a line, `#` comments and blank lines ignored.
pub fn parse_seed_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

pub use crate::model::seed_actions_from_table;

/// Replaces anything that looks like a JWT with a marker (one implementation, shared with the
/// runner), so a token that slipped past the results' redaction never reaches a report.
pub use crate::secrets::scrub_tokens as scrub;

/// `text` cut to at most `max` bytes (on a character boundary), with a pointer to the JSON
/// report that keeps it whole. The Markdown and the HTML cut at different lengths.
pub(crate) fn cut_at(max: usize, text: &str) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n… ({} more characters in compatibility.json)",
        &text[..end],
        text.len() - end
    )
}
