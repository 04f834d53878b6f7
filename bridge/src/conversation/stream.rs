//! A stream conversation: TCP, or TLS over TCP. Its side reads and writes at once, a read half
//! and a write half side by side, until either ends the conversation.

use std::io;
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};
use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

use super::reading::Readable;
use super::writing::{self, Sending};
use super::{Conversation, Relay};
use crate::hub::Opened;
use crate::when_woken::WhenWoken;

/// Silence after which TCP starts probing the peer...
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
/// ...how often it probes...
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// ...and how many unanswered probes end the connection.
const KEEPALIVE_RETRIES: u32 = 6;

/// A byte stream a connection relays: plain TCP, or TLS over TCP. Splitting it gives a half to
/// read and a half to write, which run side by side.
pub trait Stream: Send + 'static {
    type Read: Readable + Send;
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
    let Conversation {
        id,
        mut side,
        cancel,
    } = Conversation::new(relay, opened);
    let (read_half, write_half) = stream.split();
    let mut sending = Sending::default();
    let writing = writing::write(relay, id, write_half, &mut side.outbox, &mut sending);
    // Reading and writing are each polled only when what they wait on woke the task.
    let reason = tokio::select! {
        reason = WhenWoken::new(side.reading.run(read_half)) => reason,
        reason = WhenWoken::new(writing) => reason,
        () = WhenWoken::new(cancel.cancelled()) => relay.cancel_reason().into(),
    };
    // What the connection's end cut short is recorded still: a message not yet ended, and what
    // the socket took of a send (the rest of it counts as waiting, and the close says so).
    side.reading.finish().await;
    sending.finish(relay, id, side.outbox.record_as);
    reason
}

/// An I/O error on an open connection, in words.
pub(super) fn describe(doing: &str, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionReset => "the peer reset the connection".into(),
        io::ErrorKind::BrokenPipe => "the peer is gone (broken pipe)".into(),
        io::ErrorKind::ConnectionAborted => "the connection was aborted".into(),
        io::ErrorKind::TimedOut => "the peer stopped answering (timed out)".into(),
        _ => format!("error while {doing}: {e}"),
    }
}
