//! A recording read back: the conversations of a transcript (the bridge's `--transcript`) or of
//! the page's JSON Lines download, which is the same format without the lines of state. The
//! bridge's `pcap`, `replay` and `learn` read it; the page makes its conversations from what it
//! holds, for its pcapng download.
//!
//! Connection ids restart with each run of the bridge, so a conversation is its run and its id;
//! `--conn N` picks id N in every run the file holds.

use std::collections::HashMap;
use std::fmt;

use crate::jsonl::RecordLine;
use crate::time::parse_rfc3339_micros;
use crate::{
    ConnId, ConnInfo, ConnState, Flow, Marks, Micros, Origin, ProxyInfo, RecordHeader, Transport,
    Way,
};
use serde::Deserialize;

/// One conversation, in the order its lines came.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversation {
    pub run: Option<String>,
    pub conn: ConnId,
    pub transport: Transport,
    /// `None` when the file has no line of its state (the page's download).
    pub origin: Option<Origin>,
    /// The peer and the bridge's own end, as its lines of state say.
    pub peer: Option<String>,
    pub local: Option<String>,
    /// A proxied conversation's server.
    pub proxy: Option<ProxyInfo>,
    /// When it opened (its first line of state).
    pub opened_at: Option<Micros>,
    pub events: Vec<Happening>,
    /// What else its comment says (a page's: the earliest messages it no longer held).
    pub note: Option<String>,
}

/// What happened in a conversation, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Happening {
    Message(Message),
    /// A proxied conversation's side closed its sending side.
    HalfClosed {
        at: Micros,
        way: Way,
    },
    /// It ended, and why.
    Closed {
        at: Micros,
        reason: Option<String>,
    },
}

/// One record: bytes received or sent, as the recording's framing cut them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub at: Micros,
    pub seq: u64,
    /// `rx` the bridge received it, `tx` it sent it (for a proxied conversation, `rx`
    /// client→server).
    pub dir: Flow,
    pub proxied: bool,
    pub injected: bool,
    /// What went on: for a held message a page edited, the edit.
    pub bytes: Vec<u8>,
    /// A held message a page edited: what its side said, when the recording keeps it (the
    /// transcript does, a page's download does not).
    pub original: Option<Vec<u8>>,
    pub edited: bool,
    /// A held message a page dropped: said, and never sent on.
    pub dropped: bool,
}

impl Message {
    /// What its sender said: before a page edited it, when the recording says.
    pub fn said(&self) -> &[u8] {
        self.original.as_deref().unwrap_or(&self.bytes)
    }
}

/// A line that is not the format.
#[derive(Debug)]
pub struct BadLine {
    pub number: usize,
    pub problem: String,
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.number, self.problem)
    }
}

/// Why a recording cannot be used.
#[derive(Debug)]
pub enum ReadError {
    Io(String),
    /// A line that is not the format, and bad lines are not to be skipped.
    Bad(BadLine),
    /// `--conn N` names no conversation in the file.
    NoConn {
        conn: ConnId,
        have: Vec<ConnId>,
    },
    Empty,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => f.write_str(e),
            ReadError::Bad(bad) => write!(
                f,
                "{bad}; it is not a transcript line (a last line cut short by a crash, or \
                 another file?). Give --skip-bad to leave such lines out"
            ),
            ReadError::NoConn { conn, have } => {
                let have: Vec<String> = have.iter().map(u64::to_string).collect();
                write!(
                    f,
                    "no conversation {conn} in the recording: it has {}",
                    if have.is_empty() {
                        "none".to_owned()
                    } else {
                        format!("conversation{} {}", plural(have.len()), have.join(", "))
                    }
                )
            }
            ReadError::Empty => f.write_str("the recording holds no conversation"),
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// What was read, and the lines left out.
#[derive(Debug, Default)]
pub struct Recording {
    pub conversations: Vec<Conversation>,
    pub skipped: Vec<BadLine>,
}

/// A line of state, as the transcript writes it.
#[derive(Deserialize)]
struct StateLine {
    at: String,
    #[serde(default)]
    run: Option<String>,
    conn: ConnId,
    event: String,
    #[serde(default)]
    side: Option<String>,
    origin: Origin,
    #[serde(default)]
    transport: Transport,
    peer: String,
    #[serde(default)]
    local: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    proxy: Option<ProxyInfo>,
}

/// Reads a recording's text: each line a record or a change of state; blank lines are nothing.
/// A line that is neither is refused, or skipped and listed when `skip_bad`.
pub fn read(text: &str, skip_bad: bool) -> Result<Recording, ReadError> {
    let mut recording = Recording::default();
    let mut index: HashMap<(Option<String>, ConnId), usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match read_line(line, &mut recording.conversations, &mut index) {
            Ok(()) => {}
            Err(problem) => {
                let bad = BadLine {
                    number: i + 1,
                    problem,
                };
                if !skip_bad {
                    return Err(ReadError::Bad(bad));
                }
                recording.skipped.push(bad);
            }
        }
    }
    Ok(recording)
}

