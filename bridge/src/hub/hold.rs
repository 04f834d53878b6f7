//! Held messages: the queues of a proxied conversation's two ways while their *hold* is on
//! ([`protocol::Command::Hold`]), kept here, under the hub's lock, so that every page (one that
//! reloads, a second one) sees the same queue and a page that closes loses nothing; and what
//! pages do with them: forward (as they came, or edited), forward all, drop.
//!
//! The side's reading ([`crate::conversation::passage`]) asks to hold each message while the
//! hold is on, and is told, in order, through its way's channel, what left the queue: it
//! writes what was forwarded and records it then, as it went, and records what was dropped.
//! So a message is recorded once, when its fate is known, and the reading, which writes
//! everything that goes that way, keeps the order. Switching a hold off hands the whole queue
//! to that channel before the switch reads off, so that the reading, once it sees the switch
//! off, finds them all there before it writes anything read after them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures::channel::mpsc;
use protocol::size::format_size;
use protocol::{
    hex, ConnId, Event, HeldId, HeldMessage, Marks, Micros, Problem, ProblemKind, Release, Way,
};

use super::{Conn, Hub, State};
use crate::clock::now;

/// What left a way's queue, for its reading to act on, in order: forwarded (as it came, or
/// edited: `bytes` are then the edit), to write on and record as it went; or dropped, to
/// record as dropped.
pub struct Released {
    pub how: Release,
    pub bytes: Bytes,
    /// An edited message's bytes as the side said them, for the transcript.
    pub original: Option<Bytes>,
    /// What the message held in the queue, whatever went.
    pub held_len: usize,
    /// As the framing cut it: cut or unfinished, else none.
    pub marks: Marks,
    /// A whole message, not a piece of one.
    pub whole: bool,
    /// The rule in passing that rewrote it into what was held, if one did.
    pub rule: Option<String>,
}

/// A way's hold as its reading sees it: the switch, and what leaves its queue.
pub struct HoldLink {
    pub way: Way,
    pub on: Arc<AtomicBool>,
    pub released: mpsc::UnboundedReceiver<Released>,
}

/// A proxied conversation's two ways, as the hub keeps them.
pub(super) struct Holding {
    ways: [WayHold; 2],
}

struct WayHold {
    on: Arc<AtomicBool>,
    queue: VecDeque<Waiting>,
    release: mpsc::UnboundedSender<Released>,
}

/// A message in a queue.
struct Waiting {
    id: HeldId,
    at: Micros,
    data: Bytes,
    marks: Marks,
    whole: bool,
    rule: Option<String>,
}

impl Waiting {
    /// Its way out: as `how` says, with `bytes` (what it held, unless edited).
    fn released(self, how: Release, bytes: Option<Bytes>) -> Released {
        let original = bytes.is_some().then(|| self.data.clone());
        Released {
            how,
            held_len: self.data.len(),
            bytes: bytes.unwrap_or(self.data),
            original,
            marks: self.marks,
            whole: self.whole,
            rule: self.rule,
        }
    }
}

impl Holding {
    /// A conversation's holds, both off, and the links its two readings take: client→server's,
    /// then server→client's.
    pub(super) fn new() -> (Box<Holding>, [HoldLink; 2]) {
        let way = |way| {
            let on = Arc::new(AtomicBool::new(false));
            let (release, released) = mpsc::unbounded();
            let link = HoldLink {
                way,
                on: on.clone(),
                released,
            };
            let hold = WayHold {
                on,
                queue: VecDeque::new(),
                release,
            };
            (hold, link)
        };
        let (up, up_link) = way(Way::ClientToServer);
        let (down, down_link) = way(Way::ServerToClient);
        (Box::new(Holding { ways: [up, down] }), [up_link, down_link])
    }

    fn way(&mut self, way: Way) -> &mut WayHold {
        &mut self.ways[index(way)]
    }

