//! The mapping between the primary's values and the shadow's, learned from their answers, and
//! the rewriting of each request for the shadow through it.
//!
//! # Learning
//!
//! After both backends answered the same request, their bodies are walked side by side. Where
//! both hold a string at the same place and the strings differ, the pair is learned when the
//! place or the value says it is an identifier: a member named like one (`Id`, `UserPoolId`,
//! `ClientId`, `ClientSecret`, `Session`, `AccessToken`, `DeviceKey`, `SecretCode`,
//! `SECRET_BLOCK`, `USER_ID_FOR_SRP`, `sub`, ...), a value shaped like a pool id, a UUID or a
//! JWT (whose claims are then walked too), or a cassette's `<secret:N>` placeholder. Arrays
//! pair their elements by a naming member (`Name`, `Username`, `ClientName`, `GroupName`, ...,
//! translated through what is known) or, lacking one, by position when both have the same
//! length; `{Name, Value}` attribute lists pair by attribute name. The first pair learned for a
//! value wins: a later, different answer is a difference to report, not a new truth.
//!
//! # Rewriting
//!
//! Every string of a request for the shadow that equals a learned primary value becomes the
//! shadow's; pool ids and placeholders inside longer strings and the path are replaced too.
//! Then the protocol values a client computes from per-backend secrets are recomputed:
//!
//! - `SECRET_HASH` / `SecretHash`, with the shadow's client id and secret, but only when the
//!   primary's hash was right (or, from a cassette, when the primary did not refuse it): a test
//!   of a wrong hash stays a wrong hash;
//! - SRP (`USER_SRP_AUTH`): the shadow gets its own `SRP_A`, and its `PASSWORD_VERIFIER` answer
//!   is computed from the shadow's challenge with the password the shadow was given for that
//!   user (remembered from `AdminCreateUser`, `AdminSetUserPassword`, `SignUp`,
//!   `ConfirmForgotPassword`, `NEW_PASSWORD` answers and successful password sign-ins), or a
//!   wrong one when the primary refused the claim;
//! - TOTP codes (`UserCode`, `SOFTWARE_TOKEN_MFA_CODE`): a code valid for a primary secret
//!   becomes the current code of the paired shadow secret.
//!
//! # Forgetting
//!
//! A live shadow runs for days, so the mapping cannot keep everything it ever learned. When
//! both backends delete a user pool, everything learned about that pool (its id, its clients
//! and their secrets, the passwords and SRP sign-ins in it) goes with it. Beyond that, the
//! pairs, and what is kept beside them (the passwords users were given, the user each refresh
//! token was issued to, the values invented for a cassette), are held to one byte budget
//! ([`DEFAULT_BUDGET`], `--shadow-mapping-mb`): over it, the oldest short-lived values
//! (sessions, tokens, codes, pagination tokens, refresh tokens' users, invented values), which
//! a client stops sending within hours, are forgotten first, then the oldest of any kind. A
//! forgotten value is no longer rewritten for the shadow; [`Mapping::forgotten`] counts the
//! forgotten pairs.
//!
//! From a cassette, where secrets are `<secret:N>`, a placeholder the mapping does not know is
//! given a fresh value, the same for every use of the placeholder, chosen by where it appears:
//! a password meeting Cognito's default policy (or a weak one when the recording answered
//! `InvalidPasswordException`), a user name, an e-mail address or phone number for those
//! attributes, `123456` for codes, and a neutral string otherwise.

use std::collections::{BTreeMap, HashMap};

use cogcheck::protocol::jwt::{self, is_jwt};
use cogcheck::protocol::{cognito_timestamp, secret_hash, totp_at, SrpClient};
use serde_json::{Map, Value};

use super::identify::{attribute, invent, kind_of, learnable, replace_tokens, NAMING_KEYS};
use crate::redact::is_placeholder;

mod budget;
use budget::Beside;

/// The kinds of values a client stops sending within hours: forgotten first over budget.
const SHORT_LIVED: &[&str] = &[
    "session",
    "jwt",
    "refresh-token",
    "jti",
    "next-token",
    "code",
    "srp-secret-block",
    "event-id",
];

/// The mapping's default byte budget: about a million pool ids, or fifty thousand sign-ins'
/// worth of token pairs, in well under the proxy's own footprint at load.
pub const DEFAULT_BUDGET: usize = 64 << 20;

/// What a pair costs besides its two strings: two hash map entries and the pair itself.
const PAIR_OVERHEAD: usize = 128;

/// Response headers that carry values a later request sends back.
pub const LEARNED_HEADERS: &[&str] = &["x-moto-forgot-password-confirmation-code"];

/// Which backend a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The primary (`--upstream`, or the cassette).
    Primary,
    /// The shadow (`--shadow`, or `--against`).
    Shadow,
}

/// One learned pair.
#[derive(Debug, Clone)]
pub struct Pair {
    /// What it is: `pool-id`, `client-id`, `sub`, `session`, `jwt`, ...
    pub kind: &'static str,
    /// The primary's value.
    pub primary: String,
    /// The shadow's value.
    pub shadow: String,
}

struct SrpState {
    /// Its number among the entries kept beside the pairs.
    number: usize,
    client: SrpClient,
    pool: String,
    username: String,
    challenge: Map<String, Value>,
}

/// What a rewrite left to finish once the shadow answered.
pub enum Pending {
    /// Nothing.
    None,
    /// An SRP sign-in began with the proxy's own `SRP_A`.
    SrpStart {
        /// The SRP client holding the private key.
        client: Box<SrpClient>,
        /// The shadow's pool.
        pool: String,
        /// The user name sent.
        username: String,
    },
}

/// Where a code delivered out of band goes in a request for the shadow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSlot {
    /// The JSON pointer of the code in the request.
    pub pointer: &'static str,
    /// What the code confirms.
    pub purpose: CodePurpose,
    /// The shadow's pool.
    pub pool: String,
    /// The user it was delivered to.
    pub user: String,
}

/// What a delivered code confirms (targets with fixed codes have one per purpose).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// `ConfirmSignUp`.
    SignUp,
    /// `ConfirmForgotPassword`.
    ForgotPassword,
    /// `VerifyUserAttribute`.
    Attribute,
}

/// What a rewrite needs to know about the primary's answer.
#[derive(Debug, Clone, Default)]
pub struct PrimaryOutcome {
    /// The primary answered with success.
    pub success: bool,
    /// The primary's error type.
    pub error_type: Option<String>,
}

