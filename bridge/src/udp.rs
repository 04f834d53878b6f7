//! UDP conversations: a conversation is the datagrams exchanged with one address. One datagram is
//! one record, its boundaries kept exactly (an empty datagram is a record too); there is no
//! framing to do. The checksum check, the exit word and the rules see each datagram, as they see
//! a TCP connection's messages.
//!
//! Two ways a conversation starts:
//! - the bridge's UDP socket ([`Socket`], `--udp` or the page's `listen`) receives from an address
//!   it has no conversation with: that address is accepted, and replies go out through the same
//!   socket;
//! - a page dials with UDP ([`dial`]): the bridge opens a socket of the conversation's own,
//!   connected to the address, so that an ICMP "port unreachable" comes back to it, and says
//!   "nothing is listening".

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use futures::StreamExt;
use protocol::{ConnState, Marks, Origin, Problem, ProblemKind, Transport, RECORD_HEADER_LEN};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tokio_util::time::DelayQueue;

use crate::connection::{canonical, record_sent, Reading, Relay, Slots};
use crate::hub::{Opened, Opening, Outgoing, Sender, MAX_DATAGRAM};

/// Datagrams an accepted conversation may have waiting before the socket waits for it.
const INBOX: usize = 256;

/// The bridge's UDP socket, running.
pub struct Socket {
    socket: Arc<UdpSocket>,
    addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<()>,
    groups: Vec<IpAddr>,
}

/// What the socket's task needs: where conversations report, how many may be open, and the
/// tracker their tasks join.
pub struct Accepting {
    pub relay: Relay,
    pub slots: Slots,
    pub tasks: TaskTracker,
}

