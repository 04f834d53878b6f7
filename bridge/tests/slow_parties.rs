//! One slow party never holds up another: a peer that stops reading, a page that stops reading,
//! a page that joins a full history.
//!
//! The tests that bound how long something may take run one at a time (`SERIAL`), so that a
//! flood in a neighbouring test does not eat the time they allow.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{accept_peer, start, within, KillOnDrop, Page, Peer};
use protocol::{
    Command, ConnId, ConnInfo, ConnState, Event, Flow, Problem, ProblemKind, Record, Target,
    ToClient,
};
use tokio::io::AsyncReadExt;
use tokio::sync::Mutex;
use tokio::time::timeout;

static SERIAL: Mutex<()> = Mutex::const_new(());

const CHUNK: usize = 64 << 10;

/// A 64 KiB send whose first eight bytes number it.
fn chunk(i: u64) -> Vec<u8> {
    let mut data = vec![(i % 251) as u8; CHUNK];
    data[..8].copy_from_slice(&i.to_le_bytes());
    data
}

/// Waits at most a second: for what must happen at once, not eventually.
async fn within_a_second<F: std::future::Future>(what: &str, future: F) -> F::Output {
    timeout(Duration::from_secs(1), future)
        .await
        .unwrap_or_else(|_| panic!("{what} took more than a second"))
}

/// Has `peer` send `mib` MiB, a MiB at a time, in a task of its own that gives it back.
fn stream_mib(mut peer: Peer, mib: usize) -> tokio::task::JoinHandle<Peer> {
    tokio::spawn(async move {
        let data = vec![b's'; 1 << 20];
        for _ in 0..mib {
            peer.send(&data).await;
        }
        peer
    })
}

/// Reads events until the connection from `addr` has sent a record, and returns it.
async fn record_from(page: &mut Page, addr: &str) -> Record {
    let mut id = None;
    loop {
        match page.next().await {
            ToClient::Event(Event::Conn { conn }) if conn.peer == addr => id = Some(conn.id),
            ToClient::Record(r) if Some(r.conn) == id && r.flow == Flow::Rx => return r,
            _ => {}
        }
    }
}

async fn closed(page: &mut Page, id: ConnId) -> ConnInfo {
    page.event("the connection to close", |e| match e {
        Event::Conn { conn } if conn.id == id && conn.state == ConnState::Closed => {
            Some(conn.clone())
        }
        _ => None,
    })
    .await
}

/// The page's errors until the one that `marker` provokes (the session carries out a page's
/// messages in order, so every earlier send has been dealt with by then).
async fn errors_until_marker(page: &mut Page) -> Vec<(Option<ConnId>, String)> {
    let mut errors = Vec::new();
    loop {
        let (conn, message) = page.error().await;
        if message == "there is no connection 999999" {
            return errors;
        }
        errors.push((conn, message));
    }
}

fn marker() -> Command {
    Command::Disconnect { conn: 999_999 }
}

/// The issue's own scenario: peer A stops reading while the page sends it 64 MiB; peer B's line
/// still reaches that page at once, and the page's disconnect of A is carried out at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_does_not_read_holds_up_nothing() {
    let _serial = SERIAL.lock().await;
    let bridge = start(&[]).await;
    let (page, _) = Page::open(&bridge).await;
    let (mut sender, mut page) = page.split();
    let (a, a_conn) = accept_peer(&bridge, &mut page).await; // reads nothing, ever
    let to_a = Target::Conn(a_conn.id);
    let flood = tokio::spawn(async move {
        for i in 0..1024 {
            sender.send(to_a, chunk(i)).await;
        }
        sender
    });

    // Once A's queue is full, a send is refused, naming the peer and what is waiting.
    let expected = format!(
        "{} is not reading: 4.0 MiB waiting to be written; this send was not queued",
        a.addr()
    );
    assert_eq!(
        page.problem().await,
        Problem::new(ProblemKind::NotReading, expected).on(a_conn.id)
    );

    let mut b = Peer::connect(bridge.listen_addr.unwrap()).await;
    b.send(b"B says hello\n").await;
    let line = within_a_second("B's line", record_from(&mut page, &b.addr())).await;
    assert_eq!(line.data, b"B says hello\n");

    let mut sender = within("every send to be taken", flood).await.unwrap();
    sender
        .command(Command::Disconnect { conn: a_conn.id })
        .await;
    let info = within_a_second("the disconnect", closed(&mut page, a_conn.id)).await;
    // The queue was full: within a send of its bound (the send cut off mid-write was recorded
    // for what the socket took of it).
    assert!(
        info.waiting > (4 << 20) - 2 * CHUNK as u64 && info.waiting <= 4 << 20,
        "{info:?}"
    );
    let reason = info.close_reason.unwrap();
    assert!(
        reason.starts_with("disconnected from the page; ")
            && reason.ends_with(&format!(
                "({}) waiting to be written were never sent",
                protocol::size::byte_count(info.waiting)
            )),
        "{reason}"
    );
    drop(a);
    bridge.shutdown().await;
}

