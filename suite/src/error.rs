//! The one error type of the `cogcheck` library.

use std::path::PathBuf;

/// Everything that can go wrong in the library. Messages are lowercase, say what was wrong and
/// where, and, where there is one, what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file the suite needs could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A configuration or data file is malformed.
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong and where in the file.
        message: String,
    },
    /// The service model is malformed or does not know something it was asked about.
    #[error("service model: {0}")]
    Model(String),
    /// An action name the service model does not define.
    #[error("unknown action `{0}`: not an operation of the cognito-idp service model")]
    UnknownAction(String),
    /// A request could not be sent or its answer could not be read.
    #[error("{endpoint}: {message}")]
    Transport {
        /// The endpoint the request went to.
        endpoint: String,
        /// What happened.
        message: String,
    },
    /// A target could not be found, installed, started or stopped.
    #[error("target `{target}`: {message}")]
    Target {
        /// The target's name.
        target: String,
        /// What went wrong and what to do.
        message: String,
    },
    /// A command-line argument is wrong (what, and what would be right).
    #[error("{0}")]
    Usage(String),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
