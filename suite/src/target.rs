//! Named targets: endpoints, credentials, and for local emulators install / start / ready / stop.
//!
//! A target is a name from `fixtures/targets.toml` (see the comments at the top of that file for
//! its format): either a local emulator with a pinned version and a recipe to install, start,
//! probe and reset it, or a remote endpoint (real Amazon Cognito) that needs an explicit opt-in.
//!
//! The pipeline is `targets.toml` -> [`Targets`] (parsed and validated) -> [`TargetSpec`] ->
//! [`TargetSpec::start`] -> [`RunningTarget`] (an endpoint with credentials) -> stop.
//!
//! ```no_run
//! use cogcheck::target::{Cache, Targets};
//! # fn main() -> cogcheck::error::Result<()> {
//! cogcheck::target::install_signal_cleanup(); // Ctrl-C must not leave emulators behind
//! let targets = Targets::load_default()?;
//! let cache = Cache::default_location()?;
//! let mut moto = targets.get("moto")?.start(&cache, false)?; // installs into the cache on first use
//! println!("moto {} answers at {}", moto.version, moto.endpoint);
//! moto.stop()?; // dropping it stops it too
//! # Ok(())
//! # }
//! ```
//!
//! Local emulators run in their own process group on a free `127.0.0.1` port. Their own group
//! keeps the terminal's Ctrl-C from reaching them half-way through a run, so the runner has to
//! stop them itself: [`RunningTarget::stop`] and `Drop` (which also runs when a panic unwinds)
//! kill the whole group, and [`install_signal_cleanup`] does it on SIGINT / SIGTERM / SIGHUP.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::io::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The format version of `targets.toml` this module reads.
const SCHEMA: u32 = 1;
/// How long a stopping target gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// Readiness timeout when `targets.toml` names none.
const DEFAULT_READY_TIMEOUT_SECS: u64 = 60;
/// Lines of a log quoted in an error.
const LOG_TAIL_LINES: usize = 20;
/// The shipped targets file, for a binary run away from its source tree.
const BUILTIN_TARGETS: &str = include_str!("../../fixtures/targets.toml");
/// Placeholders a start recipe may use.
const START_PLACEHOLDERS: &[&str] = &[
    "install_dir",
    "port",
    "state_dir",
    "region",
    "access_key_id",
    "secret_access_key",
];

// ------------------------------------------------------------------------------------------------
// Environment: endpoint override, region, credentials.

/// The endpoint the suite should use instead of starting a target: `COGCHECK_ENDPOINT`, else
/// `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER` (the AWS SDKs' service-specific override), else
/// `None` (start a local target). Empty values count as unset.
pub fn endpoint_override() -> Option<String> {
    endpoint_override_from(env_lookup)
}

fn endpoint_override_from(get: impl Fn(&str) -> Option<String>) -> Option<String> {
    get("COGCHECK_ENDPOINT").or_else(|| get("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"))
}

/// The region by AWS conventions: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`
/// (every emulator accepts it).
pub fn region_from_env() -> String {
    region_from(env_lookup)
}

fn region_from(get: impl Fn(&str) -> Option<String>) -> String {
    get("AWS_REGION")
        .or_else(|| get("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".to_string())
}

/// AWS credentials. `Debug` never prints the secret or the session token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key id (`AWS_ACCESS_KEY_ID`).
    pub access_key_id: String,
    /// The secret access key (`AWS_SECRET_ACCESS_KEY`).
    pub secret_access_key: String,
    /// The session token of temporary credentials (`AWS_SESSION_TOKEN`).
    pub session_token: Option<String>,
}

