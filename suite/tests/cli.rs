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

/// `run --shard K/N` against moto, then `report --from` over the shards: each scenario ran in
/// exactly one shard, and the merged column counts what one unsharded run counts.
#[test]
fn shards_of_a_moto_run_merge_into_one_column() {
    let tmp = tempfile::tempdir().unwrap();
    let filter = "tags-and-logging::";
    let run = |shard: Option<&str>, results: &std::path::Path| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cogcheck"));
        c.args([
            "run",
            "--target",
            "moto",
            "--filter",
            filter,
            "--no-progress",
        ])
        .arg("--results")
        .arg(results);
        if let Some(s) = shard {
            c.args(["--shard", s]);
        }
        let out = c.output().expect("cogcheck runs");
        // Exit 1 is a verdict (a failing scenario), not a broken run.
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(results).expect("results written")).unwrap();
        v
    };
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    let whole = run(None, &tmp.path().join("whole.json"));
    let shards: Vec<_> = (1..=2)
        .map(|k| {
            let path = tmp.path().join(format!("shard{k}.json"));
            let v = run(Some(&format!("{k}/2")), &path);
            assert_eq!(v["run"]["shard"], format!("{k}/2"));
            path
        })
        .collect();
    let mut together: Vec<String> = shards
        .iter()
        .flat_map(|p| names(&serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()))
        .collect();
    together.sort();
    assert_eq!(
        together,
        names(&whole),
        "the shards partition the filtered run"
    );

    let report = |from: &[std::path::PathBuf], out: &std::path::Path| -> serde_json::Value {
        let o = Command::new(env!("CARGO_BIN_EXE_cogcheck"))
            .args(["report", "--out-dir"])
            .arg(out)
            .arg("--from")
            .args(from)
            .output()
            .expect("cogcheck runs");
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&std::fs::read(out.join("compatibility.json")).unwrap()).unwrap()
    };
    let one = report(&[tmp.path().join("whole.json")], &tmp.path().join("one"));
    let merged = report(&shards, &tmp.path().join("merged"));
    assert_eq!(merged["targets"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        one["targets"][0]["summary"], merged["targets"][0]["summary"],
        "same counts as one run"
    );
    assert_eq!(one["operations"], merged["operations"]);

    // One shard alone is not the target's column.
    let o = Command::new(env!("CARGO_BIN_EXE_cogcheck"))
        .args(["report", "--out-dir"])
        .arg(tmp.path().join("half"))
        .arg("--from")
        .arg(&shards[0])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("2/2 missing"));
}

/// A listing piped into a reader that stops early (`cogcheck scenarios | head -1`) ends
/// quietly with the status a shell gives a command SIGPIPE ended, never with a panic.
#[test]
fn a_closed_stdout_ends_a_listing_quietly() {
    // A pipe whose read end is closed before cogcheck starts: its first write fails with
    // EPIPE, deterministically (a real `head` would race with the pipe's buffer).
    let (read_end, write_end) = std::io::pipe().expect("a pipe");
    drop(read_end);
    let out = Command::new(env!("CARGO_BIN_EXE_cogcheck"))
        .arg("scenarios")
        .stdout(write_end)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("cogcheck runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}

/// An earlier version runs as itself: `--target moto@5.1.22` installs and starts moto 5.1.22
/// (its own cache folder), its results say target `moto` at `5.1.22`, it is judged with
/// moto's expectations, and the published results of the pinned moto stay untouched.
#[test]
fn an_earlier_version_runs_as_the_same_target_at_its_version() {
    let targets = cogcheck::target::Targets::load_default().unwrap();
    let version = targets.get("moto").unwrap().earlier_versions[0].clone();
    let label = format!("moto@{version}");
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let published = repo.join("reports/results/moto.json");
    let before = std::fs::read(&published).ok();
    let out = Command::new(env!("CARGO_BIN_EXE_cogcheck"))
        .args([
            "run",
            "--target",
            &label,
            "--filter",
            "user-pools::list-user-pools-shape",
            "--no-progress",
        ])
        .output()
        .expect("cogcheck runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stderr}");
    let results = repo.join(format!("target/cogcheck/{label}.filtered.json"));
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&results).expect("its own results file")).unwrap();
    assert_eq!(written["target"]["name"], "moto", "{}", written["target"]);
    assert_eq!(written["target"]["version"], version.as_str());
    assert_eq!(std::fs::read(&published).ok(), before);
    let refused = Command::new(env!("CARGO_BIN_EXE_cogcheck"))
        .args(["run", "--target", &label, "--update-expectations"])
        .output()
        .expect("cogcheck runs");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("describes the pinned version"));
}

/// What the run is doing goes to stderr as log events at `info`; RUST_LOG chooses the level,
/// and a bad RUST_LOG is refused before anything runs. Nothing starts here: fakecloud is asked
/// for with an empty cache, and its install (a long compile) is never implicit.
#[test]
fn rust_log_chooses_which_events_reach_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let report = |rust_log: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cogcheck"));
        cmd.args([
            "report",
            "--targets",
            "fakecloud",
            "--no-progress",
            "--out-dir",
        ])
        .arg(tmp.path().join("out"))
        .env("COGCHECK_CACHE", tmp.path().join("empty-cache"))
        .env_remove("COGCHECK_ENDPOINT")
        .env_remove("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER");
        match rust_log {
            Some(spec) => cmd.env("RUST_LOG", spec),
            None => cmd.env_remove("RUST_LOG"),
        };
        let out = cmd.output().expect("cogcheck runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (_, stderr) = report(None);
    assert!(stderr.contains("installing and starting"), "{stderr}");
    assert!(stderr.contains("fakecloud: not available"), "{stderr}");
    assert!(stderr.contains("target_name=fakecloud"), "fields: {stderr}");

    let (_, stderr) = report(Some("warn"));
    assert!(!stderr.contains("installing and starting"), "{stderr}");
    assert!(stderr.contains("fakecloud: not available"), "{stderr}");

    let (code, stderr) = report(Some("cogcheck=loud"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("RUST_LOG"), "{stderr}");
}
