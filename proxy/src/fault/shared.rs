//! A fleet's shared state (`--shared-state redis://HOST:PORT[/DB]`): quota buckets and rule
//! counts kept in Redis, so several proxies behind a load balancer throttle at the account's
//! rate (Cognito's quotas are per account, not per process) and a rule with `first`, `every`
//! or `after` counts the fleet's requests, not each member's.
//!
//! **One round trip.** Everything a request needs from the store is one `EVALSHA` of
//! [`SCRIPT`]: it counts the request for every counted rule that selected it (`INCR`), works
//! out from those counts whether a rule's fault acts, and only if none does takes the quota
//! charge ([`super::quota::Charge`]) from the buckets, refilling and spending atomically. The
//! script follows the local buckets' plan step by step and with the same floating point
//! operations, so one proxy with Redis decides exactly as one without (tested). Its clock is
//! Redis's `TIME`, one clock for the whole fleet.
//!
//! **Never in the way.** Each call has a timeout (`--shared-state-timeout`). On a timeout, a
//! Redis error or while Redis is unreachable, the request is decided by this process's own
//! buckets and counts, and the fallback is counted (`GET /metrics`,
//! `cogcheck_proxy_shared_state_fallbacks_total{reason}`). When the connection is lost (or
//! several calls in a row time out) the proxy warns once, stops asking, and reconnects in the
//! background; once Redis answers again it says so and the fleet's state is used again. A call
//! that timed out may still have been applied by Redis, so such a request can count twice.
//!
//! **Keys.** Every key starts with the prefix (`--shared-state-prefix`), so fleets can share
//! one Redis. Buckets: `q:c:CATEGORY`, `q:a:CATEGORY` (an allowance), `q:p:ACTION:DIGEST` (per
//! user pool; the pool id digested); each expires once it would be full again anyway, so an
//! idle bucket costs nothing and behaves as a full one. Rule counts: `rule:DIGEST`, the digest
//! of the rule id; the rule itself (whose `fields` may name a user) never goes to Redis, and
//! nothing is keyed by user: a keyed rule's draw is a hash of the seed and the value, the same
//! on every member without sharing anything. Values are numbers only.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;

use super::quota::Charge;

/// How a fleet shares its state (`--shared-state`, `--shared-state-prefix`,
/// `--shared-state-timeout`).
#[derive(Clone)]
pub struct SharedConfig {
    /// `redis://HOST:PORT[/DB]` (a password in it is never shown).
    pub url: String,
    /// Put before every key.
    pub prefix: String,
    /// The longest a request waits for Redis before it is decided locally.
    pub timeout: Duration,
}

impl std::fmt::Debug for SharedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedConfig")
            .field("url", &"..")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The default prefix: one fleet per Redis database unless told otherwise.
pub const DEFAULT_PREFIX: &str = "cogcheck:";

/// The default timeout, in milliseconds: a quota check must cost a client little even when
/// Redis is slow.
pub const DEFAULT_TIMEOUT_MS: u64 = 50;

/// Timeouts in a row after which Redis is taken for gone and reconnected in the background,
/// so a stalled Redis costs each request the timeout only a few times.
const TIMEOUTS_TO_DISCONNECT: u64 = 3;

/// How long to wait between reconnection attempts.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// The whole decision of one request in the store: counts, then the quota charge. Argument
/// layout: see [`Shared::invoke`]. Numbers are stored with `%.17g`, which reads back as the
/// same double. The refill is the local `Bucket::refill` operation for operation (elapsed time
/// as whole seconds plus nanoseconds over 1e9, as `Duration::as_secs_f64` computes it).
pub const SCRIPT: &str = r#"
-- Redis before 5 replicates scripts verbatim and refuses writes after TIME unless the script
-- asks for its effects to be replicated instead; from 7 on this is the only mode and a no-op.
if redis.replicate_commands then redis.replicate_commands() end
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local nrules = tonumber(ARGV[2])
local skip = ARGV[3] == '1'
local nreq = tonumber(ARGV[4])
local nsrc = tonumber(ARGV[5])
local out = {}
local a = 6
for i = 1, nrules do
  local first, every, after = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local draw_ok, acts = ARGV[a + 3] == '1', ARGV[a + 4] == '1'
  a = a + 5
  local n = redis.call('INCR', KEYS[i])
  out[i] = n
  local counts = (first < 0 or n <= first)
    and (every < 0 or (every > 0 and n % every == 0))
    and (after < 0 or n > after)
  if draw_ok and counts and acts then skip = true end
