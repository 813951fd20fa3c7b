//! The upstream connection pool: keep-alive HTTP/1.1 connections to one upstream, over
//! `hyper::client::conn::http1`.
//!
//! Why not hyper-util's legacy client: when a request finds no idle connection, that client
//! starts a new connection *and* waits for a busy one to come back, uses whichever is first and
//! parks the other. Under load a connection is returned a few microseconds after the request
//! arrived, so nearly every connect it started was wasted: about 1,500 upstream connections for
//! 1,000 busy clients, each a handshake, a task and buffers. Here a request takes the most
//! recently returned idle connection (LIFO: the warmest, and the others age out) or connects;
//! it never does both. A connection goes back to the pool the moment its answer's body has been
//! read to the end, so no task runs per request to watch for it.
//!
//! At most `max_idle` connections are kept idle (as nginx's `keepalive N`); more may be open
//! while a burst lasts. An idle connection older than `idle_timeout` is closed when the pool is
//! next touched. When a burst is over and connections beyond the cap close, glibc keeps the
//! memory they and their requests used (it only gives back the top of the heap); the pool then
//! asks it to return free pages (`malloc_trim`), at most once a second, off the runtime thread. A pooled connection the upstream closed in the meantime is noticed before
//! use, or, if the race is lost, its request comes back unsent and goes out on another one.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::answer::ProxyBody;

/// Why a request got no answer.
#[derive(Debug)]
pub enum PoolError {
    /// The TCP connect or the TLS handshake failed.
    Connect(String),
    /// The exchange failed on an open connection.
    Http(hyper::Error),
}

/// Connections to one upstream.
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    idle: Mutex<Vec<Idle>>,
    max_idle: usize,
    idle_timeout: Duration,
    host: String,
    port: u16,
    tls: Option<(
        tokio_rustls::TlsConnector,
        rustls::pki_types::ServerName<'static>,
    )>,
    /// Milliseconds after `epoch` before which no trim starts (see [`Inner::trim_soon`]).
    next_trim: AtomicU64,
    epoch: Instant,
}

struct Idle {
    sender: SendRequest<ProxyBody>,
    since: Instant,
}

impl Pool {
    /// A pool for `uri`'s scheme, host and port; `tls` is used for `https`.
    pub fn new(
        uri: &http::Uri,
        tls: rustls::ClientConfig,
        max_idle: usize,
        idle_timeout: Duration,
    ) -> std::result::Result<Pool, String> {
        let https = uri.scheme_str() == Some("https");
        let host = uri
            .host()
            .ok_or_else(|| format!("{uri}: no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tls = if https {
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|e| format!("{host}: not a name TLS can verify: {e}"))?;
            Some((tokio_rustls::TlsConnector::from(Arc::new(tls)), name))
        } else {
            None
        };
        Ok(Pool {
            inner: Arc::new(Inner {
                idle: Mutex::new(Vec::new()),
                max_idle,
                idle_timeout,
                host,
                port,
                tls,
                next_trim: AtomicU64::new(0),
                epoch: Instant::now(),
            }),
        })
    }

    /// Sends a request (origin-form URI, `Host` set) on an idle connection or a new one.
    pub async fn send(
        &self,
        mut req: http::Request<ProxyBody>,
    ) -> std::result::Result<http::Response<UpstreamBody>, PoolError> {
        // A fresh connection that fails before the request is written is tried once more;
        // pooled ones as long as there are any (each failure drops one).
        let mut fresh_attempts = 0;
        loop {
            let (mut sender, pooled) = match self.inner.checkout() {
                Some(s) => (s, true),
                None => {
                    fresh_attempts += 1;
                    (self.inner.connect().await?, false)
                }
            };
            if pooled && sender.ready().await.is_err() {
                continue;
            }
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    let (head, incoming) = resp.into_parts();
                    let body = UpstreamBody {
                        inner: incoming,
                        release: Some((sender, self.inner.clone())),
                    };
                    return Ok(http::Response::from_parts(head, body));
                }
                Err(mut e) => match e.take_message() {
                    Some(unsent) if pooled || fresh_attempts < 2 => req = unsent,
                    _ => return Err(PoolError::Http(e.into_error())),
                },
            }
        }
    }

    /// Idle connections now (for tests).
    #[cfg(test)]
    fn idle(&self) -> usize {
        self.inner.idle.lock().map(|i| i.len()).unwrap_or(0)
    }
}

