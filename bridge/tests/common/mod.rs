//! What the integration tests share: a bridge on ephemeral loopback ports, a page (a real
//! WebSocket client speaking the protocol), TCP peers, and bounded waits for all of them.
#![allow(dead_code)] // each test file uses its own part of this

pub mod tls_peers;

use std::net::SocketAddr;
use std::time::Duration;

use bridge::{Bridge, Config};
use clap::Parser;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use protocol::{
    Command, ConnId, ConnInfo, ConnState, Event, Flow, Frame, HeldMessage, Problem, Record,
    Release, ServerInfo, Target, ToBridge, ToClient, Transmit, Way,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The longest any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// Starts a bridge on `127.0.0.1:0` (both sockets, unless `flags` say where to listen) with
/// extra flags.
pub async fn start(flags: &[&str]) -> Bridge {
    bridge::start(config(flags)).await.expect("bridge starts")
}

/// What a bridge started as [`start`] does says when it cannot start.
pub async fn start_error(flags: &[&str]) -> String {
    match bridge::start(config(flags)).await {
        Ok(_) => panic!("the bridge should not start with {flags:?}"),
        Err(e) => e.to_string(),
    }
}

fn config(flags: &[&str]) -> Config {
    let mut args = vec!["bridge", "--http", "127.0.0.1:0"];
    if !flags
        .iter()
        .any(|f| ["--listen", "--no-listen"].contains(f))
    {
        args.extend(["--listen", "127.0.0.1:0"]);
    }
    args.extend_from_slice(flags);
    Config::try_parse_from(args).expect("flags parse")
}

pub async fn within<F: std::future::Future>(what: &str, future: F) -> F::Output {
    timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// What a page receives right after connecting.
#[derive(Debug)]
pub struct Snapshot {
    pub seq: u64,
    /// `hello.server.listen`: where the TCP listener is.
    pub listen: Option<String>,
    /// The rest of `hello.server`.
    pub server: ServerInfo,
    pub conns: Vec<ConnInfo>,
    pub records: Vec<Record>,
    /// The messages proxied conversations hold.
    pub held: Vec<protocol::HeldMessage>,
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket client, as the web page is one.
pub struct Page {
    /// `None` once [`Page::split`] has handed the sending half to a [`PageSender`].
    tx: Option<SplitSink<Socket, Message>>,
    rx: SplitStream<Socket>,
}

/// The sending half of a [`Page`], for tests that send and read at the same time.
pub struct PageSender {
    tx: SplitSink<Socket, Message>,
}

pub fn ws_request(bridge: &Bridge) -> Request {
    format!("ws://{}/ws", bridge.http_addr)
        .into_client_request()
        .expect("valid URL")
}

impl Page {
    /// Connects and reads the snapshot.
    pub async fn open(bridge: &Bridge) -> (Page, Snapshot) {
        Page::open_with(ws_request(bridge))
            .await
            .expect("WebSocket handshake")
    }

    pub async fn open_with(request: Request) -> Result<(Page, Snapshot), tungstenite::Error> {
        let (ws, _) = within("the handshake", tokio_tungstenite::connect_async(request)).await?;
        let (tx, rx) = ws.split();
        let mut page = Page { tx: Some(tx), rx };
        let snapshot = page.snapshot().await;
        Ok((page, snapshot))
    }

    /// Reads a whole snapshot: `Hello`, records, `Synced`.
    pub async fn snapshot(&mut self) -> Snapshot {
        let ToClient::Event(Event::Hello {
            seq,
            conns,
            server,
            held,
            ..
        }) = self.next().await
        else {
            panic!("a snapshot starts with hello");
        };
        let mut records = Vec::new();
        loop {
            match self.next().await {
                ToClient::Record(record) => records.push(record),
                ToClient::Event(Event::Synced { seq: synced }) => {
                    assert_eq!(synced, seq, "synced.seq equals hello.seq");
                    return Snapshot {
                        seq,
                        listen: server.listen.clone(),
                        server: *server,
                        conns,
                        records,
                        held,
                    };
                }
                other => panic!("unexpected {other:?} inside a snapshot"),
            }
        }
    }

    /// The next thing the bridge sends, whatever it is.
    pub async fn next(&mut self) -> ToClient {
        self.next_message()
            .await
            .expect("the bridge closed the WebSocket")
    }

    /// The next thing the bridge sends, or `None` once it has closed the WebSocket.
    pub async fn next_message(&mut self) -> Option<ToClient> {
        loop {
            let frame = match within("an event", self.rx.next()).await {
                Some(Ok(Message::Text(text))) => Frame::Text(text.to_string()),
                Some(Ok(Message::Binary(bytes))) => Frame::Binary(bytes),
                Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
                Some(Ok(_)) => continue,
            };
            return Some(ToClient::from_frame(&frame).expect("a valid event or record"));
        }
    }

    /// Skips what the bridge sends until something matches, and returns it.
    pub async fn expect(
        &mut self,
        what: &str,
        mut matches: impl FnMut(&ToClient) -> bool,
    ) -> ToClient {
        within(what, async {
            loop {
                let event = self.next().await;
                if matches(&event) {
                    return event;
                }
            }
        })
        .await
    }

    /// Waits for a connection event in `state` and returns the connection.
    pub async fn conn(&mut self, state: ConnState) -> ConnInfo {
        self.event(&format!("a connection {state:?}"), |e| match e {
            Event::Conn { conn } if conn.state == state => Some(conn.clone()),
            _ => None,
        })
        .await
    }

    /// Collects `flow` records of `conn` until they hold `len` bytes, and returns those bytes.
    pub async fn traffic(&mut self, conn: ConnId, flow: Flow, len: usize) -> Vec<u8> {
        let mut data = Vec::new();
        while data.len() < len {
            data.extend(self.record(conn, flow).await.data);
        }
        data
    }

    /// The next record of `conn` that flows `flow`.
    pub async fn record(&mut self, conn: ConnId, flow: Flow) -> Record {
        let event = self
            .expect(
                "a record",
                |e| matches!(e, ToClient::Record(r) if r.conn == conn && r.flow == flow),
            )
            .await;
        let ToClient::Record(record) = event else {
            unreachable!("expect returns what matched")
        };
        record
    }

    /// Collects the next `count` records of `conn` that flow `flow`.
    pub async fn records(&mut self, conn: ConnId, flow: Flow, count: usize) -> Vec<Record> {
        let mut records = Vec::with_capacity(count);
        while records.len() < count {
            records.push(self.record(conn, flow).await);
        }
        records
    }

    /// Waits for an error event and returns its connection and message.
    pub async fn error(&mut self) -> (Option<ConnId>, String) {
        let problem = self.problem().await;
        (problem.conn, problem.message)
    }

    /// Waits for an error event and returns the whole problem.
    pub async fn problem(&mut self) -> Problem {
        self.event("an error", |e| match e {
            Event::Error(problem) => Some(problem.clone()),
            _ => None,
        })
        .await
    }

    /// Waits for an event that `pick` picks something out of.
    pub async fn event<T>(&mut self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        within(what, async {
            loop {
                if let ToClient::Event(event) = self.next().await {
                    if let Some(picked) = pick(&event) {
                        return picked;
                    }
                }
            }
        })
        .await
    }

    pub async fn command(&mut self, command: Command) {
        send_message(self.sink(), ToBridge::Command(command)).await;
    }

    /// Sends bytes to one connection or to all.
    pub async fn send(&mut self, to: Target, data: impl Into<protocol::Bytes>) {
        send_message(self.sink(), transmit(to, data)).await;
    }

    /// Sends bytes with the flags of a [`Transmit`] (a file's part, a broadcast).
    pub async fn transmit(&mut self, transmit: Transmit) {
        send_message(self.sink(), ToBridge::Transmit(transmit)).await;
    }

    pub async fn raw(&mut self, message: Message) {
        send_raw(self.sink(), message).await;
    }

    /// Hands the sending half to its own owner; this page then only reads.
    pub fn split(mut self) -> (PageSender, Page) {
        let tx = self.tx.take().expect("not split yet");
        (PageSender { tx }, self)
    }

    fn sink(&mut self) -> &mut SplitSink<Socket, Message> {
        self.tx
            .as_mut()
            .expect("this page's sending half was split off")
    }

    /// The next WebSocket message the bridge sends, control frames included; `None` once the
    /// WebSocket has ended.
    pub async fn raw_next(&mut self) -> Option<Message> {
        within("a WebSocket message", self.rx.next())
            .await
            .and_then(Result::ok)
    }

    /// Waits for the bridge to close the WebSocket.
    pub async fn closed(&mut self) {
        within("the WebSocket to close", async {
            while let Some(Ok(message)) = self.rx.next().await {
                if matches!(message, Message::Close(_)) {
                    return;
                }
            }
        })
        .await;
    }
}

impl PageSender {
    pub async fn command(&mut self, command: Command) {
        send_message(&mut self.tx, ToBridge::Command(command)).await;
    }

    /// Sends bytes to one connection or to all.
    pub async fn send(&mut self, to: Target, data: impl Into<protocol::Bytes>) {
        send_message(&mut self.tx, transmit(to, data)).await;
    }
}

fn transmit(to: Target, data: impl Into<protocol::Bytes>) -> ToBridge {
    ToBridge::Transmit(Transmit {
        to,
        file: false,
        broadcast: false,
        to_server: false,
        data: data.into(),
    })
}

async fn send_message(sink: &mut SplitSink<Socket, Message>, message: ToBridge) {
    let message = match message.to_frame() {
        Frame::Text(text) => Message::text(text),
        Frame::Binary(bytes) => Message::binary(bytes),
    };
    send_raw(sink, message).await;
}

async fn send_raw(sink: &mut SplitSink<Socket, Message>, message: Message) {
    within("sending to the bridge", sink.send(message))
        .await
        .expect("send to the bridge");
}

/// A TCP peer of the bridge.
pub struct Peer {
    pub stream: TcpStream,
}

impl Peer {
    pub async fn connect(addr: SocketAddr) -> Peer {
        let stream = within("a TCP connect", TcpStream::connect(addr))
            .await
            .expect("TCP connect");
        Peer { stream }
    }

    pub fn addr(&self) -> String {
        self.stream.local_addr().expect("local addr").to_string()
    }

    pub async fn send(&mut self, data: &[u8]) {
        self.stream.write_all(data).await.expect("TCP write");
    }

    /// Reads exactly `len` bytes.
    pub async fn receive(&mut self, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        within("bytes from the bridge", self.stream.read_exact(&mut buf))
            .await
            .expect("TCP read");
        buf
    }

    /// Ends this side of the conversation (a half-close: the peer can still read).
    pub async fn half_close(&mut self) {
        self.stream.shutdown().await.expect("TCP shutdown");
    }

    /// Waits until the bridge closes the connection (end of stream, or a reset).
    pub async fn closed(&mut self) {
        let mut buf = [0; 64];
        within("the bridge to close the connection", async {
            loop {
                match self.stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        })
        .await;
    }
}

/// Connects a peer to the bridge's listener and waits for the page to see it open.
pub async fn accept_peer(bridge: &Bridge, page: &mut Page) -> (Peer, ConnInfo) {
    let peer = Peer::connect(bridge.listen_addr.expect("listening")).await;
    let conn = opened(page, "the peer's connection", peer.addr()).await;
    (peer, conn)
}

/// Waits for the page to see the conversation of the peer at `addr` open.
pub async fn opened(page: &mut Page, what: &str, addr: String) -> ConnInfo {
    page.event(what, |e| match e {
        Event::Conn { conn } if conn.peer == addr && conn.state == ConnState::Open => {
            Some(conn.clone())
        }
        _ => None,
    })
    .await
}

/// Asserts that the bridge no longer listens on `addr`: a connection there is refused, or, when
/// it succeeds, the bridge never hears of it. Either can happen on a busy machine once the port
/// is free: the kernel may choose it as the source port of this very connect (a self-connect),
/// or hand it to another test's listener, bound meanwhile.
pub async fn nothing_listens_on(page: &mut Page, addr: SocketAddr, what: &str) {
    let Ok(stream) = TcpStream::connect(addr).await else {
        return;
    };
    let local = stream.local_addr().unwrap();
    if local == stream.peer_addr().unwrap() {
        return;
    }
    let peer = local.to_string();
    let heard = page.event("a connection to the port", |e| match e {
        Event::Conn { conn } if conn.peer == peer => Some(()),
        _ => None,
    });
    let heard = tokio::time::timeout(Duration::from_millis(500), heard).await;
    assert!(heard.is_err(), "{what} accepted a connection from {local}");
}

/// A server on loopback, and a bridge that proxies to it; returns the proxy's address.
pub async fn proxied(flags: &[&str]) -> (Bridge, TcpListener, SocketAddr) {
    let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let spec = format!("127.0.0.1:0={}", server.local_addr().unwrap());
    let mut all = vec!["--proxy", &spec];
    all.extend_from_slice(flags);
    let bridge = start(&all).await;
    let (addr, target, _) = bridge.proxies[0].clone();
    assert_eq!(target, server.local_addr().unwrap().to_string());
    (bridge, server, addr)
}

/// A client through the proxy, the server's end of it, and the conversation once open.
pub async fn pair(
    page: &mut Page,
    server: &TcpListener,
    proxy: SocketAddr,
) -> (Peer, Peer, ConnInfo) {
    let client = Peer::connect(proxy).await;
    let (stream, _) = within("the server to accept", server.accept())
        .await
        .unwrap();
    let conn = opened(page, "the pair's conversation, open", client.addr()).await;
    (client, Peer { stream }, conn)
}

/// Switches a way's hold, and waits until the page hears it is.
pub async fn hold(page: &mut Page, conn: u64, way: Way, on: bool) {
    page.command(Command::Hold { conn, way, on }).await;
    page.event("the hold switched", |e| match e {
        Event::Conn { conn: c } if c.id == conn => c
            .proxy
            .as_ref()
            .filter(|p| p.hold.get(way) == on)
            .map(|_| ()),
        _ => None,
    })
    .await;
}

/// The next message the bridge holds.
pub async fn held(page: &mut Page) -> HeldMessage {
    page.event("a held message", |e| match e {
        Event::Held { message } => Some(message.clone()),
        _ => None,
    })
    .await
}

/// How held message `id` left its queue, once it has.
pub async fn released(page: &mut Page, id: u64) -> Release {
    page.event("a released message", |e| match e {
        Event::Released { id: left, how, .. } if *left == id => Some(*how),
        _ => None,
    })
    .await
}

/// Plain HTTP GET; returns the status code, the headers (lower case) and the body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    within("an HTTP response", async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("read");
        let response = String::from_utf8_lossy(&response).into_owned();
        let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
        let status = head[9..12].parse().expect("a status code");
        (status, head.to_ascii_lowercase(), body.to_owned())
    })
    .await
}

/// A child process that is killed if the test ends early (a failed assertion, a timeout), so
/// that no bridge outlives its test.
pub struct KillOnDrop(pub std::process::Child);

impl std::ops::Deref for KillOnDrop {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
