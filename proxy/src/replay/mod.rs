//! The replayer: answers requests from a cassette.
//!
//! # Matching
//!
//! A request matches a recorded one when both have the same *key* and the same *normalized
//! body*:
//!
//! - the key is the action for API calls the model knows, the raw `X-Amz-Target` for other
//!   API calls, and `METHOD path` for requests that are not API calls (JWKS, OAuth);
//! - bodies are compared as JSON values, so key order and whitespace do not matter;
//! - by rule, these values are compared apart (replaced by a constant on both sides before
//!   comparing, so their presence still counts but not their value):
//!   - secrets: every member the model marks sensitive, every `<secret:N>` placeholder and
//!     every JWT. A recorded secret is a placeholder; whether the live value is that secret
//!     is decided by `secrets.rs` (bound values, the cassette key's digests), so a wrong
//!     password, code, client id or token does not get the recorded answer;
//!   - volatile members: any member named `ClientRequestToken`, `Nonce`, `UserContextData`,
//!     `ContextData` (IP addresses, headers, device fingerprints), or ending in `Date` or
//!     `Timestamp`.
//!
//! Placeholders in recorded answers are filled (`secrets.rs`): the client gets usable values,
//! tokens it can parse and verify against the replay's JWKS, which replay serves itself at
//! any path ending in `/.well-known/jwks.json`.
//!
//! A request that names its scenario (`x-cogcheck-scenario`, sent by the suite) is matched
//! only against the requests recorded for that scenario, when the cassette has any labels:
//! scenarios whose requests look alike cannot take each other's answers, and a scenario the
//! recording does not hold misses ("not in the snapshot") rather than borrowing another's.
//!
//! Of the recorded requests that match, the one whose secrets replay has already bound the
//! most is chosen (a user's second sign-in, not another user's first); among equals, identical
//! requests are answered in their recorded order;
//! once all their recorded answers have been served, the last one is served again (an SDK that polls keeps seeing the final
//! state rather than an error).
//!
//! # Misses
//!
//! A request that matches nothing answers `400 CogcheckReplayMissException` (not a 5xx, which
//! SDKs would retry in vain). The message names the action and the closest recorded request
//! of the same key with the first place where it differs, or lists the actions the cassette
//! does hold. In mode `new-episodes` a miss goes to the upstream instead and is recorded.

mod secrets;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use bytes::Bytes;
use cogcheck::model::Model;
use serde_json::Value;

use crate::answer::{strip_hop_by_hop, BufferedResponse, ProxyError};
use crate::classify::{Classified, RequestKind};
use crate::config::Mode;
use crate::error::Result;
use crate::record::{Cassette, RecordedExchange, RecordedResponse};
use crate::redact::{self, is_placeholder};
use crate::secret_notes::CassetteKey;
use cogcheck::protocol::jwt;
use cogcheck::wire::SCENARIO_HEADER;
use secrets::{Bindings, Secrets, Slot, WrongSecret};

const SECRET: &str = "<secret>";
const VOLATILE: &str = "<volatile>";

struct Entry {
    seq: u64,
    /// The scenario the recorded request named (`x-cogcheck-scenario`), if any.
    label: Option<String>,
    key: String,
    normalized: Value,
    slots: Vec<Slot>,
    response: RecordedResponse,
}

/// Placeholders and the values a match would bind them to.
type NewBindings = Vec<(u64, String)>;

/// What replay has served so far.
#[derive(Default)]
struct State {
    /// Entries already served, by index.
    served: std::collections::HashSet<usize>,
    bindings: Bindings,
}

