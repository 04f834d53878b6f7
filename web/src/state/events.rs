//! What the bridge said, applied to the state: a snapshot, a connection's news, a record, a
//! problem, and the rest of the events, one method each.

use std::rc::Rc;

use protocol::{
    ConnId, ConnInfo, ConnSettings, ConnState, Event, Flow, HeldMessage, Marks, Problem,
    ProblemKind, RecordHeader, Seq, ServerInfo, Transport, Way, VERSION,
};

use super::{Conv, Encodings, Entry, Incoming, Learning, Learnt, Rec, RulesSave, State};
use crate::bytes_view::size::plural;

impl State {
    pub(super) fn apply(&mut self, incoming: Incoming) {
        match incoming {
            Incoming::Event(event) => self.event(event),
            Incoming::Record(rec) => self.record(rec),
            Incoming::FilePart(part) => self.file_part(part),
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Hello {
                version,
                server,
                conns,
                seq,
                held,
            } => {
                self.hello(version, *server, conns, seq);
                for message in held {
                    self.held(message);
                }
            }
            Event::Synced { .. } => self.synced = true,
            Event::Conn { conn } => self.conn(conn),
            Event::Error(problem) if self.listeners.failed(&problem) => {}
            Event::Error(problem) => self.problem(problem),
            Event::Listener {
                listen,
                transport,
                groups,
                fingerprint,
            } => {
                if transport == protocol::Transport::Tcp && listen.is_some() {
                    self.last_listen = listen.clone();
                }
                self.listeners.heard(transport, listen.as_deref());
                if let Some(server) = &mut self.server {
                    server.set_listener(transport, listen, groups, fingerprint);
                }
            }
            Event::Proxies { proxies } => {
                self.listeners.heard_proxies();
                if let Some(server) = &mut self.server {
                    server.proxies = proxies;
                }
            }
            Event::Forgotten { conns } => self.forget(&conns),
            Event::SentToAll { queued, refused } => self.sent_to_all = Some((queued, refused)),
            Event::Defaults { settings } => {
                if let Some(server) = &mut self.server {
                    server.defaults = settings;
                }
                if matches!(self.settings_problem, Some((None, _))) {
                    self.settings_problem = None;
                }
            }
            Event::Rules { rules } => {
                if let Some(server) = &mut self.server {
                    server.rules = rules;
                }
                self.rule_hits.clear();
                self.rules_problem = None;
                // The file no longer holds the rules in force (a save asked for is still
                // awaited: it writes these).
                if matches!(
                    self.rules_save,
                    RulesSave::Saved { .. } | RulesSave::Failed(_)
                ) {
                    self.rules_save = RulesSave::None;
                }
            }
            Event::RulesSaved {
                file,
                rules,
                request,
            } => {
                if matches!(self.rules_save, RulesSave::Saving(r) if Some(r) == request) {
                    self.rules_save = RulesSave::Saved {
                        file: file.into(),
                        rules,
                    };
                }
            }
            Event::Learnt {
                conn,
                rules,
                framing,
                summary,
                elided_msgs,
                elided_bytes,
                request,
            } => {
                if matches!(self.learning, Learning::Asking { request: r, .. } if Some(r) == request)
                {
                    let reading = self.server.as_ref().map(|s| s.defaults.clone());
                    self.learning = Learning::Learnt(Rc::new(Learnt {
                        conn,
                        rules,
                        settings: ConnSettings {
                            framing,
                            ..reading.unwrap_or_default()
                        },
                        summary,
                        elided: (elided_msgs > 0).then_some((elided_msgs, elided_bytes)),
                    }));
                }
            }
            Event::RuleHits { hits } => self.rule_hits = hits,
            Event::File { conn, name, size } => self.file_announced(conn, name, size),
            // Parts handed to the bridge before the stop are still written, and still its own.
            Event::FileStopped { conn } => self.files_stopped(conn, false),
            Event::Held { message } => self.held(message),
            Event::Released { conn, id, .. } => {
                if let Some(conv) = self.conv_mut(conn) {
                    conv.held.retain(|m| m.id != id);
                }
            }
        }
    }

    /// A message the bridge now holds, at the end of its conversation's queue.
    fn held(&mut self, message: HeldMessage) {
        if let Some(conv) = self.conv_mut(message.conn) {
            conv.held.push(Rc::new(message));
        }
    }

