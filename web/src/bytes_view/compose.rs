//! What the composer sends: typed text in the conversation's encoding, its line ending, and
//! escapes for bytes a keyboard cannot type; or bytes typed in hex. Then, if chosen, a
//! checksum of all that, computed by the protocol's own code (the bridge's, for its rules).

use protocol::checksum::Checksum;
use serde::{Deserialize, Serialize};

use crate::bytes_view::hex::parse_hex;
use crate::encoding::Encoding;

/// What the composer reads: text, or bytes in hex.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputMode {
    #[default]
    Text,
    Hex,
}

/// How a conversation's composer turns what was typed into bytes. Kept per conversation, so
/// that the controls show what is in force for the one selected. Serialized in a saved
/// message, which the browser keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComposeOptions {
    pub mode: InputMode,
    /// The ending chosen for text; hex input has none (see [`ComposeOptions::ending_in_force`]).
    pub ending: LineEnding,
    /// `\r`, `\xHH`, ... in text stand for their bytes.
    pub escapes: bool,
    /// Appended to every message, after its line ending.
    pub checksum: Option<Checksum>,
}

impl ComposeOptions {
    /// The line ending that goes out: hex is sent exactly as typed, so none.
    pub fn ending_in_force(&self) -> LineEnding {
        match self.mode {
            InputMode::Hex => LineEnding::None,
            InputMode::Text => self.ending,
        }
    }

    /// The bytes `text` stands for, written in `encoding`, with the checksum; or why it
    /// stands for none.
    pub fn compose(&self, text: &str, encoding: Encoding) -> Result<Vec<u8>, String> {
        let mut bytes = match self.mode {
            InputMode::Hex => parse_hex(text),
            InputMode::Text if self.escapes => compose_escaped(text, self.ending, encoding),
            InputMode::Text => compose_text_in(text, self.ending, encoding),
        }?;
        if let (Some(checksum), false) = (self.checksum, bytes.is_empty()) {
            checksum.append(&mut bytes);
        }
        Ok(bytes)
    }
}

/// What the composer appends to a message (and puts between its lines).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineEnding {
    None,
    /// `\n`, what a terminal (and the seed's client) sends.
    #[default]
    Lf,
    CrLf,
    Cr,
}

impl LineEnding {
    pub const ALL: [LineEnding; 4] = [
        LineEnding::None,
        LineEnding::Lf,
        LineEnding::CrLf,
        LineEnding::Cr,
    ];

    /// The option's label, also its value in the form.
    pub fn label(self) -> &'static str {
        match self {
            LineEnding::None => "None",
            LineEnding::Lf => "LF",
            LineEnding::CrLf => "CRLF",
            LineEnding::Cr => "CR",
        }
    }

    pub fn from_label(label: &str) -> Option<LineEnding> {
        Self::ALL.into_iter().find(|e| e.label() == label)
    }

    pub fn bytes(self) -> &'static [u8] {
        match self {
            LineEnding::None => b"",
            LineEnding::Lf => b"\n",
            LineEnding::CrLf => b"\r\n",
            LineEnding::Cr => b"\r",
        }
    }
}

/// Turns what the user typed into the bytes to send: UTF-8, every line break written as `ending`,
/// and `ending` after the last line. With [`LineEnding::None`] the text goes out exactly as typed.
#[cfg(test)]
pub fn compose_text(text: &str, ending: LineEnding) -> Vec<u8> {
    compose_text_in(text, ending, Encoding::Utf8).expect("UTF-8 writes every character")
}

/// [`compose_text`] in another encoding; fails, naming the character, if the encoding cannot
/// write one. Line endings are ASCII, the same in every encoding offered.
pub fn compose_text_in(
    text: &str,
    ending: LineEnding,
    encoding: Encoding,
) -> Result<Vec<u8>, String> {
    if ending == LineEnding::None {
        return Ok(encoding.encode(text)?);
    }
    let mut out = Vec::with_capacity(text.len() + 2);
    let normalized = text.replace("\r\n", "\n");
    for (i, line) in normalized.split('\n').enumerate() {
        if i > 0 {
            out.extend_from_slice(ending.bytes());
        }
        out.extend(encoding.encode(line)?);
    }
    out.extend_from_slice(ending.bytes());
    Ok(out)
}

