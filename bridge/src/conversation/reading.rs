//! A side's reading: the peer's bytes, cut into messages as the connection's framing
//! says, each checked against its checksum, recorded, and answered by the auto-reply rules.
//!
//! In raw framing (the default) a read is a message, and the reader reads straight into the
//! buffer that becomes the record frame (header room first), so the bytes of a large read are
//! never copied on their way to the history and the pages. With any other framing, the framer
//! decides where messages end, and each message is copied into a frame of its own.
//!
//! A proxy's side also writes what it reads on to the other side's socket. While its
//! [`Passage`] is plain, each read goes on whole, as it came, whatever the framing (which then
//! cuts only what is recorded). Otherwise each whole message goes through the passage, which
//! says what becomes of it; the bytes of the framer's pending message that were written on
//! while the passage was plain are counted (`ahead`), so that nothing goes twice, and nothing
//! is skipped when it turns plain again.

use std::future::Future;
use std::io;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use futures::channel::mpsc;
use protocol::checksum::Checksum;
use protocol::framing::Framing;
use protocol::RECORD_HEADER_LEN;
use protocol::{time, ConnId, ConnSettings, Marks, Origin, Problem, ProblemKind, Release};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::{watch, Mutex};

use super::passage::{self, Passage, Verdict};
use super::stream::describe;
use super::{is_exit, RecordAs, Relay};
use crate::clock;
use crate::framer::{End, Framer, Piece};
use crate::hub::{Outgoing, Released};
use crate::matching::{self, Answering};
use crate::rules::{Answer, Responder};
use crate::when_woken::WhenWoken;

/// Reads start this small, so that a connection whose reads are short holds little memory
/// (a silent one holds no buffer at all: see [`read_when_ready`])...
const MIN_READ: usize = 4 * 1024;
/// ...and grow, while reads fill them, up to this.
const MAX_READ: usize = 64 * 1024;
// A UDP proxy's side reads a datagram whole.
const _: () = assert!(MAX_READ >= crate::hub::MAX_DATAGRAM);

/// The reading side's state, which outlives the read loop: what it holds of a message not yet
/// ended is still recorded when the connection closes ([`Reading::finish`]).
pub struct Reading<'a> {
    relay: &'a Relay,
    id: ConnId,
    settings: watch::Receiver<ConnSettings>,
    /// `None` in raw framing: each read is a message.
    framer: Option<Framer>,
    checksum: Option<Checksum>,
    answering: Answering,
    /// Rules' replies, for the writer.
    replies: mpsc::UnboundedSender<Outgoing>,
    /// How what is read is recorded: received, in a conversation of one socket.
    record_as: RecordAs,
    /// Whether the auto-reply rules answer what is read. A proxy's sides relay instead: its
    /// client and server answer each other.
    rules: bool,
    /// A proxy's side: what becomes of each message it writes on.
    passage: Option<Box<Passage>>,
    /// Bytes at the front of the framer's pending message already written on, as they came,
    /// while the passage was plain.
    ahead: usize,
}

/// The other side's socket, as a proxy's side writes to it: what it reads, and (through the
/// lock, one write at a time) what pages send to that side.
pub struct Onward<W> {
    pub socket: W,
    /// Its sending side was closed, as the peer of this side closed its own: nothing more may
    /// be written to it.
    pub closed: bool,
}

/// Why a side's reading ended.
pub enum Ended {
    /// The peer closed its sending side (end of file).
    Closed,
    /// Reading the socket failed (a reset, say).
    Failed(io::Error),
    /// A message ended the conversation (the exit word): why.
    Over(String),
    /// Writing what was read to the other side's socket failed (a proxy's side).
    Onward(io::Error),
}

impl Ended {
    /// In words, for a conversation of one socket.
    pub fn describe(self) -> String {
        match self {
            Ended::Closed => "the peer closed the connection".into(),
            Ended::Failed(e) => describe("reading", &e),
            Ended::Over(why) => why,
            Ended::Onward(e) => describe("writing", &e),
        }
    }
}

