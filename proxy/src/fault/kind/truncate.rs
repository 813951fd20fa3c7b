//! `kind = "truncate"`: the upstream's answer, sent as a 200 whose JSON body is cut short
//! (with a `Content-Length` that matches what is sent, so the HTTP exchange is well formed
//! and only the JSON is broken).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::FieldProblem;
use crate::answer::BufferedResponse;

/// Cut the answer's body short.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Truncate {
    /// Bytes kept; by default half the body (at least one byte short of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_bytes: Option<usize>,
}

impl Truncate {
    /// Nothing to check beyond the type; kept for symmetry with the other kinds.
    pub fn validate(&self) -> Result<(), FieldProblem> {
        Ok(())
    }

    /// The truncated answer.
    pub fn apply(&self, mut resp: BufferedResponse) -> BufferedResponse {
        let len = resp.body.len();
        let keep = self
            .keep_bytes
            .unwrap_or(len / 2)
            .min(len.saturating_sub(1));
        resp.body = Bytes::copy_from_slice(&resp.body[..keep]);
        resp.status = http::StatusCode::OK;
        resp.headers.remove(http::header::CONTENT_LENGTH);
        resp.headers.remove(cogcheck::wire::ERROR_TYPE_HEADER);
        resp
    }
}
