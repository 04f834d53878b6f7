//! The page stops, starts and moves the TCP listener; the bridge's own process fails cleanly on a
//! taken port and exits cleanly on SIGTERM.

mod common;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use clap::Parser;
use common::{accept_peer, nothing_listens_on, start, within, Page, Peer};
use protocol::{Command, Event, Problem, ProblemKind, ToClient, Transport};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn listener_event(page: &mut Page) -> Option<String> {
    page.event("a listener event", |e| match e {
        Event::Listener {
            listen,
            transport: Transport::Tcp,
            ..
        } => Some(listen.clone()),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn the_page_stops_starts_and_moves_the_listener() {
    let bridge = start(&[]).await;
    let first = bridge.listen_addr.expect("listening");
    let (mut page, _) = Page::open(&bridge).await;
    let (mut old_peer, conn) = accept_peer(&bridge, &mut page).await;

    page.command(Command::StopListening {
        transport: Transport::Tcp,
        request: None,
    })
    .await;
    assert_eq!(listener_event(&mut page).await, None);
    nothing_listens_on(&mut page, first, "a stopped listener").await;
    let (mut other, snapshot) = Page::open(&bridge).await;
    assert_eq!(snapshot.listen, None);

    // The connection it accepted lives on.
    old_peer.send(b"still here").await;
    assert_eq!(
        page.traffic(conn.id, protocol::Flow::Rx, 10).await,
        b"still here"
    );

    page.command(Command::Listen {
        addr: "127.0.0.1:0".into(),
        transport: Transport::Tcp,
        request: None,
    })
    .await;
    let moved: SocketAddr = listener_event(&mut page)
        .await
        .expect("listening again")
        .parse()
        .unwrap();
    assert_eq!(listener_event(&mut other).await, Some(moved.to_string()));
    let (_, snapshot) = Page::open(&bridge).await;
    assert_eq!(snapshot.listen, Some(moved.to_string()));
    let mut peer = Peer::connect(moved).await;
    peer.send(b"hi").await;
    page.expect(
        "the new peer's bytes",
        |e| matches!(e, ToClient::Record(r) if r.data == b"hi"),
    )
    .await;

    // Moving to a taken address is an error to the page that asked; nothing changes.
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let taken_addr = taken.local_addr().unwrap();
    page.command(Command::Listen {
        addr: taken_addr.to_string(),
        transport: Transport::Tcp,
        request: Some(31),
    })
    .await;
    let problem = page.problem().await;
    let message = problem.message;
    assert!(message.contains("address already in use"), "{message}");
    assert!(message.contains(&taken_addr.to_string()), "{message}");
    // The facts, for a program: the request it answers, the listener, the port.
    assert_eq!(
        (problem.request, problem.transport, problem.port),
        (Some(31), Some(Transport::Tcp), Some(taken_addr.port()))
    );
    Peer::connect(moved).await; // still listening where it was

    page.command(Command::Listen {
        addr: "nowhere".into(),
        transport: Transport::Tcp,
        request: None,
    })
    .await;
    let (_, message) = page.error().await;
    assert!(message.contains("IP:PORT"), "{message}");

    // Moving closes the old address once the new one is bound.
    page.command(Command::Listen {
        addr: "127.0.0.1:0".into(),
        transport: Transport::Tcp,
        request: None,
    })
    .await;
    let third: SocketAddr = listener_event(&mut page).await.unwrap().parse().unwrap();
    assert_ne!(third, moved);
    nothing_listens_on(&mut page, moved, "a listener moved elsewhere").await;
    Peer::connect(third).await;
    peer.send(b"after the move").await;
    page.expect(
        "the moved-from peer's bytes",
        |e| matches!(e, ToClient::Record(r) if r.data == b"after the move"),
    )
    .await;
    bridge.shutdown().await;
}

/// A free loopback port, for the binary's flags.
async fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
}

#[tokio::test]
async fn a_taken_port_is_one_clear_line_and_a_failed_exit_within_a_second() {
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let taken_addr = taken.local_addr().unwrap();
    let http = free_port().await;
    let started = Instant::now();
    let output = within(
        "the bridge to exit",
        tokio::process::Command::new(env!("CARGO_BIN_EXE_bridge"))
            .args(["--listen", &taken_addr.to_string(), "--http"])
            .arg(http.to_string())
            .output(),
    )
    .await
    .expect("the bridge runs");
    assert!(started.elapsed() < Duration::from_secs(1), "took too long");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("address already in use"), "{stderr}");
    assert!(stderr.contains(&taken_addr.to_string()), "{stderr}");
}

#[tokio::test]
async fn sigterm_during_traffic_exits_cleanly_with_the_transcript_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_bridge"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--transcript",
        ])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the bridge starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = within("the listener's line", lines.next_line())
        .await
        .unwrap()
        .expect("a line");
    let addr: SocketAddr = first
        .strip_prefix("TCP listener on ")
        .expect("the listener's address")
        .parse()
        .unwrap();
    let second = within("the URL's line", lines.next_line())
        .await
        .unwrap()
        .expect("a line");
    let http = second
        .strip_prefix("Open http://")
        .and_then(|rest| rest.strip_suffix(" in your browser"))
        .expect("the URL");
    let request = format!("ws://{http}/ws").into_client_request().unwrap();
    let (mut page, _) = Page::open_with(request).await.expect("a page");
    let mut peer = Peer::connect(addr).await;
    // Traffic, and the signal as soon as the bridge has read its last piece: whatever is still
    // in the transcript's buffers must reach the file on the way out.
    let marker = b"last words before SIGTERM";
    for _ in 0..100 {
        peer.send(&[b'x'; 1000]).await;
    }
    peer.send(marker).await;
    page.expect(
        "the last piece",
        |e| matches!(e, ToClient::Record(r) if r.data.ends_with(marker)),
    )
    .await;
    let pid = child.id().expect("running");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let status = within("the bridge to exit", child.wait()).await.unwrap();
    assert!(status.success(), "{status:?}");
    peer.closed().await;
    let transcript = std::fs::read_to_string(&path).unwrap();
    let mut text = String::new();
    for line in transcript.lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        if let Some(t) = value.get("text").and_then(|t| t.as_str()) {
            text.push_str(t);
        }
    }
    assert_eq!(text.len(), 100_000 + marker.len());
    assert!(text.ends_with(std::str::from_utf8(marker).unwrap()));
}

