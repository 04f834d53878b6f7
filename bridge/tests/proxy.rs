//! `--proxy LISTEN=TARGET`: a real client and a real server on loopback, with the bridge
//! between them. What each says reaches the other exactly, as it comes; a half-close and a
//! reset pass through; a server that cannot be reached closes the client with the reason; pages
//! and the transcript see one conversation with two sides, each record marked with the way it
//! went.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{nothing_listens_on, pair, proxied, start, start_error, within, Page, Peer};
use protocol::checksum::Checksum;
use protocol::framing::{Delimiter, Framing};
use protocol::{
    Command, ConnInfo, ConnSettings, ConnState, Event, Flow, Marks, ProblemKind, Record, Target,
    ToClient, Transmit, Way,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The next record of `conn` going `way`.
async fn said(page: &mut Page, conn: u64, way: Way) -> Record {
    let event = page
        .expect(way.label(), |e| {
            matches!(e, ToClient::Record(r) if r.conn == conn && Way::of(r.flow, r.marks) == Some(way))
        })
        .await;
    let ToClient::Record(record) = event else {
        unreachable!()
    };
    record
}

/// What went `way` until it holds `len` bytes.
async fn traffic(page: &mut Page, conn: u64, way: Way, len: usize) -> Vec<u8> {
    let mut data = Vec::new();
    while data.len() < len {
        data.extend(said(page, conn, way).await.data);
    }
    data
}

async fn closed_conn(page: &mut Page, id: u64) -> ConnInfo {
    page.event("the conversation to close", |e| match e {
        Event::Conn { conn } if conn.id == id && conn.state == ConnState::Closed => {
            Some(conn.clone())
        }
        _ => None,
    })
    .await
}

#[tokio::test]
async fn text_and_every_byte_value_go_both_ways_and_the_page_sees_each_way() {
    let (bridge, server, proxy) = proxied(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut client, mut server_end, conn) = pair(&mut page, &server, proxy).await;
    let info = conn
        .proxy
        .as_deref()
        .expect("a proxied conversation says so");
    assert_eq!(info.target, server.local_addr().unwrap().to_string());
    assert_eq!(info.server.as_deref(), Some(info.target.as_str()));
    assert_eq!(conn.peer, client.addr());
    assert_eq!(conn.local, Some(proxy.to_string()));

    client.send("hello 你好\n".as_bytes()).await;
    assert_eq!(server_end.receive(13).await, "hello 你好\n".as_bytes());
    server_end.send(b"hi\r\n").await;
    assert_eq!(client.receive(4).await, b"hi\r\n");
    let up = said(&mut page, conn.id, Way::ClientToServer).await;
    assert_eq!(up.data, "hello 你好\n".as_bytes());
    assert_eq!(up.flow, Flow::Rx);
    assert!(!up.marks.contains(Marks::INJECTED));
    let down = said(&mut page, conn.id, Way::ServerToClient).await;
    assert_eq!(down.data, b"hi\r\n");
    assert!(
        down.seq > up.seq,
        "the page sees them in the order they went"
    );

    let every: Vec<u8> = (0..=255u8).collect();
    let back: Vec<u8> = every.iter().rev().copied().collect();
    client.send(&every).await;
    assert_eq!(server_end.receive(256).await, every);
    server_end.send(&back).await;
    assert_eq!(client.receive(256).await, back);
    assert_eq!(
        traffic(&mut page, conn.id, Way::ClientToServer, 256).await,
        every
    );
    assert_eq!(
        traffic(&mut page, conn.id, Way::ServerToClient, 256).await,
        back
    );

    // The counters count by way: rx client→server, tx server→client.
    drop(client);
    server_end.closed().await;
    drop(server_end);
    let closed = closed_conn(&mut page, conn.id).await;
    assert_eq!(closed.rx_bytes, 13 + 256);
    assert_eq!(closed.tx_bytes, 4 + 256);
    bridge.shutdown().await;
}

#[tokio::test]
async fn the_exit_word_is_relayed_not_obeyed() {
    let (bridge, server, proxy) = proxied(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut client, mut server_end, _) = pair(&mut page, &server, proxy).await;
    client.send(b"exit\n").await;
    assert_eq!(server_end.receive(5).await, b"exit\n");
    server_end.send(b"bye\n").await;
    assert_eq!(client.receive(4).await, b"bye\n");
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_half_close_passes_through_each_way() {
    let (bridge, server, proxy) = proxied(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;

    // The client says its last and half-closes: the server reads the end, and still answers.
    let (mut client, mut server_end, conn) = pair(&mut page, &server, proxy).await;
    client.send(b"last\n").await;
    client.half_close().await;
    assert_eq!(server_end.receive(5).await, b"last\n");
    let mut rest = Vec::new();
    within(
        "the server to read the end",
        server_end.stream.read_to_end(&mut rest),
    )
    .await
    .unwrap();
    assert!(rest.is_empty());
    let half = page
        .event("the client's half-close", |e| match e {
            Event::Conn { conn: c } if c.id == conn.id => {
                c.proxy.clone().filter(|p| p.client_closed)
            }
            _ => None,
        })
        .await;
    assert!(!half.server_closed);
    server_end.send(b"answer\n").await;
    assert_eq!(client.receive(7).await, b"answer\n");
    server_end.half_close().await;
    client.closed().await;
    let closed = closed_conn(&mut page, conn.id).await;
    assert_eq!(
        closed.close_reason.as_deref(),
        Some("the client closed the connection, then the server")
    );

    // The other way: the server half-closes first, and the client may still speak.
    let (mut client, mut server_end, conn) = pair(&mut page, &server, proxy).await;
    server_end.send(b"welcome\n").await;
    server_end.half_close().await;
    assert_eq!(client.receive(8).await, b"welcome\n");
    let mut rest = Vec::new();
    within(
        "the client to read the end",
        client.stream.read_to_end(&mut rest),
    )
    .await
    .unwrap();
    client.send(b"thanks\n").await;
    assert_eq!(server_end.receive(7).await, b"thanks\n");
    // Sending to the client, which the bridge told the server's end, is refused.
    page.send(Target::Conn(conn.id), b"x".to_vec()).await;
    let problem = page.problem().await;
    assert_eq!(problem.kind, ProblemKind::NotOpen);
    assert!(
        problem
            .message
            .contains("the server closed its sending side"),
        "{}",
        problem.message
    );
    client.half_close().await;
    server_end.closed().await;
    let closed = closed_conn(&mut page, conn.id).await;
    assert_eq!(
        closed.close_reason.as_deref(),
        Some("the server closed the connection, then the client")
    );
    bridge.shutdown().await;
}

/// Closes a socket with a reset (RST) rather than an orderly end.
fn reset(stream: TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(stream);
}

#[tokio::test]
async fn a_reset_passes_through_as_a_reset() {
    let (bridge, server, proxy) = proxied(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (client, mut server_end, conn) = pair(&mut page, &server, proxy).await;
    reset(client.stream);
    let mut buf = [0; 16];
    let read = within("the server to hear of it", server_end.stream.read(&mut buf)).await;
    assert_eq!(
        read.map_err(|e| e.kind()),
        Err(std::io::ErrorKind::ConnectionReset),
        "the server sees a reset, not an end"
    );
    let closed = closed_conn(&mut page, conn.id).await;
    assert_eq!(
        closed.close_reason.as_deref(),
        Some("the client reset the connection; the bridge reset the server's in turn")
    );

    let (mut client, server_end, conn) = pair(&mut page, &server, proxy).await;
    reset(server_end.stream);
    let mut buf = [0; 16];
    let read = within("the client to hear of it", client.stream.read(&mut buf)).await;
    assert_eq!(
        read.map_err(|e| e.kind()),
        Err(std::io::ErrorKind::ConnectionReset)
    );
    let closed = closed_conn(&mut page, conn.id).await;
    assert_eq!(
        closed.close_reason.as_deref(),
        Some("the server reset the connection; the bridge reset the client's in turn")
    );
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_server_that_refuses_closes_the_client_with_the_reason() {
    let nothing = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = nothing.local_addr().unwrap();
    drop(nothing);
    let spec = format!("127.0.0.1:0={target}");
    let bridge = start(&["--proxy", &spec]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let mut client = Peer::connect(bridge.proxies[0].0).await;
    let closed = page.conn(ConnState::Closed).await;
    assert_eq!(closed.peer, client.addr());
    assert_eq!(
        closed.close_reason,
        Some(format!(
            "the server {target} could not be reached: connection refused by {target}; the \
             client's connection was closed"
        ))
    );
    client.closed().await;
    bridge.shutdown().await;
}

/// A server on loopback that answers no more connects: its queue of connections not yet
/// accepted is full, so the kernel drops further SYNs, as a host that does not answer would.
fn a_server_that_does_not_answer() -> (socket2::Socket, Vec<std::net::TcpStream>, SocketAddr) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let mut queued = Vec::new();
    for _ in 0..64 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(stream) => queued.push(stream),
            Err(_) => return (socket, queued, addr),
        }
    }
    panic!("the listener's queue never filled");
}

#[tokio::test]
async fn a_server_that_does_not_answer_in_time_closes_the_client_with_the_reason() {
    let (_server, _queued, target) = a_server_that_does_not_answer();
    let spec = format!("127.0.0.1:0={target}");
    let bridge = start(&["--proxy", &spec, "--dial-timeout", "1"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let mut client = Peer::connect(bridge.proxies[0].0).await;
    let connecting = page.conn(ConnState::Connecting).await;
    assert_eq!(connecting.peer, client.addr());
    let closed = page.conn(ConnState::Closed).await;
    assert_eq!(
        closed.close_reason,
        Some(format!(
            "the server {target} could not be reached: timed out after 1 s connecting to \
             {target}; the client's connection was closed"
        ))
    );
    client.closed().await;
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_proxy_that_cannot_work_does_not_start() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let held = holder.local_addr().unwrap();
    let spec = format!("{held}=127.0.0.1:502");
    let taken = start_error(&["--proxy", &spec]).await;
    assert!(
        taken.starts_with(&format!("--proxy {spec}: cannot listen on {held}: ")),
        "{taken}"
    );
    assert!(taken.ends_with("; pick another LISTEN"), "{taken}");
    assert!(!taken.contains('\n'), "one line: {taken}");
    assert_eq!(
        start_error(&[
            "--proxy",
            "127.0.0.1:0=10.0.0.9:502",
            "--allow-dial",
            "127.0.0.1:*"
        ])
        .await,
        "--proxy 127.0.0.1:0=10.0.0.9:502: not allowed to dial 10.0.0.9:502: this bridge may \
         dial only 127.0.0.1:* (--allow-dial)"
    );
    let nowhere = start_error(&["--proxy", "127.0.0.1:0=no-such-host.invalid:502"]).await;
    assert!(
        nowhere.starts_with(
            "--proxy 127.0.0.1:0=no-such-host.invalid:502: no such host: no-such-host.invalid"
        ),
        "{nowhere}"
    );
}

#[tokio::test]
async fn pages_see_both_sides_in_order_and_inject_into_either() {
    let (bridge, server, proxy) = proxied(&["--framing", "lf"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut client, mut server_end, conn) = pair(&mut page, &server, proxy).await;
    // A request and its answer, ten times: the log alternates, in the order they went.
    for i in 0..10 {
        let ask = format!("ask {i}\n");
        client.send(ask.as_bytes()).await;
        assert_eq!(server_end.receive(ask.len()).await, ask.as_bytes());
        let answer = format!("answer {i}\n");
        server_end.send(answer.as_bytes()).await;
        assert_eq!(client.receive(answer.len()).await, answer.as_bytes());
    }
    // Framing cuts only what is recorded: half a line goes through at once.
    client.send(b"half").await;
    assert_eq!(server_end.receive(4).await, b"half");
    client.send(b" a line\n").await;
    assert_eq!(server_end.receive(8).await, b" a line\n");

    // Injected, as if from the client to the server, and as if from the server to the client.
    page.transmit(Transmit {
        to: Target::Conn(conn.id),
        file: false,
        broadcast: false,
        to_server: true,
        data: b"PING\n".to_vec().into(),
    })
    .await;
    assert_eq!(server_end.receive(5).await, b"PING\n");
    page.send(Target::Conn(conn.id), b"NOTE\n".to_vec()).await;
    assert_eq!(client.receive(5).await, b"NOTE\n");

    // A page that joins now sees the same, from the bridge's history.
    let (_late, snapshot) = Page::open(&bridge).await;
    let said: Vec<(Option<Way>, bool, String)> = snapshot
        .records
        .iter()
        .filter(|r| r.conn == conn.id)
        .map(|r| {
            (
                Way::of(r.flow, r.marks),
                r.marks.contains(Marks::INJECTED),
                String::from_utf8_lossy(&r.data).into_owned(),
            )
        })
        .collect();
    let mut expected = Vec::new();
    for i in 0..10 {
        expected.push((Some(Way::ClientToServer), false, format!("ask {i}\n")));
        expected.push((Some(Way::ServerToClient), false, format!("answer {i}\n")));
    }
    expected.push((Some(Way::ClientToServer), false, "half a line\n".into()));
    expected.push((Some(Way::ClientToServer), true, "PING\n".into()));
    expected.push((Some(Way::ServerToClient), true, "NOTE\n".into()));
    assert_eq!(said, expected);
    let seqs: Vec<u64> = snapshot.records.iter().map(|r| r.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));

    bridge.shutdown().await;
}

#[tokio::test]
async fn a_send_to_the_server_of_a_conversation_without_one_is_refused() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (_peer, conn) = common::accept_peer(&bridge, &mut page).await;
    page.transmit(Transmit {
        to: Target::Conn(conn.id),
        file: false,
        broadcast: false,
        to_server: true,
        data: b"x".to_vec().into(),
    })
    .await;
    let problem = page.problem().await;
    assert_eq!(problem.conn, Some(conn.id));
    assert!(
        problem
            .message
            .contains("is not a proxy's: it has no server"),
        "{}",
        problem.message
    );
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_stops_the_server_being_read_and_nothing_is_lost() {
    const FLOOD: usize = 48 << 20;
    let (bridge, server, proxy) = proxied(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut client, server_end, _) = pair(&mut page, &server, proxy).await;
    drop(page);
    let (mut server_read, mut server_write) = server_end.stream.into_split();
    let written = Arc::new(AtomicU64::new(0));
    let flood = tokio::spawn({
        let written = written.clone();
        async move {
            let chunk: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
            let mut sent = 0;
            while sent < FLOOD {
                server_write.write_all(&chunk).await.unwrap();
                sent += chunk.len();
                written.store(sent as u64, Ordering::SeqCst);
            }
            server_write
        }
    });
    // The client reads nothing: the server's writes stop, once what the sockets and the bridge
    // hold is full, well short of the flood.
    within("the server's writes to stall", async {
        let mut last = u64::MAX;
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let now = written.load(Ordering::SeqCst);
            if now == last {
                return;
            }
            last = now;
        }
    })
    .await;
    let stalled = written.load(Ordering::SeqCst);
    assert!(
        stalled < FLOOD as u64 / 2,
        "the bridge took {stalled} bytes from the server for a client that reads nothing"
    );
    // The other way is not held up.
    client.send(b"still here\n").await;
    let mut heard = [0; 11];
    within(
        "the server to hear the client",
        server_read.read_exact(&mut heard),
    )
    .await
    .unwrap();
    assert_eq!(&heard, b"still here\n");
    // Once the client reads, every byte arrives, in order.
    let mut got = vec![0; FLOOD];
    tokio::time::timeout(Duration::from_secs(60), client.stream.read_exact(&mut got))
        .await
        .expect("the flood arrives")
        .unwrap();
    assert!(got
        .iter()
        .enumerate()
        .all(|(i, &b)| b == ((i % (64 * 1024)) % 251) as u8));
    drop(flood.await.unwrap());
    bridge.shutdown().await;
}

#[tokio::test]
async fn the_transcript_holds_both_sides_of_the_pair() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pair.jsonl");
    let (bridge, server, proxy) = proxied(&["--transcript", path.to_str().unwrap()]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut client, mut server_end, conn) = pair(&mut page, &server, proxy).await;
    client.send(b"GET\n").await;
    assert_eq!(server_end.receive(4).await, b"GET\n");
    server_end.send(&[0xff, 0x00, b'\n']).await;
    assert_eq!(client.receive(3).await, [0xff, 0x00, b'\n']);
    client.half_close().await;
    server_end.closed().await;
    drop(server_end);
    closed_conn(&mut page, conn.id).await;
    bridge.shutdown().await;

    let lines: Vec<Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let target = server.local_addr().unwrap().to_string();
    let events: Vec<(&str, Option<&str>)> = lines
        .iter()
        .map(|l| {
            let what = l["event"].as_str().or(l["way"].as_str()).unwrap_or("?");
            (
                what,
                l["side"]
                    .as_str()
                    .or(l["text"].as_str())
                    .or(l["hex"].as_str()),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("connecting", None),
            ("open", None),
            ("client_to_server", Some("GET\n")),
            ("server_to_client", Some("ff000a")),
            ("half_closed", Some("client")),
            ("half_closed", Some("server")),
            ("closed", None),
        ]
    );
    assert_eq!(lines[0]["proxy"]["target"], target.as_str());
    assert_eq!(lines[1]["proxy"]["server"], target.as_str());
    assert_eq!(lines[1]["peer"], client.addr().as_str());
    assert_eq!(lines[2]["dir"], "rx");
    assert_eq!(lines[3]["dir"], "tx");
    assert_eq!(
        lines[6]["reason"],
        "the client closed the connection, then the server"
    );
}

/// The proxies a `proxies` event lists.
async fn proxies_event(page: &mut Page) -> Vec<protocol::ProxyListener> {
    page.event("the proxies", |e| match e {
        Event::Proxies { proxies } => Some(proxies.clone()),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn a_page_starts_and_stops_a_proxy_and_every_page_knows_where_they_are() {
    let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = server.local_addr().unwrap().to_string();
    let bridge = start(&[]).await;
    let (mut page, snapshot) = Page::open(&bridge).await;
    assert!(snapshot.server.proxies.is_empty());
    page.command(protocol::Command::Proxy {
        listen: "127.0.0.1:0".into(),
        target: target.clone(),
        request: Some(7),
    })
    .await;
    let proxies = proxies_event(&mut page).await;
    assert_eq!(proxies.len(), 1);
    assert_eq!(proxies[0].target, target);
    let proxy: SocketAddr = proxies[0].listen.parse().unwrap();
    assert_ne!(proxy.port(), 0, "the port it chose");

    // It relays, as one started with --proxy does.
    let (mut client, mut server_end, conn) = pair(&mut page, &server, proxy).await;
    assert_eq!(conn.proxy.unwrap().target, target);
    client.send(b"hi\n").await;
    assert_eq!(server_end.receive(3).await, b"hi\n");

    // A page that joins later is told where it runs.
    let (_late, late) = Page::open(&bridge).await;
    assert_eq!(late.server.proxies, proxies);

    // Stopped: no new client gets in, and the pair it made goes on.
    page.command(protocol::Command::StopProxy {
        listen: proxy.to_string(),
        request: None,
    })
    .await;
    assert!(proxies_event(&mut page).await.is_empty());
    nothing_listens_on(&mut page, proxy, "a stopped proxy").await;
    server_end.send(b"still\n").await;
    assert_eq!(client.receive(6).await, b"still\n");
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_proxy_a_page_asks_for_that_cannot_work_is_refused_with_the_reason() {
    let bridge = start(&["--allow-dial", "127.0.0.1:*"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let ask = |listen: &str, target: &str, request| protocol::Command::Proxy {
        listen: listen.into(),
        target: target.into(),
        request: Some(request),
    };
    page.command(ask("127.0.0.1:0", "10.0.0.9:502", 1)).await;
    let problem = page.problem().await;
    assert_eq!(
        (problem.kind, problem.request),
        (ProblemKind::NotAllowed, Some(1))
    );
    assert_eq!(
        problem.message,
        "not allowed to dial 10.0.0.9:502: this bridge may dial only 127.0.0.1:* (--allow-dial)"
    );
    page.command(ask("127.0.0.1:0", "127.0.0.1", 2)).await;
    let problem = page.problem().await;
    assert_eq!(
        (problem.kind, problem.request),
        (ProblemKind::ListenFailed, Some(2))
    );
    assert!(
        problem.message.contains("write the server as HOST:PORT"),
        "{}",
        problem.message
    );
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let held = holder.local_addr().unwrap().to_string();
    page.command(ask(&held, "127.0.0.1:9", 3)).await;
    let problem = page.problem().await;
    assert_eq!(
        (problem.kind, problem.request),
        (ProblemKind::ListenFailed, Some(3))
    );
    assert!(
        problem
            .message
            .starts_with(&format!("cannot proxy from {held}: ")),
        "{}",
        problem.message
    );
    page.command(protocol::Command::StopProxy {
        listen: "127.0.0.1:1".into(),
        request: Some(4),
    })
    .await;
    let problem = page.problem().await;
    assert_eq!(problem.message, "no proxy listens on 127.0.0.1:1");
    assert_eq!(problem.request, Some(4));
    bridge.shutdown().await;
}

#[tokio::test]
async fn proxies_started_with_the_flag_are_in_the_hello() {
    let (bridge, server, proxy) = proxied(&[]).await;
    let (_page, snapshot) = Page::open(&bridge).await;
    assert_eq!(
        snapshot.server.proxies,
        [protocol::ProxyListener {
            listen: proxy.to_string(),
            target: server.local_addr().unwrap().to_string(),
        }]
    );
    bridge.shutdown().await;
}

/// Asks the bridge to read one way of a proxied conversation (or, `None`, both) so, and waits
/// until the page hears it does.
async fn read_way(
    page: &mut Page,
    conn: u64,
    way: Option<Way>,
    settings: ConnSettings,
) -> ConnInfo {
    page.command(Command::Configure {
        conn: Some(conn),
        way,
        settings: settings.clone(),
    })
    .await;
    let ways = [Way::ClientToServer, Way::ServerToClient];
    let read = move |c: &ConnInfo| {
        ways.iter()
            .filter(|w| way.is_none_or(|way| way == **w))
            .all(|w| *c.settings_of(Some(*w)) == settings)
    };
    page.event("the new settings", |e| match e {
        Event::Conn { conn: c } if c.id == conn && read(c) => Some(c.clone()),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn each_side_is_read_with_its_own_framing_and_checksum() {
    let (bridge, server, proxy) = proxied(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut client, mut server_end, conn) = pair(&mut page, &server, proxy).await;
    // The client speaks lines; the server answers in frames of a 2-byte length, each ending
    // with a CRC-16/MODBUS the length leaves out.
    let lines = ConnSettings {
        framing: Framing::Delimiter {
            delimiter: Delimiter::lf(),
        },
        checksum: None,
    };
    let frames = ConnSettings {
        framing: Framing::LengthPrefixed {
            width: 2,
            big_endian: true,
            offset: 0,
            includes_header: false,
            trailer: 2,
        },
        checksum: Some(Checksum::Crc16Modbus),
    };
    let info = read_way(&mut page, conn.id, None, lines.clone()).await;
    assert_eq!(info.settings, lines);
    assert_eq!(info.proxy.as_ref().unwrap().settings, lines, "no way: both");
    let info = read_way(
        &mut page,
        conn.id,
        Some(Way::ServerToClient),
        frames.clone(),
    )
    .await;
    assert_eq!(info.settings, lines, "the client is read as before");
    assert_eq!(info.settings_of(Some(Way::ServerToClient)), &frames);

    let frame = |body: &[u8]| {
        let mut frame = (body.len() as u16).to_be_bytes().to_vec();
        frame.extend_from_slice(body);
        Checksum::Crc16Modbus.append(&mut frame);
        frame
    };
    let good = frame(b"ok\n");
    let mut bad = frame(b"no");
    *bad.last_mut().unwrap() ^= 0xff;
    // Two lines in one read from the client; a good and a bad frame in one from the server,
    // each holding a line feed that is not an end there.
    client.send(b"one\ntwo\n").await;
    assert_eq!(server_end.receive(8).await, b"one\ntwo\n");
    let answers = [good.clone(), bad.clone()].concat();
    server_end.send(&answers).await;
    assert_eq!(
        client.receive(answers.len()).await,
        answers,
        "relayed as it came"
    );

    let up = [
        said(&mut page, conn.id, Way::ClientToServer).await,
        said(&mut page, conn.id, Way::ClientToServer).await,
    ];
    assert_eq!(up.map(|r| r.data), [b"one\n".to_vec(), b"two\n".to_vec()]);
    let down = [
        said(&mut page, conn.id, Way::ServerToClient).await,
        said(&mut page, conn.id, Way::ServerToClient).await,
    ];
    assert_eq!(down[0].data, good, "one frame, its line feed inside");
    assert!(!down[0].marks.contains(Marks::BAD_CHECKSUM));
    assert_eq!(down[1].data, bad);
    assert!(
        down[1].marks.contains(Marks::BAD_CHECKSUM),
        "the server's checksum is checked"
    );

    // Lines from the client that would fail the server's checksum are not marked: the client
    // has none.
    client.send(b"three\n").await;
    assert_eq!(server_end.receive(6).await, b"three\n");
    let three = said(&mut page, conn.id, Way::ClientToServer).await;
    assert_eq!(
        (three.data, three.marks.contains(Marks::BAD_CHECKSUM)),
        (b"three\n".to_vec(), false)
    );
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_way_is_refused_for_a_conversation_that_is_not_proxied() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (_peer, conn) = common::accept_peer(&bridge, &mut page).await;
    let settings = ConnSettings::default();
    page.command(Command::Configure {
        conn: Some(conn.id),
        way: Some(Way::ServerToClient),
        settings: settings.clone(),
    })
    .await;
    let problem = page.problem().await;
    assert_eq!(problem.conn, Some(conn.id));
    assert!(
        problem.message.contains("is not proxied"),
        "{}",
        problem.message
    );
    // Without a connection, a way means nothing either.
    page.command(Command::Configure {
        conn: None,
        way: Some(Way::ClientToServer),
        settings,
    })
    .await;
    let problem = page.problem().await;
    assert!(
        problem.message.contains("give its `conn` too"),
        "{}",
        problem.message
    );
    bridge.shutdown().await;
}
