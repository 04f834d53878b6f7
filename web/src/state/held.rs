//! A proxied conversation's held messages as the page shows them: how much a way holds, what
//! the head says once that is as much as the bridge holds, and an edit of one message (its
//! bytes as text in its way's encoding, or hex; the side's checksum computed again).

use protocol::checksum::Checksum;
use protocol::{is_full, ConnState, Way};

use super::Conv;
use crate::bytes_view::compose::InputMode;
use crate::bytes_view::hex::{hex_line, parse_hex};
use crate::bytes_view::size::{format_size, plural};
use crate::encoding::{Encoding, Segment};

/// How many messages a way holds, and their bytes.
pub fn held_count(conv: &Conv, way: Way) -> (usize, usize) {
    conv.held
        .iter()
        .filter(|m| m.way == way)
        .fold((0, 0), |(n, bytes), m| (n + 1, bytes + m.data.len()))
}

/// Once a way holds as much as the bridge holds, what the head says: that its sender is not
/// read until some are let go.
pub fn hold_status(conv: &Conv, way: Way) -> Option<String> {
    let (messages, bytes) = held_count(conv, way);
    if conv.info.state == ConnState::Closed || !is_full(messages, bytes) {
        return None;
    }
    let sender = match way {
        Way::ClientToServer => "client",
        Way::ServerToClient => "server",
    };
    Some(format!(
        "Holding {} ({}) {}: the {sender} is not read until some are forwarded or dropped.",
        plural(messages as u64, "message"),
        format_size(bytes as u64),
        way.label()
    ))
}

/// A held message being edited: what is typed, read as text or hex. With a checksum, what is
/// typed is the message without it, and the checksum is computed again over the edit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldEdit {
    pub mode: InputMode,
    pub text: String,
}

impl HeldEdit {
    /// An edit of `data`, as it came: text when the encoding reads every byte of it (so that
    /// nothing changes unless typed), else hex.
    pub fn start(data: &[u8], encoding: Encoding, checksum: Option<Checksum>) -> HeldEdit {
        let body = body(data, checksum);
        match as_text(body, encoding) {
            Some(text) => HeldEdit {
                mode: InputMode::Text,
                text,
            },
            None => HeldEdit {
                mode: InputMode::Hex,
                text: hex_line(body),
            },
        }
    }

    /// The same bytes, typed the other way; or why they cannot be (text that is not written
    /// in the encoding, hex that is not hex, bytes the encoding cannot read back).
    pub fn switch(&self, mode: InputMode, encoding: Encoding) -> Result<HeldEdit, String> {
        if mode == self.mode {
            return Ok(self.clone());
        }
        let bytes = self.typed(encoding)?;
        let text = match mode {
            InputMode::Hex => hex_line(&bytes),
            InputMode::Text => as_text(&bytes, encoding).ok_or_else(|| {
                format!(
                    "These bytes are not all text in {}: edit them in hex.",
                    encoding.label()
                )
            })?,
        };
        Ok(HeldEdit { mode, text })
    }

    /// The bytes to forward: what is typed, with the checksum computed again.
    pub fn bytes(&self, encoding: Encoding, checksum: Option<Checksum>) -> Result<Vec<u8>, String> {
        let mut bytes = self.typed(encoding)?;
        if let Some(checksum) = checksum {
            checksum.append(&mut bytes);
        }
        Ok(bytes)
    }

    fn typed(&self, encoding: Encoding) -> Result<Vec<u8>, String> {
        match self.mode {
            InputMode::Text => Ok(encoding.encode(&self.text)?),
            // An empty edit is an empty message: hex input elsewhere asks for a byte.
            InputMode::Hex if self.text.trim().is_empty() => Ok(Vec::new()),
            InputMode::Hex => parse_hex(&self.text),
        }
    }
}

/// A message less its checksum, when it ends with a right one.
fn body(data: &[u8], checksum: Option<Checksum>) -> &[u8] {
    match checksum {
        Some(c) if c.verify(data) == Some(true) => &data[..data.len() - c.size()],
        _ => data,
    }
}

/// Bytes as text, if the encoding reads every one of them and writes them back the same.
fn as_text(bytes: &[u8], encoding: Encoding) -> Option<String> {
    let mut text = String::new();
    for segment in encoding.decode(bytes) {
        match segment {
            Segment::Text(t) => text.push_str(&t),
            Segment::Invalid(_) => return None,
        }
    }
    (encoding.encode(&text).ok()? == bytes).then_some(text)
}
