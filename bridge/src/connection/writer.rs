//! A connection's writing side: the sends pages queue for it (through the hub) and the replies
//! its rules give (from the reader, some after a delay), written in the order they are due, and
//! each recorded once the socket has taken it.

use bytes::{BufMut, Bytes, BytesMut};
use futures::StreamExt;
use protocol::{ConnId, Flow, Marks, RECORD_HEADER_LEN};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::time::DelayQueue;

use super::{describe, is_exit, Relay};
use crate::hub::{Outgoing, Sender};
use crate::rules::Reply;

/// The send being written, and how much of it the socket has taken: what a disconnect in the
/// middle of it must still record.
#[derive(Default)]
pub(super) struct Sending {
    out: Option<Outgoing>,
    written: usize,
}

impl Sending {
    /// Records what the socket took of a send cut off mid-write.
    pub(super) fn finish(&mut self, relay: &Relay, id: ConnId) {
        if let Some(out) = self.out.take() {
            if self.written > 0 {
                record_sent(relay, id, &out.data[..self.written], &out.from);
            }
        }
    }
}

/// Writes until the socket fails or a send ends the conversation.
pub(super) async fn write(
    relay: &Relay,
    id: ConnId,
    mut socket: impl AsyncWrite + Unpin,
    mut writes: mpsc::UnboundedReceiver<Outgoing>,
    mut replies: mpsc::UnboundedReceiver<Reply>,
    sending: &mut Sending,
) -> String {
    // Replies waiting out their delay; each is written when due, so a short delay may overtake
    // a long one.
    let mut delayed = DelayQueue::new();
    loop {
        let out = tokio::select! {
            Some(out) = writes.recv() => out,
            Some(reply) = replies.recv() => {
                let out = Outgoing {
                    data: Bytes::from(reply.bytes),
                    from: Sender::Rule(reply.rule.into()),
                    broadcast: false,
                };
                if !reply.delay.is_zero() {
                    delayed.insert(out, reply.delay);
                    continue;
                }
                out
            }
            Some(due) = delayed.next(), if !delayed.is_empty() => due.into_inner(),
            // The hub drops the page's sending side only once this task has reported the
            // close, and the reader's only when it stops: neither ends the conversation here.
            else => std::future::pending().await,
        };
        relay.hub.transcript_caught_up().await;
        *sending = Sending {
            out: Some(out),
            written: 0,
        };
        let data = sending
            .out
            .as_ref()
            .map(|o| o.data.clone())
            .unwrap_or_default();
        while sending.written < data.len() {
            match socket.write(&data[sending.written..]).await {
                Ok(0) => return "the peer is gone (it takes no more bytes)".into(),
                Ok(n) => sending.written += n,
                Err(e) => return describe("writing", &e),
            }
        }
        let out = sending.out.take().expect("set above");
        record_sent(relay, id, &out.data, &out.from);
        if is_exit(&out.data, relay.exit_word.as_deref()) {
            return "you sent exit".into();
        }
    }
}

/// Records what was written to the peer, as a frame of its own (header room first).
pub fn record_sent(relay: &Relay, id: ConnId, data: &[u8], from: &Sender) {
    let (marks, rule) = match from {
        Sender::Page { file: true } => (Marks::FILE, None),
        Sender::Page { file: false } => (Marks::NONE, None),
        Sender::Rule(rule) => (Marks::NONE, Some(&**rule)),
    };
    let mut frame = BytesMut::with_capacity(RECORD_HEADER_LEN + data.len() + 64);
    frame.put_bytes(0, RECORD_HEADER_LEN);
    frame.extend_from_slice(data);
    relay.hub.record(id, Flow::Tx, frame, marks, rule);
}
