//! `kind = "slow_body"`: the upstream's answer, its body sent at `bytes_per_second`, in
//! chunks ten times a second, so clients with a read timeout shorter than the transfer see it
//! fire mid-body.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame};
use serde::{Deserialize, Serialize};

use super::FieldProblem;
use crate::answer::{BoxError, ProxyBody};

/// Trickle the answer's body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlowBody {
    /// The rate, in bytes per second.
    pub bytes_per_second: u64,
}

const TICK: Duration = Duration::from_millis(100);

impl SlowBody {
    /// Checks the rate is positive.
    pub fn validate(&self) -> Result<(), FieldProblem> {
        if self.bytes_per_second == 0 {
            return Err(("bytes_per_second".into(), "must be at least 1".into()));
        }
        Ok(())
    }

    /// The body, trickled.
    pub fn body(&self, body: Bytes) -> ProxyBody {
        use http_body_util::BodyExt;
        let chunk = (self.bytes_per_second / 10).max(1) as usize;
        let tick = if self.bytes_per_second >= 10 {
            TICK
        } else {
            Duration::from_secs_f64(1.0 / self.bytes_per_second as f64)
        };
        Trickle {
            rest: body,
            chunk,
            tick,
            sleep: None,
        }
        .boxed_unsync()
    }
}

/// A body that yields `chunk` bytes every `tick`.
struct Trickle {
    rest: Bytes,
    chunk: usize,
    tick: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Body for Trickle {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.rest.is_empty() {
            return Poll::Ready(None);
        }
        let tick = self.tick;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(tick)));
        match sleep.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                self.sleep = None;
                let n = self.chunk.min(self.rest.len());
                let piece = self.rest.split_to(n);
                Poll::Ready(Some(Ok(Frame::data(piece))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.rest.len() as u64)
    }
}

use std::future::Future as _;
