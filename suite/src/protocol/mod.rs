//! The Cognito protocol: the client-side math and wire conventions of the User Pools API that
//! are facts of the service, not of any one test, shared by the suite and the proxy.
//!
//! Nothing here sends a request or reads a scenario: each function takes values and answers
//! values, so a scenario step (`scenario::helper_step`), the client
//! ([`crate::client`]), the readiness probe and the proxy (re-signing, compare mode, quotas)
//! all compute the same thing the same way. Data flows in through arguments and out through
//! return values; the only state is the TOTP generator's memory of used time steps.
//!
//! - [`secret_hash()`]: the `SECRET_HASH` parameter for app clients that have a secret.
//! - [`totp`]: RFC 6238 codes for software-token MFA, and a generator that never hands out two
//!   codes from one time step (Cognito refuses a code that was already used).
//! - [`srp`]: the client side of `USER_SRP_AUTH` / `PASSWORD_VERIFIER`.
//! - [`device`]: `ConfirmDevice`'s `DeviceSecretVerifierConfig` and the client side of
//!   `DEVICE_SRP_AUTH` / `DEVICE_PASSWORD_VERIFIER`.
//! - [`jwt`]: finding tokens in text, decoding Cognito's tokens and checking their RS256
//!   signature against the user pool's JWKS.
//! - [`sigv4`]: the one SigV4 signer (the client, the readiness probe and the proxy's
//!   re-signing call it) and the [`Credentials`](sigv4::Credentials) it signs with.
//! - [`quotas`]: the quota categories of `fixtures/quotas.json` (operations, default rates,
//!   allowances), read once for the compatibility report and the proxy's quota buckets.
//! - [`webauthn`]: a software passkey authenticator answering `StartWebAuthnRegistration`'s
//!   creation options with the `RegistrationResponseJSON` `CompleteWebAuthnRegistration` takes.
//!
//! Each is unit-tested against published vectors or vectors computed independently by another
//! implementation. Bad input (malformed base64, hex, base32, a token that is not a JWT) is an
//! error, never a panic: these functions read values that came back from the endpoint under
//! test.

pub mod device;
pub mod jwt;
pub mod quotas;
pub mod secret_hash;
pub mod sigv4;
pub mod srp;
pub mod totp;
pub mod webauthn;

pub use device::{device_password_verifier, device_secret_with, new_device_secret, DeviceSecret};
pub use jwt::{decode_unverified, verify_rs256};
pub use secret_hash::secret_hash;
pub use srp::{cognito_timestamp, SrpClient};
pub use totp::{totp_at, Clock, SystemClock, TotpGenerator};

/// What went wrong in the protocol math. Messages are lowercase and name the value that was
/// wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A value that should be base32 (RFC 4648) is not, or decodes to nothing.
    #[error("{what} is not valid base32 (RFC 4648 alphabet A-Z, 2-7): {detail}")]
    Base32 {
        /// Which value, in Cognito's words (e.g. `SecretCode`).
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// A value that should be base64 is not.
    #[error("{what} is not valid base64: {detail}")]
    Base64 {
        /// Which value, in Cognito's words (e.g. `SECRET_BLOCK`).
        what: &'static str,
        /// The decoder's complaint.
        detail: String,
    },
    /// A value that should be a hexadecimal number is not.
    #[error("{what} is not a hexadecimal number: {value:?}")]
    Hex {
        /// Which value, in Cognito's words (e.g. `SRP_B`).
        what: &'static str,
        /// The offending value, cut to a readable length.
        value: String,
    },
    /// A user pool id without the `REGION_` prefix SRP needs to find the pool name.
    #[error(
        "user pool id {0:?} has no pool name after `_`: expected REGION_NAME, \
         e.g. us-east-1_AbCdEfGhI"
    )]
    UserPoolId(String),
    /// A value that must not be empty is (e.g. a `DeviceKey`).
    #[error("{0} is empty")]
    Empty(&'static str),
    /// An SRP value that would make the protocol insecure or meaningless (e.g. `B mod N = 0`).
    #[error("srp: {0}")]
    Srp(&'static str),
    /// A token that is not a well-formed JWT (three base64url parts, JSON header and claims).
    #[error("malformed jwt: {0}")]
    MalformedJwt(String),
    /// A token whose header names an algorithm other than RS256 (including `none`).
    #[error("jwt algorithm {0:?} refused: cognito user pools sign tokens with RS256 only")]
    UnsupportedJwtAlgorithm(String),
    /// A token whose header has no `kid`, so no key can be chosen.
    #[error("jwt header has no string `kid`: cannot choose a key from the jwks")]
    MissingKid,
    /// A token whose `kid` is not in the JWKS.
    #[error("jwt kid {kid:?} is not in the jwks (it has: {known:?})")]
    UnknownKid {
        /// The token's `kid`.
        kid: String,
        /// The `kid`s the JWKS has.
        known: Vec<String>,
    },
    /// A JWKS document (or the key it names) that is not usable for RS256.
    #[error("malformed jwks: {0}")]
    MalformedJwks(String),
    /// A token whose signature does not verify under the key its `kid` names.
    #[error("jwt signature does not verify with the jwks key {kid:?}")]
    BadSignature {
        /// The key that was tried.
        kid: String,
    },
    /// WebAuthn credential creation options this authenticator cannot answer (a member missing
    /// or of the wrong type, no ES256 among `pubKeyCredParams`).
    #[error("webauthn: {0}")]
    WebAuthnOptions(String),
}

impl ProtocolError {
    /// A stable name for this kind of failure, for scenarios that expect a helper to refuse
    /// something (e.g. `JwtSignatureInvalid` for a tampered token).
    pub fn error_type(&self) -> &'static str {
        // No wildcard: a new variant must choose its name here.
        match self {
            ProtocolError::Base32 { .. }
            | ProtocolError::Base64 { .. }
            | ProtocolError::Hex { .. }
            | ProtocolError::UserPoolId(_)
            | ProtocolError::Empty(_) => "BadArgument",
            ProtocolError::Srp(_) => "SrpParameterRefused",
            ProtocolError::MalformedJwt(_) => "JwtMalformed",
            ProtocolError::UnsupportedJwtAlgorithm(_) => "JwtAlgorithmRefused",
            ProtocolError::MissingKid => "JwtKidMissing",
            ProtocolError::UnknownKid { .. } => "JwtKidUnknown",
            ProtocolError::MalformedJwks(_) => "JwksMalformed",
            ProtocolError::BadSignature { .. } => "JwtSignatureInvalid",
            ProtocolError::WebAuthnOptions(_) => "WebAuthnOptionsRefused",
        }
    }
}

/// The protocol functions' result type.
pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;

/// Cuts a value from outside to a length fit for an error message, on a character boundary.
fn excerpt(value: &str) -> String {
    const MAX: usize = 64;
    match value.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &value[..cut]),
        None => value.to_owned(),
    }
}

/// HMAC-SHA256 over the concatenation of `parts`: the MAC under every Cognito client-side proof
/// (`SECRET_HASH`, `PASSWORD_CLAIM_SIGNATURE`).
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::{KeyInit, Mac};
    // HMAC is defined for keys of any length (RFC 2104 hashes long keys and pads short ones), so
    // `new_from_slice` cannot fail for `Hmac<Sha256>`.
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
        .expect("hmac-sha256 accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}
