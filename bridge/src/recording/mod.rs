//! A recording read back (see [`protocol::recording`]), from a file; and what the bridge's
//! subcommands make of it: `pcap` ([`protocol::pcap`]), `replay` and `learn`.

pub mod learn;
pub mod replay;

use std::path::Path;

pub use protocol::pcap;
pub use protocol::recording::*;

/// Reads the file at `path`.
pub fn read_file(path: &Path, skip_bad: bool) -> Result<Recording, ReadError> {
    let text = std::fs::read(path)
        .map_err(|e| ReadError::Io(format!("cannot read {}: {e}", path.display())))?;
    read(&String::from_utf8_lossy(&text), skip_bad)
}
