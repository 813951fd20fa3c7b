//! Snapshots end to end: every scenario recorded from moto with `--record`, then replayed with
//! moto stopped as `--target replay:FILE`: the same verdicts and findings for every scenario;
//! and a scenario changed after the recording is not a pass.

mod util;

use cogcheck::expectations::Strictness;
use util::{run_session, snapshot_disagreements, verdicts};

// Every request names its scenario (`x-cogcheck-scenario`), and replay answers it only from
// that scenario's recorded requests, so scenarios whose requests look alike (every member a
// secret) cannot take each other's answers, whatever order the run interleaves them in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_moto_run_replays_offline_with_the_same_verdicts() {
    // The suite starts the proxy binary cargo built for this package.
    std::env::set_var("COGCHECK_PROXY", env!("CARGO_BIN_EXE_cogcheck-proxy"));
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("moto.jsonl");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios");
    let scenarios = cogcheck::scenario::load_dir(&root).expect("scenarios load");

    let (mut record, _, live) = run_session(
        "moto",
        Some(cassette.clone()),
        scenarios.clone(),
        Strictness::Strict,
    )
    .await;
    // Writes the notes and stops moto: the replay below has nothing to reach.
    tokio::task::spawn_blocking(move || record.stop().map(|()| record))
        .await
        .unwrap()
        .expect("the recording closes");
    assert!(
        cogcheck::target::snapshot::notes_path(&cassette).is_file(),
        "notes are written beside the cassette"
    );

    let target = format!("replay:{}", cassette.display());
    let (replay, runner, replayed) =
        run_session(&target, None, scenarios.clone(), Strictness::Strict).await;
    assert_eq!(replay.info.name, "moto");

    let (a, b) = (verdicts(&live), verdicts(&replayed));
    assert_eq!(a.len(), scenarios.len());
    // Judged strictly, moto passes about 50 scenarios outright; far fewer means the recording
    // run itself broke, and identical verdicts would prove nothing.
    let passing = a.iter().filter(|(_, v)| v.starts_with("pass")).count();
    assert!(passing >= 40, "only {passing} scenarios passed live");
    let differing: Vec<String> = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x != y)
        .map(|(x, y)| {
            // What the replay said, for the one who has to find out why.
            let said: Vec<String> = replayed
                .iter()
                .filter(|(r, _)| r.name == x.0)
                .flat_map(|(r, _)| r.findings.iter().map(|f| f.summary.clone()))
                .collect();
            format!(
                "{}: live `{}`, replayed `{}`: {}",
                x.0,
                x.1,
                y.1,
                said.join(" / ")
            )
        })
        .collect();
    assert!(differing.is_empty(), "{}", differing.join("\n"));
    // The check every committed snapshot gets (below) finds nothing to say about this one.
    let (failing, absent) = snapshot_disagreements(&replayed, &replay.expectations);
    assert!(failing.is_empty(), "{}", failing.join("\n"));
    assert!(absent.is_empty(), "{}", absent.join("\n"));

    // A scenario changed after the recording: its changed request is not in the snapshot,
    // and that is its verdict, never a pass.
    let file = root.join("user-pools/create-describe-delete.json");
    let text = std::fs::read_to_string(&file).unwrap();
    let renamed = text.replacen("${unique:", "${unique:changed-", 1);
    assert_ne!(text, renamed, "the scenario names a resource to change");
    let edited = dir.path().join("edited");
    std::fs::create_dir_all(edited.join("user-pools")).unwrap();
    std::fs::write(
        edited.join("user-pools/create-describe-delete.json"),
        renamed,
    )
    .unwrap();
    let changed = cogcheck::scenario::load_dir(&edited)
        .expect("the edited scenario loads")
        .remove(0);
    let results = runner
        .run_all(
            vec![changed],
            &replay.expectations,
            Strictness::Strict,
            |_| {},
        )
        .await;
    let (result, judgement) = &results[0];
    assert_eq!(judgement.verdict.name(), "not_in_snapshot", "{result:?}");
    let reason = judgement.verdict.text().unwrap_or_default();
    assert!(
        reason.contains("no CreateUserPool request recorded for scenario"),
        "{reason}"
    );
    assert!(judgement.verdict.is_failure());

    // A scenario the recording never ran is not in the snapshot either.
    let mut added = cogcheck::scenario::load_dir(&edited).unwrap().remove(0);
    added.id = "added-after-the-recording".into();
    let results = runner
        .run_all(
            vec![added],
            &replay.expectations,
            Strictness::Strict,
            |_| {},
        )
        .await;
    let reason = results[0].1.verdict.text().unwrap_or_default().to_string();
    assert_eq!(results[0].1.verdict.name(), "not_in_snapshot", "{reason}");
    assert!(reason.contains("is not in the snapshot"), "{reason}");
}

/// Every snapshot committed under `fixtures/recordings/` (README, "Snapshots") replays with
/// the scenarios of this checkout: a scenario the snapshot holds must not fail against it
/// (for real Cognito, whose expectations are empty, that means it passes). Scenarios added or
/// changed after the recording are listed, not failed: the snapshot cannot judge them, and a
/// contributor without an AWS account cannot record it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_committed_snapshot_agrees_with_the_scenarios() {
    std::env::set_var("COGCHECK_PROXY", env!("CARGO_BIN_EXE_cogcheck-proxy"));
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let dir = fixtures.join("recordings");
    assert!(
        dir.join("README.md").is_file(),
        "fixtures/recordings/README.md says how to contribute a snapshot"
    );
    let mut cassettes: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    cassettes.sort();
    let scenarios = cogcheck::scenario::load_dir(&fixtures.join("scenarios")).unwrap();
    let mut problems = Vec::new();
    for cassette in &cassettes {
        let target = format!("replay:{}", cassette.display());
        let (replay, _, results) =
            run_session(&target, None, scenarios.clone(), Strictness::Behaviour).await;
        let (failing, absent) = snapshot_disagreements(&results, &replay.expectations);
        eprintln!(
            "{}: {} scenarios not in the snapshot",
            cassette.display(),
            absent.len()
        );
        problems.extend(
            failing
                .into_iter()
                .map(|f| format!("{}: {f}", cassette.display())),
        );
    }
    eprintln!("{} committed snapshots checked", cassettes.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
