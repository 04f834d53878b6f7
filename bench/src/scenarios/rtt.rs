//! `rtt_p50` and `rtt_p99`: 64-byte messages from a WebSocket client through the bridge to a TCP
//! echo server and back, one at a time; and the same through websocat, and straight over one TCP
//! connection to the same echo server (what the hop through a relay adds to), in the same run.
//! Beside them, the relay's CPU time per round trip ([`crate::cpu`]), and how much of it was
//! spent in its own code rather than in the kernel: both relays make the same system calls per
//! round trip, so their kernel time is alike, and what differs is their own work.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use futures::{SinkExt, StreamExt};
use protocol::{Command, Flow};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use super::{figure, progress, within, Suite};
use crate::bridge_proc::BridgeProc;
use crate::cpu::Spent;
use crate::peer::echo_server;
use crate::stats::{median, percentile};
use crate::websocat::Websocat;
use crate::ws_client::{Incoming, Session};

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
            format!("run {run}/{}: {rounds} round trips", suite.plan.runs),
        );
        let mut samples = within(PHASE, "timing direct TCP", direct_rtt(rounds)).await?;
        direct_p50.push(micros(percentile(&mut samples, 50.0)));
        direct_p99.push(micros(percentile(&mut samples, 99.0)));
        let (mut samples, spent) =
            within(PHASE, "timing the bridge", bridge_rtt(suite, rounds)).await?;
        p50.push(micros(percentile(&mut samples, 50.0)));
        p99.push(micros(percentile(&mut samples, 99.0)));
        cost.push(micros(spent.on_cpu) / rounds as f64);
        own.push(micros(spent.in_user_space()) / rounds as f64);
        if let Some(binary) = &suite.websocat {
            let (mut samples, spent) =
                within(PHASE, "timing websocat", websocat_rtt(binary, rounds)).await?;
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

/// Round trips with no relay: one TCP connection to the echo server.
async fn direct_rtt(rounds: usize) -> Result<Vec<Duration>> {
    let (echo, _server) = echo_server().await?;
    let mut stream = TcpStream::connect(echo).await?;
    stream.set_nodelay(true)?;
    let message = [b'x'; MESSAGE];
    let mut back = [0u8; MESSAGE];
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..WARM_UP + rounds {
        let start = Instant::now();
        stream.write_all(&message).await?;
        stream.read_exact(&mut back).await?;
        if round >= WARM_UP {
            samples.push(start.elapsed());
        }
    }
    Ok(samples)
}

/// Round trips through the bridge, and the CPU time the bridge spent on the timed ones.
async fn bridge_rtt(suite: &Suite, rounds: usize) -> Result<(Vec<Duration>, Spent)> {
    let bridge = BridgeProc::start(&suite.bridge, &["--no-exit-word"]).await?;
    let (echo, _server) = echo_server().await?;
    let mut session = Session::connect(&bridge.ws_url).await?;
    session
        .command(&Command::dial("127.0.0.1", echo.port()))
        .await?;
    let target = echo.to_string();
    let conn = session.wait_open(PHASE, |c| c.peer == target).await?;
    let message = [b'x'; MESSAGE];
    let mut samples = Vec::with_capacity(rounds);
    let mut cpu_before = Spent::default();
    for round in 0..WARM_UP + rounds {
        if round == WARM_UP {
            cpu_before = bridge.cpu()?;
        }
        let start = Instant::now();
        session.send_to(conn.id, &message).await?;
        let mut got = 0;
        while got < MESSAGE {
            if let Incoming::Record { header, payload } = session.next().await? {
                if header.conn == conn.id && header.flow == Flow::Rx {
                    got += payload.len();
                }
            }
        }
        if round >= WARM_UP {
            samples.push(start.elapsed());
        }
    }
    Ok((samples, bridge.cpu()? - cpu_before))
}

/// Round trips through websocat, and the CPU time websocat spent on the timed ones.
async fn websocat_rtt(binary: &Path, rounds: usize) -> Result<(Vec<Duration>, Spent)> {
    let (echo, _server) = echo_server().await?;
    let websocat = Websocat::start(binary, echo).await?;
    let mut ws = websocat.connect().await?;
    let message = vec![b'x'; MESSAGE];
    let mut samples = Vec::with_capacity(rounds);
    let mut cpu_before = Spent::default();
    for round in 0..WARM_UP + rounds {
        if round == WARM_UP {
            cpu_before = websocat.cpu()?;
        }
        let start = Instant::now();
        ws.send(Message::Binary(message.clone().into())).await?;
        let mut got = 0;
        while got < MESSAGE {
            match ws.next().await {
                Some(Ok(Message::Binary(data))) => got += data.len(),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => bail!("websocat closed the WebSocket"),
            }
        }
        if round >= WARM_UP {
            samples.push(start.elapsed());
        }
    }
    Ok((samples, websocat.cpu()? - cpu_before))
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
