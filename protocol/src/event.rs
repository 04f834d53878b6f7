//! What the bridge tells its clients: the [`Event`]s, sent as tagged JSON in text frames; among
//! them the [`Problem`]s, whose facts are fields, and the [`ServerInfo`] a snapshot starts with.

use serde::{Deserialize, Serialize};

use crate::conn::{ConnId, ConnInfo, ConnSettings, Micros, RequestId, Seq, Transport};
use crate::framing::Framing;
use crate::hold::{HeldId, HeldMessage, Release};
use crate::rules::{Rule, RuleError};
use crate::text_encoding::TextEncoding;
#[cfg(doc)]
use crate::{Command, Marks, Record};

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
        /// The messages proxied conversations hold ([`Command::Hold`]), each conversation's in
        /// the order they came.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        held: Vec<HeldMessage>,
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
    /// The rules in force were written to the rules file ([`Command::SaveRules`]), told to the
    /// client that asked: the file's name and how many rules it now holds.
    RulesSaved {
        file: String,
        rules: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestId>,
    },
    /// A file is being sent to connection `conn`: the records marked [`Marks::FILE`] that follow
    /// are its bytes.
    File {
        conn: ConnId,
        name: String,
        size: u64,
    },
    /// The file being sent to connection `conn` stopped before its end ([`Command::StopFile`]).
    FileStopped { conn: ConnId },
    /// The proxies now running (a page started or stopped one: [`Command::Proxy`],
    /// [`Command::StopProxy`]); [`ServerInfo::proxies`] in later snapshots.
    Proxies { proxies: Vec<ProxyListener> },
    /// A proxied conversation holds a message ([`Command::Hold`]): it waits in the bridge
    /// until a client forwards or drops it.
    Held { message: HeldMessage },
    /// A held message left the queue: forwarded (as it came, or edited) or dropped. A
    /// forwarded one is then recorded as it went (with the edited mark if edited), a dropped
    /// one with the dropped mark.
    Released {
        conn: ConnId,
        id: HeldId,
        how: Release,
    },
    /// What [`Command::Learn`] learnt of conversation `conn`, told to the client that asked:
    /// the rules (not in force: a client sets them, [`Command::SetRules`], once a person has
    /// reviewed them) and the framing they read requests with ([`Command::Configure`] for new
    /// connections), as `bridge learn` writes them in a rules file.
    Learnt {
        conn: ConnId,
        rules: Vec<Rule>,
        framing: Framing,
        /// What was learnt, for a person: `3 rules, 1 request generalised`.
        summary: String,
        /// The earliest messages the bridge no longer held (`--history-bytes`), which the
        /// rules were not learnt from: how many, and their bytes.
        #[serde(default, skip_serializing_if = "is_zero")]
        elided_msgs: u64,
        #[serde(default, skip_serializing_if = "is_zero")]
        elided_bytes: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestId>,
    },
}

fn is_zero(n: &u64) -> bool {
    *n == 0
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
    /// A rule answered more often than a connection may be answered, and its replies were
    /// dropped (not sent later); or matching a message ran out of time, and the rules not tried
    /// were skipped. `rule` names the rule.
    RateLimited,
    /// Nothing answers at that address (UDP: an ICMP "port unreachable" came back).
    Unreachable,
    /// The rules could not be saved: the bridge has no rules file (it was started without
    /// `--rules`), or writing it failed (a read-only file or directory, a full disk).
    SaveFailed,
    /// No such message is held: another client forwarded or dropped it, or its conversation
    /// closed.
    NotHeld,
    /// Nothing could be learnt of a conversation ([`Command::Learn`]): its server answered
    /// nothing the bridge still holds, or it would take more rules than a set may hold.
    LearnFailed,
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
    /// The name (not the path) of the rules file the bridge was started with (`--rules`),
    /// which [`Command::SaveRules`] writes; absent without one, when the rules set from pages
    /// last until the bridge stops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_file: Option<String>,
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
    /// This run of the bridge process: a page that reconnects can tell a bridge that restarted
    /// (its connections and the rules set from pages gone) from the same one reached again.
    /// Absent from bridges that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
    /// The proxies running (`--proxy`, or started from a page), in the order they started.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxies: Vec<ProxyListener>,
}

/// A proxy: where it listens, and the server it relays each client to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyListener {
    /// Its bound address.
    pub listen: String,
    /// The server, as `host:port`.
    pub target: String,
}

/// One run of the bridge process, from its start to its exit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// Random, drawn at start, below 2^53 so that a JavaScript client reads it exactly: another
    /// id is another run.
    pub id: u64,
    /// When this run started.
    pub started_at: Micros,
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
