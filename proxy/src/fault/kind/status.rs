//! `kind = "status"`: a raw 5xx as a load balancer in front of Cognito sends it, with an
//! empty body or the load balancer's HTML page, and no `x-amzn-*` headers, so SDKs see an
//! error they cannot decode as a Cognito error.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::FieldProblem;
use crate::answer::BufferedResponse;

/// A load balancer's error answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerStatus {
    /// 502, 503 or 504 (any 5xx is accepted).
    pub status: u16,
    /// `html` (default) or `empty`.
    #[serde(default)]
    pub body: StatusBody,
}

/// The body of a load balancer's error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusBody {
    /// The HTML page an AWS load balancer sends.
    #[default]
    Html,
    /// No body at all.
    Empty,
}

impl LoadBalancerStatus {
    /// Checks the status is a 5xx.
    pub fn validate(&self) -> Result<(), FieldProblem> {
        if !(500..=599).contains(&self.status) {
            return Err((
                "status".into(),
                format!("{} is not a 5xx status (use 502, 503 or 504)", self.status),
            ));
        }
        Ok(())
    }

    /// The answer.
    pub fn answer(&self) -> BufferedResponse {
        let status =
            http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::SERVER,
            http::HeaderValue::from_static("awselb/2.0"),
        );
        let body = match self.body {
            StatusBody::Empty => Bytes::new(),
            StatusBody::Html => {
                headers.insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("text/html"),
                );
                let title = format!(
                    "{} {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("Error")
                );
                Bytes::from(format!(
                    "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
                ))
            }
        };
        BufferedResponse {
            status,
            headers,
            body,
        }
    }
}
