//! The small languages rules are written in, parsed once so that a mistake is found when the
//! rule is saved, not when a device first triggers it:
//!
//! - **escaped text** (a trigger's text): characters in the rule's encoding, plus the escapes
//!   `\r \n \t \0 \\` and `\xHH` (one raw byte), as [`crate::escape`] reads them;
//! - **hex patterns** (a `hex` trigger): bytes in hex, `??` for any byte, and a final `*` for any
//!   further bytes: `01 03 ?? ?? 00 02 ?? ??`, `7e ?? *`. Each run of `??` is one capture
//!   group, numbered from `$1` in order;
//! - **reply templates**: escaped text (or hex bytes) with placeholders:
//!
//! | placeholder        | inserts |
//! |--------------------|---------|
//! | `$1` .. `$9`, `${12}` | a capture group: a regex's group, or a hex pattern's `??` run |
//! | `${name}`          | a regex's named group `(?<name>...)` |
//! | `${msg}`           | the received message, whole, line ending included |
//! | `${counter}`       | how often this rule has replied on this connection, this reply included (1, 2, ...), in decimal |
//! | `${counter:u8}`, `${counter:u16}`, `${counter:u32}` | the same as a binary number, big-endian, wrapping |
//! | `${time}`          | the bridge's local time, ISO 8601 |
//! | `$$`               | a `$` (text templates only) |
//!
//! Captured text is written back in the rule's encoding. In a hex template, placeholders stand
//! between the bytes: `01 03 02 ${counter:u16}`.

use crate::escape;
use crate::text_encoding::TextEncoding;

/// The placeholders, for error texts.
const PLACEHOLDERS: &str = "$1..$9, ${name}, ${msg}, ${counter}, ${time}";

/// One piece of a reply template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Bytes written as they are.
    Bytes(Vec<u8>),
    /// A capture group by number, from 1.
    Group(usize),
    /// A regex's named group.
    Named(String),
    /// The received message, whole.
    Message,
    /// The rule's per-connection reply counter.
    Counter(CounterForm),
    /// The local time, ISO 8601.
    Time,
}

/// How `${counter}` is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterForm {
    /// ASCII decimal digits.
    Decimal,
    /// One byte, wrapping.
    U8,
    /// Two bytes, big-endian, wrapping.
    U16,
    /// Four bytes, big-endian, wrapping.
    U32,
}

impl CounterForm {
    /// The bytes of `counter` in this form.
    pub fn write(self, counter: u64) -> Vec<u8> {
        match self {
            CounterForm::Decimal => counter.to_string().into_bytes(),
            CounterForm::U8 => vec![counter as u8],
            CounterForm::U16 => (counter as u16).to_be_bytes().to_vec(),
            CounterForm::U32 => (counter as u32).to_be_bytes().to_vec(),
        }
    }
}

/// A parsed reply template: bytes and placeholders, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<Part>,
}

impl Template {
    /// Parses a text template: characters in `encoding`, escapes, placeholders.
    pub fn parse_text(text: &str, encoding: TextEncoding) -> Result<Template, String> {
        let mut parts = Parts::default();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => parts.bytes(&[escape_at(text, at, &mut chars)?]),
                '$' if chars.peek().map(|&(_, c)| c) == Some('$') => {
                    chars.next();
                    parts.bytes(b"$");
                }
                '$' => parts.push(placeholder(text, at, &mut chars)?),
                c => parts.bytes(&escape::encode(c.encode_utf8(&mut [0; 4]), encoding)?),
            }
        }
        Ok(parts.done())
    }

    /// Parses a hex template: bytes in hex (`01 03`, `0103`), whitespace between them, and
    /// placeholders.
    pub fn parse_hex(text: &str) -> Result<Template, String> {
        let mut parts = Parts::default();
        let mut chars = text.char_indices().peekable();
        while let Some(&(at, c)) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
            } else if c == '$' {
                chars.next();
                parts.push(placeholder(text, at, &mut chars)?);
            } else if c.is_ascii_hexdigit() {
                let mut digits = String::new();
                while let Some(&(_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_hexdigit()) {
                    digits.push(d);
                    chars.next();
                }
                parts.bytes(&hex_run(&digits)?);
            } else {
                return Err(format!(
                    "`{c}` is not a hex digit: write bytes as hex pairs (`01 03 ff`) \
                     and placeholders ({PLACEHOLDERS})"
                ));
            }
        }
        Ok(parts.done())
    }

    /// The highest group number used, if any.
    pub fn max_group(&self) -> Option<usize> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Group(n) => Some(*n),
                _ => None,
            })
            .max()
    }

    /// The named groups used, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Named(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// Whether the template inserts the received message.
    pub fn uses_message(&self) -> bool {
        self.parts.contains(&Part::Message)
    }
}

