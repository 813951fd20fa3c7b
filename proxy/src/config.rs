//! Configuration as a pipeline of types: [`Args`] is what the command line says (clap), and
//! [`Config`] is what the proxy does, checked for consistency once so that no later layer
//! re-validates flags. Environment lookups are passed in, so the conversion is testable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::error::{Error, Result};
use crate::tls::TlsSource;
use crate::upstream::{Credentials, Upstream, UpstreamTrust};

const LONG_ABOUT: &str = "\
A transparent proxy for the Amazon Cognito User Pools API (cognito-idp, AWS JSON 1.1).

Put it between an application and Cognito (or an emulator such as moto): every request is
classified once by its X-Amz-Target, forwarded to the upstream, and, when asked, recorded to a
cassette with every secret redacted, or answered from a cassette without any upstream at all.
With recording and replay off it is a plain streaming reverse proxy.";

const AFTER_LONG_HELP: &str = "\
EXAMPLES:
    Forward to moto and record, secrets redacted:
        cogcheck-proxy --upstream http://127.0.0.1:5000 --record run.jsonl

    Answer from that recording with no upstream (unknown requests get a 400 miss error):
        cogcheck-proxy --replay run.jsonl --mode none

    Serve HTTPS with a certificate generated on first run (its CA path is printed):
        cogcheck-proxy --upstream http://127.0.0.1:5000 --tls-generate ~/.cache/cogcheck/tls

    Record real Cognito (signed requests are re-signed with the proxy's own credentials):
        AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... cogcheck-proxy \\
            --upstream https://cognito-idp.eu-west-1.amazonaws.com --record staging.jsonl

    Compare moto with cognito-local on live traffic (clients get moto's answers):
        cogcheck-proxy --upstream http://127.0.0.1:5000 --shadow http://127.0.0.1:9229 \\
            --diff-out diffs.jsonl --diff-summary diffs.md --diff-junit diffs.xml

    Replay a recorded session against another endpoint or a named target (own --help):
        cogcheck-proxy compare staging.jsonl --against cognito-local --out report/

    Inject faults by rules (throttles, 5xx, latency, resets, broken bodies), reproducibly:
        cogcheck-proxy --upstream http://127.0.0.1:5000 --faults fixtures/faults/bad-network.toml \\
            --fault-log decisions.jsonl --admin 127.0.0.1:4567

    Replay the faults of that run exactly, whatever order the requests come in this time:
        cogcheck-proxy --upstream http://127.0.0.1:5000 --faults fixtures/faults/bad-network.toml \\
            --fault-replay decisions.jsonl

    A fleet of three behind a load balancer, throttling at the account's rate together:
        cogcheck-proxy --upstream http://127.0.0.1:5000 --quotas --listen 127.0.0.1:4566 \\
            --shared-state redis://127.0.0.1:6379/0 --shared-state-prefix staging:
        (the same on 127.0.0.1:4576 and 127.0.0.1:4586)

REPLAY MODES (--mode):
    none          replay only; a request that was never recorded gets a miss error
    once          record everything if the cassette does not exist yet, else like `none`
    new-episodes  replay what matches, forward and record (append) the rest
    all           never replay; forward and record (append) everything

ANSWERS THE PROXY MAKES ITSELF (all AWS-shaped: JSON body with __type and message, and an
x-amzn-ErrorType header):
    400 CogcheckReplayMissException       no recorded request matches (names the action and
                                          the closest recorded request); not retried by SDKs
    400 CogcheckRequestTooLargeException  the request body is larger than --max-body
    502 CogcheckUpstreamUnreachableException
                                          the upstream refused or could not be reached; SDKs
                                          retry a 502 as they would retry a connection error
                                          against Cognito itself, then show this message
    504 CogcheckUpstreamTimeoutException  no answer within --upstream-timeout (retried too)

OUTPUT:
    On start, one line per endpoint on standard output:
        listening on http://127.0.0.1:4566
        admin on http://127.0.0.1:4567
        ca certificate: DIR/ca.pem
    Log events go to standard error (LOGGING); an error that stops the proxy is printed there
    as a plain `cogcheck-proxy: ...` line.

LOGGING:
    Levels: `info` by default (start, shutdown, warnings, errors), `debug` for the proxy's
    own events with --verbose (adds one event per exchange). RUST_LOG, when set, decides
    instead, with tracing-subscriber's filter syntax: RUST_LOG=warn, RUST_LOG=cogcheck_proxy=debug.
    --log-format json writes one JSON object per line with `timestamp`, `level`, `target`
    and `message`, and the event's fields beside them:
        start     `listen`, `upstream`, `cassette`, `mode`
        exchange  `method`, `path`, `action`, `status`, `source` (upstream, replay, proxy or
                  a fault), `latency_ms`; `seq` (its line in the cassette) when recorded;
                  `upstream` when forwarding
        problems  `error`, and the file or count concerned
    No event carries a header value (Authorization, signatures) or a body: passwords,
    tokens, codes and sessions never reach a log.

SIGNALS:
    SIGTERM or SIGINT: stop accepting, finish the exchanges in flight (up to
    --shutdown-grace), write and fsync the cassette, exit 0 (6 when the grace period ran
    out and exchanges were abandoned unanswered). An answer reaches a client only
    after its exchange is written to the cassette, so nothing answered is lost on a crash.

ENVIRONMENT:
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
        credentials used to re-sign signed requests when the upstream is real AWS
        (*.amazonaws.com); emulator upstreams get requests exactly as they came.

EXIT STATUS:
    0  stopped by a signal after a clean shutdown
    2  bad command line or configuration (flags, certificates, credentials)
    3  a cassette (or another file) could not be read, parsed or written
    4  a listening port could not be opened
    6  stopped by a signal, but the shutdown grace period ran out and exchanges in flight
       were abandoned (their number is in a warning on standard error)
    1  anything else";

/// The command line of `cogcheck-proxy`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "cogcheck-proxy",
    version,
    about = "Transparent recording and replaying proxy for the Amazon Cognito User Pools API",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_LONG_HELP
)]
pub struct Args {
    /// Address to listen on for clients. Port 0 picks a free port (the chosen one is printed).
    /// With TLS configured the port speaks both HTTPS and plain HTTP.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4566")]
    pub listen: SocketAddr,

