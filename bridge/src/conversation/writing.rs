//! A side's writing: the sends pages queue for it (through the hub) and the replies
//! its rules give (from the reader, some after a delay), written in the order they are due, and
//! each recorded once the socket has taken it. A part of a file that was stopped is not
//! written, nor the rest of the part being written: only what the socket took is recorded.

use bytes::{BufMut, BytesMut};
use futures::channel::mpsc;
use futures::StreamExt;
use protocol::{ConnId, Marks, RECORD_HEADER_LEN};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio_util::time::DelayQueue;

use super::stream::describe;
use super::{is_exit, RecordAs, Relay};
use crate::hub::{Author, FilePart, Outgoing};

/// The send being written, and how much of it the socket has taken: what a disconnect in the
/// middle of it must still record.
#[derive(Default)]
pub(super) struct Sending {
    out: Option<Outgoing>,
    written: usize,
}

impl Sending {
    /// Records what the socket took of a send cut off mid-write.
    pub(super) fn finish(&mut self, relay: &Relay, id: ConnId, record_as: RecordAs) {
        if let Some(out) = self.out.take() {
            if self.written > 0 {
                record_sent(relay, id, &out.data[..self.written], &out.from, record_as);
            }
        }
    }
}

/// A connection's outgoing queue: pages' sends and rules' replies, in the order they are due.
/// A reply with a delay waits it out apart, so a short delay may overtake a long one; the timer
/// for that is made when the first such reply comes, since most connections never have one.
pub struct Outbox {
    queue: mpsc::UnboundedReceiver<Outgoing>,
    delayed: Option<DelayQueue<Outgoing>>,
    /// How what is written is recorded: sent, in a conversation of one socket.
    pub record_as: RecordAs,
}

impl Outbox {
    pub fn new(queue: mpsc::UnboundedReceiver<Outgoing>, record_as: RecordAs) -> Outbox {
        Outbox {
            queue,
            delayed: None,
            record_as,
        }
    }

    /// The next send that is due. Cancel-safe: nothing taken from the queue is lost.
    pub async fn next(&mut self) -> Outgoing {
        loop {
            let waiting = self.delayed.as_mut().filter(|d| !d.is_empty());
            tokio::select! {
                Some(out) = self.queue.next() => {
                    if out.delay.is_zero() {
                        return out;
                    }
                    let delay = out.delay;
                    self.delayed.get_or_insert_with(DelayQueue::new).insert(out, delay);
                }
                Some(due) = async { waiting?.next().await } => return due.into_inner(),
                // The connection holds a sender of its own queue (for its rules' replies), so
                // the queue never ends while it runs: nothing to do but wait.
                else => std::future::pending().await,
            }
        }
    }
}

/// Writes until the socket fails or a send ends the conversation.
pub(super) async fn write(
    relay: &Relay,
    id: ConnId,
    mut socket: impl AsyncWrite + Unpin,
    outbox: &mut Outbox,
    sending: &mut Sending,
) -> String {
    loop {
        let out = outbox.next().await;
        if let Err(reason) = write_one(relay, id, &mut socket, out, outbox.record_as, sending).await
        {
            return reason;
        }
    }
}

/// Writes one send and records it (or what the socket took of it, if its file was stopped);
/// fails when the socket does, or when the send ends the conversation.
pub(super) async fn write_one(
    relay: &Relay,
    id: ConnId,
    socket: &mut (impl AsyncWrite + Unpin),
    out: Outgoing,
    record_as: RecordAs,
    sending: &mut Sending,
) -> Result<(), String> {
    if out.file.as_ref().is_some_and(FilePart::stopped) {
        // A part of a file stopped before it was written: it waits no more.
        relay.hub.unsent(id, out.data.len());
        return Ok(());
    }
    relay.hub.transcript_caught_up().await;
    let file = out.file.clone();
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
        let write = socket.write(&data[sending.written..]);
        let written = match &file {
            Some(part) => tokio::select! {
                written = write => written,
                // The file stopped: what of this part the socket took is all of it that goes.
                () = part.stop() => break,
            },
            None => write.await,
        };
        match written {
            Ok(0) => return Err("the peer is gone (it takes no more bytes)".into()),
            Ok(n) => sending.written += n,
            Err(e) => return Err(describe("writing", &e)),
        }
    }
    if sending.written < data.len() {
        sending.finish(relay, id, record_as);
        relay.hub.unsent(id, data.len() - sending.written);
        return Ok(());
    }
    let out = sending.out.take().expect("set above");
    record_sent(relay, id, &out.data, &out.from, record_as);
    if is_exit(&out.data, relay.exit_word.as_deref()) {
        return Err("you sent exit".into());
    }
    Ok(())
}

/// Records what was written to the peer, as a frame of its own (header room first).
pub fn record_sent(relay: &Relay, id: ConnId, data: &[u8], from: &Author, record_as: RecordAs) {
    let (marks, rule) = match from {
        Author::Page { file: true } => (Marks::FILE, None),
        Author::Page { file: false } => (Marks::NONE, None),
        Author::Rule(rule) => (Marks::NONE, Some(&**rule)),
    };
    // Exactly the room the record takes (the hub appends the rule's id): spare capacity would
    // be held in the history without being counted against its bounds.
    let rule_len = rule.map_or(0, str::len);
    let mut frame = BytesMut::with_capacity(RECORD_HEADER_LEN + data.len() + rule_len);
    frame.put_bytes(0, RECORD_HEADER_LEN);
    frame.extend_from_slice(data);
    relay.hub.record(
        id,
        record_as.flow,
        frame,
        marks.with(record_as.marks),
        rule,
        None,
    );
}
