//! `kind = "content_type"`: the upstream's answer, unchanged but for its `Content-Type`
//! (`text/html` by default, as a captive portal or a misrouted load balancer sends).

use serde::{Deserialize, Serialize};

use crate::answer::BufferedResponse;

/// Send the answer with another `Content-Type`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrongContentType {
    /// The content type sent.
    #[serde(default = "text_html")]
    pub content_type: String,
}

fn text_html() -> String {
    "text/html".into()
}

impl WrongContentType {
    /// The relabelled answer.
    pub fn apply(&self, mut resp: BufferedResponse) -> BufferedResponse {
        let v = http::HeaderValue::from_str(&self.content_type)
            .unwrap_or(http::HeaderValue::from_static("text/html"));
        resp.headers.insert(http::header::CONTENT_TYPE, v);
        resp
    }
}
