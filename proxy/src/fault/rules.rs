//! Rules: the file format, validation up front, and the compiled rule with its own stream and
//! counters.
//!
//! A rules file is TOML (`.toml`) or JSON (anything else); the format is documented in
//! `proxy/README.md` ("Faults") and shown by the files in `fixtures/faults/`. Every problem is
//! reported with the file, the rule (index and id) and the field:
//!
//! ```text
//! faults.toml: rules[1] (id `throttle`): field `probability`: 1.5 is not a probability (0 to 1)
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cogcheck::model::Model;
use rand_chacha::ChaCha12Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::kind::{parse_duration, FaultKind};
use super::quota::{catalog, QuotaSpec};
use super::target::{Field, Target};

/// One value or a list of them (`actions = "InitiateAuth"` or `actions = ["A", "B"]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = a.next_element::<String>()? {
                    out.push(s);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A time window, relative to the proxy's start.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// Active from (`30s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Active until (`2m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// A rule as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique id; also seeds the rule's random stream.
    pub id: String,
    /// Action names or globs; none means every action.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub actions: OneOrMany,
    /// Quota categories (`UserAuthentication`, ...).
    #[serde(default, skip_serializing_if = "is_empty")]
    pub categories: OneOrMany,
    /// Only signed (`true`) or only unsigned (`false`) requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<bool>,
    /// Input members and the values (or globs) they must have.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, OneOrMany>,
    /// Chance that a selected request fires (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Decide by hashing this field's value instead of drawing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Fire on the first N selected requests only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<u64>,
    /// Fire on every Nth selected request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<u64>,
    /// Fire after N selected requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// Active only within this window after the proxy's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowSpec>,
    /// Active for this long after the rule was added (`5m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// What the rule does.
    pub fault: FaultKind,
}

fn is_empty(v: &OneOrMany) -> bool {
    v.0.is_empty()
}

/// A problem with a rule: which field, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    /// The rule's index in its file or request.
    pub index: usize,
    /// Its id, when it has one.
    pub id: Option<String>,
    /// The field (`fault.status`), or empty for the rule as a whole.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl RuleProblem {
    /// The message, with where: `SOURCE: rules[I] (id `X`): field `F`: message`.
    pub fn describe(&self, source: &str) -> String {
        let id = self
            .id
            .as_deref()
            .map(|i| format!(" (id `{i}`)"))
            .unwrap_or_default();
        let field = if self.field.is_empty() {
            String::new()
        } else {
            format!(" field `{}`:", self.field)
        };
        format!(
            "{source}: rules[{}]{id}:{field} {}",
            self.index, self.message
        )
    }
}

/// A validated rule with its state: its stream, its count of selected requests, its counters.
pub struct Rule {
    /// As written (shown by `GET /faults`).
    pub spec: RuleSpec,
    /// The compiled selectors.
    pub target: Target,
    /// The key field, if the rule is keyed.
    pub key: Option<Field>,
    /// The probability.
    pub probability: f64,
    /// When the rule was added (for `ttl`).
    pub added: Instant,
    state: Mutex<(ChaCha12Rng, u64)>,
    /// Selected requests per match key (`replay.rs`), counted only while decisions are logged
    /// or replayed: it grows with the distinct keys seen, which a plain run need not pay for.
    occurrences: Mutex<HashMap<String, u64>>,
    /// Requests selected.
    pub selected: AtomicU64,
    /// Requests the rule fired on.
    pub fired: AtomicU64,
    /// Requests the rule's fault acted on.
    pub applied: AtomicU64,
    /// Selections a replayed log held no decision for (`--fault-replay`).
    pub unmatched: AtomicU64,
}

/// One decision of a rule.
#[derive(Debug, Clone, Copy)]
pub struct Decision {
    /// The rule's count of selected requests, this one included.
    pub n: u64,
    /// The draw in [0, 1); `None` when a keyed rule's field is missing.
    pub draw: Option<f64>,
    /// The rule fires.
    pub fired: bool,
}

impl Rule {
    /// Draws for a selected request and counts it; the caller tallies the decision
    /// ([`Rule::tally`]) once it is final: with `--shared-state` a counted rule's count, and
    /// so whether it fires, is the fleet's (`shared.rs`).
    pub fn draw(&self, seed: u64, body: Option<&Value>) -> Decision {
        let mut state = match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        state.1 += 1;
        let n = state.1;
        let draw = match self.key {
            // The stream still advances, so a keyed rule's latency samples stay reproducible.
            Some(field) => {
                let _: f64 = rand::Rng::gen(&mut state.0);
                body.and_then(|b| field.read(b))
                    .map(|v| super::draw::keyed(seed, &self.spec.id, v))
            }
            None => Some(rand::Rng::gen(&mut state.0)),
        };
        drop(state);
        Decision {
            n,
            draw,
            fired: self.fires(draw, n),
        }
    }

