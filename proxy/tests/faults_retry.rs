//! The retry matrix: real SDKs through the proxy to real moto, one fault kind at a time,
//! asserting how many requests the proxy saw and what the SDK finally raised.
//!
//! Drivers live in `tests/retry/`: `boto3_driver.py` (system boto3) and `js_driver.mjs`
//! (`@aws-sdk/client-cognito-identity-provider`, pinned in `tests/retry/package.json`; this
//! test runs `npm ci` when `node_modules` is missing). Each driver gets its own proxy, so
//! they run side by side; each case replaces the proxy's rules through the admin API.
//!
//! Run with `--nocapture` to see the table that goes in `proxy/README.md`.

mod util;

use std::collections::BTreeMap;
use std::process::Command;

use cogcheck_proxy::{Config, Proxy, RunningProxy};
use serde_json::{json, Value};
use util::{aws_env, moto, npm_ci, retry_dir};

/// The fault of every case, on ListUserPools (which declares TooManyRequestsException,
/// NotAuthorizedException and InternalErrorException).
fn faults() -> Vec<(&'static str, Value)> {
    vec![
        (
            "throttle 400",
            json!({"kind": "error", "error": "TooManyRequestsException"}),
        ),
        (
            "throttle 429",
            json!({"kind": "error", "error": "TooManyRequestsException", "status": 429}),
        ),
        (
            "internal 500",
            json!({"kind": "error", "error": "InternalErrorException"}),
        ),
        (
            "not authorized",
            json!({"kind": "error", "error": "NotAuthorizedException"}),
        ),
        (
            "502 empty",
            json!({"kind": "status", "status": 502, "body": "empty"}),
        ),
        ("503 html", json!({"kind": "status", "status": 503})),
        ("504 html", json!({"kind": "status", "status": 504})),
        ("reset before", json!({"kind": "reset"})),
        (
            "reset after",
            json!({"kind": "reset", "phase": "after_upstream"}),
        ),
        ("close before", json!({"kind": "close"})),
        (
            "hang (1 s client timeout)",
            json!({"kind": "hang", "max": "20s"}),
        ),
        ("truncated 200", json!({"kind": "truncate"})),
        ("malformed 200", json!({"kind": "malformed"})),
        ("wrong content type", json!({"kind": "content_type"})),
        (
            "slow body 100 B/s",
            json!({"kind": "slow_body", "bytes_per_second": 100}),
        ),
        ("latency 50 ms", json!({"kind": "latency", "ms": 50})),
    ]
}

fn cases(retries: Option<Value>) -> Value {
    let list: Vec<Value> = faults()
        .into_iter()
        .enumerate()
        .map(|(i, (name, fault))| {
            json!({
                "name": name,
                "rule": {"id": format!("case-{i}"), "actions": "ListUserPools", "fault": fault},
                "retries": retries,
                "read_timeout": if name.starts_with("hang") { 1 } else { 30 },
            })
        })
        .collect();
    Value::Array(list)
}

/// Extra cases on one fault: what the defaults and `max_attempts` mean.
fn attempt_cases() -> Value {
    let rule = |id: &str| json!({"id": id, "actions": "ListUserPools", "fault": {"kind": "error", "error": "InternalErrorException"}});
    json!([
        {"name": "internal 500, default config", "rule": rule("default"), "retries": null},
        {"name": "internal 500, standard max_attempts 4", "rule": rule("standard-4"), "retries": {"mode": "standard", "max_attempts": 4}},
    ])
}

async fn proxy_with_admin(upstream: &str) -> RunningProxy {
    let mut config = Config::new(upstream).expect("a good upstream");
    config.admin = Some(([127, 0, 0, 1], 0).into());
    Proxy::start(config).await.expect("the proxy starts")
}

/// Runs a driver; returns case -> (outcome, attempts).
async fn drive(
    mut cmd: Command,
    proxy: &RunningProxy,
    cases: Value,
) -> BTreeMap<String, (String, u64)> {
    let admin = format!("http://{}", proxy.admin_addr().expect("an admin address"));
    aws_env(&mut cmd)
        .env("ADMIN", admin)
        .env("ENDPOINT", proxy.endpoint())
        .env("CASES", cases.to_string())
        .env_remove("AWS_RETRY_MODE")
        .env_remove("AWS_MAX_ATTEMPTS");
    let shown = format!("{cmd:?}");
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("the driver task finishes")
        .unwrap_or_else(|e| panic!("{shown}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{shown} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            (
                v["case"].as_str().unwrap_or_default().to_string(),
                (
                    v["outcome"].as_str().unwrap_or_default().to_string(),
                    v["attempts"].as_u64().unwrap_or(0),
                ),
            )
        })
        .collect()
}

/// `python3`, or `$COGCHECK_PYTHON` (a virtualenv with pinned boto3, say).
fn python(script: &str) -> Command {
    let mut c = Command::new(std::env::var("COGCHECK_PYTHON").unwrap_or_else(|_| "python3".into()));
    c.arg(retry_dir().join(script));
    c
}

