//! The checks every answer gets from the model, whatever the scenario expects of it.
//!
//! - A success body must conform to the operation's output shape.
//! - An error must be one the operation declares (or one of the errors common to all AWS
//!   APIs), carried as awsJson1_1 says: a JSON body with its type, the right content type, a
//!   request id, a 4xx status for client errors and a 5xx status for server faults.

use crate::model::{Model, Rule};
use crate::wire::{Finding, Response};

/// Errors any AWS API may return although the operation does not list them, from the AWS
/// "Common Errors" reference (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/CommonErrors.html).
pub const COMMON_ERRORS: &[&str] = &[
    "AccessDeniedException",
    "IncompleteSignature",
    "InternalFailure",
    "InvalidAction",
    "InvalidClientTokenId",
    "InvalidParameterCombination",
    "InvalidParameterValue",
    "InvalidQueryParameter",
    "MalformedQueryString",
    "MissingAction",
    "MissingAuthenticationToken",
    "MissingParameter",
    "NotAuthorized",
    "OptInRequired",
    "RequestExpired",
    "ServiceUnavailable",
    "ThrottlingException",
    "ValidationError",
    "ValidationException",
    "UnrecognizedClientException",
];

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

/// One failed model or protocol check.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Violation {
    /// `model` for shape conformance, `protocol` for the transport.
    pub check: &'static str,
    /// The JSON path, or `-` for the transport.
    pub path: String,
    /// What rule was broken.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} check: {}: {}", self.check, self.path, self.message)
    }
}

/// True when the answer itself says the endpoint does not implement the action. (moto answers
/// a bare HTML 500 and says so only in its log; see `run::said_not_implemented`.)
pub fn is_unsupported(response: &Response) -> bool {
    match &response.error {
        Some(e) if UNSUPPORTED_ERRORS.contains(&e.error_type.as_str()) => true,
        // moto answers an action it lacks with a bare 404/501; so do generic HTTP servers.
        Some(_) | None => matches!(response.status, 404 | 501) && !response.is_success(),
    }
}

/// Checks an answer to `action` against the model and the protocol: required members, types
/// and enum values of a success body; the declaration, status and framing of an error.
pub fn check_response(model: &Model, action: &str, response: &Response) -> Vec<Violation> {
    let mut out = Vec::new();
    for f in &response.findings {
        out.push(Violation {
            check: "protocol",
            path: "-".into(),
            message: f.to_string(),
        });
    }
    let Ok(op) = model.operation(action) else {
        return out;
    };
    match &response.error {
        None => {
            if response
                .findings
                .iter()
                .any(|f| matches!(f, Finding::BodyNotJsonObject { .. }))
            {
                return out;
            }
            if let Some(shape) = &op.output {
                for v in model.validate(shape, &response.body) {
                    // Length, range and pattern traits constrain what a caller may send; AWS
                    // does not hold its own answers to them, and the SDKs never check them on
                    // output. Real Cognito returns the schema attribute `phone_number_verified`
                    // (21 characters) where the shape allows 20, and a CloudFrontDomain such as
                    // `d111111abcdef8.cloudfront.net` in a shape whose pattern has no dots.
                    // Unknown members are allowed because AWS adds members over time.
                    if matches!(
                        v.rule,
                        Rule::UnknownMember { .. }
                            | Rule::TooShort { .. }
                            | Rule::TooLong { .. }
                            | Rule::BelowMin { .. }
                            | Rule::AboveMax { .. }
                            | Rule::PatternMismatch { .. }
                    ) {
                        continue;
                    }
                    out.push(Violation {
                        check: "model",
                        path: v.path.clone(),
                        message: v.to_string(),
                    });
                }
            }
        }
        Some(e) => {
            let declared = op.errors.iter().any(|x| x == &e.error_type)
                || COMMON_ERRORS.contains(&e.error_type.as_str());
            if !declared {
                out.push(Violation {
                    check: "model",
                    path: "$.__type".into(),
                    message: format!("`{}` is not an error {action} declares", e.error_type),
                });
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
                    out.push(Violation {
                        check: "protocol",
                        path: "-".into(),
                        message: format!(
                            "`{}` came with status {}, expected {}",
                            e.error_type,
                            response.status,
                            expected_status
                                .map_or(format!("{expected_class}xx"), |s| s.to_string())
                        ),
                    });
                }
            }
        }
    }
    out
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
        assert!(check_response(m, "DescribeUserPool", &ok).is_empty());
        let bad = resp(400, r#"{"__type":"UsernameExistsException","message":"x"}"#);
        let v = check_response(m, "DescribeUserPool", &bad);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].message.contains("UsernameExistsException"));
    }

    #[test]
    fn internal_errors_must_be_5xx() {
        let m = Model::get();
        let wrong = resp(400, r#"{"__type":"InternalErrorException","message":"x"}"#);
        assert!(check_response(m, "DescribeUserPool", &wrong)
            .iter()
            .any(|v| v.message.contains("status 400")));
        let right = resp(500, r#"{"__type":"InternalErrorException","message":"x"}"#);
        assert!(check_response(m, "DescribeUserPool", &right).is_empty());
    }

    #[test]
    fn success_bodies_are_validated_against_the_output_shape() {
        let m = Model::get();
        let v = check_response(m, "CreateGroup", &resp(200, r#"{"Group":{"GroupName":5}}"#));
        assert!(v.iter().any(|v| v.path.contains("GroupName")), "{v:?}");
        assert!(check_response(
            m,
            "CreateGroup",
            &resp(200, r#"{"Group":{"GroupName":"g"}}"#)
        )
        .is_empty());
    }

    #[test]
    fn input_constraints_are_not_applied_to_answers() {
        // What real Cognito sends: a 21-character schema attribute name and a CloudFront domain.
        let m = Model::get();
        let body = r#"{"UserPool":{"SchemaAttributes":[{"Name":"phone_number_verified"}]}}"#;
        assert!(check_response(m, "DescribeUserPool", &resp(200, body)).is_empty());
        let body = r#"{"CloudFrontDomain":"d111111abcdef8.cloudfront.net"}"#;
        assert!(check_response(m, "CreateUserPoolDomain", &resp(200, body)).is_empty());
        // Enum values still count: an emulator inventing one is a deviation.
        let body = r#"{"UserPool":{"MfaConfiguration":"MAYBE"}}"#;
        assert_eq!(
            check_response(m, "DescribeUserPool", &resp(200, body)).len(),
            1
        );
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
