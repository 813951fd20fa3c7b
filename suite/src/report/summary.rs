//! The table printed at the end of `cogcheck run`: verdicts per area, then every failure with
//! its step, expected and actual values.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::expectations::Verdict;
use crate::run::{Outcome, ScenarioResult};

/// Renders the summary.
pub fn render(target: &str, verdicts: &[(ScenarioResult, Verdict)]) -> String {
    let mut by_area: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for (r, v) in verdicts {
        *by_area
            .entry(&r.area)
            .or_default()
            .entry(v.name())
            .or_default() += 1;
    }
    let cols = Verdict::NAMES;
    let mut out = String::new();
    let _ = writeln!(out, "\ncogcheck results against {target}\n");
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

    for (r, v) in verdicts.iter().filter(|(_, v)| v.is_failure()) {
        let _ = writeln!(out, "\n{} {}", v.name().to_uppercase(), r.name);
        match v {
            Verdict::Changed { note } => {
                let _ = writeln!(out, "  {note}");
            }
            Verdict::UnexpectedPass { reason } => {
                let _ = writeln!(out, "  listed as a known failure ({reason}) but passed: update fixtures/expectations/{target}.json");
            }
            _ => {}
        }
        if let Outcome::Failed(f) = &r.outcome {
            let _ = writeln!(out, "  step {} [{}]: {}", f.step, f.check, f.summary);
            if !f.diff.is_empty() {
                for line in f.diff.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
    }
    out
}
