//! Following a listing's pagination tokens to the end, and checking only what AWS promises of
//! the pages.
//!
//! AWS documents the page size as a maximum ("The maximum number of users that you want Amazon
//! Cognito to return in the response", ListUsers `Limit`; the same wording for every listing's
//! `Limit` / `MaxResults`), says a listing may answer fewer ("this operation might return fewer
//! items than you specify in the Limit parameter without having reached the end of the full
//! list. If the response contains a PaginationToken, then there are more results") and promises
//! that the tokens lead through everything ("By use of this token, you can paginate through the
//! full list of items"). So a walk checks that no page is larger than the limit and that the
//! tokens do not go round in a circle; whether every item arrives exactly once is for the
//! scenario to assert on the collected items. Page sizes below the limit, including empty
//! pages before the end, are fine.
//!
//! Source: the `Limit`, `MaxResults`, `PaginationToken` and `NextToken` members in
//! <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsers.html>
//! and the other `List*` pages of the API reference.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// Why a walk stopped before the listing's end. Messages are lowercase and name the page.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PageError {
    /// A listing page with more items than the request's `Limit` / `MaxResults` allowed.
    #[error("page {page} holds {size} items, more than the requested maximum of {limit}")]
    PageTooLarge {
        /// The page, from 1.
        page: usize,
        /// How many items it held.
        size: usize,
        /// The requested maximum.
        limit: usize,
    },
    /// A listing whose pagination token came round again, so following it would never end.
    #[error("page {page} answers the pagination token page {first} already answered")]
    PaginationLoop {
        /// The page that repeated a token, from 1.
        page: usize,
        /// The page that carried it first.
        first: usize,
    },
    /// A listing that still had a token after the most pages a walk may take.
    #[error("the listing still answers a pagination token after {max} pages")]
    TooManyPages {
        /// The most pages the walk allowed.
        max: usize,
    },
    /// A listing page whose items or token have the wrong type.
    #[error("malformed page: {0}")]
    PageMalformed(String),
}

impl PageError {
    /// A stable name for this kind of failure, for scenarios that expect a walk to refuse a
    /// listing (`PageTooLarge`, `PaginationLoop`).
    pub fn error_type(&self) -> &'static str {
        // No wildcard: a new variant must choose its name here.
        match self {
            PageError::PageTooLarge { .. } => "PageTooLarge",
            PageError::PaginationLoop { .. } => "PaginationLoop",
            PageError::TooManyPages { .. } => "TooManyPages",
            PageError::PageMalformed(_) => "PageMalformed",
        }
    }
}

type Result<T, E = PageError> = std::result::Result<T, E>;

/// The most pages a walk may take, whatever a scenario asks.
pub const MAX_PAGES_LIMIT: usize = 1000;

/// How one listing paginates: its members, as the model's paginators name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSpec {
    /// The member of each answer that holds the page's items (`Users`).
    pub items: String,
    /// The member of each answer that holds the next token (`PaginationToken`).
    pub token_out: String,
    /// The largest page the request allows (its `Limit` / `MaxResults`), if it set one.
    pub limit: Option<usize>,
    /// The walk fails with [`PageError::TooManyPages`] after this many pages.
    pub max_pages: usize,
}

/// A walk in progress: feed it each page's answer with [`Walk::take`].
#[derive(Debug)]
pub struct Walk {
    spec: PageSpec,
    items: Vec<Value>,
    pages: usize,
    largest: usize,
    /// Tokens already received, with the page (from 1) that carried each.
    tokens: BTreeMap<String, usize>,
}

impl Walk {
    /// A walk that has seen no page yet.
    pub fn new(spec: PageSpec) -> Self {
        Walk {
            spec,
            items: Vec::new(),
            pages: 0,
            largest: 0,
            tokens: BTreeMap::new(),
        }
    }