/// The learned mapping and what it derived (client secrets, passwords, SRP and TOTP state).
pub struct Mapping {
    /// By number, in the order learned; numbers are never reused, so a forgotten pair leaves
    /// every other pair's number as it was.
    pairs: BTreeMap<usize, Pair>,
    next: usize,
    /// Primary values that are second names of a pair (see [`Mapping::learn_pair`]).
    aliases: HashMap<usize, Vec<String>>,
    bytes: usize,
    budget: usize,
    forgotten: u64,
    primary: HashMap<String, usize>,
    shadow: HashMap<String, usize>,
    secrets_primary: HashMap<String, String>,
    secrets_shadow: HashMap<String, String>,
    client_pool_primary: HashMap<String, String>,
    client_pool_shadow: HashMap<String, String>,
    /// The number of each client's entry beside the pairs (its secret and pool).
    client_numbers: HashMap<(Side, String), usize>,
    pool_names: HashMap<String, (String, usize)>,
    /// The password the shadow was given for (shadow pool, user), with its entry in `beside`.
    passwords: HashMap<(String, String), (String, usize)>,
    /// The user each primary refresh token was issued to: REFRESH_TOKEN_AUTH sends a
    /// SECRET_HASH over the username but no USERNAME, so the hash for the shadow needs it.
    refresh_users: HashMap<String, (String, usize)>,
    /// Shadow values invented for a cassette's placeholders: unlike values learned from an
    /// answer, an invented confirmation code is one the shadow never delivered.
    invented: HashMap<String, usize>,
    /// The entries of these maps (and of the client, pool name and SRP maps) by the number they were remembered under (numbers
    /// shared with `pairs`, so "oldest" compares across both): they count against the budget
    /// and are forgotten like pairs, or a long live compare would grow them without bound.
    beside: BTreeMap<usize, Beside>,
    totp: Vec<usize>,
    srp: HashMap<String, SrpState>,
}

impl Default for Mapping {
    fn default() -> Mapping {
        Mapping::with_budget(DEFAULT_BUDGET)
    }
}

impl Mapping {
    /// An empty mapping with the default budget.
    pub fn new() -> Mapping {
        Mapping::default()
    }

    /// An empty mapping that keeps its pairs within `budget` bytes.
    pub fn with_budget(budget: usize) -> Mapping {
        Mapping {
            pairs: BTreeMap::new(),
            next: 0,
            aliases: HashMap::new(),
            bytes: 0,
            budget,
            forgotten: 0,
            primary: HashMap::new(),
            shadow: HashMap::new(),
            secrets_primary: HashMap::new(),
            secrets_shadow: HashMap::new(),
            client_pool_primary: HashMap::new(),
            client_pool_shadow: HashMap::new(),
            client_numbers: HashMap::new(),
            pool_names: HashMap::new(),
            passwords: HashMap::new(),
            refresh_users: HashMap::new(),
            invented: HashMap::new(),
            beside: BTreeMap::new(),
            totp: Vec::new(),
            srp: HashMap::new(),
        }
    }

    /// Every pair held, in the order learned.
    pub fn pairs(&self) -> impl Iterator<Item = &Pair> {
        self.pairs.values()
    }

    /// How many pairs were forgotten, with their pool or over the budget.
    pub fn forgotten(&self) -> u64 {
        self.forgotten
    }

    /// What the held pairs and the entries kept beside them cost, in bytes, as counted against
    /// the budget.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The pair a value of `side` belongs to.
    pub fn lookup(&self, side: Side, value: &str) -> Option<(usize, &Pair)> {
        let map = match side {
            Side::Primary => &self.primary,
            Side::Shadow => &self.shadow,
        };
        map.get(value)
            .and_then(|&i| self.pairs.get(&i).map(|p| (i, p)))
    }

    /// The shadow's value for a primary value, if learned.
    pub fn to_shadow(&self, primary: &str) -> Option<&str> {
        self.lookup(Side::Primary, primary)
            .map(|(_, p)| p.shadow.as_str())
    }

    /// The name a primary pool was created with, when seen.
    pub fn pool_name(&self, primary_pool: &str) -> Option<&str> {
        self.pool_names
            .get(primary_pool)
            .map(|(name, _)| name.as_str())
    }

    /// The primary pool a request is about: its `UserPoolId`, the pool of its `ClientId`, or
    /// the issuer of its `AccessToken`.
    pub fn pool_of_request(&self, body: &Value) -> Option<String> {
        if let Some(p) = body.get("UserPoolId").and_then(Value::as_str) {
            return Some(p.to_string());
        }
        if let Some(c) = body.get("ClientId").and_then(Value::as_str) {
            if let Some(p) = self.client_pool_primary.get(c) {
                return Some(p.clone());
            }
        }
        let token = body.get("AccessToken").and_then(Value::as_str)?;
        let (_, claims) = jwt::decode_unverified(token).ok()?;
        let iss = claims.get("iss")?.as_str()?;
        iss.rsplit('/').next().map(str::to_string)
    }

    /// Learns one pair; the first pair for a value wins.
    ///
    /// One exception: a cassette redacts a value in one place (`Username`, model-sensitive)
    /// and not in another (`ChallengeParameters.USERNAME`); when the shadow's value is already
    /// paired with a placeholder, the primary's plain value becomes a second name for it.
    pub fn learn_pair(&mut self, kind: &'static str, primary: &str, shadow: &str) {
        if let Some(&i) = self.shadow.get(shadow) {
            let redacted = self
                .pairs
                .get(&i)
                .is_some_and(|p| is_placeholder(&p.primary));
            let redacted = redacted && !is_placeholder(primary);
            if redacted && !self.primary.contains_key(primary) {
                self.primary.insert(primary.to_string(), i);
                self.aliases.entry(i).or_default().push(primary.to_string());
                self.bytes += primary.len() + PAIR_OVERHEAD / 2;
            }
            return;
        }
        if primary == shadow
            || primary.is_empty()
            || shadow.is_empty()
            || self.primary.contains_key(primary)
        {
            return;
        }
        let i = self.number();
        self.pairs.insert(
            i,
            Pair {
                kind,
                primary: primary.to_string(),
                shadow: shadow.to_string(),
            },
        );
        self.primary.insert(primary.to_string(), i);
        self.shadow.insert(shadow.to_string(), i);
        self.bytes += primary.len() + shadow.len() + PAIR_OVERHEAD;
        if kind == "totp-secret" {
            self.totp.push(i);
        }
        if self.bytes > self.budget {
            self.shrink();
        }
    }

