//! A proxy's conversation: a client the bridge accepted and the server it dialled for that
//! client, two TCP sockets relayed to each other and shown as one conversation.
//!
//! Each side's reading ([`Reading::read`]) records what it reads (cut into messages by the
//! conversation's framing, which decides only what is recorded) and hands each read on as it
//! came, at once, to the other side's writer, through a channel of [`DEPTH`] reads. The writer
//! writes them in order, and between them what pages inject toward its socket. So each
//! direction keeps its order, and what the bridge holds is bounded: a peer that stops reading
//! fills its socket, then the channel, and then the other side is not read any more (its TCP
//! holds the bytes, and tells its sender to wait), while the opposite direction goes on. Pages
//! get the records as from any conversation: one that reads slowly is left behind, never
//! waited for past a quarter of a second ([`crate::backpressure`]).
//!
//! An end of file on one side is passed on as one (a half-close, FIN), and the other direction
//! goes on until it ends too. A reset is passed on as a reset. Anything else (a failed socket, a
//! page's disconnect, shutdown) closes both. The exit word and the auto-reply rules do not
//! apply: a proxy does not speak for either side.

use std::io;
use std::pin::pin;
use std::time::Duration;

use bytes::Bytes;
use socket2::SockRef;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::reading::Ended;
use super::stream::describe;
use super::writing::{write_one, Outbox, Sending};
use super::{Pair, Relay};
use crate::hub::{Opened, ProxySide};

/// Reads a side may have read and not yet handed to the other side's socket: with reads of at
/// most 64 KiB, what one direction holds stays under a few hundred KiB however slow its reader.
const DEPTH: usize = 2;

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
        let (client_read, mut client_write) = client.split();
        let (server_read, mut server_write) = server.split();
        let (to_server, for_server) = mpsc::channel(DEPTH);
        let (to_client, for_client) = mpsc::channel(DEPTH);
        let mut up = pin!(client_side.reading.read(client_read, Some(to_server)));
        let mut down = pin!(server_side.reading.read(server_read, Some(to_client)));
        let mut write_server = pin!(write(
            relay,
            (id, ProxySide::Server),
            &mut server_write,
            for_server,
            &mut server_side.outbox,
            &mut server_sending,
        ));
        let mut write_client = pin!(write(
            relay,
            (id, ProxySide::Client),
            &mut client_write,
            for_client,
            &mut client_side.outbox,
            &mut client_sending,
        ));
        // Which of the four have ended: reading the client, the server; writing to them.
        let (mut up_done, mut down_done, mut to_server_done, mut to_client_done) =
            (false, false, false, false);
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
                        how => break Some(End { side: ProxySide::Client, how }),
                    }
                }
                ended = &mut down, if !down_done => {
                    down_done = true;
                    match ended {
                        Ended::Closed => closed(ProxySide::Server),
                        how => break Some(End { side: ProxySide::Server, how }),
                    }
                }
                written = &mut write_server, if !to_server_done => {
                    to_server_done = true;
                    if let Err(how) = written {
                        break Some(End { side: ProxySide::Server, how });
                    }
                }
                written = &mut write_client, if !to_client_done => {
                    to_client_done = true;
                    if let Err(how) = written {
                        break Some(End { side: ProxySide::Client, how });
                    }
                }
                () = cancel.cancelled() => break None,
            }
            if up_done && down_done && to_server_done && to_client_done {
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
        Ended::Failed(e) => format!(
            "{}; the bridge closed the {}'s connection",
            as_side(&describe("relaying", &e), side),
            other.name()
        ),
        Ended::Closed => unreachable!("a side that closes is half-closed, not ended"),
    }
}

/// Writes to one side, in order, what the other side read, and what pages inject toward it.
/// Once the other side has closed its sending side and everything it sent is written, closes
/// this socket's sending side in turn (FIN), and returns.
async fn write(
    relay: &Relay,
    (id, side): (protocol::ConnId, ProxySide),
    socket: &mut (impl AsyncWrite + Unpin),
    mut relayed: mpsc::Receiver<Bytes>,
    outbox: &mut Outbox,
    sending: &mut Sending,
) -> Result<(), Ended> {
    loop {
        tokio::select! {
            chunk = relayed.recv() => match chunk {
                Some(chunk) => socket.write_all(&chunk).await.map_err(Ended::Failed)?,
                None => return socket.shutdown().await.map_err(Ended::Failed),
            },
            out = outbox.next() => {
                write_one(relay, id, socket, out, outbox.record_as, sending)
                    .await
                    .map_err(|why| Ended::Over(as_side(&why, side)))?;
            }
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
