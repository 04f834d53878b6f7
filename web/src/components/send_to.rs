//! Where the composer sends in a proxied conversation: to its client, as if from the server,
//! or to its server, as if from the client. Each conversation keeps its own choice.

use yew::prelude::*;

use super::select::Select;

/// The menu, showing the side sends go to now (`to_server`).
pub fn send_to(to_server: bool, on_change: &Callback<bool>) -> Html {
    let onchange = on_change.reform(|value: String| value == "server");
    html! {
        <span class="control send-to"
              title="A proxied conversation: send to its client, as if from the server, or to its server, as if from the client">
            <label for="send-to">{ "Send to" }</label>
            <Select id="send-to" value={if to_server { "server" } else { "client" }}
                    options={vec![("client", "client"), ("server", "server")]} {onchange} />
        </span>
    }
}
