//! One of the bridge's listeners, from the page: where it listens, and the controls to stop it,
//! start it again, or move it to another address. The TCP listener also opens a client to
//! itself from the bridge (so that one page shows both ends of one conversation, as the seed's
//! "one computer works the same as two"), and when the bridge could not listen at start (the
//! tutorial's port was taken, by the learner's own server as often as not), it says why and
//! offers both ways on. The TLS listener and the UDP socket, which most sessions never need,
//! are folded under a line that says where they listen, with what is their own (the
//! certificate's fingerprint, the multicast groups) below their controls.
//!
//! One component for the three: each costs the page's download its code only once.

use std::rc::Rc;

use protocol::address::DEFAULT_PORT;
use protocol::{Command, Problem, Transport};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::components::multicast_groups::multicast_groups;
use crate::components::tls_details::listener_fingerprint;
use crate::dial::Dial;
use crate::hooks::commands::use_commands;
use crate::hooks::latest::use_live;

/// The port a listener's problem is about (the one it could not take), else the default.
pub fn problem_port(problem: &Problem) -> u16 {
    problem.port.unwrap_or(DEFAULT_PORT)
}

/// The address the form offers before the user types one: where the listener is or last was;
/// failing that, the default's next port when the default was taken, else the default.
pub fn offered_address(
    listen: Option<&str>,
    last: Option<&str>,
    problem: Option<&Problem>,
) -> String {
    match (listen.or(last), problem) {
        (Some(addr), _) => addr.to_string(),
        (None, Some(problem)) => format!("0.0.0.0:{}", problem_port(problem).saturating_add(1)),
        (None, None) => format!("0.0.0.0:{DEFAULT_PORT}"),
    }
}

/// The address a TLS listener or UDP socket is offered at before the user types one: where it
/// is, or last was; failing that, the default port on the TCP listener's address (what the user
/// chose to listen on), or on every interface.
pub fn offered(listen: Option<&str>, last: Option<&str>, tcp: Option<&str>, port: u16) -> String {
    if let Some(addr) = listen.or(last) {
        return addr.to_string();
    }
    let host = tcp
        .and_then(protocol::address::split)
        .map_or("::", |(host, _)| host);
    protocol::address::join(host, port)
}

/// The command that starts `transport`'s listener at `addr` (or moves it), or stops it.
pub fn command(transport: Transport, addr: Option<String>) -> Command {
    match addr {
        Some(addr) => Command::Listen {
            addr,
            transport,
            request: None,
        },
        None => Command::StopListening {
            transport,
            request: None,
        },
    }
}

#[derive(Properties, PartialEq)]
pub struct ListenerFormProps {
    /// Which listener: TCP (the default), TLS, or the UDP socket.
    #[prop_or_default]
    pub transport: Transport,
    /// Where the listener is bound, or `None` when it is stopped.
    pub listen: Option<String>,
    /// Where it last listened, to start it there again.
    pub last_listen: Option<String>,
    /// Why it is not listening although it was meant to (its port was taken at start).
    #[prop_or_default]
    pub problem: Option<Problem>,
    /// The TCP listener's address, to offer the others beside it.
    #[prop_or_default]
    pub beside: Option<String>,
    /// Why the bridge refused the page's last request to it.
    #[prop_or_default]
    pub failure: Option<Rc<str>>,
    /// Whether the bridge can be asked (the page's socket is open).
    pub enabled: bool,
    /// The TLS listener's certificate fingerprint, once known.
    #[prop_or_default]
    pub fingerprint: Option<String>,
    /// The multicast groups the UDP socket joined.
    #[prop_or_default]
    pub groups: Vec<String>,
    /// Why the page's last join or leave of a group failed.
    #[prop_or_default]
    pub groups_failure: Option<Rc<str>>,
}

/// A listener's heading, the form's name, and the ids of its field and of its error.
fn names(transport: Transport) -> (&'static str, &'static str, &'static str, &'static str) {
    match transport {
        Transport::Tcp => ("TCP listener", "Listener", "listen-addr", "listener-error"),
        Transport::Tls => (
            "TLS listener",
            "Listen with TLS",
            "tls-listen-addr",
            "tls-listener-error",
        ),
        Transport::Udp => (
            "UDP socket",
            "Open the UDP socket",
            "udp-listen-addr",
            "udp-listener-error",
        ),
    }
}

