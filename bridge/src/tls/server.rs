//! The bridge as a TLS server: its listener accepts a TCP client, then speaks TLS over that
//! stream.
//!
//! The bridge's identity is a certificate and key from PEM files (`--tls-cert`, `--tls-key`), or,
//! without them, a self-signed certificate made at start for this machine's names. A
//! self-signed certificate is new at every start, and no client trusts it until told to: its
//! SHA-256 fingerprint, printed at start and shown in the page, is what a person compares
//! before telling a client to trust it.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{Error, InconsistentKeys, ServerConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::hello::Greeted;
use super::info::{self, certificate_info, CertificateInfo, TlsInfo};
use super::reason::{self, HandshakeError, Side};
use super::{provider, HANDSHAKE_TIMEOUT};

/// Speaks TLS as a server over accepted streams, with one certificate; made once at start.
#[derive(Clone)]
pub struct Acceptor {
    acceptor: TlsAcceptor,
    certificate: CertificateInfo,
    certificate_pem: String,
    handshake_timeout: Duration,
}

impl Acceptor {
    /// Loads the certificate chain (leaf first) and its private key from PEM files, as given
    /// with `--tls-cert` and `--tls-key`. The error names the file and what is wrong with it.
    pub fn from_pem_files(cert_file: &Path, key_file: &Path) -> Result<Acceptor, String> {
        let cert_flag = format!("--tls-cert {}", cert_file.display());
        let key_flag = format!("--tls-key {}", key_file.display());
        let cert_pem = read(&cert_flag, cert_file)?;
        let key_pem = read(&key_flag, key_file)?;
        let chain = certificates(&cert_flag, &cert_pem)?;
        let key = private_key(&key_flag, &key_pem)?;
        let certificate_pem = String::from_utf8_lossy(&cert_pem).into_owned();
        Acceptor::new(chain, key, certificate_pem).map_err(|e| match e {
            Error::InconsistentKeys(InconsistentKeys::KeyMismatch) => format!(
                "{key_flag} does not match the certificate in {cert_flag}: they are not a pair; \
                 give the key the certificate was issued for"
            ),
            Error::General(_) => format!("{key_flag}: the bridge cannot use this key ({e})"),
            other => format!("{cert_flag}: the bridge cannot use this certificate ({other})"),
        })
    }

    /// Makes a self-signed certificate for `localhost`, `127.0.0.1`, `::1` and this machine's
    /// host name (when the system says it), with a fresh ECDSA P-256 key.
    pub fn self_signed() -> Result<Acceptor, String> {
        let names = self_signed_names();
        let failed = |e: rcgen::Error| format!("cannot make a self-signed certificate: {e}");
        let mut params = rcgen::CertificateParams::new(names).map_err(failed)?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "TCP Bridge (self-signed)");
        let key = rcgen::KeyPair::generate().map_err(failed)?;
        let cert = params.self_signed(&key).map_err(failed)?;
        let key = PrivateKeyDer::Pkcs8(key.serialize_der().into());
        Acceptor::new(vec![cert.der().clone()], key, cert.pem())
            .map_err(|e| format!("cannot use the self-signed certificate: {e}"))
    }

    fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        certificate_pem: String,
    ) -> Result<Acceptor, Error> {
        let certificate = certificate_info(&chain[0]);
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        Ok(Acceptor {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            certificate,
            certificate_pem,
            handshake_timeout: HANDSHAKE_TIMEOUT,
        })
    }

    /// How long a client may take to complete the handshake (10 s unless changed).
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Acceptor {
        self.handshake_timeout = timeout;
        self
    }

    /// The bridge's certificate (the leaf): its names, dates and SHA-256 fingerprint, to print
    /// at start and to show in the page.
    pub fn certificate(&self) -> &CertificateInfo {
        &self.certificate
    }

    /// The bridge's certificate chain as PEM, for a client to trust (a self-signed certificate
    /// is its own CA).
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// Speaks TLS over `stream`, a client just accepted. The details have no peer certificate:
    /// the bridge asks clients for none. A client refused for its version is told which version
    /// it offered, as its greeting said.
    pub async fn accept<IO>(
        &self,
        stream: IO,
    ) -> Result<(TlsStream<Greeted<IO>>, TlsInfo), HandshakeError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let side = Side::Accepted {
            fingerprint: &self.certificate.sha256,
        };
        let handshake = self.acceptor.accept(Greeted::new(stream)).into_fallible();
        match tokio::time::timeout(self.handshake_timeout, handshake).await {
            Ok(Ok(tls)) => {
                let conn = tls.get_ref().1;
                let details = info::describe(conn, conn.server_name().map(str::to_owned), false);
                Ok((tls, details))
            }
            Ok(Err((e, greeted))) => Err(HandshakeError {
                reason: greeted
                    .older_version()
                    .and_then(|version| reason::older_client(&e, version))
                    .unwrap_or_else(|| reason::explain(side, &e, None)),
                certificate: None,
            }),
            Err(_) => Err(HandshakeError {
                reason: reason::timed_out(side, self.handshake_timeout),
                certificate: None,
            }),
        }
    }
}

/// A file's bytes, or what stops the bridge reading it.
fn read(flag: &str, path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => format!("{flag}: no such file"),
        io::ErrorKind::PermissionDenied => format!("{flag}: permission denied"),
        _ => format!("{flag}: cannot read it ({e})"),
    })
}

/// Every certificate in a PEM file, leaf first.
fn certificates(flag: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    not_binary(flag, pem, "x509")?;
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{flag} is not valid PEM: {e}"))?;
    if chain.is_empty() {
        return Err(if contains(pem, b"PRIVATE KEY-----") {
            format!(
                "{flag} holds a private key, not a certificate: give the certificate with \
                 --tls-cert and the key with --tls-key"
            )
        } else {
            format!("{flag} holds no certificate (a block beginning -----BEGIN CERTIFICATE-----)")
        });
    }
    Ok(chain)
}

