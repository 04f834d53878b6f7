//! `bridge replay`: plays a recorded conversation's client side against a real server (or
//! device), and compares what it answers with what was recorded, reply by reply.
//!
//! The client is the side that connected: for a conversation the bridge dialled, the bridge's
//! sends; for one it accepted, the peer's; for a proxied one, the client's. Each message of the
//! client is sent when the replies recorded before it have arrived (or, with `--timing
//! recorded`, also not before its recorded gap after the first). Each reply is cut as the
//! recording's framing cut it: a reply that ended with a line feed is read up to a line feed,
//! any other reply by its recorded length; over UDP, a reply is one datagram. A reply that does
//! not come within the reply timeout ends that conversation's replay, since what follows would
//! be compared out of step.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use protocol::template::HexPattern;
use protocol::{Micros, Transport};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::{Conversation, Message};
use crate::tls::ClientOptions;

/// The longest reply read up to a line feed: the framing's own bound.
const MAX_LINE: usize = 1 << 20;

/// How to replay.
#[derive(Clone, Debug)]
pub struct Options {
    /// `HOST:PORT`.
    pub to: String,
    /// TCP, TLS or UDP; `None`: as each conversation was recorded.
    pub transport: Option<Transport>,
    pub timing_recorded: bool,
    pub ignore: Vec<Ignore>,
    pub reply_timeout: Duration,
    pub tls: ClientOptions,
}

/// Bytes of a reply that may differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ignore {
    /// A reply that matches it, recorded and now, is compared outside its `??` bytes only.
    Pattern(HexPattern),
    /// These offsets of every reply.
    Offsets(std::ops::Range<usize>),
}

impl Ignore {
    /// `01 03 04 ?? ?? *` (hex with `??` for any byte, a final `*` for any further bytes), or
    /// `@N` / `@N..M` for offsets of every reply.
    pub fn parse(text: &str) -> Result<Ignore, String> {
        if let Some(offsets) = text.trim().strip_prefix('@') {
            let number = |s: &str| {
                s.trim().parse::<usize>().map_err(|_| {
                    format!("{text:?}: offsets are @N or @N..M (from N up to, not including, M)")
                })
            };
            let range = match offsets.split_once("..") {
                Some((a, b)) => number(a)?..number(b)?,
                None => {
                    let n = number(offsets)?;
                    n..n + 1
                }
            };
            if range.is_empty() {
                return Err(format!("{text:?}: the range ignores no byte"));
            }
            return Ok(Ignore::Offsets(range));
        }
        let pattern = HexPattern::parse(text).map_err(|e| format!("{text:?}: {e}"))?;
        if !pattern.bytes.iter().any(Option::is_none) {
            return Err(format!(
                "{text:?} has no ?? byte: write ?? for each byte that may differ"
            ));
        }
        Ok(Ignore::Pattern(pattern))
    }

    /// Marks the bytes of a reply it lets differ.
    fn apply(&self, recorded: &[u8], now: &[u8], ignored: &mut [bool]) {
        match self {
            Ignore::Offsets(range) => {
                for i in range.clone() {
                    if let Some(slot) = ignored.get_mut(i) {
                        *slot = true;
                    }
                }
            }
            Ignore::Pattern(p) => {
                let fits = |bytes: &[u8]| {
                    (if p.open_end {
                        bytes.len() >= p.bytes.len()
                    } else {
                        bytes.len() == p.bytes.len()
                    }) && p
                        .bytes
                        .iter()
                        .zip(bytes)
                        .all(|(want, have)| want.is_none_or(|w| w == *have))
                };
                if fits(recorded) && fits(now) {
                    for (slot, want) in ignored.iter_mut().zip(&p.bytes) {
                        *slot |= want.is_none();
                    }
                }
            }
        }
    }
}

/// One conversation replayed.
#[derive(Debug, Default)]
pub struct Case {
    pub name: String,
    pub sent: usize,
    pub replies: usize,
    /// Each difference, as printed.
    pub differences: Vec<String>,
    /// What stopped it: no connection, a reply that never came, the server gone.
    pub error: Option<String>,
    pub took: Duration,
}

impl Case {
    pub fn passed(&self) -> bool {
        self.differences.is_empty() && self.error.is_none()
    }
}

