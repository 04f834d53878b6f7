//! The page's side of the wire: what the transport hands the reducer, decoded from the bridge's
//! frames. Pure, so it is tested natively; [`crate::ws`] does the browser's part.
//!
//! A record's payload is copied once, from the browser's buffer straight into the `Rc<[u8]>`
//! the conversation keeps: the header is read from its own 26 bytes, so the frame is never
//! copied whole.

use std::rc::Rc;

use protocol::{ConnId, Event, Frame, Record, RecordHeader, RECORD_HEADER_LEN};

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
    /// The bridge forgot these closed connections and their history (`forgotten`).
    Forgotten(Vec<ConnId>),
}

impl From<Event> for Incoming {
    fn from(event: Event) -> Incoming {
        match event {
            Event::Record(r) => {
                let (conn, rec) = split_record(r);
                Incoming::Record(conn, rec)
            }
            event => Incoming::Event(event),
        }
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

/// Reads `{"type":"forgotten","conns":[3,4,9]}`, an event the `protocol` crate does not name
/// yet, so that the page reads it the same way before and after the crate gains it. By hand: a
/// serde decoder for one more type costs the page 8 KB.
fn forgotten(text: &str) -> Option<Vec<ConnId>> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if !compact.starts_with('{') || !compact.contains(r#""type":"forgotten""#) {
        return None;
    }
    let start = compact.find(r#""conns":["#)? + r#""conns":["#.len();
    let list = &compact[start..start + compact[start..].find(']')?];
    if list.is_empty() {
        return Some(Vec::new());
    }
    list.split(',').map(|id| id.parse().ok()).collect()
}

/// Decodes a text frame.
pub fn decode_text(text: &str) -> Result<Incoming, String> {
    // A cheap test first: nearly every frame is something else.
    if text.contains("\"forgotten\"") {
        if let Some(conns) = forgotten(text) {
            return Ok(Incoming::Forgotten(conns));
        }
    }
    serde_json::from_str::<Event>(text)
        .map(Incoming::Event)
        .map_err(|e| format!("malformed message: {e}"))
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

/// Asks the bridge to forget every closed connection and its history; it answers every page
/// with `forgotten`. Written here until the `protocol` crate names it (`Command::ForgetClosed`).
pub fn forget_closed() -> Frame {
    Frame::Text(r#"{"type":"forget_closed"}"#.into())
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
        assert_eq!(got, Incoming::from(Event::Record(record)));

        let err = decode_record(&frame[..10], 10, |_| {}).unwrap_err();
        assert!(err.contains("shorter than a record header"), "{err}");
        let mut bad = frame.clone();
        bad[1] = 9;
        assert!(decode_record(&bad, bad.len(), |_| {}).is_err());
    }

    #[test]
    fn text_frames_are_events_and_forgotten_is_read_already() {
        let conn = ConnInfo {
            id: 3,
            origin: Origin::Accepted,
            peer: "forgotten.example:80".into(),
            local: None,
            state: ConnState::Closed,
            opened_at: 0,
            closed_at: None,
            close_reason: Some("\"forgotten\"".into()),
            rx_bytes: 0,
            tx_bytes: 0,
            rx_msgs: 0,
            tx_msgs: 0,
            elided_msgs: 0,
            elided_bytes: 0,
        };
        let event = Event::Conn { conn };
        let text = serde_json::to_string(&event).unwrap();
        assert_eq!(decode_text(&text), Ok(Incoming::Event(event)));
        assert_eq!(
            decode_text(r#"{"type":"forgotten","conns":[3,4,9]}"#),
            Ok(Incoming::Forgotten(vec![3, 4, 9]))
        );
        assert_eq!(
            decode_text(r#"{ "conns": [ ], "type": "forgotten" }"#),
            Ok(Incoming::Forgotten(vec![]))
        );
        assert!(decode_text(r#"{"type":"forgotten","conns":[3,x]}"#).is_err());
        assert_eq!(
            forget_closed(),
            Frame::Text(r#"{"type":"forget_closed"}"#.into())
        );
        let err = decode_text(r#"{"type":"launch"}"#).unwrap_err();
        assert!(err.starts_with("malformed message"), "{err}");
    }
}
