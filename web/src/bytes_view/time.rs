//! Timestamps in a time zone, as the page shows them (the calendar maths is the protocol's).

use protocol::time::DateTime;
use protocol::Micros;

/// A timestamp in local time: the clock for the message list and the full date for its title.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalTime {
    /// `HH:MM:SS.mmm`
    pub clock: String,
    /// `YYYY-MM-DD HH:MM:SS.mmm UTC+HH:MM`
    pub full: String,
    /// `YYYY-MM-DDTHH:MM:SS.mmm+HH:MM`, for `<time datetime>`.
    pub machine: String,
}

/// Formats `at` (microseconds since the epoch, UTC) in a zone `offset_minutes` east of UTC.
pub fn format_time(at: Micros, offset_minutes: i32) -> LocalTime {
    let t = DateTime::at(at, offset_minutes);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    let (oh, om) = (off / 60, off % 60);
    let (date, clock) = (t.date(), t.clock_millis());
    LocalTime {
        full: format!("{date} {clock} UTC{sign}{oh:02}:{om:02}"),
        machine: format!("{date}T{clock}{sign}{oh:02}:{om:02}"),
        clock,
    }
}

/// The time between two messages: `+12 ms`, `+1.250 s`, `+3 min 05 s`.
pub fn format_gap(micros: Micros) -> String {
    let ms = micros.max(0) / 1000;
    match ms {
        0..=999 => format!("+{ms} ms"),
        1000..=59_999 => format!("+{}.{:03} s", ms / 1000, ms % 1000),
        _ => format!("+{} min {:02} s", ms / 60_000, ms / 1000 % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_local_with_milliseconds() {
        // 2025-11-24 09:20:01.234567 UTC
        let at = 1_763_976_001_234_567;
        let utc = format_time(at, 0);
        assert_eq!(utc.clock, "09:20:01.234");
        assert_eq!(utc.full, "2025-11-24 09:20:01.234 UTC+00:00");
        assert_eq!(utc.machine, "2025-11-24T09:20:01.234+00:00");
        let tokyo = format_time(at, 9 * 60);
        assert_eq!(tokyo.clock, "18:20:01.234");
        // West of UTC, across midnight and a month boundary.
        let early = format_time(1_764_547_200_000_000, -5 * 60 - 30); // 2025-12-01 00:00 UTC
        assert_eq!(early.full, "2025-11-30 18:30:00.000 UTC-05:30");
        assert_eq!(format_time(0, 0).full, "1970-01-01 00:00:00.000 UTC+00:00");
        assert_eq!(
            format_time(-1000, 0).full,
            "1969-12-31 23:59:59.999 UTC+00:00"
        );
        assert_eq!(
            format_time(951_782_400_000_000, 0).full, // leap day
            "2000-02-29 00:00:00.000 UTC+00:00"
        );
    }

    #[test]
    fn gaps_read_in_their_unit() {
        assert_eq!(format_gap(12_000), "+12 ms");
        assert_eq!(format_gap(1_250_000), "+1.250 s");
        assert_eq!(format_gap(185_000_000), "+3 min 05 s");
    }
}
