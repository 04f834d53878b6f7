//! UDP through the real bridge, on loopback: the bridge's socket accepts conversations, pages
//! dial with UDP (through that socket when it is open, from a socket of their own when not),
//! datagram boundaries are kept both ways, and what cannot be sent is said.
//!
//! Broadcast and multicast stay on this machine: the broadcast test sends to loopback's own
//! broadcast address (127.255.255.255, delivered on `lo` only), and the multicast test joins
//! and leaves a group on the loopback interface without sending to it.

mod common;

use std::net::SocketAddr;

use common::{start, within, Page};
use protocol::{
    Command, ConnInfo, ConnState, Event, Flow, Origin, ProblemKind, Target, Transmit, Transport,
};
use tokio::net::UdpSocket;

/// A UDP peer on loopback.
async fn peer() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

async fn receive(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0; 70_000];
    let (n, from) = within("a datagram", socket.recv_from(&mut buf))
        .await
        .unwrap();
    buf.truncate(n);
    (buf, from)
}

fn dial_udp(port: u16) -> Command {
    Command::Dial {
        host: "127.0.0.1".into(),
        port,
        transport: Transport::Udp,
        accept_any_certificate: false,
        request: None,
    }
}

async fn udp_listener(page: &mut Page) -> (Option<String>, Vec<String>) {
    page.event("the UDP socket's event", |e| match e {
        Event::Listener {
            listen,
            transport: Transport::Udp,
            groups,
            ..
        } => Some((listen.clone(), groups.clone())),
        _ => None,
    })
    .await
}

/// Opens (or moves) the bridge's UDP socket from the page, and waits for it to say so.
async fn listen_udp(page: &mut Page, addr: &str) -> (Option<String>, Vec<String>) {
    page.command(Command::Listen {
        addr: addr.into(),
        transport: Transport::Udp,
        request: None,
    })
    .await;
    udp_listener(page).await
}

async fn join(page: &mut Page, group: &str, interface: Option<&str>) {
    page.command(Command::JoinGroup {
        group: group.into(),
        interface: interface.map(Into::into),
        request: None,
    })
    .await;
}

async fn leave(page: &mut Page, group: &str) {
    page.command(Command::LeaveGroup {
        group: group.into(),
        request: None,
    })
    .await;
}

async fn open_udp(page: &mut Page) -> ConnInfo {
    let conn = page.conn(ConnState::Open).await;
    assert_eq!(conn.transport, Transport::Udp);
    conn
}

/// A UDP peer on loopback, and the conversation the page dials to it.
async fn dial_a_peer(page: &mut Page) -> (UdpSocket, ConnInfo) {
    let server = peer().await;
    page.command(dial_udp(server.local_addr().unwrap().port()))
        .await;
    (server, open_udp(page).await)
}

#[tokio::test]
async fn each_address_is_a_conversation_and_each_datagram_a_record() {
    let bridge = start(&["--udp", "127.0.0.1:0"]).await;
    let socket = bridge.udp_addr.expect("the UDP socket is open");
    let (mut page, snapshot) = Page::open(&bridge).await;
    assert_eq!(snapshot.server.udp_listen, Some(socket.to_string()));

    let peer = peer().await;
    for datagram in [&b"one\n"[..], b"", b"two\nthree"] {
        peer.send_to(datagram, socket).await.unwrap();
    }
    let conn = open_udp(&mut page).await;
    assert_eq!(conn.origin, Origin::Accepted);
    assert_eq!(conn.peer, peer.local_addr().unwrap().to_string());
    assert_eq!(conn.local, Some(socket.to_string()));
    let records = page.records(conn.id, Flow::Rx, 3).await;
    let got: Vec<&[u8]> = records.iter().map(|r| &r.data[..]).collect();
    assert_eq!(got, [&b"one\n"[..], b"", b"two\nthree"], "boundaries kept");

    // Replies go back from the socket, one datagram per send, an empty one too.
    for reply in [&b"four"[..], b"", b"five"] {
        page.send(Target::Conn(conn.id), reply.to_vec()).await;
        let (data, from) = receive(&peer).await;
        assert_eq!(data, reply);
        assert_eq!(from, socket);
    }
    let sent = page.records(conn.id, Flow::Tx, 3).await;
    assert_eq!(sent[1].data, b"", "an empty datagram is shown too");

    // Another address is another conversation.
    let other = self::peer().await;
    other.send_to(b"hi", socket).await.unwrap();
    let other_addr = other.local_addr().unwrap().to_string();
    let second = page
        .event("the second conversation", |e| match e {
            Event::Conn { conn } if conn.peer == other_addr => Some(conn.clone()),
            _ => None,
        })
        .await;
    assert_ne!(second.id, conn.id);
    assert_eq!(second.transport, Transport::Udp);
    bridge.shutdown().await;
}

