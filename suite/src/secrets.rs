//! Secrets never reach a results file, a report or an expectations file: what a finding
//! quotes is redacted by the model's `sensitive` trait and scrubbed of every secret the
//! scenario sent or received, and of anything shaped like a JWT.
//!
//! What is secret beyond the model's trait is one reviewed list, fixtures/secrets.toml
//! ([`crate::secret_list`]), which [`Model::get`] applies to the model: these findings, the
//! recording proxy's cassettes and replay matching all redact the same members.

use serde_json::Value;

use crate::model::Model;

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
    let spans = crate::protocol::jwt::find_suspect(text);
    if spans.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in spans {
        out.push_str(&text[at..start]);
        out.push_str("<redacted: token>");
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