fn read_line(
    line: &str,
    conversations: &mut Vec<Conversation>,
    index: &mut HashMap<(Option<String>, ConnId), usize>,
) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON ({e})"))?;
    let mut conversation = |run: &Option<String>, conn: ConnId| -> usize {
        *index.entry((run.clone(), conn)).or_insert_with(|| {
            conversations.push(Conversation {
                run: run.clone(),
                conn,
                transport: Transport::Tcp,
                origin: None,
                peer: None,
                local: None,
                proxy: None,
                opened_at: None,
                events: Vec::new(),
                note: None,
            });
            conversations.len() - 1
        })
    };
    if value.get("event").is_some() {
        let state: StateLine =
            serde_json::from_value(value).map_err(|e| format!("not a line of state ({e})"))?;
        let at = parse_rfc3339_micros(&state.at)
            .ok_or_else(|| format!("`at` is not an RFC 3339 time: {:?}", state.at))?;
        let i = conversation(&state.run, state.conn);
        let c = &mut conversations[i];
        c.origin = Some(state.origin);
        c.transport = state.transport;
        c.opened_at.get_or_insert(at);
        // A later line knows more (the bridge's own end once connected, the server reached).
        c.peer = Some(state.peer);
        if state.local.is_some() {
            c.local = state.local;
        }
        if state.proxy.is_some() {
            c.proxy = state.proxy;
        }
        match state.event.as_str() {
            "open" | "connecting" => {}
            "closed" => c.events.push(Happening::Closed {
                at,
                reason: state.reason,
            }),
            "half_closed" => {
                let way = match state.side.as_deref() {
                    Some("client") => Way::ClientToServer,
                    Some("server") => Way::ServerToClient,
                    other => return Err(format!("a half-close of no side it knows: {other:?}")),
                };
                c.events.push(Happening::HalfClosed { at, way });
            }
            other => return Err(format!("an event it does not know: {other:?}")),
        }
        return Ok(());
    }
    let record: RecordLine =
        serde_json::from_value(value).map_err(|e| format!("not a record ({e})"))?;
    let at = parse_rfc3339_micros(&record.at)
        .ok_or_else(|| format!("`at` is not an RFC 3339 time: {:?}", record.at))?;
    let bytes = record.bytes().ok_or_else(|| {
        "its bytes cannot be had back (no `hex`, and `text` in another encoding)".to_owned()
    })?;
    let original = match (&record.original_text, &record.original_hex) {
        (None, None) => None,
        _ => Some(
            record
                .original()
                .ok_or("its `original_hex` is not hex digits")?,
        ),
    };
    let i = conversation(&record.run, record.conn);
    conversations[i].events.push(Happening::Message(Message {
        at,
        seq: record.seq,
        dir: record.way.map_or(record.dir, Way::flow),
        proxied: record.way.is_some(),
        injected: record.injected,
        bytes,
        original,
        edited: record.edited,
        dropped: record.dropped,
    }));
    Ok(())
}

impl Recording {
    /// The conversations `--conn` picks: id `conn` in every run, or all of them.
    pub fn pick(self, conn: Option<ConnId>) -> Result<Vec<Conversation>, ReadError> {
        if self.conversations.is_empty() {
            return Err(ReadError::Empty);
        }
        let Some(conn) = conn else {
            return Ok(self.conversations);
        };
        let mut have: Vec<ConnId> = self.conversations.iter().map(|c| c.conn).collect();
        let picked: Vec<Conversation> = self
            .conversations
            .into_iter()
            .filter(|c| c.conn == conn)
            .collect();
        if picked.is_empty() {
            have.sort_unstable();
            have.dedup();
            return Err(ReadError::NoConn { conn, have });
        }
        Ok(picked)
    }
}

