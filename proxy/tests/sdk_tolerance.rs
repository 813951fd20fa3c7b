//! Which shape and protocol deviations a real SDK lets an application see.
//!
//! cogcheck grades every answer on three axes: behaviour, shape (the service model's output
//! checks) and protocol (awsJson1_1 framing). A shape or protocol finding matters only as much
//! as an application can notice it, and applications see Cognito through an SDK. So the
//! compatibility report grades those findings by what real SDKs do with them, and this test is
//! the evidence: for each kind of deviation it serves a realistic conforming Cognito answer and
//! the same answer with that one deviation, drives boto3 and the JavaScript SDK v3 against
//! both, and classifies what the application got from the deviant answer:
//!
//! - `same`: exactly what it got from the conforming one (parsed output, or error class, code
//!   and message, and the request id; and as many requests with the SDK's default retries);
//! - `different`: no exception where the conforming answer parsed (or the same kind of service
//!   error where it raised one), but something else: a value, a type, an error code, a missing
//!   request id, extra retries;
//! - `raised`: an exception where the conforming answer parsed, or a non-service exception
//!   (a parse error) where it raised a modeled one.
//!
//! The result must equal `fixtures/sdk-tolerance.json` (`cogcheck-sdk-tolerance/1`);
//! `COGCHECK_UPDATE_TOLERANCE=1` rewrites that file from the measurement instead. The drivers
//! are `tests/retry/tolerance_boto3.py` (`$COGCHECK_PYTHON` or `python3`, with boto3) and
//! `tests/retry/tolerance_js.mjs` (the JS SDK pinned in `tests/retry/package-lock.json`; `npm
//! ci` runs when `node_modules` is missing). Like `faults_retry.rs`, the test fails rather than
//! skips when one of them cannot run: a measurement that silently did not happen is no evidence.
//! Each classification is made with retries off (one attempt); each case also runs with the
//! SDK's default retries, and the requests the server saw are compared.

mod util;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use cogcheck::checks::shape_and_protocol;
use cogcheck::model::Model;
use cogcheck::wire::parse_response;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use util::{aws_env, npm_ci, retry_dir};

const JSON_1_1: &str = "application/x-amz-json-1.1";
const REQUEST_ID: &str = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const POOL_ID: &str = "us-east-1_EXAMPLE1";
const WRONG_PASSWORD: &str = "Incorrect username or password.";

/// One answer the server sends: status, headers, body.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Answer {
    /// A Cognito success: `Content-Type: application/x-amz-json-1.1`, `x-amzn-RequestId`.
    fn success(body: Value) -> Answer {
        Answer {
            status: 200,
            headers: vec![
                ("content-type", JSON_1_1.into()),
                ("x-amzn-requestid", REQUEST_ID.into()),
            ],
            body: body.to_string(),
        }
    }

    /// A Cognito error as Cognito frames it (the proxy's `error` fault sends the same):
    /// `__type` and `message` in the body, `x-amzn-ErrorType: <Name>:`, `x-amzn-ErrorMessage`.
    fn error(status: u16, error_type: &str, message: &str) -> Answer {
        Answer {
            status,
            headers: vec![
                ("content-type", JSON_1_1.into()),
                ("x-amzn-requestid", REQUEST_ID.into()),
                ("x-amzn-errortype", format!("{error_type}:")),
                ("x-amzn-errormessage", message.into()),
            ],
            body: json!({"__type": error_type, "message": message}).to_string(),
        }
    }

    fn status(mut self, status: u16) -> Answer {
        self.status = status;
        self
    }

    fn header(mut self, name: &'static str, value: &str) -> Answer {
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.into()));
        self
    }

    fn without(mut self, name: &'static str) -> Answer {
        self.headers.retain(|(n, _)| *n != name);
        self
    }

    fn body(mut self, body: impl Into<String>) -> Answer {
        self.body = body.into();
        self
    }
}

