//! The text encodings of a conversation, a rule, or the bridge's default: UTF-8, GBK and GB18030
//! (what Chinese devices and Windows programs send), and Latin-1 (every byte one character).
//!
//! Bytes are the truth; an encoding only says how text a person typed becomes bytes, and how
//! bytes are shown as text. Decoding never drops a byte: what is not valid in the encoding comes
//! back as raw bytes ([`Segment::Invalid`]), which the page shows as `\xFF` escapes. Encoding
//! never guesses: a character the encoding cannot write is an error naming it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::gb18030::{self, Piece};

/// A text encoding. Serialized as `"utf-8"`, `"gbk"`, `"gb18030"` or `"latin-1"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TextEncoding {
    #[default]
    #[serde(rename = "utf-8", alias = "utf8")]
    Utf8,
    #[serde(rename = "gbk")]
    Gbk,
    #[serde(rename = "gb18030")]
    Gb18030,
    #[serde(rename = "latin-1", alias = "latin1")]
    Latin1,
}

impl TextEncoding {
    pub const ALL: [TextEncoding; 4] = [
        TextEncoding::Utf8,
        TextEncoding::Gbk,
        TextEncoding::Gb18030,
        TextEncoding::Latin1,
    ];

    /// The name people know it by: `UTF-8`, `GBK`, `GB18030`, `Latin-1`.
    pub fn label(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Gbk => "GBK",
            TextEncoding::Gb18030 => "GB18030",
            TextEncoding::Latin1 => "Latin-1",
        }
    }

    /// The encoding with this [`label`](TextEncoding::label).
    pub fn from_label(label: &str) -> Option<TextEncoding> {
        TextEncoding::ALL.into_iter().find(|e| e.label() == label)
    }

    /// `text` in this encoding, or the first character it cannot write.
    pub fn encode(self, text: &str) -> Result<Vec<u8>, Unwritable> {
        self.encode_or_char(text).map_err(|character| Unwritable {
            character,
            encoding: self,
        })
    }

    fn encode_or_char(self, text: &str) -> Result<Vec<u8>, char> {
        match self {
            TextEncoding::Utf8 => Ok(text.as_bytes().to_vec()),
            TextEncoding::Latin1 => text
                .chars()
                .map(|c| u8::try_from(u32::from(c)).map_err(|_| c))
                .collect(),
            TextEncoding::Gbk | TextEncoding::Gb18030 => {
                let index = gb18030::index();
                let gbk = self == TextEncoding::Gbk;
                let mut out = Vec::with_capacity(text.len());
                for c in text.chars() {
                    index.encode_char(c, gbk, &mut out).ok_or(c)?;
                }
                Ok(out)
            }
        }
    }

    /// `text` in this encoding, with `?` for each character it cannot write.
    pub fn encode_lossy(self, text: &str) -> Vec<u8> {
        match self.encode_or_char(text) {
            Ok(bytes) => bytes,
            Err(_) => {
                let mut out = Vec::with_capacity(text.len());
                let mut utf8 = [0; 4];
                for c in text.chars() {
                    match self.encode_or_char(c.encode_utf8(&mut utf8)) {
                        Ok(bytes) => out.extend_from_slice(&bytes),
                        Err(_) => out.push(b'?'),
                    }
                }
                out
            }
        }
    }

    /// `bytes` as runs of text and of bytes that are not valid in this encoding, in order.
    pub fn decode(self, bytes: &[u8]) -> Vec<Segment<'_>> {
        match self {
            TextEncoding::Utf8 => bytes
                .utf8_chunks()
                .flat_map(|chunk| {
                    let text =
                        (!chunk.valid().is_empty()).then(|| Segment::Text(chunk.valid().into()));
                    let bad =
                        (!chunk.invalid().is_empty()).then(|| Segment::Invalid(chunk.invalid()));
                    text.into_iter().chain(bad)
                })
                .collect(),
            // Every byte is a character: U+0000 to U+00FF.
            TextEncoding::Latin1 => vec![Segment::Text(
                bytes
                    .iter()
                    .map(|&b| char::from(b))
                    .collect::<String>()
                    .into(),
            )],
            TextEncoding::Gb18030 | TextEncoding::Gbk => decode_gb(bytes),
        }
    }

    /// `bytes` as text, with U+FFFD for what is not valid in this encoding.
    pub fn decode_lossy(self, bytes: &[u8]) -> Cow<'_, str> {
        match self {
            TextEncoding::Utf8 => String::from_utf8_lossy(bytes),
            TextEncoding::Latin1 => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
            // GBK is read as GB18030, its superset, as browsers do.
            TextEncoding::Gbk | TextEncoding::Gb18030 => Cow::Owned(
                decode_gb(bytes)
                    .into_iter()
                    .map(|segment| match segment {
                        Segment::Text(text) => text,
                        Segment::Invalid(_) => Cow::Borrowed("\u{FFFD}"),
                    })
                    .collect(),
            ),
        }
    }
}

