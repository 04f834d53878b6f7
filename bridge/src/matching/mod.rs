//! Matching a received message against the auto-reply rules without holding anything else up.
//!
//! A regex can be slow on a long message: `(?-u:\w{40}z\w{40}q0)` takes up to a second on a
//! MiB of words, and a set of such rules multiplies that. So a message that regex rules are to
//! look at is matched on one of [`THREADS`] threads apart from the async workers, while only
//! its own connection's reader waits: every other peer, page and command goes on. Rules
//! without a regex (exact, prefix, contains, hex) are matched at once, where the message is
//! read.
//!
//! The threads are shared fairly ([`turns`]): a connection holds at most one at a time, and
//! the connection that has used the least of its budget is served first, so an ordinary peer's
//! short line is matched promptly while another peer floods long lines over many connections.
//!
//! Two budgets bound what one connection's messages may cost on a thread (waiting for one is
//! not charged): [`MESSAGE_BUDGET`] per message, and [`CONNECTION_BUDGET`] per connection, which refills at
//! [`REFILL`] of a thread's time; once spent, the connection's regex rules are skipped until it
//! has regained a message's budget. Past either, the rule about to be tried and the rules after
//! it are skipped for that message (a later rule answering in its place would not be what the
//! rules say), and the page is told, once until a message is matched in full again, as the
//! reply rate limit does. The budget is checked before each regex rule: a regex already
//! running finishes, its cost bounded by its size limit and the message's length.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::rules::{Answer, Found, Responder, RuleSet};
use bytes::Bytes;
use turns::Threads;

mod turns;

/// How many messages are matched against regex rules at once, each on a thread of its own.
pub const THREADS: usize = 2;
/// The time one message's regex rules may take on a thread.
pub const MESSAGE_BUDGET: Duration = Duration::from_millis(200);
/// The time one connection's messages may take at once...
pub const CONNECTION_BUDGET: Duration = Duration::from_secs(1);
/// ...and the share of a thread's time it regains: a fifth of each second.
pub const REFILL: f64 = 0.2;

static THREADS_FREE: Threads = Threads::new(THREADS);

/// How one connection is answered by the rules: its [`Responder`], and what is left of its
/// matching budget. (Not `Matcher`: that is what a rule matches, in `protocol::rules`.)
#[derive(Debug)]
pub struct Answering {
    responder: Responder,
    /// Matching time this connection may still take.
    left: Duration,
    at: Instant,
    /// The budget ran out, and has not yet refilled to a message's budget.
    spent: bool,
    /// The last message's rules were skipped, and the page was told.
    skipping: bool,
}

/// A message that regex rules are to look at: matched by [`Answering::apart`].
pub struct Pending {
    eligible: Vec<usize>,
    message: Bytes,
}

impl Answering {
    pub fn new(responder: Responder, now: Instant) -> Answering {
        Answering {
            responder,
            left: CONNECTION_BUDGET,
            at: now,
            spent: false,
            skipping: false,
        }
    }

    /// The connection opened: the greeting, if a rule gives one (no regex looks at it).
    pub fn on_connect(&mut self, rules: &RuleSet, local_time: &dyn Fn() -> String) -> Answer {
        self.responder.on_connect(rules, Instant::now(), local_time)
    }

    /// The answer to `message`, when no regex rule is to look at it; otherwise what
    /// [`Answering::apart`] needs to match it on a thread of its own.
    pub fn at_once(
        &mut self,
        rules: &RuleSet,
        message: &[u8],
        local_time: &dyn Fn() -> String,
    ) -> Result<Answer, Pending> {
        let eligible = self.responder.eligible(rules);
        // The common case, no rule for this connection, reads no clock.
        if eligible.is_empty() {
            return Ok(Answer::Nothing);
        }
        if rules.costly(&eligible) {
            return Err(Pending {
                eligible,
                message: Bytes::copy_from_slice(message),
            });
        }
        let found = rules.find(&eligible, Some(message), None);
        Ok(self
            .responder
            .settle(rules, found, Some(message), Instant::now(), local_time))
    }

