//! The page's state and the one function that changes it.
//!
//! Everything the page shows is derived from [`State`], and [`State`] changes only through
//! [`reduce`], a pure function of the previous state and an [`Action`]. No browser APIs here: the
//! tests below run natively and pin down the rules that make the page honest:
//!
//! - a snapshot (`Hello`) replaces everything, so a reconnect never shows anything twice;
//! - a record is applied at most once (by its sequence number);
//! - counters count history once (the snapshot's) and live traffic once (ours);
//! - a conversation that got data while not in view shows how many messages are unread;
//! - each conversation keeps how it is read, shown and written (encoding, view, composer
//!   options), so that the controls show what is in force for the one in view.
//!
//! The work of an action grows with what it changes, not with the number of connections, so that
//! a page with 10,000 of them stays quick. The state is cloned on every action (Yew keeps the
//! previous one alive): its collections are [`Table`]s of shared chunks, each conversation sits
//! behind its own `Rc`, and a conversation's log is a list of shared chunks where only the last
//! one is ever copied. What the page would otherwise count by walking every connection (how many
//! are open, unread messages, the list's rows, the other end of a connection) is kept up to date
//! as connections change: every change goes through [`State::conv_mut`], which notes what the
//! connection was, and [`State::settle`] brings the totals and indexes along once per action.

mod conv;
mod files;
mod list;
mod listeners;
mod log;
pub mod pacing;
pub mod reading;
pub mod rule_draft;
mod table;

use std::collections::HashMap;
use std::rc::Rc;

use crate::bytes_view::compose::ComposeOptions;
use crate::encoding::Encoding;
use crate::wire::{Incoming, SocketStatus};

use protocol::{
    ConnId, ConnInfo, ConnState, Event, Flow, Problem, ProblemKind, RequestId, Seq, ServerInfo,
    Target, Transport, VERSION,
};

pub use self::conv::{waiting, Conv};
pub use self::files::{FilePart, FileSend};
pub use self::list::{ListView, RowKey, Sort};
pub use self::listeners::{Asked, Listeners};
pub use self::log::{Entry, Limits, Log, Rec};
pub use self::table::Table;

/// How many messages of a conversation are rendered at first, and how many more each
/// "Show earlier" reveals. Rendering tens of thousands of DOM nodes would freeze the page.
pub const WINDOW: usize = 500;
/// Notices shown at most; older ones go first.
const MAX_NOTICES: usize = 4;

/// How a conversation's messages are shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ViewMode {
    /// Text in bubbles, received on the left and sent on the right: for chatting.
    #[default]
    Text,
    /// A line per message (time, direction, size, text): dense, for device traffic.
    Log,
    /// A hexdump per message: offsets, 16 bytes a row, and ASCII.
    Hex,
}

impl ViewMode {
    pub const ALL: [ViewMode; 3] = [ViewMode::Text, ViewMode::Log, ViewMode::Hex];

