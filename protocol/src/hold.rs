//! Holding a proxied conversation's messages: while a way's *hold* is on, each message from
//! that way's sender stops in the bridge and waits until a client forwards it (as it came, or
//! edited), or drops it. What the bridge holds, how much it may hold, and how a message left.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::conn::{ConnId, Micros, Way};

/// A held message, by the id the bridge gave it (unique in the bridge's run).
pub type HeldId = u64;

/// The most messages a way holds: past it, its sender is not read until some are forwarded or
/// dropped (its TCP keeps the bytes, and tells it to wait).
pub const HOLD_MAX_MESSAGES: usize = 256;
/// The most bytes a way holds, as for [`HOLD_MAX_MESSAGES`]. A message is held whole whatever
/// its size (at most one read, 64 KiB, or one framed message), so a way may hold a little more.
pub const HOLD_MAX_BYTES: usize = 1024 * 1024;

/// Whether a way that holds `messages` messages of `bytes` bytes in all is full: its sender is
/// not read until some leave. The bridge and its clients decide it the same way.
pub fn is_full(messages: usize, bytes: usize) -> bool {
    messages >= HOLD_MAX_MESSAGES || bytes >= HOLD_MAX_BYTES
}

/// A message a proxied conversation holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldMessage {
    pub conn: ConnId,
    pub id: HeldId,
    /// The way it goes: its sender is the side that said it.
    pub way: Way,
    /// When the bridge read it.
    pub at: Micros,
    /// Its bytes, as the side said them; in JSON, hex digits (two a byte).
    #[serde(serialize_with = "to_hex", deserialize_with = "from_hex")]
    pub data: Vec<u8>,
    /// Not a whole message: the part of one longer than the framing allows, or what had come
    /// of one when its sender closed or the framing changed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub partial: bool,
}

/// How a held message left the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Release {
    /// Forwarded as it came.
    Forwarded,
    /// Forwarded as a client edited it.
    Edited,
    /// Dropped: never sent.
    Dropped,
}

/// Whether messages each way of a proxied conversation are held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holds {
    #[serde(default, skip_serializing_if = "is_false")]
    pub client_to_server: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub server_to_client: bool,
}

impl Holds {
    pub fn get(self, way: Way) -> bool {
        match way {
            Way::ClientToServer => self.client_to_server,
            Way::ServerToClient => self.server_to_client,
        }
    }

    pub fn set(&mut self, way: Way, on: bool) {
        match way {
            Way::ClientToServer => self.client_to_server = on,
            Way::ServerToClient => self.server_to_client = on,
        }
    }

    pub fn is_none(&self) -> bool {
        !self.client_to_server && !self.server_to_client
    }
}

fn is_false(b: &bool) -> bool {
    !b
}

fn to_hex<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::hex::encode(data))
}

fn from_hex<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let digits = String::deserialize(d)?;
    crate::hex::decode(&digits).ok_or_else(|| serde::de::Error::custom("not hex digits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_messages_or_bytes() {
        assert!(!is_full(0, 0));
        assert!(!is_full(HOLD_MAX_MESSAGES - 1, HOLD_MAX_BYTES - 1));
        assert!(is_full(HOLD_MAX_MESSAGES, 0));
        assert!(is_full(1, HOLD_MAX_BYTES));
    }

    #[test]
    fn a_held_message_carries_its_bytes_as_hex() {
        let held = HeldMessage {
            conn: 3,
            id: 7,
            way: Way::ClientToServer,
            at: 1,
            data: b"GET\n".to_vec(),
            partial: false,
        };
        let json = serde_json::to_string(&held).unwrap();
        assert_eq!(
            json,
            r#"{"conn":3,"id":7,"way":"client_to_server","at":1,"data":"4745540a"}"#
        );
        assert_eq!(serde_json::from_str::<HeldMessage>(&json).unwrap(), held);
    }
}
