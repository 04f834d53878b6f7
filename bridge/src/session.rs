//! One task per WebSocket, in two halves that run side by side: one carries out what the page
//! sends; the other sends the page its snapshot, then the hub's events and the answers to its
//! commands, until either side leaves or the bridge shuts down. So a burst of traffic to a page
//! never delays its commands, and a page that is slow to read still has them carried out (until
//! its own unread answers back up).

use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use protocol::size::{byte_count, format_size};
use protocol::{
    Command, Event, Flow, Frame, Marks, Problem, ProblemKind, RecordHeader, Target, Transmit,
    TRANSMIT_HEADER_LEN,
};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tungstenite::protocol::frame::coding::CloseCode;

use crate::commands::Commands;
use crate::hub::{Hub, SendFlags, Subscription};
use crate::page_socket::{Broken, FromPage, PageReader, PageWriter};
use crate::when_woken::WhenWoken;

/// How long a closing session tries to say goodbye to a page that may not be reading.
const GOODBYE: Duration = Duration::from_millis(500);
/// The most a page may send in one message: a send's payload...
const MAX_SEND: usize = 1 << 20;
/// ...and a command's JSON, which is never more than a host name long.
const MAX_COMMAND: usize = 64 << 10;
/// Answers to a page's commands not yet sent to it, before its commands wait.
const ANSWERS: usize = 256;
/// Frames sent to a page between two looks at its answers.
const BATCH: u64 = 256;
/// Frames taken between two reports of progress to backpressure.
const REPORT_EVERY: u64 = 32;
/// The longest the record of what the bridge wrote to a peer waits for company (see
/// [`Fed::Written`]): longer than the kernel's tick (10 ms at 100 Hz, 4 ms at 250 Hz), so that
/// the timer a session parks with is not the CPU's next event, which the kernel would re-arm
/// at every round trip (on a virtual machine, an exit to the hypervisor each time: at 1 ms,
/// one or two a round trip, and 6-8% of its CPU); and no longer than a page would take to show it
/// anyway (a frame at 60 Hz is 16.7 ms).
const CORK: Duration = Duration::from_millis(10);

/// Why a session ends.
enum Ending {
    /// The page went away, or the socket failed.
    Gone,
    /// The page sent what the WebSocket cannot read past (a message over its limit, a frame
    /// against the protocol).
    Broken(Broken),
    Shutdown,
}

/// The page went away, or the socket failed, or it took nothing for too long: either way the
/// session is over.
struct Gone;

/// The sending half of a page's socket. A send that waits longer than `timeout` for the page
/// to take anything ends the session: until then, the session holds what it was sending (a
/// snapshot may share the whole history as it was), so a frozen tab must not hold it forever.
/// The page re-syncs when it comes back.
struct Page {
    writer: PageWriter,
    timeout: Duration,
}

impl Page {
    async fn feed(&mut self, frame: Frame) -> Result<(), Gone> {
        self.within(|writer| writer.feed(frame)).await
    }

    async fn send(&mut self, frame: Frame) -> Result<(), Gone> {
        self.within(|writer| writer.send(frame)).await
    }

    async fn flush(&mut self) -> Result<(), Gone> {
        self.within(|writer| writer.flush()).await
    }

    async fn within<'a, F>(
        &'a mut self,
        write: impl FnOnce(&'a mut PageWriter) -> F,
    ) -> Result<(), Gone>
    where
        F: std::future::Future<Output = std::io::Result<()>>,
    {
        let timeout = self.timeout;
        let mut write = std::pin::pin!(write(&mut self.writer));
        // Most writes finish at once: only one that waits reads the clock and arms a timer.
        let written = match futures::poll!(write.as_mut()) {
            Poll::Ready(written) => Ok(written),
            Poll::Pending => tokio::time::timeout(timeout, write).await,
        };
        match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Gone),
            Err(_) => {
                tracing::info!("let go of a page that took nothing for {timeout:?}");
                Err(Gone)
            }
        }
    }
}

/// What a page's session is started with.
#[derive(Clone)]
pub struct Sessions {
    pub commands: Arc<Commands>,
    /// Where the session subscribes, and where a page's sends are queued.
    pub hub: Hub,
    pub shutdown: CancellationToken,
    /// Sessions join it, so that shutdown waits for them.
    pub tasks: TaskTracker,
    /// `--page-timeout`: how long a page's socket may take nothing before it is let go.
    pub page_timeout: Duration,
    /// A place for each page, `--max-pages` of them.
    pub pages: Arc<Semaphore>,
    pub max_pages: usize,
}

/// Tells a page past `--max-pages` why it cannot have a session, and lets it go. (A close
/// frame's reason holds at most 123 bytes.)
pub async fn refuse(mut writer: PageWriter, max_pages: usize) {
    let why = format!(
        "the bridge serves at most {max_pages} pages at once (--max-pages): close another \
         tab, or raise --max-pages"
    );
    let goodbye = writer.close(CloseCode::Again.into(), &why);
    let _ = tokio::time::timeout(GOODBYE, goodbye).await;
}

