//! Noise rules: what to ignore or normalize in bodies before two answers are compared.
//!
//! Rules live in a TOML file; `fixtures/compare/noise.toml` ships with the proxy (compiled
//! in, so the binary works outside the repository) and `--noise FILE` replaces it.
//!
//! ```toml
//! version = 1
//!
//! [[rule]]
//! path = "$.UserPool.SchemaAttributes"   # where (see "Paths")
//! kind = "sort"                           # ignore | sort | replace | placeholder
//! by = "Name"                             # sort: the member to sort objects by (optional)
//! actions = ["DescribeUserPool"]          # optional: only for these actions
//! reason = "AWS documents no order"       # why; shown in nothing but the file, required
//! ```
//!
//! | kind | fields | effect on both bodies |
//! |---|---|---|
//! | `ignore` | | the member or element is removed |
//! | `sort` | `by` (optional) | the array is sorted, by the member `by` of each element or by the whole element |
//! | `replace` | `pattern`, `with` | every match of the regular expression in a string is replaced (`$1` refers to groups) |
//! | `placeholder` | `value` | the value becomes the string `value` (e.g. `<timestamp>`) |
//!
//! # Paths
//!
//! A small JSONPath subset: `$` is the body; `.Name` a member; `..Name` a member at any depth;
//! `[*]` every element of an array; `.*` every member. A name may hold `*` as a wildcard
//! (`$..*Date` is every member whose name ends in `Date`, at any depth).
//!
//! Rules run in file order, after identifiers became placeholders, so `sort` sorts by the
//! normalized values and two lists holding the same resources in another order compare equal.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// The rules that ship with the proxy (`fixtures/compare/noise.toml`).
pub const DEFAULT_RULES: &str = include_str!("../../../fixtures/compare/noise.toml");

/// A set of rules, in order.
#[derive(Debug, Clone)]
pub struct NoiseRules {
    rules: Vec<Rule>,
}

/// One rule.
#[derive(Debug, Clone)]
pub struct Rule {
    path: Vec<Segment>,
    actions: Vec<String>,
    kind: RuleKind,
}

/// What a rule does. Matched without a wildcard: a new kind must be handled everywhere.
#[derive(Debug, Clone)]
pub enum RuleKind {
    /// Remove the member or element.
    Ignore,
    /// Sort the array, by a member of each element or by the whole element.
    Sort {
        /// The member to sort by.
        by: Option<String>,
    },
    /// Replace regular-expression matches in strings.
    Replace {
        /// The expression.
        pattern: regex::Regex,
        /// The replacement (`$1` for groups).
        with: String,
    },
    /// Replace the value with a constant string.
    Placeholder {
        /// The constant.
        value: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `.name` (with `*` wildcards).
    Child(String),
    /// `..name`: the member at any depth.
    Descendant(String),
    /// `[*]`.
    Elements,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: u32,
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    path: String,
    kind: String,
    reason: String,
    #[serde(default)]
    actions: Vec<String>,
    by: Option<String>,
    pattern: Option<String>,
    with: Option<String>,
    value: Option<String>,
}

impl NoiseRules {
    /// The rules that ship with the proxy.
    pub fn defaults() -> Result<NoiseRules> {
        NoiseRules::parse(
            DEFAULT_RULES,
            Path::new("fixtures/compare/noise.toml (built in)"),
        )
    }

    /// Loads a rule file.
    pub fn load(path: &Path) -> Result<NoiseRules> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        NoiseRules::parse(&text, path)
    }

    /// No rules at all.
    pub fn none() -> NoiseRules {
        NoiseRules { rules: Vec::new() }
    }

    /// Parses a rule file; errors name the file and the rule.
    pub fn parse(text: &str, origin: &Path) -> Result<NoiseRules> {
        let err = |m: String| Error::Config(format!("{}: {m}", origin.display()));
        let raw: RawFile = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        if raw.version != 1 {
            return Err(err(format!(
                "version {} is not supported; this proxy reads noise rules version 1",
                raw.version
            )));
        }
        let mut rules = Vec::new();
        for (i, r) in raw.rule.into_iter().enumerate() {
            let at = |m: String| err(format!("rule {} (`{}`): {m}", i + 1, r.path));
            if r.reason.trim().is_empty() {
                return Err(at("`reason` must say why the difference is noise".into()));
            }
            let path = parse_path(&r.path).map_err(&at)?;
            let kind = match r.kind.as_str() {
                "ignore" => RuleKind::Ignore,
                "sort" => RuleKind::Sort { by: r.by.clone() },
                "replace" => {
                    let (Some(p), Some(w)) = (&r.pattern, &r.with) else {
                        return Err(at("`replace` needs `pattern` and `with`".into()));
                    };
                    RuleKind::Replace {
                        pattern: regex::Regex::new(p).map_err(|e| at(format!("`pattern`: {e}")))?,
                        with: w.clone(),
                    }
                }
                "placeholder" => RuleKind::Placeholder {
                    value: r
                        .value
                        .clone()
                        .ok_or_else(|| at("`placeholder` needs `value`".into()))?,
                },
                other => {
                    return Err(at(format!(
                        "unknown kind `{other}`; expected ignore, sort, replace or placeholder"
                    )))
                }
            };
            rules.push(Rule {
                path,
                actions: r.actions,
                kind,
            });
        }
        Ok(NoiseRules { rules })
    }

