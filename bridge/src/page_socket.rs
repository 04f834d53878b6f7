//! A page's WebSocket (RFC 6455, version 13, no extensions): the handshake, reading what the page
//! sends, and writing what the bridge sends it. Tungstenite's [`FrameHeader`] parses and formats
//! each frame's header; the rest is here, for the sake of the hot path.
//!
//! - Writing: tungstenite (and axum's socket over it) copied each message into a write buffer
//!   before the kernel copied it again, which was an eighth of the relay's time. Here a small
//!   payload is copied beside its header, and a larger one (a record, shared by every page and
//!   the history) is pointed at: a batch goes to the socket in one vectored write.
//! - Reading: tungstenite zeroes its whole read buffer (128 KiB) before every read, even one
//!   that finds nothing: four fifths of the instructions the bridge ran per round trip. Here a
//!   read goes into the buffer's spare room as it is, and a payload is unmasked in place.
//!
//! Reading a ping or a close owes the page an answer (a pong, the close's reply). It goes to
//! [`Replies`], which the writer sends between two frames, so it never lands inside one.

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, Cursor, IoSlice};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{Buf, Bytes, BytesMut};
use futures::task::AtomicWaker;
use hyper::upgrade::{self, OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use protocol::Frame;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_util::task::TaskTracker;
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::frame::coding::{CloseCode, Control, Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

/// The largest WebSocket message (and frame) read at all; a larger one ends the session, since
/// the stream cannot be read past it. Messages over the protocol's own limits but under this
/// one are refused with an error, and the session goes on (see `session`).
const MAX_MESSAGE: usize = 16 << 20;

/// Bytes fed to a page before `feed` writes them out, in one system call. A record fed costs no
/// memory (it is shared), so this can be several records: against 128 KiB (tungstenite's write
/// buffer), 512 KiB took the relay's CPU from 640-700 ms/GiB to 560-630 (BENCHMARKS.md).
const WRITE_AHEAD: usize = 512 << 10;
/// A payload shorter than this is copied beside its header; a longer one is pointed at.
const COPY_BELOW: usize = 1 << 10;
/// Slices given to one vectored write (Linux takes at most 1,024).
const SLICES: usize = 64;
/// Replies not yet sent, past which the page is not read until the writer takes them: a page
/// that pings and never reads costs at most this.
const MOST_REPLIES: usize = 16 << 10;
/// Room for this much more is made in the read buffer before a read. It costs nothing until
/// bytes come: the room is not written to first. Against 64 KiB, a send's CPU went from 814-847
/// ms/GiB to 716-796 (`bench throughput`).
const READ_AHEAD: usize = 128 << 10;

/// A request to open a page's socket, checked.
pub struct Upgrade {
    accept: HeaderValue,
    on_upgrade: OnUpgrade,
}

/// Checks that a request asks for a WebSocket as RFC 6455 says (GET, version 13, a key), and takes
/// hold of its connection; otherwise the answer that says what is wrong.
impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Upgrade, Response> {
        if parts.method != Method::GET {
            let why = "a WebSocket opens with GET";
            let allow = [(header::ALLOW, "GET")];
            return Err((StatusCode::METHOD_NOT_ALLOWED, allow, why).into_response());
        }
        let headers = &parts.headers;
        let refuse = |why: &str| (StatusCode::BAD_REQUEST, why.to_owned()).into_response();
        if !has_token(headers, header::CONNECTION, "upgrade")
            || !has_token(headers, header::UPGRADE, "websocket")
        {
            return Err(refuse(
                "this is the bridge's WebSocket: a request for it says `Connection: upgrade` \
                 and `Upgrade: websocket`",
            ));
        }
        if headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .map(|v| v.as_bytes())
            != Some(b"13")
        {
            let version = [(header::SEC_WEBSOCKET_VERSION, "13")];
            let why = "the bridge speaks WebSocket version 13 only";
            return Err((StatusCode::UPGRADE_REQUIRED, version, why).into_response());
        }
        let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
            return Err(refuse(
                "a WebSocket request needs a `Sec-WebSocket-Key` header",
            ));
        };
        let accept = HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
            .expect("base64 is a header value");
        let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
            // The server was not started with upgrades: a bug, not the page's.
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        };
        Ok(Upgrade { accept, on_upgrade })
    }
}

impl Upgrade {
    /// Answers `101 Switching Protocols`, and runs `session` on `tasks` with the socket once the
    /// page has it; a connection that fails before then is only logged.
    pub fn answer<F>(
        self,
        tasks: &TaskTracker,
        session: impl FnOnce(PageReader, PageWriter) -> F + Send + 'static,
    ) -> Response
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let Upgrade { accept, on_upgrade } = self;
        tasks.spawn(async move {
            match on_upgrade.await.map(open) {
                Ok(Ok((reader, writer))) => session(reader, writer).await,
                // The server serves plain TCP (`http_server`): a bug, not the page's.
                Ok(Err(_)) => tracing::error!("a page's socket was not a TCP stream"),
                Err(e) => tracing::debug!("WebSocket upgrade failed: {e}"),
            }
        });
        let mut answer = StatusCode::SWITCHING_PROTOCOLS.into_response();
        let headers = answer.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        answer
    }
}

