//! The verdicts a user relies on, measured against real servers:
//!
//! - a server that answers 404 or 501 to everything fails `cogcheck run --endpoint` and the
//!   `cargo test` harness with a message naming the likely cause (it is not a pass);
//! - a deviation no SDK depends on (no `x-amzn-RequestId`) leaves every behaviour verdict as
//!   moto's expectations file (held to moto itself by the conformance harness) predicts, and
//!   `--strict` fails on it;
//! - an answer altered at a step other than the known failure of an expected-failure scenario
//!   (a required member dropped) makes that scenario `changed`.
//!
//! The altering proxy is a few lines of hyper in front of moto: small enough to trust, and
//! independent of cogcheck-proxy (the suite never depends on the proxy crate).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use cogcheck::expectations::{Strictness, Verdict};
use cogcheck::finding::{Axis, CheckKind, ScenarioResult};
use cogcheck::run::{RunConfig, Runner};
use cogcheck::scenario::{self, Scenario};
use cogcheck::session::{Session, SessionOptions};

/// How the proxy alters an answer: given the action and the answer's headers and body.
type Alter = dyn Fn(&str, &mut http::HeaderMap, &mut Vec<u8>) + Send + Sync;

/// Serves every request with a fixed status and an empty body.
async fn stub(status: u16) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = service_fn(move |_req: Request<hyper::body::Incoming>| async move {
                    Ok::<_, Infallible>(
                        Response::builder()
                            .status(status)
                            .body(Full::new(Bytes::from_static(b"not here")))
                            .unwrap(),
                    )
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

/// Forwards every request to `upstream` and alters the answer with `alter`.
async fn altering_proxy(upstream: String, alter: Arc<Alter>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client: hyper_util::client::legacy::Client<_, Full<Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let client = client.clone();
            let upstream = upstream.clone();
            let alter = Arc::clone(&alter);
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let client = client.clone();
                    let upstream = upstream.clone();
                    let alter = Arc::clone(&alter);
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let action = parts
                            .headers
                            .get("x-amz-target")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|t| t.rsplit('.').next())
                            .unwrap_or("")
                            .to_string();
                        let uri: http::Uri =
                            format!("{upstream}{}", parts.uri.path()).parse().unwrap();
                        let mut out = Request::builder().method(parts.method).uri(uri);
                        for (k, v) in &parts.headers {
                            if k != "host" {
                                out = out.header(k, v);
                            }
                        }
                        let answer = client
                            .request(out.body(Full::new(body)).unwrap())
                            .await
                            .unwrap();
                        let (mut parts, body) = answer.into_parts();
                        let mut bytes = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes().to_vec())
                            .unwrap_or_default();
                        alter(&action, &mut parts.headers, &mut bytes);
                        parts.headers.remove("content-length");
                        Ok::<_, Infallible>(Response::from_parts(
                            parts,
                            Full::new(Bytes::from(bytes)),
                        ))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

fn client(endpoint: &str) -> cogcheck::client::Client {
    cogcheck::client::Client::new(cogcheck::client::ClientConfig::local(endpoint))
        .expect("a client for the test's own proxy")
}

fn scenarios() -> Vec<Scenario> {
    scenario::load_dir(&scenario::default_dir()).unwrap_or_else(|e| panic!("{e:?}"))
}

/// The conformance harness binary `cargo test` built beside this one.
fn conformance_binary() -> std::path::PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    std::fs::read_dir(&deps)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("conformance-") && !n.contains('.'))
        })
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .expect("cargo test builds the conformance harness beside this test")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_implements_nothing_is_a_harness_error_not_a_pass() {
    for status in [501, 404] {
        let addr = stub(status).await;
        let endpoint = format!("http://{addr}");
        let run = tokio::task::spawn_blocking({
            let endpoint = endpoint.clone();
            move || {
                Command::new(env!("CARGO_BIN_EXE_cogcheck"))
                    .args(["run", "--endpoint", &endpoint, "--no-progress"])
                    .args(["--results", "/dev/null"])
                    .output()
                    .unwrap()
            }
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "HTTP {status}: cogcheck run passed");
        assert!(
            stderr.contains("probably not a Cognito User Pools API")
                && stderr.contains(&format!("HTTP {status}")),
            "HTTP {status}: {stderr}"
        );

        let harness = tokio::task::spawn_blocking({
            let endpoint = endpoint.clone();
            move || {
                Command::new(conformance_binary())
                    .env("COGCHECK_ENDPOINT", &endpoint)
                    .env_remove("COGCHECK_TARGET")
                    .arg("user-pools::")
                    .output()
                    .unwrap()
            }
        })
        .await
        .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&harness.stdout),
            String::from_utf8_lossy(&harness.stderr)
        );
        assert!(
            !harness.status.success(),
            "HTTP {status}: cargo test passed\n{text}"
        );
        assert!(
            text.contains("probably not a Cognito User Pools API"),
            "HTTP {status}: {text}"
        );
    }
}

