//! Findings: what one answer did differently from Cognito, one per failed assertion.
//!
//! Every answer a scenario gets — its steps' and the runner's own setup and cleanup calls —
//! is judged on three axes, and every assertion that does not hold yields one [`Finding`]:
//!
//! - [`Axis::Behaviour`]: the scenario's own expectation (success or error type, values, state),
//!   graded [`Severity::Security`], [`Severity::Functional`], [`Severity::Validation`] or
//!   [`Severity::Message`];
//! - [`Axis::Shape`]: the service model's output checks (a required member missing, a wrong
//!   type, an enum value outside the model, an error the operation does not declare);
//! - [`Axis::Protocol`]: awsJson1_1 framing (content type, request id, status code, `__type`).
//!
//! A finding names its step, axis, check and JSON path, which together are what an entry of a
//! target's expectations file matches (see [`crate::expectations`]). Reporters only read these
//! types; the runner ([`crate::run`]) only produces them.

use serde::{Deserialize, Serialize};

/// Which kind of conformance a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Axis {
    /// What the target did: the scenario's expectation, taken from AWS's documentation.
    Behaviour,
    /// Whether the answer fits the operation's output shape in the service model.
    Shape,
    /// Whether the answer is framed as awsJson1_1 says.
    Protocol,
}

impl Axis {
    /// Every axis, behaviour first (the order reports use).
    pub const ALL: [Axis; 3] = [Axis::Behaviour, Axis::Shape, Axis::Protocol];

    /// `behaviour`, `shape`, `protocol`.
    pub fn name(self) -> &'static str {
        match self {
            Axis::Behaviour => "behaviour",
            Axis::Shape => "shape",
            Axis::Protocol => "protocol",
        }
    }
}

/// Which assertion a finding is about: the stable name an expectations entry matches. Typed so
/// a new kind forces every `match` to decide and a misspelt one in an expectations file is a
/// load error, not an entry that silently never matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    /// Behaviour: success where an error was expected, or the other way round.
    Outcome,
    /// Behaviour: another error type than the expected ones.
    ErrorType,
    /// Behaviour: another error message.
    Message,
    /// Behaviour: another HTTP status.
    Status,
    /// Behaviour: the body differs from the expected one.
    Body,
    /// Behaviour: a value later steps need was not in the answer.
    Capture,
    /// Behaviour: a protocol helper (SRP, TOTP, a JWT check, ...) failed.
    Helper,
    /// Behaviour: no answer at all.
    Transport,
    /// Behaviour: the step's templates could not be resolved.
    Template,
    /// Behaviour: the step panicked (a bug of cogcheck, reported as such).
    Panic,
    /// Behaviour: the run was interrupted before the step ended.
    Interrupted,
    /// Neither: a replayed snapshot holds no answer to the step's request (the scenario was
    /// added or changed after the recording); the verdict is `not_in_snapshot`.
    NotInSnapshot,
    /// Shape: a required member is missing.
    MissingRequired,
    /// Shape: a member has another JSON type (or is not valid base64).
    WrongType,
    /// Shape: a value outside the model's enum.
    EnumValue,
    /// Shape: an error the operation does not declare.
    UndeclaredError,
    /// Shape: nesting deeper than any answer of the model can be.
    TooDeep,
    /// Protocol: another content type than `application/x-amz-json-1.1`.
    ContentType,
    /// Protocol: no `x-amzn-RequestId` header.
    RequestId,
    /// Protocol: a body that is not a JSON object.
    BodyNotJson,
    /// Protocol: an error without `__type` or `x-amzn-ErrorType`.
    ErrorWithoutType,
    /// Protocol: header and body name different error types.
    ErrorTypeDisagrees,
    /// Protocol: a success status with an error body, or the other way round.
    StatusContradictsBody,
    /// Protocol: an error with another status than the model gives it.
    ErrorStatus,
}

impl CheckKind {
    /// The name an expectations file and the results use (`error-type`).
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Outcome => "outcome",
            CheckKind::ErrorType => "error-type",
            CheckKind::Message => "message",
            CheckKind::Status => "status",
            CheckKind::Body => "body",
            CheckKind::Capture => "capture",
            CheckKind::Helper => "helper",
            CheckKind::Transport => "transport",
            CheckKind::Template => "template",
            CheckKind::Panic => "panic",
            CheckKind::Interrupted => "interrupted",
            CheckKind::NotInSnapshot => "not-in-snapshot",
            CheckKind::MissingRequired => "missing-required",
            CheckKind::WrongType => "wrong-type",
            CheckKind::EnumValue => "enum-value",
            CheckKind::UndeclaredError => "undeclared-error",
            CheckKind::TooDeep => "too-deep",
            CheckKind::ContentType => "content-type",
            CheckKind::RequestId => "request-id",
            CheckKind::BodyNotJson => "body-not-json",
            CheckKind::ErrorWithoutType => "error-without-type",
            CheckKind::ErrorTypeDisagrees => "error-type-disagrees",
            CheckKind::StatusContradictsBody => "status-contradicts-body",
            CheckKind::ErrorStatus => "error-status",
        }
    }
}

