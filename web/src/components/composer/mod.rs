//! The composer: type a message, see the bytes it makes, send it to one peer or to all.
//!
//! Enter sends, Shift+Enter starts a new line, Up and Down walk the messages sent before (see
//! [`history`]). How text becomes bytes is the selected conversation's own choice, kept in the
//! state, and so is what is typed for it ([`crate::hooks::draft`]); the options, repeat-send,
//! saved messages and file sending are components of their own. A file dropped on the composer
//! is sent as a file.

mod broadcast;
mod can_send;
pub mod file_send;
pub mod history;
mod options;
mod repeat;
mod saved;

use protocol::{ConnId, ConnState};
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use self::broadcast::broadcast;
use self::can_send::{
    blocked, file_target, hint, placeholder, reachable, to_all_note, to_of, typing_allowed,
};
use self::file_send::file_send;
use self::options::{ChecksumChoice, OptionsBar};
use self::repeat::RepeatControl;
use self::saved::SavedMessages;
use crate::bytes_view::compose::ComposeOptions;
use crate::bytes_view::hex::preview;
use crate::components::conversation::Side;
use crate::encoding::Encoding;
use crate::hooks::commands::use_commands;
use crate::hooks::file_drop::{use_file_drop, FileDrop};
use crate::hooks::focus_key::{use_focus_on, FOCUS_KEY};
use crate::hooks::sending::{use_sending, SendSetup};
use crate::state::saved_message::{How, SavedMessage};
use crate::state::Action;

/// Where the composer sends, as far as the composer needs to know.
#[derive(Clone, Debug, PartialEq)]
pub struct SendTarget {
    pub id: ConnId,
    pub peer: String,
    pub state: ConnState,
    /// How the conversation's text is written.
    pub encoding: Encoding,
    /// How what is typed for it becomes bytes.
    pub compose: ComposeOptions,
}

#[derive(Properties, PartialEq)]
pub struct ComposerProps {
    /// The selected connection, if any.
    pub target: Option<SendTarget>,
    /// How text becomes bytes when no connection is selected (sending to all).
    pub idle: ComposeOptions,
    /// The encoding of new connections, for sending to all with none selected.
    pub default_encoding: Encoding,
    /// Whether Enter sends to every open connection.
    pub to_all: bool,
    /// What the last send to all reached: `(queued, refused)`.
    pub sent_to_all: Option<(u64, u64)>,
    /// Both ends of one connection, server side first, when the page shows both: the composer
    /// sends as the selected one, and switches.
    pub sides: Option<[(ConnId, Side); 2]>,
    /// How many connections are open (for "Send to all").
    pub open_count: usize,
    /// Whether the page's socket to the bridge is open.
    pub online: bool,
    /// Changes when the composer should take the focus (the user chose a conversation).
    pub focus: u32,
    /// Whether sends carry UDP's broadcast flag, when that is a choice here (a UDP
    /// conversation, or sending to all); `None` hides it.
    #[prop_or_default]
    pub broadcast: Option<bool>,
    /// Whether sends go to a proxied conversation's server rather than its client, when that
    /// is a choice here; `None` hides it.
    #[prop_or_default]
    pub to_server: Option<bool>,
}

/// The bytes Enter would send, once there is something to send (nothing typed sends nothing,
/// not a bare line ending); a hex digit short is not an error yet.
fn bytes_preview(
    bytes: &Result<Vec<u8>, String>,
    options: ComposeOptions,
    typed: &str,
) -> Option<Html> {
    if typed.is_empty() {
        return None;
    }
    match bytes {
        Ok(b) => {
            let check = options.checksum.filter(|_| !b.is_empty()).map(|c| {
                let end = &b[b.len() - c.size()..];
                html! {
                    <span class="check" title="Appended to what is sent">
                        { format!("{} {}", c.label(), protocol::hex::encode_with(end, " ")) }
                    </span>
                }
            });
            Some(html! {
                <>
                    <span class="bytes">{ format!("Sends {}", preview(b)) }</span>
                    { for check }
                </>
            })
        }
        Err(why) if !typed.trim().is_empty() => Some(
            html! { <span class="bytes not-yet">{ format!("Not sendable yet: {why}") }</span> },
        ),
        Err(_) => None,
    }
}

/// With both ends of one connection shown: which side the composer sends as, and the switch.
fn sending_as(
    sides: [(ConnId, Side); 2],
    current: Option<ConnId>,
    pick: &Callback<ConnId>,
) -> Html {
    let radios = sides.iter().map(|&(id, side)| {
        let onchange = pick.reform(move |_: Event| id);
        let field = format!("sending-as-{}", side.origin());
        html! {
            <span class="control">
                <input type="radio" name="sending-as" id={field.clone()} checked={current == Some(id)}
                       {onchange} />
                <label for={field}>{ side.name() }</label>
            </span>
        }
    });
    html! {
        <div class="sending-as" role="radiogroup" aria-label="Sending as">
            <span class="label" aria-hidden="true">{ "Sending as" }</span>
            { for radios }
        </div>
    }
}