/// One deviation: the operation called, the conforming answer and the deviant one.
struct Case {
    key: &'static str,
    deviation: &'static str,
    operation: &'static str,
    params: Value,
    base: Answer,
    deviant: Answer,
    /// Whether cogcheck's own checks flag the deviant answer (the namespaced `__type` is
    /// what AWS itself may send, so nothing flags it).
    flagged: bool,
}

impl Case {
    /// The key with `/` made path-safe: the server tells cases apart by URL path.
    fn id(&self) -> String {
        self.key.replace('/', ".")
    }
}

/// A DescribeUserPool answer as Cognito gives one, with `edit` applied to `UserPool`.
fn user_pool(edit: impl FnOnce(&mut Map<String, Value>)) -> Value {
    let mut pool = json!({
        "AccountRecoverySetting": {"RecoveryMechanisms": [
            {"Name": "verified_email", "Priority": 1}
        ]},
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": false, "UnusedAccountValidityDays": 7},
        "Arn": format!("arn:aws:cognito-idp:us-east-1:123456789012:userpool/{POOL_ID}"),
        "AutoVerifiedAttributes": ["email"],
        "CreationDate": 1.714564800123E9,
        "DeletionProtection": "INACTIVE",
        "EstimatedNumberOfUsers": 3,
        "Id": POOL_ID,
        "LambdaConfig": {},
        "LastModifiedDate": 1.714564800123E9,
        "MfaConfiguration": "OFF",
        "Name": "cogcheck-tolerance",
        "Policies": {"PasswordPolicy": {
            "MinimumLength": 8,
            "RequireLowercase": true,
            "RequireNumbers": true,
            "RequireSymbols": true,
            "RequireUppercase": true,
            "TemporaryPasswordValidityDays": 7
        }},
        "SchemaAttributes": [{
            "AttributeDataType": "String",
            "DeveloperOnlyAttribute": false,
            "Mutable": true,
            "Name": "email",
            "Required": false,
            "StringAttributeConstraints": {"MaxLength": "2048", "MinLength": "0"}
        }],
        "Status": "Enabled",
        "UserPoolTier": "ESSENTIALS",
        "UsernameAttributes": ["email"],
        "UsernameConfiguration": {"CaseSensitive": false},
        "VerificationMessageTemplate": {"DefaultEmailOption": "CONFIRM_WITH_CODE"}
    });
    if let Some(p) = pool.as_object_mut() {
        edit(p);
    }
    json!({ "UserPool": pool })
}

