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
//!
//! Secrets are `<secret:N>` placeholders (see `redact.rs` for what is a secret and how the
//! numbers stay stable). Readers must ignore fields they do not know; a change that breaks
//! readers bumps the version in the header.
//!
//! # Durability
//!
//! Exchanges go to one writer thread through a bounded channel: a full channel makes request
//! handlers wait (backpressure) rather than drop anything. The writer groups whatever is
//! queued into one `write(2)`, then acknowledges each exchange, and the proxy sends an answer
//! to its client only after that acknowledgement. So an answered exchange is in the kernel's
//! hands before the client sees it, and survives a crash of the proxy; on shutdown the writer
//! drains the channel and fsyncs. A crash in the middle of a write can leave a torn last line
//! belonging to exchanges nobody was answered for; the loader reports it and the next
//! recording run cuts it off before appending.
//!
//! A failed write (a full disk) is reported on standard error and counted in the admin API's
//! `/cassette`, and the answer still goes to the client: a proxy in staging should not take
//! the application down because its recording failed.

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::answer::BufferedResponse;
use crate::error::{Error, Result};
use crate::redact::{self, Redactor};

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

/// The three body encodings.
struct EncodedBody {
    json: Option<Value>,
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

/// An exchange as it happened, secrets included. Only the writer thread turns it into a
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
    Exchange(Box<Exchange>, oneshot::Sender<()>),
    Close(oneshot::Sender<Result<()>>),
}

/// Counters the admin API shows.
#[derive(Debug, Default)]
pub struct RecorderCounters {
    /// Exchanges written by this run.
    pub written: AtomicU64,
    /// Writes that failed.
    pub write_errors: AtomicU64,
}

/// Writes exchanges to a cassette from a dedicated thread.
pub struct Recorder {
    tx: mpsc::Sender<Msg>,
    counters: Arc<RecorderCounters>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// How many exchanges may wait for the writer before request handlers wait too.
const QUEUE: usize = 1024;

impl Recorder {
    /// Opens (creating or appending to) a cassette and starts the writer thread.
    pub fn open(path: &Path) -> Result<Recorder> {
        let state = existing_state(path)?;
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
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        // Cut a torn last line (see "Durability") so the file stays valid JSONL.
        file.set_len(state.valid_len)
            .and_then(|_| file.seek(std::io::SeekFrom::End(0)))
            .map_err(|e| Error::io(path, e))?;
        if state.valid_len == 0 {
            let header = Header {
                cassette: FORMAT.into(),
                created: rfc3339(SystemTime::now()),
                proxy: concat!("cogcheck-proxy ", env!("CARGO_PKG_VERSION")).into(),
            };
            let mut line = serde_json::to_vec(&header)
                .map_err(|e| Error::Recorder(format!("cannot encode header: {e}")))?;
            line.push(b'\n');
            file.write_all(&line).map_err(|e| Error::io(path, e))?;
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let counters = Arc::new(RecorderCounters::default());
        let writer = Writer {
            file,
            path: path.to_path_buf(),
            redactor: Redactor::new(first_placeholder),
            next_seq: first_seq,
            counters: counters.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("cogcheck-recorder".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| Error::Recorder(format!("cannot start the writer thread: {e}")))?;
        Ok(Recorder {
            tx,
            counters,
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    /// Counters for the admin API.
    pub fn counters(&self) -> &RecorderCounters {
        &self.counters
    }

    /// Hands an exchange to the writer and waits until it is written. Waits, too, while the
    /// queue is full. Returns false if the recorder has already shut down.
    pub async fn record(&self, exchange: Exchange) -> bool {
        let (ack, written) = oneshot::channel();
        if self
            .tx
            .send(Msg::Exchange(Box::new(exchange), ack))
            .await
            .is_err()
        {
            return false;
        }
        written.await.is_ok()
    }

    /// Writes everything queued, fsyncs and stops the writer. Later `record` calls fail.
    pub async fn close(&self) -> Result<()> {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Close(ack)).await.is_err() {
            return Ok(());
        }
        let result = done
            .await
            .map_err(|_| Error::Recorder("the writer thread stopped unexpectedly".into()))?;
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        result
    }
}

struct Writer {
    file: std::fs::File,
    path: PathBuf,
    redactor: Redactor,
    next_seq: u64,
    counters: Arc<RecorderCounters>,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        let mut batch = Vec::with_capacity(64 * 1024);
        let mut acks = Vec::new();
        while let Some(first) = rx.blocking_recv() {
            let mut close = None;
            let mut next = Some(first);
            // Group commit: everything already queued goes out in one write.
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Exchange(ex, ack) => {
                        self.encode(*ex, &mut batch);
                        acks.push(ack);
                    }
                    Msg::Close(ack) => {
                        close = Some(ack);
                        break;
                    }
                }
                if acks.len() < 256 {
                    next = rx.try_recv().ok();
                }
            }
            if !batch.is_empty() {
                match self.file.write_all(&batch) {
                    Ok(()) => {
                        self.counters
                            .written
                            .fetch_add(acks.len() as u64, Ordering::Relaxed);
                    }
                    Err(e) => {
                        self.counters
                            .write_errors
                            .fetch_add(acks.len() as u64, Ordering::Relaxed);
                        eprintln!(
                            "cogcheck-proxy: cannot write {} exchange(s) to {}: {e}",
                            acks.len(),
                            self.path.display()
                        );
                    }
                }
                batch.clear();
            }
            for ack in acks.drain(..) {
                let _ = ack.send(());
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

    fn encode(&mut self, ex: Exchange, out: &mut Vec<u8>) {
        let line = self.redact(ex);
        match serde_json::to_writer(&mut *out, &line) {
            Ok(()) => out.push(b'\n'),
            Err(e) => eprintln!("cogcheck-proxy: cannot encode exchange {}: {e}", line.seq),
        }
    }

    fn redact(&mut self, ex: Exchange) -> RecordedExchange {
        let seq = self.next_seq;
        // Saturating: a cassette opened at `seq` u64::MAX - 1 must not panic the writer
        // thread after its last number (see `Recorder::open`).
        self.next_seq = self.next_seq.saturating_add(1);
        let r = &mut self.redactor;
        let req_ct = content_type(&ex.request_headers);
        let req_body = encode_body(r, &ex.request_body, ex.is_api, ex.input_shape, &req_ct);
        let request = RecordedRequest {
            method: ex.method,
            path: ex.path,
            headers: r.redact_headers(&ex.request_headers),
            body: req_body.json,
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
            let body = encode_body(r, &resp.body, ex.is_api, shape, &ct);
            RecordedResponse {
                status: resp.status.as_u16(),
                headers: r.redact_headers(&resp.headers),
                body: body.json,
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
        text: None,
        base64: None,
    };
    if body.is_empty() {
        return out;
    }
    if let Ok(mut v) = serde_json::from_slice::<Value>(body) {
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
}

fn existing_state(path: &Path) -> Result<ExistingState> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(ExistingState {
                valid_len: 0,
                max_seq: 0,
                max_placeholder: 0,
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
    Ok(ExistingState {
        valid_len,
        max_seq,
        max_placeholder,
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
    async fn writes_redacted_jsonl_and_appends_with_fresh_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        let rec = Recorder::open(&path).unwrap();
        assert!(
            rec.record(exchange(
                r#"{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"c","AuthParameters":{"PASSWORD":"Canary-1"}}"#,
                r#"{"AuthenticationResult":{"AccessToken":"tok-canary"}}"#,
            ))
            .await
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
        let rec = Recorder::open(&path).unwrap();
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
