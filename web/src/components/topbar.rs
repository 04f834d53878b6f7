//! The top of the page: the product, the tools, where the bridge listens and its exit word,
//! the encoding of new connections, and whether the page is connected to the bridge. And the
//! tab's title, which counts unread messages.

use protocol::{Problem, ServerInfo};
use yew::prelude::*;

use crate::components::page_encoding::PageEncoding;
use crate::components::status::BridgeStatus;
use crate::components::toolbar::{toolbar, Tool};
use crate::encoding::Encoding;
use crate::hooks::commands::use_commands;
use crate::state::SocketStatus;

const PRODUCT: &str = "TCP Bridge";

#[derive(Properties, PartialEq)]
pub struct TopBarProps {
    /// What the bridge said about itself; `None` until it has.
    pub server: Option<ServerInfo>,
    pub socket: SocketStatus,
    /// Whether what the page holds may be out of date (the bridge not reached, or its snapshot
    /// not yet in): the listener is then said as last heard of, not as now.
    pub stale: bool,
    /// The page's own encoding for new connections, if chosen.
    pub page_encoding: Option<Encoding>,
    /// The tool whose panel is open.
    pub tool: Option<Tool>,
    pub on_tool: Callback<Option<Tool>>,
}

#[component]
pub fn TopBar(props: &TopBarProps) -> Html {
    let on_page_encoding = use_commands().page_encoding;
    html! {
        <header class="topbar">
            <h1 class="brand">{ PRODUCT }</h1>
            { toolbar(props.tool, &props.on_tool) }
            <div class="server-facts">
                if let Some(server) = &props.server {
                    <span class={classes!("listen", props.stale.then_some("unreached"))}
                          title={listen_title(server, props.stale)}>{ listen_words(server, props.stale) }</span>
                    if let Some(word) = &server.exit_word {
                        <span class="exit-word" title="Sending or receiving this line closes the connection, as the seed's client and server do">
                            <code>{ word }</code>{ " ends a conversation" }
                        </span>
                    }
                    <PageEncoding page={props.page_encoding} bridge={server.encoding}
                                  on_change={on_page_encoding} />
                }
            </div>
            <BridgeStatus socket={props.socket} />
        </header>
    }
}

/// Where the bridge listens, or, while it is not reached (`stale`), that it is not and where
/// it listened when last heard of: the page must not say "Listening on" of a bridge that may be
/// gone.
pub fn listen_words(server: &ServerInfo, stale: bool) -> String {
    match (&server.listen, &server.listen_problem) {
        (Some(addr), _) if stale => format!("Bridge not reached (it was listening on {addr})"),
        _ if stale => "Bridge not reached".to_string(),
        (Some(addr), _) => format!("Listening on {addr}"),
        // The port, less the reason and the advice the listener panel gives.
        (
            None,
            Some(Problem {
                port: Some(port), ..
            }),
        ) => {
            format!("Not listening for TCP on port {port}")
        }
        (None, _) => "Not listening for TCP".to_string(),
    }
}

fn listen_title(server: &ServerInfo, stale: bool) -> Option<String> {
    if stale {
        return Some(
            "The page is not connected to the bridge, or not yet caught up with it: what the \
             bridge last said may no longer hold. The page reconnects by itself."
                .into(),
        );
    }
    server.listen_problem.as_ref().map(|p| p.message.clone())
}

/// Unread messages show in the tab's title, for when the page is in the background.
#[hook]
pub fn use_unread_title(unread: u64) {
    use_effect_with(unread, |unread| {
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            doc.set_title(&match unread {
                0 => PRODUCT.to_string(),
                n => format!("({n}) {PRODUCT}"),
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bridge_not_reached_is_not_said_to_listen() {
        let server = ServerInfo {
            listen: Some("127.0.0.1:7777".into()),
            ..ServerInfo::default()
        };
        assert_eq!(listen_words(&server, false), "Listening on 127.0.0.1:7777");
        assert_eq!(
            listen_words(&server, true),
            "Bridge not reached (it was listening on 127.0.0.1:7777)"
        );
        assert_eq!(
            listen_words(&ServerInfo::default(), true),
            "Bridge not reached"
        );
    }
}
