//! The records the bridge still holds, bounded per connection and in total.
//!
//! Each connection keeps its encoded record frames oldest first; a global index remembers the
//! order of all of them, so that the oldest record overall can be dropped when the total is
//! exceeded, and a snapshot can replay every held record in sequence order without sorting.
//! Records dropped per connection leave stale entries in that index; they are skipped, and swept
//! out whenever they outnumber the live ones, so the index stays proportional to what is held.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use protocol::{ConnId, Seq};

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
    records: VecDeque<(Seq, Bytes)>,
}

impl History {
    pub fn new(per_conn_limit: usize, total_limit: usize) -> Self {
        History {
            overhead: 0,
            per_conn_limit,
            total_limit,
            total: 0,
            held: 0,
            conns: HashMap::new(),
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
        held.records.push_back((seq, frame.clone()));
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
            self.held -= held.records.len();
        }
    }

    /// Every held record frame, in sequence order.
    pub fn frames(&self) -> impl Iterator<Item = &Bytes> {
        let mut next: HashMap<ConnId, usize> = HashMap::new();
        self.order.iter().filter_map(move |&(conn, seq)| {
            let records = &self.conns.get(&conn)?.records;
            let at = next.entry(conn).or_default();
            let (held_seq, frame) = records.get(*at)?;
            (*held_seq == seq).then(|| {
                *at += 1;
                frame
            })
        })
    }

    fn held_by(&self, conn: ConnId) -> usize {
        self.conns.get(&conn).map_or(0, |held| held.bytes)
    }

    fn is_live(&self, conn: ConnId, seq: Seq) -> bool {
        is_live(&self.conns, conn, seq)
    }

    fn drop_oldest_of(&mut self, conn: ConnId) -> Option<Bytes> {
        let held = self.conns.get_mut(&conn)?;
        let (_, frame) = held.records.pop_front()?;
        held.bytes -= frame.len() + self.overhead;
        self.total -= frame.len() + self.overhead;
        self.held -= 1;
        Some(frame)
    }
}

/// Whether `(conn, seq)` is still held: records only ever leave a connection from the front.
fn is_live(conns: &HashMap<ConnId, Held>, conn: ConnId, seq: Seq) -> bool {
    conns
        .get(&conn)
        .and_then(|held| held.records.front())
        .is_some_and(|&(oldest, _)| seq >= oldest)
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
        h.frames().map(|f| f[0]).collect()
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
}
