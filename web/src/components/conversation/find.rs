//! Find within a conversation: the records whose text (or hex, in the hex view) contains what
//! the user typed, in any case.
//!
//! Decoding and lowercasing every record is the costly part, so it is done once per chunk of
//! the log and search: new records search only the chunk they landed in, and a render for any
//! other reason (typing in the composer, another connection's traffic) searches nothing.

use std::rc::Rc;

use yew::prelude::*;

use crate::bytes_view::hex::{hex_line, hex_view};
use crate::bytes_view::text::{render_text_in, Piece};
use crate::state::{Encodings, Entry, Log, Rec, ViewMode};

/// What is searched for, and in which view of the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Search {
    /// In lower case, not empty.
    pub query: String,
    /// How text reads, by the way a record went.
    pub encodings: Encodings,
    pub view: ViewMode,
}

impl Search {
    /// The search for what the user typed, or `None` when there is nothing to search for.
    pub fn new(typed: &str, encodings: Encodings, view: ViewMode) -> Option<Search> {
        let query = typed.trim().to_lowercase();
        (!query.is_empty()).then_some(Search {
            query,
            encodings,
            view,
        })
    }

    /// Whether a record's text (or hex, in the hex view) contains the query.
    pub fn matches(&self, rec: &Rec) -> bool {
        let shown = match self.view {
            ViewMode::Hex => hex_view(&rec.data),
            ViewMode::LogHex => hex_line(&rec.data),
            ViewMode::Text | ViewMode::Log => {
                render_text_in(&rec.data, self.encodings.of(rec.head.flow))
                    .into_iter()
                    .map(|p| match p {
                        Piece::Text(t) | Piece::Escape(t) => t,
                    })
                    .collect()
            }
        };
        shown.to_lowercase().contains(&self.query)
    }
}

/// The matches in one chunk of a log, as of the length it had then.
struct Found {
    chunk: Rc<Vec<Entry>>,
    len: usize,
    hits: Vec<usize>,
}

/// Matches of the last search, chunk by chunk.
#[derive(Default)]
pub struct FindCache {
    search: Option<Search>,
    chunks: Vec<Found>,
    /// Chunks searched, all told.
    #[cfg(test)]
    searched: usize,
}

impl FindCache {
    /// The records of `log` that match `search`, oldest first.
    pub fn find(&mut self, log: &Log, search: &Search) -> Vec<Entry> {
        if self.search.as_ref() != Some(search) {
            self.search = Some(search.clone());
            self.chunks.clear();
        }
        // The log only loses chunks at its front and grows at its end, so the chunks searched
        // before are met in the same order.
        let mut old = std::mem::take(&mut self.chunks).into_iter().peekable();
        for (chunk, _) in log.chunks_from(0) {
            while old.next_if(|f| !Rc::ptr_eq(&f.chunk, chunk)).is_some() {}
            let found = match old.next_if(|f| f.len == chunk.len()) {
                Some(found) => found,
                None => {
                    #[cfg(test)]
                    {
                        self.searched += 1;
                    }
                    Found {
                        chunk: chunk.clone(),
                        len: chunk.len(),
                        hits: chunk
                            .iter()
                            .enumerate()
                            .filter(|(_, e)| matches!(e, Entry::Record(r) if search.matches(r)))
                            .map(|(i, _)| i)
                            .collect(),
                    }
                }
            };
            self.chunks.push(found);
        }
        self.chunks
            .iter()
            .flat_map(|f| f.hits.iter().map(|&i| f.chunk[i].clone()))
            .collect()
    }
}

/// The records of `log` that match `search`, found again only when the log or the search
/// changed, and then only in the chunks that changed.
#[hook]
pub fn use_find(log: Log, search: Option<Search>) -> Rc<Vec<Entry>> {
    let cache = use_mut_ref(FindCache::default);
    use_memo((log, search), move |(log, search)| match search {
        Some(search) => cache.borrow_mut().find(log, search),
        None => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Encoding;
    use crate::state::Limits;
    use protocol::Flow;

    fn push(log: &mut Log, seq: u64, text: &str) {
        let rec = Rec::new(seq, Flow::Rx, 0, text.as_bytes().into());
        log.push(Entry::Record(rec), Limits::default());
    }

    fn seqs(found: &[Entry]) -> Vec<u64> {
        found
            .iter()
            .map(|e| match e {
                Entry::Record(r) => r.head.seq,
                Entry::Note { .. } | Entry::File(_) => 0,
            })
            .collect()
    }

    #[test]
    fn matches_ignore_case_and_follow_the_view() {
        let rec = |text: &str| Rec::new(1, Flow::Rx, 0, text.as_bytes().into());
        let text = Search::new(" BET ", Encodings::default(), ViewMode::Text).unwrap();
        assert!(text.matches(&rec("alphabet")));
        assert!(!text.matches(&rec("gamma")));
        let hex = Search::new("6c 6c", Encodings::default(), ViewMode::Hex).unwrap();
        assert!(hex.matches(&rec("hello")));
        // The hex log's line holds a message's bytes on one line: a query may span 16 of them.
        let line = Search::new("0f 10", Encodings::default(), ViewMode::LogHex).unwrap();
        let bytes: Vec<u8> = (0..20).collect();
        assert!(line.matches(&Rec::new(1, Flow::Rx, 0, bytes.into())));
        assert!(!line.matches(&rec("hello")));
        assert!(Search::new("  ", Encodings::default(), ViewMode::Text).is_none());
    }

    #[test]
    fn each_way_is_searched_in_its_own_encoding() {
        // A proxied conversation: a UTF-8 client, a GBK server; both say 你好.
        let encodings = Encodings {
            rx: Encoding::Utf8,
            tx: Encoding::Gbk,
        };
        let search = Search::new("你好", encodings, ViewMode::Text).unwrap();
        let said = |flow, bytes: &[u8]| Rec::new(1, flow, 0, bytes.into());
        assert!(search.matches(&said(Flow::Rx, "你好".as_bytes())));
        assert!(search.matches(&said(Flow::Tx, &[0xc4, 0xe3, 0xba, 0xc3])));
        assert!(!search.matches(&said(Flow::Rx, &[0xc4, 0xe3, 0xba, 0xc3])));
    }

    #[test]
    fn only_chunks_that_changed_are_searched_again() {
        let search = Search::new("x", Encodings::default(), ViewMode::Text).unwrap();
        let mut log = Log::default();
        for seq in 1..=600 {
            push(&mut log, seq, if seq % 100 == 0 { "x" } else { "o" });
        }
        let mut cache = FindCache::default();
        assert_eq!(
            seqs(&cache.find(&log, &search)),
            [100, 200, 300, 400, 500, 600]
        );
        assert_eq!(cache.searched, 3);
        let keep = log.clone(); // shares the chunks, as the previous state does
        push(&mut log, 601, "X marks it");
        assert_eq!(
            seqs(&cache.find(&log, &search)),
            [100, 200, 300, 400, 500, 600, 601]
        );
        assert_eq!(
            cache.searched, 4,
            "only the last chunk, which grew, is searched again"
        );
        cache.find(&log, &search);
        assert_eq!(cache.searched, 4, "nothing changed: nothing searched");
        drop(keep);
        let other = Search::new("o", Encodings::default(), ViewMode::Text).unwrap();
        assert_eq!(cache.find(&log, &other).len(), 594);
    }
}
