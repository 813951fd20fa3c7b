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
use super::view::TargetTrend;
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
                    sec = s.security_deviations,
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
                        .map(trend_svg)
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

/// Width and height of the chart in CSS pixels; small enough for a target's card.
const WIDTH: f64 = 260.0;
const HEIGHT: f64 = 90.0;
const PAD_X: f64 = 26.0;
const PAD_TOP: f64 = 14.0;
const PAD_BOTTOM: f64 = 18.0;

/// The trend of one target as an inline SVG: the behaviour pass rate (0-100%) per version,
/// oldest on the left, each point labelled with its rate and version and titled with its
/// counts. Empty when the target has fewer than two versions to compare.
pub fn trend_svg(trend: &TargetTrend) -> String {
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

/// The page's style, inlined so the page needs no network; kept in its own file so CSS
/// tools and reviewers see CSS.
const CSS: &str = include_str!("page.css");

/// The page's script (filters, sorting, the failure drawer), inlined like the style.
const JS: &str = include_str!("page.js");

#[cfg(test)]
mod tests {
    use super::super::view::TrendPoint;
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
    fn the_chart_places_each_version_at_its_rate() {
        let t = TargetTrend {
            name: "moto".into(),
            points: vec![
                point("5.0.28", 50, 100, false),
                point("5.2.5", 75, 100, true),
            ],
        };
        let svg = trend_svg(&t);
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
        assert_eq!(trend_svg(&t), "");
    }
}
