//! Behaviour across versions: each target's behaviour pass rate per release, from the results
//! of its earlier versions (`cogcheck report --versions`, `results/versions/<name>@<v>.json`)
//! and its pinned version's column.
//!
//! Each point is counted exactly as a column's headline is ([`Matrix::build`] on that one
//! results file), so a point and the card above it cannot disagree. A version's rate is only
//! comparable with another's because the scenarios are the same: every point also carries the
//! number of behaviour checks it counts, shown beside the rate.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::report::compat::html::esc;
use crate::report::compat::{Matrix, TargetInput};
use crate::report::results::Results;

/// One target's points, oldest version first.
#[derive(Debug, Clone)]
pub struct TargetTrend {
    /// The target's name (`moto`).
    pub name: String,
    /// Its versions, oldest first; the last one is the pinned version when its column ran.
    pub points: Vec<TrendPoint>,
}

/// One version of a target.
#[derive(Debug, Clone)]
pub struct TrendPoint {
    /// The version (`5.1.22`).
    pub version: String,
    /// Behaviour checks that pass on it.
    pub behaviour_passed: usize,
    /// Behaviour checks of the operations it implements.
    pub behaviour_total: usize,
    /// When it ran (RFC 3339).
    pub finished: String,
    /// Whether this is the pinned version (the report's column).
    pub pinned: bool,
}

impl TrendPoint {
    /// The pass rate in percent (0 when nothing counted).
    pub fn rate(&self) -> f64 {
        if self.behaviour_total == 0 {
            0.0
        } else {
            self.behaviour_passed as f64 * 100.0 / self.behaviour_total as f64
        }
    }
}

/// The earlier versions' results in `dir` (`reports/results/versions/`), oldest file name
/// first. A file that cannot be read is named on stderr and left out, never touched, as the
/// columns' files are.
pub fn load_earlier(dir: &Path) -> Vec<Results> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter_map(|path| match Results::load(&path) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("cogcheck: not in the trend, left as it is: {e}");
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

/// Width and height of the chart in CSS pixels; small enough for a target's card.
const WIDTH: f64 = 260.0;
const HEIGHT: f64 = 90.0;
const PAD_X: f64 = 26.0;
const PAD_TOP: f64 = 14.0;
const PAD_BOTTOM: f64 = 18.0;

/// The trend of one target as an inline SVG: the behaviour pass rate (0-100%) per version,
/// oldest on the left, each point labelled with its rate and version and titled with its
/// counts. Empty when the target has fewer than two versions to compare.
pub fn svg(trend: &TargetTrend) -> String {
    let n = trend.points.len();
    if n < 2 {
        return String::new();
    }
    let x = |i: usize| PAD_X + (WIDTH - 2.0 * PAD_X) * i as f64 / (n - 1) as f64;
    let y = |rate: f64| PAD_TOP + (HEIGHT - PAD_TOP - PAD_BOTTOM) * (1.0 - rate / 100.0);
    let path: Vec<String> = trend
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.rate())))
        .collect();
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<figure class="trend" data-target="{name}" data-points="{n}"><svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{name}: behaviour pass rate per version"><line x1="{PAD_X}" y1="{base:.1}" x2="{right:.1}" y2="{base:.1}" class="axis"/><polyline points="{points}" class="line"/>"#,
        name = esc(&trend.name),
        base = y(0.0),
        right = WIDTH - PAD_X,
        points = path.join(" "),
    );
    for (i, p) in trend.points.iter().enumerate() {
        let _ = write!(
            out,
            r#"<g class="point{pinned}" data-version="{ver}" data-behaviour-passed="{passed}" data-behaviour-total="{total}"><title>{name} {ver}: {passed}/{total} behaviour checks pass (ran {date})</title><circle cx="{cx:.1}" cy="{cy:.1}" r="3.5"/><text x="{cx:.1}" y="{ty:.1}" text-anchor="middle" class="rate">{rate:.0}%</text><text x="{cx:.1}" y="{vy:.1}" text-anchor="middle" class="ver">{ver}</text></g>"#,
            pinned = if p.pinned { " pinned" } else { "" },
            name = esc(&trend.name),
            ver = esc(&p.version),
            passed = p.behaviour_passed,
            total = p.behaviour_total,
            date = esc(p.finished.get(..10).unwrap_or(&p.finished)),
            cx = x(i),
            cy = y(p.rate()),
            ty = y(p.rate()) - 6.0,
            vy = HEIGHT - 4.0,
            rate = p.rate(),
        );
    }
    let _ = write!(
        out,
        "</svg><figcaption>behaviour pass rate per version</figcaption></figure>"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(version: &str, passed: usize, total: usize, pinned: bool) -> TrendPoint {
        TrendPoint {
            version: version.into(),
            behaviour_passed: passed,
            behaviour_total: total,
            finished: "2026-12-03T00:00:00Z".into(),
            pinned,
        }
    }

    #[test]
    fn versions_sort_in_release_order_not_text_order() {
        let mut v = vec!["5.1.22", "5.0.28", "5.1.3", "5.2.5"];
        v.sort_by_key(|a| version_key(a));
        assert_eq!(v, ["5.0.28", "5.1.3", "5.1.22", "5.2.5"]);
    }

    #[test]
    fn the_chart_places_each_version_at_its_rate() {
        let t = TargetTrend {
            name: "moto".into(),
            points: vec![
                point("5.0.28", 50, 100, false),
                point("5.2.5", 75, 100, true),
            ],
        };
        let svg = svg(&t);
        assert!(svg.contains(r#"data-points="2""#), "{svg}");
        // 50% sits halfway down the plot area, 75% a quarter of the way down.
        let plot = HEIGHT - PAD_TOP - PAD_BOTTOM;
        assert!(
            svg.contains(&format!("cy=\"{:.1}\"", PAD_TOP + plot * 0.5)),
            "{svg}"
        );
        assert!(
            svg.contains(&format!("cy=\"{:.1}\"", PAD_TOP + plot * 0.25)),
            "{svg}"
        );
        assert!(svg.contains(">50%<") && svg.contains(">75%<"), "{svg}");
        assert!(
            svg.contains(r#"class="point pinned" data-version="5.2.5""#),
            "{svg}"
        );
    }

    #[test]
    fn one_version_is_no_trend() {
        let t = TargetTrend {
            name: "moto".into(),
            points: vec![point("5.2.5", 1, 2, true)],
        };
        assert_eq!(svg(&t), "");
    }
}
