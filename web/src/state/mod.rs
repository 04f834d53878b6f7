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
mod tests {
    use super::log::CHUNK;
    use super::*;
    use crate::bytes_view::compose::InputMode;
    use protocol::{Origin, Problem, ProblemKind, Record};

    fn info(id: ConnId, state: ConnState) -> ConnInfo {
        let peer = format!("127.0.0.1:{}", 50000 + id);
        ConnInfo {
            local: Some("127.0.0.1:7777".into()),
            ..ConnInfo::new(id, Origin::Accepted, peer, state, 1_700_000_000_000_000)
        }
    }

    fn with_counts(mut c: ConnInfo, rx_bytes: u64, rx_msgs: u64, tx_bytes: u64) -> ConnInfo {
        c.rx_bytes = rx_bytes;
        c.rx_msgs = rx_msgs;
        c.tx_bytes = tx_bytes;
        c.tx_msgs = u64::from(tx_bytes > 0);
        c
    }

    fn server() -> ServerInfo {
        ServerInfo {
            listen: Some("0.0.0.0:7777".into()),
            exit_word: Some("exit".into()),
            listen_problem: None,
            encoding: Encoding::Utf8,
            ..ServerInfo::default()
        }
    }

    fn hello(conns: Vec<ConnInfo>, seq: Seq) -> Incoming {
        Incoming::Event(Event::Hello {
            version: VERSION,
            server: Box::new(server()),
            conns,
            seq,
        })
    }

    fn rec(conn: ConnId, seq: Seq, flow: Flow, data: &str) -> Incoming {
        let at = 1_700_000_000_000_000 + seq as i64;
        Incoming::from(Record::new(conn, seq, flow, at, data.as_bytes().to_vec()))
    }

    fn conn_event(conn: ConnInfo) -> Incoming {
        Incoming::Event(Event::Conn { conn })
    }

    fn synced(seq: Seq) -> Incoming {
        Incoming::Event(Event::Synced { seq })
    }

    fn error(conn: Option<ConnId>, message: &str) -> Incoming {
        let problem = Problem::new(ProblemKind::Other, message);
        Incoming::Event(Event::Error(Problem { conn, ..problem }))
    }

    fn forgotten(conns: Vec<ConnId>) -> Incoming {
        Incoming::Event(Event::Forgotten { conns })
    }

    fn run(state: State, events: Vec<Incoming>) -> State {
        reduce(state, Action::Events(events))
    }

    fn texts(state: &State, id: ConnId) -> Vec<String> {
        state.conns[&id]
            .log
            .iter()
            .map(|e| match e {
                Entry::Record(r) => String::from_utf8_lossy(&r.data).into_owned(),
                Entry::Note { text, .. } => format!("note: {text}"),
                Entry::File(f) => format!("file: {}", f.written),
            })
            .collect()
    }

    /// A page that got a snapshot with one open connection (id 1) and two records of history.
    fn synced_page() -> State {
        run(
            State::default(),
            vec![
                hello(vec![with_counts(info(1, ConnState::Open), 6, 1, 4)], 2),
                rec(1, 1, Flow::Rx, "hello\n"),
                rec(1, 2, Flow::Tx, "hi!\n"),
                synced(2),
            ],
        )
    }

    #[test]
    fn snapshot_history_is_shown_and_not_counted_twice() {
        let s = synced_page();
        assert!(s.synced);
        assert_eq!(texts(&s, 1), ["hello\n", "hi!\n"]);
        let c = &s.conns[&1].info;
        assert_eq!((c.rx_bytes, c.rx_msgs, c.tx_bytes, c.tx_msgs), (6, 1, 4, 1));
    }

    #[test]
    fn live_records_count() {
        let s = run(
            synced_page(),
            vec![rec(1, 3, Flow::Rx, "more\n"), rec(1, 4, Flow::Tx, "ok\n")],
        );
        let c = &s.conns[&1].info;
        assert_eq!(
            (c.rx_bytes, c.rx_msgs, c.tx_bytes, c.tx_msgs),
            (11, 2, 7, 2)
        );
        assert_eq!(texts(&s, 1).len(), 4);
    }

    #[test]
    fn a_record_is_applied_once() {
        let s = run(
            synced_page(),
            vec![
                rec(1, 3, Flow::Rx, "once\n"),
                rec(1, 3, Flow::Rx, "once\n"),
                rec(1, 2, Flow::Tx, "hi!\n"),
            ],
        );
        assert_eq!(texts(&s, 1), ["hello\n", "hi!\n", "once\n"]);
        assert_eq!(s.conns[&1].info.rx_msgs, 2);
    }

