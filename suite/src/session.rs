//! A session: one target, reached or started, with its client, run configuration and
//! expectations. `cogcheck run`, `cogcheck sweep` and the `cargo test` harness all open one.
//!
//! Which endpoint: `COGCHECK_ENDPOINT` (or the AWS convention
//! `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`) when set, else the named target (default
//! `moto`), installed and started locally. `COGCHECK_TARGET` names the target either way, so
//! `COGCHECK_TARGET=moto COGCHECK_ENDPOINT=http://127.0.0.1:5000` judges a hand-started moto
//! with moto's expectations.

use crate::client::{Client, ClientConfig};
use crate::error::{Error, Result};
use crate::expectations::Expectations;
use crate::run::RunConfig;
use crate::target::{self, snapshot, Cache, RunningTarget, Targets};

/// The target a run went against, as results files and reports name it (the session knows
/// it first; `report::results` writes it).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TargetInfo {
    /// Its name (`moto`, `endpoint` for an ad-hoc `COGCHECK_ENDPOINT`).
    pub name: String,
    /// Its version, or `unknown`.
    pub version: String,
    /// The endpoint used.
    pub endpoint: String,
    /// The configuration it ran in.
    pub configuration: String,
}

/// What to open.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// The target's name; `None` means `COGCHECK_TARGET`, else the default target.
    pub target: Option<String>,
    /// An endpoint to use instead of starting the target; `None` means the environment.
    pub endpoint: Option<String>,
    /// Scenarios run at once.
    pub jobs: usize,
    /// Allow installs that take long (fakecloud compiles ~660 crates, minutes on two cores).
    pub allow_slow_install: bool,
    /// Record the run as a snapshot to this cassette (`cogcheck run --record FILE`).
    pub record: Option<std::path::PathBuf>,
}

/// An open session. Dropping it stops a target it started.
pub struct Session {
    /// The target as reports name it.
    pub info: TargetInfo,
    /// A client for its endpoint.
    pub client: Client,
    /// The run configuration.
    pub config: RunConfig,
    /// Its known failures.
    pub expectations: Expectations,
    running: Option<RunningTarget>,
    /// The proxy that records or replays a snapshot, and the cassette being recorded.
    snapshot: Option<(snapshot::ProxyProcess, Option<std::path::PathBuf>)>,
}

