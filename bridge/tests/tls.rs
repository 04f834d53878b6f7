//! The TLS engine on loopback: a test CA made here, a TLS echo server using the bridge's
//! acceptor, and the bridge's connector dialling it; plain TCP servers and clients that do not
//! speak TLS; and OpenSSL's client, when it is installed.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

mod common;

use bridge::tls::{self, Acceptor, ClientOptions, HandshakeError, TlsInfo};
use common::tls_peers::{EchoServer, TestCa};
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// The longest any single wait may take before the test fails.
const WAIT: Duration = Duration::from_secs(5);

/// `fut`, or a failure naming `what` if it takes longer than [`WAIT`].
async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    timeout(WAIT, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {WAIT:?}"))
}

/// A server that does not speak TLS: `serve` gets each connection.
async fn plain_server<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(serve(tcp));
        }
    });
    addr
}

/// Dials `addr` with TLS, checking the certificate against `host`.
async fn dial(
    addr: SocketAddr,
    host: &str,
    options: &ClientOptions,
) -> Result<(tls::ClientStream<TcpStream>, TlsInfo), HandshakeError> {
    let tcp = within("the TCP connect", TcpStream::connect(addr))
        .await
        .unwrap();
    within("the TLS handshake", tls::connect(tcp, host, options)).await
}

/// The reason a dial failed; panics if it succeeded.
async fn refusal(addr: SocketAddr, host: &str, options: &ClientOptions) -> HandshakeError {
    match dial(addr, host, options).await {
        Ok((_, info)) => panic!("the dial succeeded: {info:?}"),
        Err(e) => e,
    }
}

fn assert_starts_with(text: &str, start: &str) {
    assert!(
        text.starts_with(start),
        "expected it to start with\n  {start}\nbut it is\n  {text}"
    );
}

#[tokio::test]
async fn a_verified_dial_succeeds_and_says_what_it_negotiated() {
    let ca = TestCa::new();
    let acceptor = ca.acceptor(&["localhost", "127.0.0.1"], None);
    let leaf = acceptor.certificate().clone();
    let mut server = EchoServer::start(acceptor).await;

    let (mut stream, info) = dial(server.addr, "localhost", &ca.trusted())
        .await
        .expect("a verified handshake");
    assert_eq!(info.version, "TLSv1.3");
    assert!(
        [
            "TLS_AES_256_GCM_SHA384",
            "TLS_AES_128_GCM_SHA256",
            "TLS_CHACHA20_POLY1305_SHA256"
        ]
        .contains(&info.cipher_suite.as_str()),
        "{}",
        info.cipher_suite
    );
    assert!(info.key_exchange.is_some());
    assert_eq!(info.alpn, None);
    assert_eq!(info.server_name.as_deref(), Some("localhost"));
    assert!(info.peer_verified);
    let cert = info
        .peer_certificate
        .as_ref()
        .expect("the server's certificate");
    assert_eq!(cert, &leaf);
    assert_eq!(cert.subject, "CN=localhost");
    assert_eq!(cert.issuer, "CN=Bridge Test CA");
    assert!(!cert.self_signed);
    assert_eq!(cert.not_before, "1975-01-01T00:00:00Z");
    assert_eq!(cert.not_after, "4096-01-01T00:00:00Z");
    assert_eq!(cert.subject_alt_names, ["localhost", "127.0.0.1"]);

    // The server saw the same conversation, and the name the client asked for; no client
    // certificate.
    let seen = server.next().await.expect("the server's handshake");
    assert_eq!(seen.version, info.version);
    assert_eq!(seen.cipher_suite, info.cipher_suite);
    assert_eq!(seen.server_name.as_deref(), Some("localhost"));
    assert_eq!(seen.peer_certificate, None);
    assert!(!seen.peer_verified);

    // And bytes go through, both ways.
    within("the write", stream.write_all(b"ping\n"))
        .await
        .unwrap();
    let mut echoed = [0; 5];
    within("the echo", stream.read_exact(&mut echoed))
        .await
        .unwrap();
    assert_eq!(&echoed, b"ping\n");

    // The same server, dialled by its IP address: checked against the certificate's IP
    // addresses, and no SNI is sent.
    let (_, by_ip) = dial(server.addr, "127.0.0.1", &ca.trusted())
        .await
        .expect("a verified handshake by IP address");
    assert_eq!(by_ip.server_name.as_deref(), Some("127.0.0.1"));
    assert_eq!(server.next().await.unwrap().server_name, None);
}

