//! The Cognito service model: operations, shapes, errors and sensitive members, derived from
//! botocore's `cognito-idp` `service-2.json` by `fixtures/model/regenerate.py`.
//!
//! The model is embedded in the binary (it is facts only, about 230 KB) so that the suite and
//! the proxy always agree on it and never depend on the working directory.
//!
//! Two things are built on it:
//!
//! - **Validation** ([`Model::validate`], [`Model::validate_output`], [`Model::validate_input`]):
//!   a JSON value is checked against a shape as the awsJson1_1 protocol carries it, and every
//!   [`Violation`] is returned with its path, so a report can show all of them at once.
//! - **Redaction** ([`Model::redact_sensitive`], [`Model::is_sensitive_member`]): the recording
//!   proxy replaces every value the model marks `sensitive` before it touches disk.
//!
//! ```
//! use cogcheck::model::{Model, Rule};
//! use serde_json::json;
//!
//! let model = Model::get();
//! let found = model.validate("UserPoolIdType", &json!("not-a-pool-id"));
//! assert!(matches!(found[0].rule, Rule::PatternMismatch { .. }));
//! assert_eq!(found[0].to_string(), "$: does not match pattern `[\\w-]+_[0-9a-zA-Z]+`");
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::OnceLock;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

const EMBEDDED: &str = include_str!("../../fixtures/model/cognito-idp.json");

/// The whole service model.
#[derive(Debug, Deserialize)]
pub struct Model {
    /// Where the model came from (package and version).
    pub source: Source,
    /// Protocol metadata: target prefix, JSON version, signing name.
    pub metadata: Metadata,
    /// Operations by name (`CreateUserPool`, ...).
    pub operations: BTreeMap<String, Operation>,
    /// Shapes by name.
    pub shapes: BTreeMap<String, Shape>,
    /// Paginators by operation name, as botocore's `paginators-1.json` gives them.
    #[serde(default)]
    pub paginators: BTreeMap<String, serde_json::Value>,
    /// Every pattern of the model, compiled once on first use: validation runs on every
    /// response of a parallel run, and compiling `\p{..}` classes is far costlier than matching.
    #[serde(skip)]
    patterns: OnceLock<HashMap<String, Result<regress::Regex, String>>>,
    /// The shapes a redaction walk has to enter, found once on first use: the recorder redacts
    /// every exchange, and most of an answer (a pool's settings, a user's attributes) can hold
    /// no secret the model knows of, so the walk skips it without a lookup per member.
    #[serde(skip)]
    secret_bearing: OnceLock<HashSet<String>>,
}

/// Provenance of the model.
#[derive(Debug, Deserialize)]
pub struct Source {
    /// The package the model was taken from (`botocore`).
    pub package: String,
    /// Its version.
    pub version: String,
    /// The API version (`2016-04-18`).
    #[serde(rename = "apiVersion")]
    pub api_version: String,
}

/// Protocol metadata.
#[derive(Debug, Deserialize)]
pub struct Metadata {
    /// `AWSCognitoIdentityProviderService`.
    #[serde(rename = "targetPrefix")]
    pub target_prefix: String,
    /// `1.1`.
    #[serde(rename = "jsonVersion")]
    pub json_version: String,
    /// The SigV4 service name, `cognito-idp`.
    #[serde(rename = "signingName")]
    pub signing_name: String,
}

/// Errors any AWS API may return although the operation does not list them, from the AWS
/// "Common Errors" reference (<https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/CommonErrors.html>).
pub const COMMON_ERRORS: &[&str] = &[
    "AccessDeniedException",
    "IncompleteSignature",
    "InternalFailure",
    "InvalidAction",
    "InvalidClientTokenId",
    "InvalidParameterCombination",
    "InvalidParameterValue",
    "InvalidQueryParameter",
    "MalformedQueryString",
    "MissingAction",
    "MissingAuthenticationToken",
    "MissingParameter",
    "NotAuthorized",
    "OptInRequired",
    "RequestExpired",
    "ServiceUnavailable",
    "ThrottlingException",
    "ValidationError",
    "ValidationException",
    "UnrecognizedClientException",
];

/// One operation.
#[derive(Debug, Deserialize)]
pub struct Operation {
    /// The input shape's name, if the operation takes input.
    #[serde(default)]
    pub input: Option<String>,
    /// The output shape's name, if the operation returns a body.
    #[serde(default)]
    pub output: Option<String>,
    /// The errors the operation declares, by shape name.
    #[serde(default)]
    pub errors: Vec<String>,
    /// True for operations the AWS SDKs send without SigV4 (`authtype: none`).
    pub unsigned: bool,
}

impl Operation {
    /// Whether an answer of this operation may carry `error_type`: an error it declares, or
    /// one of the [`COMMON_ERRORS`] of every AWS API.
    pub fn may_return(&self, error_type: &str) -> bool {
        self.errors.iter().any(|e| e == error_type) || COMMON_ERRORS.contains(&error_type)
    }
}

/// One shape. Only the facts a validator and a redactor need are kept.
#[derive(Debug, Deserialize)]
pub struct Shape {
    /// `structure`, `list`, `map`, `string`, `integer`, `long`, `boolean`, `timestamp`, `blob`,
    /// `double`, `float`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Structure members by name.
    #[serde(default)]
    pub members: BTreeMap<String, Member>,
    /// Required structure members.
    #[serde(default)]
    pub required: Vec<String>,
    /// A list's member shape.
    #[serde(default)]
    pub member: Option<String>,
    /// A map's key shape.
    #[serde(default)]
    pub key: Option<String>,
    /// A map's value shape.
    #[serde(default)]
    pub value: Option<String>,
    /// Minimum length (strings, lists, maps, blobs) or value (numbers).
    #[serde(default)]
    pub min: Option<f64>,
    /// Maximum length or value.
    #[serde(default)]
    pub max: Option<f64>,
    /// An ECMA-262 pattern, not anchored (a search, not a full match).
    #[serde(default)]
    pub pattern: Option<String>,
    /// Allowed values of an enum string.
    #[serde(default, rename = "enum")]
    pub enum_values: Vec<String>,
    /// True when values of this shape are secrets (passwords, tokens, client secrets).
    #[serde(default)]
    pub sensitive: bool,
    /// For a map whose values are secrets except under some keys (`ChallengeParameters`):
    /// those keys. Set from fixtures/secrets.toml, never from the model file.
    #[serde(skip)]
    pub public_keys: Option<BTreeSet<String>>,
    /// True for error shapes.
    #[serde(default)]
    pub exception: bool,
    /// True for server-side errors (HTTP 500).
    #[serde(default)]
    pub fault: bool,
    /// Explicit error code and status, where the model gives them.
    #[serde(default)]
    pub error: Option<ErrorTrait>,
}

/// A structure member.
#[derive(Debug, Deserialize)]
pub struct Member {
    /// The member's shape name.
    pub shape: String,
    /// True when the member itself is marked sensitive.
    #[serde(default)]
    pub sensitive: bool,
    /// When the member's double-quoted parts are secrets (fixtures/secrets.toml `[quoted]`:
    /// ListUsers' `Filter` quotes an attribute value): the attributes whose values are not.
    #[serde(skip)]
    pub quoted_secrets: Option<Vec<String>>,
}

/// The `error` trait of an exception shape.
#[derive(Debug, Deserialize)]
pub struct ErrorTrait {
    /// The wire code, where it differs from the shape name.
    #[serde(default)]
    pub code: Option<String>,
    /// The HTTP status the service sends it with.
    #[serde(default, rename = "httpStatusCode")]
    pub http_status_code: Option<u16>,
    /// True when the caller is at fault.
    #[serde(default, rename = "senderFault")]
    pub sender_fault: bool,
}

