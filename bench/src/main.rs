//! The benchmark suite: the real release bridge on ephemeral loopback ports, driven by real TCP
//! peers and WebSocket clients speaking the documented protocol. Prints one `name=value unit`
//! line per figure on stdout, each the median of several runs; progress goes to stderr.
//!
//! ```text
//! cargo build --release -p bridge && cargo run --release -p bench            # the full suite
//! cargo run --release -p bench -- --quick                                     # a smoke run
//! cargo run --release -p bench -- rtt fanout                                  # some scenarios
//! cargo run --release -p bench -- soak --soak-secs 180                        # the soak test
//! cargo run --release -p bench -- hostile --soak-secs 60                      # ...under attack
//! ```
//! BENCHMARKS.md explains every figure and holds the latest results.

mod bridge_proc;
mod cpu;
mod peer;
mod scenarios;
mod stats;
mod websocat;
mod ws_client;

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Parser;

use scenarios::{Plan, Suite};

/// Benchmarks the bridge: relay throughput both ways, round-trip latency, fan-out to several
/// pages, memory per idle connection, and the web app's size.
#[derive(Parser)]
#[command(name = "bench")]
struct Args {
    /// Scenarios to run (throughput, rtt, fanout, join, idle, web_size, ui_flood, ui_conns,
    /// proxy); all when none is named.
    /// `soak` runs the soak test instead, which is not part of the suite; `hostile` runs it
    /// under hostile load (slow rules, a rule set too large, half-sent HTTP requests, a dial to
    /// the bridge's own HTTP port, a UDP flood).
    scenarios: Vec<String>,

    /// How long the soak test runs.
    #[arg(long, value_name = "SECS", default_value_t = 180)]
    soak_secs: u64,

    /// A smoke run: every scenario, small, once. Its figures are not worth quoting.
    #[arg(long)]
    quick: bool,

    /// Runs per figure (the figure is their median).
    #[arg(long, value_name = "N")]
    runs: Option<usize>,

    /// The bridge binary [default: `bridge` beside this binary, i.e. target/release/bridge].
    #[arg(long, value_name = "PATH")]
    bridge: Option<PathBuf>,

    /// Do not measure websocat even if it is on PATH.
    #[arg(long)]
    no_websocat: bool,

    /// The web app's build output, for `web_size`.
    #[arg(long, value_name = "DIR", default_value = "dist")]
    dist: PathBuf,
}

const ALL: [&str; 9] = [
    "throughput",
    "rtt",
    "proxy",
    "fanout",
    "join",
    "idle",
    "web_size",
    "ui_flood",
    "ui_conns",
];

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    // Thousands of sockets, here and in the bridges started from here (which inherit it).
    rlimit::increase_nofile_limit(u64::MAX).context("raising the open-file limit")?;
    for name in &args.scenarios {
        if !ALL.contains(&name.as_str()) && name != "soak" && name != "hostile" {
            bail!("no scenario `{name}`; the scenarios are {}", ALL.join(", "));
        }
    }
    let mut plan = if args.quick { Plan::QUICK } else { Plan::FULL };
    if let Some(runs) = args.runs {
        plan.runs = runs.max(1);
        plan.idle_runs = runs.max(1);
    }
    let bridge = args.bridge.unwrap_or_else(bridge_proc::default_path);
    bridge_proc::check_binary(&bridge)?;
    let websocat = if args.no_websocat {
        None
    } else {
        websocat::find()
    };
    if websocat.is_none() {
        scenarios::figure("websocat", "absent", "");
    }
    let suite = Suite {
        bridge,
        websocat,
        dist: args.dist,
        plan,
    };
    if args.scenarios.iter().any(|s| s == "soak") {
        return scenarios::soak::run(&suite, args.soak_secs, false).await;
    }
    if args.scenarios.iter().any(|s| s == "hostile") {
        return scenarios::soak::run(&suite, args.soak_secs, true).await;
    }
    let wanted = |name: &str| args.scenarios.is_empty() || args.scenarios.iter().any(|s| s == name);
    if wanted("throughput") {
        scenarios::throughput::run(&suite).await?;
    }
    if wanted("rtt") {
        scenarios::rtt::run(&suite).await?;
    }
    if wanted("proxy") {
        scenarios::proxy::run(&suite).await?;
    }
    if wanted("fanout") {
        scenarios::fanout::run(&suite).await?;
    }
    if wanted("join") {
        scenarios::join::run(&suite).await?;
    }
    if wanted("idle") {
        scenarios::idle::run(&suite).await?;
    }
    if wanted("web_size") {
        scenarios::web_size::run(&suite)?;
    }
    if wanted("ui_flood") {
        scenarios::ui_flood::run(&suite).await?;
    }
    if wanted("ui_conns") {
        scenarios::ui_conns::run(&suite).await?;
    }
    Ok(())
}
