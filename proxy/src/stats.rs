//! Per-action counters and latency percentiles for the admin API.
//!
//! Latencies go into a log-scale histogram (buckets 5% wide, from 1 µs to about an hour), so
//! memory is fixed per action however long the proxy runs and a percentile is off by at most
//! one bucket. Labels come from classification, which folds unknown targets into one label,
//! so the map cannot grow from garbage on the wire.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};

const BUCKETS: usize = 460;
const GROWTH: f64 = 1.05;

#[derive(Clone)]
struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
    /// Sum of every latency, for Prometheus' `_sum`.
    sum_secs: f64,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            counts: Box::new([0; BUCKETS]),
            total: 0,
            sum_secs: 0.0,
        }
    }

    fn bucket(latency: Duration) -> usize {
        let us = latency.as_secs_f64() * 1e6;
        if us <= 1.0 {
            return 0;
        }
        ((us.ln() / GROWTH.ln()).ceil() as usize).min(BUCKETS - 1)
    }

    fn add(&mut self, latency: Duration) {
        self.counts[Self::bucket(latency)] += 1;
        self.total += 1;
        self.sum_secs += latency.as_secs_f64();
    }

    /// How many latencies are at most `le` seconds, counting each bucket at its upper edge
    /// (so a latency is never reported faster than it was).
    fn count_at_most(&self, le: f64) -> u64 {
        self.counts
            .iter()
            .enumerate()
            .take_while(|(i, _)| GROWTH.powi(*i as i32) / 1e6 <= le)
            .map(|(_, c)| c)
            .sum()
    }

    /// The upper edge of the bucket holding the `q` quantile, in milliseconds.
    fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let ms = GROWTH.powi(i as i32) / 1e3;
                return Some((ms * 1e3).round() / 1e3);
            }
        }
        None
    }
}

struct ActionStats {
    count: u64,
    errors: u64,
    upstream_errors: u64,
    latency: Histogram,
}

/// What the proxy has seen.
pub struct Stats {
    actions: Mutex<BTreeMap<String, ActionStats>>,
    /// Off when nothing can read the counters (no admin API): then counting would be a lock
    /// and a map lookup per request for nobody.
    enabled: bool,
}

/// How one exchange ended, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeOutcome {
    /// A 2xx-3xx answer.
    Success,
    /// A 4xx-5xx answer from the upstream or the replayer.
    ErrorAnswer,
    /// The upstream could not be reached or timed out.
    UpstreamError,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            actions: Mutex::new(BTreeMap::new()),
            enabled: true,
        }
    }
}

impl Stats {
    /// Counters nobody reads: every [`Stats::observe`] returns at once.
    pub fn disabled() -> Stats {
        Stats {
            enabled: false,
            ..Stats::default()
        }
    }

    /// True when the counters are kept (the admin API is on).
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Counts one exchange.
    pub fn observe(&self, label: &str, latency: Duration, outcome: ExchangeOutcome) {
        if !self.enabled {
            return;
        }
        let Ok(mut actions) = self.actions.lock() else {
            return;
        };
        if !actions.contains_key(label) {
            actions.insert(
                label.to_string(),
                ActionStats {
                    count: 0,
                    errors: 0,
                    upstream_errors: 0,
                    latency: Histogram::new(),
                },
            );
        }
        if let Some(a) = actions.get_mut(label) {
            a.count += 1;
            a.latency.add(latency);
            match outcome {
                ExchangeOutcome::Success => {}
                ExchangeOutcome::ErrorAnswer => a.errors += 1,
                ExchangeOutcome::UpstreamError => a.upstream_errors += 1,
            }
        }
    }

