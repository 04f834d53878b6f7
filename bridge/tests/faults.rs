//! Peers that half-close, and dials that time out.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{accept_peer, start, Page};
use protocol::{Command, ConnState, Flow};
use tokio::net::{TcpSocket, TcpStream};

#[tokio::test]
async fn a_peer_that_half_closes_is_heard_to_its_end() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    peer.send(b"last words").await;
    peer.half_close().await;
    assert_eq!(page.traffic(conn.id, Flow::Rx, 10).await, b"last words");
    let closed = page.conn(ConnState::Closed).await;
    assert_eq!(closed.id, conn.id);
    assert_eq!(
        closed.close_reason.as_deref(),
        Some("the peer closed the connection")
    );
    assert_eq!(closed.rx_bytes, 10);
    peer.closed().await;
    bridge.shutdown().await;
}

/// A loopback listener that answers no more handshakes: its accept queue (backlog 0) is full and
/// nobody accepts, so Linux drops further SYNs and a connect hangs until its timeout.
async fn unanswering_listener() -> (SocketAddr, Vec<TcpStream>) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    std::mem::forget(listener); // kept open, never accepting, for the test's life
    let mut fillers = Vec::new();
    for _ in 0..16 {
        match tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => fillers.push(stream),
            Ok(Err(e)) => panic!("filling the backlog: {e}"),
            Err(_) => return (addr, fillers), // full: this connect got no answer
        }
    }
    panic!("the backlog never filled");
}

#[tokio::test]
async fn a_dial_that_gets_no_answer_times_out_with_the_reason() {
    let (addr, _fillers) = unanswering_listener().await;
    let bridge = start(&["--dial-timeout", "1"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    page.command(Command::dial("127.0.0.1", addr.port())).await;
    let closed = page.conn(ConnState::Closed).await;
    let reason = closed.close_reason.clone().unwrap();
    assert_eq!(reason, format!("timed out after 1 s connecting to {addr}"));
    assert_eq!(page.error().await, (Some(closed.id), reason));
    // Nothing else is wrong: the bridge still answers.
    page.command(Command::Disconnect { conn: closed.id }).await;
    page.problem().await;
    bridge.shutdown().await;
}
