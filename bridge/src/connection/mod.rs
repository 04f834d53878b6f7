//! One task per TCP connection: a reader that records what the peer sends, cut into messages as
//! the connection's framing says and answered by the auto-reply rules ([`reader`]), and a writer
//! that writes and records what pages and rules send ([`writer`]), until either side ends the
//! conversation.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};
use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::hub::{Hub, Opened};

mod reader;
mod writer;

pub use reader::Reading;
use writer::Sending;
pub use writer::{record_sent, Outbox};

/// Silence after which TCP starts probing the peer...
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
/// ...how often it probes...
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// ...and how many unanswered probes end the connection.
const KEEPALIVE_RETRIES: u32 = 6;

/// What every connection's task needs: the hub it reports to, the exit word, and the bridge's
/// shutdown (which tells a shutdown from a page's disconnect).
#[derive(Clone)]
pub struct Relay {
    pub hub: Hub,
    pub exit_word: Option<Arc<[u8]>>,
    pub shutdown: CancellationToken,
    /// `--udp-idle`: how long an accepted UDP conversation lasts with no datagram either way.
    pub udp_idle: Duration,
}

impl Relay {
    /// Why a connection's cancel token fired: shutdown cancels them all, a page one.
    pub fn cancel_reason(&self) -> &'static str {
        if self.shutdown.is_cancelled() {
            "the bridge shut down"
        } else {
            "disconnected from the page"
        }
    }
}

/// One slot per open connection, accepted or dialled: `--max-conns`.
#[derive(Clone)]
pub struct Slots {
    free: Arc<Semaphore>,
    max: usize,
}

/// No slot is free.
pub struct Full {
    max: usize,
}

impl Slots {
    pub fn new(max: usize) -> Slots {
        let max = max.min(Semaphore::MAX_PERMITS);
        Slots {
            free: Arc::new(Semaphore::new(max)),
            max,
        }
    }

    /// A slot, held for as long as the permit lives.
    pub fn take(&self) -> Result<OwnedSemaphorePermit, Full> {
        self.free
            .clone()
            .try_acquire_owned()
            .map_err(|_| Full { max: self.max })
    }
}

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the bridge already holds {} connections (--max-conns)",
            self.max
        )
    }
}

/// A byte stream a connection relays: plain TCP, or TLS over TCP. Splitting it gives a half to
/// read and a half to write, which run side by side.
pub trait Stream: Send + 'static {
    type Read: AsyncRead + Send + Unpin;
    type Write: AsyncWrite + Send + Unpin;
    fn split(self) -> (Self::Read, Self::Write);
}

impl Stream for TcpStream {
    type Read = OwnedReadHalf;
    type Write = OwnedWriteHalf;
    fn split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        self.into_split()
    }
}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for tokio_rustls::TlsStream<T> {
    type Read = ReadHalf<Self>;
    type Write = WriteHalf<Self>;
    fn split(self) -> (ReadHalf<Self>, WriteHalf<Self>) {
        tokio::io::split(self)
    }
}

/// An address as people write it: an IPv4 peer of a dual-stack socket shows as IPv4, not as
/// `[::ffff:a.b.c.d]`.
pub fn canonical(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    std::net::SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// Sets what every TCP connection needs, before TLS (if any) wraps it: no Nagle delay, and
/// keepalive, so that a peer that vanishes without a word (unplugged, powered off) is noticed
/// within minutes.
pub fn tune(stream: &TcpStream) {
    let _ = stream.set_nodelay(true);
    let keepalive = TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL)
        .with_retries(KEEPALIVE_RETRIES);
    let _ = SockRef::from(stream).set_tcp_keepalive(&keepalive);
}

/// Runs a connected stream until it closes, then reports why. The permit counts it against
/// `--max-conns` for as long as it lives.
pub async fn run(relay: Relay, opened: Opened, stream: impl Stream, permit: OwnedSemaphorePermit) {
    converse_and_close(relay, opened, stream).await;
    drop(permit);
}

/// Relays until the conversation ends, then tells the hub why.
pub async fn converse_and_close(relay: Relay, opened: Opened, stream: impl Stream) {
    let id = opened.id;
    let reason = converse(&relay, opened, stream).await;
    relay.hub.close(id, reason);
}

/// Relays both ways until one side stops, and returns the reason in words. The socket is
/// closed when this returns, so the peer has seen its end before anyone hears of the close.
async fn converse(relay: &Relay, opened: Opened, stream: impl Stream) -> String {
    let Opened {
        id,
        origin,
        writes,
        replies,
        settings,
        cancel,
    } = opened;
    let (read_half, write_half) = stream.split();
    let mut reading = Reading::new(relay, id, origin, settings, replies);
    let mut outbox = Outbox::new(writes);
    let mut sending = Sending::default();
    let reason = tokio::select! {
        reason = reading.run(read_half) => reason,
        reason = writer::write(relay, id, write_half, &mut outbox, &mut sending) => reason,
        () = cancel.cancelled() => relay.cancel_reason().into(),
    };
    // What the connection's end cut short is recorded still: a message not yet ended, and what
    // the socket took of a send (the rest of it counts as waiting, and the close says so).
    reading.finish().await;
    sending.finish(relay, id);
    reason
}

/// The seed's convention: a message equal to the exit word, less one trailing line ending.
fn is_exit(message: &[u8], exit: Option<&[u8]>) -> bool {
    let Some(word) = exit else {
        return false;
    };
    let line = message
        .strip_suffix(b"\r\n")
        .or_else(|| message.strip_suffix(b"\n"))
        .or_else(|| message.strip_suffix(b"\r"))
        .unwrap_or(message);
    line == word
}

/// An I/O error on an open connection, in words.
fn describe(doing: &str, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionReset => "the peer reset the connection".into(),
        io::ErrorKind::BrokenPipe => "the peer is gone (broken pipe)".into(),
        io::ErrorKind::ConnectionAborted => "the connection was aborted".into(),
        io::ErrorKind::TimedOut => "the peer stopped answering (timed out)".into(),
        _ => format!("error while {doing}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::is_exit;

    #[test]
    fn exit_word_matches_one_line_exactly() {
        let exit = Some(&b"exit"[..]);
        for yes in [&b"exit"[..], b"exit\n", b"exit\r\n", b"exit\r"] {
            assert!(is_exit(yes, exit), "{yes:?}");
        }
        for no in [
            &b"Exit"[..],
            b"exit\n\n",
            b" exit",
            b"exit now",
            b"",
            b"hi\nexit\n",
        ] {
            assert!(!is_exit(no, exit), "{no:?}");
        }
        assert!(!is_exit(b"exit\n", None));
    }
}
