//! Hex as people type it and read it: hex input, parsed strictly; the hex view, 16 bytes to a
//! line (its digits from the protocol's one encoder, which the downloads use too); and the
//! hexdump, with offsets and an ASCII column, as `xxd` and hex editors show bytes.

/// Parses hex input such as `48 65 6c 6c 6f`, `48656C6C6F` or `0x48, 0x65`.
///
/// Anything else is rejected with a message that says what and where, and nothing is sent: a
/// tool that "repairs" bad hex sends bytes nobody asked for.
pub fn parse_hex(input: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for token in input.split(|c: char| c.is_whitespace() || c == ',' || c == ':' || c == '-') {
        if token.is_empty() {
            continue;
        }
        let digits = token
            .strip_prefix("0x")
            .or_else(|| token.strip_prefix("0X"))
            .unwrap_or(token);
        if let Some(bad) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(format!(
                "“{bad}” in “{token}” is not a hex digit (use 0-9 and a-f, e.g. 48 65 6c 6c 6f)."
            ));
        }
        if digits.is_empty() || !digits.len().is_multiple_of(2) {
            return Err(format!(
                "“{token}” has an odd number of hex digits: each byte takes two (e.g. 0a, not a)."
            ));
        }
        out.extend(protocol::hex::decode(digits).expect("checked hex digits"));
    }
    if out.is_empty() {
        return Err("Type at least one byte in hex, e.g. 48 65 6c 6c 6f.".into());
    }
    Ok(out)
}

/// The hex view: two lowercase digits per byte, separated by spaces, 16 bytes to a line.
pub fn hex_view(bytes: &[u8]) -> String {
    let lines: Vec<String> = bytes
        .chunks(16)
        .map(|line| protocol::hex::encode_with(line, " "))
        .collect();
    lines.join("\n")
}

/// A message's bytes on one line, as the hex log shows them: `01 03 00 00 00 02 c4 0b`.
pub fn hex_line(bytes: &[u8]) -> String {
    protocol::hex::encode_with(bytes, " ")
}

/// Bytes a preview of what is about to be sent shows.
const PREVIEW_BYTES: usize = 24;

/// What the composer is about to send, in bytes: `7 bytes: 68 65 6c 6c 6f 0d 0a`, and only the
/// first [`PREVIEW_BYTES`] of a longer message, followed by `…`.
pub fn preview(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(PREVIEW_BYTES)];
    let more = if shown.len() < bytes.len() {
        " …"
    } else {
        ""
    };
    format!(
        "{}: {}{more}",
        crate::bytes_view::size::byte_count(bytes.len() as u64),
        protocol::hex::encode_with(shown, " ")
    )
}

/// Bytes per row of a hexdump.
pub const DUMP_ROW: usize = 16;

/// A hexdump in three columns, a line per row of [`DUMP_ROW`] bytes: the offset of the row, its
/// bytes in hex (a wider gap after the eighth), and its bytes as ASCII (`.` for what is not
/// printable). Columns, not lines, so that the page lays them side by side and a selection of
/// the hex column copies only hex.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dump {
    pub offsets: String,
    pub hex: String,
    pub ascii: String,
}