    #[test]
    fn a_new_snapshot_rebuilds_without_duplicates() {
        // Live traffic, then the socket drops and a reconnect brings a snapshot that covers it.
        let s = run(synced_page(), vec![rec(1, 3, Flow::Rx, "live\n")]);
        let s = reduce(s, Action::Socket(SocketStatus::Closed { retry_in_ms: 250 }));
        assert!(!s.synced);
        let s = reduce(s, Action::Socket(SocketStatus::Open));
        let s = run(
            s,
            vec![
                hello(
                    vec![
                        with_counts(info(1, ConnState::Open), 11, 2, 4),
                        info(2, ConnState::Open),
                    ],
                    4,
                ),
                rec(1, 1, Flow::Rx, "hello\n"),
                rec(1, 2, Flow::Tx, "hi!\n"),
                rec(1, 3, Flow::Rx, "live\n"),
                rec(2, 4, Flow::Rx, "new peer\n"),
                synced(4),
            ],
        );
        assert_eq!(texts(&s, 1), ["hello\n", "hi!\n", "live\n"]);
        assert_eq!(texts(&s, 2), ["new peer\n"]);
        let c = &s.conns[&1].info;
        assert_eq!(
            (c.rx_bytes, c.rx_msgs),
            (11, 2),
            "history is not counted again"
        );
        assert_eq!(s.selected, Some(1), "the selection survives a reconnect");
        // What arrived while the page was away is unread; what it had seen is not.
        assert_eq!(s.conns[&1].unread, 0);
        assert_eq!(s.conns[&2].unread, 1);
    }

    #[test]
    fn connections_gone_from_the_snapshot_are_dropped() {
        let s = run(
            synced_page(),
            vec![hello(vec![info(7, ConnState::Closed)], 10)],
        );
        assert_eq!(s.conns.keys().copied().collect::<Vec<_>>(), [7]);
        assert_eq!(s.selected, None);
    }

    #[test]
    fn a_restarted_bridge_resets_the_page() {
        // Seen up to seq 3; the new snapshot ends at 1: a new bridge process, ids start again.
        let s = run(synced_page(), vec![rec(1, 3, Flow::Rx, "x\n")]);
        let s = run(
            s,
            vec![
                hello(vec![info(1, ConnState::Closed)], 1),
                rec(1, 1, Flow::Rx, "other\n"),
            ],
        );
        assert_eq!(texts(&s, 1), ["other\n"]);
        assert_eq!(s.selected, None);
        assert_eq!(s.conns[&1].unread, 0);
    }

    #[test]
    fn conn_events_keep_the_larger_counters() {
        let s = run(synced_page(), vec![rec(1, 3, Flow::Rx, "12345\n")]);
        // A Conn event that lags behind the record we already counted...
        let mut lagging = with_counts(info(1, ConnState::Open), 6, 1, 4);
        lagging.local = Some("127.0.0.1:7778".into());
        let s = run(s, vec![conn_event(lagging)]);
        let c = &s.conns[&1].info;
        assert_eq!((c.rx_bytes, c.rx_msgs), (12, 2));
        assert_eq!(
            c.local.as_deref(),
            Some("127.0.0.1:7778"),
            "other fields update"
        );
        // ...and one that is ahead (traffic this page has not seen as records).
        let s = run(
            s,
            vec![conn_event(with_counts(
                info(1, ConnState::Closed),
                100,
                9,
                50,
            ))],
        );
        let c = &s.conns[&1].info;
        assert_eq!((c.rx_bytes, c.rx_msgs, c.tx_bytes), (100, 9, 50));
        assert_eq!(c.state, ConnState::Closed);
        // A state never moves backwards.
        let s = run(s, vec![conn_event(info(1, ConnState::Open))]);
        assert_eq!(s.conns[&1].info.state, ConnState::Closed);
    }

    #[test]
    fn unread_counts_received_messages_until_selected() {
        let s = run(
            synced_page(),
            vec![
                conn_event(info(2, ConnState::Open)),
                rec(2, 3, Flow::Rx, "a\n"),
                rec(2, 4, Flow::Rx, "b\n"),
                rec(2, 5, Flow::Tx, "sent, not unread\n"),
                rec(1, 6, Flow::Rx, "selected, so read\n"),
            ],
        );
        assert_eq!(s.selected, Some(1));
        assert_eq!(s.conns[&2].unread, 2);
        assert_eq!(s.conns[&1].unread, 0);
        let s = reduce(s, Action::Select(2));
        assert_eq!(s.selected, Some(2));
        assert_eq!(s.conns[&2].unread, 0);
        let s = run(s, vec![rec(1, 7, Flow::Rx, "now 1 is in the background\n")]);
        assert_eq!(s.conns[&1].unread, 1);
        // Selecting an unknown connection changes nothing.
        assert_eq!(reduce(s, Action::Select(99)).selected, Some(2));
    }

