//! Helpers of the fault tests: a plain HTTP client for the proxy and its admin API, a proxy
//! with fault rules, and a trivial upstream for the statistics test only.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use cogcheck_proxy::{Config, FaultConfig, Proxy, RunningProxy};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;

/// An answer.
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// `__type` of an error body.
    pub fn error_type(&self) -> Option<String> {
        self.json()["__type"].as_str().map(str::to_string)
    }
}

/// A keep-alive HTTP/1.1 client.
#[derive(Clone)]
pub struct Http(Client<HttpConnector, Full<Bytes>>);

impl Http {
    pub fn new() -> Http {
        Http(
            Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(64)
                .build_http(),
        )
    }

    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Answer, String> {
        let mut b = http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b.body(Full::new(body)).map_err(|e| e.to_string())?;
        let resp = self.0.request(req).await.map_err(|e| format!("{e:?}"))?;
        let (head, body) = resp.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(Answer {
            status: head.status.as_u16(),
            headers: head.headers,
            body,
        })
    }

    /// An unsigned API call, with extra headers.
    pub async fn api(
        &self,
        endpoint: &str,
        action: &str,
        input: Value,
        headers: &[(&str, &str)],
    ) -> Answer {
        let target = format!("AWSCognitoIdentityProviderService.{action}");
        let mut all = vec![
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
        ];
        all.extend_from_slice(headers);
        self.send("POST", endpoint, &all, Bytes::from(input.to_string()))
            .await
            .unwrap_or_else(|e| panic!("{action} through {endpoint}: {e}"))
    }

    /// An admin API call.
    pub async fn admin(
        &self,
        proxy: &RunningProxy,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let addr = proxy.admin_addr().expect("the proxy has an admin API");
        let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let a = self
            .send(
                method,
                &format!("http://{addr}{path}"),
                &[("content-type", "application/json")],
                body,
            )
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        (a.status, a.json())
    }
}

/// A proxy with an admin API and these fault settings.
pub async fn proxy_with(upstream: &str, faults: FaultConfig) -> RunningProxy {
    let mut config = Config::new(upstream).expect("a good upstream");
    config.admin = Some(([127, 0, 0, 1], 0).into());
    config.faults = faults;
    Proxy::start(config).await.expect("the proxy starts")
}

/// Writes a JSON rules file.
pub fn rules_file(dir: &Path, name: &str, rules: Value) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, rules.to_string()).expect("the rules file is written");
    p
}

/// A trivial upstream answering `{}` to everything: for the statistics test only, which
/// tests the proxy's draws, not Cognito.
pub async fn stub_upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_req| async {
                    let mut resp = http::Response::new(Full::new(Bytes::from_static(b"{}")));
                    resp.headers_mut().insert(
                        "content-type",
                        http::HeaderValue::from_static("application/x-amz-json-1.1"),
                    );
                    Ok::<_, std::convert::Infallible>(resp)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// The lines of a decisions file.
pub fn decisions(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("the decisions file is readable")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A generous bound for anything that should be quick.
pub const QUICK: Duration = Duration::from_secs(30);