    /// The value of its option in the form.
    pub fn value(self) -> &'static str {
        match self {
            ViewMode::Text => "text",
            ViewMode::Log => "log",
            ViewMode::Hex => "hex",
        }
    }

    /// What the user reads in the menu.
    pub fn label(self) -> &'static str {
        match self {
            ViewMode::Text => "Chat",
            ViewMode::Log => "Log",
            ViewMode::Hex => "Hex",
        }
    }

    pub fn from_value(value: &str) -> Option<ViewMode> {
        ViewMode::ALL.into_iter().find(|v| v.value() == value)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Socket(SocketStatus),
    /// What the bridge said, in the order it arrived, applied as one update.
    Events(Vec<Incoming>),
    /// The user chose this conversation.
    Select(ConnId),
    /// Reveal [`WINDOW`] more of the earlier messages of a conversation.
    ShowEarlier(ConnId),
    /// Show a conversation's messages another way.
    SetView(ConnId, ViewMode),
    /// Read and write a conversation's text in another encoding.
    SetEncoding(ConnId, Encoding),
    /// Turn what is typed into bytes another way: for a conversation, or, with none selected,
    /// for what the composer sends to all.
    SetCompose(Option<ConnId>, ComposeOptions),
    /// Send what is typed to every open connection, or to the selected one only.
    SetToAll(bool),
    /// The page's own choice of encoding for new connections (kept in the browser), or `None`
    /// for the bridge's (`--encoding`).
    SetPageEncoding(Option<Encoding>),
    /// The page sent to all: the bridge will say how many it reached.
    SendingToAll,
    /// Show the connection list another way.
    SetList(ListView),
    /// Dismiss the notice with this id.
    Dismiss(u64),
    /// A problem the page found itself (a frame it could not decode, a send that failed).
    Notice(String),
    /// The user asked the bridge to dial, with this request id: select that connection when it
    /// appears.
    Dialling(RequestId),
    /// The page asked something of one of the bridge's listeners (start, move, stop, join or
    /// leave a group): a failure that comes back is that listener's.
    AskListener(Asked),
    /// Sends to the conversation in view (or, while sending to all, to all) may go to a
    /// broadcast address: the UDP send flag, on every send while it is on.
    SetBroadcast(bool),
    /// The page asked for other settings (for a connection, or for new ones): what the bridge
    /// said of the last ones no longer applies.
    Configuring,
    /// The page sent a rule set: likewise.
    SavingRules,
    /// A file this page was sending to these connections stopped before its end (cancelled,
    /// or refused): its entries say so.
    FileStopped(Vec<ConnId>),
}

/// A message shown at the top of the page until dismissed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub id: u64,
    pub text: Rc<str>,
}

/// How many connections are in each state, and the unread messages of all of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub connecting: usize,
    pub open: usize,
    pub closed: usize,
    pub unread: u64,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.connecting + self.open + self.closed
    }

    fn add(&mut self, conv: &Conv, sign: i64) {
        let n = match conv.info.state {
            ConnState::Connecting => &mut self.connecting,
            ConnState::Open => &mut self.open,
            ConnState::Closed => &mut self.closed,
        };
        *n = n.wrapping_add_signed(sign as isize);
        self.unread = self
            .unread
            .wrapping_add_signed(sign * i64::from(conv.unread));
    }
}

/// What the totals and indexes hold about a connection, noted before an action changes it.
#[derive(Clone, Debug)]
struct Indexed {
    conv: Rc<Conv>,
    row: Option<RowKey>,
}

#[derive(Clone, Debug)]
pub struct State {
    pub socket: SocketStatus,
    /// From the last `Hello`; `None` until the first one.
    pub server: Option<ServerInfo>,
    pub conns: Table<ConnId, Rc<Conv>>,
    pub selected: Option<ConnId>,
    /// The other end of the selected connection, when the bridge holds both: shown beside it.
    pub twin: Option<ConnId>,
    /// Whether the user chose the selected connection when it was already closed: then a new
    /// peer does not take its place.
    pinned: bool,
    pub notices: Vec<Notice>,
    /// `true` between a snapshot's `Synced` and the socket closing.
    pub synced: bool,
    /// `true` from a snapshot until the socket closes: what the page shows is the bridge's
    /// present, not what it last heard.
    fresh: bool,
    /// Where the listener last listened, kept when it stops: where to start it again.
    pub last_listen: Option<String>,
    /// The TLS listener's and the UDP socket's last addresses, and failures of the page's
    /// requests to any listener.
    pub listeners: Listeners,
    /// Whether a send to all carries the broadcast flag.
    pub broadcast_all: bool,
    /// Whether the composer sends to every open connection.
    pub to_all: bool,
    /// How the composer writes when no conversation is selected (sending to all).
    pub compose_idle: ComposeOptions,
    /// The page's own encoding for new connections, over the bridge's.
    pub page_encoding: Option<Encoding>,
    /// How the connection list is shown, and its rows in that order.
    pub list: ListView,
    pub rows: Table<RowKey, ()>,
    counts: Counts,
    /// Connections by (a hash of) their peer address, to find the other end of one.
    by_peer: Table<RowKey, ()>,
    /// The connections this action changed, as the totals and indexes still count them.
    changed: HashMap<ConnId, Option<Indexed>>,
    /// The `seq` of the last `Hello`: records up to it are history, already counted.
    snapshot_seq: Option<Seq>,
    /// The last record applied; anything at or below it is a duplicate.
    last_seq: Option<Seq>,
    /// After a reconnect to the same bridge: records past this arrived while the page was away,
    /// so they are unread although they come as history.
    unread_after: Option<Seq>,
    pending_dial: Option<RequestId>,
    /// What the last send to all reached: connections it was queued for, and that refused it.
    pub sent_to_all: Option<(u64, u64)>,
    /// How often each auto-reply rule has answered.
    pub rule_hits: Vec<protocol::RuleHits>,
    /// Why the bridge refused the last rule set this page saved, until a rule set is in force.
    pub rules_problem: Option<Rc<str>>,
    /// Why the bridge refused the last settings this page chose, for a connection or (`None`)
    /// for new ones, until settings change.
    pub settings_problem: Option<(Option<ConnId>, Rc<str>)>,
    next_id: u64,
    limits: Limits,
}

