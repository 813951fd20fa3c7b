//! Fault injection: the layer between classification and the responders that makes the
//! proxy misbehave the way Cognito and the network in front of it do, on rules, reproducibly.
//!
//! ```text
//! classify -> size limit -> [faults: decide] -> responders -> forwarder -> [faults: mangle] -> recorder -> [faults: deliver]
//!                             | answer now (error, 5xx, throttle), hang, reset/close before,
//!                             | latency before upstream
//!                                                               truncate, malformed,            latency before response,
//!                                                               content type, mutate            reset/close after, slow body
//! ```
//!
//! Files, one concern each:
//!
//! | file | what |
//! |---|---|
//! | `kind/` | [`kind::FaultKind`], one file per kind |
//! | `rules.rs` | the rules file format, validation, a rule's state (stream, counters) |
//! | `target.rs` | which requests a rule selects: actions, categories, signed, fields, counts, time |
//! | `draw.rs` | the seed and the per-rule random streams; keyed decisions |
//! | `log.rs` | the decisions file (`--fault-log`), `cogcheck-fault-decisions/1` |
//! | `replay.rs` | replaying a decisions file (`--fault-replay`): match keys, reading and checking the log |
//! | `quota.rs` | token buckets per Cognito quota category (`--quotas`) |
//! | `shared.rs` | a fleet's buckets and rule counts in Redis (`--shared-state`) |
//! | `control.rs` | the admin API's `/faults` endpoints |
//! | `conn.rs` | how a request reaches its socket to reset or close it |
//!
//! **Why here.** After classification (rules select by action) and the size limit (an
//! oversized request is refused before any fault), before the responders (an injected
//! throttle wins over a replayed success). The request body is read only when a rule or a
//! quota needs an input field (a per-user-pool rate's `UserPoolId`, a challenge response's
//! `ChallengeName`), or when decisions are logged or replayed (the match key reads the user
//! name); otherwise the decision uses the headers alone and an unfaulted request streams
//! through as before.
//!
//! **Several rules.** Every rule that selects a request draws (so streams stay independent);
//! every latency rule that fires adds its delay; of the other rules that fire, the first in
//! order acts and the rest are logged as fired but not applied. Quota buckets are consulted
//! only when no rule's fault acts. In a replay (`--fault-replay`, `replay.rs`) the logged
//! decision of the same rule, match key and occurrence stands in for the draw and for a
//! latency's sample; streams are not consulted.

pub mod conn;
pub mod control;
pub mod draw;
pub mod kind;
pub mod log;
pub mod quota;
pub mod replay;
pub mod rules;
pub mod shared;
pub mod target;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{json, Value};

use crate::answer::{full, BufferedResponse, ProxyBody};
use crate::classify::{Classified, RequestKind};
use crate::error::{Error, Result};
use conn::ConnControl;
use kind::{DisconnectPhase, FaultKind};
use rules::{Rule, RuleSpec};

/// The request header that forces a named rule's fault (`--allow-fault-header`).
pub const FAULT_HEADER: &str = "x-cogcheck-fault";

/// How the fault layer is set up.
#[derive(Debug, Clone, Default)]
pub struct FaultConfig {
    /// The rules file (`--faults`), TOML or JSON.
    pub rules: Option<PathBuf>,
    /// The seed (`--fault-seed`); overrides the file's `seed`; 0 when neither gives one.
    pub seed: Option<u64>,
    /// The decisions file (`--fault-log`).
    pub log: Option<PathBuf>,
    /// A decisions file to replay instead of drawing (`--fault-replay`); needs `rules`.
    pub replay: Option<PathBuf>,
    /// Quota emulation at Cognito's default rates (`--quotas`).
    pub quotas: bool,
    /// Rule ids the `x-cogcheck-fault` header may force (`--allow-fault-header`); empty: the
    /// header is not honoured and passes through like any other.
    pub allow_header: Vec<String>,
    /// Quota buckets and rule counts shared by a fleet of proxies (`--shared-state`).
    pub shared: Option<shared::SharedConfig>,
}

