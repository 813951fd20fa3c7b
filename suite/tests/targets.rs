//! Named targets against the real emulators: each one installs (into the default cache, so only
//! the first run pays for it), starts on a free loopback port, answers cognito-idp, hands out
//! confirmation codes as `fixtures/targets.toml` says, and leaves no process behind however it
//! ends: stop, drop, panic or Ctrl-C. Broken targets fail fast with a readable error.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cogcheck::target::{
    install_signal_cleanup, Cache, CodeSource, InstallState, RunningTarget, Targets,
};
use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

fn targets() -> Targets {
    Targets::load_default().expect("fixtures/targets.toml loads")
}

fn cache() -> Cache {
    Cache::default_location().expect("a cache directory")
}

fn start(name: &str) -> RunningTarget {
    // Ctrl-C during `cargo test` must not leave emulators behind either.
    install_signal_cleanup();
    targets()
        .get(name)
        .expect("known target")
        .start(&cache(), false)
        .unwrap_or_else(|e| panic!("{name} starts: {e}"))
}

/// Whether the process group is gone: `kill(-pgid, 0)` fails with ESRCH.
fn group_gone(pgid: u32) -> bool {
    let pgid = Pid::from_raw(i32::try_from(pgid).expect("pid fits"));
    // Signal 0 (`None`) only checks for existence.
    killpg(pgid, None) == Err(Errno::ESRCH)
}

