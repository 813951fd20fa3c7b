//! `targets.toml`: the raw file format, its validation into [`Targets`] and [`TargetSpec`],
//! and the placeholders of start recipes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};

use super::env::{env_lookup, Credentials};

/// The format version of `targets.toml` this module reads.
const SCHEMA: u32 = 1;
/// Readiness timeout when `targets.toml` names none.
const DEFAULT_READY_TIMEOUT_SECS: u64 = 60;
/// The shipped targets file, for a binary run away from its source tree.
const BUILTIN_TARGETS: &str = include_str!("../../../fixtures/targets.toml");
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
// The parsed targets file.

/// The targets of a `targets.toml`, validated: every target has a pinned version, a
/// configuration line, and either a complete local recipe or a remote endpoint.
#[derive(Debug, Clone)]
pub struct Targets {
    path: PathBuf,
    default: String,
    targets: BTreeMap<String, TargetSpec>,
    /// `name@version` for every `earlier_versions` entry: the same recipe re-pinned.
    earlier: BTreeMap<String, TargetSpec>,
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
        let path = crate::fixtures::path("targets.toml");
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
        let mut earlier = BTreeMap::new();
        for (name, raw_target) in raw.targets {
            let spec = validate_target(&name, raw_target)
                .map_err(|message| config_err(format!("target `{name}`: {message}")))?;
            for version in &spec.earlier_versions {
                earlier.insert(format!("{name}@{version}"), spec.at_version(version));
            }
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
            earlier,
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

    /// The target called `name`, or `name@version` for one of its `earlier_versions`; an
    /// unknown name gives an error listing the known ones (or the target's known versions).
    pub fn get(&self, name: &str) -> Result<&TargetSpec> {
        if let Some(spec) = self.targets.get(name).or_else(|| self.earlier.get(name)) {
            return Ok(spec);
        }
        let message = match name.split_once('@') {
            Some((base, version)) => match self.targets.get(base) {
                Some(spec) => format!(
                    "{base} has no version `{version}` in {} (pinned: {}; earlier versions: {})",
                    self.path.display(),
                    spec.version,
                    if spec.earlier_versions.is_empty() {
                        "none".to_string()
                    } else {
                        spec.earlier_versions.join(", ")
                    }
                ),
                None => format!(
                    "no such target in {} (known targets: {})",
                    self.path.display(),
                    join_names(self.targets.keys())
                ),
            },
            None => format!(
                "no such target in {} (known targets: {})",
                self.path.display(),
                join_names(self.targets.keys())
            ),
        };
        Err(Error::Target {
            target: name.to_string(),
            message,
        })
    }

    /// `name@version` for each earlier version of target `name` (none for an unknown name), in
    /// the order the file lists them.
    pub fn earlier_names(&self, name: &str) -> Vec<String> {
        self.targets.get(name).map_or_else(Vec::new, |spec| {
            spec.earlier_versions
                .iter()
                .map(|v| format!("{name}@{v}"))
                .collect()
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
    /// Older releases (`earlier_versions` in the file) that `cogcheck report --versions` also
    /// runs, as `name@version`, so the report can show the behaviour pass rate per release.
    /// Empty on a target that is itself an earlier version.
    pub earlier_versions: Vec<String>,
    /// One line describing the configuration it runs in, as reports state it.
    pub configuration: String,
    /// How the target hands out the codes Cognito would send by e-mail or SMS, where known.
    pub codes: Option<CodeSource>,
    /// The line a target writes to its output when it lacks an action it answered with a bare
    /// 5xx (`unsupported_log` in the file; `{action}` and `{action_snake}` stand for the
    /// action): moto names an action it lacks only there.
    pub unsupported_log: Option<String>,
    /// The IAM role the target's pools may send SMS with (`sms_role` in the file).
    pub sms_role: Option<super::SmsRoleSource>,
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
        /// A regular expression (Rust `regex` syntax) with named groups `username` and `code`.
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
    #[serde(default)]
    earlier_versions: Vec<String>,
    configuration: String,
    install: Option<RawInstall>,
    start: Option<RawStart>,
    ready: Option<RawReady>,
    reset: Option<RawReset>,
    codes: Option<RawCodes>,
    unsupported_log: Option<String>,
    sms_role: Option<super::sms_role::RawSmsRole>,
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
pub(super) fn target_of_header(header: &str) -> Option<String> {
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
    let sms_role = raw.sms_role.map(super::sms_role::validate).transpose()?;
    if let Some(line) = &raw.unsupported_log {
        check_placeholders("unsupported_log", line, &["action", "action_snake"])?;
        if placeholders(line).next().is_none() {
            return Err(
                "field `unsupported_log`: must name the action with {action} or {action_snake}"
                    .to_string(),
            );
        }
    }
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
    let earlier_versions = validate_earlier_versions(&raw.version, raw.earlier_versions, &kind)?;
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
        earlier_versions,
        configuration: raw.configuration,
        codes,
        unsupported_log: raw.unsupported_log,
        sms_role,
        credentials,
        kind,
    })
}

/// Earlier versions are re-pinned installs of the same recipe, so they need one, and each must
/// be an exact version other than the pinned one.
fn validate_earlier_versions(
    version: &str,
    earlier: Vec<String>,
    kind: &TargetKind,
) -> std::result::Result<Vec<String>, String> {
    if earlier.is_empty() {
        return Ok(earlier);
    }
    let TargetKind::Local(LocalRecipe {
        install: Some(_), ..
    }) = kind
    else {
        return Err(
            "field `earlier_versions`: only a target with an `install` recipe can be re-pinned"
                .to_string(),
        );
    };
    for (i, v) in earlier.iter().enumerate() {
        let exact = !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
        if !exact {
            return Err(format!(
                "field `earlier_versions`: `{v}` is not an exact version"
            ));
        }
        if v == version || earlier[..i].contains(v) {
            return Err(format!(
                "field `earlier_versions`: `{v}` is listed twice (or is the pinned `version`)"
            ));
        }
    }
    Ok(earlier)
}

impl TargetSpec {
    /// The line this target writes when it lacks `action` (`AdminGetUser`), if it writes one.
    pub fn unsupported_line(template: &str, action: &str) -> String {
        // Snake case as moto's `camelcase_to_underscores` spells an action: a run of capitals
        // is one word (`GetCSVHeader` is `get_csv_header`, not `get_c_s_v_header`). A word
        // starts at a capital that follows a lower-case letter or digit, or that is followed by
        // one (the last capital of a run, before the next word).
        let chars: Vec<char> = action.chars().collect();
        let mut snake = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let upper = c.is_ascii_uppercase();
            let prev_upper = i == 0 || chars[i - 1].is_ascii_uppercase();
            let next_upper = chars.get(i + 1).is_none_or(|n| n.is_ascii_uppercase());
            if i > 0 && upper && (!prev_upper || !next_upper) {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        }
        substitute(template, &|name| match name {
            "action" => Some(action.to_string()),
            "action_snake" => Some(snake.clone()),
            _ => None,
        })
    }

    /// This target's recipe pinned to `version` instead: the first package re-pinned, the
    /// install going to its own `<name>-<version>` folder of the cache.
    fn at_version(&self, version: &str) -> TargetSpec {
        let mut spec = self.clone();
        spec.version = version.to_string();
        spec.earlier_versions = Vec::new();
        if let TargetKind::Local(LocalRecipe {
            install: Some(install),
            ..
        }) = &mut spec.kind
        {
            if let Some(first) = install.packages.first_mut() {
                let package = match install.kind {
                    InstallKind::Pip => first
                        .split_once("==")
                        .map(|(p, _)| format!("{p}=={version}")),
                    InstallKind::Npm | InstallKind::Cargo => first
                        .get(1..)
                        .and_then(|rest| rest.rfind('@'))
                        .map(|at| format!("{}@{version}", &first[..at + 1])),
                };
                // Invariant: validate_install checked that the first package pins a version in
                // its manager's form, so both splits succeed.
                if let Some(package) = package {
                    *first = package;
                }
            }
        }
        spec
    }
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
pub(super) fn pinned_version(kind: InstallKind, spec: &str) -> Option<&str> {
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
            let regex = regex::Regex::new(&pattern)
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
pub(super) fn placeholders(template: &str) -> impl Iterator<Item = (usize, &str)> {
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
pub(super) fn substitute(template: &str, value_of: &dyn Fn(&str) -> Option<String>) -> String {
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

impl TargetSpec {
    /// The local recipe, or `None` for a remote target.
    pub fn local(&self) -> Option<&LocalRecipe> {
        match &self.kind {
            TargetKind::Local(recipe) => Some(recipe),
            TargetKind::Remote(_) => None,
        }
    }

    pub(super) fn error(&self, message: impl Into<String>) -> Error {
        Error::Target {
            target: self.name.clone(),
            message: message.into(),
        }
    }
}