/// Whether header `name` lists `token` (a comma-separated list, any case).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// Splits an upgraded connection into its reading and its writing: the TCP stream itself, in
/// halves that need no lock between them, and the bytes the HTTP server read past the request.
fn open(upgraded: Upgraded) -> Result<(PageReader, PageWriter), Upgraded> {
    let upgrade::Parts { io, read_buf, .. } = upgraded.downcast::<TokioIo<TcpStream>>()?;
    let (read, write) = io.into_inner().into_split();
    let replies = Arc::new(Replies::default());
    let mut reader = PageReader::new(read, replies.clone());
    reader.buf.extend_from_slice(&read_buf);
    Ok((reader, PageWriter::new(write, replies)))
}

/// The answers reading owes the page (a pong, the reply to a close), waiting for the writer.
/// Only whole frames: [`Replies::put`] takes all of one or nothing.
#[derive(Default)]
struct Replies {
    bytes: Mutex<Vec<u8>>,
    /// Whether `bytes` holds any: asked at every wake of the session, without the lock.
    held: AtomicBool,
    /// Woken when bytes come. One task waits (the session's writing half), and waiting costs a
    /// few atomic operations, not a place in a waiters' list made and unmade at every turn of
    /// its loop.
    came: AtomicWaker,
    /// Woken when the writer took them, for a reader held up by [`MOST_REPLIES`].
    taken: AtomicWaker,
}

impl Replies {
    /// Takes all of `frame`, or, past [`MOST_REPLIES`], none of it until the writer took what it
    /// holds.
    fn put(&self, cx: &mut Context<'_>, frame: &[u8]) -> Poll<()> {
        let mut bytes = self.bytes.lock().expect("replies lock");
        if !bytes.is_empty() && bytes.len() + frame.len() > MOST_REPLIES {
            // Under the lock, which the writer takes them under: no take is missed.
            self.taken.register(cx.waker());
            return Poll::Pending;
        }
        bytes.extend_from_slice(frame);
        self.held.store(true, Ordering::Release);
        drop(bytes);
        self.came.wake();
        Poll::Ready(())
    }

    /// Ready while bytes are held that [`take_into`](Self::take_into) has not taken.
    fn poll_held(&self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.held.load(Ordering::Acquire) {
            self.came.register(cx.waker());
            // Put between the first look and the registration: its wake found no waker.
            if !self.held.load(Ordering::Acquire) {
                return Poll::Pending;
            }
        }
        Poll::Ready(())
    }

    /// Appends all that is held to `out`, and returns how many bytes that was.
    fn take_into(&self, out: &mut BytesMut) -> usize {
        let mut bytes = self.bytes.lock().expect("replies lock");
        let taken = bytes.len();
        if taken == 0 {
            return 0;
        }
        out.extend_from_slice(&bytes);
        bytes.clear();
        self.held.store(false, Ordering::Release);
        drop(bytes);
        self.taken.wake();
        taken
    }
}

/// A message from the page, whole: its fragments joined and unmasked, a text one checked to be
/// UTF-8.
#[derive(Debug, PartialEq)]
pub enum FromPage {
    Text(String),
    Binary(Bytes),
}

/// Why the page's socket cannot be read any further.
#[derive(Debug, PartialEq)]
pub struct Broken {
    /// The close code that says so to the page.
    pub code: CloseCode,
    /// For the close frame: at most 123 bytes.
    pub reason: &'static str,
    /// The whole story, for the page's log.
    pub why: String,
}

impl Broken {
    fn protocol(why: impl Into<String>) -> Broken {
        Broken {
            code: CloseCode::Protocol,
            reason: "protocol error",
            why: why.into(),
        }
    }
}

/// What one frame read was.
enum Parsed {
    Message(FromPage),
    /// A fragment, a ping, a pong or a close: nothing for the session yet.
    Nothing,
    /// Not all there: the frame is this long, with its header, as far as is known.
    Short(usize),
}

/// The reading half of a page's socket.
pub struct PageReader<R = OwnedReadHalf> {
    read: R,
    replies: Arc<Replies>,
    /// Read, and not yet parsed.
    buf: BytesMut,
    /// The message whose first fragments came, and their payloads so far.
    partial: Option<(Data, Vec<u8>)>,
    /// An answer that waits for room in `replies`.
    owed: Option<Vec<u8>>,
    /// The page closed, broke the protocol or left: nothing more is read.
    done: bool,
}

impl<R: AsyncRead + Unpin> PageReader<R> {
    fn new(read: R, replies: Arc<Replies>) -> PageReader<R> {
        PageReader {
            read,
            replies,
            buf: BytesMut::new(),
            partial: None,
            owed: None,
            done: false,
        }
    }

