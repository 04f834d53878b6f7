//! One message as a line of JSON Lines. The bridge's `--transcript` and the page's "JSON Lines"
//! download write the same fields, with this one type, so that one reader reads both.
//!
//! ```json
//! {"at":"2026-11-24T20:11:32.103520Z","run":"2026-11-24T20:11:30.008112Z","conn":1,"seq":1,"dir":"rx","text":"你好\n"}
//! {"at":"2026-11-24T20:11:33.200001Z","conn":1,"seq":2,"dir":"rx","hex":"ff00"}
//! {"at":"2026-11-24T20:11:34.000000Z","conn":1,"seq":3,"dir":"tx","text":"你好","encoding":"GBK","hex":"c4e3bac3"}
//! {"at":"2026-11-24T20:11:35.000000Z","conn":1,"seq":4,"dir":"tx","text":"ACME,1000\n","rule":"idn"}
//! {"at":"2026-11-24T20:11:36.000000Z","conn":2,"seq":5,"dir":"rx","way":"client_to_server","text":"GET\n"}
//! {"at":"2026-11-24T20:11:36.000100Z","conn":2,"seq":6,"dir":"tx","way":"server_to_client","text":"OK\n"}
//! {"at":"2026-11-24T20:11:37.000000Z","conn":2,"seq":7,"dir":"rx","way":"client_to_server","injected":true,"text":"PING\n"}
//! {"at":"2026-11-24T20:11:38.000000Z","conn":2,"seq":8,"dir":"rx","way":"client_to_server","edited":true,"text":"SET 25\n","original_text":"SET 20\n"}
//! {"at":"2026-11-24T20:11:39.000000Z","conn":2,"seq":9,"dir":"tx","way":"server_to_client","dropped":true,"hex":"ff00"}
//! ```
//! `way` is there for a proxied conversation's records: which side said it (`dir` then says the
//! same, `rx` client→server); `injected` when a page wrote it rather than the side it goes as.
//! A held message a page edited before forwarding it is `edited`: its bytes are what went on,
//! and `original_text` or `original_hex` what the side said (the transcript keeps it; a page's
//! download does not have it). One a page dropped is `dropped`: what the side said, which never
//! reached the other side.

use serde::{Deserialize, Serialize};

use crate::{hex, time, ConnId, Flow, Marks, RecordHeader, Seq, Way};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordLine {
    /// When the bytes were read or written: RFC 3339, UTC, to the microsecond.
    pub at: String,
    /// The run of the bridge (its start time), in the transcript: connection ids restart with
    /// each run, and a file may be appended to across runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    pub conn: ConnId,
    pub seq: Seq,
    pub dir: Flow,
    /// A proxied conversation's record: which way it went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub way: Option<Way>,
    /// A proxied conversation's record that a page wrote, rather than relayed from a side.
    #[serde(default, skip_serializing_if = "is_false")]
    pub injected: bool,
    /// The bytes as text, when they read as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The encoding `text` was read in, when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// The exact bytes, whenever `text` alone would not give them back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    /// The auto-reply rule that sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The message goes on in the next record (it was longer than the framing allows).
    #[serde(default, skip_serializing_if = "is_false")]
    pub cut: bool,
    /// The connection closed, or its framing changed, before the message ended.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unfinished: bool,
    /// The message did not end with its checksum.
    #[serde(default, skip_serializing_if = "is_false")]
    pub bad_checksum: bool,
    /// Part of a file sent.
    #[serde(default, skip_serializing_if = "is_false")]
    pub file: bool,
    /// A held message a page edited before forwarding it: the bytes are what went on.
    #[serde(default, skip_serializing_if = "is_false")]
    pub edited: bool,
    /// What the side said before the edit, as `text` (when UTF-8) or `hex`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_hex: Option<String>,
    /// A held message a page dropped: what the side said, never sent on.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dropped: bool,
}

fn is_false(b: &bool) -> bool {
    !b
}

/// Bytes as a line writes them: `text` when they are UTF-8, else `hex`.
fn text_or_hex(data: &[u8]) -> (Option<String>, Option<String>) {
    match std::str::from_utf8(data) {
        Ok(text) => (Some(text.to_owned()), None),
        Err(_) => (None, Some(hex::encode(data))),
    }
}

/// The bytes a line's `text` and `hex` give back ([`text_or_hex`]'s inverse): `hex` when it
/// has it, else the text's UTF-8.
fn bytes_of(text: Option<&str>, digits: Option<&str>) -> Option<Vec<u8>> {
    match (digits, text) {
        (Some(digits), _) => hex::decode(digits),
        (None, Some(text)) => Some(text.as_bytes().to_vec()),
        (None, None) => None,
    }
}

