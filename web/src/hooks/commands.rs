//! What the views do to the page and to the bridge, handed to them as a context (as the device
//! simulator's [`super::device::DeviceCtx`] is) rather than threaded through `App`'s props.
//! Every callback is made once, so the context compares equal from one render to the next and
//! no view is drawn again for it.

use protocol::rules::Rule;
use protocol::{Command, ConnId, Frame, Target, ToBridge, Transmit};
use yew::prelude::*;

use super::latest::Latest;
use crate::components::page_encoding;
use crate::dial::Dial;
use crate::encoding::Encoding;
use crate::state::{Action, Asked, State};

#[derive(Clone, PartialEq)]
pub struct Commands {
    /// Changes what the page shows, or how (a selection, a view, an encoding, ...).
    pub dispatch: Callback<Action>,
    /// Sends the bridge a command; an error says why it could not be sent.
    pub command: Callback<Command, Result<(), String>>,
    /// Sends the bridge a command whose failure to go out is a notice (disconnect, forget).
    pub order: Callback<Command>,
    /// Sends bytes to a connection or to all, with the broadcast flag in force for it, and to
    /// a proxied conversation's server or client as its composer says.
    pub transmit: Callback<(Target, Vec<u8>), Result<(), String>>,
    /// Asks the bridge to dial, and shows the conversation it opens.
    pub connect: Callback<Dial, Result<(), String>>,
    /// A listener command: a failure that comes back is shown at that listener.
    pub listener: Callback<Command, Result<(), String>>,
    /// Shows a conversation, and types into it.
    pub pick: Callback<ConnId>,
    /// Sends the whole rule set.
    pub save_rules: Callback<Vec<Rule>, Result<(), String>>,
    /// The page's own encoding for new connections (kept in the browser), or the bridge's.
    pub page_encoding: Callback<Option<Encoding>>,
}

/// Makes the page's commands (in `App`, which provides them). `send` sends a frame to the bridge; `latest` is the state as last
/// rendered (what a send reads when it goes: its broadcast flag); `show` brings the
/// conversation into view, and with `true` the focus to the composer.
#[hook]
pub fn use_new_commands(
    dispatch: Callback<Action>,
    send: Callback<Frame, Result<(), String>>,
    latest: Latest<UseReducerHandle<State>>,
    show: Callback<bool>,
) -> Commands {
    let command = {
        let send = send.clone();
        use_callback((), move |cmd: Command, _| send.emit(cmd.to_frame()))
    };
    let order = {
        let (command, dispatch) = (command.clone(), dispatch.clone());
        use_callback((), move |cmd: Command, _| {
            if let Err(msg) = command.emit(cmd) {
                dispatch.emit(Action::Notice(msg));
            }
        })
    };
    let transmit = {
        let dispatch = dispatch.clone();
        use_callback((), move |(to, data): (Target, Vec<u8>), _| {
            let data = data.into();
            let transmit = Transmit {
                to,
                file: false,
                broadcast: latest.borrow().broadcast_for(to),
                to_server: latest.borrow().to_server_for(to),
                data,
            };
            send.emit(ToBridge::Transmit(transmit).to_frame())?;
            if to == Target::All {
                dispatch.emit(Action::SendingToAll);
            }
            Ok(())
        })
    };
    let connect = {
        let (command, dispatch, show) = (command.clone(), dispatch.clone(), show.clone());
        use_callback((), move |dial: Dial, _| {
            let request = new_request_id();
            command.emit(dial.command(request))?;
            dispatch.emit(Action::Dialling(request));
            show.emit(false);
            Ok(())
        })
    };
    let listener = {
        let (command, dispatch) = (command.clone(), dispatch.clone());
        use_callback((), move |cmd: Command, _| {
            let request = new_request_id();
            let cmd = cmd.with_request(request);
            if let Some(asked) = Asked::of(&cmd) {
                dispatch.emit(Action::AskListener(asked, request));
            }
            command.emit(cmd)
        })
    };
    let pick = {
        let dispatch = dispatch.clone();
        use_callback((), move |id: ConnId, _| {
            dispatch.emit(Action::Select(id));
            show.emit(true);
        })
    };
    let save_rules = {
        let (command, dispatch) = (command.clone(), dispatch.clone());
        use_callback((), move |rules: Vec<Rule>, _| {
            dispatch.emit(Action::SavingRules);
            command.emit(Command::SetRules { rules })
        })
    };
    let page_encoding = {
        let dispatch = dispatch.clone();
        use_callback((), move |choice, _| {
            page_encoding::store(choice);
            dispatch.emit(Action::SetPageEncoding(choice));
        })
    };
    Commands {
        dispatch,
        command,
        order,
        transmit,
        connect,
        listener,
        pick,
        save_rules,
        page_encoding,
    }
}

/// The page's commands, for a view inside `App`.
#[hook]
pub fn use_commands() -> Commands {
    use_context::<Commands>().expect("views are inside App, which provides the commands")
}

/// A request id of the page's own: random, since other pages pick theirs too (53 bits, what a
/// JavaScript number holds exactly).
pub fn new_request_id() -> protocol::RequestId {
    (js_sys::Math::random() * (1u64 << 53) as f64) as protocol::RequestId
}