    /// Takes the next page's answer body. Answers the token to send for the following page, or
    /// `None` when the listing has ended: no token, `null`, or an empty string (the AWS SDK
    /// paginators stop on each).
    ///
    /// # Errors
    ///
    /// [`PageError::PageMalformed`] if the items member is not an array (absent or `null`
    /// is an empty page) or the token is not a string; [`PageError::PageTooLarge`] if the
    /// page holds more items than the limit; [`PageError::PaginationLoop`] if the token was
    /// already received on an earlier page; [`PageError::TooManyPages`] if a token asks for
    /// a page beyond `max_pages`.
    pub fn take(&mut self, body: &Value) -> Result<Option<String>> {
        self.pages += 1;
        let page = self.pages;
        let items = match body.get(&self.spec.items) {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(items)) => items.as_slice(),
            Some(other) => {
                return Err(PageError::PageMalformed(format!(
                    "page {page}: `{}` is {}, not an array",
                    self.spec.items,
                    type_name(other)
                )))
            }
        };
        if let Some(limit) = self.spec.limit {
            if items.len() > limit {
                return Err(PageError::PageTooLarge {
                    page,
                    size: items.len(),
                    limit,
                });
            }
        }
        self.largest = self.largest.max(items.len());
        self.items.extend(items.iter().cloned());
        let token = match body.get(&self.spec.token_out) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(t)) if t.is_empty() => return Ok(None),
            Some(Value::String(t)) => t.clone(),
            Some(other) => {
                return Err(PageError::PageMalformed(format!(
                    "page {page}: `{}` is {}, not a string",
                    self.spec.token_out,
                    type_name(other)
                )))
            }
        };
        if let Some(&first) = self.tokens.get(&token) {
            // The token itself stays out of the message: it may encode listed values.
            return Err(PageError::PaginationLoop { page, first });
        }
        if page >= self.spec.max_pages {
            return Err(PageError::TooManyPages {
                max: self.spec.max_pages,
            });
        }
        self.tokens.insert(token.clone(), page);
        Ok(Some(token))
    }

    /// The walk's answer: `items` (every page's items in order), `pages`, `largest_page`, and,
    /// when `key` names a member of the items, `keys` (that member of each item, in order) and
    /// `duplicates` (the keys found more than once, each once, in order of first repeat).
    pub fn finish(self, key: Option<&str>) -> Value {
        let mut out = json!({
            "pages": self.pages,
            "largest_page": self.largest,
        });
        if let Some(key) = key {
            let keys: Vec<Value> = self
                .items
                .iter()
                .map(|item| item.get(key).cloned().unwrap_or(Value::Null))
                .collect();
            let mut seen = Vec::new();
            let mut duplicates = Vec::new();
            for k in &keys {
                if seen.contains(k) {
                    if !duplicates.contains(k) {
                        duplicates.push(k.clone());
                    }
                } else {
                    seen.push(k.clone());
                }
            }
            out["keys"] = Value::Array(keys);
            out["duplicates"] = Value::Array(duplicates);
        }
        out["items"] = Value::Array(self.items);
        out
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(limit: Option<usize>, max_pages: usize) -> PageSpec {
        PageSpec {
            items: "Users".into(),
            token_out: "PaginationToken".into(),
            limit,
            max_pages,
        }
    }

    fn user(name: &str) -> Value {
        json!({ "Username": name })
    }

    #[test]
    fn collects_every_page_in_order_and_stops_without_a_token() {
        let mut w = Walk::new(spec(Some(2), 20));
        let t = w
            .take(&json!({"Users": [user("a"), user("b")], "PaginationToken": "t1"}))
            .unwrap();
        assert_eq!(t.as_deref(), Some("t1"));
        // An empty page before the end is allowed: AWS may answer fewer than the limit.
        let t = w
            .take(&json!({"Users": [], "PaginationToken": "t2"}))
            .unwrap();
        assert_eq!(t.as_deref(), Some("t2"));
        assert_eq!(w.take(&json!({"Users": [user("c")]})).unwrap(), None);
        let out = w.finish(Some("Username"));
        assert_eq!(out["pages"], 3);
        assert_eq!(out["largest_page"], 2);
        assert_eq!(out["keys"], json!(["a", "b", "c"]));
        assert_eq!(out["duplicates"], json!([]));
        assert_eq!(out["items"], json!([user("a"), user("b"), user("c")]));
    }

    #[test]
    fn null_or_empty_tokens_and_missing_items_end_the_listing() {
        for body in [
            json!({"Users": [user("a")], "PaginationToken": null}),
            json!({"Users": [user("a")], "PaginationToken": ""}),
            json!({"PaginationToken": null}),
            json!({}),
        ] {
            let mut w = Walk::new(spec(Some(2), 20));
            assert_eq!(w.take(&body).unwrap(), None, "{body}");
        }
    }

    #[test]
    fn a_page_larger_than_the_limit_is_refused() {
        let mut w = Walk::new(spec(Some(2), 20));
        w.take(&json!({"Users": [user("a")], "PaginationToken": "t1"}))
            .unwrap();
        let err = w
            .take(&json!({"Users": [user("b"), user("c"), user("d")]}))
            .unwrap_err();
        assert!(
            matches!(
                err,
                PageError::PageTooLarge {
                    page: 2,
                    size: 3,
                    limit: 2
                }
            ),
            "{err}"
        );
        assert_eq!(err.error_type(), "PageTooLarge");
        // Without a limit any size is fine.
        let mut w = Walk::new(spec(None, 20));
        assert!(w
            .take(&json!({"Users": [user("b"), user("c"), user("d")]}))
            .is_ok());
    }

    #[test]
    fn a_repeated_token_is_a_loop_and_its_value_stays_out_of_the_message() {
        let mut w = Walk::new(spec(Some(2), 20));
        w.take(&json!({"Users": [user("a")], "PaginationToken": "secret-t1"}))
            .unwrap();
        w.take(&json!({"Users": [user("b")], "PaginationToken": "t2"}))
            .unwrap();
        let err = w
            .take(&json!({"Users": [user("c")], "PaginationToken": "secret-t1"}))
            .unwrap_err();
        assert!(
            matches!(err, PageError::PaginationLoop { page: 3, first: 1 }),
            "{err}"
        );
        assert_eq!(err.error_type(), "PaginationLoop");
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn the_walk_stops_at_max_pages() {
        let mut w = Walk::new(spec(Some(2), 2));
        w.take(&json!({"Users": [], "PaginationToken": "t1"}))
            .unwrap();
        let err = w
            .take(&json!({"Users": [], "PaginationToken": "t2"}))
            .unwrap_err();
        assert!(matches!(err, PageError::TooManyPages { max: 2 }), "{err}");
        // Ending on the last allowed page is fine.
        let mut w = Walk::new(spec(Some(2), 2));
        w.take(&json!({"Users": [], "PaginationToken": "t1"}))
            .unwrap();
        assert_eq!(w.take(&json!({"Users": []})).unwrap(), None);
    }

    #[test]
    fn malformed_pages_are_refused() {
        let mut w = Walk::new(spec(Some(2), 20));
        let err = w.take(&json!({"Users": {"a": 1}})).unwrap_err();
        assert!(err.to_string().contains("`Users` is an object"), "{err}");
        let mut w = Walk::new(spec(Some(2), 20));
        let err = w
            .take(&json!({"Users": [], "PaginationToken": 7}))
            .unwrap_err();
        assert!(
            err.to_string().contains("`PaginationToken` is a number"),
            "{err}"
        );
        assert_eq!(err.error_type(), "PageMalformed");
    }

    #[test]
    fn duplicates_are_listed_once_each() {
        let mut w = Walk::new(spec(None, 20));
        w.take(&json!({"Users": [user("a"), user("b"), user("a"), user("a"), {"x": 1}]}))
            .unwrap();
        let out = w.finish(Some("Username"));
        assert_eq!(out["keys"], json!(["a", "b", "a", "a", null]));
        assert_eq!(out["duplicates"], json!(["a"]));
        // Without a key there are no keys to compare.
        let w = Walk::new(spec(None, 20));
        let out = w.finish(None);
        assert!(out.get("keys").is_none() && out.get("duplicates").is_none());
    }
}
