//! Sizes and counts, as people read them: sizes and exact byte counts are the protocol's
//! ([`protocol::size`]), as the bridge writes them in its messages.

pub use protocol::size::{byte_count, format_size};

/// `1 message`, `2 messages`: a count and its noun, for words that take an `s`.
pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_their_plural() {
        assert_eq!(plural(1, "message"), "1 message");
        assert_eq!(plural(0, "message"), "0 messages");
        assert_eq!(plural(12, "connection"), "12 connections");
    }
}
