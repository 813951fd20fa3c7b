//! `reports/compatibility.md`: summary per target, views by area and by quota category, the
//! operation × target matrix, then every failing scenario with its step, expected and actual
//! values and the diff.

use std::fmt::Write;

use super::matrix::{percent, CellStatus, Matrix, ScenarioResultView};

/// Longest expected / actual / diff text shown per failure; the JSON report has them whole.
const MAX_TEXT: usize = 2_000;

/// Renders the Markdown report.
pub fn render(m: &Matrix) -> String {
    let mut out = String::new();
    let seed_total = m.operations.iter().filter(|o| o.seed).count();
    let _ = writeln!(
        out,
        "# Amazon Cognito User Pools: compatibility of emulators\n"
    );
    let _ = writeln!(
        out,
        "Generated {} by cogcheck {} against the service model {}: {} operations ({} of them on \
         the seed list, marked ★), {} scenarios. Interactive version: \
         [compatibility.html](compatibility.html); machine-readable: \
         [compatibility.json](compatibility.json).\n",
        date(&m.generated),
        m.cogcheck,
        m.model,
        m.operations.len(),
        seed_total,
        m.scenarios.len()
    );

    let _ = writeln!(out, "## Targets\n");
    let _ = writeln!(
        out,
        "| target | version | configuration | run | checks passed | operations ✅ | seed actions fully passing | failing only on framing |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for t in &m.targets {
        match (&t.unavailable, &t.run) {
            (None, Some(run)) => {
                let s = &t.summary;
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {}/{} ({}) | {}/{} | {}/{} ({}) | {} |",
                    cell_text(&t.name),
                    cell_text(&t.version),
                    cell_text(&t.configuration),
                    date(&run.finished),
                    s.checks_passed,
                    s.checks_total,
                    percent(s.checks_passed, s.checks_total),
                    s.operations_passing,
                    s.operations_covered,
                    s.seed_passing,
                    s.seed_total,
                    percent(s.seed_passing, s.seed_total),
                    s.checks_framing_only
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | not available (see below) | – | – | – |",
                    cell_text(&t.name),
                    cell_text(&t.version),
                    cell_text(&t.configuration)
                );
            }
        }
    }
    let _ = writeln!(out);
    for t in m.targets.iter().filter(|t| t.unavailable.is_some()) {
        let reason = t.unavailable.as_deref().unwrap_or_default();
        let _ = writeln!(
            out,
            "**{} could not be installed or started** on the machine that built this report:\n",
            t.name
        );
        let _ = writeln!(out, "{}\n", fenced(reason, ""));
    }
    let ran = m.ran().count();
    if ran > 0 {
        let _ = writeln!(
            out,
            "**Interop:** {} operations ({} of the {} seed actions) pass every check on all {} \
             target(s) that ran{}\n",
            m.interop.len(),
            m.interop_seed(),
            seed_total,
            ran,
            if m.interop.is_empty() {
                ".".to_string()
            } else {
                format!(
                    ": {}.",
                    m.interop
                        .iter()
                        .map(|o| format!("`{o}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
    }

    let _ = writeln!(out, "## How to read it\n");
    for s in CellStatus::ALL {
        let _ = writeln!(out, "- {} {}", s.symbol(), s.meaning());
    }
    let _ = writeln!(
        out,
        "\nA **check** of an operation on a target is one scenario that covers the operation \
         (lists it in `covers`) and ran on that target; it passes when the scenario passes. A \
         scenario that fails at any step, even a setup step before the operation, is a failed \
         check: the operation's behaviour is unverified there. Scenarios skipped for a missing \
         capability are not checks. Setup steps in scenarios that do not cover the operation \
         are not checks, but an \"unknown operation\" answer to any step marks the operation ⛔. \
         A cell shows passing checks / checks; a target's share of checks passed sums them over \
         all operations. A seed action is *fully passing* when its cell is ✅.\n"
    );

    for (title, by_area) in [("By area", true), ("By quota category", false)] {
        let _ = writeln!(out, "## {title}\n");
        let _ = write!(
            out,
            "| {} | operations |",
            if by_area {
                "area"
            } else {
                "category (default rate)"
            }
        );
        for t in &m.targets {
            let _ = write!(out, " {} |", cell_text(&t.name));
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "|---|---|{}", "---|".repeat(m.targets.len()));
        for (group, counts) in m.groups(by_area) {
            let label = if by_area {
                group.clone()
            } else {
                match m.category_rates.get(&group).copied().flatten() {
                    Some(rate) => format!("{group} ({rate}/s)"),
                    None => group.clone(),
                }
            };
            let _ = write!(
                out,
                "| {} | {} |",
                cell_text(&label),
                counts.first().map_or(0, |c| c.operations)
            );
            for (t, c) in m.targets.iter().zip(&counts) {
                if t.unavailable.is_some() {
                    let _ = write!(out, " n/a |");
                } else {
                    let _ = write!(
                        out,
                        " {}/{} ✅ · {}/{} checks |",
                        c.operations_passing, c.operations, c.checks_passed, c.checks_total
                    );
                }
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(out);
    }

    let _ = writeln!(out, "## Operations\n");
    let _ = write!(out, "| operation | area | quota category |");
    for t in &m.targets {
        let _ = write!(out, " {} |", cell_text(&t.name));
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "|---|---|---|{}", ":---:|".repeat(m.targets.len()));
    for row in &m.operations {
        let _ = write!(
            out,
            "| `{}`{} | {} | {} |",
            row.name,
            if row.seed { " ★" } else { "" },
            cell_text(row.primary_area()),
            cell_text(&row.category)
        );
        for c in &row.cells {
            let _ = write!(out, " {} |", c.label());
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out);

    let _ = writeln!(out, "## Failures\n");
    for t in m.ran().map(|(_, t)| t) {
        let _ = writeln!(out, "### {}\n", t.name);
        let verdicts: Vec<String> = t
            .summary
            .verdicts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(v, n)| format!("{n} {}", v.replace('_', " ")))
            .collect();
        let _ = writeln!(
            out,
            "{} scenarios did not pass ({}).\n",
            t.failures.len(),
            verdicts.join(", ")
        );
        for f in &t.failures {
            failure(&mut out, f);
        }
        if !t.unexpected_passes.is_empty() {
            let _ = writeln!(
                out,
                "Listed as known failures but passed (update `fixtures/expectations/{}.json`):\n",
                t.name
            );
            for (name, reason) in &t.unexpected_passes {
                let _ = writeln!(out, "- `{name}` (recorded: {})", inline(reason));
            }
            let _ = writeln!(out);
        }
        if !t.skipped.is_empty() {
            let _ = writeln!(out, "Skipped on {}:\n", t.name);
            for (name, reason) in &t.skipped {
                let _ = writeln!(out, "- `{name}`: {}", inline(reason));
            }
            let _ = writeln!(out);
        }
    }
    out
}

fn failure(out: &mut String, f: &ScenarioResultView) {
    let _ = writeln!(
        out,
        "#### `{}` — {}\n",
        f.scenario,
        f.verdict.replace('_', " ")
    );
    let step = match (&f.step, &f.step_label) {
        (Some(i), Some(label)) => format!("step {i} `{label}`"),
        (Some(i), None) => format!("step {i}"),
        _ => "a step".to_string(),
    };
    if f.outcome == "unsupported" {
        let _ = writeln!(
            out,
            "{step}: the target does not implement `{}`.\n",
            f.unsupported_action.as_deref().unwrap_or("?")
        );
    } else {
        let _ = writeln!(
            out,
            "{step}, check `{}`: {}\n",
            f.check.as_deref().unwrap_or("?"),
            inline(f.summary.as_deref().unwrap_or(""))
        );
    }
    // An expectations entry written by `--update-expectations` repeats the summary: say it once.
    if let Some(reason) = f.reason.as_ref().filter(|r| f.summary.as_ref() != Some(*r)) {
        let label = match f.verdict.as_str() {
            "expected_failure" => "Known failure",
            "changed" => "Changed",
            _ => "Note",
        };
        let _ = writeln!(out, "> {label}: {}\n", inline(reason));
    }
    let parts: Vec<(&str, &Option<String>, &str)> = vec![
        ("expected", &f.expected, ""),
        ("actual", &f.actual, ""),
        ("diff", &f.diff, "diff"),
    ];
    if parts.iter().any(|(_, t, _)| t.is_some()) {
        let _ = writeln!(out, "<details><summary>expected, actual, diff</summary>\n");
        for (name, text, lang) in parts {
            if let Some(text) = text {
                let _ = writeln!(
                    out,
                    "{name}:\n\n{}\n",
                    fenced(&super::cut_at(MAX_TEXT, text), lang)
                );
            }
        }
        let _ = writeln!(out, "</details>\n");
    }
}

/// A fenced code block whose fence is longer than any backtick run in `text`.
fn fenced(text: &str, lang: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{lang}\n{}\n{fence}", text.trim_end())
}

/// Text safe inside a table cell.
fn cell_text(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Text safe on one Markdown line.
fn inline(text: &str) -> String {
    let one = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one.replace('<', "&lt;").replace('>', "&gt;")
}

/// `2026-11-26` of an RFC 3339 time.
fn date(rfc3339: &str) -> String {
    rfc3339.get(..10).unwrap_or(rfc3339).to_string()
}
