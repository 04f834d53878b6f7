//! The reducer, driven natively: snapshots, live records, selection, lists, listeners.

use super::log::CHUNK;
use super::*;
use crate::bytes_view::compose::{InputMode, LineEnding};
use protocol::{ConnInfo, Event, Flow, Origin, Problem, ProblemKind, Record, Transport, VERSION};

fn info(id: ConnId, state: ConnState) -> ConnInfo {
    let peer = format!("127.0.0.1:{}", 50000 + id);
    ConnInfo {
        local: Some("127.0.0.1:7777".into()),
        ..ConnInfo::new(id, Origin::Accepted, peer, state, 1_700_000_000_000_000)
    }
}

fn with_counts(mut c: ConnInfo, rx_bytes: u64, rx_msgs: u64, tx_bytes: u64) -> ConnInfo {
    c.rx_bytes = rx_bytes;
    c.rx_msgs = rx_msgs;
    c.tx_bytes = tx_bytes;
    c.tx_msgs = u64::from(tx_bytes > 0);
    c
}

fn server() -> ServerInfo {
    ServerInfo {
        listen: Some("0.0.0.0:7777".into()),
        exit_word: Some("exit".into()),
        listen_problem: None,
        encoding: Encoding::Utf8,
        ..ServerInfo::default()
    }
}

fn hello(conns: Vec<ConnInfo>, seq: Seq) -> Incoming {
    Incoming::Event(Event::Hello {
        version: VERSION,
        server: Box::new(server()),
        conns,
        seq,
        held: Vec::new(),
    })
}

fn rec(conn: ConnId, seq: Seq, flow: Flow, data: &str) -> Incoming {
    let at = 1_700_000_000_000_000 + seq as i64;
    Incoming::from(Record::new(conn, seq, flow, at, data.as_bytes().to_vec()))
}

fn conn_event(conn: ConnInfo) -> Incoming {
    Incoming::Event(Event::Conn { conn })
}

fn synced(seq: Seq) -> Incoming {
    Incoming::Event(Event::Synced { seq })
}

fn error(conn: Option<ConnId>, message: &str) -> Incoming {
    let problem = Problem::new(ProblemKind::Other, message);
    Incoming::Event(Event::Error(Problem { conn, ..problem }))
}

fn forgotten(conns: Vec<ConnId>) -> Incoming {
    Incoming::Event(Event::Forgotten { conns })
}

fn run(state: State, events: Vec<Incoming>) -> State {
    reduce(state, Action::Events(events))
}

fn texts(state: &State, id: ConnId) -> Vec<String> {
    state.conns[&id]
        .log
        .iter()
        .map(|e| match e {
            Entry::Record(r) => String::from_utf8_lossy(&r.data).into_owned(),
            Entry::Note { text, .. } => format!("note: {text}"),
            Entry::File(f) => format!("file: {}", f.written),
        })
        .collect()
}

/// A page that got a snapshot with one open connection (id 1) and two records of history.
fn synced_page() -> State {
    run(
        State::default(),
        vec![
            hello(vec![with_counts(info(1, ConnState::Open), 6, 1, 4)], 2),
            rec(1, 1, Flow::Rx, "hello\n"),
            rec(1, 2, Flow::Tx, "hi!\n"),
            synced(2),
        ],
    )
}

#[test]
fn snapshot_history_is_shown_and_not_counted_twice() {
    let s = synced_page();
    assert!(s.synced);
    assert_eq!(texts(&s, 1), ["hello\n", "hi!\n"]);
    let c = &s.conns[&1].info;
    assert_eq!((c.rx_bytes, c.rx_msgs, c.tx_bytes, c.tx_msgs), (6, 1, 4, 1));
}

#[test]
fn live_records_count() {
    let s = run(
        synced_page(),
        vec![rec(1, 3, Flow::Rx, "more\n"), rec(1, 4, Flow::Tx, "ok\n")],
    );
    let c = &s.conns[&1].info;
    assert_eq!(
        (c.rx_bytes, c.rx_msgs, c.tx_bytes, c.tx_msgs),
        (11, 2, 7, 2)
    );
    assert_eq!(texts(&s, 1).len(), 4);
}

#[test]
fn a_record_is_applied_once() {
    let s = run(
        synced_page(),
        vec![
            rec(1, 3, Flow::Rx, "once\n"),
            rec(1, 3, Flow::Rx, "once\n"),
            rec(1, 2, Flow::Tx, "hi!\n"),
        ],
    );
    assert_eq!(texts(&s, 1), ["hello\n", "hi!\n", "once\n"]);
    assert_eq!(s.conns[&1].info.rx_msgs, 2);
}

#[test]
fn a_new_snapshot_rebuilds_without_duplicates() {
    // Live traffic, then the socket drops and a reconnect brings a snapshot that covers it.
    let s = run(synced_page(), vec![rec(1, 3, Flow::Rx, "live\n")]);
    let s = reduce(s, Action::Socket(SocketStatus::Closed { retry_in_ms: 250 }));
    assert!(!s.synced);
    let s = reduce(s, Action::Socket(SocketStatus::Open));
    let s = run(
        s,
        vec![
            hello(
                vec![
                    with_counts(info(1, ConnState::Open), 11, 2, 4),
                    info(2, ConnState::Open),
                ],
                4,
            ),
            rec(1, 1, Flow::Rx, "hello\n"),
            rec(1, 2, Flow::Tx, "hi!\n"),
            rec(1, 3, Flow::Rx, "live\n"),
            rec(2, 4, Flow::Rx, "new peer\n"),
            synced(4),
        ],
    );
    assert_eq!(texts(&s, 1), ["hello\n", "hi!\n", "live\n"]);
    assert_eq!(texts(&s, 2), ["new peer\n"]);
    let c = &s.conns[&1].info;
    assert_eq!(
        (c.rx_bytes, c.rx_msgs),
        (11, 2),
        "history is not counted again"
    );
    assert_eq!(s.selected, Some(1), "the selection survives a reconnect");
    // What arrived while the page was away is unread; what it had seen is not.
    assert_eq!(s.conns[&1].unread, 0);
    assert_eq!(s.conns[&2].unread, 1);
}

#[test]
fn connections_gone_from_the_snapshot_are_dropped() {
    let s = run(
        synced_page(),
        vec![hello(vec![info(7, ConnState::Closed)], 10)],
    );
    assert_eq!(s.conns.keys().copied().collect::<Vec<_>>(), [7]);
    assert_eq!(s.selected, None);
}

#[test]
fn a_restarted_bridge_resets_the_page() {
    // Seen up to seq 3; the new snapshot ends at 1: a new bridge process, ids start again.
    let s = run(synced_page(), vec![rec(1, 3, Flow::Rx, "x\n")]);
    let s = run(
        s,
        vec![
            hello(vec![info(1, ConnState::Closed)], 1),
            rec(1, 1, Flow::Rx, "other\n"),
        ],
    );
    assert_eq!(texts(&s, 1), ["other\n"]);
    assert_eq!(s.selected, None);
    assert_eq!(s.conns[&1].unread, 0);
}

#[test]
fn conn_events_keep_the_larger_counters() {
    let s = run(synced_page(), vec![rec(1, 3, Flow::Rx, "12345\n")]);
    // A Conn event that lags behind the record we already counted...
    let mut lagging = with_counts(info(1, ConnState::Open), 6, 1, 4);
    lagging.local = Some("127.0.0.1:7778".into());
    let s = run(s, vec![conn_event(lagging)]);
    let c = &s.conns[&1].info;
    assert_eq!((c.rx_bytes, c.rx_msgs), (12, 2));
    assert_eq!(
        c.local.as_deref(),
        Some("127.0.0.1:7778"),
        "other fields update"
    );
    // ...and one that is ahead (traffic this page has not seen as records).
    let s = run(
        s,
        vec![conn_event(with_counts(
            info(1, ConnState::Closed),
            100,
            9,
            50,
        ))],
    );
    let c = &s.conns[&1].info;
    assert_eq!((c.rx_bytes, c.rx_msgs, c.tx_bytes), (100, 9, 50));
    assert_eq!(c.state, ConnState::Closed);
    // A state never moves backwards.
    let s = run(s, vec![conn_event(info(1, ConnState::Open))]);
    assert_eq!(s.conns[&1].info.state, ConnState::Closed);
}

