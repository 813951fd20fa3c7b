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
//! Two exceptions of the quotas page, so the category a request is charged to is not always
//! its operation's:
//!
//! - **Separate allowance** (`allowance` of a category in quotas.json; UserAuthentication's,
//!   for RespondToAuthChallenge and AdminRespondToAuthChallenge, at three times the category's
//!   rate). Those operations draw from the allowance's own bucket first and, when it is empty,
//!   from the category's; only when both are empty are they throttled, under the category.
//! - **Footnote 1**: a (Admin)RespondToAuthChallenge whose `ChallengeName` is
//!   `NEW_PASSWORD_REQUIRED` counts toward UserAccountRecovery ([`CHALLENGE_ROUTE`]), so the
//!   body is read for those operations when quotas are on.
//!
//! A throttled request takes no token from any bucket (it never reached the service).
//!
//! Turned on by `--quotas` or by `[quotas] enabled = true` in the rules file, where `scale`
//! multiplies every default rate and `rates` sets categories' rates outright; an allowance
//! follows its category's rate as set.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::target::Field;

/// Table footnote 1 of the quotas page: "A `RespondToAuthChallenge` or
/// `AdminRespondToAuthChallenge` response with a `ChallengeName` of `NEW_PASSWORD_REQUIRED`
/// counts toward the `UserAccountRecovery` category." quotas.json keeps one category per
/// operation (the compatibility report and the rules' `categories` read it so), so the
/// exception lives here. The "response" is the client's answer to the challenge, i.e. the
/// request, whose `ChallengeName` names the challenge answered. Such a request draws from
/// UserAccountRecovery alone: the separate allowance is UserAuthentication's.
pub const CHALLENGE_ROUTE: ChallengeRoute = ChallengeRoute {
    operations: &["AdminRespondToAuthChallenge", "RespondToAuthChallenge"],
    challenge: "NEW_PASSWORD_REQUIRED",
    category: "UserAccountRecovery",
};

/// Requests of some operations that count toward another category by their `ChallengeName`.
#[derive(Debug)]
pub struct ChallengeRoute {
    /// The operations.
    pub operations: &'static [&'static str],
    /// The `ChallengeName` that moves them.
    pub challenge: &'static str,
    /// The category they count toward then.
    pub category: &'static str,
}

impl ChallengeRoute {
    /// True when the action's requests may move, so the body must be read.
    fn applies_to(&self, action: &str) -> bool {
        self.operations.contains(&action)
    }

    /// The category the request counts toward: the route's when the body names the
    /// challenge, else `category`. An unreadable or missing body keeps `category`.
    fn category_for<'a>(&self, action: &str, category: &'a str, body: Option<&Value>) -> &'a str {
        let moved = self.applies_to(action)
            && body.and_then(|b| Field::ChallengeName.read(b)) == Some(self.challenge);
        if moved {
            self.category
        } else {
            category
        }
    }
}

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

/// The categories of `fixtures/quotas.json`, read by the suite's one parser of it.
pub use cogcheck::protocol::quotas::Catalog;

/// The catalog, parsed once.
pub fn catalog() -> Result<&'static Catalog, String> {
    static CATALOG: OnceLock<Result<&'static Catalog, String>> = OnceLock::new();
    CATALOG
        .get_or_init(|| cogcheck::protocol::quotas::catalog().and_then(check_route))
        .clone()
}

/// The shared parse, plus what only quota emulation needs: the category [`CHALLENGE_ROUTE`]
/// moves requests to must exist ([`catalog`] does the same to the compiled-in file).
#[cfg(test)]
fn parse_catalog(text: &str) -> Result<Catalog, String> {
    let catalog = cogcheck::protocol::quotas::parse(text)?;
    check_route(&catalog)?;
    Ok(catalog)
}