#[component]
pub fn Composer(props: &ComposerProps) -> Html {
    let commands = use_commands();
    let area = use_node_ref();
    use_focus_on(&area, props.focus);
    let options = props.target.as_ref().map_or(props.idle, |t| t.compose);
    let encoding = props
        .target
        .as_ref()
        .map_or(props.default_encoding, |t| t.encoding);
    let blocked = blocked(props);
    let disabled = blocked.is_some();
    let can_type = typing_allowed(props);
    let reachable = reachable(props);
    let to = to_of(props);
    let file_target = to.filter(|_| !disabled).map(|to| file_target(props, to));
    let drop = use_file_drop(file_target.clone());
    let sending = use_sending(SendSetup {
        to,
        options,
        encoding,
        blocked: blocked.clone(),
        conversation: props.target.as_ref().map(|t| (t.id, t.peer.clone())),
    });
    let (text, error, bytes) = (sending.text.clone(), sending.error.clone(), &sending.bytes);
    let on_options = {
        let (error, dispatch) = (error.clone(), commands.dispatch.clone());
        let id = props.target.as_ref().map(|t| t.id);
        Callback::from(move |next: ComposeOptions| {
            if next.mode != options.mode || next.escapes != options.escapes {
                error.set(None);
            }
            dispatch.emit(Action::SetCompose(id, next));
        })
    };
    let on_error = {
        let error = error.clone();
        Callback::from(move |msg| error.set(Some(msg)))
    };
    // A saved message to edit: its text, and the options it was saved with.
    let on_fill_saved = {
        let (text, area, on_options) = (text.clone(), area.clone(), on_options.clone());
        Callback::from(move |saved: SavedMessage| {
            if let Some(how) = saved.how {
                on_options.emit(how.options);
            }
            text.set(saved.text);
            if let Some(area) = area.cast::<HtmlTextAreaElement>() {
                let _ = area.focus();
            }
        })
    };
    let placeholder = if disabled {
        match props.target.as_ref().filter(|_| can_type) {
            Some(t) => format!("Connecting to {}…", t.peer),
            None => String::new(),
        }
    } else {
        placeholder(options, props.to_all, props.target.as_ref())
    };
    let described = (error.is_some() || blocked.is_some()).then_some("composer-hint");
    let shown_bytes = (error.is_none() && !disabled)
        .then(|| bytes_preview(bytes, options, &text.get()))
        .flatten();
    let to_all_note = props
        .to_all
        .then(|| to_all_note(props.open_count, props.sent_to_all));
    let current = props.target.as_ref().map(|t| t.id);
    let send_label = if props.to_all {
        format!("Send to all {}", props.open_count)
    } else {
        "Send".to_string()
    };
    let FileDrop {
        files,
        file_input,
        dropping,
        ondragover,
        ondragleave,
        ondrop,
        on_file,
    } = drop;
    let dispatch = &commands.dispatch;

    html! {
        <form class={classes!("composer", props.to_all.then_some("to-all"), dropping.then_some("dropping"))}
              aria-label="Send" onsubmit={sending.onsubmit} {ondragover} {ondragleave} {ondrop}>
            { for props.sides.map(|sides| sending_as(sides, current, &commands.pick)) }
            if let Some(note) = to_all_note {
                <p class="to-all-note" role="status">{ note }</p>
            }
            <textarea ref={area} id="composer-text" aria-label="Message" rows="2" value={text.get()}
                      oninput={sending.oninput} onkeydown={sending.onkeydown} {placeholder} disabled={!can_type} spellcheck="false"
                      aria-describedby={described} aria-keyshortcuts={FOCUS_KEY}
                      aria-invalid={error.is_some().then_some("true")} />
            <p class="composer-preview">
                { for shown_bytes }
                <span class="shortcut"><kbd>{ FOCUS_KEY }</kbd>{ " anywhere types here" }</span>
            </p>
            <div class="composer-controls">
                <OptionsBar {options} on_change={on_options.clone()} to_all={props.to_all}
                            on_to_all={dispatch.reform(Action::SetToAll)} />
                if let Some(on) = props.broadcast {
                    { broadcast(on, &dispatch.reform(Action::SetBroadcast)) }
                }
                if let Some(on) = props.to_server {
                    { crate::components::send_to::send_to(on, &dispatch.reform(Action::SetToServer)) }
                }
                <RepeatControl prepare={sending.prepare} on_send={commands.transmit.clone()} {on_error} {reachable} {disabled} />
                <button type="submit" class="primary" {disabled}>{ send_label }</button>
            </div>
            <div class="composer-extras">
                <ChecksumChoice {options} on_change={on_options} />
                <SavedMessages text={text.get()} how={How { options, encoding }} sendable={bytes.is_ok()}
                               on_send={sending.send_saved} on_fill={on_fill_saved} {disabled} />
                { file_send(&files, file_target.as_ref(), file_input, on_file) }
            </div>
            { hint(error.as_deref(), blocked.as_deref()) }
        </form>
    }
}

/// Whether a click asked for the other thing than a plain click does (Shift, Alt, Ctrl or ⌘).
pub fn modified(e: &MouseEvent) -> bool {
    e.shift_key() || e.alt_key() || e.ctrl_key() || e.meta_key()
}