    /// The `/stats` document.
    pub fn snapshot(&self) -> Value {
        let actions = match self.actions.lock() {
            Ok(a) => a,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut total = Histogram::new();
        let mut per_action = serde_json::Map::new();
        let (mut requests, mut errors, mut upstream_errors) = (0, 0, 0);
        for (label, a) in actions.iter() {
            requests += a.count;
            errors += a.errors;
            upstream_errors += a.upstream_errors;
            for (t, c) in total.counts.iter_mut().zip(a.latency.counts.iter()) {
                *t += c;
            }
            total.total += a.latency.total;
            per_action.insert(
                label.clone(),
                json!({
                    "count": a.count,
                    "errors": a.errors,
                    "upstream_errors": a.upstream_errors,
                    "latency_ms": percentiles(&a.latency),
                }),
            );
        }
        json!({
            "requests": requests,
            "errors": errors,
            "upstream_errors": upstream_errors,
            "latency_ms": percentiles(&total),
            "actions": per_action,
        })
    }
}

/// A per-action counter for `/metrics`: its name, its help and how to read it.
type CounterSpec = (&'static str, &'static str, fn(&ActionStats) -> u64);

/// The `le` bounds of the Prometheus latency histograms, in seconds.
const PROMETHEUS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

impl Stats {
    /// Per-action counters and latency histograms in the Prometheus text format (version
    /// 0.0.4), for `GET /metrics`.
    pub fn prometheus(&self, out: &mut String) {
        use std::fmt::Write;
        let actions = match self.actions.lock() {
            Ok(a) => a,
            Err(poisoned) => poisoned.into_inner(),
        };
        let counters: [CounterSpec; 3] = [
            (
                "cogcheck_proxy_requests_total",
                "Exchanges answered, per action.",
                |a| a.count,
            ),
            (
                "cogcheck_proxy_error_answers_total",
                "4xx and 5xx answers from the upstream or the replayer, per action.",
                |a| a.errors,
            ),
            (
                "cogcheck_proxy_upstream_errors_total",
                "Exchanges whose upstream could not be reached or timed out, per action.",
                |a| a.upstream_errors,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (label, a) in actions.iter() {
                let _ = writeln!(out, "{name}{{action=\"{}\"}} {}", escape(label), value(a));
            }
        }
        let name = "cogcheck_proxy_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from the request to the end of the answer, per action.\n# TYPE {name} histogram"
        );
        for (label, a) in actions.iter() {
            let label = escape(label);
            for le in PROMETHEUS_BUCKETS {
                let _ = writeln!(
                    out,
                    "{name}_bucket{{action=\"{label}\",le=\"{le}\"}} {}",
                    a.latency.count_at_most(*le)
                );
            }
            let _ = writeln!(
                out,
                "{name}_bucket{{action=\"{label}\",le=\"+Inf\"}} {}",
                a.latency.total
            );
            let _ = writeln!(
                out,
                "{name}_sum{{action=\"{label}\"}} {}",
                a.latency.sum_secs
            );
            let _ = writeln!(
                out,
                "{name}_count{{action=\"{label}\"}} {}",
                a.latency.total
            );
        }
    }
}

/// A label value as the text format writes it: backslash, quote and newline escaped.
pub fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn percentiles(h: &Histogram) -> Value {
    json!({
        "p50": h.quantile_ms(0.50),
        "p90": h.quantile_ms(0.90),
        "p99": h.quantile_ms(0.99),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_a_bucket() {
        let s = Stats::default();
        for ms in 1..=100 {
            s.observe(
                "ListUserPools",
                Duration::from_millis(ms),
                ExchangeOutcome::Success,
            );
        }
        s.observe(
            "ListUserPools",
            Duration::from_millis(5),
            ExchangeOutcome::UpstreamError,
        );
        let snap = s.snapshot();
        let a = &snap["actions"]["ListUserPools"];
        assert_eq!(a["count"], 101);
        assert_eq!(a["upstream_errors"], 1);
        let p50 = a["latency_ms"]["p50"].as_f64().unwrap();
        let p99 = a["latency_ms"]["p99"].as_f64().unwrap();
        assert!((48.0..=53.0).contains(&p50), "{p50}");
        assert!((97.0..=105.0).contains(&p99), "{p99}");
        assert_eq!(snap["upstream_errors"], 1);
    }

    #[test]
    fn empty_stats_have_null_percentiles() {
        let snap = Stats::default().snapshot();
        assert_eq!(snap["requests"], 0);
        assert!(snap["latency_ms"]["p50"].is_null());
    }
}
