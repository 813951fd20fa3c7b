//! The forwarder: sends a request to the upstream and returns its answer, streaming.
//!
//! One pooled hyper client (keep-alive) serves every request, over HTTP or HTTPS (rustls;
//! certificate verification on unless `--insecure-upstream`). Requests keep their method,
//! path, headers and body; only hop-by-hop headers go, and the HTTP version becomes 1.1 towards
//! the upstream whatever the client spoke.
//!
//! Towards real AWS (`*.amazonaws.com`), the `Host` header becomes the upstream's, and a request
//! that arrived signed is re-signed with the proxy's own credentials, keeping the region and
//! service of the client's signature (its credential scope). An unsigned request (the
//! operations Cognito serves without SigV4, such as `InitiateAuth`) goes unchanged. Emulator
//! upstreams get requests exactly as they came, `Host` and signature included, so an emulator
//! that checks signatures still can.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::answer::{strip_hop_by_hop, ProxyBody};
use crate::classify::{Classified, Scope};
use crate::error::Result;
use crate::upstream::{Credentials, Upstream, UpstreamTrust};

use aws_smithy_runtime_api::client::identity::Identity;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, ProxyBody>;

/// Idle keep-alive connections kept to the upstream.
const POOL_IDLE: usize = 256;

/// Why a request did not get an answer from the upstream.
#[derive(Debug)]
pub enum ForwardError {
    /// Refused, unreachable, reset, or a broken answer.
    Unreachable(String),
    /// No answer within the timeout.
    Timeout,
    /// The request body grew past the limit while streaming.
    TooLarge,
}

/// Sends requests to one upstream.
pub struct Forwarder {
    client: HttpsClient,
    upstream: Upstream,
    base_path: String,
    identity: Option<Identity>,
    timeout: Duration,
}

impl Forwarder {
    /// A forwarder to `upstream`. `credentials` are used only for a real AWS upstream.
    pub fn new(
        upstream: Upstream,
        trust: &UpstreamTrust,
        credentials: Option<&Credentials>,
        timeout: Duration,
    ) -> Result<Forwarder> {
        let tls = crate::tls::upstream(trust)?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            // As nginx's `keepalive 256`: a burst of clients may open more connections, but
            // only this many stay open once it is over.
            .pool_max_idle_per_host(POOL_IDLE)
            .build(https);
        let base_path = upstream.uri.path().trim_end_matches('/').to_string();
        let identity = match credentials {
            Some(c) if upstream.is_aws => Some(c.identity()),
            _ => None,
        };
        Ok(Forwarder {
            client,
            upstream,
            base_path,
            identity,
            timeout,
        })
    }

    /// The upstream as written in the cassette.
    pub fn upstream_display(&self) -> String {
        self.upstream.display()
    }

    /// True when this request must be buffered before forwarding: re-signing covers the body.
    pub fn needs_body(&self, class: &Classified) -> bool {
        self.identity.is_some() && class.signed
    }

    /// Forwards a request. `body_bytes` is the buffered body when there is one (required for
    /// re-signing); `body` is what is sent.
    pub async fn send(
        &self,
        parts: &http::request::Parts,
        class: &Classified,
        body: ProxyBody,
        body_bytes: Option<&Bytes>,
    ) -> std::result::Result<http::Response<Incoming>, ForwardError> {
        let req = self.build(parts, class, body, body_bytes)?;
        match tokio::time::timeout(self.timeout, self.client.request(req)).await {
            Err(_) => Err(ForwardError::Timeout),
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => Err(classify_error(&e)),
        }
    }

