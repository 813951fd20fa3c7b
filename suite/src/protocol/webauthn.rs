//! A software WebAuthn authenticator: enough of a passkey to register one with
//! `CompleteWebAuthnRegistration`.
//!
//! `StartWebAuthnRegistration` answers `CredentialCreationOptions`, the W3C
//! `PublicKeyCredentialCreationOptions` (JSON form) a passkey provider takes; the Cognito API
//! reference says `CompleteWebAuthnRegistration`'s `Credential` is "a RegistrationResponseJSON
//! public-key credential response from the user's passkey provider". [`register()`] plays that
//! provider: it creates a fresh P-256 key pair and answers the
//! [`RegistrationResponseJSON`](https://www.w3.org/TR/webauthn-3/#dictdef-registrationresponsejson)
//! a browser would give for a platform authenticator with `none` attestation:
//!
//! - `clientDataJSON`: `{"type":"webauthn.create","challenge",...,"origin",...,"crossOrigin":false}`
//! - `authenticatorData`: SHA-256(rp.id) | flags UP+UV+AT (0x45) | signCount 0 | AAGUID of zeros |
//!   credential id length (2 bytes, big-endian) | credential id | COSE_Key
//!   `{1: 2, 3: -7, -1: 1, -2: x, -3: y}` (EC2, ES256, P-256)
//! - `attestationObject`: CBOR `{"fmt": "none", "attStmt": {}, "authData": bytes}`
//!
//! All binary members are base64url without padding. Unit tests check a fixed registration
//! against py_webauthn's `verify_registration_response` (`suite/tests/vectors/webauthn_vector.py`).

use base64::Engine;
use ciborium::Value as Cbor;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{excerpt, ProtocolError, Result};

/// COSE algorithm identifier of ES256 (ECDSA with P-256 and SHA-256), the only one this
/// authenticator offers.
pub const COSE_ALG_ES256: i64 = -7;

/// Flags of the authenticator data: user present (0x01), user verified (0x04), attested
/// credential data included (0x40).
const FLAGS_UP_UV_AT: u8 = 0x45;

/// DER prefix of a SubjectPublicKeyInfo for an uncompressed P-256 point (id-ecPublicKey,
/// prime256v1, BIT STRING of 66 bytes); the point's 65 bytes follow.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Registers a new passkey for `credential_creation_options` (what `StartWebAuthnRegistration`
/// answers as `CredentialCreationOptions`) as seen from `origin` (e.g. `https://<rp id>`), and
/// answers the `RegistrationResponseJSON` to send as `CompleteWebAuthnRegistration`'s
/// `Credential`. The key and the 32-byte credential id are fresh random values.
pub fn register(credential_creation_options: &Value, origin: &str) -> Result<Value> {
    use rand::RngCore;
    let key = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let mut cred_id = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut cred_id);
    register_with(
        credential_creation_options,
        origin,
        &key.to_bytes().into(),
        &cred_id,
    )
}

