//! Secrets in replay: telling a right secret from a wrong one, and answering with values a
//! client can use.
//!
//! # Slots
//!
//! Where a recorded request holds a whole placeholder (`"PASSWORD": "<secret:3>"`, a form
//! field `code=<secret:9>`), the live request's value at the same place must be *that* secret:
//!
//! 1. if replay has already bound `<secret:3>` to a value (it served it, or a client sent it
//!    first), the live value must be equal;
//! 2. else, if the live value is bound to another placeholder, it is another secret;
//! 3. else, with the cassette key (`--cassette-key`), its digest must be the recorded one;
//! 4. else it is the first use, and it binds.
//!
//! A few values are chosen afresh by the client on every attempt (the SRP `A` value, proof
//! and timestamp, a device's verifier and salt): no recording can hold them, so their slots
//! are not checked ([`CLIENT_RANDOM`]).
//!
//! # Answers
//!
//! A placeholder in a recorded answer becomes its bound value; an unbound one becomes a fresh
//! value and binds, so the client sends it back and matches: a token (a JWT with the recorded
//! claims, placeholders in them filled the same way, times moved to now, signed by the
//! replay's key and published on its JWKS endpoint), or a value of the recorded form (see
//! `secret_notes.rs`), or 32 random letters and digits for a cassette without notes.
//!
//! # Wrong secrets
//!
//! When a request matches a recorded one in everything but a secret, replay answers as
//! Cognito does for that secret where the API reference names the error (`NotAuthorized` for
//! a wrong password, session, token; `CodeMismatch` for a wrong code; `ResourceNotFound` for
//! an unknown client id), and otherwise with the miss error naming the member.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use cogcheck::protocol::jwt::SigningKey;
use serde_json::Value;

use crate::answer::BufferedResponse;
use crate::fault::kind::error::{cognito_error, default_message};
use crate::redact::{self, placeholder_number};
use crate::secret_notes::{self, CassetteKey, FormPart, SecretNote};

/// Members whose values the client draws afresh for every attempt.
pub const CLIENT_RANDOM: &[&str] = &[
    "SRP_A",
    "PASSWORD_CLAIM_SIGNATURE",
    // The client's clock: two sign-ins in one second send the same one.
    "TIMESTAMP",
    // TOTP codes are the clock too: the code a client computes from the secret replay served
    // is not the recorded one, and two in one 30-second window are equal.
    "UserCode",
    "SOFTWARE_TOKEN_MFA_CODE",
    "PasswordVerifier",
    "Salt",
];

/// One step into a request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
    /// A field of a form-encoded body.
    Field(String),
}

/// A whole placeholder in a recorded request.
#[derive(Debug, Clone)]
pub struct Slot {
    path: Vec<Step>,
    n: u64,
}

impl Slot {
    /// `$.AuthParameters.PASSWORD`, or `form field code`.
    pub fn display(&self) -> String {
        let mut out = String::from("$");
        for step in &self.path {
            match step {
                Step::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
                Step::Field(f) => return format!("form field {f}"),
            }
        }
        out
    }

    fn member(&self) -> &str {
        match self.path.last() {
            Some(Step::Key(k)) | Some(Step::Field(k)) => k,
            _ => "",
        }
    }
}

/// The slots of a recorded request body (JSON, or a form in `text`).
pub fn slots(body: Option<&Value>, text: Option<&str>) -> Vec<Slot> {
    let mut out = Vec::new();
    if let Some(body) = body {
        walk(body, &mut Vec::new(), &mut out, 0);
    }
    if let Some(text) = text {
        for (k, v) in form_fields(text) {
            if let Some(n) = placeholder_number(v) {
                out.push(Slot {
                    path: vec![Step::Field(k.to_string())],
                    n,
                });
            }
        }
    }
    out.retain(|s| !CLIENT_RANDOM.contains(&s.member()));
    out
}

fn walk(value: &Value, path: &mut Vec<Step>, out: &mut Vec<Slot>, depth: usize) {
    if depth > cogcheck::model::MAX_DEPTH {
        return;
    }
    match value {
        Value::String(s) => {
            if let Some(n) = placeholder_number(s) {
                out.push(Slot {
                    path: path.clone(),
                    n,
                });
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                path.push(Step::Key(k.clone()));
                walk(v, path, out, depth + 1);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(Step::Index(i));
                walk(v, path, out, depth + 1);
                path.pop();
            }
        }
        _ => {}
    }
}

