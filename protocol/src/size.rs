//! Sizes and byte counts as people read them, the same in the bridge's messages and on the page:
//! binary units, spelled as such (`KiB`, `MiB`), since they are powers of 1024.

/// Binary units above bytes.
const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];

/// A size for people: `0 B`, `1023 B`, then one decimal in the largest unit it reaches: `1.5 KiB`,
/// `4.0 MiB`, `19.1 MiB` (20,000,000 bytes).
pub fn format_size(n: u64) -> String {
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    // Rounded to one decimal, 1023.96 KiB would read 1024.0 KiB: that is 1.0 MiB.
    while value >= 1023.95 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// An exact byte count: `1 byte`, `2 bytes`, `1,000 bytes`.
pub fn byte_count(n: u64) -> String {
    if n == 1 {
        "1 byte".into()
    } else {
        format!("{} bytes", grouped(n))
    }
}

/// A count with its thousands grouped: `10,000`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_size(20 * 1024), "20.0 KiB");
        assert_eq!(format_size(64 << 10), "64.0 KiB");
        assert_eq!(format_size(4 << 20), "4.0 MiB");
        assert_eq!(format_size((4 << 20) - 1), "4.0 MiB");
        assert_eq!(format_size((1 << 20) - 1), "1.0 MiB");
        assert_eq!(format_size(20_000_000), "19.1 MiB");
        assert_eq!(format_size(3 << 30), "3.0 GiB");
        assert_eq!(format_size(u64::MAX), "16777216.0 TiB");
    }

    #[test]
    fn counts_are_exact() {
        assert_eq!(byte_count(1), "1 byte");
        assert_eq!(byte_count(0), "0 bytes");
        assert_eq!(byte_count(1000), "1,000 bytes");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(10_000), "10,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
