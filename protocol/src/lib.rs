//! The wire protocol between the bridge and its web page (or any other client).
//!
//! One WebSocket carries two kinds of frames:
//! - **text frames** hold JSON control messages: [`Command`] from the page, [`Event`] from the
//!   bridge, tagged by a `"type"` field;
//! - **binary frames** hold payload bytes, so that any byte sequence round-trips exactly and costs
//!   no encoding: a [`Record`] from the bridge (bytes received from or sent to a TCP peer) and a
//!   [`Transmit`] from the page (bytes to send).
//!
//! [`ToBridge`] and [`ToClient`] are everything each side sends, one frame each.
//!
//! `PROTOCOL.md` at the repository root describes the same thing for people writing their own client.

pub mod address;
mod binary;
pub mod checksum;
mod command;
mod conn;
pub mod escape;
mod event;
pub mod framing;
pub mod gb18030;
pub mod hex;
mod hold;
pub mod jsonl;
#[cfg(feature = "pcap")]
pub mod pcap;
pub mod recording;
pub mod rules;
pub mod size;
pub mod template;
pub mod text_encoding;
pub mod time;
pub mod tls;

pub use binary::{
    record_payload_len, DecodeError, RecordHeader, RecordParts, Transmit, RECORD_HEADER_LEN,
    TAG_RECORD, TAG_TRANSMIT, TRANSMIT_HEADER_LEN,
};
pub use bytes::Bytes;
pub use command::*;
pub use conn::*;
pub use event::*;
pub use hold::*;

/// The protocol version. The bridge announces it in [`Event::Hello`]; a client that does not know it
/// should say so rather than guess. Version 2 gave records their marks and the id of the rule
/// that sent them (two header bytes, and the id after the payload); version 3 named the dial
/// command `dial`, and made `listen_problem` a [`Problem`] whose facts are fields.
pub const VERSION: u32 = 3;

/// What one WebSocket frame carries, independent of any WebSocket library. A binary frame's bytes
/// are shared, so that the bridge encodes a record once for every page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Text(String),
    Binary(Bytes),
}

/// Everything a client sends the bridge: a command (a text frame) or bytes to send (a binary one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToBridge {
    Command(Command),
    Transmit(Transmit),
}

/// Everything the bridge sends a client: an event (a text frame) or a record (a binary one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToClient {
    Event(Event),
    Record(Record),
}

impl ToBridge {
    pub fn to_frame(&self) -> Frame {
        match self {
            ToBridge::Command(command) => command.to_frame(),
            ToBridge::Transmit(transmit) => Frame::Binary(transmit.encode()),
        }
    }

    /// Decodes a frame sent by a client; a binary frame's payload stays a slice of it.
    pub fn from_frame(frame: &Frame) -> Result<ToBridge, DecodeError> {
        match frame {
            Frame::Text(text) => Command::from_json(text).map(ToBridge::Command),
            Frame::Binary(bytes) => Transmit::decode(bytes).map(ToBridge::Transmit),
        }
    }
}

impl ToClient {
    pub fn to_frame(&self) -> Frame {
        match self {
            ToClient::Event(event) => event.to_frame(),
            ToClient::Record(record) => Frame::Binary(record.encode().into()),
        }
    }

    /// Decodes a frame sent by the bridge.
    pub fn from_frame(frame: &Frame) -> Result<ToClient, DecodeError> {
        match frame {
            Frame::Text(text) => Event::from_json(text).map(ToClient::Event),
            Frame::Binary(bytes) => Record::decode(bytes).map(ToClient::Record),
        }
    }
}

impl Event {
    /// The text frame the bridge sends for this event.
    pub fn to_frame(&self) -> Frame {
        Frame::Text(serde_json::to_string(self).expect("events always serialize"))
    }

    /// Decodes a JSON event (a text frame).
    pub fn from_json(text: &str) -> Result<Event, DecodeError> {
        serde_json::from_str(text).map_err(DecodeError::json)
    }
}

impl Command {
    /// The text frame a client sends for this command.
    pub fn to_frame(&self) -> Frame {
        Frame::Text(serde_json::to_string(self).expect("commands always serialize"))
    }

    /// Decodes a JSON control command (a text frame).
    pub fn from_json(text: &str) -> Result<Command, DecodeError> {
        serde_json::from_str(text).map_err(DecodeError::json)
    }
}

#[cfg(test)]
mod tests;
