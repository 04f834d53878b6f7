//! A datagram conversation: UDP, with one address. One datagram is one message, its boundaries
//! kept exactly (an empty datagram is a record too); there is no framing to do. The checksum
//! check, the exit word and the rules see each datagram, as they see a stream's messages.
//!
//! Its side reads and writes in one loop: a datagram in, or a send out, whichever comes first.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{ready, Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use protocol::{ConnId, Marks, Problem, ProblemKind, RECORD_HEADER_LEN};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio_util::sync::CancellationToken;

use super::pair::{Heard, Relayed};
use super::reading::Readable;
use super::{canonical, record_sent, Conversation, RecordAs, Relay};
use crate::hub::{Author, Hub, Opened, Outgoing, MAX_DATAGRAM};
use crate::udp::OwnSocket;

/// How a conversation's datagrams come and go.
pub enum Link {
    /// Through the bridge's UDP socket, which hands this conversation its address's datagrams.
    Shared {
        socket: Arc<UdpSocket>,
        peer: SocketAddr,
        datagrams: mpsc::Receiver<Bytes>,
        /// Fired when the socket ends this conversation to make room for a new one (and then
        /// `datagrams` ends).
        evicted: CancellationToken,
    },
    /// Through a socket of its own, connected to the peer.
    Own(OwnSocket),
}

impl Link {
    /// Fired when the socket ends this conversation to make room, before it drops the inbox's
    /// other end (never, for its own socket).
    fn evicted(&self) -> CancellationToken {
        match self {
            Link::Shared { evicted, .. } => evicted.clone(),
            Link::Own(_) => CancellationToken::new(),
        }
    }

    async fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<Bytes>> {
        match self {
            Link::Shared { datagrams, .. } => Ok(datagrams.recv().await),
            Link::Own(own) => {
                let n = own.socket.recv(buf).await?;
                Ok(Some(Bytes::copy_from_slice(&buf[..n])))
            }
        }
    }

    /// Sends one datagram; `broadcast` allows a broadcast address for this send only.
    async fn send(&self, data: &[u8], broadcast: bool) -> io::Result<()> {
        let socket = match self {
            Link::Shared { socket, .. } => &**socket,
            Link::Own(OwnSocket {
                broadcast: true, ..
            }) if !broadcast => {
                // Connected already, the socket would not ask again: the bridge does.
                return Err(io::ErrorKind::PermissionDenied.into());
            }
            Link::Own(own) => &own.socket,
        };
        if broadcast {
            socket.set_broadcast(true)?;
        }
        let sent = match self {
            Link::Shared { socket, peer, .. } => socket.send_to(data, *peer).await,
            Link::Own(own) => own.socket.send(data).await,
        };
        if broadcast {
            let _ = socket.set_broadcast(false);
        }
        sent.map(drop)
    }

    /// The peer, as the page shows it.
    fn peer(&self) -> String {
        match self {
            Link::Shared { peer, .. } => canonical(*peer).to_string(),
            Link::Own(own) => own
                .socket
                .peer_addr()
                .map_or_else(|_| "the peer".into(), |a| canonical(a).to_string()),
        }
    }
}

/// Relays one UDP conversation until the page disconnects it, its socket stops, a datagram ends
/// it (the exit word), or, with `idle`, no datagram goes either way for that long; then reports
/// the close and fires `over`.
pub async fn run(
    relay: Relay,
    opened: Opened,
    link: Link,
    idle: Option<Duration>,
    permit: Option<OwnedSemaphorePermit>,
    over: CancellationToken,
) {
    let id = opened.id;
    let reason = converse(&relay, opened, link, idle).await;
    relay.hub.close(id, reason);
    over.cancel();
    drop(permit);
}

/// Runs a dialled UDP conversation on a socket of its own, connected to its peer.
pub async fn run_own(relay: Relay, opened: Opened, own: OwnSocket, permit: OwnedSemaphorePermit) {
    let over = CancellationToken::new();
    run(relay, opened, Link::Own(own), None, Some(permit), over).await;
}

