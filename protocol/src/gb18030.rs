//! GB18030 and GBK, decoded and encoded as the WHATWG Encoding Standard (and so every browser)
//! does, from an index that is not shipped but built once, on first use, by having a decoder
//! the platform already has read every sequence: the browser's `TextDecoder` in the page,
//! `encoding_rs` in the bridge (see [`set_source`]). The page thus leaves the Chinese tables
//! out of its download, and every platform reads exactly as its own decoder does.

use std::sync::OnceLock;

/// Two-byte sequences: lead 0x81..=0xFE, trail 0x40..=0x7E or 0x80..=0xFE.
const TWO_BYTE: usize = 126 * 190;
/// Four-byte sequences that stand for characters of the Basic Multilingual Plane.
const FOUR_BYTE_BMP: usize = 39_420;
/// Four-byte pointers from here on stand for U+10000 onwards, in order.
const SUPPLEMENTARY: u32 = 189_000;
const LAST_POINTER: u32 = SUPPLEMENTARY + 0x10_FFFF - 0x1_0000;

/// Reads bytes as GB18030, with U+FFFD for what is not valid: the platform's decoder.
pub type Source = fn(&[u8]) -> String;

/// Private-use characters that GB18030-2005 gave these sequences, which GB18030-2022 (and so a
/// current decoder) reads as standard characters: they are still written as before, as the
/// Encoding Standard says, so that older text round-trips.
const PRIVATE_USE: [(u16, u16); 18] = [
    (0xE78D, 0xA6D9),
    (0xE78E, 0xA6DA),
    (0xE78F, 0xA6DB),
    (0xE790, 0xA6DC),
    (0xE791, 0xA6DD),
    (0xE792, 0xA6DE),
    (0xE793, 0xA6DF),
    (0xE794, 0xA6EC),
    (0xE795, 0xA6ED),
    (0xE796, 0xA6F3),
    (0xE81E, 0xFE59),
    (0xE826, 0xFE61),
    (0xE82B, 0xFE66),
    (0xE82C, 0xFE67),
    (0xE832, 0xFE6D),
    (0xE843, 0xFE7E),
    (0xE854, 0xFE90),
    (0xE864, 0xFEA0),
];

static SOURCE: OnceLock<Source> = OnceLock::new();
static INDEX: OnceLock<Index> = OnceLock::new();

/// Names the decoder the index is built from. The page calls this at start; the bridge (with
/// the `encoding_rs` feature) need not.
pub fn set_source(source: Source) {
    let _ = SOURCE.set(source);
}

/// The index, built on first use.
pub fn index() -> &'static Index {
    INDEX.get_or_init(|| {
        let source = SOURCE.get().copied().or(DEFAULT_SOURCE).expect(
            "no GB18030 decoder: call protocol::gb18030::set_source first, or enable the \
             `encoding_rs` feature",
        );
        Index::build(source)
    })
}

#[cfg(feature = "encoding_rs")]
const DEFAULT_SOURCE: Option<Source> = Some(|bytes| {
    encoding_rs::GB18030
        .decode_without_bom_handling(bytes)
        .0
        .into_owned()
});
#[cfg(not(feature = "encoding_rs"))]
const DEFAULT_SOURCE: Option<Source> = None;

/// Every sequence's character, and every character's sequence.
pub struct Index {
    /// By two-byte pointer; 0 where the pointer stands for nothing.
    two: Vec<u16>,
    /// By four-byte pointer, below [`FOUR_BYTE_BMP`].
    four: Vec<u16>,
    /// By code point of the BMP: its bytes, big-endian (a value over 0xFFFF is four bytes), or
    /// 0 when the encoding cannot write it. ASCII is not kept here.
    encoded: Vec<u32>,
}

