//! The bridge's proxies, from the page: those running (each with Stop), and a form that starts
//! one, as `--proxy LISTEN=TARGET` does: listen on an address and relay each client to a server.
//! Folded, like the TLS listener and the UDP socket, under a line that says how many run.

use std::rc::Rc;

use protocol::{Command, ProxyListener};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::hooks::commands::use_commands;

/// Where the form offers to listen before the user types: loopback, Modbus's port moved up.
const OFFERED_LISTEN: &str = "127.0.0.1:1502";

/// The command that starts a proxy from what was typed, or why it would not make sense.
pub fn start_command(listen: &str, target: &str) -> Result<Command, String> {
    use protocol::address::{listen_address, split, with_scheme};
    let (listen, target) = (listen.trim(), target.trim());
    if with_scheme(listen, listen_address).is_none() {
        return Err(
            "Write where to listen as IP:PORT, e.g. 127.0.0.1:1502 or [::]:1502, or a port alone; \
             tls:IP:PORT for TLS clients, udp:IP:PORT for UDP."
                .into(),
        );
    }
    if with_scheme(target, split).is_none() {
        return Err(
            "Write the server as HOST:PORT, e.g. 192.168.1.20:502; tls:HOST:PORT to dial it \
             with TLS (tls-any: accepts any certificate)."
                .into(),
        );
    }
    Ok(Command::Proxy {
        listen: listen.into(),
        target: target.into(),
        request: None,
    })
}

#[derive(Properties, PartialEq)]
pub struct ProxyFormProps {
    /// The proxies running, as the bridge said.
    pub proxies: Vec<ProxyListener>,
    /// Why the bridge refused the page's last request to start or stop one.
    #[prop_or_default]
    pub failure: Option<Rc<str>>,
    /// Whether the bridge can be asked (the page's socket is open).
    pub enabled: bool,
}

#[component]
pub fn ProxyForm(props: &ProxyFormProps) -> Html {
    let commands = use_commands();
    let listen = use_state(|| OFFERED_LISTEN.to_string());
    let target = use_state(String::new);
    let error = use_state(|| None::<String>);
    let input = |field: &UseStateHandle<String>| {
        let (field, error) = (field.clone(), error.clone());
        Callback::from(move |e: InputEvent| {
            field.set(e.target_unchecked_into::<HtmlInputElement>().value());
            error.set(None);
        })
    };
    let onsubmit = {
        let (listen, target, error) = (listen.clone(), target.clone(), error.clone());
        let asked = commands.listener.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let sent = start_command(&listen, &target).and_then(|command| asked.emit(command));
            error.set(sent.err());
        })
    };
    let stop = |proxy: &ProxyListener| {
        let (asked, error) = (commands.listener.clone(), error.clone());
        let listen = proxy.listen.clone();
        Callback::from(move |_: MouseEvent| {
            let command = Command::StopProxy {
                listen: listen.clone(),
                request: None,
            };
            error.set(asked.emit(command).err());
        })
    };
    let state = match props.proxies.len() {
        0 => "None running".to_string(),
        1 => "1 running".to_string(),
        n => format!("{n} running"),
    };
    let failed = (*error)
        .clone()
        .or(props.failure.as_deref().map(String::from));
    html! {
        <details class="listener-panel proxies" aria-label="Proxies" open={!props.proxies.is_empty()}>
            <summary>
                <h2 class="pane-title">{ "Proxies" }</h2>
                <span class="listener-state" role="status" aria-live="polite">{ state }</span>
            </summary>
            if !props.proxies.is_empty() {
                <ul class="proxy-list" aria-label="Proxies running">
                    { for props.proxies.iter().map(|proxy| html! {
                        <li>
                            <span class="proxy-pair">{ format!("{} ⇄ {}", proxy.listen, proxy.target) }</span>
                            { " " }
                            <button type="button" onclick={stop(proxy)} disabled={!props.enabled}
                                    aria-label={format!("Stop the proxy on {}", proxy.listen)}>{ "Stop" }</button>
                        </li>
                    }) }
                </ul>
            }
            <form class="listener-form" aria-label="Start a proxy" {onsubmit} novalidate=true
                  title="Listen on an address, and relay each client that connects there to a server, both ways, shown as one conversation; tls: before an address speaks TLS there, udp: before both relays UDP">
                <div class="listener-fields">
                    <div class="field">
                        <label for="proxy-listen">{ "Listen on" }</label>
                        <input id="proxy-listen" type="text" value={(*listen).clone()} oninput={input(&listen)}
                               autocomplete="off" spellcheck="false" />
                    </div>
                    <div class="field">
                        <label for="proxy-target">{ "Relay to" }</label>
                        <input id="proxy-target" type="text" value={(*target).clone()} oninput={input(&target)}
                               placeholder="host:port, tls:host:port" autocomplete="off" spellcheck="false"
                               aria-invalid={failed.is_some().then_some("true")}
                               aria-describedby={failed.is_some().then_some("proxy-error")} />
                    </div>
                    <button type="submit" disabled={!props.enabled}>{ "Start" }</button>
                </div>
                if let Some(msg) = failed {
                    <p id="proxy-error" class="field-error" role="alert">{ msg }</p>
                }
            </form>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_is_started_from_an_address_and_a_server_that_make_sense() {
        assert_eq!(
            start_command(" 127.0.0.1:1502 ", "192.168.1.20:502"),
            Ok(Command::Proxy {
                listen: "127.0.0.1:1502".into(),
                target: "192.168.1.20:502".into(),
                request: None,
            })
        );
        assert!(start_command("1502", "[::1]:502").is_ok(), "a port alone");
        assert!(start_command("tls:[::]:8443", "tls-any:device.local:443").is_ok());
        assert!(start_command("udp:127.0.0.1:5353", "10.0.0.1:53").is_ok());
        assert!(start_command("localhost:1502", "x:1")
            .unwrap_err()
            .contains("IP:PORT"));
        assert!(start_command("127.0.0.1:1502", "192.168.1.20")
            .unwrap_err()
            .contains("HOST:PORT"));
    }
}
