//! How the bridge reads a connection (its framing, and the checksum each message must end
//! with), as a form holds it: what is in force, turned into fields; the fields, checked and
//! turned back into settings, or refused with the reason before anything is sent. Common
//! protocols are presets: choosing one fills the fields, which show what it chose.

use protocol::checksum::Checksum;
use protocol::framing::{Delimiter, Framing, MAX_GAP_MS, MAX_MESSAGE, MAX_OFFSET, MAX_TRAILER};
use protocol::{ConnInfo, ConnSettings, Way};

/// The framings the form offers: `(value, label)`.
pub const MODES: [(&str, &str); 5] = [
    ("raw", "Raw: a message per read"),
    ("delimiter", "Delimiter"),
    ("fixed", "Fixed length"),
    ("length", "Length prefix"),
    ("idle", "Idle gap"),
];

/// The delimiters with a name, and `hex` for any other bytes: `(value, label)`.
pub const DELIMITERS: [(&str, &str); 5] = [
    ("lf", "LF \\n"),
    ("crlf", "CRLF \\r\\n"),
    ("cr", "CR \\r"),
    ("nul", "NUL \\0"),
    ("hex", "Hex bytes"),
];

/// The presets the form offers: `(value, label)`; `custom` is the fields as they are.
pub const PRESETS: [(&str, &str); 8] = [
    ("custom", "Custom"),
    ("modbus-rtu", "Modbus RTU replies (functions 1–4)"),
    ("modbus-rtu-requests", "Modbus RTU requests (functions 1–6)"),
    ("modbus-tcp", "Modbus TCP"),
    ("iec104", "IEC 60870-5-104"),
    ("lines-lf", "Lines (LF)"),
    ("lines-crlf", "Lines (CRLF)"),
    ("nul", "NUL-terminated strings"),
];

/// The settings a preset stands for, each exact for its protocol:
/// - Modbus RTU replies to reads (functions 1 to 4): address, function, a byte count (the
///   length, after 2 bytes), the data, then a CRC-16/MODBUS the count leaves out (a trailer of
///   2 bytes). Exception replies and replies to writes carry no byte count: read those raw.
/// - Modbus RTU requests of functions 1 to 6: always 8 bytes, the last 2 a CRC-16/MODBUS.
/// - Modbus TCP: the MBAP header's length, 2 bytes big-endian after 4, counts what follows it.
/// - IEC 60870-5-104: a start byte `68`, then a length byte that counts what follows it.
/// - Lines and NUL-terminated strings: a delimiter.
pub fn preset(value: &str) -> Option<ConnSettings> {
    let length = |width, offset, trailer| Framing::LengthPrefixed {
        width,
        big_endian: true,
        offset,
        includes_header: false,
        trailer,
    };
    let (framing, checksum) = match value {
        "modbus-rtu" => (length(1, 2, 2), Some(Checksum::Crc16Modbus)),
        "modbus-rtu-requests" => (Framing::Fixed { len: 8 }, Some(Checksum::Crc16Modbus)),
        "modbus-tcp" => (length(2, 4, 0), None),
        "iec104" => (length(1, 1, 0), None),
        "lines-lf" => (delimited(Delimiter::lf()), None),
        "lines-crlf" => (delimited(Delimiter::crlf()), None),
        "nul" => (delimited(Delimiter(vec![0])), None),
        _ => return None,
    };
    Some(ConnSettings { framing, checksum })
}

fn delimited(delimiter: Delimiter) -> Framing {
    Framing::Delimiter { delimiter }
}

/// The form's fields, as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadingDraft {
    /// One of [`MODES`]' values.
    pub mode: &'static str,
    /// One of [`DELIMITERS`]' values.
    pub delimiter: &'static str,
    /// The delimiter's bytes in hex, when `delimiter` is `hex`.
    pub hex: String,
    pub len: String,
    pub width: u8,
    pub big_endian: bool,
    pub offset: String,
    pub includes_header: bool,
    pub trailer: String,
    pub gap_ms: String,
    pub checksum: Option<Checksum>,
}

