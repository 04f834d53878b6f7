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
