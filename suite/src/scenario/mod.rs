//! Scenario files: the format, loading, and the static checks that run before anything is sent.
//!
//! A scenario is one JSON file under `fixtures/scenarios/<area>/<id>.json`; the format is
//! documented with examples in `fixtures/scenarios/README.md`. Loading checks everything that
//! can be checked without a target — JSON syntax, unknown members, unknown actions and helpers,
//! unknown matchers, bad regexes and JSONPaths, `${name}` references that no earlier step saves —
//! and reports each problem with the file, the JSON path and the reason.

pub mod evidence;
pub mod helper_step;
pub mod matcher;
pub mod paginate;
pub mod select;
pub mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::finding::{Evidence, Severity};
use crate::model::Model;
use helper_step::HelperStep;
use matcher::Matcher;

/// A loaded, checked scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The folder under `fixtures/scenarios/` (`user-pools`, `auth`, ...).
    pub area: String,
    /// Unique within its area; also the file stem.
    pub id: String,
    /// Where it was read from.
    pub file: PathBuf,
    /// One sentence: what Cognito does that this scenario checks.
    pub summary: String,
    /// The actions this scenario exists to check (others may be called as setup).
    pub covers: Vec<String>,
    /// Where the expected behaviour comes from: an AWS documentation URL, `model`, or
    /// `recording:<cassette>`.
    pub source: String,
    /// Capabilities a target must offer (for example `codes`); others skip with a reason.
    pub requires: Vec<String>,
    /// Runs alone: no other scenario of the run is in flight while it does. For scenarios that
    /// read account-wide state (ListUserPools pages) which other scenarios' creations and
    /// deletions would change under them.
    pub exclusive: bool,
    /// Where the documentation is unclear, what was left unasserted and why.
    pub notes: Option<String>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

impl Scenario {
    /// `<area>::<id>`, the name of its test.
    pub fn name(&self) -> String {
        format!("{}::{}", self.area, self.id)
    }

    /// The longest this scenario may spend waiting rather than calling: its eventually
    /// consistent reads' bounds, a paginated walk's `within_ms`, and up to one 30-second
    /// TOTP step per code (a code is good once per window). The runner starts the scenarios
    /// that may wait longest first, so a long wait overlaps the others instead of running alone
    /// at the end of the run.
    pub fn longest_wait(&self) -> std::time::Duration {
        self.steps
            .iter()
            .map(|step| match &step.kind {
                StepKind::Helper {
                    helper: HelperStep::Totp,
                    ..
                } => std::time::Duration::from_secs(30),
                StepKind::Helper {
                    helper: HelperStep::Paginate,
                    args,
                } => std::time::Duration::from_millis(
                    args.get("within_ms").and_then(Value::as_u64).unwrap_or(0),
                ),
                _ => step.eventually.unwrap_or_default(),
            })
            .sum()
    }

    /// Every action some step calls.
    pub fn actions_called(&self) -> BTreeSet<&str> {
        self.steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::Call { action, .. } => Some(action.as_str()),
                StepKind::Helper { .. } => None,
            })
            .collect()
    }
}

/// One step.
#[derive(Debug, Clone)]
pub struct Step {
    /// Position in the scenario, from 0.
    pub index: usize,
    /// An optional label for reports.
    pub name: Option<String>,
    /// What the step does.
    pub kind: StepKind,
    /// Values to save from the answer: capture name -> JSONPath.
    pub save: Vec<(String, String, serde_json_path::JsonPath)>,
    /// What the answer must be.
    pub expect: Expect,
    /// For an eventually consistent read: how long to keep repeating it until its expectation
    /// holds (see [`EVENTUALLY_MAX_MS`]); the last attempt is judged.
    pub eventually: Option<std::time::Duration>,
    /// How much a deviation from this step's expectation matters, when the scenario says so
    /// (`security` for a step that checks authentication, token validation or enumeration);
    /// otherwise the runner grades each finding by its kind.
    pub severity: Option<Severity>,
    /// Where this step's expectations come from, when not from the scenario's `source`: for
    /// the step, and per JSON path of the answer.
    pub evidence: evidence::StepEvidence,
}

/// The longest a step may wait for an eventually consistent read (`eventually_ms`).
pub const EVENTUALLY_MAX_MS: u64 = 60_000;