/// UDP has no close: an accepted conversation ends after `--udp-idle` of silence either way,
/// freeing its place, and the address's next datagram starts a new one. Traffic keeps it.
#[tokio::test]
async fn an_accepted_conversation_ends_after_a_silence_and_the_next_datagram_starts_another() {
    let bridge = start(&["--udp", "127.0.0.1:0", "--udp-idle", "1"]).await;
    let socket = bridge.udp_addr.expect("the UDP socket is open");
    let (mut page, _) = Page::open(&bridge).await;
    let peer = peer().await;
    peer.send_to(b"hello", socket).await.unwrap();
    let first = open_udp(&mut page).await;
    // Sends count as traffic: one every 400 ms keeps it open past the idle time.
    for _ in 0..4 {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        page.send(Target::Conn(first.id), b"still here".to_vec())
            .await;
        receive(&peer).await;
    }
    let closed = page.conn(ConnState::Closed).await;
    assert_eq!(closed.id, first.id);
    let reason = closed.close_reason.unwrap();
    assert!(
        reason.contains("no datagram either way for 1 s"),
        "{reason}"
    );
    assert_eq!(closed.tx_msgs, 4, "open until 1 s after its last send");
    peer.send_to(b"again", socket).await.unwrap();
    let second = open_udp(&mut page).await;
    assert_ne!(second.id, first.id);
    assert_eq!(
        page.records(second.id, Flow::Rx, 1).await[0].data,
        b"again"[..]
    );
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_page_dials_with_udp_from_a_socket_of_its_own() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (server, conn) = dial_a_peer(&mut page).await;
    assert_eq!(conn.origin, Origin::Dialled);
    assert_eq!(conn.peer, server.local_addr().unwrap().to_string());

    page.send(Target::Conn(conn.id), b"ping".to_vec()).await;
    let (data, client) = receive(&server).await;
    assert_eq!(data, b"ping");
    assert_eq!(Some(client.to_string()), conn.local, "its own socket");
    server.send_to(b"pong", client).await.unwrap();
    server.send_to(b"", client).await.unwrap();
    let records = page.records(conn.id, Flow::Rx, 2).await;
    assert_eq!(records[0].data, b"pong");
    assert_eq!(records[1].data, b"");
    bridge.shutdown().await;
}

#[tokio::test]
async fn with_the_socket_open_a_dial_goes_through_it_and_others_answer_apart() {
    let bridge = start(&["--udp", "127.0.0.1:0"]).await;
    let socket = bridge.udp_addr.unwrap();
    let (mut page, _) = Page::open(&bridge).await;
    let (server, conn) = dial_a_peer(&mut page).await;
    let server_addr = server.local_addr().unwrap();
    let conn_id = conn.id;
    assert_eq!(conn.local, Some(socket.to_string()));

    page.send(Target::Conn(conn.id), b"hello".to_vec()).await;
    let (data, from) = receive(&server).await;
    assert_eq!((data.as_slice(), from), (&b"hello"[..], socket));
    server.send_to(b"back", socket).await.unwrap();
    assert_eq!(page.records(conn.id, Flow::Rx, 1).await[0].data, b"back");

    // Someone else answering is a conversation of its own, as after a broadcast.
    let stranger = peer().await;
    stranger.send_to(b"me too", socket).await.unwrap();
    let other = page
        .event("the stranger's conversation", |e| match e {
            Event::Conn { conn } if conn.id != conn_id => Some(conn.clone()),
            _ => None,
        })
        .await;
    assert_eq!(other.origin, Origin::Accepted);
    assert_eq!(other.peer, stranger.local_addr().unwrap().to_string());
    assert_eq!(page.records(other.id, Flow::Rx, 1).await[0].data, b"me too");

    // A second dial to the same address would steal its datagrams: refused, with the reason.
    page.command(dial_udp(server_addr.port())).await;
    let refused = page.conn(ConnState::Closed).await;
    let reason = refused.close_reason.unwrap();
    assert!(reason.contains("open already"), "{reason}");
    bridge.shutdown().await;
}

