//! Live shadowing: the layer between forwarder and recorder that sends each answered request
//! to a second upstream, off the client's path, and compares (see the module above for the
//! ordering rule).
//!
//! The handler hands the request and the primary's buffered answer to a bounded queue without
//! waiting and goes on to record and answer; when the queue is full the job is dropped and
//! counted, never waited for (a hung shadow must not stall the primary's clients). One worker
//! task takes jobs in order, rewrites, sends to the
//! shadow (through its own [`Forwarder`], so an AWS shadow is re-signed like an AWS primary),
//! and compares. Requests the primary never answered (unreachable, timed out) are not sent to
//! the shadow: there is nothing to compare, and the shadow's state must not run ahead.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use tokio::sync::mpsc;

use super::{path_label, Comparer, DiffReport, NoiseRules, ReportPaths, ShadowRequest};
use crate::answer::{full, strip_hop_by_hop, BufferedResponse};
use crate::classify::{Classified, RequestKind};
use crate::error::Result;
use crate::forward::{ForwardError, Forwarder};
use crate::upstream::{Credentials, Upstream, UpstreamTrust};

/// How many requests the shadow may fall behind before requests are dropped for it.
pub const QUEUE: usize = 4096;

/// What `--shadow` and its companions say.
#[derive(Debug, Clone)]
pub struct ShadowConfig {
    /// The second upstream.
    pub upstream: Upstream,
    /// `--noise FILE`; the shipped rules otherwise.
    pub noise: Option<PathBuf>,
    /// `--diff-out`, `--diff-summary`, `--diff-junit`.
    pub report: ReportPaths,
    /// `--shadow-mapping-mb`, in bytes (see [`super::mapping::DEFAULT_BUDGET`]).
    pub mapping_budget: usize,
    /// `--shadow-queue`: jobs the shadow may fall behind before new ones are dropped
    /// ([`QUEUE`] by default).
    pub queue: usize,
}

struct Job {
    req: ShadowRequest,
    class: Classified,
    primary: BufferedResponse,
}

/// The running shadow.
pub struct Shadow {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    worker: Mutex<Option<tokio::task::JoinHandle<Result<super::Summary>>>>,
    /// Jobs dropped because the queue was full; shared with the worker for the summary.
    dropped: Arc<AtomicU64>,
    /// Exchanges compared and of which mismatched, as the worker goes (for `/metrics`).
    progress: Arc<Progress>,
}

/// What the worker has compared so far.
#[derive(Default)]
struct Progress {
    compared: AtomicU64,
    mismatched: AtomicU64,
}

impl Shadow {
    /// Loads the noise rules, opens the report and starts the worker.
    pub fn start(
        config: &ShadowConfig,
        primary: &str,
        trust: &UpstreamTrust,
        credentials: Option<&Credentials>,
        timeout: Duration,
    ) -> Result<Shadow> {
        let rules = match &config.noise {
            Some(p) => NoiseRules::load(p)?,
            None => NoiseRules::defaults()?,
        };
        let forwarder = Forwarder::new(config.upstream.clone(), trust, credentials, timeout)?;
        let report = DiffReport::open(config.report.clone(), primary, &config.upstream.display())?;
        let comparer =
            Comparer::new(rules, report, false).with_mapping_budget(config.mapping_budget);
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let progress = Arc::new(Progress::default());
        let worker = tokio::spawn(work(
            rx,
            comparer,
            forwarder,
            dropped.clone(),
            progress.clone(),
        ));
        Ok(Shadow {
            tx: Mutex::new(Some(tx)),
            worker: Mutex::new(Some(worker)),
            dropped,
            progress,
        })
    }

    /// Jobs dropped so far because the shadow had fallen a whole queue behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Exchanges compared so far, and of which mismatched.
    pub fn compared(&self) -> (u64, u64) {
        (
            self.progress.compared.load(Ordering::Relaxed),
            self.progress.mismatched.load(Ordering::Relaxed),
        )
    }

    /// Jobs waiting for the shadow.
    pub fn queued(&self) -> usize {
        match self.tx.lock() {
            Ok(guard) => guard
                .as_ref()
                .map_or(0, |tx| tx.max_capacity() - tx.capacity()),
            Err(_) => 0,
        }
    }