impl<'a> Reading<'a> {
    pub fn new(
        relay: &'a Relay,
        id: ConnId,
        origin: Origin,
        settings: watch::Receiver<ConnSettings>,
        replies: mpsc::UnboundedSender<Outgoing>,
    ) -> Reading<'a> {
        let checksum = settings.borrow().checksum;
        Reading {
            relay,
            id,
            settings,
            framer: None,
            checksum,
            answering: Answering::new(Responder::new(id, origin, Instant::now()), Instant::now()),
            replies,
            record_as: RecordAs::RECEIVED,
            rules: true,
            passage: None,
            ahead: 0,
        }
    }

    /// The same, deciding through `passage` what becomes of each message it writes on.
    pub fn passing(self, passage: Passage) -> Reading<'a> {
        Reading {
            passage: Some(Box::new(passage)),
            ..self
        }
    }

    /// The same, recording what it reads as `record_as` says, and answering it by rules or not.
    pub fn recording(self, record_as: RecordAs, rules: bool) -> Reading<'a> {
        Reading {
            record_as,
            rules,
            ..self
        }
    }

    /// Reads until the peer closes, the socket fails, or a message ends the conversation.
    pub(super) async fn run(&mut self, stream: impl Readable) -> String {
        self.read(stream, None::<&Mutex<Onward<tokio::io::Sink>>>, false)
            .await
            .describe()
    }

    /// Reads as [`Reading::run`] does, and writes each read to `onward` once it is recorded,
    /// as it came, whatever the framing (which cuts only what is recorded): a proxy's side,
    /// whose bytes go on to the other side's socket, which pages' sends to that side share
    /// (hence the lock, held for one write at a time). Waiting for that socket to take a read
    /// is what stops this side being read while the other side's peer does not read. When this
    /// side's peer closes its sending side, so does `onward`'s (a half-close, passed on).
    /// A stream of `datagrams` (a UDP proxy's side) gives one a read: each read has room for
    /// the largest, so that none is cut.
    pub(super) async fn read<W: AsyncWrite + Unpin>(
        &mut self,
        mut stream: impl Readable,
        onward: Option<&Mutex<Onward<W>>>,
        datagrams: bool,
    ) -> Ended {
        let settings = self.settings.borrow_and_update().clone();
        if let Err(ended) = Box::pin(self.apply(settings, onward)).await {
            return ended;
        }
        // One wait for a change of settings for as long as nothing changes, not one a read.
        let mut settings_changed = std::pin::pin!(next_change(&self.settings));
        if self.rules {
            let greeting = self
                .answering
                .on_connect(&self.relay.hub.rules(), &rule_time);
            self.answer(greeting);
        }
        // Empty while the peer is silent: the buffer is taken when there is something to read.
        let mut buf = BytesMut::new();
        let least = if datagrams { MAX_READ } else { MIN_READ };
        let mut want = least;
        loop {
            // Reading waits, rather than anything received being lost, while pages that are
            // still reading catch up, and (when recording) until the transcript has room.
            self.relay.hub.wait_for_pages().await;
            if let Err(ended) = self.release_waiting(onward).await {
                return ended;
            }
            // A way that holds as much as it may is not read until pages release some: its
            // sender's bytes wait in TCP, which tells it to wait.
            let full = self.passage.as_deref().is_some_and(Passage::is_full);
            let idle_end = self.framer.as_ref().and_then(Framer::next_deadline);
            let read = tokio::select! {
                read = read_when_ready(&mut stream, &mut buf, want), if !full => read,
                released = passage::released(self.passage.as_deref_mut()), if onward.is_some() => {
                    buf.clear();
                    if let Some(onward) = onward {
                        if let Err(ended) = Box::pin(self.on_released(released, onward)).await {
                            return ended;
                        }
                    }
                    continue;
                }
                () = settings_changed.as_mut() => {
                    buf.clear();
                    let settings = self.settings.borrow_and_update().clone();
                    settings_changed.set(next_change(&self.settings));
                    if let Err(ended) = Box::pin(self.apply(settings, onward)).await {
                        return ended;
                    }
                    continue;
                }
                () = sleep_until(idle_end), if idle_end.is_some() => {
                    buf.clear();
                    let pending = self.framer.as_mut().and_then(|f| f.poll_idle(Instant::now()));
                    if let Err(ended) = Box::pin(self.pieces(pending, onward)).await {
                        return ended;
                    }
                    continue;
                }
            };
            let n = match read {
                Ok(0) => {
                    if let Some(onward) = onward {
                        // What the framer holds of a message goes on before the end does, and
                        // so does what is held, once pages release it.
                        let rest = self.framer.as_mut().and_then(Framer::finish);
                        if let Err(ended) = Box::pin(self.pieces(rest, Some(onward))).await {
                            return ended;
                        }
                        while self.passage.as_deref().is_some_and(Passage::is_holding) {
                            let released = passage::released(self.passage.as_deref_mut()).await;
                            if let Err(ended) = Box::pin(self.on_released(released, onward)).await {
                                return ended;
                            }
                        }
                        let mut onward = onward.lock().await;
                        onward.closed = true;
                        if let Err(e) = onward.socket.shutdown().await {
                            return Ended::Onward(e);
                        }
                    }
                    return Ended::Closed;
                }
                Ok(n) => n,
                Err(e) => return Ended::Failed(e),
            };
            want = next_want(want, n).max(least);
            // What pages released just now goes before this read.
            if let Err(ended) = self.release_waiting(onward).await {
                return ended;
            }
            let whole_read = onward.filter(|_| self.is_plain());
            let Some(onward) = whole_read else {
                // Not a proxy's, or each message passes on as its passage says.
                if let Err(ended) = self.received(&mut buf, n, want, onward).await {
                    return ended;
                }
                continue;
            };
            // Recorded first, so that an answer to it cannot be recorded before it.
            // A copy of its own, not kept past the write: an idle side holds no more than a
            // connection of one socket does.
            let chunk = buf[RECORD_HEADER_LEN..RECORD_HEADER_LEN + n].to_vec();
            if self.framer.is_some() {
                self.ahead += n;
            }
            if let Err(ended) = self
                .received(&mut buf, n, want, None::<&Mutex<Onward<W>>>)
                .await
            {
                return ended;
            }
            if let Err(e) = onward.lock().await.socket.write_all(&chunk).await {
                return Ended::Onward(e);
            }
        }
    }

    /// Acts on what pages released from this way's queue and the reading has not yet, in
    /// order.
    async fn release_waiting<W: AsyncWrite + Unpin>(
        &mut self,
        onward: Option<&Mutex<Onward<W>>>,
    ) -> Result<(), Ended> {
        let Some(onward) = onward else {
            return Ok(());
        };
        while let Some(released) = self.passage.as_deref_mut().and_then(Passage::try_released) {
            Box::pin(self.on_released(released, onward)).await?;
        }
        Ok(())
    }

    /// A held message left its queue: recorded as it went (edited, or dropped), and written on
    /// unless dropped. Awaited boxed, as [`Reading::hold`] is: what only holding needs is not
    /// carried in the state of every side's reading.
    async fn on_released<W: AsyncWrite + Unpin>(
        &mut self,
        released: Released,
        onward: &Mutex<Onward<W>>,
    ) -> Result<(), Ended> {
        let Released {
            how,
            bytes,
            original,
            marks,
            whole,
            rule,
            ..
        } = released;
        match (how, rule) {
            // What a rule rewrote went as the rule made it: recorded with the rule's id.
            (Release::Forwarded, Some(rule)) => self.record_passed(&bytes, &rule).await,
            (how, _) => {
                let marks = match how {
                    Release::Forwarded => marks,
                    Release::Edited => marks.with(Marks::EDITED),
                    Release::Dropped => marks.with(Marks::DROPPED),
                };
                let mut record = BytesMut::with_capacity(RECORD_HEADER_LEN + bytes.len());
                record.put_bytes(0, RECORD_HEADER_LEN);
                record.extend_from_slice(&bytes);
                if let Some(reason) = self.message(record, marks, whole, original).await {
                    return Err(Ended::Over(reason));
                }
            }
        }
        if how == Release::Dropped || bytes.is_empty() {
            return Ok(());
        }
        write_on(onward, &bytes).await
    }

    /// Holds what would go on (`bytes`, as a rule made it if `rule`), or, if the hold was
    /// switched off meanwhile, gives it back to go on at once, after what the switch released.
    /// `recorded`: the message as it came is recorded already (a rule rewrote it).
    async fn hold<W: AsyncWrite + Unpin>(
        &mut self,
        bytes: Bytes,
        (marks, whole): (Marks, bool),
        rule: Option<String>,
        onward: Option<&Mutex<Onward<W>>>,
    ) -> Result<Option<Bytes>, Ended> {
        let Some(passage) = self.passage.as_deref_mut() else {
            return Ok(Some(bytes));
        };
        let Some(way) = passage.hold_way() else {
            return Ok(Some(bytes));
        };
        let len = bytes.len();
        match self
            .relay
            .hub
            .hold_message(self.id, way, bytes, (marks, whole), rule.clone())
        {
            Ok(()) => {
                passage.held(len);
                Ok(None)
            }
            Err(bytes) => {
                self.release_waiting(onward).await?;
                match rule {
                    Some(rule) => self.record_passed(&bytes, &rule).await,
                    None => {
                        let mut record = BytesMut::with_capacity(RECORD_HEADER_LEN + len);
                        record.put_bytes(0, RECORD_HEADER_LEN);
                        record.extend_from_slice(&bytes);
                        if let Some(reason) = self.message(record, marks, whole, None).await {
                            return Err(Ended::Over(reason));
                        }
                    }
                }
                Ok(Some(bytes))
            }
        }
    }

    /// Whether a read goes on whole, as it came: its passage is plain, and whatever the framer
    /// holds of a message already went on.
    fn is_plain(&self) -> bool {
        self.passage.as_deref().is_none_or(Passage::is_plain)
            && self.framer.as_ref().map_or(0, Framer::pending) == self.ahead
    }

    /// Records a read of `n` bytes (in `buf`, after its header room): as one message in raw
    /// framing, else as the pieces the framer cuts; and passes each on to `onward` if given.
    /// `buf` is left empty for the next read.
    ///
    /// The pieces' work (a proxy's passage, holding, rules in passing) is awaited boxed, as
    /// are the rarer steps of [`Reading::read`]: an idle connection's task holds the state of
    /// the step it waits in, and a raw connection's reading waits in none of them.
    async fn received<W: AsyncWrite + Unpin>(
        &mut self,
        buf: &mut BytesMut,
        n: usize,
        want: usize,
        onward: Option<&Mutex<Onward<W>>>,
    ) -> Result<(), Ended> {
        match &mut self.framer {
            None if onward.is_some() => {
                let read = Piece {
                    bytes: Bytes::copy_from_slice(&buf[RECORD_HEADER_LEN..]),
                    end: End::Whole,
                    continues: false,
                };
                buf.clear();
                Box::pin(self.pieces([read], onward)).await
            }
            None => {
                // A read that filled most of the buffer becomes the record as it is (`split`
                // hands over the filled part, with no copy). A short one is copied into a
                // frame of its own size: held in the history, it would otherwise pin the
                // whole buffer, 4 KiB or more, for every few bytes a chatty peer sends.
                let frame = if n >= want / 2 {
                    buf.split()
                } else {
                    let frame = BytesMut::from(&buf[..]);
                    buf.clear();
                    frame
                };
                match self.message(frame, Marks::NONE, true, None).await {
                    Some(reason) => Err(Ended::Over(reason)),
                    None => Ok(()),
                }
            }
            Some(framer) => {
                let pieces = framer.push(&buf[RECORD_HEADER_LEN..], Instant::now());
                buf.clear();
                Box::pin(self.pieces(pieces, onward)).await
            }
        }
    }

    /// The connection is over: what the framer holds of an unfinished message is recorded.
    pub(super) async fn finish(&mut self) {
        let rest = self.framer.as_mut().and_then(Framer::finish);
        let _ = self
            .pieces(rest, None::<&Mutex<Onward<tokio::io::Sink>>>)
            .await;
    }

    /// Reads the connection as `settings` say, from the next byte on. What the framer held of
    /// a message is recorded as it is (unfinished): the new framing starts afresh.
    async fn apply<W: AsyncWrite + Unpin>(
        &mut self,
        settings: ConnSettings,
        onward: Option<&Mutex<Onward<W>>>,
    ) -> Result<(), Ended> {
        self.checksum = settings.checksum;
        let rest = match (&mut self.framer, settings.framing) {
            (None, Framing::Raw) => None,
            (Some(framer), Framing::Raw) => {
                let rest = framer.finish();
                self.framer = None;
                rest
            }
            (Some(framer), framing) => framer.set_framing(framing).unwrap_or_default(),
            (None, framing) => {
                // The hub checked it; a framing that does not check leaves the connection raw.
                self.framer = Framer::new(framing).ok();
                None
            }
        };
        self.pieces(rest, onward).await
    }

    /// Records each piece the framer cut, as a frame of its own; and, if `onward` is given,
    /// passes it on there: a whole message as its passage says, anything else (a piece of a
    /// message, what already went on of one) as it came.
    async fn pieces<W: AsyncWrite + Unpin>(
        &mut self,
        pieces: impl IntoIterator<Item = Piece>,
        onward: Option<&Mutex<Onward<W>>>,
    ) -> Result<(), Ended> {
        for piece in pieces {
            let marks = match piece.end {
                End::Whole => Marks::NONE,
                End::Cut => Marks::CUT,
                End::Unfinished => Marks::UNFINISHED,
            };
            let whole = piece.is_whole();
            let already = self.ahead.min(piece.bytes.len());
            self.ahead -= already;
            let decides = whole && already == 0 && onward.is_some() && self.passage.is_some();
            // While the way holds, what would go is recorded when it goes (a page lets it go),
            // not as it came; a piece of a message is held as it is, after what waits.
            let holds = already == 0
                && onward.is_some()
                && self.passage.as_deref().is_some_and(Passage::holds);
            if holds && !decides {
                let held = Box::pin(self.hold(piece.bytes, (marks, whole), None, onward)).await?;
                if let (Some(bytes), Some(onward)) = (held, onward) {
                    write_on(onward, &bytes).await?;
                }
                continue;
            }
            let record_now =
                |verdict: Option<&Verdict>| !holds || !matches!(verdict, Some(Verdict::Forward(_)));
            let verdict = match self.passage.as_deref_mut().filter(|_| decides) {
                Some(passage) => {
                    let (verdict, back) = passage.verdict(piece.bytes.clone()).await;
                    Some((verdict, back))
                }
                None => None,
            };
            // Recorded as it came first: what the passage makes of it follows it, and an answer
            // to it cannot be recorded before it.
            if record_now(verdict.as_ref().map(|(v, _)| v)) {
                let mut record = BytesMut::with_capacity(RECORD_HEADER_LEN + piece.bytes.len());
                record.put_bytes(0, RECORD_HEADER_LEN);
                record.extend_from_slice(&piece.bytes);
                if let Some(reason) = self.message(record, marks, whole, None).await {
                    return Err(Ended::Over(reason));
                }
            }
            let rest = match verdict {
                Some((verdict, back)) => {
                    self.answer(back);
                    match verdict {
                        Verdict::Forward(bytes) if holds => {
                            match Box::pin(self.hold(bytes, (marks, whole), None, onward)).await? {
                                Some(bytes) => bytes,
                                None => continue,
                            }
                        }
                        Verdict::Rewrite { bytes, rule } if holds => {
                            let hold = self.hold(bytes, (marks, whole), Some(rule), onward);
                            match Box::pin(hold).await? {
                                Some(bytes) => bytes,
                                None => continue,
                            }
                        }
                        Verdict::Forward(bytes) => bytes,
                        Verdict::Rewrite { bytes, rule } => {
                            self.record_passed(&bytes, &rule).await;
                            bytes
                        }
                        Verdict::Drop => Bytes::new(),
                    }
                }
                None => piece.bytes.slice(already..),
            };
            if let Some(onward) = onward.filter(|_| !rest.is_empty()) {
                write_on(onward, &rest).await?;
            }
        }
        Ok(())
    }

    /// Records one received message (a frame with header room), and answers it. `whole` is
    /// false for a piece of a message (cut, or unfinished): neither its checksum, nor the exit
    /// word, nor the rules look at it. The message is recorded before regex rules look at it,
    /// so that pages see it however long they take. Returns why the conversation ends, if it
    /// does.
    pub async fn message(
        &mut self,
        frame: BytesMut,
        mut marks: Marks,
        whole: bool,
        original: Option<Bytes>,
    ) -> Option<String> {
        let hub = &self.relay.hub;
        let payload = &frame[RECORD_HEADER_LEN..];
        let mut answer = Ok(Answer::Nothing);
        let mut said_exit = false;
        let rules = hub.rules();
        if whole {
            // A message too short to hold its checksum cannot be right either.
            if self
                .checksum
                .is_some_and(|c| c.verify(payload) != Some(true))
            {
                marks = marks.with(Marks::BAD_CHECKSUM);
            }
            said_exit = is_exit(payload, self.relay.exit_word.as_deref());
            if self.rules {
                answer = self.answering.at_once(&rules, payload, &rule_time);
            }
        }
        let kept = original.as_ref().map_or(0, Bytes::len);
        let room = hub.transcript_room(frame.len() + kept).await;
        let RecordAs { flow, marks: side } = self.record_as;
        hub.record(self.id, flow, frame, marks.with(side), None, original);
        drop(room);
        let answer = match answer {
            Ok(answer) => answer,
            Err(pending) => self.answering.apart(rules, pending, rule_time).await,
        };
        self.answer(answer);
        said_exit.then(|| "the peer said exit".into())
    }

    /// Records what a rule made of a message passing, as it went on: the same way as the
    /// message, with the rule's id.
    async fn record_passed(&self, bytes: &[u8], rule: &str) {
        let hub = &self.relay.hub;
        let mut record = BytesMut::with_capacity(RECORD_HEADER_LEN + bytes.len() + rule.len());
        record.put_bytes(0, RECORD_HEADER_LEN);
        record.extend_from_slice(bytes);
        let room = hub.transcript_room(record.len()).await;
        let RecordAs { flow, marks } = self.record_as;
        hub.record(self.id, flow, record, marks, Some(rule), None);
        drop(room);
    }

    /// Hands a rule's reply to the writer, or tells the pages that the rate limit holds replies
    /// back.
    fn answer(&self, answer: Answer) {
        match answer {
            Answer::Reply(reply) if !reply.bytes.is_empty() => {
                let _ = self.replies.unbounded_send(Outgoing::reply(reply));
            }
            Answer::Limited {
                rule, first: true, ..
            } => {
                let why = format!(
                    "rule `{rule}` would answer connection {} more than {} times a second: its \
                     replies are dropped, not sent later, until the peer has been quiet for a \
                     second",
                    self.id,
                    crate::rules::REPLIES_PER_SECOND
                );
                let problem = Problem {
                    rule: Some(rule),
                    ..Problem::new(ProblemKind::RateLimited, why)
                };
                self.relay.hub.error(problem.on(self.id));
            }
            Answer::Skipped {
                rule,
                by_connection,
            } => {
                let why = if by_connection {
                    format!(
                        "connection {} has used the {} s of rule matching its messages may take \
                         at once: rule `{rule}` and the rules after it are skipped on its \
                         messages until it has been quieter (it regains {} ms a second)",
                        self.id,
                        matching::CONNECTION_BUDGET.as_secs(),
                        (matching::REFILL * 1000.0) as u32,
                    )
                } else {
                    format!(
                        "matching a message from connection {} took more than the {} ms a \
                         message may take: rule `{rule}` and the rules after it were skipped \
                         for it (a regex slow on long messages?); said once until a message is \
                         matched in full",
                        self.id,
                        matching::MESSAGE_BUDGET.as_millis(),
                    )
                };
                let problem = Problem {
                    rule: Some(rule),
                    ..Problem::new(ProblemKind::RateLimited, why)
                };
                self.relay.hub.error(problem.on(self.id));
            }
            _ => {}
        }
    }
}

