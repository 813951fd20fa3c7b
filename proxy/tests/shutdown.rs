//! SIGTERM during load: every exchange a client got an answer for is in the cassette, and the
//! cassette is valid JSONL.

mod util;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::json;
use util::{cassette_lines, client, moto, ProxyProcess};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_load_loses_no_answered_exchange() {
    burst_then_signal(Signal::SIGTERM).await;
}

/// A crash is harsher: no draining, no fsync. An answer is released only after its exchange
/// is written, so even then nothing answered is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_load_loses_no_answered_exchange() {
    burst_then_signal(Signal::SIGKILL).await;
}

async fn burst_then_signal(signal: Signal) {
    let moto = moto().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("load.jsonl");
    let mut proxy = ProxyProcess::spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &moto.endpoint,
        "--record",
        path.to_str().unwrap(),
    ]);
    let answered = Arc::new(Mutex::new(BTreeSet::new()));
    let mut workers = Vec::new();
    for worker in 0..32 {
        let c = client(&proxy.endpoint);
        let answered = answered.clone();
        workers.push(tokio::spawn(async move {
            for n in 0.. {
                // The pool id is not sensitive, so it identifies the exchange in the cassette.
                let id = format!("us-east-1_w{worker}n{n}");
                match c.call("DescribeUserPool", &json!({"UserPoolId": id})).await {
                    Ok(r) if r.status == 400 => {
                        answered.lock().unwrap().insert(id);
                    }
                    Ok(r) => panic!("unexpected answer {} {:?}", r.status, r.body),
                    // The proxy stopped accepting: this worker is done.
                    Err(_) => break,
                }
            }
        }));
    }
    // Let the burst build up, then stop the proxy in the middle of it.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while answered.lock().unwrap().len() < 200 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proxy.signal(signal);
    for w in workers {
        w.await.unwrap();
    }
    let status = tokio::task::spawn_blocking(move || proxy.wait(Duration::from_secs(30)))
        .await
        .unwrap();
    if signal == Signal::SIGTERM {
        assert!(status.success(), "clean shutdown exits 0: {status}");
    }

    let answered = answered.lock().unwrap().clone();
    assert!(
        answered.len() >= 200,
        "the burst was under way: {}",
        answered.len()
    );
    let exchanges = if signal == Signal::SIGTERM {
        // Every line parses as JSON.
        let lines = cassette_lines(&path);
        assert_eq!(lines[0]["cassette"], "cogcheck-cassette/1");
        lines[1..]
            .iter()
            .map(|l| serde_json::from_value(l.clone()).unwrap())
            .collect::<Vec<cogcheck_proxy::RecordedExchange>>()
    } else {
        // After a crash the loader is the judge (it would report a torn last line).
        cogcheck_proxy::Cassette::load(&path).unwrap().exchanges
    };
    let recorded: BTreeSet<String> = exchanges
        .iter()
        .map(|e| {
            e.request.body.as_ref().unwrap()["UserPoolId"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let lost: Vec<&String> = answered.difference(&recorded).collect();
    assert!(lost.is_empty(), "answered but not recorded: {lost:?}");
    let seqs: Vec<u64> = exchanges.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
}

/// An upstream that accepts connections and never answers; the listener lives as long as the
/// returned handle.
fn silent_upstream() -> (std::net::TcpListener, String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let accepting = listener.try_clone().unwrap();
    let holder = std::thread::spawn(move || {
        // Keep every connection open, unread and unanswered, until the test ends.
        let mut held = Vec::new();
        while let Ok((s, _)) = accepting.accept() {
            held.push(s);
        }
    });
    (listener, endpoint, holder)
}

/// When the grace period runs out with requests unanswered, the proxy says how many it
/// abandoned and exits 6, not "stopped cleanly" and 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_exchanges_are_counted_and_fail_the_exit_status() {
    let (_upstream, endpoint, _holder) = silent_upstream();
    let dir = tempfile::tempdir().unwrap();
    let stderr_path = dir.path().join("stderr.txt");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cogcheck-proxy"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &endpoint,
            "--shutdown-grace",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let proxy = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();

    // Two requests the upstream never answers.
    let mut waiting = Vec::new();
    for n in 0..2 {
        let c = client(&proxy);
        waiting.push(tokio::spawn(async move {
            let _ = c
                .call(
                    "DescribeUserPool",
                    &json!({"UserPoolId": format!("us-east-1_h{n}")}),
                )
                .await;
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The child is this test's and not reaped yet, so its pid is still its own.
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).expect("signals the proxy");
    let status = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return s;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("the proxy did not exit after its 1 s grace period");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert_eq!(status.code(), Some(6), "{stderr}");
    assert!(!stderr.contains("stopped cleanly"), "{stderr}");
    assert!(
        stderr.contains("grace period ran out with 2 exchanges in flight"),
        "{stderr}"
    );
    for w in waiting {
        w.abort();
    }
}
