//! The messages of a conversation, scrolled to the newest while the user stays at the bottom.
//!
//! The window of newest messages renders a chunk of the log per component: a chunk that did not
//! change (every one but the last, while messages arrive) is compared by pointer and not
//! rendered again, nor are its messages.
//!
//! The log is one Tab stop: the arrow keys move from message to message, and to a message's
//! buttons and back, so that the keyboard gets past a long conversation at once.

use std::rc::Rc;

use protocol::{ConnState, Micros, Origin, Seq, Transport};
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;
use yew::prelude::*;

use super::message::{local_time, Message};
use super::Pane;
use crate::bytes_view::size::{format_size, plural};
use crate::hooks::commands::use_commands;
use crate::hooks::stick_to_bottom::use_stick_to_bottom;
use crate::state::{Action, Conv, Encodings, Entry, ViewMode, WINDOW};

#[derive(Properties, PartialEq)]
pub struct LogViewProps {
    pub conv: Rc<Conv>,
    pub pane: Pane,
    pub gaps: bool,
    /// Whether line endings show as escapes.
    pub ends: bool,
    /// The records Find found, when it is on.
    pub found: Option<Rc<Vec<Entry>>>,
    /// The last record cleared from view, when the view was cleared.
    pub cleared: Option<Seq>,
}

#[component]
pub fn LogView(props: &LogViewProps) -> Html {
    let conv = &props.conv;
    let info = &conv.info;
    let id = info.id;
    let (scroller, onscroll) = use_stick_to_bottom(id);
    let dispatch = use_commands().dispatch;
    let (view, encodings, gaps, ends) = (conv.view, conv.encodings, props.gaps, props.ends);
    let datagrams = info.transport == Transport::Udp;

    let hidden = conv.hidden();
    let show_earlier = (hidden > 0).then(|| {
        let onclick = dispatch.reform(move |_: MouseEvent| Action::ShowEarlier(id));
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
                    plural(msgs, "earlier message"),
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
    let empty = conv.log.is_empty() && close_line.is_none();
    let items = if props.found.is_some() || props.cleared.is_some() {
        narrowed(props)
    } else {
        let mut previous = None::<Micros>;
        let chunks = conv.log.chunks_from(hidden).map(|(chunk, from)| {
            let prev_at = previous.filter(|_| gaps);
            for e in chunk[from..].iter().rev() {
                if let Entry::Record(r) = e {
                    previous = Some(r.head.at);
                    break;
                }
            }
            let key = chunk.first().map_or_else(String::new, |e| e.key());
            html! {
                <LogChunk {key} chunk={chunk.clone()} {from} to={chunk.len()} {prev_at}
                          {view} {encodings} {gaps} {ends} {datagrams} />
            }
        });
        html! { <>{ for chunks }</> }
    };

    let label = if props.pane.other_end() {
        "Messages at the other end"
    } else {
        "Messages"
    };
    let view_class = match view {
        ViewMode::Text => "view-chat",
        ViewMode::Log | ViewMode::LogHex => "view-log",
        ViewMode::Hex => "view-hex",
    };
    let hex_column = (view == ViewMode::LogHex).then_some("hex-column");
    html! {
        <div class="log-scroll" ref={scroller} {onscroll}>
            { for show_earlier }
            <ol class={classes!("log", view_class, hex_column)} role="log" aria-label={label} tabindex="0"
                onkeydown={Callback::from(move_in_log)}>
                { for missing }
                { items }
                { for close_line }
            </ol>
            if empty {
                <p class="log-empty">{ empty_hint(info.state, info.origin, props.pane) }</p>
            }
        </div>
    }
}

/// What Find found, or what came since the view was cleared: the newest [`WINDOW`] of them.
fn narrowed(props: &LogViewProps) -> Html {
    let conv = &props.conv;
    let after_clear = |e: &&Entry| match (e, props.cleared) {
        (Entry::Record(r), Some(mark)) => r.head.seq > mark,
        _ => true,
    };
    let mut shown: Vec<&Entry> = match (&props.found, props.cleared) {
        (Some(found), _) => found
            .iter()
            .rev()
            .filter(after_clear)
            .take(WINDOW)
            .collect(),
        // Since the clear: the newest entries, back to the last record cleared.
        (None, mark) => conv
            .log
            .iter_rev()
            .take_while(|e| !matches!((e, mark), (Entry::Record(r), Some(m)) if r.head.seq <= m))
            .take(WINDOW)
            .collect(),
    };
    shown.reverse();
    let what = match (props.found.is_some(), props.cleared.is_some()) {
        (true, true) => "Showing matches since the view was cleared",
        (true, false) => "Showing matches",
        _ => "The view was cleared; the history is kept",
    };
    let (view, encodings, ends) = (conv.view, conv.encodings, props.ends);
    let datagrams = conv.info.transport == Transport::Udp;
    let mut previous = None;
    let messages = shown.into_iter().map(|e| {
        let gap = gap_of(e, &mut previous).filter(|_| props.gaps);
        html! { <Message key={e.key()} entry={e.clone()} {view} {encodings} {gap} {ends} {datagrams} /> }
    });
    html! {
        <>
            <li class="msg sys narrowed" key="narrowed">{ what }</li>
            { for messages }
        </>
    }
}

/// Time since the previous record shown, and this one becomes the previous.
fn gap_of(entry: &Entry, previous: &mut Option<Micros>) -> Option<Micros> {
    match entry {
        Entry::Record(r) => {
            let gap = previous.map(|p| r.head.at - p);
            *previous = Some(r.head.at);
            gap
        }
        Entry::Note { .. } | Entry::File(_) => None,
    }
}

#[derive(Properties)]
struct LogChunkProps {
    chunk: Rc<Vec<Entry>>,
    /// The entries of the chunk to render.
    from: usize,
    to: usize,
    /// The time of the record before this chunk, when gaps are shown.
    prev_at: Option<Micros>,
    view: ViewMode,
    encodings: Encodings,
    gaps: bool,
    ends: bool,
    /// Each message is a datagram (UDP).
    datagrams: bool,
}

/// The same chunk, as long as it was, renders the same: compared by pointer.
impl PartialEq for LogChunkProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.chunk, &other.chunk)
            && (self.from, self.to, self.prev_at) == (other.from, other.to, other.prev_at)
            && (
                self.view,
                self.encodings,
                self.gaps,
                self.ends,
                self.datagrams,
            ) == (
                other.view,
                other.encodings,
                other.gaps,
                other.ends,
                other.datagrams,
            )
    }
}

