//! The scenario engine against a real emulator (moto, started by the test): findings per
//! assertion, going on after a finding and stopping only when a scenario cannot go on,
//! isolation and cleanup on every exit path, verdicts from expectations, and secrets kept out
//! of results.

use std::path::Path;
use std::sync::Arc;

use cogcheck::expectations::{Expectations, Known, Strictness, Verdict};
use cogcheck::finding::{Axis, Outcome, StepStatus};
use cogcheck::run::{Event, Runner};
use cogcheck::scenario::{self, Scenario};
use cogcheck::session::{Session, SessionOptions};

fn write_scenario(dir: &Path, area: &str, id: &str, text: &str) -> Scenario {
    let area_dir = dir.join(area);
    std::fs::create_dir_all(&area_dir).unwrap();
    let file = area_dir.join(format!("{id}.json"));
    std::fs::write(&file, text).unwrap();
    scenario::load_file(&file).unwrap_or_else(|e| panic!("{e:?}"))
}

async fn pools_named(session: &Session, prefix: &str) -> Vec<String> {
    let r = session
        .client
        .call("ListUserPools", &serde_json::json!({"MaxResults": 60}))
        .await
        .unwrap();
    r.body["UserPools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["Name"].as_str())
        .filter(|n| n.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

/// One session for every check here: starting moto costs a few seconds.
#[test]
fn engine_against_moto() {
    let mut session = Session::open(SessionOptions {
        target: Some("moto".into()),
        endpoint: None,
        jobs: 4,
        allow_slow_install: false,
        record: None,
    })
    .expect("moto starts");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let prefix = session.config.run_prefix.clone();
    let runner = Arc::new(Runner::new(session.client.clone(), session.config.clone()));

    // A scenario that fails midway, after creating two pools and a client secret, leaves
    // no pool behind and no secret in its result.
    let failing = write_scenario(
        dir.path(),
        "engine",
        "fails-midway",
        r#"{
          "id": "fails-midway", "summary": "creates pools then fails", "covers": ["CreateUserPool"], "source": "model",
          "steps": [
            {"action": "CreateUserPool", "with": {"PoolName": "${unique:a}"}, "save": {"a": "$.UserPool.Id"}},
            {"action": "CreateUserPool", "with": {"PoolName": "${unique:b}"}, "save": {"b": "$.UserPool.Id"}},
            {"action": "CreateUserPoolClient", "with": {"UserPoolId": "${a}", "ClientName": "c", "GenerateSecret": true},
             "save": {"secret": "$.UserPoolClient.ClientSecret"}},
            {"action": "DescribeUserPoolClient", "with": {"UserPoolId": "${a}", "ClientId": "nope"},
             "expect": {"body": {"UserPoolClient": {"ClientSecret": "${secret}"}}}},
            {"action": "DeleteUserPool", "with": {"UserPoolId": "${b}"}}
          ]}"#,
    );
    let result = runtime.block_on(runner.run_scenario(&failing, 900));
    // The wrong answer at step 3 is a behaviour finding, and the scenario goes on: step 3
    // saves nothing later steps need, so step 4 still runs.
    assert_eq!(result.outcome, Outcome::Completed, "{:?}", result.findings);
    let f = result
        .on(Axis::Behaviour)
        .next()
        .unwrap_or_else(|| panic!("no behaviour finding: {:?}", result.findings));
    assert_eq!((f.step, f.check.name()), (Some(3), "outcome"));
    assert_eq!(result.steps[4].status, StepStatus::Passed);
    assert!(
        result.cleanup_errors.is_empty(),
        "{:?}",
        result.cleanup_errors
    );
    let left = runtime.block_on(pools_named(&session, &prefix));
    assert!(left.is_empty(), "pools left behind: {left:?}");

    // The same scenario listed as a known failure at that step is an expected failure; listed
    // at another step it has changed; a passing scenario listed is an unexpected pass.
    let known = |name: &str, step: usize, check: &str| {
        let mut e = Expectations::empty("moto");
        e.failures.insert(
            name.to_string(),
            vec![Known {
                step: Some(step),
                axis: Axis::Behaviour,
                check: check.parse().expect("a check kind"),
                path: "$".into(),
                reason: "why".into(),
                flaky: false,
            }],
        );
        e
    };
    let b = Strictness::Behaviour;
    assert!(matches!(
        known(&result.name, 3, f.check.name())
            .judge(&result, b)
            .verdict,
        Verdict::ExpectedFailure { .. }
    ));
    assert!(matches!(
        known(&result.name, 2, f.check.name())
            .judge(&result, b)
            .verdict,
        Verdict::Changed { .. }
    ));

    // A step whose answer lacks what later steps need stops the scenario, and says so.
    let stops = write_scenario(
        dir.path(),
        "engine",
        "stops",
        r#"{
          "id": "stops", "summary": "a capture fails", "covers": ["CreateUserPool"], "source": "model",
          "steps": [
            {"action": "CreateUserPool", "with": {"PoolName": "${unique:a}"}, "save": {"a": "$.UserPool.Id"}},
            {"action": "DescribeUserPool", "with": {"UserPoolId": "${a}"}, "save": {"x": "$.UserPool.NoSuchMember"}},
            {"action": "DescribeUserPool", "with": {"UserPoolId": "${x}"}}
          ]}"#,
    );
    let stopped = runtime.block_on(runner.run_scenario(&stops, 903));
    assert!(
        matches!(&stopped.outcome, Outcome::Stopped { step: 1, reason } if reason.contains("NoSuchMember")),
        "{:?}",
        stopped.outcome
    );
    assert_eq!(stopped.steps[2].status, StepStatus::NotRun);
    assert!(stopped
        .findings
        .iter()
        .any(|f| f.check.name() == "capture" && f.step == Some(1)));

    let passing = write_scenario(
        dir.path(),
        "engine",
        "passes",
        r#"{
          "id": "passes", "summary": "a pool is described", "covers": ["DescribeUserPool"], "source": "model",
          "steps": [
            {"action": "CreateUserPool", "with": {"PoolName": "${unique:p}"}, "save": {"id": "$.UserPool.Id"}},
            {"action": "DescribeUserPool", "with": {"UserPoolId": "${id}"}, "expect": {"body": {"UserPool": {"Id": "${id}"}}}}
          ]}"#,
    );
    let passed = runtime.block_on(runner.run_scenario(&passing, 901));
    assert_eq!(passed.outcome, Outcome::Completed);
    assert!(passed.findings.is_empty(), "{:?}", passed.findings);
    let verdict = known(&passed.name, 1, "body").judge(&passed, b).verdict;
    assert!(matches!(verdict, Verdict::UnexpectedPass { .. }) && verdict.is_failure());
    assert!(runtime.block_on(pools_named(&session, &prefix)).is_empty());

    // Secrets: a failing step quoting a password and a token keeps neither in its result.
    let leaky = write_scenario(
        dir.path(),
        "engine",
        "leaky",
        r#"{
          "id": "leaky", "summary": "a failure quoting tokens", "covers": ["AdminInitiateAuth"], "source": "model",
          "steps": [
            {"action": "CreateUserPool", "with": {"PoolName": "${unique:p}"}, "save": {"pool": "$.UserPool.Id"}},
            {"action": "CreateUserPoolClient", "with": {"UserPoolId": "${pool}", "ClientName": "c",
              "ExplicitAuthFlows": ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}, "save": {"client": "$.UserPoolClient.ClientId"}},
            {"action": "AdminCreateUser", "with": {"UserPoolId": "${pool}", "Username": "u1", "MessageAction": "SUPPRESS"}},
            {"action": "AdminSetUserPassword", "with": {"UserPoolId": "${pool}", "Username": "u1", "Password": "${password}", "Permanent": true}},
            {"action": "AdminInitiateAuth", "with": {"UserPoolId": "${pool}", "ClientId": "${client}", "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
              "AuthParameters": {"USERNAME": "u1", "PASSWORD": "${password}"}},
             "expect": {"body": {"AuthenticationResult": {"$absent": true}}}}
          ]}"#,
    );
    let leaked = runtime.block_on(runner.run_scenario(&leaky, 902));
    assert!(
        leaked
            .on(Axis::Behaviour)
            .any(|f| f.step == Some(4) && f.check.name() == "body"),
        "{:?}",
        leaked.findings
    );
    let text = serde_json::to_string(&leaked).unwrap();
    assert!(!text.contains("eyJ"), "a token reached the result: {text}");
    assert!(
        !text.contains("Cg1!"),
        "a password reached the result: {text}"
    );
    assert!(runtime.block_on(pools_named(&session, &prefix)).is_empty());

    // An exclusive scenario runs while nothing else is in flight: among scenarios that each
    // keep a pool of the run for a few calls, it never sees one of theirs.
    let busy = |i: usize| {
        write_scenario(
            dir.path(),
            "engine",
            &format!("busy-{i}"),
            &format!(
                r#"{{
              "id": "busy-{i}", "summary": "holds a pool for a while", "covers": ["DescribeUserPool"], "source": "model",
              "steps": [
                {{"action": "CreateUserPool", "with": {{"PoolName": "${{unique:p}}"}}, "save": {{"id": "$.UserPool.Id"}}}},
                {{"action": "DescribeUserPool", "with": {{"UserPoolId": "${{id}}"}}}},
                {{"action": "DescribeUserPool", "with": {{"UserPoolId": "${{id}}"}}}},
                {{"action": "DescribeUserPool", "with": {{"UserPoolId": "${{id}}"}}}}
              ]}}"#
            ),
        )
    };
    let alone = write_scenario(
        dir.path(),
        "engine",
        "alone",
        r#"{
          "id": "alone", "summary": "sees no other scenario's pool", "covers": ["ListUserPools"], "source": "model",
          "exclusive": true,
          "steps": [
            {"action": "ListUserPools", "with": {"MaxResults": 60},
             "expect": {"body": {"UserPools": {"$each": {"Name": {"$not": {"$regex": "^${run_prefix}"}}}}}}}
          ]}"#,
    );
    assert!(alone.exclusive);
    let mut mix: Vec<Scenario> = (0..3).map(busy).collect();
    mix.push(alone);
    mix.extend((3..7).map(busy));
    // Runs scenarios together; each must pass and leave no pool behind. The names in the
    // order they started.
    let all_pass = |scenarios: Vec<Scenario>| {
        let count = scenarios.len();
        let none = Expectations::empty("moto");
        let mut started = Vec::new();
        let results = runtime.block_on(runner.run_all(scenarios, &none, b, |event| {
            if let Event::ScenarioStarted { name } = event {
                started.push(name);
            }
        }));
        assert_eq!(results.len(), count);
        for (result, judgement) in &results {
            assert_eq!(result.outcome, Outcome::Completed, "{}", result.name);
            assert_eq!(
                judgement.verdict,
                Verdict::Pass,
                "{}: {:?}",
                result.name,
                result.findings
            );
        }
        assert!(runtime.block_on(pools_named(&session, &prefix)).is_empty());
        started
    };
    // It also starts first, though listed fourth: queued behind running scenarios, it would
    // hold every job idle until they ended.
    let started = all_pass(mix);
    assert_eq!(started.len(), 8);
    assert_eq!(started[0], "engine::alone", "{started:?}");

    // An eventually consistent read is repeated until it holds. Two scenarios hand over
    // through listings: `late` creates a pool a moment in, `waiter` waits for it and answers
    // with a pool of its own, `late` waits for that, and `waiter` waits until `late`'s cleanup
    // removed the first one ...
    let late = write_scenario(
        dir.path(),
        "engine",
        "late",
        r#"{
          "id": "late", "summary": "creates a pool after a while", "covers": ["CreateUserPool"], "source": "model",
          "steps": [
            {"action": "CreateUserPool", "with": {"PoolName": "${unique:p}"}, "save": {"id": "$.UserPool.Id"}},
            {"action": "DescribeUserPool", "with": {"UserPoolId": "${id}"}},
            {"action": "DescribeUserPool", "with": {"UserPoolId": "${id}"}},
            {"action": "DescribeUserPool", "with": {"UserPoolId": "${id}"}},
            {"action": "CreateUserPool", "with": {"PoolName": "${run_prefix}-late-pool"}},
            {"action": "ListUserPools", "with": {"MaxResults": 60}, "eventually_ms": 10000,
             "expect": {"body": {"UserPools": {"$contains": [{"Name": "${run_prefix}-seen"}]}}}}
          ]}"#,
    );
    let waiter = write_scenario(
        dir.path(),
        "engine",
        "waiter",
        r#"{
          "id": "waiter", "summary": "waits for the late pool", "covers": ["ListUserPools"], "source": "model",
          "steps": [
            {"action": "ListUserPools", "with": {"MaxResults": 60}, "eventually_ms": 10000,
             "expect": {"body": {"UserPools": {"$contains": [{"Name": "${run_prefix}-late-pool"}]}}}},
            {"action": "CreateUserPool", "with": {"PoolName": "${run_prefix}-seen"}},
            {"action": "ListUserPools", "with": {"MaxResults": 60}, "eventually_ms": 10000,
             "expect": {"body": {"UserPools": {"$each": {"Name": {"$not": "${run_prefix}-late-pool"}}}}}}
          ]}"#,
    );
    assert_eq!(
        waiter.steps[0].eventually,
        Some(std::time::Duration::from_secs(10))
    );
    all_pass(vec![waiter, late]);

    // ... and one that never holds fails after repeating for its whole window.
    let never = write_scenario(
        dir.path(),
        "engine",
        "never",
        r#"{
          "id": "never", "summary": "waits in vain", "covers": ["ListUserPools"], "source": "model",
          "steps": [
            {"action": "ListUserPools", "with": {"MaxResults": 60}, "eventually_ms": 1200,
             "expect": {"body": {"UserPools": {"$contains": [{"Name": "no-such-pool"}]}}}}
          ]}"#,
    );
    let started = std::time::Instant::now();
    let result = runtime.block_on(runner.run_scenario(&never, 905));
    let Some(f) = result.on(Axis::Behaviour).next() else {
        panic!("expected a finding, got {:?}", result.findings)
    };
    assert!(started.elapsed() >= std::time::Duration::from_millis(1200));
    // Every half second, and once more at the deadline: 0, 0.5, 1.0, 1.2 s, so four attempts
    // when calls are quick, fewer on a loaded machine where each call takes a while.
    let attempts: u32 = f
        .summary
        .split("still so after ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no attempt count in {:?}", f.summary));
    assert!((2..=4).contains(&attempts), "{}", f.summary);
    assert_eq!(result.steps[0].attempts, attempts);
    assert!(f.summary.contains("attempts over 1200 ms"), "{}", f.summary);

    // Leftovers of an interrupted run are found by prefix and deleted; others stay.
    for name in [
        format!("{prefix}-9-left"),
        format!("{prefix}-9-left-too"),
        "not-cogcheck".into(),
    ] {
        let r = runtime
            .block_on(
                session
                    .client
                    .call("CreateUserPool", &serde_json::json!({"PoolName": name})),
            )
            .unwrap();
        assert!(r.is_success());
    }
    let (deleted, errors) = runtime
        .block_on(cogcheck::run::sweep(&session.client, &prefix))
        .unwrap();
    assert_eq!((deleted, errors.len()), (2, 0));
    assert!(runtime.block_on(pools_named(&session, &prefix)).is_empty());
    assert_eq!(
        runtime
            .block_on(pools_named(&session, "not-cogcheck"))
            .len(),
        1
    );

    session.stop().unwrap();
}

