//! The proxy as a plain reverse proxy in front of real moto: same answers as direct, the suite's
//! scenarios get the same verdicts, the admin API reports, and garbage never stops it.

mod util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use std::sync::Arc;

use cogcheck::expectations::Strictness;
use cogcheck::run::{RunConfig, Runner};
use cogcheck_proxy::CassettePlan;
use serde_json::{json, Value};
use util::{call, client, moto, proxy, session, unique, verdicts};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_through_the_proxy_match_direct_answers() {
    let moto = moto().await;
    let p = proxy(&moto.endpoint, CassettePlan::Off).await;
    let direct = client(&moto.endpoint);
    let via = client(&p.endpoint());

    let (status, created) = call(&via, "CreateUserPool", json!({"PoolName": unique("same")})).await;
    assert_eq!(status, 200, "{created}");
    let id = created["UserPool"]["Id"]
        .as_str()
        .expect("a pool id")
        .to_string();

    for (action, input) in [
        ("DescribeUserPool", json!({"UserPoolId": id})),
        (
            "DescribeUserPool",
            json!({"UserPoolId": "us-east-1_doesnotexist"}),
        ),
        ("ListUserPools", json!({"MaxResults": 60})),
    ] {
        let a = direct.call(action, &input).await.expect("direct answer");
        let b = via.call(action, &input).await.expect("proxied answer");
        assert_eq!(a.status, b.status, "{action}");
        assert_eq!(a.body, b.body, "{action}");
        assert_eq!(
            a.error.as_ref().map(|e| &e.error_type),
            b.error.as_ref().map(|e| &e.error_type),
            "{action}"
        );
        assert_eq!(a.framing, b.framing, "{action}");
    }
    let missing = via
        .call(
            "DescribeUserPool",
            &json!({"UserPoolId": "us-east-1_doesnotexist"}),
        )
        .await
        .unwrap();
    assert_eq!(
        missing.error.unwrap().error_type,
        "ResourceNotFoundException"
    );

    let (status, _) = call(&via, "DeleteUserPool", json!({"UserPoolId": id})).await;
    assert_eq!(status, 200);
    let gone = direct
        .call("DescribeUserPool", &json!({"UserPoolId": id}))
        .await
        .unwrap();
    assert_eq!(gone.error.unwrap().error_type, "ResourceNotFoundException");
    p.shutdown().await.unwrap();
}

