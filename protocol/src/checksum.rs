//! Checksums a device expects at the end of its messages: the bridge appends one to a rule's
//! reply, and the page previews the bytes a send will carry.
//!
//! Each checksum is sent in the byte order its protocols conventionally use:
//!
//! | name (JSON, TOML)   | what                                   | bytes | order |
//! |---------------------|----------------------------------------|-------|-------|
//! | `crc16_modbus`      | CRC-16/MODBUS (Modbus RTU)             | 2     | low byte first, as Modbus RTU sends it |
//! | `crc16_ccitt_false` | CRC-16/CCITT-FALSE (CRC-16/IBM-3740)   | 2     | high byte first |
//! | `crc32`             | CRC-32/ISO-HDLC (Ethernet, zip, PNG)   | 4     | low byte first, as Ethernet sends its FCS (PNG and zlib write theirs high byte first) |
//! | `xor8`              | XOR of every byte                      | 1     |       |
//! | `sum8`              | sum of every byte, modulo 256          | 1     |       |
//! | `lrc`               | two's complement of the sum mod 256 (Modbus ASCII's LRC, as a byte) | 1 | |
//!
//! The CRCs come from the `crc` crate's catalogue, so their parameters are the published ones.

use crc::{Crc, CRC_16_IBM_3740, CRC_16_MODBUS, CRC_32_ISO_HDLC};
use serde::{Deserialize, Serialize};

const MODBUS: Crc<u16> = Crc::<u16>::new(&CRC_16_MODBUS);
const CCITT_FALSE: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_3740);
const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// A checksum appended to a message. Serialized as its snake_case name, e.g. `"crc16_modbus"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Checksum {
    Crc16Modbus,
    Crc16CcittFalse,
    Crc32,
    Xor8,
    Sum8,
    Lrc,
}

impl Checksum {
    pub const ALL: [Checksum; 6] = [
        Checksum::Crc16Modbus,
        Checksum::Crc16CcittFalse,
        Checksum::Crc32,
        Checksum::Xor8,
        Checksum::Sum8,
        Checksum::Lrc,
    ];

    /// The conventional name, for people: `CRC-16/MODBUS`.
    pub fn label(self) -> &'static str {
        match self {
            Checksum::Crc16Modbus => "CRC-16/MODBUS",
            Checksum::Crc16CcittFalse => "CRC-16/CCITT-FALSE",
            Checksum::Crc32 => "CRC-32",
            Checksum::Xor8 => "XOR-8",
            Checksum::Sum8 => "SUM-8",
            Checksum::Lrc => "LRC",
        }
    }

    /// How many bytes the checksum adds.
    pub fn size(self) -> usize {
        match self {
            Checksum::Crc16Modbus | Checksum::Crc16CcittFalse => 2,
            Checksum::Crc32 => 4,
            Checksum::Xor8 | Checksum::Sum8 | Checksum::Lrc => 1,
        }
    }

    /// The bytes to append to `data`, in the order they are sent (see the module's table).
    pub fn compute(self, data: &[u8]) -> Vec<u8> {
        let sum = || data.iter().fold(0u8, |acc, &b| acc.wrapping_add(b));
        match self {
            Checksum::Crc16Modbus => MODBUS.checksum(data).to_le_bytes().to_vec(),
            Checksum::Crc16CcittFalse => CCITT_FALSE.checksum(data).to_be_bytes().to_vec(),
            Checksum::Crc32 => CRC32.checksum(data).to_le_bytes().to_vec(),
            Checksum::Xor8 => vec![data.iter().fold(0, |acc, &b| acc ^ b)],
            Checksum::Sum8 => vec![sum()],
            Checksum::Lrc => vec![sum().wrapping_neg()],
        }
    }

    /// Appends the checksum of `message` to it.
    pub fn append(self, message: &mut Vec<u8>) {
        let check = self.compute(message);
        message.extend_from_slice(&check);
    }

    /// Whether the last bytes of `message` are the checksum of the bytes before them; `None` when
    /// `message` is shorter than the checksum.
    pub fn verify(self, message: &[u8]) -> Option<bool> {
        let split = message.len().checked_sub(self.size())?;
        let (data, check) = message.split_at(split);
        Some(self.compute(data) == check)
    }
}

