//! What both crates' fuzz tests share (`suite/tests/fuzz.rs`, `proxy/tests/fuzz.rs`): a
//! reproducible proptest configuration, random JSON, and structure-aware mutations of valid
//! inputs (a real scenario, cassette line or rule file, changed a few places at a time).
#![allow(dead_code)]

use cogcheck::model::Model;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use rand::Rng;
use serde_json::{Map, Number, Value};

/// A fixed seed, no persistence file in the repository, no forking: the same cases every run,
/// so a failure reproduces with a plain `cargo test`. `PROPTEST_CASES` scales a run and
/// `PROPTEST_RNG_SEED` explores other cases (a failure names neither: rerun with the same).
pub fn config(cases: u32) -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(
            std::env::var("PROPTEST_RNG_SEED")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0x00c0_6c4e_c4f0_0015),
        ),
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

/// Strings a parser may choke on: control characters, quotes, backslashes, multi-byte
/// characters, placeholders and dots, plus any character at all.
pub fn nasty_string() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        any::<String>(),
        "[\\x00-\\x1f\"\\\\/.:#*?<>é€😀 a-zA-Z0-9_-]{0,24}",
        Just(String::new()),
        Just("<secret:1>".to_string()),
        Just("<secret:18446744073709551615>".to_string()),
        Just("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln".to_string()),
        Just("\u{feff}".to_string()),
    ]
}

/// Numbers at the edges: huge, negative, fractional, zero.
pub fn edge_number() -> impl Strategy<Value = Value> + Clone {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(Value::from(0)),
        Just(Value::from(-1)),
        Just(Value::from(u64::MAX)),
        Just(Value::from(i64::MIN)),
        Just(Value::from(1e308)),
        Just(Value::from(-0.0)),
        Just(Value::from(0.5)),
    ]
}

/// Any JSON value, a few levels deep.
pub fn json_value() -> impl Strategy<Value = Value> + Clone {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        edge_number(),
        nasty_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((nasty_string(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One change to a JSON document, applied at the node `at` (modulo the node count, pre-order).
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Put another value there.
    Replace(Value),
    /// Remove it from its object or array.
    Remove,
    /// Add a member (objects) or element (arrays) there.
    Insert(String, Value),
    /// Change a string there (cut at a char boundary, then append).
    Edit(usize, String),
    /// Wrap it in an array, as a confused writer would.
    Wrap,
}

/// A few mutations, each with where it applies.
pub fn mutations() -> impl Strategy<Value = Vec<(usize, Mutation)>> + Clone {
    let one = prop_oneof![
        3 => json_value().prop_map(Mutation::Replace),
        2 => edge_number().prop_map(Mutation::Replace),
        2 => Just(Mutation::Remove),
        2 => (nasty_string(), json_value()).prop_map(|(k, v)| Mutation::Insert(k, v)),
        3 => (any::<usize>(), nasty_string()).prop_map(|(n, s)| Mutation::Edit(n, s)),
        1 => Just(Mutation::Wrap),
    ];
    prop::collection::vec((any::<usize>(), one), 1..4)
}

fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(o) => o.values().map(count).sum(),
        _ => 0,
    }
}

/// Applies `m` to the `target`-th node; `seen` counts nodes passed. True once applied.
fn apply_at(v: &mut Value, target: usize, seen: &mut usize, m: &Mutation) -> bool {
    if *seen == target {
        match m {
            Mutation::Replace(new) => *v = new.clone(),
            // Removal is done by the parent (below); the root is emptied instead.
            Mutation::Remove => *v = Value::Null,
            Mutation::Insert(k, new) => match v {
                Value::Object(o) => {
                    o.insert(k.clone(), new.clone());
                }
                Value::Array(a) => a.push(new.clone()),
                other => *other = new.clone(),
            },
            Mutation::Edit(cut, tail) => match v {
                Value::String(s) => {
                    let mut at = cut % (s.len() + 1);
                    while !s.is_char_boundary(at) {
                        at -= 1;
                    }
                    s.truncate(at);
                    s.push_str(tail);
                }
                other => *other = Value::String(format!("{other}{tail}")),
            },
            Mutation::Wrap => *v = Value::Array(vec![v.take()]),
        }
        return true;
    }
    *seen += 1;
    match v {
        Value::Array(a) => {
            for i in 0..a.len() {
                if *seen == target && matches!(m, Mutation::Remove) {
                    a.remove(i);
                    return true;
                }
                if apply_at(&mut a[i], target, seen, m) {
                    return true;
                }
            }
        }
        Value::Object(o) => {
            let keys: Vec<String> = o.keys().cloned().collect();
            for k in keys {
                if *seen == target && matches!(m, Mutation::Remove) {
                    o.remove(&k);
                    return true;
                }
                if let Some(child) = o.get_mut(&k) {
                    if apply_at(child, target, seen, m) {
                        return true;
                    }
                }
            }
        }
        _ => {}
    }
    false
}

/// A valid document with a few changes: what a structure-aware fuzzer feeds a parser.
pub fn mutate(base: &Value, changes: &[(usize, Mutation)]) -> Value {
    let mut v = base.clone();
    for (at, m) in changes {
        let n = count(&v);
        apply_at(&mut v, at % n, &mut 0, m);
    }
    v
}

/// Byte-level damage to a text: flips, cuts and insertions, as a torn or corrupted file has.
#[derive(Debug, Clone)]
pub enum ByteEdit {
    /// Replace the byte there.
    Set(usize, u8),
    /// Cut from there to the end.
    Truncate(usize),
    /// Insert bytes there.
    Insert(usize, Vec<u8>),
    /// Remove a byte there.
    Delete(usize),
}

/// A few byte edits.
pub fn byte_edits() -> impl Strategy<Value = Vec<ByteEdit>> + Clone {
    let one = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| ByteEdit::Set(i, b)),
        any::<usize>().prop_map(ByteEdit::Truncate),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        (any::<usize>(), Just(b"\n".to_vec())).prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        any::<usize>().prop_map(ByteEdit::Delete),
    ];
    prop::collection::vec(one, 1..4)
}