impl Default for ReadingDraft {
    fn default() -> Self {
        ReadingDraft::of(&ConnSettings::default())
    }
}

impl ReadingDraft {
    /// The fields that show `settings`; the other framings' fields keep sensible starts.
    pub fn of(settings: &ConnSettings) -> ReadingDraft {
        let mut draft = ReadingDraft {
            mode: "raw",
            delimiter: "lf",
            hex: String::new(),
            len: "8".into(),
            width: 2,
            big_endian: true,
            offset: "0".into(),
            includes_header: false,
            trailer: "0".into(),
            gap_ms: "20".into(),
            checksum: settings.checksum,
        };
        match &settings.framing {
            Framing::Raw => {}
            Framing::Delimiter { delimiter } => {
                draft.mode = "delimiter";
                let name = delimiter.to_string();
                match DELIMITERS.iter().find(|(value, _)| *value == name) {
                    Some((value, _)) => draft.delimiter = value,
                    None => {
                        draft.delimiter = "hex";
                        draft.hex = protocol::hex::encode_with(delimiter.bytes(), " ");
                    }
                }
            }
            Framing::Fixed { len } => {
                draft.mode = "fixed";
                draft.len = len.to_string();
            }
            Framing::LengthPrefixed {
                width,
                big_endian,
                offset,
                includes_header,
                trailer,
            } => {
                draft.mode = "length";
                draft.width = *width;
                draft.big_endian = *big_endian;
                draft.offset = offset.to_string();
                draft.includes_header = *includes_header;
                draft.trailer = trailer.to_string();
            }
            Framing::Idle { gap_ms } => {
                draft.mode = "idle";
                draft.gap_ms = gap_ms.to_string();
            }
        }
        draft
    }

    /// The preset the fields are, or `custom`.
    pub fn preset(&self) -> &'static str {
        let settings = self.settings().ok();
        PRESETS
            .iter()
            .map(|(value, _)| *value)
            .find(|value| settings.is_some() && preset(value) == settings)
            .unwrap_or("custom")
    }

    /// A field changed (its name in the form, and its value). A preset sets every field.
    pub fn set(&mut self, field: &str, value: String) {
        match field {
            "preset" => {
                if let Some(settings) = preset(&value) {
                    *self = ReadingDraft::of(&settings);
                }
            }
            "mode" => self.mode = pick(&MODES, &value),
            "delimiter" => self.delimiter = pick(&DELIMITERS, &value),
            "hex" => self.hex = value,
            "len" => self.len = value,
            "width" => self.width = value.parse().unwrap_or(2),
            "order" => self.big_endian = value != "le",
            "offset" => self.offset = value,
            "header" => self.includes_header = value == "true",
            "trailer" => self.trailer = value,
            "gap" => self.gap_ms = value,
            "checksum" => self.checksum = checksum_of(&value),
            _ => {}
        }
    }

    /// The settings the fields say, or why they say none.
    pub fn settings(&self) -> Result<ConnSettings, String> {
        let framing = match self.mode {
            "delimiter" => Framing::Delimiter {
                delimiter: match self.delimiter {
                    "hex" if self.hex.trim().is_empty() => {
                        return Err("Type the delimiter's bytes in hex, e.g. 03 or 0d 0a.".into())
                    }
                    "hex" => Delimiter::parse(self.hex.trim()).map_err(|_| {
                        format!(
                            "“{}” is not bytes in hex: write each byte as two digits, \
                             e.g. 03 or 0d 0a.",
                            self.hex.trim()
                        )
                    })?,
                    name => Delimiter::parse(name)?,
                },
            },
            "fixed" => Framing::Fixed {
                len: number(&self.len, "The length", "bytes", MAX_MESSAGE as u32)?,
            },
            "length" => Framing::LengthPrefixed {
                width: self.width,
                big_endian: self.big_endian,
                offset: number(&self.offset, "The offset", "bytes", MAX_OFFSET)?,
                includes_header: self.includes_header,
                trailer: number(&self.trailer, "The trailer", "bytes", MAX_TRAILER)?,
            },
            "idle" => Framing::Idle {
                gap_ms: number(&self.gap_ms, "The gap", "milliseconds", MAX_GAP_MS)?,
            },
            _ => Framing::Raw,
        };
        framing.validate().map_err(|why| capitalized(&why))?;
        Ok(ConnSettings {
            framing,
            checksum: self.checksum,
        })
    }
}

