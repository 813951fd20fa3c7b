//! Recording with redaction, and replaying a recording with the emulator stopped.

mod util;

use base64::Engine as _;
use cogcheck_proxy::{CassettePlan, Mode};
use hmac::{KeyInit, Mac};
use serde_json::{json, Value};
use util::{call, cassette_lines, client, moto, proxy, unique};

fn secret_hash(secret: &str, username: &str, client_id: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{username}{client_id}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_secrets_never_reach_the_cassette_and_placeholders_line_up() {
    let moto = moto().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("canary.jsonl");
    let p = proxy(&moto.endpoint, CassettePlan::Record(path.clone())).await;
    let c = client(&p.endpoint());
    let password = "Canary-Pa55word-7f3e!";

    let (_, pool) = call(&c, "CreateUserPool", json!({"PoolName": unique("canary")})).await;
    let pool_id = pool["UserPool"]["Id"].as_str().unwrap().to_string();
    let (status, app) = call(
        &c,
        "CreateUserPoolClient",
        json!({"UserPoolId": pool_id, "ClientName": "app", "GenerateSecret": true,
               "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}),
    )
    .await;
    assert_eq!(status, 200, "{app}");
    let client_id = app["UserPoolClient"]["ClientId"]
        .as_str()
        .unwrap()
        .to_string();
    let client_secret = app["UserPoolClient"]["ClientSecret"]
        .as_str()
        .unwrap()
        .to_string();
    call(
        &c,
        "AdminCreateUser",
        json!({"UserPoolId": pool_id, "Username": "carol", "TemporaryPassword": password,
               "MessageAction": "SUPPRESS"}),
    )
    .await;
    let (status, _) = call(
        &c,
        "AdminSetUserPassword",
        json!({"UserPoolId": pool_id, "Username": "carol", "Password": password, "Permanent": true}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, auth) = call(
        &c,
        "InitiateAuth",
        json!({"ClientId": client_id, "AuthFlow": "USER_PASSWORD_AUTH",
               "AuthParameters": {"USERNAME": "carol", "PASSWORD": password,
                                  "SECRET_HASH": secret_hash(&client_secret, "carol", &client_id)}}),
    )
    .await;
    assert_eq!(status, 200, "{auth}");
    let result = &auth["AuthenticationResult"];
    let access = result["AccessToken"].as_str().unwrap().to_string();
    let id_token = result["IdToken"].as_str().unwrap().to_string();
    let refresh = result["RefreshToken"].as_str().unwrap().to_string();
    let (status, me) = call(&c, "GetUser", json!({"AccessToken": access})).await;
    assert_eq!(status, 200, "{me}");
    p.shutdown().await.unwrap();

    let raw = std::fs::read(&path).unwrap();
    let text = String::from_utf8_lossy(&raw);
    for (what, secret) in [
        ("password", password),
        ("client secret", client_secret.as_str()),
        ("access token", access.as_str()),
        ("id token", id_token.as_str()),
        ("refresh token", refresh.as_str()),
    ] {
        assert!(!secret.is_empty());
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the {what} is in the cassette"
        );
    }
    // No JWT of any kind survived (headers, messages, unmodeled members).
    assert!(!text.contains("eyJ"), "a JWT is in the cassette");

    let lines = cassette_lines(&path);
    assert_eq!(lines[0]["cassette"], "cogcheck-cassette/1");
    let find = |action: &str| -> &Value {
        lines
            .iter()
            .find(|l| l["action"] == action)
            .unwrap_or_else(|| panic!("no {action} exchange"))
    };
    let issued = &find("InitiateAuth")["response"]["body"]["AuthenticationResult"]["AccessToken"];
    let sent = &find("GetUser")["request"]["body"]["AccessToken"];
    assert!(issued.as_str().unwrap().starts_with("<secret:"), "{issued}");
    assert_eq!(issued, sent, "the access token's placeholder lines up");
    let secret_issued =
        &find("CreateUserPoolClient")["response"]["body"]["UserPoolClient"]["ClientSecret"];
    assert!(secret_issued.as_str().unwrap().starts_with("<secret:"));
    let pw_create = &find("AdminCreateUser")["request"]["body"]["TemporaryPassword"];
    let pw_set = &find("AdminSetUserPassword")["request"]["body"]["Password"];
    let pw_auth = &find("InitiateAuth")["request"]["body"]["AuthParameters"]["PASSWORD"];
    assert_eq!(pw_create, pw_set);
    assert_eq!(pw_set, pw_auth);
    // Credential headers are placeholders; the action stays readable.
    let create = find("CreateUserPool");
    let headers = create["request"]["headers"].as_array().unwrap();
    let auth_header = headers.iter().find(|h| h[0] == "authorization").unwrap();
    assert!(auth_header[1].as_str().unwrap().starts_with("<secret:"));
    assert_eq!(create["signed"], true);
    assert_eq!(find("InitiateAuth")["signed"], false);
}

/// The calls both runs make; the second run must get the first run's answers.
async fn scripted_run(c: &cogcheck::client::Client, name: &str) -> Vec<(u16, Value)> {
    let mut answers = Vec::new();
    let created = call(c, "CreateUserPool", json!({"PoolName": name})).await;
    let id = created.1["UserPool"]["Id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    answers.push(created);
    answers.push(call(c, "DescribeUserPool", json!({"UserPoolId": id})).await);
    answers.push(
        call(
            c,
            "UpdateUserPool",
            json!({"UserPoolId": id, "UserPoolTags": {"stage": "two"}}),
        )
        .await,
    );
    // The same request again: answered in recorded order (tags changed in between).
    answers.push(call(c, "DescribeUserPool", json!({"UserPoolId": id})).await);
    answers.push(
        call(
            c,
            "DescribeUserPool",
            json!({"UserPoolId": "us-east-1_missing"}),
        )
        .await,
    );
    answers.push(call(c, "ListUserPools", json!({"MaxResults": 60})).await);
    answers.push(call(c, "DeleteUserPool", json!({"UserPoolId": id})).await);
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_answers_a_recorded_run_with_the_emulator_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    let name = unique("replay");
    let recorded = {
        let moto = moto().await;
        let p = proxy(&moto.endpoint, CassettePlan::Record(path.clone())).await;
        let answers = scripted_run(&client(&p.endpoint()), &name).await;
        p.shutdown().await.unwrap();
        answers
        // moto stops here.
    };
    assert_eq!(recorded[0].0, 200);
    assert_ne!(
        recorded[1].1, recorded[3].1,
        "the two DescribeUserPool answers differ"
    );

    let mut config = cogcheck_proxy::Config::new("http://127.0.0.1:1").unwrap();
    config.upstream = None;
    config.cassette = CassettePlan::Replay {
        path: path.clone(),
        mode: Mode::None,
    };
    let p = cogcheck_proxy::Proxy::start(config).await.unwrap();
    let c = client(&p.endpoint());
    let replayed = scripted_run(&c, &name).await;
    assert_eq!(recorded, replayed);

    // Never recorded: the documented miss, naming the action.
    let miss = c
        .call("ListUsers", &json!({"UserPoolId": "us-east-1_x"}))
        .await
        .unwrap();
    assert_eq!(miss.status, 400);
    let e = miss.error.unwrap();
    assert_eq!(e.error_type, "CogcheckReplayMissException");
    let message = e.message.unwrap();
    assert!(message.contains("ListUsers"), "{message}");
    // A near miss names the closest recorded request and where it differs.
    let near = c
        .call("CreateUserPool", &json!({"PoolName": "another-name"}))
        .await
        .unwrap();
    let message = near.error.unwrap().message.unwrap();
    assert!(
        message.contains("CreateUserPool") && message.contains("$.PoolName"),
        "{message}"
    );
    p.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_episodes_replays_what_matches_and_records_the_rest() {
    let moto = moto().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("episodes.jsonl");
    let p = proxy(&moto.endpoint, CassettePlan::Record(path.clone())).await;
    call(
        &client(&p.endpoint()),
        "ListUserPools",
        json!({"MaxResults": 5}),
    )
    .await;
    p.shutdown().await.unwrap();

    let p = proxy(
        &moto.endpoint,
        CassettePlan::Replay {
            path: path.clone(),
            mode: Mode::NewEpisodes,
        },
    )
    .await;
    let c = client(&p.endpoint());
    let hit = c
        .call_raw(
            "ListUserPools",
            bytes::Bytes::from_static(br#"{ "MaxResults" : 5 }"#),
            true,
        )
        .await
        .unwrap();
    assert_eq!(hit.headers["x-cogcheck-replayed"], "1");
    let new = c
        .call_raw(
            "ListUserPools",
            bytes::Bytes::from_static(br#"{"MaxResults": 7}"#),
            true,
        )
        .await
        .unwrap();
    assert_eq!(new.status, 200);
    assert!(!new.headers.contains_key("x-cogcheck-replayed"));
    p.shutdown().await.unwrap();
    let lines = cassette_lines(&path);
    assert_eq!(lines.len(), 3, "header, the first run, the new episode");
    assert_eq!(lines[2]["seq"], 2);
    assert_eq!(lines[2]["request"]["body"]["MaxResults"], 7);
}