    /// Forgets a user pool that both backends deleted, with its clients, their secrets, and
    /// the passwords and unfinished SRP sign-ins of its users.
    pub fn forget_pool(&mut self, primary_pool: &str) {
        let Some(shadow_pool) = self.to_shadow(primary_pool).map(str::to_string) else {
            return;
        };
        if let Some(j) = self.pool_names.get(primary_pool).map(|&(_, j)| j) {
            self.forget_beside(j);
        }
        for c in clients_of(&self.client_pool_primary, primary_pool) {
            let secret = self.secrets_primary.get(&c).cloned();
            for value in std::iter::once(&c).chain(secret.as_ref()) {
                if let Some(i) = self.lookup(Side::Primary, value).map(|(i, _)| i) {
                    self.forget(i);
                }
            }
            if let Some(j) = self.client_numbers.get(&(Side::Primary, c)).copied() {
                self.forget_beside(j);
            }
        }
        for c in clients_of(&self.client_pool_shadow, &shadow_pool) {
            if let Some(j) = self.client_numbers.get(&(Side::Shadow, c)).copied() {
                self.forget_beside(j);
            }
        }
        let passwords: Vec<usize> = self
            .passwords
            .iter()
            .filter(|((pool, _), _)| pool == &shadow_pool)
            .map(|(_, &(_, i))| i)
            .collect();
        for i in passwords {
            self.forget_beside(i);
        }
        let srp: Vec<usize> = self
            .srp
            .values()
            .filter(|s| s.pool == shadow_pool)
            .map(|s| s.number)
            .collect();
        for i in srp {
            self.forget_beside(i);
        }
        if let Some(i) = self.lookup(Side::Primary, primary_pool).map(|(i, _)| i) {
            self.forget(i);
        }
    }

    /// Learns from both answers to one request (bodies and the headers in
    /// [`LEARNED_HEADERS`]), and what the request and answers say about pools and clients.
    pub fn learn(
        &mut self,
        request_primary: &Value,
        primary: &Value,
        shadow: &Value,
        headers: (&http::HeaderMap, &http::HeaderMap),
    ) {
        self.learn_value(primary, shadow, "", 0);
        for h in LEARNED_HEADERS {
            if let (Some(a), Some(b)) = (
                headers.0.get(*h).and_then(|v| v.to_str().ok()),
                headers.1.get(*h).and_then(|v| v.to_str().ok()),
            ) {
                self.learn_pair(kind_of(h, a), a, b);
                // moto sends `moto-confirmation-code:NNNNNN`; clients send either form.
                if let (Some(x), Some(y)) = (a.rsplit(':').next(), b.rsplit(':').next()) {
                    self.learn_pair("code", x, y);
                }
            }
        }
        if let Some(refresh) = primary
            .pointer("/AuthenticationResult/RefreshToken")
            .and_then(Value::as_str)
        {
            let user = ["/AuthParameters/USERNAME", "/ChallengeResponses/USERNAME"]
                .iter()
                .find_map(|p| request_primary.pointer(p).and_then(Value::as_str));
            if let Some(user) = user {
                self.remember_refresh_user(refresh, user);
            }
        }
        // Pools and clients, for SECRET_HASH, SRP and the reports.
        if let (Some(name), Some(id)) = (
            request_primary.get("PoolName").and_then(Value::as_str),
            primary.pointer("/UserPool/Id").and_then(Value::as_str),
        ) {
            self.remember_pool_name(id, name);
        }
        for (body, side) in [(primary, Side::Primary), (shadow, Side::Shadow)] {
            let clients: Vec<&Value> =
                match (body.get("UserPoolClient"), body.get("UserPoolClients")) {
                    (Some(c), _) => vec![c],
                    (None, Some(Value::Array(cs))) => cs.iter().collect(),
                    _ => Vec::new(),
                };
            for c in clients {
                let Some(id) = c.get("ClientId").and_then(Value::as_str) else {
                    continue;
                };
                let secret = c.get("ClientSecret").and_then(Value::as_str);
                let pool = c.get("UserPoolId").and_then(Value::as_str);
                if secret.is_some() || pool.is_some() {
                    self.remember_client(side, id, secret, pool);
                }
            }
        }
    }