impl Model {
    /// The embedded model, parsed once.
    pub fn get() -> &'static Model {
        static MODEL: OnceLock<Model> = OnceLock::new();
        // The embedded file is checked by this crate's tests and regenerated only by
        // fixtures/model/regenerate.py, so a parse failure is a build defect, not bad input.
        MODEL.get_or_init(|| {
            let mut model = Model::from_json(EMBEDDED)
                .expect("embedded fixtures/model/cognito-idp.json is valid");
            // Both files are embedded and checked together by this crate's tests.
            model
                .apply_secrets(crate::secret_list::list())
                .expect("fixtures/secrets.toml names only shapes and members of the model");
            model
        })
    }

    /// Marks what fixtures/secrets.toml says is secret, beyond the model's own `sensitive`
    /// trait, so every walk of the model ([`Model::redact_sensitive`]) redacts it. Refuses a
    /// list naming a shape or member the model does not have: such an entry would protect
    /// nothing.
    pub fn apply_secrets(&mut self, list: &crate::secret_list::SecretList) -> Result<()> {
        let unknown = |what: &str| Error::Model(format!("fixtures/secrets.toml: {what}"));
        // What the walk must enter changes with what is secret.
        self.secret_bearing = OnceLock::new();
        for name in list.shapes.keys() {
            self.shapes
                .get_mut(name)
                .ok_or_else(|| unknown(&format!("no shape `{name}` in the model")))?
                .sensitive = true;
        }
        fn member<'m>(
            shapes: &'m mut BTreeMap<String, Shape>,
            path: &str,
            unknown: &dyn Fn(&str) -> Error,
        ) -> Result<&'m mut Member> {
            let (shape, member) = path
                .split_once('.')
                .ok_or_else(|| unknown(&format!("`{path}` is not `Shape.Member`")))?;
            shapes
                .get_mut(shape)
                .and_then(|s| s.members.get_mut(member))
                .ok_or_else(|| unknown(&format!("no member `{path}` in the model")))
        }
        for path in list.members.keys() {
            member(&mut self.shapes, path, &unknown)?.sensitive = true;
        }
        for (path, quoted) in &list.quoted {
            member(&mut self.shapes, path, &unknown)?.quoted_secrets = Some(quoted.public.clone());
        }
        for (name, map) in &list.maps {
            let shape = self
                .shapes
                .get_mut(name)
                .filter(|s| s.kind == "map")
                .ok_or_else(|| unknown(&format!("no map shape `{name}` in the model")))?;
            shape.public_keys = Some(map.public.iter().cloned().collect());
        }
        Ok(())
    }

    /// Parses a model from its JSON text.
    pub fn from_json(text: &str) -> Result<Model> {
        serde_json::from_str(text).map_err(|e| Error::Model(format!("cannot parse model: {e}")))
    }

    /// An operation by name, or [`Error::UnknownAction`].
    pub fn operation(&self, name: &str) -> Result<&Operation> {
        self.operations
            .get(name)
            .ok_or_else(|| Error::UnknownAction(name.to_string()))
    }

    /// A shape by name.
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }
}

// Redaction by the model (what is secret, and the walks that replace it) lives in its own file.
mod redact;
pub use redact::{redact_by_name, redact_leaves};

/// How deep validation and redaction follow nested shapes. The Cognito model has no recursive
/// shapes and nests about ten levels at most; the limit exists so that a recursive model (or a
/// hostile, deeply nested body) ends in a violation instead of a stack overflow.
pub const MAX_DEPTH: usize = 64;

/// One way a JSON value breaks its shape, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// JSONPath-like location: `$.UserPool.Policies.PasswordPolicy.MinimumLength`,
    /// `$.Users[3].Attributes[0].Name`. Names that are not plain identifiers are written
    /// `['name']`; a violation of a map *key* (rather than its value) ends in `~`, as in
    /// JSONPath-Plus, e.g. `$.Links.english~`.
    pub path: String,
    /// The rule that was broken.
    pub rule: Rule,
}

/// The rules of the Smithy shape constraints, as they apply to awsJson1_1 bodies.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Rule {
    /// A `required` structure member is absent or `null`. The path is the member's own path.
    MissingRequired {
        /// The missing member's name.
        member: String,
    },
    /// The JSON type does not carry the shape's type.
    WrongType {
        /// The shape's type (`structure`, `string`, `integer`, `timestamp`, ...).
        expected: String,
        /// What was found (`string`, `fractional number`, `null`, ...).
        found: String,
    },
    /// A string is not one of its enum's values (exact, case-sensitive comparison).
    NotInEnum {
        /// The value found.
        value: String,
        /// How many values the enum allows.
        allowed: usize,
    },
    /// A length (string code points, list or map entries, blob bytes) is below `min`.
    TooShort {
        /// The length found.
        len: usize,
        /// The model's minimum.
        min: f64,
    },
    /// A length is above `max`.
    TooLong {
        /// The length found.
        len: usize,
        /// The model's maximum.
        max: f64,
    },
    /// A number is below the model's `min`.
    BelowMin {
        /// The value found.
        value: f64,
        /// The model's minimum.
        min: f64,
    },
    /// A number is above the model's `max`.
    AboveMax {
        /// The value found.
        value: f64,
        /// The model's maximum.
        max: f64,
    },
    /// A string contains no match of the shape's (unanchored) pattern.
    PatternMismatch {
        /// The model's pattern, as the model writes it.
        pattern: String,
    },
    /// A structure has a member the model does not define. AWS adds members in new API
    /// versions, so the caller decides whether this is a failure or a note.
    UnknownMember {
        /// The member's name.
        member: String,
    },
    /// A blob is not standard, padded base64.
    InvalidBase64,
    /// The model's pattern could not be compiled or run, so the value could not be checked.
    BadPattern {
        /// The model's pattern.
        pattern: String,
        /// Why it failed.
        error: String,
    },
    /// A shape name the model does not define (a defect of the model or of the caller).
    UnknownShape {
        /// The shape's name.
        shape: String,
    },
    /// A shape whose type this validator does not know (e.g. `document`).
    UnsupportedType {
        /// The shape's name.
        shape: String,
        /// Its type.
        kind: String,
    },
    /// Nesting went deeper than [`MAX_DEPTH`]; nothing below the path was checked.
    TooDeep {
        /// The limit.
        limit: usize,
    },
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::MissingRequired { member } => write!(f, "required member `{member}` is missing"),
            Rule::WrongType { expected, found } => write!(f, "expected {expected}, found {found}"),
            Rule::NotInEnum { value, allowed } => {
                write!(f, "`{value}` is not one of the {allowed} enum values")
            }
            Rule::TooShort { len, min } => write!(f, "length {len} is below the minimum {min}"),
            Rule::TooLong { len, max } => write!(f, "length {len} is above the maximum {max}"),
            Rule::BelowMin { value, min } => write!(f, "{value} is below the minimum {min}"),
            Rule::AboveMax { value, max } => write!(f, "{value} is above the maximum {max}"),
            Rule::PatternMismatch { pattern } => write!(f, "does not match pattern `{pattern}`"),
            Rule::UnknownMember { member } => {
                write!(f, "member `{member}` is not in the service model")
            }
            Rule::InvalidBase64 => f.write_str("blob is not standard padded base64"),
            Rule::BadPattern { pattern, error } => {
                write!(f, "cannot check model pattern `{pattern}`: {error}")
            }
            Rule::UnknownShape { shape } => {
                write!(f, "shape `{shape}` is not in the service model")
            }
            Rule::UnsupportedType { shape, kind } => {
                write!(
                    f,
                    "shape `{shape}` has type `{kind}`, which cannot be validated"
                )
            }
            Rule::TooDeep { limit } => {
                write!(f, "nested deeper than {limit} levels; not checked further")
            }
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.rule)
    }
}

impl Model {
    /// Checks `value` against the shape named `shape` and returns every violation. An empty
    /// vector means the value conforms. The order is stable: within each structure, missing
    /// required members first, then the members present, in the body's order.
    pub fn validate(&self, shape: &str, value: &Value) -> Vec<Violation> {
        let mut walk = Validation {
            model: self,
            path: String::from("$"),
            found: Vec::new(),
        };
        walk.check(shape, value, 0);
        walk.found
    }

    /// Checks a success response body against `action`'s output shape. An operation without an
    /// output shape must answer `{}`. Fails only when the model does not know `action`.
    pub fn validate_output(&self, action: &str, body: &Value) -> Result<Vec<Violation>> {
        let operation = self.operation(action)?;
        Ok(self.validate_optional(operation.output.as_deref(), body))
    }