    /// A snapshot: drop everything and rebuild from it.
    fn hello(&mut self, version: u32, server: ServerInfo, conns: Vec<ConnInfo>, seq: Seq) {
        if version != VERSION {
            self.notice(format!(
                "The bridge speaks protocol version {version}, this page version {VERSION}: \
                 reload the page, or use a matching bridge."
            ));
        }
        // A bridge names its run; one that does not (an older bridge) is known by its
        // sequence numbers, which only grow within one process: a snapshot that ends before
        // what we already saw comes from a restarted bridge. Either way its connection ids
        // mean something else.
        let same_bridge = match (self.server.as_ref().and_then(|s| s.run), server.run) {
            (Some(was), Some(now)) => was.id == now.id,
            _ => self.last_seq.is_none_or(|last| last <= seq),
        };
        let restart = match &self.server {
            Some(was) if !same_bridge => Some(restart_notice(self.conns.len(), was, &server)),
            _ => None,
        };
        let old = std::mem::take(&mut self.conns);
        let encoding = self.page_encoding.unwrap_or(server.encoding);
        for info in conns {
            let mut conv = Conv::new(info);
            conv.encodings = Encodings::both(encoding);
            if same_bridge {
                if let Some(prev) = old.get(&conv.info.id) {
                    conv.keep_choices_of(prev);
                }
            }
            self.conns.insert(conv.info.id, Rc::new(conv));
        }
        self.fresh = true;
        if server.listen.is_some() {
            self.last_listen = server.listen.clone();
        }
        for (transport, listen) in [
            (Transport::Tls, &server.tls_listen),
            (Transport::Udp, &server.udp_listen),
        ] {
            if listen.is_some() {
                self.listeners.heard(transport, listen.as_deref());
            }
        }
        self.reindex();
        if !same_bridge {
            // Another run of the bridge: its connection ids name other conversations.
            self.notices.retain(|n| n.conn.is_none());
        }
        if let Some(text) = restart {
            // Told once: an earlier restart's notice says nothing more.
            self.notices.retain(|n| !n.text.starts_with(RESTARTED));
            self.notice(text);
        }
        self.unread_after = if same_bridge { self.last_seq } else { None };
        self.snapshot_seq = Some(seq);
        self.last_seq = None;
        self.synced = false;
        // An answer to a save asked on the old socket never comes; one that came holds only
        // while the rules are those it saved.
        let same_rules = self
            .server
            .as_ref()
            .is_some_and(|s| s.rules == server.rules);
        if !(same_bridge && same_rules && matches!(self.rules_save, RulesSave::Saved { .. })) {
            self.rules_save = RulesSave::None;
        }
        // Likewise a simulator being learnt; one learnt is the user's to review still.
        if matches!(self.learning, Learning::Asking { .. }) {
            self.learning = Learning::Failed(
                "The page lost the bridge while it was learning: ask again.".into(),
            );
        }
        self.server = Some(server);
        if !same_bridge
            || self
                .selected
                .is_some_and(|id| !self.conns.contains_key(&id))
        {
            self.selected = None;
        }
        if self.selected.is_none() {
            let newest_open = self
                .conns
                .values()
                .rev()
                .find(|c| c.info.state == ConnState::Open)
                .map(|c| c.info.id);
            if let Some(id) = newest_open {
                self.select(id);
            }
        }
    }

