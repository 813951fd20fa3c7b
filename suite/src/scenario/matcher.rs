//! Matchers: what a scenario expects of an answer's body.
//!
//! An expected body is JSON read partially: an object lists the members it cares about (others
//! are ignored), an array must have exactly the listed elements, and a scalar must be equal
//! after templates are resolved. An object with a single `$`-key is a matcher instead:
//!
//! | matcher | matches |
//! |---|---|
//! | `{"$regex": "^us-east-1_"}` | a string the ECMA-262 pattern finds a match in |
//! | `{"$type": "string"}` | `string`, `number`, `integer`, `boolean`, `object`, `array`, `null` |
//! | `{"$absent": true}` | a member that is not there (or is `null`) |
//! | `{"$present": true}` | a member that is there and not `null` |
//! | `{"$oneOf": [m1, m2]}` | a value any of the matchers match |
//! | `{"$length": 3}` or `{"$length": {"min": 1, "max": 5}}` | string (code points), array or object size |
//! | `{"$range": {"min": 1, "max": "${t}", "gt": 0, "lt": 9}}` | a number within bounds (bounds may be templates) |
//! | `{"$contains": [m1, m2]}` | an array in which each matcher matches some element |
//! | `{"$each": m}` | an array whose every element matches |
//! | `{"$exact": value}` | a value equal to this one as a whole (objects compared fully) |
//! | `{"$not": m}` | a value the matcher does not match |
//! | `{"$jwt": {"token_use": "id"}}` | a JWT string whose decoded claims match (signature not checked; the `verify_jwt` helper does that) |
//! | `{"$attributes": {"email": "a@b.c", "sub": {"$present": true}}}` | a Cognito `[{Name, Value}]` list, matched as a map by attribute name |

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use super::template::Scope;

/// A compiled matcher.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// A scalar compared after templates are resolved.
    Equal(Value),
    /// Members that must match; other members are ignored.
    Object(BTreeMap<String, Matcher>),
    /// Exactly these elements, in order.
    Array(Vec<Matcher>),
    /// `$regex`: the pattern, compiled unless it holds templates (then it compiles per check).
    Regex(String, Option<regress::Regex>),
    /// `$type`.
    Type(JsonType),
    /// `$absent`.
    Absent,
    /// `$present`.
    Present,
    /// `$oneOf`.
    OneOf(Vec<Matcher>),
    /// `$length`.
    Length {
        /// Smallest size allowed.
        min: Option<u64>,
        /// Largest size allowed.
        max: Option<u64>,
    },
    /// `$range`.
    Range(Vec<(Bound, Value)>),
    /// `$contains`.
    Contains(Vec<Matcher>),
    /// `$each`.
    Each(Box<Matcher>),
    /// `$exact`.
    Exact(Value),
    /// `$not`.
    Not(Box<Matcher>),
    /// `$jwt`.
    Jwt(Box<Matcher>),
    /// `$attributes`.
    Attributes(BTreeMap<String, Matcher>),
}

/// A bound of `$range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `>=`.
    Min,
    /// `<=`.
    Max,
    /// `>`.
    Gt,
    /// `<`.
    Lt,
}

/// The JSON types `$type` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    /// A JSON string.
    String,
    /// Any JSON number.
    Number,
    /// A number without a fraction.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// An object.
    Object,
    /// An array.
    Array,
    /// `null`.
    Null,
}

/// One way an answer failed to match.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Mismatch {
    /// Where, as a JSON path (`$.UserPool.Id`).
    pub path: String,
    /// What was expected, in words.
    pub expected: String,
    /// What was there (`null` when absent).
    pub actual: Value,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, got {}",
            self.path,
            self.expected,
            short(&self.actual)
        )
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}

