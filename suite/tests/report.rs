//! The compatibility report: the Markdown, HTML and JSON say the same numbers, every operation
//! has a row, nothing token-shaped leaks, the embedded seed list and quota categories are
//! right, and the HTML works in headless Chromium.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cogcheck::model::Model;
use cogcheck::report::compat::{
    self, matrix::CellStatus, write_reports, Matrix, TargetInput, Written,
};
use cogcheck::report::results::Results;
use serde_json::{json, Value};

const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn step(index: usize, action: &str, status: &str) -> Value {
    json!({"index": index, "label": action, "action": action, "status": status,
           "duration_ms": 1, "http_status": 200, "error_type": null})
}

fn scenario(
    name: &str,
    covers: &[&str],
    outcome: Value,
    steps: Vec<Value>,
    verdict: Value,
) -> Value {
    let area = name.split("::").next().unwrap_or_default();
    json!({"name": name, "area": area, "file": format!("fixtures/scenarios/{area}/x.json"),
           "source": "https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/",
           "covers": covers, "outcome": outcome, "steps": steps, "duration_ms": 3,
           "cleanup_errors": [], "verdict": verdict})
}

fn results(target: &str, scenarios: Vec<Value>) -> Results {
    serde_json::from_value(json!({
        "schema": "cogcheck-results/1",
        "run": {"prefix": "cogcheck-abc123", "started": "2026-11-26T17:00:00Z",
                "finished": "2026-11-26T17:01:00Z", "cogcheck": "0.1.0", "model": "botocore 1.44.8"},
        "target": {"name": target, "version": "1.0.0", "endpoint": "http://127.0.0.1:1",
                   "configuration": format!("{target} | in memory")},
        "summary": {},
        "scenarios": scenarios,
    }))
    .expect("synthetic results parse")
}