/// What each SDK does, per fault: (outcome, requests the proxy saw), for boto3 standard
/// (`max_attempts: 2`), boto3 legacy (`max_attempts: 2`), and the JS SDK v3 defaults.
// Measured with boto3/botocore 1.43.11 and 1.44.8 (identical) and
// @aws-sdk/client-cognito-identity-provider 3.1169.0 on Node 20.
const EXPECTED: &[(&str, [(&str, u64); 3])] = &[
    (
        "throttle 400",
        [
            ("TooManyRequestsException (400)", 3),
            ("TooManyRequestsException (400)", 1),
            ("TooManyRequestsException (400)", 3),
        ],
    ),
    (
        "throttle 429",
        [
            ("TooManyRequestsException (429)", 3),
            ("TooManyRequestsException (429)", 3),
            ("TooManyRequestsException (429)", 3),
        ],
    ),
    (
        "internal 500",
        [
            ("InternalErrorException (500)", 3),
            ("InternalErrorException (500)", 3),
            ("InternalErrorException (500)", 3),
        ],
    ),
    (
        "not authorized",
        [
            ("NotAuthorizedException (400)", 1),
            ("NotAuthorizedException (400)", 1),
            ("NotAuthorizedException (400)", 1),
        ],
    ),
    (
        "502 empty",
        [("502 (502)", 3), ("502 (502)", 3), ("Unknown (502)", 3)],
    ),
    (
        "503 html",
        [("503 (503)", 3), ("503 (503)", 3), ("SyntaxError", 3)],
    ),
    (
        "504 html",
        [("504 (504)", 3), ("504 (504)", 3), ("SyntaxError", 3)],
    ),
    (
        "reset before",
        [
            ("ConnectionClosedError", 3),
            ("ConnectionClosedError", 3),
            ("TimeoutError:ECONNRESET", 3),
        ],
    ),
    (
        "reset after",
        [
            ("ConnectionClosedError", 3),
            ("ConnectionClosedError", 3),
            ("TimeoutError:ECONNRESET", 3),
        ],
    ),
    (
        "close before",
        [
            ("ConnectionClosedError", 3),
            ("ConnectionClosedError", 3),
            ("TimeoutError:ECONNRESET", 3),
        ],
    ),
    (
        "hang (1 s client timeout)",
        [
            ("ReadTimeoutError", 3),
            ("ReadTimeoutError", 3),
            ("TimeoutError:ECONNRESET", 3),
        ],
    ),
    ("truncated 200", [("ok", 1), ("ok", 1), ("SyntaxError", 1)]),
    ("malformed 200", [("ok", 1), ("ok", 1), ("SyntaxError", 1)]),
    ("wrong content type", [("ok", 1), ("ok", 1), ("ok", 1)]),
    ("slow body 100 B/s", [("ok", 1), ("ok", 1), ("ok", 1)]),
    ("latency 50 ms", [("ok", 1), ("ok", 1), ("ok", 1)]),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdks_retry_each_fault_kind_as_measured() {
    let moto = moto().await;
    let standard = proxy_with_admin(&moto.endpoint).await;
    let legacy = proxy_with_admin(&moto.endpoint).await;
    let js = proxy_with_admin(&moto.endpoint).await;
    let extra = proxy_with_admin(&moto.endpoint).await;
    tokio::task::spawn_blocking(npm_ci)
        .await
        .expect("npm ci finishes");
    let mut node = Command::new("node");
    node.arg("js_driver.mjs").current_dir(retry_dir());

    let (s, l, j, x) = tokio::join!(
        drive(
            python("boto3_driver.py"),
            &standard,
            cases(Some(json!({"mode": "standard", "max_attempts": 2})))
        ),
        drive(
            python("boto3_driver.py"),
            &legacy,
            cases(Some(json!({"mode": "legacy", "max_attempts": 2})))
        ),
        drive(node, &js, cases(None)),
        drive(python("boto3_driver.py"), &extra, attempt_cases()),
    );

    let mut table = String::from(
        "| fault | boto3 standard, `max_attempts: 2` | boto3 legacy, `max_attempts: 2` | JS SDK v3 (defaults) |\n|---|---|---|---|\n",
    );
    let cell = |m: &BTreeMap<String, (String, u64)>, k: &str| {
        m.get(k)
            .map(|(o, n)| format!("{n} × → {o}"))
            .unwrap_or_else(|| "(missing)".into())
    };
    for (name, _) in faults() {
        table.push_str(&format!(
            "| {name} | {} | {} | {} |\n",
            cell(&s, name),
            cell(&l, name),
            cell(&j, name)
        ));
    }
    println!("{table}");
    println!("{x:?}");
    println!("{:?}", s.get("versions"));

    // `max_attempts` counts retries: 4 means up to 5 requests.
    assert_eq!(
        x.get("internal 500, standard max_attempts 4"),
        Some(&("InternalErrorException (500)".to_string(), 5)),
        "{x:?}"
    );
    // Without retry configuration botocore 1.44 uses standard mode, 3 attempts; 1.43 used
    // legacy mode, 5 attempts (measured on 1.43.11 and 1.44.8).
    let version = x.get("versions").map(|v| v.0.clone()).unwrap_or_default();
    let minor: u32 = version
        .rsplit("botocore 1.")
        .next()
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let default_attempts = if minor >= 44 { 3 } else { 5 };
    assert_eq!(
        x.get("internal 500, default config"),
        Some(&("InternalErrorException (500)".to_string(), default_attempts)),
        "{version}"
    );
    for (name, expected) in EXPECTED {
        for (observed, (outcome, attempts)) in [&s, &l, &j].into_iter().zip(expected.iter()) {
            assert_eq!(
                observed.get(*name),
                Some(&(outcome.to_string(), *attempts)),
                "{name}\n{table}"
            );
        }
    }
}
