//! `reports/compatibility.md`: the behaviour-first headline per target, views by area and by
//! quota category, the operation × target matrix, then per target its behaviour deviations
//! (security first), its shape and protocol deviations by kind with what the SDKs make of them,
//! and the operations it does not implement.

use std::fmt::Write;

use super::matrix::{
    percent, CellStatus, FindingView, Matrix, Standing, TargetColumn, PROTOCOL_BADGE, SHAPE_BADGE,
};
use crate::finding::Severity;

/// Longest expected / actual / diff text shown per finding; the JSON report has them whole.
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
        "| target | version | configuration | run | behaviour checks passed | operations ✅ | \
         seed actions fully passing | unsupported operations | checks with shape findings | \
         checks with protocol findings | security deviations |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|");
    for t in &m.targets {
        match (&t.unavailable, &t.run) {
            (None, Some(run)) => {
                let s = &t.summary;
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {}/{} ({}) | {}/{} | {}/{} ({}) | {} ({} checks) | {} | \
                     {} | {} |",
                    cell_text(&t.name),
                    cell_text(&t.version),
                    cell_text(&t.configuration),
                    date(&run.finished),
                    s.behaviour_passed,
                    s.behaviour_total,
                    percent(s.behaviour_passed, s.behaviour_total),
                    s.operations_passing,
                    s.operations_covered,
                    s.seed_passing,
                    s.seed_total,
                    percent(s.seed_passing, s.seed_total),
                    s.unsupported_operations,
                    s.unsupported_checks,
                    s.checks_with_shape,
                    s.checks_with_protocol,
                    s.security_deviations,
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | not available (see below) | – | – | – | – | – | – | – |",
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
            "**Interop:** {} operations ({} of the {} seed actions) behave like AWS in every \
             check on all {} target(s) that ran{}\n",
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

    if !m.trend.is_empty() {
        let _ = writeln!(
            out,
            "## Behaviour across versions\n\nThe same scenarios against earlier releases \
             (`cogcheck report --versions`); the pinned version, the column above, is in bold.\n\n\
             | target | version | behaviour like AWS | checks | ran |\n|---|---|---:|---:|---|"
        );
        for t in &m.trend {
            for p in &t.points {
                let bold = if p.pinned { "**" } else { "" };
                let _ = writeln!(
                    out,
                    "| {} | {bold}{}{bold} | {bold}{}{bold} | {}/{} | {} |",
                    t.name,
                    p.version,
                    percent(p.behaviour_passed, p.behaviour_total),
                    p.behaviour_passed,
                    p.behaviour_total,
                    p.finished.get(..10).unwrap_or(&p.finished),
                );
            }
        }
        let _ = writeln!(out);
    }

    let _ = writeln!(out, "## How to read it\n");
    for s in CellStatus::ALL {
        let _ = writeln!(out, "- {} {}", s.symbol(), s.meaning());
    }
    let _ = writeln!(
        out,
        "- {SHAPE_BADGE} after the symbol: some of the cell's checks also have shape findings \
         (the answer does not fit the service model); {PROTOCOL_BADGE}: protocol findings \
         (awsJson1_1 framing). Neither changes the behaviour verdict."
    );
    let _ = writeln!(
        out,
        "\nA **check** is one scenario that covers an operation (lists it in `covers`) and ran \
         on a target; a scenario covering two operations is a check of each. Skipped scenarios \
         (a missing capability) are not checks. A check whose scenario reached an operation the \
         target does not implement is counted as **unsupported**, apart, never as a failure. \
         Every other check is a **behaviour check**: it passes when the target did what AWS \
         does at every step of the scenario (setup steps included), and fails otherwise, known \
         deviations (expected failures) included: they are real differences from AWS. Shape \
         and protocol findings never fail a behaviour check. A cell shows passing behaviour \
         checks / behaviour checks; a target's behaviour pass rate sums them over every \
         operation it implements. A seed action is *fully passing* when its cell is ✅. \
         \"Checks with shape / protocol findings\" count behaviour checks whose scenario shows \
         at least one such finding.\n"
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

    let _ = writeln!(out, "## Deviations\n");
    for t in m.ran().map(|(_, t)| t) {
        target_section(&mut out, m, t);
    }
    out
}

/// One target's deviations: behaviour by severity (security first), shape and protocol by
/// kind, unsupported operations, then what the expectations file needs and what was skipped.
fn target_section(out: &mut String, m: &Matrix, t: &TargetColumn) {
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
        "Scenario verdicts of the run: {}.\n",
        verdicts.join(", ")
    );
    for severity in Severity::BEHAVIOUR {
        let list: Vec<&FindingView> = t.deviations_of(severity).collect();
        let _ = writeln!(
            out,
            "#### {} deviations on {} ({})\n",
            capitalised(severity.name()),
            t.name,
            list.len()
        );
        if list.is_empty() {
            let _ = writeln!(out, "None.\n");
            continue;
        }
        for f in list {
            finding(out, f);
        }
        let _ = writeln!(out);
    }

    if !t.inferred.is_empty() {
        let _ = writeln!(
            out,
            "#### Inferred expectations not met on {} ({}, not counted)\n\nNo AWS page, \
             test or recording states these; they are shown, never held against {0}.\n",
            t.name,
            t.inferred.len()
        );
        for f in &t.inferred {
            finding(out, f);
        }
        let _ = writeln!(out);
    }

    let _ = writeln!(
        out,
        "#### Shape and protocol deviations on {} ({} kinds)\n",
        t.name,
        t.wire.len()
    );
    if t.wire.is_empty() {
        let _ = writeln!(out, "None.\n");
    } else {
        if !m.sdk_tolerance {
            let _ = writeln!(
                out,
                "What the SDKs make of them is not measured: `fixtures/sdk-tolerance.json` is \
                 absent.\n"
            );
        }
        let _ = writeln!(
            out,
            "| deviation | findings | scenarios | SDKs | known | example |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for w in &t.wire {
            let known = w.known_text();
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} |",
                w.kind(),
                w.findings,
                w.scenarios.len(),
                cell_text(&w.sdk.label()),
                cell_text(&inline(&known)),
                cell_text(&inline(&w.example))
            );
        }
        let _ = writeln!(out);
    }

    let _ = writeln!(
        out,
        "#### Operations {} does not implement ({})\n",
        t.name,
        t.unsupported.len()
    );
    if t.unsupported.is_empty() {
        let _ = writeln!(out, "None.\n");
    } else {
        for u in &t.unsupported {
            let _ = writeln!(
                out,
                "- `{}`{}: {} scenario(s), e.g. `{}`",
                u.operation,
                if u.answer.is_empty() {
                    String::new()
                } else {
                    format!(" (answers {})", inline(&u.answer))
                },
                u.scenarios.len(),
                u.scenarios.first().map_or("", String::as_str)
            );
        }
        let _ = writeln!(out);
    }

    if !t.unexpected_passes.is_empty() {
        let _ = writeln!(
            out,
            "#### Known deviations that no longer occur on {0}\n\nUpdate \
             `fixtures/expectations/{0}.json`:\n",
            t.name
        );
        for (name, stale) in &t.unexpected_passes {
            let _ = writeln!(out, "- `{name}`: {}", inline(stale));
        }
        let _ = writeln!(out);
    }
    if !t.skipped.is_empty() {
        let _ = writeln!(out, "#### Skipped on {}\n", t.name);
        for (name, reason) in &t.skipped {
            let _ = writeln!(out, "- `{name}`: {}", inline(reason));
        }
        let _ = writeln!(out);
    }
}

