//! The lines of one conversation, held the way the page needs them: appended often, dropped
//! from the front past a bound, cloned with every state, and rendered or searched chunk by chunk.

use std::rc::Rc;

use protocol::{Record, RecordHeader};

use super::chunks::Chunks;
use super::files::FileSend;

/// Entries per chunk: small enough that copying the last one on append is cheap, large enough
/// that the list of chunks stays short.
pub(crate) const CHUNK: usize = 256;

/// How much of a conversation the page holds. The bridge holds the rest (and its transcript);
/// the page drops its oldest messages past these bounds and says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub msgs: usize,
    pub bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            msgs: 50_000,
            bytes: 32 << 20,
        }
    }
}

/// One record, as the page keeps it: its header as the wire gave it, and its bytes as they were,
/// shared, and decoded only when shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rec {
    /// Its connection, sequence number, direction, time, and marks (how the message ended,
    /// whether its checksum held).
    pub head: RecordHeader,
    /// The auto-reply rule that sent it.
    pub rule: Option<Rc<str>>,
    pub data: Rc<[u8]>,
}

impl From<Record> for Rec {
    fn from(r: Record) -> Rec {
        Rec {
            head: r.header(),
            rule: r.rule.map(Rc::from),
            data: r.data.into(),
        }
    }
}

impl Rec {
    /// A message of connection 1 with no marks, sent by no rule.
    #[cfg(test)]
    pub fn new(
        seq: protocol::Seq,
        flow: protocol::Flow,
        at: protocol::Micros,
        data: Rc<[u8]>,
    ) -> Rec {
        Rec {
            head: RecordHeader {
                conn: 1,
                seq,
                flow,
                at,
                marks: protocol::Marks::NONE,
            },
            rule: None,
            data,
        }
    }
}

/// A line of a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Record(Rec),
    /// Something the bridge said about this connection (an error), in its place in time.
    Note {
        id: u64,
        text: Rc<str>,
    },
    /// A file sent to the peer: one entry for all its parts.
    File(FileSend),
}

impl Entry {
    /// A key that is unique within a conversation and stable across renders.
    pub fn key(&self) -> String {
        match self {
            Entry::Record(r) => format!("r{}", r.head.seq),
            Entry::Note { id, .. } => format!("n{id}"),
            Entry::File(f) => format!("f{}", f.id),
        }
    }
}

/// The lines of one conversation, oldest first, in shared [`Chunks`].
///
/// Cloning copies only the list of chunk pointers; appending copies at most the last chunk.
/// Equality is identity of the chunks (what a render needs to know: "did this change?").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Log {
    entries: Chunks<Entry>,
    bytes: usize,
    /// Records this page dropped to stay within [`Limits`].
    pub dropped_msgs: u64,
    pub dropped_bytes: u64,
}

impl Log {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload bytes held.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn push(&mut self, entry: Entry, limits: Limits) {
        if let Entry::Record(r) = &entry {
            self.bytes += r.data.len();
        }
        self.entries.push(entry, CHUNK);
        // Drop whole chunks from the front: cheap, and the newest messages always stay.
        while (self.len() > limits.msgs || self.bytes > limits.bytes)
            && self.entries.chunks().len() > 1
        {
            for e in self.entries.remove_chunk(0).iter() {
                if let Entry::Record(r) = e {
                    self.bytes -= r.data.len();
                    self.dropped_msgs += 1;
                    self.dropped_bytes += r.data.len() as u64;
                }
            }
        }
    }

    /// The chunks from the one that holds entry `start` on, each with the index in it to begin
    /// at: to render or search a chunk at a time, so that a chunk that did not change need not
    /// be done again.
    pub fn chunks_from(&self, start: usize) -> impl Iterator<Item = (&Rc<Vec<Entry>>, usize)> {
        self.entries.chunks_from(start)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.entries.iter()
    }

    /// Newest first: for what looks back only a little way (the last record, the last minute).
    pub fn iter_rev(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.entries.iter().rev()
    }

    /// Changes the newest entry that `find` picks, if there is one: copies only its chunk.
    pub fn update_rev<R>(
        &mut self,
        mut find: impl FnMut(&Entry) -> bool,
        change: impl FnOnce(&mut Entry) -> R,
    ) -> Option<R> {
        let chunks = self.entries.chunks();
        let (c, i) = (0..chunks.len())
            .rev()
            .find_map(|c| Some((c, chunks[c].iter().rposition(&mut find)?)))?;
        Some(change(self.entries.get_mut(c, i)))
    }

    pub fn last(&self) -> Option<&Entry> {
        self.entries.iter().next_back()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{Flow, Micros};

    fn log_of(n: u64) -> Log {
        let mut log = Log::default();
        for seq in 1..=n {
            let data: Rc<[u8]> = Rc::from(&b"x"[..]);
            let at = seq as Micros * 10;
            let flow = Flow::Rx;
            log.push(
                Entry::Record(Rec::new(seq, flow, at, data)),
                Limits::default(),
            );
        }
        log
    }

    #[test]
    fn chunks_from_an_index_begin_where_it_is() {
        let log = log_of(CHUNK as u64 * 2 + 10);
        let from: Vec<(usize, usize)> = log
            .chunks_from(CHUNK + 5)
            .map(|(c, i)| (c.len(), i))
            .collect();
        assert_eq!(from, [(CHUNK, 5), (10, 0)]);
        assert_eq!(log.chunks_from(0).count(), 3);
        assert_eq!(log.chunks_from(log.len()).count(), 0);
    }
}
