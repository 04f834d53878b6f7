//! The records the bridge still holds, bounded per connection and in total.
//!
//! Each connection keeps its encoded record frames oldest first, in chunks; a global index
//! remembers the order of all of them, so that the oldest record overall can be dropped when the
//! total is exceeded. Records dropped per connection leave stale entries in that index; they are
//! skipped, and swept out whenever they outnumber the live ones, so the index stays proportional
//! to what is held.
//!
//! A page that joins needs every held record, in sequence order. Copying hundreds of thousands
//! of them under the hub's lock would stall every peer meanwhile, so chunks are shared instead:
//! [`History::snapshot`] takes a reference to each connection's chunks (a few thousand pointer
//! copies, whatever the number of records), and the page's session merges them into sequence
//! order outside the lock. A chunk that a snapshot still reads is never changed: records dropped
//! from it are skipped, and new records go to a fresh chunk.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use protocol::{ConnId, Seq};
// Several lookups a record: SipHash was a twentieth of a round trip's instructions, and the
// keys are the bridge's own connection ids, which no stranger picks.
use rustc_hash::FxHashMap as HashMap;

/// Records per chunk, at most.
const CHUNK: usize = 256;

type Chunk = Vec<(Seq, Bytes)>;

pub struct History {
    /// Memory a held record costs beyond its frame (its entries here, the allocation's own
    /// bookkeeping), so that the bounds hold for real even when a peer sends a byte at a time.
    overhead: usize,
    per_conn_limit: usize,
    total_limit: usize,
    total: usize,
    held: usize,
    conns: HashMap<ConnId, Held>,
    order: VecDeque<(ConnId, Seq)>,
}

#[derive(Default)]
struct Held {
    bytes: usize,
    /// Oldest first; never empty while the connection holds anything.
    chunks: VecDeque<Arc<Chunk>>,
    /// Entries at the front of the first chunk that are no longer held: their frames are
    /// freed (emptied), or, while a snapshot shares the chunk, left for it.
    skip: usize,
}

impl History {
    pub fn new(per_conn_limit: usize, total_limit: usize) -> Self {
        History {
            overhead: 0,
            per_conn_limit,
            total_limit,
            total: 0,
            held: 0,
            conns: HashMap::default(),
            order: VecDeque::new(),
        }
    }

    /// Counts `overhead` bytes per record, beyond its frame, against both bounds.
    pub fn counting_overhead(self, overhead: usize) -> Self {
        History { overhead, ..self }
    }

    /// Holds `frame`, then drops the oldest records until both bounds hold again, telling
    /// `dropped` about each one (it may be `frame` itself, if that alone is over the bound).
    pub fn push(
        &mut self,
        conn: ConnId,
        seq: Seq,
        frame: Bytes,
        mut dropped: impl FnMut(ConnId, &Bytes),
    ) {
        let cost = frame.len() + self.overhead;
        let held = self.conns.entry(conn).or_default();
        held.bytes += cost;
        let writable = held
            .chunks
            .back_mut()
            .filter(|c| c.len() < CHUNK)
            .and_then(Arc::get_mut);
        match writable {
            Some(chunk) => chunk.push((seq, frame)),
            None => held.chunks.push_back(Arc::new(vec![(seq, frame)])),
        }
        self.total += cost;
        self.held += 1;
        self.order.push_back((conn, seq));

        while self.held_by(conn) > self.per_conn_limit {
            if let Some(frame) = self.drop_oldest_of(conn) {
                dropped(conn, &frame);
            }
        }
        while self.total > self.total_limit {
            let Some((oldest, seq)) = self.order.pop_front() else {
                break;
            };
            if self.is_live(oldest, seq) {
                if let Some(frame) = self.drop_oldest_of(oldest) {
                    dropped(oldest, &frame);
                }
            }
        }
        if self.order.len() > 2 * self.held + 64 {
            let conns = &self.conns;
            self.order.retain(|&(conn, seq)| is_live(conns, conn, seq));
        }
    }

    /// Forgets a connection and everything it held.
    pub fn forget(&mut self, conn: ConnId) {
        if let Some(held) = self.conns.remove(&conn) {
            self.total -= held.bytes;
            self.held -= held.len();
        }
    }

    /// What is held now, to be read in sequence order later, without the lock: costs a pointer
    /// copy per chunk, not per record.
    pub fn snapshot(&self) -> Snapshot {
        snapshot_of(self.conns.values())
    }

    /// What is held now of one connection, as [`History::snapshot`] takes it.
    pub fn snapshot_of(&self, conn: ConnId) -> Snapshot {
        snapshot_of(self.conns.get(&conn))
    }

    fn held_by(&self, conn: ConnId) -> usize {
        self.conns.get(&conn).map_or(0, |held| held.bytes)
    }

