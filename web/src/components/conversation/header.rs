//! The head of a conversation: the peer and its state, what is known about the connection, its
//! traffic of the last minute, and how to read it (its framing and checksum, which the button
//! before its details shows and opens; encoding; chat, log or hex; line endings), close it or
//! dial it again.

use std::rc::Rc;

use protocol::{Command, ConnInfo, ConnState, Transport, Way};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::field_id;
use super::message::local_time;
use crate::bytes_view::size::{format_size, plural};
use crate::components::rate_graph::RateGraph;
use crate::components::reading_form::meaning;
use crate::components::select::Select;
use crate::components::transport_badge::transport_badge;
use crate::dial::Dial;
use crate::encoding::Encoding;
use crate::hooks::commands::use_commands;
use crate::state::reading::conv_summary;
use crate::state::{
    conn_words, count_words, half_closed, hold_status, pair, proxy_details, waiting, Action, Conv,
    ViewMode,
};

#[derive(Properties, PartialEq)]
pub struct HeaderProps {
    pub conv: Rc<Conv>,
    pub twin: bool,
    /// The page is not connected to the bridge: the state may be out of date.
    pub stale: bool,
    /// Whether line endings show as escapes.
    pub ends: bool,
    pub on_ends: Callback<bool>,
    pub online: bool,
    /// Whether the reading form (framing, checksum) is open.
    pub reading: bool,
    pub on_reading: Callback<()>,
}

