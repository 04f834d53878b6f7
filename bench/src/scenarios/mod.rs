//! The scenarios, one module each, and what they share: the plan (how much work, how many runs),
//! the binaries under test, and a way to bound every phase in time.
//!
//! Every scenario starts a fresh bridge per run: a run's memory figures must not carry the
//! previous run's history, and a crash in one run must not poison the next.

pub mod browser;
pub mod fanout;
pub mod hostile;
pub mod idle;
pub mod join;
pub mod proxy;
pub mod rtt;
pub mod soak;
pub mod throughput;
pub mod ui_conns;
pub mod ui_flood;
pub mod web_size;

use std::fmt::Display;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Result};

/// How much work each scenario does.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Runs per figure; the figure is their median.
    pub runs: usize,
    /// Runs of the idle-connections scenario, which is slower to set up.
    pub idle_runs: usize,
    /// Bytes streamed in each throughput run.
    pub stream_bytes: u64,
    /// Round trips timed in each latency run.
    pub rtt_rounds: usize,
    /// TCP peers in the fan-out scenario, and messages each sends.
    pub fanout_peers: usize,
    pub fanout_msgs: usize,
    /// Connections held open in the idle scenario.
    pub idle_conns: usize,
}

impl Plan {
    /// The full suite: a few minutes on two cores.
    pub const FULL: Plan = Plan {
        runs: 5,
        idle_runs: 3,
        stream_bytes: 256 << 20,
        rtt_rounds: 10_000,
        fanout_peers: 1_000,
        fanout_msgs: 100,
        idle_conns: 10_000,
    };

    /// A smoke run: every code path, in seconds, with figures too small to quote.
    pub const QUICK: Plan = Plan {
        runs: 1,
        idle_runs: 1,
        stream_bytes: 16 << 20,
        rtt_rounds: 1_000,
        fanout_peers: 100,
        fanout_msgs: 100,
        idle_conns: 1_000,
    };
}

/// What the scenarios measure, and with what.
pub struct Suite {
    /// The bridge binary.
    pub bridge: PathBuf,
    /// websocat, when it is on `PATH` (and not turned off).
    pub websocat: Option<PathBuf>,
    /// The web app's build output.
    pub dist: PathBuf,
    pub plan: Plan,
}

/// Prints one figure, the suite's only output on stdout: `name=value unit`.
pub fn figure(name: &str, value: impl Display, unit: &str) {
    if unit.is_empty() {
        println!("{name}={value}");
    } else {
        println!("{name}={value} {unit}");
    }
}

/// Progress and explanations go to stderr, so that stdout stays a list of figures.
pub fn progress(scenario: &str, message: impl Display) {
    eprintln!("[{scenario}] {message}");
}

/// Runs `phase`, failing with a message that names it if it takes longer than `limit`.
pub async fn within<T>(
    limit: Duration,
    what: &str,
    phase: impl Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(limit, phase).await {
        Ok(result) => result.map_err(|e| e.context(format!("while {what}"))),
        Err(_) => Err(anyhow!("timed out after {limit:?} while {what}")),
    }
}
