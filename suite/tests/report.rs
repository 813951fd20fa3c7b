//! The compatibility report: the Markdown, HTML and JSON say the same numbers, every operation
//! has a row, nothing token-shaped leaks, behaviour comes first (unsupported operations apart,
//! shape and protocol findings as badges), security deviations are listed in all three, the
//! embedded seed list and quota categories are right, and the HTML works in headless Chromium.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cogcheck::model::Model;
use cogcheck::report::compat::{
    self, matrix::CellStatus, tolerance::SdkTolerance, write_reports, Matrix, TargetInput, Written,
};
use cogcheck::report::results::{self, Results};
use cogcheck::report_run as targets;
use serde_json::{json, Value};

const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn step(index: usize, action: &str, status: &str) -> Value {
    json!({"index": index, "label": action, "action": action, "status": status,
           "duration_ms": 1, "http_status": 200, "error_type": null, "attempts": 1})
}

/// A verdict object as the results file writes it.
fn verdict(name: &str) -> Value {
    match name {
        "pass" => json!({"verdict": "pass"}),
        "fail" | "changed" => json!({"verdict": name, "note": "step 1 [behaviour/body] new"}),
        "unsupported" => {
            json!({"verdict": "unsupported", "action": "AdminGetDevice", "reason": "listed"})
        }
        other => json!({"verdict": other, "reason": format!("recorded {other}")}),
    }
}

/// A finding; `known` is the recorded reason, absent for a new one.
#[allow(clippy::too_many_arguments)]
fn finding(
    step: Option<usize>,
    action: &str,
    axis: &str,
    severity: &str,
    check: &str,
    path: &str,
    summary: &str,
    known: Option<&str>,
) -> Value {
    let source = match axis {
        "behaviour" => {
            "https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/"
        }
        "shape" => "model",
        _ => "awsJson1_1",
    };
    let mut f = json!({"step": step, "action": action, "axis": axis, "severity": severity,
                       "check": check, "path": path, "summary": summary, "source": source});
    if let Some(k) = known {
        f["known"] = k.into();
    }
    f
}

/// The request-id finding a target without `x-amzn-RequestId` shows on every answer.
fn no_request_id(step: usize, action: &str) -> Value {
    finding(
        Some(step),
        action,
        "protocol",
        "protocol",
        "request-id",
        "-",
        &format!("{action}: no x-amzn-RequestId header"),
        Some("never sends a request id"),
    )
}

/// A v2 results-file scenario. `axes` are the behaviour, shape and protocol verdicts; the
/// deciding verdict is the behaviour one (the default strictness).
fn scenario(
    name: &str,
    covers: &[&str],
    outcome: Value,
    steps: Vec<Value>,
    findings: Vec<Value>,
    axes: [&str; 3],
) -> Value {
    let area = name.split("::").next().unwrap_or_default();
    let stale: Vec<&str> = if axes[0] == "unexpected_pass" {
        vec!["step 1 [behaviour/body] $.UserCreateDate: omitted UserCreateDate"]
    } else {
        Vec::new()
    };
    json!({"name": name, "area": area, "file": format!("fixtures/scenarios/{area}/x.json"),
           "source": "https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/",
           "covers": covers, "outcome": outcome, "findings": findings, "stale": stale,
           "steps": steps, "duration_ms": 3, "cleanup_errors": [],
           "verdict": verdict(axes[0]),
           "axes": {"behaviour": verdict(axes[0]), "shape": verdict(axes[1]),
                    "protocol": verdict(axes[2])}})
}

fn results(target: &str, scenarios: Vec<Value>) -> Results {
    serde_json::from_value(json!({
        "schema": results::SCHEMA,
        "run": {"prefix": "cogcheck-abc123", "started": "2026-11-26T17:00:00Z",
                "finished": "2026-11-26T17:01:00Z", "cogcheck": "0.1.0",
                "model": "botocore 1.44.8", "strictness": "behaviour"},
        "target": {"name": target, "version": "1.0.0", "endpoint": "http://127.0.0.1:1",
                   "configuration": format!("{target} | in memory")},
        "summary": {},
        "axes": {},
        "scenarios": scenarios,
    }))
    .expect("synthetic results parse")
}

const COMPLETED: &str = r#"{"outcome": "completed"}"#;

fn completed() -> Value {
    serde_json::from_str(COMPLETED).unwrap()
}

fn unsupported_at(step: usize, action: &str) -> Value {
    json!({"outcome": "unsupported", "action": action, "step": step, "answer": "HTTP 501"})
}

/// alpha: a pass, a new and a known behaviour failure, a security deviation, an unsupported
/// operation, a check blocked by another unsupported operation, a skipped scenario, and a
/// behaviour pass with shape and protocol findings.
fn alpha() -> Results {
    results(
        "alpha",
        vec![
            scenario(
                "user-pools::create",
                &["CreateUserPool", "DescribeUserPool"],
                completed(),
                vec![
                    step(0, "CreateUserPool", "passed"),
                    step(1, "DescribeUserPool", "passed"),
                ],
                vec![],
                ["pass", "pass", "pass"],
            ),
            scenario(
                "user-pools::describe-missing",
                &["DescribeUserPool"],
                completed(),
                vec![
                    step(0, "CreateUserPool", "passed"),
                    step(1, "DescribeUserPool", "deviated"),
                ],
                vec![{
                    let mut f = finding(
                        Some(1),
                        "DescribeUserPool",
                        "behaviour",
                        "functional",
                        "error-type",
                        "$.__type",
                        &format!(
                            "DescribeUserPool: expected ResourceNotFoundException, got token {JWT}"
                        ),
                        None,
                    );
                    f["expected"] = "{\n  \"a\": 1\n}".into();
                    f["actual"] = format!("{{\n  \"a\": 2,\n  \"t\": \"{JWT}\"\n}}").into();
                    f["diff"] = "--- expected\n+++ actual\n@@ -1,3 +1,3 @@\n {\n-  \"a\": 1\n+  \"a\": 2\n }\n".into();
                    f
                }],
                ["fail", "pass", "pass"],
            ),
            scenario(
                "users::admin-get-user",
                &["AdminGetUser"],
                completed(),
                vec![
                    step(0, "CreateUserPool", "passed"),
                    step(1, "AdminGetUser", "deviated"),
                ],
                vec![finding(
                    Some(1),
                    "AdminGetUser",
                    "behaviour",
                    "functional",
                    "body",
                    "$.UserCreateDate",
                    "AdminGetUser: $.UserCreateDate missing",
                    Some("alpha omits UserCreateDate"),
                )],
                ["expected_failure", "pass", "pass"],
            ),
            scenario(
                "auth::admin-secret-hash-required",
                &["AdminInitiateAuth"],
                completed(),
                vec![
                    step(0, "CreateUserPool", "passed"),
                    step(1, "AdminInitiateAuth", "deviated"),
                ],
                // One deviation, two findings: the headline counts the step once.
                vec![
                    finding(
                        Some(1),
                        "AdminInitiateAuth",
                        "behaviour",
                        "security",
                        "outcome",
                        "$",
                        "signs in without SECRET_HASH (AWS: NotAuthorizedException)",
                        None,
                    ),
                    finding(
                        Some(1),
                        "AdminInitiateAuth",
                        "behaviour",
                        "security",
                        "body",
                        "$.AuthenticationResult",
                        "answers tokens (AWS: no AuthenticationResult)",
                        None,
                    ),
                ],
                ["fail", "pass", "pass"],
            ),
            scenario(
                "devices::admin-get-device",
                &["AdminGetDevice"],
                unsupported_at(1, "AdminGetDevice"),
                vec![
                    step(0, "CreateUserPool", "passed"),
                    step(1, "AdminGetDevice", "unsupported"),
                ],
                vec![],
                ["unsupported", "pass", "pass"],
            ),
            scenario(
                "mfa::totp-setup",
                &["AssociateSoftwareToken"],
                unsupported_at(1, "AdminSetUserMFAPreference"),
                vec![
                    step(0, "CreateUserPool", "passed"),
                    step(1, "AdminSetUserMFAPreference", "unsupported"),
                    step(2, "AssociateSoftwareToken", "not_run"),
                ],
                vec![],
                ["fail", "pass", "pass"],
            ),
            scenario(
                "sign-up::confirm",
                &["SignUp"],
                json!({"outcome": "skipped", "reason": "the target does not offer `codes`"}),
                vec![step(0, "SignUp", "not_run")],
                vec![],
                ["skipped", "skipped", "skipped"],
            ),
            scenario(
                "users::list-users",
                &["ListUsers"],
                completed(),
                vec![
                    step(0, "CreateUserPool", "passed"),
                    step(1, "ListUsers", "deviated"),
                ],
                vec![
                    finding(
                        Some(1),
                        "ListUsers",
                        "shape",
                        "shape",
                        "enum-value",
                        "$.Users[0].UserStatus",
                        "ListUsers: UserStatus \"ENABLED\" is not in the model's enum",
                        Some("alpha says ENABLED"),
                    ),
                    finding(
                        Some(1),
                        "ListUsers",
                        "protocol",
                        "protocol",
                        "content-type",
                        "-",
                        "ListUsers: content type application/json",
                        None,
                    ),
                ],
                ["pass", "expected_failure", "fail"],
            ),
        ],
    )
}

