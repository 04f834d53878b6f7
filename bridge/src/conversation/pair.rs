//! A proxy's conversation: a client the bridge accepted and the server it dialled for that
//! client, two TCP sockets relayed to each other and shown as one conversation.
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
//! page's disconnect, shutdown) closes both. The exit word and the auto-reply rules do not
//! apply: a proxy does not speak for either side.

use std::io;
use std::pin::pin;
use std::time::Duration;

use socket2::SockRef;
use tokio::io::AsyncWrite;
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use super::reading::{Ended, Onward};
use super::stream::describe;
use super::writing::{write_one, Outbox, Sending};
use super::{Pair, Relay};
use crate::hub::{Opened, ProxySide};

/// Relays a proxy's client and server until the conversation ends, then tells the hub why.
pub async fn converse_and_close(
    relay: Relay,
    opened: Opened,
    client: TcpStream,
    server: TcpStream,
) {
    let id = opened.id;
    let reason = converse(&relay, opened, client, server).await;
    relay.hub.close(id, reason);
}

/// How the conversation ended: which side, and how.
struct End {
    side: ProxySide,
    how: Ended,
}

/// Relays both ways until both sides have closed, or one fails, and returns the reason in
/// words. Both sockets are closed (or reset) when this returns.
async fn converse(
    relay: &Relay,
    opened: Opened,
    mut client: TcpStream,
    mut server: TcpStream,
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
        let (client_read, client_write) = client.split();
        let (server_read, server_write) = server.split();
        let to_client = Mutex::new(Onward {
            socket: client_write,
            closed: false,
        });
        let to_server = Mutex::new(Onward {
            socket: server_write,
            closed: false,
        });
        let mut up = pin!(client_side.reading.read(client_read, Some(&to_server)));
        let mut down = pin!(server_side.reading.read(server_read, Some(&to_client)));
        let mut inject_server = pin!(inject(
            relay,
            (id, ProxySide::Server),
            &to_server,
            &mut server_side.outbox,
            &mut server_sending,
        ));
        let mut inject_client = pin!(inject(
            relay,
            (id, ProxySide::Client),
            &to_client,
            &mut client_side.outbox,
            &mut client_sending,
        ));
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
                () = cancel.cancelled() => break None,
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
            let other_socket = match other {
                ProxySide::Client => &client,
                ProxySide::Server => &server,
            };
            let _ = SockRef::from(other_socket).set_linger(Some(Duration::ZERO));
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
