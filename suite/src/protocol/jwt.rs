//! Cognito's JSON Web Tokens: finding them in text, reading a token's header and claims, and
//! checking its RS256 signature against the user pool's JWKS
//! (`/{UserPoolId}/.well-known/jwks.json`).
//!
//! The workspace's one JWT scanner: the suite's report scrubbing, its `$jwt` matcher, the
//! proxy's redaction, replay matching and compare mode all find and read tokens here, so what
//! counts as a token is decided once.
//!
//! Source: Amazon Cognito developer guide, "Verifying a JSON Web Token",
//! <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html>:
//! tokens are signed with RS256, and the header's `kid` names the JWKS key that signed them.
//!
//! [`verify_rs256`] checks the signature only. Expiry, audience, issuer and `token_use` are
//! claims a scenario asserts itself, so that a wrong value is reported as that value, not as a
//! generic "invalid token".

use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::{excerpt, ProtocolError, Result};

/// The only algorithm Cognito signs user pool tokens with.
const RS256: &str = "RS256";

/// Decodes one base64url part of a token and parses it as a JSON object.
fn json_part(token_part: &str, what: &str) -> Result<Value> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token_part)
        .map_err(|e| {
            ProtocolError::MalformedJwt(format!("{what} is not unpadded base64url: {e}"))
        })?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ProtocolError::MalformedJwt(format!("{what} is not json: {e}")))?;
    if !value.is_object() {
        return Err(ProtocolError::MalformedJwt(format!(
            "{what} is json but not an object"
        )));
    }
    Ok(value)
}

/// The `(header, claims)` of a compact JWS token, **without checking its signature**: for
/// reading what a token says (`token_use`, `client_id`, `username`, `exp`) before or apart from
/// verifying it.
///
/// Source: RFC 7515 section 7.1 (compact serialization) and
/// <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html>.
///
/// # Errors
///
/// [`ProtocolError::MalformedJwt`] unless the token is three `.`-separated unpadded base64url
/// parts whose first two are JSON objects.
pub fn decode_unverified(token: &str) -> Result<(Value, Value)> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err(ProtocolError::MalformedJwt(format!(
            "expected 3 parts separated by `.`, found {} in {:?}",
            parts.len(),
            excerpt(token)
        )));
    };
    let header = json_part(header, "header")?;
    let claims = json_part(claims, "payload")?;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|e| {
            ProtocolError::MalformedJwt(format!("signature is not unpadded base64url: {e}"))
        })?;
    Ok((header, claims))
}

/// `token` with `changes` written into its payload, header and signature kept byte for byte:
/// what an attacker (the `tamper_jwt` helper) or an altered answer (the `jwt_claim` mutation
/// operator) produces. `None` unless `token` is three `.`-separated parts whose second is
/// base64url JSON.
pub fn rewrite_claims(token: &str, changes: &serde_json::Map<String, Value>) -> Option<String> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return None;
    };
    let mut claims: Value = serde_json::from_slice(&b64.decode(payload).ok()?).ok()?;
    let obj = claims.as_object_mut()?;
    for (k, v) in changes {
        obj.insert(k.clone(), v.clone());
    }
    let payload = b64.encode(claims.to_string());
    Some(format!("{header}.{payload}.{signature}"))
}

/// The claims of `token`, **without checking its signature or its header**: the payload part
/// alone, base64url with or without `=` padding, as JSON. For asserting what a token says (the
/// `$jwt` matcher) where the token's framing is judged elsewhere; [`decode_unverified`] is the
/// strict reading.
///
/// # Errors
///
/// [`ProtocolError::MalformedJwt`] unless the token is three `.`-separated parts whose second
/// is base64url JSON.
pub fn read_claims(token: &str) -> Result<Value> {
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProtocolError::MalformedJwt(
            "not three dot-separated parts".into(),
        ));
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| ProtocolError::MalformedJwt(format!("payload is not base64url: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ProtocolError::MalformedJwt(format!("payload is not JSON: {e}")))
}

/// Base64url's alphabet: what a token's segments are made of.
fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Every token starts with `eyJ`: the base64url of `{"`, a JSON header's first bytes.
const TOKEN_START: &str = "eyJ";

/// The next `TOKEN_START` at or after `from`. One searcher for the process: the recorder scans
/// every string of every exchange, and building a substring searcher per string cost more than
/// the search.
fn next_token_start(text: &str, from: usize) -> Option<usize> {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(TOKEN_START));
    let rest = text.as_bytes().get(from..)?;
    FINDER.find(rest).map(|off| from + off)
}

