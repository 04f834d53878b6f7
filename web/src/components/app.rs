//! The page: header with the tools, the connection list on the side (all of it: the forms are
//! in the tools' panels, [`crate::components::toolbar`]), the selected conversation (or both
//! ends of one connection) and the composer in the middle, with the problems in view floating
//! over the foot of the conversation, where they move nothing. Holds the state (`use_reducer`)
//! and the link to the bridge, and provides every view with the page's commands
//! ([`crate::hooks::commands`]) and the device simulator's context ([`crate::hooks::device`]);
//! the tools' panels open over the conversation, the rules panel over the page. In a narrow
//! window the list and the conversation are tabs, the conversation first.
//!
//! The page's tree keeps its shape whatever opens or closes (the panels are hidden, not
//! removed; the rules panel's place is always there, empty or not), so that no view is
//! mounted afresh and loses what the user typed.

use std::rc::Rc;

use protocol::{Origin, Transport};
use yew::prelude::*;

use crate::components::composer::{Composer, SendTarget};
use crate::components::conn_list::ConnList;
use crate::components::connect_form::ConnectForm;
use crate::components::conversation::{Conversation, Pane, Side};
use crate::components::device_section::device_section;
use crate::components::listener_form::ListenerForm;
use crate::components::page_encoding;
use crate::components::proxy_form::ProxyForm;
use crate::components::rules::RulesPanel;
use crate::components::status::Notices;
use crate::components::toolbar::{tool_panels, use_panel_focus, Tool};
use crate::components::topbar::{use_unread_title, TopBar};
use crate::hooks::bridge::use_bridge;
use crate::hooks::commands::{use_new_commands, Commands};
use crate::hooks::device::{use_device, DeviceCtx, RulesOpen};
use crate::hooks::focus_key::use_focus_key;
use crate::hooks::latest::use_latest;
use crate::state::SocketStatus;
use crate::state::{reduce, Action, Asked, Conv, State};

/// What a narrow window shows; a wide one shows both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tab {
    Conversation,
    Connections,
}