    /// The Cognito endpoint to forward to: an emulator (http://127.0.0.1:5000) or
    /// https://cognito-idp.REGION.amazonaws.com. Not needed to replay with --mode none.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,

    /// Record every exchange to FILE (JSON lines, `cogcheck-cassette/1`, secrets redacted).
    /// An existing cassette is appended to, never overwritten.
    #[arg(long, value_name = "FILE", conflicts_with = "replay")]
    pub record: Option<PathBuf>,

    /// Cap the cassette at MB megabytes (MiB): when a write would pass it, the file is closed
    /// and renamed FILE-stem.N.jsonl (N = 1, 2, ..., newest highest) and a fresh FILE begins.
    /// Only the newest --record-keep rotated files are kept. Off by default.
    #[arg(long, value_name = "MB")]
    pub record_max_mb: Option<u64>,

    /// How many rotated cassettes --record-max-mb keeps (older ones are deleted), so disk use
    /// stays under (keep + 1) x MB.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub record_keep: usize,

    /// The cassette key: 64 hex digits in FILE, created (mode 0600) when recording and the file
    /// does not exist. Recording writes each secret's HMAC digest under it, so that replaying
    /// with the same key tells a wrong password, code or client id from the recorded one even
    /// on first use. Keep the file apart from cassettes you share.
    #[arg(long, value_name = "FILE")]
    pub cassette_key: Option<PathBuf>,

    /// Answer from the cassette FILE; --mode says what happens to requests it does not hold.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,

    /// What to do with a cassette given by --replay.
    #[arg(long, value_enum, value_name = "MODE", requires = "replay")]
    pub mode: Option<Mode>,

    /// Serve the admin API (GET /health, /stats, /cassette; GET/POST/DELETE /faults) on ADDR.
    /// Loopback addresses only.
    #[arg(long, value_name = "ADDR")]
    pub admin: Option<SocketAddr>,

