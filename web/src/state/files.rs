//! Files sent to a connection, each one entry of its conversation rather than its thousands of
//! chunks. A `file` event starts the entry; the sent records marked as parts of a file that
//! follow feed it, in order: a part goes to the oldest file of that connection still short of
//! its size. Parts the page sees without an announcement (a page that joined during or after
//! the send) gather in an entry of their own, whose name and size the page never heard.
//!
//! A file announced after another one that is not yet whole ends it: the page sends one file
//! at a time, so the earlier one was cancelled. The page that cancels it says so at once
//! ([`super::Action::FileStopped`]), and the bridge then writes no more of it; parts recorded
//! as written before it stopped (the last one perhaps cut short) still count, so the entry ends
//! with exactly what went out.
//!
//! A part is counted, not kept: its bytes are not held by the page (the peer has them, and the
//! bridge's transcript).

use std::rc::Rc;

use protocol::{ConnId, Micros, RecordHeader};

use super::{Entry, State};

/// A part of a file, as the wire hands it over: its bytes are not copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilePart {
    pub head: RecordHeader,
    pub len: u64,
}

/// One file sent to a connection, as its conversation shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSend {
    /// Unique in the page: the entry's key.
    pub id: u64,
    /// `None` when the page did not see the file announced.
    pub name: Option<Rc<str>>,
    pub size: Option<u64>,
    /// Bytes written to the peer's connection so far (what the peer has read may be less).
    pub written: u64,
    pub parts: u64,
    pub first_at: Option<Micros>,
    pub last_at: Option<Micros>,
    /// Whether it stopped before its end: no more of it is coming.
    pub stopped: bool,
}

impl FileSend {
    /// Whether every byte announced was written.
    pub fn done(&self) -> bool {
        self.size.is_some_and(|size| self.written >= size)
    }

    fn add(&mut self, part: &FilePart) -> bool {
        self.written += part.len;
        self.parts += 1;
        self.first_at.get_or_insert(part.head.at);
        self.last_at = Some(part.head.at);
        self.done()
    }
}

impl State {
    /// A file is about to be sent to `conn`: its entry, waiting for its parts.
    pub(super) fn file_announced(&mut self, conn: ConnId, name: String, size: u64) {
        let id = self.next_id();
        let limits = self.limits;
        // Parts that came unannounced belong to an earlier file, and an announced one not yet
        // whole was cancelled: this one starts afresh.
        self.files_stopped(conn, true);
        let Some(conv) = self.conv_mut(conn) else {
            return;
        };
        let file = FileSend {
            id,
            name: Some(name.into()),
            size: Some(size),
            written: 0,
            parts: 0,
            first_at: None,
            last_at: None,
            stopped: false,
        };
        if size > 0 {
            conv.files.push((id, true));
        }
        conv.log.push(Entry::File(file), limits);
    }

    /// The files of `conn` not yet whole stopped: their entries say so. With `forget`, parts
    /// that follow are no longer theirs.
    pub(super) fn files_stopped(&mut self, conn: ConnId, forget: bool) {
        let Some(conv) = self.conv_mut(conn) else {
            return;
        };
        for &(file, _) in &conv.files {
            conv.log.update_rev(
                |e| matches!(e, Entry::File(f) if f.id == file),
                |e| {
                    if let Entry::File(f) = e {
                        f.stopped = true;
                    }
                },
            );
        }
        if forget {
            conv.files.clear();
        }
    }

