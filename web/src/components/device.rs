//! What the device simulator's views share, handed down as a context rather than through every
//! view in between: the rules in force (a sent message names the rule that sent it, a received
//! one offers to make a rule for its like), and the ways to reach the bridge that the reading
//! forms and the file sender need. It changes only when the rules do, or the bridge refuses a
//! setting: rarely, so the messages that read it are seldom drawn again for it.

use std::rc::Rc;

use protocol::rules::Rule;
use protocol::{ConnId, ConnSettings, Frame};
use yew::prelude::*;

use crate::encoding::Encoding;
use crate::state::pacing::Probe;

#[derive(Clone, PartialEq)]
pub struct DeviceCtx {
    /// The rules in force.
    pub rules: Rc<Vec<Rule>>,
    /// Open the rules panel with a rule for messages like these bytes, read in this encoding.
    pub on_reply_like: Callback<(Rc<[u8]>, Encoding)>,
    /// Read a connection (or, with `None`, new ones) this way.
    pub configure: Callback<(Option<ConnId>, ConnSettings), Result<(), String>>,
    /// Why the bridge refused the last settings chosen here: for which connection (or `None`,
    /// new ones), and the reason.
    pub settings_problem: Option<(Option<ConnId>, Rc<str>)>,
    /// Sends a frame to the bridge as it is (a file's parts).
    pub frame: Callback<Frame, Result<(), String>>,
    /// A connection as the page knows it now, read when called (not when rendered).
    pub probe: Callback<ConnId, Option<Probe>>,
    /// The open connections now, for a file sent to all.
    pub open_conns: Callback<(), Vec<ConnId>>,
    /// A file sent to these connections stopped before its end.
    pub file_stopped: Callback<Vec<ConnId>>,
}

impl DeviceCtx {
    /// How a sent message names the rule that sent it: its name, else its id.
    pub fn rule_name(&self, id: &str) -> String {
        self.rules
            .iter()
            .find(|r| r.id == id && !r.name.is_empty())
            .map_or_else(|| id.to_owned(), |r| r.name.clone())
    }
}
