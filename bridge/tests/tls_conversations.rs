//! TLS conversations through the real bridge, on loopback: a page dials TLS servers (verified
//! against a CA made for the test and given with `--tls-ca`, refused with the reason, or
//! accepted whatever their certificate), and TLS clients (rustls, and `openssl s_client` when
//! installed) talk to the bridge's TLS listener. Each conversation carries its TLS details.

mod common;

use std::process::Stdio;

use bridge::tls::{self, ClientOptions};
use common::tls_peers::{EchoServer, TestCa};
use common::{start, within, Page};
use protocol::{Command, ConnInfo, ConnState, Event, Flow, Origin, ProblemKind, Target, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn dial_tls(host: &str, port: u16, accept_any_certificate: bool) -> Command {
    Command::Dial {
        host: host.into(),
        port,
        transport: Transport::Tls,
        accept_any_certificate,
        request: None,
    }
}

/// Starts a bridge that trusts `ca` when it dials with TLS.
async fn trusting(ca: &TestCa, dir: &std::path::Path) -> bridge::Bridge {
    let (ca_file, _, _) = ca.files(dir, &["unused.test"]);
    start(&["--tls-ca", ca_file.to_str().unwrap()]).await
}

/// The dial's connection once it has opened or closed.
async fn settled(page: &mut Page) -> ConnInfo {
    page.event("the dial to settle", |e| match e {
        Event::Conn { conn } if conn.state != ConnState::Connecting => Some(conn.clone()),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn a_verified_dial_chats_and_shows_the_certificate() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let bridge = trusting(&ca, dir.path()).await;
    let server = EchoServer::start(ca.acceptor(&["localhost"], None)).await;
    let (mut page, _) = Page::open(&bridge).await;

    page.command(dial_tls("localhost", server.addr.port(), false))
        .await;
    let conn = settled(&mut page).await;
    assert_eq!(conn.state, ConnState::Open, "{:?}", conn.close_reason);
    assert_eq!(conn.transport, Transport::Tls);
    let tls = conn.tls.as_ref().expect("TLS details");
    assert!(tls.peer_verified);
    assert_eq!(tls.version, "TLSv1.3");
    assert_eq!(tls.server_name.as_deref(), Some("localhost"));
    let cert = tls
        .peer_certificate
        .as_ref()
        .expect("the server's certificate");
    assert_eq!(cert.subject, "CN=localhost");
    assert_eq!(cert.issuer, "CN=Bridge Test CA");
    assert_eq!(cert.sha256.len(), 32 * 3 - 1);

    page.send(Target::Conn(conn.id), b"over TLS\n".to_vec())
        .await;
    assert_eq!(
        page.traffic(conn.id, Flow::Rx, 9).await,
        b"over TLS\n",
        "the echo came back through TLS"
    );
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_wrong_name_and_an_untrusted_issuer_fail_with_their_reasons() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let bridge = trusting(&ca, dir.path()).await;
    let server = EchoServer::start(ca.acceptor(&["device.test"], None)).await;
    let (mut page, _) = Page::open(&bridge).await;
    page.command(dial_tls("localhost", server.addr.port(), false))
        .await;
    let conn = settled(&mut page).await;
    assert_eq!(conn.state, ConnState::Closed);
    let reason = conn.close_reason.unwrap();
    assert!(
        reason.starts_with(
            "the certificate of localhost is not valid for the name localhost: it is valid for \
             device.test;"
        ),
        "{reason}"
    );
    let problem = page.problem().await;
    assert_eq!(problem.kind, ProblemKind::DialFailed);
    assert_eq!(problem.message, reason);

    // A bridge without --tls-ca knows nothing of the test's CA.
    let stranger = start(&[]).await;
    let server = EchoServer::start(ca.acceptor(&["localhost"], None)).await;
    let (mut page, _) = Page::open(&stranger).await;
    page.command(dial_tls("localhost", server.addr.port(), false))
        .await;
    let conn = settled(&mut page).await;
    let reason = conn.close_reason.unwrap();
    assert!(
        reason.starts_with(
            "the certificate of localhost has an unknown issuer: it was issued by CN=Bridge Test \
             CA"
        ),
        "{reason}"
    );
    bridge.shutdown().await;
    stranger.shutdown().await;
}

#[tokio::test]
async fn accept_any_certificate_connects_and_says_it_did_not_verify() {
    let ca = TestCa::new();
    let bridge = start(&[]).await;
    let server = EchoServer::start(ca.acceptor(&["device.test"], Some((2020, 2021)))).await;
    let (mut page, _) = Page::open(&bridge).await;
    page.command(dial_tls("127.0.0.1", server.addr.port(), true))
        .await;
    let conn = settled(&mut page).await;
    assert_eq!(conn.state, ConnState::Open, "{:?}", conn.close_reason);
    let tls = conn.tls.as_ref().unwrap();
    assert!(!tls.peer_verified);
    let cert = tls.peer_certificate.as_ref().unwrap();
    assert_eq!(cert.not_after, "2021-01-01T00:00:00Z", "expired, and shown");
    page.send(Target::Conn(conn.id), b"anyway".to_vec()).await;
    assert_eq!(page.traffic(conn.id, Flow::Rx, 6).await, b"anyway");
    bridge.shutdown().await;
}

#[tokio::test]
async fn the_tls_listener_talks_to_a_rustls_client() {
    let bridge = start(&["--tls-listen", "127.0.0.1:0"]).await;
    let addr = bridge.tls_addr.expect("the TLS listener runs");
    let fingerprint = bridge.tls_fingerprint.clone().expect("its fingerprint");
    let (mut page, snapshot) = Page::open(&bridge).await;
    assert_eq!(snapshot.server.tls_listen, Some(addr.to_string()));
    assert_eq!(snapshot.server.tls_fingerprint, Some(fingerprint.clone()));

    let any = ClientOptions {
        accept_any_certificate: true,
        ..ClientOptions::default()
    };
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut client, info) = within("the handshake", tls::connect(tcp, "localhost", &any))
        .await
        .expect("a handshake");
    assert_eq!(
        info.peer_certificate.unwrap().sha256,
        fingerprint,
        "the certificate whose fingerprint the page shows"
    );

    let conn = page.conn(ConnState::Open).await;
    assert_eq!(conn.origin, Origin::Accepted);
    assert_eq!(conn.transport, Transport::Tls);
    let tls = conn.tls.as_ref().expect("TLS details");
    assert_eq!(
        tls.server_name.as_deref(),
        Some("localhost"),
        "the client's SNI"
    );

    client.write_all(b"hello bridge\n").await.unwrap();
    assert_eq!(page.traffic(conn.id, Flow::Rx, 13).await, b"hello bridge\n");
    page.send(Target::Conn(conn.id), b"hello client\n".to_vec())
        .await;
    let mut got = [0; 13];
    within("the reply", client.read_exact(&mut got))
        .await
        .unwrap();
    assert_eq!(&got, b"hello client\n");
    bridge.shutdown().await;
}

#[tokio::test]
async fn the_listener_presents_the_given_certificate_and_a_page_can_start_it() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, key) = ca.files(dir.path(), &["localhost"]);
    let bridge = start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ])
    .await;
    assert_eq!(bridge.tls_addr, None, "off until asked for");
    let (mut page, _) = Page::open(&bridge).await;
    page.command(Command::Listen {
        addr: "127.0.0.1:0".into(),
        transport: Transport::Tls,
        request: None,
    })
    .await;
    let (listen, fingerprint) = page
        .event("the TLS listener's event", |e| match e {
            Event::Listener {
                listen,
                transport: Transport::Tls,
                fingerprint,
                ..
            } => Some((listen.clone(), fingerprint.clone())),
            _ => None,
        })
        .await;
    let addr: std::net::SocketAddr = listen.expect("listening").parse().unwrap();

    let tcp = TcpStream::connect(addr).await.unwrap();
    let (_client, info) = within(
        "the handshake",
        tls::connect(tcp, "localhost", &ca.trusted()),
    )
    .await
    .expect("a client that trusts the CA verifies the bridge");
    assert!(info.peer_verified);
    assert_eq!(Some(info.peer_certificate.unwrap().sha256), fingerprint);
    let conn = page.conn(ConnState::Open).await;
    assert_eq!(conn.transport, Transport::Tls);
    bridge.shutdown().await;
}

