//! The page's text encodings are the protocol's: one type for the page, the bridge's default
//! (`--encoding`) and the auto-reply rules. Decoding keeps every byte; encoding never guesses.

pub use protocol::text_encoding::{Segment, TextEncoding as Encoding};
