//! Where the proxy forwards to and how it reaches it: the upstream's address, the AWS
//! credentials it re-signs with, and how the upstream's certificate is trusted. Plain values,
//! so that the configuration, the forwarder, the shadow and TLS can all use them without
//! importing each other.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Where requests go.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// The base URI (scheme, authority, optional path prefix).
    pub uri: http::Uri,
    /// True for real AWS (`*.amazonaws.com`): signed requests are re-signed.
    pub is_aws: bool,
}

impl Upstream {
    /// Parses an upstream URL, with an error that says what a good one looks like.
    pub fn parse(url: &str) -> Result<Upstream> {
        let uri: http::Uri = url.parse().map_err(|e| {
            Error::Config(format!(
                "--upstream `{url}`: not a URL ({e}); expected e.g. http://127.0.0.1:5000"
            ))
        })?;
        let host = match (uri.scheme_str(), uri.host()) {
            (Some("http" | "https"), Some(h)) => h.to_ascii_lowercase(),
            _ => {
                return Err(Error::Config(format!(
                    "--upstream `{url}`: expected an absolute http:// or https:// URL"
                )))
            }
        };
        if uri.query().is_some() {
            return Err(Error::Config(format!(
                "--upstream `{url}`: a query string cannot be forwarded to; remove it"
            )));
        }
        let is_aws = host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn");
        Ok(Upstream { uri, is_aws })
    }

    /// The upstream as written in the cassette and the admin API.
    pub fn display(&self) -> String {
        self.uri.to_string().trim_end_matches('/').to_string()
    }
}

/// Static AWS credentials from the environment, for re-signing: the suite's type, whose
/// `Debug` never prints the secret or the session token.
pub use cogcheck::target::Credentials;

/// How the upstream's certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamTrust {
    /// The public roots (webpki-roots).
    PublicRoots,
    /// The public roots plus this CA.
    WithCa(PathBuf),
    /// No verification (`--insecure-upstream`).
    Insecure,
}
