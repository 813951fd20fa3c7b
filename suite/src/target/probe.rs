//! The readiness probe's own small HTTP exchange (blocking, before any runtime exists).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, SystemTime};

use super::{env::Credentials, spec::ProbeKind};

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
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;

    let body = br#"{"MaxResults":1}"#;
    let host = addr.to_string();
    let url = format!("http://{host}/");
    let headers = [
        ("host", host.as_str()),
        ("content-type", "application/x-amz-json-1.1"),
        (
            "x-amz-target",
            "AWSCognitoIdentityProviderService.ListUserPools",
        ),
    ];
    let identity: aws_smithy_runtime_api::client::identity::Identity =
        aws_credential_types::Credentials::new(
            &credentials.access_key_id,
            &credentials.secret_access_key,
            credentials.session_token.clone(),
            None,
            "cogcheck-target",
        )
        .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("cognito-idp")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("signing: {e}"))?
        .into();
    let signable = SignableRequest::new(
        "POST",
        &url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| format!("signing: {e}"))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| format!("signing: {e}"))?
        .into_parts();
    let mut request = String::from("POST / HTTP/1.1\r\n");
    for (name, value) in headers.iter().copied().chain(instructions.headers()) {
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