/// Two targets that ran and one that could not start, covering every cell status.
fn synthetic() -> Vec<TargetInput> {
    let passed = json!({"outcome": "passed"});
    let pass = json!({"verdict": "pass"});
    let alpha = results(
        "alpha",
        vec![
            scenario(
                "user-pools::create",
                &["CreateUserPool", "DescribeUserPool"],
                passed.clone(),
                vec![
                    step(0, "CreateUserPool", "passed"),
                    step(1, "DescribeUserPool", "passed"),
                ],
                pass.clone(),
            ),
            scenario(
                "user-pools::describe-missing",
                &["DescribeUserPool"],
                json!({"outcome": "failed", "step": 1, "check": "error-type",
                            "summary": format!("DescribeUserPool: expected ResourceNotFoundException, got token {JWT}"),
                            "expected": "{\n  \"a\": 1\n}", "actual": format!("{{\n  \"a\": 2,\n  \"t\": \"{JWT}\"\n}}"),
                            "diff": "--- expected\n+++ actual\n@@ -1,3 +1,3 @@\n {\n-  \"a\": 1\n+  \"a\": 2\n }\n"}),
                vec![
                    step(0, "CreateUserPool", "passed"),
                    step(1, "DescribeUserPool", "failed"),
                ],
                json!({"verdict": "fail"}),
            ),
            scenario(
                "users::admin-get-user",
                &["AdminGetUser"],
                json!({"outcome": "failed", "step": 1, "check": "body", "summary": "AdminGetUser: $.UserCreateDate missing",
                            "expected": "{}", "actual": "{}", "diff": ""}),
                vec![
                    step(0, "CreateUserPool", "passed"),
                    step(1, "AdminGetUser", "failed"),
                ],
                json!({"verdict": "expected_failure", "reason": "alpha omits UserCreateDate"}),
            ),
            scenario(
                "devices::admin-get-device",
                &["AdminGetDevice"],
                json!({"outcome": "unsupported", "action": "AdminGetDevice", "step": 1}),
                vec![
                    step(0, "CreateUserPool", "passed"),
                    step(1, "AdminGetDevice", "unsupported"),
                ],
                json!({"verdict": "unsupported", "action": "AdminGetDevice"}),
            ),
            scenario(
                "sign-up::confirm",
                &["SignUp"],
                json!({"outcome": "skipped", "reason": "the target does not offer `codes`"}),
                vec![step(0, "SignUp", "not_run")],
                json!({"verdict": "skipped", "reason": "the target does not offer `codes`"}),
            ),
        ],
    );
    let beta = results(
        "beta",
        vec![
            scenario(
                "user-pools::create",
                &["CreateUserPool", "DescribeUserPool"],
                passed.clone(),
                vec![step(0, "CreateUserPool", "passed")],
                pass.clone(),
            ),
            scenario(
                "user-pools::describe-missing",
                &["DescribeUserPool"],
                passed.clone(),
                vec![step(0, "CreateUserPool", "passed")],
                pass.clone(),
            ),
            scenario(
                "users::admin-get-user",
                &["AdminGetUser"],
                passed.clone(),
                vec![step(0, "CreateUserPool", "passed")],
                json!({"verdict": "unexpected_pass", "reason": "beta omitted UserCreateDate"}),
            ),
            scenario(
                "devices::admin-get-device",
                &["AdminGetDevice"],
                json!({"outcome": "failed", "step": 0, "check": "transport", "summary": "CreateUserPool: connection reset",
                            "expected": "an answer", "actual": "connection reset", "diff": ""}),
                vec![
                    step(0, "CreateUserPool", "failed"),
                    step(1, "AdminGetDevice", "not_run"),
                ],
                json!({"verdict": "fail"}),
            ),
            scenario(
                "sign-up::confirm",
                &["SignUp"],
                passed,
                vec![step(0, "SignUp", "passed")],
                pass,
            ),
        ],
    );
    vec![
        TargetInput::Ran(Box::new(alpha)),
        TargetInput::Ran(Box::new(beta)),
        TargetInput::Unavailable {
            name: "gamma".into(),
            version: "0.51.0".into(),
            configuration: "gamma in memory".into(),
            reason: "target `gamma`: install failed: `cargo install` failed (exit status 101)"
                .into(),
        },
    ]
}

/// What one output says: per target (checks passed, checks, seed passing, seed total) and per
/// (operation, target) (status, passed, total), plus each operation's seed mark.
#[derive(Debug, PartialEq)]
struct Numbers {
    targets: BTreeMap<String, Option<(usize, usize, usize, usize)>>,
    cells: BTreeMap<(String, String), (String, usize, usize)>,
    seed: BTreeMap<String, bool>,
}

