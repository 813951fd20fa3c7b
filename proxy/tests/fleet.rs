//! A fleet (`--shared-state`, issue #17): three proxy processes share one real `redis-server`,
//! so together they throttle at one account's rate and a "fail the first N" rule fails N
//! requests across the fleet. Redis going away mid-run leaves the proxies answering from local
//! buckets (counted in `/metrics`), and they use the fleet's state again once it is back. A
//! Redis unreachable from the start gives local buckets and a warning.
//!
//! The upstream is the trivial in-test one of `faults_util`: these tests count the proxies'
//! own answers (throttles and injected errors), which never reach it.
//!
//! `redis-server` must be installed (`apt-get install -y redis-server`; `.ci/run` does it):
//! without it these tests fail, saying so.

mod faults_util;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use faults_util::{rules_file, stub_upstream, Http};
use serde_json::{json, Value};

/// A throwaway `redis-server` on a loopback port, killed by pid when dropped (a failing
/// assertion included).
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start() -> RedisServer {
        RedisServer::on(free_port())
    }

    fn on(port: u16) -> RedisServer {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}): the fleet tests need a real Redis; \
                     install it with `apt-get install -y redis-server`"
                )
            });
        let server = RedisServer { child, port };
        wait_until("redis-server listens", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One proxy process of the fleet, stopped by pid when dropped; its standard error goes to
/// a file so warnings can be read.
struct Member {
    child: Child,
    endpoint: String,
    admin: String,
    stderr: PathBuf,
}

impl Member {
    fn spawn(dir: &Path, name: &str, upstream: &str, rules: &Path, shared: &str) -> Member {
        let stderr = dir.join(format!("{name}.stderr"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_cogcheck-proxy"))
            .args(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
            .args(["--upstream", upstream])
            .arg("--faults")
            .arg(rules)
            .args(["--shared-state", shared])
            // Generous: this machine is shared; a fallback would make the counts local.
            .args(["--shared-state-timeout", "5000"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("a stderr file"))
            .spawn()
            .expect("the proxy binary starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        let (mut endpoint, mut admin) = (None, None);
        while endpoint.is_none() || admin.is_none() {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!(
                    "{name} stopped before printing its endpoints: {}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                );
            };
            if let Some(e) = line.strip_prefix("listening on ") {
                endpoint = Some(e.to_string());
            }
            if let Some(a) = line.strip_prefix("admin on ") {
                admin = Some(a.to_string());
            }
        }
        Member {
            child,
            endpoint: endpoint.unwrap_or_default(),
            admin: admin.unwrap_or_default(),
            stderr,
        }
    }

    async fn metric(&self, http: &Http, series: &str) -> f64 {
        let a = http
            .send(
                "GET",
                &format!("{}/metrics", self.admin),
                &[],
                Default::default(),
            )
            .await
            .expect("GET /metrics");
        let text = String::from_utf8_lossy(&a.body).into_owned();
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in /metrics:\n{text}"))
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The account's quota for ListUsers (UserList) in these tests: ten a second, so a bucket
/// holds ten.
const RATE: f64 = 10.0;

/// The rules every member runs: the UserList quota at [`RATE`], and AdminGetUser failing
/// for the first four requests the rule selects.
fn rules(dir: &Path) -> PathBuf {
    rules_file(
        dir,
        "fleet.json",
        json!({"seed": 7,
               "quotas": {"enabled": true, "rates": {"UserList": RATE}},
               "rules": [{"id": "fail-first-4", "actions": "AdminGetUser", "first": 4,
                          "fault": {"kind": "error", "error": "InternalErrorException"}}]}),
    )
}

/// Sends `per_member` requests of `action` through every member at once; the statuses and
/// how long the burst took.
async fn burst(
    http: &Http,
    fleet: &[Member],
    action: &'static str,
    input: Value,
    per_member: usize,
) -> (Vec<u16>, Duration) {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for m in fleet {
        for _ in 0..per_member {
            let (http, endpoint, input) = (http.clone(), m.endpoint.clone(), input.clone());
            tasks.push(tokio::spawn(async move {
                let a = http.api(&endpoint, action, input, &[]).await;
                if a.status == 400 {
                    assert_eq!(
                        a.error_type().as_deref(),
                        Some("TooManyRequestsException"),
                        "a 400 from the proxy is its throttle"
                    );
                }
                a.status
            }));
        }
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("the request task finishes"));
    }
    (statuses, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_shares_one_quota_and_one_rule_budget() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let upstream = format!("http://{}", stub_upstream().await);
    let rules = rules(dir.path());
    let fleet: Vec<Member> = ["a", "b", "c"]
        .iter()
        .map(|n| Member::spawn(dir.path(), n, &upstream, &rules, &redis.url()))
        .collect();
    let http = Http::new();

    // 60 ListUsers at once, 20 through each member. One account's bucket lets its ten
    // through, plus what it refills while the burst lasts; three local buckets would let
    // thirty through, plus three times the refill.
    let (statuses, took) = burst(
        &http,
        &fleet,
        "ListUsers",
        json!({"UserPoolId": "eu-west-1_fleet"}),
        20,
    )
    .await;
    let accepted = statuses.iter().filter(|&&s| s == 200).count();
    let throttled = statuses.iter().filter(|&&s| s == 400).count();
    assert_eq!(accepted + throttled, 60, "{statuses:?}");
    let most = RATE + (RATE * took.as_secs_f64()).ceil();
    assert!(
        (RATE as usize..=most as usize).contains(&accepted),
        "the fleet let {accepted} of 60 through in {took:?}: one bucket allows {RATE} plus \
         {RATE}/s, at most {most}"
    );

    // "fail the first 4": 30 AdminGetUser across the fleet, four fail in all.
    let (statuses, _) = burst(
        &http,
        &fleet,
        "AdminGetUser",
        json!({"UserPoolId": "eu-west-1_fleet", "Username": "alice"}),
        10,
    )
    .await;
    let failed = statuses.iter().filter(|&&s| s == 500).count();
    assert_eq!(failed, 4, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 26);

    // Every decision was the fleet's: no member fell back.
    for m in &fleet {
        assert_eq!(m.metric(&http, "cogcheck_proxy_shared_state_up").await, 1.0);
        let faults = http
            .send(
                "GET",
                &format!("{}/faults", m.admin),
                &[],
                Default::default(),
            )
            .await
            .expect("GET /faults")
            .json();
        assert_eq!(faults["shared_state"]["url"], redis.url(), "{faults}");
        assert_eq!(faults["shared_state"]["up"], true, "{faults}");
        for reason in ["unreachable", "timeout", "error"] {
            let series =
                format!("cogcheck_proxy_shared_state_fallbacks_total{{reason=\"{reason}\"}}");
            assert_eq!(m.metric(&http, &series).await, 0.0, "{}", m.stderr());
        }
    }
    let mut calls = 0.0;
    for m in &fleet {
        calls += m
            .metric(&http, "cogcheck_proxy_shared_state_calls_total")
            .await;
    }
    assert_eq!(calls, 90.0, "one round trip per request");

    // Redis goes away: requests are still answered, from local buckets, and counted so.
    let port = redis.port;
    drop(redis);
    let a = &fleet[0];
    for _ in 0..3 {
        let answer = http.api(&a.endpoint, "ListUserPools", json!({"MaxResults": 1}), &[]);
        assert_eq!(answer.await.status, 200);
        let answer = http.api(&a.endpoint, "ListUsers", json!({"UserPoolId": "p"}), &[]);
        assert!([200, 400].contains(&answer.await.status));
    }
    assert_eq!(a.metric(&http, "cogcheck_proxy_shared_state_up").await, 0.0);
    let unreachable = a
        .metric(
            &http,
            "cogcheck_proxy_shared_state_fallbacks_total{reason=\"unreachable\"}",
        )
        .await;
    let error = a
        .metric(
            &http,
            "cogcheck_proxy_shared_state_fallbacks_total{reason=\"error\"}",
        )
        .await;
    assert!(unreachable + error >= 3.0, "{unreachable} {error}");
    assert!(
        a.stderr().contains("falling back to local buckets"),
        "{}",
        a.stderr()
    );

    // Back on the same port: the member reconnects by itself and says so.
    let _redis = RedisServer::on(port);
    let deadline = Instant::now() + Duration::from_secs(15);
    while a.metric(&http, "cogcheck_proxy_shared_state_up").await != 1.0 {
        assert!(Instant::now() < deadline, "no reconnect: {}", a.stderr());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        a.metric(&http, "cogcheck_proxy_shared_state_reconnects_total")
            .await,
        1.0
    );
    assert!(a.stderr().contains("answers again"), "{}", a.stderr());
    let answer = http.api(&a.endpoint, "ListUsers", json!({"UserPoolId": "p"}), &[]);
    assert_eq!(answer.await.status, 200, "a fresh Redis has a full bucket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_gives_local_buckets_and_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = format!("http://{}", stub_upstream().await);
    // Nothing listens there.
    let nowhere = format!("redis://127.0.0.1:{}", free_port());
    let m = Member::spawn(dir.path(), "alone", &upstream, &rules(dir.path()), &nowhere);
    let http = Http::new();
    let started = Instant::now();
    let mut accepted = 0;
    for _ in 0..30 {
        let a = http
            .api(&m.endpoint, "ListUsers", json!({"UserPoolId": "p"}), &[])
            .await;
        accepted += usize::from(a.status == 200);
    }
    let took = started.elapsed();
    // The quota still holds, in this process's own bucket.
    let most = RATE + (RATE * took.as_secs_f64()).ceil();
    assert!(
        (RATE as usize..=most as usize).contains(&accepted),
        "{accepted} of 30 in {took:?}"
    );
    let stderr = m.stderr();
    assert!(
        stderr.contains(" WARN ")
            && stderr.contains("--shared-state")
            && stderr.contains("unreachable")
            && stderr.contains("local buckets"),
        "{stderr}"
    );
    assert_eq!(m.metric(&http, "cogcheck_proxy_shared_state_up").await, 0.0);
    assert_eq!(
        m.metric(
            &http,
            "cogcheck_proxy_shared_state_fallbacks_total{reason=\"unreachable\"}"
        )
        .await,
        30.0
    );
}
