//! `kind = "mutate"`: the upstream's answer altered by one of the suite's answer-mutation
//! operators (`cogcheck::mutation`): a member dropped, a value of another type, an enum value
//! outside the model, another declared error, another status, success <-> error, a token claim
//! changed, no body. The operators are the suite's own functions, driven by the service model;
//! this file only chooses the site and converts the answer.
//!
//! ```toml
//! fault = { kind = "mutate", operator = "drop_member", path = "$.Group" }
//! fault = { kind = "mutate", operator = "jwt_claim", index = 1 }
//! ```
//!
//! The site is the operator's `index`-th in the answer (default 0), or its first at `path`.
//! An answer without such a site (an error has no member to drop) passes unchanged.

use bytes::Bytes;
use cogcheck::client::RawResponse;
use cogcheck::mutation::{self, Operator};
use serde::{Deserialize, Serialize};

use super::FieldProblem;
use crate::answer::BufferedResponse;

/// Alter the answer with one mutation operator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mutate {
    /// The operator (`drop_required`, `drop_member`, `change_type`, `enum_value`, `jwt_claim`,
    /// `empty_body`, `change_status`, `success_to_error`, `error_to_success`, `swap_error`).
    pub operator: Operator,
    /// Which of the operator's sites in the answer, from 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The site at this JSON path instead (`$.UserPool.Id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Mutate {
    /// A path is a JSON path, and only one way to name the site.
    pub fn validate(&self) -> Result<(), FieldProblem> {
        match (&self.index, &self.path) {
            (Some(_), Some(_)) => Err(("path".into(), "give `index` or `path`, not both".into())),
            (_, Some(p)) if !p.starts_with('$') => Err((
                "path".into(),
                format!(
                    "{p:?} is not a JSON path; write it as the reports do, e.g. `$.UserPool.Id`"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The altered answer of `action` (`None`: an unknown action, passed unchanged).
    pub fn apply(&self, action: Option<&str>, resp: BufferedResponse) -> BufferedResponse {
        let Some(action) = action else {
            return resp;
        };
        let raw = RawResponse {
            status: resp.status.as_u16(),
            headers: resp.headers.clone(),
            body: resp.body.clone(),
        };
        let index = match &self.path {
            Some(p) => mutation::index_at(action, &raw, self.operator, p),
            None => Some(self.index.unwrap_or(0)),
        };
        let Some((changed, _)) =
            index.and_then(|i| mutation::apply(action, &raw, self.operator, i))
        else {
            return resp;
        };
        let Ok(status) = http::StatusCode::from_u16(changed.status) else {
            return resp;
        };
        BufferedResponse {
            status,
            headers: changed.headers,
            body: Bytes::from(changed.body.to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn answer(status: u16, body: Value) -> BufferedResponse {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(cogcheck::wire::CONTENT_TYPE),
        );
        headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(10));
        BufferedResponse {
            status: http::StatusCode::from_u16(status).unwrap(),
            headers,
            body: Bytes::from(body.to_string()),
        }
    }

    fn parse(v: Value) -> Result<super::super::FaultKind, FieldProblem> {
        let k = super::super::parse(&v)?;
        k.validate()?;
        Ok(k)
    }

    #[test]
    fn the_site_is_named_by_path_or_index() {
        let a = answer(
            200,
            json!({"Group": {"GroupName": "g", "Description": "d"}}),
        );
        let by_path = Mutate {
            operator: Operator::DropMember,
            index: None,
            path: Some("$.Group.Description".into()),
        }
        .apply(Some("CreateGroup"), a.clone());
        let body: Value = serde_json::from_slice(&by_path.body).unwrap();
        assert_eq!(body, json!({"Group": {"GroupName": "g"}}));
        assert!(by_path.headers.get(http::header::CONTENT_LENGTH).is_none());

        let first = Mutate {
            operator: Operator::DropMember,
            index: None,
            path: None,
        }
        .apply(Some("CreateGroup"), a.clone());
        assert_eq!(
            serde_json::from_slice::<Value>(&first.body).unwrap(),
            json!({})
        );

        // No such site: the answer passes unchanged.
        let none = Mutate {
            operator: Operator::SwapError,
            index: None,
            path: None,
        }
        .apply(Some("CreateGroup"), a.clone());
        assert_eq!(none.body, a.body);
        assert_eq!(none.status, a.status);
    }

    #[test]
    fn errors_become_successes_and_successes_errors() {
        let e = answer(
            400,
            json!({"__type": "ResourceNotFoundException", "message": "no"}),
        );
        let ok = Mutate {
            operator: Operator::ErrorToSuccess,
            index: None,
            path: None,
        }
        .apply(Some("GetGroup"), e);
        assert_eq!(ok.status, http::StatusCode::OK);
        let s = answer(200, json!({"Group": {}}));
        let err = Mutate {
            operator: Operator::SuccessToError,
            index: None,
            path: None,
        }
        .apply(Some("GetGroup"), s);
        assert!(err.status.is_client_error() || err.status.is_server_error());
    }

    #[test]
    fn rules_name_a_known_operator_and_one_site() {
        assert!(
            parse(json!({"kind": "mutate", "operator": "drop_member", "path": "$.Group"})).is_ok()
        );
        let (field, message) =
            parse(json!({"kind": "mutate", "operator": "drop_everything"})).unwrap_err();
        assert_eq!(field, "fault.operator");
        assert!(message.contains("drop_member"), "{message}");
        let (field, _) =
            parse(json!({"kind": "mutate", "operator": "drop_member", "index": 1, "path": "$.A"}))
                .unwrap_err();
        assert_eq!(field, "fault.path");
        let (field, _) =
            parse(json!({"kind": "mutate", "operator": "drop_member", "path": "Group"}))
                .unwrap_err();
        assert_eq!(field, "fault.path");
        let (field, _) = parse(json!({"kind": "mutate"})).unwrap_err();
        assert!(field.starts_with("fault"), "{field}");
    }
}
