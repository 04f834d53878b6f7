//! How a connection's byte stream is cut into messages. TCP keeps no message boundaries: one
//! message may arrive over two reads, or two glued in one. A [`Framing`] says where the peer's
//! messages end, so that each record, rule match and exit-word check sees one whole message.
//!
//! This is the setting only; the bridge's framer applies it. Tagged by `mode`:
//!
//! | mode              | JSON                                                     | a message is |
//! |-------------------|----------------------------------------------------------|--------------|
//! | `raw`             | `{"mode":"raw"}`                                         | whatever one read returned (the default) |
//! | `delimiter`       | `{"mode":"delimiter","delimiter":"crlf"}`                | everything up to and including the delimiter |
//! | `fixed`           | `{"mode":"fixed","len":8}`                               | exactly `len` bytes |
//! | `length_prefixed` | `{"mode":"length_prefixed","width":2,"big_endian":true,"offset":0,"includes_header":false,"trailer":0}` | a header (`offset` bytes, then a `width`-byte length), then as many bytes as the length says, then `trailer` bytes |
//! | `idle`            | `{"mode":"idle","gap_ms":20}`                            | bytes that arrive with less than `gap_ms` of silence between them |
//!
//! The same in TOML: `framing = { mode = "delimiter", delimiter = "lf" }`, or
//! `framing = { mode = "length_prefixed", width = 2 }`, or Modbus RTU's replies:
//! `framing = { mode = "length_prefixed", width = 1, offset = 2, trailer = 2 }`.
//!
//! A **delimiter** is written as a string: one of the names `lf` (`\n`), `crlf` (`\r\n`), `cr`
//! (`\r`), `nul` (`\0`), or the bytes in hex, `"0d0a"` or `"03"` (spaces between bytes are
//! allowed: `"0d 0a"`). The delimiter stays at the end of its message, so no byte is lost.
//!
//! A **length prefix** is `width` bytes (1, 2 or 4; `big_endian` defaults to true, network order)
//! that start `offset` bytes into the message (default 0: the message starts with its length).
//! The length counts the bytes after the length field, unless `includes_header` (default false)
//! says that it counts the whole message, header included. `trailer` (default 0) bytes follow
//! what the length counts: a checksum the length leaves out, as Modbus RTU's CRC. A message longer than
//! [`MAX_MESSAGE`] is cut there (the framer's pieces say so) and goes on in the next piece.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::size::byte_count;

/// The largest piece the framer makes: a message longer than this is cut into pieces this long
/// (each marked as cut), so that a peer that never sends a delimiter cannot fill memory.
pub const MAX_MESSAGE: usize = 1024 * 1024;
/// The longest delimiter.
pub const MAX_DELIMITER: usize = 16;
/// The most bytes a length field may start after.
pub const MAX_OFFSET: u32 = 65_535;
/// The most bytes a trailer may have.
pub const MAX_TRAILER: u32 = 255;
/// The longest idle gap, in milliseconds: a minute.
pub const MAX_GAP_MS: u32 = 60_000;

/// Where a connection's messages end. See the module documentation for the JSON and TOML forms.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Framing {
    /// One message per read: what the bridge did before framing existed.
    #[default]
    Raw,
    /// A message ends with `delimiter`, which stays part of it.
    Delimiter { delimiter: Delimiter },
    /// Every message is `len` bytes.
    Fixed { len: u32 },
    /// A message carries its length in a header.
    LengthPrefixed {
        /// Bytes in the length field: 1, 2 or 4.
        width: u8,
        #[serde(default = "network_order")]
        big_endian: bool,
        /// Bytes before the length field (an address, a function code, ...).
        #[serde(default)]
        offset: u32,
        /// Whether the length counts the header (the `offset` bytes and the length field).
        #[serde(default)]
        includes_header: bool,
        /// Bytes after what the length counts (a checksum it leaves out, an end byte).
        #[serde(default)]
        trailer: u32,
    },
    /// A message ends after `gap_ms` milliseconds without a byte.
    Idle { gap_ms: u32 },
}

fn network_order() -> bool {
    true
}

