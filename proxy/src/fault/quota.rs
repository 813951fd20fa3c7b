//! Quota emulation: a token bucket per Cognito quota category, at Cognito's default rates.
//!
//! The categories, their operations and default rates are `fixtures/quotas.json`, compiled
//! in (the same file the compatibility report reads). Each bucket holds one second's worth of
//! requests and refills continuously; a request that finds its category's bucket empty gets
//! `TooManyRequestsException` exactly as Cognito sends it (status 400, message
//! `Rate exceeded`) and never reaches the upstream. Categories with a per-user-pool rate
//! (`per_user_pool_rate_per_second`) also keep one bucket per operation and user pool. The
//! `Uncategorized` operations have no published rate and are never throttled.
//!
//! Turned on by `--quotas` or by `[quotas] enabled = true` in the rules file, where `scale`
//! multiplies every default rate and `rates` sets categories' rates outright.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const QUOTAS: &str = include_str!("../../../fixtures/quotas.json");

/// `[quotas]` in a rules file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSpec {
    /// Turn quota emulation on (`--quotas` does too).
    #[serde(default)]
    pub enabled: bool,
    /// Multiplies every default rate (0.1 throttles ten times sooner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// Requests per second by category, replacing the default.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rates: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
struct QuotasFile {
    source: String,
    categories: BTreeMap<String, CategoryFile>,
}

#[derive(Deserialize)]
struct CategoryFile {
    rate_per_second: Option<f64>,
    #[serde(default)]
    per_user_pool_rate_per_second: Option<f64>,
    operations: Vec<String>,
}

/// The categories of `fixtures/quotas.json`.
#[derive(Debug)]
pub struct Catalog {
    /// The quotas page they come from.
    pub source: String,
    /// Operation → category.
    pub category_of: HashMap<String, String>,
    /// Category → default rate (none for `Uncategorized`).
    pub rates: BTreeMap<String, Option<f64>>,
    /// Category → per user pool and operation rate, where there is one.
    pub per_pool: BTreeMap<String, f64>,
}