    /// True when a draw fires the `n`th selected request (1-based).
    pub fn fires(&self, draw: Option<f64>, n: u64) -> bool {
        self.draw_passes(draw) && self.target.counts_allow(n)
    }

    /// True when the draw alone lets the rule fire (below its probability).
    pub fn draw_passes(&self, draw: Option<f64>) -> bool {
        draw.is_some_and(|d| d < self.probability)
    }

    /// Takes a decision made elsewhere (replayed from a log): the count of selected requests
    /// moves on as if the rule had drawn, the stream does not.
    pub fn replayed(&self, fired: bool, draw: Option<f64>) -> Decision {
        let mut state = match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        state.1 += 1;
        let n = state.1;
        drop(state);
        self.tally(fired);
        Decision { n, draw, fired }
    }

    /// Counts a final decision.
    pub fn tally(&self, fired: bool) {
        self.selected.fetch_add(1, Ordering::Relaxed);
        if fired {
            self.fired.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one more selected request with this match key; returns its occurrence (1-based).
    pub fn next_occurrence(&self, key: &str) -> u64 {
        let mut seen = match self.occurrences.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        match seen.get_mut(key) {
            Some(n) => {
                *n += 1;
                *n
            }
            None => {
                seen.insert(key.to_string(), 1);
                1
            }
        }
    }

    /// Runs `f` with the rule's stream (latency samples).
    pub fn with_stream<T>(&self, f: impl FnOnce(&mut ChaCha12Rng) -> T) -> T {
        let mut state = match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut state.0)
    }

    /// True when the rule reads request bodies.
    pub fn needs_body(&self) -> bool {
        self.key.is_some() || !self.target.fields.is_empty()
    }

    /// True when the rule may apply to `action` at all (a modeled error must be declared).
    pub fn applies_to(&self, operation: &cogcheck::model::Operation) -> bool {
        match &self.spec.fault {
            FaultKind::Error(e) => e.applies_to(operation),
            FaultKind::Status(_)
            | FaultKind::Latency(_)
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
}

/// What a rules file holds.
pub struct RulesFile {
    /// `seed`.
    pub seed: Option<u64>,
    /// `[quotas]`.
    pub quotas: Option<QuotaSpec>,
    /// `[[rules]]`, validated.
    pub rules: Vec<RuleSpec>,
}

/// Reads and validates a rules file. The error names the file, the rule and the field.
pub fn load_file(path: &std::path::Path) -> Result<RulesFile, String> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{source}: {e}"))?;
    let is_toml = path.extension().is_some_and(|e| e == "toml");
    let value: Value = if is_toml {
        let t: toml::Value = toml::from_str(&text).map_err(|e| format!("{source}: {e}"))?;
        serde_json::to_value(t).map_err(|e| format!("{source}: {e}"))?
    } else {
        serde_json::from_str(&text).map_err(|e| format!("{source}: {e}"))?
    };
    parse_file(&source, value)
}

/// Validates the contents of a rules file (already parsed from TOML or JSON).
pub fn parse_file(source: &str, value: Value) -> Result<RulesFile, String> {
    let Value::Object(mut top) = value else {
        return Err(format!(
            "{source}: expected a table with `seed`, `quotas` and `rules`"
        ));
    };
    let seed = match top.remove("seed") {
        None => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| {
            format!("{source}: field `seed`: expected a non-negative integer, found {v}")
        })?),
    };
    let quotas = match top.remove("quotas") {
        None => None,
        Some(v) => {
            let q: QuotaSpec = serde_path_to_error::deserialize(v)
                .map_err(|e| format!("{source}: field `quotas.{}`: {}", e.path(), e.inner()))?;
            super::quota::Buckets::new(&q)
                .map_err(|(field, m)| format!("{source}: field `{field}`: {m}"))?;
            Some(q)
        }
    };
    let rules = match top.remove("rules") {
        None => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(format!(
            "{source}: field `rules`: expected a list of rules ([[rules]] in TOML), found {other}"
        ))
        }
    };
    if let Some(k) = top.keys().next() {
        return Err(format!(
            "{source}: unknown field `{k}`; a rules file has `seed`, `quotas` and `rules`"
        ));
    }
    let rules = parse_rules(rules, &[]).map_err(|p| p.describe(source))?;
    Ok(RulesFile {
        seed,
        quotas,
        rules,
    })
}

