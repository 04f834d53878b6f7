//! The composer: type a message, see the bytes it makes, send it to one peer or to all.
//!
//! Enter sends, Shift+Enter starts a new line, Up and Down walk the messages sent before (see
//! [`history`]). How text becomes bytes is the selected conversation's own choice, kept in the
//! state; the options, repeat-send, saved messages and file sending are components of their
//! own. A file dropped on the composer is sent as a file.

mod broadcast;
mod file_send;
mod history;
mod options;
mod repeat;
mod saved;

use protocol::{ConnId, ConnState, Target};
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use self::broadcast::broadcast;
use self::file_send::{file_send, first_file, use_file_sender, FileTarget};
use self::history::use_send_history;
use self::options::{ChecksumChoice, OptionsBar};
use self::repeat::RepeatControl;
use self::saved::SavedMessages;
use crate::bytes_view::compose::{ComposeOptions, InputMode};
use crate::bytes_view::hex::preview;
use crate::bytes_view::size::plural;
use crate::components::conversation::Side;
use crate::components::device::DeviceCtx;
use crate::components::live::use_live;
use crate::encoding::Encoding;

/// The key that brings the focus to the composer from anywhere but a text field.
pub const FOCUS_KEY: &str = "/";

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
    pub on_send: Callback<(Target, Vec<u8>), Result<(), String>>,
    /// The user chose how text becomes bytes, for a conversation or for none.
    pub on_compose: Callback<(Option<ConnId>, ComposeOptions)>,
    pub on_to_all: Callback<bool>,
    /// Send as the other side: select that connection.
    pub on_side: Callback<ConnId>,
    /// Whether sends carry UDP's broadcast flag, when that is a choice here (a UDP
    /// conversation, or sending to all); `None` hides it.
    #[prop_or_default]
    pub broadcast: Option<bool>,
    #[prop_or_default]
    pub on_broadcast: Callback<bool>,
}

/// Why the composer cannot send now, if it cannot.
fn blocked(props: &ComposerProps) -> Option<String> {
    if !props.online {
        return Some("Not connected to the bridge.".into());
    }
    if props.to_all {
        return (props.open_count == 0).then(|| "No connection is open.".into());
    }
    match &props.target {
        None => Some("Select an open connection, or tick “Send to all”.".into()),
        Some(t) => match t.state {
            ConnState::Open => None,
            ConnState::Connecting => Some(format!(
                "Still connecting to {}: Enter sends once it is open.",
                t.peer
            )),
            ConnState::Closed => Some(format!("{} is not open.", t.peer)),
        },
    }
}

/// Whether the box takes typing: while the conversation is still connecting a quick user may
/// type ahead, though Enter waits for it to open.
fn typing_allowed(props: &ComposerProps, blocked: bool) -> bool {
    !blocked
        || (props.online
            && !props.to_all
            && props
                .target
                .as_ref()
                .is_some_and(|t| t.state == ConnState::Connecting))
}

/// What the empty composer says it is for.
fn placeholder(options: ComposeOptions, to_all: bool, target: Option<&SendTarget>) -> String {
    match (options.mode, to_all, target) {
        (InputMode::Hex, _, _) => {
            "Bytes in hex, e.g. 48 65 6c 6c 6f 0d 0a — sent exactly as typed".into()
        }
        (InputMode::Text, true, _) => {
            "Message to every open connection — Enter sends, Shift+Enter for a new line".into()
        }
        (InputMode::Text, false, Some(t)) => format!(
            "Message to {} — Enter sends, Shift+Enter for a new line",
            t.peer
        ),
        (InputMode::Text, false, None) => String::new(),
    }
}

/// What sending to all says: where the next Enter goes, and where the last one went.
fn to_all_note(open: usize, sent: Option<(u64, u64)>) -> String {
    let next = format!(
        "Enter sends to all {} — untick “Send to all” to send to one.",
        plural(open as u64, "open connection")
    );
    match sent {
        None => next,
        Some((queued, 0)) => format!("Sent to {}. {next}", plural(queued, "connection")),
        Some((queued, refused)) => format!(
            "Sent to {}; {} refused it (see the notices). {next}",
            plural(queued, "connection"),
            plural(refused, "connection")
        ),
    }
}

