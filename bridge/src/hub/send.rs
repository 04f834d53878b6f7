//! Sends: what a page queues for connections (admitted, or refused with the reason, never
//! waited for), and the file events around them. The queue itself is the connection's own
//! ([`Outgoing`]s, unbounded as a channel and bounded in bytes by `--send-queue`); the
//! connection's rules' replies join it there.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use protocol::size::{byte_count, format_size};
use protocol::{ConnId, ConnInfo, ConnState, Event, Problem, ProblemKind, Target, Transport};
use tokio::sync::watch;

use super::{Conn, Hub, State};

/// Bytes to write to a peer, and who sent them.
pub struct Outgoing {
    pub data: Bytes,
    pub from: Author,
    /// UDP: the datagram may go to a broadcast address.
    pub broadcast: bool,
    /// How long a rule's reply waits before it is written (zero for pages' sends).
    pub delay: Duration,
    /// A part of a file: not written (or not written further) once the file is stopped.
    pub file: Option<FilePart>,
}

/// A part of a file, and whether that file was stopped since the part was queued.
#[derive(Clone, Debug)]
pub struct FilePart {
    stops: watch::Receiver<u64>,
    queued_after: u64,
}

impl FilePart {
    pub fn stopped(&self) -> bool {
        *self.stops.borrow() > self.queued_after
    }

    /// Resolves once the file is stopped.
    pub async fn stop(&self) {
        let mut stops = self.stops.clone();
        let queued_after = self.queued_after;
        if stops.wait_for(|&n| n > queued_after).await.is_err() {
            // The connection is gone; its writer goes with it.
            std::future::pending::<()>().await;
        }
    }
}

impl Outgoing {
    /// A rule's reply, to write after its delay.
    pub fn reply(reply: crate::rules::Reply) -> Outgoing {
        Outgoing {
            data: Bytes::from(reply.bytes),
            from: Author::Rule(reply.rule.into()),
            broadcast: false,
            delay: reply.delay,
            file: None,
        }
    }
}

/// Who sent bytes to a peer.
#[derive(Clone, Debug)]
pub enum Author {
    /// A page, through the send queue (counted in `waiting`); `file` if part of a file.
    Page { file: bool },
    /// An auto-reply rule, by its id.
    Rule(Arc<str>),
}

/// How a page asked for a send: part of a file, allowed to a broadcast address (UDP), or to a
/// proxied conversation's server rather than its client.
#[derive(Clone, Copy, Debug, Default)]
pub struct SendFlags {
    pub file: bool,
    pub broadcast: bool,
    pub to_server: bool,
}

/// The largest UDP payload (IPv4's; IPv6 allows a little more, but a datagram the bridge sends
/// must fit either).
pub const MAX_DATAGRAM: usize = 65_507;

/// What became of a send.
pub struct Sent {
    /// How many connections it was queued for.
    pub queued: usize,
    /// Why the connections that refused it did.
    pub refused: Vec<Problem>,
}

impl Hub {
    /// Queues `data` for writing to one open connection, or to every open one. Never waits: a
    /// connection that already holds `--send-queue` unwritten refuses it, with the reason, and
    /// nothing is queued for it.
    pub fn send(&self, to: Target, data: Bytes, flags: SendFlags) -> Result<Sent, Problem> {
        let mut s = self.lock();
        let s = &mut *s;
        let targets = s.targets(to)?;
        if targets.is_empty() {
            return Err(Problem::new(
                ProblemKind::NoSuchConnection,
                "there is no open connection to send to",
            ));
        }
        let mut sent = Sent {
            queued: 0,
            refused: Vec::new(),
        };
        let len = data.len() as u64;
        for id in targets {
            let Some(conn) = s.conns.get_mut(&id) else {
                continue;
            };
            let Some(control) = &conn.control else {
                continue;
            };
            let queue = match toward(&conn.info, control, flags.to_server) {
                Ok(queue) => queue,
                Err(refused) => {
                    sent.refused.push(refused.on(id));
                    continue;
                }
            };
            if let Err(refused) = admit(&conn.info, data.len(), self.inner.send_queue) {
                sent.refused.push(refused.on(id));
                continue;
            }
            let file = flags.file.then(|| {
                let stops = control.files_stopped.subscribe();
                let queued_after = *stops.borrow();
                FilePart {
                    stops,
                    queued_after,
                }
            });
            let outgoing = Outgoing {
                data: data.clone(),
                from: Author::Page { file: flags.file },
                broadcast: flags.broadcast,
                delay: Duration::ZERO,
                file,
            };
            if queue.unbounded_send(outgoing).is_err() {
                continue; // its task has ended; the close is on its way
            }
            let info = Arc::make_mut(&mut conn.info);
            let was_waiting = info.waiting > 0;
            info.waiting += len;
            if flags.file && !was_waiting && !conn.waiting_told {
                // A page that stops a file counts what went once nothing waits: it must know
                // at once that something does.
                self.publish(&conn.info);
                conn.waiting_told = true;
            } else {
                // Pages hear how much waits a few times a second while it changes: a send
                // written before then (most are) is never said to wait; its record says it went.
                s.waiting_changed.insert(id);
            }
            sent.queued += 1;
        }
        Ok(sent)
    }

