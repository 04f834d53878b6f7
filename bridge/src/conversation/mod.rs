//! A conversation: one id in the hub, and the socket that carries it, read and written by the
//! same parts whatever its kind. Its [`Side`] is the socket's part: its reading ([`reading`]:
//! the bytes cut into messages as the conversation's framing says, checked against their
//! checksum, recorded, and answered by the auto-reply rules) and its queue of sends
//! ([`writing`]: pages' sends and rules' replies, written in the order they are due and recorded
//! once written). Only how bytes come and go differs by kind:
//! - [`stream`]: TCP, or TLS over TCP: a read half and a write half, side by side;
//! - [`datagram`]: UDP: one datagram is one message, through the bridge's UDP socket or a
//!   socket of the conversation's own;
//! - [`pair`]: a proxy's client and server, two TCP sockets relayed to each other.
//!
//! A conversation ends when its side does (the peer closes, the socket fails, the exit word) or
//! when its token is cancelled (a page's disconnect, shutdown); then the hub hears why.
//!
//! A conversation with two sockets (a proxy's: a client side and a server side) is one
//! [`Opened`] (one id, one token) with two [`Side`]s, each with its own queue from the hub for
//! what pages inject: each side reads its socket as above, its records filed as its side's
//! ([`RecordAs`]), and hands what it reads, as it comes, to the other side's writer ([`pair`]),
//! through its way's [`passage`], which decides what becomes of each message passing.
//! Nothing in a side asks which kind of socket it has, or which side it is: how its records are
//! filed is all that differs.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use protocol::{ConnId, Flow, Marks, Way};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::hub::{Hub, Opened};

pub mod datagram;
pub mod pair;
pub mod passage;
mod reading;
pub mod stream;
mod writing;

use passage::Passage;
use reading::Reading;
use writing::{record_sent, Outbox};

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

/// How a side's records are filed: their flow, and the marks each carries besides its own.
/// What a conversation of one socket reads is received (`rx`) and what it writes sent (`tx`);
/// a proxy's records say which way the bytes went (`rx` client→server, `tx` server→client),
/// and whether a page injected them rather than a side saying them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordAs {
    pub flow: Flow,
    pub marks: Marks,
}

impl RecordAs {
    pub const RECEIVED: RecordAs = RecordAs {
        flow: Flow::Rx,
        marks: Marks::NONE,
    };
    pub const SENT: RecordAs = RecordAs {
        flow: Flow::Tx,
        marks: Marks::NONE,
    };
    /// What a proxy's client says, relayed to the server; and what a page injects to the
    /// server, as if from the client.
    pub const CLIENT_SAID: RecordAs = RecordAs {
        flow: Flow::Rx,
        marks: Marks::PROXIED,
    };
    pub const TO_SERVER: RecordAs = RecordAs {
        flow: Flow::Rx,
        marks: Marks(Marks::PROXIED.0 | Marks::INJECTED.0),
    };
    /// What a proxy's server says, relayed to the client; and what a page injects to the
    /// client, as if from the server.
    pub const SERVER_SAID: RecordAs = RecordAs {
        flow: Flow::Tx,
        marks: Marks::PROXIED,
    };
    pub const TO_CLIENT: RecordAs = RecordAs {
        flow: Flow::Tx,
        marks: Marks(Marks::PROXIED.0 | Marks::INJECTED.0),
    };
}

/// One socket's part in a conversation: what reads it, and the queue of what to write to it.
pub struct Side<'a> {
    pub reading: Reading<'a>,
    pub outbox: Outbox,
}

/// A conversation as its task holds it: its id, its side, and the token that ends it.
pub struct Conversation<'a> {
    pub id: ConnId,
    pub side: Side<'a>,
    pub cancel: CancellationToken,
}

impl<'a> Conversation<'a> {
    /// What the hub opened, taken apart into the conversation's parts (the one place that does).
    pub fn new(relay: &'a Relay, opened: Opened) -> Conversation<'a> {
        let id = opened.id;
        let reading = Reading::new(relay, id, opened.origin, opened.settings, opened.replies);
        Conversation {
            id,
            side: Side {
                reading,
                outbox: Outbox::new(opened.writes, RecordAs::SENT),
            },
            cancel: opened.cancel,
        }
    }
}

/// A proxy's conversation as its task holds it: one id, one token, and two sides, each
/// recording as its own, and each looked at only by the rules in passing that watch its way.
pub struct Pair<'a> {
    pub id: ConnId,
    pub client: Side<'a>,
    pub server: Side<'a>,
    pub cancel: CancellationToken,
}

impl<'a> Pair<'a> {
    /// What the hub opened for a proxy's client, taken apart into its two sides.
    pub fn new(relay: &'a Relay, opened: Opened) -> Pair<'a> {
        let id = opened.id;
        // Each way's rules in passing answer its sender through that side's own queue.
        let side = |record_as, settings, writes, replies, outbox_as, passage| Side {
            reading: Reading::new(relay, id, opened.origin, settings, replies)
                .recording(record_as, false)
                .passing(passage),
            outbox: Outbox::new(writes, outbox_as),
        };
        let watched = |way| Passage::watched(relay.hub.clone(), way, id, opened.origin);
        let (mut up, mut down) = (watched(Way::ClientToServer), watched(Way::ServerToClient));
        let (to_server, server_replies, server_settings) = match opened.server {
            Some(server) => {
                let [up_hold, down_hold] = server.holds;
                (up, down) = (up.holding(up_hold), down.holding(down_hold));
                (server.writes, server.replies, server.settings)
            }
            None => {
                // Only the hub's proxied conversations are paired; this one has no server side
                // in the hub: nothing is injected there, and it is read as its client is.
                let (replies, writes) = futures::channel::mpsc::unbounded();
                (writes, replies, opened.settings.clone())
            }
        };
        let client = side(
            RecordAs::CLIENT_SAID,
            opened.settings,
            opened.writes,
            opened.replies,
            RecordAs::TO_CLIENT,
            up,
        );
        let server = side(
            RecordAs::SERVER_SAID,
            server_settings,
            to_server,
            server_replies,
            RecordAs::TO_SERVER,
            down,
        );
        Pair {
            id,
            client,
            server,
            cancel: opened.cancel,
        }
    }
}

/// An address as people write it: an IPv4 peer of a dual-stack socket shows as IPv4, not as
/// `[::ffff:a.b.c.d]`.
pub fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
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