impl Conversation {
    /// A conversation as a page holds it: what the bridge says of it, and its records.
    pub fn from_conn<'a>(
        info: &ConnInfo,
        records: impl IntoIterator<Item = (&'a RecordHeader, &'a [u8])>,
    ) -> Conversation {
        let mut events: Vec<Happening> = records
            .into_iter()
            .map(|(head, data)| {
                Happening::Message(Message {
                    at: head.at,
                    seq: head.seq,
                    dir: head.flow,
                    proxied: head.marks.contains(Marks::PROXIED),
                    injected: head.marks.contains(Marks::INJECTED),
                    bytes: data.to_vec(),
                    original: None,
                    edited: head.marks.contains(Marks::EDITED),
                    dropped: head.marks.contains(Marks::DROPPED),
                })
            })
            .collect();
        if info.state == ConnState::Closed {
            events.push(Happening::Closed {
                at: info.closed_at.unwrap_or(info.opened_at),
                reason: info.close_reason.clone(),
            });
        }
        Conversation {
            run: None,
            conn: info.id,
            transport: info.transport,
            origin: Some(info.origin),
            peer: Some(info.peer.clone()),
            local: info.local.clone(),
            proxy: info.proxy.as_deref().cloned(),
            opened_at: Some(info.opened_at),
            events,
            note: None,
        }
    }

    /// Its messages that reached the other side, in order: a held message a page dropped
    /// never did (its pcapng leaves it out).
    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        self.events.iter().filter_map(|e| match e {
            Happening::Message(m) if !m.dropped => Some(m),
            _ => None,
        })
    }

    /// The conversation as its server (or device) had it, for `learn` and `replay`, which
    /// stand in for one side against the other: each message with whether it came from the
    /// client, and its bytes. From the client, what reached the server (an edit as it went; a
    /// message a page dropped on its way never did); from the server, what it said, whatever
    /// became of it on its way (before an edit, when the recording keeps it; a message a page
    /// dropped was said all the same).
    pub fn server_side(&self) -> impl Iterator<Item = (bool, &Message, &[u8])> {
        self.events.iter().filter_map(|e| {
            let Happening::Message(m) = e else {
                return None;
            };
            match self.from_client(m) {
                true => (!m.dropped).then_some((true, m, &m.bytes[..])),
                false => Some((false, m, m.said())),
            }
        })
    }

    /// The bridge's name for it: `conversation 3` (`of the run started …` when the file says).
    pub fn name(&self) -> String {
        match &self.run {
            Some(run) => format!(
                "conversation {} of the bridge's run started {run}",
                self.conn
            ),
            None => format!("conversation {}", self.conn),
        }
    }

    /// Whether the bridge was the client: it dialled. An accepted peer, a proxied
    /// conversation's client, and a conversation whose origin the file does not say (the page's
    /// download) have the peer as client.
    pub fn bridge_is_client(&self) -> bool {
        self.proxy.is_none() && self.origin == Some(Origin::Dialled)
    }

    /// Whether a message went from the client to the server.
    pub fn from_client(&self, message: &Message) -> bool {
        if message.proxied || self.proxy.is_some() {
            return message.dir == Flow::Rx;
        }
        (message.dir == Flow::Tx) == self.bridge_is_client()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRANSCRIPT: &str = r#"{"at":"2026-11-24T20:11:32.103412Z","run":"2026-11-24T20:11:30.008112Z","conn":1,"event":"open","origin":"accepted","peer":"127.0.0.1:57716","local":"127.0.0.1:7777"}
{"at":"2026-11-24T20:11:32.103520Z","run":"2026-11-24T20:11:30.008112Z","conn":1,"seq":1,"dir":"rx","text":"你好\n"}
{"at":"2026-11-24T20:11:33.200001Z","run":"2026-11-24T20:11:30.008112Z","conn":1,"seq":2,"dir":"tx","hex":"ff00"}
{"at":"2026-11-24T20:11:40.000000Z","run":"2026-11-24T20:11:30.008112Z","conn":3,"seq":9,"dir":"rx","way":"client_to_server","text":"GET\n"}
{"at":"2026-11-24T20:11:40.002000Z","run":"2026-11-24T20:11:30.008112Z","conn":3,"event":"half_closed","side":"client","origin":"accepted","peer":"127.0.0.1:51234","local":"127.0.0.1:1502","proxy":{"target":"127.0.0.1:502","server":"127.0.0.1:502","local":"127.0.0.1:40112","client_closed":true}}
{"at":"2026-11-24T20:11:34.000000Z","run":"2026-11-24T20:11:30.008112Z","conn":1,"event":"closed","origin":"accepted","peer":"127.0.0.1:57716","local":"127.0.0.1:7777","reason":"the peer said exit"}
"#;

    #[test]
    fn conversations_with_their_messages_and_states() {
        let recording = read(TRANSCRIPT, false).unwrap();
        let [one, three] = &recording.conversations[..] else {
            panic!("two conversations: {:?}", recording.conversations);
        };
        assert_eq!(one.peer.as_deref(), Some("127.0.0.1:57716"));
        assert_eq!(one.origin, Some(Origin::Accepted));
        let bytes: Vec<&[u8]> = one.messages().map(|m| &m.bytes[..]).collect();
        assert_eq!(bytes, ["你好\n".as_bytes(), &[0xff, 0]]);
        assert!(matches!(
            one.events.last(),
            Some(Happening::Closed { reason: Some(r), .. }) if r == "the peer said exit"
        ));
        assert!(one.from_client(one.messages().next().unwrap()));
        assert_eq!(
            three.proxy.as_ref().unwrap().server.as_deref(),
            Some("127.0.0.1:502")
        );
        assert!(matches!(
            three.events.last(),
            Some(Happening::HalfClosed {
                way: Way::ClientToServer,
                ..
            })
        ));
    }

    #[test]
    fn a_page_s_conversation_leaves_out_what_was_dropped() {
        let mut info = ConnInfo::new(
            4,
            Origin::Accepted,
            "127.0.0.1:5000".into(),
            ConnState::Closed,
            1,
        );
        info.closed_at = Some(9);
        info.close_reason = Some("the peer closed the connection".into());
        let head = |seq, marks| RecordHeader {
            conn: 4,
            seq,
            flow: Flow::Rx,
            at: seq as i64,
            marks,
        };
        let (kept, dropped) = (
            head(2, Marks::PROXIED),
            head(3, Marks::PROXIED.with(Marks::DROPPED)),
        );
        let c = Conversation::from_conn(&info, [(&kept, &b"go"[..]), (&dropped, &b"no"[..])]);
        let bytes: Vec<&[u8]> = c.messages().map(|m| &m.bytes[..]).collect();
        assert_eq!(bytes, [b"go"]);
        assert!(matches!(
            c.events.last(),
            Some(Happening::Closed { at: 9, .. })
        ));
    }

    #[test]
    fn a_bad_line_is_named_and_skipped_only_when_asked() {
        let cut = format!("{TRANSCRIPT}{{\"at\":\"2026-11-24T20:11:3");
        let e = read(&cut, false).unwrap_err().to_string();
        assert!(e.starts_with("line 7: not JSON"), "{e}");
        assert!(e.contains("--skip-bad"), "{e}");
        let skipped = read(&cut, true).unwrap();
        assert_eq!(skipped.skipped.len(), 1);
        assert_eq!(skipped.conversations.len(), 2);
        let foreign = read("{\"hello\":1}\n", false).unwrap_err().to_string();
        assert!(foreign.starts_with("line 1: not a record"), "{foreign}");
    }

    #[test]
    fn a_conn_not_in_the_file_says_which_are() {
        let e = read(TRANSCRIPT, false).unwrap().pick(Some(2)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no conversation 2 in the recording: it has conversations 1, 3"
        );
        assert_eq!(
            read(TRANSCRIPT, false)
                .unwrap()
                .pick(Some(3))
                .unwrap()
                .len(),
            1
        );
    }
}