#[test]
fn unread_counts_received_messages_until_selected() {
    let s = run(
        synced_page(),
        vec![
            conn_event(info(2, ConnState::Open)),
            rec(2, 3, Flow::Rx, "a\n"),
            rec(2, 4, Flow::Rx, "b\n"),
            rec(2, 5, Flow::Tx, "sent, not unread\n"),
            rec(1, 6, Flow::Rx, "selected, so read\n"),
        ],
    );
    assert_eq!(s.selected, Some(1));
    assert_eq!(s.conns[&2].unread, 2);
    assert_eq!(s.conns[&1].unread, 0);
    let s = reduce(s, Action::Select(2));
    assert_eq!(s.selected, Some(2));
    assert_eq!(s.conns[&2].unread, 0);
    let s = run(s, vec![rec(1, 7, Flow::Rx, "now 1 is in the background\n")]);
    assert_eq!(s.conns[&1].unread, 1);
    // Selecting an unknown connection changes nothing.
    assert_eq!(reduce(s, Action::Select(99)).selected, Some(2));
}

#[test]
fn the_first_connection_to_open_is_selected() {
    let s = run(State::default(), vec![hello(vec![], 0)]);
    assert_eq!(s.selected, None);
    let s = run(s, vec![conn_event(info(1, ConnState::Connecting))]);
    assert_eq!(s.selected, None, "not while it is still connecting");
    let s = run(
        s,
        vec![
            conn_event(info(1, ConnState::Open)),
            conn_event(info(2, ConnState::Open)),
        ],
    );
    assert_eq!(
        s.selected,
        Some(1),
        "a later one does not steal the selection"
    );
}

#[test]
fn a_snapshot_selects_the_newest_open_connection() {
    let s = run(
        State::default(),
        vec![hello(
            vec![
                info(1, ConnState::Open),
                info(2, ConnState::Open),
                info(3, ConnState::Closed),
            ],
            0,
        )],
    );
    assert_eq!(s.selected, Some(2));
}

#[test]
fn the_connection_we_dialled_is_selected() {
    let s = run(synced_page(), vec![]);
    let s = reduce(s, Action::Dialling(0x5eed));
    // Another page's dial to the same address: a different request.
    let mut other = info(2, ConnState::Connecting);
    other.origin = Origin::Dialled;
    other.peer = "127.0.0.1:9000".into();
    other.request = Some(7);
    let mut ours = info(3, ConnState::Connecting);
    ours.origin = Origin::Dialled;
    ours.peer = "127.0.0.1:9000".into();
    ours.request = Some(0x5eed);
    let s = run(s, vec![conn_event(other.clone())]);
    assert_eq!(s.selected, Some(1));
    let s = run(s, vec![conn_event(ours.clone())]);
    assert_eq!(s.selected, Some(3));
    // Once it opens, the caret goes to its composer; another's opening asks for nothing.
    assert_eq!(s.typing_focus, 0, "not while connecting");
    other.state = ConnState::Open;
    let s = run(s, vec![conn_event(other)]);
    assert_eq!(s.typing_focus, 0);
    ours.state = ConnState::Open;
    let s = run(s, vec![conn_event(ours.clone())]);
    assert_eq!(s.typing_focus, 1);
    let s = run(s, vec![conn_event(ours)]);
    assert_eq!(s.typing_focus, 1, "once");
}

#[test]
fn a_dial_that_fails_or_is_left_takes_no_focus() {
    let dialled = |id, state| {
        let mut c = info(id, state);
        c.origin = Origin::Dialled;
        c.request = Some(0x5eed);
        c
    };
    let s = reduce(run(synced_page(), vec![]), Action::Dialling(0x5eed));
    let s = run(s, vec![conn_event(dialled(3, ConnState::Connecting))]);
    let s = run(s, vec![conn_event(dialled(3, ConnState::Closed))]);
    assert_eq!(s.typing_focus, 0, "refused");
    let s = reduce(s, Action::Dialling(0x5eed));
    let s = run(s, vec![conn_event(dialled(4, ConnState::Connecting))]);
    let s = reduce(s, Action::Select(1));
    let s = run(s, vec![conn_event(dialled(4, ConnState::Open))]);
    assert_eq!(
        s.typing_focus, 0,
        "the user went to another conversation meanwhile"
    );
    assert_eq!(s.selected, Some(1));
}

#[test]
fn a_udp_conversation_sends_no_line_ending_until_one_is_chosen() {
    let mut udp = info(2, ConnState::Open);
    udp.transport = Transport::Udp;
    let s = run(synced_page(), vec![conn_event(udp.clone())]);
    assert_eq!(s.conns[&2].compose.ending, LineEnding::None);
    assert_eq!(s.conns[&1].compose.ending, LineEnding::Lf, "TCP's stays LF");
    let s = run(s, vec![hello(vec![udp], 10)]);
    assert_eq!(
        s.conns[&2].compose.ending,
        LineEnding::None,
        "in a snapshot too"
    );
}

#[test]
fn errors_are_notices_and_notes_in_their_conversation() {
    let s = run(
        synced_page(),
        vec![
            error(Some(1), "connection 1 is closed"),
            error(None, "malformed message"),
        ],
    );
    let notices: Vec<&str> = s.notices.iter().map(|n| &*n.text).collect();
    assert_eq!(notices, ["connection 1 is closed", "malformed message"]);
    assert_eq!(texts(&s, 1).last().unwrap(), "note: connection 1 is closed");
    let first = s.notices[0].id;
    let s = reduce(s, Action::Dismiss(first));
    let notices: Vec<&str> = s.notices.iter().map(|n| &*n.text).collect();
    assert_eq!(notices, ["malformed message"]);
    // Notices do not pile up without bound.
    let s = (0..10).fold(s, |s, i| reduce(s, Action::Notice(format!("n{i}"))));
    assert_eq!(s.notices.len(), MAX_NOTICES);
    assert_eq!(&*s.notices.last().unwrap().text, "n9");
}

#[test]
fn a_failed_dial_is_told_with_its_conversation_and_over_once_its_peer_is_reached() {
    let mut refused = info(2, ConnState::Closed);
    refused.origin = Origin::Dialled;
    refused.peer = "127.0.0.1:9443".into();
    let s = run(
        synced_page(),
        vec![
            conn_event(refused.clone()),
            error(
                Some(2),
                "the certificate is not trusted: accept any certificate to go on",
            ),
            error(None, "malformed message"),
        ],
    );
    let shown = |s: &State| -> Vec<String> {
        s.notices_in_view()
            .iter()
            .map(|n| n.text.to_string())
            .collect()
    };
    let s = reduce(s, Action::Select(2));
    assert_eq!(
        shown(&s).len(),
        2,
        "the refused dial's, in its conversation"
    );
    let s = reduce(s, Action::Select(1));
    assert_eq!(
        shown(&s),
        ["malformed message"],
        "not over another conversation"
    );
    // Dialled again (accepting any certificate): the same peer is reached, the problem is over.
    let mut again = info(3, ConnState::Open);
    again.origin = Origin::Dialled;
    again.peer = refused.peer.clone();
    let s = run(s, vec![conn_event(again)]);
    let s = reduce(s, Action::Select(2));
    assert_eq!(shown(&s), ["malformed message"]);
}

#[test]
fn a_new_run_of_the_bridge_drops_the_notices_about_its_old_conversations() {
    let s = run(
        synced_page(),
        vec![
            error(Some(1), "connection 1 is closed"),
            error(None, "page"),
        ],
    );
    let s = reduce(s, Action::Socket(SocketStatus::Connecting));
    let s = run(
        s,
        vec![Incoming::Event(Event::Hello {
            version: VERSION,
            server: Box::new(server()),
            conns: vec![],
            seq: 0,
            held: Vec::new(),
        })],
    );
    let texts: Vec<&str> = s.notices.iter().map(|n| &*n.text).collect();
    assert_eq!(
        texts,
        [
            "page",
            "The bridge restarted: the conversation of its last run is gone."
        ]
    );
}