/// The first private key in a PEM file: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
fn private_key(flag: &str, pem: &[u8]) -> Result<PrivateKeyDer<'static>, String> {
    not_binary(flag, pem, "pkey")?;
    match PrivateKeyDer::from_pem_slice(pem) {
        Ok(key) => Ok(key),
        Err(_) if contains(pem, b"-----BEGIN ENCRYPTED PRIVATE KEY-----") => Err(format!(
            "{flag} is encrypted with a passphrase, which the bridge cannot ask for: decrypt it \
             with `openssl pkey -in FILE -out key.pem`"
        )),
        Err(pem::Error::NoItemsFound) if contains(pem, b"-----BEGIN CERTIFICATE-----") => {
            Err(format!(
                "{flag} holds a certificate, not a private key: give the certificate with \
                 --tls-cert and the key with --tls-key"
            ))
        }
        Err(pem::Error::NoItemsFound) => Err(format!(
            "{flag} holds no private key (a block beginning -----BEGIN PRIVATE KEY-----, \
             -----BEGIN RSA PRIVATE KEY----- or -----BEGIN EC PRIVATE KEY-----)"
        )),
        Err(e) => Err(format!("{flag} is not valid PEM: {e}")),
    }
}

/// PEM is text; a file of DER (binary) is a common mix-up, with a one-line fix.
fn not_binary(flag: &str, bytes: &[u8], openssl_command: &str) -> Result<(), String> {
    if contains(bytes, b"-----BEGIN ") || std::str::from_utf8(bytes).is_ok() {
        return Ok(());
    }
    Err(format!(
        "{flag} is not PEM: it is binary (DER, perhaps); convert it with \
         `openssl {openssl_command} -inform der -in FILE -out FILE.pem`"
    ))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `localhost`, the loopback addresses, and the host name, so that a client on this machine
/// (or one that knows it by name) finds the name it dialled in the certificate.
fn self_signed_names() -> Vec<String> {
    let mut names = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    if let Some(host) = host_name() {
        if host != "localhost" {
            names.push(host);
        }
    }
    names
}

/// This machine's name, where the system publishes it in a file (Linux); nothing elsewhere.
fn host_name() -> Option<String> {
    let name = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|file| std::fs::read_to_string(file).ok())?;
    let name = name.trim().to_ascii_lowercase();
    let is_dns_name = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    is_dns_name.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    struct Files {
        dir: tempfile::TempDir,
    }

    impl Files {
        fn new() -> Files {
            Files {
                dir: tempfile::tempdir().unwrap(),
            }
        }

        fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> std::path::PathBuf {
            let path = self.dir.path().join(name);
            fs::write(&path, contents).unwrap();
            path
        }
    }

    fn pair(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn error(cert: &Path, key: &Path) -> String {
        match Acceptor::from_pem_files(cert, key) {
            Ok(_) => panic!("{} and {} were accepted", cert.display(), key.display()),
            Err(e) => e,
        }
    }

    #[test]
    fn a_matching_pair_of_files_is_loaded() {
        let files = Files::new();
        let (cert, key) = pair("device.test");
        let acceptor =
            Acceptor::from_pem_files(&files.write("c.pem", &cert), &files.write("k.pem", key))
                .unwrap();
        assert_eq!(acceptor.certificate().subject_alt_names, ["device.test"]);
        assert_eq!(acceptor.certificate_pem(), cert);
    }

    #[test]
    fn a_missing_file_is_named() {
        let files = Files::new();
        let (_, key) = pair("device.test");
        let missing = files.dir.path().join("nope.pem");
        assert_eq!(
            error(&missing, &files.write("k.pem", key)),
            format!("--tls-cert {}: no such file", missing.display())
        );
    }

    #[test]
    fn files_that_are_not_pem_say_so() {
        let files = Files::new();
        let (cert, key) = pair("device.test");
        let key_file = files.write("k.pem", &key);
        let text = files.write("notes.txt", "hello");
        assert_eq!(
            error(&text, &key_file),
            format!(
                "--tls-cert {} holds no certificate (a block beginning -----BEGIN \
                 CERTIFICATE-----)",
                text.display()
            )
        );
        let der = files.write("c.der", [0x30, 0x82, 0x01, 0xff, 0x80, 0xfe]);
        assert!(error(&der, &key_file).contains("is not PEM: it is binary (DER, perhaps)"));

        let swapped = error(&key_file, &files.write("c.pem", &cert));
        assert!(
            swapped.contains("holds a private key, not a certificate"),
            "{swapped}"
        );
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let files = Files::new();
        let (cert, _) = pair("device.test");
        let (_, other_key) = pair("other.test");
        let cert_file = files.write("c.pem", cert);
        let key_file = files.write("k.pem", other_key);
        assert_eq!(
            error(&cert_file, &key_file),
            format!(
                "--tls-key {} does not match the certificate in --tls-cert {}: they are not a \
                 pair; give the key the certificate was issued for",
                key_file.display(),
                cert_file.display()
            )
        );
    }

    #[test]
    fn the_self_signed_certificate_names_this_machine() {
        let acceptor = Acceptor::self_signed().unwrap();
        let cert = acceptor.certificate();
        assert!(cert.self_signed);
        assert_eq!(cert.subject, "CN=TCP Bridge (self-signed)");
        assert_eq!(
            cert.subject_alt_names[..3],
            ["localhost", "127.0.0.1", "::1"]
        );
        assert_eq!(cert.sha256.len(), 95);
        assert!(acceptor
            .certificate_pem()
            .starts_with("-----BEGIN CERTIFICATE-----"));
    }
}
