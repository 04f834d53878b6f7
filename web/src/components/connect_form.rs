//! The form that asks the bridge to dial a server, over TCP, TLS or UDP. It never rewrites what
//! the user typed: the port starts as the bridge's listener's (or 7777) once, and stays as the
//! user leaves it; `host:port` in the host field, pasted or typed, is split into the two fields.
//! With TLS, "accept any certificate" is offered, and says plainly that it skips verification.

use protocol::Transport;
use wasm_bindgen::JsCast;
use web_sys::{ClipboardEvent, HtmlInputElement};
use yew::prelude::*;

use crate::components::select::Select;
use crate::dial::{dial_of, split_host_port, Field};
use crate::hooks::commands::use_commands;
use crate::hooks::latest::{use_live, Live};

/// The form's choice of transport: `(value, label)`.
const TRANSPORTS: [(&str, &str); 3] = [("tcp", "TCP"), ("tls", "TLS"), ("udp", "UDP")];

#[derive(Properties, PartialEq)]
pub struct ConnectFormProps {
    /// The port to start with (the bridge's own listener's, or 7777), once known.
    pub default_port: Option<u16>,
    /// Whether the bridge can be asked (the page's socket is open).
    pub enabled: bool,
}

/// The form's fields, as they are now (see [`crate::hooks::latest`]).
#[derive(Clone)]
struct DialFields {
    host: Live<String>,
    /// `None` until the default is known; then what the user leaves in it, never moved for them.
    port: Live<Option<String>>,
    transport: Live<Transport>,
    accept_any: Live<bool>,
}

impl DialFields {
    /// Puts `host:port` into the two fields; whether it was that.
    fn split(&self, text: &str) -> bool {
        let Some((host, port)) = split_host_port(text) else {
            return false;
        };
        self.host.set(host);
        self.port.set(Some(port.to_string()));
        true
    }
}

#[hook]
fn use_dial_fields(default_port: Option<u16>) -> DialFields {
    let fields = DialFields {
        host: use_live(|| "127.0.0.1".to_string()),
        port: use_live(|| None::<String>),
        transport: use_live(|| Transport::Tcp),
        accept_any: use_live(|| false),
    };
    let port = fields.port.clone();
    use_effect_with(default_port, move |default| {
        if let (None, Some(default)) = (port.get(), default) {
            port.set(Some(default.to_string()));
        }
    });
    fields
}

/// With TLS: whether to connect whatever certificate the server presents, saying plainly what
/// that skips.
fn accept_any_box(accept_any: &Live<bool>) -> Html {
    let on = accept_any.get();
    let onchange = {
        let accept_any = accept_any.clone();
        Callback::from(move |e: Event| {
            accept_any.set(e.target_unchecked_into::<HtmlInputElement>().checked());
        })
    };
    html! {
        <div class={classes!("accept-any", on.then_some("on"))}
             title="For a device with a self-signed certificate: encrypted, but anyone in the middle could pose as the server">
            <input id="dial-accept-any" type="checkbox" checked={on} {onchange} />
            <label for="dial-accept-any">{ "Accept any certificate (skips verification)" }</label>
        </div>
    }
}

#[component]
pub fn ConnectForm(props: &ConnectFormProps) -> Html {
    let commands = use_commands();
    let fields = use_dial_fields(props.default_port);
    let DialFields {
        host,
        port,
        transport,
        accept_any,
    } = fields.clone();
    // The message, and whether it is about the host field (else the port, or the request).
    let error = use_state(|| None::<(Field, String)>);
    let port_text = port.get().unwrap_or_default();
    let on_host = {
        let host = host.clone();
        let error = error.clone();
        Callback::from(move |e: InputEvent| {
            host.set(e.target_unchecked_into::<HtmlInputElement>().value());
            error.set(None);
        })
    };
    let on_paste = {
        let fields = fields.clone();
        Callback::from(move |e: Event| {
            let pasted = e
                .dyn_ref::<ClipboardEvent>()
                .and_then(|e| e.clipboard_data())
                .and_then(|d| d.get_data("text").ok());
            if pasted.is_some_and(|text| fields.split(&text)) {
                e.prevent_default();
            }
        })
    };
    // Typed rather than pasted: split when the user leaves the field.
    let on_host_change = {
        let fields = fields.clone();
        Callback::from(move |e: Event| {
            fields.split(&e.target_unchecked_into::<HtmlInputElement>().value());
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
        let (error, fields, connect) = (error.clone(), fields, commands.connect);
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            // What the fields hold now, even if the page has not drawn the last keystroke yet.
            let (host, port) = (fields.host.get(), fields.port.get().unwrap_or_default());
            fields.split(&host);
            let (transport, accept_any) = (fields.transport.get(), fields.accept_any.get());
            let asked = dial_of(&host, &port, transport, accept_any)
                .and_then(|dial| connect.emit(dial).map_err(|msg| (Field::Form, msg)));
            error.set(asked.err());
        })
    };
    let invalid = |field: Field| {
        error
            .as_ref()
            .is_some_and(|(f, _)| *f == field)
            .then_some("true")
    };
    let described = |field: Field| invalid(field).map(|_| "connect-error");
    let on_transport = {
        let transport = transport.clone();
        Callback::from(move |value: String| {
            let all = [Transport::Tcp, Transport::Tls, Transport::Udp];
            transport.set(
                all.into_iter()
                    .find(|t| t.as_str() == value)
                    .unwrap_or_default(),
            )
        })
    };
    html! {
        <form class="connect-form" aria-label="Connect" {onsubmit} novalidate=true>
            <div class="connect-fields">
                <div class="field host">
                    <label for="connect-host">{ "Host" }</label>
                    <input id="connect-host" type="text" value={host.get()} oninput={on_host}
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
                <div class="field protocol">
                    <label for="connect-protocol">{ "Protocol" }</label>
                    <Select id="connect-protocol" value={transport.get().as_str()} options={TRANSPORTS.to_vec()}
                            onchange={on_transport} />
                </div>
                <button type="submit" class="primary" disabled={!props.enabled}
                        title={(!props.enabled).then_some("Waiting for the bridge")}>{ "Connect" }</button>
            </div>
            if transport.get() == Transport::Tls {
                { accept_any_box(&accept_any) }
            }
            if let Some((_, msg)) = &*error {
                <p id="connect-error" class="field-error" role="alert">{ msg }</p>
            }
        </form>
    }
}
