//! The recorder, and the cassette format it writes.
//!
//! # Cassette format: `cogcheck-cassette/1`
//!
//! A cassette is a UTF-8 file of JSON lines. The first line is a header; every other line is
//! one exchange, in the order the exchanges completed.
//!
//! ```json
//! {"cassette":"cogcheck-cassette/1","created":"2025-01-01T00:00:00Z","proxy":"cogcheck-proxy 0.1.0"}
//! ```
//!
//! An exchange line:
//!
//! ```json
//! {"seq":1,"time":"2025-01-01T00:00:00.123Z","action":"InitiateAuth","signed":false,
//!  "upstream":"http://127.0.0.1:5000",
//!  "request":{"method":"POST","path":"/",
//!             "headers":[["content-type","application/x-amz-json-1.1"],["x-amz-target","AWSCognitoIdentityProviderService.InitiateAuth"]],
//!             "body":{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"<secret:1>","AuthParameters":{"USERNAME":"<secret:2>","PASSWORD":"<secret:3>"}}},
//!  "response":{"status":200,"headers":[["content-type","application/x-amz-json-1.1"]],
//!              "body":{"AuthenticationResult":{"AccessToken":"<secret:4>","ExpiresIn":3600}}},
//!  "latency_ms":12.5}
//! ```
//!
//! | field | meaning |
//! |---|---|
//! | `seq` | 1-based, increasing through the file, also across appending runs |
//! | `time` | when the request arrived, RFC 3339, UTC |
//! | `action` | the action from `X-Amz-Target` when the model knows it; absent otherwise |
//! | `target` | the raw `X-Amz-Target` of an API call the model does not know |
//! | `signed` | the request arrived with an `Authorization` header |
//! | `upstream` | where it was sent (the upstream URL) |
//! | `request.method`, `request.path` | method and path with query |
//! | `*.headers` | `[name, value]` pairs in arrival order, lowercase names, hop-by-hop headers left out |
//! | `*.body` | the body when it is JSON |
//! | `*.body_text` | the body when it is UTF-8 but not JSON (form posts) |
//! | `*.body_base64` | any other body; no body field at all for an empty body |
//! | `response` | what the client received: upstream's answer, or the proxy's own error answer |
//! | `latency_ms` | from the request's arrival to the complete answer |
//! | `error` | present when the upstream failed: `{"kind":..., "message":...}`, `kind` one of `upstream_unreachable`, `upstream_timeout`, `request_too_large` |
//! | `secrets` | what replay needs to know about the placeholders that first appear in this exchange, never the secrets (see `secret_notes.rs`) |
//!
//! Secrets are `<secret:N>` placeholders (see `redact.rs` for what is a secret and how the
//! numbers stay stable). Readers must ignore fields they do not know; a change that breaks
//! readers bumps the version in the header.
//!
//! # Durability
//!
//! Exchanges go to one writer task through a bounded channel: a full channel makes request
//! handlers wait (backpressure) rather than drop anything. The writer groups whatever is
//! queued into one `write(2)`, then acknowledges each exchange, and the proxy sends an answer
//! to its client only after that acknowledgement. So an answered exchange is in the kernel's
//! hands before the client sees it, and survives a crash of the proxy; on shutdown the writer
//! drains the channel and fsyncs. A crash in the middle of a write can leave a torn last line
//! belonging to exchanges nobody was answered for; the loader reports it and the next
//! recording run cuts it off before appending.
//!
//! The writer is a task on the proxy's runtime, not a thread of its own, and it writes with
//! plain (blocking) `write(2)` calls, as nginx writes its access log from its event loop: a
//! batch goes into the page cache in microseconds, while handing each batch to a thread and
//! taking the acknowledgements back cost two thread switches, about a sixth of a recorded
//! exchange's CPU on the one core the benchmark gives the proxy (52 -> 44 us at 16
//! connections, `benches/vs-nginx.sh`). What this gives up: while the disk stalls a write (or
//! a rotation's fsync), the worker thread running the writer stalls with it, where a thread
//! would have kept serving the admin API; handlers that record wait for the disk either way.
//!
//! A failed write (a full disk) is reported on standard error and counted in the admin API's
//! `/cassette` and `/metrics` as dropped records, and the answer still goes to the client: a
//! proxy in staging should not take the application down because its recording failed. The
//! file is cut back to its last whole line, so it stays valid JSONL and the next write that
//! fits (space freed, or a rotation) appends cleanly.
//!
//! # Rotation
//!
//! With `--record-max-mb`, a write that would take the file past the cap first closes it
//! (fsync), renames it `<stem>.<N>.jsonl` (N one more than the highest present) and starts a
//! fresh file with its own header; `seq` goes on increasing across the files and placeholders
//! stay stable for the life of the process. Only the newest `--record-keep` rotated files are
//! kept. Each file is a complete cassette that `--replay` reads on its own.

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use cogcheck::model::Model;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::answer::BufferedResponse;
use crate::error::{Error, Result};
use crate::redact::{self, Origin, Redactor};
use crate::secret_notes::{CassetteKey, Notes};

/// The format and version written in every cassette's header.
pub const FORMAT: &str = "cogcheck-cassette/1";

/// The first line of a cassette.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`].
    pub cassette: String,
    /// When the cassette was created, RFC 3339.
    #[serde(default)]
    pub created: String,
    /// The program that wrote it.
    #[serde(default)]
    pub proxy: String,
}

