//! The decisions file (`--fault-log FILE`): one JSON line per rule that selected a request,
//! and per quota throttle, appended, so a failing run can be explained and replayed.
//!
//! Format `cogcheck-fault-decisions/1`, one object per line:
//!
//! | member | meaning |
//! |---|---|
//! | `seq` | the proxy's sequence number of the request (0-based, per run) |
//! | `request_id` | the `x-amzn-RequestId` of an answer the fault layer made, else a fresh id |
//! | `ms` | milliseconds since the proxy started |
//! | `action` | the action |
//! | `rule` | the rule id, or `quota:<Category>` for a quota throttle |
//! | `n` | how many requests this rule has selected, this one included (1-based) |
//! | `draw` | the rule's draw in [0, 1), or `null` when the key field was missing; in a replay, the replayed line's draw (`null` when unmatched) |
//! | `fired` | the rule's conditions held (draw below probability, counts, window); in a replay, as the replayed line says |
//! | `forced` | fired by the `x-cogcheck-fault` header |
//! | `applied` | the fault acted (a fired rule does not when an earlier rule's fault won) |
//! | `fault` | the fault kind |
//! | `match` | the request's match key: action, then `\|Username=` (a keyed digest, never the name), `\|AuthFlow=`, `\|ChallengeName=` values the body has (`replay.rs`; the digest key is kept in `FILE.key`, not in the log) |
//! | `occurrence` | how many requests with this `match` the rule has selected, this one included (1-based); `null` when it did not select it (forced only, quota) |
//! | `delay_ms` | the delay of a latency rule that fired, in milliseconds; else `null` |
//! | `replayed` | only with `--fault-replay`: `"matched"` (decided by the replayed file) or `"unmatched"` (not in it: the rule does not fire, unless forced); `null` when the rule did not select the request |
//!
//! A quota line (`rule` = `quota:<Category>`) is informational: `--fault-replay` skips it and
//! the buckets decide again.
//!
//! Lines of one request are written together, with one `write(2)`, so concurrent requests
//! never interleave within a line.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde_json::Value;

use crate::error::{Error, Result};

/// The format name, on every line.
pub const FORMAT: &str = "cogcheck-fault-decisions/1";

/// An append-only decisions file.
pub struct DecisionLog {
    file: Mutex<File>,
}

impl DecisionLog {
    /// Opens (creates or appends to) the file.
    pub fn open(path: &Path) -> Result<DecisionLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(DecisionLog {
            file: Mutex::new(file),
        })
    }

    /// Appends the decisions of one request.
    pub fn write(&self, lines: &[Value]) {
        if lines.is_empty() {
            return;
        }
        let mut text = String::new();
        for l in lines {
            text.push_str(&l.to_string());
            text.push('\n');
        }
        let mut file = match self.file.lock() {
            Ok(f) => f,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Err(e) = file.write_all(text.as_bytes()) {
            tracing::error!(error = %e, "cannot write the fault decisions file");
        }
    }
}
