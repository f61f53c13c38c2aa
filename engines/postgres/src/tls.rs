//! TLS for connections to PostgreSQL, with libpq's `sslmode` meanings: `disable` never asks,
//! `prefer` (the default) asks and goes on in the clear when the server declines, `require`
//! insists without checking the certificate (unless `sslrootcert` is given, which makes it
//! `verify-ca`, as in libpq), `verify-ca` checks the chain, and `verify-full` the chain and that
//! the certificate names the host. Roots come from `sslrootcert` or else the system's store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::BytesMut;
use postgres_protocol::message::frontend;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::error::PgError;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(text: &str) -> Result<Self, PgError> {
        Ok(match text {
            "disable" => Self::Disable,
            "prefer" | "allow" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(PgError::Config(format!(
                    "sslmode {other:?}: one of disable, prefer, require, verify-ca, verify-full"
                )));
            }
        })
    }
}

/// How a TCP connection is encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    /// PEM file of the certificates to trust (`sslrootcert`).
    pub root_cert: Option<PathBuf>,
}

impl Default for TlsSettings {
    fn default() -> Self {
        Self { mode: SslMode::Prefer, root_cert: None }
    }
}

/// A TCP stream after the TLS negotiation: encrypted, or in the clear where the mode allows it.
pub enum Negotiated {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// Asks the server for TLS (`SSLRequest`) as `settings` say, and shakes hands when it agrees.
pub async fn negotiate(mut stream: TcpStream, host: &str, settings: &TlsSettings) -> Result<Negotiated, PgError> {
    if settings.mode == SslMode::Disable {
        return Ok(Negotiated::Plain(stream));
    }
    let connector = TlsConnector::from(Arc::new(client_config(settings)?));
    let mut request = BytesMut::new();
    frontend::ssl_request(&mut request);
    let unreachable = |e: std::io::Error| PgError::Unreachable(format!("asking for TLS: {e}"));
    stream.write_all(&request).await.map_err(unreachable)?;
    match stream.read_u8().await.map_err(unreachable)? {
        b'S' => {}
        b'N' if settings.mode == SslMode::Prefer => return Ok(Negotiated::Plain(stream)),
        b'N' => return Err(PgError::Tls("the server does not accept TLS connections".into())),
        other => return Err(PgError::Protocol(format!("answer {:?} to the TLS request", other as char))),
    }
    let name = ServerName::try_from(host.to_owned()).map_err(|e| PgError::Config(format!("host {host:?}: {e}")))?;
    let tls = connector.connect(name, stream).await.map_err(|e| PgError::Tls(format!("handshake with {host}: {e}")))?;
    Ok(Negotiated::Tls(Box::new(tls)))
}

fn client_config(settings: &TlsSettings) -> Result<ClientConfig, PgError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| PgError::Tls(e.to_string()))?;
    let checks_chain = matches!(settings.mode, SslMode::VerifyCa | SslMode::VerifyFull)
        || (settings.mode == SslMode::Require && settings.root_cert.is_some());
    if !checks_chain {
        let verifier = Arc::new(PartialVerifier { provider, chain: None });
        return Ok(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth());
    }
    let roots = Arc::new(roots(settings.root_cert.as_deref())?);
    let chain = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|e| PgError::Tls(format!("the trusted certificates: {e}")))?;
    if settings.mode == SslMode::VerifyFull {
        return Ok(builder.with_webpki_verifier(chain).with_no_client_auth());
    }
    let verifier = Arc::new(PartialVerifier { provider, chain: Some(chain) });
    Ok(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth())
}

fn roots(root_cert: Option<&Path>) -> Result<RootCertStore, PgError> {
    let mut roots = RootCertStore::empty();
    match root_cert {
        Some(path) => {
            let unreadable =
                |e: rustls::pki_types::pem::Error| PgError::Tls(format!("sslrootcert {}: {e}", path.display()));
            for cert in CertificateDer::pem_file_iter(path).map_err(unreadable)? {
                roots.add(cert.map_err(unreadable)?).map_err(|e| PgError::Tls(format!("{}: {e}", path.display())))?;
            }
        }
        None => {
            let (added, _) = roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            tracing::debug!(added, "system root certificates loaded");
        }
    }
    if roots.is_empty() {
        return Err(PgError::Tls("no certificate to trust: set sslrootcert".into()));
    }
    Ok(roots)
}

/// The checks short of `verify-full`: none of the certificate for `prefer` and `require`
/// (`chain: None`: encrypted, whoever the server is), the chain but not the names for
/// `verify-ca`. The handshake's signatures are verified either way.
#[derive(Debug)]
struct PartialVerifier {
    provider: Arc<CryptoProvider>,
    chain: Option<Arc<WebPkiServerVerifier>>,
}

impl ServerCertVerifier for PartialVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            verdict => verdict,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, signature, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, signature, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_modes_parse_as_libpq_names_them() {
        assert_eq!(SslMode::parse("verify-full").unwrap(), SslMode::VerifyFull);
        assert_eq!(SslMode::parse("allow").unwrap(), SslMode::Prefer);
        assert!(matches!(SslMode::parse("on"), Err(PgError::Config(m)) if m.contains("verify-ca")));
    }

    #[test]
    fn a_missing_or_empty_root_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        for path in [dir.path().join("missing.pem"), empty] {
            let settings = TlsSettings { mode: SslMode::VerifyFull, root_cert: Some(path) };
            assert!(matches!(client_config(&settings), Err(PgError::Tls(_))));
        }
    }
}
