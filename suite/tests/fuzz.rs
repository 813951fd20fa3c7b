//! Fuzzing on stable Rust: property tests that feed the suite's parsers random inputs and
//! structure-aware mutations of the fixtures' valid ones. None may panic; errors must say where.
//!
//! The cases are bounded and the seed fixed (`fuzz_support::config`), so a run is reproducible
//! and nothing is written into the repository. `PROPTEST_CASES=5000 cargo test -p cogcheck
//! --test fuzz` fuzzes longer.

mod fuzz_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cogcheck::expectations::Expectations;
use cogcheck::model::Model;
use cogcheck::{scenario, secrets, wire};
use fuzz_support::{
    byte_edits, config, damage, from_shape, json_value, mutate, mutations, nasty_string,
};
use proptest::prelude::*;
use rand::SeedableRng;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// The fixtures' JSON files under `dir` (recursively), parsed, with their paths.
fn json_files(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .expect("a fixtures folder")
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&p).expect("a readable fixture");
                out.push((p, serde_json::from_str(&text).expect("a JSON fixture")));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// wire::parse_response

const HEADER_NAMES: &[&str] = &[
    "content-type",
    "x-amzn-requestid",
    "x-amz-request-id",
    "x-amzn-errortype",
    "x-other",
];

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..24),
        Just(b"application/x-amz-json-1.1".to_vec()),
        Just(b"application/x-amz-json-1.1; charset=utf-8".to_vec()),
        Just(b"aws.protocoltests#FooError:http://internal.amazon.com/".to_vec()),
        Just("caf\u{e9}#:".as_bytes().to_vec()),
        Just(vec![0xff, b'#', 0xc3, b':']),
    ]
}

fn error_body() -> impl Strategy<Value = Vec<u8>> {
    let base = serde_json::json!({
        "__type": "com.amazonaws#NotAuthorizedException:http://x",
        "code": "UserNotFoundException",
        "message": "Incorrect username or password.",
        "Message": "m"
    });
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        mutations().prop_map(move |m| mutate(&base, &m).to_string().into_bytes()),
        (byte_edits(), Just(base_bytes())).prop_map(|(e, b)| damage(&b, &e)),
        Just(b" \t\r\n".to_vec()),
    ]
}

fn base_bytes() -> Vec<u8> {
    br#"{"__type":"ResourceNotFoundException","message":"User pool does not exist."}"#.to_vec()
}

