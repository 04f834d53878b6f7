//! The multicast groups the bridge's UDP socket joined, in its panel: each with a button to
//! leave it, and a form to join another, on an interface if one is given. The groups listed
//! are the bridge's word, and a join or leave that fails says why, here. A plain function, not
//! a component: it holds no state (the fields are read when the form is sent).

use protocol::Command;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlInputElement};
use yew::prelude::*;

/// The command that joins `group`, on `interface` when one is given.
pub fn join(group: &str, interface: &str) -> Command {
    let interface = interface.trim();
    Command::JoinGroup {
        group: group.trim().to_string(),
        interface: (!interface.is_empty()).then(|| interface.to_string()),
        request: None,
    }
}

/// The groups and the form. `open`: whether the UDP socket is open (it joins nothing closed);
/// `failure`: why the page's last join or leave failed.
pub fn multicast_groups(
    groups: &[String],
    open: bool,
    failure: Option<&str>,
    enabled: bool,
    on_command: &Callback<Command, Result<(), String>>,
) -> Html {
    let ask = on_command.clone();
    let onsubmit = {
        let ask = ask.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let form = e.target_unchecked_into::<Element>();
            let value = |id: &str| {
                form.query_selector(id)
                    .ok()
                    .flatten()
                    .and_then(|el| el.dyn_into::<HtmlInputElement>().ok())
                    .map(|input| input.value())
                    .unwrap_or_default()
            };
            let _ = ask.emit(join(&value("#udp-group"), &value("#udp-interface")));
        })
    };
    let groups = groups.iter().map(|g| {
        let leave = Command::LeaveGroup {
            group: g.clone(),
            request: None,
        };
        let ask = ask.clone();
        let onclick = Callback::from(move |_: MouseEvent| {
            let _ = ask.emit(leave.clone());
        });
        html! {
            <li key={g.clone()}>
                <code>{ g }</code>
                <button type="button" {onclick} disabled={!enabled}
                        aria-label={format!("Leave {g}")}>{ "Leave" }</button>
            </li>
        }
    });
    html! {
        <form class="groups" aria-label="Multicast groups" {onsubmit} novalidate=true>
            <h3>{ "Multicast groups" }</h3>
            <ul class="group-list">{ for groups }</ul>
            <div class="group-fields">
                <input id="udp-group" type="text" aria-label="Group" placeholder="group: 239.255.0.1, ff15::1"
                       autocomplete="off" spellcheck="false" />
                <input id="udp-interface" type="text" aria-label="Interface (optional)" autocomplete="off"
                       spellcheck="false" placeholder="interface (optional): IPv4 address, IPv6 index" />
                <button type="submit" disabled={!enabled || !open}
                        title={(!open).then_some("Open the UDP socket first")}>{ "Join" }</button>
            </div>
            if let Some(msg) = failure {
                <p class="field-error" role="alert">{ msg.to_string() }</p>
            }
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_joined_on_the_interface_given_or_the_systems() {
        assert_eq!(
            join(" 239.255.0.1 ", ""),
            Command::JoinGroup {
                group: "239.255.0.1".into(),
                interface: None,
                request: None,
            }
        );
        assert_eq!(
            join("ff15::1", " 2 "),
            Command::JoinGroup {
                group: "ff15::1".into(),
                interface: Some("2".into()),
                request: None,
            }
        );
    }
}
