//! The conversation of the selected connection: received on the left, sent on the right.

use std::rc::Rc;

use protocol::{ConnId, ConnState, Flow, Micros, Origin};
use web_sys::{Element, HtmlSelectElement};
use yew::prelude::*;

use crate::bytes_view::{format_size, format_time, hex_view, render_text_in, LocalTime, Piece};
use crate::components::conn_list::state_word;
use crate::encoding::Encoding;
use crate::state::{Conv, Entry, Rec, ViewMode, WINDOW};

/// How close to the bottom (in pixels) still counts as "at the bottom" for auto-scroll.
const STICK_PX: i32 = 32;
/// Bytes of a message shown until the user asks for all of it: a flood arrives in records of up
/// to 64 KiB, and hundreds of those in full would make every render of the page slow.
const PREVIEW: usize = 4096;

#[derive(Properties, PartialEq)]
pub struct ConversationProps {
    pub conv: Option<Rc<Conv>>,
    pub view: ViewMode,
    pub on_view: Callback<ViewMode>,
    /// The user chose another encoding for this conversation's text.
    pub on_encoding: Callback<(ConnId, Encoding)>,
    pub on_show_earlier: Callback<ConnId>,
    pub on_disconnect: Callback<ConnId>,
    /// Whether commands can reach the bridge now.
    pub online: bool,
}

#[component]
pub fn Conversation(props: &ConversationProps) -> Html {
    let scroller = use_node_ref();
    // Follow new messages while the user is at the bottom; stay put once they scroll up.
    let stick = use_mut_ref(|| true);
    let shown_id = use_mut_ref(|| None::<ConnId>);
    {
        let scroller = scroller.clone();
        let stick = stick.clone();
        let id = props.conv.as_ref().map(|c| c.info.id);
        use_effect(move || {
            if *shown_id.borrow() != id {
                *shown_id.borrow_mut() = id;
                *stick.borrow_mut() = true;
            }
            if *stick.borrow() {
                if let Some(el) = scroller.cast::<Element>() {
                    el.set_scroll_top(el.scroll_height());
                }
            }
        });
    }
    let onscroll = {
        let scroller = scroller.clone();
        let stick = stick.clone();
        Callback::from(move |_: Event| {
            if let Some(el) = scroller.cast::<Element>() {
                *stick.borrow_mut() =
                    el.scroll_height() - el.scroll_top() - el.client_height() <= STICK_PX;
            }
        })
    };

    let Some(conv) = &props.conv else {
        return html! {
            <section class="conversation" aria-label="Conversation">
                <div class="conv-empty">
                    <p>{ "Select a connection to see its conversation." }</p>
                </div>
            </section>
        };
    };
    let info = &conv.info;
    let id = info.id;
    let state = state_word(info.state);

    let on_encoding = {
        let id = conv.info.id;
        props.on_encoding.reform(move |e: Event| {
            let label = e.target_unchecked_into::<HtmlSelectElement>().value();
            (id, Encoding::from_label(&label).unwrap_or_default())
        })
    };
    let encoding = conv.encoding;
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
    let origin = match info.origin {
        Origin::Accepted => "accepted",
        Origin::Dialled => "dialled",
    };
    let opened = local_time(info.opened_at);
    let mut details = vec![format!("{origin} {}", opened.clock)];
    if let Some(local) = &info.local {
        details.push(format!("local {local}"));
    }
    details.push(format!(
        "rx {} in {} · tx {} in {}",
        format_size(info.rx_bytes),
        plural(info.rx_msgs, "message"),
        format_size(info.tx_bytes),
        plural(info.tx_msgs, "message"),
    ));

    let hidden = conv.hidden();
    let show_earlier = (hidden > 0).then(|| {
        let onclick = props.on_show_earlier.reform(move |_: MouseEvent| id);
        html! {
            <div class="earlier">
                <button type="button" {onclick}>{ format!("Show {} earlier", WINDOW.min(hidden)) }</button>
                <span class="earlier-count">{ format!("{} not shown", plural(hidden as u64, "message")) }</span>
            </div>
        }
    });
    let missing = conv.missing().map(|(msgs, bytes)| {
        html! {
            <li class="msg sys elided" key="elided">
                { format!(
                    "{} ({}) {} no longer held in memory",
                    plural_earlier(msgs),
                    format_size(bytes),
                    if msgs == 1 { "is" } else { "are" },
                ) }
            </li>
        }
    });
    let close_line = conv.close_line().map(|text| {
        let at = info.closed_at.map(local_time);
        html! {
            <li class="msg sys closed" key="closed">
                if let Some(at) = at {
                    <time datetime={at.machine} title={at.full}>{ at.clock }</time>
                }
                <span class="sys-text">{ text }</span>
            </li>
        }
    });
    let view = props.view;
    let empty = conv.log.is_empty() && close_line.is_none();

    html! {
        <section class="conversation" aria-label="Conversation">
            <header class="conv-header">
                <div class="conv-title">
                    <h2>
                        <span class="peer">{ &info.peer }</span>
                        { " " }
                        <span class={classes!("state", state)}>{ state }</span>
                    </h2>
                    <p class="conv-details">{ details.join(" · ") }</p>
                </div>
                <div class="conv-tools">
                    <label for="encoding">{ "Encoding" }</label>
                    <select id="encoding" onchange={on_encoding}>
                        { for Encoding::ALL.iter().map(|e| html! {
                            <option value={e.label()} selected={*e == encoding}>{ e.label() }</option>
                        }) }
                    </select>
                    <label for="view-mode">{ "View" }</label>
                    <select id="view-mode" onchange={on_view}>
                        <option value="text" selected={view == ViewMode::Text}>{ "Text" }</option>
                        <option value="hex" selected={view == ViewMode::Hex}>{ "Hex" }</option>
                    </select>
                    { for disconnect }
                </div>
            </header>
            <div class="log-scroll" ref={scroller} {onscroll}>
                { for show_earlier }
                <ol class="log" role="log" aria-label="Messages">
                    { for missing }
                    { for conv.visible().map(|e| html! { <Message key={e.key()} entry={e.clone()} {view} {encoding} /> }) }
                    { for close_line }
                </ol>
                if empty {
                    <p class="log-empty">{ empty_hint(info.state, info.origin) }</p>
                }
            </div>
        </section>
    }
}

