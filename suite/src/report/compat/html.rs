//! `reports/compatibility.html`: one self-contained page (inline CSS and JS, no network) with
//! the target summaries (behaviour first), each target's deviations (security first, shape and
//! protocol by kind with what the SDKs make of them, unsupported operations), the matrix
//! (sortable; filterable by name, area, quota category, seed / non-seed and status; groupable
//! by area or category; a badge on cells whose checks also show shape or protocol findings)
//! and, on a click on a cell, the checks behind it with every finding: axis, severity, path,
//! expected and actual values, the diff, its evidence and whether it is known.
//!
//! The matrix is rendered on the server side, so the page reads without JavaScript; the script
//! only filters, sorts, groups and opens details from a JSON island (`<script id="data">`).

use std::fmt::Write;

use serde_json::{json, Map, Value};

use super::matrix::{
    percent, Cell, CellStatus, CheckStatus, FindingView, Matrix, Standing, TargetColumn,
    PROTOCOL_BADGE, SHAPE_BADGE,
};
use crate::finding::Severity;

/// Longest expected / actual / diff text embedded per failure; the JSON report has them whole.
const MAX_TEXT: usize = 6_000;

/// Renders the page.
pub fn render(m: &Matrix) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let seed_total = m.operations.iter().filter(|o| o.seed).count();
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="cogcheck {ver}">
<title>Amazon Cognito User Pools compatibility — cogcheck</title>
<style>{css}</style>
</head>
<body>
<header class="top">
<div class="wrap">
<h1>Amazon Cognito User Pools <span class="thin">compatibility</span></h1>
<p class="meta">Generated <time datetime="{gen}">{gen_date}</time> by cogcheck {ver} · service model {model} · {ops} operations, {seed} on the seed list <span class="star" title="seed action">★</span> · {scen} scenarios</p>
</div>
</header>
<main class="wrap">
"#,
        ver = esc(&m.cogcheck),
        css = CSS,
        gen = esc(&m.generated),
        gen_date = esc(m.generated.get(..10).unwrap_or(&m.generated)),
        model = esc(&m.model),
        ops = m.operations.len(),
        seed = seed_total,
        scen = m.scenarios.len(),
    );

    // Target cards.
    let _ = writeln!(out, r#"<section class="cards" aria-label="targets">"#);
    for t in &m.targets {
        let s = &t.summary;
        match (&t.unavailable, &t.run) {
            (None, Some(run)) => {
                let pct = if s.behaviour_total == 0 {
                    0.0
                } else {
                    s.behaviour_passed as f64 * 100.0 / s.behaviour_total as f64
                };
                let _ = writeln!(
                    out,
                    r#"<article class="card" data-target="{name}" data-status="ran" data-behaviour-passed="{cp}" data-behaviour-total="{ct}" data-seed-passing="{sp}" data-seed-total="{st}" data-operations-passing="{op}" data-unsupported-operations="{uo}" data-unsupported-checks="{uc}" data-checks-with-shape="{sh}" data-checks-with-protocol="{pr}" data-security="{sec}">
<h2>{name} <span class="ver">{ver}</span></h2>
<p class="big"><span class="pct">{pcts}</span> <span class="of">behaviour like AWS ({cp}/{ct} checks of implemented operations)</span></p>
<div class="bar" role="img" aria-label="{pcts} of behaviour checks pass"><span style="width:{pct:.1}%"></span></div>
<ul class="facts">
<li><b class="sec-count">{sec}</b> security deviation(s) · {known} failing check(s) are known deviations</li>
<li><b>{sp}/{st}</b> seed actions fully pass ({spp})</li>
<li><b>{op}</b> of {oc} covered operations pass every check</li>
<li><b>{uo}</b> operations not implemented ({uc} checks, counted apart)</li>
<li><b>{sh}</b> checks with shape findings {shb} · <b>{pr}</b> with protocol findings {prb}</li>
<li>ran <time datetime="{fin}">{fin_date}</time></li>
</ul>
{trend}<p class="conf">{conf}</p>
</article>"#,
                    name = esc(&t.name),
                    ver = esc(&t.version),
                    cp = s.behaviour_passed,
                    ct = s.behaviour_total,
                    known = s.behaviour_known,
                    uo = s.unsupported_operations,
                    uc = s.unsupported_checks,
                    sh = s.checks_with_shape,
                    pr = s.checks_with_protocol,
                    shb = SHAPE_BADGE,
                    prb = PROTOCOL_BADGE,
                    sec = s.security_findings,
                    sp = s.seed_passing,
                    st = s.seed_total,
                    op = s.operations_passing,
                    oc = s.operations_covered,
                    pcts = percent(s.behaviour_passed, s.behaviour_total),
                    spp = percent(s.seed_passing, s.seed_total),
                    pct = pct,
                    fin = esc(&run.finished),
                    fin_date = esc(run.finished.get(..10).unwrap_or(&run.finished)),
                    trend = m
                        .trend
                        .iter()
                        .find(|x| x.name == t.name)
                        .map(super::trend::svg)
                        .unwrap_or_default(),
                    conf = esc(&t.configuration),
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    r#"<article class="card unavailable" data-target="{name}" data-status="unavailable">
<h2>{name} <span class="ver">{ver}</span></h2>
<p class="big"><span class="pct">n/a</span> <span class="of">could not be installed or started</span></p>
<details><summary>Why</summary><pre>{reason}</pre></details>
<p class="conf">{conf}</p>
</article>"#,
                    name = esc(&t.name),
                    ver = esc(&t.version),
                    reason = esc(t.unavailable.as_deref().unwrap_or_default()),
                    conf = esc(&t.configuration),
                );
            }
        }
    }
    let _ = writeln!(out, "</section>");

    let ran = m.ran().count();
    if ran > 0 {
        let _ = writeln!(
            out,
            r#"<p class="interop" data-interop="{n}"><b>Interop:</b> {n} operations ({s} of {st} seed actions) behave like AWS in every check on all {ran} target(s) that ran.{list}</p>"#,
            n = m.interop.len(),
            s = m.interop_seed(),
            st = seed_total,
            ran = ran,
            list = if m.interop.is_empty() {
                String::new()
            } else {
                format!(
                    r#" <details class="inline"><summary>Show them</summary><span class="oplist">{}</span></details>"#,
                    m.interop
                        .iter()
                        .map(|o| format!("<code>{}</code>", esc(o)))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            }
        );
    }

    // Deviations per target, security first.
    if ran > 0 {
        let _ = writeln!(
            out,
            r#"<section class="deviations" id="deviations" aria-label="deviations per target"><h2>Deviations</h2>"#
        );
        for t in m.ran().map(|(_, t)| t) {
            deviations(&mut out, m, t);
        }
        let _ = writeln!(out, "</section>");
    }

    // Legend and definition.
    let _ = writeln!(out, r#"<section class="legend" aria-label="legend"><ul>"#);
    for s in CellStatus::ALL {
        let _ = writeln!(
            out,
            r#"<li><span class="chip s-{n}">{sym}</span> {meaning}</li>"#,
            n = s.name(),
            sym = icon(s),
            meaning = esc(s.meaning())
        );
    }
    let _ = writeln!(
        out,
        r#"<li><span class="chip wire">{SHAPE_BADGE}</span> some checks also have shape findings</li><li><span class="chip wire">{PROTOCOL_BADGE}</span> some checks also have protocol findings</li>"#
    );
    let _ = writeln!(
        out,
        r#"</ul><p class="def"><b>Checks.</b> A check is one scenario that covers an operation and ran on a target (skipped scenarios are not checks). A check that reached an operation the target does not implement is counted apart as unsupported, never as a failure. Every other check is a behaviour check: it passes when the target did what AWS does at every step (setup included) and fails otherwise, known deviations included. Shape and protocol findings never fail a check; they show as a badge. Click a cell for its scenarios and every finding.</p></section>"#
    );

    // Group views.
    let _ = writeln!(out, r#"<section class="groups">"#);
    for (title, by_area, id) in [
        ("By area", true, "by-area"),
        ("By quota category", false, "by-category"),
    ] {
        let _ = writeln!(
            out,
            r#"<details class="group-view" id="{id}"><summary>{title}</summary><table class="gtable"><thead><tr><th>{head}</th><th class="num">operations</th>"#,
            head = if by_area {
                "area"
            } else {
                "category (default rate)"
            }
        );
        for t in &m.targets {
            let _ = write!(out, "<th>{}</th>", esc(&t.name));
        }
        let _ = writeln!(out, "</tr></thead><tbody>");
        for (group, counts) in m.groups(by_area) {
            let label = if by_area {
                esc(&group)
            } else {
                match m.category_rates.get(&group).copied().flatten() {
                    Some(rate) => format!("{} <small>{rate}/s</small>", esc(&group)),
                    None => esc(&group),
                }
            };
            let _ = write!(
                out,
                r#"<tr><th scope="row">{label}</th><td class="num">{}</td>"#,
                counts.first().map_or(0, |c| c.operations)
            );
            for (t, c) in m.targets.iter().zip(&counts) {
                if t.unavailable.is_some() {
                    let _ = write!(out, r#"<td class="muted">n/a</td>"#);
                } else {
                    let ratio = if c.checks_total == 0 {
                        0.0
                    } else {
                        c.checks_passed as f64 * 100.0 / c.checks_total as f64
                    };
                    let _ = write!(
                        out,
                        r#"<td><div class="mini"><span style="width:{ratio:.0}%"></span></div>{}/{} ops pass · {}/{} checks</td>"#,
                        c.operations_passing, c.operations, c.checks_passed, c.checks_total
                    );
                }
            }
            let _ = writeln!(out, "</tr>");
        }
        let _ = writeln!(out, "</tbody></table></details>");
    }
    let _ = writeln!(out, "</section>");

    // Controls.
    let mut areas: Vec<&str> = m
        .operations
        .iter()
        .flat_map(|o| o.areas.iter().map(String::as_str))
        .collect();
    areas.sort_unstable();
    areas.dedup();
    let mut categories: Vec<&str> = m.operations.iter().map(|o| o.category.as_str()).collect();
    categories.sort_unstable();
    categories.dedup();
    let _ = writeln!(
        out,
        r#"<div class="controls" id="controls" role="search">
<label class="grow">Operation <input id="q" type="search" placeholder="filter by name…" autocomplete="off"></label>
<label>Area <select id="f-area"><option value="">all</option>{areas}<option value="not covered">not covered</option></select></label>
<label>Quota category <select id="f-category"><option value="">all</option>{cats}</select></label>
<label>Seed <select id="f-seed"><option value="">all</option><option value="seed">seed ★</option><option value="non-seed">non-seed</option></select></label>
<label>Status <select id="f-status"><option value="">any</option>{statuses}</select></label>
<label>on <select id="f-target"><option value="">any target</option>{targets}</select></label>
<label>Group <select id="f-group"><option value="">none</option><option value="area">by area</option><option value="category">by quota category</option></select></label>
<span class="count" id="count" aria-live="polite"></span>
</div>"#,
        areas = areas
            .iter()
            .map(|a| format!(r#"<option value="{0}">{0}</option>"#, esc(a)))
            .collect::<String>(),
        cats = categories
            .iter()
            .map(|c| format!(r#"<option value="{0}">{0}</option>"#, esc(c)))
            .collect::<String>(),
        statuses = CellStatus::ALL
            .iter()
            .filter(|s| **s != CellStatus::Unavailable)
            .map(|s| format!(
                r#"<option value="{}">{}</option>"#,
                s.name(),
                s.name().replace('_', " ")
            ))
            .collect::<String>(),
        targets = m
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| format!(r#"<option value="{i}">{}</option>"#, esc(&t.name)))
            .collect::<String>(),
    );

    // The matrix.
    let _ = writeln!(
        out,
        r#"<table id="matrix" class="matrix"><thead><tr><th data-sort="name" class="sortable" aria-sort="ascending" scope="col">Operation</th><th data-sort="area" class="sortable" scope="col">Area</th><th data-sort="category" class="sortable" scope="col">Quota category</th>"#
    );
    for (i, t) in m.targets.iter().enumerate() {
        let _ = write!(
            out,
            r#"<th data-sort="t{i}" class="sortable target" scope="col">{}<small>{}</small></th>"#,
            esc(&t.name),
            esc(&t.version)
        );
    }
    let _ = writeln!(out, "</tr></thead><tbody>");
    for row in &m.operations {
        let _ = write!(
            out,
            r#"<tr data-op="{name}" data-seed="{seed}" data-area="{area}" data-areas="{areas}" data-category="{cat}" data-statuses="{st}"><th scope="row"><code>{name}</code>{star}</th><td class="area">{area}</td><td class="cat">{cat}</td>"#,
            name = esc(&row.name),
            seed = if row.seed { "1" } else { "0" },
            area = esc(row.primary_area()),
            areas = esc(&row.areas.join(" ")),
            cat = esc(&row.category),
            st = row
                .cells
                .iter()
                .map(|c| c.status.name())
                .collect::<Vec<_>>()
                .join(" "),
            star = if row.seed {
                r#" <span class="star" title="on the seed list">★</span>"#
            } else {
                ""
            },
        );
        for (i, (c, t)) in row.cells.iter().zip(&m.targets).enumerate() {
            cell(&mut out, c, i, &t.name, &row.name);
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</tbody></table>");
    let _ = writeln!(
        out,
        r#"<p class="foot">Quota categories and default rates from <a href="{src}">{src}</a>. Made by cogcheck: scenarios are checked against the AWS documentation and the service model, never against an emulator.</p>"#,
        src = esc(&m.quotas_source)
    );
    let _ = writeln!(
        out,
        r#"</main>
<aside id="detail" class="drawer" hidden aria-labelledby="detail-title" role="dialog">
<div class="drawer-head"><h2 id="detail-title"></h2><button type="button" id="detail-close" aria-label="close">✕</button></div>
<div id="detail-body"></div>
</aside>
<script type="application/json" id="data">{data}</script>
<script>{js}</script>
</body>
</html>"#,
        data = data_island(m),
        js = JS
    );
    out
}

fn cell(out: &mut String, c: &Cell, target: usize, target_name: &str, op: &str) {
    let score = match c.status {
        CellStatus::Pass | CellStatus::Partial | CellStatus::Fail => {
            format!("{:.4}", c.passed as f64 / c.total.max(1) as f64)
        }
        CellStatus::Unsupported => "-1".into(),
        CellStatus::Blocked => "-1.5".into(),
        CellStatus::Skipped => "-2".into(),
        CellStatus::NotCovered => "-3".into(),
        CellStatus::Unavailable => "-4".into(),
    };
    let mut title = format!(
        "{op} on {target_name}: {}{}",
        c.status.meaning(),
        if c.status.shows_counts() {
            format!(" ({}/{} checks pass)", c.passed, c.total)
        } else {
            String::new()
        }
    );
    if c.shape > 0 {
        title.push_str(&format!("; {} with shape findings", c.shape));
    }
    if c.protocol > 0 {
        title.push_str(&format!("; {} with protocol findings", c.protocol));
    }
    if c.unsupported > 0 && c.status != CellStatus::Unsupported {
        title.push_str(&format!(
            "; {} reached an unimplemented operation",
            c.unsupported
        ));
    }
    let clickable = !c.checks.is_empty();
    let _ = write!(
        out,
        r#"<td class="cell s-{st}{click}" data-target="{target}" data-status="{st}" data-passed="{p}" data-total="{t}" data-unsupported="{u}" data-shape="{sh}" data-protocol="{pr}" data-score="{score}" title="{title}"{tab}><span class="sym" aria-hidden="true">{sym}</span>{badge}{counts}<span class="sr">{stname}{srbadge}</span></td>"#,
        st = c.status.name(),
        click = if clickable { " clickable" } else { "" },
        p = c.passed,
        t = c.total,
        u = c.unsupported,
        sh = c.shape,
        pr = c.protocol,
        badge = if c.badge().is_empty() {
            String::new()
        } else {
            format!(
                r#"<sup class="wire" aria-hidden="true">{}</sup>"#,
                c.badge()
            )
        },
        srbadge = match (c.shape > 0, c.protocol > 0) {
            (true, true) => ", with shape and protocol findings",
            (true, false) => ", with shape findings",
            (false, true) => ", with protocol findings",
            (false, false) => "",
        },
        title = esc(&title),
        tab = if clickable {
            r#" tabindex="0" role="button""#
        } else {
            ""
        },
        sym = icon(c.status),
        counts = if c.status.shows_counts() {
            format!(r#"<span class="n">{}/{}</span>"#, c.passed, c.total)
        } else {
            String::new()
        },
        stname = esc(&c.status.name().replace('_', " ")),
    );
}

/// One target's deviations: security first (always open), then functional, validation and
/// message findings, shape and protocol deviations by kind with the SDKs' view, and the
/// operations it does not implement.
fn deviations(out: &mut String, m: &Matrix, t: &TargetColumn) {
    let _ = writeln!(
        out,
        r#"<article class="devs" data-target="{name}"><h3>{name}</h3>"#,
        name = esc(&t.name)
    );
    for severity in Severity::BEHAVIOUR {
        let list: Vec<&FindingView> = t.deviations_of(severity).collect();
        let items: String = list.iter().map(|f| finding_item(f)).collect();
        let body = if list.is_empty() {
            r#"<p class="none">None.</p>"#.to_string()
        } else {
            format!(r#"<ol class="findings">{items}</ol>"#)
        };
        let head = format!(
            "{} deviations <span class=\"n\">{}</span>",
            match severity {
                Severity::Security => "Security",
                Severity::Functional => "Functional",
                Severity::Validation => "Validation",
                Severity::Message => "Message",
                Severity::Shape | Severity::Protocol => "Other",
            },
            list.len()
        );
        if severity == Severity::Security {
            let _ = writeln!(
                out,
                r#"<section class="security" data-target="{name}" data-count="{n}"><h4>{head}</h4>{body}</section>"#,
                name = esc(&t.name),
                n = list.len()
            );
        } else {
            let _ = writeln!(
                out,
                r#"<details class="sev sev-{sev}" data-count="{n}"><summary>{head}</summary>{body}</details>"#,
                sev = severity.name(),
                n = list.len()
            );
        }
    }
    if !t.inferred.is_empty() {
        let items: String = t.inferred.iter().map(finding_item).collect();
        let _ = writeln!(
            out,
            r#"<details class="sev sev-inferred" data-count="{n}"><summary>Inferred expectations not met <span class="n">{n}</span> (not counted)</summary><p class="def">No AWS page, test or recording states these; they are shown, never held against {name}.</p><ol class="findings">{items}</ol></details>"#,
            n = t.inferred.len(),
            name = esc(&t.name)
        );
    }
    let mut rows = String::new();
    for w in &t.wire {
        let known = w.known_text();
        let _ = write!(
            rows,
            r#"<tr data-kind="{kind}" data-sdk="{notice}"><td><code>{kind}</code></td><td class="num">{f}</td><td class="num">{sc}</td><td><span class="sdk sdk-{notice}" title="{detail}">{label}</span></td><td>{known}</td><td>{ex}</td></tr>"#,
            kind = esc(&w.kind()),
            f = w.findings,
            sc = w.scenarios.len(),
            notice = w.sdk.name(),
            detail = esc(w.sdk.detail()),
            label = esc(&w.sdk.label()),
            known = esc(&known),
            ex = esc(&w.example),
        );
    }
    let _ = writeln!(
        out,
        r#"<details class="wire-kinds" data-count="{n}"><summary>Shape and protocol deviations <span class="n">{n}</span> kinds</summary>{body}</details>"#,
        n = t.wire.len(),
        body = if t.wire.is_empty() {
            r#"<p class="none">None.</p>"#.to_string()
        } else {
            format!(
                r#"{note}<table class="gtable"><thead><tr><th>deviation</th><th class="num">findings</th><th class="num">scenarios</th><th>SDKs</th><th>known</th><th>example</th></tr></thead><tbody>{rows}</tbody></table>"#,
                note = if m.sdk_tolerance {
                    ""
                } else {
                    r#"<p class="none">What the SDKs make of them is not measured (no <code>fixtures/sdk-tolerance.json</code>).</p>"#
                }
            )
        }
    );
    let unsupported: String = t
        .unsupported
        .iter()
        .map(|u| {
            format!(
                r#"<li data-operation="{op}"><code>{op}</code>{answer}: {n} scenario(s)</li>"#,
                op = esc(&u.operation),
                answer = if u.answer.is_empty() {
                    String::new()
                } else {
                    format!(" (answers {})", esc(&u.answer))
                },
                n = u.scenarios.len()
            )
        })
        .collect();
    let _ = writeln!(
        out,
        r#"<details class="unsupported" data-count="{n}"><summary>Operations not implemented <span class="n">{n}</span></summary>{body}</details>"#,
        n = t.unsupported.len(),
        body = if t.unsupported.is_empty() {
            r#"<p class="none">None.</p>"#.to_string()
        } else {
            format!(r#"<ul class="oplist">{unsupported}</ul>"#)
        }
    );
    let _ = writeln!(out, "</article>");
}

/// One behaviour finding in a target's list.
fn finding_item(f: &FindingView) -> String {
    format!(
        r#"<li data-scenario="{sc}" data-step="{step}" data-known="{known}"><code>{sc}</code> {at}: {summary} <span class="tag {kclass}">{ktext}</span></li>"#,
        sc = esc(&f.scenario),
        step = f.step.map_or("cleanup".to_string(), |s| s.to_string()),
        known = if f.known.is_some() { "1" } else { "0" },
        at = esc(&f.at().replace('`', "")),
        summary = esc(&f.summary),
        kclass = match f.standing() {
            Standing::Inferred => "inferred",
            Standing::Known(_) => "known",
            Standing::New => "new",
        },
        ktext = match f.standing() {
            Standing::Inferred => "inferred, not counted".to_string(),
            Standing::Known(r) => format!("known: {}", esc(&r)),
            Standing::New => "new".to_string(),
        },
    )
}

/// The JSON the script reads: target names, per cell the checks, per target and scenario the
/// findings.
fn data_island(m: &Matrix) -> String {
    let targets: Vec<Value> = m
        .targets
        .iter()
        .map(|t| json!({"name": t.name, "version": t.version}))
        .collect();
    let cells: Map<String, Value> = m
        .operations
        .iter()
        .map(|o| {
            let per_target: Vec<Value> = o
                .cells
                .iter()
                .map(|c| {
                    json!({
                        "status": c.status.name(),
                        "passed": c.passed,
                        "total": c.total,
                        "unsupported": c.unsupported,
                        "checks": c.checks.iter().map(|k| json!([k.scenario, k.status.name(), k.verdict, k.shape, k.protocol])).collect::<Vec<_>>(),
                    })
                })
                .collect();
            (o.name.clone(), Value::Array(per_target))
        })
        .collect();
    let cut = |t: &str| (!t.is_empty()).then(|| super::cut_at(MAX_TEXT, t));
    let mut results = Map::new();
    for s in &m.scenarios {
        let per_target: Vec<Value> = s
            .results
            .iter()
            .map(|r| match r {
                Some(r) => json!({
                    "status": r.status.name(),
                    "verdict": r.verdict,
                    "axes": r.axes,
                    "reason": r.reason,
                    "outcome": r.outcome.name(),
                    "step": r.step,
                    "label": r.step_label,
                    "outcome_reason": r.outcome_reason,
                    "action": r.unsupported_action,
                    "stale": r.stale,
                    "findings": r.findings.iter().map(|f| json!({
                        "step": f.step,
                        "label": f.step_label,
                        "axis": f.axis.name(),
                        "severity": f.severity.name(),
                        "check": f.check,
                        "path": f.path,
                        "summary": f.summary,
                        "expected": cut(&f.expected),
                        "actual": cut(&f.actual),
                        "diff": cut(&f.diff),
                        "source": f.source,
                        "known": f.known,
                    })).collect::<Vec<_>>(),
                }),
                None => Value::Null,
            })
            .collect();
        results.insert(
            s.name.clone(),
            json!({"source": s.source, "file": s.file, "results": per_target}),
        );
    }
    let icons: Map<String, Value> = [
        (CheckStatus::Pass, CellStatus::Pass),
        (CheckStatus::Fail, CellStatus::Fail),
        (CheckStatus::KnownFailure, CellStatus::Fail),
        (CheckStatus::Unsupported, CellStatus::Unsupported),
        (CheckStatus::Skipped, CellStatus::Skipped),
    ]
    .into_iter()
    .map(|(k, c)| (k.name().to_string(), Value::from(icon(c))))
    .collect();
    let data = json!({"targets": targets, "cells": cells, "scenarios": results, "icons": icons});
    // `</` inside a string would end the script element; `<\/` is the same JSON string.
    data.to_string()
        .replace("</", "<\\/")
        .replace("<!--", "<\\!--")
}

/// A small inline SVG for a status: the shape tells the status apart without colour and
/// without depending on an emoji font being installed.
pub fn icon(status: CellStatus) -> &'static str {
    match status {
        CellStatus::Pass => {
            r##"<svg class="ic" viewBox="0 0 16 16" aria-hidden="true"><circle cx="8" cy="8" r="7" fill="currentColor"/><path d="M4.6 8.3l2.2 2.2 4.6-4.8" fill="none" stroke="#fff" stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round"/></svg>"##
        }
        CellStatus::Partial => {
            r##"<svg class="ic" viewBox="0 0 16 16" aria-hidden="true"><circle cx="8" cy="8" r="6.2" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M8 1.8a6.2 6.2 0 0 1 0 12.4z" fill="currentColor"/></svg>"##
        }
        CellStatus::Fail => {
            r##"<svg class="ic" viewBox="0 0 16 16" aria-hidden="true"><circle cx="8" cy="8" r="7" fill="currentColor"/><path d="M5.4 5.4l5.2 5.2M10.6 5.4l-5.2 5.2" stroke="#fff" stroke-width="1.9" stroke-linecap="round"/></svg>"##
        }
        CellStatus::Unsupported => {
            r##"<svg class="ic" viewBox="0 0 16 16" aria-hidden="true"><circle cx="8" cy="8" r="6.2" fill="none" stroke="currentColor" stroke-width="1.8"/><path d="M4.6 8h6.8" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"/></svg>"##
        }
        CellStatus::Blocked => {
            r##"<svg class="ic" viewBox="0 0 16 16" aria-hidden="true"><rect x="1.5" y="5" width="13" height="6" rx="1" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M4 11l4-6M8 11l4-6" stroke="currentColor" stroke-width="1.6"/></svg>"##
        }
        CellStatus::Skipped => {
            r##"<svg class="ic" viewBox="0 0 16 16" aria-hidden="true"><path d="M2.5 3.5l5 4.5-5 4.5zM7.5 3.5l5 4.5-5 4.5z" fill="currentColor"/><path d="M13.8 3.5v9" stroke="currentColor" stroke-width="1.6"/></svg>"##
        }
        CellStatus::NotCovered => {
            r##"<svg class="ic" viewBox="0 0 16 16" aria-hidden="true"><circle cx="8" cy="8" r="1.8" fill="currentColor"/></svg>"##
        }
        CellStatus::Unavailable => {
            r##"<svg class="ic" viewBox="0 0 16 16" aria-hidden="true"><path d="M4 8h8" stroke="currentColor" stroke-width="1.6" stroke-linecap="round"/></svg>"##
        }
    }
}

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root{--bg:#f7f8fa;--fg:#1d2430;--muted:#5f6b7a;--line:#dfe3e8;--card:#fff;--accent:#0b5cad;
--pass:#009E73;--pass-bg:#d8f0e7;--pass-fg:#00553d;--partial:#E69F00;--partial-bg:#fcecc6;--partial-fg:#6e4a00;
--fail:#D55E00;--fail-bg:#f8dccb;--fail-fg:#8a3300;--unsup:#CC79A7;--unsup-bg:#efdbe8;--unsup-fg:#6e2f57;
--skip:#56B4E9;--skip-bg:#e1f0fa;--skip-fg:#1d5a80;--controls-h:0px}
*{box-sizing:border-box}
html{font-size:15px}
body{margin:0;background:var(--bg);color:var(--fg);font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif;line-height:1.45}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.9em}
.wrap{max-width:1320px;margin:0 auto;padding:0 20px}
.top{background:#14213d;color:#fff;padding:22px 0 18px;margin-bottom:20px}
.top h1{margin:0;font-size:1.6rem;font-weight:650;letter-spacing:-.01em}
.top .thin{font-weight:400;opacity:.8}
.top .meta{margin:.35rem 0 0;opacity:.85;font-size:.92rem}
.star{color:#b07d00}
.top .star{color:#ffd166}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:14px;margin-bottom:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;box-shadow:0 1px 2px rgba(0,0,0,.04)}
.card h2{margin:0 0 .4rem;font-size:1.15rem}
.card .ver{font-weight:400;color:var(--muted);font-size:.9rem;margin-left:.3rem}
.card .big{margin:.2rem 0 .45rem}
.card .pct{font-size:1.7rem;font-weight:700;letter-spacing:-.02em}
.card .of{color:var(--muted);font-size:.9rem}
.bar{height:8px;background:#eceff3;border-radius:4px;overflow:hidden}
.bar span{display:block;height:100%;background:var(--pass)}
.facts{list-style:none;padding:0;margin:.7rem 0 .4rem;font-size:.92rem}
.facts li{margin:.1rem 0}
.conf{color:var(--muted);font-size:.8rem;margin:.4rem 0 0;overflow-wrap:anywhere}
.ic{width:1.05em;height:1.05em;vertical-align:-.17em;flex:none}
.card.unavailable{background:repeating-linear-gradient(135deg,#fff,#fff 8px,#f4f5f7 8px,#f4f5f7 16px)}
.card.unavailable pre{white-space:pre-wrap;max-height:220px;overflow:auto;background:#f4f5f7;padding:8px;border-radius:6px;font-size:.78rem}
.interop{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--pass);border-radius:8px;padding:10px 14px;margin:0 0 14px}
details.inline{display:inline}
details.inline summary{display:inline;cursor:pointer;color:var(--accent)}
.oplist{display:block;margin-top:6px;line-height:1.9}
.oplist code{background:#eef2f6;border-radius:4px;padding:1px 5px;margin-right:2px}
.legend{display:flex;flex-wrap:wrap;gap:6px 22px;align-items:baseline;margin:0 0 12px;font-size:.9rem}
.legend ul{display:flex;flex-wrap:wrap;gap:4px 16px;list-style:none;padding:0;margin:0}
.legend .def{color:var(--muted);margin:.2rem 0 0;flex-basis:100%}
.chip{display:inline-block;min-width:2.1em;text-align:center;border-radius:5px;padding:0 4px;margin-right:3px;border:1px solid transparent}
.groups{display:flex;flex-wrap:wrap;gap:10px;margin:0 0 14px}
.group-view{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:6px 12px;flex:1 1 100%}
.group-view summary{cursor:pointer;font-weight:600}
.gtable{border-collapse:collapse;width:100%;margin:8px 0 4px;font-size:.86rem}
.gtable th,.gtable td{padding:4px 8px;border-top:1px solid var(--line);text-align:left;vertical-align:middle;white-space:nowrap}
.gtable small{color:var(--muted)}
.num{text-align:right!important}
.muted{color:var(--muted)}
.mini{display:inline-block;width:44px;height:6px;background:#eceff3;border-radius:3px;overflow:hidden;margin-right:6px;vertical-align:middle}
.mini span{display:block;height:100%;background:var(--pass)}
.controls{position:sticky;top:0;z-index:5;display:flex;flex-wrap:wrap;gap:8px 14px;align-items:end;background:rgba(247,248,250,.97);backdrop-filter:blur(4px);padding:10px 0;border-bottom:1px solid var(--line)}
.controls label{display:flex;flex-direction:column;font-size:.75rem;color:var(--muted);text-transform:uppercase;letter-spacing:.04em;gap:2px}
.controls .grow{flex:1 1 200px}
.controls input,.controls select{font:inherit;font-size:.92rem;text-transform:none;letter-spacing:0;color:var(--fg);padding:5px 8px;border:1px solid #c9d0d8;border-radius:6px;background:#fff}
.controls .count{margin-left:auto;color:var(--muted);font-size:.9rem;align-self:center}
.matrix{border-collapse:separate;border-spacing:0;width:100%;background:var(--card);border:1px solid var(--line);border-radius:8px;font-size:.9rem}
.matrix thead th{position:sticky;top:var(--controls-h);z-index:4;background:#eef1f5;border-bottom:1px solid var(--line);text-align:left;padding:8px 10px;font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;color:#3b4654;white-space:nowrap}
.matrix thead th.target{text-align:center}
.matrix thead th small{display:block;text-transform:none;letter-spacing:0;font-weight:400;color:var(--muted)}
.sortable{cursor:pointer;user-select:none}
.sortable::after{content:" ↕";opacity:.35}
.sortable[aria-sort=ascending]::after{content:" ↑";opacity:.9}
.sortable[aria-sort=descending]::after{content:" ↓";opacity:.9}
.matrix tbody th,.matrix tbody td{padding:5px 10px;border-bottom:1px solid #eef0f3;text-align:left;font-weight:400}
.matrix tbody tr:hover>*{background-color:#f3f6fa}
.matrix tbody th code{font-size:.88rem}
.matrix td.area,.matrix td.cat{color:var(--muted);font-size:.84rem;white-space:nowrap}
.matrix tr.group-row th{background:#e4e9f0;color:#27313d;font-weight:650;padding:7px 10px;text-align:left;position:static}
.matrix tr.group-row small{font-weight:400;color:var(--muted);margin-left:8px}
td.cell{text-align:center;white-space:nowrap;font-variant-numeric:tabular-nums;min-width:86px}
td.cell .n{margin-left:.35em;font-size:.84rem}
td.clickable{cursor:pointer}
td.clickable:hover,td.clickable:focus{outline:2px solid var(--accent);outline-offset:-2px}
.s-pass{background:var(--pass-bg)!important;color:var(--pass-fg)}
.s-partial{background:var(--partial-bg)!important;color:var(--partial-fg)}
.s-fail{background:var(--fail-bg)!important;color:var(--fail-fg)}
.s-unsupported{background:repeating-linear-gradient(135deg,var(--unsup-bg),var(--unsup-bg) 5px,#f7ecf3 5px,#f7ecf3 10px)!important;color:var(--unsup-fg)}
.s-skipped{background:var(--skip-bg)!important;color:var(--skip-fg)}
.s-not_covered{color:#9aa3ad}
.s-unavailable{color:#9aa3ad;background:repeating-linear-gradient(135deg,#fff,#fff 5px,#f1f2f4 5px,#f1f2f4 10px)!important}
.chip.s-not_covered,.chip.s-unavailable{border-color:var(--line)}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.foot{color:var(--muted);font-size:.84rem;margin:14px 0 40px}
.drawer{position:fixed;top:0;right:0;bottom:0;width:min(760px,94vw);background:#fff;border-left:1px solid var(--line);box-shadow:-8px 0 24px rgba(20,33,61,.14);z-index:20;display:flex;flex-direction:column}
.drawer[hidden]{display:none}
.drawer-head{display:flex;align-items:center;justify-content:space-between;padding:14px 18px;border-bottom:1px solid var(--line);background:#f4f6f9}
.drawer-head h2{margin:0;font-size:1.05rem}
.drawer-head button{font:inherit;border:1px solid #c9d0d8;background:#fff;border-radius:6px;padding:2px 10px;cursor:pointer}
#detail-body{overflow:auto;padding:12px 18px 30px}
.check{border:1px solid var(--line);border-radius:8px;margin:10px 0;overflow:hidden}
.check h3{margin:0;font-size:.95rem;padding:8px 12px;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.check h3 code{font-weight:600}
.o-pass{color:var(--pass)}.o-fail,.o-known_failure{color:var(--fail)}.o-unsupported{color:var(--unsup-fg)}.o-skipped{color:var(--skip)}
.badge.wire{background:#ecebfa;color:#3a3f9e}
.badge{font-size:.75rem;border-radius:10px;padding:1px 8px;border:1px solid transparent;font-weight:500}
.check .body{padding:4px 12px 10px;font-size:.9rem}
.check .body p{margin:.35rem 0}
.check .reason{background:#f4f6f9;border-left:3px solid #8a94a3;padding:6px 10px;margin:.5rem 0}
.check .src{color:var(--muted);font-size:.8rem;word-break:break-all}
.check pre{background:#f6f8fa;border:1px solid #e6e9ee;border-radius:6px;padding:8px 10px;overflow:auto;max-height:360px;margin:.25rem 0 .6rem;font-size:.8rem;line-height:1.4}
.check .lbl{font-size:.75rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);margin-top:.5rem}
pre.diff .add{background:#e3f4ec;color:#00553d;display:block}
pre.diff .del{background:#fbe6da;color:#8a3300;display:block}
pre.diff .hunk{color:#5a4fcf;display:block}
.s-blocked{background:repeating-linear-gradient(45deg,var(--unsup-bg),var(--unsup-bg) 5px,#fff 5px,#fff 10px)!important;color:var(--unsup-fg)}
sup.wire{font-size:.8rem;margin-left:1px;color:#3a3f9e;font-weight:700}
.chip.wire{color:#3a3f9e;font-weight:700;border-color:var(--line)}
.deviations{margin:0 0 14px}
.deviations>h2{font-size:1.15rem;margin:.2rem 0 .5rem}
.devs{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 14px;margin:0 0 10px}
.devs h3{margin:.2rem 0 .4rem;font-size:1.02rem}
.devs h4{margin:.3rem 0;font-size:.95rem}
.devs details summary{cursor:pointer;font-weight:600;margin:.25rem 0}
.devs .n{display:inline-block;min-width:1.6em;text-align:center;background:#eef1f5;border-radius:9px;padding:0 6px;font-weight:600;font-size:.85rem}
.devs .none{color:var(--muted);margin:.2rem 0 .4rem}
.devs ol.findings{margin:.2rem 0 .5rem;padding-left:1.6em;font-size:.9rem}
.devs ol.findings li{margin:.15rem 0}
section.security{border-left:4px solid #b3261e;padding-left:10px}
section.security[data-count="0"]{border-left-color:var(--pass)}
section.security h4{color:#8c1d18}
.tag{font-size:.75rem;border-radius:9px;padding:0 7px;border:1px solid var(--line);white-space:nowrap}
.tag.new{background:#fbe6da;color:#8a3300;border-color:#f0c3a8}
.tag.known{background:#eef1f5;color:#3b4654;white-space:normal}
.sdk{font-size:.8rem;border-radius:9px;padding:0 7px;border:1px solid var(--line)}
.sdk-no_sdk_notices{background:var(--pass-bg);color:var(--pass-fg)}
.sdk-noticed{background:var(--fail-bg);color:var(--fail-fg)}
.sdk-not_measured{color:var(--muted)}
.finding{border-top:1px dashed var(--line);padding:.3rem 0 .2rem}
.finding .fh{margin:.2rem 0}
.finding.sev-security .fh b{color:#8c1d18}
.sevtag{font-size:.72rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
@media (max-width:760px){.controls .count{margin-left:0}.matrix td.area,.matrix td.cat{display:none}}
@media print{.controls,.drawer{display:none}.matrix thead th{position:static}}
.trend{margin:.6rem 0 0}.trend svg{display:block;overflow:visible}.trend .axis{stroke:var(--line)}
.trend .line{fill:none;stroke:var(--accent);stroke-width:2}.trend circle{fill:var(--accent)}
.trend .pinned circle{fill:var(--pass)}.trend text{font-size:10px;fill:var(--muted)}
.trend .rate{fill:var(--fg);font-weight:600}.trend figcaption{font-size:.75rem;color:var(--muted)}
"#;

const JS: &str = r#"
(function(){
"use strict";
var data=JSON.parse(document.getElementById("data").textContent);
var table=document.getElementById("matrix"),tbody=table.tBodies[0];
var rows=Array.prototype.slice.call(tbody.querySelectorAll("tr[data-op]"));
var ctl={q:byId("q"),area:byId("f-area"),category:byId("f-category"),seed:byId("f-seed"),status:byId("f-status"),target:byId("f-target"),group:byId("f-group")};
var sortKey="name",sortDir=1;
function byId(id){return document.getElementById(id);}
function esc(s){return String(s==null?"":s).replace(/[&<>"']/g,function(c){return{"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"}[c];});}
function setControlsHeight(){document.documentElement.style.setProperty("--controls-h",byId("controls").offsetHeight+"px");}
window.addEventListener("resize",setControlsHeight);setControlsHeight();
if(window.ResizeObserver)new ResizeObserver(setControlsHeight).observe(byId("controls"));
function matches(tr){
  var q=ctl.q.value.trim().toLowerCase();
  if(q&&tr.dataset.op.toLowerCase().indexOf(q)<0)return false;
  var a=ctl.area.value;
  if(a){if(a==="not covered"){if(tr.dataset.areas!=="")return false;}else if((" "+tr.dataset.areas+" ").indexOf(" "+a+" ")<0)return false;}
  if(ctl.category.value&&tr.dataset.category!==ctl.category.value)return false;
  if(ctl.seed.value==="seed"&&tr.dataset.seed!=="1")return false;
  if(ctl.seed.value==="non-seed"&&tr.dataset.seed!=="0")return false;
  var st=ctl.status.value;
  if(st){var sts=tr.dataset.statuses.split(" ");var t=ctl.target.value;
    if(t!==""){if(sts[+t]!==st)return false;}else if(sts.indexOf(st)<0)return false;}
  return true;
}
function key(tr){
  if(sortKey==="name")return tr.dataset.op.toLowerCase();
  if(sortKey==="area")return tr.dataset.area+" "+tr.dataset.op.toLowerCase();
  if(sortKey==="category")return tr.dataset.category+" "+tr.dataset.op.toLowerCase();
  var i=+sortKey.slice(1);var td=tr.querySelectorAll("td.cell")[i];return td?parseFloat(td.dataset.score):0;
}
function groupOf(tr){var g=ctl.group.value;return g==="area"?tr.dataset.area:g==="category"?tr.dataset.category:"";}
function apply(){
  var sorted=rows.slice().sort(function(x,y){
    var gx=groupOf(x),gy=groupOf(y);if(gx!==gy)return gx<gy?-1:1;
    var kx=key(x),ky=key(y);if(kx<ky)return -sortDir;if(kx>ky)return sortDir;
    return x.dataset.op<y.dataset.op?-1:1;});
  Array.prototype.slice.call(tbody.querySelectorAll("tr.group-row")).forEach(function(g){g.remove();});
  var shown=0,cols=table.tHead.rows[0].cells.length,current=null,header=null,inGroup=0;
  function closeGroup(){if(header){header.querySelector("small").textContent=inGroup+" operation"+(inGroup===1?"":"s");header.hidden=inGroup===0;}}
  sorted.forEach(function(tr){
    var g=groupOf(tr);
    if(ctl.group.value&&g!==current){closeGroup();current=g;inGroup=0;
      header=document.createElement("tr");header.className="group-row";
      header.innerHTML='<th colspan="'+cols+'">'+esc(g)+'<small></small></th>';tbody.appendChild(header);}
    tbody.appendChild(tr);
    var ok=matches(tr);tr.hidden=!ok;if(ok){shown++;inGroup++;}
  });
  closeGroup();
  byId("count").textContent="Showing "+shown+" of "+rows.length+" operations";
  setControlsHeight();
}
["input","change"].forEach(function(ev){Object.keys(ctl).forEach(function(k){ctl[k].addEventListener(ev,apply);});});
Array.prototype.forEach.call(table.tHead.querySelectorAll("th.sortable"),function(th){
  th.addEventListener("click",function(){
    var k=th.dataset.sort;
    if(sortKey===k)sortDir=-sortDir;else{sortKey=k;sortDir=k.charAt(0)==="t"&&k!=="name"?-1:1;}
    Array.prototype.forEach.call(table.tHead.querySelectorAll("th.sortable"),function(o){o.removeAttribute("aria-sort");});
    th.setAttribute("aria-sort",sortDir>0?"ascending":"descending");apply();});
});
var drawer=byId("detail"),lastCell=null;
var VCLASS={pass:"s-pass",fail:"s-fail",known_failure:"s-partial",unsupported:"s-unsupported",skipped:"s-skipped"};
function diffHtml(d){return d.split("\n").map(function(l){var c=l.indexOf("@@")===0?"hunk":l.charAt(0)==="+"&&l.indexOf("+++")!==0?"add":l.charAt(0)==="-"&&l.indexOf("---")!==0?"del":"";return c?'<span class="'+c+'">'+esc(l)+'</span>':esc(l)+"\n";}).join("");}
function findingHtml(f){
  var at=f.step==null?"Cleanup":"Step "+esc(f.step)+(f.label?" <code>"+esc(f.label)+"</code>":"");
  var h='<div class="finding ax-'+esc(f.axis)+' sev-'+esc(f.severity)+'" data-axis="'+esc(f.axis)+'" data-severity="'+esc(f.severity)+'"><p class="fh">'+at+' · <b>'+esc(f.axis)+"/"+esc(f.check)+'</b> <span class="sevtag">'+esc(f.severity)+'</span> at <code>'+esc(f.path)+"</code>: "+esc(f.summary)+' '+(f.known!=null?'<span class="tag known">known: '+esc(f.known)+"</span>":'<span class="tag new">new</span>')+"</p>";
  if(f.expected)h+='<div class="lbl">expected</div><pre>'+esc(f.expected)+"</pre>";
  if(f.actual)h+='<div class="lbl">actual</div><pre>'+esc(f.actual)+"</pre>";
  if(f.diff)h+='<div class="lbl">diff</div><pre class="diff">'+diffHtml(f.diff)+"</pre>";
  if(f.source)h+='<p class="src">evidence: '+esc(f.source)+"</p>";
  return h+"</div>";
}
function open(td){
  var op=td.parentNode.dataset.op,ti=+td.dataset.target,t=data.targets[ti],cell=data.cells[op][ti];
  byId("detail-title").innerHTML="<code>"+esc(op)+"</code> on "+esc(t.name)+" <small>"+esc(t.version)+"</small>";
  var h='<p>'+(cell.total?cell.passed+" of "+cell.total+" behaviour checks pass.":"No behaviour checks.")+(cell.unsupported?" "+cell.unsupported+" check(s) reached an operation "+esc(t.name)+" does not implement (counted apart, not as failures).":"")+' Scenarios covering this operation on '+esc(t.name)+':</p>';
  cell.checks.forEach(function(c){
    var name=c[0],status=c[1],verdict=c[2],shape=c[3],protocol=c[4],s=data.scenarios[name]||{},r=(s.results||[])[ti];
    h+='<section class="check" data-status="'+esc(status)+'"><h3><span class="o-'+esc(status)+'">'+(data.icons[status]||"")+'</span><code>'+esc(name)+'</code><span class="badge '+(VCLASS[status]||"")+'">behaviour: '+esc(status.replace(/_/g," "))+'</span>'+(shape?'<span class="badge wire" data-axis="shape">shape ×'+shape+'</span>':"")+(protocol?'<span class="badge wire" data-axis="protocol">protocol ×'+protocol+'</span>':"")+'</h3><div class="body">';
    if(r){
      if(r.outcome==="unsupported")h+="<p>Step "+esc(r.step)+": the target does not implement <code>"+esc(r.action)+"</code>"+(r.outcome_reason?" ("+esc(r.outcome_reason)+")":"")+".</p>";
      else if(r.outcome==="skipped")h+="<p>Skipped: "+esc(r.outcome_reason)+"</p>";
      else if(r.outcome==="stopped")h+="<p>Stopped at step "+esc(r.step)+(r.label?" <code>"+esc(r.label)+"</code>":"")+": "+esc(r.outcome_reason)+"</p>";
      if(r.reason&&r.outcome!=="skipped")h+='<p class="reason">Verdict '+esc(verdict.replace(/_/g," "))+": "+esc(r.reason)+"</p>";
      if(!r.findings.length&&r.outcome==="completed")h+="<p>Every assertion held.</p>";
      r.findings.forEach(function(f){h+=findingHtml(f);});
      if(r.stale&&r.stale.length)h+='<p class="reason">Known deviations that no longer occur: '+esc(r.stale.join("; "))+"</p>";
    }else h+="<p>Not run on this target.</p>";
    if(s.source)h+='<p class="src">scenario source: '+esc(s.source)+(s.file?" · "+esc(s.file):"")+"</p>";
    h+="</div></section>";
  });
  byId("detail-body").innerHTML=h;drawer.hidden=false;lastCell=td;byId("detail-close").focus();
}
function close(){drawer.hidden=true;if(lastCell)lastCell.focus();}
tbody.addEventListener("click",function(e){var td=e.target.closest("td.clickable");if(td)open(td);});
tbody.addEventListener("keydown",function(e){if(e.key==="Enter"||e.key===" "){var td=e.target.closest("td.clickable");if(td){e.preventDefault();open(td);}}});
byId("detail-close").addEventListener("click",close);
document.addEventListener("keydown",function(e){if(e.key==="Escape"&&!drawer.hidden)close();});
apply();
})();
"#;
