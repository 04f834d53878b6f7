//! `--transcript`: every byte received and sent, in order, in a JSON Lines file that survives a
//! restart of the bridge.

mod common;

use std::path::Path;

use common::{accept_peer, start, start_error, within, Page};
use protocol::{ConnState, Target};
use serde_json::Value;

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("the transcript exists")
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

/// The bytes of one direction of one connection of one run, as the transcript holds them.
fn bytes(lines: &[Value], run: &str, conn: u64, dir: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        if line["run"] == run && line["conn"] == conn && line["dir"] == dir {
            match (line["text"].as_str(), line["hex"].as_str()) {
                (Some(text), None) => out.extend_from_slice(text.as_bytes()),
                (None, Some(hex)) => out.extend(
                    (0..hex.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits")),
                ),
                _ => panic!("a record holds text or hex: {line}"),
            }
        }
    }
    out
}

#[tokio::test]
async fn every_byte_is_written_in_order_and_restarts_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traffic.jsonl");
    let flag = path.to_str().unwrap();

    // A peer sends 4 MiB that is mostly not UTF-8, gets an answer, and hangs up.
    let sent: Vec<u8> = (0..4u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let bridge = start(&["--transcript", flag]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    peer.send("你好\n".as_bytes()).await;
    for chunk in sent.chunks(100_000) {
        peer.send(chunk).await;
    }
    page.send(Target::Conn(conn.id), b"hi\n".to_vec()).await;
    assert_eq!(peer.receive(3).await, b"hi\n");
    drop(peer);
    page.conn(ConnState::Closed).await;
    bridge.shutdown().await;

    let first = lines(&path);
    let run = first[0]["run"].as_str().expect("a run").to_owned();
    let mut expected = "你好\n".as_bytes().to_vec();
    expected.extend_from_slice(&sent);
    assert!(
        bytes(&first, &run, conn.id, "rx") == expected,
        "rx bytes differ"
    );
    assert_eq!(bytes(&first, &run, conn.id, "tx"), b"hi\n");
    let events: Vec<&str> = first
        .iter()
        .filter_map(|line| line["event"].as_str())
        .collect();
    assert_eq!(events, ["open", "closed"]);
    assert_eq!(
        first.last().unwrap()["reason"],
        "the peer closed the connection"
    );
    let seqs: Vec<u64> = first.iter().filter_map(|l| l["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "records in order");

    // A second run appends, and its lines say which run they belong to.
    let bridge = start(&["--transcript", flag]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn2) = accept_peer(&bridge, &mut page).await;
    peer.send(b"second run\n").await;
    within("the record", page.traffic(conn2.id, protocol::Flow::Rx, 11)).await;
    bridge.shutdown().await;

    let all = lines(&path);
    assert_eq!(
        all[..first.len()],
        first[..],
        "the first run is kept as it was"
    );
    let second = &all[first.len()..];
    let run2 = second[0]["run"].as_str().unwrap();
    assert_ne!(run2, run);
    assert_eq!(bytes(second, run2, conn2.id, "rx"), b"second run\n");
}

#[tokio::test]
async fn a_transcript_that_cannot_be_opened_is_a_start_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("traffic.jsonl");
    let e = start_error(&["--transcript", path.to_str().unwrap()]).await;
    assert!(e.starts_with("cannot open the transcript "), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_with_a_stalled_page_loses_nothing_and_marks_what_memory_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flood.jsonl");
    let flag = path.to_str().unwrap();
    // A small history, so that memory must drop most of the flood.
    let bridge = start(&["--transcript", flag, "--history-bytes", "256K"]).await;
    let (_stalled, _) = Page::open(&bridge).await; // reads nothing, ever
    let (mut watcher, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut watcher).await;
    drop(watcher); // and this one leaves

    let flood: Vec<u8> = (0..16u32 << 20)
        .map(|i| (i.wrapping_mul(2_246_822_519) >> 11) as u8)
        .collect();
    for chunk in flood.chunks(1 << 20) {
        within("the bridge to keep reading", peer.send(chunk)).await;
    }
    peer.half_close().await;
    peer.closed().await;

    // A new page sees the whole count, and how much of it memory no longer holds.
    let (_, snapshot) = Page::open(&bridge).await;
    let info = snapshot.conns.iter().find(|c| c.id == conn.id).unwrap();
    assert_eq!(info.rx_bytes, 16 << 20);
    let held: usize = snapshot
        .records
        .iter()
        .filter(|r| r.conn == conn.id)
        .map(|r| r.data.len())
        .sum();
    assert!(info.elided_bytes > 0, "memory dropped something");
    assert_eq!(info.elided_bytes + held as u64, info.rx_bytes);
    bridge.shutdown().await;

    // The transcript has every byte, in order.
    let lines = lines(&path);
    let run = lines[0]["run"].as_str().unwrap().to_owned();
    assert!(
        bytes(&lines, &run, conn.id, "rx") == flood,
        "the transcript holds the flood exactly"
    );
}

#[tokio::test]
async fn a_transcript_that_cannot_be_written_is_told_to_every_page_with_what_was_lost() {
    // /dev/full refuses every write: a full disk.
    let bridge = start(&["--transcript", "/dev/full"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    peer.send(b"hello\n").await;
    let problem = page.problem().await;
    assert!(
        problem
            .message
            .starts_with("cannot write the transcript /dev/full: No space left on device"),
        "{}",
        problem.message
    );
    assert!(
        problem.message.contains("were lost. Traffic goes on"),
        "{}",
        problem.message
    );
    assert!(
        problem.message.contains(&format!("connection {}", conn.id))
            || problem
                .message
                .contains(&format!("connections {}", conn.id)),
        "{}",
        problem.message
    );
    bridge.shutdown().await;
}
