//! The text view of a payload. Bytes are the truth; text is a view of them. The text view never
//! drops or alters a byte silently: what is not valid in the encoding, and what a terminal would
//! not print (`\r`, `\t`, NUL, ESC, ...), is shown as a visible escape. The one exception is the
//! line ending that merely ends a line, which the page leaves quiet unless asked to show it.

use crate::encoding::{Encoding, Segment};

/// A piece of the text view of a payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Printable text, possibly with line breaks.
    Text(String),
    /// A visible stand-in for a byte or character that would otherwise be invisible or lost,
    /// such as `\r`, `\0`, `\x1B`, or `\xFF` for a byte that is not valid UTF-8.
    Escape(String),
}

/// The text view of a payload: UTF-8 decoded, everything else escaped visibly. A single trailing
/// `\n` is the end of the line and is not shown; other line breaks are kept.
#[cfg(test)]
pub fn render_text(bytes: &[u8]) -> Vec<Piece> {
    render_text_in(bytes, Encoding::Utf8)
}

/// [`render_text`], decoding `bytes` in `encoding`; what is not valid in it shows as `\xFF`.
/// What Find searches and the text download writes.
pub fn render_text_in(bytes: &[u8], encoding: Encoding) -> Vec<Piece> {
    render(bytes, encoding, Ends::LastLf)
}

/// The text view of a message as the page shows it. Line endings that merely end a line are
/// quiet: a trailing `\n` or `\r\n` is not shown, and a `\r\n` inside is a line break like a
/// `\n`. With `show_ends`, every `\r` and `\n` shows as an escape (a `\n` still breaks the
/// line). Everything else is as [`render_text_in`] shows it.
pub fn render_lines_in(bytes: &[u8], encoding: Encoding, show_ends: bool) -> Vec<Piece> {
    render(
        bytes,
        encoding,
        if show_ends { Ends::Shown } else { Ends::Quiet },
    )
}

/// Which line endings a text view leaves out or shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ends {
    /// One trailing `\n` is left out; every `\r` shows.
    LastLf,
    /// A trailing `\n` or `\r\n` is left out, and a `\r` before a `\n` too.
    Quiet,
    /// Every `\r` and `\n` shows.
    Shown,
}