    /// A part of a file was written to `conn`: counted, and added to its file's entry.
    pub(super) fn file_part(&mut self, part: FilePart) {
        let conn = part.head.conn;
        if self.arrived(&part.head, part.len).is_none() {
            return;
        }
        let id = self.next_id();
        let limits = self.limits;
        let conv = self.conv_mut(conn).expect("made when it arrived");
        while let Some(&(file, _)) = conv.files.first() {
            let fed = conv.log.update_rev(
                |e| matches!(e, Entry::File(f) if f.id == file),
                |e| match e {
                    Entry::File(f) => f.add(&part),
                    _ => unreachable!("found as a file"),
                },
            );
            match fed {
                Some(done) => {
                    if done {
                        conv.files.remove(0);
                    }
                    return;
                }
                // Its entry is gone (the page dropped its oldest entries): the next one.
                None => {
                    conv.files.remove(0);
                }
            }
        }
        let mut file = FileSend {
            id,
            name: None,
            size: None,
            written: 0,
            parts: 0,
            first_at: None,
            last_at: None,
            stopped: false,
        };
        file.add(&part);
        conv.files.push((id, false));
        conv.log.push(Entry::File(file), limits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Incoming;
    use crate::state::{reduce, Action};
    use protocol::{ConnInfo, ConnState, Event, Flow, Marks, Origin, Seq, VERSION};

    fn hello(seq: Seq) -> Incoming {
        let info = ConnInfo::new(
            1,
            Origin::Accepted,
            "127.0.0.1:5000".into(),
            ConnState::Open,
            0,
        );
        Incoming::Event(Event::Hello {
            version: VERSION,
            server: Box::default(),
            conns: vec![info],
            seq,
            held: Vec::new(),
        })
    }

    fn announced(name: &str, size: u64) -> Incoming {
        Incoming::Event(Event::File {
            conn: 1,
            name: name.into(),
            size,
        })
    }

    fn part(seq: Seq, len: u64) -> Incoming {
        let head = RecordHeader {
            conn: 1,
            seq,
            flow: Flow::Tx,
            at: seq as Micros,
            marks: Marks::FILE,
        };
        Incoming::FilePart(FilePart { head, len })
    }

    fn record(seq: Seq, text: &str) -> Incoming {
        Incoming::from(protocol::Record::new(
            1,
            seq,
            Flow::Rx,
            seq as Micros,
            text.as_bytes().to_vec(),
        ))
    }

    fn run(state: State, events: Vec<Incoming>) -> State {
        reduce(state, Action::Events(events))
    }

    fn files(state: &State) -> Vec<(Option<String>, Option<u64>, u64, u64)> {
        state.conns[&1]
            .log
            .iter()
            .filter_map(|e| match e {
                Entry::File(f) => Some((
                    f.name.as_deref().map(str::to_owned),
                    f.size,
                    f.written,
                    f.parts,
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_file_is_one_entry_fed_by_its_parts() {
        let mut events = vec![hello(0), announced("firmware.bin", 1000)];
        events.extend((1..=4).map(|seq| part(seq, 250)));
        let s = run(State::default(), events);
        assert_eq!(
            files(&s),
            [(Some("firmware.bin".into()), Some(1000), 1000, 4)]
        );
        let conv = &s.conns[&1];
        assert_eq!(conv.log.len(), 1, "one entry, not four");
        assert_eq!(conv.log.bytes(), 0, "the parts' bytes are not held");
        assert_eq!((conv.info.tx_bytes, conv.info.tx_msgs), (1000, 4));
        assert!(matches!(conv.log.last(), Some(Entry::File(f)) if f.done()));
        assert!(conv.files.is_empty());
    }

    #[test]
    fn parts_fill_files_in_turn_around_other_messages() {
        let s = run(
            State::default(),
            vec![
                hello(0),
                announced("a", 300),
                part(1, 200),
                part(2, 100),
                announced("b", 100),
                record(3, "peer talks meanwhile"),
                part(4, 100),
                part(5, 7), // nobody announced this one
            ],
        );
        assert_eq!(
            files(&s),
            [
                (Some("a".into()), Some(300), 300, 2),
                (Some("b".into()), Some(100), 100, 1),
                (None, None, 7, 1)
            ]
        );
        assert_eq!(s.conns[&1].log.len(), 4);
        assert!(stopped(&s).iter().all(|&stopped| !stopped));
        // A part seen twice is counted once.
        let again = run(s.clone(), vec![part(5, 7)]);
        assert_eq!(again.conns[&1].info.tx_bytes, s.conns[&1].info.tx_bytes);
    }

    fn stopped(state: &State) -> Vec<bool> {
        state.conns[&1]
            .log
            .iter()
            .filter_map(|e| match e {
                Entry::File(f) => Some(f.stopped),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_cancelled_file_stops_and_the_next_one_gets_its_own_parts() {
        let s = run(
            State::default(),
            vec![hello(0), announced("a", 1000), part(1, 100)],
        );
        let s = reduce(s, Action::FileStopped(vec![1, 99]));
        assert_eq!(stopped(&s), [true]);
        // A part already on its way when it was cancelled still counts.
        let s = run(s, vec![part(2, 100)]);
        assert_eq!(files(&s), [(Some("a".into()), Some(1000), 200, 2)]);
        let s = run(s, vec![announced("b", 50), part(3, 50)]);
        assert_eq!(
            files(&s),
            [
                (Some("a".into()), Some(1000), 200, 2),
                (Some("b".into()), Some(50), 50, 1)
            ]
        );
        assert_eq!(stopped(&s), [true, false]);
    }

    #[test]
    fn another_page_stopping_a_file_or_its_connection_closing_ends_its_entry() {
        let s = run(
            State::default(),
            vec![hello(0), announced("a", 1000), part(1, 100)],
        );
        // Told by the bridge that the page sending it stopped: parts on their way still count.
        let s = run(s, vec![Incoming::Event(Event::FileStopped { conn: 1 })]);
        assert_eq!(stopped(&s), [true]);
        let s = run(s, vec![part(2, 100)]);
        assert_eq!(files(&s), [(Some("a".into()), Some(1000), 200, 2)]);
        // A connection that closes is written no more.
        let s = run(s, vec![announced("b", 500), part(3, 10)]);
        let mut closed = s.conns[&1].info.clone();
        closed.state = ConnState::Closed;
        let s = run(s, vec![Incoming::Event(Event::Conn { conn: closed })]);
        assert_eq!(stopped(&s), [true, true]);
    }

    #[test]
    fn a_file_announced_before_the_last_one_is_whole_ends_it() {
        let s = run(
            State::default(),
            vec![
                hello(0),
                announced("a", 1000),
                part(1, 100),
                announced("b", 10),
            ],
        );
        let s = run(s, vec![part(2, 10)]);
        assert_eq!(
            files(&s),
            [
                (Some("a".into()), Some(1000), 100, 1),
                (Some("b".into()), Some(10), 10, 1)
            ]
        );
        assert_eq!(stopped(&s), [true, false]);
    }

    #[test]
    fn a_page_that_joins_late_gathers_the_parts_it_sees() {
        // History (up to seq 2) then live parts: one entry, counted once.
        let s = run(State::default(), vec![hello(2), part(1, 10), part(2, 10)]);
        let s = run(s, vec![part(3, 10)]);
        assert_eq!(files(&s), [(None, None, 30, 3)]);
        assert_eq!(
            s.conns[&1].info.tx_bytes, 10,
            "history was counted by the snapshot"
        );
        // A file announced now starts its own entry.
        let s = run(s, vec![announced("next", 5), part(4, 5)]);
        assert_eq!(files(&s)[1], (Some("next".into()), Some(5), 5, 1));
    }

    #[test]
    fn an_empty_file_is_done_at_once() {
        let s = run(State::default(), vec![hello(0), announced("empty", 0)]);
        assert!(matches!(s.conns[&1].log.last(), Some(Entry::File(f)) if f.done()));
        let s = run(s, vec![part(1, 3)]);
        assert_eq!(files(&s).len(), 2, "a later part is not the empty file's");
    }
}