/// Runs `scenarios` through `endpoint` with a fresh prefix.
async fn run(
    endpoint: &str,
    config: &RunConfig,
    scenarios: Vec<Scenario>,
    session: &Session,
    strictness: Strictness,
) -> Vec<(ScenarioResult, cogcheck::expectations::Judgement)> {
    let mut config = config.clone();
    config.run_prefix = RunConfig::new_prefix();
    config.jobs = 4;
    let runner = Arc::new(Runner::new(client(endpoint), config));
    runner
        .run_all(scenarios, &session.expectations, strictness, |_| {})
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosmetic_deviations_do_not_change_behaviour_and_new_ones_are_changed() {
    let mut session = tokio::task::spawn_blocking(|| {
        Session::open(SessionOptions {
            target: Some("moto".into()),
            endpoint: None,
            jobs: 4,
            allow_slow_install: false,
            record: None,
        })
        .expect("moto starts")
    })
    .await
    .unwrap();
    let moto = session.info.endpoint.clone();
    let config = session.config.clone();
    let all = scenarios();

    // No request id on any answer: what botocore, the JS SDK v3 and the Rust SDK treat as
    // optional metadata.
    let strip: Arc<Alter> = Arc::new(|_, headers, _| {
        headers.remove("x-amzn-requestid");
    });
    let stripped = format!("http://{}", altering_proxy(moto.clone(), strip).await);
    // moto's own behaviour is its expectations file (the conformance harness holds moto to
    // it in the same `cargo test`): without request ids every behaviour verdict must still be
    // what that file predicts, so none is a failure.
    // The areas that exercise sign-in, tokens, codes and attributes, successes and errors
    // alike (about a third of the suite, to keep CI within its time).
    let areas = [
        "auth",
        "sign-up",
        "users",
        "tokens",
        "passwords",
        "attributes",
    ];
    let chosen: Vec<Scenario> = all
        .iter()
        .filter(|s| areas.contains(&s.area.as_str()))
        .cloned()
        .collect();
    assert!(chosen.len() > 80, "{} scenarios in {areas:?}", chosen.len());
    let through = run(
        &stripped,
        &config,
        chosen.clone(),
        &session,
        Strictness::Behaviour,
    )
    .await;
    assert_eq!(through.len(), chosen.len());
    let differing: Vec<String> = through
        .iter()
        .filter(|(_, j)| j.behaviour.is_failure() || j.verdict.is_failure())
        .map(|(r, j)| {
            format!(
                "{}: without request ids {} / {}",
                r.name,
                j.behaviour.name(),
                j.verdict.name()
            )
        })
        .collect();
    assert!(differing.is_empty(), "{}", differing.join("\n"));
    assert!(through.iter().any(|(r, _)| r
        .on(Axis::Protocol)
        .any(|f| f.check == CheckKind::RequestId)));
    // --strict judges every axis: the missing request ids are new protocol findings.
    let strict = run(
        &stripped,
        &config,
        all.clone(),
        &session,
        Strictness::Strict,
    )
    .await;
    let failing = strict
        .iter()
        .filter(|(_, j)| j.verdict.is_failure())
        .count();
    assert!(
        failing > 0,
        "no scenario failed --strict without request ids"
    );

    // SignUp's answer without its required UserConfirmed, in expected-failure scenarios whose
    // known failures are at other steps: each becomes `changed` on the shape axis (and under
    // --strict), and the finding names the step and the member.
    let drop: Arc<Alter> = Arc::new(|action, _, body| {
        if action == "SignUp" {
            if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(body) {
                if let Some(o) = v.as_object_mut() {
                    o.remove("UserConfirmed");
                }
                *body = serde_json::to_vec(&v).unwrap();
            }
        }
    });
    let dropped = format!("http://{}", altering_proxy(moto.clone(), drop).await);
    let chosen: Vec<Scenario> = all
        .iter()
        .filter(|s| {
            let Some(entries) = session.expectations.failures.get(&s.name()) else {
                return false;
            };
            s.steps.iter().any(|st| {
                st.label() == "SignUp" && !entries.iter().any(|k| k.step == Some(st.index))
            })
        })
        .cloned()
        .collect();
    assert!(
        !chosen.is_empty(),
        "moto has an expected failure beside a SignUp step"
    );
    let altered = run(&dropped, &config, chosen, &session, Strictness::Strict).await;
    for (r, j) in &altered {
        assert!(
            matches!(j.shape, Verdict::Changed { .. })
                && matches!(j.verdict, Verdict::Changed { .. }),
            "{}: shape {:?}, verdict {:?}",
            r.name,
            j.shape,
            j.verdict
        );
        assert!(
            j.new_findings(r, Axis::Shape)
                .any(|f| f.check == CheckKind::MissingRequired && f.path.contains("UserConfirmed")),
            "{}: {:?}",
            r.name,
            r.findings
        );
    }
    tokio::task::spawn_blocking(move || session.stop())
        .await
        .unwrap()
        .unwrap();
}

/// moto names an action it lacks only in its log, just after a bare HTTP 500. The runner reads
/// the log once per action and run, and every later bare 500 of that action gets the same verdict
/// without waiting again: here the log loses its line after the first read, and the second
/// scenario of the same action is still `unsupported`, while an action the log never names
/// deviates (an implemented action failing) once its wait ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_read_once_per_action_and_run() {
    use cogcheck::finding::StepStatus;

    let endpoint = format!("http://{}", stub(500).await);
    let dir = std::env::temp_dir().join(format!("cogcheck-log-memo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("target.log");
    std::fs::write(
        &log,
        "NotImplementedError: The get_csv_header action has not been implemented\n",
    )
    .unwrap();
    let scenario = |id: &str, action: &str| {
        let file = dir.join(format!("{id}.json"));
        let text = serde_json::json!({
            "id": id,
            "summary": "one call against a server that fails it",
            "covers": [action],
            "source": "https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/Welcome.html",
            "steps": [{"action": action, "with": {"UserPoolId": "us-east-1_memo"}}]
        });
        std::fs::write(&file, text.to_string()).unwrap();
        scenario::load_file(&file).unwrap_or_else(|e| panic!("{e:?}"))
    };
    let config = RunConfig {
        run_prefix: RunConfig::new_prefix(),
        region: "us-east-1".into(),
        capabilities: Vec::new(),
        codes: None,
        sms_role: None,
        log_path: Some(log.clone()),
        unsupported_log: Some("The {action_snake} action has not been implemented".into()),
        log_verdicts: Default::default(),
        jobs: 1,
        clock: cogcheck::clock::RunClock::Real,
    };
    let runner = Arc::new(Runner::new(client(&endpoint), config));
    let expectations = cogcheck::expectations::Expectations::empty("stub");
    let mut statuses = Vec::new();
    for (id, action) in [
        ("first", "GetCSVHeader"),
        ("again", "GetCSVHeader"),
        ("other", "DescribeUserPool"),
    ] {
        let results = runner
            .run_all(
                vec![scenario(id, action)],
                &expectations,
                Strictness::Behaviour,
                |_| {},
            )
            .await;
        statuses.push(results[0].0.steps[0].status);
        // After the first read the log no longer names the action: only the memo can.
        std::fs::write(&log, "").unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        statuses,
        [
            StepStatus::Unsupported,
            StepStatus::Unsupported,
            StepStatus::Deviated
        ]
    );
}