end
if skip or nsrc == 0 then
  out[nrules + 1] = -1
  return out
end
local touched = {}
local function look(k, rate, ttl)
  local cap = math.max(rate, 1)
  local b = redis.call('HMGET', KEYS[k], 'tokens', 'last')
  local tokens, last = cap, now
  if b[1] and b[2] then
    tokens = tonumber(b[1])
    last = tonumber(b[2])
  end
  local d = now - last
  if d < 0 then d = 0 end
  local secs = math.floor(d / 1000000)
  local elapsed = secs + ((d - secs * 1000000) * 1000) / 1e9
  tokens = math.min(tokens + elapsed * rate, cap)
  touched[k] = {tokens, math.max(last, now), ttl}
  return tokens >= 1
end
local ok = true
local arg = a
for i = 1, nreq do
  if ok then ok = look(nrules + i, tonumber(ARGV[arg]), ARGV[arg + 1]) end
  arg = arg + 2
end
local chosen = 0
if ok then
  for j = 1, nsrc do
    if look(nrules + nreq + j, tonumber(ARGV[arg]), ARGV[arg + 1]) then
      chosen = j
      break
    end
    arg = arg + 2
  end
end
if chosen > 0 then
  for i = 1, nreq do
    touched[nrules + i][1] = touched[nrules + i][1] - 1
  end
  touched[nrules + nreq + chosen][1] = touched[nrules + nreq + chosen][1] - 1
end
for k, t in pairs(touched) do
  redis.call('HSET', KEYS[k], 'tokens', string.format('%.17g', t[1]), 'last', string.format('%.17g', t[2]))
  redis.call('PEXPIRE', KEYS[k], t[3])
end
out[nrules + 1] = chosen
return out
"#;

/// A counted rule that selected the request, as the script needs it.
#[derive(Debug, Clone)]
pub struct Counted<'a> {
    /// The rule id (digested into its key).
    pub id: &'a str,
    /// `first`, `every`, `after`.
    pub first: Option<u64>,
    /// `every`.
    pub every: Option<u64>,
    /// `after`.
    pub after: Option<u64>,
    /// The draw lets it fire (below its probability).
    pub draw_ok: bool,
    /// Its fault answers or drops the request (any kind but latency), so when it fires the
    /// quota is not consulted.
    pub acts: bool,
}

/// What the quota charge came to in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not looked at: no charge, or a rule's fault acts.
    NotCharged,
    /// Tokens taken.
    Passed,
    /// Throttled; nothing taken.
    Throttled,
}

/// The store's answer for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Each counted rule's count of selected requests, this one included, in order.
    pub counts: Vec<u64>,
    /// The quota.
    pub verdict: Verdict,
}

/// Why a request was decided locally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Redis is not connected (at start, or since the connection was lost).
    Unreachable,
    /// No answer within the timeout.
    Timeout,
    /// Redis answered with an error, or the connection broke during the call.
    Error,
}

impl Fallback {
    const ALL: [Fallback; 3] = [Fallback::Unreachable, Fallback::Timeout, Fallback::Error];

    fn label(self) -> &'static str {
        match self {
            Fallback::Unreachable => "unreachable",
            Fallback::Timeout => "timeout",
            Fallback::Error => "error",
        }
    }

    fn index(self) -> usize {
        match self {
            Fallback::Unreachable => 0,
            Fallback::Timeout => 1,
            Fallback::Error => 2,
        }
    }
}

/// The connection to the fleet's store.
pub struct Shared {
    client: redis::Client,
    /// `redis://HOST:PORT/DB`, without a password, for messages.
    display: String,
    prefix: String,
    timeout: Duration,
    script: redis::Script,
    /// `None` while Redis is unreachable: requests are decided locally without waiting.
    conn: Mutex<Option<MultiplexedConnection>>,
    reconnecting: AtomicBool,
    timeouts_in_a_row: AtomicU64,
    calls: AtomicU64,
    fallbacks: [AtomicU64; 3],
    reconnects: AtomicU64,
    /// Lets the reconnection task stop when the proxy is gone.
    this: Weak<Shared>,
}