    /// How many rules there are.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Applies every rule for `action` to `body`, in order.
    pub fn apply(&self, action: &str, body: &mut Value) {
        for rule in &self.rules {
            if !rule.actions.is_empty() && !rule.actions.iter().any(|a| a == action) {
                continue;
            }
            let mut found = Vec::new();
            resolve(body, &rule.path, &mut Vec::new(), &mut found, 0);
            match &rule.kind {
                RuleKind::Ignore => {
                    // Remove from the last path backwards so array indices stay valid.
                    for p in found.iter().rev() {
                        remove(body, p);
                    }
                }
                RuleKind::Sort { by } => {
                    for p in &found {
                        if let Some(Value::Array(items)) = get_mut(body, p) {
                            items.sort_by_cached_key(|v| match by {
                                Some(k) => v.get(k).map(canonical).unwrap_or_default(),
                                None => canonical(v),
                            });
                        }
                    }
                }
                RuleKind::Replace { pattern, with } => {
                    for p in &found {
                        if let Some(v) = get_mut(body, p) {
                            replace_strings(v, pattern, with, 0);
                        }
                    }
                }
                RuleKind::Placeholder { value } => {
                    for p in &found {
                        if let Some(v) = get_mut(body, p) {
                            *v = Value::String(value.clone());
                        }
                    }
                }
            }
        }
    }
}

fn replace_strings(v: &mut Value, pattern: &regex::Regex, with: &str, depth: usize) {
    if depth > 64 {
        return;
    }
    match v {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(new) = pattern.replace_all(s, with) {
                *s = new;
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| replace_strings(i, pattern, with, depth + 1)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|i| replace_strings(i, pattern, with, depth + 1)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// JSON with sorted keys: a stable sort key and a stable comparison.
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&map[*k])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", inner.join(","))
        }
        other => other.to_string(),
    }
}

fn parse_path(text: &str) -> std::result::Result<Vec<Segment>, String> {
    let rest = text
        .strip_prefix('$')
        .ok_or_else(|| "a path starts with `$`".to_string())?;
    let mut segments = Vec::new();
    let mut rest = rest;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("[*]") {
            segments.push(Segment::Elements);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("..") {
            let (name, r) = take_name(r)?;
            segments.push(Segment::Descendant(name));
            rest = r;
        } else if let Some(r) = rest.strip_prefix('.') {
            let (name, r) = take_name(r)?;
            segments.push(Segment::Child(name));
            rest = r;
        } else {
            return Err(format!(
                "unexpected `{rest}`; use `.Name`, `..Name`, `[*]` or `.*`"
            ));
        }
    }
    Ok(segments)
}

fn take_name(s: &str) -> std::result::Result<(String, &str), String> {
    let end = s.find(['.', '[']).unwrap_or(s.len());
    if end == 0 {
        return Err("a member name is missing after `.`".into());
    }
    Ok((s[..end].to_string(), &s[end..]))
}

/// A concrete location in a body.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

fn name_matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == name;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut at = first.len();
    let end = name.len() - last.len();
    for middle in &parts[1..parts.len() - 1] {
        match name[at..end].find(middle) {
            Some(i) => at += i + middle.len(),
            None => return false,
        }
    }
    true
}

