//! The accept loop: every peer that connects becomes a connection, up to `--max-conns`.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use protocol::{ConnState, Origin};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{connection, Context};

/// How long to pause after a failed accept (e.g. out of file descriptors), so that a condition
/// that persists does not turn the loop into a busy spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A listener's accept loop, running.
pub struct Running {
    addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Running {
    /// Starts accepting on `listener`, until shutdown or [`Running::stop`].
    pub fn spawn(ctx: &Arc<Context>, listener: TcpListener) -> io::Result<Running> {
        let addr = listener.local_addr()?;
        let stop = ctx.shutdown.child_token();
        let task = ctx.tasks.spawn(run(ctx.clone(), listener, stop.clone()));
        Ok(Running { addr, stop, task })
    }

    /// Stops accepting and closes the socket; returns once it is closed.
    async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// The page's `listen`: binds `addr`, and only then closes the listener it replaces, so that a
/// failure leaves things as they were.
pub async fn listen(ctx: &Arc<Context>, addr: &str) -> Result<(), String> {
    let parsed: SocketAddr = addr.trim().parse().map_err(|_| {
        format!("cannot listen on `{addr}`: write IP:PORT, e.g. 0.0.0.0:7777 or [::]:7777")
    })?;
    let mut current = ctx.listener.lock().await;
    if current.as_ref().is_some_and(|r| r.addr == parsed) {
        ctx.hub.set_listen(Some(parsed.to_string()));
        return Ok(());
    }
    let bound = TcpListener::bind(parsed)
        .await
        .map_err(|e| format!("cannot listen for TCP on {parsed}: {}", why(&e)))?;
    let running = Running::spawn(ctx, bound)
        .map_err(|e| format!("cannot listen for TCP on {parsed}: {e}"))?;
    let now = running.addr;
    if let Some(old) = current.replace(running) {
        old.stop().await;
    }
    tracing::info!(%now, "listening for TCP (asked by a page)");
    ctx.hub.set_listen(Some(now.to_string()));
    Ok(())
}

/// The page's `stop_listening`.
pub async fn stop_listening(ctx: &Arc<Context>) -> Result<(), String> {
    let mut current = ctx.listener.lock().await;
    if let Some(old) = current.take() {
        old.stop().await;
        tracing::info!("stopped listening for TCP (asked by a page)");
    }
    ctx.hub.set_listen(None);
    Ok(())
}

fn why(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::AddrInUse => "address already in use".into(),
        io::ErrorKind::AddrNotAvailable => "address not available on this machine".into(),
        io::ErrorKind::PermissionDenied => {
            "permission denied (ports below 1024 need privileges)".into()
        }
        _ => e.to_string(),
    }
}

/// Accepts until shutdown or `stop`.
async fn run(ctx: Arc<Context>, listener: TcpListener, stop: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("accepting a TCP connection failed: {e}");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    () = stop.cancelled() => return,
                }
            }
        };
        let Ok(permit) = ctx.conn_limit.clone().try_acquire_owned() else {
            drop(stream);
            ctx.hub.error(
                None,
                format!(
                    "refused a connection from {peer}: the bridge already holds {} connections (--max-conns)",
                    ctx.max_conns
                ),
            );
            continue;
        };
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().ok().map(|a| a.to_string());
        let opened = ctx
            .hub
            .open(Origin::Accepted, peer.to_string(), local, ConnState::Open);
        ctx.tasks
            .spawn(connection::run(ctx.clone(), opened, stream, permit));
    }
}
