//! What a page that joins later receives: the same history, once, and its bounds.

mod common;

use common::{accept_peer, start, within, Page};
use protocol::{ConnState, Event, Flow, ToClient};

#[tokio::test]
async fn a_later_page_gets_the_same_records_once() {
    let bridge = start(&[]).await;
    let (mut first, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut first).await;
    let mut seen = Vec::new();
    for message in ["one\n", "two\n", "three\n"] {
        peer.send(message.as_bytes()).await;
        let ToClient::Record(record) = first
            .expect("a record", |e| matches!(e, ToClient::Record(_)))
            .await
        else {
            unreachable!()
        };
        seen.push(record);
    }

    let (mut second, snapshot) = Page::open(&bridge).await;
    assert_eq!(snapshot.records, seen, "same bytes, same seq, once each");
    assert_eq!(snapshot.seq, seen.last().unwrap().seq);
    let info = &snapshot.conns[0];
    assert_eq!((info.id, info.state), (conn.id, ConnState::Open));
    assert_eq!((info.rx_msgs, info.rx_bytes), (3, 14));

    peer.send(b"four\n").await;
    let ToClient::Record(next) = second
        .expect("the next record", |e| matches!(e, ToClient::Record(_)))
        .await
    else {
        unreachable!()
    };
    assert_eq!(next.data, b"four\n");
    assert_eq!(next.seq, snapshot.seq + 1);
    bridge.shutdown().await;
}

#[tokio::test]
async fn history_is_bounded_and_says_what_it_dropped() {
    // Each record is a 28-byte header and a 20-byte payload, and counts 160 bytes more for its
    // bookkeeping: 450 bytes hold two.
    let bridge = start(&["--history-bytes", "450"]).await;
    let (mut first, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut first).await;
    let messages: Vec<Vec<u8>> = (0..10)
        .map(|i| format!("message number {i:04}\n").into_bytes())
        .collect();
    for message in &messages {
        assert_eq!(message.len(), 20);
        peer.send(message).await;
        first.traffic(conn.id, Flow::Rx, 20).await;
    }

    let (_second, snapshot) = Page::open(&bridge).await;
    let info = &snapshot.conns[0];
    assert_eq!((info.rx_msgs, info.rx_bytes), (10, 200));
    assert_eq!((info.elided_msgs, info.elided_bytes), (8, 160));
    let held: Vec<&[u8]> = snapshot.records.iter().map(|r| &r.data[..]).collect();
    assert_eq!(held, [&messages[8][..], &messages[9][..]]);
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_page_that_falls_behind_gets_a_fresh_snapshot() {
    let bridge = start(&["--history-total", "1M"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    // The page reads nothing while the peer floods: far more than the socket buffers and the
    // broadcast channel hold.
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..2048 {
        peer.send(&chunk).await;
    }
    let hello = page
        .expect("a fresh hello", |e| {
            matches!(e, ToClient::Event(Event::Hello { .. }))
        })
        .await;
    let ToClient::Event(Event::Hello { seq, conns, .. }) = hello else {
        unreachable!()
    };
    assert_eq!(conns[0].id, conn.id);
    assert!(conns[0].elided_msgs > 0, "{:?}", conns[0]);
    // The rest of that snapshot, then live records that follow it without a gap.
    let synced = page
        .expect("synced", |e| {
            matches!(e, ToClient::Event(Event::Synced { .. }))
        })
        .await;
    assert_eq!(synced, ToClient::Event(Event::Synced { seq }));
    peer.send(b"after").await;
    let ToClient::Record(next) = page
        .expect("a live record", |e| matches!(e, ToClient::Record(_)))
        .await
    else {
        unreachable!()
    };
    assert!(next.seq > seq);
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_stalled_page_slows_neither_peers_nor_other_pages() {
    let bridge = start(&[]).await;
    // This page connects and then reads nothing at all, ever.
    let (_stalled, _) = Page::open(&bridge).await;
    let (mut watcher, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut watcher).await;

    // 64 MiB: far more than the stalled page's socket buffers and the broadcast hold. The peer's
    // writes must complete (the bridge keeps reading), each wait bounded by `within`.
    let chunk = vec![b'y'; 1 << 20];
    for _ in 0..64 {
        within("the bridge to keep reading", peer.send(&chunk)).await;
    }
    peer.half_close().await;
    peer.closed().await;

    // The watching page keeps up, or is brought up to date by a fresh snapshot; either way it
    // learns that the conversation ended, with every byte counted.
    let closed = within("the watcher to see the end", async {
        loop {
            match watcher.next().await {
                ToClient::Event(Event::Conn { conn: c })
                    if c.id == conn.id && c.state == ConnState::Closed =>
                {
                    return c
                }
                ToClient::Event(Event::Hello { conns, .. }) => {
                    if let Some(c) = conns.into_iter().find(|c| c.id == conn.id) {
                        if c.state == ConnState::Closed {
                            return c;
                        }
                    }
                }
                _ => {}
            }
        }
    })
    .await;
    assert_eq!(closed.rx_bytes, 64 << 20);
    assert_eq!(
        closed.close_reason.as_deref(),
        Some("the peer closed the connection")
    );
    // Nor does it hold up shutdown, which otherwise waits up to 5 s for stragglers.
    tokio::time::timeout(std::time::Duration::from_secs(2), bridge.shutdown())
        .await
        .expect("shutdown does not wait for a page that reads nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_keeps_reading_sees_every_byte_of_a_flood() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    // Many small writes, as fast as the peer can make them, to a page that reads slowly but
    // steadily: it must see every byte, live, without being re-synced. (The benchmark's
    // 256 MiB relay is what shows backpressure at work: without it, its client is left behind.)
    const LINES: usize = 20_000;
    let line = [b'z'; 100];
    let flood = tokio::spawn(async move {
        for _ in 0..LINES {
            peer.send(&line).await;
        }
        peer
    });
    let mut got = 0;
    while got < LINES * line.len() {
        match page.next().await {
            ToClient::Record(r) if r.conn == conn.id => {
                assert!(r.data.iter().all(|&b| b == b'z'));
                got += r.data.len();
            }
            ToClient::Event(Event::Hello { .. }) => {
                panic!("the page was re-synced after {got} bytes")
            }
            _ => {}
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    assert_eq!(got, LINES * line.len());
    within("the flood to end", flood).await.unwrap();
    bridge.shutdown().await;
}

#[tokio::test]
async fn every_snapshot_of_one_run_names_that_run_and_another_run_is_another() {
    let bridge = start(&[]).await;
    let (_first, one) = Page::open(&bridge).await;
    let (_second, again) = Page::open(&bridge).await;
    let run = one.server.run.expect("the hello names the bridge's run");
    assert_eq!(again.server.run, Some(run), "the same run to every page");
    assert!(run.id < 1 << 53, "exact as a JavaScript number: {}", run.id);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    assert!(
        run.started_at <= now && now - run.started_at < 60_000_000,
        "started_at {} is when it started (now {now})",
        run.started_at
    );
    bridge.shutdown().await;

    let other = start(&[]).await;
    let (_page, snapshot) = Page::open(&other).await;
    let next = snapshot
        .server
        .run
        .expect("the hello names the bridge's run");
    assert_ne!(next.id, run.id, "a bridge started again is another run");
    assert!(next.started_at >= run.started_at);
    other.shutdown().await;
}
