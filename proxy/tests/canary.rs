//! The canary: every conformance scenario through the proxy binary with recording, faults, the
//! fault log and compare mode all on, then every file it wrote and everything it printed
//! (debug logging on) searched for every secret that crossed it: 0 occurrences.
//!
//! What counts as a secret here is decided apart from the proxy's own redaction list, so the
//! test does not take the proxy's word for it: a tap in front of each upstream collects every
//! string value of every member or form field or header whose name says password, code,
//! session, token, secret, SRP, salt, verifier or signature (the SigV4 signature of the
//! `Authorization` header too), when the value looks generated (see [`looks_secret`]).

mod util;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use cogcheck::expectations::Strictness;
use cogcheck::run::{RunConfig, Runner};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use util::{client, moto, session};

type Canaries = Arc<Mutex<HashSet<String>>>;

/// Names of members, form fields and headers that carry secrets, in any case. Not secrets
/// though named so: pagination cursors (`NextToken`, `PaginationToken`) and `SessionId`, which
/// names a session for RevokeUserSession next to the access token that authorizes it.
fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    if matches!(n.as_str(), "nexttoken" | "paginationtoken" | "sessionid") {
        return false;
    }
    [
        "password",
        "code",
        "session",
        "token",
        "secret",
        "srp_",
        "salt",
        "verifier",
        "signature",
        "devicekey",
        "device_key",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// Generated values, not words: six characters or more, and digits or mixed case or long.
/// ("minutes" under `TokenValidityUnits.AccessToken`, "Bearer" under `TokenType` and enum
/// values such as `SOFTWARE_TOKEN_MFA` are words; an IdP's `token_url` is an address.)
fn looks_secret(v: &str) -> bool {
    if v.starts_with("https://") || v.starts_with("http://") {
        return false;
    }
    let words = v.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        || v.chars().skip(1).all(|c| c.is_ascii_lowercase());
    v.len() >= 6
        && !words
        && (v.bytes().any(|b| b.is_ascii_digit())
            || (v.bytes().any(|b| b.is_ascii_uppercase())
                && v.bytes().any(|b| b.is_ascii_lowercase()))
            || v.len() >= 20)
}

fn collect_json(value: &Value, under_secret: bool, out: &mut HashSet<String>) {
    match value {
        Value::String(s) if under_secret && looks_secret(s) => {
            out.insert(s.clone());
        }
        // A name covers its own value and a list of values, not the members of an object
        // under it (`CodeDeliveryDetails.Destination` is a masked address).
        Value::Object(map) => {
            for (k, v) in map {
                collect_json(v, secret_name(k), out);
            }
        }
        Value::Array(items) => {
            for v in items {
                collect_json(v, under_secret, out);
            }
        }
        _ => {}
    }
}

fn collect(headers: &http::HeaderMap, body: &[u8], out: &mut HashSet<String>) {
    for (name, value) in headers {
        let Ok(value) = value.to_str() else { continue };
        if let Some((_, sig)) = value.split_once("Signature=") {
            out.insert(sig.trim().to_string());
        } else if secret_name(name.as_str()) && looks_secret(value) {
            out.insert(value.to_string());
        }
    }
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        collect_json(&v, false, out);
    } else if let Ok(text) = std::str::from_utf8(body) {
        for (k, v) in text.split('&').filter_map(|p| p.split_once('=')) {
            if secret_name(k) && looks_secret(v) {
                out.insert(v.to_string());
            }
        }
    }
}

/// A plain forwarding proxy in this process that notes every secret going either way.
async fn tap(upstream: String, canaries: Canaries) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (http, upstream, canaries) = (http.clone(), upstream.clone(), canaries.clone());
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let (http, upstream, canaries) =
                            (http.clone(), upstream.clone(), canaries.clone());
                        async move {
                            let (mut parts, body) = req.into_parts();
                            let body = body.collect().await?.to_bytes();
                            collect(&parts.headers, &body, &mut canaries.lock().unwrap());
                            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                            parts.uri = format!("{upstream}{path}").parse().unwrap();
                            parts.headers.remove(http::header::HOST);
                            let answer = http
                                .request(http::Request::from_parts(parts, Full::new(body)))
                                .await
                                .expect("the upstream answers");
                            let (parts, body) = answer.into_parts();
                            let body = body.collect().await.expect("a whole answer").to_bytes();
                            collect(&parts.headers, &body, &mut canaries.lock().unwrap());
                            Ok::<_, hyper::Error>(http::Response::from_parts(
                                parts,
                                Full::new(body),
                            ))
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    endpoint
}

