//! Backpressure from pages to peers: a connection pauses reading from its peer while a page that is still reading has
//! fallen far behind, so that every page that keeps reading sees every record. A page that
//! makes no progress for [`STALLED_AFTER`] is no longer waited for: it alone is marked stalled,
//! and is re-synced when it reads again. Each page is judged on its own, so a page that stops
//! reading never changes what a page that reads receives.
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
    /// `slowest` is how far behind the slowest subscriber of the fan-out is, a cheap upper
    /// bound that lets the common case return at once.
    pub async fn wait(&self, slowest: impl Fn() -> u64) {
        if slowest() <= WAIT_ABOVE {
            return;
        }
        // The pages waited for, with the progress each had made and since when.
        let mut watched: Vec<(Arc<Clock>, u64, Instant)> = Vec::new();
        loop {
            let progressed = self.progress.notified();
            let sent = self.sent.load(Ordering::Acquire);
            let now = Instant::now();
            let mut wait = None::<Duration>;
            for clock in self.lock().iter() {
                let delivered = clock.delivered.load(Ordering::Acquire);
                let behind = sent.saturating_sub(delivered);
                if clock.stalled.load(Ordering::Relaxed) || behind <= WAIT_ABOVE {
                    continue;
                }
                let progress = clock.progress.load(Ordering::Acquire);
                let since = match watched.iter_mut().find(|w| Arc::ptr_eq(&w.0, clock)) {
                    Some(w) if w.1 == progress => w.2,
                    Some(w) => {
                        (w.1, w.2) = (progress, now);
                        now
                    }
                    None => {
                        watched.push((clock.clone(), progress, now));
                        now
                    }
                };
                let left = STALLED_AFTER.saturating_sub(now - since);
                if left.is_zero() {
                    tracing::debug!("a page stopped reading; it will be re-synced");
                    clock.stalled.store(true, Ordering::Relaxed);
                } else {
                    wait = Some(wait.map_or(left, |w| w.min(left)));
                }
            }
            match wait {
                Some(wait) => {
                    let _ = tokio::time::timeout(wait, progressed).await;
                }
                None => return,
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Clock>>> {
        self.pages.lock().unwrap_or_else(PoisonError::into_inner)
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
