//! Bodies, and the answers the proxy makes itself.
//!
//! Every answer the proxy makes is AWS-shaped (awsJson1_1): a JSON body with `__type` and
//! `message`, the `x-amzn-ErrorType` header, `Content-Type: application/x-amz-json-1.1` and an
//! `x-amzn-RequestId`, so SDKs decode it like any Cognito error. The type names start with
//! `Cogcheck` so nobody mistakes them for Cognito's own.
//!
//! | status | `__type` | when | SDK behaviour |
//! |---|---|---|---|
//! | 400 | `CogcheckReplayMissException` | replay found no recorded request | not retried |
//! | 400 | `CogcheckRequestTooLargeException` | body larger than `--max-body` | not retried |
//! | 502 | `CogcheckUpstreamUnreachableException` | upstream refused or unreachable | retried |
//! | 504 | `CogcheckUpstreamTimeoutException` | no answer within `--upstream-timeout` | retried |
//!
//! An unreachable upstream answers a retryable 5xx on purpose: against Cognito itself an SDK
//! would see a connection error and retry, then fail; a 502 gives the same retries and then
//! an error message naming the upstream. A replay miss is a 400 because retrying cannot help.

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};

/// Errors carried by bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The one body type of the proxy: streamed from a peer, or buffered.
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// A buffered body.
pub fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// The kinds of answer the proxy makes itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyError {
    /// No recorded request matches.
    ReplayMiss,
    /// The request body is larger than the limit.
    RequestTooLarge,
    /// The upstream refused the connection or could not be reached.
    UpstreamUnreachable,
    /// The upstream did not answer in time.
    UpstreamTimeout,
}

impl ProxyError {
    /// The `__type` sent.
    pub fn error_type(self) -> &'static str {
        match self {
            ProxyError::ReplayMiss => cogcheck::wire::REPLAY_MISS_ERROR,
            ProxyError::RequestTooLarge => "CogcheckRequestTooLargeException",
            ProxyError::UpstreamUnreachable => "CogcheckUpstreamUnreachableException",
            ProxyError::UpstreamTimeout => "CogcheckUpstreamTimeoutException",
        }
    }

    /// The HTTP status sent.
    pub fn status(self) -> http::StatusCode {
        match self {
            ProxyError::ReplayMiss | ProxyError::RequestTooLarge => http::StatusCode::BAD_REQUEST,
            ProxyError::UpstreamUnreachable => http::StatusCode::BAD_GATEWAY,
            ProxyError::UpstreamTimeout => http::StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The `error.kind` written to the cassette.
    pub fn kind(self) -> &'static str {
        match self {
            ProxyError::ReplayMiss => "replay_miss",
            ProxyError::RequestTooLarge => "request_too_large",
            ProxyError::UpstreamUnreachable => "upstream_unreachable",
            ProxyError::UpstreamTimeout => "upstream_timeout",
        }
    }
}

/// A buffered answer: what the recorder and the replayer handle.
#[derive(Debug, Clone)]
pub struct BufferedResponse {
    /// Status.
    pub status: http::StatusCode,
    /// Headers.
    pub headers: http::HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl BufferedResponse {
    /// The AWS-shaped answer for a proxy-made error.
    pub fn proxy_error(kind: ProxyError, message: &str) -> BufferedResponse {
        let body = serde_json::json!({ "__type": kind.error_type(), "message": message });
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(cogcheck::wire::CONTENT_TYPE),
        );
        headers.insert(
            cogcheck::wire::ERROR_TYPE_HEADER,
            http::HeaderValue::from_static(kind.error_type()),
        );
        headers.insert(cogcheck::wire::REQUEST_ID_HEADER, request_id());
        BufferedResponse {
            status: kind.status(),
            headers,
            body: Bytes::from(body.to_string()),
        }
    }

    /// Into an HTTP response.
    pub fn into_response(self) -> http::Response<ProxyBody> {
        let mut resp = http::Response::new(full(self.body));
        *resp.status_mut() = self.status;
        *resp.headers_mut() = self.headers;
        resp
    }
}

/// A fresh request id for answers the proxy makes (a UUID v4 shape, as Cognito's are).
pub fn request_id() -> http::HeaderValue {
    let b: [u8; 16] = rand::random();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let id = format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    );
    // Only hex digits and dashes: always a valid header value.
    http::HeaderValue::from_str(&id).unwrap_or(http::HeaderValue::from_static("cogcheck"))
}

/// Hop-by-hop headers (RFC 9110 section 7.6.1) are for one connection only and are never
/// forwarded, recorded or replayed.
pub fn strip_hop_by_hop(headers: &mut http::HeaderMap) {
    use http::header::{
        CONNECTION, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE, TRAILER, TRANSFER_ENCODING,
        UPGRADE,
    };
    // Named constants: removing by `&str` would parse and hash each name on every request.
    const KEEP_ALIVE: http::HeaderName = http::HeaderName::from_static("keep-alive");
    const PROXY_CONNECTION: http::HeaderName = http::HeaderName::from_static("proxy-connection");
    // Headers named in `Connection` are hop-by-hop too.
    if headers.contains_key(CONNECTION) {
        let named: Vec<http::HeaderName> = headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|n| http::HeaderName::from_bytes(n.trim().as_bytes()).ok())
            .collect();
        for n in named {
            headers.remove(n);
        }
    }
    for n in [
        CONNECTION,
        KEEP_ALIVE,
        PROXY_CONNECTION,
        PROXY_AUTHENTICATE,
        PROXY_AUTHORIZATION,
        TE,
        TRAILER,
        TRANSFER_ENCODING,
        UPGRADE,
    ] {
        headers.remove(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_errors_parse_as_cognito_errors() {
        for kind in [
            ProxyError::ReplayMiss,
            ProxyError::RequestTooLarge,
            ProxyError::UpstreamUnreachable,
            ProxyError::UpstreamTimeout,
        ] {
            let r = BufferedResponse::proxy_error(kind, "why");
            let parsed = cogcheck::wire::parse_response(r.status.as_u16(), &r.headers, &r.body);
            assert!(parsed.framing.is_empty(), "{:?}", parsed.framing);
            let e = parsed.error.unwrap();
            assert_eq!(e.error_type, kind.error_type());
            assert_eq!(e.message.as_deref(), Some("why"));
        }
    }

    #[test]
    fn hop_by_hop_headers_go() {
        let mut h = http::HeaderMap::new();
        h.insert("connection", "close, x-private".parse().unwrap());
        h.insert("x-private", "1".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("x-amz-target", "t".parse().unwrap());
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-amz-target"));
    }
}