impl Matcher {
    /// Compiles a matcher from its JSON form. `path` names where it sits in the scenario file,
    /// for error messages.
    pub fn compile(spec: &Value, path: &str) -> Result<Matcher, (String, String)> {
        let err = |p: &str, m: String| Err((p.to_string(), m));
        match spec {
            Value::Object(o) if o.len() == 1 && o.keys().all(|k| k.starts_with('$')) => {
                let Some((key, arg)) = o.iter().next() else {
                    return err(path, "empty matcher".into());
                };
                let here = format!("{path}.{key}");
                match key.as_str() {
                    "$regex" => {
                        let Some(p) = arg.as_str() else {
                            return err(&here, "`$regex` takes a string".into());
                        };
                        // A pattern with templates compiles when the step runs; check its shape
                        // now with every template replaced by a plain word.
                        let templated = p.contains("${");
                        let probe = if templated { strip_templates(p) } else { p.to_string() };
                        match crate::model::compile_ecma(&probe) {
                            Ok(r) => Ok(Matcher::Regex(p.to_string(), (!templated).then_some(r))),
                            Err(e) => err(&here, format!("bad regex {p:?}: {e}")),
                        }
                    }
                    "$type" => {
                        let t = match arg.as_str() {
                            Some("string") => JsonType::String,
                            Some("number") => JsonType::Number,
                            Some("integer") => JsonType::Integer,
                            Some("boolean") => JsonType::Boolean,
                            Some("object") => JsonType::Object,
                            Some("array") => JsonType::Array,
                            Some("null") => JsonType::Null,
                            _ => return err(&here, format!("unknown type {arg}: expected string, number, integer, boolean, object, array or null")),
                        };
                        Ok(Matcher::Type(t))
                    }
                    "$absent" | "$present" => {
                        if arg != &Value::Bool(true) {
                            return err(&here, format!("`{key}` takes `true`"));
                        }
                        Ok(if key == "$absent" { Matcher::Absent } else { Matcher::Present })
                    }
                    "$oneOf" | "$contains" => {
                        let Some(items) = arg.as_array().filter(|a| !a.is_empty()) else {
                            return err(&here, format!("`{key}` takes a non-empty array"));
                        };
                        let ms = items
                            .iter()
                            .enumerate()
                            .map(|(i, m)| Matcher::compile(m, &format!("{here}[{i}]")))
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok(if key == "$oneOf" { Matcher::OneOf(ms) } else { Matcher::Contains(ms) })
                    }
                    "$length" => match arg {
                        Value::Number(n) => match n.as_u64() {
                            Some(n) => Ok(Matcher::Length { min: Some(n), max: Some(n) }),
                            None => err(&here, "`$length` takes a non-negative integer".into()),
                        },
                        Value::Object(b) => {
                            let mut min = None;
                            let mut max = None;
                            for (k, v) in b {
                                let Some(n) = v.as_u64() else {
                                    return err(&format!("{here}.{k}"), "must be a non-negative integer".into());
                                };
                                match k.as_str() {
                                    "min" => min = Some(n),
                                    "max" => max = Some(n),
                                    _ => return err(&format!("{here}.{k}"), "unknown bound: expected min or max".into()),
                                }
                            }
                            Ok(Matcher::Length { min, max })
                        }
                        _ => err(&here, "`$length` takes a number or {min, max}".into()),
                    },
                    "$range" => {
                        let Some(b) = arg.as_object().filter(|b| !b.is_empty()) else {
                            return err(&here, "`$range` takes {min, max, gt, lt}".into());
                        };
                        let mut bounds = Vec::new();
                        for (k, v) in b {
                            let bound = match k.as_str() {
                                "min" => Bound::Min,
                                "max" => Bound::Max,
                                "gt" => Bound::Gt,
                                "lt" => Bound::Lt,
                                _ => return err(&format!("{here}.{k}"), "unknown bound: expected min, max, gt or lt".into()),
                            };
                            if !(v.is_number() || v.is_string()) {
                                return err(&format!("{here}.{k}"), "a bound is a number or a `${...}` template".into());
                            }
                            bounds.push((bound, v.clone()));
                        }
                        Ok(Matcher::Range(bounds))
                    }
                    "$each" | "$not" | "$jwt" => {
                        let m = Box::new(Matcher::compile(arg, &here)?);
                        Ok(match key.as_str() {
                            "$each" => Matcher::Each(m),
                            "$not" => Matcher::Not(m),
                            _ => Matcher::Jwt(m),
                        })
                    }
                    "$exact" => Ok(Matcher::Exact(arg.clone())),
                    "$attributes" => {
                        let Some(o) = arg.as_object() else {
                            return err(&here, "`$attributes` takes an object of attribute name to matcher".into());
                        };
                        let mut out = BTreeMap::new();
                        for (k, v) in o {
                            out.insert(k.clone(), Matcher::compile(v, &format!("{here}.{k}"))?);
                        }
                        Ok(Matcher::Attributes(out))
                    }
                    other => err(
                        &here,
                        format!("unknown matcher `{other}` (known: $regex, $type, $absent, $present, $oneOf, $length, $range, $contains, $each, $exact, $not, $jwt, $attributes)"),
                    ),
                }
            }
            Value::Object(o) => {
                let mut out = BTreeMap::new();
                for (k, v) in o {
                    if k.starts_with('$') {
                        return err(
                            &format!("{path}.{k}"),
                            "a `$` matcher must be the only key of its object".into(),
                        );
                    }
                    out.insert(k.clone(), Matcher::compile(v, &format!("{path}.{k}"))?);
                }
                Ok(Matcher::Object(out))
            }
            Value::Array(a) => Ok(Matcher::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, m)| Matcher::compile(m, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            )),
            scalar => Ok(Matcher::Equal(scalar.clone())),
        }
    }

    /// Every template string inside the matcher, for static checks of `${name}` references.
    pub fn templates(&self, out: &mut Vec<Value>) {
        match self {
            Matcher::Equal(v) | Matcher::Exact(v) => out.push(v.clone()),
            Matcher::Range(b) => out.extend(b.iter().map(|(_, v)| v.clone())),
            Matcher::Object(m) | Matcher::Attributes(m) => {
                m.values().for_each(|m| m.templates(out))
            }
            Matcher::Array(ms) | Matcher::OneOf(ms) | Matcher::Contains(ms) => {
                ms.iter().for_each(|m| m.templates(out))
            }
            Matcher::Each(m) | Matcher::Not(m) | Matcher::Jwt(m) => m.templates(out),
            Matcher::Regex(p, _) => out.push(Value::String(p.clone())),
            Matcher::Type(_) | Matcher::Absent | Matcher::Present | Matcher::Length { .. } => {}
        }
    }

    /// Matches `actual` (None when the member is absent), appending every mismatch.
    pub fn check(
        &self,
        actual: Option<&Value>,
        path: &str,
        scope: &Scope<'_>,
        out: &mut Vec<Mismatch>,
    ) {
        let actual = actual.filter(|v| {
            !v.is_null()
                || matches!(
                    self,
                    Matcher::Type(JsonType::Null)
                        | Matcher::Equal(Value::Null)
                        | Matcher::Exact(Value::Null)
                )
        });
        let mut miss = |expected: String| {
            out.push(Mismatch {
                path: path.to_string(),
                expected,
                actual: actual.cloned().unwrap_or(Value::Null),
            })
        };
        match self {
            Matcher::Absent => {
                if actual.is_some() {
                    miss("absent".into());
                }
            }
            Matcher::Present => {
                if actual.is_none() {
                    miss("present".into());
                }
            }
            Matcher::Not(inner) => {
                let mut sub = Vec::new();
                inner.check(actual, path, scope, &mut sub);
                if sub.is_empty() {
                    miss(format!("not {}", inner.describe()));
                }
            }
            Matcher::OneOf(ms) => {
                let any = ms.iter().any(|m| {
                    let mut sub = Vec::new();
                    m.check(actual, path, scope, &mut sub);
                    sub.is_empty()
                });
                if !any {
                    miss(self.describe());
                }
            }
            _ => {
                let Some(actual) = actual else {
                    miss(format!("{} (member missing)", self.describe()));
                    return;
                };
                self.check_present(actual, path, scope, out);
            }
        }
    }

    fn check_present(
        &self,
        actual: &Value,
        path: &str,
        scope: &Scope<'_>,
        out: &mut Vec<Mismatch>,
    ) {
        let mut miss = |expected: String| {
            out.push(Mismatch {
                path: path.to_string(),
                expected,
                actual: actual.clone(),
            })
        };
        match self {
            Matcher::Equal(v) | Matcher::Exact(v) => match scope.value(v) {
                Ok(want) if json_equal(&want, actual) => {}
                Ok(want) => miss(short(&want)),
                Err(e) => miss(format!("a value, but the template failed: {e}")),
            },
            Matcher::Object(members) => {
                let Some(obj) = actual.as_object() else {
                    miss("an object".into());
                    return;
                };
                for (k, m) in members {
                    m.check(obj.get(k), &format!("{path}.{k}"), scope, out);
                }
            }
            Matcher::Array(items) => {
                let Some(arr) = actual.as_array() else {
                    miss("an array".into());
                    return;
                };
                if arr.len() != items.len() {
                    miss(format!(
                        "an array of {} elements (found {})",
                        items.len(),
                        arr.len()
                    ));
                    return;
                }
                for (i, (m, v)) in items.iter().zip(arr).enumerate() {
                    m.check(Some(v), &format!("{path}[{i}]"), scope, out);
                }
            }
            Matcher::Regex(p, re) => {
                // The pattern as matched: templates resolved, for the message.
                let (resolved, compiled);
                let (shown, re) = match re {
                    Some(r) => (p.as_str(), r),
                    None => {
                        match scope.string(p).map(|v| {
                            v.as_str()
                                .map(|s| (s.to_string(), crate::model::compile_ecma(s)))
                        }) {
                            Ok(Some((text, Ok(r)))) => {
                                (resolved, compiled) = (text, r);
                                (resolved.as_str(), &compiled)
                            }
                            _ => {
                                miss(format!("a string matching /{p}/ (the pattern's templates did not resolve)"));
                                return;
                            }
                        }
                    }
                };
                match actual.as_str() {
                    Some(s) if re.find(s).is_some() => {}
                    _ => miss(format!("a string matching /{shown}/")),
                }
            }
            Matcher::Type(t) => {
                let ok = match t {
                    JsonType::String => actual.is_string(),
                    JsonType::Number => actual.is_number(),
                    JsonType::Integer => actual.is_i64() || actual.is_u64(),
                    JsonType::Boolean => actual.is_boolean(),
                    JsonType::Object => actual.is_object(),
                    JsonType::Array => actual.is_array(),
                    JsonType::Null => actual.is_null(),
                };
                if !ok {
                    miss(self.describe());
                }
            }
            Matcher::Length { min, max } => {
                let len = match actual {
                    Value::String(s) => s.chars().count() as u64,
                    Value::Array(a) => a.len() as u64,
                    Value::Object(o) => o.len() as u64,
                    _ => {
                        miss(self.describe());
                        return;
                    }
                };
                if min.is_some_and(|m| len < m) || max.is_some_and(|m| len > m) {
                    miss(format!("{} (length is {len})", self.describe()));
                }
            }
            Matcher::Range(bounds) => {
                let Some(x) = actual.as_f64() else {
                    miss(self.describe());
                    return;
                };
                for (bound, v) in bounds {
                    let limit = match scope.value(v) {
                        Ok(l) => l
                            .as_f64()
                            .or_else(|| l.as_str().and_then(|s| s.parse().ok())),
                        Err(e) => {
                            miss(format!("a number, but the bound failed: {e}"));
                            return;
                        }
                    };
                    let Some(limit) = limit else {
                        miss(format!("a number, but bound {v} is not numeric"));
                        return;
                    };
                    let ok = match bound {
                        Bound::Min => x >= limit,
                        Bound::Max => x <= limit,
                        Bound::Gt => x > limit,
                        Bound::Lt => x < limit,
                    };
                    if !ok {
                        let op = match bound {
                            Bound::Min => ">=",
                            Bound::Max => "<=",
                            Bound::Gt => ">",
                            Bound::Lt => "<",
                        };
                        miss(format!("a number {op} {limit}"));
                    }
                }
            }
            Matcher::Contains(ms) => {
                let Some(arr) = actual.as_array() else {
                    miss("an array".into());
                    return;
                };
                for m in ms {
                    let found = arr.iter().any(|v| {
                        let mut sub = Vec::new();
                        m.check(Some(v), path, scope, &mut sub);
                        sub.is_empty()
                    });
                    if !found {
                        miss(format!("an array containing {}", m.describe()));
                    }
                }
            }
            Matcher::Each(m) => {
                let Some(arr) = actual.as_array() else {
                    miss("an array".into());
                    return;
                };
                for (i, v) in arr.iter().enumerate() {
                    m.check(Some(v), &format!("{path}[{i}]"), scope, out);
                }
            }
            Matcher::Jwt(m) => match actual.as_str().map(crate::protocol::jwt::read_claims) {
                Some(Ok(claims)) => {
                    m.check(Some(&claims), &format!("{path}<jwt claims>"), scope, out)
                }
                Some(Err(e)) => miss(format!("a JWT ({e})")),
                None => miss("a JWT string".into()),
            },
            Matcher::Attributes(want) => {
                let Some(arr) = actual.as_array() else {
                    miss("a list of {Name, Value} attributes".into());
                    return;
                };
                let map: serde_json::Map<String, Value> = arr
                    .iter()
                    .filter_map(|a| {
                        Some((
                            a.get("Name")?.as_str()?.to_string(),
                            a.get("Value").cloned().unwrap_or(Value::Null),
                        ))
                    })
                    .collect();
                for (name, m) in want {
                    m.check(
                        map.get(name),
                        &format!("{path}[Name={name}].Value"),
                        scope,
                        out,
                    );
                }
            }
            // Handled in `check` because they need to see absence.
            Matcher::Absent | Matcher::Present | Matcher::Not(_) | Matcher::OneOf(_) => {}
        }
    }

    /// The matcher in words, for reports.
    pub fn describe(&self) -> String {
        match self {
            Matcher::Equal(v) | Matcher::Exact(v) => short(v),
            Matcher::Object(_) => "an object".into(),
            Matcher::Array(a) => format!("an array of {} elements", a.len()),
            Matcher::Regex(p, _) => format!("a string matching /{p}/"),
            Matcher::Type(t) => format!("a value of type {t:?}").to_lowercase(),
            Matcher::Absent => "absent".into(),
            Matcher::Present => "present".into(),
            Matcher::OneOf(ms) => format!(
                "one of [{}]",
                ms.iter()
                    .map(Matcher::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Matcher::Length { min, max } => match (min, max) {
                (Some(a), Some(b)) if a == b => format!("length {a}"),
                _ => format!(
                    "length in [{}, {}]",
                    min.map_or("0".into(), |m| m.to_string()),
                    max.map_or("∞".into(), |m| m.to_string())
                ),
            },
            Matcher::Range(_) => "a number in range".into(),
            Matcher::Contains(_) => "an array containing the listed elements".into(),
            Matcher::Each(m) => format!("an array of {}", m.describe()),
            Matcher::Not(m) => format!("not {}", m.describe()),
            Matcher::Jwt(_) => "a JWT whose claims match".into(),
            Matcher::Attributes(_) => "attributes that match".into(),
        }
    }
}

/// Replaces each `${...}` with a word, to check a templated pattern's syntax.
fn strip_templates(p: &str) -> String {
    let mut out = String::new();
    let mut rest = p;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        out.push('x');
        rest = rest[start..]
            .find('}')
            .map_or("", |end| &rest[start + end + 1..]);
    }
    out.push_str(rest);
    out
}

