//! Bytes both ways between TCP peers and pages, dialling out, the exit word, and the limits.

mod common;

use common::{accept_peer, start, within, Page, Peer};
use protocol::text_encoding::TextEncoding;
use protocol::{
    Command, ConnState, Event, Flow, Origin, Problem, ProblemKind, Target, ToClient, Transport,
};
use tokio::net::TcpListener;

#[tokio::test]
async fn bytes_from_a_peer_reach_the_page_exactly() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    assert_eq!(conn.origin, Origin::Accepted);
    assert_eq!(conn.local, bridge.listen_addr.map(|a| a.to_string()));

    let sent = [&[0xff, 0x00][..], "你好, bridge\n".as_bytes()].concat();
    peer.send(&sent).await;
    assert_eq!(page.traffic(conn.id, Flow::Rx, sent.len()).await, sent);
    bridge.shutdown().await;
}

#[tokio::test]
async fn sends_from_the_page_reach_one_peer_or_all() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut one, first) = accept_peer(&bridge, &mut page).await;
    let (mut two, _) = accept_peer(&bridge, &mut page).await;

    let data = vec![0x00, 0xc3, 0x28, b'\r', b'\n', 0xff];
    page.send(Target::Conn(first.id), data.clone()).await;
    assert_eq!(one.receive(data.len()).await, data);
    assert_eq!(page.traffic(first.id, Flow::Tx, data.len()).await, data);

    page.send(Target::All, b"to everyone\n".to_vec()).await;
    assert_eq!(one.receive(12).await, b"to everyone\n");
    assert_eq!(two.receive(12).await, b"to everyone\n");
    // The page that sent to all hears how many it reached.
    let reached = page
        .event("the send to all's reach", |e| match e {
            Event::SentToAll { queued, refused } => Some((*queued, *refused)),
            _ => None,
        })
        .await;
    assert_eq!(reached, (2, 0));
    bridge.shutdown().await;
}

#[tokio::test]
async fn the_page_dials_a_server_and_talks_both_ways() {
    let bridge = start(&[]).await;
    let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = server.local_addr().unwrap().port();
    let (mut page, _) = Page::open(&bridge).await;

    page.command(Command::dial("127.0.0.1", port)).await;
    let connecting = page.conn(ConnState::Connecting).await;
    assert_eq!(connecting.origin, Origin::Dialled);
    assert_eq!(connecting.peer, format!("127.0.0.1:{port}"));
    let (stream, _) = within("the dial", server.accept()).await.unwrap();
    let mut peer = Peer { stream };
    let open = page.conn(ConnState::Open).await;
    assert_eq!(open.id, connecting.id);

    peer.send(b"hello from the server\n").await;
    assert_eq!(
        page.traffic(open.id, Flow::Rx, 22).await,
        b"hello from the server\n"
    );
    page.send(Target::Conn(open.id), b"hello back\n".to_vec())
        .await;
    assert_eq!(peer.receive(11).await, b"hello back\n");
    bridge.shutdown().await;
}

#[tokio::test]
async fn exit_received_or_sent_ends_the_conversation() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;

    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    peer.send(b"exit\r\n").await;
    let closed = page.conn(ConnState::Closed).await;
    assert_eq!(closed.id, conn.id);
    assert_eq!(closed.close_reason.as_deref(), Some("the peer said exit"));
    assert_eq!(closed.rx_msgs, 1, "the exit message is recorded");
    peer.closed().await;

    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    page.send(Target::Conn(conn.id), b"exit\n".to_vec()).await;
    assert_eq!(
        peer.receive(5).await,
        b"exit\n",
        "the exit message is written"
    );
    let closed = page.conn(ConnState::Closed).await;
    assert_eq!(closed.close_reason.as_deref(), Some("you sent exit"));
    peer.closed().await;

    // Sending to it now is an error, for this page.
    page.send(Target::Conn(conn.id), b"anyone?".to_vec()).await;
    let problem = page.problem().await;
    assert_eq!(
        (problem.conn, problem.kind),
        (Some(conn.id), ProblemKind::NotOpen)
    );
    assert_eq!(problem.message, format!("connection {} is closed", conn.id));
    bridge.shutdown().await;
}

