//! Equivalent mutants: alterations no SDK could notice, so no scenario should be asked to.
//!
//! They are data (`fixtures/mutation-equivalent.json`), each with its reason, so that what the
//! score leaves out is written down and reviewed like an expectation, never dropped silently:
//!
//! ```json
//! {
//!   "schema": "cogcheck-mutation-equivalent/1",
//!   "equivalent": [
//!     { "operator": "change_status", "detail": "200 -> 201",
//!       "reason": "every SDK treats any 2xx as success" }
//!   ]
//! }
//! ```
//!
//! An entry matches a mutant by its `operator` (a name, or `*`) and every other field it gives:
//! `action`, `path`, `detail` (all exact) and `in_model`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Mutant, Operator};

/// The schema name of the file.
pub const SCHEMA: &str = "cogcheck-mutation-equivalent/1";

/// One kind of equivalent mutant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// An operator's name, or `*` for any.
    pub operator: String,
    /// Only this action's answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Only this JSON path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Only mutants whose detail is exactly this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Only mutants of members the model does (`true`) or does not (`false`) define.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_model: Option<bool>,
    /// Why no SDK could notice.
    pub reason: String,
}

impl Entry {
    /// True when this entry covers `mutant` of an answer of `action`.
    pub fn matches(&self, action: &str, mutant: &Mutant) -> bool {
        (self.operator == "*" || self.operator == mutant.operator.name())
            && self.action.as_deref().is_none_or(|a| a == action)
            && self.path.as_deref().is_none_or(|p| p == mutant.path)
            && self.detail.as_deref().is_none_or(|d| d == mutant.detail)
            && self.in_model.is_none_or(|m| m == mutant.in_model)
    }
}

/// The file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Equivalents {
    /// [`SCHEMA`].
    pub schema: String,
    /// The entries, first match wins.
    pub equivalent: Vec<Entry>,
}

impl Equivalents {
    /// `fixtures/mutation-equivalent.json` of this checkout.
    pub fn default_path() -> PathBuf {
        crate::fixtures::path("mutation-equivalent.json")
    }

    /// Reads and checks a file: the schema, a known operator and a reason in every entry.
    pub fn load(path: &Path) -> Result<Equivalents, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Equivalents::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses and checks the text of a file.
    pub fn parse(text: &str) -> Result<Equivalents, String> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let file: Equivalents = serde_path_to_error::deserialize(de)
            .map_err(|e| format!("{}: {}", e.path(), e.inner()))?;
        if file.schema != SCHEMA {
            return Err(format!("schema {:?}, expected {SCHEMA:?}", file.schema));
        }
        for (i, e) in file.equivalent.iter().enumerate() {
            if e.operator != "*" && Operator::parse(&e.operator).is_none() {
                return Err(format!(
                    "equivalent[{i}].operator: unknown operator {:?}; one of {}",
                    e.operator,
                    Operator::ALL.map(Operator::name).join(", ")
                ));
            }
            if e.reason.trim().is_empty() {
                return Err(format!(
                    "equivalent[{i}].reason: say why no SDK could notice this mutant"
                ));
            }
        }
        Ok(file)
    }

    /// The reason `mutant` is equivalent, if an entry covers it.
    pub fn reason(&self, action: &str, mutant: &Mutant) -> Option<&str> {
        self.equivalent
            .iter()
            .find(|e| e.matches(action, mutant))
            .map(|e| e.reason.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mutant(operator: Operator, detail: &str, in_model: bool) -> Mutant {
        Mutant {
            operator,
            index: 0,
            path: "$.X".into(),
            detail: detail.into(),
            in_model,
        }
    }

    #[test]
    fn entries_match_on_every_field_they_give() {
        let f = Equivalents::parse(
            r#"{"schema": "cogcheck-mutation-equivalent/1", "equivalent": [
                {"operator": "change_status", "detail": "200 -> 201", "reason": "2xx"},
                {"operator": "*", "in_model": false, "reason": "unmodelled"},
                {"operator": "drop_member", "action": "GetUser", "path": "$.X", "reason": "r"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(
            f.reason("A", &mutant(Operator::ChangeStatus, "200 -> 201", true)),
            Some("2xx")
        );
        assert_eq!(
            f.reason("A", &mutant(Operator::ChangeStatus, "200 -> 500", true)),
            None
        );
        assert_eq!(
            f.reason("A", &mutant(Operator::ChangeType, "x", false)),
            Some("unmodelled")
        );
        assert_eq!(
            f.reason("GetUser", &mutant(Operator::DropMember, "d", true)),
            Some("r")
        );
        assert_eq!(
            f.reason("AdminGetUser", &mutant(Operator::DropMember, "d", true)),
            None
        );
    }

    #[test]
    fn entries_need_a_known_operator_and_a_reason() {
        let bad_op = r#"{"schema": "cogcheck-mutation-equivalent/1", "equivalent": [{"operator": "drop", "reason": "r"}]}"#;
        assert!(Equivalents::parse(bad_op)
            .unwrap_err()
            .contains("unknown operator"));
        let no_reason = r#"{"schema": "cogcheck-mutation-equivalent/1", "equivalent": [{"operator": "*", "reason": " "}]}"#;
        assert!(Equivalents::parse(no_reason)
            .unwrap_err()
            .contains("reason"));
        let unknown_field = r#"{"schema": "cogcheck-mutation-equivalent/1", "equivalent": [{"operator": "*", "reason": "r", "why": 1}]}"#;
        assert!(Equivalents::parse(unknown_field)
            .unwrap_err()
            .contains("equivalent[0]"));
    }

    #[test]
    fn the_committed_file_loads() {
        let f = Equivalents::load(&Equivalents::default_path()).unwrap();
        assert!(!f.equivalent.is_empty());
    }
}
