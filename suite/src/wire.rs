//! The AWS JSON 1.1 protocol (`awsJson1_1`) as Cognito speaks it.
//!
//! A request is `POST /` with `X-Amz-Target: AWSCognitoIdentityProviderService.<Action>`,
//! `Content-Type: application/x-amz-json-1.1` and a JSON body (`{}` when there is no input).
//! An answer is a JSON body; an error carries its type in `x-amzn-ErrorType`, `code` or
//! `__type`, which must be sanitized before use (Smithy awsJson1_1 spec, "Operation error
//! serialization"). Every answer also yields [`Framing`]s about how faithfully it followed the
//! protocol, so checks can judge the transport as well as the content.

use std::fmt;

use crate::finding::CheckKind;
use serde_json::Value;

/// The `X-Amz-Target` prefix of every Cognito User Pools action.
pub const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService";
/// The content type of requests and answers.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The header that names the action.
pub const TARGET_HEADER: &str = "x-amz-target";
/// The header AWS uses for the request id.
pub const REQUEST_ID_HEADER: &str = "x-amzn-requestid";
/// The header that may carry the error type.
pub const ERROR_TYPE_HEADER: &str = "x-amzn-errortype";
/// Names the scenario a request belongs to. Sent unsigned, so AWS and emulators ignore it; a
/// recording keeps it and replay matches a request among those of the same scenario only, so
/// scenarios that send identical-looking requests (every member a secret) cannot take each
/// other's answers whatever order the jobs interleave in.
pub const SCENARIO_HEADER: &str = "x-cogcheck-scenario";
/// The error cogcheck-proxy's replay answers when no recorded request matches: the request is
/// not in the snapshot, so the snapshot cannot judge the scenario.
pub const REPLAY_MISS_ERROR: &str = "CogcheckReplayMissException";

/// The `X-Amz-Target` value for an action.
pub fn target_header(action: &str) -> String {
    format!("{TARGET_PREFIX}.{action}")
}

/// The action named by an `X-Amz-Target` value, if it is a Cognito User Pools target.
pub fn action_from_target(value: &str) -> Option<&str> {
    let action = value.strip_prefix(TARGET_PREFIX)?.strip_prefix('.')?;
    (!action.is_empty()).then_some(action)
}

/// Sanitizes an error type as awsJson1_1 clients must: keep the text before the first `:`,
/// then the text after the last `#`. `aws.protocoltests#FooError:http://...` becomes `FooError`.
pub fn sanitize_error_type(raw: &str) -> &str {
    let before_colon = raw.split(':').next().unwrap_or(raw);
    let after_hash = before_colon.rsplit('#').next().unwrap_or(before_colon);
    after_hash.trim()
}

/// Where an error's type was read from. Real Cognito sends `__type` in the body and the
/// `x-amzn-ErrorType` header; emulators often send only one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorTypeSource {
    /// The `x-amzn-ErrorType` header.
    Header,
    /// A `code` member of the body.
    Code,
    /// A `__type` member of the body.
    Type,
}

/// An error answer, decoded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiError {
    /// The sanitized error type, such as `ResourceNotFoundException`.
    pub error_type: String,
    /// The `message` (or `Message`) member, when present.
    pub message: Option<String>,
    /// Where the type was found.
    pub source: ErrorTypeSource,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => write!(f, "{}: {}", self.error_type, m),
            None => f.write_str(&self.error_type),
        }
    }
}

/// How an answer strayed from the protocol. None of these is fatal by itself; checks decide.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "finding", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Framing {
    /// `Content-Type` was missing or not `application/x-amz-json-1.1`.
    ContentType {
        /// What was sent, if anything.
        found: Option<String>,
    },
    /// No `x-amzn-RequestId` header.
    MissingRequestId,
    /// The body was not JSON (or not an object) although the protocol requires one.
    BodyNotJsonObject {
        /// The first bytes of the body, lossy UTF-8, for the report.
        start: String,
    },
    /// An error answer whose type could not be found anywhere.
    ErrorWithoutType,
    /// The header and the body named different error types.
    ErrorTypeDisagrees {
        /// From `x-amzn-ErrorType`.
        header: String,
        /// From the body.
        body: String,
    },
    /// An error answer with a 2xx status, or a success body with an error type.
    StatusContradictsBody {
        /// The HTTP status.
        status: u16,
    },
}