    /// Serve HTTPS with this certificate chain (PEM). Needs --tls-key.
    #[arg(
        long,
        value_name = "PEM",
        requires = "tls_key",
        conflicts_with = "tls_generate"
    )]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Serve HTTPS with a certificate from a CA generated on first run and kept in DIR
    /// (ca.pem, ca-key.pem). Point clients at DIR/ca.pem (boto3 `verify=`, AWS_CA_BUNDLE).
    #[arg(long, value_name = "DIR")]
    pub tls_generate: Option<PathBuf>,

    /// Trust this CA certificate (PEM) for an HTTPS upstream, besides the public roots.
    #[arg(long, value_name = "PEM", conflicts_with = "insecure_upstream")]
    pub upstream_ca: Option<PathBuf>,

    /// Do not verify the upstream's certificate. Only for emulators with throwaway
    /// certificates; never against real AWS.
    #[arg(long)]
    pub insecure_upstream: bool,

    /// Largest request body accepted, in bytes (suffixes k, m: 512k, 1m). Larger requests get
    /// a 400 CogcheckRequestTooLargeException without reaching the upstream.
    #[arg(long, value_name = "BYTES", default_value = "1m", value_parser = parse_size)]
    pub max_body: u64,

    /// Seconds to wait for the upstream's answer before a 504 CogcheckUpstreamTimeoutException.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub upstream_timeout: u64,

    /// Seconds to let exchanges in flight finish after SIGTERM/SIGINT.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub shutdown_grace: u64,

    /// Log every exchange (method, path, action, status, source, latency; never headers or
    /// bodies) to standard error: the `debug` level for the proxy's own events. RUST_LOG, when
    /// set, chooses the levels instead.
    #[arg(short, long)]
    pub verbose: bool,

    /// How log events on standard error look: `text`, one readable line each, or `json`, one
    /// JSON object per line (see LOGGING in --help).
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub log_format: LogFormat,

    /// Compare mode: send every request the upstream answered to this second upstream too,
    /// map identifiers between the two, and report every difference (clients always get the
    /// --upstream's answer). See also `cogcheck-proxy compare --help` for cassettes.
    #[arg(long, value_name = "URL")]
    pub shadow: Option<String>,

    /// Write one JSON line per mismatch between --upstream and --shadow (cogcheck-diff/1).
    #[arg(long, value_name = "FILE", requires = "shadow")]
    pub diff_out: Option<PathBuf>,

    /// Write a Markdown summary of the mismatches, grouped by action, on shutdown.
    #[arg(long, value_name = "FILE.md", requires = "shadow")]
    pub diff_summary: Option<PathBuf>,

    /// Write a JUnit XML report (one test case per action) on shutdown.
    #[arg(long, value_name = "FILE.xml", requires = "shadow")]
    pub diff_junit: Option<PathBuf>,

    /// Noise rules (TOML) for comparing, instead of the shipped fixtures/compare/noise.toml.
    #[arg(long, value_name = "FILE", requires = "shadow")]
    pub noise: Option<PathBuf>,

    /// Memory for the identifier mapping between --upstream and --shadow, in MiB. Pools both
    /// delete are forgotten at once; over this, the oldest sessions, tokens and codes go first.
    #[arg(long, value_name = "MIB", default_value_t = 64, requires = "shadow",
          value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub shadow_mapping_mb: u32,

    /// Requests the shadow may fall behind. Beyond that, requests are not sent to the shadow
    /// (counted as `dropped` in the admin API's /stats and the summary): clients of the
    /// --upstream never wait for the shadow.
    #[arg(long, value_name = "N", default_value_t = crate::shadow::live::QUEUE as u32,
          requires = "shadow", value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub shadow_queue: u32,

    /// Inject faults by the rules in FILE (TOML or JSON; see proxy/README.md, "Faults").
    /// Rules are checked before the proxy starts; the admin API changes them at run time.
    #[arg(long, value_name = "FILE")]
    pub faults: Option<PathBuf>,

    /// The seed of every fault rule's random stream (overrides the rules file's `seed`;
    /// default 0). The same seed and the same requests give the same faults.
    #[arg(long, value_name = "N")]
    pub fault_seed: Option<u64>,

    /// Append every fault decision (request, rule, draw, match key, occurrence, delay) to
    /// FILE as JSON lines (cogcheck-fault-decisions/1); --fault-replay replays such a file.
    #[arg(long, value_name = "FILE")]
    pub fault_log: Option<PathBuf>,

    /// Replay the fault decisions of an earlier run from its --fault-log FILE instead of
    /// drawing: a request a rule selects gets the logged decision (fired or not, the latency
    /// drawn) of the same rule, match key (action, Username, AuthFlow, ChallengeName) and
    /// occurrence of that key, whatever order requests arrive in. Selections the file does not
    /// hold do not fire and are counted `unmatched`. Needs --faults with that run's rules;
    /// the file is checked before the proxy starts.
    #[arg(long, value_name = "FILE", requires = "faults")]
    pub fault_replay: Option<PathBuf>,

    /// Emulate Cognito's request rate quotas: a token bucket per quota category at the
    /// default rates; over it, TooManyRequestsException as Cognito sends it.
    #[arg(long)]
    pub quotas: bool,

    /// Honour the `x-cogcheck-fault: RULE_ID` request header for these rule ids (comma
    /// separated): the named rule's fault is forced for that request. Off by default.
    #[arg(long, value_name = "RULE_IDS", value_delimiter = ',')]
    pub allow_fault_header: Vec<String>,

    /// A fleet: keep quota buckets and the counts of rules with `first`, `every` or `after`
    /// in this Redis, shared by every proxy given the same URL and prefix, so the fleet
    /// throttles at the account's rate and "fail the first N" fails N requests in all. One
    /// round trip per request, within --shared-state-timeout; when Redis is unreachable or
    /// slow the proxy warns, decides with its own local buckets (counted in GET /metrics) and
    /// reconnects in the background.
    #[arg(long, value_name = "redis://HOST:PORT[/DB]")]
    pub shared_state: Option<String>,

    /// Put before every key in --shared-state, so several fleets can share one Redis.
    #[arg(long, value_name = "PREFIX", default_value = crate::fault::shared::DEFAULT_PREFIX,
          requires = "shared_state")]
    pub shared_state_prefix: String,

    /// Milliseconds a request waits for --shared-state before it is decided locally.
    #[arg(long, value_name = "MS", default_value_t = crate::fault::shared::DEFAULT_TIMEOUT_MS,
          requires = "shared_state",
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub shared_state_timeout: u64,

    /// Threads serving requests (the async runtime's workers). Default: one per CPU. One
    /// worker pins the proxy to a single core, as `worker_processes 1` does nginx.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,
}

