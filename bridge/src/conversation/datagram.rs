//! A datagram conversation: UDP, with one address. One datagram is one message, its boundaries
//! kept exactly (an empty datagram is a record too); there is no framing to do. The checksum
//! check, the exit word and the rules see each datagram, as they see a stream's messages.
//!
//! Its side reads and writes in one loop: a datagram in, or a send out, whichever comes first.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use protocol::{ConnId, Marks, Problem, ProblemKind, RECORD_HEADER_LEN};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio_util::sync::CancellationToken;

use super::{canonical, record_sent, Conversation, RecordAs, Relay};
use crate::hub::{Author, Opened, Outgoing, MAX_DATAGRAM};
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
                Ok(None) if evicted.is_cancelled() => {
                    return "the UDP socket holds as many conversations as --udp-peers allows: \
                            this one, the longest silent, ended to make room for a new one"
                        .into();
                }
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
            () = &mut silence, if idle.is_some() => {
                let idle = idle.unwrap_or_default().as_secs();
                return format!("no datagram either way for {idle} s (--udp-idle)");
            }
        };
        send(relay, id, &link, &peer, out).await;
    }
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
    relay
        .hub
        .error(Problem::new(ProblemKind::Unreachable, why).on(id));
}