/// One recorded exchange (one line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedExchange {
    /// Position in the cassette.
    pub seq: u64,
    /// When the request arrived.
    pub time: String,
    /// The action, when the model knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The raw target of an unknown API call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// True when the request carried `Authorization`.
    #[serde(default)]
    pub signed: bool,
    /// Where it went.
    #[serde(default)]
    pub upstream: String,
    /// The request.
    pub request: RecordedRequest,
    /// What the client received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<RecordedResponse>,
    /// Arrival to complete answer.
    #[serde(default)]
    pub latency_ms: f64,
    /// What went wrong upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RecordedError>,
    /// Notes about the placeholders that first appear in this exchange (`secret_notes.rs`).
    #[serde(default, skip_serializing_if = "Notes::is_empty")]
    pub secrets: Notes,
}

/// A recorded request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// `POST`.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The body, by encoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// A JSON body written as it came, in place of `body`, when redaction would change nothing
    /// in it (see `verbatim_json`). Only the recorder sets it; reading a cassette fills `body`.
    #[serde(
        rename = "body",
        default,
        skip_deserializing,
        skip_serializing_if = "Option::is_none"
    )]
    pub body_verbatim: Option<Box<RawValue>>,
    /// A UTF-8 body that is not JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
    /// Any other body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

/// A recorded response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The body, when JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// A JSON body written as it came, in place of `body`, when redaction would change nothing
    /// in it (see `verbatim_json`). Only the recorder sets it; reading a cassette fills `body`.
    #[serde(
        rename = "body",
        default,
        skip_deserializing,
        skip_serializing_if = "Option::is_none"
    )]
    pub body_verbatim: Option<Box<RawValue>>,
    /// A UTF-8 body that is not JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
    /// Any other body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

/// What went wrong with an exchange.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedError {
    /// `upstream_unreachable`, `upstream_timeout`, `request_too_large`.
    pub kind: String,
    /// Details.
    pub message: String,
}

/// The body encodings.
struct EncodedBody {
    json: Option<Value>,
    verbatim: Option<Box<RawValue>>,
    text: Option<String>,
    base64: Option<String>,
}

impl RecordedResponse {
    /// The body bytes to send when replaying.
    pub fn body_bytes(&self) -> Bytes {
        decode_body(&self.body, &self.body_text, &self.body_base64)
    }
}

impl RecordedRequest {
    /// The body bytes as recorded (with placeholders).
    pub fn body_bytes(&self) -> Bytes {
        decode_body(&self.body, &self.body_text, &self.body_base64)
    }
}

fn decode_body(json: &Option<Value>, text: &Option<String>, b64: &Option<String>) -> Bytes {
    if let Some(v) = json {
        return Bytes::from(v.to_string());
    }
    if let Some(t) = text {
        return Bytes::from(t.clone());
    }
    if let Some(b) = b64 {
        if let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b) {
            return Bytes::from(raw);
        }
    }
    Bytes::new()
}

/// An exchange as it happened, secrets included. Only the writer task turns it into a
/// [`RecordedExchange`], redacting on the way.
#[derive(Debug)]
pub struct Exchange {
    /// Arrival time.
    pub time: SystemTime,
    /// The action, if known to the model.
    pub action: Option<String>,
    /// Raw target for unknown API calls.
    pub target: Option<String>,
    /// `Authorization` present.
    pub signed: bool,
    /// The model's input shape.
    pub input_shape: Option<&'static str>,
    /// The model's output shape.
    pub output_shape: Option<&'static str>,
    /// True for API calls (JSON bodies), false for other requests.
    pub is_api: bool,
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Request headers, hop-by-hop removed.
    pub request_headers: http::HeaderMap,
    /// Request body (empty when it was refused unread).
    pub request_body: Bytes,
    /// What the client received.
    pub response: Option<BufferedResponse>,
    /// Arrival to complete answer.
    pub latency: Duration,
    /// Upstream URL.
    pub upstream: String,
    /// Error kind and message.
    pub error: Option<(&'static str, String)>,
}

enum Msg {
    /// Acknowledged with the `seq` the exchange got in the cassette.
    Exchange(Box<Exchange>, oneshot::Sender<u64>),
    Close(oneshot::Sender<Result<()>>),
}

/// Counters the admin API shows.
#[derive(Debug, Default)]
pub struct RecorderCounters {
    /// Exchanges written by this run.
    pub written: AtomicU64,
    /// Exchanges dropped because their write failed (a full disk).
    pub write_errors: AtomicU64,
    /// Times the cassette was rotated.
    pub rotations: AtomicU64,
}

/// The size cap of a cassette being recorded (`--record-max-mb`, `--record-keep`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate before a write that would take the file past this many bytes; `None`: never.
    pub max_bytes: Option<u64>,
    /// Rotated files kept; older ones are deleted.
    pub keep: usize,
}

impl Default for Rotation {
    fn default() -> Rotation {
        Rotation {
            max_bytes: None,
            keep: 10,
        }
    }
}

/// `run.jsonl` → `run.<n>.jsonl` beside it.
pub fn rotated_path(path: &Path, n: u64) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(|| "cassette".into(), |s| s.to_string_lossy().into_owned());
    let ext = path
        .extension()
        .map_or_else(|| "jsonl".into(), |s| s.to_string_lossy().into_owned());
    path.with_file_name(format!("{stem}.{n}.{ext}"))
}

