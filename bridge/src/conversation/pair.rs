//! A proxy's conversation: a client the bridge accepted and the server it dialled for that
//! client, two sockets relayed to each other and shown as one conversation. Either is TCP or
//! TLS over TCP ([`Relayed`]), or both are UDP: the datagrams of one client address, handed over
//! by the proxy's socket, and a socket of the conversation's own connected to the server, one
//! datagram a read and a write ([`super::datagram::UdpClient`], [`super::datagram::UdpServer`]).
//! The relay is the same for every kind, monomorphised for each pair of kinds, so that TCP to
//! TCP pays nothing for the others.
//!
//! Each side's reading ([`Reading::read`]) records what it reads (cut into messages by the
//! conversation's framing, which decides only what is recorded) and writes each read on as it
//! came, at once, to the other side's socket, which it shares (one write at a time) with what
//! pages inject toward that side. So each direction keeps its order, and what the bridge holds
//! is bounded by one read a side: a peer that stops reading fills its socket, and then the other
//! side is not read any more (its TCP holds the bytes, and tells its sender to wait), while the
//! opposite direction goes on. Each way has its [`super::passage::Passage`], the one place that
//! decides what becomes of each message passing that way; while it has nothing to decide, reads
//! go on whole. A read goes on within the task that read it, with no hand-over to
//! another, which keeps a round trip close to a plain relay's. Pages get the records as from any
//! conversation: one that reads slowly is left behind, never waited for past a quarter of a
//! second ([`crate::backpressure`]).
//!
//! An end of file on one side is passed on as one (a half-close, FIN), and the other direction
//! goes on until it ends too. A reset is passed on as a reset. Anything else (a failed socket, a
//! page's disconnect, shutdown) closes both. A UDP pair has no end of its own: it ends after
//! `--udp-idle` with no datagram either way, or when its socket lets it go ([`Datagrams`]).
//! The exit word and the auto-reply rules do not
//! apply: a proxy does not speak for either side.

use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::datagram::{self, UdpClient, UdpServer};
use super::reading::{Ended, Onward, Readable};
use super::stream::describe;
use super::writing::{write_one, Outbox, Sending};
use super::{Pair, Relay};
use crate::hub::{Opened, ProxySide};
use crate::tls::Greeted;
use crate::when_woken::WhenWoken;

/// A socket a proxy relays: two halves borrowed for the relay, one read and one written side
/// by side; and a way to end it with a reset, as the other side's peer ended its own.
pub trait Relayed: Send {
    type Read<'a>: Readable + Send
    where
        Self: 'a;
    type Write<'a>: AsyncWrite + Unpin + Send
    where
        Self: 'a;
    /// One datagram a read: each read must have room for the largest.
    const DATAGRAMS: bool = false;
    fn halves(&mut self) -> (Self::Read<'_>, Self::Write<'_>);
    /// Makes the socket's close a reset (where it has a TCP connection).
    fn reset(&self);
}

impl Relayed for TcpStream {
    type Read<'a> = tokio::net::tcp::ReadHalf<'a>;
    type Write<'a> = tokio::net::tcp::WriteHalf<'a>;
    fn halves(&mut self) -> (Self::Read<'_>, Self::Write<'_>) {
        self.split()
    }
    fn reset(&self) {
        let _ = SockRef::from(self).set_linger(Some(Duration::ZERO));
    }
}

impl<T: Relayed> Relayed for Box<T> {
    type Read<'a>
        = T::Read<'a>
    where
        Self: 'a;
    type Write<'a>
        = T::Write<'a>
    where
        Self: 'a;
    const DATAGRAMS: bool = T::DATAGRAMS;
    fn halves(&mut self) -> (Self::Read<'_>, Self::Write<'_>) {
        (**self).halves()
    }
    fn reset(&self) {
        (**self).reset();
    }
}

/// The TCP connection a TLS stream speaks over.
pub trait OverTcp {
    fn tcp(&self) -> &TcpStream;
}

impl OverTcp for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl OverTcp for Greeted<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref()
    }
}

impl<IO> Relayed for tokio_rustls::TlsStream<IO>
where
    IO: OverTcp + AsyncRead + AsyncWrite + Unpin + Send,
{
    type Read<'a>
        = tokio::io::ReadHalf<&'a mut Self>
    where
        Self: 'a;
    type Write<'a>
        = tokio::io::WriteHalf<&'a mut Self>
    where
        Self: 'a;
    fn halves(&mut self) -> (Self::Read<'_>, Self::Write<'_>) {
        tokio::io::split(self)
    }
    fn reset(&self) {
        self.get_ref().0.tcp().reset();
    }
}