    fn conn(&mut self, info: ConnInfo) {
        let id = info.id;
        let is_new = !self.conns.contains_key(&id);
        let was_open = self
            .conns
            .get(&id)
            .is_some_and(|c| c.info.state == ConnState::Open);
        if self
            .settings_problem
            .as_ref()
            .is_some_and(|(c, _)| *c == Some(id))
            && self.conns.get(&id).is_some_and(|c| {
                // Either side of a proxied conversation read differently.
                [None, Some(Way::ServerToClient)]
                    .into_iter()
                    .any(|way| c.info.settings_of(way) != info.settings_of(way))
            })
        {
            self.settings_problem = None;
        }
        match self.conv_mut(id) {
            Some(conv) => {
                let old = &conv.info;
                // The bridge's counters are right as of this event, but the bridge does not send
                // a `Conn` per record, so ours may be ahead: keep the larger of each.
                let merged = ConnInfo {
                    rx_bytes: old.rx_bytes.max(info.rx_bytes),
                    tx_bytes: old.tx_bytes.max(info.tx_bytes),
                    rx_msgs: old.rx_msgs.max(info.rx_msgs),
                    tx_msgs: old.tx_msgs.max(info.tx_msgs),
                    // A connection's life only moves forward.
                    state: rank_max(old.state, info.state),
                    ..info
                };
                conv.info = merged;
                if conv.info.state == ConnState::Closed {
                    // What it held goes nowhere now (the close reason says so).
                    conv.held.clear();
                    // Nothing more is written to it: a file not yet whole never will be.
                    self.files_stopped(id, true);
                }
            }
            None => {
                let mut conv = Conv::new(info);
                conv.encodings = Encodings::both(self.default_encoding());
                self.insert(conv);
            }
        }
        let conv = &self.conns[&id];
        if conv.info.state == ConnState::Open && !was_open {
            // Its peer is reached: what went wrong with it before is over.
            let peer = conv.info.peer.as_str();
            self.notices
                .retain(|n| n.conn == Some(id) || n.peer.as_deref() != Some(peer));
        }
        let conv = &self.conns[&id];
        let dialled_by_us =
            is_new && conv.info.request.is_some() && conv.info.request == self.pending_dial;
        // A conversation that closed while the user looked at it gives way to a new peer,
        // unless the user chose it once closed.
        let selected_gone = !self.pinned
            && self
                .selected_conv()
                .is_none_or(|c| c.info.state == ConnState::Closed);
        if dialled_by_us {
            self.pending_dial = None;
            self.dialled = Some(id);
            self.select(id);
            self.pinned = false;
        } else if conv.info.state == ConnState::Open
            && (self.selected.is_none() || (!was_open && selected_gone))
        {
            self.select(id);
            self.pinned = false;
        }
        self.follow_dial(id);
    }

    /// Once the conversation this page dialled opens, the caret goes to its composer, if it is
    /// still the one in view; one that fails to open asks for nothing.
    fn follow_dial(&mut self, id: ConnId) {
        if self.dialled != Some(id) {
            return;
        }
        match self.conns[&id].info.state {
            ConnState::Connecting => {}
            ConnState::Open => {
                self.dialled = None;
                if self.selected == Some(id) {
                    self.typing_focus = self.typing_focus.wrapping_add(1);
                }
            }
            ConnState::Closed => self.dialled = None,
        }
    }

    fn record(&mut self, r: Rec) {
        let conn = r.head.conn;
        let Some(missed) = self.arrived(&r.head, r.data.len() as u64) else {
            return;
        };
        // The selected conversation and its other end beside it are in view: nothing unread.
        let in_view = self.selected == Some(conn) || self.twin == Some(conn);
        let limits = self.limits;
        let conv = self.conv_mut(conn).expect("made when it arrived");
        if missed && !in_view && r.head.flow == Flow::Rx {
            conv.unread += 1;
        }
        conv.log.push(Entry::Record(r), limits);
    }

    /// Counts a record (or a file's part) of `len` bytes into its connection, made if the page
    /// did not have it yet. `None` if it was applied already; else whether the page had not
    /// seen it (live, or sent while the page was away), so that it may be unread.
    pub(super) fn arrived(&mut self, head: &RecordHeader, len: u64) -> Option<bool> {
        if self.last_seq.is_some_and(|last| head.seq <= last) {
            return None;
        }
        self.last_seq = Some(head.seq);
        let live = self.snapshot_seq.is_none_or(|snap| head.seq > snap);
        let missed = live || self.unread_after.is_some_and(|after| head.seq > after);
        if !self.conns.contains_key(&head.conn) {
            self.insert(Conv::placeholder(head.conn, head.at));
        }
        let conv = self.conv_mut(head.conn).expect("inserted above");
        // Counters count history once (the snapshot's) and live traffic once (here); what was
        // dropped never went, as the bridge counts it.
        if live && !head.marks.contains(Marks::DROPPED) {
            let (bytes, msgs) = match head.flow {
                Flow::Rx => (&mut conv.info.rx_bytes, &mut conv.info.rx_msgs),
                Flow::Tx => (&mut conv.info.tx_bytes, &mut conv.info.tx_msgs),
            };
            *bytes += len;
            *msgs += 1;
        }
        conv.last_at = conv.last_at.max(head.at);
        Some(missed)
    }

