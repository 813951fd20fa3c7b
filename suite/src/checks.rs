//! The checks stage: every answer, judged on all three axes, yields [`Finding`]s.
//!
//! - **behaviour**: the scenario step's own expectation (success or error type, message,
//!   status, body), graded by [`grade`];
//! - **shape**: a success body must conform to the operation's output shape; an error must be
//!   one the operation declares (or one of the errors common to all AWS APIs);
//! - **protocol**: awsJson1_1 framing: a JSON body, the right content type, a request id, a 4xx
//!   status for client errors and a 5xx status for server faults.
//!
//! Shape and protocol checks run on every answer the runner gets, setup and cleanup calls
//! included, whatever the behaviour checks found: a cosmetic finding never hides a behavioural
//! one, nor the other way round.

use serde_json::Value;

use crate::finding::{Axis, CheckKind, Evidence, Finding, Severity};
use crate::model::{Model, Rule};
use crate::scenario::matcher::Mismatch;
use crate::scenario::template::Scope;
use crate::scenario::Expect;
use crate::wire::{Framing, Response};

/// Error types that mean "this endpoint does not implement the action" rather than a wrong
/// answer: what AWS itself, moto, LocalStack-style and Node emulators send for an unknown target.
pub const UNSUPPORTED_ERRORS: &[&str] = &[
    "UnknownOperationException",
    "InvalidAction",
    "NotImplemented",
    "NotImplementedException",
    "UnsupportedOperation",
    "UnsupportedOperationException",
    // cognito-local: `CognitoLocal#Unsupported`, "Cognito Local unsupported feature".
    "Unsupported",
];

/// True when the answer itself says the endpoint does not implement the action. (moto answers
/// a bare HTML 500 and says so only in its log; the runner reads it there.)
pub fn is_unsupported(response: &Response) -> bool {
    match &response.error {
        Some(e) if UNSUPPORTED_ERRORS.contains(&e.error_type.as_str()) => true,
        // moto answers an action it lacks with a bare 404/501; so do generic HTTP servers.
        Some(_) | None => matches!(response.status, 404 | 501) && !response.is_success(),
    }
}

/// What a step produced, action or helper alike.
#[derive(Debug, Clone)]
pub enum StepAnswer {
    /// A success, with its body.
    Success(Value),
    /// An error (from the target, or a helper's refusal).
    Error {
        /// Its type.
        error_type: String,
        /// Its message.
        message: Option<String>,
        /// The HTTP status, for answers from the target.
        status: Option<u16>,
    },
}

/// Error types whose absence means the target accepted input that Cognito refuses.
const VALIDATION_ERRORS: &[&str] = &[
    "InvalidParameterException",
    "InvalidPasswordException",
    "InvalidOAuthFlowException",
    "InvalidSmsRoleAccessPolicyException",
    "InvalidSmsRoleTrustRelationshipException",
    "InvalidEmailRoleAccessPolicyException",
    "InvalidUserPoolConfigurationException",
    "ScopeDoesNotExistException",
    "UnsupportedIdentityProviderException",
];

/// The severity of a behaviour finding: the step's declared severity, else by the kind of
/// check. An accepted request that Cognito refuses with a validation error is `validation`; a
/// different message is `message`; everything else changes what the application sees and is
/// `functional`. Scenarios mark authentication, token and enumeration checks `security`.
pub fn grade(declared: Option<Severity>, check: CheckKind, expected_errors: &[String]) -> Severity {
    if let Some(s) = declared {
        // A message is cosmetic whatever the step checks.
        return if check == CheckKind::Message {
            Severity::Message
        } else {
            s
        };
    }
    match check {
        CheckKind::Message => Severity::Message,
        CheckKind::Outcome
            if !expected_errors.is_empty()
                && expected_errors
                    .iter()
                    .all(|t| VALIDATION_ERRORS.contains(&t.as_str())) =>
        {
            Severity::Validation
        }
        _ => Severity::Functional,
    }
}