    fn is_live(&self, conn: ConnId, seq: Seq) -> bool {
        is_live(&self.conns, conn, seq)
    }

    fn drop_oldest_of(&mut self, conn: ConnId) -> Option<Bytes> {
        let held = self.conns.get_mut(&conn)?;
        let front = held.chunks.front_mut()?;
        // The record is skipped, not removed: removing the front of a chunk would move all the
        // rest, at every record once the bound is reached.
        let frame = match Arc::get_mut(front) {
            // Nobody else reads this chunk: free the record now, and those skipped before it
            // while a snapshot shared the chunk.
            Some(chunk) => {
                let frame = std::mem::take(&mut chunk.get_mut(held.skip)?.1);
                let before = chunk[..held.skip].iter_mut().rev();
                for (_, left) in before.take_while(|(_, left)| !left.is_empty()) {
                    *left = Bytes::new();
                }
                frame
            }
            // A snapshot still reads it: the record is freed with the chunk.
            None => front.get(held.skip)?.1.clone(),
        };
        held.skip += 1;
        if held.skip == front.len() {
            held.chunks.pop_front();
            held.skip = 0;
        }
        let cost = frame.len() + self.overhead;
        held.bytes -= cost;
        self.total -= cost;
        self.held -= 1;
        Some(frame)
    }
}

impl Held {
    fn len(&self) -> usize {
        self.chunks.iter().map(|c| c.len()).sum::<usize>() - self.skip
    }

    /// The sequence number of the oldest record held.
    fn oldest(&self) -> Option<Seq> {
        self.chunks
            .front()
            .and_then(|c| c.get(self.skip))
            .map(|&(seq, _)| seq)
    }
}

/// A snapshot of these connections' records.
fn snapshot_of<'a>(held: impl IntoIterator<Item = &'a Held>) -> Snapshot {
    let mut runs = Vec::new();
    let mut conns = Vec::new();
    for held in held.into_iter().filter(|h| !h.chunks.is_empty()) {
        let first = runs.len();
        runs.extend(held.chunks.iter().cloned());
        conns.push((first, runs.len(), held.skip));
    }
    Snapshot { runs, conns }
}

/// Whether `(conn, seq)` is still held: records only ever leave a connection from the front.
fn is_live(conns: &HashMap<ConnId, Held>, conn: ConnId, seq: Seq) -> bool {
    conns
        .get(&conn)
        .and_then(Held::oldest)
        .is_some_and(|oldest| seq >= oldest)
}

/// The records held when it was taken, shared with the history; [`Snapshot::frames`] yields
/// them in sequence order.
pub struct Snapshot {
    /// Every connection's chunks, one connection after another.
    runs: Vec<Arc<Chunk>>,
    /// Per connection: its chunks in `runs` (`first..end`), and the entries of its first chunk
    /// that were no longer held.
    conns: Vec<(usize, usize, usize)>,
}

