//! The bridge's TCP listener, from the page: where it listens, and the controls to stop it,
//! start it again, move it to another address, or open a client to it from the bridge itself
//! (so that one page shows both ends of one conversation, as the seed's "one computer works the
//! same as two"). When the bridge could not listen at start (the tutorial's port was taken, by
//! the learner's own server as often as not), it says why and offers both ways on.

use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The bridge's default listener port, the tutorial's.
const DEFAULT_PORT: u16 = 7777;

/// The port a listener problem names (`port 7777 is in use ...`), else the default.
pub fn problem_port(problem: &str) -> u16 {
    problem
        .split_once("port ")
        .and_then(|(_, rest)| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .unwrap_or(DEFAULT_PORT)
}

/// The address the form offers before the user types one: where the listener is or last was;
/// failing that, the default's next port when the default was taken, else the default.
pub fn offered_address(listen: Option<&str>, last: Option<&str>, problem: Option<&str>) -> String {
    match (listen.or(last), problem) {
        (Some(addr), _) => addr.to_string(),
        (None, Some(problem)) => format!("0.0.0.0:{}", problem_port(problem).saturating_add(1)),
        (None, None) => format!("0.0.0.0:{DEFAULT_PORT}"),
    }
}

#[derive(Properties, PartialEq)]
pub struct ListenerFormProps {
    /// Where the listener is bound, or `None` when it is stopped.
    pub listen: Option<String>,
    /// Where it last listened, to start it there again.
    pub last_listen: Option<String>,
    /// Why it is not listening although it was meant to (its port was taken at start).
    pub problem: Option<String>,
    /// Whether the bridge can be asked (the page's socket is open).
    pub enabled: bool,
    /// Asks the bridge to listen at an address (start or move), or to stop (`None`).
    pub on_listen: Callback<Option<String>, Result<(), String>>,
    /// Asks the bridge to dial an address: here, its own listener.
    pub on_connect: Callback<(String, u16), Result<(), String>>,
}

#[component]
pub fn ListenerForm(props: &ListenerFormProps) -> Html {
    // `None` until the user edits it, so that the field follows the listener's address.
    let typed = use_state(|| None::<String>);
    let error = use_state(|| None::<String>);
    let addr = (*typed).clone().unwrap_or_else(|| {
        offered_address(
            props.listen.as_deref(),
            props.last_listen.as_deref(),
            props.problem.as_deref(),
        )
    });

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
        move |result: Result<(), String>| match result {
            Ok(()) => {
                typed.set(None);
                error.set(None);
            }
            Err(msg) => error.set(Some(msg)),
        }
    };
    let onsubmit = {
        let on_listen = props.on_listen.clone();
        let addr = addr.clone();
        let report = report.clone();
        let error = error.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let addr = addr.trim().to_string();
            if addr.parse::<std::net::SocketAddr>().is_err() {
                error.set(Some(
                    "Write the address as IP:PORT, e.g. 0.0.0.0:7777 or [::]:7777.".into(),
                ));
                return;
            }
            report(on_listen.emit(Some(addr)));
        })
    };
    let on_stop = {
        let on_listen = props.on_listen.clone();
        let report = report.clone();
        Callback::from(move |_: MouseEvent| report(on_listen.emit(None)))
    };
    let both_ends = props
        .listen
        .as_deref()
        .and_then(protocol::address::reachable)
        .map(|(host, port)| {
            let on_connect = props.on_connect.clone();
            let report = report.clone();
            let onclick = Callback::from(move |_: MouseEvent| {
                report(on_connect.emit((host.clone(), port)));
            });
            html! {
                <button type="button" {onclick} disabled={!props.enabled}
                        title="Dial the bridge's own listener: the page then shows the server's side and the client's side of one conversation">
                    { "Open a client to it" }
                </button>
            }
        });
    // The learner's own server has the port: dial it from here.
    let dial_taken = props.problem.as_deref().map(|problem| {
        let port = problem_port(problem);
        let on_connect = props.on_connect.clone();
        let report = report.clone();
        let onclick = Callback::from(move |_: MouseEvent| {
            report(on_connect.emit(("127.0.0.1".to_string(), port)));
        });
        html! {
            <button type="button" {onclick} disabled={!props.enabled}
                    title="Dial the program that has the port: your own server, as a client would">
                { format!("Dial 127.0.0.1:{port}") }
            </button>
        }
    });
    let listening = props.listen.is_some();
    let moved = props.listen.as_deref() != Some(addr.trim());
    let state = match (&props.listen, &props.problem) {
        (Some(addr), _) => format!("Listening on {addr}"),
        (None, Some(problem)) => format!("Not listening: {problem}."),
        (None, None) => "Stopped".to_string(),
    };
    html! {
        <form class="listener-form" aria-label="Listener" {onsubmit} novalidate=true>
            <h2 class="pane-title">{ "TCP listener" }</h2>
            <p class={classes!("listener-state", props.problem.is_some().then_some("problem"))}
               role="status" aria-live="polite">{ state }</p>
            <div class="listener-fields">
                <div class="field">
                    <label for="listen-addr">{ "Listen address" }</label>
                    <input id="listen-addr" type="text" value={addr} oninput={on_input}
                           autocomplete="off" spellcheck="false"
                           aria-invalid={error.is_some().then_some("true")}
                           aria-describedby={error.is_some().then_some("listener-error")} />
                </div>
                <button type="submit" disabled={!props.enabled || (listening && !moved)}>
                    { if listening { "Move" } else { "Listen" } }
                </button>
            </div>
            <div class="listener-actions">
                if listening {
                    <button type="button" onclick={on_stop} disabled={!props.enabled}>{ "Stop" }</button>
                }
                { for both_ends }
                { for dial_taken }
            </div>
            if let Some(msg) = &*error {
                <p id="listener-error" class="field-error" role="alert">{ msg }</p>
            }
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_offers_where_the_listener_is_or_was() {
        let problem = "port 7777 is in use (is your own server running?): dial it from the page";
        assert_eq!(problem_port(problem), 7777);
        assert_eq!(problem_port("cannot listen"), DEFAULT_PORT);
        assert_eq!(
            offered_address(Some("127.0.0.1:27777"), None, None),
            "127.0.0.1:27777"
        );
        assert_eq!(
            offered_address(None, Some("127.0.0.1:27777"), None),
            "127.0.0.1:27777",
            "stopped: where it last listened"
        );
        assert_eq!(offered_address(None, None, Some(problem)), "0.0.0.0:7778");
        assert_eq!(offered_address(None, None, None), "0.0.0.0:7777");
    }
}
