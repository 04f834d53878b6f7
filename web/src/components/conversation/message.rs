//! One line of a conversation: a record, a note from the bridge, or a file sent. A record shows
//! with its time, size and a button to see it the other way (hex, or text), as the
//! conversation's view has it: a bubble (received on the left, sent on the right), a line of a
//! log, or a hexdump. Its marks say what framing and checksum found (cut, unfinished, a bad
//! checksum) and which rule sent it; a received one offers to make a rule for its like. A
//! proxied conversation's record says which way it went (client→server, server→client), in
//! every view, and whether a page injected it.

use protocol::{Flow, Marks, Micros, Way};
use yew::prelude::*;

use crate::bytes_view::hex::{hex_line, hexdump};
use crate::bytes_view::size::format_size;
use crate::bytes_view::text::{render_lines_in, Piece};
use crate::bytes_view::time::{format_gap, format_time, LocalTime};
use crate::encoding::Encoding;
use crate::export::file_line;
use crate::hooks::device::DeviceCtx;
use crate::state::{Encodings, Entry, FileSend, Rec, ViewMode};

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
    /// How its text reads, by the way it went.
    pub encodings: Encodings,
    /// Time since the previous message, when gaps are shown.
    pub gap: Option<Micros>,
    /// Whether line endings show as escapes.
    pub ends: bool,
    /// Each message is a datagram (UDP), which may be empty.
    #[prop_or_default]
    pub datagrams: bool,
}

/// A line of the log. Not a Tab stop, nor are its buttons: the log is one, and the arrow keys
/// move within it (see `log_view`), so that Tab goes past a long conversation in one step.
#[component]
pub fn Message(props: &MessageProps) -> Html {
    match &props.entry {
        Entry::Note { text, .. } => html! {
            <li class="msg sys note" tabindex="-1"><span class="sys-text">{ &**text }</span></li>
        },
        Entry::Record(rec) => html! {
            <Record rec={rec.clone()} view={props.view} encoding={props.encodings.of(rec.head.flow)} gap={props.gap}
                    ends={props.ends} datagrams={props.datagrams} />
        },
        Entry::File(file) => file_entry(file),
    }
}

/// A file sent: its name, and how much of it the peer has.
fn file_entry(file: &FileSend) -> Html {
    let at = file.first_at.map(local_time);
    let (max, value) = match file.size {
        Some(size) => (size.max(1), file.written.min(size)),
        None => (1, 1),
    };
    let state = match (file.done(), file.size, file.stopped) {
        (true, ..) => format!(
            "sent, in {}",
            crate::bytes_view::size::plural(file.parts, "part")
        ),
        (false, Some(_), true) => "stopped before its end".into(),
        (false, Some(_), false) => "sending…".into(),
        (false, None, _) => "parts of a file".into(),
    };
    html! {
        <li class={classes!("msg", "tx", "file", file.done().then_some("done"), (file.stopped && !file.done()).then_some("stopped"))} tabindex="-1">
            <div class="meta">
                <span class="sr-only">{ "Sent " }</span>
                if let Some(at) = at {
                    <time datetime={at.machine} title={at.full}>{ at.clock }</time>
                    { " " }
                }
                <span class="mark file-mark">{ "file" }</span>
                { " " }
                <span class="file-state">{ state }</span>
            </div>
            <div class="body file-body">
                <span class="file-line">{ file_line(file) }</span>
                <progress max={max.to_string()} value={value.to_string()} aria-label="Written to the peer"></progress>
            </div>
        </li>
    }
}

/// The marks a record may carry: its bit, its class and word, and what it means.
const MARKS: [(Marks, &str, &str, &str); 5] = [
    (
        Marks::CUT,
        "cut",
        "cut",
        "Longer than the framing allows (1 MiB): it goes on in the next message",
    ),
    (
        Marks::UNFINISHED,
        "unfinished",
        "unfinished",
        "The connection closed, or its framing changed, before the message ended",
    ),
    (
        Marks::BAD_CHECKSUM,
        "bad-checksum",
        "bad checksum",
        "It does not end with the checksum this connection checks",
    ),
    (
        Marks::EDITED,
        "edited",
        "edited",
        "Held, then edited on a page: this is what went, not what the side said",
    ),
    (
        Marks::DROPPED,
        "dropped",
        "dropped",
        "Held, then dropped on a page: the side said it, and it was never sent on",
    ),
];

