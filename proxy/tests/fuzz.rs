//! Fuzzing on stable Rust: property tests that feed the proxy random inputs and
//! structure-aware mutations of valid ones. None may panic; errors must be clear values that
//! say where.
//!
//! The proxy's layers are private, so each is driven the way its input arrives: cassettes and
//! rule files from temporary files through [`Proxy::start`] and [`Cassette::load`]; requests
//! (classification, redaction) through a started, recording proxy in front of a small
//! in-process upstream; the admin API over raw TCP, so paths can carry any byte. The cases are
//! bounded and the seed fixed (`fuzz_support::config`); nothing is written into the repository.

#[path = "../../suite/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use cogcheck::model::Model;
use cogcheck_proxy::shadow::NoiseRules;
use cogcheck_proxy::{
    Cassette, CassettePlan, Config, FaultConfig, Mode, Proxy, RecordedExchange, RecordedRequest,
    RecordedResponse, RunningProxy, FORMAT,
};
use fuzz_support::{
    byte_edits, config, damage, from_shape, json_value, mutate, mutations, nasty_string,
};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use rand::SeedableRng;
use serde_json::{json, Value};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// JSON without fractional numbers: serde_json parses some long decimals one ulp off, which
/// is not what a round trip of the cassette format tests.
fn whole_numbers(v: Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => Value::from(n.as_f64().unwrap_or(0.0) as i64),
        Value::Array(a) => Value::Array(a.into_iter().map(whole_numbers).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, whole_numbers(v))).collect())
        }
        other => other,
    }
}

/// A JSON body as a cassette holds it. Not `null`: `"body":null` reads back as no body
/// (serde's `Option`), so the recorder keeps a `null` body as `body_text` instead (found by this
/// round trip; `record::tests::a_null_body_comes_back_as_null`).
fn body() -> impl Strategy<Value = Option<Value>> {
    prop::option::of(
        json_value()
            .prop_map(whole_numbers)
            .prop_filter("null", |v| !v.is_null()),
    )
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((nasty_string(), nasty_string()), 0..4)
}

fn recorded_exchange() -> impl Strategy<Value = RecordedExchange> {
    let request = (
        nasty_string(),
        nasty_string(),
        headers(),
        body(),
        prop::option::of(nasty_string()),
        prop::option::of(nasty_string()),
    )
        .prop_map(
            |(method, path, headers, body, body_text, body_base64)| RecordedRequest {
                method,
                path,
                headers,
                body,
                body_verbatim: None,
                body_text,
                body_base64,
            },
        );
    // A valid exchange line has an HTTP status; the loader refuses any other (see
    // `a_status_no_http_answer_can_have_is_refused_with_its_line`).
    let response = (
        100u16..=999,
        headers(),
        body(),
        prop::option::of(nasty_string()),
        prop::option::of(nasty_string()),
    )
        .prop_map(
            |(status, headers, body, body_text, body_base64)| RecordedResponse {
                status,
                headers,
                body,
                body_verbatim: None,
                body_text,
                body_base64,
            },
        );
    (
        any::<u64>(),
        nasty_string(),
        prop::option::of(nasty_string()),
        prop::option::of(nasty_string()),
        any::<bool>(),
        nasty_string(),
        request,
        prop::option::of(response),
        0u32..10_000_000,
        prop::option::of((nasty_string(), nasty_string())),
    )
        .prop_map(
            |(seq, time, action, target, signed, upstream, request, response, latency, error)| {
                RecordedExchange {
                    seq,
                    time,
                    action,
                    target,
                    signed,
                    upstream,
                    request,
                    response,
                    latency_ms: f64::from(latency) / 1e3,
                    error: error
                        .map(|(kind, message)| cogcheck_proxy::RecordedError { kind, message }),
                    secrets: Default::default(),
                }
            },
        )
}

fn header_line() -> String {
    json!({"cassette": FORMAT, "created": "2025-01-01T00:00:00Z", "proxy": "fuzz"}).to_string()
}