    /// Checks a request body against `action`'s input shape. An operation without an input
    /// shape must be sent `{}`. Fails only when the model does not know `action`.
    pub fn validate_input(&self, action: &str, body: &Value) -> Result<Vec<Violation>> {
        let operation = self.operation(action)?;
        Ok(self.validate_optional(operation.input.as_deref(), body))
    }

    fn validate_optional(&self, shape: Option<&str>, body: &Value) -> Vec<Violation> {
        if let Some(shape) = shape {
            return self.validate(shape, body);
        }
        match body {
            Value::Object(members) => members
                .keys()
                .map(|member| Violation {
                    path: child_path("$", member),
                    rule: Rule::UnknownMember {
                        member: member.clone(),
                    },
                })
                .collect(),
            other => vec![Violation {
                path: String::from("$"),
                rule: Rule::WrongType {
                    expected: String::from("structure"),
                    found: json_type(other),
                },
            }],
        }
    }

    fn compiled_patterns(&self) -> &HashMap<String, Result<regress::Regex, String>> {
        self.patterns.get_or_init(|| {
            self.shapes
                .values()
                .filter_map(|shape| shape.pattern.as_ref())
                .map(|pattern| (pattern.clone(), compile_ecma(pattern)))
                .collect()
        })
    }

    /// Whether `text` contains a match of `pattern`; `Err` when the pattern cannot be used.
    fn pattern_matches(&self, pattern: &str, text: &str) -> Result<bool, String> {
        let found = |regex: &regress::Regex| Ok(regex.find(text).is_some());
        match self.compiled_patterns().get(pattern) {
            Some(Ok(regex)) => found(regex),
            Some(Err(error)) => Err(error.clone()),
            // Only reachable when a caller changed a shape's pattern after the cache was built.
            None => found(&compile_ecma(pattern)?),
        }
    }
}

/// One validation run: the path is a single buffer grown and cut back as the walk descends,
/// since most values conform and allocating a path per node would be wasted.
struct Validation<'m> {
    model: &'m Model,
    path: String,
    found: Vec<Violation>,
}

impl Validation<'_> {
    fn report(&mut self, rule: Rule) {
        self.found.push(Violation {
            path: self.path.clone(),
            rule,
        });
    }

    fn wrong_type(&mut self, expected: &str, value: &Value) {
        self.report(Rule::WrongType {
            expected: expected.to_string(),
            found: json_type(value),
        });
    }

    /// Validates `value` with `segment` appended to the path.
    fn descend(&mut self, segment: Segment<'_>, shape: &str, value: &Value, depth: usize) {
        let len = self.path.len();
        segment.push_to(&mut self.path);
        self.check(shape, value, depth + 1);
        self.path.truncate(len);
    }

    fn check(&mut self, name: &str, value: &Value, depth: usize) {
        if depth > MAX_DEPTH {
            self.report(Rule::TooDeep { limit: MAX_DEPTH });
            return;
        }
        let model = self.model;
        let Some(shape) = model.shape(name) else {
            self.report(Rule::UnknownShape {
                shape: name.to_string(),
            });
            return;
        };
        match shape.kind.as_str() {
            "structure" => self.structure(shape, value, depth),
            "list" => self.list(name, shape, value, depth),
            "map" => self.map(name, shape, value, depth),
            "string" => self.string(shape, value),
            "integer" => self.integer(shape, value, "integer", i32::MIN.into(), i32::MAX.into()),
            "long" => self.integer(shape, value, "long", i64::MIN.into(), i64::MAX.into()),
            "short" => self.integer(shape, value, "short", i16::MIN.into(), i16::MAX.into()),
            "byte" => self.integer(shape, value, "byte", i8::MIN.into(), i8::MAX.into()),
            "double" | "float" => self.floating(shape, value),
            "boolean" => {
                if !value.is_boolean() {
                    self.wrong_type("boolean", value);
                }
            }
            // awsJson1_1 sends timestamps as epoch seconds, and fractional seconds are allowed.
            "timestamp" => {
                if !value.is_number() {
                    self.wrong_type("timestamp (epoch seconds as a JSON number)", value);
                }
            }
            "blob" => self.blob(shape, value),
            other => self.report(Rule::UnsupportedType {
                shape: name.to_string(),
                kind: other.to_string(),
            }),
        }
    }

    fn structure(&mut self, shape: &Shape, value: &Value, depth: usize) {
        let Value::Object(members) = value else {
            self.wrong_type("structure", value);
            return;
        };
        for required in &shape.required {
            if members.get(required).is_none_or(Value::is_null) {
                let len = self.path.len();
                Segment::Member(required).push_to(&mut self.path);
                self.report(Rule::MissingRequired {
                    member: required.clone(),
                });
                self.path.truncate(len);
            }
        }
        for (name, member_value) in members {
            match shape.members.get(name) {
                // awsJson1_1 serializers may write absent optional members as null.
                Some(_) if member_value.is_null() => {}
                Some(member) => {
                    self.descend(Segment::Member(name), &member.shape, member_value, depth)
                }
                None => {
                    let len = self.path.len();
                    Segment::Member(name).push_to(&mut self.path);
                    self.report(Rule::UnknownMember {
                        member: name.clone(),
                    });
                    self.path.truncate(len);
                }
            }
        }
    }

    fn list(&mut self, name: &str, shape: &Shape, value: &Value, depth: usize) {
        let Value::Array(items) = value else {
            self.wrong_type("list", value);
            return;
        };
        self.length(shape, items.len());
        let Some(member) = &shape.member else {
            self.report(Rule::UnknownShape {
                shape: format!("{name}.member"),
            });
            return;
        };
        for (index, item) in items.iter().enumerate() {
            self.descend(Segment::Index(index), member, item, depth);
        }
    }

    fn map(&mut self, name: &str, shape: &Shape, value: &Value, depth: usize) {
        let Value::Object(entries) = value else {
            self.wrong_type("map", value);
            return;
        };
        self.length(shape, entries.len());
        let (Some(key_shape), Some(value_shape)) = (&shape.key, &shape.value) else {
            self.report(Rule::UnknownShape {
                shape: format!("{name}.key/value"),
            });
            return;
        };
        for (key, entry) in entries {
            self.descend(
                Segment::Key(key),
                key_shape,
                &Value::String(key.clone()),
                depth,
            );
            self.descend(Segment::Member(key), value_shape, entry, depth);
        }
    }

    fn length(&mut self, shape: &Shape, len: usize) {
        // Lengths are far below 2^53, so the conversion to f64 is exact.
        let measured = len as f64;
        if let Some(min) = shape.min {
            if measured < min {
                self.report(Rule::TooShort { len, min });
            }
        }
        if let Some(max) = shape.max {
            if measured > max {
                self.report(Rule::TooLong { len, max });
            }
        }
    }

    fn bounds(&mut self, shape: &Shape, value: f64) {
        if let Some(min) = shape.min {
            if value < min {
                self.report(Rule::BelowMin { value, min });
            }
        }
        if let Some(max) = shape.max {
            if value > max {
                self.report(Rule::AboveMax { value, max });
            }
        }
    }

    fn string(&mut self, shape: &Shape, value: &Value) {
        let Value::String(text) = value else {
            self.wrong_type("string", value);
            return;
        };
        if !shape.enum_values.is_empty() && !shape.enum_values.iter().any(|v| v == text) {
            self.report(Rule::NotInEnum {
                value: text.clone(),
                allowed: shape.enum_values.len(),
            });
        }
        // Smithy's @length counts Unicode scalar values: not bytes, not UTF-16 units, not
        // grapheme clusters.
        self.length(shape, text.chars().count());
        if let Some(pattern) = &shape.pattern {
            match self.model.pattern_matches(pattern, text) {
                Ok(true) => {}
                Ok(false) => self.report(Rule::PatternMismatch {
                    pattern: pattern.clone(),
                }),
                Err(error) => self.report(Rule::BadPattern {
                    pattern: pattern.clone(),
                    error,
                }),
            }
        }
    }

    fn integer(&mut self, shape: &Shape, value: &Value, kind: &str, lowest: i128, highest: i128) {
        let Value::Number(number) = value else {
            self.wrong_type(kind, value);
            return;
        };
        let whole = if let Some(n) = number.as_i64() {
            Some(i128::from(n))
        } else if let Some(n) = number.as_u64() {
            Some(i128::from(n))
        } else {
            // `5.0` and `5e0` carry an integer; only a fraction makes the type wrong. The cast
            // saturates, and saturated values are caught by the range check below.
            number
                .as_f64()
                .filter(|f| f.is_finite() && f.fract() == 0.0)
                .map(|f| f as i128)
        };
        let Some(whole) = whole else {
            self.wrong_type(kind, value);
            return;
        };
        if whole < lowest || whole > highest {
            self.report(Rule::WrongType {
                expected: kind.to_string(),
                found: format!("integer {number} outside the {kind} range"),
            });
            return;
        }
        self.bounds(shape, whole as f64);
    }

    fn floating(&mut self, shape: &Shape, value: &Value) {
        let number = match value {
            Value::Number(number) => number.as_f64(),
            // Smithy's JSON protocols carry non-finite values as these exact strings.
            Value::String(text) => match text.as_str() {
                "NaN" => Some(f64::NAN),
                "Infinity" => Some(f64::INFINITY),
                "-Infinity" => Some(f64::NEG_INFINITY),
                _ => None,
            },
            _ => None,
        };
        match number {
            Some(n) if n.is_nan() => {}
            Some(n) => self.bounds(shape, n),
            None => self.wrong_type(&shape.kind, value),
        }
    }

    fn blob(&mut self, shape: &Shape, value: &Value) {
        let Value::String(text) = value else {
            self.wrong_type("blob (base64 string)", value);
            return;
        };
        // STANDARD requires canonical padding, as the AWS SDKs write it.
        match base64::engine::general_purpose::STANDARD.decode(text) {
            Ok(bytes) => self.length(shape, bytes.len()),
            Err(_) => self.report(Rule::InvalidBase64),
        }
    }
}

