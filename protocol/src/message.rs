//! The typed messages. Everything here is plain data; framing lives in `lib.rs` and `binary.rs`.

use serde::{Deserialize, Serialize};

use crate::checksum::Checksum;
use crate::framing::Framing;
use crate::rules::{Rule, RuleError};
use crate::text_encoding::TextEncoding;
use crate::tls::TlsInfo;

/// Identifies one TCP connection for the life of the bridge process. Never reused.
pub type ConnId = u64;

/// Position of a record in the bridge's single, global order of traffic. Strictly increasing.
pub type Seq = u64;

/// A moment, in microseconds since the Unix epoch (UTC).
pub type Micros = i64;

/// A number a client picks for a request, which the bridge echoes in what the request made. A
/// client should pick them at random (or from a random start), since several clients share them.
pub type RequestId = u64;

/// What the page asks the bridge to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Dial a server. The new connection is announced with [`Event::Conn`], whether the dial
    /// succeeds or not (a failed dial is a closed connection with its reason). The connection
    /// carries `request` back ([`ConnInfo::request`]), so that the client knows which it is.
    /// Version 2 called it `connect`.
    Dial {
        host: String,
        port: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestId>,
        /// TCP (the default), TLS over TCP, or UDP (a conversation with that address).
        #[serde(default, skip_serializing_if = "Transport::is_tcp")]
        transport: Transport,
        /// With TLS: take whatever certificate the server presents (a device's self-signed
        /// one, say) instead of checking it. Its details are still shown.
        #[serde(default, skip_serializing_if = "is_false")]
        accept_any_certificate: bool,
    },
    /// Close one connection.
    Disconnect { conn: ConnId },
    /// Start the TCP listener on `addr` (`IP:PORT`; port 0 picks a free one), or move it there
    /// if it is already listening. Connections it accepted before stay open. The outcome is an
    /// [`Event::Listener`] to every page; a failure (address in use, ...) is an [`Event::Error`]
    /// to the page that asked, and the listener stays as it was. `transport` says which of the
    /// bridge's listeners: TCP (the default), TLS, or the UDP socket.
    Listen {
        addr: String,
        #[serde(default, skip_serializing_if = "Transport::is_tcp")]
        transport: Transport,
        /// Echoed in the [`Problem`] if the command fails, so that the client knows which
        /// request it answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestId>,
    },
    /// Stop a listener (TCP unless `transport` says otherwise). Connections it accepted stay
    /// open. Answered with [`Event::Listener`] (`listen: null`) to every page.
    StopListening {
        #[serde(default, skip_serializing_if = "Transport::is_tcp")]
        transport: Transport,
        /// Echoed in the [`Problem`] if the command fails, so that the client knows which
        /// request it answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestId>,
    },
    /// Join a multicast group on the UDP socket (IPv4 or IPv6), on the interface with this
    /// address (IPv4) or index (IPv6), or the system's choice. Answered with
    /// [`Event::Listener`] for UDP, whose groups say which are joined.
    JoinGroup {
        group: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interface: Option<String>,
        /// Echoed in the [`Problem`] if the command fails, so that the client knows which
        /// request it answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestId>,
    },
    /// Leave a multicast group the UDP socket joined.
    LeaveGroup {
        group: String,
        /// Echoed in the [`Problem`] if the command fails, so that the client knows which
        /// request it answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestId>,
    },
    /// Forget every closed connection, and free its history. Answered with
    /// [`Event::Forgotten`] to every page.
    ForgetClosed,
    /// Read one connection another way (from its next byte on), or, without `conn`, every
    /// connection that opens from now on. Answered with [`Event::Conn`] or [`Event::Defaults`]
    /// to every page.
    Configure {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conn: Option<ConnId>,
        settings: ConnSettings,
    },
    /// Replace the auto-reply rules. Answered with [`Event::Rules`] to every page; a rule set
    /// that does not check is refused whole, with the rule and the reason.
    SetRules { rules: Vec<Rule> },
    /// A file is about to be sent to `to`, in transmits marked as parts of a file: every page is
    /// told ([`Event::File`]), so that it shows one entry for the file, not its chunks.
    SendFile { to: Target, name: String, size: u64 },
    /// The file being sent to `to` stops before its end (the user cancelled it, or a send was
    /// refused): every page is told ([`Event::FileStopped`]), so that none shows it as still
    /// being sent.
    StopFile { to: Target },
}

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

fn is_false(b: &bool) -> bool {
    !b
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

/// Where a send goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Conn(ConnId),
    /// Every connection that is open when the bridge handles the request.
    All,
}

