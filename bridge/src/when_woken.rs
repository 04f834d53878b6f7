//! A future polled only once its own wake-up has come: a part of a task that waits on several
//! things at once, such as a half of a page's session or of a conversation, or the branch of
//! a `select!` that waits for shutdown.
//!
//! A task polls every branch of its `select!` each time anything wakes it, and a connection's
//! tasks wake at every message: the half that reads a socket is polled when the other half's
//! queue woke the task, and tokio takes the socket's lock to see whether the waker changed.
//! So does waiting on its `Notify` (what `CancellationToken::cancelled` and
//! `watch::Receiver::changed` wait on). Wrapped, a part that was not woken costs one load and
//! a comparison, as if it were a task of its own, without a task's memory.
//!
//! It takes a part to be ready only once it woke its own waker, as every future should: a part
//! that read state another part changes, without a wake-up of its own, would wait for ever.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

pin_project_lite::pin_project! {
    /// `future`, polled only after it woke its task (and once at first). It is polled with
    /// `inner`, which sets the flag in `woken` and then wakes the task; `registered` is the
    /// task's waker as last left in `woken`.
    pub struct WhenWoken<F> {
        #[pin]
        future: F,
        woken: Arc<Woken>,
        inner: Waker,
        registered: Option<Waker>,
    }
}

/// Between the wrapped future's waker and the wrapper.
struct Woken {
    /// Set when the wrapped future asks to be polled; cleared by the poll that follows.
    flag: AtomicBool,
    /// The task to wake. A wake-up leaves it in place (unlike an `AtomicWaker`, which gives it
    /// up), so that a poll that finds the same task and no wake-up has nothing to register:
    /// were it given up, a wake-up landing between a poll's registering and its reading of the
    /// flag would leave nothing registered for the next one.
    task: Mutex<Option<Waker>>,
}

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // The flag first: a poll that registers a new task after this reads it set.
        self.flag.store(true, Ordering::Release);
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(task) = task {
            task.wake();
        }
    }
}

impl<F: Future> WhenWoken<F> {
    pub fn new(future: F) -> WhenWoken<F> {
        let woken = Arc::new(Woken {
            flag: AtomicBool::new(true),
            task: Mutex::new(None),
        });
        WhenWoken {
            future,
            inner: Waker::from(woken.clone()),
            woken,
            registered: None,
        }
    }
}

impl<F: Future> Future for WhenWoken<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let same_task = this
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()));
        if !same_task {
            // The task first, then the flag: a wake-up between the two is not lost.
            let waker = cx.waker().clone();
            let mut task = this
                .woken
                .task
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let old = task.replace(waker.clone());
            drop(task);
            // Dropped outside the lock, in case dropping it calls back in.
            drop(old);
            *this.registered = Some(waker);
        } else if !this.woken.flag.load(Ordering::Acquire) {
            // Registered, and not woken since the last poll: a wake-up from now on finds this
            // task where it was left.
            return Poll::Pending;
        }
        if !this.woken.flag.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        this.future.poll(&mut Context::from_waker(this.inner))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use tokio_util::sync::CancellationToken;

    use super::*;

    /// A future that counts its polls and is ready once `ready` is cancelled.
    struct Counted<'a> {
        polls: &'a AtomicUsize,
        ready: Pin<Box<tokio_util::sync::WaitForCancellationFuture<'a>>>,
    }

    impl Future for Counted<'_> {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.polls.fetch_add(1, Ordering::Relaxed);
            self.ready.as_mut().poll(cx)
        }
    }

    #[tokio::test]
    async fn the_wrapped_future_is_polled_only_when_it_woke_and_its_wake_is_not_lost() {
        let token = CancellationToken::new();
        let polls = AtomicUsize::new(0);
        let wrapped = WhenWoken::new(Counted {
            polls: &polls,
            ready: Box::pin(token.cancelled()),
        });
        tokio::pin!(wrapped);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for _ in 0..100 {
            tx.send(()).unwrap();
        }
        // The task wakes for each of 100 messages; the wrapped future is polled at the first
        // turn only.
        for _ in 0..100 {
            tokio::select! {
                () = &mut wrapped => panic!("not cancelled yet"),
                Some(()) = rx.recv() => {}
            }
        }
        assert_eq!(polls.load(Ordering::Relaxed), 1);
        // Cancelled from another task while this one waits: the wake-up reaches it.
        let canceller = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            canceller.cancel();
        });
        tokio::time::timeout(Duration::from_secs(5), &mut wrapped)
            .await
            .expect("the cancel woke the task");
        assert_eq!(polls.load(Ordering::Relaxed), 2);
    }

    /// Wake-ups from other threads, some landing while the task is being polled for another
    /// reason: the wrapped future waits on two channels, each fed from a thread of its own and
    /// holding one message at a time, so each message needs its wake-up, and one that lands
    /// while the task is being polled for the other must not be lost. A lost one stalls the
    /// streams until the time-out. (A version that gave up the task's waker at each wake-up
    /// failed this within a round.)
    #[test]
    fn no_wake_up_from_another_thread_is_lost() {
        const MESSAGES: u32 = 100_000;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap();
        let (a_tx, mut a) = tokio::sync::mpsc::channel::<u32>(1);
        let (b_tx, mut b) = tokio::sync::mpsc::channel::<u32>(1);
        let senders = [a_tx, b_tx].map(|tx| {
            std::thread::spawn(move || {
                for i in 0..MESSAGES {
                    // Refused once the receiving task is gone (after a time-out).
                    if tx.blocking_send(i).is_err() {
                        return;
                    }
                }
            })
        });
        let received = runtime.block_on(async move {
            let both = WhenWoken::new(async move {
                let (mut from_a, mut from_b) = (0, 0);
                while from_a < MESSAGES || from_b < MESSAGES {
                    tokio::select! {
                        Some(i) = a.recv(), if from_a < MESSAGES => {
                            assert_eq!(i, from_a);
                            from_a += 1;
                        }
                        Some(i) = b.recv(), if from_b < MESSAGES => {
                            assert_eq!(i, from_b);
                            from_b += 1;
                        }
                    }
                }
                (from_a, from_b)
            });
            tokio::time::timeout(Duration::from_secs(30), tokio::spawn(both)).await
        });
        // The task and its receivers go first, so that a sender still waiting is let go.
        runtime.shutdown_background();
        for sender in senders {
            sender.join().unwrap();
        }
        let received = received.expect("no wake-up lost").unwrap();
        assert_eq!(received, (MESSAGES, MESSAGES));
    }
}
