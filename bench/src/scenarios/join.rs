//! `join`: what a page joining costs everyone else. The history is filled with 64 MiB of 20-byte
//! records, the worst case for a snapshot (the most records for the memory); then a probe peer
//! sends a line every millisecond, stamped with the time it was written, while a watching page
//! collects them, and a new page joins and reads its whole snapshot.
//!
//! `join_stall` is the longest a probe line waited to be read by the bridge while the page
//! joined: from its stamp to its record's `at`, the bridge's own time of reading (both clocks are
//! this machine's wall clock). `join_delivery` is the longest it took to reach the watching page.
//! The `_idle` figures are the same over a second with nobody joining: the machine's own noise.
//! `join_full_history_rss` is the bridge's RSS with that history full: what `--history-total`
//! really costs when it is made of the smallest records.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use bytes::Bytes;
use protocol::{ConnState, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{figure, progress, within, Suite};
use crate::bridge_proc::BridgeProc;
use crate::stats::median;
use crate::ws_client::{transmit, Incoming, Session};

/// Peers the filling sends go to: enough that the per-connection bound (1 MiB by default) does
/// not cut the history short of the total (64 MiB).
const SINKS: usize = 128;
/// Each record: 20 bytes of payload, costing 208 bytes of history (a 48-byte frame and 160 of
/// bookkeeping), so this many fill 64 MiB.
const FILL: usize = (64 << 20) / 208 + 2_000;
const RECORD: &[u8; 20] = b"twenty bytes, fixed\n";
const PROBE_EVERY: Duration = Duration::from_millis(1);
const PHASE: Duration = Duration::from_secs(120);

pub async fn run(suite: &Suite) -> Result<()> {
    let runs = suite.plan.runs.min(3);
    let (mut stalls, mut idles, mut joins, mut held) = (vec![], vec![], vec![], 0);
    let mut full_rss = vec![];
    let (mut deliveries, mut idle_deliveries) = (vec![], vec![]);
    for run in 1..=runs {
        progress(
            "join",
            format!("run {run}/{runs}: filling the history with {FILL} records of 20 bytes"),
        );
        let once = within(PHASE, "a page joining a full history", once(suite)).await?;
        stalls.push(once.stall.read.as_secs_f64() * 1e3);
        idles.push(once.idle.read.as_secs_f64() * 1e3);
        deliveries.push(once.stall.delivery.as_secs_f64() * 1e3);
        idle_deliveries.push(once.idle.delivery.as_secs_f64() * 1e3);
        joins.push(once.join.as_secs_f64() * 1e3);
        held = once.held;
        full_rss.push(once.full_rss_kib as f64);
    }
    figure("join_records", held, "");
    figure(
        "join_full_history_rss",
        format!("{:.0}", median(&full_rss)),
        "KiB",
    );
    figure("join_snapshot_time", format!("{:.0}", median(&joins)), "ms");
    figure("join_stall", format!("{:.2}", median(&stalls)), "ms");
    figure("join_stall_idle", format!("{:.2}", median(&idles)), "ms");
    figure("join_delivery", format!("{:.2}", median(&deliveries)), "ms");
    figure(
        "join_delivery_idle",
        format!("{:.2}", median(&idle_deliveries)),
        "ms",
    );
    Ok(())
}

struct Once {
    /// Records in the joining page's snapshot.
    held: usize,
    /// The bridge's RSS with the history full, before the page joins.
    full_rss_kib: u64,
    join: Duration,
    stall: Waits,
    idle: Waits,
}

/// The longest waits of probe lines over a while.
#[derive(Clone, Copy, Default)]
struct Waits {
    /// From being written to being read by the bridge.
    read: Duration,
    /// From being written to reaching the watching page.
    delivery: Duration,
}

/// One probe line as the watcher saw it.
struct Seen {
    at: Instant,
    waits: Waits,
}

async fn once(suite: &Suite) -> Result<Once> {
    let bridge = BridgeProc::start(&suite.bridge, &["--no-exit-word"]).await?;
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();

    let mut watcher = Session::connect(&bridge.ws_url).await?;
    let mut probe = TcpStream::connect(bridge.listen).await?;
    probe.set_nodelay(true)?;
    let probe_addr = probe.local_addr()?.to_string();
    let probe_id = watcher.wait_open(PHASE, |c| c.peer == probe_addr).await?.id;
    let watching = tokio::spawn(watch(watcher, probe_id, seen.clone()));

    fill(&bridge).await?;

    // The probe speaks every millisecond from now on.
    let probing = tokio::spawn(async move {
        let mut tick = tokio::time::interval(PROBE_EVERY);
        loop {
            tick.tick().await;
            if probe.write_all(&wall_micros().to_le_bytes()).await.is_err() {
                return;
            }
        }
    });
    // The watcher first catches up with the filling, then the machine's noise is measured.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let full_rss_kib = bridge.rss_kib()?;
    let idle_from = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let join_from = Instant::now();
    let joiner = Session::connect(&bridge.ws_url).await?;
    let join = join_from.elapsed();
    // Lines sent during the join arrive a little after it.
    tokio::time::sleep(Duration::from_millis(100)).await;
    probing.abort();
    watching.abort();

    let seen = seen.lock().unwrap();
    let longest = |from: Instant, to: Instant| {
        let within = seen.iter().filter(|s| s.at >= from && s.at <= to);
        within.fold(Waits::default(), |most, s| Waits {
            read: most.read.max(s.waits.read),
            delivery: most.delivery.max(s.waits.delivery),
        })
    };
    let stall = longest(join_from, Instant::now());
    let idle = longest(idle_from, join_from);
    let held = joiner.tally.replayed as usize;
    if held < FILL / 2 {
        bail!("the snapshot held {held} records; the history did not fill");
    }
    Ok(Once {
        held,
        full_rss_kib,
        join,
        stall,
        idle,
    })
}

/// Notes when each probe line reaches the watching page, and how long it waited on the way.
async fn watch(mut watcher: Session, probe: u64, seen: Arc<Mutex<Vec<Seen>>>) -> Result<()> {
    loop {
        if let Incoming::Record { header, payload } = watcher.next().await? {
            if header.conn != probe {
                continue;
            }
            let (at, now) = (Instant::now(), wall_micros());
            let mut seen = seen.lock().unwrap();
            // Lines held up are read together, into one record: each counts.
            for line in payload.chunks_exact(8) {
                let written = u64::from_le_bytes(line.try_into()?);
                let micros = |later: u64| Duration::from_micros(later.saturating_sub(written));
                seen.push(Seen {
                    at,
                    waits: Waits {
                        read: micros(header.at as u64),
                        delivery: micros(now),
                    },
                });
            }
        }
    }
}

/// This machine's wall clock, in microseconds since the Unix epoch: the bridge's own `at`.
fn wall_micros() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| d.as_micros() as u64)
}