impl Default for State {
    fn default() -> Self {
        State::with_limits(Limits::default())
    }
}

impl yew::Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        Rc::new(reduce(Rc::unwrap_or_clone(self), action))
    }
}

/// Applies one action.
pub fn reduce(mut state: State, action: Action) -> State {
    match action {
        Action::Socket(status) => {
            if status != SocketStatus::Open {
                state.synced = false;
            }
            // A new socket, or none: until its snapshot, what the page holds may be out of date.
            state.fresh = false;
            state.socket = status;
        }
        Action::Events(events) => {
            for incoming in events {
                state.apply(incoming);
            }
        }
        Action::Select(id) => {
            if let Some(conv) = state.conns.get(&id) {
                state.pinned = conv.info.state == ConnState::Closed;
                state.select(id);
            }
        }
        Action::ShowEarlier(id) => {
            if let Some(conv) = state.conv_mut(id) {
                conv.window = (conv.window + WINDOW).min(conv.log.len().max(WINDOW));
            }
        }
        Action::SetView(id, view) => {
            if let Some(conv) = state.conv_mut(id) {
                conv.view = view;
            }
        }
        Action::SetEncoding(id, encoding) => {
            if let Some(conv) = state.conv_mut(id) {
                conv.encoding = encoding;
            }
        }
        Action::SetCompose(Some(id), options) => {
            if let Some(conv) = state.conv_mut(id) {
                conv.compose = options;
            }
        }
        Action::SetCompose(None, options) => state.compose_idle = options,
        Action::SetToAll(on) => {
            state.to_all = on;
            if !on {
                state.sent_to_all = None;
            }
        }
        Action::SetPageEncoding(encoding) => state.page_encoding = encoding,
        Action::SendingToAll => state.sent_to_all = None,
        Action::SetList(list) => {
            if list != state.list {
                state.list = list;
                state.rebuild_rows();
            }
        }
        Action::Dismiss(id) => state.notices.retain(|n| n.id != id),
        Action::Notice(text) => state.notice(text),
        Action::Dialling(request) => state.pending_dial = Some(request),
        Action::AskListener(asked) => state.listeners.ask(asked),
        Action::SetBroadcast(on) if state.to_all => state.broadcast_all = on,
        Action::SetBroadcast(on) => {
            if let Some(conv) = state.selected.and_then(|id| state.conv_mut(id)) {
                conv.broadcast = on;
            }
        }
        Action::Configuring => state.settings_problem = None,
        Action::SavingRules => state.rules_problem = None,
        Action::FileStopped(conns) => {
            for conn in conns {
                state.files_stopped(conn, false);
            }
        }
    }
    state.settle();
    state
}

