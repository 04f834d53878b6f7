//! Rules in passing: a proxy whose rules rewrite, drop or answer what it relays, each watching
//! one way. Headless, as a user runs it (`bridge --rules FILE --proxy LISTEN=TARGET`, no page)
//! between a Python client and a Python server on loopback; and with a page watching, which
//! sees what came in and what went out.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{pair, Page};
use protocol::checksum::Checksum;
use protocol::rules::{Action, ReplyBody, Rule, Trigger};
use protocol::{Command as BridgeCommand, Event, Marks, Record, ToClient, Way};
use tokio::net::TcpListener;

const WAIT: Duration = Duration::from_secs(10);

/// A server that answers each read with the same bytes, as it got them, and, once its client
/// has gone, prints each read in hex, one a line, then `done`.
const ECHO_SERVER: &str = r#"
import socket, sys
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
listener.settimeout(10)
print("listening on", listener.getsockname()[1], flush=True)
conn, _ = listener.accept()
conn.settimeout(10)
got = []
while True:
    data = conn.recv(65536)
    if not data:
        break
    got.append(data)
    conn.sendall(data)
for data in got:
    print(data.hex(), flush=True)
print("done", flush=True)
"#;

/// A client that sends each hex argument in turn and prints, in hex, what comes back within
/// `wait` (`-` when nothing does), one a line; then `done`.
const CLIENT: &str = r#"
import socket, sys, time
port, wait, messages = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
conn = socket.create_connection(("127.0.0.1", port), timeout=10)
for message in messages:
    conn.sendall(bytes.fromhex(message))
    conn.settimeout(wait)
    back = b""
    try:
        back = conn.recv(65536)
        # What comes back in pieces is one answer: read until it has been quiet a while.
        conn.settimeout(0.2)
        while True:
            more = conn.recv(65536)
            if not more:
                break
            back += more
    except socket.timeout:
        pass
    print(back.hex() if back else "-", flush=True)
conn.close()
print("done", flush=True)
"#;

/// A Python script running, with its output lines as they come.
struct Script {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Script {
    fn run(source: &str, args: &[&str]) -> Script {
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(source)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs (it is installed with the other tools)");
        let lines = lines_of(child.stdout.take().unwrap());
        Script { child, lines }
    }

    fn line(&self, what: &str) -> String {
        self.lines
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
    }

    /// Every line until `done`.
    fn until_done(&self, what: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            match self.line(what) {
                line if line == "done" => return lines,
                line => lines.push(line),
            }
        }
    }
}

