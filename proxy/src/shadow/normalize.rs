//! Normalization: each answer's body becomes a value in which everything that legitimately
//! differs between two backends is a placeholder, so that what remains can be compared.
//!
//! In order:
//!
//! 1. **Learned identifiers** (see `mapping.rs`) become `<kind:n>`: `<pool-id:1>`,
//!    `<client-id:1>`, `<sub:2>`, `<session:1>`, `<device-key:1>`, ... The same pair gets the
//!    same number on both sides; numbers count from 1 in each compared exchange, in order of
//!    first appearance in the primary's body, so records are stable from run to run. A
//!    learned value inside a longer string (a pool id in an error message or an issuer URL)
//!    is replaced in place.
//! 2. **JWTs** become `{"<jwt>": {"header": ..., "claims": ...}}` with the claims normalized
//!    the same way, time claims (`iat`, `exp`, `auth_time`, `nbf`) as `<timestamp>` and the
//!    header's `kid` as `<kid>`; so two tokens are compared claim by claim. A token whose
//!    counterpart is a cassette's `<secret:N>` (tokens are redacted in recordings) is `<jwt>`
//!    on both sides: there are no claims to compare.
//! 3. **Error types**: `__type` loses its namespace (`com.amazonaws...#X` becomes `X`).
//! 4. **Noise rules** (see `noise.rs`): timestamps, messages, ARN account ids, SRP randomness,
//!    orders.
//! 5. **Credentials left over** (a value under a member whose name says token, secret,
//!    session, password, credential or verifier, 16 characters or more, that is not already a
//!    placeholder) become `<credential>`, so a diff record never carries a live secret.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use cogcheck::protocol::jwt::{self, is_jwt};

use super::identify::replace_tokens;
use super::mapping::{Mapping, Side};
use super::noise::NoiseRules;
use crate::redact::{is_placeholder, secret_name};

const TIME_CLAIMS: &[&str] = &["iat", "exp", "auth_time", "nbf"];

/// Numbers placeholders within one compared exchange.
#[derive(Default)]
pub struct Numbering {
    numbers: HashMap<usize, usize>,
    counters: HashMap<&'static str, usize>,
}

impl Numbering {
    fn number(&mut self, pair: usize, kind: &'static str) -> usize {
        if let Some(n) = self.numbers.get(&pair) {
            return *n;
        }
        let c = self.counters.entry(kind).or_insert(0);
        *c += 1;
        self.numbers.insert(pair, *c);
        *c
    }
}

/// Normalizes bodies of one exchange (both sides share a [`Numbering`]).
pub struct Normalizer<'a> {
    mapping: &'a Mapping,
    rules: &'a NoiseRules,
    numbering: Numbering,
}

impl<'a> Normalizer<'a> {
    /// A normalizer for one exchange.
    pub fn new(mapping: &'a Mapping, rules: &'a NoiseRules) -> Normalizer<'a> {
        Normalizer {
            mapping,
            rules,
            numbering: Numbering::default(),
        }
    }

    /// The normalized form of one side's body.
    pub fn normalize(&mut self, side: Side, action: &str, body: &Value) -> Value {
        let mut v = self.value(side, body, "", 0);
        if let Some(Value::String(t)) = v.get_mut("__type") {
            *t = short_error_type(t);
        }
        self.rules.apply(action, &mut v);
        scrub(&mut v, "", 0);
        v
    }

    fn value(&mut self, side: Side, v: &Value, key: &str, depth: usize) -> Value {
        if depth > 64 {
            return v.clone();
        }
        match v {
            Value::String(s) => self.string(side, s, key, depth),
            Value::Number(_) if TIME_CLAIMS.contains(&key) => json!("<timestamp>"),
            Value::Object(map) => {
                let attr_name = match (map.get("Name"), map.get("Value")) {
                    (Some(Value::String(n)), Some(_)) if map.len() == 2 => Some(n.clone()),
                    _ => None,
                };
                let mut out = Map::new();
                for (k, child) in map {
                    let key = match (&attr_name, k.as_str()) {
                        (Some(n), "Value") => n.as_str(),
                        _ => k.as_str(),
                    };
                    out.insert(k.clone(), self.value(side, child, key, depth + 1));
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.value(side, i, key, depth + 1))
                    .collect(),
            ),
            Value::Null | Value::Bool(_) | Value::Number(_) => v.clone(),
        }
    }

    fn string(&mut self, side: Side, s: &str, key: &str, depth: usize) -> Value {
        if TIME_CLAIMS.contains(&key) {
            return json!("<timestamp>");
        }
        if let Some((i, pair)) = self.mapping.lookup(side, s) {
            let redacted = is_placeholder(&pair.primary) || is_placeholder(&pair.shadow);
            if is_jwt(s) && !redacted {
                return self.jwt(side, s, depth);
            }
            if pair.kind == "jwt" || is_jwt(&pair.primary) || is_jwt(&pair.shadow) {
                return json!("<jwt>");
            }
            let kind = pair.kind;
            return Value::String(format!("<{kind}:{}>", self.numbering.number(i, kind)));
        }
        if is_jwt(s) {
            return self.jwt(side, s, depth);
        }
        if is_placeholder(s) {
            return json!("<secret>");
        }
        Value::String(self.text(side, s))
    }

    fn jwt(&mut self, side: Side, token: &str, depth: usize) -> Value {
        match jwt::decode_unverified(token) {
            Ok((header, claims)) => {
                let mut header = header;
                if let Some(kid) = header.get_mut("kid") {
                    *kid = json!("<kid>");
                }
                let claims = self.value(side, &claims, "", depth + 1);
                json!({"<jwt>": {"header": header, "claims": claims}})
            }
            Err(_) => json!("<jwt>"),
        }
    }

    /// Learned values and JWTs inside a longer text.
    fn text(&mut self, side: Side, s: &str) -> String {
        let spans = jwt::find(s);
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for (start, end) in spans.into_iter().chain(std::iter::once((s.len(), s.len()))) {
            self.tokens(side, &s[at..start], &mut out);
            if start < end {
                out.push_str("<jwt>");
            }
            at = end;
        }
        out
    }

    fn tokens(&mut self, side: Side, s: &str, out: &mut String) {
        let (mapping, numbering) = (&self.mapping, &mut self.numbering);
        replace_tokens(s, out, |token| {
            mapping.lookup(side, token).map(|(i, pair)| {
                let n = numbering.number(i, pair.kind);
                format!("<{}:{n}>", pair.kind)
            })
        });
    }
}

