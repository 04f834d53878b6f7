//! `--proxy` with TLS on either side, and with UDP, between peers nobody here wrote:
//! `openssl s_client` as a TLS client and `openssl s_server` as a TLS server, and a Python UDP
//! echo server. What each side says reaches the other exactly; the conversation shows each
//! side's TLS details; a TLS failure on either side closes the pair with its reason; each UDP
//! client address is a conversation of its own, relayed datagram by datagram, held and injected
//! into as a TCP pair is, and ended by `--udp-idle`.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use bridge::Bridge;
use clap::Parser;
use common::tls_peers::TestCa;
use common::{start, start_error, within, Page, Peer};
use protocol::{
    Command, ConnInfo, ConnState, Event, ProblemKind, Target, ToClient, Transmit, Transport, Way,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UdpSocket};
use tokio::process::{Child, ChildStdin, ChildStdout, Command as Process};

/// `openssl`, which the scripts install: these tests need it.
fn openssl() -> Process {
    let mut command = Process::new("openssl");
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    command
}

/// A program the test talks to through its standard input and output.
struct Program {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Program {
    fn spawn(mut command: Process) -> Program {
        let mut child = command
            .spawn()
            .expect("openssl (or python3) runs: is it installed?");
        Program {
            stdin: child.stdin.take().unwrap(),
            stdout: BufReader::new(child.stdout.take().unwrap()),
            _child: child,
        }
    }

