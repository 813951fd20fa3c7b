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

/// Sends an action with `call_raw` (unsigned, as the SDKs send the user-facing actions) and
/// returns the status, the headers and the JSON body.
async fn raw(
    c: &cogcheck::client::Client,
    action: &str,
    input: Value,
) -> (u16, http::HeaderMap, Value) {
    let r = c
        .call_raw(action, input.to_string().into(), false)
        .await
        .expect("an answer");
    let body = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, r.headers, body)
}

/// Issue 15: what the model does not mark sensitive but Cognito treats as secret (SRP
/// challenge parameters, sessions, confirmation codes, moto's code header, user names inside
/// challenge parameters) reaches neither the cassette nor the fault decisions log, and the
/// placeholders still line up (same secret, same placeholder).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenge_parameters_codes_and_user_names_stay_out_of_cassette_and_fault_log() {
    let moto = moto().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.jsonl");
    let log = dir.path().join("decisions.jsonl");
    let rules = dir.path().join("rules.json");
    // A rule that selects every request and never fires: each one gets a logged match key.
    std::fs::write(
        &rules,
        json!({"rules": [{"id": "watch", "actions": "*", "probability": 0.0,
                          "fault": {"kind": "error", "error": "InternalErrorException"}}]})
        .to_string(),
    )
    .unwrap();
    let mut config = cogcheck_proxy::Config::new(&moto.endpoint).unwrap();
    config.cassette = CassettePlan::Record(path.clone());
    config.faults = cogcheck_proxy::FaultConfig {
        rules: Some(rules),
        log: Some(log.clone()),
        ..Default::default()
    };
    let p = cogcheck_proxy::Proxy::start(config).await.unwrap();
    let c = client(&p.endpoint());
    let user = format!("dave-canary-{:08x}", rand::random::<u32>());
    let password = "Canary-Pa55word-9c1d!";
    let email = format!("{user}@example.com");

    let (_, pool) = call(&c, "CreateUserPool", json!({"PoolName": unique("secrets")})).await;
    let pool_id = pool["UserPool"]["Id"].as_str().unwrap().to_string();
    let (status, app) = call(
        &c,
        "CreateUserPoolClient",
        json!({"UserPoolId": pool_id, "ClientName": "app",
               "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH",
                                     "ALLOW_REFRESH_TOKEN_AUTH"]}),
    )
    .await;
    assert_eq!(status, 200, "{app}");
    let client_id = app["UserPoolClient"]["ClientId"]
        .as_str()
        .unwrap()
        .to_string();

    // Values that must not reach any file; codes the test makes up are canaries too.
    let mut secrets: Vec<String> = vec![user.clone(), password.to_string(), email.clone()];
    let signup_code = "Canary-Code-31337".to_string();
    let verify_code = "Canary-Verify-4242".to_string();
    secrets.extend([signup_code.clone(), verify_code.clone()]);

    let (status, body, _) = {
        let (s, h, b) = raw(
            &c,
            "SignUp",
            json!({"ClientId": client_id, "Username": user, "Password": password,
                   "UserAttributes": [{"Name": "email", "Value": email}]}),
        )
        .await;
        (s, b, h)
    };
    assert_eq!(status, 200, "{body}");
    // The code is wrong or ignored (moto); either way it is sent and recorded.
    raw(
        &c,
        "ConfirmSignUp",
        json!({"ClientId": client_id, "Username": user, "ConfirmationCode": signup_code}),
    )
    .await;
    call(
        &c,
        "AdminConfirmSignUp",
        json!({"UserPoolId": pool_id, "Username": user}),
    )
    .await;

    // Forgot password: moto hands the code out in a response header.
    let (status, headers, body) = raw(
        &c,
        "ForgotPassword",
        json!({"ClientId": client_id, "Username": user}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let code = headers
        .get("x-moto-forgot-password-confirmation-code")
        .and_then(|v| v.to_str().ok())
        .expect("moto sends the code in a header")
        .to_string();
    secrets.push(code.clone());
    let new_password = "Canary-Pa55word-2e8f!";
    secrets.push(new_password.to_string());
    let (status, _, body) = raw(
        &c,
        "ConfirmForgotPassword",
        json!({"ClientId": client_id, "Username": user, "ConfirmationCode": code,
               "Password": new_password}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // SRP: every challenge parameter moto sends that is not a challenge's name is secret.
    let srp = cogcheck::protocol::SrpClient::new(&pool_id).unwrap();
    let (status, _, challenge) = raw(
        &c,
        "InitiateAuth",
        json!({"AuthFlow": "USER_SRP_AUTH", "ClientId": client_id,
               "AuthParameters": {"USERNAME": user, "SRP_A": srp.srp_a_hex()}}),
    )
    .await;
    assert_eq!(status, 200, "{challenge}");
    assert_eq!(challenge["ChallengeName"], "PASSWORD_VERIFIER");
    let params = challenge["ChallengeParameters"]
        .as_object()
        .unwrap()
        .clone();
    for key in [
        "SALT",
        "SRP_B",
        "SECRET_BLOCK",
        "USERNAME",
        "USER_ID_FOR_SRP",
    ] {
        assert!(params.contains_key(key), "{key} missing from {challenge}");
    }
    for (key, value) in &params {
        let v = value.as_str().unwrap_or_default();
        // Cognito's own public keys (none in PASSWORD_VERIFIER) would be checked apart.
        if v.len() >= 4 {
            secrets.push(v.to_string());
        } else {
            panic!("{key} is too short to search for: {v:?}");
        }
    }
    if let Some(session) = challenge["Session"].as_str() {
        secrets.push(session.to_string());
    }
    let p_str = |k: &str| params[k].as_str().unwrap().to_string();
    let timestamp = cogcheck::protocol::cognito_timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    );
    let signature = srp
        .password_verifier(
            &p_str("USER_ID_FOR_SRP"),
            new_password,
            &p_str("SRP_B"),
            &p_str("SALT"),
            &p_str("SECRET_BLOCK"),
            &timestamp,
        )
        .unwrap();
    secrets.push(signature.clone());
    let mut respond = json!({"ChallengeName": "PASSWORD_VERIFIER", "ClientId": client_id,
        // moto looks the user up by the name it was created with.
        "ChallengeResponses": {"USERNAME": user,
            "PASSWORD_CLAIM_SECRET_BLOCK": p_str("SECRET_BLOCK"),
            "PASSWORD_CLAIM_SIGNATURE": signature, "TIMESTAMP": timestamp}});
    if let Some(session) = challenge["Session"].as_str() {
        respond["Session"] = json!(session);
    }
    let (status, _, auth) = raw(&c, "RespondToAuthChallenge", respond).await;
    assert_eq!(status, 200, "{auth}");
    let access = auth["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap()
        .to_string();
    secrets.push(access.clone());
    raw(
        &c,
        "VerifyUserAttribute",
        json!({"AccessToken": access, "AttributeName": "email", "Code": verify_code}),
    )
    .await;
    p.shutdown().await.unwrap();

    let cassette = std::fs::read_to_string(&path).unwrap();
    let decisions = std::fs::read_to_string(&log).unwrap();
    assert!(decisions.lines().count() >= 8, "{decisions}");
    for secret in &secrets {
        assert!(
            !cassette.contains(secret.as_str()),
            "{secret:?} is in the cassette"
        );
        assert!(
            !decisions.contains(secret.as_str()),
            "{secret:?} is in the fault log"
        );
    }

    // Same secret, same placeholder: the user name sent, the one moto names in the challenge
    // and the one the client answers with line up, so replay and compare can follow them.
    let lines = cassette_lines(&path);
    let find = |action: &str| {
        lines
            .iter()
            .find(|l| l["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in the cassette"))
            .clone()
    };
    let initiate = find("InitiateAuth");
    let sent = &initiate["request"]["body"]["AuthParameters"]["USERNAME"];
    let named = &initiate["response"]["body"]["ChallengeParameters"]["USERNAME"];
    assert!(
        sent.as_str().is_some_and(|s| s.starts_with("<secret:")),
        "{initiate}"
    );
    assert_eq!(sent, named, "{initiate}");
    let block = &initiate["response"]["body"]["ChallengeParameters"]["SECRET_BLOCK"];
    let respond = find("RespondToAuthChallenge");
    assert_eq!(
        block, &respond["request"]["body"]["ChallengeResponses"]["PASSWORD_CLAIM_SECRET_BLOCK"],
        "{respond}"
    );
    let forgot = find("ForgotPassword");
    let header = forgot["response"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "x-moto-forgot-password-confirmation-code")
        .map(|h| h[1].clone())
        .expect("the header is recorded, redacted");
    assert_eq!(
        header,
        find("ConfirmForgotPassword")["request"]["body"]["ConfirmationCode"]
    );
}
