//! Bytes both ways between TCP peers and pages, dialling out, the exit word, and the limits.

mod common;

use common::{accept_peer, start, within, Page, Peer};
use protocol::{Command, ConnState, Event, Flow, Origin, Target};
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
    page.command(Command::Send {
        to: Target::Conn(first.id),
        data: data.clone(),
    })
    .await;
    assert_eq!(one.receive(data.len()).await, data);
    assert_eq!(page.traffic(first.id, Flow::Tx, data.len()).await, data);

    page.command(Command::Send {
        to: Target::All,
        data: b"to everyone\n".to_vec(),
    })
    .await;
    assert_eq!(one.receive(12).await, b"to everyone\n");
    assert_eq!(two.receive(12).await, b"to everyone\n");
    bridge.shutdown().await;
}

#[tokio::test]
async fn the_page_dials_a_server_and_talks_both_ways() {
    let bridge = start(&[]).await;
    let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = server.local_addr().unwrap().port();
    let (mut page, _) = Page::open(&bridge).await;

    page.command(Command::Connect {
        host: "127.0.0.1".into(),
        port,
    })
    .await;
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
    page.command(Command::Send {
        to: Target::Conn(open.id),
        data: b"hello back\n".to_vec(),
    })
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
    page.command(Command::Send {
        to: Target::Conn(conn.id),
        data: b"exit\n".to_vec(),
    })
    .await;
    assert_eq!(
        peer.receive(5).await,
        b"exit\n",
        "the exit message is written"
    );
    let closed = page.conn(ConnState::Closed).await;
    assert_eq!(closed.close_reason.as_deref(), Some("you sent exit"));
    peer.closed().await;

    // Sending to it now is an error, for this page.
    page.command(Command::Send {
        to: Target::Conn(conn.id),
        data: b"anyone?".to_vec(),
    })
    .await;
    let (about, message) = page.error().await;
    assert_eq!(about, Some(conn.id));
    assert_eq!(message, format!("connection {} is closed", conn.id));
    bridge.shutdown().await;
}

#[tokio::test]
async fn without_the_exit_word_nothing_closes() {
    let bridge = start(&["--no-exit-word"]).await;
    let (mut page, snapshot) = Page::open(&bridge).await;
    assert!(snapshot.conns.is_empty());
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;

    peer.send(b"exit\n").await;
    page.command(Command::Send {
        to: Target::Conn(conn.id),
        data: b"exit\n".to_vec(),
    })
    .await;
    assert_eq!(peer.receive(5).await, b"exit\n");
    peer.send(b"still here").await;
    // Every event up to the last message: none of them is a close.
    let mut rx = Vec::new();
    while rx != b"exit\nstill here" {
        match page.next().await {
            Event::Record(r) if r.flow == Flow::Rx => rx.extend(r.data),
            Event::Conn { conn } => assert_ne!(conn.state, ConnState::Closed, "{conn:?}"),
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
    page.command(Command::Connect {
        host: "127.0.0.1".into(),
        port,
    })
    .await;
    let closed = page.conn(ConnState::Closed).await;
    let expected = format!("connection refused by 127.0.0.1:{port}");
    assert_eq!(closed.close_reason.as_deref(), Some(expected.as_str()));
    assert_eq!(page.error().await, (Some(closed.id), expected));
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
    page.command(Command::Connect {
        host: "127.0.0.1".into(),
        port: 9,
    })
    .await;
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

    page.command(Command::Connect {
        host: "127.0.0.1".into(),
        port: port + 1,
    })
    .await;
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
    page.command(Command::Connect {
        host: "localhost".into(),
        port,
    })
    .await;
    assert!(page
        .error()
        .await
        .1
        .starts_with("not allowed to dial localhost:"));

    page.command(Command::Connect {
        host: "127.0.0.1".into(),
        port,
    })
    .await;
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
    page.command(Command::Connect {
        host: "no-such-host.invalid".into(),
        port: 7777,
    })
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
            .expect("forgotten", |e| matches!(e, Event::Forgotten { .. }))
            .await;
        assert_eq!(
            forgotten,
            Event::Forgotten {
                conns: vec![gone_conn.id]
            }
        );
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
