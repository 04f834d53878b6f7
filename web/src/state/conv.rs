//! One connection and its conversation, as the page holds it.

use std::rc::Rc;

use protocol::{ConnId, ConnInfo, ConnState, Flow, HeldMessage, Micros, Origin, Transport, Way};

use super::{Entry, Log, Rec, WINDOW};
use crate::bytes_view::compose::{ComposeOptions, LineEnding};
use crate::encoding::Encoding;

/// `4.0 MiB waiting`, while a peer that is open has not read what was sent to it.
pub fn waiting(info: &ConnInfo) -> Option<String> {
    (info.waiting > 0 && info.state != ConnState::Closed).then(|| {
        format!(
            "{} waiting",
            crate::bytes_view::size::format_size(info.waiting)
        )
    })
}

/// A proxied conversation as the list and its head name it: `client 127.0.0.1:51234 ⇄
/// 127.0.0.1:502` (the server's address once reached, else the target as `--proxy` names it).
pub fn pair(info: &ConnInfo) -> Option<String> {
    let (client, server) = pair_parts(info)?;
    Some(format!("client {client} ⇄ {server}"))
}

/// A proxied conversation's client and server addresses.
pub fn pair_parts(info: &ConnInfo) -> Option<(&str, &str)> {
    let proxy = info.proxy.as_deref()?;
    let server = proxy.server.as_deref().unwrap_or(&proxy.target);
    Some((&info.peer, server))
}

/// What a proxied conversation's head says of its server side: where the server is, and the
/// bridge's end toward it.
pub fn proxy_details(info: &ConnInfo) -> Option<String> {
    let proxy = info.proxy.as_deref()?;
    Some(match (&proxy.server, &proxy.local) {
        (Some(server), Some(local)) => format!("server {server} from {local}"),
        _ => format!("server {} (not reached yet)", proxy.target),
    })
}

/// While a proxied conversation is open, a side that closed its sending side (a half-close,
/// which the bridge passed on to the other), in words.
pub fn half_closed(info: &ConnInfo) -> Option<String> {
    let proxy = info.proxy.as_deref()?;
    if info.state == ConnState::Closed {
        return None;
    }
    match (proxy.client_closed, proxy.server_closed) {
        (true, true) => Some("Both sides closed their sending side.".into()),
        (true, false) => Some(
            "The client closed its sending side; the bridge closed the server's in turn, and \
             the server may still answer."
                .into(),
        ),
        (false, true) => Some(
            "The server closed its sending side; the bridge closed the client's in turn, and \
             the client may still speak."
                .into(),
        ),
        (false, false) => None,
    }
}

/// What the counters of a connection count, in the words of its row: a proxied
/// conversation's count by the way the bytes went, others' by what was received and sent.
pub fn count_words(info: &ConnInfo) -> [(&'static str, &'static str); 2] {
    match info.proxy {
        Some(_) => [
            ("c→s", Way::ClientToServer.label()),
            ("s→c", Way::ServerToClient.label()),
        ],
        None => [("rx", "received"), ("tx", "sent")],
    }
}

/// How a conversation's messages read as text, by the way they go. A proxied conversation's
/// client and server may speak differently (a GBK client of a UTF-8 server): `rx` is what the
/// client says (client→server), `tx` what the server says (server→client). Any other
/// conversation reads both ways alike, as it writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Encodings {
    pub rx: Encoding,
    pub tx: Encoding,
}

impl Encodings {
    /// Both ways alike.
    pub fn both(encoding: Encoding) -> Encodings {
        Encodings {
            rx: encoding,
            tx: encoding,
        }
    }

    /// The encoding of the messages that go this way (a record's `flow`).
    pub fn of(self, flow: Flow) -> Encoding {
        match flow {
            Flow::Rx => self.rx,
            Flow::Tx => self.tx,
        }
    }

    /// Reads one way (`Some`), or both (`None`), in `encoding`.
    pub fn set(&mut self, way: Option<Way>, encoding: Encoding) {
        match way.map(Way::flow) {
            None => *self = Encodings::both(encoding),
            Some(Flow::Rx) => self.rx = encoding,
            Some(Flow::Tx) => self.tx = encoding,
        }
    }

