//! The list of connections: peer, who opened it, state, traffic, unread messages.

use std::rc::Rc;

use protocol::{ConnId, Origin};
use yew::prelude::*;

use crate::bytes_view::size::{format_size, plural};
use crate::state::{state_word, Conv, RowKey, Table};

#[derive(Properties, PartialEq)]
pub struct ConnListProps {
    pub conns: Table<ConnId, Rc<Conv>>,
    /// The connections to list, in order.
    pub rows: Table<RowKey, ()>,
    pub selected: Option<ConnId>,
    /// `host port` to connect to this bridge's listener, for the empty-state hint;
    /// `None` when the bridge is not listening or not yet known.
    pub nc_hint: Option<(String, u16)>,
    pub on_select: Callback<ConnId>,
}

#[component]
pub fn ConnList(props: &ConnListProps) -> Html {
    let body = if props.rows.is_empty() {
        let hint = match &props.nc_hint {
            Some((host, port)) => html! {
                <>
                    { "No connections yet. Connect to this bridge with " }
                    <code>{ format!("nc {host} {port}") }</code>
                    { ", or dial a server below." }
                </>
            },
            None => html! { { "No connections yet. Dial a server below." } },
        };
        html! { <p class="empty-hint">{ hint }</p> }
    } else {
        html! {
            <ul class="conn-list">
                { for props.rows.iter_from(0).filter_map(|(row, _)| props.conns.get(&row.id)).map(|c| item(c, props.selected == Some(c.info.id), &props.on_select)) }
            </ul>
        }
    };
    html! {
        <nav class="connections" aria-label="Connections">
            <h2 class="pane-title">{ "Connections" }</h2>
            { body }
        </nav>
    }
}

fn item(conv: &Conv, selected: bool, on_select: &Callback<ConnId>) -> Html {
    let info = &conv.info;
    let id = info.id;
    let state = state_word(info.state);
    let (arrow, origin, origin_title) = match info.origin {
        Origin::Accepted => (
            "in",
            "accepted",
            "Accepted: this peer connected to the bridge",
        ),
        Origin::Dialled => (
            "out",
            "dialled",
            "Dialled: the bridge connected to this server",
        ),
    };
    let onclick = on_select.reform(move |_: MouseEvent| id);
    let unread = (conv.unread > 0).then(|| {
        let n = conv.unread;
        let title = if n == 1 {
            "1 unread message".to_string()
        } else {
            format!("{n} unread messages")
        };
        html! {
            <span class="unread" title={title}>
                { if n > 999 { "999+".to_string() } else { n.to_string() } }
                <span class="sr-only">{ " unread" }</span>
            </span>
        }
    });
    html! {
        <li key={id} class={classes!("conn", selected.then_some("selected"))} data-state={state}>
            <button type="button" class="conn-button" {onclick}
                    aria-current={selected.then_some("true")}>
                <span class={classes!("origin", origin)} title={origin_title}>
                    <span aria-hidden="true">{ arrow }</span>
                    <span class="sr-only">{ origin }</span>
                </span>
                { " " }
                <span class="peer">{ &info.peer }</span>
                { " " }
                { for unread }
                { " " }
                <span class={classes!("state", state)}>{ state }</span>
                { " " }
                <span class="counts">
                    <span class="rx" title={format!("received: {} bytes in {}", info.rx_bytes, plural(info.rx_msgs, "message"))}>
                        { format!("rx {}", format_size(info.rx_bytes)) }
                    </span>
                    { " " }
                    <span class="tx" title={format!("sent: {} bytes in {}", info.tx_bytes, plural(info.tx_msgs, "message"))}>
                        { format!("tx {}", format_size(info.tx_bytes)) }
                    </span>
                </span>
            </button>
        </li>
    }
}