/// [`register()`] with a given P-256 private scalar (32 bytes, big-endian) and credential id,
/// so the output is reproducible.
pub fn register_with(
    credential_creation_options: &Value,
    origin: &str,
    private_key: &[u8; 32],
    credential_id: &[u8],
) -> Result<Value> {
    let opts = credential_creation_options;
    let refuse = |m: String| ProtocolError::WebAuthnOptions(m);
    if !opts.is_object() {
        return Err(refuse(format!(
            "CredentialCreationOptions must be an object, got {}",
            excerpt(&opts.to_string())
        )));
    }
    let text = |path: &[&str]| -> Result<&str> {
        let mut v = opts;
        for key in path {
            v = v.get(key).unwrap_or(&Value::Null);
        }
        v.as_str()
            .ok_or_else(|| refuse(format!("`{}` must be a string", path.join("."))))
    };
    let rp_id = text(&["rp", "id"])?;
    if rp_id.is_empty() {
        return Err(ProtocolError::Empty("rp.id"));
    }
    let challenge = text(&["challenge"])?;
    let challenge_bytes = b64url_decode("challenge", challenge)?;
    if challenge_bytes.is_empty() {
        return Err(ProtocolError::Empty("challenge"));
    }
    let user_id = b64url_decode("user.id", text(&["user", "id"])?)?;
    if user_id.is_empty() {
        return Err(ProtocolError::Empty("user.id"));
    }
    let params = opts
        .get("pubKeyCredParams")
        .and_then(Value::as_array)
        .ok_or_else(|| refuse("`pubKeyCredParams` must be an array".into()))?;
    let offers_es256 = params.iter().any(|p| {
        p.get("type").and_then(Value::as_str) == Some("public-key")
            && p.get("alg").and_then(Value::as_i64) == Some(COSE_ALG_ES256)
    });
    if !offers_es256 {
        return Err(refuse(format!(
            "`pubKeyCredParams` does not offer public-key alg {COSE_ALG_ES256} (ES256), \
             the only algorithm this authenticator has: {}",
            excerpt(&Value::Array(params.clone()).to_string())
        )));
    }
    if credential_id.is_empty() || credential_id.len() > 1023 {
        return Err(refuse(format!(
            "credential id must be 1 to 1023 bytes, got {}",
            credential_id.len()
        )));
    }
    if origin.is_empty() {
        return Err(ProtocolError::Empty("origin"));
    }

    let key = p256::SecretKey::from_slice(private_key)
        .map_err(|_| refuse("private key is not a valid P-256 scalar".into()))?;
    let point = {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        key.public_key().to_encoded_point(false)
    };
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(refuse("public key has no affine coordinates".into()));
    };
    let cose_key = cbor_bytes(&Cbor::Map(vec![
        (Cbor::from(1), Cbor::from(2)),
        (Cbor::from(3), Cbor::from(COSE_ALG_ES256)),
        (Cbor::from(-1), Cbor::from(1)),
        (Cbor::from(-2), Cbor::Bytes(x.to_vec())),
        (Cbor::from(-3), Cbor::Bytes(y.to_vec())),
    ]))?;

    let mut auth_data = Vec::with_capacity(37 + 16 + 2 + credential_id.len() + cose_key.len());
    auth_data.extend_from_slice(&Sha256::digest(rp_id.as_bytes()));
    auth_data.push(FLAGS_UP_UV_AT);
    auth_data.extend_from_slice(&0u32.to_be_bytes());
    auth_data.extend_from_slice(&[0u8; 16]);
    auth_data.extend_from_slice(&(credential_id.len() as u16).to_be_bytes());
    auth_data.extend_from_slice(credential_id);
    auth_data.extend_from_slice(&cose_key);

    let attestation_object = cbor_bytes(&Cbor::Map(vec![
        (Cbor::from("fmt"), Cbor::from("none")),
        (Cbor::from("attStmt"), Cbor::Map(Vec::new())),
        (Cbor::from("authData"), Cbor::Bytes(auth_data.clone())),
    ]))?;

    // Member order as browsers write it; serde_json escapes the strings.
    let client_data_json = format!(
        r#"{{"type":"webauthn.create","challenge":{},"origin":{},"crossOrigin":false}}"#,
        Value::from(challenge),
        Value::from(origin)
    );

    let mut spki = P256_SPKI_PREFIX.to_vec();
    spki.extend_from_slice(point.as_bytes());

    let id = b64url(credential_id);
    Ok(json!({
        "id": id,
        "rawId": id,
        "type": "public-key",
        "response": {
            "clientDataJSON": b64url(client_data_json.as_bytes()),
            "attestationObject": b64url(&attestation_object),
            "authenticatorData": b64url(&auth_data),
            "publicKey": b64url(&spki),
            "publicKeyAlgorithm": COSE_ALG_ES256,
            "transports": ["internal"],
        },
        "clientExtensionResults": {},
        "authenticatorAttachment": "platform",
    }))
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url, with or without padding (WebAuthn JSON omits it).
fn b64url_decode(what: &'static str, value: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map_err(|e| ProtocolError::Base64 {
            what,
            detail: format!("{e} in {:?} (expected base64url)", excerpt(value)),
        })
}