#[component]
fn LogChunk(props: &LogChunkProps) -> Html {
    let (view, encodings, ends, datagrams) =
        (props.view, props.encodings, props.ends, props.datagrams);
    let mut previous = props.prev_at;
    let to = props.to.min(props.chunk.len());
    let messages = props.chunk[props.from.min(to)..to].iter().map(|e| {
        let gap = gap_of(e, &mut previous).filter(|_| props.gaps);
        html! { <Message key={e.key()} entry={e.clone()} {view} {encodings} {gap} {ends} {datagrams} /> }
    });
    html! { <>{ for messages }</> }
}

/// What an empty conversation says: what will appear in it, and what typing does.
fn empty_hint(state: ConnState, origin: Origin, pane: Pane) -> String {
    match (state, origin, pane) {
        (ConnState::Connecting, _, _) => "Connecting…".into(),
        (ConnState::Closed, _, _) => "No messages were exchanged.".into(),
        (_, _, Pane::Side { side, typing: true }) => format!(
            "No messages yet. What you type below is sent by the {} to the {}, and shows here \
             as sent.",
            side.name(),
            side.other().name()
        ),
        (
            _,
            _,
            Pane::Side {
                side,
                typing: false,
            },
        ) => format!(
            "No messages yet. What the {} sends arrives here. To type as the {side}, choose it \
             under “Sending as” below the conversations.",
            side.other().name(),
            side = side.name()
        ),
        (_, Origin::Accepted, Pane::Single) => {
            "No messages yet. What the peer sends appears here; type below to answer.".into()
        }
        (_, Origin::Dialled, Pane::Single) => {
            "No messages yet. Type below to talk to the server.".into()
        }
    }
}

/// The arrow keys in the log: Up and Down (Home, End) move from message to message, Right to a
/// message's buttons (and on to the next) and Left back, Escape to the log itself. Tab leaves the log.
fn move_in_log(e: KeyboardEvent) {
    // Yew hands events on from the page's root: find the log from what has the focus.
    let Some(focused) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element())
    else {
        return;
    };
    let Some(log) = focused.closest("ol.log").ok().flatten() else {
        return;
    };
    // The message that has the focus, or holds what has it.
    let message = focused
        .closest("li")
        .ok()
        .flatten()
        .filter(|li| li.parent_element().as_ref() == Some(&log));
    let on_button = focused.tag_name() == "BUTTON";
    let target = match (e.key().as_str(), &message) {
        ("ArrowDown", Some(li)) if !on_button => li.next_element_sibling(),
        ("ArrowUp", Some(li)) if !on_button => li.previous_element_sibling(),
        ("ArrowDown" | "ArrowUp", Some(li)) => Some(li.clone()),
        ("ArrowDown" | "ArrowUp" | "End", None) | ("End", Some(_)) => log.last_element_child(),
        ("Home", _) => log.first_element_child(),
        ("ArrowRight", Some(li)) if !on_button => li.query_selector("button").ok().flatten(),
        // The message's next button (its "auto-reply…" after its "hex").
        ("ArrowRight", Some(_)) => focused
            .next_element_sibling()
            .filter(|el| el.tag_name() == "BUTTON"),
        ("ArrowLeft", Some(li)) if on_button => Some(li.clone()),
        ("Escape", Some(_)) => Some(log.clone()),
        _ => None,
    };
    if let Some(el) = target.and_then(|t| t.dyn_into::<HtmlElement>().ok()) {
        e.prevent_default();
        let _ = el.focus();
    }
}