fn cases() -> Vec<Case> {
    let describe = json!({"UserPoolId": POOL_ID});
    let sign_in = json!({
        "AuthFlow": "USER_PASSWORD_AUTH",
        "ClientId": "1example23456789abcdefghij",
        "AuthParameters": {"USERNAME": "alice@example.com", "PASSWORD": "not-her-password"}
    });
    let pool = Answer::success(user_pool(|_| {}));
    let wrong_password = Answer::error(400, "NotAuthorizedException", WRONG_PASSWORD);
    let error_case = |key, deviation, deviant: Answer| Case {
        key,
        deviation,
        operation: "InitiateAuth",
        params: sign_in.clone(),
        base: wrong_password.clone(),
        deviant,
        flagged: true,
    };
    let pool_case = |key, deviation, deviant: Answer| Case {
        key,
        deviation,
        operation: "DescribeUserPool",
        params: describe.clone(),
        base: pool.clone(),
        deviant,
        flagged: true,
    };
    let mut type_prefixed = error_case(
        "protocol/type-prefixed",
        "InitiateAuth NotAuthorizedException with `__type` `com.amazonaws.cognito.identity.idp#NotAuthorizedException` and no x-amzn-ErrorType header, so the body's type is the one read",
        wrong_password
            .clone()
            .without("x-amzn-errortype")
            .body(
                json!({
                    "__type": "com.amazonaws.cognito.identity.idp#NotAuthorizedException",
                    "message": WRONG_PASSWORD
                })
                .to_string(),
            ),
    );
    type_prefixed.flagged = false;
    vec![
        error_case(
            "protocol/content-type",
            "InitiateAuth NotAuthorizedException (400) with Content-Type application/json instead of application/x-amz-json-1.1",
            wrong_password.clone().header("content-type", "application/json"),
        ),
        pool_case(
            "protocol/content-type-success",
            "DescribeUserPool success with Content-Type application/json instead of application/x-amz-json-1.1",
            pool.clone().header("content-type", "application/json"),
        ),
        pool_case(
            "protocol/request-id",
            "DescribeUserPool success without the x-amzn-RequestId header",
            pool.clone().without("x-amzn-requestid"),
        ),
        error_case(
            "protocol/request-id-error",
            "InitiateAuth NotAuthorizedException (400) without the x-amzn-RequestId header",
            wrong_password.clone().without("x-amzn-requestid"),
        ),
        error_case(
            "protocol/error-status",
            "InitiateAuth NotAuthorizedException (a client error) with status 500 instead of 400",
            wrong_password.clone().status(500),
        ),
        error_case(
            "protocol/status-contradicts-body",
            "InitiateAuth NotAuthorizedException body and headers with status 200 instead of 400",
            wrong_password.clone().status(200),
        ),
        error_case(
            "protocol/error-type-disagrees",
            "InitiateAuth 400 whose x-amzn-ErrorType says UserNotFoundException while the body's __type says NotAuthorizedException",
            wrong_password
                .clone()
                .header("x-amzn-errortype", "UserNotFoundException:"),
        ),
        error_case(
            "protocol/error-without-type",
            "InitiateAuth 400 with body {\"message\": \"Incorrect username or password.\"}: no __type, no x-amzn-ErrorType",
            wrong_password
                .clone()
                .without("x-amzn-errortype")
                .body(json!({"message": WRONG_PASSWORD}).to_string()),
        ),
        pool_case(
            "protocol/body-not-json",
            "DescribeUserPool 200 whose body is an HTML page (headers unchanged)",
            pool.clone().body(
                "<html><head><title>200 OK</title></head><body><h1>Cognito</h1></body></html>",
            ),
        ),
        type_prefixed,
        pool_case(
            "shape/missing-required",
            "DescribeUserPool with UserPool.UsernameConfiguration {} (its required member CaseSensitive missing)",
            Answer::success(user_pool(|p| {
                p.insert("UsernameConfiguration".into(), json!({}));
            })),
        ),
        pool_case(
            "shape/wrong-type",
            "DescribeUserPool with UserPool.EstimatedNumberOfUsers the string \"3\" instead of the integer 3",
            Answer::success(user_pool(|p| {
                p.insert("EstimatedNumberOfUsers".into(), json!("3"));
            })),
        ),
        pool_case(
            "shape/wrong-type-timestamp",
            "DescribeUserPool with UserPool.CreationDate the ISO 8601 string \"2024-05-01T12:00:00.123Z\" instead of epoch seconds 1714564800.123",
            Answer::success(user_pool(|p| {
                p.insert("CreationDate".into(), json!("2024-05-01T12:00:00.123Z"));
            })),
        ),
        pool_case(
            "shape/enum-value",
            "DescribeUserPool with UserPool.MfaConfiguration \"MAYBE\" (UserPoolMfaType is OFF, ON, OPTIONAL) instead of \"OFF\"",
            Answer::success(user_pool(|p| {
                p.insert("MfaConfiguration".into(), json!("MAYBE"));
            })),
        ),
        pool_case(
            "shape/enum-value-deprecated-status",
            "DescribeUserPool with the deprecated UserPool.Status \"ACTIVE\" (StatusType is Enabled, Disabled) instead of \"Enabled\"",
            Answer::success(user_pool(|p| {
                p.insert("Status".into(), json!("ACTIVE"));
            })),
        ),
        Case {
            key: "shape/undeclared-error",
            deviation: "DescribeUserPool answering UsernameExistsException (400), which it does not declare, instead of ResourceNotFoundException",
            operation: "DescribeUserPool",
            params: describe.clone(),
            base: Answer::error(
                400,
                "ResourceNotFoundException",
                &format!("User pool {POOL_ID} does not exist."),
            ),
            deviant: Answer::error(400, "UsernameExistsException", "User account already exists"),
            flagged: true,
        },
    ]
}

