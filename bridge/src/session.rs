//! One task per WebSocket: sends the snapshot, then relays the hub's events to the page and the
//! page's commands to the hub, until either side leaves or the bridge shuts down.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use protocol::{decode_send, Command, ConnId, Event, SEND_HEADER_LEN};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::hub::{Hub, Subscription, WireFrame};
use crate::{dialer, listener, Context};

type Sink = SplitSink<WebSocket, Message>;

/// How long a closing session tries to say goodbye to a page that may not be reading.
const GOODBYE: Duration = Duration::from_millis(500);
/// The most a page may send in one message: a send's payload...
const MAX_SEND: usize = 1 << 20;
/// ...and a command's JSON, which is never more than a host name long.
const MAX_COMMAND: usize = 64 << 10;

/// The page went away, or the socket failed: either way the session is over.
struct Gone;

pub async fn run(socket: WebSocket, ctx: Arc<Context>) {
    let (mut sink, stream) = socket.split();
    // Shutdown wins even over a send that waits on a page that reads nothing.
    tokio::select! {
        () = converse(&ctx, &mut sink, stream) => {}
        () = ctx.shutdown.cancelled() => {
            let goodbye = close(&mut sink, close_code::AWAY, "the bridge is shutting down");
            let _ = tokio::time::timeout(GOODBYE, goodbye).await;
        }
    }
}

/// Relays until the page leaves or the socket fails.
async fn converse(ctx: &Arc<Context>, sink: &mut Sink, mut stream: SplitStream<WebSocket>) {
    let Subscription {
        snapshot,
        mut events,
    } = ctx.hub.subscribe();
    if send_all(sink, snapshot).await.is_err() {
        return;
    }
    loop {
        let step = tokio::select! {
            event = events.recv() => match event {
                Ok(frame) => match forward(&ctx.hub, sink, frame, &mut events).await {
                    Ok(Behind::Yes) => resync(ctx, sink, &mut events).await,
                    Ok(Behind::No) => Ok(()),
                    Err(Gone) => Err(Gone),
                },
                Err(RecvError::Lagged(_)) => resync(ctx, sink, &mut events).await,
                Err(RecvError::Closed) => Err(Gone),
            },
            incoming = stream.next() => match incoming {
                Some(Ok(message)) => handle(ctx, sink, message).await,
                Some(Err(e)) => {
                    // Typically a frame over the size limit, after which the stream cannot be
                    // read any further: say so before closing.
                    let _ = reply_error(sink, None, format!("closing this WebSocket: {e}")).await;
                    close(sink, close_code::SIZE, "bad frame").await;
                    Err(Gone)
                }
                None => Err(Gone),
            },
        };
        if step.is_err() {
            return;
        }
    }
}

/// Whether the page fell behind the broadcast and missed frames.
enum Behind {
    Yes,
    No,
}

/// Sends `first` and whatever else is already waiting, then flushes once.
async fn forward(
    hub: &Hub,
    sink: &mut Sink,
    first: WireFrame,
    events: &mut broadcast::Receiver<WireFrame>,
) -> Result<Behind, Gone> {
    sink.feed(message(first)).await.map_err(|_| Gone)?;
    let behind = loop {
        match events.try_recv() {
            Ok(frame) => sink.feed(message(frame)).await.map_err(|_| Gone)?,
            Err(TryRecvError::Empty) => break Behind::No,
            Err(TryRecvError::Lagged(_)) => break Behind::Yes,
            Err(TryRecvError::Closed) => return Err(Gone),
        }
    };
    sink.flush().await.map_err(|_| Gone)?;
    hub.progressed();
    Ok(behind)
}

/// Too far behind to catch up frame by frame: start over from a fresh snapshot.
async fn resync(
    ctx: &Context,
    sink: &mut Sink,
    events: &mut broadcast::Receiver<WireFrame>,
) -> Result<(), Gone> {
    let fresh = ctx.hub.subscribe();
    *events = fresh.events;
    send_all(sink, fresh.snapshot).await
}

async fn send_all(sink: &mut Sink, frames: Vec<WireFrame>) -> Result<(), Gone> {
    for frame in frames {
        sink.feed(message(frame)).await.map_err(|_| Gone)?;
    }
    sink.flush().await.map_err(|_| Gone)
}

/// Carries out one message from the page. Anything wrong with it is told to this page alone.
async fn handle(ctx: &Arc<Context>, sink: &mut Sink, message: Message) -> Result<(), Gone> {
    if let Some(problem) = oversized(&message) {
        return reply_error(sink, None, problem).await;
    }
    let (conn, result) = match message {
        Message::Text(text) => match Command::from_json(&text) {
            Ok(Command::Connect { host, port }) => (None, dialer::dial(ctx, &host, port)),
            Ok(Command::Disconnect { conn }) => (Some(conn), ctx.hub.disconnect(conn)),
            Ok(Command::Listen { addr }) => (None, listener::listen(ctx, &addr).await),
            Ok(Command::StopListening) => (None, listener::stop_listening(ctx).await),
            // `Send` never arrives as JSON: the protocol refuses it there.
            Ok(Command::Send { .. }) => return Ok(()),
            Err(e) => (None, Err(e.0)),
        },
        Message::Binary(frame) => match decode_send(&frame) {
            Ok((header, _)) => {
                let conn = match header.to {
                    protocol::Target::Conn(id) => Some(id),
                    protocol::Target::All => None,
                };
                // The payload is a slice of the frame as received: no copy.
                let data = frame.slice(SEND_HEADER_LEN..);
                (conn, ctx.hub.send(header.to, data).await)
            }
            Err(e) => (None, Err(e.0)),
        },
        Message::Close(_) => return Err(Gone),
        Message::Ping(_) | Message::Pong(_) => return Ok(()),
    };
    match result {
        Ok(()) => Ok(()),
        Err(problem) => reply_error(sink, conn, problem).await,
    }
}

/// Why `message` is too large to carry out, if it is.
fn oversized(message: &Message) -> Option<String> {
    match message {
        Message::Binary(frame) if frame.len() > SEND_HEADER_LEN + MAX_SEND => Some(format!(
            "a send of {} bytes is over the limit of {MAX_SEND} bytes per message; nothing was sent",
            frame.len().saturating_sub(SEND_HEADER_LEN)
        )),
        Message::Text(text) if text.len() > MAX_COMMAND => Some(format!(
            "a command of {} bytes is over the limit of {MAX_COMMAND} bytes",
            text.len()
        )),
        _ => None,
    }
}

async fn reply_error(sink: &mut Sink, conn: Option<ConnId>, message: String) -> Result<(), Gone> {
    let frame = WireFrame::from(&Event::Error { conn, message });
    sink.send(self::message(frame)).await.map_err(|_| Gone)
}

async fn close(sink: &mut Sink, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = sink.send(Message::Close(Some(frame))).await;
}

fn message(frame: WireFrame) -> Message {
    match frame {
        WireFrame::Text(text) => Message::Text(text.into()),
        WireFrame::Binary(bytes) => Message::Binary(bytes),
    }
}
