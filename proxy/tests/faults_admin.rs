//! Run-time control through the admin API, the fault header, quota emulation and the wire
//! shape of injected errors, through the proxy to real moto.

mod faults_util;
mod util;

use cogcheck_proxy::FaultConfig;
use faults_util::{proxy_with, rules_file, Http};
use serde_json::{json, Value};
use util::moto;

fn ids(faults: &Value) -> Vec<String> {
    faults["rules"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|r| r["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_change_at_run_time_and_bad_rules_change_nothing() {
    let moto = moto().await;
    let proxy = proxy_with(&moto.endpoint, FaultConfig::default()).await;
    let e = proxy.endpoint();
    let http = Http::new();
    let list = json!({"MaxResults": 5});

    assert_eq!(
        http.api(&e, "ListUserPools", list.clone(), &[])
            .await
            .status,
        200
    );

    // Added, and in force from the very next request: a throttle exactly as Cognito sends it.
    let (status, added) = http
        .admin(
            &proxy,
            "POST",
            "/faults",
            Some(json!({
                "id": "throttle-once", "actions": "List*Pools", "first": 1,
                "fault": {"kind": "error", "error": "TooManyRequestsException"}
            })),
        )
        .await;
    assert_eq!((status, added), (201, json!({"added": ["throttle-once"]})));
    let a = http.api(&e, "ListUserPools", list.clone(), &[]).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json(),
        json!({"__type": "TooManyRequestsException", "message": "Rate exceeded"})
    );
    assert_eq!(a.headers["content-type"], "application/x-amz-json-1.1");
    assert_eq!(a.headers["x-amzn-errortype"], "TooManyRequestsException:");
    assert_eq!(a.headers["x-amzn-errormessage"], "Rate exceeded");
    assert!(a.headers.contains_key("x-amzn-requestid"));
    // `first = 1`: only once.
    assert_eq!(
        http.api(&e, "ListUserPools", list.clone(), &[])
            .await
            .status,
        200
    );

    // A malformed rule is refused, names the rule and the field, and changes nothing; so is a
    // batch with one bad rule in it.
    let (_, before) = http.admin(&proxy, "GET", "/faults", None).await;
    let (status, refused) = http
        .admin(
            &proxy,
            "POST",
            "/faults",
            Some(json!({
                "id": "bad", "probability": 2, "fault": {"kind": "hang"}
            })),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        refused["error"],
        "POST /faults: rules[0] (id `bad`): field `probability`: 2 is not a probability (0 to 1)"
    );
    let (status, refused) = http
        .admin(
            &proxy,
            "POST",
            "/faults",
            Some(json!([
                {"id": "fine", "fault": {"kind": "hang"}},
                {"id": "broken", "fault": {"kind": "status", "status": 200}},
            ])),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(refused["field"], "fault.status", "{refused}");
    for bad in [
        json!("not a rule"),
        json!({"id": "throttle-once", "fault": {"kind": "hang"}}),
    ] {
        let (status, _) = http.admin(&proxy, "POST", "/faults", Some(bad)).await;
        assert_eq!(status, 400);
    }
    let (_, after) = http.admin(&proxy, "GET", "/faults", None).await;
    assert_eq!(ids(&before), ids(&after));
    assert_eq!(ids(&after), ["throttle-once"]);

    // Counters, in /faults and in /stats.
    let rule = &after["rules"][0];
    assert_eq!(
        (
            rule["selected"].clone(),
            rule["fired"].clone(),
            rule["applied"].clone()
        ),
        (json!(2), json!(1), json!(1))
    );
    let (_, stats) = http.admin(&proxy, "GET", "/stats", None).await;
    assert_eq!(stats["faults"]["throttle-once"]["applied"], 1, "{stats}");

    // Removed: gone from the next request on.
    let (status, _) = http
        .admin(
            &proxy,
            "POST",
            "/faults",
            Some(json!({
                "id": "always", "actions": "ListUserPools",
                "fault": {"kind": "error", "error": "InternalErrorException"}
            })),
        )
        .await;
    assert_eq!(status, 201);
    let a = http.api(&e, "ListUserPools", list.clone(), &[]).await;
    assert_eq!(
        (a.status, a.error_type()),
        (500, Some("InternalErrorException".into()))
    );
    assert_eq!(
        http.admin(&proxy, "DELETE", "/faults/always", None).await.0,
        200
    );
    assert_eq!(
        http.admin(&proxy, "DELETE", "/faults/always", None).await.0,
        404
    );
    assert_eq!(
        http.api(&e, "ListUserPools", list.clone(), &[])
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fault_header_forces_allowlisted_rules_only_and_quotas_throttle() {
    let moto = moto().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = dir.path().join("decisions.jsonl");
    let rules = rules_file(
        dir.path(),
        "header.json",
        json!({
            "quotas": {"enabled": true, "rates": {
                "UserList": 2, "UserAuthentication": 1, "UserAccountRecovery": 1
            }},
            "rules": [
                {"id": "forced-503", "probability": 0, "fault": {"kind": "status", "status": 503}},
                {"id": "not-allowed", "probability": 0, "fault": {"kind": "status", "status": 502}},
            ]
        }),
    );
    let proxy = proxy_with(
        &moto.endpoint,
        FaultConfig {
            rules: Some(rules),
            allow_header: vec!["forced-503".into()],
            log: Some(log.clone()),
            ..FaultConfig::default()
        },
    )
    .await;
    let e = proxy.endpoint();
    let http = Http::new();
    let list = json!({"MaxResults": 5});

    let a = http
        .api(
            &e,
            "ListUserPools",
            list.clone(),
            &[("x-cogcheck-fault", "forced-503")],
        )
        .await;
    assert_eq!(a.status, 503);
    assert!(String::from_utf8_lossy(&a.body).contains("<h1>503 Service Unavailable</h1>"));
    assert_eq!(a.headers["server"], "awselb/2.0");
    let a = http
        .api(
            &e,
            "ListUserPools",
            list.clone(),
            &[("x-cogcheck-fault", "not-allowed")],
        )
        .await;
    assert_eq!(a.status, 200);
    let (_, faults) = http.admin(&proxy, "GET", "/faults", None).await;
    assert_eq!(faults["header"]["refused"], 1, "{faults}");

    // UserList at 2 per second: of ten requests sent back to back, the bucket's two go
    // through and at least one of the rest is throttled as Cognito throttles.
    let mut throttled = 0;
    for _ in 0..10 {
        let a = http
            .api(
                &e,
                "ListUsers",
                json!({"UserPoolId": "us-east-1_nothere"}),
                &[],
            )
            .await;
        if a.error_type().as_deref() == Some("TooManyRequestsException") {
            assert_eq!(a.status, 400);
            assert_eq!(a.json()["message"], "Rate exceeded");
            throttled += 1;
        }
    }
    assert!((1..=8).contains(&throttled), "{throttled}");
    let (_, faults) = http.admin(&proxy, "GET", "/faults", None).await;
    assert_eq!(
        faults["quotas"]["categories"]["UserList"]["throttled"], throttled,
        "{faults}"
    );

    // A challenge response naming NEW_PASSWORD_REQUIRED counts toward UserAccountRecovery
    // (1/s here): of five back to back, one goes through and some are throttled there.
    // UserAuthentication is left whole.
    let challenge = |name: &str| {
        json!({
            "ClientId": "nothere", "ChallengeName": name, "Session": "x",
            "ChallengeResponses": {"USERNAME": "u", "NEW_PASSWORD": "Passw0rd!"},
        })
    };
    let burst = |name: &str, n: usize| {
        let (http, e, body) = (&http, &e, challenge(name));
        async move {
            let mut throttled = 0;
            for _ in 0..n {
                let a = http
                    .api(e, "RespondToAuthChallenge", body.clone(), &[])
                    .await;
                if a.error_type().as_deref() == Some("TooManyRequestsException") {
                    throttled += 1;
                }
            }
            (n - throttled, throttled)
        }
    };
    let (_, recovery) = burst("NEW_PASSWORD_REQUIRED", 5).await;
    assert!((1..=4).contains(&recovery), "{recovery}");
    // Other challenges (UserAuthentication at 1/s): the separate allowance of three times the
    // category's rate, then the category's own token, so at least four go through where
    // InitiateAuth alone would get one; throttled when both are empty.
    let (passed, authentication) = burst("SMS_MFA", 20).await;
    assert!(
        passed >= 4 && authentication >= 1,
        "{passed} {authentication}"
    );

    // Counted, and logged, under the category each was charged to.
    let (_, faults) = http.admin(&proxy, "GET", "/faults", None).await;
    let categories = &faults["quotas"]["categories"];
    assert_eq!(categories["UserAccountRecovery"]["throttled"], recovery);
    assert_eq!(
        categories["UserAuthentication"]["throttled"],
        authentication
    );
    assert_eq!(
        categories["UserAuthentication"]["allowance"]["rate_per_second"], 3.0,
        "{faults}"
    );
    let text = std::fs::read_to_string(&log).expect("the decisions log is readable");
    let logged = |rule: &str| {
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| l["rule"] == rule)
            .count()
    };
    assert_eq!(logged("quota:UserList"), throttled);
    assert_eq!(logged("quota:UserAccountRecovery"), recovery);
    assert_eq!(logged("quota:UserAuthentication"), authentication);
}

/// Sends one raw request to the admin port and returns the whole answer as text.
async fn raw_admin(addr: std::net::SocketAddr, head: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(head).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Paths that are not admin endpoints, including ones whose bytes are not ASCII, get a 404
/// naming the path, and the admin API keeps answering (it used to panic on `/faultsé`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_admin_paths_get_a_4xx_naming_the_path() {
    let upstream = faults_util::stub_upstream().await;
    let proxy = proxy_with(&format!("http://{upstream}"), FaultConfig::default()).await;
    let admin = proxy.admin_addr().unwrap();
    let http = Http::new();
    let (status, added) = http
        .admin(&proxy, "POST", "/faults", Some(json!({"id": "bc", "actions": "DeleteUserPool", "fault": {"kind": "error", "error": "InternalErrorException"}})))
        .await;
    assert_eq!(status, 201, "{added}");

    for (method, path) in [
        ("DELETE", "/faults\u{e9}".as_bytes()),
        ("DELETE", "/faults/\u{e9}x/".as_bytes()),
        ("GET", "/\u{e9}t\u{e9}".as_bytes()),
        ("DELETE", b"/faultsabc".as_slice()),
        ("GET", b"/faults\xff".as_slice()),
    ] {
        let mut head = format!("{method} ").into_bytes();
        head.extend_from_slice(path);
        head.extend_from_slice(b" HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
        let answer = raw_admin(admin, &head).await;
        let shown = String::from_utf8_lossy(path);
        let status: u16 = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{method} {shown}: no answer: {answer:?}"));
        assert!(
            (400..500).contains(&status),
            "{method} {shown}: {status} {answer}"
        );
        // hyper refuses some bytes itself (400, no body); what reaches the router is named.
        if status == 404 || status == 405 {
            assert!(
                answer.contains(shown.as_ref()),
                "{method} {shown}: {answer}"
            );
        }
    }
    // `DELETE /faultsabc` did not remove rule `bc`, and the admin API still answers.
    let (status, faults) = http.admin(&proxy, "GET", "/faults", None).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&faults), ["bc"]);
    proxy.shutdown().await.unwrap();
}