    #[test]
    fn the_first_connection_to_open_is_selected() {
        let s = run(State::default(), vec![hello(vec![], 0)]);
        assert_eq!(s.selected, None);
        let s = run(s, vec![conn_event(info(1, ConnState::Connecting))]);
        assert_eq!(s.selected, None, "not while it is still connecting");
        let s = run(
            s,
            vec![
                conn_event(info(1, ConnState::Open)),
                conn_event(info(2, ConnState::Open)),
            ],
        );
        assert_eq!(
            s.selected,
            Some(1),
            "a later one does not steal the selection"
        );
    }

    #[test]
    fn a_snapshot_selects_the_newest_open_connection() {
        let s = run(
            State::default(),
            vec![hello(
                vec![
                    info(1, ConnState::Open),
                    info(2, ConnState::Open),
                    info(3, ConnState::Closed),
                ],
                0,
            )],
        );
        assert_eq!(s.selected, Some(2));
    }

    #[test]
    fn the_connection_we_dialled_is_selected() {
        let s = run(synced_page(), vec![]);
        let s = reduce(s, Action::Dialling(0x5eed));
        // Another page's dial to the same address: a different request.
        let mut other = info(2, ConnState::Connecting);
        other.origin = Origin::Dialled;
        other.peer = "127.0.0.1:9000".into();
        other.request = Some(7);
        let mut ours = info(3, ConnState::Connecting);
        ours.origin = Origin::Dialled;
        ours.peer = "127.0.0.1:9000".into();
        ours.request = Some(0x5eed);
        let s = run(s, vec![conn_event(other)]);
        assert_eq!(s.selected, Some(1));
        let s = run(s, vec![conn_event(ours)]);
        assert_eq!(s.selected, Some(3));
    }

    #[test]
    fn errors_are_notices_and_notes_in_their_conversation() {
        let s = run(
            synced_page(),
            vec![
                error(Some(1), "connection 1 is closed"),
                error(None, "malformed message"),
            ],
        );
        let notices: Vec<&str> = s.notices.iter().map(|n| &*n.text).collect();
        assert_eq!(notices, ["connection 1 is closed", "malformed message"]);
        assert_eq!(texts(&s, 1).last().unwrap(), "note: connection 1 is closed");
        let first = s.notices[0].id;
        let s = reduce(s, Action::Dismiss(first));
        let notices: Vec<&str> = s.notices.iter().map(|n| &*n.text).collect();
        assert_eq!(notices, ["malformed message"]);
        // Notices do not pile up without bound.
        let s = (0..10).fold(s, |s, i| reduce(s, Action::Notice(format!("n{i}"))));
        assert_eq!(s.notices.len(), MAX_NOTICES);
        assert_eq!(&*s.notices.last().unwrap().text, "n9");
    }

    #[test]
    fn a_refused_dial_says_why_once() {
        let mut closed = info(2, ConnState::Closed);
        closed.origin = Origin::Dialled;
        closed.close_reason = Some("connection refused by 127.0.0.1:9".into());
        let s = run(
            synced_page(),
            vec![
                conn_event(closed),
                error(Some(2), "connection refused by 127.0.0.1:9"),
            ],
        );
        assert!(s.conns[&2].log.is_empty());
        assert_eq!(
            s.conns[&2].close_line().as_deref(),
            Some("Closed: connection refused by 127.0.0.1:9")
        );
        assert_eq!(s.notices.len(), 1);
        assert_eq!(s.conns[&1].close_line(), None, "open: no close line");
    }

    #[test]
    fn elided_history_is_announced() {
        let mut c = info(1, ConnState::Open);
        c.elided_msgs = 1200;
        c.elided_bytes = 48_000;
        let s = run(State::default(), vec![hello(vec![c.clone()], 0)]);
        assert_eq!(s.conns[&1].missing(), Some((1200, 48_000)));
        // The bridge eliding more later does not hide what this page still holds.
        c.elided_msgs = 5000;
        let s = run(s, vec![conn_event(c)]);
        assert_eq!(s.conns[&1].missing(), Some((1200, 48_000)));
        assert_eq!(synced_page().conns[&1].missing(), None);
    }