/// Runs one page's session until it leaves or shutdown; a page whose socket takes nothing for
/// `--page-timeout` is let go.
pub async fn run(mut reader: PageReader, writer: PageWriter, sessions: Sessions) {
    let Sessions {
        commands,
        hub,
        shutdown,
        page_timeout: timeout,
        ..
    } = sessions;
    let mut page = Page { writer, timeout };
    let (answers, answered) = mpsc::channel(ANSWERS);
    // Shutdown wins even over a send that waits on a page that reads nothing. Each half is
    // polled only when what it waits on woke the task, not at every wake of the other's.
    let ending = tokio::select! {
        ending = WhenWoken::new(obey(&commands, &hub, &mut reader, answers)) => ending,
        _ = WhenWoken::new(inform(&hub, &mut page, answered)) => Ending::Gone,
        () = WhenWoken::new(shutdown.cancelled()) => Ending::Shutdown,
    };
    let mut writer = page.writer;
    let goodbye = async {
        match ending {
            // What was fed, and the reply to the page's close if it sent one.
            Ending::Gone => writer.flush().await,
            Ending::Broken(Broken { code, reason, why }) => {
                let kind = match code {
                    CloseCode::Size => ProblemKind::TooLarge,
                    _ => ProblemKind::Malformed,
                };
                let problem = Problem::new(kind, why);
                writer.feed(Event::Error(problem).to_frame()).await?;
                writer.close(code.into(), reason).await?;
                // The page may still be sending what broke: closing with it unread would reset
                // the connection, and the close frame and the error would be lost on the way.
                reader.drain().await;
                Ok(())
            }
            Ending::Shutdown => {
                writer
                    .close(CloseCode::Away.into(), "the bridge is shutting down")
                    .await
            }
        }
    };
    let _ = tokio::time::timeout(GOODBYE, goodbye).await;
}

/// Carries out the page's messages, in order, until it leaves; problems go to `answers`.
async fn obey(
    commands: &Commands,
    hub: &Hub,
    reader: &mut PageReader,
    answers: mpsc::Sender<Frame>,
) -> Ending {
    loop {
        let message = match reader.next().await {
            // Closed (the reply is with the writer, which sends it on the way out) or gone.
            None => return Ending::Gone,
            Some(Ok(message)) => message,
            Some(Err(broken)) => return Ending::Broken(broken),
        };
        for event in carry_out(commands, hub, message).await {
            if answers.send(event.to_frame()).await.is_err() {
                return Ending::Gone;
            }
        }
    }
}

/// Sends the snapshot, then live events and answers, until the page or its socket is gone.
async fn inform(
    hub: &Hub,
    page: &mut Page,
    mut answered: mpsc::Receiver<Frame>,
) -> Result<(), Gone> {
    let mut live = hub.subscribe();
    send_snapshot(page, &live).await?;
    // When frames fed but not flushed (see `Fed::Written`) must go at the latest. Every flush
    // sends them, so they are corked exactly while the writer holds any.
    let uncork = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(uncork);
    loop {
        tokio::select! {
            event = live.events.recv() => match event {
                Ok(frame) => {
                    let corked = page.writer.holds_any();
                    match forward(page, frame, &mut live).await? {
                        (Behind::Yes, _) => resync(hub, page, &mut live).await?,
                        (Behind::No, Fed::Written) if !corked => {
                            uncork.as_mut().reset(Instant::now() + CORK);
                        }
                        (Behind::No, Fed::Written) => {}
                        (Behind::No, Fed::News) => page.flush().await?,
                    }
                }
                Err(RecvError::Lagged(_)) => resync(hub, page, &mut live).await?,
                Err(RecvError::Closed) => return Err(Gone),
            },
            // A send flushes what was corked too.
            Some(frame) = answered.recv() => page.send(frame).await?,
            // A pong: it goes now, with whatever was corked.
            () = page.writer.replies_came() => page.flush().await?,
            () = &mut uncork, if page.writer.holds_any() => page.flush().await?,
        }
    }
}

/// Whether the page fell behind the fan-out and missed frames.
enum Behind {
    Yes,
    No,
}

/// What a batch fed to the page held.
enum Fed {
    /// Only records of what the bridge wrote to peers (a page's sends, a rule's replies, a
    /// file's parts). The page that sent knows what it sent, and the peer's answer usually
    /// follows within a round trip: such a batch waits up to [`CORK`] for the next frame, so
    /// that the two go in one write and wake the page once. On loopback a write that wakes the
    /// reader costs the writer as much as the rest of the round trip.
    Written,
    /// Anything else, which goes at once: what peers said, and every event.
    News,
}

