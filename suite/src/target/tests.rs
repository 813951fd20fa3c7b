//! Tests of the target module.

use std::fs;
use std::path::Path;

use crate::error::{Error, Result};

use super::{
    codes::find_codes,
    env::{credentials_from, endpoint_override_from, region_from},
    install::{
        install_fingerprint, install_steps, Cache, InstallState, InstallStep, INSTALLED_MARKER,
    },
    log::{log_tail, strip_ansi},
    running::{state_dir_owner, sweep_stale_state_dirs},
    spec::{
        pinned_version, placeholders, substitute, target_of_header, CodeSource, InstallKind,
        TargetKind, Targets,
    },
};

#[test]
fn finds_codes_in_nested_listings() {
    let body = serde_json::json!({"codes": [
        {"userPoolId": "p1", "username": "u", "code": "111"},
        {"userPoolId": "p1", "username": "v", "code": "222"}
    ]});
    assert_eq!(find_codes(&body, "p1", "v"), vec!["222"]);
    assert!(find_codes(&body, "p2", "v").is_empty());
}

const SAMPLE: &str = r#"
schema = 1
default = "emu"

[targets.emu]
version = "1.2.3"
configuration = "an emulator"

[targets.emu.install]
kind = "pip"
packages = ["emu[server]==1.2.3"]
extra = ["helper==0.1"]

[targets.emu.start]
command = "{install_dir}/venv/bin/emu"
args = ["--port", "{port}", "--data", "{state_dir}/data"]
env = { REGION = "{region}", KEY = "{access_key_id}" }

[[targets.emu.start.files]]
path = "{state_dir}/.emu/config.json"
content = '{"a": {"b": []}}'

[targets.emu.ready]
probe = "list_user_pools"

[targets.remote]
version = "live"
configuration = "somewhere else"

[targets.remote.remote]
endpoint = "https://cognito-idp.{region}.example"
opt_in_env = "COGCHECK_TEST_OPT_IN_NEVER_SET_4711"
"#;

fn parse(text: &str) -> Result<Targets> {
    Targets::parse(text, Path::new("test-targets.toml"))
}

fn config_message(text: &str) -> String {
    match parse(text) {
        Err(Error::Config { path, message }) => {
            assert_eq!(path, Path::new("test-targets.toml"));
            message
        }
        Err(other) => panic!("expected a config error, got {other}"),
        Ok(_) => panic!("expected a config error, the file parsed"),
    }
}

#[test]
fn target_shipped_file_parses_with_every_target_pinned() {
    let targets = Targets::load_default().expect("fixtures/targets.toml parses");
    assert_eq!(
        targets.names(),
        ["aws", "cognito-local", "fakecloud", "ministack", "moto"]
    );
    assert_eq!(targets.default_target().name, "moto");
    let expected = [
        ("moto", "5.2.5", InstallKind::Pip),
        ("ministack", "1.5.33", InstallKind::Pip),
        ("cognito-local", "5.3.0", InstallKind::Npm),
        ("fakecloud", "0.51.0", InstallKind::Cargo),
    ];
    for (name, version, kind) in expected {
        let spec = targets.get(name).expect("known target");
        assert_eq!(spec.version, version);
        assert!(!spec.configuration.is_empty());
        let install = spec
            .local()
            .and_then(|l| l.install.as_ref())
            .expect("install");
        assert_eq!(install.kind, kind);
        assert_eq!(
            install.slow,
            name == "fakecloud",
            "{name}: only fakecloud is slow"
        );
        assert!(spec.codes.is_some(), "{name}: codes recorded");
        // Emulators assume no role, so each offers the SMS MFA scenario a stand-in ARN.
        assert!(
            spec.capabilities(spec.resolved_sms_role().as_ref())
                .contains(&"sms-role".to_string()),
            "{name}: sms-role offered"
        );
    }
    let aws = targets.get("aws").expect("aws");
    assert!(matches!(&aws.kind, TargetKind::Remote(r) if r.opt_in_env == "COGCHECK_ALLOW_AWS"));
    // Real Cognito assumes the role: only one the caller names, read from the environment.
    let source = aws
        .sms_role
        .as_ref()
        .expect("aws names where its role comes from");
    assert_eq!(source.resolve(|_| None), None);
    let role = source
        .resolve(|n| Some(format!("value of {n}")))
        .expect("both variables set");
    assert_eq!(role.arn, "value of COGCHECK_SMS_ROLE_ARN");
    assert_eq!(role.external_id, "value of COGCHECK_SMS_EXTERNAL_ID");
}

