//! Where a step's expectations come from: one source for the whole step (`evidence`), and per
//! JSON path (`evidence_at`) when one answer is checked against several sources.
//!
//! Terraform's acceptance tests read a resource once and check twenty attributes, each with its
//! own assertion line; a scenario that mirrors them reads once too and names, for each member
//! it asserts, the line that proves it. Without per-path evidence it would need one read per
//! assertion, and every read would assert one member and let any other vanish unnoticed.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::finding::Evidence;

/// The evidence of one step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepEvidence {
    /// For the whole step, when not the scenario's `source`.
    pub step: Option<Evidence>,
    /// For the assertions at or under a JSON path of the answer (`$.UserPoolClient.ClientName`).
    pub at: BTreeMap<String, Evidence>,
}

impl StepEvidence {
    /// The evidence for a finding at `path`: that of the longest `evidence_at` path that is
    /// `path` or contains it; else, for a finding about a member above the asserted ones (a
    /// parent that is missing), that of the first asserted member under it, which proves the
    /// parent is answered as much as it proves the member; else the step's.
    pub fn for_path(&self, path: &str) -> Option<&Evidence> {
        self.at
            .iter()
            .filter(|(key, _)| contains(key, path))
            .max_by_key(|(key, _)| key.len())
            .or_else(|| self.at.iter().find(|(key, _)| contains(path, key)))
            .map(|(_, e)| e)
            .or(self.step.as_ref())
    }

    /// Every problem with an `evidence_at` entry, as (key, reason): an evidence that quotes
    /// nothing, or a path the step's expected body (`body_spec`) does not assert, which would
    /// be evidence for nothing.
    pub fn problems(&self, body_spec: Option<&Value>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (key, evidence) in &self.at {
            if let Some(problem) = evidence.problem() {
                out.push((key.clone(), problem));
            } else if !body_spec.is_some_and(|body| asserts(body, key)) {
                out.push((
                    key.clone(),
                    format!(
                        "{key} is not a member the step's expected body asserts \
                         (write it as `$.Member.Member`)"
                    ),
                ));
            }
        }
        out
    }
}

/// True when `key` is `path` or a member above it (`$.A` contains `$.A.B` and `$.A[0]`, not
/// `$.AB`).
fn contains(key: &str, path: &str) -> bool {
    path.strip_prefix(key)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// True when the expected body names the member at `key` (`$.A.B`: `{"A": {"B": …}}`).
fn asserts(body: &Value, key: &str) -> bool {
    let Some(rest) = key.strip_prefix('$') else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(rest) = rest.strip_prefix('.') else {
        return false;
    };
    let mut at = body;
    for member in rest.split('.') {
        match at.get(member) {
            Some(next) => at = next,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn test(quote: &str) -> Evidence {
        Evidence::AwsTest {
            url: "https://github.com/o/r/blob/main/t.go".into(),
            test: "TestAcc".into(),
            quote: quote.into(),
        }
    }

    #[test]
    fn the_longest_path_containing_the_finding_names_its_evidence() {
        let evidence = StepEvidence {
            step: Some(Evidence::Model),
            at: [
                ("$.Client".to_string(), test("client")),
                ("$.Client.Name".to_string(), test("name")),
            ]
            .into(),
        };
        assert_eq!(evidence.for_path("$.Client.Name"), Some(&test("name")));
        assert_eq!(evidence.for_path("$.Client.Name[0]"), Some(&test("name")));
        assert_eq!(evidence.for_path("$.Client.Id"), Some(&test("client")));
        // A member whose name only starts like a key is not under it.
        assert_eq!(evidence.for_path("$.ClientId"), Some(&Evidence::Model));
        assert_eq!(evidence.for_path("-"), Some(&Evidence::Model));
        // A missing parent: the first member asserted under it.
        let leaves = StepEvidence {
            step: None,
            at: [
                ("$.Pool.Policies.B".to_string(), test("b")),
                ("$.Pool.Policies.A".to_string(), test("a")),
            ]
            .into(),
        };
        assert_eq!(leaves.for_path("$.Pool.Policies"), Some(&test("a")));
        assert_eq!(leaves.for_path("$.Pool.Name"), None);
    }

    #[test]
    fn evidence_for_a_member_the_body_does_not_assert_is_refused() {
        let body = json!({"Client": {"Name": "x"}});
        let evidence = |key: &str, quote: &str| StepEvidence {
            step: None,
            at: [(key.to_string(), test(quote))].into(),
        };
        assert!(evidence("$.Client.Name", "q")
            .problems(Some(&body))
            .is_empty());
        let p = evidence("$.Client.Id", "q").problems(Some(&body));
        assert!(p[0].1.contains("is not a member"), "{p:?}");
        let p = evidence("Client.Name", "q").problems(Some(&body));
        assert_eq!(p.len(), 1, "{p:?}");
        let p = evidence("$.Client.Name", "q").problems(None);
        assert_eq!(p.len(), 1, "{p:?}");
        let p = evidence("$.Client.Name", " ").problems(Some(&body));
        assert!(p[0].1.contains("nothing is quoted"), "{p:?}");
    }
}
