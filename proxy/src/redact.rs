//! Redaction: secrets become stable placeholders before anything touches disk.
//!
//! What is a secret is decided by one reviewed list, fixtures/secrets.toml (read through
//! `cogcheck::secret_list::list`), together with the service model. In order:
//!
//! 1. **Modeled members.** The request body is walked with the operation's input shape and a
//!    success body with its output shape ([`Model::redact_sensitive`]); every value the model
//!    marks `sensitive` (passwords, tokens, client secrets, sessions, secret hashes, but also
//!    usernames, client ids and attribute values, which the model marks sensitive too), and
//!    every shape and member fixtures/secrets.toml adds (confirmation codes, device keys and
//!    verifiers, challenge parameters but for the few that name challenges) is replaced.
//!    Inside a sensitive map the keys stay (`AuthParameters.USERNAME`).
//! 2. **Headers**, by the list's `[headers]`: credentials (`Authorization`,
//!    `X-Amz-Security-Token`, cookies) and emulator headers that carry codes
//!    (`x-moto-forgot-password-confirmation-code`), and any header named like a secret.
//! 3. **JWTs anywhere.** Any string in any body (error messages, members an emulator adds,
//!    members the model does not know yet, OAuth responses) is scanned for JWS/JWE compact
//!    tokens (`eyJ...` followed by two or four dot-separated base64url segments), and each is
//!    replaced. A token is a bearer credential wherever it appears, and scanning is cheap.
//! 4. **Names, where there is no model.** Bodies of unknown actions and non-API requests (the
//!    OAuth endpoints) have no shape to walk; there, members or form fields named as the
//!    list's `[names]` say (`password`, `code`, `client_secret`, ...) are replaced.
//!
//! Each distinct secret becomes `<secret:N>`, numbered in order of first appearance. The same
//! secret gets the same placeholder everywhere in a run, so an access token issued in one
//! answer lines up with the request that later sends it. The map from secret to number is
//! keyed by an HMAC-SHA256 of the value: the secrets themselves are never kept. The key is
//! random per process, or the cassette key of `--cassette-key`; only with a cassette key are
//! digests written (see `secret_notes.rs`, which also says what else the recorder notes about
//! each placeholder so replay can be faithful). When a run appends to an existing cassette,
//! numbering continues after the highest placeholder in it, so numbers never collide; with the
//! same cassette key, a secret seen in an earlier run keeps its number.

use std::collections::HashMap;

use cogcheck::model::Model;
use cogcheck::protocol::jwt;
use serde_json::Value;

use crate::secret_notes::{self, CassetteKey, Notes, SecretNote, TokenNote};

/// Placeholders start with this.
pub const PLACEHOLDER_PREFIX: &str = "<secret:";

/// Where the value being redacted travels: what the recorder may note about a new secret
/// depends on it (a client's own secrets never get a `form`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// From the client.
    Request,
    /// From the upstream.
    Answer,
}

/// Replaces secrets with stable placeholders. One per recorder: its numbering is the
/// cassette's.
pub struct Redactor {
    key: CassetteKey,
    write_digests: bool,
    seen: HashMap<[u8; 32], u64>,
    next: u64,
    origin: Origin,
    notes: Notes,
    /// The request's secrets, with their placeholders, while its answer is redacted: an
    /// upstream may echo one in an error message (moto's NotAuthorizedException repeats the
    /// access token it refused). Held in memory for one exchange only.
    echoes: Vec<(String, String)>,
}

/// Shorter secrets are not searched for in answers: "123456" would match inside any number.
const MIN_ECHO: usize = 8;

impl Redactor {
    /// A redactor whose first placeholder is `<secret:first>`, with a key of its own that is
    /// never written: no digests.
    pub fn new(first: u64) -> Redactor {
        Redactor::with_key(first, CassetteKey::ephemeral(), false, HashMap::new())
    }

    /// A redactor under a cassette key. With `write_digests`, each new placeholder's note holds
    /// its digest; `known` maps the digests of an existing cassette to their numbers, so a
    /// secret keeps its number across appending runs.
    pub fn with_key(
        first: u64,
        key: CassetteKey,
        write_digests: bool,
        known: HashMap<[u8; 32], u64>,
    ) -> Redactor {
        Redactor {
            key,
            write_digests,
            seen: known,
            next: first.max(1),
            origin: Origin::Request,
            notes: Notes::new(),
            echoes: Vec::new(),
        }
    }

    /// Says where the next values come from. A new request forgets the last one's secrets.
    pub fn set_origin(&mut self, origin: Origin) {
        if origin == Origin::Request {
            self.echoes.clear();
        }
        self.origin = origin;
    }

    /// The notes about placeholders made since the last call.
    pub fn take_notes(&mut self) -> Notes {
        std::mem::take(&mut self.notes)
    }

