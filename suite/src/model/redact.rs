//! Redaction by the model: which members hold secrets (the model's `sensitive` trait and
//! fixtures/secrets.toml), the walk that replaces them in a body of a known shape, and the
//! name-based walk for bodies without one. The proxy's recorder and the suite's results use it.

use std::collections::HashSet;

use serde_json::Value;

use super::{Member, Model, MAX_DEPTH};

impl Model {
    /// True when `structure.member` holds a secret: the member is marked `sensitive` or its
    /// target shape is. False for names the model does not know.
    pub fn is_sensitive_member(&self, structure: &str, member: &str) -> bool {
        self.shape(structure)
            .and_then(|shape| shape.members.get(member))
            .is_some_and(|member| self.member_is_sensitive(member))
    }

    pub(super) fn member_is_sensitive(&self, member: &Member) -> bool {
        member.sensitive
            || self
                .shape(&member.shape)
                .is_some_and(|shape| shape.sensitive)
    }

    /// Walks `value` as an instance of `shape` and replaces, in place, every value the model
    /// marks sensitive with what `redact` returns for it.
    ///
    /// Inside a sensitive value the JSON structure is kept and each string, number and boolean
    /// is redacted on its own: object keys (the names in `AuthParameters`, such as `USERNAME`
    /// and `SECRET_HASH`) and array lengths are not secrets, and keeping them lets a replayer
    /// still match requests when `redact` returns, say, a keyed hash. `null` is left alone.
    ///
    /// Members the model does not know are left as they are: the model cannot say whether they
    /// are secret. Where the walk cannot go on (a sensitive map key, nesting deeper than
    /// [`MAX_DEPTH`]) it fails closed and redacts the whole sub-value in one call.
    pub fn redact_sensitive(
        &self,
        shape: &str,
        value: &mut Value,
        redact: &mut dyn FnMut(&Value) -> Value,
    ) {
        self.redact_shape(shape, value, redact, 0);
    }