/// One behaviour finding as a list item, with its evidence and, folded, expected, actual, diff.
fn finding(out: &mut String, f: &FindingView) {
    let status = match f.standing() {
        Standing::Inferred => "inferred, not counted".to_string(),
        Standing::Known(reason) if reason != f.summary => format!("known: {}", inline(&reason)),
        Standing::Known(_) => "known".to_string(),
        Standing::New => "**new**".to_string(),
    };
    let _ = writeln!(
        out,
        "- `{}` {}, check `{}` at `{}`: {} — {}",
        f.scenario,
        f.at(),
        f.check,
        f.path,
        inline(&f.summary),
        status
    );
    let parts: Vec<(&str, &str, &str)> = vec![
        ("expected", &f.expected, ""),
        ("actual", &f.actual, ""),
        ("diff", &f.diff, "diff"),
    ];
    let _ = write!(out, "  <details><summary>evidence");
    if parts.iter().any(|(_, t, _)| !t.is_empty()) {
        let _ = write!(out, ", expected, actual, diff");
    }
    let _ = writeln!(out, "</summary>\n");
    let _ = writeln!(out, "  source: {}\n", inline(&f.source));
    for (name, text, lang) in parts {
        if !text.is_empty() {
            let block = fenced(&super::cut_at(MAX_TEXT, text), lang);
            let _ = writeln!(out, "  {name}:\n\n{}\n", indent(&block));
        }
    }
    let _ = writeln!(out, "  </details>\n");
}

/// `text` with every line indented by two spaces (inside a list item).
fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn capitalised(word: &str) -> String {
    let mut c = word.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
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
