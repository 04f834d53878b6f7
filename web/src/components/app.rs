//! The page: header, connection list and dial form on the side, the selected conversation (or
//! both ends of one connection) and the composer in the middle. Holds the state
//! (`use_reducer`) and the link to the bridge, and turns what the user does into actions and
//! commands. In a narrow window the side folds into tabs, the conversation first. The device
//! simulator's views (reading forms, rules, files) reach the bridge through the contexts of
//! [`crate::components::device`], and the rules panel opens over the page.

use std::rc::Rc;

use protocol::rules::Rule;
use protocol::{Command, ConnId, Origin, Target, ToBridge, Transmit, Transport};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};
use yew::prelude::*;

use crate::components::bridge::use_bridge;
use crate::components::composer::{Composer, SendTarget, FOCUS_KEY};
use crate::components::conn_list::ConnList;
use crate::components::connect_form::{ConnectForm, Dial};
use crate::components::conversation::{Conversation, Pane, Side};
use crate::components::device::{use_device, DeviceCtx};
use crate::components::device_section::device_section;
use crate::components::listener_form::ListenerForm;
use crate::components::page_encoding;
use crate::components::rules::RulesPanel;
use crate::components::status::Notices;
use crate::components::topbar::{use_unread_title, TopBar};
use crate::state::SocketStatus;
use crate::state::{reduce, Action, Asked, Conv, State};

/// What a narrow window shows; a wide one shows all three.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tab {
    Conversation,
    Connections,
    Setup,
}

impl Tab {
    fn class(self) -> &'static str {
        match self {
            Tab::Conversation => "tab-conversation",
            Tab::Connections => "tab-connections",
            Tab::Setup => "tab-setup",
        }
    }
}

