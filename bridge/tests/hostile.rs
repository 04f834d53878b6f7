//! Hostile load: rules, requests and floods that must neither hold the bridge up nor make it
//! lie. Each test puts a figure (a stall, a memory growth) in its message; the bounds are
//! generous enough for a loaded two-core machine.

mod common;

use std::time::{Duration, Instant};

use common::{accept_peer, http_get, start, start_error, within, Page};
use protocol::framing::{Delimiter, Framing};
use protocol::rules::{ReplyBody, Rule, Trigger};
use protocol::{Command, ConnSettings, ConnState, Event, Flow, ProblemKind, Transport};

fn regex_rules(count: usize, pattern: impl Fn(usize) -> String) -> Vec<Rule> {
    (0..count)
        .map(|i| {
            Rule::new(
                format!("r{i}"),
                Trigger::Regex {
                    pattern: pattern(i),
                },
                ReplyBody::Text("matched".into()),
            )
        })
        .collect()
}

/// A MiB of short words, each with `q` and a digit: every rule below must look at all of it.
fn words_line() -> Vec<u8> {
    let mut line = Vec::with_capacity(1 << 20);
    let mut i = 0u32;
    while line.len() < (1 << 20) - 32 {
        line.extend_from_slice(format!("z{i:x}abcdefghijklq{} ", i % 10).as_bytes());
        i += 1;
    }
    line.push(b'\n');
    line
}

/// The bridge's resident memory, in MiB (the bridge runs in this process).
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS");
    kib / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_rule_holds_up_no_other_peer_nor_the_page() {
    let bridge = start(&["--no-exit-word"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let settings = ConnSettings {
        framing: Framing::Delimiter {
            delimiter: Delimiter::lf(),
        },
        checksum: None,
    };
    page.command(Command::Configure {
        conn: None,
        way: None,
        settings,
    })
    .await;
    // Rules slow on long lines of words: each tens of milliseconds per MiB, or more.
    let rules = regex_rules(64, |i| format!(r"(?-u:\w{{40}}z\w{{40}}q{})", i % 10));
    page.command(Command::SetRules { rules }).await;
    page.event("the rules", |e| {
        matches!(e, Event::Rules { .. }).then_some(())
    })
    .await;
    let (mut hostile, _) = accept_peer(&bridge, &mut page).await;
    let (mut other, other_conn) = accept_peer(&bridge, &mut page).await;

    hostile.send(&words_line()).await;
    // Give the bridge the time to start matching the long line.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    other.send(b"hello\n").await;
    let record = page.record(other_conn.id, Flow::Rx).await;
    let stall = start.elapsed();
    assert_eq!(&record.data[..], b"hello\n");
    let start = Instant::now();
    // The app, or the page saying how to build it: either way, an answer.
    let (status, _, _) = http_get(bridge.http_addr, "/").await;
    let page_stall = start.elapsed();
    assert!(status == 200 || status == 503, "{status}");
    assert!(
        stall < Duration::from_secs(1) && page_stall < Duration::from_secs(1),
        "another peer's 6-byte line took {} ms to reach the page, and GET / {} ms, while a \
         MiB line was matched against 64 slow rules",
        stall.as_millis(),
        page_stall.as_millis()
    );
    // The page is told that the long line's rules were cut short.
    let problem = page.problem().await;
    assert_eq!(problem.kind, ProblemKind::RateLimited, "{problem:?}");
    assert!(problem.rule.is_some(), "{problem:?}");
    assert!(
        problem
            .message
            .contains("took more than the 200 ms a message may take"),
        "{}",
        problem.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_set_over_its_bounds_is_refused_quickly_naming_the_rule() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let before = rss_mib();
    let start = Instant::now();
    // 256 Unicode regexes, each of several MiB once compiled: 26 KB of JSON.
    let huge = regex_rules(256, |i| format!(r"\w{{40}}z\w{{40}}q{}", i % 10));
    page.command(Command::SetRules { rules: huge }).await;
    let problem = page.problem().await;
    let took = start.elapsed();
    let grew = rss_mib().saturating_sub(before);
    assert_eq!(problem.kind, ProblemKind::InvalidRules, "{problem:?}");
    assert!(
        problem
            .message
            .starts_with("rule `r0`: its regex is too large once compiled: over the 1.0 MiB"),
        "{}",
        problem.message
    );
    assert!(
        took < Duration::from_secs(2) && grew < 100,
        "refusing 256 huge regexes took {} ms, and memory grew by {grew} MiB",
        took.as_millis()
    );
    // Each regex within its own bound, but too many of them together.
    let many = regex_rules(200, |i| format!(r"(\w+) (\w+) {i}$"));
    page.command(Command::SetRules { rules: many }).await;
    let problem = page.problem().await;
    assert!(
        problem
            .message
            .contains("the rule set would take more than the 96.0 MiB of memory a rule set"),
        "{}",
        problem.message
    );
    let grew = rss_mib().saturating_sub(before);
    assert!(grew < 200, "memory grew by {grew} MiB");
}

#[tokio::test]
async fn a_rules_file_over_its_bounds_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml");
    let mut text = String::new();
    for i in 0..256 {
        text += &format!(
            "[[rule]]\nid = 'r{i}'\ntrigger = {{ on = 'regex', pattern = '\\w{{40}}z\\w{{40}}q{}' }}\n\
             reply = {{ text = 'x' }}\n\n",
            i % 10
        );
    }
    std::fs::write(&path, &text).unwrap();
    let start = Instant::now();
    let error = start_error(&["--rules", path.to_str().unwrap()]).await;
    let took = start.elapsed();
    assert!(
        error.contains("rule `r0`: its regex is too large"),
        "{error}"
    );
    assert!(
        took < Duration::from_secs(2),
        "a rules file of {} KB took {} ms to refuse",
        text.len() / 1000,
        took.as_millis()
    );
}

/// A rules file of more rules than a set may hold is refused before any of its regexes is
/// compiled, as a page's set is.
#[tokio::test]
async fn a_rules_file_of_too_many_rules_is_refused_before_compiling_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml");
    let mut text = String::new();
    for i in 0..300 {
        text += &format!(
            "[[rule]]\nid = 'r{i}'\ntrigger = {{ on = 'regex', pattern = '\\w{{8}} \\w{{8}} {i}$' }}\n\
             reply = {{ text = 'x' }}\n\n"
        );
    }
    std::fs::write(&path, &text).unwrap();
    let start = Instant::now();
    let error = start_error(&["--rules", path.to_str().unwrap()]).await;
    let took = start.elapsed();
    assert!(
        error.contains("300 rules are too many: at most 256 in one set"),
        "{error}"
    );
    assert!(
        took < Duration::from_secs(1),
        "a rules file of 300 Unicode regexes took {} ms to refuse",
        took.as_millis()
    );
}

/// A dial to the bridge's own HTTP address would let a WebSocket upgrade sent over it make the
/// bridge its own page: gigabytes a second, without end. It is refused, by any name.
#[tokio::test]
async fn a_dial_to_the_bridge_s_own_http_address_is_refused() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let port = bridge.http_addr.port();
    for (host, transport) in [
        ("127.0.0.1", Transport::Tcp),
        ("localhost", Transport::Tcp),
        ("127.0.0.1", Transport::Tls),
    ] {
        page.command(Command::Dial {
            host: host.into(),
            port,
            transport,
            accept_any_certificate: true,
            request: None,
        })
        .await;
        let closed = page.conn(ConnState::Closed).await;
        let reason = closed.close_reason.unwrap_or_default();
        assert!(
            reason.contains(&format!(
                ":{port} is this bridge's own HTTP address (--http)"
            )),
            "{host} over {transport:?}: {reason}"
        );
    }
    bridge.shutdown().await;
}