/// beta: behaves like AWS except a setup failure, and a known deviation that no longer occurs.
fn beta() -> Results {
    results(
        "beta",
        vec![
            scenario(
                "user-pools::create",
                &["CreateUserPool", "DescribeUserPool"],
                completed(),
                vec![step(0, "CreateUserPool", "passed")],
                vec![],
                ["pass", "pass", "pass"],
            ),
            scenario(
                "user-pools::describe-missing",
                &["DescribeUserPool"],
                completed(),
                vec![step(0, "CreateUserPool", "passed")],
                vec![],
                ["pass", "pass", "pass"],
            ),
            scenario(
                "users::admin-get-user",
                &["AdminGetUser"],
                completed(),
                vec![step(0, "CreateUserPool", "passed")],
                vec![],
                ["unexpected_pass", "pass", "pass"],
            ),
            scenario(
                "devices::admin-get-device",
                &["AdminGetDevice"],
                json!({"outcome": "stopped", "step": 0, "reason": "CreateUserPool: connection reset"}),
                vec![
                    step(0, "CreateUserPool", "deviated"),
                    step(1, "AdminGetDevice", "not_run"),
                ],
                vec![{
                    let mut f = finding(
                        Some(0),
                        "CreateUserPool",
                        "behaviour",
                        "functional",
                        "transport",
                        "-",
                        "CreateUserPool: connection reset",
                        None,
                    );
                    f["expected"] = "an answer".into();
                    f["actual"] = "connection reset".into();
                    f
                }],
                ["fail", "pass", "pass"],
            ),
            scenario(
                "sign-up::confirm",
                &["SignUp"],
                completed(),
                vec![step(0, "SignUp", "passed")],
                vec![],
                ["pass", "pass", "pass"],
            ),
        ],
    )
}

/// delta: behaves like AWS everywhere it implements, never sends a request id, and does not
/// implement AdminGetDevice.
fn delta() -> Results {
    results(
        "delta",
        vec![
            scenario(
                "user-pools::create",
                &["CreateUserPool", "DescribeUserPool"],
                completed(),
                vec![
                    step(0, "CreateUserPool", "deviated"),
                    step(1, "DescribeUserPool", "deviated"),
                ],
                vec![
                    no_request_id(0, "CreateUserPool"),
                    no_request_id(1, "DescribeUserPool"),
                ],
                ["pass", "pass", "expected_failure"],
            ),
            scenario(
                "user-pools::describe-missing",
                &["DescribeUserPool"],
                completed(),
                vec![
                    step(0, "CreateUserPool", "deviated"),
                    step(1, "DescribeUserPool", "deviated"),
                ],
                vec![
                    no_request_id(0, "CreateUserPool"),
                    no_request_id(1, "DescribeUserPool"),
                ],
                ["pass", "pass", "expected_failure"],
            ),
            scenario(
                "users::admin-get-user",
                &["AdminGetUser"],
                completed(),
                vec![
                    step(0, "CreateUserPool", "deviated"),
                    step(1, "AdminGetUser", "deviated"),
                ],
                vec![
                    no_request_id(0, "CreateUserPool"),
                    no_request_id(1, "AdminGetUser"),
                ],
                ["pass", "pass", "expected_failure"],
            ),
            scenario(
                "devices::admin-get-device",
                &["AdminGetDevice"],
                unsupported_at(1, "AdminGetDevice"),
                vec![
                    step(0, "CreateUserPool", "deviated"),
                    step(1, "AdminGetDevice", "unsupported"),
                ],
                vec![no_request_id(0, "CreateUserPool")],
                ["unsupported", "pass", "expected_failure"],
            ),
        ],
    )
}

/// Three targets that ran and one that could not start, covering every cell status.
fn synthetic() -> Vec<TargetInput> {
    vec![
        TargetInput::Ran(Box::new(alpha())),
        TargetInput::Ran(Box::new(beta())),
        TargetInput::Ran(Box::new(delta())),
        TargetInput::Unavailable {
            name: "gamma".into(),
            version: "0.51.0".into(),
            configuration: "gamma in memory".into(),
            reason: "target `gamma`: install failed: `cargo install` failed (exit status 101)"
                .into(),
        },
    ]
}

/// An SDK tolerance file: both SDKs ignore a missing request id, the JavaScript SDK raises on
/// an enum value outside the model.
fn tolerance() -> SdkTolerance {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sdk-tolerance.json");
    std::fs::write(
        &path,
        json!({
            "schema": "cogcheck-sdk-tolerance/1",
            "checks": {
                "protocol/request-id": {"deviation": "no x-amzn-RequestId", "boto3": "same",
                                        "js_sdk": "same", "detail": "both read it as absent"},
                "shape/enum-value": {"deviation": "UserStatus ENABLED", "boto3": "same",
                                     "js_sdk": "raised", "detail": "JS validates enums"}
            }
        })
        .to_string(),
    )
    .unwrap();
    SdkTolerance::load(&path)
        .expect("tolerance file reads")
        .expect("tolerance file exists")
}

/// One target's headline as a report states it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Headline {
    behaviour_passed: usize,
    behaviour_total: usize,
    seed_passing: usize,
    seed_total: usize,
    unsupported_operations: usize,
    unsupported_checks: usize,
    checks_with_shape: usize,
    checks_with_protocol: usize,
    security: usize,
}

/// A cell: status, passing behaviour checks, behaviour checks, has shape findings, has
/// protocol findings.
type CellNumbers = (String, usize, usize, bool, bool);

/// What one output says: per target its headline, its security deviations (scenario, step)
/// and its unsupported operations; per (operation, target) (status, passed, total, has shape
/// findings, has protocol findings); each operation's seed mark.
#[derive(Debug, PartialEq)]
struct Numbers {
    targets: BTreeMap<String, Option<Headline>>,
    security: BTreeMap<String, Vec<(String, String)>>,
    unsupported: BTreeMap<String, Vec<String>>,
    cells: BTreeMap<(String, String), CellNumbers>,
    seed: BTreeMap<String, bool>,
}

impl Numbers {
    fn new() -> Numbers {
        Numbers {
            targets: BTreeMap::new(),
            security: BTreeMap::new(),
            unsupported: BTreeMap::new(),
            cells: BTreeMap::new(),
            seed: BTreeMap::new(),
        }
    }
}

fn ratio(text: &str) -> (usize, usize) {
    let text = text.trim();
    let core = text.split_whitespace().next().unwrap_or(text);
    let (a, b) = core
        .split_once('/')
        .unwrap_or_else(|| panic!("not n/m: {text:?}"));
    (a.parse().unwrap(), b.parse().unwrap())
}

fn first_number(text: &str) -> usize {
    let digits: String = text
        .trim()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {text:?}"))
}

/// `12 (30 checks)` → (12, 30).
fn count_and_checks(text: &str) -> (usize, usize) {
    let inner = text
        .split_once('(')
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("no (n checks): {text:?}"));
    (first_number(text), first_number(inner))
}

fn status_of_symbol(sym: &str) -> &'static str {
    CellStatus::ALL
        .iter()
        .find(|s| s.symbol() == sym)
        .map(|s| s.name())
        .unwrap_or_else(|| panic!("unknown cell symbol {sym:?}"))
}

