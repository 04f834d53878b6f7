//! The real binary, as a user starts and stops it.

use std::io::{BufRead, BufReader};
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

/// The lines `from` writes, as they come, read on a thread of their own.
fn lines_of(from: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    lines
}

/// Sends SIGTERM, as `kill` and service managers do.
fn terminate(child: &Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
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
fn it_prints_where_to_go_and_stops_cleanly_on_sigterm() {
    let mut child = bridge(&["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"]);
    let lines = lines_of(child.stdout.take().unwrap());
    let first = lines.recv_timeout(WAIT).expect("a first line");
    assert!(first.starts_with("TCP listener on 127.0.0.1:"), "{first}");
    let second = lines.recv_timeout(WAIT).expect("a second line");
    assert!(second.starts_with("Open http://127.0.0.1:"), "{second}");
    assert!(second.ends_with(" in your browser"), "{second}");

    terminate(&child);
    assert_eq!(exit_within(&mut child, WAIT).code(), Some(0));
}

/// A transcript that is a FIFO waits for its reader, saying so; Ctrl-C or SIGTERM meanwhile
/// still stops the bridge.
#[test]
fn waiting_for_a_transcript_fifo_s_reader_it_still_stops_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("bridge-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("transcript");
    let _ = std::fs::remove_file(&fifo);
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let mut child = bridge(&[
        "--listen",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--transcript",
        fifo.to_str().unwrap(),
    ]);
    let lines = lines_of(child.stderr.take().unwrap());
    let said = lines.recv_timeout(WAIT).expect("a line on stderr");
    assert!(
        said.contains("is a FIFO: waiting for a program to read it"),
        "{said}"
    );

    terminate(&child);
    let status = exit_within(&mut child, WAIT);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(status.code(), Some(0));
}
