//! The composer's sending: what is typed, as it is now (see [`super::latest`]) and kept per
//! conversation ([`super::draft`]), made into bytes the conversation's way and sent where the
//! composer sends; Enter sends (nothing, when nothing is typed), Shift+Enter starts a new line,
//! Up and Down walk the messages sent before; a saved message is sent as it was saved; and why
//! nothing went, when nothing did.

use std::rc::Rc;

use protocol::{ConnId, Target};
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use super::commands::use_commands;
use super::draft::use_draft;
use super::latest::Live;
use crate::bytes_view::compose::ComposeOptions;
use crate::components::composer::history::use_send_history;
use crate::encoding::Encoding;
use crate::state::saved_message::{How, SavedMessage};

/// Where and how the composer sends now.
pub struct SendSetup {
    /// Where: one connection, or all; `None` with none selected.
    pub to: Option<Target>,
    pub options: ComposeOptions,
    pub encoding: Encoding,
    /// Why the composer cannot send now, if it cannot.
    pub blocked: Option<String>,
    /// The conversation whose draft the composer shows (its id and peer, as ids are reused by
    /// another run of the bridge); `None` with none selected.
    pub conversation: Option<(ConnId, String)>,
}

pub struct Sending {
    /// What is typed.
    pub text: Live<String>,
    /// The exact bytes Enter would send now, or why there are none.
    pub bytes: Rc<Result<Vec<u8>, String>>,
    /// Why what is typed could not be made into bytes, or sent.
    pub error: UseStateHandle<Option<String>>,
    /// What Enter would send now, and where; or nothing, with the reason shown.
    pub prepare: Callback<(), Option<(Target, Vec<u8>)>>,
    /// Sends a saved message as it was saved; whether it went.
    pub send_saved: Callback<SavedMessage, bool>,
    pub onsubmit: Callback<SubmitEvent>,
    pub onkeydown: Callback<KeyboardEvent>,
    pub oninput: Callback<InputEvent>,
}

#[hook]
pub fn use_sending(setup: SendSetup) -> Sending {
    let SendSetup {
        to,
        options,
        encoding,
        blocked,
        conversation,
    } = setup;
    let text = use_draft(conversation);
    let error = use_state(|| None::<String>);
    let history = use_send_history();
    let transmit = use_commands().transmit;
    {
        // A refusal for a reason that has passed (the conversation opened) would mislead.
        let error = error.clone();
        use_effect_with(blocked.clone(), move |_| error.set(None));
    }
    let bytes = use_memo(
        (text.get(), options, encoding),
        |(text, options, encoding)| options.compose(text, *encoding),
    );

    let now = How { options, encoding };
    // What `typed` would send made `how`, and where; or nothing, with the reason shown. Nothing
    // typed sends nothing (not a bare line ending). A send that cannot go now (the conversation
    // is still connecting, say) is refused in words and its text kept: never dropped without a
    // word.
    let prepare_text = {
        let error = error.clone();
        Callback::from(
            move |(typed, how): (String, How)| -> Option<(Target, Vec<u8>)> {
                if typed.is_empty() {
                    return None;
                }
                if let Some(why) = &blocked {
                    error.set(Some(why.clone()));
                    return None;
                }
                let bytes = how
                    .options
                    .compose(&typed, how.encoding)
                    .map_err(|msg| error.set(Some(msg)))
                    .ok()?;
                Some((to?, bytes)).filter(|(_, b)| !b.is_empty())
            },
        )
    };
    let prepare = {
        let (prepare_text, text) = (prepare_text.clone(), text.clone());
        Callback::from(move |()| prepare_text.emit((text.get(), now)))
    };
    // Sends `typed` made `how`; whether it went.
    let send_text = {
        let (error, history) = (error.clone(), history.clone());
        Callback::from(move |(typed, how): (String, How)| -> bool {
            let Some(message) = prepare_text.emit((typed.clone(), how)) else {
                return false;
            };
            match transmit.emit(message) {
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
            if send_text.emit((text.get(), now)) {
                text.set(String::new());
            }
        }
    };
    // A message saved without its options is sent as the composer's would be.
    let send_saved = send_text.reform(move |saved: SavedMessage| {
        let how = saved.how.unwrap_or(now);
        (saved.text, how)
    });
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
        let (text, error) = (text.clone(), error.clone());
        Callback::from(move |e: InputEvent| {
            history.borrow_mut().edited();
            error.set(None);
            text.set(e.target_unchecked_into::<HtmlTextAreaElement>().value());
        })
    };
    Sending {
        text,
        bytes,
        error,
        prepare,
        send_saved,
        onsubmit,
        onkeydown,
        oninput,
    }
}
