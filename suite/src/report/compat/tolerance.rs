//! Which shape and protocol deviations the SDKs notice: `fixtures/sdk-tolerance.json`, when it
//! exists, measured by feeding each deviation to boto3 and the JavaScript SDK.
//!
//! ```text
//! {
//!   "schema": "cogcheck-sdk-tolerance/1",
//!   "checks": {
//!     "protocol/request-id": { "deviation": "no x-amzn-RequestId header",
//!                              "boto3": "same", "js_sdk": "same", "detail": "..." },
//!     "shape/enum-value":    { "deviation": "...", "boto3": "same", "js_sdk": "raised", ... }
//!   }
//! }
//! ```
//!
//! The key is `<axis>/<check>` of a finding (see [`crate::finding::Finding::check`]). `same`
//! means the SDK gave the caller what it gives for Cognito's answer, `different` something else,
//! `raised` an exception. A deviation kind without an entry, or every kind when the file is
//! absent, is *not measured*: the report says so rather than guess.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::finding::Axis;

/// The schema name and version of the file.
pub const SCHEMA: &str = "cogcheck-sdk-tolerance/1";

/// Where the file lives, relative to the repository.
pub const DEFAULT_PATH: &str = "fixtures/sdk-tolerance.json";

/// What one SDK did with a deviating answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SdkReaction {
    /// The caller got what Cognito's answer gives.
    Same,
    /// The caller got something else.
    Different,
    /// The SDK raised an exception.
    Raised,
}

impl SdkReaction {
    /// `same`, `different`, `raised`.
    pub fn name(self) -> &'static str {
        match self {
            SdkReaction::Same => "same",
            SdkReaction::Different => "different",
            SdkReaction::Raised => "raised",
        }
    }
}

/// One measured deviation kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ToleranceEntry {
    /// The deviation fed to the SDKs, in words.
    #[serde(default)]
    pub deviation: String,
    /// What boto3 did.
    pub boto3: SdkReaction,
    /// What the JavaScript SDK (v3) did.
    pub js_sdk: SdkReaction,
    /// Anything worth knowing about the measurement.
    #[serde(default)]
    pub detail: String,
}

/// The file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SdkTolerance {
    /// [`SCHEMA`].
    pub schema: String,
    /// By `<axis>/<check>`.
    pub checks: BTreeMap<String, ToleranceEntry>,
}

/// What the report says about one deviation kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkNotice {
    /// No measurement for this kind (or no tolerance file at all).
    NotMeasured,
    /// Both SDKs give the caller the same as for Cognito's answer.
    NoSdkNotices {
        /// The measurement's detail.
        detail: String,
    },
    /// At least one SDK gives something else or raises.
    Noticed {
        /// What boto3 does.
        boto3: SdkReaction,
        /// What the JavaScript SDK does.
        js_sdk: SdkReaction,
        /// The measurement's detail.
        detail: String,
    },
}

impl SdkNotice {
    /// `not_measured`, `no_sdk_notices`, `noticed`: the stable name in the JSON report.
    pub fn name(&self) -> &'static str {
        match self {
            SdkNotice::NotMeasured => "not_measured",
            SdkNotice::NoSdkNotices { .. } => "no_sdk_notices",
            SdkNotice::Noticed { .. } => "noticed",
        }
    }

    /// `no SDK notices`, `boto3: same, JS SDK: raised`, `not measured`.
    pub fn label(&self) -> String {
        match self {
            SdkNotice::NotMeasured => "not measured".into(),
            SdkNotice::NoSdkNotices { .. } => "no SDK notices".into(),
            SdkNotice::Noticed { boto3, js_sdk, .. } => {
                format!("boto3: {}, JS SDK: {}", boto3.name(), js_sdk.name())
            }
        }
    }

    /// The measurement's detail, empty when not measured.
    pub fn detail(&self) -> &str {
        match self {
            SdkNotice::NotMeasured => "",
            SdkNotice::NoSdkNotices { detail } | SdkNotice::Noticed { detail, .. } => detail,
        }
    }
}

impl SdkTolerance {
    /// Reads the file at `path`: `Ok(None)` when it does not exist, an error when it exists but
    /// is not a tolerance file of this schema.
    pub fn load(path: &Path) -> Result<Option<SdkTolerance>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let file: SdkTolerance = serde_json::from_str(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: format!("not an SDK tolerance file: {e}"),
        })?;
        if file.schema != SCHEMA {
            return Err(Error::Config {
                path: path.to_path_buf(),
                message: format!("schema {:?}, this cogcheck reads {SCHEMA:?}", file.schema),
            });
        }
        Ok(Some(file))
    }

    /// Reads [`DEFAULT_PATH`] of this checkout.
    pub fn load_default() -> Result<Option<SdkTolerance>> {
        SdkTolerance::load(&crate::fixtures::path("sdk-tolerance.json"))
    }

    /// What the SDKs do with a deviation of `check` on `axis`.
    pub fn notice(&self, axis: Axis, check: &str) -> SdkNotice {
        let Some(e) = self.checks.get(&format!("{}/{check}", axis.name())) else {
            return SdkNotice::NotMeasured;
        };
        match (e.boto3, e.js_sdk) {
            (SdkReaction::Same, SdkReaction::Same) => SdkNotice::NoSdkNotices {
                detail: e.detail.clone(),
            },
            (boto3, js_sdk) => SdkNotice::Noticed {
                boto3,
                js_sdk,
                detail: e.detail.clone(),
            },
        }
    }
}
