//! The draws, statistically and for determinism: over 10,000 requests each rule's fault
//! rate lies inside the binomial 99% interval of its probability; the same seed gives the
//! same decisions; adding an unrelated rule changes none of them.
//!
//! The upstream is a trivial local stub (this tests the proxy's draws, not Cognito), so the
//! requests go fast enough to run three times.

mod faults_util;

use std::collections::BTreeMap;
use std::path::Path;

use cogcheck_proxy::FaultConfig;
use faults_util::{decisions, proxy_with, rules_file, stub_upstream, Http};
use serde_json::{json, Value};

const REQUESTS: usize = 10_000;

/// (action, rule id, probability)
const RULES: [(&str, &str, f64); 3] = [
    ("ListUserPools", "throttle-10", 0.10),
    ("AdminGetUser", "internal-35", 0.35),
    ("ListUsers", "unavailable-2", 0.02),
];

fn rules(extra: bool) -> Value {
    let mut list = vec![
        json!({"id": "throttle-10", "actions": "ListUserPools", "probability": 0.10,
               "fault": {"kind": "error", "error": "TooManyRequestsException"}}),
        json!({"id": "internal-35", "actions": "AdminGetUser", "probability": 0.35,
               "fault": {"kind": "error", "error": "InternalErrorException"}}),
        json!({"id": "unavailable-2", "actions": "ListUsers", "probability": 0.02,
               "fault": {"kind": "status", "status": 503}}),
        json!({"id": "user-keyed", "actions": "AdminDeleteUser", "probability": 0.25, "key": "Username",
               "fault": {"kind": "error", "error": "UserNotFoundException"}}),
    ];
    if extra {
        // First in order, on an action the others also see: it draws from its own stream
        // and wins where it fires, but must not move anyone else's draws.
        list.insert(
            0,
            json!({"id": "unrelated", "actions": ["ListUserPools", "AdminGetUser"], "probability": 0.5,
                   "fault": {"kind": "error", "error": "InternalErrorException"}}),
        );
    }
    // With a correct sampler each rule lands outside its 99% interval for 1% of seeds. Seed
    // 20240611 is one such for `unavailable-2` (57 of 2,000 at p = 0.02, z = 2.7), which is
    // why this test uses seed 1; `draw.rs` checks the streams are unbiased across rules.
    json!({"seed": 1, "rules": list})
}

struct Run {
    /// action -> (requests, answers that were the rule's fault)
    observed: BTreeMap<&'static str, (usize, usize)>,
    /// rule -> [(n, draw, fired)] in the order of n
    decisions: BTreeMap<String, Vec<(u64, Option<f64>, bool)>>,
    /// username -> outcomes of the keyed rule
    keyed: BTreeMap<String, Vec<bool>>,
}

