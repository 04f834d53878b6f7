//! The one owner of connection state and history, and the fan-out to subscribers.
//!
//! Everything that changes the state (a record, a connection opening or closing, a send being
//! queued) happens under one lock, which also assigns the record's sequence number and hands the
//! encoded frame to the fan-out to pages. So the order of the fan-out is the order of `seq`,
//! and a subscriber that takes its snapshot under the same lock misses nothing and sees nothing
//! twice. The lock is a std mutex, never held across an `.await`, and never held for work that
//! grows with the history: a snapshot shares the held records and connection states, and is
//! read and encoded after the lock is released.
//!
//! Frames are encoded once, here, and shared (`Bytes`) by the history and every subscriber. The
//! hub knows nothing about WebSockets: it speaks the protocol's [`Frame`]s.
//!
//! Nothing here waits for a slow party. A send is queued for its connection if that connection
//! holds less than `--send-queue` unwritten, and refused with the reason otherwise; backpressure
//! ([`crate::backpressure`]) waits only for pages that are still reading.
//!
//! This file owns the lock and the connections' life: open, connected, record, close, forget,
//! and a page's subscription. The rest of the hub takes the same lock, through [`Hub::lock`],
//! under the rules above: `send.rs` admits pages' sends to connections' queues (and tells of
//! files), `server.rs` keeps what pages are told of the bridge as a whole (listeners, rules,
//! how connections are read), and `ticker.rs` tells what changes too often to tell each time.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use bytes::{Bytes, BytesMut};
use protocol::size::{byte_count, format_size};
use protocol::tls::TlsInfo;
use protocol::{
    record_payload_len, ConnId, ConnInfo, ConnSettings, ConnState, Event, Flow, Frame, Marks,
    Origin, Problem, ProblemKind, ProxyInfo, RecordHeader, RequestId, Seq, ServerInfo, Transport,
    Way, RECORD_HEADER_LEN,
};
// futures' channel, not tokio's: it allocates per message rather than a block of 32 up front,
// and an idle connection's queue is its largest part.
use futures::channel::mpsc;
use rustc_hash::FxHashSet;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::backpressure::{Backpressure, PageClock};
use crate::clock::now;
use crate::history::{self, History};
use crate::rules::RuleSet;
use crate::transcript::{self, Reserved, Transcript};

mod hold;
mod send;
mod server;
mod ticker;

pub use hold::{HoldLink, Released};
pub use send::{Author, FilePart, Outgoing, SendFlags, MAX_DATAGRAM};

/// How many frames a subscriber may fall behind before it is sent a fresh snapshot instead.
const FAN_OUT_CAPACITY: usize = 1024;
/// What a held record costs beyond its frame: its `Bytes`, its shared count and index entries,
/// the allocator's rounding and what its heap cannot reuse. Measured, not derived: a history
/// full of 20-byte records (48-byte frames) took 200-230 bytes of RSS per record
/// (`join_full_history_rss`), so counting 160 keeps `--history-total` near what it costs.
const RECORD_OVERHEAD: usize = 160;
/// Closed connections remembered (with their history) for pages that open later.
const CLOSED_KEPT: usize = 1000;

/// Limits and facts the hub is created with.
pub struct HubConfig {
    pub server: ServerInfo,
    pub history_bytes: usize,
    pub history_total: usize,
    /// `--send-queue`: what a connection may hold unwritten before sends to it are refused.
    pub send_queue: usize,
    /// Cancelled when the bridge shuts down; every connection's own token is a child of it.
    pub shutdown: CancellationToken,
    /// `--transcript`, if given: fed every record and change of state, in order.
    pub transcript: Option<Transcript>,
    /// The auto-reply rules at start (`--rules`), compiled; `server.rules` says the same.
    pub rules: RuleSet,
}

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// The compiled auto-reply rules, read by every connection for every message.
    rules: RwLock<Arc<RuleSet>>,
    events: broadcast::Sender<Frame>,
    backpressure: Arc<Backpressure>,
    send_queue: u64,
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
    /// Connections whose `waiting` changed since pages last heard it.
    waiting_changed: FxHashSet<ConnId>,
    /// The rules' hit counts pages last heard.
    hits_told: Vec<u64>,
    /// The last id given to a held message.
    next_held: protocol::HeldId,
}