/// Serves a cassette.
pub struct Replayer {
    mode: Mode,
    path: String,
    entries: Vec<Entry>,
    index: HashMap<String, Vec<usize>>,
    /// Every scenario label the cassette holds.
    labels: std::collections::HashSet<String>,
    secrets: Secrets,
    state: Mutex<State>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// What the replayer says about a request.
pub enum Replayed {
    /// A recorded answer.
    Hit(BufferedResponse),
    /// No match, and the mode says to answer with a miss error.
    Miss(BufferedResponse),
    /// No match; the mode says to forward it.
    Forward,
}

impl Replayer {
    /// Loads a cassette for replay.
    /// With the cassette key it was recorded under, wrong secrets are told from right ones
    /// even on first use (see `secrets.rs`).
    pub fn load(path: &Path, mode: Mode, key: Option<CassetteKey>) -> Result<Replayer> {
        let cassette = Cassette::load(path)?;
        if cassette.torn_tail {
            tracing::warn!(
                cassette = %path.display(),
                "the last line is incomplete (a crash while recording); it is ignored"
            );
        }
        if key.is_some()
            && !cassette
                .exchanges
                .iter()
                .any(|e| e.secrets.values().any(|n| n.digest.is_some()))
        {
            tracing::warn!(
                cassette = %path.display(),
                "--cassette-key is given but the cassette holds no digests (it was recorded \
                 without one); secrets are checked by first use only"
            );
        }
        Ok(Replayer::from_exchanges(
            &path.display().to_string(),
            cassette.exchanges,
            mode,
            key,
        ))
    }