fn table_after(md: &str, heading: &str) -> Vec<Vec<String>> {
    let start = md.find(heading).unwrap_or_else(|| panic!("no {heading}"));
    md[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            // Cells are split on `|` not escaped as `\|`.
            let mut cells = Vec::new();
            let mut cur = String::new();
            let mut prev = ' ';
            for c in l.trim().trim_start_matches('|').chars() {
                if c == '|' && prev != '\\' {
                    cells.push(cur.trim().to_string());
                    cur.clear();
                } else {
                    cur.push(c);
                }
                prev = c;
            }
            cells
        })
        .collect()
}

/// The list items (`- ...`) right under a Markdown heading that starts with `heading`.
fn items_after<'a>(md: &'a str, heading: &str) -> Vec<&'a str> {
    let start = md.find(heading).unwrap_or_else(|| panic!("no {heading}"));
    md[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with("- "))
        .collect()
}

fn from_markdown(md: &str) -> Numbers {
    let mut n = Numbers::new();
    let targets = table_after(md, "## Targets");
    let head = &targets[0];
    let col = |name: &str| {
        head.iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    for row in &targets[2..] {
        let value = if row[3].starts_with("not available") {
            None
        } else {
            let (bp, bt) = ratio(&row[col("behaviour checks passed")]);
            let (sp, st) = ratio(&row[col("seed actions fully passing")]);
            let (uo, uc) = count_and_checks(&row[col("unsupported operations")]);
            Some(Headline {
                behaviour_passed: bp,
                behaviour_total: bt,
                seed_passing: sp,
                seed_total: st,
                unsupported_operations: uo,
                unsupported_checks: uc,
                checks_with_shape: first_number(&row[col("checks with shape findings")]),
                checks_with_protocol: first_number(&row[col("checks with protocol findings")]),
                security: first_number(&row[col("security deviations")]),
            })
        };
        let name = row[0].clone();
        if value.is_some() {
            let security = items_after(md, &format!("#### Security deviations on {name} "))
                .iter()
                .map(|item| {
                    let scenario = item.split('`').nth(1).expect("scenario in backticks");
                    let rest = item.split('`').nth(2).unwrap_or_default().trim();
                    let step = rest
                        .strip_prefix("step ")
                        .map(|r| r.split([' ', ',']).next().unwrap_or_default())
                        .unwrap_or("cleanup");
                    (scenario.to_string(), step.to_string())
                })
                .collect();
            n.security.insert(name.clone(), security);
            let unsupported =
                items_after(md, &format!("#### Operations {name} does not implement"))
                    .iter()
                    .map(|item| item.split('`').nth(1).expect("operation").to_string())
                    .collect();
            n.unsupported.insert(name.clone(), unsupported);
        }
        n.targets.insert(name, value);
    }
    let ops = table_after(md, "## Operations");
    let names: Vec<String> = ops[0][3..].to_vec();
    for row in &ops[2..] {
        let first = &row[0];
        let op = first
            .split('`')
            .nth(1)
            .expect("operation in backticks")
            .to_string();
        n.seed.insert(op.clone(), first.ends_with('★'));
        for (t, cell) in names.iter().zip(&row[3..]) {
            let mut parts = cell.splitn(2, ' ');
            let sym_badge = parts.next().unwrap_or_default();
            let shape = sym_badge.contains('ˢ');
            let protocol = sym_badge.contains('ᵖ');
            let sym = sym_badge.trim_end_matches(['ˢ', 'ᵖ']);
            let status = status_of_symbol(sym);
            let (p, tot) = parts.next().map(ratio).unwrap_or((0, 0));
            n.cells.insert(
                (op.clone(), t.clone()),
                (status.to_string(), p, tot, shape, protocol),
            );
        }
    }
    n
}

/// The value of `name="..."` in an HTML tag.
fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    let end = tag[at..].find('"')? + at;
    Some(
        tag[at..end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

fn tags<'a>(html: &'a str, start: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    html.match_indices(start).map(move |(at, _)| {
        let end = html[at..].find('>').map_or(html.len(), |e| at + e);
        &html[at..end]
    })
}

/// The HTML between `start` (an opening tag's beginning) and the next `end`.
fn block<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let at = html.find(start)?;
    let stop = html[at..].find(end).map_or(html.len(), |e| at + e);
    Some(&html[at..stop])
}

fn from_html(html: &str) -> Numbers {
    let mut n = Numbers::new();
    let mut names = Vec::new();
    for card in tags(html, "<article class=\"card") {
        let name = attr(card, "data-target").unwrap();
        let num = |k: &str| attr(card, k).unwrap().parse::<usize>().unwrap();
        let value = match attr(card, "data-status").as_deref() {
            Some("ran") => Some(Headline {
                behaviour_passed: num("data-behaviour-passed"),
                behaviour_total: num("data-behaviour-total"),
                seed_passing: num("data-seed-passing"),
                seed_total: num("data-seed-total"),
                unsupported_operations: num("data-unsupported-operations"),
                unsupported_checks: num("data-unsupported-checks"),
                checks_with_shape: num("data-checks-with-shape"),
                checks_with_protocol: num("data-checks-with-protocol"),
                security: num("data-security"),
            }),
            _ => None,
        };
        if value.is_some() {
            let devs = block(
                html,
                &format!("<article class=\"devs\" data-target=\"{name}\""),
                "</article>",
            )
            .unwrap_or_else(|| panic!("no deviations of {name}"));
            let security =
                block(devs, "<section class=\"security\"", "</section>").expect("a security list");
            n.security.insert(
                name.clone(),
                tags(security, "<li ")
                    .map(|li| {
                        (
                            attr(li, "data-scenario").unwrap(),
                            attr(li, "data-step").unwrap(),
                        )
                    })
                    .collect(),
            );
            let unsupported = block(devs, "<details class=\"unsupported\"", "</details>")
                .expect("an unsupported list");
            n.unsupported.insert(
                name.clone(),
                tags(unsupported, "<li ")
                    .map(|li| attr(li, "data-operation").unwrap())
                    .collect(),
            );
        }
        names.push(name.clone());
        n.targets.insert(name, value);
    }
    for (at, _) in html.match_indices("<tr data-op=\"") {
        let end = html[at..].find("</tr>").map_or(html.len(), |e| at + e);
        let row = &html[at..end];
        let tr = &row[..row.find('>').unwrap()];
        let op = attr(tr, "data-op").unwrap();
        n.seed
            .insert(op.clone(), attr(tr, "data-seed").as_deref() == Some("1"));
        for td in tags(row, "<td class=\"cell") {
            let t: usize = attr(td, "data-target").unwrap().parse().unwrap();
            let num = |k: &str| attr(td, k).unwrap().parse::<usize>().unwrap();
            n.cells.insert(
                (op.clone(), names[t].clone()),
                (
                    attr(td, "data-status").unwrap(),
                    num("data-passed"),
                    num("data-total"),
                    num("data-shape") > 0,
                    num("data-protocol") > 0,
                ),
            );
        }
    }
    n
}

fn from_json(v: &Value) -> Numbers {
    assert_eq!(v["schema"], "cogcheck-compatibility/3");
    let mut n = Numbers::new();
    let u = |v: &Value| v.as_u64().unwrap_or_else(|| panic!("not a number: {v}")) as usize;
    for t in v["targets"].as_array().unwrap() {
        let s = &t["summary"];
        let name = t["name"].as_str().unwrap().to_string();
        let value = (t["status"] == "ran").then(|| Headline {
            behaviour_passed: u(&s["behaviour_passed"]),
            behaviour_total: u(&s["behaviour_total"]),
            seed_passing: u(&s["seed_passing"]),
            seed_total: u(&s["seed_total"]),
            unsupported_operations: u(&s["unsupported_operations"]),
            unsupported_checks: u(&s["unsupported_checks"]),
            checks_with_shape: u(&s["checks_with_shape"]),
            checks_with_protocol: u(&s["checks_with_protocol"]),
            security: u(&s["security_deviations"]),
        });
        if value.is_some() {
            n.security.insert(
                name.clone(),
                t["deviations"]["security"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| {
                        let step = f["step"]
                            .as_u64()
                            .map_or("cleanup".to_string(), |s| s.to_string());
                        (f["scenario"].as_str().unwrap().to_string(), step)
                    })
                    .collect(),
            );
            n.unsupported.insert(
                name.clone(),
                t["unsupported"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o["operation"].as_str().unwrap().to_string())
                    .collect(),
            );
        }
        n.targets.insert(name, value);
    }
    for o in v["operations"].as_array().unwrap() {
        let op = o["name"].as_str().unwrap().to_string();
        n.seed.insert(op.clone(), o["seed"].as_bool().unwrap());
        for (t, c) in o["cells"].as_object().unwrap() {
            n.cells.insert(
                (op.clone(), t.clone()),
                (
                    c["status"].as_str().unwrap().to_string(),
                    u(&c["passed"]),
                    u(&c["total"]),
                    u(&c["shape"]) > 0,
                    u(&c["protocol"]) > 0,
                ),
            );
        }
    }
    n
}

/// `n` as the Markdown shows it: cells without counts carry neither counts nor badges there.
fn counts_shown(n: &Numbers) -> Numbers {
    let shows = |status: &str| {
        CellStatus::ALL
            .iter()
            .any(|s| s.name() == status && s.shows_counts())
    };
    Numbers {
        targets: n.targets.clone(),
        security: n.security.clone(),
        unsupported: n.unsupported.clone(),
        seed: n.seed.clone(),
        cells: n
            .cells
            .iter()
            .map(|(k, v)| {
                let v = if shows(&v.0) {
                    v.clone()
                } else {
                    (v.0.clone(), 0, 0, false, false)
                };
                (k.clone(), v)
            })
            .collect(),
    }
}

/// Writes the reports of `matrix` into a fresh folder and checks the three agree.
fn write_and_compare_matrix(
    matrix: Matrix,
    targets: usize,
) -> (tempfile::TempDir, Written, Matrix, Numbers) {
    let dir = tempfile::tempdir().unwrap();
    let written = write_reports(&matrix, dir.path()).expect("reports written");
    let md = std::fs::read_to_string(&written.markdown).unwrap();
    let html = std::fs::read_to_string(&written.html).unwrap();
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(&written.json).unwrap()).unwrap();
    let (a, b, c) = (from_markdown(&md), from_html(&html), from_json(&json));
    assert_eq!(a, counts_shown(&c), "Markdown and JSON disagree");
    assert_eq!(b, c, "HTML and JSON disagree");

    let ops: Vec<&String> = Model::get().operations.keys().collect();
    assert_eq!(ops.len(), 153);
    assert_eq!(
        c.seed.keys().collect::<Vec<_>>(),
        ops,
        "every operation has exactly one row"
    );
    assert_eq!(
        c.cells.len(),
        ops.len() * targets,
        "one cell per operation and target"
    );
    assert_eq!(
        c.seed.values().filter(|s| **s).count(),
        95,
        "the 95 seed actions are marked"
    );

    for (name, text) in [
        ("markdown", &md),
        ("html", &html),
        ("json", &json.to_string()),
    ] {
        assert!(
            !text.contains("eyJ"),
            "{name} report contains a JWT-looking value"
        );
    }
    (dir, written, matrix, c)
}