fn assert_group_gone(pgid: u32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !group_gone(pgid) {
        assert!(
            Instant::now() < deadline,
            "process group {pgid} still exists"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn host_port(target: &RunningTarget) -> String {
    target
        .endpoint
        .strip_prefix("http://")
        .expect("a local http endpoint")
        .to_string()
}

/// A cognito-idp call with a well-formed SigV4 header whose signature is zeros: the emulators
/// here check the access key (ministack under AUTH=true) but not the signature, and this keeps
/// the test independent of the signing code under test.
fn call(target: &RunningTarget, action: &str, body: &Value) -> (u16, Value) {
    let host = host_port(target);
    let amz_date = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .expect("formats");
    let body = body.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: AWSCognitoIdentityProviderService.{action}\r\nX-Amz-Date: {amz_date}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential={key}/{day}/{region}/cognito-idp/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={zeros}\r\n\
         Content-Length: {len}\r\nConnection: close\r\n\r\n{body}",
        key = target.credentials.access_key_id,
        day = &amz_date[..8],
        region = target.region,
        zeros = "0".repeat(64),
        len = body.len(),
    );
    let mut stream = TcpStream::connect(&host).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("sends");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("reads");
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    let json = serde_json::from_str(body.trim()).unwrap_or(Value::String(body.to_string()));
    (status, json)
}

/// Creates a pool with e-mail verification and an app client; returns the client id.
fn pool_and_client(target: &RunningTarget) -> String {
    let (status, pool) = call(
        target,
        "CreateUserPool",
        &json!({"PoolName": "cogcheck-targets-test", "AutoVerifiedAttributes": ["email"]}),
    );
    assert_eq!(status, 200, "CreateUserPool: {pool}");
    let pool_id = pool["UserPool"]["Id"].as_str().expect("pool id");
    let (status, client) = call(
        target,
        "CreateUserPoolClient",
        &json!({"UserPoolId": pool_id, "ClientName": "c"}),
    );
    assert_eq!(status, 200, "CreateUserPoolClient: {client}");
    client["UserPoolClient"]["ClientId"]
        .as_str()
        .expect("client id")
        .to_string()
}

fn sign_up(target: &RunningTarget, client_id: &str, username: &str) {
    let (status, body) = call(
        target,
        "SignUp",
        &json!({
            "ClientId": client_id,
            "Username": username,
            "Password": "Corr3ct-Horse!",
            "UserAttributes": [{"Name": "email", "Value": format!("{username}@example.com")}],
        }),
    );
    assert_eq!(status, 200, "SignUp: {body}");
}

fn confirm(target: &RunningTarget, client_id: &str, username: &str, code: &str) -> (u16, Value) {
    call(
        target,
        "ConfirmSignUp",
        &json!({"ClientId": client_id, "Username": username, "ConfirmationCode": code}),
    )
}

/// Starts, checks ListUserPools, stops, and checks that the group and the port are gone.
fn starts_answers_and_stops(name: &str) -> RunningTarget {
    let target = start(name);
    assert!(target.endpoint.starts_with("http://127.0.0.1:"));
    assert_eq!(target.version, targets().get(name).expect("known").version);
    let (status, body) = call(&target, "ListUserPools", &json!({"MaxResults": 1}));
    assert_eq!(status, 200, "{name} ListUserPools: {body}");
    assert!(body["UserPools"].is_array(), "{name}: {body}");
    target.ping().expect("answers its probe");
    target
}

fn stop_and_check(mut target: RunningTarget) {
    let pgid = target.pid().expect("a local process");
    let host = host_port(&target);
    target.stop().expect("stops cleanly");
    assert_eq!(target.pid(), None);
    assert_group_gone(pgid);
    assert!(
        TcpStream::connect(&host).is_err(),
        "{host} still accepts connections"
    );
    target.stop().expect("stopping twice is harmless");
}

#[test]
fn moto_starts_answers_resets_and_stops_its_whole_group() {
    let target = starts_answers_and_stops("moto");
    assert_eq!(
        targets().get("moto").expect("moto").install_state(&cache()),
        InstallState::Installed
    );
    let client_id = pool_and_client(&target);
    // moto does not check sign-up codes, as targets.toml records.
    assert!(matches!(target.codes(), Some(CodeSource::Unchecked { .. })));
    sign_up(&target, &client_id, "alice");
    let (status, body) = confirm(&target, &client_id, "alice", "any-code-at-all");
    assert_eq!(status, 200, "moto accepts any code: {body}");
    target.reset().expect("moto resets");
    let (_, pools) = call(&target, "ListUserPools", &json!({"MaxResults": 10}));
    assert_eq!(pools["UserPools"], json!([]), "reset cleared the pools");
    stop_and_check(target);
}

#[test]
fn ministack_starts_answers_checks_fixed_codes_and_stops() {
    let target = starts_answers_and_stops("ministack");
    let Some(CodeSource::Fixed { sign_up: code, .. }) = target.codes().cloned() else {
        panic!("ministack issues fixed codes");
    };
    let client_id = pool_and_client(&target);
    sign_up(&target, &client_id, "alice");
    let (status, body) = confirm(&target, &client_id, "alice", "000000");
    assert_eq!(status, 400, "AUTH=true checks codes: {body}");
    assert_eq!(body["__type"], "CodeMismatchException", "{body}");
    let (status, body) = confirm(&target, &client_id, "alice", &code);
    assert_eq!(status, 200, "the fixed code confirms: {body}");
    target.reset().expect("ministack resets");
    let (_, pools) = call(&target, "ListUserPools", &json!({"MaxResults": 10}));
    assert_eq!(pools["UserPools"], json!([]), "reset cleared the pools");
    stop_and_check(target);
}

#[test]
fn cognito_local_starts_with_plain_usernames_prints_codes_and_stops() {
    let target = starts_answers_and_stops("cognito-local");
    let client_id = pool_and_client(&target);
    // A plain username works only because the config file lifts cognito-local's e-mail rule.
    sign_up(&target, &client_id, "alice");
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        let codes = target.codes_in_log().expect("reads its log");
        if let Some(found) = codes.iter().find(|c| c.username == "alice") {
            break found.code.clone();
        }
        assert!(Instant::now() < deadline, "no code for alice in {codes:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(code.len(), 6, "{code}");
    let (status, body) = confirm(&target, &client_id, "alice", &code);
    assert_eq!(status, 200, "the printed code confirms: {body}");
    let err = target.reset().expect_err("no reset endpoint").to_string();
    assert!(err.contains("no reset endpoint"), "{err}");
    stop_and_check(target);
}

#[test]
fn dropping_a_running_target_kills_its_group() {
    let target = start("moto");
    let pgid = target.pid().expect("local");
    drop(target);
    assert_group_gone(pgid);
}

#[test]
fn a_panic_while_a_target_runs_kills_its_group() {
    let (tx, rx) = mpsc::channel();
    let outcome = std::thread::spawn(move || {
        let target = start("moto");
        tx.send(target.pid().expect("local")).expect("send");
        panic!("a scenario failed while moto ran");
    })
    .join();
    assert!(outcome.is_err(), "the thread panicked");
    assert_group_gone(rx.recv().expect("pid sent before the panic"));
}

const HELPER_ENV: &str = "COGCHECK_TARGETS_TEST_SIGNAL_HELPER";
const HELPER_MARK: &str = "cogcheck-helper-pgid=";

/// Run by `ctrl_c_stops_running_targets_and_exits_130` in a child process.
#[test]
#[ignore = "a helper: run by ctrl_c_stops_running_targets_and_exits_130"]
fn signal_helper_holds_moto_until_interrupted() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return;
    }
    let target = start("moto");
    println!("{HELPER_MARK}{}", target.pid().expect("local"));
    io::stdout().flush().expect("flush");
    std::thread::sleep(Duration::from_secs(120));
    drop(target);
    panic!("the helper was not interrupted");
}

#[test]
fn ctrl_c_stops_running_targets_and_exits_130() {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "signal_helper_holds_moto_until_interrupted",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns the helper");
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // libtest may print "test <name> ... " on the same line first.
            if let Some((_, pgid)) = line.split_once(HELPER_MARK) {
                let _ = tx.send(pgid.trim().parse::<u32>().expect("a pid"));
            }
        }
    });
    // Generous: the first run may install moto first.
    let pgid = match rx.recv_timeout(Duration::from_secs(300)) {
        Ok(pgid) => pgid,
        Err(e) => {
            let _ = child.kill();
            panic!("the helper did not start moto: {e}");
        }
    };
    assert!(!group_gone(pgid), "moto runs in the helper");
    let child_pid = i32::try_from(child.id()).expect("pid fits");
    kill(Pid::from_raw(child_pid), Signal::SIGINT).expect("signals our own child");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the helper did not exit after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130), "exit status after Ctrl-C");
    assert_group_gone(pgid);
    // The handler exits without destructors, so the helper's state directory stays behind
    // until the next start sweeps directories whose runner is gone.
    let helper_dirs = || -> Vec<String> {
        let prefix = format!("cogcheck-moto-{child_pid}-");
        std::fs::read_dir(std::env::temp_dir())
            .expect("temp dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(&prefix))
            .collect()
    };
    // (A parallel test's start may sweep it first.)
    drop(start("moto"));
    assert_eq!(
        helper_dirs(),
        Vec::<String>::new(),
        "swept by the next start"
    );
}