/// Replays each conversation in turn, each on a connection of its own, saying what happens
/// with `say` as it happens.
pub async fn replay(
    conversations: &[Conversation],
    options: &Options,
    mut say: impl FnMut(&str),
) -> Vec<Case> {
    let mut cases = Vec::new();
    for c in conversations {
        let started = Instant::now();
        let mut case = Case {
            name: c.name(),
            ..Case::default()
        };
        if let Err(e) = one(c, options, &mut case, &mut say).await {
            say(&format!("{}: {e}", case.name));
            case.error = Some(e);
        }
        case.took = started.elapsed();
        let verdict = if case.passed() {
            format!(
                "{}: ok, {} repl{} as recorded",
                case.name,
                case.replies,
                if case.replies == 1 { "y" } else { "ies" }
            )
        } else {
            format!(
                "{}: FAILED, {} of {} repl{} differ{}",
                case.name,
                case.differences.len(),
                case.replies,
                if case.replies == 1 { "y" } else { "ies" },
                if case.error.is_some() {
                    ", and it stopped early"
                } else {
                    ""
                }
            )
        };
        say(&verdict);
        cases.push(case);
    }
    cases
}

async fn one(
    c: &Conversation,
    options: &Options,
    case: &mut Case,
    say: &mut impl FnMut(&str),
) -> Result<(), String> {
    let transport = options.transport.unwrap_or(c.transport);
    let mut link = Link::open(&options.to, transport, options).await?;
    // As the server had it: what reached it, and what it said.
    let steps: Vec<(bool, &Message, &[u8])> = c
        .server_side()
        // A page's send to the client is not the server's: nothing to expect of it.
        .filter(|(from_client, m, _)| *from_client || !m.injected)
        .collect();
    let first_sent: Option<Micros> = steps.iter().find(|s| s.0).map(|s| s.1.at);
    let start = tokio::time::Instant::now();
    for (from_client, m, bytes) in steps {
        if from_client {
            if let (true, Some(first)) = (options.timing_recorded, first_sent) {
                let gap = Duration::from_micros((m.at - first).max(0) as u64);
                tokio::time::sleep_until(start + gap).await;
            }
            link.send(bytes).await.map_err(|e| {
                format!(
                    "cannot send message {} (record {}): {e}",
                    case.sent + 1,
                    m.seq
                )
            })?;
            case.sent += 1;
            continue;
        }
        case.replies += 1;
        let number = case.replies;
        let now = match tokio::time::timeout(options.reply_timeout, link.reply(bytes)).await {
            Ok(Ok(now)) => now,
            Ok(Err(e)) => {
                return Err(format!(
                    "reply {number} (record {}) did not come: {e}",
                    m.seq
                ))
            }
            Err(_) => {
                return Err(format!(
                    "reply {number} (record {}) did not come within {} ({}; recorded: {})",
                    m.seq,
                    seconds(options.reply_timeout),
                    match link.pending() {
                        0 => "nothing of it arrived".to_owned(),
                        n => format!("{n} bytes of it arrived: {}", show(link.pending_bytes())),
                    },
                    show(bytes),
                ))
            }
        };
        if let Some(difference) = compare(bytes, &now, &options.ignore) {
            let text = format!(
                "{}: reply {number} (record {}) differs {difference}",
                case.name, m.seq
            );
            say(&text);
            case.differences.push(text);
        }
    }
    // What already came past the last reply is not in the recording. (What might still come
    // is not waited for.)
    if link.pending() > 0 {
        let extra = link.pending_bytes();
        let text = format!(
            "{}: {} bytes came after the last reply, which the recording does not have: {}",
            case.name,
            extra.len(),
            show(&extra[..extra.len().min(64)])
        );
        say(&text);
        case.differences.push(text);
    }
    Ok(())
}

fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// Where two replies differ, outside the bytes let differ: `at bytes 9..11 (of 13, now 13)`
/// and both, in hex and as text.
pub fn compare(recorded: &[u8], now: &[u8], ignore: &[Ignore]) -> Option<String> {
    let mut ignored = vec![false; recorded.len().max(now.len())];
    for rule in ignore {
        rule.apply(recorded, now, &mut ignored);
    }
    let differs = |i: usize| !ignored[i] && recorded.get(i) != now.get(i);
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    for i in (0..ignored.len()).filter(|&i| differs(i)) {
        match ranges.last_mut() {
            Some(r) if r.end == i => r.end = i + 1,
            _ => ranges.push(i..i + 1),
        }
    }
    if ranges.is_empty() {
        return None;
    }
    let mut text = String::new();
    let named: Vec<String> = ranges
        .iter()
        .take(8)
        .map(|r| {
            if r.len() == 1 {
                format!("{}", r.start)
            } else {
                format!("{}..{}", r.start, r.end)
            }
        })
        .collect();
    let _ = write!(
        text,
        "at byte{} {}{} (recorded {} bytes, now {}):",
        if ranges.len() == 1 && ranges[0].len() == 1 {
            ""
        } else {
            "s"
        },
        named.join(", "),
        if ranges.len() > 8 { ", ..." } else { "" },
        recorded.len(),
        now.len()
    );
    // Long replies are shown around their first difference.
    let from = ranges[0].start.saturating_sub(16);
    let window = |b: &[u8]| b.get(from..b.len().min(from + 64)).unwrap_or(&[]).to_vec();
    let lead = if from > 0 {
        format!(" (from byte {from})")
    } else {
        String::new()
    };
    let _ = write!(
        text,
        "\n  recorded{lead}: {}\n  now{lead}:      {}",
        show(&window(recorded)),
        show(&window(now))
    );
    Some(text)
}

