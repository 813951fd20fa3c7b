//! SigV4: the one signer of the workspace, and the credentials it signs with.
//!
//! The suite's client, the targets' blocking readiness probe and the proxy (re-signing for a
//! real AWS upstream) all sign through [`sign_request`], on the `aws-sigv4` crate the AWS SDK
//! for Rust uses, so a fix to signing reaches every request the project sends.
//!
//! Source: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>.

use std::fmt;
use std::time::SystemTime;

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// AWS credentials. `Debug` never prints the secret or the session token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key id (`AWS_ACCESS_KEY_ID`).
    pub access_key_id: String,
    /// The secret access key (`AWS_SECRET_ACCESS_KEY`).
    pub secret_access_key: String,
    /// The session token of temporary credentials (`AWS_SESSION_TOKEN`).
    pub session_token: Option<String>,
}

impl Credentials {
    /// The harmless credentials emulators are driven with: `testing` / `testing`.
    pub fn emulator_default() -> Credentials {
        Credentials {
            access_key_id: "testing".to_string(),
            secret_access_key: "testing".to_string(),
            session_token: None,
        }
    }

    /// The identity [`sign_request`] signs as.
    pub fn identity(&self) -> Identity {
        aws_credential_types::Credentials::new(
            self.access_key_id.clone(),
            self.secret_access_key.clone(),
            self.session_token.clone(),
            None,
            "cogcheck",
        )
        .into()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Signs an HTTP request with SigV4 in place: adds `Authorization`, `X-Amz-Date`, and
/// `X-Amz-Security-Token` for temporary credentials. `body` is what will be sent (the request's
/// own body is not read, so a streaming body can be signed from a buffered copy). A request
/// without a `Host` header gets one from its URI's authority, since `Host` is signed and
/// hyper adds it only when sending.
pub fn sign_request<B>(
    req: &mut http::Request<B>,
    body: &[u8],
    identity: &Identity,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<(), String> {
    if !req.headers().contains_key(http::header::HOST) {
        if let Some(authority) = req.uri().authority() {
            let value = http::HeaderValue::from_str(authority.as_str())
                .map_err(|e| format!("bad host {authority}: {e}"))?;
            req.headers_mut().insert(http::header::HOST, value);
        }
    }
    let params = v4::SigningParams::builder()
        .identity(identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let headers: Vec<(&str, &str)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
        .collect();
    let uri = req.uri().to_string();
    let signable = SignableRequest::new(
        req.method().as_str(),
        &uri,
        headers.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    instructions.apply_to_request_http1x(req);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn example() -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }
    }

    #[test]
    fn signature_matches_botocore() {
        // Reference computed independently with botocore 1.43 (SigV4Auth) for the same
        // request, credentials and time; `python3 suite/tests/vectors/sigv4_vector.py` prints it.
        let body = br#"{"MaxResults":10}"#;
        let mut req = http::Request::builder()
            .method("POST")
            .uri("https://cognito-idp.us-east-1.amazonaws.com/")
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                "AWSCognitoIdentityProviderService.ListUserPools",
            )
            .body(())
            .unwrap();
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let identity = example().identity();
        sign_request(&mut req, body, &identity, "us-east-1", "cognito-idp", time).unwrap();
        let auth = req.headers()["authorization"].to_str().unwrap();
        assert_eq!(req.headers()["x-amz-date"], "20231114T221320Z");
        assert_eq!(auth, SIGV4_VECTOR_AUTHORIZATION);
    }

    const SIGV4_VECTOR_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/cognito-idp/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=1c0af0fd292a73df84400aa4442f819490a8f11b2b611e857f20da7bcd05cee5";

    #[test]
    fn temporary_credentials_send_their_session_token() {
        let mut req = http::Request::builder()
            .method("POST")
            .uri("http://127.0.0.1:5000/")
            .body(())
            .unwrap();
        let creds = Credentials {
            session_token: Some("tok".into()),
            ..example()
        };
        sign_request(
            &mut req,
            b"{}",
            &creds.identity(),
            "us-east-1",
            "cognito-idp",
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(req.headers()["x-amz-security-token"], "tok");
        assert_eq!(req.headers()["host"], "127.0.0.1:5000");
    }

    #[test]
    fn debug_hides_the_secret() {
        let text = format!("{:?}", example());
        assert!(
            text.contains("AKIDEXAMPLE") && !text.contains("wJalr"),
            "{text}"
        );
    }
}