/// Fills the history: a page sends [`FILL`] 20-byte messages round-robin to [`SINKS`] peers that
/// read and discard them; each send is one record of 20 bytes.
async fn fill(bridge: &BridgeProc) -> Result<()> {
    let mut filler = Session::connect(&bridge.ws_url).await?;
    let mut ids = Vec::new();
    for _ in 0..SINKS {
        let mut sink = TcpStream::connect(bridge.listen).await?;
        let addr = sink.local_addr()?.to_string();
        tokio::spawn(async move {
            let mut buf = vec![0; 64 << 10];
            while matches!(sink.read(&mut buf).await, Ok(n) if n > 0) {}
        });
        ids.push(filler.wait_open(PHASE, |c| c.peer == addr).await?.id);
    }
    let frames: Vec<Bytes> = ids
        .iter()
        .map(|&id| transmit(Target::Conn(id), RECORD))
        .collect();
    let (mut sender, mut receiver) = filler.split();
    // Counted as the protocol's recipe keeps counters: exact across fresh snapshots, which this
    // page, busy sending, may need.
    let counting = tokio::spawn(async move {
        let sent = |tally: &crate::ws_client::Tally| -> u64 {
            tally.conns.values().map(|c| c.tx_msgs).sum()
        };
        while sent(&receiver.tally) < FILL as u64 {
            receiver.next().await?;
        }
        let open = receiver.tally.conns.values();
        if open.filter(|c| c.state == ConnState::Open).count() < SINKS {
            bail!("a sink closed while the history filled");
        }
        anyhow::Ok(())
    });
    for i in 0..FILL {
        sender.send_frame(frames[i % SINKS].clone()).await?;
    }
    counting.await?
}
