//! Dials a server for a page: TCP, TLS over TCP, or UDP. The connection is announced at once, as
//! connecting (see [`crate::commands`]), so the page sees its request taken; it then opens, or
//! closes with the precise reason it failed (for TLS: which check the certificate failed).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use protocol::{address, Problem, ProblemKind, Transport};
use tokio::net::{lookup_host, TcpStream};
use tokio::sync::OwnedSemaphorePermit;

use crate::conversation::{canonical, datagram, stream, Relay};
use crate::hub::Opened;
use crate::tls::Connector;
use crate::udp;

/// Where to dial, how, and for how long to try.
pub struct Dial {
    /// A name or an IP literal, without brackets.
    pub host: String,
    pub port: u16,
    pub via: Via,
    pub timeout: Duration,
    /// The bridge's own HTTP address, refused: a WebSocket upgrade sent over such a connection
    /// would make the bridge its own page, each record it sends a record it receives, without
    /// end.
    pub own_http: Option<SocketAddr>,
}

/// How a dial speaks to its server.
#[derive(Clone)]
pub enum Via {
    Tcp,
    /// TLS over TCP, checking the server's certificate as the connector does.
    Tls(Connector),
    /// UDP: through the bridge's UDP socket while it is open, else from a socket of its own.
    Udp(Option<udp::Shared>),
}

impl Via {
    pub fn transport(&self) -> Transport {
        match self {
            Via::Tcp => Transport::Tcp,
            Via::Tls(_) => Transport::Tls,
            Via::Udp(_) => Transport::Udp,
        }
    }
}

/// Connects, then converses; or closes the connection with the reason it could not connect.
pub async fn run(relay: Relay, dial: Dial, opened: Opened, permit: OwnedSemaphorePermit) {
    let id = opened.id;
    let target = address::join(&dial.host, dial.port);
    let attempt = tokio::time::timeout(dial.timeout, connect(&dial));
    let result = tokio::select! {
        result = attempt => result,
        () = opened.cancel.cancelled() => return relay.hub.close(id, relay.cancel_reason().into()),
    };
    let failure = match result {
        Err(_) => timed_out(&dial, &target),
        Ok(Err(failure)) => failure,
        Ok(Ok(Reached::Shared(shared, to))) => match shared.dial(opened, to, permit) {
            Ok(()) => return,
            Err(why) => why,
        },
        Ok(Ok(Reached::Udp(socket))) => match (socket.peer_addr(), socket.local_addr()) {
            (Ok(peer), Ok(local)) => {
                relay
                    .hub
                    .connected(id, canonical(peer), canonical(local), None);
                return datagram::run_own(relay, opened, socket, permit).await;
            }
            (Err(e), _) | (_, Err(e)) => format!("lost {target} at once: {e}"),
        },
        Ok(Ok(Reached::Tcp(stream))) => match (stream.peer_addr(), stream.local_addr()) {
            (Ok(peer), Ok(local)) => {
                let (peer, local) = (canonical(peer), canonical(local));
                let Via::Tls(connector) = &dial.via else {
                    relay.hub.connected(id, peer, local, None);
                    return stream::run(relay, opened, stream, permit).await;
                };
                let handshake = tokio::select! {
                    handshake = connector.connect(stream, &dial.host) => handshake,
                    () = opened.cancel.cancelled() => {
                        return relay.hub.close(id, relay.cancel_reason().into())
                    }
                };
                match handshake {
                    Ok((stream, info)) => {
                        relay.hub.connected(id, peer, local, Some(info));
                        let stream = tokio_rustls::TlsStream::Client(stream);
                        return stream::run(relay, opened, stream, permit).await;
                    }
                    Err(failed) => failed.reason,
                }
            }
            (Err(e), _) | (_, Err(e)) => format!("lost {target} at once: {e}"),
        },
    };
    relay.hub.close(id, failure.clone());
    relay
        .hub
        .error(Problem::new(ProblemKind::DialFailed, failure).on(id));
}

/// Dials a TCP server within the dial's timeout, for a proxy's client: the stream (tuned as
/// every connection is), or why it could not be reached, in words.
pub async fn tcp(dial: &Dial) -> Result<TcpStream, String> {
    match within(dial).await? {
        Reached::Tcp(stream) => Ok(stream),
        _ => Err(format!("{} was not reached over TCP", dial.target())),
    }
}