    /// The placeholder for a secret.
    pub fn placeholder(&mut self, secret: &[u8]) -> String {
        let placeholder = self.number(secret);
        if self.origin == Origin::Request && secret.len() >= MIN_ECHO {
            if let Ok(text) = std::str::from_utf8(secret) {
                self.echoes.push((text.to_string(), placeholder.clone()));
            }
        }
        placeholder
    }

    /// True when `raw`, an answer's bytes, contains one of the current request's secrets.
    /// Exact for JSON without escapes, whose strings are their bytes.
    pub fn echoed_in(&self, raw: &[u8]) -> bool {
        self.origin == Origin::Answer
            && self
                .echoes
                .iter()
                .any(|(secret, _)| memchr::memmem::find(raw, secret.as_bytes()).is_some())
    }

    /// Replaces the current request's secrets where an answer's text repeats them.
    fn redact_echoes(&self, text: &str) -> Option<String> {
        let mut out: Option<String> = None;
        for (secret, placeholder) in &self.echoes {
            let current = out.as_deref().unwrap_or(text);
            if current.contains(secret.as_str()) {
                out = Some(current.replace(secret.as_str(), placeholder));
            }
        }
        out
    }

    fn number(&mut self, secret: &[u8]) -> String {
        let digest = self.key.digest(secret);
        if let Some(n) = self.seen.get(&digest) {
            return format!("{PLACEHOLDER_PREFIX}{n}>");
        }
        let n = self.next;
        // Saturating: numbering continues from a cassette's largest placeholder, which may be
        // near u64::MAX (see `Recorder::open`); an overflow panicked.
        self.next = self.next.saturating_add(1);
        self.seen.insert(digest, n);
        let mut note = SecretNote {
            digest: self.write_digests.then(|| secret_notes::hex(&digest)),
            ..SecretNote::default()
        };
        if let Ok(text) = std::str::from_utf8(secret) {
            match jwt::decode_unverified(text) {
                Ok((header, mut claims)) => {
                    self.redact_claims(&mut claims);
                    note.jwt = Some(TokenNote {
                        header: secret_notes::kept_header(&header),
                        claims,
                    });
                }
                Err(_) if self.origin == Origin::Answer => {
                    note.form = Some(secret_notes::form_of(text));
                }
                Err(_) => {}
            }
        }
        if note != SecretNote::default() {
            self.notes.insert(n, note);
        }
        format!("{PLACEHOLDER_PREFIX}{n}>")
    }

    /// Every claim but the structural ones becomes a placeholder, as the same value would
    /// anywhere else in the cassette.
    fn redact_claims(&mut self, claims: &mut Value) {
        if let Value::Object(map) = claims {
            for (name, value) in map.iter_mut() {
                if !secret_notes::KEPT_CLAIMS.contains(&name.as_str()) {
                    cogcheck::model::redact_leaves(value, &mut |v| self.redact_value(v), 0);
                }
            }
        }
    }

    /// Redacts one JSON leaf: strings, numbers and booleans become placeholders; `null` and
    /// values that are already placeholders stay.
    pub fn redact_value(&mut self, value: &Value) -> Value {
        match value {
            Value::Null => Value::Null,
            Value::String(s) if is_placeholder(s) => value.clone(),
            Value::String(s) => Value::String(self.placeholder(s.as_bytes())),
            other => Value::String(self.placeholder(other.to_string().as_bytes())),
        }
    }

    /// Redacts a JSON body. `shape` is the model shape to walk, when there is one.
    pub fn redact_json(&mut self, shape: Option<&str>, value: &mut Value) {
        match shape {
            Some(shape) => {
                Model::get().redact_sensitive(shape, value, &mut |v| self.redact_value(v))
            }
            None => cogcheck::model::redact_by_name(value, &mut |v| self.redact_value(v)),
        }
        scan_strings(value, &mut |s| self.redact_jwts(s), 0);
    }