impl State {
    pub fn with_limits(limits: Limits) -> State {
        State {
            socket: SocketStatus::Connecting,
            server: None,
            conns: Table::default(),
            selected: None,
            twin: None,
            pinned: false,
            notices: Vec::new(),
            synced: false,
            fresh: false,
            last_listen: None,
            listeners: Listeners::default(),
            broadcast_all: false,
            to_all: false,
            compose_idle: ComposeOptions::default(),
            page_encoding: None,
            list: ListView::default(),
            rows: Table::default(),
            counts: Counts::default(),
            by_peer: Table::default(),
            changed: HashMap::new(),
            snapshot_seq: None,
            last_seq: None,
            unread_after: None,
            pending_dial: None,
            sent_to_all: None,
            rule_hits: Vec::new(),
            rules_problem: None,
            settings_problem: None,
            next_id: 1,
            limits,
        }
    }

    /// How a new connection's text is read and written: the page's choice, else the bridge's
    /// `--encoding`.
    pub fn default_encoding(&self) -> Encoding {
        self.page_encoding
            .or(self.server.as_ref().map(|s| s.encoding))
            .unwrap_or_default()
    }

    /// Whether a send to `to` carries the broadcast flag, as the composer shows it for that
    /// conversation (or for sending to all).
    pub fn broadcast_for(&self, to: Target) -> bool {
        match to {
            Target::Conn(id) => self.conns.get(&id).is_some_and(|c| c.broadcast),
            Target::All => self.broadcast_all,
        }
    }

    pub fn selected_conv(&self) -> Option<&Rc<Conv>> {
        self.selected.and_then(|id| self.conns.get(&id))
    }

    pub fn twin_conv(&self) -> Option<&Rc<Conv>> {
        self.twin.and_then(|id| self.conns.get(&id))
    }

    /// Whether what the page shows of connections may be out of date: it is not connected to
    /// the bridge, or has not had its snapshot since it connected again.
    pub fn stale(&self) -> bool {
        !self.fresh
    }

