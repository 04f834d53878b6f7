//! TLS peers for tests: a certificate authority made for one test (`rcgen`), and a TLS echo
//! server that uses the bridge's own acceptor.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bridge::tls::{Acceptor, ClientOptions, HandshakeError, TlsInfo};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::within;

/// A certificate authority that exists only for one test.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA's certificate, as PEM: what a client trusts.
    pub pem: String,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "Bridge Test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        TestCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A leaf for `names` (the first is its common name), valid from 1975 to 4096 unless
    /// `years` says otherwise: its certificate and key as PEM.
    pub fn leaf(&self, names: &[&str], years: Option<(i32, i32)>) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].as_str());
        if let Some((from, to)) = years {
            params.not_before = rcgen::date_time_ymd(from, 1, 1);
            params.not_after = rcgen::date_time_ymd(to, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// An acceptor that presents a leaf of this CA, loaded from PEM files as `--tls-cert` and
    /// `--tls-key` would load it.
    pub fn acceptor(&self, names: &[&str], years: Option<(i32, i32)>) -> Acceptor {
        let (cert, key) = self.leaf(names, years);
        let dir = tempfile::tempdir().unwrap();
        let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert_file, cert).unwrap();
        std::fs::write(&key_file, key).unwrap();
        Acceptor::from_pem_files(&cert_file, &key_file).unwrap()
    }

    pub fn trusted(&self) -> ClientOptions {
        ClientOptions {
            extra_roots_pem: Some(self.pem.clone()),
            ..ClientOptions::default()
        }
    }
}

/// A TLS echo server on loopback: every handshake's outcome comes out of `accepted`.
pub struct EchoServer {
    pub addr: SocketAddr,
    accepted: mpsc::UnboundedReceiver<Result<TlsInfo, HandshakeError>>,
}

impl EchoServer {
    pub async fn start(acceptor: Acceptor) -> EchoServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, accepted) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match acceptor.accept(tcp).await {
                        Ok((tls, info)) => {
                            let _ = tx.send(Ok(info));
                            let (mut from, mut to) = tokio::io::split(tls);
                            let _ = tokio::io::copy(&mut from, &mut to).await;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
            }
        });
        EchoServer { addr, accepted }
    }

    /// The outcome of the next handshake the server saw.
    pub async fn next(&mut self) -> Result<TlsInfo, HandshakeError> {
        within("the server's handshake", self.accepted.recv())
            .await
            .expect("the server is running")
    }
}

impl TestCa {
    /// Writes the CA's certificate and a leaf for `names` (with its key) into `dir`, as the
    /// bridge's flags take them: `(ca.pem, cert.pem, key.pem)`.
    pub fn files(&self, dir: &Path, names: &[&str]) -> (PathBuf, PathBuf, PathBuf) {
        let (cert, key) = self.leaf(names, None);
        let paths = (
            dir.join("ca.pem"),
            dir.join("cert.pem"),
            dir.join("key.pem"),
        );
        std::fs::write(&paths.0, &self.pem).unwrap();
        std::fs::write(&paths.1, cert).unwrap();
        std::fs::write(&paths.2, key).unwrap();
        paths
    }
}