/// What the behaviour checks of one step need to know.
pub struct StepContext<'a> {
    /// The step's index.
    pub step: usize,
    /// `CreateUserPool` or `helper:srp_claim`.
    pub label: &'a str,
    /// The action, for action steps.
    pub action: Option<&'a str>,
    /// The step's declared severity.
    pub severity: Option<Severity>,
    /// The scenario's source: the evidence of its expectations.
    pub source: &'a str,
    /// The output shape, to redact sensitive members from what a finding quotes.
    pub output_shape: Option<&'a str>,
    /// The step's own evidence, for the step and per path.
    pub evidence: Option<&'a crate::scenario::evidence::StepEvidence>,
}

impl StepContext<'_> {
    fn finding(&self, check: CheckKind, path: &str, severity: Severity) -> Finding {
        Finding {
            step: Some(self.step),
            action: self.action.map(str::to_string),
            axis: Axis::Behaviour,
            severity,
            check,
            path: path.into(),
            summary: String::new(),
            expected: String::new(),
            actual: String::new(),
            diff: String::new(),
            source: self.source.into(),
            evidence: self.evidence.and_then(|e| e.for_path(path)).cloned(),
        }
    }
}

/// The behaviour findings of one answer: does it meet the step's expectation? Every mismatch
/// of an expected body is its own finding.
pub fn behaviour(
    ctx: &StepContext<'_>,
    expect: &Expect,
    answer: &StepAnswer,
    scope: &Scope<'_>,
) -> Vec<Finding> {
    let label = ctx.label;
    let expected_errors: &[String] = match expect {
        Expect::Error { types, .. } => types,
        Expect::Success { .. } => &[],
    };
    let make = |check: CheckKind, path: &str, summary: String, expected: String, actual: String| {
        let mut f = ctx.finding(check, path, grade(ctx.severity, check, expected_errors));
        f.summary = summary;
        f.expected = expected;
        f.actual = actual;
        f
    };
    let mut out = Vec::new();
    match (expect, answer) {
        (Expect::Success { body, body_spec }, StepAnswer::Success(actual)) => {
            if let Some(m) = body {
                let mut mismatches: Vec<Mismatch> = Vec::new();
                m.check(Some(actual), "$", scope, &mut mismatches);
                let redacted = crate::secrets::redact(ctx.output_shape, actual);
                let spec = body_spec.clone().unwrap_or(Value::Null);
                let projected = project(&redacted, &spec);
                let diff_text = diff(&pretty(&spec), &pretty(&projected));
                for (i, mm) in mismatches.iter().enumerate() {
                    let mut f = make(
                        CheckKind::Body,
                        &mm.path,
                        format!("{label}: {mm}"),
                        mm.expected.clone(),
                        short_json(&mm.actual),
                    );
                    // One diff per answer is enough: the first mismatch carries it.
                    if i == 0 {
                        f.diff = diff_text.clone();
                    }
                    out.push(f);
                }
            }
        }
        (
            Expect::Success { .. },
            StepAnswer::Error {
                error_type,
                message,
                status,
            },
        ) => {
            let actual = describe_error(error_type, message.as_deref(), *status);
            out.push(make(
                CheckKind::Outcome,
                "$",
                format!("{label}: expected success, got {actual}"),
                "success".into(),
                actual,
            ));
        }
        (Expect::Error { types, .. }, StepAnswer::Success(actual)) => {
            let redacted = crate::secrets::redact(ctx.output_shape, actual);
            let wanted = if types.iter().any(|t| t == crate::scenario::ANY_ERROR) {
                "an error".to_string()
            } else {
                types.join(" or ")
            };
            out.push(make(
                CheckKind::Outcome,
                "$",
                format!("{label}: expected {wanted}, got success"),
                wanted,
                pretty(&redacted),
            ));
        }
        (
            Expect::Error {
                types,
                message: want_msg,
                status: want_status,
            },
            StepAnswer::Error {
                error_type,
                message,
                status,
            },
        ) => {
            let actual = describe_error(error_type, message.as_deref(), *status);
            let any = types.iter().any(|t| t == crate::scenario::ANY_ERROR);
            let type_holds = any || types.contains(error_type);
            if !type_holds {
                out.push(make(
                    CheckKind::ErrorType,
                    "$.__type",
                    format!("{label}: expected {}, got {actual}", types.join(" or ")),
                    types.join(" or "),
                    actual.clone(),
                ));
            }
            let text = message.as_deref().unwrap_or("");
            // Only for the error expected: a wrong one is already the finding, and an
            // answer without any type (an HTML 500) has no error structure to hold a message.
            if text.trim().is_empty() && type_holds && !crate::wire::is_untyped_error(error_type) {
                // Every error structure of the model has a `message` member, documented as the
                // message returned with that error ("The message returned when a user isn't
                // found."), and SDKs show it as the error's text (botocore's
                // `Error.Message`). Its words are not promised (a step's `message` pattern
                // asserts them where a page does); that there is one is.
                let mut f = make(
                    CheckKind::Message,
                    "$.message",
                    format!("{label}: {error_type} without a message"),
                    "a message".into(),
                    actual.clone(),
                );
                f.evidence = Some(Evidence::Model);
                out.push(f);
            } else if let Some((pattern, re)) = want_msg {
                if re.find(text).is_none() {
                    out.push(make(
                        CheckKind::Message,
                        "$.message",
                        format!("{label}: message {text:?} does not match /{pattern}/"),
                        format!("/{pattern}/"),
                        actual.clone(),
                    ));
                }
            }
            if let (Some(want), Some(got)) = (want_status, status) {
                let ok = match want.as_str() {
                    "4xx" => (400..500).contains(got),
                    "5xx" => (500..600).contains(got),
                    exact => exact == got.to_string(),
                };
                if !ok {
                    out.push(make(
                        CheckKind::Status,
                        "-",
                        format!("{label}: expected status {want}, got {got}"),
                        want.clone(),
                        got.to_string(),
                    ));
                }
            }
        }
    }
    out
}