impl Credentials {
    /// The harmless credentials emulators are driven with: `testing` / `testing`.
    pub fn emulator_default() -> Credentials {
        Credentials {
            access_key_id: "testing".to_string(),
            secret_access_key: "testing".to_string(),
            session_token: None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Credentials by AWS conventions (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`); when the key id or the secret is missing, the emulator default
/// `testing` / `testing` (a half-set pair is never mixed with a default).
pub fn credentials_from_env() -> Credentials {
    credentials_from(env_lookup).unwrap_or_else(Credentials::emulator_default)
}

fn credentials_from(get: impl Fn(&str) -> Option<String>) -> Option<Credentials> {
    Some(Credentials {
        access_key_id: get("AWS_ACCESS_KEY_ID")?,
        secret_access_key: get("AWS_SECRET_ACCESS_KEY")?,
        session_token: get("AWS_SESSION_TOKEN"),
    })
}

/// The variable that must be `1` before the suite talks to real Amazon Cognito.
pub const AWS_OPT_IN_ENV: &str = "COGCHECK_ALLOW_AWS";

/// Refuses to go on unless `COGCHECK_ALLOW_AWS=1`: for an endpoint that is real Amazon Cognito
/// however it was named (the `aws` target checks its own `opt_in_env` when it starts).
pub fn check_aws_opt_in() -> Result<()> {
    check_opt_in("aws", AWS_OPT_IN_ENV)
}

fn check_opt_in(target: &str, variable: &str) -> Result<()> {
    if env_lookup(variable).as_deref() == Some("1") {
        return Ok(());
    }
    Err(Error::Target {
        target: target.to_string(),
        message: format!(
            "talks to real Amazon Cognito (it may cost money and needs an AWS account): set {variable}=1 to allow it"
        ),
    })
}

/// An environment variable, with empty values treated as unset (as the AWS SDKs do).
fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

// ------------------------------------------------------------------------------------------------
// The parsed targets file.

/// The targets of a `targets.toml`, validated: every target has a pinned version, a
/// configuration line, and either a complete local recipe or a remote endpoint.
#[derive(Debug, Clone)]
pub struct Targets {
    path: PathBuf,
    default: String,
    targets: BTreeMap<String, TargetSpec>,
}

impl Targets {
    /// Reads and validates a targets file. A malformed file gives an [`Error::Config`] naming
    /// the file, the target and the field (and the line, for a TOML syntax or type error).
    pub fn load(path: &Path) -> Result<Targets> {
        let text = fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Targets::parse(&text, path)
    }

    /// Reads the project's targets: the file named by `COGCHECK_TARGETS`, else
    /// `fixtures/targets.toml` of the source tree this crate was built from, else (for a binary
    /// run away from its source tree) the copy compiled into it.
    pub fn load_default() -> Result<Targets> {
        if let Some(path) = env_lookup("COGCHECK_TARGETS") {
            return Targets::load(Path::new(&path));
        }
        let path = crate::repo_path("fixtures/targets.toml");
        if path.exists() {
            Targets::load(&path)
        } else {
            Targets::parse(
                BUILTIN_TARGETS,
                Path::new("<built-in fixtures/targets.toml>"),
            )
        }
    }

    /// Parses targets from text; `path` only names the source in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Targets> {
        let raw: RawFile = toml::from_str(text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: describe_toml_error(text, &e),
        })?;
        let config_err = |message: String| Error::Config {
            path: path.to_path_buf(),
            message,
        };
        if raw.schema != SCHEMA {
            return Err(config_err(format!(
                "field `schema`: version {} is not supported (this cogcheck reads {SCHEMA})",
                raw.schema
            )));
        }
        let mut targets = BTreeMap::new();
        for (name, raw_target) in raw.targets {
            let spec = validate_target(&name, raw_target)
                .map_err(|message| config_err(format!("target `{name}`: {message}")))?;
            targets.insert(name, spec);
        }
        if !targets.contains_key(&raw.default) {
            return Err(config_err(format!(
                "field `default`: `{}` is not a target here (known: {})",
                raw.default,
                join_names(targets.keys())
            )));
        }
        Ok(Targets {
            path: path.to_path_buf(),
            default: raw.default,
            targets,
        })
    }

    /// The file these targets were read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names of all targets, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.targets.keys().map(String::as_str).collect()
    }

    /// The name of the target used when none is named (`default` in the file: moto).
    pub fn default_name(&self) -> &str {
        &self.default
    }

    /// The target used when none is named (`default` in the file: moto).
    pub fn default_target(&self) -> &TargetSpec {
        // Invariant: `parse` refuses a file whose `default` names no target.
        &self.targets[&self.default]
    }

    /// The target called `name`; an unknown name gives an error listing the known ones.
    pub fn get(&self, name: &str) -> Result<&TargetSpec> {
        self.targets.get(name).ok_or_else(|| Error::Target {
            target: name.to_string(),
            message: format!(
                "no such target in {} (known targets: {})",
                self.path.display(),
                join_names(self.targets.keys())
            ),
        })
    }
}

fn join_names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names.map(String::as_str).collect::<Vec<_>>().join(", ")
}

/// One target: a local emulator with its recipe, or a remote endpoint.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TargetSpec {
    /// The target's name (`moto`, `ministack`, `cognito-local`, `fakecloud`, `aws`, ...).
    pub name: String,
    /// The pinned version installed and reported (`live` for real AWS).
    pub version: String,
    /// One line describing the configuration it runs in, as reports state it.
    pub configuration: String,
    /// How the target hands out the codes Cognito would send by e-mail or SMS, where known.
    pub codes: Option<CodeSource>,
    /// The credentials a local emulator is told to accept and is driven with (`credentials`
    /// in the file, else `testing` / `testing`), so the caller's real AWS keys never reach an
    /// emulator. Not used for a remote target, which takes the caller's credentials from the
    /// environment: [`RunningTarget::credentials`] is the one to sign with in every case.
    pub credentials: Credentials,
    /// Local recipe or remote endpoint.
    pub kind: TargetKind,
}

/// Where a target runs.
#[derive(Debug, Clone)]
pub enum TargetKind {
    /// An emulator installed into the cache and started on this machine.
    Local(LocalRecipe),
    /// An endpoint elsewhere (real Amazon Cognito), used only with an explicit opt-in.
    Remote(RemoteEndpoint),
}

/// How a local emulator is installed, started, probed and reset.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LocalRecipe {
    /// How to install it; `None` when its command is already on the machine.
    pub install: Option<InstallRecipe>,
    /// How to start it.
    pub start: StartRecipe,
    /// How to know it answers.
    pub ready: ReadyProbe,
    /// Its endpoint that clears all state, if it has one.
    pub reset: Option<ResetEndpoint>,
}

/// An install recipe with pinned packages.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InstallRecipe {
    /// The package manager.
    pub kind: InstallKind,
    /// Pinned package specs; the first one pins the target's version.
    pub packages: Vec<String>,
    /// Further packages installed alongside (e.g. `cryptography` for ministack).
    pub extra: Vec<String>,
    /// A first install takes so long (compiling) that it happens only when explicitly allowed.
    pub slow: bool,
}

/// The package manager an install recipe uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstallKind {
    /// `python3 -m venv` + `pip install` (specs `name==version`).
    Pip,
    /// `npm install --prefix` (specs `name@version`).
    Npm,
    /// `cargo install --locked --root` (one spec `name@version`).
    Cargo,
}

/// How to start a local emulator; strings may hold placeholders (see `targets.toml`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StartRecipe {
    /// The program: a path, or a name looked up on `PATH`.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment added to the caller's.
    pub env: BTreeMap<String, String>,
    /// Files written before it starts (configuration in its state directory).
    pub files: Vec<StateFile>,
}

/// A file written before a target starts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StateFile {
    /// Where (placeholders allowed; normally under `{state_dir}`).
    pub path: String,
    /// What.
    pub content: String,
}

/// How to know a started emulator answers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReadyProbe {
    /// The request that must succeed.
    pub kind: ProbeKind,
    /// How long to wait for it after the process starts.
    pub timeout: Duration,
}

/// The request of a readiness probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeKind {
    /// A SigV4-signed cognito-idp `ListUserPools` (`{"MaxResults":1}`) answered with HTTP 200.
    ListUserPools,
    /// A `GET` of this path answered with a 2xx status.
    HttpGet {
        /// The path, starting with `/`.
        path: String,
    },
}

/// An endpoint that clears all of an emulator's state.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ResetEndpoint {
    /// HTTP method (POST for all known emulators).
    pub method: String,
    /// Path, starting with `/`.
    pub path: String,
}

/// A remote target.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RemoteEndpoint {
    /// The endpoint URL; may hold `{region}`.
    pub endpoint: String,
    /// The environment variable that must be `1` before the suite talks to it.
    pub opt_in_env: String,
}

/// How a target exposes the confirmation codes that Cognito delivers by e-mail or SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeSource {
    /// The target does not check codes: any code confirms.
    Unchecked {
        /// The details (which actions, exceptions).
        note: String,
    },
    /// The target always issues the same codes.
    Fixed {
        /// The code of sign-up confirmation.
        sign_up: String,
        /// The code of a forgotten-password reset.
        forgot_password: String,
        /// The details.
        note: String,
    },
    /// The target prints codes to its output; see [`RunningTarget::codes_in_log`].
    Log {
        /// A regular expression (fancy-regex syntax) with named groups `username` and `code`.
        pattern: String,
        /// The details.
        note: String,
    },
    /// The target serves codes over HTTP at this path (a `GET` answers JSON).
    Endpoint {
        /// The path, starting with `/`.
        path: String,
        /// The details.
        note: String,
    },
}

// ------------------------------------------------------------------------------------------------
// Raw file format: serde structs, then validation into the public types. Kept apart so that the
// public types stay free of serde's defaults and every semantic check names target and field.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    schema: u32,
    default: String,
    targets: BTreeMap<String, RawTarget>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    version: String,
    configuration: String,
    install: Option<RawInstall>,
    start: Option<RawStart>,
    ready: Option<RawReady>,
    reset: Option<RawReset>,
    codes: Option<RawCodes>,
    credentials: Option<RawCredentials>,
    remote: Option<RawRemote>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstall {
    kind: InstallKind,
    packages: Vec<String>,
    #[serde(default)]
    extra: Vec<String>,
    #[serde(default)]
    slow: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStart {
    command: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    files: Vec<RawStateFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStateFile {
    path: String,
    content: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReady {
    probe: RawProbe,
    path: Option<String>,
    timeout_secs: Option<u64>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum RawProbe {
    ListUserPools,
    HttpGet,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReset {
    #[serde(default = "default_reset_method")]
    method: String,
    path: String,
}

fn default_reset_method() -> String {
    "POST".to_string()
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum RawCodeKind {
    Unchecked,
    Fixed,
    Log,
    Endpoint,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCodes {
    kind: RawCodeKind,
    note: String,
    sign_up: Option<String>,
    forgot_password: Option<String>,
    pattern: Option<String>,
    path: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredentials {
    access_key_id: String,
    secret_access_key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRemote {
    endpoint: String,
    opt_in_env: String,
}

/// A TOML error as "target `x`: line L, column C (`the line`): message", naming the target from
/// the table header that encloses the error.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim();
    let Some(span) = error.span() else {
        return message.to_string();
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    // The line itself names the field when toml's message does not ("wanted string or table").
    let source_line: String = text
        .lines()
        .nth(line - 1)
        .unwrap_or_default()
        .trim()
        .chars()
        .take(100)
        .collect();
    let target = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .and_then(target_of_header);
    let place = format!("line {line}, column {column} (`{source_line}`)");
    match target {
        Some(name) => format!("target `{name}`: {place}: {message}"),
        None => format!("{place}: {message}"),
    }
}

/// The target a table header like `[targets.moto.start]` or `[[targets."x".start.files]]`
/// belongs to.
fn target_of_header(header: &str) -> Option<String> {
    let inner = header.trim_start_matches('[').trim_end_matches(']').trim();
    let rest = inner.strip_prefix("targets.")?;
    let name = if let Some(quoted) = rest.strip_prefix('"') {
        quoted.split('"').next()?
    } else {
        rest.split('.').next()?
    };
    Some(name.trim().to_string())
}

fn validate_target(name: &str, raw: RawTarget) -> std::result::Result<TargetSpec, String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("a target name is lowercase letters, digits and `-`".to_string());
    }
    if raw.version.trim().is_empty() {
        return Err("field `version`: must name the pinned version".to_string());
    }
    if raw.configuration.trim().is_empty() {
        return Err("field `configuration`: must describe the configuration used".to_string());
    }
    let codes = raw.codes.map(validate_codes).transpose()?;
    let kind = match (raw.remote, raw.start) {
        (Some(_), Some(_)) => {
            return Err("a target has either `remote` or `start`, not both".to_string());
        }
        (None, None) => {
            return Err("missing `start` (a local emulator) or `remote` (an endpoint)".to_string());
        }
        (Some(remote), None) => {
            for (field, present) in [
                ("install", raw.install.is_some()),
                ("ready", raw.ready.is_some()),
                ("reset", raw.reset.is_some()),
                ("credentials", raw.credentials.is_some()),
            ] {
                if present {
                    return Err(format!("field `{field}`: not allowed with `remote`"));
                }
            }
            check_placeholders("remote.endpoint", &remote.endpoint, &["region"])?;
            if !remote.endpoint.starts_with("https://") && !remote.endpoint.starts_with("http://") {
                return Err("field `remote.endpoint`: must be an http(s) URL".to_string());
            }
            if remote.opt_in_env.trim().is_empty() {
                return Err("field `remote.opt_in_env`: must name a variable".to_string());
            }
            TargetKind::Remote(RemoteEndpoint {
                endpoint: remote.endpoint,
                opt_in_env: remote.opt_in_env,
            })
        }
        (None, Some(start)) => {
            let install = raw
                .install
                .map(|i| validate_install(&raw.version, i))
                .transpose()?;
            let start = validate_start(start)?;
            let ready = validate_ready(raw.ready)?;
            let reset = raw.reset.map(validate_reset).transpose()?;
            TargetKind::Local(LocalRecipe {
                install,
                start,
                ready,
                reset,
            })
        }
    };
    let credentials = raw
        .credentials
        .map_or_else(Credentials::emulator_default, |c| Credentials {
            access_key_id: c.access_key_id,
            secret_access_key: c.secret_access_key,
            session_token: None,
        });
    Ok(TargetSpec {
        name: name.to_string(),
        version: raw.version,
        configuration: raw.configuration,
        codes,
        credentials,
        kind,
    })
}

fn validate_install(version: &str, raw: RawInstall) -> std::result::Result<InstallRecipe, String> {
    let Some(first) = raw.packages.first() else {
        return Err("field `install.packages`: lists no package".to_string());
    };
    if raw.kind == InstallKind::Cargo && (raw.packages.len() != 1 || !raw.extra.is_empty()) {
        return Err(
            "field `install.packages`: cargo installs exactly one crate and no `extra`".to_string(),
        );
    }
    for (field, spec) in raw
        .packages
        .iter()
        .map(|p| ("install.packages", p))
        .chain(raw.extra.iter().map(|p| ("install.extra", p)))
    {
        if pinned_version(raw.kind, spec).is_none() {
            let form = match raw.kind {
                InstallKind::Pip => "name==version",
                InstallKind::Npm | InstallKind::Cargo => "name@version",
            };
            return Err(format!(
                "field `{field}`: `{spec}` does not pin an exact version (write `{form}`)"
            ));
        }
        if spec.starts_with('-') {
            return Err(format!(
                "field `{field}`: `{spec}` is an option, not a package"
            ));
        }
    }
    if pinned_version(raw.kind, first) != Some(version) {
        return Err(format!(
            "field `install.packages`: `{first}` does not install version `{version}` of field `version`"
        ));
    }
    Ok(InstallRecipe {
        kind: raw.kind,
        packages: raw.packages,
        extra: raw.extra,
        slow: raw.slow,
    })
}

/// The exact version a package spec pins, if it pins one.
fn pinned_version(kind: InstallKind, spec: &str) -> Option<&str> {
    let version = match kind {
        InstallKind::Pip => spec.split_once("==")?.1,
        // npm scopes start with `@`, so the version follows the last `@` after the first char.
        InstallKind::Npm | InstallKind::Cargo => {
            let at = spec.get(1..)?.rfind('@')? + 1;
            spec.get(at + 1..)?
        }
    };
    let exact = !version.is_empty()
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    exact.then_some(version)
}

fn validate_start(raw: RawStart) -> std::result::Result<StartRecipe, String> {
    if raw.command.trim().is_empty() {
        return Err("field `start.command`: is empty".to_string());
    }
    check_placeholders("start.command", &raw.command, START_PLACEHOLDERS)?;
    for arg in &raw.args {
        check_placeholders("start.args", arg, START_PLACEHOLDERS)?;
    }
    for (key, value) in &raw.env {
        check_placeholders(&format!("start.env.{key}"), value, START_PLACEHOLDERS)?;
    }
    let mut files = Vec::new();
    for file in raw.files {
        check_placeholders("start.files.path", &file.path, START_PLACEHOLDERS)?;
        check_placeholders("start.files.content", &file.content, START_PLACEHOLDERS)?;
        files.push(StateFile {
            path: file.path,
            content: file.content,
        });
    }
    Ok(StartRecipe {
        command: raw.command,
        args: raw.args,
        env: raw.env,
        files,
    })
}

fn validate_ready(raw: Option<RawReady>) -> std::result::Result<ReadyProbe, String> {
    let Some(raw) = raw else {
        return Err("missing `ready`: a local target needs a readiness probe".to_string());
    };
    let kind = match (raw.probe, raw.path) {
        (RawProbe::ListUserPools, None) => ProbeKind::ListUserPools,
        (RawProbe::ListUserPools, Some(_)) => {
            return Err("field `ready.path`: only for probe = \"http_get\"".to_string());
        }
        (RawProbe::HttpGet, Some(path)) if path.starts_with('/') => ProbeKind::HttpGet { path },
        (RawProbe::HttpGet, _) => {
            return Err(
                "field `ready.path`: probe = \"http_get\" needs a path starting with `/`"
                    .to_string(),
            );
        }
    };
    let secs = raw.timeout_secs.unwrap_or(DEFAULT_READY_TIMEOUT_SECS);
    if !(1..=3600).contains(&secs) {
        return Err(format!(
            "field `ready.timeout_secs`: {secs} is not between 1 and 3600"
        ));
    }
    Ok(ReadyProbe {
        kind,
        timeout: Duration::from_secs(secs),
    })
}

fn validate_reset(raw: RawReset) -> std::result::Result<ResetEndpoint, String> {
    if !raw.path.starts_with('/') {
        return Err("field `reset.path`: must start with `/`".to_string());
    }
    if raw.method.is_empty() || !raw.method.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "field `reset.method`: `{}` is not an HTTP method",
            raw.method
        ));
    }
    Ok(ResetEndpoint {
        method: raw.method,
        path: raw.path,
    })
}

fn validate_codes(raw: RawCodes) -> std::result::Result<CodeSource, String> {
    fn need(value: Option<String>, kind: &str, field: &str) -> std::result::Result<String, String> {
        value.ok_or_else(|| format!("field `codes.{field}`: required with kind = \"{kind}\""))
    }
    let given: Vec<&str> = [
        ("sign_up", raw.sign_up.is_some()),
        ("forgot_password", raw.forgot_password.is_some()),
        ("pattern", raw.pattern.is_some()),
        ("path", raw.path.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, present)| present.then_some(f))
    .collect();
    let (source, allowed): (CodeSource, &[&str]) = match raw.kind {
        RawCodeKind::Unchecked => (CodeSource::Unchecked { note: raw.note }, &[]),
        RawCodeKind::Fixed => (
            CodeSource::Fixed {
                sign_up: need(raw.sign_up, "fixed", "sign_up")?,
                forgot_password: need(raw.forgot_password, "fixed", "forgot_password")?,
                note: raw.note,
            },
            &["sign_up", "forgot_password"],
        ),
        RawCodeKind::Log => {
            let pattern = need(raw.pattern, "log", "pattern")?;
            let regex = fancy_regex::Regex::new(&pattern)
                .map_err(|e| format!("field `codes.pattern`: not a regular expression: {e}"))?;
            let names: Vec<&str> = regex.capture_names().flatten().collect();
            if !names.contains(&"username") || !names.contains(&"code") {
                return Err(
                    "field `codes.pattern`: needs named groups `username` and `code`".to_string(),
                );
            }
            (
                CodeSource::Log {
                    pattern,
                    note: raw.note,
                },
                &["pattern"],
            )
        }
        RawCodeKind::Endpoint => {
            let path = need(raw.path, "endpoint", "path")?;
            if !path.starts_with('/') {
                return Err("field `codes.path`: must start with `/`".to_string());
            }
            (
                CodeSource::Endpoint {
                    path,
                    note: raw.note,
                },
                &["path"],
            )
        }
    };
    if let Some(extra) = given.iter().find(|f| !allowed.contains(f)) {
        return Err(format!(
            "field `codes.{extra}`: not used by this kind of code source"
        ));
    }
    Ok(source)
}

// ------------------------------------------------------------------------------------------------
// Placeholders.

/// The `{word}` placeholders in a template; any other brace (JSON in file contents) is literal.
fn placeholders(template: &str) -> impl Iterator<Item = (usize, &str)> {
    template.match_indices('{').filter_map(move |(start, _)| {
        let rest = template.get(start + 1..)?;
        let end = rest.find(|c: char| !(c.is_ascii_lowercase() || c == '_'))?;
        (end > 0 && rest[end..].starts_with('}')).then(|| (start, &rest[..end]))
    })
}

fn check_placeholders(
    field: &str,
    template: &str,
    known: &[&str],
) -> std::result::Result<(), String> {
    match placeholders(template).find(|(_, name)| !known.contains(name)) {
        Some((_, name)) => Err(format!(
            "field `{field}`: unknown placeholder `{{{name}}}` (known here: {})",
            known
                .iter()
                .map(|k| format!("{{{k}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => Ok(()),
    }
}

/// Replaces known placeholders; unknown ones stay (validation refused them already).
fn substitute(template: &str, value_of: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut copied = 0;
    for (start, name) in placeholders(template) {
        if let Some(value) = value_of(name) {
            out.push_str(&template[copied..start]);
            out.push_str(&value);
            copied = start + name.len() + 2;
        }
    }
    out.push_str(&template[copied..]);
    out
}

// ------------------------------------------------------------------------------------------------
// Cache and installs.

/// The directory where emulators are installed, one subdirectory per target and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    /// The cache's root directory.
    pub root: PathBuf,
}

/// Whether a target still needs installing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallState {
    /// Installed in the cache with the current recipe.
    Installed,
    /// Not installed, or installed with a different recipe (an install replaces it).
    NotInstalled,
    /// Nothing to install (a remote target, or a command already on the machine).
    NoInstallNeeded,
}

impl fmt::Display for InstallState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InstallState::Installed => "installed",
            InstallState::NotInstalled => "not installed",
            InstallState::NoInstallNeeded => "no install needed",
        })
    }
}

impl Cache {
    /// A cache rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// `$COGCHECK_CACHE`, else the XDG cache directory (`$XDG_CACHE_HOME` or `~/.cache`)
    /// followed by `cogcheck`.
    pub fn default_location() -> Result<Cache> {
        if let Some(root) = env_lookup("COGCHECK_CACHE") {
            return Ok(Cache::new(root));
        }
        dirs::cache_dir()
            .map(|dir| Cache::new(dir.join("cogcheck")))
            .ok_or_else(|| Error::Config {
                path: PathBuf::from("$COGCHECK_CACHE"),
                message: "no cache directory: neither COGCHECK_CACHE, XDG_CACHE_HOME nor HOME is set; set COGCHECK_CACHE".to_string(),
            })
    }

    /// Where a target is installed: `<root>/targets/<name>-<version>`.
    pub fn install_dir(&self, spec: &TargetSpec) -> PathBuf {
        self.root
            .join("targets")
            .join(format!("{}-{}", spec.name, spec.version))
    }

    /// The log of a target's last install: `<root>/targets/<name>-<version>.install.log`.
    pub fn install_log(&self, spec: &TargetSpec) -> PathBuf {
        self.root
            .join("targets")
            .join(format!("{}-{}.install.log", spec.name, spec.version))
    }

    fn lock_path(&self, spec: &TargetSpec) -> PathBuf {
        self.root
            .join("targets")
            .join(format!("{}-{}.lock", spec.name, spec.version))
    }
}

/// Written last by an install; its content identifies the recipe, so a changed recipe reinstalls.
const INSTALLED_MARKER: &str = ".cogcheck-installed";

fn install_fingerprint(recipe: &InstallRecipe) -> String {
    format!(
        "cogcheck install 1\nkind = {:?}\npackages = {:?}\nextra = {:?}\n",
        recipe.kind, recipe.packages, recipe.extra
    )
}

/// An exclusive lock on a file (`flock`), released when dropped: installs of one target from
/// several test threads or processes take turns instead of writing one directory together.
struct InstallLock {
    _file: File,
}

impl InstallLock {
    fn acquire(path: &Path) -> io::Result<InstallLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        loop {
            // SAFETY: flock on a descriptor this function owns for the call's duration.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(InstallLock { _file: file });
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}

/// One command of an install recipe.
struct InstallStep {
    program: String,
    args: Vec<String>,
}

impl InstallStep {
    fn display(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn install_steps(recipe: &InstallRecipe, dir: &Path) -> Vec<InstallStep> {
    let dir_s = dir.display().to_string();
    let packages = recipe.packages.iter().chain(&recipe.extra).cloned();
    match recipe.kind {
        InstallKind::Pip => vec![
            InstallStep {
                program: "python3".to_string(),
                args: vec!["-m".into(), "venv".into(), format!("{dir_s}/venv")],
            },
            InstallStep {
                program: format!("{dir_s}/venv/bin/python"),
                args: [
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                ]
                .into_iter()
                .map(String::from)
                .chain(packages)
                .collect(),
            },
        ],
        InstallKind::Npm => vec![InstallStep {
            program: "npm".to_string(),
            args: ["install", "--prefix", &dir_s, "--no-audit", "--no-fund"]
                .into_iter()
                .map(String::from)
                .chain(packages)
                .collect(),
        }],
        InstallKind::Cargo => vec![InstallStep {
            program: "cargo".to_string(),
            args: ["install", "--locked", "--root", &dir_s]
                .into_iter()
                .map(String::from)
                .chain(packages)
                .collect(),
        }],
    }
}

/// What to do when a package manager is missing.
fn missing_tool_hint(program: &str) -> &'static str {
    match program {
        "python3" => "install Python 3 with venv (Debian: apt-get install python3 python3-venv)",
        "npm" => "install Node.js with npm (Debian: apt-get install nodejs npm)",
        "cargo" => "install Rust with cargo (rustup.rs)",
        _ => "check the install recipe",
    }
}

impl TargetSpec {
    /// The local recipe, or `None` for a remote target.
    pub fn local(&self) -> Option<&LocalRecipe> {
        match &self.kind {
            TargetKind::Local(recipe) => Some(recipe),
            TargetKind::Remote(_) => None,
        }
    }

    /// Whether the target is installed in `cache`.
    pub fn install_state(&self, cache: &Cache) -> InstallState {
        let Some(recipe) = self.local().and_then(|l| l.install.as_ref()) else {
            return InstallState::NoInstallNeeded;
        };
        let marker = cache.install_dir(self).join(INSTALLED_MARKER);
        match fs::read_to_string(marker) {
            Ok(content) if content == install_fingerprint(recipe) => InstallState::Installed,
            _ => InstallState::NotInstalled,
        }
    }

    /// Installs the target into `cache` unless it is installed already. Targets whose first
    /// install is slow (fakecloud compiles for ~35 minutes) install only with `allow_slow`.
    /// The package managers' output goes to [`Cache::install_log`]; a failure names the
    /// target, the command, the log and its last lines.
    pub fn install(&self, cache: &Cache, allow_slow: bool) -> Result<()> {
        let Some(recipe) = self.local().and_then(|l| l.install.as_ref()) else {
            return Ok(());
        };
        if self.install_state(cache) == InstallState::Installed {
            return Ok(());
        }
        if recipe.slow && !allow_slow {
            return Err(self.error(
                "is not installed, and its first install is a long compile (fakecloud: about 35 \
                 minutes on 2 cores), so it is never installed implicitly: install it explicitly \
                 first (`TargetSpec::install` with allow_slow = true)",
            ));
        }
        let dir = cache.install_dir(self);
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        let parent = cache.root.join("targets");
        fs::create_dir_all(&parent).map_err(io_err(&parent))?;
        let lock_path = cache.lock_path(self);
        let _lock = InstallLock::acquire(&lock_path).map_err(io_err(&lock_path))?;
        // Another thread or process may have finished the install while this one waited.
        if self.install_state(cache) == InstallState::Installed {
            return Ok(());
        }
        if dir.exists() {
            // A failed or outdated install: venvs are not relocatable, so start clean.
            fs::remove_dir_all(&dir).map_err(io_err(&dir))?;
        }
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let log_path = cache.install_log(self);
        self.run_install_steps(&install_steps(recipe, &dir), &dir, &log_path)?;
        let marker = dir.join(INSTALLED_MARKER);
        fs::write(&marker, install_fingerprint(recipe)).map_err(io_err(&marker))?;
        Ok(())
    }

    /// Runs install commands in `dir`, their output written to `log_path`; stops at the first
    /// failure with an error naming the command, the log and its last lines.
    fn run_install_steps(&self, steps: &[InstallStep], dir: &Path, log_path: &Path) -> Result<()> {
        let io_err = |source| Error::Io {
            path: log_path.to_path_buf(),
            source,
        };
        let mut log = File::create(log_path).map_err(io_err)?;
        for step in steps {
            let command_line = step.display();
            // The log is for people; a failed write must not fail the install.
            let _ = writeln!(log, "$ {command_line}");
            let stdout = log.try_clone().map_err(io_err)?;
            let stderr = log.try_clone().map_err(io_err)?;
            let began = Instant::now();
            let status = Command::new(&step.program)
                .args(&step.args)
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(stdout)
                .stderr(stderr)
                .status();
            let failure = match status {
                Ok(status) if status.success() => {
                    let _ = writeln!(log, "# done in {:.1} s", began.elapsed().as_secs_f64());
                    continue;
                }
                Ok(status) => format!("`{command_line}` failed ({})", describe_status(status)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => format!(
                    "`{}` was not found: {}",
                    step.program,
                    missing_tool_hint(&step.program)
                ),
                Err(e) => format!("`{command_line}` could not run: {e}"),
            };
            return Err(self.error(format!(
                "install failed: {failure}; log {}:\n{}",
                log_path.display(),
                log_tail(log_path)
            )));
        }
        Ok(())
    }

    /// Starts the target and waits until it answers.
    ///
    /// A local emulator is installed first if needed (a slow install only with
    /// `allow_slow_install`: see [`TargetSpec::install`]), then started in its own process group
    /// on a free 127.0.0.1 port with a fresh state directory, and probed until it answers or its
    /// `ready.timeout_secs` pass; if it exits or times out, the error quotes the end of its
    /// output and nothing is left running. A remote target needs its opt-in variable set to `1`
    /// and AWS credentials in the environment; it is not contacted here.
    ///
    /// Call [`install_signal_cleanup`] once in the program so Ctrl-C stops started emulators.
    pub fn start(&self, cache: &Cache, allow_slow_install: bool) -> Result<RunningTarget> {
        match &self.kind {
            TargetKind::Remote(remote) => self.connect_remote(remote),
            TargetKind::Local(recipe) => {
                self.install(cache, allow_slow_install)?;
                self.start_local(cache, recipe)
            }
        }
    }

    /// The capabilities scenarios may require (see `cogcheck::scenario::CAPABILITIES`):
    /// `codes` when the target's confirmation codes can be had in any way (read from an
    /// endpoint or a log, fixed, or not checked at all, in which case any code is the code a
    /// user would type), `aws` for real Amazon Cognito.
    pub fn capabilities(&self) -> Vec<String> {
        let mut capabilities = Vec::new();
        if self.codes.is_some() {
            capabilities.push("codes".to_string());
        }
        if matches!(self.kind, TargetKind::Remote(_)) {
            capabilities.push("aws".to_string());
        }
        capabilities
    }

    fn connect_remote(&self, remote: &RemoteEndpoint) -> Result<RunningTarget> {
        check_opt_in(&self.name, &remote.opt_in_env)?;
        let Some(credentials) = credentials_from(env_lookup) else {
            return Err(self.error(
                "needs AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones)",
            ));
        };
        let region = region_from_env();
        let endpoint = substitute(&remote.endpoint, &|name| {
            (name == "region").then(|| region.clone())
        });
        Ok(RunningTarget {
            name: self.name.clone(),
            version: self.version.clone(),
            endpoint,
            configuration: self.configuration.clone(),
            region,
            credentials,
            codes: self.codes.clone(),
            reset_endpoint: None,
            probe: None,
            process: None,
        })
    }

    fn start_local(&self, cache: &Cache, recipe: &LocalRecipe) -> Result<RunningTarget> {
        sweep_stale_state_dirs(&std::env::temp_dir());
        let state_dir = tempfile::Builder::new()
            .prefix(&format!("cogcheck-{}-{}-", self.name, std::process::id()))
            .tempdir()
            .map_err(|source| Error::Io {
                path: std::env::temp_dir(),
                source,
            })?;
        let port = free_port().map_err(|e| self.error(format!("no free 127.0.0.1 port: {e}")))?;
        let region = region_from_env();
        let install_dir = cache.install_dir(self).display().to_string();
        let state_dir_s = state_dir.path().display().to_string();
        let credentials = self.credentials.clone();
        let value_of = |name: &str| -> Option<String> {
            Some(match name {
                "install_dir" => install_dir.clone(),
                "port" => port.to_string(),
                "state_dir" => state_dir_s.clone(),
                "region" => region.clone(),
                "access_key_id" => credentials.access_key_id.clone(),
                "secret_access_key" => credentials.secret_access_key.clone(),
                _ => return None,
            })
        };
        for file in &recipe.start.files {
            let path = PathBuf::from(substitute(&file.path, &value_of));
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|source| Error::Io {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            fs::write(&path, substitute(&file.content, &value_of))
                .map_err(|source| Error::Io { path, source })?;
        }
        let log_path = state_dir.path().join("output.log");
        let log = File::create(&log_path).map_err(|source| Error::Io {
            path: log_path.clone(),
            source,
        })?;
        let log_err = log.try_clone().map_err(|source| Error::Io {
            path: log_path.clone(),
            source,
        })?;
        let program = substitute(&recipe.start.command, &value_of);
        let args: Vec<String> = recipe
            .start
            .args
            .iter()
            .map(|a| substitute(a, &value_of))
            .collect();
        let mut command = Command::new(&program);
        command
            .args(&args)
            .envs(
                recipe
                    .start
                    .env
                    .iter()
                    .map(|(k, v)| (k, substitute(v, &value_of))),
            )
            .current_dir(state_dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Its own group: one kill reaches its helpers too, and the terminal's Ctrl-C does not
            // stop it behind the runner's back (the runner stops it, see install_signal_cleanup).
            .process_group(0);
        let child = command.spawn().map_err(|e| {
            let what = if e.kind() == io::ErrorKind::NotFound {
                let hint = match self.install_state(cache) {
                    InstallState::Installed => {
                        "the install in the cache looks damaged: delete it and retry"
                    }
                    InstallState::NotInstalled => "the target is not installed",
                    InstallState::NoInstallNeeded => "install it or put it on PATH",
                };
                format!("start command `{program}` not found ({hint})")
            } else {
                format!("start command `{program}` could not start: {e}")
            };
            self.error(what)
        })?;
        let pid = child.id();
        register_group(pid);
        let running = RunningTarget {
            name: self.name.clone(),
            version: self.version.clone(),
            endpoint: format!("http://127.0.0.1:{port}"),
            configuration: self.configuration.clone(),
            region,
            credentials: self.credentials.clone(),
            codes: self.codes.clone(),
            reset_endpoint: recipe.reset.clone(),
            probe: Some(recipe.ready.clone()),
            process: Some(Process {
                child,
                pid,
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                log: log_path,
                _state_dir: state_dir,
            }),
        };
        // On error `running` is dropped here, which kills the process group.
        running.wait_ready(&recipe.ready)?;
        Ok(running)
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::Target {
            target: self.name.clone(),
            message: message.into(),
        }
    }
}

/// Removes state directories (`cogcheck-<target>-<pid>-<random>`) whose runner process is gone:
/// after a Ctrl-C the signal handler exits without destructors, so its directories stay behind.
fn sweep_stale_state_dirs(temp: &Path) {
    let Ok(entries) = fs::read_dir(temp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name.to_str().and_then(state_dir_owner) else {
            continue;
        };
        // SAFETY: signal 0 only checks whether the process exists.
        let gone = unsafe { libc::kill(owner, 0) } != 0
            && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            // Best effort: another runner may be sweeping the same directory right now.
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// The runner pid in a state directory name `cogcheck-<target>-<pid>-<random>`.
fn state_dir_owner(name: &str) -> Option<libc::pid_t> {
    let mut parts = name.rsplitn(3, '-');
    let _random = parts.next()?;
    let pid = parts.next()?;
    let rest = parts.next()?;
    let target = rest.strip_prefix("cogcheck-")?;
    if target.is_empty() || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok().filter(|pid| *pid > 0)
}

fn free_port() -> io::Result<u16> {
    // The port is free now; the emulator binds it a moment later. Another process could take it
    // in between, and then the emulator exits and start() reports it.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

// ------------------------------------------------------------------------------------------------
// Running targets.

/// A started (or connected) target: the endpoint and credentials the suite talks to. A local
/// emulator's whole process group is killed by [`RunningTarget::stop`] or on drop.
#[derive(Debug)]
#[non_exhaustive]
pub struct RunningTarget {
    /// The target's name.
    pub name: String,
    /// Its pinned version.
    pub version: String,
    /// Where it answers: `http://127.0.0.1:PORT` for a local emulator.
    pub endpoint: String,
    /// The configuration it runs in, one line.
    pub configuration: String,
    /// The region to sign for.
    pub region: String,
    /// The credentials to sign with.
    pub credentials: Credentials,
    codes: Option<CodeSource>,
    reset_endpoint: Option<ResetEndpoint>,
    probe: Option<ReadyProbe>,
    process: Option<Process>,
}

#[derive(Debug)]
struct Process {
    child: Child,
    /// The leader's pid, which is also the process group id (`process_group(0)`).
    pid: u32,
    addr: SocketAddr,
    log: PathBuf,
    /// Removed when the process is gone.
    _state_dir: tempfile::TempDir,
}

/// A code a target printed to its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveredCode {
    /// The user it was sent to.
    pub username: String,
    /// The code.
    pub code: String,
}

impl RunningTarget {
    /// An endpoint someone else runs (`COGCHECK_ENDPOINT`, see [`endpoint_override`]): nothing
    /// to start or stop; region and credentials come from the environment.
    pub fn external(endpoint: impl Into<String>) -> RunningTarget {
        RunningTarget {
            name: "endpoint".to_string(),
            version: "unknown".to_string(),
            endpoint: endpoint.into(),
            configuration: "an endpoint given by COGCHECK_ENDPOINT, run outside cogcheck"
                .to_string(),
            region: region_from_env(),
            credentials: credentials_from_env(),
            codes: None,
            reset_endpoint: None,
            probe: None,
            process: None,
        }
    }

    /// The process id of the emulator, which is also its process group id; `None` for a
    /// remote or external target and after [`RunningTarget::stop`].
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(|p| p.pid)
    }

    /// How the target hands out confirmation codes, if known.
    pub fn codes(&self) -> Option<&CodeSource> {
        self.codes.as_ref()
    }

    /// The file holding the emulator's stdout and stderr while it runs.
    pub fn log_path(&self) -> Option<&Path> {
        self.process.as_ref().map(|p| p.log.as_path())
    }

    /// The codes the emulator has printed so far, oldest first, for a target whose codes come
    /// from its log ([`CodeSource::Log`]).
    pub fn codes_in_log(&self) -> Result<Vec<DeliveredCode>> {
        let Some(CodeSource::Log { pattern, .. }) = &self.codes else {
            return Err(self.error("does not print confirmation codes to its output"));
        };
        let Some(log) = self.log_path() else {
            return Err(self.error("is not running here, so its output cannot be read"));
        };
        codes_in_log_file(log, pattern)
    }

    /// Sends the target's readiness probe once: `Ok` when it answers as when it became ready.
    pub fn ping(&self) -> Result<()> {
        let (Some(process), Some(probe)) = (&self.process, &self.probe) else {
            return Err(self.error("is not a local emulator started here"));
        };
        self.probe_once(process.addr, &probe.kind)
            .map_err(|e| self.error(format!("does not answer: {e}")))
    }

    /// Clears all of the emulator's state through its reset endpoint. A target without one
    /// (cognito-local, real AWS) gives an error: stop it and start it again instead.
    pub fn reset(&self) -> Result<()> {
        let Some(reset) = &self.reset_endpoint else {
            return Err(
                self.error("has no reset endpoint: stop it and start it again for a clean state")
            );
        };
        let Some(process) = &self.process else {
            return Err(self.error("is not running"));
        };
        let request = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            reset.method, reset.path, process.addr
        );
        let (status, body) =
            http_exchange(process.addr, request.as_bytes(), Duration::from_secs(30))
                .map_err(|e| self.error(format!("reset {} {}: {e}", reset.method, reset.path)))?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(self.error(format!(
                "reset {} {} answered HTTP {status}: {}",
                reset.method,
                reset.path,
                snippet(&body)
            )))
        }
    }

    /// Stops the emulator: SIGTERM to its process group, up to 3 s to exit, then SIGKILL to
    /// the group; reaps it and removes its state directory. Stopping twice, or a remote
    /// target, does nothing. An emulator that had exited on its own before gives an error
    /// quoting its last output (it crashed during the run).
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut process) = self.process.take() else {
            return Ok(());
        };
        let exited_before = leader_exit(process.pid);
        let tail = exited_before.as_ref().map(|_| log_tail(&process.log));
        let result = kill_group_and_reap(&mut process.child, process.pid, STOP_GRACE);
        unregister_group(process.pid);
        drop(process);
        match (exited_before, tail, result) {
            (Some(status), Some(tail), _) => Err(self.error(format!(
                "had exited on its own ({status}) before it was stopped; its last output:\n{tail}"
            ))),
            (_, _, Err(e)) => Err(self.error(format!("could not be stopped: {e}"))),
            _ => Ok(()),
        }
    }

    fn wait_ready(&self, probe: &ReadyProbe) -> Result<()> {
        let Some(process) = &self.process else {
            return Ok(());
        };
        let deadline = Instant::now() + probe.timeout;
        let mut last_error;
        loop {
            if let Some(status) = leader_exit(process.pid) {
                return Err(self.error(format!(
                    "exited ({status}) before it answered; its last output:\n{}",
                    log_tail(&process.log)
                )));
            }
            match self.probe_once(process.addr, &probe.kind) {
                Ok(()) => return Ok(()),
                Err(e) => last_error = e,
            }
            if Instant::now() >= deadline {
                return Err(self.error(format!(
                    "did not answer {} at {} within {} s (last attempt: {last_error}); its last output:\n{}",
                    probe_name(&probe.kind),
                    self.endpoint,
                    probe.timeout.as_secs(),
                    log_tail(&process.log)
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn probe_once(&self, addr: SocketAddr, kind: &ProbeKind) -> std::result::Result<(), String> {
        let request = match kind {
            ProbeKind::ListUserPools => {
                signed_list_user_pools(addr, &self.region, &self.credentials)?
            }
            ProbeKind::HttpGet { path } => {
                format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                    .into_bytes()
            }
        };
        let (status, body) =
            http_exchange(addr, &request, Duration::from_secs(10)).map_err(|e| e.to_string())?;
        let ok = match kind {
            ProbeKind::ListUserPools => status == 200,
            ProbeKind::HttpGet { .. } => (200..300).contains(&status),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("HTTP {status}: {}", snippet(&body)))
        }
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::Target {
            target: self.name.clone(),
            message: message.into(),
        }
    }
}

impl Drop for RunningTarget {
    fn drop(&mut self) {
        // Drop runs on panics too; an error here has nowhere to go, and the group is killed
        // whatever stop() reports.
        let _ = self.stop();
    }
}

/// Every code the target has delivered to `user` of `pool` so far, oldest first, from its
/// log or its code endpoint (read through `client`); nothing for targets whose codes are
/// fixed or unchecked. Shared by the `confirmation_code` helper and offline comparison.
pub async fn delivered_codes(
    source: &CodeSource,
    client: &crate::client::Client,
    log: Option<&Path>,
    pool: &str,
    user: &str,
) -> std::result::Result<Vec<String>, String> {
    match source {
        CodeSource::Log { pattern, .. } => {
            let log = log.ok_or("the target's log is not available")?;
            let codes = codes_in_log_file(log, pattern).map_err(|e| e.to_string())?;
            Ok(codes
                .into_iter()
                .filter(|c| c.username == user)
                .map(|c| c.code)
                .collect())
        }
        CodeSource::Endpoint { path, .. } => {
            let raw = client.get(path).await.map_err(|e| e.to_string())?;
            let body: serde_json::Value = serde_json::from_slice(&raw.body)
                .map_err(|e| format!("GET {path}: not JSON: {e}"))?;
            Ok(find_codes(&body, pool, user))
        }
        CodeSource::Unchecked { .. } | CodeSource::Fixed { .. } => Ok(Vec::new()),
    }
}

/// The codes of `user` of `pool` in a code endpoint's JSON, wherever they are nested: targets
/// list them in objects naming the pool, the user and the code, under names of their own.
fn find_codes(body: &serde_json::Value, pool: &str, user: &str) -> Vec<String> {
    let mut found = Vec::new();
    visit_codes(body, pool, user, &mut found);
    found
}

fn visit_codes(v: &serde_json::Value, pool: &str, user: &str, found: &mut Vec<String>) {
    use serde_json::Value;
    match v {
        Value::Array(items) => items.iter().for_each(|i| visit_codes(i, pool, user, found)),
        Value::Object(o) => {
            let text = |keys: &[&str]| keys.iter().find_map(|k| o.get(*k).and_then(Value::as_str));
            let p = text(&["userPoolId", "UserPoolId", "pool_id", "poolId"]);
            let u = text(&["username", "Username", "user", "userName"]);
            let c = text(&["code", "Code", "confirmationCode"]);
            if let (Some(p), Some(u), Some(c)) = (p, u, c) {
                if p == pool && u == user {
                    found.push(c.to_string());
                }
            }
            o.values().for_each(|i| visit_codes(i, pool, user, found));
        }
        _ => {}
    }
}

/// The codes printed to a log so far, oldest first: every match of `pattern` (a
/// [`CodeSource::Log`] pattern with groups `username` and `code`) in the log without colours.
pub fn codes_in_log_file(log: &Path, pattern: &str) -> Result<Vec<DeliveredCode>> {
    let text = fs::read(log).map_err(|source| Error::Io {
        path: log.to_path_buf(),
        source,
    })?;
    let text = strip_ansi(&String::from_utf8_lossy(&text));
    let pattern_error = |e: fancy_regex::Error| Error::Config {
        path: log.to_path_buf(),
        message: format!("codes pattern `{pattern}`: {e}"),
    };
    let regex = fancy_regex::Regex::new(pattern).map_err(pattern_error)?;
    let mut codes = Vec::new();
    for captures in regex.captures_iter(&text) {
        let captures = captures.map_err(pattern_error)?;
        if let (Some(username), Some(code)) = (captures.name("username"), captures.name("code")) {
            codes.push(DeliveredCode {
                username: username.as_str().to_string(),
                code: code.as_str().to_string(),
            });
        }
    }
    Ok(codes)
}

fn probe_name(kind: &ProbeKind) -> String {
    match kind {
        ProbeKind::ListUserPools => "cognito-idp ListUserPools".to_string(),
        ProbeKind::HttpGet { path } => format!("GET {path}"),
    }
}

/// A SigV4-signed `ListUserPools` request, so that emulators which check credentials (ministack
/// with AUTH=true, fakecloud with --verify-sigv4) answer it like any client of the suite.
fn signed_list_user_pools(
    addr: SocketAddr,
    region: &str,
    credentials: &Credentials,
) -> std::result::Result<Vec<u8>, String> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;

    let body = br#"{"MaxResults":1}"#;
    let host = addr.to_string();
    let url = format!("http://{host}/");
    let headers = [
        ("host", host.as_str()),
        ("content-type", "application/x-amz-json-1.1"),
        (
            "x-amz-target",
            "AWSCognitoIdentityProviderService.ListUserPools",
        ),
    ];
    let identity: aws_smithy_runtime_api::client::identity::Identity =
        aws_credential_types::Credentials::new(
            &credentials.access_key_id,
            &credentials.secret_access_key,
            credentials.session_token.clone(),
            None,
            "cogcheck-target",
        )
        .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("cognito-idp")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("signing: {e}"))?
        .into();
    let signable = SignableRequest::new(
        "POST",
        &url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| format!("signing: {e}"))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| format!("signing: {e}"))?
        .into_parts();
    let mut request = String::from("POST / HTTP/1.1\r\n");
    for (name, value) in headers.iter().copied().chain(instructions.headers()) {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    Ok(bytes)
}

/// One blocking HTTP/1.1 exchange with `Connection: close`: the status code and the raw rest
/// of the response (headers and body). Enough for probes and resets; not a general client.
fn http_exchange(
    addr: SocketAddr,
    request: &[u8],
    timeout: Duration,
) -> io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(request)?;
    let mut response = Vec::new();
    // A probe needs the status line only; the cap keeps a misbehaving server from filling memory.
    stream.take(1 << 20).read_to_end(&mut response)?;
    let status = response
        .strip_prefix(b"HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| std::str::from_utf8(code).ok())
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not an HTTP response: {}", snippet(&response)),
            )
        })?;
    let body = match response.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(end) => response.split_off(end + 4),
        None => Vec::new(),
    };
    Ok((status, body))
}

