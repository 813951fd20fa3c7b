//! What a value is, for compare mode: which members and shapes are identifiers to pair
//! between the backends (and of what kind), how list elements are named, the fresh values
//! invented for a cassette's unknown placeholders, and the identifier-like tokens of a text.
//! Pure functions of a value and where it was found; the mapping (`mapping.rs`) and the
//! normalizer (`normalize.rs`) use them.

use std::sync::LazyLock;

use cogcheck::protocol::jwt::is_jwt;
use serde_json::Value;

use crate::redact::{is_placeholder, PLACEHOLDER_PREFIX};

// The patterns below are constants: `expect` can only fire on a typo here, caught by every
// test that touches the mapping, never on input.
static POOL_ID: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^[a-z]{2}(-[a-z]+)+-\d+_[0-9A-Za-z]+$").expect("a valid pattern")
});
static DEVICE_KEY: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^[a-z]{2}(-[a-z]+)+-\d+_[0-9a-fA-F-]{36}$").expect("a valid pattern")
});
static UUID: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    )
    .expect("a valid pattern")
});

/// Members whose differing values are identifiers to learn.
pub(super) const ID_KEYS: &[&str] = &[
    "Id",
    "UserPoolId",
    "ClientId",
    "ClientSecret",
    "Session",
    "AccessToken",
    "IdToken",
    "RefreshToken",
    "DeviceKey",
    "DeviceGroupKey",
    "SecretCode",
    "UserSub",
    "sub",
    "USER_ID_FOR_SRP",
    "USERNAME",
    "Username",
    "SECRET_BLOCK",
    "NextToken",
    "PaginationToken",
    "JobId",
    "CredentialId",
    "CloudFrontDomain",
    "PreSignedUrl",
    "jti",
    "origin_jti",
    "event_id",
    "iss",
    "aud",
    "client_id",
    "username",
    "cognito:username",
    "device_key",
    "x-moto-forgot-password-confirmation-code",
];

/// Members that name an element of a list, to pair list elements by.
pub(super) const NAMING_KEYS: &[&str] = &[
    "Name",
    "Username",
    "ClientName",
    "GroupName",
    "ProviderName",
    "Identifier",
    "DeviceKey",
    "ClientId",
    "Id",
    "JobName",
    "CredentialId",
];

pub(super) fn learnable(key: &str, a: &str) -> bool {
    is_placeholder(a)
        || ID_KEYS.contains(&key)
        || POOL_ID.is_match(a)
        || DEVICE_KEY.is_match(a)
        || UUID.is_match(a)
        || is_jwt(a)
}

/// The kind of an identifier, from where it was found and what it looks like.
pub fn kind_of(key: &str, value: &str) -> &'static str {
    match key {
        "ClientId" | "client_id" | "aud" => "client-id",
        "ClientSecret" => "client-secret",
        "Session" => "session",
        "AccessToken" | "IdToken" => "jwt",
        "RefreshToken" => "refresh-token",
        "DeviceKey" | "device_key" => "device-key",
        "DeviceGroupKey" => "device-group-key",
        "SecretCode" => "totp-secret",
        "UserSub" | "sub" => "sub",
        "USER_ID_FOR_SRP" => "user-id",
        "Username" | "USERNAME" | "username" | "cognito:username" => "username",
        "SECRET_BLOCK" => "srp-secret-block",
        "NextToken" | "PaginationToken" => "next-token",
        "JobId" => "job-id",
        "jti" | "origin_jti" => "jti",
        "event_id" => "event-id",
        "iss" => "issuer",
        "x-moto-forgot-password-confirmation-code" => "code",
        _ if POOL_ID.is_match(value) => "pool-id",
        _ if DEVICE_KEY.is_match(value) => "device-key",
        _ if is_jwt(value) => "jwt",
        _ if UUID.is_match(value) => "uuid",
        _ if is_placeholder(value) => "secret",
        _ => "value",
    }
}

/// `{"Name": n, "Value": v}` as `(n, v)`.
pub(super) fn attribute(v: &Value) -> Option<(&str, &Value)> {
    let o = v.as_object()?;
    if o.len() != 2 {
        return None;
    }
    Some((o.get("Name")?.as_str()?, o.get("Value")?))
}

fn hex(n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(rand::random::<u32>() % 16, 16).unwrap_or('0'))
        .collect()
}

/// A fresh value for an unknown placeholder, chosen by the member it appears in and the error
/// the primary answered (a password the recording refused as weak stays weak).
pub(super) fn invent(key: &str, refused_error: Option<&str>) -> String {
    match key {
        "PASSWORD" | "Password" | "ProposedPassword" | "PreviousPassword" | "TemporaryPassword"
        | "NEW_PASSWORD" => {
            if refused_error == Some("InvalidPasswordException") {
                "weak".to_string()
            } else {
                format!("Cc9!{}", hex(12))
            }
        }
        "Username" | "USERNAME" => format!("user-{}", hex(8)),
        "email" => format!("u{}@example.com", hex(8)),
        "phone_number" => format!("+1555{:07}", rand::random::<u32>() % 10_000_000),
        "ConfirmationCode"
        | "Code"
        | "UserCode"
        | "SMS_MFA_CODE"
        | "EMAIL_OTP_CODE"
        | "SOFTWARE_TOKEN_MFA_CODE"
        | "ANSWER" => "123456".to_string(),
        _ => format!("cogcheck-{}", hex(12)),
    }
}

/// Walks `text` as `<secret:N>` placeholders, identifier-like tokens (letters, digits, `_`,
/// `-`) and other characters, writing each to `out` as `replace` answers (`None` keeps it).
/// A plain token shorter than six characters is never replaced: it is a word, not an id.
/// Returns whether anything was replaced.
pub(crate) fn replace_tokens(
    text: &str,
    out: &mut String,
    mut replace: impl FnMut(&str) -> Option<String>,
) -> bool {
    let mut changed = false;
    let mut rest = text;
    while !rest.is_empty() {
        if rest.starts_with(PLACEHOLDER_PREFIX) {
            if let Some(end) = rest.find('>') {
                let token = &rest[..=end];
                match replace(token) {
                    Some(b) => {
                        out.push_str(&b);
                        changed = true;
                    }
                    None => out.push_str(token),
                }
                rest = &rest[end + 1..];
                continue;
            }
        }
        let len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
            .count();
        if len == 0 {
            let ch = rest.chars().next().map_or(1, char::len_utf8);
            out.push_str(&rest[..ch]);
            rest = &rest[ch..];
            continue;
        }
        let token = &rest[..len];
        // `replace` is not even asked about short tokens: it may number what it answers.
        match (len >= 6).then(|| replace(token)).flatten() {
            Some(b) => {
                out.push_str(&b);
                changed = true;
            }
            None => out.push_str(token),
        }
        rest = &rest[len..];
    }
    changed
}