/// Past the bound, sends are refused; what was taken is written whole, once, in order, when the
/// peer reads again, and sends are taken again once there is room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_past_the_bound_are_refused_and_the_rest_arrive_whole_and_in_order() {
    let bridge = start(&["--send-queue", "1M"]).await;
    let (page, _) = Page::open(&bridge).await;
    let (mut sender, mut page) = page.split();
    let (mut a, a_conn) = accept_peer(&bridge, &mut page).await;
    let to_a = Target::Conn(a_conn.id);
    const SENDS: u64 = 256; // 16 MiB: more than the socket buffers and the queue hold
    let flood = tokio::spawn(async move {
        for i in 0..SENDS {
            sender.send(to_a, chunk(i)).await;
        }
        sender.command(marker()).await;
        sender
    });
    let errors = errors_until_marker(&mut page).await;
    let mut sender = within("the sends", flood).await.unwrap();
    assert!(!errors.is_empty(), "some sends were refused");
    assert!(errors.iter().all(|(conn, message)| *conn == Some(a_conn.id)
        && message.starts_with(&format!("{} is not reading: ", a.addr()))
        && message.ends_with("waiting to be written; this send was not queued")));
    let taken = SENDS - errors.len() as u64;

    // The peer reads again: every send that was taken arrives whole, once, in the order sent
    // (the socket's buffers may grow meanwhile and make room for a later one).
    let received = a.receive(taken as usize * CHUNK).await;
    let mut last = None;
    for got in received.chunks(CHUNK) {
        let i = u64::from_le_bytes(got[..8].try_into().unwrap());
        assert!(
            last.is_none_or(|last| i > last),
            "send {i} after send {last:?}"
        );
        assert!(got == chunk(i), "send {i} arrived whole");
        last = Some(i);
    }

    // With the queue empty, a send is taken again.
    sender.send(to_a, b"room again\n".to_vec()).await;
    assert_eq!(a.receive(11).await, b"room again\n");
    bridge.shutdown().await;
}

/// Send to all delivers to every peer that reads, and is refused only for the one that does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_to_all_reaches_every_peer_that_reads() {
    let bridge = start(&["--send-queue", "1M"]).await;
    let (page, _) = Page::open(&bridge).await;
    let (mut sender, mut page) = page.split();
    let (a, a_conn) = accept_peer(&bridge, &mut page).await; // reads nothing
    let (b, _) = accept_peer(&bridge, &mut page).await;
    const SENDS: u64 = 256;
    // B reads as the sends come, and says how far it has got.
    let (progress, mut b_has) = tokio::sync::watch::channel(0u64);
    let reader = tokio::spawn(async move {
        let mut b = b;
        let mut got = Vec::new();
        let mut buf = vec![0; CHUNK];
        for i in 0..SENDS {
            b.stream.read_exact(&mut buf).await?;
            got.extend_from_slice(&buf);
            let _ = progress.send(i + 1);
        }
        std::io::Result::Ok(got)
    });
    // Never more than a few sends ahead of B, which therefore always has room: it reads.
    let flood = tokio::spawn(async move {
        for i in 0..SENDS {
            b_has.wait_for(|&has| has + 8 >= i).await.unwrap();
            sender.send(Target::All, chunk(i)).await;
        }
        sender.command(marker()).await;
    });
    let errors = errors_until_marker(&mut page).await;
    within("the sends", flood).await.unwrap();
    assert!(!errors.is_empty());
    assert!(
        errors.iter().all(|(conn, _)| *conn == Some(a_conn.id)),
        "only A refused"
    );
    let got = within("B to read everything", reader)
        .await
        .unwrap()
        .unwrap();
    for (i, got) in got.chunks(CHUNK).enumerate() {
        assert!(got == chunk(i as u64), "send {i} reached B whole, in order");
    }
    drop(a);
    bridge.shutdown().await;
}

