use super::*;
use crate::text_encoding::TextEncoding;

fn conn(id: ConnId) -> ConnInfo {
    ConnInfo {
        local: Some("127.0.0.1:7777".into()),
        rx_bytes: 3,
        tx_bytes: 4,
        rx_msgs: 1,
        tx_msgs: 1,
        ..ConnInfo::new(
            id,
            Origin::Accepted,
            "127.0.0.1:50000".into(),
            ConnState::Open,
            1_700_000_000_000_000,
        )
    }
}

#[test]
fn every_byte_value_round_trips_in_a_record() {
    let record = Record {
        marks: Marks::CUT.with(Marks::FILE),
        rule: Some("a-rule.1".into()),
        ..Record::new(
            7,
            u64::MAX - 1,
            Flow::Tx,
            -5,
            (0..=255u8).chain([0xff, 0x00, b'\n']).collect(),
        )
    };
    let frame = ToClient::Record(record.clone()).to_frame();
    assert!(matches!(frame, Frame::Binary(_)));
    assert_eq!(ToClient::from_frame(&frame), Ok(ToClient::Record(record)));
}

#[test]
fn empty_payload_round_trips() {
    let record = Record::new(0, 0, Flow::Rx, 0, vec![]);
    assert_eq!(Record::decode(&record.encode()), Ok(record));
    // A rule's id comes after the payload, even an empty one.
    let replied = Record {
        rule: Some("idn".into()),
        ..Record::new(1, 2, Flow::Tx, 3, vec![])
    };
    assert_eq!(Record::decode(&replied.encode()), Ok(replied));
}

#[test]
fn send_round_trips_for_one_and_for_all() {
    for to in [Target::Conn(0), Target::Conn(42), Target::All] {
        let transmit = ToBridge::Transmit(Transmit {
            to,
            file: to == Target::All,
            broadcast: to == Target::All,
            to_server: to != Target::All,
            data: Bytes::from_static(&[0, 0xc3, 0x28, b'x']),
        });
        let frame = transmit.to_frame();
        assert!(matches!(frame, Frame::Binary(_)));
        assert_eq!(ToBridge::from_frame(&frame), Ok(transmit));
    }
}

