//! Classification: what a request is, decided once so later layers never re-parse headers.
//!
//! An API call is `POST` with an `X-Amz-Target` header. Everything else (the JWKS document at
//! `/{UserPoolId}/.well-known/jwks.json`, the hosted UI's OAuth endpoints, health probes) is
//! "not an API call" and passes through untouched. An API call may still name an action the
//! model does not know (a newer API, a typo, another service): it is forwarded all the same,
//! because the upstream, not the proxy, decides what is a valid action.

use cogcheck::model::{Model, Operation};
use cogcheck::wire;

/// What kind of request this is.
#[derive(Debug, Clone)]
pub enum RequestKind {
    /// A Cognito User Pools action the model knows.
    Known {
        /// The action (`CreateUserPool`), borrowed from the model.
        action: &'static str,
        /// Its operation in the model.
        operation: &'static Operation,
    },
    /// An `X-Amz-Target` the model does not know (not a Cognito target, or an unknown action).
    UnknownTarget {
        /// The header value, lossy UTF-8.
        target: String,
    },
    /// Not an API call.
    NotApi,
}

/// The SigV4 credential scope of a signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Signing region (`us-east-1`).
    pub region: String,
    /// Signing service (`cognito-idp`).
    pub service: String,
}

/// A request, classified.
#[derive(Debug, Clone)]
pub struct Classified {
    /// API call or not.
    pub kind: RequestKind,
    /// True when the request carries an `Authorization` header (its SigV4 scope is read
    /// only by re-signing, with [`sigv4_scope`]).
    pub signed: bool,
}

impl Classified {
    /// The action for known calls, for the cassette and the replay index.
    pub fn action(&self) -> Option<&str> {
        match &self.kind {
            RequestKind::Known { action, .. } => Some(action),
            RequestKind::UnknownTarget { .. } | RequestKind::NotApi => None,
        }
    }

    /// The label under which statistics are kept. Unknown targets share one label so that
    /// garbage on the wire cannot grow the statistics without bound.
    pub fn stats_label(&self) -> &str {
        match &self.kind {
            RequestKind::Known { action, .. } => action,
            RequestKind::UnknownTarget { .. } => "(unknown target)",
            RequestKind::NotApi => "(not an API call)",
        }
    }

    /// True for API calls, known or not.
    pub fn is_api(&self) -> bool {
        match self.kind {
            RequestKind::Known { .. } | RequestKind::UnknownTarget { .. } => true,
            RequestKind::NotApi => false,
        }
    }

    /// The model's input and output shapes, for known actions.
    pub fn shapes(&self) -> (Option<&'static str>, Option<&'static str>) {
        match &self.kind {
            RequestKind::Known { operation, .. } => {
                (operation.input.as_deref(), operation.output.as_deref())
            }
            RequestKind::UnknownTarget { .. } | RequestKind::NotApi => (None, None),
        }
    }
}

/// Classifies a request from its method and headers. Allocates nothing for a known action.
pub fn classify(method: &http::Method, headers: &http::HeaderMap) -> Classified {
    let signed = headers.contains_key(http::header::AUTHORIZATION);
    let kind = match headers.get(wire::TARGET_HEADER) {
        Some(target) if method == http::Method::POST => {
            let text = String::from_utf8_lossy(target.as_bytes());
            match wire::action_from_target(&text)
                .and_then(|a| Model::get().operations.get_key_value(a))
            {
                Some((action, operation)) => RequestKind::Known {
                    action: action.as_str(),
                    operation,
                },
                None => RequestKind::UnknownTarget {
                    target: text.into_owned(),
                },
            }
        }
        Some(_) | None => RequestKind::NotApi,
    };
    Classified { kind, signed }
}

/// Reads region and service from
/// `AWS4-HMAC-SHA256 Credential=AKID/20231114/us-east-1/cognito-idp/aws4_request, ...`.
pub fn sigv4_scope(authorization: &str) -> Option<Scope> {
    let rest = authorization.strip_prefix("AWS4-HMAC-SHA256")?;
    let credential = rest
        .split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("Credential="))?;
    let mut parts = credential.rsplit('/');
    let terminator = parts.next()?;
    let service = parts.next()?;
    let region = parts.next()?;
    (terminator == "aws4_request" && !service.is_empty() && !region.is_empty()).then(|| Scope {
        region: region.to_string(),
        service: service.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn c_auth() -> &'static str {
        "AWS4-HMAC-SHA256 Credential=AKID/20231114/eu-west-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=00"
    }

    #[test]
    fn known_action_signed() {
        let c = classify(
            &http::Method::POST,
            &headers(&[
                (
                    "x-amz-target",
                    "AWSCognitoIdentityProviderService.CreateUserPool",
                ),
                ("authorization", c_auth()),
            ]),
        );
        assert_eq!(c.action(), Some("CreateUserPool"));
        assert!(c.signed);
        let auth = c_auth();
        assert_eq!(
            sigv4_scope(auth),
            Some(Scope {
                region: "eu-west-1".into(),
                service: "cognito-idp".into()
            })
        );
        assert!(!matches!(c.kind, RequestKind::Known { operation, .. } if operation.unsigned));
    }

    #[test]
    fn unknown_and_foreign_targets() {
        for t in [
            "AWSCognitoIdentityProviderService.MakeCoffee",
            "DynamoDB_20120810.GetItem",
            "AWSCognitoIdentityProviderService.",
        ] {
            let c = classify(&http::Method::POST, &headers(&[("x-amz-target", t)]));
            assert!(
                matches!(c.kind, RequestKind::UnknownTarget { .. }),
                "{t}: {c:?}"
            );
            assert_eq!(c.stats_label(), "(unknown target)");
            assert!(!c.signed);
        }
    }

    #[test]
    fn non_api_requests() {
        let c = classify(&http::Method::GET, &headers(&[]));
        assert!(matches!(c.kind, RequestKind::NotApi));
        // A GET with a target header is still not an API call.
        let c = classify(
            &http::Method::GET,
            &headers(&[(
                "x-amz-target",
                "AWSCognitoIdentityProviderService.ListUserPools",
            )]),
        );
        assert!(!c.is_api());
    }

    #[test]
    fn scope_parsing_never_panics_on_garbage() {
        for bad in [
            "",
            "Bearer x",
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 Credential=",
            "AWS4-HMAC-SHA256 Credential=a/b",
            "AWS4-HMAC-SHA256 Credential=//aws4_request",
        ] {
            assert_eq!(sigv4_scope(bad), None, "{bad}");
        }
    }
}