/// A run of decoded text, or bytes that are not valid in the encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(Cow<'a, str>),
    Invalid(&'a [u8]),
}

/// A character an encoding cannot write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unwritable {
    pub character: char,
    pub encoding: TextEncoding,
}

impl std::fmt::Display for Unwritable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "“{}” (U+{:04X}) cannot be written in {}: choose another encoding, or send it in hex.",
            self.character,
            u32::from(self.character),
            self.encoding.label()
        )
    }
}

impl From<Unwritable> for String {
    fn from(e: Unwritable) -> String {
        e.to_string()
    }
}

/// GB18030 decoding (which reads all of GBK too), malformed sequences kept as bytes.
fn decode_gb(bytes: &[u8]) -> Vec<Segment<'_>> {
    let index = gb18030::index();
    let mut segments = Vec::new();
    let mut text = String::new();
    let mut at = 0;
    while at < bytes.len() {
        match gb18030::decode_next(index, &bytes[at..]) {
            (Piece::Char(c), taken) => {
                text.push(c);
                at += taken;
            }
            (Piece::Invalid(n), _) => {
                if !text.is_empty() {
                    segments.push(Segment::Text(std::mem::take(&mut text).into()));
                }
                segments.push(Segment::Invalid(&bytes[at..at + n]));
                at += n;
            }
        }
    }
    if !text.is_empty() {
        segments.push(Segment::Text(text.into()));
    }
    segments
}

impl std::fmt::Display for TextEncoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_round_trips_through_gbk_and_gb18030() {
        for encoding in [TextEncoding::Gbk, TextEncoding::Gb18030] {
            let bytes = encoding.encode("你好").unwrap();
            assert_eq!(bytes, [0xC4, 0xE3, 0xBA, 0xC3]);
            assert_eq!(encoding.decode_lossy(&bytes), "你好");
        }
        assert_eq!(TextEncoding::Utf8.encode("你好").unwrap().len(), 6);
    }

    #[test]
    fn what_an_encoding_cannot_write_is_named_or_replaced() {
        let err = TextEncoding::Gbk.encode("a😀").unwrap_err();
        assert_eq!(err.character, '😀');
        assert!(
            err.to_string()
                .starts_with("“😀” (U+1F600) cannot be written in GBK"),
            "{err}"
        );
        assert_eq!(TextEncoding::Gbk.encode_lossy("a😀b"), b"a?b");
        assert_eq!(TextEncoding::Gb18030.encode("😀").unwrap().len(), 4);
        assert_eq!(TextEncoding::Latin1.encode("é"), Ok(vec![0xE9]));
        assert_eq!(
            TextEncoding::Latin1.encode("ĀB").unwrap_err().character,
            'Ā'
        );
        assert_eq!(TextEncoding::Latin1.encode_lossy("ĀB"), b"?B");
    }

    #[test]
    fn decoding_never_fails() {
        assert_eq!(TextEncoding::Utf8.decode_lossy(b"a\xFFb"), "a\u{FFFD}b");
        assert_eq!(TextEncoding::Latin1.decode_lossy(b"\xE9\xFF"), "é\u{FF}");
        assert_eq!(TextEncoding::Gbk.decode_lossy(b"\xC4"), "\u{FFFD}");
    }

    #[test]
    fn serialized_by_name() {
        let json: Vec<String> = TextEncoding::ALL
            .iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect();
        assert_eq!(json, ["\"utf-8\"", "\"gbk\"", "\"gb18030\"", "\"latin-1\""]);
        let latin1: TextEncoding = serde_json::from_str("\"latin1\"").unwrap();
        assert_eq!(latin1, TextEncoding::Latin1);
        assert_eq!(TextEncoding::Gb18030.to_string(), "GB18030");
    }
}

