//! `--transcript FILE`: every connection's traffic and every change of its state, appended to a
//! file as JSON Lines, one line per record or state change, in the order the hub saw them.
//!
//! The hub hands lines over under its lock (so the file's order is the sequence order) into a
//! queue drained by a writer thread. The queue never drops anything: what was received is in the
//! file. Instead, the memory it holds is bounded, counting what each queued line really costs
//! (its frame, which the queue keeps alive after the history has let it go, and its slot): a
//! connection waits for room for what it read before recording it ([`Transcript::reserve`]),
//! reading nothing more meanwhile, which loses nothing, since TCP holds the bytes. A send waits
//! for room before it is written ([`Transcript::room`]), so at most one send per connection is
//! in flight past the bound. The writer writes whenever the queue runs dry, so the file is
//! current when traffic pauses, and once more at shutdown.
//!
//! **Whole lines only.** Lines are written in batches of whole lines, each batch one write, so
//! that a crash (even `kill -9`) loses at most the last lines, never leaves half of one. A
//! write that fails part way (a full disk) is cut back to the last whole line, and what was
//! lost is told at once, on stderr and to every page ([`Transcript::news`]): which lines, of
//! which connections; and again when the file is written again. Shutdown waits for the last
//! lines while they are being written, but no longer than [`FINISH_WAIT`] without progress (a
//! FIFO whose reader stopped reading never takes them), and then says how many are not in the
//! file.
//!
//! Connection ids restart at 1 with each run of the bridge; every line carries the run's start
//! time (`run`), so that a file appended to across restarts stays unambiguous.

use bytes::Bytes;
use protocol::jsonl::RecordLine;
use protocol::size::format_size;
use protocol::{time, ConnInfo, ConnState, Micros, ProxyInfo, RecordHeader, Transport};
use serde::Serialize;
use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, Notify};

/// Memory the queue may hold before connections stop reading from their peers.
pub const MAX_BACKLOG: usize = 8 << 20;
/// What a queued record costs beyond its frame: its slot in the queue, the frame's shared
/// header and its allocation's bookkeeping.
const LINE_OVERHEAD: usize = 128;
/// What a queued change of state costs, strings included.
const CONN_LINE_COST: usize = 512;
/// Whole lines are written in batches of about this much, each batch one write.
const BATCH: usize = 256 << 10;
/// How long shutdown waits for the last lines to be written.
pub const FINISH_WAIT: Duration = Duration::from_secs(3);
/// While the file cannot be written, how often the lines lost meanwhile are told.
const LOSS_EVERY: Duration = Duration::from_secs(5);

/// The transcript of one run of the bridge.
pub struct Transcript {
    queue: mpsc::UnboundedSender<Line>,
    shared: Arc<Shared>,
    /// Fires when the writer has stopped, every line written or lost.
    stopped: Mutex<Option<oneshot::Receiver<()>>>,
    path: String,
}

struct Shared {
    /// Memory held by queued lines, and reserved for lines about to be queued.
    backlog: AtomicUsize,
    /// Connections waiting for room; the writer wakes them only when there are some.
    waiting: AtomicUsize,
    room: Notify,
    /// Lines queued and not yet written (or lost).
    unwritten: AtomicUsize,
    /// What pages are to be told about the file, oldest first.
    news: Mutex<Vec<String>>,
}

enum Line {
    /// A record frame, header and payload, as the hub encoded it; and for a held message a
    /// page edited, what the side said.
    Record(Bytes, Option<Bytes>),
    Conn(Box<ConnInfo>, Change),
    /// Flush and stop.
    End,
}

/// What changed of a connection, for its line's `event`.
#[derive(Clone, Copy, Debug)]
pub enum Change {
    /// Its state (`open`, `connecting`, `closed`).
    State,
    /// A proxy's side (`client` or `server`) closed its sending side, which was passed on.
    HalfClosed { side: &'static str, at: Micros },
}

/// Room held in the queue for a record about to be read; given back when dropped (by then the
/// record is queued, and counted on its own).
pub struct Reserved<'a> {
    shared: &'a Shared,
    bytes: usize,
}

