//! A client for the Cognito User Pools API over HTTP or HTTPS.
//!
//! Signed operations carry SigV4 for service `cognito-idp` (signed by
//! [`crate::protocol::sigv4`], the workspace's one signer); the operations the model marks unsigned are sent without
//! `Authorization`, as the AWS SDKs send them. HTTPS uses rustls with the Mozilla root store.

use std::time::{Duration, SystemTime};

use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::Model;
use crate::protocol::sigv4::{sign_request, Credentials};
use crate::wire::{self, Response};

/// How to reach an endpoint and who to be there.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `http://127.0.0.1:5000` or `https://cognito-idp.us-east-1.amazonaws.com`.
    pub endpoint: String,
    /// The signing region.
    pub region: String,
    /// Who to sign as (`Debug` hides the secret).
    pub credentials: Credentials,
    /// How long one request may take, connect to last byte.
    pub timeout: Duration,
}

impl ClientConfig {
    /// A configuration for a local emulator: harmless credentials, `us-east-1`.
    pub fn local(endpoint: impl Into<String>) -> Self {
        ClientConfig {
            endpoint: endpoint.into(),
            region: "us-east-1".into(),
            credentials: Credentials::emulator_default(),
            timeout: Duration::from_secs(30),
        }
    }
}

type HttpsClient =
    hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A Cognito User Pools client bound to one endpoint. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct Client {
    config: ClientConfig,
    uri: http::Uri,
    identity: Identity,
    http: HttpsClient,
    /// The scenario every request names ([`wire::SCENARIO_HEADER`]), if any.
    label: Option<http::HeaderValue>,
}

/// The raw parts of an answer, before protocol decoding.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: http::HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

impl Client {
    /// A client for `config.endpoint`. Fails on an endpoint that is not an absolute http(s) URL.
    pub fn new(config: ClientConfig) -> Result<Client> {
        let uri: http::Uri = config.endpoint.parse().map_err(|e| Error::Transport {
            endpoint: config.endpoint.clone(),
            message: format!("not a URL ({e}); expected something like http://127.0.0.1:5000"),
        })?;
        match (uri.scheme_str(), uri.authority()) {
            (Some("http" | "https"), Some(_)) => {}
            _ => {
                return Err(Error::Transport {
                    endpoint: config.endpoint.clone(),
                    message: "expected an absolute http:// or https:// URL".into(),
                })
            }
        }
        // rustls needs a process-wide crypto provider; installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        let identity = config.credentials.identity();
        Ok(Client {
            config,
            uri,
            identity,
            http,
            label: None,
        })
    }

    /// This client (sharing its connections) with every request naming `scenario` in
    /// [`wire::SCENARIO_HEADER`]. A name that is not a valid header value is left out.
    pub fn labelled(&self, scenario: &str) -> Client {
        Client {
            label: http::HeaderValue::from_str(scenario).ok(),
            ..self.clone()
        }
    }

    /// The endpoint this client talks to.
    pub fn endpoint(&self) -> &str {
        &self.config.endpoint
    }

    /// Calls `action` with `input` and decodes the answer. Signs unless the model marks the
    /// action unsigned. An unknown action is refused before anything is sent.
    pub async fn call(&self, action: &str, input: &Value) -> Result<Response> {
        self.call_mapped(action, input, |raw| raw).await
    }

    /// [`Client::call`], with the raw answer passed through `map` before it is decoded: the
    /// narrow hook through which `cogcheck mutation` alters one answer in-process. `call`
    /// passes the identity, which the compiler removes, so an ordinary call pays nothing.
    pub async fn call_mapped(
        &self,
        action: &str,
        input: &Value,
        map: impl FnOnce(RawResponse) -> RawResponse,
    ) -> Result<Response> {
        let op = Model::get().operation(action)?;
        let body = serde_json::to_vec(input).map_err(|e| Error::Transport {
            endpoint: self.config.endpoint.clone(),
            message: format!("cannot encode input of {action}: {e}"),
        })?;
        let raw = map(self
            .call_raw(action, Bytes::from(body), !op.unsigned)
            .await?);
        Ok(wire::parse_response(raw.status, &raw.headers, &raw.body))
    }

