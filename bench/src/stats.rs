//! Medians and percentiles. Every figure the suite prints is the median of several runs, so that
//! one unlucky run (a page-cache flush, a noisy neighbour) does not decide it.

use std::time::Duration;

/// The median of `values` (the mean of the middle two when their number is even).
///
/// Panics on an empty slice: every scenario runs at least once.
pub fn median(values: &[f64]) -> f64 {
    assert!(!values.is_empty(), "median of no values");
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// The `p`-th percentile (0 to 100) of `samples`, by the nearest-rank method: the smallest sample
/// that at least `p` percent of the samples do not exceed.
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    assert!(!samples.is_empty(), "percentile of no samples");
    samples.sort_unstable();
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

/// Bytes per second, in megabytes (10^6 bytes) per second.
pub fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / elapsed.as_secs_f64() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn percentiles() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_micros).collect();
        assert_eq!(percentile(&mut samples, 50.0), Duration::from_micros(50));
        assert_eq!(percentile(&mut samples, 99.0), Duration::from_micros(99));
        assert_eq!(percentile(&mut samples, 100.0), Duration::from_micros(100));
    }
}
