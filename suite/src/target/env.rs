//! The environment: endpoint override, region, credentials, the opt-in for real AWS.

use crate::error::{Error, Result};

/// The endpoint the suite should use instead of starting a target: `COGCHECK_ENDPOINT`, else
/// `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER` (the AWS SDKs' service-specific override), else
/// `None` (start a local target). Empty values count as unset.
pub fn endpoint_override() -> Option<String> {
    endpoint_override_from(env_lookup)
}

pub(super) fn endpoint_override_from(get: impl Fn(&str) -> Option<String>) -> Option<String> {
    get("COGCHECK_ENDPOINT").or_else(|| get("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"))
}

/// The region by AWS conventions: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`
/// (every emulator accepts it).
pub fn region_from_env() -> String {
    region_from(env_lookup)
}

pub(super) fn region_from(get: impl Fn(&str) -> Option<String>) -> String {
    get("AWS_REGION")
        .or_else(|| get("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".to_string())
}

/// AWS credentials: one type for the whole workspace, kept with the signer that uses them.
pub use crate::protocol::sigv4::Credentials;

/// Credentials by AWS conventions (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`); when the key id or the secret is missing, the emulator default
/// `testing` / `testing` (a half-set pair is never mixed with a default).
pub fn credentials_from_env() -> Credentials {
    credentials_from(env_lookup).unwrap_or_else(Credentials::emulator_default)
}

/// Credentials from `get` (an environment lookup) by AWS conventions, when both the key id
/// and the secret are there; `None` otherwise. Pass a lookup that treats empty values as
/// unset, as the AWS SDKs do. Shared with the proxy, which re-signs with them.
pub fn credentials_from(get: impl Fn(&str) -> Option<String>) -> Option<Credentials> {
    Some(Credentials {
        access_key_id: get("AWS_ACCESS_KEY_ID")?,
        secret_access_key: get("AWS_SECRET_ACCESS_KEY")?,
        session_token: get("AWS_SESSION_TOKEN"),
    })
}

/// The variable that must be `1` before the suite talks to real Amazon Cognito.
pub const AWS_OPT_IN_ENV: &str = "COGCHECK_ALLOW_AWS";

/// Refuses to go on unless `COGCHECK_ALLOW_AWS=1`: for an endpoint that is real Amazon Cognito
/// however it was named (the `aws` target checks its own `opt_in_env` when it starts).
pub fn check_aws_opt_in() -> Result<()> {
    check_opt_in("aws", AWS_OPT_IN_ENV)
}

pub(super) fn check_opt_in(target: &str, variable: &str) -> Result<()> {
    if env_lookup(variable).as_deref() == Some("1") {
        return Ok(());
    }
    Err(Error::Target {
        target: target.to_string(),
        message: format!(
            "talks to real Amazon Cognito (it may cost money and needs an AWS account): set {variable}=1 to allow it"
        ),
    })
}

/// An environment variable, with empty values treated as unset (as the AWS SDKs do).
pub(super) fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