proptest! {
    #![proptest_config(config(768))]

    #[test]
    fn parse_response_never_panics_and_is_consistent(
        status in prop_oneof![any::<u16>(), 100u16..600],
        headers in prop::collection::vec((prop::sample::select(HEADER_NAMES), header_value()), 0..6),
        body in error_body(),
    ) {
        let mut map = http::HeaderMap::new();
        for (name, value) in &headers {
            if let Ok(v) = http::HeaderValue::from_bytes(value) {
                map.append(*name, v);
            }
        }
        let r = wire::parse_response(status, &map, &body);
        prop_assert_eq!(r.status, status);
        prop_assert_eq!(r.is_success(), r.error.is_none());
        prop_assert!(r.body.is_object() || r.body.is_null(), "{:?}", r.body);
        if r.body.is_null() {
            let flagged = r.framing.iter().any(|f| matches!(f, wire::Framing::BodyNotJsonObject { .. }));
            prop_assert!(flagged, "{:?}", r.framing);
        }
        for f in &r.framing {
            // Every deviation says what it is.
            prop_assert!(!f.to_string().is_empty());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scenario files

fn scenario_bases() -> &'static [(PathBuf, Value)] {
    static BASES: std::sync::OnceLock<Vec<(PathBuf, Value)>> = std::sync::OnceLock::new();
    BASES.get_or_init(|| json_files(&fixtures().join("scenarios")))
}

/// Writes `bytes` as `<tmp>/<area>/<id>.json` and loads it; every error must say where.
fn load_scenario(area: &str, id: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let folder = dir.path().join(area);
    std::fs::create_dir_all(&folder).expect("the area folder");
    let file = folder.join(format!("{id}.json"));
    std::fs::write(&file, bytes).expect("the scenario file");
    match scenario::load_file(&file) {
        Ok(s) => {
            prop_assert_eq!(&s.id, id);
        }
        Err(errors) => {
            prop_assert!(!errors.is_empty(), "an error without a problem");
            for e in errors {
                prop_assert!(!e.path.is_empty(), "no place in {:?}", e);
                prop_assert!(!e.reason.trim().is_empty(), "no reason in {:?}", e);
                prop_assert_eq!(&e.file, &file);
            }
        }
    }
    Ok(())
}

fn scenario_input() -> impl Strategy<Value = (String, String, Vec<u8>)> {
    let base = any::<prop::sample::Index>();
    prop_oneof![
        // A real scenario with a few structural changes, in its own folder.
        4 => (base.clone(), mutations()).prop_map(|(i, m)| {
            let (path, v) = &scenario_bases()[i.index(scenario_bases().len())];
            (area_of(path), id_of(path), serde_json::to_vec(&mutate(v, &m)).expect("JSON"))
        }),
        // A real scenario with damaged bytes.
        2 => (base, byte_edits()).prop_map(|(i, e)| {
            let (path, v) = &scenario_bases()[i.index(scenario_bases().len())];
            let bytes = serde_json::to_vec_pretty(v).expect("JSON");
            (area_of(path), id_of(path), damage(&bytes, &e))
        }),
        // Anything at all.
        1 => prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| ("auth".to_string(), "x".to_string(), b)),
        1 => json_value().prop_map(|v| ("auth".to_string(), "x".to_string(), v.to_string().into_bytes())),
    ]
}

fn area_of(p: &Path) -> String {
    p.parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or("auth")
        .to_string()
}

fn id_of(p: &Path) -> String {
    p.file_stem()
        .and_then(|n| n.to_str())
        .unwrap_or("x")
        .to_string()
}

#[test]
fn every_real_scenario_loads_unchanged() {
    // The base of the mutations must be valid, or the mutations fuzz only the first error.
    assert!(scenario_bases().len() > 20);
    for (path, v) in scenario_bases() {
        let bytes = serde_json::to_vec(v).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir
            .path()
            .join(area_of(path))
            .join(format!("{}.json", id_of(path)));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, bytes).unwrap();
        if let Err(e) = scenario::load_file(&file) {
            panic!("{}: {e:?}", path.display());
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn scenario_files_never_panic_and_errors_say_where(
        (area, id, bytes) in scenario_input(),
    ) {
        load_scenario(&area, &id, &bytes)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Model validation

fn shape_names() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| Model::get().shapes.keys().cloned().collect())
}

fn shape_value() -> impl Strategy<Value = (String, Value)> {
    prop_oneof![
        // Random JSON against a random shape.
        (any::<prop::sample::Index>(), json_value())
            .prop_map(|(i, v)| (shape_names()[i.index(shape_names().len())].clone(), v)),
        // A value built from the shape, then changed a few places.
        (any::<prop::sample::Index>(), any::<u64>(), mutations()).prop_map(|(i, seed, m)| {
            let shape = shape_names()[i.index(shape_names().len())].clone();
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let v = from_shape(&shape, &mut rng, 0, false, &mut Vec::new());
            (shape, mutate(&v, &m))
        }),
        // A shape the model does not have.
        (nasty_string(), json_value()),
    ]
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn validation_never_panics_and_names_the_path((shape, value) in shape_value()) {
        let model = Model::get();
        for v in model.validate(&shape, &value) {
            prop_assert!(v.path.starts_with('$'), "{}", v);
            prop_assert!(!v.to_string().is_empty());
        }
    }

    #[test]
    fn a_value_built_from_its_shape_conforms(i in any::<prop::sample::Index>(), seed in any::<u64>()) {
        let shape = &shape_names()[i.index(shape_names().len())];
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let v = from_shape(shape, &mut rng, 0, false, &mut Vec::new());
        // Not a conformance claim (patterns, lengths, depth), only that validation terminates
        // on deep, model-shaped values and reports with paths.
        for violation in Model::get().validate(shape, &v) {
            prop_assert!(violation.path.starts_with('$'));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// secrets: redaction and scrubbing

/// Secrets in an alphabet disjoint from the markers (`<redacted>`, `<redacted: token>`), so a
/// marker can never spell one; with quotes, backslashes and control characters that JSON
/// escapes, and multi-byte characters.
fn secret() -> impl Strategy<Value = String> {
    "[A-Z0-9\"\\\\\n\té€😀_.-]{4,16}"
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn redaction_removes_every_sensitive_value(i in any::<prop::sample::Index>(), seed in any::<u64>()) {
        let shape = &shape_names()[i.index(shape_names().len())];
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut canaries = Vec::new();
        let v = from_shape(shape, &mut rng, 0, false, &mut canaries);
        let out = secrets::redact(Some(shape), &v).to_string();
        for c in &canaries {
            prop_assert!(!out.contains(c.as_str()), "{} survived in {}", c, out);
        }
        let mut found = BTreeSet::new();
        secrets::collect_differences(&v, &secrets::redact(Some(shape), &v), &mut found);
        for c in &canaries {
            if !c.starts_with("CANARYKEY") {
                prop_assert!(found.contains(c), "{} not collected from {}", c, v);
            }
        }
    }

    #[test]
    fn redaction_of_random_json_never_panics(
        shape in prop::option::of(prop::sample::select(shape_names())),
        v in json_value(),
        m in mutations(),
    ) {
        let v = mutate(&v, &m);
        let out = secrets::redact(shape.as_deref(), &v);
        let mut found = BTreeSet::new();
        secrets::collect_differences(&v, &out, &mut found);
    }

    #[test]
    fn scrub_leaves_no_planted_secret(
        secrets_list in prop::collection::vec(secret(), 0..5),
        filler in prop::collection::vec(nasty_string(), 1..6),
        order in prop::collection::vec(any::<usize>(), 0..8),
        json_escaped in any::<bool>(),
    ) {
        // A text with the secrets planted between random pieces, raw or JSON-escaped.
        let mut text = String::new();
        for (k, piece) in filler.iter().enumerate() {
            text.push_str(piece);
            if let Some(&o) = order.get(k) {
                if !secrets_list.is_empty() {
                    let s = &secrets_list[o % secrets_list.len()];
                    if json_escaped {
                        text.push_str(serde_json::to_string(s).unwrap().trim_matches('"'));
                    } else {
                        text.push_str(s);
                    }
                }
            }
        }
        let out = secrets::scrub(&text, secrets_list.iter());
        for s in &secrets_list {
            prop_assert!(!out.contains(s.as_str()), "{:?} survived in {:?}", s, out);
            let escaped = serde_json::to_string(s).unwrap();
            prop_assert!(!out.contains(escaped.trim_matches('"')), "{:?} survived escaped in {:?}", s, out);
        }
    }

    #[test]
    fn scrub_tokens_removes_every_jwt(
        pieces in prop::collection::vec(nasty_string(), 1..5),
        token in "eyJ[A-Za-z0-9_-]{4,20}\\.[A-Za-z0-9_-]{4,20}\\.[A-Za-z0-9_-]{0,20}",
    ) {
        let text = pieces.join(&token);
        let out = secrets::scrub_tokens(&text);
        if pieces.len() > 1 {
            prop_assert!(!out.contains(&token), "{} survived in {}", token, out);
        }
        prop_assert!(!out.contains("eyJ"), "{}", out);
    }
}

// ---------------------------------------------------------------------------------------------
// Expectations files

fn expectation_bases() -> &'static [(PathBuf, Value)] {
    static BASES: std::sync::OnceLock<Vec<(PathBuf, Value)>> = std::sync::OnceLock::new();
    BASES.get_or_init(|| json_files(&fixtures().join("expectations")))
}

fn expectations_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (any::<prop::sample::Index>(), mutations()).prop_map(|(i, m)| {
            let v = &expectation_bases()[i.index(expectation_bases().len())].1;
            serde_json::to_vec(&mutate(v, &m)).expect("JSON")
        }),
        2 => (any::<prop::sample::Index>(), byte_edits()).prop_map(|(i, e)| {
            let v = &expectation_bases()[i.index(expectation_bases().len())].1;
            damage(&serde_json::to_vec(v).expect("JSON"), &e)
        }),
        1 => prop::collection::vec(any::<u8>(), 0..200),
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn expectations_files_never_panic_and_errors_name_the_file(bytes in expectations_input()) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = dir.path().join("fuzzed.json");
        std::fs::write(&file, &bytes).expect("the file");
        if let Err(e) = Expectations::load(&file, "fuzzed") {
            let message = e.to_string();
            prop_assert!(message.contains("fuzzed.json"), "{}", message);
            prop_assert!(message.len() > "fuzzed.json: ".len() + dir.path().as_os_str().len(), "{}", message);
        }
    }
}

#[test]
fn every_real_expectations_file_loads() {
    assert!(!expectation_bases().is_empty());
    for (path, _) in expectation_bases() {
        let target = id_of(path);
        Expectations::load(path, &target).unwrap_or_else(|e| panic!("{e}"));
    }
}
