//! Reaching the client's socket from inside a request: how `reset` and `close` work.
//!
//! hyper owns the connection's socket while it serves a request, and a service cannot reach
//! it. Rather than take the connection away from hyper (upgrades work for HTTP/1 only and
//! change the protocol), the listener wraps each accepted socket in a [`Guarded`] stream
//! and gives every request of that connection a [`ConnControl`] (a request extension).
//! A fault asks the control to drop the connection; the listener's connection task, which
//! waits on it beside hyper, drops hyper's connection and with it the socket. On the way,
//! [`Guarded`]'s `Drop` sets `SO_LINGER` to 0 when a reset was asked for, so the kernel
//! sends a RST instead of a FIN: the client sees `ECONNRESET`, exactly as when a load
//! balancer or Cognito's front end resets. A clean close drops the socket as it is (FIN).
//!
//! The same works for HTTP/1.1 and HTTP/2, plain or TLS (the TLS stream wraps the guarded
//! socket). For HTTP/2 the whole connection goes, with every stream on it: that is what a
//! reset does.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

const CLOSE: u8 = 1;
const RESET: u8 = 2;

/// The handle a request has on its connection.
#[derive(Debug, Default)]
pub struct ConnControl {
    how: AtomicU8,
    drop_now: Notify,
}

impl ConnControl {
    /// A control for a new connection.
    pub fn new() -> Arc<ConnControl> {
        Arc::new(ConnControl::default())
    }

    /// Asks the listener to drop the connection: reset (RST) or clean close (FIN).
    pub fn disconnect(&self, reset: bool) {
        self.how
            .store(if reset { RESET } else { CLOSE }, Ordering::SeqCst);
        // `notify_one` keeps a permit when the connection task is not waiting yet.
        self.drop_now.notify_one();
    }

    /// Resolves when a request asked for the connection to go.
    pub async fn dropped(&self) {
        self.drop_now.notified().await;
    }

    fn wants_reset(&self) -> bool {
        self.how.load(Ordering::SeqCst) == RESET
    }
}

/// A client socket that resets instead of closing when its [`ConnControl`] says so.
pub struct Guarded {
    inner: TcpStream,
    control: Arc<ConnControl>,
}

impl Guarded {
    /// Wraps an accepted socket.
    pub fn new(inner: TcpStream, control: Arc<ConnControl>) -> Guarded {
        Guarded { inner, control }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if self.control.wants_reset() {
            // Linger 0 never blocks: close(2) discards the send queue and sends a RST.
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