fn cbor_bytes(value: &Cbor) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out)
        .map_err(|e| ProtocolError::WebAuthnOptions(format!("cbor encoding failed: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed registration that `suite/tests/vectors/webauthn_vector.py` verifies.
    fn vector_options() -> Value {
        json!({
            "rp": {"id": "cogcheck.auth.us-east-1.amazoncognito.com", "name": "cogcheck"},
            "user": {"id": "Y29nY2hlY2stdXNlcg", "name": "alice", "displayName": "alice"},
            "challenge": "Y29nY2hlY2stY2hhbGxlbmdlLTAwMDAwMDAwMDE",
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -257}],
            "timeout": 180000,
            "attestation": "none"
        })
    }
    const VECTOR_ORIGIN: &str = "https://cogcheck.auth.us-east-1.amazoncognito.com";
    const VECTOR_KEY: [u8; 32] = [
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
        0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e,
        0x1f, 0x20,
    ];
    const VECTOR_CRED_ID: [u8; 32] = [0xc0; 32];

    fn vector() -> Value {
        register_with(
            &vector_options(),
            VECTOR_ORIGIN,
            &VECTOR_KEY,
            &VECTOR_CRED_ID,
        )
        .unwrap()
    }

    fn unb64(s: &Value) -> Vec<u8> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.as_str().unwrap())
            .unwrap()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The authenticator data inside the attestation object (CBOR map `authData`), checking the
    /// attestation format on the way.
    fn auth_data_of(credential: &Value) -> Vec<u8> {
        let raw = unb64(&credential["response"]["attestationObject"]);
        let Cbor::Map(entries) = ciborium::from_reader::<Cbor, _>(raw.as_slice()).unwrap() else {
            panic!("attestationObject is not a CBOR map");
        };
        let get = |k: &str| {
            entries
                .iter()
                .find(|(key, _)| key.as_text() == Some(k))
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("fmt").as_text(), Some("none"));
        assert_eq!(get("attStmt").as_map().map(Vec::len), Some(0));
        get("authData").as_bytes().unwrap().clone()
    }

    /// py_webauthn 3.0.1's `verify_registration_response` accepted this registration and
    /// reported these values (`suite/tests/vectors/webauthn_vector.py`, which also derives the
    /// public key from the private scalar with `cryptography`):
    ///
    /// ```text
    /// credential_id c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0
    /// credential_public_key a5010203262001215820515c3d6eb9e396b904d3feca7f54fdcd0cc1e997bf375dca515ad0a6c3b4035f2258204536be3a50f318fbf9a5475902a221502bef0d57e08c53b2cc0a56f17d9f9354
    /// sign_count 0
    /// aaguid 00000000-0000-0000-0000-000000000000
    /// fmt none
    /// user_verified True
    /// credential_device_type single_device
    /// credential_backed_up False
    /// ```
    #[test]
    fn py_webauthn_vector() {
        const PY_CREDENTIAL_ID: &str =
            "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0";
        const PY_CREDENTIAL_PUBLIC_KEY: &str = "a5010203262001215820515c3d6eb9e396b904d3feca7f54fdcd0cc1e997bf375dca515ad0a6c3b4035f2258204536be3a50f318fbf9a5475902a221502bef0d57e08c53b2cc0a56f17d9f9354";
        const PY_SIGN_COUNT: u32 = 0;

        let c = vector();
        assert_eq!(hex(&unb64(&c["rawId"])), PY_CREDENTIAL_ID);
        assert_eq!(c["id"], c["rawId"]);
        assert_eq!(c["type"], "public-key");
        assert_eq!(c["authenticatorAttachment"], "platform");
        assert_eq!(c["response"]["transports"], json!(["internal"]));
        assert_eq!(c["response"]["publicKeyAlgorithm"], json!(-7));
        assert_eq!(c["clientExtensionResults"], json!({}));

        let auth = auth_data_of(&c);
        assert_eq!(hex(&unb64(&c["response"]["authenticatorData"])), hex(&auth));
        assert_eq!(
            &auth[..32],
            Sha256::digest(b"cogcheck.auth.us-east-1.amazoncognito.com").as_slice()
        );
        assert_eq!(auth[32], 0x45, "flags UP | UV | AT");
        assert_eq!(
            u32::from_be_bytes(auth[33..37].try_into().unwrap()),
            PY_SIGN_COUNT
        );
        assert_eq!(&auth[37..53], &[0u8; 16], "aaguid");
        assert_eq!(u16::from_be_bytes([auth[53], auth[54]]), 32);
        assert_eq!(hex(&auth[55..87]), PY_CREDENTIAL_ID);
        assert_eq!(hex(&auth[87..]), PY_CREDENTIAL_PUBLIC_KEY);

        let client_data: Value =
            serde_json::from_slice(&unb64(&c["response"]["clientDataJSON"])).unwrap();
        assert_eq!(
            client_data,
            json!({
                "type": "webauthn.create",
                "challenge": "Y29nY2hlY2stY2hhbGxlbmdlLTAwMDAwMDAwMDE",
                "origin": VECTOR_ORIGIN,
                "crossOrigin": false
            })
        );
        // SPKI of the same point as the COSE key (x at 10..42, y at 45..77 of the COSE map).
        let spki = unb64(&c["response"]["publicKey"]);
        assert_eq!(hex(&spki[27..59]), &PY_CREDENTIAL_PUBLIC_KEY[20..84]);
        assert_eq!(hex(&spki[59..]), &PY_CREDENTIAL_PUBLIC_KEY[90..]);
    }

    /// The credential the Python script verifies is byte for byte what `register_with` makes.
    #[test]
    fn python_script_checks_this_exact_credential() {
        let script = include_str!("../../tests/vectors/webauthn_vector.py");
        let start = script
            .find("'{\"id\"")
            .expect("credential literal in the script")
            + 1;
        let end = start + script[start..].find('\'').unwrap();
        let recorded: Value = serde_json::from_str(&script[start..end]).unwrap();
        assert_eq!(recorded, vector());
    }

    #[test]
    fn fresh_registrations_differ_and_keep_the_shape() {
        let a = register(&vector_options(), VECTOR_ORIGIN).unwrap();
        let b = register(&vector_options(), VECTOR_ORIGIN).unwrap();
        assert_ne!(a["id"], b["id"]);
        assert_ne!(a["response"]["publicKey"], b["response"]["publicKey"]);
        for c in [&a, &b] {
            assert_eq!(unb64(&c["rawId"]).len(), 32);
            let auth = auth_data_of(c);
            assert_eq!(auth[32], 0x45);
            assert_eq!(&auth[55..87], unb64(&c["rawId"]).as_slice());
        }
    }

    #[test]
    fn bad_options_are_refused() {
        let refused = |opts: Value| {
            register_with(&opts, VECTOR_ORIGIN, &VECTOR_KEY, &VECTOR_CRED_ID).unwrap_err()
        };
        let with = |path: &[&str], v: Value| {
            let mut o = vector_options();
            let mut cur = &mut o;
            for k in &path[..path.len() - 1] {
                cur = cur.get_mut(*k).unwrap();
            }
            cur[path[path.len() - 1]] = v;
            o
        };
        let without = |path: &[&str]| {
            let mut o = vector_options();
            let mut cur = &mut o;
            for k in &path[..path.len() - 1] {
                cur = cur.get_mut(*k).unwrap();
            }
            cur.as_object_mut().unwrap().remove(path[path.len() - 1]);
            o
        };

        let e = refused(json!("not an object"));
        assert_eq!(e.error_type(), "WebAuthnOptionsRefused");
        assert!(e.to_string().contains("must be an object"), "{e}");
        for path in [&["rp", "id"][..], &["rp"], &["challenge"], &["user", "id"]] {
            let e = refused(without(path));
            assert_eq!(e.error_type(), "WebAuthnOptionsRefused", "{path:?}");
            assert!(e.to_string().contains(&path.join(".")), "{e}");
        }
        let e = refused(without(&["pubKeyCredParams"]));
        assert!(e.to_string().contains("pubKeyCredParams"), "{e}");
        let e = refused(with(&["challenge"], json!(42)));
        assert!(
            e.to_string().contains("`challenge` must be a string"),
            "{e}"
        );
        let e = refused(with(&["challenge"], json!("not base64url!")));
        assert_eq!(e.error_type(), "BadArgument");
        assert!(e.to_string().contains("challenge"), "{e}");
        assert!(matches!(
            refused(with(&["challenge"], json!(""))),
            ProtocolError::Empty("challenge")
        ));
        assert!(matches!(
            refused(with(&["rp", "id"], json!(""))),
            ProtocolError::Empty("rp.id")
        ));
        let e = refused(with(
            &["pubKeyCredParams"],
            json!([{"type": "public-key", "alg": -257}]),
        ));
        assert!(e.to_string().contains("ES256"), "{e}");
        assert!(refused(with(&["pubKeyCredParams"], json!([])))
            .to_string()
            .contains("ES256"));

        let zero_key = register_with(&vector_options(), VECTOR_ORIGIN, &[0; 32], &VECTOR_CRED_ID);
        assert!(zero_key.unwrap_err().to_string().contains("P-256 scalar"));
        let no_id = register_with(&vector_options(), VECTOR_ORIGIN, &VECTOR_KEY, &[]);
        assert!(no_id.unwrap_err().to_string().contains("credential id"));
        let no_origin = register_with(&vector_options(), "", &VECTOR_KEY, &VECTOR_CRED_ID);
        assert!(matches!(no_origin, Err(ProtocolError::Empty("origin"))));
    }
}
