//! Offline comparison: `cogcheck-proxy compare CASSETTE --against URL|TARGET` replays a
//! recorded session against another endpoint and compares every answer with the recorded one,
//! with the same mapping, normalization and report as live shadowing. This is how traffic
//! recorded against real Cognito in staging is checked against an emulator without touching
//! AWS again.
//!
//! The cassette is the primary; the endpoint (a URL, or a target of `fixtures/targets.toml`
//! that is installed, started on a free loopback port and stopped afterwards) is the shadow.
//! Exchanges run one at a time in cassette order. Requests are signed with the target's
//! credentials (or, for a URL, the `AWS_*` environment), whatever the recording's signature.
//!
//! # Secrets
//!
//! A cassette holds `<secret:N>` where the recorded traffic had secrets, and the same secret
//! always got the same placeholder. A placeholder that appeared in a recorded *answer* (a
//! client id, a client secret, a session, a token) is replaced by whatever the endpoint
//! answered at the same place; one that appears first in a *request* (a password, a user name,
//! an attribute value) gets a fresh value once, used for every later appearance (see
//! `mapping.rs` for how values are chosen).
//!
//! # Limits
//!
//! - Confirmation codes the recorded backend sent by e-mail or SMS are not in the cassette.
//!   Against a named target that exposes its codes (`[targets.X.codes]`: a log, an endpoint,
//!   fixed codes), a `ConfirmSignUp`, `ConfirmForgotPassword` or `VerifyUserAttribute` that
//!   the recording accepted is sent the code the target delivered to that user (the newest
//!   one not sent yet); one the recording refused keeps its wrong code. Against a URL, or a
//!   target without codes, requests send `123456` (or the recorded code when it was not
//!   redacted), so on an endpoint that checks codes those steps differ.
//! - Recorded JWTs are redacted, so tokens are compared only for presence, not claim by claim.
//! - A recorded `SECRET_HASH` or SRP claim cannot be checked; it is recomputed for the endpoint
//!   unless the recording refused it (`NotAuthorizedException`), then it is sent wrong.
//! - Device SRP (`DEVICE_SRP_AUTH`) and device verifiers are not recomputed.
//! - What the replay creates on a URL endpoint stays there unless the cassette deletes it.
//! - Only API calls and `GET` requests (JWKS) are replayed; other requests are counted as not
//!   compared.

use std::path::{Path, PathBuf};

use clap::Parser;

use super::report::Summary;
use super::{
    path_label, BufferedResponse, Comparer, DiffReport, NoiseRules, ReportPaths, ShadowRequest,
};
use crate::error::{Error, Result};
use crate::record::Cassette;

/// `cogcheck-proxy compare`: the command line.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "cogcheck-proxy compare",
    bin_name = "cogcheck-proxy compare",
    about = "Replay a recorded session against another endpoint and report every difference",
    after_long_help = "\
OUTPUT (in --out DIR):
    diffs.jsonl   one record per mismatch (format cogcheck-diff/1, see proxy/src/shadow/diff.rs)
    summary.md    counts per action and every mismatch's diff, grouped by action
    junit.xml     one test case per action, failed when any of its exchanges differ

EXIT STATUS:
    0  every compared exchange matched
    5  mismatches were found (the report says which)
    2  bad command line, noise rules or target
    3  the cassette (or an output file) could not be read or written
    1  anything else"
)]
pub struct CompareArgs {
    /// The cassette (`cogcheck-cassette/1`) to replay.
    #[arg(value_name = "CASSETTE")]
    pub cassette: PathBuf,

    /// Where to replay it: an endpoint URL (http://127.0.0.1:9229) or the name of a target in
    /// fixtures/targets.toml (moto, cognito-local, ...), started for the comparison.
    #[arg(long, value_name = "URL|TARGET")]
    pub against: String,

    /// Directory for diffs.jsonl, summary.md and junit.xml (created if missing).
    #[arg(long, value_name = "DIR", default_value = "compare-report")]
    pub out: PathBuf,

