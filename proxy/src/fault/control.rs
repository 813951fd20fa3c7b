//! Run-time control through the admin API.
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /faults` | seed, rules (as written) with counters `selected`, `fired`, `applied`, `unmatched` (`--fault-replay`) and `expired`, quota buckets, header allowlist, decisions file, replayed decisions file, the fleet's store (`--shared-state`: where, prefix, up) |
//! | `POST /faults` | adds rules: one rule object, a list, or `{"rules": [...]}`; 201 with the ids, or 400 naming the rule and field (nothing is added) |
//! | `DELETE /faults/{id}` | removes a rule; 404 if there is none |
//! | `DELETE /faults` | removes every rule |
//! | `POST /faults/reset` | back to the rules file's rules, with fresh streams, counts and counters; quota buckets refilled; a replay starts over from each key's first occurrence |
//!
//! Every change builds a new rule set and swaps it in whole under the lock: a request sees
//! the old set or the new one, never half of a change, and a refused change changes nothing.
//! Rules kept across a change keep their streams and counters.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use super::rules::{parse_rules, Rule};
use super::{lock, Faults, RuleSet};

/// What the admin API sends back for a `/faults` request: a status and a JSON body.
type Reply = (http::StatusCode, Value);

/// Answers `/faults` and below; `None` for other paths.
pub fn route(faults: &Faults, method: &http::Method, path: &str, body: &[u8]) -> Option<Reply> {
    let rest = path.strip_prefix("/faults")?;
    // `/faultsX` is not under `/faults`: without this check `DELETE /faultsabc` would remove
    // rule `bc`, and slicing off the first byte of `é` panicked (not a char boundary).
    if !(rest.is_empty() || rest.starts_with('/')) {
        return Some(not_found(method, path));
    }
    let rule_id = rest
        .strip_prefix('/')
        .filter(|id| !id.is_empty() && !id.contains('/'));
    Some(match (method.as_str(), rest, rule_id) {
        ("GET", "" | "/", _) => (http::StatusCode::OK, faults.describe()),
        ("POST", "" | "/", _) => faults.add(body),
        ("DELETE", "" | "/", _) => faults
            .swap(|_| Ok(Vec::new()))
            .map(|()| (http::StatusCode::OK, json!({"removed": "all"})))
            .unwrap_or_else(|e| e),
        ("POST", "/reset", _) => match faults.reset() {
            Ok(()) => (http::StatusCode::OK, json!({"reset": true})),
            Err(e) => (http::StatusCode::INTERNAL_SERVER_ERROR, json!({"error": e})),
        },
        ("DELETE", _, Some(id)) => faults.remove(id),
        _ => not_found(method, path),
    })
}

fn not_found(method: &http::Method, path: &str) -> Reply {
    (
        http::StatusCode::NOT_FOUND,
        json!({"error": format!(
            "no admin endpoint {method} {path}; use GET /faults, POST /faults, \
             DELETE /faults/{{id}}, DELETE /faults or POST /faults/reset"
        )}),
    )
}

impl Faults {
    /// The `GET /faults` document.
    pub fn describe(&self) -> Value {
        let set = lock(&self.rules).clone();
        let now = std::time::Instant::now();
        let since_start = now.saturating_duration_since(self.started);
        let rules: Vec<Value> = set
            .rules
            .iter()
            .map(|r| {
                json!({
                    "id": r.spec.id,
                    "rule": r.spec,
                    "selected": r.selected.load(Ordering::Relaxed),
                    "fired": r.fired.load(Ordering::Relaxed),
                    "applied": r.applied.load(Ordering::Relaxed),
                    "unmatched": r.unmatched.load(Ordering::Relaxed),
                    "expired": r.target.expired(since_start, now.saturating_duration_since(r.added)),
                })
            })
            .collect();
        json!({
            "seed": self.seed,
            "rules": rules,
            "quotas": self.quotas.as_ref().map(|q| q.describe()),
            "header": {
                "name": super::FAULT_HEADER,
                "allowed": self.allow_header,
                "refused": self.header_refused.load(Ordering::Relaxed),
            },
            "decisions_log": self.log_path.as_ref().map(|p| p.display().to_string()),
            "decisions_replay": self.replay.as_ref().map(|r| r.path().display().to_string()),
            "shared_state": self.shared.as_ref().map(|s| s.describe()),
        })
    }

    fn add(&self, body: &[u8]) -> Reply {
        let value: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                return (
                    http::StatusCode::BAD_REQUEST,
                    json!({"error": format!("POST /faults: the body is not JSON: {e}")}),
                )
            }
        };
        let items = match value {
            Value::Array(items) => items,
            Value::Object(mut o) if o.contains_key("rules") && !o.contains_key("fault") => {
                match o.remove("rules") {
                    Some(Value::Array(items)) => items,
                    _ => {
                        return (
                            http::StatusCode::BAD_REQUEST,
                            json!({"error": "POST /faults: `rules` must be a list of rules"}),
                        )
                    }
                }
            }
            other @ Value::Object(_) => vec![other],
            _ => {
                return (
                    http::StatusCode::BAD_REQUEST,
                    json!({"error": "POST /faults: expected a rule object, a list of rules, or {\"rules\": [...]}"}),
                )
            }
        };
        let seed = self.seed;
        let mut ids = Vec::new();
        let result = self.swap(|current| {
            let existing: Vec<String> = current.iter().map(|r| r.spec.id.clone()).collect();
            let specs = parse_rules(items, &existing).map_err(|p| {
                (
                    http::StatusCode::BAD_REQUEST,
                    json!({
                        "error": p.describe("POST /faults"),
                        "rule": p.index,
                        "id": p.id,
                        "field": p.field,
                    }),
                )
            })?;
            let mut next = current.to_vec();
            for spec in specs {
                ids.push(spec.id.clone());
                let id = spec.id.clone();
                next.push(Rule::new(spec, seed).map_err(|(f, m)| {
                    (
                        http::StatusCode::BAD_REQUEST,
                        json!({"error": format!("POST /faults: rule `{id}`: field `{f}`: {m}")}),
                    )
                })?);
            }
            Ok(next)
        });
        match result {
            Ok(()) => (http::StatusCode::CREATED, json!({"added": ids})),
            Err(e) => e,
        }
    }

    fn remove(&self, id: &str) -> Reply {
        let result = self.swap(|current| {
            if !current.iter().any(|r| r.spec.id == id) {
                return Err((
                    http::StatusCode::NOT_FOUND,
                    json!({"error": format!("no rule has id `{id}`")}),
                ));
            }
            Ok(current
                .iter()
                .filter(|r| r.spec.id != id)
                .cloned()
                .collect())
        });
        match result {
            Ok(()) => (http::StatusCode::OK, json!({"removed": id})),
            Err(e) => e,
        }
    }

    /// Replaces the rule set with what `change` makes of the current rules, atomically; an
    /// error leaves the set as it was.
    fn swap(
        &self,
        change: impl FnOnce(&[std::sync::Arc<Rule>]) -> Result<Vec<std::sync::Arc<Rule>>, Reply>,
    ) -> Result<(), Reply> {
        let mut guard = match self.rules.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let next = change(&guard.rules)?;
        self.has_rules
            .store(!next.is_empty(), std::sync::atomic::Ordering::Release);
        *guard = RuleSet::new(next);
        Ok(())
    }
}
