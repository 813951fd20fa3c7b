//! The Cognito service model: operations, shapes, errors and sensitive members, derived from
//! botocore's `cognito-idp` `service-2.json` by `fixtures/model/regenerate.py`.
//!
//! The model is embedded in the binary (it is facts only, about 230 KB) so that the suite and
//! the proxy always agree on it and never depend on the working directory.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

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
            Model::from_json(EMBEDDED).expect("embedded fixtures/model/cognito-idp.json is valid")
        })
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
