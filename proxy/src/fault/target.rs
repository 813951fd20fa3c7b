//! Targeting: which requests a rule selects.
//!
//! A rule selects a request when every selector it has holds: `actions` (names or globs with
//! `*` and `?`), `categories` (Cognito quota categories, from `fixtures/quotas.json`), `signed`,
//! `fields` (input members, each a value or glob or list of them), its time `window`
//! (relative to the proxy's start) and its `ttl` (relative to when the rule was added). A
//! selected request is drawn for; the rule then fires when the draw is below `probability`
//! and the counts hold (`first`, `every`, `after`, over the requests it selected).
//!
//! Rules apply to API calls of actions the model knows; other requests pass untouched.

use std::time::Duration;

use serde_json::Value;

/// An input member a rule can select on or key on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `UserPoolId`.
    UserPoolId,
    /// `ClientId`.
    ClientId,
    /// `Username`, or `AuthParameters.USERNAME`, or `ChallengeResponses.USERNAME`.
    Username,
    /// `AuthFlow`.
    AuthFlow,
    /// `ChallengeName`.
    ChallengeName,
}

impl Field {
    /// Every field, for messages.
    pub const ALL: [Field; 5] = [
        Field::UserPoolId,
        Field::ClientId,
        Field::Username,
        Field::AuthFlow,
        Field::ChallengeName,
    ];

    /// The field's name in rule files.
    pub fn name(self) -> &'static str {
        match self {
            Field::UserPoolId => "UserPoolId",
            Field::ClientId => "ClientId",
            Field::Username => "Username",
            Field::AuthFlow => "AuthFlow",
            Field::ChallengeName => "ChallengeName",
        }
    }

    /// Parses a field name.
    pub fn parse(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The field's value in a request body. Sign-in calls carry the user name inside their
    /// parameters, so `Username` looks there too.
    pub fn read(self, body: &Value) -> Option<&str> {
        let top = body.get(self.name()).and_then(Value::as_str);
        match self {
            Field::Username => top
                .or_else(|| {
                    body.pointer("/AuthParameters/USERNAME")
                        .and_then(Value::as_str)
                })
                .or_else(|| {
                    body.pointer("/ChallengeResponses/USERNAME")
                        .and_then(Value::as_str)
                }),
            Field::UserPoolId | Field::ClientId | Field::AuthFlow | Field::ChallengeName => top,
        }
    }
}

/// `*` (any run) and `?` (any one character) glob matching.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            Some(_) | None => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A rule's selectors, checked and compiled.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// Action patterns; empty selects every action.
    pub actions: Vec<String>,
    /// Quota categories; empty selects every category.
    pub categories: Vec<String>,
    /// Signed (`true`) or unsigned (`false`) requests only.
    pub signed: Option<bool>,
    /// Input members and the patterns one of which each must match.
    pub fields: Vec<(Field, Vec<String>)>,
    /// Active from this long after the proxy started.
    pub from: Option<Duration>,
    /// Active until this long after the proxy started.
    pub until: Option<Duration>,
    /// Active for this long after the rule was added.
    pub ttl: Option<Duration>,
    /// Fire on the first N selected requests only.
    pub first: Option<u64>,
    /// Fire on every Nth selected request only.
    pub every: Option<u64>,
    /// Fire only after N selected requests.
    pub after: Option<u64>,
}

/// What targeting reads of a request.
pub struct Request<'a> {
    /// The action.
    pub action: &'a str,
    /// The action's quota category.
    pub category: Option<&'a str>,
    /// True when the request carries `Authorization`.
    pub signed: bool,
    /// The parsed body, when the layer read it.
    pub body: Option<&'a Value>,
}

impl Target {
    /// True when the action is among the rule's actions and categories.
    pub fn selects_action(&self, action: &str, category: Option<&str>) -> bool {
        (self.actions.is_empty() || self.actions.iter().any(|p| glob(p, action)))
            && (self.categories.is_empty()
                || category.is_some_and(|c| self.categories.iter().any(|k| k == c)))
    }

    /// True when the rule selects the request now.
    pub fn selects(&self, req: &Request<'_>, since_start: Duration, since_added: Duration) -> bool {
        if self.from.is_some_and(|f| since_start < f)
            || self.until.is_some_and(|u| since_start >= u)
            || self.ttl.is_some_and(|t| since_added >= t)
        {
            return false;
        }
        if self.signed.is_some_and(|s| s != req.signed) {
            return false;
        }
        if !self.selects_action(req.action, req.category) {
            return false;
        }
        self.fields.iter().all(|(field, patterns)| {
            req.body
                .and_then(|b| field.read(b))
                .is_some_and(|v| patterns.iter().any(|p| glob(p, v)))
        })
    }

    /// True when the rule fires by its count of selected requests (`first`, `every`,
    /// `after`): the count a fleet shares (`shared.rs`).
    pub fn counts(&self) -> bool {
        self.first.is_some() || self.every.is_some() || self.after.is_some()
    }

    /// True when the counts let the `n`th selected request (1-based) fire.
    pub fn counts_allow(&self, n: u64) -> bool {
        self.first.is_none_or(|f| n <= f)
            && self.every.is_none_or(|e| e > 0 && n % e == 0)
            && self.after.is_none_or(|a| n > a)
    }

    /// True when the rule's time is over for good (its TTL or window has passed).
    pub fn expired(&self, since_start: Duration, since_added: Duration) -> bool {
        self.until.is_some_and(|u| since_start >= u) || self.ttl.is_some_and(|t| since_added >= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("Admin*", "AdminGetUser"));
        assert!(glob("*Auth*", "AdminInitiateAuth"));
        assert!(glob("Get?ser", "GetUser"));
        assert!(glob("*", ""));
        assert!(!glob("Admin*", "GetUser"));
        assert!(!glob("GetUser", "GetUsers"));
        assert!(glob("a*b*c", "aXbYbZc"));
    }

    #[test]
    fn username_is_read_where_sign_in_puts_it() {
        let b = serde_json::json!({"AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": "alice"}});
        assert_eq!(Field::Username.read(&b), Some("alice"));
        assert_eq!(Field::AuthFlow.read(&b), Some("USER_PASSWORD_AUTH"));
        assert_eq!(Field::ClientId.read(&b), None);
    }

    #[test]
    fn counts() {
        let t = Target {
            first: Some(2),
            ..Target::default()
        };
        assert_eq!(
            (1..=4).map(|n| t.counts_allow(n)).collect::<Vec<_>>(),
            [true, true, false, false]
        );
        let t = Target {
            every: Some(3),
            after: Some(3),
            ..Target::default()
        };
        assert_eq!(
            (1..=9).filter(|&n| t.counts_allow(n)).collect::<Vec<_>>(),
            [6, 9]
        );
    }
}