    #[test]
    fn a_flood_is_held_within_limits_and_rendered_in_a_window() {
        let limits = Limits {
            msgs: 1000,
            bytes: usize::MAX,
        };
        let s = run(
            State::with_limits(limits),
            vec![hello(vec![info(1, ConnState::Open)], 0)],
        );
        let flood: Vec<Incoming> = (1..=3000)
            .map(|i| rec(1, i, Flow::Rx, "0123456789"))
            .collect();
        let s = run(s, flood);
        let conv = &s.conns[&1];
        assert!(conv.log.len() <= 1000 && conv.log.len() > 1000 - CHUNK);
        assert_eq!(conv.log.len() as u64 + conv.log.dropped_msgs, 3000);
        assert_eq!(
            conv.missing(),
            Some((conv.log.dropped_msgs, conv.log.dropped_msgs * 10))
        );
        assert_eq!(conv.info.rx_msgs, 3000);
        assert_eq!(conv.log.bytes(), conv.log.len() * 10);
        // The newest is always held, and only a window of it is rendered.
        let visible: Vec<Seq> = conv
            .visible()
            .map(|e| match e {
                Entry::Record(r) => r.seq,
                Entry::Note { .. } | Entry::File(_) => 0,
            })
            .collect();
        assert_eq!(visible.len(), WINDOW);
        assert_eq!(visible.first(), Some(&2501));
        assert_eq!(visible.last(), Some(&3000));
        assert_eq!(conv.hidden(), conv.log.len() - WINDOW);
        let s = reduce(s, Action::ShowEarlier(1));
        assert_eq!(
            s.conns[&1].visible().count(),
            s.conns[&1].log.len().min(2 * WINDOW)
        );
    }

    #[test]
    fn byte_limit_drops_the_oldest() {
        let limits = Limits {
            msgs: usize::MAX,
            bytes: 1000,
        };
        let mut s = run(
            State::with_limits(limits),
            vec![hello(vec![info(1, ConnState::Open)], 0)],
        );
        let big = "x".repeat(100);
        for i in 1..=(CHUNK as u64 * 3) {
            s = run(s, vec![rec(1, i, Flow::Rx, &big)]);
        }
        let log = &s.conns[&1].log;
        // Whole chunks go, so what is held is at most a chunk over the limit.
        assert!(log.bytes() <= 1000 + CHUNK * 100, "{}", log.bytes());
        assert_eq!(log.dropped_bytes, log.dropped_msgs * 100);
        assert!(log.dropped_msgs > 0);
    }

    #[test]
    fn cloning_shares_the_log() {
        let s = synced_page();
        let before = s.clone();
        let after = run(s, vec![rec(1, 3, Flow::Rx, "x")]);
        assert_eq!(before.conns[&1].log.len(), 2, "the old state is untouched");
        assert_eq!(after.conns[&1].log.len(), 3);
        assert_ne!(before.conns[&1].log, after.conns[&1].log);
        assert_eq!(before.conns[&1].log, before.clone().conns[&1].log);
    }

    #[test]
    fn records_of_an_unknown_connection_are_kept() {
        let s = run(synced_page(), vec![rec(9, 3, Flow::Rx, "early\n")]);
        assert_eq!(texts(&s, 9), ["early\n"]);
        let mut real = info(9, ConnState::Open);
        real.rx_bytes = 6;
        real.rx_msgs = 1;
        let s = run(s, vec![conn_event(real)]);
        assert_eq!(s.conns[&9].info.peer, "127.0.0.1:50009");
        assert_eq!(texts(&s, 9), ["early\n"]);
    }

    #[test]
    fn the_bridge_says_how_new_connections_read_and_why_it_does_not_listen() {
        let gbk = ServerInfo {
            listen: None,
            listen_problem: Some("port 7777 is in use".into()),
            encoding: Encoding::Gbk,
            ..server()
        };
        let s = run(
            State::default(),
            vec![Incoming::Event(Event::Hello {
                version: VERSION,
                server: Box::new(gbk),
                conns: vec![info(1, ConnState::Open)],
                seq: 0,
            })],
        );
        assert_eq!(s.conns[&1].encoding, Encoding::Gbk);
        let s = run(s, vec![conn_event(info(2, ConnState::Open))]);
        assert_eq!(s.conns[&2].encoding, Encoding::Gbk, "new ones too");
        let problem = |s: &State| s.server.as_ref().unwrap().listen_problem.clone();
        assert_eq!(problem(&s).as_deref(), Some("port 7777 is in use"));
        let s = run(
            s,
            vec![Incoming::Event(Event::Listener {
                listen: Some("127.0.0.1:7778".into()),
                transport: protocol::Transport::Tcp,
                groups: vec![],
                fingerprint: None,
            })],
        );
        assert_eq!(problem(&s), None, "a listener started: the problem is gone");
    }

    #[test]
    fn a_send_to_all_says_how_many_it_reached() {
        let s = run(
            synced_page(),
            vec![Incoming::Event(Event::SentToAll {
                queued: 50,
                refused: 1,
            })],
        );
        assert_eq!(s.sent_to_all, Some((50, 1)));
    }

    #[test]
    fn an_unknown_protocol_version_is_reported() {
        let s = run(
            State::default(),
            vec![Incoming::Event(Event::Hello {
                version: VERSION + 1,
                server: Box::new(server()),
                conns: vec![],
                seq: 0,
            })],
        );
        assert!(s.notices[0].text.contains("protocol version"));
    }