/// One page never reads; another reads slowly but steadily. A peer's 64 MiB reach the reading
/// page whole, live, with no re-sync: backpressure follows each page, not the slowest of all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_page_does_not_change_what_a_reading_page_receives() {
    let _serial = SERIAL.lock().await;
    let bridge = start(&[]).await;
    let (_stalled, _) = Page::open(&bridge).await; // reads nothing, ever
    let (mut reader, _) = Page::open(&bridge).await;
    let (peer, conn) = accept_peer(&bridge, &mut reader).await;
    const TOTAL: usize = 128 << 20;
    let stream = stream_mib(peer, TOTAL >> 20);
    let mut got = 0;
    let mut records = 0u64;
    while got < TOTAL {
        match reader.next().await {
            ToClient::Record(r) if r.conn == conn.id => {
                got += r.data.len();
                records += 1;
            }
            ToClient::Event(Event::Hello { .. }) => {
                panic!("the reading page was re-synced after {got} bytes")
            }
            _ => {}
        }
        // Slower than the bridge can read: about a millisecond per record.
        if records.is_multiple_of(4) {
            tokio::time::sleep(Duration::from_millis(4)).await;
        }
    }
    assert_eq!(got, TOTAL);
    within("the stream to end", stream).await.unwrap();
    bridge.shutdown().await;
}

/// A page that takes nothing at all for `--page-timeout` (a frozen tab) is let go, so that what
/// the bridge was sending it (a snapshot may share the whole history as it was) is freed; a page
/// that keeps reading is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_takes_nothing_is_let_go() {
    let _serial = SERIAL.lock().await;
    let bridge = start(&["--page-timeout", "1"]).await;
    let (mut frozen, _) = Page::open(&bridge).await;
    let (mut reader, _) = Page::open(&bridge).await;
    let (peer, conn) = accept_peer(&bridge, &mut reader).await;
    // Far more than the socket buffers between the bridge and the frozen page hold.
    const TOTAL: usize = 64 << 20;
    let stream = stream_mib(peer, TOTAL >> 20);
    let mut got = 0;
    while got < TOTAL {
        if let ToClient::Record(r) = reader.next().await {
            if r.conn == conn.id {
                got += r.data.len();
            }
        }
    }
    let mut peer = within("the stream to end", stream).await.unwrap();
    // Frozen for longer than the timeout, then it wakes up: it reads what its socket buffers
    // held, then finds the socket closed. A page that was not let go would be sent the rest
    // (by a re-sync) and stay open.
    tokio::time::sleep(Duration::from_secs(2)).await;
    within("the frozen page's socket to close", async {
        while frozen.next_message().await.is_some() {}
    })
    .await;
    // The page that kept reading was not let go: it still hears the peer.
    peer.send(b"still here\n").await;
    reader
        .expect("the reading page to hear the peer", |m| {
            matches!(m, ToClient::Record(r) if r.conn == conn.id && r.data == b"still here\n"[..])
        })
        .await;
    bridge.shutdown().await;
}