impl Tab {
    fn class(self) -> &'static str {
        match self {
            Tab::Conversation => "tab-conversation",
            Tab::Connections => "tab-connections",
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
    let tool = use_state(|| None::<Tool>);
    // Bumped when the composer should take the focus.
    let focus = use_state(|| 0u32);
    // The conversation comes into view (a narrow window's tab, from under a tool's panel), and
    // with `true` the composer takes the focus.
    let show = {
        let (tab, tool, focus) = (tab.setter(), tool.setter(), focus.clone());
        use_callback((), move |typing: bool, _| {
            tab.set(Tab::Conversation);
            tool.set(None);
            if typing {
                focus.set(focus.wrapping_add(1));
            }
        })
    };
    use_focus_key(show.clone());
    let latest = use_latest(state.clone());
    let commands = use_new_commands(dispatch, send.clone(), latest, show);
    let (device_ctx, rules_open) = use_device(&state, &commands, send);
    let defaults_open = use_state(|| false);
    use_unread_title(state.counts().unread);

    let on_defaults = {
        let defaults_open = defaults_open.clone();
        Callback::from(move |()| defaults_open.set(!*defaults_open))
    };
    use_panel_focus(*tool);
    let on_tool = {
        let tool = tool.setter();
        use_callback((), move |open: Option<Tool>, _| tool.set(open))
    };
    let on_rules = {
        let rules_open = rules_open.clone();
        use_callback((), move |(), _| rules_open.set(Some((0, None))))
    };
    let on_rules_close = {
        let rules_open = rules_open.clone();
        use_callback((), move |(), _| rules_open.set(None))
    };
    let counts = state.counts();
    let nc_hint = state
        .server
        .as_ref()
        .and_then(|s| s.listen.as_deref())
        .and_then(protocol::address::reachable);
    let tab_button = |which: Tab, label: Html| {
        let tab = tab.clone();
        html! {
            <button type="button" aria-pressed={(*tab == which).to_string()}
                    onclick={move |_| tab.set(which)}>{ label }</button>
        }
    };

    html! {
        <ContextProvider<Commands> context={commands}>
        <ContextProvider<DeviceCtx> context={device_ctx}>
        <div class="app">
            <TopBar server={state.server.clone()} socket={state.socket} stale={state.stale()} page_encoding={state.page_encoding}
                    tool={*tool} on_tool={on_tool.clone()} />
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
            </nav>
            <div class={classes!("layout", tab.class())}>
                <aside class="sidebar">
                    <ConnList conns={state.conns.clone()} rows={state.rows.clone()} selected={state.selected}
                              counts={state.counts()} list={state.list.clone()}
                              online={state.socket == SocketStatus::Open} {nc_hint}
                              stale={state.stale()} />
                </aside>
                // The user chose a conversation, or one this page dialled opened.
                { middle(&state, focus.wrapping_add(state.typing_focus)) }
                { tool_panels(*tool, &on_tool, |tool| panel(&state, tool, (*defaults_open, on_defaults.clone()), &on_rules)) }
            </div>
            { rules_panel(&state, &rules_open, on_rules_close) }
        </div>
        </ContextProvider<DeviceCtx>>
        </ContextProvider<Commands>>
    }
}

/// A tool's panel: the dial form, the listeners, or the device simulator's section.
fn panel(
    state: &State,
    tool: Tool,
    defaults: (bool, Callback<()>),
    on_rules: &Callback<()>,
) -> Html {
    let online = state.socket == SocketStatus::Open;
    let server = state.server.as_ref();
    let listen = server.and_then(|s| s.listen.clone());
    // Once the bridge is known: its listener's port, or the tutorial's.
    let default_port = server.map(|_| {
        state
            .last_listen
            .as_deref()
            .and_then(protocol::address::split)
            .map_or(protocol::address::DEFAULT_PORT, |(_, port)| port)
    });
    let listeners = &state.listeners;
    let failure = |asked| listeners.error(asked).cloned();
    let last = |t| listeners.last(t).map(String::from);
    let groups = server.map(|s| s.groups.clone()).unwrap_or_default();
    let settings = server.map(|s| s.defaults.clone()).unwrap_or_default();
    // The rules that answer: a switched-off one does not.
    let rules = server.map_or(0, |s| s.rules.iter().filter(|r| r.enabled).count());
    let replies: u64 = state.rule_hits.iter().map(|h| h.hits).sum();
    match tool {
        Tool::Dial => html! { <ConnectForm {default_port} enabled={online} /> },
        Tool::Listen => html! {
            <>
            <ListenerForm {listen} last_listen={state.last_listen.clone()}
                          problem={server.and_then(|s| s.listen_problem.clone())}
                          failure={failure(Asked::Listen(Transport::Tcp))} enabled={online} />
            <ListenerForm transport={Transport::Tls} listen={server.and_then(|s| s.tls_listen.clone())}
                          last_listen={last(Transport::Tls)} beside={state.last_listen.clone()}
                          failure={failure(Asked::Listen(Transport::Tls))} enabled={online}
                          fingerprint={server.and_then(|s| s.tls_fingerprint.clone())} />
            <ListenerForm transport={Transport::Udp} listen={server.and_then(|s| s.udp_listen.clone())}
                          last_listen={last(Transport::Udp)} beside={state.last_listen.clone()}
                          failure={failure(Asked::Listen(Transport::Udp))} enabled={online} {groups}
                          groups_failure={failure(Asked::Groups)} />
            <ProxyForm proxies={server.map(|s| s.proxies.clone()).unwrap_or_default()}
                       failure={failure(Asked::Proxies)} enabled={online} />
            </>
        },
        Tool::Device => device_section(&settings, (rules, replies), online, defaults, on_rules),
    }
}

/// Whom the composer sends to, as it says so: the peer; in a proxied conversation the side
/// *Send to* chooses, named (`the server 192.168.1.20:502`), since either may be meant.
fn send_to_name(c: &Conv) -> String {
    match &c.info.proxy {
        None => c.info.peer.clone(),
        Some(p) if c.to_server => {
            format!("the server {}", p.server.as_deref().unwrap_or(&p.target))
        }
        Some(_) => format!("the client {}", c.info.peer),
    }
}

/// The middle: the selected conversation, or both ends of one connection when the bridge
/// dialled its own listener (server side on the left, client side on the right, whichever is
/// selected), and the composer.
fn middle(state: &State, focus: u32) -> Html {
    let online = state.socket == SocketStatus::Open;
    let stale = state.stale();
    let selected = state.selected_conv().cloned();
    let broadcast = match (&selected, state.to_all) {
        (_, true) => Some(state.broadcast_all),
        (Some(c), false) if c.info.transport == Transport::Udp => Some(c.broadcast),
        _ => None,
    };
    let to_server = selected
        .as_ref()
        .filter(|c| c.info.proxy.is_some() && !state.to_all)
        .map(|c| c.to_server);
    let target = selected.as_ref().map(|c| SendTarget {
        id: c.info.id,
        peer: send_to_name(c),
        state: c.info.state,
        // Sent to all, nothing goes as a proxied conversation's client (see `to_server`).
        encoding: if state.to_all {
            c.encodings.tx
        } else {
            c.sending_encoding()
        },
        compose: c.compose,
    });
    let both = selected.zip(state.twin_conv().cloned()).map(|(sel, twin)| {
        let (server, client) = match side_of(&sel) {
            Side::Server => (sel, twin),
            Side::Client => (twin, sel),
        };
        let pane = |conv: &Conv, side| Pane::Side {
            side,
            typing: state.selected == Some(conv.info.id),
        };
        [
            (pane(&server, Side::Server), server),
            (pane(&client, Side::Client), client),
        ]
    });
    let sides = both.as_ref().map(|[(_, server), (_, client)]| {
        [
            (server.info.id, Side::Server),
            (client.info.id, Side::Client),
        ]
    });
    let panes: Vec<(Pane, Option<Rc<Conv>>)> = match both {
        Some(both) => both.into_iter().map(|(pane, c)| (pane, Some(c))).collect(),
        None => vec![(Pane::Single, state.selected_conv().cloned())],
    };
    let fingerprint = state
        .server
        .as_ref()
        .and_then(|s| s.tls_fingerprint.clone())
        .map(AttrValue::from);
    html! {
        <main class="main">
            <div class={classes!("conversations", sides.is_some().then_some("both-ends"))}>
                { for panes.into_iter().map(|(pane, conv)| html! {
                    <Conversation {conv} {pane} {stale} bridge_fingerprint={fingerprint.clone()} {online} />
                }) }
                <Notices notices={state.notices_in_view()} />
            </div>
            <Composer {target} idle={state.compose_idle} default_encoding={state.default_encoding()}
                      to_all={state.to_all} sent_to_all={state.sent_to_all} {sides}
                      open_count={state.open_count()} {online} {focus} {broadcast} {to_server} />
        </main>
    }
}

/// The rules panel, when it is open.
fn rules_panel(state: &State, open: &RulesOpen, on_close: Callback<()>) -> Html {
    let Some((key, draft)) = (**open).clone() else {
        return html! {};
    };
    let server = state.server.as_ref();
    let rules = server.map(|s| s.rules.clone()).unwrap_or_default();
    let rules_file = server
        .and_then(|s| s.rules_file.clone())
        .map(AttrValue::from);
    html! {
        <RulesPanel {key} {rules} hits={state.rule_hits.clone()} problem={state.rules_problem.clone()}
                    online={state.socket == SocketStatus::Open} {draft} selected={state.selected}
                    default_encoding={state.default_encoding()} {rules_file}
                    save={state.rules_save.clone()} learning={state.learning.clone()}
                    reading={server.map(|s| s.defaults.clone()).unwrap_or_default()} {on_close} />
    }
}

/// Which side of a connection the bridge is on.
fn side_of(conv: &Conv) -> Side {
    match conv.info.origin {
        Origin::Accepted => Side::Server,
        Origin::Dialled => Side::Client,
    }
}