    pub fn open_count(&self) -> usize {
        self.counts.open
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// The other end of `conv` when the bridge holds both (it dialled its own listener): the
    /// connection whose peer is this one's local address, and the other way round.
    pub fn twin_of(&self, conv: &Conv) -> Option<&Rc<Conv>> {
        let local = conv.info.local.as_ref()?;
        let first = RowKey::of_address(local, 0);
        self.by_peer
            .range_from(&first)
            .take_while(|(key, _)| RowKey::of_address(local, key.id) == **key)
            .filter_map(|(key, _)| self.conns.get(&key.id))
            .find(|c| {
                c.info.id != conv.info.id
                    && &c.info.peer == local
                    && c.info.local.as_ref() == Some(&conv.info.peer)
            })
    }

    /// The connection `id`, to change. Every change to a connection goes through here, so
    /// that [`State::settle`] knows what the totals and indexes counted it as.
    fn conv_mut(&mut self, id: ConnId) -> Option<&mut Conv> {
        self.note(id);
        self.conns.get_mut(&id).map(Rc::make_mut)
    }

    /// Notes what the totals and indexes count connection `id` as, before it changes (once
    /// per action). Whether there is such a connection.
    fn note(&mut self, id: ConnId) -> bool {
        let Some(conv) = self.conns.get(&id) else {
            return false;
        };
        if !self.changed.contains_key(&id) {
            let row = self.list.key(conv);
            let conv = conv.clone();
            self.changed.insert(id, Some(Indexed { conv, row }));
        }
        true
    }

    /// Adds a connection the page did not have.
    fn insert(&mut self, conv: Conv) {
        let id = conv.info.id;
        self.changed.entry(id).or_insert(None);
        self.conns.insert(id, Rc::new(conv));
    }

    /// Brings the totals and indexes up to date with what this action changed, and finds the
    /// other end of the selected connection, which is in view and so has nothing unread.
    fn settle(&mut self) {
        self.settle_indexes();
        let twin = self
            .selected_conv()
            .and_then(|sel| self.twin_of(sel))
            .map(|c| c.info.id);
        self.twin = twin;
        if let Some(id) = twin {
            if self.conns[&id].unread > 0 {
                if let Some(conv) = self.conv_mut(id) {
                    conv.unread = 0;
                }
                self.settle_indexes();
            }
        }
    }

    fn settle_indexes(&mut self) {
        for (id, before) in std::mem::take(&mut self.changed) {
            let after = self.conns.get(&id).cloned();
            if let Some(before) = &before {
                self.counts.add(&before.conv, -1);
            }
            if let Some(after) = &after {
                self.counts.add(after, 1);
            }
            let row = after.as_ref().and_then(|c| self.list.key(c));
            let old_row = before.as_ref().and_then(|b| b.row);
            if row != old_row {
                if let Some(old) = old_row {
                    self.rows.remove(&old);
                }
                if let Some(new) = row {
                    self.rows.insert(new, ());
                }
            }
            let old_peer = before.as_ref().map(|b| &b.conv.info.peer);
            let peer = after.as_ref().map(|c| &c.info.peer);
            if old_peer != peer {
                if let Some(old) = old_peer {
                    self.by_peer.remove(&RowKey::of_address(old, id));
                }
                if let Some(new) = peer {
                    self.by_peer.insert(RowKey::of_address(new, id), ());
                }
            }
        }
    }

    /// Counts and indexes every connection afresh: after a snapshot, or when the list is shown
    /// another way. The only places that walk them all.
    fn reindex(&mut self) {
        self.changed.clear();
        self.counts = Counts::default();
        self.by_peer = Table::default();
        for (id, conv) in self.conns.iter() {
            self.counts.add(conv, 1);
            self.by_peer
                .insert(RowKey::of_address(&conv.info.peer, *id), ());
        }
        self.rebuild_rows();
    }

    fn rebuild_rows(&mut self) {
        self.rows = Table::default();
        for conv in self.conns.values() {
            if let Some(row) = self.list.key(conv) {
                self.rows.insert(row, ());
            }
        }
        // The rows now hold what connections changed earlier in this action are: note that.
        for (id, before) in self.changed.iter_mut() {
            if let Some(before) = before {
                before.row = self.conns.get(id).and_then(|c| self.list.key(c));
            }
        }
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn notice(&mut self, text: String) {
        let id = self.next_id();
        self.notices.push(Notice {
            id,
            text: text.into(),
        });
        if self.notices.len() > MAX_NOTICES {
            self.notices.remove(0);
        }
    }

    fn select(&mut self, id: ConnId) {
        if !self.conns.contains_key(&id) {
            return;
        }
        self.selected = Some(id);
        if self.conns[&id].unread > 0 {
            if let Some(conv) = self.conv_mut(id) {
                conv.unread = 0;
            }
        }
    }

    fn apply(&mut self, incoming: Incoming) {
        match incoming {
            Incoming::Event(event) => self.event(event),
            Incoming::Record(conn, rec) => self.record(conn, rec),
            Incoming::FilePart(conn, part) => self.file_part(conn, part),
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Hello {
                version,
                server,
                conns,
                seq,
            } => self.hello(version, *server, conns, seq),
            Event::Synced { .. } => self.synced = true,
            Event::Conn { conn } => self.conn(conn),
            Event::Error(Problem {
                conn: None,
                kind: ProblemKind::ListenFailed,
                message,
            }) if self.listeners.failed(&message) => {}
            Event::Error(problem) => self.problem(problem),
            Event::Listener {
                listen,
                transport,
                groups,
                fingerprint,
            } => {
                if transport == protocol::Transport::Tcp && listen.is_some() {
                    self.last_listen = listen.clone();
                }
                self.listeners.heard(transport, listen.as_deref());
                if let Some(server) = &mut self.server {
                    server.set_listener(transport, listen, groups, fingerprint);
                }
            }
            Event::Forgotten { conns } => self.forget(&conns),
            Event::SentToAll { queued, refused } => self.sent_to_all = Some((queued, refused)),
            Event::Defaults { settings } => {
                if let Some(server) = &mut self.server {
                    server.defaults = settings;
                }
                if matches!(self.settings_problem, Some((None, _))) {
                    self.settings_problem = None;
                }
            }
            Event::Rules { rules } => {
                if let Some(server) = &mut self.server {
                    server.rules = rules;
                }
                self.rule_hits.clear();
                self.rules_problem = None;
            }
            Event::RuleHits { hits } => self.rule_hits = hits,
            Event::File { conn, name, size } => self.file_announced(conn, name, size),
            // Parts handed to the bridge before the stop are still written, and still its own.
            Event::FileStopped { conn } => self.files_stopped(conn, false),
        }
    }

    /// A snapshot: drop everything and rebuild from it.
    fn hello(&mut self, version: u32, server: ServerInfo, conns: Vec<ConnInfo>, seq: Seq) {
        if version != VERSION {
            self.notice(format!(
                "The bridge speaks protocol version {version}, this page version {VERSION}: \
                 reload the page, or use a matching bridge."
            ));
        }
        // Sequence numbers only grow within one bridge process: a snapshot that ends before
        // what we already saw comes from a restarted bridge, whose connection ids mean
        // something else.
        let same_bridge = self.last_seq.is_none_or(|last| last <= seq);
        let old = std::mem::take(&mut self.conns);
        let encoding = self.page_encoding.unwrap_or(server.encoding);
        for info in conns {
            let mut conv = Conv::new(info);
            conv.encoding = encoding;
            if same_bridge {
                if let Some(prev) = old.get(&conv.info.id) {
                    conv.keep_choices_of(prev);
                }
            }
            self.conns.insert(conv.info.id, Rc::new(conv));
        }
        self.fresh = true;
        if server.listen.is_some() {
            self.last_listen = server.listen.clone();
        }
        for (transport, listen) in [
            (Transport::Tls, &server.tls_listen),
            (Transport::Udp, &server.udp_listen),
        ] {
            if listen.is_some() {
                self.listeners.heard(transport, listen.as_deref());
            }
        }
        self.reindex();
        self.unread_after = if same_bridge { self.last_seq } else { None };
        self.snapshot_seq = Some(seq);
        self.last_seq = None;
        self.synced = false;
        self.server = Some(server);
        if !same_bridge
            || self
                .selected
                .is_some_and(|id| !self.conns.contains_key(&id))
        {
            self.selected = None;
        }
        if self.selected.is_none() {
            let newest_open = self
                .conns
                .values()
                .rev()
                .find(|c| c.info.state == ConnState::Open)
                .map(|c| c.info.id);
            if let Some(id) = newest_open {
                self.select(id);
            }
        }
    }

    fn conn(&mut self, info: ConnInfo) {
        let id = info.id;
        let is_new = !self.conns.contains_key(&id);
        let was_open = self
            .conns
            .get(&id)
            .is_some_and(|c| c.info.state == ConnState::Open);
        if self
            .settings_problem
            .as_ref()
            .is_some_and(|(c, _)| *c == Some(id))
            && self
                .conns
                .get(&id)
                .is_some_and(|c| c.info.settings != info.settings)
        {
            self.settings_problem = None;
        }
        match self.conv_mut(id) {
            Some(conv) => {
                let old = &conv.info;
                // The bridge's counters are right as of this event, but the bridge does not send
                // a `Conn` per record, so ours may be ahead: keep the larger of each.
                let merged = ConnInfo {
                    rx_bytes: old.rx_bytes.max(info.rx_bytes),
                    tx_bytes: old.tx_bytes.max(info.tx_bytes),
                    rx_msgs: old.rx_msgs.max(info.rx_msgs),
                    tx_msgs: old.tx_msgs.max(info.tx_msgs),
                    // A connection's life only moves forward.
                    state: rank_max(old.state, info.state),
                    ..info
                };
                if let Some(closed) = merged.closed_at {
                    conv.last_at = conv.last_at.max(closed);
                }
                conv.info = merged;
                if conv.info.state == ConnState::Closed {
                    // Nothing more is written to it: a file not yet whole never will be.
                    self.files_stopped(id, true);
                }
            }
            None => {
                let mut conv = Conv::new(info);
                conv.encoding = self.default_encoding();
                self.insert(conv);
            }
        }
        let conv = &self.conns[&id];
        let dialled_by_us =
            is_new && conv.info.request.is_some() && conv.info.request == self.pending_dial;
        // A conversation that closed while the user looked at it gives way to a new peer,
        // unless the user chose it once closed.
        let selected_gone = !self.pinned
            && self
                .selected_conv()
                .is_none_or(|c| c.info.state == ConnState::Closed);
        if dialled_by_us {
            self.pending_dial = None;
            self.select(id);
            self.pinned = false;
        } else if conv.info.state == ConnState::Open
            && (self.selected.is_none() || (!was_open && selected_gone))
        {
            self.select(id);
            self.pinned = false;
        }
    }

    fn record(&mut self, conn: ConnId, r: Rec) {
        if self.last_seq.is_some_and(|last| r.seq <= last) {
            return;
        }
        self.last_seq = Some(r.seq);
        let live = self.snapshot_seq.is_none_or(|snap| r.seq > snap);
        let missed = live || self.unread_after.is_some_and(|after| r.seq > after);
        // The selected conversation and its other end beside it are in view: nothing unread.
        let selected = self.selected == Some(conn) || self.twin == Some(conn);
        let limits = self.limits;
        if !self.conns.contains_key(&conn) {
            self.insert(Conv::placeholder(conn, r.at));
        }
        let conv = self.conv_mut(conn).expect("inserted above");
        let len = r.data.len() as u64;
        if live {
            match r.flow {
                Flow::Rx => {
                    conv.info.rx_bytes += len;
                    conv.info.rx_msgs += 1;
                }
                Flow::Tx => {
                    conv.info.tx_bytes += len;
                    conv.info.tx_msgs += 1;
                }
            }
        }
        if missed && !selected && r.flow == Flow::Rx {
            conv.unread += 1;
        }
        conv.last_at = conv.last_at.max(r.at);
        conv.log.push(Entry::Record(r), limits);
    }

    /// The bridge forgot these connections (closed ones, at a page's request): so does the page.
    fn forget(&mut self, ids: &[ConnId]) {
        for id in ids {
            if self.note(*id) {
                self.conns.remove(id);
            }
        }
        if self
            .selected
            .is_some_and(|id| !self.conns.contains_key(&id))
        {
            self.selected = None;
        }
    }

    /// A problem the bridge reported. Settings and rules it refused are shown where they were
    /// chosen; a send it refused is counted on its connection; the rest are notices.
    fn problem(&mut self, problem: Problem) {
        match problem.kind {
            ProblemKind::InvalidRules => self.rules_problem = Some(problem.message.into()),
            ProblemKind::InvalidSettings => {
                self.settings_problem = Some((problem.conn, problem.message.into()));
            }
            kind => {
                if let (ProblemKind::NotReading, Some(id)) = (kind, problem.conn) {
                    if let Some(conv) = self.conv_mut(id) {
                        conv.refused += 1;
                    }
                }
                self.error(problem.conn, problem.message);
            }
        }
    }

    fn error(&mut self, conn: Option<ConnId>, message: String) {
        if let Some(id) = conn {
            let note_id = self.next_id();
            let limits = self.limits;
            if let Some(conv) = self.conv_mut(id) {
                // A failed dial closes with the same reason: say it once in the conversation.
                if conv.info.close_reason.as_deref() != Some(message.as_str()) {
                    conv.log.push(
                        Entry::Note {
                            id: note_id,
                            text: message.as_str().into(),
                        },
                        limits,
                    );
                }
            }
        }
        self.notice(message);
    }
}

fn rank_max(a: ConnState, b: ConnState) -> ConnState {
    let rank = |s| match s {
        ConnState::Connecting => 0,
        ConnState::Open => 1,
        ConnState::Closed => 2,
    };
    if rank(b) >= rank(a) {
        b
    } else {
        a
    }
}

#[cfg(test)]
mod tests;