/// Byte ranges of the JWS (3 segments) and JWE (5 segments) compact tokens in `text`. A token
/// starts with `eyJ` at a word boundary and has a header of at least ten characters; a dot
/// right after it belongs to the sentence, not the token. For redacting tokens exactly (the
/// proxy numbers each as a placeholder) and telling a token from other text.
///
/// Source: RFC 7515 section 7.1 and RFC 7516 section 7.1 (compact serializations).
pub fn find(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while let Some(start) = next_token_start(text, i) {
        if start > 0 && is_b64url(bytes[start - 1]) {
            i = start + TOKEN_START.len();
            continue;
        }
        // Segments: the header, then up to four more after dots (JWE has five).
        let mut end = start;
        let mut segments = 0;
        loop {
            let seg_start = end;
            while end < bytes.len() && is_b64url(bytes[end]) {
                end += 1;
            }
            segments += 1;
            let seg_len = end - seg_start;
            if segments == 1 && seg_len < 10 {
                break;
            }
            if segments < 5 && end < bytes.len() && bytes[end] == b'.' {
                end += 1;
            } else {
                break;
            }
        }
        if end > start && bytes[end - 1] == b'.' {
            end -= 1;
            segments -= 1;
        }
        if segments == 3 || segments == 5 {
            spans.push((start, end));
            i = end;
        } else {
            i = start + TOKEN_START.len();
        }
    }
    spans
}

/// True when the whole string is one token (see [`find`]).
pub fn is_jwt(s: &str) -> bool {
    matches!(find(s).as_slice(), [(0, end)] if *end == s.len())
}

/// Byte ranges of everything in `text` that may be a token or a piece of one: each `eyJ`, at
/// a word boundary or not, with the base64url characters and dots after it. Wider than
/// [`find`] on purpose: for text that must never show a token (published reports), where a
/// token cut short or glued to a word is still a credential.
pub fn find_suspect(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while let Some(start) = next_token_start(text, i) {
        let len = text[start..]
            .bytes()
            .position(|b| !(is_b64url(b) || b == b'.'))
            .unwrap_or(text.len() - start);
        spans.push((start, start + len));
        i = start + len;
    }
    spans
}