/// The bridge's own HTTP port is taken by the bridge itself, not by "another program": the page
/// is told so, and where to listen instead.
#[tokio::test]
async fn moving_the_listener_to_the_bridge_s_own_http_port_says_whose_it_is() {
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    for addr in [
        bridge.http_addr.to_string(),
        format!("0.0.0.0:{}", bridge.http_addr.port()),
    ] {
        page.command(Command::Listen {
            addr: addr.clone(),
            transport: Transport::Tcp,
            request: None,
        })
        .await;
        let message = page.problem().await.message;
        assert!(
            message.contains(&format!(
                "port {} is the bridge's own HTTP port, where its page is served (--http",
                bridge.http_addr.port()
            )) && message.contains("listen on another port")
                && !message.contains("another program"),
            "moving the listener to {addr}: {message}"
        );
    }
    bridge.shutdown().await;
}

/// A flood of datagrams from many addresses fills the UDP socket's own bound, not TCP's: the
/// longest silent conversation makes room for a new one, and TCP peers still get in.
#[tokio::test]
async fn a_udp_flood_never_takes_tcp_s_places() {
    let bridge = start(&[
        "--udp",
        "127.0.0.1:0",
        "--max-conns",
        "2",
        "--udp-peers",
        "4",
    ])
    .await;
    let udp = bridge.udp_addr.expect("the UDP socket");
    let (mut page, _) = Page::open(&bridge).await;
    let mut senders = Vec::new();
    let mut reasons = Vec::new();
    for i in 0..10u8 {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket.send_to(&[i], udp).await.unwrap();
        // Each its own conversation, open before the next: "longest silent" is then the order.
        let addr = socket.local_addr().unwrap().to_string();
        page.event("a UDP conversation", |e| match e {
            Event::Conn { conn } if conn.state == ConnState::Closed => {
                reasons.push((conn.peer.clone(), conn.close_reason.clone()));
                None
            }
            Event::Conn { conn } if conn.peer == addr && conn.state == ConnState::Open => Some(()),
            _ => None,
        })
        .await;
        senders.push(socket);
    }
    // The first ones made room for the last four, each saying why.
    let first = senders[0].local_addr().unwrap().to_string();
    let (_, reason) = reasons
        .iter()
        .find(|(peer, _)| *peer == first)
        .unwrap_or_else(|| panic!("the first conversation did not end: {reasons:?}"));
    let reason = reason.clone().unwrap_or_default();
    assert!(
        reason.contains("as many conversations as --udp-peers allows"),
        "{reason}"
    );
    // TCP keeps its two places: the flood took none of them.
    let (_tcp, conn) = accept_peer(&bridge, &mut page).await;
    assert_eq!(conn.state, ConnState::Open);
    bridge.shutdown().await;
}