/// The numbers of the rotated files of `path` present now, ascending.
fn rotated_numbers(path: &Path) -> Vec<u64> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut found: Vec<u64> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| rotated_number(path, &e.file_name().to_string_lossy()))
                .collect()
        })
        .unwrap_or_default();
    found.sort_unstable();
    found
}

/// `Some(n)` when `name` is `rotated_path(path, n)`'s file name.
fn rotated_number(path: &Path, name: &str) -> Option<u64> {
    let probe = rotated_path(path, 0);
    let template = probe.file_name()?.to_str()?;
    let (head, tail) = template.split_once(".0.")?;
    let middle = name.strip_prefix(head)?.strip_prefix('.')?;
    let number = middle.strip_suffix(tail)?.strip_suffix('.')?;
    number.parse().ok().filter(|n| *n > 0)
}

/// Writes exchanges to a cassette from a task of its own (see "Durability").
pub struct Recorder {
    tx: mpsc::Sender<Msg>,
    counters: Arc<RecorderCounters>,
    writer: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// How many exchanges may wait for the writer before request handlers wait too.
const QUEUE: usize = 1024;

impl Recorder {
    /// Opens (creating or appending to) a cassette and starts the writer task. Call it from
    /// within the runtime that serves the proxy.
    ///
    /// With a cassette key (`--cassette-key`), every new placeholder's digest is written, and
    /// the digests already in the cassette keep their numbers.
    pub fn open(path: &Path, rotation: Rotation, key: Option<CassetteKey>) -> Result<Recorder> {
        let mut state = existing_state(path)?;
        // After a rotation the fresh file may hold no exchange yet: numbering and placeholders
        // go on from the newest rotated file.
        if let Some(n) = rotated_numbers(path).last() {
            let newest = existing_state(&rotated_path(path, *n))?;
            state.max_seq = state.max_seq.max(newest.max_seq);
            state.max_placeholder = state.max_placeholder.max(newest.max_placeholder);
            state.digests.extend(newest.digests);
        }
        // A cassette can hold any number (edited, damaged): `seq` or `<secret:N>` at u64::MAX
        // leaves no next one, and `+ 1` panicked (found by proxy/tests/fuzz.rs). Refuse to
        // append, before the file is touched.
        let next = |n: u64, what: &str| {
            n.checked_add(1).ok_or_else(|| {
                Error::Recorder(format!(
                    "{}: the largest {what} is {n}, so no number is left to append with; \
                     record to a new cassette",
                    path.display()
                ))
            })
        };
        let first_placeholder = next(state.max_placeholder, "placeholder `<secret:N>`")?;
        let first_seq = next(state.max_seq, "`seq`")?;
        let (file, len) = open_for_append(path, state.valid_len)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let counters = Arc::new(RecorderCounters::default());
        let writer = Writer {
            file,
            len,
            path: path.to_path_buf(),
            rotation,
            redactor: match key {
                Some(key) => Redactor::with_key(first_placeholder, key, true, state.digests),
                None => Redactor::new(first_placeholder),
            },
            next_seq: first_seq,
            counters: counters.clone(),
            failing: false,
            holds_exchanges: state.max_seq > 0 && state.valid_len > 0,
        };
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| {
            Error::Recorder(format!("the recorder needs the proxy's async runtime: {e}"))
        })?;
        let task = runtime.spawn(writer.run(rx));
        Ok(Recorder {
            tx,
            counters,
            writer: std::sync::Mutex::new(Some(task)),
        })
    }

    /// Counters for the admin API.
    pub fn counters(&self) -> &RecorderCounters {
        &self.counters
    }

    /// Hands an exchange to the writer and waits until it is written. Waits, too, while the
    /// queue is full. The exchange's `seq` in the cassette; `None` if the recorder has already
    /// shut down.
    pub async fn record(&self, exchange: Exchange) -> Option<u64> {
        let (ack, written) = oneshot::channel();
        if self
            .tx
            .send(Msg::Exchange(Box::new(exchange), ack))
            .await
            .is_err()
        {
            return None;
        }
        written.await.ok()
    }

    /// Writes everything queued, fsyncs and stops the writer. Later `record` calls fail.
    pub async fn close(&self) -> Result<()> {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Close(ack)).await.is_err() {
            return Ok(());
        }
        let result = done
            .await
            .map_err(|_| Error::Recorder("the writer task stopped unexpectedly".into()))?;
        let handle = self.writer.lock().ok().and_then(|mut t| t.take());
        if let Some(h) = handle {
            let _ = h.await;
        }
        result
    }
}

/// Opens `path` for appending after its first `valid_len` bytes (cutting a torn last line, see
/// "Durability"), writing the header into an empty file. Returns the file and its length.
fn open_for_append(path: &Path, valid_len: u64) -> Result<(std::fs::File, u64)> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    file.set_len(valid_len)
        .and_then(|_| file.seek(std::io::SeekFrom::End(0)))
        .map_err(|e| Error::io(path, e))?;
    let mut len = valid_len;
    if valid_len == 0 {
        let header = Header {
            cassette: FORMAT.into(),
            created: rfc3339(SystemTime::now()),
            proxy: concat!("cogcheck-proxy ", env!("CARGO_PKG_VERSION")).into(),
        };
        let mut line = serde_json::to_vec(&header)
            .map_err(|e| Error::Recorder(format!("cannot encode header: {e}")))?;
        line.push(b'\n');
        if let Err(e) = file.write_all(&line) {
            // A half-written header would make the whole file unreadable.
            let _ = file.set_len(0);
            return Err(Error::io(path, e));
        }
        len = line.len() as u64;
    }
    Ok((file, len))
}