impl std::str::FromStr for CheckKind {
    type Err = String;

    /// The kind named `text` (`error-type`), as expectations files spell it.
    fn from_str(text: &str) -> Result<CheckKind, String> {
        serde_json::from_value(serde_json::Value::String(text.to_string()))
            .map_err(|_| format!("`{text}` is not a check kind"))
    }
}

impl std::fmt::Display for CheckKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How much a deviation matters to someone who builds on Cognito, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Authentication or token validation bypassed, user enumeration, a secret exposed.
    Security,
    /// The target does something else than Cognito: another result, a missing value, a state
    /// change that should not happen (or should).
    Functional,
    /// The target accepts input Cognito refuses.
    Validation,
    /// Only the error message differs.
    Message,
    /// The answer does not fit the model's output shape.
    Shape,
    /// The answer's awsJson1_1 framing differs.
    Protocol,
}

impl Severity {
    /// The severities a scenario step may declare for its behaviour assertions.
    pub const BEHAVIOUR: [Severity; 4] = [
        Severity::Security,
        Severity::Functional,
        Severity::Validation,
        Severity::Message,
    ];

    /// `security`, `functional`, `validation`, `message`, `shape`, `protocol`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Security => "security",
            Severity::Functional => "functional",
            Severity::Validation => "validation",
            Severity::Message => "message",
            Severity::Shape => "shape",
            Severity::Protocol => "protocol",
        }
    }

    /// The axis a severity belongs to.
    pub fn axis(self) -> Axis {
        match self {
            Severity::Security
            | Severity::Functional
            | Severity::Validation
            | Severity::Message => Axis::Behaviour,
            Severity::Shape => Axis::Shape,
            Severity::Protocol => Axis::Protocol,
        }
    }

    /// Parses a behaviour severity as written in a scenario file.
    pub fn parse_behaviour(text: &str) -> Option<Severity> {
        Severity::BEHAVIOUR.into_iter().find(|s| s.name() == text)
    }
}

/// Where an expectation comes from. A scenario step may name its own; otherwise its findings
/// carry the scenario's `source`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Evidence {
    /// An AWS documentation page, with the sentence that promises the behaviour.
    Doc {
        /// `https://docs.aws.amazon.com/...`.
        url: String,
        /// The sentence, verbatim.
        quote: String,
    },
    /// A public test that runs against real AWS and asserts this (Terraform's acceptance tests,
    /// an SDK's integration tests), with the line that asserts it.
    AwsTest {
        /// The file, as a repository URL.
        url: String,
        /// The test's name.
        test: String,
        /// The assertion, verbatim.
        quote: String,
    },
    /// The service model (shapes, declared errors, traits).
    Model,
    /// A recording of real Cognito: a cassette and the exchange's sequence number.
    Recording {
        /// The cassette, relative to the repository.
        cassette: String,
        /// The exchange.
        seq: u64,
    },
    /// No source states it; cogcheck infers it. Reported on its own line, never counted against
    /// a target in a headline.
    Inferred {
        /// Why it is believed.
        note: String,
    },
}

impl Evidence {
    /// True for an inferred expectation.
    pub fn is_inferred(&self) -> bool {
        matches!(self, Evidence::Inferred { .. })
    }

    /// One line for reports: the page or test with its quote, `model`, the recording, or
    /// `inferred: <note>`.
    pub fn describe(&self) -> String {
        match self {
            Evidence::Doc { url, quote } => format!("{url} — “{quote}”"),
            Evidence::AwsTest { url, test, quote } => {
                format!("AWS-verified test {test} ({url}) — “{quote}”")
            }
            Evidence::Model => "model".into(),
            Evidence::Recording { cassette, seq } => format!("recording:{cassette}#{seq}"),
            Evidence::Inferred { note } => format!("inferred (not counted): {note}"),
        }
    }

    /// What is wrong with it, if anything: a page named without a quote, a test without a name.
    pub fn problem(&self) -> Option<String> {
        let blank = |s: &str| s.trim().is_empty();
        match self {
            Evidence::Doc { url, quote } => {
                if !url.starts_with("https://docs.aws.amazon.com/") {
                    Some(format!(
                        "{url:?}: a documentation page is https://docs.aws.amazon.com/..."
                    ))
                } else if blank(quote) {
                    Some(format!(
                        "{url} is named but nothing is quoted: quote the sentence"
                    ))
                } else {
                    None
                }
            }
            Evidence::AwsTest { url, test, quote } => {
                if !url.starts_with("https://") {
                    Some(format!("{url:?}: name the test file by its https URL"))
                } else if blank(test) {
                    Some(format!("{url}: name the test function"))
                } else if blank(quote) {
                    Some(format!(
                        "{url} ({test}) is named but nothing is quoted: quote the assertion"
                    ))
                } else {
                    None
                }
            }
            Evidence::Model => None,
            Evidence::Recording { cassette, .. } => {
                blank(cassette).then(|| "name the cassette".to_string())
            }
            Evidence::Inferred { note } => {
                blank(note).then(|| "say why the expectation is believed".to_string())
            }
        }
    }
}