/// The catalog, parsed once.
pub fn catalog() -> Result<&'static Catalog, String> {
    static CATALOG: OnceLock<Result<Catalog, String>> = OnceLock::new();
    CATALOG
        .get_or_init(|| {
            let file: QuotasFile = serde_json::from_str(QUOTAS)
                .map_err(|e| format!("fixtures/quotas.json (compiled in): {e}"))?;
            let mut category_of = HashMap::new();
            let mut rates = BTreeMap::new();
            let mut per_pool = BTreeMap::new();
            for (name, c) in file.categories {
                for op in c.operations {
                    category_of.insert(op, name.clone());
                }
                if let Some(p) = c.per_user_pool_rate_per_second {
                    per_pool.insert(name.clone(), p);
                }
                rates.insert(name, c.rate_per_second);
            }
            Ok(Catalog {
                source: file.source,
                category_of,
                rates,
                per_pool,
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn take(&mut self, rate: f64, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(rate.max(1.0));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The buckets of a running proxy.
pub struct Buckets {
    spec: QuotaSpec,
    rates: BTreeMap<String, f64>,
    per_pool: BTreeMap<String, f64>,
    buckets: Mutex<HashMap<String, Bucket>>,
    throttled: BTreeMap<String, AtomicU64>,
}

impl Buckets {
    /// Buckets at the default rates, adjusted by `spec`. Errors name the field.
    pub fn new(spec: &QuotaSpec) -> Result<Buckets, (String, String)> {
        let catalog = catalog().map_err(|e| ("quotas".to_string(), e))?;
        let scale = spec.scale.unwrap_or(1.0);
        if !(scale.is_finite() && scale > 0.0) {
            return Err(("quotas.scale".into(), format!("{scale} must be above 0")));
        }
        for (name, r) in &spec.rates {
            if !catalog.rates.contains_key(name) {
                return Err((
                    format!("quotas.rates.{name}"),
                    format!(
                        "no such quota category; known: {}",
                        catalog.rates.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            if !(r.is_finite() && *r > 0.0) {
                return Err((
                    format!("quotas.rates.{name}"),
                    format!("{r} must be above 0"),
                ));
            }
        }
        let mut rates = BTreeMap::new();
        for (name, default) in &catalog.rates {
            if let Some(r) = spec.rates.get(name).copied().or(default.map(|d| d * scale)) {
                rates.insert(name.clone(), r);
            }
        }
        let per_pool = catalog
            .per_pool
            .iter()
            .map(|(k, v)| (k.clone(), v * scale))
            .collect();
        Ok(Buckets {
            spec: spec.clone(),
            throttled: rates
                .keys()
                .map(|k| (k.clone(), AtomicU64::new(0)))
                .collect(),
            rates,
            per_pool,
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// True when the action's category limits by user pool, so the body must be read.
    pub fn needs_body(&self, category: Option<&str>) -> bool {
        category.is_some_and(|c| self.per_pool.contains_key(c))
    }

    /// Takes a token for the request; `Some(category)` when it is over its bucket.
    pub fn take(&self, action: &str, category: Option<&str>, pool: Option<&str>) -> Option<String> {
        let category = category?;
        let rate = *self.rates.get(category)?;
        let now = Instant::now();
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut take = |key: String, rate: f64| {
            buckets
                .entry(key)
                .or_insert(Bucket {
                    tokens: rate.max(1.0),
                    last: now,
                })
                .take(rate, now)
        };
        let mut ok = true;
        if let (Some(pool), Some(&pool_rate)) = (pool, self.per_pool.get(category)) {
            ok = take(format!("{action}@{pool}"), pool_rate);
        }
        ok = ok && take(category.to_string(), rate);
        drop(buckets);
        if ok {
            None
        } else {
            if let Some(c) = self.throttled.get(category) {
                c.fetch_add(1, Ordering::Relaxed);
            }
            Some(category.to_string())
        }
    }

    /// Refills every bucket and zeroes the counters.
    pub fn reset(&self) {
        if let Ok(mut b) = self.buckets.lock() {
            b.clear();
        }
        for c in self.throttled.values() {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// For `GET /faults`.
    pub fn describe(&self) -> Value {
        let categories: serde_json::Map<String, Value> = self
            .rates
            .iter()
            .map(|(k, r)| {
                (
                    k.clone(),
                    json!({
                        "rate_per_second": r,
                        "per_user_pool_rate_per_second": self.per_pool.get(k),
                        "throttled": self.throttled.get(k).map(|c| c.load(Ordering::Relaxed)),
                    }),
                )
            })
            .collect();
        json!({
            "spec": self.spec,
            "source": catalog().map(|c| c.source.clone()).ok(),
            "categories": categories,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_has_the_issue_rates() {
        let c = catalog().unwrap();
        assert_eq!(c.rates["UserAuthentication"], Some(120.0));
        assert_eq!(c.rates["UserList"], Some(30.0));
        assert_eq!(c.category_of["InitiateAuth"], "UserAuthentication");
        assert_eq!(c.category_of["ListUsers"], "UserList");
    }

    #[test]
    fn a_bucket_lets_one_second_through_then_throttles() {
        let b = Buckets::new(&QuotaSpec {
            enabled: true,
            scale: None,
            rates: [("UserList".to_string(), 5.0)].into(),
        })
        .unwrap();
        let passed = (0..20)
            .filter(|_| b.take("ListUsers", Some("UserList"), None).is_none())
            .count();
        // Five at once, plus at most one refilled while the loop runs.
        assert!((5..=6).contains(&passed), "{passed}");
        assert!(b
            .take("ListUserPools", Some("Uncategorized"), None)
            .is_none());
    }

    #[test]
    fn bad_rates_name_the_field() {
        let (field, _) = Buckets::new(&QuotaSpec {
            enabled: true,
            scale: None,
            rates: [("UserLists".to_string(), 5.0)].into(),
        })
        .err()
        .unwrap();
        assert_eq!(field, "quotas.rates.UserLists");
    }
}