/// Applies byte edits.
pub fn damage(text: &[u8], edits: &[ByteEdit]) -> Vec<u8> {
    let mut out = text.to_vec();
    for e in edits {
        let len = out.len();
        match e {
            ByteEdit::Set(i, b) if len > 0 => out[i % len] = *b,
            ByteEdit::Truncate(i) => out.truncate(i % (len + 1)),
            ByteEdit::Insert(i, bytes) => {
                let at = i % (len + 1);
                out.splice(at..at, bytes.iter().copied());
            }
            ByteEdit::Delete(i) if len > 0 => {
                out.remove(i % len);
            }
            ByteEdit::Set(..) | ByteEdit::Delete(_) => {}
        }
    }
    out
}

/// A value built from `shape` by the model, with some randomness: mostly conforming, so the
/// validator's deeper paths run. Every string the model marks sensitive is a fresh canary,
/// collected in `canaries`.
pub fn from_shape(
    shape: &str,
    rng: &mut rand::rngs::StdRng,
    depth: usize,
    secret: bool,
    canaries: &mut Vec<String>,
) -> Value {
    let model = Model::get();
    let Some(s) = model.shapes.get(shape) else {
        return Value::Null;
    };
    let secret = secret || s.sensitive;
    if depth > 6 {
        return Value::Null;
    }
    let leaf_string = |rng: &mut rand::rngs::StdRng, canaries: &mut Vec<String>| {
        if secret {
            let c = format!("CANARY{}X", canaries.len() + rng.gen_range(0..1000) * 1000);
            canaries.push(c.clone());
            Value::String(c)
        } else if !s.enum_values.is_empty() && rng.gen_bool(0.8) {
            Value::String(s.enum_values[rng.gen_range(0..s.enum_values.len())].clone())
        } else {
            let len = rng.gen_range(0..12);
            Value::String(
                (0..len)
                    .map(|_| ['a', 'b', 'é', ' ', '-', '0', '.', '@'][rng.gen_range(0..8)])
                    .collect(),
            )
        }
    };
    match s.kind.as_str() {
        "structure" => {
            let mut o = Map::new();
            for (name, member) in &s.members {
                if s.required.contains(name) || rng.gen_bool(0.5) {
                    let member_secret = secret
                        || member.sensitive
                        || model.shapes.get(&member.shape).is_some_and(|m| m.sensitive);
                    o.insert(
                        name.clone(),
                        from_shape(&member.shape, rng, depth + 1, member_secret, canaries),
                    );
                }
            }
            Value::Object(o)
        }
        "list" => {
            let n = rng.gen_range(0..3);
            let member = s.member.clone().unwrap_or_default();
            Value::Array(
                (0..n)
                    .map(|_| from_shape(&member, rng, depth + 1, secret, canaries))
                    .collect(),
            )
        }
        "map" => {
            let key_secret = s
                .key
                .as_deref()
                .and_then(|k| model.shapes.get(k))
                .is_some_and(|k| k.sensitive);
            let value_shape = s.value.clone().unwrap_or_default();
            let mut o = Map::new();
            for _ in 0..rng.gen_range(0..3) {
                let public = s.public_keys.as_ref().and_then(|keys| {
                    let keys: Vec<&String> = keys.iter().collect();
                    (!keys.is_empty() && rng.gen_bool(0.5))
                        .then(|| keys[rng.gen_range(0..keys.len())].clone())
                });
                let (key, entry_secret) = match public {
                    Some(k) => (k, secret),
                    None => (
                        format!("k{}", rng.gen_range(0..100)),
                        secret || key_secret || s.public_keys.is_some(),
                    ),
                };
                let key = if key_secret {
                    let c = format!("CANARYKEY{}X", canaries.len());
                    canaries.push(c.clone());
                    c
                } else {
                    key
                };
                o.insert(
                    key,
                    from_shape(&value_shape, rng, depth + 1, entry_secret, canaries),
                );
            }
            Value::Object(o)
        }
        "integer" | "long" | "timestamp" => Value::from(rng.gen_range(-5i64..100_000)),
        "double" | "float" => Value::from(rng.gen::<f64>() * 100.0),
        "boolean" => Value::Bool(rng.gen()),
        // strings and blobs
        _ => leaf_string(rng, canaries),
    }
}