    fn redact_shape(
        &self,
        name: &str,
        value: &mut Value,
        redact: &mut dyn FnMut(&Value) -> Value,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            let replacement = redact(value);
            *value = replacement;
            return;
        }
        if !self.may_hold_secret(name) {
            return;
        }
        let Some(shape) = self.shape(name) else {
            return;
        };
        if shape.sensitive {
            redact_leaves(value, redact, depth);
            return;
        }
        match shape.kind.as_str() {
            "structure" => {
                let Value::Object(members) = value else {
                    return;
                };
                for (name, member_value) in members.iter_mut() {
                    match shape.members.get(name) {
                        Some(member) if self.member_is_sensitive(member) => {
                            redact_leaves(member_value, redact, depth + 1);
                        }
                        Some(Member {
                            quoted_secrets: Some(public),
                            ..
                        }) => {
                            if let Value::String(text) = member_value {
                                *text = redact_quoted(text, public, redact);
                            }
                        }
                        Some(member) => {
                            self.redact_shape(&member.shape, member_value, redact, depth + 1);
                        }
                        None => {}
                    }
                }
            }
            "list" => {
                let (Value::Array(items), Some(member)) = (&mut *value, &shape.member) else {
                    return;
                };
                for item in items {
                    self.redact_shape(member, item, redact, depth + 1);
                }
            }
            "map" => {
                let key_is_secret = shape
                    .key
                    .as_deref()
                    .and_then(|key| self.shape(key))
                    .is_some_and(|key| key.sensitive);
                if key_is_secret && !value.is_null() {
                    let replacement = redact(value);
                    *value = replacement;
                    return;
                }
                if let (Some(public), Value::Object(entries)) = (&shape.public_keys, &mut *value) {
                    for (key, entry) in entries.iter_mut() {
                        if !public.contains(key) {
                            redact_leaves(entry, redact, depth + 1);
                        }
                    }
                    return;
                }
                let (Value::Object(entries), Some(value_shape)) = (&mut *value, &shape.value)
                else {
                    return;
                };
                for entry in entries.values_mut() {
                    self.redact_shape(value_shape, entry, redact, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// True when a value of `shape` can hold something [`Model::redact_sensitive`] would
    /// redact. False for a shape the model does not know (the walk leaves it alone).
    pub fn may_hold_secret(&self, shape: &str) -> bool {
        self.secret_bearing().contains(shape)
    }

    /// Shapes under which `redact_shape` can change something: sensitive shapes, structures
    /// with a sensitive or quoted-secret member, maps with a secret key or public keys, and
    /// every shape that contains one of these (a fixed point, so recursive shapes are found).
    /// Entering any other shape is a walk that changes nothing.
    pub(super) fn secret_bearing(&self) -> &HashSet<String> {
        self.secret_bearing.get_or_init(|| {
            let is_sensitive = |name: &str| self.shape(name).is_some_and(|s| s.sensitive);
            let mut bearing: HashSet<String> = self
                .shapes
                .iter()
                .filter(|(_, shape)| {
                    shape.sensitive
                        || shape.public_keys.is_some()
                        || shape.key.as_deref().is_some_and(is_sensitive)
                        || shape
                            .members
                            .values()
                            .any(|m| m.sensitive || m.quoted_secrets.is_some())
                })
                .map(|(name, _)| name.clone())
                .collect();
            loop {
                let grown: Vec<String> = self
                    .shapes
                    .iter()
                    .filter(|(name, shape)| {
                        !bearing.contains(*name)
                            && shape
                                .members
                                .values()
                                .map(|m| m.shape.as_str())
                                .chain(shape.member.as_deref())
                                .chain(shape.value.as_deref())
                                .any(|child| bearing.contains(child))
                    })
                    .map(|(name, _)| name.clone())
                    .collect();
                if grown.is_empty() {
                    return bearing;
                }
                bearing.extend(grown);
            }
        })
    }
}

/// Each double-quoted part of `text` redacted (`sub = "1234"` becomes `sub = "<secret:7>"`),
/// with `\"` inside a quote taken as part of it. An unclosed quote runs to the end.
pub(super) fn redact_quoted(
    text: &str,
    public: &[String],
    redact: &mut dyn FnMut(&Value) -> Value,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('"') {
        let attribute = rest[..open]
            .trim_end()
            .trim_end_matches('=')
            .trim_end_matches('^')
            .trim_end();
        let public = public.iter().any(|p| p == attribute);
        out.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        let mut end = None;
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let inner = &after[..end.unwrap_or(after.len())];
        if public {
            out.push_str(inner);
        } else {
            match redact(&Value::String(inner.to_string())) {
                Value::String(s) => out.push_str(&s),
                other => out.push_str(&other.to_string()),
            }
        }
        match end {
            Some(i) => {
                out.push('"');
                rest = &after[i + 1..];
            }
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// Redacts the members of a body that has no shape to walk (an unknown action, the OAuth
/// endpoints) by name: every member fixtures/secrets.toml's `[names]` calls secret
/// (`password`, `code`, `client_secret`, ...) has its leaves redacted, at any depth. The
/// name-based twin of [`Model::redact_sensitive`], with the same leaf walk and depth limit.
pub fn redact_by_name(value: &mut Value, redact: &mut dyn FnMut(&Value) -> Value) {
    redact_names(value, redact, 0);
}

fn redact_names(value: &mut Value, redact: &mut dyn FnMut(&Value) -> Value, depth: usize) {
    if depth > MAX_DEPTH {
        *value = redact(value);
        return;
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if crate::secret_list::list().name_is_secret(k) {
                    redact_leaves(v, redact, depth + 1);
                } else {
                    redact_names(v, redact, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                redact_names(v, redact, depth + 1);
            }
        }
        _ => {}
    }
}

/// Replaces every scalar inside `value` with `redact`'s answer, keeping objects and arrays;
/// `null` stays. Below [`MAX_DEPTH`] it fails closed: the whole sub-value in one call. The one
/// leaf walk of every redaction, by shape or by name, in the suite and the proxy.
pub fn redact_leaves(value: &mut Value, redact: &mut dyn FnMut(&Value) -> Value, depth: usize) {
    if value.is_null() {
        return;
    }
    if depth > MAX_DEPTH {
        let replacement = redact(value);
        *value = replacement;
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                redact_leaves(item, redact, depth + 1);
            }
        }
        Value::Object(entries) => {
            for entry in entries.values_mut() {
                redact_leaves(entry, redact, depth + 1);
            }
        }
        _ => {
            let replacement = redact(value);
            *value = replacement;
        }
    }
}
