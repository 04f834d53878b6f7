//! Turns on the matching threads, handed out fairly.
//!
//! A message waits for a thread in a queue ordered by how much of its budget its connection
//! has used: a connection that has used little (an ordinary peer's short lines) goes before one
//! that keeps the threads busy (long lines against slow rules), and among equals the first to
//! ask goes first. A connection asks for one turn at a time (its reader waits for the answer),
//! so it never holds two threads, and its messages queue behind each other, not in front of
//! other connections'. A plain semaphore would serve in order of arrival: a peer with many
//! connections would then fill the queue ahead of everyone else.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;

/// A fixed number of threads' turns.
pub struct Threads {
    state: Mutex<State>,
}

struct State {
    free: usize,
    /// Who waits, first the connection that has used the least, then the first to ask.
    waiting: BTreeMap<(Duration, u64), oneshot::Sender<()>>,
    asked: u64,
}

/// A thread's turn: the thread goes to the next in the queue when this is dropped.
pub struct Turn<'a>(&'a Threads);

/// A place in the queue; leaving it (the wait is cancelled) gives back a turn it was handed.
struct Waiting<'a> {
    threads: &'a Threads,
    key: (Duration, u64),
    handed: Option<oneshot::Receiver<()>>,
}

impl Threads {
    pub const fn new(threads: usize) -> Threads {
        Threads {
            state: Mutex::new(State {
                free: threads,
                waiting: BTreeMap::new(),
                asked: 0,
            }),
        }
    }

    /// Waits for a turn, behind those whose connections have `used` less.
    pub async fn turn(&self, used: Duration) -> Turn<'_> {
        let mut waiting = {
            let mut state = self.state();
            if state.free > 0 && state.waiting.is_empty() {
                state.free -= 1;
                return Turn(self);
            }
            let key = (used, state.asked);
            state.asked += 1;
            let (tx, rx) = oneshot::channel();
            state.waiting.insert(key, tx);
            Waiting {
                threads: self,
                key,
                handed: Some(rx),
            }
        };
        if let Some(handed) = waiting.handed.as_mut() {
            // The sender lives in the queue until it hands this waiter the turn.
            let _ = handed.await;
        }
        waiting.handed = None;
        Turn(self)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// A turn is given back: to the first waiter, or to the free ones.
    fn give_back(&mut self) {
        match self.waiting.pop_first() {
            // The waiter's receiver lives while it is in the queue (it leaves under the lock).
            Some((_, waiter)) => {
                let _ = waiter.send(());
            }
            None => self.free += 1,
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.0.state().give_back();
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.handed.is_none() {
            return;
        }
        let mut state = self.threads.state();
        // Not in the queue any more: it was handed a turn it will not take.
        if state.waiting.remove(&self.key).is_none() {
            state.give_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_connection_that_used_least_goes_first_and_a_cancelled_wait_gives_back() {
        let threads = Threads::new(1);
        let first = threads.turn(Duration::ZERO).await;
        let mut busy = Box::pin(threads.turn(Duration::from_millis(800)));
        let mut cancelled = Box::pin(threads.turn(Duration::ZERO));
        let mut ordinary = Box::pin(threads.turn(Duration::from_millis(10)));
        assert!(futures::poll!(busy.as_mut()).is_pending());
        assert!(futures::poll!(cancelled.as_mut()).is_pending());
        assert!(futures::poll!(ordinary.as_mut()).is_pending());
        drop(first);
        // The turn went to the one that used least, which leaves without taking it.
        drop(cancelled);
        let ordinary = ordinary.await;
        assert!(futures::poll!(busy.as_mut()).is_pending());
        drop(ordinary);
        drop(busy.await);
        assert_eq!(threads.state().free, 1);
    }
}
