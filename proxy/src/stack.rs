//! The stack: every layer a request passes, composed top to bottom in [`Stack::handle`].
//!
//! ```text
//! client -> listener -> classify -> size limit -> faults -> [buffer?] -> responders -> forwarder -> recorder -> client
//!                                                 (decide)                (replay)      (upstream)   (cassette)
//! ```
//!
//! Why each layer is where it is:
//!
//! - **classify** first, once: every later layer decides by action, signedness and whether it
//!   is an API call at all, and none of them re-reads headers.
//! - **size limit** before anything reads the body: an oversized request is refused from its
//!   `Content-Length` without reading it, and a streamed one is cut off when it passes the limit.
//! - **buffer?** only when a later layer needs the whole body (recording, replay, re-signing);
//!   otherwise the body streams through untouched and the proxy is a plain reverse proxy.
//! - **faults** decide before the body is read when no rule reads it (so an unfaulted request
//!   still streams), and act before the responders (an injected throttle must win over a
//!   replayed success), after the forwarder (truncated or malformed answers, recorded as
//!   sent) and on the way out (latency, reset after forwarding, slow body). It is a layer of
//!   its own rather than a [`Responder`] because it acts at all three points (`fault/`).
//! - **responders** may answer without the upstream: the replayer. Matching without a
//!   wildcard makes a new kind decide.
//! - **forwarder** sends what no responder answered.
//! - **recorder** last, so it writes what the client is about to receive, errors included;
//!   the answer is released only once the exchange is written.
//! - **shadow** between forwarder and recorder: it needs the upstream's own answer (before
//!   faults mangle it) and only queues the exchange, so neither recording nor the client waits
//!   for the second upstream (`shadow/live.rs`; ordering in `shadow/mod.rs`).

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::answer::{full, strip_hop_by_hop, BufferedResponse, ProxyBody, ProxyError};
use crate::classify::{classify, Classified, RequestKind};
use crate::fault::Faults;
use crate::forward::{ForwardError, Forwarder};
use crate::record::{Exchange, Recorder};
use crate::replay::{Replayed, Replayer};
use crate::stats::{ExchangeOutcome, Stats};

/// A layer that may answer a buffered request before it reaches the forwarder.
pub enum Responder {
    /// Answers from a cassette.
    Replay(Replayer),
}

/// What a responder decided.
enum Decision {
    /// Answered by the responder itself; not recorded (a replayed answer is in the cassette
    /// already, and a miss is not an exchange with the upstream).
    Answer(BufferedResponse),
    /// Not answered; go on.
    Continue,
}

impl Responder {
    fn decide(&self, class: &Classified, parts: &http::request::Parts, body: &Bytes) -> Decision {
        match self {
            Responder::Replay(r) => {
                let path = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let label = parts
                    .headers
                    .get(cogcheck::wire::SCENARIO_HEADER)
                    .and_then(|v| v.to_str().ok());
                match r.respond(class, &parts.method, path, label, body) {
                    Replayed::Hit(resp) | Replayed::Miss(resp) => Decision::Answer(resp),
                    Replayed::Forward => Decision::Continue,
                }
            }
        }
    }
}

/// Every layer, ready to serve.
pub struct Stack {
    pub(crate) max_body: u64,
    pub(crate) responders: Vec<Responder>,
    pub(crate) forwarder: Option<Forwarder>,
    pub(crate) recorder: Option<Recorder>,
    pub(crate) stats: Stats,
    pub(crate) faults: Faults,
    /// Compare mode: a second upstream that gets every answered request (`shadow/`).
    pub(crate) shadow: Option<crate::shadow::live::Shadow>,
}

impl Stack {
    /// The replayer, if any (for the admin API).
    // `find_map` stays right when a second kind of `Responder` comes.
    #[allow(clippy::unnecessary_find_map)]
    pub fn replayer(&self) -> Option<&Replayer> {
        self.responders.iter().find_map(|r| match r {
            Responder::Replay(r) => Some(r),
        })
    }

    /// Handles one request, top to bottom. Never fails: every problem is an answer.
    pub async fn handle(&self, req: http::Request<Incoming>) -> http::Response<ProxyBody> {
        let started = Instant::now();
        let time = SystemTime::now();
        let (mut parts, body) = req.into_parts();
        strip_hop_by_hop(&mut parts.headers);

        // Everything off: a plain reverse proxy, and nothing it does not need is paid for.
        if self.is_bare() {
            return self.bare(started, parts, body).await;
        }

        // classify
        let class = classify(&parts.method, &parts.headers);

        // size limit, from the declared length
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_body) {
            let (resp, error) = self.too_large_exchange();
            return self
                .finish(time, started, &class, parts, Bytes::new(), resp, error)
                .await;
        }

