//! TLS on both sides: the listener's certificate (given, or issued by a CA generated on first
//! run) and the trust the forwarder puts in an HTTPS upstream.
//!
//! A generated CA lives in its directory as `ca.pem` and `ca-key.pem` (mode 0600) and is kept
//! across runs, so clients trust it once. The server certificate is issued anew by that CA at
//! every start, for `localhost`, `127.0.0.1`, `::1` and the listen address, so changing the
//! listen address never needs a new CA.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};
use crate::upstream::UpstreamTrust;

/// How the listener gets its certificate.
#[derive(Debug, Clone)]
pub enum TlsSource {
    /// Given files.
    Files {
        /// Certificate chain (PEM).
        cert: PathBuf,
        /// Private key (PEM).
        key: PathBuf,
    },
    /// A CA kept in this directory, generated on first run.
    Generate(PathBuf),
}

/// The listener's TLS setup.
pub struct ServerTls {
    /// The acceptor.
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// The CA certificate clients should trust, when it was generated here.
    pub ca_cert: Option<PathBuf>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the listener's TLS configuration.
pub fn server(source: &TlsSource, listen: SocketAddr) -> Result<ServerTls> {
    let (chain, key, ca_cert) = match source {
        TlsSource::Files { cert, key } => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| Error::Tls(format!("{}: {e}", cert.display())))?;
            if chain.is_empty() {
                return Err(Error::Tls(format!(
                    "{}: no CERTIFICATE block found",
                    cert.display()
                )));
            }
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| Error::Tls(format!("{}: {e}", key.display())))?;
            (chain, key, None)
        }
        TlsSource::Generate(dir) => {
            let (chain, key, ca) = generated(dir, listen)?;
            (chain, key, Some(ca))
        }
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| Error::Tls(format!("certificate and key do not fit together: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(ServerTls {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ca_cert,
    })
}

/// The CA's parameters. They are rebuilt identically at every start so that a stored CA key
/// can issue again without parsing the stored certificate.
fn ca_params() -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())
        .map_err(|e| Error::Tls(format!("ca parameters: {e}")))?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "cogcheck-proxy local CA");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "cogcheck");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    Ok(params)
}

fn generated(
    dir: &Path,
    listen: SocketAddr,
) -> Result<(
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
    PathBuf,
)> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let ca_path = dir.join("ca.pem");
    let ca_key_path = dir.join("ca-key.pem");
    let params = ca_params()?;
    let ca_key = if ca_path.exists() && ca_key_path.exists() {
        let pem = std::fs::read_to_string(&ca_key_path).map_err(|e| Error::io(&ca_key_path, e))?;
        KeyPair::from_pem(&pem)
            .map_err(|e| Error::Tls(format!("{}: {e}", ca_key_path.display())))?
    } else {
        let key = KeyPair::generate().map_err(|e| Error::Tls(format!("ca key: {e}")))?;
        let cert = params
            .self_signed(&key)
            .map_err(|e| Error::Tls(format!("ca certificate: {e}")))?;
        write_private(&ca_key_path, key.serialize_pem().as_bytes())?;
        std::fs::write(&ca_path, cert.pem()).map_err(|e| Error::io(&ca_path, e))?;
        key
    };
    let ca_der = CertificateDer::from_pem_file(&ca_path)
        .map_err(|e| Error::Tls(format!("{}: {e}", ca_path.display())))?;
    let issuer = Issuer::new(params, ca_key);

    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let ip = listen.ip();
    if !ip.is_unspecified() && !names.contains(&ip.to_string()) {
        names.push(ip.to_string());
    }
    let mut leaf = CertificateParams::new(names)
        .map_err(|e| Error::Tls(format!("server certificate names: {e}")))?;
    leaf.distinguished_name
        .push(DnType::CommonName, "cogcheck-proxy");
    // Python's ssl (boto3) in strict mode wants the authority key identifier.
    leaf.use_authority_key_identifier_extension = true;
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = time::OffsetDateTime::now_utc();
    leaf.not_before = now - time::Duration::days(1);
    leaf.not_after = now + time::Duration::days(365);
    let leaf_key = KeyPair::generate().map_err(|e| Error::Tls(format!("server key: {e}")))?;
    let leaf_cert = leaf
        .signed_by(&leaf_key, &issuer)
        .map_err(|e| Error::Tls(format!("server certificate: {e}")))?;
    let key = PrivateKeyDer::try_from(leaf_key.serialize_der())
        .map_err(|e| Error::Tls(format!("server key: {e}")))?;
    Ok((vec![leaf_cert.der().clone(), ca_der], key, ca_path))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(|e| Error::io(path, e))?;
    f.write_all(bytes).map_err(|e| Error::io(path, e))
}

/// The forwarder's TLS configuration for an HTTPS upstream.
pub fn upstream(trust: &UpstreamTrust) -> Result<rustls::ClientConfig> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = match trust {
        UpstreamTrust::PublicRoots => builder.with_root_certificates(roots).with_no_client_auth(),
        UpstreamTrust::WithCa(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| Error::Tls(format!("--upstream-ca {}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(Error::Tls(format!(
                    "--upstream-ca {}: no CERTIFICATE block found",
                    path.display()
                )));
            }
            for c in certs {
                roots
                    .add(c)
                    .map_err(|e| Error::Tls(format!("--upstream-ca {}: {e}", path.display())))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        UpstreamTrust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// `--insecure-upstream`: accepts any certificate, but still checks handshake signatures so
/// the connection is at least encrypted to whoever answered.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ca_is_kept_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let a = server(&TlsSource::Generate(dir.path().to_path_buf()), addr).unwrap();
        let first = std::fs::read(dir.path().join("ca.pem")).unwrap();
        let b = server(&TlsSource::Generate(dir.path().to_path_buf()), addr).unwrap();
        assert_eq!(first, std::fs::read(dir.path().join("ca.pem")).unwrap());
        assert_eq!(a.ca_cert, b.ca_cert);
        assert_eq!(a.ca_cert.unwrap(), dir.path().join("ca.pem"));
    }

    #[test]
    fn missing_files_are_named() {
        let err = match server(
            &TlsSource::Files {
                cert: "/nonexistent/cert.pem".into(),
                key: "/nonexistent/key.pem".into(),
            },
            "127.0.0.1:0".parse().unwrap(),
        ) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted missing files"),
        };
        assert!(err.contains("/nonexistent/cert.pem"), "{err}");
    }
}
