//! The table printed at the end of `cogcheck run`: verdicts per area, deviations per axis, the
//! security findings, then every failing scenario with its new findings.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::expectations::{Judgement, Strictness, Verdict};
use crate::finding::{Axis, ScenarioResult, Severity};

/// Renders the summary.
pub fn render(
    target: &str,
    verdicts: &[(ScenarioResult, Judgement)],
    strictness: Strictness,
) -> String {
    let mut by_area: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for (r, j) in verdicts {
        *by_area
            .entry(&r.area)
            .or_default()
            .entry(j.verdict.name())
            .or_default() += 1;
    }
    let cols = Verdict::NAMES;
    let mut out = String::new();
    let decided = match strictness {
        Strictness::Behaviour => "behaviour verdicts (--strict: every axis)",
        Strictness::Strict => "strict verdicts (behaviour, shape and protocol)",
    };
    let _ = writeln!(out, "\ncogcheck results against {target}: {decided}\n");
    let _ = write!(out, "{:<20}", "area");
    for c in cols {
        let _ = write!(out, " {:>16}", c);
    }
    let _ = writeln!(out);
    let mut totals = BTreeMap::new();
    for (area, counts) in &by_area {
        let _ = write!(out, "{area:<20}");
        for c in cols {
            let n = counts.get(c).copied().unwrap_or(0);
            *totals.entry(c).or_insert(0) += n;
            let _ = write!(out, " {n:>16}");
        }
        let _ = writeln!(out);
    }
    let _ = write!(out, "{:<20}", "total");
    for c in cols {
        let _ = write!(out, " {:>16}", totals.get(c).copied().unwrap_or(0));
    }
    let _ = writeln!(out);

    // Per axis: how many scenarios deviate, and how many of those deviations are new.
    let _ = writeln!(out);
    for axis in Axis::ALL {
        let deviating = verdicts
            .iter()
            .filter(|(r, _)| r.on(axis).next().is_some())
            .count();
        let new = verdicts
            .iter()
            .filter(|(r, j)| j.new_findings(r, axis).next().is_some())
            .count();
        let _ = writeln!(
            out,
            "{:<10} deviations in {deviating} scenarios ({new} not in the expectations file)",
            axis.name()
        );
    }

    let security: Vec<_> = verdicts
        .iter()
        .flat_map(|(r, _)| r.findings.iter().map(move |f| (r, f)))
        .filter(|(_, f)| f.severity == Severity::Security)
        .collect();
    if !security.is_empty() {
        let _ = writeln!(out, "\nsecurity-severity deviations:");
        for (r, f) in security {
            let _ = writeln!(out, "  {} {}", r.name, f.headline());
        }
    }

    for (r, j) in verdicts.iter().filter(|(_, j)| j.verdict.is_failure()) {
        let _ = writeln!(out, "\n{} {}", j.verdict.name().to_uppercase(), r.name);
        if let Some(t) = j.verdict.text() {
            let _ = writeln!(out, "  {t}");
        }
        for axis in Axis::ALL {
            for f in j.new_findings(r, axis) {
                let _ = writeln!(out, "  new: {}", f.headline());
                for line in f.diff.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        for s in &j.stale {
            let _ = writeln!(
                out,
                "  no longer happens: {s} (update fixtures/expectations/{target}.json)"
            );
        }
    }
    out
}
