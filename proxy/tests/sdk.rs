//! Real SDK clients through the proxy to real moto: the AWS CLI and boto3, over HTTP and HTTPS.

mod util;

use cogcheck_proxy::{CassettePlan, Config, Proxy, TlsSource};
use util::{aws_cli, moto, proxy, python, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_lists_pools_creates_a_user_and_signs_in_through_the_proxy() {
    let moto = moto().await;
    let p = proxy(&moto.endpoint, CassettePlan::Off).await;
    let e = p.endpoint();
    let name = unique("cli");

    let pool = aws_cli(&e, &["create-user-pool", "--pool-name", &name]).await;
    let pool_id = pool["UserPool"]["Id"].as_str().unwrap().to_string();
    let listed = aws_cli(&e, &["list-user-pools", "--max-results", "60"]).await;
    assert!(
        listed["UserPools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["Id"] == pool_id.as_str()),
        "{listed}"
    );
    let app = aws_cli(
        &e,
        &[
            "create-user-pool-client",
            "--user-pool-id",
            &pool_id,
            "--client-name",
            "app",
            "--explicit-auth-flows",
            "ALLOW_ADMIN_USER_PASSWORD_AUTH",
            "ALLOW_USER_PASSWORD_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
        ],
    )
    .await;
    let client_id = app["UserPoolClient"]["ClientId"]
        .as_str()
        .unwrap()
        .to_string();
    let user = aws_cli(
        &e,
        &[
            "admin-create-user",
            "--user-pool-id",
            &pool_id,
            "--username",
            "alice",
        ],
    )
    .await;
    assert_eq!(user["User"]["Username"], "alice");
    aws_cli(
        &e,
        &[
            "admin-set-user-password",
            "--user-pool-id",
            &pool_id,
            "--username",
            "alice",
            "--password",
            "Sup3r-Secret!",
            "--permanent",
        ],
    )
    .await;
    let auth = aws_cli(
        &e,
        &[
            "initiate-auth",
            "--client-id",
            &client_id,
            "--auth-flow",
            "USER_PASSWORD_AUTH",
            "--auth-parameters",
            "USERNAME=alice,PASSWORD=Sup3r-Secret!",
        ],
    )
    .await;
    let token = auth["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap();
    let me = aws_cli(&e, &["get-user", "--access-token", token]).await;
    assert_eq!(me["Username"], "alice");
    aws_cli(&e, &["delete-user-pool", "--user-pool-id", &pool_id]).await;
    p.shutdown().await.unwrap();
}

/// The same sign-in with boto3; `verify` is `CA` when set (HTTPS), else default.
const BOTO3_SIGN_IN: &str = r#"
import os, boto3
kw = {"endpoint_url": os.environ["ENDPOINT"], "region_name": "us-east-1"}
if os.environ.get("CA"):
    kw["verify"] = os.environ["CA"]
c = boto3.client("cognito-idp", **kw)
pool = c.create_user_pool(PoolName=os.environ["NAME"])["UserPool"]["Id"]
assert any(p["Id"] == pool for p in c.list_user_pools(MaxResults=60)["UserPools"])
app = c.create_user_pool_client(UserPoolId=pool, ClientName="app",
    ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
client_id = app["UserPoolClient"]["ClientId"]
c.admin_create_user(UserPoolId=pool, Username="bob")
c.admin_set_user_password(UserPoolId=pool, Username="bob", Password="Sup3r-Secret!", Permanent=True)
r = c.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
    AuthParameters={"USERNAME": "bob", "PASSWORD": "Sup3r-Secret!"})
token = r["AuthenticationResult"]["AccessToken"]
assert c.get_user(AccessToken=token)["Username"] == "bob"
try:
    c.describe_user_pool(UserPoolId="us-east-1_doesnotexist")
    raise SystemExit("expected ResourceNotFoundException")
except c.exceptions.ResourceNotFoundException:
    pass
c.delete_user_pool(UserPoolId=pool)
print("signed-in")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_creates_a_user_and_signs_in_through_the_proxy() {
    let moto = moto().await;
    let p = proxy(&moto.endpoint, CassettePlan::Off).await;
    let out = python(
        BOTO3_SIGN_IN,
        &[("ENDPOINT", &p.endpoint()), ("NAME", &unique("boto3"))],
    )
    .await;
    assert_eq!(out.trim(), "signed-in");
    p.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_over_https_trusts_the_generated_ca() {
    let moto = moto().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(&moto.endpoint).unwrap();
    config.tls = Some(TlsSource::Generate(dir.path().join("tls")));
    let p = Proxy::start(config).await.unwrap();
    assert!(p.endpoint().starts_with("https://"));
    let ca = p.ca_cert().expect("a generated CA").display().to_string();
    let endpoint = format!("https://localhost:{}", p.addr().port());
    let out = python(
        BOTO3_SIGN_IN,
        &[
            ("ENDPOINT", &endpoint),
            ("NAME", &unique("tls")),
            ("CA", &ca),
        ],
    )
    .await;
    assert_eq!(out.trim(), "signed-in");

    // Without the CA, verification must fail: the test above proves trust, not luck.
    let refused = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import boto3,os\nc=boto3.client('cognito-idp',endpoint_url=os.environ['E'],region_name='us-east-1',aws_access_key_id='t',aws_secret_access_key='t')\nc.list_user_pools(MaxResults=1)",
        )
        .env("E", &endpoint)
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("SSL"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    p.shutdown().await.unwrap();
}

/// A session a replay must reproduce for boto3: pool, client, user, sign-in, a token the
/// script verifies against the endpoint's JWKS (RS256 by hand, PKCS#1 v1.5 with SHA-256),
/// GetUser with it, a refresh, and the errors of a wrong password and an unknown client.
/// Prints what it saw as JSON; generated ids are compared by their relations, not values.
const BOTO3_SESSION: &str = r#"
import base64, hashlib, json, os, urllib.request, boto3
E = os.environ["ENDPOINT"]
c = boto3.client("cognito-idp", endpoint_url=E, region_name="us-east-1")
def b64d(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def verify(tok, pool):
    h, p, s = tok.split(".")
    jwks = json.load(urllib.request.urlopen(E + "/" + pool + "/.well-known/jwks.json"))
    kid = json.loads(b64d(h))["kid"]
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    n = int.from_bytes(b64d(key["n"]), "big"); e = int.from_bytes(b64d(key["e"]), "big")
    size = (n.bit_length() + 7) // 8
    em = pow(int.from_bytes(b64d(s), "big"), e, n).to_bytes(size, "big")
    info = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256((h + "." + p).encode()).digest()
    return em == b"\x00\x01" + b"\xff" * (size - 3 - len(info)) + b"\x00" + info
def code(f):
    try:
        f(); return "ok"
    except c.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
pool = c.create_user_pool(PoolName=os.environ["NAME"])["UserPool"]["Id"]
client = c.create_user_pool_client(UserPoolId=pool, ClientName="app",
    ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
c.admin_create_user(UserPoolId=pool, Username="carol", MessageAction="SUPPRESS")
c.admin_set_user_password(UserPoolId=pool, Username="carol", Password="Canary-Pa55-sdk!", Permanent=True)
auth = lambda pw: c.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH",
    AuthParameters={"USERNAME": "carol", "PASSWORD": pw})["AuthenticationResult"]
r = auth("Canary-Pa55-sdk!")
claims = json.loads(b64d(r["AccessToken"].split(".")[1]))
refreshed = c.initiate_auth(ClientId=client, AuthFlow="REFRESH_TOKEN_AUTH",
    AuthParameters={"REFRESH_TOKEN": r["RefreshToken"]})["AuthenticationResult"]
print(json.dumps({
    "token_use": claims["token_use"],
    "username": claims["username"],
    "client_id_is_the_client": claims["client_id"] == client,
    "lifetime": claims["exp"] - claims["iat"],
    "verified": verify(r["AccessToken"], pool),
    "get_user": c.get_user(AccessToken=r["AccessToken"])["Username"],
    "refreshed_is_a_jwt": refreshed["AccessToken"].count(".") == 2,
    "wrong_password": code(lambda: auth("Wrong-Pa55-sdk!")),
    "unknown_client": code(lambda: c.initiate_auth(ClientId="unknownclient0000000000000", AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "carol", "PASSWORD": "Canary-Pa55-sdk!"})),
}, sort_keys=True))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_replays_a_recorded_session_with_moto_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("session.jsonl");
    let key = dir.path().join("session.key");
    let name = unique("replay-sdk");
    let live = {
        let moto = moto().await;
        let mut config = Config::new(&moto.endpoint).unwrap();
        config.cassette = CassettePlan::Record(cassette.clone());
        config.cassette_key = Some(key.clone());
        let p = Proxy::start(config).await.unwrap();
        let out = python(
            BOTO3_SESSION,
            &[("ENDPOINT", &p.endpoint()), ("NAME", &name)],
        )
        .await;
        p.shutdown().await.unwrap();
        out
        // moto stops here.
    };
    let live: serde_json::Value = serde_json::from_str(live.trim()).unwrap();
    // What moto said live: the script's checks mean something only if they held there.
    assert_eq!(live["verified"], true, "{live}");
    assert_eq!(live["client_id_is_the_client"], true, "{live}");
    assert_eq!(live["wrong_password"], "NotAuthorizedException", "{live}");
    let text = std::fs::read_to_string(&cassette).unwrap();
    assert!(
        !text.contains("Canary-Pa55-sdk!"),
        "the password reached the cassette"
    );

    let mut config = Config::new("http://127.0.0.1:1").unwrap();
    config.upstream = None;
    config.cassette = CassettePlan::Replay {
        path: cassette.clone(),
        mode: cogcheck_proxy::Mode::None,
    };
    config.cassette_key = Some(key);
    let p = Proxy::start(config).await.unwrap();
    let replayed = python(
        BOTO3_SESSION,
        &[("ENDPOINT", &p.endpoint()), ("NAME", &name)],
    )
    .await;
    let replayed: serde_json::Value = serde_json::from_str(replayed.trim()).unwrap();
    assert_eq!(replayed, live, "boto3 saw something else in replay");
    p.shutdown().await.unwrap();
}