impl Target {
    /// The one connection this names, if it names one.
    pub fn conn(self) -> Option<ConnId> {
        match self {
            Target::Conn(id) => Some(id),
            Target::All => None,
        }
    }
}

/// What the bridge tells the page.
///
/// On every new WebSocket the bridge sends a snapshot: [`Event::Hello`] with the state of every
/// connection, then the [`Record`]s it still holds in memory, oldest first, then [`Event::Synced`].
/// After that, events arrive live, in order. A client that falls too far behind gets a fresh
/// snapshot (a new `Hello`); it should drop what it had and rebuild, which can never show
/// anything twice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Starts a snapshot.
    Hello {
        version: u32,
        server: Box<ServerInfo>,
        conns: Vec<ConnInfo>,
        /// The last sequence number this snapshot covers: the counters in `conns` include every
        /// record up to it, and the records that follow `Hello` have `seq <= seq`.
        seq: Seq,
    },
    /// Ends a snapshot: everything up to and including `seq` has been sent.
    Synced { seq: Seq },
    /// A connection appeared or changed (state, counters). Carries the whole new state.
    Conn { conn: ConnInfo },
    /// A listener started, stopped or moved: its bound address, or `None` if it is not
    /// listening; `transport` says which (TCP unless it says otherwise). [`ServerInfo`] in later
    /// snapshots says the same. For UDP, `groups` are the multicast groups joined.
    Listener {
        #[serde(default)]
        listen: Option<String>,
        #[serde(default, skip_serializing_if = "Transport::is_tcp")]
        transport: Transport,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        groups: Vec<String>,
        /// For TLS: the SHA-256 fingerprint of the certificate the listener presents.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fingerprint: Option<String>,
    },
    /// These closed connections are forgotten, their history freed (a page asked): drop them.
    Forgotten { conns: Vec<ConnId> },
    /// A request could not be carried out.
    Error(Problem),
    /// A send to all was queued for `queued` open connections, and refused by `refused` of them
    /// (each refusal is its own [`Event::Error`]). Told to the client that sent it.
    SentToAll { queued: u64, refused: u64 },
    /// How connections that open from now on are read ([`ServerInfo::defaults`] says the same
    /// in later snapshots).
    Defaults { settings: ConnSettings },
    /// The auto-reply rules now in force ([`ServerInfo::rules`] in later snapshots).
    Rules { rules: Vec<Rule> },
    /// How many replies each rule has sent, while that changes (a few times a second at most).
    RuleHits { hits: Vec<RuleHits> },
    /// A file is being sent to connection `conn`: the records marked [`Marks::FILE`] that follow
    /// are its bytes.
    File {
        conn: ConnId,
        name: String,
        size: u64,
    },
    /// The file being sent to connection `conn` stopped before its end ([`Command::StopFile`]).
    FileStopped { conn: ConnId },
}

/// How many replies a rule has sent since the rule set was last set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHits {
    pub rule: String,
    pub hits: u64,
}

/// What went wrong: what kind of problem it is and the facts it concerns (which connection,
/// request, listener, port or rule), for a program to act on; and the reason in words, for a
/// person only. A client reads the fields, never the message, whose words may change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn: Option<ConnId>,
    #[serde(default)]
    pub kind: ProblemKind,
    pub message: String,
    /// The request that failed: the `request` of the command it answers, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestId>,
    /// The listener it concerns (a listener that could not start or move, a multicast group
    /// the UDP socket could not join).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// The port it concerns: the one a listener could not take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The rule it concerns, by id: the one a rule set was refused for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// The kinds of [`Problem`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A message the bridge could not read: malformed JSON, an unknown `type`, a binary frame
    /// that is not a send.
    Malformed,
    /// A message over the protocol's limits.
    TooLarge,
    /// No such connection (or no open one, for a send to all).
    NoSuchConnection,
    /// The connection is still dialling, or closed.
    NotOpen,
    /// The peer is not reading what it was sent: this send was not queued.
    NotReading,
    /// `--allow-dial` does not allow that address.
    NotAllowed,
    /// The bridge holds `--max-conns` connections already.
    TooManyConnections,
    /// A dial failed: refused, timed out, no such host.
    DialFailed,
    /// The listener could not be started or moved.
    ListenFailed,
    /// Settings that do not check (a framing with length 0, say).
    InvalidSettings,
    /// A rule set that does not check; `rule` names the rule, when it is one rule's fault.
    InvalidRules,
    /// A rule answered more often than a connection may be answered: replies wait.
    RateLimited,
    /// Nothing answers at that address (UDP: an ICMP "port unreachable" came back).
    Unreachable,
    /// Anything else; also what a bridge that names no kind means, and any kind a client does
    /// not know yet.
    #[default]
    #[serde(other)]
    Other,
}