/// A valid cassette: the header and a few exchanges shaped as the recorder writes them.
fn base_cassette() -> Vec<Value> {
    vec![
        serde_json::from_str(&header_line()).expect("JSON"),
        json!({"seq":1,"time":"2025-01-01T00:00:00.123Z","action":"InitiateAuth","signed":false,
            "upstream":"http://127.0.0.1:5000",
            "request":{"method":"POST","path":"/",
                "headers":[["content-type","application/x-amz-json-1.1"],["x-amz-target","AWSCognitoIdentityProviderService.InitiateAuth"]],
                "body":{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"<secret:1>","AuthParameters":{"USERNAME":"<secret:2>","PASSWORD":"<secret:3>"}}},
            "response":{"status":200,"headers":[["content-type","application/x-amz-json-1.1"]],
                "body":{"AuthenticationResult":{"AccessToken":"<secret:4>","ExpiresIn":3600}}},
            "latency_ms":12.5}),
        json!({"seq":2,"time":"2025-01-01T00:00:01Z","target":"DynamoDB_20120810.GetItem","signed":true,
            "upstream":"http://127.0.0.1:5000",
            "request":{"method":"POST","path":"/","headers":[],"body_base64":"AAEC"},
            "response":{"status":400,"headers":[],"body_text":"nope"},
            "latency_ms":1.0}),
        json!({"seq":3,"time":"2025-01-01T00:00:02Z","upstream":"http://127.0.0.1:5000",
            "request":{"method":"GET","path":"/us-east-1_x/.well-known/jwks.json","headers":[]},
            "error":{"kind":"upstream_unreachable","message":"connection refused"},
            "latency_ms":0.5}),
    ]
}

fn lines_text(lines: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

/// A cassette's bytes: damaged, mutated line by line, or anything at all.
fn cassette_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => (any::<prop::sample::Index>(), mutations()).prop_map(|(i, m)| {
            let mut lines = base_cassette();
            let at = i.index(lines.len());
            lines[at] = mutate(&lines[at], &m);
            lines_text(&lines)
        }),
        2 => byte_edits().prop_map(|e| damage(&lines_text(&base_cassette()), &e)),
        1 => prop::collection::vec(recorded_exchange(), 0..3).prop_map(|exs| {
            let mut lines = vec![serde_json::from_str(&header_line()).expect("JSON")];
            lines.extend(exs.iter().map(|e| serde_json::to_value(e).expect("JSON")));
            lines_text(&lines)
        }),
        1 => prop::collection::vec(any::<u8>(), 0..256),
        1 => prop::collection::vec(json_value(), 0..4)
            .prop_map(|v| lines_text(&v)),
    ]
}

/// A cassette error names the file and the line, and says something.
fn check_cassette_error(e: &cogcheck_proxy::Error, file: &Path) -> Result<(), TestCaseError> {
    let message = e.to_string();
    let name = file.display().to_string();
    prop_assert!(message.contains(&name), "{}", message);
    prop_assert!(message.len() > name.len() + 3, "{}", message);
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn cassette_loading_never_panics_and_errors_name_the_line(bytes in cassette_bytes()) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = dir.path().join("fuzz.jsonl");
        std::fs::write(&file, &bytes).expect("the cassette");
        match Cassette::load(&file) {
            Ok(c) => prop_assert!(c.header.is_some() || c.exchanges.is_empty()),
            Err(e) => {
                check_cassette_error(&e, &file)?;
                // Errors on a line say which line (`file:N:`).
                let message = e.to_string();
                let rest = &message[file.display().to_string().len()..];
                prop_assert!(rest.starts_with(':') || rest.starts_with(": "), "{}", message);
            }
        }
    }

    #[test]
    fn cassette_lines_round_trip(exchanges in prop::collection::vec(recorded_exchange(), 1..4)) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = dir.path().join("round.jsonl");
        let mut text = header_line();
        text.push('\n');
        for e in &exchanges {
            text.push_str(&serde_json::to_string(e).expect("an exchange encodes"));
            text.push('\n');
        }
        std::fs::write(&file, &text).expect("the cassette");
        let loaded = Cassette::load(&file).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(!loaded.torn_tail);
        prop_assert_eq!(loaded.exchanges.len(), exchanges.len());
        for (a, b) in exchanges.iter().zip(&loaded.exchanges) {
            prop_assert_eq!(serde_json::to_value(a).expect("JSON"), serde_json::to_value(b).expect("JSON"));
        }
    }
}

