//! The HTTP side: who may open the WebSocket, what a page may send, and the web app's files.

mod common;

use common::{accept_peer, http_get, start, start_error, within, ws_request, Page};
use futures::StreamExt;
use protocol::{
    Bytes, Command, Frame, Problem, ProblemKind, Target, ToClient, Transmit, TAG_RECORD,
    TRANSMIT_HEADER_LEN,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{header, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame as WsFrame;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error, Message};

async fn handshake_status(bridge: &bridge::Bridge, name: header::HeaderName, value: &str) -> u16 {
    let mut request = ws_request(bridge);
    request
        .headers_mut()
        .insert(name, HeaderValue::from_str(value).unwrap());
    match Page::open_with(request).await {
        Ok(_) => 101,
        Err(Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("unexpected handshake error: {e}"),
    }
}

#[tokio::test]
async fn only_the_bridges_own_origin_may_connect() {
    let bridge = start(&["--allow-origin", "https://friend.example"]).await;
    let own = format!("http://{}", bridge.http_addr);
    assert_eq!(handshake_status(&bridge, header::ORIGIN, &own).await, 101);
    let friend = "https://friend.example";
    assert_eq!(handshake_status(&bridge, header::ORIGIN, friend).await, 101);
    let evil = "http://evil.example";
    assert_eq!(handshake_status(&bridge, header::ORIGIN, evil).await, 403);
    let rebound = format!("evil.example:{}", bridge.http_addr.port());
    assert_eq!(handshake_status(&bridge, header::HOST, &rebound).await, 403);
    bridge.shutdown().await;
}

#[tokio::test]
async fn malformed_messages_get_an_error_and_the_session_goes_on() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;

    page.raw(Message::text("{not json")).await;
    let problem = page.problem().await;
    assert_eq!((problem.conn, problem.kind), (None, ProblemKind::Malformed));
    assert!(
        problem.message.starts_with("malformed message"),
        "{problem:?}"
    );

    page.raw(Message::text(r#"{"type":"launch"}"#)).await;
    assert!(page.error().await.1.contains("unknown variant `launch`"));

    page.raw(Message::binary(vec![TAG_RECORD; 30])).await;
    let problem = page.problem().await;
    assert_eq!(problem.kind, ProblemKind::Malformed);
    assert!(problem.message.contains("tag 0x01"), "{problem:?}");

    page.send(Target::Conn(42), b"hi".to_vec()).await;
    assert_eq!(
        page.problem().await,
        Problem::new(ProblemKind::NoSuchConnection, "there is no connection 42").on(42)
    );
    page.send(Target::All, b"hi".to_vec()).await;
    assert_eq!(
        page.error().await.1,
        "there is no open connection to send to"
    );
    page.command(Command::Disconnect { conn: 7 }).await;
    assert_eq!(
        page.error().await,
        (Some(7), "there is no connection 7".into())
    );
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_web_dir_is_served_with_the_app_routes_falling_back_to_index() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<h1>test app</h1>").unwrap();
    std::fs::write(dir.path().join("app.js"), "console.log(1)").unwrap();
    let dir_flag = dir.path().to_str().unwrap();
    let bridge = start(&["--web-dir", dir_flag]).await;

    for path in ["/", "/conversations/3"] {
        let (status, head, body) = http_get(bridge.http_addr, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(head.contains("content-type: text/html"), "{head}");
        assert!(head.contains("cache-control: no-cache"), "{head}");
        assert_eq!(body, "<h1>test app</h1>");
    }
    let (status, head, body) = http_get(bridge.http_addr, "/app.js").await;
    assert_eq!(status, 200);
    assert!(head.contains("javascript"), "{head}");
    assert_eq!(body, "console.log(1)");
    bridge.shutdown().await;
}

#[tokio::test]
async fn the_built_in_app_or_a_page_saying_how_to_build_it() {
    let bridge = start(&[]).await;
    let (status, head, body) = http_get(bridge.http_addr, "/").await;
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(head.contains("cache-control: no-cache"), "{head}");
    match status {
        200 => assert!(
            body.contains("<html") || body.contains("<!DOCTYPE"),
            "{body}"
        ),
        503 => assert!(body.contains("./scripts/run.sh"), "{body}"),
        other => panic!("GET / answered {other}"),
    }
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_missing_web_dir_is_a_start_error() {
    let err = start_error(&["--web-dir", "/no/such/dir"]).await;
    assert_eq!(err, "--web-dir /no/such/dir: no such directory");
}

#[tokio::test]
async fn an_oversized_message_is_refused_with_the_reason() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;

    // Over the protocol's limits: refused with the reason, nothing sent, the session goes on.
    let big = Transmit {
        to: Target::Conn(conn.id),
        file: false,
        broadcast: false,
        to_server: false,
        data: Bytes::from(vec![b'x'; (1 << 20) + 1]),
    }
    .encode();
    page.raw(Message::binary(big.clone())).await;
    assert_eq!(
        page.problem().await,
        Problem::new(
            ProblemKind::TooLarge,
            "a send of 1,048,577 bytes is over the limit of 1.0 MiB per message; nothing was sent"
        )
    );
    page.raw(Message::text(format!("\"{}\"", "y".repeat(100_000))))
        .await;
    assert!(page
        .error()
        .await
        .1
        .starts_with("a command of 100,002 bytes is over the limit"));
    page.raw(Message::binary(
        big.slice(..TRANSMIT_HEADER_LEN + (1 << 20)),
    ))
    .await;
    assert_eq!(peer.receive(1 << 20).await, vec![b'x'; 1 << 20]);

    // (Beyond 16 MiB the WebSocket cannot be read past the message, and the session ends:
    // `a_message_that_cannot_be_read_past_ends_the_session_with_its_close_code`.)
    bridge.shutdown().await;
}

/// The bridge writes the page's frames itself (`page_socket.rs`), and the replies its reading
/// owes go out between them: a ping gets its pong while records flow, and a close its reply.
#[tokio::test]
async fn pings_are_answered_and_a_close_is_replied_to_as_rfc_6455_says() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;

    // A record in flight on each side of the ping.
    peer.send(b"before\n").await;
    page.raw(Message::Ping(Bytes::from_static(b"are you there")))
        .await;
    peer.send(b"after\n").await;
    let (mut pongs, mut received) = (Vec::new(), Vec::new());
    while pongs.is_empty() || received.len() < 13 {
        match page.raw_next().await.expect("the session goes on") {
            Message::Pong(payload) => pongs.push(payload),
            Message::Binary(frame) => {
                let Ok(ToClient::Record(record)) = ToClient::from_frame(&Frame::Binary(frame))
                else {
                    continue;
                };
                assert_eq!(record.conn, conn.id);
                received.extend(record.data);
            }
            _ => {}
        }
    }
    assert_eq!(pongs, [Bytes::from_static(b"are you there")]);
    assert_eq!(received, b"before\nafter\n");

    // With nothing else to send, a ping is answered all the same.
    page.raw(Message::Ping(Bytes::from_static(b"idle"))).await;
    loop {
        match page.raw_next().await.expect("the session goes on") {
            Message::Pong(payload) => break assert_eq!(payload, Bytes::from_static(b"idle")),
            Message::Binary(_) => panic!("no record was due"),
            _ => continue,
        }
    }

    let goodbye = CloseFrame {
        code: CloseCode::Normal,
        reason: "done".into(),
    };
    page.raw(Message::Close(Some(goodbye.clone()))).await;
    let reply = loop {
        match page.raw_next().await {
            Some(Message::Close(reply)) => break reply,
            Some(_) => continue,
            None => panic!("the WebSocket ended without a reply to the page's close"),
        }
    };
    assert_eq!(reply, Some(goodbye));
    bridge.shutdown().await;
}

/// What the WebSocket cannot read past ends the session, and the page is told why twice: in an
/// error event, and in the close code. Both reach it even when it is still sending what broke
/// (a message over 16 MiB is refused from its header).
#[tokio::test]
async fn a_message_that_cannot_be_read_past_ends_the_session_with_its_close_code() {
    let bridge = start(&[]).await;
    let text = OpCode::Data(Data::Text);
    let not_utf8 = Message::Frame(WsFrame::message(vec![b'a', 0xff], text, true));
    let over_the_limit = Message::binary(vec![0u8; (16 << 20) + 1]);
    for (message, code, kind, says) in [
        (
            not_utf8,
            CloseCode::Invalid,
            ProblemKind::Malformed,
            "not UTF-8",
        ),
        (
            over_the_limit,
            CloseCode::Size,
            ProblemKind::TooLarge,
            "over 16 MiB",
        ),
    ] {
        let (mut page, _) = Page::open(&bridge).await;
        page.raw(message).await;
        let problem = page.problem().await;
        assert_eq!(problem.kind, kind);
        assert!(problem.message.contains(says), "{}", problem.message);
        let closed = loop {
            match page.raw_next().await {
                Some(Message::Close(frame)) => break frame.expect("a close code"),
                Some(_) => continue,
                None => panic!("the WebSocket ended without a close frame"),
            }
        };
        assert_eq!(closed.code, code);
    }
    // The bridge goes on serving pages.
    let (_page, _) = Page::open(&bridge).await;
    bridge.shutdown().await;
}

/// A request for `/ws` that is not a WebSocket handshake is told what is missing.
#[tokio::test]
async fn a_request_that_is_not_a_websocket_handshake_is_told_why() {
    let bridge = start(&[]).await;
    let (status, _, body) = http_get(bridge.http_addr, "/ws").await;
    assert_eq!(status, 400);
    assert!(body.contains("`Upgrade: websocket`"), "{body}");

    let mut request = ws_request(&bridge);
    let headers = request.headers_mut();
    headers.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("8"));
    let Err(Error::Http(answer)) = Page::open_with(request).await else {
        panic!("a handshake for version 8 was accepted");
    };
    assert_eq!(answer.status().as_u16(), 426);
    assert_eq!(answer.headers()[header::SEC_WEBSOCKET_VERSION], "13");

    // Firefox asks to keep the connection alive as well.
    assert_eq!(
        handshake_status(&bridge, header::CONNECTION, "keep-alive, Upgrade").await,
        101
    );

    // A handshake is a GET (axum routes a HEAD to the same handler).
    let head = within("an answer to HEAD", async {
        let mut stream = TcpStream::connect(bridge.http_addr).await.unwrap();
        let request = format!(
            "HEAD /ws HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            bridge.http_addr
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = vec![0; 12];
        stream.read_exact(&mut answer).await.unwrap();
        answer
    })
    .await;
    assert_eq!(head, b"HTTP/1.1 405");
    bridge.shutdown().await;
}

/// A client may send its first frame with the handshake, in the same write: the HTTP server
/// reads it with the request, and the page's socket must begin with it.
#[tokio::test]
async fn a_frame_sent_with_the_handshake_is_read() {
    let bridge = start(&[]).await;
    let mut stream = TcpStream::connect(bridge.http_addr).await.unwrap();
    let mut bytes = format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        bridge.http_addr
    )
    .into_bytes();
    // A ping with "early", masked with 1, 2, 3, 4.
    let mask = [1u8, 2, 3, 4];
    bytes.extend([0x89, 0x80 | 5]);
    bytes.extend(mask);
    bytes.extend(b"early".iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    stream.write_all(&bytes).await.unwrap();
    // The answer's head, a byte at a time so that nothing after it is taken.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(
            within("the handshake's answer", stream.read_u8())
                .await
                .unwrap(),
        );
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
        stream,
        tokio_tungstenite::tungstenite::protocol::Role::Client,
        None,
    )
    .await;
    within("the pong to the early ping", async {
        loop {
            match ws.next().await.expect("the socket stays open").unwrap() {
                Message::Pong(payload) => break assert_eq!(&payload[..], b"early"),
                _ => continue,
            }
        }
    })
    .await;
    bridge.shutdown().await;
}

#[tokio::test]
async fn the_access_token_is_required_when_there_is_one() {
    let bridge = start(&["--token", "s3cret-token"]).await;
    assert_eq!(
        bridge.url(),
        format!("http://{}/?token=s3cret-token", bridge.http_addr)
    );
    let status = |query: &'static str| {
        let url = format!("ws://{}/ws{query}", bridge.http_addr);
        async move {
            match Page::open_with(url.into_client_request().unwrap()).await {
                Ok(_) => 101,
                Err(Error::Http(response)) => response.status().as_u16(),
                Err(e) => panic!("unexpected handshake error: {e}"),
            }
        }
    };
    assert_eq!(status("").await, 403);
    assert_eq!(status("?token=s3cret-tokem").await, 403);
    assert_eq!(status("?token=").await, 403);
    assert_eq!(status("?token=s3cret-token").await, 101);
    bridge.shutdown().await;
}
