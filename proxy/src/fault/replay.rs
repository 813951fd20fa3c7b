//! Replaying a run (`--fault-replay FILE`): the decisions an earlier run wrote with
//! `--fault-log`, matched to requests by what they are rather than by when they arrived.
//!
//! Seeds make the *sequence* of a rule's draws reproducible, but with concurrent clients the
//! n-th request a rule selects can be another request in a rerun. So each selection is also
//! logged under a **match key**, which names the request without any identifier a run makes
//! up (pool and client ids, request ids, the proxy's sequence numbers), and an **occurrence**:
//! how many requests with that key the rule has selected so far, this one included.
//!
//! The key is the action, then `|Name=value` for each of `Username` (top level, else
//! `AuthParameters.USERNAME`, else `ChallengeResponses.USERNAME`), `AuthFlow` and
//! `ChallengeName` that the JSON body holds as a string, in that order:
//!
//! ```text
//! AdminInitiateAuth|Username=h:3f9c2a7e10b4d5e6|AuthFlow=ADMIN_USER_PASSWORD_AUTH
//! ListUsers
//! ```
//!
//! A user name is a secret (fixtures/secrets.toml, and the model), so the key holds
//! `h:` and the first 16 hex digits of its HMAC-SHA256 under a random key that never goes into
//! the decisions file: it is kept beside it, in `FILE.key` (mode 0600), created by the first
//! run that logs to `FILE` and reused when appending. `--fault-replay FILE` reads `FILE.key`
//! to compute the same keys; keep the two together to replay, and do not share the key with
//! the log (user names are easy to guess, so with the key the digests could be tested).
//!
//! In values `%`, `|` and `=` are written `%25`, `%7C` and `%3D`, so a key reads back one way
//! whatever an action or challenge name holds.
//!
//! In replay, a rule that selects a request (selectors apply as usual) takes the logged
//! decision with the same rule, key and occurrence: it fires as logged, and a latency waits
//! the logged `delay_ms`. The rule's random stream is not consulted. A selection the log does
//! not hold does not fire and is counted `unmatched`. Quota lines are not replayed (buckets
//! run as usual); forced-only lines (`n` null) are not selections and are skipped.
//!
//! Requests with the same key are told apart only by their order, so a run replays exactly
//! when requests that share a key come in the same order (e.g. one client per user).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::kind::latency::MAX_MS;
use super::log::FORMAT;
use super::rules::RuleSpec;
use super::target::Field;

/// The fields of a request body that go into its match key, in key order.
const KEY_FIELDS: [Field; 3] = [Field::Username, Field::AuthFlow, Field::ChallengeName];

/// The match key of a request: its action, then the key fields its body has, secret ones
/// as keyed digests under `secret`.
pub fn match_key(action: &str, body: Option<&Value>, secret: &MatchSecret) -> String {
    let mut key = String::with_capacity(action.len() + 48);
    escape_into(&mut key, action);
    if let Some(body) = body {
        for field in KEY_FIELDS {
            if let Some(v) = field.read(body) {
                key.push('|');
                key.push_str(field.name());
                key.push('=');
                if field == Field::Username {
                    key.push_str(&secret.digest(v));
                } else {
                    escape_into(&mut key, v);
                }
            }
        }
    }
    key
}

/// The key of the digests in match keys (see the module docs).
#[derive(Clone, PartialEq, Eq)]
pub struct MatchSecret([u8; 32]);

impl std::fmt::Debug for MatchSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MatchSecret(..)")
    }
}

impl MatchSecret {
    /// A fresh random key.
    pub fn random() -> MatchSecret {
        MatchSecret(rand::random())
    }

    /// `h:` and 16 hex digits of HMAC-SHA256(key, value): 64 bits, so two user names of a run
    /// share a digest with negligible probability.
    pub fn digest(&self, value: &str) -> String {
        use hmac::{KeyInit, Mac};
        let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.0) else {
            // HMAC takes keys of any length; this arm cannot run.
            return "h:".into();
        };
        mac.update(value.as_bytes());
        let bytes = mac.finalize().into_bytes();
        let hex: String = bytes[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("h:{hex}")
    }

