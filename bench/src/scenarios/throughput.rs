//! `relay_throughput` and `send_throughput`: a stream of known bytes through the bridge, TCP peer
//! to WebSocket client and back the other way, checked by hash; beside it, the same stream over
//! a direct loopback TCP connection and through websocat, in the same run. Beside each speed,
//! the CPU time the relay spent per GiB ([`crate::cpu`]): what the bridge costs, a figure that
//! other work on the machine moves far less than the speeds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use protocol::{Flow, Target, TRANSMIT_HEADER_LEN};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::{figure, progress, within, Suite};
use crate::bridge_proc::BridgeProc;
use crate::cpu;
use crate::peer::{listen, read_stream, Checker, Pattern};
use crate::stats::{mb_per_s, median};
use crate::websocat::Websocat;
use crate::ws_client::{transmit, Incoming, Session};

/// The longest any one transfer may take.
const PHASE: Duration = Duration::from_secs(120);
/// Bytes the client lets the bridge hold unwritten, well within its `--send-queue` (4 MiB).
const SEND_WINDOW: u64 = 2 << 20;
/// Bytes per send frame from the WebSocket client, as a page sends a large paste.
const SEND_CHUNK: usize = 64 << 10;

pub async fn run(suite: &Suite) -> Result<()> {
    let pattern = Arc::new(Pattern::new(suite.plan.stream_bytes));
    let mb = pattern.total >> 20;
    let (mut direct, mut relay, mut send) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ws_relay, mut ws_send) = (Vec::new(), Vec::new());
    // CPU ms per GiB, as figures: the bridge's relay and send, websocat's.
    let mut costs: [Vec<f64>; 4] = Default::default();
    let mut push = |speeds: &mut Vec<f64>, cost: usize, (elapsed, spent): Transfer| {
        speeds.push(mb_per_s(pattern.total, elapsed));
        costs[cost].push(cpu::ms_per_gib(spent, pattern.total));
    };
    for run in 1..=suite.plan.runs {
        progress(
            "throughput",
            format!("run {run}/{}: {mb} MiB each way", suite.plan.runs),
        );
        direct.push(mb_per_s(pattern.total, direct_tcp(&pattern).await?));
        push(&mut relay, 0, bridge_relay(suite, &pattern).await?);
        push(&mut send, 1, bridge_send(suite, &pattern).await?);
        if let Some(binary) = &suite.websocat {
            push(&mut ws_relay, 2, websocat_relay(binary, &pattern).await?);
            push(&mut ws_send, 3, websocat_send(binary, &pattern).await?);
        }
    }
    let [relay_cpu, send_cpu, ws_relay_cpu, ws_send_cpu] = costs;
    let (direct, relay, send) = (median(&direct), median(&relay), median(&send));
    figure("direct_throughput", format!("{direct:.0}"), "MB/s");
    figure("relay_throughput", format!("{relay:.0}"), "MB/s");
    figure("relay_vs_direct", format!("{:.2}", relay / direct), "");
    figure("relay_cpu", format!("{:.0}", median(&relay_cpu)), "ms/GiB");
    figure("send_throughput", format!("{send:.0}"), "MB/s");
    figure("send_vs_direct", format!("{:.2}", send / direct), "");
    figure("send_cpu", format!("{:.0}", median(&send_cpu)), "ms/GiB");
    if !ws_relay.is_empty() {
        let (ws_relay, ws_send) = (median(&ws_relay), median(&ws_send));
        figure(
            "websocat_relay_throughput",
            format!("{ws_relay:.0}"),
            "MB/s",
        );
        figure("relay_vs_websocat", format!("{:.2}", relay / ws_relay), "");
        let cost = |mine: &[f64], theirs: &[f64]| median(mine) / median(theirs);
        figure(
            "websocat_relay_cpu",
            format!("{:.0}", median(&ws_relay_cpu)),
            "ms/GiB",
        );
        figure(
            "relay_cpu_vs_websocat",
            format!("{:.2}", cost(&relay_cpu, &ws_relay_cpu)),
            "",
        );
        figure("websocat_send_throughput", format!("{ws_send:.0}"), "MB/s");
        figure("send_vs_websocat", format!("{:.2}", send / ws_send), "");
        figure(
            "websocat_send_cpu",
            format!("{:.0}", median(&ws_send_cpu)),
            "ms/GiB",
        );
        figure(
            "send_cpu_vs_websocat",
            format!("{:.2}", cost(&send_cpu, &ws_send_cpu)),
            "",
        );
    }
    Ok(())
}