/// A snapshot from the bridge's run `run`, with `rules` in force (read from `rules_file`).
fn hello_of_run(
    conns: Vec<ConnInfo>,
    seq: Seq,
    run: u64,
    rules: &[&str],
    file: Option<&str>,
) -> Incoming {
    let rules = rules
        .iter()
        .map(|id| {
            protocol::rules::Rule::new(
                *id,
                protocol::rules::Trigger::Any,
                protocol::rules::ReplyBody::Text("x".into()),
            )
        })
        .collect();
    Incoming::Event(Event::Hello {
        version: VERSION,
        server: Box::new(ServerInfo {
            run: Some(protocol::Run {
                id: run,
                started_at: 1_700_000_000_000_000 + run as i64,
            }),
            rules,
            rules_file: file.map(String::from),
            ..server()
        }),
        conns,
        seq,
        held: Vec::new(),
    })
}

#[test]
fn the_same_run_reached_again_says_nothing_of_a_restart() {
    let conns = || vec![info(1, ConnState::Open), info(2, ConnState::Open)];
    let s = run(
        State::default(),
        vec![hello_of_run(conns(), 5, 7, &["idn"], None), synced(5)],
    );
    let s = reduce(s, Action::Select(2));
    let s = reduce(s, Action::Socket(SocketStatus::Closed { retry_in_ms: 500 }));
    assert!(s.stale(), "what the page shows is as last heard");
    let s = reduce(s, Action::Socket(SocketStatus::Open));
    // The same run, whose sequence numbers a page cannot compare here (no record since).
    let s = run(
        s,
        vec![hello_of_run(conns(), 5, 7, &["idn"], None), synced(5)],
    );
    assert!(s.notices.is_empty(), "{:?}", s.notices);
    assert_eq!(s.selected, Some(2), "the same conversation in view");
    assert!(!s.stale());
}

#[test]
fn another_run_is_told_with_what_is_gone() {
    let s = run(
        State::default(),
        vec![
            hello_of_run(
                vec![info(1, ConnState::Open), info(2, ConnState::Closed)],
                9,
                7,
                &["idn", "rst"],
                None,
            ),
            synced(9),
            error(Some(1), "connection 1 is not reading"),
        ],
    );
    let s = reduce(s, Action::Socket(SocketStatus::Closed { retry_in_ms: 500 }));
    // Its sequence numbers grew past ours: only the run says it is another bridge.
    let s = run(
        s,
        vec![
            hello_of_run(vec![info(1, ConnState::Open)], 40, 8, &[], None),
            synced(40),
        ],
    );
    let texts: Vec<&str> = s.notices.iter().map(|n| &*n.text).collect();
    assert_eq!(
        texts,
        ["The bridge restarted: the 2 conversations of its last run and the 2 auto-reply rules set from the page are gone."]
    );
    assert_eq!(s.conns.len(), 1, "the new run's only");

    // Once more, from a bridge whose rules are read from its file: they are back.
    let s = run(
        s,
        vec![
            hello_of_run(vec![], 0, 9, &["idn"], Some("device.toml")),
            synced(0),
        ],
    );
    let texts: Vec<&str> = s.notices.iter().map(|n| &*n.text).collect();
    assert_eq!(
        texts,
        ["The bridge restarted: the conversation of its last run is gone; its auto-reply rules are those of device.toml again (1 rule)."],
        "the last restart only"
    );
    let s = run(
        s,
        vec![
            hello_of_run(vec![], 0, 10, &["idn"], Some("device.toml")),
            synced(0),
        ],
    );
    assert_eq!(
        &*s.notices[0].text,
        "The bridge restarted: its auto-reply rules are those of device.toml again (1 rule)."
    );
}

#[test]
fn a_refused_dial_says_why_once() {
    let mut closed = info(2, ConnState::Closed);
    closed.origin = Origin::Dialled;
    closed.close_reason = Some("connection refused by 127.0.0.1:9".into());
    let s = run(
        synced_page(),
        vec![
            conn_event(closed),
            error(Some(2), "connection refused by 127.0.0.1:9"),
        ],
    );
    assert!(s.conns[&2].log.is_empty());
    assert_eq!(
        s.conns[&2].close_line().as_deref(),
        Some("Closed: connection refused by 127.0.0.1:9")
    );
    assert_eq!(s.notices.len(), 1);
    assert_eq!(s.conns[&1].close_line(), None, "open: no close line");
}

#[test]
fn elided_history_is_announced() {
    let mut c = info(1, ConnState::Open);
    c.elided_msgs = 1200;
    c.elided_bytes = 48_000;
    let s = run(State::default(), vec![hello(vec![c.clone()], 0)]);
    assert_eq!(s.conns[&1].missing(), Some((1200, 48_000)));
    // The bridge eliding more later does not hide what this page still holds.
    c.elided_msgs = 5000;
    let s = run(s, vec![conn_event(c)]);
    assert_eq!(s.conns[&1].missing(), Some((1200, 48_000)));
    assert_eq!(synced_page().conns[&1].missing(), None);
}

#[test]
fn a_flood_is_held_within_limits_and_rendered_in_a_window() {
    let limits = Limits {
        msgs: 1000,
        bytes: usize::MAX,
    };
    let s = run(
        State::with_limits(limits),
        vec![hello(vec![info(1, ConnState::Open)], 0)],
    );
    let flood: Vec<Incoming> = (1..=3000)
        .map(|i| rec(1, i, Flow::Rx, "0123456789"))
        .collect();
    let s = run(s, flood);
    let conv = &s.conns[&1];
    assert!(conv.log.len() <= 1000 && conv.log.len() > 1000 - CHUNK);
    assert_eq!(conv.log.len() as u64 + conv.log.dropped_msgs, 3000);
    assert_eq!(
        conv.missing(),
        Some((conv.log.dropped_msgs, conv.log.dropped_msgs * 10))
    );
    assert_eq!(conv.info.rx_msgs, 3000);
    assert_eq!(conv.log.bytes(), conv.log.len() * 10);
    // The newest is always held, and only a window of it is rendered.
    let visible: Vec<Seq> = conv
        .visible()
        .map(|e| match e {
            Entry::Record(r) => r.head.seq,
            Entry::Note { .. } | Entry::File(_) => 0,
        })
        .collect();
    assert_eq!(visible.len(), WINDOW);
    assert_eq!(visible.first(), Some(&2501));
    assert_eq!(visible.last(), Some(&3000));
    assert_eq!(conv.hidden(), conv.log.len() - WINDOW);
    let s = reduce(s, Action::ShowEarlier(1));
    assert_eq!(
        s.conns[&1].visible().count(),
        s.conns[&1].log.len().min(2 * WINDOW)
    );
}

#[test]
fn byte_limit_drops_the_oldest() {
    let limits = Limits {
        msgs: usize::MAX,
        bytes: 1000,
    };
    let mut s = run(
        State::with_limits(limits),
        vec![hello(vec![info(1, ConnState::Open)], 0)],
    );
    let big = "x".repeat(100);
    for i in 1..=(CHUNK as u64 * 3) {
        s = run(s, vec![rec(1, i, Flow::Rx, &big)]);
    }
    let log = &s.conns[&1].log;
    // Whole chunks go, so what is held is at most a chunk over the limit.
    assert!(log.bytes() <= 1000 + CHUNK * 100, "{}", log.bytes());
    assert_eq!(log.dropped_bytes, log.dropped_msgs * 100);
    assert!(log.dropped_msgs > 0);
}

#[test]
fn cloning_shares_the_log() {
    let s = synced_page();
    let before = s.clone();
    let after = run(s, vec![rec(1, 3, Flow::Rx, "x")]);
    assert_eq!(before.conns[&1].log.len(), 2, "the old state is untouched");
    assert_eq!(after.conns[&1].log.len(), 3);
    assert_ne!(before.conns[&1].log, after.conns[&1].log);
    assert_eq!(before.conns[&1].log, before.clone().conns[&1].log);
}

#[test]
fn records_of_an_unknown_connection_are_kept() {
    let s = run(synced_page(), vec![rec(9, 3, Flow::Rx, "early\n")]);
    assert_eq!(texts(&s, 9), ["early\n"]);
    let mut real = info(9, ConnState::Open);
    real.rx_bytes = 6;
    real.rx_msgs = 1;
    let s = run(s, vec![conn_event(real)]);
    assert_eq!(s.conns[&9].info.peer, "127.0.0.1:50009");
    assert_eq!(texts(&s, 9), ["early\n"]);
}