type Counts = Arc<Mutex<BTreeMap<String, u64>>>;

/// Serves `/<sdk>/<mode>/<case id>/<base|deviant>/` with that case's answer and counts the
/// requests per path. Bound to 127.0.0.1; lives as long as the test's runtime.
async fn serve(cases: &[Case]) -> (String, Counts) {
    let answers: Arc<BTreeMap<String, (Answer, Answer)>> = Arc::new(
        cases
            .iter()
            .map(|c| (c.id(), (c.base.clone(), c.deviant.clone())))
            .collect(),
    );
    let counts: Counts = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("an address");
    let seen = counts.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let answers = answers.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let answers = answers.clone();
                        let seen = seen.clone();
                        async move {
                            let path = req.uri().path().trim_matches('/').to_string();
                            let _ = req.into_body().collect().await;
                            *seen
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .entry(path.clone())
                                .or_default() += 1;
                            let parts: Vec<&str> = path.split('/').collect();
                            let answer = match parts.as_slice() {
                                [_, _, id, variant] => {
                                    answers.get(*id).and_then(|(b, d)| match *variant {
                                        "base" => Some(b.clone()),
                                        "deviant" => Some(d.clone()),
                                        _ => None,
                                    })
                                }
                                _ => None,
                            };
                            let answer = answer.unwrap_or_else(|| {
                                Answer::error(
                                    404,
                                    "CogcheckUnknownCase",
                                    &format!("no case {path}"),
                                )
                            });
                            let mut resp = http::Response::new(Full::new(Bytes::from(answer.body)));
                            *resp.status_mut() =
                                http::StatusCode::from_u16(answer.status).expect("a valid status");
                            for (name, value) in answer.headers {
                                resp.headers_mut().insert(
                                    name,
                                    http::HeaderValue::from_str(&value).expect("a valid header"),
                                );
                            }
                            Ok::<_, Infallible>(resp)
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), counts)
}

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sdk-tolerance.json")
}

/// What one driver printed: its versions, and (case id, mode, variant) -> result.
struct Driven {
    versions: Map<String, Value>,
    results: BTreeMap<(String, String, String), Value>,
}

async fn drive(mut cmd: Command, server: &str, cases: &[Case]) -> Driven {
    let list: Vec<Value> = cases
        .iter()
        .map(|c| json!({"id": c.id(), "operation": c.operation, "params": c.params}))
        .collect();
    aws_env(&mut cmd)
        .env("SERVER", server)
        .env("CASES", Value::Array(list).to_string())
        .env_remove("AWS_RETRY_MODE")
        .env_remove("AWS_MAX_ATTEMPTS")
        .env_remove("AWS_ENDPOINT_URL");
    let shown = format!("{cmd:?}");
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("the driver task finishes")
        .unwrap_or_else(|e| panic!("{shown} could not run: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{shown} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut driven = Driven {
        versions: Map::new(),
        results: BTreeMap::new(),
    };
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if let Some(Value::Object(versions)) = v.get("versions") {
            driven.versions.extend(versions.clone());
            continue;
        }
        let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        driven.results.insert(
            (field("case"), field("mode"), field("variant")),
            v["result"].clone(),
        );
    }
    driven
}

/// Shortens a text for a one-line detail.
fn short(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 120 {
        format!("{}…", line.chars().take(120).collect::<String>())
    } else {
        line.to_string()
    }
}

fn shown(v: Option<&Value>) -> String {
    match v {
        None => "absent".into(),
        Some(v) => short(&v.to_string()),
    }
}