/// Equality where numbers compare by value (`1` equals `1.0`).
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(spec: Value, actual: Value) -> Vec<Mismatch> {
        let caps = BTreeMap::from([
            ("t".to_string(), json!(100)),
            ("name".to_string(), json!("n")),
        ]);
        let pw = Default::default();
        let scope = Scope {
            captures: &caps,
            run_prefix: "p",
            scenario_number: 1,
            passwords: &pw,
            region: "us-east-1",
            sms_role: None,
        };
        let m = Matcher::compile(&spec, "$").unwrap();
        let mut out = Vec::new();
        m.check(Some(&actual), "$", &scope, &mut out);
        out
    }

    #[test]
    fn objects_match_partially_and_report_paths() {
        assert!(run(
            json!({"a": {"b": 1}}),
            json!({"a": {"b": 1.0, "c": 2}, "d": 3})
        )
        .is_empty());
        let m = run(json!({"a": {"b": 2}}), json!({"a": {"b": 1}}));
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].path, "$.a.b");
        assert_eq!(run(json!({"a": "${name}"}), json!({"a": "n"})), vec![]);
        assert_eq!(run(json!({"x": 1}), json!({}))[0].path, "$.x");
    }

    #[test]
    fn each_matcher_passes_and_fails() {
        let cases = [
            (
                json!({"$regex": "_[0-9a-zA-Z]+$"}),
                json!("us-east-1_abc"),
                json!("us-east-1-abc"),
            ),
            (
                json!({"$regex": "^${name}_[0-9]$"}),
                json!("n_1"),
                json!("m_1"),
            ),
            (json!({"$type": "integer"}), json!(3), json!(3.5)),
            (json!({"$oneOf": ["A", "B"]}), json!("B"), json!("C")),
            (json!({"$length": {"min": 2}}), json!([1, 2]), json!([1])),
            (json!({"$length": 1}), json!("é"), json!("ab")),
            (json!({"$range": {"gt": "${t}"}}), json!(101), json!(100)),
            (json!({"$range": {"min": 1, "max": 3}}), json!(3), json!(4)),
            (
                json!({"$contains": [{"Name": "email"}]}),
                json!([{"Name": "sub"}, {"Name": "email"}]),
                json!([{"Name": "sub"}]),
            ),
            (
                json!({"$each": {"$type": "string"}}),
                json!(["a"]),
                json!(["a", 1]),
            ),
            (
                json!({"$exact": {"a": 1}}),
                json!({"a": 1}),
                json!({"a": 1, "b": 2}),
            ),
            (json!({"$not": {"$type": "string"}}), json!(1), json!("s")),
            (
                json!({"$attributes": {"email": "a@b.c"}}),
                json!([{"Name": "email", "Value": "a@b.c"}]),
                json!([{"Name": "email", "Value": "x"}]),
            ),
            (json!([1, 2]), json!([1, 2]), json!([1, 2, 3])),
        ];
        for (spec, good, bad) in cases {
            assert!(
                run(spec.clone(), good.clone()).is_empty(),
                "{spec} should match {good}"
            );
            assert!(
                !run(spec.clone(), bad.clone()).is_empty(),
                "{spec} should not match {bad}"
            );
        }
    }

    #[test]
    fn absent_and_present_see_missing_members() {
        assert!(run(json!({"x": {"$absent": true}}), json!({})).is_empty());
        assert!(run(json!({"x": {"$absent": true}}), json!({"x": null})).is_empty());
        assert!(!run(json!({"x": {"$absent": true}}), json!({"x": 1})).is_empty());
        assert!(run(json!({"x": {"$present": true}}), json!({"x": 0})).is_empty());
        assert!(!run(json!({"x": {"$present": true}}), json!({})).is_empty());
    }

    #[test]
    fn jwt_claims_are_decoded() {
        // header {"alg":"none"}, payload {"token_use":"id","sub":"s"}
        let token = "eyJhbGciOiJub25lIn0.eyJ0b2tlbl91c2UiOiJpZCIsInN1YiI6InMifQ.sig";
        assert!(run(json!({"$jwt": {"token_use": "id"}}), json!(token)).is_empty());
        assert!(!run(json!({"$jwt": {"token_use": "access"}}), json!(token)).is_empty());
        assert!(!run(json!({"$jwt": {}}), json!("nope")).is_empty());
    }

    #[test]
    fn bad_matchers_name_their_path() {
        let (path, msg) =
            Matcher::compile(&json!({"a": [{"$bogus": 1}]}), "$.steps[0].expect.body").unwrap_err();
        assert_eq!(path, "$.steps[0].expect.body.a[0].$bogus");
        assert!(msg.contains("unknown matcher"), "{msg}");
        let (path, _) = Matcher::compile(&json!({"$regex": "("}), "$").unwrap_err();
        assert_eq!(path, "$.$regex");
        assert!(Matcher::compile(&json!({"$type": "float"}), "$").is_err());
        assert!(Matcher::compile(&json!({"$regex": "a", "b": 1}), "$").is_err());
    }
}