/// The shape and protocol findings of an answer to `action`: the required members, types and
/// enum values of a success body; the declaration, status and framing of an error. `step` is
/// `None` for the runner's own calls.
pub fn shape_and_protocol(
    model: &Model,
    action: &str,
    response: &Response,
    step: Option<usize>,
) -> Vec<Finding> {
    let finding = |axis: Axis, check: CheckKind, path: &str, summary: String| Finding {
        step,
        action: Some(action.to_string()),
        axis,
        severity: match axis {
            Axis::Shape => Severity::Shape,
            Axis::Protocol | Axis::Behaviour => Severity::Protocol,
        },
        check,
        path: path.into(),
        summary: format!("{action}: {summary}"),
        expected: String::new(),
        actual: String::new(),
        diff: String::new(),
        source: match axis {
            Axis::Shape => "model".into(),
            Axis::Protocol | Axis::Behaviour => "awsJson1_1".into(),
        },
        evidence: None,
    };
    let mut out = Vec::new();
    for f in &response.framing {
        out.push(finding(Axis::Protocol, f.check(), "-", f.to_string()));
    }
    let Ok(op) = model.operation(action) else {
        return out;
    };
    match &response.error {
        None => {
            if response
                .framing
                .iter()
                .any(|f| matches!(f, Framing::BodyNotJsonObject { .. }))
            {
                return out;
            }
            if let Some(shape) = &op.output {
                for (check, path, summary) in body_violations(model, shape, &response.body) {
                    out.push(finding(Axis::Shape, check, &path, summary));
                }
            }
        }
        Some(e) => {
            // botocore's awsJson parser reads the error's type from the body's `__type` only
            // (never `code`, never x-amzn-ErrorType): without it an application sees a
            // ClientError whose code is the HTTP status (`"400"`), and a `__type` that is not a
            // string makes the parser raise a TypeError (botocore 1.44.8, `parsers.py`,
            // `BaseJSONParser._do_error_parse`: `code = body.get('__type', str(status))`). An
            // answer with no type anywhere already has its `error-without-type` framing.
            let no_type_anywhere = response
                .framing
                .iter()
                .any(|f| matches!(f, Framing::ErrorWithoutType));
            match response.body.get("__type") {
                Some(Value::String(_)) => {}
                Some(other) => out.push(finding(
                    Axis::Protocol,
                    CheckKind::ErrorWithoutType,
                    "$.__type",
                    format!(
                        "the error body's `__type` is {other}, not a string naming the error \
                         (`{}`): botocore cannot read it",
                        e.error_type
                    ),
                )),
                None if !no_type_anywhere => out.push(finding(
                    Axis::Protocol,
                    CheckKind::ErrorWithoutType,
                    "$.__type",
                    format!(
                        "the error body has no `__type` (the type `{}` came from {}): botocore \
                         reads only `__type` and raises a ClientError with code `{}`",
                        e.error_type,
                        match e.source {
                            crate::wire::ErrorTypeSource::Header => "x-amzn-ErrorType",
                            crate::wire::ErrorTypeSource::Code => "the body's `code`",
                            crate::wire::ErrorTypeSource::Type => "`__type`",
                        },
                        response.status
                    ),
                )),
                None => {}
            }
            // The error's own shape declares its members (`message` a string): the model's
            // word on what an error body carries, checked like an output shape.
            if model.shape(&e.error_type).is_some() && response.body.is_object() {
                for (check, path, summary) in body_violations(model, &e.error_type, &response.body)
                {
                    out.push(finding(Axis::Shape, check, &path, summary));
                }
            }
            if !op.may_return(&e.error_type) {
                out.push(finding(
                    Axis::Shape,
                    CheckKind::UndeclaredError,
                    "$.__type",
                    format!("`{}` is not an error {action} declares", e.error_type),
                ));
            }
            if let Some(shape) = model.shape(&e.error_type) {
                let server = shape.fault
                    || shape.error.as_ref().is_some_and(|t| {
                        !t.sender_fault && t.http_status_code.unwrap_or(400) >= 500
                    });
                let expected_class = if server { 5 } else { 4 };
                let expected_status = shape.error.as_ref().and_then(|t| t.http_status_code);
                let ok = match expected_status {
                    Some(s) => response.status == s,
                    None => response.status / 100 == expected_class,
                };
                if !ok {
                    out.push(finding(
                        Axis::Protocol,
                        CheckKind::ErrorStatus,
                        "-",
                        format!(
                            "`{}` came with status {}, expected {}",
                            e.error_type,
                            response.status,
                            expected_status
                                .map_or(format!("{expected_class}xx"), |s| s.to_string())
                        ),
                    ));
                }
            }
        }
    }
    out
}

