//! `kind = "error"`: a Cognito error with the wire shape of a real one.
//!
//! ```text
//! HTTP/1.1 400 Bad Request
//! Content-Type: application/x-amz-json-1.1
//! x-amzn-RequestId: 5f0b6a4e-...
//! x-amzn-ErrorType: TooManyRequestsException:
//! x-amzn-ErrorMessage: Rate exceeded
//!
//! {"__type":"TooManyRequestsException","message":"Rate exceeded"}
//! ```
//!
//! The status is 400 for client errors and 500 for server faults (`InternalErrorException`),
//! as Cognito sends them whatever the model's `httpStatusCode` trait says; a rule may set
//! another (`status = 429` to see how SDKs treat a throttle with that status). An error the
//! operation does not declare in the model is injected only when the rule says `force = true`;
//! otherwise the rule simply does not apply to that operation.

use bytes::Bytes;
use cogcheck::model::{Model, Operation};
use serde::{Deserialize, Serialize};

use super::FieldProblem;
use crate::answer::BufferedResponse;

/// A modeled Cognito error.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CognitoError {
    /// The error's `__type`, e.g. `TooManyRequestsException`.
    pub error: String,
    /// The HTTP status; by default 400, or 500 for a server fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The message; by default one Cognito sends for this error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Inject the error even where the operation does not declare it (or the model does not
    /// know it at all).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
}

impl CognitoError {
    /// Checks the error is one the model knows (unless forced) and the status is an error.
    pub fn validate(&self) -> Result<(), FieldProblem> {
        let known = Model::get().shape(&self.error).is_some_and(|s| s.exception);
        if !known && !self.force {
            return Err((
                "error".into(),
                format!(
                    "`{}` is not an error of the cognito-idp model (e.g. TooManyRequestsException, \
                     NotAuthorizedException, InternalErrorException); set `force = true` to send it anyway",
                    self.error
                ),
            ));
        }
        if self.error.is_empty() || !self.error.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err((
                "error".into(),
                "an error name is letters and digits only".into(),
            ));
        }
        if let Some(s) = self.status {
            if !(400..=599).contains(&s) {
                return Err((
                    "status".into(),
                    format!("{s} is not an error status (400-599)"),
                ));
            }
        }
        Ok(())
    }

    /// True when this error may be injected into `operation`.
    pub fn applies_to(&self, operation: &Operation) -> bool {
        self.force || operation.errors.iter().any(|e| e == &self.error)
    }

    /// The status sent.
    pub fn status(&self) -> u16 {
        self.status.unwrap_or_else(|| {
            if Model::get().shape(&self.error).is_some_and(|s| s.fault) {
                500
            } else {
                400
            }
        })
    }

    /// The answer.
    pub fn answer(&self, request_id: &http::HeaderValue) -> BufferedResponse {
        let message = self
            .message
            .clone()
            .unwrap_or_else(|| default_message(&self.error).to_string());
        cognito_error(&self.error, self.status(), &message, request_id)
    }
}

/// A Cognito error answer: body, `Content-Type`, `x-amzn-ErrorType`, `x-amzn-ErrorMessage`,
/// `x-amzn-RequestId`.
pub fn cognito_error(
    error: &str,
    status: u16,
    message: &str,
    request_id: &http::HeaderValue,
) -> BufferedResponse {
    let body = serde_json::json!({ "__type": error, "message": message });
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(cogcheck::wire::CONTENT_TYPE),
    );
    headers.insert(cogcheck::wire::REQUEST_ID_HEADER, request_id.clone());
    if let Ok(v) = http::HeaderValue::from_str(&format!("{error}:")) {
        headers.insert(cogcheck::wire::ERROR_TYPE_HEADER, v);
    }
    // A message a header cannot carry (non-ASCII) is sent in the body only.
    if let Ok(v) = http::HeaderValue::from_str(message) {
        headers.insert("x-amzn-errormessage", v);
    }
    BufferedResponse {
        status: http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST),
        headers,
        body: Bytes::from(body.to_string()),
    }
}

/// Messages Cognito sends for its common errors (as seen in SDK error reports); a generic one
/// for the rest.
pub fn default_message(error: &str) -> &'static str {
    match error {
        // boto/boto3#2517, aws-amplify/amplify-js#3554: "... AdminGetUser operation: Rate exceeded"
        "TooManyRequestsException" => "Rate exceeded",
        "NotAuthorizedException" => "Incorrect username or password.",
        "UserNotFoundException" => "User does not exist.",
        "UserNotConfirmedException" => "User is not confirmed.",
        "UsernameExistsException" => "An account with the given email already exists.",
        "PasswordResetRequiredException" => "Password reset required for the user",
        "LimitExceededException" => "Attempt limit exceeded, please try after some time.",
        "CodeMismatchException" => "Invalid verification code provided, please try again.",
        "ExpiredCodeException" => "Invalid code provided, please request a code again.",
        "TooManyFailedAttemptsException" => "Too many failed attempts.",
        "InvalidPasswordException" => {
            "Password did not conform with policy: Password not long enough"
        }
        "ResourceNotFoundException" => "User pool client does not exist.",
        "InvalidParameterException" => "1 validation error detected",
        "InternalErrorException" | "InternalServerException" => "Internal server error.",
        "CodeDeliveryFailureException" => "Unable to deliver the verification code.",
        "AliasExistsException" => "An account with the given email already exists.",
        _ => "An error occurred.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_as_the_cognito_error_they_claim() {
        for (name, status) in [
            ("TooManyRequestsException", 400),
            ("InternalErrorException", 500),
            ("NotAuthorizedException", 400),
        ] {
            let e = CognitoError {
                error: name.into(),
                status: None,
                message: None,
                force: false,
            };
            e.validate().unwrap();
            let r = e.answer(&http::HeaderValue::from_static("rid"));
            assert_eq!(r.status.as_u16(), status);
            assert_eq!(r.headers["x-amzn-errortype"], format!("{name}:").as_str());
            assert_eq!(r.headers["x-amzn-requestid"], "rid");
            let parsed = cogcheck::wire::parse_response(status, &r.headers, &r.body);
            assert_eq!(parsed.error.unwrap().error_type, name);
        }
    }

    #[test]
    fn unknown_errors_need_force() {
        let mut e = CognitoError {
            error: "CoffeeSpilledException".into(),
            status: None,
            message: None,
            force: false,
        };
        let (field, message) = e.validate().unwrap_err();
        assert_eq!(field, "error");
        assert!(message.contains("force"), "{message}");
        e.force = true;
        e.validate().unwrap();
        let op = Model::get().operation("ListUserPools").unwrap();
        assert!(e.applies_to(op));
        let e = CognitoError {
            error: "UserNotFoundException".into(),
            status: None,
            message: None,
            force: false,
        };
        assert!(!e.applies_to(op));
    }
}
