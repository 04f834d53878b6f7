//! Up and Down walk the messages sent before, as in a shell: only when the caret is on the
//! first or last line, so that they still move the caret in a long message.

use std::cell::RefCell;
use std::rc::Rc;

use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

/// How many sent messages Up can recall.
const HISTORY_LEN: usize = 100;

/// Messages sent before, and where Up/Down have got to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    items: Vec<String>,
    /// The item being shown, while walking the history.
    pos: Option<usize>,
    /// What was in the composer before walking started, restored by walking past the newest.
    draft: String,
}

impl History {
    pub fn push(&mut self, text: &str) {
        self.pos = None;
        self.draft.clear();
        if text.is_empty() || self.items.last().is_some_and(|last| last == text) {
            return;
        }
        self.items.push(text.to_string());
        if self.items.len() > HISTORY_LEN {
            self.items.remove(0);
        }
    }

    /// The text to show after Up, if there is an older message.
    pub fn up(&mut self, current: &str) -> Option<String> {
        let next = match self.pos {
            None if self.items.is_empty() => return None,
            None => {
                self.draft = current.to_string();
                self.items.len() - 1
            }
            Some(0) => return None,
            Some(i) => i - 1,
        };
        self.pos = Some(next);
        Some(self.items[next].clone())
    }

    /// The text to show after Down, if walking the history.
    pub fn down(&mut self) -> Option<String> {
        let i = self.pos?;
        if i + 1 < self.items.len() {
            self.pos = Some(i + 1);
            Some(self.items[i + 1].clone())
        } else {
            self.pos = None;
            Some(std::mem::take(&mut self.draft))
        }
    }

    /// The user typed: they are editing, no longer walking.
    pub fn edited(&mut self) {
        self.pos = None;
    }

    /// The text to show for an Up or Down key in `area`, if the key walks the history; the
    /// key's own action is then cancelled.
    pub fn walk(&mut self, e: &KeyboardEvent, area: &HtmlTextAreaElement) -> Option<String> {
        let value = area.value();
        let shown = match e.key().as_str() {
            "ArrowUp" => {
                let caret = area.selection_start().ok().flatten().unwrap_or(0);
                (value.is_empty() || on_first_line(&value, caret))
                    .then(|| self.up(&value))
                    .flatten()
            }
            "ArrowDown" => {
                let caret = area.selection_end().ok().flatten().unwrap_or(0);
                (value.is_empty() || on_last_line(&value, caret))
                    .then(|| self.down())
                    .flatten()
            }
            _ => None,
        };
        if shown.is_some() {
            e.prevent_default();
        }
        shown
    }
}

/// The composer's history of sent messages, kept for the life of the page.
#[hook]
pub fn use_send_history() -> Rc<RefCell<History>> {
    use_mut_ref(History::default)
}

/// Whether the caret (a UTF-16 offset, as the DOM gives it) is on the first line of `text`.
pub fn on_first_line(text: &str, caret: u32) -> bool {
    !text
        .encode_utf16()
        .take(caret as usize)
        .any(|u| u == u16::from(b'\n'))
}

/// Whether the caret (a UTF-16 offset) is on the last line of `text`.
pub fn on_last_line(text: &str, caret: u32) -> bool {
    !text
        .encode_utf16()
        .skip(caret as usize)
        .any(|u| u == u16::from(b'\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_and_down_walk_the_history_and_restore_the_draft() {
        let mut h = History::default();
        assert_eq!(h.up(""), None, "nothing sent yet");
        h.push("one");
        h.push("two");
        h.push("two"); // repeated: kept once
        h.push("");
        assert_eq!(h.up("draft"), Some("two".into()));
        assert_eq!(h.up("two"), Some("one".into()));
        assert_eq!(h.up("one"), None, "oldest reached");
        assert_eq!(h.down(), Some("two".into()));
        assert_eq!(
            h.down(),
            Some("draft".into()),
            "past the newest: the draft again"
        );
        assert_eq!(h.down(), None);
        // Typing stops the walk; the next Up starts from the newest again.
        h.up("");
        h.up("");
        h.edited();
        assert_eq!(h.up("x"), Some("two".into()));
    }

    #[test]
    fn history_is_bounded() {
        let mut h = History::default();
        for i in 0..(HISTORY_LEN + 10) {
            h.push(&i.to_string());
        }
        assert_eq!(h.items.len(), HISTORY_LEN);
        assert_eq!(h.items[0], "10");
    }

    #[test]
    fn caret_lines() {
        let text = "你好\nsecond\nthird";
        assert!(on_first_line(text, 0));
        assert!(on_first_line(text, 2), "after 你好, in UTF-16 units");
        assert!(!on_first_line(text, 3));
        assert!(!on_last_line(text, 2));
        assert!(on_last_line(text, 10));
        assert!(on_last_line(text, 15));
        assert!(on_first_line("", 0) && on_last_line("", 0));
    }
}