#[component]
pub fn App() -> Html {
    let state = use_reducer(|| {
        reduce(
            State::default(),
            Action::SetPageEncoding(page_encoding::load()),
        )
    });
    let dispatch: Callback<Action> = state.dispatcher().into();
    let send = use_bridge(dispatch.clone());
    let tab = use_state(|| Tab::Conversation);
    // Bumped when the composer should take the focus.
    let focus = use_state(|| 0u32);
    use_focus_key(tab.setter());

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
        let tab = tab.setter();
        use_callback((), move |dial: Dial, _| {
            let request = new_request_id();
            command.emit(dial.command(request))?;
            dispatch.emit(Action::Dialling(request));
            tab.set(Tab::Conversation);
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
    // A listener command: a failure that comes back is shown at that listener.
    let on_listener = {
        let (command, dispatch) = (command.clone(), dispatch.clone());
        use_callback((), move |cmd: Command, _| {
            if let Some(asked) = Asked::of(&cmd) {
                dispatch.emit(Action::AskListener(asked));
            }
            command.emit(cmd)
        })
    };
    // The state as last rendered, for what a send reads when it goes (its broadcast flag).
    let latest = use_mut_ref(|| state.clone());
    *latest.borrow_mut() = state.clone();
    let on_send = {
        let (send, dispatch) = (send.clone(), dispatch.clone());
        let latest = latest.clone();
        use_callback((), move |(to, data): (Target, Vec<u8>), _| {
            let data = data.into();
            let transmit = Transmit {
                to,
                file: false,
                broadcast: latest.borrow().broadcast_for(to),
                data,
            };
            send.emit(ToBridge::Transmit(transmit).to_frame())?;
            if to == Target::All {
                dispatch.emit(Action::SendingToAll);
            }
            Ok(())
        })
    };
    // The user chose a conversation: show it, and type into it.
    let on_pick = {
        let dispatch = dispatch.clone();
        let (tab, focus) = (tab.setter(), focus.clone());
        use_callback((), move |id: ConnId, _| {
            dispatch.emit(Action::Select(id));
            tab.set(Tab::Conversation);
            focus.set(focus.wrapping_add(1));
        })
    };
    let on_list = use_action(dispatch.clone(), Action::SetList);
    let on_show_earlier = use_action(dispatch.clone(), Action::ShowEarlier);
    let on_view = use_action(dispatch.clone(), |(id, view)| Action::SetView(id, view));
    let on_encoding = use_action(dispatch.clone(), |(id, encoding)| {
        Action::SetEncoding(id, encoding)
    });
    let on_compose = use_action(dispatch.clone(), |(id, options)| {
        Action::SetCompose(id, options)
    });
    let on_to_all = use_action(dispatch.clone(), Action::SetToAll);
    let on_dismiss = use_action(dispatch.clone(), Action::Dismiss);
    let on_broadcast = use_action(dispatch.clone(), Action::SetBroadcast);
    let on_page_encoding = {
        let dispatch = dispatch.clone();
        use_callback((), move |choice, _| {
            page_encoding::store(choice);
            dispatch.emit(Action::SetPageEncoding(choice));
        })
    };
    let (device_ctx, rules_open) =
        use_device(&state, dispatch.clone(), command.clone(), send.clone());
    let defaults_open = use_state(|| false);
    let on_defaults = {
        let defaults_open = defaults_open.clone();
        Callback::from(move |()| defaults_open.set(!*defaults_open))
    };
    let on_rules = {
        let rules_open = rules_open.clone();
        use_callback((), move |(), _| rules_open.set(Some((0, None))))
    };
    let on_rules_close = {
        let rules_open = rules_open.clone();
        use_callback((), move |(), _| rules_open.set(None))
    };
    let on_save_rules = {
        let (command, dispatch) = (command.clone(), dispatch.clone());
        use_callback((), move |rules: Vec<Rule>, _| {
            dispatch.emit(Action::SavingRules);
            command.emit(Command::SetRules { rules })
        })
    };

    use_unread_title(state.counts().unread);

    let online = state.socket == SocketStatus::Open;
    let stale = state.stale();
    let server = state.server.clone();
    let listen = server.as_ref().and_then(|s| s.listen.clone());
    let problem = server.as_ref().and_then(|s| s.listen_problem.clone());
    let nc_hint = listen.as_deref().and_then(protocol::address::reachable);
    // Once the bridge is known: its listener's port, or the tutorial's.
    let default_port = server.as_ref().map(|_| {
        state
            .last_listen
            .as_deref()
            .and_then(protocol::address::split)
            .map_or(7777, |(_, port)| port)
    });
    let selected = state.selected_conv().cloned();
    let broadcast = match (&selected, state.to_all) {
        (_, true) => Some(state.broadcast_all),
        (Some(c), false) if c.info.transport == Transport::Udp => Some(c.broadcast),
        _ => None,
    };
    let listeners = &state.listeners;
    let listen_failure = |asked| listeners.error(asked).cloned();
    let tls_listen = server.as_ref().and_then(|s| s.tls_listen.clone());
    let udp_listen = server.as_ref().and_then(|s| s.udp_listen.clone());
    let last = |t| listeners.last(t).map(String::from);
    let fingerprint = server.as_ref().and_then(|s| s.tls_fingerprint.clone());
    let groups = server
        .as_ref()
        .map(|s| s.groups.clone())
        .unwrap_or_default();
    let target = selected.as_ref().map(|c| SendTarget {
        id: c.info.id,
        peer: c.info.peer.clone(),
        state: c.info.state,
        encoding: c.encoding,
        compose: c.compose,
    });
    // Both ends of one connection, when the bridge dialled its own listener: server side on
    // the left, client side on the right, whichever is selected.
    let both = selected.zip(state.twin_conv().cloned()).map(|(sel, twin)| {
        let (server, client) = match side_of(&sel) {
            Side::Server => (sel, twin),
            Side::Client => (twin, sel),
        };
        let typing = |conv: &Conv| state.selected == Some(conv.info.id);
        [
            (
                server.clone(),
                Pane::Side {
                    side: Side::Server,
                    typing: typing(&server),
                },
            ),
            (
                client.clone(),
                Pane::Side {
                    side: Side::Client,
                    typing: typing(&client),
                },
            ),
        ]
    });
    let sides = both.as_ref().map(|[(server, _), (client, _)]| {
        [
            (server.info.id, Side::Server),
            (client.info.id, Side::Client),
        ]
    });
    let panes: Vec<(Option<Rc<Conv>>, Pane)> = match both {
        Some(both) => both.into_iter().map(|(c, pane)| (Some(c), pane)).collect(),
        None => vec![(state.selected_conv().cloned(), Pane::Single)],
    };
    let counts = state.counts();
    let rules = server.as_ref().map(|s| s.rules.clone()).unwrap_or_default();
    let replies: u64 = state.rule_hits.iter().map(|h| h.hits).sum();
    let defaults = server
        .as_ref()
        .map(|s| s.defaults.clone())
        .unwrap_or_default();
    let rules_panel = (*rules_open).clone().map(|(key, draft)| {
        html! {
            <RulesPanel {key} rules={rules.clone()} hits={state.rule_hits.clone()}
                        problem={state.rules_problem.clone()} {online} {draft}
                        selected={state.selected} default_encoding={state.default_encoding()}
                        on_save={on_save_rules} on_close={on_rules_close} />
        }
    });
    let tab_button = |which: Tab, label: Html| {
        let tab = tab.clone();
        html! {
            <button type="button" aria-pressed={(*tab == which).to_string()}
                    onclick={move |_| tab.set(which)}>{ label }</button>
        }
    };

    html! {
        <ContextProvider<DeviceCtx> context={device_ctx}>
        <div class="app">
            <TopBar {server} socket={state.socket} page_encoding={state.page_encoding}
                    {on_page_encoding} />
            <Notices notices={state.notices.clone()} {on_dismiss} />
            <nav class="narrow-tabs" aria-label="Parts of the page">
                { tab_button(Tab::Conversation, html! { "Conversation" }) }
                { tab_button(Tab::Connections, html! {
                    <>
                        { "Connections " }
                        <span class="tab-count">{ counts.open }</span>
                        if counts.unread > 0 {
                            { " " }<span class="unread">{ counts.unread }<span class="sr-only">{ " unread" }</span></span>
                        }
                    </>
                }) }
                { tab_button(Tab::Setup, html! { "Dial & listen" }) }
            </nav>
            <div class={classes!("layout", tab.class())}>
                <aside class="sidebar">
                    <ConnList conns={state.conns.clone()} rows={state.rows.clone()} selected={state.selected}
                              counts={counts} list={state.list.clone()} {on_list}
                              {online} {on_forget} {nc_hint} on_select={on_pick.clone()} {stale} />
                    <ConnectForm {default_port} enabled={online} on_connect={on_connect.clone()} />
                    <ListenerForm listen={listen.clone()} last_listen={state.last_listen.clone()} {problem}
                                  failure={listen_failure(Asked::Listen(Transport::Tcp))}
                                  enabled={online} on_command={on_listener.clone()} on_connect={on_connect.clone()} />
                    <ListenerForm transport={Transport::Tls} listen={tls_listen} last_listen={last(Transport::Tls)}
                                  beside={state.last_listen.clone()} failure={listen_failure(Asked::Listen(Transport::Tls))}
                                  enabled={online} on_command={on_listener.clone()} fingerprint={fingerprint.clone()} />
                    <ListenerForm transport={Transport::Udp} listen={udp_listen} last_listen={last(Transport::Udp)}
                                  beside={state.last_listen.clone()} failure={listen_failure(Asked::Listen(Transport::Udp))}
                                  enabled={online} on_command={on_listener} {groups}
                                  groups_failure={listen_failure(Asked::Groups)} />
                    { device_section(&defaults, (rules.len(), replies), online, (*defaults_open, on_defaults), &on_rules) }
                </aside>
                <main class="main">
                    <div class={classes!("conversations", sides.is_some().then_some("both-ends"))}>
                        { for panes.into_iter().map(|(conv, pane)| html! {
                            <Conversation {conv} {pane} {stale} on_view={on_view.clone()}
                                          bridge_fingerprint={fingerprint.clone().map(AttrValue::from)}
                                          on_encoding={on_encoding.clone()} on_show_earlier={on_show_earlier.clone()}
                                          on_redial={on_connect.clone()} on_disconnect={on_disconnect.clone()} {online} />
                        }) }
                    </div>
                    <Composer {target} idle={state.compose_idle} default_encoding={state.default_encoding()}
                              to_all={state.to_all} sent_to_all={state.sent_to_all} {sides}
                              open_count={state.open_count()} {online} focus={*focus} {on_send}
                              {on_compose} {on_to_all} on_side={on_pick} {broadcast} {on_broadcast} />
                </main>
            </div>
            { for rules_panel }
        </div>
        </ContextProvider<DeviceCtx>>
    }
}

/// Which side of a connection the bridge is on.
fn side_of(conv: &Conv) -> Side {
    match conv.info.origin {
        Origin::Accepted => Side::Server,
        Origin::Dialled => Side::Client,
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

/// [`FOCUS_KEY`], pressed anywhere but in a field that takes text, brings the focus to the
/// composer (and, in a narrow window, the conversation's tab).
#[hook]
fn use_focus_key(tab: UseStateSetter<Tab>) {
    use_effect_with((), move |_| {
        let on_key = Closure::<dyn FnMut(KeyboardEvent)>::new(move |e: KeyboardEvent| {
            if e.key() != FOCUS_KEY || e.ctrl_key() || e.meta_key() || e.alt_key() {
                return;
            }
            let typing = e
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .is_some_and(|el| {
                    matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                        || el.closest("[contenteditable]").ok().flatten().is_some()
                });
            let composer = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id("composer-text"))
                .and_then(|el| el.dyn_into::<HtmlElement>().ok());
            if let (false, Some(composer)) = (typing, composer) {
                e.prevent_default();
                tab.set(Tab::Conversation);
                // Once the tab shows it: a hidden field takes no focus.
                gloo::timers::callback::Timeout::new(0, move || {
                    let _ = composer.focus();
                })
                .forget();
            }
        });
        let window = web_sys::window();
        if let Some(w) = &window {
            let _ = w.add_event_listener_with_callback("keydown", on_key.as_ref().unchecked_ref());
        }
        move || {
            if let Some(w) = &window {
                let _ = w.remove_event_listener_with_callback(
                    "keydown",
                    on_key.as_ref().unchecked_ref(),
                );
            }
        }
    });
}