    fn learn_value(&mut self, a: &Value, b: &Value, key: &str, depth: usize) {
        if depth > 64 {
            return;
        }
        match (a, b) {
            (Value::String(x), Value::String(y)) => {
                if x != y && learnable(key, x) {
                    self.learn_pair(kind_of(key, x), x, y);
                }
                if is_jwt(x) && is_jwt(y) {
                    if let (Ok((_, cx)), Ok((_, cy))) =
                        (jwt::decode_unverified(x), jwt::decode_unverified(y))
                    {
                        self.learn_value(&cx, &cy, "", depth + 1);
                    }
                }
            }
            (Value::Object(x), Value::Object(y)) => {
                for (k, xv) in x {
                    if let Some(yv) = y.get(k) {
                        self.learn_value(xv, yv, k, depth + 1);
                    }
                }
            }
            (Value::Array(x), Value::Array(y)) => {
                for (i, xe) in x.iter().enumerate() {
                    if let Some(ye) = self.partner(xe, i, x.len(), y) {
                        match (attribute(xe), attribute(ye)) {
                            (Some((n, xv)), Some((m, yv))) if n == m => {
                                self.learn_value(xv, yv, n, depth + 1)
                            }
                            _ => self.learn_value(xe, ye, key, depth + 1),
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn partner<'b>(&self, xe: &Value, i: usize, len: usize, ys: &'b [Value]) -> Option<&'b Value> {
        if let Value::Object(xo) = xe {
            for k in NAMING_KEYS {
                if let Some(Value::String(name)) = xo.get(*k) {
                    let want = self.to_shadow(name).unwrap_or(name);
                    return ys
                        .iter()
                        .find(|y| y.get(*k).and_then(Value::as_str) == Some(want));
                }
            }
        }
        if len == ys.len() {
            ys.get(i)
        } else {
            None
        }
    }

    /// Rewrites a request body (and its path) from the primary's values to the shadow's, and
    /// recomputes SECRET_HASH, SRP and TOTP values. `generate` allows inventing values for
    /// unknown `<secret:N>` placeholders (replaying a cassette).
    pub fn rewrite(
        &mut self,
        action: &str,
        body: &mut Value,
        path: &mut String,
        outcome: &PrimaryOutcome,
        generate: bool,
    ) -> Pending {
        let original = body.clone();
        if let Some(p) = self.translate_text(path) {
            *path = p;
        }
        self.rewrite_value(body, "", outcome, generate, 0);
        self.fix_secret_hashes(&original, body, outcome, generate);
        self.remember_passwords(action, body, outcome);
        self.fix_totp(body, outcome, generate);
        self.fix_srp(action, body, outcome)
    }

    fn rewrite_value(
        &mut self,
        v: &mut Value,
        key: &str,
        outcome: &PrimaryOutcome,
        generate: bool,
        depth: usize,
    ) {
        if depth > 64 {
            return;
        }
        match v {
            Value::String(s) => {
                if let Some(b) = self.to_shadow(s) {
                    *s = b.to_string();
                } else if generate && is_placeholder(s) {
                    let fresh = invent(key, outcome.error_type.as_deref());
                    let kind = kind_of(key, s);
                    self.learn_pair(kind, s, &fresh);
                    self.remember_invented(&fresh);
                    *s = fresh;
                } else if let Some(t) = self.translate_text(s) {
                    *s = t;
                }
            }
            Value::Object(map) => {
                let attr_name = match (map.get("Name"), map.get("Value")) {
                    (Some(Value::String(n)), Some(_)) => Some(n.clone()),
                    _ => None,
                };
                for (k, child) in map.iter_mut() {
                    let key = match (&attr_name, k.as_str()) {
                        (Some(n), "Value") => n.as_str(),
                        _ => k.as_str(),
                    };
                    self.rewrite_value(child, key, outcome, generate, depth + 1);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.rewrite_value(item, key, outcome, generate, depth + 1);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// Replaces learned primary values that appear inside a longer text (a pool id in a path
    /// or an ARN, a placeholder after `Bearer `).
    pub fn translate_text(&self, text: &str) -> Option<String> {
        let mut out = String::with_capacity(text.len());
        let changed = replace_tokens(text, &mut out, |token| {
            self.to_shadow(token).map(str::to_string)
        });
        changed.then_some(out)
    }

    fn fix_secret_hashes(
        &self,
        original: &Value,
        body: &mut Value,
        outcome: &PrimaryOutcome,
        generate: bool,
    ) {
        let client_a = original.get("ClientId").and_then(Value::as_str);
        let client_b = body
            .get("ClientId")
            .and_then(Value::as_str)
            .map(str::to_string);
        let (Some(client_a), Some(client_b)) = (client_a, client_b) else {
            return;
        };
        for (container, user_key, hash_key) in [
            (None, "Username", "SecretHash"),
            (Some("AuthParameters"), "USERNAME", "SECRET_HASH"),
            (Some("ChallengeResponses"), "USERNAME", "SECRET_HASH"),
        ] {
            let get = |v: &Value, k: &str| -> Option<String> {
                let obj = match container {
                    Some(c) => v.get(c)?,
                    None => v,
                };
                obj.get(k).and_then(Value::as_str).map(str::to_string)
            };
            // A refresh names no user: the one its token was issued to stands in.
            let refresh_user = || {
                let token = original
                    .pointer("/AuthParameters/REFRESH_TOKEN")?
                    .as_str()?;
                self.refresh_users.get(token).map(|(user, _)| user.clone())
            };
            let in_auth_parameters = container == Some("AuthParameters");
            let user_a =
                get(original, user_key).or_else(|| in_auth_parameters.then(refresh_user).flatten());
            let (Some(user_a), Some(hash_a)) = (user_a, get(original, hash_key)) else {
                continue;
            };
            let right_on_primary = match self.secrets_primary.get(client_a) {
                Some(secret) if !is_placeholder(secret) && !is_placeholder(&hash_a) => {
                    secret_hash(&user_a, client_a, secret) == hash_a
                }
                // From a cassette the secret and the hash are placeholders: nothing to
                // recompute, so trust the recorded outcome.
                _ => generate && outcome.error_type.as_deref() != Some("NotAuthorizedException"),
            };
            let user_b = get(body, user_key).or_else(|| {
                in_auth_parameters.then(|| self.to_shadow(&user_a).unwrap_or(&user_a).to_string())
            });
            let (Some(user_b), Some(secret_b)) = (user_b, self.secrets_shadow.get(&client_b))
            else {
                continue;
            };
            let hash_b = if right_on_primary {
                secret_hash(&user_b, &client_b, secret_b)
            } else {
                "d3JvbmctaGFzaA==".to_string()
            };
            let target = match container {
                Some(c) => body.get_mut(c),
                None => Some(&mut *body),
            };
            if let Some(Value::Object(obj)) = target {
                obj.insert(hash_key.to_string(), Value::String(hash_b));
            }
        }
    }

    fn pool_for_client(&self, body: &Value) -> Option<String> {
        body.get("UserPoolId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                body.get("ClientId")
                    .and_then(Value::as_str)
                    .and_then(|c| self.client_pool_shadow.get(c).cloned())
            })
    }

    fn remember_passwords(&mut self, action: &str, body: &Value, outcome: &PrimaryOutcome) {
        if !outcome.success {
            return;
        }
        let Some(pool) = self.pool_for_client(body) else {
            return;
        };
        let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let found = match action {
            "AdminCreateUser" => (s(body.get("Username")), s(body.get("TemporaryPassword"))),
            "AdminSetUserPassword" => (s(body.get("Username")), s(body.get("Password"))),
            "SignUp" | "ConfirmForgotPassword" => {
                (s(body.get("Username")), s(body.get("Password")))
            }
            "RespondToAuthChallenge" | "AdminRespondToAuthChallenge" => (
                s(body.pointer("/ChallengeResponses/USERNAME")),
                s(body.pointer("/ChallengeResponses/NEW_PASSWORD")),
            ),
            "InitiateAuth" | "AdminInitiateAuth" => (
                s(body.pointer("/AuthParameters/USERNAME")),
                s(body.pointer("/AuthParameters/PASSWORD")),
            ),
            _ => (None, None),
        };
        if let (Some(user), Some(password)) = found {
            self.remember_password(pool, user, password);
        }
    }

    fn fix_totp(&self, body: &mut Value, outcome: &PrimaryOutcome, generate: bool) {
        if self.totp.is_empty() || !outcome.success {
            return;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        for pointer in ["/UserCode", "/ChallengeResponses/SOFTWARE_TOKEN_MFA_CODE"] {
            let Some(Value::String(code)) = body.pointer(pointer) else {
                continue;
            };
            let valid_for = self.totp.iter().rev().find_map(|&i| {
                let p = self.pairs.get(&i)?;
                (0..4u64)
                    .any(|k| {
                        totp_at(&p.primary, (now + 30).saturating_sub(k * 30)).ok()
                            == Some(code.clone())
                    })
                    .then_some(p)
            });
            // From a cassette the primary's secret is a placeholder: use the latest one.
            let pair = valid_for.or_else(|| {
                generate
                    .then(|| self.totp.last().and_then(|&i| self.pairs.get(&i)))
                    .flatten()
            });
            if let Some(fresh) = pair.and_then(|p| totp_at(&p.shadow, now).ok()) {
                if let Some(slot) = body.pointer_mut(pointer) {
                    *slot = Value::String(fresh);
                }
            }
        }
    }

    fn fix_srp(&mut self, action: &str, body: &mut Value, outcome: &PrimaryOutcome) -> Pending {
        match action {
            "InitiateAuth" | "AdminInitiateAuth" => {
                if body.pointer("/AuthParameters/SRP_A").is_none() {
                    return Pending::None;
                }
                let (Some(pool), Some(username)) = (
                    self.pool_for_client(body),
                    body.pointer("/AuthParameters/USERNAME")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                ) else {
                    return Pending::None;
                };
                let Ok(client) = SrpClient::new(&pool) else {
                    return Pending::None;
                };
                if let Some(slot) = body.pointer_mut("/AuthParameters/SRP_A") {
                    *slot = Value::String(client.srp_a_hex());
                }
                Pending::SrpStart {
                    client: Box::new(client),
                    pool,
                    username,
                }
            }
            "RespondToAuthChallenge" | "AdminRespondToAuthChallenge" => {
                if body.get("ChallengeName").and_then(Value::as_str) != Some("PASSWORD_VERIFIER") {
                    return Pending::None;
                }
                let Some(block) = body
                    .pointer("/ChallengeResponses/PASSWORD_CLAIM_SECRET_BLOCK")
                    .and_then(Value::as_str)
                else {
                    return Pending::None;
                };
                let Some(state) = self.srp.get(block).map(|s| s.number) else {
                    return Pending::None;
                };
                // Taken out and its cost given back: an SRP sign-in is answered once.
                let Some(state) = self.take_srp(block, state) else {
                    return Pending::None;
                };
                let param = |k: &str| {
                    state
                        .challenge
                        .get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                let user_id = param("USER_ID_FOR_SRP");
                let password = if outcome.success {
                    self.passwords
                        .get(&(state.pool.clone(), state.username.clone()))
                        .or_else(|| self.passwords.get(&(state.pool.clone(), user_id.clone())))
                        .map(|(password, _)| password.clone())
                } else {
                    Some("Wrong-Pa55word!".to_string())
                };
                let Some(password) = password else {
                    return Pending::None;
                };
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or_default();
                let timestamp = cognito_timestamp(now);
                let Ok(signature) = state.client.password_verifier(
                    &user_id,
                    &password,
                    &param("SRP_B"),
                    &param("SALT"),
                    &param("SECRET_BLOCK"),
                    &timestamp,
                ) else {
                    return Pending::None;
                };
                if let Some(Value::Object(r)) = body.get_mut("ChallengeResponses") {
                    r.insert("PASSWORD_CLAIM_SIGNATURE".into(), Value::String(signature));
                    r.insert("TIMESTAMP".into(), Value::String(timestamp));
                }
                Pending::None
            }
            _ => Pending::None,
        }
    }

    /// Where a request rewritten for the shadow carries a code the shadow delivered (by e-mail
    /// or SMS, so no answer taught it to the mapping), and to whom it was delivered. `None`
    /// when the request carries no such code, when the code is one the mapping learned (moto's
    /// header), or when the primary refused it: a test of a wrong code stays wrong.
    pub fn delivered_code_slot(
        &self,
        action: &str,
        shadow_body: &Value,
        outcome: &PrimaryOutcome,
    ) -> Option<CodeSlot> {
        if !outcome.success {
            return None;
        }
        let text = |k: &str| shadow_body.get(k).and_then(Value::as_str);
        let (pointer, purpose, pool, user) = match action {
            "ConfirmSignUp" | "ConfirmForgotPassword" => {
                let pool = self.client_pool_shadow.get(text("ClientId")?)?.clone();
                let purpose = if action == "ConfirmSignUp" {
                    CodePurpose::SignUp
                } else {
                    CodePurpose::ForgotPassword
                };
                (
                    "/ConfirmationCode",
                    purpose,
                    pool,
                    text("Username")?.to_string(),
                )
            }
            "VerifyUserAttribute" => {
                let (_, claims) = jwt::decode_unverified(text("AccessToken")?).ok()?;
                let pool = claims.get("iss")?.as_str()?.rsplit('/').next()?.to_string();
                let user = claims.get("username")?.as_str()?.to_string();
                ("/Code", CodePurpose::Attribute, pool, user)
            }
            _ => return None,
        };
        let code = shadow_body.pointer(pointer)?.as_str()?;
        // A code learned from the shadow's own answer (moto's header) is already right; one
        // invented for a cassette's placeholder is not, and needs the delivered one.
        if self.shadow.contains_key(code) && !self.invented.contains_key(code) {
            return None;
        }
        Some(CodeSlot {
            pointer,
            purpose,
            pool,
            user,
        })
    }

    /// Finishes what a rewrite began, with the shadow's answer.
    pub fn finish(&mut self, pending: Pending, shadow_answer: &Value) {
        match pending {
            Pending::None => {}
            Pending::SrpStart {
                client,
                pool,
                username,
            } => {
                if let Some(Value::Object(challenge)) = shadow_answer.get("ChallengeParameters") {
                    if let Some(block) = challenge.get("SECRET_BLOCK").and_then(Value::as_str) {
                        self.remember_srp(
                            block.to_string(),
                            SrpState {
                                number: 0,
                                client: *client,
                                pool,
                                username,
                                challenge: challenge.clone(),
                            },
                        );
                    }
                }
            }
        }
    }
}

/// The clients of `pool` in a client -> pool map.
fn clients_of(client_pool: &HashMap<String, String>, pool: &str) -> Vec<String> {
    client_pool
        .iter()
        .filter(|(_, p)| p.as_str() == pool)
        .map(|(c, _)| c.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok() -> PrimaryOutcome {
        PrimaryOutcome {
            success: true,
            error_type: None,
        }
    }

    #[test]
    fn learns_ids_and_rewrites_requests_with_them() {
        let mut m = Mapping::new();
        let none = http::HeaderMap::new();
        m.learn(
            &json!({"PoolName": "p"}),
            &json!({"UserPool": {"Id": "us-east-1_AAA", "Name": "p", "Status": "Enabled"}}),
            &json!({"UserPool": {"Id": "us-east-1_BBB", "Name": "p", "Status": "Active"}}),
            (&none, &none),
        );
        assert_eq!(m.to_shadow("us-east-1_AAA"), Some("us-east-1_BBB"));
        assert_eq!(m.to_shadow("Enabled"), None, "not an identifier");
        assert_eq!(m.pool_name("us-east-1_AAA"), Some("p"));

        m.learn(
            &json!({}),
            &json!({"UserPoolClient": {"ClientId": "ca", "ClientSecret": "sa", "UserPoolId": "us-east-1_AAA"}}),
            &json!({"UserPoolClient": {"ClientId": "cb", "ClientSecret": "sb", "UserPoolId": "us-east-1_BBB"}}),
            (&none, &none),
        );
        let mut body = json!({
            "ClientId": "ca",
            "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": "alice", "PASSWORD": "P", "SECRET_HASH": secret_hash("alice", "ca", "sa")}
        });
        let mut path = "/us-east-1_AAA/.well-known/jwks.json".to_string();
        m.rewrite("InitiateAuth", &mut body, &mut path, &ok(), false);
        assert_eq!(path, "/us-east-1_BBB/.well-known/jwks.json");
        assert_eq!(body["ClientId"], "cb");
        assert_eq!(
            body["AuthParameters"]["SECRET_HASH"],
            secret_hash("alice", "cb", "sb")
        );

        // A wrong hash on the primary stays wrong on the shadow.
        let mut body = json!({"ClientId": "ca", "Username": "alice", "SecretHash": "bad"});
        m.rewrite("SignUp", &mut body, &mut String::new(), &ok(), false);
        assert_ne!(body["SecretHash"], secret_hash("alice", "cb", "sb"));
    }

    #[test]
    fn a_cassette_code_placeholder_still_asks_for_the_delivered_code() {
        // Confirmation codes are secrets in a cassette: the comparer invents a value for the
        // placeholder, which the shadow never delivered, so the delivered one must replace it.
        let mut m = Mapping::new();
        let none = http::HeaderMap::new();
        m.learn(
            &json!({}),
            &json!({"UserPoolClient": {"ClientId": "<secret:3>", "UserPoolId": "us-east-1_AAA"}}),
            &json!({"UserPoolClient": {"ClientId": "cb", "UserPoolId": "us-east-1_BBB"}}),
            (&none, &none),
        );
        let mut body = json!({"ClientId": "<secret:3>", "Username": "alice", "ConfirmationCode": "<secret:7>"});
        m.rewrite("ConfirmSignUp", &mut body, &mut String::new(), &ok(), true);
        let slot = m
            .delivered_code_slot("ConfirmSignUp", &body, &ok())
            .expect("the invented code is replaced by the delivered one");
        assert_eq!(
            (slot.pool.as_str(), slot.user.as_str()),
            ("us-east-1_BBB", "alice")
        );
        // A code the shadow itself gave (moto's header) is kept.
        m.learn_pair("code", "111111", "222222");
        let body = json!({"ClientId": "cb", "Username": "alice", "ConfirmationCode": "222222"});
        assert!(m
            .delivered_code_slot("ConfirmSignUp", &body, &ok())
            .is_none());
    }

    #[test]
    fn from_a_cassette_hashes_follow_the_recorded_outcome() {
        // A cassette holds placeholders for the client id, its secret and every hash: the
        // hash cannot be checked, so an accepted one is recomputed for the shadow.
        let mut m = Mapping::new();
        let none = http::HeaderMap::new();
        m.learn(
            &json!({}),
            &json!({"UserPoolClient": {"ClientId": "<secret:3>", "ClientSecret": "<secret:4>", "UserPoolId": "us-east-1_AAA"}}),
            &json!({"UserPoolClient": {"ClientId": "cb", "ClientSecret": "sb", "UserPoolId": "us-east-1_BBB"}}),
            (&none, &none),
        );
        let challenge = json!({"ClientId": "<secret:3>", "ChallengeName": "NEW_PASSWORD_REQUIRED",
            "ChallengeResponses": {"USERNAME": "bob", "NEW_PASSWORD": "<secret:8>", "SECRET_HASH": "<secret:9>"}});
        let mut body = challenge.clone();
        m.rewrite(
            "RespondToAuthChallenge",
            &mut body,
            &mut String::new(),
            &ok(),
            true,
        );
        assert_eq!(
            body["ChallengeResponses"]["SECRET_HASH"],
            secret_hash("bob", "cb", "sb")
        );
        m.learn(
            &challenge,
            &json!({"AuthenticationResult": {"RefreshToken": "<secret:10>"}}),
            &json!({"AuthenticationResult": {"RefreshToken": "refresh-b"}}),
            (&none, &none),
        );
        let mut body = json!({"ClientId": "<secret:3>", "AuthFlow": "REFRESH_TOKEN_AUTH",
            "AuthParameters": {"REFRESH_TOKEN": "<secret:10>", "SECRET_HASH": "<secret:11>"}});
        m.rewrite("InitiateAuth", &mut body, &mut String::new(), &ok(), true);
        assert_eq!(
            body["AuthParameters"]["SECRET_HASH"],
            secret_hash("bob", "cb", "sb")
        );
        // A hash the recording shows refused stays wrong.
        let refused = PrimaryOutcome {
            success: false,
            error_type: Some("NotAuthorizedException".into()),
        };
        let mut body = json!({"ClientId": "<secret:3>", "AuthFlow": "REFRESH_TOKEN_AUTH",
            "AuthParameters": {"REFRESH_TOKEN": "<secret:10>", "SECRET_HASH": "<secret:12>"}});
        m.rewrite(
            "InitiateAuth",
            &mut body,
            &mut String::new(),
            &refused,
            true,
        );
        assert_ne!(
            body["AuthParameters"]["SECRET_HASH"],
            secret_hash("bob", "cb", "sb")
        );
    }

    #[test]
    fn a_refresh_hash_is_recomputed_for_the_user_the_token_was_issued_to() {
        let mut m = Mapping::new();
        let none = http::HeaderMap::new();
        m.learn(
            &json!({}),
            &json!({"UserPoolClient": {"ClientId": "ca", "ClientSecret": "sa", "UserPoolId": "us-east-1_AAA"}}),
            &json!({"UserPoolClient": {"ClientId": "cb", "ClientSecret": "sb", "UserPoolId": "us-east-1_BBB"}}),
            (&none, &none),
        );
        m.learn(
            &json!({"ClientId": "ca", "ChallengeResponses": {"USERNAME": "bob", "NEW_PASSWORD": "P"}}),
            &json!({"AuthenticationResult": {"RefreshToken": "refresh-a"}}),
            &json!({"AuthenticationResult": {"RefreshToken": "refresh-b"}}),
            (&none, &none),
        );
        let mut body = json!({
            "ClientId": "ca",
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "AuthParameters": {"REFRESH_TOKEN": "refresh-a", "SECRET_HASH": secret_hash("bob", "ca", "sa")}
        });
        m.rewrite("InitiateAuth", &mut body, &mut String::new(), &ok(), false);
        assert_eq!(body["AuthParameters"]["REFRESH_TOKEN"], "refresh-b");
        assert_eq!(
            body["AuthParameters"]["SECRET_HASH"],
            secret_hash("bob", "cb", "sb")
        );
    }

    fn pool_with_client(m: &mut Mapping, a: &str, b: &str) {
        let none = http::HeaderMap::new();
        m.learn(
            &json!({"PoolName": a}),
            &json!({"UserPool": {"Id": format!("us-east-1_{a}")}}),
            &json!({"UserPool": {"Id": format!("us-east-1_{b}")}}),
            (&none, &none),
        );
        m.learn(
            &json!({}),
            &json!({"UserPoolClient": {"ClientId": format!("c{a}"), "ClientSecret": format!("s{a}"), "UserPoolId": format!("us-east-1_{a}")}}),
            &json!({"UserPoolClient": {"ClientId": format!("c{b}"), "ClientSecret": format!("s{b}"), "UserPoolId": format!("us-east-1_{b}")}}),
            (&none, &none),
        );
    }

    #[test]
    fn a_pool_deleted_on_both_sides_is_forgotten_with_its_clients() {
        let mut m = Mapping::new();
        pool_with_client(&mut m, "AAA", "BBB");
        pool_with_client(&mut m, "CCC", "DDD");
        let mut body = json!({"ClientId": "cAAA", "Username": "u", "Password": "P"});
        m.rewrite("SignUp", &mut body, &mut String::new(), &ok(), false);
        let kept = m.lookup(Side::Primary, "us-east-1_CCC").map(|(i, _)| i);
        let bytes = m.bytes();

        m.forget_pool("us-east-1_AAA");
        assert_eq!(m.to_shadow("us-east-1_AAA"), None);
        assert_eq!(m.to_shadow("cAAA"), None);
        assert_eq!(m.to_shadow("sAAA"), None, "the client secret goes too");
        assert_eq!(m.pool_name("us-east-1_AAA"), None);
        assert!(m.passwords.is_empty(), "the pool's passwords go too");
        assert_eq!(m.forgotten(), 3);
        assert!(m.bytes() < bytes);
        // The other pool keeps its values and its numbers.
        assert_eq!(m.to_shadow("cCCC"), Some("cDDD"));
        assert_eq!(
            m.lookup(Side::Primary, "us-east-1_CCC").map(|(i, _)| i),
            kept
        );
        assert_eq!(m.secrets_primary.len(), 1);
    }

    #[test]
    fn over_budget_short_lived_values_go_first_and_the_budget_holds() {
        let mut m = Mapping::with_budget(16 * 1024);
        pool_with_client(&mut m, "AAA", "BBB");
        let none = http::HeaderMap::new();
        for n in 0..2000 {
            m.learn(
                &json!({}),
                &json!({"Session": format!("session-a-{n:04}-{}", "x".repeat(40))}),
                &json!({"Session": format!("session-b-{n:04}-{}", "y".repeat(40))}),
                (&none, &none),
            );
            assert!(m.bytes() <= 16 * 1024, "over budget after {n}");
        }
        assert!(m.forgotten() > 1500, "{}", m.forgotten());
        assert_eq!(m.to_shadow("us-east-1_AAA"), Some("us-east-1_BBB"));
        assert_eq!(m.to_shadow("cAAA"), Some("cBBB"));
        let newest = format!("session-a-1999-{}", "x".repeat(40));
        assert!(m.to_shadow(&newest).is_some(), "the newest session is kept");
        assert_eq!(
            m.to_shadow(&format!("session-a-0000-{}", "x".repeat(40))),
            None
        );

        // Durable values alone over the budget: the oldest go.
        let mut m = Mapping::with_budget(2 * 1024);
        for n in 0..100 {
            pool_with_client(&mut m, &format!("A{n:03}"), &format!("B{n:03}"));
            assert!(m.bytes() <= 2 * 1024);
        }
        assert_eq!(m.to_shadow("us-east-1_A000"), None);
        assert_eq!(m.to_shadow("us-east-1_A099"), Some("us-east-1_B099"));
    }

    #[test]
    fn passwords_refresh_users_and_invented_values_are_held_to_the_budget() {
        const BUDGET: usize = 16 * 1024;
        let mut m = Mapping::with_budget(BUDGET);
        pool_with_client(&mut m, "AAA", "BBB");
        let none = http::HeaderMap::new();
        let long = "z".repeat(60);
        for n in 0..3000 {
            // A sign-in: its refresh token's user is remembered.
            m.learn(
                &json!({"AuthParameters": {"USERNAME": format!("user-{n}")}}),
                &json!({"AuthenticationResult": {"RefreshToken": format!("rt-a-{n}-{long}")}}),
                &json!({"AuthenticationResult": {"RefreshToken": format!("rt-b-{n}-{long}")}}),
                (&none, &none),
            );
            // A user given a password: remembered for SRP.
            let mut body = json!({"UserPoolId": "us-east-1_AAA", "Username": format!("u-{n}"),
                                  "Password": format!("Pa55-{n}-{long}")});
            m.rewrite(
                "AdminSetUserPassword",
                &mut body,
                &mut String::new(),
                &ok(),
                false,
            );
            // A cassette's placeholder: a value is invented.
            let mut body = json!({"ConfirmationCode": format!("<secret:{n}>")});
            m.rewrite("ConfirmSignUp", &mut body, &mut String::new(), &ok(), true);
            assert!(m.bytes() <= BUDGET, "over budget after {n}: {}", m.bytes());
        }
        // Each map holds at most what fits in the budget, not one entry per request.
        let most = BUDGET / PAIR_OVERHEAD;
        assert!(m.refresh_users.len() < most, "{}", m.refresh_users.len());
        assert!(m.passwords.len() < most, "{}", m.passwords.len());
        assert!(m.invented.len() < most, "{}", m.invented.len());
        assert_eq!(
            m.beside.len(),
            m.refresh_users.len() + m.passwords.len() + m.invented.len(),
            "every entry is accounted once"
        );
        // The newest are kept (durable passwords outgrow the budget here, so even the pool's
        // pair went, oldest first, and the last password is filed under the id sent).
        assert!(m.passwords.keys().any(|(_, user)| user == "u-2999"));
        assert!(m.refresh_users.contains_key(&format!("rt-a-2999-{long}")));

        // Forgetting everything gives every byte back.
        let held: Vec<usize> = m.pairs.keys().chain(m.beside.keys()).copied().collect();
        for i in held {
            m.forget_any(i);
        }
        assert_eq!(m.bytes(), 0);
        assert!(m.passwords.is_empty() && m.refresh_users.is_empty() && m.invented.is_empty());
    }

    #[test]
    fn pools_clients_and_unanswered_srp_sign_ins_are_held_to_the_budget() {
        const BUDGET: usize = 64 * 1024;
        let mut m = Mapping::with_budget(BUDGET);
        // One client's numbers for every sign-in: making a fresh one 2,000 times is slow.
        let srp = SrpClient::new("us-east-1_B00000").unwrap();
        for n in 0..2000 {
            // Pools and clients that are never deleted, and SRP sign-ins never answered.
            pool_with_client(&mut m, &format!("A{n:05}"), &format!("B{n:05}"));
            m.finish(
                Pending::SrpStart {
                    client: Box::new(srp.clone()),
                    pool: format!("us-east-1_B{n:05}"),
                    username: "u".into(),
                },
                &json!({"ChallengeParameters": {"SECRET_BLOCK": format!("block-{n}")}}),
            );
            assert!(m.bytes() <= BUDGET, "over budget after {n}: {}", m.bytes());
        }
        let most = BUDGET / PAIR_OVERHEAD;
        for (name, len) in [
            ("pool_names", m.pool_names.len()),
            ("secrets_primary", m.secrets_primary.len()),
            ("secrets_shadow", m.secrets_shadow.len()),
            ("client_pool_primary", m.client_pool_primary.len()),
            ("client_pool_shadow", m.client_pool_shadow.len()),
            ("srp", m.srp.len()),
        ] {
            assert!(len < most, "{name} holds {len}");
        }
        assert_eq!(
            m.beside.len(),
            m.pool_names.len() + m.client_numbers.len() + m.srp.len(),
            "every entry is accounted once"
        );
        // The newest are kept: the last pool's name and client, the last sign-in.
        assert_eq!(m.pool_name("us-east-1_A01999"), Some("A01999"));
        assert_eq!(
            m.secrets_primary.get("cA01999").map(String::as_str),
            Some("sA01999")
        );
        assert!(m.srp.contains_key("block-1999"));
        // Deleting the last pool takes its entries and their bytes with it.
        let before = m.bytes();
        m.forget_pool("us-east-1_A01999");
        assert!(m.bytes() < before);
        assert!(m.pool_name("us-east-1_A01999").is_none());
        assert!(!m.srp.contains_key("block-1999"));
        let held: Vec<usize> = m.pairs.keys().chain(m.beside.keys()).copied().collect();
        for i in held {
            m.forget_any(i);
        }
        assert_eq!(m.bytes(), 0);
    }

    #[test]
    fn lists_pair_by_name_and_attributes_by_attribute_name() {
        let mut m = Mapping::new();
        let none = http::HeaderMap::new();
        let sub_a = "11111111-1111-1111-1111-111111111111";
        let sub_b = "22222222-2222-2222-2222-222222222222";
        m.learn(
            &json!({}),
            &json!({"Users": [
                {"Username": "bob", "Attributes": [{"Name": "sub", "Value": "33333333-3333-3333-3333-333333333333"}]},
                {"Username": "alice", "Attributes": [{"Name": "sub", "Value": sub_a}]}
            ]}),
            &json!({"Users": [
                {"Username": "alice", "Attributes": [{"Name": "sub", "Value": sub_b}]}
            ]}),
            (&none, &none),
        );
        assert_eq!(m.to_shadow(sub_a), Some(sub_b));
        assert_eq!(
            m.lookup(Side::Shadow, sub_b).map(|(_, p)| p.kind),
            Some("sub")
        );
        assert_eq!(m.pairs().count(), 1);
    }

    #[test]
    fn placeholders_get_fresh_consistent_values() {
        let mut m = Mapping::new();
        let mut body = json!({
            "Username": "<secret:1>",
            "TemporaryPassword": "<secret:2>",
            "UserAttributes": [{"Name": "email", "Value": "<secret:3>"}]
        });
        m.rewrite(
            "AdminCreateUser",
            &mut body,
            &mut String::new(),
            &ok(),
            true,
        );
        let user = body["Username"].as_str().unwrap().to_string();
        assert!(user.starts_with("user-"));
        assert!(body["TemporaryPassword"]
            .as_str()
            .unwrap()
            .starts_with("Cc9!"));
        assert!(body["UserAttributes"][0]["Value"]
            .as_str()
            .unwrap()
            .ends_with("@example.com"));
        let mut again = json!({"Username": "<secret:1>", "Note": "Bearer <secret:1>"});
        m.rewrite("AdminGetUser", &mut again, &mut String::new(), &ok(), true);
        assert_eq!(again["Username"], user.as_str());
        assert_eq!(again["Note"], format!("Bearer {user}"));
    }
}