/// The look of log events on standard error (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// What to do with a replayed cassette.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Replay only; unmatched requests get a miss error.
    None,
    /// Record if the cassette is new, else replay only.
    Once,
    /// Replay what matches, forward and record the rest.
    NewEpisodes,
    /// Never replay; forward and record everything.
    All,
}

/// The AWS convention's credentials from `env`, when both the key id and the secret are set
/// (an empty value counts as unset, as the AWS SDKs treat it).
fn aws_credentials(env: &impl Fn(&str) -> Option<String>) -> Option<Credentials> {
    cogcheck::target::credentials_from(|name| env(name).filter(|v| !v.is_empty()))
}

/// What the proxy does with a cassette, resolved from `--record`, `--replay` and `--mode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CassettePlan {
    /// No cassette: a plain proxy.
    Off,
    /// Forward and record everything (append).
    Record(PathBuf),
    /// Replay from the cassette; `mode` says what happens on a miss.
    Replay {
        /// The cassette.
        path: PathBuf,
        /// The mode as given (after `once` was resolved to `None` or a recording).
        mode: Mode,
    },
}

impl CassettePlan {
    /// The cassette's path, if any.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            CassettePlan::Off => None,
            CassettePlan::Record(p) | CassettePlan::Replay { path: p, .. } => Some(p),
        }
    }

    /// True when exchanges are written to the cassette.
    pub fn records(&self) -> bool {
        match self {
            CassettePlan::Off => false,
            CassettePlan::Record(_) => true,
            CassettePlan::Replay { mode, .. } => match mode {
                Mode::None | Mode::Once => false,
                Mode::NewEpisodes | Mode::All => true,
            },
        }
    }

    /// True when requests may be answered from the cassette.
    pub fn replays(&self) -> bool {
        match self {
            CassettePlan::Off | CassettePlan::Record(_) => false,
            CassettePlan::Replay { mode, .. } => match mode {
                Mode::None | Mode::Once | Mode::NewEpisodes => true,
                Mode::All => false,
            },
        }
    }

    /// True when requests can reach the upstream.
    pub fn forwards(&self) -> bool {
        match self {
            CassettePlan::Off | CassettePlan::Record(_) => true,
            CassettePlan::Replay { mode, .. } => match mode {
                Mode::None | Mode::Once => false,
                Mode::NewEpisodes | Mode::All => true,
            },
        }
    }

    /// The mode name shown by the admin API.
    pub fn mode_name(&self) -> &'static str {
        match self {
            CassettePlan::Off => "off",
            CassettePlan::Record(_) => "record",
            CassettePlan::Replay { mode, .. } => match mode {
                Mode::None => "none",
                Mode::Once => "once",
                Mode::NewEpisodes => "new-episodes",
                Mode::All => "all",
            },
        }
    }
}