/// What a queued record frame of `frame_len` bytes costs.
pub fn record_cost(frame_len: usize) -> usize {
    frame_len + LINE_OVERHEAD
}

/// What a queued record costs, with the original it keeps.
fn line_cost(frame: &Bytes, original: Option<&Bytes>) -> usize {
    record_cost(frame.len() + original.map_or(0, Bytes::len))
}

impl Transcript {
    /// Opens `path` for appending (creating it if needed) and starts the writer.
    pub fn open(path: &Path, run: Micros) -> io::Result<Transcript> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let len = file.metadata()?.len();
        let (queue, lines) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            backlog: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            room: Notify::new(),
            unwritten: AtomicUsize::new(0),
            news: Mutex::new(Vec::new()),
        });
        let path = path.display().to_string();
        let writer = Writer {
            file,
            path: path.clone(),
            len,
            batch: Vec::with_capacity(BATCH),
            batch_lines: 0,
            batch_conns: BTreeSet::new(),
            run: time::rfc3339_micros(run),
            shared: shared.clone(),
            loss: None,
        };
        let (stop, stopped) = oneshot::channel();
        std::thread::Builder::new()
            .name("transcript".into())
            .spawn(move || {
                writer.run(lines);
                let _ = stop.send(());
            })?;
        Ok(Transcript {
            queue,
            shared,
            stopped: Mutex::new(Some(stopped)),
            path,
        })
    }

    /// Queues a record frame (with what the side said, for an edited message). Called under
    /// the hub's lock, so it must not wait.
    pub fn record(&self, frame: &Bytes, original: Option<Bytes>) {
        let cost = line_cost(frame, original.as_ref());
        self.shared.backlog.fetch_add(cost, Ordering::SeqCst);
        self.shared.unwritten.fetch_add(1, Ordering::SeqCst);
        let _ = self.queue.send(Line::Record(frame.clone(), original));
    }

    /// Queues a connection's new state.
    pub fn conn(&self, info: &ConnInfo, change: Change) {
        self.shared
            .backlog
            .fetch_add(CONN_LINE_COST, Ordering::SeqCst);
        self.shared.unwritten.fetch_add(1, Ordering::SeqCst);
        let _ = self.queue.send(Line::Conn(Box::new(info.clone()), change));
    }

    /// Waits for `bytes` of room in the queue, and holds it. When the queue is empty the room is
    /// given whatever the size, so that a record larger than the bound still goes through.
    pub async fn reserve(&self, bytes: usize) -> Reserved<'_> {
        let backlog = &self.shared.backlog;
        self.shared
            .until(|| {
                let mut now = backlog.load(Ordering::SeqCst);
                while now == 0 || now + bytes <= MAX_BACKLOG {
                    match backlog.compare_exchange(
                        now,
                        now + bytes,
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    ) {
                        Ok(_) => return true,
                        Err(actual) => now = actual,
                    }
                }
                false
            })
            .await;
        Reserved {
            shared: &self.shared,
            bytes,
        }
    }

    /// Waits until the queue is within its bound (for a send, which must not hold room while a
    /// peer that does not read keeps it waiting).
    pub async fn room(&self) {
        let backlog = &self.shared.backlog;
        self.shared
            .until(|| backlog.load(Ordering::SeqCst) <= MAX_BACKLOG)
            .await;
    }

    /// What pages are to hear about the file since last asked: lines that could not be
    /// written, and the file written again.
    pub fn news(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .shared
                .news
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Writes out everything queued and stops the writer, waiting for as long as lines are
    /// being written; once [`FINISH_WAIT`] passes without a line written, says on stderr how
    /// many lines are not in the file, and stops waiting.
    pub async fn finish(&self) {
        let _ = self.queue.send(Line::End);
        let stopped = self
            .stopped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(mut stopped) = stopped else {
            return;
        };
        // A large backlog on a slow disk takes as long as it takes, while it moves.
        let mut unwritten = self.shared.unwritten.load(Ordering::SeqCst);
        while tokio::time::timeout(FINISH_WAIT, &mut stopped)
            .await
            .is_err()
        {
            let now = self.shared.unwritten.load(Ordering::SeqCst);
            if now < unwritten {
                unwritten = now;
                continue;
            }
            tracing::error!(
                "the transcript {} could not be written for {} s (is its reader still \
                 reading?): its last {} lines are not in it",
                self.path,
                FINISH_WAIT.as_secs(),
                now,
            );
            return;
        }
    }
}