/// The claims of `token` once its RS256 signature verifies under the key of `jwks` (a
/// `{"keys": [...]}` document as served at `/{UserPoolId}/.well-known/jwks.json`) whose `kid`
/// the token's header names.
///
/// Only the signature is checked: `exp`, `aud`, `iss`, `token_use` are left to the caller.
///
/// Source: <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html>.
///
/// # Errors
///
/// - [`ProtocolError::MalformedJwt`]: not a JWT (see [`decode_unverified`]).
/// - [`ProtocolError::UnsupportedJwtAlgorithm`]: the header's `alg` is not `RS256` (`none`, `HS256`
///   and the rest are refused before any key is looked at).
/// - [`ProtocolError::MissingKid`] / [`ProtocolError::UnknownKid`]: no key to check with.
/// - [`ProtocolError::MalformedJwks`]: the JWKS, or the key the `kid` names, is not an RS256 RSA
///   public key.
/// - [`ProtocolError::BadSignature`]: the signature does not verify.
pub fn verify_rs256(token: &str, jwks: &Value) -> Result<Value> {
    let (header, _) = decode_unverified(token)?;
    // Checked here, not left to the library, so that `none` and algorithm-confusion tokens
    // get their own error rather than a generic parse failure.
    match header.get("alg") {
        Some(Value::String(alg)) if alg == RS256 => {}
        Some(Value::String(alg)) => {
            return Err(ProtocolError::UnsupportedJwtAlgorithm(alg.clone()))
        }
        Some(other) => return Err(ProtocolError::UnsupportedJwtAlgorithm(other.to_string())),
        None => {
            return Err(ProtocolError::UnsupportedJwtAlgorithm(
                "<missing>".to_owned(),
            ))
        }
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(ProtocolError::MissingKid)?;
    let key = find_key(jwks, kid)?;
    let decoding_key = rsa_key(key, kid)?;

    // Signature only: the scenario asserts the claims, so none is required or validated here.
    let mut validation = Validation::new(Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;

    match jsonwebtoken::decode::<Value>(token, &decoding_key, &validation) {
        Ok(data) => Ok(data.claims),
        Err(e) => Err(match e.kind() {
            ErrorKind::InvalidSignature => ProtocolError::BadSignature {
                kid: kid.to_owned(),
            },
            ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
                ProtocolError::MalformedJwks(format!("key {kid:?} is not a usable rsa key: {e}"))
            }
            _ => ProtocolError::MalformedJwt(e.to_string()),
        }),
    }
}

/// An RS256 key that signs tokens the way Cognito's pools do, with its public half as a JWKS.
///
/// For stand-ins of Cognito's tokens: the proxy's replay serves tokens with the claims it
/// recorded, signed by a key made at start-up and published on the replay's
/// `/.well-known/jwks.json`, so a client can parse and verify them (with [`verify_rs256`] or
/// any JWT library) as it did live. It is never Cognito's key, and it lives only in memory.
pub struct SigningKey {
    kid: String,
    encoding: jsonwebtoken::EncodingKey,
    jwk: Value,
}

impl SigningKey {
    /// A fresh 2048-bit key (Cognito's keys are RSA-2048 too); `kid_prefix` starts its `kid`.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::MalformedJwks`] if the key cannot be made or encoded (not expected).
    pub fn generate(kid_prefix: &str) -> Result<SigningKey> {
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        use rsa::traits::PublicKeyParts as _;
        let fail = |e: String| ProtocolError::MalformedJwks(format!("signing key: {e}"));
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
            .map_err(|e| fail(e.to_string()))?;
        let der = key.to_pkcs1_der().map_err(|e| fail(e.to_string()))?;
        let b64 = |bytes: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let n = b64(key.n().to_bytes_be());
        let kid = format!("{kid_prefix}{}", &n[..16]);
        let jwk = serde_json::json!({
            "alg": RS256, "e": b64(key.e().to_bytes_be()), "kid": kid, "kty": "RSA", "n": n,
            "use": "sig",
        });
        Ok(SigningKey {
            kid,
            encoding: jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes()),
            jwk,
        })
    }

    /// The `{"keys": [...]}` document that verifies this key's tokens.
    pub fn jwks(&self) -> Value {
        serde_json::json!({ "keys": [self.jwk.clone()] })
    }

    /// A compact RS256 token with these claims, its header naming this key.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::MalformedJwt`] if the claims cannot be encoded (not expected).
    pub fn sign(&self, claims: &Value) -> Result<String> {
        let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = None;
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| ProtocolError::MalformedJwt(format!("cannot sign: {e}")))
    }
}

/// The JWK whose `kid` is `kid`.
fn find_key<'a>(jwks: &'a Value, kid: &str) -> Result<&'a Value> {
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| ProtocolError::MalformedJwks("no `keys` array".to_owned()))?;
    keys.iter()
        .find(|key| key.get("kid").and_then(Value::as_str) == Some(kid))
        .ok_or_else(|| ProtocolError::UnknownKid {
            kid: kid.to_owned(),
            known: keys
                .iter()
                .filter_map(|key| key.get("kid").and_then(Value::as_str))
                .map(str::to_owned)
                .collect(),
        })
}