/// The classes of a way's mark, on a record and on a held message alike.
pub(super) fn way_class(way: Way) -> &'static str {
    match way {
        Way::ClientToServer => "way c2s",
        Way::ServerToClient => "way s2c",
    }
}

/// The way a proxied conversation's record went, as a label: its class, words and meaning.
fn way_mark(rec: &Rec) -> Option<(&'static str, String, String)> {
    let way = Way::of(rec.head.flow, rec.head.marks)?;
    let class = way_class(way);
    let title = match (way, rec.head.marks.contains(Marks::INJECTED)) {
        (Way::ClientToServer, false) => "The client said it; the bridge relayed it to the server",
        (Way::ServerToClient, false) => "The server said it; the bridge relayed it to the client",
        (Way::ClientToServer, true) => "Sent from a page to the server, as if from the client",
        (Way::ServerToClient, true) => "Sent from a page to the client, as if from the server",
    };
    Some((class, way.label().to_owned(), title.to_owned()))
}

/// What a record's marks and rule say about it, as small labels.
fn marks(rec: &Rec, ctx: Option<&DeviceCtx>) -> Vec<Html> {
    let rule = rec.rule.as_deref().map(|id| {
        let name = ctx.map_or_else(|| id.to_owned(), |c| c.rule_name(id));
        (
            "auto",
            format!("auto: {name}"),
            format!("Sent by the auto-reply rule `{id}`"),
        )
    });
    let injected = rec.head.marks.contains(Marks::INJECTED).then(|| {
        (
            "injected",
            "injected".to_owned(),
            "Not relayed: sent from a page into this conversation".to_owned(),
        )
    });
    way_mark(rec)
        .into_iter()
        .chain(injected)
        .chain(
            MARKS
                .iter()
                .filter(|(bit, ..)| rec.head.marks.contains(*bit))
                .map(|(_, class, text, title)| (*class, text.to_string(), title.to_string())),
        )
        .chain(rule)
        .map(|(class, text, title)| {
            html! { <>{ " " }<span class={classes!("mark", class)} {title}>{ text }</span></> }
        })
        .collect()
}

#[derive(Properties, PartialEq)]
struct RecordProps {
    rec: Rec,
    view: ViewMode,
    encoding: Encoding,
    gap: Option<Micros>,
    ends: bool,
    datagrams: bool,
}