/// Builds the parts, merging adjacent bytes.
#[derive(Default)]
struct Parts(Vec<Part>);

impl Parts {
    fn bytes(&mut self, bytes: &[u8]) {
        match self.0.last_mut() {
            Some(Part::Bytes(last)) => last.extend_from_slice(bytes),
            _ => self.0.push(Part::Bytes(bytes.to_vec())),
        }
    }

    fn push(&mut self, part: Part) {
        self.0.push(part);
    }

    fn done(self) -> Template {
        Template { parts: self.0 }
    }
}

type Chars<'a> = std::iter::Peekable<std::str::CharIndices<'a>>;

/// The byte of the escape whose backslash is at `at`, its characters taken from `chars`.
fn escape_at(text: &str, at: usize, chars: &mut Chars) -> Result<u8, String> {
    let (byte, len) = escape::read(&text[at..])?;
    while chars.next_if(|&(i, _)| i < at + len).is_some() {}
    Ok(byte)
}

/// The placeholder whose `$` is at `at` (already consumed).
fn placeholder(text: &str, at: usize, chars: &mut Chars) -> Result<Part, String> {
    let unknown = |what: &str| {
        format!("`{what}` is not a placeholder: use {PLACEHOLDERS}, or `$$` for a dollar sign")
    };
    match chars.next() {
        Some((_, d @ '1'..='9')) => Ok(Part::Group(d as usize - '0' as usize)),
        Some((_, '0')) => {
            Err("`$0` is not a group: groups start at `$1`; `${msg}` is the whole message".into())
        }
        Some((_, '{')) => {
            let mut name = String::new();
            loop {
                match chars.next() {
                    Some((_, '}')) => break,
                    Some((_, c)) => name.push(c),
                    None => {
                        return Err(format!(
                            "`{}` has no closing `}}`: write e.g. `${{msg}}`",
                            &text[at..]
                        ))
                    }
                }
            }
            match name.as_str() {
                "msg" => Ok(Part::Message),
                "counter" => Ok(Part::Counter(CounterForm::Decimal)),
                "counter:u8" => Ok(Part::Counter(CounterForm::U8)),
                "counter:u16" => Ok(Part::Counter(CounterForm::U16)),
                "counter:u32" => Ok(Part::Counter(CounterForm::U32)),
                "time" => Ok(Part::Time),
                n if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                    match n.parse::<usize>() {
                        Ok(group) if group >= 1 => Ok(Part::Group(group)),
                        _ => Err(format!(
                            "`${{{n}}}` is not a group: groups start at `$1`; `${{msg}}` is the whole message"
                        )),
                    }
                }
                n if is_identifier(n) => Ok(Part::Named(n.to_owned())),
                n => Err(unknown(&format!("${{{n}}}"))),
            }
        }
        Some((_, c)) => Err(unknown(&format!("${c}"))),
        None => Err(unknown("$")),
    }
}

/// A name a regex group may have: a letter or `_`, then letters, digits or `_`.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A run of hex digits, as bytes.
fn hex_run(digits: &str) -> Result<Vec<u8>, String> {
    if !digits.len().is_multiple_of(2) {
        return Err(format!(
            "`{digits}` has an odd number of hex digits: write each byte as two (`0{digits}`?)"
        ));
    }
    Ok(crate::hex::decode(digits).expect("hex digits"))
}

/// A `hex` trigger's pattern: bytes, `??` wildcards, and maybe a final `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HexPattern {
    /// Each byte of the message, or `None` for any byte.
    pub bytes: Vec<Option<u8>>,
    /// Whether further bytes may follow (a final `*`).
    pub open_end: bool,
    /// The capture groups: each run of `??`, as a range of `bytes`.
    pub groups: Vec<std::ops::Range<usize>>,
}

