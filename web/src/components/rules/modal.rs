//! The rules panel as a modal dialog for the keyboard: it takes the focus when it opens, Tab and
//! Shift+Tab go round its own controls only, Esc closes it, and the focus goes back to where it
//! was (the button that opened it) when it closes. The keys are heard on the window, so that they
//! work even when the control that had the focus is gone (a rule deleted, an editor closed).

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};
use yew::prelude::*;

/// What Tab may reach in the dialog.
const FOCUSABLE: &str = "button:not([disabled]), input:not([disabled]), select:not([disabled]), \
                         textarea:not([disabled]), a[href], [tabindex]:not([tabindex=\"-1\"])";

/// Makes `dialog` modal while the calling component is mounted; `on_close` hears Esc.
#[hook]
pub fn use_modal(dialog: NodeRef, on_close: Callback<()>) {
    use_effect_with((), move |_| {
        let document = web_sys::window().and_then(|w| w.document());
        let before = document
            .as_ref()
            .and_then(|d| d.active_element())
            .and_then(|el| el.dyn_into::<HtmlElement>().ok());
        if let Some(dialog) = dialog.cast::<HtmlElement>() {
            let _ = dialog.focus();
        }
        let on_key = Closure::<dyn FnMut(KeyboardEvent)>::new(move |e: KeyboardEvent| {
            let Some(dialog) = dialog.cast::<HtmlElement>() else {
                return;
            };
            match e.key().as_str() {
                "Escape" => {
                    e.prevent_default();
                    on_close.emit(());
                }
                "Tab" => {
                    if let Some(next) = wrapped(&dialog, e.shift_key()) {
                        e.prevent_default();
                        let _ = next.focus();
                    }
                }
                _ => {}
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
            if let Some(before) = before.filter(|el| el.is_connected()) {
                let _ = before.focus();
            }
        }
    });
}

/// Where Tab (or Shift+Tab, `back`) must go instead of where the browser would take it: round
/// to the other end at either end of the dialog, or into it from anywhere outside. `None`: the
/// browser's own move stays inside.
fn wrapped(dialog: &HtmlElement, back: bool) -> Option<HtmlElement> {
    let all = dialog.query_selector_all(FOCUSABLE).ok()?;
    let controls: Vec<HtmlElement> = (0..all.length())
        .filter_map(|i| all.item(i)?.dyn_into::<HtmlElement>().ok())
        .collect();
    let (first, last) = (controls.first()?, controls.last()?);
    let active: Option<Element> = web_sys::window()?.document()?.active_element();
    let inside = active
        .as_ref()
        .is_some_and(|a| dialog.contains(Some(a)) && !dialog.is_same_node(Some(a)));
    let at = |el: &HtmlElement| active.as_ref().is_some_and(|a| el.is_same_node(Some(a)));
    match (inside, back) {
        (false, false) => Some(first.clone()),
        (false, true) => Some(last.clone()),
        (true, false) if at(last) => Some(first.clone()),
        (true, true) if at(first) => Some(last.clone()),
        _ => None,
    }
}