/// A targets file with deliberately broken local targets.
fn broken_targets(dir: &Path) -> Targets {
    let text = r#"
schema = 1
default = "missing-command"

[targets.missing-command]
version = "0"
configuration = "a start command that does not exist"
[targets.missing-command.start]
command = "/nonexistent/cogcheck-no-such-emulator"
args = ["--port", "{port}"]
[targets.missing-command.ready]
probe = "list_user_pools"
timeout_secs = 30

[targets.exits-at-once]
version = "0"
configuration = "a process that dies before it answers"
[targets.exits-at-once.start]
command = "sh"
args = ["-c", "echo boom-on-stderr >&2; exit 3"]
[targets.exits-at-once.ready]
probe = "list_user_pools"
timeout_secs = 30

[targets.never-answers]
version = "0"
configuration = "a process that never listens"
[targets.never-answers.start]
command = "sleep"
args = ["30.4711"]
[targets.never-answers.ready]
probe = "http_get"
path = "/health"
timeout_secs = 1
"#;
    let path = dir.join("targets.toml");
    std::fs::write(&path, text).expect("writes");
    Targets::load(&path).expect("parses")
}

#[test]
fn unknown_target_name_is_a_clear_error() {
    let err = targets().get("mottto").expect_err("unknown").to_string();
    assert!(err.contains("`mottto`"), "{err}");
    for name in ["moto", "ministack", "cognito-local", "fakecloud", "aws"] {
        assert!(err.contains(name), "lists {name}: {err}");
    }
}

#[test]
fn missing_start_command_is_a_clear_error_not_a_hang() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let err = broken_targets(dir.path())
        .get("missing-command")
        .expect("defined")
        .start(&Cache::new(dir.path().join("cache")), false)
        .expect_err("cannot start")
        .to_string();
    assert!(err.contains("target `missing-command`"), "{err}");
    assert!(
        err.contains("/nonexistent/cogcheck-no-such-emulator") && err.contains("not found"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "fails fast");
}

#[test]
fn a_target_that_exits_before_answering_reports_its_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let err = broken_targets(dir.path())
        .get("exits-at-once")
        .expect("defined")
        .start(&Cache::new(dir.path().join("cache")), false)
        .expect_err("dies")
        .to_string();
    assert!(err.contains("exit status 3"), "{err}");
    assert!(err.contains("boom-on-stderr"), "quotes its output: {err}");
    assert!(started.elapsed() < Duration::from_secs(10), "fails fast");
}

/// Whether a process runs whose command line contains `needle`.
fn process_running_with(needle: &str) -> bool {
    std::fs::read_dir("/proc")
        .expect("procfs")
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .any(|cmdline| String::from_utf8_lossy(&cmdline).contains(needle))
}

#[test]
fn a_target_that_never_answers_times_out_and_is_killed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = broken_targets(dir.path())
        .get("never-answers")
        .expect("defined")
        .start(&Cache::new(dir.path().join("cache")), false)
        .expect_err("times out")
        .to_string();
    assert!(err.contains("did not answer GET /health"), "{err}");
    assert!(err.contains("within 1 s"), "{err}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while process_running_with("30.4711") {
        assert!(
            Instant::now() < deadline,
            "the timed-out process still runs"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn fakecloud_is_never_installed_implicitly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = Cache::new(dir.path());
    let targets = targets();
    let fakecloud = targets.get("fakecloud").expect("defined");
    let err = fakecloud
        .start(&cache, false)
        .expect_err("not installed")
        .to_string();
    assert!(err.contains("never installed implicitly"), "{err}");
    assert_eq!(fakecloud.install_state(&cache), InstallState::NotInstalled);
    assert!(!cache.install_dir(fakecloud).exists(), "no install began");
}

#[test]
fn aws_needs_an_explicit_opt_in() {
    if std::env::var("COGCHECK_ALLOW_AWS").as_deref() == Ok("1") {
        return; // The caller opted in; this test must not talk to AWS on its own.
    }
    let err = targets()
        .get("aws")
        .expect("defined")
        .start(&cache(), false)
        .expect_err("no opt-in")
        .to_string();
    assert!(err.contains("COGCHECK_ALLOW_AWS=1"), "{err}");
}
