//! Reporters: each consumes the run's [`Event`](crate::run::Event)s or its final results and
//! renders one view of them. None of them runs anything.
//!
//! - [`progress`]: the progress bar while a run goes on.
//! - [`summary`]: the table printed when it ends.
//! - [`results`]: the results JSON (`cogcheck-results/2`), the input of every other report.
//! - [`junit`]: JUnit XML for CI systems.

pub mod compat;
pub mod junit;
pub mod progress;
pub mod results;
pub mod summary;