#[cfg(test)]
mod segments {
    use super::*;

    fn shown(encoding: TextEncoding, bytes: &[u8]) -> String {
        encoding
            .decode(bytes)
            .into_iter()
            .map(|s| match s {
                Segment::Text(t) => t.into_owned(),
                Segment::Invalid(b) => b.iter().map(|b| format!("\\x{b:02X}")).collect(),
            })
            .collect()
    }

    #[test]
    fn chinese_in_gbk_and_gb18030() {
        let gbk = [0xC4, 0xE3, 0xBA, 0xC3, 0x0A]; // 你好\n
        assert_eq!(shown(TextEncoding::Gbk, &gbk), "你好\n");
        assert_eq!(shown(TextEncoding::Gb18030, &gbk), "你好\n");
        assert_eq!(TextEncoding::Gbk.encode("你好\n").unwrap(), gbk);
        // Read as UTF-8, the same bytes are not text, and say so byte by byte.
        assert_eq!(shown(TextEncoding::Utf8, &gbk), "\\xC4\\xE3\\xBA\\xC3\n");
    }

    #[test]
    fn invalid_bytes_are_kept_in_place() {
        assert_eq!(
            shown(TextEncoding::Gbk, &[b'a', 0xFF, b'b', 0xC4, 0xE3]),
            "a\\xFFb你"
        );
        assert_eq!(shown(TextEncoding::Gbk, &[0xC4]), "\\xC4");
    }

    #[test]
    fn what_cannot_be_written_is_refused() {
        let err = TextEncoding::Gbk.encode("ok 😀").unwrap_err().to_string();
        assert!(
            err.starts_with("“😀” (U+1F600) cannot be written in GBK"),
            "{err}"
        );
        assert!(
            TextEncoding::Gb18030.encode("ok 😀").is_ok(),
            "GB18030 covers all of Unicode"
        );
        assert_eq!(TextEncoding::Latin1.encode("café").unwrap(), b"caf\xE9");
        assert!(TextEncoding::Latin1
            .encode("你")
            .unwrap_err()
            .to_string()
            .contains("Latin-1"));
        assert_eq!(shown(TextEncoding::Latin1, b"caf\xE9"), "café");
    }

    #[test]
    fn labels_round_trip() {
        for e in TextEncoding::ALL {
            assert_eq!(TextEncoding::from_label(e.label()), Some(e));
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn gb18030_round_trips_any_text(text in "\\PC{0,40}") {
            let bytes = TextEncoding::Gb18030.encode(&text).unwrap();
            let back: String = TextEncoding::Gb18030.decode(&bytes).into_iter().map(|s| match s {
                Segment::Text(t) => t.into_owned(),
                Segment::Invalid(b) => panic!("{b:?} from encoding {text:?}"),
            }).collect();
            prop_assert_eq!(back, text);
        }

        #[test]
        fn decoding_keeps_every_byte(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
            // UTF-8 and Latin-1: the text, re-encoded, with the invalid bytes in place, is the
            // input again.
            for encoding in [TextEncoding::Utf8, TextEncoding::Latin1] {
                let mut back = Vec::new();
                for segment in encoding.decode(&bytes) {
                    match segment {
                        Segment::Text(t) => back.extend(encoding.encode(&t).unwrap()),
                        Segment::Invalid(b) => back.extend_from_slice(b),
                    }
                }
                prop_assert_eq!(&back, &bytes, "{:?}", encoding);
            }
            // GB18030 maps some byte sequences to characters it writes differently, so compare
            // with the reference decoder instead: the same text, each invalid run in the place
            // of one replacement character, and the invalid runs are the input's own bytes.
            let segments = TextEncoding::Gb18030.decode(&bytes);
            let ours: String = segments.iter().map(|s| match s {
                Segment::Text(t) => t.to_string(),
                Segment::Invalid(_) => "\u{FFFD}".to_string(),
            }).collect();
            let (reference, _) = encoding_rs::GB18030.decode_without_bom_handling(&bytes);
            prop_assert_eq!(ours, reference.into_owned());
        }
    }
}
