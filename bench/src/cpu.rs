//! CPU time a process has spent, from `/proc`: what a relay costs per byte, a figure that a busy
//! machine barely moves, where throughput and round trips move with everything else running.
//!
//! Each thread's `/proc/PID/task/TID/schedstat` gives its time on a CPU in nanoseconds; their sum
//! is the process's. (`/proc/PID/stat` counts in clock ticks, 10 ms each: too coarse for a
//! transfer that takes a quarter of a second.) Threads that ended before a reading are not in it,
//! which the bridge and websocat, whose runtimes keep their threads, never do mid-transfer.

use std::time::Duration;

use anyhow::{Context as _, Result};

/// The CPU time of process `pid` so far, all its threads together.
pub fn time(pid: u32) -> Result<Duration> {
    let dir = format!("/proc/{pid}/task");
    let mut total = 0u64;
    for task in std::fs::read_dir(&dir).with_context(|| format!("reading {dir}"))? {
        let path = task?.path().join("schedstat");
        // A thread may end between the listing and the read: it then counts for nothing.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        total += on_cpu_ns(&text).with_context(|| format!("no CPU time in {}", path.display()))?;
    }
    Ok(Duration::from_nanos(total))
}

/// The first field of a `schedstat` line: nanoseconds on a CPU.
fn on_cpu_ns(schedstat: &str) -> Option<u64> {
    schedstat.split_whitespace().next()?.parse().ok()
}

/// CPU milliseconds per GiB moved: the cost of a relay, whatever its speed.
pub fn ms_per_gib(cpu: Duration, bytes: u64) -> f64 {
    cpu.as_secs_f64() * 1e3 / (bytes as f64 / f64::from(1u32 << 30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_time_on_cpu() {
        assert_eq!(on_cpu_ns("123456789 2000 31\n"), Some(123_456_789));
        assert_eq!(on_cpu_ns(""), None);
    }

    #[test]
    fn this_process_has_spent_some_cpu_and_it_grows() {
        let before = time(std::process::id()).unwrap();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let after = time(std::process::id()).unwrap();
        assert!(after > before, "{before:?} then {after:?}");
    }

    #[test]
    fn a_gib_in_a_second_is_a_thousand_ms_per_gib() {
        assert_eq!(ms_per_gib(Duration::from_secs(1), 1 << 30), 1000.0);
        assert_eq!(ms_per_gib(Duration::from_millis(250), 1 << 28), 1000.0);
    }
}