#[tokio::test]
async fn an_oversized_datagram_is_refused_and_nothing_is_sent() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (server, conn) = dial_a_peer(&mut page).await;
    page.send(Target::Conn(conn.id), vec![b'x'; 65_508]).await;
    let problem = page.problem().await;
    assert_eq!(problem.kind, ProblemKind::TooLarge);
    assert_eq!(problem.conn, Some(conn.id));
    assert!(
        problem.message.contains("at most 65,507 bytes"),
        "{}",
        problem.message
    );
    page.send(Target::Conn(conn.id), vec![b'y'; 65_507]).await;
    let (data, _) = receive(&server).await;
    assert_eq!(
        data,
        vec![b'y'; 65_507],
        "the largest fits; the refused one never went"
    );
    bridge.shutdown().await;
}

#[tokio::test]
async fn port_unreachable_says_nothing_is_listening() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let port = {
        let gone = peer().await;
        gone.local_addr().unwrap().port()
    };
    page.command(dial_udp(port)).await;
    let conn = open_udp(&mut page).await;
    page.send(Target::Conn(conn.id), b"anyone?".to_vec()).await;
    let problem = page.problem().await;
    assert_eq!(problem.kind, ProblemKind::Unreachable);
    assert_eq!(problem.conn, Some(conn.id));
    assert_eq!(
        problem.message,
        format!("nothing is listening on 127.0.0.1:{port} (port unreachable)")
    );
    bridge.shutdown().await;
}

