//! Answer mutation: the suite measuring its own sensitivity.
//!
//! A conformance suite that accepts a wrong answer is as bad as one that rejects a right one.
//! This module alters one answer at a time the ways a faulty implementation would (a member
//! missing, a value of the wrong type, another error, a token whose claims lie) so that
//! `cogcheck mutation` can re-run a passing scenario with each *mutant* and see whether any
//! assertion notices. A mutant nobody notices is a missing assertion.
//!
//! The operators live here and nowhere else: `cogcheck-proxy`'s `mutate` fault kind calls
//! [`apply`] too. They are pure functions of the action, the answer (status, headers, body),
//! the [`Operator`] and an index, driven by the service model ([`crate::model`]): which members
//! an output has and which are required, which strings are enums, which errors an operation
//! declares and with which status.
//!
//! | operator | sites in one answer | what it writes |
//! |---|---|---|
//! | `drop_required` | each present member the model marks required | removes it |
//! | `drop_member` | each other member or map entry | removes it |
//! | `change_type` | each value (lists: their first element) | another JSON type: string -> `0`, number -> its text, boolean -> its text, object -> `[object]`, list -> its first element |
//! | `enum_value` | each enum-typed string | a value outside the enum (lower-cased, else `_COGCHECK` appended) |
//! | `jwt_claim` | each claim of each JWT (`token_use`, `exp`, `sub`, `aud`, `client_id`, `iss`, `cognito:username`, `username`, `email`) | the claim changed, payload re-encoded, signature kept |
//! | `empty_body` | the answer, when it has a body | no body |
//! | `change_status` | success: 201 and 500; error: the other class (4xx <-> 5xx) and 200 | the status, body unchanged |
//! | `success_to_error` | a success, once per error the operation declares | that error, as Cognito sends it |
//! | `error_to_success` | an error | `200 {}` |
//! | `swap_error` | an error, once per other declared error | that error's type and status, message kept |
//!
//! Lists contribute their first element only, so a listing of fifty users does not yield fifty
//! times the same question. Sites are numbered per operator in document order; the numbering
//! depends only on the answer's structure, so the same index names the same site in an answer
//! with other generated values (a second run of the same scenario).

mod campaign;
pub mod cli;
pub mod equivalent;
mod operators;
pub mod report;

use serde::{Deserialize, Serialize};

use crate::client::RawResponse;

pub use campaign::{run, Campaign, CampaignOptions, MutantRecord, MutantStatus};

/// One way to alter an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// Remove a member the output shape marks required.
    DropRequired,
    /// Remove any other member (or map entry).
    DropMember,
    /// Give a value another JSON type.
    ChangeType,
    /// Put a value outside its enum.
    EnumValue,
    /// Change one claim of a JWT, keeping its signature.
    JwtClaim,
    /// Send no body.
    EmptyBody,
    /// Change the HTTP status, keeping the body.
    ChangeStatus,
    /// Answer a success with an error the operation declares.
    SuccessToError,
    /// Answer an error with `200 {}`.
    ErrorToSuccess,
    /// Answer an error with another error the operation declares.
    SwapError,
}

impl Operator {
    /// Every operator, in the order reports list them.
    pub const ALL: [Operator; 10] = [
        Operator::DropRequired,
        Operator::DropMember,
        Operator::ChangeType,
        Operator::EnumValue,
        Operator::JwtClaim,
        Operator::EmptyBody,
        Operator::ChangeStatus,
        Operator::SuccessToError,
        Operator::ErrorToSuccess,
        Operator::SwapError,
    ];

    /// The name used on the command line, in rule files and in reports (`drop_required`).
    pub fn name(self) -> &'static str {
        match self {
            Operator::DropRequired => "drop_required",
            Operator::DropMember => "drop_member",
            Operator::ChangeType => "change_type",
            Operator::EnumValue => "enum_value",
            Operator::JwtClaim => "jwt_claim",
            Operator::EmptyBody => "empty_body",
            Operator::ChangeStatus => "change_status",
            Operator::SuccessToError => "success_to_error",
            Operator::ErrorToSuccess => "error_to_success",
            Operator::SwapError => "swap_error",
        }
    }

    /// The operator of a name, if it is one.
    pub fn parse(name: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|o| o.name() == name)
    }
}

impl std::fmt::Display for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One mutant an answer admits: which operator, which of its sites, and what it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mutant {
    /// The operator.
    pub operator: Operator,
    /// Which of the operator's sites in this answer, from 0.
    pub index: usize,
    /// The JSON path of the value changed (`$.UserPool.Id`), `$` for the whole answer.
    pub path: String,
    /// What changes, in a few words (`200 -> 500`, `token_use: "access" -> "id"`).
    pub detail: String,
    /// False when the path is a member the model does not define: SDKs do not deserialize it,
    /// so no application could notice (see `fixtures/mutation-equivalent.json`).
    pub in_model: bool,
}