/// The paths where two results differ, as `path: old -> new`.
fn diff(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<String>) {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff(&p, x.get(k), y.get(k), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), Some(p), Some(q), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: {} -> {}", shown(a), shown(b))),
    }
}

/// What the application got, in a few words.
fn summary(result: &Value, with_output: bool) -> String {
    let text = |r: &Value, k: &str| r[k].as_str().map(short).unwrap_or_else(|| "?".into());
    if let Some(r) = result.get("raised") {
        return format!("raised {}: {}", text(r, "class"), text(r, "message"));
    }
    if let Some(e) = result.get("error") {
        return format!(
            "{} (code {}, message \"{}\")",
            text(e, "class"),
            text(e, "code"),
            text(e, "message")
        );
    }
    if with_output {
        format!("parsed output {}", shown(result.get("output")))
    } else {
        "parsed output".into()
    }
}

/// Classifies one SDK's result for the deviant answer against the conforming one; `requests`
/// is what each made with the SDK's default retries.
fn classify(base: &Value, deviant: &Value, requests: (u64, u64)) -> (&'static str, String) {
    let retried = if requests.0 == requests.1 {
        String::new()
    } else {
        format!(
            "; with default retries {} requests (conforming: {})",
            requests.1, requests.0
        )
    };
    let kind = |r: &Value| {
        ["output", "error", "raised"]
            .into_iter()
            .find(|k| r.get(*k).is_some())
    };
    if (kind(base) == Some("output") && kind(deviant) != Some("output"))
        || (kind(base) != Some("raised") && kind(deviant) == Some("raised"))
    {
        let detail = format!(
            "{} where the conforming answer gave {}{retried}",
            summary(deviant, true),
            summary(base, false)
        );
        return ("raised", detail);
    }
    if base == deviant {
        let verdict = if retried.is_empty() {
            "same"
        } else {
            "different"
        };
        return (verdict, format!("same {}{retried}", summary(base, false)));
    }
    if kind(base) != kind(deviant) {
        let detail = format!(
            "{} instead of {}{retried}",
            summary(deviant, true),
            summary(base, false)
        );
        return ("different", detail);
    }
    if deviant.get("output") == Some(&json!({})) {
        let detail = format!("parsed output {{}}: every member absent{retried}");
        return ("different", detail);
    }
    let mut diffs = Vec::new();
    diff("", Some(base), Some(deviant), &mut diffs);
    let mut shown: Vec<String> = diffs.iter().take(4).cloned().collect();
    if diffs.len() > 4 {
        shown.push(format!("{} more", diffs.len() - 4));
    }
    ("different", format!("{}{retried}", shown.join(", ")))
}

