//! Cognito's quota categories: which category each operation counts toward, each category's
//! default request rate, per-user-pool rates and separate allowances, as `fixtures/quotas.json`
//! records them from the quotas page. The one reading of that file: the compatibility report
//! groups operations by category with it, and the proxy's quota emulation fills its buckets
//! from it.
//!
//! Source: <https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html#category_operations>.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;

/// `fixtures/quotas.json`, compiled in so that reports and the proxy need no checkout.
pub const QUOTAS: &str = include_str!("../../../fixtures/quotas.json");

#[derive(Deserialize)]
struct QuotasFile {
    source: String,
    categories: BTreeMap<String, CategoryFile>,
}

#[derive(Deserialize)]
struct CategoryFile {
    rate_per_second: Option<f64>,
    #[serde(default)]
    per_user_pool_rate_per_second: Option<f64>,
    #[serde(default)]
    allowance: Option<AllowanceFile>,
    operations: Vec<String>,
}

/// A category's `allowance`: a separate quota for some of its operations.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowanceFile {
    operations: Vec<String>,
    multiplier: f64,
    #[serde(default)]
    #[allow(dead_code)] // documentation in the file; read so `deny_unknown_fields` allows it
    note: Option<String>,
}

/// A separate quota for some operations of a category, at a multiple of its rate; what it
/// cannot cover counts toward the category.
#[derive(Debug, Clone)]
pub struct Allowance {
    /// The operations it covers.
    pub operations: BTreeSet<String>,
    /// Its rate as a multiple of the category's.
    pub multiplier: f64,
}

/// The categories of `fixtures/quotas.json`.
#[derive(Debug)]
pub struct Catalog {
    /// The quotas page they come from.
    pub source: String,
    /// Operation → category.
    pub category_of: HashMap<String, String>,
    /// Category → default rate (none for `Uncategorized`).
    pub rates: BTreeMap<String, Option<f64>>,
    /// Category → per user pool and operation rate, where there is one.
    pub per_pool: BTreeMap<String, f64>,
    /// Category → its separate allowance, where there is one.
    pub allowances: BTreeMap<String, Allowance>,
}

/// The compiled-in catalog, parsed once.
pub fn catalog() -> Result<&'static Catalog, String> {
    static CATALOG: OnceLock<Result<Catalog, String>> = OnceLock::new();
    CATALOG
        .get_or_init(|| parse(QUOTAS))
        .as_ref()
        .map_err(Clone::clone)
}

/// Parses a quotas file. Errors name the file and the field: an allowance without a category
/// rate to multiply, a multiplier that is not above 0, or an allowance operation of another
/// category (which would be charged to two categories' buckets).
pub fn parse(text: &str) -> Result<Catalog, String> {
    let file: QuotasFile = serde_json::from_str(text)
        .map_err(|e| format!("fixtures/quotas.json (compiled in): {e}"))?;
    let mut category_of = HashMap::new();
    let mut rates = BTreeMap::new();
    let mut per_pool = BTreeMap::new();
    let mut allowances = BTreeMap::new();
    for (name, c) in file.categories {
        if let Some(a) = c.allowance {
            let field = format!("fixtures/quotas.json: categories.{name}.allowance");
            if c.rate_per_second.is_none() {
                return Err(format!("{field}: the category has no rate to multiply"));
            }
            if !(a.multiplier.is_finite() && a.multiplier > 0.0) {
                return Err(format!(
                    "{field}.multiplier: {} must be above 0",
                    a.multiplier
                ));
            }
            if let Some(op) = a.operations.iter().find(|op| !c.operations.contains(op)) {
                return Err(format!(
                    "{field}.operations: {op} is not an operation of {name}"
                ));
            }
            allowances.insert(
                name.clone(),
                Allowance {
                    operations: a.operations.into_iter().collect(),
                    multiplier: a.multiplier,
                },
            );
        }
        for op in c.operations {
            category_of.insert(op, name.clone());
        }
        if let Some(p) = c.per_user_pool_rate_per_second {
            per_pool.insert(name.clone(), p);
        }
        rates.insert(name, c.rate_per_second);
    }
    Ok(Catalog {
        source: file.source,
        category_of,
        rates,
        per_pool,
        allowances,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_file_parses() {
        let c = catalog().unwrap();
        assert!(
            c.source.starts_with("https://docs.aws.amazon.com/"),
            "{}",
            c.source
        );
        assert_eq!(
            c.category_of.get("InitiateAuth").map(String::as_str),
            Some("UserAuthentication")
        );
        assert!(c
            .rates
            .get("UserAuthentication")
            .is_some_and(Option::is_some));
        assert!(c.allowances.contains_key("UserAuthentication"));
    }

    #[test]
    fn a_bad_allowance_is_refused() {
        let file = |allowance: serde_json::Value| {
            serde_json::json!({
                "source": "s",
                "categories": {
                    "A": {"rate_per_second": 1, "operations": ["X"], "allowance": allowance},
                    "B": {"rate_per_second": null, "operations": ["Z"],
                          "allowance": {"operations": ["Z"], "multiplier": 2}},
                }
            })
            .to_string()
        };
        let e = parse(&file(
            serde_json::json!({"operations": ["X"], "multiplier": 3}),
        ))
        .err()
        .unwrap();
        assert!(
            e.contains("categories.B.allowance: the category has no rate"),
            "{e}"
        );
        let ok = r#"{"source": "s", "categories": {"A": {"rate_per_second": 1,
            "operations": ["X"], "allowance": {"operations": ["X"], "multiplier": 3}}}}"#;
        assert_eq!(parse(ok).unwrap().allowances["A"].multiplier, 3.0);
        for (bad, says) in [
            (
                serde_json::json!({"operations": ["Y"], "multiplier": 3}),
                "Y is not an operation of A",
            ),
            (
                serde_json::json!({"operations": ["X"], "multiplier": 0}),
                "multiplier: 0 must be above 0",
            ),
            (
                serde_json::json!({"operations": ["X"], "times": 3}),
                "unknown field",
            ),
        ] {
            let e = parse(&file(bad)).err().unwrap();
            assert!(e.contains(says), "{e}");
        }
    }
}