/// A page that joins while peers chat and the history is full (so records are being dropped all
/// the while) gets a snapshot that is exactly the history at `hello.seq`: each connection's
/// newest records, without holes, counted as the counters say; then every later record, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_joining_a_full_history_gets_it_exactly() {
    let bridge = start(&[
        "--no-exit-word",
        "--history-bytes",
        "16K",
        "--history-total",
        "64K",
    ])
    .await;
    let (mut watcher, _) = Page::open(&bridge).await;
    const PEERS: usize = 8;
    const LINES: usize = 3000;
    let mut peers = Vec::new();
    for _ in 0..PEERS {
        peers.push(accept_peer(&bridge, &mut watcher).await.0);
    }
    let chat = tokio::spawn(async move {
        for i in 0..LINES {
            for (p, peer) in peers.iter_mut().enumerate() {
                peer.send(format!("peer {p} line {i:05}\n").as_bytes())
                    .await;
            }
            if i % 100 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        peers
    });
    let total_bytes: usize = (0..PEERS)
        .map(|p| LINES * format!("peer {p} line 00000\n").len())
        .sum();

    // The watcher sees everything live; halfway through, a second page joins.
    let mut seen: Vec<Record> = Vec::new();
    let mut seen_bytes = 0;
    while seen_bytes < total_bytes / 2 {
        if let ToClient::Record(r) = watcher.next().await {
            seen_bytes += r.data.len();
            seen.push(r);
        }
    }
    let (mut joiner, snapshot) = Page::open(&bridge).await;
    let mut live: Vec<Record> = Vec::new();
    let mut live_bytes = 0;
    while seen_bytes < total_bytes {
        if let ToClient::Record(r) = watcher.next().await {
            seen_bytes += r.data.len();
            seen.push(r);
        }
    }
    let after: usize = seen
        .iter()
        .filter(|r| r.seq > snapshot.seq)
        .map(|r| r.data.len())
        .sum();
    while live_bytes < after {
        if let ToClient::Record(r) = joiner.next().await {
            live_bytes += r.data.len();
            live.push(r);
        }
    }
    within("the chat to end", chat).await.unwrap();

    let mut by_conn: BTreeMap<ConnId, Vec<&Record>> = BTreeMap::new();
    for r in seen.iter().filter(|r| r.seq <= snapshot.seq) {
        by_conn.entry(r.conn).or_default().push(r);
    }
    assert!(snapshot.records.windows(2).all(|w| w[0].seq < w[1].seq));
    for info in &snapshot.conns {
        let all = by_conn.get(&info.id).map_or(&[][..], Vec::as_slice);
        let held: Vec<&Record> = snapshot
            .records
            .iter()
            .filter(|r| r.conn == info.id)
            .collect();
        assert_eq!(info.rx_msgs, all.len() as u64, "counters as of hello.seq");
        assert_eq!(
            info.elided_msgs + held.len() as u64,
            info.rx_msgs,
            "what is held and what was dropped add up"
        );
        assert_eq!(
            held,
            all[all.len() - held.len()..],
            "the newest records of {}, without holes",
            info.id
        );
    }
    assert!(
        snapshot.conns.iter().any(|c| c.elided_msgs > 0),
        "the history was full"
    );
    let later: Vec<&Record> = seen.iter().filter(|r| r.seq > snapshot.seq).collect();
    assert_eq!(
        live.iter().collect::<Vec<_>>(),
        later,
        "then every later record, once"
    );
    bridge.shutdown().await;
}