    /// What the totals and indexes must say, counted the slow way.
    fn check_indexes(s: &State) {
        let mut counts = Counts::default();
        for c in s.conns.values() {
            counts.add(c, 1);
        }
        assert_eq!(s.counts(), counts);
        let mut rows: Vec<RowKey> = s.conns.values().filter_map(|c| s.list.key(c)).collect();
        rows.sort();
        assert_eq!(s.rows.keys().copied().collect::<Vec<_>>(), rows);
        let mut peers: Vec<RowKey> = s
            .conns
            .values()
            .map(|c| RowKey::of_address(&c.info.peer, c.info.id))
            .collect();
        peers.sort();
        assert_eq!(s.by_peer.keys().copied().collect::<Vec<_>>(), peers);
    }

    #[test]
    fn open_and_unread_are_counted_as_they_change() {
        let s = synced_page();
        assert_eq!((s.open_count(), s.counts().unread), (1, 0));
        let s = run(
            s,
            vec![
                conn_event(info(2, ConnState::Open)),
                rec(2, 3, Flow::Rx, "a"),
                rec(2, 4, Flow::Rx, "b"),
                rec(7, 5, Flow::Rx, "before its conn event"),
                conn_event(info(1, ConnState::Closed)),
            ],
        );
        let c = s.counts();
        assert_eq!((c.open, c.closed, c.unread), (2, 1, 3));
        check_indexes(&s);
        let s = reduce(s, Action::Select(2));
        assert_eq!(s.counts().unread, 1);
        let s = run(s, vec![hello(vec![info(2, ConnState::Open)], 9)]);
        assert_eq!((s.open_count(), s.counts().unread), (1, 0));
        check_indexes(&s);
    }

    #[test]
    fn an_action_copies_only_the_connections_it_changes() {
        let conns = (1..=1000).map(|id| info(id, ConnState::Open)).collect();
        let before = run(State::default(), vec![hello(conns, 0)]);
        let after = run(before.clone(), vec![rec(500, 1, Flow::Rx, "x")]);
        let shared = before
            .conns
            .values()
            .zip(after.conns.values())
            .filter(|(a, b)| Rc::ptr_eq(a, b))
            .count();
        assert_eq!(
            shared, 999,
            "every connection but the one that changed is shared"
        );
        assert_eq!(after.conns[&500].log.len(), 1);
        assert!(before.conns[&500].log.is_empty());
    }

    #[test]
    fn the_other_end_is_found_by_its_addresses() {
        let mut client = info(1, ConnState::Open);
        client.origin = Origin::Dialled;
        client.peer = "127.0.0.1:7777".into();
        client.local = Some("127.0.0.1:50002".into());
        let server = info(2, ConnState::Open); // peer 127.0.0.1:50002, local 127.0.0.1:7777
        let mut other = info(3, ConnState::Open);
        other.peer = "127.0.0.1:50002".into(); // same peer, another local address
        other.local = Some("10.0.0.1:7777".into());
        let s = run(State::default(), vec![hello(vec![client, other], 0)]);
        assert!(s.twin_of(&s.conns[&1]).is_none(), "not there yet");
        let s = run(s, vec![conn_event(server)]);
        assert_eq!(s.twin_of(&s.conns[&1]).map(|c| c.info.id), Some(2));
        assert_eq!(s.twin_of(&s.conns[&2]).map(|c| c.info.id), Some(1));
        assert!(s.twin_of(&s.conns[&3]).is_none());
    }

    #[test]
    fn the_list_follows_its_view_as_connections_change() {
        let ids = |s: &State| s.rows.keys().map(|r| r.id).collect::<Vec<_>>();
        let s = run(
            State::default(),
            vec![hello(
                vec![
                    info(1, ConnState::Open),
                    info(2, ConnState::Closed),
                    info(3, ConnState::Open),
                ],
                0,
            )],
        );
        assert_eq!(ids(&s), [1, 2, 3]);
        let s = reduce(
            s,
            Action::SetList(ListView {
                hide_closed: true,
                sort: Sort::Activity,
                ..ListView::default()
            }),
        );
        assert_eq!(ids(&s), [1, 3]);
        // Traffic moves a connection to the top; a close takes it off the list.
        let s = run(s, vec![rec(1, 1, Flow::Rx, "news")]);
        assert_eq!(ids(&s), [1, 3]);
        let s = run(s, vec![rec(3, 2, Flow::Rx, "newer")]);
        assert_eq!(ids(&s), [3, 1]);
        let s = run(s, vec![conn_event(info(3, ConnState::Closed))]);
        assert_eq!(ids(&s), [1]);
        let s = reduce(
            s,
            Action::SetList(ListView {
                query: "50002".into(),
                ..ListView::default()
            }),
        );
        assert_eq!(ids(&s), [2]);
        check_indexes(&s);
    }

