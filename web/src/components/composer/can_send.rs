//! Whether and where the composer can send now, and what it says of it: why it cannot, what
//! the empty box is for, where sending to all went.

use protocol::{ConnState, Target};
use yew::prelude::*;

use super::file_send::FileTarget;
use super::{ComposerProps, SendTarget};
use crate::bytes_view::compose::{ComposeOptions, InputMode};
use crate::bytes_view::size::plural;

/// Why the composer cannot send now, if it cannot.
pub fn blocked(props: &ComposerProps) -> Option<String> {
    if !props.online {
        return Some("Not connected to the bridge.".into());
    }
    if props.to_all {
        return (props.open_count == 0).then(|| "No connection is open.".into());
    }
    match &props.target {
        None => Some("Select an open connection, or tick “Send to all”.".into()),
        Some(t) => match t.state {
            ConnState::Open => None,
            ConnState::Connecting => Some(format!(
                "Still connecting to {}: Enter sends once it is open.",
                t.peer
            )),
            ConnState::Closed => Some(format!("{} is not open.", t.peer)),
        },
    }
}

/// Whether the box takes typing: whenever a send could go, and while the conversation is still
/// connecting, so that a quick user may type ahead (Enter waits for it to open).
pub fn typing_allowed(props: &ComposerProps) -> bool {
    props.online
        && if props.to_all {
            props.open_count > 0
        } else {
            props
                .target
                .as_ref()
                .is_some_and(|t| t.state != ConnState::Closed)
        }
}

/// Whether a send would reach a peer now: for repeating, which stops when none would.
pub fn reachable(props: &ComposerProps) -> bool {
    props.online
        && if props.to_all {
            props.open_count > 0
        } else {
            props
                .target
                .as_ref()
                .is_some_and(|t| t.state == ConnState::Open)
        }
}

/// What the empty composer says it is for.
pub fn placeholder(options: ComposeOptions, to_all: bool, target: Option<&SendTarget>) -> String {
    match (options.mode, to_all, target) {
        (InputMode::Hex, _, _) => {
            "Bytes in hex, e.g. 48 65 6c 6c 6f 0d 0a — sent exactly as typed".into()
        }
        (InputMode::Text, true, _) => {
            "Message to every open connection — Enter sends, Shift+Enter for a new line".into()
        }
        (InputMode::Text, false, Some(t)) => format!(
            "Message to {} — Enter sends, Shift+Enter for a new line",
            t.peer
        ),
        (InputMode::Text, false, None) => String::new(),
    }
}

/// What sending to all says: where the next Enter goes, and where the last one went.
pub fn to_all_note(open: usize, sent: Option<(u64, u64)>) -> String {
    let next = format!(
        "Enter sends to all {} — untick “Send to all” to send to one.",
        plural(open as u64, "open connection")
    );
    match sent {
        None => next,
        Some((queued, 0)) => format!("Sent to {}. {next}", plural(queued, "connection")),
        Some((queued, refused)) => format!(
            "Sent to {}; {} refused it (see the notices). {next}",
            plural(queued, "connection"),
            plural(refused, "connection")
        ),
    }
}

/// Why the last send failed, else why the composer cannot send now.
pub fn hint(error: Option<&str>, blocked: Option<&str>) -> Html {
    match (error, blocked) {
        (Some(msg), _) => {
            html! { <p class="composer-hint error" id="composer-hint" role="alert">{ msg }</p> }
        }
        (None, Some(why)) => html! { <p class="composer-hint" id="composer-hint">{ why }</p> },
        (None, None) => html! {},
    }
}

/// A file sent to `to`, and what the composer calls where it goes.
pub fn file_target(props: &ComposerProps, to: Target) -> FileTarget {
    let label = match (to, props.target.as_ref()) {
        (Target::Conn(_), Some(t)) => t.peer.clone(),
        _ => format!("all {}", plural(props.open_count as u64, "open connection")),
    };
    FileTarget { to, label }
}

/// Where the composer sends: the selected connection or all, unless it cannot send now.
pub fn to_of(props: &ComposerProps) -> Option<Target> {
    match (props.to_all, props.target.as_ref()) {
        (true, _) => Some(Target::All),
        (false, Some(t)) => Some(Target::Conn(t.id)),
        (false, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sending_to_all_says_where_the_next_and_the_last_went() {
        assert_eq!(
            to_all_note(3, None),
            "Enter sends to all 3 open connections — untick “Send to all” to send to one."
        );
        assert!(to_all_note(50, Some((50, 0))).starts_with("Sent to 50 connections. Enter"));
        assert!(to_all_note(2, Some((1, 1)))
            .starts_with("Sent to 1 connection; 1 connection refused it"));
    }
}