/// What ends a UDP proxy's conversation besides its sides: a silence (`--udp-idle`), or its
/// socket letting it go to make room for another (`--udp-peers`).
pub struct Datagrams {
    pub idle: Duration,
    /// When a datagram last went either way.
    pub heard: Arc<Heard>,
    /// Fired when the socket ends the conversation to make room.
    pub evicted: CancellationToken,
    /// Fired once the conversation has ended, so that its address may start a new one.
    pub over: CancellationToken,
}

/// When a datagram last went either way, as the sides note it (from poll functions, hence
/// an atomic rather than a lock).
#[derive(Debug)]
pub struct Heard {
    since: Instant,
    millis: AtomicU64,
}

impl Heard {
    pub fn new() -> Heard {
        Heard {
            since: Instant::now(),
            millis: AtomicU64::new(0),
        }
    }

    /// A datagram went now.
    pub fn now(&self) {
        let millis = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.millis.store(millis, Ordering::Relaxed);
    }

    pub fn last(&self) -> Instant {
        self.since + Duration::from_millis(self.millis.load(Ordering::Relaxed))
    }
}

impl Default for Heard {
    fn default() -> Heard {
        Heard::new()
    }
}

/// Why a UDP pair ended: its silence, or its socket letting it go.
async fn udp_end(d: &Datagrams) -> String {
    loop {
        let due = d.heard.last() + d.idle;
        tokio::select! {
            () = tokio::time::sleep_until(due.into()) => {
                if d.heard.last() + d.idle <= Instant::now() {
                    return datagram::silent(d.idle);
                }
            }
            () = d.evicted.cancelled() => return datagram::EVICTED.into(),
        }
    }
}

/// Relays a proxy's client and server until the conversation ends, then tells the hub why.
pub async fn converse_and_close<C: Relayed, S: Relayed>(
    relay: Relay,
    opened: Opened,
    client: C,
    server: S,
) {
    let id = opened.id;
    let reason = converse(&relay, opened, client, server).await;
    relay.hub.close(id, reason);
}

/// The same for a UDP pair, which also ends as `datagrams` say. Raced here rather than inside
/// [`converse`], so that a stream pair's task carries no room for a UDP pair's timer: what a
/// UDP pair's end cuts short is nothing, each datagram being read and written whole.
pub async fn converse_datagrams_and_close(
    relay: Relay,
    opened: Opened,
    client: UdpClient,
    server: UdpServer,
    datagrams: Datagrams,
) {
    let id = opened.id;
    let reason = tokio::select! {
        reason = converse(&relay, opened, client, server) => reason,
        reason = udp_end(&datagrams) => reason,
    };
    relay.hub.close(id, reason);
}

/// How the conversation ended: which side, and how.
struct End {
    side: ProxySide,
    how: Ended,
}

