//! Soak: many requests through the `cogcheck-proxy` binary with 10% mixed faults (503s,
//! resets, truncated answers, latency) in front of a fast local upstream, recording every
//! exchange. It fails (exit 1) unless:
//!
//! - every answer that is not an injected fault is byte-identical to the upstream's;
//! - each rule's observed rate (fired / selected, from the admin API) lies inside its binomial
//!   99% interval, and the faults clients saw are the ones the proxy says it applied;
//! - the proxy's RSS grows less than 10% after warm-up (the first 10% of requests);
//! - the proxy logged no panic;
//! - the cassette holds one line per exchange the upstream answered (those answered as sent,
//!   and those truncated on the way back; an injected 503 or a reset before the upstream never
//!   reaches it, and is in `--fault-log` instead).
//!
//! ```sh
//! cargo build --release -p cogcheck-proxy --examples
//! target/release/examples/soak --requests 1000000 --concurrency 32
//! ```
//!
//! Bounded: `--max-seconds` (default 900) stops sending and fails the run if reached. Not a
//! test: its figures are in the README, measured on the machine named there.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;

/// (id, probability, fault) of the rules: 10% of requests get a fault in all.
const RULES: &[(&str, f64, &str)] = &[
    ("error-503", 0.03, r#"{ kind = "status", status = 503 }"#),
    ("reset", 0.02, r#"{ kind = "reset" }"#),
    ("truncate", 0.02, r#"{ kind = "truncate" }"#),
    (
        "latency",
        0.03,
        r#"{ kind = "latency", distribution = "fixed", ms = 2 }"#,
    ),
];

/// What the upstream answers to `body`: a function of the request, so every client can tell
/// the exact bytes it must get.
fn upstream_answer(body: &[u8]) -> Vec<u8> {
    let mut out = br#"{"UserPools":[],"Echo":"#.to_vec();
    out.extend_from_slice(body);
    out.extend_from_slice(br#","Pad":"cogcheck soak answer of a fast upstream"}"#);
    out
}

#[derive(Default)]
struct Seen {
    identical: AtomicU64,
    status_503: AtomicU64,
    truncated: AtomicU64,
    reset: AtomicU64,
    wrong: AtomicU64,
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}: `{v}` is not a number"))
        })
        .unwrap_or(default)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let requests = arg("--requests", 1_000_000);
    let concurrency = arg("--concurrency", 32);
    let max_seconds = arg("--max-seconds", 900);

    // The upstream: answers at once, from memory.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    |req: http::Request<hyper::body::Incoming>| async move {
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let mut resp =
                            http::Response::new(Full::new(Bytes::from(upstream_answer(&body))));
                        resp.headers_mut().insert(
                            "content-type",
                            http::HeaderValue::from_static("application/x-amz-json-1.1"),
                        );
                        resp.headers_mut()
                            .insert("x-amzn-requestid", http::HeaderValue::from_static("soak"));
                        Ok::<_, std::convert::Infallible>(resp)
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });

    let dir = tempfile::tempdir().unwrap();
    let rules_path = dir.path().join("soak.toml");
    let mut rules = String::from("seed = 20261203\n");
    for (id, p, fault) in RULES {
        rules.push_str(&format!(
            "\n[[rules]]\nid = \"{id}\"\nprobability = {p}\nfault = {fault}\n"
        ));
    }
    std::fs::write(&rules_path, rules).unwrap();
    let cassette = dir.path().join("soak.jsonl");
    let stderr_path = dir.path().join("proxy.stderr");
    // The binary of the same build: target/<profile>/cogcheck-proxy beside examples/.
    let exe = std::env::current_exe().unwrap();
    let proxy_bin = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("cogcheck-proxy"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "no cogcheck-proxy beside {}: cargo build -p cogcheck-proxy (same profile)",
                exe.display()
            )
        });
    let mut child = Command::new(&proxy_bin)
        .args(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
        .arg("--upstream")
        .arg(format!("http://{upstream}"))
        .arg("--faults")
        .arg(&rules_path)
        .arg("--record")
        .arg(&cassette)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("the proxy starts");
    let (mut endpoint, mut admin) = (String::new(), String::new());
    for line in BufReader::new(child.stdout.take().unwrap()).lines().take(2) {
        let line = line.unwrap();
        if let Some(e) = line.strip_prefix("listening on ") {
            endpoint = e.to_string();
        }
        if let Some(a) = line.strip_prefix("admin on ") {
            admin = a.to_string();
        }
    }
    assert!(
        !endpoint.is_empty() && !admin.is_empty(),
        "the proxy printed its addresses"
    );
    let pid = child.id();

    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(concurrency as usize)
        .build_http();
    let seen = Arc::new(Seen::default());
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(max_seconds);
    let warm_up = requests / 10;
    let rss = Arc::new(std::sync::Mutex::new(Vec::<(u64, u64)>::new()));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, seen, next, rss, endpoint) = (
            client.clone(),
            seen.clone(),
            next.clone(),
            rss.clone(),
            endpoint.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests || Instant::now() > deadline {
                    return;
                }
                if i % (requests / 50).max(1) == 0 {
                    rss.lock().unwrap().push((i, rss_kib(pid)));
                }
                let body = format!(r#"{{"MaxResults":1,"NextToken":"soak-{i}"}}"#);
                let expected = upstream_answer(body.as_bytes());
                let req = http::Request::post(endpoint.as_str())
                    .header("content-type", "application/x-amz-json-1.1")
                    .header(
                        "x-amz-target",
                        "AWSCognitoIdentityProviderService.ListUserPools",
                    )
                    .body(Full::new(Bytes::from(body)))
                    .unwrap();
                let answer = match client.request(req).await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        resp.into_body()
                            .collect()
                            .await
                            .map(|b| (status, b.to_bytes()))
                    }
                    Err(_) => {
                        seen.reset.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                };
                let counter = match answer {
                    Err(_) => &seen.reset,
                    Ok((200, b)) if b[..] == expected[..] => &seen.identical,
                    Ok((200, b)) if b.len() < expected.len() && expected.starts_with(&b) => {
                        &seen.truncated
                    }
                    Ok((503, _)) => &seen.status_503,
                    Ok(_) => &seen.wrong,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let stats: Value = {
        let resp = client
            .request(
                http::Request::get(format!("{admin}/stats"))
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
            )
            .await
            .expect("the admin API answers");
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap()
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();

    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let sent = next.load(Ordering::Relaxed).min(requests);
    let mut failures = Vec::new();
    if sent < requests {
        failures.push(format!(
            "--max-seconds reached after {sent} of {requests} requests"
        ));
    }
    println!(
        "{sent} requests in {:.1} s ({:.0}/s), {concurrency} connections",
        took.as_secs_f64(),
        sent as f64 / took.as_secs_f64()
    );
    println!(
        "identical {} · 503 {} · truncated {} · reset {} · wrong {}",
        load(&seen.identical),
        load(&seen.status_503),
        load(&seen.truncated),
        load(&seen.reset),
        load(&seen.wrong)
    );
    if load(&seen.wrong) > 0 {
        failures.push(format!(
            "{} answers differ from the upstream's",
            load(&seen.wrong)
        ));
    }
    for (id, p, _) in RULES {
        let r = &stats["faults"][id];
        let (selected, fired, applied) = (
            r["selected"].as_u64().unwrap_or(0),
            r["fired"].as_u64().unwrap_or(0),
            r["applied"].as_u64().unwrap_or(0),
        );
        let rate = fired as f64 / selected.max(1) as f64;
        let half = 2.576 * (p * (1.0 - p) / selected.max(1) as f64).sqrt();
        let inside = (p - half..=p + half).contains(&rate);
        println!(
            "rule {id:<10} p={p:.2} selected {selected} fired {fired} ({rate:.4}, 99% interval {:.4}..{:.4}) applied {applied}{}",
            p - half,
            p + half,
            if inside { "" } else { "  OUTSIDE" }
        );
        if !inside {
            failures.push(format!(
                "rule {id}: rate {rate:.4} outside its 99% interval"
            ));
        }
        let observed = match *id {
            "error-503" => Some(load(&seen.status_503)),
            "reset" => Some(load(&seen.reset)),
            "truncate" => Some(load(&seen.truncated)),
            _ => None,
        };
        if let Some(o) = observed {
            if o != applied {
                failures.push(format!(
                    "rule {id}: clients saw {o}, the proxy applied {applied}"
                ));
            }
        }
    }
    let samples = rss.lock().unwrap().clone();
    let base = samples
        .iter()
        .find(|(i, _)| *i >= warm_up)
        .map(|(_, r)| *r)
        .unwrap_or(0);
    let peak = samples
        .iter()
        .filter(|(i, _)| *i >= warm_up)
        .map(|(_, r)| *r)
        .max()
        .unwrap_or(0);
    let growth = if base == 0 {
        0.0
    } else {
        peak as f64 / base as f64 - 1.0
    };
    println!(
        "RSS after warm-up {base} KiB, peak {peak} KiB ({:+.1}%)",
        growth * 100.0
    );
    if growth >= 0.10 {
        failures.push(format!("RSS grew {:.1}% after warm-up", growth * 100.0));
    }
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    if stderr.contains("panicked") {
        failures.push("the proxy panicked".into());
    }
    if !status.success() {
        failures.push(format!("the proxy exited with {status}"));
    }
    let lines = std::fs::read_to_string(&cassette)
        .map(|t| t.lines().count().saturating_sub(1) as u64)
        .unwrap_or(0);
    let answered = load(&seen.identical) + load(&seen.truncated);
    println!("cassette lines {lines}, exchanges the upstream answered {answered}");
    if lines != answered {
        failures.push(format!(
            "cassette lines {lines} != exchanges the upstream answered {answered}"
        ));
    }
    if failures.is_empty() {
        println!("soak: ok");
    } else {
        for f in &failures {
            println!("soak: FAILED: {f}");
        }
        std::process::exit(1);
    }
}
