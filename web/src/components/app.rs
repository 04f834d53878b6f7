//! The page: header, connection list and dial form on the side, the selected conversation and
//! the composer in the middle. Holds the state (`use_reducer`) and the link to the bridge, and
//! turns what the user does into actions and commands.

use protocol::{Command, ConnState, Target, ToBridge, Transmit, Transport};
use yew::prelude::*;

use crate::components::bridge::use_bridge;
use crate::components::composer::{Composer, SendTarget};
use crate::components::conn_list::ConnList;
use crate::components::connect_form::ConnectForm;
use crate::components::conversation::Conversation;
use crate::components::listener_form::ListenerForm;
use crate::components::status::Notices;
use crate::components::topbar::{use_unread_title, TopBar};
use crate::state::{Action, State};
use crate::wire::SocketStatus;

#[component]
pub fn App() -> Html {
    let state = use_reducer(State::default);
    let dispatch: Callback<Action> = state.dispatcher().into();
    let send = use_bridge(dispatch.clone());

    // Commands go to the bridge; what they change comes back as events.
    let command = {
        let send = send.clone();
        use_callback((), move |cmd: Command, _| send.emit(cmd.to_frame()))
    };
    let on_forget = {
        let (command, dispatch) = (command.clone(), dispatch.clone());
        use_callback((), move |(), _| {
            if let Err(msg) = command.emit(Command::ForgetClosed) {
                dispatch.emit(Action::Notice(msg));
            }
        })
    };
    let on_connect = {
        let command = command.clone();
        let dispatch = dispatch.clone();
        use_callback((), move |(host, port): (String, u16), _| {
            let request = new_request_id();
            command.emit(Command::Connect {
                host,
                port,
                transport: Transport::Tcp,
                accept_any_certificate: false,
                request: Some(request),
            })?;
            dispatch.emit(Action::Dialling(request));
            Ok(())
        })
    };
    let on_disconnect = {
        let command = command.clone();
        let dispatch = dispatch.clone();
        use_callback((), move |conn, _| {
            if let Err(msg) = command.emit(Command::Disconnect { conn }) {
                dispatch.emit(Action::Notice(msg));
            }
        })
    };
    let on_listen = {
        let command = command.clone();
        use_callback((), move |addr: Option<String>, _| {
            command.emit(match addr {
                Some(addr) => Command::Listen {
                    addr,
                    transport: Transport::Tcp,
                },
                None => Command::StopListening {
                    transport: Transport::Tcp,
                },
            })
        })
    };
    let on_send = {
        let send = send.clone();
        use_callback((), move |(to, data): (Target, Vec<u8>), _| {
            let data = data.into();
            let transmit = Transmit {
                to,
                file: false,
                broadcast: false,
                data,
            };
            send.emit(ToBridge::Transmit(transmit).to_frame())
        })
    };
    let on_select = use_action(dispatch.clone(), Action::Select);
    let on_list = use_action(dispatch.clone(), Action::SetList);
    let on_show_earlier = use_action(dispatch.clone(), Action::ShowEarlier);
    let on_view = use_action(dispatch.clone(), Action::SetView);
    let on_encoding = use_action(dispatch.clone(), |(id, encoding)| {
        Action::SetEncoding(id, encoding)
    });
    let on_dismiss = use_action(dispatch.clone(), Action::Dismiss);

    use_unread_title(state.counts().unread);

    let online = state.socket == SocketStatus::Open;
    let server = state.server.clone();
    let listen = server.as_ref().and_then(|s| s.listen.clone());
    let nc_hint = listen.as_deref().and_then(protocol::address::reachable);
    let default_port = nc_hint.as_ref().map_or(7777, |(_, port)| *port);
    let selected = state.selected_conv().cloned();
    // Both ends of one connection, when the bridge dialled its own listener.
    let twin = selected
        .as_ref()
        .and_then(|sel| state.twin_of(sel).cloned());
    let target = selected.as_ref().map(|c| SendTarget {
        id: c.info.id,
        peer: c.info.peer.clone(),
        open: c.info.state == ConnState::Open,
        encoding: c.encoding,
    });

    html! {
        <div class="app">
            <TopBar {server} socket={state.socket} />
            <Notices notices={state.notices.clone()} {on_dismiss} />
            <div class="layout">
                <aside class="sidebar">
                    <ConnList conns={state.conns.clone()} rows={state.rows.clone()} selected={state.selected}
                              counts={state.counts()} list={state.list.clone()} {on_list}
                              {online} {on_forget} {nc_hint} {on_select} />
                    <ConnectForm {default_port} enabled={online} on_connect={on_connect.clone()} />
                    <ListenerForm listen={listen.clone()} enabled={online} {on_listen} on_connect={on_connect.clone()} />
                </aside>
                <main class="main">
                    <div class={classes!("conversations", twin.is_some().then_some("both-ends"))}>
                        <Conversation conv={selected} view={state.view} on_view={on_view.clone()}
                                      on_encoding={on_encoding.clone()} on_show_earlier={on_show_earlier.clone()}
                                      on_redial={on_connect.clone()} on_disconnect={on_disconnect.clone()} {online} />
                        if twin.is_some() {
                            <Conversation conv={twin.clone()} twin=true view={state.view} {on_view}
                                          {on_encoding} {on_show_earlier} on_redial={on_connect.clone()}
                                          {on_disconnect} {online} />
                        }
                    </div>
                    <Composer {target} open_count={state.open_count()} {online} {on_send} />
                </main>
            </div>
        </div>
    }
}

/// A request id of the page's own: random, since other pages pick theirs too (53 bits, what a
/// JavaScript number holds exactly).
fn new_request_id() -> protocol::RequestId {
    (js_sys::Math::random() * (1u64 << 53) as f64) as protocol::RequestId
}

/// A callback that dispatches `make(input)`: the same callback on every render, so that the
/// components it is given to compare equal and are not rendered again for nothing.
#[hook]
fn use_action<IN: 'static>(dispatch: Callback<Action>, make: fn(IN) -> Action) -> Callback<IN> {
    use_callback((), move |input: IN, _| dispatch.emit(make(input)))
}
