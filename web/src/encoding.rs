//! The page's text encodings are the protocol's: one type for the page, the bridge's default
//! (`--encoding`) and the auto-reply rules. Decoding keeps every byte; encoding never guesses.

pub use protocol::text_encoding::{Segment, TextEncoding as Encoding};

/// Reads bytes as GB18030 with the browser's own decoder, which the protocol's GBK and GB18030
/// build their index from: the page need not download the tables the browser already has.
pub fn browser_gb18030(bytes: &[u8]) -> String {
    web_sys::TextDecoder::new_with_label("gb18030")
        .and_then(|decoder| decoder.decode_with_u8_array(bytes))
        .expect("every browser reads GB18030 (the Encoding Standard requires it)")
}