/// A flood of tiny records into a transcript whose reader is slow (a FIFO, read slowly): the
/// bridge's memory stays bounded, because it counts what each queued line really costs and
/// reads less from its peers meanwhile; and the transcript still holds every byte, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_transcript_bounds_memory_and_loses_nothing() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command as Process, Stdio};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use tokio::io::AsyncWriteExt;

    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("transcript.fifo");
    let made = Process::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo");
    // The disk: slow until the flood is over, then as fast as it can, to the end.
    let fast = Arc::new(AtomicBool::new(false));
    let disk = std::thread::spawn({
        let (fifo, fast) = (fifo.clone(), fast.clone());
        move || {
            let mut file = std::fs::File::open(&fifo).unwrap();
            let (mut out, mut buf) = (Vec::new(), vec![0; 16 << 10]);
            loop {
                let n = file.read(&mut buf).unwrap();
                if n == 0 {
                    return out;
                }
                out.extend_from_slice(&buf[..n]);
                if !fast.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    });
    let mut bridge = KillOnDrop(
        Process::new(env!("CARGO_BIN_EXE_bridge"))
            .args(["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .args(["--no-exit-word", "--history-total", "1M", "--transcript"])
            .arg(&fifo)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(bridge.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let listen: std::net::SocketAddr = line
        .trim()
        .strip_prefix("TCP listener on ")
        .unwrap_or_else(|| panic!("{line}"))
        .parse()
        .unwrap();

    // Many peers that each send a byte a millisecond: records of a byte or two each.
    const PEERS: usize = 256;
    const BYTES: usize = 4_000;
    let expected =
        |p: usize| -> Vec<u8> { (0..BYTES).map(|i| b'a' + ((i + p) % 26) as u8).collect() };
    let mut tasks = Vec::new();
    for p in 0..PEERS {
        let data = expected(p);
        tasks.push(tokio::spawn(async move {
            let mut peer = Peer::connect(listen).await;
            peer.stream.set_nodelay(true).unwrap();
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            for byte in data.chunks(1) {
                tick.tick().await;
                peer.stream.write_all(byte).await.unwrap();
            }
            peer
        }));
    }
    let mut peers = Vec::new();
    for task in tasks {
        // Four seconds of sending, however loaded the machine.
        let peer = timeout(Duration::from_secs(60), task).await;
        peers.push(peer.expect("the peers' flood ends").unwrap());
    }
    // Room for the bridge to go on reading slowly for a while, at the bound.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let peak_kib = peak_rss_kib(bridge.id());
    fast.store(true, Ordering::Relaxed);
    let addrs: Vec<String> = peers.iter().map(Peer::addr).collect();
    drop(peers);

    // Stopped, the bridge writes out what it still holds; the disk reads it to the end.
    let stopped = Process::new("kill")
        .args(["-TERM", &bridge.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = tokio::task::spawn_blocking(move || bridge.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    let transcript = disk.join().unwrap();

    assert!(
        peak_kib < 40 * 1024,
        "the bridge's RSS peaked at {peak_kib} KiB"
    );
    let mut ids = BTreeMap::new();
    let mut received: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    for line in transcript.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let value: serde_json::Value = serde_json::from_slice(line).unwrap();
        let conn = value["conn"].as_u64().unwrap();
        if value["event"] == "open" {
            ids.insert(value["peer"].as_str().unwrap().to_owned(), conn);
        }
        if value["dir"] == "rx" {
            let text = value["text"].as_str().expect("ASCII, so text");
            received
                .entry(conn)
                .or_default()
                .extend_from_slice(text.as_bytes());
        }
    }
    for (p, addr) in addrs.iter().enumerate() {
        let id = ids[addr];
        assert!(
            received[&id] == expected(p),
            "peer {p}'s bytes, all, in order"
        );
    }
}

/// The peak resident memory of a process, from Linux's `/proc`.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A file stopped while its peer is not reading: its parts still queued are not written, nor
/// the rest of the one being written, so nothing of it waits, and the connection's count of
/// bytes written is exactly what the peer then receives.
#[tokio::test]
async fn a_stopped_file_writes_nothing_more_and_its_count_is_exact() {
    let _serial = SERIAL.lock().await;
    let bridge = start(&["--send-queue", "16M"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    const PART: usize = 256 << 10;
    const PARTS: usize = 32;
    page.command(Command::SendFile {
        to: Target::Conn(conn.id),
        name: "big.bin".into(),
        size: (PART * PARTS) as u64,
    })
    .await;
    for i in 0..PARTS {
        page.transmit(protocol::Transmit {
            to: Target::Conn(conn.id),
            file: true,
            broadcast: false,
            to_server: false,
            data: vec![i as u8; PART].into(),
        })
        .await;
    }
    page.command(Command::StopFile {
        to: Target::Conn(conn.id),
    })
    .await;
    // Nothing of it waits any more, once stopped, while the peer has still read nothing.
    let (mut stopped, mut settled) = (false, None);
    let written = page
        .event("nothing waiting for the peer once the file stopped", |e| {
            match e {
                Event::FileStopped { conn: id } if *id == conn.id => stopped = true,
                Event::Conn { conn: info } if info.id == conn.id => {
                    settled = (info.waiting == 0).then_some(info.tx_bytes);
                }
                _ => {}
            }
            settled.filter(|_| stopped)
        })
        .await;
    assert!(
        written < (PART * PARTS) as u64,
        "{written} bytes of {} were written to a peer that reads nothing",
        PART * PARTS
    );
    let mut received = 0u64;
    let mut buf = vec![0; 64 << 10];
    while received < written {
        let n = within("the bytes written", peer.stream.read(&mut buf))
            .await
            .unwrap();
        assert!(
            n > 0,
            "the bridge closed after {received} of {written} bytes"
        );
        received += n as u64;
    }
    let more = timeout(Duration::from_millis(300), peer.stream.read(&mut buf)).await;
    assert!(
        more.is_err(),
        "after the {written} bytes counted, the peer received {:?} more",
        more
    );
    assert_eq!(received, written);
    bridge.shutdown().await;
}