    /// The one encoding of both ways, when they are alike.
    pub fn alike(self) -> Option<Encoding> {
        (self.rx == self.tx).then_some(self.rx)
    }
}

/// One connection and its conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv {
    pub info: ConnInfo,
    pub log: Log,
    /// Messages received while this conversation was not selected.
    pub unread: u32,
    /// Messages the bridge no longer held when this page first learned of the connection.
    pub elided_msgs: u64,
    pub elided_bytes: u64,
    /// How many of the newest entries are rendered.
    pub window: usize,
    /// How this conversation's bytes are read and written as text, by the way they go.
    pub encodings: Encodings,
    /// How its messages are shown: chat, log or hex.
    pub view: ViewMode,
    /// How what is typed for it becomes bytes.
    pub compose: ComposeOptions,
    /// Whether its sends may go to a broadcast address (UDP's send flag).
    pub broadcast: bool,
    /// A proxied conversation: whether its sends go to its server, as if from the client,
    /// rather than to its client, as if from the server.
    pub to_server: bool,
    /// When it last carried anything: its newest record, else its opening. A close is not
    /// activity: a peer that leaves does not climb the list over those still talking.
    pub last_at: Micros,
    /// Files whose parts are still to come, oldest first: their entries' ids, and whether the
    /// page saw them announced (see `files.rs`).
    pub(super) files: Vec<(u64, bool)>,
    /// Sends the bridge refused because the peer was not reading: a file being sent watches it.
    pub refused: u32,
    /// A proxied conversation's messages the bridge holds, both ways, in the order they came.
    /// Shared, as the conversation is copied on every change.
    pub held: Vec<Rc<HeldMessage>>,
}

impl Conv {
    pub(super) fn new(info: ConnInfo) -> Conv {
        // A datagram is a message whole: UDP needs no line ending to mark where one ends, and
        // a device that reads datagrams takes one as part of the message.
        let ending = match info.transport {
            Transport::Udp => LineEnding::None,
            _ => LineEnding::default(),
        };
        Conv {
            elided_msgs: info.elided_msgs,
            elided_bytes: info.elided_bytes,
            last_at: info.opened_at,
            info,
            log: Log::default(),
            unread: 0,
            window: WINDOW,
            encodings: Encodings::default(),
            view: ViewMode::default(),
            compose: ComposeOptions {
                ending,
                ..ComposeOptions::default()
            },
            broadcast: false,
            to_server: false,
            files: Vec::new(),
            refused: 0,
            held: Vec::new(),
        }
    }

    /// Stands in for a connection the page has records of but no `Conn` event for yet.
    pub(super) fn placeholder(id: ConnId, at: Micros) -> Conv {
        Conv::new(ConnInfo::new(
            id,
            Origin::Accepted,
            format!("connection {id}"),
            ConnState::Open,
            at,
        ))
    }

    /// Takes what the user chose for `prev` (the same connection, in an earlier snapshot): how
    /// it is read, shown and written, and what was left unread.
    pub(super) fn keep_choices_of(&mut self, prev: &Conv) {
        self.unread = prev.unread;
        self.window = prev.window;
        self.encodings = prev.encodings;
        self.view = prev.view;
        self.compose = prev.compose;
        self.broadcast = prev.broadcast;
        self.to_server = prev.to_server;
    }

    /// The encoding of what the composer types for it: a proxied conversation's sends go as if
    /// from its client (to its server) or from its server, and are written as that side speaks.
    pub fn sending_encoding(&self) -> Encoding {
        match self.info.proxy {
            Some(_) if self.to_server => self.encodings.rx,
            _ => self.encodings.tx,
        }
    }

    /// The state word to show, and why when it is a guess: while the page is not connected to
    /// the bridge (`stale`), a connection that was not closed may have closed since.
    pub fn state_shown(&self, stale: bool) -> (&'static str, Option<String>) {
        let state = self.info.state;
        if stale && state != ConnState::Closed {
            let title = format!(
                "Not connected to the bridge: this was {} when last heard of",
                state.as_str()
            );
            ("unknown", Some(title))
        } else {
            (state.as_str(), None)
        }
    }

