//! Property tests of the decoders that read what arrives from the network: whatever the bytes,
//! they return a value or an error, never panic; and what the encoders write reads back the same.
//! The case count is bounded (`PROPTEST_CASES` raises it for a longer run).

use proptest::prelude::*;
use protocol::{
    Bytes, Command, Flow, Frame, Marks, Record, RecordHeader, Target, ToBridge, ToClient, Transmit,
    Transport, RECORD_HEADER_LEN, TAG_RECORD, TAG_TRANSMIT, TRANSMIT_HEADER_LEN,
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
        prop_oneof![Just(TAG_RECORD), Just(TAG_TRANSMIT), any::<u8>()],
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
        Just(r#""dial""#.to_owned()),
        Just(r#""connect""#.to_owned()),
        Just(r#""forget_closed""#.to_owned()),
        Just(r#","request":"#.to_owned()),
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
        let (file, broadcast, to_server) = (data.len() % 2 == 1, data.len() % 3 == 1, data.len() % 5 < 2);
        let transmit = Transmit { to, file, broadcast, to_server, data: Bytes::from(data) };
        let frame = transmit.encode();
        prop_assert_eq!(frame.len(), TRANSMIT_HEADER_LEN + transmit.data.len());
        prop_assert_eq!(&Transmit::decode(&frame).unwrap(), &transmit);
        let message = ToBridge::from_frame(&Frame::Binary(frame)).unwrap();
        prop_assert_eq!(message, ToBridge::Transmit(transmit));
    }

    #[test]
    fn record_frames_round_trip(
        conn in any::<u64>(), seq in any::<u64>(), flow in flow(), at in any::<i64>(),
        data in prop::collection::vec(any::<u8>(), 0..512), marks in any::<u8>(),
        rule in prop::option::of("[a-z0-9._-]{1,64}"),
    ) {
        let record = Record {
            marks: Marks(marks),
            rule: rule.clone(),
            ..Record::new(conn, seq, flow, at, data)
        };
        let frame = record.encode();
        let rule_len = rule.as_ref().map_or(0, String::len);
        prop_assert_eq!(frame.len(), RECORD_HEADER_LEN + record.data.len() + rule_len);
        prop_assert_eq!(RecordHeader::read(&frame).unwrap().header, record.header());
        let message = ToClient::from_frame(&Frame::Binary(frame.into())).unwrap();
        prop_assert_eq!(message, ToClient::Record(record));
    }

    #[test]
    fn binary_decoders_never_panic(frame in frame_like()) {
        let frame = Bytes::from(frame);
        let _ = Transmit::decode(&frame);
        let _ = RecordHeader::read(&frame);
        let _ = ToBridge::from_frame(&Frame::Binary(frame.clone()));
        let _ = ToClient::from_frame(&Frame::Binary(frame));
    }

    #[test]
    fn json_decoders_never_panic(text in json_like()) {
        if let Ok(command) = Command::from_json(&text) {
            // Whatever parses is a command the bridge can carry out, and re-encodes to itself.
            let again = ToBridge::from_frame(&command.to_frame()).unwrap();
            prop_assert_eq!(again, ToBridge::Command(command));
        }
        let _ = ToClient::from_frame(&Frame::Text(text));
    }

    #[test]
    fn commands_round_trip(
        host in "[a-z0-9.:\\-\\[\\]]{1,40}", port in any::<u16>(), conn in any::<u64>(),
        request in prop::option::of(any::<u64>()),
    ) {
        let commands = [
            Command::Dial {
                host: host.clone(), port, request,
                transport: [Transport::Tcp, Transport::Tls, Transport::Udp][port as usize % 3],
                accept_any_certificate: port % 2 == 0,
            },
            Command::Disconnect { conn },
            Command::Listen { addr: format!("{host}:{port}"), transport: Transport::Tls, request },
            Command::StopListening { transport: Transport::Udp, request },
            Command::JoinGroup { group: host.clone(), interface: None, request },
            Command::LeaveGroup { group: host.clone(), request },
            Command::ForgetClosed,
        ];
        for command in commands {
            let again = ToBridge::from_frame(&command.to_frame()).unwrap();
            prop_assert_eq!(again, ToBridge::Command(command));
        }
    }
}