    /// The page's next message; `None` once it closed (the reply is then with the writer) or
    /// its connection ended. Cancel-safe: what was read stays here for the next call.
    pub async fn next(&mut self) -> Option<Result<FromPage, Broken>> {
        loop {
            if let Some(reply) = &self.owed {
                std::future::poll_fn(|cx| self.replies.put(cx, reply)).await;
                self.owed = None;
            }
            if self.done {
                return None;
            }
            let wanted = match self.parse() {
                Ok(Parsed::Message(message)) => return Some(Ok(message)),
                Ok(Parsed::Nothing) => continue,
                Ok(Parsed::Short(wanted)) => wanted,
                Err(broken) => {
                    self.done = true;
                    return Some(Err(broken));
                }
            };
            self.buf.reserve((wanted - self.buf.len()).max(READ_AHEAD));
            match self.read.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => {}
            }
        }
    }

    /// Reads and drops what the page sends until it closes its end (or the caller stops
    /// waiting), without looking at it: for after the page broke the protocol.
    pub async fn drain(&mut self) {
        loop {
            self.buf.clear();
            self.buf.reserve(READ_AHEAD);
            match self.read.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }

    /// Takes the first frame from the buffer if it is all there, and checks it as RFC 6455
    /// says a server must: all but the text's UTF-8 from the header, before the payload comes.
    fn parse(&mut self) -> Result<Parsed, Broken> {
        let mut cursor = Cursor::new(&self.buf[..]);
        let parsed = FrameHeader::parse(&mut cursor)
            .map_err(|e| Broken::protocol(format!("the page sent a frame that is not one: {e}")))?;
        let Some((header, length)) = parsed else {
            return Ok(Parsed::Short(self.buf.len() + 1));
        };
        let head = cursor.position() as usize;
        if header.rsv1 || header.rsv2 || header.rsv3 {
            return Err(Broken::protocol(
                "the page set a frame's reserved bits, with no extension agreed",
            ));
        }
        let Some(mask) = header.mask else {
            return Err(Broken::protocol(
                "the page sent an unmasked frame: a client must mask every frame",
            ));
        };
        let so_far = match (header.opcode, &self.partial) {
            (OpCode::Control(_), _) if !header.is_final || length > 125 => {
                return Err(Broken::protocol(
                    "the page sent a control frame fragmented or over 125 bytes",
                ));
            }
            (OpCode::Control(_), _) => 0,
            (OpCode::Data(Data::Continue), Some((_, so_far))) => so_far.len(),
            (OpCode::Data(Data::Continue), None) => {
                return Err(Broken::protocol(
                    "the page sent a continuation frame with no message to continue",
                ));
            }
            (OpCode::Data(_), Some(_)) => {
                return Err(Broken::protocol(
                    "the page began a message before it finished the one before",
                ));
            }
            (OpCode::Data(_), None) => 0,
        };
        if length > (MAX_MESSAGE - so_far) as u64 {
            return Err(Broken {
                code: CloseCode::Size,
                reason: "message too big",
                why: format!(
                    "closing this WebSocket: the page sent a message over {} MiB, which \
                     cannot be read past",
                    MAX_MESSAGE >> 20
                ),
            });
        }
        let length = length as usize;
        if self.buf.len() < head + length {
            return Ok(Parsed::Short(head + length));
        }
        self.buf.advance(head);
        let mut payload = self.buf.split_to(length);
        unmask(&mut payload, mask);
        match header.opcode {
            OpCode::Control(Control::Ping) => {
                self.owed = Some(frame(OpCode::Control(Control::Pong), &payload));
                Ok(Parsed::Nothing)
            }
            OpCode::Control(Control::Close) => {
                self.owed = Some(close_reply(&payload)?);
                self.done = true;
                Ok(Parsed::Nothing)
            }
            OpCode::Control(_) => Ok(Parsed::Nothing),
            OpCode::Data(Data::Continue) => {
                let (kind, mut so_far) = self.partial.take().expect("checked above");
                so_far.extend_from_slice(&payload);
                if header.is_final {
                    message(kind, so_far).map(Parsed::Message)
                } else {
                    self.partial = Some((kind, so_far));
                    Ok(Parsed::Nothing)
                }
            }
            OpCode::Data(kind) if !header.is_final => {
                self.partial = Some((kind, payload.to_vec()));
                Ok(Parsed::Nothing)
            }
            OpCode::Data(Data::Binary) if length >= READ_AHEAD => {
                // A large payload keeps the allocation made for its frame; what was read past
                // it moves to a buffer of its own, so that holding one holds nothing else.
                self.buf = BytesMut::from(&self.buf[..]);
                Ok(Parsed::Message(FromPage::Binary(payload.freeze())))
            }
            // A small one is copied out: shared, it would hold the whole read buffer for as
            // long as the send waits in a peer's queue, which counts only its own bytes.
            OpCode::Data(kind) => message(kind, payload.to_vec()).map(Parsed::Message),
        }
    }
}

