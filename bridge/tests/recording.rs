//! The tools for a recording, run as the binary is: `bridge pcap` read back by tshark (which
//! scripts/test.sh installs: these tests fail without it, they do not skip).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use bridge::Bridge;
use common::{accept_peer, held, hold, pair, proxied, released, start, within, Page};
use protocol::framing::{Delimiter, Framing};
use protocol::rules::ReplyBody;
use protocol::{
    hex, ConnId, ConnInfo, ConnState, Event, Flow, Problem, ProblemKind, Release, Target, Way,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const BRIDGE: &str = env!("CARGO_BIN_EXE_bridge");

fn bridge(args: &[&str]) -> Output {
    Command::new(BRIDGE)
        .args(args)
        .output()
        .expect("the bridge binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs tshark; its stdout.
fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run tshark ({e}): these tests read the pcapng back with it. Install it \
             (apt-get install tshark; scripts/test.sh does)"
            )
        });
    assert!(out.status.success(), "tshark {args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).expect("tshark writes text")
}

/// The bytes each way of TCP stream `stream`, as tshark reassembles them: client's, server's.
fn follow(file: &Path, stream: usize) -> (Vec<u8>, Vec<u8>) {
    let spec = format!("follow,tcp,raw,{stream}");
    let text = tshark(&["-r", file.to_str().unwrap(), "-q", "-z", &spec]);
    let (mut client, mut server) = (Vec::new(), Vec::new());
    let body = text
        .split_once("Node 1:")
        .expect("a followed stream names its nodes")
        .1;
    for line in body.lines().skip(1) {
        if line.starts_with('=') {
            break;
        }
        let (to, digits) = match line.strip_prefix('\t') {
            Some(digits) => (&mut server, digits),
            None => (&mut client, line),
        };
        to.extend(protocol::hex::decode(digits.trim()).expect("hex lines"));
    }
    (client, server)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn pcap(transcript: &str, out: &Path, extra: &[&str]) {
    let mut args = vec!["pcap", transcript, "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let run = bridge(&args);
    assert!(run.status.success(), "bridge pcap: {}", stderr(&run));
}

/// A Modbus/TCP read of two holding registers, and its answer.
const QUERY: &[u8] = &[0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 2];
const ANSWER: &[u8] = &[0, 1, 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 0x2a];

#[tokio::test]
async fn a_recorded_conversation_reads_back_in_tshark_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("traffic.jsonl");
    let bridge_run = start(&["--transcript", transcript.to_str().unwrap()]).await;
    let port = bridge_run.listen_addr.unwrap().port();
    let (mut page, _) = Page::open(&bridge_run).await;

    // A Modbus/TCP client asks, and the page answers as the device.
    let (mut modbus, conn) = accept_peer(&bridge_run, &mut page).await;
    modbus.send(QUERY).await;
    page.traffic(conn.id, Flow::Rx, QUERY.len()).await;
    page.send(Target::Conn(conn.id), ANSWER.to_vec()).await;
    assert_eq!(modbus.receive(ANSWER.len()).await, ANSWER);
    drop(modbus);
    page.conn(ConnState::Closed).await;

    // Then a peer sends more than a segment holds, not UTF-8, and is answered.
    let big: Vec<u8> = (0..200_000u32).map(|i| ((i * 7919) >> 3) as u8).collect();
    let (mut peer, second) = accept_peer(&bridge_run, &mut page).await;
    peer.send(&big).await;
    page.traffic(second.id, Flow::Rx, big.len()).await;
    page.send(Target::Conn(second.id), b"got it\n".to_vec())
        .await;
    assert_eq!(peer.receive(7).await, b"got it\n");
    drop(peer);
    page.conn(ConnState::Closed).await;
    bridge_run.shutdown().await;

    let transcript = transcript.to_str().unwrap();
    let modbus_pcap = dir.path().join("modbus.pcapng");
    pcap(transcript, &modbus_pcap, &["--conn", &conn.id.to_string()]);
    // The bridge listened on a free port: tshark is told that Modbus/TCP is spoken there.
    let decode = format!("mbtcp.tcp.port:{port}");
    let file = modbus_pcap.to_str().unwrap();
    // Two passes: an answer's registers are read once its query is known.
    let frames = tshark(&[
        "-2",
        "-r",
        file,
        "-o",
        &decode,
        "-Y",
        "modbus",
        "-T",
        "fields",
        "-e",
        "mbtcp.trans_id",
        "-e",
        "modbus.func_code",
        "-e",
        "modbus.regval_uint16",
    ]);
    assert_eq!(
        frames, "1\t3\t\n1\t3\t1,42\n",
        "the query and its answer, as Modbus"
    );
    assert_eq!(follow(&modbus_pcap, 0), (QUERY.to_vec(), ANSWER.to_vec()));
    // The handshake, and a FIN each way at the close; the comment names the conversation.
    let flags = tshark(&["-r", file, "-T", "fields", "-e", "tcp.flags.str"]);
    let flags: Vec<&str> = flags.lines().collect();
    assert_eq!(flags[..3], ["··········S·", "·······A··S·", "·······A····"]);
    assert_eq!(flags.iter().filter(|f| f.contains('F')).count(), 2);
    let comment = tshark(&["-r", file, "-c", "1", "-T", "fields", "-e", "frame.comment"]);
    assert!(
        comment.starts_with(&format!(
            "conversation {} of the bridge's run started",
            conn.id
        )),
        "{comment}"
    );

    let all = dir.path().join("all.pcapng");
    pcap(transcript, &all, &[]);
    let (sent, answered) = follow(&all, 1);
    assert!(
        sent == big,
        "the 200,000 bytes come back whole ({} bytes)",
        sent.len()
    );
    assert_eq!(answered, b"got it\n");
    let sizes = tshark(&[
        "-r",
        all.to_str().unwrap(),
        "-Y",
        "tcp.stream == 1 && tcp.len > 0",
        "-T",
        "fields",
        "-e",
        "tcp.len",
    ]);
    assert!(
        sizes.lines().all(|l| l.parse::<usize>().unwrap() <= 65_495),
        "segments of at most 65,495 bytes: {sizes}"
    );
}

/// Lines as the transcript writes them, of one run.
fn lines(lines: &[&str]) -> String {
    let run = r#""run":"2026-11-24T20:11:30.008112Z","#;
    lines.iter().map(|l| format!("{{{run}{l}}}\n")).collect()
}

#[test]
fn modbus_on_port_502_ipv6_udp_tls_and_a_proxied_pair() {
    let dir = tempfile::tempdir().unwrap();
    let query = protocol::hex::encode(QUERY);
    let answer = protocol::hex::encode(ANSWER);
    let transcript = write(
        dir.path(),
        "t.jsonl",
        &lines(&[
            // Dialled to a Modbus/TCP device on its port: dissected without being told.
            r#""at":"2026-11-24T20:11:31.000000Z","conn":1,"event":"open","origin":"dialled","peer":"192.168.1.20:502","local":"192.168.1.10:40000""#,
            &format!(r#""at":"2026-11-24T20:11:31.000100Z","conn":1,"seq":1,"dir":"tx","hex":"{query}""#),
            &format!(r#""at":"2026-11-24T20:11:31.004000Z","conn":1,"seq":2,"dir":"rx","hex":"{answer}""#),
            r#""at":"2026-11-24T20:11:31.500000Z","conn":1,"event":"closed","origin":"dialled","peer":"192.168.1.20:502","local":"192.168.1.10:40000","reason":"the peer reset the connection""#,
            // IPv6 and UDP.
            r#""at":"2026-11-24T20:11:32.000000Z","conn":2,"event":"open","origin":"accepted","transport":"udp","peer":"[::1]:40112","local":"[::1]:7777""#,
            r#""at":"2026-11-24T20:11:32.000001Z","conn":2,"seq":3,"dir":"rx","text":"ping""#,
            r#""at":"2026-11-24T20:11:32.000002Z","conn":2,"seq":4,"dir":"tx","text":"pong""#,
            // TLS, as its plaintext.
            r#""at":"2026-11-24T20:11:33.000000Z","conn":3,"event":"open","origin":"accepted","transport":"tls","peer":"127.0.0.1:50000","local":"127.0.0.1:7443""#,
            r#""at":"2026-11-24T20:11:33.000100Z","conn":3,"seq":5,"dir":"rx","text":"*IDN?\n""#,
            // A proxied pair: the client half-closes, the server still answers.
            r#""at":"2026-11-24T20:11:34.000000Z","conn":4,"event":"open","origin":"accepted","peer":"127.0.0.1:51234","local":"127.0.0.1:1502","proxy":{"target":"127.0.0.1:502","server":"127.0.0.1:502","local":"127.0.0.1:40112"}}"#,
            &format!(r#""at":"2026-11-24T20:11:34.000100Z","conn":4,"seq":6,"dir":"rx","way":"client_to_server","hex":"{query}""#),
            r#""at":"2026-11-24T20:11:34.000200Z","conn":4,"event":"half_closed","side":"client","origin":"accepted","peer":"127.0.0.1:51234","local":"127.0.0.1:1502","proxy":{"target":"127.0.0.1:502","server":"127.0.0.1:502","local":"127.0.0.1:40112","client_closed":true}"#,
            &format!(r#""at":"2026-11-24T20:11:34.000300Z","conn":4,"seq":7,"dir":"tx","way":"server_to_client","hex":"{answer}""#),
            &format!(r#""at":"2026-11-24T20:11:34.000400Z","conn":4,"seq":8,"dir":"tx","way":"server_to_client","injected":true,"hex":"{answer}""#),
        ])
        .replace("}}}\n", "}}\n"),
    );
    let out = dir.path().join("t.pcapng");
    pcap(&transcript, &out, &[]);
    let file = out.to_str().unwrap();
    let modbus = tshark(&[
        "-r",
        file,
        "-Y",
        "modbus",
        "-T",
        "fields",
        "-e",
        "ip.src",
        "-e",
        "tcp.srcport",
        "-e",
        "frame.time_epoch",
    ]);
    assert_eq!(
        modbus,
        "192.168.1.10\t40000\t1795551091.000100000\n\
         192.168.1.20\t502\t1795551091.004000000\n\
         127.0.0.1\t51234\t1795551094.000100000\n\
         127.0.0.1\t502\t1795551094.000300000\n\
         127.0.0.1\t502\t1795551094.000400000\n"
    );
    let reset = tshark(&[
        "-r",
        file,
        "-Y",
        "tcp.flags.reset == 1",
        "-T",
        "fields",
        "-e",
        "ip.src",
    ]);
    assert_eq!(reset, "192.168.1.20\n", "the device reset the connection");
    let udp = tshark(&[
        "-r",
        file,
        "-Y",
        "udp",
        "-T",
        "fields",
        "-e",
        "ipv6.src",
        "-e",
        "udp.payload",
    ]);
    assert_eq!(udp, "::1\t70696e67\n::1\t706f6e67\n");
    let comments = tshark(&[
        "-r",
        file,
        "-Y",
        "frame.comment",
        "-T",
        "fields",
        "-e",
        "frame.comment",
    ]);
    assert!(comments.contains("conversation 3 of the bridge's run started 2026-11-24T20:11:30.008112Z: TLS, accepted from 127.0.0.1:50000 on 127.0.0.1:7443"), "{comments}");
    assert!(
        comments.contains("the plaintext the bridge saw"),
        "{comments}"
    );
    assert!(
        comments.contains("TCP, proxied: client 127.0.0.1:51234 to server 127.0.0.1:502"),
        "{comments}"
    );
    assert!(
        comments.contains("sent by a page, as if from the server"),
        "{comments}"
    );
    // The proxied pair is one stream: the client's FIN comes before the server's answer.
    let (client, server) = follow(&out, 2);
    assert_eq!(
        (client, server),
        (QUERY.to_vec(), [ANSWER, ANSWER].concat())
    );
    let pair = tshark(&[
        "-r",
        file,
        "-Y",
        "tcp.stream == 2 && (tcp.flags.fin == 1 || tcp.len > 0)",
        "-T",
        "fields",
        "-e",
        "tcp.srcport",
        "-e",
        "tcp.flags.fin",
        "-e",
        "tcp.len",
    ]);
    assert_eq!(pair, "51234\t0\t12\n51234\t1\t0\n502\t0\t13\n502\t0\t13\n");
}

#[test]
fn bad_input_is_named_and_refused_or_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pcapng");
    let out = out.to_str().unwrap();
    let good = lines(&[
        r#""at":"2026-11-24T20:11:32.103520Z","conn":1,"seq":1,"dir":"rx","text":"hello\n""#,
    ]);
    let cut = write(
        dir.path(),
        "cut.jsonl",
        &format!("{good}{{\"at\":\"2026-11-24T2"),
    );

    let refused = bridge(&["pcap", &cut, "-o", out]);
    assert_eq!(refused.status.code(), Some(2));
    let said = stderr(&refused);
    assert!(said.contains("line 2: not JSON"), "{said}");
    assert!(said.contains("--skip-bad"), "{said}");
    assert!(
        !Path::new(out).exists(),
        "nothing is written for a refused file"
    );

    let skipped = bridge(&["pcap", &cut, "-o", out, "--skip-bad"]);
    assert!(skipped.status.success(), "{}", stderr(&skipped));
    assert!(stderr(&skipped).contains("skipped line 2: not JSON"));
    // The page's download has no lines of state: TEST-NET addresses stand in, and say so.
    let comment = tshark(&[
        "-r",
        out,
        "-c",
        "1",
        "-T",
        "fields",
        "-e",
        "ip.src",
        "-e",
        "frame.comment",
    ]);
    assert!(
        comment.starts_with("192.0.2.1\tconversation 1 of"),
        "{comment}"
    );
    assert!(comment.contains("TEST-NET"), "{comment}");

    let missing = bridge(&["pcap", &cut, "-o", out, "--skip-bad", "--conn", "9"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("no conversation 9 in the recording: it has conversation 1"),
        "{}",
        stderr(&missing)
    );
    let foreign = write(dir.path(), "foreign.csv", "time,value\n1,2\n");
    let said = stderr(&bridge(&["pcap", &foreign, "-o", out]));
    assert!(said.contains("line 1: not JSON"), "{said}");
}

/// Runs the binary without holding up the bridges this test runs meanwhile.
async fn bridge_async(args: &[&str]) -> Output {
    tokio::process::Command::new(BRIDGE)
        .args(args)
        .output()
        .await
        .expect("the bridge binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const SCPI: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/scpi-device.toml");

/// The example SCPI device, recording into `transcript`, and a page of it.
async fn scpi_device(transcript: &Path) -> (Bridge, Page) {
    let device = start(&[
        "--rules",
        SCPI,
        "--transcript",
        transcript.to_str().unwrap(),
    ])
    .await;
    let (page, _) = Page::open(&device).await;
    (device, page)
}

/// Records a client of the example SCPI device: its greeting, three questions and answers.
async fn record_scpi(transcript: &Path) {
    let (device, mut page) = scpi_device(transcript).await;
    talk_to_scpi(&device, &mut page).await;
    device.shutdown().await;
}

/// A client of the example SCPI device `device` is greeted, asks three questions and is
/// answered, and leaves: the conversation, closed, as `page` saw it.
async fn talk_to_scpi(device: &Bridge, page: &mut Page) -> ConnInfo {
    let (mut client, _) = accept_peer(device, page).await;
    let greeting = b"ACME Instruments DMM-1000 ready\n";
    assert_eq!(client.receive(greeting.len()).await, greeting);
    for (ask, answer) in [
        ("*IDN?\n", "ACME Instruments,DMM-1000,SN0001,1.0.3\n"),
        ("MEAS:VOLT?\n", "+1.000E-03\n"),
        ("BOGUS\n", "-113,\"Undefined header\"\n"),
    ] {
        client.send(ask.as_bytes()).await;
        assert_eq!(client.receive(answer.len()).await, answer.as_bytes());
    }
    drop(client);
    page.conn(ConnState::Closed).await
}

/// What a page's `learn` of conversation `conn` answers: the learnt event, or the problem.
async fn learn(page: &mut Page, conn: ConnId, request: u64) -> Result<Event, Problem> {
    page.command(protocol::Command::Learn {
        conn,
        request: Some(request),
    })
    .await;
    page.event("the answer to learn", |e| match e {
        Event::Learnt { request: r, .. } if *r == Some(request) => Some(Ok(e.clone())),
        Event::Error(p) if p.request == Some(request) => Some(Err(p.clone())),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn a_page_s_learn_gets_the_rules_bridge_learn_writes_from_the_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("scpi.jsonl");
    let (device, mut page) = scpi_device(&transcript).await;
    let conn = talk_to_scpi(&device, &mut page).await.id;
    let Ok(Event::Learnt {
        conn: of,
        rules,
        framing,
        summary,
        elided_msgs,
        ..
    }) = learn(&mut page, conn, 7).await
    else {
        panic!("the conversation is learnt");
    };
    assert_eq!((of, elided_msgs), (conn, 0));
    assert!(
        summary.starts_with("4 rules, a greeting on connect"),
        "{summary}"
    );
    assert_eq!(
        framing,
        Framing::Delimiter {
            delimiter: Delimiter::lf()
        }
    );
    let idn = rules
        .iter()
        .find(|r| r.name == "Answer *IDN?")
        .expect("*IDN? learnt");
    assert_eq!(
        idn.reply,
        ReplyBody::Text("ACME Instruments,DMM-1000,SN0001,1.0.3\\n".into())
    );
    // Nothing was put in force: the device still answers as its own rules say.
    let (_, now) = Page::open(&device).await;
    assert!(
        now.server.rules.iter().any(|r| r.id == "idn"),
        "{:?}",
        now.server.rules
    );
    device.shutdown().await;

    // The same rules as the file `bridge learn` writes, read by a bridge started with it.
    let rules_file = dir.path().join("learnt.toml");
    let run = bridge_async(&[
        "learn",
        transcript.to_str().unwrap(),
        "-o",
        rules_file.to_str().unwrap(),
    ])
    .await;
    assert!(run.status.success(), "{}", stderr(&run));
    let simulator = start(&["--rules", rules_file.to_str().unwrap()]).await;
    let (_, snapshot) = Page::open(&simulator).await;
    assert_eq!(snapshot.server.rules, rules);
    assert_eq!(snapshot.server.defaults.framing, framing);
    simulator.shutdown().await;
}

#[tokio::test]
async fn a_page_s_learn_says_what_the_bridge_no_longer_held_and_why_nothing_was_learnt() {
    // A history of about a KiB (each record costs some 200 bytes) no longer holds the
    // greeting and the first question, but still its answer.
    let device = start(&["--rules", SCPI, "--history-bytes", "1100"]).await;
    let (mut page, _) = Page::open(&device).await;
    let conn = talk_to_scpi(&device, &mut page).await.id;
    let Ok(Event::Learnt {
        rules,
        elided_msgs,
        elided_bytes,
        ..
    }) = learn(&mut page, conn, 8).await
    else {
        panic!("what is held is learnt");
    };
    assert!(
        elided_msgs > 0 && elided_bytes > 0,
        "{elided_msgs} {elided_bytes}"
    );
    // An answer held without its question is no greeting, nor learnt at all.
    assert!(!rules.iter().any(|r| r.id == "greeting"), "{rules:?}");
    let replies: Vec<String> = rules.iter().map(|r| format!("{:?}", r.reply)).collect();
    assert!(!replies.iter().any(|r| r.contains("ACME")), "{rules:?}");
    assert!(rules.iter().any(|r| r.name == "Answer BOGUS"), "{rules:?}");
    let problem = learn(&mut page, 99, 9).await.unwrap_err();
    assert_eq!(
        (problem.kind, problem.conn),
        (ProblemKind::NoSuchConnection, Some(99))
    );
    device.shutdown().await;

    // A server that answered nothing: nothing to learn, said so.
    let mute = start(&[]).await;
    let (mut page, _) = Page::open(&mute).await;
    let (mut client, info) = accept_peer(&mute, &mut page).await;
    client.send(b"anyone?\n").await;
    page.record(info.id, Flow::Rx).await;
    let problem = learn(&mut page, info.id, 10).await.unwrap_err();
    assert_eq!(
        (problem.kind, problem.conn),
        (ProblemKind::LearnFailed, Some(info.id))
    );
    assert!(
        problem.message.contains("nothing the server answered"),
        "{}",
        problem.message
    );
    mute.shutdown().await;
}

#[tokio::test]
async fn replay_passes_against_the_same_device_and_names_what_a_changed_one_says() {
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("scpi.jsonl");
    record_scpi(&transcript).await;
    let transcript = transcript.to_str().unwrap();
    let junit = dir.path().join("report.xml");
    let junit = junit.to_str().unwrap();

    // The same device, started afresh, answers as recorded.
    let same = start(&["--rules", SCPI]).await;
    let to = same.listen_addr.unwrap().to_string();
    let run = bridge_async(&["replay", transcript, "--to", &to, "--junit", junit]).await;
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
    assert!(
        stdout(&run).contains(": ok, 4 replies as recorded"),
        "{}",
        stdout(&run)
    );
    let report = std::fs::read_to_string(junit).unwrap();
    assert!(
        report.contains("tests=\"1\" failures=\"0\" errors=\"0\""),
        "{report}"
    );
    same.shutdown().await;

    // New firmware: another version in its identity.
    let firmware = std::fs::read_to_string(SCPI)
        .unwrap()
        .replace("1.0.3", "1.1.0");
    assert!(firmware.contains("1.1.0"));
    let rules = write(dir.path(), "new-firmware.toml", &firmware);
    let changed = start(&["--rules", &rules]).await;
    let to = changed.listen_addr.unwrap().to_string();
    let run = bridge_async(&["replay", transcript, "--to", &to, "--junit", junit]).await;
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
    let said = stdout(&run);
    assert!(
        said.contains("reply 2 (record 3) differs at bytes 35, 37 (recorded 39 bytes, now 39):"),
        "{said}"
    );
    assert!(
        said.contains(
            "recorded (from byte 19): 4d 2d 31 30 30 30 2c 53 4e 30 30 30 31 2c 31 2e 30 2e 33 \
             0a  \"M-1000,SN0001,1.0.3\\n\""
        ),
        "{said}"
    );
    assert!(
        said.contains(
            "now (from byte 19):      4d 2d 31 30 30 30 2c 53 4e 30 30 30 31 2c 31 2e 31 2e 30 \
             0a  \"M-1000,SN0001,1.1.0\\n\""
        ),
        "{said}"
    );
    assert!(said.contains("FAILED, 1 of 4 replies differ"), "{said}");
    let report = std::fs::read_to_string(junit).unwrap();
    assert!(report.contains("failures=\"1\""), "{report}");
    assert!(
        report.contains("<failure message=\"1 of 4 replies differ\">"),
        "{report}"
    );

    // The version's bytes let differ, by offset: it passes again.
    let run = bridge_async(&["replay", transcript, "--to", &to, "--ignore", "@35..38"]).await;
    assert_eq!(run.status.code(), Some(0), "{}", stdout(&run));
    changed.shutdown().await;
}

#[tokio::test]
async fn replay_fails_with_the_reason_when_the_server_refuses_or_does_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("scpi.jsonl");
    record_scpi(&transcript).await;
    let transcript = transcript.to_str().unwrap();
    let junit = dir.path().join("report.xml");
    let junit = junit.to_str().unwrap();

    // Nothing listens on a port just freed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let to = closed.local_addr().unwrap().to_string();
    drop(closed);
    let run = bridge_async(&["replay", transcript, "--to", &to, "--junit", junit]).await;
    assert_eq!(run.status.code(), Some(1), "{}", stdout(&run));
    assert!(
        stdout(&run).contains(&format!("cannot connect to {to}:")),
        "{}",
        stdout(&run)
    );
    let report = std::fs::read_to_string(junit).unwrap();
    assert!(report.contains("errors=\"1\""), "{report}");

    // A server that accepts and says nothing: the greeting never comes.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let to = silent.local_addr().unwrap().to_string();
    let run = bridge_async(&[
        "replay",
        transcript,
        "--to",
        &to,
        "--reply-timeout",
        "300ms",
    ])
    .await;
    assert_eq!(run.status.code(), Some(1), "{}", stdout(&run));
    assert!(
        stdout(&run).contains("reply 1 (record 1) did not come within 0.3 s (nothing of it arrived; recorded: 41 43 4d 45"),
        "{}",
        stdout(&run)
    );
    drop(silent);

    // A server that answers as recorded, and then some.
    let chatty = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let to = chatty.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        let (socket, _) = chatty.accept().await.unwrap();
        let (read, mut write) = socket.into_split();
        write
            .write_all(b"ACME Instruments DMM-1000 ready\n")
            .await
            .unwrap();
        let mut lines = BufReader::new(read).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let answer: &[u8] = match line.as_str() {
                "*IDN?" => b"ACME Instruments,DMM-1000,SN0001,1.0.3\n",
                "MEAS:VOLT?" => b"+1.000E-03\n",
                _ => b"-113,\"Undefined header\"\nand more\n",
            };
            write.write_all(answer).await.unwrap();
        }
    });
    let run = bridge_async(&["replay", transcript, "--to", &to]).await;
    assert_eq!(run.status.code(), Some(1), "{}", stdout(&run));
    assert!(
        stdout(&run).contains(
            "9 bytes came after the last reply, which the recording does not have: \
             61 6e 64 20 6d 6f 72 65 0a  \"and more\\n\""
        ),
        "{}",
        stdout(&run)
    );
    server.abort();

    let bad = bridge_async(&["replay", transcript, "--to", &to, "--ignore", "01 02"]).await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("has no ?? byte"), "{}", stderr(&bad));
}

#[tokio::test]
async fn a_learnt_scpi_simulator_answers_a_fresh_client_as_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("scpi.jsonl");
    record_scpi(&transcript).await;
    let transcript = transcript.to_str().unwrap();
    let rules = dir.path().join("learnt.toml");
    let rules = rules.to_str().unwrap();
    let run = bridge_async(&["learn", transcript, "-o", rules]).await;
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stdout(&run).contains("4 rules, a greeting on connect"),
        "{}",
        stdout(&run)
    );
    let learnt = std::fs::read_to_string(rules).unwrap();
    assert!(
        learnt.contains("framing = { mode = \"delimiter\", delimiter = \"lf\" }"),
        "{learnt}"
    );
    assert!(
        learnt.contains("trigger = { on = \"connect\" }\nreply = { text = 'ACME Instruments DMM-1000 ready\\n' }"),
        "{learnt}"
    );
    assert!(
        learnt.contains("trigger = { on = \"exact\", text = '*IDN?' }\nreply = { text = 'ACME Instruments,DMM-1000,SN0001,1.0.3\\n' }"),
        "{learnt}"
    );

    let simulator = start(&["--rules", rules]).await;
    let to = simulator.listen_addr.unwrap().to_string();
    let run = bridge_async(&["replay", transcript, "--to", &to]).await;
    assert_eq!(run.status.code(), Some(0), "{}{learnt}", stdout(&run));
    simulator.shutdown().await;
}

const MODBUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/modbus-like.toml");

fn with_crc(mut bytes: Vec<u8>) -> Vec<u8> {
    protocol::checksum::Checksum::Crc16Modbus.append(&mut bytes);
    bytes
}

#[tokio::test]
async fn a_modbus_like_device_is_learnt_with_its_counter_and_crc() {
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("modbus.jsonl");
    let read = with_crc(vec![1, 3, 0, 0, 0, 2]);
    let answer = |n: u8| with_crc(vec![1, 3, 4, 0, n, 0, 0x2a]);
    let write_register = with_crc(vec![1, 6, 0, 1, 0, 5]);
    {
        let device = start(&[
            "--rules",
            MODBUS,
            "--transcript",
            transcript.to_str().unwrap(),
        ])
        .await;
        let (mut page, _) = Page::open(&device).await;
        let (mut client, _) = accept_peer(&device, &mut page).await;
        for n in 1..=3 {
            client.send(&read).await;
            assert_eq!(client.receive(9).await, answer(n));
        }
        client.send(&write_register).await;
        assert_eq!(client.receive(8).await, write_register);
        drop(client);
        page.conn(ConnState::Closed).await;
        device.shutdown().await;
    }
    let transcript = transcript.to_str().unwrap();
    let rules = dir.path().join("learnt.toml");
    let rules = rules.to_str().unwrap();
    let run = bridge_async(&["learn", transcript, "-o", rules]).await;
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stdout(&run).contains("1 request generalised"),
        "{}",
        stdout(&run)
    );
    let learnt = std::fs::read_to_string(rules).unwrap();
    assert!(
        learnt.contains(
            "trigger = { on = \"hex\", pattern = '01 03 00 00 00 02 c4 0b' }\n\
             reply = { hex = '01 03 04 ${counter:u16} 00 2a' }\n\
             checksum = \"crc16_modbus\""
        ),
        "{learnt}"
    );

    // The simulator answers as recorded, and counts on past the recording.
    let simulator = start(&["--rules", rules]).await;
    let to = simulator.listen_addr.unwrap().to_string();
    let run = bridge_async(&["replay", transcript, "--to", &to]).await;
    assert_eq!(run.status.code(), Some(0), "{}{learnt}", stdout(&run));
    let (mut page, _) = Page::open(&simulator).await;
    let (mut client, _) = accept_peer(&simulator, &mut page).await;
    for n in 1..=4 {
        client.send(&read).await;
        assert_eq!(client.receive(9).await, answer(n));
    }
    simulator.shutdown().await;
}

const ECHO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/echo-device.toml");

#[tokio::test]
async fn replay_speaks_udp_and_tls_as_they_were_recorded() {
    let dir = tempfile::tempdir().unwrap();

    // UDP: an echo device's datagrams.
    let udp = dir.path().join("udp.jsonl");
    {
        let flags = ["--rules", ECHO, "--udp", "127.0.0.1:0", "--transcript"];
        let device = start(&[&flags[..], &[udp.to_str().unwrap()]].concat()).await;
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket.connect(device.udp_addr.unwrap()).await.unwrap();
        let mut buf = [0; 64];
        for datagram in ["ping", "二"] {
            socket.send(datagram.as_bytes()).await.unwrap();
            let n = common::within("the echo", socket.recv(&mut buf))
                .await
                .unwrap();
            assert_eq!(&buf[..n], datagram.as_bytes());
        }
        // Shutting down writes out the transcript.
        device.shutdown().await;
    }
    let udp = udp.to_str().unwrap();
    let same = start(&["--rules", ECHO, "--udp", "127.0.0.1:0"]).await;
    let to = same.udp_addr.unwrap().to_string();
    let run = bridge_async(&["replay", udp, "--to", &to]).await;
    assert_eq!(run.status.code(), Some(0), "{}", stdout(&run));
    same.shutdown().await;
    let other = start(&["--rules", SCPI, "--udp", "127.0.0.1:0"]).await;
    let to = other.udp_addr.unwrap().to_string();
    let run = bridge_async(&["replay", udp, "--to", &to, "--reply-timeout", "1s"]).await;
    assert_eq!(run.status.code(), Some(1), "{}", stdout(&run));
    assert!(
        stdout(&run).contains("reply 1 (record "),
        "{}",
        stdout(&run)
    );
    other.shutdown().await;

    // TLS: the SCPI device behind the bridge's TLS listener, its certificate self-signed.
    let tls = dir.path().join("tls.jsonl");
    {
        let flags = [
            "--rules",
            SCPI,
            "--tls-listen",
            "127.0.0.1:0",
            "--transcript",
        ];
        let device = start(&[&flags[..], &[tls.to_str().unwrap()]].concat()).await;
        let (mut page, _) = Page::open(&device).await;
        let tcp = tokio::net::TcpStream::connect(device.tls_addr.unwrap())
            .await
            .unwrap();
        let options = bridge::tls::ClientOptions {
            accept_any_certificate: true,
            ..Default::default()
        };
        let (mut stream, _) = bridge::tls::connect(tcp, "127.0.0.1", &options)
            .await
            .unwrap();
        use tokio::io::AsyncReadExt;
        let mut greeting = [0; 32];
        common::within("the greeting", stream.read_exact(&mut greeting))
            .await
            .unwrap();
        stream.write_all(b"*IDN?\n").await.unwrap();
        let mut idn = [0; 39];
        common::within("the identity", stream.read_exact(&mut idn))
            .await
            .unwrap();
        assert_eq!(&idn[..], b"ACME Instruments,DMM-1000,SN0001,1.0.3\n");
        drop(stream);
        page.conn(ConnState::Closed).await;
        device.shutdown().await;
    }
    let tls = tls.to_str().unwrap();
    let same = start(&["--rules", SCPI, "--tls-listen", "127.0.0.1:0"]).await;
    let to = same.tls_addr.unwrap().to_string();
    let refused = bridge_async(&["replay", tls, "--to", &to]).await;
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    assert!(
        stdout(&refused).contains(&format!("TLS with {to} failed:")),
        "{}",
        stdout(&refused)
    );
    let run = bridge_async(&["replay", tls, "--to", &to, "--accept-any-certificate"]).await;
    assert_eq!(run.status.code(), Some(0), "{}", stdout(&run));
    assert!(
        stdout(&run).contains(": ok, 2 replies as recorded"),
        "{}",
        stdout(&run)
    );
    same.shutdown().await;
}

#[tokio::test]
async fn a_held_message_edited_or_dropped_is_in_the_transcript_and_the_tools_use_what_reached_each_side(
) {
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("held.jsonl");
    let (bridge, server, proxy) = proxied(&[
        "--framing",
        "lf",
        "--transcript",
        transcript.to_str().unwrap(),
    ])
    .await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut client, mut server_end, conn) = pair(&mut page, &server, proxy).await;
    hold(&mut page, conn.id, Way::ClientToServer, true).await;
    // Edited on its way: the server hears the edit, and answers it.
    client.send(b"SET 20\n").await;
    let set = held(&mut page).await;
    page.command(protocol::Command::Forward {
        conn: conn.id,
        id: set.id,
        edit: Some(hex::encode(b"SET 25\n")),
    })
    .await;
    assert_eq!(server_end.receive(7).await, b"SET 25\n");
    server_end.send(b"OK\n").await;
    assert_eq!(client.receive(3).await, b"OK\n");
    // Dropped on its way: the server never hears it (the next thing it reads is GET).
    client.send(b"REBOOT\n").await;
    let reboot = held(&mut page).await;
    page.command(protocol::Command::DropHeld {
        conn: conn.id,
        id: reboot.id,
    })
    .await;
    assert_eq!(released(&mut page, reboot.id).await, Release::Dropped);
    client.send(b"GET\n").await;
    let get = held(&mut page).await;
    page.command(protocol::Command::Forward {
        conn: conn.id,
        id: get.id,
        edit: None,
    })
    .await;
    assert_eq!(server_end.receive(4).await, b"GET\n");
    server_end.send(b"25\n").await;
    assert_eq!(client.receive(3).await, b"25\n");
    drop((client, server_end));
    page.conn(ConnState::Closed).await;
    bridge.shutdown().await;

    // The transcript says what went on, what the client said, and what never went.
    let text = std::fs::read_to_string(&transcript).unwrap();
    let line = |has: &str| {
        text.lines()
            .find(|l| l.contains(has))
            .unwrap_or_else(|| panic!("no line with {has} in\n{text}"))
    };
    let edited = line("SET 25");
    assert!(
        edited.contains(r#""edited":true"#) && edited.contains(r#""original_text":"SET 20\n""#),
        "{edited}"
    );
    assert!(line("REBOOT").contains(r#""dropped":true"#), "{text}");
    assert!(!line("GET").contains("edited"), "{text}");
    // ... and the reader reads it.
    let recording = bridge::recording::read_file(&transcript, false).unwrap();
    let c = &recording.conversations[0];
    let set = c.messages().find(|m| m.edited).expect("the edit is read");
    assert_eq!(
        (&set.bytes[..], set.said()),
        (&b"SET 25\n"[..], &b"SET 20\n"[..])
    );
    let reached: Vec<&[u8]> = c.messages().map(|m| &m.bytes[..]).collect();
    assert_eq!(reached, [&b"SET 25\n"[..], b"OK\n", b"GET\n", b"25\n"]);

    // learn and replay take the server's side: the edit it heard, never what was dropped.
    let transcript = transcript.to_str().unwrap();
    let learnt = bridge_async(&["learn", transcript]).await;
    assert!(learnt.status.success(), "{}", stderr(&learnt));
    let rules = stdout(&learnt);
    assert!(rules.contains("text = 'SET 25'"), "{rules}");
    assert!(
        !rules.contains("REBOOT") && !rules.contains("SET 20"),
        "{rules}"
    );
    let device = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let to = device.local_addr().unwrap().to_string();
    let heard = tokio::spawn(async move {
        let (stream, _) = device.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let mut heard = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let answer = match line.as_str() {
                "SET 25" => "OK\n",
                "GET" => "25\n",
                _ => "?\n",
            };
            heard.push_str(&line);
            heard.push('\n');
            write.write_all(answer.as_bytes()).await.unwrap();
        }
        heard
    });
    let run = bridge_async(&["replay", transcript, "--to", &to]).await;
    assert_eq!(run.status.code(), Some(0), "{}", stdout(&run));
    let heard = within("the device to hear the replay", heard)
        .await
        .unwrap();
    assert_eq!(heard, "SET 25\nGET\n");

    // In Wireshark, the stream is what reached each side.
    let pcapng = dir.path().join("held.pcapng");
    pcap(transcript, &pcapng, &[]);
    assert_eq!(
        follow(&pcapng, 0),
        (b"SET 25\nGET\n".to_vec(), b"OK\n25\n".to_vec())
    );
}
