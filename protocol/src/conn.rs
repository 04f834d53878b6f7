//! Connections as both sides know them: their ids, how they carry bytes, who opened them, their
//! state and counters, and their records (one message each). Plain data; the frames that carry
//! it are in `lib.rs` and `binary.rs`.

use serde::{Deserialize, Serialize};

use crate::checksum::Checksum;
use crate::framing::Framing;
use crate::hold::Holds;
use crate::tls::TlsInfo;
#[cfg(doc)]
use crate::Command;

/// Identifies one TCP connection for the life of the bridge process. Never reused.
pub type ConnId = u64;

/// Position of a record in the bridge's single, global order of traffic. Strictly increasing.
pub type Seq = u64;

/// A moment, in microseconds since the Unix epoch (UTC).
pub type Micros = i64;

/// A number a client picks for a request, which the bridge echoes in what the request made. A
/// client should pick them at random (or from a random start), since several clients share them.
pub type RequestId = u64;

/// How a connection carries its bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    #[default]
    Tcp,
    /// TLS over TCP.
    Tls,
    /// UDP: a conversation is the datagrams exchanged with one address.
    Udp,
}

impl Transport {
    /// The word on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Udp => "udp",
        }
    }

    /// The name people know it by.
    pub fn label(self) -> &'static str {
        match self {
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Udp => "UDP",
        }
    }

    pub fn is_tcp(&self) -> bool {
        *self == Transport::Tcp
    }
}

/// How the bridge reads a connection: where its messages end, and the checksum each carries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnSettings {
    #[serde(default)]
    pub framing: Framing,
    /// Checked on every message received: a message whose last bytes are not its checksum is
    /// marked ([`Marks::BAD_CHECKSUM`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<Checksum>,
}

impl ConnSettings {
    /// Raw, with no checksum: what a connection is read as unless told otherwise (and what a
    /// field left out of the wire means).
    pub fn is_default(&self) -> bool {
        *self == ConnSettings::default()
    }
}

/// Who opened a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A peer connected to the bridge's listener.
    Accepted,
    /// The bridge dialled out, on a page's request.
    Dialled,
}

impl Origin {
    /// The word on the wire (and in the transcript), as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Accepted => "accepted",
            Origin::Dialled => "dialled",
        }
    }
}

/// The life of a connection. Moves forward only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnState {
    Connecting,
    Open,
    Closed,
}

impl ConnState {
    /// The word on the wire, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting",
            ConnState::Open => "open",
            ConnState::Closed => "closed",
        }
    }
}

/// Everything the page shows about one connection, besides its traffic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnInfo {
    pub id: ConnId,
    pub origin: Origin,
    /// The peer, as `ip:port` (or `host:port` while a dial is still resolving).
    pub peer: String,
    /// The bridge's own end, once connected.
    #[serde(default)]
    pub local: Option<String>,
    pub state: ConnState,
    pub opened_at: Micros,
    #[serde(default)]
    pub closed_at: Option<Micros>,
    /// Why it closed, in words a person understands ("connection refused by 127.0.0.1:9").
    #[serde(default)]
    pub close_reason: Option<String>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_msgs: u64,
    pub tx_msgs: u64,
    /// Records of this connection that the bridge no longer holds in memory (oldest first), because
    /// its history is bounded. The transcript file, when enabled, still has them.
    #[serde(default)]
    pub elided_msgs: u64,
    #[serde(default)]
    pub elided_bytes: u64,
    /// Bytes the page sent to this peer that the bridge holds, not yet written because the peer
    /// is not reading them (at most `--send-queue`). After the close, what was never written.
    #[serde(default)]
    pub waiting: u64,
    /// The [`Command::Dial`] request that dialled it, if it carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestId>,
    /// How the bridge reads it; a proxied conversation's client (client→server), its server
    /// being read as `proxy.settings` say.
    #[serde(default)]
    pub settings: ConnSettings,
    /// TCP, TLS over TCP, or UDP.
    #[serde(default, skip_serializing_if = "Transport::is_tcp")]
    pub transport: Transport,
    /// The TLS conversation's details, once its handshake is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Box<TlsInfo>>,
    /// A proxied conversation (`--proxy`): the server the bridge relays this client to. `peer`
    /// and `local` are then the client's side; the counters count by direction, `rx`
    /// client→server and `tx` server→client (see [`Marks::PROXIED`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<Box<ProxyInfo>>,
}

/// The server side of a proxied conversation: where the bridge relays its client.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyInfo {
    /// The target as `--proxy` names it (`host:port`).
    pub target: String,
    /// How the bridge speaks to the server: TCP, TLS over TCP, or UDP (a UDP proxy's, whose
    /// client side is UDP too). The client side's is the conversation's `transport`.
    #[serde(default, skip_serializing_if = "Transport::is_tcp")]
    pub transport: Transport,
    /// The server side's TLS details, once its handshake is done (the client side's are the
    /// conversation's `tls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Box<TlsInfo>>,
    /// How the bridge reads what the server says (server→client): its framing and checksum,
    /// which may differ from the client's (the conversation's `settings`, client→server).
    #[serde(default, skip_serializing_if = "ConnSettings::is_default")]
    pub settings: ConnSettings,
    /// The server's address, once the bridge has reached it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The bridge's own end toward the server, once connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
    /// The client has closed its sending side (a half-close, FIN): the server was told the
    /// same, and the server may still answer.
    #[serde(default, skip_serializing_if = "is_false")]
    pub client_closed: bool,
    /// The server has closed its sending side: the client was told the same.
    #[serde(default, skip_serializing_if = "is_false")]
    pub server_closed: bool,
    /// Which ways' messages are held ([`Command::Hold`]).
    #[serde(default, skip_serializing_if = "Holds::is_none")]
    pub hold: Holds,
}