#[component]
pub fn ListenerForm(props: &ListenerFormProps) -> Html {
    let commands = use_commands();
    // `None` until the user edits it, so that the field follows the listener's address.
    let typed = use_live(|| None::<String>);
    let error = use_state(|| None::<String>);
    let transport = props.transport;
    let tcp = transport == Transport::Tcp;
    let (listen, last) = (props.listen.as_deref(), props.last_listen.as_deref());
    let offered = match transport {
        Transport::Tcp => offered_address(listen, last, props.problem.as_ref()),
        Transport::Tls => offered(listen, last, props.beside.as_deref(), 7443),
        Transport::Udp => offered(listen, last, props.beside.as_deref(), DEFAULT_PORT),
    };
    let addr = typed.get().unwrap_or_else(|| offered.clone());
    let (title, name, field, error_id) = names(transport);

    let on_input = {
        let typed = typed.clone();
        let error = error.clone();
        Callback::from(move |e: InputEvent| {
            typed.set(Some(e.target_unchecked_into::<HtmlInputElement>().value()));
            error.set(None);
        })
    };
    let report = {
        let error = error.clone();
        let typed = typed.clone();
        Callback::from(move |result: Result<(), String>| match result {
            Ok(()) => {
                typed.set(None);
                error.set(None);
            }
            Err(msg) => error.set(Some(msg)),
        })
    };
    let onsubmit = {
        let listener = commands.listener.clone();
        let (typed, report, error) = (typed.clone(), report.clone(), error.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let addr = typed.get().unwrap_or_else(|| offered.clone());
            let addr = addr.trim().to_string();
            if protocol::address::listen_address(&addr).is_none() {
                error.set(Some(
                    "Write the address as IP:PORT, e.g. 0.0.0.0:7777 or [::]:7777, or a port alone."
                        .into(),
                ));
                return;
            }
            report.emit(listener.emit(command(transport, Some(addr))));
        })
    };
    let on_stop = {
        let (listener, report) = (commands.listener.clone(), report.clone());
        Callback::from(move |_: MouseEvent| report.emit(listener.emit(command(transport, None))))
    };
    let failed = error.is_some() || props.failure.is_some();
    let listening = props.listen.is_some();
    let moved = props.listen.as_deref() != Some(addr.trim());
    let state = listener_state(props);
    let heading = html! { <h2 class="pane-title">{ title }</h2> };
    let form = html! {
        <form class="listener-form" aria-label={name} {onsubmit} novalidate=true>
            if tcp {
                { heading.clone() }
                { state.clone() }
            }
            <div class="listener-fields">
                <div class="field">
                    <label for={field}>{ "Listen address" }</label>
                    <input id={field} type="text" value={addr} oninput={on_input}
                           autocomplete="off" spellcheck="false"
                           aria-invalid={failed.then_some("true")}
                           aria-describedby={failed.then_some(error_id)} />
                </div>
                <button type="submit" disabled={!props.enabled || (listening && !moved)}>
                    { if listening { "Move" } else { "Listen" } }
                </button>
            </div>
            <div class="listener-actions">
                if listening {
                    <button type="button" onclick={on_stop} disabled={!props.enabled}>{ "Stop" }</button>
                }
                { dial_buttons(props, &commands.connect, &report) }
            </div>
            if let Some(msg) = (*error).clone().or(props.failure.as_deref().map(String::from)) {
                <p id={error_id} class="field-error" role="alert">{ msg }</p>
            }
        </form>
    };
    if tcp {
        return form;
    }
    html! {
        <details class="listener-panel" aria-label={title}>
            <summary>{ heading }{ state }</summary>
            { form }
            if transport == Transport::Tls {
                { listener_fingerprint(props.fingerprint.as_deref()) }
            } else {
                { multicast_groups(&props.groups, listening, props.groups_failure.as_deref(),
                                   props.enabled, &commands.listener) }
            }
        </details>
    }
}

