//! A WebSocket client that speaks the bridge's protocol (PROTOCOL.md) the way a third-party client
//! would: it reads the snapshot, follows live events, and rebuilds from a fresh snapshot when the
//! bridge sends one because the client fell behind.
//!
//! Frames are parsed with the `protocol` crate, so the suite exercises the documented wire format
//! and not some private shortcut. Record payloads stay slices of the received frame (`Bytes`), so
//! the client costs as little CPU as possible: on two cores, every cycle the client spends is a
//! cycle the bridge does not get.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use bytes::Bytes;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use protocol::{
    Command, ConnId, ConnInfo, Event, Flow, Frame, RecordHeader, Seq, Target, Transmit,
    RECORD_HEADER_LEN,
};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// A WebSocket over plain TCP (everything here is on loopback).
pub type Ws = WebSocketStream<TcpStream>;

/// How long the handshake and the first snapshot may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a WebSocket to `url` (`ws://127.0.0.1:PORT/...`), with Nagle off, as a browser has it,
/// so that small sends are not held back and latency figures mean something.
pub async fn connect_ws(url: &str) -> Result<Ws> {
    let authority = url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .ok_or_else(|| anyhow!("`{url}` is not a ws:// URL"))?;
    let tcp = TcpStream::connect(authority)
        .await
        .with_context(|| format!("connecting to {authority}"))?;
    tcp.set_nodelay(true)?;
    // The bridge's records are at most 64 KiB plus a header; allow more, in case that changes.
    let config = WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20));
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config))
        .await
        .with_context(|| format!("WebSocket handshake with {url}"))?;
    Ok(ws)
}

/// The binary frame that asks the bridge to send `data` to `to`.
pub fn transmit(to: Target, data: &[u8]) -> Bytes {
    Transmit {
        to,
        file: false,
        broadcast: false,
        to_server: false,
        data: Bytes::copy_from_slice(data),
    }
    .encode()
}

/// One frame from the bridge, parsed.
pub enum Incoming {
    /// Traffic of one connection; `payload` is a slice of the frame, not a copy.
    Record {
        header: RecordHeader,
        payload: Bytes,
    },
    /// A control event (JSON).
    Event(Event),
}

/// Parses a frame from the bridge. `None` for frames that carry nothing (ping, pong).
pub fn parse(message: Message) -> Result<Option<Incoming>> {
    match message {
        Message::Binary(frame) => {
            let parts = RecordHeader::read(&frame)?;
            let header = parts.header;
            let payload = frame.slice(RECORD_HEADER_LEN..RECORD_HEADER_LEN + parts.payload.len());
            Ok(Some(Incoming::Record { header, payload }))
        }
        Message::Text(text) => {
            let event = Event::from_json(text.as_str())?;
            Ok(Some(Incoming::Event(event)))
        }
        Message::Close(frame) => bail!("the bridge closed the WebSocket: {frame:?}"),
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(None),
    }
}

/// What a client knows about the bridge's connections, kept exact across fresh snapshots.
///
/// This is the protocol's own recipe: a `hello` replaces everything (its counters cover every
/// record up to its `seq`), records with a `seq` already covered are skipped, newer ones are
/// counted. A client that follows it never counts a byte twice and never misses one.
#[derive(Default)]
pub struct Tally {
    /// Every connection the bridge has told of, with counters brought up to date by records.
    pub conns: HashMap<ConnId, ConnInfo>,
    /// The last sequence number accounted for.
    pub seq: Seq,
    /// How many snapshots (`hello`s) arrived: the first one, then one per time the client fell
    /// behind.
    pub snapshots: u32,
    /// Live records counted (after the snapshot that started them).
    pub records: u64,
    /// Records that came in snapshots: history, already in the counters.
    pub replayed: u64,
    /// `error` events, in words.
    pub errors: Vec<String>,
}

impl Tally {
    /// Accounts for one frame; true if it was a record not seen before.
    pub fn apply(&mut self, incoming: &Incoming) -> bool {
        match incoming {
            Incoming::Record { header, payload } => {
                if header.seq <= self.seq {
                    self.replayed += 1;
                    return false;
                }
                self.seq = header.seq;
                self.records += 1;
                if let Some(info) = self.conns.get_mut(&header.conn) {
                    let len = payload.len() as u64;
                    match header.flow {
                        Flow::Rx => {
                            (info.rx_bytes, info.rx_msgs) = (info.rx_bytes + len, info.rx_msgs + 1)
                        }
                        Flow::Tx => {
                            (info.tx_bytes, info.tx_msgs) = (info.tx_bytes + len, info.tx_msgs + 1)
                        }
                    }
                }
                true
            }
            Incoming::Event(Event::Hello { conns, seq, .. }) => {
                self.conns = conns.iter().map(|c| (c.id, c.clone())).collect();
                self.seq = *seq;
                self.snapshots += 1;
                false
            }
            Incoming::Event(Event::Conn { conn }) => {
                self.conns.insert(conn.id, conn.clone());
                false
            }
            Incoming::Event(Event::Error(problem)) => {
                self.errors.push(problem.message.clone());
                false
            }
            Incoming::Event(Event::Forgotten { conns }) => {
                for id in conns {
                    self.conns.remove(id);
                }
                false
            }
            Incoming::Event(
                Event::Synced { .. }
                | Event::Listener { .. }
                | Event::SentToAll { .. }
                | Event::Defaults { .. }
                | Event::Rules { .. }
                | Event::RuleHits { .. }
                | Event::RulesSaved { .. }
                | Event::File { .. }
                | Event::FileStopped { .. }
                | Event::Proxies { .. }
                | Event::Held { .. }
                | Event::Released { .. }
                | Event::Learnt { .. },
            ) => false,
        }
    }