    async fn say(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// Reads lines until one is `line` (less its line ending); fails at the end of output.
    async fn heard(&mut self, line: &str) {
        within(&format!("the program to print {line:?}"), async {
            let mut next = String::new();
            loop {
                next.clear();
                let n = self.stdout.read_line(&mut next).await.unwrap();
                assert!(n > 0, "the program ended before printing {line:?}");
                if next.trim_end_matches(['\r', '\n']) == line {
                    return;
                }
            }
        })
        .await;
    }

    /// The next line it prints, or `None` at the end of its output.
    async fn line(&mut self) -> Option<String> {
        let mut next = String::new();
        let n = within("the program's output", self.stdout.read_line(&mut next))
            .await
            .unwrap();
        (n > 0).then_some(next)
    }
}

/// A certificate authority's files and a leaf of it for loopback: `(ca, cert, key)`.
fn certificates(ca: &TestCa, dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    ca.files(dir, &["localhost", "127.0.0.1"])
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `openssl s_server` on a free loopback port, with `cert` and `key`, for one client; returns
/// once it accepts.
async fn s_server(cert: &Path, key: &Path) -> (Program, SocketAddr) {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut command = openssl();
    command.args([
        "s_server",
        "-accept",
        &addr.to_string(),
        "-cert",
        text(cert),
        "-key",
        text(key),
        "-naccept",
        "1",
    ]);
    let mut server = Program::spawn(command);
    server.heard("ACCEPT").await;
    (server, addr)
}

/// `openssl s_client` to `addr`, checking the certificate against `ca` (or not at all).
fn s_client(addr: SocketAddr, ca: Option<&Path>) -> Program {
    let mut command = openssl();
    command.args(["s_client", "-quiet", "-connect", &addr.to_string()]);
    if let Some(ca) = ca {
        command.args(["-CAfile", text(ca), "-verify_return_error"]);
    }
    Program::spawn(command)
}

/// A bridge with the TLS proxy `spec`, showing its clients `cert` (with `key`); a page on it,
/// and `openssl s_client` through the proxy, trusting `ca`.
async fn tls_proxy(spec: &str, (ca, cert, key): (&Path, &Path, &Path)) -> (Bridge, Page, Program) {
    let flags = [
        "--proxy",
        spec,
        "--tls-cert",
        text(cert),
        "--tls-key",
        text(key),
    ];
    let bridge = start(&flags).await;
    let (page, _) = Page::open(&bridge).await;
    let client = s_client(bridge.proxies[0].0, Some(ca));
    (bridge, page, client)
}

async fn open_conn(page: &mut Page) -> ConnInfo {
    page.event("the proxied conversation, open", |e| match e {
        Event::Conn { conn } if conn.proxy.is_some() && conn.state == ConnState::Open => {
            Some(conn.clone())
        }
        _ => None,
    })
    .await
}

async fn closed_conn(page: &mut Page) -> ConnInfo {
    page.event("the proxied conversation, closed", |e| match e {
        Event::Conn { conn } if conn.proxy.is_some() && conn.state == ConnState::Closed => {
            Some(conn.clone())
        }
        _ => None,
    })
    .await
}

/// The data of the next record going `way`.
async fn said(page: &mut Page, conn: u64, way: Way) -> Vec<u8> {
    let event = page
        .expect(way.label(), |e| {
            matches!(e, ToClient::Record(r) if r.conn == conn && Way::of(r.flow, r.marks) == Some(way))
        })
        .await;
    let ToClient::Record(record) = event else {
        unreachable!()
    };
    record.data.to_vec()
}

#[tokio::test]
async fn a_tls_client_is_relayed_to_a_plain_tcp_server() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let (ca_file, cert, key) = certificates(&ca, dir.path());
    let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let spec = format!("tls:127.0.0.1:0={}", server.local_addr().unwrap());
    let (bridge, mut page, mut client) = tls_proxy(&spec, (&ca_file, &cert, &key)).await;
    let (_, target, client_side) = bridge.proxies[0].clone();
    assert_eq!(client_side, Transport::Tls);
    assert_eq!(target, server.local_addr().unwrap().to_string());
    let (stream, _) = within("the server to accept", server.accept())
        .await
        .unwrap();
    let mut server_end = Peer { stream };
    let conn = open_conn(&mut page).await;
    assert_eq!(conn.transport, Transport::Tls);
    let tls = conn
        .tls
        .as_deref()
        .expect("the client's side shows its TLS");
    assert!(tls.version.starts_with("TLS"), "{tls:?}");
    assert!(!tls.cipher_suite.is_empty());
    let info = conn.proxy.as_deref().unwrap();
    assert_eq!(info.transport, Transport::Tcp);
    assert_eq!(info.tls, None, "the server's side is plain TCP");

    client.say("hello through TLS\n").await;
    assert_eq!(server_end.receive(18).await, b"hello through TLS\n");
    assert_eq!(
        said(&mut page, conn.id, Way::ClientToServer).await,
        b"hello through TLS\n"
    );
    server_end.send(b"plain answer\n").await;
    client.heard("plain answer").await;
    assert_eq!(
        said(&mut page, conn.id, Way::ServerToClient).await,
        b"plain answer\n"
    );
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_plain_client_is_relayed_to_a_tls_server_whose_certificate_is_checked() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let (ca_file, cert, key) = certificates(&ca, dir.path());
    let (mut server, addr) = s_server(&cert, &key).await;
    let spec = format!("127.0.0.1:0=tls:{addr}");
    let bridge = start(&["--proxy", &spec, "--tls-ca", text(&ca_file)]).await;
    let (proxy, target, _) = bridge.proxies[0].clone();
    assert_eq!(target, format!("tls:{addr}"));
    let (mut page, _) = Page::open(&bridge).await;

    let mut client = Peer::connect(proxy).await;
    let conn = open_conn(&mut page).await;
    assert_eq!(conn.transport, Transport::Tcp);
    assert_eq!(conn.tls, None, "the client's side is plain TCP");
    let info = conn.proxy.as_deref().unwrap();
    assert_eq!(info.transport, Transport::Tls);
    let tls = info
        .tls
        .as_deref()
        .expect("the server's side shows its TLS");
    assert!(tls.peer_verified, "checked against --tls-ca");
    let certificate = tls.peer_certificate.as_ref().unwrap();
    assert!(certificate.subject.contains("localhost"), "{certificate:?}");

    client.send(b"plain hello\n").await;
    server.heard("plain hello").await;
    server.say("tls answer\n").await;
    assert_eq!(client.receive(11).await, b"tls answer\n");
    assert_eq!(
        said(&mut page, conn.id, Way::ClientToServer).await,
        b"plain hello\n"
    );
    assert_eq!(
        said(&mut page, conn.id, Way::ServerToClient).await,
        b"tls answer\n"
    );
    bridge.shutdown().await;
}

#[tokio::test]
async fn tls_on_both_sides_with_any_certificate_and_a_refused_certificate_closes_the_pair() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let (ca_file, cert, key) = certificates(&ca, dir.path());
    // Without --tls-ca the bridge does not trust this server's authority: `tls:` refuses it.
    let (_server, addr) = s_server(&cert, &key).await;
    let checked = format!("tls:127.0.0.1:0=tls:{addr}");
    let (bridge, mut page, mut client) = tls_proxy(&checked, (&ca_file, &cert, &key)).await;
    let closed = closed_conn(&mut page).await;
    let reason = closed.close_reason.unwrap();
    assert!(
        reason.starts_with(&format!(
            "TLS with the server {addr} failed: the certificate of 127.0.0.1 has an unknown issuer"
        )),
        "{reason}"
    );
    assert!(
        reason.contains("write the proxy's TARGET tls-any:HOST:PORT"),
        "{reason}"
    );
    assert!(
        reason.ends_with("; the client's connection was closed"),
        "{reason}"
    );
    assert_eq!(client.line().await, None, "the client's connection ends");
    bridge.shutdown().await;