struct Writer {
    file: std::fs::File,
    /// Bytes in the file: everything up to the last whole line written.
    len: u64,
    path: PathBuf,
    rotation: Rotation,
    redactor: Redactor,
    next_seq: u64,
    counters: Arc<RecorderCounters>,
    /// The last write failed: the next success says recording resumed.
    failing: bool,
    /// The current file holds an exchange: a file with only its header is never rotated, so
    /// one batch larger than the cap still gets written.
    holds_exchanges: bool,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        let mut batch = Vec::with_capacity(64 * 1024);
        let mut acks = Vec::new();
        while let Some(first) = rx.recv().await {
            let mut close = None;
            let mut next = Some(first);
            // Group commit: everything already queued goes out in one write.
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Exchange(ex, ack) => {
                        let seq = self.encode(*ex, &mut batch);
                        acks.push((ack, seq));
                    }
                    Msg::Close(ack) => {
                        close = Some(ack);
                        break;
                    }
                }
                // Bounded, so one batch holds the worker thread for a few milliseconds at most.
                if acks.len() < 256 {
                    next = rx.try_recv().ok();
                }
            }
            if !batch.is_empty() {
                self.write_batch(&batch, acks.len() as u64);
                batch.clear();
            }
            for (ack, seq) in acks.drain(..) {
                let _ = ack.send(seq);
            }
            if let Some(ack) = close {
                // Nothing new can arrive after Close: the proxy stopped serving first.
                let result = self.file.sync_all().map_err(|e| Error::io(&self.path, e));
                let _ = ack.send(result);
                return;
            }
        }
        let _ = self.file.sync_all();
    }

    /// Writes one batch of `count` exchanges, rotating first when it would pass the cap. A
    /// failed write drops the batch (counted), cuts the file back to its last whole line and
    /// leaves the proxy serving.
    fn write_batch(&mut self, batch: &[u8], count: u64) {
        if let Some(max) = self.rotation.max_bytes {
            if self.holds_exchanges && self.len + batch.len() as u64 > max {
                if let Err(e) = self.rotate() {
                    tracing::warn!(
                        cassette = %self.path.display(),
                        "cannot rotate the cassette: {e}; writing on past --record-max-mb"
                    );
                }
            }
        }
        match self.file.write_all(batch) {
            Ok(()) => {
                self.len += batch.len() as u64;
                self.holds_exchanges = true;
                self.counters.written.fetch_add(count, Ordering::Relaxed);
                if self.failing {
                    self.failing = false;
                    tracing::warn!(
                        cassette = %self.path.display(),
                        "recording to {} works again",
                        self.path.display()
                    );
                }
            }
            Err(e) => {
                let dropped = self
                    .counters
                    .write_errors
                    .fetch_add(count, Ordering::Relaxed)
                    + count;
                // Part of the batch may have reached the file: cut it back so the cassette
                // stays whole lines, and so the next write does not land after a torn one.
                let cut = self
                    .file
                    .set_len(self.len)
                    .and_then(|()| self.file.seek(std::io::SeekFrom::End(0)).map(drop));
                if !self.failing || dropped.is_power_of_two() {
                    tracing::error!(
                        error = %e,
                        exchanges = count,
                        dropped,
                        cassette = %self.path.display(),
                        "RECORDS DROPPED: cannot write {count} exchange(s) to {}: {e} ({dropped} \
                         dropped so far; the proxy goes on serving){}",
                        self.path.display(),
                        match cut {
                            Ok(()) => String::new(),
                            Err(c) => format!("; could not cut the torn line: {c}"),
                        }
                    );
                }
                self.failing = true;
            }
        }
    }

    /// Closes the current file, renames it to the next number, deletes rotated files beyond
    /// `keep` and opens a fresh one.
    fn rotate(&mut self) -> Result<()> {
        self.file.sync_all().map_err(|e| Error::io(&self.path, e))?;
        let numbers = rotated_numbers(&self.path);
        let next = numbers.last().map_or(1, |n| n + 1);
        let to = rotated_path(&self.path, next);
        std::fs::rename(&self.path, &to).map_err(|e| Error::io(&to, e))?;
        self.counters.rotations.fetch_add(1, Ordering::Relaxed);
        let excess = (numbers.len() + 1).saturating_sub(self.rotation.keep);
        for n in numbers.iter().take(excess) {
            let old = rotated_path(&self.path, *n);
            if let Err(e) = std::fs::remove_file(&old) {
                tracing::warn!(cassette = %old.display(), "cannot delete the old cassette: {e}");
            }
        }
        let (file, len) = open_for_append(&self.path, 0)?;
        self.file = file;
        self.len = len;
        self.holds_exchanges = false;
        Ok(())
    }

    /// Appends the exchange's line to `out`; its `seq`.
    fn encode(&mut self, ex: Exchange, out: &mut Vec<u8>) -> u64 {
        let line = self.redact(ex);
        match serde_json::to_writer(&mut *out, &line) {
            Ok(()) => out.push(b'\n'),
            Err(e) => tracing::error!(error = %e, seq = line.seq, "cannot encode an exchange"),
        }
        line.seq
    }

    fn redact(&mut self, ex: Exchange) -> RecordedExchange {
        let seq = self.next_seq;
        // Saturating: a cassette opened at `seq` u64::MAX - 1 must not panic the writer
        // after its last number (see `Recorder::open`).
        self.next_seq = self.next_seq.saturating_add(1);
        let r = &mut self.redactor;
        r.set_origin(Origin::Request);
        let req_ct = content_type(&ex.request_headers);
        let req_body = encode_body(r, &ex.request_body, ex.is_api, ex.input_shape, &req_ct);
        let request = RecordedRequest {
            method: ex.method,
            path: ex.path,
            headers: r.redact_headers(&ex.request_headers),
            body: req_body.json,
            body_verbatim: req_body.verbatim,
            body_text: req_body.text,
            body_base64: req_body.base64,
        };
        let response = ex.response.map(|resp| {
            // Only a success body is an instance of the output shape; errors are walked by name.
            let shape = if resp.status.is_success() {
                ex.output_shape
            } else {
                None
            };
            let ct = content_type(&resp.headers);
            r.set_origin(Origin::Answer);
            let body = encode_body(r, &resp.body, ex.is_api, shape, &ct);
            RecordedResponse {
                status: resp.status.as_u16(),
                headers: r.redact_headers(&resp.headers),
                body: body.json,
                body_verbatim: body.verbatim,
                body_text: body.text,
                body_base64: body.base64,
            }
        });
        RecordedExchange {
            seq,
            time: rfc3339(ex.time),
            action: ex.action,
            target: ex.target,
            signed: ex.signed,
            upstream: ex.upstream,
            request,
            response,
            latency_ms: (ex.latency.as_secs_f64() * 1e6).round() / 1e3,
            error: ex.error.map(|(kind, message)| RecordedError {
                kind: kind.into(),
                message: r.redact_jwts(&message).unwrap_or(message),
            }),
            secrets: r.take_notes(),
        }
    }
}

