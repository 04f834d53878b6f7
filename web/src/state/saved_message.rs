//! A saved message: its text and how that becomes bytes (input mode, line ending, escapes,
//! checksum, and the encoding its text is written in), kept as they were when it was saved, so
//! that a click sends what the composer's preview said then, whatever the composer's options or
//! conversation are now. Here: what its chip says of it, the list's rules, and the form the
//! browser keeps the list in (which reads the older form, the text alone, too).

use serde::{Deserialize, Serialize};

use crate::bytes_view::compose::{ComposeOptions, InputMode, LineEnding};
use crate::encoding::Encoding;

/// How many saved messages are kept.
pub const SAVED_MAX: usize = 12;

/// How a message becomes bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct How {
    pub options: ComposeOptions,
    /// What its text is written in (hex input has no text).
    pub encoding: Encoding,
}

impl How {
    /// What is in force of it: hex has no line ending, no escapes and no encoding, whatever the
    /// options held for text.
    fn in_force(self) -> How {
        match self.options.mode {
            InputMode::Text => self,
            InputMode::Hex => How {
                options: ComposeOptions {
                    ending: LineEnding::None,
                    escapes: false,
                    ..self.options
                },
                encoding: Encoding::default(),
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedMessage {
    pub text: String,
    /// What its chip shows instead of the text, if the user named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How it becomes bytes, as when it was saved. `None` for a message saved before the page
    /// kept that (the browser has its text alone): it is sent with the composer's options in
    /// force, as it always was, since nothing says what it was saved with.
    #[serde(default)]
    pub how: Option<How>,
}

impl SavedMessage {
    /// `text`, to be sent as `how` makes it; named `name` unless that is blank.
    pub fn new(text: &str, name: &str, how: How) -> SavedMessage {
        let name = name.trim();
        SavedMessage {
            text: text.to_string(),
            name: (!name.is_empty()).then(|| name.to_string()),
            how: Some(how),
        }
    }

    /// The bytes it sends: as it was saved; one saved without its options, as `now` makes it.
    pub fn compose(&self, now: How) -> Result<Vec<u8>, String> {
        let how = self.how.unwrap_or(now);
        how.options.compose(&self.text, how.encoding)
    }

    /// What its chip shows: its name, else its text.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.text)
    }

    /// How it is sent, as its chip says: `HEX · CRC-16/MODBUS`, `TEXT · CRLF · escapes · GBK`;
    /// `None` for a message saved without its options.
    pub fn how_label(&self) -> Option<String> {
        let How { options, encoding } = self.how?.in_force();
        let mut parts: Vec<&str> = Vec::new();
        match options.mode {
            InputMode::Hex => parts.push("HEX"),
            InputMode::Text => {
                parts.push("TEXT");
                parts.push(match options.ending {
                    LineEnding::None => "no line ending",
                    ending => ending.label(),
                });
                if options.escapes {
                    parts.push("escapes");
                }
                if encoding != Encoding::Utf8 {
                    parts.push(encoding.label());
                }
            }
        }
        if let Some(checksum) = options.checksum {
            parts.push(checksum.label());
        }
        Some(parts.join(" · "))
    }

    /// Whether it sends what `other` sends (their names aside).
    fn sends_like(&self, other: &SavedMessage) -> bool {
        self.text == other.text && self.how.map(How::in_force) == other.how.map(How::in_force)
    }
}

/// `message` added to `list`, newest first: one that sends the same gives it its place (and
/// takes its name); at most [`SAVED_MAX`].
pub fn add_saved(list: &[SavedMessage], message: SavedMessage) -> Vec<SavedMessage> {
    let mut out: Vec<SavedMessage> = list
        .iter()
        .filter(|m| !m.sends_like(&message))
        .cloned()
        .collect();
    out.insert(0, message);
    out.truncate(SAVED_MAX);
    out
}

/// The list in the form the browser keeps it (JSON).
pub fn to_json(list: &[SavedMessage]) -> String {
    serde_json::to_string(list).expect("saved messages are plain data")
}

/// The list the browser kept. An entry that is a string is the older form, the text alone; an
/// entry this page cannot read (a later page's) is left out rather than losing the rest.
pub fn from_json(json: &str) -> Vec<SavedMessage> {
    let entries: Vec<serde_json::Value> = serde_json::from_str(json).unwrap_or_default();
    entries
        .into_iter()
        .filter_map(|entry| match entry {
            serde_json::Value::String(text) => Some(SavedMessage {
                text,
                name: None,
                how: None,
            }),
            entry => serde_json::from_value(entry).ok(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use protocol::checksum::Checksum;

    use super::*;

    const MODBUS_HEX: How = How {
        options: ComposeOptions {
            mode: InputMode::Hex,
            ending: LineEnding::Lf,
            escapes: false,
            checksum: Some(Checksum::Crc16Modbus),
        },
        encoding: Encoding::Utf8,
    };

    fn text(ending: LineEnding) -> How {
        How {
            options: ComposeOptions {
                ending,
                ..ComposeOptions::default()
            },
            encoding: Encoding::Utf8,
        }
    }

    #[test]
    fn a_saved_message_sends_as_it_was_saved_whatever_the_composer_holds_now() {
        let read = SavedMessage::new("01 03 00 00 00 02", " ", MODBUS_HEX);
        assert_eq!(read.name, None, "a blank name is none");
        let now = text(LineEnding::Lf);
        assert_eq!(
            read.compose(now),
            Ok(vec![0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0xc4, 0x0b])
        );
        assert_eq!(read.how_label().as_deref(), Some("HEX · CRC-16/MODBUS"));
        let gbk = How {
            options: ComposeOptions {
                ending: LineEnding::CrLf,
                escapes: true,
                ..ComposeOptions::default()
            },
            encoding: Encoding::Gbk,
        };
        let hello = SavedMessage::new(r"你\x01", "hello", gbk);
        assert_eq!(hello.label(), "hello");
        assert_eq!(hello.compose(now), Ok(b"\xc4\xe3\x01\r\n".to_vec()));
        assert_eq!(
            hello.how_label().as_deref(),
            Some("TEXT · CRLF · escapes · GBK")
        );
        let bare = SavedMessage::new("AT", "", text(LineEnding::None));
        assert_eq!(bare.how_label().as_deref(), Some("TEXT · no line ending"));
    }

    #[test]
    fn the_older_form_is_read_and_sent_with_the_options_in_force() {
        let list = from_json(r#"["AT+GMR", {"text": "x", "future": 1, "how": 7}, "ATI"]"#);
        assert_eq!(list.len(), 2, "the unreadable entry is left out: {list:?}");
        assert_eq!((list[0].text.as_str(), list[0].how), ("AT+GMR", None));
        assert_eq!(list[0].how_label(), None);
        assert_eq!(
            list[0].compose(text(LineEnding::CrLf)),
            Ok(b"AT+GMR\r\n".to_vec())
        );
        assert!(from_json("not json").is_empty());
        let kept = vec![
            SavedMessage::new("01 03", "read", MODBUS_HEX),
            list[1].clone(),
        ];
        assert_eq!(from_json(&to_json(&kept)), kept, "read back as written");
    }

    #[test]
    fn the_list_is_newest_first_one_per_way_of_sending_and_bounded() {
        let lf = SavedMessage::new("AT", "", text(LineEnding::Lf));
        let crlf = SavedMessage::new("AT", "", text(LineEnding::CrLf));
        let list = add_saved(&add_saved(&[], lf.clone()), crlf.clone());
        assert_eq!(
            list,
            [crlf.clone(), lf.clone()],
            "other bytes: another message"
        );
        let named = SavedMessage::new("AT", "reset", text(LineEnding::Lf));
        assert_eq!(add_saved(&list, named.clone()), [named, crlf]);
        // Hex sends no line ending, whatever the text's was: the same message.
        let hex = |ending| {
            let mut how = MODBUS_HEX;
            how.options.ending = ending;
            SavedMessage::new("01", "", how)
        };
        assert_eq!(
            add_saved(&[hex(LineEnding::Lf)], hex(LineEnding::Cr)).len(),
            1
        );
        let many = (0..20).fold(Vec::new(), |l, i| {
            add_saved(&l, SavedMessage::new(&i.to_string(), "", MODBUS_HEX))
        });
        assert_eq!(many.len(), SAVED_MAX);
        assert_eq!(many[0].text, "19");
    }
}
