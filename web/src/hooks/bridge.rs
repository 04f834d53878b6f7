//! The page's link to the bridge, as a hook: the socket, started once for the life of the
//! page, reporting into the state, and a way to send the bridge a frame.

use protocol::Frame;
use yew::prelude::*;

use crate::state::Action;
use crate::ws::{Handlers, Ws};

/// Starts the socket (once), reporting to `dispatch`; returns what sends a frame on it.
#[hook]
pub fn use_bridge(dispatch: Callback<Action>) -> Callback<Frame, Result<(), String>> {
    let ws = use_mut_ref(|| None::<Ws>);
    {
        let ws = ws.clone();
        use_effect_with((), move |_| {
            *ws.borrow_mut() = Some(Ws::start(Handlers {
                on_status: dispatch.reform(Action::Socket),
                on_batch: dispatch.reform(Action::Events),
                on_problem: dispatch.reform(Action::Notice),
            }));
            move || drop(ws.borrow_mut().take())
        });
    }
    use_callback((), move |frame: Frame, _| match ws.borrow().as_ref() {
        Some(ws) => ws.send(&frame),
        None => Err("Not connected to the bridge yet: try again in a moment.".to_string()),
    })
}
