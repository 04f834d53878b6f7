//! UDP sockets: a conversation is the datagrams exchanged with one address (run by
//! [`crate::conversation::datagram`]); this module gives it a socket to talk through.
//!
//! Three ways a conversation starts:
//! - the bridge's UDP socket ([`Socket`], `--udp` or the page's `listen`) receives from an address
//!   it has no conversation with: that address is accepted, and replies go out through the same
//!   socket;
//! - a page dials with UDP while that socket is open: the conversation goes through it too
//!   ([`Shared::dial`]), as from Packet Sender's bound port, so that answers to a broadcast (or
//!   from anyone else) arrive as conversations of their own;
//! - a page dials with UDP while it is closed: the conversation gets a socket of its own,
//!   connected to the address ([`connect`]), so that an ICMP "port unreachable" comes back to
//!   it and says "nothing is listening".
//!
//! A UDP proxy (`--proxy udp:LISTEN=TARGET`) has a socket of this kind too, apart from the
//! bridge's: each address that sends to it is a conversation relayed to TARGET from a socket of
//! its own ([`crate::proxy::run_datagrams`]), bounded and ended as the others are.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use protocol::{ConnState, Origin, Transport};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::conversation::datagram::{self, Link, UdpClient};
use crate::conversation::pair::{Datagrams, Heard};
use crate::conversation::{canonical, Relay};
use crate::hub::{Opened, Opening, MAX_DATAGRAM};
use crate::proxy::{self, Forward};

/// Datagrams a conversation through the bridge's socket may have waiting before the socket
/// waits for it.
const INBOX: usize = 256;

/// The bridge's UDP socket, running.
pub struct Socket {
    shared: Shared,
    addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<()>,
    groups: Vec<Membership>,
}

/// A multicast group joined, and on which interface: leaving must name the same one.
#[derive(Clone, Copy, PartialEq)]
enum Membership {
    V4(Ipv4Addr, Ipv4Addr),
    V6(std::net::Ipv6Addr, u32),
}

impl Membership {
    fn group(self) -> IpAddr {
        match self {
            Membership::V4(group, _) => group.into(),
            Membership::V6(group, _) => group.into(),
        }
    }
}

/// What the socket's task needs: where conversations report, how many may be open, the
/// tracker their tasks join, and how long an accepted conversation may be silent.
pub struct Receiving {
    pub relay: Relay,
    pub tasks: TaskTracker,
    /// `--udp-idle`: how long an accepted conversation lasts with no datagram either way.
    pub idle: Duration,
    /// `--udp-peers`: how many accepted conversations the socket may hold. They count apart
    /// from `--max-conns`, so that a flood of datagrams from many addresses never takes the
    /// places of TCP peers and dials.
    pub peers: usize,
    /// For a UDP proxy's socket: the server each address's datagrams are relayed to.
    pub proxy: Option<Arc<Forward>>,
}

/// The bridge's UDP socket as its conversations share it: the socket, and which conversation
/// each address's datagrams go to.
#[derive(Clone)]
pub struct Shared {
    socket: Arc<UdpSocket>,
    /// Keyed by the address as the socket sees it (IPv4 peers of `[::]` as `::ffff:a.b.c.d`).
    /// Locked only to look up or change an entry, never across an await; the hub's lock may be
    /// taken while it is held, never the other way round.
    peers: Arc<Mutex<HashMap<SocketAddr, Peer>>>,
    relay: Relay,
    tasks: TaskTracker,
    /// `--udp-idle`.
    idle: Duration,
    /// A UDP proxy's server.
    proxy: Option<Arc<Forward>>,
}

/// One conversation, as the socket knows it.
struct Peer {
    inbox: mpsc::Sender<Bytes>,
    /// Fired by the conversation when it ends, so that the address may start a new one.
    over: CancellationToken,
    /// Accepted (an address that sent to the socket), not dialled: counts under
    /// `--udp-peers`, and may be ended to make room.
    accepted: bool,
    /// When its address last sent a datagram.
    last: Instant,
    /// Fired to end it, to make room for a new one.
    evict: CancellationToken,
}