    fn from_exchanges(
        path: &str,
        exchanges: Vec<RecordedExchange>,
        mode: Mode,
        key: Option<CassetteKey>,
    ) -> Replayer {
        let mut entries = Vec::new();
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        let mut notes = HashMap::new();
        let mut labels = std::collections::HashSet::new();
        for mut ex in exchanges {
            notes.extend(std::mem::take(&mut ex.secrets));
            let Some(response) = ex.response else {
                continue;
            };
            let key = match (&ex.action, &ex.target) {
                (Some(a), _) => a.clone(),
                (None, Some(t)) => format!("target:{t}"),
                (None, None) => format!("{} {}", ex.request.method, ex.request.path),
            };
            let shape = ex
                .action
                .as_deref()
                .and_then(|a| Model::get().operations.get(a))
                .and_then(|op| op.input.as_deref());
            let slots = secrets::slots(ex.request.body.as_ref(), ex.request.body_text.as_deref());
            let body = match (ex.request.body, ex.request.body_text) {
                (Some(v), _) => v,
                (None, Some(t)) => Value::String(t),
                (None, None) => ex.request.body_base64.map_or(Value::Null, Value::String),
            };
            let normalized = normalize(body, shape, ex.action.is_some() || ex.target.is_some());
            let canon = format!("{key}\n{}", canonical(&normalized));
            index.entry(canon).or_default().push(entries.len());
            let label = ex
                .request
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(SCENARIO_HEADER))
                .map(|(_, v)| v.clone());
            labels.extend(label.clone());
            entries.push(Entry {
                seq: ex.seq,
                label,
                key,
                normalized,
                slots,
                response,
            });
        }
        Replayer {
            mode,
            path: path.to_string(),
            entries,
            index,
            labels,
            secrets: Secrets::new(notes, key),
            state: Mutex::new(State::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// How many exchanges can be replayed.
    pub fn replayable(&self) -> usize {
        self.entries.len()
    }

    /// Requests answered from the cassette.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Requests that matched nothing.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Looks a request up. `label` is the scenario the request names (`x-cogcheck-scenario`):
    /// when the cassette was recorded with labels, only that scenario's recorded requests can
    /// answer it, so a scenario absent from the recording, or changed since, misses.
    pub fn respond(
        &self,
        class: &Classified,
        method: &http::Method,
        path: &str,
        label: Option<&str>,
        body: &Bytes,
    ) -> Replayed {
        if method == http::Method::GET && path.ends_with("/.well-known/jwks.json") {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Replayed::Hit(jwks_answer(&self.secrets));
        }
        let key = request_key(class, method, path);
        let (shape, is_api) = match &class.kind {
            RequestKind::Known { operation, .. } => (operation.input.as_deref(), true),
            RequestKind::UnknownTarget { .. } => (None, true),
            RequestKind::NotApi => (None, false),
        };
        let live = body_value(body);
        let normalized = normalize(live.clone(), shape, is_api);
        let canon = format!("{key}\n{}", canonical(&normalized));
        let mut wrong = None;
        // Without labels on both sides, any recorded request of the same form may answer.
        let label = label.filter(|_| !self.labels.is_empty());
        let list: Option<Vec<usize>> = self.index.get(&canon).map(|all| {
            all.iter()
                .copied()
                .filter(|&i| label.is_none() || self.entries[i].label.as_deref() == label)
                .collect()
        });
        if let Some(list) = list.filter(|l| !l.is_empty()) {
            // A poisoned lock only means another request panicked mid-way; the state is
            // still a valid map, so go on with it.
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            // Those not served yet in recorded order, then (all served) the last back to the
            // first. Identical-looking requests of many scenarios share one list, so "not
            // served yet" is per entry, not a cursor another scenario could move past them.
            let unserved = (0..list.len()).filter(|p| !state.served.contains(&list[*p]));
            let served = (0..list.len())
                .rev()
                .filter(|p| state.served.contains(&list[*p]));
            let order: Vec<usize> = unserved.chain(served).collect();
            // Of the recorded requests whose secrets agree, the one with the most secrets
            // replay already bound is the one meant (a user's second sign-in, not another
            // user's first); among equals, the next in recorded order.
            // (position, secrets already bound that agree, bindings to add)
            let mut best: Option<(usize, usize, NewBindings)> = None;
            for position in order {
                let Some(entry) = list.get(position).and_then(|&i| self.entries.get(i)) else {
                    continue;
                };
                match self.secrets.check(&entry.slots, &live, &state.bindings) {
                    Ok((new, strength)) => {
                        if best.as_ref().is_none_or(|(_, s, _)| strength > *s) {
                            best = Some((position, strength, new));
                        }
                        if strength == entry.slots.len() {
                            break;
                        }
                    }
                    Err(w) => {
                        if wrong
                            .as_ref()
                            .is_none_or(|(_, b): &(u64, WrongSecret)| w.agreed > b.agreed)
                        {
                            wrong = Some((entry.seq, w));
                        }
                    }
                }
            }
            if let Some((position, _, new)) = best {
                if let Some(entry) = list.get(position).and_then(|&i| self.entries.get(i)) {
                    for (n, v) in new {
                        state.bindings.bind(n, v);
                    }
                    state.served.insert(list[position]);
                    let answer = answer(entry, &self.secrets, &mut state.bindings);
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    return Replayed::Hit(answer);
                }
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        match self.mode {
            Mode::NewEpisodes | Mode::All => Replayed::Forward,
            Mode::None | Mode::Once => match wrong {
                Some((seq, w)) => {
                    Replayed::Miss(self.secrets.wrong_secret_answer(&w).unwrap_or_else(|| {
                        BufferedResponse::proxy_error(
                            ProxyError::ReplayMiss,
                            &format!(
                                "cogcheck replay: the recorded {key} request #{seq} (cassette {}) \
                                 matches this one but for the secret at {}: {}",
                                self.path,
                                w.slot.display(),
                                w.why
                            ),
                        )
                    }))
                }
                None => Replayed::Miss(BufferedResponse::proxy_error(
                    ProxyError::ReplayMiss,
                    &self.miss_message(&key, label, &normalized),
                )),
            },
        }
    }

    fn miss_message(&self, key: &str, label: Option<&str>, normalized: &Value) -> String {
        let closest = self
            .entries
            .iter()
            .filter(|e| e.key == key && (label.is_none() || e.label.as_deref() == label))
            .map(|e| {
                let mut d = Diff::default();
                diff("$", &e.normalized, normalized, &mut d);
                (d.count, e, d.first)
            })
            .min_by_key(|(count, e, _)| (*count, e.seq));
        let head = match label {
            Some(l) if !self.labels.contains(l) => format!(
                "cogcheck replay: scenario {l} is not in the snapshot (cassette {})",
                self.path
            ),
            Some(l) => format!(
                "cogcheck replay: no {key} request recorded for scenario {l} matches this one \
                 (cassette {})",
                self.path
            ),
            None => format!(
                "cogcheck replay: no recorded {key} request matches this one (cassette {})",
                self.path
            ),
        };
        match closest {
            Some((_, e, first)) => format!(
                "{head}; the closest recorded request is exchange #{} ({key}), which differs at {}",
                e.seq,
                first.unwrap_or_else(|| "nothing but the order of identical requests".into())
            ),
            None if label.is_some_and(|l| self.labels.contains(l)) => {
                format!("{head}; the scenario recorded no {key} request")
            }
            None => {
                let mut counts: Vec<(&str, usize)> = Vec::new();
                for e in &self.entries {
                    match counts.iter_mut().find(|(k, _)| *k == e.key) {
                        Some((_, n)) => *n += 1,
                        None => counts.push((&e.key, 1)),
                    }
                }
                let listed: Vec<String> = counts
                    .iter()
                    .take(12)
                    .map(|(k, n)| format!("{k} ({n})"))
                    .collect();
                format!(
                    "{head}; no {key} request was recorded at all; the cassette holds: {}",
                    if listed.is_empty() {
                        "nothing".to_string()
                    } else {
                        listed.join(", ")
                    }
                )
            }
        }
    }
}

fn request_key(class: &Classified, method: &http::Method, path: &str) -> String {
    match &class.kind {
        RequestKind::Known { action, .. } => action.to_string(),
        RequestKind::UnknownTarget { target } => format!("target:{target}"),
        RequestKind::NotApi => format!("{method} {path}"),
    }
}

fn body_value(body: &Bytes) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => match std::str::from_utf8(body) {
            Ok(t) => Value::String(t.to_string()),
            Err(_) => {
                use base64::Engine as _;
                Value::String(base64::engine::general_purpose::STANDARD.encode(body))
            }
        },
    }
}

fn answer(entry: &Entry, secrets: &Secrets, bindings: &mut Bindings) -> BufferedResponse {
    let mut headers = http::HeaderMap::new();
    for (k, v) in &entry.response.headers {
        let v = secrets.fill_text(v, bindings).unwrap_or_else(|| v.clone());
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(&v),
        ) {
            headers.append(k, v);
        }
    }
    strip_hop_by_hop(&mut headers);
    // The body is re-encoded, so its length is the new one's.
    headers.remove(http::header::CONTENT_LENGTH);
    if let Ok(v) = http::HeaderValue::from_str(&entry.seq.to_string()) {
        headers.insert("x-cogcheck-replayed", v);
    }
    let mut response = entry.response.clone();
    if let Some(body) = &mut response.body {
        secrets.fill_value(body, bindings);
    }
    if let Some(text) = &mut response.body_text {
        if let Some(filled) = secrets.fill_text(text, bindings) {
            *text = filled;
        }
    }
    BufferedResponse {
        status: http::StatusCode::from_u16(entry.response.status)
            .unwrap_or(http::StatusCode::BAD_GATEWAY),
        headers,
        body: response.body_bytes(),
    }
}

/// The replay's own JWKS: the key that signs the tokens it serves.
fn jwks_answer(secrets: &Secrets) -> BufferedResponse {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    BufferedResponse {
        status: http::StatusCode::OK,
        headers,
        body: Bytes::from(secrets.jwks().to_string()),
    }
}

/// Secrets and volatile members become constants (see the module docs).
fn normalize(mut value: Value, shape: Option<&str>, is_api: bool) -> Value {
    match (shape, &mut value) {
        (Some(shape), _) => {
            Model::get().redact_sensitive(shape, &mut value, &mut |_| Value::String(SECRET.into()))
        }
        (None, Value::String(text)) if !is_api => {
            // A form post: fields by name.
            let fields: Vec<String> = text
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if redact::secret_name(k) => format!("{k}={SECRET}"),
                    _ => pair.to_string(),
                })
                .collect();
            *text = fields.join("&");
        }
        (None, _) => {
            cogcheck::model::redact_by_name(&mut value, &mut |_| Value::String(SECRET.into()));
        }
    }
    redact::scan_strings(
        &mut value,
        &mut |s| {
            if is_placeholder(s) {
                return Some(SECRET.into());
            }
            let spans = jwt::find(s);
            let placeholders = s.contains(redact::PLACEHOLDER_PREFIX);
            if spans.is_empty() && !placeholders {
                return None;
            }
            let mut out = String::new();
            let mut at = 0;
            for (a, b) in spans {
                out.push_str(&s[at..a]);
                out.push_str(SECRET);
                at = b;
            }
            out.push_str(&s[at..]);
            Some(replace_placeholders(&out))
        },
        0,
    );
    strip_volatile(&mut value, 0);
    value
}

