//! `kind = "latency"`: a delay drawn from a distribution, before the upstream call (the
//! upstream sees the request late) or before the answer (the upstream has done the work).
//!
//! | `distribution` | parameters |
//! |---|---|
//! | `fixed` (default) | `ms` |
//! | `uniform` | `min_ms`, `max_ms` |
//! | `normal` | `mean_ms`, `stddev_ms` (negative draws count as 0) |
//! | `lognormal` | `median_ms`, `sigma` (of the underlying normal) |
//!
//! `cap_ms` bounds every draw. Samples come from the rule's own random stream, so they are
//! reproducible with the seed. Latency adds up: every latency rule that fires delays the
//! request, besides at most one other fault.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::FieldProblem;

/// A delay.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    /// The distribution of the delay.
    #[serde(default)]
    pub distribution: Distribution,
    /// `fixed`: the delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<f64>,
    /// `uniform`: the smallest delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ms: Option<f64>,
    /// `uniform`: the largest delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ms: Option<f64>,
    /// `normal`: the mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_ms: Option<f64>,
    /// `normal`: the standard deviation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stddev_ms: Option<f64>,
    /// `lognormal`: the median.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_ms: Option<f64>,
    /// `lognormal`: the standard deviation of the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma: Option<f64>,
    /// The largest delay ever applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_ms: Option<f64>,
    /// `before_upstream` (default) or `before_response`.
    #[serde(default)]
    pub phase: LatencyPhase,
}

/// A distribution of delays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// Always `ms`.
    #[default]
    Fixed,
    /// Uniform between `min_ms` and `max_ms`.
    Uniform,
    /// Normal with `mean_ms` and `stddev_ms`.
    Normal,
    /// Log-normal with `median_ms` and `sigma`.
    Lognormal,
}

/// When the delay happens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyPhase {
    /// Before the request is forwarded.
    #[default]
    BeforeUpstream,
    /// After the upstream answered, before the client gets the answer.
    BeforeResponse,
}

/// No delay is longer than a day; a larger number is a mistake in the rule (or the log).
pub const MAX_MS: f64 = 86_400_000.0;

fn need(value: Option<f64>, field: &str, distribution: &str) -> Result<f64, FieldProblem> {
    match value {
        Some(v) if v.is_finite() && (0.0..=MAX_MS).contains(&v) => Ok(v),
        Some(v) => Err((
            field.into(),
            format!("{v} is out of range (0 to {MAX_MS} ms)"),
        )),
        None => Err((
            field.into(),
            format!("required by distribution `{distribution}`"),
        )),
    }
}

impl Latency {
    /// Checks the distribution has its parameters, in range.
    pub fn validate(&self) -> Result<(), FieldProblem> {
        match self.distribution {
            Distribution::Fixed => {
                need(self.ms, "ms", "fixed")?;
            }
            Distribution::Uniform => {
                let lo = need(self.min_ms, "min_ms", "uniform")?;
                let hi = need(self.max_ms, "max_ms", "uniform")?;
                if lo > hi {
                    return Err(("max_ms".into(), format!("{hi} is below min_ms {lo}")));
                }
            }
            Distribution::Normal => {
                need(self.mean_ms, "mean_ms", "normal")?;
                need(self.stddev_ms, "stddev_ms", "normal")?;
            }
            Distribution::Lognormal => {
                need(self.median_ms, "median_ms", "lognormal")?;
                let s = need(self.sigma, "sigma", "lognormal")?;
                if s > 10.0 {
                    return Err(("sigma".into(), format!("{s} is too large (at most 10)")));
                }
            }
        }
        if let Some(c) = self.cap_ms {
            need(Some(c), "cap_ms", "any")?;
        }
        Ok(())
    }

    /// Draws one delay.
    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        let ms = match self.distribution {
            Distribution::Fixed => self.ms.unwrap_or(0.0),
            Distribution::Uniform => {
                let lo = self.min_ms.unwrap_or(0.0);
                let hi = self.max_ms.unwrap_or(lo);
                lo + (hi - lo) * rng.gen::<f64>()
            }
            Distribution::Normal => {
                self.mean_ms.unwrap_or(0.0) + self.stddev_ms.unwrap_or(0.0) * standard_normal(rng)
            }
            Distribution::Lognormal => {
                self.median_ms.unwrap_or(0.0)
                    * (self.sigma.unwrap_or(0.0) * standard_normal(rng)).exp()
            }
        };
        let ms = ms.clamp(0.0, self.cap_ms.unwrap_or(MAX_MS).min(MAX_MS));
        Duration::from_secs_f64(if ms.is_finite() { ms / 1e3 } else { 0.0 })
    }
}

/// Box–Muller: one standard normal draw from two uniform ones.
fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>(); // (0, 1]: ln is finite
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn latency(json: serde_json::Value) -> Latency {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn distributions_need_their_parameters() {
        let l = latency(serde_json::json!({"distribution": "uniform", "min_ms": 5.0}));
        assert_eq!(l.validate().unwrap_err().0, "max_ms");
        let l = latency(serde_json::json!({"ms": -1.0}));
        assert_eq!(l.validate().unwrap_err().0, "ms");
    }

    #[test]
    fn samples_follow_the_distribution_and_the_cap() {
        let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(1);
        let n = 20_000;
        let normal = latency(
            serde_json::json!({"distribution": "normal", "mean_ms": 100.0, "stddev_ms": 10.0}),
        );
        normal.validate().unwrap();
        let mean: f64 = (0..n)
            .map(|_| normal.sample(&mut rng).as_secs_f64() * 1e3)
            .sum::<f64>()
            / n as f64;
        assert!((99.0..101.0).contains(&mean), "{mean}");
        let logn = latency(
            serde_json::json!({"distribution": "lognormal", "median_ms": 50.0, "sigma": 1.0, "cap_ms": 400.0}),
        );
        logn.validate().unwrap();
        let mut draws: Vec<f64> = (0..n)
            .map(|_| logn.sample(&mut rng).as_secs_f64() * 1e3)
            .collect();
        draws.sort_by(f64::total_cmp);
        let median = draws[n / 2];
        assert!((47.0..53.0).contains(&median), "{median}");
        assert!(draws[n - 1] <= 400.0 + 1e-9);
        let uni =
            latency(serde_json::json!({"distribution": "uniform", "min_ms": 10.0, "max_ms": 20.0}));
        assert!((0..1000).all(|_| {
            let ms = uni.sample(&mut rng).as_secs_f64() * 1e3;
            (10.0..=20.0).contains(&ms)
        }));
    }
}