impl Socket {
    /// Starts receiving on `socket`, until shutdown or [`Socket::stop`].
    pub fn spawn(receiving: Receiving, socket: UdpSocket) -> io::Result<Socket> {
        let addr = socket.local_addr()?;
        let shared = Shared {
            socket: Arc::new(socket),
            peers: Arc::default(),
            relay: receiving.relay.clone(),
            tasks: receiving.tasks.clone(),
            idle: receiving.idle,
            proxy: receiving.proxy,
        };
        let stop = receiving.relay.shutdown.child_token();
        let task = receiving
            .tasks
            .spawn(receive(shared.clone(), receiving.peers, stop.clone()));
        Ok(Socket {
            shared,
            addr,
            stop,
            task,
            groups: Vec::new(),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// For dials through this socket.
    pub fn shared(&self) -> Shared {
        self.shared.clone()
    }

    /// The multicast groups joined, as the page shows them.
    pub fn groups(&self) -> Vec<String> {
        self.groups.iter().map(|m| m.group().to_string()).collect()
    }

    /// Joins a multicast group, on the interface with address `interface` (IPv4) or index
    /// `interface` (IPv6), or the system's choice.
    pub fn join(&mut self, group: IpAddr, interface: Option<&str>) -> Result<(), String> {
        let cannot = |e: String| format!("cannot join {group}: {e}");
        if !group.is_multicast() {
            return Err(cannot(
                "it is not a multicast address (224.0.0.0/4 or ff00::/8)".into(),
            ));
        }
        let socket = &self.shared.socket;
        let membership = match group {
            IpAddr::V4(group) => {
                let interface = match interface {
                    Some(text) => text.parse().map_err(|_| {
                        cannot(format!(
                            "`{text}` is not an IPv4 address of this machine's (the interface to \
                             join on)"
                        ))
                    })?,
                    None => Ipv4Addr::UNSPECIFIED,
                };
                Membership::V4(group, interface)
            }
            IpAddr::V6(group) => {
                let index = match interface {
                    Some(text) => text.parse().map_err(|_| {
                        cannot(format!("`{text}` is not an interface index (IPv6 groups)"))
                    })?,
                    None => 0,
                };
                Membership::V6(group, index)
            }
        };
        if self.groups.iter().any(|m| m.group() == group) {
            return Err(cannot("the UDP socket has joined it already".into()));
        }
        let joined = match membership {
            Membership::V4(group, interface) => socket.join_multicast_v4(group, interface),
            Membership::V6(group, index) => socket.join_multicast_v6(&group, index),
        };
        joined.map_err(|e| cannot(e.to_string()))?;
        self.groups.push(membership);
        Ok(())
    }

    /// Leaves a group joined with [`Socket::join`].
    pub fn leave(&mut self, group: IpAddr) -> Result<(), String> {
        let Some(at) = self.groups.iter().position(|m| m.group() == group) else {
            return Err(format!("the UDP socket has not joined {group}"));
        };
        let socket = &self.shared.socket;
        let left = match self.groups[at] {
            Membership::V4(group, interface) => socket.leave_multicast_v4(group, interface),
            Membership::V6(group, index) => socket.leave_multicast_v6(&group, index),
        };
        left.map_err(|e| format!("cannot leave {group}: {e}"))?;
        self.groups.remove(at);
        Ok(())
    }

    /// Stops receiving and closes the socket; its conversations close with it.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
        // Dialled conversations hold their inboxes' other ends only through the map.
        self.shared.lock().clear();
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Peer>> {
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `target` as this socket reaches it: an IPv4 address through `[::]` as `::ffff:a.b.c.d`.
    /// Fails for an address of the other family the socket cannot reach.
    pub fn reach(&self, target: SocketAddr) -> Result<SocketAddr, String> {
        let local = self.socket.local_addr().map_err(|e| e.to_string())?;
        match (local, target) {
            (SocketAddr::V6(_), SocketAddr::V4(v4)) => Ok(SocketAddr::new(
                IpAddr::V6(v4.ip().to_ipv6_mapped()),
                v4.port(),
            )),
            (SocketAddr::V4(_), SocketAddr::V6(_)) => Err(format!(
                "the UDP socket is on {local}, IPv4 only: it cannot send to {target} (open it on \
                 [::] for both)"
            )),
            _ => Ok(target),
        }
    }

    /// The socket's address, as the page shows it.
    pub fn local(&self) -> Option<SocketAddr> {
        self.socket.local_addr().ok().map(canonical)
    }

    /// Starts a dialled conversation with `to` (as [`Shared::reach`] gives it) through the
    /// socket, and announces it open; fails if one is open with that address already.
    pub fn dial(
        &self,
        opened: Opened,
        to: SocketAddr,
        permit: OwnedSemaphorePermit,
    ) -> Result<(), String> {
        let mut peers = self.lock();
        peers.retain(|_, peer| !peer.over.is_cancelled());
        if peers.contains_key(&to) {
            let why = format!(
                "a conversation with {} is open already on the UDP socket: send in that one",
                canonical(to)
            );
            return Err(why);
        }
        if let Some(local) = self.local() {
            self.relay
                .hub
                .connected(opened.id, canonical(to), local, None);
        }
        let peer = self.start(opened, to, Some(permit));
        peers.insert(to, peer);
        Ok(())
    }

    /// Starts a conversation with `to`: dialled with a place under `--max-conns` (`permit`),
    /// or accepted, counted under `--udp-peers` by the map.
    fn start(&self, opened: Opened, to: SocketAddr, permit: Option<OwnedSemaphorePermit>) -> Peer {
        let (inbox, datagrams) = mpsc::channel(INBOX);
        let over = CancellationToken::new();
        let evict = CancellationToken::new();
        let accepted = opened.origin == Origin::Accepted;
        if let Some(forward) = &self.proxy {
            let heard = Arc::new(Heard::new());
            let client = UdpClient {
                socket: self.socket.clone(),
                peer: to,
                datagrams,
                heard: heard.clone(),
            };
            let ends = Datagrams {
                idle: self.idle,
                heard,
                evicted: evict.clone(),
                over: over.clone(),
            };
            let relay = self.relay.clone();
            let forward = forward.clone();
            self.tasks
                .spawn(proxy::run_datagrams(relay, opened, client, forward, ends));
            return Peer {
                inbox,
                over,
                accepted,
                last: Instant::now(),
                evict,
            };
        }
        let link = Link::Shared {
            socket: self.socket.clone(),
            peer: to,
            datagrams,
            evicted: evict.clone(),
        };
        // An accepted conversation has no close of its own: it ends after a silence, or it would
        // hold its place under --udp-peers for good. A dialled one lasts until the page ends it.
        let idle = (opened.origin == Origin::Accepted).then_some(self.idle);
        let relay = self.relay.clone();
        let conversation = datagram::run(relay, opened, link, idle, permit, over.clone());
        self.tasks.spawn(conversation);
        Peer {
            inbox,
            over,
            accepted,
            last: Instant::now(),
            evict,
        }
    }
}

/// Receives until `stop`: each datagram goes to its address's conversation, which opens on the
/// first one. At most `max_peers` accepted conversations at once: past it, the longest silent
/// one ends to make room.
async fn receive(shared: Shared, max_peers: usize, stop: CancellationToken) {
    let local = shared.local().map(|a| a.to_string());
    let relay = shared.relay.clone();
    let mut buf = vec![0; MAX_DATAGRAM + 1];
    loop {
        let received = tokio::select! {
            received = shared.socket.recv_from(&mut buf) => received,
            () = stop.cancelled() => return,
        };
        let (n, from) = match received {
            Ok(received) => received,
            // An ICMP error for an earlier send to some address: nothing to do for the socket.
            Err(_) => continue,
        };
        let datagram = Bytes::copy_from_slice(&buf[..n]);
        let inbox = {
            let mut peers = shared.lock();
            peers.retain(|_, peer| !peer.over.is_cancelled());
            match peers.get_mut(&from) {
                Some(peer) => {
                    peer.last = Instant::now();
                    peer.inbox.clone()
                }
                None => {
                    make_room(&mut peers, max_peers);
                    let proxy = shared.proxy.as_ref().map(|forward| forward.info());
                    let opened = relay.hub.open(Opening {
                        origin: Origin::Accepted,
                        transport: Transport::Udp,
                        peer: canonical(from).to_string(),
                        local: local.clone(),
                        // A proxy's opens once its own socket to the server is connected.
                        state: match proxy {
                            Some(_) => ConnState::Connecting,
                            None => ConnState::Open,
                        },
                        request: None,
                        proxy,
                    });
                    let peer = shared.start(opened, from, None);
                    let inbox = peer.inbox.clone();
                    peers.insert(from, peer);
                    inbox
                }
            }
        };
        // A conversation that cannot keep up holds the socket, as a full socket buffer would:
        // the system then drops what arrives, as UDP allows.
        let _ = inbox.send(datagram).await;
    }
}

/// Ends the longest silent accepted conversation while `max` or more are held, so that a new
/// one fits. Its address leaves the map at once: a datagram from it starts a new conversation.
fn make_room(peers: &mut HashMap<SocketAddr, Peer>, max: usize) {
    while peers.values().filter(|p| p.accepted).count() >= max {
        let oldest = peers
            .iter()
            .filter(|(_, p)| p.accepted)
            .min_by_key(|(_, p)| p.last)
            .map(|(addr, _)| *addr);
        let Some(peer) = oldest.and_then(|addr| peers.remove(&addr)) else {
            return;
        };
        peer.evict.cancel();
    }
}

/// A dialled conversation's own socket, connected to its peer.
pub struct OwnSocket {
    pub(crate) socket: UdpSocket,
    /// The peer is a broadcast address: every send must allow it. (Its answers come from each
    /// host's own address, which this socket does not hear: the bridge's socket does.)
    pub(crate) broadcast: bool,
}

impl OwnSocket {
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.peer_addr()
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }
}

/// Dials `target` (resolved already) with UDP: a socket of its own, connected to it.
pub async fn connect(target: SocketAddr) -> io::Result<OwnSocket> {
    let any: SocketAddr = match target {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(any).await?;
    let broadcast = match socket.connect(target).await {
        // A broadcast address: connecting to one needs the permission each send will ask for.
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            socket.set_broadcast(true)?;
            socket.connect(target).await?;
            true
        }
        connected => connected.map(|()| false)?,
    };
    Ok(OwnSocket { socket, broadcast })
}