    /// Where the key of a decisions file is kept: `FILE.key`.
    pub fn path_for(log: &Path) -> PathBuf {
        let mut p = log.as_os_str().to_owned();
        p.push(".key");
        PathBuf::from(p)
    }

    /// The key kept for a decisions file, if there is one.
    pub fn read_for(log: &Path) -> Result<Option<MatchSecret>, String> {
        let path = MatchSecret::path_for(log);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let text = text.trim();
        let bytes: Option<Vec<u8>> = (text.len() == 64)
            .then(|| {
                (0..32)
                    .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok())
                    .collect()
            })
            .flatten();
        match bytes.and_then(|b| <[u8; 32]>::try_from(b).ok()) {
            Some(k) => Ok(Some(MatchSecret(k))),
            None => Err(format!(
                "{}: not a match key file (64 hex digits expected)",
                path.display()
            )),
        }
    }

    /// Writes the key beside a decisions file, readable by its owner only.
    pub fn write_for(&self, log: &Path) -> Result<(), String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = MatchSecret::path_for(log);
        let hex: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{hex}"))
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '%' => out.push_str("%25"),
            '|' => out.push_str("%7C"),
            '=' => out.push_str("%3D"),
            other => out.push(other),
        }
    }
}

/// One logged decision, as replay needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    /// The rule fired.
    pub fired: bool,
    /// The draw, shown again in the replay's own decisions file.
    pub draw: Option<f64>,
    /// The delay of a latency rule that fired, in milliseconds.
    pub delay_ms: Option<f64>,
    /// The fault kind the log names.
    pub fault: String,
    /// The line (1-based), for messages.
    pub line: usize,
}

/// The decisions of a run, by rule, key and occurrence.
#[derive(Debug)]
pub struct Replay {
    path: PathBuf,
    decisions: HashMap<String, HashMap<String, HashMap<u64, Logged>>>,
}

impl Replay {
    /// Reads and checks a decisions file. The error names the file, the line and the member.
    pub fn load(path: &Path) -> Result<Replay, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--fault-replay {}: {e}", path.display()))?;
        Replay::parse(path, &text)
    }

    /// Checks the lines of a decisions file.
    pub fn parse(path: &Path, text: &str) -> Result<Replay, String> {
        let source = path.display().to_string();
        let mut decisions: HashMap<String, HashMap<String, HashMap<u64, Logged>>> = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            // A blank line holds no decision; a torn last line (a crash mid-write) is not
            // blank and is refused below like any other bad line.
            if raw.trim().is_empty() {
                continue;
            }
            let at = |m: String| format!("{source}: line {line}: {m}");
            let value: Value =
                serde_json::from_str(raw).map_err(|e| at(format!("not JSON: {e}")))?;
            let Value::Object(o) = value else {
                return Err(at(format!(
                    "expected a JSON object (a `{FORMAT}` decision)"
                )));
            };
            let Some((rule, key, occurrence, logged)) = parse_line(&o, line).map_err(at)? else {
                continue;
            };
            let by_key = decisions.entry(rule.clone()).or_default();
            let by_occurrence = by_key.entry(key.clone()).or_default();
            if let Some(earlier) = by_occurrence.get(&occurrence) {
                return Err(at(format!(
                    "rule `{rule}`, match `{key}`, occurrence {occurrence} is already decided on \
                     line {} (--fault-log appends: give the decisions file of a single run)",
                    earlier.line
                )));
            }
            by_occurrence.insert(occurrence, logged);
        }
        Ok(Replay {
            path: path.to_path_buf(),
            decisions,
        })
    }

    /// Checks the log against the rules in force: every rule it names exists, with the kind
    /// the log says.
    pub fn check_rules(&self, rules: &[RuleSpec], rules_source: &str) -> Result<(), String> {
        let source = self.path.display();
        // By first line, so the message lists them in the file's order.
        let mut missing: BTreeMap<usize, &str> = BTreeMap::new();
        for (rule, by_key) in &self.decisions {
            let first = by_key
                .values()
                .flat_map(HashMap::values)
                .min_by_key(|l| l.line);
            let Some(spec) = rules.iter().find(|s| &s.id == rule) else {
                if let Some(l) = first {
                    missing.insert(l.line, rule);
                }
                continue;
            };
            let kind = spec.fault.name();
            let mut mismatched: Vec<&Logged> = by_key
                .values()
                .flat_map(HashMap::values)
                .filter(|l| l.fault != kind)
                .collect();
            mismatched.sort_by_key(|l| l.line);
            if let Some(l) = mismatched.first() {
                return Err(format!(
                    "{source}: line {}: rule `{rule}` is a `{}` fault in the log but a `{kind}` \
                     fault in {rules_source}; give the rules file of the run that wrote the log",
                    l.line, l.fault
                ));
            }
        }
        if !missing.is_empty() {
            let list: Vec<String> = missing
                .iter()
                .map(|(line, rule)| format!("`{rule}` (line {line})"))
                .collect();
            return Err(format!(
                "{source}: names rules that {rules_source} does not have: {}; give the rules \
                 file of the run that wrote the log (rules added through the admin API must be \
                 put in it)",
                list.join(", ")
            ));
        }
        Ok(())
    }

    /// The logged decision of `rule` for the `occurrence`-th request with `key`.
    pub fn lookup(&self, rule: &str, key: &str, occurrence: u64) -> Option<&Logged> {
        self.decisions.get(rule)?.get(key)?.get(&occurrence)
    }

    /// The file replayed.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