    /// How long to wait for an answer.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn build(
        &self,
        parts: &http::request::Parts,
        class: &Classified,
        body: ProxyBody,
        body_bytes: Option<&Bytes>,
    ) -> std::result::Result<http::Request<ProxyBody>, ForwardError> {
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let uri = http::Uri::builder()
            .scheme(self.upstream.uri.scheme_str().unwrap_or("http"))
            .authority(
                self.upstream
                    .uri
                    .authority()
                    .map(|a| a.as_str())
                    .unwrap_or_default(),
            )
            .path_and_query(format!("{}{}", self.base_path, path_and_query))
            .build()
            .map_err(|e| ForwardError::Unreachable(format!("cannot build upstream URI: {e}")))?;
        let mut headers = parts.headers.clone();
        strip_hop_by_hop(&mut headers);
        let mut req = http::Request::new(body);
        *req.method_mut() = parts.method.clone();
        *req.uri_mut() = uri;
        *req.version_mut() = http::Version::HTTP_11;
        *req.headers_mut() = headers;

        if self.upstream.is_aws {
            if let Some(authority) = self.upstream.uri.authority() {
                if let Ok(v) = http::HeaderValue::from_str(authority.as_str()) {
                    req.headers_mut().insert(http::header::HOST, v);
                }
            }
            if let (Some(identity), true) = (&self.identity, class.signed) {
                let empty = Bytes::new();
                let bytes = body_bytes.unwrap_or(&empty);
                self.resign(&mut req, class.scope.as_ref(), bytes, identity)?;
            }
        }
        Ok(req)
    }

    fn resign(
        &self,
        req: &mut http::Request<ProxyBody>,
        scope: Option<&Scope>,
        body: &[u8],
        identity: &Identity,
    ) -> std::result::Result<(), ForwardError> {
        for h in [
            "authorization",
            "x-amz-date",
            "x-amz-security-token",
            "x-amz-content-sha256",
        ] {
            req.headers_mut().remove(h);
        }
        let host = self.upstream.uri.host().unwrap_or_default();
        let (region, service) = match scope {
            Some(s) => (s.region.clone(), s.service.clone()),
            // cognito-idp.REGION.amazonaws.com
            None => (
                host.split('.').nth(1).unwrap_or("us-east-1").to_string(),
                cogcheck::model::Model::get().metadata.signing_name.clone(),
            ),
        };
        // The signer reads headers and URI only; sign a body-less twin and copy its headers.
        let mut twin = http::Request::new(());
        *twin.method_mut() = req.method().clone();
        *twin.uri_mut() = req.uri().clone();
        *twin.headers_mut() = req.headers().clone();
        twin.headers_mut().remove(http::header::CONTENT_LENGTH);
        cogcheck::protocol::sigv4::sign_request(
            &mut twin,
            body,
            identity,
            &region,
            &service,
            SystemTime::now(),
        )
        .map_err(|e| ForwardError::Unreachable(format!("cannot re-sign for {host}: {e}")))?;
        let content_length = req.headers().get(http::header::CONTENT_LENGTH).cloned();
        *req.headers_mut() = twin.headers().clone();
        if let Some(cl) = content_length {
            req.headers_mut().insert(http::header::CONTENT_LENGTH, cl);
        }
        Ok(())
    }
}

/// Turns a client error into what the client is told.
fn classify_error(e: &hyper_util::client::legacy::Error) -> ForwardError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return ForwardError::TooLarge;
        }
        message = format!("{message}: {s}");
        source = s.source();
    }
    ForwardError::Unreachable(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::full;
    use crate::classify::classify;

    fn empty() -> ProxyBody {
        full(Bytes::new())
    }

    #[test]
    fn resigns_for_aws_with_the_clients_scope() {
        let upstream = Upstream::parse("https://cognito-idp.eu-west-1.amazonaws.com").unwrap();
        let creds = Credentials {
            access_key_id: "AKIDPROXY".into(),
            secret_access_key: "secret".into(),
            session_token: Some("session".into()),
        };
        let f = Forwarder::new(
            upstream,
            &UpstreamTrust::PublicRoots,
            Some(&creds),
            Duration::from_secs(1),
        )
        .unwrap();
        let (parts, ()) = http::Request::builder()
            .method("POST")
            .uri("/")
            .header("host", "127.0.0.1:4566")
            .header("x-amz-target", "AWSCognitoIdentityProviderService.ListUserPools")
            .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIDCLIENT/20240101/eu-west-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=00")
            .header("x-amz-date", "20240101T000000Z")
            .header("content-length", "2")
            .body(())
            .unwrap()
            .into_parts();
        let class = classify(&parts.method, &parts.headers);
        assert!(f.needs_body(&class));
        let body = Bytes::from_static(b"{}");
        let req = f
            .build(&parts, &class, full(body.clone()), Some(&body))
            .unwrap();
        let h = req.headers();
        assert_eq!(h["host"], "cognito-idp.eu-west-1.amazonaws.com");
        let auth = h["authorization"].to_str().unwrap();
        assert!(
            auth.contains("Credential=AKIDPROXY/") && auth.contains("/eu-west-1/cognito-idp/"),
            "{auth}"
        );
        assert_eq!(h["x-amz-security-token"], "session");
        assert_eq!(h["content-length"], "2");
        assert_eq!(
            req.uri().to_string(),
            "https://cognito-idp.eu-west-1.amazonaws.com/"
        );
    }

    #[test]
    fn emulators_get_requests_as_they_came() {
        let upstream = Upstream::parse("http://127.0.0.1:5000/prefix/").unwrap();
        let f = Forwarder::new(
            upstream,
            &UpstreamTrust::PublicRoots,
            None,
            Duration::from_secs(1),
        )
        .unwrap();
        let (parts, ()) = http::Request::builder()
            .method("POST")
            .uri("/a?b=c")
            .header("host", "127.0.0.1:4566")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=A/1/r/s/aws4_request",
            )
            .header("connection", "keep-alive")
            .body(())
            .unwrap()
            .into_parts();
        let class = classify(&parts.method, &parts.headers);
        assert!(!f.needs_body(&class));
        let req = f.build(&parts, &class, empty(), None).unwrap();
        assert_eq!(req.uri().to_string(), "http://127.0.0.1:5000/prefix/a?b=c");
        assert_eq!(req.headers()["host"], "127.0.0.1:4566");
        assert!(req.headers()["authorization"]
            .to_str()
            .unwrap()
            .contains("Credential=A/"));
        assert!(!req.headers().contains_key("connection"));
    }
}