    /// Matches a message on a thread apart from the async workers, within its budgets. The
    /// time it waits for a thread is not charged: the budgets bound the threads' time alone.
    pub async fn apart(
        &mut self,
        rules: Arc<RuleSet>,
        pending: Pending,
        local_time: fn() -> String,
    ) -> Answer {
        self.refill(Instant::now());
        let by_connection = self.left < MESSAGE_BUDGET;
        self.spent &= by_connection;
        let Pending { eligible, message } = pending;
        let (found, took) = if self.spent {
            // The rules before the first regex are still tried.
            let now = Instant::now();
            (
                rules.find(&eligible, Some(&message), Some(now)),
                Duration::ZERO,
            )
        } else {
            let turn = THREADS_FREE.turn(CONNECTION_BUDGET - self.left).await;
            self.refill(Instant::now());
            let budget = self.left.min(MESSAGE_BUDGET);
            let (rules, message) = (rules.clone(), message.clone());
            tokio::task::spawn_blocking(move || {
                let _turn = turn;
                let began = Instant::now();
                let found = rules.find(&eligible, Some(&message), Some(began + budget));
                (found, began.elapsed())
            })
            .await
            // The runtime is shutting down: nobody is left to answer.
            .unwrap_or((Found::Nothing, Duration::ZERO))
        };
        self.left = self.left.saturating_sub(took);
        self.spent |= self.left.is_zero();
        match found {
            Found::OutOfTime(index) => {
                let first = !self.skipping;
                self.skipping = true;
                if first {
                    Answer::Skipped {
                        rule: rules.id(index).to_owned(),
                        by_connection,
                    }
                } else {
                    Answer::Nothing
                }
            }
            found => {
                self.skipping = false;
                self.responder
                    .settle(&rules, found, Some(&message), Instant::now(), &local_time)
            }
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at);
        self.at = self.at.max(now);
        self.left = (self.left + elapsed.mul_f64(REFILL)).min(CONNECTION_BUDGET);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::rules::{ReplyBody, Rule, Trigger};
    use protocol::Origin;

    fn clock() -> String {
        String::new()
    }

    /// Rules slow on long lines of words and spaces (about 40 ms per MiB each, more when the
    /// machine is loaded), then one that answers anything.
    fn slow_rules(slow: usize) -> Arc<RuleSet> {
        let mut rules: Vec<Rule> = (0..slow)
            .map(|i| {
                let pattern = format!(r"(?-u:\w{{40}}z\w{{40}}q{})", i % 10);
                Rule::new(
                    format!("slow{i}"),
                    Trigger::Regex { pattern },
                    ReplyBody::Text("slow".into()),
                )
            })
            .collect();
        rules.push(Rule::new(
            "any",
            Trigger::Any,
            ReplyBody::Text("any".into()),
        ));
        Arc::new(RuleSet::compile(&rules).unwrap())
    }

    /// A MiB of short words, each followed by `q` and a digit: every slow rule must look.
    fn words() -> Vec<u8> {
        let mut line = Vec::with_capacity(1 << 20);
        let mut i = 0u32;
        while line.len() < 1 << 20 {
            line.extend_from_slice(format!("z{i:x}abcdefghijklq{} ", i % 10).as_bytes());
            i += 1;
        }
        line
    }

    async fn answer(answering: &mut Answering, rules: &Arc<RuleSet>, message: &[u8]) -> Answer {
        match answering.at_once(rules, message, &clock) {
            Ok(answer) => answer,
            Err(pending) => answering.apart(rules.clone(), pending, clock).await,
        }
    }

    fn answering() -> Answering {
        Answering::new(
            Responder::new(1, Origin::Accepted, Instant::now()),
            Instant::now(),
        )
    }

    #[tokio::test]
    async fn a_message_past_its_budget_skips_the_rest_and_says_so_once() {
        let rules = slow_rules(256 - 1);
        let line = words();
        let mut m = answering();
        let start = Instant::now();
        let first = answer(&mut m, &rules, &line).await;
        let took = start.elapsed();
        let Answer::Skipped {
            rule,
            by_connection: false,
        } = first
        else {
            panic!("expected a skip, got {first:?} after {took:?}");
        };
        assert_ne!(rule, "slow0", "the first regex rule is always tried");
        // The budget, and at most one regex past it.
        assert!(took < Duration::from_secs(2), "{took:?}");
        // Told once: the next skip says nothing.
        assert_eq!(answer(&mut m, &rules, &line).await, Answer::Nothing);
        // A message that cannot match any regex costs little, and the rules answer again.
        assert!(matches!(
            answer(&mut m, &rules, b"hello").await,
            Answer::Reply(_)
        ));
    }

    #[tokio::test]
    async fn a_connection_past_its_budget_skips_its_regexes_at_once() {
        let rules = slow_rules(256 - 1);
        let line = words();
        let mut m = answering();
        let mut told = None;
        for _ in 0..20 {
            if let Answer::Skipped {
                rule,
                by_connection: true,
            } = answer(&mut m, &rules, &line).await
            {
                told = Some(rule);
                break;
            }
            m.skipping = false;
        }
        assert!(told.is_some(), "the connection's budget never ran out");
        // Spent: the next message tries no regex at all.
        m.skipping = false;
        let start = Instant::now();
        let skipped = answer(&mut m, &rules, &line).await;
        assert_eq!(
            skipped,
            Answer::Skipped {
                rule: "slow0".into(),
                by_connection: true
            }
        );
        assert!(start.elapsed() < Duration::from_millis(100));
    }

    #[tokio::test]
    async fn rules_without_a_regex_answer_at_once() {
        let rules = Arc::new(
            RuleSet::compile(&[Rule::new("any", Trigger::Any, ReplyBody::Text("x".into()))])
                .unwrap(),
        );
        let mut m = answering();
        assert!(matches!(
            m.at_once(&rules, b"hi", &clock),
            Ok(Answer::Reply(_))
        ));
    }
}