impl Framing {
    /// Checks the numbers; the error says what to write instead.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Framing::Raw => Ok(()),
            Framing::Delimiter { delimiter } => match delimiter.0.len() {
                0 => Err(
                    "the delimiter is empty: give at least one byte, e.g. \"lf\", \
                          \"crlf\" or \"0d0a\""
                        .into(),
                ),
                n if n > MAX_DELIMITER => Err(format!(
                    "the delimiter is {n} bytes long: at most {MAX_DELIMITER} are allowed"
                )),
                _ => Ok(()),
            },
            Framing::Fixed { len } => {
                if *len == 0 || *len as usize > MAX_MESSAGE {
                    Err(format!(
                        "a fixed length of {len} bytes is not allowed: give 1 to {MAX_MESSAGE}"
                    ))
                } else {
                    Ok(())
                }
            }
            Framing::LengthPrefixed {
                width,
                offset,
                trailer,
                ..
            } => {
                if ![1, 2, 4].contains(width) {
                    Err(format!(
                        "a length field of {width} bytes is not supported: use 1, 2 or 4"
                    ))
                } else if *offset > MAX_OFFSET {
                    Err(format!(
                        "a length field {offset} bytes into the message is too far: \
                         the offset may be 0 to {MAX_OFFSET}"
                    ))
                } else if *trailer > MAX_TRAILER {
                    Err(format!(
                        "a trailer of {trailer} bytes is too long: it may be 0 to {MAX_TRAILER}"
                    ))
                } else {
                    Ok(())
                }
            }
            Framing::Idle { gap_ms } => {
                if *gap_ms == 0 || *gap_ms > MAX_GAP_MS {
                    Err(format!(
                        "an idle gap of {gap_ms} ms is not allowed: give 1 to {MAX_GAP_MS} ms"
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// A short description for people: `delimiter \r\n`, `length-prefixed, 2 bytes big-endian`.
    pub fn describe(&self) -> String {
        match self {
            Framing::Raw => "raw (one message per read)".into(),
            Framing::Delimiter { delimiter } => format!("delimiter {}", delimiter.escaped()),
            Framing::Fixed { len } => format!("fixed, {}", byte_count(u64::from(*len))),
            Framing::LengthPrefixed {
                width,
                big_endian,
                offset,
                includes_header,
                trailer,
            } => {
                let mut text = format!("length-prefixed, {}", byte_count(u64::from(*width)));
                if *width > 1 {
                    text += if *big_endian {
                        " big-endian"
                    } else {
                        " little-endian"
                    };
                }
                if *offset > 0 {
                    text += &format!(" after {}", byte_count(u64::from(*offset)));
                }
                if *includes_header {
                    text += ", counting the header";
                }
                if *trailer > 0 {
                    text += &format!(", then a trailer of {}", byte_count(u64::from(*trailer)));
                }
                text
            }
            Framing::Idle { gap_ms } => {
                format!("idle, a message ends after {gap_ms} ms of silence")
            }
        }
    }
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The bytes that end a message. Written as `lf`, `crlf`, `cr`, `nul`, or hex (`"0d0a"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Delimiter(pub Vec<u8>);

/// The delimiters with a name, as written.
const NAMED: [(&str, &[u8]); 4] = [
    ("lf", b"\n"),
    ("crlf", b"\r\n"),
    ("cr", b"\r"),
    ("nul", b"\0"),
];

impl Delimiter {
    pub fn lf() -> Delimiter {
        Delimiter(b"\n".to_vec())
    }

    pub fn crlf() -> Delimiter {
        Delimiter(b"\r\n".to_vec())
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// Reads a delimiter as written in JSON or TOML: a name or hex bytes.
    pub fn parse(text: &str) -> Result<Delimiter, String> {
        let text = text.trim();
        if let Some((_, bytes)) = NAMED
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text))
        {
            return Ok(Delimiter(bytes.to_vec()));
        }
        let digits: String = text.split_ascii_whitespace().collect();
        crate::hex::decode(&digits).map(Delimiter).ok_or_else(|| {
            format!(
                "`{text}` is not a delimiter: write lf, crlf, cr, nul, or the bytes in hex \
                 (e.g. \"0d0a\" for CR LF, \"03\" for ETX)"
            )
        })
    }

    /// The bytes as a person reads them: `\r\n`, `\0`, `\x03`, `;`.
    pub fn escaped(&self) -> String {
        crate::escape::escape_bytes(&self.0)
    }
}

/// As written in JSON or TOML: the name when it has one, else lowercase hex.
impl fmt::Display for Delimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match NAMED.iter().find(|(_, bytes)| *bytes == self.0.as_slice()) {
            Some((name, _)) => f.write_str(name),
            None => self.0.iter().try_for_each(|b| write!(f, "{b:02x}")),
        }
    }
}

impl Serialize for Delimiter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Delimiter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Delimiter::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(framing: &Framing) -> String {
        serde_json::to_string(framing).unwrap()
    }

    fn from_json(text: &str) -> Result<Framing, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn every_mode_has_the_documented_json() {
        let cases = [
            (Framing::Raw, r#"{"mode":"raw"}"#),
            (
                Framing::Delimiter {
                    delimiter: Delimiter::crlf(),
                },
                r#"{"mode":"delimiter","delimiter":"crlf"}"#,
            ),
            (Framing::Fixed { len: 8 }, r#"{"mode":"fixed","len":8}"#),
            (
                Framing::LengthPrefixed {
                    width: 2,
                    big_endian: true,
                    offset: 0,
                    includes_header: false,
                    trailer: 0,
                },
                r#"{"mode":"length_prefixed","width":2,"big_endian":true,"offset":0,"includes_header":false,"trailer":0}"#,
            ),
            (
                Framing::LengthPrefixed {
                    width: 1,
                    big_endian: true,
                    offset: 2,
                    includes_header: false,
                    trailer: 2,
                },
                r#"{"mode":"length_prefixed","width":1,"big_endian":true,"offset":2,"includes_header":false,"trailer":2}"#,
            ),
            (
                Framing::Idle { gap_ms: 20 },
                r#"{"mode":"idle","gap_ms":20}"#,
            ),
        ];
        for (framing, text) in cases {
            assert_eq!(json(&framing), text);
            assert_eq!(from_json(text).unwrap(), framing);
        }
    }

    #[test]
    fn a_length_prefix_defaults_to_network_order_at_the_start() {
        assert_eq!(
            from_json(r#"{"mode":"length_prefixed","width":4}"#).unwrap(),
            Framing::LengthPrefixed {
                width: 4,
                big_endian: true,
                offset: 0,
                includes_header: false,
                trailer: 0,
            }
        );
    }

    #[test]
    fn delimiters_are_names_or_hex() {
        let parse = |t: &str| Delimiter::parse(t).map(|d| d.0);
        assert_eq!(parse("lf").unwrap(), b"\n");
        assert_eq!(parse("CRLF").unwrap(), b"\r\n");
        assert_eq!(parse("cr").unwrap(), b"\r");
        assert_eq!(parse("nul").unwrap(), b"\0");
        assert_eq!(parse("0d0a").unwrap(), b"\r\n");
        assert_eq!(parse("0D 0A").unwrap(), b"\r\n");
        assert_eq!(parse("03").unwrap(), b"\x03");
        assert_eq!(parse("").unwrap(), b"");
        let error = parse("0d0").unwrap_err();
        assert!(error.contains("lf, crlf, cr, nul"), "{error}");
        assert!(parse("zz").is_err());
        assert!(parse("\\n").is_err());

        // Written back as the name when there is one.
        assert_eq!(Delimiter(b"\r\n".to_vec()).to_string(), "crlf");
        assert_eq!(Delimiter(b"\x03\x04".to_vec()).to_string(), "0304");
        assert_eq!(
            from_json(r#"{"mode":"delimiter","delimiter":"7e"}"#).unwrap(),
            Framing::Delimiter {
                delimiter: Delimiter(vec![0x7e])
            }
        );
        let error = from_json(r#"{"mode":"delimiter","delimiter":"newline"}"#).unwrap_err();
        assert!(error.contains("`newline` is not a delimiter"), "{error}");
    }

    #[test]
    fn validation_says_what_to_write_instead() {
        let error = |f: Framing| f.validate().unwrap_err();
        assert!(error(Framing::Fixed { len: 0 }).contains("give 1 to 1048576"));
        assert!(error(Framing::Fixed { len: 2 << 20 }).contains("give 1 to 1048576"));
        assert!(error(Framing::Delimiter {
            delimiter: Delimiter(vec![])
        })
        .contains("the delimiter is empty"));
        assert!(error(Framing::Delimiter {
            delimiter: Delimiter(vec![0; 17])
        })
        .contains("at most 16"));
        let lp = |width, offset| Framing::LengthPrefixed {
            width,
            big_endian: true,
            offset,
            includes_header: false,
            trailer: 0,
        };
        let trailing = |trailer| Framing::LengthPrefixed {
            width: 1,
            big_endian: true,
            offset: 2,
            includes_header: false,
            trailer,
        };
        assert_eq!(
            error(trailing(256)),
            "a trailer of 256 bytes is too long: it may be 0 to 255"
        );
        assert_eq!(
            error(lp(3, 0)),
            "a length field of 3 bytes is not supported: use 1, 2 or 4"
        );
        assert!(error(lp(2, 70_000)).contains("0 to 65535"));
        assert!(error(Framing::Idle { gap_ms: 0 }).contains("1 to 60000 ms"));
        assert!(error(Framing::Idle { gap_ms: 60_001 }).contains("1 to 60000 ms"));

        for good in [
            Framing::Raw,
            Framing::Delimiter {
                delimiter: Delimiter::lf(),
            },
            Framing::Fixed { len: 1 },
            Framing::Fixed {
                len: MAX_MESSAGE as u32,
            },
            lp(1, 0),
            lp(2, 3),
            lp(4, MAX_OFFSET),
            trailing(2),
            trailing(MAX_TRAILER),
            Framing::Idle { gap_ms: 1 },
        ] {
            assert_eq!(good.validate(), Ok(()), "{good:?}");
        }
    }

    #[test]
    fn descriptions_read_like_the_setting() {
        let d = |f: Framing| f.describe();
        assert_eq!(d(Framing::Raw), "raw (one message per read)");
        assert_eq!(
            d(Framing::Delimiter {
                delimiter: Delimiter::crlf()
            }),
            "delimiter \\r\\n"
        );
        assert_eq!(
            d(Framing::Delimiter {
                delimiter: Delimiter(vec![0, 0x03, b';'])
            }),
            "delimiter \\0\\x03;"
        );
        assert_eq!(d(Framing::Fixed { len: 1 }), "fixed, 1 byte");
        assert_eq!(d(Framing::Fixed { len: 8 }), "fixed, 8 bytes");
        assert_eq!(
            d(Framing::LengthPrefixed {
                width: 2,
                big_endian: true,
                offset: 0,
                includes_header: false,
                trailer: 0,
            }),
            "length-prefixed, 2 bytes big-endian"
        );
        assert_eq!(
            d(Framing::LengthPrefixed {
                width: 4,
                big_endian: false,
                offset: 3,
                includes_header: true,
                trailer: 0,
            }),
            "length-prefixed, 4 bytes little-endian after 3 bytes, counting the header"
        );
        assert_eq!(
            d(Framing::LengthPrefixed {
                width: 1,
                big_endian: true,
                offset: 0,
                includes_header: false,
                trailer: 0,
            }),
            "length-prefixed, 1 byte"
        );
        assert_eq!(
            d(Framing::LengthPrefixed {
                width: 1,
                big_endian: true,
                offset: 2,
                includes_header: false,
                trailer: 2,
            }),
            "length-prefixed, 1 byte after 2 bytes, then a trailer of 2 bytes"
        );
        assert_eq!(
            Framing::Idle { gap_ms: 20 }.to_string(),
            "idle, a message ends after 20 ms of silence"
        );
    }
}
