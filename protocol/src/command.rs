//! What a client asks of the bridge: the [`Command`]s, sent as tagged JSON in text frames.

use serde::{Deserialize, Serialize};

use crate::conn::{ConnId, ConnSettings, RequestId, Transport, Way};
use crate::hold::HeldId;
use crate::rules::Rule;
#[cfg(doc)]
use crate::{ConnInfo, Event, Problem, ServerInfo};

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
    /// Read one connection differently from its next byte on (with `way`, one side of a
    /// proxied conversation), or, without `conn`, every connection that opens from now on (both
    /// sides of a proxied one). Answered with [`Event::Conn`] or [`Event::Defaults`]
    /// to every page.
    Configure {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conn: Option<ConnId>,
        /// In a proxied conversation, the messages that go this way only (the side that sends
        /// them); without it, both ways. Refused for a conversation that is not proxied.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        way: Option<Way>,
        settings: ConnSettings,
    },
    /// Replace the auto-reply rules. Answered with [`Event::Rules`] to every page; a rule set
    /// that does not check is refused whole, with the rule and the reason.
    SetRules { rules: Vec<Rule> },
    /// Write the rules in force (and the framing new connections get) to the rules file the
    /// bridge was started with (`--rules`), so that they outlive it; that file only, replaced
    /// whole at once. Answered with [`Event::RulesSaved`] to the client that asked, or a
    /// [`Problem`] of kind `save_failed` (no rules file, a read-only file, a full disk).
    /// [`ServerInfo::rules_file`] says whether there is a file to save to.
    SaveRules {
        /// Echoed in the answer, so that the client knows which request it answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestId>,
    },
    /// A file is about to be sent to `to`, in transmits marked as parts of a file: every page is
    /// told ([`Event::File`]), so that it shows one entry for the file, not its chunks.
    SendFile { to: Target, name: String, size: u64 },
    /// The file being sent to `to` stops before its end (the user cancelled it, or a send was
    /// refused): every page is told ([`Event::FileStopped`]), so that none shows it as still
    /// being sent. Its parts not yet written are dropped.
    StopFile { to: Target },
    /// Start a proxy: listen on `listen` (`IP:PORT`, or a port alone for every interface; port 0
    /// picks a free one) and relay each client to `target` (`HOST:PORT`), as `--proxy` does.
    /// `--allow-dial` applies to the target, and its name must resolve. Answered with
    /// [`Event::Proxies`] to every page; a failure (an address in use, a target not allowed) is
    /// a [`Problem`] to the page that asked, and nothing starts.
    Proxy {
        listen: String,
        target: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestId>,
    },
    /// Stop the proxy listening at `listen` (its bound address, as [`Event::Proxies`] names
    /// it). Its conversations stay open. Answered with [`Event::Proxies`] to every page.
    StopProxy {
        listen: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestId>,
    },
    /// Hold (`on`) or stop holding the messages that go `way` in proxied conversation `conn`:
    /// while it holds, each message from that way's sender waits in the bridge
    /// ([`Event::Held`]) until it is forwarded or dropped. Switching it off forwards what
    /// waits, in order. Answered with [`Event::Conn`] (`proxy.hold`) to every page.
    Hold { conn: ConnId, way: Way, on: bool },
    /// Forward the held message `id` of conversation `conn`: as it came, or, with `edit`, as
    /// these bytes instead (hex digits, two a byte; spaces between them are allowed). Answered
    /// with [`Event::Released`] to every page; a message no longer held (another client
    /// forwarded or dropped it) is a [`Problem`] of kind `not_held`, and nothing is sent.
    Forward {
        conn: ConnId,
        id: HeldId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        edit: Option<String>,
    },
    /// Forward every message conversation `conn` holds going `way`, in order.
    ForwardAll { conn: ConnId, way: Way },
    /// Drop the held message `id` of conversation `conn`: it is never sent, and recorded as
    /// dropped.
    DropHeld { conn: ConnId, id: HeldId },
    /// Learn a simulator of conversation `conn`'s server (or device) from what the bridge holds
    /// of it, as `bridge learn` learns one from its recording: the rules that answer as it
    /// answered. Nothing is put in force. Answered with [`Event::Learnt`] to the client that
    /// asked, or a [`Problem`] of kind `learn_failed` (nothing the server answered, more rules
    /// than a set may hold).
    Learn {
        conn: ConnId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestId>,
    },
}

fn is_false(b: &bool) -> bool {
    !b
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

impl Command {
    /// The request id the command carries, which a problem it meets answers.
    pub fn request(&self) -> Option<RequestId> {
        match self {
            Command::Dial { request, .. }
            | Command::Listen { request, .. }
            | Command::StopListening { request, .. }
            | Command::JoinGroup { request, .. }
            | Command::LeaveGroup { request, .. }
            | Command::Proxy { request, .. }
            | Command::StopProxy { request, .. }
            | Command::SaveRules { request }
            | Command::Learn { request, .. } => *request,
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
            | Command::LeaveGroup { request, .. }
            | Command::Proxy { request, .. }
            | Command::StopProxy { request, .. }
            | Command::SaveRules { request }
            | Command::Learn { request, .. } => *request = Some(id),
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
