//! The text encodings a rule may read and write: UTF-8 (the default), GBK and GB18030 (what
//! Chinese devices and Windows programs send), and Latin-1 (every byte one character).
//!
//! Rules match and write bytes; an encoding only says how the text a person typed becomes bytes,
//! and how a received message becomes text for a regex.

use std::borrow::Cow;

use encoding_rs::{EncoderResult, GB18030, GBK};
use serde::{Deserialize, Serialize};

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

    /// `text` in this encoding, or the first character it cannot write.
    pub fn encode(self, text: &str) -> Result<Vec<u8>, char> {
        match self {
            TextEncoding::Utf8 => Ok(text.as_bytes().to_vec()),
            TextEncoding::Latin1 => text
                .chars()
                .map(|c| u8::try_from(u32::from(c)).map_err(|_| c))
                .collect(),
            TextEncoding::Gbk | TextEncoding::Gb18030 => {
                let encoding = if self == TextEncoding::Gbk {
                    GBK
                } else {
                    GB18030
                };
                let mut encoder = encoding.new_encoder();
                let room = encoder
                    .max_buffer_length_from_utf8_without_replacement(text.len())
                    .unwrap_or(text.len() * 4);
                let mut out = vec![0; room];
                let (result, _read, written) =
                    encoder.encode_from_utf8_without_replacement(text, &mut out, true);
                match result {
                    EncoderResult::InputEmpty => {
                        out.truncate(written);
                        Ok(out)
                    }
                    EncoderResult::Unmappable(c) => Err(c),
                    // `room` is the encoder's own worst case for this input.
                    EncoderResult::OutputFull => unreachable!("the output has the worst-case room"),
                }
            }
        }
    }

    /// `text` in this encoding, with `?` for each character it cannot write.
    pub fn encode_lossy(self, text: &str) -> Vec<u8> {
        match self.encode(text) {
            Ok(bytes) => bytes,
            Err(_) => {
                let mut out = Vec::with_capacity(text.len());
                let mut utf8 = [0; 4];
                for c in text.chars() {
                    match self.encode(c.encode_utf8(&mut utf8)) {
                        Ok(bytes) => out.extend_from_slice(&bytes),
                        Err(_) => out.push(b'?'),
                    }
                }
                out
            }
        }
    }

    /// `bytes` as text, with U+FFFD for what is not valid in this encoding.
    pub fn decode_lossy(self, bytes: &[u8]) -> Cow<'_, str> {
        match self {
            TextEncoding::Utf8 => String::from_utf8_lossy(bytes),
            TextEncoding::Latin1 => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
            // encoding_rs decodes GBK as GB18030, its superset, as browsers do.
            TextEncoding::Gbk | TextEncoding::Gb18030 => {
                GB18030.decode_without_bom_handling(bytes).0
            }
        }
    }
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
        assert_eq!(TextEncoding::Gbk.encode("a😀"), Err('😀'));
        assert_eq!(TextEncoding::Gbk.encode_lossy("a😀b"), b"a?b");
        assert_eq!(TextEncoding::Gb18030.encode("😀").unwrap().len(), 4);
        assert_eq!(TextEncoding::Latin1.encode("é"), Ok(vec![0xE9]));
        assert_eq!(TextEncoding::Latin1.encode("ĀB"), Err('Ā'));
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
