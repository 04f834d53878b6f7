//! `rtt_p50` and `rtt_p99`: 64-byte messages from a WebSocket client through the bridge to a TCP
//! echo server and back, one at a time; and the same through websocat, in the same run.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use futures::{SinkExt, StreamExt};
use protocol::{Command, Flow};
use tokio_tungstenite::tungstenite::Message;

use super::{figure, progress, within, Suite};
use crate::bridge_proc::BridgeProc;
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
    for run in 1..=suite.plan.runs {
        progress(
            "rtt",
            format!("run {run}/{}: {rounds} round trips", suite.plan.runs),
        );
        let mut samples = within(PHASE, "timing the bridge", bridge_rtt(suite, rounds)).await?;
        p50.push(micros(percentile(&mut samples, 50.0)));
        p99.push(micros(percentile(&mut samples, 99.0)));
        if let Some(binary) = &suite.websocat {
            let mut samples =
                within(PHASE, "timing websocat", websocat_rtt(binary, rounds)).await?;
            ws_p50.push(micros(percentile(&mut samples, 50.0)));
            ws_p99.push(micros(percentile(&mut samples, 99.0)));
        }
    }
    figure("rtt_p50", format!("{:.0}", median(&p50)), "us");
    figure("rtt_p99", format!("{:.0}", median(&p99)), "us");
    if !ws_p50.is_empty() {
        figure("websocat_rtt_p50", format!("{:.0}", median(&ws_p50)), "us");
        figure("websocat_rtt_p99", format!("{:.0}", median(&ws_p99)), "us");
    }
    Ok(())
}

async fn bridge_rtt(suite: &Suite, rounds: usize) -> Result<Vec<Duration>> {
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
    for round in 0..WARM_UP + rounds {
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
    Ok(samples)
}

async fn websocat_rtt(binary: &Path, rounds: usize) -> Result<Vec<Duration>> {
    let (echo, _server) = echo_server().await?;
    let websocat = Websocat::start(binary, echo).await?;
    let mut ws = websocat.connect().await?;
    let message = vec![b'x'; MESSAGE];
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..WARM_UP + rounds {
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
    Ok(samples)
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