/// The proxy's configuration, consistent by construction.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where clients connect.
    pub listen: SocketAddr,
    /// Where requests go; `None` only when nothing is forwarded.
    pub upstream: Option<Upstream>,
    /// Recording and replay.
    pub cassette: CassettePlan,
    /// Size cap and rotation of the cassette being recorded.
    pub rotation: crate::record::Rotation,
    /// The cassette key's file (`--cassette-key`).
    pub cassette_key: Option<PathBuf>,
    /// The admin API's address.
    pub admin: Option<SocketAddr>,
    /// HTTPS for clients.
    pub tls: Option<TlsSource>,
    /// Verification of an HTTPS upstream.
    pub upstream_trust: UpstreamTrust,
    /// Largest request body, in bytes.
    pub max_body: u64,
    /// How long to wait for the upstream's answer.
    pub upstream_timeout: Duration,
    /// How long in-flight exchanges may take after a shutdown signal.
    pub shutdown_grace: Duration,
    /// Credentials for re-signing towards real AWS.
    pub credentials: Option<Credentials>,
    /// Fault injection and quota emulation.
    pub faults: crate::fault::FaultConfig,
    /// Compare mode: the second upstream and where its report goes.
    pub shadow: Option<crate::shadow::live::ShadowConfig>,
}

impl Config {
    /// A plain proxy to `upstream` on a free loopback port, for tests and embedding.
    pub fn new(upstream: &str) -> Result<Config> {
        Ok(Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            upstream: Some(Upstream::parse(upstream)?),
            cassette: CassettePlan::Off,
            rotation: crate::record::Rotation::default(),
            cassette_key: None,
            admin: None,
            tls: None,
            upstream_trust: UpstreamTrust::PublicRoots,
            max_body: 1 << 20,
            upstream_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
            credentials: None,
            faults: crate::fault::FaultConfig::default(),
            shadow: None,
        })
    }
}

