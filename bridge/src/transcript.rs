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
//! in flight past the bound. The writer flushes whenever the queue runs dry, so the file is
//! current when traffic pauses, and once more at shutdown.
//!
//! Connection ids restart at 1 with each run of the bridge; every line carries the run's start
//! time (`run`), so that a file appended to across restarts stays unambiguous.

use bytes::Bytes;
use protocol::jsonl::RecordLine;
use protocol::{time, ConnInfo, ConnState, Micros, RecordHeader, Transport};
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tokio::sync::{mpsc, Notify};

/// Memory the queue may hold before connections stop reading from their peers.
pub const MAX_BACKLOG: usize = 8 << 20;
/// What a queued record costs beyond its frame: its slot in the queue, the frame's shared
/// header and its allocation's bookkeeping.
const LINE_OVERHEAD: usize = 128;
/// What a queued change of state costs, strings included.
const CONN_LINE_COST: usize = 512;

/// The transcript of one run of the bridge.
pub struct Transcript {
    queue: mpsc::UnboundedSender<Line>,
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    /// Memory held by queued lines, and reserved for lines about to be queued.
    backlog: AtomicUsize,
    /// Connections waiting for room; the writer wakes them only when there are some.
    waiting: AtomicUsize,
    room: Notify,
}

enum Line {
    /// A record frame, header and payload, as the hub encoded it.
    Record(Bytes),
    Conn(Box<ConnInfo>),
    /// Flush and stop.
    End,
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

impl Transcript {
    /// Opens `path` for appending (creating it if needed) and starts the writer.
    pub fn open(path: &Path, run: Micros) -> io::Result<Transcript> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let (queue, lines) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            backlog: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            room: Notify::new(),
        });
        let writer = Writer {
            out: BufWriter::with_capacity(256 << 10, file),
            run: time::rfc3339_micros(run),
            shared: shared.clone(),
            failed: false,
        };
        let thread = std::thread::Builder::new()
            .name("transcript".into())
            .spawn(move || writer.run(lines))?;
        Ok(Transcript {
            queue,
            shared,
            writer: Mutex::new(Some(thread)),
        })
    }

    /// Queues a record frame. Called under the hub's lock, so it must not wait.
    pub fn record(&self, frame: &Bytes) {
        let cost = record_cost(frame.len());
        self.shared.backlog.fetch_add(cost, Ordering::SeqCst);
        let _ = self.queue.send(Line::Record(frame.clone()));
    }

    /// Queues a connection's new state.
    pub fn conn(&self, info: &ConnInfo) {
        self.shared
            .backlog
            .fetch_add(CONN_LINE_COST, Ordering::SeqCst);
        let _ = self.queue.send(Line::Conn(Box::new(info.clone())));
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

    /// Writes out everything queued, flushes, and stops the writer.
    pub async fn finish(&self) {
        let _ = self.queue.send(Line::End);
        let thread = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
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
    out: BufWriter<File>,
    run: String,
    shared: Arc<Shared>,
    /// Set after the first write error, which is logged once.
    failed: bool,
}

impl Writer {
    fn run(mut self, mut lines: mpsc::UnboundedReceiver<Line>) {
        while let Some(line) = lines.blocking_recv() {
            let mut next = Some(line);
            while let Some(line) = next.take() {
                if matches!(line, Line::End) {
                    return self.flush();
                }
                self.write(line);
                next = lines.try_recv().ok();
            }
            self.flush();
        }
        self.flush();
    }

    fn write(&mut self, line: Line) {
        let (result, cost) = match &line {
            Line::Record(frame) => (self.record(frame), record_cost(frame.len())),
            Line::Conn(info) => (self.conn(info), CONN_LINE_COST),
            Line::End => (Ok(()), 0),
        };
        drop(line);
        self.shared.release(cost);
        self.check(result);
    }

    fn record(&mut self, frame: &[u8]) -> io::Result<()> {
        let Ok(record) = RecordHeader::read(frame) else {
            return Ok(()); // the hub writes every frame it hands over: cannot happen
        };
        let line = RecordLine {
            run: Some(self.run.clone()),
            ..RecordLine::new(&record.header, record.payload, record.rule)
        };
        serde_json::to_writer(&mut self.out, &line)?;
        self.out.write_all(b"\n")
    }

    fn conn(&mut self, info: &ConnInfo) -> io::Result<()> {
        let at = match info.state {
            ConnState::Closed => info.closed_at.unwrap_or(info.opened_at),
            ConnState::Connecting | ConnState::Open => info.opened_at,
        };
        let line = ConnLine {
            at: time::rfc3339_micros(at),
            run: &self.run,
            conn: info.id,
            event: info.state.as_str(),
            origin: info.origin.as_str(),
            transport: info.transport,
            peer: &info.peer,
            local: info.local.as_deref(),
            reason: info.close_reason.as_deref(),
        };
        serde_json::to_writer(&mut self.out, &line)?;
        self.out.write_all(b"\n")
    }

    fn flush(&mut self) {
        let result = self.out.flush();
        self.check(result);
    }

    fn check(&mut self, result: io::Result<()>) {
        if let Err(e) = result {
            if !self.failed {
                tracing::error!("cannot write the transcript: {e}; traffic goes on without it");
                self.failed = true;
            }
        }
    }
}

/// A connection's change of state.
#[derive(Serialize)]
struct ConnLine<'a> {
    at: String,
    run: &'a str,
    conn: u64,
    event: &'static str,
    origin: &'static str,
    /// TCP unless it says otherwise.
    #[serde(skip_serializing_if = "Transport::is_tcp")]
    transport: Transport,
    peer: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    local: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}
