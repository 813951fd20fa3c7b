//! `kind = "malformed"`: the upstream's answer, sent as a 200 whose body is not JSON: by
//! default the upstream's own body with its first `{` turned into `<`, so it still looks like
//! the answer at a glance; or the rule's `body`.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::answer::BufferedResponse;

/// Replace the answer's body with one that is not JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Malformed {
    /// The body to send instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl Malformed {
    /// The malformed answer.
    pub fn apply(&self, mut resp: BufferedResponse) -> BufferedResponse {
        resp.body = match &self.body {
            Some(b) => Bytes::from(b.clone()),
            None => {
                let mut b = resp.body.to_vec();
                match b.iter().position(|&c| c == b'{') {
                    Some(i) => b[i] = b'<',
                    None => b.insert(0, b'<'),
                }
                Bytes::from(b)
            }
        };
        resp.status = http::StatusCode::OK;
        resp.headers.remove(http::header::CONTENT_LENGTH);
        resp.headers.remove(cogcheck::wire::ERROR_TYPE_HEADER);
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_body_is_not_json() {
        let r = BufferedResponse {
            status: http::StatusCode::OK,
            headers: http::HeaderMap::new(),
            body: Bytes::from_static(b"{\"UserPools\":[]}"),
        };
        let out = Malformed { body: None }.apply(r);
        assert!(serde_json::from_slice::<serde_json::Value>(&out.body).is_err());
    }
}