impl Problem {
    pub fn new(kind: ProblemKind, message: impl Into<String>) -> Problem {
        Problem {
            conn: None,
            kind,
            message: message.into(),
            request: None,
            transport: None,
            port: None,
            rule: None,
        }
    }

    /// The same problem, about connection `conn`.
    pub fn on(self, conn: ConnId) -> Problem {
        Problem {
            conn: Some(conn),
            ..self
        }
    }

    /// The same problem, about `transport`'s listener (and the port it could not take).
    pub fn at_listener(self, transport: Transport, port: Option<u16>) -> Problem {
        Problem {
            transport: Some(transport),
            port,
            ..self
        }
    }

    /// The same problem, as the answer to `request` (if the problem names none yet).
    pub fn answering(self, request: Option<RequestId>) -> Problem {
        Problem {
            request: self.request.or(request),
            ..self
        }
    }
}

/// A rule set refused: the rule it names, and why.
impl From<RuleError> for Problem {
    fn from(e: RuleError) -> Problem {
        Problem {
            rule: e.rule,
            ..Problem::new(ProblemKind::InvalidRules, e.message)
        }
    }
}

/// Facts about the bridge that the page shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// The TCP listener's bound address, or `None` if it is not listening.
    pub listen: Option<String>,
    /// The message that ends a conversation (the seed's `exit`), or `None` when that is off.
    pub exit_word: Option<String>,
    /// Why the TCP listener is not running, when it could not start (the port was taken at
    /// start): a problem of kind `listen_failed` that names the port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_problem: Option<Problem>,
    /// How new connections' text is read and written, until someone chooses otherwise
    /// (`--encoding`).
    #[serde(default)]
    pub encoding: TextEncoding,
    /// How connections that open are read, until someone chooses otherwise.
    #[serde(default)]
    pub defaults: ConnSettings,
    /// The auto-reply rules in force, in the order they are tried.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// The TLS listener's bound address, if it is listening.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_listen: Option<String>,
    /// The SHA-256 fingerprint of the certificate the TLS listener presents, so that a client
    /// can check it is talking to this bridge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_fingerprint: Option<String>,
    /// The UDP socket's bound address, if it is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_listen: Option<String>,
    /// The multicast groups the UDP socket joined.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

impl Command {
    /// The request id the command carries, which a problem it meets answers.
    pub fn request(&self) -> Option<RequestId> {
        match self {
            Command::Dial { request, .. }
            | Command::Listen { request, .. }
            | Command::StopListening { request, .. }
            | Command::JoinGroup { request, .. }
            | Command::LeaveGroup { request, .. } => *request,
            _ => None,
        }
    }

    /// The same command, carrying request id `id` if it is one that carries a request.
    pub fn with_request(mut self, id: RequestId) -> Command {
        match &mut self {
            Command::Dial { request, .. }
            | Command::Listen { request, .. }
            | Command::StopListening { request, .. }
            | Command::JoinGroup { request, .. }
            | Command::LeaveGroup { request, .. } => *request = Some(id),
            _ => {}
        }
        self
    }

    /// Dial `host:port` with plain TCP, for no request in particular: the plainest dial.
    pub fn dial(host: impl Into<String>, port: u16) -> Command {
        Command::Dial {
            host: host.into(),
            port,
            transport: Transport::Tcp,
            accept_any_certificate: false,
            request: None,
        }
    }
}

impl ServerInfo {
    /// Where one of the listeners now is (`listen: None`: stopped), with the UDP socket's
    /// multicast groups or the TLS listener's certificate fingerprint: what an
    /// [`Event::Listener`] says, applied. The bridge and every page keep it the same way.
    pub fn set_listener(
        &mut self,
        transport: Transport,
        listen: Option<String>,
        groups: Vec<String>,
        fingerprint: Option<String>,
    ) {
        match transport {
            Transport::Tcp => {
                self.listen = listen;
                // Whatever kept the listener from starting no longer matters: someone chose.
                self.listen_problem = None;
            }
            Transport::Tls => {
                self.tls_listen = listen;
                self.tls_fingerprint = fingerprint;
            }
            Transport::Udp => {
                self.udp_listen = listen;
                self.groups = groups;
            }
        }
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
    /// How the bridge reads it.
    #[serde(default)]
    pub settings: ConnSettings,
    /// TCP, TLS over TCP, or UDP.
    #[serde(default, skip_serializing_if = "Transport::is_tcp")]
    pub transport: Transport,
    /// The TLS conversation's details, once its handshake is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Box<TlsInfo>>,
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

    pub fn contains(self, other: Marks) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn with(self, other: Marks) -> Marks {
        Marks(self.0 | other.0)
    }
}
