//! The bridge connection status, and notices (errors) until dismissed.

use yew::prelude::*;

use crate::hooks::commands::use_commands;
use crate::state::SocketStatus;
use crate::state::{Action, Notice};

/// The words for the page's connection to the bridge. Tests rely on them: exactly "Connected"
/// when open, "Connecting…" while connecting, and starting with "Disconnected" when dropped.
pub fn status_text(status: SocketStatus) -> String {
    match status {
        SocketStatus::Connecting => "Connecting…".into(),
        SocketStatus::Open => "Connected".into(),
        SocketStatus::Closed { retry_in_ms } if retry_in_ms < 1000 => {
            format!("Disconnected — retrying in {retry_in_ms} ms")
        }
        SocketStatus::Closed { retry_in_ms } => format!(
            "Disconnected — retrying in {} s",
            (retry_in_ms + 500) / 1000
        ),
    }
}

#[derive(Properties, PartialEq)]
pub struct StatusProps {
    pub socket: SocketStatus,
}

#[component]
pub fn BridgeStatus(props: &StatusProps) -> Html {
    let class = match props.socket {
        SocketStatus::Connecting => "connecting",
        SocketStatus::Open => "open",
        SocketStatus::Closed { .. } => "closed",
    };
    html! {
        <p class={classes!("bridge-status", class)} role="status"
           title="The page's connection to the bridge">
            { status_text(props.socket) }
        </p>
    }
}

#[derive(Properties, PartialEq)]
pub struct NoticesProps {
    pub notices: Vec<Notice>,
}

#[component]
pub fn Notices(props: &NoticesProps) -> Html {
    let dispatch = use_commands().dispatch;
    if props.notices.is_empty() {
        return html! {};
    }
    html! {
        <div class="notices">
            { for props.notices.iter().map(|n| {
                let id = n.id;
                let on_dismiss = dispatch.reform(move |_: MouseEvent| Action::Dismiss(id));
                html! {
                    <div class="notice" role="alert" key={id}>
                        <span class="notice-text">{ &*n.text }</span>
                        <button type="button" class="dismiss" aria-label="Dismiss" title="Dismiss"
                                onclick={on_dismiss}>{ "×" }</button>
                    </div>
                }
            }) }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_are_a_contract() {
        assert_eq!(status_text(SocketStatus::Open), "Connected");
        assert_eq!(status_text(SocketStatus::Connecting), "Connecting…");
        assert_eq!(
            status_text(SocketStatus::Closed { retry_in_ms: 250 }),
            "Disconnected — retrying in 250 ms"
        );
        assert_eq!(
            status_text(SocketStatus::Closed { retry_in_ms: 2000 }),
            "Disconnected — retrying in 2 s"
        );
    }
}