/// Builds the reports of `inputs` with the given SDK tolerance and checks the three agree.
fn write_and_compare(
    inputs: &[TargetInput],
    tolerance: Option<&SdkTolerance>,
) -> (tempfile::TempDir, Written, Matrix, Numbers) {
    let matrix = Matrix::build_with(inputs, tolerance).expect("matrix builds");
    write_and_compare_matrix(matrix, inputs.len())
}

#[test]
fn synthetic_reports_agree_and_say_what_happened() {
    let inputs = synthetic();
    let (_dir, written, matrix, n) = write_and_compare(&inputs, None);
    let cell = |op: &str, t: &str| n.cells[&(op.to_string(), t.to_string())].clone();
    let s = |x: &str, p, t| (x.to_string(), p, t, false, false);
    assert_eq!(cell("CreateUserPool", "alpha"), s("pass", 1, 1));
    assert_eq!(cell("DescribeUserPool", "alpha"), s("partial", 1, 2));
    assert_eq!(
        cell("AdminGetUser", "alpha"),
        s("fail", 0, 1),
        "an expected failure is still a failed check"
    );
    assert_eq!(cell("AdminInitiateAuth", "alpha"), s("fail", 0, 1));
    assert_eq!(cell("AdminGetDevice", "alpha"), s("unsupported", 0, 0));
    assert_eq!(
        cell("AdminSetUserMFAPreference", "alpha"),
        s("unsupported", 0, 0),
        "an operation answered 'unsupported' in a setup step is unsupported"
    );
    assert_eq!(
        cell("AssociateSoftwareToken", "alpha"),
        s("blocked", 0, 0),
        "a check stopped by another unsupported operation is not a behaviour failure"
    );
    assert_eq!(cell("SignUp", "alpha"), s("skipped", 0, 0));
    assert_eq!(
        cell("ListUsers", "alpha"),
        ("pass".to_string(), 1, 1, true, true),
        "shape and protocol findings badge a behaviour pass"
    );
    assert_eq!(cell("ListGroups", "alpha"), s("not_covered", 0, 0));
    assert_eq!(
        cell("AdminGetUser", "beta"),
        s("pass", 1, 1),
        "an unexpected pass passes"
    );
    assert_eq!(
        cell("AdminGetDevice", "beta"),
        s("fail", 0, 1),
        "a setup failure fails the check"
    );
    assert_eq!(cell("CreateUserPool", "gamma"), s("unavailable", 0, 0));
    assert_eq!(
        n.targets["alpha"],
        Some(Headline {
            behaviour_passed: 3,
            behaviour_total: 6,
            seed_passing: 2,
            seed_total: 95,
            unsupported_operations: 2,
            unsupported_checks: 2,
            checks_with_shape: 1,
            checks_with_protocol: 1,
            security: 1,
        }),
        "unsupported and blocked checks are counted apart, not as behaviour failures"
    );
    assert_eq!(
        n.targets["beta"]
            .as_ref()
            .map(|h| (h.behaviour_passed, h.behaviour_total)),
        Some((5, 6))
    );
    assert_eq!(
        n.targets["gamma"], None,
        "an unavailable target keeps its column"
    );
    assert_eq!(
        n.unsupported["alpha"],
        ["AdminGetDevice", "AdminSetUserMFAPreference"],
        "unsupported operations are listed per target"
    );
    assert!(n.unsupported["beta"].is_empty());
    assert_eq!(matrix.interop, vec!["CreateUserPool".to_string()]);
    let alpha = &matrix.targets[0].summary;
    assert_eq!(alpha.behaviour_known, 1, "the expected failure is counted");
    assert_eq!(
        alpha.behaviour_total - alpha.behaviour_passed,
        3,
        "new, known and security failures all fail on behaviour"
    );

    let md = std::fs::read_to_string(&written.markdown).unwrap();
    assert!(md.contains("**gamma could not be installed or started**"));
    assert!(md.contains("install failed: `cargo install` failed"));
    assert!(md.contains(
        "- `user-pools::describe-missing` step 1 `DescribeUserPool`, check `error-type` at `$.__type`"
    ));
    assert!(md.contains("known: alpha omits UserCreateDate"));
    assert!(
        md.contains("-  \"a\": 1\n  +  \"a\": 2"),
        "the diff is shown"
    );
    assert!(md.contains("**Interop:** 1 operations"));
    assert!(md.contains("<redacted: token>"));
    assert!(md.contains("| `ListUsers` ★ | users | "));
    assert!(md.contains(" ✅ˢᵖ 1/1 |"), "a badged cell");
    assert!(
        md.find("#### Security deviations on alpha")
            < md.find("#### Functional deviations on alpha"),
        "security deviations come first"
    );
    assert!(
        md.contains("- `users::admin-get-user`: step 1 [behaviour/body] $.UserCreateDate"),
        "a known deviation that no longer occurs is listed"
    );
    assert!(
        md.contains("| `protocol/content-type` | 1 | 1 | not measured |"),
        "without a tolerance file every deviation is not measured"
    );
    let html = std::fs::read_to_string(&written.html).unwrap();
    assert!(!html.contains("<link "), "no external stylesheet");
    assert!(!html.contains("<script src"), "no external script");
}