#[test]
fn control_messages_are_tagged_json() {
    let cmd = Command::Dial {
        host: "::1".into(),
        port: 7777,
        request: None,
        transport: Transport::Tcp,
        accept_any_certificate: false,
    };
    let Frame::Text(json) = cmd.to_frame() else {
        panic!("a dial must be text")
    };
    assert_eq!(json, r#"{"type":"dial","host":"::1","port":7777}"#);
    assert_eq!(Command::from_json(&json), Ok(cmd));
    let with_request = r#"{"type":"dial","host":"::1","port":7777,"request":42}"#;
    assert!(matches!(
        Command::from_json(with_request),
        Ok(Command::Dial {
            request: Some(42),
            ..
        })
    ));

    let hello = Event::Hello {
        version: VERSION,
        server: Box::new(ServerInfo {
            listen: Some("0.0.0.0:7777".into()),
            exit_word: Some("exit".into()),
            encoding: TextEncoding::Gbk,
            ..ServerInfo::default()
        }),
        conns: vec![conn(1)],
        seq: 9,
        held: Vec::new(),
    };
    let frame = hello.to_frame();
    let Frame::Text(json) = &frame else {
        panic!("hello must be text")
    };
    assert!(
        json.starts_with(&format!(r#"{{"type":"hello","version":{VERSION},"#)),
        "{json}"
    );
    assert!(json.contains(r#""encoding":"gbk""#), "{json}");
    assert_eq!(ToClient::from_frame(&frame), Ok(ToClient::Event(hello)));

    let err = Event::Error(Problem::new(ProblemKind::Other, "nope"));
    let Frame::Text(json) = err.to_frame() else {
        panic!()
    };
    assert_eq!(json, r#"{"type":"error","kind":"other","message":"nope"}"#);
    let refused = Event::Error(Problem::new(ProblemKind::NotReading, "full").on(3));
    let Frame::Text(json) = refused.to_frame() else {
        panic!()
    };
    assert_eq!(
        json,
        r#"{"type":"error","conn":3,"kind":"not_reading","message":"full"}"#
    );
    // A bridge that names no kind still reads.
    assert_eq!(
        Event::from_json(r#"{"type":"error","message":"nope"}"#),
        Ok(Event::Error(Problem::new(ProblemKind::Other, "nope")))
    );
}

#[test]
fn malformed_input_is_an_error_that_names_the_problem() {
    let err = Command::from_json(r#"{"type":"launch_missiles"}"#).unwrap_err();
    assert!(err.0.contains("launch_missiles"), "{err}");
    let err = Command::from_json("{not json").unwrap_err();
    assert!(err.0.starts_with("malformed message"), "{err}");
    // A send must travel as binary: JSON cannot smuggle one in.
    assert!(Command::from_json(r#"{"type":"send","to":"all","data":[1]}"#).is_err());
    let binary = |bytes: Vec<u8>| Frame::Binary(bytes.into());
    let err = ToBridge::from_frame(&binary(vec![TAG_TRANSMIT, 0, 1])).unwrap_err();
    assert!(err.0.contains("shorter than a send header"), "{err}");
    // Reserved bits of a send's flags are refused, not ignored.
    let mut reserved = vec![TAG_TRANSMIT, 0b1000];
    reserved.extend_from_slice(&[0; 8]);
    let err = ToBridge::from_frame(&binary(reserved)).unwrap_err();
    assert!(err.0.contains("set reserved bits"), "{err}");
    let err = ToBridge::from_frame(&binary(vec![TAG_RECORD; 40])).unwrap_err();
    assert!(err.0.contains("tag 0x01"), "{err}");
    assert!(ToClient::from_frame(&binary(vec![TAG_RECORD, 9, 0, 0])).is_err());
    let mut bad_flow = Record::new(1, 1, Flow::Rx, 1, vec![]).encode();
    bad_flow[1] = 7;
    assert!(Record::decode(&bad_flow)
        .unwrap_err()
        .0
        .contains("unknown flow 7"));
    // A rule id longer than the frame holds, or not UTF-8.
    let mut bad_rule = Record::new(1, 1, Flow::Tx, 1, vec![0xff]).encode();
    bad_rule[3] = 3;
    assert!(Record::decode(&bad_rule).unwrap_err().0.contains("rule id"));
    bad_rule[3] = 1;
    assert!(Record::decode(&bad_rule)
        .unwrap_err()
        .0
        .contains("not UTF-8"));
}

#[test]
fn protocol_md_examples_parse() {
    let doc = include_str!("../../PROTOCOL.md");
    let examples: Vec<String> = doc
        .lines()
        .filter(|l| l.starts_with("{\"type\":"))
        .map(|l| l.replace("[...]", "[]"))
        .collect();
    assert!(
        examples.len() >= 7,
        "only {} examples found",
        examples.len()
    );
    for line in &examples {
        let as_event = Event::from_json(line);
        let as_command = Command::from_json(line);
        assert!(
            as_event.is_ok() || as_command.is_ok(),
            "{line}: {as_event:?} / {as_command:?}"
        );
    }
    // The error example is the bridge's real wording for an unknown command.
    let err = Command::from_json(r#"{"type":"launch"}"#).unwrap_err();
    assert!(doc.contains(&err.0), "PROTOCOL.md should quote: {err}");
}

#[test]
fn listener_control_is_tagged_json() {
    let listen = Command::Listen {
        addr: "127.0.0.1:7778".into(),
        transport: Transport::Tcp,
        request: None,
    };
    let Frame::Text(json) = listen.to_frame() else {
        panic!("listen must be text")
    };
    assert_eq!(json, r#"{"type":"listen","addr":"127.0.0.1:7778"}"#);
    let udp = r#"{"type":"listen","addr":"[::]:9000","transport":"udp"}"#;
    assert!(matches!(
        Command::from_json(udp),
        Ok(Command::Listen {
            transport: Transport::Udp,
            ..
        })
    ));
    assert_eq!(Command::from_json(&json), Ok(listen));
    assert_eq!(
        Command::from_json(r#"{"type":"stop_listening"}"#),
        Ok(Command::StopListening {
            transport: Transport::Tcp,
            request: None,
        })
    );
    for listen in [None, Some("[::]:7777".to_string())] {
        let event = Event::Listener {
            listen,
            transport: Transport::Tcp,
            groups: vec![],
            fingerprint: None,
        };
        let again = ToClient::from_frame(&event.to_frame());
        assert_eq!(again, Ok(ToClient::Event(event)));
    }
    assert_eq!(
        serde_json::from_str::<Event>(r#"{"type":"listener","listen":null}"#).unwrap(),
        Event::Listener {
            listen: None,
            transport: Transport::Tcp,
            groups: vec![],
            fingerprint: None,
        }
    );
    assert!(Command::from_json(r#"{"type":"listen"}"#).is_err());
}

#[test]
fn a_problem_carries_its_facts_as_fields() {
    let listen = Command::Listen {
        addr: "[::]:7777".into(),
        transport: Transport::Udp,
        request: None,
    }
    .with_request(42);
    assert_eq!(listen.request(), Some(42));
    assert_eq!(Command::ForgetClosed.with_request(42).request(), None);
    let problem = Problem::new(ProblemKind::ListenFailed, "port 7777 is in use")
        .at_listener(Transport::Udp, Some(7777))
        .answering(listen.request());
    let Frame::Text(json) = Event::Error(problem.clone()).to_frame() else {
        panic!("an error is text")
    };
    assert_eq!(
        json,
        r#"{"type":"error","kind":"listen_failed","message":"port 7777 is in use","request":42,"transport":"udp","port":7777}"#
    );
    assert_eq!(Event::from_json(&json), Ok(Event::Error(problem)));
    let rules = Problem::from(crate::rules::RuleError {
        rule: Some("idn".into()),
        message: "rule `idn`: its regex does not compile".into(),
    });
    assert_eq!(
        (rules.kind, rules.rule.as_deref()),
        (ProblemKind::InvalidRules, Some("idn"))
    );
    // A bridge that names no facts: a problem with none.
    let bare = Event::from_json(r#"{"type":"error","message":"no"}"#).unwrap();
    assert_eq!(bare, Event::Error(Problem::new(ProblemKind::Other, "no")));
}

#[test]
fn saving_the_rules_is_asked_and_answered_with_a_request() {
    let save = Command::SaveRules { request: None }.with_request(7);
    assert_eq!(save.request(), Some(7));
    let Frame::Text(json) = save.to_frame() else {
        panic!("a command is text")
    };
    assert_eq!(json, r#"{"type":"save_rules","request":7}"#);
    assert_eq!(
        Command::from_json(r#"{"type":"save_rules"}"#),
        Ok(Command::SaveRules { request: None })
    );
    let saved = Event::RulesSaved {
        file: "device.toml".into(),
        rules: 3,
        request: Some(7),
    };
    let Frame::Text(json) = saved.to_frame() else {
        panic!("an event is text")
    };
    assert_eq!(
        json,
        r#"{"type":"rules_saved","file":"device.toml","rules":3,"request":7}"#
    );
    assert_eq!(Event::from_json(&json), Ok(saved));
    // A bridge with no rules file says nothing of one.
    let server = serde_json::to_value(ServerInfo::default()).unwrap();
    assert!(server.get("rules_file").is_none(), "{server}");
    // Nor does one that predates runs; one that has them names its run.
    assert!(server.get("run").is_none(), "{server}");
    let run = ServerInfo {
        run: Some(Run {
            id: 7,
            started_at: 1_764_000_000_000_000,
        }),
        ..ServerInfo::default()
    };
    let json = serde_json::to_string(&run).unwrap();
    assert!(
        json.ends_with(r#""run":{"id":7,"started_at":1764000000000000}}"#),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<ServerInfo>(&json).unwrap(), run);
}

#[test]
fn words_are_what_serde_writes() {
    let word = |v: serde_json::Value| v.as_str().unwrap().to_owned();
    for flow in [Flow::Rx, Flow::Tx] {
        assert_eq!(flow.as_str(), word(serde_json::to_value(flow).unwrap()));
    }
    for origin in [Origin::Accepted, Origin::Dialled] {
        assert_eq!(origin.as_str(), word(serde_json::to_value(origin).unwrap()));
    }
    for state in [ConnState::Connecting, ConnState::Open, ConnState::Closed] {
        assert_eq!(state.as_str(), word(serde_json::to_value(state).unwrap()));
    }
}

#[test]
fn a_proxied_conversation_says_its_server_and_which_way_each_record_went() {
    let info = ConnInfo {
        proxy: Some(Box::new(ProxyInfo {
            server: Some("127.0.0.1:502".into()),
            local: Some("127.0.0.1:40112".into()),
            client_closed: true,
            ..ProxyInfo::to("127.0.0.1:502")
        })),
        ..conn(3)
    };
    let Frame::Text(json) = (Event::Conn { conn: info.clone() }).to_frame() else {
        panic!("a conn event is text")
    };
    assert!(
        json.contains(
            r#""proxy":{"target":"127.0.0.1:502","server":"127.0.0.1:502","local":"127.0.0.1:40112","client_closed":true}"#
        ),
        "{json}"
    );
    assert_eq!(
        Event::from_json(&json),
        Ok(Event::Conn { conn: info.clone() })
    );
    // Its server read another way than its client: the proxy says how, and the settings of
    // each way come back as they went.
    let mut framed = info.clone();
    framed.proxy.as_mut().unwrap().settings = ConnSettings {
        framing: crate::framing::Framing::Fixed { len: 8 },
        checksum: Some(crate::checksum::Checksum::Crc16Modbus),
    };
    let Frame::Text(json) = (Event::Conn {
        conn: framed.clone(),
    })
    .to_frame() else {
        panic!("a conn event is text")
    };
    assert!(
        json.contains(
            r#""settings":{"framing":{"mode":"fixed","len":8},"checksum":"crc16_modbus"},"server""#
        ),
        "{json}"
    );
    let Ok(Event::Conn { conn: back }) = Event::from_json(&json) else {
        panic!("{json}")
    };
    assert_eq!(
        back.settings_of(Some(Way::ServerToClient)).checksum,
        Some(crate::checksum::Checksum::Crc16Modbus)
    );
    assert!(back.settings_of(Some(Way::ClientToServer)).is_default());
    assert_eq!(back, framed);

    // A conversation that is not proxied says nothing of it.
    let Frame::Text(plain) = (Event::Conn { conn: conn(4) }).to_frame() else {
        panic!("a conn event is text")
    };
    assert!(!plain.contains("proxy"), "{plain}");

    for (flow, marks, way) in [
        (Flow::Rx, Marks::PROXIED, Some(Way::ClientToServer)),
        (Flow::Tx, Marks::PROXIED, Some(Way::ServerToClient)),
        (
            Flow::Rx,
            Marks::PROXIED.with(Marks::INJECTED),
            Some(Way::ClientToServer),
        ),
        (Flow::Rx, Marks::NONE, None),
        (Flow::Tx, Marks::INJECTED, None),
    ] {
        assert_eq!(Way::of(flow, marks), way);
        let record = Record {
            marks,
            ..Record::new(3, 9, flow, 5, b"GET\n".to_vec())
        };
        // Two bits of the marks byte: the header keeps its 28 bytes.
        assert_eq!(record.encode().len(), RECORD_HEADER_LEN + 4);
        assert_eq!(Record::decode(&record.encode()), Ok(record));
    }
    assert_eq!(Way::ClientToServer.flow(), Flow::Rx);
    assert_eq!(Way::ServerToClient.label(), "server→client");
}

#[test]
fn proxies_are_started_stopped_and_listed_in_json() {
    let start = Command::Proxy {
        listen: "127.0.0.1:1502".into(),
        target: "192.168.1.20:502".into(),
        request: Some(3311),
    };
    let Frame::Text(json) = start.to_frame() else {
        panic!("a command is text")
    };
    assert_eq!(
        json,
        r#"{"type":"proxy","listen":"127.0.0.1:1502","target":"192.168.1.20:502","request":3311}"#
    );
    assert_eq!(Command::from_json(&json), Ok(start.clone()));
    assert_eq!(start.request(), Some(3311));
    let stop = Command::StopProxy {
        listen: "127.0.0.1:1502".into(),
        request: None,
    }
    .with_request(5);
    assert_eq!(stop.request(), Some(5));
    let listed = Event::Proxies {
        proxies: vec![ProxyListener {
            listen: "127.0.0.1:1502".into(),
            target: "192.168.1.20:502".into(),
        }],
    };
    assert_eq!(
        ToClient::from_frame(&listed.to_frame()),
        Ok(ToClient::Event(listed))
    );
    // A bridge with none says nothing of them in its hello.
    let Frame::Text(hello) = (Event::Hello {
        version: VERSION,
        server: Box::default(),
        conns: vec![],
        seq: 0,
        held: Vec::new(),
    })
    .to_frame() else {
        panic!("hello is text")
    };
    assert!(!hello.contains("proxies"), "{hello}");
}