impl Args {
    /// Checks the command line and resolves it into a [`Config`]. `env` reads environment
    /// variables (`std::env::var` in the binary).
    pub fn into_config(self, env: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let upstream = self.upstream.as_deref().map(Upstream::parse).transpose()?;

        let cassette = match (self.record, self.replay, self.mode) {
            (Some(path), None, _) => CassettePlan::Record(path),
            (None, Some(path), mode) => {
                let mode = mode.unwrap_or(Mode::None);
                let is_new = cassette_is_new(&path)?;
                match mode {
                    Mode::Once if is_new => CassettePlan::Record(path),
                    Mode::None | Mode::Once if is_new => {
                        return Err(Error::Config(format!(
                            "--replay {}: no such cassette (record one with --record, or use \
                             --mode once to record it now)",
                            path.display()
                        )))
                    }
                    _ => CassettePlan::Replay { path, mode },
                }
            }
            (None, None, _) => CassettePlan::Off,
            // clap's `conflicts_with` refuses this before we get here.
            (Some(_), Some(_), _) => {
                return Err(Error::Config(
                    "--record and --replay cannot be used together; use --replay FILE --mode \
                     new-episodes to replay and record"
                        .into(),
                ))
            }
        };

        if cassette.forwards() && upstream.is_none() {
            return Err(Error::Config(format!(
                "--upstream URL is required ({}); only --replay FILE --mode none works without one",
                match &cassette {
                    CassettePlan::Off => "the proxy forwards every request".to_string(),
                    other => format!("mode `{}` forwards requests", other.mode_name()),
                }
            )));
        }

        let rotation =
            match self.record_max_mb {
                None => crate::record::Rotation::default(),
                Some(_) if !cassette.records() => return Err(Error::Config(
                    "--record-max-mb: nothing is recorded (give --record FILE, or --replay FILE \
                     with --mode new-episodes or all)"
                        .into(),
                )),
                Some(0) => return Err(Error::Config("--record-max-mb must be at least 1".into())),
                Some(_) if self.record_keep == 0 => {
                    return Err(Error::Config(
                        "--record-keep must be at least 1 (the file just rotated)".into(),
                    ))
                }
                Some(mb) => crate::record::Rotation {
                    max_bytes: Some(mb.saturating_mul(1 << 20)),
                    keep: self.record_keep,
                },
            };

        if let Some(admin) = self.admin {
            if !admin.ip().is_loopback() {
                return Err(Error::Config(format!(
                    "--admin {admin}: the admin API listens on loopback only (e.g. 127.0.0.1:4567)"
                )));
            }
        }

        let tls = match (self.tls_cert, self.tls_key, self.tls_generate) {
            (Some(cert), Some(key), None) => Some(TlsSource::Files { cert, key }),
            (None, None, Some(dir)) => Some(TlsSource::Generate(dir)),
            (None, None, None) => None,
            _ => {
                return Err(Error::Config(
                    "use either --tls-cert PEM --tls-key PEM, or --tls-generate DIR".into(),
                ))
            }
        };

        let upstream_trust = match (self.insecure_upstream, self.upstream_ca) {
            (true, _) => UpstreamTrust::Insecure,
            (false, Some(ca)) => UpstreamTrust::WithCa(ca),
            (false, None) => UpstreamTrust::PublicRoots,
        };

        let credentials = match &upstream {
            Some(u) if u.is_aws && cassette.forwards() => {
                Some(aws_credentials(&env).ok_or_else(|| {
                    Error::Config(format!(
                        "--upstream {} is real AWS: the proxy re-signs signed requests with \
                             its own credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
                             (and AWS_SESSION_TOKEN for temporary credentials)",
                        u.display()
                    ))
                })?)
            }
            _ => None,
        };

        let shadow = match &self.shadow {
            Some(url) => {
                let upstream = Upstream::parse(url).map_err(|e| {
                    Error::Config(e.to_string().replacen("--upstream", "--shadow", 1))
                })?;
                if !cassette.forwards() {
                    return Err(Error::Config(
                        "--shadow compares what the --upstream answers; it cannot be used with \
                         --replay --mode none or once"
                            .into(),
                    ));
                }
                Some(crate::shadow::live::ShadowConfig {
                    upstream,
                    noise: self.noise,
                    mapping_budget: (self.shadow_mapping_mb as usize) << 20,
                    queue: self.shadow_queue as usize,
                    report: crate::shadow::ReportPaths {
                        jsonl: self.diff_out,
                        markdown: self.diff_summary,
                        junit: self.diff_junit,
                    },
                })
            }
            None => None,
        };
        // A real AWS shadow is re-signed like a real AWS upstream.
        let credentials = match (&credentials, &shadow) {
            (None, Some(s)) if s.upstream.is_aws => {
                Some(aws_credentials(&env).ok_or_else(|| {
                    Error::Config(format!(
                        "--shadow {} is real AWS: set AWS_ACCESS_KEY_ID and \
                             AWS_SECRET_ACCESS_KEY so the proxy can re-sign requests for it",
                        s.upstream.display()
                    ))
                })?)
            }
            _ => credentials,
        };

        if self.cassette_key.is_some() && cassette.path().is_none() {
            return Err(Error::Config(
                "--cassette-key: there is no cassette (give --record FILE or --replay FILE)".into(),
            ));
        }
        if self.max_body == 0 {
            return Err(Error::Config("--max-body must be at least 1 byte".into()));
        }
        if self.upstream_timeout == 0 {
            return Err(Error::Config(
                "--upstream-timeout must be at least 1 second".into(),
            ));
        }

        Ok(Config {
            listen: self.listen,
            upstream,
            cassette,
            rotation,
            cassette_key: self.cassette_key,
            admin: self.admin,
            tls,
            upstream_trust,
            max_body: self.max_body,
            upstream_timeout: Duration::from_secs(self.upstream_timeout),
            shutdown_grace: Duration::from_secs(self.shutdown_grace),
            credentials,
            faults: crate::fault::FaultConfig {
                rules: self.faults,
                seed: self.fault_seed,
                log: self.fault_log,
                replay: self.fault_replay,
                quotas: self.quotas,
                allow_header: self.allow_fault_header,
                shared: self
                    .shared_state
                    .map(|url| crate::fault::shared::SharedConfig {
                        url,
                        prefix: self.shared_state_prefix,
                        timeout: Duration::from_millis(self.shared_state_timeout),
                    }),
            },
            shadow,
        })
    }
}