/// The option of `options` whose value is `value`, else the first.
pub fn pick(options: &[(&'static str, &'static str)], value: &str) -> &'static str {
    options
        .iter()
        .find(|(v, _)| *v == value)
        .map_or(options[0].0, |(v, _)| v)
}

/// `text` as a whole number of `unit`; one too large to hold is refused with `max`, the
/// largest the field takes (a smaller one past it is `Framing::validate`'s to refuse).
fn number(text: &str, what: &str, unit: &str, max: u32) -> Result<u32, String> {
    let text = text.trim();
    match whole_number(text) {
        Some(n) => u32::try_from(n)
            .map_err(|_| format!("{what} is at most {max} {unit}: “{text}” is too large.")),
        None => Err(format!(
            "{what} is a whole number of {unit}: “{text}” is not one."
        )),
    }
}

/// `text` as a whole number, if it is one (digits only), however large: `u64::MAX` stands for
/// any larger, so that a form can say it is too large rather than not a number.
pub fn whole_number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

/// A reason as a sentence: its first letter upper-case (ASCII: the reasons are English, and
/// Unicode's case tables would cost the page more than they give), a full stop at the end.
fn capitalized(text: &str) -> String {
    let mut out = text.to_owned();
    if let Some(first) = out.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    out + "."
}

/// The settings in a few words, for the button that opens the form: `delimiter \r\n`,
/// `fixed 8 B · CRC-16/MODBUS`.
pub fn summary(settings: &ConnSettings) -> String {
    let framing = match &settings.framing {
        Framing::Raw => "raw".to_string(),
        Framing::Delimiter { delimiter } => format!("delimiter {}", delimiter.escaped()),
        Framing::Fixed { len } => format!("fixed {len} B"),
        Framing::LengthPrefixed {
            width,
            big_endian,
            trailer,
            ..
        } => format!(
            "length {width} B{}{}",
            match (width, big_endian) {
                (1, _) => "",
                (_, true) => " BE",
                (_, false) => " LE",
            },
            match trailer {
                0 => String::new(),
                n => format!(" + {n} B"),
            }
        ),
        Framing::Idle { gap_ms } => format!("idle {gap_ms} ms"),
    };
    match settings.checksum {
        Some(checksum) => format!("{framing} · {}", checksum.label()),
        None => framing,
    }
}

/// A conversation's reading in a few words; a proxied conversation whose sides are read
/// differently, each way's: `c→s delimiter \n; s→c length 2 B BE`.
pub fn conv_summary(info: &ConnInfo) -> String {
    let server = info.settings_of(Some(Way::ServerToClient));
    if *server == info.settings {
        return summary(server);
    }
    format!("c→s {}; s→c {}", summary(&info.settings), summary(server))
}

/// The checksums a menu offers, `none` first: `(value, label)`.
pub fn checksum_options() -> Vec<(&'static str, &'static str)> {
    std::iter::once(("none", "None"))
        .chain(
            Checksum::ALL
                .iter()
                .map(|c| (checksum_value(Some(*c)), c.label())),
        )
        .collect()
}