    #[test]
    fn forgotten_connections_leave_the_page() {
        let s = run(
            synced_page(),
            vec![
                conn_event(info(2, ConnState::Closed)),
                conn_event(info(3, ConnState::Closed)),
                rec(3, 3, Flow::Rx, "unread"),
            ],
        );
        let s = reduce(s, Action::Select(2));
        assert_eq!(s.counts().unread, 1);
        let s = reduce(s, Action::Events(vec![forgotten(vec![2, 3, 99])]));
        assert_eq!(s.conns.keys().copied().collect::<Vec<_>>(), [1]);
        assert_eq!(s.selected, None, "the selected one was forgotten");
        let c = s.counts();
        assert_eq!((c.open, c.closed, c.unread), (1, 0, 0));
        check_indexes(&s);
        // What the bridge says about them later brings them back, as anything new would.
        let s = run(s, vec![rec(3, 4, Flow::Rx, "late")]);
        assert_eq!(texts(&s, 3), ["late"]);
    }

    #[test]
    fn each_conversation_keeps_how_it_is_read_shown_and_written() {
        let s = run(synced_page(), vec![conn_event(info(2, ConnState::Open))]);
        let hex = ComposeOptions {
            mode: InputMode::Hex,
            ..ComposeOptions::default()
        };
        let s = [
            Action::SetEncoding(1, Encoding::Gbk),
            Action::SetView(1, ViewMode::Hex),
            Action::SetCompose(Some(1), hex),
            Action::Select(2),
        ]
        .into_iter()
        .fold(s, reduce);
        let two = s.selected_conv().unwrap();
        assert_eq!((two.encoding, two.view), (Encoding::Utf8, ViewMode::Text));
        assert_eq!(two.compose, ComposeOptions::default());
        let s = reduce(s, Action::Select(1));
        let one = s.selected_conv().unwrap();
        assert_eq!(
            (one.encoding, one.view, one.compose),
            (Encoding::Gbk, ViewMode::Hex, hex)
        );
        // A snapshot from the same bridge (a reconnect) keeps them.
        let s = run(
            s,
            vec![hello(
                vec![info(1, ConnState::Open), info(2, ConnState::Open)],
                9,
            )],
        );
        let one = &s.conns[&1];
        assert_eq!(
            (one.encoding, one.view, one.compose),
            (Encoding::Gbk, ViewMode::Hex, hex)
        );
        // With nothing selected, the options are the composer's own.
        let s = reduce(s, Action::SetCompose(None, hex));
        assert_eq!(s.compose_idle, hex);
        assert_eq!(s.conns[&2].compose, ComposeOptions::default());
    }

    #[test]
    fn new_connections_read_in_the_pages_encoding_else_the_bridges() {
        let s = reduce(
            State::default(),
            Action::SetPageEncoding(Some(Encoding::Gbk)),
        );
        let s = run(s, vec![hello(vec![info(1, ConnState::Open)], 0)]);
        assert_eq!(
            s.conns[&1].encoding,
            Encoding::Gbk,
            "over the bridge's UTF-8"
        );
        let s = reduce(s, Action::SetPageEncoding(None));
        let s = run(s, vec![conn_event(info(2, ConnState::Open))]);
        assert_eq!(s.conns[&2].encoding, Encoding::Utf8, "the bridge's again");
        assert_eq!(
            s.conns[&1].encoding,
            Encoding::Gbk,
            "the old one is as it was"
        );
    }

    #[test]
    fn a_new_peer_takes_the_place_of_a_conversation_that_closed_in_view() {
        let s = run(synced_page(), vec![conn_event(info(1, ConnState::Closed))]);
        assert_eq!(s.selected, Some(1), "a close does not move the selection");
        let s = run(s, vec![conn_event(info(2, ConnState::Open))]);
        assert_eq!(s.selected, Some(2), "the new peer is shown");
        // Chosen once closed, a conversation stays while others arrive.
        let s = reduce(s, Action::Select(1));
        let s = run(s, vec![conn_event(info(3, ConnState::Open))]);
        assert_eq!(s.selected, Some(1));
        // An open one that the user looks at is never left for a newcomer.
        let s = reduce(s, Action::Select(3));
        let s = run(s, vec![conn_event(info(4, ConnState::Open))]);
        assert_eq!(s.selected, Some(3));
    }

