//! Backpressure from pages to peers: a connection pauses reading from its peer while a page that is still reading has
//! fallen far behind, so that every page that keeps reading sees every record. A page that
//! makes no progress for [`STALLED_AFTER`] is no longer waited for: it alone is marked stalled,
//! and is re-synced when it reads again. Each page is judged on its own, so a page that stops
//! reading never changes what a page that reads receives. Time the bridge itself did not run
//! (a loaded machine, a paused process) is not held against a page, up to [`STALLED_AT_MOST`].
//!
//! A page's lag is counted in frames of the fan-out: the hub counts every frame it fans out
//! ([`Backpressure::sent`]), and each page's session counts the frames it has taken and delivered
//! ([`PageClock::delivered`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Frames a page may be behind before connections wait for it. Half the fan-out's capacity,
/// so that a page that keeps reading is never dropped from it.
pub const WAIT_ABOVE: u64 = 512;
/// A page that makes no progress for this long while behind is left to be re-synced.
const STALLED_AFTER: Duration = Duration::from_millis(250);
/// A wait that ends later than this past its time means the bridge itself was not running (a
/// loaded machine, a paused process): nobody could make progress then, not the page's session
/// either, so the page is given a fresh [`STALLED_AFTER`] from then rather than judged on time
/// it could not use.
const LATE: Duration = Duration::from_millis(10);
/// However often that happens, a page that makes no progress for this long is let go: on a
/// machine that stays overloaded, a page that has truly stopped still holds nobody up for long.
const STALLED_AT_MOST: Duration = Duration::from_millis(1000);

#[derive(Default)]
pub struct Backpressure {
    /// Frames fanned out so far.
    sent: AtomicU64,
    pages: Mutex<Vec<Arc<Clock>>>,
    /// Told when a page has delivered a batch, waking connections that wait for it.
    progress: Notify,
}

/// Where one page is in the fan-out.
#[derive(Default)]
struct Clock {
    /// The value of [`Backpressure::sent`] up to which this page has delivered every frame.
    delivered: AtomicU64,
    /// Frames delivered of any kind, its snapshot's included: whether the page is reading.
    progress: AtomicU64,
    /// Set by a waiting connection when the page made no progress for [`STALLED_AFTER`];
    /// cleared when the page catches up.
    stalled: AtomicBool,
}

/// A page's registration, for as long as its session lives.
pub struct PageClock {
    backpressure: Arc<Backpressure>,
    clock: Arc<Clock>,
}

impl Backpressure {
    /// Counts a frame fanned out. Called under the hub's lock, with the fan-out itself.
    pub fn sent(&self) {
        self.sent.fetch_add(1, Ordering::Release);
    }

    /// Registers a page that has everything fanned out so far (its snapshot). Called under the
    /// hub's lock, with its subscription.
    pub fn join(self: &Arc<Self>) -> PageClock {
        let clock = Arc::new(Clock {
            delivered: AtomicU64::new(self.sent.load(Ordering::Acquire)),
            ..Clock::default()
        });
        self.lock().push(clock.clone());
        PageClock {
            backpressure: self.clone(),
            clock,
        }
    }

    /// Waits while a page that is still reading is more than [`WAIT_ABOVE`] frames behind.
    pub async fn wait(&self) {
        if !self.anyone_behind() {
            return;
        }
        let mut watched: Vec<Watched> = Vec::new();
        // When the last wait should have ended, to tell a late wake-up.
        let mut due: Option<Instant> = None;
        loop {
            let progressed = self.progress.notified();
            let sent = self.sent.load(Ordering::Acquire);
            let now = Instant::now();
            let late = due.map_or(Duration::ZERO, |due| now.saturating_duration_since(due));
            if late > LATE {
                for w in &mut watched {
                    w.since = now;
                }
            }
            let mut wait = None::<Duration>;
            for clock in self.lock().iter() {
                let delivered = clock.delivered.load(Ordering::Acquire);
                let behind = sent.saturating_sub(delivered);
                if clock.stalled.load(Ordering::Relaxed) || behind <= WAIT_ABOVE {
                    continue;
                }
                let progress = clock.progress.load(Ordering::Acquire);
                let w = match watched.iter().position(|w| Arc::ptr_eq(&w.clock, clock)) {
                    Some(i) => &mut watched[i],
                    None => {
                        watched.push(Watched::new(clock.clone(), progress, now));
                        watched.last_mut().expect("just pushed")
                    }
                };
                if w.progress != progress {
                    *w = Watched::new(clock.clone(), progress, now);
                }
                let left = STALLED_AFTER
                    .saturating_sub(now - w.since)
                    .min(STALLED_AT_MOST.saturating_sub(now - w.first));
                if left.is_zero() {
                    tracing::debug!("a page stopped reading; it will be re-synced");
                    clock.stalled.store(true, Ordering::Relaxed);
                } else {
                    wait = Some(wait.map_or(left, |w| w.min(left)));
                }
            }
            let Some(wait) = wait else { return };
            due = Some(now + wait);
            if tokio::time::timeout(wait, progressed).await.is_ok() {
                // Woken by progress, not by the time: nothing was late.
                due = None;
            }
        }
    }