/// The start of a response body, printable, for error messages.
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

// ------------------------------------------------------------------------------------------------
// Processes: exit checks, group kill, signal cleanup.

/// The state of a process group's leader, read without reaping it: an unreaped leader keeps its
/// pid, which is the group id, from being reused, so signalling the group cannot hit a stranger.
#[derive(Clone, Copy)]
enum Leader {
    Running,
    /// `code` is waitid's `si_code` (CLD_EXITED, CLD_KILLED, ...), `status` the exit status or
    /// signal number.
    Ended {
        code: libc::c_int,
        status: libc::c_int,
    },
    /// Reaped already, or never our child.
    Gone,
}

/// Allocation-free, so the signal handler may call it.
fn leader_state(pid: u32) -> Leader {
    let id = libc::id_t::from(pid);
    // SAFETY: siginfo_t is plain data; all-zero is a valid value and lets WNOHANG's "no change"
    // be seen as si_pid == 0.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid writes only into `info`; WNOWAIT leaves the child waitable for Child::wait.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            id,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if rc != 0 {
        return Leader::Gone;
    }
    // SAFETY: the fields of a SIGCHLD siginfo, filled in by waitid above.
    let (si_pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    if si_pid == 0 {
        Leader::Running
    } else {
        Leader::Ended {
            code: info.si_code,
            status,
        }
    }
}