/// `aws.cognito#NotAuthorizedException:http://...` → `NotAuthorizedException`.
pub fn short_error_type(t: &str) -> String {
    let t = t.rsplit('#').next().unwrap_or(t);
    t.split(':').next().unwrap_or(t).to_string()
}

fn scrub(v: &mut Value, key: &str, depth: usize) {
    if depth > 64 {
        return;
    }
    match v {
        Value::String(s) => {
            if secret_name(key) && key != "code" && s.len() >= 16 && !s.starts_with('<') {
                *s = "<credential>".into();
            }
        }
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                scrub(child, k, depth + 1);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| scrub(i, key, depth + 1)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A value with object keys sorted at every level, for stable pretty-printing.
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT_A: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImEifQ.eyJzdWIiOiIxMTExMTExMS0xMTExLTExMTEtMTExMS0xMTExMTExMTExMTEiLCJpYXQiOjEsInRva2VuX3VzZSI6ImFjY2VzcyJ9.c2ln";
    const JWT_B: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImIifQ.eyJzdWIiOiIyMjIyMjIyMi0yMjIyLTIyMjItMjIyMi0yMjIyMjIyMjIyMjIiLCJpYXQiOjIsInRva2VuX3VzZSI6ImFjY2VzcyJ9.c2ln";

    #[test]
    fn learned_values_and_jwts_normalize_alike() {
        let mut m = Mapping::new();
        let none = http::HeaderMap::new();
        let a = json!({"UserPool": {"Id": "us-east-1_AAA"}, "AccessToken": JWT_A,
                       "message": "pool us-east-1_AAA is gone", "CreationDate": 1.0});
        let b = json!({"UserPool": {"Id": "us-east-1_BBB"}, "AccessToken": JWT_B,
                       "message": "pool us-east-1_BBB is gone", "CreationDate": 2.0});
        m.learn(&json!({}), &a, &b, (&none, &none));
        let rules = NoiseRules::none();
        let mut n = Normalizer::new(&m, &rules);
        let na = n.normalize(Side::Primary, "X", &a);
        let nb = n.normalize(Side::Shadow, "X", &b);
        assert_eq!(na["UserPool"]["Id"], "<pool-id:1>");
        assert_eq!(na["message"], "pool <pool-id:1> is gone");
        assert_eq!(na["AccessToken"]["<jwt>"]["claims"]["sub"], "<sub:1>");
        assert_eq!(na["AccessToken"]["<jwt>"]["claims"]["iat"], "<timestamp>");
        assert_eq!(na["AccessToken"]["<jwt>"]["header"]["kid"], "<kid>");
        // Dates are left to the noise rules.
        assert_ne!(na, nb);
        let defaults = NoiseRules::defaults().unwrap();
        let mut n = Normalizer::new(&m, &defaults);
        assert_eq!(
            n.normalize(Side::Primary, "X", &a),
            n.normalize(Side::Shadow, "X", &b)
        );
    }

    #[test]
    fn error_types_lose_their_namespace() {
        assert_eq!(
            short_error_type("com.amazonaws.cognito#NotAuthorizedException:http://x"),
            "NotAuthorizedException"
        );
        assert_eq!(short_error_type("X"), "X");
    }
}