/// Faults that touch secrets: errors in sign-in, tokens with a claim changed, latency.
const RULES: &str = r#"
seed = 11

[[rules]]
id = "slow"
probability = 0.1
fault = { kind = "latency", distribution = "fixed", ms = 2 }

[[rules]]
id = "deny-sign-in"
actions = ["InitiateAuth", "AdminInitiateAuth"]
probability = 0.05
fault = { kind = "error", error = "NotAuthorizedException" }

[[rules]]
id = "claim"
actions = ["InitiateAuth", "AdminInitiateAuth", "RespondToAuthChallenge", "AdminRespondToAuthChallenge"]
probability = 0.2
fault = { kind = "mutate", operator = "jwt_claim" }
"#;

/// Where a secret occurs in a text. A short one (a six-digit code) counts only standing alone,
/// or "123456" would be found inside every account id and timestamp.
fn find_secret(text: &str, secret: &str) -> Option<usize> {
    if secret.len() >= 16 {
        return text.find(secret);
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    text.match_indices(secret).map(|(at, _)| at).find(|&at| {
        !alnum(text[..at].chars().next_back()) && !alnum(text[at + secret.len()..].chars().next())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_file_or_the_output_with_everything_on() {
    let session = session("moto", 4, None).await;
    let shadow_moto = moto().await;
    let canaries: Canaries = Arc::default();
    let primary = tap(session.info.endpoint.clone(), canaries.clone()).await;
    let shadow = tap(shadow_moto.endpoint.clone(), canaries.clone()).await;

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    std::fs::write(out.join("rules.toml"), RULES).unwrap();
    let path = |name: &str| out.join(name).display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cogcheck-proxy"))
        .args(["--upstream", &primary, "--record", &path("run.jsonl")])
        .args(["--cassette-key", &path("run.key")])
        .args([
            "--faults",
            &path("rules.toml"),
            "--fault-log",
            &path("faults.jsonl"),
        ])
        .args(["--shadow", &shadow, "--diff-out", &path("diff.jsonl")])
        .args([
            "--diff-summary",
            &path("diff.md"),
            "--diff-junit",
            &path("diff.xml"),
        ])
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the proxy binary starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let endpoint = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("no `listening on` line: {first}"))
        .to_string();
    // Drained while the run goes on, so a full pipe never blocks the proxy.
    let stdout = std::thread::spawn(move || {
        let mut s = first;
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr_pipe.read_to_string(&mut s);
        s
    });

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios");
    let scenarios = cogcheck::scenario::load_dir(&root).expect("scenarios load");
    let mut config = session.config.clone();
    config.run_prefix = RunConfig::new_prefix();
    let runner = Arc::new(Runner::new(client(&endpoint), config));
    let results = runner
        .run_all(scenarios, &session.expectations, Strictness::Strict, |_| {})
        .await;
    assert!(results.len() > 250, "{} scenarios ran", results.len());

    // SIGTERM: the proxy drains, writes its compare reports, and exits.
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "the proxy exited with {status}");
    let printed = format!("{}\n{}", stdout.join().unwrap(), stderr.join().unwrap());

    let canaries = canaries.lock().unwrap().clone();
    // The run must have carried secrets of every kind the test means to look for.
    for (kind, probe) in [("generated passwords", "Cg1!"), ("tokens", "eyJ")] {
        assert!(
            canaries.iter().any(|c| c.starts_with(probe)),
            "no {kind} crossed the proxy: the canary would prove nothing"
        );
    }
    assert!(
        canaries.len() > 500,
        "only {} secrets crossed",
        canaries.len()
    );
    let mut sources = vec![("the proxy's output".to_string(), printed)];
    for entry in std::fs::read_dir(out).unwrap() {
        let file = entry.unwrap().path();
        if file
            .file_name()
            .is_some_and(|n| n == "rules.toml" || n == "run.key")
        {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        sources.push((file.display().to_string(), text));
    }
    for required in ["run.jsonl", "faults.jsonl", "diff.md"] {
        assert!(
            sources
                .iter()
                .any(|(name, text)| name.ends_with(required) && !text.is_empty()),
            "{required} was not written"
        );
    }
    let mut leaks = Vec::new();
    for (name, text) in &sources {
        for c in &canaries {
            if let Some(at) = find_secret(text, c) {
                // Where, with the secret itself cut short: enough to find the member.
                let before = text[..at].chars().rev().take(60).collect::<Vec<_>>();
                let before: String = before.into_iter().rev().collect();
                leaks.push(format!("{name}: ...{before}[{}...]", &c[..c.len().min(6)]));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}