#[test]
fn security_deviations_are_listed_first_in_all_three() {
    let (_dir, written, _, n) = write_and_compare(&synthetic(), None);
    let expected = vec![
        (
            "auth::admin-secret-hash-required".to_string(),
            "1".to_string(),
        );
        2
    ];
    // `write_and_compare` already checked that the three formats list the same ones, and
    // give the same headline: every finding is listed, the step is one deviation.
    assert_eq!(n.security["alpha"], expected);
    assert_eq!(n.targets["alpha"].as_ref().map(|h| h.security), Some(1));
    assert!(n.security["beta"].is_empty() && n.security["delta"].is_empty());
    let md = std::fs::read_to_string(&written.markdown).unwrap();
    assert!(md.contains("signs in without SECRET_HASH (AWS: NotAuthorizedException) — **new**"));
    let html = std::fs::read_to_string(&written.html).unwrap();
    let devs = block(
        &html,
        "<article class=\"devs\" data-target=\"alpha\"",
        "</article>",
    )
    .unwrap();
    assert!(
        devs.find("class=\"security\"") < devs.find("sev-functional"),
        "the security list comes before the functional one"
    );
    assert!(devs.contains("signs in without SECRET_HASH"));
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(&written.json).unwrap()).unwrap();
    let f = &json["targets"][0]["deviations"]["security"][0];
    assert_eq!(f["severity"], "security");
    assert_eq!(
        f["known"],
        Value::Null,
        "a new deviation has no recorded reason"
    );
    assert_eq!(
        f["summary"],
        "signs in without SECRET_HASH (AWS: NotAuthorizedException)"
    );
}

#[test]
fn a_target_with_only_protocol_findings_passes_every_behaviour_check() {
    let (_dir, written, _, n) = write_and_compare(&synthetic(), None);
    let delta = n.targets["delta"].clone().expect("delta ran");
    assert_eq!(
        (delta.behaviour_passed, delta.behaviour_total),
        (4, 4),
        "protocol findings never fail a behaviour check"
    );
    assert_eq!(delta.checks_with_protocol, 4);
    assert_eq!(delta.checks_with_shape, 0);
    assert_eq!(
        (delta.unsupported_operations, delta.unsupported_checks),
        (1, 1),
        "its unsupported operation is counted apart"
    );
    for op in ["CreateUserPool", "DescribeUserPool", "AdminGetUser"] {
        let (status, _, _, shape, protocol) = &n.cells[&(op.to_string(), "delta".to_string())];
        assert_eq!(
            (status.as_str(), *shape, *protocol),
            ("pass", false, true),
            "{op}"
        );
    }
    // 100% in each format's own words (the numbers agree; the percentage is stated too).
    let md = std::fs::read_to_string(&written.markdown).unwrap();
    let row = table_after(&md, "## Targets")
        .into_iter()
        .find(|r| r[0] == "delta")
        .unwrap();
    assert!(row.iter().any(|c| c == "4/4 (100.0%)"), "{row:?}");
    let html = std::fs::read_to_string(&written.html).unwrap();
    let card = block(
        &html,
        "<article class=\"card\" data-target=\"delta\"",
        "</article>",
    )
    .unwrap();
    assert!(card.contains(r#"<span class="pct">100.0%</span>"#));
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(&written.json).unwrap()).unwrap();
    let s = &json["targets"][2]["summary"];
    assert_eq!(s["behaviour_passed"], s["behaviour_total"]);
}

#[test]
fn sdk_tolerance_tags_shape_and_protocol_deviations() {
    let tol = tolerance();
    let (_dir, written, matrix, _) = write_and_compare(&synthetic(), Some(&tol));
    assert!(matrix.sdk_tolerance);
    let md = std::fs::read_to_string(&written.markdown).unwrap();
    assert!(
        md.contains("| `protocol/request-id` | 7 | 4 | no SDK notices |"),
        "both SDKs `same`: no SDK notices"
    );
    assert!(md.contains("| `shape/enum-value` | 1 | 1 | boto3: same, JS SDK: raised |"));
    assert!(
        md.contains("| `protocol/content-type` | 1 | 1 | not measured |"),
        "a check without an entry is not measured"
    );
    let html = std::fs::read_to_string(&written.html).unwrap();
    assert!(html.contains(r#"<tr data-kind="protocol/request-id" data-sdk="no_sdk_notices">"#));
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(&written.json).unwrap()).unwrap();
    let wire = &json["targets"][0]["wire"];
    let by_kind = |k: &str| {
        wire.as_array()
            .unwrap()
            .iter()
            .find(|w| {
                format!(
                    "{}/{}",
                    w["axis"].as_str().unwrap(),
                    w["check"].as_str().unwrap()
                ) == k
            })
            .cloned()
            .unwrap()
    };
    assert_eq!(by_kind("shape/enum-value")["sdk"]["js_sdk"], "raised");
    assert_eq!(
        by_kind("protocol/content-type")["sdk"]["notice"],
        "not_measured"
    );

    // A file of another schema is refused, a missing one is "not measured".
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        SdkTolerance::load(&dir.path().join("none.json")).unwrap(),
        None
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"schema": "cogcheck-sdk-tolerance/0", "checks": {}}"#,
    )
    .unwrap();
    assert!(SdkTolerance::load(&bad).is_err());
}

#[test]
fn results_of_the_old_schema_are_refused_with_a_reason() {
    let mut old = alpha();
    old.schema = "cogcheck-results/1".into();
    let err = Matrix::build_with(&[TargetInput::Ran(Box::new(old))], None).unwrap_err();
    assert!(err.to_string().contains("cogcheck-results/2"), "{err}");
}

/// The v2 results files under `reports/results/`, and the names of the others (older schemas,
/// to be regenerated).
fn real_results() -> (Vec<TargetInput>, Vec<String>) {
    let dir = repo().join("reports/results");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut inputs = Vec::new();
    let mut other = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let schema = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["schema"].as_str().map(str::to_string));
        if schema.as_deref() == Some(results::SCHEMA) {
            let r = Results::load(&f).unwrap_or_else(|e| panic!("{e}"));
            inputs.push(TargetInput::Ran(Box::new(r)));
        } else {
            other.push(format!("{} ({schema:?})", f.display()));
        }
    }
    if !other.is_empty() {
        eprintln!(
            "skipped results files that are not {}: {} (regenerate them with `cogcheck report`)",
            results::SCHEMA,
            other.join(", ")
        );
    }
    (inputs, other)
}

#[test]
fn real_results_reports_agree() {
    let (inputs, _) = real_results();
    if inputs.is_empty() {
        eprintln!("no v2 results under reports/results: only the synthetic set was checked");
        return;
    }
    let matrix = Matrix::build(&inputs).expect("matrix builds");
    let (_dir, _written, matrix, n) = write_and_compare_matrix(matrix, inputs.len());
    for t in &matrix.targets {
        let h = n.targets[&t.name].clone().unwrap();
        assert!(
            h.behaviour_passed <= h.behaviour_total && h.behaviour_total > 0,
            "{}: {h:?}",
            t.name
        );
        assert_eq!(
            h.unsupported_operations,
            n.unsupported[&t.name].len(),
            "{}: every unsupported operation is listed",
            t.name
        );
    }
}

#[test]
fn seed_list_copy_matches_the_seed_file() {
    let embedded = compat::parse_seed_list(compat::SEED_ACTIONS);
    assert_eq!(embedded.len(), 95);
    let missing: Vec<_> = embedded
        .iter()
        .filter(|a| Model::get().operation(a).is_err())
        .collect();
    assert!(
        missing.is_empty(),
        "seed actions not in the model: {missing:?}"
    );
}

/// The repository is self-contained: no test, script or CI step reads a path outside it (a
/// user's clone has nothing beside it).
#[test]
fn nothing_reads_outside_the_repository() {
    let outside = format!("{}/{}", "..", "shared");
    let root = repo();
    let files = std::process::Command::new("git")
        .args(["ls-files"])
        .current_dir(&root)
        .output()
        .expect("git lists the tracked files");
    let mut offenders = Vec::new();
    for file in String::from_utf8_lossy(&files.stdout).lines() {
        let code = [".rs", ".py", ".mjs", ".js", ".sh", ".toml", ".json"]
            .iter()
            .any(|x| file.ends_with(x))
            || file == ".ci/run";
        if !code || file.starts_with("reports/") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(root.join(file)) else {
            continue;
        };
        if text.contains(&outside) {
            offenders.push(file.to_string());
        }
    }
    assert!(
        offenders.is_empty(),
        "read outside the repository: {offenders:?}"
    );
}

