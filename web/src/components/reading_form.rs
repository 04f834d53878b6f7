//! How the bridge reads a connection, or every connection that opens from now on: where the
//! peer's messages end (the framing) and the checksum each must end with. A proxied
//! conversation is read per side: the form sets both ways, or the client's (client→server) or
//! the server's (server→client) alone. The form starts from the settings in force and follows
//! them when they change (here or in another page); what does not check is refused here, with
//! the reason, and what the bridge refuses is shown here.

use protocol::framing::Framing;
use protocol::{ConnId, ConnSettings, Way};
use yew::prelude::*;

use crate::components::fields::{check, menu, text, OnField};
use crate::hooks::device::DeviceCtx;
use crate::hooks::latest::use_live;
use crate::state::reading::{
    checksum_options, checksum_value, ReadingDraft, DELIMITERS, MODES, PRESETS,
};

const WIDTHS: [(&str, &str); 3] = [("1", "1 byte"), ("2", "2 bytes"), ("4", "4 bytes")];
const ORDERS: [(&str, &str); 2] = [("be", "big-endian"), ("le", "little-endian")];
/// Which messages of a proxied conversation the form reads: `(value, label)`.
const WAYS: [(&str, &str); 3] = [
    (way_value(None), "both ways"),
    (way_value(Some(Way::ClientToServer)), "client→server"),
    (way_value(Some(Way::ServerToClient)), "server→client"),
];

/// The *Messages* menu's value for a way (`None`: both).
const fn way_value(way: Option<Way>) -> &'static str {
    match way {
        None => "both",
        Some(Way::ClientToServer) => "c2s",
        Some(Way::ServerToClient) => "s2c",
    }
}

/// The way a *Messages* menu's value names (`None`: both).
fn way_of(value: &str) -> Option<Way> {
    [Way::ClientToServer, Way::ServerToClient]
        .into_iter()
        .find(|way| way_value(Some(*way)) == value)
}

#[derive(Properties, PartialEq)]
pub struct ReadingFormProps {
    /// The connection it reads; `None`: the connections that open from now on.
    pub conn: Option<ConnId>,
    /// The settings in force (a proxied conversation's client's, client→server).
    pub settings: ConnSettings,
    /// A proxied conversation's server's settings in force (server→client).
    #[prop_or_default]
    pub server: Option<ConnSettings>,
    pub online: bool,
    pub on_close: Callback<()>,
}

/// The settings in force, in words: `delimiter \r\n; checks CRC-16/MODBUS`.
pub fn in_force(settings: &ConnSettings) -> String {
    match settings.checksum {
        Some(checksum) => format!("{}; checks {}", settings.framing, checksum.label()),
        None => settings.framing.to_string(),
    }
}

/// A conversation's settings in force, in words: a proxied conversation's sides each, when
/// they are read differently.
pub fn in_force_of(settings: &ConnSettings, server: Option<&ConnSettings>) -> String {
    match server.filter(|s| *s != settings) {
        Some(server) => format!(
            "client→server {}; server→client {}",
            in_force(settings),
            in_force(server)
        ),
        None => in_force(settings),
    }
}

/// What the settings mean, for the control that shows them (its title, and so its accessible
/// description): what is in force (each side's, for a proxied conversation whose `server` side
/// is read otherwise), and for raw reading why a message may not be the peer's whole message.
/// `datagrams`: the connection is UDP's, whose datagrams keep their boundaries.
pub fn meaning(settings: &ConnSettings, server: Option<&ConnSettings>, datagrams: bool) -> String {
    let raw = std::iter::once(settings)
        .chain(server)
        .any(|side| side.framing == Framing::Raw);
    let why = match (raw, datagrams) {
        (_, true) => {
            " A UDP message is one datagram, whatever the framing: its boundaries are the peer's."
        }
        (true, false) => {
            " TCP keeps no message boundaries, so a peer's message may show in two, or two of \
             them as one: choose a framing to cut the stream where the peer's messages end."
        }
        (false, false) => "",
    };
    format!(
        "{}.{why} Click to change it.",
        in_force_of(settings, server)
    )
}

/// The draft's fields: a preset, the framing's own, and the checksum. Their ids begin with
/// `prefix`.
fn reading_fields(d: &ReadingDraft, prefix: &str, on: &OnField) -> Vec<Html> {
    let id = |name: &str| format!("{prefix}-{name}");
    let mut fields = vec![
        menu(&id("preset"), "preset", "Preset", d.preset(), &PRESETS, on),
        menu(&id("mode"), "mode", "Framing", d.mode, &MODES, on),
    ];
    match d.mode {
        "delimiter" => {
            fields.push(menu(
                &id("delimiter"),
                "delimiter",
                "Delimiter",
                d.delimiter,
                &DELIMITERS,
                on,
            ));
            if d.delimiter == "hex" {
                fields.push(text(&id("hex"), "hex", "Bytes (hex)", &d.hex, on));
            }
        }
        "fixed" => fields.push(text(&id("len"), "len", "Length (bytes)", &d.len, on)),
        "length" => {
            let width = d.width.to_string();
            let order = if d.big_endian { "be" } else { "le" };
            fields.push(menu(
                &id("width"),
                "width",
                "Length field",
                &width,
                &WIDTHS,
                on,
            ));
            fields.push(menu(
                &id("order"),
                "order",
                "Byte order",
                order,
                &ORDERS,
                on,
            ));
            fields.push(text(
                &id("offset"),
                "offset",
                "After (bytes)",
                &d.offset,
                on,
            ));
            fields.push(check(
                &id("header"),
                "header",
                "Length counts the header",
                d.includes_header,
                on,
            ));
            fields.push(text(
                &id("trailer"),
                "trailer",
                "Trailer (bytes)",
                &d.trailer,
                on,
            ));
        }
        "idle" => fields.push(text(&id("gap"), "gap", "Silence (ms)", &d.gap_ms, on)),
        _ => {}
    }
    let checksum = checksum_value(d.checksum);
    fields.push(menu(
        &id("checksum"),
        "checksum",
        "Checksum to check",
        checksum,
        &checksum_options(),
        on,
    ));
    fields
}

