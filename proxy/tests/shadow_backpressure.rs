//! Compare mode never makes the primary's clients wait for the shadow: with a shadow that
//! accepts connections and never answers, every answer still comes at the primary's pace,
//! and the requests the shadow could not take are dropped and counted.

mod faults_util;

use std::time::{Duration, Instant};

use cogcheck_proxy::shadow::live::ShadowConfig;
use cogcheck_proxy::shadow::ReportPaths;
use cogcheck_proxy::{Config, Proxy, Upstream};
use faults_util::{stub_upstream, Http};
use serde_json::json;

/// Accepts connections and holds them, unread and unanswered, until the test ends.
fn hung_shadow() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept() {
            held.push(s);
        }
    });
    endpoint
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_shadow_never_delays_the_primary() {
    const QUEUE: usize = 4;
    const REQUESTS: usize = 100;
    let primary = stub_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let mut config = Config::new(&format!("http://{primary}")).unwrap();
    config.admin = Some(([127, 0, 0, 1], 0).into());
    // The shadow's requests time out after this; it bounds how long shutdown waits for the
    // jobs already queued, not how long clients wait (that is the point of the test).
    config.upstream_timeout = Duration::from_secs(2);
    config.shadow = Some(ShadowConfig {
        upstream: Upstream::parse(&hung_shadow()).unwrap(),
        noise: None,
        report: ReportPaths {
            markdown: Some(summary.clone()),
            ..ReportPaths::default()
        },
        mapping_budget: cogcheck_proxy::shadow::mapping::DEFAULT_BUDGET,
        queue: QUEUE,
    });
    let proxy = Proxy::start(config).await.unwrap();
    let http = Http::new();
    let endpoint = proxy.endpoint();

    let mut slowest = Duration::ZERO;
    for n in 0..REQUESTS {
        let started = Instant::now();
        // Before the fix the (QUEUE + 2)th request waited for the shadow's timeout.
        let answer = tokio::time::timeout(
            Duration::from_secs(1),
            http.api(
                &endpoint,
                "DescribeUserPool",
                json!({"UserPoolId": format!("us-east-1_n{n}")}),
                &[],
            ),
        )
        .await
        .unwrap_or_else(|_| panic!("request {n} waited for the hung shadow"));
        assert_eq!(answer.status, 200);
        slowest = slowest.max(started.elapsed());
    }
    assert!(
        slowest < Duration::from_millis(500),
        "the slowest answer took {slowest:?}"
    );

    // The worker holds one job, the queue QUEUE more; every other request was dropped.
    let (status, stats) = http.admin(&proxy, "GET", "/stats", None).await;
    assert_eq!(status, 200);
    let dropped = stats["shadow"]["dropped"].as_u64().unwrap();
    assert!(
        (REQUESTS - QUEUE - 1..=REQUESTS - QUEUE).contains(&(dropped as usize)),
        "dropped {dropped} of {REQUESTS}: {stats}"
    );
    assert_eq!(
        stats["shadow"]["queued"].as_u64(),
        Some(QUEUE as u64),
        "{stats}"
    );

    proxy.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.contains(&format!(
            "**{dropped} requests were not sent to the shadow**"
        )),
        "{text}"
    );
}
