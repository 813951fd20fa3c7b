//! `kind = "hang"`: the request is taken and never answered, until the client gives up and
//! closes the connection (its own timeout), or `max` passes, after which the connection is
//! closed without an answer (so a forgotten rule never holds sockets for ever).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{parse_duration, FieldProblem};

/// Hang until the client gives up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hang {
    /// The longest the proxy holds the request (`10m` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
}

impl Hang {
    /// Default for `max`.
    pub const DEFAULT_MAX: Duration = Duration::from_secs(600);

    /// Checks `max`.
    pub fn validate(&self) -> Result<(), FieldProblem> {
        match &self.max {
            Some(m) if parse_duration(m).is_none() => Err((
                "max".into(),
                format!("`{m}` is not a duration (e.g. 30s, 10m)"),
            )),
            Some(_) | None => Ok(()),
        }
    }

    /// How long to hold the request.
    pub fn max(&self) -> Duration {
        self.max
            .as_deref()
            .and_then(parse_duration)
            .unwrap_or(Self::DEFAULT_MAX)
    }
}