/// A transfer's wall time, and the CPU time the relay spent on it.
type Transfer = (Duration, Duration);

/// The yardstick: one loopback TCP connection, writer to reader.
async fn direct_tcp(pattern: &Arc<Pattern>) -> Result<Duration> {
    let (listener, addr) = listen().await?;
    let start = Instant::now();
    let writer = spawn_writer(TcpStream::connect(addr).await?, pattern.clone());
    let (mut reader, _) = listener.accept().await?;
    let (checker, end) = within(
        PHASE,
        "reading directly",
        read_stream(&mut reader, pattern.total),
    )
    .await?;
    writer.await??;
    checker.verify(pattern, "direct TCP")?;
    Ok(end - start)
}

/// A TCP peer streams into the bridge; a WebSocket client receives every record.
async fn bridge_relay(suite: &Suite, pattern: &Arc<Pattern>) -> Result<Transfer> {
    let bridge = BridgeProc::start(&suite.bridge, &[]).await?;
    let mut session = Session::connect(&bridge.ws_url).await?;
    let peer = TcpStream::connect(bridge.listen).await?;
    let me = peer.local_addr()?.to_string();
    let conn = session.wait_open(PHASE, |c| c.peer == me).await?;
    let cpu_before = bridge.cpu()?;
    let start = Instant::now();
    let writer = spawn_writer(peer, pattern.clone());
    let mut checker = Checker::new();
    within(PHASE, "relaying through the bridge", async {
        while checker.bytes < pattern.total {
            if let Incoming::Record { header, payload } = session.next().await? {
                if header.conn == conn.id && header.flow == Flow::Rx {
                    checker.update(&payload);
                }
            }
            if session.tally.resyncs() > 0 {
                bail!("the client fell behind and was sent a fresh snapshot: not a full relay");
            }
        }
        Ok(())
    })
    .await?;
    let elapsed = start.elapsed();
    let spent = (bridge.cpu()? - cpu_before).on_cpu;
    writer.await??;
    checker.verify(pattern, "bridge relay")?;
    Ok((elapsed, spent))
}