/// A whole message of `kind`.
fn message(kind: Data, payload: Vec<u8>) -> Result<FromPage, Broken> {
    match kind {
        Data::Text => String::from_utf8(payload)
            .map(FromPage::Text)
            .map_err(|_| Broken {
                code: CloseCode::Invalid,
                reason: "text that is not UTF-8",
                why: "closing this WebSocket: the page sent a text message that is not UTF-8"
                    .into(),
            }),
        _ => Ok(FromPage::Binary(payload.into())),
    }
}

/// The reply to a close with `payload`: the same code and reason (or none, if it had none), once
/// they are checked.
fn close_reply(payload: &[u8]) -> Result<Vec<u8>, Broken> {
    match payload {
        [] => {}
        [_] => return Err(Broken::protocol("the page closed with a one-byte code")),
        [first, second, reason @ ..] => {
            let code = u16::from_be_bytes([*first, *second]);
            if !CloseCode::from(code).is_allowed() {
                return Err(Broken::protocol(format!(
                    "the page closed with code {code}, which no endpoint may send"
                )));
            }
            if std::str::from_utf8(reason).is_err() {
                return Err(Broken::protocol(
                    "the page closed with a reason that is not UTF-8",
                ));
            }
        }
    }
    Ok(frame(OpCode::Control(Control::Close), payload))
}

/// A server's frame, whole.
fn frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let (head, length) = head(opcode, payload.len());
    [&head[..length], payload].concat()
}

/// The header of a server's frame (final, unmasked) with a payload of `len` bytes, and its
/// length.
fn head(opcode: OpCode, len: usize) -> ([u8; 10], usize) {
    let header = FrameHeader {
        opcode,
        ..FrameHeader::default()
    };
    let mut head = [0; 10];
    let length = header.len(len as u64);
    header
        .format(len as u64, &mut &mut head[..])
        .expect("a server's frame header fits in 10 bytes");
    (head, length)
}

/// Undoes a client's mask (RFC 6455, section 5.3), eight bytes at a time: a whole number of
/// masks, so the remainder starts with the mask's first byte.
fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    let [a, b, c, d] = mask;
    let wide = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let mut words = payload.chunks_exact_mut(8);
    for word in &mut words {
        let unmasked = u64::from_ne_bytes((&*word).try_into().expect("eight bytes")) ^ wide;
        word.copy_from_slice(&unmasked.to_ne_bytes());
    }
    for (i, byte) in words.into_remainder().iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
}

/// The writing half of a page's socket: frames are fed, then written in batches. (Generic only
/// so that its tests can write to an in-memory pipe.)
pub struct PageWriter<W = OwnedWriteHalf> {
    socket: W,
    replies: Arc<Replies>,
    /// What was fed and not yet written, in order; `scratch` holds what comes after it.
    queue: VecDeque<Bytes>,
    /// Headers and small payloads, copied.
    scratch: BytesMut,
    /// Bytes in `queue` and `scratch`.
    queued: usize,
}

impl<W: AsyncWrite + Unpin> PageWriter<W> {
    fn new(socket: W, replies: Arc<Replies>) -> PageWriter<W> {
        PageWriter {
            socket,
            replies,
            queue: VecDeque::new(),
            scratch: BytesMut::new(),
            queued: 0,
        }
    }

    /// Adds `frame` to what goes out next, and writes out the lot once it is [`WRITE_AHEAD`].
    pub async fn feed(&mut self, frame: Frame) -> io::Result<()> {
        self.take_replies();
        match frame {
            Frame::Text(text) => self.push(OpCode::Data(Data::Text), Bytes::from(text)),
            Frame::Binary(bytes) => self.push(OpCode::Data(Data::Binary), bytes),
        }
        if self.queued >= WRITE_AHEAD {
            self.write_out().await?;
        }
        Ok(())
    }

    /// Feeds `frame` and flushes.
    pub async fn send(&mut self, frame: Frame) -> io::Result<()> {
        self.feed(frame).await?;
        self.flush().await
    }

    /// Writes out everything fed, and the replies reading owes.
    pub async fn flush(&mut self) -> io::Result<()> {
        self.take_replies();
        self.write_out().await?;
        self.socket.flush().await
    }