fn resolve(
    v: &Value,
    segments: &[Segment],
    at: &mut Vec<Step>,
    out: &mut Vec<Vec<Step>>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    let Some((first, rest)) = segments.split_first() else {
        if !out.contains(at) {
            out.push(at.clone());
        }
        return;
    };
    match first {
        Segment::Child(name) => {
            if let Value::Object(map) = v {
                for (k, child) in map {
                    if name_matches(name, k) {
                        at.push(Step::Key(k.clone()));
                        resolve(child, rest, at, out, depth + 1);
                        at.pop();
                    }
                }
            }
        }
        Segment::Elements => {
            if let Value::Array(items) = v {
                for (i, child) in items.iter().enumerate() {
                    at.push(Step::Index(i));
                    resolve(child, rest, at, out, depth + 1);
                    at.pop();
                }
            }
        }
        Segment::Descendant(name) => {
            // The member here, then the same search one level down.
            resolve(
                v,
                &[&[Segment::Child(name.clone())], rest].concat(),
                at,
                out,
                depth + 1,
            );
            match v {
                Value::Object(map) => {
                    for (k, child) in map {
                        at.push(Step::Key(k.clone()));
                        resolve(child, segments, at, out, depth + 1);
                        at.pop();
                    }
                }
                Value::Array(items) => {
                    for (i, child) in items.iter().enumerate() {
                        at.push(Step::Index(i));
                        resolve(child, segments, at, out, depth + 1);
                        at.pop();
                    }
                }
                Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
            }
        }
    }
}

fn get_mut<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut cur = v;
    for step in path {
        cur = match (step, cur) {
            (Step::Key(k), Value::Object(map)) => map.get_mut(k)?,
            (Step::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn remove(v: &mut Value, path: &[Step]) {
    let Some((last, parent)) = path.split_last() else {
        *v = Value::Null;
        return;
    };
    match (last, get_mut(v, parent)) {
        (Step::Key(k), Some(Value::Object(map))) => {
            map.shift_remove(k);
        }
        (Step::Index(i), Some(Value::Array(items))) if *i < items.len() => {
            items.remove(*i);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(text: &str) -> NoiseRules {
        NoiseRules::parse(text, Path::new("test.toml")).unwrap()
    }

    #[test]
    fn the_shipped_rules_load() {
        assert!(!NoiseRules::defaults().unwrap().is_empty());
    }

    #[test]
    fn paths_select_what_they_say() {
        let r = rules(
            r#"version = 1
[[rule]]
path = "$..*Date"
kind = "placeholder"
value = "<timestamp>"
reason = "clocks differ"
[[rule]]
path = "$.message"
kind = "ignore"
reason = "wording"
[[rule]]
path = "$.Pool.Attrs"
kind = "sort"
by = "Name"
reason = "no order"
[[rule]]
path = "$.Pool.Arn"
kind = "replace"
pattern = ':\d{12}:'
with = ":<account>:"
reason = "accounts differ"
[[rule]]
path = "$.Pool.Tags[*].Old"
kind = "ignore"
actions = ["Other"]
reason = "not this action"
"#,
        );
        let mut body = json!({
            "message": "x",
            "Pool": {
                "CreationDate": 1.5,
                "Nested": [{"LastModifiedDate": "2020"}],
                "Attrs": [{"Name": "b"}, {"Name": "a"}],
                "Arn": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/p",
                "Tags": [{"Old": 1}]
            }
        });
        r.apply("DescribeUserPool", &mut body);
        assert_eq!(
            body,
            json!({"Pool": {
                "CreationDate": "<timestamp>",
                "Nested": [{"LastModifiedDate": "<timestamp>"}],
                "Attrs": [{"Name": "a"}, {"Name": "b"}],
                "Arn": "arn:aws:cognito-idp:us-east-1:<account>:userpool/p",
                "Tags": [{"Old": 1}]
            }})
        );
    }

    #[test]
    fn bad_rules_are_refused_with_their_place() {
        for (text, expect) in [
            ("version = 2", "version 2"),
            (
                "version = 1\n[[rule]]\npath = \"x\"\nkind = \"ignore\"\nreason = \"r\"",
                "rule 1",
            ),
            (
                "version = 1\n[[rule]]\npath = \"$.a\"\nkind = \"explode\"\nreason = \"r\"",
                "unknown kind",
            ),
            (
                "version = 1\n[[rule]]\npath = \"$.a\"\nkind = \"ignore\"\nreason = \"\"",
                "reason",
            ),
        ] {
            let e = NoiseRules::parse(text, Path::new("n.toml"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("n.toml") && e.contains(expect), "{e}");
        }
    }

    #[test]
    fn wildcards() {
        assert!(name_matches("*Date", "CreationDate"));
        assert!(!name_matches("*Date", "DateOf"));
        assert!(name_matches("a*c*e", "abcde"));
        assert!(name_matches("*", "x"));
    }
}
