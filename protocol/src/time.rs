//! Timestamps as text, without a calendar library: the protocol's microseconds since the Unix
//! epoch, as RFC 3339 in UTC (what the transcript and the page's downloads write) or in a time
//! zone the page knows the offset of.

use crate::Micros;

/// A calendar date and time of day, in some time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub micros: u32,
}

impl DateTime {
    /// `at` in a zone `offset_minutes` east of UTC.
    pub fn at(at: Micros, offset_minutes: i32) -> DateTime {
        let local = at + i64::from(offset_minutes) * 60_000_000;
        let days = local.div_euclid(86_400_000_000);
        let of_day = local.rem_euclid(86_400_000_000);
        let (year, month, day) = civil_from_days(days);
        let seconds = of_day / 1_000_000;
        DateTime {
            year,
            month,
            day,
            hour: (seconds / 3600) as u32,
            minute: (seconds / 60 % 60) as u32,
            second: (seconds % 60) as u32,
            micros: (of_day % 1_000_000) as u32,
        }
    }

    /// `YYYY-MM-DD`.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `HH:MM:SS.mmm`.
    pub fn clock_millis(&self) -> String {
        format!(
            "{:02}:{:02}:{:02}.{:03}",
            self.hour,
            self.minute,
            self.second,
            self.micros / 1000
        )
    }
}

/// `2026-11-24T20:11:32.103412Z`: RFC 3339, UTC, to the microsecond.
pub fn rfc3339_micros(at: Micros) -> String {
    let t = DateTime::at(at, 0);
    format!(
        "{}T{:02}:{:02}:{:02}.{:06}Z",
        t.date(),
        t.hour,
        t.minute,
        t.second,
        t.micros
    )
}

/// The time `rfc3339_micros` wrote (`2026-11-24T20:11:32.103412Z`), back to microseconds; also
/// with fewer or no fraction digits. `None` for anything else.
pub fn parse_rfc3339_micros(text: &str) -> Option<Micros> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(range)?;
        (!digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()))
            .then(|| digits.parse().ok())?
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let rest = text.get(19..)?;
    let fraction = rest.strip_suffix('Z')?;
    let micros = match fraction.strip_prefix('.') {
        None if fraction.is_empty() => 0,
        Some(digits) if (1..=6).contains(&digits.len()) => {
            num(20..20 + digits.len())? * 10_i64.pow(6 - digits.len() as u32)
        }
        _ => return None,
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    Some(((days * 86_400 + hour * 3600 + minute * 60 + second) * 1_000_000) + micros)
}

/// A (year, month, day) in the proleptic Gregorian calendar to days since 1970-01-01 (Howard
/// Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to a (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_and_zones() {
        assert_eq!(
            rfc3339_micros(1_700_000_000_123_456),
            "2023-11-14T22:13:20.123456Z"
        );
        assert_eq!(rfc3339_micros(0), "1970-01-01T00:00:00.000000Z");
        // Before the epoch, and a leap day.
        assert_eq!(rfc3339_micros(-1), "1969-12-31T23:59:59.999999Z");
        assert_eq!(
            rfc3339_micros(951_782_400_000_000),
            "2000-02-29T00:00:00.000000Z"
        );
        for at in [
            1_700_000_000_123_456,
            0,
            -1,
            951_782_400_000_000,
            4_102_444_799_999_999,
        ] {
            assert_eq!(parse_rfc3339_micros(&rfc3339_micros(at)), Some(at));
        }
        assert_eq!(
            parse_rfc3339_micros("2023-11-14T22:13:20Z"),
            Some(1_700_000_000_000_000)
        );
        assert_eq!(
            parse_rfc3339_micros("2023-11-14T22:13:20.5Z"),
            Some(1_700_000_000_500_000)
        );
        for bad in [
            "",
            "2023-11-14",
            "2023-11-14T22:13:20.1234567Z",
            "2023-13-14T22:13:20Z",
            "2023-11-14T22:13:20+01:00",
        ] {
            assert_eq!(parse_rfc3339_micros(bad), None, "{bad}");
        }
        // Shanghai, eight hours east: past midnight there.
        let t = DateTime::at(1_700_000_000_123_456, 8 * 60);
        assert_eq!(
            (t.date(), t.clock_millis()),
            ("2023-11-15".into(), "06:13:20.123".into())
        );
    }
}
