//! Helpers shared by the proxy's integration tests: real moto (started through the suite's
//! targets), the proxy in-process or as its binary, and the AWS CLI and boto3 as clients.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cogcheck::client::{Client, ClientConfig};
use cogcheck::target::{Cache, RunningTarget, Targets};
use cogcheck_proxy::{CassettePlan, Config, Proxy, RunningProxy};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

/// Starts a fresh moto on a free loopback port. Blocking (install on first use); stopped when
/// the returned value drops.
pub async fn moto() -> RunningTarget {
    tokio::task::spawn_blocking(|| {
        let targets = Targets::load_default().expect("fixtures/targets.toml loads");
        let cache = Cache::default_location().expect("a cache directory");
        targets
            .get("moto")
            .expect("moto is a target")
            .start(&cache, false)
            .expect("moto starts")
    })
    .await
    .expect("the start task finishes")
}

/// A suite session (target, client, run configuration, expectations) opened in a blocking
/// task: a local target is installed and started there. `record` records the run as a
/// snapshot through the proxy binary.
pub async fn session(
    target: &str,
    jobs: usize,
    record: Option<std::path::PathBuf>,
) -> cogcheck::session::Session {
    let target = target.to_string();
    tokio::task::spawn_blocking(move || {
        cogcheck::session::Session::open(cogcheck::session::SessionOptions {
            target: Some(target.clone()),
            endpoint: None,
            jobs,
            allow_slow_install: false,
            record,
        })
        .unwrap_or_else(|e| panic!("{target} opens: {e}"))
    })
    .await
    .expect("the open task finishes")
}

/// What [`run_session`] hands back: the session (to stop), its runner (for more runs on the
/// same target) and the results.
pub type SessionRun = (
    cogcheck::session::Session,
    std::sync::Arc<cogcheck::run::Runner>,
    Vec<(
        cogcheck::finding::ScenarioResult,
        cogcheck::expectations::Judgement,
    )>,
);

/// Opens [`session`] on `target` (4 jobs) and runs `scenarios` on it, judged with the
/// target's expectations at `strictness`.
pub async fn run_session(
    target: &str,
    record: Option<std::path::PathBuf>,
    scenarios: Vec<cogcheck::scenario::Scenario>,
    strictness: cogcheck::expectations::Strictness,
) -> SessionRun {
    let session = session(target, 4, record).await;
    let runner = std::sync::Arc::new(cogcheck::run::Runner::new(
        session.client.clone(),
        session.config.clone(),
    ));
    let results = runner
        .run_all(scenarios, &session.expectations, strictness, |_| {})
        .await;
    (session, runner, results)
}

/// Each scenario's verdict and findings by step, axis, check and path (their messages hold
/// per-run values such as pool ids and salts), to compare two runs.
pub fn verdicts(
    results: &[(
        cogcheck::finding::ScenarioResult,
        cogcheck::expectations::Judgement,
    )],
) -> Vec<(String, String)> {
    results
        .iter()
        .map(|(r, j)| {
            let findings: Vec<String> = r
                .findings
                .iter()
                .map(|f| format!("{:?} {} {} {}", f.step, f.axis.name(), f.check, f.path))
                .collect();
            (
                r.name.clone(),
                format!("{} [{}]", j.verdict.name(), findings.join(", ")),
            )
        })
        .collect()
}

/// Where a replayed snapshot and the scenarios disagree, judged as `cargo test` judges
/// (behaviour, the target's expectations): every failing verdict, and apart, the scenarios the
/// snapshot does not hold (added or changed after the recording).
pub fn snapshot_disagreements(
    results: &[(
        cogcheck::finding::ScenarioResult,
        cogcheck::expectations::Judgement,
    )],
    expectations: &cogcheck::expectations::Expectations,
) -> (Vec<String>, Vec<String>) {
    let mut failing = Vec::new();
    let mut absent = Vec::new();
    for (r, _) in results {
        let j = expectations.judge(r, cogcheck::expectations::Strictness::Behaviour);
        let line = format!(
            "{}: {} {}",
            r.name,
            j.verdict.name(),
            j.verdict.text().unwrap_or_default()
        );
        match &j.verdict {
            cogcheck::expectations::Verdict::NotInSnapshot { .. } => absent.push(line),
            v if v.is_failure() => failing.push(line),
            _ => {}
        }
    }
    (failing, absent)
}

