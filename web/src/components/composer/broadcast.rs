//! The composer's "Broadcast" choice, shown for a UDP conversation and when sending to all:
//! while ticked, every send carries the flag that lets the bridge send to a broadcast address
//! (`192.168.1.255`, `255.255.255.255`), which a socket refuses without it. Each conversation
//! keeps its own, as it keeps its other composer options.

use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The checkbox, ticked when `on`; a plain function, as it holds no state.
pub fn broadcast(on: bool, on_change: &Callback<bool>) -> Html {
    let onchange =
        on_change.reform(|e: Event| e.target_unchecked_into::<HtmlInputElement>().checked());
    html! {
        <span class={classes!("control", "broadcast", on.then_some("on"))}
              title="UDP: allow this send to go to a broadcast address; without it the bridge refuses one">
            <input id="broadcast" type="checkbox" checked={on} {onchange} />
            <label for="broadcast">{ "Broadcast" }</label>
        </span>
    }
}
