//! `rtt_p50` and `rtt_p99`: 64-byte messages from a WebSocket client through the bridge to a TCP
//! echo server and back, one at a time; and the same through websocat, and straight over one TCP
//! connection to the same echo server (what the hop through a relay adds to), in the same run.
//! The three take turns, a block of rounds each, so that a machine that slows down or speeds up
//! during a run (a shared virtual machine does, by a third and more) moves them alike, and their
//! ratios hold. Beside them, the relay's CPU time per round trip ([`crate::cpu`]), and how much of it was
//! spent in its own code rather than in the kernel: both relays make the same system calls per
//! round trip, so their kernel time is alike, and what differs is their own work.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use futures::{SinkExt, StreamExt};
use protocol::{Command, ConnId, Flow};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use super::{figure, progress, within, Suite};
use crate::bridge_proc::BridgeProc;
use crate::cpu::Spent;
use crate::peer::echo_server;
use crate::stats::{median, percentile};
use crate::websocat::Websocat;
use crate::ws_client::{Incoming, Session, Ws};

const MESSAGE: usize = 64;
/// Rounds run before timing starts, to warm caches and connections.
const WARM_UP: usize = 200;
const PHASE: Duration = Duration::from_secs(120);

pub async fn run(suite: &Suite) -> Result<()> {
    let rounds = suite.plan.rtt_rounds;
    let (mut p50, mut p99, mut ws_p50, mut ws_p99) = (vec![], vec![], vec![], vec![]);
    let (mut direct_p50, mut direct_p99, mut cost, mut ws_cost) = (vec![], vec![], vec![], vec![]);
    let (mut own, mut ws_own) = (vec![], vec![]);
    for run in 1..=suite.plan.runs {
        progress(
            "rtt",
            format!("run {run}/{}: {rounds} round trips each", suite.plan.runs),
        );
        let timed = within(PHASE, "timing round trips", take_turns(suite, rounds)).await?;
        let Timed {
            mut direct,
            mut bridge,
            bridge_spent,
            websocat,
        } = timed;
        direct_p50.push(micros(percentile(&mut direct, 50.0)));
        direct_p99.push(micros(percentile(&mut direct, 99.0)));
        p50.push(micros(percentile(&mut bridge, 50.0)));
        p99.push(micros(percentile(&mut bridge, 99.0)));
        cost.push(micros(bridge_spent.on_cpu) / rounds as f64);
        own.push(micros(bridge_spent.in_user_space()) / rounds as f64);
        if let Some((mut samples, spent)) = websocat {
            ws_p50.push(micros(percentile(&mut samples, 50.0)));
            ws_p99.push(micros(percentile(&mut samples, 99.0)));
            ws_cost.push(micros(spent.on_cpu) / rounds as f64);
            ws_own.push(micros(spent.in_user_space()) / rounds as f64);
        }
    }
    figure(
        "direct_rtt_p50",
        format!("{:.0}", median(&direct_p50)),
        "us",
    );
    figure(
        "direct_rtt_p99",
        format!("{:.0}", median(&direct_p99)),
        "us",
    );
    figure("rtt_p50", format!("{:.0}", median(&p50)), "us");
    figure("rtt_p99", format!("{:.0}", median(&p99)), "us");
    figure("rtt_cpu", format!("{:.1}", median(&cost)), "us/round trip");
    figure(
        "rtt_cpu_user",
        format!("{:.1}", median(&own)),
        "us/round trip, in its own code",
    );
    if !ws_p50.is_empty() {
        figure("websocat_rtt_p50", format!("{:.0}", median(&ws_p50)), "us");
        figure("websocat_rtt_p99", format!("{:.0}", median(&ws_p99)), "us");
        figure(
            "rtt_p50_vs_websocat",
            format!("{:.2}", median(&p50) / median(&ws_p50)),
            "",
        );
        figure(
            "rtt_p99_vs_websocat",
            format!("{:.2}", median(&p99) / median(&ws_p99)),
            "",
        );
        figure(
            "websocat_rtt_cpu",
            format!("{:.1}", median(&ws_cost)),
            "us/round trip",
        );
        figure(
            "websocat_rtt_cpu_user",
            format!("{:.1}", median(&ws_own)),
            "us/round trip, in its own code",
        );
        figure(
            "rtt_cpu_vs_websocat",
            format!("{:.2}", median(&cost) / median(&ws_cost)),
            "",
        );
    }
    Ok(())
}

