//! The bridge under test, as a child process: started on ephemeral loopback ports, found by what
//! it prints, measured through `/proc`, killed when dropped.
//!
//! The suite measures the real binary rather than the library, so that what it reports is what a
//! user runs: the release build, its own tokio runtime, its own allocator behaviour.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use regex::Regex;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::time::timeout;

/// How long the bridge may take to print its addresses.
const STARTUP: Duration = Duration::from_secs(10);
/// Lines of the bridge's stderr kept to explain a failure.
const STDERR_KEPT: usize = 50;

/// A running bridge.
pub struct BridgeProc {
    /// Held so that the bridge is killed when this is dropped.
    _child: Child,
    pid: u32,
    /// Its TCP listener, where peers connect.
    pub listen: SocketAddr,
    /// Its WebSocket, `ws://127.0.0.1:PORT/ws`.
    pub ws_url: String,
    /// Where its `--proxy` listeners are, in the order given.
    pub proxies: Vec<SocketAddr>,
}

/// Where the bridge binary is by default: next to this one, so that `cargo run --release -p
/// bench` finds the release bridge in the same target directory, wherever that is.
pub fn default_path() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("bridge")))
        .unwrap_or_else(|| PathBuf::from("target/release/bridge"))
}

/// Fails with instructions when the binary is not there.
pub fn check_binary(path: &Path) -> Result<()> {
    if path.is_file() {
        return Ok(());
    }
    bail!(
        "no bridge binary at {}: build it first with `cargo build --release -p bridge`, \
         or point to one with --bridge PATH",
        path.display()
    )
}

impl BridgeProc {
    /// Starts the bridge on ephemeral loopback ports, with `extra` flags, and waits until it has
    /// said where it listens.
    pub async fn start(path: &Path, extra: &[&str]) -> Result<BridgeProc> {
        let mut child = Command::new(path)
            .args(["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", path.display()))?;
        let pid = child.id().context("the bridge exited at once")?;
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(err) = child.stderr.take() {
            tokio::spawn(keep_lines(err, stderr.clone()));
        }
        let stdout = child.stdout.take().context("no stdout from the bridge")?;
        let found = timeout(STARTUP, read_addresses(stdout)).await;
        let (listen, http, proxies) = match found {
            Ok(Ok(addrs)) => addrs,
            Ok(Err(e)) => return Err(e.context(explain_exit(&mut child, &stderr))),
            Err(_) => bail!(
                "the bridge did not print its addresses within {STARTUP:?}; {}",
                explain_exit(&mut child, &stderr)
            ),
        };
        let host = http
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        Ok(BridgeProc {
            _child: child,
            pid,
            listen,
            ws_url: format!("ws://{host}/ws"),
            proxies,
        })
    }

    /// The CPU time it has spent so far.
    pub fn cpu(&self) -> Result<crate::cpu::Spent> {
        crate::cpu::Spent::of(self.pid)
    }

    /// Resident memory now, in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> Result<u64> {
        self.status_kib("VmRSS")
    }

    /// The most resident memory so far, in KiB (`VmHWM`, the high-water mark).
    pub fn peak_rss_kib(&self) -> Result<u64> {
        self.status_kib("VmHWM")
    }

    fn status_kib(&self, field: &str) -> Result<u64> {
        let path = format!("/proc/{}/status", self.pid);
        let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        status_field_kib(&status, field).ok_or_else(|| anyhow!("no {field} in {path}"))
    }
}

/// Reads the bridge's stdout until it has named both addresses (and, before them, its
/// proxies'), then keeps draining it in the background so that a full pipe can never stall the
/// bridge.
async fn read_addresses(
    stdout: impl AsyncRead + Unpin + Send + 'static,
) -> Result<(SocketAddr, String, Vec<SocketAddr>)> {
    // Loose on purpose: the wording around the addresses may change.
    let tcp = Regex::new(r"TCP listener on (\S+)").expect("valid regex");
    let url = Regex::new(r"http://\S+").expect("valid regex");
    let proxy = Regex::new(r"Proxy on ([^\s,]+)").expect("valid regex");
    let mut lines = BufReader::new(stdout).lines();
    let (mut listen, mut http, mut proxies) = (None, None, Vec::new());
    while listen.is_none() || http.is_none() {
        let Some(line) = lines.next_line().await? else {
            bail!("the bridge closed its stdout before naming its addresses");
        };
        if let Some(m) = proxy.captures(&line) {
            let addr = &m[1];
            proxies.push(
                addr.parse::<SocketAddr>()
                    .with_context(|| format!("`{addr}` is not a socket address"))?,
            );
        } else if let Some(m) = tcp.captures(&line) {
            let addr = &m[1];
            listen = Some(
                addr.parse::<SocketAddr>()
                    .with_context(|| format!("`{addr}` is not a socket address"))?,
            );
        } else if let Some(m) = url.find(&line) {
            http = Some(m.as_str().to_owned());
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((
        listen.expect("set above"),
        http.expect("set above"),
        proxies,
    ))
}

async fn keep_lines(stream: impl AsyncRead + Unpin, kept: Arc<Mutex<Vec<String>>>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Ok(mut kept) = kept.lock() {
            if kept.len() == STDERR_KEPT {
                kept.remove(0);
            }
            kept.push(line);
        }
    }
}

fn explain_exit(child: &mut Child, stderr: &Mutex<Vec<String>>) -> String {
    let status = match child.try_wait() {
        Ok(Some(status)) => format!("it exited with {status}"),
        _ => "it is still running".to_owned(),
    };
    let said = stderr.lock().map(|l| l.join("\n")).unwrap_or_default();
    if said.is_empty() {
        status
    } else {
        format!("{status}; its stderr:\n{said}")
    }
}

/// Reads `Field:   1234 kB` from the text of `/proc/PID/status`.
fn status_field_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::status_field_kib;

    #[test]
    fn reads_proc_status() {
        let status = "Name:\tbridge\nVmHWM:\t   10240 kB\nVmRSS:\t    8192 kB\n";
        assert_eq!(status_field_kib(status, "VmRSS"), Some(8192));
        assert_eq!(status_field_kib(status, "VmHWM"), Some(10240));
        assert_eq!(status_field_kib(status, "VmSwap"), None);
    }
}