    /// Feeds and flushes a close frame (a code, and a reason of at most 123 bytes), then ends
    /// the sending direction: nothing may follow a close, and a client waits for the server to
    /// end the TCP connection first (RFC 6455, section 7.1.1).
    pub async fn close(&mut self, code: u16, reason: &str) -> io::Result<()> {
        debug_assert!(reason.len() <= 123, "a close frame's reason: {reason}");
        self.take_replies();
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason.as_bytes());
        self.push(OpCode::Control(Control::Close), Bytes::from(payload));
        self.flush().await?;
        self.socket.shutdown().await
    }

    /// Whether frames fed are not yet written out.
    pub fn holds_any(&self) -> bool {
        self.queued > 0
    }

    /// Resolves while reading has put replies that [`flush`](Self::flush) has not sent.
    pub fn replies_came(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(|cx| self.replies.poll_held(cx))
    }

    fn push(&mut self, opcode: OpCode, payload: Bytes) {
        let (head, length) = head(opcode, payload.len());
        self.scratch.extend_from_slice(&head[..length]);
        self.queued += length + payload.len();
        if payload.len() < COPY_BELOW {
            self.scratch.extend_from_slice(&payload);
        } else {
            self.queue.push_back(self.scratch.split().freeze());
            self.queue.push_back(payload);
        }
    }

    /// Moves the replies reading owes to the end of what goes out: fed frames are whole, so
    /// they land between two frames.
    fn take_replies(&mut self) {
        self.queued += self.replies.take_into(&mut self.scratch);
    }

    /// Writes everything queued, a vectored write at a time. Cancelled, it loses nothing: what a
    /// write took is dropped from the queue before the next await.
    async fn write_out(&mut self) -> io::Result<()> {
        if !self.scratch.is_empty() {
            self.queue.push_back(self.scratch.split().freeze());
        }
        while !self.queue.is_empty() {
            let mut slices = [IoSlice::new(&[]); SLICES];
            let count = self.queue.len().min(SLICES);
            for (slice, part) in slices.iter_mut().zip(&self.queue) {
                *slice = IoSlice::new(part);
            }
            let mut written = self.socket.write_vectored(&slices[..count]).await?;
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.queued -= written;
            while written > 0 {
                let first = self.queue.front_mut().expect("written bytes were queued");
                if written < first.len() {
                    first.advance(written);
                    break;
                }
                written -= first.len();
                self.queue.pop_front();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::task::ArcWake;
    use futures::{FutureExt, StreamExt};
    use proptest::prelude::*;
    use tokio_tungstenite::WebSocketStream;
    use tungstenite::protocol::frame::Frame as WsFrame;
    use tungstenite::protocol::Role;
    use tungstenite::Message;

    use super::*;

    /// What a page would be sent: text or binary, of a size that needs each of the three
    /// length forms (7 bits, 16, 64), and pongs from reading among them.
    #[derive(Clone, Debug)]
    enum Out {
        Frame(Frame),
        Pong(Vec<u8>),
        Flush,
        /// A flush polled once and dropped, as a session's `select!` or timeout drops one.
        Cancelled,
    }

    fn out() -> impl Strategy<Value = Out> {
        let size = prop_oneof![0usize..130, 120usize..70_000, 65_530usize..200_000];
        prop_oneof![
            4 => size.prop_map(|n| Out::Frame(Frame::Binary((0..n).map(|i| (i % 251) as u8).collect()))),
            2 => (0usize..3000).prop_map(|n| Out::Frame(Frame::Text("é".repeat(n)))),
            1 => proptest::collection::vec(any::<u8>(), 0..125).prop_map(Out::Pong),
            1 => Just(Out::Flush),
            1 => Just(Out::Cancelled),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever the sizes, and however little the socket takes at a time, a WebSocket client
        /// reads every frame whole and in order, the pongs between them.
        #[test]
        fn a_client_reads_every_frame_fed_in_order(outs in proptest::collection::vec(out(), 1..40)) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                // A pipe far smaller than a batch: every write is a partial one.
                let (ours, theirs) = tokio::io::duplex(4096);
                let replies = Arc::new(Replies::default());
                let mut writer = PageWriter::new(ours, replies.clone());
                let mut client =
                    WebSocketStream::from_raw_socket(theirs, Role::Client, None).await;
                let expected: Vec<Message> = outs
                    .iter()
                    .filter_map(|out| match out {
                        Out::Frame(Frame::Text(text)) => Some(Message::text(text.clone())),
                        Out::Frame(Frame::Binary(bytes)) => Some(Message::Binary(bytes.clone())),
                        Out::Pong(payload) => Some(Message::Pong(payload.clone().into())),
                        Out::Flush | Out::Cancelled => None,
                    })
                    .collect();
                let write = async {
                    for out in outs {
                        match out {
                            Out::Frame(frame) => writer.feed(frame).await.unwrap(),
                            // As reading puts one: a whole frame.
                            Out::Pong(payload) => {
                                let mut pong = Vec::new();
                                WsFrame::pong(payload)
                                    .format(&mut pong)
                                    .unwrap();
                                std::future::poll_fn(|cx| replies.put(cx, &pong)).await;
                            }
                            Out::Flush => writer.flush().await.unwrap(),
                            Out::Cancelled => {
                                let _ = writer.flush().now_or_never();
                            }
                        }
                    }
                    writer.flush().await.unwrap();
                };
                let read = async {
                    let mut read = Vec::new();
                    while read.len() < expected.len() {
                        read.push(client.next().await.expect("a message").expect("a valid frame"));
                    }
                    read
                };
                let ((), read) = tokio::join!(write, read);
                assert_eq!(read, expected);
            });
        }
    }

    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl ArcWake for Wakes {
        fn wake_by_ref(this: &Arc<Self>) {
            this.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A page that pings and never reads: past the bound, reading waits, and is woken once the
    /// writer took the replies.
    #[tokio::test]
    async fn replies_past_the_bound_wait_for_the_writer() {
        let (ours, _theirs) = tokio::io::duplex(1 << 20);
        let replies = Arc::new(Replies::default());
        let mut writer = PageWriter::new(ours, replies.clone());
        let wakes = Arc::new(Wakes::default());
        let waker = futures::task::waker(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let pong = [0x8a, 125].into_iter().chain([0; 125]).collect::<Vec<u8>>();
        let mut taken = 0;
        while replies.put(&mut cx, &pong).is_ready() {
            taken += pong.len();
        }
        assert!(
            taken <= MOST_REPLIES && taken + pong.len() > MOST_REPLIES,
            "{taken}"
        );
        assert_eq!(wakes.0.load(Ordering::SeqCst), 0);
        writer.flush().await.unwrap();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "the reader is woken");
        assert!(replies.put(&mut cx, &pong).is_ready());
    }
}

#[cfg(test)]
mod reading_tests {
    use futures::{SinkExt, StreamExt};
    use proptest::prelude::*;
    use tokio::io::AsyncWriteExt;
    use tokio_tungstenite::WebSocketStream;
    use tungstenite::protocol::frame::Frame as WsFrame;
    use tungstenite::protocol::Role;
    use tungstenite::Message;

    use super::*;

    /// What a page may send: whole messages of every length form, messages in fragments with
    /// pings between them, pings alone.
    #[derive(Clone, Debug)]
    enum In {
        Text(String),
        Binary(Vec<u8>),
        /// A binary message (or text, if `text`) in these fragments, a ping after each.
        Fragmented {
            text: bool,
            parts: Vec<Vec<u8>>,
        },
        Ping(Vec<u8>),
    }

    fn patterned(n: usize, seed: usize) -> Vec<u8> {
        (0..n).map(|i| ((i + seed) % 251) as u8).collect()
    }

    fn input() -> impl Strategy<Value = In> {
        let size = prop_oneof![0usize..130, 120usize..70_000, 65_530usize..200_000];
        let part = prop_oneof![0usize..40, 100usize..5000];
        prop_oneof![
            2 => (0usize..3000).prop_map(|n| In::Text("é".repeat(n))),
            4 => (size, any::<usize>()).prop_map(|(n, seed)| In::Binary(patterned(n, seed))),
            2 => (any::<bool>(), proptest::collection::vec(part, 1..6)).prop_map(|(text, sizes)| {
                let parts = sizes
                    .into_iter()
                    .enumerate()
                    .map(|(i, n)| if text { "ü".repeat(n / 2).into_bytes() } else { patterned(n, i) })
                    .collect();
                In::Fragmented { text, parts }
            }),
            1 => proptest::collection::vec(any::<u8>(), 0..126).prop_map(In::Ping),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever a client sends, and however little the socket carries at a time, every
        /// message is read whole and in order, every ping is answered in order, and a close
        /// ends the reading and is answered.
        #[test]
        fn every_message_a_client_sends_is_read_whole_and_every_ping_answered(
            inputs in proptest::collection::vec(input(), 1..30),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let (ours, theirs) = tokio::io::duplex(4096);
                let (read, write) = tokio::io::split(ours);
                let replies = Arc::new(Replies::default());
                let mut reader = PageReader::new(read, replies.clone());
                let mut writer = PageWriter::new(write, replies);
                let client = WebSocketStream::from_raw_socket(theirs, Role::Client, None).await;
                let (mut sink, mut stream) = client.split();
                let mut expected = Vec::new();
                let mut pings = Vec::new();
                let mut sent = Vec::new();
                for input in inputs {
                    match input {
                        In::Text(text) => {
                            expected.push(FromPage::Text(text.clone()));
                            sent.push(Message::text(text));
                        }
                        In::Binary(bytes) => {
                            expected.push(FromPage::Binary(bytes.clone().into()));
                            sent.push(Message::Binary(bytes.into()));
                        }
                        In::Fragmented { text, parts } => {
                            let whole = parts.concat();
                            let kind = if text { Data::Text } else { Data::Binary };
                            expected.push(if text {
                                FromPage::Text(String::from_utf8(whole).unwrap())
                            } else {
                                FromPage::Binary(whole.into())
                            });
                            let last = parts.len() - 1;
                            for (i, part) in parts.into_iter().enumerate() {
                                let opcode = OpCode::Data(if i == 0 { kind } else { Data::Continue });
                                sent.push(Message::Frame(WsFrame::message(part, opcode, i == last)));
                                let ping = vec![i as u8; i];
                                pings.push(ping.clone());
                                sent.push(Message::Ping(ping.into()));
                            }
                        }
                        In::Ping(payload) => {
                            pings.push(payload.clone());
                            sent.push(Message::Ping(payload.into()));
                        }
                    }
                }
                let send = async {
                    for message in sent {
                        sink.send(message).await.unwrap();
                    }
                    sink.close().await.unwrap();
                };
                // Owns both halves: the connection ends with it, as the server must end it.
                let serve = async move {
                    let mut got = Vec::new();
                    loop {
                        tokio::select! {
                            message = reader.next() => match message {
                                Some(Ok(message)) => got.push(message),
                                Some(Err(broken)) => panic!("{broken:?}"),
                                None => break,
                            },
                            () = writer.replies_came() => writer.flush().await.unwrap(),
                        }
                    }
                    writer.flush().await.unwrap();
                    got
                };
                let answers = async {
                    let mut pongs = Vec::new();
                    let mut closed = false;
                    while let Some(message) = stream.next().await {
                        match message.unwrap() {
                            Message::Pong(payload) => pongs.push(payload.to_vec()),
                            Message::Close(_) => closed = true,
                            other => panic!("{other:?}"),
                        }
                    }
                    (pongs, closed)
                };
                let ((), got, (pongs, closed)) = tokio::join!(send, serve, answers);
                assert_eq!(got, expected);
                assert_eq!(pongs, pings);
                assert!(closed, "the close was answered");
            });
        }
    }

    /// A frame as a client may write it, or break the rules with: `first` is the byte with FIN,
    /// the reserved bits and the opcode; masked with 1, 2, 3, 4 if `masked`.
    fn raw(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
        let mut frame = vec![first];
        let mask_bit = if masked { 0x80 } else { 0 };
        match payload.len() {
            n @ 0..=125 => frame.push(mask_bit | n as u8),
            n @ 126..=65535 => {
                frame.push(mask_bit | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(mask_bit | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if masked {
            let mask = [1, 2, 3, 4];
            frame.extend_from_slice(&mask);
            frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        } else {
            frame.extend_from_slice(payload);
        }
        frame
    }

    const FIN: u8 = 0x80;

    /// What a reader makes of `bytes`, sent through a pipe that carries `pipe` bytes at a time:
    /// its messages until it stops, why it stopped if it broke, and the replies it owes.
    async fn read_all(bytes: Vec<u8>, pipe: usize) -> (Vec<FromPage>, Option<Broken>, Vec<u8>) {
        let (ours, mut theirs) = tokio::io::duplex(pipe);
        let replies = Arc::new(Replies::default());
        let mut reader = PageReader::new(ours, replies.clone());
        // Then the pipe ends; or it is closed early by a reader that broke off.
        let send = async move {
            let _ = theirs.write_all(&bytes).await;
        };
        // The reader is dropped when it stops, which closes the pipe under a sender that waits.
        let read = async move {
            let mut messages = Vec::new();
            loop {
                match reader.next().await {
                    Some(Ok(message)) => messages.push(message),
                    Some(Err(broken)) => return (messages, Some(broken)),
                    None => return (messages, None),
                }
            }
        };
        let ((), (messages, broken)) = tokio::join!(send, read);
        let owed = std::mem::take(&mut *replies.bytes.lock().unwrap());
        (messages, broken, owed)
    }

    async fn broken_by(bytes: Vec<u8>) -> Broken {
        let (_, broken, _) = read_all(bytes, 1 << 16).await;
        broken.expect("the reader breaks off")
    }

    #[tokio::test]
    async fn a_byte_at_a_time_every_length_form_is_read() {
        let sizes = [0, 1, 125, 126, 65535, 65536];
        let mut bytes = Vec::new();
        for n in sizes {
            bytes.extend(raw(FIN | 2, &patterned(n, n), true));
        }
        bytes.extend(raw(FIN | 8, &[0x03, 0xe8, b'o', b'k'], true));
        let (messages, broken, owed) = read_all(bytes, 1).await;
        let expected: Vec<FromPage> = sizes
            .iter()
            .map(|&n| FromPage::Binary(patterned(n, n).into()))
            .collect();
        assert_eq!(messages, expected);
        assert_eq!(broken, None);
        assert_eq!(
            owed,
            [0x88, 4, 0x03, 0xe8, b'o', b'k'],
            "the close is echoed"
        );
    }

    #[tokio::test]
    async fn a_close_without_a_code_is_answered_without_one_and_ends_the_reading() {
        let mut bytes = raw(FIN | 8, &[], true);
        bytes.extend(raw(FIN | 1, b"after the close", true));
        let (messages, broken, owed) = read_all(bytes, 1 << 16).await;
        assert_eq!((messages, broken), (vec![], None));
        assert_eq!(owed, [0x88, 0]);
    }

    #[tokio::test]
    async fn frames_against_the_protocol_end_the_reading_with_a_protocol_error() {
        let ping_126 = [0u8; 126];
        let cases: [(&str, Vec<u8>); 10] = [
            ("unmasked", raw(FIN | 2, b"x", false)),
            ("a reserved bit", raw(FIN | 0x40 | 2, b"x", true)),
            ("a reserved opcode", raw(FIN | 3, b"x", true)),
            ("a fragmented ping", raw(9, b"x", true)),
            ("a ping over 125 bytes", raw(FIN | 9, &ping_126, true)),
            ("a continuation first", raw(FIN, b"x", true)),
            (
                "a new message inside one",
                [raw(1, b"x", true), raw(FIN | 2, b"y", true)].concat(),
            ),
            ("a one-byte close", raw(FIN | 8, &[3], true)),
            ("a close with code 1005", raw(FIN | 8, &[0x03, 0xed], true)),
            (
                "a close reason not UTF-8",
                raw(FIN | 8, &[0x03, 0xe8, 0xff], true),
            ),
        ];
        for (what, bytes) in cases {
            let broken = broken_by(bytes).await;
            assert_eq!(broken.code, CloseCode::Protocol, "{what}: {broken:?}");
            assert!(broken.reason.len() <= 123);
        }
    }

    #[tokio::test]
    async fn text_that_is_not_utf8_is_refused_even_across_fragments() {
        let whole = raw(FIN | 1, &[b'a', 0xff], true);
        assert_eq!(broken_by(whole).await.code, CloseCode::Invalid);
        // "é" split between two fragments is fine; a lone half at the end is not.
        let split = [raw(1, &[0xc3], true), raw(FIN, &[0xa9], true)].concat();
        let (messages, broken, _) = read_all(split, 1 << 16).await;
        assert_eq!((messages, broken), (vec![FromPage::Text("é".into())], None));
        let half = [raw(1, b"a", true), raw(FIN, &[0xc3], true)].concat();
        assert_eq!(broken_by(half).await.code, CloseCode::Invalid);
    }

    /// A message over the limit is refused from its header: its payload is never waited for.
    #[tokio::test]
    async fn a_message_over_the_limit_is_refused_before_its_payload_comes() {
        let mut header = vec![FIN | 2, 0x80 | 127];
        header.extend_from_slice(&((MAX_MESSAGE + 1) as u64).to_be_bytes());
        header.extend_from_slice(&[1, 2, 3, 4]);
        let broken = broken_by(header).await;
        assert_eq!(broken.code, CloseCode::Size);
        assert!(broken.why.contains("16 MiB"), "{}", broken.why);
        // Fragments count together, and the second is refused from its header too: only
        // the header is sent, so a reader that waited for its payload would wait forever.
        let half = vec![0; MAX_MESSAGE / 2 + 1];
        let mut two = raw(2, &half, true);
        two.extend([FIN, 0x80 | 127]);
        two.extend_from_slice(&(half.len() as u64).to_be_bytes());
        two.extend_from_slice(&[1, 2, 3, 4]);
        let broken = tokio::time::timeout(std::time::Duration::from_secs(30), broken_by(two));
        assert_eq!(broken.await.expect("refused at once").code, CloseCode::Size);
        // A ping in the middle of a message at the limit is no part of it.
        let mut at_the_limit = raw(2, &vec![0; MAX_MESSAGE], true);
        at_the_limit.extend(raw(FIN | 9, &[7; 125], true));
        at_the_limit.extend(raw(FIN, &[], true));
        let (messages, broken, owed) = read_all(at_the_limit, 1 << 16).await;
        assert_eq!((messages.len(), broken), (1, None));
        assert_eq!(owed.len(), 2 + 125, "the ping is answered");
    }

    /// A small message is copied out of the read buffer: shared, it would hold all of it, and
    /// every message read with it, for as long as it waits in a peer's queue.
    #[tokio::test]
    async fn a_small_message_holds_only_its_own_bytes() {
        let bytes = [raw(FIN | 2, b"one", true), raw(FIN | 2, b"two", true)].concat();
        let (messages, _, _) = read_all(bytes, 1 << 16).await;
        assert_eq!(messages.len(), 2);
        for message in messages {
            let FromPage::Binary(payload) = message else {
                panic!("{message:?}")
            };
            assert!(payload.is_unique(), "{payload:?} shares its memory");
        }
    }

    #[test]
    fn unmasking_matches_the_rfc_byte_by_byte_at_every_length() {
        let mask = [0x12, 0x34, 0x56, 0x78];
        for n in 0..40 {
            let plain = patterned(n, 7);
            let mut masked: Vec<u8> = plain
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ mask[i % 4])
                .collect();
            unmask(&mut masked, mask);
            assert_eq!(masked, plain, "{n} bytes");
        }
    }
}
