//! The accept loop: every peer that connects becomes a connection, up to `--max-conns`.

use std::sync::Arc;
use std::time::Duration;

use protocol::{ConnState, Origin};
use tokio::net::TcpListener;

use crate::{connection, Context};

/// How long to pause after a failed accept (e.g. out of file descriptors), so that a condition
/// that persists does not turn the loop into a busy spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts until shutdown.
pub async fn run(ctx: Arc<Context>, listener: TcpListener) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = ctx.shutdown.cancelled() => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("accepting a TCP connection failed: {e}");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    () = ctx.shutdown.cancelled() => return,
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
