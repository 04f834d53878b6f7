//! The page's side of the wire: what the transport hands the reducer, decoded from the bridge's
//! frames. Pure, so it is tested natively; [`crate::ws`] does the browser's part.
//!
//! A record's payload is copied once, from the browser's buffer straight into the `Rc<[u8]>`
//! the conversation keeps: the header is read from its own 26 bytes, so the frame is never
//! copied whole.

use std::rc::Rc;

use protocol::{ConnId, Event, Record, RecordHeader, RECORD_HEADER_LEN};

use crate::state::Rec;

/// The page's WebSocket to the bridge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketStatus {
    Connecting,
    Open,
    Closed { retry_in_ms: u32 },
}

/// One thing the bridge said, as the reducer takes it.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// A control event (a text frame).
    Event(Event),
    /// Bytes received from or written to a peer of connection `.0` (a binary frame).
    Record(ConnId, Rec),
}

impl From<Record> for Incoming {
    fn from(r: Record) -> Incoming {
        let (conn, rec) = split_record(r);
        Incoming::Record(conn, rec)
    }
}

/// A protocol record as its connection and the record a conversation keeps.
pub fn split_record(r: Record) -> (ConnId, Rec) {
    let rec = Rec {
        seq: r.seq,
        flow: r.flow,
        at: r.at,
        data: r.data.into(),
    };
    (r.conn, rec)
}

/// Decodes a text frame.
pub fn decode_text(text: &str) -> Result<Incoming, String> {
    Event::from_json(text)
        .map(Incoming::Event)
        .map_err(|e| e.to_string())
}

/// Decodes a binary frame of `len` bytes, of which `head` holds at least the first
/// [`RECORD_HEADER_LEN`]; `fill` copies the rest (the payload) into the slice it is given.
pub fn decode_record(
    head: &[u8],
    len: usize,
    fill: impl FnOnce(&mut [u8]),
) -> Result<Incoming, String> {
    if len < RECORD_HEADER_LEN {
        return Err(format!(
            "a binary frame of {len} bytes is shorter than a record header"
        ));
    }
    let (h, _) = RecordHeader::read(head).map_err(|e| e.to_string())?;
    // One allocation, filled in place: no intermediate vector.
    let mut data: Rc<[u8]> = std::iter::repeat_n(0, len - RECORD_HEADER_LEN).collect();
    fill(Rc::get_mut(&mut data).expect("a new Rc has one owner"));
    Ok(Incoming::Record(
        h.conn,
        Rec {
            seq: h.seq,
            flow: h.flow,
            at: h.at,
            data,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{ConnInfo, ConnState, Flow, Origin};

    #[test]
    fn a_record_is_read_from_its_header_and_payload() {
        let record = Record {
            conn: 7,
            seq: 42,
            flow: Flow::Tx,
            at: 1_700_000_000_000_001,
            data: b"hi\xff".to_vec(),
        };
        let frame = record.encode();
        let got = decode_record(&frame[..RECORD_HEADER_LEN], frame.len(), |out| {
            out.copy_from_slice(&frame[RECORD_HEADER_LEN..])
        })
        .unwrap();
        assert_eq!(got, Incoming::from(record));

        let err = decode_record(&frame[..10], 10, |_| {}).unwrap_err();
        assert!(err.contains("shorter than a record header"), "{err}");
        let mut bad = frame.clone();
        bad[1] = 9;
        assert!(decode_record(&bad, bad.len(), |_| {}).is_err());
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