impl Shared {
    /// Checks the URL; connects later ([`Shared::connect`]).
    pub fn new(config: &SharedConfig) -> Result<Arc<Shared>, String> {
        let client = redis::Client::open(config.url.as_str()).map_err(|e| {
            format!("--shared-state: not a Redis URL (redis://HOST:PORT[/DB]): {e}")
        })?;
        let info = client.get_connection_info();
        let display = match &info.addr {
            redis::ConnectionAddr::Tcp(host, port) => {
                format!("redis://{host}:{port}/{}", info.redis.db)
            }
            other => {
                return Err(format!(
                    "--shared-state: {other} is not supported; give redis://HOST:PORT[/DB]"
                ))
            }
        };
        if config.prefix.is_empty() {
            return Err("--shared-state-prefix: give a non-empty prefix".into());
        }
        if config.timeout.is_zero() {
            return Err("--shared-state-timeout: must be at least 1 ms".into());
        }
        Ok(Arc::new_cyclic(|this| Shared {
            client,
            display,
            prefix: config.prefix.clone(),
            timeout: config.timeout,
            script: redis::Script::new(SCRIPT),
            conn: Mutex::new(None),
            reconnecting: AtomicBool::new(false),
            timeouts_in_a_row: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            fallbacks: Default::default(),
            reconnects: AtomicU64::new(0),
            this: this.clone(),
        }))
    }

    /// Connects before the proxy serves; when Redis is unreachable, warns and keeps trying
    /// in the background while requests are decided locally.
    pub async fn connect(&self) {
        match self.open().await {
            Ok(conn) => {
                self.set_conn(Some(conn));
                tracing::info!(
                    "shared state: quota buckets and rule counts in {} \
                     (prefix `{}`)",
                    self.display,
                    self.prefix
                );
            }
            Err(e) => {
                tracing::warn!(
                    "--shared-state {}: unreachable ({e}); quota \
                     buckets and rule counts are this process's own (local buckets) until it \
                     answers; retrying every {}s",
                    self.display,
                    RECONNECT_EVERY.as_secs()
                );
                self.reconnect_in_background();
            }
        }
    }

    /// A connection with the script loaded, so requests need one `EVALSHA` each.
    async fn open(&self) -> redis::RedisResult<MultiplexedConnection> {
        let wait = self.timeout.max(Duration::from_secs(1));
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(wait)
            .set_response_timeout(wait);
        let mut conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        self.script.prepare_invoke().load_async(&mut conn).await?;
        Ok(conn)
    }

    fn set_conn(&self, conn: Option<MultiplexedConnection>) -> bool {
        let mut guard = match self.conn.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let was = guard.is_some();
        *guard = conn;
        was
    }

