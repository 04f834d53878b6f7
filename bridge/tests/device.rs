//! Standing in for a device: framing, checksums and auto-reply rules, through the real bridge.

mod common;

use std::time::{Duration, Instant};

use common::{accept_peer, http_get, start, start_error, Page, Peer};
use protocol::checksum::Checksum;
use protocol::framing::{Delimiter, Framing};
use protocol::rules::{ReplyBody, Rule, Scope, Trigger};
use protocol::{
    Command, ConnId, ConnSettings, Event, Flow, Marks, ProblemKind, Record, Target, Transmit,
};

fn lines() -> Framing {
    Framing::Delimiter {
        delimiter: Delimiter::lf(),
    }
}

fn payloads(records: &[Record]) -> Vec<&[u8]> {
    records.iter().map(|r| &r.data[..]).collect()
}

async fn configure(page: &mut Page, conn: Option<ConnId>, framing: Framing) {
    let settings = ConnSettings {
        framing,
        checksum: None,
    };
    page.command(Command::Configure {
        conn,
        way: None,
        settings,
    })
    .await;
    page.event("the new settings", |e| match e {
        Event::Conn { conn: c } if Some(c.id) == conn => Some(()),
        Event::Defaults { .. } if conn.is_none() => Some(()),
        _ => None,
    })
    .await;
}