#[component]
fn Record(props: &RecordProps) -> Html {
    let full = use_state(|| false);
    let rules = use_context::<DeviceCtx>();
    // This message's own view, when the user flipped it, and the conversation's view it was
    // flipped from: choosing another view for the whole conversation undoes the flip.
    let own_view = use_state(|| None::<(ViewMode, ViewMode)>);
    let rec = &props.rec;
    let view = match *own_view {
        Some((base, own)) if base == props.view => own,
        _ => props.view,
    };
    // Hex flips to the text of the conversation's view (a log line stays a line), and back.
    let other = match (view, props.view) {
        (ViewMode::Hex, ViewMode::Hex) => ViewMode::Text,
        (ViewMode::Hex, base) => base,
        (ViewMode::LogHex, _) => ViewMode::Log,
        (_, ViewMode::LogHex) => ViewMode::LogHex,
        _ => ViewMode::Hex,
    };
    let flip = {
        let own_view = own_view.clone();
        let base = props.view;
        Callback::from(move |_: MouseEvent| own_view.set(Some((base, other))))
    };
    let proxied = rec.head.marks.contains(Marks::PROXIED);
    let (class, who, arrow) = match (rec.head.flow, proxied) {
        (Flow::Rx, false) => ("rx", "Received", "←"),
        (Flow::Tx, false) => ("tx", "Sent", "→"),
        (Flow::Rx, true) => ("rx", "Client to server", "→"),
        (Flow::Tx, true) => ("tx", "Server to client", "←"),
    };
    let at = local_time(rec.head.at);
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
        // Visible in every view: a datagram of no bytes is a message all the same.
        _ if rec.data.is_empty() => html! {
            <pre class="body"><span class="esc">{ if props.datagrams { "empty datagram" } else { "(empty)" } }</span></pre>
        },
        ViewMode::Hex => {
            let dump = hexdump(shown, 0);
            html! {
                <pre class="body hex">
                    <span class="dump-offsets">{ dump.offsets }</span>
                    <span class="dump-hex">{ dump.hex }</span>
                    <span class="dump-ascii">{ dump.ascii }</span>
                </pre>
            }
        }
        ViewMode::Text => html! {
            <pre class="body">{ for pieces(shown, props.encoding, props.ends, false) }</pre>
        },
        ViewMode::Log => html! {
            <pre class="body">{ for pieces(shown, props.encoding, props.ends, true) }</pre>
        },
        ViewMode::LogHex => html! { <pre class="body hex-line">{ hex_line(shown) }</pre> },
    };
    let line = props.view.is_log() && view.is_log();
    // Rules do not answer in a proxied conversation: its client and server answer each other.
    let reply_like = (rec.head.flow == Flow::Rx && !proxied)
        .then(|| rules.clone())
        .flatten()
        .map(|ctx| {
            let (data, encoding) = (rec.data.clone(), props.encoding);
            let onclick = ctx
                .on_reply_like
                .reform(move |_: MouseEvent| (data.clone(), encoding));
            html! {
                <>
                    { " " }
                    <button type="button" class="flip reply-like" tabindex="-1" {onclick}
                            title="Make an auto-reply rule that answers messages like this one">
                        { "auto-reply…" }
                    </button>
                </>
            }
        });
    // The hex log's lines keep their bytes in one column: only the time and the direction come
    // before them, the rest after.
    let column = line && props.view == ViewMode::LogHex;
    let after = html! {
        <>
            { for marks(rec, rules.as_ref()) }
            { " " }
            <button type="button" class="flip" tabindex="-1" onclick={flip}
                    title="Show this message the other way">
                { if view.is_hex() { "text" } else { "hex" } }
            </button>
            { for reply_like }
            if let Some(gap) = props.gap {
                { " " }
                <span class="gap" title="Time since the previous message">{ format_gap(gap) }</span>
            }
        </>
    };
    let (in_meta, after_body) = if column {
        (
            None,
            Some(html! { <div class="line-after">{ after }</div> }),
        )
    } else {
        (Some(after), None)
    };
    html! {
        <li class={classes!("msg", class, view_class(props.view), line.then_some("line"))} tabindex="-1">
            <div class="meta">
                <span class="sr-only">{ who }{ " " }</span>
                <time datetime={at.machine} title={at.full}>{ at.clock }</time>
                { " " }
                if props.view != ViewMode::Text {
                    <span class="dir" aria-hidden="true">{ arrow }</span>
                    { " " }
                }
                // A hex line's bytes count themselves.
                if !column {
                    <span class="size">{ format_size(rec.data.len() as u64) }</span>
                }
                { for in_meta }
            </div>
            { body }
            { for after_body }
            { for more }
        </li>
    }
}

/// The class of a line in each view of the conversation.
fn view_class(view: ViewMode) -> &'static str {
    match view {
        ViewMode::Text => "chat",
        ViewMode::Log | ViewMode::LogHex => "logline",
        ViewMode::Hex => "dump",
    }
}

/// The text of a message as nodes: escapes marked. On one line (`one_line`), a line break shows
/// as a small mark, unless line endings already show as escapes.
fn pieces(bytes: &[u8], encoding: Encoding, ends: bool, one_line: bool) -> Vec<Html> {
    render_lines_in(bytes, encoding, ends)
        .into_iter()
        .map(|p| match p {
            Piece::Escape(e) => html! { <span class="esc">{ e }</span> },
            Piece::Text(t) if one_line && t.contains('\n') => {
                let mut parts = t.split('\n');
                let first = parts.next().unwrap_or_default().to_string();
                html! {
                    <>
                        { first }
                        { for parts.map(|part| html! {
                            <>
                                if !ends {
                                    <span class="nl" aria-hidden="true">{ "⏎" }</span>
                                }
                                { part.to_string() }
                            </>
                        }) }
                    </>
                }
            }
            Piece::Text(t) => html! { { t } },
        })
        .collect()
}