/// A checksum's value in a menu.
pub fn checksum_value(checksum: Option<Checksum>) -> &'static str {
    match checksum {
        None => "none",
        Some(Checksum::Crc16Modbus) => "crc16_modbus",
        Some(Checksum::Crc16CcittFalse) => "crc16_ccitt_false",
        Some(Checksum::Crc32) => "crc32",
        Some(Checksum::Xor8) => "xor8",
        Some(Checksum::Sum8) => "sum8",
        Some(Checksum::Lrc) => "lrc",
    }
}

/// The checksum a menu's value names (`none`, or anything else: none).
pub fn checksum_of(value: &str) -> Option<Checksum> {
    Checksum::ALL
        .into_iter()
        .find(|c| checksum_value(Some(*c)) == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(framing: Framing, checksum: Option<Checksum>) -> ConnSettings {
        ConnSettings { framing, checksum }
    }

    #[test]
    fn every_framing_reads_back_from_its_fields() {
        let cases = [
            settings(Framing::Raw, None),
            settings(
                Framing::Delimiter {
                    delimiter: Delimiter::crlf(),
                },
                Some(Checksum::Crc16Modbus),
            ),
            settings(
                Framing::Delimiter {
                    delimiter: Delimiter(vec![0x03, 0x7e]),
                },
                None,
            ),
            settings(Framing::Fixed { len: 8 }, Some(Checksum::Lrc)),
            settings(
                Framing::LengthPrefixed {
                    width: 4,
                    big_endian: false,
                    offset: 3,
                    includes_header: true,
                    trailer: 2,
                },
                None,
            ),
            settings(Framing::Idle { gap_ms: 50 }, Some(Checksum::Crc32)),
        ];
        for case in cases {
            assert_eq!(ReadingDraft::of(&case).settings(), Ok(case.clone()));
        }
        let hex = ReadingDraft::of(&cases_hex());
        assert_eq!((hex.delimiter, hex.hex.as_str()), ("hex", "03 7e"));
    }

    fn cases_hex() -> ConnSettings {
        settings(
            Framing::Delimiter {
                delimiter: Delimiter(vec![0x03, 0x7e]),
            },
            None,
        )
    }

    /// The draft after the fields changed as the form reports them.
    fn typed(fields: &[(&str, &str)]) -> ReadingDraft {
        let mut d = ReadingDraft::default();
        for (field, value) in fields {
            d.set(field, value.to_string());
        }
        d
    }

    #[test]
    fn each_field_sets_its_part() {
        let d = typed(&[
            ("mode", "length"),
            ("width", "4"),
            ("order", "le"),
            ("offset", "3"),
            ("header", "true"),
            ("checksum", "crc32"),
        ]);
        assert_eq!(
            d.settings(),
            Ok(settings(
                Framing::LengthPrefixed {
                    width: 4,
                    big_endian: false,
                    offset: 3,
                    includes_header: true,
                    trailer: 0,
                },
                Some(Checksum::Crc32)
            ))
        );
        let d = typed(&[
            ("mode", "delimiter"),
            ("delimiter", "hex"),
            ("hex", "0d 0a"),
        ]);
        assert_eq!(
            d.settings().unwrap(),
            settings(
                Framing::Delimiter {
                    delimiter: Delimiter::crlf()
                },
                None
            )
        );
        let d = typed(&[("mode", "idle"), ("gap", "5"), ("checksum", "none")]);
        assert_eq!(
            d.settings().unwrap(),
            settings(Framing::Idle { gap_ms: 5 }, None)
        );
        assert_eq!(typed(&[("mode", "nonsense")]).mode, "raw");
    }

    #[test]
    fn what_does_not_check_is_refused_with_the_reason() {
        let refused = |fields: &[(&str, &str)]| typed(fields).settings().unwrap_err();
        assert_eq!(
            refused(&[("mode", "fixed"), ("len", "0")]),
            "A fixed length of 0 bytes is not allowed: give 1 to 1048576."
        );
        assert!(refused(&[("mode", "fixed"), ("len", "eight")]).contains("“eight” is not one"));
        assert!(refused(&[("mode", "idle"), ("gap", "0")]).contains("1 to 60000 ms"));
        assert!(
            refused(&[("mode", "delimiter"), ("delimiter", "hex"), ("hex", "0d0")])
                .contains("is not bytes in hex")
        );
        assert!(refused(&[("mode", "delimiter"), ("delimiter", "hex")])
            .starts_with("Type the delimiter's bytes"));
        assert!(refused(&[("mode", "length"), ("offset", "-1")])
            .contains("The offset is a whole number"));
        assert!(refused(&[("mode", "length"), ("trailer", "two")])
            .contains("The trailer is a whole number"));
        assert_eq!(
            refused(&[("mode", "length"), ("trailer", "300")]),
            "A trailer of 300 bytes is too long: it may be 0 to 255."
        );
        assert_eq!(
            refused(&[("mode", "length"), ("offset", "99999999999")]),
            "The offset is at most 65535 bytes: “99999999999” is too large."
        );
        assert!(
            refused(&[("mode", "idle"), ("gap", "123456789012345678901234567890")])
                .starts_with("The gap is at most 60000 milliseconds: ")
        );
        assert!(refused(&[("mode", "length"), ("offset", "70000")]).contains("0 to 65535"));
    }

    #[test]
    fn a_preset_sets_every_field_and_is_named_while_they_say_it() {
        let d = typed(&[("mode", "fixed"), ("len", "3"), ("preset", "modbus-rtu")]);
        assert_eq!(
            (d.mode, d.width, d.offset.as_str(), d.trailer.as_str()),
            ("length", 1, "2", "2")
        );
        assert!(!d.includes_header);
        assert_eq!(d.checksum, Some(Checksum::Crc16Modbus));
        assert_eq!(d.preset(), "modbus-rtu");
        let mut changed = d.clone();
        changed.set("trailer", "0".into());
        assert_eq!(changed.preset(), "custom");
        // Custom keeps the fields as they are.
        changed.set("preset", "custom".into());
        assert_eq!(changed.trailer, "0");

        assert_eq!(ReadingDraft::default().preset(), "custom");
        for (value, _) in &PRESETS[1..] {
            let settings = preset(value).unwrap();
            assert_eq!(settings.framing.validate(), Ok(()), "{value}");
            let draft = typed(&[("preset", value)]);
            assert_eq!(draft.settings(), Ok(settings), "{value}");
            assert_eq!(draft.preset(), *value);
        }
        assert_eq!(
            preset("modbus-tcp").unwrap().framing,
            Framing::LengthPrefixed {
                width: 2,
                big_endian: true,
                offset: 4,
                includes_header: false,
                trailer: 0
            }
        );
    }

    #[test]
    fn the_summary_is_short() {
        assert_eq!(summary(&ConnSettings::default()), "raw");
        assert_eq!(
            summary(&settings(
                Framing::Delimiter {
                    delimiter: Delimiter::crlf()
                },
                Some(Checksum::Crc16Modbus)
            )),
            "delimiter \\r\\n · CRC-16/MODBUS"
        );
        assert_eq!(
            summary(&settings(
                Framing::LengthPrefixed {
                    width: 2,
                    big_endian: false,
                    offset: 0,
                    includes_header: false,
                    trailer: 0,
                },
                None
            )),
            "length 2 B LE"
        );
        assert_eq!(
            summary(&preset("modbus-rtu").unwrap()),
            "length 1 B + 2 B · CRC-16/MODBUS"
        );
    }

    #[test]
    fn checksum_menus_name_each_checksum_once() {
        let options = checksum_options();
        assert_eq!(options.len(), 7);
        for (value, _) in options {
            assert_eq!(checksum_value(checksum_of(value)), value);
        }
    }
}
