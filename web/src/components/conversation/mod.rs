//! The conversation of the selected connection: its header, the bar that narrows it, and its
//! messages (as a chat, a log, or a hexdump). When the bridge holds both ends of one connection,
//! two of them side by side, each labelled by its side.

mod filter_bar;
mod find;
mod header;
mod held;
mod log_view;
mod message;

use std::collections::HashMap;
use std::rc::Rc;

use protocol::{ConnId, Seq};
use yew::prelude::*;

use self::filter_bar::{Download, FilterBar};
use self::find::{use_find, Search};
use self::header::ConversationHeader;
use self::held::HeldQueue;
use self::log_view::LogView;
use crate::components::reading_form::ReadingForm;
use crate::components::tls_details::tls_details;
use crate::export;
use crate::hooks::device::DeviceCtx;
use crate::state::Conv;

/// Which side of a TCP connection a pane shows, when the page shows both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The connection the bridge's listener accepted: the bridge is its server.
    Server,
    /// The connection the bridge dialled: the bridge is its client.
    Client,
}

impl Side {
    /// `server side`, `client side`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Server => "server side",
            Side::Client => "client side",
        }
    }

    /// How the bridge came by that side's connection.
    pub fn origin(self) -> &'static str {
        match self {
            Side::Server => "accepted",
            Side::Client => "dialled",
        }
    }

    pub fn other(self) -> Side {
        match self {
            Side::Server => Side::Client,
            Side::Client => Side::Server,
        }
    }
}

/// What a conversation pane is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pane {
    /// The selected conversation, alone.
    #[default]
    Single,
    /// One side of a connection shown with its other end; `typing` when it is the selected one,
    /// the side the composer sends as.
    Side { side: Side, typing: bool },
}

impl Pane {
    /// Whether this pane is not the one the composer sends as: its field ids and names differ.
    pub fn other_end(self) -> bool {
        matches!(self, Pane::Side { typing: false, .. })
    }
}

#[derive(Properties, PartialEq)]
pub struct ConversationProps {
    pub conv: Option<Rc<Conv>>,
    #[prop_or_default]
    pub pane: Pane,
    /// The page is not connected to the bridge (or not caught up): states may be out of date.
    #[prop_or_default]
    pub stale: bool,
    /// The fingerprint of the certificate the bridge's TLS listener presents: what a client it
    /// accepted saw.
    #[prop_or_default]
    pub bridge_fingerprint: Option<AttrValue>,
    /// Whether commands can reach the bridge now.
    pub online: bool,
}

#[component]
pub fn Conversation(props: &ConversationProps) -> Html {
    // What the user narrowed the view to: a search, whether to show gaps, and per connection the
    // last record cleared from view (the bridge keeps them all; a refresh shows them again).
    let query = use_state(String::new);
    let gaps = use_state(|| false);
    let ends = use_state(|| false);
    let cleared = use_state(HashMap::<ConnId, Seq>::new);
    let reading = use_state(|| false);
    let search = props
        .conv
        .as_ref()
        .and_then(|c| Search::new(&query, c.encodings, c.view));
    let twin = props.pane.other_end();
    let log = props
        .conv
        .as_ref()
        .map(|c| c.log.clone())
        .unwrap_or_default();
    let found = use_find(log, search.clone());
    let device = use_context::<DeviceCtx>();

    let Some(conv) = &props.conv else {
        return html! {
            <section class="conversation" aria-label={region(props.pane)}>
                <div class="conv-empty">
                    <p>{ "Select a connection to see its conversation." }</p>
                </div>
            </section>
        };
    };
    let id = conv.info.id;
    let cleared_at = cleared.get(&id).copied();
    let on_clear = {
        let cleared = cleared.clone();
        // The newest record: the log's last entry, or the one before a note.
        let last_seq = conv.last_record().map(|r| r.head.seq);
        Callback::from(move |()| {
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
    let on_download = {
        let conv = conv.clone();
        Callback::from(move |what| {
            let base = format!(
                "tcp-bridge-{}-{}",
                conv.info.id,
                conv.info.peer.replace([':', '[', ']'], "_")
            );
            let _ = match what {
                Download::Text => export::save(
                    &format!("{base}.txt"),
                    "text/plain;charset=utf-8",
                    &export::to_text(&conv),
                ),
                Download::JsonLines => export::save(
                    &format!("{base}.jsonl"),
                    "application/x-ndjson",
                    &export::to_jsonl(&conv),
                ),
                Download::Pcapng => export::to_pcapng(&conv).and_then(|file| {
                    export::save_bytes(&format!("{base}.pcapng"), "application/x-pcapng", &file)
                }),
            };
        })
    };
    let on_learn = {
        let learn = device.map_or_else(Callback::noop, |d| d.on_learn);
        learn.reform(move |()| id)
    };
    let on_query = {
        let query = query.clone();
        Callback::from(move |text| query.set(text))
    };
    let on_gaps = {
        let gaps = gaps.clone();
        Callback::from(move |on| gaps.set(on))
    };
    let on_ends = {
        let ends = ends.clone();
        Callback::from(move |on| ends.set(on))
    };
    let on_reading = {
        let reading = reading.clone();
        Callback::from(move |()| reading.set(!*reading))
    };
    let (side, typing) = match props.pane {
        Pane::Single => (None, true),
        Pane::Side { side, typing } => (Some(side), typing),
    };

    html! {
        <section class={classes!("conversation", side.map(|s| s.origin()), typing.then_some("typing"))}
                 aria-label={region(props.pane)}>
            if let Some(side) = side {
                <p class="pane-role">
                    <span class="role-name">{ side.name() }</span>
                    { ": " }{ side.origin() }
                    if typing {
                        <span class="typing-here">{ "you type as this side" }</span>
                    }
                </p>
            }
            <ConversationHeader conv={conv.clone()} {twin} stale={props.stale} ends={*ends} {on_ends}
                                online={props.online} reading={*reading} on_reading={on_reading.clone()} />
            { tls_details(conv, props.bridge_fingerprint.as_deref()) }
            if *reading {
                <ReadingForm key={id} conn={Some(id)} settings={conv.info.settings.clone()}
                             server={conv.info.proxy.as_ref().map(|p| p.settings.clone())}
                             online={props.online} on_close={on_reading} />
            }
            <FilterBar {twin} query={(*query).clone()} gaps={*gaps} cleared={cleared_at.is_some()}
                       {on_query} {on_gaps} {on_clear} {on_download} {on_learn} />
            <LogView conv={conv.clone()} pane={props.pane} gaps={*gaps} ends={*ends}
                     found={search.is_some().then_some(found)} cleared={cleared_at} />
            <HeldQueue conv={conv.clone()} online={props.online} />
        </section>
    }
}

/// An element id, distinct in the other end's panel so that labels find their own field.
fn field_id(twin: bool, name: &str) -> String {
    if twin {
        format!("other-end-{name}")
    } else {
        name.to_string()
    }
}

/// The pane's accessible name: the conversation the composer sends in, or its other end beside
/// it; with both ends shown, which side each is.
fn region(pane: Pane) -> String {
    match pane {
        Pane::Single => "Conversation".into(),
        Pane::Side { side, typing: true } => {
            format!("Conversation, {}: {}", side.name(), side.origin())
        }
        Pane::Side {
            side,
            typing: false,
        } => format!("Other end, {}: {}", side.name(), side.origin()),
    }
}