type Parsed = (String, String, u64, Logged);

/// One line's decision; `None` for lines that are not replayed (quota throttles, forced-only).
fn parse_line(o: &Map<String, Value>, line: usize) -> Result<Option<Parsed>, String> {
    let field = |name: &str, m: String| format!("field `{name}`: {m}");
    match o.get("format") {
        Some(Value::String(f)) if f == FORMAT => {}
        Some(other) => {
            return Err(field(
                "format",
                format!("expected \"{FORMAT}\", found {other}"),
            ))
        }
        None => return Err(field("format", format!("missing (expected \"{FORMAT}\")"))),
    }
    let string = |name: &str| -> Result<&str, String> {
        match o.get(name) {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(field(name, format!("expected a string, found {other}"))),
            None => Err(field(name, "missing".into())),
        }
    };
    let rule = string("rule")?;
    if rule.starts_with("quota:") {
        return Ok(None);
    }
    let positive = |name: &str| -> Result<Option<u64>, String> {
        match o.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 => Ok(Some(n)),
                _ => Err(field(
                    name,
                    format!("expected a positive integer, found {v}"),
                )),
            },
        }
    };
    let Some(_n) = positive("n")? else {
        // Forced by the header on a request the rule does not select: nothing was decided.
        return Ok(None);
    };
    let key = string("match").map_err(|e| {
        if o.contains_key("match") {
            e
        } else {
            field(
                "match",
                "missing; this log was written by a proxy without replay; rerun with this \
                 version and --fault-log to get a log that can be replayed"
                    .into(),
            )
        }
    })?;
    let occurrence =
        positive("occurrence")?.ok_or_else(|| field("occurrence", "missing".into()))?;
    let fired = match o.get("fired") {
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(field(
                "fired",
                format!("expected true or false, found {other}"),
            ))
        }
        None => return Err(field("fired", "missing".into())),
    };
    let number =
        |name: &str, range: std::ops::RangeInclusive<f64>| -> Result<Option<f64>, String> {
            match o.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => match v.as_f64() {
                    Some(x) if range.contains(&x) => Ok(Some(x)),
                    _ => Err(field(
                        name,
                        format!(
                            "expected a number from {} to {}, found {v}",
                            range.start(),
                            range.end()
                        ),
                    )),
                },
            }
        };
    let draw = number("draw", 0.0..=1.0)?;
    let delay_ms = number("delay_ms", 0.0..=MAX_MS)?;
    let fault = string("fault")?;
    if fault == "latency" && fired && delay_ms.is_none() {
        return Err(field(
            "delay_ms",
            "missing for a latency rule that fired; replay waits the logged delay".into(),
        ));
    }
    Ok(Some((
        rule.to_string(),
        key.to_string(),
        occurrence,
        Logged {
            fired,
            draw,
            delay_ms,
            fault: fault.to_string(),
            line,
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_name_the_request_not_the_run() {
        let secret = MatchSecret::random();
        let key = |action: &str, body: Value| match_key(action, Some(&body), &secret);
        let h = |user: &str| secret.digest(user);
        assert_eq!(
            key(
                "AdminInitiateAuth",
                json!({"UserPoolId": "us-east-1_abc", "ClientId": "c1",
                       "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
                       "AuthParameters": {"USERNAME": "alice", "PASSWORD": "x"}})
            ),
            format!(
                "AdminInitiateAuth|Username={}|AuthFlow=ADMIN_USER_PASSWORD_AUTH",
                h("alice")
            )
        );
        // User names are secrets: never in a key, and another key gives other digests.
        assert!(!key("AdminGetUser", json!({"Username": "alice"})).contains("alice"));
        assert_ne!(MatchSecret::random().digest("alice"), h("alice"));
        assert_ne!(h("alice"), h("alicf"));
        // Pool and client ids differ between runs; the key does not.
        assert_eq!(
            key(
                "AdminGetUser",
                json!({"UserPoolId": "us-east-1_a", "Username": "bob"})
            ),
            key(
                "AdminGetUser",
                json!({"UserPoolId": "us-east-1_b", "Username": "bob"})
            )
        );
        assert_eq!(
            key(
                "RespondToAuthChallenge",
                json!({"ChallengeName": "NEW_PASSWORD_REQUIRED",
                       "ChallengeResponses": {"USERNAME": "carol"}})
            ),
            format!(
                "RespondToAuthChallenge|Username={}|ChallengeName=NEW_PASSWORD_REQUIRED",
                h("carol")
            )
        );
        // Top-level Username wins over the parameters; non-string values are left out.
        assert_eq!(
            key(
                "X",
                json!({"Username": "a", "AuthParameters": {"USERNAME": "b"}, "AuthFlow": 3})
            ),
            format!("X|Username={}", h("a"))
        );
        assert_eq!(key("ListUsers", json!({"Limit": 5})), "ListUsers");
        assert_eq!(match_key("ListUsers", None, &secret), "ListUsers");
        // Separators inside values cannot forge another key.
        assert_eq!(
            key("X", json!({"AuthFlow": "a|ChallengeName=b%"})),
            "X|AuthFlow=a%7CChallengeName%3Db%25"
        );
        assert_ne!(
            key("X", json!({"Username": "a|AuthFlow=b"})),
            key("X", json!({"Username": "a", "AuthFlow": "b"}))
        );
    }

    fn line(extra: Value) -> String {
        let mut v = json!({
            "format": FORMAT, "seq": 0, "request_id": "r", "ms": 1.0, "action": "AdminGetUser",
            "rule": "flaky", "n": 1, "draw": 0.1, "fired": true, "forced": false,
            "applied": true, "fault": "error", "match": "AdminGetUser|Username=a",
            "occurrence": 1, "delay_ms": null,
        });
        if let (Value::Object(o), Value::Object(e)) = (&mut v, extra) {
            for (k, x) in e {
                o.insert(k, x);
            }
        }
        v.to_string()
    }

    fn parse(lines: &[String]) -> Result<Replay, String> {
        Replay::parse(Path::new("d.jsonl"), &lines.join("\n"))
    }

    #[test]
    fn good_logs_index_by_rule_key_and_occurrence() {
        let r = parse(&[
            line(json!({})),
            line(json!({"occurrence": 2, "n": 2, "fired": false, "draw": 0.9})),
            String::new(),
            line(json!({"rule": "slow", "fault": "latency", "delay_ms": 12.5})),
            line(json!({"rule": "quota:UserRead", "n": null, "match": null})),
            line(json!({"rule": "forced-only", "n": null, "forced": true})),
        ])
        .unwrap();
        let a = "AdminGetUser|Username=a";
        assert!(r.lookup("flaky", a, 1).unwrap().fired);
        let second = r.lookup("flaky", a, 2).unwrap();
        assert_eq!(
            (second.fired, second.draw, second.line),
            (false, Some(0.9), 2)
        );
        assert_eq!(r.lookup("slow", a, 1).unwrap().delay_ms, Some(12.5));
        assert!(r.lookup("flaky", a, 3).is_none());
        assert!(r.lookup("flaky", "AdminGetUser|Username=b", 1).is_none());
        assert!(r.lookup("quota:UserRead", a, 1).is_none());
        assert!(r.lookup("forced-only", a, 1).is_none());
    }

    #[test]
    fn bad_lines_are_refused_with_file_line_and_member() {
        let good = line(json!({}));
        for (bad, says) in [
            ("{\"format\":".to_string(), "not JSON"),
            ("[1, 2]".to_string(), "expected a JSON object"),
            (
                line(json!({"format": "cogcheck-fault-decisions/2"})),
                "field `format`",
            ),
            (
                {
                    let mut v: Value = serde_json::from_str(&good).unwrap();
                    v.as_object_mut().unwrap().remove("format");
                    v.to_string()
                },
                "field `format`: missing",
            ),
            (line(json!({"rule": 7})), "field `rule`: expected a string"),
            (
                {
                    let mut v: Value = serde_json::from_str(&good).unwrap();
                    v.as_object_mut().unwrap().remove("match");
                    v.to_string()
                },
                "field `match`: missing; this log was written by a proxy without replay",
            ),
            (line(json!({"occurrence": 0})), "field `occurrence`"),
            (
                line(json!({"occurrence": null})),
                "field `occurrence`: missing",
            ),
            (line(json!({"fired": "yes"})), "field `fired`"),
            (line(json!({"draw": 1.5})), "field `draw`"),
            (line(json!({"delay_ms": -1})), "field `delay_ms`"),
            (
                line(json!({"fault": "latency", "delay_ms": null})),
                "field `delay_ms`: missing for a latency rule that fired",
            ),
            (good.clone(), "already decided on line 2"),
        ] {
            let e = parse(&[line(json!({"occurrence": 9})), good.clone(), bad.clone()])
                .expect_err(&bad);
            assert!(e.starts_with("d.jsonl: line 3: "), "{e}");
            assert!(e.contains(says), "{says}: {e}");
        }
    }

    fn spec(id: &str, fault: Value) -> RuleSpec {
        serde_json::from_value(json!({"id": id, "fault": fault})).unwrap()
    }

    #[test]
    fn rules_the_log_names_must_exist_with_the_same_kind() {
        let r = parse(&[
            line(json!({})),
            line(json!({"rule": "gone", "fault": "hang"})),
            line(json!({"rule": "slow", "fault": "latency", "delay_ms": 3})),
            line(json!({"rule": "also-gone", "fault": "hang"})),
            line(json!({"rule": "gone", "fault": "hang", "occurrence": 2})),
        ])
        .unwrap();
        let error = json!({"kind": "error", "error": "InternalErrorException"});
        let latency = json!({"kind": "latency", "ms": 5});
        let e = r
            .check_rules(
                &[spec("flaky", error.clone()), spec("slow", latency.clone())],
                "rules.json",
            )
            .unwrap_err();
        assert_eq!(
            e,
            "d.jsonl: names rules that rules.json does not have: `gone` (line 2), `also-gone` \
             (line 4); give the rules file of the run that wrote the log (rules added through \
             the admin API must be put in it)"
        );
        let r = parse(&[
            line(json!({})),
            line(json!({"rule": "slow", "fault": "hang"})),
        ])
        .unwrap();
        let e = r
            .check_rules(
                &[spec("flaky", error.clone()), spec("slow", latency)],
                "rules.json",
            )
            .unwrap_err();
        assert!(
            e.starts_with(
                "d.jsonl: line 2: rule `slow` is a `hang` fault in the log but a `latency` \
                 fault in rules.json"
            ),
            "{e}"
        );
        let r = parse(&[line(json!({}))]).unwrap();
        r.check_rules(
            &[
                spec("flaky", error),
                spec("unused", json!({"kind": "hang"})),
            ],
            "r",
        )
        .unwrap();
    }
}