/// The rules in force: swapped whole, so a request sees one consistent set.
struct RuleSet {
    rules: Vec<Arc<Rule>>,
    needs_body: bool,
}

impl RuleSet {
    fn new(rules: Vec<Arc<Rule>>) -> Arc<RuleSet> {
        Arc::new(RuleSet {
            needs_body: rules.iter().any(|r| r.needs_body()),
            rules,
        })
    }
}

/// The fault layer.
pub struct Faults {
    seed: u64,
    started: Instant,
    file_rules: Vec<RuleSpec>,
    rules: RwLock<Arc<RuleSet>>,
    /// The rule set is not empty; kept beside the lock so that a proxy without rules reads
    /// one atomic per request ([`Faults::is_off`]).
    has_rules: std::sync::atomic::AtomicBool,
    quotas: Option<quota::Buckets>,
    /// The fleet's store, when there is one: counted rules and quotas are decided there.
    shared: Option<Arc<shared::Shared>>,
    allow_header: Option<BTreeSet<String>>,
    log: Option<log::DecisionLog>,
    log_path: Option<PathBuf>,
    replay: Option<replay::Replay>,
    /// Keys the user name digests of match keys (`replay.rs`).
    match_secret: replay::MatchSecret,
    seq: AtomicU64,
    header_refused: AtomicU64,
}

/// What the layer decided for one request.
#[derive(Default)]
pub struct Plan {
    /// The action, for faults that read the answer by the model (`mutate`).
    action: Option<&'static str>,
    request_id: Option<http::HeaderValue>,
    delay_before: Duration,
    delay_after: Duration,
    fault: Option<Arc<Rule>>,
    throttle: Option<BufferedResponse>,
    conn: Option<Arc<ConnControl>>,
}

impl Plan {
    /// True when nothing happens to the request.
    pub fn is_empty(&self) -> bool {
        self.delay_before.is_zero()
            && self.delay_after.is_zero()
            && self.fault.is_none()
            && self.throttle.is_none()
    }

    /// The fault that acts, by name, for logs.
    pub fn source(&self) -> &'static str {
        match (&self.throttle, &self.fault) {
            (Some(_), _) => "quota",
            (None, Some(_)) => "fault",
            (None, None) => "latency",
        }
    }
}

/// One rule's selection of a request, between its draw and its fault.
struct Selection<'a> {
    rule: &'a Arc<Rule>,
    is_forced: bool,
    selects: bool,
    occurrence: Option<u64>,
    replayed: Option<&'static str>,
    logged_delay: Option<f64>,
    decision: Option<rules::Decision>,
    /// The count (and so whether it fires) is the fleet's.
    shared_count: bool,
}

/// The key of match keys' digests: the replayed file's (`FILE.key`), else the one kept for
/// the log file, else a new one, written beside the log so a later run can replay it.
fn match_secret(config: &FaultConfig) -> Result<replay::MatchSecret> {
    use replay::MatchSecret;
    let replayed = match &config.replay {
        Some(path) => {
            let key = MatchSecret::read_for(path).map_err(Error::Config)?;
            if key.is_none() {
                tracing::warn!(
                    fault_replay = %path.display(),
                    key_file = %MatchSecret::path_for(path).display(),
                    "no key file beside the --fault-replay file, so decisions keyed by user \
                     name cannot match (keep the key file with the log)"
                );
            }
            key
        }
        None => None,
    };
    let Some(log) = &config.log else {
        return Ok(replayed.unwrap_or_else(MatchSecret::random));
    };
    match (MatchSecret::read_for(log).map_err(Error::Config)?, replayed) {
        (Some(kept), Some(replayed)) if kept != replayed => Err(Error::Config(format!(
            "--fault-log {}: it was written with another key than --fault-replay's; log to a \
             new file",
            log.display()
        ))),
        (Some(kept), _) => Ok(kept),
        (None, replayed) => {
            let key = replayed.unwrap_or_else(MatchSecret::random);
            key.write_for(log).map_err(Error::Config)?;
            Ok(key)
        }
    }
}