impl Shared {
    /// Waits until `ready` (which may take room) says yes, asking again whenever room is given
    /// back. Says it waits before asking, so that the writer cannot give room back unseen.
    async fn until(&self, mut ready: impl FnMut() -> bool) {
        loop {
            let wake = self.room.notified();
            let _waiting = Waiting::new(&self.waiting);
            if ready() {
                return;
            }
            wake.await;
        }
    }

    /// Gives back `bytes` of the backlog, waking whoever waits for room.
    fn release(&self, bytes: usize) {
        self.backlog.fetch_sub(bytes, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.room.notify_waiters();
        }
    }
}

/// Counts a waiting connection for as long as it waits (also when its wait is cancelled).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        self.shared.release(self.bytes);
    }
}

struct Writer {
    file: File,
    path: String,
    /// The file's length after the last whole line written: a write that fails part way is cut
    /// back to it.
    len: u64,
    /// Whole lines not yet written, how many, and of which connections.
    batch: Vec<u8>,
    batch_lines: usize,
    batch_conns: BTreeSet<u64>,
    run: String,
    shared: Arc<Shared>,
    /// Lines lost since the file last took a write.
    loss: Option<Loss>,
}

/// Lines lost while the file cannot be written.
struct Loss {
    error: String,
    lines: usize,
    bytes: usize,
    conns: BTreeSet<u64>,
    /// When pages were last told.
    told: Instant,
}

impl Writer {
    fn run(mut self, mut lines: mpsc::UnboundedReceiver<Line>) {
        while let Some(line) = lines.blocking_recv() {
            let mut next = Some(line);
            while let Some(line) = next.take() {
                if matches!(line, Line::End) {
                    return self.write_batch();
                }
                self.add(line);
                if self.batch.len() >= BATCH {
                    self.write_batch();
                }
                next = lines.try_recv().ok();
            }
            self.write_batch();
        }
        self.write_batch();
    }