impl Index {
    /// Builds the index by decoding every two-byte and BMP four-byte sequence once, each
    /// followed by a line feed so that one that is not valid cannot swallow the next.
    pub fn build(source: Source) -> Index {
        // A two-byte sequence that stands for nothing reads as U+FFFD; four-byte ones below
        // FOUR_BYTE_BMP all stand for something, U+FFFD itself among them.
        let read = |sequences: &mut dyn Iterator<Item = Vec<u8>>, len: usize, two: bool| {
            let mut bytes = Vec::new();
            for sequence in sequences {
                bytes.extend_from_slice(&sequence);
                bytes.push(b'\n');
            }
            let text = source(&bytes);
            let mut table: Vec<u16> = text
                .split('\n')
                .take(len)
                .map(|one| {
                    let mut chars = one.chars();
                    match (chars.next(), chars.next()) {
                        (Some(c), None) if !(two && c == '\u{FFFD}') => {
                            u16::try_from(u32::from(c)).unwrap_or(0)
                        }
                        _ => 0,
                    }
                })
                .collect();
            table.resize(len, 0);
            table
        };
        let two = read(&mut (0..TWO_BYTE).map(two_byte), TWO_BYTE, true);
        let four_bytes = (0..FOUR_BYTE_BMP).map(|p| four_byte(p as u32).to_vec());
        let four = read(&mut four_bytes.into_iter(), FOUR_BYTE_BMP, false);
        let mut encoded = vec![0u32; 0x1_0000];
        // The first pointer of a character is the one it is written with; two bytes before four.
        for (pointer, &c) in two.iter().enumerate() {
            let slot = &mut encoded[usize::from(c)];
            if c != 0 && *slot == 0 {
                let [lead, trail] = <[u8; 2]>::try_from(two_byte(pointer)).expect("two bytes");
                *slot = u32::from_be_bytes([0, 0, lead, trail]);
            }
        }
        for (pointer, &c) in four.iter().enumerate() {
            let slot = &mut encoded[usize::from(c)];
            if c != 0 && *slot == 0 {
                *slot = u32::from_be_bytes(four_byte(pointer as u32));
            }
        }
        for (c, bytes) in PRIVATE_USE {
            let slot = &mut encoded[usize::from(c)];
            if *slot == 0 {
                *slot = u32::from(bytes);
            }
        }
        Index { two, four, encoded }
    }

    /// The character a four-byte pointer stands for.
    fn four_byte_char(&self, pointer: u32) -> Option<char> {
        match pointer {
            p if (p as usize) < FOUR_BYTE_BMP => {
                let c = self.four[p as usize];
                (c != 0).then(|| char::from_u32(u32::from(c))).flatten()
            }
            SUPPLEMENTARY..=LAST_POINTER => char::from_u32(0x1_0000 + pointer - SUPPLEMENTARY),
            _ => None,
        }
    }

    /// `c` in GB18030 (or, `gbk`, in GBK, which has no four-byte sequences but writes the euro
    /// sign as 0x80), or `None` if it cannot be written.
    pub fn encode_char(&self, c: char, gbk: bool, out: &mut Vec<u8>) -> Option<()> {
        let cp = u32::from(c);
        if cp < 0x80 {
            out.push(cp as u8);
            return Some(());
        }
        if gbk && c == '€' {
            out.push(0x80);
            return Some(());
        }
        // The Encoding Standard leaves this one unwritable, though a sequence reads as it.
        if c == '\u{E5E5}' {
            return None;
        }
        let bytes = match usize::try_from(cp).ok().and_then(|i| self.encoded.get(i)) {
            Some(0) => return None,
            Some(&b) => b,
            None => u32::from_be_bytes(four_byte(SUPPLEMENTARY + cp - 0x1_0000)),
        };
        match bytes {
            0..=0xFFFF => out.extend_from_slice(&bytes.to_be_bytes()[2..]),
            _ if gbk => return None,
            _ => out.extend_from_slice(&bytes.to_be_bytes()),
        }
        Some(())
    }
}

/// What decoding found next.
pub enum Piece {
    Char(char),
    /// This many bytes are not valid; what follows them is read afresh.
    Invalid(usize),
}