#[tokio::test]
async fn the_details_travel_as_json() {
    let ca = TestCa::new();
    let server = EchoServer::start(ca.acceptor(&["localhost"], None)).await;
    let (_, info) = dial(server.addr, "localhost", &ca.trusted()).await.unwrap();
    // serde_json's map sorts the keys.
    let json = serde_json::to_value(&info).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "alpn",
            "cipher_suite",
            "key_exchange",
            "peer_certificate",
            "peer_verified",
            "server_name",
            "version"
        ]
    );
    let cert = json["peer_certificate"].as_object().unwrap();
    let cert_keys: Vec<&str> = cert.keys().map(|k| k.as_str()).collect();
    assert_eq!(
        cert_keys,
        [
            "issuer",
            "not_after",
            "not_before",
            "self_signed",
            "serial",
            "sha256",
            "subject",
            "subject_alt_names"
        ]
    );
    let back: TlsInfo = serde_json::from_value(json).unwrap();
    assert_eq!(back, info);
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused_with_the_names_it_is_valid_for() {
    let ca = TestCa::new();
    let server = EchoServer::start(ca.acceptor(&["device.test", "10.0.0.7"], None)).await;
    let refused = refusal(server.addr, "localhost", &ca.trusted()).await;
    assert_eq!(
        refused.reason,
        "the certificate of localhost is not valid for the name localhost: it is valid for \
         device.test, 10.0.0.7; dial one of those names, or dial with \"accept any \
         certificate\" to connect anyway"
    );
    let cert = refused.certificate.expect("the refused certificate");
    assert_eq!(cert.subject_alt_names, ["device.test", "10.0.0.7"]);
}

#[tokio::test]
async fn an_unknown_issuer_is_named_and_the_server_hears_why() {
    let ca = TestCa::new();
    let mut server = EchoServer::start(ca.acceptor(&["localhost"], None)).await;
    let refused = refusal(server.addr, "localhost", &ClientOptions::default()).await;
    assert_eq!(
        refused.reason,
        "the certificate of localhost has an unknown issuer: it was issued by CN=Bridge Test \
         CA, which is not an authority the bridge trusts (or the server does not send the \
         intermediate certificates that lead to one); trust that authority's certificate (PEM) \
         as a CA, or dial with \"accept any certificate\" to connect anyway"
    );
    assert_eq!(refused.certificate.unwrap().issuer, "CN=Bridge Test CA");

    // rustls tells the server why, and the bridge as a server says so.
    let heard = server.next().await.expect_err("the client refused");
    assert_starts_with(
        &heard.reason,
        "the client rejected the bridge's certificate (unknown_ca alert): have the client trust \
         it (SHA-256 ",
    );
}

#[tokio::test]
async fn accept_any_certificate_connects_and_still_shows_the_certificate() {
    let ca = TestCa::new();
    // Expired, for another name, from an unknown CA: everything wrong.
    let acceptor = ca.acceptor(&["device.test"], Some((2020, 2021)));
    let fingerprint = acceptor.certificate().sha256.clone();
    let server = EchoServer::start(acceptor).await;
    let any = ClientOptions {
        accept_any_certificate: true,
        ..ClientOptions::default()
    };
    let (mut stream, info) = dial(server.addr, "localhost", &any)
        .await
        .expect("any certificate is accepted");
    assert!(!info.peer_verified);
    let cert = info.peer_certificate.expect("the certificate, still");
    assert_eq!(cert.subject, "CN=device.test");
    assert_eq!(cert.issuer, "CN=Bridge Test CA");
    assert_eq!(cert.not_after, "2021-01-01T00:00:00Z");
    assert_eq!(cert.sha256, fingerprint);

    within("the write", stream.write_all(b"x")).await.unwrap();
    let mut echoed = [0; 1];
    within("the echo", stream.read_exact(&mut echoed))
        .await
        .unwrap();
    assert_eq!(&echoed, b"x");
}

#[tokio::test]
async fn an_expired_certificate_is_refused_with_its_date() {
    let ca = TestCa::new();
    let server = EchoServer::start(ca.acceptor(&["localhost"], Some((2020, 2021)))).await;
    let refused = refusal(server.addr, "localhost", &ca.trusted()).await;
    assert_starts_with(
        &refused.reason,
        "the certificate of localhost expired on 2021-01-01T00:00:00Z (it is now ",
    );
    assert!(
        refused.reason.ends_with(
            "): renew it on the server, or dial with \"accept any certificate\" to connect anyway"
        ),
        "{}",
        refused.reason
    );
}

