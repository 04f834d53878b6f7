//! Form fields, one function each: the forms with many fields (how a connection is read, an
//! auto-reply rule) build theirs from these, and report every change the same way, as the
//! field's name and its new value, which the form's draft applies (`set`). One function per
//! kind of field, not a closure per field, keeps the web app small.

use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::components::select::Select;

/// A field changed: its name, and its value (`"true"` or `"false"` for a checkbox).
pub type OnField = Callback<(&'static str, String)>;

/// A labelled text field.
pub fn text(id: &str, name: &'static str, label: &str, value: &str, on: &OnField) -> Html {
    let on = on.clone();
    let oninput = Callback::from(move |e: InputEvent| {
        on.emit((name, e.target_unchecked_into::<HtmlInputElement>().value()))
    });
    html! {
        <span class={classes!("field", name)}>
            <label for={id.to_owned()}>{ label.to_owned() }</label>
            <input id={id.to_owned()} type="text" value={value.to_owned()} {oninput}
                   autocomplete="off" spellcheck="false" />
        </span>
    }
}

/// A labelled text area.
pub fn area(
    id: &str,
    name: &'static str,
    label: &str,
    value: &str,
    hint: &str,
    on: &OnField,
) -> Html {
    let on = on.clone();
    let oninput = Callback::from(move |e: InputEvent| {
        on.emit((
            name,
            e.target_unchecked_into::<HtmlTextAreaElement>().value(),
        ))
    });
    html! {
        <span class={classes!("field", name)}>
            <label for={id.to_owned()}>{ label.to_owned() }</label>
            <textarea id={id.to_owned()} rows="2" value={value.to_owned()} placeholder={hint.to_owned()}
                      {oninput} spellcheck="false" />
        </span>
    }
}

/// A labelled menu that shows `value`.
pub fn menu(
    id: &str,
    name: &'static str,
    label: &str,
    value: &str,
    options: &[(&'static str, &'static str)],
    on: &OnField,
) -> Html {
    let on = on.clone();
    let onchange = Callback::from(move |value: String| on.emit((name, value)));
    html! {
        <span class={classes!("field", name)}>
            <label for={id.to_owned()}>{ label.to_owned() }</label>
            <Select id={id.to_owned()} value={value.to_owned()} options={options.to_vec()} {onchange} />
        </span>
    }
}

/// A labelled checkbox.
pub fn check(id: &str, name: &'static str, label: &str, checked: bool, on: &OnField) -> Html {
    let on = on.clone();
    let onchange = Callback::from(move |e: Event| {
        let on_now = e.target_unchecked_into::<HtmlInputElement>().checked();
        on.emit((name, on_now.to_string()))
    });
    html! {
        <span class={classes!("field", "check", name)}>
            <input id={id.to_owned()} type="checkbox" {checked} {onchange} />
            <label for={id.to_owned()}>{ label.to_owned() }</label>
        </span>
    }
}
