//! Comparing two answers, and the diff record format.
//!
//! # Diff format: `cogcheck-diff/1`
//!
//! `--diff-out FILE` (and `diffs.jsonl` of `cogcheck-proxy compare`) is a UTF-8 file of JSON
//! lines. The first line is a header; every other line is one mismatch, in the order the
//! exchanges were compared.
//!
//! ```json
//! {"diff":"cogcheck-diff/1","created":"2025-01-01T00:00:00Z","primary":"http://127.0.0.1:5000","shadow":"http://127.0.0.1:9229"}
//! {"seq":12,"action":"AdminGetUser","time":"2025-01-01T00:00:01Z",
//!  "primary":{"status":200},"shadow":{"status":400,"error_type":"UserNotFoundException"},
//!  "differences":["status","error_type","body"],
//!  "diff":"--- primary\n+++ shadow\n@@ ... @@\n...",
//!  "pool_id":"us-east-1_AbC","pool_name":"cogcheck-1a2b3c-17-pool"}
//! ```
//!
//! | field | meaning |
//! |---|---|
//! | `seq` | 1-based number of the compared exchange (every compared exchange counts, matching or not) |
//! | `cassette_seq` | offline only: the exchange's `seq` in the cassette |
//! | `action` | the action, or `METHOD path` for a request that is not an API call |
//! | `time` | when the primary answered (live) or the recorded time (offline), RFC 3339 |
//! | `primary`, `shadow` | `status` and, for an error, `error_type` (namespace removed) |
//! | `differences` | which of `status`, `error_type`, `headers`, `body` differ |
//! | `diff` | unified diff (3 lines of context) of `{"headers": ..., "body": ...}`, pretty-printed with sorted keys: the protocol headers (content type, and `<request-id>` when `x-amzn-RequestId` came) and the normalized body, in which every secret left (fixtures/secrets.toml) is `<secret:n>`, numbered by value across both sides; empty when only status or error type differ |
//! | `pool_id`, `pool_name` | the primary's user pool the request is about, and its name when the pool was created through the comparer |
//! | `note` | why the shadow has no real answer (unreachable, timed out) |
//!
//! Readers must ignore fields they do not know; a change that breaks readers bumps the version.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::mapping::{Mapping, Side};
use super::noise::NoiseRules;
use super::normalize::{short_error_type, sorted, Normalizer};
use crate::answer::BufferedResponse;

/// The format and version in every diff file's header.
pub const DIFF_FORMAT: &str = "cogcheck-diff/1";

/// The first line of a diff file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DiffHeader {
    /// Always [`DIFF_FORMAT`].
    pub diff: String,
    /// When the file was created.
    pub created: String,
    /// The primary: an upstream URL or a cassette.
    pub primary: String,
    /// The shadow's URL.
    pub shadow: String,
}

/// One side's answer, as far as a record shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerSummary {
    /// HTTP status.
    pub status: u16,
    /// The error type of an error answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
}

/// One mismatch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MismatchRecord {
    /// Number of the compared exchange.
    pub seq: u64,
    /// The cassette's `seq` (offline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cassette_seq: Option<u64>,
    /// The action.
    pub action: String,
    /// When.
    pub time: String,
    /// The primary's answer.
    pub primary: AnswerSummary,
    /// The shadow's answer.
    pub shadow: AnswerSummary,
    /// `status`, `error_type`, `headers`, `body`.
    pub differences: Vec<String>,
    /// Unified diff of the normalized bodies.
    pub diff: String,
    /// The primary's pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_id: Option<String>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_name: Option<String>,
    /// Why there is no real shadow answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What comparing needs of an answer; the answer itself is the proxy's one buffered answer
/// type, [`BufferedResponse`].
impl BufferedResponse {
    /// The body as JSON (`null` for an empty or non-JSON body; non-JSON text as a string).
    pub fn json(&self) -> Value {
        body_json(&self.body)
    }

    /// The error type of an error answer (header or body, namespace removed).
    pub fn error_type(&self) -> Option<String> {
        if self.status.as_u16() < 300 {
            return None;
        }
        cogcheck::wire::parse_response(self.status.as_u16(), &self.headers, &self.body)
            .error
            .map(|e| short_error_type(&e.error_type))
    }