fn check_route<C: std::borrow::Borrow<Catalog>>(catalog: C) -> Result<C, String> {
    if !catalog
        .borrow()
        .rates
        .contains_key(CHALLENGE_ROUTE.category)
    {
        return Err(format!(
            "fixtures/quotas.json: no category {}, which {} with ChallengeName {} count toward",
            CHALLENGE_ROUTE.category,
            CHALLENGE_ROUTE.operations.join(" and "),
            CHALLENGE_ROUTE.challenge
        ));
    }
    Ok(catalog)
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket: one second's worth, and at least one request so a rate below one per
    /// second still lets a request through.
    fn full(rate: f64, now: Instant) -> Bucket {
        Bucket {
            tokens: rate.max(1.0),
            last: now,
        }
    }

    /// Adds what the time since the last look earned, up to a full bucket.
    fn refill(&mut self, rate: f64, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(rate.max(1.0));
        self.last = now;
    }

    fn has_token(&self) -> bool {
        self.tokens >= 1.0
    }

    fn spend(&mut self) {
        self.tokens -= 1.0;
    }
}

/// A bucket's name. Typed, so a category, its allowance and an operation's per-pool bucket
/// can never share one whatever the names hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Category(String),
    Allowance(String),
    Pool { action: String, pool: String },
}

impl Key {
    /// The bucket's name in a shared store (`shared.rs`), after the fleet's prefix. Category
    /// and action names come from the catalog and the model; the user pool id comes from the
    /// request, so it goes in as a digest: of bounded length, and no delimiter inside it can
    /// make two buckets one.
    pub(crate) fn shared_name(&self) -> String {
        match self {
            Key::Category(c) => format!("q:c:{c}"),
            Key::Allowance(c) => format!("q:a:{c}"),
            Key::Pool { action, pool } => {
                use sha2::{Digest, Sha256};
                let d = Sha256::digest(pool.as_bytes());
                let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
                format!("q:p:{action}:{hex}")
            }
        }
    }
}

/// The buckets one request is charged to ([`Buckets::charge`]).
#[derive(Debug, Clone)]
pub(crate) struct Charge {
    /// The category charged, named when the request is throttled.
    pub category: String,
    /// Buckets that must all hold a token (the operation's per-user-pool bucket).
    pub required: Vec<(Key, f64)>,
    /// Buckets tried in order (the allowance, then the category); the first holding a token
    /// pays.
    pub sources: Vec<(Key, f64)>,
}

/// The bucket under `key`, created full, refilled to `now`.
fn refilled(buckets: &mut HashMap<Key, Bucket>, key: Key, rate: f64, now: Instant) -> &mut Bucket {
    let b = buckets
        .entry(key)
        .or_insert_with(|| Bucket::full(rate, now));
    b.refill(rate, now);
    b
}

/// An allowance in force: its operations and rate.
struct AllowanceRate {
    operations: BTreeSet<String>,
    multiplier: f64,
    rate: f64,
}

