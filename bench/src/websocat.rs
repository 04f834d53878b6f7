//! websocat, the well-known WebSocket-to-TCP relay, as a yardstick: the same streams through it,
//! in the same run, say how the bridge compares with a plain relay that keeps no history, shows
//! nothing and frames nothing. The suite works without it and says `websocat=absent`.
//!
//! Each run gets its own `websocat -b ws-l:127.0.0.1:PORT tcp:TARGET`: for every WebSocket client
//! it accepts, it dials `TARGET` and copies bytes both ways, one binary message per read.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use tokio::process::{Child, Command};
use tokio::time::{sleep, Instant};

use crate::ws_client::{connect_ws, Ws};

/// How long websocat may take to start listening.
const STARTUP: Duration = Duration::from_secs(10);

/// `websocat` on `PATH`, if there is one.
pub fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("websocat"))
        .find(|candidate| candidate.is_file())
}

/// A running websocat, killed when dropped.
pub struct Websocat {
    _child: Child,
    pid: u32,
    url: String,
}

impl Websocat {
    /// Starts websocat relaying WebSocket clients to `target`.
    pub async fn start(binary: &Path, target: SocketAddr) -> Result<Websocat> {
        let port = free_port()?;
        let child = Command::new(binary)
            .arg("-b")
            .arg(format!("ws-l:127.0.0.1:{port}"))
            .arg(format!("tcp:{target}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let pid = child.id().context("websocat exited at once")?;
        Ok(Websocat {
            _child: child,
            pid,
            url: format!("ws://127.0.0.1:{port}/"),
        })
    }

    /// The CPU time it has spent so far.
    pub fn cpu(&self) -> Result<crate::cpu::Spent> {
        crate::cpu::Spent::of(self.pid)
    }

    /// Opens a WebSocket through it, retrying while websocat is still starting up. Every
    /// successful connection makes websocat dial the target once.
    pub async fn connect(&self) -> Result<Ws> {
        let deadline = Instant::now() + STARTUP;
        loop {
            match connect_ws(&self.url).await {
                Ok(ws) => return Ok(ws),
                Err(e) if Instant::now() >= deadline => {
                    return Err(anyhow!("websocat at {} never answered: {e:#}", self.url))
                }
                Err(_) => sleep(Duration::from_millis(20)).await,
            }
        }
    }
}

/// A loopback port that was free a moment ago. websocat picks no port of its own and reports none,
/// so the suite chooses one; the race with other programs on this machine is harmless in practice.
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}