    /// Status and error type.
    pub fn summary(&self) -> AnswerSummary {
        AnswerSummary {
            status: self.status.as_u16(),
            error_type: self.error_type(),
        }
    }
}

/// A body as JSON, for comparing.
pub fn body_json(body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => Value::String(String::from_utf8_lossy(body).into_owned()),
    }
}

/// What differs between two answers, and the diff; `None` when they agree.
pub fn compare(
    mapping: &Mapping,
    rules: &NoiseRules,
    action: &str,
    primary: &BufferedResponse,
    shadow: &BufferedResponse,
) -> Option<(Vec<String>, String)> {
    let (pa, sa) = (primary.summary(), shadow.summary());
    let mut differences = Vec::new();
    if pa.status != sa.status {
        differences.push("status".to_string());
    }
    if pa.error_type != sa.error_type {
        differences.push("error_type".to_string());
    }
    let (ha, hb) = (protocol_headers(primary), protocol_headers(shadow));
    if ha != hb {
        differences.push("headers".to_string());
    }
    let mut n = Normalizer::new(mapping, rules);
    let mut a = n.normalize(Side::Primary, action, &primary.json());
    let mut b = n.normalize(Side::Shadow, action, &shadow.json());
    // Secrets normalization left (fixtures/secrets.toml and the model): numbered by value
    // across both sides, so that equal secrets still compare equal and different ones differ,
    // but none reaches a diff record.
    let mut secrets = secrets_of(action, primary);
    secrets.extend(secrets_of(action, shadow));
    let mut secrets: Vec<String> = secrets.into_iter().collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut numbers = std::collections::HashMap::new();
    hide_secrets(&mut a, &secrets, &mut numbers, 0);
    hide_secrets(&mut b, &secrets, &mut numbers, 0);
    if a != b {
        differences.push("body".to_string());
    }
    let (ta, tb) = (
        pretty(&serde_json::json!({"headers": ha, "body": a})),
        pretty(&serde_json::json!({"headers": hb, "body": b})),
    );
    let diff = if ta == tb {
        String::new()
    } else {
        similar::TextDiff::from_lines(&ta, &tb)
            .unified_diff()
            .context_radius(3)
            .header("primary", "shadow")
            .to_string()
    };
    (!differences.is_empty()).then_some((differences, diff))
}

/// The strings of an answer that are secrets: what redaction by the output shape replaces.
/// Error bodies have no shape to walk.
fn secrets_of(action: &str, answer: &BufferedResponse) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let shape = answer
        .status
        .is_success()
        .then(|| cogcheck::model::Model::get().operation(action).ok())
        .flatten()
        .and_then(|op| op.output.as_deref());
    if shape.is_some() {
        let raw = answer.json();
        let redacted = cogcheck::secrets::redact(shape, &raw);
        cogcheck::secrets::collect_differences(&raw, &redacted, &mut out);
    }
    out
}

/// Below this length a secret is replaced only as a whole string: `true` (an attribute value)
/// inside longer text is not that secret.
const SUBSTRING_MIN: usize = 8;

/// Replaces every secret in the strings of `v` with `<secret:n>`, `n` shared through
/// `numbers`. `secrets` is sorted longest first, so a secret holding another goes whole.
fn hide_secrets(
    v: &mut Value,
    secrets: &[String],
    numbers: &mut std::collections::HashMap<String, usize>,
    depth: usize,
) {
    let mut number = |secret: &str| {
        let next = numbers.len() + 1;
        format!(
            "<secret:{}>",
            *numbers.entry(secret.to_string()).or_insert(next)
        )
    };
    match v {
        Value::String(s) => {
            if let Some(secret) = secrets.iter().find(|x| *x == s) {
                *s = number(secret);
                return;
            }
            for secret in secrets.iter().filter(|x| x.len() >= SUBSTRING_MIN) {
                if s.contains(secret.as_str()) {
                    *s = s.replace(secret.as_str(), &number(secret));
                }
            }
        }
        Value::Object(map) if depth < 64 => {
            for child in map.values_mut() {
                hide_secrets(child, secrets, numbers, depth + 1);
            }
        }
        Value::Array(items) if depth < 64 => {
            for child in items {
                hide_secrets(child, secrets, numbers, depth + 1);
            }
        }
        _ => {}
    }
}

