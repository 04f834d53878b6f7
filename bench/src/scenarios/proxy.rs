//! `proxy_throughput` and `proxy_rtt_p50`: a client and a server on loopback with the bridge's
//! `--proxy` between them; beside it, in the same run, the same through socat (`socat
//! TCP-LISTEN:PORT,fork TCP:TARGET`, the plain relay people use for this) and over a direct
//! connection; and the bridge again with one page watching (a WebSocket client that reads every
//! record), since pages slow the relay down only as much as they read. `proxy_idle_rss_per_pair`
//! is what an idle pair (a client, its server, one conversation) costs the bridge in memory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use super::{figure, progress, within, Suite};
use crate::bridge_proc::BridgeProc;
use crate::peer::{echo_server, listen, read_stream, Pattern};
use crate::stats::{mb_per_s, median, percentile};
use crate::ws_client::Session;

const PHASE: Duration = Duration::from_secs(120);
/// How long a relay (the bridge's proxy, socat) may take to start listening.
const STARTUP: Duration = Duration::from_secs(10);
const MESSAGE: usize = 64;
const WARM_UP: usize = 200;

pub async fn run(suite: &Suite) -> Result<()> {
    let socat = find("socat");
    if socat.is_none() {
        figure("socat", "absent", "");
    }
    let pattern = Arc::new(Pattern::new(suite.plan.stream_bytes));
    let rounds = suite.plan.rtt_rounds;
    let (mut direct, mut bridge, mut watched, mut plain) = (vec![], vec![], vec![], vec![]);
    let (mut direct_rtt, mut bridge_rtt, mut plain_rtt) = (vec![], vec![], vec![]);
    let mut per_pair = vec![];
    let pairs = suite.plan.idle_conns / 10;
    for run in 1..=suite.plan.runs {
        progress(
            "proxy",
            format!(
                "run {run}/{}: {} MiB, then {rounds} round trips",
                suite.plan.runs,
                pattern.total >> 20
            ),
        );
        let total = pattern.total;
        direct.push(mb_per_s(total, stream(&pattern, Through::Direct).await?));
        bridge.push(mb_per_s(
            total,
            stream(&pattern, Through::Bridge(suite, false)).await?,
        ));
        watched.push(mb_per_s(
            total,
            stream(&pattern, Through::Bridge(suite, true)).await?,
        ));
        direct_rtt.push(p50(round_trips(rounds, Through::Direct).await?));
        bridge_rtt.push(p50(
            round_trips(rounds, Through::Bridge(suite, false)).await?
        ));
        per_pair.push(within(PHASE, "holding idle pairs", idle_pairs(suite, pairs)).await?);
        if let Some(socat) = &socat {
            plain.push(mb_per_s(
                total,
                stream(&pattern, Through::Socat(socat)).await?,
            ));
            plain_rtt.push(p50(round_trips(rounds, Through::Socat(socat)).await?));
        }
    }
    let (direct, bridge, watched) = (median(&direct), median(&bridge), median(&watched));
    figure("proxy_direct_throughput", format!("{direct:.0}"), "MB/s");
    figure("proxy_throughput", format!("{bridge:.0}"), "MB/s");
    figure("proxy_watched_throughput", format!("{watched:.0}"), "MB/s");
    let (direct_rtt, bridge_rtt) = (median(&direct_rtt), median(&bridge_rtt));
    figure("proxy_direct_rtt_p50", format!("{direct_rtt:.0}"), "us");
    figure("proxy_rtt_p50", format!("{bridge_rtt:.0}"), "us");
    figure("proxy_idle_pairs", pairs, "");
    figure(
        "proxy_idle_rss_per_pair",
        format!("{:.0}", median(&per_pair)),
        "bytes",
    );
    if !plain.is_empty() {
        let (plain, plain_rtt) = (median(&plain), median(&plain_rtt));
        figure("socat_proxy_throughput", format!("{plain:.0}"), "MB/s");
        figure("proxy_vs_socat", format!("{:.2}", bridge / plain), "");
        figure(
            "proxy_watched_vs_socat",
            format!("{:.2}", watched / plain),
            "",
        );
        figure("socat_rtt_p50", format!("{plain_rtt:.0}"), "us");
        figure(
            "proxy_rtt_vs_socat",
            format!("{:.2}", bridge_rtt / plain_rtt),
            "",
        );
    }
    Ok(())
}

