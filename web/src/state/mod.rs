//! The page's state and the one function that changes it.
//!
//! Everything the page shows is derived from [`State`], and [`State`] changes only through
//! [`reduce`], a pure function of the previous state and an [`Action`]. No browser APIs here: the
//! tests (`tests.rs`) run natively and pin down the rules that make the page honest:
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
//!
//! Here: [`State`] and [`reduce`]. The actions and what the transport hands over are in
//! `action.rs`, the handling of the bridge's events in `events.rs`, the totals and indexes in
//! `index.rs`.

mod action;
mod chunks;
mod conv;
pub mod drafts;
mod events;
pub mod file_pace;
mod files;
mod held;
mod index;
mod list;
mod listeners;
mod log;
pub mod reading;
pub mod rule_draft;
pub mod saved_message;
mod table;

use std::collections::HashMap;
use std::rc::Rc;

use crate::bytes_view::compose::ComposeOptions;
use crate::encoding::Encoding;

use protocol::{ConnId, ConnState, Problem, RequestId, Seq, ServerInfo, Target};

pub use self::action::{Action, Incoming, SocketStatus};
pub use self::conv::{
    count_words, half_closed, pair, pair_parts, proxy_details, waiting, Conv, Encodings, ViewMode,
};
pub use self::files::{FilePart, FileSend};
pub use self::held::{held_count, hold_status, HeldEdit};
pub use self::index::Counts;
use self::index::Indexed;
pub use self::list::{conn_words, ListView, RowKey, Sort};
pub use self::listeners::{Asked, Listeners};
pub use self::log::{Entry, Limits, Log, Rec};
pub use self::table::Table;

/// How many messages of a conversation are rendered at first, and how many more each
/// "Show earlier" reveals. Rendering tens of thousands of DOM nodes would freeze the page.
pub const WINDOW: usize = 500;
/// Notices shown at most; older ones go first.
const MAX_NOTICES: usize = 4;

/// Where the page's request to learn a simulator from a conversation (`learn`) stands: the
/// rules panel shows it, and puts nothing in force until the user says so.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Learning {
    #[default]
    None,
    /// Asked, of conversation `conn`, with this request id.
    Asking { conn: ConnId, request: RequestId },
    /// The rules learnt, to review.
    Learnt(Rc<Learnt>),
    /// Why nothing was learnt.
    Failed(Rc<str>),
}

/// A simulator learnt from a conversation, as the bridge told it.
#[derive(Debug, PartialEq)]
pub struct Learnt {
    pub conn: ConnId,
    pub rules: Vec<protocol::rules::Rule>,
    /// How new connections are read once these rules are used: the reading in force, with the
    /// framing the rules were learnt for.
    pub settings: protocol::ConnSettings,
    pub summary: String,
    /// The earliest messages the bridge no longer held, which nothing was learnt from: how
    /// many, and their bytes.
    pub elided: Option<(u64, u64)>,
}

/// Where the page's request to save the rules to the bridge's rules file (`--rules`) stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RulesSave {
    /// None asked, or what was saved is no longer what is in force.
    #[default]
    None,
    /// Asked, with this request id.
    Saving(RequestId),
    /// The file holds the rules in force: its name, and how many rules.
    Saved { file: Rc<str>, rules: u64 },
    /// Why the bridge could not save them.
    Failed(Rc<str>),
}

