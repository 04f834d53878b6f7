//! `--transcript FILE`: every connection's traffic and every change of its state, appended to a
//! file as JSON Lines, one line per record or state change, in the order the hub saw them.
//!
//! The hub hands lines over under its lock (so the file's order is the sequence order) into a
//! queue drained by a writer thread. The queue never drops anything: what was received is in the
//! file. Instead, its backlog of payload bytes is bounded: past [`MAX_BACKLOG`], connections wait
//! before reading more from their peers ([`Transcript::room`]), which loses nothing, since TCP
//! holds the bytes until then. The writer flushes whenever the queue runs dry, so the file is
//! current when traffic pauses, and once more at shutdown.
//!
//! Connection ids restart at 1 with each run of the bridge; every line carries the run's start
//! time (`run`), so that a file appended to across restarts stays unambiguous.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use protocol::{ConnInfo, ConnState, Flow, Micros, Origin, RecordHeader};
use serde::Serialize;
use tokio::sync::{mpsc, Notify};

/// Payload bytes queued for the file beyond which connections stop reading from their peers.
const MAX_BACKLOG: usize = 8 << 20;

/// The transcript of one run of the bridge.
pub struct Transcript {
    queue: mpsc::UnboundedSender<Line>,
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    /// Payload bytes queued and not yet written.
    backlog: AtomicUsize,
    /// Wakes connections waiting for the backlog to shrink.
    room: Notify,
}

enum Line {
    /// A record frame, header and payload, as the hub encoded it.
    Record(Bytes),
    Conn(ConnInfo),
    /// Flush and stop.
    End,
}

impl Transcript {
    /// Opens `path` for appending (creating it if needed) and starts the writer.
    pub fn open(path: &Path, run: Micros) -> io::Result<Transcript> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let (queue, lines) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            backlog: AtomicUsize::new(0),
            room: Notify::new(),
        });
        let writer = Writer {
            out: BufWriter::with_capacity(256 << 10, file),
            run: rfc3339(run),
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
        let payload = frame.len().saturating_sub(protocol::RECORD_HEADER_LEN);
        self.shared.backlog.fetch_add(payload, Ordering::Relaxed);
        let _ = self.queue.send(Line::Record(frame.clone()));
    }

    /// Queues a connection's new state.
    pub fn conn(&self, info: &ConnInfo) {
        let _ = self.queue.send(Line::Conn(info.clone()));
    }

    /// Waits until the writer has caught up enough for a connection to read more.
    pub async fn room(&self) {
        loop {
            let wake = self.shared.room.notified();
            if self.shared.backlog.load(Ordering::Relaxed) <= MAX_BACKLOG {
                return;
            }
            wake.await;
        }
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
        let result = match &line {
            Line::Record(frame) => self.record(frame),
            Line::Conn(info) => self.conn(info),
            Line::End => Ok(()),
        };
        if let Line::Record(frame) = line {
            let payload = frame.len().saturating_sub(protocol::RECORD_HEADER_LEN);
            let before = self.shared.backlog.fetch_sub(payload, Ordering::Relaxed);
            if before > MAX_BACKLOG && before - payload <= MAX_BACKLOG {
                self.shared.room.notify_waiters();
            }
        }
        self.check(result);
    }

    fn record(&mut self, frame: &[u8]) -> io::Result<()> {
        let Ok((header, payload)) = RecordHeader::read(frame) else {
            return Ok(()); // the hub writes every frame it hands over: cannot happen
        };
        let (text, hex) = match std::str::from_utf8(payload) {
            Ok(text) => (Some(text), None),
            Err(_) => (None, Some(hex(payload))),
        };
        let line = RecordLine {
            at: rfc3339(header.at),
            run: &self.run,
            conn: header.conn,
            seq: header.seq,
            dir: match header.flow {
                Flow::Rx => "rx",
                Flow::Tx => "tx",
            },
            text,
            hex,
        };
        serde_json::to_writer(&mut self.out, &line)?;
        self.out.write_all(b"\n")
    }

    fn conn(&mut self, info: &ConnInfo) -> io::Result<()> {
        let (event, at) = match info.state {
            ConnState::Connecting => ("connecting", info.opened_at),
            ConnState::Open => ("open", info.opened_at),
            ConnState::Closed => ("closed", info.closed_at.unwrap_or(info.opened_at)),
        };
        let line = ConnLine {
            at: rfc3339(at),
            run: &self.run,
            conn: info.id,
            event,
            origin: match info.origin {
                Origin::Accepted => "accepted",
                Origin::Dialled => "dialled",
            },
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

/// One record: `text` when the payload is valid UTF-8, else `hex`.
#[derive(Serialize)]
struct RecordLine<'a> {
    at: String,
    run: &'a str,
    conn: u64,
    seq: u64,
    dir: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hex: Option<String>,
}

/// A connection's change of state.
#[derive(Serialize)]
struct ConnLine<'a> {
    at: String,
    run: &'a str,
    conn: u64,
    event: &'static str,
    origin: &'static str,
    peer: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    local: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

fn rfc3339(at: Micros) -> String {
    let time = UNIX_EPOCH + Duration::from_micros(at.max(0) as u64);
    humantime::format_rfc3339_micros(time).to_string()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_hex() {
        assert_eq!(
            rfc3339(1_700_000_000_123_456),
            "2023-11-14T22:13:20.123456Z"
        );
        assert_eq!(hex(&[0x00, 0x7f, 0xff, 0x48]), "007fff48");
    }
}