/// The headers the awsJson1_1 protocol promises, normalized: the content type (without
/// parameters) and whether a request id came (`<request-id>`; its value is always new).
pub fn protocol_headers(answer: &BufferedResponse) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(ct) = answer
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        let ct = ct
            .split(';')
            .next()
            .unwrap_or(ct)
            .trim()
            .to_ascii_lowercase();
        out.insert("content-type".into(), Value::String(ct));
    }
    if answer
        .headers
        .contains_key(cogcheck::wire::REQUEST_ID_HEADER)
        || answer.headers.contains_key("x-amz-request-id")
    {
        out.insert(
            "x-amzn-requestid".into(),
            Value::String("<request-id>".into()),
        );
    }
    Value::Object(out)
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(&sorted(v)).unwrap_or_else(|_| v.to_string());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> BufferedResponse {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "content-type",
            http::HeaderValue::from_static("application/x-amz-json-1.1"),
        );
        BufferedResponse {
            status: http::StatusCode::from_u16(status).unwrap(),
            headers,
            body: bytes::Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn statuses_types_and_bodies_are_compared() {
        let m = Mapping::new();
        let rules = NoiseRules::defaults().unwrap();
        let ok = answer(200, r#"{"A":1}"#);
        assert!(compare(&m, &rules, "X", &ok, &answer(200, r#"{"A":1}"#)).is_none());
        let (d, diff) = compare(&m, &rules, "X", &ok, &answer(200, r#"{"A":2}"#)).unwrap();
        assert_eq!(d, ["body"]);
        assert!(
            diff.contains("-    \"A\": 1") && diff.contains("+    \"A\": 2"),
            "{diff}"
        );
        let mut with_id = answer(200, r#"{"A":1}"#);
        with_id
            .headers
            .insert("x-amzn-requestid", http::HeaderValue::from_static("4f5e"));
        let (d, diff) = compare(&m, &rules, "X", &with_id, &ok).unwrap();
        assert_eq!(d, ["headers"]);
        assert!(
            diff.contains("-    \"x-amzn-requestid\": \"<request-id>\""),
            "{diff}"
        );
        let err = answer(400, r#"{"__type":"NotAuthorizedException","message":"no"}"#);
        let other = answer(
            400,
            r#"{"__type":"com.x#NotAuthorizedException","message":"other words"}"#,
        );
        assert!(
            compare(&m, &rules, "X", &err, &other).is_none(),
            "messages are noise"
        );
        let (d, _) = compare(&m, &rules, "X", &ok, &err).unwrap();
        assert_eq!(d, ["status", "error_type", "body"]);
    }

    /// Secrets the normalizer does not know (here an unmapped user name and SRP values the
    /// model does not mark) never reach the diff; different secrets still differ.
    #[test]
    fn diffs_carry_no_secret() {
        let m = Mapping::new();
        let rules = NoiseRules::defaults().unwrap();
        let body = |user: &str, salt: &str| {
            format!(
                r#"{{"ChallengeName":"PASSWORD_VERIFIER","ChallengeParameters":{{"USERNAME":"{user}","USER_ID_FOR_SRP":"{user}","SALT":"{salt}"}},"Extra":"{user}"}}"#
            )
        };
        let a = answer(200, &body("alice-primary-name", "salt-value-one"));
        let b = answer(200, &body("bob-shadow-name", "salt-value-one"));
        let (d, diff) = compare(&m, &rules, "InitiateAuth", &a, &b).unwrap();
        assert_eq!(d, ["body"]);
        for secret in ["alice-primary-name", "bob-shadow-name", "salt-value-one"] {
            assert!(!diff.contains(secret), "{secret} in {diff}");
        }
        assert!(diff.contains("<secret:"), "{diff}");
        let same = answer(200, &body("alice-primary-name", "salt-value-one"));
        assert!(compare(&m, &rules, "InitiateAuth", &a, &same).is_none());
    }
}