/// Writes bytes on to the other side's socket, between pages' sends to it.
async fn write_on<W: AsyncWrite + Unpin>(
    onward: &Mutex<Onward<W>>,
    bytes: &[u8],
) -> Result<(), Ended> {
    onward
        .lock()
        .await
        .socket
        .write_all(bytes)
        .await
        .map_err(Ended::Onward)
}

/// A socket a reading can wait on before it has a buffer to read into. By default a stream
/// cannot tell (a TLS session may hold decrypted bytes that no socket readiness shows; a UDP
/// side reads a datagram whole, into room for the largest): its reading takes its buffer before
/// it waits, and holds it.
pub trait Readable: AsyncRead + Unpin {
    /// Whether [`Readable::poll_readable`] can tell.
    const TELLS: bool = false;
    /// Ready once a read may not wait (bytes, the end, or an error).
    fn poll_readable(&self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Readable for OwnedReadHalf {
    const TELLS: bool = true;
    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.as_ref().poll_read_ready(cx)
    }
}

impl Readable for tokio::net::tcp::ReadHalf<'_> {
    const TELLS: bool = true;
    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.as_ref().poll_read_ready(cx)
    }
}

/// A TLS stream's half.
impl<T: AsyncRead + Unpin> Readable for tokio::io::ReadHalf<T> {}

