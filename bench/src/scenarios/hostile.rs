//! `hostile` (not part of the default suite): the soak test while strangers do their worst, at
//! once: a peer sends MiB lines to 64 regex rules that are slow on them, a page sends a rule
//! set far over its memory bound, hundreds of HTTP connections send half a request header, a
//! page dials the bridge's own HTTP port, and thousands of UDP addresses send a datagram each.
//! The soak's peers and pages must still lose nothing: every byte the peers (the hostile one
//! and the UDP senders included) sent must reach the pages.
//!
//! `cargo run --release -p bench -- hostile --soak-secs 60`

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use protocol::rules::{ReplyBody, Rule, Trigger};
use protocol::{Command, Transport};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};
use tokio::task::JoinHandle;

use crate::ws_client::Session;

/// Connections that send half a request header, in each wave (one wave every few seconds).
const HALF_REQUESTS: usize = 300;
/// UDP addresses that send one datagram each: more than `--udp-peers` holds.
const UDP_SENDERS: usize = 2_000;

/// The flags the bridge needs for the hostile load: a UDP socket on `udp`.
pub fn flags(udp: &str) -> Vec<String> {
    vec!["--udp".into(), udp.into()]
}

/// A free loopback UDP port for the bridge's socket.
pub fn free_udp_addr() -> Result<SocketAddr> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?)
}

/// The hostile load, running until `deadline`.
pub struct Hostile {
    tasks: Vec<JoinHandle<Result<()>>>,
    /// Bytes that peers (the line sender and the UDP senders) sent: the pages must count them.
    pub sent: Arc<AtomicU64>,
}

impl Hostile {
    /// Sets the slow rules and the oversized set through `page`, dials the bridge's own HTTP
    /// port from it, and starts the line sender, the half-sent requests and the UDP flood.
    pub async fn start(
        page: &mut Session,
        listen: SocketAddr,
        http: SocketAddr,
        udp: SocketAddr,
        deadline: Instant,
    ) -> Result<Hostile> {
        page.command(&Command::SetRules {
            rules: rules(64, |i| format!(r"(?-u:\w{{40}}z\w{{40}}q{})", i % 10)),
        })
        .await?;
        page.command(&Command::SetRules {
            rules: rules(256, |i| format!(r"\w{{40}}z\w{{40}}q{}", i % 10)),
        })
        .await?;
        page.command(&Command::Dial {
            host: http.ip().to_string(),
            port: http.port(),
            transport: Transport::Tcp,
            accept_any_certificate: false,
            request: None,
        })
        .await?;
        let sent = Arc::new(AtomicU64::new(0));
        let tasks = vec![
            tokio::spawn(long_lines(listen, deadline, sent.clone())),
            tokio::spawn(half_requests(http, deadline)),
            tokio::spawn(udp_flood(udp, sent.clone())),
        ];
        Ok(Hostile { tasks, sent })
    }

    /// Waits for the load to end (at the deadline).
    pub async fn finish(self) -> Result<()> {
        for task in self.tasks {
            task.await??;
        }
        Ok(())
    }
}

fn rules(count: usize, pattern: impl Fn(usize) -> String) -> Vec<Rule> {
    (0..count)
        .map(|i| {
            Rule::new(
                format!("hostile{i}"),
                Trigger::Regex {
                    pattern: pattern(i),
                },
                ReplyBody::Text("matched".into()),
            )
        })
        .collect()
}

/// A MiB line of short words, each with `q` and a digit, again and again.
async fn long_lines(listen: SocketAddr, deadline: Instant, sent: Arc<AtomicU64>) -> Result<()> {
    let mut line = Vec::with_capacity(1 << 20);
    let mut i = 0u32;
    while line.len() < (1 << 20) - 32 {
        line.extend_from_slice(format!("z{i:x}abcdefghijklq{} ", i % 10).as_bytes());
        i += 1;
    }
    line.push(b'\n');
    let mut stream = TcpStream::connect(listen).await?;
    while Instant::now() < deadline {
        stream.write_all(&line).await?;
        sent.fetch_add(line.len() as u64, Ordering::Relaxed);
    }
    Ok(())
}

/// Waves of connections that send half a request header and nothing more.
async fn half_requests(http: SocketAddr, deadline: Instant) -> Result<()> {
    while Instant::now() < deadline {
        let mut held = Vec::with_capacity(HALF_REQUESTS);
        for _ in 0..HALF_REQUESTS {
            if let Ok(mut stream) = TcpStream::connect(http).await {
                let _ = stream
                    .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-")
                    .await;
                held.push(stream);
            }
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        drop(held);
    }
    Ok(())
}

/// One datagram from each of many addresses, a little apart, so that loopback drops none.
async fn udp_flood(udp: SocketAddr, sent: Arc<AtomicU64>) -> Result<()> {
    for _ in 0..UDP_SENDERS {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        socket.send_to(b"u", udp).await?;
        sent.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}
