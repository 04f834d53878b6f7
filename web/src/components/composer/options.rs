//! The composer's controls for how what is typed becomes bytes (text or hex, the line ending,
//! escapes, a checksum appended) and where it goes (one connection or all). They show the
//! selected conversation's options, which the state keeps per conversation.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::bytes_view::compose::{ComposeOptions, InputMode, LineEnding};
use crate::components::select::Select;
use crate::state::reading::{checksum_of, checksum_options, checksum_value};

#[derive(Properties, PartialEq)]
pub struct OptionsBarProps {
    pub options: ComposeOptions,
    pub on_change: Callback<ComposeOptions>,
    pub to_all: bool,
    pub on_to_all: Callback<bool>,
}

#[component]
pub fn OptionsBar(props: &OptionsBarProps) -> Html {
    let options = props.options;
    let on_mode = props.on_change.reform(move |value: String| ComposeOptions {
        mode: if value == "hex" {
            InputMode::Hex
        } else {
            InputMode::Text
        },
        ..options
    });
    let on_ending = props.on_change.reform(move |label: String| ComposeOptions {
        ending: LineEnding::from_label(&label).unwrap_or_default(),
        ..options
    });
    let on_escapes = props.on_change.reform(move |e: Event| ComposeOptions {
        escapes: checked(&e),
        ..options
    });
    let on_all = props.on_to_all.reform(|e: Event| checked(&e));
    let hex = options.mode == InputMode::Hex;
    let modes = vec![("text", "Text"), ("hex", "Hex")];
    let endings: Vec<_> = LineEnding::ALL
        .iter()
        .map(|e| (e.label(), e.label()))
        .collect();
    html! {
        <>
            <span class="control">
                <label for="input-mode">{ "Input" }</label>
                <Select id="input-mode" value={if hex { "hex" } else { "text" }} options={modes}
                        onchange={on_mode} />
            </span>
            <span class="control">
                <label for="line-ending">{ "Line ending" }</label>
                // What it shows is what goes out: hex has none.
                <Select id="line-ending" value={options.ending_in_force().label()} options={endings}
                        onchange={on_ending} disabled={hex}
                        title={hex.then_some("Hex input is sent exactly as typed: no line ending")} />
            </span>
            <span class="control" title={r"\r \n \t \0 \\ and \xHH in the text stand for their bytes"}>
                <input id="escapes" type="checkbox" checked={options.escapes && !hex}
                       onchange={on_escapes} disabled={hex} />
                <label for="escapes">{ "Escapes (\\r \\n \\xHH)" }</label>
            </span>
            <span class={classes!("control", props.to_all.then_some("on"))}>
                <input id="send-all" type="checkbox" checked={props.to_all} onchange={on_all} />
                <label for="send-all">{ "Send to all" }</label>
            </span>
        </>
    }
}

fn checked(e: &Event) -> bool {
    e.target_unchecked_into::<HtmlInputElement>().checked()
}

#[derive(Properties, PartialEq)]
pub struct ChecksumChoiceProps {
    pub options: ComposeOptions,
    pub on_change: Callback<ComposeOptions>,
}

/// The checksum appended to what is sent: beside the composer's other extras, so that the row
/// of options above keeps to one line.
#[component]
pub fn ChecksumChoice(props: &ChecksumChoiceProps) -> Html {
    let options = props.options;
    let on_checksum = props.on_change.reform(move |value: String| ComposeOptions {
        checksum: checksum_of(&value),
        ..options
    });
    html! {
        <span class="control" title="A checksum of the message, appended after it">
            <label for="send-checksum">{ "Checksum" }</label>
            <Select id="send-checksum" value={checksum_value(options.checksum)}
                    options={checksum_options()} onchange={on_checksum} />
        </span>
    }
}
