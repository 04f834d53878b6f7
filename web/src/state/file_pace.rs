//! A file's pace: how fast the page sends a file, not to be confused with the bridge's waiting
//! for pages that read. A part goes out only while what the peer has not yet
//! taken stays well under what the bridge will hold for it (`--send-queue`, 4 MiB by default),
//! so that no part is refused and a file of any size passes through bounded memory.
//!
//! What the peer has taken is read from the connection's counter of bytes written (which the
//! bridge's snapshots carry too, so a reconnect loses nothing), and the bridge's own count of
//! what waits (`waiting`) is a second bound. Pure: the page asks [`FilePace::next`] before each part.

use protocol::{ConnId, ConnState};

/// Bytes of a file read and sent at once.
pub const PART: u64 = 256 * 1024;
/// Bytes of a file that may be sent but not yet written to a peer, at most.
pub const AHEAD: u64 = 1 << 20;

/// A connection as the page knows it at the moment a file's sender asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    pub state: ConnState,
    /// Bytes written to the peer, all told.
    pub tx_bytes: u64,
    /// Bytes the bridge holds for the peer, not yet written.
    pub waiting: u64,
    /// Sends the bridge refused because the peer was not reading.
    pub refused: u32,
}

/// What the sender does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Send the next part.
    Go,
    /// Wait: the peers have enough to take for now.
    Wait,
    /// Every part was sent and written.
    Done,
    /// Give up, for this reason.
    Stop(String),
}

/// A file on its way to one connection or several.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePace {
    pub size: u64,
    /// Bytes handed to the bridge so far.
    pub sent: u64,
    /// Each target, and its counters when the file started.
    targets: Vec<(ConnId, Probe)>,
}

impl FilePace {
    pub fn new(size: u64, targets: Vec<(ConnId, Probe)>) -> FilePace {
        FilePace {
            size,
            sent: 0,
            targets,
        }
    }

    /// The size of the next part.
    pub fn part(&self) -> u64 {
        PART.min(self.size - self.sent.min(self.size))
    }

    /// Bytes of the file the slowest open target has taken.
    pub fn written(&self, probe: impl Fn(ConnId) -> Option<Probe>) -> u64 {
        self.targets
            .iter()
            .filter_map(|(id, start)| Some((probe(*id)?, start)))
            .filter(|(now, _)| now.state != ConnState::Closed)
            .map(|(now, start)| now.tx_bytes.saturating_sub(start.tx_bytes).min(self.sent))
            .min()
            .unwrap_or(0)
    }

    pub fn next(&self, probe: impl Fn(ConnId) -> Option<Probe>) -> Next {
        let mut open = 0;
        let mut behind = false;
        let mut written_all = true;
        for (id, start) in &self.targets {
            let Some(now) = probe(*id).filter(|p| p.state != ConnState::Closed) else {
                continue;
            };
            if now.refused > start.refused {
                return Next::Stop(
                    "the bridge refused a part: the peer is not reading what it is sent".into(),
                );
            }
            open += 1;
            let written = now.tx_bytes.saturating_sub(start.tx_bytes).min(self.sent);
            written_all &= written >= self.size;
            behind |= self.sent - written + self.part() > AHEAD || now.waiting > AHEAD;
        }
        if open == 0 {
            let which = if self.targets.len() == 1 {
                "the connection"
            } else {
                "every connection"
            };
            return Next::Stop(format!("{which} closed"));
        }
        match (self.sent >= self.size, written_all, behind) {
            (true, true, _) => Next::Done,
            (true, false, _) | (false, _, true) => Next::Wait,
            (false, _, false) => Next::Go,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(tx_bytes: u64, waiting: u64) -> Probe {
        Probe {
            state: ConnState::Open,
            tx_bytes,
            waiting,
            refused: 0,
        }
    }

    #[test]
    fn parts_go_while_little_is_unwritten() {
        let start = probe(100, 0);
        let mut pace = FilePace::new(3 * AHEAD, vec![(1, start)]);
        let now = |tx: u64, waiting: u64| move |_| Some(probe(100 + tx, waiting));
        assert_eq!(pace.next(now(0, 0)), Next::Go);
        pace.sent = AHEAD - PART;
        assert_eq!(
            pace.next(now(0, 0)),
            Next::Go,
            "exactly the bound with the next part"
        );
        pace.sent = AHEAD;
        assert_eq!(pace.next(now(0, 0)), Next::Wait);
        assert_eq!(pace.next(now(PART, 0)), Next::Go, "a part was written");
        assert_eq!(
            pace.next(now(PART, AHEAD + 1)),
            Next::Wait,
            "the bridge holds too much"
        );
        assert_eq!(pace.written(now(PART, 0)), PART);
        // Written beyond what was sent (another send meanwhile) counts as no more than sent.
        assert_eq!(pace.written(now(10 * AHEAD, 0)), AHEAD);
    }

    #[test]
    fn the_file_is_done_once_every_open_target_has_it_all() {
        let mut pace = FilePace::new(10, vec![(1, probe(0, 0)), (2, probe(5, 0))]);
        pace.sent = 10;
        let both = |a: u64, b: u64| {
            move |id| {
                Some(if id == 1 {
                    probe(a, 0)
                } else {
                    probe(5 + b, 0)
                })
            }
        };
        assert_eq!(pace.part(), 0);
        assert_eq!(pace.next(both(10, 4)), Next::Wait);
        assert_eq!(pace.written(both(10, 4)), 4, "the slowest");
        assert_eq!(pace.next(both(10, 10)), Next::Done);
        // One that closes is no longer waited for.
        let one_closed = |id| {
            Some(if id == 1 {
                probe(10, 0)
            } else {
                Probe {
                    state: ConnState::Closed,
                    ..probe(7, 0)
                }
            })
        };
        assert_eq!(pace.next(one_closed), Next::Done);
    }

    #[test]
    fn a_close_or_a_refusal_stops_it() {
        let pace = FilePace::new(10, vec![(1, probe(0, 0))]);
        let closed = |_| {
            Some(Probe {
                state: ConnState::Closed,
                ..probe(0, 0)
            })
        };
        assert_eq!(
            pace.next(closed),
            Next::Stop("the connection closed".into())
        );
        assert_eq!(
            pace.next(|_| None),
            Next::Stop("the connection closed".into())
        );
        let refused = |_| {
            Some(Probe {
                refused: 1,
                ..probe(0, 0)
            })
        };
        assert!(matches!(pace.next(refused), Next::Stop(why) if why.contains("refused")));
    }
}
