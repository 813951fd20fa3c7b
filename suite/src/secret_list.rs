//! What is secret in this API beyond the service model's `sensitive` trait: one reviewed
//! list, fixtures/secrets.toml, compiled in and read here ([`list`]). [`crate::model::Model::get`]
//! applies it to the model, so every walk of the model redacts the same members; the proxy
//! asks [`SecretList::header_is_secret`] and [`SecretList::name_is_secret`] for headers and
//! for bodies there is no model for. A leaf: the model imports it, it imports nothing of ours.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

const EMBEDDED: &str = include_str!("../../fixtures/secrets.toml");

/// fixtures/secrets.toml: what is secret in this API beyond the model's `sensitive` trait.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretList {
    /// Shapes whose every value is secret, with why.
    #[serde(default)]
    pub shapes: BTreeMap<String, String>,
    /// `Shape.Member` names whose values are secret, with why.
    #[serde(default)]
    pub members: BTreeMap<String, String>,
    /// Map shapes whose values are secret except under some keys.
    #[serde(default)]
    pub maps: BTreeMap<String, SecretMap>,
    /// `Shape.Member` strings whose double-quoted parts are secrets.
    #[serde(default)]
    pub quoted: BTreeMap<String, QuotedSecrets>,
    /// Secret headers.
    pub headers: NameRule,
    /// Secret member and form field names, where there is no model.
    pub names: NameRule,
}

/// A string member of the form `attribute = "value"` whose quoted values are secret.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotedSecrets {
    /// Why the values are secret.
    pub why: String,
    /// Attributes whose quoted values are not secret.
    #[serde(default)]
    pub public: Vec<String>,
}

/// A map whose values are secret except under [`SecretMap::public`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretMap {
    /// Keys whose values are not secret.
    pub public: Vec<String>,
}

/// Names that are secret: exactly these, or containing one of the words (lowercase).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameRule {
    /// Whole names.
    pub exact: Vec<String>,
    /// Parts of names.
    pub words: Vec<String>,
}

impl NameRule {
    fn matches(&self, name: &str) -> bool {
        let n = name.to_ascii_lowercase();
        self.exact.contains(&n) || self.words.iter().any(|w| n.contains(w.as_str()))
    }
}

impl SecretList {
    /// True for a header (any case) whose value is a secret.
    pub fn header_is_secret(&self, name: &str) -> bool {
        self.headers.matches(name)
    }

    /// True for a member or form field name that holds a secret where no model says so.
    pub fn name_is_secret(&self, name: &str) -> bool {
        self.names.matches(name)
    }
}

/// The embedded list, parsed once.
pub fn list() -> &'static SecretList {
    static LIST: OnceLock<SecretList> = OnceLock::new();
    // Embedded and parsed by this crate's tests: a parse failure is a build defect.
    LIST.get_or_init(|| toml::from_str(EMBEDDED).expect("embedded fixtures/secrets.toml is valid"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;

    #[test]
    fn the_list_parses_and_names_only_what_the_model_has() {
        let mut model = Model::from_json(include_str!("../../fixtures/model/cognito-idp.json"))
            .expect("the model parses");
        model.apply_secrets(list()).expect("every entry applies");
        let l = list();
        assert!(l.header_is_secret("Authorization"));
        assert!(l.header_is_secret("x-moto-forgot-password-confirmation-code"));
        assert!(l.header_is_secret("x-emulator-otp-code"));
        assert!(!l.header_is_secret("content-type"));
        assert!(!l.header_is_secret("content-encoding"));
        assert!(!l.header_is_secret("x-amz-target"));
        assert!(l.name_is_secret("client_secret"));
        assert!(l.name_is_secret("code"));
        assert!(!l.name_is_secret("grant_type"));
    }
}