fn replace_placeholders(s: &str) -> String {
    redact::map_placeholders(s, |_| SECRET.into()).unwrap_or_else(|| s.to_string())
}

fn is_volatile(name: &str) -> bool {
    matches!(
        name,
        "ClientRequestToken" | "Nonce" | "UserContextData" | "ContextData"
    ) || name.ends_with("Date")
        || name.ends_with("Timestamp")
}

fn strip_volatile(value: &mut Value, depth: usize) {
    if depth > 64 {
        return;
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_volatile(k) {
                    *v = Value::String(VOLATILE.into());
                } else {
                    strip_volatile(v, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                strip_volatile(v, depth + 1);
            }
        }
        _ => {}
    }
}

/// JSON with object keys sorted, so that key order never matters.
fn canonical(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String((*k).clone()).to_string());
                    out.push(':');
                    if let Some(v) = map.get(*k) {
                        write(v, out);
                    }
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(v, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

#[derive(Default)]
struct Diff {
    count: usize,
    first: Option<String>,
}

fn short(v: Option<&Value>) -> String {
    match v {
        None => "nothing".into(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 80 {
                format!("{}...", s.chars().take(80).collect::<String>())
            } else {
                s
            }
        }
    }
}

fn diff(path: &str, recorded: &Value, sent: &Value, d: &mut Diff) {
    match (recorded, sent) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = format!("{path}.{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => diff(&p, x, y, d),
                    (x, y) => note(d, &p, x, y),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let p = format!("{path}[{i}]");
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => diff(&p, x, y, d),
                    (x, y) => note(d, &p, x, y),
                }
            }
        }
        (a, b) if a == b => {}
        (a, b) => note(d, path, Some(a), Some(b)),
    }
}