/// How the leader ended, for messages; `None` while it runs.
fn leader_exit(pid: u32) -> Option<String> {
    match leader_state(pid) {
        Leader::Running => None,
        Leader::Gone => Some("no longer a child of this process".to_string()),
        Leader::Ended { code, status } => Some(match code {
            libc::CLD_EXITED => format!("exit status {status}"),
            libc::CLD_KILLED | libc::CLD_DUMPED => format!("killed by signal {status}"),
            _ => format!("ended ({status})"),
        }),
    }
}

fn signal_group(pgid: u32, signal: libc::c_int) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    // SAFETY: kill with a negative pid signals the process group; no memory is involved.
    // ESRCH (the group is gone already) is the expected outcome of a clean exit.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

fn group_exists(pgid: u32) -> bool {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return false;
    };
    // SAFETY: signal 0 only checks whether the group exists.
    let rc = unsafe { libc::kill(-pgid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

fn kill_group_and_reap(child: &mut Child, pid: u32, grace: Duration) -> io::Result<ExitStatus> {
    signal_group(pid, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while matches!(leader_state(pid), Leader::Running) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(25));
    }
    // Also after a clean exit: helpers the leader left behind die with the group. The leader
    // is not reaped yet, so the group id still names our group.
    signal_group(pid, libc::SIGKILL);
    let status = child.wait()?;
    // SIGKILLed helpers are reaped by init; wait briefly so that callers see the group gone.
    let deadline = Instant::now() + Duration::from_secs(2);
    while group_exists(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(status)
}

fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "ended".to_string(),
    }
}