fn render(bytes: &[u8], encoding: Encoding, ends: Ends) -> Vec<Piece> {
    let mut pieces = Vec::new();
    if bytes.is_empty() {
        pieces.push(Piece::Escape("(empty)".into()));
        return pieces;
    }
    let body = match ends {
        Ends::LastLf => bytes.strip_suffix(b"\n").unwrap_or(bytes),
        Ends::Quiet => bytes
            .strip_suffix(b"\r\n")
            .or_else(|| bytes.strip_suffix(b"\n"))
            .unwrap_or(bytes),
        Ends::Shown => bytes,
    };
    let mut text = String::new();
    let escape = |pieces: &mut Vec<Piece>, text: &mut String, esc: String| {
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(text)));
        }
        match pieces.last_mut() {
            Some(Piece::Escape(prev)) => prev.push_str(&esc),
            _ => pieces.push(Piece::Escape(esc)),
        }
    };
    for segment in encoding.decode(body) {
        match segment {
            Segment::Text(valid) => {
                let mut chars = valid.chars().peekable();
                while let Some(c) = chars.next() {
                    match (c, ends) {
                        ('\r', Ends::Quiet) if chars.peek() == Some(&'\n') => {}
                        ('\n', Ends::Shown) => {
                            escape(&mut pieces, &mut text, "\\n".into());
                            if chars.peek().is_some() {
                                text.push('\n');
                            }
                        }
                        _ => match char_escape(c) {
                            Some(esc) => escape(&mut pieces, &mut text, esc),
                            None => text.push(c),
                        },
                    }
                }
            }
            Segment::Invalid(bytes) => {
                let mut invalid = String::new();
                for &b in bytes {
                    protocol::escape::push_byte(&mut invalid, b);
                }
                escape(&mut pieces, &mut text, invalid);
            }
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    if pieces.is_empty() {
        // The payload was a lone line break.
        pieces.push(Piece::Text(String::new()));
    }
    pieces
}

/// The escape for a character that is not shown as itself, if it is one.
fn char_escape(c: char) -> Option<String> {
    let esc = match c {
        '\n' => return None,
        c if c.is_ascii_control() => {
            let mut esc = String::new();
            protocol::escape::push_byte(&mut esc, c as u8);
            esc
        }
        // C1 controls, bidirectional overrides and the byte-order mark: invisible, and the
        // overrides can make text read differently from what was sent.
        '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}' => {
            format!("\\u{{{:x}}}", c as u32)
        }
        _ => return None,
    };
    Some(esc)
}

/// The text view as one string, escapes included.
#[cfg(test)]
pub fn text_view(bytes: &[u8]) -> String {
    render_text(bytes)
        .into_iter()
        .map(|p| match p {
            Piece::Text(s) | Piece::Escape(s) => s,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_view_decodes_utf8_and_ends_lines_quietly() {
        assert_eq!(
            render_text("你好, bridge\n".as_bytes()),
            vec![Piece::Text("你好, bridge".into())]
        );
        assert_eq!(
            render_text(b"line one\nline two\n"),
            vec![Piece::Text("line one\nline two".into())]
        );
        // Only one trailing line break is the line end; an empty line stays visible.
        assert_eq!(text_view(b"a\n\n"), "a\n");
        assert_eq!(render_text(b"\n"), vec![Piece::Text(String::new())]);
        assert_eq!(render_text(b""), vec![Piece::Escape("(empty)".into())]);
    }

    #[test]
    fn invalid_utf8_is_escaped_never_dropped() {
        assert_eq!(
            render_text(b"ok\xff\xfe!"),
            vec![
                Piece::Text("ok".into()),
                Piece::Escape("\\xFF\\xFE".into()),
                Piece::Text("!".into()),
            ]
        );
        // A UTF-8 sequence cut short: its bytes are shown, the rest still decodes.
        assert_eq!(text_view(&[0xe4, 0xbd, b'a']), "\\xE4\\xBDa");
        // GBK bytes for 你好 are not UTF-8: every byte is accounted for.
        assert_eq!(text_view(&[0xc4, 0xe3, 0xba, 0xc3]), "\\xC4\\xE3\\xBA\\xC3");
        // Every byte value, alone, renders without a panic and shows something.
        for b in 0..=255u8 {
            assert!(!text_view(&[b]).is_empty() || b == b'\n', "byte {b}");
        }
    }

    #[test]
    fn line_endings_that_end_a_line_are_quiet_unless_asked_for() {
        let quiet = |b: &[u8]| render_lines_in(b, Encoding::Utf8, false);
        let shown = |b: &[u8]| render_lines_in(b, Encoding::Utf8, true);
        assert_eq!(quiet(b"welcome\r\n"), vec![Piece::Text("welcome".into())]);
        assert_eq!(quiet(b"AT\r\nOK\r\n"), vec![Piece::Text("AT\nOK".into())]);
        assert_eq!(quiet(b"one\ntwo\n"), vec![Piece::Text("one\ntwo".into())]);
        // A carriage return that does not end a line still shows.
        assert_eq!(
            quiet(b"50%\r60%"),
            vec![
                Piece::Text("50%".into()),
                Piece::Escape("\\r".into()),
                Piece::Text("60%".into())
            ]
        );
        assert_eq!(quiet(b"\r\n"), vec![Piece::Text(String::new())]);
        assert_eq!(
            shown(b"AT\r\nOK\r\n"),
            vec![
                Piece::Text("AT".into()),
                Piece::Escape("\\r\\n".into()),
                Piece::Text("\nOK".into()),
                Piece::Escape("\\r\\n".into()),
            ]
        );
        assert_eq!(shown(b"\n"), vec![Piece::Escape("\\n".into())]);
    }

    #[test]
    fn control_characters_are_visible() {
        assert_eq!(
            render_text(b"welcome\r\n"),
            vec![Piece::Text("welcome".into()), Piece::Escape("\\r".into())]
        );
        assert_eq!(text_view(b"a\tb\0c\x1b[0m\x7f"), "a\\tb\\0c\\x1B[0m\\x7F");
        assert_eq!(text_view("\u{202e}abc".as_bytes()), "\\u{202e}abc");
        assert_eq!(text_view("\u{85}".as_bytes()), "\\u{85}");
        // Adjacent escapes merge into one piece.
        assert_eq!(render_text(b"\r\r"), vec![Piece::Escape("\\r\\r".into())]);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Reads the escapes of the text view back into bytes: the protocol's, and `\u{...}`.
    fn unescape(escape: &str, out: &mut Vec<u8>) {
        let mut rest = escape;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("\\u{") {
                let end = r.find('}').unwrap();
                let c = char::from_u32(u32::from_str_radix(&r[..end], 16).unwrap()).unwrap();
                out.extend(c.to_string().into_bytes());
                rest = &r[end + 1..];
            } else {
                let end = rest[1..].find("\\u{").map_or(rest.len(), |at| at + 1);
                out.extend(protocol::escape::unescape(&rest[..end], Encoding::Utf8).unwrap());
                rest = &rest[end..];
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn the_text_view_keeps_every_byte(bytes in prop::collection::vec(any::<u8>(), 1..200)) {
            let mut back = Vec::new();
            for piece in render_text(&bytes) {
                match piece {
                    Piece::Text(text) => back.extend_from_slice(text.as_bytes()),
                    Piece::Escape(escape) => unescape(&escape, &mut back),
                }
            }
            let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
            prop_assert_eq!(&back[..], body);
        }

        /// Quiet line endings leave out only a line's ending: read back, the view is the bytes
        /// less the last line ending, with `\r\n` as `\n`.
        #[test]
        fn quiet_endings_keep_every_other_byte(bytes in prop::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), any::<u8>()], 1..200)) {
            let mut back = Vec::new();
            for piece in render_lines_in(&bytes, Encoding::Utf8, false) {
                match piece {
                    Piece::Text(text) => back.extend_from_slice(text.as_bytes()),
                    Piece::Escape(escape) => unescape(&escape, &mut back),
                }
            }
            let body = bytes.strip_suffix(b"\r\n").or_else(|| bytes.strip_suffix(b"\n")).unwrap_or(&bytes);
            let mut want = Vec::new();
            let mut i = 0;
            while i < body.len() {
                if body[i] == b'\r' && body.get(i + 1) == Some(&b'\n') {
                    i += 1;
                    continue;
                }
                want.push(body[i]);
                i += 1;
            }
            prop_assert_eq!(back, want);
        }
    }
}