    /// Times the bridge sent a fresh snapshot because this client fell behind.
    pub fn resyncs(&self) -> u32 {
        self.snapshots.saturating_sub(1)
    }

    /// Bytes received from peers, over every connection the client knows.
    pub fn rx_bytes(&self) -> u64 {
        self.conns.values().map(|c| c.rx_bytes).sum()
    }
}

/// A session with the bridge: the WebSocket and what it has said so far.
pub struct Session {
    ws: Ws,
    pub tally: Tally,
}

impl Session {
    /// Connects and reads the first snapshot, up to `synced`.
    pub async fn connect(url: &str) -> Result<Session> {
        let ws = timeout(CONNECT_TIMEOUT, connect_ws(url))
            .await
            .map_err(|_| {
                anyhow!("no WebSocket handshake with {url} within {CONNECT_TIMEOUT:?}")
            })??;
        let mut session = Session {
            ws,
            tally: Tally::default(),
        };
        timeout(CONNECT_TIMEOUT, session.until_synced())
            .await
            .map_err(|_| anyhow!("no snapshot from {url} within {CONNECT_TIMEOUT:?}"))??;
        Ok(session)
    }

    async fn until_synced(&mut self) -> Result<()> {
        loop {
            if let Incoming::Event(Event::Synced { .. }) = self.next().await? {
                return Ok(());
            }
        }
    }

    /// The next frame from the bridge, already accounted for in the tally.
    pub async fn next(&mut self) -> Result<Incoming> {
        next_from(&mut self.ws, &mut self.tally).await
    }

    /// Sends `data` to one connection, as a binary send frame.
    pub async fn send_to(&mut self, conn: ConnId, data: &[u8]) -> Result<()> {
        let frame = transmit(Target::Conn(conn), data);
        self.ws.send(Message::Binary(frame)).await?;
        Ok(())
    }

    /// Sends a control command (JSON).
    pub async fn command(&mut self, command: &Command) -> Result<()> {
        let Frame::Text(text) = command.to_frame() else {
            bail!("{command:?} is not a control command");
        };
        self.ws.send(Message::Text(text.into())).await?;
        Ok(())
    }

    /// Reads until a connection matching `wanted` is open (or fails if it closes instead),
    /// within `limit`.
    pub async fn wait_open(
        &mut self,
        limit: Duration,
        wanted: impl Fn(&ConnInfo) -> bool,
    ) -> Result<ConnInfo> {
        let found = timeout(limit, async {
            loop {
                if let Incoming::Event(Event::Conn { conn }) = self.next().await? {
                    if wanted(&conn) {
                        match conn.state {
                            protocol::ConnState::Open => return Ok(conn),
                            protocol::ConnState::Closed => bail!(
                                "connection {} to {} closed: {}",
                                conn.id,
                                conn.peer,
                                conn.close_reason.as_deref().unwrap_or("no reason given")
                            ),
                            protocol::ConnState::Connecting => {}
                        }
                    }
                }
            }
        })
        .await;
        found.map_err(|_| anyhow!("no matching connection opened within {limit:?}"))?
    }

    /// Splits into a sending half and a receiving half, for scenarios that must read and write
    /// at once (the bridge echoes every send back as a `tx` record, and a client that stops
    /// reading those would stall its own sends).
    pub fn split(self) -> (Sender, Receiver) {
        let (sink, stream) = self.ws.split();
        (
            Sender { sink },
            Receiver {
                stream,
                tally: self.tally,
            },
        )
    }
}

/// The sending half of a [`Session`].
pub struct Sender {
    sink: SplitSink<Ws, Message>,
}

impl Sender {
    /// Sends a prepared frame (see [`transmit`]); cloning `Bytes` shares the buffer.
    pub async fn send_frame(&mut self, frame: Bytes) -> Result<()> {
        self.sink.send(Message::Binary(frame)).await?;
        Ok(())
    }
}

/// The receiving half of a [`Session`].
pub struct Receiver {
    stream: SplitStream<Ws>,
    pub tally: Tally,
}

impl Receiver {
    pub async fn next(&mut self) -> Result<Incoming> {
        next_from(&mut self.stream, &mut self.tally).await
    }
}

async fn next_from(
    stream: &mut (impl futures::Stream<Item = tokio_tungstenite::tungstenite::Result<Message>> + Unpin),
    tally: &mut Tally,
) -> Result<Incoming> {
    loop {
        let message = stream
            .next()
            .await
            .ok_or_else(|| anyhow!("the bridge closed the WebSocket"))?
            .context("reading from the bridge's WebSocket")?;
        if let Some(incoming) = parse(message)? {
            tally.apply(&incoming);
            return Ok(incoming);
        }
    }
}
