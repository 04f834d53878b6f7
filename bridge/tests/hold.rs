//! Holding a proxied conversation's messages: a real client and server on loopback with the
//! bridge between them, and pages that hold, edit, forward and drop what passes. What is held
//! waits in the bridge, in order, seen alike by every page; what goes is what a page let go,
//! exactly, once; past the bound the side is not read, and nothing is lost.

mod common;

use common::{held, hold, pair, proxied, released, within, Page};
use protocol::{
    hex, is_full, Command, ConnState, Event, Marks, ProblemKind, Release, Way, HOLD_MAX_BYTES,
};
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn held_messages_wait_in_order_and_go_as_a_page_lets_them_once_whichever_page() {
    let (bridge, server, proxy) = proxied(&["--framing", "lf"]).await;
    let (mut first, _) = Page::open(&bridge).await;
    let (mut client, mut server_end, conn) = pair(&mut first, &server, proxy).await;
    hold(&mut first, conn.id, Way::ClientToServer, true).await;

    client.send(b"one\ntwo\nthree\n").await;
    let mut queue = Vec::new();
    for _ in 0..3 {
        queue.push(held(&mut first).await);
    }
    let said: Vec<&[u8]> = queue.iter().map(|m| &m.data[..]).collect();
    assert_eq!(said, [&b"one\n"[..], b"two\n", b"three\n"]);
    assert!(queue
        .iter()
        .all(|m| m.way == Way::ClientToServer && !m.partial));
    // The other way is not held: the server is heard while the client's messages wait.
    server_end.send(b"ready\n").await;
    assert_eq!(client.receive(6).await, b"ready\n");

    // A second page (or a reload) sees the same queue, in order.
    let (mut second, snapshot) = Page::open(&bridge).await;
    assert_eq!(snapshot.held, queue);
    let hold_says = snapshot.conns.iter().find(|c| c.id == conn.id).unwrap();
    assert!(hold_says.proxy.as_ref().unwrap().hold.client_to_server);

    // The first page forwards the first as it came; the second's forward of it is refused, and
    // nothing goes twice.
    let (one, two, three) = (queue[0].id, queue[1].id, queue[2].id);
    first
        .command(Command::Forward {
            conn: conn.id,
            id: one,
            edit: None,
        })
        .await;
    assert_eq!(server_end.receive(4).await, b"one\n");
    assert_eq!(released(&mut second, one).await, Release::Forwarded);
    second
        .command(Command::Forward {
            conn: conn.id,
            id: one,
            edit: None,
        })
        .await;
    let twice = second.problem().await;
    assert_eq!(twice.kind, ProblemKind::NotHeld);
    assert_eq!(twice.conn, Some(conn.id));
    assert!(
        twice.message.contains("already forwarded or dropped"),
        "{}",
        twice.message
    );

    // An edit that is not hex is refused, and the message still waits.
    second
        .command(Command::Forward {
            conn: conn.id,
            id: two,
            edit: Some("54 57 4g".into()),
        })
        .await;
    let bad = second.problem().await;
    assert_eq!(bad.kind, ProblemKind::Malformed);
    assert!(
        bad.message.contains("`g` is not a hex digit"),
        "{}",
        bad.message
    );
    // Edited, it goes as edited: exactly those bytes.
    second
        .command(Command::Forward {
            conn: conn.id,
            id: two,
            edit: Some("54 57 4f 21 0a".into()),
        })
        .await;
    assert_eq!(server_end.receive(5).await, b"TWO!\n");
    assert_eq!(released(&mut first, two).await, Release::Edited);
    first
        .command(Command::DropHeld {
            conn: conn.id,
            id: three,
        })
        .await;
    assert_eq!(released(&mut second, three).await, Release::Dropped);

    // Still holding: the next waits too, until the hold is switched off, which lets it go;
    // then what comes goes at once.
    client.send(b"four\n").await;
    let four = held(&mut second).await;
    assert_eq!(four.data, b"four\n");
    hold(&mut second, conn.id, Way::ClientToServer, false).await;
    assert_eq!(server_end.receive(5).await, b"four\n");
    client.send(b"five\n").await;
    assert_eq!(server_end.receive(5).await, b"five\n");

    // The records say what went, once, as it went: edited, dropped (never sent), in order.
    let (_third, later) = Page::open(&bridge).await;
    assert!(later.held.is_empty());
    let up: Vec<(String, bool, bool)> = later
        .records
        .iter()
        .filter(|r| r.conn == conn.id && Way::of(r.flow, r.marks) == Some(Way::ClientToServer))
        .map(|r| {
            (
                String::from_utf8_lossy(&r.data).into_owned(),
                r.marks.contains(Marks::EDITED),
                r.marks.contains(Marks::DROPPED),
            )
        })
        .collect();
    let expected = [
        ("one\n", false, false),
        ("TWO!\n", true, false),
        ("three\n", false, true),
        ("four\n", false, false),
        ("five\n", false, false),
    ]
    .map(|(s, e, d)| (s.to_owned(), e, d));
    assert_eq!(up, expected);
    let info = later.conns.iter().find(|c| c.id == conn.id).unwrap();
    assert_eq!(
        (info.rx_msgs, info.rx_bytes),
        (4, 4 + 5 + 5 + 5),
        "what was dropped never went: it is not counted"
    );
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_full_hold_stops_reading_its_side_and_nothing_is_lost_or_reordered() {
    let (bridge, server, proxy) = proxied(&["--framing", "lf"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (client, mut server_end, conn) = pair(&mut page, &server, proxy).await;
    hold(&mut page, conn.id, Way::ClientToServer, true).await;

    // 3 MiB in lines of 1 KiB: three times what a way may hold.
    let lines = 3 * 1024;
    let sent: Vec<u8> = (0..lines)
        .flat_map(|i| {
            let mut line = format!("{i:06} ").into_bytes();
            line.resize(1023, b'x');
            line.push(b'\n');
            line
        })
        .collect();
    let mut client_stream = client.stream;
    let writing = {
        let sent = sent.clone();
        tokio::spawn(async move {
            client_stream.write_all(&sent).await.unwrap();
            client_stream
        })
    };

    // It holds until full, then reads no more: everything held before any is released is
    // within the bound, plus what the read that reached it brought (at most 64 KiB).
    let (mut messages, mut bytes) = (0, 0);
    while !is_full(messages, bytes) {
        let message = held(&mut page).await;
        assert_eq!(message.data.len(), 1024);
        (messages, bytes) = (messages + 1, bytes + message.data.len());
    }
    page.command(Command::ForwardAll {
        conn: conn.id,
        way: Way::ClientToServer,
    })
    .await;
    let mut held_bytes = bytes;
    loop {
        let next = page
            .event("the first release", |e| match e {
                Event::Held { message } => Some(Some(message.data.len())),
                Event::Released { .. } => Some(None),
                _ => None,
            })
            .await;
        match next {
            Some(len) => held_bytes += len,
            None => break,
        }
    }
    assert!(
        held_bytes <= HOLD_MAX_BYTES + 64 * 1024,
        "held {held_bytes} bytes before any was released"
    );

    // Released, all of it reaches the server, in order, once.
    hold(&mut page, conn.id, Way::ClientToServer, false).await;
    let got = server_end.receive(sent.len()).await;
    assert!(got == sent, "the server got what the client sent, in order");
    let _client = within("the client's writes", writing).await.unwrap();
    bridge.shutdown().await;
}

#[tokio::test]
async fn a_half_close_waits_for_what_is_held_and_a_closed_conversation_holds_nothing() {
    let (bridge, server, proxy) = proxied(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut client, mut server_end, conn) = pair(&mut page, &server, proxy).await;
    hold(&mut page, conn.id, Way::ClientToServer, true).await;

    // The client says its last and closes its sending side: the server hears the message
    // once it is forwarded, and the end after it.
    client.send(b"bye").await;
    let bye = held(&mut page).await;
    client.half_close().await;
    page.command(Command::Forward {
        conn: conn.id,
        id: bye.id,
        edit: Some(hex::encode(b"BYE")),
    })
    .await;
    assert_eq!(server_end.receive(3).await, b"BYE");
    server_end.closed().await;

    // The server holds one back, and the page disconnects: the reason says what never went.
    hold(&mut page, conn.id, Way::ServerToClient, true).await;
    server_end.send(b"late").await;
    let late = held(&mut page).await;
    page.command(Command::Disconnect { conn: conn.id }).await;
    let closed = page
        .event("the conversation to close", |e| match e {
            Event::Conn { conn: c } if c.id == conn.id && c.state == ConnState::Closed => {
                Some(c.clone())
            }
            _ => None,
        })
        .await;
    let reason = closed.close_reason.unwrap();
    assert!(
        reason.ends_with("; 1 held message (4 B) was never forwarded"),
        "{reason}"
    );

    // Closed, it holds nothing and takes no hold, forward or drop.
    for command in [
        Command::Hold {
            conn: conn.id,
            way: Way::ClientToServer,
            on: true,
        },
        Command::Forward {
            conn: conn.id,
            id: late.id,
            edit: None,
        },
        Command::DropHeld {
            conn: conn.id,
            id: late.id,
        },
    ] {
        page.command(command).await;
        let refused = page.problem().await;
        assert_eq!(refused.kind, ProblemKind::NotOpen);
        assert!(
            refused
                .message
                .contains(&format!("conversation {} is closed", conn.id)),
            "{}",
            refused.message
        );
    }
    let (_, snapshot) = Page::open(&bridge).await;
    assert!(snapshot.held.is_empty());
    bridge.shutdown().await;
}

#[tokio::test]
async fn rules_in_passing_act_before_the_hold_which_holds_what_would_go() {
    use protocol::rules::{Action, ReplyBody, Rule, Trigger};
    let (bridge, server, proxy) = proxied(&["--framing", "lf"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let (mut client, mut server_end, conn) = pair(&mut page, &server, proxy).await;
    let passing = |id: &str, action, pattern: &str, reply: &str| Rule {
        way: Some(Way::ClientToServer),
        action,
        ..Rule::new(
            id,
            Trigger::Regex {
                pattern: pattern.into(),
            },
            ReplyBody::Text(reply.into()),
        )
    };
    let rules = vec![
        passing("louder", Action::Rewrite, "hello", "HELLO"),
        passing("no-reboot", Action::Drop, "reboot", ""),
    ];
    page.command(Command::SetRules {
        rules: rules.clone(),
    })
    .await;
    page.event("the rules in force", |e| match e {
        Event::Rules { rules: now } if *now == rules => Some(()),
        _ => None,
    })
    .await;
    hold(&mut page, conn.id, Way::ClientToServer, true).await;

    // What is held is what the rules would let go: the rewrite; what they drop is not held.
    client.send(b"reboot\nhello there\n").await;
    let held_one = held(&mut page).await;
    assert_eq!(held_one.data, b"HELLO there\n");
    page.command(Command::Forward {
        conn: conn.id,
        id: held_one.id,
        edit: None,
    })
    .await;
    assert_eq!(server_end.receive(12).await, b"HELLO there\n");

    // The log: the dropped one as it came, the rewritten one as it came, then as it went, with
    // its rule's id, once the page let it go.
    let (_, snapshot) = Page::open(&bridge).await;
    let up: Vec<(String, Option<String>)> = snapshot
        .records
        .iter()
        .filter(|r| r.conn == conn.id)
        .map(|r| {
            (
                String::from_utf8_lossy(&r.data).into_owned(),
                r.rule.clone(),
            )
        })
        .collect();
    assert_eq!(
        up,
        [
            ("reboot\n".to_owned(), None),
            ("hello there\n".to_owned(), None),
            ("HELLO there\n".to_owned(), Some("louder".to_owned())),
        ]
    );
    bridge.shutdown().await;
}