impl Script {
    /// Stops it as a service manager would (SIGTERM), and waits for it to exit.
    fn stop(mut self) -> std::process::ExitStatus {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "it did not stop in time"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines_of(from: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    lines
}

/// The bridge binary, proxying to `target` with the rules of `rules` and writing a transcript
/// to `transcript`, and where it proxies.
fn headless_proxy(
    rules: &std::path::Path,
    transcript: &std::path::Path,
    target: &str,
) -> (Script, u16) {
    let spec = format!("127.0.0.1:0={target}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_bridge"))
        .args([
            "--no-listen",
            "--http",
            "127.0.0.1:0",
            "--proxy",
            &spec,
            "--rules",
        ])
        .arg(rules)
        .arg("--transcript")
        .arg(transcript)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the bridge binary starts");
    let lines = lines_of(child.stdout.take().unwrap());
    let bridge = Script { child, lines };
    let port = loop {
        let line = bridge.line("the bridge to say where it proxies");
        if let Some(rest) = line.strip_prefix("Proxy on 127.0.0.1:") {
            break rest.split(',').next().unwrap().parse().unwrap();
        }
    };
    (bridge, port)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn with_crc(bytes: &[u8]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    Checksum::Crc16Modbus.append(&mut bytes);
    bytes
}

const RULES: &str = r#"
# Requests for slave 1 go to slave 2, their CRC computed afresh.
[[rule]]
id = "to-slave-2"
way = "client_to_server"
action = "rewrite"
trigger = { on = "hex", pattern = "01 03 ?? ?? ?? ??" }
reply = { hex = "02 03 $1" }
checksum = "crc16_modbus"

# One request of the real server is stubbed; the others reach it.
[[rule]]
id = "idn-stub"
way = "client_to_server"
action = "answer"
trigger = { on = "exact", text = '*IDN?' }
reply = { text = 'STUB,0000\n' }

[[rule]]
id = "no-noise"
way = "client_to_server"
action = "drop"
trigger = { on = "prefix", text = 'NOISE' }

# The server's millivolts become microvolts, on the way back only.
[[rule]]
id = "micro"
way = "server_to_client"
action = "rewrite"
trigger = { on = "regex", pattern = '(?<n>\d+) mV' }
reply = { text = '${n}000 uV' }
"#;

#[test]
fn a_headless_proxy_rewrites_drops_and_answers_between_a_python_client_and_server() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("passing.toml");
    std::fs::File::create(&rules)
        .unwrap()
        .write_all(RULES.as_bytes())
        .unwrap();
    let server = Script::run(ECHO_SERVER, &[]);
    let listening = server.line("the server to listen");
    let server_port = listening.strip_prefix("listening on ").unwrap();
    let transcript = dir.path().join("transcript.jsonl");
    let (bridge, proxy_port) =
        headless_proxy(&rules, &transcript, &format!("127.0.0.1:{server_port}"));

    let request = with_crc(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x02]);
    let to_slave_2 = with_crc(&[0x02, 0x03, 0x00, 0x00, 0x00, 0x02]);
    let other_slave = with_crc(&[0x05, 0x03, 0x00, 0x00, 0x00, 0x02]);
    let sent = [
        hex(&request),
        hex(b"*IDN?\n"),
        hex(b"NOISE on the line\n"),
        hex(b"PING\n"),
        hex(b"VOLT 12 mV, 7 mV\n"),
        hex(&other_slave),
    ];
    let mut args = vec![proxy_port.to_string(), "2".into()];
    args.extend(sent.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let client = Script::run(CLIENT, &args);
    let back = client.until_done("the client's answers");
    assert_eq!(
        back,
        [
            // The server echoed the request it got: slave 2's, with a CRC that checks.
            hex(&to_slave_2),
            // Answered by the proxy.
            hex(b"STUB,0000\n"),
            // Dropped: nothing came back.
            "-".into(),
            hex(b"PING\n"),
            // Rewritten on its way back, every match, with its group.
            hex(b"VOLT 12000 uV, 7000 uV\n"),
            // Another slave's request is not the rule's: it passes as it was.
            hex(&other_slave),
        ]
    );
    assert_eq!(Checksum::Crc16Modbus.verify(&to_slave_2), Some(true));
    let got = server.until_done("what the server got");
    assert_eq!(
        got,
        [
            hex(&to_slave_2),
            hex(b"PING\n"),
            // The regex watches the other way: the client's words reached the server as said.
            hex(b"VOLT 12 mV, 7 mV\n"),
            hex(&other_slave),
        ],
        "the stubbed and the dropped requests never reached the server"
    );

    // The transcript is true: each message as it came, then what a rule made of it, by name.
    assert!(bridge.stop().success());
    let records: Vec<(String, String, Option<String>)> = std::fs::read_to_string(&transcript)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|line| line.get("seq").is_some())
        .map(|line| {
            let bytes = match (line["text"].as_str(), line["hex"].as_str()) {
                (Some(text), _) => hex(text.as_bytes()),
                (None, Some(hex)) => hex.replace(' ', ""),
                (None, None) => String::new(),
            };
            let rule = line["rule"].as_str().map(str::to_owned);
            (line["way"].as_str().unwrap().to_owned(), bytes, rule)
        })
        .collect();
    let up = |bytes: &[u8], rule: Option<&str>| {
        (
            "client_to_server".to_owned(),
            hex(bytes),
            rule.map(str::to_owned),
        )
    };
    let down = |bytes: &[u8], rule: Option<&str>| {
        (
            "server_to_client".to_owned(),
            hex(bytes),
            rule.map(str::to_owned),
        )
    };
    assert_eq!(
        records,
        [
            up(&request, None),
            up(&to_slave_2, Some("to-slave-2")),
            down(&to_slave_2, None),
            up(b"*IDN?\n", None),
            down(b"STUB,0000\n", Some("idn-stub")),
            up(b"NOISE on the line\n", None),
            up(b"PING\n", None),
            down(b"PING\n", None),
            up(b"VOLT 12 mV, 7 mV\n", None),
            down(b"VOLT 12 mV, 7 mV\n", None),
            down(b"VOLT 12000 uV, 7000 uV\n", Some("micro")),
            up(&other_slave, None),
            down(&other_slave, None),
        ]
    );
}

/// A server on loopback, and a bridge with a page that proxies to it.
async fn proxied(flags: &[&str]) -> (bridge::Bridge, TcpListener, SocketAddr, Page) {
    let (bridge, server, proxy) = common::proxied(flags).await;
    let (page, _) = Page::open(&bridge).await;
    (bridge, server, proxy, page)
}

/// The next record of `conn`.
async fn next_record(page: &mut Page, conn: u64) -> Record {
    let event = page
        .expect(
            "a record",
            |e| matches!(e, ToClient::Record(r) if r.conn == conn),
        )
        .await;
    let ToClient::Record(record) = event else {
        unreachable!()
    };
    record
}

fn passing(id: &str, way: Way, action: Action, trigger: Trigger, reply: ReplyBody) -> Rule {
    Rule {
        way: Some(way),
        action,
        ..Rule::new(id, trigger, reply)
    }
}