/// A proxy in this process.
pub async fn proxy(upstream: &str, cassette: CassettePlan) -> RunningProxy {
    let mut config = Config::new(upstream).expect("a good upstream");
    config.cassette = cassette;
    Proxy::start(config).await.expect("the proxy starts")
}

/// A suite client for an endpoint (moto's harmless credentials).
pub fn client(endpoint: &str) -> Client {
    Client::new(ClientConfig::local(endpoint)).expect("a client")
}

/// Calls an action and returns status and body.
pub async fn call(c: &Client, action: &str, input: Value) -> (u16, Value) {
    let r = c.call(action, &input).await.expect("an answer");
    (r.status, r.body)
}

/// The lines of a cassette, each parsed (panics on a line that is not JSON).
pub fn cassette_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("the cassette is readable");
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("line {} is not JSON ({e}): {l}", i + 1))
        })
        .collect()
}

/// `tests/retry`: the boto3 and JS SDK v3 drivers and the JS SDK's package lock.
pub fn retry_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/retry")
}

/// Installs the JS SDK for the drivers in `tests/retry` (once: `node_modules` stays).
pub fn npm_ci() {
    if retry_dir().join("node_modules").is_dir() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(retry_dir())
        .status()
        .expect("npm runs (Node and npm are needed for the JS SDK driver)");
    assert!(status.success(), "npm ci in tests/retry failed");
}

/// The environment every AWS client here runs with.
pub fn aws_env(cmd: &mut Command) -> &mut Command {
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_CA_BUNDLE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
}

/// Runs the AWS CLI against an endpoint and returns its JSON output.
pub async fn aws_cli(endpoint: &str, args: &[&str]) -> Value {
    let mut cmd = Command::new("aws");
    aws_env(&mut cmd)
        .args([
            "--endpoint-url",
            endpoint,
            "--output",
            "json",
            "cognito-idp",
        ])
        .args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("the CLI task finishes")
        .expect("the aws CLI runs (pip install awscli)");
    assert!(
        out.status.success(),
        "aws {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("aws {args:?}: {e}: {text}"))
    }
}

/// Runs a Python script (boto3) with `ENDPOINT` and extra variables; returns its stdout.
pub async fn python(script: &str, vars: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("python3");
    aws_env(&mut cmd).arg("-c").arg(script);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("the python task finishes")
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The proxy binary, started with `args`; waits for its `listening on` line.
pub struct ProxyProcess {
    pub child: Child,
    pub endpoint: String,
    pub lines: Vec<String>,
}

impl ProxyProcess {
    pub fn spawn(args: &[&str]) -> ProxyProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cogcheck-proxy"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the proxy binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut reader = BufReader::new(stdout);
        let mut lines = Vec::new();
        let mut endpoint = None;
        for _ in 0..3 {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            let line = line.trim().to_string();
            if let Some(e) = line.strip_prefix("listening on ") {
                endpoint = Some(e.to_string());
            }
            lines.push(line);
            if endpoint.is_some() && lines.len() >= expected_lines(args) {
                break;
            }
        }
        let endpoint = endpoint.unwrap_or_else(|| {
            let _ = child.kill();
            panic!("the proxy printed no `listening on` line: {lines:?}")
        });
        ProxyProcess {
            child,
            endpoint,
            lines,
        }
    }

    pub fn signal(&self, sig: Signal) {
        // The child is this test's and not reaped yet, so its pid is still its own.
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits"));
        kill(pid, sig).expect("signals the proxy");
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait works") {
                return s;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the proxy did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn expected_lines(args: &[&str]) -> usize {
    1 + usize::from(args.contains(&"--admin")) + usize::from(args.contains(&"--tls-generate"))
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A unique name for resources a test creates.
pub fn unique(prefix: &str) -> String {
    format!("cogcheck-proxy-{prefix}-{:08x}", rand::random::<u32>())
}