#[component]
pub fn Composer(props: &ComposerProps) -> Html {
    let text = use_live(String::new);
    let error = use_state(|| None::<String>);
    let history = use_send_history();
    let area = use_node_ref();
    let files = use_file_sender();
    let file_input = use_node_ref();
    let dropping = use_state(|| false);
    let device = use_context::<DeviceCtx>();
    {
        let area = area.clone();
        use_effect_with(props.focus, move |focus| {
            if *focus > 0 {
                if let Some(area) = area.cast::<HtmlTextAreaElement>() {
                    let _ = area.focus();
                }
            }
        });
    }

    let options = props.target.as_ref().map_or(props.idle, |t| t.compose);
    let encoding = props
        .target
        .as_ref()
        .map_or(props.default_encoding, |t| t.encoding);
    let blocked = blocked(props);
    let disabled = blocked.is_some();
    let can_type = typing_allowed(props, disabled);
    {
        // A refusal for a reason that has passed (the conversation opened) would mislead.
        let error = error.clone();
        use_effect_with(blocked.clone(), move |_| error.set(None));
    }
    let reachable = props.online
        && if props.to_all {
            props.open_count > 0
        } else {
            props
                .target
                .as_ref()
                .is_some_and(|t| t.state == ConnState::Open)
        };
    let to = match (props.to_all, props.target.as_ref()) {
        (true, _) => Some(Target::All),
        (false, Some(t)) => Some(Target::Conn(t.id)),
        (false, None) => None,
    };
    let file_target = to.filter(|_| !disabled).map(|to| FileTarget {
        to,
        label: match (to, props.target.as_ref()) {
            (Target::Conn(_), Some(t)) => t.peer.clone(),
            _ => format!("all {}", plural(props.open_count as u64, "open connection")),
        },
    });
    // A file dropped on the composer is sent as one.
    let ondragover = {
        let (dropping, can) = (dropping.clone(), file_target.is_some());
        Callback::from(move |e: DragEvent| {
            if can {
                e.prevent_default();
                dropping.set(true);
            }
        })
    };
    let ondragleave = {
        let dropping = dropping.clone();
        Callback::from(move |_: DragEvent| dropping.set(false))
    };
    // A file picked or dropped: sent, if there is where to.
    let start_file = {
        let (files, target) = (files.clone(), file_target.clone());
        Callback::from(move |file: Option<web_sys::File>| {
            if let (Some(file), Some(target), Some(device)) = (file, target.clone(), device.clone())
            {
                files.start(file, target, device);
            }
        })
    };
    let ondrop = {
        let (dropping, start_file) = (dropping.clone(), start_file.clone());
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dropping.set(false);
            start_file.emit(first_file(e.data_transfer().and_then(|d| d.files())));
        })
    };
    let on_file = Callback::from(move |e: Event| {
        let input = e.target_unchecked_into::<web_sys::HtmlInputElement>();
        start_file.emit(first_file(input.files()));
        // The same file may be picked again.
        input.set_value("");
    });
    // The exact bytes Enter would send now, or why there are none.
    let bytes = {
        let text = text.get();
        use_memo((text, options, encoding), |(text, options, encoding)| {
            options.compose(text, *encoding)
        })
    };

    // What `typed` would send, and where; or nothing, with the reason shown. A send that cannot
    // go now (the conversation is still connecting, say) is refused in words and its text kept:
    // never dropped without a word.
    let prepare_text = {
        let (error, blocked) = (error.clone(), blocked.clone());
        Callback::from(move |typed: String| -> Option<(Target, Vec<u8>)> {
            if let Some(why) = &blocked {
                error.set(Some(why.clone()));
                return None;
            }
            let bytes = options
                .compose(&typed, encoding)
                .map_err(|msg| error.set(Some(msg)))
                .ok()?;
            Some((to?, bytes)).filter(|(_, b)| !b.is_empty())
        })
    };
    let prepare = {
        let (prepare_text, text) = (prepare_text.clone(), text.clone());
        Callback::from(move |()| prepare_text.emit(text.get()))
    };
    // Sends `typed`; whether it went.
    let send_text = {
        let (error, history) = (error.clone(), history.clone());
        let on_send = props.on_send.clone();
        Callback::from(move |typed: String| -> bool {
            let Some(message) = prepare_text.emit(typed.clone()) else {
                return false;
            };
            match on_send.emit(message) {
                Ok(()) => {
                    history.borrow_mut().push(&typed);
                    error.set(None);
                    true
                }
                Err(msg) => {
                    error.set(Some(msg));
                    false
                }
            }
        })
    };
    let send = {
        let (send_text, text) = (send_text.clone(), text.clone());
        move || {
            if send_text.emit(text.get()) {
                text.set(String::new());
            }
        }
    };
    let onsubmit = {
        let send = send.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            send();
        })
    };
    let onkeydown = {
        let (text, history) = (text.clone(), history.clone());
        Callback::from(move |e: KeyboardEvent| {
            // While an input method is composing (Chinese, Japanese, ...), Enter and the arrows
            // belong to it.
            if e.is_composing() || e.key_code() == 229 {
                return;
            }
            if e.key() == "Enter" && !e.shift_key() {
                e.prevent_default();
                return send();
            }
            let area = e.target_unchecked_into::<HtmlTextAreaElement>();
            if let Some(shown) = history.borrow_mut().walk(&e, &area) {
                text.set(shown);
            }
        })
    };
    let oninput = {
        let (text, history, error) = (text.clone(), history.clone(), error.clone());
        Callback::from(move |e: InputEvent| {
            history.borrow_mut().edited();
            error.set(None);
            text.set(e.target_unchecked_into::<HtmlTextAreaElement>().value());
        })
    };
    let on_options = {
        let error = error.clone();
        let id = props.target.as_ref().map(|t| t.id);
        let on_compose = props.on_compose.clone();
        Callback::from(move |next: ComposeOptions| {
            if next.mode != options.mode || next.escapes != options.escapes {
                error.set(None);
            }
            on_compose.emit((id, next));
        })
    };
    let on_error = {
        let error = error.clone();
        Callback::from(move |msg| error.set(Some(msg)))
    };
    let on_fill_saved = {
        let (text, area) = (text.clone(), area.clone());
        Callback::from(move |saved| {
            text.set(saved);
            if let Some(area) = area.cast::<HtmlTextAreaElement>() {
                let _ = area.focus();
            }
        })
    };
    let on_send_saved = send_text.reform(|saved: String| saved);

    let placeholder = if disabled {
        match props.target.as_ref().filter(|_| can_type) {
            Some(t) => format!("Connecting to {}…", t.peer),
            None => String::new(),
        }
    } else {
        placeholder(options, props.to_all, props.target.as_ref())
    };
    let hint = match (&*error, &blocked) {
        (Some(msg), _) => {
            html! { <p class="composer-hint error" id="composer-hint" role="alert">{ msg }</p> }
        }
        (None, Some(why)) => html! { <p class="composer-hint" id="composer-hint">{ why }</p> },
        (None, None) => html! {},
    };
    let described = (error.is_some() || blocked.is_some()).then_some("composer-hint");
    // The bytes, once there is something to send; a hex digit short is not an error yet.
    let shown_bytes = match (&*bytes, &*error, disabled) {
        (_, Some(_), _) | (_, _, true) => None,
        (Ok(b), _, _) => {
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
        (Err(why), _, _) if !text.get().trim().is_empty() => Some(
            html! { <span class="bytes not-yet">{ format!("Not sendable yet: {why}") }</span> },
        ),
        (Err(_), _, _) => None,
    };
    let to_all_note = props
        .to_all
        .then(|| to_all_note(props.open_count, props.sent_to_all));
    let sending_as = props.sides.map(|sides| {
        let current = props.target.as_ref().map(|t| t.id);
        let radios = sides.iter().map(|&(id, side)| {
            let onchange = props.on_side.reform(move |_: Event| id);
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
    });
    let send_label = if props.to_all {
        format!("Send to all {}", props.open_count)
    } else {
        "Send".to_string()
    };

    html! {
        <form class={classes!("composer", props.to_all.then_some("to-all"), dropping.then_some("dropping"))}
              aria-label="Send" {onsubmit} {ondragover} {ondragleave} {ondrop}>
            { for sending_as }
            if let Some(note) = to_all_note {
                <p class="to-all-note" role="status">{ note }</p>
            }
            <textarea ref={area} id="composer-text" aria-label="Message" rows="2" value={text.get()}
                      {oninput} {onkeydown} {placeholder} disabled={!can_type} spellcheck="false"
                      aria-describedby={described} aria-keyshortcuts={FOCUS_KEY}
                      aria-invalid={error.is_some().then_some("true")} />
            <p class="composer-preview">
                { for shown_bytes }
                <span class="shortcut"><kbd>{ FOCUS_KEY }</kbd>{ " anywhere types here" }</span>
            </p>
            <div class="composer-controls">
                <OptionsBar {options} on_change={on_options.clone()} to_all={props.to_all}
                            on_to_all={props.on_to_all.clone()} />
                if let Some(on) = props.broadcast {
                    { broadcast(on, &props.on_broadcast) }
                }
                <RepeatControl {prepare} on_send={props.on_send.clone()} {on_error} {reachable} {disabled} />
                <button type="submit" class="primary" {disabled}>{ send_label }</button>
            </div>
            <div class="composer-extras">
                <ChecksumChoice {options} on_change={on_options.clone()} />
                <SavedMessages text={text.get()} on_send={on_send_saved} on_fill={on_fill_saved} {disabled} />
                { file_send(&files, file_target.as_ref(), file_input, on_file) }
            </div>
            { hint }
        </form>
    }
}

/// Whether a click asked for the other thing than a plain click does (Shift, Alt, Ctrl or ⌘).
pub fn modified(e: &MouseEvent) -> bool {
    e.shift_key() || e.alt_key() || e.ctrl_key() || e.meta_key()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sending_to_all_says_where_the_next_and_the_last_went() {
        assert_eq!(
            to_all_note(3, None),
            "Enter sends to all 3 open connections — untick “Send to all” to send to one."
        );
        assert!(to_all_note(50, Some((50, 0))).starts_with("Sent to 50 connections. Enter"));
        assert!(to_all_note(2, Some((1, 1)))
            .starts_with("Sent to 1 connection; 1 connection refused it"));
    }
}
