//! The readiness probe's own small HTTP exchange (blocking, before any runtime exists).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, SystemTime};

use super::{env::Credentials, spec::ProbeKind};
use crate::protocol::sigv4::sign_request;

pub(super) fn probe_name(kind: &ProbeKind) -> String {
    match kind {
        ProbeKind::ListUserPools => "cognito-idp ListUserPools".to_string(),
        ProbeKind::HttpGet { path } => format!("GET {path}"),
    }
}

/// A SigV4-signed `ListUserPools` request, so that emulators which check credentials (ministack
/// with AUTH=true, fakecloud with --verify-sigv4) answer it like any client of the suite.
pub(super) fn signed_list_user_pools(
    addr: SocketAddr,
    region: &str,
    credentials: &Credentials,
) -> std::result::Result<Vec<u8>, String> {
    let body = br#"{"MaxResults":1}"#;
    let host = addr.to_string();
    let mut req = http::Request::builder()
        .method("POST")
        .uri(format!("http://{host}/"))
        .header("host", host.as_str())
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            "AWSCognitoIdentityProviderService.ListUserPools",
        )
        .body(())
        .map_err(|e| format!("signing: {e}"))?;
    sign_request(
        &mut req,
        body,
        &credentials.identity(),
        region,
        "cognito-idp",
        SystemTime::now(),
    )
    .map_err(|e| format!("signing: {e}"))?;
    // The signed request, written by hand: the probe runs before any async runtime exists.
    let mut request = String::from("POST / HTTP/1.1\r\n");
    for (name, value) in req.headers() {
        let value = value.to_str().map_err(|e| format!("signing: {e}"))?;
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    Ok(bytes)
}

/// One blocking HTTP/1.1 exchange with `Connection: close`: the status code and the raw rest
/// of the response (headers and body). Enough for probes and resets; not a general client.
pub(super) fn http_exchange(
    addr: SocketAddr,
    request: &[u8],
    timeout: Duration,
) -> io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(request)?;
    let mut response = Vec::new();
    // A probe needs the status line only; the cap keeps a misbehaving server from filling memory.
    stream.take(1 << 20).read_to_end(&mut response)?;
    let status = response
        .strip_prefix(b"HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| std::str::from_utf8(code).ok())
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not an HTTP response: {}", snippet(&response)),
            )
        })?;
    let body = match response.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(end) => response.split_off(end + 4),
        None => Vec::new(),
    };
    Ok((status, body))
}

/// The start of a response body, printable, for error messages.
pub(super) fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_request_is_signed_by_the_shared_signer() {
        let addr: SocketAddr = "127.0.0.1:9229".parse().unwrap();
        let creds = Credentials {
            session_token: Some("tok".into()),
            ..Credentials::emulator_default()
        };
        let bytes = signed_list_user_pools(addr, "eu-west-1", &creds).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("POST / HTTP/1.1\r\n"), "{text}");
        assert!(text.contains("host: 127.0.0.1:9229\r\n"), "{text}");
        assert!(
            text.contains("authorization: AWS4-HMAC-SHA256 Credential=testing/")
                && text.contains("/eu-west-1/cognito-idp/aws4_request"),
            "{text}"
        );
        assert!(text.contains("x-amz-security-token: tok\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n{\"MaxResults\":1}"), "{text}");
    }
}
