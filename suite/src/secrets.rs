//! Secrets never reach a results file, a report or an expectations file: what a finding
//! quotes is redacted by the model's `sensitive` trait and scrubbed of every secret the
//! scenario sent or received, and of anything shaped like a JWT.
//!
//! What is secret beyond the model's trait is one reviewed list, fixtures/secrets.toml,
//! compiled in and read here ([`list`]). [`Model::get`] applies it to the model, so every
//! walk of the model (these results, the recording proxy's cassettes and replay matching)
//! redacts the same members; the proxy asks [`SecretList::header_is_secret`] and
//! [`SecretList::name_is_secret`] for headers and for bodies there is no model for.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use crate::model::Model;

const EMBEDDED: &str = include_str!("../../fixtures/secrets.toml");

/// fixtures/secrets.toml: what is secret in this API beyond the model's `sensitive` trait.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretList {
    /// Shapes whose every value is secret, with why.
    #[serde(default)]
    pub shapes: BTreeMap<String, String>,
    /// `Shape.Member` names whose values are secret, with why.
    #[serde(default)]
    pub members: BTreeMap<String, String>,
    /// Map shapes whose values are secret except under some keys.
    #[serde(default)]
    pub maps: BTreeMap<String, SecretMap>,
    /// Secret headers.
    pub headers: NameRule,
    /// Secret member and form field names, where there is no model.
    pub names: NameRule,
}

/// A map whose values are secret except under [`SecretMap::public`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretMap {
    /// Keys whose values are not secret.
    pub public: Vec<String>,
}

/// Names that are secret: exactly these, or containing one of the words (lowercase).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameRule {
    /// Whole names.
    pub exact: Vec<String>,
    /// Parts of names.
    pub words: Vec<String>,
}

impl NameRule {
    fn matches(&self, name: &str) -> bool {
        let n = name.to_ascii_lowercase();
        self.exact.contains(&n) || self.words.iter().any(|w| n.contains(w.as_str()))
    }
}

impl SecretList {
    /// True for a header (any case) whose value is a secret.
    pub fn header_is_secret(&self, name: &str) -> bool {
        self.headers.matches(name)
    }

    /// True for a member or form field name that holds a secret where no model says so.
    pub fn name_is_secret(&self, name: &str) -> bool {
        self.names.matches(name)
    }
}

/// The embedded list, parsed once.
pub fn list() -> &'static SecretList {
    static LIST: OnceLock<SecretList> = OnceLock::new();
    // Embedded and parsed by this crate's tests: a parse failure is a build defect.
    LIST.get_or_init(|| toml::from_str(EMBEDDED).expect("embedded fixtures/secrets.toml is valid"))
}

/// Replaces every value the model marks sensitive, so secrets never reach a report.
pub fn redact(shape: Option<&str>, body: &Value) -> Value {
    let mut out = body.clone();
    if let Some(shape) = shape {
        Model::get().redact_sensitive(shape, &mut out, &mut |_| Value::String("<redacted>".into()));
    }
    out
}

/// Collects the strings of `raw` that redaction replaced: the secrets an answer carried.
pub fn collect_differences(
    raw: &Value,
    redacted: &Value,
    out: &mut std::collections::BTreeSet<String>,
) {
    match (raw, redacted) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                if let Some(w) = b.get(k) {
                    collect_differences(v, w, out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (v, w) in a.iter().zip(b) {
                collect_differences(v, w, out);
            }
        }
        (Value::String(s), other) if other != raw && !s.is_empty() => {
            out.insert(s.clone());
        }
        _ => {}
    }
}

/// Replaces every known secret, and anything shaped like a JWT, in a text.
pub fn scrub<'a>(text: &str, secrets: impl Iterator<Item = &'a String>) -> String {
    let mut out = text.to_string();
    // Longest first, so a secret that contains another is replaced whole.
    let mut secrets: Vec<&String> = secrets.filter(|s| s.len() >= 4).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "<redacted>");
        }
        // Inside JSON text a secret may appear escaped.
        let escaped = serde_json::to_string(s).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        if escaped != s.as_str() && out.contains(escaped) {
            out = out.replace(escaped, "<redacted>");
        }
    }
    scrub_tokens(&out)
}