#[component]
pub fn ConversationHeader(props: &HeaderProps) -> Html {
    let conv = &props.conv;
    let info = &conv.info;
    let id = info.id;
    let (state, state_title) = conv.state_shown(props.stale);
    let commands = use_commands();
    let on_encoding = |way: Option<Way>| {
        commands.dispatch.reform(move |label: String| {
            Action::SetEncoding(id, way, Encoding::from_label(&label).unwrap_or_default())
        })
    };
    let on_view = commands.dispatch.reform(move |value: String| {
        Action::SetView(id, ViewMode::from_value(&value).unwrap_or_default())
    });
    let on_ends = props
        .on_ends
        .reform(|e: Event| e.target_unchecked_into::<HtmlInputElement>().checked());
    let encodings: Vec<_> = Encoding::ALL
        .iter()
        .map(|e| (e.label(), e.label()))
        .collect();
    let views: Vec<_> = ViewMode::ALL
        .iter()
        .map(|v| (v.value(), v.label()))
        .collect();
    // A proxied conversation's sides may speak different encodings: a menu for each way.
    let encoding_menus = match info.proxy {
        None => html! {
            <>
                <label for={field_id(props.twin, "encoding")}>{ "Encoding" }</label>
                <Select id={field_id(props.twin, "encoding")} value={conv.encodings.rx.label()}
                        options={encodings} onchange={on_encoding(None)} />
            </>
        },
        Some(_) => html! {
            <>
                <label for={field_id(props.twin, "encoding")}>{ "Encoding c→s" }</label>
                <Select id={field_id(props.twin, "encoding")} value={conv.encodings.rx.label()}
                        options={encodings.clone()} onchange={on_encoding(Some(Way::ClientToServer))}
                        title="How what the client says (client→server) reads as text, and what you send as the client is written" />
                <label for={field_id(props.twin, "encoding-s2c")}>{ "s→c" }</label>
                <Select id={field_id(props.twin, "encoding-s2c")} value={conv.encodings.tx.label()}
                        options={encodings} onchange={on_encoding(Some(Way::ServerToClient))}
                        title="How what the server says (server→client) reads as text, and what you send as the server is written" />
            </>
        },
    };
    let view_ends = !conv.view.is_hex();
    let disconnect = (info.state != ConnState::Closed).then(|| {
        let onclick = commands
            .order
            .reform(move |_: MouseEvent| Command::Disconnect { conn: id });
        html! {
            <button type="button" class="danger" {onclick} disabled={!props.online}>{ "Disconnect" }</button>
        }
    });
    // A proxied conversation's Hold switches, one a way, while it is open.
    let holds = info
        .proxy
        .as_deref()
        .filter(|_| info.state != ConnState::Closed)
        .map(|proxy| {
            [Way::ClientToServer, Way::ServerToClient].map(|way| {
                let on = proxy.hold.get(way);
                let onchange = commands.order.reform(move |e: Event| Command::Hold {
                    conn: id,
                    way,
                    on: e.target_unchecked_into::<HtmlInputElement>().checked(),
                });
                let field = field_id(
                    props.twin,
                    match way {
                        Way::ClientToServer => "hold-c2s",
                        Way::ServerToClient => "hold-s2c",
                    },
                );
                let title = format!(
                    "While on, each message {} stops in the bridge until you forward, edit or \
                     drop it; off forwards what waits, in order",
                    way.label()
                );
                html! {
                    <span class="control hold" {title}>
                        <input id={field.clone()} type="checkbox" checked={on} {onchange}
                               disabled={!props.online} />
                        <label for={field}>{ format!("Hold {}", way.label()) }</label>
                    </span>
                }
            })
        });
    let full = [Way::ClientToServer, Way::ServerToClient]
        .into_iter()
        .filter_map(|way| hold_status(conv, way));
    let redial = (info.state == ConnState::Closed)
        .then(|| Dial::again(info))
        .flatten()
        .map(|dial| {
            let connect = commands.connect.clone();
            let onclick = Callback::from(move |_: MouseEvent| {
                let _ = connect.emit(dial.clone());
            });
            html! {
                <button type="button" class="primary" {onclick} disabled={!props.online}>{ "Dial again" }</button>
            }
        });
    html! {
        <header class="conv-header">
            <div class="conv-title">
                <h2>
                    <span class="peer" title={pair(info)}>{ pair(info).unwrap_or_else(|| info.peer.clone()) }</span>
                    { " " }
                    { transport_badge(info) }
                    { " " }
                    <span class={classes!("state", state)} title={state_title}>{ state }</span>
                </h2>
                <p class="conv-details">
                    <button type="button" class="reading-toggle" aria-expanded={props.reading.to_string()}
                            onclick={props.on_reading.reform(|_: MouseEvent| ())}
                            title={reading_title(info)}>
                        { "Reading: " }{ conv_summary(info) }
                    </button>
                    { " " }{ details(conv) }
                </p>
                if let Some(half) = half_closed(info) {
                    <p class="conv-half-closed" role="status">{ half }</p>
                }
                if let Some(holds) = holds {
                    <p class="conv-holds" role="group" aria-label="Hold messages">
                        { for holds }
                    </p>
                }
                { for full.map(|status| html! { <p class="conv-waiting held-full" role="status">{ status }</p> }) }
                if let Some(waiting) = waiting(info) {
                    <p class="conv-waiting" role="status">
                        { format!("{waiting} to be written: the peer is not reading what you send") }
                    </p>
                }
            </div>
            <RateGraph conv={conv.clone()} />
            <div class="conv-tools">
                { encoding_menus }
                <label for={field_id(props.twin, "view-mode")}>{ "View" }</label>
                <Select id={field_id(props.twin, "view-mode")} value={conv.view.value()}
                        options={views} onchange={on_view}
                        title="Chat: bubbles; Log: a line per message; Hex: a line per message, its bytes in hex; Dump: a hexdump per message" />
                <span class="control" title="Show \\r and \\n where a line ends">
                    <input id={field_id(props.twin, "line-ends")} type="checkbox" checked={props.ends}
                           onchange={on_ends} disabled={!view_ends} />
                    <label for={field_id(props.twin, "line-ends")}>{ "Line ends" }</label>
                </span>
                { for disconnect }
                { for redial }
            </div>
        </header>
    }
}

/// What the Reading button's summary means: a proxied conversation's sides each, when they are
/// read differently.
fn reading_title(info: &ConnInfo) -> String {
    let server = info.settings_of(Some(Way::ServerToClient));
    let how = meaning(
        &info.settings,
        Some(server),
        info.transport == Transport::Udp,
    );
    format!("How the bridge reads this connection: {how}")
}

/// `accepted 09:20:01.234 · local 127.0.0.1:7777 · last 09:21:00.000 · rx 12 B in 2 messages · ...`
fn details(conv: &Conv) -> String {
    let info = &conv.info;
    let [_, origin] = conn_words(info);
    let mut details = vec![format!("{origin} {}", local_time(info.opened_at).clock)];
    if let Some(local) = &info.local {
        details.push(format!("local {local}"));
    }
    details.extend(proxy_details(info));
    if let Some(last) = conv.last_record() {
        details.push(format!("last {}", local_time(last.head.at).clock));
    }
    let [(rx, _), (tx, _)] = count_words(info);
    details.push(format!(
        "{rx} {} in {} · {tx} {} in {}",
        format_size(info.rx_bytes),
        plural(info.rx_msgs, "message"),
        format_size(info.tx_bytes),
        plural(info.tx_msgs, "message"),
    ));
    details.join(" · ")
}
