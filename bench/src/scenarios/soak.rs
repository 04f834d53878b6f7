//! `soak` (not part of the default suite): 1,000 TCP peers chat for minutes while 3 pages watch
//! and answer. Beside them, two slow parties: a peer that never reads, to which the first page
//! keeps sending (past `--send-queue` its sends are refused), and a page that never reads after
//! its snapshot. At the end, every byte each side sent must have arrived, for everyone else: the
//! reading pages' counters must match what the peers wrote, the peers must have received what
//! the pages sent them. Reports the bridge's RSS once everyone is connected, at the end and at
//! its peak, the sends refused for the deaf peer, and any other errors or re-syncs.
//!
//! `cargo run --release -p bench -- soak --soak-secs 180`; with `hostile` instead of `soak`, the
//! same under the hostile load of [`super::hostile`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use protocol::{ConnState, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::hostile::{self, Hostile};
use super::{figure, progress, within, Suite};
use crate::bridge_proc::BridgeProc;
use crate::ws_client::{transmit, Session};

const PEERS: usize = 1_000;
const PAGES: usize = 3;
/// Each peer says something about this often...
const PEER_EVERY: Duration = Duration::from_millis(200);
/// ...and each page answers one peer about this often.
const PAGE_EVERY: Duration = Duration::from_millis(5);
/// What the first page sends the peer that never reads, as often.
const TO_THE_DEAF: usize = 16 << 10;
const SETTLE: Duration = Duration::from_secs(60);