/// True for actions that only read, which a step may repeat (`eventually_ms`) without changing
/// what it checks: repeating a write would change the state under test.
pub fn is_read_action(action: &str) -> bool {
    ["Describe", "Get", "List", "AdminGet", "AdminList"]
        .iter()
        .any(|p| action.starts_with(p))
}

impl Step {
    /// `CreateUserPool` or `helper:srp_claim`, for reports.
    pub fn label(&self) -> String {
        match &self.kind {
            StepKind::Call { action, .. } => action.clone(),
            StepKind::Helper { helper, .. } => format!("helper:{}", helper.name()),
        }
    }
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// Calls a Cognito action with a templated input.
    Call {
        /// The action.
        action: String,
        /// The input, with `${name}` templates.
        input: Value,
    },
    /// Runs a protocol helper (SRP, SECRET_HASH, TOTP, JWT verification, ...).
    Helper {
        /// Which one.
        helper: HelperStep,
        /// Its arguments, with templates.
        args: Value,
    },
}

/// The expected error type that accepts any error: for a step whose documentation says the
/// call "returns an exception" without naming its type. Whether that error is one the
/// operation declares is still checked, on the protocol axis, like every answer.
pub const ANY_ERROR: &str = "*";

/// What a step's answer must be.
#[derive(Debug, Clone)]
pub enum Expect {
    /// A success whose body matches (partially), if a body is given.
    Success {
        /// The body matcher.
        body: Option<Matcher>,
        /// The body as written in the file, for diffs in reports.
        body_spec: Option<Value>,
    },
    /// An error of one of these types.
    Error {
        /// Accepted error types; more than one only where the documentation allows either.
        types: Vec<String>,
        /// A pattern the message must match.
        message: Option<(String, regress::Regex)>,
        /// The status class (`4xx`, `5xx`) or exact status.
        status: Option<String>,
    },
}

/// A problem found while loading scenarios.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file.
    pub file: PathBuf,
    /// Where in the file, as a JSON path (`$.steps[2].action`), or a line and column.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file.display(), self.path, self.reason)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    id: String,
    summary: String,
    covers: Vec<String>,
    source: String,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    exclusive: bool,
    #[serde(default)]
    notes: Option<String>,
    steps: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    helper: Option<String>,
    #[serde(default, rename = "with")]
    with: Option<Value>,
    #[serde(default)]
    save: BTreeMap<String, String>,
    #[serde(default)]
    expect: Option<RawExpect>,
    #[serde(default)]
    eventually_ms: Option<u64>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    evidence: Option<Evidence>,
    #[serde(default)]
    evidence_at: BTreeMap<String, Evidence>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    error: Option<OneOrMany>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// The capabilities a scenario may require. A target lists the ones it offers in
/// `fixtures/targets.toml`.
pub const CAPABILITIES: &[&str] = &[
    // The target exposes the confirmation codes it "sends" by e-mail or SMS.
    "codes",
    // The target is real AWS (for behaviour no emulator can show, such as SES delivery).
    "aws",
    // The target names an IAM role Cognito may send SMS with (`${sms_role_arn}`).
    "sms-role",
];

/// Loads and checks every scenario under `root` (`fixtures/scenarios`). Returns the scenarios
/// sorted by name, or every problem found in every file.
pub fn load_dir(root: &Path) -> Result<Vec<Scenario>, Vec<LoadError>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let areas = match std::fs::read_dir(root) {
        Ok(d) => d,
        Err(e) => {
            return Err(vec![LoadError {
                file: root.to_path_buf(),
                path: "-".into(),
                reason: format!("cannot read the scenario folder: {e}"),
            }])
        }
    };
    for area in areas.flatten() {
        if !area.path().is_dir() {
            continue;
        }
        match std::fs::read_dir(area.path()) {
            Ok(entries) => files.extend(
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json")),
            ),
            Err(e) => errors.push(LoadError {
                file: area.path(),
                path: "-".into(),
                reason: format!("cannot read folder: {e}"),
            }),
        }
    }
    files.sort();
    let mut scenarios = Vec::new();
    for file in files {
        match load_file(&file) {
            Ok(s) => scenarios.push(s),
            Err(mut e) => errors.append(&mut e),
        }
    }
    let mut seen = BTreeMap::new();
    for s in &scenarios {
        if let Some(first) = seen.insert(s.name(), s.file.clone()) {
            errors.push(LoadError {
                file: s.file.clone(),
                path: "$.id".into(),
                reason: format!(
                    "duplicate scenario name {} (also {})",
                    s.name(),
                    first.display()
                ),
            });
        }
    }
    if errors.is_empty() {
        scenarios.sort_by_key(Scenario::name);
        Ok(scenarios)
    } else {
        Err(errors)
    }
}