    /// What is still held when the conversation ends, in words, if anything is.
    pub(super) fn unsent(&self) -> Option<String> {
        let messages: usize = self.ways.iter().map(|w| w.queue.len()).sum();
        let bytes: usize = self
            .ways
            .iter()
            .flat_map(|w| &w.queue)
            .map(|m| m.data.len())
            .sum();
        (messages > 0).then(|| {
            let (plural, were) = if messages == 1 {
                ("", "was")
            } else {
                ("s", "were")
            };
            format!(
                "{messages} held message{plural} ({}) {were} never forwarded",
                format_size(bytes as u64)
            )
        })
    }

    /// Every message held, for a snapshot.
    pub(super) fn snapshot(&self, conn: ConnId, into: &mut Vec<HeldMessage>) {
        for (way, hold) in [Way::ClientToServer, Way::ServerToClient]
            .into_iter()
            .zip(&self.ways)
        {
            into.extend(hold.queue.iter().map(|m| HeldMessage {
                conn,
                id: m.id,
                way,
                at: m.at,
                data: m.data.to_vec(),
                partial: !m.whole,
            }));
        }
    }
}

fn index(way: Way) -> usize {
    match way {
        Way::ClientToServer => 0,
        Way::ServerToClient => 1,
    }
}

impl Hub {
    /// Holds a message going `way` in conversation `conn` (`marks` and `whole` as the framing
    /// cut it; `rule`, the rule in passing that rewrote it into this), and tells every page. `Err` gives it back when its hold is off (a page just
    /// switched it off): it goes on at once, after what the switch released.
    pub fn hold_message(
        &self,
        conn: ConnId,
        way: Way,
        data: Bytes,
        (marks, whole): (Marks, bool),
        rule: Option<String>,
    ) -> Result<(), Bytes> {
        let mut s = self.lock();
        let s = &mut *s;
        let Some(holding) = s.conns.get_mut(&conn).and_then(|c| c.holding.as_mut()) else {
            return Err(data);
        };
        let hold = holding.way(way);
        if !hold.on.load(Ordering::Acquire) {
            return Err(data);
        }
        s.next_held += 1;
        let waiting = Waiting {
            id: s.next_held,
            at: now(),
            data,
            marks,
            whole,
            rule,
        };
        let message = HeldMessage {
            conn,
            id: waiting.id,
            way,
            at: waiting.at,
            data: waiting.data.to_vec(),
            partial: !whole,
        };
        hold.queue.push_back(waiting);
        self.fan_out(Event::Held { message }.to_frame());
        Ok(())
    }

    /// Switches the hold of `way` in conversation `conn` on or off; off forwards what waits,
    /// in order.
    pub fn set_hold(&self, conn: ConnId, way: Way, on: bool) -> Result<(), Problem> {
        let mut s = self.lock();
        let s = &mut *s;
        let holding = s.holding(conn)?;
        if !on {
            self.release_all(conn, holding.way(way));
        }
        holding.way(way).on.store(on, Ordering::Release);
        let conn = s.conns.get_mut(&conn).expect("checked above");
        let info = Arc::make_mut(&mut conn.info);
        if let Some(proxy) = &mut info.proxy {
            proxy.hold.set(way, on);
        }
        self.announce(info);
        Ok(())
    }

    /// Forwards the held message `id`: as it came, or as `edit` (hex digits) says.
    pub fn forward_held(
        &self,
        conn: ConnId,
        id: HeldId,
        edit: Option<&str>,
    ) -> Result<(), Problem> {
        let edited = match edit {
            None => None,
            Some(digits) => Some(parse_edit(digits).map_err(|p| p.on(conn))?),
        };
        let mut s = self.lock();
        let hold = s.holding(conn)?.holding_message(conn, id)?;
        let how = match edited {
            Some(_) => Release::Edited,
            None => Release::Forwarded,
        };
        let released = take(hold, id).released(how, edited.map(Bytes::from));
        let _ = hold.release.unbounded_send(released);
        self.fan_out(Event::Released { conn, id, how }.to_frame());
        Ok(())
    }

    /// Forwards every message held going `way`, in order.
    pub fn forward_all(&self, conn: ConnId, way: Way) -> Result<(), Problem> {
        let mut s = self.lock();
        let hold = s.holding(conn)?.way(way);
        self.release_all(conn, hold);
        Ok(())
    }