impl Session {
    /// Reaches or starts the target. Blocking: a local target is installed and started here.
    pub fn open(options: SessionOptions) -> Result<Session> {
        let targets = Targets::load_default()?;
        let endpoint = options.endpoint.or_else(target::endpoint_override);
        // An endpoint without a name is judged with no known failures: assuming it is the
        // default target would hide real deviations behind moto's expectations.
        let name = options
            .target
            .or_else(|| {
                std::env::var("COGCHECK_TARGET")
                    .ok()
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or_else(|| match endpoint {
                Some(_) => "endpoint".to_string(),
                None => targets.default_target().name.clone(),
            });
        if let Some(file) = name.strip_prefix("replay:") {
            return Session::open_replay(&targets, std::path::Path::new(file), options.jobs);
        }
        if name != "endpoint" {
            targets.get(&name)?;
        }
        let region = target::region_from_env();

        let (spec, running, endpoint) = match endpoint {
            Some(endpoint) => {
                // A hand-started endpoint may be a known target or anything else.
                (targets.get(&name).ok(), None, endpoint)
            }
            None => {
                let spec = targets.get(&name)?;
                let cache = Cache::default_location()?;
                let running = spec.start(&cache, options.allow_slow_install)?;
                if running.pid().is_some() {
                    // A local emulator runs in its own process group: a Ctrl-C must stop it.
                    target::install_signal_cleanup();
                }
                let endpoint = running.endpoint.clone();
                (Some(spec), Some(running), endpoint)
            }
        };
        let credentials = match spec {
            Some(_) if running.is_some() => running
                .as_ref()
                .map(|r| r.credentials.clone())
                .unwrap_or_else(target::credentials_from_env),
            _ => target::credentials_from_env(),
        };
        if name == "aws" || endpoint.contains(".amazonaws.com") {
            target::check_aws_opt_in()?;
        }
        if running.is_none() {
            reachable(&endpoint)?;
        }
        let mut client = Client::new(ClientConfig {
            endpoint: endpoint.clone(),
            region: region.clone(),
            credentials: credentials.clone(),
            timeout: std::time::Duration::from_secs(30),
        })?;
        if running.is_none() {
            speaks_cognito(&client)?;
        }
        // Recording: the run goes through a recording proxy (see `target::snapshot`).
        let snapshot = match &options.record {
            Some(file) => {
                let path = file.display().to_string();
                let proxy =
                    snapshot::ProxyProcess::start(&["--upstream", &endpoint, "--record", &path])?;
                client = Client::new(ClientConfig {
                    endpoint: proxy.endpoint.clone(),
                    region: region.clone(),
                    credentials,
                    timeout: std::time::Duration::from_secs(30),
                })?;
                Some((proxy, Some(file.clone())))
            }
            None => None,
        };
        // An earlier version (`moto@5.1.22`) is the same target at another version: its
        // results say `moto` and `5.1.22`, and it is judged with moto's expectations, so a
        // deviation the pinned version fixed shows up as such.
        let name = spec.map_or(name, |s| s.name.clone());
        let info = TargetInfo {
            name: name.clone(),
            version: spec.map_or_else(|| "unknown".to_string(), |s| s.version.clone()),
            endpoint: endpoint.clone(),
            configuration: spec.map_or_else(
                || format!("an endpoint given by hand: {endpoint}"),
                |s| s.configuration.clone(),
            ),
        };
        // Read from the environment once: the capability and the templates see the same role.
        let sms_role = spec.and_then(|s| s.resolved_sms_role());
        let config = RunConfig {
            run_prefix: RunConfig::new_prefix(),
            region,
            capabilities: spec
                .map(|s| s.capabilities(sms_role.as_ref()))
                .unwrap_or_default(),
            codes: spec.and_then(|s| s.codes.clone()),
            sms_role,
            unsupported_log: spec.and_then(|s| s.unsupported_log.clone()),
            log_verdicts: Default::default(),
            // A target started by hand can point at its output with COGCHECK_TARGET_LOG: moto
            // says "not implemented" only there (`unsupported_log` of its target).
            log_path: running
                .as_ref()
                .and_then(|r| r.log_path().map(|p| p.to_path_buf()))
                .or_else(|| std::env::var_os("COGCHECK_TARGET_LOG").map(std::path::PathBuf::from)),
            jobs: options.jobs.max(1),
            clock: crate::clock::RunClock::Real,
        };
        let expectations = Expectations::load(&Expectations::default_path(&name), &name)?;
        Ok(Session {
            info,
            client,
            config,
            expectations,
            running,
            snapshot,
        })
    }

    /// `replay:FILE`: the snapshot's cassette served by `cogcheck-proxy --replay`, judged with
    /// the expectations of the target that was recorded, with its run prefix.
    fn open_replay(targets: &Targets, cassette: &std::path::Path, jobs: usize) -> Result<Session> {
        let notes = snapshot::SnapshotNotes::load(cassette)?;
        let spec = targets.get(&notes.target)?;
        if jobs > 1 {
            tracing::warn!("a snapshot replays one scenario at a time (--jobs {jobs} ignored)");
        }
        let path = cassette.display().to_string();
        let proxy = snapshot::ProxyProcess::start(&["--replay", &path, "--mode", "none"])?;
        let client = Client::new(ClientConfig {
            region: notes.region.clone(),
            ..ClientConfig::local(proxy.endpoint.clone())
        })?;
        let info = TargetInfo {
            name: notes.target.clone(),
            version: notes.version.clone(),
            endpoint: proxy.endpoint.clone(),
            configuration: format!("snapshot {path}, replayed offline"),
        };
        let config = RunConfig {
            run_prefix: notes.run_prefix.clone(),
            region: notes.region.clone(),
            // The role is the recording's, not whatever the environment names now.
            capabilities: spec.capabilities(notes.sms_role.as_ref()),
            codes: spec.codes.clone(),
            sms_role: notes.sms_role.clone(),
            unsupported_log: None,
            log_verdicts: std::sync::Arc::new(std::sync::Mutex::new(
                notes
                    .unsupported
                    .iter()
                    .map(|a| (a.clone(), true))
                    .collect(),
            )),
            log_path: None,
            jobs: 1,
            // The answers are recorded: waiting for them changes nothing but the time taken.
            clock: crate::clock::RunClock::recorded(),
        };
        let expectations =
            Expectations::load(&Expectations::default_path(&notes.target), &notes.target)?;
        Ok(Session {
            info,
            client,
            config,
            expectations,
            running: None,
            snapshot: Some((proxy, None)),
        })
    }

    /// True when the target runs elsewhere (real AWS, or an endpoint given by hand): what a
    /// run creates there outlives the run unless the run deletes it, even when interrupted.
    pub fn is_remote(&self) -> bool {
        self.running.as_ref().and_then(RunningTarget::pid).is_none()
    }

    /// For a remote target: waits for SIGINT or SIGTERM, then deletes every user pool of this
    /// run (by its prefix) and exits with 130. Spawn it beside a run so that an interrupted
    /// run against real Cognito leaves nothing behind.
    pub async fn delete_run_on_interrupt(client: Client, prefix: String) {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        tracing::warn!(%prefix, "interrupted; deleting the user pools of run {prefix}…");
        crate::run::INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
        // Calls already sent may still create a pool: let them land, sweep, and sweep again
        // for stragglers.
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let first = crate::run::sweep(&client, &prefix).await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let second = crate::run::sweep(&client, &prefix).await;
        let result = match (first, second) {
            (Ok((a, _)), Ok((b, errors))) => Ok((a + b, errors)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        match result {
            Ok((n, errors)) if errors.is_empty() => {
                tracing::info!(%prefix, deleted = n, "deleted {n} user pools")
            }
            Ok((n, errors)) => tracing::error!(
                %prefix,
                deleted = n,
                failed = errors.len(),
                "deleted {n} user pools; could not delete: {}; run `cogcheck sweep --prefix {prefix}`",
                errors.join("; ")
            ),
            Err(e) => tracing::error!(
                %prefix,
                "cleanup failed ({e}); run `cogcheck sweep --prefix {prefix}`"
            ),
        }
        std::process::exit(130);
    }

    /// Stops a target this session started.
    /// A recording's cassette is closed and its notes written first, while the target's
    /// log can still be read.
    pub fn stop(&mut self) -> Result<()> {
        if let Some((mut proxy, recorded)) = self.snapshot.take() {
            proxy.stop()?;
            if let Some(cassette) = recorded {
                self.snapshot_notes().save(&cassette)?;
            }
        }
        match self.running.as_mut() {
            Some(r) => r.stop(),
            None => Ok(()),
        }
    }

    fn snapshot_notes(&self) -> snapshot::SnapshotNotes {
        let log = self
            .config
            .log_path
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let unsupported = match &self.config.unsupported_log {
            Some(template) => crate::model::Model::get()
                .operations
                .keys()
                .filter(|action| {
                    log.contains(&target::TargetSpec::unsupported_line(template, action))
                })
                .cloned()
                .collect(),
            None => Default::default(),
        };
        snapshot::SnapshotNotes {
            format: snapshot::NOTES_FORMAT.into(),
            target: self.info.name.clone(),
            version: self.info.version.clone(),
            run_prefix: self.config.run_prefix.clone(),
            region: self.config.region.clone(),
            unsupported,
            sms_role: self.config.sms_role.clone(),
        }
    }
}

/// Fails early, with one clear message naming the likely cause, when an endpoint given by hand
/// answers but is not a Cognito User Pools API: a server that answers 404 or 501 to everything
/// would otherwise make every scenario "unsupported", which is not a verdict. A local target's
/// readiness probe already asks the same question (ListUserPools must answer 200).
fn speaks_cognito(client: &Client) -> Result<()> {
    let endpoint = client.endpoint().to_string();
    let probe = {
        let client = client.clone();
        // Its own thread and runtime: `open` is called from inside and outside runtimes.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime
                .block_on(client.call("ListUserPools", &serde_json::json!({ "MaxResults": 1 })))
                .map_err(|e| e.to_string())
        })
        .join()
        .map_err(|_| "the probe thread panicked".to_string())
        .and_then(|r| r)
    };
    let bad = |message: String| Error::Transport {
        endpoint: endpoint.clone(),
        message,
    };
    let response = probe.map_err(|e| bad(format!("ListUserPools got no answer: {e}")))?;
    let not_json = response
        .framing
        .iter()
        .any(|f| matches!(f, crate::wire::Framing::BodyNotJsonObject { .. }));
    if crate::checks::is_unsupported(&response) || (not_json && response.error.is_none()) {
        let what = match &response.error {
            Some(e) => format!("HTTP {} {}", response.status, e.error_type),
            None => format!("HTTP {}", response.status),
        };
        return Err(bad(format!(
            "ListUserPools answered {what}: this is probably not a Cognito User Pools API (wrong \
             endpoint or port, a path prefix, or an emulator without cognito-idp enabled); \
             cogcheck sends awsJson1_1 POSTs to `/` with X-Amz-Target: \
             AWSCognitoIdentityProviderService.<Action>"
        )));
    }
    Ok(())
}

/// Fails early, with one clear message, when an endpoint given by hand does not accept
/// connections: otherwise every scenario would fail with the same transport error.
fn reachable(endpoint: &str) -> Result<()> {
    use std::net::ToSocketAddrs;
    let bad = |message: String| Error::Transport {
        endpoint: endpoint.to_string(),
        message,
    };
    let uri: http::Uri = endpoint.parse().map_err(|e| {
        bad(format!(
            "not a URL ({e}); expected something like http://127.0.0.1:5000"
        ))
    })?;
    let host = uri.host().ok_or_else(|| {
        bad("no host in the URL; expected something like http://127.0.0.1:5000".into())
    })?;
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let addrs: Vec<_> = (host.trim_matches(['[', ']']), port)
        .to_socket_addrs()
        .map_err(|e| bad(format!("cannot resolve {host}: {e}")))?
        .collect();
    let mut last = None;
    for addr in addrs {
        match std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5)) {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(bad(format!(
        "cannot connect ({}); is the emulator running? Unset COGCHECK_ENDPOINT to let cogcheck start a target itself",
        last.map_or_else(|| "no address".to_string(), |e| e.to_string())
    )))
}