#[tokio::test]
async fn a_certificate_not_valid_yet_says_from_when() {
    let ca = TestCa::new();
    let server = EchoServer::start(ca.acceptor(&["localhost"], Some((4000, 4001)))).await;
    let refused = refusal(server.addr, "localhost", &ca.trusted()).await;
    assert_starts_with(
        &refused.reason,
        "the certificate of localhost is not valid before 4000-01-01T00:00:00Z (it is now ",
    );
}

#[tokio::test]
async fn the_self_signed_acceptor_talks_to_a_rustls_client() {
    let acceptor = Acceptor::self_signed().unwrap();
    let pem = acceptor.certificate_pem().to_owned();
    let fingerprint = acceptor.certificate().sha256.clone();
    let mut server = EchoServer::start(acceptor).await;

    // Unverified, it is refused as self-signed, with the way out.
    let refused = refusal(server.addr, "localhost", &ClientOptions::default()).await;
    assert_starts_with(
        &refused.reason,
        "the certificate of localhost has an unknown issuer: it is self-signed (CN=TCP Bridge \
         (self-signed)), so no authority the bridge trusts vouches for it; if you trust this \
         server, dial with \"accept any certificate\"",
    );
    assert!(server.next().await.is_err());

    // Accepted as it is...
    let any = ClientOptions {
        accept_any_certificate: true,
        ..ClientOptions::default()
    };
    let (_, info) = dial(server.addr, "localhost", &any).await.unwrap();
    assert_eq!(info.peer_certificate.unwrap().sha256, fingerprint);
    assert!(server.next().await.is_ok());

    // ...or trusted as its own CA, by name and by address.
    let trusted = ClientOptions {
        extra_roots_pem: Some(pem),
        ..ClientOptions::default()
    };
    for host in ["localhost", "127.0.0.1"] {
        let (_, info) = dial(server.addr, host, &trusted)
            .await
            .unwrap_or_else(|e| panic!("{host}: {e}"));
        assert!(info.peer_verified);
    }
}

#[tokio::test]
async fn tls_1_2_works_both_ways() {
    let acceptor = Acceptor::self_signed().unwrap();
    let mut roots = rustls::RootCertStore::empty();
    let pem = acceptor.certificate_pem().as_bytes().to_vec();
    let mut server = EchoServer::start(acceptor).await;
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS12])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    within(
        "a TLS 1.2 handshake",
        tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp),
    )
    .await
    .expect("a TLS 1.2 handshake");
    let seen = server.next().await.unwrap();
    assert_eq!(seen.version, "TLSv1.2");
    assert_starts_with(&seen.cipher_suite, "TLS_ECDHE_ECDSA_WITH_");
}