/// Relays until the conversation ends, and returns why in words.
async fn converse(relay: &Relay, opened: Opened, mut link: Link, idle: Option<Duration>) -> String {
    let Conversation {
        id,
        mut side,
        cancel,
    } = Conversation::new(relay, opened);
    let peer = link.peer();
    let evicted = link.evicted();
    let mut buf = vec![0; MAX_DATAGRAM + 1];
    let mut told_unreachable = false;
    let silence = tokio::time::sleep(idle.unwrap_or(Duration::MAX));
    tokio::pin!(silence);
    loop {
        if let Some(idle) = idle {
            silence.as_mut().reset(tokio::time::Instant::now() + idle);
        }
        let out = tokio::select! {
            received = link.recv(&mut buf) => match received {
                Ok(Some(datagram)) => {
                    told_unreachable = false;
                    let mut frame = BytesMut::with_capacity(RECORD_HEADER_LEN + datagram.len());
                    frame.put_bytes(0, RECORD_HEADER_LEN);
                    frame.extend_from_slice(&datagram);
                    match side.reading.message(frame, Marks::NONE, true, None).await {
                        Some(reason) => return reason,
                        None => continue,
                    }
                }
                // The socket let the conversation go: to make room for a new one, or closing.
                Ok(None) if evicted.is_cancelled() => return EVICTED.into(),
                Ok(None) => return "the bridge's UDP socket closed".into(),
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    // An ICMP "port unreachable" for a datagram sent: said once until it answers.
                    if !told_unreachable {
                        told_unreachable = true;
                        tell_unreachable(relay, id, format!("nothing is listening on {peer} (port unreachable)"));
                    }
                    continue;
                }
                Err(e) => return format!("error while receiving: {e}"),
            },
            out = side.outbox.next() => out,
            () = cancel.cancelled() => return relay.cancel_reason().into(),
            () = &mut silence, if idle.is_some() => return silent(idle.unwrap_or_default()),
        };
        send(relay, id, &link, &peer, out).await;
    }
}

/// Why an accepted conversation ended to make room for another.
pub const EVICTED: &str = "the UDP socket holds as many conversations as --udp-peers allows: \
                           this one, the longest silent, ended to make room for a new one";

/// Why an accepted conversation ended after `idle` with no datagram.
pub fn silent(idle: Duration) -> String {
    format!(
        "no datagram either way for {} s (--udp-idle)",
        idle.as_secs()
    )
}

/// Writes one send as a datagram and records it; or tells the pages why it could not be sent,
/// and a page's send refused waits no more.
async fn send(relay: &Relay, id: ConnId, link: &Link, peer: &str, out: Outgoing) {
    if out.file.as_ref().is_some_and(|part| part.stopped()) {
        // A part of a file stopped before it was sent.
        return relay.hub.unsent(id, out.data.len());
    }
    let Err(e) = link.send(&out.data, out.broadcast).await else {
        return record_sent(relay, id, &out.data, &out.from, RecordAs::SENT);
    };
    if let Author::Page { .. } = out.from {
        relay.hub.unsent(id, out.data.len());
    }
    let why = match e.kind() {
        io::ErrorKind::ConnectionRefused => {
            format!("nothing is listening on {peer} (port unreachable)")
        }
        io::ErrorKind::PermissionDenied if !out.broadcast => {
            format!("{peer} is a broadcast address: tick Broadcast to send to it; nothing was sent")
        }
        _ => format!("cannot send to {peer}: {e}"),
    };
    tell_unreachable(relay, id, why);
}

fn tell_unreachable(relay: &Relay, id: ConnId, why: String) {
    unreachable(&relay.hub, id, why);
}

fn unreachable(hub: &Hub, id: ConnId, why: String) {
    hub.error(Problem::new(ProblemKind::Unreachable, why).on(id));
}

/// A UDP proxy's client, as its side of the pair reads and writes it: the datagrams of its
/// address, which the proxy's socket hands over, one a read; and each write one datagram to it
/// through that socket. An empty datagram cannot be a read (it would read as an end): it is
/// not relayed.
pub struct UdpClient {
    pub socket: Arc<UdpSocket>,
    pub peer: SocketAddr,
    pub datagrams: mpsc::Receiver<Bytes>,
    pub heard: Arc<Heard>,
}

/// Reads a UDP proxy's client.
pub struct ClientReads<'a> {
    datagrams: &'a mut mpsc::Receiver<Bytes>,
    heard: &'a Heard,
}

/// Writes to a UDP proxy's client, or its server: one datagram a write.
pub struct Writes<'a> {
    socket: &'a UdpSocket,
    /// Where to, through a socket not connected (the proxy's); `None` for a connected one.
    to: Option<SocketAddr>,
    heard: &'a Heard,
    /// Whom to tell that nothing listens there (the server's side).
    tell: Option<&'a UdpServer>,
}