    /// Earlier messages that neither the bridge's snapshot nor this page holds any more:
    /// `(messages, bytes)`, or `None` when the conversation is complete.
    pub fn missing(&self) -> Option<(u64, u64)> {
        let msgs = self.elided_msgs + self.log.dropped_msgs;
        (msgs > 0).then_some((msgs, self.elided_bytes + self.log.dropped_bytes))
    }

    /// Entries held but not rendered (revealed by "Show earlier").
    pub fn hidden(&self) -> usize {
        self.log.len().saturating_sub(self.window)
    }

    /// The newest record, past any notes after it.
    pub fn last_record(&self) -> Option<&Rec> {
        self.log.iter_rev().find_map(|e| match e {
            Entry::Record(r) => Some(r),
            Entry::Note { .. } | Entry::File(_) => None,
        })
    }

    /// The entries to render, oldest first (the log view renders them chunk by chunk).
    #[cfg(test)]
    pub fn visible(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.log
            .chunks_from(self.hidden())
            .flat_map(|(c, skip)| &c[skip..])
    }

    /// The system line for a closed connection, unless the conversation already ends with it.
    pub fn close_line(&self) -> Option<String> {
        if self.info.state != ConnState::Closed {
            return None;
        }
        match &self.info.close_reason {
            Some(reason) => match self.log.last() {
                Some(Entry::Note { text, .. }) if **text == **reason => None,
                _ => Some(format!("Closed: {reason}")),
            },
            None => Some("Closed".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_not_heard_of_lately_is_unknown_unless_final() {
        let conv = |state| Conv::new(ConnInfo::new(1, Origin::Accepted, "a:1".into(), state, 0));
        assert_eq!(conv(ConnState::Open).state_shown(false), ("open", None));
        let (word, why) = conv(ConnState::Open).state_shown(true);
        assert_eq!(word, "unknown");
        assert!(why.unwrap().contains("was open when last heard of"));
        assert_eq!(conv(ConnState::Closed).state_shown(true), ("closed", None));
    }
}

/// How a conversation's messages are shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ViewMode {
    /// Text in bubbles, received on the left and sent on the right: for chatting.
    #[default]
    Text,
    /// A line per message (time, direction, size, text): dense, for device traffic.
    Log,
    /// A line per message with its bytes in hex (time, direction, hex), as device engineers
    /// read a bus: about 30 to a screen.
    LogHex,
    /// A hexdump per message: offsets, 16 bytes a row, and ASCII.
    Hex,
}

impl ViewMode {
    pub const ALL: [ViewMode; 4] = [
        ViewMode::Text,
        ViewMode::Log,
        ViewMode::LogHex,
        ViewMode::Hex,
    ];

    /// The value of its option in the form.
    pub fn value(self) -> &'static str {
        match self {
            ViewMode::Text => "text",
            ViewMode::Log => "log",
            ViewMode::LogHex => "log-hex",
            ViewMode::Hex => "hex",
        }
    }

    /// What the user reads in the menu.
    pub fn label(self) -> &'static str {
        match self {
            ViewMode::Text => "Chat",
            ViewMode::Log => "Log",
            // Short, to keep a conversation's tools on one row in half a window: the hex log is
            // what device tools call their hex display; the hexdump is a dump.
            ViewMode::LogHex => "Hex",
            ViewMode::Hex => "Dump",
        }
    }

    pub fn from_value(value: &str) -> Option<ViewMode> {
        ViewMode::ALL.into_iter().find(|v| v.value() == value)
    }

    /// A line per message, whatever its column shows.
    pub fn is_log(self) -> bool {
        matches!(self, ViewMode::Log | ViewMode::LogHex)
    }

    /// Whether the bytes show as hex, where line endings have no meaning.
    pub fn is_hex(self) -> bool {
        matches!(self, ViewMode::Hex | ViewMode::LogHex)
    }
}
