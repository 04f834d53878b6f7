//! The bridge's clock, as records, connections and the transcript stamp time.

use std::time::{SystemTime, UNIX_EPOCH};

use protocol::Micros;

/// The current time, as the protocol counts it.
pub fn now() -> Micros {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as Micros)
}