impl RecordLine {
    /// A record's line: `text` when its bytes are UTF-8, else `hex`; and what marks it.
    pub fn new(header: &RecordHeader, data: &[u8], rule: Option<&str>) -> RecordLine {
        let (text, hex) = text_or_hex(data);
        RecordLine {
            at: time::rfc3339_micros(header.at),
            run: None,
            conn: header.conn,
            seq: header.seq,
            dir: header.flow,
            way: Way::of(header.flow, header.marks),
            injected: header.marks.contains(Marks::INJECTED),
            text,
            encoding: None,
            hex,
            rule: rule.map(str::to_owned),
            cut: header.marks.contains(Marks::CUT),
            unfinished: header.marks.contains(Marks::UNFINISHED),
            bad_checksum: header.marks.contains(Marks::BAD_CHECKSUM),
            file: header.marks.contains(Marks::FILE),
            edited: header.marks.contains(Marks::EDITED),
            original_text: None,
            original_hex: None,
            dropped: header.marks.contains(Marks::DROPPED),
        }
    }

    /// The same line of an edited message, with what the side said before the edit.
    pub fn with_original(self, original: &[u8]) -> RecordLine {
        let (original_text, original_hex) = text_or_hex(original);
        RecordLine {
            original_text,
            original_hex,
            ..self
        }
    }

    /// What the side said before a page edited it, when the line keeps it.
    pub fn original(&self) -> Option<Vec<u8>> {
        bytes_of(self.original_text.as_deref(), self.original_hex.as_deref())
    }

    /// The same record read in another encoding: `text` as decoded there (`None` when it did not
    /// decode cleanly), and the exact bytes in `hex`, which `text` alone no longer gives back.
    pub fn read_in(self, encoding: &str, text: Option<String>, data: &[u8]) -> RecordLine {
        RecordLine {
            encoding: text.is_some().then(|| encoding.to_owned()),
            text,
            hex: Some(hex::encode(data)),
            ..self
        }
    }

    /// The exact bytes, as the line records them.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        if self.hex.is_none() && self.encoding.is_some() {
            return None; // text in another encoding does not give its bytes back
        }
        bytes_of(self.text.as_deref(), self.hex.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(flow: Flow) -> RecordHeader {
        RecordHeader {
            conn: 1,
            seq: 2,
            flow,
            at: 1_700_000_000_123_456,
            marks: Marks::NONE,
        }
    }

    #[test]
    fn text_when_utf8_else_hex_and_the_bytes_come_back() {
        let line = RecordLine::new(&header(Flow::Rx), "你好\n".as_bytes(), None);
        assert_eq!(
            serde_json::to_string(&line).unwrap(),
            r#"{"at":"2023-11-14T22:13:20.123456Z","conn":1,"seq":2,"dir":"rx","text":"你好\n"}"#
        );
        let binary = RecordLine::new(&header(Flow::Tx), &[0xff, 0x00], None);
        assert_eq!(binary.hex.as_deref(), Some("ff00"));
        assert_eq!(binary.text, None);
        let gbk = RecordLine::new(&header(Flow::Tx), &[0xc4, 0xe3], None).read_in(
            "GBK",
            Some("你".into()),
            &[0xc4, 0xe3],
        );
        let replied = RecordLine::new(
            &RecordHeader {
                marks: Marks::CUT.with(Marks::BAD_CHECKSUM),
                ..header(Flow::Tx)
            },
            b"OK",
            Some("idn"),
        );
        assert_eq!(
            serde_json::to_string(&replied).unwrap(),
            r#"{"at":"2023-11-14T22:13:20.123456Z","conn":1,"seq":2,"dir":"tx","text":"OK","rule":"idn","cut":true,"bad_checksum":true}"#
        );
        for line in [line, binary, gbk, replied] {
            let json = serde_json::to_string(&line).unwrap();
            let back: RecordLine = serde_json::from_str(&json).unwrap();
            assert_eq!(back, line);
            assert!(back.bytes().is_some());
        }
    }

    #[test]
    fn an_edited_message_keeps_what_the_side_said_and_a_dropped_one_says_so() {
        let proxied = |mark| RecordHeader {
            marks: Marks::PROXIED.with(mark),
            ..header(Flow::Rx)
        };
        let edited =
            RecordLine::new(&proxied(Marks::EDITED), b"SET 25\n", None).with_original(&[0xff]);
        let json = serde_json::to_string(&edited).unwrap();
        assert!(
            json.ends_with(r#""text":"SET 25\n","edited":true,"original_hex":"ff"}"#),
            "{json}"
        );
        let back: RecordLine = serde_json::from_str(&json).unwrap();
        assert_eq!(back.original(), Some(vec![0xff]));
        let dropped = RecordLine::new(&proxied(Marks::DROPPED), b"X", None);
        assert!(dropped.dropped && !dropped.edited && dropped.original().is_none());
    }

    #[test]
    fn the_documented_lines_read() {
        let doc = include_str!("jsonl.rs");
        let lines: Vec<&str> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("//! {"))
            .collect();
        assert_eq!(lines.len(), 9);
        for line in lines {
            let parsed: RecordLine = serde_json::from_str(&format!("{{{line}")).unwrap();
            assert!(parsed.bytes().is_some(), "{line}");
        }
    }
}