fn note(d: &mut Diff, path: &str, recorded: Option<&Value>, sent: Option<&Value>) {
    d.count += 1;
    if d.first.is_none() {
        d.first = Some(format!(
            "{path}: recorded {}, sent {}",
            short(recorded),
            short(sent)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::classify;
    use crate::record::RecordedRequest;
    use serde_json::json;

    fn now_secs() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn recorded(seq: u64, action: &str, body: Value, answer: Value) -> RecordedExchange {
        RecordedExchange {
            seq,
            time: String::new(),
            action: Some(action.into()),
            target: None,
            signed: true,
            upstream: "u".into(),
            request: RecordedRequest {
                method: "POST".into(),
                path: "/".into(),
                headers: vec![],
                body: Some(body),
                body_verbatim: None,
                body_text: None,
                body_base64: None,
            },
            response: Some(RecordedResponse {
                status: 200,
                headers: vec![("content-type".into(), "application/x-amz-json-1.1".into())],
                body: Some(answer),
                body_verbatim: None,
                body_text: None,
                body_base64: None,
            }),
            latency_ms: 1.0,
            error: None,
            secrets: Default::default(),
        }
    }

    fn class(action: &str) -> Classified {
        let mut h = http::HeaderMap::new();
        h.insert(
            "x-amz-target",
            format!("AWSCognitoIdentityProviderService.{action}")
                .parse()
                .unwrap(),
        );
        classify(&http::Method::POST, &h)
    }

    fn ask(r: &Replayer, action: &str, body: Value) -> Replayed {
        r.respond(
            &class(action),
            &http::Method::POST,
            "/",
            None,
            &Bytes::from(body.to_string()),
        )
    }

    fn body(r: Replayed) -> Value {
        match r {
            Replayed::Hit(b) => serde_json::from_slice(&b.body).unwrap(),
            Replayed::Miss(b) => panic!("miss: {}", String::from_utf8_lossy(&b.body)),
            Replayed::Forward => panic!("forward"),
        }
    }

    #[test]
    fn matches_semantically_and_in_order() {
        let r = Replayer::from_exchanges(
            "c.jsonl",
            vec![
                recorded(
                    1,
                    "DescribeUserPool",
                    json!({"UserPoolId": "p1"}),
                    json!({"n": 1}),
                ),
                recorded(
                    2,
                    "DescribeUserPool",
                    json!({"UserPoolId": "p1"}),
                    json!({"n": 2}),
                ),
                recorded(
                    3,
                    "InitiateAuth",
                    json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "<secret:1>",
                           "AuthParameters": {"USERNAME": "<secret:2>", "PASSWORD": "<secret:3>"}}),
                    json!({"ok": true}),
                ),
                recorded(
                    4,
                    "CreateUserPool",
                    json!({"PoolName": "p", "UserPoolTags": {"a": "b", "c": "d"}}),
                    json!({"created": true}),
                ),
            ],
            Mode::None,
            None,
        );
        assert_eq!(
            body(ask(&r, "DescribeUserPool", json!({"UserPoolId": "p1"})))["n"],
            1
        );
        assert_eq!(
            body(ask(&r, "DescribeUserPool", json!({"UserPoolId": "p1"})))["n"],
            2
        );
        // Exhausted: the last answer repeats.
        assert_eq!(
            body(ask(&r, "DescribeUserPool", json!({"UserPoolId": "p1"})))["n"],
            2
        );
        // Real secrets match recorded placeholders; key order is ignored.
        assert_eq!(
            body(ask(
                &r,
                "InitiateAuth",
                json!({"AuthParameters": {"PASSWORD": "real", "USERNAME": "bob"},
                       "ClientId": "abc", "AuthFlow": "USER_PASSWORD_AUTH"})
            ))["ok"],
            true
        );
        assert_eq!(
            body(ask(
                &r,
                "CreateUserPool",
                json!({"UserPoolTags": {"c": "d", "a": "b"}, "PoolName": "p"})
            ))["created"],
            true
        );
        assert_eq!(r.hits(), 5);
    }

    #[test]
    fn misses_name_the_action_and_the_closest_request() {
        let r = Replayer::from_exchanges(
            "c.jsonl",
            vec![recorded(
                7,
                "DescribeUserPool",
                json!({"UserPoolId": "us-east-1_aaa"}),
                json!({}),
            )],
            Mode::None,
            None,
        );
        let Replayed::Miss(m) = ask(
            &r,
            "DescribeUserPool",
            json!({"UserPoolId": "us-east-1_bbb"}),
        ) else {
            panic!("expected a miss")
        };
        assert_eq!(m.status, 400);
        let v: Value = serde_json::from_slice(&m.body).unwrap();
        assert_eq!(v["__type"], "CogcheckReplayMissException");
        let msg = v["message"].as_str().unwrap();
        assert!(
            msg.contains("DescribeUserPool") && msg.contains("#7"),
            "{msg}"
        );
        assert!(
            msg.contains("$.UserPoolId") && msg.contains("us-east-1_bbb"),
            "{msg}"
        );

        let Replayed::Miss(m) = ask(&r, "ListUserPools", json!({"MaxResults": 1})) else {
            panic!("expected a miss")
        };
        let v: Value = serde_json::from_slice(&m.body).unwrap();
        let msg = v["message"].as_str().unwrap();
        assert!(
            msg.contains("no ListUserPools request was recorded"),
            "{msg}"
        );
        assert!(msg.contains("DescribeUserPool (1)"), "{msg}");
        assert_eq!(r.misses(), 2);

        let r = Replayer::from_exchanges("c.jsonl", vec![], Mode::NewEpisodes, None);
        assert!(matches!(
            ask(&r, "ListUserPools", json!({})),
            Replayed::Forward
        ));
    }

    fn error_type(r: Replayed) -> (String, String) {
        let (Replayed::Hit(b) | Replayed::Miss(b)) = r else {
            panic!("forward")
        };
        let v: Value = serde_json::from_slice(&b.body).unwrap();
        (
            v["__type"].as_str().unwrap_or("").to_string(),
            v["message"].as_str().unwrap_or("").to_string(),
        )
    }

    /// A session as the recorder writes it: a client id first seen in an answer, a password
    /// the client chose, an access token whose claims name the client and the user.
    fn session(key: Option<&CassetteKey>) -> Vec<RecordedExchange> {
        use crate::secret_notes::{form_of, hex, SecretNote, TokenNote};
        let digest = |v: &str| key.map(|k| hex(&k.digest(v.as_bytes())));
        let mut create = recorded(
            1,
            "CreateUserPoolClient",
            json!({"UserPoolId": "p", "ClientName": "app"}),
            json!({"UserPoolClient": {"ClientId": "<secret:1>", "ClientName": "app"}}),
        );
        create.secrets.insert(
            1,
            SecretNote {
                digest: digest("4e7sn1q0b2gq3j5ajh7o2hbm1d"),
                form: Some(form_of("4e7sn1q0b2gq3j5ajh7o2hbm1d")),
                jwt: None,
            },
        );
        let mut auth = recorded(
            2,
            "InitiateAuth",
            json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "<secret:1>",
                   "AuthParameters": {"USERNAME": "<secret:2>", "PASSWORD": "<secret:3>"}}),
            json!({"AuthenticationResult": {"AccessToken": "<secret:4>", "ExpiresIn": 3600}}),
        );
        auth.secrets.insert(
            2,
            SecretNote {
                digest: digest("bob"),
                ..Default::default()
            },
        );
        auth.secrets.insert(
            3,
            SecretNote {
                digest: digest("Pa55-word!"),
                ..Default::default()
            },
        );
        auth.secrets.insert(
            4,
            SecretNote {
                digest: None,
                form: None,
                jwt: Some(TokenNote {
                    header: json!({"alg": "RS256", "kid": "k"}),
                    claims: json!({"client_id": "<secret:1>", "username": "<secret:2>",
                                   "token_use": "access", "iat": 1_000_000, "exp": 1_003_600}),
                }),
            },
        );
        let get = recorded(
            3,
            "GetUser",
            json!({"AccessToken": "<secret:4>"}),
            json!({"Username": "<secret:2>"}),
        );
        vec![create, auth, get]
    }

    fn sign_in(r: &Replayer, client: &str, password: &str) -> Replayed {
        ask(
            r,
            "InitiateAuth",
            json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client,
                   "AuthParameters": {"USERNAME": "bob", "PASSWORD": password}}),
        )
    }

    #[test]
    fn replay_serves_usable_secrets_and_refuses_wrong_ones() {
        let r = Replayer::from_exchanges("c.jsonl", session(None), Mode::None, None);
        let created = body(ask(
            &r,
            "CreateUserPoolClient",
            json!({"UserPoolId": "p", "ClientName": "app"}),
        ));
        let client = created["UserPoolClient"]["ClientId"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(!client.contains("secret"), "{client}");
        assert_eq!(client.len(), 26);

        // An unknown client id is not the one replay gave out.
        let (t, m) = error_type(sign_in(&r, "someotherclientid00000000a", "Pa55-word!"));
        assert_eq!(t, "ResourceNotFoundException", "{m}");

        let signed = body(sign_in(&r, &client, "Pa55-word!"));
        let token = signed["AuthenticationResult"]["AccessToken"]
            .as_str()
            .unwrap()
            .to_string();
        let jwks = body(r.respond(
            &classify(&http::Method::GET, &http::HeaderMap::new()),
            &http::Method::GET,
            "/p/.well-known/jwks.json",
            None,
            &Bytes::new(),
        ));
        let claims = jwt::verify_rs256(&token, &jwks).unwrap();
        assert_eq!(claims["client_id"], client.as_str());
        assert_eq!(claims["username"], "bob");
        assert_eq!(claims["token_use"], "access");
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            3600
        );
        let now = now_secs();
        assert!(
            (claims["iat"].as_i64().unwrap() - now).abs() < 60,
            "{claims}"
        );

        // The token goes back and is recognised; the username in the answer is the live one.
        assert_eq!(
            body(ask(&r, "GetUser", json!({"AccessToken": token})))["Username"],
            "bob"
        );
        let (t, _) = error_type(ask(
            &r,
            "GetUser",
            json!({"AccessToken": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}),
        ));
        assert_eq!(t, "NotAuthorizedException");

        // The password bound on first use; another one is Cognito's NotAuthorized.
        let (t, m) = error_type(sign_in(&r, &client, "wrong-password"));
        assert_eq!(
            (t.as_str(), m.as_str()),
            ("NotAuthorizedException", "Incorrect username or password.")
        );
        assert!(body(sign_in(&r, &client, "Pa55-word!"))["AuthenticationResult"].is_object());
    }

    #[test]
    fn with_the_cassette_key_a_wrong_secret_is_refused_on_first_use() {
        let key = CassetteKey::ephemeral();
        let r = Replayer::from_exchanges("c.jsonl", session(Some(&key)), Mode::None, Some(key));
        let created = body(ask(
            &r,
            "CreateUserPoolClient",
            json!({"UserPoolId": "p", "ClientName": "app"}),
        ));
        let client = created["UserPoolClient"]["ClientId"]
            .as_str()
            .unwrap()
            .to_string();
        // Served values are the replay's own, so they are checked by binding, not digest.
        let (t, _) = error_type(sign_in(&r, &client, "Pa55-word?"));
        assert_eq!(t, "NotAuthorizedException");
        assert!(body(sign_in(&r, &client, "Pa55-word!"))["AuthenticationResult"].is_object());
        // Without the key, the first password sent would have been taken.
        let r = Replayer::from_exchanges(
            "c.jsonl",
            session(Some(&CassetteKey::ephemeral())),
            Mode::None,
            None,
        );
        let created = body(ask(
            &r,
            "CreateUserPoolClient",
            json!({"UserPoolId": "p", "ClientName": "app"}),
        ));
        let client = created["UserPoolClient"]["ClientId"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(body(sign_in(&r, &client, "Pa55-word?"))["AuthenticationResult"].is_object());
    }

    #[test]
    fn labelled_requests_are_answered_from_their_own_scenario() {
        let labelled = |seq, scenario: &str, answer| {
            let mut ex = recorded(
                seq,
                "SignUp",
                json!({"ClientId": "<secret:1>", "Username": "<secret:2>"}),
                answer,
            );
            ex.request
                .headers
                .push((SCENARIO_HEADER.into(), scenario.into()));
            ex
        };
        let r = Replayer::from_exchanges(
            "c.jsonl",
            vec![
                labelled(1, "a::one", json!({"from": "a"})),
                labelled(2, "b::two", json!({"from": "b"})),
            ],
            Mode::None,
            None,
        );
        let sign_up = |label: &str| {
            r.respond(
                &class("SignUp"),
                &http::Method::POST,
                "/",
                Some(label),
                &Bytes::from(json!({"ClientId": "c", "Username": "u"}).to_string()),
            )
        };
        // Asked in the other order than recorded, each scenario still gets its own answer.
        assert_eq!(body(sign_up("b::two"))["from"], "b");
        assert_eq!(body(sign_up("a::one"))["from"], "a");
        // A scenario the recording does not hold is not answered from another one's.
        let Replayed::Miss(m) = sign_up("c::new") else {
            panic!("a scenario absent from the snapshot was answered")
        };
        let v: Value = serde_json::from_slice(&m.body).unwrap();
        assert_eq!(v["__type"], "CogcheckReplayMissException");
        let msg = v["message"].as_str().unwrap();
        assert!(
            msg.contains("scenario c::new is not in the snapshot"),
            "{msg}"
        );
        // An unlabelled request (a client other than the suite) may take any.
        assert!(matches!(
            r.respond(
                &class("SignUp"),
                &http::Method::POST,
                "/",
                None,
                &Bytes::from(json!({"ClientId": "c", "Username": "u"}).to_string()),
            ),
            Replayed::Hit(_)
        ));
    }

    #[test]
    fn volatile_members_are_ignored() {
        let a = normalize(
            json!({"ClientRequestToken": "1", "X": {"LastModifiedDate": 1.5}}),
            None,
            true,
        );
        let b = normalize(
            json!({"ClientRequestToken": "2", "X": {"LastModifiedDate": 9}}),
            None,
            true,
        );
        assert_eq!(canonical(&a), canonical(&b));
        assert_eq!(
            replace_placeholders("a <secret:1> <secret:x> b"),
            "a <secret> <secret:x> b"
        );
    }
}
