//! Saved quick messages: kept in this browser (local storage). A click sends one, as the
//! composer would; a click with Shift (or Alt, Ctrl, ⌘) puts it in the composer to edit.

use yew::prelude::*;

use super::modified;

/// Saved messages kept, and where the browser keeps them.
const QUICK_MAX: usize = 12;
const QUICK_KEY: &str = "tcp-bridge.quick-messages";

#[derive(Properties, PartialEq)]
pub struct SavedProps {
    /// What the composer holds: what "Save message" saves.
    pub text: String,
    /// Sends a saved message as the composer would.
    pub on_send: Callback<String, bool>,
    /// Puts a saved message in the composer.
    pub on_fill: Callback<String>,
    /// Whether the composer cannot send now.
    pub disabled: bool,
}

#[component]
pub fn SavedMessages(props: &SavedProps) -> Html {
    let saved = use_saved_messages();
    let on_save = {
        let saved = saved.clone();
        let text = props.text.clone();
        Callback::from(move |_: MouseEvent| saved.set(add_quick(&saved, &text)))
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
        html! {
            <li class="quick-item">
                <button type="button" class="quick-use" onclick={use_it}
                        title="Send it (Shift+click: put it in the composer to edit)">{ message }</button>
                <button type="button" class="quick-remove" onclick={remove}
                        aria-label={format!("Remove the saved message {message}")}>{ "×" }</button>
            </li>
        }
    });
    html! {
        <div class="quick">
            <button type="button" onclick={on_save} disabled={props.text.trim().is_empty()}
                    title="Keep this message in this browser: a click sends it">{ "Save message" }</button>
            <ul class="quick-list" aria-label="Saved messages">{ for items }</ul>
        </div>
    }
}

/// The saved messages, newest first, as the browser keeps them.
#[derive(Clone)]
pub struct Saved(UseStateHandle<Vec<String>>);

impl std::ops::Deref for Saved {
    type Target = [String];

    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl Saved {
    pub fn list(&self) -> Vec<String> {
        self.0.to_vec()
    }

    /// Keeps `list` in the browser, and shows it.
    pub fn set(&self, list: Vec<String>) {
        store_quick(&list);
        self.0.set(list);
    }
}

#[hook]
pub fn use_saved_messages() -> Saved {
    Saved(use_state(load_quick))
}

/// `text` added to the saved messages, newest first, without duplicates, at most [`QUICK_MAX`].
fn add_quick(list: &[String], text: &str) -> Vec<String> {
    if text.trim().is_empty() {
        return list.to_vec();
    }
    let mut out = vec![text.to_string()];
    out.extend(list.iter().filter(|s| *s != text).cloned());
    out.truncate(QUICK_MAX);
    out
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn load_quick() -> Vec<String> {
    storage()
        .and_then(|s| s.get_item(QUICK_KEY).ok()?)
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

fn store_quick(list: &[String]) {
    if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(list)) {
        let _ = storage.set_item(QUICK_KEY, &json);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_messages_are_newest_first_unique_and_few() {
        let list = add_quick(&[], "AT");
        let list = add_quick(&list, "ATI");
        assert_eq!(add_quick(&list, "AT"), ["AT", "ATI"]);
        assert_eq!(add_quick(&list, "  "), list);
        let many = (0..20).fold(Vec::new(), |l, i| add_quick(&l, &i.to_string()));
        assert_eq!(many.len(), QUICK_MAX);
        assert_eq!(many[0], "19");
    }
}