struct Conn {
    /// Shared with snapshots being sent; copied on write.
    info: Arc<ConnInfo>,
    /// Present while the connection's task runs.
    control: Option<Control>,
    /// A proxied conversation's held messages, while it runs.
    holding: Option<Box<hold::Holding>>,
    /// Pages were told that bytes wait to be written to it (by an event or in a snapshot), so
    /// they must be told when none do. A send written at once, as most are, is never told:
    /// its record says it went, and two `conn` events a message would double a round trip's
    /// work.
    waiting_told: bool,
}

struct Control {
    /// Unbounded as a channel, bounded in bytes by `--send-queue` (counted in `info.waiting`).
    writes: mpsc::UnboundedSender<Outgoing>,
    /// A proxied conversation's other queue: what pages send to its server. `waiting` counts
    /// both queues together.
    to_server: Option<mpsc::UnboundedSender<Outgoing>>,
    /// How the connection is read (a proxied conversation's client); its task follows changes.
    settings: watch::Sender<ConnSettings>,
    /// How a proxied conversation's server is read.
    server_settings: Option<watch::Sender<ConnSettings>>,
    cancel: CancellationToken,
    /// How many files sent to it were stopped: parts of a stopped file are not written.
    files_stopped: watch::Sender<u64>,
}

/// What is known of a connection as it opens.
pub struct Opening {
    pub origin: Origin,
    pub transport: Transport,
    /// Its peer's address (or, while a dial resolves, `host:port` as the page wrote it).
    pub peer: String,
    pub local: Option<String>,
    pub state: ConnState,
    /// The page's request that dialled it, if any.
    pub request: Option<RequestId>,
    /// A proxy's client: the target the bridge relays it to (`host:port`), and how.
    pub proxy: Option<ProxyInfo>,
}

/// What a connection's task needs from the hub: its id and origin, the sends to write, how to
/// read it, and the token that asks it to stop (a disconnect from the page, or shutdown).
pub struct Opened {
    pub id: ConnId,
    pub origin: Origin,
    pub writes: mpsc::UnboundedReceiver<Outgoing>,
    /// The same queue's other end, for the connection's own rules' replies: one queue (rather
    /// than one each) keeps an idle connection small.
    pub replies: mpsc::UnboundedSender<Outgoing>,
    pub settings: watch::Receiver<ConnSettings>,
    pub cancel: CancellationToken,
    /// A proxied conversation's server side (`writes`, `replies` and `settings` are then its
    /// client's).
    pub server: Option<ServerLinks>,
}

/// What a proxied conversation's task needs for its server's side.
pub struct ServerLinks {
    /// What pages send to the server.
    pub writes: mpsc::UnboundedReceiver<Outgoing>,
    /// The same queue's other end, for what rules in passing answer the server.
    pub replies: mpsc::UnboundedSender<Outgoing>,
    /// How the server's messages are read.
    pub settings: watch::Receiver<ConnSettings>,
    /// The holds: client→server's, then server→client's.
    pub holds: [HoldLink; 2],
}

/// A side of a proxied conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxySide {
    Client,
    Server,
}

impl ProxySide {
    pub fn name(self) -> &'static str {
        match self {
            ProxySide::Client => "client",
            ProxySide::Server => "server",
        }
    }

    pub fn other(self) -> ProxySide {
        match self {
            ProxySide::Client => ProxySide::Server,
            ProxySide::Server => ProxySide::Client,
        }
    }
}

/// A fresh start for a subscriber: `hello`, the held records, `synced`, then the live frames from
/// `events`. `clock` holds connections back for this subscriber while it keeps reading.
pub struct Subscription {
    pub hello: Frame,
    pub history: history::Snapshot,
    pub synced: Frame,
    pub events: broadcast::Receiver<Frame>,
    pub clock: PageClock,
}