/// A cassette is new when it does not exist or is empty; an unreadable one is an error now,
/// not at the first request.
fn cassette_is_new(path: &std::path::Path) -> Result<bool> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(Error::Config(format!(
            "{}: is a directory, expected a cassette file",
            path.display()
        ))),
        Ok(m) => Ok(m.len() == 0),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let (digits, mult) = if let Some(d) = t.strip_suffix("kib").or(t.strip_suffix('k')) {
        (d, 1u64 << 10)
    } else if let Some(d) = t.strip_suffix("mib").or(t.strip_suffix('m')) {
        (d, 1u64 << 20)
    } else {
        (t.as_str(), 1)
    };
    digits
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| {
            format!("`{s}` is not a size; use bytes, or a number with k or m (512k, 1m)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &[&str]) -> std::result::Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("cogcheck-proxy").chain(line.iter().copied()))
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn sizes_accept_suffixes() {
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn record_and_replay_conflict() {
        let e = args(&["--record", "a", "--replay", "b"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn a_cassette_key_needs_a_cassette() {
        let err = args(&["--upstream", "http://x", "--cassette-key", "k"])
            .unwrap()
            .into_config(no_env)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("--cassette-key: there is no cassette"),
            "{err}"
        );
        let c = args(&[
            "--upstream",
            "http://x",
            "--record",
            "c.jsonl",
            "--cassette-key",
            "k",
        ])
        .unwrap()
        .into_config(no_env)
        .unwrap();
        assert_eq!(c.cassette_key.as_deref(), Some(std::path::Path::new("k")));
    }

    #[test]
    fn mode_needs_replay() {
        let e = args(&["--upstream", "http://x", "--mode", "none"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn forwarding_needs_an_upstream() {
        let err = args(&[]).unwrap().into_config(no_env).unwrap_err();
        assert!(
            err.to_string().contains("--upstream URL is required"),
            "{err}"
        );
    }

    #[test]
    fn replay_none_needs_an_existing_cassette() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing.jsonl");
        let err = args(&["--replay", p.to_str().unwrap()])
            .unwrap()
            .into_config(no_env)
            .unwrap_err();
        assert!(err.to_string().contains("no such cassette"), "{err}");
        // `once` on a new cassette records, and so needs an upstream.
        let err = args(&["--replay", p.to_str().unwrap(), "--mode", "once"])
            .unwrap()
            .into_config(no_env)
            .unwrap_err();
        assert!(err.to_string().contains("--upstream"), "{err}");
        let c = args(&[
            "--replay",
            p.to_str().unwrap(),
            "--mode",
            "once",
            "--upstream",
            "http://127.0.0.1:1",
        ])
        .unwrap()
        .into_config(no_env)
        .unwrap();
        assert_eq!(c.cassette, CassettePlan::Record(p));
    }

    #[test]
    fn aws_upstream_needs_credentials() {
        let a = args(&["--upstream", "https://cognito-idp.eu-west-1.amazonaws.com"]).unwrap();
        let err = a.clone().into_config(no_env).unwrap_err();
        assert!(err.to_string().contains("AWS_ACCESS_KEY_ID"), "{err}");
        let c = a
            .into_config(|k| match k {
                "AWS_ACCESS_KEY_ID" => Some("AKID".into()),
                "AWS_SECRET_ACCESS_KEY" => Some("wJalrXUtnFEMI-value".into()),
                _ => None,
            })
            .unwrap();
        assert!(c.upstream.unwrap().is_aws);
        // Debug names the member but never prints the secret itself.
        assert!(!format!("{:?}", c.credentials).contains("wJalrXUtnFEMI-value"));
    }

    #[test]
    fn fault_replay_needs_the_rules() {
        let e = args(&["--upstream", "http://x", "--fault-replay", "d.jsonl"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        let c = args(&[
            "--upstream",
            "http://x",
            "--faults",
            "r.toml",
            "--fault-replay",
            "d.jsonl",
        ])
        .unwrap()
        .into_config(no_env)
        .unwrap();
        assert_eq!(c.faults.replay, Some(PathBuf::from("d.jsonl")));
    }

    #[test]
    fn bad_upstreams_and_admin_are_refused_clearly() {
        for bad in ["127.0.0.1:5000", "ftp://x", "http://x/?a=b"] {
            let err = args(&["--upstream", bad])
                .unwrap()
                .into_config(no_env)
                .unwrap_err();
            assert!(err.to_string().contains("--upstream"), "{bad}: {err}");
        }
        let err = args(&["--upstream", "http://x", "--admin", "0.0.0.0:4567"])
            .unwrap()
            .into_config(no_env)
            .unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
    }
}
