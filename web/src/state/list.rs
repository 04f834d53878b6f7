//! The connection list as the user chose to see it: which connections it shows and in what
//! order. The page's own choice: the bridge knows nothing of it.

use protocol::{ConnId, ConnInfo, Origin};

use super::conv::Conv;

/// The order of the connection list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    /// Oldest first, as they opened (by id).
    #[default]
    Opened,
    /// What happened last first.
    Activity,
}

impl Sort {
    pub const ALL: [Sort; 2] = [Sort::Opened, Sort::Activity];

    /// The option's label, also its value in the form.
    pub fn label(self) -> &'static str {
        match self {
            Sort::Opened => "Opened",
            Sort::Activity => "Last activity",
        }
    }

    pub fn from_label(label: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|s| s.label() == label)
    }
}

/// Which connections the list shows, and in what order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListView {
    /// Words that each must match the peer's or the local address (part of it), or a word the
    /// row shows (all of it): the state, the transport, who opened it (`in` or `accepted`, `out`
    /// or `dialled`); in any case: `closed 10.0.0.`, `udp`, `out`.
    pub query: String,
    pub hide_closed: bool,
    pub sort: Sort,
}

/// A row's place in the list: rows are ordered by these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowKey {
    rank: i64,
    pub id: ConnId,
}

impl RowKey {
    /// Where connection `id` goes in an index by address: by a hash of `address`. The same key
    /// type as the rows', so that both indexes share one copy of the table's code.
    pub fn of_address(address: &str, id: ConnId) -> RowKey {
        // FNV-1a: small, and collisions are checked by whoever looks an address up.
        let hash = address.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        RowKey {
            rank: hash as i64,
            id,
        }
    }
}

impl ListView {
    /// Where `conv` goes in the list, or `None` when the list does not show it.
    pub fn key(&self, conv: &Conv) -> Option<RowKey> {
        self.shows(conv).then(|| RowKey {
            rank: match self.sort {
                Sort::Opened => 0,
                Sort::Activity => -conv.last_at,
            },
            id: conv.info.id,
        })
    }

    /// Whether the user narrowed the list (so that it may show fewer than all).
    pub fn narrowed(&self) -> bool {
        self.hide_closed || !self.query.trim().is_empty()
    }

    fn shows(&self, conv: &Conv) -> bool {
        let info = &conv.info;
        if self.hide_closed && info.state == protocol::ConnState::Closed {
            return false;
        }
        self.query.split_whitespace().all(|word| {
            info.state.as_str().eq_ignore_ascii_case(word)
                || info.transport.as_str().eq_ignore_ascii_case(word)
                || conn_words(info)
                    .iter()
                    .any(|w| w.eq_ignore_ascii_case(word))
                || contains_ignoring_case(&info.peer, word)
                || info.proxy.as_deref().is_some_and(|proxy| {
                    contains_ignoring_case(&proxy.target, word)
                        || proxy
                            .server
                            .as_deref()
                            .is_some_and(|server| contains_ignoring_case(server, word))
                })
                || info
                    .local
                    .as_deref()
                    .is_some_and(|local| contains_ignoring_case(local, word))
        })
    }
}

/// The words a row shows for who opened it: its arrow and what the arrow means.
fn origin_words(origin: Origin) -> [&'static str; 2] {
    match origin {
        Origin::Accepted => ["in", origin.as_str()],
        Origin::Dialled => ["out", origin.as_str()],
    }
}

/// The words a row shows for how a connection came to be: who opened it, or, for a proxy's
/// client, that the bridge relays it (`⇄`, `proxied`).
pub fn conn_words(info: &ConnInfo) -> [&'static str; 2] {
    match info.proxy {
        Some(_) => ["⇄", "proxied"],
        None => origin_words(info.origin),
    }
}

/// Whether `needle` is in `haystack`, ASCII letters in either case (addresses are ASCII).
fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{ConnInfo, ConnState};

    fn conv(id: ConnId, peer: &str, state: ConnState, last_at: i64) -> Conv {
        let mut c = Conv::new(ConnInfo {
            local: Some("127.0.0.1:7777".into()),
            ..ConnInfo::new(id, Origin::Accepted, peer.into(), state, 0)
        });
        c.last_at = last_at;
        c
    }

    #[test]
    fn the_filter_matches_addresses_in_part_and_states_whole() {
        let a = conv(1, "10.0.0.5:4000", ConnState::Open, 0);
        let b = conv(2, "Device.local:80", ConnState::Closed, 0);
        let view = |query: &str| ListView {
            query: query.into(),
            ..ListView::default()
        };
        let shown = |v: &ListView| {
            [&a, &b]
                .iter()
                .filter(|c| v.key(c).is_some())
                .map(|c| c.info.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(shown(&view("")), [1, 2]);
        assert_eq!(shown(&view("10.0.0")), [1]);
        assert_eq!(shown(&view("DEVICE")), [2]);
        assert_eq!(shown(&view("closed")), [2]);
        assert_eq!(
            shown(&view("clos")),
            Vec::<ConnId>::new(),
            "a state is matched whole"
        );
        assert_eq!(shown(&view("open :4000")), [1]);
        assert_eq!(shown(&view("open :80")), Vec::<ConnId>::new());
        assert_eq!(
            shown(&view(":7777")),
            [1, 2],
            "the local address counts too"
        );
        let hide = ListView {
            hide_closed: true,
            ..ListView::default()
        };
        assert_eq!(shown(&hide), [1]);
        assert!(hide.narrowed() && view(" x ").narrowed() && !view("  ").narrowed());
        let mut udp = conv(3, "10.0.0.9:53", ConnState::Open, 0);
        udp.info.transport = protocol::Transport::Udp;
        let by_transport = |q: &str| {
            [&a, &udp]
                .iter()
                .filter(|c| view(q).key(c).is_some())
                .map(|c| c.info.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(by_transport("UDP"), [3]);
        assert_eq!(by_transport("tcp"), [1], "TCP is a transport too");
        assert_eq!(by_transport("ud"), Vec::<ConnId>::new(), "matched whole");

        // The words each row shows for who opened it.
        let mut out = conv(4, "10.0.0.7:23", ConnState::Open, 0);
        out.info.origin = Origin::Dialled;
        let by_origin = |q: &str| {
            [&a, &out]
                .iter()
                .filter(|c| view(q).key(c).is_some())
                .map(|c| c.info.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(by_origin("OUT"), [4]);
        assert_eq!(by_origin("dialled"), [4]);
        assert_eq!(by_origin("in"), [1]);
        assert_eq!(by_origin("Accepted open"), [1]);
        assert_eq!(by_origin("dial"), Vec::<ConnId>::new(), "matched whole");
    }

    #[test]
    fn activity_puts_what_happened_last_first() {
        let by = |sort| ListView {
            sort,
            ..ListView::default()
        };
        let (old, new) = (
            conv(1, "a:1", ConnState::Open, 100),
            conv(2, "b:1", ConnState::Open, 200),
        );
        let opened = by(Sort::Opened);
        assert!(opened.key(&old) < opened.key(&new));
        let activity = by(Sort::Activity);
        assert!(activity.key(&new) < activity.key(&old));
        for s in Sort::ALL {
            assert_eq!(Sort::from_label(s.label()), Some(s));
        }
    }
}