#[tokio::test]
async fn allow_dial_rules_apply_to_udp() {
    let bridge = start(&["--allow-dial", "127.0.0.1:9"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    page.command(dial_udp(10)).await;
    let problem = page.problem().await;
    assert_eq!(problem.kind, ProblemKind::NotAllowed);
    assert!(
        problem
            .message
            .starts_with("not allowed to dial 127.0.0.1:10"),
        "{}",
        problem.message
    );
    bridge.shutdown().await;
}

#[tokio::test]
async fn the_page_opens_moves_and_closes_the_udp_socket() {
    let bridge = start(&[]).await;
    let (mut page, snapshot) = Page::open(&bridge).await;
    assert_eq!(snapshot.server.udp_listen, None, "off by default");
    let (listen, groups) = listen_udp(&mut page, "127.0.0.1:0").await;
    let socket: SocketAddr = listen.expect("open").parse().unwrap();
    assert!(groups.is_empty());

    let peer = peer().await;
    peer.send_to(b"hello", socket).await.unwrap();
    let conn = open_udp(&mut page).await;

    page.command(Command::StopListening {
        transport: Transport::Udp,
        request: None,
    })
    .await;
    assert_eq!(udp_listener(&mut page).await.0, None);
    let closed = page.conn(ConnState::Closed).await;
    assert_eq!(closed.id, conn.id);
    assert_eq!(
        closed.close_reason.as_deref(),
        Some("the bridge's UDP socket closed")
    );
    let (_, snapshot) = Page::open(&bridge).await;
    assert_eq!(snapshot.server.udp_listen, None);
    bridge.shutdown().await;
}

#[tokio::test]
async fn broadcast_is_allowed_per_send_only() {
    // Loopback's broadcast address: what goes there is delivered on this machine only.
    let receiver = match UdpSocket::bind("127.255.255.255:0").await {
        Ok(receiver) => receiver,
        Err(e) => return eprintln!("skipped: cannot bind 127.255.255.255 here ({e})"),
    };
    let port = receiver.local_addr().unwrap().port();
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    page.command(Command::Dial {
        host: "127.255.255.255".into(),
        port,
        transport: Transport::Udp,
        accept_any_certificate: false,
        request: None,
    })
    .await;
    let conn = open_udp(&mut page).await;

    page.send(Target::Conn(conn.id), b"to all?".to_vec()).await;
    let problem = page.problem().await;
    assert_eq!(problem.conn, Some(conn.id));
    assert!(
        problem.message.contains("tick Broadcast"),
        "{}",
        problem.message
    );

    page.transmit(Transmit {
        to: Target::Conn(conn.id),
        file: false,
        broadcast: true,
        to_server: false,
        data: b"to all".to_vec().into(),
    })
    .await;
    let (data, _) = receive(&receiver).await;
    assert_eq!(data, b"to all");
    bridge.shutdown().await;
}

#[tokio::test]
async fn multicast_groups_are_joined_and_left_on_the_loopback_interface() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    join(&mut page, "239.255.77.1", Some("127.0.0.1")).await;
    let problem = page.problem().await;
    assert!(
        problem.message.contains("the UDP socket is not open"),
        "{}",
        problem.message
    );

    listen_udp(&mut page, "0.0.0.0:0").await;
    join(&mut page, "239.255.77.1", Some("127.0.0.1")).await;
    assert_eq!(udp_listener(&mut page).await.1, ["239.255.77.1"]);
    let (_, snapshot) = Page::open(&bridge).await;
    assert_eq!(snapshot.server.groups, ["239.255.77.1"]);

    join(&mut page, "10.0.0.1", None).await;
    let problem = page.problem().await;
    assert!(
        problem.message.contains("not a multicast address"),
        "{}",
        problem.message
    );

    leave(&mut page, "239.255.77.1").await;
    assert!(udp_listener(&mut page).await.1.is_empty());
    leave(&mut page, "239.255.77.1").await;
    let problem = page.problem().await;
    assert!(
        problem.message.contains("has not joined 239.255.77.1"),
        "{}",
        problem.message
    );

    // IPv6: a group on the loopback interface (index 1), the socket on IPv6 loopback.
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        return eprintln!("skipped the IPv6 group: this machine has no IPv6 loopback");
    }
    listen_udp(&mut page, "[::1]:0").await;
    join(&mut page, "ff15::77", Some("1")).await;
    assert_eq!(udp_listener(&mut page).await.1, ["ff15::77"]);
    leave(&mut page, "ff15::77").await;
    assert!(udp_listener(&mut page).await.1.is_empty());
    bridge.shutdown().await;
}

/// A datagram refused before it leaves (a broadcast address without Broadcast: refused on this
/// machine) does not wait to be written: it neither shows as waiting nor fills --send-queue.
#[tokio::test]
async fn a_refused_datagram_does_not_wait_to_be_written() {
    let receiver = match UdpSocket::bind("127.255.255.255:0").await {
        Ok(receiver) => receiver,
        Err(e) => return eprintln!("skipped: cannot bind 127.255.255.255 here ({e})"),
    };
    let port = receiver.local_addr().unwrap().port();
    let bridge = start(&["--send-queue", "1K"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    page.command(Command::Dial {
        host: "127.255.255.255".into(),
        port,
        transport: Transport::Udp,
        accept_any_certificate: false,
        request: None,
    })
    .await;
    let conn = open_udp(&mut page).await;
    for i in 1..=4 {
        page.send(Target::Conn(conn.id), vec![b'x'; 300]).await;
        let problem = page.problem().await;
        assert!(
            problem.message.contains("tick Broadcast"),
            "refused send {i} of 300 bytes under --send-queue 1K: {}",
            problem.message
        );
    }
    let (_, snapshot) = Page::open(&bridge).await;
    let waiting = snapshot
        .conns
        .iter()
        .find(|c| c.id == conn.id)
        .map(|c| c.waiting);
    assert_eq!(
        waiting,
        Some(0),
        "bytes waiting to be written after 4 refused sends of 300 bytes"
    );
    bridge.shutdown().await;
}