impl ProxyInfo {
    /// A proxied conversation whose server is not reached yet.
    pub fn to(target: impl Into<String>) -> ProxyInfo {
        ProxyInfo {
            target: target.into(),
            ..ProxyInfo::default()
        }
    }

    /// The same, speaking to its server over `transport`.
    pub fn over(self, transport: Transport) -> ProxyInfo {
        ProxyInfo { transport, ..self }
    }
}

fn is_false(b: &bool) -> bool {
    !b
}

impl ConnInfo {
    /// A connection as it starts: no traffic yet, nothing elided or waiting.
    pub fn new(
        id: ConnId,
        origin: Origin,
        peer: String,
        state: ConnState,
        opened_at: Micros,
    ) -> Self {
        ConnInfo {
            id,
            origin,
            peer,
            local: None,
            state,
            opened_at,
            closed_at: None,
            close_reason: None,
            rx_bytes: 0,
            tx_bytes: 0,
            rx_msgs: 0,
            tx_msgs: 0,
            elided_msgs: 0,
            elided_bytes: 0,
            waiting: 0,
            request: None,
            settings: ConnSettings::default(),
            transport: Transport::Tcp,
            tls: None,
            proxy: None,
        }
    }

    /// How the bridge reads the messages that go this way: a proxied conversation's server
    /// (server→client) by its proxy's settings, everything else by the conversation's.
    pub fn settings_of(&self, way: Option<Way>) -> &ConnSettings {
        match (&self.proxy, way) {
            (Some(proxy), Some(Way::ServerToClient)) => &proxy.settings,
            _ => &self.settings,
        }
    }
}

/// Which way bytes went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// Received from the peer.
    Rx,
    /// Written to the peer.
    Tx,
}

impl Flow {
    /// The word on the wire (and in the transcript), as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Rx => "rx",
            Flow::Tx => "tx",
        }
    }
}

/// Which way a message of a proxied conversation went: what its record's flow means there
/// ([`Marks::PROXIED`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Way {
    /// From the client (or as if from it) to the server: `rx`.
    ClientToServer,
    /// From the server (or as if from it) to the client: `tx`.
    ServerToClient,
}

impl Way {
    /// The way a record went, if it is a proxied conversation's.
    pub fn of(flow: Flow, marks: Marks) -> Option<Way> {
        marks.contains(Marks::PROXIED).then_some(match flow {
            Flow::Rx => Way::ClientToServer,
            Flow::Tx => Way::ServerToClient,
        })
    }

    /// The flow a record going this way has.
    pub fn flow(self) -> Flow {
        match self {
            Way::ClientToServer => Flow::Rx,
            Way::ServerToClient => Flow::Tx,
        }
    }

    /// As people read it.
    pub fn label(self) -> &'static str {
        match self {
            Way::ClientToServer => "client→server",
            Way::ServerToClient => "server→client",
        }
    }
}

/// One message of a connection (as its framing cuts the stream), or one send written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub conn: ConnId,
    pub seq: Seq,
    pub flow: Flow,
    pub at: Micros,
    pub marks: Marks,
    /// The auto-reply rule that sent it.
    pub rule: Option<String>,
    pub data: Vec<u8>,
}

impl Record {
    /// A record with no marks, sent by no rule.
    pub fn new(conn: ConnId, seq: Seq, flow: Flow, at: Micros, data: Vec<u8>) -> Record {
        Record {
            conn,
            seq,
            flow,
            at,
            marks: Marks::NONE,
            rule: None,
            data,
        }
    }
}

/// What a record says about itself beyond its bytes. On the wire, one byte of flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Marks(pub u8);

impl Marks {
    pub const NONE: Marks = Marks(0);
    /// The message was longer than the framing's maximum: it goes on in the next record.
    pub const CUT: Marks = Marks(1);
    /// The connection closed, or its framing changed, before the message ended.
    pub const UNFINISHED: Marks = Marks(2);
    /// The message did not end with its checksum ([`ConnSettings::checksum`]).
    pub const BAD_CHECKSUM: Marks = Marks(4);
    /// Part of a file sent ([`Command::SendFile`]).
    pub const FILE: Marks = Marks(8);
    /// A record of a proxied conversation ([`ConnInfo::proxy`]): its flow is a direction,
    /// `rx` client→server and `tx` server→client. Without [`Marks::INJECTED`], the bridge read
    /// it from one side and relayed it to the other.
    pub const PROXIED: Marks = Marks(16);
    /// In a proxied conversation, written by a page (or a rule) rather than relayed: `rx` to
    /// the server, as if from the client; `tx` to the client, as if from the server.
    pub const INJECTED: Marks = Marks(32);
    /// In a proxied conversation, a held message a client edited before forwarding it: the
    /// record is what went, not what the side said.
    pub const EDITED: Marks = Marks(64);
    /// In a proxied conversation, a held message a client dropped: what the side said, never
    /// sent on.
    pub const DROPPED: Marks = Marks(128);

    pub fn contains(self, other: Marks) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn with(self, other: Marks) -> Marks {
        Marks(self.0 | other.0)
    }
}
