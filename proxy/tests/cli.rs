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
