//! What changes the state: the user's actions, and what the transport hands over (the socket's
//! status, and what the bridge said, decoded by [`crate::wire`]). The transport depends on
//! these types; the state does not depend on the transport.

use protocol::{ConnId, Event, RequestId, Way};

use super::{Asked, FilePart, ListView, Rec, ViewMode};
use crate::bytes_view::compose::ComposeOptions;
use crate::encoding::Encoding;

/// The page's WebSocket to the bridge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketStatus {
    Connecting,
    Open,
    Closed { retry_in_ms: u32 },
}

/// One thing the bridge said, as the reducer takes it.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// A control event (a text frame).
    Event(Event),
    /// Bytes received from or written to a peer (a binary frame).
    Record(Rec),
    /// A part of a file written to a peer: its size, not its bytes.
    FilePart(FilePart),
}

/// One change to the state: what the user did, or what the bridge or the socket said.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// The socket to the bridge opened, or closed (and will try again).
    Socket(SocketStatus),
    /// What the bridge said, in the order it arrived, applied as one update.
    Events(Vec<Incoming>),
    /// The user chose this conversation.
    Select(ConnId),
    /// Reveal [`WINDOW`] more of the earlier messages of a conversation.
    ShowEarlier(ConnId),
    /// Show a conversation's messages another way.
    SetView(ConnId, ViewMode),
    /// Read and write a conversation's text in another encoding: the messages that go one way
    /// of a proxied conversation, or (`None`) all of them.
    SetEncoding(ConnId, Option<Way>, Encoding),
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
    /// leave a group), with this request id: a failure that answers it is that listener's.
    AskListener(Asked, RequestId),
    /// Sends to the conversation in view (or, while sending to all, to all) may go to a
    /// broadcast address: the UDP send flag, on every send while it is on.
    SetBroadcast(bool),
    /// Sends to the conversation in view, a proxied one, go to its server, as if from the
    /// client (or, off, to its client, as if from the server).
    SetToServer(bool),
    /// The page asked for other settings (for a connection, or for new ones): what the bridge
    /// said of the last ones no longer applies.
    Configuring,
    /// The page sent a rule set: likewise.
    SavingRules,
    /// The page asked the bridge to write the rules in force to its rules file, with this
    /// request id.
    SavingRulesFile(RequestId),
    /// The page asked the bridge to learn a simulator from conversation `conn`, with this
    /// request id.
    Learning { conn: ConnId, request: RequestId },
    /// The rules learnt were used, or discarded: the rules panel no longer shows them.
    LearntDone,
    /// A file this page was sending to these connections stopped before its end (cancelled,
    /// or refused): its entries say so.
    FileStopped(Vec<ConnId>),
}