/// A malformed scenario folder is refused as a whole before anything runs, every problem named.
#[test]
fn malformed_scenarios_are_all_reported_before_running() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a")).unwrap();
    std::fs::write(dir.path().join("a/bad-json.json"), "{ nope").unwrap();
    std::fs::write(
        dir.path().join("a/bad-action.json"),
        r#"{"id":"bad-action","summary":"s","covers":["CreateUserPool"],"source":"model",
            "steps":[{"action":"CreateUserPools"}]}"#,
    )
    .unwrap();
    // Repeating a write would change the state under test: only reads may be eventual.
    std::fs::write(
        dir.path().join("a/eventual-write.json"),
        r#"{"id":"eventual-write","summary":"s","covers":["CreateUserPool"],"source":"model",
            "steps":[{"action":"CreateUserPool","with":{"PoolName":"p"},"eventually_ms":1000}]}"#,
    )
    .unwrap();
    let errors = scenario::load_dir(dir.path()).unwrap_err();
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 3, "{text:?}");
    assert!(text.iter().any(|t| t.contains("eventual-write.json")
        && t.contains("$.steps[0].eventually_ms")
        && t.contains("only a read")));
    assert!(text
        .iter()
        .any(|t| t.contains("bad-json.json") && t.contains("line 1")));
    assert!(text
        .iter()
        .any(|t| t.contains("bad-action.json") && t.contains("$.steps[0].action")));
}
