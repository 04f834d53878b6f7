//! Pure helpers between bytes and what a person reads or types: line endings, the text and hex
//! views of a payload, hex input, sizes and timestamps. No browser APIs here, so all of it is
//! tested natively.
//!
//! Bytes are the truth; text is a view of them. The text view never drops or alters a byte
//! silently: what is not valid UTF-8, and what a terminal would not print (`\r`, `\t`, NUL, ESC,
//! ...), is shown as a visible escape.

use std::fmt::Write as _;

use protocol::Micros;

use crate::encoding::{Encoding, Segment};

/// What the composer appends to a message (and puts between its lines).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
        return encoding.encode(text);
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
/// `\xHH`. What is between escapes is written in `encoding`; an escape stands for exactly its
/// byte. An unknown or incomplete escape is an error naming it, and nothing is sent.
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
        let mut rest = line;
        while let Some(at) = rest.find('\\') {
            out.extend(encoding.encode(&rest[..at])?);
            let escape = &rest[at..];
            let (byte, len) = match escape.as_bytes().get(1) {
                Some(b'r') => (b'\r', 2),
                Some(b'n') => (b'\n', 2),
                Some(b't') => (b'\t', 2),
                Some(b'0') => (0, 2),
                Some(b'\\') => (b'\\', 2),
                Some(b'x') => {
                    let digits = escape
                        .get(2..4)
                        .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
                    match digits {
                        Some(d) => (u8::from_str_radix(d, 16).expect("hex digits"), 4),
                        None => {
                            let shown: String = escape.chars().take(4).collect();
                            return Err(format!(
                                "“{shown}” is not a byte: write \\x and two hex digits, e.g. \\x0d."
                            ));
                        }
                    }
                }
                _ => {
                    let shown: String = escape.chars().take(2).collect();
                    return Err(format!(
                        "“{shown}” is not an escape: use \\r \\n \\t \\0 \\\\ or \\xHH (or untick Escapes)."
                    ));
                }
            };
            out.push(byte);
            rest = &escape[len..];
        }
        out.extend(encoding.encode(rest)?);
    }
    if ending != LineEnding::None {
        out.extend_from_slice(ending.bytes());
    }
    Ok(out)
}

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
        if digits.is_empty() || digits.len() % 2 != 0 {
            return Err(format!(
                "“{token}” has an odd number of hex digits: each byte takes two (e.g. 0a, not a)."
            ));
        }
        for pair in digits.as_bytes().chunks(2) {
            let pair = std::str::from_utf8(pair).expect("ASCII hex digits");
            out.push(u8::from_str_radix(pair, 16).expect("checked hex digits"));
        }
    }
    if out.is_empty() {
        return Err("Type at least one byte in hex, e.g. 48 65 6c 6c 6f.".into());
    }
    Ok(out)
}

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
pub fn render_text_in(bytes: &[u8], encoding: Encoding) -> Vec<Piece> {
    let mut pieces = Vec::new();
    if bytes.is_empty() {
        pieces.push(Piece::Escape("(empty)".into()));
        return pieces;
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
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
                for c in valid.chars() {
                    match char_escape(c) {
                        Some(esc) => escape(&mut pieces, &mut text, esc),
                        None => text.push(c),
                    }
                }
            }
            Segment::Invalid(bytes) => {
                let mut invalid = String::new();
                for b in bytes {
                    let _ = write!(invalid, "\\x{b:02X}");
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
        '\0' => "\\0".into(),
        '\t' => "\\t".into(),
        '\r' => "\\r".into(),
        c if (c as u32) < 0x20 || c == '\x7f' => format!("\\x{:02X}", c as u32),
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

/// The hex view: two lowercase digits per byte, separated by spaces, 16 bytes to a line.
pub fn hex_view(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(if i % 16 == 0 { '\n' } else { ' ' });
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A byte count for people: `0 B`, `999 B`, `1.5 KB`, `12 MB` (powers of 1024).
pub fn format_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// A timestamp in local time: the clock for the message list and the full date for its title.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalTime {
    /// `HH:MM:SS.mmm`
    pub clock: String,
    /// `YYYY-MM-DD HH:MM:SS.mmm UTC+HH:MM`
    pub full: String,
    /// `YYYY-MM-DDTHH:MM:SS.mmm+HH:MM`, for `<time datetime>`.
    pub machine: String,
}

/// Formats `at` (microseconds since the epoch, UTC) in a zone `offset_minutes` east of UTC.
pub fn format_time(at: Micros, offset_minutes: i32) -> LocalTime {
    let local_ms = at.div_euclid(1000) + i64::from(offset_minutes) * 60_000;
    let days = local_ms.div_euclid(86_400_000);
    let ms_of_day = local_ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, ms) = (
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000,
    );
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    let (oh, om) = (off / 60, off % 60);
    let clock = format!("{h:02}:{min:02}:{s:02}.{ms:03}");
    LocalTime {
        full: format!("{y:04}-{m:02}-{d:02} {clock} UTC{sign}{oh:02}:{om:02}"),
        machine: format!("{y:04}-{m:02}-{d:02}T{clock}{sign}{oh:02}:{om:02}"),
        clock,
    }
}

/// Days since 1970-01-01 to a (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// How a connection's peer can be reached from this machine, for the "connect with nc" hint:
/// an unspecified listener address (`0.0.0.0`, `[::]`) becomes `127.0.0.1`.
pub fn reachable_address(listen: &str) -> Option<(String, u16)> {
    let (host, port) = listen.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = match host {
        "0.0.0.0" | "::" | "" => "127.0.0.1",
        other => other,
    };
    Some((host.to_string(), port))
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
    fn line_ending_labels_round_trip_and_lf_is_the_default() {
        assert_eq!(LineEnding::default(), LineEnding::Lf);
        for e in LineEnding::ALL {
            assert_eq!(LineEnding::from_label(e.label()), Some(e));
        }
        assert_eq!(LineEnding::from_label("lf"), None);
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

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(1536), "1.5 KB");
        assert_eq!(format_size(20 * 1024), "20 KB");
        assert_eq!(format_size(5 * 1024 * 1024), "5.0 MB");
    }

    #[test]
    fn times_are_local_with_milliseconds() {
        // 2025-11-24 09:20:01.234567 UTC
        let at = 1_763_976_001_234_567;
        let utc = format_time(at, 0);
        assert_eq!(utc.clock, "09:20:01.234");
        assert_eq!(utc.full, "2025-11-24 09:20:01.234 UTC+00:00");
        assert_eq!(utc.machine, "2025-11-24T09:20:01.234+00:00");
        let tokyo = format_time(at, 9 * 60);
        assert_eq!(tokyo.clock, "18:20:01.234");
        // West of UTC, across midnight and a month boundary.
        let early = format_time(1_764_547_200_000_000, -5 * 60 - 30); // 2025-12-01 00:00 UTC
        assert_eq!(early.full, "2025-11-30 18:30:00.000 UTC-05:30");
        assert_eq!(format_time(0, 0).full, "1970-01-01 00:00:00.000 UTC+00:00");
        assert_eq!(
            format_time(-1000, 0).full,
            "1969-12-31 23:59:59.999 UTC+00:00"
        );
        assert_eq!(
            format_time(951_782_400_000_000, 0).full, // leap day
            "2000-02-29 00:00:00.000 UTC+00:00"
        );
    }

    #[test]
    fn the_nc_hint_uses_a_reachable_address() {
        assert_eq!(
            reachable_address("0.0.0.0:7777"),
            Some(("127.0.0.1".into(), 7777))
        );
        assert_eq!(
            reachable_address("[::]:9000"),
            Some(("127.0.0.1".into(), 9000))
        );
        assert_eq!(reachable_address("[::1]:9000"), Some(("::1".into(), 9000)));
        assert_eq!(
            reachable_address("192.168.1.5:80"),
            Some(("192.168.1.5".into(), 80))
        );
        assert_eq!(reachable_address("nonsense"), None);
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
            .starts_with("“\\q” is not an escape"));
        assert!(esc(r"\x4").unwrap_err().starts_with("“\\x4” is not a byte"));
        assert!(esc(r"\xzz")
            .unwrap_err()
            .starts_with("“\\xzz” is not a byte"));
        assert!(esc("ends with \\")
            .unwrap_err()
            .contains("is not an escape"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Reads the escapes of the text view back into bytes.
    fn unescape(escape: &str, out: &mut Vec<u8>) {
        let mut rest = escape;
        while !rest.is_empty() {
            let (bytes, used): (Vec<u8>, usize) = if let Some(r) = rest.strip_prefix("\\x") {
                (vec![u8::from_str_radix(&r[..2], 16).unwrap()], 4)
            } else if let Some(r) = rest.strip_prefix("\\u{") {
                let end = r.find('}').unwrap();
                let c = char::from_u32(u32::from_str_radix(&r[..end], 16).unwrap()).unwrap();
                (c.to_string().into_bytes(), 3 + end + 1)
            } else if rest.starts_with("\\0") {
                (vec![0], 2)
            } else if rest.starts_with("\\t") {
                (vec![b'\t'], 2)
            } else if rest.starts_with("\\r") {
                (vec![b'\r'], 2)
            } else {
                panic!("unknown escape in {escape:?}");
            };
            out.extend(bytes);
            rest = &rest[used..];
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

        #[test]
        fn escaped_bytes_read_back(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            // Each byte after a letter, so that escapes and text alternate.
            let typed: String = bytes.iter().map(|b| format!("a\\x{b:02x}")).collect();
            let expected: Vec<u8> = bytes.iter().flat_map(|&b| [b'a', b]).collect();
            prop_assert_eq!(compose_escaped(&typed, LineEnding::None, Encoding::Utf8).unwrap(), expected);
        }
    }
}