/// The yardstick: every conformance scenario gets the same verdict through the proxy
/// as directly: the same verdict and the same findings by step, axis, check and path
/// (their messages hold per-run values such as pool ids and salts). The proxy records them all,
/// and the cassette is the canary check over every scenario: none of the passwords the scenarios
/// generate (`Cg1!` and 16 letters or digits, see `scenario::template::new_password`) and no
/// JWT reaches it in clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_scenarios_get_the_same_verdicts_through_the_proxy() {
    let session = session("moto", 4, None).await;
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("every-scenario.jsonl");
    let p = proxy(
        &session.info.endpoint,
        CassettePlan::Record(cassette.clone()),
    )
    .await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios");
    let scenarios =
        cogcheck::scenario::load_dir(&root).unwrap_or_else(|e| panic!("scenarios load: {e:?}"));
    assert!(!scenarios.is_empty());

    let direct = Arc::new(Runner::new(session.client.clone(), session.config.clone()));
    let mut via_config = session.config.clone();
    via_config.run_prefix = RunConfig::new_prefix();
    let via_client = client(&p.endpoint());
    let via = Arc::new(Runner::new(via_client, via_config));

    // Every finding, not only the deciding verdict: a transparent proxy changes none.
    let a = verdicts(
        &direct
            .run_all(
                scenarios.clone(),
                &session.expectations,
                Strictness::Strict,
                |_| {},
            )
            .await,
    );
    let b = verdicts(
        &via.run_all(scenarios, &session.expectations, Strictness::Strict, |_| {})
            .await,
    );
    assert_eq!(a.len(), b.len());
    let differing: Vec<String> = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x != y)
        .map(|(x, y)| format!("{}: direct `{}`, through the proxy `{}`", x.0, x.1, y.1))
        .collect();
    assert!(differing.is_empty(), "{}", differing.join("\n"));
    p.shutdown().await.unwrap();

    let text = std::fs::read_to_string(&cassette).expect("the cassette");
    let exchanges = text.lines().count() - 1;
    assert!(
        exchanges > a.len(),
        "every scenario was recorded: {exchanges} exchanges"
    );
    assert!(
        text.contains("<secret:"),
        "secrets were replaced by placeholders"
    );
    let leaks: Vec<&str> = text
        .match_indices("Cg1!")
        .filter_map(|(at, _)| {
            let tail = text.get(at + 4..at + 20)?;
            tail.chars()
                .all(|c| c.is_ascii_alphanumeric())
                .then(|| text.get(at..at + 20))
                .flatten()
        })
        .collect();
    assert!(
        leaks.is_empty(),
        "generated passwords in the cassette: {leaks:?}"
    );
    let jwts = cogcheck::protocol::jwt::find(&text);
    assert!(jwts.is_empty(), "{} JWTs in the cassette", jwts.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_reports_health_stats_and_cassette() {
    let moto = moto().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admin.jsonl");
    let mut config = cogcheck_proxy::Config::new(&moto.endpoint).unwrap();
    config.cassette = CassettePlan::Record(path.clone());
    config.admin = Some("127.0.0.1:0".parse().unwrap());
    let p = cogcheck_proxy::Proxy::start(config).await.unwrap();
    let via = client(&p.endpoint());
    for _ in 0..3 {
        call(&via, "ListUserPools", json!({"MaxResults": 1})).await;
    }
    call(
        &via,
        "DescribeUserPool",
        json!({"UserPoolId": "us-east-1_nope"}),
    )
    .await;

    let admin = client(&format!("http://{}", p.admin_addr().unwrap()));
    let get = |path: &'static str| {
        let admin = admin.clone();
        async move {
            let r = admin.get(path).await.unwrap();
            (r.status, serde_json::from_slice::<Value>(&r.body).unwrap())
        }
    };
    assert_eq!(get("/health").await, (200, json!({"status": "ok"})));
    let (status, stats) = get("/stats").await;
    assert_eq!(status, 200);
    assert_eq!(stats["actions"]["ListUserPools"]["count"], 3, "{stats}");
    assert_eq!(stats["actions"]["DescribeUserPool"]["errors"], 1, "{stats}");
    assert!(
        stats["latency_ms"]["p99"].as_f64().unwrap() > 0.0,
        "{stats}"
    );
    let (_, cassette) = get("/cassette").await;
    assert_eq!(cassette["mode"], "record");
    assert_eq!(cassette["written"], 4, "{cassette}");
    assert_eq!(cassette["path"], path.display().to_string());
    let (status, _) = get("/nope").await;
    assert_eq!(status, 404);
    p.shutdown().await.unwrap();
}