/// Starts a proxy on a fuzzed cassette, recording (appending) or replaying; an error must be
/// a value that names the file. A started proxy must answer.
#[test]
fn proxy_starts_on_fuzzed_cassettes_or_says_why() {
    let rt = runtime();
    let mut runner = TestRunner::new(config(96));
    let result = runner.run(&(cassette_bytes(), 0usize..3), |(bytes, plan)| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = dir.path().join("fuzz.jsonl");
        std::fs::write(&file, &bytes).expect("the cassette");
        let mut config = Config::new("http://127.0.0.1:9").expect("an upstream");
        config.cassette = match plan {
            0 => CassettePlan::Record(file.clone()),
            1 => CassettePlan::Replay {
                path: file.clone(),
                mode: Mode::None,
            },
            _ => CassettePlan::Replay {
                path: file.clone(),
                mode: Mode::NewEpisodes,
            },
        };
        config.upstream_timeout = Duration::from_millis(500);
        rt.block_on(async {
            match Proxy::start(config).await {
                Ok(proxy) => {
                    let status = raw_request(
                        proxy.addr(),
                        b"POST",
                        b"/",
                        &[(
                            "x-amz-target",
                            b"AWSCognitoIdentityProviderService.InitiateAuth".as_slice(),
                        )],
                        br#"{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"c"}"#,
                    );
                    prop_assert!(status.is_some(), "the proxy did not answer");
                    // The cassette's own requests, as a client would send them again: the
                    // replayer normalizes both sides, whatever the recorded bodies hold.
                    let recorded = Cassette::load(&file)
                        .map(|c| c.exchanges)
                        .unwrap_or_default();
                    for ex in recorded.iter().take(3) {
                        let target = ex
                            .action
                            .as_ref()
                            .map(|a| format!("AWSCognitoIdentityProviderService.{a}"))
                            .or_else(|| ex.target.clone())
                            .unwrap_or_default()
                            .replace(|c: char| c.is_control(), "");
                        let method = if ex.request.method.bytes().all(|b| b.is_ascii_uppercase())
                            && !ex.request.method.is_empty()
                        {
                            ex.request.method.clone()
                        } else {
                            "POST".into()
                        };
                        let status = raw_request(
                            proxy.addr(),
                            method.as_bytes(),
                            b"/",
                            &[("x-amz-target", target.trim().as_bytes())],
                            &ex.request.body_bytes(),
                        );
                        prop_assert!(
                            status.is_some(),
                            "no answer to the recorded {:?}",
                            ex.request
                        );
                    }
                    proxy.shutdown().await.expect("a clean shutdown");
                }
                Err(e) => check_cassette_error(&e, &file)?,
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1, so that methods, paths and header values can be any bytes.

/// Sends one request and returns the status and the body, or `None` when the connection
/// closed without an answer (what a panicking handler leaves).
fn raw_request_full(
    addr: SocketAddr,
    method: &[u8],
    path: &[u8],
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Option<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut req = Vec::new();
    req.extend_from_slice(method);
    req.push(b' ');
    req.extend_from_slice(path);
    req.extend_from_slice(b" HTTP/1.1\r\nhost: fuzz\r\nconnection: close\r\n");
    for (k, v) in headers {
        req.extend_from_slice(k.as_bytes());
        req.extend_from_slice(b": ");
        req.extend_from_slice(v);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    req.extend_from_slice(body);
    s.write_all(&req).ok()?;
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .strip_prefix("HTTP/1.1 ")?
        .get(..3)?
        .parse::<u16>()
        .ok()?;
    let body = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| answer[i + 4..].to_vec())
        .unwrap_or_default();
    Some((status, body))
}

fn raw_request(
    addr: SocketAddr,
    method: &[u8],
    path: &[u8],
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Option<u16> {
    raw_request_full(addr, method, path, headers, body).map(|(s, _)| s)
}

// ---------------------------------------------------------------------------------------------
// Classification and redaction, through a recording proxy in front of a small upstream.

/// A JWT-shaped credential, which must never reach a cassette wherever it appears.
fn jwt(seed: u64) -> String {
    format!("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYW5hcnk{seed}In0.c2lnbmF0dXJl")
}

/// The upstream: answers a known action with a body built from its output shape (secrets
/// planted where the model marks them, deterministic from `x-fuzz-seed`), anything else with
/// an error whose message carries a JWT.
async fn upstream() -> SocketAddr {
    use http_body_util::Full;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    |req: http::Request<hyper::body::Incoming>| async move {
                        let seed: u64 = req
                            .headers()
                            .get("x-fuzz-seed")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        let (status, body) = match answer_body(req.headers(), seed) {
                            Some(v) => (200, v),
                            None => (
                                400,
                                json!({"__type": "NotAuthorizedException", "message": format!("bad token {}", jwt(seed))}),
                            ),
                        };
                        let mut resp =
                            http::Response::new(Full::new(bytes::Bytes::from(body.to_string())));
                        *resp.status_mut() = http::StatusCode::from_u16(status).expect("a status");
                        resp.headers_mut().insert(
                            "content-type",
                            http::HeaderValue::from_static("application/x-amz-json-1.1"),
                        );
                        resp.headers_mut()
                            .insert("x-amzn-requestid", http::HeaderValue::from_static("fuzz"));
                        Ok::<_, std::convert::Infallible>(resp)
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// The known action's output, built from the model with secrets planted; `None` otherwise.
fn answer_body(headers: &http::HeaderMap, seed: u64) -> Option<Value> {
    let target = headers.get("x-amz-target")?.to_str().ok()?;
    let action = cogcheck::wire::action_from_target(target)?;
    let op = Model::get().operations.get(action)?;
    let output = op.output.as_deref()?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    Some(from_shape(output, &mut rng, 0, false, &mut Vec::new()))
}

fn output_canaries(action: &str, seed: u64) -> Vec<String> {
    let mut canaries = Vec::new();
    if let Some(output) = Model::get()
        .operations
        .get(action)
        .and_then(|op| op.output.as_deref())
    {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        from_shape(output, &mut rng, 0, false, &mut canaries);
    }
    canaries
}

fn actions() -> &'static [String] {
    static A: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    A.get_or_init(|| Model::get().operations.keys().cloned().collect())
}

#[derive(Debug, Clone)]
enum Body {
    /// Built from the action's input shape, secrets planted where the model marks them.
    FromShape,
    /// Secrets in members named as secrets (what redaction does without a model).
    Named,
    /// Anything.
    Bytes(Vec<u8>),
    Json(Value),
}

#[derive(Debug, Clone)]
struct Request {
    method: Vec<u8>,
    target: Option<Vec<u8>>,
    authorization: Option<Vec<u8>>,
    body: Body,
    jwt_in_body: bool,
    seed: u64,
}

/// Header value bytes hyper accepts (no CR, LF or NUL; no surrounding blanks, which it trims).
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        any::<u8>().prop_filter("a header byte", |b| {
            *b == b'\t' || (*b >= 0x20 && *b != 0x7f)
        }),
        1..40,
    )
    .prop_map(|v| {
        let s: Vec<u8> = v
            .into_iter()
            .skip_while(|b| *b == b' ' || *b == b'\t')
            .collect();
        let end = s
            .iter()
            .rposition(|b| *b != b' ' && *b != b'\t')
            .map_or(0, |i| i + 1);
        s[..end].to_vec()
    })
    .prop_filter("not empty", |v| !v.is_empty())
}

fn target() -> impl Strategy<Value = Option<Vec<u8>>> {
    let known = any::<prop::sample::Index>().prop_map(|i| {
        let a = &actions()[i.index(actions().len())];
        Some(format!("AWSCognitoIdentityProviderService.{a}").into_bytes())
    });
    prop_oneof![
        4 => known.clone(),
        // A known target, damaged: case, a byte, a cut.
        2 => (known, byte_edits()).prop_map(|(t, e)| {
            let d = damage(&t.unwrap_or_default(), &e);
            Some(d).filter(|d| !d.is_empty() && !d.iter().any(|b| matches!(b, b'\r' | b'\n' | 0 | 0x7f) || (*b < 0x20 && *b != b'\t')))
                .map(|d| String::from_utf8_lossy(&d).trim().as_bytes().to_vec())
                .filter(|d| !d.is_empty())
        }),
        1 => prop::option::of(header_bytes()),
        1 => Just(Some(b"AWSCognitoIdentityProviderService.".to_vec())),
        1 => Just(Some("AWSCognitoIdentityProviderService.Initiate\u{e9}Auth".as_bytes().to_vec())),
    ]
}

fn authorization() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        (nasty_string(), nasty_string()).prop_map(|(region, service)| {
            let clean = |s: String| s.replace(['\r', '\n', '\0', ','], "").chars().filter(|c| !c.is_control()).collect::<String>();
            Some(format!(
                "AWS4-HMAC-SHA256 Credential=AKIDCANARYAUTH/20250101/{}/{}/aws4_request, SignedHeaders=host, Signature=CANARYSIGX",
                clean(region), clean(service)
            ).into_bytes())
        }),
        header_bytes().prop_map(Some),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    let method = prop_oneof![
        6 => Just(b"POST".to_vec()),
        1 => Just(b"GET".to_vec()),
        1 => Just(b"PUT".to_vec()),
        1 => "[A-Z]{1,7}".prop_map(String::into_bytes),
    ];
    let body = prop_oneof![
        3 => Just(Body::FromShape),
        2 => Just(Body::Named),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Body::Bytes),
        1 => json_value().prop_map(Body::Json),
    ];
    (
        method,
        target(),
        authorization(),
        body,
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(method, target, authorization, body, jwt_in_body, seed)| Request {
                method,
                target,
                authorization,
                body,
                jwt_in_body,
                seed,
            },
        )
}

/// What the recorder must have understood of a request: its action, or its raw target.
fn expected_action(req: &Request) -> Option<String> {
    if req.method != b"POST" {
        return None;
    }
    let t = String::from_utf8_lossy(req.target.as_deref()?).into_owned();
    let a = cogcheck::wire::action_from_target(&t)?;
    Model::get()
        .operations
        .contains_key(a)
        .then(|| a.to_string())
}

#[test]
fn recorded_requests_are_classified_and_keep_no_secret() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cassette = dir.path().join("traffic.jsonl");
    let proxy: RunningProxy = rt.block_on(async {
        let up = upstream().await;
        let mut config = Config::new(&format!("http://{up}")).expect("an upstream");
        config.cassette = CassettePlan::Record(cassette.clone());
        Proxy::start(config).await.expect("the proxy starts")
    });
    let addr = proxy.addr();
    let mut runner = TestRunner::new(config(256));
    let result = runner.run(&request(), |req| {
        let action = expected_action(&req);
        let mut canaries = Vec::new();
        let mut body = match &req.body {
            Body::FromShape => {
                let shape = action
                    .as_deref()
                    .and_then(|a| Model::get().operations.get(a))
                    .and_then(|op| op.input.as_deref());
                match shape {
                    Some(s) => {
                        let mut rng = rand::rngs::StdRng::seed_from_u64(req.seed);
                        from_shape(s, &mut rng, 0, false, &mut canaries)
                    }
                    None => json!({}),
                }
            }
            Body::Named => {
                let pw = format!("CANARYPW{}X", req.seed);
                // Without a model only names say what is secret; with one, the model does.
                if action.is_none() {
                    canaries.push(pw.clone());
                }
                json!({"password": pw, "nested": [{"client_secret": pw}]})
            }
            Body::Bytes(_) => Value::Null,
            Body::Json(v) => v.clone(),
        };
        let jwt = jwt(req.seed);
        if req.jwt_in_body {
            if let Value::Object(o) = &mut body {
                o.insert("Note".into(), Value::String(format!("sent {jwt} here")));
            }
        }
        let bytes = match &req.body {
            Body::Bytes(b) => b.clone(),
            _ => body.to_string().into_bytes(),
        };
        let seed = req.seed.to_string();
        let mut headers: Vec<(&str, &[u8])> = vec![
            ("content-type", b"application/x-amz-json-1.1"),
            ("x-fuzz-seed", seed.as_bytes()),
        ];
        if let Some(t) = &req.target {
            headers.push(("x-amz-target", t));
        }
        if let Some(a) = &req.authorization {
            headers.push(("authorization", a));
        }
        let before = std::fs::read(&cassette).map(|b| b.len()).unwrap_or(0);
        let status = raw_request(addr, &req.method, b"/", &headers, &bytes);
        prop_assert!(status.is_some(), "no answer to {:?}", req);
        let text = std::fs::read(&cassette).expect("the cassette");
        let line = String::from_utf8_lossy(&text[before..]).into_owned();
        let recorded: Value = serde_json::from_str(line.trim())
            .map_err(|e| TestCaseError::fail(format!("not one exchange ({e}): {line}")))?;
        prop_assert_eq!(
            recorded["action"].as_str().map(str::to_string),
            action.clone(),
            "{}",
            line
        );
        let is_api = req.method == b"POST" && req.target.is_some();
        prop_assert_eq!(
            recorded.get("target").is_some(),
            is_api && action.is_none(),
            "{}",
            line
        );
        // Secrets: those planted in the request, those the upstream planted in its answer,
        // JWTs anywhere, and the request's signature.
        if let Some(a) = &action {
            canaries.extend(output_canaries(a, req.seed));
        }
        canaries.push(jwt.clone());
        canaries.push("CANARYSIGX".into());
        canaries.push("AKIDCANARYAUTH".into());
        for c in &canaries {
            prop_assert!(
                !line.contains(c.as_str()),
                "{} reached the cassette: {}",
                c,
                line
            );
        }
        Ok(())
    });
    rt.block_on(proxy.shutdown()).expect("a clean shutdown");
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Fault rules: files at start, and bodies of `POST /faults`

/// JSON as TOML, where TOML can say it (`null` has no TOML form; it becomes a string).
fn to_toml(v: &Value) -> toml::Value {
    match v {
        Value::Null => toml::Value::String("null".into()),
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => n
            .as_i64()
            .map(toml::Value::Integer)
            .unwrap_or_else(|| toml::Value::Float(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(a) => toml::Value::Array(a.iter().map(to_toml).collect()),
        Value::Object(o) => {
            toml::Value::Table(o.iter().map(|(k, v)| (k.clone(), to_toml(v))).collect())
        }
    }
}

fn toml_fixture(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("a fixture");
    let t: toml::Value = toml::from_str(&text).expect("TOML");
    serde_json::to_value(t).expect("JSON")
}

fn rule_files() -> &'static [Value] {
    static F: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures().join("faults"))
            .expect("fixtures/faults")
            .map(|e| e.expect("an entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        paths.iter().map(|p| toml_fixture(p)).collect()
    })
}

/// A rules file's text and whether it is TOML: mutated fixtures, damaged ones, or anything.
fn rules_file() -> impl Strategy<Value = (Vec<u8>, bool)> {
    let mutated = (any::<prop::sample::Index>(), mutations()).prop_map(|(i, m)| {
        let files = rule_files();
        mutate(&files[i.index(files.len())], &m)
    });
    prop_oneof![
        3 => (mutated.clone(), any::<bool>()).prop_map(|(v, as_toml)| {
            if as_toml {
                // A table survives as TOML; anything else is written as it is, and must fail.
                let text = toml::to_string(&to_toml(&v)).unwrap_or_else(|_| v.to_string());
                (text.into_bytes(), true)
            } else {
                (v.to_string().into_bytes(), false)
            }
        }),
        1 => (any::<prop::sample::Index>(), byte_edits()).prop_map(|(i, e)| {
            let files = rule_files();
            let text = toml::to_string(&to_toml(&files[i.index(files.len())])).expect("TOML");
            (damage(text.as_bytes(), &e), true)
        }),
        1 => (prop::collection::vec(any::<u8>(), 0..128), any::<bool>()),
    ]
}

#[test]
fn fault_rule_files_load_or_say_where() {
    let rt = runtime();
    let mut runner = TestRunner::new(config(96));
    let result = runner.run(&rules_file(), |(bytes, is_toml)| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = dir
            .path()
            .join(if is_toml { "rules.toml" } else { "rules.json" });
        std::fs::write(&file, &bytes).expect("the rules file");
        let mut config = Config::new("http://127.0.0.1:9").expect("an upstream");
        config.faults = FaultConfig {
            rules: Some(file.clone()),
            ..FaultConfig::default()
        };
        rt.block_on(async {
            match Proxy::start(config).await {
                Ok(proxy) => proxy
                    .shutdown()
                    .await
                    .map(|_| ())
                    .map_err(|e| TestCaseError::fail(e.to_string()))?,
                Err(e) => {
                    let message = e.to_string();
                    let name = file.display().to_string();
                    prop_assert!(message.contains(&name), "{}", message);
                    prop_assert!(message.len() > name.len() + 3, "{}", message);
                }
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// The admin API

fn admin_path() -> impl Strategy<Value = Vec<u8>> {
    let fixed = prop::sample::select(vec![
        "/health",
        "/stats",
        "/metrics",
        "/cassette",
        "/faults",
        "/faults/",
        "/faults/reset",
        "/faults/slow",
        "/faultsé",
        "/faults//",
        "/",
        "*",
        "/faults?x=1",
    ])
    .prop_map(|p| p.as_bytes().to_vec());
    prop_oneof![
        3 => fixed,
        // A rule id of any characters, percent-encoded as a client would send it.
        2 => nasty_string().prop_map(|id| {
            let mut p = b"/faults/".to_vec();
            for b in id.bytes() {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    p.push(b);
                } else {
                    p.extend_from_slice(format!("%{b:02X}").as_bytes());
                }
            }
            p
        }),
        // Raw bytes, non-ASCII included, as a broken client would send them.
        1 => prop::collection::vec(any::<u8>().prop_filter("not blank", |b| !matches!(b, b' ' | b'\r' | b'\n')), 1..24)
            .prop_map(|mut p| { p.insert(0, b'/'); p }),
        1 => nasty_string().prop_map(|s| format!("/faults/{s}").replace([' ', '\r', '\n'], "").into_bytes()),
    ]
}

fn admin_body() -> impl Strategy<Value = Vec<u8>> {
    let rule = (
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        mutations(),
    )
        .prop_map(|(f, r, m)| {
            let files = rule_files();
            let rules = files[f.index(files.len())]["rules"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let one = rules
                .get(r.index(rules.len().max(1)))
                .cloned()
                .unwrap_or(json!({}));
            mutate(&one, &m)
        });
    prop_oneof![
        Just(Vec::new()),
        rule.clone().prop_map(|r| r.to_string().into_bytes()),
        prop::collection::vec(rule.clone(), 0..3)
            .prop_map(|r| Value::Array(r).to_string().into_bytes()),
        rule.prop_map(|r| json!({"rules": [r]}).to_string().into_bytes()),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

#[test]
fn admin_api_answers_everything_with_a_clear_value() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let rules = dir.path().join("rules.toml");
    std::fs::copy(fixtures().join("faults/bad-network.toml"), &rules).expect("a rules file");
    let proxy = rt.block_on(async {
        let mut config = Config::new("http://127.0.0.1:9").expect("an upstream");
        config.admin = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        config.cassette = CassettePlan::Record(dir.path().join("admin.jsonl"));
        config.faults = FaultConfig {
            rules: Some(rules),
            allow_header: vec!["slow".into()],
            ..FaultConfig::default()
        };
        Proxy::start(config).await.expect("the proxy starts")
    });
    let admin = proxy.admin_addr().expect("an admin port");
    let method = prop_oneof![
        prop::sample::select(vec!["GET", "POST", "DELETE", "PUT", "HEAD", "OPTIONS"])
            .prop_map(|m| m.as_bytes().to_vec()),
        "[A-Z]{1,8}".prop_map(String::into_bytes),
    ];
    let mut runner = TestRunner::new(config(384));
    let result = runner.run(
        &(method, admin_path(), admin_body()),
        |(method, path, body)| {
            let answer = raw_request_full(
                admin,
                &method,
                &path,
                &[("content-type", b"application/json")],
                &body,
            );
            let Some((status, body)) = answer else {
                return Err(TestCaseError::fail(
                    "the admin API closed the connection without an answer",
                ));
            };
            if status >= 400 && method != b"HEAD" {
                if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    let e = v["error"].as_str().unwrap_or("");
                    prop_assert!(!e.trim().is_empty(), "{} without a reason: {}", status, v);
                }
            }
            // Still serving, and the proxy's own port too.
            prop_assert_eq!(raw_request(admin, b"GET", b"/health", &[], b""), Some(200));
            Ok(())
        },
    );
    rt.block_on(proxy.shutdown()).expect("a clean shutdown");
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Compare mode's noise rules

fn noise_text() -> impl Strategy<Value = String> {
    let base: Value = {
        let t: toml::Value =
            toml::from_str(cogcheck_proxy::shadow::noise::DEFAULT_RULES).expect("TOML");
        serde_json::to_value(t).expect("JSON")
    };
    let base2 = base.clone();
    prop_oneof![
        3 => mutations().prop_map(move |m| {
            let v = mutate(&base, &m);
            toml::to_string(&to_toml(&v)).unwrap_or_else(|_| v.to_string())
        }),
        // One rule with a fuzzed path, pattern or kind: what the rule parsers read.
        2 => (nasty_string(), prop::sample::select(vec!["ignore", "sort", "replace", "placeholder", "x"]), nasty_string(), nasty_string())
            .prop_map(|(path, kind, pattern, by)| {
                let v = json!({"version": 1, "rule": [{
                    "path": path, "kind": kind, "reason": "fuzz", "pattern": pattern, "with": "w",
                    "by": by, "value": "v"
                }]});
                toml::to_string(&to_toml(&v)).expect("TOML")
            }),
        1 => byte_edits().prop_map(move |e| {
            let text = toml::to_string(&to_toml(&base2)).expect("TOML");
            String::from_utf8_lossy(&damage(text.as_bytes(), &e)).into_owned()
        }),
        1 => any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config(384))]

    #[test]
    fn noise_rules_parse_or_say_where_and_apply_to_anything(
        text in noise_text(),
        bodies in prop::collection::vec(json_value(), 1..3),
        action in prop::sample::select(actions()),
    ) {
        let origin = Path::new("fuzz-noise.toml");
        match NoiseRules::parse(&text, origin) {
            Ok(rules) => {
                for mut b in bodies {
                    rules.apply(&action, &mut b);
                }
            }
            Err(e) => {
                let message = e.to_string();
                prop_assert!(message.starts_with("fuzz-noise.toml: "), "{}", message);
                prop_assert!(message.len() > "fuzz-noise.toml: ".len(), "{}", message);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Crashes the fuzzing found, each with its exact input.

/// Starts a recording proxy on a cassette with `text`; the answer of `Proxy::start`.
fn record_onto(
    rt: &tokio::runtime::Runtime,
    text: &str,
) -> (
    tempfile::TempDir,
    PathBuf,
    cogcheck_proxy::Result<RunningProxy>,
) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("fuzz.jsonl");
    std::fs::write(&file, text).expect("the cassette");
    let mut config = Config::new("http://127.0.0.1:9").expect("an upstream");
    config.cassette = CassettePlan::Record(file.clone());
    config.upstream_timeout = Duration::from_millis(500);
    let started = rt.block_on(Proxy::start(config));
    (dir, file, started)
}

/// `proxy_starts_on_fuzzed_cassettes_or_says_why`, minimized: a placeholder numbered u64::MAX
/// (here in a header name) made `Recorder::open` compute `max_placeholder + 1` and panic.
#[test]
fn regression_recording_after_placeholder_u64_max_is_refused_not_a_panic() {
    let text = concat!(
        r#"{"cassette":"cogcheck-cassette/1","created":"2025-01-01T00:00:00Z","proxy":"fuzz"}"#,
        "\n",
        r#"{"seq":0,"time":"","signed":false,"upstream":"","request":{"method":"","path":"","headers":[["<secret:18446744073709551615>",""]]},"latency_ms":0.0}"#,
        "\n"
    );
    let (_dir, file, started) = record_onto(&runtime(), text);
    let e = started.err().expect("appending is refused");
    let message = e.to_string();
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("18446744073709551615"), "{message}");
    // Refused before the file was touched.
    assert_eq!(std::fs::read_to_string(&file).expect("the cassette"), text);
}

/// The same overflow through `seq` (`max_seq + 1`), found by reading the line next to the
/// fuzzer's crash: refused the same way.
#[test]
fn regression_recording_after_seq_u64_max_is_refused_not_a_panic() {
    let mut lines = base_cassette();
    lines[1]["seq"] = json!(u64::MAX);
    let text = String::from_utf8(lines_text(&lines)).expect("UTF-8");
    let (_dir, file, started) = record_onto(&runtime(), &text);
    let message = started.err().expect("appending is refused").to_string();
    assert!(
        message.contains(&file.display().to_string()) && message.contains("`seq`"),
        "{message}"
    );
}

/// One number left: the writer uses it, and the next exchange must not panic its thread
/// (`next_seq += 1` overflowed); the proxy answers and the cassette still loads.
#[test]
fn regression_recording_at_the_last_seq_keeps_answering() {
    let mut lines = base_cassette();
    lines[1]["seq"] = json!(u64::MAX - 1);
    let text = String::from_utf8(lines_text(&lines)).expect("UTF-8");
    let rt = runtime();
    let (_dir, file, started) = record_onto(&rt, &text);
    let proxy = started.expect("one number is left");
    for _ in 0..2 {
        let status = raw_request(proxy.addr(), b"GET", b"/health", &[], b"");
        assert!(status.is_some(), "the proxy answers");
    }
    rt.block_on(proxy.shutdown()).expect("a clean shutdown");
    let c = Cassette::load(&file).expect("the cassette loads");
    assert_eq!(c.exchanges.last().map(|e| e.seq), Some(u64::MAX));
}

/// A recorded status outside 100-999 cannot be turned back into an HTTP answer by replay or
/// compare: the loader refuses it and names the line.
#[test]
fn a_status_no_http_answer_can_have_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    for status in [0u16, 99, 1000, u16::MAX] {
        let path = dir.path().join(format!("s{status}.jsonl"));
        std::fs::write(
            &path,
            format!(
                "{{\"cassette\":\"cogcheck-cassette/1\"}}\n{{\"seq\":1,\"time\":\"t\",\"signed\":false,\"upstream\":\"u\",\"request\":{{\"method\":\"POST\",\"path\":\"/\",\"headers\":[]}},\"response\":{{\"status\":{status},\"headers\":[]}},\"latency_ms\":1}}\n"
            ),
        )
        .unwrap();
        let err = cogcheck_proxy::Cassette::load(&path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(":2:") && err.contains("not an HTTP status"),
            "{status}: {err}"
        );
    }
}
