//! The forwarder: sends a request to the upstream and returns its answer, streaming.
//!
//! One pool of keep-alive connections (`pool.rs`) serves every request, over HTTP or HTTPS
//! (rustls; certificate verification on unless `--insecure-upstream`). Requests keep their method,
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

use crate::answer::{strip_hop_by_hop, ProxyBody};
use crate::classify::{sigv4_scope, Classified, Scope};
use crate::error::{Error, Result};
use crate::pool::{Pool, PoolError, UpstreamBody};
use crate::upstream::{Credentials, Upstream, UpstreamTrust};

use aws_smithy_runtime_api::client::identity::Identity;

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
    pool: Pool,
    upstream: Upstream,
    /// The upstream's authority, for requests that came without `Host` (HTTP/2).
    host: http::HeaderValue,
    /// [`Upstream::display`], made once: every recorded exchange names it.
    display: String,
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
        // As nginx's `keepalive 256`: a burst of clients may open more connections, but only
        // this many stay open once it is over.
        let pool = Pool::new(&upstream.uri, tls, POOL_IDLE, Duration::from_secs(60))
            .map_err(|e| Error::Config(format!("--upstream: {e}")))?;
        let host = upstream
            .uri
            .authority()
            .and_then(|a| http::HeaderValue::from_str(a.as_str()).ok())
            .ok_or_else(|| Error::Config("--upstream: no host".into()))?;
        let base_path = upstream.uri.path().trim_end_matches('/').to_string();
        let identity = match credentials {
            Some(c) if upstream.is_aws => Some(c.identity()),
            _ => None,
        };
        Ok(Forwarder {
            pool,
            display: upstream.display(),
            upstream,
            host,
            base_path,
            identity,
            timeout,
        })
    }

    /// The upstream as written in the cassette.
    pub fn upstream_display(&self) -> &str {
        &self.display
    }

    /// True when signed requests are re-signed (a real AWS upstream and credentials).
    pub fn resigns(&self) -> bool {
        self.identity.is_some()
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
    ) -> std::result::Result<http::Response<UpstreamBody>, ForwardError> {
        self.send_with(parts, parts.headers.clone(), class, body, body_bytes)
            .await
    }

    /// As [`Forwarder::send`], with the request's headers given: the passthrough moves them
    /// in rather than copying them.
    pub async fn send_with(
        &self,
        parts: &http::request::Parts,
        headers: http::HeaderMap,
        class: &Classified,
        body: ProxyBody,
        body_bytes: Option<&Bytes>,
    ) -> std::result::Result<http::Response<UpstreamBody>, ForwardError> {
        let req = self.build(parts, headers, class, body, body_bytes)?;
        match tokio::time::timeout(self.timeout, self.pool.send(req)).await {
            Err(_) => Err(ForwardError::Timeout),
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(PoolError::Connect(m))) => Err(ForwardError::Unreachable(m)),
            Ok(Err(PoolError::Http(e))) => Err(classify_error(&e)),
        }
    }

    /// How long to wait for an answer.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The request as it goes upstream: origin-form URI (the base path prepended), HTTP/1.1,
    /// hop-by-hop headers removed, `Host` as the client sent it (the upstream's when the client
    /// sent none, or for AWS).
    fn build(
        &self,
        parts: &http::request::Parts,
        mut headers: http::HeaderMap,
        class: &Classified,
        body: ProxyBody,
        body_bytes: Option<&Bytes>,
    ) -> std::result::Result<http::Request<ProxyBody>, ForwardError> {
        let uri = match parts.uri.path_and_query() {
            Some(pq) if self.base_path.is_empty() => http::Uri::from(pq.clone()),
            pq => format!(
                "{}{}",
                self.base_path,
                pq.map(|p| p.as_str()).unwrap_or("/")
            )
            .parse()
            .map_err(|e| ForwardError::Unreachable(format!("cannot build upstream URI: {e}")))?,
        };
        strip_hop_by_hop(&mut headers);
        if self.upstream.is_aws || !headers.contains_key(http::header::HOST) {
            headers.insert(http::header::HOST, self.host.clone());
        }
        let mut req = http::Request::new(body);
        *req.method_mut() = parts.method.clone();
        *req.uri_mut() = uri;
        *req.version_mut() = http::Version::HTTP_11;
        *req.headers_mut() = headers;

        if self.upstream.is_aws {
            if let (Some(identity), true) = (&self.identity, class.signed) {
                let empty = Bytes::new();
                let bytes = body_bytes.unwrap_or(&empty);
                let scope = req
                    .headers()
                    .get(http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(sigv4_scope);
                self.resign(&mut req, scope.as_ref(), bytes, identity)?;
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
fn classify_error(e: &hyper::Error) -> ForwardError {
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
            .build(
                &parts,
                parts.headers.clone(),
                &class,
                full(body.clone()),
                Some(&body),
            )
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
        assert_eq!(req.uri().to_string(), "/");
    }

    #[test]
    fn a_request_without_host_gets_the_upstreams() {
        // HTTP/2 clients send :authority, not Host; the upstream connection is HTTP/1.1.
        let upstream = Upstream::parse("http://127.0.0.1:5000").unwrap();
        let f = Forwarder::new(
            upstream,
            &UpstreamTrust::PublicRoots,
            None,
            Duration::from_secs(1),
        )
        .unwrap();
        let (parts, ()) = http::Request::builder()
            .method("POST")
            .uri("http://127.0.0.1:4566/?x=1")
            .version(http::Version::HTTP_2)
            .body(())
            .unwrap()
            .into_parts();
        let class = classify(&parts.method, &parts.headers);
        let req = f
            .build(&parts, parts.headers.clone(), &class, empty(), None)
            .unwrap();
        assert_eq!(req.uri().to_string(), "/?x=1");
        assert_eq!(req.headers()["host"], "127.0.0.1:5000");
        assert_eq!(req.version(), http::Version::HTTP_11);
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
        let req = f
            .build(&parts, parts.headers.clone(), &class, empty(), None)
            .unwrap();
        assert_eq!(req.uri().to_string(), "/prefix/a?b=c");
        assert_eq!(req.headers()["host"], "127.0.0.1:4566");
        assert!(req.headers()["authorization"]
            .to_str()
            .unwrap()
            .contains("Credential=A/"));
        assert!(!req.headers().contains_key("connection"));
    }
}