/// Runs the soak test; `hostile`: under the hostile load too.
pub async fn run(suite: &Suite, secs: u64, hostile: bool) -> Result<()> {
    let run_for = Duration::from_secs(secs);
    let udp = hostile::free_udp_addr()?;
    let mut flags: Vec<String> = ["--no-exit-word", "--max-conns", "20000"]
        .map(String::from)
        .to_vec();
    if hostile {
        flags.extend(hostile::flags(&udp.to_string()));
    }
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let bridge = BridgeProc::start(&suite.bridge, &flags).await?;
    let mut pages = Vec::new();
    for _ in 0..PAGES {
        pages.push(Session::connect(&bridge.ws_url).await?);
    }
    // Reads its snapshot, then nothing, ever.
    let stalled_page = Session::connect(&bridge.ws_url).await?;
    progress("soak", format!("connecting {PEERS} peers"));
    let mut streams = Vec::with_capacity(PEERS);
    for _ in 0..PEERS {
        let stream = TcpStream::connect(bridge.listen).await?;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }
    let ids = within(SETTLE, "every peer to open", async {
        loop {
            pages[0].next().await?;
            let open: Vec<u64> = pages[0]
                .tally
                .conns
                .values()
                .filter(|c| c.state == ConnState::Open)
                .map(|c| c.id)
                .collect();
            if open.len() >= PEERS {
                return Ok(open);
            }
        }
    })
    .await?;
    // Connected, and never reads a byte.
    let deaf = TcpStream::connect(bridge.listen).await?;
    let deaf_addr = deaf.local_addr()?.to_string();
    let deaf_id = pages[0]
        .wait_open(SETTLE, |c| c.peer == deaf_addr)
        .await?
        .id;
    let rss_start = bridge.rss_kib()?;
    progress(
        "soak",
        format!("chatting for {secs} s; RSS {rss_start} KiB"),
    );

    let deadline = Instant::now() + run_for;
    let load = if hostile {
        let http = bridge
            .ws_url
            .trim_start_matches("ws://")
            .trim_end_matches("/ws")
            .parse()?;
        progress("soak", "and the hostile load".to_owned());
        Some(Hostile::start(&mut pages[0], bridge.listen, http, udp, deadline).await?)
    } else {
        None
    };
    let peer_sent = Arc::new(AtomicU64::new(0));
    let peer_received = Arc::new(AtomicU64::new(0));
    let mut peers = Vec::with_capacity(PEERS);
    for (n, stream) in streams.into_iter().enumerate() {
        let (sent, received) = (peer_sent.clone(), peer_received.clone());
        peers.push(tokio::spawn(peer(n, stream, deadline, sent, received)));
    }
    // Once the peers are done, this says how many bytes they sent: each page reads until it
    // has counted them all.
    let (total_tx, total) = watch::channel(None::<u64>);
    let mut talkers = Vec::new();
    for (p, page) in pages.into_iter().enumerate() {
        let ids = ids.clone();
        let mut total = total.clone();
        talkers.push(tokio::spawn(async move {
            let (mut sender, mut receiver) = page.split();
            let reader = tokio::spawn(async move {
                loop {
                    if let Some(total) = *total.borrow() {
                        if receiver.tally.rx_bytes() >= total {
                            break;
                        }
                    }
                    tokio::select! {
                        next = receiver.next() => { next?; }
                        _ = total.changed() => {}
                    }
                }
                anyhow::Ok(receiver.tally)
            });
            let mut sent = 0u64;
            let mut i = p;
            let mut tick = tokio::time::interval(PAGE_EVERY);
            let to_the_deaf: bytes::Bytes = transmit(Target::Conn(deaf_id), &[b'?'; TO_THE_DEAF]);
            while Instant::now() < deadline {
                tick.tick().await;
                let line = format!("page {p} answers {i}\n");
                let frame = transmit(Target::Conn(ids[i % ids.len()]), line.as_bytes());
                sender.send_frame(frame).await?;
                sent += line.len() as u64;
                i += PAGES;
                if p == 0 {
                    sender.send_frame(to_the_deaf.clone()).await?;
                }
            }
            anyhow::Ok((sent, reader))
        }));
    }

    let mut page_sent = 0;
    let mut readers = Vec::new();
    for talker in talkers {
        let (sent, reader) = talker.await??;
        page_sent += sent;
        readers.push(reader);
    }
    let mut held = Vec::new();
    for peer in peers {
        held.push(peer.await??);
    }
    let mut hostile_sent = 0;
    if let Some(load) = load {
        let sent = load.sent.clone();
        load.finish().await?;
        hostile_sent = sent.load(Ordering::Relaxed);
    }
    // What the hostile peers sent must reach the pages too.
    let sent_by_peers = peer_sent.load(Ordering::Relaxed) + hostile_sent;
    let _ = total_tx.send(Some(sent_by_peers));
    let mut tallies = Vec::new();
    for reader in readers {
        tallies.push(
            within(SETTLE, "the pages to count every byte", async {
                reader.await?
            })
            .await?,
        );
    }
    within(SETTLE, "the peers to receive every answer", async {
        while peer_received.load(Ordering::Relaxed) < page_sent {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    })
    .await?;
    let rss_end = bridge.rss_kib()?;
    drop((held, deaf, stalled_page));
    let missing_at_pages: u64 = tallies
        .iter()
        .map(|t| sent_by_peers.saturating_sub(t.rx_bytes()))
        .sum();
    let missing_at_peers = page_sent.saturating_sub(peer_received.load(Ordering::Relaxed));
    let refusal = format!("{deaf_addr} is not reading: ");
    let refused = |t: &&crate::ws_client::Tally| -> usize {
        t.errors.iter().filter(|e| e.starts_with(&refusal)).count()
    };
    let refusals: usize = tallies.iter().map(|t| refused(&t)).sum();
    let errors: usize = tallies.iter().map(|t| t.errors.len()).sum::<usize>() - refusals;
    let deaf_waiting = tallies[0].conns.get(&deaf_id).map_or(0, |c| c.waiting);
    let resyncs: u32 = tallies.iter().map(|t| t.resyncs()).sum();
    figure("soak_secs", secs, "s");
    figure("soak_peer_bytes", sent_by_peers, "bytes");
    figure("soak_page_bytes", page_sent, "bytes");
    if hostile {
        figure("hostile_peer_bytes", hostile_sent, "bytes");
    }
    figure("soak_rss_start", rss_start, "KiB");
    figure("soak_rss_end", rss_end, "KiB");
    figure("soak_peak_rss", bridge.peak_rss_kib()?, "KiB");
    figure(
        "soak_dropped_bytes",
        missing_at_pages + missing_at_peers,
        "bytes",
    );
    figure("soak_deaf_refused", refusals, "sends");
    figure("soak_deaf_waiting", deaf_waiting, "bytes");
    figure("soak_errors", errors, "");
    figure("soak_resyncs", resyncs, "");
    if missing_at_pages + missing_at_peers > 0 {
        bail!("bytes were lost: {missing_at_pages} at the pages, {missing_at_peers} at the peers");
    }
    Ok(())
}

/// One peer: a line every [`PEER_EVERY`] (staggered), counting what it receives all the while.
/// Returns its writing half, which keeps the connection open until dropped.
async fn peer(
    n: usize,
    stream: TcpStream,
    deadline: Instant,
    sent: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
) -> Result<OwnedWriteHalf> {
    let (mut reader, mut writer) = stream.into_split();
    tokio::spawn(async move {
        let mut buf = vec![0; 4096];
        while let Ok(n) = reader.read(&mut buf).await {
            if n == 0 {
                break;
            }
            received.fetch_add(n as u64, Ordering::Relaxed);
        }
    });
    tokio::time::sleep(PEER_EVERY * (n % 100) as u32 / 100).await;
    let mut tick = tokio::time::interval(PEER_EVERY);
    let mut i = 0u64;
    while Instant::now() < deadline {
        tick.tick().await;
        let line = format!("peer {n} says {i}\n");
        writer.write_all(line.as_bytes()).await?;
        sent.fetch_add(line.len() as u64, Ordering::Relaxed);
        i += 1;
    }
    Ok(writer)
}