/// The tutorial's own server may already hold the tutorial's port. Started without `--listen`,
/// the bridge then starts anyway, without a listener, and says why, to the terminal and to
/// every page; a page that starts the listener elsewhere clears it.
#[tokio::test]
async fn the_default_port_taken_is_said_plainly_and_the_bridge_starts_anyway() {
    // Held on loopback; a listener on every interface cannot have the port either. (If another
    // program holds it already, it is taken all the same.)
    let _held = TcpListener::bind("127.0.0.1:7777").await;
    let config = bridge::Config::try_parse_from(["bridge", "--http", "127.0.0.1:0"]).unwrap();
    let bridge = bridge::start(config).await.expect("the bridge starts");
    let expected = "port 7777 is in use (is your own server running?): dial it from the page, \
                    or listen elsewhere";
    assert_eq!(bridge.listen_addr, None);
    let said = |problem: &Option<Problem>| {
        problem
            .as_ref()
            .map(|p| (p.kind, p.transport, p.port, p.message.clone()))
    };
    let taken = Some((
        ProblemKind::ListenFailed,
        Some(Transport::Tcp),
        Some(7777),
        expected.to_owned(),
    ));
    assert_eq!(said(&bridge.listen_problem), taken);
    let (mut page, snapshot) = Page::open(&bridge).await;
    assert_eq!(snapshot.listen, None);
    assert_eq!(said(&snapshot.server.listen_problem), taken);

    page.command(Command::Listen {
        addr: "127.0.0.1:0".into(),
        transport: Transport::Tcp,
        request: None,
    })
    .await;
    assert!(listener_event(&mut page).await.is_some());
    let (_, later) = Page::open(&bridge).await;
    assert_eq!(later.server.listen_problem, None);
    bridge.shutdown().await;
}