/// Loads and checks one scenario file. Its area is the name of the folder it is in.
pub fn load_file(file: &Path) -> Result<Scenario, Vec<LoadError>> {
    let err = |path: &str, reason: String| LoadError {
        file: file.to_path_buf(),
        path: path.to_string(),
        reason,
    };
    let text =
        std::fs::read_to_string(file).map_err(|e| vec![err("-", format!("cannot read: {e}"))])?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let raw: RawScenario = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        let path = match e.path().to_string() {
            p if p == "." => "$".to_string(),
            p => format!("$.{p}"),
        };
        // serde_json's message already ends with the line and column.
        vec![err(&path, inner.to_string())]
    })?;
    let area = file
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string();
    check(raw, area, file).map_err(|errs| errs.into_iter().map(|(p, r)| err(&p, r)).collect())
}

fn check(raw: RawScenario, area: String, file: &Path) -> Result<Scenario, Vec<(String, String)>> {
    let model = Model::get();
    let mut errors: Vec<(String, String)> = Vec::new();
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if !name_ok(&raw.id) {
        errors.push((
            "$.id".into(),
            format!("{:?} must be lower-case letters, digits and dashes", raw.id),
        ));
    }
    if file.file_stem().and_then(|s| s.to_str()) != Some(raw.id.as_str()) {
        errors.push((
            "$.id".into(),
            format!("id {:?} must equal the file name without .json", raw.id),
        ));
    }
    if !name_ok(&area) {
        errors.push((
            "-".into(),
            format!("area folder {area:?} must be lower-case letters, digits and dashes"),
        ));
    }
    if raw.summary.trim().is_empty() {
        errors.push((
            "$.summary".into(),
            "must say what the scenario checks".into(),
        ));
    }
    let source_ok = raw.source.starts_with("https://docs.aws.amazon.com/")
        || raw.source == "model"
        || raw.source.starts_with("recording:")
        || raw.source.starts_with("https://smithy.io/");
    if !source_ok {
        errors.push((
            "$.source".into(),
            format!("{:?}: a source is an AWS documentation URL (https://docs.aws.amazon.com/...), `model`, or `recording:<cassette>`", raw.source),
        ));
    }
    if raw.covers.is_empty() {
        errors.push((
            "$.covers".into(),
            "name at least one action the scenario checks".into(),
        ));
    }
    for (i, a) in raw.covers.iter().enumerate() {
        if model.operation(a).is_err() {
            errors.push((format!("$.covers[{i}]"), format!("unknown action `{a}`")));
        }
    }
    for (i, r) in raw.requires.iter().enumerate() {
        if !CAPABILITIES.contains(&r.as_str()) {
            errors.push((
                format!("$.requires[{i}]"),
                format!(
                    "unknown capability `{r}` (known: {})",
                    CAPABILITIES.join(", ")
                ),
            ));
        }
    }
    if raw.steps.is_empty() {
        errors.push((
            "$.steps".into(),
            "a scenario needs at least one step".into(),
        ));
    }

    let mut saved: BTreeSet<String> = BTreeSet::new();
    let mut steps = Vec::new();
    for (index, rs) in raw.steps.into_iter().enumerate() {
        let at = format!("$.steps[{index}]");
        let with = rs.with.unwrap_or(Value::Object(Default::default()));
        let kind = match (rs.action, rs.helper) {
            (Some(action), None) => {
                if model.operation(&action).is_err() {
                    errors.push((
                        format!("{at}.action"),
                        format!(
                            "unknown action `{action}`: not an operation of the cognito-idp model"
                        ),
                    ));
                }
                if !with.is_object() {
                    errors.push((
                        format!("{at}.with"),
                        "the input of an action is a JSON object".into(),
                    ));
                }
                StepKind::Call {
                    action,
                    input: with.clone(),
                }
            }
            (None, Some(helper)) => match HelperStep::parse(&helper) {
                Ok(h) => StepKind::Helper {
                    helper: h,
                    args: with.clone(),
                },
                Err(e) => {
                    errors.push((format!("{at}.helper"), e));
                    continue;
                }
            },
            _ => {
                errors.push((
                    at.clone(),
                    "a step has exactly one of `action` or `helper`".into(),
                ));
                continue;
            }
        };
        let eventually = match (rs.eventually_ms, &kind) {
            (None, _) => None,
            (Some(ms), StepKind::Call { action, .. })
                if is_read_action(action) && (1..=EVENTUALLY_MAX_MS).contains(&ms) =>
            {
                Some(std::time::Duration::from_millis(ms))
            }
            (Some(ms), StepKind::Call { action, .. }) if is_read_action(action) => {
                errors.push((
                    format!("{at}.eventually_ms"),
                    format!("{ms} is out of range: 1 to {EVENTUALLY_MAX_MS}"),
                ));
                None
            }
            (Some(_), _) => {
                errors.push((
                    format!("{at}.eventually_ms"),
                    "only a read (Describe*, Get*, List*, AdminGet*, AdminList*) may be repeated: \
                     repeating anything else changes the state under test"
                        .into(),
                ));
                None
            }
        };
        let severity = match rs.severity.as_deref() {
            None => None,
            Some(text) => match Severity::parse_behaviour(text) {
                Some(s) => Some(s),
                None => {
                    errors.push((
                        format!("{at}.severity"),
                        format!(
                            "{text:?}: a step's severity is one of security, functional, \
                             validation, message"
                        ),
                    ));
                    None
                }
            },
        };
        if let Some(problem) = rs.evidence.as_ref().and_then(Evidence::problem) {
            errors.push((format!("{at}.evidence"), problem));
        }
        let mut refs = Vec::new();
        if let Err(e) = template::captures_in(&with, &mut refs) {
            errors.push((format!("{at}.with"), e));
        }

        let expect = match rs.expect {
            None => Expect::Success {
                body: None,
                body_spec: None,
            },
            Some(RawExpect {
                error: Some(types),
                body,
                message,
                status,
            }) => {
                if body.is_some() {
                    errors.push((
                        format!("{at}.expect.body"),
                        "an expected error has no body to match; use `message`".into(),
                    ));
                }
                let types = match types {
                    OneOrMany::One(t) => vec![t],
                    OneOrMany::Many(ts) => ts,
                };
                // `*` stands alone: the documentation promises an error without naming it.
                if types.iter().any(|t| t == ANY_ERROR) && types.len() > 1 {
                    errors.push((
                        format!("{at}.expect.error"),
                        format!("`{ANY_ERROR}` (any error) cannot be listed with named types"),
                    ));
                }
                if let StepKind::Call { action, .. } = &kind {
                    if let Ok(op) = model.operation(action) {
                        for (i, t) in types.iter().enumerate() {
                            if t != ANY_ERROR && !op.may_return(t) {
                                errors.push((
                                    format!("{at}.expect.error[{i}]"),
                                    format!("`{t}` is not an error {action} declares in the model"),
                                ));
                            }
                        }
                    }
                }
                let message = match message {
                    Some(p) => match crate::model::compile_ecma(&p) {
                        Ok(r) => Some((p, r)),
                        Err(e) => {
                            errors
                                .push((format!("{at}.expect.message"), format!("bad regex: {e}")));
                            None
                        }
                    },
                    None => None,
                };
                if let Some(s) = &status {
                    if !(s == "4xx" || s == "5xx" || (s.len() == 3 && s.parse::<u16>().is_ok())) {
                        errors.push((
                            format!("{at}.expect.status"),
                            format!("{s:?}: expected 4xx, 5xx or a status code"),
                        ));
                    }
                }
                Expect::Error {
                    types,
                    message,
                    status,
                }
            }
            Some(RawExpect {
                error: None,
                body,
                message,
                status,
            }) => {
                if message.is_some() || status.is_some() {
                    errors.push((
                        format!("{at}.expect"),
                        "`message` and `status` describe an expected error; add `error`".into(),
                    ));
                }
                let matcher = match &body {
                    Some(b) => match Matcher::compile(b, &format!("{at}.expect.body")) {
                        Ok(m) => {
                            let mut ts = Vec::new();
                            m.templates(&mut ts);
                            for t in &ts {
                                if let Err(e) = template::captures_in(t, &mut refs) {
                                    errors.push((format!("{at}.expect.body"), e));
                                }
                            }
                            Some(m)
                        }
                        Err((p, r)) => {
                            errors.push((p, r));
                            None
                        }
                    },
                    None => None,
                };
                Expect::Success {
                    body: matcher,
                    body_spec: body,
                }
            }
        };
        for r in refs {
            if !saved.contains(&r) {
                errors.push((
                    at.clone(),
                    format!("`${{{r}}}` is used before any step saves it"),
                ));
            }
        }
        let mut save = Vec::new();
        for (name, path) in rs.save {
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                || name.is_empty()
            {
                errors.push((
                    format!("{at}.save.{name}"),
                    "a capture name is letters, digits, `_` and `-`".into(),
                ));
            }
            if matches!(expect, Expect::Error { .. }) {
                errors.push((
                    format!("{at}.save.{name}"),
                    "a step that expects an error has nothing to save".into(),
                ));
            }
            match serde_json_path::JsonPath::parse(&path) {
                Ok(p) => save.push((name.clone(), path, p)),
                Err(e) => errors.push((
                    format!("{at}.save.{name}"),
                    format!("bad JSONPath {path:?}: {e}"),
                )),
            }
            saved.insert(name);
        }
        let evidence = evidence::StepEvidence {
            step: rs.evidence,
            at: rs.evidence_at,
        };
        let body_spec = match &expect {
            Expect::Success { body_spec, .. } => body_spec.as_ref(),
            Expect::Error { .. } => None,
        };
        for (key, problem) in evidence.problems(body_spec) {
            errors.push((format!("{at}.evidence_at[{key:?}]"), problem));
        }
        steps.push(Step {
            index,
            name: rs.name,
            kind,
            save,
            expect,
            eventually,
            severity,
            evidence,
        });
    }

    if errors.is_empty() {
        Ok(Scenario {
            area,
            id: raw.id,
            file: file.to_path_buf(),
            summary: raw.summary,
            covers: raw.covers,
            source: raw.source,
            requires: raw.requires,
            exclusive: raw.exclusive,
            notes: raw.notes,
            steps,
        })
    } else {
        Err(errors)
    }
}