/// One step of a path.
enum Segment<'a> {
    /// A structure member or map entry: `.Name` or `['odd name']`.
    Member(&'a str),
    /// A map key itself: the entry's path followed by `~`.
    Key(&'a str),
    /// A list element: `[3]`.
    Index(usize),
}

impl Segment<'_> {
    fn push_to(&self, path: &mut String) {
        match self {
            Segment::Member(name) => push_name(path, name),
            Segment::Key(name) => {
                push_name(path, name);
                path.push('~');
            }
            Segment::Index(index) => {
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
            }
        }
    }
}

/// The path of member or map key `name` under `parent`, written as violations write paths
/// (`$.UserPool.Id`, `$.ChallengeParameters['custom:x']`). Shared with the mutation operators
/// so a mutant's path reads like a finding's.
pub fn child_path(parent: &str, name: &str) -> String {
    let mut path = parent.to_string();
    push_name(&mut path, name);
    path
}

/// Appends `.name` for identifiers and the RFC 9535 normalized form `['name']` otherwise, so a
/// map key such as `custom:tenant` or `a.b` stays unambiguous.
fn push_name(path: &mut String, name: &str) {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        path.push('.');
        path.push_str(name);
        return;
    }
    path.push_str("['");
    for c in name.chars() {
        match c {
            '\'' => path.push_str("\\'"),
            '\\' => path.push_str("\\\\"),
            c if c.is_control() => path.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => path.push(c),
        }
    }
    path.push_str("']");
}

/// The JSON type of `value`, in the words a violation uses.
fn json_type(value: &Value) -> String {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "fractional number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
    .to_string()
}

/// Compiles an ECMA-262 pattern (as Smithy specifies for `pattern`, and as scenarios write
/// `$regex`) with `regress`, an ECMAScript engine, so `\w`, `\d`, `\s`, `\b`, `.` and classes
/// mean what they mean to AWS's own ECMAScript validators.
///
/// Flags: `u` (Unicode), since the model's `\p{L}` classes are Unicode properties only with it
/// (without it, Annex B reads `\p{L}` as the letters `p{L}`). A pattern `u` refuses because of
/// an identity escape such as `\:` (valid without `u` only, as in the Secrets Manager ARN
/// pattern) compiles without `u`, which is how a browser without the flag would read it.
/// A leading `(?s)`, which botocore's model writes though ECMA-262 has no such group, becomes
/// the `s` (dotAll) flag it means.
pub(crate) fn compile_ecma(pattern: &str) -> Result<regress::Regex, String> {
    let (body, dot_all) = match pattern.strip_prefix("(?s)") {
        Some(rest) => (rest, "s"),
        None => (pattern, ""),
    };
    regress::Regex::with_flags(body, format!("u{dot_all}").as_str())
        .or_else(|unicode_error| {
            regress::Regex::with_flags(body, dot_all).map_err(|_| unicode_error)
        })
        .map_err(|e| e.to_string())
}