    /// Queues an answered request for the shadow, never waiting: when the queue is full the
    /// job is dropped and counted. The shadow's state then lags the primary's, so comparisons
    /// after a drop may differ for that reason; the summary says so.
    pub fn submit(
        &self,
        class: &Classified,
        parts: &http::request::Parts,
        body: &Bytes,
        primary: &BufferedResponse,
        time: std::time::SystemTime,
    ) {
        let tx = match self.tx.lock() {
            Ok(guard) => guard.clone(),
            Err(_) => None,
        };
        let Some(tx) = tx else {
            return;
        };
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let label = match &class.kind {
            RequestKind::Known { action, .. } => action.to_string(),
            RequestKind::UnknownTarget { target } => format!("target:{target}"),
            RequestKind::NotApi => path_label(&parts.method, &path),
        };
        let job = Job {
            req: ShadowRequest {
                action: class.action().map(str::to_string),
                label,
                method: parts.method.clone(),
                path,
                headers: parts.headers.clone(),
                body: body.clone(),
                signed: class.signed,
                time: crate::record::rfc3339(time),
                cassette_seq: None,
            },
            class: class.clone(),
            primary: primary.clone(),
        };
        match tx.try_send(job) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!(
                        behind = tx.max_capacity(),
                        "the shadow fell behind; requests are no longer sent to it (counted as \
                         `dropped` in /stats and the summary), and later comparisons may differ \
                         because of the requests it missed"
                    );
                }
            }
            // Closing: later submissions are ignored, as documented on `close`.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Lets the shadow catch up with everything queued, then writes the summary and JUnit
    /// files. Later submissions are ignored.
    pub async fn close(&self) -> Result<Option<super::Summary>> {
        if let Ok(mut guard) = self.tx.lock() {
            guard.take();
        }
        let worker = self.worker.lock().ok().and_then(|mut w| w.take());
        match worker {
            Some(w) => match w.await {
                Ok(r) => r.map(Some),
                Err(e) => Err(crate::Error::Config(format!(
                    "the shadow comparer stopped unexpectedly: {e}"
                ))),
            },
            None => Ok(None),
        }
    }
}

async fn work(
    mut rx: mpsc::Receiver<Job>,
    mut comparer: Comparer,
    forwarder: Forwarder,
    dropped: Arc<AtomicU64>,
    progress: Arc<Progress>,
) -> Result<super::Summary> {
    while let Some(job) = rx.recv().await {
        let prepared = comparer.prepare(&job.req, &job.primary);
        let answer = send(&forwarder, &job, &prepared.path, &prepared.body).await;
        comparer.conclude(&job.req, prepared, &job.primary, answer);
        let summary = comparer.summary();
        progress.compared.store(summary.compared, Ordering::Relaxed);
        progress
            .mismatched
            .store(summary.mismatched, Ordering::Relaxed);
    }
    comparer.dropped(dropped.load(Ordering::Relaxed));
    comparer.finish()
}

async fn send(
    forwarder: &Forwarder,
    job: &Job,
    path: &str,
    body: &Bytes,
) -> std::result::Result<BufferedResponse, String> {
    let mut req = http::Request::builder()
        .method(job.req.method.clone())
        .uri(path)
        .body(())
        .map_err(|e| format!("cannot build the shadow's request: {e}"))?;
    *req.headers_mut() = job.req.headers.clone();
    req.headers_mut().insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(body.len()),
    );
    let (parts, ()) = req.into_parts();
    let shadow = forwarder.upstream_display();
    match forwarder
        .send(&parts, &job.class, full(body.clone()), Some(body))
        .await
    {
        Ok(resp) => {
            let (mut head, incoming) = resp.into_parts();
            strip_hop_by_hop(&mut head.headers);
            match tokio::time::timeout(forwarder.timeout(), incoming.collect()).await {
                Ok(Ok(collected)) => Ok(BufferedResponse {
                    status: head.status,
                    headers: head.headers,
                    body: collected.to_bytes(),
                }),
                Ok(Err(e)) => Err(format!("{shadow}: the answer broke off: {e}")),
                Err(_) => Err(format!("{shadow}: no complete answer in time")),
            }
        }
        Err(ForwardError::Unreachable(m)) => Err(format!("{shadow} is unreachable: {m}")),
        Err(ForwardError::Timeout) => Err(format!(
            "{shadow} did not answer within {:?}",
            forwarder.timeout()
        )),
        Err(ForwardError::TooLarge) => Err(format!("{shadow}: the request is too large")),
    }
}