    /// Replaces every JWT inside `text`, and in an answer the request's secrets it repeats.
    pub fn redact_jwts(&mut self, text: &str) -> Option<String> {
        let echoed = match self.origin {
            Origin::Answer => self.redact_echoes(text),
            Origin::Request => None,
        };
        let text = echoed.as_deref().unwrap_or(text);
        let spans = jwt::find(text);
        if spans.is_empty() {
            return echoed;
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in spans {
            out.push_str(&text[at..start]);
            out.push_str(&self.placeholder(&text.as_bytes()[start..end]));
            at = end;
        }
        out.push_str(&text[at..]);
        Some(out)
    }

    /// Redacts a form-encoded body (`a=b&c=d`) by field name, then any JWTs in it.
    pub fn redact_form(&mut self, text: &str) -> String {
        let redacted: Vec<String> = text
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) if secret_name(k) && !v.is_empty() => {
                    format!("{k}={}", self.placeholder(v.as_bytes()))
                }
                _ => pair.to_string(),
            })
            .collect();
        let joined = redacted.join("&");
        self.redact_jwts(&joined).unwrap_or(joined)
    }

    /// Headers as `[name, value]` pairs, credential headers redacted.
    pub fn redact_headers(&mut self, headers: &http::HeaderMap) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(k, v)| {
                let value = if cogcheck::secret_list::list().header_is_secret(k.as_str()) {
                    self.placeholder(v.as_bytes())
                } else {
                    let text = String::from_utf8_lossy(v.as_bytes());
                    self.redact_jwts(&text).unwrap_or_else(|| text.into_owned())
                };
                (k.as_str().to_string(), value)
            })
            .collect()
    }
}

/// True for `<secret:N>`.
pub fn is_placeholder(s: &str) -> bool {
    placeholder_number(s).is_some()
}

/// `N` when `s` is exactly the placeholder `<secret:N>`.
pub fn placeholder_number(s: &str) -> Option<u64> {
    match placeholder_at(s) {
        Some((n, len)) if len == s.len() => Some(n),
        _ => None,
    }
}

/// The placeholder `s` starts with: its number and length.
fn placeholder_at(s: &str) -> Option<(u64, usize)> {
    let rest = s.strip_prefix(PLACEHOLDER_PREFIX)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || !rest[digits..].starts_with('>') {
        return None;
    }
    let n = rest[..digits].parse().ok()?;
    Some((n, PLACEHOLDER_PREFIX.len() + digits + 1))
}

