//! `fanout`: many TCP peers talking at once while several pages watch. The time from the first
//! message until every page has accounted for every byte, and the bridge's peak memory.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use protocol::ConnState;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use super::{figure, progress, within, Suite};
use crate::bridge_proc::BridgeProc;
use crate::stats::median;
use crate::ws_client::Session;

const PAGES: usize = 3;
const PHASE: Duration = Duration::from_secs(120);

pub async fn run(suite: &Suite) -> Result<()> {
    let (peers, msgs) = (suite.plan.fanout_peers, suite.plan.fanout_msgs);
    let (mut times, mut peaks, mut resyncs) = (vec![], vec![], 0);
    for run in 1..=suite.plan.runs {
        progress(
            "fanout",
            format!(
                "run {run}/{}: {peers} peers x {msgs} messages, {PAGES} pages",
                suite.plan.runs
            ),
        );
        let (time, peak, resynced) = within(PHASE, "fan-out", once(suite, peers, msgs)).await?;
        times.push(time.as_secs_f64() * 1e3);
        peaks.push(peak as f64 / 1024.0);
        resyncs += resynced;
    }
    figure("fanout_msgs", peers * msgs, "");
    figure("fanout", format!("{:.0}", median(&times)), "ms");
    figure("fanout_peak_rss", format!("{:.1}", median(&peaks)), "MiB");
    figure("fanout_resyncs", resyncs, "");
    Ok(())
}

/// One run: returns the time, the bridge's peak RSS in KiB, and how many fresh snapshots the
/// pages needed.
async fn once(suite: &Suite, peers: usize, msgs: usize) -> Result<(Duration, u64, u32)> {
    let bridge = BridgeProc::start(&suite.bridge, &["--no-exit-word"]).await?;
    let message = |peer: usize, i: usize| format!("peer {peer:04} says hello {i:03}\n");
    let total: u64 = (0..peers)
        .flat_map(|p| (0..msgs).map(move |i| message(p, i).len() as u64))
        .sum();

    // The pages first, each counting what it sees until it has every byte.
    let (all_open_tx, all_open) = oneshot::channel();
    let mut all_open_tx = Some(all_open_tx);
    let mut pages = Vec::new();
    for page in 0..PAGES {
        let mut session = Session::connect(&bridge.ws_url).await?;
        let mut opened = if page == 0 { all_open_tx.take() } else { None };
        pages.push(tokio::spawn(async move {
            loop {
                session.next().await?;
                let tally = &session.tally;
                if opened.is_some()
                    && tally
                        .conns
                        .values()
                        .filter(|c| c.state == ConnState::Open)
                        .count()
                        >= peers
                {
                    let _ = opened.take().map(|tx| tx.send(()));
                }
                if tally.rx_bytes() >= total {
                    return anyhow::Ok((Instant::now(), tally.resyncs()));
                }
            }
        }));
    }

    let mut streams = Vec::with_capacity(peers);
    for _ in 0..peers {
        let stream = TcpStream::connect(bridge.listen).await?;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }
    all_open
        .await
        .map_err(|_| anyhow!("the first page stopped before all peers were open"))?;

    let start = Instant::now();
    let mut talkers = Vec::with_capacity(peers);
    for (peer, mut stream) in streams.into_iter().enumerate() {
        talkers.push(tokio::spawn(async move {
            for i in 0..msgs {
                stream.write_all(message(peer, i).as_bytes()).await?;
            }
            anyhow::Ok(stream)
        }));
    }
    let mut held = Vec::with_capacity(peers);
    for talker in talkers {
        held.push(talker.await??);
    }
    let mut last = start;
    let mut resyncs = 0;
    for page in pages {
        let (done, resynced) = page.await??;
        last = last.max(done);
        resyncs += resynced;
    }
    let peak = bridge.peak_rss_kib()?;
    drop(held);
    Ok((last - start, peak, resyncs))
}
