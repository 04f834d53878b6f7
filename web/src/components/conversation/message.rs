//! One line of a conversation: a record (received on the left, sent on the right, each with its
//! time, size, and a button to see it the other way), or a note from the bridge.

use protocol::{Flow, Micros};
use yew::prelude::*;

use crate::bytes_view::hex::hex_view;
use crate::bytes_view::size::format_size;
use crate::bytes_view::text::{render_text_in, Piece};
use crate::bytes_view::time::{format_gap, format_time, LocalTime};
use crate::encoding::Encoding;
use crate::state::{Entry, Rec, ViewMode};

/// Bytes of a message shown until the user asks for all of it: a flood arrives in records of up
/// to 64 KiB, and hundreds of those in full would make every render of the page slow.
const PREVIEW: usize = 4096;

/// Local time of `at`, using the browser's time zone at that moment.
pub fn local_time(at: Micros) -> LocalTime {
    let ms = (at / 1000) as f64;
    let offset = -js_sys::Date::new(&ms.into()).get_timezone_offset();
    format_time(at, offset as i32)
}

#[derive(Properties, PartialEq)]
pub struct MessageProps {
    pub entry: Entry,
    pub view: ViewMode,
    pub encoding: Encoding,
    /// Time since the previous message, when gaps are shown.
    pub gap: Option<Micros>,
}

/// A line of the log. Not a Tab stop, nor are its buttons: the log is one, and the arrow keys
/// move within it (see `log_view`), so that Tab goes past a long conversation in one step.
#[component]
pub fn Message(props: &MessageProps) -> Html {
    match &props.entry {
        Entry::Note { text, .. } => html! {
            <li class="msg sys note" tabindex="-1"><span class="sys-text">{ &**text }</span></li>
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
            <button type="button" class="more" tabindex="-1" onclick={move |_| full.set(true)}>
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
        <li class={classes!("msg", class)} tabindex="-1">
            <div class="meta">
                <span class="sr-only">{ who }{ " " }</span>
                <time datetime={at.machine} title={at.full}>{ at.clock }</time>
                { " " }
                <span class="size">{ format_size(rec.data.len() as u64) }</span>
                { " " }
                <button type="button" class="flip" tabindex="-1" onclick={flip}
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