/// The buckets of a running proxy.
pub struct Buckets {
    spec: QuotaSpec,
    rates: BTreeMap<String, f64>,
    per_pool: BTreeMap<String, f64>,
    allowances: BTreeMap<String, AllowanceRate>,
    buckets: Mutex<HashMap<Key, Bucket>>,
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
        // The page states the allowance as a multiple of "the UserAuthentication category
        // limit", not of its default: a raised (or, here, scaled) limit raises it too.
        let allowances = catalog
            .allowances
            .iter()
            .filter_map(|(k, a)| {
                rates.get(k).map(|r| {
                    (
                        k.clone(),
                        AllowanceRate {
                            operations: a.operations.clone(),
                            multiplier: a.multiplier,
                            rate: r * a.multiplier,
                        },
                    )
                })
            })
            .collect();
        Ok(Buckets {
            spec: spec.clone(),
            throttled: rates
                .keys()
                .map(|k| (k.clone(), AtomicU64::new(0)))
                .collect(),
            rates,
            per_pool,
            allowances,
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// True when the quota decision for the action reads the body: its category limits by
    /// user pool, or its requests may count toward another category (footnote 1).
    pub fn needs_body(&self, action: &str, category: Option<&str>) -> bool {
        category.is_some_and(|c| self.per_pool.contains_key(c))
            || (CHALLENGE_ROUTE.applies_to(action)
                && self.rates.contains_key(CHALLENGE_ROUTE.category))
    }

    /// Takes a token for the request (`body`: its JSON input, when read); `Some(category)`
    /// when it is throttled, naming the category it was charged to. The proxy goes through
    /// [`Buckets::charge`] itself, so the fleet's store can take the same charge instead.
    #[cfg(test)]
    pub fn take(
        &self,
        action: &str,
        category: Option<&str>,
        body: Option<&Value>,
    ) -> Option<String> {
        self.take_at(action, category, body, Instant::now())
    }

    /// [`Buckets::take`] at a given time, so tests control the clock.
    #[cfg(test)]
    pub(crate) fn take_at(
        &self,
        action: &str,
        category: Option<&str>,
        body: Option<&Value>,
        now: Instant,
    ) -> Option<String> {
        let charge = self.charge(action, category, body)?;
        if self.take_local(&charge, now) {
            None
        } else {
            self.count_throttle(&charge.category);
            Some(charge.category)
        }
    }

    /// The buckets a request is charged to, in the order they are looked at; `None` when its
    /// category is never throttled. The local buckets and the fleet's (`shared.rs`) both
    /// follow this one plan, so a fleet of one decides as one process does.
    pub(crate) fn charge(
        &self,
        action: &str,
        category: Option<&str>,
        body: Option<&Value>,
    ) -> Option<Charge> {
        let charged = CHALLENGE_ROUTE.category_for(action, category?, body);
        let rate = *self.rates.get(charged)?;
        let required = match (
            body.and_then(|b| Field::UserPoolId.read(b)),
            self.per_pool.get(charged),
        ) {
            (Some(pool), Some(&r)) => vec![(
                Key::Pool {
                    action: action.to_string(),
                    pool: pool.to_string(),
                },
                r,
            )],
            (Some(_) | None, _) => Vec::new(),
        };
        let mut sources = Vec::with_capacity(2);
        if let Some(a) = self
            .allowances
            .get(charged)
            .filter(|a| a.operations.contains(action))
        {
            sources.push((Key::Allowance(charged.to_string()), a.rate));
        }
        // Beyond the allowance, a request counts toward the category like any other.
        sources.push((Key::Category(charged.to_string()), rate));
        Some(Charge {
            category: charged.to_string(),
            required,
            sources,
        })
    }

    /// Takes the charge from this process's buckets; false when it is throttled.
    pub(crate) fn take_local(&self, charge: &Charge, now: Instant) -> bool {
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Every bucket that must hold a token is looked at before any is spent from, so a
        // throttled request costs nothing.
        let required_ok = charge
            .required
            .iter()
            .all(|(k, r)| refilled(&mut buckets, k.clone(), *r, now).has_token());
        let source = if required_ok {
            charge
                .sources
                .iter()
                .find(|(k, r)| refilled(&mut buckets, k.clone(), *r, now).has_token())
        } else {
            None
        };
        let Some((key, _)) = source else {
            return false;
        };
        for k in charge.required.iter().map(|(k, _)| k).chain([key]) {
            if let Some(b) = buckets.get_mut(k) {
                b.spend();
            }
        }
        true
    }

    /// Counts a throttle under the category it was charged to.
    pub(crate) fn count_throttle(&self, category: &str) {
        if let Some(c) = self.throttled.get(category) {
            c.fetch_add(1, Ordering::Relaxed);
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
                let mut c = json!({
                    "rate_per_second": r,
                    "per_user_pool_rate_per_second": self.per_pool.get(k),
                    "throttled": self.throttled.get(k).map(|c| c.load(Ordering::Relaxed)),
                });
                if let Some(a) = self.allowances.get(k) {
                    c["allowance"] = json!({
                        "operations": a.operations,
                        "multiplier": a.multiplier,
                        "rate_per_second": a.rate,
                    });
                }
                if k == CHALLENGE_ROUTE.category {
                    c["also_counts"] = json!({
                        "operations": CHALLENGE_ROUTE.operations,
                        "ChallengeName": CHALLENGE_ROUTE.challenge,
                    });
                }
                (k.clone(), c)
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
    use std::time::Duration;

    use super::*;

    fn buckets(rates: &[(&str, f64)]) -> Buckets {
        Buckets::new(&QuotaSpec {
            enabled: true,
            scale: None,
            rates: rates.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        })
        .unwrap()
    }

    /// How many of `n` requests at `now` pass, and the category the last throttle named.
    fn burst(
        b: &Buckets,
        action: &str,
        body: Option<&Value>,
        n: usize,
        now: Instant,
    ) -> (usize, Option<String>) {
        let category = catalog()
            .unwrap()
            .category_of
            .get(action)
            .map(String::as_str);
        let mut passed = 0;
        let mut throttled_as = None;
        for _ in 0..n {
            match b.take_at(action, category, body, now) {
                None => passed += 1,
                Some(c) => throttled_as = Some(c),
            }
        }
        (passed, throttled_as)
    }

    #[test]
    fn catalog_has_the_issue_rates() {
        let c = catalog().unwrap();
        assert_eq!(c.rates["UserAuthentication"], Some(120.0));
        assert_eq!(c.rates["UserList"], Some(30.0));
        assert_eq!(c.category_of["InitiateAuth"], "UserAuthentication");
        assert_eq!(c.category_of["ListUsers"], "UserList");
        let a = &c.allowances["UserAuthentication"];
        assert_eq!(a.multiplier, 3.0);
        assert_eq!(
            a.operations.iter().collect::<Vec<_>>(),
            ["AdminRespondToAuthChallenge", "RespondToAuthChallenge"]
        );
        assert_eq!(c.allowances.len(), 1);
        for op in CHALLENGE_ROUTE.operations {
            assert_eq!(c.category_of[*op], "UserAuthentication");
        }
    }

    #[test]
    fn a_bucket_lets_one_second_through_then_throttles() {
        let b = buckets(&[("UserList", 5.0)]);
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
    fn challenge_responses_get_three_times_the_rate_plus_the_category() {
        let t0 = Instant::now();
        // InitiateAuth alone: the category's two.
        let b = buckets(&[("UserAuthentication", 2.0)]);
        assert_eq!(
            burst(&b, "InitiateAuth", None, 10, t0),
            (2, Some("UserAuthentication".into()))
        );
        // Challenge responses: the allowance's six, then the category's two; throttled under
        // the category. The two operations share the allowance.
        let b = buckets(&[("UserAuthentication", 2.0)]);
        assert_eq!(burst(&b, "AdminRespondToAuthChallenge", None, 3, t0).0, 3);
        assert_eq!(
            burst(&b, "RespondToAuthChallenge", None, 10, t0),
            (5, Some("UserAuthentication".into()))
        );
        assert_eq!(
            b.describe()["categories"]["UserAuthentication"]["throttled"],
            5
        );
        assert_eq!(
            b.describe()["categories"]["UserAuthentication"]["allowance"]["rate_per_second"],
            6.0
        );
        // Half a second later: half of each bucket is back.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(burst(&b, "RespondToAuthChallenge", None, 10, t1).0, 3 + 1);
    }

    #[test]
    fn challenge_overflow_counts_toward_the_category() {
        let t0 = Instant::now();
        let b = buckets(&[("UserAuthentication", 2.0)]);
        // Within the allowance, sign-ins keep the whole category.
        assert_eq!(burst(&b, "RespondToAuthChallenge", None, 6, t0).0, 6);
        assert_eq!(burst(&b, "AdminInitiateAuth", None, 1, t0).0, 1);
        // One beyond it takes the category's last token: InitiateAuth is throttled sooner.
        assert_eq!(burst(&b, "RespondToAuthChallenge", None, 1, t0).0, 1);
        assert_eq!(
            burst(&b, "InitiateAuth", None, 1, t0),
            (0, Some("UserAuthentication".into()))
        );
        // The allowance is the category's rate times three, however that rate is set.
        let b = Buckets::new(&QuotaSpec {
            enabled: true,
            scale: Some(0.025),
            rates: BTreeMap::new(),
        })
        .unwrap();
        assert_eq!(burst(&b, "RespondToAuthChallenge", None, 20, t0).0, 9 + 3);
    }

    #[test]
    fn new_password_challenges_count_toward_account_recovery() {
        let t0 = Instant::now();
        let b = buckets(&[("UserAuthentication", 2.0), ("UserAccountRecovery", 1.0)]);
        let new_password = json!({"ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": "s"});
        assert!(b.needs_body("RespondToAuthChallenge", Some("UserAuthentication")));
        assert!(!b.needs_body("InitiateAuth", Some("UserAuthentication")));
        assert_eq!(
            burst(&b, "RespondToAuthChallenge", Some(&new_password), 3, t0),
            (1, Some("UserAccountRecovery".into()))
        );
        assert_eq!(
            burst(
                &b,
                "AdminRespondToAuthChallenge",
                Some(&new_password),
                1,
                t0
            ),
            (0, Some("UserAccountRecovery".into()))
        );
        // The same bucket as ForgotPassword's.
        assert_eq!(burst(&b, "ForgotPassword", None, 1, t0).0, 0);
        // UserAuthentication and its allowance are untouched: other challenges, and requests
        // whose body was not read or holds no string ChallengeName, get all eight.
        let mfa = json!({"ChallengeName": "SMS_MFA"});
        let odd = json!({"ChallengeName": ["NEW_PASSWORD_REQUIRED"]});
        assert_eq!(burst(&b, "RespondToAuthChallenge", Some(&mfa), 4, t0).0, 4);
        assert_eq!(burst(&b, "RespondToAuthChallenge", None, 2, t0).0, 2);
        assert_eq!(burst(&b, "RespondToAuthChallenge", Some(&odd), 3, t0).0, 2);
        let d = b.describe();
        assert_eq!(d["categories"]["UserAccountRecovery"]["throttled"], 4);
        assert_eq!(d["categories"]["UserAuthentication"]["throttled"], 1);
        assert_eq!(
            d["categories"]["UserAccountRecovery"]["also_counts"]["ChallengeName"],
            "NEW_PASSWORD_REQUIRED"
        );
        // Only those operations move: a ChallengeName on another changes nothing.
        assert_eq!(
            CHALLENGE_ROUTE.category_for("InitiateAuth", "UserAuthentication", Some(&new_password)),
            "UserAuthentication"
        );
    }

    #[test]
    fn a_throttled_request_spends_no_token() {
        let t0 = Instant::now();
        // UserPoolResourceRead at 6/s, 5/s per operation and pool.
        let b = buckets(&[("UserPoolResourceRead", 6.0)]);
        let pool = |p: &str| json!({"UserPoolId": p});
        assert_eq!(burst(&b, "GetGroup", Some(&pool("a")), 9, t0).0, 5);
        // The category's last token: the per-pool refusals above did not take it.
        assert_eq!(burst(&b, "GetGroup", Some(&pool("b")), 1, t0).0, 1);
        // Category empty: pool c is refused, and keeps its five for later.
        assert_eq!(burst(&b, "GetGroup", Some(&pool("c")), 3, t0).0, 0);
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(burst(&b, "GetGroup", Some(&pool("c")), 9, t1).0, 5);
    }

    #[test]
    fn a_bad_allowance_is_refused() {
        let file = |allowance: Value| {
            json!({
                "source": "s",
                "categories": {
                    "A": {"rate_per_second": 1, "operations": ["X"], "allowance": allowance},
                    "UserAccountRecovery": {"rate_per_second": 1, "operations": []},
                }
            })
            .to_string()
        };
        assert!(parse_catalog(&file(json!({"operations": ["X"], "multiplier": 3}))).is_ok());
        for (bad, says) in [
            (
                json!({"operations": ["Y"], "multiplier": 3}),
                "Y is not an operation of A",
            ),
            (
                json!({"operations": ["X"], "multiplier": 0}),
                "multiplier: 0 must be above 0",
            ),
            (json!({"operations": ["X"], "times": 3}), "unknown field"),
        ] {
            let e = parse_catalog(&file(bad)).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
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