/// The action names of the "Actions Defined by Amazon Cognito User Pools" table of the seed
/// file (`shared/seed/cognito-user-pools-actions.md`): the bracketed name in the first column
/// of each row.
pub fn seed_actions_from_table(text: &str) -> Vec<String> {
    let mut lines = text
        .lines()
        .skip_while(|line| line.split('|').nth(1).map(str::trim) != Some("Actions"));
    lines.next(); // the header row
    lines
        .skip(1) // the `| --- |` separator
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| {
            let first = line.split('|').nth(1)?;
            let open = first.find('[')?;
            let close = first[open..].find(']')? + open;
            Some(first[open + 1..close].trim().to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::redact::redact_quoted;
    use super::*;
    use serde_json::json;

    fn model() -> &'static Model {
        Model::get()
    }

    /// A model with only the given shapes, for the rules no Cognito shape exercises.
    fn synthetic(shapes: Value) -> Model {
        let text = json!({
            "source": {"package": "test", "version": "0", "apiVersion": "0"},
            "metadata": {"targetPrefix": "T", "jsonVersion": "1.1", "signingName": "t"},
            "operations": {},
            "shapes": shapes,
        })
        .to_string();
        Model::from_json(&text).unwrap()
    }

    fn rules(found: &[Violation]) -> Vec<(&str, &Rule)> {
        found.iter().map(|v| (v.path.as_str(), &v.rule)).collect()
    }

    // ---- the embedded model ----

    #[test]
    fn embedded_model_has_153_operations_34_of_them_unsigned() {
        let m = model();
        assert_eq!(m.operations.len(), 153);
        let unsigned = m.operations.values().filter(|op| op.unsigned).count();
        assert_eq!(unsigned, 34);
        for name in [
            "InitiateAuth",
            "SignUp",
            "GetUser",
            "RespondToAuthChallenge",
        ] {
            assert!(
                m.operation(name).unwrap().unsigned,
                "{name} is sent unsigned"
            );
        }
        for name in ["AdminInitiateAuth", "CreateUserPool", "ListUsers"] {
            assert!(!m.operation(name).unwrap().unsigned, "{name} is signed");
        }
    }

    #[test]
    fn every_seed_action_is_a_model_operation() {
        // The seed list travels with the repository (fixtures/seed-actions.txt); nothing here
        // reads outside the checkout.
        let actions = crate::report::compat::parse_seed_list(crate::report::compat::SEED_ACTIONS);
        assert_eq!(actions.len(), 95, "parsed {actions:?}");
        assert_eq!(
            actions.first().map(String::as_str),
            Some("AddCustomAttributes")
        );
        assert_eq!(
            actions.last().map(String::as_str),
            Some("VerifyUserAttribute")
        );
        let missing: Vec<_> = actions
            .iter()
            .filter(|a| model().operation(a).is_err())
            .collect();
        assert!(
            missing.is_empty(),
            "seed actions not in the model: {missing:?}"
        );
    }

    #[test]
    fn the_seed_table_parser_reads_the_first_column() {
        let table = "intro\n| Actions | Description |\n| --- | --- |\n| [AddCustomAttributes](x) | a |\n| [AdminGetUser](y) | b |\n\nafter\n";
        assert_eq!(
            seed_actions_from_table(table),
            vec!["AddCustomAttributes", "AdminGetUser"]
        );
    }

    #[test]
    fn every_model_pattern_compiles() {
        let mut failures = Vec::new();
        let mut count = 0;
        for (name, shape) in &model().shapes {
            if let Some(pattern) = &shape.pattern {
                count += 1;
                if let Err(e) = compile_ecma(pattern) {
                    failures.push(format!("{name}: `{pattern}`: {e}"));
                }
            }
        }
        assert!(count > 40, "only {count} patterns found");
        assert!(failures.is_empty(), "{failures:#?}");
        assert!(model().compiled_patterns().values().all(Result::is_ok));
    }

    // ---- structures ----

    fn pool(user_pool: Value) -> Value {
        json!({ "UserPool": user_pool })
    }

    #[test]
    fn describe_user_pool_conforming_response_passes() {
        let body = pool(json!({
            "Id": "us-east-1_AbC123",
            "Name": "cogcheck-pool",
            "CreationDate": 1_700_000_000.123,
            "LastModifiedDate": 1_700_000_000,
            "UsernameConfiguration": {"CaseSensitive": false},
            "Policies": {"PasswordPolicy": {"MinimumLength": 8, "RequireNumbers": true}},
            "EstimatedNumberOfUsers": 0,
            "UserPoolTags": {"team": "identity"},
            "AccountRecoverySetting": {"RecoveryMechanisms": [
                {"Name": "verified_email", "Priority": 1}
            ]},
        }));
        let found = model().validate_output("DescribeUserPool", &body).unwrap();
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn missing_required_member_deep_inside_is_reported_at_its_path() {
        let body = pool(json!({
            "Id": "us-east-1_AbC123",
            "UsernameConfiguration": {},
            "AccountRecoverySetting": {"RecoveryMechanisms": [
                {"Name": "verified_email", "Priority": 1},
                {"Name": "verified_phone_number"}
            ]},
        }));
        let found = model().validate("DescribeUserPoolResponse", &body);
        assert_eq!(
            rules(&found),
            vec![
                (
                    "$.UserPool.UsernameConfiguration.CaseSensitive",
                    &Rule::MissingRequired {
                        member: "CaseSensitive".into()
                    }
                ),
                (
                    "$.UserPool.AccountRecoverySetting.RecoveryMechanisms[1].Priority",
                    &Rule::MissingRequired {
                        member: "Priority".into()
                    }
                ),
            ]
        );
    }

    #[test]
    fn null_required_member_is_missing_and_null_optional_member_is_absent() {
        let found = model().validate("AttributeType", &json!({"Name": null, "Value": null}));
        assert_eq!(
            rules(&found),
            vec![(
                "$.Name",
                &Rule::MissingRequired {
                    member: "Name".into()
                }
            )]
        );
        assert!(model()
            .validate("AttributeType", &json!({"Name": "email", "Value": null}))
            .is_empty());
    }

    #[test]
    fn unknown_members_are_reported_and_valid_ones_still_checked() {
        let found = model().validate(
            "AttributeType",
            &json!({"Name": "email", "Value": "a@example.com", "Verified": true}),
        );
        assert_eq!(
            rules(&found),
            vec![(
                "$.Verified",
                &Rule::UnknownMember {
                    member: "Verified".into()
                }
            )]
        );
    }

    #[test]
    fn structure_must_be_an_object() {
        let found = model().validate("AttributeType", &json!(["email"]));
        assert_eq!(
            rules(&found),
            vec![(
                "$",
                &Rule::WrongType {
                    expected: "structure".into(),
                    found: "array".into()
                }
            )]
        );
    }

    #[test]
    fn every_violation_is_returned_not_only_the_first() {
        let body = json!({"Users": [
            {"Username": "alice", "UserStatus": "CONFIRMED", "Enabled": true},
            {"Username": "", "UserStatus": "confirmed", "Enabled": "yes",
             "Attributes": [{"Value": "x"}]}
        ]});
        let found = model().validate_output("ListUsers", &body).unwrap();
        let paths: Vec<_> = found.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "$.Users[1].Username",
                "$.Users[1].Username",
                "$.Users[1].UserStatus",
                "$.Users[1].Enabled",
                "$.Users[1].Attributes[0].Name"
            ],
            "{found:#?}"
        );
    }

    // ---- lists and maps ----

    #[test]
    fn list_entry_count_is_bounded() {
        let option = json!({"Name": "verified_email", "Priority": 1});
        let ok = model().validate("RecoveryMechanismsType", &json!([option, option]));
        assert!(ok.is_empty(), "{ok:#?}");
        assert_eq!(
            rules(&model().validate("RecoveryMechanismsType", &json!([]))),
            vec![("$", &Rule::TooShort { len: 0, min: 1.0 })]
        );
        assert_eq!(
            rules(&model().validate("RecoveryMechanismsType", &json!([option, option, option]))),
            vec![("$", &Rule::TooLong { len: 3, max: 2.0 })]
        );
        let found = model().validate("RecoveryMechanismsType", &json!({"0": option}));
        assert!(matches!(&found[0].rule, Rule::WrongType { expected, .. } if expected == "list"));
    }

    #[test]
    fn map_keys_values_and_entry_count_are_validated() {
        let ok = json!({"cognito:english": "https://example.com/terms"});
        assert!(model().validate("LinksType", &ok).is_empty());
        let found = model().validate("LinksType", &json!({"cognito:klingon": ""}));
        assert_eq!(
            rules(&found),
            vec![
                (
                    "$['cognito:klingon']~",
                    &Rule::PatternMismatch {
                        pattern: model()
                            .shape("LanguageIdType")
                            .unwrap()
                            .pattern
                            .clone()
                            .unwrap()
                    }
                ),
                ("$['cognito:klingon']", &Rule::TooShort { len: 0, min: 1.0 }),
                (
                    "$['cognito:klingon']",
                    &Rule::PatternMismatch {
                        pattern: model()
                            .shape("LinkUrlType")
                            .unwrap()
                            .pattern
                            .clone()
                            .unwrap()
                    }
                ),
            ]
        );
        assert_eq!(
            rules(&model().validate("LinksType", &json!({}))),
            vec![("$", &Rule::TooShort { len: 0, min: 1.0 })]
        );
        let found = model().validate("ClientMetadataType", &json!({"plain": 1}));
        assert_eq!(found[0].path, "$.plain");
        assert!(matches!(&found[0].rule, Rule::WrongType { expected, .. } if expected == "string"));
    }

    // ---- strings ----

    #[test]
    fn enum_values_match_exactly() {
        assert!(model()
            .validate("UserStatusType", &json!("FORCE_CHANGE_PASSWORD"))
            .is_empty());
        assert_eq!(
            rules(&model().validate("UserStatusType", &json!("Confirmed"))),
            vec![(
                "$",
                &Rule::NotInEnum {
                    value: "Confirmed".into(),
                    allowed: 8
                }
            )]
        );
    }

    #[test]
    fn string_length_counts_unicode_code_points() {
        let m = synthetic(json!({"One": {"type": "string", "min": 1, "max": 1}}));
        // One code point: four UTF-8 bytes, two UTF-16 units.
        assert!(m.validate("One", &json!("😀")).is_empty());
        assert_eq!(
            rules(&m.validate("One", &json!("😀😀"))),
            vec![("$", &Rule::TooLong { len: 2, max: 1.0 })]
        );
        // `e` + combining acute is one grapheme but two code points.
        assert_eq!(
            rules(&m.validate("One", &json!("e\u{301}"))),
            vec![("$", &Rule::TooLong { len: 2, max: 1.0 })]
        );
        assert_eq!(
            rules(&m.validate("One", &json!(""))),
            vec![("$", &Rule::TooShort { len: 0, min: 1.0 })]
        );
        // A real shape: UsernameType allows 128; 128 emoji are 512 bytes and 256 UTF-16 units.
        assert!(model()
            .validate("UsernameType", &json!("😀".repeat(128)))
            .is_empty());
        assert_eq!(
            rules(&model().validate("UsernameType", &json!("😀".repeat(129)))),
            vec![(
                "$",
                &Rule::TooLong {
                    len: 129,
                    max: 128.0
                }
            )]
        );
    }

    #[test]
    fn user_pool_id_pattern() {
        assert!(model()
            .validate("UserPoolIdType", &json!("us-east-1_AbC123"))
            .is_empty());
        let found = model().validate("UserPoolIdType", &json!("us-east-1"));
        assert_eq!(
            rules(&found),
            vec![(
                "$",
                &Rule::PatternMismatch {
                    pattern: r"[\w-]+_[0-9a-zA-Z]+".into()
                }
            )]
        );
    }

    #[test]
    fn pattern_is_a_search_not_a_full_match() {
        // Neither end matches `[\w-]+_[0-9a-zA-Z]+`, the middle does.
        assert!(model()
            .validate("UserPoolIdType", &json!("!!us-east-1_abc!!"))
            .is_empty());
        // An anchored model pattern still anchors.
        assert!(!model()
            .validate("HexStringType", &json!("zz00ff"))
            .is_empty());
        assert!(model().validate("HexStringType", &json!("00ff")).is_empty());
    }

    #[test]
    fn ecma_word_class_is_ascii() {
        // ECMA `\w` is [A-Za-z0-9_]; a Unicode `\w` would accept `é` before the underscore.
        assert!(!model().validate("UserPoolIdType", &json!("é_1")).is_empty());
        assert!(model().validate("UserPoolIdType", &json!("e_1")).is_empty());
    }

    #[test]
    fn s3_bucket_lookbehind_rejects_a_trailing_dot() {
        assert!(model()
            .validate("S3BucketType", &json!("my.bucket-1"))
            .is_empty());
        assert_eq!(
            rules(&model().validate("S3BucketType", &json!("my.bucket."))),
            vec![(
                "$",
                &Rule::PatternMismatch {
                    pattern: r"^[0-9A-Za-z\.\-_]*(?<!\.)$".into()
                }
            )]
        );
    }

    #[test]
    fn unicode_property_pattern() {
        assert!(model()
            .validate("UsernameType", &json!("zoë@example.com"))
            .is_empty());
        assert!(!model().validate("UsernameType", &json!(" ")).is_empty());
    }

    #[test]
    fn string_must_be_a_json_string() {
        assert_eq!(
            rules(&model().validate("UsernameType", &json!(42))),
            vec![(
                "$",
                &Rule::WrongType {
                    expected: "string".into(),
                    found: "integer".into()
                }
            )]
        );
    }

    #[test]
    fn a_pattern_that_does_not_compile_is_a_violation_not_a_panic() {
        let m = synthetic(json!({"Broken": {"type": "string", "pattern": "(unclosed"}}));
        let found = m.validate("Broken", &json!("x"));
        assert_eq!(found.len(), 1);
        assert!(
            matches!(&found[0].rule, Rule::BadPattern { pattern, error }
                if pattern == "(unclosed" && !error.is_empty()),
            "{found:#?}"
        );
    }

    /// What ECMAScript (with the `u` flag) says, where Rust's `regex` dialect would differ.
    #[test]
    fn patterns_follow_ecmascript() {
        let matches = |pattern: &str, text: &str| {
            compile_ecma(pattern)
                .unwrap_or_else(|e| panic!("{pattern}: {e}"))
                .find(text)
                .is_some()
        };
        // `\w`, `\d` and `\b` are ASCII: a pool id with `é` is not a word.
        assert!(!matches(r"^\w$", "é"));
        assert!(!matches(r"^\d$", "٣"));
        assert!(matches(r"a\b", "aé"));
        assert!(matches(r"^[\w-]+$", "a-b_1") && !matches(r"^[\w-]+$", "aé"));
        // `\s` is ECMA's WhiteSpace and LineTerminator: U+FEFF yes, U+0085 no.
        assert!(matches(r"^\s$", "\u{feff}"));
        assert!(!matches(r"^\s$", "\u{85}"));
        // `.` stops at every line terminator, not only `\n`...
        for terminator in ["\n", "\r", "\u{2028}", "\u{2029}"] {
            assert!(!matches("^.$", terminator), "{terminator:?}");
        }
        assert!(matches("^.$", "😀"), "one code point, not a UTF-16 half");
        // ...unless the model's leading `(?s)` asks for dotAll.
        assert!(!matches("^.*$", "a\nb") && matches("(?s)^.*$", "a\r\nb"));
        // `\p{L}` is a Unicode property, as the model's user name patterns mean it.
        assert!(matches(r"^[\p{L}\p{M}\p{S}\p{N}\p{P}]+$", "Jöhn.Dœ"));
        assert!(!matches(r"^[\p{L}\p{M}\p{S}\p{N}\p{P}]+$", "a b"));
        // Classes: `[` is literal inside one, `[]` matches nothing, `[^]` anything, `&&` is
        // no set operation, and `+--` is the range `+` to `-`.
        assert!(matches(r"^[a[b]+$", "[ab"));
        assert!(!matches("a[]", "a") && !matches("a[]", "ab"));
        assert!(matches("^[^]$", "\n"));
        assert!(matches("^[a&&b]+$", "&&ab"));
        assert!(matches("^[+--]$", ",") && !matches("^[+--]$", "a"));
        // `\:` is an identity escape, allowed without `u` (the Secrets Manager ARN pattern).
        assert!(matches(r"^arn\:aws$", "arn:aws"));
        // Look-behind, as `S3BucketType` needs.
        assert!(matches(r"^[0-9A-Za-z\.\-_]*(?<!\.)$", "bucket"));
        assert!(!matches(r"^[0-9A-Za-z\.\-_]*(?<!\.)$", "bucket."));
    }

    // ---- numbers, booleans, timestamps, blobs ----

    #[test]
    fn integer_rules() {
        let m = model();
        assert!(m
            .validate("PasswordPolicyMinLengthType", &json!(8))
            .is_empty());
        assert!(m
            .validate("PasswordPolicyMinLengthType", &json!(8.0))
            .is_empty());
        assert_eq!(
            rules(&m.validate("PasswordPolicyMinLengthType", &json!(8.5))),
            vec![(
                "$",
                &Rule::WrongType {
                    expected: "integer".into(),
                    found: "fractional number".into()
                }
            )]
        );
        assert_eq!(
            rules(&m.validate("PasswordPolicyMinLengthType", &json!(5))),
            vec![(
                "$",
                &Rule::BelowMin {
                    value: 5.0,
                    min: 6.0
                }
            )]
        );
        assert_eq!(
            rules(&m.validate("PasswordPolicyMinLengthType", &json!(100))),
            vec![(
                "$",
                &Rule::AboveMax {
                    value: 100.0,
                    max: 99.0
                }
            )]
        );
        assert!(matches!(
            &m.validate("PasswordPolicyMinLengthType", &json!("8"))[0].rule,
            Rule::WrongType { found, .. } if found == "string"
        ));
        assert!(matches!(
            &m.validate("IntegerType", &json!(2_147_483_648_i64))[0].rule,
            Rule::WrongType { expected, .. } if expected == "integer"
        ));
        assert!(m.validate("LongType", &json!(2_147_483_648_i64)).is_empty());
        assert!(!m.validate("LongType", &json!(u64::MAX)).is_empty());
    }

    #[test]
    fn double_rules() {
        let m = synthetic(json!({"Ratio": {"type": "double", "min": 0, "max": 1}}));
        assert!(m.validate("Ratio", &json!(0.5)).is_empty());
        assert!(m.validate("Ratio", &json!(1)).is_empty());
        assert!(m.validate("Ratio", &json!("NaN")).is_empty());
        assert_eq!(
            rules(&m.validate("Ratio", &json!("Infinity"))),
            vec![(
                "$",
                &Rule::AboveMax {
                    value: f64::INFINITY,
                    max: 1.0
                }
            )]
        );
        assert_eq!(
            rules(&m.validate("Ratio", &json!(-0.5))),
            vec![(
                "$",
                &Rule::BelowMin {
                    value: -0.5,
                    min: 0.0
                }
            )]
        );
        assert!(!m.validate("Ratio", &json!("0.5")).is_empty());
    }

    #[test]
    fn boolean_rules() {
        let m = model();
        assert!(m
            .validate("UsernameConfigurationType", &json!({"CaseSensitive": true}))
            .is_empty());
        assert_eq!(
            rules(&m.validate(
                "UsernameConfigurationType",
                &json!({"CaseSensitive": "true"})
            )),
            vec![(
                "$.CaseSensitive",
                &Rule::WrongType {
                    expected: "boolean".into(),
                    found: "string".into()
                }
            )]
        );
    }

    #[test]
    fn timestamps_are_epoch_seconds_integer_or_fractional() {
        for ok in [json!(1_700_000_000), json!(1_700_000_000.123), json!(1.7e9)] {
            assert!(model().validate("DateType", &ok).is_empty(), "{ok}");
        }
        for bad in [
            json!("2023-11-14T22:13:20Z"),
            json!("1700000000"),
            json!(null),
        ] {
            let found = model().validate("DateType", &bad);
            assert!(
                matches!(&found[..], [Violation { rule: Rule::WrongType { expected, .. }, .. }]
                    if expected.starts_with("timestamp")),
                "{bad}: {found:#?}"
            );
        }
    }

    #[test]
    fn blobs_are_padded_standard_base64_bounded_by_decoded_length() {
        assert!(model()
            .validate("ImageFileType", &json!("aGVsbG8="))
            .is_empty());
        for bad in ["aGVsbG8", "aGVs bG8=", "aGVsbG8-", "!!!!"] {
            assert_eq!(
                rules(&model().validate("ImageFileType", &json!(bad))),
                vec![("$", &Rule::InvalidBase64)],
                "{bad}"
            );
        }
        assert!(!model().validate("ImageFileType", &json!([1, 2])).is_empty());
        // "hello": 5 bytes decoded, 8 characters encoded.
        let m = synthetic(json!({"Small": {"type": "blob", "min": 5, "max": 5}}));
        assert!(m.validate("Small", &json!("aGVsbG8=")).is_empty());
        assert_eq!(
            rules(&m.validate("Small", &json!("aGk="))),
            vec![("$", &Rule::TooShort { len: 2, min: 5.0 })]
        );
    }

    // ---- shapes the validator cannot follow ----

    #[test]
    fn unknown_shape_is_a_violation() {
        assert_eq!(
            rules(&model().validate("NoSuchShape", &json!({}))),
            vec![(
                "$",
                &Rule::UnknownShape {
                    shape: "NoSuchShape".into()
                }
            )]
        );
        let m = synthetic(json!({"Doc": {"type": "document"}}));
        assert!(matches!(
            &m.validate("Doc", &json!({}))[0].rule,
            Rule::UnsupportedType { .. }
        ));
    }

    fn recursive_model() -> Model {
        synthetic(json!({
            "Node": {"type": "structure", "members": {
                "Next": {"shape": "Node"}, "Secret": {"shape": "Secret"}}},
            "Secret": {"type": "string", "sensitive": true},
        }))
    }

    fn chain(depth: usize) -> Value {
        let mut value = json!({"Secret": "s"});
        for _ in 0..depth {
            value = json!({"Next": value, "Secret": "s"});
        }
        value
    }

    #[test]
    fn recursive_shapes_stop_at_the_depth_limit() {
        let m = recursive_model();
        assert!(m.validate("Node", &chain(10)).is_empty());
        let found = m.validate("Node", &chain(100));
        // Both members of the node past the limit are reported, and nothing below it.
        let deepest = format!("${}", ".Next".repeat(MAX_DEPTH));
        assert_eq!(
            rules(&found),
            vec![
                (
                    format!("{deepest}.Next").as_str(),
                    &Rule::TooDeep { limit: MAX_DEPTH }
                ),
                (
                    format!("{deepest}.Secret").as_str(),
                    &Rule::TooDeep { limit: MAX_DEPTH }
                ),
            ]
        );
    }

    #[test]
    fn redaction_of_recursive_shapes_fails_closed_at_the_depth_limit() {
        let m = recursive_model();
        let mut value = chain(100);
        m.redact_sensitive("Node", &mut value, &mut |_| json!("***"));
        let mut node = &value;
        for _ in 0..=MAX_DEPTH {
            assert_eq!(node["Secret"], "***");
            node = &node["Next"];
        }
        assert_eq!(node, &json!("***"), "the remainder is redacted whole");
    }

    // ---- operations ----

    #[test]
    fn validate_output_of_operations() {
        let m = model();
        assert!(
            m.shape("DescribeUserPoolResponse")
                .unwrap()
                .required
                .is_empty(),
            "the model makes UserPool optional, so {{}} is a valid DescribeUserPool answer"
        );
        assert!(m
            .validate_output("DescribeUserPool", &json!({}))
            .unwrap()
            .is_empty());
        assert_eq!(
            rules(&m.validate_output("GetUser", &json!({})).unwrap()),
            vec![
                (
                    "$.Username",
                    &Rule::MissingRequired {
                        member: "Username".into()
                    }
                ),
                (
                    "$.UserAttributes",
                    &Rule::MissingRequired {
                        member: "UserAttributes".into()
                    }
                ),
            ]
        );
        // AdminDeleteUser has no output shape: only `{}` conforms.
        assert!(m.operation("AdminDeleteUser").unwrap().output.is_none());
        assert!(m
            .validate_output("AdminDeleteUser", &json!({}))
            .unwrap()
            .is_empty());
        assert_eq!(
            rules(
                &m.validate_output("AdminDeleteUser", &json!({"Deleted": true}))
                    .unwrap()
            ),
            vec![(
                "$.Deleted",
                &Rule::UnknownMember {
                    member: "Deleted".into()
                }
            )]
        );
        assert!(!m
            .validate_output("AdminDeleteUser", &json!(null))
            .unwrap()
            .is_empty());
        assert!(matches!(
            m.validate_output("MakeMeASandwich", &json!({})),
            Err(Error::UnknownAction(name)) if name == "MakeMeASandwich"
        ));
        assert!(matches!(
            m.validate_input("MakeMeASandwich", &json!({})),
            Err(Error::UnknownAction(_))
        ));
    }

    #[test]
    fn validate_input_of_operations() {
        let request = json!({
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": "1example23456789",
            "AuthParameters": {"USERNAME": "alice", "PASSWORD": "Passw0rd!"},
        });
        assert!(model()
            .validate_input("InitiateAuth", &request)
            .unwrap()
            .is_empty());
        let found = model()
            .validate_input("InitiateAuth", &json!({"AuthFlow": "USER_PASSWORD"}))
            .unwrap();
        assert_eq!(
            rules(&found),
            vec![
                (
                    "$.ClientId",
                    &Rule::MissingRequired {
                        member: "ClientId".into()
                    }
                ),
                (
                    "$.AuthFlow",
                    &Rule::NotInEnum {
                        value: "USER_PASSWORD".into(),
                        allowed: 8
                    }
                ),
            ]
        );
    }

    #[test]
    fn display_names_the_path_and_the_rule() {
        let found = model().validate("DescribeUserPoolResponse", &pool(json!({"Id": "nope"})));
        assert_eq!(
            found[0].to_string(),
            r"$.UserPool.Id: does not match pattern `[\w-]+_[0-9a-zA-Z]+`"
        );
        let v = Violation {
            path: "$.Users[3].Attributes[0].Name".into(),
            rule: Rule::MissingRequired {
                member: "Name".into(),
            },
        };
        assert_eq!(
            v.to_string(),
            "$.Users[3].Attributes[0].Name: required member `Name` is missing"
        );
    }

    #[test]
    fn path_quotes_names_that_are_not_identifiers() {
        assert_eq!(child_path("$", "Name_1"), "$.Name_1");
        assert_eq!(child_path("$", "custom:tenant"), "$['custom:tenant']");
        assert_eq!(child_path("$", "it's"), r"$['it\'s']");
        assert_eq!(child_path("$", "1st"), "$['1st']");
        assert_eq!(child_path("$", ""), "$['']");
    }

    // ---- sensitivity ----

    #[test]
    fn sensitive_members_of_real_cognito_shapes() {
        let m = model();
        assert!(m.is_sensitive_member("AttributeType", "Value"));
        assert!(!m.is_sensitive_member("AttributeType", "Name"));
        assert!(m.is_sensitive_member("UserPoolClientType", "ClientSecret"));
        assert!(!m.is_sensitive_member("UserPoolClientType", "ClientName"));
        assert!(m.is_sensitive_member("AuthenticationResultType", "AccessToken"));
        assert!(!m.is_sensitive_member("AuthenticationResultType", "TokenType"));
        assert!(m.is_sensitive_member("InitiateAuthRequest", "AuthParameters"));
        assert!(m.is_sensitive_member("ChangePasswordRequest", "ProposedPassword"));
        assert!(m.is_sensitive_member("RespondToAuthChallengeRequest", "Session"));
        assert!(m.is_sensitive_member("ConfirmSignUpRequest", "SecretHash"));
        assert!(!m.is_sensitive_member("AttributeType", "NoSuchMember"));
        assert!(!m.is_sensitive_member("NoSuchShape", "Value"));
    }

    #[test]
    fn a_member_marked_sensitive_on_a_plain_shape_is_sensitive() {
        let m = synthetic(json!({
            "Pair": {"type": "structure", "members": {
                "Hidden": {"shape": "Plain", "sensitive": true},
                "Shown": {"shape": "Plain"}}},
            "Plain": {"type": "string"},
        }));
        assert!(m.is_sensitive_member("Pair", "Hidden"));
        assert!(!m.is_sensitive_member("Pair", "Shown"));
        let mut value = json!({"Hidden": "h", "Shown": "s"});
        m.redact_sensitive("Pair", &mut value, &mut |_| json!("***"));
        assert_eq!(value, json!({"Hidden": "***", "Shown": "s"}));
    }

    fn stars(value: &Value) -> Value {
        json!(format!("<redacted {}>", value.as_str().map_or(0, str::len)))
    }

    #[test]
    fn a_list_users_filter_keeps_its_attribute_and_loses_its_value() {
        let mut body = serde_json::json!({"UserPoolId": "us-east-1_x",
                                          "Filter": "sub = \"1234-abcd\""});
        Model::get().redact_sensitive("ListUsersRequest", &mut body, &mut |_| {
            Value::String("<r>".into())
        });
        assert_eq!(body["Filter"], "sub = \"<r>\"");
        let mut body = serde_json::json!({"Filter": "cognito:user_status = \"UNCONFIRMED\""});
        Model::get().redact_sensitive("ListUsersRequest", &mut body, &mut |_| {
            Value::String("<r>".into())
        });
        assert_eq!(body["Filter"], "cognito:user_status = \"UNCONFIRMED\"");
        let mut seen = Vec::new();
        let out = redact_quoted(r#"email ^= "a\"b" x "open"#, &[], &mut |v| {
            seen.push(v.clone());
            Value::String("R".into())
        });
        assert_eq!(out, r#"email ^= "R" x "R"#);
        assert_eq!(
            seen,
            [
                Value::String(r#"a\"b"#.into()),
                Value::String("open".into())
            ]
        );
        assert_eq!(
            redact_quoted("no quotes", &[], &mut |_| Value::Null),
            "no quotes"
        );
    }

    #[test]
    fn redacts_initiate_auth_request() {
        let mut request = json!({
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": "1example23456789",
            "AuthParameters": {"USERNAME": "alice", "PASSWORD": "Passw0rd!", "SECRET_HASH": "abc="},
            "ClientMetadata": {"tenant": "blue"},
            "UserContextData": {"IpAddress": "192.0.2.1", "EncodedData": "e30="},
            "Unmodeled": "left alone",
        });
        let mut seen = Vec::new();
        model().redact_sensitive("InitiateAuthRequest", &mut request, &mut |v| {
            seen.push(v.clone());
            stars(v)
        });
        assert_eq!(
            request,
            json!({
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": "<redacted 16>",
                "AuthParameters": {
                    "USERNAME": "<redacted 5>",
                    "PASSWORD": "<redacted 9>",
                    "SECRET_HASH": "<redacted 4>"
                },
                "ClientMetadata": {"tenant": "blue"},
                "UserContextData": {"IpAddress": "<redacted 9>", "EncodedData": "<redacted 4>"},
                "Unmodeled": "left alone",
            })
        );
        assert_eq!(seen.len(), 6, "redact sees each secret once: {seen:?}");
    }

    #[test]
    fn redacts_tokens_client_secrets_and_attribute_values() {
        let mut auth = json!({
            "AuthenticationResult": {
                "AccessToken": "eyJ.a.b", "IdToken": "eyJ.c.d", "RefreshToken": "eyJ.e.f",
                "ExpiresIn": 3600, "TokenType": "Bearer"
            },
            "ChallengeParameters": {}
        });
        model().redact_sensitive("InitiateAuthResponse", &mut auth, &mut |_| json!("***"));
        assert_eq!(
            auth["AuthenticationResult"],
            json!({"AccessToken": "***", "IdToken": "***", "RefreshToken": "***",
                   "ExpiresIn": 3600, "TokenType": "Bearer"})
        );

        let mut client = json!({"UserPoolClient": {
            "ClientName": "web", "ClientSecret": "s3cr3t", "UserPoolId": "us-east-1_AbC123"
        }});
        model().redact_sensitive("DescribeUserPoolClientResponse", &mut client, &mut |_| {
            json!("***")
        });
        assert_eq!(client["UserPoolClient"]["ClientSecret"], "***");
        assert_eq!(client["UserPoolClient"]["ClientName"], "web");
        assert_eq!(client["UserPoolClient"]["UserPoolId"], "us-east-1_AbC123");

        let mut users = json!({"Users": [{"Attributes": [
            {"Name": "email", "Value": "alice@example.com"},
            {"Name": "email_verified"}
        ]}]});
        model().redact_sensitive("ListUsersResponse", &mut users, &mut |_| json!("***"));
        assert_eq!(
            users["Users"][0]["Attributes"],
            json!([{"Name": "email", "Value": "***"}, {"Name": "email_verified"}])
        );
    }

    #[test]
    fn the_walk_enters_every_shape_that_reaches_a_secret_and_skips_the_rest() {
        // The secret sits below a list, a map's value and a structure: each container on the
        // way must be entered, and a sibling subtree without secrets is skipped unchanged.
        let m = synthetic(json!({
            "Top": {"type": "structure", "members": {
                "Items": {"shape": "Items"}, "Plain": {"shape": "PlainStruct"}}},
            "Items": {"type": "list", "member": "ByName"},
            "ByName": {"type": "map", "key": "Text", "value": "Holder"},
            "Holder": {"type": "structure", "members": {"Key": {"shape": "Secret"}}},
            "PlainStruct": {"type": "structure", "members": {"Note": {"shape": "Text"}}},
            "Text": {"type": "string"},
            "Secret": {"type": "string", "sensitive": true},
        }));
        let bearing = m.secret_bearing();
        for shape in ["Top", "Items", "ByName", "Holder", "Secret"] {
            assert!(bearing.contains(shape), "{shape} leads to a secret");
        }
        for shape in ["PlainStruct", "Text"] {
            assert!(!bearing.contains(shape), "{shape} holds no secret");
        }
        let mut value = json!({
            "Items": [{"a": {"Key": "k1"}}, {"b": {"Key": "k2"}}],
            "Plain": {"Note": "n"},
        });
        m.redact_sensitive("Top", &mut value, &mut |_| json!("***"));
        assert_eq!(
            value,
            json!({"Items": [{"a": {"Key": "***"}}, {"b": {"Key": "***"}}], "Plain": {"Note": "n"}})
        );
        // The embedded model with fixtures/secrets.toml applied: an answer with tokens is
        // entered, a pool's description holds nothing the model calls secret.
        let real = model();
        assert!(real.secret_bearing().contains("InitiateAuthResponse"));
        assert!(
            real.secret_bearing().contains("ListUsersRequest"),
            "Filter quotes values"
        );
        assert!(real
            .secret_bearing()
            .contains("RespondToAuthChallengeResponse"));
    }

    #[test]
    fn redaction_of_an_unknown_shape_changes_nothing() {
        let mut value = json!({"Password": "p"});
        model().redact_sensitive("NoSuchShape", &mut value, &mut |_| json!("***"));
        assert_eq!(value, json!({"Password": "p"}));
    }
}
