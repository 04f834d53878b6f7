//! The real binary, as a user starts and stops it.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(5);

fn bridge(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_bridge"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the bridge binary starts")
}

/// Waits for the process to exit, at most `limit`.
fn exit_within(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the bridge did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_taken_port_is_one_clear_line_and_a_non_zero_exit() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut child = bridge(&["--listen", &addr, "--http", "127.0.0.1:0"]);
    let status = exit_within(&mut child, Duration::from_secs(2));
    assert_eq!(status.code(), Some(2));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: cannot listen for TCP on {addr}: address already in use"
        )),
        "{stderr}"
    );
}

#[test]
fn it_prints_where_to_go_and_stops_cleanly_on_sigterm() {
    let mut child = bridge(&["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"]);
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let first = lines.recv_timeout(WAIT).expect("a first line");
    assert!(first.starts_with("TCP listener on 127.0.0.1:"), "{first}");
    let second = lines.recv_timeout(WAIT).expect("a second line");
    assert!(second.starts_with("Open http://127.0.0.1:"), "{second}");
    assert!(second.ends_with(" in your browser"), "{second}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    assert_eq!(exit_within(&mut child, WAIT).code(), Some(0));
}

#[test]
fn sigterm_flushes_a_complete_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traffic.jsonl");
    let mut child = bridge(&[
        "--listen",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--transcript",
        path.to_str().unwrap(),
    ]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr = first
        .trim()
        .strip_prefix("TCP listener on ")
        .expect("the address");

    // A peer streams 1 MiB and half-closes; the bridge ends the conversation once it has read
    // it all, and the peer sees the end.
    let mut peer = std::net::TcpStream::connect(addr).unwrap();
    peer.set_read_timeout(Some(WAIT)).unwrap();
    let sent: Vec<u8> = (0..1u32 << 20).map(|i| b'a' + (i % 26) as u8).collect();
    std::io::Write::write_all(&mut peer, &sent).unwrap();
    peer.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    peer.read_to_end(&mut rest)
        .expect("the bridge closes the connection");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    assert_eq!(exit_within(&mut child, WAIT).code(), Some(0));

    let text = std::fs::read_to_string(&path).unwrap();
    let received: String = text
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|line| line["dir"] == "rx")
        .map(|line| line["text"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        received.as_bytes() == sent,
        "the transcript holds every byte"
    );
    assert!(text.lines().last().unwrap().contains(r#""event":"closed""#));
}