impl std::fmt::Display for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECK: &[u8] = b"123456789";

    #[test]
    fn the_crcs_give_the_catalogue_check_values() {
        // The catalogue's check values, as numbers, then in the order each is sent.
        assert_eq!(MODBUS.checksum(CHECK), 0x4B37);
        assert_eq!(CCITT_FALSE.checksum(CHECK), 0x29B1);
        assert_eq!(CRC32.checksum(CHECK), 0xCBF4_3926);
        assert_eq!(Checksum::Crc16Modbus.compute(CHECK), [0x37, 0x4B]);
        assert_eq!(Checksum::Crc16CcittFalse.compute(CHECK), [0x29, 0xB1]);
        assert_eq!(Checksum::Crc32.compute(CHECK), [0x26, 0x39, 0xF4, 0xCB]);
    }

    #[test]
    fn the_byte_checksums_give_their_known_values() {
        // 0x31 ^ 0x32 ^ ... ^ 0x39 = 0x31; 0x31 + ... + 0x39 = 477 = 0x1DD.
        assert_eq!(Checksum::Xor8.compute(CHECK), [0x31]);
        assert_eq!(Checksum::Sum8.compute(CHECK), [0xDD]);
        assert_eq!(Checksum::Lrc.compute(CHECK), [0x23]);
        // Modbus ASCII's own example: read one register of slave 1, LRC 0xFB.
        assert_eq!(
            Checksum::Lrc.compute(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x01]),
            [0xFB]
        );
        assert_eq!(Checksum::Xor8.compute(&[0xFF, 0x0F]), [0xF0]);
        assert_eq!(Checksum::Sum8.compute(&[0xFF, 0x02]), [0x01]);
        assert_eq!(Checksum::Lrc.compute(&[]), [0x00]);
    }

    #[test]
    fn a_modbus_request_gets_its_well_known_crc() {
        // Read 10 holding registers from slave 1: 01 03 00 00 00 0A C5 CD.
        let mut request = vec![0x01, 0x03, 0x00, 0x00, 0x00, 0x0A];
        Checksum::Crc16Modbus.append(&mut request);
        assert_eq!(request, [0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD]);
    }

    #[test]
    fn verify_checks_the_trailing_bytes() {
        for checksum in Checksum::ALL {
            let mut message = b"hello, device".to_vec();
            checksum.append(&mut message);
            assert_eq!(message.len(), 13 + checksum.size(), "{checksum}");
            assert_eq!(checksum.verify(&message), Some(true), "{checksum}");
            *message.last_mut().unwrap() ^= 0x01;
            assert_eq!(checksum.verify(&message), Some(false), "{checksum}");
            assert_eq!(checksum.verify(&message[..checksum.size() - 1]), None);
        }
        // Exactly the checksum's size: the checksum of nothing.
        assert_eq!(Checksum::Sum8.verify(&[0x00]), Some(true));
    }

    #[test]
    fn serialized_as_snake_case_names() {
        let names: Vec<String> = Checksum::ALL
            .iter()
            .map(|c| serde_json::to_string(c).unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "\"crc16_modbus\"",
                "\"crc16_ccitt_false\"",
                "\"crc32\"",
                "\"xor8\"",
                "\"sum8\"",
                "\"lrc\""
            ]
        );
        for checksum in Checksum::ALL {
            let json = serde_json::to_string(&checksum).unwrap();
            assert_eq!(serde_json::from_str::<Checksum>(&json).unwrap(), checksum);
        }
        assert_eq!(Checksum::Crc16CcittFalse.to_string(), "CRC-16/CCITT-FALSE");
    }
}