/// Every scenario under [`default_dir`], or one error that lists each problem with its file
/// and JSON path (the form every command reports them in).
pub fn load_default() -> crate::error::Result<Vec<Scenario>> {
    let dir = default_dir();
    load_dir(&dir).map_err(|errs| crate::error::Error::Config {
        path: dir.clone(),
        message: format!(
            "{} problem(s) in the scenarios:\n{}",
            errs.len(),
            errs.iter()
                .map(|e| format!("  {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    })
}

/// `scenarios/` of the fixtures ([`crate::fixtures::dir`]), or `COGCHECK_SCENARIOS`.
pub fn default_dir() -> PathBuf {
    std::env::var_os("COGCHECK_SCENARIOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::fixtures::path("scenarios"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(area: &str, id: &str, text: &str) -> Result<Scenario, Vec<LoadError>> {
        let dir = tempfile::tempdir().unwrap();
        let area_dir = dir.path().join(area);
        std::fs::create_dir_all(&area_dir).unwrap();
        let file = area_dir.join(format!("{id}.json"));
        std::fs::write(&file, text).unwrap();
        load_file(&file)
    }

    const GOOD: &str = r#"{
      "id": "ok", "summary": "s", "covers": ["DescribeUserPool"], "source": "model",
      "steps": [
        {"action": "CreateUserPool", "with": {"PoolName": "${unique:p}"}, "save": {"pool": "$.UserPool.Id"}},
        {"action": "DescribeUserPool", "with": {"UserPoolId": "${pool}"}, "expect": {"body": {"UserPool": {"Id": "${pool}"}}}},
        {"action": "DescribeUserPool", "with": {"UserPoolId": "${missing_pool_id}"}, "expect": {"error": "ResourceNotFoundException"}}
      ]}"#;

    #[test]
    fn loads_a_good_scenario() {
        let s = load_text("user-pools", "ok", GOOD).unwrap();
        assert_eq!(s.name(), "user-pools::ok");
        assert_eq!(s.steps.len(), 3);
        assert!(
            matches!(s.steps[2].expect, Expect::Error { ref types, .. } if types == &["ResourceNotFoundException"])
        );
    }

    fn first_error(text: &str) -> LoadError {
        load_text("a", "ok", text).unwrap_err().remove(0)
    }

    #[test]
    fn bad_json_names_line_and_column() {
        let e = first_error("{\"id\": \"ok\",\n \"summary\": }");
        assert!(e.reason.contains("line 2"), "{e}");
    }

    #[test]
    fn any_error_stands_alone() {
        let any = GOOD.replace(
            "\"error\": \"ResourceNotFoundException\"",
            "\"error\": \"*\"",
        );
        assert!(load_text("a", "ok", &any).is_ok());
        let mixed = GOOD.replace(
            "\"error\": \"ResourceNotFoundException\"",
            "\"error\": [\"*\", \"ResourceNotFoundException\"]",
        );
        let e = first_error(&mixed);
        assert_eq!(e.path, "$.steps[2].expect.error", "{e}");
    }

    #[test]
    fn unknown_members_name_their_path() {
        let e = first_error(&GOOD.replace("\"expect\": {\"error\"", "\"expect\": {\"eror\""));
        assert_eq!(e.path, "$.steps[2].expect.eror", "{e}");
        assert!(e.reason.contains("eror"), "{e}");
    }

    #[test]
    fn unknown_action_names_its_path() {
        let e = first_error(&GOOD.replace(
            "\"action\": \"DescribeUserPool\", \"with\": {\"UserPoolId\": \"${missing",
            "\"action\": \"DescribeUserPools\", \"with\": {\"UserPoolId\": \"${missing",
        ));
        assert_eq!(e.path, "$.steps[2].action", "{e}");
        assert!(e.reason.contains("DescribeUserPools"), "{e}");
    }

    #[test]
    fn unknown_matcher_names_its_path() {
        let e = first_error(&GOOD.replace("{\"Id\": \"${pool}\"}", "{\"Id\": {\"$like\": \"x\"}}"));
        assert_eq!(e.path, "$.steps[1].expect.body.UserPool.Id.$like", "{e}");
    }

    #[test]
    fn undefined_capture_is_refused() {
        let e =
            first_error(&GOOD.replace("\"UserPoolId\": \"${pool}\"", "\"UserPoolId\": \"${pol}\""));
        assert_eq!(e.path, "$.steps[1]", "{e}");
        assert!(e.reason.contains("${pol}"), "{e}");
    }

    #[test]
    fn evidence_naming_a_page_must_quote_it() {
        let with = |evidence: &str| {
            GOOD.replace(
                "\"expect\": {\"error\": \"ResourceNotFoundException\"}",
                &format!("\"expect\": {{\"error\": \"ResourceNotFoundException\"}}, \"evidence\": {evidence}"),
            )
        };
        let e = first_error(&with(
            r#"{"kind": "doc", "url": "https://docs.aws.amazon.com/x.html", "quote": " "}"#,
        ));
        assert_eq!(e.path, "$.steps[2].evidence", "{e}");
        assert!(e.reason.contains("nothing is quoted"), "{e}");
        let e = first_error(&with(r#"{"kind": "inferred", "note": ""}"#));
        assert_eq!(e.path, "$.steps[2].evidence", "{e}");
        let ok = load_text(
            "a",
            "ok",
            &with(r#"{"kind": "aws-test", "url": "https://github.com/o/r/blob/main/t.go", "test": "TestAcc", "quote": "x"}"#),
        )
        .unwrap();
        assert!(matches!(
            ok.steps[2].evidence.step,
            Some(Evidence::AwsTest { .. })
        ));
    }

    #[test]
    fn undeclared_error_and_bad_source_are_refused() {
        let e = first_error(&GOOD.replace("ResourceNotFoundException", "NoSuchPoolException"));
        assert!(e.reason.contains("NoSuchPoolException"), "{e}");
        let e = first_error(&GOOD.replace("\"source\": \"model\"", "\"source\": \"moto does it\""));
        assert_eq!(e.path, "$.source");
    }

    #[test]
    fn the_shipped_scenarios_load() {
        let scenarios = load_dir(&default_dir()).unwrap_or_else(|errs| {
            panic!(
                "{}",
                errs.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        assert!(!scenarios.is_empty());
    }
}
