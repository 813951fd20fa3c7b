//! The IAM role a user pool sends SMS messages with (`SmsConfiguration.SnsCallerArn`), as a
//! target offers it to scenarios (`${sms_role_arn}`, `${sms_external_id}`; capability
//! `sms-role`).
//!
//! Real Cognito assumes the role, so against AWS it must exist, trust `cognito-idp.amazonaws.com`
//! and allow `sns:Publish`: the suite cannot create it through the Cognito API, so the user names
//! one (`arn_env`, `external_id_env`) and without it the scenarios that need it are skipped.
//! Emulators assume no role; a well-formed ARN (`arn`) stands for one.

use serde::{Deserialize, Serialize};

/// A role, resolved. Neither part is a secret (an external ID guards against a confused deputy,
/// not a guess), so a snapshot's notes keep it for the replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsRole {
    /// The role's ARN.
    pub arn: String,
    /// The external ID its trust policy asks for (Cognito passes it when assuming the role).
    pub external_id: String,
}

/// Where a target's role comes from: a value, or an environment variable read at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// This value.
    Value(String),
    /// This environment variable's value; unset or empty: no role.
    Env(String),
}

impl Setting {
    fn resolve(&self, env: impl Fn(&str) -> Option<String>) -> Option<String> {
        match self {
            Setting::Value(v) => Some(v.clone()),
            Setting::Env(name) => env(name),
        }
    }
}

/// A target's `[targets.NAME.sms_role]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsRoleSource {
    /// The role's ARN.
    pub arn: Setting,
    /// The external ID.
    pub external_id: Setting,
}

impl SmsRoleSource {
    /// The role, if every part of it is known (`env` looks variables up).
    pub fn resolve(&self, env: impl Fn(&str) -> Option<String>) -> Option<SmsRole> {
        Some(SmsRole {
            arn: self.arn.resolve(&env)?,
            external_id: self.external_id.resolve(&env)?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmsRole {
    arn: Option<String>,
    arn_env: Option<String>,
    external_id: Option<String>,
    external_id_env: Option<String>,
}

pub(super) fn validate(raw: RawSmsRole) -> Result<SmsRoleSource, String> {
    let setting = |field: &str, value: Option<String>, env: Option<String>| match (value, env) {
        (Some(v), None) if !v.trim().is_empty() => Ok(Setting::Value(v)),
        (None, Some(e)) if !e.trim().is_empty() => Ok(Setting::Env(e)),
        (Some(_), Some(_)) => Err(format!(
            "field `sms_role`: `{field}` or `{field}_env`, not both"
        )),
        _ => Err(format!(
            "field `sms_role`: needs a non-empty `{field}` or `{field}_env`"
        )),
    };
    let arn = setting("arn", raw.arn, raw.arn_env)?;
    if let Setting::Value(v) = &arn {
        // arn:aws:iam::<12-digit account>:role/<name>, as SmsConfigurationType's SnsCallerArn.
        let ok = v
            .strip_prefix("arn:aws:iam::")
            .and_then(|r| r.split_once(":role/"))
            .is_some_and(|(account, name)| {
                account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && !name.is_empty()
            });
        if !ok {
            return Err(format!(
                "field `sms_role.arn`: `{v}` is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
            ));
        }
    }
    Ok(SmsRoleSource {
        arn,
        external_id: setting("external_id", raw.external_id, raw.external_id_env)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(arn: Option<&str>, arn_env: Option<&str>) -> RawSmsRole {
        RawSmsRole {
            arn: arn.map(str::to_string),
            arn_env: arn_env.map(str::to_string),
            external_id: Some("cogcheck".into()),
            external_id_env: None,
        }
    }

    #[test]
    fn a_value_resolves_to_itself_and_an_unset_variable_to_no_role() {
        let fixed = validate(raw(Some("arn:aws:iam::123456789012:role/sms"), None)).unwrap();
        assert_eq!(
            fixed.resolve(|_| None).unwrap().arn,
            "arn:aws:iam::123456789012:role/sms"
        );
        let from_env = validate(raw(None, Some("ROLE"))).unwrap();
        assert_eq!(from_env.resolve(|_| None), None);
        let role = from_env
            .resolve(|n| (n == "ROLE").then(|| "arn:aws:iam::210987654321:role/x".to_string()))
            .unwrap();
        assert_eq!(role.arn, "arn:aws:iam::210987654321:role/x");
        assert_eq!(role.external_id, "cogcheck");
    }

    #[test]
    fn a_bad_or_ambiguous_role_is_refused_with_the_field() {
        let both = validate(raw(
            Some("arn:aws:iam::123456789012:role/sms"),
            Some("ROLE"),
        ));
        assert!(both.unwrap_err().contains("`arn` or `arn_env`, not both"));
        let neither = validate(raw(None, None));
        assert!(neither.unwrap_err().contains("needs a non-empty `arn`"));
        let malformed = validate(raw(Some("arn:aws:iam::12:role/sms"), None));
        assert!(malformed.unwrap_err().contains("is not an IAM role ARN"));
    }
}