/// How the client reaches its server.
#[derive(Clone, Copy)]
enum Through<'a> {
    Direct,
    /// The bridge's `--proxy`; with a page watching, or none.
    Bridge(&'a Suite, bool),
    Socat(&'a Path),
}

/// Whatever stands between the client and `server` for one measurement, kept alive while it
/// runs: where the client connects.
struct Relay {
    addr: SocketAddr,
    _bridge: Option<BridgeProc>,
    _page: Option<tokio::task::JoinHandle<()>>,
    _socat: Option<Child>,
}

async fn relay(through: Through<'_>, server: SocketAddr) -> Result<Relay> {
    let relay = match through {
        Through::Direct => Relay {
            addr: server,
            _bridge: None,
            _page: None,
            _socat: None,
        },
        Through::Bridge(suite, watched) => {
            let spec = format!("127.0.0.1:0={server}");
            let bridge = BridgeProc::start(&suite.bridge, &["--proxy", &spec]).await?;
            let addr = *bridge
                .proxies
                .first()
                .context("the bridge named no proxy")?;
            let page = match watched {
                false => None,
                true => {
                    let mut session = Session::connect(&bridge.ws_url).await?;
                    Some(tokio::spawn(async move {
                        while session.next().await.is_ok() {}
                    }))
                }
            };
            Relay {
                addr,
                _bridge: Some(bridge),
                _page: page,
                _socat: None,
            }
        }
        Through::Socat(binary) => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let child = Command::new(binary)
                .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr"))
                .arg(format!("TCP:{server}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("cannot start {}", binary.display()))?;
            Relay {
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                _bridge: None,
                _page: None,
                _socat: Some(child),
            }
        }
    };
    Ok(relay)
}

/// A connection through the relay, retried while it is still starting up.
async fn connect(addr: SocketAddr) -> Result<TcpStream> {
    let deadline = Instant::now() + STARTUP;
    loop {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) if Instant::now() >= deadline => bail!("nothing answered at {addr}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// The pattern from the client to the server, checked by hash: how long it took.
async fn stream(pattern: &Arc<Pattern>, through: Through<'_>) -> Result<Duration> {
    let (listener, server) = listen().await?;
    let relay = relay(through, server).await?;
    let mut client = connect(relay.addr).await?;
    let (mut reader, _) = within(PHASE, "accepting the client", async {
        Ok(listener.accept().await?)
    })
    .await?;
    let start = Instant::now();
    let writer = {
        let pattern = pattern.clone();
        tokio::spawn(async move {
            pattern.write_to(&mut client).await?;
            client.shutdown().await?;
            anyhow::Ok(client)
        })
    };
    let (checker, end) =
        within(PHASE, "streaming", read_stream(&mut reader, pattern.total)).await?;
    writer.await??;
    checker.verify(pattern, "proxied stream")?;
    Ok(end - start)
}

/// `rounds` 64-byte messages to an echo server and back, one at a time, after a warm-up.
async fn round_trips(rounds: usize, through: Through<'_>) -> Result<Vec<Duration>> {
    let (echo, _server) = echo_server().await?;
    let relay = relay(through, echo).await?;
    let mut client = connect(relay.addr).await?;
    within(PHASE, "timing round trips", async {
        let message = [b'x'; MESSAGE];
        let mut back = [0; MESSAGE];
        let mut samples = Vec::with_capacity(rounds);
        for round in 0..WARM_UP + rounds {
            let start = Instant::now();
            client.write_all(&message).await?;
            client.read_exact(&mut back).await?;
            if round >= WARM_UP {
                samples.push(start.elapsed());
            }
        }
        Ok(samples)
    })
    .await
}

/// The bridge's RSS growth per pair, in bytes, once `pairs` clients are each relayed to their
/// server (a byte through each proves it) and then left idle.
async fn idle_pairs(suite: &Suite, pairs: usize) -> Result<f64> {
    let (listener, server) = listen().await?;
    let spec = format!("127.0.0.1:0={server}");
    let limit = (pairs * 2).to_string();
    let bridge =
        BridgeProc::start(&suite.bridge, &["--proxy", &spec, "--max-conns", &limit]).await?;
    let addr = *bridge
        .proxies
        .first()
        .context("the bridge named no proxy")?;
    let before = bridge.rss_kib()?;
    let mut held = Vec::with_capacity(pairs);
    for _ in 0..pairs {
        let mut client = connect(addr).await?;
        let (mut server, _) = listener.accept().await?;
        client.write_all(b"x").await?;
        server.read_exact(&mut [0; 1]).await?;
        held.push((client, server));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = bridge.rss_kib()?;
    drop(held);
    Ok((after.saturating_sub(before) * 1024) as f64 / pairs as f64)
}

fn p50(mut samples: Vec<Duration>) -> f64 {
    percentile(&mut samples, 50.0).as_secs_f64() * 1e6
}

/// A program on `PATH`, if there is one.
fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
