//! The encoding new connections start with, chosen in the page and kept in this browser: a
//! Chinese device engineer picks GBK once, not for every new peer. Until the user chooses, the
//! bridge's `--encoding` holds.

use yew::prelude::*;

use crate::components::select::Select;
use crate::encoding::Encoding;

/// Where the browser keeps the choice.
const KEY: &str = "tcp-bridge.new-connection-encoding";
/// The option that leaves the choice to the bridge.
const BRIDGES: &str = "bridge";

/// The choice this browser keeps, if any.
pub fn load() -> Option<Encoding> {
    let label = storage()?.get_item(KEY).ok()??;
    Encoding::from_label(&label)
}

/// Keeps `choice` in this browser (or forgets it, for the bridge's).
pub fn store(choice: Option<Encoding>) {
    if let Some(storage) = storage() {
        let _ = match choice {
            Some(e) => storage.set_item(KEY, e.label()),
            None => storage.remove_item(KEY),
        };
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

#[derive(Properties, PartialEq)]
pub struct PageEncodingProps {
    /// The page's choice, if the user made one.
    pub page: Option<Encoding>,
    /// The bridge's `--encoding`.
    pub bridge: Encoding,
    pub on_change: Callback<Option<Encoding>>,
}

#[component]
pub fn PageEncoding(props: &PageEncodingProps) -> Html {
    let bridge_label: &'static str = match props.bridge {
        Encoding::Utf8 => "UTF-8 (the bridge's)",
        Encoding::Gbk => "GBK (the bridge's)",
        Encoding::Gb18030 => "GB18030 (the bridge's)",
        Encoding::Latin1 => "Latin-1 (the bridge's)",
    };
    let mut options = vec![(BRIDGES, bridge_label)];
    options.extend(Encoding::ALL.iter().map(|e| (e.label(), e.label())));
    let value = props.page.map_or(BRIDGES, |e| e.label());
    let onchange = props
        .on_change
        .reform(|value: String| Encoding::from_label(&value));
    html! {
        <span class="control page-encoding"
              title="How connections that open from now on read and write text; kept in this browser">
            <label for="new-encoding">{ "New connections" }</label>
            <Select id="new-encoding" {value} {options} {onchange} />
        </span>
    }
}
