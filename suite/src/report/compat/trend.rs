//! Behaviour across versions: each target's behaviour pass rate per release, from the results
//! of its earlier versions (`cogcheck report --versions`, `results/versions/<name>@<v>.json`)
//! and its pinned version's column.
//!
//! Each point is counted exactly as a column's headline is ([`Matrix::build`] on that one
//! results file), so a point and the card above it cannot disagree. A version's rate is only
//! comparable with another's because the scenarios are the same: every point also carries the
//! number of behaviour checks it counts, shown beside the rate. The points are
//! [`TargetTrend`]s of [`super::view`]; the HTML draws them as a chart (`html::trend_svg`).

use std::path::Path;

use super::view::{TargetTrend, TrendPoint};
use crate::error::Result;
use crate::report::compat::{Matrix, TargetInput};
use crate::report::results::Results;

/// The earlier versions' results in `dir` (`reports/results/versions/`), oldest file name
/// first. A file that cannot be read is named on stderr and left out, never touched, as the
/// columns' files are.
pub fn load_earlier(dir: &Path) -> Vec<Results> {
    let files = crate::report::results::json_files(dir);
    files
        .into_iter()
        .filter_map(|path| match Results::load(&path) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!("not in the trend, left as it is: {e}");
                None
            }
        })
        .collect()
}

/// The trend of every target of `matrix` that has earlier versions' results among `earlier`:
/// those points, then the column's own (pinned) version. A target without earlier results has
/// no trend; earlier results of a target that is not a column still make a trend.
pub fn build(matrix: &Matrix, earlier: &[Results]) -> Result<Vec<TargetTrend>> {
    let mut trends: Vec<TargetTrend> = Vec::new();
    for r in earlier {
        let column = Matrix::build(&[TargetInput::Ran(Box::new(r.clone()))])?;
        let Some(t) = column.targets.first() else {
            continue;
        };
        let point = TrendPoint {
            version: r.target.version.clone(),
            behaviour_passed: t.summary.behaviour_passed,
            behaviour_total: t.summary.behaviour_total,
            finished: r.run.finished.clone(),
            pinned: false,
        };
        match trends.iter_mut().find(|x| x.name == r.target.name) {
            Some(x) => x.points.push(point),
            None => trends.push(TargetTrend {
                name: r.target.name.clone(),
                points: vec![point],
            }),
        }
    }
    for trend in &mut trends {
        if let Some(t) = matrix
            .targets
            .iter()
            .find(|t| t.name == trend.name && t.unavailable.is_none())
        {
            // A results file for the pinned version in versions/ would count it twice.
            trend.points.retain(|p| p.version != t.version);
            trend.points.push(TrendPoint {
                version: t.version.clone(),
                behaviour_passed: t.summary.behaviour_passed,
                behaviour_total: t.summary.behaviour_total,
                finished: t
                    .run
                    .as_ref()
                    .map(|r| r.finished.clone())
                    .unwrap_or_default(),
                pinned: true,
            });
        }
        trend.points.sort_by_key(|p| version_key(&p.version));
    }
    // Columns' order first, then by name, like the cards.
    trends.sort_by_key(|t| {
        let rank = matrix
            .targets
            .iter()
            .position(|c| c.name == t.name)
            .unwrap_or(usize::MAX);
        (rank, t.name.clone())
    });
    Ok(trends)
}

/// Release order: numeric parts compared as numbers (`5.0.28` < `5.1.3` < `5.1.22`), any
/// other part as text.
fn version_key(version: &str) -> Vec<(u64, String)> {
    version
        .split(['.', '-', '+'])
        .map(|part| match part.parse::<u64>() {
            Ok(n) => (n, String::new()),
            Err(_) => (u64::MAX, part.to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_in_release_order_not_text_order() {
        let mut v = vec!["5.1.22", "5.0.28", "5.1.3", "5.2.5"];
        v.sort_by_key(|a| version_key(a));
        assert_eq!(v, ["5.0.28", "5.1.3", "5.1.22", "5.2.5"]);
    }
}