/// Replaces anything that looks like a JWT (`eyJ…`, the base64url of `{"`) with a marker, so a
/// token that slipped past the results' redaction never reaches a published report.
pub fn scrub_tokens(text: &str) -> String {
    if !text.contains("eyJ") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("eyJ") {
        out.push_str(&rest[..at]);
        let token = &rest[at..];
        let len = token
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .unwrap_or(token.len());
        out.push_str("<redacted: token>");
        rest = &token[len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_parses_and_names_only_what_the_model_has() {
        let mut model = Model::from_json(include_str!("../../fixtures/model/cognito-idp.json"))
            .expect("the model parses");
        model.apply_secrets(list()).expect("every entry applies");
        let l = list();
        assert!(l.header_is_secret("Authorization"));
        assert!(l.header_is_secret("x-moto-forgot-password-confirmation-code"));
        assert!(l.header_is_secret("x-emulator-otp-code"));
        assert!(!l.header_is_secret("content-type"));
        assert!(!l.header_is_secret("content-encoding"));
        assert!(!l.header_is_secret("x-amz-target"));
        assert!(l.name_is_secret("client_secret"));
        assert!(l.name_is_secret("code"));
        assert!(!l.name_is_secret("grant_type"));
    }

    #[test]
    fn what_the_model_misses_is_redacted() {
        let redacted = |shape: &str, body: Value| redact(Some(shape), &body).to_string();
        let challenge = serde_json::json!({
            "ChallengeName": "PASSWORD_VERIFIER",
            "Session": "sess-1",
            "ChallengeParameters": {
                "SALT": "salt-1", "SRP_B": "b-1", "SECRET_BLOCK": "sess-1",
                "USERNAME": "alice-1", "USER_ID_FOR_SRP": "alice-1",
                "MFAS_CAN_SETUP": "[\"SOFTWARE_TOKEN_MFA\"]", "SOMETHING_NEW": "x-1"
            }
        });
        let text = redacted("InitiateAuthResponse", challenge);
        for secret in ["sess-1", "salt-1", "b-1", "alice-1", "x-1"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("PASSWORD_VERIFIER") && text.contains("SOFTWARE_TOKEN_MFA"));
        for (shape, body) in [
            (
                "ConfirmSignUpRequest",
                serde_json::json!({"ConfirmationCode": "code-1"}),
            ),
            (
                "ConfirmForgotPasswordRequest",
                serde_json::json!({"ConfirmationCode": "code-1"}),
            ),
            (
                "VerifyUserAttributeRequest",
                serde_json::json!({"Code": "code-1"}),
            ),
            (
                "ForgetDeviceRequest",
                serde_json::json!({"DeviceKey": "code-1"}),
            ),
            (
                "ConfirmDeviceRequest",
                serde_json::json!({"DeviceSecretVerifierConfig": {"PasswordVerifier": "code-1", "Salt": "code-1"}}),
            ),
        ] {
            let text = redacted(shape, body);
            assert!(!text.contains("code-1"), "{shape}: {text}");
        }
    }

    #[test]
    fn scrub_removes_secrets_escaped_or_not_and_jwts() {
        let secrets = [
            "Cg1!s3cr\"et".to_string(),
            "client-secret-value".to_string(),
        ];
        let text = r#"got {"Password":"Cg1!s3cr\"et","S":"client-secret-value","T":"eyJhbGciOi.eyJzdWIi.sig"} and Cg1!s3cr"et"#;
        let out = scrub(text, secrets.iter());
        assert!(!out.contains("s3cr"), "{out}");
        assert!(!out.contains("client-secret-value"), "{out}");
        assert!(!out.contains("eyJ"), "{out}");
        assert!(
            out.contains("<redacted: token>") && out.contains("<redacted>"),
            "{out}"
        );
    }

    #[test]
    fn differences_are_the_redacted_strings() {
        let raw =
            serde_json::json!({"AuthenticationResult": {"AccessToken": "tok", "ExpiresIn": 3600}});
        let red = redact(Some("InitiateAuthResponse"), &raw);
        let mut out = Default::default();
        collect_differences(&raw, &red, &mut out);
        assert!(out.contains("tok"));
        assert_eq!(out.len(), 1);
    }
}
