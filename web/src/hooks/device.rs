//! What the device simulator's views share, handed down as a context rather than through every
//! view in between: the rules in force (a sent message names the rule that sent it, a received
//! one offers to make a rule for its like), and the ways to reach the bridge that the reading
//! forms and the file sender need. It changes only when the rules do, or the bridge refuses a
//! setting: rarely, so the messages that read it are seldom drawn again for it.

use std::rc::Rc;

use protocol::rules::Rule;
use protocol::{Command, ConnId, ConnSettings, ConnState, Frame, Way};
use yew::prelude::*;

use super::commands::{new_request_id, Commands};
use super::latest::use_latest;
use crate::encoding::Encoding;
use crate::state::file_pace::Probe;
use crate::state::rule_draft::like_message;
use crate::state::{Action, State};

/// How to read what: a connection (or, `None`, the ones that open from now on), the way of it
/// (a proxied conversation's side, or `None`: both), and the settings.
pub type Reading = (Option<ConnId>, Option<Way>, ConnSettings);

#[derive(Clone, PartialEq)]
pub struct DeviceCtx {
    /// The rules in force.
    pub rules: Rc<Vec<Rule>>,
    /// Open the rules panel with a rule for messages like these bytes, read in this encoding.
    pub on_reply_like: Callback<(Rc<[u8]>, Encoding)>,
    /// Ask the bridge to learn a simulator from this conversation, and open the rules panel,
    /// where the rules learnt wait for review.
    pub on_learn: Callback<ConnId>,
    /// Read a connection (or, with `None`, new ones) this way: with a [`Way`], one side of a
    /// proxied conversation.
    pub configure: Callback<Reading, Result<(), String>>,
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

/// The rules panel: closed, or open (its key, to start afresh each time it opens, and the rule
/// to edit at once).
pub type RulesOpen = UseStateHandle<Option<(u32, Option<Rule>)>>;

/// The context of the device simulator's views, and the rules panel's state. What a file's
/// sender reads (connections' counters, the rules for a new rule's id) is kept as of the last
/// render, for callbacks that run between renders.
#[hook]
pub fn use_device(
    state: &State,
    commands: &Commands,
    send: Callback<protocol::Frame, Result<(), String>>,
) -> (DeviceCtx, RulesOpen) {
    let Commands {
        dispatch, command, ..
    } = commands.clone();
    let rules_open: RulesOpen = use_state(|| None);
    let rules = state
        .server
        .as_ref()
        .map(|s| s.rules.clone())
        .unwrap_or_default();
    let latest = use_latest((state.conns.clone(), rules.clone()));
    let opened = use_mut_ref(|| 0u32);
    let on_reply_like = {
        let (latest, rules_open, opened) = (latest.clone(), rules_open.clone(), opened.clone());
        use_callback((), move |(bytes, encoding): (Rc<[u8]>, _), _| {
            let rule = like_message(&bytes, encoding, &latest.borrow().1);
            *opened.borrow_mut() += 1;
            rules_open.set(Some((*opened.borrow(), Some(rule))));
        })
    };
    let on_learn = {
        let (command, dispatch, rules_open) =
            (command.clone(), dispatch.clone(), rules_open.clone());
        let opened = opened.clone();
        use_callback((), move |conn: ConnId, _| {
            let request = new_request_id();
            dispatch.emit(Action::Learning { conn, request });
            if let Err(why) = command.emit(Command::Learn {
                conn,
                request: Some(request),
            }) {
                dispatch.emit(Action::Notice(why));
                return dispatch.emit(Action::LearntDone);
            }
            *opened.borrow_mut() += 1;
            rules_open.set(Some((*opened.borrow(), None)));
        })
    };
    let probe = {
        let latest = latest.clone();
        use_callback((), move |id: ConnId, _| {
            latest.borrow().0.get(&id).map(|c| Probe {
                state: c.info.state,
                tx_bytes: c.info.tx_bytes,
                waiting: c.info.waiting,
                refused: c.refused,
            })
        })
    };
    let open_conns = use_callback((), move |(), _| {
        let latest = latest.borrow();
        let open = latest
            .0
            .values()
            .filter(|c| c.info.state == ConnState::Open);
        open.map(|c| c.info.id).collect()
    });
    let file_stopped = {
        let dispatch = dispatch.clone();
        use_callback((), move |conns, _| {
            dispatch.emit(Action::FileStopped(conns))
        })
    };
    let configure = {
        let (command, dispatch) = (command, dispatch);
        use_callback((), move |(conn, way, settings), _| {
            dispatch.emit(Action::Configuring);
            command.emit(Command::Configure {
                conn,
                way,
                settings,
            })
        })
    };
    let device_ctx = DeviceCtx {
        rules: Rc::new(rules),
        on_reply_like,
        on_learn,
        configure,
        settings_problem: state.settings_problem.clone(),
        frame: send,
        probe,
        open_conns,
        file_stopped,
    };
    (device_ctx, rules_open)
}