impl Socket {
    /// Starts receiving on `socket`, until shutdown or [`Socket::stop`].
    pub fn spawn(accepting: Accepting, socket: UdpSocket) -> io::Result<Socket> {
        let addr = socket.local_addr()?;
        let socket = Arc::new(socket);
        let stop = accepting.relay.shutdown.child_token();
        let tasks = accepting.tasks.clone();
        let task = tasks.spawn(receive(accepting, socket.clone(), stop.clone()));
        Ok(Socket {
            socket,
            addr,
            stop,
            task,
            groups: Vec::new(),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The multicast groups joined, as the page shows them.
    pub fn groups(&self) -> Vec<String> {
        self.groups.iter().map(IpAddr::to_string).collect()
    }

    /// Joins a multicast group, on the interface with address `interface` (IPv4) or index
    /// `interface` (IPv6), or the system's choice.
    pub fn join(&mut self, group: IpAddr, interface: Option<&str>) -> Result<(), String> {
        let cannot = |e: String| format!("cannot join {group}: {e}");
        if !group.is_multicast() {
            return Err(cannot("it is not a multicast address".into()));
        }
        match group {
            IpAddr::V4(group) => {
                let interface = match interface {
                    Some(text) => text.parse().map_err(|_| {
                        cannot(format!(
                            "`{text}` is not an IPv4 address of this machine's (the interface to \
                             join on)"
                        ))
                    })?,
                    None => std::net::Ipv4Addr::UNSPECIFIED,
                };
                self.socket
                    .join_multicast_v4(group, interface)
                    .map_err(|e| cannot(e.to_string()))?;
            }
            IpAddr::V6(group) => {
                let index = match interface {
                    Some(text) => text.parse().map_err(|_| {
                        cannot(format!("`{text}` is not an interface index (IPv6 groups)"))
                    })?,
                    None => 0,
                };
                self.socket
                    .join_multicast_v6(&group, index)
                    .map_err(|e| cannot(e.to_string()))?;
            }
        }
        if !self.groups.contains(&group) {
            self.groups.push(group);
        }
        Ok(())
    }

    /// Leaves a group joined with [`Socket::join`].
    pub fn leave(&mut self, group: IpAddr) -> Result<(), String> {
        if !self.groups.contains(&group) {
            return Err(format!("the UDP socket has not joined {group}"));
        }
        let left = match group {
            IpAddr::V4(g) => self
                .socket
                .leave_multicast_v4(g, std::net::Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(g) => self.socket.leave_multicast_v6(&g, 0),
        };
        left.map_err(|e| format!("cannot leave {group}: {e}"))?;
        self.groups.retain(|g| *g != group);
        Ok(())
    }

    /// Stops receiving and closes the socket; its conversations close with it.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// One accepted conversation, as the socket's task knows it.
struct Peer {
    inbox: mpsc::Sender<Bytes>,
    /// Fired by the conversation when it ends, so that the address may start a new one.
    over: CancellationToken,
}

/// Receives until `stop`: each datagram goes to its address's conversation, which opens on the
/// first one.
async fn receive(accepting: Accepting, socket: Arc<UdpSocket>, stop: CancellationToken) {
    let Accepting {
        relay,
        slots,
        tasks,
    } = accepting;
    let local = socket.local_addr().ok().map(|a| canonical(a).to_string());
    let mut peers: HashMap<SocketAddr, Peer> = HashMap::new();
    let mut buf = vec![0; MAX_DATAGRAM + 1];
    loop {
        let received = tokio::select! {
            received = socket.recv_from(&mut buf) => received,
            () = stop.cancelled() => return,
        };
        let (n, from) = match received {
            Ok(received) => received,
            // An ICMP error for an earlier send to some address: nothing to do for the socket.
            Err(_) => continue,
        };
        let from = canonical(from);
        let datagram = Bytes::copy_from_slice(&buf[..n]);
        peers.retain(|_, peer| !peer.over.is_cancelled());
        let peer = match peers.entry(from) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => {
                let permit = match slots.take() {
                    Ok(permit) => permit,
                    Err(full) => {
                        let why = format!("ignored a datagram from {from}: {full}");
                        relay
                            .hub
                            .error(Problem::new(ProblemKind::TooManyConnections, why));
                        continue;
                    }
                };
                let opened = relay.hub.open(Opening {
                    origin: Origin::Accepted,
                    transport: Transport::Udp,
                    peer: from.to_string(),
                    local: local.clone(),
                    state: ConnState::Open,
                    request: None,
                });
                let (inbox, datagrams) = mpsc::channel(INBOX);
                let over = CancellationToken::new();
                let link = Link::Shared {
                    socket: socket.clone(),
                    peer: from,
                    datagrams,
                };
                tasks.spawn(converse(relay.clone(), opened, link, permit, over.clone()));
                new.insert(Peer { inbox, over })
            }
        };
        // A conversation that cannot keep up holds the socket, as a full socket buffer would:
        // the system then drops what arrives, as UDP allows.
        let _ = peer.inbox.send(datagram).await;
    }
}

/// How a conversation's datagrams come and go.
enum Link {
    /// Through the bridge's UDP socket, which hands this conversation its address's datagrams.
    Shared {
        socket: Arc<UdpSocket>,
        peer: SocketAddr,
        datagrams: mpsc::Receiver<Bytes>,
    },
    /// Through a socket of its own, connected to the peer.
    Own(UdpSocket),
}

impl Link {
    async fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<Bytes>> {
        match self {
            Link::Shared { datagrams, .. } => Ok(datagrams.recv().await),
            Link::Own(socket) => {
                let n = socket.recv(buf).await?;
                Ok(Some(Bytes::copy_from_slice(&buf[..n])))
            }
        }
    }

    async fn send(&self, data: &[u8], broadcast: bool) -> io::Result<()> {
        let socket = match self {
            Link::Shared { socket, .. } => &**socket,
            Link::Own(socket) => socket,
        };
        if broadcast {
            socket.set_broadcast(true)?;
        }
        let sent = match self {
            Link::Shared { socket, peer, .. } => socket.send_to(data, *peer).await,
            Link::Own(socket) => socket.send(data).await,
        };
        if broadcast {
            let _ = socket.set_broadcast(false);
        }
        sent.map(drop)
    }
}

/// Dials `target` (resolved already) with UDP: a socket of its own, connected to it.
pub async fn connect(target: SocketAddr) -> io::Result<UdpSocket> {
    let any: SocketAddr = match target {
        SocketAddr::V4(_) => "0.0.0.0:0".parse().expect("an address"),
        SocketAddr::V6(_) => "[::]:0".parse().expect("an address"),
    };
    let socket = UdpSocket::bind(any).await?;
    socket.connect(target).await?;
    Ok(socket)
}

/// Runs a dialled UDP conversation on its own connected socket.
pub async fn run_dialled(
    relay: Relay,
    opened: Opened,
    socket: UdpSocket,
    permit: OwnedSemaphorePermit,
) {
    converse(
        relay,
        opened,
        Link::Own(socket),
        permit,
        CancellationToken::new(),
    )
    .await;
}

/// Relays one UDP conversation until the page disconnects it, its socket stops, or a datagram
/// ends it (the exit word); then reports the close and fires `over`.
async fn converse(
    relay: Relay,
    opened: Opened,
    mut link: Link,
    permit: OwnedSemaphorePermit,
    over: CancellationToken,
) {
    let Opened {
        id,
        origin,
        mut writes,
        settings,
        cancel,
    } = opened;
    let peer = match &link {
        Link::Shared { peer, .. } => peer.to_string(),
        Link::Own(socket) => socket
            .peer_addr()
            .map_or_else(|_| "the peer".into(), |a| canonical(a).to_string()),
    };
    let (replies, mut replied) = mpsc::unbounded_channel();
    let mut reading = Reading::new(&relay, id, origin, settings, replies);
    let mut delayed = DelayQueue::new();
    let mut buf = vec![0; MAX_DATAGRAM + 1];
    let mut told_unreachable = false;
    let reason: String = loop {
        let out = tokio::select! {
            received = link.recv(&mut buf) => match received {
                Ok(Some(datagram)) => {
                    told_unreachable = false;
                    let mut frame = BytesMut::with_capacity(RECORD_HEADER_LEN + datagram.len());
                    frame.put_bytes(0, RECORD_HEADER_LEN);
                    frame.extend_from_slice(&datagram);
                    match reading.message(frame, Marks::NONE, true).await {
                        Some(reason) => break reason,
                        None => continue,
                    }
                }
                Ok(None) => break "the bridge's UDP socket closed".into(),
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    // An ICMP "port unreachable" for a datagram sent: said once until it answers.
                    if !told_unreachable {
                        told_unreachable = true;
                        let why = format!("nothing is listening on {peer} (port unreachable)");
                        relay.hub.error(Problem::new(ProblemKind::Unreachable, why).on(id));
                    }
                    continue;
                }
                Err(e) => break format!("error while receiving: {e}"),
            },
            Some(out) = writes.recv() => out,
            Some(reply) = replied.recv() => {
                let out = Outgoing {
                    data: Bytes::from(reply.bytes),
                    from: Sender::Rule(reply.rule.into()),
                    broadcast: false,
                };
                if !reply.delay.is_zero() {
                    delayed.insert(out, reply.delay);
                    continue;
                }
                out
            }
            Some(due) = delayed.next(), if !delayed.is_empty() => due.into_inner(),
            () = cancel.cancelled() => break relay.cancel_reason().into(),
        };
        match link.send(&out.data, out.broadcast).await {
            Ok(()) => record_sent(&relay, id, &out.data, &out.from),
            Err(e) => {
                let why = match e.kind() {
                    io::ErrorKind::ConnectionRefused => {
                        format!("nothing is listening on {peer} (port unreachable)")
                    }
                    io::ErrorKind::PermissionDenied if !out.broadcast => format!(
                        "cannot send to {peer}: permission denied (a broadcast address? tick \
                         Broadcast to allow it)"
                    ),
                    _ => format!("cannot send to {peer}: {e}"),
                };
                relay
                    .hub
                    .error(Problem::new(ProblemKind::Unreachable, why).on(id));
            }
        }
    };
    drop(reading);
    relay.hub.close(id, reason);
    over.cancel();
    drop(permit);
}