    /// Whether a page that is still reading is more than [`WAIT_ABOVE`] frames behind: the
    /// common case, asked before every read a connection records, so it costs a lock nobody
    /// holds for long and a load per page. (The fan-out's own `len` was asked before: a binary
    /// search over its slots' locks, a dozen cache misses a read.)
    fn anyone_behind(&self) -> bool {
        let sent = self.sent.load(Ordering::Acquire);
        self.lock().iter().any(|clock| {
            !clock.stalled.load(Ordering::Relaxed)
                && sent.saturating_sub(clock.delivered.load(Ordering::Acquire)) > WAIT_ABOVE
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Clock>>> {
        self.pages.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A page a waiting connection watches: the progress it had made, since when, and from when
/// the bridge has been running to see it make more.
struct Watched {
    clock: Arc<Clock>,
    progress: u64,
    first: Instant,
    since: Instant,
}

impl Watched {
    fn new(clock: Arc<Clock>, progress: u64, now: Instant) -> Self {
        Self {
            clock,
            progress,
            first: now,
            since: now,
        }
    }
}

impl PageClock {
    /// The page has been handed `frames` more frames of its snapshot: it is reading, though no
    /// nearer the live frames.
    pub fn progressed(&self, frames: u64) {
        self.clock.progress.fetch_add(frames, Ordering::AcqRel);
    }

    /// The page has been handed `frames` more live frames: connections waiting for it may go on.
    pub fn delivered(&self, frames: u64) {
        self.clock.progress.fetch_add(frames, Ordering::AcqRel);
        let delivered = self.clock.delivered.fetch_add(frames, Ordering::AcqRel) + frames;
        let behind = self
            .backpressure
            .sent
            .load(Ordering::Acquire)
            .saturating_sub(delivered);
        if behind <= WAIT_ABOVE / 2 {
            self.clock.stalled.store(false, Ordering::Relaxed);
        }
        self.backpressure.progress.notify_waiters();
    }
}

impl Drop for PageClock {
    fn drop(&mut self) {
        self.backpressure
            .lock()
            .retain(|clock| !Arc::ptr_eq(clock, &self.clock));
        // A connection may be waiting for this page alone.
        self.backpressure.progress.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backpressure with one page that is behind by more than it may be.
    fn one_page_behind() -> (Arc<Backpressure>, PageClock) {
        let backpressure = Arc::new(Backpressure::default());
        let page = backpressure.join();
        for _ in 0..=WAIT_ABOVE {
            backpressure.sent();
        }
        (backpressure, page)
    }

    fn waiting(backpressure: &Arc<Backpressure>) -> tokio::task::JoinHandle<()> {
        let backpressure = backpressure.clone();
        tokio::spawn(async move { backpressure.wait().await })
    }

    #[tokio::test(start_paused = true)]
    async fn a_page_no_more_than_wait_above_behind_or_stalled_is_not_waited_for() {
        let backpressure = Arc::new(Backpressure::default());
        let page = backpressure.join();
        for _ in 0..WAIT_ABOVE {
            backpressure.sent();
        }
        let start = Instant::now();
        waiting(&backpressure).await.unwrap();
        backpressure.sent();
        page.clock.stalled.store(true, Ordering::Relaxed);
        waiting(&backpressure).await.unwrap();
        // Time is paused: any wait would have moved it on.
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_page_that_makes_no_progress_is_let_go_after_stalled_after() {
        let (backpressure, page) = one_page_behind();
        let start = Instant::now();
        waiting(&backpressure).await.unwrap();
        assert_eq!(start.elapsed(), STALLED_AFTER);
        assert!(page.clock.stalled.load(Ordering::Relaxed));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_of_the_whole_bridge_is_not_held_against_a_page() {
        let (backpressure, page) = one_page_behind();
        let wait = waiting(&backpressure);
        tokio::task::yield_now().await;
        // The process does not run for twice the stall time (a loaded machine, SIGSTOP): when
        // it runs again, the page's session has had no chance to deliver anything.
        tokio::time::advance(STALLED_AFTER * 2).await;
        tokio::task::yield_now().await;
        assert!(
            !page.clock.stalled.load(Ordering::Relaxed),
            "a page was judged stalled on time the bridge itself was not running"
        );
        page.delivered(WAIT_ABOVE + 1);
        wait.await.unwrap();
        assert!(!page.clock.stalled.load(Ordering::Relaxed));
    }

    #[tokio::test(start_paused = true)]
    async fn on_a_machine_that_stays_overloaded_a_stopped_page_is_still_let_go() {
        let (backpressure, page) = one_page_behind();
        let start = Instant::now();
        let wait = waiting(&backpressure);
        // Every wake-up comes late, by more than LATE.
        while !wait.is_finished() {
            tokio::task::yield_now().await;
            tokio::time::advance(STALLED_AFTER / 2 + LATE * 2).await;
        }
        wait.await.unwrap();
        assert!(page.clock.stalled.load(Ordering::Relaxed));
        assert!(
            start.elapsed() <= STALLED_AT_MOST + STALLED_AFTER,
            "{:?}",
            start.elapsed()
        );
    }
}
