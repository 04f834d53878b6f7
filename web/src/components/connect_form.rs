//! The form that asks the bridge to dial a server, over TCP, TLS or UDP. It never rewrites what
//! the user typed: the port starts as the bridge's listener's (or 7777) once, and stays as the
//! user leaves it; `host:port` in the host field, pasted or typed, is split into the two fields.
//! With TLS, "accept any certificate" is offered, and says plainly that it skips verification.

use protocol::{Command, ConnInfo, Origin, RequestId, Transport};
use wasm_bindgen::JsCast;
use web_sys::{ClipboardEvent, HtmlInputElement};
use yew::prelude::*;

use crate::components::live::use_live;
use crate::components::select::Select;

/// The form's choice of transport: `(value, label)`.
const TRANSPORTS: [(&str, &str); 3] = [("tcp", "TCP"), ("tls", "TLS"), ("udp", "UDP")];

/// A dial the page asks the bridge for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dial {
    pub host: String,
    pub port: u16,
    pub transport: Transport,
    /// With TLS: connect whatever certificate the server presents.
    pub accept_any_certificate: bool,
}

impl Dial {
    /// Plain TCP to `host:port`.
    pub fn tcp(host: impl Into<String>, port: u16) -> Dial {
        Dial {
            host: host.into(),
            port,
            transport: Transport::Tcp,
            accept_any_certificate: false,
        }
    }

    /// The same dial again, for a closed connection the bridge dialled: the same transport,
    /// and for TLS the same trust (a server taken unverified is taken so again).
    pub fn again(info: &ConnInfo) -> Option<Dial> {
        let (host, port) = protocol::address::split(&info.peer)?;
        (info.origin == Origin::Dialled).then(|| Dial {
            accept_any_certificate: crate::components::transport_badge::unverified(info),
            transport: info.transport,
            ..Dial::tcp(host, port)
        })
    }

    /// The command that asks for it, with the page's `request` id.
    pub fn command(self, request: RequestId) -> Command {
        Command::Connect {
            host: self.host,
            port: self.port,
            request: Some(request),
            accept_any_certificate: self.accept_any_certificate && self.transport == Transport::Tls,
            transport: self.transport,
        }
    }
}

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
    pub on_connect: Callback<Dial, Result<(), String>>,
}

#[component]
pub fn ConnectForm(props: &ConnectFormProps) -> Html {
    let host = use_live(|| "127.0.0.1".to_string());
    // `None` until the default is known; then what the user leaves in it, never moved for them.
    let port = use_live(|| None::<String>);
    let transport = use_live(|| Transport::Tcp);
    let accept_any = use_live(|| false);
    {
        let port = port.clone();
        use_effect_with(props.default_port, move |default| {
            if let (None, Some(default)) = (port.get(), default) {
                port.set(Some(default.to_string()));
            }
        });
    }
    // The message, and whether it is about the host field (else the port, or the request).
    let error = use_state(|| None::<(Field, String)>);
    let port_text = port.get().unwrap_or_default();
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
        let (host, port) = (host.clone(), port.clone());
        let error = error.clone();
        let split = split.clone();
        let on_connect = props.on_connect.clone();
        let (transport, accept_any) = (transport.clone(), accept_any.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            // What the fields hold now, even if the page has not drawn the last keystroke yet.
            let (host, port_text) = (host.get(), port.get().unwrap_or_default());
            let (transport, accept_any) = (transport.get(), accept_any.get());
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
            let dial = Dial {
                transport,
                accept_any_certificate: accept_any,
                ..Dial::tcp(h, p)
            };
            match on_connect.emit(dial) {
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
    let on_transport = {
        let transport = transport.clone();
        Callback::from(move |value: String| {
            transport.set(match value.as_str() {
                "tls" => Transport::Tls,
                "udp" => Transport::Udp,
                _ => Transport::Tcp,
            })
        })
    };
    let on_accept_any = {
        let accept_any = accept_any.clone();
        Callback::from(move |e: Event| {
            accept_any.set(e.target_unchecked_into::<HtmlInputElement>().checked());
        })
    };
    html! {
        <form class="connect-form" aria-label="Connect" {onsubmit} novalidate=true>
            <h2 class="pane-title">{ "Dial a server" }</h2>
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
                <div class="field protocol">
                    <label for="connect-protocol">{ "Protocol" }</label>
                    <Select id="connect-protocol" value={transport.get().as_str()} options={TRANSPORTS.to_vec()}
                            onchange={on_transport} />
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
            if transport.get() == Transport::Tls {
                <div class={classes!("accept-any", accept_any.get().then_some("on"))}
                     title="For a device with a self-signed certificate: encrypted, but anyone in the middle could pose as the server">
                    <input id="dial-accept-any" type="checkbox" checked={accept_any.get()}
                           onchange={on_accept_any} />
                    <label for="dial-accept-any">{ "Accept any certificate (skips verification)" }</label>
                </div>
            }
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
    fn a_dial_again_keeps_its_transport_and_its_trust() {
        use protocol::tls::TlsInfo;
        use protocol::ConnState;
        let mut info = ConnInfo::new(
            3,
            Origin::Dialled,
            "[::1]:8443".into(),
            ConnState::Closed,
            0,
        );
        info.transport = Transport::Tls;
        info.tls = Some(Box::new(TlsInfo {
            version: "TLSv1.3".into(),
            cipher_suite: "TLS_AES_128_GCM_SHA256".into(),
            key_exchange: None,
            alpn: None,
            server_name: Some("::1".into()),
            peer_verified: false,
            peer_certificate: None,
        }));
        let again = Dial::again(&info).unwrap();
        assert_eq!((again.host.as_str(), again.port), ("::1", 8443));
        assert_eq!(again.transport, Transport::Tls);
        assert!(again.accept_any_certificate);
        info.origin = Origin::Accepted;
        assert_eq!(
            Dial::again(&info),
            None,
            "a peer that called us is not dialled"
        );
    }

    #[test]
    fn accept_any_goes_only_with_tls() {
        let udp = Dial {
            transport: Transport::Udp,
            accept_any_certificate: true,
            ..Dial::tcp("127.0.0.1", 9)
        };
        assert_eq!(
            udp.command(7),
            Command::Connect {
                host: "127.0.0.1".into(),
                port: 9,
                request: Some(7),
                transport: Transport::Udp,
                accept_any_certificate: false,
            }
        );
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
