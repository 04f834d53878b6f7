//! Dials a TCP server for a page. The connection is announced at once, as connecting (see
//! [`crate::commands`]), so the page sees its request taken; it then opens, or closes with the
//! precise reason it failed.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use protocol::{address, Problem, ProblemKind};
use tokio::net::{lookup_host, TcpStream};
use tokio::sync::OwnedSemaphorePermit;

use crate::connection::{self, Relay};
use crate::hub::Opened;

/// Where to dial, and for how long to try.
pub struct Dial {
    /// A name or an IP literal, without brackets.
    pub host: String,
    pub port: u16,
    pub timeout: Duration,
}

/// Connects, then converses; or closes the connection with the reason it could not connect.
pub async fn run(relay: Relay, dial: Dial, opened: Opened, permit: OwnedSemaphorePermit) {
    let id = opened.id;
    let target = address::join(&dial.host, dial.port);
    let attempt = tokio::time::timeout(dial.timeout, connect(&dial.host, dial.port));
    let result = tokio::select! {
        result = attempt => result,
        () = opened.cancel.cancelled() => return relay.hub.close(id, relay.cancel_reason().into()),
    };
    let failure = match result {
        Err(_) => format!(
            "timed out after {} s connecting to {target}",
            dial.timeout.as_secs_f64()
        ),
        Ok(Err(failure)) => failure,
        Ok(Ok(stream)) => match (stream.peer_addr(), stream.local_addr()) {
            (Ok(peer), Ok(local)) => {
                relay.hub.connected(id, peer, local);
                return connection::run(relay, opened, stream, permit).await;
            }
            (Err(e), _) | (_, Err(e)) => format!("lost {target} at once: {e}"),
        },
    };
    relay.hub.close(id, failure.clone());
    relay
        .hub
        .error(Problem::new(ProblemKind::DialFailed, failure).on(id));
}

/// Resolves `host` and tries each address in turn; on failure, says what happened at each.
async fn connect(host: &str, port: u16) -> Result<TcpStream, String> {
    let addrs: Vec<SocketAddr> = lookup_host((host, port))
        .await
        .map_err(|e| format!("no such host: {host} ({e})"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("no such host: {host} (it has no addresses)"));
    }
    let mut failures = Vec::new();
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => failures.push(describe(addr, &e)),
        }
    }
    Err(failures.join("; "))
}

/// A failed connect, in words that say what to check.
fn describe(addr: SocketAddr, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => format!("connection refused by {addr}"),
        io::ErrorKind::NetworkUnreachable => format!("network unreachable: cannot reach {addr}"),
        io::ErrorKind::HostUnreachable => format!("host unreachable: {addr}"),
        io::ErrorKind::TimedOut => format!("timed out connecting to {addr}"),
        io::ErrorKind::AddrNotAvailable => {
            format!("cannot connect to {addr}: address not available")
        }
        _ => format!("cannot connect to {addr}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unknown_host_is_named() {
        let err = connect("no-such-host.invalid", 80).await.unwrap_err();
        assert!(
            err.starts_with("no such host: no-such-host.invalid ("),
            "{err}"
        );
    }
}