fn lock<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    match l.read() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Faults {
    /// The layer, with the rules file loaded and checked.
    pub fn new(config: &FaultConfig) -> Result<Faults> {
        let file = match &config.rules {
            Some(p) => Some(rules::load_file(p).map_err(Error::Config)?),
            None => None,
        };
        let seed = config
            .seed
            .or(file.as_ref().and_then(|f| f.seed))
            .unwrap_or(0);
        let file_quotas = file.as_ref().and_then(|f| f.quotas.clone());
        let quotas = match (config.quotas, file_quotas) {
            (true, q) => Some(q.unwrap_or_default()),
            (false, Some(q)) if q.enabled => Some(q),
            (false, Some(_) | None) => None,
        }
        .map(|spec| {
            quota::Buckets::new(&spec)
                .map_err(|(field, m)| Error::Config(format!("quotas: field `{field}`: {m}")))
        })
        .transpose()?;
        let file_rules = file.map(|f| f.rules).unwrap_or_default();
        for id in &config.allow_header {
            if !file_rules.iter().any(|r| &r.id == id) {
                return Err(Error::Config(format!(
                    "--allow-fault-header {id}: no rule has this id{}",
                    config
                        .rules
                        .as_ref()
                        .map(|p| format!(" in {}", p.display()))
                        .unwrap_or_else(|| " (give the rules with --faults FILE)".into())
                )));
            }
        }
        // Read before the log is opened, which could create or extend the same file.
        let replay = match &config.replay {
            None => None,
            Some(path) => {
                let Some(rules_path) = &config.rules else {
                    return Err(Error::Config(format!(
                        "--fault-replay {}: give the rules file of the run that wrote it with \
                         --faults FILE",
                        path.display()
                    )));
                };
                if let Some(log) = &config.log {
                    if same_file(log, path) {
                        return Err(Error::Config(format!(
                            "--fault-log and --fault-replay both name {}; write the replay's \
                             decisions to another file",
                            path.display()
                        )));
                    }
                }
                let r = replay::Replay::load(path).map_err(Error::Config)?;
                r.check_rules(&file_rules, &rules_path.display().to_string())
                    .map_err(Error::Config)?;
                Some(r)
            }
        };
        let match_secret = match_secret(config)?;
        let log = config
            .log
            .as_deref()
            .map(log::DecisionLog::open)
            .transpose()?;
        let shared = config
            .shared
            .as_ref()
            .map(shared::Shared::new)
            .transpose()
            .map_err(Error::Config)?;
        let faults = Faults {
            seed,
            started: Instant::now(),
            rules: RwLock::new(RuleSet::new(Vec::new())),
            has_rules: std::sync::atomic::AtomicBool::new(false),
            file_rules,
            quotas,
            shared,
            allow_header: (!config.allow_header.is_empty())
                .then(|| config.allow_header.iter().cloned().collect()),
            log,
            log_path: config.log.clone(),
            replay,
            match_secret,
            seq: AtomicU64::new(0),
            header_refused: AtomicU64::new(0),
        };
        faults.reset().map_err(Error::Config)?;
        Ok(faults)
    }

    /// Connects to the fleet's store, if there is one (warning, and deciding locally, while
    /// it is unreachable).
    pub async fn connect_shared(&self) {
        if let Some(s) = &self.shared {
            s.connect().await;
        }
    }

    /// The fleet's store, for `/metrics`.
    pub fn shared(&self) -> Option<&shared::Shared> {
        self.shared.as_deref()
    }

    /// True when no rule, quota bucket or fault header can touch any request now: the layer
    /// is skipped (rules added through the admin API turn it back on).
    pub fn is_off(&self) -> bool {
        self.quotas.is_none()
            && self.allow_header.is_none()
            && !self.has_rules.load(Ordering::Acquire)
    }

    /// True when the decision for this request needs its body.
    pub fn needs_body(&self, class: &Classified) -> bool {
        let RequestKind::Known { action, .. } = &class.kind else {
            return false;
        };
        let set = lock(&self.rules);
        set.needs_body
            || ((self.log.is_some() || self.replay.is_some()) && !set.rules.is_empty())
            || self
                .quotas
                .as_ref()
                .is_some_and(|q| q.needs_body(action, category_of(action)))
    }

    /// Decides what happens to a request: every selecting rule draws, the decisions are
    /// logged. Strips the fault header when it is honoured. With `--shared-state`, the counts
    /// of counted rules and the quota buckets are the fleet's: one round trip (`shared.rs`).
    pub async fn decide(
        &self,
        class: &Classified,
        parts: &mut http::request::Parts,
        body: Option<&Bytes>,
    ) -> Plan {
        let forced = match &self.allow_header {
            None => None,
            Some(allowed) => match parts.headers.remove(FAULT_HEADER) {
                Some(v) => match v.to_str().ok().map(str::trim) {
                    Some(id) if allowed.contains(id) => Some(id.to_string()),
                    Some(_) | None => {
                        self.header_refused.fetch_add(1, Ordering::Relaxed);
                        None
                    }
                },
                None => None,
            },
        };
        let RequestKind::Known { action, operation } = &class.kind else {
            return Plan::default();
        };
        let set = lock(&self.rules).clone();
        if set.rules.is_empty() && self.quotas.is_none() {
            return Plan::default();
        }
        let json: Option<Value> = body.and_then(|b| serde_json::from_slice(b).ok());
        let category = category_of(action);
        let request = target::Request {
            action,
            category,
            signed: class.signed,
            body: json.as_ref(),
        };
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let since_start = now.saturating_duration_since(self.started);
        let mut plan = Plan {
            action: Some(*action),
            conn: parts.extensions.get::<Arc<ConnControl>>().cloned(),
            ..Plan::default()
        };
        let mut lines = Vec::new();
        // Only a logged or replayed run needs the key; the rest never pays for it.
        let key = (self.log.is_some() || self.replay.is_some())
            .then(|| replay::match_key(action, json.as_ref(), &self.match_secret));

        // Every selecting rule draws (or takes its logged decision), in order.
        let mut selections = Vec::new();
        for rule in &set.rules {
            let is_forced = forced.as_deref() == Some(rule.spec.id.as_str());
            let selects = rule.applies_to(operation)
                && rule.target.selects(
                    &request,
                    since_start,
                    now.saturating_duration_since(rule.added),
                );
            if !selects && !is_forced {
                continue;
            }
            let occurrence = match (&key, selects) {
                (Some(k), true) => Some(rule.next_occurrence(k)),
                (Some(_) | None, _) => None,
            };
            let mut replayed = None;
            let mut logged_delay = None;
            let mut drawn = false;
            let decision = if !selects {
                None
            } else if let (Some(r), Some(k), Some(o)) = (&self.replay, &key, occurrence) {
                Some(match r.lookup(&rule.spec.id, k, o) {
                    Some(l) => {
                        replayed = Some("matched");
                        logged_delay = l.delay_ms;
                        rule.replayed(l.fired, l.draw)
                    }
                    None => {
                        replayed = Some("unmatched");
                        rule.unmatched.fetch_add(1, Ordering::Relaxed);
                        rule.replayed(false, None)
                    }
                })
            } else {
                drawn = true;
                Some(rule.draw(self.seed, json.as_ref()))
            };
            selections.push(Selection {
                rule,
                is_forced,
                selects,
                occurrence,
                replayed,
                logged_delay,
                decision,
                // A drawn decision of a counted rule waits for the fleet's count.
                shared_count: drawn && self.shared.is_some() && rule.target.counts(),
            });
        }

        // The fleet's counts and quota, in one round trip; locally when there is no store or
        // it does not answer in time.
        let charge = self
            .quotas
            .as_ref()
            .and_then(|q| q.charge(action, category, json.as_ref()));
        let mut verdict = None;
        if let Some(store) = &self.shared {
            let counted: Vec<shared::Counted<'_>> = selections
                .iter()
                .filter(|s| s.shared_count)
                .map(|s| shared::Counted {
                    id: &s.rule.spec.id,
                    first: s.rule.target.first,
                    every: s.rule.target.every,
                    after: s.rule.target.after,
                    draw_ok: s.rule.draw_passes(s.decision.and_then(|d| d.draw)),
                    acts: s.rule.spec.fault.acts(),
                })
                .collect();
            // A rule decided here (or forced by the header, whatever its count) that fires
            // with a fault that acts keeps the request from the quota, as below.
            let skip = selections.iter().any(|s| {
                (s.is_forced || (!s.shared_count && s.decision.is_some_and(|d| d.fired)))
                    && s.rule.spec.fault.acts()
            });
            if !counted.is_empty() || (charge.is_some() && !skip) {
                if let Ok(reply) = store.invoke(&counted, skip, charge.as_ref(), None).await {
                    let mut counts = reply.counts.into_iter();
                    for s in selections.iter_mut().filter(|s| s.shared_count) {
                        if let (Some(d), Some(n)) = (s.decision.as_mut(), counts.next()) {
                            d.n = n;
                            d.fired = s.rule.fires(d.draw, n);
                        }
                    }
                    verdict = Some(reply.verdict);
                }
            }
        }

        for sel in &selections {
            let Selection {
                rule,
                is_forced,
                selects,
                occurrence,
                replayed,
                logged_delay,
                decision,
                ..
            } = *sel;
            if replayed.is_none() {
                if let Some(d) = decision {
                    rule.tally(d.fired);
                }
            }
            let fired = is_forced || decision.is_some_and(|d| d.fired);
            let mut delay_ms = None;
            let applied = fired
                && match &rule.spec.fault {
                    FaultKind::Latency(l) => {
                        // A replayed delay is the logged one; the stream is drawn only when
                        // there is none (not replaying, or forced where the log did not fire).
                        let (d, ms) = match logged_delay {
                            Some(ms) => (
                                Duration::try_from_secs_f64(ms / 1e3).unwrap_or_default(),
                                ms,
                            ),
                            None => {
                                let d = rule.with_stream(|rng| l.sample(rng));
                                (d, d.as_secs_f64() * 1e3)
                            }
                        };
                        delay_ms = Some(ms);
                        match l.phase {
                            kind::latency::LatencyPhase::BeforeUpstream => plan.delay_before += d,
                            kind::latency::LatencyPhase::BeforeResponse => plan.delay_after += d,
                        }
                        true
                    }
                    FaultKind::Error(_)
                    | FaultKind::Status(_)
                    | FaultKind::Hang(_)
                    | FaultKind::Reset(_)
                    | FaultKind::Close(_)
                    | FaultKind::Truncate(_)
                    | FaultKind::Malformed(_)
                    | FaultKind::ContentType(_)
                    | FaultKind::SlowBody(_)
                    | FaultKind::Mutate(_) => {
                        let first = plan.fault.is_none();
                        if first {
                            plan.fault = Some(rule.clone());
                        }
                        first
                    }
                };
            if applied {
                rule.applied.fetch_add(1, Ordering::Relaxed);
            }
            if is_forced && !selects {
                // Forced on a request the rule does not select: counted, not drawn.
                rule.fired.fetch_add(1, Ordering::Relaxed);
            }
            if self.log.is_some() {
                let rid = plan
                    .request_id
                    .get_or_insert_with(crate::answer::request_id);
                let mut line = json!({
                    "format": log::FORMAT,
                    "seq": seq,
                    "request_id": rid.to_str().unwrap_or_default(),
                    "ms": since_start.as_secs_f64() * 1e3,
                    "action": action,
                    "rule": rule.spec.id,
                    "n": decision.map(|d| d.n),
                    "draw": decision.and_then(|d| d.draw),
                    "fired": fired,
                    "forced": is_forced,
                    "applied": applied,
                    "fault": rule.spec.fault.name(),
                    "match": key,
                    "occurrence": occurrence,
                    "delay_ms": delay_ms,
                });
                if self.replay.is_some() {
                    line["replayed"] = json!(replayed);
                }
                lines.push(line);
            }
        }
        if plan.fault.is_none() {
            if let (Some(q), Some(charge)) = (&self.quotas, charge) {
                // `charge.category` is the one charged: a challenge response may count toward
                // another than its operation's (quota.rs), and is logged and counted there.
                let throttled = match verdict {
                    Some(shared::Verdict::Passed) => false,
                    Some(shared::Verdict::Throttled) => true,
                    // Not charged in the store though no fault acts: cannot happen (the store
                    // skips the charge exactly when a fault acts); the local buckets decide.
                    Some(shared::Verdict::NotCharged) | None => {
                        !q.take_local(&charge, Instant::now())
                    }
                };
                if throttled {
                    q.count_throttle(&charge.category);
                    let category = charge.category;
                    let rid = plan
                        .request_id
                        .get_or_insert_with(crate::answer::request_id)
                        .clone();
                    plan.throttle = Some(kind::error::cognito_error(
                        "TooManyRequestsException",
                        400,
                        kind::error::default_message("TooManyRequestsException"),
                        &rid,
                    ));
                    if self.log.is_some() {
                        lines.push(json!({
                            "format": log::FORMAT,
                            "seq": seq,
                            "request_id": rid.to_str().unwrap_or_default(),
                            "ms": since_start.as_secs_f64() * 1e3,
                            "action": action,
                            "rule": format!("quota:{category}"),
                            "n": null,
                            "draw": null,
                            "fired": true,
                            "forced": false,
                            "applied": true,
                            "fault": "error",
                            "match": key,
                            "occurrence": null,
                            "delay_ms": null,
                        }));
                    }
                }
            }
        }
        if let Some(l) = &self.log {
            l.write(&lines);
        }
        plan
    }

    /// Acts before the upstream: waits the delay, then answers (error, 5xx, throttle), hangs,
    /// or drops the connection. `None`: go on to the responders and the forwarder.
    pub async fn before_upstream(&self, plan: &Plan) -> Option<http::Response<ProxyBody>> {
        if !plan.delay_before.is_zero() {
            tokio::time::sleep(plan.delay_before).await;
        }
        if let Some(t) = &plan.throttle {
            return Some(t.clone().into_response());
        }
        let rule = plan.fault.as_ref()?;
        let rid = plan
            .request_id
            .clone()
            .unwrap_or_else(crate::answer::request_id);
        match &rule.spec.fault {
            FaultKind::Error(e) => Some(e.answer(&rid).into_response()),
            FaultKind::Status(s) => Some(s.answer().into_response()),
            FaultKind::Hang(h) => {
                tokio::time::sleep(h.max()).await;
                Some(disconnect(plan, false).await)
            }
            FaultKind::Reset(r) => match r.phase {
                DisconnectPhase::BeforeUpstream => Some(disconnect(plan, true).await),
                DisconnectPhase::AfterUpstream => None,
            },
            FaultKind::Close(c) => match c.phase {
                DisconnectPhase::BeforeUpstream => Some(disconnect(plan, false).await),
                DisconnectPhase::AfterUpstream => None,
            },
            FaultKind::Latency(_)
            | FaultKind::Truncate(_)
            | FaultKind::Malformed(_)
            | FaultKind::ContentType(_)
            | FaultKind::SlowBody(_)
            | FaultKind::Mutate(_) => None,
        }
    }

    /// Changes the upstream's answer before it is recorded (truncate, malformed, content type,
    /// mutate).
    pub fn mangle(&self, plan: &Plan, resp: BufferedResponse) -> BufferedResponse {
        let Some(rule) = &plan.fault else {
            return resp;
        };
        match &rule.spec.fault {
            FaultKind::Truncate(t) => t.apply(resp),
            FaultKind::Malformed(m) => m.apply(resp),
            FaultKind::ContentType(c) => c.apply(resp),
            FaultKind::Mutate(m) => m.apply(plan.action, resp),
            FaultKind::Error(_)
            | FaultKind::Status(_)
            | FaultKind::Latency(_)
            | FaultKind::Hang(_)
            | FaultKind::Reset(_)
            | FaultKind::Close(_)
            | FaultKind::SlowBody(_) => resp,
        }
    }

    /// Acts on the way out: latency before the response, reset or close after the upstream,
    /// slow body.
    pub async fn deliver(
        &self,
        plan: &Plan,
        resp: http::Response<ProxyBody>,
    ) -> http::Response<ProxyBody> {
        if !plan.delay_after.is_zero() {
            tokio::time::sleep(plan.delay_after).await;
        }
        let Some(rule) = &plan.fault else {
            return resp;
        };
        match &rule.spec.fault {
            FaultKind::Reset(r) => match r.phase {
                DisconnectPhase::AfterUpstream => disconnect(plan, true).await,
                DisconnectPhase::BeforeUpstream => resp,
            },
            FaultKind::Close(c) => match c.phase {
                DisconnectPhase::AfterUpstream => disconnect(plan, false).await,
                DisconnectPhase::BeforeUpstream => resp,
            },
            FaultKind::SlowBody(s) => {
                let (mut head, body) = resp.into_parts();
                let bytes = match body.collect().await {
                    Ok(c) => c.to_bytes(),
                    Err(_) => Bytes::new(),
                };
                head.headers.insert(
                    http::header::CONTENT_LENGTH,
                    http::HeaderValue::from(bytes.len()),
                );
                http::Response::from_parts(head, s.body(bytes))
            }
            FaultKind::Error(_)
            | FaultKind::Status(_)
            | FaultKind::Latency(_)
            | FaultKind::Hang(_)
            | FaultKind::Truncate(_)
            | FaultKind::Malformed(_)
            | FaultKind::ContentType(_)
            | FaultKind::Mutate(_) => resp,
        }
    }

    /// Back to the rules of the file, with fresh streams and counts, quota buckets refilled.
    pub fn reset(&self) -> std::result::Result<(), String> {
        let mut fresh = Vec::new();
        for spec in &self.file_rules {
            fresh.push(
                Rule::new(spec.clone(), self.seed)
                    .map_err(|(f, m)| format!("rule `{}`: field `{f}`: {m}", spec.id))?,
            );
        }
        let mut guard = match self.rules.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        self.has_rules.store(!fresh.is_empty(), Ordering::Release);
        *guard = RuleSet::new(fresh);
        drop(guard);
        if let Some(q) = &self.quotas {
            q.reset();
        }
        self.seq.store(0, Ordering::Relaxed);
        self.header_refused.store(0, Ordering::Relaxed);
        Ok(())
    }

    /// Per-rule counters, for `/stats`.
    pub fn counters(&self) -> Value {
        let set = lock(&self.rules).clone();
        let rules: serde_json::Map<String, Value> = set
            .rules
            .iter()
            .map(|r| {
                (
                    r.spec.id.clone(),
                    json!({
                        "selected": r.selected.load(Ordering::Relaxed),
                        "fired": r.fired.load(Ordering::Relaxed),
                        "applied": r.applied.load(Ordering::Relaxed),
                        "unmatched": r.unmatched.load(Ordering::Relaxed),
                    }),
                )
            })
            .collect();
        Value::Object(rules)
    }
}

/// True when both paths name one existing file (so reading one and appending to the other
/// would feed the replay its own decisions).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// The action's quota category.
fn category_of(action: &str) -> Option<&'static str> {
    quota::catalog()
        .ok()
        .and_then(|c| c.category_of.get(action))
        .map(String::as_str)
}

/// Drops the request's connection (reset or clean close); the answer is never sent.
async fn disconnect(plan: &Plan, reset: bool) -> http::Response<ProxyBody> {
    if let Some(c) = &plan.conn {
        c.disconnect(reset);
        // The listener drops the connection, and this future with it. The bound only matters
        // if a protocol keeps the request alive past its connection.
        tokio::time::sleep(kind::hang::Hang::DEFAULT_MAX).await;
    }
    let mut resp = http::Response::new(full(Bytes::new()));
    *resp.status_mut() = http::StatusCode::BAD_GATEWAY;
    resp
}
