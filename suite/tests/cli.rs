//! The `cogcheck` command line, run as a user runs it.

use std::process::Command;

/// A filtered run is a partial picture: it must not replace the published results that
/// `cogcheck report --from reports/results/*.json` reads as the target's whole result.
#[test]
fn a_filtered_run_leaves_the_published_results_alone() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let published = repo.join("reports/results/moto.json");
    let before = std::fs::read(&published).ok();
    let filtered = repo.join("target/cogcheck/moto.filtered.json");
    let _ = std::fs::remove_file(&filtered);

    let out = Command::new(env!("CARGO_BIN_EXE_cogcheck"))
        .args([
            "run",
            "--target",
            "moto",
            "--filter",
            "user-pools::list-user-pools-shape",
            "--no-progress",
        ])
        .output()
        .expect("cogcheck runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&published).ok(),
        before,
        "published results changed"
    );
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&filtered).expect("the filtered results exist"))
            .unwrap();
    assert_eq!(
        written["scenarios"].as_array().map(Vec::len),
        Some(1),
        "{written}"
    );
    assert!(stdout.contains("moto.filtered.json"), "{stdout}");
}