/// Connections that send half a request header, as many as a stranger likes, are let go within
/// seconds, and meanwhile hold no more than their bound: TCP peers still get in, and the page is
/// served again once they are gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_are_let_go_and_never_lock_out_the_listener() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let bridge = start(&[]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let start = Instant::now();
    let mut held = Vec::new();
    for _ in 0..300 {
        let mut stream = tokio::net::TcpStream::connect(bridge.http_addr)
            .await
            .unwrap();
        // A header that never ends; the write may fail on a connection closed at once.
        let _ = stream
            .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await;
        held.push(tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        }));
    }
    // TCP peers get in meanwhile.
    let (_peer, conn) = accept_peer(&bridge, &mut page).await;
    assert_eq!(conn.state, ConnState::Open);
    // Every half-sent request is let go within the header timeout, and a little more.
    let bound = Duration::from_secs(10);
    let mut open = 0;
    for task in held {
        let left = bound.saturating_sub(start.elapsed());
        if tokio::time::timeout(left, task).await.is_err() {
            open += 1;
        }
    }
    assert_eq!(
        open,
        0,
        "{open} of 300 half-sent requests were still open after {} ms",
        start.elapsed().as_millis()
    );
    let (status, _, _) = http_get(bridge.http_addr, "/").await;
    assert!(status == 200 || status == 503, "{status}");
    bridge.shutdown().await;
}

/// A peer that floods long lines against slow rules, over several connections, keeps the
/// matching threads busy; an ordinary peer's short line still gets its regex rule's answer,
/// promptly: it waits for a thread ahead of the connections that have used their time, and the
/// wait is not charged to its budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordinary_peer_s_regex_rule_answers_while_a_hostile_peer_floods() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let bridge = start(&["--no-exit-word", "--framing", "lf"]).await;
    let (mut page, _) = Page::open(&bridge).await;
    let mut rules = regex_rules(64, |i| format!(r"(?-u:\w{{40}}z\w{{40}}q{})", i % 10));
    rules.push(Rule::new(
        "ping",
        Trigger::Regex {
            pattern: "^ping$".into(),
        },
        ReplyBody::Text("pong\n".into()),
    ));
    page.command(Command::SetRules { rules }).await;
    page.event("the rules", |e| {
        matches!(e, Event::Rules { .. }).then_some(())
    })
    .await;
    let (mut ordinary, _) = accept_peer(&bridge, &mut page).await;
    let line = std::sync::Arc::new(words_line());
    let mut flood = Vec::new();
    for _ in 0..8 {
        let (hostile, _) = accept_peer(&bridge, &mut page).await;
        let line = line.clone();
        flood.push(tokio::spawn(async move {
            let mut stream = hostile.stream;
            for _ in 0..20 {
                if stream.write_all(&line).await.is_err() {
                    return;
                }
            }
        }));
    }
    // The hostile connections' lines are being matched.
    let busy = page.problem().await;
    assert_eq!(busy.kind, ProblemKind::RateLimited, "{busy:?}");
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let start = Instant::now();
        ordinary.send(b"ping\n").await;
        let mut answer = [0; 5];
        let read = tokio::time::timeout(
            Duration::from_secs(5),
            ordinary.stream.read_exact(&mut answer),
        )
        .await;
        assert!(
            read.is_ok(),
            "the ordinary peer's rule did not answer within 5 s (skipped, or waiting) while 8 \
             connections flooded MiB lines against 64 slow rules"
        );
        slowest = slowest.max(start.elapsed());
        assert_eq!(&answer, b"pong\n");
    }
    assert!(
        slowest < Duration::from_millis(1500),
        "the ordinary peer's rule took up to {} ms to answer while 8 connections flooded MiB \
         lines against 64 slow rules",
        slowest.as_millis()
    );
    for task in flood {
        task.abort();
    }
    bridge.shutdown().await;
}

