//! Snapshots: a whole run recorded through `cogcheck-proxy` (`cogcheck run --record FILE`),
//! and replayed offline as a target (`cogcheck run --target replay:FILE`).
//!
//! A snapshot is the proxy's cassette (secrets redacted; see the proxy's `record.rs` and
//! `replay/`) and, beside it, `FILE.notes.json`: what replay needs that the cassette cannot
//! say, namely which target and version answered, the run's prefix (scenario resource names
//! are built from it, and the replay must send the same names), and the actions the target
//! said only in its log it does not implement (moto's `unsupported_log`).
//!
//! The recording runs scenarios concurrently (`--jobs`): every request names its scenario
//! (`x-cogcheck-scenario`), and replay answers it only from that scenario's recorded requests,
//! in recorded order, so identical requests of different scenarios (`ListUserPools`) cannot
//! take each other's answers. The replay goes one scenario at a time on a clock that skips its
//! waits ([`crate::clock`]): it takes seconds, and no scenario's skipped waits shorten another's.
//! Secrets need no such care: the replay takes a password on its first use and holds the run
//! to it, and serves its own tokens and ids.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The format written in every notes file.
pub const NOTES_FORMAT: &str = "cogcheck-snapshot/1";

/// `FILE.notes.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotNotes {
    /// Always [`NOTES_FORMAT`].
    pub format: String,
    /// The target that answered (`moto`), whose expectations judge the replay.
    pub target: String,
    /// Its version.
    pub version: String,
    /// The run prefix the recorded run used.
    pub run_prefix: String,
    /// The region it ran in (pool ids carry it).
    pub region: String,
    /// Actions the target said only in its log it does not implement.
    #[serde(default)]
    pub unsupported: BTreeSet<String>,
    /// The IAM role for SMS the recorded run sent, so that the replay sends the same requests
    /// (and runs the `sms-role` scenarios exactly when the recording did).
    #[serde(default)]
    pub sms_role: Option<super::SmsRole>,
}

fn fail(message: String) -> Error {
    Error::Target {
        target: "snapshot".into(),
        message,
    }
}

/// Where a cassette's notes are.
pub fn notes_path(cassette: &Path) -> PathBuf {
    let mut name = cassette.as_os_str().to_owned();
    name.push(".notes.json");
    PathBuf::from(name)
}

impl SnapshotNotes {
    /// Reads a cassette's notes.
    pub fn load(cassette: &Path) -> Result<SnapshotNotes> {
        let path = notes_path(cassette);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            fail(format!(
                "replay:{}: cannot read its notes {} ({e}); a snapshot is recorded with \
                 `cogcheck run --record FILE`, which writes both",
                cassette.display(),
                path.display()
            ))
        })?;
        let notes: SnapshotNotes = serde_json::from_str(&text).map_err(|e| Error::Config {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if notes.format != NOTES_FORMAT {
            return Err(Error::Config {
                message: format!(
                    "format {:?}, this cogcheck reads {NOTES_FORMAT:?}",
                    notes.format
                ),
                path,
            });
        }
        Ok(notes)
    }

    /// Writes them beside the cassette.
    pub fn save(&self, cassette: &Path) -> Result<()> {
        let path = notes_path(cassette);
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| fail(format!("cannot encode snapshot notes: {e}")))?;
        std::fs::write(&path, text + "\n").map_err(|source| Error::Io { path, source })
    }
}

/// The `cogcheck-proxy` binary: `COGCHECK_PROXY`, else beside this program (cargo builds both
/// into one folder; a test binary sits one folder deeper), else on `PATH`.
pub fn proxy_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("COGCHECK_PROXY") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok();
    let beside = exe
        .iter()
        .flat_map(|e| {
            e.parent()
                .into_iter()
                .chain(e.parent().and_then(Path::parent))
        })
        .map(|dir| dir.join("cogcheck-proxy"))
        .find(|p| p.is_file());
    if let Some(p) = beside {
        return Ok(p);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("cogcheck-proxy"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            fail(
                "recording and replaying a snapshot need cogcheck-proxy: build it \
                 (`cargo build -p cogcheck-proxy`) or set COGCHECK_PROXY to its path"
                    .into(),
            )
        })
}

/// A `cogcheck-proxy` this run started; stopped (SIGTERM, so a recording is flushed) when
/// dropped.
pub struct ProxyProcess {
    child: Child,
    /// Where it listens.
    pub endpoint: String,
}

impl ProxyProcess {
    /// Starts the proxy with `args` on a free loopback port and waits for its endpoint.
    pub fn start(args: &[&str]) -> Result<ProxyProcess> {
        let binary = proxy_binary()?;
        let mut child = Command::new(&binary)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| fail(format!("cannot start {}: {e}", binary.display())))?;
        let stdout = child.stdout.take();
        let mut line = String::new();
        if let Some(out) = stdout {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        match line.trim().strip_prefix("listening on ") {
            Some(endpoint) => Ok(ProxyProcess {
                child,
                endpoint: endpoint.to_string(),
            }),
            None => {
                let _ = child.kill();
                let status = child.wait().ok();
                Err(fail(format!(
                    "{} did not start ({}); its error is above",
                    binary.display(),
                    status.map_or_else(|| "no exit status".into(), |s| s.to_string())
                )))
            }
        }
    }

    /// Stops it and waits: a recording proxy drains and fsyncs its cassette first.
    pub fn stop(&mut self) -> Result<()> {
        if let Ok(Some(_)) = self.child.try_wait() {
            return Ok(());
        }
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(0));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let status = self
            .child
            .wait()
            .map_err(|e| fail(format!("cogcheck-proxy did not stop: {e}")))?;
        if status.success() {
            Ok(())
        } else {
            Err(fail(format!(
                "cogcheck-proxy exited with {status}: the snapshot may be incomplete"
            )))
        }
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