/// The shape findings of `body` read as `shape`: required members, types and enum values.
fn body_violations(model: &Model, shape: &str, body: &Value) -> Vec<(CheckKind, String, String)> {
    let mut out = Vec::new();
    for v in model.validate(shape, body) {
        // Length, range and pattern traits constrain what a caller may send; AWS does not hold
        // its own answers to them, and the SDKs never check them on output. Real Cognito
        // returns the schema attribute `phone_number_verified` (21 characters) where the shape
        // allows 20, and a CloudFrontDomain such as `d111111abcdef8.cloudfront.net` in a shape
        // whose pattern has no dots. Unknown members are allowed because AWS adds members over
        // time (and an error body carries the protocol's `__type`).
        let check = match &v.rule {
            Rule::MissingRequired { .. } => CheckKind::MissingRequired,
            Rule::WrongType { .. } => CheckKind::WrongType,
            Rule::NotInEnum { .. } => CheckKind::EnumValue,
            Rule::InvalidBase64 => CheckKind::WrongType,
            Rule::TooDeep { .. } => CheckKind::TooDeep,
            // Limits of the model or of the validator, not of the answer.
            Rule::BadPattern { .. } | Rule::UnknownShape { .. } | Rule::UnsupportedType { .. } => {
                continue
            }
            Rule::UnknownMember { .. }
            | Rule::TooShort { .. }
            | Rule::TooLong { .. }
            | Rule::BelowMin { .. }
            | Rule::AboveMax { .. }
            | Rule::PatternMismatch { .. } => continue,
        };
        out.push((check, v.path.clone(), v.to_string()));
    }
    out
}

/// `Type (HTTP 400): message`.
pub fn describe_error(error_type: &str, message: Option<&str>, status: Option<u16>) -> String {
    let mut s = error_type.to_string();
    if let Some(st) = status {
        s = format!("{s} (HTTP {st})");
    }
    if let Some(m) = message {
        s = format!("{s}: {m}");
    }
    s
}

fn short_json(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 300 {
        format!("{}…", text.chars().take(300).collect::<String>())
    } else {
        text
    }
}

