//! Starting a target and the [`RunningTarget`] it becomes: ready probe, reset, stop.

use std::fs::{self, File};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

use super::{
    codes::{codes_in_log_file, DeliveredCode},
    env::{
        check_opt_in, credentials_from, credentials_from_env, env_lookup, region_from_env,
        Credentials,
    },
    install::{Cache, InstallState},
    log::log_tail,
    probe::{http_exchange, probe_name, signed_list_user_pools, snippet},
    process::{kill_group_and_reap, leader_exit, register_group, unregister_group},
    spec::{
        substitute, CodeSource, LocalRecipe, ProbeKind, ReadyProbe, RemoteEndpoint, ResetEndpoint,
        TargetKind, TargetSpec,
    },
};

/// How long a stopping target gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

impl TargetSpec {
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
    /// user would type), `aws` for real Amazon Cognito, `sms-role` when the run has an IAM role
    /// for SMS (`sms_role`: [`TargetSpec::resolved_sms_role`] live, a snapshot's notes in a
    /// replay).
    pub fn capabilities(&self, sms_role: Option<&super::SmsRole>) -> Vec<String> {
        let mut capabilities = Vec::new();
        if self.codes.is_some() {
            capabilities.push("codes".to_string());
        }
        if matches!(self.kind, TargetKind::Remote(_)) {
            capabilities.push("aws".to_string());
        }
        if sms_role.is_some() {
            capabilities.push("sms-role".to_string());
        }
        capabilities
    }

    /// The IAM role for SMS, resolved now (an `arn_env` is read from the environment).
    pub fn resolved_sms_role(&self) -> Option<super::SmsRole> {
        self.sms_role.as_ref()?.resolve(env_lookup)
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
}

/// Removes state directories (`cogcheck-<target>-<pid>-<random>`) whose runner process is gone:
/// after a Ctrl-C the signal handler exits without destructors, so its directories stay behind.
pub(super) fn sweep_stale_state_dirs(temp: &Path) {
    let Ok(entries) = fs::read_dir(temp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name.to_str().and_then(state_dir_owner) else {
            continue;
        };
        // Signal 0 (`None`) only checks whether the process exists.
        let gone = nix::sys::signal::kill(nix::unistd::Pid::from_raw(owner), None)
            == Err(nix::errno::Errno::ESRCH);
        if gone {
            // Best effort: another runner may be sweeping the same directory right now.
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// The runner pid in a state directory name `cogcheck-<target>-<pid>-<random>`.
pub(super) fn state_dir_owner(name: &str) -> Option<i32> {
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