/// Validates rules; `existing` are the ids already in use. The first problem is returned.
pub fn parse_rules(items: Vec<Value>, existing: &[String]) -> Result<Vec<RuleSpec>, RuleProblem> {
    let mut seen: Vec<String> = existing.to_vec();
    let mut out = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let id = item.get("id").and_then(Value::as_str).map(str::to_string);
        let problem = |field: &str, message: String| RuleProblem {
            index,
            id: id.clone(),
            field: field.to_string(),
            message,
        };
        if let Some(fault) = item.get("fault") {
            super::kind::parse(fault).map_err(|(f, m)| problem(&f, m))?;
        }
        let spec: RuleSpec = serde_path_to_error::deserialize(item).map_err(|e| {
            let path = e.path().to_string();
            problem(if path == "." { "" } else { &path }, e.inner().to_string())
        })?;
        if spec.id.is_empty() || spec.id.chars().any(|c| c.is_control() || c == '/') {
            return Err(problem(
                "id",
                "an id is a non-empty name without `/`".into(),
            ));
        }
        if seen.contains(&spec.id) {
            return Err(problem(
                "id",
                format!("`{}` is used by another rule", spec.id),
            ));
        }
        compile(&spec).map_err(|(f, m)| problem(&f, m))?;
        seen.push(spec.id.clone());
        out.push(spec);
    }
    Ok(out)
}

