//! The head of a conversation: the peer and its state, what is known about the connection, its
//! traffic of the last minute, and how to read it (encoding, text or hex), close it or dial it
//! again.

use std::rc::Rc;

use protocol::{ConnId, ConnState, Origin};
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use super::field_id;
use super::message::local_time;
use crate::bytes_view::size::{format_size, plural};
use crate::components::rate_graph::RateGraph;
use crate::encoding::Encoding;
use crate::state::{waiting, Conv, ViewMode};

#[derive(Properties, PartialEq)]
pub struct HeaderProps {
    pub conv: Rc<Conv>,
    pub twin: bool,
    pub view: ViewMode,
    pub online: bool,
    pub on_view: Callback<ViewMode>,
    pub on_encoding: Callback<(ConnId, Encoding)>,
    pub on_redial: Callback<(String, u16), Result<(), String>>,
    pub on_disconnect: Callback<ConnId>,
}

#[component]
pub fn ConversationHeader(props: &HeaderProps) -> Html {
    let conv = &props.conv;
    let info = &conv.info;
    let id = info.id;
    let state = info.state.as_str();
    let encoding = conv.encoding;
    let view = props.view;
    let on_encoding = props.on_encoding.reform(move |e: Event| {
        let label = e.target_unchecked_into::<HtmlSelectElement>().value();
        (id, Encoding::from_label(&label).unwrap_or_default())
    });
    let on_view = props.on_view.reform(|e: Event| {
        match e
            .target_unchecked_into::<HtmlSelectElement>()
            .value()
            .as_str()
        {
            "hex" => ViewMode::Hex,
            _ => ViewMode::Text,
        }
    });
    let disconnect = (info.state != ConnState::Closed).then(|| {
        let onclick = props.on_disconnect.reform(move |_: MouseEvent| id);
        html! {
            <button type="button" class="danger" {onclick} disabled={!props.online}>{ "Disconnect" }</button>
        }
    });
    let redial = (info.state == ConnState::Closed && info.origin == Origin::Dialled)
        .then(|| protocol::address::split(&info.peer))
        .flatten()
        .map(|(host, port)| {
            let host = host.to_owned();
            let on_redial = props.on_redial.clone();
            let onclick = Callback::from(move |_: MouseEvent| {
                let _ = on_redial.emit((host.clone(), port));
            });
            html! {
                <button type="button" class="primary" {onclick} disabled={!props.online}>{ "Dial again" }</button>
            }
        });
    html! {
        <header class="conv-header">
            <div class="conv-title">
                <h2>
                    <span class="peer">{ &info.peer }</span>
                    { " " }
                    <span class={classes!("state", state)}>{ state }</span>
                </h2>
                <p class="conv-details">{ details(conv) }</p>
                if let Some(waiting) = waiting(info) {
                    <p class="conv-waiting" role="status">
                        { format!("{waiting} to be written: the peer is not reading what you send") }
                    </p>
                }
            </div>
            <RateGraph conv={conv.clone()} />
            <div class="conv-tools">
                <label for={field_id(props.twin, "encoding")}>{ "Encoding" }</label>
                <select id={field_id(props.twin, "encoding")} onchange={on_encoding}>
                    { for Encoding::ALL.iter().map(|e| html! {
                        <option value={e.label()} selected={*e == encoding}>{ e.label() }</option>
                    }) }
                </select>
                <label for={field_id(props.twin, "view-mode")}>{ "View" }</label>
                <select id={field_id(props.twin, "view-mode")} onchange={on_view}>
                    <option value="text" selected={view == ViewMode::Text}>{ "Text" }</option>
                    <option value="hex" selected={view == ViewMode::Hex}>{ "Hex" }</option>
                </select>
                { for disconnect }
                { for redial }
            </div>
        </header>
    }
}

/// `accepted 09:20:01.234 · local 127.0.0.1:7777 · last 09:21:00.000 · rx 12 B in 2 messages · ...`
fn details(conv: &Conv) -> String {
    let info = &conv.info;
    let origin = info.origin.as_str();
    let mut details = vec![format!("{origin} {}", local_time(info.opened_at).clock)];
    if let Some(local) = &info.local {
        details.push(format!("local {local}"));
    }
    if let Some(last) = conv.last_record() {
        details.push(format!("last {}", local_time(last.at).clock));
    }
    details.push(format!(
        "rx {} in {} · tx {} in {}",
        format_size(info.rx_bytes),
        plural(info.rx_msgs, "message"),
        format_size(info.tx_bytes),
        plural(info.tx_msgs, "message"),
    ));
    details.join(" · ")
}
