//! The one owner of connection state and history, and the fan-out to subscribers.
//!
//! Everything that changes the state (a record, a connection opening or closing) happens under
//! one lock, which also assigns the record's sequence number and hands the encoded frame to the
//! broadcast channel. So the order of the broadcast is the order of `seq`, and a subscriber that
//! takes its snapshot under the same lock misses nothing and sees nothing twice. The lock is a
//! std mutex, never held across an `.await`.
//!
//! Frames are encoded once, here, and shared (`Bytes`) by the history and every subscriber. The
//! hub knows nothing about WebSockets: it speaks [`WireFrame`]s.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use protocol::{
    ConnId, ConnInfo, ConnState, Event, Flow, Frame, Micros, Origin, RecordHeader, Seq, ServerInfo,
    Target, RECORD_HEADER_LEN,
};
use tokio::sync::{broadcast, mpsc, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::history::History;
use crate::transcript::Transcript;

/// How many frames a subscriber may fall behind before it is sent a fresh snapshot instead.
const BROADCAST_CAPACITY: usize = 1024;
/// Frames behind at which connections pause reading until the slowest page catches up...
const PACE_ABOVE: usize = BROADCAST_CAPACITY / 2;
/// ...unless that page makes no progress for this long: then it is left to be re-synced, and
/// reading goes on at full speed until the pages are within [`PACE_ABOVE`] again.
const STALLED_AFTER: Duration = Duration::from_millis(250);
/// Sends queued for one connection before the sender waits (backpressure on that page only).
const WRITE_QUEUE: usize = 64;
/// What a held record costs beyond its frame: its `Bytes` and index entries, and the
/// allocator's minimum for the frame's own allocation.
const RECORD_OVERHEAD: usize = 96;
/// Closed connections remembered (with their history) for pages that open later.
const CLOSED_KEPT: usize = 1000;

/// One WebSocket frame, encoded once. Records (the traffic) are shared by the history and every
/// subscriber; control events (a connection opening or closing) are rare and small, so each
/// subscriber gets its own copy of their JSON.
#[derive(Clone, Debug)]
pub enum WireFrame {
    Text(String),
    Binary(Bytes),
}

impl From<Frame> for WireFrame {
    fn from(frame: Frame) -> Self {
        match frame {
            Frame::Text(text) => WireFrame::Text(text),
            Frame::Binary(bytes) => WireFrame::Binary(bytes.into()),
        }
    }
}

impl From<&Event> for WireFrame {
    fn from(event: &Event) -> Self {
        event.to_frame().into()
    }
}

/// Limits and facts the hub is created with.
pub struct HubConfig {
    pub server: ServerInfo,
    pub history_bytes: usize,
    pub history_total: usize,
    /// Cancelled when the bridge shuts down; every connection's own token is a child of it.
    pub shutdown: CancellationToken,
    /// `--transcript`, if given: fed every record and change of state, in order.
    pub transcript: Option<Transcript>,
}

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    events: broadcast::Sender<WireFrame>,
    /// Pages tell this when they have sent a batch, waking connections that wait for them.
    progress: Notify,
    /// Set when the slowest page stopped making progress; cleared when it is caught up.
    stalled: AtomicBool,
    shutdown: CancellationToken,
    transcript: Option<Transcript>,
}

struct State {
    /// Changes when the page moves or stops the listener.
    server: ServerInfo,
    next_id: ConnId,
    seq: Seq,
    conns: BTreeMap<ConnId, Conn>,
    closed: VecDeque<ConnId>,
    history: History,
}

struct Conn {
    info: ConnInfo,
    /// Present while the connection's task runs.
    control: Option<Control>,
}

struct Control {
    writes: mpsc::Sender<Bytes>,
    cancel: CancellationToken,
}

/// What a connection's task needs from the hub: its id, the sends to write, and the token that
/// asks it to stop (a disconnect from the page, or shutdown).
pub struct Opened {
    pub id: ConnId,
    pub writes: mpsc::Receiver<Bytes>,
    pub cancel: CancellationToken,
}

/// A fresh start for a subscriber: the snapshot frames, then the live ones from `events`.
pub struct Subscription {
    pub snapshot: Vec<WireFrame>,
    pub events: broadcast::Receiver<WireFrame>,
}

/// The current time, as the protocol counts it.
pub fn now() -> Micros {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as Micros)
}

