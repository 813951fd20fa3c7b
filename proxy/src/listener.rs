//! The listener: accepts connections, speaks HTTP/1.1 and HTTP/2 (h2c or ALPN), and hands each
//! request to the stack.
//!
//! With TLS configured, one port serves both HTTPS and plain HTTP: the first byte of a
//! connection tells them apart (a TLS handshake starts with 0x16, which no HTTP method does).
//! Bytes that are neither end in a clean close, or a 400 from hyper's parser; one connection's
//! garbage never touches another. Slow clients are cut off: the TLS handshake and the request
//! head must each arrive within [`HEAD_TIMEOUT`].
//!
//! Shutdown is graceful: the accept loop stops, every open connection finishes the exchange it
//! is serving and is closed, for at most the grace period. Exchanges still unanswered when the
//! grace period runs out are abandoned; [`serve`] returns how many, so that the proxy can say
//! so and exit non-zero instead of claiming a clean stop.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::fault::conn::{ConnControl, Guarded};
use crate::stack::Stack;

/// How long a client may take to send its TLS handshake or its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Counts exchanges between the request's arrival and the stack's answer. A guard, so that a
/// request whose connection is dropped mid-way is uncounted too.
struct InFlight(Arc<AtomicU64>);

impl InFlight {
    fn enter(count: &Arc<AtomicU64>) -> InFlight {
        count.fetch_add(1, Ordering::SeqCst);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Accepts and serves until `shutdown` turns true, then drains for at most `grace`. Returns
/// the number of exchanges abandoned: still unanswered when the grace period ran out.
pub async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stack: Arc<Stack>,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) -> u64 {
    let in_flight = Arc::new(AtomicU64::new(0));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .keep_alive(true)
        // One write per answer, head and body flattened into one buffer, rather than writev
        // of both: 3-6% less CPU per request in the benchmark (answers are a few KiB, so the
        // copy is cheaper than the vectored call).
        .writev(false);
    let builder = Arc::new(builder);
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, never spin or die.
                        tracing::error!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(
                    stream,
                    tls.clone(),
                    builder.clone(),
                    stack.clone(),
                    graceful.watcher(),
                    in_flight.clone(),
                ));
            }
        }
    }
    drop(listener);
    match tokio::time::timeout(grace, graceful.shutdown()).await {
        Ok(()) => 0,
        // Idle keep-alive connections close at once; what keeps a connection open past the
        // grace period is an exchange in flight, and those are what a client loses.
        Err(_) => in_flight.load(Ordering::SeqCst),
    }
}

async fn connection(
    stream: TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    stack: Arc<Stack>,
    watcher: Watcher,
    in_flight: Arc<AtomicU64>,
) {
    // Each request can ask for its connection to be reset or closed (fault injection); the
    // socket is wrapped so that dropping it can send a RST (see `fault/conn.rs`).
    let control = ConnControl::new();
    let request_control = control.clone();
    let service = hyper::service::service_fn(move |mut req: http::Request<_>| {
        let stack = stack.clone();
        req.extensions_mut().insert(request_control.clone());
        let guard = InFlight::enter(&in_flight);
        // Boxed: hyper keeps room for the service's future in every connection, busy or
        // idle, and the whole stack's future is kilobytes; boxed, an idle connection holds a
        // pointer and the memory is only taken while a request is in flight.
        Box::pin(async move {
            let answer = stack.handle(req).await;
            drop(guard);
            Ok::<_, Infallible>(answer)
        })
    });
    let Some(acceptor) = tls else {
        let conn =
            builder.serve_connection(TokioIo::new(Guarded::new(stream, control.clone())), service);
        tokio::select! {
            _ = watcher.watch(conn.into_owned()) => {}
            () = control.dropped() => {}
        }
        return;
    };
    let mut first = [0u8; 1];
    match tokio::time::timeout(HEAD_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(1)) if first[0] == 0x16 => {
            // A failed or slow handshake is the client's problem: the connection just closes.
            let guarded = Guarded::new(stream, control.clone());
            // Boxed, the handshake and the TLS connection: a task keeps room for the largest
            // state of its future, and a TLS session is kilobytes that a plain connection's
            // task would otherwise carry too.
            if let Ok(Ok(tls_stream)) =
                Box::pin(tokio::time::timeout(HEAD_TIMEOUT, acceptor.accept(guarded))).await
            {
                let conn = builder.serve_connection(TokioIo::new(tls_stream), service);
                tokio::select! {
                    _ = Box::pin(watcher.watch(conn.into_owned())) => {}
                    () = control.dropped() => {}
                }
            }
        }
        Ok(Ok(1)) => {
            let conn = builder
                .serve_connection(TokioIo::new(Guarded::new(stream, control.clone())), service);
            tokio::select! {
                _ = watcher.watch(conn.into_owned()) => {}
                () = control.dropped() => {}
            }
        }
        Ok(Ok(_)) | Ok(Err(_)) | Err(_) => {}
    }
}