impl Relayed for UdpClient {
    type Read<'a> = ClientReads<'a>;
    type Write<'a> = Writes<'a>;
    const DATAGRAMS: bool = true;
    fn halves(&mut self) -> (ClientReads<'_>, Writes<'_>) {
        let reads = ClientReads {
            datagrams: &mut self.datagrams,
            heard: &self.heard,
        };
        let writes = Writes {
            socket: &self.socket,
            to: Some(self.peer),
            heard: &self.heard,
            tell: None,
        };
        (reads, writes)
    }
    fn reset(&self) {}
}

/// A datagram is read whole, into room for the largest.
impl Readable for ClientReads<'_> {}

impl AsyncRead for ClientReads<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            match ready!(self.datagrams.poll_recv(cx)) {
                Some(datagram) if datagram.is_empty() => continue,
                Some(datagram) => {
                    self.heard.now();
                    // Reads have room for the largest datagram (`Relayed::DATAGRAMS`).
                    let n = datagram.len().min(buf.remaining());
                    buf.put_slice(&datagram[..n]);
                    return Poll::Ready(Ok(()));
                }
                None => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::NotConnected,
                        "the proxy's UDP socket closed",
                    )))
                }
            }
        }
    }
}

impl Writes<'_> {
    fn send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.to {
            Some(to) => self.socket.poll_send_to(cx, buf, to),
            None => self.socket.poll_send(cx, buf),
        }
    }
}

impl AsyncWrite for Writes<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let sent = ready!(self.send(cx, buf));
        self.heard.now();
        Poll::Ready(match (sent, self.tell) {
            // An ICMP "port unreachable" for an earlier datagram (a UDP socket hears of it on
            // its next send): said, and this one is sent still; if that fails too, it is lost,
            // as UDP allows.
            (Err(e), Some(server)) if e.kind() == io::ErrorKind::ConnectionRefused => {
                server.refused();
                match self.send(cx, buf) {
                    Poll::Ready(Ok(n)) => Ok(n),
                    _ => Ok(buf.len()),
                }
            }
            (sent, _) => sent,
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A UDP proxy's server, reached from a socket of the conversation's own, connected to it.
/// An ICMP "port unreachable" (heard on a read or, more often, on the next send) is told to
/// pages once until the server answers, as for a dial, and the conversation goes on.
pub struct UdpServer {
    socket: UdpSocket,
    heard: Arc<Heard>,
    hub: Hub,
    id: ConnId,
    told: AtomicBool,
}

impl UdpServer {
    pub fn new(relay: &Relay, id: ConnId, own: OwnSocket, heard: Arc<Heard>) -> UdpServer {
        UdpServer {
            socket: own.socket,
            heard,
            hub: relay.hub.clone(),
            id,
            told: AtomicBool::new(false),
        }
    }

    fn refused(&self) {
        if !self.told.swap(true, Ordering::Relaxed) {
            let peer = self
                .socket
                .peer_addr()
                .map_or_else(|_| "the server".into(), |a| canonical(a).to_string());
            let why = format!("nothing is listening on {peer} (port unreachable)");
            unreachable(&self.hub, self.id, why);
        }
    }
}

/// Reads a UDP proxy's server.
pub struct ServerReads<'a>(&'a UdpServer);

impl Relayed for UdpServer {
    type Read<'a> = ServerReads<'a>;
    type Write<'a> = Writes<'a>;
    const DATAGRAMS: bool = true;
    fn halves(&mut self) -> (ServerReads<'_>, Writes<'_>) {
        let writes = Writes {
            socket: &self.socket,
            to: None,
            heard: &self.heard,
            tell: Some(self),
        };
        (ServerReads(self), writes)
    }
    fn reset(&self) {}
}

impl Readable for ServerReads<'_> {}

impl AsyncRead for ServerReads<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let server = self.0;
        loop {
            let before = buf.filled().len();
            match ready!(server.socket.poll_recv(cx, buf)) {
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => server.refused(),
                Err(e) => return Poll::Ready(Err(e)),
                // An empty datagram would read as an end: not relayed.
                Ok(()) if buf.filled().len() == before => {}
                Ok(()) => {
                    server.told.store(false, Ordering::Relaxed);
                    server.heard.now();
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}
