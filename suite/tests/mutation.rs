//! `cogcheck mutation` against moto, as a user runs it, on two scenarios written for this test
//! (`tests/mutation_scenarios/`): one asserts nothing of CreateGroup's answer, the other
//! asserts the group by equality. The same mutants must survive the first and die in the
//! second, and the report must say so in its documented structure.

use std::process::Command;

use serde_json::Value;

#[test]
fn a_weak_scenario_lets_mutants_survive_and_a_strong_one_kills_them() {
    let suite = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().expect("a temporary directory");
    let run = Command::new(env!("CARGO_BIN_EXE_cogcheck"))
        .env("COGCHECK_SCENARIOS", suite.join("tests/mutation_scenarios"))
        .args(["mutation", "--target", "moto", "--filter", "create-group"])
        .args(["--operators", "drop_member,empty_body,change_status"])
        .args(["--max-mutants-per-step", "0", "--max-mutants", "0"])
        .arg("--out-dir")
        .arg(out.path())
        .output()
        .expect("cogcheck runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("mutation score"), "{stdout}");

    let report: Value = serde_json::from_slice(
        &std::fs::read(out.path().join("moto.json")).expect("the JSON report exists"),
    )
    .expect("the report is JSON");
    let md = std::fs::read_to_string(out.path().join("moto.md")).expect("the Markdown exists");
    assert_eq!(report["schema"], "cogcheck-mutation/1");
    assert_eq!(report["target"]["name"], "moto");
    let campaign = &report["campaign"];
    assert_eq!(campaign["scenarios"], 2);
    assert_eq!(
        campaign["mutated_scenarios"],
        serde_json::json!([
            "mutation-check::strong-create-group",
            "mutation-check::weak-create-group"
        ])
    );
    let records = campaign["records"].as_array().expect("records");
    // Only the covered step (CreateGroup, step 1) is mutated, never the setup.
    assert!(records
        .iter()
        .all(|r| r["step"] == 1 && r["action"] == "CreateGroup"));
    let status = |scenario: &str, operator: &str, path: &str| -> Vec<String> {
        records
            .iter()
            .filter(|r| {
                r["scenario"] == format!("mutation-check::{scenario}")
                    && r["operator"] == operator
                    && r["path"] == path
            })
            .map(|r| r["status"].as_str().unwrap_or("?").to_string())
            .collect()
    };
    for (operator, path) in [
        ("drop_member", "$.Group"),
        ("drop_member", "$.Group.GroupName"),
        ("empty_body", "$"),
    ] {
        assert_eq!(
            status("weak-create-group", operator, path),
            ["survived"],
            "{operator} {path}"
        );
        assert_eq!(
            status("strong-create-group", operator, path),
            ["killed"],
            "{operator} {path}"
        );
    }
    // A 500 instead of a 200 is noticed even by the weak scenario (the outcome check).
    assert_eq!(
        status("weak-create-group", "change_status", "$")
            .iter()
            .filter(|s| *s == "killed")
            .count(),
        1
    );
    // 200 -> 201 is equivalent: listed with its reason, not run, not scored.
    let equivalent: Vec<&Value> = records
        .iter()
        .filter(|r| r["status"] == "equivalent" && r["detail"] == "200 -> 201")
        .collect();
    assert_eq!(equivalent.len(), 2, "one per scenario");
    assert!(equivalent[0]["note"].as_str().unwrap().contains("2xx"));

    // Scores: per operator (every operator asked for, in order) and per action.
    let total = &report["total"];
    let killed = total["killed"].as_u64().unwrap();
    let survived = total["survived"].as_u64().unwrap();
    assert!(killed > 0 && survived > 0, "{total}");
    let score = total["score"].as_f64().unwrap();
    let expected = (1000.0 * killed as f64 / (killed + survived) as f64).round() / 10.0;
    assert_eq!(score, expected);
    let ops: Vec<&str> = report["by_operator"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["drop_member", "empty_body", "change_status"]);
    assert_eq!(report["by_action"][0]["name"], "CreateGroup");
    assert_eq!(
        total["equivalent"].as_u64().unwrap() as usize,
        records
            .iter()
            .filter(|r| r["status"] == "equivalent")
            .count()
    );
    assert_eq!(
        campaign["sampled"].as_u64().unwrap(),
        killed + survived + total["not_applied"].as_u64().unwrap()
    );

    // The Markdown lists every survivor with its path, and the sample size.
    assert!(md.contains("## Surviving mutants"), "{md}");
    assert!(
        md.contains(
            "| mutation-check::weak-create-group | 1 | CreateGroup | drop_member | `$.Group` |"
        ),
        "{md}"
    );
    assert!(!md.contains(
        "| mutation-check::strong-create-group | 1 | CreateGroup | drop_member | `$.Group` |"
    ));
    assert!(md.contains("possible mutants"), "{md}");
}