#[tokio::test]
async fn without_the_exit_word_nothing_closes() {
    let bridge = start(&["--no-exit-word"]).await;
    let (mut page, snapshot) = Page::open(&bridge).await;
    assert!(snapshot.conns.is_empty());
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;

    peer.send(b"exit\n").await;
    page.send(Target::Conn(conn.id), b"exit\n".to_vec()).await;
    assert_eq!(peer.receive(5).await, b"exit\n");
    peer.send(b"still here").await;
    // Every event up to the last message: none of them is a close.
    let mut rx = Vec::new();
    while rx != b"exit\nstill here" {
        match page.next().await {
            ToClient::Record(r) if r.flow == Flow::Rx => rx.extend(r.data),
            ToClient::Event(Event::Conn { conn }) => {
                assert_ne!(conn.state, ConnState::Closed, "{conn:?}")
            }
            _ => {}
        }
    }
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_refused_dial_says_so() {
    let bridge = start(&[]).await;
    // A socket bound but not listening: connecting to it is refused, and while it is held no
    // other program can take its port.
    let closed = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    closed
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    let port = closed.local_addr().unwrap().as_socket().unwrap().port();
    let (mut page, _) = Page::open(&bridge).await;
    page.command(Command::dial("127.0.0.1", port)).await;
    let closed = page.conn(ConnState::Closed).await;
    let expected = format!("connection refused by 127.0.0.1:{port}");
    assert_eq!(closed.close_reason.as_deref(), Some(expected.as_str()));
    assert_eq!(
        page.problem().await,
        Problem::new(ProblemKind::DialFailed, expected).on(closed.id)
    );
    bridge.shutdown().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused() {
    let bridge = start(&["--max-conns", "2"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (_one, _) = accept_peer(&bridge, &mut page).await;
    let (_two, _) = accept_peer(&bridge, &mut page).await;

    let mut third = Peer::connect(bridge.listen_addr.unwrap()).await;
    let (conn, message) = page.error().await;
    assert_eq!(conn, None);
    assert!(message.contains(&third.addr()), "{message}");
    assert!(message.contains("2 connections (--max-conns)"), "{message}");
    third.closed().await;

    // Dialling counts too.
    page.command(Command::dial("127.0.0.1", 9)).await;
    let (_, message) = page.error().await;
    assert!(
        message.starts_with("cannot dial 127.0.0.1:9: "),
        "{message}"
    );
    bridge.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_peers_and_pages() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, _) = accept_peer(&bridge, &mut page).await;
    within("shutdown", bridge.shutdown()).await;
    peer.closed().await;
    page.closed().await;
}

#[tokio::test]
async fn the_page_disconnects_a_peer() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    page.command(Command::Disconnect { conn: conn.id }).await;
    let closed = page.conn(ConnState::Closed).await;
    assert_eq!(closed.id, conn.id);
    assert_eq!(
        closed.close_reason.as_deref(),
        Some("disconnected from the page")
    );
    peer.closed().await;
    page.command(Command::Disconnect { conn: conn.id }).await;
    let expected = format!("connection {} is already closed", conn.id);
    assert_eq!(page.error().await, (Some(conn.id), expected));
    bridge.shutdown().await;
}

#[tokio::test]
async fn dials_are_limited_to_the_allowed_addresses() {
    let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = server.local_addr().unwrap().port();
    let rule = format!("127.0.0.1:{port}");
    let bridge = start(&["--allow-dial", &rule, "--allow-dial", "*:9"]).await;
    let (mut page, _) = Page::open(&bridge).await;

    page.command(Command::dial("127.0.0.1", port + 1)).await;
    let (conn, message) = page.error().await;
    assert_eq!(conn, None);
    assert_eq!(
        message,
        format!(
            "not allowed to dial 127.0.0.1:{}: this bridge may dial only {rule}, *:9 \
             (--allow-dial)",
            port + 1
        )
    );
    // The name as written is what counts: localhost is not 127.0.0.1.
    page.command(Command::dial("localhost", port)).await;
    assert!(page
        .error()
        .await
        .1
        .starts_with("not allowed to dial localhost:"));

    page.command(Command::dial("127.0.0.1", port)).await;
    let open = page.conn(ConnState::Open).await;
    assert_eq!(open.peer, rule);
    within("the dial to arrive", server.accept()).await.unwrap();
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_peer_that_resets_is_reported_as_such() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let stream = tokio::net::TcpStream::connect(bridge.listen_addr.unwrap())
        .await
        .unwrap();
    let conn = page.conn(ConnState::Open).await;
    // Linger zero: closing sends a reset rather than an orderly end.
    socket2::SockRef::from(&stream)
        .set_linger(Some(std::time::Duration::ZERO))
        .unwrap();
    drop(stream);
    let closed = page.conn(ConnState::Closed).await;
    assert_eq!(closed.id, conn.id);
    assert_eq!(
        closed.close_reason.as_deref(),
        Some("the peer reset the connection")
    );
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_page_that_leaves_mid_flood_harms_nothing() {
    let bridge = start(&[]).await;
    let (mut leaving, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut leaving).await;
    let flood = tokio::spawn(async move {
        let chunk = vec![b'f'; 1 << 20];
        for _ in 0..16 {
            peer.send(&chunk).await;
        }
        peer.half_close().await;
        peer
    });
    leaving.traffic(conn.id, Flow::Rx, 1).await;
    drop(leaving); // mid-flood, without a close handshake

    // The bridge goes on: the peer's stream is read to its end, and a new page sees all of it
    // counted.
    let mut peer = within("the flood to be written", flood).await.unwrap();
    peer.closed().await;
    let (_, snapshot) = Page::open(&bridge).await;
    let info = snapshot.conns.iter().find(|c| c.id == conn.id).unwrap();
    assert_eq!(info.state, ConnState::Closed);
    assert_eq!(info.rx_bytes, 16 << 20);
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_reported() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    page.command(Command::dial("no-such-host.invalid", 7777))
        .await;
    let closed = page.conn(ConnState::Closed).await;
    let reason = closed.close_reason.unwrap();
    assert!(
        reason.starts_with("no such host: no-such-host.invalid"),
        "{reason}"
    );
    assert_eq!(page.error().await, (Some(closed.id), reason));
    bridge.shutdown().await;
}

#[tokio::test]
async fn forgetting_closed_connections_frees_them_for_every_page() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut gone, gone_conn) = accept_peer(&bridge, &mut page).await;
    let (mut stays, stays_conn) = accept_peer(&bridge, &mut page).await;
    gone.send(b"bye\n").await;
    page.traffic(gone_conn.id, Flow::Rx, 4).await;
    drop(gone);
    let closed = page.conn(ConnState::Closed).await;
    assert_eq!(closed.id, gone_conn.id);
    let (mut other, _) = Page::open(&bridge).await;

    page.command(Command::ForgetClosed).await;
    for page in [&mut page, &mut other] {
        let forgotten = page
            .event("forgotten", |e| match e {
                Event::Forgotten { conns } => Some(conns.clone()),
                _ => None,
            })
            .await;
        assert_eq!(forgotten, [gone_conn.id]);
    }
    // A page that opens now neither knows the closed connection nor holds its history; the
    // open one is untouched.
    let (_, snapshot) = Page::open(&bridge).await;
    let ids: Vec<_> = snapshot.conns.iter().map(|c| c.id).collect();
    assert_eq!(ids, [stays_conn.id]);
    assert!(snapshot.records.iter().all(|r| r.conn != gone_conn.id));
    stays.send(b"still here\n").await;
    page.traffic(stays_conn.id, Flow::Rx, 11).await;
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_dialled_connection_carries_its_request_back() {
    let bridge = start(&[]).await;
    let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = server.local_addr().unwrap().port();
    let (mut page, _) = Page::open(&bridge).await;
    let (mut other, _) = Page::open(&bridge).await;
    page.command(Command::Dial {
        host: "127.0.0.1".into(),
        port,
        transport: Transport::Tcp,
        accept_any_certificate: false,
        request: Some(0x5eed),
    })
    .await;
    // Every page sees which request made it, so the one that asked can pick it out.
    for page in [&mut page, &mut other] {
        let conn = page.conn(ConnState::Connecting).await;
        assert_eq!(conn.request, Some(0x5eed));
    }
    let (_accepted, _) = within("the dial", server.accept()).await.unwrap();
    assert_eq!(page.conn(ConnState::Open).await.request, Some(0x5eed));
    bridge.shutdown().await;
}

#[tokio::test]
async fn new_connections_read_in_the_encoding_the_bridge_was_given() {
    let bridge = start(&["--encoding", "gbk"]).await;
    let (_, snapshot) = Page::open(&bridge).await;
    assert_eq!(snapshot.server.encoding, TextEncoding::Gbk);
    bridge.shutdown().await;
}

/// A page counts records as they come and takes the larger of its count and a `conn` event's:
/// that is only right if no `conn` event counts a record the page has not been sent yet.
#[tokio::test]
async fn a_conn_event_never_counts_a_record_not_yet_sent() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    for i in 0..20 {
        page.send(Target::Conn(conn.id), format!("message {i}\n").into_bytes())
            .await;
    }
    let mut records = 0;
    while records < 20 {
        match page.next().await {
            ToClient::Record(r) if r.conn == conn.id => records += 1,
            ToClient::Event(Event::Conn { conn: c }) if c.id == conn.id => {
                assert!(
                    c.tx_msgs <= records,
                    "{} counted, {records} sent",
                    c.tx_msgs
                );
            }
            _ => {}
        }
    }
    peer.receive(20 * 10).await;
    bridge.shutdown().await;
}

/// A send the peer reads at once is never announced as waiting: pages hear its `tx` record,
/// not two `conn` events a message (something waits, nothing does), which doubled the work of
/// a round trip. Only the ticker's look at what waits, four times a second, can catch a send
/// between its queueing and its write, and it tells of it at most twice.
#[tokio::test]
async fn a_send_written_at_once_is_not_announced_as_waiting() {
    const SENDS: usize = 200;
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    let started = std::time::Instant::now();
    let mut announced = 0u128;
    for _ in 0..SENDS {
        page.send(Target::Conn(conn.id), b"ping\n".to_vec()).await;
        assert_eq!(peer.receive(5).await, b"ping\n");
        loop {
            match page.next().await {
                ToClient::Record(r) if r.conn == conn.id && r.flow == Flow::Tx => break,
                ToClient::Event(Event::Conn { conn: c }) if c.id == conn.id => announced += 1,
                _ => {}
            }
        }
    }
    let ticks = started.elapsed().as_millis() / 250 + 1;
    assert!(
        announced <= 2 * ticks,
        "{announced} `conn` events for {SENDS} sends in {ticks} ticks of 250 ms"
    );
    bridge.shutdown().await;
}

/// The record of a send waits up to a millisecond for company (`Fed::Written` in
/// `session.rs`): it reaches the page when nothing follows it, and before the peer's answer
/// when one does.
#[tokio::test]
async fn the_record_of_a_send_reaches_the_page_alone_or_before_its_answer() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;

    page.send(Target::Conn(conn.id), b"alone\n".to_vec()).await;
    assert_eq!(peer.receive(6).await, b"alone\n");
    assert_eq!(page.record(conn.id, Flow::Tx).await.data, b"alone\n");

    for round in 0..20 {
        page.send(Target::Conn(conn.id), b"ping\n".to_vec()).await;
        assert_eq!(peer.receive(5).await, b"ping\n");
        peer.send(b"pong\n").await;
        let mut order = Vec::new();
        while order.len() < 2 {
            if let ToClient::Record(r) = page.next().await {
                assert_eq!(r.conn, conn.id);
                order.push((r.flow, r.data));
            }
        }
        let expected = [
            (Flow::Tx, b"ping\n".to_vec()),
            (Flow::Rx, b"pong\n".to_vec()),
        ];
        assert_eq!(order, expected, "round {round}");
    }
    bridge.shutdown().await;
}
