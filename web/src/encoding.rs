//! Text encodings other than UTF-8, chosen per connection: GB18030 and GBK (what Chinese devices
//! and Windows programs send), and Latin-1. Decoding never drops a byte: what is not valid in the
//! encoding comes back as raw bytes, which the text view shows as `\xFF` escapes. Encoding never
//! guesses: a character the encoding cannot write is an error naming it, and nothing is sent.

use encoding_rs::{DecoderResult, EncoderResult, GB18030, GBK};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Encoding {
    #[default]
    Utf8,
    Gb18030,
    Gbk,
    Latin1,
}

/// A run of decoded text, or bytes that are not valid in the encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(std::borrow::Cow<'a, str>),
    Invalid(&'a [u8]),
}

impl Encoding {
    pub const ALL: [Encoding; 4] = [
        Encoding::Utf8,
        Encoding::Gb18030,
        Encoding::Gbk,
        Encoding::Latin1,
    ];

    /// The option's label, also its value in the form.
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Gb18030 => "GB18030",
            Encoding::Gbk => "GBK",
            Encoding::Latin1 => "Latin-1",
        }
    }

    pub fn from_label(label: &str) -> Option<Encoding> {
        Encoding::ALL.into_iter().find(|e| e.label() == label)
    }

    /// `bytes` as runs of text and of bytes that are not valid in this encoding, in order.
    pub fn decode(self, bytes: &[u8]) -> Vec<Segment<'_>> {
        match self {
            Encoding::Utf8 => bytes
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
            Encoding::Latin1 => vec![Segment::Text(
                bytes
                    .iter()
                    .map(|&b| char::from(b))
                    .collect::<String>()
                    .into(),
            )],
            Encoding::Gb18030 | Encoding::Gbk => decode_gb(bytes),
        }
    }

    /// `text` in this encoding, or the first character it cannot write.
    pub fn encode(self, text: &str) -> Result<Vec<u8>, String> {
        match self {
            Encoding::Utf8 => Ok(text.as_bytes().to_vec()),
            Encoding::Latin1 => text
                .chars()
                .map(|c| u8::try_from(u32::from(c)).map_err(|_| unmappable(c, self)))
                .collect(),
            Encoding::Gb18030 | Encoding::Gbk => {
                let mut encoder = if self == Encoding::Gbk { GBK } else { GB18030 }.new_encoder();
                let mut out = Vec::with_capacity(text.len() * 2 + 8);
                let mut rest = text;
                loop {
                    let room = encoder
                        .max_buffer_length_from_utf8_without_replacement(rest.len())
                        .unwrap_or(rest.len() * 4 + 16);
                    out.reserve(room);
                    let (result, read) =
                        encoder.encode_from_utf8_to_vec_without_replacement(rest, &mut out, true);
                    rest = &rest[read..];
                    match result {
                        EncoderResult::InputEmpty => return Ok(out),
                        EncoderResult::OutputFull => continue,
                        EncoderResult::Unmappable(c) => return Err(unmappable(c, self)),
                    }
                }
            }
        }
    }
}

fn unmappable(c: char, encoding: Encoding) -> String {
    format!(
        "“{c}” (U+{:04X}) cannot be written in {}: choose another encoding, or send it in hex.",
        u32::from(c),
        encoding.label()
    )
}

/// GB18030 decoding (which reads all of GBK too), malformed sequences kept as bytes.
fn decode_gb(bytes: &[u8]) -> Vec<Segment<'_>> {
    let mut decoder = GB18030.new_decoder_without_bom_handling();
    let mut segments = Vec::new();
    let mut at = 0;
    let mut text = String::with_capacity(bytes.len());
    loop {
        let room = decoder
            .max_utf8_buffer_length_without_replacement(bytes.len() - at)
            .unwrap_or(bytes.len() * 3 + 16);
        text.reserve(room);
        let (result, read) =
            decoder.decode_to_string_without_replacement(&bytes[at..], &mut text, true);
        at += read;
        match result {
            DecoderResult::InputEmpty => break,
            DecoderResult::OutputFull => continue,
            DecoderResult::Malformed(bad, after) => {
                let end = at - usize::from(after);
                let start = end - usize::from(bad);
                if !text.is_empty() {
                    segments.push(Segment::Text(std::mem::take(&mut text).into()));
                }
                segments.push(Segment::Invalid(&bytes[start..end]));
                // The bytes read after the malformed sequence were decoded into `text` already
                // only if they were output; they were not, so read them again.
                at = end;
                decoder = GB18030.new_decoder_without_bom_handling();
            }
        }
    }
    if !text.is_empty() {
        segments.push(Segment::Text(text.into()));
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(encoding: Encoding, bytes: &[u8]) -> String {
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
        assert_eq!(shown(Encoding::Gbk, &gbk), "你好\n");
        assert_eq!(shown(Encoding::Gb18030, &gbk), "你好\n");
        assert_eq!(Encoding::Gbk.encode("你好\n").unwrap(), gbk);
        // Read as UTF-8, the same bytes are not text, and say so byte by byte.
        assert_eq!(shown(Encoding::Utf8, &gbk), "\\xC4\\xE3\\xBA\\xC3\n");
    }

    #[test]
    fn invalid_bytes_are_kept_in_place() {
        assert_eq!(
            shown(Encoding::Gbk, &[b'a', 0xFF, b'b', 0xC4, 0xE3]),
            "a\\xFFb你"
        );
        assert_eq!(shown(Encoding::Gbk, &[0xC4]), "\\xC4");
    }

    #[test]
    fn what_cannot_be_written_is_refused() {
        let err = Encoding::Gbk.encode("ok 😀").unwrap_err();
        assert!(
            err.starts_with("“😀” (U+1F600) cannot be written in GBK"),
            "{err}"
        );
        assert!(
            Encoding::Gb18030.encode("ok 😀").is_ok(),
            "GB18030 covers all of Unicode"
        );
        assert_eq!(Encoding::Latin1.encode("café").unwrap(), b"caf\xE9");
        assert!(Encoding::Latin1
            .encode("你")
            .unwrap_err()
            .contains("Latin-1"));
        assert_eq!(shown(Encoding::Latin1, b"caf\xE9"), "café");
    }

    #[test]
    fn labels_round_trip() {
        for e in Encoding::ALL {
            assert_eq!(Encoding::from_label(e.label()), Some(e));
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use encoding_rs::GB18030;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn gb18030_round_trips_any_text(text in "\\PC{0,40}") {
            let bytes = Encoding::Gb18030.encode(&text).unwrap();
            let back: String = Encoding::Gb18030.decode(&bytes).into_iter().map(|s| match s {
                Segment::Text(t) => t.into_owned(),
                Segment::Invalid(b) => panic!("{b:?} from encoding {text:?}"),
            }).collect();
            prop_assert_eq!(back, text);
        }

        #[test]
        fn decoding_keeps_every_byte(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
            // UTF-8 and Latin-1: the text, re-encoded, with the invalid bytes in place, is the
            // input again.
            for encoding in [Encoding::Utf8, Encoding::Latin1] {
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
            let segments = Encoding::Gb18030.decode(&bytes);
            let ours: String = segments.iter().map(|s| match s {
                Segment::Text(t) => t.to_string(),
                Segment::Invalid(_) => "\u{FFFD}".to_string(),
            }).collect();
            let (reference, _) = GB18030.decode_without_bom_handling(&bytes);
            prop_assert_eq!(ours, reference.into_owned());
        }
    }
}