/// Sends raw bytes and returns whatever comes back before the proxy closes or goes quiet.
/// Garbage is followed by a half-close so the proxy sees the end of it; a complete request is
/// not (hyper, like most servers, takes a client's half-close for a client gone).
fn raw(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(bytes);
    if !bytes.windows(17).any(|w| w == b"Connection: close") {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_wire_never_stops_the_proxy() {
    let moto = moto().await;
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("garbage.jsonl");
    for plan in [CassettePlan::Off, CassettePlan::Record(cassette.clone())] {
        let mut config = cogcheck_proxy::Config::new(&moto.endpoint).unwrap();
        config.cassette = plan;
        config.max_body = 1024;
        config.tls = Some(cogcheck_proxy::TlsSource::Generate(dir.path().join("tls")));
        let p = cogcheck_proxy::Proxy::start(config).await.unwrap();
        let addr = p.addr();
        let big = "x".repeat(4096);
        let answers = tokio::task::spawn_blocking(move || {
            vec![
                raw(addr, b"\x00\x01\x02 not http at all\r\n\r\n"),
                // Looks like a TLS handshake, is not one.
                raw(addr, b"\x16\x03\x01\x00\x05hello"),
                raw(
                    addr,
                    format!(
                        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSCognitoIdentityProviderService.ListUserPools\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{big}",
                        big.len()
                    )
                    .as_bytes(),
                ),
                raw(
                    addr,
                    format!(
                        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSCognitoIdentityProviderService.ListUserPools\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
                        big.len()
                    )
                    .as_bytes(),
                ),
                raw(
                    addr,
                    b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: \xff\xfe.Nonsense\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                ),
                raw(
                    addr,
                    b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSCognitoIdentityProviderService.CreateUserPool\r\nContent-Length: 9\r\nConnection: close\r\n\r\n{not json",
                ),
                raw(addr, b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"),
            ]
        })
        .await
        .unwrap();
        assert!(
            answers[2].starts_with("HTTP/1.1 400")
                && answers[2].contains("CogcheckRequestTooLargeException"),
            "declared oversize: {}",
            answers[2]
        );
        assert!(
            answers[3].starts_with("HTTP/1.1 400")
                && answers[3].contains("CogcheckRequestTooLargeException"),
            "streamed oversize: {}",
            answers[3]
        );
        assert!(
            answers[4].starts_with("HTTP/1.1 "),
            "bad target gets an answer: {}",
            answers[4]
        );
        assert!(
            answers[5].starts_with("HTTP/1.1 "),
            "bad JSON gets an answer: {}",
            answers[5]
        );
        for a in [&answers[0], &answers[1], &answers[6]] {
            assert!(a.is_empty() || a.starts_with("HTTP/1.1 400"), "{a}");
        }
        // Still serving.
        let (status, _) = call(
            &client(&format!("http://{addr}")),
            "ListUserPools",
            json!({"MaxResults": 1}),
        )
        .await;
        assert_eq!(status, 200);
        p.shutdown().await.unwrap();
    }
    let lines = util::cassette_lines(&cassette);
    let too_large: Vec<&Value> = lines
        .iter()
        .filter(|l| l["error"]["kind"] == "request_too_large")
        .collect();
    assert_eq!(too_large.len(), 2, "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_answers_502_and_is_recorded() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("down.jsonl");
    let upstream = format!("http://127.0.0.1:{closed}");
    let p = proxy(&upstream, CassettePlan::Record(path.clone())).await;
    let r = client(&p.endpoint())
        .call("ListUserPools", &json!({"MaxResults": 1}))
        .await
        .unwrap();
    assert_eq!(r.status, 502);
    let e = r.error.unwrap();
    assert_eq!(e.error_type, "CogcheckUpstreamUnreachableException");
    let message = e.message.unwrap();
    assert!(message.contains(&upstream), "{message}");
    p.shutdown().await.unwrap();
    let lines = util::cassette_lines(&path);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["error"]["kind"], "upstream_unreachable");
    assert_eq!(lines[1]["action"], "ListUserPools");
    assert_eq!(lines[1]["response"]["status"], 502);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_upstream_is_verified_unless_told_otherwise() {
    let moto = moto().await;
    let dir = tempfile::tempdir().unwrap();
    // An HTTPS upstream with a certificate from a private CA: another proxy in front of moto.
    let mut inner = cogcheck_proxy::Config::new(&moto.endpoint).unwrap();
    inner.tls = Some(cogcheck_proxy::TlsSource::Generate(
        dir.path().to_path_buf(),
    ));
    let inner = cogcheck_proxy::Proxy::start(inner).await.unwrap();
    let ca = inner.ca_cert().unwrap().to_path_buf();
    let upstream = format!("https://localhost:{}", inner.addr().port());

    for (trust, expected) in [
        (cogcheck_proxy::UpstreamTrust::PublicRoots, 502),
        (cogcheck_proxy::UpstreamTrust::WithCa(ca), 200),
        (cogcheck_proxy::UpstreamTrust::Insecure, 200),
    ] {
        let mut outer = cogcheck_proxy::Config::new(&upstream).unwrap();
        outer.upstream_trust = trust.clone();
        let outer = cogcheck_proxy::Proxy::start(outer).await.unwrap();
        let r = client(&outer.endpoint())
            .call("ListUserPools", &json!({"MaxResults": 1}))
            .await
            .unwrap();
        assert_eq!(r.status, expected, "{trust:?}: {:?}", r.body);
        if expected == 502 {
            let message = r.error.unwrap().message.unwrap();
            assert!(message.to_lowercase().contains("certificate"), "{message}");
        }
        outer.shutdown().await.unwrap();
    }
    inner.shutdown().await.unwrap();
}