    /// Drops the held message `id`: never sent, recorded as dropped.
    pub fn drop_held(&self, conn: ConnId, id: HeldId) -> Result<(), Problem> {
        let mut s = self.lock();
        let hold = s.holding(conn)?.holding_message(conn, id)?;
        let how = Release::Dropped;
        let released = take(hold, id).released(how, None);
        let _ = hold.release.unbounded_send(released);
        self.fan_out(Event::Released { conn, id, how }.to_frame());
        Ok(())
    }

    /// Forwards a way's whole queue, in order, and tells every page.
    fn release_all(&self, conn: ConnId, hold: &mut WayHold) {
        for waiting in hold.queue.drain(..) {
            let (id, how) = (waiting.id, Release::Forwarded);
            let _ = hold.release.unbounded_send(waiting.released(how, None));
            self.fan_out(Event::Released { conn, id, how }.to_frame());
        }
    }
}

impl Holding {
    /// The way that holds message `id`, or why none does.
    fn holding_message(&mut self, conn: ConnId, id: HeldId) -> Result<&mut WayHold, Problem> {
        self.ways
            .iter_mut()
            .find(|w| w.queue.iter().any(|m| m.id == id))
            .ok_or_else(|| {
                Problem::new(
                    ProblemKind::NotHeld,
                    format!(
                        "conversation {conn} holds no message {id}: it was already forwarded \
                         or dropped (by another page?); nothing was sent"
                    ),
                )
                .on(conn)
            })
    }
}

/// Takes message `id` out of a queue that holds it.
fn take(hold: &mut WayHold, id: HeldId) -> Waiting {
    let at = hold.queue.iter().position(|m| m.id == id);
    hold.queue
        .remove(at.expect("the queue holds it"))
        .expect("the queue holds it")
}

/// An edit's bytes: hex digits, two a byte, with spaces (or any white space) between them
/// allowed.
fn parse_edit(digits: &str) -> Result<Vec<u8>, Problem> {
    let compact: String = digits.split_whitespace().collect();
    hex::decode(&compact).ok_or_else(|| {
        let why = match compact.chars().find(|c| !c.is_ascii_hexdigit()) {
            Some(c) => format!("`{c}` is not a hex digit"),
            None => format!("{} hex digits is an odd number", compact.len()),
        };
        Problem::new(
            ProblemKind::Malformed,
            format!(
                "the edit is not hex: {why}; write two digits a byte (0-9, a-f), e.g. 4f 4b 0a; \
                 nothing was sent"
            ),
        )
    })
}

impl State {
    /// The holds of conversation `conn`, or why it has none to act on: it is not there, not
    /// open, or not a proxy's.
    fn holding(&mut self, conn: ConnId) -> Result<&mut Holding, Problem> {
        let c: &mut Conn = self.conns.get_mut(&conn).ok_or_else(|| {
            Problem::new(
                ProblemKind::NoSuchConnection,
                format!("there is no connection {conn}"),
            )
            .on(conn)
        })?;
        if c.control.is_none() {
            return Err(Problem::new(
                ProblemKind::NotOpen,
                format!("conversation {conn} is closed: it holds nothing, and sends nothing more"),
            )
            .on(conn));
        }
        c.holding.as_deref_mut().ok_or_else(|| {
            Problem::new(
                ProblemKind::Other,
                format!(
                    "connection {conn} is not a proxy's: only a proxied conversation holds \
                     messages"
                ),
            )
            .on(conn)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_is_hex_with_spaces_allowed() {
        assert_eq!(parse_edit("4f 4B\n0a").unwrap(), b"OK\n");
        assert_eq!(parse_edit("").unwrap(), b"");
        let odd = parse_edit("4f4").unwrap_err();
        assert_eq!(odd.kind, ProblemKind::Malformed);
        assert!(
            odd.message.contains("3 hex digits is an odd number"),
            "{}",
            odd.message
        );
        let bad = parse_edit("4g").unwrap_err();
        assert!(
            bad.message.contains("`g` is not a hex digit"),
            "{}",
            bad.message
        );
    }
}
