//! A proxied conversation's held messages, below its log, in the order they came: each with
//! Forward, Edit and Drop, and per way Forward all. The queue is the bridge's: every page shows
//! the same, and a message another page let go leaves this one too (an edit of it with it).
//! Edit opens the message's bytes as text in its way's encoding, or as hex, with the exact
//! bytes that would go, its side's checksum computed again.

use std::rc::Rc;

use protocol::{Command, HeldId, HeldMessage, Way};
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use super::message::way_class;
use crate::bytes_view::compose::InputMode;
use crate::bytes_view::hex::{hex_line, preview};
use crate::bytes_view::size::byte_count;
use crate::hooks::commands::use_commands;
use crate::state::{held_count, Conv, HeldEdit};

/// Bytes of a held message its row shows; the rest is behind Edit.
const SHOWN: usize = 160;

#[derive(Properties, PartialEq)]
pub struct HeldProps {
    pub conv: Rc<Conv>,
    /// Whether commands can reach the bridge now.
    pub online: bool,
}

#[component]
pub fn HeldQueue(props: &HeldProps) -> Html {
    let editing = use_state(|| None::<(HeldId, HeldEdit)>);
    let commands = use_commands();
    let conv = &props.conv;
    if conv.held.is_empty() {
        return html! {};
    }
    let conn = conv.info.id;
    let online = props.online;
    let forward_all = [Way::ClientToServer, Way::ServerToClient]
        .into_iter()
        .filter_map(|way| {
            let (n, _) = held_count(conv, way);
            (n > 0).then(|| {
                let onclick = commands
                    .order
                    .reform(move |_: MouseEvent| Command::ForwardAll { conn, way });
                html! {
                    <button type="button" {onclick} disabled={!online}>
                        { format!("Forward all {n} {}", way.label()) }
                    </button>
                }
            })
        });
    let rows = conv.held.iter().map(|message| {
        let edit = editing
            .as_ref()
            .filter(|(id, _)| *id == message.id)
            .map(|(_, edit)| edit.clone());
        held_row(conv, message, edit, &editing, online)
    });
    html! {
        <section class="held" aria-label="Held messages">
            <header class="held-head">
                <h3>{ format!("Held in the bridge: {}", conv.held.len()) }</h3>
                { for forward_all }
            </header>
            <ol class="held-list">{ for rows }</ol>
        </section>
    }
}

/// One held message: its way, size and bytes, and what can be done with it; or its editor.
fn held_row(
    conv: &Conv,
    message: &HeldMessage,
    edit: Option<HeldEdit>,
    editing: &UseStateHandle<Option<(HeldId, HeldEdit)>>,
    online: bool,
) -> Html {
    let (conn, id) = (conv.info.id, message.id);
    // Read and edited as its side speaks: in that way's encoding, with that way's checksum.
    let encoding = conv.encodings.of(message.way.flow());
    let checksum = conv.info.settings_of(Some(message.way)).checksum;
    let shown = &message.data[..message.data.len().min(SHOWN)];
    let bytes = if conv.view.is_hex() {
        hex_line(shown)
    } else {
        encoding.decode_lossy(shown).into_owned()
    };
    let more = (shown.len() < message.data.len()).then_some(" …");
    let body = match edit {
        Some(edit) => html! {
            <HeldEditor conv_id={conn} {id} data={message.data.clone()} {edit}
                        encoding={encoding.label()} {checksum}
                        editing={editing.clone()} {online} />
        },
        None => {
            let start = {
                let editing = editing.clone();
                let edit = HeldEdit::start(&message.data, encoding, checksum);
                Callback::from(move |_: MouseEvent| editing.set(Some((id, edit.clone()))))
            };
            html! {
                <HeldActions {conn} {id} {online} on_edit={start} />
            }
        }
    };
    html! {
        <li class="held-message" key={id}>
            <span class={classes!("mark", way_class(message.way))}>{ message.way.label() }</span>
            { " " }
            <span class="held-size">{ byte_count(message.data.len() as u64) }</span>
            if message.partial {
                { " " }<span class="mark cut" title="Not a whole message: a part of one longer than the framing allows, or what had come when its side closed">{ "partial" }</span>
            }
            <code class="held-bytes">{ bytes }{ for more }</code>
            { body }
        </li>
    }
}

#[derive(Properties, PartialEq)]
struct ActionsProps {
    conn: u64,
    id: HeldId,
    online: bool,
    on_edit: Callback<MouseEvent>,
}

