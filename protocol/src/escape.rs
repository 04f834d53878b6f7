//! Escapes, the one way text names bytes that a keyboard cannot type or a screen does not
//! show: `\r \n \t \0 \\` and `\xHH` (one raw byte). Rules' triggers and templates and the page's
//! composer read them ([`unescape`], [`read`]); a delimiter's description, a rule drafted from a
//! message and the page's text view write them ([`escape`], [`escape_bytes`], [`push_byte`]).

use crate::text_encoding::TextEncoding;

/// The escapes, for error texts.
pub const ESCAPES: &str = r"\r \n \t \0 \\ \xHH";

/// Writes the escape that stands for byte `b`: its name (`\r`, `\0`, `\\`, ...) or `\xHH`.
pub fn push_byte(out: &mut String, b: u8) {
    match b {
        b'\r' => out.push_str("\\r"),
        b'\n' => out.push_str("\\n"),
        b'\t' => out.push_str("\\t"),
        0 => out.push_str("\\0"),
        b'\\' => out.push_str("\\\\"),
        _ => {
            const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
            out.push_str("\\x");
            out.push(char::from(DIGITS[usize::from(b >> 4)]));
            out.push(char::from(DIGITS[usize::from(b & 15)]));
        }
    }
}

/// `text` as escaped text: backslashes and control characters as escapes, every other character
/// as it is. [`unescape`] reads it back into the text's bytes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match u8::try_from(c) {
            Ok(b) if b == b'\\' || b.is_ascii_control() => push_byte(&mut out, b),
            _ => out.push(c),
        }
    }
    out
}

/// Bytes as escaped text in which every byte is visible: printable ASCII as itself, everything
/// else (a space too) as an escape: `\r\n`, `\x03`, `;`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => push_byte(&mut out, b),
            _ if b.is_ascii_graphic() => out.push(char::from(b)),
            _ => push_byte(&mut out, b),
        }
    }
    out
}

/// Escaped text as bytes: characters written in `encoding`, each escape as its byte. An unknown
/// or incomplete escape is an error that names it, and so is a character the encoding cannot
/// write.
pub fn unescape(text: &str, encoding: TextEncoding) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.extend(encode(&rest[..at], encoding)?);
        let (byte, len) = read(&rest[at..])?;
        out.push(byte);
        rest = &rest[at + len..];
    }
    out.extend(encode(rest, encoding)?);
    Ok(out)
}

/// The escape that `text` starts with (at its backslash): its byte, and how many bytes of
/// `text` it takes.
pub fn read(text: &str) -> Result<(u8, usize), String> {
    debug_assert!(text.starts_with('\\'));
    let byte =
        match text.as_bytes().get(1) {
            Some(b'r') => b'\r',
            Some(b'n') => b'\n',
            Some(b't') => b'\t',
            Some(b'0') => 0,
            Some(b'\\') => b'\\',
            Some(b'x') => {
                let digits: String = text[2..].chars().take(2).collect();
                return match crate::hex::decode(&digits).as_deref() {
                    Some(&[byte]) => Ok((byte, 4)),
                    _ => Err(format!(
                    "`\\x{digits}` needs two hex digits, e.g. `\\x04` (the escapes are {ESCAPES})"
                )),
                };
            }
            Some(_) => {
                let other: String = text.chars().take(2).collect();
                return Err(format!(
                    "`{other}` is not an escape: the escapes are {ESCAPES}; \
                 write `\\\\` for a backslash"
                ));
            }
            None => return Err(
                "the text ends with a lone backslash, which is not an escape: write `\\\\` for \
                 a backslash"
                    .into(),
            ),
        };
    Ok((byte, 2))
}

/// Text in `encoding`; the error names the character it cannot write.
pub fn encode(text: &str, encoding: TextEncoding) -> Result<Vec<u8>, String> {
    encoding.encode(text).map_err(|e| {
        format!(
            "`{}` cannot be written in {encoding}: choose another encoding, \
             or write its bytes as `\\xHH` escapes",
            e.character
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_escape_is_its_byte() {
        let utf8 = |t: &str| unescape(t, TextEncoding::Utf8);
        assert_eq!(utf8(r"AT\r\n").unwrap(), b"AT\r\n");
        assert_eq!(utf8(r"\x00\xfF\t\0\\").unwrap(), b"\x00\xff\t\0\\");
        assert_eq!(utf8("$1 plain").unwrap(), b"$1 plain");
        assert_eq!(
            unescape(r"你\x0d", TextEncoding::Gbk).unwrap(),
            b"\xc4\xe3\r"
        );
    }

    #[test]
    fn mistakes_are_named() {
        let error = |t: &str| unescape(t, TextEncoding::Utf8).unwrap_err();
        assert!(error(r"a\qb").starts_with(r"`\q` is not an escape"));
        assert!(error(r"\x4").starts_with(r"`\x4` needs two hex digits"));
        assert!(error(r"\x+f").starts_with(r"`\x+f` needs two hex digits"));
        assert!(error(r"\xé1").starts_with(r"`\xé1` needs two hex digits"));
        assert!(error("ends with \\").contains("lone backslash"));
        assert_eq!(
            unescape("😀", TextEncoding::Gbk).unwrap_err(),
            "`😀` cannot be written in GBK: choose another encoding, or write its bytes as `\\xHH` escapes"
        );
    }

    #[test]
    fn writing_names_what_it_can() {
        assert_eq!(escape("a\\b\r\n\t\0\x1b é"), r"a\\b\r\n\t\0\x1B é");
        assert_eq!(escape_bytes(b"\r\n \x03;\\\xff"), r"\r\n\x20\x03;\\\xFF");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn escaped_text_reads_back(text in any::<String>()) {
            let escaped = escape(&text);
            prop_assert!(!escaped.chars().any(|c| c.is_ascii_control()));
            prop_assert_eq!(unescape(&escaped, TextEncoding::Utf8).unwrap(), text.as_bytes());
        }

        #[test]
        fn escaped_bytes_read_back(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let escaped = escape_bytes(&bytes);
            prop_assert!(escaped.bytes().all(|b| b.is_ascii_graphic()));
            prop_assert_eq!(unescape(&escaped, TextEncoding::Utf8).unwrap(), bytes);
        }

        #[test]
        fn any_text_is_bytes_or_a_reason(text in "(\\\\|x|[0-9a-fA-F]|\\PC){0,12}") {
            if let Err(reason) = unescape(&text, TextEncoding::Latin1) {
                prop_assert!(!reason.is_empty());
            }
        }
    }
}