    #[test]
    fn what_the_page_holds_is_stale_until_the_next_snapshot() {
        let s = synced_page();
        assert!(!s.stale());
        let s = reduce(s, Action::Socket(SocketStatus::Closed { retry_in_ms: 250 }));
        assert!(s.stale());
        let s = reduce(s, Action::Socket(SocketStatus::Open));
        assert!(s.stale(), "connected again, but not told yet");
        let s = run(s, vec![hello(vec![info(1, ConnState::Open)], 2)]);
        assert!(!s.stale());
    }

    #[test]
    fn the_listener_address_is_remembered_when_it_stops() {
        let s = synced_page();
        assert_eq!(s.last_listen.as_deref(), Some("0.0.0.0:7777"));
        let listener = |listen: Option<&str>| {
            Incoming::Event(Event::Listener {
                listen: listen.map(Into::into),
                transport: protocol::Transport::Tcp,
                groups: vec![],
                fingerprint: None,
            })
        };
        let s = run(s, vec![listener(Some("127.0.0.1:27777"))]);
        let s = run(s, vec![listener(None)]);
        assert_eq!(s.server.as_ref().unwrap().listen, None);
        assert_eq!(s.last_listen.as_deref(), Some("127.0.0.1:27777"));
    }

    #[test]
    fn the_other_end_in_view_has_nothing_unread() {
        let mut client = info(1, ConnState::Open);
        client.origin = Origin::Dialled;
        client.peer = "127.0.0.1:7777".into();
        client.local = Some("127.0.0.1:50002".into());
        let server = info(2, ConnState::Open); // peer 127.0.0.1:50002, local 127.0.0.1:7777
        let s = run(
            State::default(),
            vec![
                hello(vec![client], 0),
                conn_event(server),
                rec(2, 1, Flow::Rx, "hi"),
            ],
        );
        assert_eq!((s.selected, s.twin), (Some(1), Some(2)));
        assert_eq!(s.conns[&2].unread, 0, "beside the selected one: read");
        let s = run(s, vec![rec(2, 2, Flow::Rx, "again")]);
        assert_eq!(s.counts().unread, 0);
        check_indexes(&s);
    }

    #[test]
    fn a_send_to_all_waits_for_its_own_answer() {
        let s = reduce(synced_page(), Action::SetToAll(true));
        let s = run(
            s,
            vec![Incoming::Event(Event::SentToAll {
                queued: 3,
                refused: 0,
            })],
        );
        let s = reduce(s, Action::SendingToAll);
        assert_eq!(s.sent_to_all, None, "the last answer is not this send's");
        let s = run(
            s,
            vec![Incoming::Event(Event::SentToAll {
                queued: 2,
                refused: 1,
            })],
        );
        assert_eq!(s.sent_to_all, Some((2, 1)));
        let s = reduce(s, Action::SetToAll(false));
        assert_eq!((s.to_all, s.sent_to_all), (false, None));
    }

    fn listen_failed(message: &str) -> Incoming {
        Incoming::Event(Event::Error(Problem::new(
            ProblemKind::ListenFailed,
            message,
        )))
    }

    fn listener(transport: Transport, listen: Option<&str>, groups: &[&str]) -> Incoming {
        Incoming::Event(Event::Listener {
            listen: listen.map(Into::into),
            transport,
            groups: groups.iter().map(|g| g.to_string()).collect(),
            fingerprint: (transport == Transport::Tls).then(|| "AB:CD".into()),
        })
    }

    #[test]
    fn a_listener_failure_is_shown_at_the_listener_the_page_asked() {
        const UDP: Asked = Asked::Listen(Transport::Udp);
        let s = reduce(synced_page(), Action::AskListener(UDP));
        let s = run(
            s,
            vec![listen_failed(
                "cannot listen for UDP on 127.0.0.1:9: in use",
            )],
        );
        assert!(s.notices.is_empty(), "not at the top of the page");
        assert_eq!(
            s.listeners.error(UDP).map(|e| &**e),
            Some("cannot listen for UDP on 127.0.0.1:9: in use")
        );
        // Started after all: the failure is over, and the socket is the bridge's word.
        let s = reduce(s, Action::AskListener(UDP));
        let s = run(
            s,
            vec![listener(
                Transport::Udp,
                Some("127.0.0.1:9000"),
                &["239.1.2.3"],
            )],
        );
        assert_eq!(s.listeners.error(UDP), None);
        let server = s.server.as_ref().unwrap();
        assert_eq!(server.udp_listen.as_deref(), Some("127.0.0.1:9000"));
        assert_eq!(server.groups, ["239.1.2.3"]);
        // Stopped: where it was is kept, to start it there again.
        let s = run(s, vec![listener(Transport::Udp, None, &[])]);
        assert_eq!(s.server.as_ref().unwrap().udp_listen, None);
        assert_eq!(s.listeners.last(Transport::Udp), Some("127.0.0.1:9000"));
        // The TLS listener's fingerprint comes with it.
        let s = run(s, vec![listener(Transport::Tls, Some("[::]:7443"), &[])]);
        let server = s.server.as_ref().unwrap();
        assert_eq!(server.tls_listen.as_deref(), Some("[::]:7443"));
        assert_eq!(server.tls_fingerprint.as_deref(), Some("AB:CD"));
    }