/// Relays both ways until both sides have closed, or one fails, and returns the reason in
/// words. Both sockets are closed (or reset) when this returns.
async fn converse<C: Relayed, S: Relayed>(
    relay: &Relay,
    opened: Opened,
    mut client: C,
    mut server: S,
) -> String {
    // A client's `exit` is for its server to hear, not for the bridge to act on.
    let relay = &Relay {
        exit_word: None,
        ..relay.clone()
    };
    let Pair {
        id,
        client: mut client_side,
        server: mut server_side,
        cancel,
    } = Pair::new(relay, opened);
    let mut client_sending = Sending::default();
    let mut server_sending = Sending::default();
    let ended = {
        let (client_read, client_write) = client.halves();
        let (server_read, server_write) = server.halves();
        let to_client = Mutex::new(Onward {
            socket: client_write,
            closed: false,
        });
        let to_server = Mutex::new(Onward {
            socket: server_write,
            closed: false,
        });
        // Each part is polled only when what it waits on woke the task.
        let mut up = pin!(WhenWoken::new(client_side.reading.read(
            client_read,
            Some(&to_server),
            C::DATAGRAMS
        )));
        let mut down = pin!(WhenWoken::new(server_side.reading.read(
            server_read,
            Some(&to_client),
            S::DATAGRAMS
        )));
        let mut cancelled = pin!(WhenWoken::new(cancel.cancelled()));
        let mut inject_server = pin!(WhenWoken::new(inject(
            relay,
            (id, ProxySide::Server),
            &to_server,
            &mut server_side.outbox,
            &mut server_sending,
        )));
        let mut inject_client = pin!(WhenWoken::new(inject(
            relay,
            (id, ProxySide::Client),
            &to_client,
            &mut client_side.outbox,
            &mut client_sending,
        )));
        let (mut up_done, mut down_done) = (false, false);
        let mut first_closed = None;
        loop {
            let mut closed = |side: ProxySide| {
                first_closed.get_or_insert(side);
                relay.hub.half_closed(id, side);
            };
            tokio::select! {
                ended = &mut up, if !up_done => {
                    up_done = true;
                    match ended {
                        Ended::Closed => closed(ProxySide::Client),
                        Ended::Onward(e) => break Some(End { side: ProxySide::Server, how: Ended::Failed(e) }),
                        how => break Some(End { side: ProxySide::Client, how }),
                    }
                }
                ended = &mut down, if !down_done => {
                    down_done = true;
                    match ended {
                        Ended::Closed => closed(ProxySide::Server),
                        Ended::Onward(e) => break Some(End { side: ProxySide::Client, how: Ended::Failed(e) }),
                        how => break Some(End { side: ProxySide::Server, how }),
                    }
                }
                how = &mut inject_server => break Some(End { side: ProxySide::Server, how }),
                how = &mut inject_client => break Some(End { side: ProxySide::Client, how }),
                () = &mut cancelled => break None,
            }
            if up_done && down_done {
                let first = first_closed.unwrap_or(ProxySide::Client);
                let reason = format!(
                    "the {} closed the connection, then the {}",
                    first.name(),
                    first.other().name()
                );
                break Some(End {
                    side: first,
                    how: Ended::Over(reason),
                });
            }
        }
    };
    // What the end cut short is recorded still: a message not yet ended, and what a socket
    // took of a send.
    client_side.reading.finish().await;
    server_side.reading.finish().await;
    client_sending.finish(relay, id, client_side.outbox.record_as);
    server_sending.finish(relay, id, server_side.outbox.record_as);
    let Some(End { side, how }) = ended else {
        return relay.cancel_reason().into();
    };
    let other = side.other();
    match how {
        Ended::Over(reason) => reason,
        Ended::Failed(e) if e.kind() == io::ErrorKind::ConnectionReset => {
            // Passed on as it came: the other side's peer sees a reset, not an orderly end.
            match other {
                ProxySide::Client => client.reset(),
                ProxySide::Server => server.reset(),
            }
            format!(
                "the {} reset the connection; the bridge reset the {}'s in turn",
                side.name(),
                other.name()
            )
        }
        Ended::Failed(e) | Ended::Onward(e) => format!(
            "{}; the bridge closed the {}'s connection",
            as_side(&describe("relaying", &e), side),
            other.name()
        ),
        Ended::Closed => unreachable!("a side that closes is half-closed, not ended"),
    }
}

/// Writes what pages send toward one side, between what the other side's reading writes
/// there; returns only when writing fails. Once the other side has closed its sending side and
/// this socket's was closed in turn, what is still queued is not written (the hub refuses new
/// sends to it by then).
async fn inject(
    relay: &Relay,
    (id, side): (protocol::ConnId, ProxySide),
    socket: &Mutex<Onward<impl AsyncWrite + Unpin>>,
    outbox: &mut Outbox,
    sending: &mut Sending,
) -> Ended {
    loop {
        let out = outbox.next().await;
        let mut onward = socket.lock().await;
        if onward.closed {
            relay.hub.unsent(id, out.data.len());
            continue;
        }
        if let Err(why) = write_one(
            relay,
            id,
            &mut onward.socket,
            out,
            outbox.record_as,
            sending,
        )
        .await
        {
            return Ended::Over(as_side(&why, side));
        }
    }
}

/// A socket's failure, said of the side it happened on: "the peer" is the client or the server.
fn as_side(words: &str, side: ProxySide) -> String {
    let who = format!("the {}", side.name());
    match words.strip_prefix("the peer") {
        Some(rest) => format!("{who}{rest}"),
        None => format!("{who}'s side: {words}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_names_its_side() {
        assert_eq!(
            as_side("the peer is gone (broken pipe)", ProxySide::Server),
            "the server is gone (broken pipe)"
        );
        assert_eq!(
            as_side("error while relaying: no route", ProxySide::Client),
            "the client's side: error while relaying: no route"
        );
    }
}
