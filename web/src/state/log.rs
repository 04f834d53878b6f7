//! The lines of one conversation, held the way the page needs them: appended often, dropped
//! from the front past a bound, cloned with every state, and rendered or searched chunk by chunk.

use std::rc::Rc;

use protocol::{Flow, Marks, Micros, Seq};

use super::files::FileSend;
use super::table::locate;

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

/// One record, as the page keeps it: the bytes as they were, decoded only when shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rec {
    pub seq: Seq,
    pub flow: Flow,
    pub at: Micros,
    /// How the message ended, whether its checksum held, whether it is part of a file.
    pub marks: Marks,
    /// The auto-reply rule that sent it.
    pub rule: Option<Rc<str>>,
    pub data: Rc<[u8]>,
}

impl Rec {
    /// A message with no marks, sent by no rule.
    #[cfg(test)]
    pub fn new(seq: Seq, flow: Flow, at: Micros, data: Rc<[u8]>) -> Rec {
        Rec {
            seq,
            flow,
            at,
            marks: Marks::NONE,
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
            Entry::Record(r) => format!("r{}", r.seq),
            Entry::Note { id, .. } => format!("n{id}"),
            Entry::File(f) => format!("f{}", f.id),
        }
    }
}

/// The lines of one conversation, oldest first, in shared chunks.
///
/// Cloning copies only the list of chunk pointers; appending copies at most the last chunk.
/// Equality is identity of the chunks (what a render needs to know: "did this change?").
#[derive(Clone, Debug, Default)]
pub struct Log {
    chunks: Vec<Rc<Vec<Entry>>>,
    len: usize,
    bytes: usize,
    /// Records this page dropped to stay within [`Limits`].
    pub dropped_msgs: u64,
    pub dropped_bytes: u64,
}

impl PartialEq for Log {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len
            && self.dropped_msgs == other.dropped_msgs
            && self.chunks.len() == other.chunks.len()
            && self
                .chunks
                .iter()
                .zip(&other.chunks)
                .all(|(a, b)| Rc::ptr_eq(a, b))
    }
}

impl Log {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The payload bytes held.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn push(&mut self, entry: Entry, limits: Limits) {
        if self.chunks.last().is_none_or(|c| c.len() >= CHUNK) {
            self.chunks.push(Rc::new(Vec::with_capacity(CHUNK)));
        }
        if let Entry::Record(r) = &entry {
            self.bytes += r.data.len();
        }
        self.len += 1;
        Rc::make_mut(self.chunks.last_mut().expect("a chunk")).push(entry);
        // Drop whole chunks from the front: cheap, and the newest messages always stay.
        while (self.len > limits.msgs || self.bytes > limits.bytes) && self.chunks.len() > 1 {
            let first = self.chunks.remove(0);
            self.len -= first.len();
            for e in first.iter() {
                if let Entry::Record(r) = e {
                    self.bytes -= r.data.len();
                    self.dropped_msgs += 1;
                    self.dropped_bytes += r.data.len() as u64;
                }
            }
        }
    }

    /// The entries from index `start` (0 is the oldest held) to the end.
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = &Entry> + '_ {
        self.chunks_from(start).flat_map(|(c, skip)| &c[skip..])
    }

    /// The chunks from the one that holds entry `start` on, each with the index in it to begin
    /// at: to render or search a chunk at a time, so that a chunk that did not change need not
    /// be done again.
    pub fn chunks_from(&self, start: usize) -> impl Iterator<Item = (&Rc<Vec<Entry>>, usize)> {
        let (first, skip) = locate(&self.chunks, start);
        self.chunks[first..]
            .iter()
            .enumerate()
            .map(move |(i, c)| (c, if i == 0 { skip } else { 0 }))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.iter_from(0)
    }

    /// Newest first: for what looks back only a little way (the last record, the last minute).
    pub fn iter_rev(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.chunks.iter().rev().flat_map(|c| c.iter().rev())
    }

    /// Changes the newest entry that `find` picks, if there is one: copies only its chunk.
    pub fn update_rev<R>(
        &mut self,
        mut find: impl FnMut(&Entry) -> bool,
        change: impl FnOnce(&mut Entry) -> R,
    ) -> Option<R> {
        for chunk in self.chunks.iter_mut().rev() {
            if let Some(at) = chunk.iter().rposition(&mut find) {
                return Some(change(&mut Rc::make_mut(chunk)[at]));
            }
        }
        None
    }

    pub fn last(&self) -> Option<&Entry> {
        self.chunks.last().and_then(|c| c.last())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