#[test]
fn the_bridge_says_how_new_connections_read_and_why_it_does_not_listen() {
    let gbk = ServerInfo {
        listen: None,
        listen_problem: Some(
            Problem::new(ProblemKind::ListenFailed, "port 7777 is in use")
                .at_listener(Transport::Tcp, Some(7777)),
        ),
        encoding: Encoding::Gbk,
        ..server()
    };
    let s = run(
        State::default(),
        vec![Incoming::Event(Event::Hello {
            version: VERSION,
            server: Box::new(gbk),
            conns: vec![info(1, ConnState::Open)],
            seq: 0,
            held: Vec::new(),
        })],
    );
    assert_eq!(s.conns[&1].encodings, Encodings::both(Encoding::Gbk));
    let s = run(s, vec![conn_event(info(2, ConnState::Open))]);
    assert_eq!(
        s.conns[&2].encodings,
        Encodings::both(Encoding::Gbk),
        "new ones too"
    );
    let problem = |s: &State| s.server.as_ref().unwrap().listen_problem.clone();
    assert_eq!(
        problem(&s).map(|p| (p.port, p.message)),
        Some((Some(7777), "port 7777 is in use".into()))
    );
    let s = run(
        s,
        vec![Incoming::Event(Event::Listener {
            listen: Some("127.0.0.1:7778".into()),
            transport: protocol::Transport::Tcp,
            groups: vec![],
            fingerprint: None,
        })],
    );
    assert_eq!(problem(&s), None, "a listener started: the problem is gone");
}

#[test]
fn a_send_to_all_says_how_many_it_reached() {
    let s = run(
        synced_page(),
        vec![Incoming::Event(Event::SentToAll {
            queued: 50,
            refused: 1,
        })],
    );
    assert_eq!(s.sent_to_all, Some((50, 1)));
}

#[test]
fn an_unknown_protocol_version_is_reported() {
    let s = run(
        State::default(),
        vec![Incoming::Event(Event::Hello {
            version: VERSION + 1,
            server: Box::new(server()),
            conns: vec![],
            seq: 0,
            held: Vec::new(),
        })],
    );
    assert!(s.notices[0].text.contains("protocol version"));
}

/// What the totals and indexes must say, counted the slow way.
fn check_indexes(s: &State) {
    let mut counts = Counts::default();
    for c in s.conns.values() {
        counts.add(c, 1);
    }
    assert_eq!(s.counts(), counts);
    let mut rows: Vec<RowKey> = s.conns.values().filter_map(|c| s.list.key(c)).collect();
    rows.sort();
    assert_eq!(s.rows.keys().copied().collect::<Vec<_>>(), rows);
    let mut peers: Vec<RowKey> = s
        .conns
        .values()
        .map(|c| RowKey::of_address(&c.info.peer, c.info.id))
        .collect();
    peers.sort();
    assert_eq!(s.by_peer.keys().copied().collect::<Vec<_>>(), peers);
}

#[test]
fn open_and_unread_are_counted_as_they_change() {
    let s = synced_page();
    assert_eq!((s.open_count(), s.counts().unread), (1, 0));
    let s = run(
        s,
        vec![
            conn_event(info(2, ConnState::Open)),
            rec(2, 3, Flow::Rx, "a"),
            rec(2, 4, Flow::Rx, "b"),
            rec(7, 5, Flow::Rx, "before its conn event"),
            conn_event(info(1, ConnState::Closed)),
        ],
    );
    let c = s.counts();
    assert_eq!((c.open, c.closed, c.unread), (2, 1, 3));
    check_indexes(&s);
    let s = reduce(s, Action::Select(2));
    assert_eq!(s.counts().unread, 1);
    let s = run(s, vec![hello(vec![info(2, ConnState::Open)], 9)]);
    assert_eq!((s.open_count(), s.counts().unread), (1, 0));
    check_indexes(&s);
}

#[test]
fn an_action_copies_only_the_connections_it_changes() {
    let conns = (1..=1000).map(|id| info(id, ConnState::Open)).collect();
    let before = run(State::default(), vec![hello(conns, 0)]);
    let after = run(before.clone(), vec![rec(500, 1, Flow::Rx, "x")]);
    let shared = before
        .conns
        .values()
        .zip(after.conns.values())
        .filter(|(a, b)| Rc::ptr_eq(a, b))
        .count();
    assert_eq!(
        shared, 999,
        "every connection but the one that changed is shared"
    );
    assert_eq!(after.conns[&500].log.len(), 1);
    assert!(before.conns[&500].log.is_empty());
}

#[test]
fn the_other_end_is_found_by_its_addresses() {
    let mut client = info(1, ConnState::Open);
    client.origin = Origin::Dialled;
    client.peer = "127.0.0.1:7777".into();
    client.local = Some("127.0.0.1:50002".into());
    let server = info(2, ConnState::Open); // peer 127.0.0.1:50002, local 127.0.0.1:7777
    let mut other = info(3, ConnState::Open);
    other.peer = "127.0.0.1:50002".into(); // same peer, another local address
    other.local = Some("10.0.0.1:7777".into());
    let s = run(State::default(), vec![hello(vec![client, other], 0)]);
    assert!(s.twin_of(&s.conns[&1]).is_none(), "not there yet");
    let s = run(s, vec![conn_event(server)]);
    assert_eq!(s.twin_of(&s.conns[&1]).map(|c| c.info.id), Some(2));
    assert_eq!(s.twin_of(&s.conns[&2]).map(|c| c.info.id), Some(1));
    assert!(s.twin_of(&s.conns[&3]).is_none());
}

#[test]
fn the_list_follows_its_view_as_connections_change() {
    let ids = |s: &State| s.rows.keys().map(|r| r.id).collect::<Vec<_>>();
    let s = run(
        State::default(),
        vec![hello(
            vec![
                info(1, ConnState::Open),
                info(2, ConnState::Closed),
                info(3, ConnState::Open),
            ],
            0,
        )],
    );
    assert_eq!(ids(&s), [1, 2, 3]);
    let s = reduce(
        s,
        Action::SetList(ListView {
            hide_closed: true,
            sort: Sort::Activity,
            ..ListView::default()
        }),
    );
    assert_eq!(ids(&s), [1, 3]);
    // Traffic moves a connection to the top; a close takes it off the list.
    let s = run(s, vec![rec(1, 1, Flow::Rx, "news")]);
    assert_eq!(ids(&s), [1, 3]);
    let s = run(s, vec![rec(3, 2, Flow::Rx, "newer")]);
    assert_eq!(ids(&s), [3, 1]);
    let s = run(s, vec![conn_event(info(3, ConnState::Closed))]);
    assert_eq!(ids(&s), [1]);
    check_indexes(&s);
    let s = reduce(
        s,
        Action::SetList(ListView {
            query: "50002".into(),
            ..ListView::default()
        }),
    );
    assert_eq!(ids(&s), [2]);
    check_indexes(&s);
}

#[test]
fn saving_the_rules_to_the_file_says_what_came_of_it_while_it_holds() {
    let rules = |ids: &[&str]| {
        let rules = ids
            .iter()
            .map(|id| {
                protocol::rules::Rule::new(
                    *id,
                    protocol::rules::Trigger::Any,
                    protocol::rules::ReplyBody::Text("x".into()),
                )
            })
            .collect();
        Incoming::Event(Event::Rules { rules })
    };
    let saved = |request| {
        Incoming::Event(Event::RulesSaved {
            file: "device.toml".into(),
            rules: 1,
            request: Some(request),
        })
    };
    let s = run(synced_page(), vec![rules(&["a"])]);
    let s = reduce(s, Action::SavingRulesFile(7));
    assert_eq!(s.rules_save, RulesSave::Saving(7));
    // Another page's answer is not this page's.
    let s = run(s, vec![saved(8)]);
    assert_eq!(s.rules_save, RulesSave::Saving(7));
    let s = run(s, vec![saved(7)]);
    assert_eq!(
        s.rules_save,
        RulesSave::Saved {
            file: "device.toml".into(),
            rules: 1
        }
    );
    // The rules change: the file no longer holds them.
    let s = run(s, vec![rules(&["a", "b"])]);
    assert_eq!(s.rules_save, RulesSave::None);

    let s = reduce(s, Action::SavingRulesFile(9));
    let mut failed = Problem::new(ProblemKind::SaveFailed, "cannot save: read-only");
    failed.request = Some(9);
    let s = run(s, vec![Incoming::Event(Event::Error(failed))]);
    assert_eq!(
        s.rules_save,
        RulesSave::Failed("cannot save: read-only".into())
    );
    assert!(
        s.notices.is_empty(),
        "said in the rules panel, not as a notice"
    );
    // A new socket: an answer asked on the old one never comes.
    let s = reduce(s, Action::SavingRulesFile(10));
    let s = run(s, vec![hello(vec![], 0)]);
    assert_eq!(s.rules_save, RulesSave::None);
}