/// `text` with every placeholder replaced by `with(N)`; `None` when it holds none. The one
/// scanner for placeholders inside longer text (form bodies, headers, messages).
pub fn map_placeholders(text: &str, mut with: impl FnMut(u64) -> String) -> Option<String> {
    if !text.contains(PLACEHOLDER_PREFIX) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut found = false;
    while let Some(i) = rest.find(PLACEHOLDER_PREFIX) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        match placeholder_at(tail) {
            Some((n, len)) => {
                found = true;
                out.push_str(&with(n));
                rest = &tail[len..];
            }
            None => {
                out.push('<');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    found.then_some(out)
}

/// The highest placeholder number in a text (0 when there is none).
pub fn max_placeholder(text: &str) -> u64 {
    let mut max = 0;
    map_placeholders(text, |n| {
        max = max.max(n);
        String::new()
    });
    max
}

/// True for member and field names that hold secrets where no model says so
/// (fixtures/secrets.toml, `[names]`).
pub fn secret_name(name: &str) -> bool {
    cogcheck::secret_list::list().name_is_secret(name)
}

/// Deep structures are cut off rather than recursed into without bound (the suite's limit, so
/// both walks stop at the same depth).
const MAX_DEPTH: usize = cogcheck::model::MAX_DEPTH;

/// Applies `f` to every string (values, not keys); `Some` replaces it.
pub fn scan_strings(value: &mut Value, f: &mut dyn FnMut(&str) -> Option<String>, depth: usize) {
    match value {
        Value::String(s) => {
            if let Some(new) = f(s) {
                *s = new;
            }
        }
        Value::Object(map) if depth <= MAX_DEPTH => {
            for v in map.values_mut() {
                scan_strings(v, f, depth + 1);
            }
        }
        Value::Array(items) if depth <= MAX_DEPTH => {
            for v in items {
                scan_strings(v, f, depth + 1);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhYmMifQ.c2lnbmF0dXJl-_x";

    #[test]
    fn same_secret_same_placeholder() {
        let mut r = Redactor::new(1);
        let a = r.placeholder(b"hunter2");
        let b = r.placeholder(b"other");
        assert_eq!(a, "<secret:1>");
        assert_eq!(b, "<secret:2>");
        assert_eq!(r.placeholder(b"hunter2"), a);
        let mut later = Redactor::new(10);
        assert_eq!(later.placeholder(b"x"), "<secret:10>");
    }

    #[test]
    fn modeled_members_are_redacted_with_keys_kept() {
        let mut r = Redactor::new(1);
        let mut body = json!({
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": "client",
            "AuthParameters": {"USERNAME": "alice", "PASSWORD": "Canary-Pa55!"}
        });
        r.redact_json(Some("InitiateAuthRequest"), &mut body);
        let text = body.to_string();
        assert!(!text.contains("Canary-Pa55!"), "{text}");
        assert!(!text.contains("alice"), "{text}");
        assert_eq!(body["AuthFlow"], "USER_PASSWORD_AUTH");
        assert!(body["AuthParameters"]["PASSWORD"]
            .as_str()
            .is_some_and(is_placeholder));
    }

    #[test]
    fn jwts_are_found_anywhere() {
        // What counts as a token is cogcheck::protocol::jwt::find's business (tested there).
        let mut r = Redactor::new(1);
        let mut body = json!({"Unmodeled": {"deep": [format!("Bearer {JWT}")]}, "message": JWT});
        r.redact_json(Some("GetUserResponse"), &mut body);
        assert_eq!(body["message"], "<secret:1>");
        assert_eq!(body["Unmodeled"]["deep"][0], "Bearer <secret:1>");
    }

    #[test]
    fn an_answer_repeating_a_request_secret_gets_its_placeholder() {
        let mut r = Redactor::new(1);
        let mut request = json!({"AccessToken": "not-a-real-access-token"});
        r.redact_json(Some("GetUserRequest"), &mut request);
        r.set_origin(Origin::Answer);
        let mut answer = json!({"__type": "NotAuthorizedException",
                                "message": "Invalid token not-a-real-access-token given"});
        r.redact_json(None, &mut answer);
        assert_eq!(
            answer["message"],
            format!(
                "Invalid token {} given",
                request["AccessToken"].as_str().unwrap()
            )
        );
        let mut h = http::HeaderMap::new();
        h.insert(
            "x-amzn-errormessage",
            "bad not-a-real-access-token".parse().unwrap(),
        );
        assert!(!r.redact_headers(&h)[0].1.contains("not-a-real"));
        // The next exchange's answers no longer search for it.
        r.set_origin(Origin::Request);
        r.set_origin(Origin::Answer);
        assert_eq!(r.redact_jwts("not-a-real-access-token"), None);
    }

    #[test]
    fn a_status_filter_is_no_secret_and_its_answer_keeps_the_status() {
        let mut r = Redactor::new(1);
        let mut request = json!({"UserPoolId": "us-east-1_x",
                                 "Filter": "cognito:user_status = \"CONFIRMED\""});
        r.redact_json(Some("ListUsersRequest"), &mut request);
        assert_eq!(request["Filter"], "cognito:user_status = \"CONFIRMED\"");
        r.set_origin(Origin::Answer);
        let mut answer = json!({"Users": [{"Username": "alice", "UserStatus": "CONFIRMED"}]});
        r.redact_json(Some("ListUsersResponse"), &mut answer);
        assert_eq!(answer["Users"][0]["UserStatus"], "CONFIRMED");
    }

    #[test]
    fn names_where_there_is_no_model() {
        let mut r = Redactor::new(1);
        let mut body =
            json!({"access_token": "a", "expires_in": 3600, "nested": {"ClientSecret": "s"}});
        r.redact_json(None, &mut body);
        assert!(is_placeholder(body["access_token"].as_str().unwrap()));
        assert_eq!(body["expires_in"], 3600);
        assert!(is_placeholder(
            body["nested"]["ClientSecret"].as_str().unwrap()
        ));
        let form = r.redact_form("grant_type=authorization_code&code=abc&client_secret=zzz");
        assert!(
            form.starts_with("grant_type=authorization_code&code=<secret:"),
            "{form}"
        );
        assert!(!form.contains("zzz"));
    }

    #[test]
    fn credential_headers() {
        let mut r = Redactor::new(1);
        let mut h = http::HeaderMap::new();
        h.insert("authorization", "AWS4-HMAC-SHA256 x".parse().unwrap());
        h.insert("x-amz-security-token", "tok".parse().unwrap());
        h.insert("x-amz-target", "t".parse().unwrap());
        h.insert(
            "x-moto-forgot-password-confirmation-code",
            "123456".parse().unwrap(),
        );
        let pairs = r.redact_headers(&h);
        assert_eq!(pairs.len(), 4);
        assert!(pairs
            .iter()
            .all(|(k, v)| k == "x-amz-target" || is_placeholder(v)));
    }

    #[test]
    fn placeholders_are_recognised() {
        assert!(is_placeholder("<secret:12>"));
        assert!(!is_placeholder("<secret:>"));
        assert!(!is_placeholder("<secret:1a>"));
        assert_eq!(max_placeholder("a <secret:3> b <secret:12> <secret:x>"), 12);
        assert_eq!(max_placeholder("none"), 0);
        assert_eq!(placeholder_number("<secret:7>"), Some(7));
        assert_eq!(placeholder_number("<secret:7> "), None);
        assert_eq!(
            map_placeholders("x<secret:1>&y=<secret:2><secret:z><secret:", |n| format!(
                "[{n}]"
            ))
            .as_deref(),
            Some("x[1]&y=[2]<secret:z><secret:")
        );
        assert_eq!(map_placeholders("<secret:>", |_| String::new()), None);
    }
}