    #[test]
    fn a_listener_failure_nobody_asked_for_is_a_notice() {
        let s = run(synced_page(), vec![listen_failed("cannot listen")]);
        assert_eq!(&*s.notices[0].text, "cannot listen");
    }

    #[test]
    fn a_snapshot_tells_where_the_tls_and_udp_listeners_are() {
        let s = run(
            State::default(),
            vec![Incoming::Event(Event::Hello {
                version: VERSION,
                server: Box::new(ServerInfo {
                    tls_listen: Some("[::]:7443".into()),
                    udp_listen: Some("0.0.0.0:9000".into()),
                    ..server()
                }),
                conns: vec![],
                seq: 0,
            })],
        );
        assert_eq!(s.listeners.last(Transport::Tls), Some("[::]:7443"));
        assert_eq!(s.listeners.last(Transport::Udp), Some("0.0.0.0:9000"));
    }

    #[test]
    fn broadcast_is_each_conversations_own_and_sending_to_alls() {
        let s = run(synced_page(), vec![conn_event(info(2, ConnState::Open))]);
        assert_eq!(s.selected, Some(1));
        let s = reduce(s, Action::SetBroadcast(true));
        assert!(
            s.broadcast_for(Target::Conn(1)),
            "the conversation in view's"
        );
        assert!(!s.broadcast_for(Target::Conn(2)));
        assert!(!s.broadcast_for(Target::Conn(99)));
        assert!(!s.broadcast_for(Target::All));
        // While sending to all, the choice is sending to all's.
        let s = reduce(s, Action::SetToAll(true));
        let s = reduce(s, Action::SetBroadcast(true));
        let s = reduce(s, Action::SetToAll(false));
        let s = reduce(s, Action::SetBroadcast(false));
        assert!(s.broadcast_for(Target::All));
        assert!(!s.broadcast_for(Target::Conn(1)));
        let s = reduce(s, Action::SetBroadcast(true));
        // A reconnect to the same bridge keeps it, as it keeps the composer's options.
        let s = run(
            s,
            vec![hello(
                vec![info(1, ConnState::Open), info(2, ConnState::Open)],
                9,
            )],
        );
        assert!(s.broadcast_for(Target::Conn(1)));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn event() -> impl Strategy<Value = Incoming> {
            let state = prop_oneof![
                Just(ConnState::Connecting),
                Just(ConnState::Open),
                Just(ConnState::Closed)
            ];
            prop_oneof![
                (1u64..12, state.clone(), 0u16..3).prop_map(|(id, st, peer)| {
                    let mut c = info(id, st);
                    c.peer = format!("10.0.0.{peer}:1");
                    conn_event(c)
                }),
                (1u64..12, 1u64..200, any::<bool>()).prop_map(|(id, seq, rx)| {
                    rec(id, seq, if rx { Flow::Rx } else { Flow::Tx }, "x")
                }),
                (prop::collection::vec((1u64..12, state), 0..6), 0u64..200).prop_map(
                    |(conns, seq)| {
                        let mut conns: Vec<_> =
                            conns.into_iter().map(|(id, st)| info(id, st)).collect();
                        conns.sort_by_key(|c| c.id);
                        conns.dedup_by_key(|c| c.id);
                        hello(conns, seq)
                    }
                ),
                (1u64..12).prop_map(|id| error(Some(id), "e")),
            ]
        }

        fn action() -> impl Strategy<Value = Action> {
            prop_oneof![
                4 => prop::collection::vec(event(), 0..8)
                    .prop_map(Action::Events),
                1 => (1u64..12).prop_map(Action::Select),
                1 => prop::collection::vec(1u64..12, 0..4)
                    .prop_map(|ids| Action::Events(vec![forgotten(ids)])),
                1 => (any::<bool>(), any::<bool>(), prop_oneof![Just(""), Just("closed"), Just(".1:")])
                    .prop_map(|(hide_closed, activity, query)| Action::SetList(ListView {
                        query: query.into(),
                        hide_closed,
                        sort: if activity { Sort::Activity } else { Sort::Opened },
                    })),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Totals and indexes kept as connections change are what counting would give.
            #[test]
            fn totals_and_indexes_match_a_recount(actions in prop::collection::vec(action(), 0..30)) {
                let mut s = State::default();
                for a in actions {
                    s = reduce(s, a);
                    check_indexes(&s);
                }
            }
        }
    }
}