impl Snapshot {
    /// Every record frame, oldest first: a merge of the connections' own (ordered) records.
    pub fn frames(&self) -> impl Iterator<Item = Bytes> + '_ {
        // Per connection, a cursor: (its next record's seq, the connection, chunk, entry).
        let mut next: BinaryHeap<Reverse<(Seq, usize, usize, usize)>> = self
            .conns
            .iter()
            .enumerate()
            .filter_map(|(c, &(first, _, skip))| {
                let &(seq, _) = self.runs[first].get(skip)?;
                Some(Reverse((seq, c, first, skip)))
            })
            .collect();
        std::iter::from_fn(move || {
            let Reverse((_, c, run, at)) = next.pop()?;
            let frame = self.runs[run][at].1.clone();
            let (run, at) = if at + 1 < self.runs[run].len() {
                (run, at + 1)
            } else {
                (run + 1, 0)
            };
            if run < self.conns[c].1 {
                next.push(Reverse((self.runs[run][at].0, c, run, at)));
            }
            Some(frame)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(h: &mut History, conn: ConnId, seq: Seq, len: usize) -> Vec<(ConnId, usize)> {
        let mut dropped = Vec::new();
        h.push(conn, seq, Bytes::from(vec![seq as u8; len]), |c, f| {
            dropped.push((c, f.len()))
        });
        dropped
    }

    fn seqs(h: &History) -> Vec<u8> {
        h.snapshot().frames().map(|f| f[0]).collect()
    }

    #[test]
    fn replays_in_sequence_order_across_connections() {
        let mut h = History::new(100, 1000);
        for (conn, seq) in [(1, 1), (2, 2), (1, 3), (3, 4), (2, 5)] {
            assert!(push(&mut h, conn, seq, 10).is_empty());
        }
        assert_eq!(seqs(&h), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn per_connection_bound_drops_that_connections_oldest() {
        let mut h = History::new(25, 1000);
        push(&mut h, 1, 1, 10);
        push(&mut h, 2, 2, 10);
        push(&mut h, 1, 3, 10);
        assert_eq!(push(&mut h, 1, 4, 10), [(1, 10)]);
        assert_eq!(seqs(&h), [2, 3, 4]);
        // A record larger than the bound is dropped at once.
        assert_eq!(push(&mut h, 3, 5, 30), [(3, 30)]);
        assert_eq!(seqs(&h), [2, 3, 4]);
    }

    #[test]
    fn total_bound_drops_the_oldest_overall() {
        let mut h = History::new(100, 30);
        push(&mut h, 1, 1, 10);
        push(&mut h, 2, 2, 10);
        push(&mut h, 2, 3, 10);
        assert_eq!(push(&mut h, 3, 4, 10), [(1, 10)]);
        assert_eq!(push(&mut h, 3, 5, 15), [(2, 10), (2, 10)]);
        assert_eq!(seqs(&h), [4, 5]);
        h.forget(3);
        assert_eq!(seqs(&h), Vec::<u8>::new());
        assert_eq!((h.total, h.held), (0, 0));
    }

    #[test]
    fn stale_index_entries_are_swept() {
        let mut h = History::new(10, 1 << 20);
        for seq in 1..10_000 {
            push(&mut h, seq % 3, seq, 10);
        }
        assert_eq!(h.held, 3);
        assert!(h.order.len() <= 2 * h.held + 65, "{}", h.order.len());
        assert_eq!(seqs(&h).len(), 3);
    }

    #[test]
    fn overhead_counts_against_the_bounds() {
        // Ten-byte frames costing 40 each: a 100-byte bound holds two of them, not ten.
        let mut h = History::new(100, 1000).counting_overhead(30);
        for seq in 1..=5 {
            push(&mut h, 1, seq, 10);
        }
        assert_eq!(seqs(&h), [4, 5]);
        assert_eq!(h.total, 80);
    }

    #[test]
    fn a_snapshot_is_what_was_held_when_it_was_taken() {
        // Ten records of one byte each per connection, over several chunks.
        let mut h = History::new(10, 1000);
        let mut seq = 0;
        for _ in 0..CHUNK * 2 {
            for conn in [1, 2] {
                seq += 1;
                push(&mut h, conn, seq, 1);
            }
        }
        let before = h.snapshot();
        let held: Vec<u8> = before.frames().map(|f| f[0]).collect();
        assert_eq!(held.len(), 20);
        // The history moves on (dropping what the snapshot holds); the snapshot does not.
        for _ in 0..CHUNK * 3 {
            seq += 1;
            push(&mut h, 1 + seq % 2, seq, 1);
        }
        assert_eq!(before.frames().map(|f| f[0]).collect::<Vec<_>>(), held);
        assert_eq!(seqs(&h).len(), 20);
        assert_eq!(h.held, 20);
        assert_eq!(h.total, 20);
        // Once the snapshot is gone, what only it kept is freed.
        drop(before);
        push(&mut h, 1, seq + 1, 1);
        let chunks: usize = h.conns.values().map(|c| c.chunks.len()).sum();
        assert!(chunks <= 4, "{chunks} chunks for 20 records");
    }

    #[test]
    fn a_dropped_record_is_freed_at_once_or_once_no_snapshot_shares_it() {
        let mut h = History::new(3, 1000);
        let frames: Vec<Bytes> = (0..5u8).map(|i| Bytes::from(vec![i])).collect();
        let push = |h: &mut History, i: usize| h.push(1, i as u64, frames[i].clone(), |_, _| {});
        for i in 0..3 {
            push(&mut h, i);
        }
        let snapshot = h.snapshot();
        // Over the bound: the oldest is dropped, but the snapshot still reads it.
        push(&mut h, 3);
        assert!(!frames[0].is_unique());
        drop(snapshot);
        // The next drop frees its own record and the one the snapshot held on to.
        push(&mut h, 4);
        assert!(frames[0].is_unique() && frames[1].is_unique());
        assert!(!frames[2].is_unique());
        assert_eq!(seqs(&h), [2, 3, 4]);
    }

    #[test]
    fn snapshot_order_is_sequence_order_for_any_interleaving() {
        let mut h = History::new(1 << 20, 1 << 20);
        let mut expected = Vec::new();
        for seq in 1..=3000u64 {
            let conn = (seq * 7919) % 13;
            h.push(
                conn,
                seq,
                Bytes::from(seq.to_le_bytes().to_vec()),
                |_, _| {},
            );
            expected.push(seq);
            if seq % 500 == 0 {
                // A snapshot in the middle splits the chunks it shares.
                let _ = h.snapshot();
            }
        }
        let got: Vec<u64> = h
            .snapshot()
            .frames()
            .map(|f| u64::from_le_bytes(f[..8].try_into().unwrap()))
            .collect();
        assert_eq!(got, expected);
    }
}