/// Cogcheck's own checks of an answer, as `<axis>/<check>`: the instrument must serve what
/// cogcheck flags, under the name the fixture records it by.
fn violations(model: &Model, operation: &str, answer: &Answer) -> Vec<String> {
    let mut headers = http::HeaderMap::new();
    for (name, value) in &answer.headers {
        headers.insert(
            *name,
            http::HeaderValue::from_str(value).expect("a valid header"),
        );
    }
    let response = parse_response(answer.status, &headers, answer.body.as_bytes());
    shape_and_protocol(model, operation, &response, Some(0))
        .iter()
        .map(|f| format!("{}/{}", f.axis.name(), f.check))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdks_notice_deviations_as_recorded_in_the_fixture() {
    let cases = cases();
    let model = Model::get();
    for c in &cases {
        let base = violations(model, c.operation, &c.base);
        assert!(base.is_empty(), "{}: the conforming answer {base:?}", c.key);
        let deviant = violations(model, c.operation, &c.deviant);
        assert_eq!(
            !deviant.is_empty(),
            c.flagged,
            "{}: cogcheck's checks of the deviant answer: {deviant:?}",
            c.key
        );
        // A variant key (`protocol/request-id-error`) names the finding it measures first.
        if c.flagged {
            assert!(
                deviant.iter().any(|d| c.key.starts_with(d.as_str())),
                "{}: cogcheck names the deviation {deviant:?}",
                c.key
            );
        }
    }

    let (server, counts) = serve(&cases).await;
    tokio::task::spawn_blocking(npm_ci)
        .await
        .expect("npm ci finishes");
    let mut python =
        Command::new(std::env::var("COGCHECK_PYTHON").unwrap_or_else(|_| "python3".into()));
    python.arg(retry_dir().join("tolerance_boto3.py"));
    let mut node = Command::new("node");
    node.arg("tolerance_js.mjs").current_dir(retry_dir());
    let (boto3, js) = tokio::join!(drive(python, &server, &cases), drive(node, &server, &cases));
    let counts = counts.lock().unwrap_or_else(|p| p.into_inner()).clone();

    let mut checks = Map::new();
    for c in &cases {
        let id = c.id();
        let mut entry = Map::new();
        entry.insert("deviation".into(), c.deviation.into());
        let mut details = Vec::new();
        for (sdk, path, driven) in [("boto3", "boto3", &boto3), ("js_sdk", "js", &js)] {
            let get = |mode: &str, variant: &str| {
                driven
                    .results
                    .get(&(id.clone(), mode.to_string(), variant.to_string()))
                    .unwrap_or_else(|| panic!("{sdk} printed no {mode} {variant} for {id}"))
            };
            let requests = |mode: &str, variant: &str| {
                counts
                    .get(&format!("{path}/{mode}/{id}/{variant}"))
                    .copied()
                    .unwrap_or(0)
            };
            // The instrument itself: one attempt means one request, and the conforming
            // answer is never retried.
            for variant in ["base", "deviant"] {
                assert_eq!(requests("noretry", variant), 1, "{sdk} {id} {variant}");
            }
            assert_eq!(requests("default", "base"), 1, "{sdk} {id}");
            let base = get("noretry", "base");
            assert!(
                base.get("raised").is_none(),
                "{sdk} {id}: the conforming answer raised {base}"
            );
            let (verdict, detail) = classify(
                base,
                get("noretry", "deviant"),
                (requests("default", "base"), requests("default", "deviant")),
            );
            entry.insert(sdk.into(), verdict.into());
            let name = if sdk == "boto3" { "boto3" } else { "JS" };
            details.push(format!("{name}: {detail}"));
        }
        entry.insert("detail".into(), details.join(" | ").into());
        checks.insert(c.key.into(), Value::Object(entry));
    }
    let version = |d: &Driven, k: &str| d.versions.get(k).cloned().unwrap_or(Value::Null);
    let measured = json!({
        "schema": "cogcheck-sdk-tolerance/1",
        "measured_with": {
            "boto3": version(&boto3, "boto3"),
            "botocore": version(&boto3, "botocore"),
            "js_sdk": version(&js, "js_sdk"),
        },
        "checks": checks,
    });
    let text = serde_json::to_string_pretty(&measured).expect("JSON serializes") + "\n";
    for (key, entry) in measured["checks"].as_object().into_iter().flatten() {
        println!(
            "| `{key}` | {} | {} |",
            entry["boto3"].as_str().unwrap_or("?"),
            entry["js_sdk"].as_str().unwrap_or("?")
        );
    }

    if std::env::var("COGCHECK_UPDATE_TOLERANCE").as_deref() == Ok("1") {
        std::fs::write(fixture(), &text).expect("the fixture is written");
        return;
    }
    let committed = std::fs::read_to_string(fixture()).unwrap_or_default();
    let committed: Value = serde_json::from_str(&committed).unwrap_or(Value::Null);
    if committed != measured {
        let mut changed = Vec::new();
        diff("", Some(&committed), Some(&measured), &mut changed);
        panic!(
            "fixtures/sdk-tolerance.json does not match the measurement (rerun with \
             COGCHECK_UPDATE_TOLERANCE=1 to rewrite it, then review the diff); committed -> measured:\n{}\n\nmeasured:\n{text}",
            changed.join("\n")
        );
    }
}
