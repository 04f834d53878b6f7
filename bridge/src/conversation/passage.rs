//! A proxy's passage: what becomes of each message passing one way (client→server, or
//! server→client), between its side's reading and the other side's socket.
//!
//! Each whole message the side's framing cuts (in raw framing, each read) comes here once, in
//! order, once it is recorded as it came, and gets a [`Verdict`]. This is the one place that decides
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
//!
//! **Rules in passing** come first: the auto-reply rules that watch this way
//! ([`protocol::rules`]: a rule with a `way`) rewrite a message, drop it, answer it instead of
//! forwarding it, or reply to its sender as it goes on. While none watches, they cost nothing
//! but asking the rule set whether one does. Their replies and answers go back to the sender
//! through its side's queue, as a conversation's replies do; what the rate limit holds back is
//! told to pages the same way too.
//!
//! **Hold** comes after the rules: while the way's hold is on ([`protocol::Command::Hold`]),
//! what the rules let go (as it came, or rewritten) stops in the bridge
//! ([`crate::hub::Hub::hold_message`]) until a page forwards it (as it is, or edited) or drops
//! it: the user holds and edits what would really go out. What pages release comes back here,
//! in order ([`Passage::released`]), for the reading to write on and record then: it is the one
//! task that writes what goes this way, so nothing overtakes what was held before it. While
//! anything is held, every piece the side says is held too, whole message or not, after it.
//! The passage counts what is held, and while that is past the bound
//! ([`protocol::HOLD_MAX_MESSAGES`], [`protocol::HOLD_MAX_BYTES`]) the side is not read.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures::StreamExt;
use protocol::{ConnId, Origin, Way};

use crate::hub::{HoldLink, Hub, Released};
use crate::matching::Answering;
use crate::rules::{Answer, Responder};

/// What becomes of one message passing.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It goes on to the other side as it came.
    Forward(Bytes),
    /// A rule rewrote it: these bytes go on in its place, recorded (after the message as it
    /// came) with the rule's id.
    Rewrite { bytes: Bytes, rule: String },
    /// It goes no further (a rule dropped it, or answered it instead).
    Drop,
}

/// The passage of one way of a proxied conversation.
#[derive(Default)]
pub struct Passage {
    rules: Option<InPassing>,
    /// The way's hold: its switch, and what pages release from its queue.
    hold: Option<HoldLink>,
    /// How many messages, and bytes, the hub holds for this way: what went in, less what the
    /// link said left.
    held: usize,
    held_bytes: usize,
}

/// The rules in passing of one way: the rule set in force, and this way's own state (counters,
/// `once` rules fired, the rate limit, the matching budget).
struct InPassing {
    hub: Hub,
    way: Way,
    answering: Answering,
}

impl std::fmt::Debug for InPassing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InPassing")
            .field("way", &self.way)
            .field("answering", &self.answering)
            .finish_non_exhaustive()
    }
}

impl Passage {
    /// The passage of the messages of conversation `conn` going `way`, which the rules
    /// watching that way act on.
    pub fn watched(hub: Hub, way: Way, conn: ConnId, origin: Origin) -> Passage {
        let now = std::time::Instant::now();
        let responder = Responder::new(conn, origin, now).watching(way);
        Passage {
            rules: Some(InPassing {
                hub,
                way,
                answering: Answering::new(responder, now),
            }),
            ..Passage::default()
        }
    }

    /// The same, holding messages while `link`'s switch is on.
    pub fn holding(self, link: HoldLink) -> Passage {
        Passage {
            hold: Some(link),
            ..self
        }
    }

    /// Whether every message would be forwarded as it came: then reads go on whole, unread
    /// by the passage.
    pub fn is_plain(&self) -> bool {
        !self.holds()
            && self
                .rules
                .as_ref()
                .is_none_or(|r| !r.hub.rules().watches(r.way))
    }

    /// Whether what the side says now is held (after the rules): its hold is on, or something
    /// is held still (nothing may overtake it).
    pub fn holds(&self) -> bool {
        // Acquire: a switch seen off comes after the queue it released was handed over.
        let on = self
            .hold
            .as_ref()
            .is_some_and(|h| h.on.load(Ordering::Acquire));
        on || self.held > 0
    }

    /// The way its hold holds, if it has one.
    pub fn hold_way(&self) -> Option<Way> {
        self.hold.as_ref().map(|h| h.way)
    }

    /// A message of `len` bytes is now held.
    pub fn held(&mut self, len: usize) {
        self.held += 1;
        self.held_bytes += len;
    }

    /// Whether anything is held, or released and not yet acted on.
    pub fn is_holding(&self) -> bool {
        self.held > 0
    }

    /// Whether the way holds as much as it may: its sender is not read until some leave.
    pub fn is_full(&self) -> bool {
        protocol::is_full(self.held, self.held_bytes)
    }

    /// What pages released and the reading has not yet acted on, if anything.
    pub fn try_released(&mut self) -> Option<Released> {
        if self.held == 0 {
            // Nothing held, nothing to release: the plain relay asks no channel.
            return None;
        }
        let released = self.hold.as_mut()?.released.try_recv().ok()?;
        Some(self.left(released))
    }

    /// The next message pages release: waits for it (for ever, on a way that holds nothing).
    pub async fn released(&mut self) -> Released {
        let next = match self.hold.as_mut() {
            Some(hold) if self.held > 0 => hold.released.next().await,
            _ => None,
        };
        match next {
            Some(released) => self.left(released),
            None => std::future::pending().await,
        }
    }

    fn left(&mut self, released: Released) -> Released {
        self.held -= 1;
        self.held_bytes -= released.held_len;
        released
    }

    /// What becomes of `message`, a whole message from this way's sender, already recorded;
    /// and what goes back to the sender (a rule's reply or answer), or is told to pages (a
    /// reply the rate limit held back, rules skipped for want of time), for its side to hand on.
    pub async fn verdict(&mut self, message: Bytes) -> (Verdict, Answer) {
        let Some(InPassing {
            hub,
            way,
            answering,
        }) = &mut self.rules
        else {
            return (Verdict::Forward(message), Answer::Nothing);
        };
        let rules = hub.rules();
        if !rules.watches(*way) {
            return (Verdict::Forward(message), Answer::Nothing);
        }
        let answer = match answering.at_once(&rules, &message, &super::reading::rule_time) {
            Ok(answer) => answer,
            Err(pending) => {
                answering
                    .apart(rules, pending, super::reading::rule_time)
                    .await
            }
        };
        match answer {
            Answer::Rewrite(rewrite) => (
                Verdict::Rewrite {
                    bytes: rewrite.bytes.into(),
                    rule: rewrite.rule,
                },
                Answer::Nothing,
            ),
            Answer::Drop { .. } => (Verdict::Drop, Answer::Nothing),
            Answer::Instead(reply) => (Verdict::Drop, Answer::Reply(reply)),
            limited @ Answer::Limited { stops: true, .. } => (Verdict::Drop, limited),
            answer => (Verdict::Forward(message), answer),
        }
    }
}

/// The next release of `passage`'s, if it has one (a side of a conversation of one socket has
/// none: this waits for ever).
pub async fn released(passage: Option<&mut Passage>) -> Released {
    match passage {
        Some(passage) => passage.released().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_plain_passage_forwards_each_message_as_it_came() {
        let mut passage = Passage::default();
        assert!(passage.is_plain());
        let message = Bytes::from_static(b"PING\n");
        assert_eq!(
            passage.verdict(message.clone()).await,
            (Verdict::Forward(message), Answer::Nothing)
        );
    }
}