async fn set_rules(page: &mut Page, rules: Vec<Rule>) {
    page.command(BridgeCommand::SetRules {
        rules: rules.clone(),
    })
    .await;
    page.event("the rules in force", |e| match e {
        Event::Rules { rules: now } if *now == rules => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test]
async fn the_page_sees_what_came_in_and_what_went_out() {
    let (_bridge, server, proxy, mut page) = proxied(&[]).await;
    set_rules(
        &mut page,
        vec![
            passing(
                "louder",
                Way::ClientToServer,
                Action::Rewrite,
                Trigger::Regex {
                    pattern: "hello".into(),
                },
                ReplyBody::Text("HELLO".into()),
            ),
            passing(
                "pong",
                Way::ClientToServer,
                Action::Answer,
                Trigger::Exact {
                    text: "PING".into(),
                },
                ReplyBody::Text("PONG\\n".into()),
            ),
        ],
    )
    .await;
    let (mut client, mut server_end, conn) = pair(&mut page, &server, proxy).await;
    client.send(b"hello there\n").await;
    assert_eq!(server_end.receive(12).await, b"HELLO there\n");
    let came = next_record(&mut page, conn.id).await;
    assert_eq!(came.data, b"hello there\n");
    assert_eq!(came.rule, None);
    assert_eq!(Way::of(came.flow, came.marks), Some(Way::ClientToServer));
    let went = next_record(&mut page, conn.id).await;
    assert_eq!(went.data, b"HELLO there\n");
    assert_eq!(
        went.rule.as_deref(),
        Some("louder"),
        "it says which rule made it"
    );
    assert_eq!(Way::of(went.flow, went.marks), Some(Way::ClientToServer));

    client.send(b"PING\n").await;
    assert_eq!(client.receive(5).await, b"PONG\n");
    let came = next_record(&mut page, conn.id).await;
    assert_eq!(came.data, b"PING\n");
    let answered = next_record(&mut page, conn.id).await;
    assert_eq!(answered.data, b"PONG\n");
    assert_eq!(answered.rule.as_deref(), Some("pong"));
    assert_eq!(
        Way::of(answered.flow, answered.marks),
        Some(Way::ServerToClient),
        "the answer went back to the client, as if from the server"
    );
    assert!(answered.marks.contains(Marks::INJECTED));

    // The server never got the PING: what it gets next is what the client says next.
    client.send(b"bye\n").await;
    assert_eq!(server_end.receive(4).await, b"bye\n");
}

#[tokio::test]
async fn with_a_framing_whole_messages_are_rewritten_however_they_are_read() {
    let (_bridge, server, proxy, mut page) = proxied(&["--framing", "lf"]).await;
    let (mut client, mut server_end, conn) = pair(&mut page, &server, proxy).await;
    // Before any rule watches: reads go on as they come, a message's start among them.
    client.send(b"one\ntw").await;
    assert_eq!(server_end.receive(6).await, b"one\ntw");
    set_rules(
        &mut page,
        vec![passing(
            "x",
            Way::ClientToServer,
            Action::Rewrite,
            Trigger::Contains { text: "o".into() },
            ReplyBody::Text("0".into()),
        )],
    )
    .await;
    // The rest of the message already begun goes on as it is, once: it had begun to go.
    client.send(b"o\n").await;
    assert_eq!(server_end.receive(2).await, b"o\n");
    // A message in two reads is rewritten whole, once it has ended.
    client.send(b"fo").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    client.send(b"o\nzoo\n").await;
    assert_eq!(server_end.receive(8).await, b"f00\nz00\n");
    // The rules stop watching while a message is held: it goes on whole once it ends, once.
    client.send(b"ho").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    set_rules(&mut page, Vec::new()).await;
    client.send(b"me\n").await;
    assert_eq!(server_end.receive(5).await, b"home\n");
    // A message the client never ends goes on as it is when it closes.
    set_rules(
        &mut page,
        vec![passing(
            "x",
            Way::ClientToServer,
            Action::Drop,
            Trigger::Any,
            ReplyBody::default(),
        )],
    )
    .await;
    client.send(b"dropped\nlast").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    client.half_close().await;
    assert_eq!(server_end.receive(4).await, b"last");
    server_end.closed().await;
    let _ = conn;
}

#[tokio::test]
async fn the_server_side_answers_and_replies_go_to_the_server() {
    let (_bridge, server, proxy, mut page) = proxied(&[]).await;
    set_rules(
        &mut page,
        vec![
            passing(
                "ack",
                Way::ServerToClient,
                Action::Reply,
                Trigger::Prefix {
                    text: "DATA".into(),
                },
                ReplyBody::Text("ACK\\n".into()),
            ),
            passing(
                "keepalive",
                Way::ServerToClient,
                Action::Answer,
                Trigger::Exact {
                    text: "ALIVE?".into(),
                },
                ReplyBody::Text("YES\\n".into()),
            ),
        ],
    )
    .await;
    let (mut client, mut server_end, _conn) = pair(&mut page, &server, proxy).await;
    // A reply in passing: the server hears the ACK, and the client still gets the data.
    server_end.send(b"DATA 1\n").await;
    assert_eq!(client.receive(7).await, b"DATA 1\n");
    assert_eq!(server_end.receive(4).await, b"ACK\n");
    // An answer: the server is answered, the client never hears the question.
    server_end.send(b"ALIVE?\n").await;
    assert_eq!(server_end.receive(4).await, b"YES\n");
    // The client's own words pass untouched: these rules watch the other way.
    client.send(b"ALIVE?\n").await;
    assert_eq!(server_end.receive(7).await, b"ALIVE?\n");
    server_end.send(b"end\n").await;
    assert_eq!(client.receive(4).await, b"end\n");
}
