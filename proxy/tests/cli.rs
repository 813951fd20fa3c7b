//! The command line: help that reads like a man page, clear errors and documented exit codes.

mod util;

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cogcheck-proxy"))
        .args(args)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_reads_like_a_man_page() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for section in [
        "EXAMPLES:",
        "REPLAY MODES",
        "CogcheckReplayMissException",
        "SIGNALS:",
        "ENVIRONMENT:",
        "EXIT STATUS:",
        "LOGGING:",
        "--log-format",
        "RUST_LOG",
        "--listen",
        "--upstream",
        "--record",
        "--replay",
        "--mode",
        "--admin",
        "--tls-cert",
        "--tls-generate",
        "--insecure-upstream",
        "--max-body",
    ] {
        assert!(out.contains(section), "--help lacks {section}");
    }
}

#[test]
fn bad_flags_exit_2_with_a_clear_message() {
    for (args, says) in [
        (&["--mode", "sometimes"][..], "--mode"),
        (&["--listen", "not-an-address"][..], "--listen"),
        (
            &["--record", "a", "--replay", "b"][..],
            "cannot be used with",
        ),
        (&[][..], "--upstream URL is required"),
        (&["--upstream", "localhost:5000"][..], "absolute http"),
        (
            &["--upstream", "https://cognito-idp.us-east-1.amazonaws.com"][..],
            "AWS_ACCESS_KEY_ID",
        ),
        (
            &["--upstream", "http://x", "--max-body", "huge"][..],
            "not a size",
        ),
        (
            &["--upstream", "http://x", "--tls-cert", "c.pem"][..],
            "--tls-key",
        ),
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?} should say {says}: {err}");
    }
}

#[test]
fn an_unreadable_cassette_exits_3_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"cassette\":\"cogcheck-cassette/1\"}\n{\"seq\":1}\n",
    )
    .unwrap();
    let (code, _, err) = run(&["--replay", bad.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("bad.jsonl:2"), "{err}");
    let (code, _, err) = run(&["--replay", dir.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is a directory"), "{err}");
}

#[test]
fn a_port_in_use_exits_4() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, _, err) = run(&["--listen", &addr, "--upstream", "http://127.0.0.1:1"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains(&addr), "{err}");
}

/// The proxy needs no checkout at run time: the model, the quota categories and the noise rules
/// are compiled in. Started in `/`, it replays a cassette, classifies requests by the model
/// (a miss names the action) and answers like in the checkout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_away_from_a_checkout() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("c.jsonl");
    std::fs::write(
        &cassette,
        concat!(
            r#"{"cassette":"cogcheck-cassette/1","created":"2026-01-01T00:00:00Z","proxy":"cogcheck-proxy"}"#,
            "\n",
            r#"{"seq":1,"time":"2026-01-01T00:00:00Z","action":"ListUserPools","signed":true,"upstream":"http://u","request":{"method":"POST","path":"/","headers":[["content-type","application/x-amz-json-1.1"],["x-amz-target","AWSCognitoIdentityProviderService.ListUserPools"]],"body":{"MaxResults":1}},"response":{"status":200,"headers":[["content-type","application/x-amz-json-1.1"]],"body":{"UserPools":[]}},"latency_ms":1}"#,
            "\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cogcheck-proxy"))
        .current_dir("/")
        .args(["--listen", "127.0.0.1:0", "--mode", "none", "--replay"])
        .arg(&cassette)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let endpoint = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("no listening line: {line:?}"))
        .to_string();
    let c = util::client(&endpoint);
    let (status, body) =
        util::call(&c, "ListUserPools", serde_json::json!({"MaxResults": 1})).await;
    assert_eq!((status, body), (200, serde_json::json!({"UserPools": []})));
    let (status, body) = util::call(
        &c,
        "AdminGetUser",
        serde_json::json!({"UserPoolId": "p", "Username": "u"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["__type"], "CogcheckReplayMissException", "{body}");
    assert!(body.to_string().contains("AdminGetUser"), "{body}");
    let _ = child.kill();
    let _ = child.wait();
}