impl Framing {
    /// The stable name of the check this deviation fails, as findings and expectations files
    /// name it.
    pub fn check(&self) -> CheckKind {
        match self {
            Framing::ContentType { .. } => CheckKind::ContentType,
            Framing::MissingRequestId => CheckKind::RequestId,
            Framing::BodyNotJsonObject { .. } => CheckKind::BodyNotJson,
            Framing::ErrorWithoutType => CheckKind::ErrorWithoutType,
            Framing::ErrorTypeDisagrees { .. } => CheckKind::ErrorTypeDisagrees,
            Framing::StatusContradictsBody { .. } => CheckKind::StatusContradictsBody,
        }
    }
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Framing::ContentType { found: Some(ct) } => {
                write!(f, "content type `{ct}`, expected `{CONTENT_TYPE}`")
            }
            Framing::ContentType { found: None } => {
                write!(f, "no content type, expected `{CONTENT_TYPE}`")
            }
            Framing::MissingRequestId => f.write_str("no x-amzn-RequestId header"),
            Framing::BodyNotJsonObject { start } => {
                write!(f, "body is not a JSON object: `{start}`")
            }
            Framing::ErrorWithoutType => {
                f.write_str("error answer names no type (no x-amzn-ErrorType, code or __type)")
            }
            Framing::ErrorTypeDisagrees { header, body } => {
                write!(
                    f,
                    "x-amzn-ErrorType says `{header}` but the body says `{body}`"
                )
            }
            Framing::StatusContradictsBody { status } => {
                write!(
                    f,
                    "status {status} contradicts the body (error type on success or error on 2xx)"
                )
            }
        }
    }
}

/// A decoded answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The `x-amzn-RequestId` header.
    pub request_id: Option<String>,
    /// The body as JSON; `{}` for an empty body, `null` when it is not JSON (see `framing`).
    pub body: Value,
    /// The error, for a non-2xx status.
    pub error: Option<ApiError>,
    /// How the answer strayed from the protocol.
    pub framing: Vec<Framing>,
}

impl Response {
    /// True for a 2xx answer.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Decodes an answer from its status, headers and body bytes.
pub fn parse_response(status: u16, headers: &http::HeaderMap, body: &[u8]) -> Response {
    let mut framing = Vec::new();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };

    let content_type = header("content-type");
    // Cognito answers `application/x-amz-json-1.1`; a charset parameter is harmless.
    let ct_ok = content_type
        .as_deref()
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case(CONTENT_TYPE)
        })
        .unwrap_or(false);
    if !ct_ok {
        framing.push(Framing::ContentType {
            found: content_type,
        });
    }
    let request_id = header(REQUEST_ID_HEADER).or_else(|| header("x-amz-request-id"));
    if request_id.is_none() {
        framing.push(Framing::MissingRequestId);
    }

    let trimmed = body.iter().position(|b| !b.is_ascii_whitespace());
    let value = match trimmed {
        None => Value::Object(Default::default()),
        Some(_) => match serde_json::from_slice::<Value>(body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) | Err(_) => {
                let start: String = String::from_utf8_lossy(&body[..body.len().min(120)]).into();
                framing.push(Framing::BodyNotJsonObject { start });
                Value::Null
            }
        },
    };

    let success = (200..300).contains(&status);
    let body_type = ["__type", "code"].iter().find_map(|k| {
        value
            .get(*k)
            .and_then(Value::as_str)
            .map(|s| (sanitize_error_type(s).to_string(), *k))
    });
    let header_type = header(ERROR_TYPE_HEADER)
        .map(|h| sanitize_error_type(&h).to_string())
        .filter(|h| !h.is_empty());

    let error = if success {
        if body_type.is_some() {
            framing.push(Framing::StatusContradictsBody { status });
        }
        None
    } else {
        if let (Some(h), Some((b, _))) = (&header_type, &body_type) {
            if h != b {
                framing.push(Framing::ErrorTypeDisagrees {
                    header: h.clone(),
                    body: b.clone(),
                });
            }
        }
        // What the SDKs do, which is what an application sees: `__type`, then `code`, then the
        // header (botocore's JSON parser and the JS SDK v3, measured by
        // proxy/tests/sdk_tolerance.rs). Smithy's spec reads the header first; where the two
        // disagree the answer already has an `error-type-disagrees` protocol finding.
        let code = value
            .get("code")
            .and_then(Value::as_str)
            .map(|s| sanitize_error_type(s).to_string());
        let dunder = value
            .get("__type")
            .and_then(Value::as_str)
            .map(|s| sanitize_error_type(s).to_string());
        let found = dunder
            .map(|t| (t, ErrorTypeSource::Type))
            .or(code.map(|t| (t, ErrorTypeSource::Code)))
            .or(header_type.map(|t| (t, ErrorTypeSource::Header)));
        match found {
            Some((error_type, source)) => Some(ApiError {
                error_type,
                message: value
                    .get("message")
                    .or_else(|| value.get("Message"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                source,
            }),
            None => {
                framing.push(Framing::ErrorWithoutType);
                Some(ApiError {
                    error_type: untyped_error(status),
                    message: None,
                    source: ErrorTypeSource::Header,
                })
            }
        }
    };

    Response {
        status,
        request_id,
        body: value,
        error,
        framing,
    }
}

/// The error type given to an error answer that names none (no `__type`, code or
/// `x-amzn-ErrorType`; an HTML 500): `HTTP` and the status, as botocore's code is the status.
pub fn untyped_error(status: u16) -> String {
    format!("HTTP{status}")
}

/// True for a type [`untyped_error`] made: the answer had no error structure at all.
pub fn is_untyped_error(error_type: &str) -> bool {
    error_type
        .strip_prefix("HTTP")
        .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn target_round_trip() {
        assert_eq!(
            target_header("CreateUserPool"),
            "AWSCognitoIdentityProviderService.CreateUserPool"
        );
        assert_eq!(
            action_from_target("AWSCognitoIdentityProviderService.CreateUserPool"),
            Some("CreateUserPool")
        );
        assert_eq!(action_from_target("DynamoDB_20120810.GetItem"), None);
        assert_eq!(
            action_from_target("AWSCognitoIdentityProviderService."),
            None
        );
    }

    #[test]
    fn sanitizes_error_types_as_the_smithy_spec_says() {
        // Examples from the Smithy awsJson1_1 protocol tests.
        assert_eq!(sanitize_error_type("FooError"), "FooError");
        assert_eq!(
            sanitize_error_type("aws.protocoltests.restjson#FooError"),
            "FooError"
        );
        assert_eq!(
            sanitize_error_type("aws.protocoltests.restjson#FooError:http://internal.amazon.com/coral/com.amazon.coral.validate/"),
            "FooError"
        );
        assert_eq!(
            sanitize_error_type("FooError:http://internal.amazon.com/"),
            "FooError"
        );
    }

    #[test]
    fn parses_a_cognito_shaped_error() {
        let h = headers(&[
            ("content-type", CONTENT_TYPE),
            ("x-amzn-requestid", "abc"),
            ("x-amzn-errortype", "ResourceNotFoundException:"),
        ]);
        let r = parse_response(
            400,
            &h,
            br#"{"__type":"ResourceNotFoundException","message":"User pool us-east-1_x does not exist."}"#,
        );
        let e = r.error.unwrap();
        assert_eq!(e.error_type, "ResourceNotFoundException");
        assert_eq!(e.source, ErrorTypeSource::Type);
        assert_eq!(
            e.message.as_deref(),
            Some("User pool us-east-1_x does not exist.")
        );
        assert!(r.framing.is_empty(), "{:?}", r.framing);
    }

    #[test]
    fn reads_capital_message_and_type_from_body_only() {
        let h = headers(&[("content-type", CONTENT_TYPE), ("x-amzn-requestid", "abc")]);
        let r = parse_response(
            400,
            &h,
            br#"{"__type":"com.amazon#NotAuthorizedException","Message":"no"}"#,
        );
        let e = r.error.unwrap();
        assert_eq!(e.error_type, "NotAuthorizedException");
        assert_eq!(e.source, ErrorTypeSource::Type);
        assert_eq!(e.message.as_deref(), Some("no"));
    }

    #[test]
    fn reports_protocol_findings() {
        let r = parse_response(500, &HeaderMap::new(), b"<html>oops</html>");
        assert!(r.framing.contains(&Framing::MissingRequestId));
        assert!(r.framing.contains(&Framing::ContentType { found: None }));
        assert!(r.framing.contains(&Framing::ErrorWithoutType));
        assert!(r
            .framing
            .iter()
            .any(|f| matches!(f, Framing::BodyNotJsonObject { .. })));
        assert_eq!(r.error.unwrap().error_type, "HTTP500");
        assert!(is_untyped_error(&untyped_error(500)));
        assert!(!is_untyped_error("HTTPException"));
        assert!(!is_untyped_error("NotAuthorizedException"));

        let h = headers(&[
            ("content-type", "application/json"),
            ("x-amzn-requestid", "a"),
            ("x-amzn-errortype", "A"),
        ]);
        let r = parse_response(400, &h, br#"{"__type":"B"}"#);
        assert!(r.framing.contains(&Framing::ErrorTypeDisagrees {
            header: "A".into(),
            body: "B".into()
        }));
        // The body's type is what SDKs raise, so it is what the answer means.
        assert_eq!(r.error.as_ref().map(|e| e.error_type.as_str()), Some("B"));
        // Without a body type, the header still names the error.
        let r = parse_response(400, &h, br#"{"message":"m"}"#);
        assert_eq!(r.error.map(|e| e.error_type), Some("A".to_string()));
        assert!(r.framing.contains(&Framing::ContentType {
            found: Some("application/json".into())
        }));
    }

    #[test]
    fn empty_success_body_is_an_empty_object() {
        let h = headers(&[("content-type", CONTENT_TYPE), ("x-amzn-requestid", "a")]);
        let r = parse_response(200, &h, b"");
        assert!(r.is_success());
        assert_eq!(r.body, serde_json::json!({}));
        assert!(r.error.is_none());
        assert!(r.framing.is_empty());
    }
}
