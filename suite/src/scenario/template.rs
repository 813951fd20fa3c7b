//! `${name}` templates in scenario inputs and expectations.
//!
//! A string that is exactly one `${name}` becomes the captured value itself, keeping its JSON
//! type (a number stays a number); a template inside a longer string is interpolated as text.
//! Names are either captures saved by an earlier step or built-ins:
//!
//! | built-in | value |
//! |---|---|
//! | `${run_prefix}` | the run's prefix, `cogcheck-<6 hex>`; every resource name starts with it |
//! | `${unique:LABEL}` | `<run_prefix>-<scenario number>-<LABEL>`, the same for one LABEL within a scenario |
//! | `${password}`, `${password:LABEL}` | a random password meeting Cognito's default policy, stable per LABEL |
//! | `${region}` | the signing region |
//! | `${now}` | epoch seconds when the step runs |
//! | `${missing_pool_id}` | a well-formed user pool id that does not exist in the region |
//! | `${sms_role_arn}`, `${sms_external_id}` | the target's IAM role for SMS (needs `requires: ["sms-role"]`) |

use std::collections::BTreeMap;

use serde_json::Value;

/// One piece of a templated string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// A `${...}` reference.
    Var(Var),
}

/// A `${...}` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    /// A value saved by an earlier step.
    Capture(String),
    /// `${run_prefix}`.
    RunPrefix,
    /// `${unique:LABEL}`.
    Unique(String),
    /// `${password}` (label empty) or `${password:LABEL}`.
    Password(String),
    /// `${region}`.
    Region,
    /// `${now}`.
    Now,
    /// `${missing_pool_id}`.
    MissingPoolId,
    /// `${sms_role_arn}`.
    SmsRoleArn,
    /// `${sms_external_id}`.
    SmsExternalId,
}

/// Splits a string into text and references. Fails on an unterminated `${` or an empty name.
pub fn parse(s: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            pieces.push(Piece::Text(rest[..start].to_string()));
        }
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unterminated `${{` in {s:?}"))?;
        pieces.push(Piece::Var(parse_var(&after[..end])?));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Ok(pieces)
}

fn parse_var(name: &str) -> Result<Var, String> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let var = match name.split_once(':') {
        Some(("unique", label)) if valid(label) => Var::Unique(label.to_string()),
        Some(("password", label)) if valid(label) => Var::Password(label.to_string()),
        Some((kind, _)) => {
            return Err(format!(
                "`${{{name}}}`: unknown built-in `{kind}:` (known: unique:LABEL, password:LABEL)"
            ))
        }
        None => match name {
            "run_prefix" => Var::RunPrefix,
            "password" => Var::Password(String::new()),
            "region" => Var::Region,
            "now" => Var::Now,
            "missing_pool_id" => Var::MissingPoolId,
            "sms_role_arn" => Var::SmsRoleArn,
            "sms_external_id" => Var::SmsExternalId,
            n if valid(n) => Var::Capture(n.to_string()),
            _ => return Err(format!("`${{{name}}}` is not a valid name")),
        },
    };
    Ok(var)
}