    /// Noise rules (TOML) instead of the shipped fixtures/compare/noise.toml.
    #[arg(long, value_name = "FILE")]
    pub noise: Option<PathBuf>,

    /// Allow a target install that takes long (fakecloud compiles for hours on two cores).
    #[arg(long)]
    pub allow_slow_install: bool,
}

/// What a comparison found, and where the report is.
#[derive(Debug, Clone)]
pub struct CompareOutcome {
    /// The counts.
    pub summary: Summary,
    /// The report files.
    pub paths: ReportPaths,
    /// The endpoint compared against.
    pub endpoint: String,
}

/// Runs `cogcheck-proxy compare`.
pub async fn run(args: &CompareArgs) -> Result<CompareOutcome> {
    let rules = match &args.noise {
        Some(p) => NoiseRules::load(p)?,
        None => NoiseRules::defaults()?,
    };
    compare_cassette(
        &args.cassette,
        &args.against,
        &args.out,
        rules,
        args.allow_slow_install,
    )
    .await
}

/// Replays `cassette` against `against` (URL or target name) and writes the report to `out`.
pub async fn compare_cassette(
    cassette: &Path,
    against: &str,
    out: &Path,
    rules: NoiseRules,
    allow_slow_install: bool,
) -> Result<CompareOutcome> {
    let tape = Cassette::load(cassette)?;
    let (client, mut running) = connect(against, allow_slow_install).await?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let paths = ReportPaths {
        jsonl: Some(out.join("diffs.jsonl")),
        markdown: Some(out.join("summary.md")),
        junit: Some(out.join("junit.xml")),
    };
    let report = DiffReport::open(
        paths.clone(),
        &cassette.display().to_string(),
        client.endpoint(),
    )?;
    let mut comparer = Comparer::new(rules, report, true);
    let mut used_codes = std::collections::HashSet::new();
    for ex in tape.exchanges {
        let (Some(response), None) = (&ex.response, &ex.error) else {
            comparer.skip();
            continue;
        };
        let method =
            http::Method::from_bytes(ex.request.method.as_bytes()).unwrap_or(http::Method::POST);
        let mut headers = http::HeaderMap::new();
        for (k, v) in &ex.request.headers {
            if let (Ok(k), Ok(v)) = (
                http::HeaderName::from_bytes(k.as_bytes()),
                http::HeaderValue::from_str(v),
            ) {
                headers.append(k, v);
            }
        }
        let api_action = ex.action.clone().or_else(|| {
            ex.target
                .as_deref()
                .and_then(|t| t.rsplit('.').next())
                .map(str::to_string)
        });
        let label = match (&ex.action, &ex.target) {
            (Some(a), _) => a.clone(),
            (None, Some(t)) => format!("target:{t}"),
            (None, None) => path_label(&method, &ex.request.path),
        };
        if api_action.is_none() && method != http::Method::GET {
            comparer.skip();
            continue;
        }
        let req = ShadowRequest {
            action: ex.action.clone(),
            label,
            method,
            path: ex.request.path.clone(),
            headers,
            body: ex.request.body_bytes(),
            signed: ex.signed,
            time: ex.time.clone(),
            cassette_seq: Some(ex.seq),
        };
        let mut primary_headers = http::HeaderMap::new();
        for (k, v) in &response.headers {
            if let (Ok(k), Ok(v)) = (
                http::HeaderName::from_bytes(k.as_bytes()),
                http::HeaderValue::from_str(v),
            ) {
                primary_headers.append(k, v);
            }
        }
        let primary = BufferedResponse {
            // Invariant: the cassette loader refuses a status that is not an HTTP status.
            status: http::StatusCode::from_u16(response.status)
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            headers: primary_headers,
            body: response.body_bytes(),
        };
        let mut prepared = comparer.prepare(&req, &primary);
        if let (Some(slot), Some(target)) = (
            comparer.delivered_code_slot(&req, &prepared, &primary),
            running.as_ref(),
        ) {
            if let Some(code) = delivered_code(target, &client, &slot, &mut used_codes).await {
                prepared.set_code(slot.pointer, &code);
            }
        }
        let answer = match &api_action {
            Some(action) => {
                client
                    .call_raw(action, prepared.body.clone(), req.signed)
                    .await
            }
            None => client.get(&prepared.path).await,
        }
        .map(|raw| BufferedResponse {
            // Invariant: the status came off the wire through hyper, which parsed it as one.
            status: http::StatusCode::from_u16(raw.status)
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            headers: raw.headers,
            body: raw.body,
        })
        .map_err(|e| e.to_string());
        comparer.conclude(&req, prepared, &primary, answer);
    }
    let summary = comparer.finish()?;
    if let Some(mut r) = running.take() {
        let _ = tokio::task::spawn_blocking(move || r.stop()).await;
    }
    Ok(CompareOutcome {
        summary,
        paths,
        endpoint: client.endpoint().to_string(),
    })
}