    /// A page's send that was not written, or not all of it (a datagram the kernel would not
    /// send, a part of a stopped file): it waits no more, and pages that heard it waited hear at
    /// once when nothing does.
    pub fn unsent(&self, id: ConnId, len: usize) {
        let mut s = self.lock();
        let s = &mut *s;
        let Some(conn) = s.conns.get_mut(&id) else {
            return;
        };
        let info = Arc::make_mut(&mut conn.info);
        info.waiting = info.waiting.saturating_sub(len as u64);
        if info.waiting > 0 {
            s.waiting_changed.insert(id);
        } else {
            s.waiting_changed.remove(&id);
            if std::mem::take(&mut conn.waiting_told) {
                self.publish(&conn.info);
            }
        }
    }

    /// A file is about to be sent to `to`: every page hears of it for each connection it goes to.
    pub fn file(&self, to: Target, name: &str, size: u64) -> Result<(), Problem> {
        for conn in self.lock().targets(to)? {
            let name = name.to_owned();
            self.fan_out(Event::File { conn, name, size }.to_frame());
        }
        Ok(())
    }

    /// The file being sent to `to` stopped before its end: its parts still queued are not
    /// written (nor the rest of the one being written), and every page is told. Once they are
    /// dropped, nothing of it waits, and the connection's counters say exactly what of it was
    /// written.
    pub fn file_stopped(&self, to: Target) -> Result<(), Problem> {
        let targets = match to {
            // It may have stopped because the connection closed: no error for that.
            Target::Conn(id) => vec![self.lock().conn(id)?.info.id],
            Target::All => self.lock().targets(to)?,
        };
        for &conn in &targets {
            if let Some(control) = self
                .lock()
                .conns
                .get(&conn)
                .and_then(|c| c.control.as_ref())
            {
                control.files_stopped.send_modify(|n| *n += 1);
            }
        }
        for conn in targets {
            self.fan_out(Event::FileStopped { conn }.to_frame());
        }
        Ok(())
    }
}

/// The queue a send goes to: the connection's peer (a proxy's client), or a proxy's server.
/// A side that closed its sending side was closed in turn toward the other: nothing more can
/// be written there.
fn toward<'c>(
    info: &ConnInfo,
    control: &'c super::Control,
    to_server: bool,
) -> Result<&'c futures::channel::mpsc::UnboundedSender<Outgoing>, Problem> {
    let closed = |whose: &str, to: &str| {
        Problem::new(
            ProblemKind::NotOpen,
            format!(
                "the {whose} closed its sending side, and the bridge passed that on: the {to}                  takes nothing more from this conversation"
            ),
        )
    };
    match (&info.proxy, &control.to_server, to_server) {
        (Some(proxy), Some(queue), true) if !proxy.client_closed => Ok(queue),
        (Some(_), Some(_), true) => Err(closed("client", "server")),
        (Some(proxy), _, false) if proxy.server_closed => Err(closed("server", "client")),
        (_, _, false) => Ok(&control.writes),
        (_, _, true) => Err(Problem::new(
            ProblemKind::Other,
            format!(
                "connection {} is not a proxy's: it has no server to send to; send to its \
                 peer instead",
                info.id
            ),
        )),
    }
}

/// Whether a connection takes a send of `len` bytes: not while it holds `--send-queue`
/// unwritten, nor over a datagram's size for UDP.
fn admit(info: &ConnInfo, len: usize, send_queue: u64) -> Result<(), Problem> {
    let waiting = info.waiting;
    if waiting > 0 && waiting + len as u64 > send_queue {
        let why = format!(
            "{} is not reading: {} waiting to be written; this send was not queued",
            info.peer,
            format_size(waiting)
        );
        return Err(Problem::new(ProblemKind::NotReading, why));
    }
    if info.transport == Transport::Udp && len > MAX_DATAGRAM {
        let why = format!(
            "a UDP datagram holds at most {}: this send of {} was not sent to {}",
            byte_count(MAX_DATAGRAM as u64),
            byte_count(len as u64),
            info.peer
        );
        return Err(Problem::new(ProblemKind::TooLarge, why));
    }
    Ok(())
}

impl State {
    /// Where a send (or a file) to `to` goes: the connection named, if open, or every open one.
    fn targets(&self, to: Target) -> Result<Vec<ConnId>, Problem> {
        Ok(match to {
            Target::Conn(id) => vec![self.open_conn(id)?.info.id],
            Target::All => self
                .conns
                .values()
                .filter(|c| c.info.state == ConnState::Open && c.control.is_some())
                .map(|c| c.info.id)
                .collect(),
        })
    }

    fn open_conn(&self, id: ConnId) -> Result<&Conn, Problem> {
        let conn = self.conn(id)?;
        let why = match conn.info.state {
            ConnState::Open if conn.control.is_some() => return Ok(conn),
            ConnState::Connecting => format!("connection {id} is not open yet"),
            _ => format!("connection {id} is closed"),
        };
        Err(Problem::new(ProblemKind::NotOpen, why).on(id))
    }
}
