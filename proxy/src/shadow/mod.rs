//! Compare mode: the same requests against two backends, identifiers mapped between them,
//! answers normalized and every mismatch written as a readable diff.
//!
//! ```text
//!             request ──> primary (answers the client)
//!                │                │ answer
//!                v                v
//!   mapping.rs  rewrite for the shadow (ids, SECRET_HASH, SRP, TOTP) ──> shadow
//!                                                                        │ answer
//!   mapping.rs  learn pairs from both answers <──────────────────────────┘
//!   identify.rs   (what is an identifier, and of what kind; invented values)
//!   normalize.rs + noise.rs  placeholders, JWT claims, noise rules
//!   diff.rs     compare, unified diff ──> report.rs (JSONL, Markdown, JUnit)
//! ```
//!
//! Two drivers share that path: [`live`] (`cogcheck-proxy --upstream A --shadow B`, a layer
//! between forwarder and recorder) and [`offline`] (`cogcheck-proxy compare CASSETTE
//! --against TARGET`, a cassette as the primary).
//!
//! # Ordering
//!
//! The shadow's state must follow the primary's, so requests reach the shadow one at a time,
//! in the order the primary *answered* them (one queue, one worker). Order of answers is the
//! only order a client can observe: a request sent after another's answer arrived is always
//! queued after it, whichever connection it came on, so every causal chain (create the pool,
//! then the client, then sign in) replays in order. Requests that overlapped on the primary
//! had no defined order there either. Per-connection ordering would not do: SDKs spread one
//! caller's sequential requests over pooled connections.
//!
//! The client never waits for the shadow. When the shadow falls a whole queue behind
//! ([`live::QUEUE`] requests by default, `--shadow-queue`), new requests are not sent to it
//! and are counted as `dropped` (admin `/stats`, the summary). That leaves the shadow's state
//! behind, so comparisons after a drop may differ for that reason alone; holding the
//! primary's answers back instead would let a hung shadow stall real traffic.

pub mod diff;
pub mod identify;
pub mod live;
pub mod mapping;
pub mod noise;
pub mod normalize;
pub mod offline;
pub mod report;

use bytes::Bytes;
use serde_json::Value;

pub use crate::answer::BufferedResponse;
pub use diff::{AnswerSummary, MismatchRecord, DIFF_FORMAT};
pub use mapping::{Mapping, PrimaryOutcome};
pub use noise::NoiseRules;
pub use report::{DiffReport, ReportPaths, Summary};

/// A request as the primary received it.
#[derive(Debug, Clone)]
pub struct ShadowRequest {
    /// The action, when the model knows it.
    pub action: Option<String>,
    /// The name the report uses: the action, the raw target, or `METHOD /path`.
    pub label: String,
    /// Method.
    pub method: http::Method,
    /// Path and query.
    pub path: String,
    /// Headers (hop-by-hop removed).
    pub headers: http::HeaderMap,
    /// Body.
    pub body: Bytes,
    /// Arrived signed.
    pub signed: bool,
    /// When, RFC 3339.
    pub time: String,
    /// The cassette's `seq`, offline.
    pub cassette_seq: Option<u64>,
}

impl Prepared {
    /// Puts a code into the shadow's request at `pointer`.
    pub fn set_code(&mut self, pointer: &str, code: &str) {
        if let Ok(mut body) = serde_json::from_slice::<Value>(&self.body) {
            if let Some(slot) = body.pointer_mut(pointer) {
                *slot = Value::String(code.to_string());
                self.body = Bytes::from(body.to_string());
            }
        }
    }
}

/// The report label of a request that is not an API call: its path with pool ids as
/// `{UserPoolId}`, so that every pool's JWKS requests share one label.
pub fn path_label(method: &http::Method, path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path
        .split('/')
        .map(|s| {
            if identify::kind_of("", s) == "pool-id" {
                "{UserPoolId}"
            } else {
                s
            }
        })
        .collect();
    format!("{method} {}", segments.join("/"))
}

/// The comparison state shared by both drivers: mapping, rules, report.
pub struct Comparer {
    mapping: Mapping,
    rules: NoiseRules,
    report: DiffReport,
    invent: bool,
}

/// The shadow's request, rewritten.
pub struct Prepared {
    /// Path and query for the shadow.
    pub path: String,
    /// Body for the shadow.
    pub body: Bytes,
    pending: mapping::Pending,
}

impl Comparer {
    /// A comparer. `invent` lets the mapping make up values for unknown `<secret:N>`
    /// placeholders (replaying a cassette).
    pub fn new(rules: NoiseRules, report: DiffReport, invent: bool) -> Comparer {
        Comparer {
            mapping: Mapping::new(),
            rules,
            report,
            invent,
        }
    }

    /// The mapping learned so far.
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    /// Counts an exchange that is not compared.
    pub fn skip(&mut self) {
        self.report.skipped();
    }

