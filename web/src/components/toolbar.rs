//! The page's tools, out of the connection list's way: a button each at the top (*Dial*,
//! *Listen*, *Device*), and its panel, which opens over the conversation and leaves the list in
//! sight. One panel is open at a time; Escape or *Close* closes it.
//!
//! Every panel stays mounted while closed (only hidden), so that what the user typed in its
//! forms is still there when it opens again, whatever opened or closed in between.
//!
//! A new tool (the proxy's, when it is built) is one more [`Tool`], its label and its panel's
//! content in [`App`](crate::components::app): nothing else here changes.

use wasm_bindgen::JsCast;
use web_sys::HtmlElement;
use yew::prelude::*;

/// A tool of the page, each with its panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// Dial a server (TCP, TLS, UDP).
    Dial,
    /// The bridge's listeners: TCP, TLS and the UDP socket.
    Listen,
    /// Standing in for a device: how new connections are read, the auto-reply rules.
    Device,
}

impl Tool {
    /// In the order of the toolbar.
    pub const ALL: [Tool; 3] = [Tool::Dial, Tool::Listen, Tool::Device];

    /// The button's label.
    pub fn label(self) -> &'static str {
        match self {
            Tool::Dial => "Dial",
            Tool::Listen => "Listen",
            Tool::Device => "Device",
        }
    }

    /// The panel's heading.
    fn heading(self) -> &'static str {
        match self {
            Tool::Dial => "Dial a server",
            Tool::Listen => "Listeners",
            Tool::Device => "Standing in for a device",
        }
    }

    /// What the button's title says the panel holds.
    fn title(self) -> &'static str {
        match self {
            Tool::Dial => "Dial a server over TCP, TLS or UDP",
            Tool::Listen => "The bridge's TCP and TLS listeners and its UDP socket",
            Tool::Device => "Stand in for a device: how new connections are read, auto-reply rules",
        }
    }

    fn panel_id(self) -> &'static str {
        match self {
            Tool::Dial => "tool-dial",
            Tool::Listen => "tool-listen",
            Tool::Device => "tool-device",
        }
    }

    fn button_id(self) -> &'static str {
        match self {
            Tool::Dial => "tool-dial-button",
            Tool::Listen => "tool-listen-button",
            Tool::Device => "tool-device-button",
        }
    }
}

/// The first element matching `selector`, to focus.
fn focusable(selector: &str) -> Option<HtmlElement> {
    let document = web_sys::window()?.document()?;
    document.query_selector(selector).ok()??.dyn_into().ok()
}

/// The keyboard follows the panels: an opened panel's first field takes the focus, and when a
/// panel closes with the focus in it (Escape, *Close*), its button takes it back.
#[hook]
pub fn use_panel_focus(open: Option<Tool>) {
    let was = use_mut_ref(|| None::<Tool>);
    use_effect_with(open, move |open| {
        let before = was.replace(*open);
        if let Some(tool) = open {
            let first = format!(
                "#{} :is(input, select, textarea, button):not(.dismiss)",
                tool.panel_id()
            );
            if let Some(field) = focusable(&first) {
                let _ = field.focus();
            }
        } else if let Some(tool) = before {
            let lost = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.active_element())
                .is_none_or(|el| {
                    el.closest(&format!("#{}", tool.panel_id()))
                        .ok()
                        .flatten()
                        .is_some()
                        || el.tag_name() == "BODY"
                });
            if let Some(button) = focusable(&format!("#{}", tool.button_id())).filter(|_| lost) {
                let _ = button.focus();
            }
        }
    });
}

/// The toolbar's buttons: each opens its panel, or closes it when it is open.
pub fn toolbar(open: Option<Tool>, on_tool: &Callback<Option<Tool>>) -> Html {
    html! {
        <nav class="toolbar" aria-label="Tools">
            { for Tool::ALL.into_iter().map(|tool| {
                let is_open = open == Some(tool);
                let onclick = on_tool.reform(move |_: MouseEvent| (!is_open).then_some(tool));
                html! {
                    <button type="button" id={tool.button_id()} aria-expanded={is_open.to_string()}
                            aria-controls={tool.panel_id()} title={tool.title()} {onclick}>
                        { tool.label() }
                    </button>
                }
            }) }
        </nav>
    }
}

/// The panels, each given its content: all mounted, the open one shown.
pub fn tool_panels(
    open: Option<Tool>,
    on_tool: &Callback<Option<Tool>>,
    content: impl Fn(Tool) -> Html,
) -> Html {
    html! {
        <div class="tool-panels">
            { for Tool::ALL.into_iter().map(|tool| {
                let onclick = on_tool.reform(|_: MouseEvent| None);
                let on_close = on_tool.clone();
                let onkeydown = Callback::from(move |e: KeyboardEvent| {
                    if e.key() == "Escape" {
                        on_close.emit(None);
                    }
                });
                html! {
                    <section id={tool.panel_id()} class="tool-panel" role="dialog"
                             aria-label={tool.heading()} hidden={open != Some(tool)} {onkeydown}>
                        <header class="tool-head">
                            <h2 class="tool-title">{ tool.heading() }</h2>
                            <button type="button" class="dismiss" {onclick}
                                    aria-label={format!("Close {}", tool.label())} title="Close (Esc)">{ "×" }</button>
                        </header>
                        { content(tool) }
                    </section>
                }
            }) }
        </div>
    }
}
