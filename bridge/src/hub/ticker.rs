//! What changes too often to tell pages each time it changes, told a few times a second
//! instead: the bytes waiting to be written to a connection, and the rules' hit counts; and
//! what the transcript's writer has to tell (lines it could not write), which it cannot tell
//! pages itself.

use std::time::Duration;

use protocol::{Event, Problem, ProblemKind, RuleHits};

use super::Hub;

/// How often pages hear how many bytes wait to be written to a peer, while that changes.
pub const WAITING_EVERY: Duration = Duration::from_millis(250);

impl Hub {
    /// Tells pages, every [`WAITING_EVERY`], what changes too often to tell each time: how many
    /// bytes wait to be written to the connections where that changed, and the rules' hits.
    /// Runs until shutdown.
    pub async fn publish_changes(self) {
        let mut tick = tokio::time::interval(WAITING_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = self.inner.shutdown.cancelled() => return,
            }
            let rules = self.rules();
            let mut s = self.lock();
            // Already on stderr: the writer said it there at once.
            for news in self.inner.transcript.iter().flat_map(|t| t.news()) {
                self.fan_out(Event::Error(Problem::new(ProblemKind::Other, news)).to_frame());
            }
            let s = &mut *s;
            for id in s.waiting_changed.drain() {
                if let Some(conn) = s.conns.get_mut(&id) {
                    // Nothing to say of a send queued and written between two ticks.
                    let waits = conn.info.waiting > 0;
                    if waits || conn.waiting_told {
                        self.publish(&conn.info);
                        conn.waiting_told = waits;
                    }
                }
            }
            let hits = rules.hits();
            if hits.iter().map(|(_, n)| *n).ne(s.hits_told.iter().copied()) {
                s.hits_told = hits.iter().map(|(_, n)| *n).collect();
                let hits = hits
                    .into_iter()
                    .map(|(rule, hits)| RuleHits { rule, hits })
                    .collect();
                self.fan_out(Event::RuleHits { hits }.to_frame());
            }
        }
    }
}