/// Text with escapes, for bytes a keyboard cannot type: `\r`, `\n`, `\t`, `\0`, `\\` and
/// `\xHH`, read as the protocol reads a rule's ([`protocol::escape`]). What is between escapes
/// is written in `encoding`; an escape stands for exactly its byte. An unknown or incomplete
/// escape is an error naming it, and nothing is sent.
pub fn compose_escaped(
    text: &str,
    ending: LineEnding,
    encoding: Encoding,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() + 2);
    let normalized = text.replace("\r\n", "\n");
    for (i, line) in normalized.split('\n').enumerate() {
        if i > 0 {
            out.extend_from_slice(ending.bytes());
        }
        out.extend(protocol::escape::unescape(line, encoding)?);
    }
    if ending != LineEnding::None {
        out.extend_from_slice(ending.bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_end_and_join_lines() {
        assert_eq!(compose_text("hello", LineEnding::Lf), b"hello\n");
        assert_eq!(compose_text("hello", LineEnding::CrLf), b"hello\r\n");
        assert_eq!(compose_text("hello", LineEnding::Cr), b"hello\r");
        assert_eq!(compose_text("hello", LineEnding::None), b"hello");
        assert_eq!(
            compose_text("line one\nline two", LineEnding::Lf),
            b"line one\nline two\n"
        );
        assert_eq!(
            compose_text("line one\nline two", LineEnding::CrLf),
            b"line one\r\nline two\r\n"
        );
        // A pasted CRLF is one line break, not two.
        assert_eq!(compose_text("a\r\nb", LineEnding::Lf), b"a\nb\n");
        // None sends exactly what was typed.
        assert_eq!(compose_text("a\nb", LineEnding::None), b"a\nb");
        assert_eq!(compose_text("", LineEnding::Lf), b"\n");
        assert_eq!(compose_text("你好", LineEnding::Lf), "你好\n".as_bytes());
    }

    #[test]
    fn options_choose_how_text_becomes_bytes() {
        let text = ComposeOptions::default();
        assert_eq!(text.compose("hi", Encoding::Utf8), Ok(b"hi\n".to_vec()));
        let crlf = ComposeOptions {
            ending: LineEnding::CrLf,
            ..text
        };
        assert_eq!(
            crlf.compose(r"a\x01", Encoding::Utf8),
            Ok(b"a\\x01\r\n".to_vec())
        );
        let escapes = ComposeOptions {
            escapes: true,
            ..crlf
        };
        assert_eq!(
            escapes.compose(r"a\x01", Encoding::Utf8),
            Ok(b"a\x01\r\n".to_vec())
        );
        let hex = ComposeOptions {
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

    #[test]
    fn hex_input_has_no_line_ending_and_says_so() {
        let hex = ComposeOptions {
            mode: InputMode::Hex,
            ending: LineEnding::CrLf,
            escapes: false,
            checksum: None,
        };
        assert_eq!(hex.ending_in_force(), LineEnding::None);
        assert_eq!(hex.compose("41", Encoding::Utf8), Ok(b"A".to_vec()));
        let text = ComposeOptions {
            mode: InputMode::Text,
            ..hex
        };
        assert_eq!(text.ending_in_force(), LineEnding::CrLf, "kept for text");
    }

    #[test]
    fn a_checksum_ends_what_is_sent() {
        let modbus = ComposeOptions {
            mode: InputMode::Hex,
            checksum: Some(Checksum::Crc16Modbus),
            ..ComposeOptions::default()
        };
        // Read 10 holding registers from slave 1: the well-known C5 CD.
        assert_eq!(
            modbus.compose("01 03 00 00 00 0a", Encoding::Utf8),
            Ok(vec![0x01, 0x03, 0x00, 0x00, 0x00, 0x0a, 0xc5, 0xcd])
        );
        let text = ComposeOptions {
            checksum: Some(Checksum::Xor8),
            ..ComposeOptions::default()
        };
        assert_eq!(text.compose("AB", Encoding::Utf8), Ok(b"AB\n\x09".to_vec()));
        let bare = ComposeOptions {
            ending: LineEnding::None,
            ..text
        };
        assert_eq!(
            bare.compose("", Encoding::Utf8),
            Ok(vec![]),
            "nothing to check"
        );
    }

    #[test]
    fn line_ending_labels_round_trip_and_lf_is_the_default() {
        assert_eq!(LineEnding::default(), LineEnding::Lf);
        for e in LineEnding::ALL {
            assert_eq!(LineEnding::from_label(e.label()), Some(e));
        }
        assert_eq!(LineEnding::from_label("lf"), None);
    }
}

/// Property tests: the views lose no byte, hex input reads back what the hex view writes, and
/// no input makes a parser panic. Bounded case counts; `PROPTEST_CASES` raises them.
#[cfg(test)]
mod escapes {
    use super::*;

    fn esc(text: &str) -> Result<Vec<u8>, String> {
        compose_escaped(text, LineEnding::None, Encoding::Utf8)
    }

    #[test]
    fn each_escape_is_its_byte() {
        assert_eq!(esc(r"AT\r\n").unwrap(), b"AT\r\n");
        assert_eq!(esc(r"\x00\xff\t\0\\").unwrap(), b"\x00\xff\t\0\\");
        assert_eq!(esc("plain").unwrap(), b"plain");
        assert_eq!(
            compose_escaped(r"你\x0d", LineEnding::Lf, Encoding::Gbk).unwrap(),
            b"\xc4\xe3\r\n"
        );
    }

    #[test]
    fn bad_escapes_are_named() {
        assert!(esc(r"\q")
            .unwrap_err()
            .starts_with("`\\q` is not an escape"));
        assert!(esc(r"\x4")
            .unwrap_err()
            .starts_with("`\\x4` needs two hex digits"));
        assert!(esc(r"\xzz")
            .unwrap_err()
            .starts_with("`\\xzz` needs two hex digits"));
        assert!(esc("ends with \\")
            .unwrap_err()
            .contains("is not an escape"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn escaped_bytes_read_back(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            // Each byte after a letter, so that escapes and text alternate.
            let typed: String = bytes.iter().map(|b| format!("a\\x{b:02x}")).collect();
            let expected: Vec<u8> = bytes.iter().flat_map(|&b| [b'a', b]).collect();
            prop_assert_eq!(compose_escaped(&typed, LineEnding::None, Encoding::Utf8).unwrap(), expected);
        }
    }
}
