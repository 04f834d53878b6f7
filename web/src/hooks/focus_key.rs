//! The key that brings the focus to the composer from anywhere but a text field.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlTextAreaElement};
use yew::prelude::*;

/// The key itself, which the composer shows.
pub const FOCUS_KEY: &str = "/";

/// [`FOCUS_KEY`], pressed anywhere but in a field that takes text or a modal dialog, brings the
/// focus to the composer (and, in a narrow window, the conversation's tab): from a checkbox or
/// a menu too, where the keys typed after it would toggle the box or pick an option.
#[hook]
pub fn use_focus_key(show: Callback<bool>) {
    use_effect_with((), move |_| {
        let on_key = Closure::<dyn FnMut(KeyboardEvent)>::new(move |e: KeyboardEvent| {
            if e.key() != FOCUS_KEY || e.ctrl_key() || e.meta_key() || e.alt_key() {
                return;
            }
            let typing = e
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .is_some_and(|el| takes_text(&el));
            let document = web_sys::window().and_then(|w| w.document());
            // A modal dialog keeps the focus until it closes.
            let modal = document
                .as_ref()
                .and_then(|d| d.query_selector("[aria-modal=\"true\"]").ok().flatten())
                .is_some();
            let composer = document
                .and_then(|d| d.get_element_by_id("composer-text"))
                .and_then(|el| el.dyn_into::<HtmlElement>().ok());
            if let (false, false, Some(composer)) = (typing, modal, composer) {
                e.prevent_default();
                show.emit(false);
                if composer.offset_parent().is_some() {
                    // At once, so that the next key typed lands in it.
                    let _ = composer.focus();
                } else {
                    // Once the tab shows it: a hidden field takes no focus.
                    gloo::timers::callback::Timeout::new(0, move || {
                        let _ = composer.focus();
                    })
                    .forget();
                }
            }
        });
        let window = web_sys::window();
        if let Some(w) = &window {
            let _ = w.add_event_listener_with_callback("keydown", on_key.as_ref().unchecked_ref());
        }
        move || {
            if let Some(w) = &window {
                let _ = w.remove_event_listener_with_callback(
                    "keydown",
                    on_key.as_ref().unchecked_ref(),
                );
            }
        }
    });
}

/// Whether `el` is a field that takes the key as text: a text area, an input of text (not a
/// checkbox, a radio button or a button), or something editable.
fn takes_text(el: &Element) -> bool {
    match el.tag_name().as_str() {
        "TEXTAREA" => true,
        "INPUT" => !matches!(
            el.get_attribute("type").unwrap_or_default().as_str(),
            "checkbox" | "radio" | "button" | "submit" | "reset" | "range" | "color" | "file"
        ),
        _ => el.closest("[contenteditable]").ok().flatten().is_some(),
    }
}

/// The field `area` takes the focus each time `focus` changes (past 0): when the user chose a
/// conversation, to type into it.
#[hook]
pub fn use_focus_on(area: &NodeRef, focus: u32) {
    let area = area.clone();
    use_effect_with(focus, move |focus| {
        if *focus > 0 {
            if let Some(area) = area.cast::<HtmlTextAreaElement>() {
                let _ = area.focus();
            }
        }
    });
}
