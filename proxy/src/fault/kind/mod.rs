//! Fault kinds: one variant of [`FaultKind`] per kind, one file per kind.
//!
//! Every use matches the enum without a wildcard arm, so a new kind must decide, at each
//! place, what it does: whether it needs the upstream's answer, when it acts, how it shows in
//! the admin API. In a rule file the kind is the `kind` member of a rule's `fault` table.

use serde::{Deserialize, Serialize};

pub mod close;
pub mod content_type;
pub mod error;
pub mod hang;
pub mod latency;
pub mod malformed;
pub mod mutate;
pub mod reset;
pub mod slow_body;
pub mod status;
pub mod truncate;

/// What a fired rule does to an exchange.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// A Cognito error, exactly as Cognito sends it; the upstream is not called.
    Error(error::CognitoError),
    /// A raw 5xx as a load balancer sends it; the upstream is not called.
    Status(status::LoadBalancerStatus),
    /// A delay before the upstream call or before the answer.
    Latency(latency::Latency),
    /// No answer until the client gives up.
    Hang(hang::Hang),
    /// A TCP reset (RST), before or after forwarding.
    Reset(reset::Reset),
    /// A clean close (FIN) without an answer, before or after forwarding.
    Close(close::Close),
    /// The upstream's answer as a 200 with its JSON cut short.
    Truncate(truncate::Truncate),
    /// The upstream's answer as a 200 with a body that is not JSON.
    Malformed(malformed::Malformed),
    /// The upstream's answer with the wrong `Content-Type`.
    ContentType(content_type::WrongContentType),
    /// The upstream's answer, its body trickled at a fixed rate.
    SlowBody(slow_body::SlowBody),
    /// The upstream's answer altered by one of the suite's mutation operators.
    Mutate(mutate::Mutate),
}

/// When a disconnecting fault acts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisconnectPhase {
    /// Before the request reaches the upstream: the upstream never sees it.
    #[default]
    BeforeUpstream,
    /// After the upstream answered: it did the work, the client never hears of it.
    AfterUpstream,
}

/// A problem with one field of a fault, for the rule loader's message: (field path, message).
pub type FieldProblem = (String, String);

impl FaultKind {
    /// The kind's name, as written in rule files.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Error(_) => "error",
            FaultKind::Status(_) => "status",
            FaultKind::Latency(_) => "latency",
            FaultKind::Hang(_) => "hang",
            FaultKind::Reset(_) => "reset",
            FaultKind::Close(_) => "close",
            FaultKind::Truncate(_) => "truncate",
            FaultKind::Malformed(_) => "malformed",
            FaultKind::ContentType(_) => "content_type",
            FaultKind::SlowBody(_) => "slow_body",
            FaultKind::Mutate(_) => "mutate",
        }
    }

    /// True when a rule of this kind that fires is the one fault a request gets (only one
    /// acts; latency adds up instead), which also keeps the request from the quota.
    pub fn acts(&self) -> bool {
        match self {
            FaultKind::Latency(_) => false,
            FaultKind::Error(_)
            | FaultKind::Status(_)
            | FaultKind::Hang(_)
            | FaultKind::Reset(_)
            | FaultKind::Close(_)
            | FaultKind::Truncate(_)
            | FaultKind::Malformed(_)
            | FaultKind::ContentType(_)
            | FaultKind::SlowBody(_)
            | FaultKind::Mutate(_) => true,
        }
    }

    /// Checks the values serde cannot (ranges, names known to the model).
    pub fn validate(&self) -> Result<(), FieldProblem> {
        let prefixed = |(field, message): FieldProblem| (format!("fault.{field}"), message);
        match self {
            FaultKind::Error(e) => e.validate().map_err(prefixed),
            FaultKind::Status(s) => s.validate().map_err(prefixed),
            FaultKind::Latency(l) => l.validate().map_err(prefixed),
            FaultKind::Hang(h) => h.validate().map_err(prefixed),
            FaultKind::Truncate(t) => t.validate().map_err(prefixed),
            FaultKind::SlowBody(s) => s.validate().map_err(prefixed),
            FaultKind::Mutate(m) => m.validate().map_err(prefixed),
            FaultKind::Reset(_)
            | FaultKind::Close(_)
            | FaultKind::Malformed(_)
            | FaultKind::ContentType(_) => Ok(()),
        }
    }
}

/// Every kind's name, for messages.
pub const KINDS: &str = "error, status, latency, hang, reset, close, truncate, malformed, \
                         content_type, slow_body, mutate";

/// Reads a rule's `fault` table, with errors that name the field inside it. (serde's tagged
/// enums lose the path inside the variant, so the kind is dispatched by hand.)
pub fn parse(value: &serde_json::Value) -> Result<FaultKind, FieldProblem> {
    fn de<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, FieldProblem> {
        serde_path_to_error::deserialize(v).map_err(|e| {
            let p = e.path().to_string();
            let field = if p == "." {
                "fault".into()
            } else {
                format!("fault.{p}")
            };
            (field, e.inner().to_string())
        })
    }
    let Some(table) = value.as_object() else {
        return Err((
            "fault".into(),
            format!("expected a table with `kind` ({KINDS})"),
        ));
    };
    let mut rest = table.clone();
    let kind = match rest.remove("kind") {
        Some(serde_json::Value::String(k)) => k,
        Some(other) => {
            return Err((
                "fault.kind".into(),
                format!("expected a string, found {other}"),
            ))
        }
        None => return Err(("fault.kind".into(), format!("missing; one of {KINDS}"))),
    };
    let v = serde_json::Value::Object(rest);
    Ok(match kind.as_str() {
        "error" => FaultKind::Error(de(v)?),
        "status" => FaultKind::Status(de(v)?),
        "latency" => FaultKind::Latency(de(v)?),
        "hang" => FaultKind::Hang(de(v)?),
        "reset" => FaultKind::Reset(de(v)?),
        "close" => FaultKind::Close(de(v)?),
        "truncate" => FaultKind::Truncate(de(v)?),
        "malformed" => FaultKind::Malformed(de(v)?),
        "content_type" => FaultKind::ContentType(de(v)?),
        "slow_body" => FaultKind::SlowBody(de(v)?),
        "mutate" => FaultKind::Mutate(de(v)?),
        other => {
            return Err((
                "fault.kind".into(),
                format!("unknown kind `{other}`; one of {KINDS}"),
            ))
        }
    })
}

/// Reads a duration written `250ms`, `10s`, `5m` or `1h`.
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (number, unit) = t.split_at(split);
    let n: f64 = number.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    (secs.is_finite() && (0.0..1e9).contains(&secs))
        .then(|| std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("250ms"),
            Some(std::time::Duration::from_millis(250))
        );
        assert_eq!(
            parse_duration("1.5s"),
            Some(std::time::Duration::from_millis(1500))
        );
        assert_eq!(
            parse_duration("2m"),
            Some(std::time::Duration::from_secs(120))
        );
        for bad in ["", "10", "s", "-1s", "1d", "1e999s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn kinds_parse_with_a_kind_tag_and_refuse_unknown_fields() {
        let k: FaultKind =
            serde_json::from_value(serde_json::json!({"kind": "reset", "phase": "after_upstream"}))
                .unwrap();
        assert!(matches!(k, FaultKind::Reset(r) if r.phase == DisconnectPhase::AfterUpstream));
        let e = serde_json::from_value::<FaultKind>(
            serde_json::json!({"kind": "reset", "phaze": "after_upstream"}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("phaze"), "{e}");
    }
}