    // `tls-any:` takes whatever the server presents, and still shows it.
    let (mut server, addr) = s_server(&cert, &key).await;
    let any = format!("tls:127.0.0.1:0=tls-any:{addr}");
    let (bridge, mut page, mut client) = tls_proxy(&any, (&ca_file, &cert, &key)).await;
    let conn = open_conn(&mut page).await;
    let server_tls = conn.proxy.as_deref().unwrap().tls.as_deref().unwrap();
    assert!(!server_tls.peer_verified);
    assert!(server_tls.peer_certificate.is_some());
    assert!(conn.tls.is_some());
    client.say("both ways TLS\n").await;
    server.heard("both ways TLS").await;
    server.say("and back\n").await;
    client.heard("and back").await;
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_client_that_does_not_speak_tls_to_a_tls_proxy_is_closed_and_its_server_never_dialled() {
    let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let spec = format!("tls:127.0.0.1:0={}", server.local_addr().unwrap());
    let bridge = start(&["--proxy", &spec]).await;
    assert!(
        bridge.tls_fingerprint.is_some(),
        "a TLS proxy without --tls-cert has the self-signed certificate"
    );
    let (mut page, _) = Page::open(&bridge).await;
    let mut client = Peer::connect(bridge.proxies[0].0).await;
    client.send(b"GET / HTTP/1.0\r\n\r\n").await;
    let reason = closed_conn(&mut page).await.close_reason.unwrap();
    assert!(reason.ends_with("; the server was not dialled"), "{reason}");
    client.closed().await;
    let dialled = tokio::time::timeout(Duration::from_millis(300), server.accept()).await;
    assert!(dialled.is_err(), "the server was dialled");
    bridge.shutdown().await;
}

#[tokio::test]
async fn the_page_starts_a_tls_proxy_and_is_told_of_transports_that_do_not_go_together() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    page.command(Command::Proxy {
        listen: "tls:127.0.0.1:0".into(),
        target: "tls-any:127.0.0.1:9".into(),
        request: None,
    })
    .await;
    let proxies = page
        .event("the proxies", |e| match e {
            Event::Proxies { proxies } if !proxies.is_empty() => Some(proxies.clone()),
            _ => None,
        })
        .await;
    assert!(
        proxies[0].listen.starts_with("tls:127.0.0.1:"),
        "{proxies:?}"
    );
    assert_eq!(proxies[0].target, "tls-any:127.0.0.1:9");
    let listen = proxies[0].listen.clone();

    for (listen, target, says) in [
        (
            "udp:127.0.0.1:0",
            "tls:127.0.0.1:9",
            "a UDP proxy is UDP on both sides",
        ),
        (
            "127.0.0.1:0",
            "udp:127.0.0.1:9",
            "a UDP proxy is UDP on both sides",
        ),
        (
            "tls-any:127.0.0.1:0",
            "127.0.0.1:9",
            "`tls-any:` is for the server's side",
        ),
    ] {
        page.command(Command::Proxy {
            listen: listen.into(),
            target: target.into(),
            request: None,
        })
        .await;
        let problem = page.problem().await;
        assert_eq!(problem.kind, ProblemKind::ListenFailed);
        assert!(problem.message.contains(says), "{}", problem.message);
    }

