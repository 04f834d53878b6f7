//! The bridge as a TLS client: it dials a TCP server, then speaks TLS over that stream.
//!
//! Certificates are verified by default, against Mozilla's root authorities as bundled by
//! `webpki-roots` (the same set on every machine, whatever its system store holds), plus any CA
//! given in [`ClientOptions::extra_roots_pem`]. A device with a self-signed certificate is
//! reached with [`ClientOptions::accept_any_certificate`], which still checks that the server
//! holds the key of the certificate it shows, and still shows it.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::info::{self, certificate_info, TlsInfo};
use super::reason::{self, HandshakeError, Side};
use super::{provider, HANDSHAKE_TIMEOUT};

/// How to dial with TLS.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Accept whatever certificate the server presents: expired, self-signed, issued for
    /// another name. For devices with a self-signed certificate. The handshake still proves the
    /// server holds that certificate's key, and [`TlsInfo`] still describes it, with
    /// `peer_verified` false.
    pub accept_any_certificate: bool,
    /// Certificates of authorities to trust besides the bundled ones, as PEM text (one or more
    /// `-----BEGIN CERTIFICATE-----` blocks): a private CA, or a device's own self-signed
    /// certificate.
    pub extra_roots_pem: Option<String>,
    /// Application protocols to offer with ALPN, most preferred first (`h2`, `http/1.1`); none
    /// by default.
    pub alpn: Vec<String>,
    /// How long the handshake may take once the TCP connection is open. A plain TCP server that
    /// waits for its client to speak first never answers a TLS greeting.
    pub handshake_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            accept_any_certificate: false,
            extra_roots_pem: None,
            alpn: Vec::new(),
            handshake_timeout: HANDSHAKE_TIMEOUT,
        }
    }
}

/// Dials with TLS over an open stream; made once from [`ClientOptions`], used for any number
/// of connections.
#[derive(Clone, Debug)]
pub struct Connector {
    provider: Arc<CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
    verifies: bool,
    alpn: Vec<Vec<u8>>,
    handshake_timeout: Duration,
}

impl Connector {
    /// Fails only on `extra_roots_pem` that holds no usable CA certificate, saying why.
    pub fn new(options: &ClientOptions) -> Result<Connector, String> {
        let provider = provider();
        let verifier: Arc<dyn ServerCertVerifier> = if options.accept_any_certificate {
            Arc::new(AcceptAny {
                provider: provider.clone(),
            })
        } else {
            let mut roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            if let Some(pem) = &options.extra_roots_pem {
                add_pem_roots(&mut roots, pem)?;
            }
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| format!("cannot set up certificate verification: {e}"))?
        };
        Ok(Connector {
            provider,
            verifier,
            verifies: !options.accept_any_certificate,
            alpn: options.alpn.iter().map(|p| p.as_bytes().to_vec()).collect(),
            handshake_timeout: options.handshake_timeout,
        })
    }

    /// Speaks TLS over `stream` (a TCP connection just opened) with `host`, the name or IP
    /// literal that was dialled (IPv6 with or without brackets): the name sent with SNI and the
    /// one the certificate must be valid for. An IP literal is checked against the
    /// certificate's IP addresses, and sends no SNI.
    pub async fn connect<IO>(
        &self,
        stream: IO,
        host: &str,
    ) -> Result<(TlsStream<IO>, TlsInfo), HandshakeError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let host = protocol::address::strip_brackets(host);
        let name = server_name(host).map_err(|reason| HandshakeError {
            reason,
            certificate: None,
        })?;
        let seen = Arc::new(Mutex::new(None));
        let config = self.config(Arc::new(Recording {
            inner: self.verifier.clone(),
            seen: seen.clone(),
        }))?;
        let side = Side::Dialled { host };
        let handshake = TlsConnector::from(Arc::new(config)).connect(name, stream);
        let outcome = tokio::time::timeout(self.handshake_timeout, handshake).await;
        let seen = seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .map(|der: CertificateDer<'static>| Box::new(certificate_info(&der)));
        match outcome {
            Ok(Ok(tls)) => {
                let details = info::describe(tls.get_ref().1, Some(host.to_owned()), self.verifies);
                Ok((tls, details))
            }
            Ok(Err(e)) => Err(HandshakeError {
                reason: reason::explain(side, &e, seen.as_deref()),
                certificate: seen,
            }),
            Err(_) => Err(HandshakeError {
                reason: reason::timed_out(side, self.handshake_timeout),
                certificate: seen,
            }),
        }
    }

    /// A configuration for one connection: the verifier records the certificate that
    /// connection's server presents, so that a refusal can say what was refused.
    fn config(&self, verifier: Arc<Recording>) -> Result<ClientConfig, HandshakeError> {
        let mut config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| HandshakeError {
                reason: format!("cannot set up TLS: {e}"),
                certificate: None,
            })?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        config.alpn_protocols.clone_from(&self.alpn);
        Ok(config)
    }
}

/// Dials with TLS once: [`Connector::new`] then [`Connector::connect`].
pub async fn connect<IO>(
    stream: IO,
    host: &str,
    options: &ClientOptions,
) -> Result<(TlsStream<IO>, TlsInfo), HandshakeError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let connector = Connector::new(options).map_err(|reason| HandshakeError {
        reason,
        certificate: None,
    })?;
    connector.connect(stream, host).await
}

/// The name to check the certificate against: an IP literal is an IP address, not a DNS name.
fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(host.to_owned())
        .map_err(|_| format!("{host} is not a host name TLS can check a certificate against"))
}

fn add_pem_roots(roots: &mut RootCertStore, pem: &str) -> Result<(), String> {
    let mut added = 0;
    for (i, cert) in CertificateDer::pem_slice_iter(pem.as_bytes()).enumerate() {
        let cert = cert.map_err(|e| {
            format!(
                "the trusted CA certificates are not valid PEM (certificate {}): {e}",
                i + 1
            )
        })?;
        roots.add(cert).map_err(|e| {
            format!(
                "trusted CA certificate {} cannot be used as an authority: {e}",
                i + 1
            )
        })?;
        added += 1;
    }
    if added == 0 {
        return Err(
            "the trusted CA certificates hold no PEM certificate (a block beginning \
                    -----BEGIN CERTIFICATE-----)"
                .to_owned(),
        );
    }
    Ok(())
}

/// Passes every check to `inner`, keeping the end-entity certificate it was asked about.
#[derive(Debug)]
struct Recording {
    inner: Arc<dyn ServerCertVerifier>,
    seen: Arc<Mutex<Option<CertificateDer<'static>>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(end_entity.clone().into_owned());
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// "Accept any certificate": trusts whatever certificate the server presents, but still checks
/// the handshake's signatures, so the server must hold that certificate's key.
#[derive(Debug)]
struct AcceptAny {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literals_are_checked_as_addresses() {
        assert!(matches!(
            server_name("127.0.0.1"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(server_name("::1"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(
            server_name("device.local"),
            Ok(ServerName::DnsName(_))
        ));
        assert_eq!(
            server_name("no spaces").unwrap_err(),
            "no spaces is not a host name TLS can check a certificate against"
        );
    }

    #[test]
    fn extra_roots_must_be_pem_certificates() {
        let options = |pem: &str| ClientOptions {
            extra_roots_pem: Some(pem.to_owned()),
            ..ClientOptions::default()
        };
        let err = Connector::new(&options("not a certificate")).unwrap_err();
        assert!(err.contains("hold no PEM certificate"), "{err}");

        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["ca.test".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        assert!(Connector::new(&options(&cert.pem())).is_ok());
    }
}
