//! Property tests of the decoders that read what arrives from the network: whatever the bytes,
//! they return a value or an error, never panic; and what the encoders write reads back the same.
//! The case count is bounded (`PROPTEST_CASES` raises it for a longer run).

use proptest::prelude::*;
use protocol::{
    decode_send, encode_send, Command, Event, Flow, Frame, Record, RecordHeader, Target,
    RECORD_HEADER_LEN, SEND_HEADER_LEN, TAG_RECORD, TAG_SEND,
};

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        Just(Target::All),
        (0..u64::MAX).prop_map(Target::Conn), // u64::MAX itself means all
    ]
}

fn flow() -> impl Strategy<Value = Flow> {
    prop_oneof![Just(Flow::Rx), Just(Flow::Tx)]
}

/// Bytes that often look like a frame: a valid tag first, then anything.
fn frame_like() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just(TAG_RECORD), Just(TAG_SEND), any::<u8>()],
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(tag, rest)| {
            let mut frame = vec![tag];
            frame.extend(rest);
            frame
        })
}

/// JSON-ish text: fragments of real commands shuffled with noise.
fn json_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(r#"{"type":"#.to_owned()),
        Just(r#""connect""#.to_owned()),
        Just(r#""disconnect""#.to_owned()),
        Just(r#""send""#.to_owned()),
        Just(r#""listen""#.to_owned()),
        Just(r#""stop_listening""#.to_owned()),
        Just(r#","addr":"#.to_owned()),
        Just(r#","host":"#.to_owned()),
        Just(r#","port":"#.to_owned()),
        Just(r#","conn":"#.to_owned()),
        Just("}".to_owned()),
        Just("\"".to_owned()),
        (0..100_000u32).prop_map(|n| n.to_string()),
        "\\PC{0,8}",
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn send_frames_round_trip(to in target(), data in prop::collection::vec(any::<u8>(), 0..512)) {
        let frame = encode_send(to, &data);
        prop_assert_eq!(frame.len(), SEND_HEADER_LEN + data.len());
        let (header, payload) = decode_send(&frame).unwrap();
        prop_assert_eq!(header.to, to);
        prop_assert_eq!(payload, &data[..]);
        let command = Command::from_frame(&Frame::Binary(frame)).unwrap();
        prop_assert_eq!(command, Command::Send { to, data });
    }

    #[test]
    fn record_frames_round_trip(
        conn in any::<u64>(), seq in any::<u64>(), flow in flow(), at in any::<i64>(),
        data in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let record = Record { conn, seq, flow, at, data };
        let frame = record.encode();
        prop_assert_eq!(frame.len(), RECORD_HEADER_LEN + record.data.len());
        prop_assert_eq!(RecordHeader::read(&frame).unwrap().0, record.header());
        prop_assert_eq!(Event::from_frame(&Frame::Binary(frame)).unwrap(), Event::Record(record));
    }

    #[test]
    fn binary_decoders_never_panic(frame in frame_like()) {
        let _ = decode_send(&frame);
        let _ = RecordHeader::read(&frame);
        let _ = Command::from_frame(&Frame::Binary(frame.clone()));
        let _ = Event::from_frame(&Frame::Binary(frame));
    }

    #[test]
    fn json_decoders_never_panic(text in json_like()) {
        if let Ok(command) = Command::from_json(&text) {
            // Whatever parses is a command the bridge can carry out, and re-encodes to itself.
            prop_assert_eq!(Command::from_frame(&command.to_frame()).unwrap(), command);
        }
        let _ = Event::from_frame(&Frame::Text(text));
    }

    #[test]
    fn commands_round_trip(host in "[a-z0-9.:\\-\\[\\]]{1,40}", port in any::<u16>(), conn in any::<u64>()) {
        let commands = [
            Command::Connect { host: host.clone(), port },
            Command::Disconnect { conn },
            Command::Listen { addr: format!("{host}:{port}") },
            Command::StopListening,
        ];
        for command in commands {
            prop_assert_eq!(Command::from_frame(&command.to_frame()).unwrap(), command);
        }
    }
}