#[test]
fn a_simulator_learnt_is_this_page_s_answer_or_why_not() {
    let learnt = |request| {
        Incoming::Event(Event::Learnt {
            conn: 1,
            rules: vec![protocol::rules::Rule::new(
                "reply-1",
                protocol::rules::Trigger::Exact {
                    text: "*IDN?".into(),
                },
                protocol::rules::ReplyBody::Text("ACME\\n".into()),
            )],
            framing: protocol::framing::Framing::Delimiter {
                delimiter: protocol::framing::Delimiter::lf(),
            },
            summary: "1 rule".into(),
            elided_msgs: 3,
            elided_bytes: 40,
            request: Some(request),
        })
    };
    let s = synced_page();
    let s = reduce(
        s,
        Action::Learning {
            conn: 1,
            request: 7,
        },
    );
    // Another page's answer is not this page's.
    let s = run(s, vec![learnt(8)]);
    assert_eq!(
        s.learning,
        Learning::Asking {
            conn: 1,
            request: 7
        }
    );
    let s = run(s, vec![learnt(7)]);
    let Learning::Learnt(got) = &s.learning else {
        panic!("learnt: {:?}", s.learning);
    };
    assert_eq!(
        (got.conn, got.rules.len(), got.elided),
        (1, 1, Some((3, 40)))
    );
    // The reading of new connections stays, with the framing learnt.
    assert_eq!(
        got.settings.checksum,
        s.server.as_ref().unwrap().defaults.checksum
    );
    assert_eq!(
        got.settings.framing,
        protocol::framing::Framing::Delimiter {
            delimiter: protocol::framing::Delimiter::lf()
        }
    );
    let s = reduce(s, Action::LearntDone);
    assert_eq!(s.learning, Learning::None);

    let s = reduce(
        s,
        Action::Learning {
            conn: 1,
            request: 9,
        },
    );
    let mut failed = Problem::new(ProblemKind::LearnFailed, "nothing the server answered");
    failed.request = Some(9);
    let s = run(s, vec![Incoming::Event(Event::Error(failed))]);
    assert_eq!(
        s.learning,
        Learning::Failed("nothing the server answered".into())
    );
    assert!(
        s.notices.is_empty(),
        "said in the rules panel, not as a notice"
    );
    // A new socket: an answer asked on the old one never comes, and the panel says so.
    let s = reduce(
        s,
        Action::Learning {
            conn: 1,
            request: 10,
        },
    );
    let s = run(s, vec![hello(vec![], 0)]);
    assert!(
        matches!(s.learning, Learning::Failed(_)),
        "{:?}",
        s.learning
    );
}

#[test]
fn a_close_is_not_activity() {
    let ids = |s: &State| s.rows.keys().map(|r| r.id).collect::<Vec<_>>();
    let by_activity = Action::SetList(ListView {
        sort: Sort::Activity,
        ..ListView::default()
    });
    let s = reduce(
        run(
            State::default(),
            vec![hello(
                vec![info(1, ConnState::Open), info(2, ConnState::Open)],
                0,
            )],
        ),
        by_activity,
    );
    let s = run(
        s,
        vec![rec(1, 1, Flow::Rx, "older"), rec(2, 2, Flow::Rx, "newer")],
    );
    assert_eq!(ids(&s), [2, 1]);
    // 1 closes after 2 spoke: 2 is still what happened last.
    let mut closed = info(1, ConnState::Closed);
    closed.closed_at = Some(1_700_000_000_000_000 + 50);
    let s = run(s, vec![conn_event(closed)]);
    assert_eq!(ids(&s), [2, 1]);
    // A closed connection in a snapshot ranks by its traffic too, not by its close.
    let mut gone = info(3, ConnState::Closed);
    gone.closed_at = Some(1_700_000_000_000_000 + 99);
    let s = run(s, vec![hello(vec![info(1, ConnState::Open), gone], 0)]);
    assert_eq!(ids(&s), [1, 3]);
    check_indexes(&s);
}

#[test]
fn forgotten_connections_leave_the_page() {
    let s = run(
        synced_page(),
        vec![
            conn_event(info(2, ConnState::Closed)),
            conn_event(info(3, ConnState::Closed)),
            rec(3, 3, Flow::Rx, "unread"),
        ],
    );
    let s = reduce(s, Action::Select(2));
    assert_eq!(s.counts().unread, 1);
    let s = reduce(s, Action::Events(vec![forgotten(vec![2, 3, 99])]));
    assert_eq!(s.conns.keys().copied().collect::<Vec<_>>(), [1]);
    assert_eq!(s.selected, None, "the selected one was forgotten");
    let c = s.counts();
    assert_eq!((c.open, c.closed, c.unread), (1, 0, 0));
    check_indexes(&s);
    // What the bridge says about them later brings them back, as anything new would.
    let s = run(s, vec![rec(3, 4, Flow::Rx, "late")]);
    assert_eq!(texts(&s, 3), ["late"]);
}

#[test]
fn each_conversation_keeps_how_it_is_read_shown_and_written() {
    let s = run(synced_page(), vec![conn_event(info(2, ConnState::Open))]);
    let hex = ComposeOptions {
        mode: InputMode::Hex,
        ..ComposeOptions::default()
    };
    let s = [
        Action::SetEncoding(1, None, Encoding::Gbk),
        Action::SetView(1, ViewMode::Hex),
        Action::SetCompose(Some(1), hex),
        Action::Select(2),
    ]
    .into_iter()
    .fold(s, reduce);
    let two = s.selected_conv().unwrap();
    assert_eq!(
        (two.encodings.rx, two.view),
        (Encoding::Utf8, ViewMode::Text)
    );
    assert_eq!(two.compose, ComposeOptions::default());
    let s = reduce(s, Action::Select(1));
    let one = s.selected_conv().unwrap();
    assert_eq!(
        (one.encodings, one.view, one.compose),
        (Encodings::both(Encoding::Gbk), ViewMode::Hex, hex)
    );
    // A snapshot from the same bridge (a reconnect) keeps them.
    let s = run(
        s,
        vec![hello(
            vec![info(1, ConnState::Open), info(2, ConnState::Open)],
            9,
        )],
    );
    let one = &s.conns[&1];
    assert_eq!(
        (one.encodings, one.view, one.compose),
        (Encodings::both(Encoding::Gbk), ViewMode::Hex, hex)
    );
    // With nothing selected, the options are the composer's own.
    let s = reduce(s, Action::SetCompose(None, hex));
    assert_eq!(s.compose_idle, hex);
    assert_eq!(s.conns[&2].compose, ComposeOptions::default());
}

#[test]
fn new_connections_read_in_the_pages_encoding_else_the_bridges() {
    let s = reduce(
        State::default(),
        Action::SetPageEncoding(Some(Encoding::Gbk)),
    );
    let s = run(s, vec![hello(vec![info(1, ConnState::Open)], 0)]);
    assert_eq!(
        s.conns[&1].encodings,
        Encodings::both(Encoding::Gbk),
        "over the bridge's UTF-8"
    );
    let s = reduce(s, Action::SetPageEncoding(None));
    let s = run(s, vec![conn_event(info(2, ConnState::Open))]);
    assert_eq!(
        s.conns[&2].encodings,
        Encodings::both(Encoding::Utf8),
        "the bridge's again"
    );
    assert_eq!(
        s.conns[&1].encodings,
        Encodings::both(Encoding::Gbk),
        "the old one is as it was"
    );
}