/// Every mutant `action`'s answer admits, operator by operator in [`Operator::ALL`] order.
pub fn mutants(action: &str, answer: &RawResponse) -> Vec<Mutant> {
    Operator::ALL
        .into_iter()
        .flat_map(|op| {
            operators::sites(action, answer, op)
                .into_iter()
                .map(|(m, _)| m)
        })
        .collect()
}

/// The answer with site `index` of `operator` changed, and what changed; `None` when the answer
/// has no such site (an error has no member to drop, a success no error to swap).
pub fn apply(
    action: &str,
    answer: &RawResponse,
    operator: Operator,
    index: usize,
) -> Option<(RawResponse, Mutant)> {
    let (mutant, edit) = operators::sites(action, answer, operator)
        .into_iter()
        .nth(index)?;
    let changed = operators::perform(answer, &edit)?;
    Some((changed, mutant))
}

/// The index of `operator`'s first site at `path` in this answer, for callers that name a site
/// by where it is rather than by number (a proxy rule's `path`).
pub fn index_at(
    action: &str,
    answer: &RawResponse,
    operator: Operator,
    path: &str,
) -> Option<usize> {
    operators::sites(action, answer, operator)
        .into_iter()
        .position(|(m, _)| m.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use serde_json::{json, Value};

    fn answer(status: u16, body: Value) -> RawResponse {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(crate::wire::CONTENT_TYPE),
        );
        headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(99));
        headers.insert(
            crate::wire::REQUEST_ID_HEADER,
            http::HeaderValue::from_static("r-1"),
        );
        RawResponse {
            status,
            headers,
            body: bytes::Bytes::from(body.to_string()),
        }
    }

    fn error(status: u16, error_type: &str) -> RawResponse {
        let mut a = answer(
            status,
            json!({"__type": error_type, "message": "User pool does not exist."}),
        );
        a.headers.insert(
            crate::wire::ERROR_TYPE_HEADER,
            http::HeaderValue::from_str(error_type).unwrap(),
        );
        a
    }

    fn body(a: &RawResponse) -> Value {
        serde_json::from_slice(&a.body).unwrap_or(Value::Null)
    }

    fn of(ms: &[Mutant], op: Operator) -> Vec<&Mutant> {
        ms.iter().filter(|m| m.operator == op).collect()
    }

    fn jwt(claims: Value) -> String {
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.c2lnbmF0dXJl",
            b.encode(br#"{"alg":"RS256","kid":"k"}"#),
            b.encode(claims.to_string())
        )
    }

    #[test]
    fn names_round_trip_and_match_serde() {
        for op in Operator::ALL {
            assert_eq!(Operator::parse(op.name()), Some(op));
            assert_eq!(serde_json::to_value(op).unwrap(), json!(op.name()));
        }
        assert_eq!(Operator::parse("drop"), None);
    }

    #[test]
    fn required_members_come_from_the_model() {
        // GetUserResponse requires Username and UserAttributes; MFAOptions is optional.
        let a = answer(
            200,
            json!({"Username": "u", "UserAttributes": [{"Name": "sub", "Value": "s"}], "MFAOptions": null}),
        );
        let ms = mutants("GetUser", &a);
        let req: Vec<&str> = of(&ms, Operator::DropRequired)
            .iter()
            .map(|m| m.path.as_str())
            .collect();
        // AttributeType requires Name, inside the list's first element.
        assert_eq!(
            req,
            ["$.Username", "$.UserAttributes", "$.UserAttributes[0].Name"]
        );
        let drop: Vec<(&str, &str)> = of(&ms, Operator::DropMember)
            .iter()
            .map(|m| (m.path.as_str(), m.detail.as_str()))
            .collect();
        assert_eq!(
            drop,
            [
                ("$.UserAttributes[0].Value", "drop (was \"s\")"),
                ("$.MFAOptions", "drop (was null)")
            ]
        );
        let (changed, m) = apply("GetUser", &a, Operator::DropRequired, 0).unwrap();
        assert_eq!(m.path, "$.Username");
        assert_eq!(
            body(&changed),
            json!({"UserAttributes": [{"Name": "sub", "Value": "s"}], "MFAOptions": null})
        );
        assert!(changed.headers.get(http::header::CONTENT_LENGTH).is_none());
        // The shape check the suite runs on every answer now fails.
        let v = crate::model::Model::get()
            .validate_output("GetUser", &body(&changed))
            .unwrap();
        assert!(
            v.iter()
                .any(|v| matches!(v.rule, crate::model::Rule::MissingRequired { .. })),
            "{v:?}"
        );
    }

    #[test]
    fn members_outside_the_model_are_marked() {
        let a = answer(200, json!({"UserPool": {"Id": "p", "Extra": 1}}));
        let ms = mutants("DescribeUserPool", &a);
        let extra = of(&ms, Operator::DropMember)
            .into_iter()
            .find(|m| m.path == "$.UserPool.Extra")
            .unwrap();
        assert!(!extra.in_model);
        assert_eq!(extra.detail, "drop (not in the model)");
        let id = of(&ms, Operator::DropMember)
            .into_iter()
            .find(|m| m.path == "$.UserPool.Id")
            .unwrap();
        assert!(id.in_model);
    }

    #[test]
    fn types_change_and_the_model_notices() {
        let a = answer(
            200,
            json!({"UserPool": {"Id": "p", "CreationDate": 1.7e9, "MfaConfiguration": "OFF", "SchemaAttributes": [{"Name": "sub"}]}}),
        );
        let ms = mutants("DescribeUserPool", &a);
        let details: Vec<(&str, &str)> = of(&ms, Operator::ChangeType)
            .iter()
            .map(|m| (m.path.as_str(), m.detail.as_str()))
            .collect();
        assert_eq!(
            details,
            [
                ("$.UserPool", "object -> array"),
                ("$.UserPool.Id", "string -> number"),
                ("$.UserPool.CreationDate", "number -> string"),
                ("$.UserPool.MfaConfiguration", "string -> number"),
                ("$.UserPool.SchemaAttributes", "array -> its first element"),
                ("$.UserPool.SchemaAttributes[0]", "object -> array"),
                ("$.UserPool.SchemaAttributes[0].Name", "string -> number"),
            ]
        );
        for m in of(&ms, Operator::ChangeType) {
            let (changed, _) = apply("DescribeUserPool", &a, m.operator, m.index).unwrap();
            let v = crate::model::Model::get()
                .validate_output("DescribeUserPool", &body(&changed))
                .unwrap();
            assert!(
                v.iter()
                    .any(|v| matches!(v.rule, crate::model::Rule::WrongType { .. })),
                "{}: {v:?}",
                m.path
            );
        }
    }

    #[test]
    fn enum_values_leave_the_enum() {
        let a = answer(200, json!({"UserPool": {"MfaConfiguration": "OFF"}}));
        let (changed, m) = apply("DescribeUserPool", &a, Operator::EnumValue, 0).unwrap();
        assert_eq!(m.path, "$.UserPool.MfaConfiguration");
        assert_eq!(body(&changed)["UserPool"]["MfaConfiguration"], "off");
        assert!(apply("DescribeUserPool", &a, Operator::EnumValue, 1).is_none());
    }

    #[test]
    fn token_claims_change_and_the_signature_stays() {
        let token = jwt(
            json!({"sub": "abc", "token_use": "access", "exp": 2_000_000_000u64, "client_id": "c"}),
        );
        let a = answer(
            200,
            json!({"AuthenticationResult": {"AccessToken": token, "ExpiresIn": 3600}, "ChallengeParameters": {}}),
        );
        let ms = mutants("InitiateAuth", &a);
        let claims: Vec<&str> = of(&ms, Operator::JwtClaim)
            .iter()
            .map(|m| m.detail.split(':').next().unwrap())
            .collect();
        assert_eq!(claims, ["token_use", "exp", "sub", "client_id"]);
        let (changed, m) = apply("InitiateAuth", &a, Operator::JwtClaim, 0).unwrap();
        assert_eq!(m.path, "$.AuthenticationResult.AccessToken");
        let new = body(&changed)["AuthenticationResult"]["AccessToken"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(new.ends_with(".c2lnbmF0dXJl"));
        assert_eq!(new.split('.').next(), token.split('.').next());
        let (_, decoded) = crate::protocol::jwt::decode_unverified(&new).unwrap();
        assert_eq!(decoded["token_use"], "id");
        assert_eq!(decoded["sub"], "abc");
        let (expired, _) = apply("InitiateAuth", &a, Operator::JwtClaim, 1).unwrap();
        let t = body(&expired)["AuthenticationResult"]["AccessToken"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, decoded) = crate::protocol::jwt::decode_unverified(&t).unwrap();
        assert_eq!(decoded["exp"], 946_684_800u64);
    }

    #[test]
    fn successes_become_declared_errors_with_their_status() {
        let a = answer(200, json!({"UserPool": {"Id": "p"}}));
        let ms = mutants("DescribeUserPool", &a);
        let declared = &crate::model::Model::get()
            .operation("DescribeUserPool")
            .unwrap()
            .errors;
        assert_eq!(of(&ms, Operator::SuccessToError).len(), declared.len());
        assert!(of(&ms, Operator::SwapError).is_empty());
        assert!(of(&ms, Operator::ErrorToSuccess).is_empty());
        let i = declared
            .iter()
            .position(|e| e == "InternalErrorException")
            .unwrap();
        let (changed, _) = apply("DescribeUserPool", &a, Operator::SuccessToError, i).unwrap();
        assert_eq!(changed.status, 500);
        let r = crate::wire::parse_response(changed.status, &changed.headers, &changed.body);
        assert_eq!(r.error.unwrap().error_type, "InternalErrorException");
        assert!(r.framing.is_empty(), "{:?}", r.framing);
        let statuses: Vec<&str> = of(&ms, Operator::ChangeStatus)
            .iter()
            .map(|m| m.detail.as_str())
            .collect();
        assert_eq!(statuses, ["200 -> 201", "200 -> 500"]);
    }

    #[test]
    fn errors_swap_and_become_successes() {
        let a = error(400, "ResourceNotFoundException");
        let ms = mutants("DescribeUserPool", &a);
        let swaps = of(&ms, Operator::SwapError);
        assert!(!swaps.is_empty());
        assert!(swaps
            .iter()
            .all(|m| !m.detail.ends_with("-> ResourceNotFoundException")));
        let m = swaps
            .iter()
            .find(|m| m.detail.ends_with("-> NotAuthorizedException"))
            .unwrap();
        let (changed, _) = apply("DescribeUserPool", &a, m.operator, m.index).unwrap();
        let r = crate::wire::parse_response(changed.status, &changed.headers, &changed.body);
        assert_eq!(
            r.error.as_ref().unwrap().error_type,
            "NotAuthorizedException"
        );
        assert_eq!(
            r.error.unwrap().message.as_deref(),
            Some("User pool does not exist.")
        );
        assert!(r.framing.is_empty(), "{:?}", r.framing);

        let (ok, _) = apply("DescribeUserPool", &a, Operator::ErrorToSuccess, 0).unwrap();
        assert_eq!((ok.status, body(&ok)), (200, json!({})));
        assert!(ok.headers.get(crate::wire::ERROR_TYPE_HEADER).is_none());

        // The error's own shape: its message can be dropped or retyped.
        assert_eq!(
            of(&ms, Operator::DropMember)
                .iter()
                .map(|m| m.path.as_str())
                .collect::<Vec<_>>(),
            ["$.__type", "$.message"]
        );
        let statuses: Vec<&str> = of(&ms, Operator::ChangeStatus)
            .iter()
            .map(|m| m.detail.as_str())
            .collect();
        assert_eq!(statuses, ["400 -> 500", "400 -> 200"]);
    }

    #[test]
    fn empty_bodies_and_indexes_past_the_end() {
        let a = answer(200, json!({}));
        let ms = mutants("DeleteUserPool", &a);
        let empty = of(&ms, Operator::EmptyBody);
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].detail, "`{}` -> no body");
        let (changed, _) = apply("DeleteUserPool", &a, Operator::EmptyBody, 0).unwrap();
        assert!(changed.body.is_empty());
        assert!(apply("DeleteUserPool", &a, Operator::EmptyBody, 1).is_none());
        assert!(apply("DeleteUserPool", &a, Operator::DropMember, 0).is_none());
    }

    #[test]
    fn enumeration_and_application_agree() {
        let token = jwt(json!({"token_use": "id", "sub": "s"}));
        let a = answer(
            200,
            json!({"AuthenticationResult": {"IdToken": token, "TokenType": "Bearer"}, "ChallengeParameters": {"USER_ID_FOR_SRP": "u"}}),
        );
        let ms = mutants("InitiateAuth", &a);
        assert!(ms.len() > 10);
        for m in &ms {
            let (changed, applied) = apply("InitiateAuth", &a, m.operator, m.index).unwrap();
            assert_eq!(&applied, m);
            assert_ne!(
                (changed.status, &changed.body),
                (a.status, &a.body),
                "{m:?} changed nothing"
            );
            assert!(index_at("InitiateAuth", &a, m.operator, &m.path).is_some());
        }
        assert_eq!(
            index_at(
                "InitiateAuth",
                &a,
                Operator::DropMember,
                "$.ChallengeParameters.USER_ID_FOR_SRP"
            ),
            Some(4)
        );
    }

    #[test]
    fn a_body_that_is_not_json_still_admits_whole_answer_mutants() {
        let a = RawResponse {
            status: 500,
            headers: http::HeaderMap::new(),
            body: bytes::Bytes::from_static(b"<html>oops</html>"),
        };
        let ops: Vec<Operator> = mutants("ListUserPools", &a)
            .into_iter()
            .map(|m| m.operator)
            .collect();
        assert!(ops.contains(&Operator::EmptyBody));
        assert!(ops.contains(&Operator::ChangeStatus));
        assert!(!ops.contains(&Operator::DropMember));
    }
}