fn ratio(text: &str) -> (usize, usize) {
    let text = text.trim();
    let core = text.split_whitespace().next().unwrap_or(text);
    let (a, b) = core
        .split_once('/')
        .unwrap_or_else(|| panic!("not n/m: {text:?}"));
    (a.parse().unwrap(), b.parse().unwrap())
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

fn from_markdown(md: &str) -> Numbers {
    let mut n = Numbers {
        targets: BTreeMap::new(),
        cells: BTreeMap::new(),
        seed: BTreeMap::new(),
    };
    let targets = table_after(md, "## Targets");
    let head = &targets[0];
    let col = |name: &str| {
        head.iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (checks, seed) = (col("checks passed"), col("seed actions fully passing"));
    for row in &targets[2..] {
        let value = if row[3].starts_with("not available") {
            None
        } else {
            let (cp, ct) = ratio(&row[checks]);
            let (sp, st) = ratio(&row[seed]);
            Some((cp, ct, sp, st))
        };
        n.targets.insert(row[0].clone(), value);
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
            let sym = parts.next().unwrap_or_default();
            let status = status_of_symbol(sym);
            let (p, tot) = parts.next().map(ratio).unwrap_or((0, 0));
            n.cells
                .insert((op.clone(), t.clone()), (status.to_string(), p, tot));
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

fn from_html(html: &str) -> Numbers {
    let mut n = Numbers {
        targets: BTreeMap::new(),
        cells: BTreeMap::new(),
        seed: BTreeMap::new(),
    };
    let mut names = Vec::new();
    for card in tags(html, "<article class=\"card") {
        let name = attr(card, "data-target").unwrap();
        let num = |k: &str| attr(card, k).unwrap().parse::<usize>().unwrap();
        let value = match attr(card, "data-status").as_deref() {
            Some("ran") => Some((
                num("data-checks-passed"),
                num("data-checks-total"),
                num("data-seed-passing"),
                num("data-seed-total"),
            )),
            _ => None,
        };
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
            n.cells.insert(
                (op.clone(), names[t].clone()),
                (
                    attr(td, "data-status").unwrap(),
                    attr(td, "data-passed").unwrap().parse().unwrap(),
                    attr(td, "data-total").unwrap().parse().unwrap(),
                ),
            );
        }
    }
    n
}

fn from_json(v: &Value) -> Numbers {
    assert_eq!(v["schema"], "cogcheck-compatibility/1");
    let mut n = Numbers {
        targets: BTreeMap::new(),
        cells: BTreeMap::new(),
        seed: BTreeMap::new(),
    };
    let u = |v: &Value| v.as_u64().unwrap() as usize;
    for t in v["targets"].as_array().unwrap() {
        let s = &t["summary"];
        let value = (t["status"] == "ran").then(|| {
            (
                u(&s["checks_passed"]),
                u(&s["checks_total"]),
                u(&s["seed_passing"]),
                u(&s["seed_total"]),
            )
        });
        n.targets
            .insert(t["name"].as_str().unwrap().to_string(), value);
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
                ),
            );
        }
    }
    n
}

/// `n` as the Markdown shows it: ⛔, ⏭, · and n/a cells carry no counts there.
fn counts_shown(n: &Numbers) -> Numbers {
    let shows = |status: &str| {
        CellStatus::ALL
            .iter()
            .any(|s| s.name() == status && s.shows_counts())
    };
    Numbers {
        targets: n.targets.clone(),
        seed: n.seed.clone(),
        cells: n
            .cells
            .iter()
            .map(|(k, (st, p, t))| {
                let v = if shows(st) {
                    (st.clone(), *p, *t)
                } else {
                    (st.clone(), 0, 0)
                };
                (k.clone(), v)
            })
            .collect(),
    }
}