#[test]
fn quota_categories_cover_every_operation_once() {
    let v: Value = serde_json::from_str(compat::QUOTAS).unwrap();
    assert!(v["source"]
        .as_str()
        .unwrap()
        .starts_with("https://docs.aws.amazon.com/cognito/"));
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (category, c) in v["categories"].as_object().unwrap() {
        for op in c["operations"].as_array().unwrap() {
            let op = op.as_str().unwrap().to_string();
            assert!(
                Model::get().operation(&op).is_ok(),
                "{op} ({category}) is not an operation"
            );
            if let Some(first) = seen.insert(op.clone(), category.clone()) {
                panic!("{op} is in both {first} and {category}");
            }
        }
    }
    let all: Vec<&String> = Model::get().operations.keys().collect();
    assert_eq!(
        seen.keys().collect::<Vec<_>>(),
        all,
        "every operation has a category"
    );
    let rate = |c: &str| v["categories"][c]["rate_per_second"].as_f64();
    assert_eq!(rate("UserAuthentication"), Some(120.0));
    assert_eq!(rate("UserCreation"), Some(50.0));
    assert_eq!(rate("UserList"), Some(30.0));
    assert_eq!(rate("UserPoolRead"), Some(15.0));
    assert_eq!(rate("Uncategorized"), None);
    assert_eq!(seen["InitiateAuth"], "UserAuthentication");
    assert_eq!(seen["ListUsers"], "UserList");
}

#[test]
fn scrub_removes_tokens_only() {
    assert_eq!(compat::scrub("a eyJx.eyJy.z b"), "a <redacted: token> b");
    assert_eq!(compat::scrub("\"eyJhbGc\""), "\"<redacted: token>\"");
    assert_eq!(compat::scrub("no tokens here"), "no tokens here");
}

#[test]
fn unknown_target_names_are_refused() {
    let targets = cogcheck::target::Targets::load_default().unwrap();
    let cache = cogcheck::target::Cache::new(tempfile::tempdir().unwrap().path());
    assert!(targets::resolve_targets(&["nope".into()], &targets, &cache, false).is_err());
    assert_eq!(
        targets::resolve_targets(&[], &targets, &cache, false).unwrap(),
        vec!["moto", "ministack", "cognito-local"],
        "fakecloud joins only when installed"
    );
    let all = targets::resolve_targets(&["all".into()], &targets, &cache, false).unwrap();
    assert!(all.contains(&"fakecloud".to_string()) && !all.contains(&"aws".to_string()));
    assert_eq!(
        targets::resolve_targets(&["ministack,moto".into()], &targets, &cache, false).unwrap(),
        vec!["ministack", "moto"]
    );
    // --versions: each target's earlier versions right after it, in the file's order.
    let with_versions =
        targets::resolve_targets(&["moto,cognito-local".into()], &targets, &cache, true).unwrap();
    assert_eq!(with_versions.first().map(String::as_str), Some("moto"));
    let moto = targets.get("moto").unwrap();
    assert!(
        !moto.earlier_versions.is_empty(),
        "moto lists earlier versions"
    );
    for v in &moto.earlier_versions {
        let name = format!("moto@{v}");
        assert!(with_versions.contains(&name), "{with_versions:?}");
        let spec = targets.get(&name).unwrap();
        assert_eq!(spec.name, "moto", "an earlier version is the same target");
        assert_eq!(&spec.version, v);
    }
    assert_eq!(
        with_versions.last().map(String::as_str),
        Some("cognito-local")
    );
    let err = targets.get("moto@0.0.1").unwrap_err().to_string();
    assert!(
        err.contains("no version `0.0.1`") && err.contains("5.2.5"),
        "{err}"
    );
}

/// Earlier versions' results (results/versions/) make each target's trend, never a column:
/// the points are counted like a column's headline, sorted in release order (5.0.28 before
/// 5.1.22), the pinned column comes last, and all three formats show them.
#[test]
fn earlier_versions_make_a_trend_not_a_column() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("results");
    let mut current = with_counts(alpha());
    current.target.name = "moto".into();
    current.target.version = "5.2.5".into();
    current
        .save(&results::published_path(&dir, "moto"))
        .unwrap();
    for (version, r) in [("5.1.22", beta()), ("5.0.28", alpha())] {
        let mut r = with_counts(r);
        r.target.name = "moto".into();
        r.target.version = version.into();
        r.save(&results::published_path(&dir, &format!("moto@{version}")))
            .unwrap();
    }
    assert!(dir.join("versions/moto@5.1.22.json").exists());
    compat::publish(out.path(), &[], Vec::new()).expect("report written");
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("compatibility.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["targets"].as_array().unwrap().len(), 1, "one column");
    let trend = json["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 1);
    assert_eq!(trend[0]["target"], "moto");
    let versions: Vec<&str> = trend[0]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["5.0.28", "5.1.22", "5.2.5"]);
    let column = &json["targets"][0]["summary"];
    let pinned = &trend[0]["versions"][2];
    assert_eq!(pinned["pinned"], true);
    assert_eq!(pinned["behaviour_passed"], column["behaviour_passed"]);
    assert_eq!(pinned["behaviour_total"], column["behaviour_total"]);
    // The oldest point is alpha's results, counted as alpha's own column would be.
    let alone = Matrix::build(&[TargetInput::Ran(Box::new(with_counts(alpha())))]).unwrap();
    let oldest = &trend[0]["versions"][0];
    assert_eq!(
        oldest["behaviour_passed"],
        alone.targets[0].summary.behaviour_passed
    );
    assert_eq!(
        oldest["behaviour_total"],
        alone.targets[0].summary.behaviour_total
    );
    assert_eq!(oldest["pinned"], false);

    let md = std::fs::read_to_string(out.path().join("compatibility.md")).unwrap();
    // The header and the separator row, then one row per version.
    let rows = table_after(&md, "## Behaviour across versions");
    assert_eq!(rows.len(), 5, "{md}");
    assert_eq!(rows[2][1], "5.0.28");
    assert_eq!(rows[4][1], "**5.2.5**");
    let html = std::fs::read_to_string(out.path().join("compatibility.html")).unwrap();
    let fig = block(
        &html,
        r#"<figure class="trend" data-target="moto""#,
        "</figure>",
    )
    .expect("the moto card has a trend chart");
    assert_eq!(fig.matches("<circle").count(), 3, "{fig}");
}

/// Loads the HTML report in headless Debian Chromium (suite/tests/browser/report.test.mjs):
/// rows, filters, failure details. Fails, never skips, when Chromium is missing.
#[test]
fn browser_checks_the_html_report() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    // `cargo test` is the README's whole set-up for the tests: on a Debian machine where we are
    // root, install Chromium the way the README says; anywhere else, say what to do.
    if !Path::new(&chromium).exists() && chromium == "/usr/bin/chromium" {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if root && Path::new("/usr/bin/apt-get").exists() {
            eprintln!("browser test: installing Debian's chromium (apt-get install -y chromium)");
            let ok = Command::new("sh")
                .args(["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium"])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "apt-get install chromium failed");
        }
    }
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: the browser test needs Debian's Chromium (`apt-get install -y chromium`)"
    );
    let dir = repo().join("suite/tests/browser");
    if !dir.join("node_modules/playwright-core").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
            .current_dir(&dir)
            .status()
            .expect("npm runs (install Node.js and npm)");
        assert!(status.success(), "npm ci failed in {}", dir.display());
    }
    let tol = tolerance();
    let (_tmp, _, mut matrix, _) = write_and_compare(&synthetic(), Some(&tol));
    // Two earlier versions of the first target, so the page carries a trend chart to check.
    let first = matrix.targets[0].name.clone();
    let earlier: Vec<Results> = [("0.8.1", alpha()), ("0.10.0", beta())]
        .into_iter()
        .map(|(version, r)| {
            let mut r = with_counts(r);
            r.target.name = first.clone();
            r.target.version = version.into();
            r
        })
        .collect();
    matrix.trend = compat::trend::build(&matrix, &earlier).unwrap();
    assert_eq!(matrix.trend.len(), 1);
    let page = tempfile::tempdir().unwrap();
    let written = write_reports(&matrix, page.path()).unwrap();
    let mut pages = vec![written.html.clone()];
    let committed = repo().join("reports/compatibility.html");
    if committed.exists() && repo().join("reports/compatibility.json").exists() {
        pages.push(committed);
    }
    let joined = std::env::join_paths(&pages).unwrap();
    let out = Command::new("node")
        .args(["--test", "--test-reporter=spec", "report.test.mjs"])
        .env("COGCHECK_REPORT_HTML", joined)
        .env("CHROMIUM", &chromium)
        .current_dir(&dir)
        .output()
        .expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "browser test failed:\n{text}");
}

