//! Transport faults as clients see them, through the proxy to real moto: a reset is
//! `ECONNRESET`, a clean close is an empty reply, a hang is the client's own timeout, and a
//! fault after forwarding leaves the upstream's work done.

mod faults_util;
mod util;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use cogcheck_proxy::FaultConfig;
use faults_util::{proxy_with, rules_file, Http, QUICK};
use serde_json::json;
use util::{moto, unique};

/// Sends one raw HTTP/1.1 API call and reads until the connection ends or `timeout` passes.
async fn raw_call(
    addr: SocketAddr,
    action: &str,
    body: &str,
    timeout: Duration,
) -> std::io::Result<Vec<u8>> {
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: AWSCognitoIdentityProviderService.{action}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(timeout))?;
        s.write_all(request.as_bytes())?;
        let mut out = Vec::new();
        s.read_to_end(&mut out)?;
        Ok(out)
    })
    .await
    .expect("the client task finishes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_closes_and_hangs_are_what_clients_see() {
    let moto = moto().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let rules = rules_file(
        dir.path(),
        "transport.json",
        json!({"rules": [
            {"id": "reset", "actions": "ListUserPools", "fields": {"ClientId": "reset"}, "fault": {"kind": "reset"}},
            {"id": "close", "actions": "ListUserPools", "fields": {"ClientId": "close"}, "fault": {"kind": "close"}},
            {"id": "hang", "actions": "ListUserPools", "fields": {"ClientId": "hang"}, "fault": {"kind": "hang", "max": "60s"}},
            {"id": "reset-after", "actions": "CreateUserPool", "fault": {"kind": "reset", "phase": "after_upstream"}},
        ]}),
    );
    let proxy = proxy_with(
        &moto.endpoint,
        FaultConfig {
            rules: Some(rules),
            ..FaultConfig::default()
        },
    )
    .await;
    let addr = proxy.addr();

    // A reset is a RST: the client's read fails with ECONNRESET.
    let e = raw_call(
        addr,
        "ListUserPools",
        r#"{"MaxResults":1,"ClientId":"reset"}"#,
        QUICK,
    )
    .await
    .expect_err("a reset is an error");
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");

    // A clean close is a FIN: the client reads an empty reply, no error.
    let got = raw_call(
        addr,
        "ListUserPools",
        r#"{"MaxResults":1,"ClientId":"close"}"#,
        QUICK,
    )
    .await
    .expect("a clean close is no error");
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));

    // A hang ends with the client's own timeout (1 s here; the rule would hold 60 s).
    let e = raw_call(
        addr,
        "ListUserPools",
        r#"{"MaxResults":1,"ClientId":"hang"}"#,
        Duration::from_secs(1),
    )
    .await
    .expect_err("the client times out");
    assert!(
        matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{e}"
    );

    // Requests the rules do not select pass untouched, on a fresh connection.
    let http = Http::new();
    let ok = http
        .api(
            &proxy.endpoint(),
            "ListUserPools",
            json!({"MaxResults": 1}),
            &[],
        )
        .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);

    // A reset after forwarding: the client sees ECONNRESET, but moto created the pool.
    let name = unique("reset-after");
    let e = raw_call(
        addr,
        "CreateUserPool",
        &json!({"PoolName": name}).to_string(),
        QUICK,
    )
    .await
    .expect_err("a reset is an error");
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
    let listed = http
        .api(
            &moto.endpoint,
            "ListUserPools",
            json!({"MaxResults": 60}),
            &[],
        )
        .await
        .json();
    assert!(
        listed["UserPools"]
            .as_array()
            .is_some_and(|pools| pools.iter().any(|p| p["Name"] == name.as_str())),
        "{listed}"
    );

    let (_, faults) = http.admin(&proxy, "GET", "/faults", None).await;
    let applied = |id: &str| {
        faults["rules"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["id"] == id))
            .map(|r| r["applied"].clone())
    };
    for id in ["reset", "close", "hang", "reset-after"] {
        assert_eq!(applied(id), Some(json!(1)), "{id}: {faults}");
    }
}