#[test]
fn a_new_peer_takes_the_place_of_a_conversation_that_closed_in_view() {
    let s = run(synced_page(), vec![conn_event(info(1, ConnState::Closed))]);
    assert_eq!(s.selected, Some(1), "a close does not move the selection");
    let s = run(s, vec![conn_event(info(2, ConnState::Open))]);
    assert_eq!(s.selected, Some(2), "the new peer is shown");
    // Chosen once closed, a conversation stays while others arrive.
    let s = reduce(s, Action::Select(1));
    let s = run(s, vec![conn_event(info(3, ConnState::Open))]);
    assert_eq!(s.selected, Some(1));
    // An open one that the user looks at is never left for a newcomer.
    let s = reduce(s, Action::Select(3));
    let s = run(s, vec![conn_event(info(4, ConnState::Open))]);
    assert_eq!(s.selected, Some(3));
}

#[test]
fn what_the_page_holds_is_stale_until_the_next_snapshot() {
    let s = synced_page();
    assert!(!s.stale());
    let s = reduce(s, Action::Socket(SocketStatus::Closed { retry_in_ms: 250 }));
    assert!(s.stale());
    let s = reduce(s, Action::Socket(SocketStatus::Open));
    assert!(s.stale(), "connected again, but not told yet");
    let s = run(s, vec![hello(vec![info(1, ConnState::Open)], 2)]);
    assert!(!s.stale());
}

#[test]
fn the_listener_address_is_remembered_when_it_stops() {
    let s = synced_page();
    assert_eq!(s.last_listen.as_deref(), Some("0.0.0.0:7777"));
    let listener = |listen: Option<&str>| {
        Incoming::Event(Event::Listener {
            listen: listen.map(Into::into),
            transport: protocol::Transport::Tcp,
            groups: vec![],
            fingerprint: None,
        })
    };
    let s = run(s, vec![listener(Some("127.0.0.1:27777"))]);
    let s = run(s, vec![listener(None)]);
    assert_eq!(s.server.as_ref().unwrap().listen, None);
    assert_eq!(s.last_listen.as_deref(), Some("127.0.0.1:27777"));
}

#[test]
fn the_other_end_in_view_has_nothing_unread() {
    let mut client = info(1, ConnState::Open);
    client.origin = Origin::Dialled;
    client.peer = "127.0.0.1:7777".into();
    client.local = Some("127.0.0.1:50002".into());
    let server = info(2, ConnState::Open); // peer 127.0.0.1:50002, local 127.0.0.1:7777
    let s = run(
        State::default(),
        vec![
            hello(vec![client], 0),
            conn_event(server),
            rec(2, 1, Flow::Rx, "hi"),
        ],
    );
    assert_eq!((s.selected, s.twin), (Some(1), Some(2)));
    assert_eq!(s.conns[&2].unread, 0, "beside the selected one: read");
    let s = run(s, vec![rec(2, 2, Flow::Rx, "again")]);
    assert_eq!(s.counts().unread, 0);
    check_indexes(&s);
}

#[test]
fn a_send_to_all_waits_for_its_own_answer() {
    let s = reduce(synced_page(), Action::SetToAll(true));
    let s = run(
        s,
        vec![Incoming::Event(Event::SentToAll {
            queued: 3,
            refused: 0,
        })],
    );
    let s = reduce(s, Action::SendingToAll);
    assert_eq!(s.sent_to_all, None, "the last answer is not this send's");
    let s = run(
        s,
        vec![Incoming::Event(Event::SentToAll {
            queued: 2,
            refused: 1,
        })],
    );
    assert_eq!(s.sent_to_all, Some((2, 1)));
    let s = reduce(s, Action::SetToAll(false));
    assert_eq!((s.to_all, s.sent_to_all), (false, None));
}

fn listen_failed(request: Option<RequestId>, message: &str) -> Incoming {
    Incoming::Event(Event::Error(
        Problem::new(ProblemKind::ListenFailed, message).answering(request),
    ))
}

fn listener(transport: Transport, listen: Option<&str>, groups: &[&str]) -> Incoming {
    Incoming::Event(Event::Listener {
        listen: listen.map(Into::into),
        transport,
        groups: groups.iter().map(|g| g.to_string()).collect(),
        fingerprint: (transport == Transport::Tls).then(|| "AB:CD".into()),
    })
}

#[test]
fn a_listener_failure_is_shown_at_the_listener_the_page_asked() {
    const UDP: Asked = Asked::Listen(Transport::Udp);
    let s = reduce(synced_page(), Action::AskListener(UDP, 5));
    let s = run(
        s,
        vec![listen_failed(
            Some(5),
            "cannot listen for UDP on 127.0.0.1:9: in use",
        )],
    );
    assert!(s.notices.is_empty(), "not at the top of the page");
    assert_eq!(
        s.listeners.error(UDP).map(|e| &**e),
        Some("cannot listen for UDP on 127.0.0.1:9: in use")
    );
    // Started after all: the failure is over, and the socket is the bridge's word.
    let s = reduce(s, Action::AskListener(UDP, 6));
    let s = run(
        s,
        vec![listener(
            Transport::Udp,
            Some("127.0.0.1:9000"),
            &["239.1.2.3"],
        )],
    );
    assert_eq!(s.listeners.error(UDP), None);
    let server = s.server.as_ref().unwrap();
    assert_eq!(server.udp_listen.as_deref(), Some("127.0.0.1:9000"));
    assert_eq!(server.groups, ["239.1.2.3"]);
    // Stopped: where it was is kept, to start it there again.
    let s = run(s, vec![listener(Transport::Udp, None, &[])]);
    assert_eq!(s.server.as_ref().unwrap().udp_listen, None);
    assert_eq!(s.listeners.last(Transport::Udp), Some("127.0.0.1:9000"));
    // The TLS listener's fingerprint comes with it.
    let s = run(s, vec![listener(Transport::Tls, Some("[::]:7443"), &[])]);
    let server = s.server.as_ref().unwrap();
    assert_eq!(server.tls_listen.as_deref(), Some("[::]:7443"));
    assert_eq!(server.tls_fingerprint.as_deref(), Some("AB:CD"));
}

#[test]
fn a_listener_failure_nobody_asked_for_is_a_notice() {
    let s = run(synced_page(), vec![listen_failed(Some(5), "cannot listen")]);
    assert_eq!(&*s.notices[0].text, "cannot listen");
}

#[test]
fn a_snapshot_tells_where_the_tls_and_udp_listeners_are() {
    let s = run(
        State::default(),
        vec![Incoming::Event(Event::Hello {
            version: VERSION,
            server: Box::new(ServerInfo {
                tls_listen: Some("[::]:7443".into()),
                udp_listen: Some("0.0.0.0:9000".into()),
                ..server()
            }),
            conns: vec![],
            seq: 0,
            held: Vec::new(),
        })],
    );
    assert_eq!(s.listeners.last(Transport::Tls), Some("[::]:7443"));
    assert_eq!(s.listeners.last(Transport::Udp), Some("0.0.0.0:9000"));
}

#[test]
fn broadcast_is_each_conversations_own_and_sending_to_alls() {
    let s = run(synced_page(), vec![conn_event(info(2, ConnState::Open))]);
    assert_eq!(s.selected, Some(1));
    let s = reduce(s, Action::SetBroadcast(true));
    assert!(
        s.broadcast_for(Target::Conn(1)),
        "the conversation in view's"
    );
    assert!(!s.broadcast_for(Target::Conn(2)));
    assert!(!s.broadcast_for(Target::Conn(99)));
    assert!(!s.broadcast_for(Target::All));
    // While sending to all, the choice is sending to all's.
    let s = reduce(s, Action::SetToAll(true));
    let s = reduce(s, Action::SetBroadcast(true));
    let s = reduce(s, Action::SetToAll(false));
    let s = reduce(s, Action::SetBroadcast(false));
    assert!(s.broadcast_for(Target::All));
    assert!(!s.broadcast_for(Target::Conn(1)));
    let s = reduce(s, Action::SetBroadcast(true));
    // A reconnect to the same bridge keeps it, as it keeps the composer's options.
    let s = run(
        s,
        vec![hello(
            vec![info(1, ConnState::Open), info(2, ConnState::Open)],
            9,
        )],
    );
    assert!(s.broadcast_for(Target::Conn(1)));
}