/// Sends `bytes` in pieces, each given time to arrive on its own, so that the bridge reads
/// them as separate reads.
async fn trickle(peer: &mut Peer, pieces: &[&[u8]]) {
    for piece in pieces {
        peer.send(piece).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn each_framing_cuts_the_stream_into_the_peers_messages() {
    let bridge = start(&["--no-exit-word"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    // Each case: the framing, what the peer sends (read by read), and the messages it makes.
    type Case = (Framing, Vec<&'static [u8]>, Vec<&'static [u8]>);
    let cases: Vec<Case> = vec![
        // Split over reads, and glued together in one.
        (
            lines(),
            vec![b"hel", b"lo\nwor", b"ld\nagain\n"],
            vec![b"hello\n", b"world\n", b"again\n"],
        ),
        (
            Framing::Fixed { len: 4 },
            vec![b"ab", b"cdefgh", b"ij", b"kl"],
            vec![b"abcd", b"efgh", b"ijkl"],
        ),
        (
            Framing::LengthPrefixed {
                width: 2,
                big_endian: true,
                offset: 0,
                includes_header: false,
                trailer: 0,
            },
            vec![b"\x00\x03ab", b"c\x00\x01z\x00", b"\x02hi"],
            vec![b"\x00\x03abc", b"\x00\x01z", b"\x00\x02hi"],
        ),
        (
            Framing::Idle { gap_ms: 60 },
            vec![b"first", b"second"],
            vec![b"first", b"second"],
        ),
    ];
    for (framing, sent, expected) in cases {
        configure(&mut page, None, framing.clone()).await;
        let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
        assert_eq!(
            conn.settings.framing, framing,
            "new connections take the default"
        );
        let gap = match framing {
            Framing::Idle { .. } => Duration::from_millis(200),
            _ => Duration::from_millis(20),
        };
        for piece in &sent {
            peer.send(piece).await;
            tokio::time::sleep(gap).await;
        }
        let records = page.records(conn.id, Flow::Rx, expected.len()).await;
        assert_eq!(payloads(&records), expected, "{framing:?}");
        assert!(records.iter().all(|r| r.marks == Marks::NONE));
        // The stream is never changed: the messages, end to end, are the bytes sent.
        assert_eq!(
            records
                .iter()
                .flat_map(|r| r.data.clone())
                .collect::<Vec<u8>>(),
            sent.concat()
        );
    }
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_message_left_open_is_kept_and_marked_and_a_long_one_is_cut() {
    let bridge = start(&["--no-exit-word", "--framing", "lf"]).await;
    let (mut page, snapshot) = Page::open(&bridge).await;
    assert_eq!(snapshot.server.defaults.framing, lines());
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    // Longer than the framing's maximum of 1 MiB: cut there, the rest follows.
    let long = vec![b'x'; (1 << 20) + 5];
    peer.send(&long).await;
    peer.send(b"\nno end").await;
    let records = page.records(conn.id, Flow::Rx, 2).await;
    assert_eq!(records[0].data.len(), 1 << 20);
    assert_eq!(records[0].marks, Marks::CUT);
    assert_eq!(records[1].data, b"xxxxx\n");
    assert_eq!(records[1].marks, Marks::NONE);
    // The peer leaves in the middle of a message: what it sent is recorded, marked unfinished.
    drop(peer);
    let rest = page.records(conn.id, Flow::Rx, 1).await;
    assert_eq!(rest[0].data, b"no end");
    assert_eq!(rest[0].marks, Marks::UNFINISHED);
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_new_framing_applies_from_the_next_byte() {
    let bridge = start(&["--no-exit-word", "--framing", "lf"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    trickle(&mut peer, &[b"one\ntw"]).await;
    assert_eq!(page.records(conn.id, Flow::Rx, 1).await[0].data, b"one\n");
    configure(&mut page, Some(conn.id), Framing::Fixed { len: 2 }).await;
    let held = page.records(conn.id, Flow::Rx, 1).await;
    assert_eq!(
        (&held[0].data[..], held[0].marks),
        (&b"tw"[..], Marks::UNFINISHED)
    );
    trickle(&mut peer, &[b"abcd"]).await;
    let records = page.records(conn.id, Flow::Rx, 2).await;
    assert_eq!(payloads(&records), [b"ab", b"cd"]);
    // A framing that does not check is refused, and the connection is read as before.
    let settings = ConnSettings {
        framing: Framing::Fixed { len: 0 },
        checksum: None,
    };
    page.command(Command::Configure {
        conn: Some(conn.id),
        way: None,
        settings,
    })
    .await;
    assert_eq!(page.problem().await.kind, ProblemKind::InvalidSettings);
    bridge.shutdown().await;
}

#[tokio::test]
async fn messages_that_do_not_end_with_their_checksum_are_marked() {
    let bridge = start(&["--framing", "fixed:4", "--checksum", "crc16_modbus"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    let mut good = b"\x01\x02".to_vec();
    Checksum::Crc16Modbus.append(&mut good);
    peer.send(&good).await;
    peer.send(b"\x01\x02\x00\x00").await;
    let records = page.records(conn.id, Flow::Rx, 2).await;
    assert_eq!(records[0].marks, Marks::NONE);
    assert_eq!(records[1].marks, Marks::BAD_CHECKSUM);
    bridge.shutdown().await;
}

/// Modbus RTU replies to reads: slave address, function, a byte count, that many bytes, then a
/// CRC-16/MODBUS the count leaves out, low byte first. The first is the Modbus application
/// protocol specification's example reply (function 3, registers 108 to 110 holding 0x022b, 0
/// and 0x64), from slave 0x11; its CRC, `c8 ba`, is the catalogue's CRC-16/MODBUS.
const MODBUS_RTU_REPLIES: [&[u8]; 2] = [
    b"\x11\x03\x06\x02\x2b\x00\x00\x00\x64\xc8\xba",
    b"\x01\x03\x04\x00\x01\x00\x2a\x2a\x2c",
];

#[tokio::test]
async fn modbus_rtu_replies_are_cut_after_their_crc_and_their_checks_hold() {
    let bridge = start(&["--framing", "length:1@2+2", "--checksum", "crc16_modbus"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    let stream = MODBUS_RTU_REPLIES.concat();
    // The second reply glued to the first, then split inside its CRC; then a reply whose CRC
    // was damaged on the line.
    let mut damaged = MODBUS_RTU_REPLIES[1].to_vec();
    *damaged.last_mut().unwrap() ^= 0xff;
    let cut = stream.len() - 1;
    trickle(&mut peer, &[&stream[..cut], &stream[cut..], &damaged]).await;
    let records = page.records(conn.id, Flow::Rx, 3).await;
    assert_eq!(
        payloads(&records),
        [MODBUS_RTU_REPLIES[0], MODBUS_RTU_REPLIES[1], &damaged[..]]
    );
    let marks: Vec<Marks> = records.iter().map(|r| r.marks).collect();
    assert_eq!(marks, [Marks::NONE, Marks::NONE, Marks::BAD_CHECKSUM]);
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_message_shorter_than_its_checksum_is_marked() {
    let bridge = start(&["--checksum", "crc16_modbus"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    // One byte, where a CRC-16 alone takes two.
    peer.send(b"\x01").await;
    let record = page.record(conn.id, Flow::Rx).await;
    assert_eq!(
        (&record.data[..], record.marks),
        (&b"\x01"[..], Marks::BAD_CHECKSUM)
    );
    bridge.shutdown().await;
}

fn rule(id: &str, trigger: Trigger, reply: &str) -> Rule {
    Rule::new(id, trigger, ReplyBody::Text(reply.into()))
}

async fn set_rules(page: &mut Page, rules: Vec<Rule>) {
    page.command(Command::SetRules {
        rules: rules.clone(),
    })
    .await;
    let told = page
        .event("the rules", |e| match e {
            Event::Rules { rules } => Some(rules.clone()),
            _ => None,
        })
        .await;
    assert_eq!(told, rules);
}

/// Sends `line` and returns the reply the bridge sent back, as the peer and the page see it.
async fn ask(peer: &mut Peer, page: &mut Page, conn: ConnId, line: &str, reply: &str) -> Record {
    peer.send(line.as_bytes()).await;
    assert_eq!(peer.receive(reply.len()).await, reply.as_bytes());
    page.records(conn, Flow::Tx, 1).await.remove(0)
}

#[tokio::test]
async fn rules_answer_by_match_kind_with_captures_and_counters() {
    let bridge = start(&["--framing", "lf"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let hex_reply = Rule::new(
        "hex",
        Trigger::Hex {
            pattern: "02 ?? 03 0a".into(),
        },
        ReplyBody::Hex("06 $1 0a".into()),
    );
    set_rules(
        &mut page,
        vec![
            rule(
                "exact",
                Trigger::Exact {
                    text: "PING".into(),
                },
                "PONG\\n",
            ),
            rule(
                "prefix",
                Trigger::Prefix {
                    text: "GET ".into(),
                },
                "OK ${counter}\\n",
            ),
            rule(
                "regex",
                Trigger::Regex {
                    pattern: r"^SET (\w+)=(?<value>\d+)$".into(),
                },
                "$1 is ${value}\\n",
            ),
            hex_reply,
            rule(
                "contains",
                Trigger::Contains {
                    text: "help".into(),
                },
                "no help\\n",
            ),
        ],
    )
    .await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    let id = conn.id;
    let reply = ask(&mut peer, &mut page, id, "PING\n", "PONG\n").await;
    assert_eq!(
        reply.rule.as_deref(),
        Some("exact"),
        "the record names its rule"
    );
    ask(&mut peer, &mut page, id, "GET /a\n", "OK 1\n").await;
    ask(&mut peer, &mut page, id, "GET /b\n", "OK 2\n").await;
    ask(&mut peer, &mut page, id, "SET speed=40\n", "speed is 40\n").await;
    ask(&mut peer, &mut page, id, "\x02\x7f\x03\n", "\x06\x7f\n").await;
    ask(&mut peer, &mut page, id, "I need help!\n", "no help\n").await;
    // No rule matches: no reply, and the next question is answered as usual.
    peer.send(b"nothing matches\n").await;
    ask(&mut peer, &mut page, id, "PING\n", "PONG\n").await;
    // The hits reach the pages.
    let hits = page
        .event("the rules' hits", |e| match e {
            Event::RuleHits { hits } if hits.iter().any(|h| h.rule == "prefix" && h.hits == 2) => {
                Some(hits.clone())
            }
            _ => None,
        })
        .await;
    assert!(hits.iter().any(|h| h.rule == "exact" && h.hits == 2));
    bridge.shutdown().await;
}

#[tokio::test]
async fn greetings_once_rules_delays_and_scopes() {
    let bridge = start(&["--framing", "lf"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let mut once = rule("first", Trigger::Exact { text: "hi".into() }, "welcome\\n");
    once.once = true;
    let again = rule("again", Trigger::Exact { text: "hi".into() }, "again\\n");
    let mut slow = rule(
        "slow",
        Trigger::Exact {
            text: "slow".into(),
        },
        "done\\n",
    );
    slow.delay_ms = 300;
    let greeting = rule("greet", Trigger::Connect, "ready\\n");
    set_rules(&mut page, vec![greeting, once, again, slow]).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    assert_eq!(peer.receive(6).await, b"ready\n", "greeted on connect");
    let greeted = page.records(conn.id, Flow::Tx, 1).await;
    assert_eq!(greeted[0].rule.as_deref(), Some("greet"));
    ask(&mut peer, &mut page, conn.id, "hi\n", "welcome\n").await;
    ask(&mut peer, &mut page, conn.id, "hi\n", "again\n").await;
    let asked = Instant::now();
    ask(&mut peer, &mut page, conn.id, "slow\n", "done\n").await;
    assert!(
        asked.elapsed() >= Duration::from_millis(300),
        "answered after its delay"
    );

    // A rule for one connection answers that one only.
    let mut only = rule("only", Trigger::Exact { text: "who".into() }, "you\\n");
    only.scope = Scope::Conn(conn.id);
    set_rules(&mut page, vec![only]).await;
    let (mut other, _) = accept_peer(&bridge, &mut page).await;
    other.send(b"who\n").await;
    peer.send(b"who\n").await;
    assert_eq!(peer.receive(4).await, b"you\n");
    let mut got = [0u8; 4];
    let quiet = tokio::time::timeout(
        Duration::from_millis(300),
        tokio::io::AsyncReadExt::read(&mut other.stream, &mut got),
    )
    .await;
    assert!(quiet.is_err(), "the other connection got no answer");
    bridge.shutdown().await;
}

#[tokio::test]
async fn replies_are_rate_limited_and_the_pages_are_told() {
    let bridge = start(&["--framing", "lf"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    set_rules(&mut page, vec![rule("echo", Trigger::Any, "${msg}")]).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    // 30 lines at once: 20 are answered, the rest dropped until a quiet second.
    let burst: String = (0..30).map(|i| format!("{i:02}\n")).collect();
    peer.send(burst.as_bytes()).await;
    let problem = page.problem().await;
    assert_eq!(
        (problem.kind, problem.conn),
        (ProblemKind::RateLimited, Some(conn.id))
    );
    assert!(
        problem.message.starts_with("rule `echo` would answer"),
        "{problem:?}"
    );
    assert_eq!(problem.rule.as_deref(), Some("echo"));
    // It says what happens to them: they are not sent later.
    assert!(
        problem
            .message
            .contains("its replies are dropped, not sent later"),
        "{problem:?}"
    );
    let echoed = peer.receive(20 * 3).await;
    assert_eq!(echoed, &burst.as_bytes()[..60]);
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_rule_set_that_does_not_check_is_refused_whole() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let bad = rule(
        "bad",
        Trigger::Regex {
            pattern: "(unclosed".into(),
        },
        "x",
    );
    page.command(Command::SetRules { rules: vec![bad] }).await;
    let problem = page.problem().await;
    assert_eq!(problem.kind, ProblemKind::InvalidRules);
    assert!(problem.message.starts_with("rule `bad`"), "{problem:?}");
    assert_eq!(
        problem.rule.as_deref(),
        Some("bad"),
        "the rule, for a program"
    );
    bridge.shutdown().await;
}

/// A headless bridge with `--rules` is a device simulator: no page needed.
#[tokio::test]
async fn a_rules_file_makes_a_device_with_no_page_open() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let scpi = format!("{dir}/../examples/scpi-device.toml");
    let bridge = start(&["--rules", &scpi]).await;
    let mut peer = Peer::connect(bridge.listen_addr.unwrap()).await;
    let greeting = "ACME Instruments DMM-1000 ready\n";
    assert_eq!(peer.receive(greeting.len()).await, greeting.as_bytes());
    peer.send(b"*idn?\n").await;
    let identity = "ACME Instruments,DMM-1000,SN0001,1.0.3\n";
    assert_eq!(peer.receive(identity.len()).await, identity.as_bytes());
    peer.send(b"MEAS:VOLT?\n").await;
    assert_eq!(peer.receive(11).await, b"+1.000E-03\n");
    // The page can take the rules away again as a file.
    let (status, head, body) = http_get(bridge.http_addr, "/rules.toml").await;
    assert_eq!(status, 200);
    assert!(head.contains("attachment"), "{head}");
    assert!(body.contains("id = \"idn\""), "{body}");
    assert!(body.contains("mode = \"delimiter\""), "{body}");
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_rules_file_that_does_not_read_is_a_start_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[[rule]]\nid = \"x\"\ntriger = { on = \"any\" }\n").unwrap();
    let e = start_error(&["--rules", path.to_str().unwrap()]).await;
    assert!(e.starts_with("cannot use the rules in "), "{e}");
    assert!(e.contains("line 3"), "{e}");
}

#[tokio::test]
async fn the_exit_word_and_the_transcript_see_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let bridge = start(&["--framing", "lf", "--transcript", path.to_str().unwrap()]).await;
    let (mut page, _) = Page::open(&bridge).await;
    set_rules(
        &mut page,
        vec![rule(
            "ack",
            Trigger::Exact {
                text: "ping".into(),
            },
            "ack\\n",
        )],
    )
    .await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    // "exit" arrives split over two reads: framed, it is one message, and ends the conversation.
    trickle(&mut peer, &[b"ping\nex", b"it\n"]).await;
    assert_eq!(peer.receive(4).await, b"ack\n");
    let closed = page.conn(protocol::ConnState::Closed).await;
    assert_eq!(closed.close_reason.as_deref(), Some("the peer said exit"));
    bridge.shutdown().await;
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<protocol::jsonl::RecordLine> = text
        .lines()
        .filter(|l| l.contains("\"dir\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let said: Vec<(&str, Option<&str>, Option<&str>)> = lines
        .iter()
        .filter(|l| l.conn == conn.id)
        .map(|l| (l.dir.as_str(), l.text.as_deref(), l.rule.as_deref()))
        .collect();
    assert_eq!(
        said,
        [
            ("rx", Some("ping\n"), None),
            ("tx", Some("ack\n"), Some("ack")),
            ("rx", Some("exit\n"), None)
        ]
    );
}

/// A file is announced to every page, its parts are records marked as a file, and a stop is
/// told to every page too, so that none shows it as still being sent.
#[tokio::test]
async fn a_file_is_announced_sent_in_marked_parts_and_its_stop_told_to_every_page() {
    let bridge = start(&[]).await;
    let (mut sender, _) = Page::open(&bridge).await;
    let (mut other, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut sender).await;
    let to = Target::Conn(conn.id);
    let (name, size) = ("readings.bin".to_owned(), 6);
    sender
        .command(Command::SendFile {
            to,
            name: name.clone(),
            size,
        })
        .await;
    let announced = other
        .event("the file's announcement", |e| match e {
            Event::File { conn, name, size } => Some((*conn, name.clone(), *size)),
            _ => None,
        })
        .await;
    assert_eq!(announced, (conn.id, name, size));
    let part = |data: &[u8]| Transmit {
        to,
        file: true,
        broadcast: false,
        to_server: false,
        data: data.to_vec().into(),
    };
    sender.transmit(part(b"abc")).await;
    assert_eq!(peer.receive(3).await, b"abc");
    let record = other.records(conn.id, Flow::Tx, 1).await.remove(0);
    assert_eq!((record.marks, &record.data[..]), (Marks::FILE, &b"abc"[..]));

    sender.command(Command::StopFile { to }).await;
    let stopped = other
        .event("the file's stop", |e| match e {
            Event::FileStopped { conn } => Some(*conn),
            _ => None,
        })
        .await;
    assert_eq!(stopped, conn.id);
    // A file may stop because its connection closed: that stop is told too, with no error
    // (the page's next error is the one a disconnect of no connection provokes).
    peer.half_close().await;
    other.conn(protocol::ConnState::Closed).await;
    sender.command(Command::StopFile { to }).await;
    sender.command(Command::Disconnect { conn: 999_999 }).await;
    let after_close = other
        .event("the stop after the close", |e| match e {
            Event::FileStopped { conn } => Some(*conn),
            _ => None,
        })
        .await;
    let (_, first_error) = sender.error().await;
    assert_eq!(first_error, "there is no connection 999999");
    assert_eq!(after_close, conn.id);
    bridge.shutdown().await;
}
