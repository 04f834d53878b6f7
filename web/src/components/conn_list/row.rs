//! One row of the connection list: peer (a proxy's client and server), who opened it, state,
//! traffic, unread messages.

use std::rc::Rc;

use protocol::{ConnId, Origin};
use yew::prelude::*;

use crate::bytes_view::size::{byte_count, format_size, plural};
use crate::components::transport_badge::transport_badge;
use crate::state::Conv;
use crate::state::{conn_words, count_words, pair, pair_parts, waiting};

#[derive(Properties)]
pub struct ConnRowProps {
    pub conv: Rc<Conv>,
    pub selected: bool,
    /// The page is not connected to the bridge: the state may be out of date.
    pub stale: bool,
    /// Whether Tab reaches this row (the list is one Tab stop).
    pub tab_stop: bool,
    pub on_select: Callback<ConnId>,
}

/// The same connection, unchanged, renders the same: compared by pointer, not field by field.
impl PartialEq for ConnRowProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.conv, &other.conv)
            && (self.selected, self.stale, self.tab_stop)
                == (other.selected, other.stale, other.tab_stop)
            && self.on_select == other.on_select
    }
}

#[component]
pub fn ConnRow(props: &ConnRowProps) -> Html {
    let conv = &props.conv;
    let info = &conv.info;
    let id = info.id;
    let (state, state_title) = conv.state_shown(props.stale);
    // The words the list's filter matches too.
    let [arrow, origin] = conn_words(info);
    let origin_title = match (info.origin, &info.proxy) {
        (_, Some(_)) => {
            "Proxied: this client connected to the bridge, which relays it to its server"
        }
        (Origin::Accepted, None) => "Accepted: this peer connected to the bridge",
        (Origin::Dialled, None) => "Dialled: the bridge connected to this server",
    };
    let [(rx, rx_title), (tx, tx_title)] = count_words(info);
    let onclick = props.on_select.reform(move |_: MouseEvent| id);
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
        <button type="button" class="conn-button" {onclick} tabindex={if props.tab_stop { "0" } else { "-1" }}
                aria-current={props.selected.then_some("true")}>
            <span class={classes!("origin", origin)} title={origin_title}>
                <span aria-hidden="true">{ arrow }</span>
                <span class="sr-only">{ origin }</span>
            </span>
            { " " }
            if let Some((client, server)) = pair_parts(info) {
                // The badge says it is a proxy's: the row leaves out "client", which the
                // narrow list has no room for, and says it to screen readers and on hover.
                <span class="peer pair" title={pair(info)}>
                    <span class="sr-only">{ "client " }</span>{ format!("{client} ⇄ {server}") }
                </span>
            } else {
                <span class="peer">{ &info.peer }</span>
            }
            { " " }
            { transport_badge(info) }
            { " " }
            { for unread }
            { " " }
            <span class={classes!("state", state)} title={state_title}>{ state }</span>
            { " " }
            <span class="counts">
                <span class="rx" title={format!("{rx_title}: {} in {}", byte_count(info.rx_bytes), plural(info.rx_msgs, "message"))}>
                    { format!("{rx} {}", format_size(info.rx_bytes)) }
                </span>
                { " " }
                <span class="tx" title={format!("{tx_title}: {} in {}", byte_count(info.tx_bytes), plural(info.tx_msgs, "message"))}>
                    { format!("{tx} {}", format_size(info.tx_bytes)) }
                </span>
                if let Some(waiting) = waiting(&conv.info) {
                    { " " }
                    <span class="waiting" title={format!("{} sent to this peer wait to be written: it is not reading", byte_count(info.waiting))}>
                        { waiting }
                    </span>
                }
            </span>
        </button>
    }
}