/// `41 43 0a  "AC\n"`: hex, and the bytes as text with escapes.
pub fn show(bytes: &[u8]) -> String {
    let hex = protocol::hex::encode_with(bytes, " ");
    let text: String = bytes.escape_ascii().to_string();
    format!("{hex}  \"{text}\"")
}

/// The connection to the server.
enum Link {
    Stream {
        io: Box<dyn Duplex>,
        /// Bytes read and not yet taken by a reply.
        pending: Vec<u8>,
    },
    Datagram(UdpSocket),
}

trait Duplex: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Duplex for T {}

impl Link {
    async fn open(to: &str, transport: Transport, options: &Options) -> Result<Link, String> {
        let deadline = options.reply_timeout.max(Duration::from_secs(5));
        let refused = |e: std::io::Error| format!("cannot connect to {to}: {e}");
        match transport {
            Transport::Udp => {
                let target = tokio::net::lookup_host(to)
                    .await
                    .map_err(refused)?
                    .next()
                    .ok_or_else(|| format!("{to} resolves to no address"))?;
                let any: std::net::SocketAddr = if target.is_ipv4() {
                    "0.0.0.0:0".parse().expect("an address")
                } else {
                    "[::]:0".parse().expect("an address")
                };
                let socket = UdpSocket::bind(any).await.map_err(refused)?;
                socket.connect(target).await.map_err(refused)?;
                Ok(Link::Datagram(socket))
            }
            Transport::Tcp | Transport::Tls => {
                let stream = tokio::time::timeout(deadline, TcpStream::connect(to))
                    .await
                    .map_err(|_| {
                        format!(
                            "cannot connect to {to}: no answer within {}",
                            seconds(deadline)
                        )
                    })?
                    .map_err(refused)?;
                let _ = stream.set_nodelay(true);
                let io: Box<dyn Duplex> = if transport == Transport::Tls {
                    let host = to.rsplit_once(':').map_or(to, |(host, _)| host);
                    let (tls, _) = crate::tls::connect(stream, host, &options.tls)
                        .await
                        .map_err(|e| format!("TLS with {to} failed: {}", e.reason))?;
                    Box::new(tls)
                } else {
                    Box::new(stream)
                };
                Ok(Link::Stream {
                    io,
                    pending: Vec::new(),
                })
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Link::Stream { io, .. } => {
                io.write_all(bytes).await?;
                io.flush().await
            }
            Link::Datagram(socket) => socket.send(bytes).await.map(drop),
        }
    }

    /// The next reply, cut as `recorded` was.
    async fn reply(&mut self, recorded: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            Link::Datagram(socket) => {
                let mut buf = vec![0; 65_536];
                let n = socket.recv(&mut buf).await.map_err(|e| e.to_string())?;
                buf.truncate(n);
                Ok(buf)
            }
            Link::Stream { io, pending } => {
                let by_line = recorded.last() == Some(&b'\n');
                loop {
                    if by_line {
                        if let Some(end) = pending.iter().position(|&b| b == b'\n') {
                            return Ok(pending.drain(..=end).collect());
                        }
                        if pending.len() >= MAX_LINE {
                            return Ok(std::mem::take(pending));
                        }
                    } else if pending.len() >= recorded.len() {
                        return Ok(pending.drain(..recorded.len()).collect());
                    }
                    let mut buf = [0; 16 * 1024];
                    let n = io.read(&mut buf).await.map_err(|e| e.to_string())?;
                    if n == 0 {
                        return Err(match pending.len() {
                            0 => "the server closed the connection".to_owned(),
                            n => format!(
                                "the server closed the connection after {n} bytes of it: {}",
                                show(pending)
                            ),
                        });
                    }
                    pending.extend_from_slice(&buf[..n]);
                }
            }
        }
    }