    /// Rewrites a request for the shadow.
    pub fn prepare(&mut self, req: &ShadowRequest, primary: &BufferedResponse) -> Prepared {
        let outcome = PrimaryOutcome {
            success: primary.status.is_success(),
            error_type: primary.error_type(),
        };
        let mut path = req.path.clone();
        let action = req.action.as_deref().unwrap_or("");
        let (body, pending) = match serde_json::from_slice::<Value>(&req.body) {
            Ok(mut v) => {
                let pending =
                    self.mapping
                        .rewrite(action, &mut v, &mut path, &outcome, self.invent);
                (Bytes::from(v.to_string()), pending)
            }
            Err(_) => {
                // A form post or other text: learned values inside it, nothing computed.
                if let Some(p) = self.mapping.translate_text(&path) {
                    path = p;
                }
                let text = String::from_utf8_lossy(&req.body);
                let body = match self.mapping.translate_text(&text) {
                    Some(t) => Bytes::from(t),
                    None => req.body.clone(),
                };
                (body, mapping::Pending::None)
            }
        };
        Prepared {
            path,
            body,
            pending,
        }
    }

    /// Where the shadow's request needs a code the shadow delivered out of band (see
    /// [`Mapping::delivered_code_slot`]).
    pub fn delivered_code_slot(
        &self,
        req: &ShadowRequest,
        prepared: &Prepared,
        primary: &BufferedResponse,
    ) -> Option<mapping::CodeSlot> {
        let body: Value = serde_json::from_slice(&prepared.body).ok()?;
        let outcome = PrimaryOutcome {
            success: primary.status.is_success(),
            error_type: primary.error_type(),
        };
        self.mapping
            .delivered_code_slot(req.action.as_deref()?, &body, &outcome)
    }

    /// Learns from both answers, compares them and reports a mismatch. `shadow` is the
    /// shadow's answer, or why there is none.
    pub fn conclude(
        &mut self,
        req: &ShadowRequest,
        prepared: Prepared,
        primary: &BufferedResponse,
        shadow: std::result::Result<BufferedResponse, String>,
    ) -> Option<MismatchRecord> {
        let request_json = diff::body_json(&req.body);
        let pool_id = self.mapping.pool_of_request(&request_json).or_else(|| {
            // JWKS and other paths name the pool in a segment.
            req.path
                .split(['/', '?'])
                .find(|s| identify::kind_of("", s) == "pool-id")
                .map(str::to_string)
        });
        let seq = self.report.compared(&req.label);
        let base = |shadow: AnswerSummary, differences: Vec<String>, diff: String| MismatchRecord {
            seq,
            cassette_seq: req.cassette_seq,
            action: req.label.clone(),
            time: req.time.clone(),
            primary: primary.summary(),
            shadow,
            differences,
            diff,
            pool_id: pool_id.clone(),
            pool_name: None,
            note: None,
        };
        let mut deleted_pool = None;
        let record = match shadow {
            Ok(b) => {
                let (pa, sa) = (primary.json(), b.json());
                if req.action.as_deref() == Some("DeleteUserPool")
                    && primary.status.is_success()
                    && b.status.is_success()
                {
                    deleted_pool = pool_id.clone();
                }
                self.mapping.finish(prepared.pending, &sa);
                self.mapping
                    .learn(&request_json, &pa, &sa, (&primary.headers, &b.headers));
                diff::compare(&self.mapping, &self.rules, &req.label, primary, &b)
                    .map(|(differences, diff)| base(b.summary(), differences, diff))
            }
            Err(note) => {
                let mut r = base(
                    AnswerSummary {
                        status: 502,
                        error_type: Some("CogcheckShadowUnreachable".into()),
                    },
                    vec!["status".into(), "error_type".into()],
                    String::new(),
                );
                r.note = Some(note);
                Some(r)
            }
        };
        let record = record.map(|mut r| {
            r.pool_name = r
                .pool_id
                .as_deref()
                .and_then(|p| self.mapping.pool_name(p))
                .map(str::to_string);
            r
        });
        // Only once its last exchange is compared: the diff above still names the pool.
        if let Some(pool) = deleted_pool {
            self.mapping.forget_pool(&pool);
        }
        let record = record?;
        self.report.mismatch(record.clone());
        Some(record)
    }

    /// The counts so far.
    pub fn summary(&self) -> &Summary {
        self.report.summary()
    }

    /// Writes the summary and JUnit files.
    pub fn finish(mut self) -> crate::Result<Summary> {
        self.report.mapping(
            self.mapping.pairs().count() as u64,
            self.mapping.forgotten(),
        );
        self.report.finish()
    }

    /// Notes how many requests never reached the shadow (its queue was full).
    pub fn dropped(&mut self, n: u64) {
        self.report.dropped(n);
    }

    /// Holds the mapping to `bytes` (see [`mapping::DEFAULT_BUDGET`]).
    pub fn with_mapping_budget(mut self, bytes: usize) -> Comparer {
        self.mapping = Mapping::with_budget(bytes);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_paths_share_a_label() {
        assert_eq!(
            path_label(
                &http::Method::GET,
                "/us-east-1_AbC123/.well-known/jwks.json"
            ),
            "GET /{UserPoolId}/.well-known/jwks.json"
        );
    }
}
