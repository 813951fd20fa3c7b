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

mod codes;
mod env;
mod install;
mod log;
mod probe;
mod process;
mod running;
mod sms_role;
pub mod snapshot;
mod spec;

pub use codes::*;
pub use env::*;
pub use install::*;
pub use process::*;
pub use running::*;
pub use sms_role::{SmsRole, SmsRoleSource};
pub use spec::*;

#[cfg(test)]
mod tests;