#[test]
fn a_target_with_a_malformed_sms_role_is_refused_naming_the_field() {
    let text = format!(
        "{SAMPLE}\n[targets.emu.sms_role]\narn = \"role/cogcheck-sms\"\nexternal_id = \"x\"\n"
    );
    let message = config_message(&text);
    assert!(
        message.contains("`sms_role.arn`") && message.contains("not an IAM role ARN"),
        "{message}"
    );
}

#[test]
fn target_unknown_name_lists_known_names() {
    let targets = parse(SAMPLE).expect("sample parses");
    let err = targets.get("motto").expect_err("unknown");
    let text = err.to_string();
    assert!(text.contains("motto"), "{text}");
    assert!(text.contains("known targets: emu, remote"), "{text}");
}

#[test]
fn target_malformed_toml_names_file_target_and_field() {
    let text = SAMPLE.replace("command = ", "comand = ");
    let message = config_message(&text);
    assert!(message.contains("target `emu`"), "{message}");
    assert!(message.contains("comand"), "{message}");
    assert!(message.contains("line "), "{message}");
    let err = parse(&text).expect_err("malformed").to_string();
    assert!(err.starts_with("test-targets.toml: "), "{err}");
}

#[test]
fn target_wrong_type_names_target_and_field() {
    let message = config_message(&SAMPLE.replace(r#"probe = "list_user_pools""#, "probe = 7"));
    assert!(message.contains("target `emu`"), "{message}");
    assert!(message.contains("probe"), "{message}");
}

#[test]
fn target_unpinned_package_is_refused() {
    let message = config_message(&SAMPLE.replace("helper==0.1", "helper>=0.1"));
    assert!(message.contains("target `emu`"), "{message}");
    assert!(message.contains("field `install.extra`"), "{message}");
    assert!(message.contains("helper>=0.1"), "{message}");
}

#[test]
fn target_version_must_match_first_package() {
    let message = config_message(&SAMPLE.replace("emu[server]==1.2.3", "emu[server]==1.2.4"));
    assert!(message.contains("field `install.packages`"), "{message}");
    assert!(message.contains("1.2.3"), "{message}");
}

#[test]
fn target_unknown_placeholder_is_refused() {
    let message = config_message(&SAMPLE.replace("{state_dir}/data", "{statedir}/data"));
    assert!(message.contains("target `emu`"), "{message}");
    assert!(message.contains("field `start.args`"), "{message}");
    assert!(message.contains("{statedir}"), "{message}");
}

#[test]
fn target_remote_endpoint_allows_only_region() {
    let message = config_message(&SAMPLE.replace("cognito-idp.{region}", "cognito-idp.{port}"));
    assert!(message.contains("target `remote`"), "{message}");
    assert!(message.contains("field `remote.endpoint`"), "{message}");
}

#[test]
fn target_unknown_default_is_refused() {
    let message = config_message(&SAMPLE.replace(r#"default = "emu""#, r#"default = "nope""#));
    assert!(message.contains("field `default`"), "{message}");
    assert!(message.contains("emu, remote"), "{message}");
}

#[test]
fn target_codes_fields_follow_their_kind() {
    let with_codes =
        format!("{SAMPLE}\n[targets.emu.codes]\nkind = \"fixed\"\nsign_up = \"1\"\nnote = \"n\"\n");
    let message = config_message(&with_codes);
    assert!(
        message.contains("field `codes.forgot_password`"),
        "{message}"
    );
    let bad_pattern = format!(
        "{SAMPLE}\n[targets.emu.codes]\nkind = \"log\"\npattern = 'Code: (\\d+)'\nnote = \"n\"\n"
    );
    let message = config_message(&bad_pattern);
    assert!(message.contains("named groups"), "{message}");
}

#[test]
fn target_placeholders_are_substituted_and_json_braces_kept() {
    let value_of = |name: &str| match name {
        "port" => Some("4711".to_string()),
        "state_dir" => Some("/tmp/s".to_string()),
        _ => None,
    };
    assert_eq!(
        substitute("127.0.0.1:{port} {state_dir}/x {port}", &value_of),
        "127.0.0.1:4711 /tmp/s/x 4711"
    );
    let json = r#"{"UserPoolDefaults": {"UsernameAttributes": []}}"#;
    assert_eq!(substitute(json, &value_of), json);
    assert_eq!(placeholders(json).count(), 0);
    assert_eq!(
        placeholders("{a_b}{}{X}{c")
            .map(|(_, n)| n)
            .collect::<Vec<_>>(),
        ["a_b"]
    );
}

#[test]
fn target_pinned_versions_are_recognised() {
    assert_eq!(
        pinned_version(InstallKind::Pip, "moto[server]==5.2.5"),
        Some("5.2.5")
    );
    assert_eq!(pinned_version(InstallKind::Pip, "moto>=5"), None);
    assert_eq!(
        pinned_version(InstallKind::Npm, "cognito-local@5.3.0"),
        Some("5.3.0")
    );
    assert_eq!(
        pinned_version(InstallKind::Npm, "@scope/pkg@1.0.0"),
        Some("1.0.0")
    );
    assert_eq!(pinned_version(InstallKind::Npm, "@scope/pkg"), None);
    assert_eq!(pinned_version(InstallKind::Npm, "pkg@^1.0.0"), None);
    assert_eq!(
        pinned_version(InstallKind::Cargo, "fakecloud@0.51.0"),
        Some("0.51.0")
    );
    assert_eq!(pinned_version(InstallKind::Cargo, "fakecloud"), None);
}

#[test]
fn target_install_steps_follow_the_recipe() {
    let targets = Targets::load_default().expect("shipped file");
    let steps = |name: &str| {
        let spec = targets.get(name).expect("target");
        let recipe = spec
            .local()
            .and_then(|l| l.install.clone())
            .expect("install");
        install_steps(&recipe, Path::new("/c/t"), Path::new("/c/t.cargo-target"))
            .iter()
            .map(InstallStep::display)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        steps("ministack"),
        [
            "python3 -m venv /c/t/venv",
            "/c/t/venv/bin/python -m pip install --disable-pip-version-check --no-input ministack==1.5.33 cryptography==50.0.2"
        ]
    );
    assert_eq!(
        steps("cognito-local"),
        ["npm install --prefix /c/t --no-audit --no-fund cognito-local@5.3.0"]
    );
    assert_eq!(
        steps("fakecloud"),
        ["CARGO_TARGET_DIR=/c/t.cargo-target CARGO_PROFILE_RELEASE_OPT_LEVEL=0 cargo install --locked --root /c/t fakecloud@0.51.0"]
    );
}

#[test]
fn target_install_state_tracks_the_recipe() {
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let cache = Cache::new(cache_dir.path());
    let targets = parse(SAMPLE).expect("sample");
    let emu = targets.get("emu").expect("emu");
    assert_eq!(emu.install_state(&cache), InstallState::NotInstalled);
    assert_eq!(
        cache.install_dir(emu),
        cache_dir.path().join("targets/emu-1.2.3")
    );
    let recipe = emu
        .local()
        .and_then(|l| l.install.as_ref())
        .expect("install");
    fs::create_dir_all(cache.install_dir(emu)).expect("mkdir");
    let marker = cache.install_dir(emu).join(INSTALLED_MARKER);
    fs::write(&marker, install_fingerprint(recipe)).expect("marker");
    assert_eq!(emu.install_state(&cache), InstallState::Installed);
    fs::write(&marker, "an older recipe").expect("marker");
    assert_eq!(emu.install_state(&cache), InstallState::NotInstalled);
    let remote = targets.get("remote").expect("remote");
    assert_eq!(remote.install_state(&cache), InstallState::NoInstallNeeded);
}

#[test]
fn target_install_failure_names_command_log_and_last_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let targets = parse(SAMPLE).expect("sample");
    let emu = targets.get("emu").expect("emu");
    let log = dir.path().join("emu.install.log");
    let step = |program: &str, script: &str| InstallStep {
        program: program.to_string(),
        args: vec!["-c".to_string(), script.to_string()],
        env: Vec::new(),
    };
    let steps = [
        step("sh", "echo first step fine"),
        step(
            "sh",
            "echo 'ERROR: No matching distribution for emu==1.2.3' >&2; exit 1",
        ),
        step("sh", "echo never runs"),
    ];
    let err = emu
        .run_install_steps(&steps, dir.path(), &log)
        .expect_err("fails")
        .to_string();
    assert!(err.starts_with("target `emu`: install failed"), "{err}");
    assert!(
        err.contains("`sh -c echo 'ERROR"),
        "names the command: {err}"
    );
    assert!(err.contains("exit status 1"), "{err}");
    assert!(
        err.contains(&log.display().to_string()),
        "names the log: {err}"
    );
    assert!(
        err.contains("No matching distribution"),
        "quotes the log: {err}"
    );
    assert!(!err.contains("never runs"), "{err}");
    let missing = [InstallStep {
        program: "cogcheck-no-such-package-manager".to_string(),
        args: Vec::new(),
        env: Vec::new(),
    }];
    let err = emu
        .run_install_steps(&missing, dir.path(), &log)
        .expect_err("missing tool")
        .to_string();
    assert!(
        err.contains("`cogcheck-no-such-package-manager` was not found"),
        "{err}"
    );
}

#[test]
fn target_slow_install_needs_explicit_permission() {
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let cache = Cache::new(cache_dir.path());
    let targets = Targets::load_default().expect("shipped file");
    let fakecloud = targets.get("fakecloud").expect("fakecloud");
    let err = fakecloud
        .install(&cache, false)
        .expect_err("slow")
        .to_string();
    assert!(err.contains("target `fakecloud`"), "{err}");
    assert!(err.contains("allow_slow"), "{err}");
    assert!(!cache.install_dir(fakecloud).exists());
    let err = fakecloud
        .start(&cache, false)
        .expect_err("slow")
        .to_string();
    assert!(err.contains("never installed implicitly"), "{err}");
}

#[test]
fn target_remote_needs_its_opt_in() {
    let targets = parse(SAMPLE).expect("sample");
    let cache = Cache::new("/nonexistent-cogcheck-cache");
    let err = targets
        .get("remote")
        .expect("remote")
        .start(&cache, false)
        .expect_err("no opt-in")
        .to_string();
    assert!(
        err.contains("COGCHECK_TEST_OPT_IN_NEVER_SET_4711=1"),
        "{err}"
    );
}

#[test]
fn target_env_conventions() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(region_from(env(&[])), "us-east-1");
    assert_eq!(
        region_from(env(&[("AWS_DEFAULT_REGION", "eu-west-1")])),
        "eu-west-1"
    );
    assert_eq!(
        region_from(env(&[
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_REGION", "ap-south-1")
        ])),
        "ap-south-1"
    );
    assert_eq!(
        credentials_from(env(&[("AWS_ACCESS_KEY_ID", "AKID")])),
        None
    );
    let creds = credentials_from(env(&[
        ("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_SECRET_ACCESS_KEY", "s3cr3t"),
        ("AWS_SESSION_TOKEN", "tok3n"),
    ]))
    .expect("complete");
    assert_eq!(creds.session_token.as_deref(), Some("tok3n"));
    let shown = format!("{creds:?}");
    assert!(shown.contains("AKID") && !shown.contains("s3cr3t") && !shown.contains("tok3n"));
    assert_eq!(endpoint_override_from(env(&[])), None);
    assert_eq!(
        endpoint_override_from(env(&[
            ("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "http://b"),
            ("COGCHECK_ENDPOINT", "http://a"),
        ])),
        Some("http://a".to_string())
    );
    assert_eq!(
        endpoint_override_from(env(&[(
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
            "http://b"
        )])),
        Some("http://b".to_string())
    );
}

#[test]
fn target_cognito_local_code_pattern_reads_its_box() {
    // As cognito-local 5.3.0 printed it here (colours included).
    let log = "[1795711645571] \u{1b}[32mINFO\u{1b}[39m: \u{1b}[36m9a23e4df SignUp ╭────╮\n\
               │                                │\n\
               │   Confirmation Code Delivery   │\n\
               │                                │\n\
               │   Username:    alice           │\n\
               │   Destination: a@example.com   │\n\
               │   Code:        198295          │\n\
               ╰────╯\u{1b}[39m\n";
    let targets = Targets::load_default().expect("shipped file");
    let Some(CodeSource::Log { pattern, .. }) = &targets.get("cognito-local").expect("t").codes
    else {
        panic!("cognito-local codes come from its log");
    };
    let regex = regex::Regex::new(pattern).expect("valid");
    let text = strip_ansi(log);
    let captures = regex.captures(&text).expect("a match");
    assert_eq!(&captures["username"], "alice");
    assert_eq!(&captures["code"], "198295");
    // A box without a numeric code (an invitation's temporary password) must not take the
    // code of the box after it: bob would be sent alice's code.
    let bob = "╭──╮\n│ Confirmation Code Delivery │\n│ Username: bob │\n\
               │ Code: Tmp!pass1 │\n╰──╯\n";
    let text = strip_ansi(&format!("{bob}{log}"));
    let found: Vec<(String, String)> = regex
        .captures_iter(&text)
        .map(|c| (c["username"].to_string(), c["code"].to_string()))
        .collect();
    assert_eq!(found, vec![("alice".to_string(), "198295".to_string())]);
}

#[test]
fn target_log_tail_strips_colours_and_keeps_the_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log");
    let lines: Vec<String> = (0..30)
        .map(|i| format!("\u{1b}[31mline {i}\u{1b}[0m"))
        .collect();
    fs::write(&path, lines.join("\n")).expect("write");
    let tail = log_tail(&path);
    assert!(!tail.contains("line 9\n") && tail.contains("line 10") && tail.ends_with("line 29"));
    assert!(!tail.contains('\u{1b}'));
    assert!(log_tail(&dir.path().join("missing")).contains("missing"));
}

#[test]
fn target_state_dir_names_carry_their_owner() {
    assert_eq!(state_dir_owner("cogcheck-moto-4242-Ab12Cd"), Some(4242));
    assert_eq!(state_dir_owner("cogcheck-cognito-local-7-x9y8z7"), Some(7));
    assert_eq!(state_dir_owner("cogcheck-botocore-2xonsrfj"), None);
    assert_eq!(state_dir_owner("other-moto-4242-Ab12Cd"), None);
    assert_eq!(state_dir_owner("cogcheck--4242-Ab12Cd"), None);
}

#[test]
fn target_sweep_removes_only_dirs_of_dead_runners() {
    let temp = tempfile::tempdir().expect("tempdir");
    // Beyond the default pid_max and the 4M limit: no process has this pid.
    let dead = temp.path().join("cogcheck-moto-2147483000-AAAAAA");
    let alive = temp
        .path()
        .join(format!("cogcheck-moto-{}-BBBBBB", std::process::id()));
    let unrelated = temp.path().join("cogcheck-botocore-2xonsrfj");
    for dir in [&dead, &alive, &unrelated] {
        fs::create_dir(dir).expect("mkdir");
    }
    sweep_stale_state_dirs(temp.path());
    assert!(!dead.exists() && alive.exists() && unrelated.exists());
}

#[test]
fn target_header_names_the_target() {
    assert_eq!(
        target_of_header("[targets.moto.start]").as_deref(),
        Some("moto")
    );
    assert_eq!(
        target_of_header("[[targets.\"a.b\".start.files]]").as_deref(),
        Some("a.b")
    );
    assert_eq!(target_of_header("[other]"), None);
}

#[test]
fn target_earlier_versions_re_pin_the_same_recipe() {
    let text = SAMPLE.replace(
        "version = \"1.2.3\"\n",
        "version = \"1.2.3\"\nearlier_versions = [\"1.1.9\", \"1.0.0\"]\n",
    );
    let targets = parse(&text).expect("parses");
    assert_eq!(targets.earlier_names("emu"), ["emu@1.1.9", "emu@1.0.0"]);
    assert_eq!(targets.names(), ["emu", "remote"], "no column of its own");
    let old = targets.get("emu@1.1.9").expect("earlier version");
    assert_eq!((old.name.as_str(), old.version.as_str()), ("emu", "1.1.9"));
    let install = old
        .local()
        .and_then(|l| l.install.clone())
        .expect("install");
    assert_eq!(install.packages, ["emu[server]==1.1.9"]);
    assert_eq!(
        install.extra,
        ["helper==0.1"],
        "only the target itself is re-pinned"
    );
    let cache = Cache::new("/c");
    assert_eq!(cache.install_dir(old), Path::new("/c/targets/emu-1.1.9"));
    let err = targets.get("emu@9").unwrap_err().to_string();
    assert!(err.contains("1.1.9, 1.0.0"), "{err}");

    // An npm package with a scope keeps its scope.
    let npm = SAMPLE
        .replace(
            "version = \"1.2.3\"\n",
            "version = \"1.2.3\"\nearlier_versions = [\"1.0.0\"]\n",
        )
        .replace("kind = \"pip\"", "kind = \"npm\"")
        .replace("\"emu[server]==1.2.3\"", "\"@scope/emu@1.2.3\"")
        .replace("\"helper==0.1\"", "\"helper@0.1\"");
    let targets = parse(&npm).expect("parses");
    let old = targets.get("emu@1.0.0").expect("earlier version");
    let install = old
        .local()
        .and_then(|l| l.install.clone())
        .expect("install");
    assert_eq!(install.packages, ["@scope/emu@1.0.0"]);

    for (bad, says) in [
        ("[\"1.2.3\"]", "listed twice"),
        ("[\"1.0\", \"1.0\"]", "listed twice"),
        ("[\">=1.0\"]", "not an exact version"),
    ] {
        let text = SAMPLE.replace(
            "version = \"1.2.3\"\n",
            &format!("version = \"1.2.3\"\nearlier_versions = {bad}\n"),
        );
        let message = config_message(&text);
        assert!(
            message.contains("target `emu`: field `earlier_versions`") && message.contains(says),
            "{bad}: {message}"
        );
    }
    let remote = SAMPLE.replace(
        "version = \"live\"\n",
        "version = \"live\"\nearlier_versions = [\"old\"]\n",
    );
    assert!(config_message(&remote).contains("only a target with an `install` recipe"));
}

#[test]
fn target_unsupported_log_names_the_action() {
    let targets = Targets::load_default().expect("shipped file");
    let moto = targets.get("moto").expect("moto");
    let line = moto
        .unsupported_log
        .as_deref()
        .expect("moto says it in its log");
    assert_eq!(
        super::TargetSpec::unsupported_line(line, "GetUserAuthFactors"),
        "The get_user_auth_factors action has not been implemented"
    );
    // A run of capitals is one word, as moto spells the method it looks for.
    for (action, snake) in [
        ("GetCSVHeader", "get_csv_header"),
        ("GetUICustomization", "get_ui_customization"),
        ("ListCIMDPolicies", "list_cimd_policies"),
        ("AdminSetUserMFAPreference", "admin_set_user_mfa_preference"),
        ("DescribeUserPool", "describe_user_pool"),
    ] {
        assert_eq!(
            super::TargetSpec::unsupported_line("{action_snake}", action),
            snake
        );
    }
    assert!(targets
        .get("ministack")
        .expect("ministack")
        .unsupported_log
        .is_none());
    let text = SAMPLE.replace(
        "configuration = \"an emulator\"\n",
        "configuration = \"an emulator\"\nunsupported_log = \"lacks {operation}\"\n",
    );
    assert!(config_message(&text).contains("field `unsupported_log`: unknown placeholder"));
    let text = SAMPLE.replace(
        "configuration = \"an emulator\"\n",
        "configuration = \"an emulator\"\nunsupported_log = \"not implemented\"\n",
    );
    assert!(config_message(&text).contains("must name the action"));
}

#[test]
fn target_install_steps_run_with_their_environment() {
    // The cargo step's CARGO_TARGET_DIR is what makes an interrupted install resume, so it
    // must reach the command, not only its display.
    let dir = tempfile::tempdir().expect("tempdir");
    let targets = parse(SAMPLE).expect("sample");
    let emu = targets.get("emu").expect("emu");
    let steps = [InstallStep {
        program: "sh".to_string(),
        args: vec![
            "-c".to_string(),
            "printf %s \"$COGCHECK_TEST_VALUE\" > seen".to_string(),
        ],
        env: vec![("COGCHECK_TEST_VALUE".to_string(), "kept".to_string())],
    }];
    emu.run_install_steps(&steps, dir.path(), &dir.path().join("emu.install.log"))
        .expect("runs");
    assert_eq!(
        fs::read_to_string(dir.path().join("seen")).expect("written"),
        "kept"
    );
}
