//! What the user narrows a conversation to, and takes away from it: Find, the gaps between
//! messages, the downloads, a simulator learnt from it, and clearing the view.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::field_id;

/// What a download holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Download {
    Text,
    JsonLines,
    Pcapng,
}

#[derive(Properties, PartialEq)]
pub struct FilterBarProps {
    pub twin: bool,
    /// What Find holds, as typed.
    pub query: String,
    pub gaps: bool,
    /// Whether the view was cleared.
    pub cleared: bool,
    pub on_query: Callback<String>,
    pub on_gaps: Callback<bool>,
    /// Clears the view, or shows all again when it was cleared.
    pub on_clear: Callback<()>,
    pub on_download: Callback<Download>,
    /// Asks the bridge for a simulator of this conversation's server, to review in the rules
    /// panel.
    pub on_learn: Callback<()>,
}

#[component]
pub fn FilterBar(props: &FilterBarProps) -> Html {
    let id = |name| field_id(props.twin, name);
    let on_query = props
        .on_query
        .reform(|e: InputEvent| e.target_unchecked_into::<HtmlInputElement>().value());
    let on_gaps = props
        .on_gaps
        .reform(|e: Event| e.target_unchecked_into::<HtmlInputElement>().checked());
    let download = |what| props.on_download.reform(move |_: MouseEvent| what);
    html! {
        <div class="conv-filter">
            <label for={id("filter")}>{ "Find" }</label>
            <input id={id("filter")} type="search" value={props.query.clone()} oninput={on_query}
                   placeholder="Show only messages containing…" spellcheck="false" />
            <span class="control">
                <input id={id("gaps")} type="checkbox" checked={props.gaps} onchange={on_gaps} />
                <label for={id("gaps")}>{ "Gaps" }</label>
            </span>
            <span class="downloads" role="group" aria-label="Download">
                <span class="label" aria-hidden="true">{ "Download" }</span>
                <button type="button" onclick={download(Download::Text)} title="The conversation as text">{ "Text" }</button>
                <button type="button" onclick={download(Download::JsonLines)} title="The conversation as JSON Lines, exact bytes included">{ "JSON Lines" }</button>
                <button type="button" onclick={download(Download::Pcapng)} title="The conversation for Wireshark: its exact bytes in synthetic packets">{ "pcapng" }</button>
            </span>
            <button type="button" onclick={props.on_learn.reform(|_: MouseEvent| ())}
                    aria-label="Make a simulator from this conversation"
                    title="Rules that answer as this conversation's server (or device) answered, as bridge learn makes them, to review in the rules panel before they take effect">
                { "Make a simulator" }
            </button>
            <button type="button" onclick={props.on_clear.reform(|_: MouseEvent| ())}>
                { if props.cleared { "Show all" } else { "Clear view" } }
            </button>
        </div>
    }
}
