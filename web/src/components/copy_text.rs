//! A piece of text the page shows for a person to compare or copy (a certificate's
//! fingerprint), with a button that copies it and then says, for a moment, whether it did.
//! Where the browser keeps the clipboard from the page (a page served over plain HTTP beyond
//! this machine), it says so; a click on the text selects all of it (`user-select: all`), for
//! Ctrl+C. A plain function, not a component: the button's word is its own, for two seconds.

use gloo::timers::callback::Timeout;
use js_sys::{Function, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Element;
use yew::prelude::*;

/// What the button says, until a click.
const COPY: &str = "Copy";

/// `text`, and its Copy button; `what` names it for the button's accessible name (`the
/// certificate fingerprint`).
pub fn copy_text(text: &str, what: &str) -> Html {
    let onclick = {
        let text = text.to_string();
        Callback::from(move |e: MouseEvent| {
            let Some(button) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
                return;
            };
            let say = move |word: &'static str| {
                button.set_text_content(Some(word));
                let button = button.clone();
                Timeout::new(2000, move || button.set_text_content(Some(COPY))).forget();
            };
            let (ok, err) = (say.clone(), say.clone());
            let ok = Closure::once_into_js(move |_: JsValue| ok("Copied"));
            let err = Closure::once_into_js(move |_: JsValue| err(NOT_COPIED));
            let asked = write_clipboard(&text)
                .and_then(|promise| method(&promise, "then")?.call2(&promise, &ok, &err).ok());
            if asked.is_none() {
                say(NOT_COPIED);
            }
        })
    };
    html! {
        <span class="copy-text">
            <code>{ text.to_string() }</code>
            <button type="button" class="copy" {onclick} aria-label={format!("Copy {what}")}>{ COPY }</button>
        </span>
    }
}

const NOT_COPIED: &str = "Not copied: select it, then Ctrl+C";

/// `navigator.clipboard.writeText(text)` (a promise), where the browser offers it.
fn write_clipboard(text: &str) -> Option<JsValue> {
    let navigator = Reflect::get(&web_sys::window()?.into(), &"navigator".into()).ok()?;
    let clipboard = Reflect::get(&navigator, &"clipboard".into())
        .ok()
        .filter(|c| c.is_object())?;
    method(&clipboard, "writeText")?
        .call1(&clipboard, &text.into())
        .ok()
}

/// `object[name]`, when it is a function.
fn method(object: &JsValue, name: &str) -> Option<Function> {
    Reflect::get(object, &name.into()).ok()?.dyn_into().ok()
}
