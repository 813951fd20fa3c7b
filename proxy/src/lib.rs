//! `cogcheck-proxy`: a transparent proxy for the Amazon Cognito User Pools API that records
//! (secrets redacted), replays, injects faults and compares two upstreams.
//!
//! # Layers
//!
//! One file per layer, composed top to bottom in `stack.rs`:
//!
//! ```text
//!  client
//!    |
//!  listener      HTTP/1.1 + HTTP/2, HTTPS on the same port (rustls; cert given or generated)
//!    |
//!  classify      once: action from X-Amz-Target, signed or not, known to the model or not
//!    |
//!  size limit    --max-body, an AWS-shaped 400 when exceeded
//!    |
//!  faults        fault rules and quota buckets (`fault/`): answer, delay, hang, drop
//!    |
//!  responders    replay from a cassette
//!    |
//!  forwarder     pooled keep-alive client, HTTP or HTTPS; SigV4 re-signing for real AWS
//!    |
//!  shadow        compare mode (`shadow/`): queue the request and the answer for a second
//!                upstream; ids mapped, answers normalized, mismatches written as diffs
//!    |
//!  recorder      redact, then one JSONL line per exchange from a writer task
//!    |
//!  client
//! ```
//!
//! With recording and replay off, bodies stream through and nothing is buffered.
//!
//! Modules: `config` (CLI → [`Config`]), `upstream` (where to forward and with which
//! credentials and trust: plain values every layer uses), `listener`, `tls`, `classify`,
//! `stack` (the composition), `pool` (keep-alive connections to the upstream), `fault`
//! (rules, kinds, quotas, the decisions log and its
//! replay, the admin controls), `replay`, `forward`, `shadow` (compare mode, live and from a
//! cassette), `record` (and the cassette format, documented there), `redact`, `secret_notes`
//! (what a cassette notes about each secret so replay is faithful), `stats`,
//! `admin`, `answer` (bodies and the proxy's own AWS-shaped errors), `error` (the one
//! [`Error`] type).
//!
//! Diagnostics are `tracing` events with fields (action, status, source, the exchange's
//! `seq` in the cassette); the library never prints, and never puts a header value or a body
//! in an event. The binary chooses where they go (`--log-format`, `--verbose`, `RUST_LOG`).
//!
//! What is Cognito's protocol rather than the proxy's is the suite's and called from here, so
//! the suite and the proxy never disagree: `cogcheck::protocol` signs (SigV4 re-signing in
//! `forward`), finds and reads JWTs (`redact`, `replay`, `shadow`), recomputes `SECRET_HASH`,
//! SRP and TOTP (`shadow`) and reads the quota categories (`fault::quota`);
//! `cogcheck::model` walks bodies for redaction; `cogcheck::target::Credentials` holds
//! credentials.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> Result<(), cogcheck_proxy::Error> {
//! let mut config = cogcheck_proxy::Config::new("http://127.0.0.1:5000")?;
//! config.cassette = cogcheck_proxy::CassettePlan::Record("run.jsonl".into());
//! let proxy = cogcheck_proxy::Proxy::start(config).await?;
//! println!("point clients at {}", proxy.endpoint());
//! // ... traffic ...
//! proxy.shutdown().await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod admin;
mod answer;
mod classify;
mod config;
mod error;
mod fault;
mod forward;
mod listener;
mod pool;
mod record;
mod redact;
mod replay;
mod secret_notes;
pub mod shadow;
mod stack;
mod stats;
mod tls;
mod upstream;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;

pub use answer::ProxyError;
pub use config::{Args, CassettePlan, Config, LogFormat, Mode};
pub use error::{Error, Result};
pub use fault::replay::MatchSecret;
pub use fault::FaultConfig;
pub use record::{
    rotated_path, Cassette, Header, RecordedError, RecordedExchange, RecordedRequest,
    RecordedResponse, Rotation, FORMAT,
};
pub use tls::TlsSource;
pub use upstream::{Credentials, Upstream, UpstreamTrust};

/// The proxy, before it starts.
pub struct Proxy;

