//! A page's WebSocket: the handshake, tungstenite reading what the page sends, and the bridge
//! writing what it sends the page.
//!
//! The writing is the bridge's own so that no record is copied on its way out: tungstenite (and
//! axum's socket over it) copies each message into a write buffer before the kernel copies it
//! again, which was an eighth of the relay's time. Here each frame's header comes from
//! tungstenite's [`FrameHeader`], a small payload is copied beside it, and a larger one (a
//! record, shared by every page and the history) is pointed at: a batch goes to the socket in one
//! vectored write.
//!
//! Tungstenite still writes while it reads: the pong to a ping, the reply to a close. Those bytes
//! go to [`Replies`], which the writer sends between two frames, so they never land inside one.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures::task::AtomicWaker;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use protocol::Frame;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf, ReadHalf, WriteHalf};
use tokio::sync::futures::Notified;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use tokio_util::task::TaskTracker;

/// The upgraded connection under a page's socket.
type Io = TokioIo<Upgraded>;

/// What the page sends, as tungstenite reads it.
pub type PageStream = WebSocketStream<PageReader>;

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
/// Tungstenite's replies not yet sent, past which it keeps them itself, in a write buffer held to
/// the same bound, where a newer pong replaces an older one: a page that pings and never reads
/// costs at most twice this.
const MOST_REPLIES: usize = 16 << 10;

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
        session: impl FnOnce(PageStream, PageWriter) -> F + Send + 'static,
    ) -> Response
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let Upgrade { accept, on_upgrade } = self;
        tasks.spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let (stream, writer) = open(upgraded).await;
                    session(stream, writer).await;
                }
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

/// Splits an upgraded connection into tungstenite's reading and the bridge's writing.
async fn open(upgraded: Upgraded) -> (PageStream, PageWriter) {
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE))
        // Tungstenite writes only its replies: each at once, and at most this many held back.
        .write_buffer_size(0)
        .max_write_buffer_size(MOST_REPLIES);
    let (read, write) = tokio::io::split(TokioIo::new(upgraded));
    let replies = Arc::new(Replies::default());
    let reader = PageReader {
        read,
        replies: replies.clone(),
    };
    let stream = WebSocketStream::from_raw_socket(reader, Role::Server, Some(config)).await;
    let writer = PageWriter::new(write, replies);
    (stream, writer)
}

/// What tungstenite writes of its own, the pong to a ping and the reply to a close, waiting for
/// the writer. Only whole frames: tungstenite writes its buffer at once, and [`Replies::put`]
/// takes all of it or nothing.
#[derive(Default)]
struct Replies {
    bytes: Mutex<Vec<u8>>,
    /// Told when bytes come.
    came: Notify,
    /// Woken when the writer took them, for a reader held up by [`MOST_REPLIES`].
    taken: AtomicWaker,
}

impl Replies {
    /// Takes all of `buf`, or, past [`MOST_REPLIES`], none of it until the writer took what it
    /// holds.
    fn put(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut bytes = self.bytes.lock().expect("replies lock");
        if !bytes.is_empty() && bytes.len() + buf.len() > MOST_REPLIES {
            // Under the lock, which the writer takes them under: no take is missed.
            self.taken.register(cx.waker());
            return Poll::Pending;
        }
        bytes.extend_from_slice(buf);
        self.came.notify_one();
        Poll::Ready(Ok(buf.len()))
    }
}

/// The reading half of a page's socket, as tungstenite sees it: its writes go to [`Replies`].
pub struct PageReader {
    read: ReadHalf<Io>,
    replies: Arc<Replies>,
}

impl AsyncRead for PageReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for PageReader {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.replies.put(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The writing half of a page's socket: frames are fed, then written in batches. (Generic only
/// so that its tests can write to an in-memory pipe.)
pub struct PageWriter<W = WriteHalf<Io>> {
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

    /// Writes out everything fed, and tungstenite's replies.
    pub async fn flush(&mut self) -> io::Result<()> {
        self.take_replies();
        self.write_out().await?;
        self.socket.flush().await
    }

    /// Feeds and flushes a close frame (a code, and a reason of at most 123 bytes).
    pub async fn close(&mut self, code: u16, reason: &str) -> io::Result<()> {
        debug_assert!(reason.len() <= 123, "a close frame's reason: {reason}");
        self.take_replies();
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason.as_bytes());
        self.push(OpCode::Control(Control::Close), Bytes::from(payload));
        self.flush().await
    }

    /// Whether frames fed are not yet written out.
    pub fn holds_any(&self) -> bool {
        self.queued > 0
    }

    /// Resolves when tungstenite wrote a reply, which [`flush`](Self::flush) sends.
    pub fn replies_came(&self) -> Notified<'_> {
        self.replies.came.notified()
    }

    fn push(&mut self, opcode: OpCode, payload: Bytes) {
        let header = FrameHeader {
            opcode,
            ..FrameHeader::default()
        };
        let mut head = [0; 10];
        let length = header.len(payload.len() as u64);
        header
            .format(payload.len() as u64, &mut &mut head[..])
            .expect("a server's frame header fits in 10 bytes");
        self.scratch.extend_from_slice(&head[..length]);
        self.queued += length + payload.len();
        if payload.len() < COPY_BELOW {
            self.scratch.extend_from_slice(&payload);
        } else {
            self.queue.push_back(self.scratch.split().freeze());
            self.queue.push_back(payload);
        }
    }

    /// Moves tungstenite's replies to the end of what goes out: fed frames are whole, so they
    /// land between two frames.
    fn take_replies(&mut self) {
        let mut bytes = self.replies.bytes.lock().expect("replies lock");
        if bytes.is_empty() {
            return;
        }
        self.queued += bytes.len();
        self.scratch.extend_from_slice(&bytes);
        bytes.clear();
        drop(bytes);
        self.replies.taken.wake();
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
                    bytes::Buf::advance(first, written);
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
    use tokio_tungstenite::tungstenite::Message;

    use super::*;

    /// What a page would be sent: text or binary, of a size that needs each of the three
    /// length forms (7 bits, 16, 64), and pongs from tungstenite among them.
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
                            // As tungstenite writes one: a whole frame, from its reading half.
                            Out::Pong(payload) => {
                                let mut pong = Vec::new();
                                tokio_tungstenite::tungstenite::protocol::frame::Frame::pong(payload)
                                    .format(&mut pong)
                                    .unwrap();
                                let put = std::future::poll_fn(|cx| replies.put(cx, &pong));
                                assert_eq!(put.await.unwrap(), pong.len());
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

    /// A page that pings and never reads: past the bound, tungstenite's reading half waits, and
    /// is woken once the writer took the replies.
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
        while let Poll::Ready(n) = replies.put(&mut cx, &pong) {
            taken += n.unwrap();
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
