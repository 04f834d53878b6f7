//! One task per TCP connection: a reader that records what the peer sends, a writer that writes
//! and records what pages send, until either side ends the conversation.
//!
//! The reader reads straight into the buffer that becomes the record frame (header room first),
//! so the bytes of a large read are never copied on their way to the history and the pages.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use protocol::{ConnId, Flow, RECORD_HEADER_LEN};
use socket2::{SockRef, TcpKeepalive};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::hub::{Hub, Opened};

/// Reads start this small, so that an idle connection holds little memory...
const MIN_READ: usize = 4 * 1024;
/// ...and grow, while reads fill them, up to this.
const MAX_READ: usize = 64 * 1024;

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

/// Runs a connected socket until it closes, then reports why. The permit counts it against
/// `--max-conns` for as long as it lives.
pub async fn run(relay: Relay, opened: Opened, stream: TcpStream, permit: OwnedSemaphorePermit) {
    let id = opened.id;
    // A peer that vanishes without a word (unplugged, powered off) is noticed within minutes.
    let keepalive = TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL)
        .with_retries(KEEPALIVE_RETRIES);
    let _ = SockRef::from(&stream).set_tcp_keepalive(&keepalive);
    let reason = converse(&relay, opened, stream).await;
    relay.hub.close(id, reason);
    drop(permit);
}

/// Relays both ways until one side stops, and returns the reason in words. The socket is
/// closed when this returns, so the peer has seen its end before anyone hears of the close.
async fn converse(relay: &Relay, opened: Opened, stream: TcpStream) -> String {
    let Opened { id, writes, cancel } = opened;
    let exit = relay.exit_word.as_deref();
    let (reader, writer) = stream.into_split();
    let mut sending = Sending::default();
    let reason = tokio::select! {
        reason = read(&relay.hub, id, reader, exit) => reason,
        reason = write(&relay.hub, id, writer, writes, exit, &mut sending) => reason,
        () = cancel.cancelled() => relay.cancel_reason().into(),
    };
    // A send cut off mid-write: what reached the socket is recorded as sent; the rest still
    // counts as waiting, and the close says it was never sent.
    if let Some(written) = sending.written() {
        record_sent(&relay.hub, id, &written);
    }
    reason
}

async fn read(hub: &Hub, id: ConnId, mut reader: OwnedReadHalf, exit: Option<&[u8]>) -> String {
    let mut buf = BytesMut::new();
    let mut want = MIN_READ;
    loop {
        // Reading waits, rather than anything received being lost, while pages that are still
        // reading catch up, and (below) until the transcript has room for what was read.
        hub.pace().await;
        buf.reserve(RECORD_HEADER_LEN + want);
        buf.put_bytes(0, RECORD_HEADER_LEN);
        let n = match reader.read_buf(&mut (&mut buf).limit(want)).await {
            Ok(0) => return "the peer closed the connection".into(),
            Ok(n) => n,
            Err(e) => return describe("reading", &e),
        };
        want = if n == want {
            (want * 2).min(MAX_READ)
        } else if n < want / 4 {
            (want / 2).max(MIN_READ)
        } else {
            want
        };
        // A read that filled most of the buffer becomes the record as it is (`split` hands over
        // the filled part, with no copy). A short one is copied into a frame of its own size:
        // held in the history, it would otherwise pin the whole buffer, 4 KiB or more, for every
        // few bytes that a chatty peer sends.
        let frame = if n >= want / 2 {
            buf.split()
        } else {
            let frame = BytesMut::from(&buf[..]);
            buf.clear();
            frame
        };
        let said_exit = is_exit(&frame[RECORD_HEADER_LEN..], exit);
        let room = hub.transcript_room(frame.len()).await;
        hub.record(id, Flow::Rx, frame);
        drop(room);
        if said_exit {
            return "the peer said exit".into();
        }
    }
}

/// The send being written, and how much of it the socket has taken: what a disconnect in the
/// middle of it must still record.
#[derive(Default)]
struct Sending {
    data: Bytes,
    written: usize,
}

impl Sending {
    fn written(&self) -> Option<Bytes> {
        (self.written > 0).then(|| self.data.slice(..self.written))
    }
}

async fn write(
    hub: &Hub,
    id: ConnId,
    mut writer: OwnedWriteHalf,
    mut writes: mpsc::UnboundedReceiver<Bytes>,
    exit: Option<&[u8]>,
    sending: &mut Sending,
) -> String {
    // The hub drops the sending side only once this task has reported the close, so `None`
    // cannot end the conversation; the other branches do.
    while let Some(data) = writes.recv().await {
        hub.transcript_caught_up().await;
        *sending = Sending { data, written: 0 };
        while sending.written < sending.data.len() {
            match writer.write(&sending.data[sending.written..]).await {
                Ok(0) => return "the peer is gone (it takes no more bytes)".into(),
                Ok(n) => sending.written += n,
                Err(e) => return describe("writing", &e),
            }
        }
        let data = std::mem::take(sending).data;
        record_sent(hub, id, &data);
        if is_exit(&data, exit) {
            return "you sent exit".into();
        }
    }
    std::future::pending().await
}

/// Records what was written to the peer, as a frame of its own (header room first).
fn record_sent(hub: &Hub, id: ConnId, data: &[u8]) {
    let mut frame = BytesMut::with_capacity(RECORD_HEADER_LEN + data.len());
    frame.put_bytes(0, RECORD_HEADER_LEN);
    frame.extend_from_slice(data);
    hub.record(id, Flow::Tx, frame);
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
