//! Binary frames: a fixed little-endian header, then the payload bytes, untouched.
//!
//! ```text
//! record   (bridge -> page): tag=0x01 | flow u8 | marks u8 | rule_len u8 | conn u64 | seq u64 | at i64
//!                            | payload | rule id (rule_len bytes, UTF-8)
//! transmit (page -> bridge): tag=0x02 | flags u8 (bit 0 file, bit 1 broadcast, bit 2 to the
//!                            server) | to u64 (MAX: all)
//!                            | payload
//! ```
//! A fixed header lets the bridge build a frame with a single copy of the payload, and lets a
//! client in any language parse it with a few lines. The rule id of a record that a rule sent
//! comes after the payload, so that the header stays fixed and a received record needs no copy.

use std::fmt;

use bytes::Bytes;

use crate::{ConnId, Flow, Marks, Micros, Record, Seq, Target};

pub const TAG_RECORD: u8 = 0x01;
pub const TAG_TRANSMIT: u8 = 0x02;
/// The flags a send may set: file, broadcast and to the server; the other bits are reserved,
/// and refused.
const TRANSMIT_FLAGS: u8 = 0b111;
pub const RECORD_HEADER_LEN: usize = 28;
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
    pub marks: Marks,
}

/// A record frame, read: its header, its payload, and the rule that sent it, if one did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordParts<'a> {
    pub header: RecordHeader,
    pub payload: &'a [u8],
    pub rule: Option<&'a str>,
}

impl RecordHeader {
    /// Writes the header into the first [`RECORD_HEADER_LEN`] bytes of `out`, for a frame that
    /// ends with a rule id of `rule_len` bytes (0: no rule sent it).
    pub fn write(&self, out: &mut [u8], rule_len: u8) {
        out[0] = TAG_RECORD;
        out[1] = match self.flow {
            Flow::Rx => 0,
            Flow::Tx => 1,
        };
        out[2] = self.marks.0;
        out[3] = rule_len;
        out[4..12].copy_from_slice(&self.conn.to_le_bytes());
        out[12..20].copy_from_slice(&self.seq.to_le_bytes());
        out[20..28].copy_from_slice(&self.at.to_le_bytes());
    }

    /// Reads the header from the first [`RECORD_HEADER_LEN`] bytes of a record frame, and how
    /// long the rule id at the frame's end is.
    pub fn read_head(head: &[u8]) -> Result<(RecordHeader, usize), DecodeError> {
        if head.len() < RECORD_HEADER_LEN || head[0] != TAG_RECORD {
            return Err(DecodeError(format!(
                "not a record frame ({} bytes, tag {:?})",
                head.len(),
                head.first()
            )));
        }
        let flow = match head[1] {
            0 => Flow::Rx,
            1 => Flow::Tx,
            other => return Err(DecodeError(format!("unknown flow {other} in record frame"))),
        };
        let header = RecordHeader {
            conn: u64_at(head, 4),
            seq: u64_at(head, 12),
            flow,
            at: u64_at(head, 20) as i64,
            marks: Marks(head[2]),
        };
        Ok((header, usize::from(head[3])))
    }

    /// Reads a whole record frame.
    pub fn read(frame: &[u8]) -> Result<RecordParts<'_>, DecodeError> {
        let (header, rule_len) = Self::read_head(frame)?;
        let Some(end) = frame
            .len()
            .checked_sub(rule_len)
            .filter(|&end| end >= RECORD_HEADER_LEN)
        else {
            return Err(DecodeError(format!(
                "a record frame of {} bytes cannot end with a rule id of {rule_len}",
                frame.len()
            )));
        };
        let rule = match rule_len {
            0 => None,
            _ => Some(
                std::str::from_utf8(&frame[end..])
                    .map_err(|_| DecodeError("a record frame's rule id is not UTF-8".into()))?,
            ),
        };
        Ok(RecordParts {
            header,
            payload: &frame[RECORD_HEADER_LEN..end],
            rule,
        })
    }
}

/// The payload's length in a record frame the bridge wrote.
pub fn record_payload_len(frame: &[u8]) -> usize {
    let rule_len = frame.get(3).map_or(0, |&n| usize::from(n));
    frame.len().saturating_sub(RECORD_HEADER_LEN + rule_len)
}

impl Record {
    pub fn encode(&self) -> Vec<u8> {
        let rule = self.rule.as_deref().unwrap_or_default().as_bytes();
        let rule_len = u8::try_from(rule.len()).expect("rule ids are at most 64 bytes");
        let mut out = vec![0; RECORD_HEADER_LEN];
        self.header().write(&mut out, rule_len);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(rule);
        out
    }

    pub fn decode(frame: &[u8]) -> Result<Record, DecodeError> {
        let RecordParts {
            header: h,
            payload,
            rule,
        } = RecordHeader::read(frame)?;
        Ok(Record {
            conn: h.conn,
            seq: h.seq,
            flow: h.flow,
            at: h.at,
            marks: h.marks,
            rule: rule.map(str::to_owned),
            data: payload.to_vec(),
        })
    }

    pub fn header(&self) -> RecordHeader {
        RecordHeader {
            conn: self.conn,
            seq: self.seq,
            flow: self.flow,
            at: self.at,
            marks: self.marks,
        }
    }
}

/// Bytes a client asks the bridge to send, exactly as given: to one open connection, or to all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub to: Target,
    /// Part of a file being sent: the records it makes are marked so ([`Marks::FILE`]).
    pub file: bool,
    /// UDP: this datagram may go to a broadcast address (the socket allows it for this send).
    pub broadcast: bool,
    /// A proxied conversation: to its server, as if from the client, rather than to its
    /// client (its peer), as if from the server.
    pub to_server: bool,
    pub data: Bytes,
}

impl Transmit {
    /// The binary frame: a 10-byte header, then the payload.
    pub fn encode(&self) -> Bytes {
        let mut out = Vec::with_capacity(TRANSMIT_HEADER_LEN + self.data.len());
        out.push(TAG_TRANSMIT);
        out.push(
            u8::from(self.file) | u8::from(self.broadcast) << 1 | u8::from(self.to_server) << 2,
        );
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
        if frame[1] & !TRANSMIT_FLAGS != 0 {
            return Err(DecodeError(format!(
                "a send's flags {:#010b} set reserved bits: only bit 0 (file), bit 1 \
                 (broadcast) and bit 2 (to the server) mean something; nothing was sent",
                frame[1]
            )));
        }
        let to = match u64_at(frame, 2) {
            TO_ALL => Target::All,
            id => Target::Conn(id),
        };
        Ok(Transmit {
            to,
            file: frame[1] & 1 != 0,
            broadcast: frame[1] & 2 != 0,
            to_server: frame[1] & 4 != 0,
            data: frame.slice(TRANSMIT_HEADER_LEN..),
        })
    }
}

fn u64_at(frame: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(frame[at..at + 8].try_into().expect("8 bytes"))
}