/// Process groups of running emulators, for the signal handler. A fixed array of atomics
/// because a signal handler may neither lock nor allocate; 0 marks a free slot.
static RUNNING_GROUPS: [AtomicI32; 64] = [const { AtomicI32::new(0) }; 64];

fn register_group(pid: u32) {
    let Ok(pgid) = i32::try_from(pid) else {
        return;
    };
    // With every slot taken, the group is still stopped on stop() and drop, just not on Ctrl-C.
    for slot in &RUNNING_GROUPS {
        if slot
            .compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}

fn unregister_group(pid: u32) {
    let Ok(pgid) = i32::try_from(pid) else {
        return;
    };
    for slot in &RUNNING_GROUPS {
        let _ = slot.compare_exchange(pgid, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// Installs a SIGINT / SIGTERM / SIGHUP handler (once; later calls do nothing) that stops every
/// running emulator's process group (SIGTERM, up to 2 s, SIGKILL) and exits with 128 + the
/// signal number: 130 for Ctrl-C. Emulators run in their own process groups, so without this
/// a Ctrl-C would end the runner and leave them running. It replaces earlier handlers of those
/// signals; call it early in `main` or a test harness.
pub fn install_signal_cleanup() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: a zeroed sigaction with an empty mask and our handler is a valid argument;
            // the handler only makes async-signal-safe calls (kill, waitid, nanosleep, _exit).
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = cleanup_and_exit as extern "C" fn(libc::c_int) as usize;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    });
}

extern "C" fn cleanup_and_exit(signal: libc::c_int) {
    for slot in &RUNNING_GROUPS {
        let pgid = slot.load(Ordering::SeqCst);
        if pgid > 0 {
            // SAFETY: kill is async-signal-safe.
            unsafe { libc::kill(-pgid, libc::SIGTERM) };
        }
    }
    let pause = libc::timespec {
        tv_sec: 0,
        tv_nsec: 50_000_000,
    };
    for _ in 0..40 {
        let all_exited = RUNNING_GROUPS.iter().all(|slot| {
            let pgid = slot.load(Ordering::SeqCst);
            pgid <= 0
                || u32::try_from(pgid)
                    .map_or(true, |pid| !matches!(leader_state(pid), Leader::Running))
        });
        if all_exited {
            break;
        }
        // SAFETY: nanosleep is async-signal-safe; `pause` outlives the call.
        unsafe { libc::nanosleep(&pause, std::ptr::null_mut()) };
    }
    for slot in &RUNNING_GROUPS {
        let pgid = slot.load(Ordering::SeqCst);
        if pgid > 0 {
            // SAFETY: kill is async-signal-safe.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
    // SAFETY: _exit is async-signal-safe and skips atexit handlers that may not be.
    unsafe { libc::_exit(128 + signal) };
}

// ------------------------------------------------------------------------------------------------
// Logs.

/// The last lines of a log, without terminal colours, indented for an error message.
fn log_tail(path: &Path) -> String {
    let Ok(bytes) = fs::read(path) else {
        return format!("    (no output: {} is missing)", path.display());
    };
    let text = strip_ansi(&String::from_utf8_lossy(&bytes));
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return "    (no output)".to_string();
    }
    let start = lines.len().saturating_sub(LOG_TAIL_LINES);
    lines[start..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Removes ANSI escape sequences (`ESC [ ... final`), which emulators print for colour.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_codes_in_nested_listings() {
        let body = serde_json::json!({"codes": [
            {"userPoolId": "p1", "username": "u", "code": "111"},
            {"userPoolId": "p1", "username": "v", "code": "222"}
        ]});
        assert_eq!(super::find_codes(&body, "p1", "v"), vec!["222"]);
        assert!(super::find_codes(&body, "p2", "v").is_empty());
    }

    use super::*;

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
        }
        let aws = targets.get("aws").expect("aws");
        assert!(matches!(&aws.kind, TargetKind::Remote(r) if r.opt_in_env == "COGCHECK_ALLOW_AWS"));
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
        let with_codes = format!(
            "{SAMPLE}\n[targets.emu.codes]\nkind = \"fixed\"\nsign_up = \"1\"\nnote = \"n\"\n"
        );
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
            install_steps(&recipe, Path::new("/c/t"))
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
            ["cargo install --locked --root /c/t fakecloud@0.51.0"]
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
        let regex = fancy_regex::Regex::new(pattern).expect("valid");
        let text = strip_ansi(log);
        let captures = regex.captures(&text).expect("no error").expect("a match");
        assert_eq!(&captures["username"], "alice");
        assert_eq!(&captures["code"], "198295");
        // A box without a numeric code (an invitation's temporary password) must not take the
        // code of the box after it: bob would be sent alice's code.
        let bob = "╭──╮\n│ Confirmation Code Delivery │\n│ Username: bob │\n\
                   │ Code: Tmp!pass1 │\n╰──╯\n";
        let text = strip_ansi(&format!("{bob}{log}"));
        let found: Vec<(String, String)> = regex
            .captures_iter(&text)
            .map(|c| {
                let c = c.expect("no error");
                (c["username"].to_string(), c["code"].to_string())
            })
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
        assert!(
            !tail.contains("line 9\n") && tail.contains("line 10") && tail.ends_with("line 29")
        );
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
}
