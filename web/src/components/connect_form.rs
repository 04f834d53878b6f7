//! The form that asks the bridge to dial a TCP server. It never rewrites what the user typed:
//! the port starts as the bridge's listener's (or 7777) once, and stays as the user leaves it;
//! `host:port` in the host field, pasted or typed, is split into the two fields.

use wasm_bindgen::JsCast;
use web_sys::{ClipboardEvent, HtmlInputElement};
use yew::prelude::*;

/// Checks the form's port field.
pub fn parse_port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u32>() {
        Ok(port) if (1..=65535).contains(&port) => Ok(port as u16),
        _ => Err("Port must be a whole number from 1 to 65535.".into()),
    }
}

/// `host:port` (or `[v6]:port`) as its host and port; `None` for a host alone (an IPv6 address
/// without brackets is a host alone).
pub fn split_host_port(text: &str) -> Option<(String, u16)> {
    let (host, port) = protocol::address::split(text)?;
    Some((host.to_string(), port))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Host,
    Port,
    Form,
}

#[derive(Properties, PartialEq)]
pub struct ConnectFormProps {
    /// The port to start with (the bridge's own listener's, or 7777), once known.
    pub default_port: Option<u16>,
    /// Whether the bridge can be asked (the page's socket is open).
    pub enabled: bool,
    /// Asks the bridge to dial; an error says why it could not be asked.
    pub on_connect: Callback<(String, u16), Result<(), String>>,
}

#[component]
pub fn ConnectForm(props: &ConnectFormProps) -> Html {
    let host = use_state(|| "127.0.0.1".to_string());
    // `None` until the default is known; then what the user leaves in it, never moved for them.
    let port = use_state(|| None::<String>);
    {
        let port = port.clone();
        use_effect_with(props.default_port, move |default| {
            if let (None, Some(default)) = (&*port, default) {
                port.set(Some(default.to_string()));
            }
        });
    }
    // The message, and whether it is about the host field (else the port, or the request).
    let error = use_state(|| None::<(Field, String)>);
    let port_text = (*port).clone().unwrap_or_default();
    // Puts `host:port` into the two fields; whether it was that.
    let split = {
        let (host, port) = (host.clone(), port.clone());
        move |text: &str| match split_host_port(text) {
            Some((h, p)) => {
                host.set(h);
                port.set(Some(p.to_string()));
                true
            }
            None => false,
        }
    };

    let on_host = {
        let host = host.clone();
        let error = error.clone();
        Callback::from(move |e: InputEvent| {
            host.set(e.target_unchecked_into::<HtmlInputElement>().value());
            error.set(None);
        })
    };
    let on_paste = {
        let split = split.clone();
        Callback::from(move |e: Event| {
            let pasted = e
                .dyn_ref::<ClipboardEvent>()
                .and_then(|e| e.clipboard_data())
                .and_then(|d| d.get_data("text").ok());
            if pasted.is_some_and(|text| split(&text)) {
                e.prevent_default();
            }
        })
    };
    // Typed rather than pasted: split when the user leaves the field.
    let on_host_change = {
        let split = split.clone();
        Callback::from(move |e: Event| {
            split(&e.target_unchecked_into::<HtmlInputElement>().value());
        })
    };
    let on_port = {
        let port = port.clone();
        let error = error.clone();
        Callback::from(move |e: InputEvent| {
            port.set(Some(e.target_unchecked_into::<HtmlInputElement>().value()));
            error.set(None);
        })
    };
    let onsubmit = {
        let host = host.clone();
        let error = error.clone();
        let port_text = port_text.clone();
        let split = split.clone();
        let on_connect = props.on_connect.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (h, port_text) = match split_host_port(&host) {
                Some((h, p)) => {
                    split(&host);
                    (h, p.to_string())
                }
                None => (host.trim().to_string(), port_text.clone()),
            };
            if h.is_empty() {
                error.set(Some((
                    Field::Host,
                    "Enter a host name or an IP address.".into(),
                )));
                return;
            }
            let p = match parse_port(&port_text) {
                Ok(p) => p,
                Err(msg) => {
                    error.set(Some((Field::Port, msg)));
                    return;
                }
            };
            match on_connect.emit((h, p)) {
                Ok(()) => error.set(None),
                Err(msg) => error.set(Some((Field::Form, msg))),
            }
        })
    };
    let invalid = |field: Field| {
        error
            .as_ref()
            .is_some_and(|(f, _)| *f == field)
            .then_some("true")
    };
    let described = |field: Field| invalid(field).map(|_| "connect-error");
    html! {
        <form class="connect-form" aria-label="Connect" {onsubmit} novalidate=true>
            <h2 class="pane-title">{ "Dial a TCP server" }</h2>
            <div class="connect-fields">
                <div class="field host">
                    <label for="connect-host">{ "Host" }</label>
                    <input id="connect-host" type="text" value={(*host).clone()} oninput={on_host}
                           onpaste={on_paste} onchange={on_host_change}
                           placeholder="name, IPv4 or IPv6; host:port fills both"
                           autocomplete="off" spellcheck="false"
                           aria-invalid={invalid(Field::Host)}
                           aria-describedby={described(Field::Host)} />
                </div>
                <div class="field port">
                    <label for="connect-port">{ "Port" }</label>
                    <input id="connect-port" type="text" inputmode="numeric" value={port_text}
                           oninput={on_port} autocomplete="off"
                           aria-invalid={invalid(Field::Port)}
                           aria-describedby={described(Field::Port)} />
                </div>
                <button type="submit" class="primary" disabled={!props.enabled}
                        title={(!props.enabled).then_some("Waiting for the bridge")}>{ "Connect" }</button>
            </div>
            if let Some((_, msg)) = &*error {
                <p id="connect-error" class="field-error" role="alert">{ msg }</p>
            }
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_come_apart() {
        assert_eq!(
            split_host_port("192.168.100.200:502"),
            Some(("192.168.100.200".into(), 502))
        );
        assert_eq!(
            split_host_port("[fe80::1]:7777"),
            Some(("fe80::1".into(), 7777))
        );
        assert_eq!(
            split_host_port(" device.local:23 "),
            Some(("device.local".into(), 23))
        );
        for alone in ["192.168.100.200", "fe80::1:7777", "::1", "host:", "host:x"] {
            assert_eq!(split_host_port(alone), None, "{alone}");
        }
    }

    #[test]
    fn ports_are_checked() {
        assert_eq!(parse_port("7777"), Ok(7777));
        assert_eq!(parse_port(" 1 "), Ok(1));
        assert_eq!(parse_port("65535"), Ok(65535));
        for bad in ["0", "65536", "", "abc", "-1", "80.5", "99999999999"] {
            assert!(parse_port(bad).is_err(), "{bad:?}");
        }
    }
}