    /// The bridge forgot these connections (closed ones, at a page's request): so does the page.
    fn forget(&mut self, ids: &[ConnId]) {
        for id in ids {
            if self.note(*id) {
                self.conns.remove(id);
            }
        }
        if self
            .selected
            .is_some_and(|id| !self.conns.contains_key(&id))
        {
            self.selected = None;
        }
    }

    /// A problem the bridge reported. Settings and rules it refused are shown where they were
    /// chosen; a send it refused is counted on its connection; the rest are notices.
    fn problem(&mut self, problem: Problem) {
        match problem.kind {
            ProblemKind::InvalidRules => self.rules_problem = Some(Rc::new(problem)),
            ProblemKind::SaveFailed if matches!(self.rules_save, RulesSave::Saving(r) if Some(r) == problem.request) =>
            {
                self.rules_save = RulesSave::Failed(problem.message.into());
            }
            _ if matches!(self.learning, Learning::Asking { request, .. } if Some(request) == problem.request) =>
            {
                self.learning = Learning::Failed(problem.message.into());
            }
            ProblemKind::InvalidSettings => {
                self.settings_problem = Some((problem.conn, problem.message.into()));
            }
            kind => {
                if let (ProblemKind::NotReading, Some(id)) = (kind, problem.conn) {
                    if let Some(conv) = self.conv_mut(id) {
                        conv.refused += 1;
                    }
                }
                self.error(problem.conn, problem.message);
            }
        }
    }

    fn error(&mut self, conn: Option<ConnId>, message: String) {
        if let Some(id) = conn {
            let note_id = self.next_id();
            let limits = self.limits;
            if let Some(conv) = self.conv_mut(id) {
                // A failed dial closes with the same reason: say it once in the conversation.
                if conv.info.close_reason.as_deref() != Some(message.as_str()) {
                    conv.log.push(
                        Entry::Note {
                            id: note_id,
                            text: message.as_str().into(),
                        },
                        limits,
                    );
                }
            }
        }
        self.notice_about(conn, message);
    }
}

/// How the notice of a restart begins.
pub const RESTARTED: &str = "The bridge restarted";

/// What a page that knew `conns` conversations of the bridge's last run is told when the
/// bridge comes back as another run (`was` and `now` say what each said of itself): that it
/// restarted, and what of the last run is gone. Rules read from the bridge's rules file are
/// read again; rules set from a page are not.
fn restart_notice(conns: usize, was: &ServerInfo, now: &ServerInfo) -> String {
    // `the conversation`, `the 3 conversations`.
    let the = |n: usize, what: &str| match n {
        1 => format!("the {what}"),
        n => format!("the {}", plural(n as u64, what)),
    };
    // What is gone, each with how many.
    let mut gone = Vec::new();
    if conns > 0 {
        let what = the(conns, "conversation");
        gone.push((format!("{what} of its last run"), conns));
    }
    let rules = was.rules.len();
    if now.rules_file.is_none() && rules > 0 {
        let what = the(rules, "auto-reply rule");
        gone.push((format!("{what} set from the page"), rules));
    }
    let mut text = String::from(RESTARTED);
    if !gone.is_empty() {
        let verb = if let [(_, 1)] = gone[..] { "is" } else { "are" };
        let what: Vec<&str> = gone.iter().map(|(what, _)| what.as_str()).collect();
        text.push_str(&format!(": {} {verb} gone", what.join(" and ")));
    }
    if let Some(file) = &now.rules_file {
        let rules = plural(now.rules.len() as u64, "rule");
        text.push_str(&format!(
            "{} its auto-reply rules are those of {file} again ({rules})",
            if gone.is_empty() { ":" } else { ";" }
        ));
    }
    text.push('.');
    text
}

fn rank_max(a: ConnState, b: ConnState) -> ConnState {
    let rank = |s| match s {
        ConnState::Connecting => 0,
        ConnState::Open => 1,
        ConnState::Closed => 2,
    };
    if rank(b) >= rank(a) {
        b
    } else {
        a
    }
}
