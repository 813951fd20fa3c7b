//! Replaying a run (`--fault-replay`), through the proxy to real moto: a run with a
//! probabilistic error and a random latency, driven by concurrent clients, is replayed from
//! its decisions file with the requests in another order, in another user pool, and every
//! (user, action, occurrence) gets exactly the fault it got the first time; requests the run
//! never made are not faulted and are counted unmatched; bad decisions files are refused
//! before the proxy starts, naming the file, the line and the rule.

mod faults_util;
mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use cogcheck_proxy::{Config, FaultConfig, MatchSecret, Proxy};
use faults_util::{decisions, proxy_with, rules_file, Http};
use serde_json::{json, Value};
use util::{moto, unique};

const USERS: usize = 6;
const ROUNDS: u64 = 8;
const ACTIONS: [&str; 2] = ["AdminGetUser", "AdminListGroupsForUser"];

fn rules(with_slow: bool) -> Value {
    let mut list = vec![
        json!({"id": "flaky-get", "actions": "AdminGetUser", "probability": 0.3,
               "fault": {"kind": "error", "error": "InternalErrorException"}}),
        // Would fault every request of a user the first run never had; in a replay it has no
        // decisions, so it must not fire.
        json!({"id": "newcomers", "actions": "AdminGetUser", "fields": {"Username": "newcomer*"},
               "fault": {"kind": "error", "error": "InternalErrorException"}}),
    ];
    if with_slow {
        list.push(json!({"id": "slow", "actions": ACTIONS, "probability": 0.4,
            "fault": {"kind": "latency", "distribution": "uniform", "min_ms": 5, "max_ms": 40}}));
    }
    json!({"seed": 20240611, "rules": list})
}

fn user(i: usize) -> String {
    format!("replay-user-{i}")
}

