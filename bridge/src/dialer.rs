//! Dials a TCP server for a page. The connection is announced at once, as connecting, so the page
//! sees its request taken; it then opens, or closes with the precise reason it failed.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use protocol::{ConnState, Origin};
use tokio::net::{lookup_host, TcpStream};
use tokio::sync::OwnedSemaphorePermit;

use crate::hub::Opened;
use crate::{connection, dial_rules, Context};

/// Starts dialling `host:port`. Fails at once when `--allow-dial` does not allow it, or when the
/// bridge is at `--max-conns`.
pub fn dial(ctx: &Arc<Context>, host: &str, port: u16) -> Result<(), String> {
    // People write IPv6 literals with brackets, as in a URL; the resolver wants them bare.
    let host = host.trim();
    let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(bare) => bare.to_owned(),
        None => host.to_owned(),
    };
    if !dial_rules::allowed(&ctx.dial_rules, &host, port) {
        let rules: Vec<String> = ctx.dial_rules.iter().map(ToString::to_string).collect();
        return Err(format!(
            "not allowed to dial {}: this bridge may dial only {} (--allow-dial)",
            authority(&host, port),
            rules.join(", ")
        ));
    }
    let permit = ctx.conn_limit.clone().try_acquire_owned().map_err(|_| {
        format!(
            "cannot dial {}: the bridge already holds {} connections (--max-conns)",
            authority(&host, port),
            ctx.max_conns
        )
    })?;
    let opened = ctx.hub.open(
        Origin::Dialled,
        authority(&host, port),
        None,
        ConnState::Connecting,
    );
    ctx.tasks
        .spawn(run(ctx.clone(), host, port, opened, permit));
    Ok(())
}

/// Connects, then converses; or closes the connection with the reason it could not connect.
async fn run(
    ctx: Arc<Context>,
    host: String,
    port: u16,
    opened: Opened,
    permit: OwnedSemaphorePermit,
) {
    let id = opened.id;
    let attempt = tokio::time::timeout(ctx.dial_timeout, connect(&host, port));
    let result = tokio::select! {
        result = attempt => result,
        () = opened.cancel.cancelled() => return ctx.hub.close(id, ctx.cancel_reason().into()),
    };
    let failure = match result {
        Err(_) => format!(
            "timed out after {} s connecting to {}",
            ctx.dial_timeout.as_secs_f64(),
            authority(&host, port)
        ),
        Ok(Err(failure)) => failure,
        Ok(Ok(stream)) => match (stream.peer_addr(), stream.local_addr()) {
            (Ok(peer), Ok(local)) => {
                ctx.hub.connected(id, peer, local);
                return connection::run(ctx, opened, stream, permit).await;
            }
            (Err(e), _) | (_, Err(e)) => format!("lost {} at once: {e}", authority(&host, port)),
        },
    };
    ctx.hub.close(id, failure.clone());
    ctx.hub.error(Some(id), failure);
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

/// `host:port`, with brackets around an IPv6 literal.
fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities() {
        assert_eq!(authority("::1", 7), "[::1]:7");
        assert_eq!(authority("example.com", 80), "example.com:80");
    }

    #[tokio::test]
    async fn unknown_host_is_named() {
        let err = connect("no-such-host.invalid", 80).await.unwrap_err();
        assert!(
            err.starts_with("no such host: no-such-host.invalid ("),
            "{err}"
        );
    }
}