/// Reads up to `want` bytes into `buf`, after [`RECORD_HEADER_LEN`] bytes of header room.
/// A connection whose peer is silent holds no buffer while it waits (it would be most of an
/// idle connection's memory): a read that finds nothing lets its buffer go and waits for the
/// socket to be readable, and the next buffer is taken then. (Readiness may be a guess: tokio
/// takes a new socket as readable until a read finds it is not.)
async fn read_when_ready<R: Readable>(
    stream: &mut R,
    buf: &mut BytesMut,
    want: usize,
) -> io::Result<usize> {
    loop {
        std::future::poll_fn(|cx| stream.poll_readable(cx)).await?;
        buf.reserve(RECORD_HEADER_LEN + want);
        buf.put_bytes(0, RECORD_HEADER_LEN);
        let mut room = (&mut *buf).limit(want);
        let mut read = std::pin::pin!(stream.read_buf(&mut room));
        if !R::TELLS {
            return read.await;
        }
        let done = std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
        if let Poll::Ready(read) = done {
            return read;
        }
        *buf = BytesMut::new();
    }
}

/// `${time}` in a rule's reply: the bridge's clock, UTC.
pub(super) fn rule_time() -> String {
    time::rfc3339_micros(clock::now())
}

/// How much the next read asks for: more after a read that filled its room, less after one
/// that took a quarter of it or less.
fn next_want(want: usize, n: usize) -> usize {
    if n == want {
        (want * 2).min(MAX_READ)
    } else if n < want / 4 {
        (want / 2).max(MIN_READ)
    } else {
        want
    }
}

/// A standing wait for the next change of `settings` after the one last read from it, on a
/// clone of the receiver (the connection reads them from its own). Once the hub lets go of the
/// connection there is nothing more to wait for: its conversation ends by other means.
fn next_change(settings: &watch::Receiver<ConnSettings>) -> WhenWoken<impl Future<Output = ()>> {
    let mut settings = settings.clone();
    WhenWoken::new(async move {
        if settings.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline.into()).await;
    }
}
