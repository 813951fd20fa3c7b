//! Log events on standard error: `--log-format json` writes one JSON object per line with the
//! fields `--help` promises, RUST_LOG chooses the levels, and no header value or body reaches
//! a log. No emulator is needed: a cassette holding only its header answers (or misses)
//! every request, and `--mode new-episodes` forwards the misses to an upstream nobody listens
//! on, so the proxy answers 502 itself and records that.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{Map, Value};

const PASSWORD: &str = "Canary-Pass-7731";
const SIGNATURE: &str = "cafe0123canarysignature";

/// Starts the proxy with `args` and `RUST_LOG` (unset when `None`), sends one InitiateAuth
/// carrying a password and an Authorization header, stops it with SIGTERM and returns its
/// standard error.
fn run_proxy(dir: &Path, args: &[&str], rust_log: Option<&str>) -> String {
    let cassette = dir.join("cassette.jsonl");
    std::fs::write(
        &cassette,
        "{\"cassette\":\"cogcheck-cassette/1\",\"created\":\"2025-01-01T00:00:00Z\",\
         \"proxy\":\"test\"}\n",
    )
    .unwrap();
    let stderr_path = dir.join("stderr.txt");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cogcheck-proxy"));
    cmd.args(["--listen", "127.0.0.1:0", "--replay"])
        .arg(&cassette)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    match rust_log {
        Some(spec) => cmd.env("RUST_LOG", spec),
        None => cmd.env_remove("RUST_LOG"),
    };
    let mut child = cmd.spawn().expect("the proxy starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let Some(addr) = line.trim().strip_prefix("listening on http://") else {
        let _ = child.kill();
        panic!("no `listening on` line: {line:?}");
    };

    let body = format!(
        r#"{{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"c1","AuthParameters":{{"USERNAME":"alice","PASSWORD":"{PASSWORD}"}}}}"#
    );
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: AWSCognitoIdentityProviderService.InitiateAuth\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature={SIGNATURE}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");

    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the proxy did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        !stderr.contains(PASSWORD) && !stderr.contains(SIGNATURE),
        "a secret reached the log: {stderr}"
    );
    stderr
}

/// Every line of `stderr` as a JSON object.
fn json_lines(stderr: &str) -> Vec<Map<String, Value>> {
    stderr
        .lines()
        .map(|l| match serde_json::from_str(l) {
            Ok(Value::Object(o)) => o,
            other => panic!("not one JSON object per line: {l:?} ({other:?})"),
        })
        .collect()
}

fn event<'a>(lines: &'a [Map<String, Value>], message: &str) -> Option<&'a Map<String, Value>> {
    lines
        .iter()
        .find(|l| l.get("message").and_then(Value::as_str) == Some(message))
}

#[test]
fn json_logs_are_one_object_per_line_with_the_promised_fields() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = run_proxy(
        dir.path(),
        &[
            "--mode",
            "new-episodes",
            "--upstream",
            // Nothing listens on port 9 here: the proxy answers 502 itself and records it.
            "http://127.0.0.1:9",
            "--log-format",
            "json",
            "--verbose",
        ],
        None,
    );
    let lines = json_lines(&stderr);
    for l in &lines {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(l.contains_key(key), "`{key}` missing: {l:?}");
        }
    }
    let start = event(&lines, "proxy started").unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(start["level"], "INFO");
    assert_eq!(start["upstream"], "http://127.0.0.1:9");
    assert_eq!(start["mode"], "new-episodes");
    assert!(start["cassette"]
        .as_str()
        .unwrap()
        .ends_with("cassette.jsonl"));
    assert!(start["listen"].as_str().unwrap().starts_with("127.0.0.1:"));

    let exchange = event(&lines, "exchange").unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(exchange["level"], "DEBUG");
    assert_eq!(exchange["method"], "POST");
    assert_eq!(exchange["path"], "/");
    assert_eq!(exchange["action"], "InitiateAuth");
    assert_eq!(exchange["status"], 502);
    assert_eq!(exchange["source"], "upstream");
    assert_eq!(exchange["upstream"], "http://127.0.0.1:9");
    assert_eq!(exchange["seq"], 1, "its line in the cassette");
    assert!(exchange["latency_ms"].as_f64().is_some(), "{exchange:?}");
    assert!(event(&lines, "stopped cleanly").is_some(), "{stderr}");
}

#[test]
fn rust_log_chooses_the_level() {
    let replay_only = ["--mode", "none", "--log-format", "json"];
    // Default: info, so the start but not the exchange.
    let dir = tempfile::tempdir().unwrap();
    let lines = json_lines(&run_proxy(dir.path(), &replay_only, None));
    assert!(event(&lines, "proxy started").is_some());
    assert!(event(&lines, "exchange").is_none());

    // RUST_LOG=debug: the exchange too, without --verbose.
    let dir = tempfile::tempdir().unwrap();
    let lines = json_lines(&run_proxy(dir.path(), &replay_only, Some("debug")));
    let exchange = event(&lines, "exchange").expect("a debug event per exchange");
    assert_eq!(exchange["source"], "replay");
    assert_eq!(exchange["status"], 400, "a replay miss");
    assert!(!exchange.contains_key("seq"), "not recorded: {exchange:?}");

    // RUST_LOG=warn wins over --verbose: a clean run says nothing.
    let dir = tempfile::tempdir().unwrap();
    let mut verbose = replay_only.to_vec();
    verbose.push("--verbose");
    let stderr = run_proxy(dir.path(), &verbose, Some("warn"));
    assert_eq!(stderr, "", "nothing at warn or above");
}

#[test]
fn text_logs_are_readable_lines() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = run_proxy(dir.path(), &["--mode", "none", "-v"], None);
    let exchange = stderr
        .lines()
        .find(|l| l.contains(" exchange ") && l.contains("status="))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(exchange.contains("DEBUG"), "{exchange}");
    assert!(exchange.contains("action=\"InitiateAuth\""), "{exchange}");
    assert!(exchange.contains("status=400"), "{exchange}");
    assert!(serde_json::from_str::<Value>(exchange).is_err());
}

#[test]
fn a_bad_rust_log_is_a_configuration_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_cogcheck-proxy"))
        .args(["--upstream", "http://127.0.0.1:9"])
        .env("RUST_LOG", "cogcheck_proxy=loud")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RUST_LOG"));
}
