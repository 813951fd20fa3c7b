//! The answer-mutation operators: where each can act on one answer (its *sites*) and what it
//! writes there. [`super::mutants`] lists the sites of every operator, [`super::apply`] performs
//! one; both go through [`sites`], so an enumeration and an application can never disagree.

use serde_json::{Map, Value};

use super::{Mutant, Operator};
use crate::client::RawResponse;
use crate::model::{child_path, Model};
use crate::wire::{self, ERROR_TYPE_HEADER};

/// One step into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seg {
    Key(String),
    Index(usize),
}

/// What a site does to the answer.
#[derive(Debug, Clone)]
pub(super) enum Edit {
    /// Remove the member at the end of the path.
    Remove(Vec<Seg>),
    /// Replace the value at the path.
    Replace(Vec<Seg>, Value),
    /// A new status, body unchanged.
    Status(u16),
    /// A whole new answer: status, body bytes, and the `x-amzn-ErrorType` header (`None`
    /// removes it).
    Whole {
        status: u16,
        body: Vec<u8>,
        error_header: Option<String>,
    },
}

/// A value inside the body, with what the model says of it.
struct Node<'v> {
    segs: Vec<Seg>,
    path: String,
    value: &'v Value,
    /// The value's shape; `None` where the model defines no member of that name (SDKs do not
    /// deserialize such members, so nothing the application sees depends on them).
    shape: Option<String>,
    /// A structure member the model marks required.
    required: bool,
    /// A member of a structure or an entry of a map (droppable), not a list element.
    droppable: bool,
}

/// The claims `jwt_claim` alters, with the value it writes. Each is what a wrong token would
/// say: the other token kind, an expiry long past, another subject, client, issuer or user.
fn claim_change(claim: &str, old: &Value) -> Option<(Value, String)> {
    let v = match claim {
        "token_use" => {
            let other = if old.as_str() == Some("id") {
                "access"
            } else {
                "id"
            };
            Value::from(other)
        }
        // 2000-01-01T00:00:00Z: expired, whatever the clock says.
        "exp" => Value::from(946_684_800u64),
        "sub" => Value::from("00000000-0000-4000-8000-00000000c0c0"),
        "aud" | "client_id" => Value::from("cogcheckmutatedclientid00"),
        "iss" => Value::from("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_MUTATED0"),
        "cognito:username" | "username" => Value::from("cogcheck-mutated-user"),
        "email" => Value::from("mutated@example.com"),
        _ => return None,
    };
    if &v == old {
        return None;
    }
    let detail = format!("{claim}: {} -> {}", short(old), short(&v));
    Some((v, detail))
}

/// The claims `jwt_claim` tries, in this order.
const CLAIMS: &[&str] = &[
    "token_use",
    "exp",
    "sub",
    "aud",
    "client_id",
    "iss",
    "cognito:username",
    "username",
    "email",
];

fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s,
    }
}

/// A value of another JSON type that still carries the old content where it can: what a target
/// that serializes the wrong type sends (a number as a string, one element instead of a list).
fn other_type(v: &Value) -> Option<(Value, &'static str)> {
    Some(match v {
        Value::Null => return None,
        Value::String(_) => (Value::from(0), "string -> number"),
        Value::Number(n) => (Value::from(n.to_string()), "number -> string"),
        Value::Bool(b) => (Value::from(b.to_string()), "boolean -> string"),
        Value::Object(_) => (Value::Array(vec![v.clone()]), "object -> array"),
        Value::Array(items) => match items.first() {
            // A target that sends a lone element where the model says list.
            Some(first) if !first.is_array() => (first.clone(), "array -> its first element"),
            Some(_) | None => (Value::Object(Map::new()), "array -> object"),
        },
    })
}