/// (user, action, occurrence)
type Call = (String, &'static str, u64);

/// What a client saw: status, error type, milliseconds it took.
#[derive(Debug, Clone)]
struct Seen {
    status: u16,
    error: Option<String>,
    ms: f64,
}

/// A fresh pool on moto with the users, made directly (not through the proxy).
async fn pool(http: &Http, moto: &str, users: &[String]) -> String {
    let a = http
        .api(
            moto,
            "CreateUserPool",
            json!({"PoolName": unique("replay")}),
            &[],
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.json());
    let id = a.json()["UserPool"]["Id"]
        .as_str()
        .expect("a pool id")
        .to_string();
    for u in users {
        let a = http
            .api(
                moto,
                "AdminCreateUser",
                json!({"UserPoolId": id, "Username": u, "MessageAction": "SUPPRESS",
                       "TemporaryPassword": "Passw0rd!Passw0rd"}),
                &[],
            )
            .await;
        assert_eq!(a.status, 200, "{u}: {:?}", a.json());
    }
    id
}

/// Sends the calls of one worker in order.
async fn drive(http: Http, endpoint: String, pool: String, calls: Vec<Call>) -> Vec<(Call, Seen)> {
    let mut out = Vec::new();
    for call in calls {
        let started = Instant::now();
        let a = http
            .api(
                &endpoint,
                call.1,
                json!({"UserPoolId": pool, "Username": call.0}),
                &[],
            )
            .await;
        let seen = Seen {
            status: a.status,
            error: a.error_type(),
            ms: started.elapsed().as_secs_f64() * 1e3,
        };
        out.push((call, seen));
    }
    out
}

/// Runs the workers at once and gathers what each call saw.
async fn run(
    http: &Http,
    endpoint: &str,
    pool: &str,
    workers: Vec<Vec<Call>>,
) -> BTreeMap<Call, Seen> {
    let tasks: Vec<_> = workers
        .into_iter()
        .map(|calls| {
            tokio::spawn(drive(
                http.clone(),
                endpoint.to_string(),
                pool.to_string(),
                calls,
            ))
        })
        .collect();
    let mut seen = BTreeMap::new();
    for t in tasks {
        for (call, s) in t.await.expect("a worker finishes") {
            assert!(seen.insert(call.clone(), s).is_none(), "{call:?} twice");
        }
    }
    seen
}

/// (rule, match, occurrence) -> the line.
fn by_match(log: &Path) -> BTreeMap<(String, String, u64), Value> {
    let mut out = BTreeMap::new();
    for d in decisions(log) {
        let key = (
            d["rule"].as_str().unwrap_or_default().to_string(),
            d["match"].as_str().unwrap_or_default().to_string(),
            d["occurrence"].as_u64().unwrap_or(0),
        );
        assert!(out.insert(key.clone(), d).is_none(), "{key:?} twice");
    }
    out
}

/// (rule, n) -> (match, occurrence): which request the rule's n-th selection was.
fn by_n(log: &Path) -> BTreeMap<(String, u64), (String, u64)> {
    decisions(log)
        .into_iter()
        .map(|d| {
            (
                (
                    d["rule"].as_str().unwrap_or_default().to_string(),
                    d["n"].as_u64().unwrap_or(0),
                ),
                (
                    d["match"].as_str().unwrap_or_default().to_string(),
                    d["occurrence"].as_u64().unwrap_or(0),
                ),
            )
        })
        .collect()
}

async fn refused(upstream: &str, faults: FaultConfig) -> String {
    let mut config = Config::new(upstream).expect("a good upstream");
    config.faults = faults;
    match Proxy::start(config).await {
        Ok(p) => {
            p.shutdown().await.expect("a clean shutdown");
            panic!("the proxy started")
        }
        Err(e) => e.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_gives_each_request_its_logged_fault_whatever_the_order() {
    let moto = moto().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let rules_path = rules_file(dir.path(), "rules.json", rules(true));
    let http = Http::new();
    let users: Vec<String> = (0..USERS).map(user).collect();

    // The first run: one client per user, all at once, each alternating the two actions.
    let first_log = dir.path().join("first.jsonl");
    let first_pool = pool(&http, &moto.endpoint, &users).await;
    let proxy = proxy_with(
        &moto.endpoint,
        FaultConfig {
            rules: Some(rules_path.clone()),
            log: Some(first_log.clone()),
            ..FaultConfig::default()
        },
    )
    .await;
    let workers = users
        .iter()
        .map(|u| {
            (1..=ROUNDS)
                .flat_map(|r| ACTIONS.map(|a| (u.clone(), a, r)))
                .collect()
        })
        .collect();
    let first = run(&http, &proxy.endpoint(), &first_pool, workers).await;
    proxy.shutdown().await.expect("a clean shutdown");

    let injected = first
        .values()
        .filter(|s| s.error.as_deref() == Some("InternalErrorException"))
        .count();
    let gets = USERS * ROUNDS as usize;
    assert!(
        (1..gets).contains(&injected),
        "{injected} of {gets} AdminGetUser calls faulted"
    );
    assert!(first
        .values()
        .all(|s| s.status == 200 || s.error.as_deref() == Some("InternalErrorException")));
    let logged = by_match(&first_log);
    // User names are secrets: the log holds keyed digests, the key is kept beside it.
    let secret = MatchSecret::read_for(&first_log)
        .expect("a readable key file")
        .expect("the key is kept beside the log");
    let log_text = std::fs::read_to_string(&first_log).unwrap();
    for u in &users {
        assert!(!log_text.contains(u.as_str()), "{u} in the decisions log");
    }
    // The key names the user, not the pool; occurrences count per key.
    let line = &logged[&(
        "flaky-get".to_string(),
        format!("AdminGetUser|Username={}", secret.digest(&user(3))),
        2,
    )];
    assert_eq!(line["format"], "cogcheck-fault-decisions/1");
    assert_eq!(line["action"], "AdminGetUser");
    let fired_slow: Vec<&Value> = logged
        .iter()
        .filter(|((rule, _, _), d)| rule == "slow" && d["fired"] == true)
        .map(|(_, d)| d)
        .collect();
    assert!(!fired_slow.is_empty());
    assert!(fired_slow
        .iter()
        .all(|d| (5.0..=40.0).contains(&d["delay_ms"].as_f64().unwrap_or(-1.0))));

    // The replay: another pool, the users in reverse order, two clients, each user's calls
    // grouped by action (list first); plus calls the first run never made.
    let second_log = dir.path().join("second.jsonl");
    let newcomer = "newcomer-1".to_string();
    let mut all_users = users.clone();
    all_users.push(newcomer.clone());
    let second_pool = pool(&http, &moto.endpoint, &all_users).await;
    let proxy = proxy_with(
        &moto.endpoint,
        FaultConfig {
            rules: Some(rules_path.clone()),
            log: Some(second_log.clone()),
            replay: Some(first_log.clone()),
            ..FaultConfig::default()
        },
    )
    .await;
    let mut workers: Vec<Vec<Call>> = vec![Vec::new(), Vec::new()];
    for (i, u) in users.iter().rev().enumerate() {
        for a in ACTIONS.into_iter().rev() {
            for r in 1..=ROUNDS {
                workers[i % 2].push((u.clone(), a, r));
            }
        }
    }
    // The extra call of a known user goes last in the worker that sends that user's calls:
    // requests that share a match key must keep their order (replay.rs), and from another
    // worker it could overtake the user's first call and take its occurrence.
    let extra: Vec<Call> = vec![
        (newcomer.clone(), "AdminGetUser", 1),
        (user(0), "AdminGetUser", ROUNDS + 1),
    ];
    workers[0].push(extra[0].clone());
    let own = workers
        .iter()
        .position(|w| w.iter().any(|c| c.0 == user(0)))
        .expect("a worker sends user 0's calls");
    workers[own].push(extra[1].clone());
    let second = run(&http, &proxy.endpoint(), &second_pool, workers).await;

    // Every call of the first run got the same answer, and every latency the same delay.
    for (call, was) in &first {
        let now = &second[call];
        assert_eq!(
            (was.status, &was.error),
            (now.status, &now.error),
            "{call:?}"
        );
    }
    let replayed = by_match(&second_log);
    for (key, was) in &logged {
        let now = &replayed[key];
        assert_eq!(now["replayed"], "matched", "{key:?}");
        for member in ["fired", "applied", "delay_ms", "draw"] {
            assert_eq!(was[member], now[member], "{key:?}: {member}");
        }
    }
    for d in fired_slow {
        let key = d["match"].as_str().unwrap_or_default();
        let digest = key.split("Username=").nth(1).unwrap_or_default();
        let name = all_users
            .iter()
            .find(|u| secret.digest(u) == digest)
            .expect("a digest of a known user");
        let action = d["action"].as_str().unwrap_or_default();
        let call = ACTIONS
            .into_iter()
            .find(|a| *a == action)
            .map(|a| (name.to_string(), a, d["occurrence"].as_u64().unwrap_or(0)))
            .expect("a known action");
        let delay = d["delay_ms"].as_f64().unwrap_or(0.0);
        assert!(
            second[&call].ms + 1.0 >= delay,
            "{call:?} took {} ms, less than the logged {delay} ms",
            second[&call].ms
        );
    }
    // The order really differed: some rule's n-th selection was another request this time.
    let (a, b) = (by_n(&first_log), by_n(&second_log));
    assert!(a.iter().any(|(k, v)| b.get(k) != Some(v)));

    // Calls the first run never made: not faulted (though `newcomers` selects with
    // probability 1), counted unmatched, logged so.
    for call in &extra {
        assert_eq!(second[call].status, 200, "{call:?}: {:?}", second[call]);
    }
    let unmatched: BTreeSet<(String, String, u64)> = replayed
        .iter()
        .filter(|(_, d)| d["replayed"] == "unmatched")
        .map(|(k, d)| {
            assert_eq!(d["fired"], false, "{k:?}");
            k.clone()
        })
        .collect();
    let get = |u: &str| format!("AdminGetUser|Username={}", secret.digest(u));
    let expected: BTreeSet<(String, String, u64)> = [
        ("flaky-get", get(&newcomer), 1),
        ("newcomers", get(&newcomer), 1),
        ("slow", get(&newcomer), 1),
        ("flaky-get", get(&user(0)), ROUNDS + 1),
        ("slow", get(&user(0)), ROUNDS + 1),
    ]
    .into_iter()
    .map(|(r, m, o)| (r.to_string(), m, o))
    .collect();
    assert_eq!(unmatched, expected);
    let (_, faults) = http.admin(&proxy, "GET", "/faults", None).await;
    let counts: BTreeMap<String, Value> = faults["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap_or_default().to_string(),
                r["unmatched"].clone(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        BTreeMap::from([
            ("flaky-get".to_string(), json!(2)),
            ("newcomers".to_string(), json!(1)),
            ("slow".to_string(), json!(2)),
        ])
    );
    assert_eq!(
        faults["decisions_replay"],
        first_log.display().to_string(),
        "{faults}"
    );
    let (_, stats) = http.admin(&proxy, "GET", "/stats", None).await;
    assert_eq!(stats["faults"]["flaky-get"]["unmatched"], 2, "{stats}");
    proxy.shutdown().await.expect("a clean shutdown");

    // Refused before starting: a bad line (file and line named), a rule the rules file does
    // not have (named, with its first line), the log replayed into itself.
    let text = std::fs::read_to_string(&first_log).expect("the log is readable");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[2] = lines[2][..lines[2].len() / 2].to_string();
    let torn = write(dir.path(), "torn.jsonl", &lines);
    let m = refused(
        &moto.endpoint,
        FaultConfig {
            rules: Some(rules_path.clone()),
            replay: Some(torn.clone()),
            ..FaultConfig::default()
        },
    )
    .await;
    assert!(
        m.starts_with(&format!("{}: line 3: not JSON", torn.display())),
        "{m}"
    );
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[4] = lines[4].replace("cogcheck-fault-decisions/1", "cogcheck-fault-decisions/9");
    let wrong_format = write(dir.path(), "format.jsonl", &lines);
    let m = refused(
        &moto.endpoint,
        FaultConfig {
            rules: Some(rules_path.clone()),
            replay: Some(wrong_format.clone()),
            ..FaultConfig::default()
        },
    )
    .await;
    assert!(
        m.starts_with(&format!(
            "{}: line 5: field `format`: expected \"cogcheck-fault-decisions/1\"",
            wrong_format.display()
        )),
        "{m}"
    );

    let without_slow = rules_file(dir.path(), "without-slow.json", rules(false));
    let first_slow_line = text
        .lines()
        .position(|l| l.contains("\"rule\":\"slow\""))
        .expect("a slow line")
        + 1;
    let m = refused(
        &moto.endpoint,
        FaultConfig {
            rules: Some(without_slow.clone()),
            replay: Some(first_log.clone()),
            ..FaultConfig::default()
        },
    )
    .await;
    assert!(
        m.starts_with(&format!(
            "{}: names rules that {} does not have: `slow` (line {first_slow_line})",
            first_log.display(),
            without_slow.display()
        )),
        "{m}"
    );

    let m = refused(
        &moto.endpoint,
        FaultConfig {
            rules: Some(rules_path.clone()),
            replay: Some(first_log.clone()),
            log: Some(first_log.clone()),
            ..FaultConfig::default()
        },
    )
    .await;
    assert!(
        m.contains("--fault-log and --fault-replay both name"),
        "{m}"
    );

    // The binary: exit 2, the message on standard error, and no start line.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cogcheck-proxy"))
        .args(["--listen", "127.0.0.1:0", "--upstream", &moto.endpoint])
        .arg("--faults")
        .arg(&rules_path)
        .arg("--fault-replay")
        .arg(&torn)
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}: line 3: not JSON", torn.display())),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening on"));
}

fn write(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").expect("the file is written");
    p
}