/// A rules file whose regexes take a while to compile is compiled off the async workers: on a
/// runtime of one thread, another task keeps its pace while the bridge starts. Were the rules
/// compiled on that thread, the task would wait about as long as the start took; the bound is a
/// share of the start, not a number of milliseconds, so a machine that is busy elsewhere (which
/// slows the start and the task's wake-ups alike) does not fail it.
#[tokio::test(flavor = "current_thread")]
async fn a_large_rules_file_is_compiled_without_stalling_other_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml");
    let mut text = String::new();
    for i in 0..16 {
        text += &format!(
            "[[rule]]\nid = 'r{i}'\ntrigger = {{ on = 'regex', pattern = '\\w{{8}} \\w{{8}} {i}$' }}\n\
             reply = {{ text = 'x' }}\n\n"
        );
    }
    std::fs::write(&path, &text).unwrap();
    // Another task on the one thread, which says how long each of its 5 ms sleeps took.
    let (tick, mut ticks) = tokio::sync::mpsc::unbounded_channel();
    let ticking = tokio::spawn(async move {
        loop {
            let before = Instant::now();
            tokio::time::sleep(Duration::from_millis(5)).await;
            let _ = tick.send(before.elapsed());
        }
    });
    ticks.recv().await.unwrap();
    let start = Instant::now();
    let bridge = common::start(&["--rules", path.to_str().unwrap()]).await;
    let took = start.elapsed();
    // The tick that spans the start, and any before it.
    let mut longest = ticks.recv().await.unwrap();
    while let Ok(late) = ticks.try_recv() {
        longest = longest.max(late);
    }
    ticking.abort();
    assert!(
        longest < took / 4,
        "another task waited up to {} ms while the bridge started (in {} ms) with 16 Unicode \
         regex rules",
        longest.as_millis(),
        took.as_millis()
    );
    bridge.shutdown().await;
}

/// Pages past `--max-pages` are refused, saying why; with as many half-sent HTTP requests as a
/// stranger likes on top, a TCP peer still connects and is relayed. The open-files limit is
/// raised to the hard one at start.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_past_their_bound_are_refused_and_http_load_leaves_the_listener_room() {
    use futures::StreamExt;
    use tokio::io::AsyncWriteExt;
    use tokio_tungstenite::tungstenite::Message;
    // A soft limit below the hard one, as a login shell often gives (half of it: other tests
    // of this file run meanwhile).
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        let lowered = libc::rlimit {
            rlim_cur: limit.rlim_max / 2,
            ..limit
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lowered), 0);
    }
    let bridge = start(&["--max-pages", "2"]).await;
    let mut now = limit;
    // SAFETY: as above.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut now) };
    assert_eq!(
        now.rlim_cur,
        limit.rlim_max,
        "the soft open-files limit after start, set to {} before it",
        limit.rlim_max / 2
    );
    let (mut page, _) = Page::open(&bridge).await;
    let (_second, _) = Page::open(&bridge).await;
    let (mut third, _) = within(
        "the third page's handshake",
        tokio_tungstenite::connect_async(common::ws_request(&bridge)),
    )
    .await
    .expect("the upgrade itself is made");
    let first = within("the third page's first message", third.next()).await;
    let Some(Ok(Message::Close(Some(frame)))) = first else {
        panic!("a third page under --max-pages 2 got {first:?}, not a close that says why");
    };
    assert_eq!(
        frame.reason.as_str(),
        "the bridge serves at most 2 pages at once (--max-pages): close another tab, or raise \
         --max-pages"
    );
    let mut held = Vec::new();
    for _ in 0..300 {
        let mut stream = tokio::net::TcpStream::connect(bridge.http_addr)
            .await
            .unwrap();
        let _ = stream.write_all(b"GET / HTTP/1.1\r\nX-Slow: ").await;
        held.push(stream);
    }
    let (mut peer, conn) = accept_peer(&bridge, &mut page).await;
    peer.send(b"still relayed").await;
    assert_eq!(
        page.traffic(conn.id, Flow::Rx, 13).await,
        b"still relayed",
        "with 2 pages, a refused one and 300 half-sent requests"
    );
    drop(held);
    bridge.shutdown().await;
}
