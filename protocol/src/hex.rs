//! Bytes as hex digits, the one encoder the bridge's transcript and the page's views share.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Two lower-case digits per byte, nothing between them: `ff00` for `[0xff, 0x00]`.
pub fn encode(bytes: &[u8]) -> String {
    encode_with(bytes, "")
}

/// Two lower-case digits per byte, with `separator` between bytes: `ff 00`.
pub fn encode_with(bytes: &[u8], separator: &str) -> String {
    let mut out = String::with_capacity(bytes.len() * (2 + separator.len()));
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// The bytes of compact hex (`ff00`, either case), or `None` if it is not that.
pub fn decode(digits: &str) -> Option<Vec<u8>> {
    if !digits.len().is_multiple_of(2) || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    digits
        .as_bytes()
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits() {
        assert_eq!(encode(&[0x00, 0x7f, 0xff, 0x48]), "007fff48");
        assert_eq!(encode_with(&[0x0d, 0x0a], " "), "0d 0a");
        assert_eq!(encode(&[]), "");
        assert_eq!(decode("007FFF48"), Some(vec![0x00, 0x7f, 0xff, 0x48]));
        assert_eq!(decode("0"), None);
        assert_eq!(decode("0g"), None);
        assert_eq!(decode("+1"), None);
    }
}
