//! Saved quick messages, kept in this browser (local storage), each with how it is sent (see
//! [`crate::state::saved_message`]), which its chip shows. A click sends one as it was saved; a
//! click with Shift (or Alt, Ctrl, ⌘) puts it in the composer to edit, with its options.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::modified;
use crate::bytes_view::hex::preview;
use crate::state::saved_message::{add_saved, from_json, to_json, How, SavedMessage};

/// Where the browser keeps the saved messages.
const QUICK_KEY: &str = "tcp-bridge.quick-messages";

#[derive(Properties, PartialEq)]
pub struct SavedProps {
    /// What the composer holds: what "Save message" saves.
    pub text: String,
    /// How the composer makes it bytes now: saved with it.
    pub how: How,
    /// Whether what the composer holds makes bytes (else there is nothing to save).
    pub sendable: bool,
    /// Sends a saved message as it was saved.
    pub on_send: Callback<SavedMessage, bool>,
    /// Puts a saved message in the composer.
    pub on_fill: Callback<SavedMessage>,
    /// Whether the composer cannot send now.
    pub disabled: bool,
}

/// What a chip's title says: the bytes a click sends, and what a modified click does.
fn chip_title(message: &SavedMessage, now: How) -> String {
    let sends = match message.compose(now) {
        Ok(bytes) => format!("Sends {}", preview(&bytes)),
        Err(why) => why,
    };
    let text = match &message.name {
        Some(_) => format!("{}\n", message.text),
        None => String::new(),
    };
    format!("{text}{sends}\nClick: send it. Shift+click: put it in the composer to edit.")
}

#[component]
pub fn SavedMessages(props: &SavedProps) -> Html {
    let saved = use_saved_messages();
    let name = use_state(String::new);
    let on_name = {
        let name = name.clone();
        Callback::from(move |e: InputEvent| {
            name.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let nothing = props.text.trim().is_empty() || !props.sendable;
    let save = {
        let (saved, name) = (saved.clone(), name.clone());
        let message = SavedMessage::new(&props.text, &name, props.how);
        Callback::from(move |()| {
            if !nothing {
                saved.set(add_saved(&saved, message.clone()));
                name.set(String::new());
            }
        })
    };
    // Enter in the name saves, rather than sending the composer's message.
    let on_name_key = {
        let save = save.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" {
                e.prevent_default();
                save.emit(());
            }
        })
    };
    let items = saved.iter().enumerate().map(|(i, message)| {
        let use_it = {
            let message = message.clone();
            let (on_send, on_fill) = (props.on_send.clone(), props.on_fill.clone());
            let disabled = props.disabled;
            Callback::from(move |e: MouseEvent| {
                if modified(&e) || disabled {
                    on_fill.emit(message.clone());
                } else {
                    on_send.emit(message.clone());
                }
            })
        };
        let remove = {
            let saved = saved.clone();
            Callback::from(move |_: MouseEvent| {
                let mut list = saved.list();
                list.remove(i);
                saved.set(list);
            })
        };
        let how = message.how_label().map(|how| {
            html! { <>{ " " }<span class="quick-how">{ how }</span></> }
        });
        html! {
            <li class="quick-item">
                <button type="button" class="quick-use" onclick={use_it}
                        title={chip_title(message, props.how)}>
                    <span class="quick-text">{ message.label() }</span>{ for how }
                </button>
                <button type="button" class="quick-remove" onclick={remove}
                        aria-label={format!("Remove the saved message {}", message.label())}>{ "×" }</button>
            </li>
        }
    });
    html! {
        <div class="quick">
            <button type="button" onclick={save.reform(|_: MouseEvent| ())} disabled={nothing}
                    title="Keep this message in this browser, with how it is sent now: a click sends it so">{ "Save message" }</button>
            <input type="text" class="quick-name" size="10" aria-label="Name to save it under"
                   placeholder="name (optional)" value={(*name).clone()} oninput={on_name} onkeydown={on_name_key} />
            <ul class="quick-list" aria-label="Saved messages">{ for items }</ul>
        </div>
    }
}

/// The saved messages, newest first, as the browser keeps them.
#[derive(Clone)]
pub struct Saved(UseStateHandle<Vec<SavedMessage>>);

impl std::ops::Deref for Saved {
    type Target = [SavedMessage];

    fn deref(&self) -> &[SavedMessage] {
        &self.0
    }
}

impl Saved {
    pub fn list(&self) -> Vec<SavedMessage> {
        self.0.to_vec()
    }

    /// Keeps `list` in the browser, and shows it.
    pub fn set(&self, list: Vec<SavedMessage>) {
        if let Some(storage) = storage() {
            let _ = storage.set_item(QUICK_KEY, &to_json(&list));
        }
        self.0.set(list);
    }
}

#[hook]
pub fn use_saved_messages() -> Saved {
    Saved(use_state(|| {
        storage()
            .and_then(|s| s.get_item(QUICK_KEY).ok()?)
            .map(|json| from_json(&json))
            .unwrap_or_default()
    }))
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}
