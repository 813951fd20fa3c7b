//! The one error type of the `cogcheck-proxy` library.
//!
//! These are the errors that stop the proxy from starting or from shutting down cleanly. What
//! goes wrong with one request (an unreachable upstream, an oversized body, a replay miss) is
//! never an [`Error`]: it becomes an AWS-shaped answer to that client (see `answer.rs`) and an
//! error exchange in the cassette.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can stop the proxy. Messages are lowercase, say what was wrong and where,
/// and, where there is one, what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command line or configuration is inconsistent.
    #[error("{0}")]
    Config(String),
    /// A listening socket could not be opened.
    #[error("cannot listen on {addr}: {source} (is another process using the port?)")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A cassette is not a `cogcheck-cassette/1` file.
    #[error("{path}:{line}: {message}")]
    Cassette {
        /// The cassette.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A certificate or key could not be loaded or generated.
    #[error("tls: {0}")]
    Tls(String),
    /// The recorder could not write the cassette.
    #[error("recorder: {0}")]
    Recorder(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