/// The parts of `actual` that `spec` talks about, so a diff shows only what matters.
fn project(actual: &Value, spec: &Value) -> Value {
    match (actual, spec) {
        (Value::Object(a), Value::Object(s)) if !s.keys().any(|k| k.starts_with('$')) => {
            let mut out = serde_json::Map::new();
            for k in s.keys() {
                if let Some(v) = a.get(k) {
                    out.insert(k.clone(), project(v, &s[k]));
                }
            }
            Value::Object(out)
        }
        (Value::Array(a), Value::Array(s)) if a.len() == s.len() => {
            Value::Array(a.iter().zip(s).map(|(a, s)| project(a, s)).collect())
        }
        _ => actual.clone(),
    }
}

/// Pretty JSON for expected/actual texts.
pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// A unified diff of two texts, rendered with `similar`.
pub fn diff(expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{parse_response, CONTENT_TYPE};

    fn resp(status: u16, body: &str) -> Response {
        let mut h = http::HeaderMap::new();
        h.insert("content-type", CONTENT_TYPE.parse().unwrap());
        h.insert("x-amzn-requestid", "r".parse().unwrap());
        parse_response(status, &h, body.as_bytes())
    }

    #[test]
    fn declared_errors_pass_and_undeclared_fail() {
        let m = Model::get();
        let ok = resp(
            400,
            r#"{"__type":"ResourceNotFoundException","message":"x"}"#,
        );
        assert!(shape_and_protocol(m, "DescribeUserPool", &ok, Some(0)).is_empty());
        let bad = resp(400, r#"{"__type":"UsernameExistsException","message":"x"}"#);
        let v = shape_and_protocol(m, "DescribeUserPool", &bad, Some(0));
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].summary.contains("UsernameExistsException"));
    }

    #[test]
    fn error_bodies_are_read_as_botocore_reads_them() {
        let m = Model::get();
        let with_header = |body: &str| {
            let mut h = http::HeaderMap::new();
            h.insert("content-type", CONTENT_TYPE.parse().unwrap());
            h.insert("x-amzn-requestid", "r".parse().unwrap());
            h.insert(
                crate::wire::ERROR_TYPE_HEADER,
                "ResourceNotFoundException".parse().unwrap(),
            );
            parse_response(400, &h, body.as_bytes())
        };
        let conforming = r#"{"__type":"ResourceNotFoundException","message":"x"}"#;
        assert!(
            shape_and_protocol(m, "DescribeUserPool", &with_header(conforming), Some(0)).is_empty()
        );
        // The error shape declares `message` a string.
        let v = shape_and_protocol(
            m,
            "DescribeUserPool",
            &with_header(r#"{"__type":"ResourceNotFoundException","message":0}"#),
            Some(0),
        );
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!((v[0].axis, v[0].check), (Axis::Shape, CheckKind::WrongType));
        assert_eq!(v[0].path, "$.message");
        // The type only in the header, in `code`, or not a string: botocore sees code "400"
        // or raises.
        for body in [
            r#"{"message":"x"}"#,
            "",
            r#"{"code":"ResourceNotFoundException","message":"x"}"#,
            r#"{"__type":0,"message":"x"}"#,
        ] {
            let v = shape_and_protocol(m, "DescribeUserPool", &with_header(body), Some(0));
            assert_eq!(v.len(), 1, "{body}: {v:?}");
            assert_eq!(
                (v[0].axis, v[0].check, v[0].path.as_str()),
                (Axis::Protocol, CheckKind::ErrorWithoutType, "$.__type"),
                "{body}"
            );
        }
        // No type anywhere: the framing finding alone, not a second one.
        let bare = resp(400, r#"{"message":"x"}"#);
        let v = shape_and_protocol(m, "DescribeUserPool", &bare, Some(0));
        assert_eq!(
            v.iter()
                .filter(|f| f.check == CheckKind::ErrorWithoutType)
                .count(),
            1,
            "{v:?}"
        );
    }

    #[test]
    fn internal_errors_must_be_5xx() {
        let m = Model::get();
        let wrong = resp(400, r#"{"__type":"InternalErrorException","message":"x"}"#);
        assert!(shape_and_protocol(m, "DescribeUserPool", &wrong, Some(0))
            .iter()
            .any(|v| v.summary.contains("status 400")));
        let right = resp(500, r#"{"__type":"InternalErrorException","message":"x"}"#);
        assert!(shape_and_protocol(m, "DescribeUserPool", &right, Some(0)).is_empty());
    }

    #[test]
    fn success_bodies_are_validated_against_the_output_shape() {
        let m = Model::get();
        let v = shape_and_protocol(
            m,
            "CreateGroup",
            &resp(200, r#"{"Group":{"GroupName":5}}"#),
            Some(0),
        );
        assert!(v.iter().any(|v| v.path.contains("GroupName")), "{v:?}");
        assert!(shape_and_protocol(
            m,
            "CreateGroup",
            &resp(200, r#"{"Group":{"GroupName":"g"}}"#),
            Some(0)
        )
        .is_empty());
    }

    #[test]
    fn input_constraints_are_not_applied_to_answers() {
        // What real Cognito sends: a 21-character schema attribute name and a CloudFront domain.
        let m = Model::get();
        let body = r#"{"UserPool":{"SchemaAttributes":[{"Name":"phone_number_verified"}]}}"#;
        assert!(shape_and_protocol(m, "DescribeUserPool", &resp(200, body), Some(0)).is_empty());
        let body = r#"{"CloudFrontDomain":"d111111abcdef8.cloudfront.net"}"#;
        assert!(
            shape_and_protocol(m, "CreateUserPoolDomain", &resp(200, body), Some(0)).is_empty()
        );
        // Enum values still count: an emulator inventing one is a deviation.
        let body = r#"{"UserPool":{"MfaConfiguration":"MAYBE"}}"#;
        assert_eq!(
            shape_and_protocol(m, "DescribeUserPool", &resp(200, body), Some(0)).len(),
            1
        );
    }

    #[test]
    fn any_error_accepts_every_type_but_not_a_success() {
        let expect = Expect::Error {
            types: vec![crate::scenario::ANY_ERROR.to_string()],
            message: None,
            status: Some("4xx".into()),
        };
        let ctx = StepContext {
            step: 3,
            label: "SignUp",
            action: Some("SignUp"),
            severity: None,
            source: "model",
            output_shape: None,
            evidence: None,
        };
        let captures = std::collections::BTreeMap::new();
        let passwords = std::sync::Mutex::new(std::collections::BTreeMap::new());
        let scope = Scope {
            captures: &captures,
            run_prefix: "cogcheck-000000",
            scenario_number: 0,
            passwords: &passwords,
            region: "us-east-1",
            sms_role: None,
        };
        let refused = StepAnswer::Error {
            error_type: "InvalidParameterException".into(),
            message: Some("Username should be an email.".into()),
            status: Some(400),
        };
        assert!(behaviour(&ctx, &expect, &refused, &scope).is_empty());
        let accepted = StepAnswer::Success(serde_json::json!({"UserConfirmed": false}));
        let found = behaviour(&ctx, &expect, &accepted, &scope);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].expected, "an error");
        // A 5xx still breaks the status the step asks for.
        let crashed = StepAnswer::Error {
            error_type: "InternalErrorException".into(),
            message: Some("Internal error".into()),
            status: Some(500),
        };
        assert_eq!(behaviour(&ctx, &expect, &crashed, &scope).len(), 1);

        // The expected error without a message: a message-grade finding, on the model's word.
        let silent = StepAnswer::Error {
            error_type: "InvalidParameterException".into(),
            message: Some(" ".into()),
            status: Some(400),
        };
        let found = behaviour(&ctx, &expect, &silent, &scope);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].check, CheckKind::Message);
        assert_eq!(found[0].severity, Severity::Message);
        assert_eq!(found[0].evidence, Some(Evidence::Model));
        // An answer with no error structure at all (an HTML 500) is judged by its status and
        // framing, not for a message it could not hold.
        let html = StepAnswer::Error {
            error_type: "HTTP400".into(),
            message: None,
            status: Some(400),
        };
        assert!(behaviour(&ctx, &expect, &html, &scope).is_empty());
    }

    #[test]
    fn recognises_unsupported_actions() {
        assert!(is_unsupported(&resp(
            400,
            r#"{"__type":"UnknownOperationException"}"#
        )));
        assert!(is_unsupported(&resp(501, "")));
        assert!(is_unsupported(&resp(
            500,
            r#"{"__type":"CognitoLocal#Unsupported","message":"Cognito Local unsupported feature"}"#
        )));
        assert!(!is_unsupported(&resp(
            400,
            r#"{"__type":"ResourceNotFoundException"}"#
        )));
    }
}