/// One assertion that did not hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The step whose answer it is about; `None` for the runner's own calls after the steps
    /// (deleting what the scenario created).
    pub step: Option<usize>,
    /// The action that answered, if the step called one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Behaviour, shape or protocol.
    pub axis: Axis,
    /// How much it matters.
    pub severity: Severity,
    /// Which assertion: the stable name an expectations entry matches.
    pub check: CheckKind,
    /// The JSON path the assertion is about (`$.UserPool.Id`), or `$` for the whole answer,
    /// or `-` for the transport.
    pub path: String,
    /// One line for summaries.
    pub summary: String,
    /// What AWS would answer (templates unresolved; never a secret).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub expected: String,
    /// What came (sensitive members redacted).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actual: String,
    /// A unified diff of expected and actual, when both are JSON.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub diff: String,
    /// The evidence for the expectation: the scenario's source for behaviour, `model` for
    /// shape, `awsJson1_1` for protocol.
    pub source: String,
    /// The step's own evidence, when it names one (it then takes precedence over `source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

impl Finding {
    /// True when the expectation behind it is only inferred: such a finding is reported on its
    /// own and never counts against a target.
    pub fn is_inferred(&self) -> bool {
        self.evidence.as_ref().is_some_and(Evidence::is_inferred)
    }

    /// The evidence in one line: the step's own, else the source.
    pub fn evidence_line(&self) -> String {
        self.evidence
            .as_ref()
            .map_or_else(|| self.source.clone(), Evidence::describe)
    }

    /// `step 3 [behaviour/error-type] summary`, for terminal output.
    pub fn headline(&self) -> String {
        let at = match self.step {
            Some(s) => format!("step {s}"),
            None => "cleanup".into(),
        };
        format!(
            "{at} [{}/{}] {}",
            self.axis.name(),
            self.check,
            self.summary
        )
    }
}

/// How a scenario's steps ended, apart from what its findings say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Every step ran (whatever their findings).
    Completed,
    /// A step could not go on (no answer, or a value later steps need was not captured); the
    /// steps after it did not run. The reason is also a behaviour finding of that step.
    Stopped {
        /// The step.
        step: usize,
        /// Why the scenario could not go on.
        reason: String,
    },
    /// The target does not implement an action a step calls (it answered 404, 501 or an
    /// "unknown operation" error).
    Unsupported {
        /// The action.
        action: String,
        /// The step.
        step: usize,
        /// How the target said so (`HTTP 501`, `UnknownOperationException`).
        answer: String,
    },
    /// Not run: the target lacks a capability the scenario requires.
    Skipped {
        /// Why.
        reason: String,
    },
}

/// One step's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepResult {
    /// Index in the scenario.
    pub index: usize,
    /// `CreateUserPool` or `helper:totp`.
    pub label: String,
    /// The action, for action steps.
    pub action: Option<String>,
    /// `passed`, `deviated`, `unsupported`, `not_run`.
    pub status: StepStatus,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// The answer's HTTP status.
    pub http_status: Option<u16>,
    /// The answer's error type.
    pub error_type: Option<String>,
    /// How many times an `eventually_ms` read was sent (1 otherwise).
    #[serde(default = "one")]
    pub attempts: u32,
}

fn one() -> u32 {
    1
}

/// A step's status.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Every assertion on its answer held.
    Passed,
    /// At least one finding.
    Deviated,
    /// The target does not implement its action.
    Unsupported,
    /// The scenario stopped before it.
    NotRun,
}

/// The outcome of one scenario on one target, before expectations are applied.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// `<area>::<id>`.
    pub name: String,
    /// The area.
    pub area: String,
    /// The scenario file, relative to the repository when possible.
    pub file: String,
    /// The scenario's source (documentation URL, `model`, recording).
    pub source: String,
    /// The actions it covers.
    pub covers: Vec<String>,
    /// How its steps ended.
    pub outcome: Outcome,
    /// Every assertion that did not hold, in the order they were made.
    pub findings: Vec<Finding>,
    /// Every step, including those not run.
    pub steps: Vec<StepResult>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Problems deleting what the scenario created (leftovers for `cogcheck sweep`).
    pub cleanup_errors: Vec<String>,
    /// Milliseconds spent deleting what the scenario created: target time that is no step's,
    /// for the suite-overhead benchmark (`suite/benches/overhead.sh`). 0 in older results.
    #[serde(default)]
    pub cleanup_ms: u64,
}

impl ScenarioResult {
    /// The findings on one axis.
    pub fn on(&self, axis: Axis) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.axis == axis)
    }

    /// Every action a step or cleanup call sent that answered as implemented.
    pub fn actions_answered(&self) -> impl Iterator<Item = &str> {
        self.steps
            .iter()
            .filter(|s| matches!(s.status, StepStatus::Passed | StepStatus::Deviated))
            .filter_map(|s| s.action.as_deref())
    }
}