/// A WebSocket client sends the stream, in send frames, to a TCP peer of the bridge.
async fn bridge_send(suite: &Suite, pattern: &Arc<Pattern>) -> Result<Transfer> {
    let bridge = BridgeProc::start(&suite.bridge, &[]).await?;
    let mut session = Session::connect(&bridge.ws_url).await?;
    let mut peer = TcpStream::connect(bridge.listen).await?;
    let me = peer.local_addr()?.to_string();
    let conn = session.wait_open(PHASE, |c| c.peer == me).await?;
    // The stream's chunks repeat with the block, so a few prepared frames cover all of it.
    let frames: Vec<Bytes> = pattern
        .chunks(SEND_CHUNK)
        .take((1 << 20) / SEND_CHUNK)
        .map(|chunk| transmit(Target::Conn(conn.id), &chunk))
        .collect();
    let count = pattern.total.div_ceil(SEND_CHUNK as u64) as usize;
    let (mut sender, mut receiver) = session.split();
    // The bridge echoes each send as a `tx` record once written: the client keeps reading them,
    // as a page does, and keeps at most SEND_WINDOW unwritten, so that no send is refused.
    let (written_tx, mut written) = watch::channel(0u64);
    let drain = tokio::spawn(async move {
        let mut bytes = 0;
        while let Ok(incoming) = receiver.next().await {
            if let Incoming::Record { header, payload } = incoming {
                if header.flow == Flow::Tx {
                    bytes += payload.len() as u64;
                    let _ = written_tx.send(bytes);
                }
            }
            if let Some(error) = receiver.tally.errors.first() {
                return Err(anyhow!("the bridge refused a send: {error}"));
            }
        }
        Ok(())
    });
    let cpu_before = bridge.cpu()?;
    let start = Instant::now();
    let total = pattern.total;
    let reader = tokio::spawn(async move { read_stream(&mut peer, total).await });
    within(PHASE, "sending through the bridge", async {
        let mut sent = 0;
        for i in 0..count {
            let frame = &frames[i % frames.len()];
            let len = (frame.len() - TRANSMIT_HEADER_LEN) as u64;
            written
                .wait_for(|&written| sent + len - written <= SEND_WINDOW)
                .await?;
            sender.send_frame(frame.clone()).await?;
            sent += len;
        }
        Ok(())
    })
    .await?;
    let (checker, end) = within(PHASE, "the peer reading", async { reader.await? }).await?;
    let spent = (bridge.cpu()? - cpu_before).on_cpu;
    drain.abort();
    checker.verify(pattern, "bridge send")?;
    Ok((end - start, spent))
}

/// The same stream, TCP to WebSocket, through websocat.
async fn websocat_relay(binary: &std::path::Path, pattern: &Arc<Pattern>) -> Result<Transfer> {
    let (target, addr) = listen().await?;
    let websocat = Websocat::start(binary, addr).await?;
    let mut ws = websocat.connect().await?;
    let (peer, _) = within(PHASE, "websocat dialling", async {
        Ok(target.accept().await?)
    })
    .await?;
    let cpu_before = websocat.cpu()?;
    let start = Instant::now();
    let writer = spawn_writer(peer, pattern.clone());
    let mut checker = Checker::new();
    within(PHASE, "relaying through websocat", async {
        while checker.bytes < pattern.total {
            match ws.next().await {
                Some(Ok(Message::Binary(data))) => checker.update(&data),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => bail!("websocat closed the WebSocket"),
            }
        }
        Ok(())
    })
    .await?;
    let elapsed = start.elapsed();
    let spent = (websocat.cpu()? - cpu_before).on_cpu;
    writer.await??;
    checker.verify(pattern, "websocat relay")?;
    Ok((elapsed, spent))
}

/// The same stream, WebSocket to TCP, through websocat.
async fn websocat_send(binary: &std::path::Path, pattern: &Arc<Pattern>) -> Result<Transfer> {
    let (target, addr) = listen().await?;
    let websocat = Websocat::start(binary, addr).await?;
    let ws = websocat.connect().await?;
    let (mut peer, _) = within(PHASE, "websocat dialling", async {
        Ok(target.accept().await?)
    })
    .await?;
    let (mut sink, _stream) = ws.split();
    let cpu_before = websocat.cpu()?;
    let start = Instant::now();
    let total = pattern.total;
    let reader = tokio::spawn(async move { read_stream(&mut peer, total).await });
    within(PHASE, "sending through websocat", async {
        for chunk in pattern.chunks(SEND_CHUNK) {
            sink.send(Message::Binary(chunk)).await?;
        }
        Ok(())
    })
    .await?;
    let (checker, end) = within(PHASE, "the peer reading", async { reader.await? }).await?;
    let spent = (websocat.cpu()? - cpu_before).on_cpu;
    checker.verify(pattern, "websocat send")?;
    Ok((end - start, spent))
}

fn spawn_writer(
    mut stream: TcpStream,
    pattern: Arc<Pattern>,
) -> tokio::task::JoinHandle<Result<()>> {
    tokio::spawn(async move { pattern.write_to(&mut stream).await })
}
