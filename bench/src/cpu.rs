//! CPU time a process has spent, from `/proc`: what a relay costs per byte, a figure that a busy
//! machine barely moves, where throughput and round trips move with everything else running.
//!
//! Each thread's `/proc/PID/task/TID/schedstat` gives its time on a CPU in nanoseconds; their sum
//! is the process's. (`/proc/PID/stat` counts in clock ticks, 10 ms each: too coarse for a
//! transfer that takes a quarter of a second.) Threads that ended before a reading are not in it,
//! which the bridge and websocat, whose runtimes keep their threads, never do mid-transfer.
//!
//! How that time splits between the process's own code and the kernel comes from the ticks in
//! `/proc/PID/stat`: too coarse to time with, fine to split a time by. The split says whether a
//! relay's cost is its own work or the system calls that any relay makes.

use std::ops::Sub;
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

/// CPU time spent so far, and its clock ticks in user space and in the kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Spent {
    pub on_cpu: Duration,
    pub user_ticks: u64,
    pub kernel_ticks: u64,
}

impl Spent {
    /// Process `pid`'s, so far.
    pub fn of(pid: u32) -> Result<Spent> {
        let path = format!("/proc/{pid}/stat");
        let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        let (user_ticks, kernel_ticks) =
            ticks(&stat).with_context(|| format!("no user and system time in {path}"))?;
        Ok(Spent {
            on_cpu: time(pid)?,
            user_ticks,
            kernel_ticks,
        })
    }

    /// The part of the time spent in user space, in the ticks' proportion.
    pub fn in_user_space(&self) -> Duration {
        let ticks = self.user_ticks + self.kernel_ticks;
        if ticks == 0 {
            return Duration::ZERO;
        }
        self.on_cpu.mul_f64(self.user_ticks as f64 / ticks as f64)
    }
}

impl Sub for Spent {
    type Output = Spent;

    fn sub(self, before: Spent) -> Spent {
        Spent {
            on_cpu: self.on_cpu.saturating_sub(before.on_cpu),
            user_ticks: self.user_ticks.saturating_sub(before.user_ticks),
            kernel_ticks: self.kernel_ticks.saturating_sub(before.kernel_ticks),
        }
    }
}

/// `utime` and `stime` of a `/proc/PID/stat` line: fields 14 and 15, counted after the command
/// name, which is in parentheses and may itself hold spaces and parentheses.
fn ticks(stat: &str) -> Option<(u64, u64)> {
    let mut after = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let user = after.nth(11)?.parse().ok()?;
    let kernel = after.next()?.parse().ok()?;
    Some((user, kernel))
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
    fn reads_the_ticks_after_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (a b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 731 52 0 0 20 0 4 0 9";
        assert_eq!(ticks(stat), Some((731, 52)));
        assert_eq!(ticks("4242 (bridge) S 1"), None);
    }

    #[test]
    fn user_space_takes_the_ticks_share_of_the_time() {
        let spent = Spent {
            on_cpu: Duration::from_micros(1000),
            user_ticks: 1,
            kernel_ticks: 3,
        };
        assert_eq!(spent.in_user_space(), Duration::from_micros(250));
        assert_eq!(Spent::default().in_user_space(), Duration::ZERO);
    }

    #[test]
    fn this_process_has_spent_some_cpu_and_it_grows() {
        let before = Spent::of(std::process::id()).unwrap();
        // Busy for 50 ms of wall time, whatever the build's optimisation makes of a fixed loop.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
        }
        let after = Spent::of(std::process::id()).unwrap();
        assert!(after.on_cpu > before.on_cpu, "{before:?} then {after:?}");
        assert!(
            after.user_ticks >= before.user_ticks,
            "{before:?} then {after:?}"
        );
    }

    #[test]
    fn a_gib_in_a_second_is_a_thousand_ms_per_gib() {
        assert_eq!(ms_per_gib(Duration::from_secs(1), 1 << 30), 1000.0);
        assert_eq!(ms_per_gib(Duration::from_millis(250), 1 << 28), 1000.0);
    }
}