/// A proxy's client (connection 3) relayed to a server on 127.0.0.1:502.
fn proxied(state: ConnState) -> ConnInfo {
    ConnInfo {
        local: Some("127.0.0.1:1502".into()),
        proxy: Some(Box::new(protocol::ProxyInfo {
            server: Some("127.0.0.1:502".into()),
            ..protocol::ProxyInfo::to("127.0.0.1:502")
        })),
        ..ConnInfo::new(
            3,
            Origin::Accepted,
            "127.0.0.1:51234".into(),
            state,
            1_700_000_000_000_000,
        )
    }
}

fn way_rec(seq: Seq, flow: Flow, marks: protocol::Marks, data: &str) -> Incoming {
    let at = 1_700_000_000_000_000 + seq as i64;
    Incoming::from(Record {
        marks,
        ..Record::new(3, seq, flow, at, data.as_bytes().to_vec())
    })
}

#[test]
fn a_proxied_conversation_shows_its_pair_and_each_ways_messages_in_order() {
    let s = run(
        synced_page(),
        vec![
            conn_event(proxied(ConnState::Open)),
            way_rec(3, Flow::Rx, protocol::Marks::PROXIED, "GET\n"),
            way_rec(4, Flow::Tx, protocol::Marks::PROXIED, "OK\n"),
            way_rec(
                5,
                Flow::Rx,
                protocol::Marks::PROXIED.with(protocol::Marks::INJECTED),
                "PING\n",
            ),
        ],
    );
    let conv = &s.conns[&3];
    assert_eq!(
        pair(&conv.info).as_deref(),
        Some("client 127.0.0.1:51234 ⇄ 127.0.0.1:502")
    );
    assert_eq!(pair(&s.conns[&1].info), None);
    assert_eq!(proxy_details(&s.conns[&1].info), None);
    assert_eq!(half_closed(&conv.info), None);
    let mut half = conv.info.clone();
    half.proxy.as_mut().unwrap().local = Some("127.0.0.1:40112".into());
    half.proxy.as_mut().unwrap().client_closed = true;
    assert_eq!(
        proxy_details(&half).as_deref(),
        Some("server 127.0.0.1:502 from 127.0.0.1:40112")
    );
    assert!(half_closed(&half)
        .unwrap()
        .starts_with("The client closed its sending side"));
    half.state = ConnState::Closed;
    assert_eq!(half_closed(&half), None, "over once the conversation is");
    assert_eq!(
        pair_parts(&conv.info),
        Some(("127.0.0.1:51234", "127.0.0.1:502"))
    );
    assert_eq!(conn_words(&conv.info), ["⇄", "proxied"]);
    assert_eq!(count_words(&conv.info)[0], ("c→s", "client→server"));
    assert_eq!(count_words(&s.conns[&1].info)[1], ("tx", "sent"));
    let ways: Vec<(Option<protocol::Way>, String)> = conv
        .log
        .iter()
        .map(|e| match e {
            Entry::Record(r) => (
                protocol::Way::of(r.head.flow, r.head.marks),
                String::from_utf8_lossy(&r.data).into_owned(),
            ),
            other => panic!("only records: {other:?}"),
        })
        .collect();
    use protocol::Way::{ClientToServer, ServerToClient};
    assert_eq!(
        ways,
        [
            (Some(ClientToServer), "GET\n".into()),
            (Some(ServerToClient), "OK\n".into()),
            (Some(ClientToServer), "PING\n".into()),
        ]
    );
    // Counted by way: rx client→server, tx server→client.
    assert_eq!((conv.info.rx_bytes, conv.info.tx_bytes), (9, 3));
    // The list's filter finds it by the word it shows, and by its server.
    for query in ["proxied", "127.0.0.1:502", "51234"] {
        let listed = reduce(
            s.clone(),
            Action::SetList(ListView {
                query: query.into(),
                ..ListView::default()
            }),
        );
        let ids: Vec<ConnId> = listed.rows.iter().map(|(k, _)| k.id).collect();
        assert_eq!(ids, [3], "{query}");
    }
}

#[test]
fn sending_to_a_proxys_server_is_each_conversations_own_choice() {
    let s = run(synced_page(), vec![conn_event(proxied(ConnState::Open))]);
    assert_eq!(s.selected, Some(1));
    // Not a proxy's: there is no server to send to.
    let s = reduce(s, Action::SetToServer(true));
    assert!(!s.to_server_for(Target::Conn(1)));
    let s = reduce(s, Action::Select(3));
    assert!(!s.to_server_for(Target::Conn(3)), "to the client at first");
    let s = reduce(s, Action::SetToServer(true));
    assert!(s.to_server_for(Target::Conn(3)));
    assert!(
        !s.to_server_for(Target::All),
        "a send to all goes to clients"
    );
    // A reconnect keeps the choice, as it keeps the composer's options.
    let s = run(s, vec![hello(vec![proxied(ConnState::Open)], 9)]);
    assert!(s.to_server_for(Target::Conn(3)));
    let s = reduce(s, Action::SetToServer(false));
    assert!(!s.to_server_for(Target::Conn(3)));
}