    fn conn(&self) -> Option<MultiplexedConnection> {
        match self.conn.lock() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// True while requests are decided by the fleet's state.
    pub fn is_up(&self) -> bool {
        self.conn().is_some()
    }

    /// Stops asking Redis (warning once) and reconnects in the background.
    fn lost(&self, why: &str) {
        if self.set_conn(None) {
            tracing::warn!(
                "--shared-state {}: {why}; falling back to local \
                 buckets and rule counts until it answers again",
                self.display
            );
        }
        self.reconnect_in_background();
    }

    fn reconnect_in_background(&self) {
        if self.reconnecting.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = self.this.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RECONNECT_EVERY).await;
                let Some(shared) = this.upgrade() else {
                    return;
                };
                if let Ok(conn) = shared.open().await {
                    shared.timeouts_in_a_row.store(0, Ordering::Relaxed);
                    shared.set_conn(Some(conn));
                    shared.reconnects.fetch_add(1, Ordering::Relaxed);
                    shared.reconnecting.store(false, Ordering::Release);
                    tracing::info!(
                        "shared state: {} answers again; quota buckets and \
                         rule counts are the fleet's again",
                        shared.display
                    );
                    return;
                }
            }
        });
    }

    /// Counts the request for `counted` rules and, unless one of them (or `skip`: a rule
    /// decided locally) acts, takes `charge`, in one round trip. `now_us` replaces Redis's
    /// clock (tests). `Err`: decide locally; the fallback is counted.
    pub async fn invoke(
        &self,
        counted: &[Counted<'_>],
        skip: bool,
        charge: Option<&Charge>,
        now_us: Option<u64>,
    ) -> Result<Reply, Fallback> {
        let result = self.try_invoke(counted, skip, charge, now_us).await;
        if let Err(f) = result {
            self.fallbacks[f.index()].fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    async fn try_invoke(
        &self,
        counted: &[Counted<'_>],
        skip: bool,
        charge: Option<&Charge>,
        now_us: Option<u64>,
    ) -> Result<Reply, Fallback> {
        let Some(mut conn) = self.conn() else {
            return Err(Fallback::Unreachable);
        };
        let mut inv = self.script.prepare_invoke();
        for c in counted {
            inv.key(self.rule_key(c.id));
        }
        let empty = (Vec::new(), Vec::new());
        let (required, sources) = charge
            .map(|c| (&c.required, &c.sources))
            .unwrap_or((&empty.0, &empty.1));
        for (k, _) in required.iter().chain(sources) {
            inv.key(format!("{}{}", self.prefix, k.shared_name()));
        }
        inv.arg(now_us.map(|n| n.to_string()).unwrap_or_default())
            .arg(counted.len())
            .arg(u8::from(skip))
            .arg(required.len())
            .arg(sources.len());
        let count = |v: Option<u64>| v.map_or(-1, |n| n.min(i64::MAX as u64) as i64);
        for c in counted {
            inv.arg(count(c.first))
                .arg(count(c.every))
                .arg(count(c.after))
                .arg(u8::from(c.draw_ok))
                .arg(u8::from(c.acts));
        }
        for (_, rate) in required.iter().chain(sources) {
            // `{:?}` of an f64 reads back as the same f64 (Lua's tonumber included).
            inv.arg(format!("{rate:?}")).arg(expiry_ms(*rate));
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let answer: Vec<i64> =
            match tokio::time::timeout(self.timeout, inv.invoke_async(&mut conn)).await {
                Err(_) => {
                    let n = self.timeouts_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
                    if n >= TIMEOUTS_TO_DISCONNECT {
                        self.lost(&format!("{n} calls in a row took over {:?}", self.timeout));
                    }
                    return Err(Fallback::Timeout);
                }
                Ok(Err(e)) => {
                    if e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error() {
                        self.lost(&format!("connection lost ({e})"));
                    } else {
                        tracing::warn!(
                            "--shared-state {}: {e}; this request \
                             was decided locally",
                            self.display
                        );
                    }
                    return Err(Fallback::Error);
                }
                Ok(Ok(v)) => v,
            };
        self.timeouts_in_a_row.store(0, Ordering::Relaxed);
        let (verdict, counts) = match answer.split_last() {
            Some((v, counts)) if counts.len() == counted.len() => (*v, counts),
            _ => return Err(Fallback::Error),
        };
        let verdict = match verdict {
            -1 => Verdict::NotCharged,
            0 => Verdict::Throttled,
            _ => Verdict::Passed,
        };
        Ok(Reply {
            counts: counts.iter().map(|&n| n.max(0) as u64).collect(),
            verdict,
        })
    }

    /// A rule's count key: the digest of its id, so nothing a rule's author wrote reaches
    /// Redis verbatim.
    fn rule_key(&self, id: &str) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"cogcheck-fleet-rule/1");
        h.update(id.as_bytes());
        let d = h.finalize();
        let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("{}rule:{hex}", self.prefix)
    }

    /// For `GET /faults`: where the fleet's state is, and whether it is in use now.
    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "url": self.display,
            "prefix": self.prefix,
            "timeout_ms": self.timeout.as_millis() as u64,
            "up": self.is_up(),
        })
    }

    /// The shared-state metrics, in the Prometheus text format.
    pub fn prometheus(&self, out: &mut String) {
        use std::fmt::Write;
        let metric = |out: &mut String, name: &str, help: &str, kind: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        metric(
            out,
            "cogcheck_proxy_shared_state_up",
            "1 while quotas and rule counts are the fleet's (Redis connected), else 0.",
            "gauge",
        );
        let _ = writeln!(
            out,
            "cogcheck_proxy_shared_state_up {}",
            u8::from(self.is_up())
        );
        metric(
            out,
            "cogcheck_proxy_shared_state_calls_total",
            "Round trips to the shared state (one per request that needs it).",
            "counter",
        );
        let _ = writeln!(
            out,
            "cogcheck_proxy_shared_state_calls_total {}",
            self.calls.load(Ordering::Relaxed)
        );
        metric(
            out,
            "cogcheck_proxy_shared_state_fallbacks_total",
            "Requests decided by this process's own buckets and counts instead of the fleet's, \
             by reason (unreachable, timeout, error).",
            "counter",
        );
        for f in Fallback::ALL {
            let _ = writeln!(
                out,
                "cogcheck_proxy_shared_state_fallbacks_total{{reason=\"{}\"}} {}",
                f.label(),
                self.fallbacks[f.index()].load(Ordering::Relaxed)
            );
        }
        metric(
            out,
            "cogcheck_proxy_shared_state_reconnects_total",
            "Times the shared state was reached again after being unreachable.",
            "counter",
        );
        let _ = writeln!(
            out,
            "cogcheck_proxy_shared_state_reconnects_total {}",
            self.reconnects.load(Ordering::Relaxed)
        );
    }
}

