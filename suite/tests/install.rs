//! An installed `cogcheck` (and `cogcheck-proxy`) works away from any checkout: the fixtures compiled into it are
//! used (or a checkout's with `--fixtures DIR`), and what it writes goes under the current
//! directory.
//!
//! `builtin_fixtures_run_from_the_root_directory` runs on every `cargo test`: the binary of
//! this build, started in `/`, told to use its compiled-in fixtures. The full check,
//! `cargo_install_then_run_from_the_root_directory`, installs from a copy of this workspace
//! with `cargo install`, deletes the copy and runs the installed binary from `/`; it builds
//! every dependency again in its own target folder (several minutes), so it is opt-in:
//! `cargo test -p cogcheck --test install -- --ignored`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every scenario of the checkout, as `cogcheck scenarios` counts them.
fn scenario_count() -> usize {
    cogcheck::scenario::load_dir(&repo().join("fixtures/scenarios"))
        .expect("the checkout's scenarios load")
        .len()
}

/// Runs `bin` from `/` with `args`, writing nothing into the checkout.
fn from_root(bin: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin)
        .current_dir("/")
        .args(args)
        .output()
        .expect("cogcheck runs")
}

/// Lists, then runs one scenario against moto, from `/`, with the compiled-in fixtures; the
/// results go where `--results` says; a bad `--fixtures` is refused naming the folder.
fn check_binary(bin: &Path, fixtures: &[&str], out_dir: &Path) {
    let mut args = fixtures.to_vec();
    args.push("scenarios");
    let listed = from_root(bin, &args);
    assert!(listed.status.success(), "{}", text(&listed));
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(
        stdout.contains(&format!("{} scenarios,", scenario_count())),
        "{stdout}"
    );

    let results = out_dir.join("moto.json");
    let results_arg = results.display().to_string();
    let mut args = fixtures.to_vec();
    args.extend([
        "run",
        "--target",
        "moto",
        "--filter",
        "user-pools::list-user-pools-shape",
        "--no-progress",
        "--results",
        &results_arg,
    ]);
    let ran = from_root(bin, &args);
    assert!(ran.status.success(), "{}", text(&ran));
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&results).expect("results written")).unwrap();
    assert_eq!(written["scenarios"].as_array().map(Vec::len), Some(1));
    // Scenario files are named as in a checkout, whichever copy was read.
    let file = written["scenarios"][0]["file"].as_str().unwrap_or_default();
    assert!(
        file.ends_with("scenarios/user-pools/list-user-pools-shape.json"),
        "{file}"
    );

    let bad = from_root(bin, &["--fixtures", "/nonexistent-fixtures", "scenarios"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(
        text(&bad).contains("/nonexistent-fixtures")
            && text(&bad).contains("not a fixtures folder"),
        "{}",
        text(&bad)
    );
}

#[test]
fn builtin_fixtures_run_from_the_root_directory() {
    let out = tempfile::tempdir().unwrap();
    check_binary(
        Path::new(env!("CARGO_BIN_EXE_cogcheck")),
        &["--fixtures", "builtin"],
        out.path(),
    );
}

#[test]
#[ignore = "builds every dependency again (several minutes); run with --ignored"]
fn cargo_install_then_run_from_the_root_directory() {
    let work = tempfile::tempdir().unwrap();
    let copy = work.path().join("checkout");
    // The workspace as a user's clone has it: manifests, sources, fixtures.
    std::fs::create_dir_all(&copy).unwrap();
    for item in ["Cargo.toml", "Cargo.lock", "suite", "proxy", "fixtures"] {
        let status = Command::new("cp")
            .args(["-r", "--"])
            .arg(repo().join(item))
            .arg(copy.join(item))
            .status()
            .expect("cp runs");
        assert!(status.success(), "copy {item}");
    }
    let root = work.path().join("root");
    // Both binaries (the proxy's run away from a checkout is proxy/tests/cli.rs
    // `works_away_from_a_checkout`; here: it installs and starts from `/`).
    for krate in ["suite", "proxy"] {
        let installed = Command::new(env!("CARGO"))
            .args(["install", "--locked", "--offline", "--debug", "--path"])
            .arg(copy.join(krate))
            .arg("--root")
            .arg(&root)
            .env("CARGO_TARGET_DIR", work.path().join("target"))
            .output()
            .expect("cargo runs");
        assert!(installed.status.success(), "{krate}: {}", text(&installed));
    }
    // The checkout it was built from is gone, as after `cargo install` from a registry.
    std::fs::remove_dir_all(&copy).unwrap();
    let out = work.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    check_binary(&root.join("bin/cogcheck"), &[], &out);
    let help = from_root(&root.join("bin/cogcheck-proxy"), &["--help"]);
    assert!(help.status.success(), "{}", text(&help));
    let missing = from_root(
        &root.join("bin/cogcheck-proxy"),
        &["--replay", "/nonexistent/c.jsonl", "--mode", "none"],
    );
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(
        text(&missing).contains("/nonexistent/c.jsonl"),
        "{}",
        text(&missing)
    );
}
