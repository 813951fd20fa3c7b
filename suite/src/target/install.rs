//! The install cache: where emulators are installed, the lock that keeps two runners from
//! installing at once, and the install steps of each recipe kind.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result};

use super::{
    log::log_tail,
    process::describe_status,
    spec::{InstallKind, InstallRecipe, TargetSpec},
};

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
        crate::cache::root().map(Cache::new)
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

    /// Where `cargo install` compiles a target: `<root>/targets/<name>-<version>.cargo-target`.
    /// cargo's own default is a temporary directory deleted on exit, so an interrupted install
    /// started again from nothing; kept here, outside the install directory (which a new
    /// attempt wipes), a new attempt resumes with the crates already built. Removed after
    /// success.
    pub fn cargo_target_dir(&self, spec: &TargetSpec) -> PathBuf {
        self.root
            .join("targets")
            .join(format!("{}-{}.cargo-target", spec.name, spec.version))
    }

    fn lock_path(&self, spec: &TargetSpec) -> PathBuf {
        self.root
            .join("targets")
            .join(format!("{}-{}.lock", spec.name, spec.version))
    }
}

/// Written last by an install; its content identifies the recipe, so a changed recipe reinstalls.
pub(super) const INSTALLED_MARKER: &str = ".cogcheck-installed";

pub(super) fn install_fingerprint(recipe: &InstallRecipe) -> String {
    format!(
        "cogcheck install 1\nkind = {:?}\npackages = {:?}\nextra = {:?}\n",
        recipe.kind, recipe.packages, recipe.extra
    )
}

/// An exclusive lock on a file (`flock`), released when dropped: installs of one target from
/// several test threads or processes take turns instead of writing one directory together.
struct InstallLock {
    _lock: Flock<File>,
}

impl InstallLock {
    fn acquire(path: &Path) -> io::Result<InstallLock> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        loop {
            match Flock::lock(file, FlockArg::LockExclusive) {
                Ok(lock) => return Ok(InstallLock { _lock: lock }),
                // A signal interrupted the wait: wait again.
                Err((f, Errno::EINTR)) => file = f,
                Err((_, errno)) => return Err(errno.into()),
            }
        }
    }
}

/// One command of an install recipe, with the environment variables it adds.
pub(super) struct InstallStep {
    pub(super) program: String,
    pub(super) args: Vec<String>,
    pub(super) env: Vec<(String, String)>,
}

impl InstallStep {
    /// The command as a shell would take it: `NAME=value ... program args`.
    pub(super) fn display(&self) -> String {
        let env = self.env.iter().map(|(k, v)| format!("{k}={v}"));
        env.chain(std::iter::once(self.program.clone()))
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Compiling without optimisation takes a fraction of the time of the release profile's
/// opt-level 3 (fakecloud's ~660 crates: 8 minutes instead of about 2.5 hours on two cores).
/// The release profile's other settings stay, debug assertions and overflow checks off among
/// them, so the emulator behaves as its release build does; only its speed differs, and the
/// suite measures behaviour.
const CARGO_INSTALL_OPT_LEVEL: &str = "0";

/// The commands that install `recipe` into `dir`; a cargo install compiles in `cargo_target`.
pub(super) fn install_steps(
    recipe: &InstallRecipe,
    dir: &Path,
    cargo_target: &Path,
) -> Vec<InstallStep> {
    let dir_s = dir.display().to_string();
    let packages = recipe.packages.iter().chain(&recipe.extra).cloned();
    match recipe.kind {
        InstallKind::Pip => vec![
            InstallStep {
                program: "python3".to_string(),
                args: vec!["-m".into(), "venv".into(), format!("{dir_s}/venv")],
                env: Vec::new(),
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
                env: Vec::new(),
            },
        ],
        InstallKind::Npm => vec![InstallStep {
            program: "npm".to_string(),
            args: ["install", "--prefix", &dir_s, "--no-audit", "--no-fund"]
                .into_iter()
                .map(String::from)
                .chain(packages)
                .collect(),
            env: Vec::new(),
        }],
        InstallKind::Cargo => vec![InstallStep {
            program: "cargo".to_string(),
            args: ["install", "--locked", "--root", &dir_s]
                .into_iter()
                .map(String::from)
                .chain(packages)
                .collect(),
            env: vec![
                (
                    "CARGO_TARGET_DIR".to_string(),
                    cargo_target.display().to_string(),
                ),
                (
                    "CARGO_PROFILE_RELEASE_OPT_LEVEL".to_string(),
                    CARGO_INSTALL_OPT_LEVEL.to_string(),
                ),
            ],
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
    /// install is slow (fakecloud compiles ~660 crates, minutes on two cores) install only with
    /// `allow_slow`.
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
                "is not installed, and its first install is a long compile (fakecloud: about 660 \
                 crates, about 8 minutes on 2 cores), so it is never installed implicitly: install it \
                 explicitly first (`TargetSpec::install` with allow_slow = true)",
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
        let cargo_target = cache.cargo_target_dir(self);
        self.run_install_steps(&install_steps(recipe, &dir, &cargo_target), &dir, &log_path)?;
        let marker = dir.join(INSTALLED_MARKER);
        fs::write(&marker, install_fingerprint(recipe)).map_err(io_err(&marker))?;
        if cargo_target.exists() {
            // Only a resumed install needs the build directory, and it holds gigabytes.
            fs::remove_dir_all(&cargo_target).map_err(io_err(&cargo_target))?;
        }
        Ok(())
    }

    /// Runs install commands in `dir`, their output written to `log_path`; stops at the first
    /// failure with an error naming the command, the log and its last lines.
    pub(super) fn run_install_steps(
        &self,
        steps: &[InstallStep],
        dir: &Path,
        log_path: &Path,
    ) -> Result<()> {
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
                .envs(step.env.iter().map(|(k, v)| (k, v)))
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
}
