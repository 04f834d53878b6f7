//! The connection list as the user chose to see it: which connections it shows and in what
//! order. The page's own choice: the bridge knows nothing of it.

use protocol::ConnId;

use super::conv::Conv;

/// Which connections the list shows, and in what order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListView {}

/// A row's place in the list: rows are ordered by these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowKey {
    rank: i64,
    pub id: ConnId,
}

impl ListView {
    /// Where `conv` goes in the list, or `None` when the list does not show it.
    pub fn key(&self, conv: &Conv) -> Option<RowKey> {
        Some(RowKey {
            rank: 0,
            id: conv.info.id,
        })
    }
}