#[tokio::test]
async fn a_plain_tcp_server_is_told_apart_from_a_tls_one() {
    let greets = plain_server(|mut tcp| async move {
        let _ = tcp.write_all(b"Welcome to the chat server\r\n").await;
        let mut sink = [0; 1024];
        while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
    let refused = refusal(greets, "127.0.0.1", &ClientOptions::default()).await;
    assert_eq!(
        refused.reason,
        "127.0.0.1 answered with something that is not TLS: it seems to speak plain TCP on this \
         port; dial it without TLS"
    );
    assert_eq!(refused.certificate, None);

    let echoes = plain_server(|tcp| async move {
        let (mut from, mut to) = tcp.into_split();
        let _ = tokio::io::copy(&mut from, &mut to).await;
    })
    .await;
    let refused = refusal(echoes, "127.0.0.1", &ClientOptions::default()).await;
    assert_eq!(
        refused.reason,
        "127.0.0.1 sent the bridge's own TLS greeting back: it echoes what it receives and does \
         not speak TLS on this port; dial it without TLS"
    );
}

#[tokio::test]
async fn a_silent_server_runs_out_the_handshake_timeout() {
    let silent = plain_server(|mut tcp| async move {
        let mut sink = [0; 1024];
        while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
    let options = ClientOptions {
        handshake_timeout: Duration::from_millis(200),
        ..ClientOptions::default()
    };
    let refused = refusal(silent, "127.0.0.1", &options).await;
    assert_eq!(
        refused.reason,
        "127.0.0.1 did not complete the TLS handshake within 0.2 s: it may not speak TLS on this \
         port (a plain TCP service waits for its client to speak first); dial it without TLS"
    );
}

#[tokio::test]
async fn a_server_that_hangs_up_is_said_to_have_closed_the_connection() {
    let hangs_up = plain_server(|mut tcp| async move {
        let mut hello = [0; 5];
        let _ = tcp.read_exact(&mut hello).await;
        let _ = tcp.shutdown().await;
        let mut rest = [0; 4096];
        while matches!(tcp.read(&mut rest).await, Ok(n) if n > 0) {}
    })
    .await;
    let refused = refusal(hangs_up, "127.0.0.1", &ClientOptions::default()).await;
    assert_eq!(
        refused.reason,
        "127.0.0.1 closed the connection during the TLS handshake: it may not speak TLS on this \
         port, or it refused the bridge's greeting without saying why"
    );
}

#[tokio::test]
async fn a_server_of_an_older_tls_is_a_version_mismatch() {
    // What a server that speaks only TLS 1.0 answers a greeting offering 1.2 and 1.3: a fatal
    // protocol_version alert.
    let old = plain_server(|mut tcp| async move {
        let mut hello = [0; 5];
        let _ = tcp.read_exact(&mut hello).await;
        let _ = tcp
            .write_all(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46])
            .await;
        let mut rest = [0; 4096];
        while matches!(tcp.read(&mut rest).await, Ok(n) if n > 0) {}
    })
    .await;
    let refused = refusal(old, "127.0.0.1", &ClientOptions::default()).await;
    assert_eq!(
        refused.reason,
        "127.0.0.1 does not speak TLS 1.2 or 1.3, the versions the bridge supports (protocol \
         version mismatch): it may only speak an older TLS, which is no longer safe"
    );
}

#[tokio::test]
async fn a_plain_tcp_client_of_the_tls_listener_is_told_apart() {
    let mut server = EchoServer::start(Acceptor::self_signed().unwrap()).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let heard = server.next().await.expect_err("not TLS");
    assert_eq!(
        heard.reason,
        "the client did not begin with a TLS handshake: it speaks plain TCP (or HTTP) to this \
         TLS listener; connect it with TLS, or to a listener without TLS"
    );

    // A client that says nothing is not waited for past the handshake timeout.
    let acceptor = Acceptor::self_signed()
        .unwrap()
        .with_handshake_timeout(Duration::from_millis(200));
    let mut server = EchoServer::start(acceptor).await;
    let _silent = TcpStream::connect(server.addr).await.unwrap();
    let heard = server.next().await.expect_err("timed out");
    assert_starts_with(
        &heard.reason,
        "the client did not complete a TLS handshake within 0.2 s",
    );
}

/// `openssl` on PATH, or `None` after saying that the test is skipped.
fn openssl(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("openssl"))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        println!("skipped {test}: openssl is not on PATH");
    }
    found
}

#[tokio::test]
async fn openssl_s_client_completes_a_handshake_with_the_acceptor() {
    let Some(openssl) = openssl("openssl_s_client_completes_a_handshake_with_the_acceptor") else {
        return;
    };
    let acceptor = Acceptor::self_signed().unwrap();
    let fingerprint = acceptor.certificate().sha256.clone();
    let pem = acceptor.certificate_pem().to_owned();
    let mut server = EchoServer::start(acceptor).await;

    let output = within(
        "openssl s_client",
        tokio::process::Command::new(&openssl)
            .args(["s_client", "-connect", &server.addr.to_string()])
            .args(["-servername", "localhost"])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("openssl runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("Cipher is TLS_"),
        "openssl did not complete a handshake:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen = server
        .next()
        .await
        .expect("the handshake, as the bridge saw it");
    assert_eq!(seen.version, "TLSv1.3");
    assert_eq!(seen.server_name.as_deref(), Some("localhost"));

    // The fingerprint the bridge prints is the one OpenSSL computes.
    let mut x509 = tokio::process::Command::new(&openssl)
        .args(["x509", "-noout", "-fingerprint", "-sha256"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("openssl x509 runs");
    let mut stdin = x509.stdin.take().unwrap();
    within("writing the certificate", stdin.write_all(pem.as_bytes()))
        .await
        .unwrap();
    drop(stdin);
    let printed = within("openssl x509", x509.wait_with_output())
        .await
        .unwrap();
    let printed = String::from_utf8_lossy(&printed.stdout);
    let (_, openssl_fingerprint) = printed.trim().split_once('=').expect("NAME=FINGERPRINT");
    assert_eq!(openssl_fingerprint, fingerprint);
}
