//! The admin API: a small JSON HTTP API on its own loopback port, apart from client traffic so
//! that no client request can ever be mistaken for an admin call.
//!
//! | endpoint | answer |
//! |---|---|
//! | `GET /health` | `{"status":"ok"}` |
//! | `GET /stats` | requests, errors, upstream errors, latency p50/p90/p99 (ms), overall and per action |
//! | `GET /cassette` | path, mode, exchanges written and write errors by this run, replayable exchanges, replay hits and misses |
//!
//! | `GET`, `POST`, `DELETE` `/faults...` | fault rules and their counters (`fault/control.rs`) |
//!
//! `/stats` also carries each fault rule's counters under `faults`, and in compare mode the
//! shadow's queue under `shadow`: `queued` (waiting for the shadow) and `dropped` (never sent
//! to it because the queue was full).

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::answer::{full, ProxyBody};
use crate::config::CassettePlan;
use crate::stack::Stack;

/// The largest admin request body (a batch of fault rules).
const BODY_LIMIT: usize = 1 << 20;

/// What the admin API reads.
pub struct AdminState {
    /// The stack, for statistics and cassette counters.
    pub stack: Arc<Stack>,
    /// The cassette plan.
    pub cassette: CassettePlan,
    /// The upstream, as displayed.
    pub upstream: Option<String>,
}

/// Serves the admin API until the task is aborted.
pub async fn serve(listener: TcpListener, state: Arc<AdminState>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                let state = state.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let Ok(body) = Limited::new(body, BODY_LIMIT).collect().await else {
                        return Ok::<_, Infallible>(answer(
                            http::StatusCode::PAYLOAD_TOO_LARGE,
                            json!({"error": format!("admin request bodies are at most {BODY_LIMIT} bytes")}),
                        ));
                    };
                    let req = http::Request::from_parts(parts, body.to_bytes());
                    Ok::<_, Infallible>(route(&state, &req))
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn route(state: &AdminState, req: &http::Request<Bytes>) -> http::Response<ProxyBody> {
    if let Some((status, body)) = crate::fault::control::route(
        &state.stack.faults,
        req.method(),
        req.uri().path(),
        req.body(),
    ) {
        return answer(status, body);
    }
    if req.method() != http::Method::GET {
        return answer(
            http::StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": format!(
                "no admin endpoint {} {}: the admin API answers GET only, except POST and \
                 DELETE on /faults",
                req.method(),
                req.uri().path()
            )}),
        );
    }
    match req.uri().path() {
        "/health" => answer(http::StatusCode::OK, json!({"status": "ok"})),
        "/stats" => {
            let mut stats = state.stack.stats.snapshot();
            stats["faults"] = state.stack.faults.counters();
            if let Some(shadow) = &state.stack.shadow {
                stats["shadow"] = json!({"queued": shadow.queued(), "dropped": shadow.dropped()});
            }
            answer(http::StatusCode::OK, stats)
        }
        "/cassette" => answer(http::StatusCode::OK, cassette(state)),
        "/metrics" => {
            let mut resp = http::Response::new(full(Bytes::from(metrics(state))));
            resp.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            resp
        }
        other => answer(
            http::StatusCode::NOT_FOUND,
            json!({"error": format!("no admin endpoint {other}; try /health, /stats, /metrics, /cassette or /faults")}),
        ),
    }
}

/// Everything `/stats` and `/cassette` say, in the Prometheus text format: per-action
/// requests, errors and latency histograms, faults per rule, the shadow's queue, drops and
/// mismatches, and the recorder's writes and write errors.
fn metrics(state: &AdminState) -> String {
    use std::fmt::Write;
    use std::sync::atomic::Ordering::Relaxed;
    let mut out = String::new();
    state.stack.stats.prometheus(&mut out);
    let counter = |out: &mut String, name: &str, help: &str, kind: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    if let Value::Object(rules) = state.stack.faults.counters() {
        for (key, help) in [
            ("fired", "Times a fault rule fired."),
            ("applied", "Times a fault rule's fault was injected."),
        ] {
            let name = format!("cogcheck_proxy_fault_{key}_total");
            counter(&mut out, &name, help, "counter");
            for (rule, c) in &rules {
                let _ = writeln!(
                    out,
                    "{name}{{rule=\"{}\"}} {}",
                    crate::stats::escape(rule),
                    c[key].as_u64().unwrap_or(0)
                );
            }
        }
    }
    if let Some(shared) = state.stack.faults.shared() {
        shared.prometheus(&mut out);
    }
    if let Some(shadow) = &state.stack.shadow {
        let (compared, mismatched) = shadow.compared();
        for (name, help, kind, value) in [
            (
                "cogcheck_proxy_shadow_queued",
                "Exchanges waiting for the shadow.",
                "gauge",
                shadow.queued() as u64,
            ),
            (
                "cogcheck_proxy_shadow_dropped_total",
                "Exchanges not compared because the shadow's queue was full.",
                "counter",
                shadow.dropped(),
            ),
            (
                "cogcheck_proxy_shadow_compared_total",
                "Exchanges compared with the shadow.",
                "counter",
                compared,
            ),
            (
                "cogcheck_proxy_shadow_mismatches_total",
                "Compared exchanges whose answers differed.",
                "counter",
                mismatched,
            ),
        ] {
            counter(&mut out, name, help, kind);
            let _ = writeln!(out, "{name} {value}");
        }
    }
    if let Some(r) = state.stack.recorder.as_ref() {
        for (name, help, value) in [
            (
                "cogcheck_proxy_records_written_total",
                "Exchanges written to the cassette.",
                r.counters().written.load(Relaxed),
            ),
            (
                "cogcheck_proxy_record_write_errors_total",
                "Exchanges that could not be written to the cassette (dropped records).",
                r.counters().write_errors.load(Relaxed),
            ),
            (
                "cogcheck_proxy_record_rotations_total",
                "Times the cassette reached --record-max-mb and was rotated.",
                r.counters().rotations.load(Relaxed),
            ),
        ] {
            counter(&mut out, name, help, "counter");
            let _ = writeln!(out, "{name} {value}");
        }
    }
    out
}

fn cassette(state: &AdminState) -> Value {
    let recorder = state.stack.recorder.as_ref();
    let replayer = state.stack.replayer();
    json!({
        "path": state.cassette.path().map(|p| p.display().to_string()),
        "mode": state.cassette.mode_name(),
        "format": crate::record::FORMAT,
        "upstream": state.upstream,
        "recording": recorder.is_some(),
        "written": recorder.map(|r| r.counters().written.load(std::sync::atomic::Ordering::Relaxed)),
        "write_errors": recorder.map(|r| r.counters().write_errors.load(std::sync::atomic::Ordering::Relaxed)),
        "rotations": recorder.map(|r| r.counters().rotations.load(std::sync::atomic::Ordering::Relaxed)),
        "replayable": replayer.map(|r| r.replayable()),
        "replayed": replayer.map(|r| r.hits()),
        "misses": replayer.map(|r| r.misses()),
    })
}

fn answer(status: http::StatusCode, body: Value) -> http::Response<ProxyBody> {
    let mut resp = http::Response::new(full(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}