/// Writes reports from the v2 files of `reports/results/` into `target/compat-preview/` for a
/// look: `cargo test -p cogcheck --test report -- --ignored --nocapture preview`.
#[test]
#[ignore]
fn preview_from_real_results() {
    let (mut inputs, _) = real_results();
    if std::env::var("PREVIEW_UNAVAILABLE").is_ok() {
        inputs.push(TargetInput::Unavailable {
            name: "fakecloud".into(),
            version: "0.51.0".into(),
            configuration: "fakecloud in memory".into(),
            reason: "target `fakecloud`: is not installed, and its first install is a long compile"
                .into(),
        });
    }
    let matrix = Matrix::build(&inputs).unwrap();
    let out = repo().join("target/compat-preview");
    let w = write_reports(&matrix, &out).unwrap();
    println!(
        "{}\n{}\n{}",
        w.markdown.display(),
        w.html.display(),
        w.json.display()
    );
}

/// The whole `cogcheck report` path on this machine: runs moto (and fakecloud, which is reported
/// unavailable unless installed) into a temporary folder.
/// `cargo test -p cogcheck --test report -- --ignored --nocapture end_to_end`.
#[test]
#[ignore]
fn end_to_end_run_report() {
    let out = tempfile::tempdir().unwrap();
    let ok = targets::run_report(targets::ReportOptions {
        targets: vec!["moto".into(), "fakecloud".into()],
        from: Vec::new(),
        out_dir: out.path().to_path_buf(),
        earlier_versions: false,
        allow_slow_install: false,
        jobs: 4,
        progress: false,
    })
    .expect("report runs");
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("compatibility.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["targets"][0]["status"], "ran");
    assert!(out.path().join("results/moto.json").exists());
    println!("ok = {ok}; fakecloud: {}", json["targets"][1]["status"]);
}

/// `report --from` puts columns in the order a run would (default targets first, then by
/// name), whatever order the files are named in, so a regenerated report keeps its layout.
#[test]
fn reports_from_files_keep_the_run_order_of_columns() {
    let dir = tempfile::tempdir().unwrap();
    let from = ["fakecloud", "cognito-local", "moto", "ministack"]
        .iter()
        .map(|t| {
            let mut r = beta();
            r.target.name = t.to_string();
            let path = dir.path().join("results").join(format!("{t}.json"));
            r.save(&path).unwrap();
            path
        })
        .collect();
    let out = tempfile::tempdir().unwrap();
    let ok = targets::run_report(targets::ReportOptions {
        from,
        out_dir: out.path().to_path_buf(),
        ..Default::default()
    });
    assert!(ok.is_ok(), "{ok:?}");
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("compatibility.json")).unwrap(),
    )
    .unwrap();
    let names: Vec<&str> = json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["moto", "ministack", "cognito-local", "fakecloud"]);
}

/// `r` with the verdict counts a run writes (the synthetic sets leave them empty).
fn with_counts(mut r: Results) -> Results {
    let name = |v: &Value| v["verdict"].as_str().unwrap_or_default().to_string();
    let mut summary = BTreeMap::new();
    let mut axes: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for s in &r.scenarios {
        *summary.entry(name(&s["verdict"])).or_default() += 1;
        for axis in ["behaviour", "shape", "protocol"] {
            *axes
                .entry(axis.into())
                .or_default()
                .entry(name(&s["axes"][axis]))
                .or_default() += 1;
        }
    }
    r.summary = summary;
    r.axes = axes;
    r
}

/// `full` cut into `count` shards as `cogcheck run --shard K/count` cuts a run, each with its
/// own prefix, endpoint and times, saved as `<dir>/<target>.shard-K.json`.
fn shard_files(full: &Results, count: usize, dir: &Path) -> Vec<PathBuf> {
    use cogcheck::scenario::select::Shard;
    let mut sorted = full.scenarios.clone();
    sorted.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    (1..=count)
        .map(|index| {
            let shard = Shard { index, count };
            let mut part = full.clone();
            part.scenarios = sorted
                .iter()
                .enumerate()
                .filter(|(i, _)| shard.takes(*i))
                .map(|(_, s)| s.clone())
                .collect();
            part = with_counts(part);
            part.run.shard = Some(shard);
            part.run.prefix = format!("cogcheck-shard{index}");
            part.run.started = format!("2026-11-26T17:0{index}:00Z");
            part.run.finished = format!("2026-11-26T17:0{index}:30Z");
            part.target.endpoint = format!("http://127.0.0.1:{index}");
            let path = dir.join(format!("{}.shard-{index}.json", full.target.name));
            part.save(&path).unwrap();
            path
        })
        .collect()
}

