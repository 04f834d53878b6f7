//! Binary frames: a fixed little-endian header, then the payload bytes, untouched.
//!
//! ```text
//! record   (bridge -> page): tag=0x01 | flow u8 (0 rx, 1 tx) | conn u64 | seq u64 | at i64 | payload
//! transmit (page -> bridge): tag=0x02 | reserved u8 (0)      | to u64 (u64::MAX = all)   | payload
//! ```
//! A fixed header lets the bridge build a frame with a single copy of the payload, and lets a
//! client in any language parse it with a few lines.

use std::fmt;

use bytes::Bytes;

use crate::{ConnId, Flow, Micros, Record, Seq, Target};

pub const TAG_RECORD: u8 = 0x01;
pub const TAG_TRANSMIT: u8 = 0x02;
pub const RECORD_HEADER_LEN: usize = 26;
pub const TRANSMIT_HEADER_LEN: usize = 10;
const TO_ALL: u64 = u64::MAX;

/// Why a frame could not be understood. The message is meant to be shown to whoever sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl DecodeError {
    pub(crate) fn json(err: serde_json::Error) -> Self {
        DecodeError(format!("malformed message: {err}"))
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

/// The header of a [`Record`] frame, without its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    pub conn: ConnId,
    pub seq: Seq,
    pub flow: Flow,
    pub at: Micros,
}

impl RecordHeader {
    /// Writes the header into the first [`RECORD_HEADER_LEN`] bytes of `out`.
    pub fn write(&self, out: &mut [u8]) {
        out[0] = TAG_RECORD;
        out[1] = match self.flow {
            Flow::Rx => 0,
            Flow::Tx => 1,
        };
        out[2..10].copy_from_slice(&self.conn.to_le_bytes());
        out[10..18].copy_from_slice(&self.seq.to_le_bytes());
        out[18..26].copy_from_slice(&self.at.to_le_bytes());
    }

    /// Reads a record frame into its header and payload.
    pub fn read(frame: &[u8]) -> Result<(RecordHeader, &[u8]), DecodeError> {
        if frame.len() < RECORD_HEADER_LEN || frame[0] != TAG_RECORD {
            return Err(DecodeError(format!(
                "not a record frame ({} bytes, tag {:?})",
                frame.len(),
                frame.first()
            )));
        }
        let flow = match frame[1] {
            0 => Flow::Rx,
            1 => Flow::Tx,
            other => return Err(DecodeError(format!("unknown flow {other} in record frame"))),
        };
        let header = RecordHeader {
            conn: u64_at(frame, 2),
            seq: u64_at(frame, 10),
            flow,
            at: u64_at(frame, 18) as i64,
        };
        Ok((header, &frame[RECORD_HEADER_LEN..]))
    }
}

impl Record {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0; RECORD_HEADER_LEN + self.data.len()];
        self.header().write(&mut out);
        out[RECORD_HEADER_LEN..].copy_from_slice(&self.data);
        out
    }

    pub fn decode(frame: &[u8]) -> Result<Record, DecodeError> {
        let (h, data) = RecordHeader::read(frame)?;
        Ok(Record {
            conn: h.conn,
            seq: h.seq,
            flow: h.flow,
            at: h.at,
            data: data.to_vec(),
        })
    }

    pub fn header(&self) -> RecordHeader {
        RecordHeader {
            conn: self.conn,
            seq: self.seq,
            flow: self.flow,
            at: self.at,
        }
    }
}

/// Bytes a client asks the bridge to send, exactly as given: to one open connection, or to all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub to: Target,
    pub data: Bytes,
}

impl Transmit {
    /// The binary frame: a 10-byte header, then the payload.
    pub fn encode(&self) -> Bytes {
        let mut out = Vec::with_capacity(TRANSMIT_HEADER_LEN + self.data.len());
        out.push(TAG_TRANSMIT);
        out.push(0);
        let to = match self.to {
            Target::Conn(id) => id,
            Target::All => TO_ALL,
        };
        out.extend_from_slice(&to.to_le_bytes());
        out.extend_from_slice(&self.data);
        out.into()
    }

    /// Reads a transmit frame; the payload is a slice of `frame`, not a copy.
    pub fn decode(frame: &Bytes) -> Result<Transmit, DecodeError> {
        if frame.len() < TRANSMIT_HEADER_LEN {
            return Err(DecodeError(format!(
                "binary frame of {} bytes is shorter than a send header ({TRANSMIT_HEADER_LEN} bytes)",
                frame.len()
            )));
        }
        if frame[0] != TAG_TRANSMIT {
            return Err(DecodeError(format!(
                "binary frame with tag {:#04x}: the only binary frame a client may send is a send (tag {TAG_TRANSMIT:#04x})",
                frame[0]
            )));
        }
        let to = match u64_at(frame, 2) {
            TO_ALL => Target::All,
            id => Target::Conn(id),
        };
        Ok(Transmit {
            to,
            data: frame.slice(TRANSMIT_HEADER_LEN..),
        })
    }
}

fn u64_at(frame: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(frame[at..at + 8].try_into().expect("8 bytes"))
}
