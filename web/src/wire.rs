//! The page's side of the wire: what the transport hands the reducer, decoded from the bridge's
//! frames. Pure, so it is tested natively; [`crate::ws`] does the browser's part.
//!
//! A record's payload is copied once, from the browser's buffer straight into the `Rc<[u8]>`
//! the conversation keeps: the header is read from its own 28 bytes, so the frame is never
//! copied whole. A part of a file is not copied at all: the page counts it, and shows the file
//! as one entry.

use std::rc::Rc;

use protocol::{Event, Marks, Record, RecordHeader, RECORD_HEADER_LEN};

use crate::state::{FilePart, Incoming, Rec};

impl From<Record> for Incoming {
    fn from(r: Record) -> Incoming {
        if r.marks.contains(Marks::FILE) {
            let len = r.data.len() as u64;
            return Incoming::FilePart(FilePart {
                head: r.header(),
                len,
            });
        }
        Incoming::Record(r.into())
    }
}

/// Decodes a text frame.
pub fn decode_text(text: &str) -> Result<Incoming, String> {
    Event::from_json(text)
        .map(Incoming::Event)
        .map_err(|e| e.to_string())
}

/// Decodes a binary frame of `len` bytes, of which `head` holds at least the first
/// [`RECORD_HEADER_LEN`]; `copy(at, out)` copies the frame's bytes from offset `at` into `out`
/// (the payload, and the rule id after it).
pub fn decode_record(
    head: &[u8],
    len: usize,
    copy: impl Fn(usize, &mut [u8]),
) -> Result<Incoming, String> {
    if len < RECORD_HEADER_LEN {
        return Err(format!(
            "a binary frame of {len} bytes is shorter than a record header"
        ));
    }
    let (h, rule_len) = RecordHeader::read_head(head).map_err(|e| e.to_string())?;
    let payload_len = len
        .checked_sub(RECORD_HEADER_LEN + rule_len)
        .ok_or("a record frame shorter than its rule id")?;
    if h.marks.contains(Marks::FILE) {
        let len = payload_len as u64;
        return Ok(Incoming::FilePart(FilePart { head: h, len }));
    }
    // One allocation, filled in place: no intermediate vector.
    let mut data: Rc<[u8]> = std::iter::repeat_n(0, payload_len).collect();
    copy(
        RECORD_HEADER_LEN,
        Rc::get_mut(&mut data).expect("a new Rc has one owner"),
    );
    let rule = (rule_len > 0).then(|| {
        let mut id = vec![0; rule_len];
        copy(len - rule_len, &mut id);
        Rc::from(String::from_utf8_lossy(&id))
    });
    Ok(Incoming::Record(Rec {
        head: h,
        rule,
        data,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{ConnInfo, ConnState, Flow, Marks, Origin};

    #[test]
    fn a_record_is_read_from_its_header_and_payload() {
        let record = Record {
            marks: Marks::CUT,
            rule: Some("echo".into()),
            ..Record::new(7, 42, Flow::Tx, 1_700_000_000_000_001, b"hi\xff".to_vec())
        };
        let frame = record.encode();
        let copy = |at: usize, out: &mut [u8]| out.copy_from_slice(&frame[at..at + out.len()]);
        let got = decode_record(&frame[..RECORD_HEADER_LEN], frame.len(), copy).unwrap();
        assert_eq!(got, Incoming::from(record));

        let err = decode_record(&frame[..10], 10, |_, _| {}).unwrap_err();
        assert!(err.contains("shorter than a record header"), "{err}");
        let mut bad = frame.clone();
        bad[1] = 9;
        assert!(decode_record(&bad, bad.len(), |_, _| {}).is_err());
    }

    #[test]
    fn a_part_of_a_file_is_counted_not_copied() {
        let record = Record {
            marks: Marks::FILE,
            ..Record::new(3, 9, Flow::Tx, 5, vec![7; 1000])
        };
        let frame = record.encode();
        let copy = |_: usize, _: &mut [u8]| panic!("a file's bytes are not copied");
        let got = decode_record(&frame[..RECORD_HEADER_LEN], frame.len(), copy).unwrap();
        let head = RecordHeader {
            conn: 3,
            seq: 9,
            flow: Flow::Tx,
            at: 5,
            marks: Marks::FILE,
        };
        assert_eq!(got, Incoming::FilePart(FilePart { head, len: 1000 }));
        assert_eq!(Incoming::from(record), got);
    }

    #[test]
    fn text_frames_are_events() {
        let conn = ConnInfo {
            close_reason: Some("\"forgotten\"".into()),
            ..ConnInfo::new(
                3,
                Origin::Accepted,
                "forgotten.example:80".into(),
                ConnState::Closed,
                0,
            )
        };
        let event = Event::Conn { conn };
        let text = serde_json::to_string(&event).unwrap();
        assert_eq!(decode_text(&text), Ok(Incoming::Event(event)));
        assert_eq!(
            decode_text(r#"{"type":"forgotten","conns":[3,4,9]}"#),
            Ok(Incoming::Event(Event::Forgotten {
                conns: vec![3, 4, 9]
            }))
        );
        assert!(decode_text(r#"{"type":"forgotten","conns":[3,x]}"#).is_err());
        let err = decode_text(r#"{"type":"launch"}"#).unwrap_err();
        assert!(err.starts_with("malformed message"), "{err}");
    }
}