impl Hub {
    pub fn new(config: HubConfig) -> Self {
        let (events, _) = broadcast::channel(FAN_OUT_CAPACITY);
        let state = State {
            server: config.server,
            next_id: 1,
            seq: 0,
            conns: BTreeMap::new(),
            closed: VecDeque::new(),
            history: History::new(config.history_bytes, config.history_total)
                .counting_overhead(RECORD_OVERHEAD),
            waiting_changed: FxHashSet::default(),
            hits_told: Vec::new(),
            next_held: 0,
        };
        Hub {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                rules: RwLock::new(Arc::new(config.rules)),
                events,
                backpressure: Arc::default(),
                send_queue: config.send_queue as u64,
                shutdown: config.shutdown,
                transcript: config.transcript,
            }),
        }
    }

    /// Registers a new connection and announces it.
    pub fn open(&self, opening: Opening) -> Opened {
        let origin = opening.origin;
        let (writes_tx, writes) = mpsc::unbounded();
        let cancel = self.inner.shutdown.child_token();
        let mut s = self.lock();
        let id = s.next_id;
        s.next_id += 1;
        let defaults = s.server.defaults.clone();
        // A proxied conversation's server side: its queue, how it is read, and the holds.
        let (to_server, server_settings, holding, server) = match opening.proxy.is_some() {
            true => {
                let (tx, writes) = mpsc::unbounded();
                let (settings_tx, settings) = watch::channel(defaults.clone());
                let (holding, holds) = hold::Holding::new();
                let links = ServerLinks {
                    writes,
                    replies: tx.clone(),
                    settings,
                    holds,
                };
                (Some(tx), Some(settings_tx), Some(holding), Some(links))
            }
            false => (None, None, None, None),
        };
        let info = ConnInfo {
            local: opening.local,
            request: opening.request,
            transport: opening.transport,
            settings: defaults.clone(),
            proxy: opening.proxy.map(|proxy| {
                Box::new(ProxyInfo {
                    settings: defaults,
                    ..proxy
                })
            }),
            ..ConnInfo::new(id, origin, opening.peer, opening.state, now())
        };
        let (settings_tx, settings) = watch::channel(info.settings.clone());
        let replies = writes_tx.clone();
        let control = Control {
            writes: writes_tx,
            to_server,
            settings: settings_tx,
            server_settings,
            cancel: cancel.clone(),
            files_stopped: watch::Sender::new(0),
        };
        self.announce(&info);
        s.conns.insert(
            id,
            Conn {
                info: Arc::new(info),
                control: Some(control),
                holding,
                waiting_told: false,
            },
        );
        Opened {
            id,
            origin,
            writes,
            replies,
            settings,
            cancel,
            server,
        }
    }

    /// A proxy's client is now relayed to its server, reached at `server` from `local`; with
    /// the TLS details of the client's side and of the server's, where they speak TLS.
    pub fn proxied(
        &self,
        id: ConnId,
        server: SocketAddr,
        local: SocketAddr,
        [client_tls, server_tls]: [Option<TlsInfo>; 2],
    ) {
        let mut s = self.lock();
        if let Some(conn) = s.conns.get_mut(&id) {
            let info = Arc::make_mut(&mut conn.info);
            info.state = ConnState::Open;
            info.tls = client_tls.map(Box::new);
            if let Some(proxy) = &mut info.proxy {
                proxy.server = Some(server.to_string());
                proxy.local = Some(local.to_string());
                proxy.tls = server_tls.map(Box::new);
            }
            self.announce(info);
        }
    }

    /// A side of a proxied conversation closed its sending side (a half-close), and the other
    /// side was told: into the transcript, and to every page.
    pub fn half_closed(&self, id: ConnId, side: ProxySide) {
        let mut s = self.lock();
        let Some(conn) = s.conns.get_mut(&id) else {
            return;
        };
        let info = Arc::make_mut(&mut conn.info);
        let Some(proxy) = &mut info.proxy else {
            return;
        };
        match side {
            ProxySide::Client => proxy.client_closed = true,
            ProxySide::Server => proxy.server_closed = true,
        }
        tracing::info!(conn = id, "the {} half-closed", side.name());
        if let Some(transcript) = &self.inner.transcript {
            let change = transcript::Change::HalfClosed {
                side: side.name(),
                at: now(),
            };
            transcript.conn(info, change);
        }
        self.publish(info);
    }

    /// A connection that was connecting (a dial, or a TLS handshake) is now open.
    pub fn connected(&self, id: ConnId, peer: SocketAddr, local: SocketAddr, tls: Option<TlsInfo>) {
        let mut s = self.lock();
        if let Some(conn) = s.conns.get_mut(&id) {
            let info = Arc::make_mut(&mut conn.info);
            info.state = ConnState::Open;
            info.peer = peer.to_string();
            info.local = Some(local.to_string());
            info.tls = tls.map(Box::new);
            self.announce(info);
        }
    }

    /// Records traffic. `frame` holds [`RECORD_HEADER_LEN`] bytes of headroom, then the
    /// payload; the header is written in place (and a rule's id appended), and the same bytes
    /// are kept and fanned out. A `tx` record from a page is what was written of the sends
    /// waiting for this connection. `original`: what a side said of a held message a page
    /// edited, which only the transcript keeps.
    pub fn record(
        &self,
        id: ConnId,
        flow: Flow,
        mut frame: BytesMut,
        marks: Marks,
        rule: Option<&str>,
        original: Option<Bytes>,
    ) {
        let len = (frame.len() - RECORD_HEADER_LEN) as u64;
        let rule = rule.unwrap_or_default().as_bytes();
        let rule_len = u8::try_from(rule.len()).expect("rule ids are at most 64 bytes");
        frame.extend_from_slice(rule);
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
            marks,
        };
        header.write(&mut frame[..RECORD_HEADER_LEN], rule_len);
        let waiting = count(
            Arc::make_mut(&mut conn.info),
            flow,
            marks,
            len,
            rule_len == 0,
        );
        let nothing_waits = waiting == Some(0);
        if waiting.is_some_and(|left| left > 0) {
            s.waiting_changed.insert(id);
        }
        let frame = frame.freeze();
        if let Some(transcript) = &self.inner.transcript {
            transcript.record(&frame, original);
        }
        let conns = &mut s.conns;
        s.history.push(id, s.seq, frame.clone(), |dropped, frame| {
            if let Some(conn) = conns.get_mut(&dropped) {
                let info = Arc::make_mut(&mut conn.info);
                info.elided_msgs += 1;
                info.elided_bytes += record_payload_len(frame) as u64;
            }
        });
        self.fan_out(Frame::Binary(frame));
        // Pages hear at once that nothing waits any more; after the record, since a `conn`
        // event's counters must not count a record the pages have not been sent yet.
        if nothing_waits {
            s.waiting_changed.remove(&id);
            if let Some(conn) = s.conns.get_mut(&id) {
                if std::mem::take(&mut conn.waiting_told) {
                    self.publish(&conn.info);
                }
            }
        }
    }

    /// Marks a connection closed, for `reason`, and announces it. Sends still waiting to be
    /// written are dropped with the connection, and the reason says how much they held. Its
    /// history stays until [`CLOSED_KEPT`] newer connections have closed.
    pub fn close(&self, id: ConnId, reason: String) {
        let mut s = self.lock();
        let s = &mut *s;
        let Some(conn) = s.conns.get_mut(&id) else {
            return;
        };
        if conn.info.state == ConnState::Closed {
            return;
        }
        let info = Arc::make_mut(&mut conn.info);
        let reason = match info.waiting {
            0 => reason,
            n => format!(
                "{reason}; {} ({}) waiting to be written were never sent",
                format_size(n),
                byte_count(n)
            ),
        };
        let reason = match conn.holding.take().and_then(|h| h.unsent()) {
            Some(held) => format!("{reason}; {held}"),
            None => reason,
        };
        tracing::info!(conn = id, peer = %info.peer, "closed: {reason}");
        info.state = ConnState::Closed;
        info.closed_at = Some(now());
        info.close_reason = Some(reason);
        conn.control = None;
        s.waiting_changed.remove(&id);
        self.announce(&conn.info);
        s.closed.push_back(id);
        while s.closed.len() > CLOSED_KEPT {
            if let Some(old) = s.closed.pop_front() {
                s.conns.remove(&old);
                s.history.forget(old);
            }
        }
    }

    /// Forgets every closed connection and frees its history; tells every page which.
    pub fn forget_closed(&self) {
        let mut s = self.lock();
        let s = &mut *s;
        let conns: Vec<ConnId> = s.closed.drain(..).collect();
        for id in &conns {
            s.conns.remove(id);
            s.history.forget(*id);
        }
        self.fan_out(Event::Forgotten { conns }.to_frame());
    }

    /// What the bridge holds of conversation `id`: what it says of it, and its records (the
    /// earliest may be gone: its `elided_msgs` count them), to be read without the lock.
    pub fn held_conversation(
        &self,
        id: ConnId,
    ) -> Result<(Arc<ConnInfo>, history::Snapshot), Problem> {
        let s = self.lock();
        let info = s.conn(id)?.info.clone();
        Ok((info, s.history.snapshot_of(id)))
    }

    /// Tells every page about a failure that no single page asked for.
    pub fn error(&self, problem: Problem) {
        tracing::warn!(conn = problem.conn, "{}", problem.message);
        let _s = self.lock();
        self.fan_out(Event::Error(problem).to_frame());
    }

    /// A snapshot (`Hello`, the held records oldest first, `Synced`) and the live events that
    /// follow it. What it holds is taken under one lock, so that they meet exactly; it is
    /// encoded after.
    pub fn subscribe(&self) -> Subscription {
        let ((infos, held), history, server, seq, events, clock) = {
            let mut s = self.lock();
            let infos: Vec<Arc<ConnInfo>> = s
                .conns
                .values_mut()
                .map(|c| {
                    // This page hears what waits now: it must hear when that is done.
                    c.waiting_told |= c.info.waiting > 0;
                    c.info.clone()
                })
                .collect();
            // Copied under the lock: at most a few MiB, and only while messages are held.
            let mut held = Vec::new();
            for (&id, conn) in &s.conns {
                if let Some(holding) = &conn.holding {
                    holding.snapshot(id, &mut held);
                }
            }
            (
                (infos, held),
                s.history.snapshot(),
                s.server.clone(),
                s.seq,
                self.inner.events.subscribe(),
                self.inner.backpressure.join(),
            )
        };
        let hello = Event::Hello {
            version: protocol::VERSION,
            server: Box::new(server),
            conns: infos.iter().map(|info| ConnInfo::clone(info)).collect(),
            seq,
            held,
        };
        Subscription {
            hello: hello.to_frame(),
            history,
            synced: Event::Synced { seq }.to_frame(),
            events,
            clock,
        }
    }

    /// Asks a connection (open or still dialling) to close.
    pub fn disconnect(&self, id: ConnId) -> Result<(), Problem> {
        let s = self.lock();
        let conn = s.conn(id)?;
        match &conn.control {
            Some(control) => {
                control.cancel.cancel();
                Ok(())
            }
            None => Err(Problem::new(
                ProblemKind::NotOpen,
                format!("connection {id} is already closed"),
            )
            .on(id)),
        }
    }

    /// Holds a connection's reads back for the pages that are still reading, so that they see every
    /// record; a page that stops reading is not waited for.
    pub async fn wait_for_pages(&self) {
        self.inner.backpressure.wait().await;
    }

    /// Waits for room in the transcript for a record frame of `frame_len` bytes, and holds it
    /// until dropped (once the record is made). `None` without a transcript.
    pub async fn transcript_room(&self, frame_len: usize) -> Option<Reserved<'_>> {
        let transcript = self.inner.transcript.as_ref()?;
        Some(transcript.reserve(transcript::record_cost(frame_len)).await)
    }

    /// Waits while the transcript is over its bound (before a send is written).
    pub async fn transcript_caught_up(&self) {
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

    /// A change of a connection's state: into the transcript, and to every page.
    fn announce(&self, info: &ConnInfo) {
        if let Some(transcript) = &self.inner.transcript {
            transcript.conn(info, transcript::Change::State);
        }
        self.publish(info);
    }

    /// A connection's new counters or waiting bytes, to every page.
    fn publish(&self, info: &ConnInfo) {
        self.fan_out(Event::Conn { conn: info.clone() }.to_frame());
    }

    /// Hands a frame to every subscriber. Called under the lock, which orders frames and
    /// subscriptions.
    fn fan_out(&self, frame: Frame) {
        self.inner.backpressure.sent();
        let _ = self.inner.events.send(frame);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take every later request down with it.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts a record of `len` bytes in its connection's counters (a proxy's by the way the bytes
/// went: `rx` client→server, `tx` server→client). What a page sent was waiting in the send
/// queue: returns what waits now, after such a record.
fn count(info: &mut ConnInfo, flow: Flow, marks: Marks, len: u64, no_rule: bool) -> Option<u64> {
    if marks.contains(Marks::DROPPED) {
        // Said by a side, never sent on: it counts as neither way.
        return None;
    }
    match flow {
        Flow::Rx => (info.rx_bytes, info.rx_msgs) = (info.rx_bytes + len, info.rx_msgs + 1),
        Flow::Tx => (info.tx_bytes, info.tx_msgs) = (info.tx_bytes + len, info.tx_msgs + 1),
    }
    // Rules' replies never waited in the send queue, nor did what a proxy relayed.
    let from_page = match Way::of(flow, marks) {
        Some(_) => marks.contains(Marks::INJECTED),
        None => flow == Flow::Tx,
    };
    if from_page && no_rule {
        info.waiting = info.waiting.saturating_sub(len);
        return Some(info.waiting);
    }
    None
}

impl State {
    fn conn(&self, id: ConnId) -> Result<&Conn, Problem> {
        self.conns.get(&id).ok_or_else(|| {
            Problem::new(
                ProblemKind::NoSuchConnection,
                format!("there is no connection {id}"),
            )
            .on(id)
        })
    }
}