/// The TCP listener's ways to dial: a client to itself, and, when the bridge could not listen
/// at start, the program that has the port (the learner's own server, as often as not).
fn dial_buttons(
    props: &ListenerFormProps,
    connect: &Callback<Dial, Result<(), String>>,
    report: &Callback<Result<(), String>>,
) -> Html {
    let button = |dial: Dial, label: String, title: &'static str| {
        let (connect, report) = (connect.clone(), report.clone());
        let onclick = Callback::from(move |_: MouseEvent| report.emit(connect.emit(dial.clone())));
        html! { <button type="button" {onclick} disabled={!props.enabled} {title}>{ label }</button> }
    };
    let both_ends = props
        .listen
        .as_deref()
        .filter(|_| props.transport == Transport::Tcp)
        .and_then(protocol::address::reachable)
        .map(|(host, port)| {
            button(
                Dial::tcp(host, port),
                "Open a client to it".into(),
                "Dial the bridge's own listener: the page then shows the server's side and the client's side of one conversation",
            )
        });
    let dial_taken = props.problem.as_ref().map(|problem| {
        let port = problem_port(problem);
        button(
            Dial::tcp("127.0.0.1", port),
            format!("Dial 127.0.0.1:{port}"),
            "Dial the program that has the port: your own server, as a client would",
        )
    });
    html! { <>{ for both_ends }{ for dial_taken }</> }
}

/// Where the listener is, or why it is not: a paragraph in the TCP listener's form; in a
/// folded panel's summary, a span.
fn listener_state(props: &ListenerFormProps) -> Html {
    let state = match (&props.listen, &props.problem) {
        (Some(addr), _) if props.transport == Transport::Udp => format!("Open on {addr}"),
        (Some(addr), _) => format!("Listening on {addr}"),
        (None, Some(problem)) => format!("Not listening: {}.", problem.message),
        (None, None) => "Stopped".to_string(),
    };
    let tag = if props.transport == Transport::Tcp {
        "p"
    } else {
        "span"
    };
    html! {
        <@{tag} class={classes!("listener-state", props.problem.is_some().then_some("problem"))}
           role="status" aria-live="polite">{ state }</@>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::ProblemKind;

    #[test]
    fn the_others_are_offered_where_they_are_or_were_else_beside_the_tcp_listener() {
        assert_eq!(
            offered(Some("[::]:7443"), Some("x:1"), None, 7443),
            "[::]:7443"
        );
        assert_eq!(
            offered(None, Some("127.0.0.1:9000"), None, 7777),
            "127.0.0.1:9000"
        );
        assert_eq!(
            offered(None, None, Some("127.0.0.1:35681"), 7443),
            "127.0.0.1:7443"
        );
        assert_eq!(offered(None, None, Some("[::1]:7777"), 7443), "[::1]:7443");
        assert_eq!(offered(None, None, None, 7777), "[::]:7777");
    }

    #[test]
    fn listen_and_stop_name_their_listener() {
        assert_eq!(
            command(Transport::Udp, Some("[::]:9".into())),
            Command::Listen {
                addr: "[::]:9".into(),
                transport: Transport::Udp,
                request: None,
            }
        );
        assert_eq!(
            command(Transport::Tls, None),
            Command::StopListening {
                transport: Transport::Tls,
                request: None,
            }
        );
    }

    #[test]
    fn the_form_offers_where_the_listener_is_or_was() {
        let cannot = Problem::new(ProblemKind::ListenFailed, "cannot listen");
        let problem = cannot.clone().at_listener(Transport::Tcp, Some(7777));
        assert_eq!(problem_port(&problem), 7777);
        assert_eq!(problem_port(&cannot), DEFAULT_PORT);
        assert_eq!(
            offered_address(Some("127.0.0.1:27777"), None, None),
            "127.0.0.1:27777"
        );
        assert_eq!(
            offered_address(None, Some("127.0.0.1:27777"), None),
            "127.0.0.1:27777",
            "stopped: where it last listened"
        );
        assert_eq!(offered_address(None, None, Some(&problem)), "0.0.0.0:7778");
        assert_eq!(offered_address(None, None, None), "0.0.0.0:7777");
    }
}