/// Every capture name referenced anywhere inside a JSON value (keys and strings).
pub fn captures_in(value: &Value, out: &mut Vec<String>) -> Result<(), String> {
    let visit_str = |s: &str, out: &mut Vec<String>| -> Result<(), String> {
        for p in parse(s)? {
            if let Piece::Var(Var::Capture(n)) = p {
                out.push(n);
            }
        }
        Ok(())
    };
    match value {
        Value::String(s) => visit_str(s, out)?,
        Value::Array(a) => {
            for v in a {
                captures_in(v, out)?;
            }
        }
        Value::Object(o) => {
            for (k, v) in o {
                visit_str(k, out)?;
                captures_in(v, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// What templates resolve against while a scenario runs.
pub struct Scope<'a> {
    /// Values saved by earlier steps.
    pub captures: &'a BTreeMap<String, Value>,
    /// The run prefix.
    pub run_prefix: &'a str,
    /// The scenario's number within the run, to keep unique names unique across scenarios.
    pub scenario_number: usize,
    /// Random passwords by label, generated on first use.
    pub passwords: &'a std::sync::Mutex<BTreeMap<String, String>>,
    /// The signing region.
    pub region: &'a str,
    /// The target's IAM role for SMS, when it offers one (capability `sms-role`).
    pub sms_role: Option<&'a crate::target::SmsRole>,
}

impl Scope<'_> {
    fn var(&self, var: &Var) -> Result<Value, String> {
        Ok(match var {
            Var::Capture(n) => self
                .captures
                .get(n)
                .cloned()
                .ok_or_else(|| format!("`${{{n}}}` was not saved by an earlier step"))?,
            Var::RunPrefix => Value::String(self.run_prefix.to_string()),
            Var::Unique(label) => Value::String(format!(
                "{}-{}-{}",
                self.run_prefix, self.scenario_number, label
            )),
            Var::Password(label) => {
                let mut map = self
                    .passwords
                    .lock()
                    .map_err(|_| "password table poisoned by a panic".to_string())?;
                Value::String(
                    map.entry(label.clone())
                        .or_insert_with(new_password)
                        .clone(),
                )
            }
            Var::Region => Value::String(self.region.to_string()),
            Var::Now => Value::from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
            ),
            // Pool ids are `<region>_<9 alphanumerics>`; this one is well formed but was never
            // handed out (Cognito ids never contain a run of the same letter this long).
            Var::MissingPoolId => Value::String(format!("{}_ZZZZZZZZZ", self.region)),
            Var::SmsRoleArn => Value::String(self.sms_role()?.arn.clone()),
            Var::SmsExternalId => Value::String(self.sms_role()?.external_id.clone()),
        })
    }

    fn sms_role(&self) -> Result<&crate::target::SmsRole, String> {
        self.sms_role.ok_or_else(|| {
            "the target names no IAM role for SMS (the scenario must require `sms-role`)"
                .to_string()
        })
    }

    /// Resolves one string.
    pub fn string(&self, s: &str) -> Result<Value, String> {
        let pieces = parse(s)?;
        if let [Piece::Var(v)] = pieces.as_slice() {
            return self.var(v);
        }
        let mut out = String::new();
        for p in &pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(v) => match self.var(v)? {
                    Value::String(s) => out.push_str(&s),
                    other => out.push_str(&other.to_string()),
                },
            }
        }
        Ok(Value::String(out))
    }

    /// Resolves every template in a JSON value (keys must resolve to strings).
    pub fn value(&self, value: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(s) => self.string(s)?,
            Value::Array(a) => {
                Value::Array(a.iter().map(|v| self.value(v)).collect::<Result<_, _>>()?)
            }
            Value::Object(o) => {
                let mut out = serde_json::Map::new();
                for (k, v) in o {
                    let key = match self.string(k)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    out.insert(key, self.value(v)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }
}

/// A random password that meets Cognito's default policy (8+ characters with upper case,
/// lower case, a digit and a symbol).
pub fn new_password() -> String {
    use rand::distributions::Alphanumeric;
    use rand::Rng;
    let tail: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(16)
        .map(char::from)
        .collect();
    format!("Cg1!{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope_with<'a>(
        caps: &'a BTreeMap<String, Value>,
        pw: &'a std::sync::Mutex<BTreeMap<String, String>>,
    ) -> Scope<'a> {
        Scope {
            captures: caps,
            run_prefix: "cogcheck-abc123",
            scenario_number: 7,
            passwords: pw,
            region: "us-east-1",
            sms_role: None,
        }
    }

    #[test]
    fn the_sms_role_resolves_only_where_the_target_names_one() {
        let caps = BTreeMap::new();
        let pw = Default::default();
        let role = crate::target::SmsRole {
            arn: "arn:aws:iam::123456789012:role/cogcheck-sms".into(),
            external_id: "cogcheck".into(),
        };
        let with_role = Scope {
            sms_role: Some(&role),
            ..scope_with(&caps, &pw)
        };
        assert_eq!(
            with_role
                .value(
                    &json!({"SnsCallerArn": "${sms_role_arn}", "ExternalId": "${sms_external_id}"})
                )
                .unwrap(),
            json!({"SnsCallerArn": "arn:aws:iam::123456789012:role/cogcheck-sms", "ExternalId": "cogcheck"})
        );
        let err = scope_with(&caps, &pw)
            .string("${sms_role_arn}")
            .unwrap_err();
        assert!(err.contains("must require `sms-role`"), "{err}");
    }

    #[test]
    fn whole_string_templates_keep_their_type() {
        let caps = BTreeMap::from([
            ("n".to_string(), json!(5)),
            ("id".to_string(), json!("p_1")),
        ]);
        let pw = Default::default();
        let s = scope_with(&caps, &pw);
        assert_eq!(s.string("${n}").unwrap(), json!(5));
        assert_eq!(
            s.string("pool ${id} has ${n}").unwrap(),
            json!("pool p_1 has 5")
        );
        assert_eq!(
            s.string("${unique:pool}").unwrap(),
            json!("cogcheck-abc123-7-pool")
        );
        assert_eq!(
            s.value(&json!({"${id}": ["${n}", "x"]})).unwrap(),
            json!({"p_1": [5, "x"]})
        );
    }

    #[test]
    fn passwords_are_stable_per_label_and_meet_the_default_policy() {
        let caps = BTreeMap::new();
        let pw = Default::default();
        let s = scope_with(&caps, &pw);
        let a = s.string("${password}").unwrap();
        assert_eq!(a, s.string("${password}").unwrap());
        assert_ne!(a, s.string("${password:other}").unwrap());
        let a = a.as_str().unwrap().to_string();
        assert!(a.len() >= 8);
        assert!(a.chars().any(|c| c.is_ascii_uppercase()));
        assert!(a.chars().any(|c| c.is_ascii_lowercase()));
        assert!(a.chars().any(|c| c.is_ascii_digit()));
        assert!(a.chars().any(|c| !c.is_ascii_alphanumeric()));
    }

    #[test]
    fn bad_templates_are_errors_not_panics() {
        assert!(parse("${unterminated")
            .unwrap_err()
            .contains("unterminated"));
        assert!(parse("${}").is_err());
        assert!(parse("${bogus:x}")
            .unwrap_err()
            .contains("unknown built-in"));
        let caps = BTreeMap::new();
        let pw = Default::default();
        let err = scope_with(&caps, &pw).string("${nope}").unwrap_err();
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn finds_capture_references() {
        let mut out = Vec::new();
        captures_in(
            &json!({"a": "${x}", "${y}": ["${unique:z}", "${w} and ${region}"]}),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, vec!["x", "y", "w"]);
    }
}
