//! The `mutate` fault kind through the proxy to real moto: the suite's mutation operators
//! alter the upstream's answer as rules say, and rules that name no operator, or a site two
//! ways, are refused with the field.

mod faults_util;
mod util;

use cogcheck_proxy::FaultConfig;
use faults_util::{proxy_with, rules_file, Http};
use serde_json::json;
use util::{moto, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutated_answers_are_what_clients_see() {
    let moto = moto().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let rules = rules_file(
        dir.path(),
        "mutate.json",
        json!({"rules": [
            {"id": "no-id", "actions": "CreateUserPool",
             "fault": {"kind": "mutate", "operator": "drop_member", "path": "$.UserPool.Id"}},
            {"id": "other-error", "actions": "DescribeUserPool",
             "fault": {"kind": "mutate", "operator": "swap_error", "index": 0}},
            {"id": "error-now", "actions": "ListUserPools",
             "fault": {"kind": "mutate", "operator": "success_to_error"}},
        ]}),
    );
    let proxy = proxy_with(
        &moto.endpoint,
        FaultConfig {
            rules: Some(rules),
            ..FaultConfig::default()
        },
    )
    .await;
    let http = Http::new();
    let e = proxy.endpoint();

    // The member is gone, the rest of the answer is moto's.
    let name = unique("mutate");
    let a = http
        .api(&e, "CreateUserPool", json!({"PoolName": name}), &[])
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let pool = &a.json()["UserPool"];
    assert_eq!(pool["Name"], name.as_str(), "{pool}");
    assert!(pool.get("Id").is_none(), "{pool}");
    // The pool was created upstream all the same: only its answer changed.
    let direct = util::client(&moto.endpoint);
    let (_, pools) = util::call(&direct, "ListUserPools", json!({"MaxResults": 60})).await;
    let id = pools["UserPools"]
        .as_array()
        .and_then(|l| l.iter().find(|p| p["Name"] == name.as_str()))
        .and_then(|p| p["Id"].as_str())
        .expect("the pool exists upstream")
        .to_string();

    // moto's ResourceNotFoundException becomes the first other error DescribeUserPool
    // declares, with that error's status; the message is moto's.
    let missing = http
        .api(
            &e,
            "DescribeUserPool",
            json!({"UserPoolId": "us-east-1_doesNotExist0"}),
            &[],
        )
        .await;
    let declared = &cogcheck::model::Model::get()
        .operation("DescribeUserPool")
        .unwrap()
        .errors;
    let first_other = declared
        .iter()
        .find(|t| *t != "ResourceNotFoundException")
        .unwrap();
    assert_eq!(missing.error_type().as_deref(), Some(first_other.as_str()));
    assert!(declared.contains(first_other));
    assert!(missing.json()["message"].as_str().is_some());

    // A success becomes the operation's first declared error.
    let listed = http
        .api(&e, "ListUserPools", json!({"MaxResults": 1}), &[])
        .await;
    let first = &cogcheck::model::Model::get()
        .operation("ListUserPools")
        .unwrap()
        .errors[0];
    assert_eq!(listed.error_type().as_deref(), Some(first.as_str()));
    assert!(listed.status >= 400, "{}", listed.status);

    // A success has no error to swap: the pool's own DescribeUserPool passes unchanged.
    let found = http
        .api(&e, "DescribeUserPool", json!({"UserPoolId": id}), &[])
        .await;
    assert_eq!(found.status, 200);
    assert_eq!(found.json()["UserPool"]["Id"], id.as_str());
    let (status, _) = util::call(&direct, "DeleteUserPool", json!({"UserPoolId": id})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn rules_with_a_bad_mutation_are_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (fault, field) in [
        (
            json!({"kind": "mutate", "operator": "drop_everything"}),
            "fault.operator",
        ),
        (
            json!({"kind": "mutate", "operator": "drop_member", "index": 0, "path": "$.A"}),
            "fault.path",
        ),
    ] {
        let rules = rules_file(
            dir.path(),
            "bad.json",
            json!({"rules": [{"id": "bad", "fault": fault}]}),
        );
        let mut config = cogcheck_proxy::Config::new("http://127.0.0.1:9").expect("a config");
        config.faults = FaultConfig {
            rules: Some(rules),
            ..FaultConfig::default()
        };
        let err = match cogcheck_proxy::Proxy::start(config).await {
            Ok(_) => panic!("{fault} accepted"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains(&format!("field `{field}`")) && err.contains("rules[0] (id `bad`)"),
            "{err}"
        );
    }
}
