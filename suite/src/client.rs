//! A client for the Cognito User Pools API over HTTP or HTTPS.
//!
//! Signed operations carry SigV4 for service `cognito-idp` (the `aws-sigv4` crate, the one the
//! AWS SDK for Rust uses); the operations the model marks unsigned are sent without
//! `Authorization`, as the AWS SDKs send them. HTTPS uses rustls with the Mozilla root store.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::Model;
use crate::wire::{self, Response};

/// How to reach an endpoint and who to be there.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `http://127.0.0.1:5000` or `https://cognito-idp.us-east-1.amazonaws.com`.
    pub endpoint: String,
    /// The signing region.
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token, for temporary credentials.
    pub session_token: Option<String>,
    /// How long one request may take, connect to last byte.
    pub timeout: Duration,
}

impl ClientConfig {
    /// A configuration for a local emulator: harmless credentials, `us-east-1`.
    pub fn local(endpoint: impl Into<String>) -> Self {
        ClientConfig {
            endpoint: endpoint.into(),
            region: "us-east-1".into(),
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
            session_token: None,
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
        let identity = aws_credential_types::Credentials::new(
            config.access_key_id.clone(),
            config.secret_access_key.clone(),
            config.session_token.clone(),
            None,
            "cogcheck",
        )
        .into();
        Ok(Client {
            config,
            uri,
            identity,
            http,
        })
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

    async fn send(&self, req: http::Request<Full<Bytes>>) -> Result<RawResponse> {
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

/// Signs an HTTP request with SigV4 in place. Shared with the proxy, which re-signs requests
/// for a real AWS upstream with its own credentials.
pub fn sign_request<B>(
    req: &mut http::Request<B>,
    body: &[u8],
    identity: &Identity,
    region: &str,
    service: &str,
    time: SystemTime,
) -> std::result::Result<(), String> {
    // The Host header is signed; hyper adds it only when sending, so make it explicit here.
    if !req.headers().contains_key(http::header::HOST) {
        if let Some(authority) = req.uri().authority() {
            let value = http::HeaderValue::from_str(authority.as_str())
                .map_err(|e| format!("bad host {authority}: {e}"))?;
            req.headers_mut().insert(http::header::HOST, value);
        }
    }
    let params = v4::SigningParams::builder()
        .identity(identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let headers: Vec<(&str, &str)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
        .collect();
    let uri = req.uri().to_string();
    let signable = SignableRequest::new(
        req.method().as_str(),
        &uri,
        headers.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    instructions.apply_to_request_http1x(req);
    Ok(())
}

/// An identity from static credentials, for [`sign_request`].
pub fn static_identity(
    access_key_id: &str,
    secret_access_key: &str,
    session_token: Option<&str>,
) -> Identity {
    aws_credential_types::Credentials::new(
        access_key_id,
        secret_access_key,
        session_token.map(str::to_string),
        None,
        "cogcheck",
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_botocore() {
        // Reference computed independently with botocore 1.43 (SigV4Auth) for the same
        // request, credentials and time; `python3 suite/tests/vectors/sigv4_vector.py` prints it.
        let identity = static_identity(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
        );
        let body = br#"{"MaxResults":10}"#;
        let mut req = http::Request::builder()
            .method("POST")
            .uri("https://cognito-idp.us-east-1.amazonaws.com/")
            .header("content-type", wire::CONTENT_TYPE)
            .header(
                "x-amz-target",
                "AWSCognitoIdentityProviderService.ListUserPools",
            )
            .body(())
            .unwrap();
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        sign_request(&mut req, body, &identity, "us-east-1", "cognito-idp", time).unwrap();
        let auth = req.headers()["authorization"].to_str().unwrap();
        assert_eq!(req.headers()["x-amz-date"], "20231114T221320Z");
        assert_eq!(auth, SIGV4_VECTOR_AUTHORIZATION);
    }

    const SIGV4_VECTOR_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/cognito-idp/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=1c0af0fd292a73df84400aa4442f819490a8f11b2b611e857f20da7bcd05cee5";

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