/// Round trips timed on one path before the next path's turn.
const BLOCK: usize = 100;

/// One run's round trips on each path, and the CPU time each relay spent on them.
struct Timed {
    direct: Vec<Duration>,
    bridge: Vec<Duration>,
    bridge_spent: Spent,
    websocat: Option<(Vec<Duration>, Spent)>,
}

/// A way to the echo server and back.
enum Path {
    /// No relay: one TCP connection.
    Direct(TcpStream),
    Bridge(Session, ConnId),
    Websocat(Ws),
}

impl Path {
    /// Sends one message and waits for all of it to come back.
    async fn round(&mut self, message: &[u8]) -> Result<()> {
        match self {
            Path::Direct(stream) => {
                let mut back = [0u8; MESSAGE];
                stream.write_all(message).await?;
                stream.read_exact(&mut back).await?;
            }
            Path::Bridge(session, conn) => {
                session.send_to(*conn, message).await?;
                let mut got = 0;
                while got < message.len() {
                    if let Incoming::Record { header, payload } = session.next().await? {
                        if header.conn == *conn && header.flow == Flow::Rx {
                            got += payload.len();
                        }
                    }
                }
            }
            Path::Websocat(ws) => {
                ws.send(Message::Binary(message.to_vec().into())).await?;
                let mut got = 0;
                while got < message.len() {
                    match ws.next().await {
                        Some(Ok(Message::Binary(data))) => got += data.len(),
                        Some(Ok(_)) => {}
                        Some(Err(e)) => return Err(e.into()),
                        None => bail!("websocat closed the WebSocket"),
                    }
                }
            }
        }
        Ok(())
    }
}

/// `rounds` round trips on each path (direct TCP, the bridge, websocat if there is one), the
/// paths taking turns a [`BLOCK`] at a time, after [`WARM_UP`] rounds each.
async fn take_turns(suite: &Suite, rounds: usize) -> Result<Timed> {
    let (echo, _server) = echo_server().await?;
    let direct = TcpStream::connect(echo).await?;
    direct.set_nodelay(true)?;
    let bridge = BridgeProc::start(&suite.bridge, &["--no-exit-word"]).await?;
    let mut session = Session::connect(&bridge.ws_url).await?;
    session
        .command(&Command::dial("127.0.0.1", echo.port()))
        .await?;
    let target = echo.to_string();
    let conn = session.wait_open(PHASE, |c| c.peer == target).await?.id;
    let websocat = match &suite.websocat {
        Some(binary) => {
            let websocat = Websocat::start(binary, echo).await?;
            let ws = websocat.connect().await?;
            Some((websocat, ws))
        }
        None => None,
    };
    let (websocat, ws) = websocat.unzip();
    let mut paths = vec![Path::Direct(direct), Path::Bridge(session, conn)];
    paths.extend(ws.map(Path::Websocat));
    let message = [b'x'; MESSAGE];
    for path in &mut paths {
        for _ in 0..WARM_UP {
            path.round(&message).await?;
        }
    }
    let mut samples = vec![Vec::with_capacity(rounds); paths.len()];
    let bridge_before = bridge.cpu()?;
    let websocat_before = websocat.as_ref().map(Websocat::cpu).transpose()?;
    for block in (0..rounds).step_by(BLOCK) {
        for (path, samples) in paths.iter_mut().zip(&mut samples) {
            for _ in block..(block + BLOCK).min(rounds) {
                let start = Instant::now();
                path.round(&message).await?;
                samples.push(start.elapsed());
            }
        }
    }
    let bridge_spent = bridge.cpu()? - bridge_before;
    let websocat_spent = match (&websocat, websocat_before) {
        (Some(websocat), Some(before)) => Some(websocat.cpu()? - before),
        _ => None,
    };
    let mut samples = samples.into_iter();
    let (direct, bridge) = (samples.next(), samples.next());
    Ok(Timed {
        direct: direct.expect("direct TCP was timed"),
        bridge: bridge.expect("the bridge was timed"),
        bridge_spent,
        websocat: samples.next().zip(websocat_spent),
    })
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