fn empty_hint(state: ConnState, origin: Origin) -> &'static str {
    match (state, origin) {
        (ConnState::Connecting, _) => "Connecting…",
        (_, Origin::Accepted) => {
            "No messages yet. What the peer sends appears here; type below to answer."
        }
        (_, Origin::Dialled) => "No messages yet. Type below to talk to the server.",
    }
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn plural_earlier(n: u64) -> String {
    if n == 1 {
        "1 earlier message".into()
    } else {
        format!("{n} earlier messages")
    }
}

/// Local time of `at`, using the browser's time zone at that moment.
fn local_time(at: Micros) -> LocalTime {
    let ms = (at / 1000) as f64;
    let offset = -js_sys::Date::new(&ms.into()).get_timezone_offset();
    format_time(at, offset as i32)
}

#[derive(Properties, PartialEq)]
struct MessageProps {
    entry: Entry,
    view: ViewMode,
    encoding: Encoding,
}

#[component]
fn Message(props: &MessageProps) -> Html {
    match &props.entry {
        Entry::Note { text, .. } => html! {
            <li class="msg sys note"><span class="sys-text">{ &**text }</span></li>
        },
        Entry::Record(rec) => {
            html! { <Record rec={rec.clone()} view={props.view} encoding={props.encoding} /> }
        }
    }
}

#[derive(Properties, PartialEq)]
struct RecordProps {
    rec: Rec,
    view: ViewMode,
    encoding: Encoding,
}

#[component]
fn Record(props: &RecordProps) -> Html {
    let full = use_state(|| false);
    let (rec, view) = (&props.rec, props.view);
    let (class, who) = match rec.flow {
        Flow::Rx => ("rx", "Received"),
        Flow::Tx => ("tx", "Sent"),
    };
    let at = local_time(rec.at);
    let shown = if *full {
        &rec.data[..]
    } else {
        &rec.data[..rec.data.len().min(PREVIEW)]
    };
    let rest = rec.data.len() - shown.len();
    let more = (rest > 0).then(|| {
        let full = full.clone();
        html! {
            <button type="button" class="more" onclick={move |_| full.set(true)}>
                { format!("Show all {} ({} more)", format_size(rec.data.len() as u64), format_size(rest as u64)) }
            </button>
        }
    });
    let body = match view {
        ViewMode::Hex => html! { <pre class="body hex">{ hex_view(shown) }</pre> },
        ViewMode::Text => html! {
            <pre class="body">
                { for render_text_in(shown, props.encoding).into_iter().map(|p| match p {
                    Piece::Text(t) => html! { { t } },
                    Piece::Escape(e) => html! { <span class="esc">{ e }</span> },
                }) }
            </pre>
        },
    };
    html! {
        <li class={classes!("msg", class)}>
            <div class="meta">
                <span class="sr-only">{ who }{ " " }</span>
                <time datetime={at.machine} title={at.full}>{ at.clock }</time>
                { " " }
                <span class="size">{ format_size(rec.data.len() as u64) }</span>
            </div>
            { body }
            { for more }
        </li>
    }
}