#[component]
fn HeldActions(props: &ActionsProps) -> Html {
    let commands = use_commands();
    let (conn, id) = (props.conn, props.id);
    let forward = commands
        .order
        .reform(move |_: MouseEvent| Command::Forward {
            conn,
            id,
            edit: None,
        });
    let drop = commands
        .order
        .reform(move |_: MouseEvent| Command::DropHeld { conn, id });
    html! {
        <span class="held-actions">
            <button type="button" class="primary" onclick={forward} disabled={!props.online}>{ "Forward" }</button>
            <button type="button" onclick={props.on_edit.clone()} disabled={!props.online}>{ "Edit" }</button>
            <button type="button" class="danger" onclick={drop} disabled={!props.online}>{ "Drop" }</button>
        </span>
    }
}

#[derive(Properties, PartialEq)]
struct EditorProps {
    conv_id: u64,
    id: HeldId,
    data: Vec<u8>,
    edit: HeldEdit,
    encoding: &'static str,
    checksum: Option<protocol::checksum::Checksum>,
    editing: UseStateHandle<Option<(HeldId, HeldEdit)>>,
    online: bool,
}

#[component]
fn HeldEditor(props: &EditorProps) -> Html {
    let commands = use_commands();
    let problem = use_state(|| None::<String>);
    let encoding = crate::encoding::Encoding::from_label(props.encoding).unwrap_or_default();
    let (conn, id, checksum) = (props.conv_id, props.id, props.checksum);
    let bytes = props.edit.bytes(encoding, checksum);
    let set = {
        let editing = props.editing.clone();
        move |edit: HeldEdit| editing.set(Some((id, edit)))
    };
    let oninput = {
        let (set, mode) = (set.clone(), props.edit.mode);
        Callback::from(move |e: InputEvent| {
            let text = e.target_unchecked_into::<HtmlTextAreaElement>().value();
            set(HeldEdit { mode, text });
        })
    };
    let mode_button = |mode: InputMode, label: String| {
        let (edit, set, problem) = (props.edit.clone(), set.clone(), problem.clone());
        let onclick = Callback::from(move |_: MouseEvent| match edit.switch(mode, encoding) {
            Ok(switched) => {
                problem.set(None);
                set(switched);
            }
            Err(why) => problem.set(Some(why)),
        });
        let pressed = props.edit.mode == mode;
        html! {
            <button type="button" aria-pressed={pressed.to_string()} {onclick}>{ label }</button>
        }
    };
    let forward = {
        let (bytes, editing, order) =
            (bytes.clone(), props.editing.clone(), commands.order.clone());
        Callback::from(move |_: MouseEvent| {
            if let Ok(bytes) = &bytes {
                order.emit(Command::Forward {
                    conn,
                    id,
                    edit: Some(protocol::hex::encode(bytes)),
                });
                editing.set(None);
            }
        })
    };
    let cancel = {
        let editing = props.editing.clone();
        Callback::from(move |_: MouseEvent| editing.set(None))
    };
    let shown = match &bytes {
        Ok(b) => {
            let check = checksum.filter(|_| !b.is_empty()).map(|c| {
                let end = &b[b.len() - c.size()..];
                html! {
                    <span class="check" title="Computed again over the edit">
                        { format!("{} {}", c.label(), protocol::hex::encode_with(end, " ")) }
                    </span>
                }
            });
            let same = (*b == props.data).then_some(" (as it came)");
            html! {
                <>
                    <span class="bytes">{ format!("Forwards {}", preview(b)) }{ for same }</span>
                    { for check }
                </>
            }
        }
        Err(why) => {
            html! { <span class="bytes not-yet">{ format!("Cannot forward this: {why}") }</span> }
        }
    };
    let label = match checksum {
        Some(c) => format!("Edit held message (the {} is computed again)", c.label()),
        None => "Edit held message".to_owned(),
    };
    html! {
        <div class="held-edit">
            <div class="held-edit-mode" role="group" aria-label="Edit as">
                { mode_button(InputMode::Text, format!("Text ({})", props.encoding)) }
                { mode_button(InputMode::Hex, "Hex".to_owned()) }
            </div>
            <textarea aria-label={label} rows="2" spellcheck="false" value={props.edit.text.clone()} {oninput} />
            if let Some(why) = &*problem {
                <p class="held-edit-problem" role="alert">{ why }</p>
            }
            <p class="composer-preview held-preview">{ shown }</p>
            <div class="held-edit-actions">
                <button type="button" class="primary" onclick={forward}
                        disabled={!props.online || bytes.is_err()}>{ "Forward edited" }</button>
                <button type="button" onclick={cancel}>{ "Cancel" }</button>
            </div>
        </div>
    }
}
