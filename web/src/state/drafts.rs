//! What was typed for a conversation and not sent, kept while another is in view: switching
//! conversations puts away the draft of the one left and brings back that of the one chosen
//! (their composer options are each conversation's own already, see [`super::Conv`]).
//!
//! At most [`DRAFTS_MAX`] drafts are kept, the one put away longest ago dropped first, so that
//! a page open for days over thousands of conversations holds a bounded amount.

use std::collections::VecDeque;

/// How many drafts are kept.
pub const DRAFTS_MAX: usize = 100;

/// Drafts by conversation (`K`), the one put away longest ago first.
#[derive(Clone, Debug)]
pub struct Drafts<K> {
    kept: VecDeque<(K, String)>,
}

impl<K> Default for Drafts<K> {
    fn default() -> Self {
        Drafts {
            kept: VecDeque::new(),
        }
    }
}

impl<K: PartialEq> Drafts<K> {
    /// Puts `typed` away as `from`'s draft (an empty one is no draft), and takes out `to`'s.
    pub fn switch(&mut self, from: K, typed: String, to: &K) -> String {
        self.kept.retain(|(k, _)| *k != from);
        if !typed.is_empty() {
            self.kept.push_back((from, typed));
            if self.kept.len() > DRAFTS_MAX {
                self.kept.pop_front();
            }
        }
        match self.kept.iter().position(|(k, _)| k == to) {
            Some(i) => self
                .kept
                .remove(i)
                .map(|(_, text)| text)
                .unwrap_or_default(),
            None => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_conversation_gets_its_own_draft_back() {
        let mut drafts = Drafts::default();
        assert_eq!(drafts.switch(Some(1), "for one".into(), &Some(2)), "");
        assert_eq!(
            drafts.switch(Some(2), "for two".into(), &Some(1)),
            "for one"
        );
        assert_eq!(drafts.switch(Some(1), String::new(), &None), "");
        assert_eq!(
            drafts.kept.len(),
            1,
            "one's draft was sent or cleared: none kept"
        );
        assert_eq!(drafts.switch(None, String::new(), &Some(2)), "for two");
        assert!(
            drafts.kept.is_empty(),
            "a draft taken out is the composer's"
        );
    }

    #[test]
    fn at_most_a_hundred_are_kept_the_oldest_dropped() {
        let mut drafts = Drafts::default();
        for i in 0..=DRAFTS_MAX {
            drafts.switch(i, format!("draft {i}"), &usize::MAX);
        }
        assert_eq!(drafts.kept.len(), DRAFTS_MAX);
        assert_eq!(
            drafts.switch(usize::MAX, String::new(), &0),
            "",
            "the oldest went"
        );
        assert_eq!(drafts.switch(0, String::new(), &1), "draft 1");
    }
}