#[component]
pub fn ReadingForm(props: &ReadingFormProps) -> Html {
    let ctx = use_context::<DeviceCtx>().expect("the device context");
    // The way read (a proxied conversation's; `None`: both). The draft starts from that side's
    // settings, and follows the menu until it is edited: edits are kept when the way changes,
    // so that what was typed can be applied to another side. Settings applied (here or by
    // another page) start it over.
    let way = use_state(|| None::<Way>);
    let side = {
        let (settings, server) = (props.settings.clone(), props.server.clone());
        move |way: Option<Way>| match (way, &server) {
            (Some(Way::ServerToClient), Some(server)) => server.clone(),
            _ => settings.clone(),
        }
    };
    let draft = use_live(|| ReadingDraft::of(&side(*way)));
    let edited = use_live(|| false);
    let error = use_state(|| None::<String>);
    {
        let (draft, edited, error) = (draft.clone(), edited.clone(), error.clone());
        let start = side(*way);
        use_effect_with((props.settings.clone(), props.server.clone()), move |_| {
            draft.set(ReadingDraft::of(&start));
            edited.set(false);
            error.set(None);
        });
    }
    let conn = props.conn;
    let chosen = (*way).filter(|_| props.server.is_some());
    let on: OnField = {
        let (draft, edited, error, way) =
            (draft.clone(), edited.clone(), error.clone(), way.clone());
        Callback::from(move |(field, value): (&str, String)| {
            // What was said of the draft before is not said of the next one.
            error.set(None);
            if field == "way" {
                let next = way_of(&value);
                if !edited.get() {
                    draft.set(ReadingDraft::of(&side(next)));
                }
                way.set(next);
                return;
            }
            let mut next = draft.get();
            next.set(field, value);
            draft.set(next);
            edited.set(true);
        })
    };
    let onsubmit = {
        let (draft, edited, error) = (draft.clone(), edited.clone(), error.clone());
        let configure = ctx.configure.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match draft.get().settings() {
                Ok(settings) => {
                    let refused = configure.emit((conn, chosen, settings)).err();
                    // Applied, the draft is what is in force (even if nothing changed).
                    edited.set(refused.is_some());
                    error.set(refused);
                }
                Err(why) => error.set(Some(why)),
            }
        })
    };
    let prefix = conn.map_or_else(|| "reading-new".to_owned(), |c| format!("reading-{c}"));
    let way_menu = props.server.is_some().then(|| {
        menu(
            &format!("{prefix}-way"),
            "way",
            "Messages",
            way_value(chosen),
            &WAYS,
            &on,
        )
    });
    let fields = way_menu
        .into_iter()
        .chain(reading_fields(&draft.get(), &prefix, &on));
    let problem = ctx
        .settings_problem
        .as_ref()
        .filter(|(c, _)| *c == conn)
        .map(|(_, why)| why.to_string());
    let shown_error = (*error).clone().or(problem);
    let label = if conn.is_some() {
        "Reading"
    } else {
        "Reading of new connections"
    };
    html! {
        <form class="reading-form" aria-label={label} {onsubmit} novalidate=true>
            <div class="reading-fields">{ for fields }</div>
            <div class="reading-actions">
                <button type="submit" class="primary" disabled={!props.online}>{ "Apply" }</button>
                <button type="button" onclick={props.on_close.reform(|_: MouseEvent| ())}>{ "Close" }</button>
                <span class="reading-in-force" role="status">
                    { "In force: " }{ in_force_of(&props.settings, props.server.as_ref()) }
                </span>
            </div>
            if let Some(why) = shown_error {
                <p class="field-error" role="alert">{ why }</p>
            }
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::checksum::Checksum;
    use protocol::framing::Delimiter;

    #[test]
    fn each_way_reads_back_from_its_menu_value() {
        for way in [None, Some(Way::ClientToServer), Some(Way::ServerToClient)] {
            assert_eq!(way_of(way_value(way)), way);
        }
        assert_eq!(WAYS.map(|(value, _)| value), ["both", "c2s", "s2c"]);
    }

    #[test]
    fn the_reading_says_what_it_means() {
        let raw = ConnSettings::default();
        let said = meaning(&raw, None, false);
        assert!(
            said.starts_with("raw (one message per read). TCP keeps no message boundaries")
                && said.ends_with("Click to change it."),
            "{said}"
        );
        assert!(meaning(&raw, None, true).contains("A UDP message is one datagram"));
        let lines = ConnSettings {
            framing: Framing::Delimiter {
                delimiter: Delimiter::crlf(),
            },
            checksum: Some(Checksum::Lrc),
        };
        assert_eq!(
            meaning(&lines, None, false),
            "delimiter \\r\\n; checks LRC. Click to change it."
        );
        // A proxied conversation read otherwise on each side: both, and why a raw one may cut a
        // message anywhere.
        assert_eq!(
            meaning(&lines, Some(&raw), false),
            "client→server delimiter \\r\\n; checks LRC; server→client raw (one message per \
             read). TCP keeps no message boundaries, so a peer's message may show in two, or two \
             of them as one: choose a framing to cut the stream where the peer's messages end. \
             Click to change it."
        );
        assert_eq!(
            meaning(&lines, Some(&lines), false),
            "delimiter \\r\\n; checks LRC. Click to change it."
        );
    }
}