/// The RSA public key of a JWK that may be used for RS256 signatures (RFC 7517 section 4,
/// RFC 7518 section 6.3.1).
fn rsa_key(jwk: &Value, kid: &str) -> Result<DecodingKey> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    let bad = |what: String| ProtocolError::MalformedJwks(format!("key {kid:?}: {what}"));
    if member("kty") != Some("RSA") {
        return Err(bad(format!("`kty` is {:?}, not \"RSA\"", jwk.get("kty"))));
    }
    // `alg` and `use` are optional in a JWK; when present they must allow RS256 signatures.
    if let Some(alg) = jwk.get("alg") {
        if alg.as_str() != Some(RS256) {
            return Err(bad(format!("`alg` is {alg}, not \"RS256\"")));
        }
    }
    if let Some(usage) = jwk.get("use") {
        if usage.as_str() != Some("sig") {
            return Err(bad(format!("`use` is {usage}, not \"sig\"")));
        }
    }
    let (Some(n), Some(e)) = (member("n"), member("e")) else {
        return Err(bad("`n` or `e` is missing or not a string".to_owned()));
    };
    DecodingKey::from_rsa_components(n, e)
        .map_err(|err| bad(format!("`n` / `e` are not base64url: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signing_key_makes_tokens_its_jwks_verifies_and_others_refuse() {
        let key = SigningKey::generate("replay-").unwrap();
        let claims = serde_json::json!({"sub": "s", "token_use": "access", "exp": 1});
        let token = key.sign(&claims).unwrap();
        assert!(is_jwt(&token), "{token}");
        assert_eq!(verify_rs256(&token, &key.jwks()).unwrap(), claims);
        let (header, _) = decode_unverified(&token).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert!(header["kid"].as_str().unwrap().starts_with("replay-"));
        // Another key's JWKS must not verify it, even under the same kid.
        let other = SigningKey::generate("replay-").unwrap();
        let mut jwks = other.jwks();
        jwks["keys"][0]["kid"] = header["kid"].clone();
        assert!(matches!(
            verify_rs256(&token, &jwks),
            Err(ProtocolError::BadSignature { .. })
        ));
    }

    // Made with python's `cryptography` 48 (two fresh RSA-2048 keys; tokens are
    // base64url(header) "." base64url(claims) "." base64url(RSASSA-PKCS1-v1_5-SHA256 signature)):
    // GOOD is signed by test-key-1; FORGED says kid test-key-1 but is signed by test-key-2;
    // UNKNOWN_KID is signed by test-key-1 under a kid the JWKS lacks. The claims imitate a
    // Cognito access token whose `exp` (2001-09-09) is long past.
    const JWKS: &str = r#"{
      "keys": [
        {
          "alg": "RS256",
          "e": "AQAB",
          "kid": "test-key-1",
          "kty": "RSA",
          "n": "1MEhMhQRWimxwPFqY-zwA5vNncdesvD8Je_GJxXQ2_38cSaQ0wcNnjewi_NhrbnwBlCbbxzdGDxyCPfyqTgDwUPZp4ok4s5fK4IefUCdpTocQdvrpKkDpNDhbtFJVAiyPZerdF5AxidG_Ai08R_KoxuYAkXJJ0ExRPvqONiTnlk0zrwxcZ0X9_0lmK1zg3xQwfmTLVOS2L2RxEPvQh2rUoYlFWoDnfcbpkyGbrSRdZWvBKGxz2U_7EBsUXJuxwjuevelZW39m3GAKAbw8SIdj0_jQWsNDQEDyUOOlCaHWmu4Ii8fYHW0r9QzeSCuI5XsDGLxEUvsrZc2_eB87nPQ7w",
          "use": "sig"
        },
        {
          "alg": "RS256",
          "e": "AQAB",
          "kid": "test-key-2",
          "kty": "RSA",
          "n": "qBc1qTcxWAKs8ymCfBGkhcTnyHJQt6QveOrg6PPiT8kRaSizCQX2y4KhdIj8gVU-9NiMzr2OBRfhHZTybXbhnSkf33ISemQWKL-Ydddg7tNcOaeh89NF3ONT5EjLjLsFSsUKTKGBvUap8POuzFDaKFq8oXa0CrVf5920uKYugBieE4IppkN-dRL278qiubbtVxX33TRUxv1yCgelgAXfjr0ixPUN8ozKlrffwwuf6_Fja3dA6vV5rt8trL4m_S9VinjDxdYmvzq9RdXc8mkjPm-PfjkOF7DYNj-1YkcFLOB-P3FUsb7wnDC9nBkhAoij98-mH4mpaVDllUqyFDtlVQ",
          "use": "sig"
        }
      ]
    }"#;
    const GOOD: &str = "eyJraWQiOiJ0ZXN0LWtleS0xIiwiYWxnIjoiUlMyNTYifQ.eyJzdWIiOiI5YjFjNWUyYS0xMTExLTRjMmItOWYwMC0wYTFiMmMzZDRlNWYiLCJpc3MiOiJodHRwczovL2NvZ25pdG8taWRwLnVzLWVhc3QtMS5hbWF6b25hd3MuY29tL3VzLWVhc3QtMV9BYkNkRWZHaEkiLCJjbGllbnRfaWQiOiI0ZThkcWtvcTF0YzliMHVraWRybjdoc2I3diIsInRva2VuX3VzZSI6ImFjY2VzcyIsInNjb3BlIjoiYXdzLmNvZ25pdG8uc2lnbmluLnVzZXIuYWRtaW4iLCJhdXRoX3RpbWUiOjEwMDAwMDAwMDAsImV4cCI6MTAwMDAwMzYwMCwiaWF0IjoxMDAwMDAwMDAwLCJqdGkiOiI1YzFkMGQzZS0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJ1c2VybmFtZSI6ImFsaWNlIn0.syEm_XO98j0sIU_SHGXs0KZaQcfVoq0wRjeraDm-WJ7RYnh3ZiOMzG4YuzahZvZQdjTHfFJFH16cAdUcwEz59wbeT4VyCna5T4rhldS5nZncRpYTo-rT2vpfubi0vegypiKWf1Ju6ZdYKQHco4Vm3JDiNfjgUYgLtV1jUezDH7mRwMSWJsU6bJSEN5szuLKD37Wmzh-wwIB_lJxtdsUESSVPzTC6UO_eh_IdVV_u6qMQtDJed4JIvSOOFwDMASfv8i42VcOyRxqqAVaxuhsj1pD8E0tJg1CPo5gCrN-lYEjcjqzM4BaBU_npcYpBbKakPFLURJyhN-GGx6f3ws-AEg";
    const FORGED: &str = "eyJraWQiOiJ0ZXN0LWtleS0xIiwiYWxnIjoiUlMyNTYifQ.eyJzdWIiOiI5YjFjNWUyYS0xMTExLTRjMmItOWYwMC0wYTFiMmMzZDRlNWYiLCJpc3MiOiJodHRwczovL2NvZ25pdG8taWRwLnVzLWVhc3QtMS5hbWF6b25hd3MuY29tL3VzLWVhc3QtMV9BYkNkRWZHaEkiLCJjbGllbnRfaWQiOiI0ZThkcWtvcTF0YzliMHVraWRybjdoc2I3diIsInRva2VuX3VzZSI6ImFjY2VzcyIsInNjb3BlIjoiYXdzLmNvZ25pdG8uc2lnbmluLnVzZXIuYWRtaW4iLCJhdXRoX3RpbWUiOjEwMDAwMDAwMDAsImV4cCI6MTAwMDAwMzYwMCwiaWF0IjoxMDAwMDAwMDAwLCJqdGkiOiI1YzFkMGQzZS0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJ1c2VybmFtZSI6ImFsaWNlIn0.fMkZ8qJGL0J98uIcwgzmOY_PJ4qjYeuOMTbHKtnkbouKUjLnqBVut75mNzQsmqfyj28qA2RKTIBCl8yWBuePeI0KA5DCTMxy07KYiNYIrkK2E-09N1Giri0pK1oQORtD_0ZSCQbtUrTOhBRgvlPBAc05dGR6Ed1N40cqPZTRgNLwfarG-BvFHJ99JMpKZdARfU1jOyT-7mNPnFvu88Uk3inRLLvOy8MVrc2lus1DZay30lKuc1zEm4DDB6JaBgQOoHLqJP9K9JPTTXHO22VElcG29QSqPVF2Yp_6VFtRZaaqBe4iAPiCRuKsBy0NPRdAvu-IRg90gG3XVrayGLm6OQ";
    const UNKNOWN_KID: &str = "eyJraWQiOiJyb3RhdGVkLWF3YXkiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiI5YjFjNWUyYS0xMTExLTRjMmItOWYwMC0wYTFiMmMzZDRlNWYiLCJpc3MiOiJodHRwczovL2NvZ25pdG8taWRwLnVzLWVhc3QtMS5hbWF6b25hd3MuY29tL3VzLWVhc3QtMV9BYkNkRWZHaEkiLCJjbGllbnRfaWQiOiI0ZThkcWtvcTF0YzliMHVraWRybjdoc2I3diIsInRva2VuX3VzZSI6ImFjY2VzcyIsInNjb3BlIjoiYXdzLmNvZ25pdG8uc2lnbmluLnVzZXIuYWRtaW4iLCJhdXRoX3RpbWUiOjEwMDAwMDAwMDAsImV4cCI6MTAwMDAwMzYwMCwiaWF0IjoxMDAwMDAwMDAwLCJqdGkiOiI1YzFkMGQzZS0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJ1c2VybmFtZSI6ImFsaWNlIn0.u5Jo5G2QsHgsWkfLRcG4mHGFhHE3dakd4Mb7xP8Xvl1EYtvVVz2lTfvOGGLG6UNFmH_hkBF7JIQCe85tiicwPt0530JrWVkVNWi9vyy_0cAKxf98mK_ilD3AIFzy3C6c_GsAlQLy61RYN9rIRdFXfvRK3OGLnAdANQPODvFHzq265uoa0sR42ZdiA0VyjCv4v3AhJ9fI8taSkiolsG-10vfsdTr0pyP_nBhgZk_nLGEcIEwMcbMuOvpnrkejdaafRAxlYYYrFHQ1UuiVizidL_JH5OsiWY8dSRiabx5XawRyi-ttGlBZCfGfR5UwaYBYltm8ukY0CiEFQ1GDQ5qiqg";

    fn jwks() -> Value {
        serde_json::from_str(JWKS).unwrap()
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// `token` with its header replaced by `header`, signature kept.
    fn with_header(token: &str, header: &str) -> String {
        let (_, rest) = token.split_once('.').unwrap();
        format!("{}.{rest}", b64(header.as_bytes()))
    }

    #[test]
    fn decode_unverified_reads_header_and_claims() {
        let (header, claims) = decode_unverified(GOOD).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], "test-key-1");
        assert_eq!(claims["token_use"], "access");
        assert_eq!(claims["username"], "alice");
    }

    #[test]
    fn a_good_token_verifies_even_when_expired() {
        let claims = verify_rs256(GOOD, &jwks()).unwrap();
        assert_eq!(claims["sub"], "9b1c5e2a-1111-4c2b-9f00-0a1b2c3d4e5f");
        assert_eq!(claims["exp"], 1_000_003_600);
    }

    #[test]
    fn a_tampered_payload_fails() {
        let parts: Vec<&str> = GOOD.split('.').collect();
        let (_, claims) = decode_unverified(GOOD).unwrap();
        let mut claims = claims;
        claims["username"] = "mallory".into();
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            b64(claims.to_string().as_bytes()),
            parts[2]
        );
        let err = verify_rs256(&tampered, &jwks()).unwrap_err();
        assert!(
            matches!(err, ProtocolError::BadSignature { ref kid } if kid == "test-key-1"),
            "{err}"
        );
    }

    #[test]
    fn a_signature_by_another_key_fails() {
        let err = verify_rs256(FORGED, &jwks()).unwrap_err();
        assert!(matches!(err, ProtocolError::BadSignature { .. }), "{err}");
        // The same token verifies once the key that really signed it is published under its
        // kid: the failure above is about the key, not the token.
        let mut key2 = jwks()["keys"][1].clone();
        key2["kid"] = "test-key-1".into();
        let claims = verify_rs256(FORGED, &serde_json::json!({ "keys": [key2] })).unwrap();
        assert_eq!(claims["username"], "alice");
    }

    #[test]
    fn an_unknown_kid_fails() {
        let err = verify_rs256(UNKNOWN_KID, &jwks()).unwrap_err();
        match err {
            ProtocolError::UnknownKid { kid, known } => {
                assert_eq!(kid, "rotated-away");
                assert_eq!(known, ["test-key-1", "test-key-2"]);
            }
            other => panic!("expected UnknownKid, got {other}"),
        }
        let no_kid = with_header(GOOD, r#"{"alg":"RS256"}"#);
        assert!(matches!(
            verify_rs256(&no_kid, &jwks()),
            Err(ProtocolError::MissingKid)
        ));
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let (_, claims) = GOOD.split_once('.').unwrap();
        let (claims, _) = claims.split_once('.').unwrap();
        let none = format!("{}.{claims}.", b64(br#"{"alg":"none","kid":"test-key-1"}"#));
        let err = verify_rs256(&none, &jwks()).unwrap_err();
        assert!(
            matches!(err, ProtocolError::UnsupportedJwtAlgorithm(ref a) if a == "none"),
            "{err}"
        );

        for header in [
            r#"{"alg":"HS256","kid":"test-key-1"}"#,
            r#"{"alg":"RS512","kid":"test-key-1"}"#,
            r#"{"alg":"PS256","kid":"test-key-1"}"#,
            r#"{"alg":7,"kid":"test-key-1"}"#,
            r#"{"kid":"test-key-1"}"#,
        ] {
            let err = verify_rs256(&with_header(GOOD, header), &jwks()).unwrap_err();
            assert!(
                matches!(err, ProtocolError::UnsupportedJwtAlgorithm(_)),
                "{header}: {err}"
            );
        }
    }

    #[test]
    fn malformed_tokens_are_errors() {
        let (header, rest) = GOOD.split_once('.').unwrap();
        let (claims, _) = rest.split_once('.').unwrap();
        for bad in [
            String::new(),
            "abc".to_owned(),
            "a.b".to_owned(),
            format!("{GOOD}.extra"),
            format!("!!.{claims}.sig"),
            format!("{header}.{}.sig", b64(b"not json")),
            format!("{header}.{}.sig", b64(b"[1,2]")),
            format!("{header}.{claims}=.sig"),
            format!("{header}.{claims}.sig+/"),
        ] {
            for result in [
                decode_unverified(&bad).map(|_| ()),
                verify_rs256(&bad, &jwks()).map(|_| ()),
            ] {
                assert!(
                    matches!(result, Err(ProtocolError::MalformedJwt(_))),
                    "{bad:?}: {result:?}"
                );
            }
        }
    }

    #[test]
    fn malformed_jwks_are_errors() {
        let good_key = jwks()["keys"][0].clone();
        let mut cases = vec![serde_json::json!({}), serde_json::json!({"keys": {}})];
        for (member, value) in [
            ("kty", serde_json::json!("EC")),
            ("alg", serde_json::json!("RS512")),
            ("use", serde_json::json!("enc")),
            ("n", serde_json::json!(12)),
            ("e", serde_json::json!("!!")),
        ] {
            let mut key = good_key.clone();
            key[member] = value;
            cases.push(serde_json::json!({ "keys": [key] }));
        }
        for jwks in cases {
            let err = verify_rs256(GOOD, &jwks).unwrap_err();
            assert!(
                matches!(err, ProtocolError::MalformedJwks(_)),
                "{jwks}: {err}"
            );
        }
        // `alg` and `use` may be absent.
        let mut bare = good_key;
        bare.as_object_mut()
            .unwrap()
            .retain(|k, _| ["kty", "kid", "n", "e"].contains(&k.as_str()));
        assert!(verify_rs256(GOOD, &serde_json::json!({ "keys": [bare] })).is_ok());
    }

    const FOUND: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhYmMifQ.c2lnbmF0dXJl-_x";

    #[test]
    fn tokens_are_found_anywhere_but_glued_to_a_word() {
        let text = format!("token {FOUND}. and eyJnotatoken and x{FOUND}");
        let spans = find(&text);
        assert_eq!(spans.len(), 1, "{spans:?}");
        assert_eq!(&text[spans[0].0..spans[0].1], FOUND);
        let jwe = "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIn0.abc.def.ghi.jkl";
        assert_eq!(find(jwe), vec![(0, jwe.len())]);
        assert!(
            is_jwt(FOUND) && !is_jwt(&format!("Bearer {FOUND}")) && !is_jwt(jwe.get(..40).unwrap())
        );
    }

    #[test]
    fn suspects_include_pieces_of_tokens() {
        let text = format!("a eyJx.eyJy.z b x{FOUND}. c");
        let spans = find_suspect(&text);
        let pieces: Vec<&str> = spans.iter().map(|&(a, b)| &text[a..b]).collect();
        assert_eq!(pieces, ["eyJx.eyJy.z", &format!("{FOUND}.")[..]]);
        assert!(find_suspect("no tokens").is_empty());
    }

    #[test]
    fn claims_are_read_without_the_header_or_signature() {
        let token = "eyJhbGciOiJub25lIn0.eyJ0b2tlbl91c2UiOiJpZCIsInN1YiI6InMifQ.sig";
        assert_eq!(read_claims(token).unwrap()["token_use"], "id");
        // Padding is tolerated, as some token issuers add it.
        let padded = "x.eyJhIjoxfQ==.y";
        assert_eq!(read_claims(padded).unwrap()["a"], 1);
        for bad in ["nope", "a.b", "a.!!!.c", "a.bm90IGpzb24.c", "a.b.c.d"] {
            assert!(
                matches!(read_claims(bad), Err(ProtocolError::MalformedJwt(_))),
                "{bad}"
            );
        }
    }
}
