//! The wire protocol between the bridge and its web page (or any other client).
//!
//! One WebSocket carries two kinds of frames:
//! - **text frames** hold JSON control messages: [`Command`] from the page, [`Event`] from the bridge,
//!   tagged by a `"type"` field;
//! - **binary frames** hold payload bytes, so that any byte sequence round-trips exactly and costs
//!   no encoding: a [`Record`] from the bridge (bytes received from or sent to a TCP peer) and a
//!   send request from the page.
//!
//! `PROTOCOL.md` at the repository root describes the same thing for people writing their own client.

pub mod address;
mod binary;
pub mod checksum;
pub mod framing;
pub mod hex;
pub mod jsonl;
mod message;
pub mod rules;
pub mod template;
pub mod text_encoding;
pub mod time;

pub use binary::{
    decode_send, encode_send, DecodeError, RecordHeader, SendHeader, RECORD_HEADER_LEN,
    SEND_HEADER_LEN, TAG_RECORD, TAG_SEND,
};
pub use message::*;

/// The protocol version. The bridge announces it in [`Event::Hello`]; a client that does not know it
/// should say so rather than guess.
pub const VERSION: u32 = 1;

/// What one WebSocket frame carries, independent of any WebSocket library.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Text(String),
    Binary(Vec<u8>),
}

impl Event {
    /// Encodes this event as the frame the bridge sends for it.
    pub fn to_frame(&self) -> Frame {
        match self {
            Event::Record(record) => Frame::Binary(record.encode()),
            other => Frame::Text(serde_json::to_string(other).expect("events always serialize")),
        }
    }

    /// Decodes a frame sent by the bridge.
    pub fn from_frame(frame: &Frame) -> Result<Event, DecodeError> {
        match frame {
            Frame::Text(text) => serde_json::from_str(text).map_err(DecodeError::json),
            Frame::Binary(bytes) => Record::decode(bytes).map(Event::Record),
        }
    }
}

impl Command {
    /// Encodes this command as the frame the page sends for it.
    pub fn to_frame(&self) -> Frame {
        match self {
            Command::Send { to, data } => Frame::Binary(encode_send(*to, data)),
            other => Frame::Text(serde_json::to_string(other).expect("commands always serialize")),
        }
    }

    /// Decodes a frame sent by a client.
    pub fn from_frame(frame: &Frame) -> Result<Command, DecodeError> {
        match frame {
            Frame::Text(text) => Command::from_json(text),
            Frame::Binary(bytes) => {
                let (header, data) = decode_send(bytes)?;
                Ok(Command::Send {
                    to: header.to,
                    data: data.to_vec(),
                })
            }
        }
    }

    /// Decodes a JSON control command (a text frame).
    pub fn from_json(text: &str) -> Result<Command, DecodeError> {
        serde_json::from_str(text).map_err(DecodeError::json)
    }
}

#[cfg(test)]
mod tests;