/// The report's JSON from these results files, written into a temporary folder.
fn report_from(from: Vec<PathBuf>) -> Result<Value, String> {
    let out = tempfile::tempdir().unwrap();
    targets::run_report(targets::ReportOptions {
        from,
        out_dir: out.path().to_path_buf(),
        progress: false,
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    Ok(serde_json::from_str(
        &std::fs::read_to_string(out.path().join("compatibility.json")).unwrap(),
    )
    .unwrap())
}

/// Shards of one target run on several machines make the column one run of every scenario
/// makes: the same counts, cells, deviations and operations, whatever the file order.
#[test]
fn merged_shards_report_what_one_run_reports() {
    let dir = tempfile::tempdir().unwrap();
    let full = with_counts(alpha());
    let whole = dir.path().join("alpha.json");
    full.save(&whole).unwrap();
    let one = report_from(vec![whole]).unwrap();
    for count in [2, 3] {
        let sub = dir.path().join(count.to_string());
        let mut files = shard_files(&full, count, &sub);
        files.reverse();
        let merged = report_from(files.clone()).unwrap();
        assert_eq!(merged["targets"].as_array().unwrap().len(), 1, "one column");
        let (mut a, mut b) = (one["targets"][0].clone(), merged["targets"][0].clone());
        assert_eq!(b["run"]["started"], "2026-11-26T17:01:00Z");
        assert_eq!(b["run"]["finished"], format!("2026-11-26T17:0{count}:30Z"));
        for t in [&mut a, &mut b] {
            let o = t.as_object_mut().unwrap();
            o.remove("run");
            o.remove("endpoint");
        }
        assert_eq!(a, b, "{count} shards");
        assert_eq!(one["operations"], merged["operations"], "{count} shards");

        let parts = files
            .iter()
            .map(|p| (p.clone(), Results::load(p).unwrap()))
            .collect();
        let r = Results::merge(parts).unwrap();
        assert_eq!(r.summary, full.summary);
        assert_eq!(r.axes, full.axes);
        assert_eq!(r.scenarios.len(), full.scenarios.len());
        assert_eq!(r.run.shard, None, "the merged column is the whole target");
    }
}

/// Shards that ran the same scenario, a split with a shard missing, shards of different
/// splits, and parts of different versions are refused, naming what is wrong.
#[test]
fn shards_that_overlap_or_miss_a_slice_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let full = with_counts(alpha());
    let files = shard_files(&full, 3, dir.path());

    let missing = report_from(files[..2].to_vec()).unwrap_err();
    assert!(missing.contains("3/3 missing"), "{missing}");

    // A full run beside its shards: every scenario is in two files.
    let whole = dir.path().join("alpha.json");
    full.save(&whole).unwrap();
    let overlap = report_from(vec![whole.clone(), files[0].clone()]).unwrap_err();
    assert!(overlap.contains("must not overlap"), "{overlap}");
    let first = Results::load(&files[0]).unwrap();
    let name = first.scenarios[0]["name"].as_str().unwrap();
    assert!(overlap.contains(name), "names the scenario: {overlap}");

    // The same shard twice.
    let copy = dir.path().join("copy.json");
    std::fs::copy(&files[0], &copy).unwrap();
    let mut again = files.clone();
    again.push(copy);
    let twice = report_from(again).unwrap_err();
    assert!(twice.contains("must not overlap"), "{twice}");

    // Slices of a 2-way split beside slices of a 3-way one, disjoint or not.
    let two = shard_files(&full, 2, &dir.path().join("two"));
    let mixed = report_from(vec![two[0].clone(), files[1].clone()]).unwrap_err();
    assert!(
        mixed.contains("different splits") || mixed.contains("must not overlap"),
        "{mixed}"
    );

    let mut other = Results::load(&files[2]).unwrap();
    other.target.version = "2.0.0".into();
    other.save(&files[2]).unwrap();
    let version = report_from(files.clone()).unwrap_err();
    assert!(version.contains("version"), "{version}");

    // Two targets' files are two columns, not a merge.
    let mut gamma = beta();
    gamma.target.name = "gamma".into();
    let g = dir.path().join("gamma.json");
    gamma.save(&g).unwrap();
    let two_columns = report_from(vec![whole, g]).unwrap();
    assert_eq!(two_columns["targets"].as_array().unwrap().len(), 2);
}

/// An operation one shard found answered is not "now implemented" when another shard's
/// scenario found it unsupported: the merge judges what the whole run saw.
#[test]
fn now_implemented_across_shards_is_what_every_shard_saw() {
    let dir = tempfile::tempdir().unwrap();
    let full = with_counts(alpha());
    let refused = full
        .scenarios
        .iter()
        .find_map(|s| {
            (s["outcome"]["outcome"] == "unsupported")
                .then(|| s["outcome"]["action"].as_str().unwrap().to_string())
        })
        .expect("alpha has an unsupported outcome");
    let files = shard_files(&full, 2, dir.path());
    let mut parts: Vec<(PathBuf, Results)> = files
        .iter()
        .map(|p| (p.clone(), Results::load(p).unwrap()))
        .collect();
    let refusing = parts
        .iter()
        .position(|(_, r)| {
            r.scenarios
                .iter()
                .any(|s| s["outcome"]["action"].as_str() == Some(&refused))
        })
        .unwrap();
    let other = 1 - refusing;
    parts[other].1.now_implemented = vec![refused.clone(), "ListTagsForResource".into()];
    let merged = Results::merge(parts).unwrap();
    assert_eq!(
        merged.now_implemented,
        vec!["ListTagsForResource".to_string()]
    );
}

/// The README's main command never loses published data: a report run keeps the column of
/// every target it did not run (or could not start) from `<out>/results/`, with that file's
/// run date, leaves a results file of an older schema alone, and ends with the one page to
/// open. The run here starts nothing: fakecloud is asked for with an empty cache, so it cannot
/// be installed (its install is a long compile, never implicit).
#[test]
fn a_report_run_keeps_the_columns_it_did_not_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let published = out.join("results");
    let mut moto = beta();
    moto.target.name = "moto".into();
    moto.run.finished = "2026-10-01T12:00:00Z".into();
    moto.save(&published.join("moto.json")).unwrap();
    let old = published.join("old.json");
    let old_text =
        r#"{"schema": "cogcheck-results/1", "run": {"finished": "2026-09-01T00:00:00Z"}}"#;
    std::fs::write(&old, old_text).unwrap();
    let before = std::fs::read(published.join("moto.json")).unwrap();

    let report = |out: &Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_cogcheck"))
            .args([
                "report",
                "--targets",
                "fakecloud",
                "--no-progress",
                "--out-dir",
            ])
            .arg(out)
            .env("COGCHECK_CACHE", tmp.path().join("empty-cache"))
            .env_remove("COGCHECK_ENDPOINT")
            .env_remove("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")
            .output()
            .expect("cogcheck runs");
        let stdout = String::from_utf8_lossy(&o.stdout).to_string();
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        let json: Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("compatibility.json")).unwrap_or_default(),
        )
        .unwrap_or(Value::Null);
        (o.status.code(), stdout, stderr, json)
    };

    let (code, stdout, stderr, json) = report(&out);
    assert_eq!(code, Some(1), "fakecloud did not run: {stderr}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [out.join("compatibility.html").display().to_string()],
        "stdout is the one page to open; stderr: {stderr}"
    );
    let column = |json: &Value, name: &str| {
        json["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} column in {json}"))
    };
    let m = column(&json, "moto");
    assert_eq!(m["status"], "ran");
    assert_eq!(m["run"]["finished"], "2026-10-01T12:00:00Z");
    assert!(
        stderr.contains("moto: not run now") && stderr.contains("2026-10-01"),
        "{stderr}"
    );
    assert_eq!(column(&json, "fakecloud")["status"], "unavailable");
    assert_eq!(json["targets"].as_array().unwrap().len(), 2);
    assert!(
        stderr.contains("cogcheck-results/1") && stderr.contains("2026-09-01"),
        "the old file is named with its date: {stderr}"
    );
    let md = std::fs::read_to_string(out.join("compatibility.md")).unwrap();
    assert!(
        md.contains("2026-10-01"),
        "the kept column shows its run date"
    );
    assert_eq!(std::fs::read(published.join("moto.json")).unwrap(), before);
    assert_eq!(std::fs::read_to_string(&old).unwrap(), old_text);

    // A target that cannot start now but has published results keeps them.
    let mut fakecloud = beta();
    fakecloud.target.name = "fakecloud".into();
    fakecloud.run.finished = "2026-11-02T08:00:00Z".into();
    fakecloud.save(&published.join("fakecloud.json")).unwrap();
    let (_, stdout, stderr, json) = report(&out);
    let f = column(&json, "fakecloud");
    assert_eq!(f["status"], "ran", "{stderr}");
    assert_eq!(f["run"]["finished"], "2026-11-02T08:00:00Z");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
}

/// An expectation no AWS source states (`inferred`) that a target does not meet is listed on
/// its own in all three formats and never counts: the check still passes and no security
/// deviation is reported.
#[test]
fn inferred_expectations_are_listed_apart_and_never_counted() {
    let mut inferred = finding(
        Some(6),
        "InitiateAuth",
        "behaviour",
        "security",
        "body",
        "$.claims.cognito:username",
        "helper:decode_jwt: cognito:username is the e-mail, not the UUID",
        None,
    );
    inferred["evidence"] = json!({"kind": "inferred", "note": "no page states it"});
    let r = results(
        "epsilon",
        vec![scenario(
            "sign-up::email-as-username",
            &["SignUp"],
            completed(),
            vec![
                step(0, "CreateUserPool", "passed"),
                step(6, "InitiateAuth", "deviated"),
            ],
            vec![inferred],
            ["pass", "pass", "pass"],
        )],
    );
    let (_dir, written, _, n) = write_and_compare(&[TargetInput::Ran(Box::new(r))], None);
    let e = n.targets["epsilon"].clone().expect("epsilon ran");
    assert_eq!((e.behaviour_passed, e.behaviour_total), (1, 1));
    assert!(
        n.security["epsilon"].is_empty(),
        "an inferred finding is no deviation"
    );

    let md = std::fs::read_to_string(&written.markdown).unwrap();
    let items = items_after(
        &md,
        "#### Inferred expectations not met on epsilon (1, not counted)",
    );
    assert_eq!(items.len(), 1, "{md}");
    assert!(
        items[0].contains("cognito:username is the e-mail"),
        "{}",
        items[0]
    );
    assert!(items[0].contains("inferred, not counted"), "{}", items[0]);
    assert!(
        md.contains("source: inferred (not counted): no page states it"),
        "{md}"
    );
    let html = std::fs::read_to_string(&written.html).unwrap();
    assert!(html.contains(r#"class="sev sev-inferred" data-count="1""#));
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(&written.json).unwrap()).unwrap();
    let t = &json["targets"][0];
    assert_eq!(t["inferred"].as_array().map(Vec::len), Some(1));
    assert_eq!(t["summary"]["security_deviations"], 0);
    assert_eq!(t["deviations"]["security"], json!([]));
}
