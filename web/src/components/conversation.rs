//! The conversation of the selected connection: received on the left, sent on the right.

use std::collections::HashMap;
use std::rc::Rc;

use protocol::{ConnId, ConnState, Flow, Micros, Origin, Seq};
use web_sys::{Element, HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::bytes_view::address::split_address;
use crate::bytes_view::hex::hex_view;
use crate::bytes_view::size::{format_size, plural};
use crate::bytes_view::text::{render_text_in, Piece};
use crate::bytes_view::time::{format_gap, format_time, LocalTime};
use crate::components::rate_graph::RateGraph;
use crate::encoding::Encoding;
use crate::export;
use crate::state::{state_word, Conv, Entry, Rec, ViewMode, WINDOW};

/// How close to the bottom (in pixels) still counts as "at the bottom" for auto-scroll.
const STICK_PX: i32 = 32;
/// Bytes of a message shown until the user asks for all of it: a flood arrives in records of up
/// to 64 KiB, and hundreds of those in full would make every render of the page slow.
const PREVIEW: usize = 4096;

#[derive(Properties, PartialEq)]
pub struct ConversationProps {
    pub conv: Option<Rc<Conv>>,
    /// The other end of the same TCP connection, when the bridge holds both (it dialled its own
    /// listener): shown beside this one.
    #[prop_or_default]
    pub twin: bool,
    pub view: ViewMode,
    pub on_view: Callback<ViewMode>,
    /// Asks the bridge to dial `host:port` (to dial a closed outbound connection again).
    pub on_redial: Callback<(String, u16), Result<(), String>>,
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
    // What the user narrowed the view to: a search, whether to show gaps, and per connection the
    // last record cleared from view (the bridge keeps them all; a refresh shows them again).
    let filter = use_state(String::new);
    let gaps = use_state(|| false);
    let cleared = use_state(HashMap::<ConnId, Seq>::new);
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
            <section class={classes!("conversation", props.twin.then_some("twin"))} aria-label={region(props.twin)}>
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
    let on_filter = {
        let filter = filter.clone();
        Callback::from(move |e: InputEvent| {
            filter.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_gaps = {
        let gaps = gaps.clone();
        Callback::from(move |e: Event| {
            gaps.set(e.target_unchecked_into::<HtmlInputElement>().checked())
        })
    };
    let cleared_at = cleared.get(&id).copied();
    // The newest record: the log's last entry, or the one before a note.
    let last_seq = conv.last_record().map(|r| r.seq);
    let on_clear = {
        let cleared = cleared.clone();
        Callback::from(move |_: MouseEvent| {
            let mut marks = (*cleared).clone();
            match (cleared_at, last_seq) {
                (Some(_), _) => {
                    marks.remove(&id);
                }
                (None, Some(seq)) => {
                    marks.insert(id, seq);
                }
                (None, None) => return,
            }
            cleared.set(marks);
        })
    };
    let download = |kind: &'static str| {
        let conv = conv.clone();
        Callback::from(move |_: MouseEvent| {
            let base = format!(
                "tcp-bridge-{}-{}",
                conv.info.id,
                conv.info.peer.replace([':', '[', ']'], "_")
            );
            let _ = match kind {
                "txt" => export::save(
                    &format!("{base}.txt"),
                    "text/plain;charset=utf-8",
                    &export::to_text(&conv),
                ),
                _ => export::save(
                    &format!("{base}.jsonl"),
                    "application/x-ndjson",
                    &export::to_jsonl(&conv),
                ),
            };
        })
    };
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
        .then(|| split_address(&info.peer))
        .flatten()
        .map(|(host, port)| {
            let on_redial = props.on_redial.clone();
            let onclick = Callback::from(move |_: MouseEvent| {
                let _ = on_redial.emit((host.clone(), port));
            });
            html! {
                <button type="button" class="primary" {onclick} disabled={!props.online}>{ "Dial again" }</button>
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
    let query = filter.trim().to_lowercase();
    let narrowed = !query.is_empty() || cleared_at.is_some();
    let entries: Vec<&Entry> = if narrowed {
        let mut found: Vec<&Entry> = conv
            .log
            .iter()
            .filter(|e| match e {
                Entry::Record(r) => {
                    cleared_at.is_none_or(|mark| r.seq > mark)
                        && (query.is_empty() || matches(r, &query, encoding, view))
                }
                Entry::Note { .. } => query.is_empty(),
            })
            .collect();
        let skip = found.len().saturating_sub(WINDOW);
        found.drain(..skip);
        found
    } else {
        conv.visible().collect()
    };
    let mut previous = None::<Micros>;
    let items: Vec<Html> = entries
        .into_iter()
        .map(|e| {
            let gap = match e {
                Entry::Record(r) => {
                    let gap = previous.map(|p| r.at - p);
                    previous = Some(r.at);
                    gap.filter(|_| *gaps)
                }
                Entry::Note { .. } => None,
            };
            html! { <Message key={e.key()} entry={e.clone()} {view} {encoding} {gap} /> }
        })
        .collect();
    let narrowing = narrowed.then(|| {
        let what = match (query.is_empty(), cleared_at.is_some()) {
            (false, true) => "Showing matches since the view was cleared",
            (false, false) => "Showing matches",
            _ => "The view was cleared; the history is kept",
        };
        html! { <li class="msg sys narrowed" key="narrowed">{ what }</li> }
    });

    html! {
        <section class={classes!("conversation", props.twin.then_some("twin"))} aria-label={region(props.twin)}>
            <header class="conv-header">
                <div class="conv-title">
                    <h2>
                        <span class="peer">{ &info.peer }</span>
                        { " " }
                        <span class={classes!("state", state)}>{ state }</span>
                    </h2>
                    <p class="conv-details">{ details.join(" · ") }</p>
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
            <div class="conv-filter">
                <label for={field_id(props.twin, "filter")}>{ "Find" }</label>
                <input id={field_id(props.twin, "filter")} type="search" value={(*filter).clone()} oninput={on_filter}
                       placeholder="Show only messages containing…" spellcheck="false" />
                <span class="control">
                    <input id={field_id(props.twin, "gaps")} type="checkbox" checked={*gaps} onchange={on_gaps} />
                    <label for={field_id(props.twin, "gaps")}>{ "Gaps" }</label>
                </span>
                <span class="downloads" role="group" aria-label="Download">
                    <span class="label" aria-hidden="true">{ "Download" }</span>
                    <button type="button" onclick={download("txt")} title="The conversation as text">{ "Text" }</button>
                    <button type="button" onclick={download("jsonl")} title="The conversation as JSON Lines, exact bytes included">{ "JSON Lines" }</button>
                </span>
                <button type="button" onclick={on_clear}>
                    { if cleared_at.is_some() { "Show all" } else { "Clear view" } }
                </button>
            </div>
            <div class="log-scroll" ref={scroller} {onscroll}>
                { for show_earlier }
                <ol class="log" role="log" aria-label={if props.twin { "Messages at the other end" } else { "Messages" }}>
                    { for missing }
                    { for narrowing }
                    { for items }
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
    /// Time since the previous message, when gaps are shown.
    gap: Option<Micros>,
}

#[component]
fn Message(props: &MessageProps) -> Html {
    match &props.entry {
        Entry::Note { text, .. } => html! {
            <li class="msg sys note"><span class="sys-text">{ &**text }</span></li>
        },
        Entry::Record(rec) => {
            html! { <Record rec={rec.clone()} view={props.view} encoding={props.encoding} gap={props.gap} /> }
        }
    }
}

#[derive(Properties, PartialEq)]
struct RecordProps {
    rec: Rec,
    view: ViewMode,
    encoding: Encoding,
    gap: Option<Micros>,
}

#[component]
fn Record(props: &RecordProps) -> Html {
    let full = use_state(|| false);
    // This message's own view, when the user flipped it, and the conversation's view it was
    // flipped from: choosing another view for the whole conversation undoes the flip.
    let own_view = use_state(|| None::<(ViewMode, ViewMode)>);
    let rec = &props.rec;
    let view = match *own_view {
        Some((base, own)) if base == props.view => own,
        _ => props.view,
    };
    let flip = {
        let own_view = own_view.clone();
        let base = props.view;
        let other = match view {
            ViewMode::Text => ViewMode::Hex,
            ViewMode::Hex => ViewMode::Text,
        };
        Callback::from(move |_: MouseEvent| own_view.set(Some((base, other))))
    };
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
                { " " }
                <button type="button" class="flip" onclick={flip}
                        title="Show this message the other way">
                    { match view { ViewMode::Text => "hex", ViewMode::Hex => "text" } }
                </button>
                if let Some(gap) = props.gap {
                    { " " }
                    <span class="gap" title="Time since the previous message">{ format_gap(gap) }</span>
                }
            </div>
            { body }
            { for more }
        </li>
    }
}

/// Whether a record's text (or hex, in the hex view) contains `query` (lower case).
fn matches(rec: &Rec, query: &str, encoding: Encoding, view: ViewMode) -> bool {
    let shown = match view {
        ViewMode::Hex => hex_view(&rec.data),
        ViewMode::Text => render_text_in(&rec.data, encoding)
            .into_iter()
            .map(|p| match p {
                Piece::Text(t) | Piece::Escape(t) => t,
            })
            .collect(),
    };
    shown.to_lowercase().contains(query)
}

/// An element id, distinct in the other end's panel so that labels find their own field.
fn field_id(twin: bool, name: &str) -> String {
    if twin {
        format!("other-end-{name}")
    } else {
        name.to_string()
    }
}

/// The conversation's accessible name: the selected one, or its other end beside it.
fn region(twin: bool) -> &'static str {
    if twin {
        "Other end"
    } else {
        "Conversation"
    }
}