#[tokio::test]
async fn openssl_s_client_chats_with_the_tls_listener() {
    let Some(openssl) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("openssl"))
            .find(|path| path.is_file())
    }) else {
        return println!("skipped: openssl is not on PATH");
    };
    let bridge = start(&["--tls-listen", "127.0.0.1:0"]).await;
    let addr = bridge.tls_addr.unwrap();
    let (mut page, _) = Page::open(&bridge).await;
    let mut client = tokio::process::Command::new(openssl)
        .args(["s_client", "-quiet", "-connect", &addr.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("openssl runs");
    let conn = page.conn(ConnState::Open).await;
    assert_eq!(conn.transport, Transport::Tls);
    let mut stdin = client.stdin.take().unwrap();
    stdin.write_all(b"from openssl\n").await.unwrap();
    assert_eq!(page.traffic(conn.id, Flow::Rx, 13).await, b"from openssl\n");
    page.send(Target::Conn(conn.id), b"to openssl\n".to_vec())
        .await;
    let mut stdout = client.stdout.take().unwrap();
    let mut got = [0; 11];
    within("openssl's output", stdout.read_exact(&mut got))
        .await
        .unwrap();
    assert_eq!(&got, b"to openssl\n");
    drop(stdin);
    bridge.shutdown().await;
}

/// A ClientHello as a TLS 1.0 or 1.1 client writes it, by hand: `version` in the record and
/// in the greeting, one cipher suite (AES-128-CBC-SHA), no extensions.
fn old_client_hello(minor: u8) -> Vec<u8> {
    let mut body = vec![3, minor];
    body.extend_from_slice(&[7; 32]); // random
    body.extend_from_slice(&[0, 0, 2, 0x00, 0x2f, 1, 0]); // session, suites, compression
    let mut hello = vec![0x01, 0, 0, body.len() as u8];
    hello.extend_from_slice(&body);
    let mut record = vec![0x16, 3, minor, 0, hello.len() as u8];
    record.extend_from_slice(&hello);
    record
}

#[tokio::test]
async fn a_tls_1_0_or_1_1_client_is_told_the_version_it_offered() {
    let bridge = start(&["--tls-listen", "127.0.0.1:0"]).await;
    let addr = bridge.tls_addr.unwrap();
    let (mut page, _) = Page::open(&bridge).await;
    for (minor, version) in [(1, "TLS 1.0"), (2, "TLS 1.1")] {
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(&old_client_hello(minor)).await.unwrap();
        let reason = page.conn(ConnState::Closed).await.close_reason;
        assert_eq!(
            reason.as_deref(),
            Some(&*format!(
                "this client offered {version}; the bridge speaks TLS 1.2 and 1.3: update the \
                 client, or enable TLS 1.2 in it"
            )),
        );
    }
    // OpenSSL, where this machine's build still speaks TLS 1.0.
    let Some(openssl) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("openssl"))
            .find(|path| path.is_file())
    }) else {
        return println!("skipped openssl -tls1: openssl is not on PATH");
    };
    let output = within(
        "openssl s_client -tls1",
        tokio::process::Command::new(openssl)
            .args(["s_client", "-tls1", "-cipher", "DEFAULT@SECLEVEL=0"])
            .args(["-connect", &addr.to_string()])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("openssl runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !stdout.contains("CONNECTED") {
        return println!("skipped openssl -tls1: this openssl does not offer TLS 1.0");
    }
    let reason = page.conn(ConnState::Closed).await.close_reason;
    assert_eq!(
        reason.as_deref(),
        Some(
            "this client offered TLS 1.0; the bridge speaks TLS 1.2 and 1.3: update the \
             client, or enable TLS 1.2 in it"
        ),
        "openssl -tls1"
    );
    bridge.shutdown().await;
}