/// Every value of `body` below the root, in document order. Lists contribute their first
/// element only: what a scenario asserts of one element it asserts of the others, and every
/// element would multiply the mutants of a listing without adding a different question.
fn nodes<'v>(model: &Model, shape: Option<&str>, body: &'v Value) -> Vec<Node<'v>> {
    fn walk<'v>(
        model: &Model,
        shape: Option<&str>,
        value: &'v Value,
        segs: &[Seg],
        path: &str,
        depth: usize,
        out: &mut Vec<Node<'v>>,
    ) {
        if depth > crate::model::MAX_DEPTH {
            return;
        }
        let def = shape.and_then(|s| model.shape(s));
        match value {
            Value::Object(members) => {
                let map_value = def
                    .filter(|d| d.kind == "map")
                    .and_then(|d| d.value.clone());
                for (name, v) in members {
                    let (child_shape, required, droppable) = match def {
                        Some(d) if d.kind == "map" => (map_value.clone(), false, true),
                        Some(d) => (
                            d.members.get(name).map(|m| m.shape.clone()),
                            d.required.iter().any(|r| r == name),
                            true,
                        ),
                        None => (None, false, true),
                    };
                    let mut s = segs.to_vec();
                    s.push(Seg::Key(name.clone()));
                    let p = child_path(path, name);
                    out.push(Node {
                        segs: s.clone(),
                        path: p.clone(),
                        value: v,
                        shape: child_shape.clone(),
                        required,
                        droppable,
                    });
                    walk(model, child_shape.as_deref(), v, &s, &p, depth + 1, out);
                }
            }
            Value::Array(items) => {
                if let Some(first) = items.first() {
                    let item_shape = def.and_then(|d| d.member.clone());
                    let mut s = segs.to_vec();
                    s.push(Seg::Index(0));
                    let p = format!("{path}[0]");
                    out.push(Node {
                        segs: s.clone(),
                        path: p.clone(),
                        value: first,
                        shape: item_shape.clone(),
                        required: false,
                        droppable: false,
                    });
                    walk(model, item_shape.as_deref(), first, &s, &p, depth + 1, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(model, shape, body, &[], "$", 0, &mut out);
    out
}

/// The JSON body of an answer, when it has one that is an object.
fn json_object(raw: &RawResponse) -> Option<Value> {
    serde_json::from_slice::<Value>(&raw.body)
        .ok()
        .filter(Value::is_object)
}

/// The status Cognito sends an error with: the model's, else 500 for a fault, else 400.
fn error_status(model: &Model, error: &str) -> u16 {
    let Some(shape) = model.shape(error) else {
        return 400;
    };
    match shape.error.as_ref().and_then(|e| e.http_status_code) {
        Some(code) => code,
        None if shape.fault => 500,
        None => 400,
    }
}

/// An error body as Cognito writes it.
fn error_body(error: &str) -> Vec<u8> {
    serde_json::json!({
        "__type": error,
        "message": format!("cogcheck mutation: {error}"),
    })
    .to_string()
    .into_bytes()
}

/// Every site of `operator` in this answer of `action`, in a stable order.
pub(super) fn sites(action: &str, raw: &RawResponse, operator: Operator) -> Vec<(Mutant, Edit)> {
    let model = Model::get();
    let op = model.operation(action).ok();
    let success = (200..300).contains(&raw.status);
    let parsed = wire::parse_response(raw.status, &raw.headers, &raw.body);
    let error_type = parsed.error.as_ref().map(|e| e.error_type.clone());
    let body = json_object(raw);
    // The shape the body is read against: the output for a success, the error's own for an
    // error (its `message`).
    let shape = if success {
        op.and_then(|o| o.output.clone())
    } else {
        error_type
            .as_deref()
            .filter(|t| model.shape(t).is_some())
            .map(str::to_string)
    };
    let mut nodes = body
        .as_ref()
        .map(|b| nodes(model, shape.as_deref(), b))
        .unwrap_or_default();
    if !success {
        // An error body's `__type` (or `code`) is the protocol's member, not the error shape's:
        // SDKs read the error's type from it, so it counts as modelled.
        for n in &mut nodes {
            if matches!(n.segs.as_slice(), [Seg::Key(k)] if k == "__type" || k == "code") {
                n.shape = Some("String".into());
            }
        }
    }
    let mut out = Vec::new();
    let mut push = |path: String, detail: String, in_model: bool, edit: Edit| {
        let index = out.len();
        out.push((
            Mutant {
                operator,
                index,
                path,
                detail,
                in_model,
            },
            edit,
        ));
    };
    let declared: Vec<&String> = op.map(|o| o.errors.iter().collect()).unwrap_or_default();
    match operator {
        Operator::DropRequired => {
            for n in nodes.iter().filter(|n| n.required && !n.value.is_null()) {
                push(
                    n.path.clone(),
                    "drop a required member".into(),
                    true,
                    Edit::Remove(n.segs.clone()),
                );
            }
        }
        Operator::DropMember => {
            for n in nodes.iter().filter(|n| n.droppable && !n.required) {
                let detail = match (n.value, &n.shape) {
                    (Value::Null, _) => "drop (was null)".to_string(),
                    (_, None) => "drop (not in the model)".to_string(),
                    (v, Some(_)) => format!("drop (was {})", short(v)),
                };
                push(
                    n.path.clone(),
                    detail,
                    n.shape.is_some(),
                    Edit::Remove(n.segs.clone()),
                );
            }
        }
        Operator::ChangeType => {
            for n in &nodes {
                if let Some((v, how)) = other_type(n.value) {
                    push(
                        n.path.clone(),
                        how.to_string(),
                        n.shape.is_some(),
                        Edit::Replace(n.segs.clone(), v),
                    );
                }
            }
        }
        Operator::EnumValue => {
            for n in &nodes {
                let Some(def) = n.shape.as_deref().and_then(|s| model.shape(s)) else {
                    continue;
                };
                let Some(old) = n.value.as_str() else {
                    continue;
                };
                if def.enum_values.is_empty() {
                    continue;
                }
                // The lower-case spelling first: the likeliest slip of a hand-written emulator.
                let lower = old.to_lowercase();
                let new = if lower != old && !def.enum_values.contains(&lower) {
                    lower
                } else {
                    format!("{old}_COGCHECK")
                };
                push(
                    n.path.clone(),
                    format!("{old:?} -> {new:?} (not in the enum)"),
                    true,
                    Edit::Replace(n.segs.clone(), Value::from(new)),
                );
            }
        }
        Operator::JwtClaim => {
            for n in &nodes {
                let Some(token) = n.value.as_str() else {
                    continue;
                };
                let Ok((_, claims)) = crate::protocol::jwt::decode_unverified(token) else {
                    continue;
                };
                for claim in CLAIMS {
                    let Some(old) = claims.get(*claim) else {
                        continue;
                    };
                    let Some((new, detail)) = claim_change(claim, old) else {
                        continue;
                    };
                    let changes = Map::from_iter([(claim.to_string(), new)]);
                    if let Some(t) = crate::protocol::jwt::rewrite_claims(token, &changes) {
                        push(
                            n.path.clone(),
                            detail,
                            n.shape.is_some(),
                            Edit::Replace(n.segs.clone(), Value::from(t)),
                        );
                    }
                }
            }
        }
        Operator::EmptyBody => {
            if !raw.body.is_empty() {
                let trimmed = String::from_utf8_lossy(&raw.body).trim().to_string();
                let detail = if trimmed == "{}" {
                    "`{}` -> no body".to_string()
                } else {
                    "body -> no body".to_string()
                };
                push(
                    "$".into(),
                    detail,
                    true,
                    Edit::Whole {
                        status: raw.status,
                        body: Vec::new(),
                        error_header: header(raw),
                    },
                );
            }
        }
        Operator::ChangeStatus => {
            let to: &[u16] = if success {
                // 201: still a success to every SDK (they test for 2xx); 500: a server error.
                &[201, 500]
            } else if raw.status >= 500 {
                &[400, 200]
            } else {
                &[500, 200]
            };
            for s in to.iter().filter(|s| **s != raw.status) {
                push(
                    "$".into(),
                    format!("{} -> {s}", raw.status),
                    true,
                    Edit::Status(*s),
                );
            }
        }
        Operator::SuccessToError => {
            if success {
                for e in &declared {
                    push(
                        "$".into(),
                        format!("success -> {e}"),
                        true,
                        Edit::Whole {
                            status: error_status(model, e),
                            body: error_body(e),
                            error_header: Some(e.to_string()),
                        },
                    );
                }
            }
        }
        Operator::ErrorToSuccess => {
            if !success {
                push(
                    "$".into(),
                    format!(
                        "{} -> success `{{}}`",
                        error_type.as_deref().unwrap_or("error")
                    ),
                    true,
                    Edit::Whole {
                        status: 200,
                        body: b"{}".to_vec(),
                        error_header: None,
                    },
                );
            }
        }
        Operator::SwapError => {
            if let Some(current) = error_type.as_deref().filter(|_| !success) {
                for e in declared.iter().filter(|e| e.as_str() != current) {
                    // The other error as Cognito would send it: its status, its type in the
                    // body and (when the answer had one) in the header.
                    let mut b = body.clone().unwrap_or_else(|| Value::Object(Map::new()));
                    if let Some(o) = b.as_object_mut() {
                        let key = if o.contains_key("code") && !o.contains_key("__type") {
                            "code"
                        } else {
                            "__type"
                        };
                        o.insert(key.into(), Value::from(e.as_str()));
                    }
                    push(
                        "$.__type".into(),
                        format!("{current} -> {e}"),
                        true,
                        Edit::Whole {
                            status: error_status(model, e),
                            body: b.to_string().into_bytes(),
                            error_header: header(raw).map(|_| e.to_string()),
                        },
                    );
                }
            }
        }
    }
    out
}

fn header(raw: &RawResponse) -> Option<String> {
    raw.headers
        .get(ERROR_TYPE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Performs an edit on a copy of the answer. `None` when the edit's path is not in the body
/// (which [`sites`] never produces for the same answer).
pub(super) fn perform(raw: &RawResponse, edit: &Edit) -> Option<RawResponse> {
    let mut out = raw.clone();
    match edit {
        Edit::Status(s) => out.status = *s,
        Edit::Whole {
            status,
            body,
            error_header,
        } => {
            out.status = *status;
            out.body = bytes::Bytes::from(body.clone());
            match error_header {
                Some(h) => {
                    out.headers
                        .insert(ERROR_TYPE_HEADER, http::HeaderValue::from_str(h).ok()?);
                }
                None => {
                    out.headers.remove(ERROR_TYPE_HEADER);
                }
            }
        }
        Edit::Remove(segs) | Edit::Replace(segs, _) => {
            let mut body: Value = serde_json::from_slice(&raw.body).ok()?;
            let (last, parents) = segs.split_last()?;
            let mut at = &mut body;
            for s in parents {
                at = match s {
                    Seg::Key(k) => at.get_mut(k.as_str())?,
                    Seg::Index(i) => at.get_mut(*i)?,
                };
            }
            match (edit, last) {
                (Edit::Remove(_), Seg::Key(k)) => {
                    at.as_object_mut()?.shift_remove(k.as_str())?;
                }
                (Edit::Remove(_), Seg::Index(i)) => {
                    let a = at.as_array_mut()?;
                    (*i < a.len()).then(|| a.remove(*i))?;
                }
                (Edit::Replace(_, v), Seg::Key(k)) => {
                    *at.get_mut(k.as_str())? = v.clone();
                }
                (Edit::Replace(_, v), Seg::Index(i)) => {
                    *at.get_mut(*i)? = v.clone();
                }
                _ => return None,
            }
            out.body = bytes::Bytes::from(body.to_string());
        }
    }
    // The body changed length: a stale Content-Length would make the answer unreadable.
    out.headers.remove(http::header::CONTENT_LENGTH);
    Some(out)
}