impl Hub {
    pub fn new(config: HubConfig) -> Self {
        let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
        let state = State {
            server: config.server,
            next_id: 1,
            seq: 0,
            conns: BTreeMap::new(),
            closed: VecDeque::new(),
            history: History::new(config.history_bytes, config.history_total)
                .counting_overhead(RECORD_OVERHEAD),
        };
        Hub {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                events,
                progress: Notify::new(),
                stalled: AtomicBool::new(false),
                shutdown: config.shutdown,
                transcript: config.transcript,
            }),
        }
    }

    /// Registers a new connection and announces it.
    pub fn open(
        &self,
        origin: Origin,
        peer: String,
        local: Option<String>,
        state: ConnState,
    ) -> Opened {
        let (writes_tx, writes) = mpsc::channel(WRITE_QUEUE);
        let cancel = self.inner.shutdown.child_token();
        let mut s = self.lock();
        let id = s.next_id;
        s.next_id += 1;
        let info = ConnInfo {
            id,
            origin,
            peer,
            local,
            state,
            opened_at: now(),
            closed_at: None,
            close_reason: None,
            rx_bytes: 0,
            tx_bytes: 0,
            rx_msgs: 0,
            tx_msgs: 0,
            elided_msgs: 0,
            elided_bytes: 0,
        };
        let control = Control {
            writes: writes_tx,
            cancel: cancel.clone(),
        };
        self.announce(&info);
        s.conns.insert(
            id,
            Conn {
                info,
                control: Some(control),
            },
        );
        Opened { id, writes, cancel }
    }

    /// A dialled connection is now connected.
    pub fn connected(&self, id: ConnId, peer: SocketAddr, local: SocketAddr) {
        let mut s = self.lock();
        if let Some(conn) = s.conns.get_mut(&id) {
            conn.info.state = ConnState::Open;
            conn.info.peer = peer.to_string();
            conn.info.local = Some(local.to_string());
            self.announce(&conn.info);
        }
    }

    /// Records traffic. `frame` holds [`RECORD_HEADER_LEN`] bytes of headroom, then the
    /// payload; the header is written in place, and the same bytes are kept and broadcast.
    pub fn record(&self, id: ConnId, flow: Flow, mut frame: BytesMut) {
        let len = (frame.len() - RECORD_HEADER_LEN) as u64;
        let mut s = self.lock();
        let s = &mut *s;
        let Some(conn) = s.conns.get_mut(&id) else {
            return;
        };
        s.seq += 1;
        let header = RecordHeader {
            conn: id,
            seq: s.seq,
            flow,
            at: now(),
        };
        header.write(&mut frame[..RECORD_HEADER_LEN]);
        let info = &mut conn.info;
        match flow {
            Flow::Rx => (info.rx_bytes, info.rx_msgs) = (info.rx_bytes + len, info.rx_msgs + 1),
            Flow::Tx => (info.tx_bytes, info.tx_msgs) = (info.tx_bytes + len, info.tx_msgs + 1),
        }
        let frame = frame.freeze();
        if let Some(transcript) = &self.inner.transcript {
            transcript.record(&frame);
        }
        let conns = &mut s.conns;
        s.history.push(id, s.seq, frame.clone(), |dropped, frame| {
            if let Some(conn) = conns.get_mut(&dropped) {
                conn.info.elided_msgs += 1;
                conn.info.elided_bytes += (frame.len() - RECORD_HEADER_LEN) as u64;
            }
        });
        let _ = self.inner.events.send(WireFrame::Binary(frame));
    }

    /// Marks a connection closed, for `reason`, and announces it. Its history stays until
    /// [`CLOSED_KEPT`] newer connections have closed.
    pub fn close(&self, id: ConnId, reason: String) {
        let mut s = self.lock();
        let Some(conn) = s.conns.get_mut(&id) else {
            return;
        };
        if conn.info.state == ConnState::Closed {
            return;
        }
        tracing::info!(conn = id, peer = %conn.info.peer, "closed: {reason}");
        conn.info.state = ConnState::Closed;
        conn.info.closed_at = Some(now());
        conn.info.close_reason = Some(reason);
        conn.control = None;
        self.announce(&conn.info);
        s.closed.push_back(id);
        while s.closed.len() > CLOSED_KEPT {
            if let Some(old) = s.closed.pop_front() {
                s.conns.remove(&old);
                s.history.forget(old);
            }
        }
    }

    /// Records where the TCP listener now is (`None`: not listening) and tells every page, under
    /// the lock that snapshots take, so that every page learns it exactly once.
    pub fn set_listen(&self, listen: Option<String>) {
        let mut s = self.lock();
        s.server.listen.clone_from(&listen);
        let _ = self.inner.events.send((&Event::Listener { listen }).into());
    }

    /// Tells every page about a failure that no single page asked for.
    pub fn error(&self, conn: Option<ConnId>, message: String) {
        tracing::warn!(conn, "{message}");
        let _ = self
            .inner
            .events
            .send((&Event::Error { conn, message }).into());
    }

    /// A snapshot (`Hello`, the held records oldest first, `Synced`) and the live events that
    /// follow it, taken under one lock so that they meet exactly.
    pub fn subscribe(&self) -> Subscription {
        let s = self.lock();
        let events = self.inner.events.subscribe();
        let hello = Event::Hello {
            version: protocol::VERSION,
            server: s.server.clone(),
            conns: s.conns.values().map(|c| c.info.clone()).collect(),
            seq: s.seq,
        };
        let mut snapshot = vec![WireFrame::from(&hello)];
        snapshot.extend(s.history.frames().cloned().map(WireFrame::Binary));
        snapshot.push((&Event::Synced { seq: s.seq }).into());
        Subscription { snapshot, events }
    }

    /// Queues `data` for writing to one open connection, or to every open one, waiting for room
    /// in a full queue. The connection records it once written.
    pub async fn send(&self, to: Target, data: Bytes) -> Result<(), String> {
        let queues: Vec<(ConnId, mpsc::Sender<Bytes>)> = {
            let s = self.lock();
            match to {
                Target::Conn(id) => {
                    let conn = s.open_conn(id)?;
                    conn.control
                        .iter()
                        .map(|c| (id, c.writes.clone()))
                        .collect()
                }
                Target::All => s
                    .conns
                    .values()
                    .filter(|c| c.info.state == ConnState::Open)
                    .filter_map(|c| Some((c.info.id, c.control.as_ref()?.writes.clone())))
                    .collect(),
            }
        };
        if queues.is_empty() {
            return Err("there is no open connection to send to".into());
        }
        for (id, queue) in queues {
            if queue.send(data.clone()).await.is_err() && to != Target::All {
                return Err(format!(
                    "connection {id} closed before the send was written"
                ));
            }
        }
        Ok(())
    }

    /// Asks a connection (open or still dialling) to close.
    pub fn disconnect(&self, id: ConnId) -> Result<(), String> {
        let s = self.lock();
        let conn = s.conn(id)?;
        match &conn.control {
            Some(control) => {
                control.cancel.cancel();
                Ok(())
            }
            None => Err(format!("connection {id} is already closed")),
        }
    }

    /// Paces a connection's reads to the slowest page that is still reading, so that pages
    /// which keep up see every record; a page that stops reading is not waited for.
    pub async fn pace(&self) {
        let inner = &*self.inner;
        let mut behind = inner.events.len();
        if behind <= PACE_ABOVE {
            if inner.stalled.load(Ordering::Relaxed) && behind <= PACE_ABOVE / 2 {
                inner.stalled.store(false, Ordering::Relaxed);
            }
            return;
        }
        if inner.stalled.load(Ordering::Relaxed) {
            return;
        }
        let mut since = Instant::now();
        loop {
            let progressed = inner.progress.notified();
            let now = inner.events.len();
            if now <= PACE_ABOVE {
                return;
            }
            if now < behind {
                (behind, since) = (now, Instant::now());
            }
            let left = STALLED_AFTER.saturating_sub(since.elapsed());
            let waited_out =
                left.is_zero() || tokio::time::timeout(left, progressed).await.is_err();
            if waited_out && inner.events.len() >= behind {
                tracing::debug!("a page stopped reading; it will be re-synced");
                inner.stalled.store(true, Ordering::Relaxed);
                return;
            }
        }
    }

    /// A page has sent what it had: connections waiting in [`Hub::pace`] may go on.
    pub fn progressed(&self) {
        self.inner.progress.notify_waiters();
    }

    /// Waits while the transcript is too far behind for a connection to read more from its peer.
    pub async fn transcript_room(&self) {
        if let Some(transcript) = &self.inner.transcript {
            transcript.room().await;
        }
    }

    /// Writes out and closes the transcript, at shutdown.
    pub async fn finish_transcript(&self) {
        if let Some(transcript) = &self.inner.transcript {
            transcript.finish().await;
        }
    }

    fn announce(&self, info: &ConnInfo) {
        if let Some(transcript) = &self.inner.transcript {
            transcript.conn(info);
        }
        let event = Event::Conn { conn: info.clone() };
        let _ = self.inner.events.send((&event).into());
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take every later request down with it.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn conn(&self, id: ConnId) -> Result<&Conn, String> {
        self.conns
            .get(&id)
            .ok_or_else(|| format!("there is no connection {id}"))
    }

    fn open_conn(&self, id: ConnId) -> Result<&Conn, String> {
        let conn = self.conn(id)?;
        match conn.info.state {
            ConnState::Open => Ok(conn),
            ConnState::Connecting => Err(format!("connection {id} is not open yet")),
            ConnState::Closed => Err(format!("connection {id} is closed")),
        }
    }
}