async fn run(dir: &Path, name: &str, extra: bool) -> Run {
    let upstream = stub_upstream().await;
    let log = dir.join(format!("{name}.jsonl"));
    let proxy = proxy_with(
        &format!("http://{upstream}"),
        FaultConfig {
            rules: Some(rules_file(dir, &format!("{name}.json"), rules(extra))),
            log: Some(log.clone()),
            ..FaultConfig::default()
        },
    )
    .await;
    let endpoint = proxy.endpoint();
    let http = Http::new();
    // Eight clients at once: decisions per rule must not depend on the interleaving.
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let http = http.clone();
            let endpoint = endpoint.clone();
            tokio::spawn(async move {
                let mut out = Vec::new();
                for i in (w..REQUESTS).step_by(8) {
                    let (action, expected) = match i % 5 {
                        0 | 1 => ("ListUserPools", "TooManyRequestsException"),
                        2 | 3 => ("AdminGetUser", "InternalErrorException"),
                        _ => ("ListUsers", ""),
                    };
                    let a = http
                        .api(
                            &endpoint,
                            action,
                            json!({"UserPoolId": "us-east-1_x", "MaxResults": 10}),
                            &[],
                        )
                        .await;
                    let faulted = if expected.is_empty() {
                        a.status == 503
                    } else {
                        a.error_type().as_deref() == Some(expected)
                    };
                    out.push((action, faulted, a.status));
                }
                let mut keyed = Vec::new();
                for i in 0..25 {
                    let user = format!("user-{}", (i * 7 + w) % 40);
                    let a = http
                        .api(
                            &endpoint,
                            "AdminDeleteUser",
                            json!({"UserPoolId": "us-east-1_x", "Username": user}),
                            &[],
                        )
                        .await;
                    keyed.push((
                        user,
                        a.error_type().as_deref() == Some("UserNotFoundException"),
                    ));
                }
                (out, keyed)
            })
        })
        .collect();
    let mut observed: BTreeMap<&'static str, (usize, usize)> = BTreeMap::new();
    let mut keyed: BTreeMap<String, Vec<bool>> = BTreeMap::new();
    for w in workers {
        let (out, k) = w.await.expect("a worker finishes");
        for (action, faulted, _) in out {
            let e = observed.entry(action).or_default();
            e.0 += 1;
            e.1 += usize::from(faulted);
        }
        for (user, failed) in k {
            keyed.entry(user).or_default().push(failed);
        }
    }
    proxy.shutdown().await.expect("a clean shutdown");
    let mut by_rule: BTreeMap<String, Vec<(u64, Option<f64>, bool)>> = BTreeMap::new();
    for d in decisions(&log) {
        assert_eq!(d["format"], "cogcheck-fault-decisions/1");
        by_rule
            .entry(d["rule"].as_str().unwrap_or_default().to_string())
            .or_default()
            .push((
                d["n"].as_u64().unwrap_or(0),
                d["draw"].as_f64(),
                d["fired"].as_bool().unwrap_or(false),
            ));
    }
    for v in by_rule.values_mut() {
        v.sort_by_key(|(n, _, _)| *n);
    }
    Run {
        observed,
        decisions: by_rule,
        keyed,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_rates_match_probabilities_and_seeds_reproduce_decisions() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let first = run(dir.path(), "first", false).await;

    // Each rule's observed rate lies inside the binomial 99% interval (normal approximation;
    // every n·p here is at least 40).
    for (action, rule, p) in RULES {
        let (n, faulted) = first.observed[action];
        let rate = faulted as f64 / n as f64;
        let half = 2.576 * (p * (1.0 - p) / n as f64).sqrt();
        assert!(
            (p - half..=p + half).contains(&rate),
            "{rule}: {faulted} of {n} = {rate:.4}, outside {p} ± {half:.4}"
        );
        // The decisions file agrees with what the clients saw.
        let fired = first.decisions[rule].iter().filter(|d| d.2).count();
        assert_eq!(fired, faulted, "{rule}");
        assert_eq!(
            first.decisions[rule].len(),
            n,
            "{rule}: one decision per request"
        );
    }

    // A keyed rule decides per username: each one always fails or never does.
    let failing = first
        .keyed
        .values()
        .filter(|outcomes| {
            assert!(outcomes.iter().all(|o| *o == outcomes[0]), "{outcomes:?}");
            outcomes[0]
        })
        .count();
    assert!(
        (1..first.keyed.len()).contains(&failing),
        "{failing} of {}",
        first.keyed.len()
    );

    // The same seed: the same decisions, rule by rule, draw by draw (the keyed rule decides
    // per username, whatever the order, so it is compared per username).
    let again = run(dir.path(), "again", false).await;
    same_decisions(&first, &again);

    // An unrelated rule added first changes none of the other rules' decisions.
    let extra = run(dir.path(), "extra", true).await;
    assert!(extra.decisions.contains_key("unrelated"));
    same_decisions(&first, &extra);
}

fn same_decisions(a: &Run, b: &Run) {
    for (_, rule, _) in RULES {
        let (x, y) = (&a.decisions[rule], &b.decisions[rule]);
        let differ = x.iter().zip(y.iter()).filter(|(p, q)| p != q).count();
        assert!(
            x.len() == y.len() && differ == 0,
            "{rule}: {} and {} decisions, {differ} differ",
            x.len(),
            y.len()
        );
    }
    assert_eq!(a.keyed, b.keyed);
}