impl Inner {
    fn checkout(&self) -> Option<SendRequest<ProxyBody>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(i) = idle.pop() {
            if i.since.elapsed() > self.idle_timeout {
                // The newest is too old: so is every other.
                idle.clear();
                return None;
            }
            if !i.sender.is_closed() {
                return Some(i.sender);
            }
        }
        None
    }

    fn checkin(&self, sender: SendRequest<ProxyBody>) {
        if sender.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let expired = idle
            .iter()
            .take_while(|i| now.duration_since(i.since) > self.idle_timeout)
            .count();
        idle.drain(..expired);
        if idle.len() < self.max_idle {
            idle.push(Idle { sender, since: now });
        } else {
            drop(idle);
            drop(sender);
            self.trim_soon();
        }
    }

    /// A burst is ending (a connection beyond the idle cap just closed): once its connections
    /// and requests are freed, give the free pages back to the system. At most once a second.
    fn trim_soon(&self) {
        const EVERY_MS: u64 = 1000;
        let now = self.epoch.elapsed().as_millis() as u64;
        let next = self.next_trim.load(Ordering::Relaxed);
        if now < next
            || self
                .next_trim
                .compare_exchange(next, now + EVERY_MS, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async {
            // The other connections of the burst close in the next moments.
            tokio::time::sleep(Duration::from_millis(250)).await;
            let _ = tokio::task::spawn_blocking(release_free_memory).await;
        });
    }

    async fn connect(&self) -> std::result::Result<SendRequest<ProxyBody>, PoolError> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| PoolError::Connect(format!("tcp connect error: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let io = match &self.tls {
            None => Stream::Plain(tcp),
            Some((connector, name)) => Stream::Tls(Box::new(
                connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| PoolError::Connect(format!("TLS handshake failed: {e}")))?,
            )),
        };
        // As the listener: one flattened write per request (see listener.rs).
        let (sender, conn) = http1::Builder::new()
            .writev(false)
            .handshake(TokioIo::new(io))
            .await
            .map_err(PoolError::Http)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }
}

/// Returns the allocator's free pages to the system (glibc: `malloc_trim`; elsewhere the
/// allocator's own policy stands).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no pointer.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// An answer's body; its connection goes back to the pool once the body has been read to the
/// end (a body dropped half-read takes its connection with it: it cannot be reused).
pub struct UpstreamBody {
    inner: Incoming,
    release: Option<(SendRequest<ProxyBody>, Arc<Inner>)>,
}

impl UpstreamBody {
    fn release(&mut self) {
        if let Some((sender, pool)) = self.release.take() {
            pool.checkin(sender);
        }
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => this.release(),
            Poll::Ready(Some(Ok(_))) if this.inner.is_end_stream() => this.release(),
            Poll::Ready(Some(Err(_))) => this.release = None,
            Poll::Ready(Some(Ok(_))) | Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        // An empty body (204, HEAD) is never polled; one read to its end was released already.
        if self.inner.is_end_stream() {
            self.release();
        }
    }
}

/// A connection to the upstream, plain or TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An upstream that counts its connections and answers every request on each with `body`.
    async fn upstream(body: &'static str) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
        upstream_closing(body, false).await
    }

    /// As [`upstream`]; with `close`, each connection is closed after its first answer,
    /// without saying so (as an upstream's keep-alive timeout does).
    async fn upstream_closing(
        body: &'static str,
        close: bool,
    ) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut seen = Vec::new();
                    loop {
                        let n = match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        seen.extend_from_slice(&buf[..n]);
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            let answer = format!(
                                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if s.write_all(answer.as_bytes()).await.is_err() || close {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (addr, accepted)
    }

    fn pool_for(addr: std::net::SocketAddr, max_idle: usize) -> Pool {
        let uri: http::Uri = format!("http://{addr}").parse().unwrap();
        let tls = crate::tls::upstream(&crate::upstream::UpstreamTrust::PublicRoots).unwrap();
        Pool::new(&uri, tls, max_idle, Duration::from_secs(60)).unwrap()
    }

    fn get(addr: std::net::SocketAddr) -> http::Request<ProxyBody> {
        http::Request::builder()
            .uri("/")
            .header("host", addr.to_string())
            .body(crate::answer::full(Bytes::new()))
            .unwrap()
    }

    #[tokio::test]
    async fn sequential_requests_share_one_connection() {
        let (addr, accepted) = upstream("hello").await;
        let pool = pool_for(addr, 4);
        for _ in 0..20 {
            let resp = pool.send(get(addr)).await.unwrap();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"hello");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert_eq!(pool.idle(), 1);
    }

    #[tokio::test]
    async fn concurrent_clients_open_no_more_connections_than_they_are() {
        let (addr, accepted) = upstream("x").await;
        let pool = Arc::new(pool_for(addr, 64));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..50 {
                    let resp = pool.send(get(addr)).await.unwrap();
                    resp.into_body().collect().await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let opened = accepted.load(Ordering::SeqCst);
        assert!(
            (1..=16).contains(&opened),
            "16 clients opened {opened} connections"
        );
    }

    #[tokio::test]
    async fn a_connection_the_upstream_closed_is_not_used_again() {
        let (addr, accepted) = upstream_closing("bye", true).await;
        let pool = pool_for(addr, 4);
        for _ in 0..10 {
            let resp = pool.send(get(addr)).await.unwrap();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"bye");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 10);
    }

    #[tokio::test]
    async fn idle_connections_beyond_the_cap_are_closed() {
        let (addr, _) = upstream("x").await;
        let pool = Arc::new(pool_for(addr, 2));
        // Five answers held at once need five connections; only two stay.
        let mut held = Vec::new();
        for _ in 0..5 {
            held.push(pool.send(get(addr)).await.unwrap());
        }
        for resp in held {
            resp.into_body().collect().await.unwrap();
        }
        assert_eq!(pool.idle(), 2);
    }

    #[tokio::test]
    async fn a_half_read_answer_does_not_return_its_connection() {
        let (addr, accepted) = upstream("a longer body").await;
        let pool = pool_for(addr, 4);
        let resp = pool.send(get(addr)).await.unwrap();
        drop(resp);
        assert_eq!(pool.idle(), 0);
        let resp = pool.send(get(addr)).await.unwrap();
        resp.into_body().collect().await.unwrap();
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }
}