fn content_type(headers: &http::HeaderMap) -> String {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn encode_body(
    r: &mut Redactor,
    body: &[u8],
    is_api: bool,
    shape: Option<&str>,
    content_type: &str,
) -> EncodedBody {
    let mut out = EncodedBody {
        json: None,
        verbatim: None,
        text: None,
        base64: None,
    };
    if body.is_empty() {
        return out;
    }
    if is_api {
        if let Some(raw) = verbatim_json(r, body, shape) {
            out.verbatim = Some(raw);
            return out;
        }
    }
    let json = serde_json::from_slice::<Value>(body)
        .ok()
        // A JSON `null` body would be written `"body":null`, which reads back as no body at
        // all: keep it as text, so replay sends `null` again (found by proxy/tests/fuzz.rs).
        .filter(|v| !v.is_null());
    if let Some(mut v) = json {
        // API bodies with a shape are walked by the model; everything else by name.
        r.redact_json(if is_api { shape } else { None }, &mut v);
        out.json = Some(v);
    } else if let Ok(text) = std::str::from_utf8(body) {
        out.text = Some(
            if content_type.starts_with("application/x-www-form-urlencoded") {
                r.redact_form(text)
            } else {
                r.redact_jwts(text).unwrap_or_else(|| text.to_string())
            },
        );
    } else {
        out.base64 = Some(base64::engine::general_purpose::STANDARD.encode(body));
    }
    out
}

/// `body` as it came, when it can go into the cassette so: redacting it would change nothing,
/// so parsing it into a tree and writing the tree out again (most of what recording an
/// exchange cost) is skipped. That holds when
/// - its shape can hold no secret the model or fixtures/secrets.toml knows of (errors and
///   bodies without a shape are walked by member name, so they never qualify);
/// - it has no escape (`\`), so each of its strings is exactly its bytes, and the byte
///   searches below see what the walk would see;
/// - no string in it can be a JWT (`eyJ` appears nowhere) or repeat one of the request's
///   secrets (an answer that echoes a password or a signature);
/// - it is one line of valid JSON other than `null` (validated once, without building a tree).
fn verbatim_json(r: &Redactor, body: &[u8], shape: Option<&str>) -> Option<Box<RawValue>> {
    let plain = !Model::get().may_hold_secret(shape?)
        && memchr::memchr3(b'\\', b'\n', b'\r', body).is_none()
        && memchr::memmem::find(body, b"eyJ").is_none()
        && !r.echoed_in(body);
    if !plain {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    let raw = RawValue::from_string(text.to_owned()).ok()?;
    (raw.get() != "null").then_some(raw)
}

/// RFC 3339 in UTC with milliseconds.
pub fn rfc3339(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// A cassette read from disk.
#[derive(Debug)]
pub struct Cassette {
    /// Its header.
    pub header: Option<Header>,
    /// Its exchanges, in order.
    pub exchanges: Vec<RecordedExchange>,
    /// True when the last line was torn (see "Durability") and left out.
    pub torn_tail: bool,
}

struct ExistingState {
    valid_len: u64,
    max_seq: u64,
    max_placeholder: u64,
    /// Digest to number, from the notes of a cassette recorded with a cassette key.
    digests: std::collections::HashMap<[u8; 32], u64>,
}

fn existing_state(path: &Path) -> Result<ExistingState> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(ExistingState {
                valid_len: 0,
                max_seq: 0,
                max_placeholder: 0,
                digests: Default::default(),
            })
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let cassette = parse(path, &text)?;
    let valid_len = if cassette.torn_tail {
        text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) as u64
    } else {
        text.len() as u64
    };
    let max_seq = cassette.exchanges.iter().map(|e| e.seq).max().unwrap_or(0);
    let max_placeholder = redact::max_placeholder(&String::from_utf8_lossy(&text));
    let mut digests = std::collections::HashMap::new();
    for (n, note) in cassette.exchanges.iter().flat_map(|e| &e.secrets) {
        if let Some(d) = note.digest.as_deref().and_then(crate::secret_notes::unhex) {
            digests.insert(d, *n);
        }
    }
    Ok(ExistingState {
        valid_len,
        max_seq,
        max_placeholder,
        digests,
    })
}

impl Cassette {
    /// Reads and checks a cassette. Errors name the file and the line.
    pub fn load(path: &Path) -> Result<Cassette> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        parse(path, &bytes)
    }
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Cassette> {
    let err = |line: usize, message: String| Error::Cassette {
        path: path.to_path_buf(),
        line,
        message,
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|e| err(0, format!("not UTF-8 ({e}); is this a cassette?")))?;
    let mut header = None;
    let mut exchanges = Vec::new();
    let mut torn_tail = false;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (i, raw) in lines.iter().enumerate() {
        let n = i + 1;
        let complete = raw.ends_with('\n');
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            // A torn last line: written by a run that crashed mid-write, never answered.
            Err(_) if !complete && n == lines.len() => {
                torn_tail = true;
                continue;
            }
            Err(e) => return Err(err(n, format!("not JSON: {e}"))),
        };
        if header.is_none() && exchanges.is_empty() {
            let h: Header = serde_json::from_value(value).map_err(|e| {
                err(
                    n,
                    format!("expected the header {{\"cassette\":\"{FORMAT}\"}}: {e}"),
                )
            })?;
            if h.cassette != FORMAT {
                return Err(err(
                    n,
                    format!(
                        "format `{}` is not `{FORMAT}`; this proxy reads only {FORMAT}",
                        h.cassette
                    ),
                ));
            }
            header = Some(h);
            continue;
        }
        let ex: RecordedExchange =
            serde_json::from_value(value).map_err(|e| err(n, format!("not an exchange: {e}")))?;
        // Replay and compare turn it back into an HTTP answer: refuse what none can be.
        if let Some(r) = &ex.response {
            if http::StatusCode::from_u16(r.status).is_err() {
                return Err(err(
                    n,
                    format!(
                        "response.status {} is not an HTTP status (100-999)",
                        r.status
                    ),
                ));
            }
        }
        exchanges.push(ex);
    }
    Ok(Cassette {
        header,
        exchanges,
        torn_tail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(body: &str, answer: &str) -> Exchange {
        let mut h = http::HeaderMap::new();
        h.insert(
            "content-type",
            "application/x-amz-json-1.1".parse().unwrap(),
        );
        h.insert("authorization", "AWS4-HMAC-SHA256 sig".parse().unwrap());
        Exchange {
            time: SystemTime::now(),
            action: Some("InitiateAuth".into()),
            target: None,
            signed: false,
            input_shape: Some("InitiateAuthRequest"),
            output_shape: Some("InitiateAuthResponse"),
            is_api: true,
            method: "POST".into(),
            path: "/".into(),
            request_headers: h.clone(),
            request_body: Bytes::from(body.to_string()),
            response: Some(BufferedResponse {
                status: http::StatusCode::OK,
                headers: h,
                body: Bytes::from(answer.to_string()),
            }),
            latency: Duration::from_millis(3),
            upstream: "http://u".into(),
            error: None,
        }
    }

    #[tokio::test]
    async fn notes_say_what_replay_needs_and_never_the_secret() {
        use base64::Engine as _;
        let b64 = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let token = format!(
            "{}.{}.c2ln",
            b64(serde_json::json!({"alg": "RS256", "kid": "real-kid"})),
            b64(
                serde_json::json!({"client_id": "canaryclient0000000000000a", "username": "canary-user",
                                   "token_use": "access", "iat": 5, "exp": 3605})
            )
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        let key_file = dir.path().join("c.key");
        let key = CassetteKey::load_or_create(&key_file).unwrap();
        let rec = Recorder::open(&path, Rotation::default(), Some(key.clone())).unwrap();
        let request = r#"{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"canaryclient0000000000000a","AuthParameters":{"USERNAME":"canary-user","PASSWORD":"Canary-Pa55"}}"#;
        let answer = format!(
            r#"{{"AuthenticationResult":{{"AccessToken":"{token}"}},"Session":"canary-session-1234"}}"#
        );
        rec.record(exchange(request, &answer)).await;
        rec.close().await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        for secret in [
            "Canary-Pa55",
            "canary-user",
            "canaryclient",
            "canary-session",
            &token,
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        let c = Cassette::load(&path).unwrap();
        let notes = &c.exchanges[0].secrets;
        // Every placeholder has a digest under the key; the password has no form (the client
        // chose it), the session does (the upstream made it), the token has its claims with
        // the client id and username as the same placeholders as in the request.
        let number = |v: &serde_json::Value| -> u64 {
            let s = v.as_str().unwrap();
            s[8..s.len() - 1].parse().unwrap()
        };
        let req = c.exchanges[0].request.body.as_ref().unwrap();
        let resp = c.exchanges[0]
            .response
            .as_ref()
            .unwrap()
            .body
            .as_ref()
            .unwrap();
        let password = &notes[&number(&req["AuthParameters"]["PASSWORD"])];
        assert_eq!(
            password.digest.as_deref(),
            Some(crate::secret_notes::hex(&key.digest(b"Canary-Pa55")).as_str())
        );
        assert!(password.form.is_none());
        assert!(notes[&number(&resp["Session"])].form.is_some());
        let jwt = notes[&number(&resp["AuthenticationResult"]["AccessToken"])]
            .jwt
            .as_ref()
            .unwrap();
        assert_eq!(jwt.claims["client_id"], req["ClientId"]);
        assert_eq!(jwt.claims["username"], req["AuthParameters"]["USERNAME"]);
        assert_eq!(jwt.claims["token_use"], "access");
        assert_eq!(jwt.header["kid"], "real-kid");

        // Appending under the same key: the same password keeps its number.
        let rec = Recorder::open(&path, Rotation::default(), Some(key)).unwrap();
        rec.record(exchange(request, "{}")).await;
        rec.close().await.unwrap();
        let c = Cassette::load(&path).unwrap();
        assert_eq!(
            c.exchanges[1].request.body.as_ref().unwrap()["AuthParameters"]["PASSWORD"],
            req["AuthParameters"]["PASSWORD"]
        );
        assert!(c.exchanges[1].secrets.is_empty());
    }

    #[tokio::test]
    async fn writes_redacted_jsonl_and_appends_with_fresh_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        let rec = Recorder::open(&path, Rotation::default(), None).unwrap();
        assert!(
            rec.record(exchange(
                r#"{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"c","AuthParameters":{"PASSWORD":"Canary-1"}}"#,
                r#"{"AuthenticationResult":{"AccessToken":"tok-canary"}}"#,
            ))
            .await
                == Some(1)
        );
        rec.close().await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("Canary-1") && !text.contains("tok-canary"),
            "{text}"
        );
        let c = Cassette::load(&path).unwrap();
        assert_eq!(c.exchanges.len(), 1);
        assert_eq!(c.exchanges[0].seq, 1);

        // Simulate a torn write, then append: the tail goes, numbering continues.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"seq\":2,\"ti").unwrap();
        drop(f);
        assert!(Cassette::load(&path).unwrap().torn_tail);
        let before = redact::max_placeholder(&text);
        let rec = Recorder::open(&path, Rotation::default(), None).unwrap();
        rec.record(exchange(r#"{"ClientId":"new"}"#, "{}")).await;
        rec.close().await.unwrap();
        let c = Cassette::load(&path).unwrap();
        assert!(!c.torn_tail);
        assert_eq!(
            c.exchanges.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2]
        );
        let second = serde_json::to_string(&c.exchanges[1]).unwrap();
        assert!(redact::max_placeholder(&second) > before, "{second}");
    }

    /// A body redaction cannot change is written as it came, spacing and number spelling
    /// kept; one it might change goes through the walk however it is spelled, and every
    /// exchange stays one line.
    #[tokio::test]
    async fn bodies_redaction_cannot_change_are_written_as_they_came() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        let rec = Recorder::open(&path, Rotation::default(), None).unwrap();
        let of = |action: &str, request: &str, answer: &str| {
            let mut ex = exchange(request, answer);
            ex.action = Some(action.into());
            let model = Model::get().operation(action).unwrap();
            ex.input_shape = model.input.as_deref().map(|s| &*s.to_string().leak());
            ex.output_shape = model.output.as_deref().map(|s| &*s.to_string().leak());
            ex
        };
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhYmMifQ.c2lnbmF0dXJl";
        let pool = r#"{"UserPoolId": "us-east-1_a"}"#;
        let answer = r#"{"UserPool": {"Id": "us-east-1_a", "CreationDate": 1.7e9}}"#;
        rec.record(of("DescribeUserPool", pool, answer)).await;
        // The same token, its first letter spelled as a JSON escape.
        let escaped = format!(r#"{{"UserPool":{{"Name":"\u0065{}"}}}}"#, &token[1..]);
        rec.record(of("DescribeUserPool", pool, &escaped)).await;
        rec.record(of(
            "DescribeUserPool",
            "{\n  \"UserPoolId\": \"a\"\n}",
            "{}",
        ))
        .await;
        // A success answer without secrets of its own repeating the request's password.
        rec.record(of(
            "ChangePassword",
            r#"{"PreviousPassword":"Canary-Old-1","ProposedPassword":"Canary-New-1"}"#,
            r#"{"Note":"Canary-New-1"}"#,
        ))
        .await;
        rec.close().await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "a header and four exchanges: {text}");
        assert!(
            lines[1].contains(&format!(r#""body":{pool}"#)),
            "{}",
            lines[1]
        );
        assert!(
            lines[1].contains(&format!(r#""body":{answer}"#)),
            "{}",
            lines[1]
        );
        for secret in [&token[4..], "Canary-Old-1", "Canary-New-1"] {
            assert!(
                !text.contains(secret),
                "{secret} reached the cassette: {text}"
            );
        }
        let c = Cassette::load(&path).unwrap();
        let bodies: Vec<_> = c.exchanges.iter().map(|e| e.request.body.clone()).collect();
        assert_eq!(
            bodies[0],
            Some(serde_json::json!({"UserPoolId": "us-east-1_a"}))
        );
        assert_eq!(bodies[2], Some(serde_json::json!({"UserPoolId": "a"})));
        let name = &c.exchanges[1]
            .response
            .as_ref()
            .unwrap()
            .body
            .as_ref()
            .unwrap()["UserPool"]["Name"];
        assert!(redact::is_placeholder(name.as_str().unwrap()), "{name}");
    }

    /// With a cap, the cassette rotates into numbered files that are each a whole cassette,
    /// `seq` goes on across them, only `keep` rotated files stay, and a restart continues the
    /// numbering from the newest rotated file.
    #[tokio::test]
    async fn a_capped_cassette_rotates_into_numbered_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let padding = "x".repeat(600);
        let body = |i: usize| format!(r#"{{"ClientId":"c","Pad":"{padding}","N":{i}}}"#);
        // The size of the header and of one exchange line, measured on an uncapped cassette.
        let probe = dir.path().join("probe.jsonl");
        let rec = Recorder::open(&probe, Rotation::default(), None).unwrap();
        let header = std::fs::metadata(&probe).unwrap().len();
        rec.record(exchange(&body(0), "{}")).await;
        rec.close().await.unwrap();
        let one_line = std::fs::metadata(&probe).unwrap().len() - header;
        // Room for two exchanges (and the header), not three.
        let rotation = Rotation {
            max_bytes: Some(header + 2 * one_line + one_line / 2),
            keep: 2,
        };
        let rec = Recorder::open(&path, rotation, None).unwrap();
        for i in 0..10 {
            assert!(rec.record(exchange(&body(i), "{}")).await.is_some());
        }
        rec.close().await.unwrap();
        assert_eq!(
            rec.counters().rotations.load(Ordering::Relaxed),
            4,
            "10 exchanges, 2 a file"
        );
        assert_eq!(
            rotated_numbers(&path),
            [3, 4],
            "only the newest two rotated files stay"
        );
        let mut seqs = Vec::new();
        for p in [rotated_path(&path, 3), rotated_path(&path, 4), path.clone()] {
            let c = Cassette::load(&p).unwrap();
            assert!(
                c.header.is_some() && !c.torn_tail,
                "{} is a whole cassette",
                p.display()
            );
            assert!(std::fs::metadata(&p).unwrap().len() <= rotation.max_bytes.unwrap());
            seqs.extend(c.exchanges.iter().map(|e| e.seq));
        }
        assert_eq!(seqs, [5, 6, 7, 8, 9, 10]);

        // A restart right after a rotation goes on from the newest rotated file.
        std::fs::remove_file(&path).unwrap();
        let rec = Recorder::open(&path, rotation, None).unwrap();
        rec.record(exchange(r#"{"ClientId":"c"}"#, "{}")).await;
        rec.close().await.unwrap();
        let c = Cassette::load(&path).unwrap();
        assert_eq!(
            c.exchanges[0].seq, 9,
            "after the newest rotated file's last seq (8)"
        );
    }

    /// An answer whose body is JSON `null` replays as `null`, not as an empty body.
    #[tokio::test]
    async fn a_null_body_comes_back_as_null() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("null.jsonl");
        let rec = Recorder::open(&path, Rotation::default(), None).unwrap();
        assert!(rec.record(exchange("{}", "null")).await.is_some());
        rec.close().await.unwrap();
        let c = Cassette::load(&path).unwrap();
        let response = c.exchanges[0].response.as_ref().expect("a response");
        assert_eq!(&response.body_bytes()[..], b"null");
    }

    #[test]
    fn rotated_names_are_recognised_only_for_their_cassette() {
        let path = Path::new("/d/run.jsonl");
        assert_eq!(rotated_path(path, 7), Path::new("/d/run.7.jsonl"));
        assert_eq!(rotated_number(path, "run.7.jsonl"), Some(7));
        for other in [
            "run.jsonl",
            "run.0.jsonl",
            "run.x.jsonl",
            "runs.7.jsonl",
            "run.7.json",
        ] {
            assert_eq!(rotated_number(path, other), None, "{other}");
        }
    }

    #[test]
    fn bad_cassettes_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.jsonl");
        std::fs::write(&path, "{\"cassette\":\"other/9\"}\n").unwrap();
        let e = Cassette::load(&path).unwrap_err().to_string();
        assert!(e.contains("bad.jsonl:1") && e.contains("other/9"), "{e}");
        std::fs::write(
            &path,
            format!("{{\"cassette\":\"{FORMAT}\"}}\nnot json\n{{}}\n"),
        )
        .unwrap();
        let e = Cassette::load(&path).unwrap_err().to_string();
        assert!(e.contains("bad.jsonl:2"), "{e}");
    }
}
