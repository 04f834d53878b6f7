//! A proxy's passage: what becomes of each message passing one way (client→server, or
//! server→client), between its side's reading and the other side's socket.
//!
//! Each whole message the side's framing cuts (in raw framing, each read) comes here once, in
//! order, and gets a [`Verdict`]: today, to go on as it came. This is the one place that decides
//! per message, so that what acts on messages in passing (a switch that holds them for a page to
//! forward, edit or drop; rules that rewrite, drop or answer) joins here, in the order they
//! apply, rather than in the reading loop.
//!
//! A passage with nothing to decide is [`Passage::is_plain`]: then the reading writes each read
//! on as it came, without cutting it into messages first, as fast as a plain relay
//! ([`super::reading`]). Only when a passage is not plain does the reading hand it messages:
//! pieces that are not whole messages (cut at the maximum size, or unfinished when the
//! connection or the framing ended) go on as they came, and so do the bytes of a message
//! that were already written on before the passage stopped being plain.

use bytes::Bytes;

/// What becomes of one message passing.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It goes on to the other side as these bytes (the message itself, unless something in
    /// the passage changed it), and is recorded as they went.
    Forward(Bytes),
}

/// The passage of one way of a proxied conversation.
#[derive(Debug, Default)]
pub struct Passage {}

impl Passage {
    /// Whether every message would be forwarded as it came: then reads go on whole, unread
    /// by the passage.
    pub fn is_plain(&self) -> bool {
        true
    }

    /// What becomes of `message`, a whole message from this way's sender.
    pub fn verdict(&mut self, message: Bytes) -> Verdict {
        Verdict::Forward(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_passage_forwards_each_message_as_it_came() {
        let mut passage = Passage::default();
        assert!(passage.is_plain());
        let message = Bytes::from_static(b"PING\n");
        assert_eq!(passage.verdict(message.clone()), Verdict::Forward(message));
    }
}
