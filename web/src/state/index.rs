//! The totals and indexes the page keeps up to date as connections change, rather than walking
//! every connection to count them: how many are in each state, unread messages, the list's
//! rows, and connections by peer address (to find the other end of one). Every change to a
//! connection goes through [`State::conv_mut`], which notes what the connection was, and
//! [`State::settle`] brings the totals and indexes along once per action.

use std::rc::Rc;

use protocol::{ConnId, ConnState};

use super::{Conv, RowKey, State, Table};

/// How many connections are in each state, and the unread messages of all of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub connecting: usize,
    pub open: usize,
    pub closed: usize,
    pub unread: u64,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.connecting + self.open + self.closed
    }

    pub(super) fn add(&mut self, conv: &Conv, sign: i64) {
        let n = match conv.info.state {
            ConnState::Connecting => &mut self.connecting,
            ConnState::Open => &mut self.open,
            ConnState::Closed => &mut self.closed,
        };
        *n = n.wrapping_add_signed(sign as isize);
        self.unread = self
            .unread
            .wrapping_add_signed(sign * i64::from(conv.unread));
    }
}

/// What the totals and indexes hold about a connection, noted before an action changes it.
#[derive(Clone, Debug)]
pub(super) struct Indexed {
    pub(super) conv: Rc<Conv>,
    pub(super) row: Option<RowKey>,
}

impl State {
    pub fn open_count(&self) -> usize {
        self.counts.open
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// The other end of `conv` when the bridge holds both (it dialled its own listener): the
    /// connection whose peer is this one's local address, and the other way round.
    pub fn twin_of(&self, conv: &Conv) -> Option<&Rc<Conv>> {
        let local = conv.info.local.as_ref()?;
        let first = RowKey::of_address(local, 0);
        self.by_peer
            .range_from(&first)
            .take_while(|(key, _)| RowKey::of_address(local, key.id) == **key)
            .filter_map(|(key, _)| self.conns.get(&key.id))
            .find(|c| {
                c.info.id != conv.info.id
                    && &c.info.peer == local
                    && c.info.local.as_ref() == Some(&conv.info.peer)
            })
    }

    /// that [`State::settle`] knows what the totals and indexes counted it as.
    pub(super) fn conv_mut(&mut self, id: ConnId) -> Option<&mut Conv> {
        self.note(id);
        self.conns.get_mut(&id).map(Rc::make_mut)
    }

    /// Notes what the totals and indexes count connection `id` as, before it changes (once
    /// per action). Whether there is such a connection.
    pub(super) fn note(&mut self, id: ConnId) -> bool {
        let Some(conv) = self.conns.get(&id) else {
            return false;
        };
        if !self.changed.contains_key(&id) {
            let row = self.list.key(conv);
            let conv = conv.clone();
            self.changed.insert(id, Some(Indexed { conv, row }));
        }
        true
    }

    /// Adds a connection the page did not have.
    pub(super) fn insert(&mut self, conv: Conv) {
        let id = conv.info.id;
        self.changed.entry(id).or_insert(None);
        self.conns.insert(id, Rc::new(conv));
    }

    /// Brings the totals and indexes up to date with what this action changed, and finds the
    /// other end of the selected connection, which is in view and so has nothing unread.
    pub(super) fn settle(&mut self) {
        self.settle_indexes();
        let twin = self
            .selected_conv()
            .and_then(|sel| self.twin_of(sel))
            .map(|c| c.info.id);
        self.twin = twin;
        if let Some(id) = twin {
            if self.conns[&id].unread > 0 {
                if let Some(conv) = self.conv_mut(id) {
                    conv.unread = 0;
                }
                self.settle_indexes();
            }
        }
    }

    fn settle_indexes(&mut self) {
        for (id, before) in std::mem::take(&mut self.changed) {
            let after = self.conns.get(&id).cloned();
            if let Some(before) = &before {
                self.counts.add(&before.conv, -1);
            }
            if let Some(after) = &after {
                self.counts.add(after, 1);
            }
            let row = after.as_ref().and_then(|c| self.list.key(c));
            let old_row = before.as_ref().and_then(|b| b.row);
            if row != old_row {
                if let Some(old) = old_row {
                    self.rows.remove(&old);
                }
                if let Some(new) = row {
                    self.rows.insert(new, ());
                }
            }
            let old_peer = before.as_ref().map(|b| &b.conv.info.peer);
            let peer = after.as_ref().map(|c| &c.info.peer);
            if old_peer != peer {
                if let Some(old) = old_peer {
                    self.by_peer.remove(&RowKey::of_address(old, id));
                }
                if let Some(new) = peer {
                    self.by_peer.insert(RowKey::of_address(new, id), ());
                }
            }
        }
    }

    /// Counts and indexes every connection afresh: after a snapshot, or when the list is shown
    /// another way. The only places that walk them all.
    pub(super) fn reindex(&mut self) {
        self.changed.clear();
        self.counts = Counts::default();
        self.by_peer = Table::default();
        for (id, conv) in self.conns.iter() {
            self.counts.add(conv, 1);
            self.by_peer
                .insert(RowKey::of_address(&conv.info.peer, *id), ());
        }
        self.rebuild_rows();
    }

    pub(super) fn rebuild_rows(&mut self) {
        self.rows = Table::default();
        for conv in self.conns.values() {
            if let Some(row) = self.list.key(conv) {
                self.rows.insert(row, ());
            }
        }
        // The rows now hold what connections changed earlier in this action are: note that.
        for (id, before) in self.changed.iter_mut() {
            if let Some(before) = before {
                before.row = self.conns.get(id).and_then(|c| self.list.key(c));
            }
        }
    }
}
