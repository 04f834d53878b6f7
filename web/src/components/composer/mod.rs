//! The composer: type a message, choose how it becomes bytes, send it to one peer or to all.
//!
//! Enter sends, Shift+Enter starts a new line, Up and Down walk the messages sent before (see
//! [`history`]). The options, repeat-send and saved messages are components of their own.

mod history;
mod options;
mod repeat;
mod saved;

use protocol::{ConnId, Target};
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use self::history::use_send_history;
use self::options::{InputMode, Options, OptionsBar};
use self::repeat::RepeatControl;
use self::saved::SavedMessages;
use crate::encoding::Encoding;

/// Where the composer sends, as far as the composer needs to know.
#[derive(Clone, Debug, PartialEq)]
pub struct SendTarget {
    pub id: ConnId,
    pub peer: String,
    pub open: bool,
    /// How the conversation's text is written.
    pub encoding: Encoding,
}

#[derive(Properties, PartialEq)]
pub struct ComposerProps {
    /// The selected connection, if any.
    pub target: Option<SendTarget>,
    /// How many connections are open (for "Send to all").
    pub open_count: usize,
    /// Whether the page's socket to the bridge is open.
    pub online: bool,
    pub on_send: Callback<(Target, Vec<u8>), Result<(), String>>,
}

/// Why the composer cannot send now, if it cannot.
fn blocked(props: &ComposerProps, to_all: bool) -> Option<String> {
    if !props.online {
        return Some("Not connected to the bridge.".into());
    }
    if to_all {
        return (props.open_count == 0).then(|| "No connection is open.".into());
    }
    match &props.target {
        None => Some("Select an open connection, or tick “Send to all”.".into()),
        Some(t) if !t.open => Some(format!("{} is not open.", t.peer)),
        Some(_) => None,
    }
}

/// What the empty composer says it is for.
fn placeholder(options: Options, target: Option<&SendTarget>) -> String {
    match (options.mode, options.to_all, target) {
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

#[component]
pub fn Composer(props: &ComposerProps) -> Html {
    let text = use_state(String::new);
    let options = use_state(Options::default);
    let error = use_state(|| None::<String>);
    let history = use_send_history();

    let blocked = blocked(props, options.to_all);
    let disabled = blocked.is_some();
    let reachable = props.online
        && if options.to_all {
            props.open_count > 0
        } else {
            props.target.as_ref().is_some_and(|t| t.open)
        };

    // What the composer holds, as bytes and where they go; or nothing, with the reason shown.
    let prepare = {
        let (text, options, error) = (text.clone(), options.clone(), error.clone());
        let target = props.target.as_ref().map(|t| t.id);
        let encoding = props
            .target
            .as_ref()
            .map(|t| t.encoding)
            .unwrap_or_default();
        Callback::from(move |()| -> Option<(Target, Vec<u8>)> {
            if disabled {
                return None;
            }
            let bytes = options
                .compose(&text, encoding)
                .map_err(|msg| error.set(Some(msg)))
                .ok()?;
            let to = match (options.to_all, target) {
                (true, _) => Target::All,
                (false, Some(id)) => Target::Conn(id),
                (false, None) => return None,
            };
            (!bytes.is_empty()).then_some((to, bytes))
        })
    };
    let send = {
        let (prepare, text, error, history) = (
            prepare.clone(),
            text.clone(),
            error.clone(),
            history.clone(),
        );
        let on_send = props.on_send.clone();
        move || {
            let Some(message) = prepare.emit(()) else {
                return;
            };
            match on_send.emit(message) {
                Ok(()) => {
                    history.borrow_mut().push(&text);
                    text.set(String::new());
                    error.set(None);
                }
                Err(msg) => error.set(Some(msg)),
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
        let (options, error) = (options.clone(), error.clone());
        Callback::from(move |next: Options| {
            if next.mode != options.mode || next.escapes != options.escapes {
                error.set(None);
            }
            options.set(next);
        })
    };
    let on_error = {
        let error = error.clone();
        Callback::from(move |msg| error.set(Some(msg)))
    };
    let on_use_saved = {
        let text = text.clone();
        Callback::from(move |saved| text.set(saved))
    };

    let placeholder = if disabled {
        String::new()
    } else {
        placeholder(*options, props.target.as_ref())
    };
    let hint = match (&*error, &blocked) {
        (Some(msg), _) => {
            html! { <p class="composer-hint error" id="composer-hint" role="alert">{ msg }</p> }
        }
        (None, Some(why)) => html! { <p class="composer-hint" id="composer-hint">{ why }</p> },
        (None, None) => html! {},
    };
    let described = (error.is_some() || blocked.is_some()).then_some("composer-hint");

    html! {
        <form class="composer" aria-label="Send" {onsubmit}>
            <textarea aria-label="Message" rows="2" value={(*text).clone()} {oninput} {onkeydown}
                      {placeholder} {disabled} spellcheck="false" aria-describedby={described}
                      aria-invalid={error.is_some().then_some("true")} />
            <div class="composer-controls">
                <OptionsBar options={*options} on_change={on_options} />
                <RepeatControl {prepare} on_send={props.on_send.clone()} {on_error} {reachable} {disabled} />
                <button type="submit" class="primary" {disabled}>{ "Send" }</button>
            </div>
            <SavedMessages text={(*text).clone()} on_use={on_use_saved} />
            { hint }
        </form>
    }
}