fn form_fields(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.split('&').filter_map(|pair| pair.split_once('='))
}

/// The live request's value at a slot, as text.
fn live_value(slot: &Slot, body: &Value) -> Option<String> {
    let mut at = body;
    for step in &slot.path {
        match step {
            Step::Key(k) => at = at.get(k)?,
            Step::Index(i) => at = at.get(i)?,
            Step::Field(f) => {
                let text = at.as_str()?;
                return form_fields(text)
                    .find(|(k, _)| k == f)
                    .map(|(_, v)| v.to_string());
            }
        }
    }
    match at {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Which values replay has given each placeholder, both ways.
#[derive(Default)]
pub struct Bindings {
    by_number: HashMap<u64, String>,
    by_value: HashMap<String, u64>,
}

impl Bindings {
    /// Gives placeholder `n` this value.
    pub fn bind(&mut self, n: u64, value: String) {
        self.by_value.insert(value.clone(), n);
        self.by_number.insert(n, value);
    }
}

/// Why a live request is not the recorded one at a slot.
pub struct WrongSecret {
    /// The slot.
    pub slot: Slot,
    /// The value sent there.
    pub sent: String,
    /// Why it is another secret.
    pub why: &'static str,
    /// How many of the request's slots agreed before this one: of several recorded requests
    /// a live one fails to match, the one it agrees with longest is the one it meant.
    pub agreed: usize,
}

/// The cassette's notes, the key, the replay's signing key.
pub struct Secrets {
    notes: HashMap<u64, SecretNote>,
    key: Option<CassetteKey>,
    signer: Option<SigningKey>,
}

impl Secrets {
    /// From a cassette's notes. Makes a signing key only when the cassette holds tokens.
    pub fn new(notes: HashMap<u64, SecretNote>, key: Option<CassetteKey>) -> Secrets {
        let signer = if notes.values().any(|n| n.jwt.is_some()) {
            match SigningKey::generate("cogcheck-replay-") {
                Ok(k) => Some(k),
                Err(e) => {
                    tracing::error!(error = %e, "cannot make the replay's signing key; tokens are served as opaque strings");
                    None
                }
            }
        } else {
            None
        };
        Secrets { notes, key, signer }
    }

    /// The JWKS that verifies the tokens replay serves.
    pub fn jwks(&self) -> Value {
        match &self.signer {
            Some(k) => k.jwks(),
            None => serde_json::json!({ "keys": [] }),
        }
    }

    /// Checks a live body against a recorded request's slots. The bindings it would add and
    /// how many slots matched a value replay had already bound (evidence that this recorded
    /// request is the one meant, where first uses only fail to contradict it), or the first
    /// slot where the live request holds another secret.
    pub fn check(
        &self,
        slots: &[Slot],
        live: &Value,
        bindings: &Bindings,
    ) -> Result<(Vec<(u64, String)>, usize), WrongSecret> {
        let mut new: Vec<(u64, String)> = Vec::new();
        let mut bound_matches = 0;
        for (agreed, slot) in slots.iter().enumerate() {
            let Some(sent) = live_value(slot, live) else {
                // An absent or null secret where one was recorded: the normalized bodies
                // already differ there, or the model made it a placeholder; nothing to bind.
                continue;
            };
            let wrong = |why| {
                Err(WrongSecret {
                    slot: slot.clone(),
                    sent: sent.clone(),
                    why,
                    agreed,
                })
            };
            let bound = bindings
                .by_number
                .get(&slot.n)
                .or_else(|| new.iter().find(|(n, _)| *n == slot.n).map(|(_, v)| v));
            if let Some(bound) = bound {
                if *bound != sent {
                    return wrong("replay has already seen another value for it");
                }
                bound_matches += 1;
                continue;
            }
            let elsewhere = bindings
                .by_value
                .get(&sent)
                .copied()
                .or_else(|| new.iter().find(|(_, v)| *v == sent).map(|(n, _)| *n));
            if elsewhere.is_some_and(|m| m != slot.n) {
                return wrong("the value is a different secret of the recording");
            }
            if let (Some(key), Some(digest)) = (
                &self.key,
                self.notes.get(&slot.n).and_then(|n| n.digest.as_deref()),
            ) {
                if secret_notes::hex(&key.digest(sent.as_bytes())) != digest {
                    return wrong("its digest under the cassette key is not the recorded one");
                }
            }
            new.push((slot.n, sent));
        }
        Ok((new, bound_matches))
    }

    /// Fills every placeholder in a recorded answer's strings (see the module docs).
    pub fn fill_value(&self, value: &mut Value, bindings: &mut Bindings) {
        crate::redact::scan_strings(value, &mut |s| self.fill_text(s, bindings), 0);
    }

    /// Fills the placeholders in one string; `None` when it has none.
    pub fn fill_text(&self, text: &str, bindings: &mut Bindings) -> Option<String> {
        redact::map_placeholders(text, |n| self.value_for(n, bindings))
    }

    fn value_for(&self, n: u64, bindings: &mut Bindings) -> String {
        if let Some(v) = bindings.by_number.get(&n) {
            return v.clone();
        }
        let note = self.notes.get(&n);
        let value = match (note.and_then(|n| n.jwt.as_ref()), &self.signer) {
            (Some(token), Some(signer)) => {
                let mut claims = token.claims.clone();
                self.fill_value(&mut claims, bindings);
                shift_times(&mut claims);
                signer.sign(&claims).unwrap_or_else(|e| {
                    tracing::error!(error = %e, "cannot sign a replayed token");
                    fresh(None, bindings)
                })
            }
            _ => fresh(note.and_then(|n| n.form.as_deref()), bindings),
        };
        bindings.bind(n, value.clone());
        value
    }

    /// Cognito's answer to a request that sent another secret, where the API reference names
    /// the error for it; `None` for the rest (the caller answers with a miss).
    pub fn wrong_secret_answer(&self, wrong: &WrongSecret) -> Option<BufferedResponse> {
        // Error types from the API reference's "Errors" sections of InitiateAuth,
        // RespondToAuthChallenge, ConfirmSignUp, ConfirmForgotPassword, GetUser: a wrong
        // password, session or token is NotAuthorizedException ("This exception is thrown
        // when a user isn't authorized"), a wrong code CodeMismatchException ("the provided
        // code doesn't match what the server was expecting"), an unknown client
        // ResourceNotFoundException. Messages as Cognito words them (fault/kind/error.rs).
        let (error, message) = match wrong.slot.member() {
            "PASSWORD" | "PreviousPassword" => ("NotAuthorizedException", None),
            "Session" => (
                "NotAuthorizedException",
                Some("Invalid session for the user.".to_string()),
            ),
            "AccessToken" => (
                "NotAuthorizedException",
                Some("Invalid Access Token".to_string()),
            ),
            "REFRESH_TOKEN" => (
                "NotAuthorizedException",
                Some("Invalid Refresh Token".to_string()),
            ),
            "ConfirmationCode" | "Code" | "UserCode" => ("CodeMismatchException", None),
            "ClientId" => (
                "ResourceNotFoundException",
                Some(format!("User pool client {} does not exist.", wrong.sent)),
            ),
            _ => return None,
        };
        let message = message.unwrap_or_else(|| default_message(error).to_string());
        let mut answer = cognito_error(error, 400, &message, &crate::answer::request_id());
        if let Ok(v) = http::HeaderValue::from_str(&format!(
            "wrong secret at {}: {}",
            wrong.slot.display(),
            wrong.why
        )) {
            answer.headers.insert("x-cogcheck-replay", v);
        }
        Some(answer)
    }
}

/// A value no placeholder holds yet.
fn fresh(form: Option<&[FormPart]>, bindings: &Bindings) -> String {
    let default = [FormPart::Run {
        chars: "9a".into(),
        len: 32,
    }];
    let form = form.unwrap_or(&default);
    let mut value = secret_notes::generate(form);
    // A short form (a six-digit code) may repeat a value already given out; draw again a few
    // times rather than make two placeholders one secret.
    for _ in 0..8 {
        if !bindings.by_value.contains_key(&value) {
            break;
        }
        value = secret_notes::generate(form);
    }
    value
}

/// Moves a token's times so it was issued now and lives as long as the recorded one did.
fn shift_times(claims: &mut Value) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let Some(iat) = claims.get("iat").and_then(Value::as_i64) else {
        return;
    };
    let delta = now - iat;
    for name in ["iat", "exp", "nbf", "auth_time"] {
        if let Some(t) = claims.get(name).and_then(Value::as_i64) {
            claims[name] = Value::from(t.saturating_add(delta));
        }
    }
}