/// A started proxy: its endpoints, and the handle to stop it.
pub struct RunningProxy {
    addr: SocketAddr,
    scheme: &'static str,
    admin_addr: Option<SocketAddr>,
    ca_cert: Option<PathBuf>,
    stack: Arc<stack::Stack>,
    shutdown: watch::Sender<bool>,
    serving: tokio::task::JoinHandle<u64>,
    admin: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    /// Builds every layer the configuration asks for, binds the ports and starts serving.
    /// Everything that can be wrong with the configuration fails here, not at the first request.
    pub async fn start(config: Config) -> Result<RunningProxy> {
        let forwarder = match (&config.upstream, config.cassette.forwards()) {
            (Some(upstream), true) => Some(forward::Forwarder::new(
                upstream.clone(),
                &config.upstream_trust,
                config.credentials.as_ref(),
                config.upstream_timeout,
            )?),
            (None, true) => {
                return Err(Error::Config(
                    "--upstream URL is required to forward requests".into(),
                ))
            }
            (_, false) => None,
        };
        // Recording makes the key file if it is missing; replay alone needs it to exist.
        let key = match &config.cassette_key {
            Some(file) if config.cassette.records() => {
                Some(secret_notes::CassetteKey::load_or_create(file)?)
            }
            Some(file) => Some(secret_notes::CassetteKey::load(file)?),
            None => None,
        };
        let mut responders = Vec::new();
        if let CassettePlan::Replay { path, mode } = &config.cassette {
            if config.cassette.replays() {
                responders.push(stack::Responder::Replay(replay::Replayer::load(
                    path,
                    *mode,
                    key.clone(),
                )?));
            }
        }
        let recorder = match (config.cassette.records(), config.cassette.path()) {
            (true, Some(path)) => Some(record::Recorder::open(path, config.rotation, key)?),
            _ => None,
        };
        let faults = fault::Faults::new(&config.faults)?;
        // Before serving, so a fleet's first requests already share its quota.
        faults.connect_shared().await;
        let shadow = match (&config.shadow, &forwarder) {
            (Some(s), Some(f)) => Some(shadow::live::Shadow::start(
                s,
                f.upstream_display(),
                &config.upstream_trust,
                config.credentials.as_ref(),
                config.upstream_timeout,
            )?),
            (Some(_), None) => {
                return Err(Error::Config(
                    "--shadow compares what the --upstream answers; it cannot run while \
                     replaying without forwarding (--mode none or once)"
                        .into(),
                ))
            }
            (None, _) => None,
        };
        let server_tls = config
            .tls
            .as_ref()
            .map(|source| tls::server(source, config.listen))
            .transpose()?;

        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
        let admin_listener = match config.admin {
            Some(a) => Some(
                tokio::net::TcpListener::bind(a)
                    .await
                    .map_err(|source| Error::Bind { addr: a, source })?,
            ),
            None => None,
        };
        let admin_addr = admin_listener.as_ref().and_then(|l| l.local_addr().ok());

        let stack = Arc::new(stack::Stack {
            max_body: config.max_body,
            responders,
            forwarder,
            recorder,
            // Only the admin API reads the counters.
            stats: if admin_listener.is_some() {
                stats::Stats::default()
            } else {
                stats::Stats::disabled()
            },
            faults,
            shadow,
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (scheme, ca_cert, acceptor) = match server_tls {
            Some(t) => ("https", t.ca_cert, Some(t.acceptor)),
            None => ("http", None, None),
        };
        let serving = tokio::spawn(listener::serve(
            listener,
            acceptor,
            stack.clone(),
            shutdown_rx,
            config.shutdown_grace,
        ));
        let admin = admin_listener.map(|l| {
            tokio::spawn(admin::serve(
                l,
                Arc::new(admin::AdminState {
                    stack: stack.clone(),
                    cassette: config.cassette.clone(),
                    upstream: config.upstream.as_ref().map(Upstream::display),
                }),
            ))
        });
        Ok(RunningProxy {
            addr,
            scheme,
            admin_addr,
            ca_cert,
            stack,
            shutdown,
            serving,
            admin,
        })
    }
}

impl RunningProxy {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` or `https://...`, for clients' `--endpoint-url`.
    pub fn endpoint(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// The admin API's address.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The generated CA certificate clients should trust.
    pub fn ca_cert(&self) -> Option<&Path> {
        self.ca_cert.as_deref()
    }

    /// Stops accepting, lets in-flight exchanges finish (up to the grace period), lets the
    /// shadow catch up and writes its reports, writes and fsyncs the cassette. Says how many
    /// exchanges were abandoned because the grace period ran out.
    pub async fn shutdown(self) -> Result<Stopped> {
        let _ = self.shutdown.send(true);
        // A panicked serving task stopped nothing cleanly; its exchanges' fate is unknown.
        let abandoned = self.serving.await.unwrap_or(u64::MAX);
        if let Some(admin) = self.admin {
            admin.abort();
        }
        let shadowed = match &self.stack.shadow {
            Some(s) => s.close().await.map(|_| ()),
            None => Ok(()),
        };
        let recorded = match &self.stack.recorder {
            Some(r) => r.close().await,
            None => Ok(()),
        };
        shadowed.and(recorded).map(|()| Stopped { abandoned })
    }
}

/// How a shutdown went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// Exchanges still unanswered when the grace period ran out (`u64::MAX`: unknown, the
    /// listener task failed).
    pub abandoned: u64,
}