/// How long an idle bucket is kept: twice the time it takes to fill from empty, plus a
/// second. By then it would be full anyway, and a missing bucket starts full, so expiring it
/// changes no decision.
fn expiry_ms(rate: f64) -> u64 {
    let fill_secs = rate.max(1.0) / rate;
    (fill_secs * 2000.0).ceil().min(1e12) as u64 + 1000
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use rand::{Rng, SeedableRng};
    use serde_json::{json, Value};

    use super::*;
    use crate::fault::quota::{catalog, Buckets, QuotaSpec};
    use crate::fault::target::Target;

    /// A throwaway `redis-server` on a free loopback port, killed by pid when dropped (on a
    /// panic too).
    struct RedisServer {
        child: std::process::Child,
        port: u16,
    }

    impl RedisServer {
        fn start() -> RedisServer {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let child = std::process::Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "redis-server does not start ({e}): the shared-state tests need it; \
                         install it with `apt-get install -y redis-server`"
                    )
                });
            let server = RedisServer { child, port };
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(Instant::now() < deadline, "redis-server did not listen");
                std::thread::sleep(Duration::from_millis(20));
            }
            server
        }

        fn url(&self) -> String {
            format!("redis://127.0.0.1:{}/0", self.port)
        }
    }

    impl Drop for RedisServer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    async fn store(server: &RedisServer, prefix: &str) -> Arc<Shared> {
        let s = Shared::new(&SharedConfig {
            url: server.url(),
            prefix: prefix.into(),
            timeout: Duration::from_secs(5),
        })
        .unwrap();
        s.connect().await;
        assert!(s.is_up());
        s
    }

    fn category(action: &str) -> Option<&'static str> {
        catalog()
            .unwrap()
            .category_of
            .get(action)
            .map(String::as_str)
    }

    /// The same requests at the same times through the local buckets and through Redis give
    /// the same throttles, request by request: the per-pool buckets, the challenge allowance,
    /// footnote 1's routing and refills at odd microseconds included.
    #[tokio::test]
    async fn one_proxy_with_redis_decides_as_without() {
        let server = RedisServer::start();
        let shared = store(&server, "same:").await;
        let spec = QuotaSpec {
            enabled: true,
            scale: None,
            rates: [
                ("UserAuthentication", 2.0),
                ("UserAccountRecovery", 1.0),
                ("UserPoolResourceRead", 6.0),
                ("UserList", 0.7),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        };
        let local = Buckets::new(&spec).unwrap();
        let requests: Vec<(&str, Value)> = vec![
            ("InitiateAuth", json!({})),
            (
                "RespondToAuthChallenge",
                json!({"ChallengeName": "SMS_MFA"}),
            ),
            (
                "AdminRespondToAuthChallenge",
                json!({"ChallengeName": "NEW_PASSWORD_REQUIRED"}),
            ),
            ("ForgotPassword", json!({})),
            ("GetGroup", json!({"UserPoolId": "eu-west-1_a"})),
            ("GetGroup", json!({"UserPoolId": "eu-west-1_b"})),
            ("DescribeUserPool", json!({"UserPoolId": "eu-west-1_a"})),
            ("ListUsers", json!({"UserPoolId": "eu-west-1_a"})),
        ];
        let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(17);
        let t0 = Instant::now();
        let base_us: u64 = 1_700_000_000_000_000;
        let mut at_us: u64 = 0;
        let (mut passed, mut throttled) = (0, 0);
        for i in 0..1500 {
            // Bursts and pauses, at microsecond resolution.
            at_us += match rng.gen_range(0..10) {
                0 => rng.gen_range(200_000..1_500_000),
                _ => rng.gen_range(0..40_000),
            };
            let (action, body) = &requests[rng.gen_range(0..requests.len())];
            let charge = local
                .charge(action, category(action), Some(body))
                .expect("a throttled category");
            let here = local.take_local(&charge, t0 + Duration::from_micros(at_us));
            let there = shared
                .invoke(&[], false, Some(&charge), Some(base_us + at_us))
                .await
                .unwrap();
            let there = match there.verdict {
                Verdict::Passed => true,
                Verdict::Throttled => false,
                Verdict::NotCharged => panic!("request {i}: not charged"),
            };
            assert_eq!(
                here, there,
                "request {i} ({action} {body} at {at_us} µs): local and shared disagree"
            );
            if here {
                passed += 1;
            } else {
                throttled += 1;
            }
        }
        // Both outcomes happen often, so the comparison means something.
        assert!(passed > 300 && throttled > 300, "{passed} {throttled}");
    }

    /// A rule's count in Redis fires exactly where the local count would, and a firing rule
    /// whose fault acts keeps the request from the quota, in the same round trip.
    #[tokio::test]
    async fn counts_fire_as_locally_and_an_acting_rule_skips_the_quota() {
        let server = RedisServer::start();
        let shared = store(&server, "counts:").await;
        let local = Buckets::new(&QuotaSpec {
            enabled: true,
            scale: None,
            rates: [("UserList".to_string(), 1.0)].into(),
        })
        .unwrap();
        let charge = local.charge("ListUsers", Some("UserList"), None).unwrap();
        let targets = [
            Target {
                first: Some(3),
                ..Target::default()
            },
            Target {
                every: Some(4),
                after: Some(5),
                ..Target::default()
            },
        ];
        for n in 1..=20u64 {
            let counted: Vec<Counted<'_>> = targets
                .iter()
                .enumerate()
                .map(|(i, t)| Counted {
                    id: if i == 0 { "first" } else { "every" },
                    first: t.first,
                    every: t.every,
                    after: t.after,
                    draw_ok: true,
                    // Only the first rule's fault acts; the second is a latency.
                    acts: i == 0,
                })
                .collect();
            let reply = shared
                .invoke(&counted, false, Some(&charge), Some(1_000_000 * n))
                .await
                .unwrap();
            assert_eq!(reply.counts, [n, n]);
            let first_fires = targets[0].counts_allow(n);
            assert_eq!(
                reply.verdict == Verdict::NotCharged,
                first_fires,
                "request {n}: {reply:?}"
            );
        }
        // A draw that does not pass fires nothing, however the count stands; and `skip`
        // (a rule decided locally acts) keeps the request from the quota.
        let never = Counted {
            id: "never",
            first: Some(100),
            every: None,
            after: None,
            draw_ok: false,
            acts: true,
        };
        let reply = shared
            .invoke(
                std::slice::from_ref(&never),
                false,
                Some(&charge),
                Some(100_000_000),
            )
            .await
            .unwrap();
        assert_eq!(reply.verdict, Verdict::Passed);
        let reply = shared
            .invoke(&[never], true, Some(&charge), Some(100_000_001))
            .await
            .unwrap();
        assert_eq!(reply.verdict, Verdict::NotCharged);
        assert_eq!(reply.counts, [2]);
    }

    /// Two prefixes are two fleets; rule ids and user pool ids reach Redis only as digests.
    #[tokio::test]
    async fn prefixes_separate_fleets_and_keys_hold_no_request_values() {
        let server = RedisServer::start();
        let a = store(&server, "fleet-a:").await;
        let b = store(&server, "fleet-b:").await;
        let local = Buckets::new(&QuotaSpec {
            enabled: true,
            scale: None,
            rates: [("UserPoolResourceRead".to_string(), 1.0)].into(),
        })
        .unwrap();
        let body = json!({"UserPoolId": "eu-west-1_SecretPool"});
        let charge = local
            .charge("GetGroup", Some("UserPoolResourceRead"), Some(&body))
            .unwrap();
        let rule = |id| Counted {
            id,
            first: Some(1),
            every: None,
            after: None,
            draw_ok: true,
            acts: false,
        };
        for s in [&a, &b] {
            let r = s
                .invoke(&[rule("fail-alice")], false, Some(&charge), Some(5))
                .await
                .unwrap();
            assert_eq!(
                (r.counts.as_slice(), r.verdict),
                (&[1][..], Verdict::Passed)
            );
        }
        let r = a
            .invoke(&[rule("fail-alice")], false, Some(&charge), Some(6))
            .await
            .unwrap();
        assert_eq!(
            (r.counts.as_slice(), r.verdict),
            (&[2][..], Verdict::Throttled)
        );

        let client = redis::Client::open(server.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(!keys.is_empty());
        for k in &keys {
            assert!(
                k.starts_with("fleet-a:") || k.starts_with("fleet-b:"),
                "{k}"
            );
            assert!(!k.contains("alice") && !k.contains("SecretPool"), "{k}");
        }
        // Idle buckets go away by themselves; rule counts stay.
        let ttl: i64 = redis::cmd("PTTL")
            .arg(format!("fleet-a:{}", charge.sources[0].0.shared_name()))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!((1..=3000).contains(&ttl), "{ttl}");
    }

    /// A Redis that does not answer in time costs a request the timeout, not more: it is
    /// decided locally and counted; after a few in a row the store is taken for gone, and
    /// reconnected once Redis answers again.
    #[tokio::test]
    async fn a_slow_store_times_out_then_reconnects() {
        let server = RedisServer::start();
        let s = Shared::new(&SharedConfig {
            url: server.url(),
            prefix: "slow:".into(),
            timeout: Duration::from_millis(100),
        })
        .unwrap();
        s.connect().await;
        assert!(s.is_up());
        let client = redis::Client::open(server.url()).unwrap();
        let mut other = client.get_multiplexed_async_connection().await.unwrap();
        // Every client but this one waits for 1.5 s.
        let () = redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(1500)
            .arg("ALL")
            .query_async(&mut other)
            .await
            .unwrap();
        let started = Instant::now();
        for _ in 0..TIMEOUTS_TO_DISCONNECT {
            assert_eq!(
                s.invoke(&[], false, None, Some(1)).await,
                Err(Fallback::Timeout)
            );
        }
        // Not a benchmark: only that no call waited for the paused Redis.
        assert!(started.elapsed() < Duration::from_millis(1400));
        assert!(!s.is_up(), "three timeouts in a row: taken for gone");
        assert_eq!(
            s.invoke(&[], false, None, Some(1)).await,
            Err(Fallback::Unreachable)
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !s.is_up() {
            assert!(Instant::now() < deadline, "never reconnected");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(s.invoke(&[], false, None, Some(1)).await.is_ok());
        let mut text = String::new();
        s.prometheus(&mut text);
        for line in [
            "cogcheck_proxy_shared_state_fallbacks_total{reason=\"timeout\"} 3",
            "cogcheck_proxy_shared_state_fallbacks_total{reason=\"unreachable\"} 1",
            "cogcheck_proxy_shared_state_reconnects_total 1",
            "cogcheck_proxy_shared_state_up 1",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
    }

    /// Unreachable at start: every request is decided locally and counted as such.
    #[tokio::test]
    async fn an_unreachable_store_falls_back_and_counts() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let s = Shared::new(&SharedConfig {
            url: format!("redis://127.0.0.1:{port}"),
            prefix: "x:".into(),
            timeout: Duration::from_millis(50),
        })
        .unwrap();
        s.connect().await;
        assert!(!s.is_up());
        assert_eq!(
            s.invoke(&[], false, None, None).await,
            Err(Fallback::Unreachable)
        );
        let mut text = String::new();
        s.prometheus(&mut text);
        assert!(text.contains("cogcheck_proxy_shared_state_up 0"), "{text}");
        assert!(
            text.contains("cogcheck_proxy_shared_state_fallbacks_total{reason=\"unreachable\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn bad_urls_are_refused_and_passwords_never_shown() {
        let e = Shared::new(&SharedConfig {
            url: "http://x".into(),
            prefix: "p".into(),
            timeout: Duration::from_millis(5),
        })
        .err()
        .unwrap();
        assert!(e.contains("--shared-state"), "{e}");
        let s = Shared::new(&SharedConfig {
            url: "redis://:hunter2@127.0.0.1:6379/3".into(),
            prefix: "p".into(),
            timeout: Duration::from_millis(5),
        })
        .unwrap();
        assert_eq!(s.display, "redis://127.0.0.1:6379/3");
        assert!(!s.describe().to_string().contains("hunter2"));
    }
}