/// The code a named target delivered for `slot` that no earlier request used: its fixed code,
/// or the newest one in its log or code endpoint, waited for a moment because targets deliver
/// after answering. `None` when the target checks no code or none arrives; the request then
/// goes with the code it had, and a refusal shows in the report.
async fn delivered_code(
    target: &cogcheck::target::RunningTarget,
    client: &cogcheck::client::Client,
    slot: &super::mapping::CodeSlot,
    used: &mut std::collections::HashSet<String>,
) -> Option<String> {
    use super::mapping::CodePurpose;
    use cogcheck::target::CodeSource;
    let source = target.codes()?;
    match source {
        CodeSource::Unchecked { .. } => None,
        CodeSource::Fixed {
            sign_up,
            forgot_password,
            ..
        } => match slot.purpose {
            CodePurpose::SignUp => Some(sign_up.clone()),
            CodePurpose::ForgotPassword => Some(forgot_password.clone()),
            // targets.toml names no fixed code for attribute verification: do not guess.
            CodePurpose::Attribute => None,
        },
        CodeSource::Log { .. } | CodeSource::Endpoint { .. } => {
            for attempt in 0..100 {
                if attempt > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                let codes = cogcheck::target::delivered_codes(
                    source,
                    client,
                    target.log_path(),
                    &slot.pool,
                    &slot.user,
                )
                .await
                .ok()?;
                if let Some(code) = codes.into_iter().rev().find(|c| !used.contains(c)) {
                    used.insert(code.clone());
                    return Some(code);
                }
            }
            None
        }
    }
}

/// A client for a URL, or for a named target started now.
async fn connect(
    against: &str,
    allow_slow_install: bool,
) -> Result<(
    cogcheck::client::Client,
    Option<cogcheck::target::RunningTarget>,
)> {
    use cogcheck::target;
    let region = target::region_from_env();
    if against.starts_with("http://") || against.starts_with("https://") {
        let c = target::credentials_from_env();
        let client = cogcheck::client::Client::new(cogcheck::client::ClientConfig {
            endpoint: against.to_string(),
            region,
            credentials: c,
            timeout: std::time::Duration::from_secs(30),
        })
        .map_err(|e| Error::Config(format!("--against {against}: {e}")))?;
        return Ok((client, None));
    }
    let name = against.to_string();
    let running = tokio::task::spawn_blocking(move || {
        let targets = target::Targets::load_default()?;
        let spec = targets.get(&name)?;
        if name == "aws" {
            target::check_aws_opt_in()?;
        }
        let cache = target::Cache::default_location()?;
        spec.start(&cache, allow_slow_install)
    })
    .await
    .map_err(|e| Error::Config(format!("--against {against}: the start task failed: {e}")))?
    .map_err(|e| {
        Error::Config(format!(
            "--against {against}: {e} (give an endpoint URL, or a target named in fixtures/targets.toml)"
        ))
    })?;
    let c = running.credentials.clone();
    let client = cogcheck::client::Client::new(cogcheck::client::ClientConfig {
        endpoint: running.endpoint.clone(),
        region,
        credentials: c,
        timeout: std::time::Duration::from_secs(30),
    })
    .map_err(|e| Error::Config(format!("--against {against}: {e}")))?;
    Ok((client, Some(running)))
}