    page.command(Command::StopProxy {
        listen,
        request: None,
    })
    .await;
    page.event("no proxy", |e| match e {
        Event::Proxies { proxies } if proxies.is_empty() => Some(()),
        _ => None,
    })
    .await;
    bridge.shutdown().await;
}

#[tokio::test]
async fn bad_transports_and_refused_targets_stop_the_start_with_one_line() {
    let err = bridge::Config::try_parse_from(["bridge", "--proxy", "udp:127.0.0.1:0=tls:h:9"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "invalid value 'udp:127.0.0.1:0=tls:h:9' for '--proxy <LISTEN=TARGET>': a UDP proxy \
             is UDP on both sides"
        ),
        "{err}"
    );
    let err = start_error(&[
        "--allow-dial",
        "127.0.0.1:*",
        "--proxy",
        "udp:127.0.0.1:0=10.0.0.9:53",
    ])
    .await;
    assert!(
        err.ends_with(
            "not allowed to dial 10.0.0.9:53: this bridge may dial only 127.0.0.1:* \
             (--allow-dial)"
        ),
        "{err}"
    );
}

/// A UDP echo server in Python, on a free loopback port: it answers each datagram with
/// `echo:` and the datagram.
async fn python_echo() -> (Program, SocketAddr) {
    let mut command = Process::new("python3");
    command
        .args([
            "-u",
            "-c",
            "import socket\n\
             s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
             s.bind(('127.0.0.1', 0))\n\
             print(s.getsockname()[1])\n\
             while True:\n\
             \x20   data, peer = s.recvfrom(65535)\n\
             \x20   s.sendto(b'echo:' + data, peer)\n",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    let mut server = Program::spawn(command);
    let port = server.line().await.expect("python prints its port");
    let addr = SocketAddr::from(([127, 0, 0, 1], port.trim().parse().unwrap()));
    (server, addr)
}

/// Sends `datagram` from `client` to `proxy` and returns the one that comes back.
async fn ask(client: &UdpSocket, proxy: SocketAddr, datagram: &[u8]) -> Vec<u8> {
    client.send_to(datagram, proxy).await.unwrap();
    let mut buf = vec![0; 70_000];
    let (n, from) = within("a datagram back", client.recv_from(&mut buf))
        .await
        .unwrap();
    assert_eq!(from, proxy, "answers come from the proxy's socket");
    buf.truncate(n);
    buf
}

#[tokio::test]
async fn each_udp_client_address_is_a_conversation_relayed_datagram_by_datagram() {
    let (_server, server_addr) = python_echo().await;
    let spec = format!("udp:127.0.0.1:0={server_addr}");
    let bridge = start(&["--proxy", &spec, "--udp-idle", "2"]).await;
    let (proxy, target, client_side) = bridge.proxies[0].clone();
    assert_eq!(client_side, Transport::Udp);
    assert_eq!(target, format!("udp:{server_addr}"));
    let (mut page, _) = Page::open(&bridge).await;

    let one = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    assert_eq!(ask(&one, proxy, b"first").await, b"echo:first");
    let conn = open_conn(&mut page).await;
    assert_eq!(conn.transport, Transport::Udp);
    assert_eq!(conn.peer, one.local_addr().unwrap().to_string());
    let info = conn.proxy.as_deref().unwrap();
    assert_eq!(info.transport, Transport::Udp);
    assert_eq!(info.server.as_deref(), Some(&*server_addr.to_string()));
    assert_eq!(
        said(&mut page, conn.id, Way::ClientToServer).await,
        b"first"
    );
    assert_eq!(
        said(&mut page, conn.id, Way::ServerToClient).await,
        b"echo:first"
    );
    // Each datagram whole, its boundaries kept, up to the largest over loopback.
    for datagram in [vec![0u8, 1, 2, 255], vec![7u8; 9000], vec![b'x'; 65_000]] {
        let mut echoed = b"echo:".to_vec();
        echoed.extend_from_slice(&datagram);
        let back = ask(&one, proxy, &datagram).await;
        assert_eq!(back.len(), echoed.len());
        assert_eq!(back, echoed);
    }

    // A second address is a second conversation, with a socket of its own to the server.
    let two = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    assert_eq!(ask(&two, proxy, b"second").await, b"echo:second");
    let second = open_conn(&mut page).await;
    assert_ne!(second.id, conn.id);
    assert_eq!(second.peer, two.local_addr().unwrap().to_string());
    assert_ne!(
        second.proxy.as_deref().unwrap().local,
        info.local,
        "each client address has its own socket to the server"
    );

    // Injected as if from the server: a datagram to the client; as if from the client: one the
    // server answers.
    page.send(Target::Conn(conn.id), b"note".to_vec()).await;
    let mut buf = [0; 64];
    let (n, _) = within("the injected datagram", one.recv_from(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf[..n], b"note");
    page.transmit(Transmit {
        to: Target::Conn(conn.id),
        file: false,
        broadcast: false,
        to_server: true,
        data: b"ping".to_vec().into(),
    })
    .await;
    let (n, _) = within("the server's answer", one.recv_from(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf[..n], b"echo:ping");

    // Held, and forwarded edited: a datagram is a message.
    page.command(Command::Hold {
        conn: second.id,
        way: Way::ClientToServer,
        on: true,
    })
    .await;
    page.event("the hold on", |e| match e {
        Event::Conn { conn: c } if c.id == second.id => c
            .proxy
            .as_ref()
            .filter(|p| p.hold.get(Way::ClientToServer))
            .map(|_| ()),
        _ => None,
    })
    .await;
    two.send_to(b"held", proxy).await.unwrap();
    let message = page
        .event("the held datagram", |e| match e {
            Event::Held { message } => Some(message.clone()),
            _ => None,
        })
        .await;
    assert_eq!(message.data, b"held");
    let quiet = tokio::time::timeout(Duration::from_millis(200), two.recv_from(&mut buf)).await;
    assert!(quiet.is_err(), "a held datagram does not go on");
    page.command(Command::Forward {
        conn: second.id,
        id: message.id,
        edit: Some("65 64 69 74 65 64".into()),
    })
    .await;
    let (n, _) = within("the edited datagram's echo", two.recv_from(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf[..n], b"echo:edited");

    // --udp-idle ends a conversation that goes quiet; the address then starts a new one.
    let closed = page
        .event("the first conversation to end", |e| match e {
            Event::Conn { conn: c } if c.id == conn.id && c.state == ConnState::Closed => {
                Some(c.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(
        closed.close_reason.as_deref(),
        Some("no datagram either way for 2 s (--udp-idle)")
    );
    assert_eq!(ask(&one, proxy, b"again").await, b"echo:again");
    let again = open_conn(&mut page).await;
    assert_ne!(again.id, conn.id);
    assert_eq!(again.peer, one.local_addr().unwrap().to_string());
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_udp_server_that_is_not_there_is_said_and_the_conversation_goes_on() {
    let nobody = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let absent = nobody.local_addr().unwrap();
    drop(nobody);
    let spec = format!("udp:127.0.0.1:0={absent}");
    let bridge = start(&["--proxy", &spec]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client
        .send_to(b"anyone?", bridge.proxies[0].0)
        .await
        .unwrap();
    let conn = open_conn(&mut page).await;
    assert_eq!(
        said(&mut page, conn.id, Way::ClientToServer).await,
        b"anyone?"
    );
    // The ICMP answer to the first is heard with the next, as for a dial.
    tokio::time::sleep(Duration::from_millis(100)).await;
    client
        .send_to(b"still?", bridge.proxies[0].0)
        .await
        .unwrap();
    let (mut problem, mut relayed) = (None, false);
    while problem.is_none() || !relayed {
        match page.next().await {
            ToClient::Event(Event::Error(p)) => problem = Some(p),
            ToClient::Record(r) if r.conn == conn.id => {
                assert_eq!(r.data.to_vec(), b"still?");
                relayed = true;
            }
            _ => {}
        }
    }
    let problem = problem.unwrap();
    assert_eq!(problem.kind, ProblemKind::Unreachable);
    assert_eq!(problem.conn, Some(conn.id));
    assert_eq!(
        problem.message,
        format!("nothing is listening on {absent} (port unreachable)")
    );
    let (_, snapshot) = Page::open(&bridge).await;
    let conn = snapshot
        .conns
        .into_iter()
        .find(|c| c.id == conn.id)
        .unwrap();
    assert_eq!(conn.state, ConnState::Open, "the conversation goes on");
    bridge.shutdown().await;
}
