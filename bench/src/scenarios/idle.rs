//! `idle_conns`: many TCP connections held open and silent; what each costs the bridge in
//! resident memory.

use std::time::Duration;

use anyhow::Result;
use protocol::ConnState;
use tokio::net::TcpStream;

use super::{figure, progress, within, Suite};
use crate::bridge_proc::BridgeProc;
use crate::stats::median;
use crate::ws_client::Session;

const PHASE: Duration = Duration::from_secs(120);

pub async fn run(suite: &Suite) -> Result<()> {
    let conns = suite.plan.idle_conns;
    let mut per_conn = Vec::new();
    let mut totals = Vec::new();
    for run in 1..=suite.plan.idle_runs {
        progress(
            "idle",
            format!(
                "run {run}/{}: {conns} idle connections",
                suite.plan.idle_runs
            ),
        );
        let (before, after) = within(PHASE, "holding idle connections", once(suite, conns)).await?;
        per_conn.push((after.saturating_sub(before) * 1024) as f64 / conns as f64);
        totals.push(after as f64 / 1024.0);
    }
    figure("idle_conns", conns, "");
    figure(
        "idle_rss_per_conn",
        format!("{:.0}", median(&per_conn)),
        "bytes",
    );
    figure("idle_rss_total", format!("{:.1}", median(&totals)), "MiB");
    Ok(())
}

/// Returns the bridge's RSS in KiB before and after `conns` connections opened.
async fn once(suite: &Suite, conns: usize) -> Result<(u64, u64)> {
    let limit = (conns * 2).to_string();
    let bridge = BridgeProc::start(&suite.bridge, &["--max-conns", &limit]).await?;
    let mut session = Session::connect(&bridge.ws_url).await?;
    let before = bridge.rss_kib()?;
    let mut held = Vec::with_capacity(conns);
    for _ in 0..conns {
        held.push(TcpStream::connect(bridge.listen).await?);
    }
    // Every connection is open once the page has heard of it.
    while session
        .tally
        .conns
        .values()
        .filter(|c| c.state == ConnState::Open)
        .count()
        < conns
    {
        session.next().await?;
    }
    let after = bridge.rss_kib()?;
    drop(held);
    Ok((before, after))
}