#[test]
fn the_proxies_running_are_the_bridges_and_a_refused_one_is_told_at_the_form() {
    let s = synced_page();
    let s = reduce(s, Action::AskListener(Asked::Proxies, 41));
    let refused = Problem {
        request: Some(41),
        ..Problem::new(ProblemKind::NotAllowed, "not allowed to dial 10.0.0.9:502")
    };
    let s = run(s, vec![Incoming::Event(Event::Error(refused))]);
    assert_eq!(
        s.listeners.error(Asked::Proxies).map(|e| &**e),
        Some("not allowed to dial 10.0.0.9:502")
    );
    assert!(s.notices.is_empty(), "told at the form, not as a notice");
    let running = vec![protocol::ProxyListener {
        listen: "127.0.0.1:1502".into(),
        target: "127.0.0.1:502".into(),
    }];
    let s = reduce(s, Action::AskListener(Asked::Proxies, 42));
    let s = run(
        s,
        vec![Incoming::Event(Event::Proxies {
            proxies: running.clone(),
        })],
    );
    assert_eq!(s.server.as_ref().unwrap().proxies, running);
    assert_eq!(s.listeners.error(Asked::Proxies), None);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn event() -> impl Strategy<Value = Incoming> {
        let state = prop_oneof![
            Just(ConnState::Connecting),
            Just(ConnState::Open),
            Just(ConnState::Closed)
        ];
        prop_oneof![
            (1u64..12, state.clone(), 0u16..3).prop_map(|(id, st, peer)| {
                let mut c = info(id, st);
                c.peer = format!("10.0.0.{peer}:1");
                conn_event(c)
            }),
            (1u64..12, 1u64..200, any::<bool>()).prop_map(|(id, seq, rx)| {
                rec(id, seq, if rx { Flow::Rx } else { Flow::Tx }, "x")
            }),
            (prop::collection::vec((1u64..12, state), 0..6), 0u64..200).prop_map(|(conns, seq)| {
                let mut conns: Vec<_> = conns.into_iter().map(|(id, st)| info(id, st)).collect();
                conns.sort_by_key(|c| c.id);
                conns.dedup_by_key(|c| c.id);
                hello(conns, seq)
            }),
            (1u64..12).prop_map(|id| error(Some(id), "e")),
        ]
    }

    fn action() -> impl Strategy<Value = Action> {
        prop_oneof![
            4 => prop::collection::vec(event(), 0..8)
                .prop_map(Action::Events),
            1 => (1u64..12).prop_map(Action::Select),
            1 => prop::collection::vec(1u64..12, 0..4)
                .prop_map(|ids| Action::Events(vec![forgotten(ids)])),
            1 => (any::<bool>(), any::<bool>(), prop_oneof![Just(""), Just("closed"), Just(".1:")])
                .prop_map(|(hide_closed, activity, query)| Action::SetList(ListView {
                    query: query.into(),
                    hide_closed,
                    sort: if activity { Sort::Activity } else { Sort::Opened },
                })),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Totals and indexes kept as connections change are what counting would give.
        #[test]
        fn totals_and_indexes_match_a_recount(actions in prop::collection::vec(action(), 0..30)) {
            let mut s = State::default();
            for a in actions {
                s = reduce(s, a);
                check_indexes(&s);
            }
        }
    }
}

fn held(id: u64, way: protocol::Way, data: &[u8]) -> protocol::HeldMessage {
    protocol::HeldMessage {
        conn: 3,
        id,
        way,
        at: 1_700_000_000_000_000,
        data: data.to_vec(),
        partial: false,
    }
}

#[test]
fn held_messages_are_the_bridges_queue_in_every_page_and_leave_it_once_let_go() {
    use protocol::{Release, Way};
    // A page that opens late gets the queue in the snapshot, in order; then live news of it.
    let s = run(
        State::default(),
        vec![
            Incoming::Event(Event::Hello {
                version: VERSION,
                server: Box::new(server()),
                conns: vec![proxied(ConnState::Open)],
                seq: 2,
                held: vec![
                    held(7, Way::ClientToServer, b"one\n"),
                    held(8, Way::ServerToClient, b"ok\n"),
                ],
            }),
            synced(2),
            Incoming::Event(Event::Held {
                message: held(9, Way::ClientToServer, b"two\n"),
            }),
            Incoming::Event(Event::Released {
                conn: 3,
                id: 7,
                how: Release::Edited,
            }),
            way_rec(
                3,
                Flow::Rx,
                protocol::Marks::PROXIED.with(protocol::Marks::EDITED),
                "ONE\n",
            ),
        ],
    );
    let conv = &s.conns[&3];
    let ids: Vec<u64> = conv.held.iter().map(|m| m.id).collect();
    assert_eq!(ids, [8, 9]);
    assert_eq!(held_count(conv, Way::ClientToServer), (1, 4));
    assert_eq!(held_count(conv, Way::ServerToClient), (1, 3));
    assert_eq!(hold_status(conv, Way::ClientToServer), None, "not full");
    assert_eq!((conv.info.rx_msgs, conv.info.rx_bytes), (1, 4));

    // A dropped message never went: it is shown, not counted.
    let s = run(
        s,
        vec![
            Incoming::Event(Event::Released {
                conn: 3,
                id: 9,
                how: Release::Dropped,
            }),
            way_rec(
                4,
                Flow::Rx,
                protocol::Marks::PROXIED.with(protocol::Marks::DROPPED),
                "two\n",
            ),
        ],
    );
    assert_eq!(
        (s.conns[&3].info.rx_msgs, s.conns[&3].info.rx_bytes),
        (1, 4)
    );
    assert_eq!(s.conns[&3].log.len(), 2);

    // Closed, it holds nothing (the bridge's reason says what never went).
    let s = run(s, vec![conn_event(proxied(ConnState::Closed))]);
    assert!(s.conns[&3].held.is_empty());
}

#[test]
fn a_full_hold_says_its_side_is_not_read() {
    use protocol::Way;
    let mut events = vec![conn_event(proxied(ConnState::Open))];
    for id in 0..protocol::HOLD_MAX_MESSAGES as u64 {
        events.push(Incoming::Event(Event::Held {
            message: held(id + 1, Way::ServerToClient, &[0; 4]),
        }));
    }
    let s = run(synced_page(), events);
    let conv = &s.conns[&3];
    assert_eq!(hold_status(conv, Way::ClientToServer), None);
    assert_eq!(
        hold_status(conv, Way::ServerToClient).as_deref(),
        Some(
            "Holding 256 messages (1.0 KiB) server→client: the server is not read until some \
             are forwarded or dropped."
        )
    );
}

#[test]
fn an_edit_of_a_held_message_is_its_text_or_hex_with_the_checksum_computed_again() {
    use protocol::checksum::Checksum;
    let utf8 = Encoding::Utf8;
    // Text that reads back the same is edited as text; the checksum is left out, and computed
    // again over the edit.
    let mut modbus = b"\x01\x03ab".to_vec();
    Checksum::Crc16Modbus.append(&mut modbus);
    let edit = HeldEdit::start(&modbus, utf8, Some(Checksum::Crc16Modbus));
    assert_eq!(edit.mode, InputMode::Text);
    assert_eq!(edit.text, "\u{1}\u{3}ab");
    assert_eq!(
        edit.bytes(utf8, Some(Checksum::Crc16Modbus)).unwrap(),
        modbus
    );
    let changed = HeldEdit {
        text: "\u{1}\u{3}AB".into(),
        ..edit.clone()
    };
    let mut expected = b"\x01\x03AB".to_vec();
    Checksum::Crc16Modbus.append(&mut expected);
    assert_eq!(
        changed.bytes(utf8, Some(Checksum::Crc16Modbus)).unwrap(),
        expected
    );
    // Bytes that are not text are edited in hex; hex that is not hex cannot go.
    let binary = HeldEdit::start(&[0xff, 0x00, 0x41], utf8, None);
    assert_eq!(binary.mode, InputMode::Hex);
    assert_eq!(binary.text, "ff 00 41");
    assert!(binary.switch(InputMode::Text, utf8).is_err());
    let bad = HeldEdit {
        text: "ff 0g".into(),
        ..binary
    };
    assert!(bad
        .bytes(utf8, None)
        .unwrap_err()
        .contains("not a hex digit"));
    // Text and hex switch both ways, the bytes the same.
    let hex = edit.switch(InputMode::Hex, utf8).unwrap();
    assert_eq!(hex.text, "01 03 61 62");
    assert_eq!(hex.switch(InputMode::Text, utf8).unwrap(), edit);
}

#[test]
fn a_proxied_conversations_ways_read_in_their_own_encodings() {
    let s = run(synced_page(), vec![conn_event(proxied(ConnState::Open))]);
    let s = reduce(s, Action::Select(3));
    let s = reduce(
        s,
        Action::SetEncoding(3, Some(protocol::Way::ServerToClient), Encoding::Gbk),
    );
    let conv = &s.conns[&3];
    assert_eq!(
        (conv.encodings.of(Flow::Rx), conv.encodings.of(Flow::Tx)),
        (Encoding::Utf8, Encoding::Gbk),
        "the server's messages read as GBK, the client's as before"
    );
    assert_eq!(conv.sending_encoding(), Encoding::Gbk, "sent as the server");
    let s = reduce(s, Action::SetToServer(true));
    assert_eq!(
        s.conns[&3].sending_encoding(),
        Encoding::Utf8,
        "sent as the client"
    );
    let s = reduce(
        s,
        Action::SetEncoding(3, Some(protocol::Way::ClientToServer), Encoding::Gb18030),
    );
    assert_eq!(
        s.conns[&3].encodings,
        Encodings {
            rx: Encoding::Gb18030,
            tx: Encoding::Gbk
        }
    );
    let s = reduce(s, Action::SetEncoding(3, None, Encoding::Latin1));
    assert_eq!(
        s.conns[&3].encodings.alike(),
        Some(Encoding::Latin1),
        "both ways"
    );
}

#[test]
fn a_refused_reading_is_forgotten_once_either_side_of_a_pair_is_read_anew() {
    let s = run(synced_page(), vec![conn_event(proxied(ConnState::Open))]);
    let refused = Problem::new(ProblemKind::InvalidSettings, "cannot frame messages so").on(3);
    let s = run(s, vec![Incoming::Event(Event::Error(refused))]);
    assert!(s.settings_problem.is_some());
    // The same conversation, its client read as before: the problem stands.
    let s = run(s, vec![conn_event(proxied(ConnState::Open))]);
    assert!(s.settings_problem.is_some(), "nothing changed");
    // Its server read another way: what was refused is no longer the news.
    let mut framed = proxied(ConnState::Open);
    framed.proxy.as_mut().unwrap().settings.framing = protocol::framing::Framing::Fixed { len: 8 };
    let s = run(s, vec![conn_event(framed)]);
    assert_eq!(s.settings_problem, None);
}
