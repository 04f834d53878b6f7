//! IPv6 on loopback (`[::1]`): the page dials IPv6 literals, with or without brackets; the
//! bridge listens on IPv6 and shows its peers as `[::1]:port` in the page and the transcript;
//! a name with several addresses is tried address by address. Each test is skipped, with a
//! message, on a machine without IPv6 loopback.

mod common;

use std::net::SocketAddr;

use common::{start, within, Page, Peer};
use protocol::{Command, ConnState, Event, Flow, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A listener on `[::1]`, or `None` after saying the test is skipped.
async fn ipv6_listener(test: &str) -> Option<TcpListener> {
    match TcpListener::bind("[::1]:0").await {
        Ok(listener) => Some(listener),
        Err(e) => {
            println!("skipped {test}: this machine has no IPv6 loopback ({e})");
            None
        }
    }
}

#[tokio::test]
async fn the_page_dials_an_ipv6_literal() {
    let Some(server) = ipv6_listener("the_page_dials_an_ipv6_literal").await else {
        return;
    };
    let port = server.local_addr().unwrap().port();
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    for host in ["[::1]", "::1"] {
        page.command(Command::dial(host, port)).await;
        let (mut accepted, _) = within("the dial", server.accept()).await.unwrap();
        let conn = page.conn(ConnState::Open).await;
        assert_eq!(conn.peer, format!("[::1]:{port}"));
        assert!(conn.local.unwrap().starts_with("[::1]:"));
        page.send(Target::Conn(conn.id), b"v6\n".to_vec()).await;
        let mut got = [0; 3];
        within("the bytes", accepted.read_exact(&mut got))
            .await
            .unwrap();
        assert_eq!(&got, b"v6\n");
        accepted.write_all(b"back\n").await.unwrap();
        assert_eq!(page.traffic(conn.id, Flow::Rx, 5).await, b"back\n");
    }
    bridge.shutdown().await;
}

#[tokio::test]
async fn ipv6_peers_show_as_ipv6_in_the_page_and_the_transcript() {
    if ipv6_listener("ipv6_peers_show_as_ipv6").await.is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("t.jsonl");
    let bridge = start(&[
        "--listen",
        "[::1]:0",
        "--transcript",
        transcript.to_str().unwrap(),
    ])
    .await;
    let listen = bridge.listen_addr.unwrap();
    assert!(listen.is_ipv6());
    let (mut page, snapshot) = Page::open(&bridge).await;
    assert_eq!(snapshot.listen, Some(listen.to_string()));
    let mut peer = Peer::connect(listen).await;
    let conn = page.conn(ConnState::Open).await;
    assert_eq!(conn.peer, peer.addr());
    assert!(conn.peer.starts_with("[::1]:"), "{}", conn.peer);
    peer.send(b"hi\n").await;
    page.traffic(conn.id, Flow::Rx, 3).await;
    bridge.shutdown().await;

    let lines = std::fs::read_to_string(&transcript).unwrap();
    let opened: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(opened["peer"], conn.peer.as_str());
    assert_eq!(opened["local"], listen.to_string().as_str());
}

#[tokio::test]
async fn the_default_listener_takes_ipv4_and_ipv6_peers() {
    if ipv6_listener("the_default_listener_takes_both")
        .await
        .is_none()
    {
        return;
    }
    let bridge = start(&["--listen", "[::]:0"]).await;
    let port = bridge.listen_addr.unwrap().port();
    let (mut page, _) = Page::open(&bridge).await;
    for addr in [
        SocketAddr::from(([127, 0, 0, 1], port)),
        SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)),
    ] {
        let peer = Peer::connect(addr).await;
        let conn = page
            .event("the peer's connection", |e| match e {
                Event::Conn { conn } if conn.peer == peer.addr() => Some(conn.clone()),
                _ => None,
            })
            .await;
        // An IPv4 peer of the dual-stack socket shows as IPv4, not as [::ffff:127.0.0.1].
        assert_eq!(conn.peer.starts_with('['), addr.is_ipv6(), "{}", conn.peer);
    }
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_name_with_several_addresses_is_tried_address_by_address() {
    // `localhost` has ::1 and 127.0.0.1 on most machines; the server is on IPv4 only, so an
    // IPv6 first attempt is refused and the next address is tried.
    let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = server.local_addr().unwrap().port();
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    page.command(Command::dial("localhost", port)).await;
    within("the dial", server.accept()).await.unwrap();
    let conn = page.conn(ConnState::Open).await;
    assert_eq!(conn.peer, format!("127.0.0.1:{port}"));
    bridge.shutdown().await;
}