    fn pending(&self) -> usize {
        self.pending_bytes().len()
    }

    fn pending_bytes(&self) -> &[u8] {
        match self {
            Link::Stream { pending, .. } => pending,
            Link::Datagram(_) => &[],
        }
    }
}

/// The cases as a JUnit XML report: a test suite, a test case per conversation.
pub fn junit(title: &str, cases: &[Case]) -> String {
    let failures = cases
        .iter()
        .filter(|c| !c.differences.is_empty() && c.error.is_none())
        .count();
    let errors = cases.iter().filter(|c| c.error.is_some()).count();
    let total: f64 = cases.iter().map(|c| c.took.as_secs_f64()).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"{t}\" tests=\"{n}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{total:.3}\">\n  <testsuite name=\"{t}\" tests=\"{n}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{total:.3}\">",
        t = escape(title),
        n = cases.len(),
    );
    for case in cases {
        let _ = write!(
            xml,
            "    <testcase classname=\"bridge.replay\" name=\"{}\" time=\"{:.3}\"",
            escape(&case.name),
            case.took.as_secs_f64()
        );
        if case.passed() {
            xml.push_str("/>\n");
            continue;
        }
        xml.push_str(">\n");
        let body = case.differences.join("\n");
        if let Some(error) = &case.error {
            let _ = writeln!(
                xml,
                "      <error message=\"{}\">{}</error>",
                escape(error),
                escape(&[body.as_str(), error.as_str()].join("\n"))
            );
        } else {
            let _ = writeln!(
                xml,
                "      <failure message=\"{} of {} replies differ\">{}</failure>",
                case.differences.len(),
                case.replies,
                escape(&body)
            );
        }
        xml.push_str("    </testcase>\n");
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// Text for XML, also in an attribute; characters XML 1.0 cannot hold at all become U+FFFD.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' | '\t' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_bytes_and_ignores_apply() {
        let recorded = [1, 3, 4, 0, 1, 0, 0x2a];
        let now = [1, 3, 4, 0, 2, 0, 0x2b];
        let said = compare(&recorded, &now, &[]).unwrap();
        assert!(
            said.starts_with("at bytes 4, 6 (recorded 7 bytes, now 7):"),
            "{said}"
        );
        assert!(
            said.contains("recorded: 01 03 04 00 01 00 2a  \"\\x01\\x03\\x04\\x00\\x01\\x00*\""),
            "{said}"
        );
        let counter = Ignore::parse("01 03 04 ?? ?? 00 *").unwrap();
        let said = compare(&recorded, &now, std::slice::from_ref(&counter)).unwrap();
        assert!(said.starts_with("at byte 6 "), "{said}");
        let last = Ignore::parse("@6").unwrap();
        assert_eq!(compare(&recorded, &now, &[counter.clone(), last]), None);
        // A pattern applies only where both replies match it.
        let other = Ignore::parse("02 ?? *").unwrap();
        assert!(compare(&recorded, &now, &[other]).is_some());
        assert!(compare(b"ok\n", b"ok\n", &[]).is_none());
        let longer = compare(b"1.0\n", b"1.05\n", &[]).unwrap();
        assert!(
            longer.starts_with("at bytes 3..5 (recorded 4 bytes, now 5)"),
            "{longer}"
        );
        assert!(Ignore::parse("01 02").is_err());
        assert!(Ignore::parse("@3..3").is_err());
        assert_eq!(Ignore::parse("@2..4").unwrap(), Ignore::Offsets(2..4));
    }

    #[test]
    fn junit_counts_and_escapes() {
        let cases = [
            Case {
                name: "conversation 1".into(),
                replies: 2,
                ..Case::default()
            },
            Case {
                name: "conversation 2".into(),
                replies: 1,
                differences: vec!["reply 1 differs <\x01>".into()],
                ..Case::default()
            },
            Case {
                name: "conversation 3".into(),
                error: Some("cannot connect to 127.0.0.1:9: connection refused".into()),
                ..Case::default()
            },
        ];
        let xml = junit("replay of t.jsonl against 127.0.0.1:9", &cases);
        assert!(
            xml.contains("tests=\"3\" failures=\"1\" errors=\"1\""),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<testcase classname=\"bridge.replay\" name=\"conversation 1\" time=\"0.000\"/>"
            ),
            "{xml}"
        );
        assert!(xml.contains("reply 1 differs &lt;\u{fffd}&gt;"), "{xml}");
        assert!(
            xml.contains("<error message=\"cannot connect to 127.0.0.1:9: connection refused\">"),
            "{xml}"
        );
    }
}
