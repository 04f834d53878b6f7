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

/// Starts the bridge with `args` on ephemeral loopback ports through `sh -c`, after `setup`
/// (shell commands: a file size limit, say), and returns it with its TCP listener's address
/// and its stderr, line by line.
fn bridge_with(setup: &str, args: &[&str]) -> (Child, String, mpsc::Receiver<String>) {
    let command = format!("{setup}; exec \"$0\" --listen 127.0.0.1:0 --http 127.0.0.1:0 \"$@\"",);
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .arg(env!("CARGO_BIN_EXE_bridge"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh runs the bridge");
    let lines = lines_of(child.stdout.take().unwrap());
    let first = lines.recv_timeout(WAIT).expect("a first line");
    let listen = first
        .strip_prefix("TCP listener on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    let errors = lines_of(child.stderr.take().unwrap());
    (child, listen, errors)
}

/// The first of `lines` that contains `what`, waiting at most [`WAIT`].
fn within_lines(lines: &mpsc::Receiver<String>, what: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(what) => return line,
            Ok(_) => continue,
            Err(_) => panic!("no line saying {what:?} within {WAIT:?}"),
        }
    }
}

/// Lines of about 1000 bytes, numbered, for a peer to send.
fn numbered_lines(count: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..count {
        out.extend_from_slice(format!("{i:08} {}\n", "x".repeat(990)).as_bytes());
    }
    out
}

/// Every line of the file is whole JSON; the file ends with a line's end.
fn assert_whole_lines(path: &std::path::Path, what: &str) -> usize {
    let text = std::fs::read(path).expect("the transcript exists");
    let text = String::from_utf8(text).expect("UTF-8");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{what}: the transcript ({} bytes) ends in half a line: {:?}",
        text.len(),
        &text[text.len().saturating_sub(80)..]
    );
    for (n, line) in text.lines().enumerate() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "{what}: line {} of the transcript is not JSON: {:?}",
            n + 1,
            &line[..line.len().min(200)]
        );
    }
    text.lines().count()
}

/// A disk that fills up (here, a file size limit) loses lines, says so, and never leaves half
/// of one in the file, nor two spliced into one.
#[test]
fn a_full_disk_never_leaves_half_a_line_and_says_what_was_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("transcript.jsonl");
    // 200 KiB at most; SIGXFSZ ignored, so that a write past it fails with EFBIG.
    let (mut child, listen, errors) = bridge_with(
        "trap '' XFSZ; ulimit -f 400",
        &["--no-exit-word", "--transcript", path.to_str().unwrap()],
    );
    let mut peer = std::net::TcpStream::connect(&listen).expect("connect");
    use std::io::Write;
    peer.write_all(&numbered_lines(1000)).expect("send");
    let said = within_lines(&errors, "cannot write the transcript");
    assert!(said.contains("were lost"), "{said}");
    drop(peer);
    terminate(&child);
    assert_eq!(exit_within(&mut child, WAIT).code(), Some(0));
    let kept = assert_whole_lines(&path, "after a full disk");
    assert!(kept > 0, "no line was written");
}

/// `kill -9` in the middle of a flood loses the last lines, never half of one.
#[test]
fn kill_9_never_leaves_half_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("transcript.jsonl");
    let (mut child, listen, _errors) = bridge_with(
        "true",
        &["--no-exit-word", "--transcript", path.to_str().unwrap()],
    );
    let mut peer = std::net::TcpStream::connect(&listen).expect("connect");
    let flood = std::thread::spawn(move || {
        use std::io::Write;
        let lines = numbered_lines(1000);
        while peer.write_all(&lines).is_ok() {}
    });
    // Kill it while it writes: once the file holds a few MiB.
    let deadline = Instant::now() + WAIT;
    while std::fs::metadata(&path).map_or(0, |m| m.len()) < 4 << 20 {
        assert!(Instant::now() < deadline, "the transcript did not grow");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill -9");
    child.wait().expect("wait");
    flood.join().unwrap();
    assert_whole_lines(&path, "after kill -9");
}

/// A transcript whose reader stopped reading (a FIFO) does not hold SIGTERM up: the bridge
/// stops within its bound and says what was not written.
#[test]
fn a_transcript_that_takes_nothing_does_not_hold_sigterm_up() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("transcript");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    // The reader opens the FIFO, reads its first bytes, then reads nothing more.
    let (first_read, read) = mpsc::channel();
    let reading = fifo.clone();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut file = std::fs::File::open(reading).expect("open the FIFO");
        let mut byte = [0u8; 1];
        let _ = file.read_exact(&mut byte);
        let _ = first_read.send(());
        std::thread::sleep(Duration::from_secs(60));
        drop(file);
    });
    let (mut child, listen, errors) = bridge_with(
        "true",
        &["--no-exit-word", "--transcript", fifo.to_str().unwrap()],
    );
    let mut peer = std::net::TcpStream::connect(&listen).expect("connect");
    use std::io::Write;
    peer.write_all(&numbered_lines(4000)).expect("send");
    read.recv_timeout(WAIT)
        .expect("the transcript's first bytes");
    let start = Instant::now();
    terminate(&child);
    let status = exit_within(&mut child, Duration::from_secs(15));
    let took = start.elapsed();
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(10), "SIGTERM took {took:?}");
    // Its stderr, to its end.
    let said: Vec<String> = errors.iter().collect();
    assert!(
        said.iter().any(
            |l| l.contains("could not be written for 3 s") && l.contains("lines are not in it")
        ),
        "{said:?}"
    );
}