/// The hexdump of `bytes`, its offsets counted from `start`.
pub fn hexdump(bytes: &[u8], start: usize) -> Dump {
    let rows = bytes.len().div_ceil(DUMP_ROW);
    let mut dump = Dump {
        offsets: String::with_capacity(rows * 9),
        hex: String::with_capacity(rows * 49),
        ascii: String::with_capacity(rows * 17),
    };
    for (i, row) in bytes.chunks(DUMP_ROW).enumerate() {
        if i > 0 {
            dump.offsets.push('\n');
            dump.hex.push('\n');
            dump.ascii.push('\n');
        }
        dump.offsets
            .push_str(&format!("{:08x}", start + i * DUMP_ROW));
        let (left, right) = row.split_at(row.len().min(DUMP_ROW / 2));
        dump.hex.push_str(&protocol::hex::encode_with(left, " "));
        if !right.is_empty() {
            dump.hex.push_str("  ");
            dump.hex.push_str(&protocol::hex::encode_with(right, " "));
        }
        dump.ascii.extend(row.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        }));
    }
    dump
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hex_line_is_every_byte_on_one_line() {
        assert_eq!(
            hex_line(&[1, 3, 0, 0, 0, 2, 0xc4, 0x0b]),
            "01 03 00 00 00 02 c4 0b"
        );
        assert_eq!(hex_line(&[0xab; 20]).lines().count(), 1);
        assert_eq!(hex_line(b""), "");
    }

    #[test]
    fn a_preview_names_the_bytes_and_how_many() {
        assert_eq!(preview(b"hello\r\n"), "7 bytes: 68 65 6c 6c 6f 0d 0a");
        assert_eq!(preview(b"A"), "1 byte: 41");
        let long = preview(&[0xab; 1000]);
        assert!(
            long.starts_with("1,000 bytes: ab ab") && long.ends_with("ab …"),
            "{long}"
        );
        assert_eq!(long.matches("ab").count(), PREVIEW_BYTES);
    }

    #[test]
    fn a_hexdump_has_offsets_sixteen_bytes_a_row_and_ascii() {
        let bytes: Vec<u8> = b"AT+GMR\r\n".iter().copied().chain(0..12u8).collect();
        let dump = hexdump(&bytes, 0);
        assert_eq!(dump.offsets, "00000000\n00000010");
        assert_eq!(
            dump.hex,
            "41 54 2b 47 4d 52 0d 0a  00 01 02 03 04 05 06 07\n08 09 0a 0b"
        );
        assert_eq!(dump.ascii, "AT+GMR..........\n....");
        assert_eq!(hexdump(b"hi", 4096).offsets, "00001000");
        assert_eq!(hexdump(b"", 0), Dump::default());
        // Five bytes: no gap, as the e2e tests and people read them.
        assert_eq!(
            hexdump(&[0x41, 0x54, 1, 0x0d, 0x0a], 0).hex,
            "41 54 01 0d 0a"
        );
    }

    #[test]
    fn hex_input_accepts_common_spellings() {
        let hello = b"Hello".to_vec();
        assert_eq!(parse_hex("48 65 6c 6c 6f"), Ok(hello.clone()));
        assert_eq!(parse_hex("48656C6C6F"), Ok(hello.clone()));
        assert_eq!(parse_hex("0x48, 0x65,0x6c 0x6c\n0x6f"), Ok(hello.clone()));
        assert_eq!(parse_hex("48:65-6c 6c6f"), Ok(hello));
        assert_eq!(parse_hex("00 ff"), Ok(vec![0, 0xff]));
    }

    #[test]
    fn bad_hex_is_rejected_with_a_reason() {
        let err = parse_hex("48 6g").unwrap_err();
        assert!(err.contains("“g”") && err.contains("6g"), "{err}");
        let err = parse_hex("48 6").unwrap_err();
        assert!(err.contains("odd number"), "{err}");
        let err = parse_hex("abc").unwrap_err();
        assert!(err.contains("odd number"), "{err}");
        assert!(parse_hex("  ").is_err());
        assert!(parse_hex("0x").is_err());
        assert!(parse_hex("héllo").is_err());
    }

    #[test]
    fn hex_view_is_spaced_pairs_sixteen_to_a_line() {
        assert_eq!(hex_view(b"Hello"), "48 65 6c 6c 6f");
        assert_eq!(hex_view(b""), "");
        assert_eq!(hex_view(&[0, 0xff, b'\n']), "00 ff 0a");
        let line = (0..17u8).collect::<Vec<_>>();
        assert_eq!(
            hex_view(&line),
            "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f\n10"
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn hex_reads_back_in_every_accepted_form(bytes in prop::collection::vec(any::<u8>(), 1..100)) {
            prop_assert_eq!(parse_hex(&hex_view(&bytes)).unwrap(), bytes.clone());
            let compact: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
            prop_assert_eq!(parse_hex(&compact).unwrap(), bytes.clone());
            let listed: Vec<String> = bytes.iter().map(|b| format!("0x{b:02x}")).collect();
            prop_assert_eq!(parse_hex(&listed.join(", ")).unwrap(), bytes);
        }

        #[test]
        fn hex_input_is_bytes_or_a_reason(input in "[0-9a-fA-FxX ,:\\-g\\.]{0,40}|\\PC{0,20}") {
            match parse_hex(&input) {
                Ok(bytes) => {
                    prop_assert!(!bytes.is_empty());
                    let digits = input.chars().filter(char::is_ascii_hexdigit).count();
                    // Every byte came from two digits the user typed (a `0x` prefix adds one 0).
                    prop_assert!(digits >= 2 * bytes.len());
                }
                Err(reason) => prop_assert!(!reason.is_empty()),
            }
        }

        #[test]
        fn an_odd_digit_is_never_guessed(bytes in prop::collection::vec(any::<u8>(), 0..20), digit in "[0-9a-f]") {
            let typed = format!("{} {digit}", hex_view(&bytes));
            prop_assert!(parse_hex(&typed).unwrap_err().contains("odd number of hex digits"));
        }
    }
}
