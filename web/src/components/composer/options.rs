//! How the composer turns what was typed into bytes, and where it sends them: text or hex, the
//! line ending, escapes, one connection or all of them.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::bytes_view::compose::{compose_escaped, compose_text_in, LineEnding};
use crate::bytes_view::hex::parse_hex;
use crate::encoding::Encoding;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InputMode {
    #[default]
    Text,
    Hex,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub mode: InputMode,
    pub ending: LineEnding,
    /// `\r`, `\xHH`, ... in text stand for their bytes.
    pub escapes: bool,
    pub to_all: bool,
}

impl Options {
    /// The bytes `text` stands for, written in `encoding`; or why it stands for none.
    pub fn compose(&self, text: &str, encoding: Encoding) -> Result<Vec<u8>, String> {
        match self.mode {
            InputMode::Hex => parse_hex(text),
            InputMode::Text if self.escapes => compose_escaped(text, self.ending, encoding),
            InputMode::Text => compose_text_in(text, self.ending, encoding),
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct OptionsBarProps {
    pub options: Options,
    pub on_change: Callback<Options>,
}

/// The composer's controls for [`Options`].
#[component]
pub fn OptionsBar(props: &OptionsBarProps) -> Html {
    let options = props.options;
    let change = |f: fn(&mut Options, &Event)| {
        let on_change = props.on_change.clone();
        Callback::from(move |e: Event| {
            let mut next = options;
            f(&mut next, &e);
            on_change.emit(next);
        })
    };
    let on_mode = change(|o, e| {
        o.mode = match value(e).as_str() {
            "hex" => InputMode::Hex,
            _ => InputMode::Text,
        }
    });
    let on_ending = change(|o, e| o.ending = LineEnding::from_label(&value(e)).unwrap_or_default());
    let on_escapes = change(|o, e| o.escapes = checked(e));
    let on_all = change(|o, e| o.to_all = checked(e));
    let hex = options.mode == InputMode::Hex;
    html! {
        <>
            <span class="control">
                <label for="input-mode">{ "Input" }</label>
                <select id="input-mode" onchange={on_mode}>
                    <option value="text" selected={!hex}>{ "Text" }</option>
                    <option value="hex" selected={hex}>{ "Hex" }</option>
                </select>
            </span>
            <span class="control">
                <label for="line-ending">{ "Line ending" }</label>
                <select id="line-ending" onchange={on_ending} disabled={hex}
                        title={hex.then_some("Hex input is sent exactly as typed")}>
                    { for LineEnding::ALL.iter().map(|e| html! {
                        <option value={e.label()} selected={*e == options.ending}>{ e.label() }</option>
                    }) }
                </select>
            </span>
            <span class="control" title={r"\r \n \t \0 \\ and \xHH in the text stand for their bytes"}>
                <input id="escapes" type="checkbox" checked={options.escapes} onchange={on_escapes}
                       disabled={hex} />
                <label for="escapes">{ "Escapes (\\r \\n \\xHH)" }</label>
            </span>
            <span class="control">
                <input id="send-all" type="checkbox" checked={options.to_all} onchange={on_all} />
                <label for="send-all">{ "Send to all" }</label>
            </span>
        </>
    }
}

fn value(e: &Event) -> String {
    e.target_unchecked_into::<HtmlSelectElement>().value()
}

fn checked(e: &Event) -> bool {
    e.target_unchecked_into::<HtmlInputElement>().checked()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_choose_how_text_becomes_bytes() {
        let text = Options::default();
        assert_eq!(text.compose("hi", Encoding::Utf8), Ok(b"hi\n".to_vec()));
        let crlf = Options {
            ending: LineEnding::CrLf,
            ..text
        };
        assert_eq!(
            crlf.compose(r"a\x01", Encoding::Utf8),
            Ok(b"a\\x01\r\n".to_vec())
        );
        let escapes = Options {
            escapes: true,
            ..crlf
        };
        assert_eq!(
            escapes.compose(r"a\x01", Encoding::Utf8),
            Ok(b"a\x01\r\n".to_vec())
        );
        let hex = Options {
            mode: InputMode::Hex,
            ..escapes
        };
        assert_eq!(hex.compose("41 0d", Encoding::Utf8), Ok(b"A\r".to_vec()));
        assert!(hex
            .compose("4", Encoding::Utf8)
            .unwrap_err()
            .contains("odd number"));
        assert!(text.compose("😀", Encoding::Gbk).is_err());
    }
}
