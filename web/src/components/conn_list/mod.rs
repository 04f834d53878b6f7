//! The list of connections. It may hold ten thousand: it renders the rows in view (a virtual
//! list of fixed-height rows, see [`virtual_rows`]), and a row renders again only when its
//! connection changed. The list is one Tab stop; Up and Down move through it.

mod bar;
mod row;
mod virtual_rows;

use std::rc::Rc;

use protocol::ConnId;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;
use yew::prelude::*;

use self::bar::ListBar;
use self::row::ConnRow;
use self::virtual_rows::use_virtual_rows;
use crate::hooks::commands::use_commands;
use crate::state::{Conv, Counts, ListView, RowKey, Table};

/// Every row's height, in CSS pixels: the list's arithmetic and its style both use it.
const ROW_PX: i32 = 52;

#[derive(Properties, PartialEq)]
pub struct ConnListProps {
    pub conns: Table<ConnId, Rc<Conv>>,
    /// The connections to list, in order.
    pub rows: Table<RowKey, ()>,
    pub selected: Option<ConnId>,
    pub counts: Counts,
    /// How the user chose to see the list.
    pub list: ListView,
    /// Whether the bridge can be asked (the page's socket is open).
    pub online: bool,
    /// `host port` to connect to this bridge's listener, for the empty-state hint;
    /// `None` when the bridge is not listening or not yet known.
    pub nc_hint: Option<(String, u16)>,
    /// The page is not connected to the bridge: states may be out of date.
    pub stale: bool,
}

#[component]
pub fn ConnList(props: &ConnListProps) -> Html {
    let count = props.rows.len();
    let rows = use_virtual_rows(count, ROW_PX);
    let commands = use_commands();
    let body = if props.rows.is_empty() && props.counts.total() > 0 {
        html! { <p class="empty-hint">{ "No connection matches." }</p> }
    } else if props.rows.is_empty() {
        let hint = match &props.nc_hint {
            Some((host, port)) => html! {
                <>
                    { "No connections yet. Connect to this bridge with " }
                    <code>{ format!("nc {host} {port}") }</code>
                    { ", or dial a server with Dial, above." }
                </>
            },
            None => html! { { "No connections yet. Dial a server with Dial, above." } },
        };
        html! { <p class="empty-hint">{ hint }</p> }
    } else {
        let (start, end) = (rows.range.start, rows.range.end);
        // The rows not rendered keep their room, as padding above and below.
        let style = format!(
            "--row-h: {ROW_PX}px; padding-top: {}px; padding-bottom: {}px",
            start as i64 * i64::from(ROW_PX),
            (count - end) as i64 * i64::from(ROW_PX),
        );
        let rendered = || props.rows.iter_from(start).take(end - start);
        // The one row Tab reaches: the selected one when it is rendered, else the first.
        let tab_stop = props
            .selected
            .filter(|id| rendered().any(|(row, _)| row.id == *id))
            .or_else(|| rendered().next().map(|(row, _)| row.id));
        let items = rendered()
            .enumerate()
            .filter_map(|(i, (row, _))| Some((start + i, props.conns.get(&row.id)?)))
            .map(|(i, conv)| {
                let id = conv.info.id;
                let selected = props.selected == Some(id);
                html! {
                    <li key={id} class={classes!("conn", selected.then_some("selected"))}
                        data-state={conv.state_shown(props.stale).0}
                        aria-posinset={(i + 1).to_string()} aria-setsize={count.to_string()}>
                        <ConnRow conv={conv.clone()} {selected} stale={props.stale}
                                 tab_stop={tab_stop == Some(id)} on_select={commands.pick.clone()} />
                    </li>
                }
            });
        html! {
            <ul class="conn-list" {style} onkeydown={Callback::from(move_in_list)}>{ for items }</ul>
        }
    };
    html! {
        <nav class="connections" aria-label="Connections">
            <h2 class="pane-title">{ "Connections" }</h2>
            if props.counts.total() > 0 {
                <ListBar counts={props.counts} shown={count} list={props.list.clone()}
                         online={props.online} />
            }
            <div class="conn-scroll" ref={rows.scroller} onscroll={rows.onscroll}>
                { body }
            </div>
        </nav>
    }
}

/// Up and Down (Home, End) move the focus from row to row among those rendered; the list
/// scrolls to follow, and renders more as it does.
fn move_in_list(e: KeyboardEvent) {
    // Yew hands events on from the page's root: find the list from what has the focus.
    let row = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element())
        .and_then(|f| f.closest("ul.conn-list > li").ok().flatten());
    let Some(row) = row else { return };
    let Some(list) = row.parent_element() else {
        return;
    };
    let next = match e.key().as_str() {
        "ArrowDown" => row.next_element_sibling(),
        "ArrowUp" => row.previous_element_sibling(),
        "Home" => list.first_element_child(),
        "End" => list.last_element_child(),
        _ => return,
    };
    e.prevent_default();
    if let Some(button) = next
        .and_then(|li| li.query_selector("button").ok().flatten())
        .and_then(|b| b.dyn_into::<HtmlElement>().ok())
    {
        let _ = button.focus();
    }
}
