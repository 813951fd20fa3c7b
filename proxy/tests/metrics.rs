//! `GET /metrics` on the admin address speaks the Prometheus text format: a real parser
//! (the `prometheus-parse` crate) reads it, and its numbers are the proxy's: requests and
//! error answers per action, a latency histogram per action whose buckets are cumulative and
//! end at the request count, and faults per rule.

mod faults_util;

use cogcheck_proxy::FaultConfig;
use faults_util::{proxy_with, rules_file, stub_upstream, Http};
use prometheus_parse::{Scrape, Value as Sample};
use serde_json::json;

fn sample<'a>(scrape: &'a Scrape, metric: &str, label: (&str, &str)) -> &'a Sample {
    &scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && s.labels.get(label.0) == Some(label.1))
        .unwrap_or_else(|| panic!("no {metric}{{{}={}}}", label.0, label.1))
        .value
}

fn counter(v: &Sample) -> f64 {
    match v {
        Sample::Counter(c) | Sample::Gauge(c) | Sample::Untyped(c) => *c,
        other => panic!("not a number: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text_with_the_proxys_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = stub_upstream().await;
    let rules = json!({"seed": 1, "rules": [
        {"id": "always", "actions": "AdminGetUser", "probability": 1.0,
         "fault": {"kind": "error", "error": "InternalErrorException"}}
    ]});
    let proxy = proxy_with(
        &format!("http://{upstream}"),
        FaultConfig {
            rules: Some(rules_file(dir.path(), "rules.json", rules)),
            ..FaultConfig::default()
        },
    )
    .await;
    let http = Http::new();
    let endpoint = proxy.endpoint();
    for _ in 0..7 {
        http.api(&endpoint, "ListUserPools", json!({"MaxResults": 1}), &[])
            .await;
    }
    for _ in 0..3 {
        let a = http
            .api(
                &endpoint,
                "AdminGetUser",
                json!({"UserPoolId": "p", "Username": "u"}),
                &[],
            )
            .await;
        assert_eq!(a.status, 500);
    }

    let admin = proxy.admin_addr().unwrap();
    let answer = http
        .send(
            "GET",
            &format!("http://{admin}/metrics"),
            &[],
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert!(answer.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(answer.body.to_vec()).unwrap();
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .unwrap_or_else(|e| panic!("not Prometheus text ({e}):\n{text}"));

    let requests = "cogcheck_proxy_requests_total";
    assert_eq!(
        counter(sample(&scrape, requests, ("action", "ListUserPools"))),
        7.0
    );
    assert_eq!(
        counter(sample(&scrape, requests, ("action", "AdminGetUser"))),
        3.0
    );
    let errors = "cogcheck_proxy_error_answers_total";
    assert_eq!(
        counter(sample(&scrape, errors, ("action", "ListUserPools"))),
        0.0
    );
    assert_eq!(
        counter(sample(&scrape, errors, ("action", "AdminGetUser"))),
        3.0
    );
    let applied = "cogcheck_proxy_fault_applied_total";
    assert_eq!(counter(sample(&scrape, applied, ("rule", "always"))), 3.0);

    // The parser folds _bucket/_sum/_count into one histogram sample per label set.
    match sample(
        &scrape,
        "cogcheck_proxy_request_duration_seconds",
        ("action", "ListUserPools"),
    ) {
        Sample::Histogram(buckets) => {
            assert!(buckets.len() > 5, "{buckets:?}");
            let counts: Vec<f64> = buckets.iter().map(|b| b.count).collect();
            assert!(
                counts.windows(2).all(|w| w[0] <= w[1]),
                "cumulative: {counts:?}"
            );
            let last = buckets.last().unwrap();
            assert!(
                last.less_than.is_infinite() && last.count == 7.0,
                "{buckets:?}"
            );
        }
        other => panic!("not a histogram: {other:?}"),
    }
    assert!(
        scrape.docs.contains_key("cogcheck_proxy_requests_total"),
        "every metric has its HELP"
    );
    proxy.shutdown().await.expect("the proxy stops");
}