/// The next character of `bytes` (which is not empty), or how many bytes are not valid, and how
/// many bytes it took; as the Encoding Standard's GB18030 decoder reads, an ASCII byte that
/// cuts a sequence short is not part of the error but read again.
pub fn decode_next(index: &Index, bytes: &[u8]) -> (Piece, usize) {
    let invalid = |n| (Piece::Invalid(n), n);
    let lead = bytes[0];
    match lead {
        0x00..=0x7F => return (Piece::Char(char::from(lead)), 1),
        0x80 => return (Piece::Char('€'), 1),
        0xFF => return invalid(1),
        _ => {}
    }
    let Some(&second) = bytes.get(1) else {
        return invalid(bytes.len());
    };
    if (0x30..=0x39).contains(&second) {
        let (Some(&third), Some(&fourth)) = (bytes.get(2), bytes.get(3)) else {
            // Cut short by the end, unless a byte that cannot continue it comes first.
            return match bytes.get(2) {
                Some(third) if !(0x81..=0xFE).contains(third) => invalid(1),
                _ => invalid(bytes.len()),
            };
        };
        if !(0x81..=0xFE).contains(&third) || !(0x30..=0x39).contains(&fourth) {
            return invalid(1);
        }
        let pointer = ((u32::from(lead) - 0x81) * 10 + u32::from(second) - 0x30) * 1260
            + (u32::from(third) - 0x81) * 10
            + u32::from(fourth)
            - 0x30;
        return match index.four_byte_char(pointer) {
            Some(c) => (Piece::Char(c), 4),
            None => invalid(4),
        };
    }
    let offset = if second < 0x7F { 0x40 } else { 0x41 };
    if matches!(second, 0x40..=0x7E | 0x80..=0xFE) {
        let pointer = usize::from(lead - 0x81) * 190 + usize::from(second - offset);
        let c = index.two[pointer];
        if let Some(c) = (c != 0).then(|| char::from_u32(u32::from(c))).flatten() {
            return (Piece::Char(c), 2);
        }
    }
    if second.is_ascii() {
        invalid(1)
    } else {
        invalid(2)
    }
}

/// The two bytes of a two-byte pointer.
fn two_byte(pointer: usize) -> Vec<u8> {
    let trail = pointer % 190;
    let offset = if trail < 0x3F { 0x40 } else { 0x41 };
    vec![(pointer / 190 + 0x81) as u8, (trail + offset) as u8]
}

/// The four bytes of a four-byte pointer.
fn four_byte(pointer: u32) -> [u8; 4] {
    [
        (pointer / 12_600 + 0x81) as u8,
        (pointer / 1260 % 10 + 0x30) as u8,
        (pointer / 10 % 126 + 0x81) as u8,
        (pointer % 10 + 0x30) as u8,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{EncoderResult, GB18030, GBK};

    fn reference(bytes: &[u8]) -> String {
        GB18030.decode_without_bom_handling(bytes).0.into_owned()
    }

    fn index() -> Index {
        Index::build(reference)
    }

    fn reference_encode(c: char, gbk: bool) -> Option<Vec<u8>> {
        let mut encoder = if gbk { GBK } else { GB18030 }.new_encoder();
        let mut out = vec![0; 8];
        let mut utf8 = [0; 4];
        let (result, _, written) =
            encoder.encode_from_utf8_without_replacement(c.encode_utf8(&mut utf8), &mut out, true);
        (result == EncoderResult::InputEmpty).then(|| out[..written].to_vec())
    }

    #[test]
    fn every_character_is_written_as_the_reference_writes_it() {
        let index = index();
        let mut checked = 0;
        for c in (0..=0x10_FFFFu32).step_by(1).filter_map(char::from_u32) {
            // The whole BMP, and a sample of the planes above it.
            if u32::from(c) > 0xFFFF && u32::from(c) % 97 != 0 {
                continue;
            }
            for gbk in [false, true] {
                let mut ours = Vec::new();
                let ours = index.encode_char(c, gbk, &mut ours).map(|()| ours);
                let theirs = reference_encode(c, gbk);
                assert_eq!(ours, theirs, "{c:?} (U+{:04X}), gbk {gbk}", u32::from(c));
                checked += 1;
            }
        }
        assert!(checked > 130_000);
    }

    #[test]
    fn every_two_and_four_byte_sequence_reads_as_the_reference_reads_it() {
        let index = index();
        let check = |bytes: &[u8]| {
            let (piece, taken) = decode_next(&index, bytes);
            let ours = match piece {
                Piece::Char(c) => c.to_string(),
                Piece::Invalid(_) => "\u{FFFD}".to_string(),
            };
            let theirs = reference(&bytes[..taken]);
            assert_eq!(ours, theirs, "{bytes:02X?}");
        };
        for pointer in 0..TWO_BYTE {
            check(&two_byte(pointer));
        }
        for pointer in (0..LAST_POINTER + 10).step_by(7) {
            check(&four_byte(pointer));
        }
    }
}
