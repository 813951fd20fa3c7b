//! Codes a target delivered out of band (printed to its log or served by an endpoint).

use std::fs;
use std::path::Path;

use crate::error::{Error, Result};

use super::{log::strip_ansi, spec::CodeSource};

/// A code a target printed to its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveredCode {
    /// The user it was sent to.
    pub username: String,
    /// The code.
    pub code: String,
}

/// Every code the target has delivered to `user` of `pool` so far, oldest first, from its
/// log or its code endpoint (read through `client`); nothing for targets whose codes are
/// fixed or unchecked. Shared by the `confirmation_code` helper and offline comparison.
pub async fn delivered_codes(
    source: &CodeSource,
    client: &crate::client::Client,
    log: Option<&Path>,
    pool: &str,
    user: &str,
) -> std::result::Result<Vec<String>, String> {
    match source {
        CodeSource::Log { pattern, .. } => {
            let log = log.ok_or("the target's log is not available")?;
            let codes = codes_in_log_file(log, pattern).map_err(|e| e.to_string())?;
            Ok(codes
                .into_iter()
                .filter(|c| c.username == user)
                .map(|c| c.code)
                .collect())
        }
        CodeSource::Endpoint { path, .. } => {
            let raw = client.get(path).await.map_err(|e| e.to_string())?;
            let body: serde_json::Value = serde_json::from_slice(&raw.body)
                .map_err(|e| format!("GET {path}: not JSON: {e}"))?;
            Ok(find_codes(&body, pool, user))
        }
        CodeSource::Unchecked { .. } | CodeSource::Fixed { .. } => Ok(Vec::new()),
    }
}

/// The codes of `user` of `pool` in a code endpoint's JSON, wherever they are nested: targets
/// list them in objects naming the pool, the user and the code, under names of their own.
pub(super) fn find_codes(body: &serde_json::Value, pool: &str, user: &str) -> Vec<String> {
    let mut found = Vec::new();
    visit_codes(body, pool, user, &mut found);
    found
}

fn visit_codes(v: &serde_json::Value, pool: &str, user: &str, found: &mut Vec<String>) {
    use serde_json::Value;
    match v {
        Value::Array(items) => items.iter().for_each(|i| visit_codes(i, pool, user, found)),
        Value::Object(o) => {
            let text = |keys: &[&str]| keys.iter().find_map(|k| o.get(*k).and_then(Value::as_str));
            let p = text(&["userPoolId", "UserPoolId", "pool_id", "poolId"]);
            let u = text(&["username", "Username", "user", "userName"]);
            let c = text(&["code", "Code", "confirmationCode"]);
            if let (Some(p), Some(u), Some(c)) = (p, u, c) {
                if p == pool && u == user {
                    found.push(c.to_string());
                }
            }
            o.values().for_each(|i| visit_codes(i, pool, user, found));
        }
        _ => {}
    }
}

/// The codes printed to a log so far, oldest first: every match of `pattern` (a
/// [`CodeSource::Log`] pattern with groups `username` and `code`) in the log without colours.
pub fn codes_in_log_file(log: &Path, pattern: &str) -> Result<Vec<DeliveredCode>> {
    let text = fs::read(log).map_err(|source| Error::Io {
        path: log.to_path_buf(),
        source,
    })?;
    let text = strip_ansi(&String::from_utf8_lossy(&text));
    let pattern_error = |e: regex::Error| Error::Config {
        path: log.to_path_buf(),
        message: format!("codes pattern `{pattern}`: {e}"),
    };
    let regex = regex::Regex::new(pattern).map_err(pattern_error)?;
    let mut codes = Vec::new();
    for captures in regex.captures_iter(&text) {
        if let (Some(username), Some(code)) = (captures.name("username"), captures.name("code")) {
            codes.push(DeliveredCode {
                username: username.as_str().to_string(),
                code: code.as_str().to_string(),
            });
        }
    }
    Ok(codes)
}