    /// Sends `body` as `action` and returns the raw answer. `signed` decides SigV4.
    pub async fn call_raw(&self, action: &str, body: Bytes, signed: bool) -> Result<RawResponse> {
        let mut req = http::Request::builder()
            .method(http::Method::POST)
            .uri(self.uri.clone())
            .header(http::header::CONTENT_TYPE, wire::CONTENT_TYPE)
            .header(wire::TARGET_HEADER, wire::target_header(action))
            .body(Full::new(body.clone()))
            .map_err(|e| self.transport(format!("cannot build request: {e}")))?;
        if signed {
            self.sign(&mut req, &body, SystemTime::now())?;
        }
        self.send(req).await
    }

    /// GETs a path on the endpoint (for `/{UserPoolId}/.well-known/jwks.json`).
    pub async fn get(&self, path: &str) -> Result<RawResponse> {
        let base = self.config.endpoint.trim_end_matches('/');
        let uri: http::Uri = format!("{base}{path}")
            .parse()
            .map_err(|e| self.transport(format!("bad path {path}: {e}")))?;
        let req = http::Request::builder()
            .method(http::Method::GET)
            .uri(uri)
            .body(Full::new(Bytes::new()))
            .map_err(|e| self.transport(format!("cannot build request: {e}")))?;
        self.send(req).await
    }

    async fn send(&self, mut req: http::Request<Full<Bytes>>) -> Result<RawResponse> {
        // Added after signing: the label is not part of the request AWS authenticates.
        if let Some(label) = &self.label {
            req.headers_mut()
                .insert(wire::SCENARIO_HEADER, label.clone());
        }
        let fut = async {
            let resp = self.http.request(req).await.map_err(|e| {
                // The source chain holds the useful part ("connection refused").
                let mut msg = e.to_string();
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    msg = format!("{msg}: {s}");
                    src = s.source();
                }
                self.transport(format!(
                    "request failed: {msg} (is the endpoint running and reachable?)"
                ))
            })?;
            let (parts, body) = resp.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| self.transport(format!("reading the answer failed: {e}")))?
                .to_bytes();
            Ok(RawResponse {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.config.timeout, fut)
            .await
            .map_err(|_| self.transport(format!("no answer within {:?}", self.config.timeout)))?
    }

    /// Adds SigV4 headers (`Authorization`, `X-Amz-Date`, and `X-Amz-Security-Token` for
    /// temporary credentials) for service `cognito-idp`.
    pub fn sign(
        &self,
        req: &mut http::Request<Full<Bytes>>,
        body: &[u8],
        time: SystemTime,
    ) -> Result<()> {
        sign_request(
            req,
            body,
            &self.identity,
            &self.config.region,
            &Model::get().metadata.signing_name,
            time,
        )
        .map_err(|e| self.transport(format!("cannot sign request: {e}")))
    }

    fn transport(&self, message: String) -> Error {
        Error::Transport {
            endpoint: self.config.endpoint.clone(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_endpoints_with_a_clear_error() {
        for bad in ["", "not a url", "ftp://x/", "127.0.0.1:5000"] {
            let err = match Client::new(ClientConfig::local(bad)) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("{bad:?} accepted"),
            };
            assert!(err.contains("URL"), "{bad:?}: {err}");
        }
    }

    #[tokio::test]
    async fn unreachable_endpoint_names_itself() {
        // Port 9 (discard) on loopback is closed here; the error must name the endpoint.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let c = Client::new(ClientConfig::local(format!("http://127.0.0.1:{port}"))).unwrap();
        let err = c
            .call("ListUserPools", &serde_json::json!({"MaxResults": 1}))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
        assert!(err.to_lowercase().contains("refused"), "{err}");
    }

    #[tokio::test]
    async fn unknown_action_is_refused_before_sending() {
        let c = Client::new(ClientConfig::local("http://127.0.0.1:1")).unwrap();
        let err = c
            .call("MakeCoffee", &serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::UnknownAction(ref a) if a == "MakeCoffee"),
            "{err}"
        );
    }
}