/// Writes the reports of `inputs` into a fresh folder and checks the three agree.
fn write_and_compare(inputs: &[TargetInput]) -> (tempfile::TempDir, Written, Matrix, Numbers) {
    let matrix = Matrix::build(inputs).expect("matrix builds");
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
        ops.len() * inputs.len(),
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

#[test]
fn synthetic_reports_agree_and_say_what_happened() {
    let inputs = synthetic();
    let (_dir, written, matrix, n) = write_and_compare(&inputs);
    let cell = |op: &str, t: &str| n.cells[&(op.to_string(), t.to_string())].clone();
    let s = |x: &str, p, t| (x.to_string(), p, t);
    assert_eq!(cell("CreateUserPool", "alpha"), s("pass", 1, 1));
    assert_eq!(cell("DescribeUserPool", "alpha"), s("partial", 1, 2));
    assert_eq!(
        cell("AdminGetUser", "alpha"),
        s("fail", 0, 1),
        "an expected failure is still a failed check"
    );
    assert_eq!(cell("AdminGetDevice", "alpha"), s("unsupported", 0, 1));
    assert_eq!(cell("SignUp", "alpha"), s("skipped", 0, 0));
    assert_eq!(cell("ListUsers", "alpha"), s("not_covered", 0, 0));
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
    assert_eq!(n.targets["alpha"], Some((2, 5, 1, 95)));
    assert_eq!(n.targets["beta"], Some((5, 6, 4, 95)));
    assert_eq!(
        n.targets["gamma"], None,
        "an unavailable target keeps its column"
    );
    assert_eq!(matrix.interop, vec!["CreateUserPool".to_string()]);

    let md = std::fs::read_to_string(&written.markdown).unwrap();
    assert!(md.contains("**gamma could not be installed or started**"));
    assert!(md.contains("install failed: `cargo install` failed"));
    assert!(md.contains("#### `user-pools::describe-missing` — fail"));
    assert!(md.contains("step 1 `DescribeUserPool`, check `error-type`"));
    assert!(md.contains("> Known failure: alpha omits UserCreateDate"));
    assert!(md.contains("-  \"a\": 1\n+  \"a\": 2"), "the diff is shown");
    assert!(md.contains("**Interop:** 1 operations"));
    assert!(md.contains("<redacted: token>"));
    let html = std::fs::read_to_string(&written.html).unwrap();
    assert!(!html.contains("<link "), "no external stylesheet");
    assert!(!html.contains("<script src"), "no external script");
}

#[test]
fn real_results_reports_agree() {
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
    if files.is_empty() {
        eprintln!(
            "no results under {}: only the synthetic set was checked",
            dir.display()
        );
        return;
    }
    let inputs: Vec<TargetInput> = files
        .iter()
        .map(|f| TargetInput::Ran(Box::new(Results::load(f).unwrap_or_else(|e| panic!("{e}")))))
        .collect();
    let (_dir, _written, matrix, n) = write_and_compare(&inputs);
    for t in &matrix.targets {
        let (cp, ct, _, _) = n.targets[&t.name].unwrap();
        assert!(cp <= ct && ct > 0, "{}: {cp}/{ct}", t.name);
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
    let seed_file = repo().join("../shared/seed/cognito-user-pools-actions.md");
    match std::fs::read_to_string(&seed_file) {
        Ok(text) => assert_eq!(
            compat::seed_actions_from_table(&text),
            embedded,
            "fixtures/seed-actions.txt differs from {}",
            seed_file.display()
        ),
        Err(e) => eprintln!(
            "{}: {e}; checked the embedded copy only",
            seed_file.display()
        ),
    }
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
    assert!(compat::resolve_targets(&["nope".into()], &targets, &cache).is_err());
    assert_eq!(
        compat::resolve_targets(&[], &targets, &cache).unwrap(),
        vec!["moto", "ministack", "cognito-local"],
        "fakecloud joins only when installed"
    );
    let all = compat::resolve_targets(&["all".into()], &targets, &cache).unwrap();
    assert!(all.contains(&"fakecloud".to_string()) && !all.contains(&"aws".to_string()));
    assert_eq!(
        compat::resolve_targets(&["ministack,moto".into()], &targets, &cache).unwrap(),
        vec!["ministack", "moto"]
    );
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
    let (_tmp, written, _, _) = write_and_compare(&synthetic());
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

/// Writes reports from `reports/results/*.json` into `target/compat-preview/` for a look:
/// `cargo test -p cogcheck --test report -- --ignored --nocapture preview`.
#[test]
#[ignore]
fn preview_from_real_results() {
    let dir = repo().join("reports/results");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut inputs: Vec<TargetInput> = files
        .iter()
        .map(|f| TargetInput::Ran(Box::new(Results::load(f).unwrap())))
        .collect();
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
    let ok = compat::run_report(compat::ReportOptions {
        targets: vec!["moto".into(), "fakecloud".into()],
        from: Vec::new(),
        out_dir: out.path().to_path_buf(),
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
    let results = repo().join("reports/results");
    let out = tempfile::tempdir().unwrap();
    let from = ["fakecloud", "cognito-local", "moto", "ministack"]
        .iter()
        .map(|t| results.join(format!("{t}.json")))
        .collect();
    let ok = compat::run_report(compat::ReportOptions {
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