/// Checks a rule against the model and the quota categories, and compiles its selectors.
pub fn compile(spec: &RuleSpec) -> Result<(Target, Option<Field>, f64), (String, String)> {
    let model = Model::get();
    for a in &spec.actions.0 {
        let is_glob = a.contains(['*', '?']);
        let known = if is_glob {
            model.operations.keys().any(|op| super::target::glob(a, op))
        } else {
            model.operations.contains_key(a)
        };
        if !known {
            return Err((
                "actions".into(),
                format!("`{a}` names no cognito-idp action (e.g. InitiateAuth, Admin*)"),
            ));
        }
    }
    let cat = catalog().map_err(|e| ("categories".to_string(), e))?;
    for c in &spec.categories.0 {
        if !cat.rates.contains_key(c) {
            return Err((
                "categories".into(),
                format!(
                    "`{c}` is not a quota category; known: {}",
                    cat.rates.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    let mut fields = Vec::new();
    for (name, patterns) in &spec.fields {
        let field = Field::parse(name).ok_or_else(|| {
            (
                format!("fields.{name}"),
                format!("not a field rules can read; use one of {}", field_names()),
            )
        })?;
        if patterns.0.is_empty() {
            return Err((format!("fields.{name}"), "give at least one value".into()));
        }
        fields.push((field, patterns.0.clone()));
    }
    let key = match &spec.key {
        None => None,
        Some(k) => Some(Field::parse(k).ok_or_else(|| {
            (
                "key".to_string(),
                format!(
                    "`{k}` is not a field rules can key on; use one of {}",
                    field_names()
                ),
            )
        })?),
    };
    let probability = spec.probability.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&probability) {
        return Err((
            "probability".into(),
            format!("{probability} is not a probability (0 to 1)"),
        ));
    }
    if spec.every == Some(0) {
        return Err(("every".into(), "must be at least 1".into()));
    }
    let duration = |field: &str, v: &Option<String>| -> Result<_, (String, String)> {
        v.as_deref()
            .map(|s| {
                parse_duration(s).ok_or_else(|| {
                    (
                        field.to_string(),
                        format!("`{s}` is not a duration (e.g. 500ms, 30s, 5m, 1h)"),
                    )
                })
            })
            .transpose()
    };
    let window = spec.window.clone().unwrap_or_default();
    let from = duration("window.from", &window.from)?;
    let until = duration("window.until", &window.until)?;
    if let (Some(f), Some(u)) = (from, until) {
        if f >= u {
            return Err(("window.until".into(), "must be after window.from".into()));
        }
    }
    let ttl = duration("ttl", &spec.ttl)?;
    spec.fault.validate()?;
    let target = Target {
        actions: spec.actions.0.clone(),
        categories: spec.categories.0.clone(),
        signed: spec.signed,
        fields,
        from,
        until,
        ttl,
        first: spec.first,
        every: spec.every,
        after: spec.after,
    };
    if let FaultKind::Error(e) = &spec.fault {
        let declared = model.operations.iter().any(|(name, op)| {
            target.selects_action(name, cat.category_of.get(name).map(String::as_str))
                && e.applies_to(op)
        });
        if !declared {
            return Err((
                "fault.error".into(),
                format!(
                    "no action this rule selects declares `{}` in the model; choose an error the \
                     actions declare, or set `force = true`",
                    e.error
                ),
            ));
        }
    }
    Ok((target, key, probability))
}

fn field_names() -> String {
    Field::ALL.map(Field::name).join(", ")
}

impl Rule {
    /// A rule ready to run, with a fresh stream from `seed`.
    pub fn new(spec: RuleSpec, seed: u64) -> Result<Arc<Rule>, (String, String)> {
        let (target, key, probability) = compile(&spec)?;
        Ok(Arc::new(Rule {
            state: Mutex::new((super::draw::stream(seed, &spec.id), 0)),
            occurrences: Mutex::new(HashMap::new()),
            spec,
            target,
            key,
            probability,
            added: Instant::now(),
            selected: AtomicU64::new(0),
            fired: AtomicU64::new(0),
            applied: AtomicU64::new(0),
            unmatched: AtomicU64::new(0),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problem(rule: Value) -> String {
        parse_file(
            "f.json",
            json!({"rules": [{"id": "ok", "fault": {"kind": "hang"}}, rule]}),
        )
        .err()
        .unwrap()
    }

    #[test]
    fn problems_name_file_rule_and_field() {
        let m = problem(json!({"id": "t", "probability": 1.5, "fault": {"kind": "hang"}}));
        assert_eq!(
            m,
            "f.json: rules[1] (id `t`): field `probability`: 1.5 is not a probability (0 to 1)"
        );
        let m = problem(json!({"id": "t", "fault": {"kind": "status", "status": "x"}}));
        assert!(
            m.starts_with("f.json: rules[1] (id `t`): field `fault.status`:"),
            "{m}"
        );
        let m = problem(json!({"id": "t", "probabilty": 0.5, "fault": {"kind": "hang"}}));
        assert!(m.contains("probabilty"), "{m}");
        let m = problem(json!({"id": "t", "actions": "MakeCoffee", "fault": {"kind": "hang"}}));
        assert!(
            m.contains("field `actions`") && m.contains("MakeCoffee"),
            "{m}"
        );
        let m = problem(json!({"id": "ok", "fault": {"kind": "hang"}}));
        assert!(m.contains("field `id`"), "{m}");
        let m = problem(json!({"id": "t", "fields": {"Email": "x"}, "fault": {"kind": "hang"}}));
        assert!(m.contains("field `fields.Email`"), "{m}");
        let m = problem(json!({"id": "t", "fault": {"kind": "teleport"}}));
        assert!(m.contains("teleport"), "{m}");
    }

    #[test]
    fn an_error_no_selected_action_declares_needs_force() {
        let m = problem(json!({"id": "t", "actions": "ListUserPools",
            "fault": {"kind": "error", "error": "UserNotFoundException"}}));
        assert!(
            m.contains("field `fault.error`") && m.contains("force"),
            "{m}"
        );
        parse_file(
            "f.json",
            json!({"rules": [{"id": "t", "actions": "ListUserPools",
            "fault": {"kind": "error", "error": "UserNotFoundException", "force": true}}]}),
        )
        .unwrap();
    }

    #[test]
    fn shipped_examples_load() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/faults");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let f = load_file(&path).unwrap_or_else(|e| panic!("{e}"));
            for spec in f.rules {
                Rule::new(spec, 0).unwrap();
            }
            n += 1;
        }
        assert!(n >= 4, "{n} example files");
    }

    #[test]
    fn toml_files_load() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.toml");
        std::fs::write(
            &p,
            r#"
seed = 42
[quotas]
enabled = true
rates = { UserList = 5 }

[[rules]]
id = "throttle"
categories = "UserAuthentication"
probability = 0.25
fault = { kind = "error", error = "TooManyRequestsException" }
"#,
        )
        .unwrap();
        let f = load_file(&p).unwrap();
        assert_eq!(f.seed, Some(42));
        assert_eq!(f.rules.len(), 1);
        assert!(f.quotas.unwrap().enabled);
    }
}