    /// Adds one whole line to the batch.
    fn add(&mut self, line: Line) {
        let start = self.batch.len();
        let (written, cost, conn) = match &line {
            Line::Record(frame, original) => {
                let conn = RecordHeader::read(frame).map(|r| r.header.conn).ok();
                let cost = line_cost(frame, original.as_ref());
                (self.record(frame, original.as_deref()), cost, conn)
            }
            Line::Conn(info, change) => (self.conn(info, *change), CONN_LINE_COST, Some(info.id)),
            Line::End => return,
        };
        drop(line);
        self.shared.release(cost);
        if written.is_ok() {
            self.batch_lines += 1;
            self.batch_conns.extend(conn);
        } else {
            // Cannot happen (a line serializes into memory), but never half a line.
            self.batch.truncate(start);
            self.shared.unwritten.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn record(&mut self, frame: &[u8], original: Option<&[u8]>) -> serde_json::Result<()> {
        let Ok(record) = RecordHeader::read(frame) else {
            return Ok(()); // the hub writes every frame it hands over: cannot happen
        };
        let mut line = RecordLine {
            run: Some(self.run.clone()),
            ..RecordLine::new(&record.header, record.payload, record.rule)
        };
        if let Some(original) = original {
            line = line.with_original(original);
        }
        serde_json::to_writer(&mut self.batch, &line)?;
        self.batch.push(b'\n');
        Ok(())
    }

    fn conn(&mut self, info: &ConnInfo, change: Change) -> serde_json::Result<()> {
        let at = match (info.state, change) {
            (_, Change::HalfClosed { at, .. }) => at,
            (ConnState::Closed, _) => info.closed_at.unwrap_or(info.opened_at),
            (ConnState::Connecting | ConnState::Open, _) => info.opened_at,
        };
        let (event, side) = match change {
            Change::State => (info.state.as_str(), None),
            Change::HalfClosed { side, .. } => ("half_closed", Some(side)),
        };
        let line = ConnLine {
            at: time::rfc3339_micros(at),
            run: &self.run,
            conn: info.id,
            event,
            side,
            proxy: info.proxy.as_deref(),
            origin: info.origin.as_str(),
            transport: info.transport,
            peer: &info.peer,
            local: info.local.as_deref(),
            reason: info.close_reason.as_deref(),
        };
        serde_json::to_writer(&mut self.batch, &line)?;
        self.batch.push(b'\n');
        Ok(())
    }

    /// Writes the batch in one write. If the file takes only part of it, it is cut back to its
    /// last whole line, and the batch's lines are lost, and told.
    fn write_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        match self.file.write_all(&self.batch) {
            Ok(()) => {
                self.len += self.batch.len() as u64;
                if let Some(loss) = self.loss.take() {
                    self.tell(format!(
                        "the transcript {} is written again; {} were lost while it could not be \
                         ({})",
                        self.path,
                        lines_of(loss.lines, loss.bytes, &loss.conns),
                        loss.error
                    ));
                }
            }
            Err(e) => {
                // A FIFO cannot be cut back, but then nothing of a failed write reached it.
                let _ = self.file.set_len(self.len);
                let first = self.loss.is_none();
                let loss = self.loss.get_or_insert_with(|| Loss {
                    error: e.to_string(),
                    lines: 0,
                    bytes: 0,
                    conns: BTreeSet::new(),
                    told: Instant::now(),
                });
                loss.lines += self.batch_lines;
                loss.bytes += self.batch.len();
                loss.conns.append(&mut self.batch_conns);
                if first || loss.told.elapsed() >= LOSS_EVERY {
                    let news = if first {
                        format!(
                            "cannot write the transcript {}: {e}; {} were lost. Traffic goes \
                             on, and the bridge keeps trying: free some space, and it says \
                             what was lost in all",
                            self.path,
                            lines_of(loss.lines, loss.bytes, &loss.conns),
                        )
                    } else {
                        format!(
                            "the transcript {} still cannot be written ({e}): {} lost so far",
                            self.path,
                            lines_of(loss.lines, loss.bytes, &loss.conns),
                        )
                    };
                    loss.told = Instant::now();
                    self.tell(news);
                }
            }
        }
        self.shared
            .unwritten
            .fetch_sub(self.batch_lines, Ordering::SeqCst);
        self.batch.clear();
        self.batch_lines = 0;
        self.batch_conns.clear();
    }

    /// Says it on stderr at once, and to every page within a quarter of a second.
    fn tell(&self, news: String) {
        tracing::error!("{news}");
        self.shared
            .news
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(news);
    }
}

/// `12 lines (4.0 KiB, of connections 1, 2)`, as a loss is told.
fn lines_of(lines: usize, bytes: usize, conns: &BTreeSet<u64>) -> String {
    const NAMED: usize = 8;
    let mut ids: Vec<String> = conns.iter().take(NAMED).map(u64::to_string).collect();
    if conns.len() > NAMED {
        ids.push(format!("{} more", conns.len() - NAMED));
    }
    format!(
        "{lines} line{} ({}, of connection{} {})",
        if lines == 1 { "" } else { "s" },
        format_size(bytes as u64),
        if conns.len() == 1 { "" } else { "s" },
        ids.join(", ")
    )
}

/// A connection's change of state.
#[derive(Serialize)]
struct ConnLine<'a> {
    at: String,
    run: &'a str,
    conn: u64,
    event: &'static str,
    /// For `half_closed`: the proxy's side that closed its sending side.
    #[serde(skip_serializing_if = "Option::is_none")]
    side: Option<&'static str>,
    origin: &'static str,
    /// TCP unless it says otherwise.
    #[serde(skip_serializing_if = "Transport::is_tcp")]
    transport: Transport,
    peer: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    local: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    /// A proxy's client: the server it is relayed to.
    #[serde(skip_serializing_if = "Option::is_none")]
    proxy: Option<&'a ProxyInfo>,
}