/// A problem told to the user until dismissed, or until what it is about succeeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub id: u64,
    pub text: Rc<str>,
    /// The conversation it is about, if any: shown with it, not over the others.
    pub conn: Option<ConnId>,
    /// That conversation's peer: a conversation with it that opens later (a dial again, with
    /// other settings) means the problem is over.
    pub peer: Option<Rc<str>>,
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
    /// The conversation this page dialled, until it opens (or fails).
    dialled: Option<ConnId>,
    /// Changes when the composer should take the focus: a conversation this page dialled
    /// opened, and is the one in view.
    pub typing_focus: u32,
    /// What the last send to all reached: connections it was queued for, and that refused it.
    pub sent_to_all: Option<(u64, u64)>,
    /// How often each auto-reply rule has answered.
    pub rule_hits: Vec<protocol::RuleHits>,
    /// Why the bridge refused the last rule set this page saved (and the rule it names), until
    /// a rule set is in force.
    pub rules_problem: Option<Rc<Problem>>,
    /// The page's last request to write the rules in force to the bridge's rules file, and
    /// what came of it.
    pub rules_save: RulesSave,
    /// The page's last request to learn a simulator from a conversation, and what came of it.
    pub learning: Learning,
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
        Action::SetEncoding(id, way, encoding) => {
            if let Some(conv) = state.conv_mut(id) {
                conv.encodings.set(way, encoding);
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
        Action::AskListener(asked, request) => state.listeners.ask(asked, request),
        Action::SetBroadcast(on) if state.to_all => state.broadcast_all = on,
        Action::SetBroadcast(on) => {
            if let Some(conv) = state.selected.and_then(|id| state.conv_mut(id)) {
                conv.broadcast = on;
            }
        }
        Action::SetToServer(on) => {
            if let Some(conv) = state.selected.and_then(|id| state.conv_mut(id)) {
                conv.to_server = on && conv.info.proxy.is_some();
            }
        }
        Action::Configuring => state.settings_problem = None,
        Action::SavingRules => state.rules_problem = None,
        Action::SavingRulesFile(request) => state.rules_save = RulesSave::Saving(request),
        Action::Learning { conn, request } => {
            state.learning = Learning::Asking { conn, request };
        }
        Action::LearntDone => state.learning = Learning::None,
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
            dialled: None,
            typing_focus: 0,
            sent_to_all: None,
            rule_hits: Vec::new(),
            rules_problem: None,
            rules_save: RulesSave::None,
            learning: Learning::None,
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

    /// Whether a send to `to` goes to a proxied conversation's server rather than its client,
    /// as the composer shows it for that conversation. A send to all goes to every client.
    pub fn to_server_for(&self, to: Target) -> bool {
        match to {
            Target::Conn(id) => self
                .conns
                .get(&id)
                .is_some_and(|c| c.to_server && c.info.proxy.is_some()),
            Target::All => false,
        }
    }

    /// Whether a send to `to` carries the broadcast flag, as the composer shows it for that
    /// conversation (or for sending to all).
    pub fn broadcast_for(&self, to: Target) -> bool {
        match to {
            Target::Conn(id) => self.conns.get(&id).is_some_and(|c| c.broadcast),
            Target::All => self.broadcast_all,
        }
    }

    /// The notices for what is in view: the page's and the bridge's, and those about the
    /// conversations shown (all of them while sending to all).
    pub fn notices_in_view(&self) -> Vec<Notice> {
        let shown = |conn: Option<ConnId>| {
            conn.is_none() || self.to_all || conn == self.selected || conn == self.twin
        };
        self.notices
            .iter()
            .filter(|n| shown(n.conn))
            .cloned()
            .collect()
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

    pub(super) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(super) fn notice(&mut self, text: String) {
        self.notice_about(None, text);
    }

    /// A notice about conversation `conn` (or, with `None`, about the page or the bridge).
    pub(super) fn notice_about(&mut self, conn: Option<ConnId>, text: String) {
        let id = self.next_id();
        let peer = conn
            .and_then(|id| self.conns.get(&id))
            .map(|c| Rc::from(c.info.peer.as_str()));
        self.notices.push(Notice {
            id,
            text: text.into(),
            conn,
            peer,
        });
        if self.notices.len() > MAX_NOTICES {
            self.notices.remove(0);
        }
    }

    pub(super) fn select(&mut self, id: ConnId) {
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
}

#[cfg(test)]
mod tests;