impl HexPattern {
    /// Parses `01 03 ?? ?? 00 02`, `0103????`, `7e ?? *`.
    pub fn parse(text: &str) -> Result<HexPattern, String> {
        let trimmed = text.trim();
        let (body, open_end) = match trimmed.strip_suffix('*') {
            Some(body) => (body, true),
            None => (trimmed, false),
        };
        let mut bytes = Vec::new();
        for token in body.split_whitespace() {
            if token.len() % 2 != 0 {
                return Err(format!(
                    "`{token}` in the hex pattern has an odd number of digits: write each byte \
                     as two hex digits, or `??` for any byte"
                ));
            }
            for pair in token.as_bytes().chunks(2) {
                let pair = String::from_utf8_lossy(pair);
                if pair == "??" {
                    bytes.push(None);
                } else {
                    let byte = crate::hex::decode(&pair).ok_or_else(|| {
                        if pair.contains('*') {
                            "`*` may only end a hex pattern (any further bytes)".to_owned()
                        } else {
                            format!(
                                "`{pair}` is not a byte: write two hex digits (`0a`), `??` for \
                                 any byte, and end with `*` for any further bytes"
                            )
                        }
                    })?;
                    bytes.push(Some(byte[0]));
                }
            }
        }
        if bytes.is_empty() {
            return Err("the hex pattern has no bytes: write e.g. `01 03 ?? ??`".into());
        }
        let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
        for (i, byte) in bytes.iter().enumerate() {
            if byte.is_none() {
                match groups.last_mut() {
                    Some(run) if run.end == i => run.end = i + 1,
                    _ => groups.push(i..i + 1),
                }
            }
        }
        Ok(HexPattern {
            bytes,
            open_end,
            groups,
        })
    }

