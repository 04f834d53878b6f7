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

use bytes::Bytes;
use protocol::{ConnId, Origin, Way};

use crate::hub::Hub;
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
#[derive(Debug, Default)]
pub struct Passage {
    rules: Option<InPassing>,
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
        }
    }

    /// Whether every message would be forwarded as it came: then reads go on whole, unread
    /// by the passage.
    pub fn is_plain(&self) -> bool {
        self.rules
            .as_ref()
            .is_none_or(|r| !r.hub.rules().watches(r.way))
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