/// Sends `first` and whatever else is already waiting, up to [`BATCH`] frames, without
/// flushing. Backpressure hears of the progress as frames are taken (a corked batch is on the
/// socket within [`CORK`]): a socket that takes them is a page that reads. A batch is bounded
/// so that answers to the page are not held up by a flood.
async fn forward(
    page: &mut Page,
    first: Frame,
    live: &mut Subscription,
) -> Result<(Behind, Fed), Gone> {
    let mut written = is_written(&first);
    page.feed(first).await?;
    let mut unreported = 1;
    let mut fed = 1;
    let behind = loop {
        if fed == BATCH {
            break Behind::No;
        }
        match live.events.try_recv() {
            Ok(frame) => {
                tokio::task::consume_budget().await;
                written &= is_written(&frame);
                page.feed(frame).await?;
                (fed, unreported) = (fed + 1, unreported + 1);
                if unreported == REPORT_EVERY {
                    live.clock.delivered(unreported);
                    unreported = 0;
                }
            }
            Err(TryRecvError::Empty) => break Behind::No,
            Err(TryRecvError::Lagged(_)) => break Behind::Yes,
            Err(TryRecvError::Closed) => return Err(Gone),
        }
    };
    live.clock.delivered(unreported);
    Ok((behind, if written { Fed::Written } else { Fed::News }))
}

/// Whether `frame` is the record of bytes the bridge wrote to a peer: `tx`, and not a proxied
/// conversation's (whose `tx` is what its server said).
fn is_written(frame: &Frame) -> bool {
    let Frame::Binary(bytes) = frame else {
        return false;
    };
    RecordHeader::read_head(bytes)
        .is_ok_and(|(header, _)| header.flow == Flow::Tx && !header.marks.contains(Marks::PROXIED))
}

/// Too far behind to catch up frame by frame: start over from a fresh snapshot.
async fn resync(hub: &Hub, page: &mut Page, live: &mut Subscription) -> Result<(), Gone> {
    *live = hub.subscribe();
    send_snapshot(page, live).await
}

/// `hello`, every held record, `synced`, telling backpressure as it goes that this page is reading.
async fn send_snapshot(page: &mut Page, live: &Subscription) -> Result<(), Gone> {
    page.feed(live.hello.clone()).await?;
    let mut fed = 1;
    for frame in live.history.frames() {
        // Hundreds of thousands of records may go out without the socket ever making the task
        // wait: give the other tasks on this thread their turn as they would have it anyway.
        tokio::task::consume_budget().await;
        page.feed(Frame::Binary(frame)).await?;
        fed += 1;
        if fed == REPORT_EVERY {
            live.clock.progressed(fed);
            fed = 0;
        }
    }
    page.feed(live.synced.clone()).await?;
    page.flush().await?;
    live.clock.progressed(fed + 1);
    Ok(())
}

/// Carries out one message from the page, and returns what to answer, to this page alone: what
/// went wrong, and how many a send to all reached.
async fn carry_out(commands: &Commands, hub: &Hub, message: FromPage) -> Vec<Event> {
    if let Some(problem) = oversized(&message) {
        return vec![Event::Error(problem)];
    }
    let problems = match message {
        FromPage::Text(text) => match Command::from_json(&text) {
            Ok(command) => match commands.carry_out(command).await {
                Ok(answer) => return answer.into_iter().collect(),
                Err(problem) => vec![problem],
            },
            Err(e) => vec![Problem::new(ProblemKind::Malformed, e.0)],
        },
        // The payload is a slice of the frame as received: no copy.
        FromPage::Binary(frame) => match Transmit::decode(&frame) {
            Ok(Transmit {
                to,
                file,
                broadcast,
                to_server,
                data,
            }) => match hub.send(
                to,
                data,
                SendFlags {
                    file,
                    broadcast,
                    to_server,
                },
            ) {
                Ok(sent) if to == Target::All => {
                    let reached = Event::SentToAll {
                        queued: sent.queued as u64,
                        refused: sent.refused.len() as u64,
                    };
                    let refusals = sent.refused.into_iter().map(Event::Error);
                    return refusals.chain([reached]).collect();
                }
                Ok(sent) => sent.refused,
                Err(problem) => vec![problem],
            },
            Err(e) => vec![Problem::new(ProblemKind::Malformed, e.0)],
        },
    };
    problems.into_iter().map(Event::Error).collect()
}

/// Why `message` is too large to carry out, if it is.
fn oversized(message: &FromPage) -> Option<Problem> {
    let why = match message {
        FromPage::Binary(frame) if frame.len() > TRANSMIT_HEADER_LEN + MAX_SEND => format!(
            "a send of {} is over the limit of {} per message; nothing was sent",
            byte_count(frame.len().saturating_sub(TRANSMIT_HEADER_LEN) as u64),
            format_size(MAX_SEND as u64)
        ),
        FromPage::Text(text) if text.len() > MAX_COMMAND => format!(
            "a command of {} is over the limit of {}",
            byte_count(text.len() as u64),
            format_size(MAX_COMMAND as u64)
        ),
        _ => return None,
    };
    Some(Problem::new(ProblemKind::TooLarge, why))
}