/// Dials a UDP server from a socket of its own within the dial's timeout, for a UDP proxy's
/// client (`via` is `Via::Udp(None)`): the socket, connected to it, or why it could not be reached, in words.
pub async fn udp(dial: &Dial) -> Result<udp::OwnSocket, String> {
    match within(dial).await? {
        Reached::Udp(socket) => Ok(socket),
        _ => Err(format!("{} was not reached over UDP", dial.target())),
    }
}

async fn within(dial: &Dial) -> Result<Reached, String> {
    match tokio::time::timeout(dial.timeout, connect(dial)).await {
        Err(_) => Err(timed_out(dial, &dial.target())),
        Ok(reached) => reached,
    }
}

impl Dial {
    fn target(&self) -> String {
        address::join(&self.host, self.port)
    }
}

fn timed_out(dial: &Dial, target: &str) -> String {
    format!(
        "timed out after {} s connecting to {target}",
        dial.timeout.as_secs_f64()
    )
}

/// What a dial reached: a TCP stream (TLS is done over it next), a UDP socket of its own, or
/// an address to reach through the bridge's UDP socket.
enum Reached {
    Tcp(TcpStream),
    Udp(udp::OwnSocket),
    Shared(udp::Shared, SocketAddr),
}

/// Resolves the host and tries each of its addresses in turn (IPv6 and IPv4 alike); on
/// failure, says what happened at each.
async fn connect(dial: &Dial) -> Result<Reached, String> {
    let host = &dial.host;
    let addrs: Vec<SocketAddr> = lookup_host((host.as_str(), dial.port))
        .await
        .map_err(|e| format!("no such host: {host} ({e})"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("no such host: {host} (it has no addresses)"));
    }
    let mut failures = Vec::new();
    for addr in addrs {
        let connected = match &dial.via {
            Via::Udp(Some(shared)) => match shared.reach(addr) {
                Ok(to) => return Ok(Reached::Shared(shared.clone(), to)),
                Err(why) => {
                    failures.push(why);
                    continue;
                }
            },
            Via::Udp(None) => udp::connect(addr).await.map(Reached::Udp),
            Via::Tcp | Via::Tls(_) => match TcpStream::connect(addr).await {
                Ok(stream) if reaches_itself(&stream, dial.own_http) => {
                    failures.push(format!(
                        "{addr} is this bridge's own HTTP address (--http), where its page is \
                         served: connected there, the bridge would feed itself its own records; \
                         dial its TCP listener, or another port"
                    ));
                    continue;
                }
                Ok(stream) => {
                    stream::tune(&stream);
                    Ok(Reached::Tcp(stream))
                }
                Err(e) => Err(e),
            },
        };
        match connected {
            Ok(connected) => return Ok(connected),
            Err(e) => failures.push(describe(addr, &e)),
        }
    }
    Err(failures.join("; "))
}

/// Whether `stream` reached the bridge's own HTTP server: its peer is at `own`'s port on an
/// address of this machine (the one the connection left from), and `own` listens there. This
/// holds however the address was written: a name, loopback, or one of the machine's addresses.
fn reaches_itself(stream: &TcpStream, own: Option<SocketAddr>) -> bool {
    let (Some(own), Ok(peer), Ok(local)) = (own, stream.peer_addr(), stream.local_addr()) else {
        return false;
    };
    let (peer, local) = (canonical(peer), canonical(local));
    let own_ip = own.ip().to_canonical();
    peer.port() == own.port()
        && (peer.ip() == own_ip
            || own_ip.is_unspecified() && (peer.ip() == local.ip() || peer.ip().is_loopback()))
}

/// A failed connect, in words that say what to check.
fn describe(addr: SocketAddr, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => format!("connection refused by {addr}"),
        io::ErrorKind::NetworkUnreachable => format!("network unreachable: cannot reach {addr}"),
        io::ErrorKind::HostUnreachable => format!("host unreachable: {addr}"),
        io::ErrorKind::TimedOut => format!("timed out connecting to {addr}"),
        io::ErrorKind::AddrNotAvailable => {
            format!("cannot connect to {addr}: address not available")
        }
        _ => format!("cannot connect to {addr}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unknown_host_is_named() {
        let dial = Dial {
            host: "no-such-host.invalid".into(),
            port: 80,
            via: Via::Tcp,
            timeout: Duration::from_secs(5),
            own_http: None,
        };
        let Err(err) = connect(&dial).await else {
            panic!("it resolved");
        };
        assert!(
            err.starts_with("no such host: no-such-host.invalid ("),
            "{err}"
        );
    }
}