        // faults: decided from the headers alone unless a rule reads the body
        let early_plan = if self.faults.needs_body(&class) {
            None
        } else {
            Some(self.faults.decide(&class, &mut parts, None).await)
        };

        // buffer only when a layer needs the whole body (a faulted request always is)
        let needs_body = self.recorder.is_some()
            || self.shadow.is_some()
            || !self.responders.is_empty()
            || early_plan.as_ref().is_none_or(|p| !p.is_empty())
            || self
                .forwarder
                .as_ref()
                .is_some_and(|f| f.needs_body(&class));
        if !needs_body {
            return self.passthrough(started, &class, parts, body).await;
        }
        let body = match Limited::new(body, self.max_body as usize).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                let (resp, error) = self.too_large_exchange();
                return self
                    .finish(time, started, &class, parts, Bytes::new(), resp, error)
                    .await;
            }
            Err(_) => {
                // The client broke off its own request: nobody is waiting for an answer.
                let mut resp = http::Response::new(full(Bytes::new()));
                *resp.status_mut() = http::StatusCode::BAD_REQUEST;
                return resp;
            }
        };

        // faults: may answer, delay, hang or drop the connection before anything else answers
        let plan = match early_plan {
            Some(p) => p,
            None => self.faults.decide(&class, &mut parts, Some(&body)).await,
        };
        if let Some(resp) = self.faults.before_upstream(&plan).await {
            let status = resp.status();
            let outcome = if status.as_u16() >= 400 {
                ExchangeOutcome::ErrorAnswer
            } else {
                ExchangeOutcome::Success
            };
            self.stats
                .observe(class.stats_label(), started.elapsed(), outcome);
            self.log(
                &class,
                &parts,
                status,
                started.elapsed(),
                plan.source(),
                None,
            );
            return resp;
        }

        // responders: replay
        for responder in &self.responders {
            match responder.decide(&class, &parts, &body) {
                Decision::Answer(resp) => {
                    self.stats
                        .observe(class.stats_label(), started.elapsed(), outcome(&resp));
                    self.log(
                        &class,
                        &parts,
                        resp.status,
                        started.elapsed(),
                        "replay",
                        None,
                    );
                    return resp.into_response();
                }
                Decision::Continue => {}
            }
        }

        // forwarder, then faults that change the answer (recorded as the client gets it)
        let (resp, error) = self.forward_buffered(&class, &parts, &body).await;

        // shadow compare: the upstream's own answer (before faults change it) goes to the
        // comparer's queue; the client does not wait for the second upstream
        if let (Some(shadow), None) = (&self.shadow, &error) {
            shadow.submit(&class, &parts, &body, &resp, time);
        }
        let resp = self.faults.mangle(&plan, resp);

        // recorder, then faults on the way out (delay, drop, slow body), then the client
        let resp = self
            .finish(time, started, &class, parts, body, resp, error)
            .await;
        self.faults.deliver(&plan, resp).await
    }

    async fn forward_buffered(
        &self,
        class: &Classified,
        parts: &http::request::Parts,
        body: &Bytes,
    ) -> (BufferedResponse, Option<(&'static str, String)>) {
        let Some(forwarder) = &self.forwarder else {
            // The configuration never builds a stack that can get here; answer sanely anyway.
            return unreachable_upstream("no upstream is configured".into());
        };
        match forwarder
            .send(parts, class, full(body.clone()), Some(body))
            .await
        {
            Ok(resp) => {
                let (mut head, incoming) = resp.into_parts();
                strip_hop_by_hop(&mut head.headers);
                match tokio::time::timeout(forwarder.timeout(), incoming.collect()).await {
                    Ok(Ok(collected)) => (
                        BufferedResponse {
                            status: head.status,
                            headers: head.headers,
                            body: collected.to_bytes(),
                        },
                        None,
                    ),
                    Ok(Err(e)) => unreachable_upstream(format!(
                        "{}: the answer broke off: {e}",
                        forwarder.upstream_display()
                    )),
                    Err(_) => timed_out(forwarder),
                }
            }
            Err(e) => self.forward_failed(forwarder, e),
        }
    }

    /// True when no layer but the forwarder is on for this request: no recording, replay,
    /// shadow, fault rule, quota, statistics or re-signing. (The fault layer is asked each time:
    /// the admin API can add rules.)
    fn is_bare(&self) -> bool {
        self.recorder.is_none()
            && self.shadow.is_none()
            && self.responders.is_empty()
            && !self.stats.is_enabled()
            && self.forwarder.as_ref().is_some_and(|f| !f.resigns())
            && self.faults.is_off()
    }

    /// The passthrough with every layer off: no classification (unless the exchange is
    /// logged), no statistics, the request's headers moved rather than copied; bodies stream
    /// both ways; the size limit still holds.
    async fn bare(
        &self,
        started: Instant,
        mut parts: http::request::Parts,
        body: Incoming,
    ) -> http::Response<ProxyBody> {
        const UNCLASSIFIED: Classified = Classified {
            kind: RequestKind::NotApi,
            signed: false,
        };
        let Some(forwarder) = &self.forwarder else {
            return unreachable_upstream("no upstream is configured".into())
                .0
                .into_response();
        };
        let logged = tracing::enabled!(tracing::Level::DEBUG);
        let class = if logged {
            classify(&parts.method, &parts.headers)
        } else {
            UNCLASSIFIED
        };
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let resp = if declared.is_some_and(|n| n > self.max_body) {
            self.too_large()
        } else {
            let limited = Limited::new(body, self.max_body as usize).boxed_unsync();
            let headers = std::mem::take(&mut parts.headers);
            match forwarder
                .send_with(&parts, headers, &class, limited, None)
                .await
            {
                Ok(resp) => {
                    let (mut head, incoming) = resp.into_parts();
                    strip_hop_by_hop(&mut head.headers);
                    if logged {
                        self.log(
                            &class,
                            &parts,
                            head.status,
                            started.elapsed(),
                            "upstream",
                            None,
                        );
                    }
                    return http::Response::from_parts(
                        head,
                        incoming
                            .map_err(|e| -> crate::answer::BoxError { Box::new(e) })
                            .boxed_unsync(),
                    );
                }
                Err(e) => self.forward_failed(forwarder, e).0,
            }
        };
        if logged {
            self.log(
                &class,
                &parts,
                resp.status,
                started.elapsed(),
                "proxy",
                None,
            );
        }
        resp.into_response()
    }

    /// The plain reverse proxy: bodies stream both ways.
    async fn passthrough(
        &self,
        started: Instant,
        class: &Classified,
        mut parts: http::request::Parts,
        body: Incoming,
    ) -> http::Response<ProxyBody> {
        let Some(forwarder) = &self.forwarder else {
            return unreachable_upstream("no upstream is configured".into())
                .0
                .into_response();
        };
        let limited = Limited::new(body, self.max_body as usize).boxed_unsync();
        let headers = std::mem::take(&mut parts.headers);
        let resp = match forwarder
            .send_with(&parts, headers, class, limited, None)
            .await
        {
            Ok(resp) => {
                let (mut head, incoming) = resp.into_parts();
                strip_hop_by_hop(&mut head.headers);
                let status = head.status;
                self.stats.observe(
                    class.stats_label(),
                    started.elapsed(),
                    if status.as_u16() >= 400 {
                        ExchangeOutcome::ErrorAnswer
                    } else {
                        ExchangeOutcome::Success
                    },
                );
                self.log(class, &parts, status, started.elapsed(), "upstream", None);
                return http::Response::from_parts(
                    head,
                    incoming
                        .map_err(|e| -> crate::answer::BoxError { Box::new(e) })
                        .boxed_unsync(),
                );
            }
            Err(e) => self.forward_failed(forwarder, e).0,
        };
        self.stats
            .observe(class.stats_label(), started.elapsed(), outcome(&resp));
        self.log(class, &parts, resp.status, started.elapsed(), "proxy", None);
        resp.into_response()
    }

    /// The answer to a request the forwarder could not complete, and what the recording notes
    /// about it: one mapping for every path that forwards.
    fn forward_failed(
        &self,
        forwarder: &Forwarder,
        e: ForwardError,
    ) -> (BufferedResponse, Option<(&'static str, String)>) {
        match e {
            ForwardError::Unreachable(m) => {
                unreachable_upstream(format!("{}: {m}", forwarder.upstream_display()))
            }
            ForwardError::Timeout => timed_out(forwarder),
            ForwardError::TooLarge => self.too_large_exchange(),
        }
    }

    fn too_large_exchange(&self) -> (BufferedResponse, Option<(&'static str, String)>) {
        (
            self.too_large(),
            Some((
                ProxyError::RequestTooLarge.kind(),
                format!("request body over {} bytes; not forwarded", self.max_body),
            )),
        )
    }

    fn too_large(&self) -> BufferedResponse {
        BufferedResponse::proxy_error(
            ProxyError::RequestTooLarge,
            &format!(
                "cogcheck-proxy: the request body is larger than {} bytes (--max-body)",
                self.max_body
            ),
        )
    }

    /// Records (when recording) and answers.
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        time: SystemTime,
        started: Instant,
        class: &Classified,
        parts: http::request::Parts,
        body: Bytes,
        resp: BufferedResponse,
        error: Option<(&'static str, String)>,
    ) -> http::Response<ProxyBody> {
        let latency = started.elapsed();
        let outcome = match &error {
            Some((kind, _)) if kind.starts_with("upstream_") => ExchangeOutcome::UpstreamError,
            Some(_) | None => outcome(&resp),
        };
        self.stats.observe(class.stats_label(), latency, outcome);
        let Some(recorder) = &self.recorder else {
            self.log(class, &parts, resp.status, latency, "upstream", None);
            return resp.into_response();
        };
        // Logged once recorded, so the event names the exchange's line in the cassette.
        let (method, path, status) = (
            parts.method.clone(),
            parts.uri.path().to_string(),
            resp.status,
        );
        let (input_shape, output_shape) = class.shapes();
        let exchange = Exchange {
            time,
            action: class.action().map(str::to_string),
            target: match &class.kind {
                RequestKind::UnknownTarget { target } => Some(target.clone()),
                RequestKind::Known { .. } | RequestKind::NotApi => None,
            },
            signed: class.signed,
            input_shape,
            output_shape,
            is_api: class.is_api(),
            method: parts.method.to_string(),
            path: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into()),
            request_headers: parts.headers,
            request_body: body,
            response: Some(resp.clone()),
            latency,
            upstream: self
                .forwarder
                .as_ref()
                .map(|f| f.upstream_display().to_string())
                .unwrap_or_default(),
            error,
        };
        let seq = recorder.record(exchange).await;
        self.log_exchange(class, &method, &path, status, latency, "upstream", seq);
        resp.into_response()
    }

    #[allow(clippy::too_many_arguments)]
    fn log(
        &self,
        class: &Classified,
        parts: &http::request::Parts,
        status: http::StatusCode,
        latency: Duration,
        source: &str,
        seq: Option<u64>,
    ) {
        self.log_exchange(
            class,
            &parts.method,
            parts.uri.path(),
            status,
            latency,
            source,
            seq,
        );
    }

    /// One event per exchange, at debug level (`--verbose`). Method, path, action and status
    /// only: headers (Authorization, the signature) and bodies (passwords, tokens, codes,
    /// sessions) never reach a log.
    #[allow(clippy::too_many_arguments)]
    fn log_exchange(
        &self,
        class: &Classified,
        method: &http::Method,
        path: &str,
        status: http::StatusCode,
        latency: Duration,
        source: &str,
        seq: Option<u64>,
    ) {
        tracing::debug!(
            seq,
            method = %method,
            path,
            action = class.stats_label(),
            status = status.as_u16(),
            source,
            latency_ms = latency.as_secs_f64() * 1e3,
            upstream = self.forwarder.as_ref().map(Forwarder::upstream_display),
            "exchange"
        );
    }
}

fn outcome(resp: &BufferedResponse) -> ExchangeOutcome {
    if resp.status.as_u16() >= 400 {
        ExchangeOutcome::ErrorAnswer
    } else {
        ExchangeOutcome::Success
    }
}

fn unreachable_upstream(message: String) -> (BufferedResponse, Option<(&'static str, String)>) {
    (
        BufferedResponse::proxy_error(
            ProxyError::UpstreamUnreachable,
            &format!("cogcheck-proxy could not reach the upstream {message}"),
        ),
        Some((ProxyError::UpstreamUnreachable.kind(), message)),
    )
}

fn timed_out(forwarder: &Forwarder) -> (BufferedResponse, Option<(&'static str, String)>) {
    let message = format!(
        "{} did not answer within {:?} (--upstream-timeout)",
        forwarder.upstream_display(),
        forwarder.timeout()
    );
    (
        BufferedResponse::proxy_error(
            ProxyError::UpstreamTimeout,
            &format!("cogcheck-proxy: the upstream {message}"),
        ),
        Some((ProxyError::UpstreamTimeout.kind(), message)),
    )
}