    /// The capture groups' bytes if `message` matches, in order.
    pub fn matches<'m>(&self, message: &'m [u8]) -> Option<Vec<&'m [u8]>> {
        let fits = if self.open_end {
            message.len() >= self.bytes.len()
        } else {
            message.len() == self.bytes.len()
        };
        let same = fits
            && self
                .bytes
                .iter()
                .zip(message)
                .all(|(want, got)| want.is_none_or(|w| w == *got));
        same.then(|| {
            self.groups
                .iter()
                .map(|run| &message[run.clone()])
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Vec<Part> {
        Template::parse_text(t, TextEncoding::Utf8).unwrap().parts
    }

    fn bytes(b: &[u8]) -> Part {
        Part::Bytes(b.to_vec())
    }

    #[test]
    fn text_templates_mix_bytes_and_placeholders() {
        assert_eq!(text("OK\r\n"), [bytes(b"OK\r\n")]);
        assert_eq!(
            text("V=$1 ${name}\\x00${msg}"),
            [
                bytes(b"V="),
                Part::Group(1),
                bytes(b" "),
                Part::Named("name".into()),
                bytes(b"\0"),
                Part::Message,
            ]
        );
        assert_eq!(
            text("#${counter} ${counter:u8}${counter:u16}${counter:u32} at ${time}"),
            [
                bytes(b"#"),
                Part::Counter(CounterForm::Decimal),
                bytes(b" "),
                Part::Counter(CounterForm::U8),
                Part::Counter(CounterForm::U16),
                Part::Counter(CounterForm::U32),
                bytes(b" at "),
                Part::Time,
            ]
        );
        assert_eq!(
            text("$$5 ${1}0 $9"),
            [bytes(b"$5 "), Part::Group(1), bytes(b"0 "), Part::Group(9)]
        );
        assert_eq!(text("\\t\\\\\\0\\xfF"), [bytes(b"\t\\\0\xff")]);
        assert_eq!(text(""), []);
    }

    #[test]
    fn text_is_written_in_the_rule_encoding() {
        let gbk = Template::parse_text("你好$1", TextEncoding::Gbk).unwrap();
        assert_eq!(
            gbk.parts,
            [bytes(&[0xC4, 0xE3, 0xBA, 0xC3]), Part::Group(1)]
        );
        let error = Template::parse_text("ok 😀", TextEncoding::Gbk).unwrap_err();
        assert_eq!(
            error,
            "`😀` cannot be written in GBK: choose another encoding, or write its bytes as `\\xHH` escapes"
        );
        assert_eq!(
            escape::unescape("é\\xE9", TextEncoding::Latin1).unwrap(),
            [0xE9, 0xE9]
        );
    }

    #[test]
    fn mistakes_in_text_templates_say_what_to_write() {
        let error = |t: &str| Template::parse_text(t, TextEncoding::Utf8).unwrap_err();
        assert!(error("a\\qb").contains("`\\q` is not an escape"));
        assert!(error("a\\").contains("lone backslash"));
        assert!(error("\\x4").contains("`\\x4` needs two hex digits"));
        assert!(error("\\xZZ").contains("needs two hex digits"));
        assert!(error("$0").contains("groups start at `$1`"));
        assert!(error("${0}").contains("groups start at `$1`"));
        assert!(error("$x").contains("`$x` is not a placeholder"));
        assert!(error("cost: 5$").contains("`$$` for a dollar sign"));
        assert!(error("${msg").contains("no closing `}`"));
        assert!(error("${counter:u64}").contains("`${counter:u64}` is not a placeholder"));
        assert!(error("${}").contains("is not a placeholder"));
        assert!(error("${9a}").contains("is not a placeholder"));
    }

    #[test]
    fn escaped_text_keeps_dollars() {
        assert_eq!(
            escape::unescape("$1 *IDN?\\r\\n", TextEncoding::Utf8).unwrap(),
            b"$1 *IDN?\r\n"
        );
        assert!(escape::unescape("\\p", TextEncoding::Utf8).is_err());
    }

    #[test]
    fn hex_templates_take_pairs_and_placeholders() {
        let t = Template::parse_hex("01 03 02 ${counter:u16} $1 0a0B").unwrap();
        assert_eq!(
            t.parts,
            [
                bytes(&[1, 3, 2]),
                Part::Counter(CounterForm::U16),
                Part::Group(1),
                bytes(&[0x0a, 0x0b]),
            ]
        );
        assert_eq!(t.max_group(), Some(1));
        assert!(!t.uses_message());
        assert!(Template::parse_hex("${msg}").unwrap().uses_message());
        assert!(Template::parse_hex("0 1")
            .unwrap_err()
            .contains("`0` has an odd number of hex digits"));
        assert!(Template::parse_hex("01 zz")
            .unwrap_err()
            .contains("`z` is not a hex digit"));
        assert!(Template::parse_hex("$$").is_err());
    }

    #[test]
    fn templates_list_what_they_use() {
        let t = text("$3 ${a} $1 ${b}");
        let t = Template { parts: t };
        assert_eq!(t.max_group(), Some(3));
        assert_eq!(t.names().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(Template::default().max_group(), None);
    }

    #[test]
    fn counters_are_written_in_their_form() {
        assert_eq!(CounterForm::Decimal.write(42), b"42");
        assert_eq!(CounterForm::U8.write(257), [1]);
        assert_eq!(CounterForm::U16.write(0x1_0203), [0x02, 0x03]);
        assert_eq!(CounterForm::U32.write(7), [0, 0, 0, 7]);
    }

    #[test]
    fn hex_patterns_match_with_wildcards() {
        let p = HexPattern::parse("01 03 ?? ?? 00 02 ????").unwrap();
        assert_eq!(p.groups, [2..4, 6..8]);
        let request = [0x01, 0x03, 0x00, 0x10, 0x00, 0x02, 0xC5, 0xCE];
        assert_eq!(
            p.matches(&request).unwrap(),
            [&[0x00, 0x10][..], &[0xC5, 0xCE][..]]
        );
        assert_eq!(p.matches(&request[..7]), None);
        assert_eq!(p.matches(&[request.as_slice(), &[0]].concat()), None);
        let mut other = request;
        other[1] = 0x04;
        assert_eq!(p.matches(&other), None);

        let open = HexPattern::parse("7E??*").unwrap();
        assert!(open.open_end);
        assert_eq!(open.matches(&[0x7e, 0x05]).unwrap(), [&[0x05][..]]);
        assert_eq!(open.matches(&[0x7e, 0x05, 1, 2, 3]).unwrap(), [&[0x05][..]]);
        assert_eq!(open.matches(&[0x7e]), None);
    }

    #[test]
    fn mistakes_in_hex_patterns_say_what_to_write() {
        let error = |t: &str| HexPattern::parse(t).unwrap_err();
        assert!(error("").contains("has no bytes"));
        assert!(error("*").contains("has no bytes"));
        assert!(error("010").contains("odd number of digits"));
        assert!(error("01 ?x").contains("`?x` is not a byte"));
        assert!(error("01 *? 02").contains("`*` may only end"));
    }
}
