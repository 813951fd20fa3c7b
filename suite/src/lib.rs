//! cogcheck: the conformance suite for the Amazon Cognito User Pools API (`cognito-idp`).
//!
//! The data flows in one direction, one module per arrow:
//!
//! ```text
//! scenario file -> steps -> client -> target -> response -> checks  -> findings -> verdicts    -> report
//!  (scenario)      (run)   (client)  (target)   (wire)    (checks)    (finding)  (expectations)  (report)
//! ```
//!
//! - [`run`]: schedules scenarios and runs each step; every answer goes through [`checks`],
//!   which turns it into [`finding::Finding`]s on three axes (behaviour, shape, protocol);
//!   [`expectations`] turns a scenario's findings into verdicts per axis; reporters only read
//!   results.
//! - [`model`]: the Cognito service model (operations, shapes, errors, sensitive members) and
//!   validation of any JSON value against a shape.
//! - [`wire`]: the AWS JSON 1.1 protocol: `X-Amz-Target`, content type, error parsing, and the
//!   framing deviations every response yields.
//! - [`client`]: an HTTP/HTTPS client that signs with SigV4 where the model says an operation is
//!   signed.
//! - [`target`]: named endpoints; local emulators are installed, started and stopped here.
//! - [`protocol`]: the Cognito protocol math both crates compute the same way (SRP, TOTP,
//!   `SECRET_HASH`, device verifiers, JWT, WebAuthn, SigV4 signing, quota categories): values in,
//!   values out, no requests sent. Scenario helper steps, the client, the readiness probe and
//!   the proxy call it.
//! - [`clock`]: the time a run waits in; a replayed snapshot skips its waits.
//! - [`cache`]: the one folder installed targets and extracted fixtures are kept in.
//! - [`report_run`]: `cogcheck report`, on top of everything: opens a [`session`] per target,
//!   runs the scenarios, saves results files, and hands them to [`report`].
//!
//! The proxy crate (`cogcheck-proxy`) reuses [`model`], [`wire`] and [`protocol`]; nothing here
//! depends on it.
#![deny(missing_docs)]

pub mod cache;
pub mod checks;
pub mod client;
pub mod clock;
pub mod error;
pub mod expectations;
pub mod finding;
pub mod fixtures;
pub mod model;
pub mod mutation;
pub mod protocol;
pub mod report;
pub mod report_run;
pub mod run;
pub mod scenario;
pub mod secret_list;
pub mod secrets;
pub mod session;
pub mod target;
pub mod wire;

pub use error::Error;
